/* The optimizing passes one by one: each on a small graph made for it, checked twice --
 * for what it changed in the graph (the BatchNorm is gone, the Relu is the Conv's epilogue)
 * and for what it must not change: the outputs, against the same graph unoptimized, both
 * run by interp_run_graph with the runtime's kernels. Also the buffer sharing of
 * plan_memory (in place, concat in place) against a run with a buffer per value. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "backend/schedule.h"
#include "build.h"
#include "passes/passes.h"
#include "util.h"

static Node *only(const Graph *g, OpKind op)
{
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->op == op)
            return g->nodes[i];
    ck_abort_msg("no %s left", op_info[op].onnx);
    return NULL;
}

static Value *weights(Graph *g, const char *name, int64_t m, int64_t c, int64_t k, uint64_t seed)
{
    return tg_const(g, name, 4, TG_DIMS(m, c, k, k), NULL, seed, -0.5f, 0.5f);
}

/* BatchNormalization with positive variances, so that it has an inverse to lose. */
static Node *batchnorm(Graph *g, const char *name, Value *x, int64_t c, uint64_t seed)
{
    return TG_NODE(g, OP_BATCHNORM, name, 1, x,
                   tg_const(g, "gamma", 1, TG_DIMS(c), NULL, seed, 0.5f, 1.5f),
                   tg_const(g, "beta", 1, TG_DIMS(c), NULL, seed + 1, -1, 1),
                   tg_const(g, "mean", 1, TG_DIMS(c), NULL, seed + 2, -1, 1),
                   tg_const(g, "var", 1, TG_DIMS(c), NULL, seed + 3, 0.2f, 2));
}

/* ---- the graphs ------------------------------------------------------------------------ */
/* conv (no bias) -> BN -> Relu, and a residual Add: ResNet's basic block, reduced. */
static Graph *resnet_block(void)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 4, 6, 6);
    Node *c1 = TG_NODE(g, OP_CONV, "c1", 1, x, weights(g, "w1", 4, 4, 3, 1));
    TG_INTS(g, c1, "pads", 1, 1, 1, 1);
    Node *b1 = batchnorm(g, "bn1", c1->out[0], 4, 10);
    Node *r1 = TG_NODE(g, OP_RELU, "r1", 1, b1->out[0]);
    Node *c2 = TG_NODE(g, OP_CONV, "c2", 1, r1->out[0], weights(g, "w2", 4, 4, 3, 2));
    TG_INTS(g, c2, "pads", 1, 1, 1, 1);
    Node *b2 = batchnorm(g, "bn2", c2->out[0], 4, 20);
    Node *add = TG_NODE(g, OP_ADD, "add", 1, b2->out[0], x);
    Node *out = TG_NODE(g, OP_RELU, "block_out", 1, add->out[0]);
    tg_output(g, out->out[0]);
    return g;
}

static void check_resnet_block(Graph *g)
{
    ck_assert_int_eq(tg_count_op(g, OP_BATCHNORM) + tg_count_op(g, OP_ADD) + tg_count_op(g, OP_RELU), 0);
    ck_assert_int_eq(g->nnodes, 2);
    Node *last = g->nodes[1];
    ck_assert(last->ep.residual && last->ep.act == RT_ACT_RELU);
    ck_assert_ptr_eq(last->in[3], g->inputs[0]);
    ck_assert_int_eq(g->nodes[0]->ep.act, RT_ACT_RELU);
    ck_assert_str_eq(g->outputs[0]->name, "block_out");     /* the model's name survives */
}

/* EfficientNet's SiLU, x * Sigmoid(x), after a depthwise conv with bias. */
static Graph *silu_block(void)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 3, 5, 5);
    Node *c = TG_NODE(g, OP_CONV, "dw", 1, x, weights(g, "w", 3, 1, 3, 3),
                      tg_const(g, "b", 1, TG_DIMS(3), NULL, 4, -1, 1));
    tg_attr_i(g, c, "group", 3);
    TG_INTS(g, c, "pads", 1, 1, 1, 1);
    Node *s = TG_NODE(g, OP_SIGMOID, "sig", 1, c->out[0]);
    Node *m = TG_NODE(g, OP_MUL, "silu", 1, c->out[0], s->out[0]);
    tg_output(g, m->out[0]);
    return g;
}

