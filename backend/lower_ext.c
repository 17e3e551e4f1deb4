/* Lowering of the ops added for the model zoo and the node tests: reductions,
 * LayerNormalization, Expand/Tile, Where, Mean/Sum/Max/Min, Resize/Upsample, ConvTranspose.
 * Comparisons, Not and Range have no run-time kernel: constant folding evaluates them. */
#include <string.h>
#include "schedule.h"

static int64_t prod(const int64_t *dims, int from, int to)
{
    int64_t n = 1;
    for (int i = from; i < to; i++)
        n *= dims[i];
    return n;
}

/* Element strides of v broadcast to rank `rank`: 0 on its axes of length 1. */
static void bcast_strides(const Value *v, int rank, int64_t *out)
{
    int64_t stride = 1;
    for (int i = rank - 1; i >= 0; i--) {
        int iv = i - (rank - v->rank);
        int64_t dim = iv >= 0 ? v->dims[iv] : 1;
        out[i] = dim == 1 ? 0 : stride;
        stride *= dim;
    }
}

static int copy_step(Schedule *s, Node *n, Diag *d)
{
    Step *st = lower_new_step(s, RT_K_COPY, n, 2, 1, d);
    if (!st)
        return 0;
    st->t[0] = n->out[0]; st->t[1] = n->in[0];
    st->p[0] = (int64_t)value_bytes(n->in[0]);
    return 1;
}

static int lower_reduce(Schedule *s, Node *n, Diag *d)
{
    Value *x = n->in[0];
    const ReduceAttr *r = &n->a.reduce;
    int rank = x->rank;
    if (r->n == 0 || rank == 0)
        return copy_step(s, n, d);
    Step *st = lower_new_step(s, RT_K_REDUCE, n, 2, 2 + 2 * rank, d);
    if (!st)
        return 0;
    st->t[0] = n->out[0]; st->t[1] = x;
    st->p[0] = n->op == OP_REDUCEMEAN ? RT_REDUCE_MEAN : n->op == OP_REDUCESUM ? RT_REDUCE_SUM
             : n->op == OP_REDUCEMAX ? RT_REDUCE_MAX : RT_REDUCE_MIN;
    st->p[1] = rank;
    memcpy(st->p + 2, x->dims, sizeof(int64_t) * (size_t)rank);
    for (int i = 0; i < r->n; i++)
        st->p[2 + rank + r->axes[i]] = 1;
    return 1;
}

static int lower_broadcast(Schedule *s, Node *n, Diag *d)
{
    Value *x = n->in[0], *y = n->out[0];
    int rank = y->rank;
    int64_t dims[CNNC_MAX_RANK], str[CNNC_MAX_RANK];
    if (n->op == OP_TILE) {     /* [d0, d1] tiled [r0, r1] = [r0, d0, r1, d1] with 0 strides */
        int64_t xs[CNNC_MAX_RANK];
        if (2 * x->rank > RT_MAX_RANK)
            return diag_node(d, n, "Tile of rank %d is not supported (at most %d)", x->rank,
                             RT_MAX_RANK / 2);
        bcast_strides(x, x->rank, xs);
        for (int i = 0; i < x->rank; i++) {
            dims[2 * i] = y->dims[i] / (x->dims[i] ? x->dims[i] : 1);
            dims[2 * i + 1] = x->dims[i];
            str[2 * i] = 0;
            str[2 * i + 1] = x->dims[i] == 1 ? 0 : xs[i];
        }
        rank = 2 * x->rank;
    } else {
        memcpy(dims, y->dims, sizeof dims);
        bcast_strides(x, rank, str);
    }
    if (rank == 0) {
        dims[0] = 1;
        str[0] = 0;
        rank = 1;
    }
    Step *st = lower_new_step(s, RT_K_BROADCAST, n, 2, 2 + 2 * rank, d);
    if (!st)
        return 0;
    st->t[0] = y; st->t[1] = x;
    st->p[0] = rank;
    st->p[1] = (int64_t)dtype_size(x->dtype);
    memcpy(st->p + 2, dims, sizeof(int64_t) * (size_t)rank);
    memcpy(st->p + 2 + rank, str, sizeof(int64_t) * (size_t)rank);
    return 1;
}

/* Where and the variadic ops: output dims, then each input's broadcast strides. */
static int lower_selection(Schedule *s, Node *n, RtKernelId k, int head, Diag *d)
{
    Value *y = n->out[0];
    int rank = y->rank > 0 ? y->rank : 1;
    int64_t dims[CNNC_MAX_RANK];
    memcpy(dims, y->dims, sizeof dims);
    if (y->rank == 0)
        dims[0] = 1;
    if (y->dtype != DT_F32)
        return diag_node(d, n, "%s results at run time are not supported (float32 only)",
                         dtype_name(y->dtype));
    Step *st = lower_new_step(s, k, n, 1 + n->nin, head + rank + n->nin * rank, d);
    if (!st)
        return 0;
    st->t[0] = y;
    st->p[head - 1] = rank;
    memcpy(st->p + head, dims, sizeof(int64_t) * (size_t)rank);
    for (int i = 0; i < n->nin; i++) {
        st->t[1 + i] = n->in[i];
        if (y->rank == 0)
            st->p[head + rank + i] = 0;
        else
            bcast_strides(n->in[i], rank, st->p + head + rank + i * rank);
    }
    return 1;
}

