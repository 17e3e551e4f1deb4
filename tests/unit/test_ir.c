/* The graph IR: construction, attribute decoding, shape inference of each op (results and
 * the errors a user sees), topological sort, the verifier and the diagnostics' format.
 * Expected shapes are worked out by hand from the ONNX operator definitions. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "build.h"
#include "util.h"

#define EXPECT_SHAPE(v, ...) do {                                                          \
        const int64_t want_[] = { __VA_ARGS__ };                                           \
        char got_[160];                                                                    \
        ck_assert_msg((v)->rank == (int)(sizeof want_ / sizeof want_[0]) &&                \
                      memcmp((v)->dims, want_, sizeof want_) == 0, "shape of '%s' is %s",  \
                      (v)->name, value_shape_str((v), got_, sizeof got_));                 \
    } while (0)

/* Finishes g and infers shapes; returns whether inference succeeded, the message in d. */
static bool infer(Graph *g, Diag *d)
{
    d->path = g->path;
    return tg_finish(g, d) && graph_infer_shapes(g, d);
}

/* Infers g, which must fail with a message containing `want`; frees g. */
static void expect_error(Graph *g, const char *want)
{
    Diag d = {0};
    ck_assert_msg(!infer(g, &d), "inference succeeded, expected '%s'", want);
    ck_assert(d.failed);
    EXPECT_CONTAINS(d.msg, want);
    graph_free(g);
}

/* ---- construction ---------------------------------------------------------------------------- */
START_TEST(values_and_constants)
{
    Graph *g = tg_new(13);
    Value *a = graph_add_value(g, "a"), *b = graph_add_value(g, "b");
    ck_assert_int_eq(a->id, 0);
    ck_assert_int_eq(b->id, 1);
    ck_assert_int_eq(a->rank, -1);              /* unknown until inference */
    ck_assert_ptr_eq(graph_find_value(g, "b"), b);
    ck_assert_ptr_null(graph_find_value(g, "c"));
    Value *c = graph_add_constant(g, "c", DT_I64, 2, TG_DIMS(3, 5));
    ck_assert_int_eq(c->kind, VAL_CONSTANT);
    ck_assert_int_eq(value_numel(c), 15);
    ck_assert_uint_eq(value_bytes(c), 120);
    for (int i = 0; i < 15; i++)
        ck_assert_int_eq(value_i64(c, i), 0);   /* zeroed payload */
    char buf[64];
    ck_assert_str_eq(value_shape_str(c, buf, sizeof buf), "[3x5]");
    ck_assert_str_eq(value_shape_str(a, buf, sizeof buf), "?");
    Value *s = graph_add_constant(g, "s", DT_F32, 0, NULL);
    *(float *)s->data = 2.5f;
    ck_assert_int_eq(value_numel(s), 1);        /* a scalar has one element */
    ck_assert_str_eq(value_shape_str(s, buf, sizeof buf), "[]");
    ck_assert_int_eq(value_i64(s, 0), 2);
    ck_assert_uint_eq(dtype_size(DT_BOOL), 1);
    graph_free(g);
}
END_TEST

START_TEST(nodes_users_and_replace)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 2, 3);
    Node *r = TG_NODE(g, OP_RELU, "r", 1, x);
    Node *m = TG_NODE(g, OP_MUL, "m", 1, r->out[0], r->out[0]);
    tg_output(g, m->out[0]);
    graph_count_users(g);
    ck_assert_int_eq(r->out[0]->nusers, 2);     /* once per input slot */
    ck_assert(m->out[0]->is_output);
    ck_assert_ptr_eq(r->out[0]->producer, r);
    graph_replace_uses(g, r->out[0], x);
    ck_assert_ptr_eq(m->in[0], x);
    ck_assert_ptr_eq(m->in[1], x);
    r->dead = true;
    graph_compact(g);
    ck_assert_int_eq(g->nnodes, 1);
    ck_assert_int_eq(x->nusers, 2);
    OpKind op;
    ck_assert(op_lookup("BatchNormalization", &op) && op == OP_BATCHNORM);
    ck_assert(!op_lookup("batchnormalization", &op));   /* op types are case-sensitive */
    graph_free(g);
}
END_TEST

