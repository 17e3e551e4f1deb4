/* Lowering (backend/lower.c) and the interpreter that runs its schedule: the kernel
 * parameters lowering derives from the graph (broadcast and batch strides, slice starts and
 * steps, pads, gather and concat strides, Softmax's opset-dependent axis) checked by running
 * small graphs with interp_run_graph against direct loops written here. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "backend/schedule.h"
#include "build.h"
#include "util.h"

/* Lowering computes broadcast strides, batch strides and Softmax's opset-dependent axis
 * handling; checked here against direct loops. */
START_TEST(lowering_broadcast_and_softmax)
{
    Graph *g = tg_new(11);
    Value *a = TG_INPUT(g, "a", 2, 1, 3, 4), *b = TG_INPUT(g, "b", 3, 4, 5);
    Value *u = TG_INPUT(g, "u", 2, 3, 1), *v = TG_INPUT(g, "v", 4);
    Node *mm = TG_NODE(g, OP_MATMUL, "mm", 1, a, b);
    Node *sub = TG_NODE(g, OP_SUB, "sub", 1, u, v);
    Node *sm = TG_NODE(g, OP_SOFTMAX, "sm", 1, sub->out[0]);   /* opset 11: axis 1, 2-D */
    tg_output(g, mm->out[0]);
    tg_output(g, sm->out[0]);
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d) && graph_infer_shapes(g, &d), &d);
    float *in[4] = { alloc_uniform(24, 6, -1, 1), alloc_uniform(60, 7, -1, 1),
                     alloc_uniform(6, 8, -1, 1), alloc_uniform(4, 9, -1, 1) };
    float **out = tg_run(g, in), want_mm[2 * 3 * 3 * 5], want_sm[24], diff[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 5; c++) {
                    double s = 0;
                    for (int k = 0; k < 4; k++)
                        s += (double)in[0][(i * 3 + r) * 4 + k] * in[1][(j * 4 + k) * 5 + c];
                    want_mm[((i * 3 + j) * 3 + r) * 5 + c] = (float)s;
                }
    for (int i = 0; i < 2; i++) {
        double m = -INFINITY, s = 0;
        for (int j = 0; j < 12; j++) {
            diff[i * 12 + j] = in[2][i * 3 + j / 4] - in[3][j % 4];
            m = fmax(m, diff[i * 12 + j]);
        }
        for (int j = 0; j < 12; j++)
            s += exp(diff[i * 12 + j] - m);
        for (int j = 0; j < 12; j++)     /* over all 12 trailing elements, not one axis */
            want_sm[i * 12 + j] = (float)(exp(diff[i * 12 + j] - m) / s);
    }
    EXPECT_CLOSE(out[0], want_mm, 90, 1e-5, 1e-6);
    EXPECT_CLOSE(out[1], want_sm, 24, 1e-5, 1e-7);
    tg_free_outputs(out, 2);
    for (int i = 0; i < 4; i++)
        free(in[i]);
    graph_free(g);
}
END_TEST

/* AveragePool-19 has dilations: the window samples every d-th pixel. Regression (fixed): the
 * attribute is accepted and used for the output shape, but rt_avgpool_f32 ignores it. */
START_TEST(avgpool_dilations)
{
    Graph *g = tg_new(19);
    Value *x = TG_INPUT(g, "x", 1, 1, 5, 5);
    Node *ap = TG_NODE(g, OP_AVGPOOL, "ap", 1, x);
    TG_INTS(g, ap, "kernel_shape", 2, 2);
    TG_INTS(g, ap, "dilations", 2, 2);
    tg_output(g, ap->out[0]);
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d), &d);
    if (!graph_infer_shapes(g, &d)) {           /* refusing it is fine, with a reason */
        EXPECT_CONTAINS(d.msg, "dilation");
        graph_free(g);
        return;
    }
    float in[25], want[9], *pin = in;
    for (int i = 0; i < 25; i++)
        in[i] = (float)(i * i % 7);
    for (int oy = 0; oy < 3; oy++)
        for (int ox = 0; ox < 3; ox++)
            want[oy * 3 + ox] = (in[oy * 5 + ox] + in[oy * 5 + ox + 2] + in[(oy + 2) * 5 + ox] +
                                 in[(oy + 2) * 5 + ox + 2]) / 4;
    float **out = tg_run(g, &pin);
    EXPECT_CLOSE(out[0], want, 9, 1e-6, 0);
    tg_free_outputs(out, 1);
    graph_free(g);
}
END_TEST

/* interp_run_graph lowers the graph each time: a second run must give the same outputs,
 * here with an output listed twice (which lowering turns into a copy). Regression (fixed):
 * schedule_lower replaces g->outputs[1] by the copy, which has no producer, so the second
 * lowering copies from a value nothing writes. */
