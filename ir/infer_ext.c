/* Shape rules of reductions, LayerNormalization, broadcasting (Expand, Tile, Where, the
 * variadic Mean/Sum/Max/Min), comparisons, Range, Resize/Upsample and ConvTranspose.
 * Inputs that newer opsets use in place of attributes (axes, scales, sizes, repeats) must
 * be constants by now; their values are resolved into the node's typed attribute. */
#include <math.h>
#include <string.h>
#include "infer.h"

static int infer_reduce(Node *n, Diag *d)
{
    Value *x = n->in[0];
    ReduceAttr *r = &n->a.reduce;
    bool red[CNNC_MAX_RANK] = {0};
    int64_t dims[CNNC_MAX_RANK], axis;
    int k = 0;
    if (!need_f32(n, x, "input", d))
        return 0;
    if (n->nin > 1 && n->in[1] &&
        !read_ints(n, n->in[1], "axes", CNNC_MAX_RANK, r->axes, &r->n, d))
        return 0;
    if (r->n <= 0 && r->noop_with_empty_axes)
        r->n = 0;               /* no axes and told so: a copy */
    else if (r->n <= 0) {
        r->n = x->rank;         /* no axes: reduce them all */
        for (int i = 0; i < x->rank; i++)
            r->axes[i] = i;
    }
    for (int i = 0; i < r->n; i++) {
        if (!norm_axis(n, r->axes[i], x->rank, &axis, d))
            return 0;
        r->axes[i] = axis;
        red[axis] = true;
    }
    for (int i = 0; i < x->rank; i++)
        if (!red[i])
            dims[k++] = x->dims[i];
        else if (r->keepdims)
            dims[k++] = 1;
    return set_shape(n, n->out[0], DT_F32, k, dims, d);
}

static int infer_layernorm(Node *n, Diag *d)
{
    Value *x = n->in[0];
    int64_t axis, inner = 1;
    if (n->nin < 2 || !n->in[1])
        return diag_node(d, n, "needs a Scale input");
    if (!need_f32(n, x, "input", d) || !norm_axis(n, n->a.ln.axis, x->rank, &axis, d))
        return 0;
    for (int i = 1; i < n->nout; i++) {     /* Mean, InvStdDev: [d0 .. d(axis-1), 1 ...] */
        int64_t dims[CNNC_MAX_RANK];
        for (int j = 0; j < x->rank; j++)
            dims[j] = j < axis ? x->dims[j] : 1;
        if (n->out[i] && !set_shape(n, n->out[i], DT_F32, x->rank, dims, d))
            return 0;
    }
    n->a.ln.axis = axis;
    for (int i = (int)axis; i < x->rank; i++)
        inner *= x->dims[i];
    for (int i = 1; i < n->nin && i < 3; i++) {
        Value *v = n->in[i];
        if (v && (!need_f32(n, v, i == 1 ? "scale" : "bias", d) ||
                  (value_numel(v) != inner && value_numel(v) != 1)))
            return d->failed ? 0 : diag_node(d, n, "'%s' has %lld elements; %lld (the "
                                             "normalized axes) or 1 are supported", v->name,
                                             (long long)value_numel(v), (long long)inner);
    }
    return set_shape(n, n->out[0], DT_F32, x->rank, x->dims, d);
}

/* NumPy broadcasting of all inputs from `first` on (NULL inputs skipped). */
static bool broadcast_all(Node *n, int first, int *rank, int64_t *dims, Diag *d)
{
    Value acc = { .rank = 0 };
    for (int i = first; i < n->nin; i++) {
        int64_t out[CNNC_MAX_RANK];
        if (!n->in[i])
            continue;
        if (!broadcast_dims(n, &acc, n->in[i], &acc.rank, out, d))
            return false;
        memcpy(acc.dims, out, sizeof out);
    }
    *rank = acc.rank;
    memcpy(dims, acc.dims, sizeof acc.dims);
    return true;
}

static bool same_dtypes(Node *n, int first, Diag *d)
{
    for (int i = first + 1; i < n->nin; i++)
        if (n->in[i] && n->in[i]->dtype != n->in[first]->dtype)
            return diag_node(d, n, "inputs have different types (%s and %s)",
                             dtype_name(n->in[first]->dtype), dtype_name(n->in[i]->dtype));
    return true;
}