static void check_silu_block(Graph *g)
{
    ck_assert_int_eq(g->nnodes, 1);
    ck_assert_int_eq(g->nodes[0]->ep.act, RT_ACT_SILU);
}

/* MatMul + bias, then BatchNorm on the features and a Clip: a Gemm with all three. */
static Graph *matmul_bn_clip(void)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 3, 8);
    Node *mm = TG_NODE(g, OP_MATMUL, "mm", 1, x,
                       tg_const(g, "wm", 2, TG_DIMS(8, 5), NULL, 5, -1, 1));
    Node *add = TG_NODE(g, OP_ADD, "bias", 1, mm->out[0],
                        tg_const(g, "bm", 1, TG_DIMS(5), NULL, 6, -1, 1));
    Node *bn = batchnorm(g, "bn", add->out[0], 5, 30);
    Node *clip = TG_NODE(g, OP_CLIP, "clip", 1, bn->out[0],
                         tg_const(g, "lo", 0, NULL, (const float[]){ 0.0f }, 0, 0, 0),
                         tg_const(g, "hi", 0, NULL, (const float[]){ 0.8f }, 0, 0, 0));
    tg_output(g, clip->out[0]);
    return g;
}

static void check_matmul_bn_clip(Graph *g)
{
    ck_assert_int_eq(g->nnodes, 1);
    Node *gemm = only(g, OP_GEMM);
    ck_assert_int_eq(gemm->ep.act, RT_ACT_CLIP);
    ck_assert(gemm->ep.alpha == 0.0f && gemm->ep.beta == 0.8f);
}

/* DenseNet: BatchNorm after a Concat (nothing to fold into) then Relu; Transposes that
 * cancel; a zero Pad in front of a Conv. */
static Graph *dense_block(void)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 2, 5, 5);
    Node *t1 = TG_NODE(g, OP_TRANSPOSE, "t1", 1, x);
    TG_INTS(g, t1, "perm", 0, 2, 3, 1);
    Node *t2 = TG_NODE(g, OP_TRANSPOSE, "t2", 1, t1->out[0]);
    TG_INTS(g, t2, "perm", 0, 3, 1, 2);
    Node *c = TG_NODE(g, OP_CONV, "c", 1, t2->out[0], weights(g, "w", 3, 2, 1, 7));
    Node *cat = TG_NODE(g, OP_CONCAT, "cat", 1, x, c->out[0]);
    tg_attr_i(g, cat, "axis", 1);
    Node *bn = batchnorm(g, "bn", cat->out[0], 5, 40);
    Node *r = TG_NODE(g, OP_RELU, "r", 1, bn->out[0]);
    Node *pad = TG_NODE(g, OP_PAD, "pad", 1, r->out[0],
                        tg_const_i64(g, "pads", 1, TG_DIMS(8), TG_DIMS(0, 0, 1, 2, 0, 0, 2, 1)));
    Node *c2 = TG_NODE(g, OP_CONV, "c2", 1, pad->out[0], weights(g, "w2", 4, 5, 3, 8));
    tg_output(g, c2->out[0]);
    return g;
}

static void check_dense_block(Graph *g)
{
    ck_assert_int_eq(tg_count_op(g, OP_TRANSPOSE) + tg_count_op(g, OP_PAD), 0);
    ck_assert_int_eq(tg_count_op(g, OP_BATCHNORM), 0);
    Node *aff = only(g, OP_CHANNELAFFINE);
    ck_assert_int_eq(aff->ep.act, RT_ACT_RELU);
    Node *c2 = g->nodes[g->nnodes - 1];
    ck_assert_int_eq(c2->a.win.pad[0], 1);      /* top, left, bottom, right */
    ck_assert_int_eq(c2->a.win.pad[1], 2);
    ck_assert_int_eq(c2->a.win.pad[2], 2);
    ck_assert_int_eq(c2->a.win.pad[3], 1);
}

