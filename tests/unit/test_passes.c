/* The optimizer: each pass on a graph made for it, memory planning checked against its
 * invariants and by running the schedule in the planned arena, and whole-pipeline
 * equivalence (-O2 against the same graph unoptimized, both run by interp_run_graph).
 * Also interp_run_graph itself against numbers worked out by hand. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "backend/schedule.h"
#include "build.h"
#include "passes/passes.h"
#include "util.h"

/* ---- fold_constants -------------------------------------------------------------------------- */
/* torch's flatten: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])). */
START_TEST(fold_shape_chain_into_reshape)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 2, 3, 4, 5);
    Node *sh = TG_NODE(g, OP_SHAPE, "shape", 1, x);
    Node *ga = TG_NODE(g, OP_GATHER, "gather", 1, sh->out[0],
                       tg_const_i64(g, "zero", 0, NULL, TG_DIMS(0)));
    Node *us = TG_NODE(g, OP_UNSQUEEZE, "unsq", 1, ga->out[0],
                       tg_const_i64(g, "axes", 1, TG_DIMS(1), TG_DIMS(0)));
    Node *cat = TG_NODE(g, OP_CONCAT, "cat", 1, us->out[0],
                        tg_const_i64(g, "minus1", 1, TG_DIMS(1), TG_DIMS(-1)));
    tg_attr_i(g, cat, "axis", 0);
    Node *rs = TG_NODE(g, OP_RESHAPE, "reshape", 1, x, cat->out[0]);
    Node *mid = TG_NODE(g, OP_SHAPE, "mid", 1, x);  /* Shape-15 start/end: dims 1..2 */
    tg_attr_i(g, mid, "start", -3);
    tg_attr_i(g, mid, "end", -1);
    tg_output(g, rs->out[0]);
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d), &d);
    ck_assert(!graph_infer_shapes(g, &d));      /* the Reshape cannot infer before folding */
    d = (Diag){0};
    PassCtx c = { .d = &d };
    ck_assert(pass_fold_shapes(g, &c));
    tg_expect_ok(!d.failed, &d);
    ck_assert_int_eq(c.count, 5);
    ck_assert_int_eq(g->nnodes, 1);
    ck_assert_ptr_eq(g->nodes[0], rs);
    ck_assert(mid->out[0]->kind == VAL_CONSTANT && value_numel(mid->out[0]) == 2);
    ck_assert(value_i64(mid->out[0], 0) == 3 && value_i64(mid->out[0], 1) == 4);
    Value *shape = rs->in[1];
    ck_assert_int_eq(shape->kind, VAL_CONSTANT);
    ck_assert_int_eq(value_numel(shape), 2);
    ck_assert_int_eq(value_i64(shape, 0), 2);
    ck_assert_int_eq(value_i64(shape, 1), -1);
    ck_assert(rs->out[0]->rank == 2 && rs->out[0]->dims[0] == 2 && rs->out[0]->dims[1] == 60);
    tg_expect_ok(graph_verify(g, "test", &d), &d);
    float *in = alloc_uniform(120, 1, -1, 1);
    float **out = tg_run(g, &in);
    ck_assert_mem_eq(out[0], in, 120 * sizeof(float));      /* a reshape moves nothing */
    tg_free_outputs(out, 1);
    free(in);
    graph_free(g);
}
END_TEST

/* x + sqrt(a * b) with constant a, b: -O0 leaves float math alone, fold_constants runs it. */
START_TEST(fold_float_constant_subgraph)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 2, 3);
    Value *a = tg_const(g, "a", 1, TG_DIMS(3), (const float[]){ 1, 2, 8 }, 0, 0, 0);
    Value *b = tg_const(g, "b", 1, TG_DIMS(3), (const float[]){ 4, 8, 2 }, 0, 0, 0);
    Node *mul = TG_NODE(g, OP_MUL, "mul", 1, a, b);
    Node *sq = TG_NODE(g, OP_SQRT, "sqrt", 1, mul->out[0]);
    Node *add = TG_NODE(g, OP_ADD, "add", 1, x, sq->out[0]);
    tg_output(g, add->out[0]);
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d) && graph_infer_shapes(g, &d), &d);
    PassCtx c = { .d = &d };
    ck_assert(!pass_fold_shapes(g, &c));
    ck_assert_int_eq(g->nnodes, 3);
    ck_assert(pass_fold_constants(g, &c));
    ck_assert_int_eq(c.count, 2);
    ck_assert_int_eq(g->nnodes, 1);
    Value *k = add->in[1];
    ck_assert_int_eq(k->kind, VAL_CONSTANT);
    EXPECT_CLOSE((const float *)k->data, ((const float[]){ 2, 4, 4 }), 3, 0, 0);
    graph_free(g);
}
END_TEST