/* ---- attributes ------------------------------------------------------------------------------ */
START_TEST(attribute_defaults)
{
    Graph *g = tg_new(11);
    Value *x = TG_INPUT(g, "x", 2, 3);
    Node *gm = TG_NODE(g, OP_GEMM, "gemm", 1, x, x);
    Node *lr = TG_NODE(g, OP_LEAKYRELU, "lr", 1, x);
    Node *hs = TG_NODE(g, OP_HARDSIGMOID, "hs", 1, x);
    Node *cl = TG_NODE(g, OP_CLIP, "clip", 1, x);
    Node *sm = TG_NODE(g, OP_SOFTMAX, "sm", 1, x);
    Node *bn = TG_NODE(g, OP_BATCHNORM, "bn", 1, x, x, x, x, x);
    Diag d = {0};
    ck_assert(tg_finish(g, &d));
    ck_assert(gm->a.gemm.alpha == 1.0f && gm->a.gemm.beta == 1.0f && !gm->a.gemm.trans_b);
    ck_assert(lr->a.act.alpha == 0.01f);
    ck_assert(hs->a.act.alpha == 0.2f && hs->a.act.beta == 0.5f);
    ck_assert(isinf(cl->a.act.alpha) && cl->a.act.alpha < 0 && isinf(cl->a.act.beta));
    ck_assert_int_eq(sm->a.axis.axis, 1);       /* opset < 13: axis 1 */
    ck_assert(bn->a.bn.epsilon == 1e-5f);
    graph_free(g);
    g = tg_new(13);
    x = TG_INPUT(g, "x", 2, 3);
    sm = TG_NODE(g, OP_SOFTMAX, "sm", 1, x);
    ck_assert(tg_finish(g, &d));
    ck_assert_int_eq(sm->a.axis.axis, -1);      /* opset 13: the last axis */
    graph_free(g);
}
END_TEST

/* Each case: one Conv or pool with one bad attribute; node_decode_attrs must refuse it. */
START_TEST(attribute_errors)
{
    static const char *const want[] = {
        "'pads' must have 4 entries", "stride 0 is out of range", "group 0 must be positive",
        "unknown auto_pad 'SAME'", "only 2-D windows", "'kernel_shape' is required",
        "storage_order=1", "attribute 'alpha' must be a finite float",
        "attribute 'size' must be positive", "cast to ONNX type 8",
    };
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 4, 1, 1, 4, 4), *w = tg_const(g, "w", 4, TG_DIMS(1, 1, 1, 1),
                                                               NULL, 1, 0, 1);
    Node *n = NULL;
    switch (_i) {
    case 0: n = TG_NODE(g, OP_CONV, "c", 1, x, w); TG_INTS(g, n, "pads", 1, 1, 1); break;
    case 1: n = TG_NODE(g, OP_CONV, "c", 1, x, w); TG_INTS(g, n, "strides", 0, 1); break;
    case 2: n = TG_NODE(g, OP_CONV, "c", 1, x, w); tg_attr_i(g, n, "group", 0); break;
    case 3: n = TG_NODE(g, OP_CONV, "c", 1, x, w); tg_attr_s(g, n, "auto_pad", "SAME"); break;
    case 4: n = TG_NODE(g, OP_MAXPOOL, "p", 1, x); TG_INTS(g, n, "kernel_shape", 2, 2, 2);
        break;
    case 5: n = TG_NODE(g, OP_AVGPOOL, "p", 1, x); break;
    case 6: n = TG_NODE(g, OP_MAXPOOL, "p", 1, x); TG_INTS(g, n, "kernel_shape", 2, 2);
        tg_attr_i(g, n, "storage_order", 1); break;
    case 7: n = TG_NODE(g, OP_LEAKYRELU, "l", 1, x); tg_attr_s(g, n, "alpha", "0.1"); break;
    case 8: n = TG_NODE(g, OP_LRN, "l", 1, x); tg_attr_i(g, n, "size", 0); break;
    default: n = TG_NODE(g, OP_CAST, "c", 1, x); tg_attr_i(g, n, "to", 8); break;  /* STRING */
    }
    Diag d = {0};
    ck_assert(!node_decode_attrs(n, &d));
    EXPECT_CONTAINS(d.msg, want[_i]);
    graph_free(g);
}
END_TEST

/* ---- shape inference: compute ops ------------------------------------------------------------ */
START_TEST(infer_conv_shapes)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 3, 7, 13);
    Value *w = tg_const(g, "w", 4, TG_DIMS(8, 3, 3, 3), NULL, 1, -1, 1);
    Node *a = TG_NODE(g, OP_CONV, "a", 1, x, w);    /* kernel_shape from the weight */
    TG_INTS(g, a, "pads", 1, 1, 1, 1);
    TG_INTS(g, a, "strides", 2, 2);
    /* groups 2, dilations (2,3), asymmetric pads: H (10+1+2-5)/1+1 = 9, W (9+0+1-4)/2+1 = 4 */
    Value *x2 = TG_INPUT(g, "x2", 2, 4, 10, 9);
    Value *w2 = tg_const(g, "w2", 4, TG_DIMS(6, 2, 3, 2), NULL, 2, -1, 1);
    Value *b2 = tg_const(g, "b2", 1, TG_DIMS(6), NULL, 3, -1, 1);
    Node *c = TG_NODE(g, OP_CONV, "c", 1, x2, w2, b2);
    tg_attr_i(g, c, "group", 2);
    TG_INTS(g, c, "dilations", 2, 3);
    TG_INTS(g, c, "pads", 1, 0, 2, 1);
    TG_INTS(g, c, "strides", 1, 2);
    Diag d = {0};
    ck_assert_msg(infer(g, &d), "%s", d.msg);
    EXPECT_SHAPE(a->out[0], 1, 8, 4, 7);
    ck_assert_int_eq(a->a.win.kernel[0], 3);
    EXPECT_SHAPE(c->out[0], 2, 6, 9, 4);
    graph_free(g);
}
END_TEST