static int infer_expand(Node *n, Diag *d)
{
    Value *x = n->in[0], shape = { .rank = 1 };
    int64_t dims[CNNC_MAX_RANK];
    int r;
    if (!read_ints(n, n->in[1], "shape", CNNC_MAX_RANK, shape.dims, &shape.rank, d))
        return 0;
    for (int i = 0; i < shape.rank; i++)
        if (shape.dims[i] < 0)
            return diag_node(d, n, "shape entry %lld is negative", (long long)shape.dims[i]);
    if (!broadcast_dims(n, x, &shape, &r, dims, d))
        return 0;
    return set_shape(n, n->out[0], x->dtype, r, dims, d);
}

static int infer_tile(Node *n, Diag *d)
{
    Value *x = n->in[0];
    int64_t rep[CNNC_MAX_RANK], dims[CNNC_MAX_RANK];
    int k;
    if (!read_ints(n, n->in[1], "repeats", CNNC_MAX_RANK, rep, &k, d))
        return 0;
    if (k != x->rank)
        return diag_node(d, n, "repeats has %d entries for rank %d", k, x->rank);
    for (int i = 0; i < k; i++) {
        if (rep[i] < 0)
            return diag_node(d, n, "repeat %lld is negative", (long long)rep[i]);
        dims[i] = x->dims[i] * rep[i];
    }
    return set_shape(n, n->out[0], x->dtype, k, dims, d);
}

static int infer_range(Node *n, Diag *d)
{
    static const char *const what[3] = { "start", "limit", "delta" };
    for (int i = 0; i < 3; i++) {
        if (!need_const(n, n->in[i], what[i], d))
            return 0;
        if (value_numel(n->in[i]) != 1 || n->in[i]->dtype != n->in[0]->dtype)
            return diag_node(d, n, "'%s' must be a scalar of the type of 'start'", what[i]);
    }
    int64_t len;
    if (n->in[0]->dtype == DT_F32) {
        float s = value_f32(n->in[0], 0), l = value_f32(n->in[1], 0), e = value_f32(n->in[2], 0);
        double c = ceil(((double)l - s) / e);
        if (e == 0.0f || !isfinite(c))
            return diag_node(d, n, "delta must be non-zero and the range finite");
        len = c > 0 ? (int64_t)c : 0;
    } else {
        int64_t s = value_i64(n->in[0], 0), l = value_i64(n->in[1], 0);
        int64_t e = value_i64(n->in[2], 0);
        if (e == 0)
            return diag_node(d, n, "delta must be non-zero");
        len = (l - s) / e + ((l - s) % e != 0 && ((l - s) > 0) == (e > 0));
        len = len > 0 ? len : 0;
    }
    return set_shape(n, n->out[0], n->in[0]->dtype, 1, &len, d);
}

/* Scales or sizes from the inputs of whichever form this node has; output dims from them. */
static int infer_resize(Node *n, Diag *d)
{
    Value *x = n->in[0], *scales = NULL, *sizes = NULL;
    ResizeAttr *r = &n->a.resize;
    int64_t dims[CNNC_MAX_RANK];
    if (!need_f32(n, x, "input", d))
        return 0;
    if (n->op == OP_UPSAMPLE || n->opset < 11)
        scales = n->nin > 1 ? n->in[1] : NULL;
    else {
        scales = n->nin > 2 ? n->in[2] : NULL;
        sizes = n->nin > 3 ? n->in[3] : NULL;
        if (scales && value_numel(scales) == 0)
            scales = NULL;      /* an empty placeholder before sizes */
    }
    if (sizes) {
        int k;
        if (!read_ints(n, sizes, "sizes", CNNC_MAX_RANK, dims, &k, d))
            return 0;
        if (k != x->rank)
            return diag_node(d, n, "sizes has %d entries for rank %d", k, x->rank);
        for (int i = 0; i < k; i++) {
            if (dims[i] < 1 || x->dims[i] < 1)
                return diag_node(d, n, "empty input or output axes are not supported");
            r->scales[i] = (double)dims[i] / (double)x->dims[i];
        }
    } else if (scales || r->nscales >= 0) {
        if (scales) {
            if (!need_const(n, scales, "scales", d))
                return 0;
            if (scales->dtype != DT_F32 || value_numel(scales) != x->rank)
                return diag_node(d, n, "scales must be %d floats", x->rank);
            for (int i = 0; i < x->rank; i++)
                r->scales[i] = value_f32(scales, i);
        } else if (r->nscales != x->rank) {
            return diag_node(d, n, "scales has %d entries for rank %d", r->nscales, x->rank);
        }
        for (int i = 0; i < x->rank; i++) {
            if (!(r->scales[i] > 0.0) || !isfinite(r->scales[i]))
                return diag_node(d, n, "scales must be positive");
            dims[i] = (int64_t)floor((double)x->dims[i] * r->scales[i]);
            if (dims[i] < 1)
                return diag_node(d, n, "empty output axes are not supported");
        }
    } else {
        return diag_node(d, n, "needs scales or sizes");
    }
    if (r->coord == RT_RESIZE_TF_CROP_AND_RESIZE) {
        Value *roi = n->nin > 1 ? n->in[1] : NULL;
        if (!roi || !need_const(n, roi, "roi", d))
            return d->failed ? 0 : diag_node(d, n, "tf_crop_and_resize needs a roi input");
        if (roi->dtype != DT_F32 || value_numel(roi) != 2 * x->rank)
            return diag_node(d, n, "roi must be %d floats", 2 * x->rank);
        for (int i = 0; i < 2 * x->rank; i++)
            r->roi[i] = value_f32(roi, i);
    }
    return set_shape(n, n->out[0], DT_F32, x->rank, dims, d);
}

