/* Test graphs: see build.h. Allocation failures abort the test (ck_assert): a test graph
 * is a handful of values. */
#include <check.h>
#include <string.h>
#include <stdlib.h>
#include "backend/schedule.h"
#include "build.h"
#include "util.h"

#define TG_MAX_ATTRS 16

Graph *tg_new(int opset)
{
    Graph *g = graph_new("test.onnx");
    ck_assert_ptr_nonnull(g);
    g->opset = opset;
    g->inputs = ARENA_ARRAY(&g->arena, Value *, TG_MAX_IO);
    g->outputs = ARENA_ARRAY(&g->arena, Value *, TG_MAX_IO);
    ck_assert(g->inputs && g->outputs);
    return g;
}

Value *tg_input(Graph *g, const char *name, int rank, const int64_t *dims)
{
    Value *v = graph_add_value(g, name);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_lt(g->ninputs, TG_MAX_IO);
    v->kind = VAL_INPUT;
    v->dtype = DT_F32;
    v->rank = rank;
    memcpy(v->dims, dims, sizeof(int64_t) * (size_t)rank);
    g->inputs[g->ninputs++] = v;
    return v;
}

Value *tg_const(Graph *g, const char *name, int rank, const int64_t *dims, const float *data,
                uint64_t seed, float lo, float hi)
{
    Value *v = graph_add_constant(g, name, DT_F32, rank, dims);
    ck_assert_ptr_nonnull(v);
    if (data)
        memcpy(v->data, data, value_bytes(v));
    else
        fill_uniform(v->data, (size_t)value_numel(v), seed, lo, hi);
    return v;
}

Value *tg_const_i64(Graph *g, const char *name, int rank, const int64_t *dims,
                    const int64_t *vals)
{
    Value *v = graph_add_constant(g, name, DT_I64, rank, dims);
    ck_assert_ptr_nonnull(v);
    memcpy(v->data, vals, value_bytes(v));
    return v;
}

Node *tg_node(Graph *g, OpKind op, const char *name, int nin, Value *const *in, int nout)
{
    Node *n = graph_add_node(g, op, name, nin, nout);
    ck_assert_ptr_nonnull(n);
    n->attrs = ARENA_ARRAY(&g->arena, Attr, TG_MAX_ATTRS);
    ck_assert_ptr_nonnull(n->attrs);
    for (int i = 0; i < nin; i++)
        n->in[i] = in[i];
    for (int i = 0; i < nout; i++) {
        char oname[256];
        snprintf(oname, sizeof oname, nout == 1 ? "%s" : "%s:%d", name, i);
        Value *v = graph_add_value(g, oname);
        ck_assert_ptr_nonnull(v);
        v->producer = n;
        n->out[i] = v;
    }
    return n;
}

void tg_output(Graph *g, Value *v)
{
    ck_assert_int_lt(g->noutputs, TG_MAX_IO);
    g->outputs[g->noutputs++] = v;
}

static Attr *new_attr(Graph *g, Node *n, const char *name, AttrKind kind)
{
    ck_assert_int_lt(n->nattrs, TG_MAX_ATTRS);
    Attr *a = &n->attrs[n->nattrs++];
    memset(a, 0, sizeof *a);
    a->name = arena_strdup(&g->arena, name);
    a->kind = kind;
    return a;
}

void tg_attr_i(Graph *g, Node *n, const char *name, int64_t v)
{
    new_attr(g, n, name, ATTR_INT)->i = v;
}

void tg_attr_f(Graph *g, Node *n, const char *name, float v)
{
    new_attr(g, n, name, ATTR_FLOAT)->f = v;
}

void tg_attr_s(Graph *g, Node *n, const char *name, const char *v)
{
    new_attr(g, n, name, ATTR_STRING)->s = arena_strdup(&g->arena, v);
}

void tg_attr_ints(Graph *g, Node *n, const char *name, int count, const int64_t *v)
{
    Attr *a = new_attr(g, n, name, ATTR_INTS);
    int64_t *copy = ARENA_ARRAY(&g->arena, int64_t, count > 0 ? count : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, v, sizeof(int64_t) * (size_t)count);
    a->ints = copy;
    a->n = count;
}

bool tg_finish(Graph *g, Diag *d)
{
    for (int i = 0; i < g->nnodes; i++)
        if (!node_decode_attrs(g->nodes[i], d))
            return false;
    graph_count_users(g);
    return graph_sort(g, d);
}

void tg_expect_ok(bool ok, const Diag *d)
{
    ck_assert_msg(ok, "%s", d->msg);
}

int tg_count_op(const Graph *g, OpKind op)
{
    int k = 0;
    for (int i = 0; i < g->nnodes; i++)
        k += g->nodes[i]->op == op;
    return k;
}

float **tg_run(Graph *g, float *const *in)
{
    Diag d = {0};
    float **out = calloc((size_t)g->noutputs, sizeof *out);
    for (int i = 0; i < g->noutputs; i++)
        out[i] = malloc(value_bytes(g->outputs[i]) + 4);
    tg_expect_ok(interp_run_graph(g, (const float *const *)in, out, &d), &d);
    return out;
}

void tg_free_outputs(float **out, int n)
{
    for (int i = 0; i < n; i++)
        free(out[i]);
    free(out);
}