static Graph *conv_graph(int64_t cin, int64_t cout, int64_t wcin, int64_t group, int64_t nbias)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, cin, 5, 5);
    Value *w = tg_const(g, "w", 4, TG_DIMS(cout, wcin, 3, 3), NULL, 1, -1, 1);
    Value *b = nbias ? tg_const(g, "b", 1, TG_DIMS(nbias), NULL, 2, -1, 1) : NULL;
    Node *n = b ? TG_NODE(g, OP_CONV, "conv1", 1, x, w, b) : TG_NODE(g, OP_CONV, "conv1", 1, x, w);
    tg_attr_i(g, n, "group", group);
    return g;
}

START_TEST(infer_conv_errors)
{
    expect_error(conv_graph(6, 4, 3, 4, 0),
                 "test.onnx: node 'conv1' (Conv, opset 13): group 4 does not divide 6 input "
                 "channels");
    expect_error(conv_graph(6, 4, 2, 1, 0), "expects 2 input channels per group");
    expect_error(conv_graph(6, 4, 6, 1, 5), "bias has 5 entries for 4 output channels");
}
END_TEST

/* SAME_UPPER puts the odd pad at the end, SAME_LOWER at the start; output = ceil(in/stride). */
START_TEST(infer_auto_pad)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 1, 7, 8);
    Node *n[3];
    const char *mode[3] = { "SAME_UPPER", "SAME_LOWER", "VALID" };
    for (int i = 0; i < 3; i++) {
        n[i] = TG_NODE(g, OP_MAXPOOL, mode[i], 1, x);
        TG_INTS(g, n[i], "kernel_shape", 3, 3);
        TG_INTS(g, n[i], "strides", 2, 2);
        tg_attr_s(g, n[i], "auto_pad", mode[i]);
    }
    Diag d = {0};
    ck_assert_msg(infer(g, &d), "%s", d.msg);
    /* H: total (4-1)*2+3-7 = 2 -> 1,1. W: total 3*2+3-8 = 1 -> 0,1 (upper) or 1,0 (lower) */
    EXPECT_SHAPE(n[0]->out[0], 1, 1, 4, 4);
    ck_assert_mem_eq(n[0]->a.win.pad, TG_DIMS(1, 0, 1, 1), 4 * sizeof(int64_t));
    EXPECT_SHAPE(n[1]->out[0], 1, 1, 4, 4);
    ck_assert_mem_eq(n[1]->a.win.pad, TG_DIMS(1, 1, 1, 0), 4 * sizeof(int64_t));
    EXPECT_SHAPE(n[2]->out[0], 1, 1, 3, 3);     /* VALID: no pads, floor */
    graph_free(g);
}
END_TEST

/* PyTorch's ceil_mode: ceil((in + pads - k) / s) + 1, minus one when the last window would
 * start in the end padding. 5x5, k2 s2 p1: 4 without that correction, 3 with it. */
START_TEST(infer_pool_ceil_mode)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 2, 5, 6);
    Node *a = TG_NODE(g, OP_MAXPOOL, "a", 1, x), *b = TG_NODE(g, OP_AVGPOOL, "b", 1, x);
    Node *c = TG_NODE(g, OP_AVGPOOL, "c", 1, x);
    TG_INTS(g, a, "kernel_shape", 2, 2);
    TG_INTS(g, a, "strides", 2, 2);
    TG_INTS(g, a, "pads", 1, 1, 1, 1);
    tg_attr_i(g, a, "ceil_mode", 1);
    TG_INTS(g, b, "kernel_shape", 3, 3);        /* 6 wide, k3 s2: floor 2, ceil 3 */
    TG_INTS(g, b, "strides", 2, 2);
    tg_attr_i(g, b, "ceil_mode", 1);
    TG_INTS(g, c, "kernel_shape", 3, 3);
    TG_INTS(g, c, "strides", 2, 2);
    Diag d = {0};
    ck_assert_msg(infer(g, &d), "%s", d.msg);
    EXPECT_SHAPE(a->out[0], 1, 2, 3, 4);
    EXPECT_SHAPE(b->out[0], 1, 2, 2, 3);
    EXPECT_SHAPE(c->out[0], 1, 2, 2, 2);
    graph_free(g);
    g = tg_new(13);
    x = TG_INPUT(g, "x", 1, 2, 5, 6);
    a = TG_NODE(g, OP_MAXPOOL, "a", 1, x);
    TG_INTS(g, a, "kernel_shape", 2, 2);
    TG_INTS(g, a, "pads", 2, 0, 0, 0);
    expect_error(g, "padding must be smaller than the window");
}
END_TEST