/* A residual whose shortcut conv comes later in the file than the main path (as torch
 * exports a downsampling block): the Add fuses into the shortcut conv. */
static Graph *late_shortcut(void)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 3, 6, 6);
    Node *main_conv = TG_NODE(g, OP_CONV, "main", 1, x, weights(g, "wa", 4, 3, 3, 11));
    TG_INTS(g, main_conv, "pads", 1, 1, 1, 1);
    TG_INTS(g, main_conv, "strides", 2, 2);
    Node *short_conv = TG_NODE(g, OP_CONV, "shortcut", 1, x, weights(g, "wb", 4, 3, 1, 12));
    TG_INTS(g, short_conv, "strides", 2, 2);
    Node *add = TG_NODE(g, OP_ADD, "add", 1, main_conv->out[0], short_conv->out[0]);
    tg_output(g, add->out[0]);
    return g;
}

static void check_late_shortcut(Graph *g)
{
    ck_assert_int_eq(g->nnodes, 2);
    ck_assert_str_eq(g->nodes[1]->name, "shortcut");
    ck_assert(g->nodes[1]->ep.residual && !g->nodes[0]->ep.residual);
}

/* DenseNet's bottleneck: BN+Relu after a concat feeding a 1x1 conv (the conv takes the
 * scaling over) and, through a second BN+Relu, a padded 3x3 conv (it cannot). */
static Graph *dense_bottleneck(void)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 3, 6, 6);
    Node *c0 = TG_NODE(g, OP_CONV, "c0", 1, x, weights(g, "w0", 2, 3, 1, 61));
    Node *cat = TG_NODE(g, OP_CONCAT, "cat", 1, x, c0->out[0]);
    tg_attr_i(g, cat, "axis", 1);
    Node *bn1 = batchnorm(g, "bn1", cat->out[0], 5, 50);
    Node *r1 = TG_NODE(g, OP_RELU, "r1", 1, bn1->out[0]);
    Node *c1 = TG_NODE(g, OP_CONV, "c1", 1, r1->out[0], weights(g, "w1", 4, 5, 1, 62));
    Node *cat2 = TG_NODE(g, OP_CONCAT, "cat2", 1, cat->out[0], c1->out[0]);
    tg_attr_i(g, cat2, "axis", 1);
    Node *bn2 = batchnorm(g, "bn2", cat2->out[0], 9, 60);
    Node *r2 = TG_NODE(g, OP_RELU, "r2", 1, bn2->out[0]);
    Node *c2 = TG_NODE(g, OP_CONV, "c2", 1, r2->out[0], weights(g, "w2", 2, 9, 3, 63));
    TG_INTS(g, c2, "pads", 1, 1, 1, 1);
    tg_output(g, c2->out[0]);
    return g;
}

static void check_dense_bottleneck(Graph *g)
{
    Node *aff = only(g, OP_CHANNELAFFINE), *c1 = NULL;
    ck_assert_int_eq(tg_count_op(g, OP_CHANNELAFFINE), 1);
    ck_assert_int_eq(aff->ep.act, RT_ACT_RELU);
    ck_assert_int_eq(aff->in[0]->dims[1], 9);   /* the one before the padded conv stays */
    for (int i = 0; i < g->nnodes; i++)
        if (strcmp(g->nodes[i]->name, "c1") == 0)
            c1 = g->nodes[i];
    ck_assert_ptr_nonnull(c1);
    ck_assert(c1->pre.on && !c1->pre.per_image && c1->pre.act == RT_ACT_RELU);
    ck_assert_int_eq(c1->in[0]->dims[1], 5);    /* reads the concat itself */
    ck_assert_ptr_nonnull(c1->in[4]);
    ck_assert_ptr_nonnull(c1->in[5]);
}

/* Squeeze-excitation at batch 2: the channel weights differ per image, and the Mul that
 * applies them goes into the 1x1 projection conv after it. */
