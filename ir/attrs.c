/* Typed attributes: each op's raw ONNX attributes decoded and checked once, so that shape
 * inference, passes and lowering read plain struct fields. Inputs that older opsets gave
 * as attributes (Clip min/max, Pad pads, Slice starts/ends) are read here too; the newer
 * input forms are read by shape inference once constants are known. */
#include <math.h>
#include <string.h>
#include "ir.h"

static bool get_int(Node *n, const char *name, int64_t def, int64_t *out, Diag *d)
{
    const Attr *a = node_attr(n, name);
    *out = def;
    if (!a)
        return true;
    if (a->kind != ATTR_INT)
        return diag_node(d, n, "attribute '%s' must be an integer", name);
    *out = a->i;
    return true;
}

static bool get_float(Node *n, const char *name, float def, float *out, Diag *d)
{
    const Attr *a = node_attr(n, name);
    *out = def;
    if (!a)
        return true;
    if (a->kind == ATTR_INT) {          /* some exporters write 0 instead of 0.0 */
        *out = (float)a->i;
        return true;
    }
    if (a->kind != ATTR_FLOAT || !isfinite(a->f))
        return diag_node(d, n, "attribute '%s' must be a finite float", name);
    *out = a->f;
    return true;
}

/* Reads an ints attribute of at most `max` entries; *count = -1 when absent. */
static bool get_ints(Node *n, const char *name, int max, int64_t *out, int *count, Diag *d)
{
    const Attr *a = node_attr(n, name);
    *count = -1;
    if (!a)
        return true;
    if (a->kind != ATTR_INTS)
        return diag_node(d, n, "attribute '%s' must be a list of integers", name);
    if (a->n > max)
        return diag_node(d, n, "attribute '%s' has %d entries, at most %d are supported",
                         name, a->n, max);
    memcpy(out, a->ints, sizeof(int64_t) * (size_t)a->n);
    *count = a->n;
    return true;
}

static bool decode_window(Node *n, Diag *d)
{
    WindowAttr *w = &n->a.win;
    int64_t v[8], ceil = 0, cip = 0;
    int cnt;
    const Attr *ap = node_attr(n, "auto_pad");
    w->kernel[0] = w->kernel[1] = 0;        /* Conv may take it from the weights */
    w->stride[0] = w->stride[1] = w->dilation[0] = w->dilation[1] = 1;
    if (!get_ints(n, "kernel_shape", 8, v, &cnt, d))
        return false;
    if (cnt >= 0 && cnt != 2)
        return diag_node(d, n, "only 2-D windows are supported (kernel_shape has %d dims)", cnt);
    if (cnt == 2)
        memcpy(w->kernel, v, sizeof w->kernel);
    bool convlike = n->op == OP_CONV || n->op == OP_CONVTRANSPOSE;  /* kernel from weights */
    if (cnt < 0 && !convlike)
        return diag_node(d, n, "attribute 'kernel_shape' is required");
    if (!get_ints(n, "strides", 8, v, &cnt, d))
        return false;
    if (cnt >= 0 && cnt != 2)
        return diag_node(d, n, "'strides' must have 2 entries, it has %d", cnt);
    if (cnt == 2)
        memcpy(w->stride, v, sizeof w->stride);
    if (!get_ints(n, "dilations", 8, v, &cnt, d))
        return false;
    if (cnt >= 0 && cnt != 2)
        return diag_node(d, n, "'dilations' must have 2 entries, it has %d", cnt);
    if (cnt == 2)
        memcpy(w->dilation, v, sizeof w->dilation);
    if (!get_ints(n, "pads", 8, v, &cnt, d))
        return false;
    if (cnt >= 0 && cnt != 4)
        return diag_node(d, n, "'pads' must have 4 entries, it has %d", cnt);
    if (cnt == 4) {             /* ONNX order: begins (t, l) then ends (b, r) */
        w->pad[0] = v[0]; w->pad[1] = v[1]; w->pad[2] = v[2]; w->pad[3] = v[3];
    }
    for (int i = 0; i < 4; i++)
        if (w->pad[i] < 0 || w->pad[i] > 1 << 20)
            return diag_node(d, n, "pad %lld is out of range", (long long)w->pad[i]);
    for (int i = 0; i < 2; i++) {
        if (w->stride[i] < 1 || w->stride[i] > 1 << 20)
            return diag_node(d, n, "stride %lld is out of range", (long long)w->stride[i]);
        if (w->dilation[i] < 1 || w->dilation[i] > 1 << 20)
            return diag_node(d, n, "dilation %lld is out of range", (long long)w->dilation[i]);
        if (w->kernel[i] < 0 || w->kernel[i] > 1 << 20 || (!convlike && !w->kernel[i]))
            return diag_node(d, n, "kernel size %lld is out of range", (long long)w->kernel[i]);
    }
    if (!get_int(n, "group", 1, &w->group, d) || !get_int(n, "ceil_mode", 0, &ceil, d) ||
        !get_int(n, "count_include_pad", 0, &cip, d))
        return false;
    if (w->group < 1)
        return diag_node(d, n, "group %lld must be positive", (long long)w->group);
    w->ceil_mode = ceil != 0;
    w->count_include_pad = cip != 0;
    if (n->op == OP_MAXPOOL && node_attr(n, "storage_order") &&
        node_attr(n, "storage_order")->i != 0)
        return diag_node(d, n, "storage_order=1 is not supported");
    w->auto_pad = AUTOPAD_NOTSET;
    if (ap) {
        if (ap->kind != ATTR_STRING)
            return diag_node(d, n, "attribute 'auto_pad' must be a string");
        if (strcmp(ap->s, "SAME_UPPER") == 0)
            w->auto_pad = AUTOPAD_SAME_UPPER;
        else if (strcmp(ap->s, "SAME_LOWER") == 0)
            w->auto_pad = AUTOPAD_SAME_LOWER;
        else if (strcmp(ap->s, "VALID") == 0)
            w->auto_pad = AUTOPAD_VALID;
        else if (strcmp(ap->s, "NOTSET") != 0)
            return diag_node(d, n, "unknown auto_pad '%s'", ap->s);
    }
    return true;
}