START_TEST(infer_gemm_and_matmul)
{
    Graph *g = tg_new(13);
    Value *a = TG_INPUT(g, "a", 5, 3), *b = TG_INPUT(g, "b", 4, 5);
    Value *c1 = TG_INPUT(g, "c1", 4), *c2 = TG_INPUT(g, "c2", 3, 1);
    Node *g1 = TG_NODE(g, OP_GEMM, "g1", 1, a, b, c1), *g2 = TG_NODE(g, OP_GEMM, "g2", 1, a, b, c2);
    tg_attr_i(g, g1, "transA", 1);
    tg_attr_i(g, g1, "transB", 1);
    tg_attr_i(g, g2, "transA", 1);
    tg_attr_i(g, g2, "transB", 1);
    Value *m1 = TG_INPUT(g, "m1", 2, 1, 5, 7), *m2 = TG_INPUT(g, "m2", 3, 7, 6);
    Value *v = TG_INPUT(g, "v", 7);
    Node *mm = TG_NODE(g, OP_MATMUL, "mm", 1, m1, m2), *vm = TG_NODE(g, OP_MATMUL, "vm", 1, v, m2);
    Node *mv = TG_NODE(g, OP_MATMUL, "mv", 1, m1, v);
    Diag d = {0};
    ck_assert_msg(infer(g, &d), "%s", d.msg);
    EXPECT_SHAPE(g1->out[0], 3, 4);
    EXPECT_SHAPE(g2->out[0], 3, 4);
    EXPECT_SHAPE(mm->out[0], 2, 3, 5, 6);       /* batches [2,1] and [3] broadcast */
    EXPECT_SHAPE(vm->out[0], 3, 6);             /* the 1-D operand's axis is dropped again */
    EXPECT_SHAPE(mv->out[0], 2, 1, 5);
    graph_free(g);
    g = tg_new(13);
    TG_NODE(g, OP_GEMM, "g", 1, TG_INPUT(g, "a", 1, 3), TG_INPUT(g, "b", 3, 4),
            TG_INPUT(g, "c", 2, 4));           /* would broadcast the result to 2x4 */
    expect_error(g, "C does not broadcast to the 1x4 result");
    g = tg_new(13);
    TG_NODE(g, OP_GEMM, "g", 1, TG_INPUT(g, "a", 5, 3), TG_INPUT(g, "b", 3, 4),
            TG_INPUT(g, "c", 5));
    expect_error(g, "shapes [5] and [5x4] do not broadcast");
    g = tg_new(13);
    TG_NODE(g, OP_GEMM, "g", 1, TG_INPUT(g, "a", 5, 3), TG_INPUT(g, "b", 4, 3));
    expect_error(g, "inner dimensions differ: A gives 3, B gives 4");
    g = tg_new(13);
    TG_NODE(g, OP_MATMUL, "m", 1, TG_INPUT(g, "a", 2, 5, 7), TG_INPUT(g, "b", 3, 7, 6));
    expect_error(g, "do not broadcast");
}
END_TEST

START_TEST(infer_binary_broadcast)
{
    Graph *g = tg_new(13);
    Node *n = TG_NODE(g, OP_ADD, "add", 1, TG_INPUT(g, "a", 2, 3, 1), TG_INPUT(g, "b", 4));
    Node *s = TG_NODE(g, OP_MUL, "mul", 1, n->out[0], tg_const(g, "k", 0, NULL, NULL, 1, 0, 1));
    Diag d = {0};
    ck_assert_msg(infer(g, &d), "%s", d.msg);
    EXPECT_SHAPE(n->out[0], 2, 3, 4);
    EXPECT_SHAPE(s->out[0], 2, 3, 4);
    graph_free(g);
    g = tg_new(13);
    TG_NODE(g, OP_SUB, "sub", 1, TG_INPUT(g, "a", 2, 3), TG_INPUT(g, "b", 4));
    expect_error(g, "node 'sub' (Sub, opset 13): shapes [2x3] and [4] do not broadcast");
    g = tg_new(13);
    TG_NODE(g, OP_ADD, "add", 1, TG_INPUT(g, "a", 4), tg_const_i64(g, "i", 1, TG_DIMS(1),
                                                                     TG_DIMS(1)));
    expect_error(g, "operands have different types (f32 and i64)");
}
END_TEST