static int lower_resize(Schedule *s, Node *n, Diag *d)
{
    Value *x = n->in[0], *y = n->out[0];
    const ResizeAttr *r = &n->a.resize;
    int rank = x->rank;
    if (rank == 0)
        return copy_step(s, n, d);
    Step *st = lower_new_step(s, RT_K_RESIZE, n, 2, 5 + 5 * rank, d);
    if (!st)
        return 0;
    st->t[0] = y; st->t[1] = x;
    st->p[0] = rank;
    st->p[1] = r->mode;
    st->p[2] = r->coord;
    st->p[3] = r->nearest;
    st->p[4] = r->exclude_outside;
    for (int i = 0; i < rank; i++) {
        st->p[5 + i] = x->dims[i];
        st->p[5 + rank + i] = y->dims[i];
        memcpy(&st->p[5 + 2 * rank + i], &r->scales[i], sizeof(double));
        memcpy(&st->p[5 + 3 * rank + i], &r->roi[i], sizeof(double));
        memcpy(&st->p[5 + 4 * rank + i], &r->roi[rank + i], sizeof(double));
    }
    st->f[0] = r->cubic_a;
    st->f[1] = r->extrapolation;
    return 1;
}

static int lower_conv_transpose(Schedule *s, Node *n, Diag *d)
{
    const WindowAttr *w = &n->a.convt.w;
    Value *x = n->in[0], *y = n->out[0];
    Step *st = lower_new_step(s, RT_K_CONV_TRANSPOSE, n, 4, 16, d);
    if (!st)
        return 0;
    int64_t p[16] = { x->dims[0], x->dims[1], x->dims[2], x->dims[3], y->dims[1], y->dims[2],
                      y->dims[3], w->kernel[0], w->kernel[1], w->stride[0], w->stride[1],
                      w->pad[0], w->pad[1], w->dilation[0], w->dilation[1], w->group };
    memcpy(st->p, p, sizeof p);
    st->t[0] = y; st->t[1] = x; st->t[2] = n->in[1];
    st->t[3] = n->nin > 2 ? n->in[2] : NULL;
    return 1;
}

/* DepthToSpace/SpaceToDepth are one 6-D transpose of the input viewed with the block split
 * out: DCR [N,b,b,C',H,W] -> [N,C',H,b,W,b], CRD [N,C',b,b,H,W] -> same order,
 * SpaceToDepth [N,C,H',b,W',b] -> [N,b,b,C,H',W']. */
static int lower_depth_space(Schedule *s, Node *n, Diag *d)
{
    Value *x = n->in[0];
    const Attr *m = node_attr(n, "mode");
    int64_t b = node_attr(n, "blocksize")->i, N = x->dims[0], C = x->dims[1];
    int64_t H = x->dims[2], W = x->dims[3];
    int64_t dims[6], perm[6];
    if (n->op == OP_SPACETODEPTH) {
        int64_t d6[6] = { N, C, H / b, b, W / b, b }, p6[6] = { 0, 3, 5, 1, 2, 4 };
        memcpy(dims, d6, sizeof dims); memcpy(perm, p6, sizeof perm);
    } else if (m && strcmp(m->s, "CRD") == 0) {
        int64_t d6[6] = { N, C / (b * b), b, b, H, W }, p6[6] = { 0, 1, 4, 2, 5, 3 };
        memcpy(dims, d6, sizeof dims); memcpy(perm, p6, sizeof perm);
    } else {
        int64_t d6[6] = { N, b, b, C / (b * b), H, W }, p6[6] = { 0, 3, 4, 1, 5, 2 };
        memcpy(dims, d6, sizeof dims); memcpy(perm, p6, sizeof perm);
    }
    Step *st = lower_new_step(s, RT_K_TRANSPOSE, n, 2, 14, d);
    if (!st)
        return 0;
    st->t[0] = n->out[0]; st->t[1] = x;
    st->p[0] = 6;
    st->p[1] = (int64_t)dtype_size(x->dtype);
    memcpy(st->p + 2, dims, sizeof dims);
    memcpy(st->p + 8, perm, sizeof perm);
    return 1;
}

static float attr_float(const Node *n, const char *name, float def)
{
    const Attr *a = node_attr(n, name);
    return !a ? def : a->kind == ATTR_INT ? (float)a->i : a->f;
}

