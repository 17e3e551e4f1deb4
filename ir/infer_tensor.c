/* Shape rules of data movement and shape ops. Where the newer opsets moved an attribute
 * into an input (Reshape's shape, Squeeze's axes, Pad's pads, Slice's starts, Split's
 * sizes), the input's constant value is read here into the same typed attribute the
 * older form decoded to, normalized (axes non-negative, pads and slices per axis). */
#include <string.h>
#include "infer.h"

/* The list of integers in a constant input, e.g. a shape or axes. */
bool read_ints(Node *n, const Value *v, const char *what, int max, int64_t *out,
               int *count, Diag *d)
{
    if (!need_const(n, v, what, d))
        return false;
    if (v->dtype != DT_I64 || v->rank > 1)
        return diag_node(d, n, "%s '%s' must be a 1-D integer tensor", what, v->name);
    int64_t k = value_numel(v);
    if (k > max)
        return diag_node(d, n, "%s '%s' has %lld entries, at most %d are supported", what,
                         v->name, (long long)k, max);
    for (int64_t i = 0; i < k; i++)
        out[i] = value_i64(v, i);
    *count = (int)k;
    return true;
}

static int infer_reshape(Node *n, Diag *d)
{
    Value *x = n->in[0];
    int64_t shape[CNNC_MAX_RANK], known = 1;
    int r, infer_at = -1;
    if (!read_ints(n, n->in[1], "shape", CNNC_MAX_RANK, shape, &r, d))
        return 0;
    for (int i = 0; i < r; i++) {
        if (shape[i] == 0 && !n->a.reshape.allowzero) {
            if (i >= x->rank)
                return diag_node(d, n, "shape entry %d is 0 but the input has rank %d", i,
                                 x->rank);
            shape[i] = x->dims[i];
        }
        if (shape[i] == -1) {
            if (infer_at >= 0)
                return diag_node(d, n, "the shape has more than one -1");
            infer_at = i;
        } else if (shape[i] < 0 || shape[i] > CNNC_MAX_DIM) {
            return diag_node(d, n, "shape entry %lld is %s", (long long)shape[i],
                             shape[i] < 0 ? "negative" : "out of range");
        } else {
            if (shape[i] && known > CNNC_MAX_ELEMS / shape[i])
                return diag_node(d, n, "the shape is too large");
            known *= shape[i];
        }
    }
    if (infer_at >= 0) {
        if (known == 0 || value_numel(x) % known)
            return diag_node(d, n, "cannot infer the -1 entry: %lld elements do not divide "
                             "into %lld", (long long)value_numel(x), (long long)known);
        shape[infer_at] = value_numel(x) / known;
        known *= shape[infer_at];
    }
    if (known != value_numel(x))
        return diag_node(d, n, "cannot reshape %lld elements into %lld",
                         (long long)value_numel(x), (long long)known);
    return set_shape(n, n->out[0], x->dtype, r, shape, d);
}

static int infer_squeeze(Node *n, Diag *d)
{
    Value *x = n->in[0];
    AxesAttr *ax = &n->a.axes;
    bool drop[CNNC_MAX_RANK] = {0};
    int64_t dims[CNNC_MAX_RANK], axis;
    int r = 0;
    if (n->nin > 1 && n->in[1] &&
        !read_ints(n, n->in[1], "axes", CNNC_MAX_RANK, ax->v, &ax->n, d))
        return 0;
    if (ax->n < 0) {                    /* no axes: every axis of length 1 */
        ax->n = 0;
        for (int i = 0; i < x->rank; i++)
            if (x->dims[i] == 1)
                ax->v[ax->n++] = i;
    }
    for (int i = 0; i < ax->n; i++) {
        if (!norm_axis(n, ax->v[i], x->rank, &axis, d))
            return 0;
        if (x->dims[axis] != 1)
            return diag_node(d, n, "axis %lld has length %lld, not 1", (long long)axis,
                             (long long)x->dims[axis]);
        ax->v[i] = axis;
        drop[axis] = true;
    }
    for (int i = 0; i < x->rank; i++)
        if (!drop[i])
            dims[r++] = x->dims[i];
    return set_shape(n, n->out[0], x->dtype, r, dims, d);
}