START_TEST(infer_norm_and_softmax)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 2, 3, 4);
    Node *sm = TG_NODE(g, OP_SOFTMAX, "sm", 1, x), *gp = NULL;
    Node *ls = TG_NODE(g, OP_LOGSOFTMAX, "ls", 1, x);
    tg_attr_i(g, ls, "axis", -2);
    Value *x4 = TG_INPUT(g, "x4", 2, 3, 5, 5);
    gp = TG_NODE(g, OP_GLOBALAVGPOOL, "gp", 1, x4);
    Diag d = {0};
    ck_assert_msg(infer(g, &d), "%s", d.msg);
    ck_assert_int_eq(sm->a.axis.axis, 2);       /* normalized to non-negative */
    ck_assert_int_eq(ls->a.axis.axis, 1);
    EXPECT_SHAPE(gp->out[0], 2, 3, 1, 1);
    graph_free(g);
    g = tg_new(13);
    x = TG_INPUT(g, "x", 2, 3);
    sm = TG_NODE(g, OP_SOFTMAX, "sm", 1, x);
    tg_attr_i(g, sm, "axis", 2);
    expect_error(g, "axis 2 is out of range for rank 2");
    g = tg_new(13);
    Value *p3 = tg_const(g, "p3", 1, TG_DIMS(3), NULL, 1, 1, 2);
    TG_NODE(g, OP_BATCHNORM, "bn", 1, TG_INPUT(g, "x", 1, 3, 2, 2), p3, p3, p3,
            tg_const(g, "p4", 1, TG_DIMS(4), NULL, 1, 1, 2));
    expect_error(g, "parameter 'p4' has 4 entries for 3 channels");
}
END_TEST

/* ---- shape inference: data movement ---------------------------------------------------------- */
static Node *reshape(Graph *g, Value *x, int n, const int64_t *shape)
{
    static int k;
    char name[32];
    snprintf(name, sizeof name, "shape%d", k++);
    return TG_NODE(g, OP_RESHAPE, "reshape", 1, x, tg_const_i64(g, name, 1, TG_DIMS(n), shape));
}

START_TEST(infer_reshape)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 2, 3, 4);
    Node *a = reshape(g, x, 2, TG_DIMS(0, -1)), *b = reshape(g, x, 2, TG_DIMS(-1, 4));
    Node *c = reshape(g, x, 4, TG_DIMS(1, 0, 8, 1));
    Diag d = {0};
    ck_assert_msg(infer(g, &d), "%s", d.msg);
    EXPECT_SHAPE(a->out[0], 2, 12);             /* 0 copies the input's dimension */
    EXPECT_SHAPE(b->out[0], 6, 4);
    EXPECT_SHAPE(c->out[0], 1, 3, 8, 1);
    graph_free(g);
    static const struct { int n; int64_t s[4]; const char *err; } bad[] = {
        { 3, { 4, -1, -1 }, "more than one -1" },
        { 2, { 5, -1 }, "cannot infer the -1 entry: 24 elements do not divide into 5" },
        { 4, { 0, 0, 0, 0 }, "shape entry 3 is 0 but the input has rank 3" },
        { 2, { 4, 5 }, "cannot reshape 24 elements into 20" },
        { 2, { -2, 12 }, "shape entry -2 is negative" },
    };
    for (int i = 0; i < 5; i++) {
        g = tg_new(13);
        reshape(g, TG_INPUT(g, "x", 2, 3, 4), bad[i].n, bad[i].s);
        expect_error(g, bad[i].err);
    }
    g = tg_new(13);
    TG_NODE(g, OP_RESHAPE, "r", 1, TG_INPUT(g, "x", 2, 3), TG_INPUT(g, "s", 2));
    expect_error(g, "must be known at compile time");
}
END_TEST

/* Slice-10+: negative starts count from the end, out-of-range ends clamp, negative steps
 * walk backwards; resolved into first/step per axis. Opset 9 attributes give the same. */
START_TEST(infer_slice_clamping)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 10, 8, 6);
    Node *n = TG_NODE(g, OP_SLICE, "s", 1, x,
                      tg_const_i64(g, "st", 1, TG_DIMS(3), TG_DIMS(-3, 6, 1)),
                      tg_const_i64(g, "en", 1, TG_DIMS(3), TG_DIMS(INT64_MAX, -100, 1000)),
                      tg_const_i64(g, "ax", 1, TG_DIMS(3), TG_DIMS(0, 1, -1)),
                      tg_const_i64(g, "sp", 1, TG_DIMS(3), TG_DIMS(1, -2, 2)));
    Node *e = TG_NODE(g, OP_SLICE, "empty", 1, x,
                      tg_const_i64(g, "st2", 1, TG_DIMS(1), TG_DIMS(100)),
                      tg_const_i64(g, "en2", 1, TG_DIMS(1), TG_DIMS(200)));
    Diag d = {0};
    ck_assert_msg(infer(g, &d), "%s", d.msg);
    EXPECT_SHAPE(n->out[0], 3, 4, 3);           /* 7..9; 6,4,2,0; 1,3,5 */
    ck_assert_mem_eq(n->a.slice.first, TG_DIMS(7, 6, 1), 3 * sizeof(int64_t));
    ck_assert_mem_eq(n->a.slice.step, TG_DIMS(1, -2, 2), 3 * sizeof(int64_t));
    EXPECT_SHAPE(e->out[0], 0, 8, 6);
    graph_free(g);
    g = tg_new(9);
    x = TG_INPUT(g, "x", 10, 8, 6);
    n = TG_NODE(g, OP_SLICE, "s", 1, x);
    TG_INTS(g, n, "starts", -3, 2);
    TG_INTS(g, n, "ends", 1000, -1);
    TG_INTS(g, n, "axes", 0, 2);
    ck_assert_msg(infer(g, &d), "%s", d.msg);
    EXPECT_SHAPE(n->out[0], 3, 8, 3);
    graph_free(g);
    g = tg_new(13);
    TG_NODE(g, OP_SLICE, "s", 1, TG_INPUT(g, "x", 4),
            tg_const_i64(g, "a", 1, TG_DIMS(1), TG_DIMS(0)),
            tg_const_i64(g, "b", 1, TG_DIMS(1), TG_DIMS(4)),
            tg_const_i64(g, "c", 1, TG_DIMS(1), TG_DIMS(0)),
            tg_const_i64(g, "d", 1, TG_DIMS(1), TG_DIMS(0)));
    expect_error(g, "step 0 on axis 0");
}
END_TEST