static int infer_conv_transpose(Node *n, Diag *d)
{
    ConvTransposeAttr *c = &n->a.convt;
    WindowAttr *w = &c->w;
    Value *x = n->in[0], *wt = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    int64_t dims[4];
    if (!need_f32(n, x, "input", d) || !need_rank(n, x, 4, "input", d) ||
        !need_f32(n, wt, "weight", d) || !need_rank(n, wt, 4, "weight", d))
        return 0;
    if (wt->dims[0] != x->dims[1] || x->dims[1] % w->group)
        return diag_node(d, n, "weight has %lld input channels, the input %lld (group %lld)",
                         (long long)wt->dims[0], (long long)x->dims[1], (long long)w->group);
    dims[0] = x->dims[0];
    dims[1] = wt->dims[1] * w->group;
    if (b && (!need_f32(n, b, "bias", d) || value_numel(b) != dims[1]))
        return d->failed ? 0 : diag_node(d, n, "bias must have %lld entries", (long long)dims[1]);
    for (int i = 0; i < 2; i++) {
        if (w->kernel[i] == 0)
            w->kernel[i] = wt->dims[2 + i];
        if (w->kernel[i] != wt->dims[2 + i])
            return diag_node(d, n, "kernel_shape disagrees with the weight's shape");
        int64_t in = x->dims[2 + i], s = w->stride[i];
        int64_t full = s * (in - 1) + c->out_pad[i] + (w->kernel[i] - 1) * w->dilation[i] + 1;
        if (c->has_out_shape || w->auto_pad == AUTOPAD_SAME_UPPER ||
            w->auto_pad == AUTOPAD_SAME_LOWER) {
            int64_t out = c->has_out_shape ? c->out_shape[i] : in * s;
            int64_t total = full - out;     /* < 0: extra rows at the end (or start) */
            bool upper = w->auto_pad != AUTOPAD_SAME_LOWER;
            w->pad[i] = upper ? total / 2 : total - total / 2;
            w->pad[i + 2] = total - w->pad[i];
        } else if (w->auto_pad == AUTOPAD_VALID) {
            w->pad[i] = w->pad[i + 2] = 0;
        }
        dims[2 + i] = full - w->pad[i] - w->pad[i + 2];
        if (dims[2 + i] < 1)
            return diag_node(d, n, "the padding leaves no output");
    }
    return set_shape(n, n->out[0], DT_F32, 4, dims, d);
}

/* DepthToSpace (DCR or CRD) and SpaceToDepth: NCHW with block b. */
static int infer_depth_space(Node *n, Diag *d)
{
    Value *x = n->in[0];
    const Attr *a = node_attr(n, "blocksize"), *m = node_attr(n, "mode");
    int64_t dims[4];
    if (!need_rank(n, x, 4, "input", d))
        return 0;
    if (!a || a->kind != ATTR_INT || a->i < 1 || a->i > 1 << 16)
        return diag_node(d, n, "attribute 'blocksize' must be a positive integer");
    if (m && (m->kind != ATTR_STRING || (strcmp(m->s, "DCR") && strcmp(m->s, "CRD"))))
        return diag_node(d, n, "mode must be DCR or CRD");
    int64_t b = a->i;
    memcpy(dims, x->dims, sizeof dims);
    if (n->op == OP_DEPTHTOSPACE) {
        if (x->dims[1] % (b * b))
            return diag_node(d, n, "%lld channels do not divide by blocksize^2",
                             (long long)x->dims[1]);
        dims[1] /= b * b; dims[2] *= b; dims[3] *= b;
    } else {
        if (x->dims[2] % b || x->dims[3] % b)
            return diag_node(d, n, "height and width must divide by the blocksize");
        dims[1] *= b * b; dims[2] /= b; dims[3] /= b;
    }
    return set_shape(n, n->out[0], x->dtype, 4, dims, d);
}