static int infer_unsqueeze(Node *n, Diag *d)
{
    Value *x = n->in[0];
    AxesAttr *ax = &n->a.axes;
    bool added[CNNC_MAX_RANK] = {0};
    int64_t dims[CNNC_MAX_RANK], axis;
    if (n->nin > 1 && n->in[1] &&
        !read_ints(n, n->in[1], "axes", CNNC_MAX_RANK, ax->v, &ax->n, d))
        return 0;
    int r = x->rank + ax->n, k = 0;
    if (ax->n < 0)
        return diag_node(d, n, "axes are required");
    if (r > CNNC_MAX_RANK)
        return diag_node(d, n, "output rank %d is too large", r);
    for (int i = 0; i < ax->n; i++) {
        if (!norm_axis(n, ax->v[i], r, &axis, d))
            return 0;
        if (added[axis])
            return diag_node(d, n, "axis %lld is repeated", (long long)axis);
        ax->v[i] = axis;
        added[axis] = true;
    }
    for (int i = 0; i < r; i++)
        dims[i] = added[i] ? 1 : x->dims[k++];
    return set_shape(n, n->out[0], x->dtype, r, dims, d);
}

static int infer_transpose(Node *n, Diag *d)
{
    Value *x = n->in[0];
    AxesAttr *p = &n->a.axes;
    bool seen[CNNC_MAX_RANK] = {0};
    int64_t dims[CNNC_MAX_RANK];
    if (p->n < 0) {
        p->n = x->rank;
        for (int i = 0; i < x->rank; i++)
            p->v[i] = x->rank - 1 - i;
    }
    if (p->n != x->rank)
        return diag_node(d, n, "perm has %d entries for rank %d", p->n, x->rank);
    for (int i = 0; i < p->n; i++) {
        if (p->v[i] < 0 || p->v[i] >= x->rank || seen[p->v[i]])
            return diag_node(d, n, "perm is not a permutation of 0..%d", x->rank - 1);
        seen[p->v[i]] = true;
        dims[i] = x->dims[p->v[i]];
    }
    return set_shape(n, n->out[0], x->dtype, x->rank, dims, d);
}