START_TEST(infer_tensor_ops)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 2, 3, 4, 5), *y = TG_INPUT(g, "y", 2, 1, 4, 5);
    Node *cat = TG_NODE(g, OP_CONCAT, "cat", 1, x, y, x);
    tg_attr_i(g, cat, "axis", -3);
    Node *tr = TG_NODE(g, OP_TRANSPOSE, "tr", 1, x);           /* no perm: reversed */
    Node *tp = TG_NODE(g, OP_TRANSPOSE, "tp", 1, x);
    TG_INTS(g, tp, "perm", 0, 2, 3, 1);
    Node *fl = TG_NODE(g, OP_FLATTEN, "fl", 1, x);
    tg_attr_i(g, fl, "axis", 2);
    Node *sq = TG_NODE(g, OP_SQUEEZE, "sq", 1, y, tg_const_i64(g, "ax", 1, TG_DIMS(1),
                                                                 TG_DIMS(-3)));
    Node *us = TG_NODE(g, OP_UNSQUEEZE, "us", 1, x, tg_const_i64(g, "ax2", 1, TG_DIMS(2),
                                                                   TG_DIMS(0, -1)));
    Node *ga = TG_NODE(g, OP_GATHER, "ga", 1, x, tg_const_i64(g, "idx", 2, TG_DIMS(2, 2),
                                                                TG_DIMS(0, -1, 2, 3)));
    tg_attr_i(g, ga, "axis", 2);
    Node *sp = TG_NODE(g, OP_SPLIT, "sp", 2, x, tg_const_i64(g, "sz", 1, TG_DIMS(2),
                                                               TG_DIMS(1, 2)));
    tg_attr_i(g, sp, "axis", 1);
    Node *pd = TG_NODE(g, OP_PAD, "pd", 1, x, tg_const_i64(g, "pads", 1, TG_DIMS(8),
                                                             TG_DIMS(0, 1, 0, 2, 1, 0, 3, 0)));
    Node *sh = TG_NODE(g, OP_SHAPE, "sh", 1, x);
    tg_attr_i(g, sh, "start", 1);
    tg_attr_i(g, sh, "end", -1);
    Diag d = {0};
    ck_assert_msg(infer(g, &d), "%s", d.msg);
    EXPECT_SHAPE(cat->out[0], 2, 7, 4, 5);
    EXPECT_SHAPE(tr->out[0], 5, 4, 3, 2);
    EXPECT_SHAPE(tp->out[0], 2, 4, 5, 3);
    EXPECT_SHAPE(fl->out[0], 6, 20);
    EXPECT_SHAPE(sq->out[0], 2, 4, 5);
    EXPECT_SHAPE(us->out[0], 1, 2, 3, 4, 5, 1);
    EXPECT_SHAPE(ga->out[0], 2, 3, 2, 2, 5);
    EXPECT_SHAPE(sp->out[0], 2, 1, 4, 5);
    EXPECT_SHAPE(sp->out[1], 2, 2, 4, 5);
    EXPECT_SHAPE(pd->out[0], 3, 4, 7, 7);       /* begins then ends, per axis */
    EXPECT_SHAPE(sh->out[0], 2);
    ck_assert_int_eq(sh->out[0]->dtype, DT_I64);
    graph_free(g);
}
END_TEST

