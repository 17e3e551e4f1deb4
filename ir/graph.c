/* Graph construction and queries: values, nodes, use lists, topological order. */
#include <stdlib.h>
#include <string.h>
#include "ir.h"

const OpInfo op_info[OP_COUNT] = {
#define OP(id, onnx, lo, hi, olo, ohi, v0, v1, fl) { onnx, lo, hi, olo, ohi, v0, v1, fl },
#include "ops.def"
#undef OP
};

bool op_lookup(const char *onnx_name, OpKind *out)
{
    for (int i = 0; i < OP_COUNT; i++)
        if (!(op_info[i].flags & OPF_INTERNAL) && strcmp(op_info[i].onnx, onnx_name) == 0) {
            *out = (OpKind)i;
            return true;
        }
    return false;
}

const char *dtype_name(DType t)
{
    switch (t) {
    case DT_F32:   return "f32";
    case DT_I64:   return "i64";
    case DT_BOOL:  return "bool";
    case DT_UNDEF: break;
    }
    return "?";
}

size_t dtype_size(DType t)
{
    return t == DT_F32 ? 4 : t == DT_I64 ? 8 : t == DT_BOOL ? 1 : 0;
}

Graph *graph_new(const char *path)
{
    Graph *g = calloc(1, sizeof *g);
    if (g)
        g->path = path;
    return g;
}

void graph_free(Graph *g)
{
    if (!g)
        return;
    free(g->values);
    free(g->nodes);
    arena_release(&g->arena);
    free(g);
}

static bool grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return true;
    int ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

Value *graph_add_value(Graph *g, const char *name)
{
    Value *v = ARENA_NEW(&g->arena, Value);
    if (!v || !grow((void **)&g->values, &g->capvalues, g->nvalues + 1, sizeof(Value *)))
        return NULL;
    v->name = arena_strdup(&g->arena, name ? name : "");
    v->rank = -1;
    v->id = g->nvalues;
    g->values[g->nvalues++] = v;
    return v;
}

Value *graph_add_constant(Graph *g, const char *name, DType dt, int rank, const int64_t *dims)
{
    Value *v = graph_add_value(g, name);
    if (!v)
        return NULL;
    v->kind = VAL_CONSTANT;
    v->dtype = dt;
    v->rank = rank;
    for (int i = 0; i < rank; i++)
        v->dims[i] = dims[i];
    v->data = arena_alloc(&g->arena, value_bytes(v) ? value_bytes(v) : 1);
    return v->data ? v : NULL;
}

Node *graph_add_node(Graph *g, OpKind op, const char *name, int nin, int nout)
{
    Node *n = ARENA_NEW(&g->arena, Node);
    if (!n || !grow((void **)&g->nodes, &g->capnodes, g->nnodes + 1, sizeof(Node *)))
        return NULL;
    n->op = op;
    n->name = arena_strdup(&g->arena, name ? name : "");
    n->opset = g->opset;
    n->nin = nin;
    n->nout = nout;
    n->in = ARENA_ARRAY(&g->arena, Value *, nin > 0 ? nin : 1);
    n->out = ARENA_ARRAY(&g->arena, Value *, nout > 0 ? nout : 1);
    if (!n->in || !n->out)
        return NULL;
    g->nodes[g->nnodes++] = n;
    return n;
}

Value *graph_find_value(Graph *g, const char *name)
{
    for (int i = g->nvalues - 1; i >= 0; i--)
        if (strcmp(g->values[i]->name, name) == 0)
            return g->values[i];
    return NULL;
}

void graph_replace_uses(Graph *g, Value *from, Value *to)
{
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == from)
                n->in[j] = to;
    }
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == from)
            g->outputs[i] = to;
}

void graph_count_users(Graph *g)
{
    for (int i = 0; i < g->nvalues; i++) {
        g->values[i]->nusers = 0;
        g->values[i]->is_output = false;
    }
    for (int i = 0; i < g->nnodes; i++)
        for (int j = 0; j < g->nodes[i]->nin; j++)
            if (g->nodes[i]->in[j])
                g->nodes[i]->in[j]->nusers++;
    for (int i = 0; i < g->noutputs; i++)
        g->outputs[i]->is_output = true;
}

void graph_compact(Graph *g)
{
    int k = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i]->dead)
            g->nodes[k++] = g->nodes[i];
    g->nnodes = k;
    graph_count_users(g);
}

/* Kahn's algorithm, keeping the file's order among ready nodes so output is stable.
 * A node left over is on a cycle. */
bool graph_sort(Graph *g, Diag *d)
{
    int n = g->nnodes, done = 0;
    int *pending = calloc((size_t)n + 1, sizeof(int));
    Node **order = malloc(((size_t)n + 1) * sizeof(Node *));
    bool *placed = calloc((size_t)n + 1, sizeof(bool));
    bool *ready = calloc((size_t)g->nvalues + 1, sizeof(bool));
    bool ok = pending && order && placed && ready;
    if (!ok) {
        diag_error(d, "out of memory sorting %d nodes", n);
        goto out;
    }
    for (int i = 0; i < g->nvalues; i++)
        ready[i] = g->values[i]->producer == NULL;
    while (done < n) {
        int progress = 0;
        for (int i = 0; i < n; i++) {
            Node *nd = g->nodes[i];
            bool can = !placed[i];
            for (int j = 0; can && j < nd->nin; j++)
                can = !nd->in[j] || ready[nd->in[j]->id];
            if (!can)
                continue;
            placed[i] = true;
            order[done++] = nd;
            progress++;
            for (int j = 0; j < nd->nout; j++)
                if (nd->out[j])
                    ready[nd->out[j]->id] = true;
        }
        if (!progress)
            break;
    }
    if (done < n) {
        for (int i = 0; i < n; i++)
            if (!placed[i]) {
                ok = diag_node(d, g->nodes[i], "the graph has a cycle through this node "
                               "(or an input produced by no node)");
                break;
            }
        goto out;
    }
    if (n)
        memcpy(g->nodes, order, (size_t)n * sizeof(Node *));
out:
    free(pending);
    free(order);
    free(placed);
    free(ready);
    return ok;
}

const Attr *node_attr(const Node *n, const char *name)
{
    for (int i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

int64_t value_numel(const Value *v)
{
    int64_t n = 1;
    for (int i = 0; i < v->rank; i++)
        n *= v->dims[i];
    return n;
}

size_t value_bytes(const Value *v)
{
    return (size_t)value_numel(v) * dtype_size(v->dtype);
}

bool value_same_shape(const Value *a, const Value *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

const char *value_shape_str(const Value *v, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = 0;
    if (v->rank < 0) {
        snprintf(buf, size, "?");
        return buf;
    }
    n += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < v->rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? "x%lld" : "%lld", (long long)v->dims[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
    return buf;
}

float value_f32(const Value *v, int64_t i)
{
    switch (v->dtype) {
    case DT_F32:  return ((const float *)v->data)[i];
    case DT_I64:  return (float)((const int64_t *)v->data)[i];
    case DT_BOOL: return (float)((const uint8_t *)v->data)[i];
    case DT_UNDEF: break;
    }
    return 0.0f;
}

int64_t value_i64(const Value *v, int64_t i)
{
    switch (v->dtype) {
    case DT_F32:  return (int64_t)((const float *)v->data)[i];
    case DT_I64:  return ((const int64_t *)v->data)[i];
    case DT_BOOL: return ((const uint8_t *)v->data)[i];
    case DT_UNDEF: break;
    }
    return 0;
}