/* ---- simplify, eliminate_dead ---------------------------------------------------------------- */
START_TEST(simplify_removes_identity_and_dropout)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 7);
    Node *id = TG_NODE(g, OP_IDENTITY, "id", 1, x);
    Node *r = TG_NODE(g, OP_RELU, "relu", 1, id->out[0]);
    Node *dr = TG_NODE(g, OP_DROPOUT, "drop", 1, r->out[0]);
    Node *ng = TG_NODE(g, OP_NEG, "neg", 1, dr->out[0]);
    Node *keep = TG_NODE(g, OP_IDENTITY, "y2", 1, x);  /* input to output: must stay a copy */
    Node *dm = TG_NODE(g, OP_DROPOUT, "dm", 2, x);      /* its mask is read: stays */
    Node *nm = TG_NODE(g, OP_CAST, "nm", 1, dm->out[1]);
    tg_attr_i(g, nm, "to", 1);
    tg_output(g, ng->out[0]);
    tg_output(g, keep->out[0]);
    tg_output(g, nm->out[0]);
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d) && graph_infer_shapes(g, &d), &d);
    PassCtx c = { .d = &d };
    ck_assert(pass_simplify(g, &c));
    ck_assert_int_eq(c.count, 2);
    ck_assert_int_eq(g->nnodes, 5);
    ck_assert_ptr_eq(r->in[0], x);
    ck_assert_ptr_eq(ng->in[0], r->out[0]);
    ck_assert_int_eq(g->noutputs, 3);
    ck_assert_ptr_eq(g->outputs[0], ng->out[0]);        /* outputs keep their positions */
    ck_assert_ptr_eq(g->outputs[1], keep->out[0]);
    tg_expect_ok(graph_verify(g, "simplify", &d), &d);
    graph_free(g);
}
END_TEST

/* Regression (fixed): simplify treats the mask as unused (no node reads it) and removes the Dropout,
 * so the verifier reports an internal error. */
/* A Dropout whose mask is itself a graph output: either the mask is computed (all true in
 * inference) or the compile fails with a message about the model, not an internal error
 * from the verifier. */
START_TEST(dropout_mask_as_graph_output)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 5);
    Node *dm = TG_NODE(g, OP_DROPOUT, "dm", 2, x);
    Node *r = TG_NODE(g, OP_RELU, "r", 1, dm->out[0]);
    tg_output(g, r->out[0]);
    tg_output(g, dm->out[1]);
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d), &d);
    PipelineOptions o = { .level = 2 };
    Schedule *s = NULL;
    bool ok = pipeline_run(g, &o, &d) && (s = schedule_lower(g, &d)) != NULL;
    schedule_free(s);
    if (!ok) {
        ck_assert_msg(strstr(d.msg, "internal error") == NULL, "%s", d.msg);
    } else {
        float in[5] = { 1, -2, 3, -4, 5 }, *pin = in;
        float **out = tg_run(g, &pin);
        ck_assert_mem_eq(out[1], ((const uint8_t[]){ 1, 1, 1, 1, 1 }), 5);
        tg_free_outputs(out, 2);
    }
    graph_free(g);
}
END_TEST

/* r = Relu(x) is output 0, Identity(r) output 1: after simplify both outputs still get r's
 * values (the repeated output becomes a copy in lowering). */
START_TEST(simplify_output_behind_identity)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 9);
    Node *r = TG_NODE(g, OP_RELU, "r", 1, x);
    Node *y = TG_NODE(g, OP_IDENTITY, "y", 1, r->out[0]);
    tg_output(g, r->out[0]);
    tg_output(g, y->out[0]);
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d), &d);
    PipelineOptions o = { .level = 2 };
    tg_expect_ok(pipeline_run(g, &o, &d), &d);
    ck_assert_int_eq(g->noutputs, 2);
    /* Regression (fixed): simplify points output 1 at 'r', so PREFIX_output_shape(1)->name and the
     * generated header report 'r', not the model's output name 'y'. */
    ck_assert_str_eq(g->outputs[1]->name, "y");
    float *in = alloc_uniform(9, 2, -1, 1), want[9];
    for (int i = 0; i < 9; i++)
        want[i] = in[i] > 0 ? in[i] : 0;
    float **out = tg_run(g, &in);
    EXPECT_CLOSE(out[0], want, 9, 0, 0);
    EXPECT_CLOSE(out[1], want, 9, 0, 0);
    tg_free_outputs(out, 2);
    free(in);
    graph_free(g);
}
END_TEST