START_TEST(infer_tensor_op_errors)
{
    Graph *g = tg_new(13);
    Node *n = TG_NODE(g, OP_CONCAT, "cat", 1, TG_INPUT(g, "a", 2, 3), TG_INPUT(g, "b", 3, 3));
    tg_attr_i(g, n, "axis", 1);
    expect_error(g, "input 1 has length 3 on axis 0, input 0 has 2");
    g = tg_new(13);
    TG_NODE(g, OP_CONCAT, "cat", 1, TG_INPUT(g, "a", 2, 3));
    expect_error(g, "attribute 'axis' is required");
    g = tg_new(13);
    n = TG_NODE(g, OP_TRANSPOSE, "t", 1, TG_INPUT(g, "a", 2, 3));
    TG_INTS(g, n, "perm", 1, 1);
    expect_error(g, "perm is not a permutation");
    g = tg_new(11);
    n = TG_NODE(g, OP_SQUEEZE, "sq", 1, TG_INPUT(g, "a", 2, 3));
    TG_INTS(g, n, "axes", 1);
    expect_error(g, "axis 1 has length 3, not 1");
    g = tg_new(13);
    TG_NODE(g, OP_GATHER, "ga", 1, TG_INPUT(g, "a", 4),
            tg_const_i64(g, "i", 1, TG_DIMS(1), TG_DIMS(4)));
    expect_error(g, "index 4 is out of range for length 4");
    g = tg_new(13);
    TG_NODE(g, OP_SPLIT, "sp", 2, TG_INPUT(g, "a", 4),
            tg_const_i64(g, "s", 1, TG_DIMS(2), TG_DIMS(1, 2)));
    expect_error(g, "split sizes add up to 3, the axis has 4");
    g = tg_new(13);
    TG_NODE(g, OP_PAD, "pd", 1, TG_INPUT(g, "a", 4),
            tg_const_i64(g, "p", 1, TG_DIMS(2), TG_DIMS(-1, 0)));
    expect_error(g, "negative pads are not supported");
    g = tg_new(13);
    TG_NODE(g, OP_RELU, "r", 1, graph_add_value(g, "dangling"));
    expect_error(g, "input 'dangling' has no known shape");
}
END_TEST

/* ConvTranspose's three ways to its output size (the ONNX node tests' shapes: 3x3 input,
 * 3x3 kernel, 2 output channels), reductions with keepdims, Expand and Where. */
START_TEST(infer_later_ops)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 1, 3, 3), *w = tg_const(g, "w", 4, TG_DIMS(1, 2, 3, 3),
                                                               NULL, 1, -1, 1);
    Node *ct[3];
    for (int i = 0; i < 3; i++)
        ct[i] = TG_NODE(g, OP_CONVTRANSPOSE, i == 0 ? "pad" : i == 1 ? "shape" : "same", 1,
                        x, w);
    TG_INTS(g, ct[0], "strides", 3, 2);
    TG_INTS(g, ct[0], "output_padding", 1, 1);         /* 3*(3-1)+1+3 = 10, 2*2+1+3 = 8 */
    TG_INTS(g, ct[1], "strides", 3, 2);
    TG_INTS(g, ct[1], "output_shape", 10, 8);
    TG_INTS(g, ct[2], "strides", 2, 2);
    tg_attr_s(g, ct[2], "auto_pad", "SAME_UPPER");    /* input * stride */
    Value *r = TG_INPUT(g, "r", 2, 3, 4);
    Node *keep = TG_NODE(g, OP_REDUCEMEAN, "keep", 1, r), *drop = TG_NODE(g, OP_REDUCEMAX,
                                                                           "drop", 1, r);
    TG_INTS(g, keep, "axes", -1, 0);
    TG_INTS(g, drop, "axes", -1, 0);
    tg_attr_i(g, drop, "keepdims", 0);
    Node *ex = TG_NODE(g, OP_EXPAND, "expand", 1, TG_INPUT(g, "e", 3, 1),
                       tg_const_i64(g, "to", 1, TG_DIMS(3), TG_DIMS(2, 1, 4)));
    Value *cond = graph_add_constant(g, "cond", DT_BOOL, 2, TG_DIMS(3, 1));
    Node *wh = TG_NODE(g, OP_WHERE, "where", 1, cond, TG_INPUT(g, "a", 1, 4),
                       TG_INPUT(g, "b", 2, 1, 1));
    Diag d = {0};
    ck_assert_msg(infer(g, &d), "%s", d.msg);
    EXPECT_SHAPE(ct[0]->out[0], 1, 2, 10, 8);
    EXPECT_SHAPE(ct[1]->out[0], 1, 2, 10, 8);
    EXPECT_SHAPE(ct[2]->out[0], 1, 2, 6, 6);
    EXPECT_SHAPE(keep->out[0], 1, 3, 1);
    EXPECT_SHAPE(drop->out[0], 3);
    EXPECT_SHAPE(ex->out[0], 2, 3, 4);
    EXPECT_SHAPE(wh->out[0], 2, 3, 4);
    graph_free(g);
    g = tg_new(13);
    TG_NODE(g, OP_WHERE, "where", 1, TG_INPUT(g, "c", 2), TG_INPUT(g, "a", 2),
            TG_INPUT(g, "b", 2));
    expect_error(g, "condition 'c' must be boolean");
}
END_TEST