static Graph *se_block(void)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 2, 6, 5, 5);
    Node *pool = TG_NODE(g, OP_GLOBALAVGPOOL, "pool", 1, x);
    Node *sq = TG_NODE(g, OP_CONV, "squeeze", 1, pool->out[0], weights(g, "ws", 2, 6, 1, 71),
                       tg_const(g, "bs", 1, TG_DIMS(2), NULL, 72, -0.2f, 0.2f));
    Node *r = TG_NODE(g, OP_RELU, "r", 1, sq->out[0]);
    Node *ex = TG_NODE(g, OP_CONV, "excite", 1, r->out[0], weights(g, "we", 6, 2, 1, 73));
    Node *sig = TG_NODE(g, OP_SIGMOID, "sig", 1, ex->out[0]);
    Node *mul = TG_NODE(g, OP_MUL, "scale", 1, sig->out[0], x);
    Node *proj = TG_NODE(g, OP_CONV, "project", 1, mul->out[0], weights(g, "wp", 4, 6, 1, 74));
    tg_output(g, proj->out[0]);
    return g;
}

static void check_se_block(Graph *g)
{
    ck_assert_int_eq(tg_count_op(g, OP_MUL), 0);
    Node *proj = g->nodes[g->nnodes - 1];
    ck_assert(proj->pre.on && proj->pre.per_image && proj->pre.act == RT_ACT_NONE);
    ck_assert_ptr_eq(proj->in[0], g->inputs[0]);
    ck_assert_ptr_null(proj->in[5]);
}

typedef struct {
    const char *what;
    Graph *(*build)(void);
    void (*check)(Graph *g);
} Case;

/* DenseNet's transition: BN+Relu, a 1x1 conv with bias, a 2x2 average: the pool moves
 * before the conv (4x fewer pixels for it). Beside it two that must stay: a conv with a
 * Relu after it, and a pool whose windows overlap and pad. */
static Graph *transition(void)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 3, 8, 6);
    Node *bn = batchnorm(g, "bn", x, 3, 70);
    Node *r = TG_NODE(g, OP_RELU, "r", 1, bn->out[0]);
    Node *c = TG_NODE(g, OP_CONV, "c", 1, r->out[0], weights(g, "w", 4, 3, 1, 71),
                      tg_const(g, "b", 1, TG_DIMS(4), NULL, 72, -1, 1));
    Node *p = TG_NODE(g, OP_AVGPOOL, "p", 1, c->out[0]);
    TG_INTS(g, p, "kernel_shape", 2, 2);
    TG_INTS(g, p, "strides", 2, 2);
    Node *ca = TG_NODE(g, OP_CONV, "ca", 1, x, weights(g, "wa", 4, 3, 1, 73));
    Node *ra = TG_NODE(g, OP_RELU, "ra", 1, ca->out[0]);
    Node *pa = TG_NODE(g, OP_AVGPOOL, "pa", 1, ra->out[0]);
    TG_INTS(g, pa, "kernel_shape", 2, 2);
    TG_INTS(g, pa, "strides", 2, 2);
    Node *cb = TG_NODE(g, OP_CONV, "cb", 1, x, weights(g, "wb", 4, 3, 1, 74));
    Node *pb = TG_NODE(g, OP_AVGPOOL, "pb", 1, cb->out[0]);
    TG_INTS(g, pb, "kernel_shape", 3, 3);
    TG_INTS(g, pb, "strides", 2, 2);
    TG_INTS(g, pb, "pads", 1, 1, 1, 1);
    Node *s1 = TG_NODE(g, OP_ADD, "s1", 1, p->out[0], pa->out[0]);
    Node *s2 = TG_NODE(g, OP_ADD, "s2", 1, s1->out[0], pb->out[0]);
    tg_output(g, s2->out[0]);
    return g;
}

static int position(const Graph *g, const char *name)
{
    for (int i = 0; i < g->nnodes; i++)
        if (strcmp(g->nodes[i]->name, name) == 0)
            return i;
    ck_abort_msg("no node %s left", name);
    return -1;
}