START_TEST(eliminate_dead_chains)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 6);
    Node *a = TG_NODE(g, OP_RELU, "a", 1, x);
    Node *b = TG_NODE(g, OP_NEG, "b", 1, x);            /* b -> c: read by nobody */
    TG_NODE(g, OP_EXP, "c", 1, b->out[0]);
    Node *sp = TG_NODE(g, OP_SPLIT, "sp", 2, a->out[0]);  /* one of two outputs used */
    Node *e = TG_NODE(g, OP_ABS, "e", 1, sp->out[1]);
    tg_output(g, e->out[0]);
    tg_output(g, a->out[0]);                            /* also read by sp */
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d) && graph_infer_shapes(g, &d), &d);
    PassCtx c = { .d = &d };
    ck_assert(pass_eliminate_dead(g, &c));
    ck_assert_int_eq(c.count, 2);
    ck_assert_int_eq(g->nnodes, 3);
    ck_assert_int_eq(tg_count_op(g, OP_NEG) + tg_count_op(g, OP_EXP), 0);
    ck_assert(!pass_eliminate_dead(g, &c));             /* a fixed point */
    tg_expect_ok(graph_verify(g, "eliminate_dead", &d), &d);
    graph_free(g);
}
END_TEST

/* ---- plan_memory ----------------------------------------------------------------------------- */
/* A random DAG of 1-D tensors of varied lengths: Relu, Add of equal lengths, Concat and
 * Slice, with several graph outputs. */
static Graph *random_dag(uint64_t seed)
{
    Lcg r;
    lcg_seed(&r, seed);
    Graph *g = tg_new(13);
    Value *v[64];
    int nv = 0;
    v[nv++] = TG_INPUT(g, "x0", 64);
    v[nv++] = TG_INPUT(g, "x1", 24);
    v[nv++] = tg_const(g, "w", 1, TG_DIMS(64), NULL, seed, -1, 1);
    for (int i = 0; nv < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%d", i);
        Value *a = v[lcg_u32(&r) % nv], *b = v[lcg_u32(&r) % nv];
        int64_t la = a->dims[0], lb = b->dims[0];
        Node *n;
        switch (lcg_u32(&r) % 4) {
        case 0: n = TG_NODE(g, OP_RELU, name, 1, a); break;
        case 1:
            if (la != lb)
                continue;
            n = TG_NODE(g, OP_ADD, name, 1, a, b);
            break;
        case 2:
            if (la + lb > 400)
                continue;
            n = TG_NODE(g, OP_CONCAT, name, 1, a, b);
            tg_attr_i(g, n, "axis", 0);
            break;
        default: {
            char s0[40], s1[40];
            snprintf(s0, sizeof s0, "%s.start", name);
            snprintf(s1, sizeof s1, "%s.end", name);
            int64_t st = (int64_t)(lcg_u32(&r) % (uint32_t)(la / 2 + 1));
            n = TG_NODE(g, OP_SLICE, name, 1, a, tg_const_i64(g, s0, 1, TG_DIMS(1), &st),
                        tg_const_i64(g, s1, 1, TG_DIMS(1), TG_DIMS(la)));
        }
        }
        Diag d = {0};
        tg_expect_ok(node_decode_attrs(n, &d) && node_infer(n, &d), &d);
        v[nv++] = n->out[0];
    }
    for (int i = nv - 1; i >= nv - 3; i--)
        tg_output(g, v[i]);
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d) && graph_infer_shapes(g, &d), &d);
    return g;
}

typedef struct {
    const Schedule *s;
    float *const *in, *const *out;
    unsigned char *arena;
    void **own;                 /* by value id, for the unplanned run; NULL in the planned */
} Buffers;

static void *buffer_of(void *ctx, Value *v)
{
    Buffers *b = ctx;
    if (v->kind == VAL_CONSTANT)
        return v->data;
    if (b->own) {               /* unplanned: inputs, then a private buffer per value */
        for (int i = 0; i < b->s->g->ninputs; i++)
            if (b->s->g->inputs[i] == v)
                return b->in[i];
        if (!b->own[v->id])
            b->own[v->id] = calloc(1, value_bytes(v) + 1);
        return b->own[v->id];
    }
    const Storage *w = &b->s->where[v->id];
    switch (w->kind) {
    case STORE_INPUT:  return b->in[w->index];
    case STORE_OUTPUT: return b->out[w->index];
    case STORE_ARENA:  return b->arena + w->offset;
    default:           ck_abort_msg("value '%s' has no storage", v->name);
    }
    return NULL;
}