/* ---- sort, verify, diagnostics --------------------------------------------------------------- */
START_TEST(sort_orders_and_finds_cycles)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 4), *later = graph_add_value(g, "later");
    Node *b = TG_NODE(g, OP_NEG, "b", 1, later);        /* listed before its producer */
    Node *a = TG_NODE(g, OP_RELU, "a", 1, x);
    a->out[0] = later;
    later->producer = a;
    tg_output(g, b->out[0]);
    Diag d = {0};
    ck_assert_msg(infer(g, &d), "%s", d.msg);
    ck_assert_ptr_eq(g->nodes[0], a);
    ck_assert_ptr_eq(g->nodes[1], b);
    graph_free(g);
    g = tg_new(13);                                     /* p reads q's output and back */
    Value *u = graph_add_value(g, "u"), *v = graph_add_value(g, "v");
    Node *p = TG_NODE(g, OP_ADD, "p", 1, TG_INPUT(g, "x", 4), v);
    Node *q = TG_NODE(g, OP_RELU, "q", 1, u);
    p->out[0] = u; u->producer = p;
    q->out[0] = v; v->producer = q;
    ck_assert(!graph_sort(g, &d));
    EXPECT_CONTAINS(d.msg, "node 'p' (Add, opset 13): the graph has a cycle");
    graph_free(g);
}
END_TEST

START_TEST(verify_catches_broken_graphs)
{
    for (int k = 0; k < 4; k++) {
        Graph *g = tg_new(13);
        Node *a = TG_NODE(g, OP_RELU, "a", 1, TG_INPUT(g, "x", 4));
        Node *b = TG_NODE(g, OP_NEG, "b", 1, a->out[0]);
        tg_output(g, b->out[0]);
        Diag d = {0};
        ck_assert_msg(infer(g, &d), "%s", d.msg);
        ck_assert(graph_verify(g, "nothing", &d));
        const char *want = NULL;
        switch (k) {
        case 0: g->nodes[0] = b; g->nodes[1] = a;       /* out of order */
            want = "node 'b' (Neg, opset 13): internal error after mypass: input 'a' is "
                   "used before it is computed"; break;
        case 1: a->dead = true; want = "a dead node is still listed"; break;
        case 2: b->out[0]->rank = -1; want = "output 'b' has no shape"; break;
        default: g->nnodes = 1; want = "graph output 'b' is not computed"; break;
        }
        ck_assert(!graph_verify(g, "mypass", &d));
        EXPECT_CONTAINS(d.msg, want);
        EXPECT_CONTAINS(d.msg, "after mypass");
        graph_free(g);
    }
}
END_TEST

START_TEST(diag_format)
{
    Node n = { .op = OP_CONV, .name = "conv1", .opset = 13 };
    Diag d = { .path = "model.onnx" };
    ck_assert(!diag_node(&d, &n, "group %d does not divide %d input channels", 3, 64));
    ck_assert(d.failed);
    ck_assert_str_eq(d.msg, "model.onnx: node 'conv1' (Conv, opset 13): group 3 does not "
                     "divide 64 input channels");
    ck_assert(!diag_error(&d, "a later error"));        /* the first one is kept */
    ck_assert_str_eq(d.msg, "model.onnx: node 'conv1' (Conv, opset 13): group 3 does not "
                     "divide 64 input channels");
    Diag e = {0};
    ck_assert(!diag_error(&e, "cannot open: %s", "No such file"));
    ck_assert_str_eq(e.msg, "cnnc: cannot open: No such file");
}
END_TEST

static Suite *ir_suite(void)
{
    Suite *s = suite_create("ir");
    TCase *tc = tcase_create("ir");
    tcase_add_test(tc, values_and_constants);
    tcase_add_test(tc, nodes_users_and_replace);
    tcase_add_test(tc, attribute_defaults);
    tcase_add_loop_test(tc, attribute_errors, 0, 10);
    tcase_add_test(tc, infer_conv_shapes);
    tcase_add_test(tc, infer_conv_errors);
    tcase_add_test(tc, infer_auto_pad);
    tcase_add_test(tc, infer_pool_ceil_mode);
    tcase_add_test(tc, infer_gemm_and_matmul);
    tcase_add_test(tc, infer_binary_broadcast);
    tcase_add_test(tc, infer_norm_and_softmax);
    tcase_add_test(tc, infer_reshape);
    tcase_add_test(tc, infer_slice_clamping);
    tcase_add_test(tc, infer_tensor_ops);
    tcase_add_test(tc, infer_tensor_op_errors);
    tcase_add_test(tc, infer_later_ops);
    tcase_add_test(tc, sort_orders_and_finds_cycles);
    tcase_add_test(tc, verify_catches_broken_graphs);
    tcase_add_test(tc, diag_format);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *s = ir_suite();
    return run_suites(&s, 1);
}