START_TEST(interp_run_twice)
{
    Graph *g = tg_new(13);
    Node *r = TG_NODE(g, OP_RELU, "r", 1, TG_INPUT(g, "x", 6));
    tg_output(g, r->out[0]);
    tg_output(g, r->out[0]);
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d) && graph_infer_shapes(g, &d), &d);
    float in[6] = { -1, 2, -3, 4, -5, 6 }, *pin = in, want[6] = { 0, 2, 0, 4, 0, 6 };
    for (int k = 0; k < 2; k++) {
        float **out = tg_run(g, &pin);
        EXPECT_CLOSE(out[0], want, 6, 0, 0);
        EXPECT_CLOSE(out[1], want, 6, 0, 0);
        tg_free_outputs(out, 2);
    }
    graph_free(g);
}
END_TEST

/* NumPy's reflect: mirror at the edges without repeating them (pads smaller than n). */
static int reflect(int i, int n)
{
    return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
}

/* x[3,4,5] -> Slice [2::-1, :, -1::-2] -> Pad reflect (0,1,1 / 0,2,1) -> Transpose (2,0,1)
 * -> Concat with itself on axis 1 -> Gather [6,-7,3] on axis 2 -> Split (2,4) on axis 1.
 * Composed by hand: out[a][b][k] = x[2 - b%3][reflect(c-1, 4)][4 - 2*reflect(a-1, 2)]
 * with c = (idx[k] + 7) % 7. */
START_TEST(lowering_data_movement)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 3, 4, 5);
    Node *sl = TG_NODE(g, OP_SLICE, "slice", 1, x,
                       tg_const_i64(g, "st", 1, TG_DIMS(2), TG_DIMS(2, -1)),
                       tg_const_i64(g, "en", 1, TG_DIMS(2), TG_DIMS(-100, 0)),
                       tg_const_i64(g, "ax", 1, TG_DIMS(2), TG_DIMS(0, 2)),
                       tg_const_i64(g, "sp", 1, TG_DIMS(2), TG_DIMS(-1, -2)));
    Node *pd = TG_NODE(g, OP_PAD, "pad", 1, sl->out[0],
                       tg_const_i64(g, "pads", 1, TG_DIMS(6), TG_DIMS(0, 1, 1, 0, 2, 1)));
    tg_attr_s(g, pd, "mode", "reflect");
    Node *tr = TG_NODE(g, OP_TRANSPOSE, "tr", 1, pd->out[0]);
    TG_INTS(g, tr, "perm", 2, 0, 1);
    Node *cat = TG_NODE(g, OP_CONCAT, "cat", 1, tr->out[0], tr->out[0]);
    tg_attr_i(g, cat, "axis", 1);
    int64_t idx[3] = { 6, -7, 3 };
    Node *ga = TG_NODE(g, OP_GATHER, "ga", 1, cat->out[0],
                       tg_const_i64(g, "idx", 1, TG_DIMS(3), idx));
    tg_attr_i(g, ga, "axis", 2);
    Node *sp = TG_NODE(g, OP_SPLIT, "split", 2, ga->out[0],
                       tg_const_i64(g, "sizes", 1, TG_DIMS(2), TG_DIMS(2, 4)));
    tg_attr_i(g, sp, "axis", 1);
    tg_output(g, sp->out[0]);
    tg_output(g, sp->out[1]);
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d) && graph_infer_shapes(g, &d), &d);
    float *in = alloc_uniform(60, 11, -1, 1), want[4 * 6 * 3];
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 6; b++)
            for (int k = 0; k < 3; k++) {
                int c = (int)((idx[k] + 7) % 7);
                want[(a * 6 + b) * 3 + k] =
                    in[((2 - b % 3) * 4 + reflect(c - 1, 4)) * 5 + 4 - 2 * reflect(a - 1, 2)];
            }
    float **out = tg_run(g, &in), want0[24], want1[48];
    for (int a = 0; a < 4; a++) {
        memcpy(want0 + a * 6, want + a * 18, 6 * sizeof(float));
        memcpy(want1 + a * 12, want + a * 18 + 6, 12 * sizeof(float));
    }
    EXPECT_CLOSE(out[0], want0, 24, 0, 0);
    EXPECT_CLOSE(out[1], want1, 48, 0, 0);
    tg_free_outputs(out, 2);
    free(in);
    graph_free(g);
}
END_TEST

static Suite *lower_suite(void)
{
    Suite *s = suite_create("lower");
    TCase *tc = tcase_create("lower");
    tcase_add_test(tc, lowering_broadcast_and_softmax);
    tcase_add_test(tc, lowering_data_movement);
    tcase_add_test(tc, avgpool_dilations);
    tcase_add_test(tc, interp_run_twice);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *s = lower_suite();
    return run_suites(&s, 1);
}