/* Memory planning may share bytes (in-place element-wise ops, concat slots: from -O1, when
 * share_buffers is set), so the oracle
 * is behavioural: the schedule runs once with a private buffer per value, then, planned,
 * in one arena; after every planned step each arena value that a later step still reads
 * must hold exactly its unplanned bytes. Static checks: weights and workspaces 64-byte
 * aligned, a tensor is either 64-byte aligned or lies inside another tensor (a concat
 * slot), everything fits, and the arena is within [lower bound, naive sum]. */
static void check_plan(Graph *g, float *const *in, bool share)
{
    Diag d = {0};
    Schedule *s = schedule_lower(g, &d);
    tg_expect_ok(s != NULL, &d);
    s->share_buffers = share;
    int nv = g->nvalues;
    size_t ws_max = 1;
    for (int i = 0; i < s->nsteps; i++)
        ws_max = s->steps[i].ws_bytes > ws_max ? s->steps[i].ws_bytes : ws_max;
    void *ws = malloc(ws_max), **own = calloc((size_t)nv, sizeof *own);
    Buffers ref = { s, in, NULL, NULL, own };
    interp_run_steps(s, 0, s->nsteps, buffer_of, &ref, ws);
    tg_expect_ok(plan_memory(s, &d), &d);
    int *first = malloc(sizeof(int) * (size_t)nv), *last = malloc(sizeof(int) * (size_t)nv);
    for (int i = 0; i < nv; i++)
        first[i] = last[i] = -1;
    for (int i = 0; i < s->nsteps; i++) {
        const Step *st = &s->steps[i];
        ck_assert_msg(!st->ws_bytes || st->ws_offset % 64 == 0, "workspace of step %d", i);
        ck_assert_uint_le(st->ws_offset + st->ws_bytes, s->arena_bytes);
        for (int j = 0; j < st->nt; j++) {
            if (!st->t[j] || j == st->ws_slot || s->where[st->t[j]->id].kind != STORE_ARENA)
                continue;
            int id = st->t[j]->id;
            first[id] = first[id] < 0 ? i : first[id];
            last[id] = i;
        }
    }
    for (int a = 0; a < nv; a++) {
        if (first[a] < 0)
            continue;
        size_t oa = s->where[a].offset, na = value_bytes(g->values[a]);
        bool inside = false;
        for (int b = 0; b < nv && oa % 64; b++) {
            size_t ob = s->where[b].offset, nb = value_bytes(g->values[b]);
            inside |= b != a && s->where[b].kind == STORE_ARENA && ob <= oa &&
                      oa + na <= ob + nb;
        }
        ck_assert_msg(oa % 64 == 0 || inside, "'%s' at offset %zu", g->values[a]->name, oa);
        ck_assert_uint_le(oa + na, s->arena_bytes);
    }
    for (int i = 0; i < s->nweights; i++)
        ck_assert_uint_eq(s->where[s->weights[i]->id].offset % 64, 0);
    ck_assert_uint_ge(s->arena_bytes, s->arena_lower_bound);
    ck_assert_uint_le(s->arena_bytes, s->arena_naive);
    unsigned char *arena = aligned_alloc(64, (s->arena_bytes + 64) & ~(size_t)63);
    memset(arena, 0xff, s->arena_bytes);
    float **got = calloc((size_t)g->noutputs, sizeof *got);
    for (int i = 0; i < g->noutputs; i++)
        got[i] = malloc(value_bytes(g->outputs[i]) + 4);
    Buffers planned = { s, in, got, arena, NULL };
    for (int i = 0; i < s->nsteps; i++) {
        interp_run_steps(s, i, i + 1, buffer_of, &planned, arena + s->steps[i].ws_offset);
        for (int a = 0; a < nv; a++)
            if (first[a] >= 0 && first[a] <= i && i < last[a])
                ck_assert_msg(memcmp(arena + s->where[a].offset, own[a],
                                     value_bytes(g->values[a])) == 0,
                              "'%s' is overwritten by step %d (%s) before step %d reads it",
                              g->values[a]->name, i, rt_kernel_names[s->steps[i].kernel],
                              last[a]);
    }
    for (int i = 0; i < g->noutputs; i++)
        ck_assert_mem_eq(got[i], own[g->outputs[i]->id], value_bytes(g->outputs[i]));
    for (int i = 0; i < nv; i++)
        free(own[i]);
    tg_free_outputs(got, g->noutputs);
    free(own); free(ws); free(arena); free(first); free(last);
    schedule_free(s);
}

