/* Shape rules of the compute ops: convolution, pooling, matrix products, normalizations
 * and element-wise arithmetic. Also resolves auto_pad into explicit pads and Clip's
 * min/max inputs into its attributes, so later stages see one form. */
#include <math.h>
#include "infer.h"

/* Output length of a window op along one axis; PyTorch's ceil_mode rule: the last window
 * must start inside the input or its leading pad. */
static int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t dil, int64_t p0, int64_t p1,
                          bool ceil_mode)
{
    int64_t span = in + p0 + p1 - ((k - 1) * dil + 1);
    if (span < 0)
        return 0;
    int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (out - 1) * s >= in + p0)
        out--;
    return out;
}

static void resolve_auto_pad(WindowAttr *w, const int64_t *in)
{
    for (int i = 0; i < 2; i++) {
        int64_t pb = 0, pe = 0;
        if (w->auto_pad == AUTOPAD_SAME_UPPER || w->auto_pad == AUTOPAD_SAME_LOWER) {
            int64_t out = (in[i] + w->stride[i] - 1) / w->stride[i];
            int64_t total = (out - 1) * w->stride[i] + (w->kernel[i] - 1) * w->dilation[i] + 1
                            - in[i];
            if (total < 0)
                total = 0;
            pb = w->auto_pad == AUTOPAD_SAME_UPPER ? total / 2 : total - total / 2;
            pe = total - pb;
        }
        w->pad[i] = pb;
        w->pad[i + 2] = pe;
    }
    w->auto_pad = AUTOPAD_NOTSET;
}

static int infer_window(Node *n, Diag *d)
{
    WindowAttr *w = &n->a.win;
    Value *x = n->in[0];
    int64_t dims[4];
    if (!need_f32(n, x, "input", d) || !need_rank(n, x, 4, "input", d))
        return 0;
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    if (n->op == OP_CONV) {
        Value *wt = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
        if (!need_f32(n, wt, "weight", d) || !need_rank(n, wt, 4, "weight", d))
            return 0;
        if (x->dims[1] % w->group || wt->dims[0] % w->group)
            return diag_node(d, n, "group %lld does not divide %lld input channels and %lld "
                             "output channels", (long long)w->group, (long long)x->dims[1],
                             (long long)wt->dims[0]);
        if (wt->dims[1] * w->group != x->dims[1])
            return diag_node(d, n, "weight '%s' expects %lld input channels per group, the "
                             "input has %lld channels in %lld groups", wt->name,
                             (long long)wt->dims[1], (long long)x->dims[1], (long long)w->group);
        for (int i = 0; i < 2; i++) {
            if (w->kernel[i] == 0)
                w->kernel[i] = wt->dims[2 + i];
            if (w->kernel[i] != wt->dims[2 + i])
                return diag_node(d, n, "kernel_shape disagrees with the weight's shape");
        }
        if (b && (!need_f32(n, b, "bias", d) || !need_rank(n, b, 1, "bias", d)))
            return 0;
        if (b && b->dims[0] != wt->dims[0])
            return diag_node(d, n, "bias has %lld entries for %lld output channels",
                             (long long)b->dims[0], (long long)wt->dims[0]);
        dims[1] = wt->dims[0];
    }
    if (w->auto_pad != AUTOPAD_NOTSET)
        resolve_auto_pad(w, x->dims + 2);
    for (int i = 0; i < 2; i++) {
        int64_t ext = (w->kernel[i] - 1) * w->dilation[i] + 1;
        if (ext > x->dims[2 + i] + w->pad[i] + w->pad[i + 2])
            return diag_node(d, n, "the window (%lld) is larger than the padded input (%lld)",
                             (long long)ext, (long long)(x->dims[2 + i] + w->pad[i] + w->pad[i + 2]));
        if (w->pad[i] >= ext || w->pad[i + 2] >= ext) {
            if (n->op != OP_CONV)
                return diag_node(d, n, "padding must be smaller than the window");
        }
        dims[2 + i] = window_out(x->dims[2 + i], w->kernel[i], w->stride[i], w->dilation[i],
                                 w->pad[i], w->pad[i + 2], w->ceil_mode && n->op != OP_CONV);
    }
    return set_shape(n, n->out[0], DT_F32, 4, dims, d);
}

static int infer_gemm(Node *n, Diag *d)
{
    Value *a = n->in[0], *b = n->in[1], *c = n->nin > 2 ? n->in[2] : NULL;
    GemmAttr *g = &n->a.gemm;
    if (!need_f32(n, a, "A", d) || !need_f32(n, b, "B", d) || !need_rank(n, a, 2, "A", d) ||
        !need_rank(n, b, 2, "B", d))
        return 0;
    int64_t m = g->trans_a ? a->dims[1] : a->dims[0], k = g->trans_a ? a->dims[0] : a->dims[1];
    int64_t kb = g->trans_b ? b->dims[1] : b->dims[0], nn = g->trans_b ? b->dims[0] : b->dims[1];
    int64_t dims[2] = { m, nn };
    if (k != kb)
        return diag_node(d, n, "inner dimensions differ: A gives %lld, B gives %lld",
                         (long long)k, (long long)kb);
    if (c) {
        Value out = { .rank = 2, .dims = { m, nn } };
        int r;
        int64_t bd[CNNC_MAX_RANK];
        if (!need_f32(n, c, "C", d) || c->rank > 2 || !broadcast_dims(n, c, &out, &r, bd, d))
            return c->rank > 2 ? diag_node(d, n, "C must have rank <= 2") : 0;
        if (bd[0] != m || bd[1] != nn)
            return diag_node(d, n, "C does not broadcast to the %lldx%lld result",
                             (long long)m, (long long)nn);
    }
    return set_shape(n, n->out[0], DT_F32, 2, dims, d);
}