int infer_ext(Node *n, Diag *d)
{
    int64_t dims[CNNC_MAX_RANK];
    int r;
    switch (n->op) {
    case OP_REDUCEMEAN: case OP_REDUCESUM: case OP_REDUCEMAX: case OP_REDUCEMIN:
        return infer_reduce(n, d);
    case OP_LAYERNORM:
        return infer_layernorm(n, d);
    case OP_EXPAND:
        return infer_expand(n, d);
    case OP_TILE:
        return infer_tile(n, d);
    case OP_RANGE:
        return infer_range(n, d);
    case OP_RESIZE: case OP_UPSAMPLE:
        return infer_resize(n, d);
    case OP_CONVTRANSPOSE:
        return infer_conv_transpose(n, d);
    case OP_DEPTHTOSPACE: case OP_SPACETODEPTH:
        return infer_depth_space(n, d);
    case OP_PRELU:
        if (!need_f32(n, n->in[0], "input", d) || !need_f32(n, n->in[1], "slope", d) ||
            !broadcast_all(n, 0, &r, dims, d))
            return 0;
        for (int i = 0; i < r; i++)     /* unidirectional: the output is the input's shape */
            if (r != n->in[0]->rank || dims[i] != n->in[0]->dims[i])
                return diag_node(d, n, "slope must broadcast to the input's shape");
        return set_shape(n, n->out[0], DT_F32, r, dims, d);
    case OP_INSTANCENORM:
        if (!need_f32(n, n->in[0], "input", d) || n->in[0]->rank < 3)
            return d->failed ? 0 : diag_node(d, n, "input must have rank >= 3");
        for (int i = 1; i < 3; i++)
            if (!need_f32(n, n->in[i], "parameter", d) ||
                value_numel(n->in[i]) != n->in[0]->dims[1])
                return d->failed ? 0 : diag_node(d, n, "scale and bias need one entry per "
                                                 "channel");
        return set_shape(n, n->out[0], DT_F32, n->in[0]->rank, n->in[0]->dims, d);
    case OP_WHERE:
        if (n->in[0]->dtype != DT_BOOL)
            return diag_node(d, n, "condition '%s' must be boolean", n->in[0]->name);
        if (!same_dtypes(n, 1, d) || !broadcast_all(n, 0, &r, dims, d))
            return 0;
        return set_shape(n, n->out[0], n->in[1]->dtype, r, dims, d);
    case OP_EQUAL: case OP_GREATER: case OP_LESS:
        if (!same_dtypes(n, 0, d) || !broadcast_all(n, 0, &r, dims, d))
            return 0;
        return set_shape(n, n->out[0], DT_BOOL, r, dims, d);
    case OP_NOT:
        if (n->in[0]->dtype != DT_BOOL)
            return diag_node(d, n, "input must be boolean");
        return set_shape(n, n->out[0], DT_BOOL, n->in[0]->rank, n->in[0]->dims, d);
    case OP_MEAN: case OP_MAX: case OP_MIN: case OP_SUM:
        for (int i = 0; i < n->nin; i++)
            if (!n->in[i])
                return diag_node(d, n, "input %d is missing", i);
        if (!same_dtypes(n, 0, d) || !broadcast_all(n, 0, &r, dims, d))
            return 0;
        return set_shape(n, n->out[0], n->in[0]->dtype, r, dims, d);
    default:
        if (n->op >= OP_ELU && n->op <= OP_ATANH) {     /* runtime/unary_ext.c */
            if (!need_f32(n, n->in[0], "input", d))
                return 0;
            return set_shape(n, n->out[0], DT_F32, n->in[0]->rank, n->in[0]->dims, d);
        }
        return -1;
    }
}