/* Iteration: seed * 2 + whether buffers may be shared. */
START_TEST(plan_memory_random_dags)
{
    Graph *g = random_dag(1000 + (uint64_t)(_i / 2));
    float *in[2] = { alloc_uniform(64, 3, -1, 1), alloc_uniform(24, 4, -1, 1) };
    check_plan(g, in, _i % 2);
    free(in[0]);
    free(in[1]);
    graph_free(g);
}
END_TEST

/* ---- equivalence ----------------------------------------------------------------------------- */
/* A small CNN that gives every pass something to do: Pad before Conv, Conv+BN+Relu,
 * depthwise Conv+BN+Clip, a residual Add+Relu, Identity, MaxPool+BN, x*Sigmoid(x),
 * AveragePool, Dropout, flatten (torch's Shape chain or Flatten), MatMul+Add, BN on a
 * matrix, LeakyRelu, Gemm with transB, a Transpose pair, a constant subgraph, Softmax.
 * Outputs: the softmax [2,10] and the residual block's output [2,8,10,10]. */
static Graph *small_cnn(bool shape_chain)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 2, 3, 10, 10);
    Node *pad = TG_NODE(g, OP_PAD, "pad", 1, x, tg_const_i64(g, "pads", 1, TG_DIMS(8),
                                                               TG_DIMS(0, 0, 1, 1, 0, 0, 1, 1)));
    Node *c1 = TG_NODE(g, OP_CONV, "c1", 1, pad->out[0],
                       tg_const(g, "w1", 4, TG_DIMS(8, 3, 3, 3), NULL, 11, -0.4f, 0.4f),
                       tg_const(g, "b1", 1, TG_DIMS(8), NULL, 12, -0.2f, 0.2f));
    Value *bnp[4][4];
    for (int k = 0; k < 4; k++) {
        int64_t ch = k == 2 ? 16 : 8;
        for (int j = 0; j < 4; j++) {
            char name[32];
            snprintf(name, sizeof name, "bn%d.%d", k, j);
            bnp[k][j] = tg_const(g, name, 1, &ch, NULL, (uint64_t)(20 + 4 * k + j),
                                 j == 3 ? 0.5f : j == 0 ? 0.5f : -0.5f, j == 3 ? 2 : 1.5f);
        }
    }
    Node *bn1 = TG_NODE(g, OP_BATCHNORM, "bn1", 1, c1->out[0], bnp[0][0], bnp[0][1],
                        bnp[0][2], bnp[0][3]);
    Node *r1 = TG_NODE(g, OP_RELU, "r1", 1, bn1->out[0]);
    Node *dw = TG_NODE(g, OP_CONV, "dw", 1, r1->out[0],
                       tg_const(g, "wdw", 4, TG_DIMS(8, 1, 3, 3), NULL, 13, -0.5f, 0.5f));
    tg_attr_i(g, dw, "group", 8);
    TG_INTS(g, dw, "pads", 1, 1, 1, 1);
    Node *bn2 = TG_NODE(g, OP_BATCHNORM, "bn2", 1, dw->out[0], bnp[1][0], bnp[1][1],
                        bnp[1][2], bnp[1][3]);
    Node *clip = TG_NODE(g, OP_CLIP, "relu6", 1, bn2->out[0],
                         tg_const(g, "lo", 0, NULL, (const float[]){ 0 }, 0, 0, 0),
                         tg_const(g, "hi", 0, NULL, (const float[]){ 6 }, 0, 0, 0));
    Node *pw = TG_NODE(g, OP_CONV, "pw", 1, clip->out[0],
                       tg_const(g, "wpw", 4, TG_DIMS(8, 8, 1, 1), NULL, 14, -0.5f, 0.5f));
    Node *add = TG_NODE(g, OP_ADD, "res", 1, pw->out[0], r1->out[0]);
    Node *r2 = TG_NODE(g, OP_RELU, "r2", 1, add->out[0]);
    Node *id = TG_NODE(g, OP_IDENTITY, "id", 1, r2->out[0]);
    Node *mp = TG_NODE(g, OP_MAXPOOL, "mp", 1, id->out[0]);
    TG_INTS(g, mp, "kernel_shape", 2, 2);
    TG_INTS(g, mp, "strides", 2, 2);
    Node *bn4 = TG_NODE(g, OP_BATCHNORM, "bn4", 1, mp->out[0], bnp[3][0], bnp[3][1],
                        bnp[3][2], bnp[3][3]);       /* after a pool: cannot fold */
    Node *sg = TG_NODE(g, OP_SIGMOID, "sig", 1, bn4->out[0]);
    Node *silu = TG_NODE(g, OP_MUL, "silu", 1, bn4->out[0], sg->out[0]);
    Node *ap = TG_NODE(g, OP_AVGPOOL, "ap", 1, silu->out[0]);
    TG_INTS(g, ap, "kernel_shape", 3, 3);
    TG_INTS(g, ap, "pads", 1, 1, 1, 1);
    Node *drop = TG_NODE(g, OP_DROPOUT, "drop", 1, ap->out[0]);
    Value *flat;
    if (shape_chain) {
        Node *sh = TG_NODE(g, OP_SHAPE, "shape", 1, drop->out[0]);
        Node *ga = TG_NODE(g, OP_GATHER, "gather", 1, sh->out[0],
                           tg_const_i64(g, "zero", 0, NULL, TG_DIMS(0)));
        Node *us = TG_NODE(g, OP_UNSQUEEZE, "unsq", 1, ga->out[0],
                           tg_const_i64(g, "axes", 1, TG_DIMS(1), TG_DIMS(0)));
        Node *cat = TG_NODE(g, OP_CONCAT, "cat", 1, us->out[0],
                            tg_const_i64(g, "minus1", 1, TG_DIMS(1), TG_DIMS(-1)));
        tg_attr_i(g, cat, "axis", 0);
        flat = TG_NODE(g, OP_RESHAPE, "flat", 1, drop->out[0], cat->out[0])->out[0];
    } else {
        flat = TG_NODE(g, OP_FLATTEN, "flat", 1, drop->out[0])->out[0];
    }
    Node *mm = TG_NODE(g, OP_MATMUL, "mm", 1, flat,
                       tg_const(g, "wm", 2, TG_DIMS(200, 16), NULL, 15, -0.2f, 0.2f));
    Node *mb = TG_NODE(g, OP_ADD, "mb", 1, mm->out[0],
                       tg_const(g, "bm", 1, TG_DIMS(16), NULL, 16, -0.5f, 0.5f));
    Node *bn3 = TG_NODE(g, OP_BATCHNORM, "bn3", 1, mb->out[0], bnp[2][0], bnp[2][1],
                        bnp[2][2], bnp[2][3]);
    Node *lr = TG_NODE(g, OP_LEAKYRELU, "lrelu", 1, bn3->out[0]);
    tg_attr_f(g, lr, "alpha", 0.1f);
    Node *fc = TG_NODE(g, OP_GEMM, "fc", 1, lr->out[0],
                       tg_const(g, "wfc", 2, TG_DIMS(10, 16), NULL, 17, -0.5f, 0.5f),
                       tg_const(g, "bfc", 1, TG_DIMS(10), NULL, 18, -0.5f, 0.5f));
    tg_attr_i(g, fc, "transB", 1);
    Node *t1 = TG_NODE(g, OP_TRANSPOSE, "t1", 1, fc->out[0]);
    Node *t2 = TG_NODE(g, OP_TRANSPOSE, "t2", 1, t1->out[0]);
    Node *kc = TG_NODE(g, OP_MUL, "kc", 1, tg_const(g, "ka", 1, TG_DIMS(10), NULL, 19, 0, 1),
                       tg_const(g, "kb", 1, TG_DIMS(10), NULL, 20, 0, 1));
    Node *sum = TG_NODE(g, OP_ADD, "sum", 1, t2->out[0], kc->out[0]);
    Node *sm = TG_NODE(g, OP_SOFTMAX, "sm", 1, sum->out[0]);
    tg_output(g, sm->out[0]);
    tg_output(g, r2->out[0]);
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d), &d);
    return g;
}