/* NumPy matmul: 1-D operands are promoted to matrices and the added axis dropped again. */
static int infer_matmul(Node *n, Diag *d)
{
    Value *a = n->in[0], *b = n->in[1];
    Value ab = *a, bb = *b;
    int64_t dims[CNNC_MAX_RANK];
    int r;
    if (!need_f32(n, a, "A", d) || !need_f32(n, b, "B", d))
        return 0;
    if (a->rank < 1 || b->rank < 1)
        return diag_node(d, n, "operands must have rank >= 1");
    int64_t m = a->rank == 1 ? 1 : a->dims[a->rank - 2], k = a->dims[a->rank - 1];
    int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    int64_t nn = b->rank == 1 ? 1 : b->dims[b->rank - 1];
    if (k != kb)
        return diag_node(d, n, "inner dimensions differ: %lld vs %lld", (long long)k,
                         (long long)kb);
    ab.rank = a->rank > 2 ? a->rank - 2 : 0;
    bb.rank = b->rank > 2 ? b->rank - 2 : 0;
    if (!broadcast_dims(n, &ab, &bb, &r, dims, d))
        return 0;
    if (r > 4)
        return diag_node(d, n, "more than 4 batch axes are not supported");
    if (a->rank > 1)
        dims[r++] = m;
    if (b->rank > 1)
        dims[r++] = nn;
    return set_shape(n, n->out[0], DT_F32, r, dims, d);
}

static int infer_same(Node *n, Diag *d)
{
    Value *x = n->in[0];
    if (!need_f32(n, x, "input", d))
        return 0;
    return set_shape(n, n->out[0], DT_F32, x->rank, x->dims, d);
}

/* Clip-11 moved min and max from attributes to optional inputs. */
static int infer_clip(Node *n, Diag *d)
{
    for (int i = 1; i < n->nin && i < 3; i++) {
        Value *v = n->in[i];
        if (!v)
            continue;
        if (!need_const(n, v, i == 1 ? "min" : "max", d))
            return 0;
        if (value_numel(v) != 1)
            return diag_node(d, n, "'%s' must be a scalar", v->name);
        if (i == 1)
            n->a.act.alpha = value_f32(v, 0);
        else
            n->a.act.beta = value_f32(v, 0);
    }
    return infer_same(n, d);
}

static int infer_batchnorm(Node *n, Diag *d)
{
    Value *x = n->in[0];
    if (!need_f32(n, x, "input", d))
        return 0;
    if (x->rank < 2)
        return diag_node(d, n, "input must have rank >= 2");
    for (int i = 1; i < 5; i++) {
        if (!need_f32(n, n->in[i], "parameter", d) || !need_rank(n, n->in[i], 1, "parameter", d))
            return 0;
        if (n->in[i]->dims[0] != x->dims[1])
            return diag_node(d, n, "parameter '%s' has %lld entries for %lld channels",
                             n->in[i]->name, (long long)n->in[i]->dims[0], (long long)x->dims[1]);
    }
    return infer_same(n, d);
}

static int infer_binary(Node *n, Diag *d)
{
    Value *a = n->in[0], *b = n->in[1];
    int64_t dims[CNNC_MAX_RANK];
    int r;
    if (a->dtype != b->dtype)
        return diag_node(d, n, "operands have different types (%s and %s)",
                         dtype_name(a->dtype), dtype_name(b->dtype));
    if (!broadcast_dims(n, a, b, &r, dims, d))
        return 0;
    return set_shape(n, n->out[0], a->dtype, r, dims, d);
}

int infer_nn(Node *n, Diag *d)
{
    Value *x = n->in[0];
    int64_t dims[CNNC_MAX_RANK], axis;
    switch (n->op) {
    case OP_CONV: case OP_MAXPOOL: case OP_AVGPOOL:
        if (n->op == OP_MAXPOOL && n->nout > 1)
            return diag_node(d, n, "the Indices output is not supported");
        return infer_window(n, d);
    case OP_GLOBALAVGPOOL: case OP_GLOBALMAXPOOL:
        if (!need_f32(n, x, "input", d) || !need_rank(n, x, 4, "input", d))
            return 0;
        dims[0] = x->dims[0]; dims[1] = x->dims[1]; dims[2] = dims[3] = 1;
        return set_shape(n, n->out[0], DT_F32, 4, dims, d);
    case OP_GEMM:
        return infer_gemm(n, d);
    case OP_MATMUL:
        return infer_matmul(n, d);
    case OP_BATCHNORM:
        return infer_batchnorm(n, d);
    case OP_CHANNELAFFINE:
        for (int i = 1; i < 3; i++)
            if (!need_f32(n, n->in[i], "parameter", d) ||
                !need_rank(n, n->in[i], 1, "parameter", d) || x->rank < 2 ||
                n->in[i]->dims[0] != x->dims[1])
                return d->failed ? 0 : diag_node(d, n, "scale and shift must match the channels");
        return infer_same(n, d);
    case OP_LRN:
        if (!need_rank(n, x, 4, "input", d))
            return 0;
        return infer_same(n, d);
    case OP_SOFTMAX: case OP_LOGSOFTMAX:
        if (!norm_axis(n, n->a.axis.axis, x->rank, &axis, d))
            return 0;
        n->a.axis.axis = axis;
        return infer_same(n, d);
    case OP_CLIP:
        return infer_clip(n, d);
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW:
        return infer_binary(n, d);
    default:
        if (op_info[n->op].flags & OPF_UNARY)
            return infer_same(n, d);
        return -1;
    }
}
