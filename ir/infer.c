/* Shape inference driver and the checks every op's rule shares. Runs over the nodes in
 * topological order; an op whose output shape depends on an input's value (Reshape, Slice,
 * Pad, ...) needs that input constant by then, which constant folding arranges. */
#include <string.h>
#include "infer.h"

bool set_shape(Node *n, Value *v, DType dt, int rank, const int64_t *dims, Diag *d)
{
    int64_t count = 1;
    if (!v)
        return true;            /* an optional output nobody asked for */
    if (rank < 0 || rank > CNNC_MAX_RANK)
        return diag_node(d, n, "output rank %d is more than the %d supported", rank,
                         CNNC_MAX_RANK);
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || dims[i] > CNNC_MAX_DIM)
            return diag_node(d, n, "output dimension %d is %lld, out of range", i,
                             (long long)dims[i]);
        if (dims[i] && count > CNNC_MAX_ELEMS / dims[i])
            return diag_node(d, n, "output '%s' would have more than %lld elements", v->name,
                             (long long)CNNC_MAX_ELEMS);
        count *= dims[i];
    }
    v->dtype = dt;
    v->rank = rank;
    memmove(v->dims, dims, sizeof(int64_t) * (size_t)rank);
    return true;
}

bool need_rank(Node *n, const Value *v, int rank, const char *what, Diag *d)
{
    if (v->rank != rank)
        return diag_node(d, n, "%s '%s' must have rank %d, it has rank %d", what, v->name,
                         rank, v->rank);
    return true;
}

bool need_f32(Node *n, const Value *v, const char *what, Diag *d)
{
    if (v->dtype != DT_F32)
        return diag_node(d, n, "%s '%s' is %s; only float32 is supported here", what,
                         v->name, dtype_name(v->dtype));
    return true;
}

bool need_const(Node *n, const Value *v, const char *what, Diag *d)
{
    if (!v || v->kind != VAL_CONSTANT)
        return diag_node(d, n, "%s '%s' must be known at compile time (a constant or "
                         "computable from shapes)", what, v ? v->name : "");
    return true;
}

bool norm_axis(Node *n, int64_t axis, int rank, int64_t *out, Diag *d)
{
    if (axis < -rank || axis >= rank)
        return diag_node(d, n, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return true;
}

bool broadcast_dims(Node *n, const Value *a, const Value *b, int *rank, int64_t *dims, Diag *d)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char sa[128], sb[128];
            return diag_node(d, n, "shapes %s and %s do not broadcast",
                             value_shape_str(a, sa, sizeof sa), value_shape_str(b, sb, sizeof sb));
        }
        dims[i] = da == 1 ? db : da;
    }
    *rank = r;
    return true;
}

bool node_infer(Node *n, Diag *d)
{
    const OpInfo *info = &op_info[n->op];
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && n->in[i]->rank < 0)
            return diag_node(d, n, "input '%s' has no known shape", n->in[i]->name);
    if (n->nin < info->min_in)
        return diag_node(d, n, "needs at least %d inputs, has %d", info->min_in, n->nin);
    for (int i = 0; i < info->min_in; i++)
        if (!n->in[i])          /* an empty name where the op requires a tensor */
            return diag_node(d, n, "input %d is required but not given", i);
    int r = infer_nn(n, d);
    if (r < 0)
        r = infer_tensor(n, d);
    if (r < 0)
        r = infer_ext(n, d);
    if (r < 0)
        return diag_node(d, n, "no shape rule for this op");
    return r == 1;
}

bool graph_infer_shapes(Graph *g, Diag *d)
{
    for (int i = 0; i < g->nnodes; i++)
        if (!g->nodes[i]->dead && !node_infer(g->nodes[i], d))
            return false;
    return true;
}