/* Iteration: 0 -O1 and 1 -O2 against shape inference alone, 2 -O2 against -O0 with torch's
 * Shape chain (which cannot run without folding). */
START_TEST(pipeline_preserves_outputs)
{
    int level = _i == 0 ? 1 : 2;
    bool chain = _i == 2;
    Graph *ref = small_cnn(chain), *opt = small_cnn(chain);
    Diag d = {0};
    PipelineOptions o0 = { .level = 0 }, o = { .level = level };
    tg_expect_ok(chain ? pipeline_run(ref, &o0, &d) : graph_infer_shapes(ref, &d), &d);
    tg_expect_ok(pipeline_run(opt, &o, &d), &d);
    float *in = alloc_uniform(2 * 3 * 10 * 10, 5, -2, 2);
    float **want = tg_run(ref, &in), **got = tg_run(opt, &in);
    EXPECT_CLOSE(got[0], want[0], 20, 1e-5, 1e-6);
    EXPECT_CLOSE(got[1], want[1], 1600, 1e-5, 1e-6);
    /* the passes did their work: no Pad, Identity or Transpose pair is left; the two
     * BatchNorms after a Conv fold away, the other two become channel affines at most */
    ck_assert_int_eq(tg_count_op(opt, OP_BATCHNORM) + tg_count_op(opt, OP_PAD), 0);
    ck_assert_int_le(tg_count_op(opt, OP_CHANNELAFFINE), 2);
    ck_assert_int_eq(tg_count_op(opt, OP_IDENTITY) + tg_count_op(opt, OP_TRANSPOSE), 0);
    ck_assert_int_lt(opt->nnodes, ref->nnodes);
    tg_free_outputs(want, ref->noutputs);
    tg_free_outputs(got, opt->noutputs);
    for (int share = 0; share < 2; share++) {   /* a fresh copy: lowering adds values */
        Graph *g = small_cnn(chain);
        tg_expect_ok(pipeline_run(g, &o, &d), &d);
        check_plan(g, &in, share);
        graph_free(g);
    }
    free(in);
    graph_free(ref);
    graph_free(opt);
}
END_TEST