static bool decode_axes(Node *n, const char *name, Diag *d)
{
    int cnt;
    if (!get_ints(n, name, CNNC_MAX_RANK, n->a.axes.v, &cnt, d))
        return false;
    n->a.axes.n = cnt;          /* -1: absent (all axes, or taken from an input) */
    return true;
}

static bool decode_pad(Node *n, Diag *d)
{
    PadAttr *p = &n->a.pad;
    const Attr *m = node_attr(n, "mode");
    p->mode = RT_PAD_CONSTANT;
    if (m) {
        if (m->kind != ATTR_STRING)
            return diag_node(d, n, "attribute 'mode' must be a string");
        if (strcmp(m->s, "reflect") == 0)
            p->mode = RT_PAD_REFLECT;
        else if (strcmp(m->s, "edge") == 0)
            p->mode = RT_PAD_EDGE;
        else if (strcmp(m->s, "constant") != 0)
            return diag_node(d, n, "pad mode '%s' is not supported", m->s);
    }
    if (!get_float(n, "value", 0.0f, &p->value, d))
        return false;
    p->n = -1;
    if (n->opset >= 11)
        return true;            /* pads and value are inputs, read in shape inference */
    return get_ints(n, "pads", 2 * CNNC_MAX_RANK, p->pads, &p->n, d);
}

static bool decode_slice(Node *n, Diag *d)
{
    SliceAttr *s = &n->a.slice;
    int ns, ne, na;
    if (n->opset >= 10)
        return true;            /* inputs, read in shape inference */
    if (!get_ints(n, "starts", CNNC_MAX_RANK, s->starts, &ns, d) ||
        !get_ints(n, "ends", CNNC_MAX_RANK, s->ends, &ne, d) ||
        !get_ints(n, "axes", CNNC_MAX_RANK, s->axes, &na, d))
        return false;
    if (ns < 0 || ne != ns || (na >= 0 && na != ns))
        return diag_node(d, n, "'starts', 'ends' and 'axes' must have the same length");
    s->n = ns;
    for (int i = 0; i < ns; i++) {
        s->steps[i] = 1;
        if (na < 0)
            s->axes[i] = i;
    }
    return true;
}

static bool decode_split(Node *n, Diag *d)
{
    SplitAttr *s = &n->a.split;
    int cnt;
    if (!get_int(n, "axis", 0, &s->axis, d) ||
        !get_ints(n, "split", 64, s->sizes, &cnt, d))
        return false;
    s->n = cnt;
    return true;
}

static bool decode_cast(Node *n, Diag *d)
{
    int64_t to;
    if (!get_int(n, "to", 0, &to, d))
        return false;
    switch (to) {
    case 1: n->a.cast.to = DT_F32; break;               /* FLOAT */
    case 11: n->a.cast.to = DT_F32; break;              /* DOUBLE: computed in float */
    case 6: case 7: n->a.cast.to = DT_I64; break;       /* INT32, INT64 */
    case 9: n->a.cast.to = DT_BOOL; break;
    default:
        return diag_node(d, n, "cast to ONNX type %lld is not supported", (long long)to);
    }
    return true;
}