static void check_transition(Graph *g)
{
    ck_assert_int_lt(position(g, "p"), position(g, "c"));    /* moved */
    ck_assert_int_eq(g->nodes[position(g, "p")]->in[0]->dims[1], 3);
    ck_assert_int_eq(g->nodes[position(g, "c")]->out[0]->dims[2], 4);
    ck_assert_int_lt(position(g, "ca"), position(g, "pa"));  /* a Relu between */
    ck_assert_int_lt(position(g, "cb"), position(g, "pb"));  /* overlapping, padded */
}

static const Case cases[] = {
    { "conv+BN+relu and a residual add", resnet_block, check_resnet_block },
    { "SiLU after a depthwise conv", silu_block, check_silu_block },
    { "MatMul+Add+BN+Clip into one Gemm", matmul_bn_clip, check_matmul_bn_clip },
    { "BN after concat, transposes, pad", dense_block, check_dense_block },
    { "residual into a later shortcut", late_shortcut, check_late_shortcut },
    { "BN+Relu into the next 1x1 conv", dense_bottleneck, check_dense_bottleneck },
    { "squeeze-excitation Mul into the projection", se_block, check_se_block },
    { "average pool before the 1x1 conv of a transition", transition, check_transition },
};

/* ---- the tests ------------------------------------------------------------------------- */
static float *run_graph(Graph *g, const float *in)
{
    Diag d = {0};
    float *out = malloc(value_bytes(g->outputs[0]) + 4);
    tg_expect_ok(interp_run_graph(g, &in, &out, &d), &d);
    return out;
}

START_TEST(pass_keeps_outputs)
{
    const Case *c = &cases[_i];
    Graph *ref = c->build(), *opt = c->build();
    Diag d = {0};
    PipelineOptions o = { .level = 2 };
    tg_expect_ok(tg_finish(ref, &d) && graph_infer_shapes(ref, &d), &d);
    tg_expect_ok(tg_finish(opt, &d) && pipeline_run(opt, &o, &d), &d);
    c->check(opt);
    ck_assert_msg(value_same_shape(ref->outputs[0], opt->outputs[0]), "%s", c->what);
    size_t n = (size_t)value_numel(ref->outputs[0]);
    float *in = alloc_uniform((size_t)value_numel(ref->inputs[0]), 99, -2, 2);
    float *want = run_graph(ref, in), *got = run_graph(opt, in);
    EXPECT_CLOSE(got, want, n, 1e-5, 1e-5);
    free(in);
    free(want);
    free(got);
    graph_free(ref);
    graph_free(opt);
}
END_TEST

/* Each pass alone reports what it did; a second run finds nothing left to do. */
START_TEST(passes_report_and_settle)
{
    Graph *g = resnet_block();
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d) && graph_infer_shapes(g, &d), &d);
    PassCtx c = { .d = &d, .level = 2 };
    ck_assert(pass_fold_batchnorm(g, &c));
    ck_assert_int_eq(c.count, 2);
    tg_expect_ok(graph_infer_shapes(g, &d) && graph_verify(g, "fold_batchnorm", &d), &d);
    ck_assert(!pass_fold_batchnorm(g, &c));
    ck_assert(pass_fuse_epilogue(g, &c));
    ck_assert_int_eq(c.count, 3);              /* the Add and both Relus */
    tg_expect_ok(graph_infer_shapes(g, &d) && graph_verify(g, "fuse_epilogue", &d), &d);
    ck_assert(!pass_fuse_epilogue(g, &c));
    graph_free(g);
}
END_TEST

/* Buffer sharing: Inception-like branches concatenated (computed in place into the concat)
 * and element-wise ops over dying inputs (in place); the planned arena must give the
 * outputs a buffer-per-value run gives, and be smaller. */