/* Small graphs where one pass has a decision to make; each is built twice and the -O2
 * result must equal the unoptimized one (shape inference only). */
static Graph *pad_avgpool(int64_t pad, int64_t k, int ceil)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 2, 4, 4);
    Node *pd = TG_NODE(g, OP_PAD, "pad", 1, x, tg_const_i64(g, "pads", 1, TG_DIMS(8),
                                                              TG_DIMS(0, 0, 0, 0, 0, 0, pad, pad)));
    Node *ap = TG_NODE(g, OP_AVGPOOL, "ap", 1, pd->out[0]);
    TG_INTS(g, ap, "kernel_shape", k, k);
    TG_INTS(g, ap, "strides", 2, 2);
    tg_attr_i(g, ap, "ceil_mode", ceil);
    tg_attr_i(g, ap, "count_include_pad", 1);
    tg_output(g, ap->out[0]);
    return g;
}

static Graph *pad_avgpool_fits(void) { return pad_avgpool(1, 3, 0); }
/* Regression (fixed): the folded end pad changes ceil_mode's output size (a window may start in an
 * explicitly padded input, not in the pool's own end padding): 3x3 becomes 2x2. */
static Graph *pad_avgpool_ceil(void) { return pad_avgpool(1, 2, 1); }
/* Regression (fixed): fold_pad makes the pool's pads (2) as large as its window (2), which shape
 * inference then refuses: -O2 fails on a model -O0 compiles. */
static Graph *pad_avgpool_wide(void) { return pad_avgpool(2, 2, 0); }

/* A depthwise Conv whose output is added to the tensor it read: -O2 fuses the Add into the
 * depthwise Conv as a residual. */
static Graph *depthwise_residual(void)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 4, 6, 6);
    Node *c0 = TG_NODE(g, OP_CONV, "c0", 1, x,
                       tg_const(g, "w0", 4, TG_DIMS(4, 4, 1, 1), NULL, 31, -1, 1));
    Node *r = TG_NODE(g, OP_RELU, "r", 1, c0->out[0]);
    Node *dw = TG_NODE(g, OP_CONV, "dw", 1, r->out[0],
                       tg_const(g, "wdw", 4, TG_DIMS(4, 1, 3, 3), NULL, 32, -1, 1),
                       tg_const(g, "bdw", 1, TG_DIMS(4), NULL, 33, -1, 1));
    tg_attr_i(g, dw, "group", 4);
    TG_INTS(g, dw, "pads", 1, 1, 1, 1);
    Node *add = TG_NODE(g, OP_ADD, "add", 1, dw->out[0], r->out[0]);
    tg_output(g, add->out[0]);
    return g;
}

typedef Graph *(*Builder)(void);
static const struct { const char *what; Builder build; } level_cases[] = {
    { "Pad folded into AveragePool", pad_avgpool_fits },
    { "Pad folded into a ceil_mode AveragePool", pad_avgpool_ceil },
    { "Pad as wide as the AveragePool window", pad_avgpool_wide },
    { "residual Add fused into a depthwise Conv", depthwise_residual },
};