/* The ops of runtime/unary_ext.c, in the order of RtUnaryExt, with their attributes. */
static int lower_unary_ext(Schedule *s, Node *n, Diag *d)
{
    Step *st = lower_new_step(s, RT_K_UNARY_EXT, n, 2, 2, d);
    if (!st)
        return 0;
    st->t[0] = n->out[0]; st->t[1] = n->in[0];
    st->p[0] = value_numel(n->in[0]);
    st->p[1] = RT_UX_ELU + (n->op - OP_ELU);
    switch (n->op) {
    case OP_ELU: case OP_CELU: case OP_THRESHOLDEDRELU:
        st->f[0] = attr_float(n, "alpha", 1.0f);
        break;
    case OP_SELU:
        st->f[0] = attr_float(n, "alpha", 1.67326319217681884765625f);
        st->f[1] = attr_float(n, "gamma", 1.05070102214813232421875f);
        break;
    case OP_SHRINK:
        st->f[0] = attr_float(n, "bias", 0.0f);
        st->f[1] = attr_float(n, "lambd", 0.5f);
        break;
    default:
        break;
    }
    return 1;
}

int lower_ext(Schedule *s, Node *n, Diag *d)
{
    Value *x = n->in[0], *y = n->out[0];
    Step *st;
    switch (n->op) {
    case OP_REDUCEMEAN: case OP_REDUCESUM: case OP_REDUCEMAX: case OP_REDUCEMIN:
        return lower_reduce(s, n, d);
    case OP_LAYERNORM: {
        int64_t axis = n->a.ln.axis;
        Value *b = n->nin > 2 ? n->in[2] : NULL;
        if (!(st = lower_new_step(s, RT_K_LAYERNORM, n, 6, 4, d)))
            return 0;
        st->nouts = 3;
        st->t[0] = y; st->t[3] = x; st->t[4] = n->in[1]; st->t[5] = b;
        st->t[1] = n->nout > 1 ? n->out[1] : NULL;
        st->t[2] = n->nout > 2 ? n->out[2] : NULL;
        st->p[0] = prod(x->dims, 0, (int)axis);
        st->p[1] = prod(x->dims, (int)axis, x->rank);
        st->p[2] = value_numel(n->in[1]);
        st->p[3] = b ? value_numel(b) : 0;
        st->f[0] = n->a.ln.epsilon;
        return 1;
    }
    case OP_EXPAND: case OP_TILE:
        return lower_broadcast(s, n, d);
    case OP_WHERE:
        return lower_selection(s, n, RT_K_WHERE, 1, d);
    case OP_MEAN: case OP_SUM: case OP_MAX: case OP_MIN:
        if (n->nin == 1)
            return copy_step(s, n, d);
        if (!lower_selection(s, n, RT_K_NARY, 3, d))
            return 0;
        st = &s->steps[s->nsteps - 1];
        st->p[0] = n->op == OP_MEAN ? RT_REDUCE_MEAN : n->op == OP_SUM ? RT_REDUCE_SUM
                 : n->op == OP_MAX ? RT_REDUCE_MAX : RT_REDUCE_MIN;
        st->p[1] = n->nin;
        return 1;
    case OP_RESIZE: case OP_UPSAMPLE:
        return lower_resize(s, n, d);
    case OP_CONVTRANSPOSE:
        return lower_conv_transpose(s, n, d);
    case OP_DEPTHTOSPACE: case OP_SPACETODEPTH:
        return lower_depth_space(s, n, d);
    case OP_PRELU:
        return lower_selection(s, n, RT_K_PRELU, 1, d);
    case OP_INSTANCENORM:
        if (!(st = lower_new_step(s, RT_K_INSTANCENORM, n, 4, 3, d)))
            return 0;
        st->t[0] = y; st->t[1] = x; st->t[2] = n->in[1]; st->t[3] = n->in[2];
        st->p[0] = x->dims[0];
        st->p[1] = x->dims[1];
        st->p[2] = prod(x->dims, 2, x->rank);
        st->f[0] = node_attr(n, "epsilon") ? node_attr(n, "epsilon")->f : 1e-5f;
        return 1;
    case OP_CAST:               /* float to float at run time: a copy */
        if (x->dtype != DT_F32 || y->dtype != DT_F32)
            return diag_node(d, n, "a cast to or from %s at run time is not supported",
                             dtype_name(x->dtype != DT_F32 ? x->dtype : y->dtype));
        return copy_step(s, n, d);
    case OP_EQUAL: case OP_GREATER: case OP_LESS: case OP_NOT: case OP_RANGE:
        return diag_node(d, n, "needs its inputs at compile time: %s results at run time "
                         "are not supported (float32 only)", dtype_name(y->dtype));
    default:
        if (n->op >= OP_ELU && n->op <= OP_ATANH)
            return lower_unary_ext(s, n, d);
        return -1;
    }
}