static bool decode_reduce(Node *n, Diag *d)
{
    ReduceAttr *r = &n->a.reduce;
    int64_t keep, noop;
    if (!get_int(n, "keepdims", 1, &keep, d) ||
        !get_int(n, "noop_with_empty_axes", 0, &noop, d) ||
        !get_ints(n, "axes", CNNC_MAX_RANK, r->axes, &r->n, d))
        return false;
    r->keepdims = keep != 0;
    r->noop_with_empty_axes = noop != 0;
    return true;                /* axes as an input (ReduceSum-13, the others 18) in inference */
}

static bool get_string(Node *n, const char *name, const char *def, const char **out, Diag *d)
{
    const Attr *a = node_attr(n, name);
    *out = def;
    if (!a)
        return true;
    if (a->kind != ATTR_STRING)
        return diag_node(d, n, "attribute '%s' must be a string", name);
    *out = a->s;
    return true;
}

/* Resize-10 and Upsample map output to input coordinates as x/scale and take the floor for
 * nearest (what PyTorch's nearest does); Resize-11 added the two modes and half_pixel. */
static bool decode_resize(Node *n, Diag *d)
{
    ResizeAttr *r = &n->a.resize;
    static const char *const coords[] = { "half_pixel", "pytorch_half_pixel", "align_corners",
                                          "asymmetric", "tf_half_pixel_for_nn",
                                          "tf_crop_and_resize" };
    static const char *const nearest[] = { "round_prefer_floor", "round_prefer_ceil", "floor",
                                           "ceil" };
    bool old = n->op == OP_UPSAMPLE || n->opset < 11;
    const char *mode, *coord, *near, *policy;
    int64_t excl, antialias;
    if (!get_string(n, "mode", "nearest", &mode, d) ||
        !get_string(n, "coordinate_transformation_mode", old ? "asymmetric" : "half_pixel",
                    &coord, d) ||
        !get_string(n, "nearest_mode", old ? "floor" : "round_prefer_floor", &near, d) ||
        !get_string(n, "keep_aspect_ratio_policy", "stretch", &policy, d) ||
        !get_int(n, "exclude_outside", 0, &excl, d) || !get_int(n, "antialias", 0, &antialias, d) ||
        !get_float(n, "cubic_coeff_a", -0.75f, &r->cubic_a, d) ||
        !get_float(n, "extrapolation_value", 0.0f, &r->extrapolation, d))
        return false;
    r->exclude_outside = excl != 0;
    if (strcmp(mode, "nearest") == 0)
        r->mode = RESIZE_NEAREST;
    else if (strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0)
        r->mode = RESIZE_LINEAR;
    else if (strcmp(mode, "cubic") == 0 && n->op == OP_RESIZE)
        r->mode = RESIZE_CUBIC;
    else
        return diag_node(d, n, "mode '%s' is not supported (nearest, linear and cubic are)",
                         mode);
    r->coord = -1;
    for (int i = 0; i < (int)(sizeof coords / sizeof *coords); i++)
        if (strcmp(coord, coords[i]) == 0)
            r->coord = i;
    if (r->coord < 0)
        return diag_node(d, n, "coordinate_transformation_mode '%s' is not supported", coord);
    r->nearest = -1;
    for (int i = 0; i < (int)(sizeof nearest / sizeof *nearest); i++)
        if (strcmp(near, nearest[i]) == 0)
            r->nearest = i;
    if (r->nearest < 0)
        return diag_node(d, n, "nearest_mode '%s' is not supported", near);
    if (antialias || strcmp(policy, "stretch") != 0 || node_attr(n, "axes"))
        return diag_node(d, n, "antialias, axes and keep_aspect_ratio_policy are not "
                         "supported");
    r->nscales = -1;
    if (n->op == OP_UPSAMPLE && n->opset < 9) {
        const Attr *a = node_attr(n, "scales");
        if (!a || a->kind != ATTR_FLOATS || a->n > CNNC_MAX_RANK)
            return diag_node(d, n, "attribute 'scales' must be a list of at most %d floats",
                             CNNC_MAX_RANK);
        r->nscales = a->n;
        for (int i = 0; i < a->n; i++)
            r->scales[i] = a->floats[i];
    }
    return true;
}