static int infer_concat(Node *n, Diag *d)
{
    Value *x = n->in[0];
    int64_t dims[CNNC_MAX_RANK], axis;
    if (n->a.axis.axis == INT64_MIN)
        return diag_node(d, n, "attribute 'axis' is required");
    if (!norm_axis(n, n->a.axis.axis, x->rank, &axis, d))
        return 0;
    n->a.axis.axis = axis;
    memcpy(dims, x->dims, sizeof dims);
    for (int i = 1; i < n->nin; i++) {
        Value *v = n->in[i];
        if (!v || v->rank != x->rank || v->dtype != x->dtype)
            return diag_node(d, n, "input %d differs in rank or type from input 0", i);
        for (int j = 0; j < x->rank; j++)
            if (j != axis && v->dims[j] != x->dims[j])
                return diag_node(d, n, "input %d has length %lld on axis %d, input 0 has %lld",
                                 i, (long long)v->dims[j], j, (long long)x->dims[j]);
        dims[axis] += v->dims[axis];
    }
    return set_shape(n, n->out[0], x->dtype, x->rank, dims, d);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Resolves starts/ends/axes/steps into one start and step per axis and the output dims. */
static int infer_slice(Node *n, Diag *d)
{
    Value *x = n->in[0];
    SliceAttr *s = &n->a.slice;
    int64_t starts[CNNC_MAX_RANK], ends[CNNC_MAX_RANK], axes[CNNC_MAX_RANK], steps[CNNC_MAX_RANK];
    int64_t dims[CNNC_MAX_RANK];
    int k, ke, ka = -1, ks = -1;
    if (n->opset >= 10) {
        if (n->nin < 3)
            return diag_node(d, n, "needs starts and ends inputs");
        if (!read_ints(n, n->in[1], "starts", CNNC_MAX_RANK, starts, &k, d) ||
            !read_ints(n, n->in[2], "ends", CNNC_MAX_RANK, ends, &ke, d) ||
            (n->nin > 3 && n->in[3] &&
             !read_ints(n, n->in[3], "axes", CNNC_MAX_RANK, axes, &ka, d)) ||
            (n->nin > 4 && n->in[4] &&
             !read_ints(n, n->in[4], "steps", CNNC_MAX_RANK, steps, &ks, d)))
            return 0;
        if (ke != k || (ka >= 0 && ka != k) || (ks >= 0 && ks != k))
            return diag_node(d, n, "starts, ends, axes and steps differ in length");
        for (int i = 0; i < k; i++) {
            if (ka < 0)
                axes[i] = i;
            if (ks < 0)
                steps[i] = 1;
        }
    } else {
        k = s->n;
        memcpy(starts, s->starts, sizeof starts);
        memcpy(ends, s->ends, sizeof ends);
        memcpy(axes, s->axes, sizeof axes);
        memcpy(steps, s->steps, sizeof steps);
    }
    for (int i = 0; i < x->rank; i++) {
        s->first[i] = 0;
        s->step[i] = 1;
        dims[i] = x->dims[i];
    }
    for (int i = 0; i < k; i++) {
        int64_t a;
        if (!norm_axis(n, axes[i], x->rank, &a, d))
            return 0;
        int64_t dim = x->dims[a], st = steps[i], b = starts[i], e = ends[i], len;
        if (st == 0)
            return diag_node(d, n, "step 0 on axis %lld", (long long)a);
        /* a step longer than any axis takes one element: bound it so the sums below
         * cannot overflow */
        st = clamp64(st, -CNNC_MAX_DIM - 1, CNNC_MAX_DIM + 1);
        if (b < 0)
            b += dim;
        if (e < 0)
            e += dim;
        if (st > 0) {
            b = clamp64(b, 0, dim);
            e = clamp64(e, 0, dim);
            len = e > b ? (e - b - 1) / st + 1 : 0;
        } else {
            b = clamp64(b, 0, dim - 1);
            e = clamp64(e, -1, dim - 1);
            len = b > e ? (b - e - 1) / -st + 1 : 0;
        }
        s->first[a] = b;
        s->step[a] = st;
        dims[a] = len;
    }
    return set_shape(n, n->out[0], x->dtype, x->rank, dims, d);
}

static int infer_pad(Node *n, Diag *d)
{
    Value *x = n->in[0];
    PadAttr *p = &n->a.pad;
    int64_t dims[CNNC_MAX_RANK];
    if (n->opset >= 11) {
        if (n->nin < 2 || !read_ints(n, n->in[1], "pads", 2 * CNNC_MAX_RANK, p->pads, &p->n, d))
            return n->nin < 2 ? diag_node(d, n, "needs a pads input") : 0;
        if (n->nin > 2 && n->in[2]) {
            if (!need_const(n, n->in[2], "constant_value", d))
                return 0;
            p->value = value_f32(n->in[2], 0);
        }
        if (n->nin > 3 && n->in[3])
            return diag_node(d, n, "the axes input is not supported");
    }
    if (p->n != 2 * x->rank)
        return diag_node(d, n, "pads has %d entries for rank %d", p->n, x->rank);
    for (int i = 0; i < x->rank; i++) {
        if (p->pads[i] < 0 || p->pads[i + x->rank] < 0)
            return diag_node(d, n, "negative pads are not supported");
        if (p->pads[i] > CNNC_MAX_DIM || p->pads[i + x->rank] > CNNC_MAX_DIM)
            return diag_node(d, n, "pad %lld is out of range",
                             (long long)(p->pads[i] > CNNC_MAX_DIM ? p->pads[i] : p->pads[i + x->rank]));
        dims[i] = x->dims[i] + p->pads[i] + p->pads[i + x->rank];
    }
    return set_shape(n, n->out[0], x->dtype, x->rank, dims, d);
}

static int infer_split(Node *n, Diag *d)
{
    Value *x = n->in[0];
    SplitAttr *s = &n->a.split;
    int64_t axis, total = 0;
    if (!norm_axis(n, s->axis, x->rank, &axis, d))
        return 0;
    s->axis = axis;
    if (n->nin > 1 && n->in[1] && !read_ints(n, n->in[1], "split", 64, s->sizes, &s->n, d))
        return 0;
    if (s->n < 0) {
        if (x->dims[axis] % n->nout)
            return diag_node(d, n, "axis length %lld does not split into %d equal parts",
                             (long long)x->dims[axis], n->nout);
        s->n = n->nout;
        for (int i = 0; i < n->nout; i++)
            s->sizes[i] = x->dims[axis] / n->nout;
    }
    if (s->n != n->nout)
        return diag_node(d, n, "%d split sizes for %d outputs", s->n, n->nout);
    for (int i = 0; i < s->n; i++) {
        int64_t dims[CNNC_MAX_RANK];
        if (s->sizes[i] < 0 || s->sizes[i] > CNNC_MAX_DIM)
            return diag_node(d, n, "split size %lld is out of range", (long long)s->sizes[i]);
        total += s->sizes[i];
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = s->sizes[i];
        if (!set_shape(n, n->out[i], x->dtype, x->rank, dims, d))
            return 0;
    }
    if (total != x->dims[axis])
        return diag_node(d, n, "split sizes add up to %lld, the axis has %lld",
                         (long long)total, (long long)x->dims[axis]);
    return 1;
}

static int infer_gather(Node *n, Diag *d)
{
    Value *x = n->in[0], *idx = n->in[1];
    int64_t dims[CNNC_MAX_RANK], axis;
    int r = 0;
    if (!norm_axis(n, n->a.axis.axis, x->rank, &axis, d))
        return 0;
    n->a.axis.axis = axis;
    if (idx->dtype != DT_I64)
        return diag_node(d, n, "indices must be integers");
    if (x->rank - 1 + idx->rank > CNNC_MAX_RANK)
        return diag_node(d, n, "output rank is too large");
    if (idx->kind == VAL_CONSTANT)
        for (int64_t i = 0; i < value_numel(idx); i++) {
            int64_t j = value_i64(idx, i);
            if (j < -x->dims[axis] || j >= x->dims[axis])
                return diag_node(d, n, "index %lld is out of range for length %lld",
                                 (long long)j, (long long)x->dims[axis]);
        }
    for (int i = 0; i < axis; i++)
        dims[r++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++)
        dims[r++] = idx->dims[i];
    for (int i = (int)axis + 1; i < x->rank; i++)
        dims[r++] = x->dims[i];
    return set_shape(n, n->out[0], x->dtype, r, dims, d);
}

static int infer_flatten(Node *n, Diag *d)
{
    Value *x = n->in[0];
    int64_t axis = n->a.axis.axis, dims[2] = { 1, 1 };
    if (axis < -x->rank || axis > x->rank)
        return diag_node(d, n, "axis %lld is out of range for rank %d", (long long)axis, x->rank);
    if (axis < 0)
        axis += x->rank;
    for (int i = 0; i < x->rank; i++)
        dims[i < axis ? 0 : 1] *= x->dims[i];
    return set_shape(n, n->out[0], x->dtype, 2, dims, d);
}

int infer_tensor(Node *n, Diag *d)
{
    Value *x = n->in[0];
    int64_t dims[CNNC_MAX_RANK];
    int r;
    switch (n->op) {
    case OP_RESHAPE:   return infer_reshape(n, d);
    case OP_SQUEEZE:   return infer_squeeze(n, d);
    case OP_UNSQUEEZE: return infer_unsqueeze(n, d);
    case OP_TRANSPOSE: return infer_transpose(n, d);
    case OP_CONCAT:    return infer_concat(n, d);
    case OP_SLICE:     return infer_slice(n, d);
    case OP_PAD:       return infer_pad(n, d);
    case OP_SPLIT:     return infer_split(n, d);
    case OP_GATHER:    return infer_gather(n, d);
    case OP_FLATTEN:   return infer_flatten(n, d);
    case OP_IDENTITY:
        return set_shape(n, n->out[0], x->dtype, x->rank, x->dims, d);
    case OP_DROPOUT:
        if (n->nout > 1 && n->out[1] &&
            !set_shape(n, n->out[1], DT_BOOL, x->rank, x->dims, d))
            return 0;
        return set_shape(n, n->out[0], x->dtype, x->rank, x->dims, d);
    case OP_CAST:
        return set_shape(n, n->out[0], n->a.cast.to, x->rank, x->dims, d);
    case OP_SHAPE: {
        int64_t start = 0, end = x->rank;
        const Attr *as = node_attr(n, "start"), *ae = node_attr(n, "end");
        if (as)
            start = as->i < 0 ? as->i + x->rank : as->i;
        if (ae)
            end = ae->i < 0 ? ae->i + x->rank : ae->i;
        start = clamp64(start, 0, x->rank);
        end = clamp64(end, start, x->rank);
        dims[0] = end - start;
        n->a.slice.first[0] = start;    /* remembered for folding */
        return set_shape(n, n->out[0], DT_I64, 1, dims, d);
    }
    case OP_CONSTANTOFSHAPE: {
        const Attr *a = node_attr(n, "value");
        if (!read_ints(n, x, "shape", CNNC_MAX_RANK, dims, &r, d))
            return 0;
        if (a && (a->kind != ATTR_TENSOR || value_numel(a->t) != 1))
            return diag_node(d, n, "attribute 'value' must be a one-element tensor");
        return set_shape(n, n->out[0], a ? a->t->dtype : DT_F32, r, dims, d);
    }
    case OP_CONSTANT:
        return diag_node(d, n, "Constant node was not converted on import");
    default:
        return -1;
    }
}