static Graph *branches(void)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 3, 6, 6);
    Node *a = TG_NODE(g, OP_CONV, "a", 1, x, weights(g, "wa", 2, 3, 1, 51));
    Node *b = TG_NODE(g, OP_CONV, "b", 1, x, weights(g, "wb", 3, 3, 3, 52));
    TG_INTS(g, b, "pads", 1, 1, 1, 1);
    Node *m = TG_NODE(g, OP_MAXPOOL, "m", 1, x);
    TG_INTS(g, m, "kernel_shape", 3, 3);
    TG_INTS(g, m, "pads", 1, 1, 1, 1);
    Node *cat = TG_NODE(g, OP_CONCAT, "cat", 1, a->out[0], b->out[0], m->out[0]);
    tg_attr_i(g, cat, "axis", 1);
    Node *s = TG_NODE(g, OP_SIGMOID, "s", 1, cat->out[0]);
    Node *t = TG_NODE(g, OP_TANH, "t", 1, s->out[0]);
    Node *fl = TG_NODE(g, OP_FLATTEN, "flat", 1, t->out[0]);
    Node *r = TG_NODE(g, OP_RELU, "r", 1, fl->out[0]);
    tg_output(g, r->out[0]);
    return g;
}

START_TEST(shared_buffers_keep_outputs)
{
    Graph *ref = branches(), *g = branches();
    Diag d = {0};
    PipelineOptions o = { .level = 2 };
    tg_expect_ok(tg_finish(ref, &d) && graph_infer_shapes(ref, &d), &d);
    tg_expect_ok(tg_finish(g, &d) && pipeline_run(g, &o, &d), &d);
    float *in = alloc_uniform(3 * 36, 77, -1, 1), *want = run_graph(ref, in);
    size_t n = (size_t)value_numel(ref->outputs[0]);

    Schedule *s = schedule_lower(g, &d);
    ck_assert_ptr_nonnull(s);
    int steps_before = s->nsteps;
    s->share_buffers = true;
    tg_expect_ok(plan_memory(s, &d), &d);
    ck_assert_int_eq(s->nconcat_inplace, 1);
    ck_assert_int_eq(s->ninplace, 2);           /* Tanh over Sigmoid, Flatten's copy */
    ck_assert_int_lt(s->nsteps, steps_before);  /* the concat and the copy are gone */
    ck_assert_int_le(s->arena_bytes, s->arena_naive);
    ck_assert_int_ge(s->arena_bytes, s->arena_lower_bound);

    /* run the planned schedule in its arena, as the generated code does */
    unsigned char *arena = aligned_alloc(64, s->arena_bytes + 64);
    unsigned char *blob = aligned_alloc(64, s->weight_bytes + 64);
    float *got = malloc(n * sizeof(float));
    for (int i = 0; i < s->nweights; i++)
        memcpy(blob + s->where[s->weights[i]->id].offset, s->weights[i]->data,
               value_bytes(s->weights[i]));
    for (int i = 0; i < s->nsteps; i++) {
        const Step *st = &s->steps[i];
        void *ptrs[16];
        for (int j = 0; j < st->nt; j++) {
            const Value *v = st->t[j];
            const Storage *w = v ? &s->where[v->id] : NULL;
            ptrs[j] = j == st->ws_slot ? arena + st->ws_offset
                    : !v ? NULL
                    : w->kind == STORE_INPUT ? (void *)in
                    : w->kind == STORE_OUTPUT ? (void *)got
                    : w->kind == STORE_WEIGHT ? (void *)(blob + w->offset)
                    : (void *)(arena + w->offset);
        }
        rt_kernels[st->kernel](ptrs, st->p, st->f);
    }
    EXPECT_CLOSE(got, want, n, 1e-6, 1e-6);
    free(arena);
    free(blob);
    free(got);
    free(want);
    free(in);
    schedule_free(s);
    graph_free(ref);
    graph_free(g);
}
END_TEST

static Suite *fusion_suite(void)
{
    Suite *s = suite_create("fusion");
    TCase *tc = tcase_create("passes");
    tcase_add_loop_test(tc, pass_keeps_outputs, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, passes_report_and_settle);
    tcase_add_test(tc, shared_buffers_keep_outputs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *suites[] = { fusion_suite() };
    return run_suites(suites, 1);
}