static bool decode_conv_transpose(Node *n, Diag *d)
{
    ConvTransposeAttr *c = &n->a.convt;
    int64_t v[8];
    int cnt;
    if (!decode_window(n, d))
        return false;
    c->out_pad[0] = c->out_pad[1] = 0;
    if (!get_ints(n, "output_padding", 8, v, &cnt, d))
        return false;
    if (cnt >= 0 && cnt != 2)
        return diag_node(d, n, "'output_padding' must have 2 entries, it has %d", cnt);
    if (cnt == 2)
        memcpy(c->out_pad, v, sizeof c->out_pad);
    if (!get_ints(n, "output_shape", 8, v, &cnt, d))
        return false;
    if (cnt >= 0 && cnt != 2)
        return diag_node(d, n, "'output_shape' must have 2 entries (H, W), it has %d", cnt);
    c->has_out_shape = cnt == 2;
    if (cnt == 2)
        memcpy(c->out_shape, v, sizeof c->out_shape);
    for (int i = 0; i < 2; i++)
        if (c->out_pad[i] < 0 || c->out_pad[i] >= (c->w.stride[i] > c->w.dilation[i] ?
                                                   c->w.stride[i] : c->w.dilation[i]))
            return diag_node(d, n, "output_padding %lld must be less than the stride or the "
                             "dilation", (long long)c->out_pad[i]);
    return true;
}

bool node_decode_attrs(Node *n, Diag *d)
{
    int64_t v;
    switch (n->op) {
    case OP_CONV: case OP_MAXPOOL: case OP_AVGPOOL:
        return decode_window(n, d);
    case OP_GEMM: {
        int64_t ta, tb;
        if (!get_float(n, "alpha", 1.0f, &n->a.gemm.alpha, d) ||
            !get_float(n, "beta", 1.0f, &n->a.gemm.beta, d) ||
            !get_int(n, "transA", 0, &ta, d) || !get_int(n, "transB", 0, &tb, d))
            return false;
        n->a.gemm.trans_a = ta != 0;
        n->a.gemm.trans_b = tb != 0;
        return true;
    }
    case OP_BATCHNORM:
        if (node_attr(n, "training_mode") && node_attr(n, "training_mode")->i != 0)
            return diag_node(d, n, "training_mode=1 is not supported (inference only)");
        if (node_attr(n, "spatial") && node_attr(n, "spatial")->i == 0)
            return diag_node(d, n, "spatial=0 (BatchNormalization-7, statistics per element) "
                             "is not supported");
        return get_float(n, "epsilon", 1e-5f, &n->a.bn.epsilon, d);
    case OP_CLIP:
        return get_float(n, "min", -INFINITY, &n->a.act.alpha, d) &&
               get_float(n, "max", INFINITY, &n->a.act.beta, d);
    case OP_LEAKYRELU:
        return get_float(n, "alpha", 0.01f, &n->a.act.alpha, d);
    case OP_HARDSIGMOID:
        return get_float(n, "alpha", 0.2f, &n->a.act.alpha, d) &&
               get_float(n, "beta", 0.5f, &n->a.act.beta, d);
    case OP_CONCAT: case OP_GATHER:
        return get_int(n, "axis", n->op == OP_CONCAT ? INT64_MIN : 0, &n->a.axis.axis, d);
    case OP_FLATTEN:
        return get_int(n, "axis", 1, &n->a.axis.axis, d);
    case OP_SOFTMAX: case OP_LOGSOFTMAX:
        return get_int(n, "axis", n->opset >= 13 ? -1 : 1, &n->a.axis.axis, d);
    case OP_LRN:
        if (!get_int(n, "size", 0, &n->a.lrn.size, d))
            return false;
        if (n->a.lrn.size < 1)
            return diag_node(d, n, "attribute 'size' must be positive");
        return get_float(n, "alpha", 1e-4f, &n->a.lrn.alpha, d) &&
               get_float(n, "beta", 0.75f, &n->a.lrn.beta, d) &&
               get_float(n, "bias", 1.0f, &n->a.lrn.bias, d);
    case OP_TRANSPOSE:
        return decode_axes(n, "perm", d);
    case OP_SQUEEZE: case OP_UNSQUEEZE:
        return decode_axes(n, "axes", d);
    case OP_SPLIT:
        return decode_split(n, d);
    case OP_PAD:
        return decode_pad(n, d);
    case OP_SLICE:
        return decode_slice(n, d);
    case OP_CAST:
        return decode_cast(n, d);
    case OP_REDUCEMEAN: case OP_REDUCESUM: case OP_REDUCEMAX: case OP_REDUCEMIN:
        return decode_reduce(n, d);
    case OP_LAYERNORM:
        return get_int(n, "axis", -1, &n->a.ln.axis, d) &&
               get_float(n, "epsilon", 1e-5f, &n->a.ln.epsilon, d);
    case OP_RESIZE: case OP_UPSAMPLE:
        return decode_resize(n, d);
    case OP_CONVTRANSPOSE:
        return decode_conv_transpose(n, d);
    case OP_RESHAPE:
        if (!get_int(n, "allowzero", 0, &v, d))
            return false;
        n->a.reshape.allowzero = v != 0;
        return true;
    default:
        return true;
    }
}