START_TEST(optimized_equals_unoptimized)
{
    Graph *ref = level_cases[_i].build(), *opt = level_cases[_i].build();
    Diag d = {0};
    PipelineOptions o = { .level = 2 };
    tg_expect_ok(tg_finish(ref, &d) && graph_infer_shapes(ref, &d), &d);
    tg_expect_ok(tg_finish(opt, &d), &d);
    ck_assert_msg(pipeline_run(opt, &o, &d), "%s: %s", level_cases[_i].what, d.msg);
    Value *yr = ref->outputs[0], *yo = opt->outputs[0];
    ck_assert_msg(value_same_shape(yr, yo), "%s: output shape changed", level_cases[_i].what);
    float *in = alloc_uniform((size_t)value_numel(ref->inputs[0]), 7, -1, 1);
    float **want = tg_run(ref, &in), **got = tg_run(opt, &in);
    EXPECT_CLOSE(got[0], want[0], (size_t)value_numel(yr), 1e-5, 1e-6);
    tg_free_outputs(want, 1);
    tg_free_outputs(got, 1);
    free(in);
    graph_free(ref);
    graph_free(opt);
}
END_TEST

/* --disable-pass: a pass can be skipped by name, fold_shapes only in name (nothing runs
 * without it), and an unknown name is an error rather than silently ignored. */
START_TEST(pipeline_disabled_passes)
{
    Diag d = {0};
    Graph *g = small_cnn(false);
    PipelineOptions o = { .level = 2, .disabled = { "simplify" }, .ndisabled = 1 };
    tg_expect_ok(pipeline_run(g, &o, &d), &d);
    ck_assert_int_eq(tg_count_op(g, OP_IDENTITY), 1);
    graph_free(g);
    g = small_cnn(true);
    o.disabled[0] = "fold_shapes";
    tg_expect_ok(pipeline_run(g, &o, &d), &d);
    ck_assert_int_eq(tg_count_op(g, OP_SHAPE), 0);
    graph_free(g);
    g = small_cnn(false);
    o.disabled[0] = "nope";
    ck_assert(!pipeline_run(g, &o, &d));
    EXPECT_CONTAINS(d.msg, "no pass is called 'nope'");
    graph_free(g);
}
END_TEST

/* ---- interp against hand-computed numbers ---------------------------------------------------- */
/* x = 1..9 (3x3), w = [[1,2],[3,4]], bias 0.5. Valid, stride 1: 1+4+12+20+0.5 = 37.5, ...
 * Pads 1, stride 2: corner windows see one to four pixels: 1*4+0.5, 2*3+3*4+0.5, ... */
START_TEST(interp_tiny_conv_by_hand)
{
    static const float want[2][4] = { { 37.5f, 47.5f, 67.5f, 77.5f },
                                      { 4.5f, 18.5f, 36.5f, 77.5f } };
    for (int k = 0; k < 2; k++) {
        Graph *g = tg_new(13);
        Value *x = TG_INPUT(g, "x", 1, 1, 3, 3);
        Node *c = TG_NODE(g, OP_CONV, "conv", 1, x,
                          tg_const(g, "w", 4, TG_DIMS(1, 1, 2, 2), (const float[]){ 1, 2, 3, 4 },
                                   0, 0, 0),
                          tg_const(g, "b", 1, TG_DIMS(1), (const float[]){ 0.5f }, 0, 0, 0));
        if (k) {
            TG_INTS(g, c, "pads", 1, 1, 1, 1);
            TG_INTS(g, c, "strides", 2, 2);
        }
        tg_output(g, c->out[0]);
        Diag d = {0};
        tg_expect_ok(tg_finish(g, &d) && graph_infer_shapes(g, &d), &d);
        float in[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, *pin = in;
        float **out = tg_run(g, &pin);
        EXPECT_CLOSE(out[0], want[k], 4, 0, 0);
        tg_free_outputs(out, 1);
        graph_free(g);
    }
}
END_TEST

static Suite *passes_suite(void)
{
    Suite *s = suite_create("passes");
    TCase *tc = tcase_create("passes");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, fold_shape_chain_into_reshape);
    tcase_add_test(tc, fold_float_constant_subgraph);
    tcase_add_test(tc, simplify_removes_identity_and_dropout);
    tcase_add_test(tc, simplify_output_behind_identity);
    tcase_add_test(tc, dropout_mask_as_graph_output);
    tcase_add_test(tc, eliminate_dead_chains);
    tcase_add_loop_test(tc, plan_memory_random_dags, 0, 2 * 40);
    tcase_add_loop_test(tc, pipeline_preserves_outputs, 0, 3);
    tcase_add_loop_test(tc, optimized_equals_unoptimized, 0,
                        (int)(sizeof level_cases / sizeof level_cases[0]));
    tcase_add_test(tc, pipeline_disabled_passes);
    tcase_add_test(tc, interp_tiny_conv_by_hand);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *s = passes_suite();
    return run_suites(&s, 1);
}
