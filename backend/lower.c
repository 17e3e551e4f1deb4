/* Lowering: each node of the optimized graph becomes one or more kernel calls with every
 * shape written out as a constant parameter. This is the one place that decides how an op
 * runs; both emitters print what it decided. */
#include <stdlib.h>
#include <string.h>
#include "schedule.h"

static Step *new_step(Schedule *s, RtKernelId k, const Node *n, int nt, int np, Diag *d)
{
    if (s->nsteps == s->capsteps) {
        int cap = s->capsteps ? s->capsteps * 2 : 64;
        Step *p = realloc(s->steps, (size_t)cap * sizeof(Step));
        if (!p)
            return diag_error(d, "out of memory"), NULL;
        s->steps = p;
        s->capsteps = cap;
    }
    Step *st = &s->steps[s->nsteps];
    memset(st, 0, sizeof *st);
    st->kernel = k;
    st->node = n;
    st->nt = nt;
    st->nouts = 1;
    st->np = np;
    st->ws_slot = -1;
    st->t = ARENA_ARRAY(&s->g->arena, Value *, nt);
    st->p = ARENA_ARRAY(&s->g->arena, int64_t, np > 0 ? np : 1);
    if (!st->t || !st->p)
        return diag_error(d, "out of memory"), NULL;
    s->nsteps++;
    return st;
}

static int64_t prod(const int64_t *dims, int from, int to)
{
    int64_t n = 1;
    for (int i = from; i < to; i++)
        n *= dims[i];
    return n;
}

/* Gemm's B is stored [N,K] by torch's Linear (transB=1); the kernel wants [K,N], so a
 * constant B is transposed once here instead of at every run. */
static Value *transposed_constant(Graph *g, Value *b)
{
    int64_t dims[2] = { b->dims[1], b->dims[0] };
    char name[256];
    snprintf(name, sizeof name, "%s.T", b->name);
    Value *t = graph_add_constant(g, name, DT_F32, 2, dims);
    if (!t)
        return NULL;
    const float *src = b->data;
    float *dst = t->data;
    for (int64_t i = 0; i < b->dims[0]; i++)
        for (int64_t j = 0; j < b->dims[1]; j++)
            dst[j * b->dims[0] + i] = src[i * b->dims[1] + j];
    return t;
}

/* Conv weights [M, C/G, KH, KW] packed for the GEMM micro-kernels, group after group
 * (runtime/gemm.c rt_gemm_pack_a), so that no run repacks them. */
static Value *packed_conv_weights(Graph *g, Value *w, int64_t group)
{
    int64_t mg = w->dims[0] / group, kdim = value_numel(w) / w->dims[0];
    int64_t dims[1] = { (int64_t)rt_gemm_packed_a_size(mg, kdim) * group };
    char name[256];
    snprintf(name, sizeof name, "%s.packed", w->name);
    Value *t = graph_add_constant(g, name, DT_F32, 1, dims);
    if (!t)
        return NULL;
    for (int64_t i = 0; i < group; i++)
        rt_gemm_pack_a(mg, kdim, (const float *)w->data + i * mg * kdim, kdim,
                       (float *)t->data + i * (dims[0] / group));
    return t;
}

/* Conv weights [M, C, 3, 3] transformed for Winograd and packed: F(4x4,3x3)
 * (runtime/conv_winograd.c) or, small, F(2x2,3x3) (runtime/conv_winograd2.c). */
static Value *winograd_weights(Graph *g, Value *w, bool small)
{
    int64_t m = w->dims[0], c = w->dims[1];
    int64_t dims[1] = { (int64_t)(small ? rt_winograd2_weights_size(m, c)
                                        : rt_winograd_weights_size(m, c)) };
    char name[256];
    snprintf(name, sizeof name, "%s.%s", w->name, small ? "winograd2" : "winograd");
    Value *t = graph_add_constant(g, name, DT_F32, 1, dims);
    if (!t || !(small ? rt_winograd2_pack_weights(m, c, w->data, t->data)
                      : rt_winograd_pack_weights(m, c, w->data, t->data)))
        return NULL;
    return t;
}

/* Winograd pays off on 3x3 stride-1 layers with enough tiles and channels to amortize its
 * transforms: 16 channels in and out (on 28x28 and larger planes DenseNet's 128 -> 32
 * layers 1.25-1.3x over the direct kernel, SqueezeNet's 16 -> 64 and 32 -> 128 ones
 * 1.35-1.4x; with VGG's 3 input channels 4.7x slower); 14x14 and 13x13 planes (16 tiles)
 * too, their transforms packing four tile rows a vector (ResNet's 256 -> 256 layers 2.1x,
 * GoogLeNet's 96 -> 208 2.1x and 16 -> 48 1.7x, DenseNet's 128 -> 32 1.07x); 7x7 planes (4
 * tiles) not (1.7-2x slower: a quarter of the GEMM's lanes, four times the weights; see
 * use_winograd2). They are
 * vectorized for AVX-512 only, so only such hosts choose it. Its rounding error is a few
 * times a direct convolution's, and grows through the layers after it: ResNet-101/152
 * drift past the end-to-end tolerance, so it is chosen only at -O3, where the user asked
 * for speed over the last bits; and layers with fewer than 64 input channels take it only
 * on planes of 400 tiles (80x80) or less, since Inception v3's two 147x147 32-channel
 * layers alone (1.5x faster) take the model from 4.0e-4 to 6.7e-4 against a bound of
 * 6.6e-4. */
static bool use_winograd(const Graph *g, const WindowAttr *w, const Value *x, const Value *y,
                         const Value *wt)
{
    int64_t tiles = (y->dims[2] + 3) / 4 * ((y->dims[3] + 3) / 4), c = x->dims[1];
    return g->winograd && w->kernel[0] == 3 && w->kernel[1] == 3 && w->stride[0] == 1 &&
           w->stride[1] == 1 && w->dilation[0] == 1 && w->dilation[1] == 1 && w->group == 1 &&
           c >= 16 && y->dims[1] >= 16 && tiles >= 16 && (c >= 64 || tiles <= 400) &&
           wt->kind == VAL_CONSTANT && wt->dtype == DT_F32 && rt_cpu_isa() >= 2;
}

/* F(2x2,3x3) takes the small planes F(4x4,3x3) leaves (fewer than 16 of its tiles) when
 * its own 2x2 tiles fill a vector or more (16-64 of them: 7x7 to 12x12 square) and both channel
 * counts are 128 or more, so that the GEMMs outweigh the transforms. Measured on 7x7
 * planes against the direct kernel at one thread, weights cold: ResNet's 512 -> 512 1.48x,
 * 256 -> 256 1.43x, GoogLeNet's 160 -> 320 1.10x and 192 -> 384 1.19x; DenseNet's
 * 128 -> 32 0.85x and 64 -> 64 0.92x (not taken). Like F(4x4,3x3): -O3, AVX-512 hosts. */
static bool use_winograd2(const Graph *g, const WindowAttr *w, const Value *x, const Value *y,
                          const Value *wt)
{
    int64_t tiles4 = (y->dims[2] + 3) / 4 * ((y->dims[3] + 3) / 4);
    int64_t tiles2 = (y->dims[2] + 1) / 2 * ((y->dims[3] + 1) / 2);
    return g->winograd && w->kernel[0] == 3 && w->kernel[1] == 3 && w->stride[0] == 1 &&
           w->stride[1] == 1 && w->dilation[0] == 1 && w->dilation[1] == 1 && w->group == 1 &&
           x->dims[1] >= 128 && y->dims[1] >= 128 && tiles4 < 16 && tiles2 >= 16 &&
           tiles2 <= 64 && wt->kind == VAL_CONSTANT && wt->dtype == DT_F32 &&
           rt_cpu_isa() >= 2;
}

/* Conv weights [M, K] packed for the direct kernel (runtime/conv_direct.c). */
static Value *direct_conv_weights(Graph *g, Value *w)
{
    int64_t m = w->dims[0], kdim = value_numel(w) / m;
    int64_t dims[1] = { (int64_t)rt_conv_direct_weights_size(m, kdim) };
    char name[256];
    snprintf(name, sizeof name, "%s.direct", w->name);
    Value *t = graph_add_constant(g, name, DT_F32, 1, dims);
    if (!t)
        return NULL;
    rt_conv_direct_pack_weights(m, kdim, w->data, t->data);
    return t;
}

/* The direct kernel beats the packed GEMM on windows larger than 1x1: it packs nothing at
 * run time (measured 1.1-1.7x on DenseNet's, ResNet's, VGG's and SqueezeNet's 3x3 layers,
 * 1.3-1.9x on Inception's 5x5 ones, 1.2-1.4x on ResNet's stride-2 3x3 ones), but not
 *   - at stride 1 with fewer than 128 products per output, unless the channels are few (48
 *     or less, the GEMM's packing then shared by few rows) or the plane small (256 pixels
 *     or less, where the GEMM's 32-wide tiles go part empty): at 99 products the two are
 *     even, at 72 the GEMM is 10 % faster, on VGG's first layer (27) 1.7x;
 *   - at stride 2 with fewer than 128 products per output: 1.5x slower on the 3x3 stems
 *     of MobileNet and SqueezeNet (27), where on ResNet's 7x7 stem (147) it is 1.1x faster;
 *   - on 1x1 layers, where the GEMM reads its input in place or packs it once for many
 *     rows (the direct kernel's own 1x1 path, use_pointwise below, takes those where the
 *     GEMM's tiles would go part empty).
 * AVX-512 only, like its tile. */
static bool use_direct(const WindowAttr *w, const Value *x, const Value *y, const Value *wt,
                       const int64_t *p)
{
    int64_t kdim = x->dims[1] * w->kernel[0] * w->kernel[1];
    bool strided = w->stride[0] > 1 || w->stride[1] > 1;
    bool enough_work = kdim >= 128 || (!strided && kdim >= 64 &&
                                       (wt->dims[0] <= 48 || y->dims[2] * y->dims[3] <= 256));
    return rt_conv_direct_ok(p) && w->kernel[0] * w->kernel[1] > 1 && enough_work &&
           wt->kind == VAL_CONSTANT && wt->dtype == DT_F32 && rt_cpu_isa() >= 2;
}

/* What a 1x1 layer's M output channels and n pixels cost in the lanes each way fills: the
 * GEMM runs tiles of 12 rows (6 for a last few) by 32 columns (16 for a last few), the
 * pointwise path tiles of 32 channels (16 for a last few) by 14 pixels (the last of 7, 12
 * or 14). */
static int64_t gemm_lanes(int64_t m, int64_t n)
{
    int64_t rows = m / 12 * 12 + (m % 12 == 0 ? 0 : m % 12 <= 6 ? 6 : 12);
    return rows * (n / 32 * 32 + (n % 32 == 0 ? 0 : n % 32 <= 16 ? 16 : 32));
}

static int64_t pointwise_lanes(int64_t m, int64_t n)
{
    int64_t left = n % 14;
    int64_t chans = m / 32 * 32 + (m % 32 == 0 ? 0 : m % 32 <= 16 ? 16 : 32);
    return chans * (n / 14 * 14 + (left == 0 ? 0 : left <= 7 ? 7 : left <= 12 ? 12 : 14));
}

/* 1x1 layers go to the direct kernel's pointwise path, output channels the lanes, where
 * the GEMM's tiles would go part empty by 5 % more, counting the pointwise tile's way out
 * (a transpose per 16 channels) as worth 12 input channels, and at stride 2 the GEMM's
 * gathering as 5 %: 7x7 planes (49 of 64 columns; ResNet-50's 2048 -> 512 0.55 -> 0.45
 * ms, 0.36 -> 0.23 at two threads, its strided 1024 -> 2048 1.11 -> 0.91, MobileNetV2's
 * 960 -> 160 0.081 -> 0.065, DenseNet's 992 -> 128 1.25x), 14x14 ones (196 of 208; 1024
 * -> 256 0.457 -> 0.427, strided 512 -> 1024 0.93 -> 0.86). Measured over 46 shapes of
 * SqueezeNet, MobileNetV2, EfficientNet, GoogLeNet and DenseNet at one and two threads,
 * the rule takes all but 1 % of what choosing the faster of the two each time would:
 * planes of 13x13 (176 lanes against 175) and large ones with few output channels stay
 * with the GEMM (32 -> 16 at 112x112 1.9x slower as pointwise, 16 lanes a tile).
 * AVX-512 only, like the tile. */
static bool use_pointwise(const Value *x, const Value *wt, const int64_t *p)
{
    int64_t hw = p[5] * p[6], m = p[4], c = x->dims[1], gemm = p[9] == 2 ? 105 : 100;
    return rt_conv_pointwise_ok(p) &&
           pointwise_lanes(m, hw) * (c + 12) * 105 <= gemm_lanes(m, hw) * c * gemm &&
           wt->kind == VAL_CONSTANT && wt->dtype == DT_F32 && rt_cpu_isa() >= 2;
}

static bool lower_window(Schedule *s, Node *n, Diag *d)
{
    const WindowAttr *w = &n->a.win;
    Value *x = n->in[0], *y = n->out[0];
    bool conv = n->op == OP_CONV;
    RtKernelId k = conv ? RT_K_CONV : n->op == OP_MAXPOOL ? RT_K_MAXPOOL : RT_K_AVGPOOL;
    Step *st = new_step(s, k, n, conv ? 8 : 2, conv ? 19 : 17, d);
    if (!st)
        return false;
    st->t[0] = y;
    st->t[1] = x;
    if (conv) {
        int64_t pre = !n->pre.on ? 0 : n->pre.per_image ? 2 : 1;
        int64_t p[19] = { x->dims[0], x->dims[1], x->dims[2], x->dims[3], y->dims[1],
                          y->dims[2], y->dims[3], w->kernel[0], w->kernel[1], w->stride[0],
                          w->stride[1], w->pad[0], w->pad[1], w->dilation[0], w->dilation[1],
                          w->group, n->ep.act, pre, n->pre.act };
        memcpy(st->p, p, sizeof p);
        st->t[2] = n->in[1];
        st->t[3] = n->nin > 2 ? n->in[2] : NULL;
        st->t[5] = n->ep.residual ? n->in[3] : NULL;
        st->t[6] = n->pre.on ? n->in[4] : NULL;
        st->t[7] = n->pre.on ? n->in[5] : NULL;
        st->f[0] = n->ep.alpha;
        st->f[1] = n->ep.beta;
        bool depthwise = w->group == x->dims[1] && w->group == y->dims[1] && w->group > 1;
        bool direct = w->kernel[0] == 1 && w->kernel[1] == 1 && w->stride[0] == 1 &&
                      w->stride[1] == 1 && !w->pad[0] && !w->pad[1] &&
                      y->dims[2] == x->dims[2] && y->dims[3] == x->dims[3];
        bool small = w->group == 1 && y->dims[2] * y->dims[3] < 16;   /* dot products */
        if (use_winograd(s->g, w, x, y, n->in[1])) {
            st->t[2] = winograd_weights(s->g, n->in[1], false);
            if (!st->t[2])
                return diag_error(d, "out of memory");
            st->kernel = RT_K_CONV_WINOGRAD;
        } else if (!n->pre.on && use_winograd2(s->g, w, x, y, n->in[1])) {
            st->t[2] = winograd_weights(s->g, n->in[1], true);
            if (!st->t[2])
                return diag_error(d, "out of memory");
            st->kernel = RT_K_CONV_WINOGRAD2;
            st->ws_slot = 4;
            st->ws_bytes = rt_winograd2_workspace(st->p) * sizeof(float);
        } else if (use_direct(w, x, y, n->in[1], st->p) || use_pointwise(x, n->in[1], st->p)) {
            st->t[2] = direct_conv_weights(s->g, n->in[1]);
            if (!st->t[2])
                return diag_error(d, "out of memory");
            st->kernel = RT_K_CONV_DIRECT;
            st->ws_slot = 4;
            st->ws_bytes = rt_conv_direct_workspace(st->p) * sizeof(float);
        } else if (!depthwise && !small && n->in[1]->kind == VAL_CONSTANT &&
            n->in[1]->dtype == DT_F32) {
            st->t[2] = packed_conv_weights(s->g, n->in[1], w->group);
            if (!st->t[2])
                return diag_error(d, "out of memory");
            st->kernel = RT_K_CONV_PACKED;      /* gathers its input: no workspace */
        } else if (!depthwise && !direct) {
            st->ws_slot = 4;
            st->ws_bytes = (size_t)(x->dims[1] / w->group * w->kernel[0] * w->kernel[1] *
                                    y->dims[2] * y->dims[3]) * sizeof(float);
        }
        if (n->pre.on && st->kernel != RT_K_CONV_PACKED &&      /* fuse_input_scale's promise */
            !(st->kernel == RT_K_CONV_DIRECT && rt_conv_pointwise_ok(st->p)))
            return diag_node(d, n, "internal error: a scaled input needs the packed conv");
    } else {
        int64_t p[17] = { x->dims[0], x->dims[1], x->dims[2], x->dims[3], y->dims[2],
                          y->dims[3], w->kernel[0], w->kernel[1], w->stride[0], w->stride[1],
                          w->pad[0], w->pad[1], w->pad[2], w->pad[3], w->dilation[0],
                          w->dilation[1], w->count_include_pad };
        memcpy(st->p, p, sizeof p);
    }
    return true;
}

static bool lower_gemm(Schedule *s, Node *n, Diag *d)
{
    const GemmAttr *ga = &n->a.gemm;
    Value *a = n->in[0], *b = n->in[1], *c = n->nin > 2 ? n->in[2] : NULL, *y = n->out[0];
    bool tb = ga->trans_b;
    /* A classifier at batch 1-4 reads its weights once, as dot products along rows of B
     * [N, K]: contiguous streams. Larger batches transpose B once, for the packed GEMM. */
    if (tb && b->kind == VAL_CONSTANT && y->dims[0] > 4) {
        b = transposed_constant(s->g, b);
        if (!b)
            return diag_error(d, "out of memory");
        tb = false;
    }
    int64_t m = y->dims[0], nn = y->dims[1], k = ga->trans_a ? a->dims[0] : a->dims[1];
    int64_t cmode = 0;
    if (c) {
        int64_t cn = value_numel(c);
        cmode = cn == 1 ? 1 : c->rank == 2 && c->dims[0] == m && c->dims[1] == nn ? 4
              : c->rank == 2 && c->dims[1] == 1 ? 3 : 2;
    }
    Step *st = new_step(s, RT_K_GEMM, n, 4, 7, d);
    if (!st)
        return false;
    int64_t p[7] = { m, nn, k, ga->trans_a, tb, cmode, n->ep.act };
    memcpy(st->p, p, sizeof p);
    st->t[0] = y; st->t[1] = a; st->t[2] = b; st->t[3] = c;
    st->f[0] = ga->alpha;
    st->f[1] = ga->beta;
    st->f[2] = n->ep.alpha;
    st->f[3] = n->ep.beta;
    return true;
}

static bool lower_matmul(Schedule *s, Node *n, Diag *d)
{
    Value *a = n->in[0], *b = n->in[1], *y = n->out[0];
    int64_t m = a->rank == 1 ? 1 : a->dims[a->rank - 2], k = a->dims[a->rank - 1];
    int64_t nn = b->rank == 1 ? 1 : b->dims[b->rank - 1];
    int abat = a->rank > 2 ? a->rank - 2 : 0, bbat = b->rank > 2 ? b->rank - 2 : 0;
    int nb = abat > bbat ? abat : bbat;
    Step *st = new_step(s, RT_K_MATMUL, n, 3, 16, d);
    if (!st)
        return false;
    st->t[0] = y; st->t[1] = a; st->t[2] = b;
    st->p[0] = m; st->p[1] = nn; st->p[2] = k; st->p[3] = nb;
    int64_t astride = m * k, bstride = k * nn;
    for (int i = nb - 1; i >= 0; i--) {     /* batch axes, aligned from the right */
        int ia = i - (nb - abat), ib = i - (nb - bbat);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        st->p[4 + i] = da > db ? da : db;
        st->p[8 + i] = da == 1 ? 0 : astride;
        st->p[12 + i] = db == 1 ? 0 : bstride;
        astride *= da;
        bstride *= db;
    }
    return true;
}

static RtAct unary_act(OpKind op)
{
    switch (op) {
    case OP_RELU: return RT_ACT_RELU;
    case OP_CLIP: return RT_ACT_CLIP;
    case OP_LEAKYRELU: return RT_ACT_LEAKYRELU;
    case OP_SIGMOID: return RT_ACT_SIGMOID;
    case OP_TANH: return RT_ACT_TANH;
    case OP_HARDSIGMOID: return RT_ACT_HARDSIGMOID;
    case OP_HARDSWISH: return RT_ACT_HARDSWISH;
    case OP_EXP: return RT_ACT_EXP;
    case OP_LOG: return RT_ACT_LOG;
    case OP_SQRT: return RT_ACT_SQRT;
    case OP_NEG: return RT_ACT_NEG;
    case OP_ABS: return RT_ACT_ABS;
    case OP_ERF: return RT_ACT_ERF;
    case OP_RECIPROCAL: return RT_ACT_RECIPROCAL;
    default: return RT_ACT_NONE;
    }
}

static RtBinary binary_op(OpKind op)
{
    return op == OP_ADD ? RT_BIN_ADD : op == OP_SUB ? RT_BIN_SUB : op == OP_MUL ? RT_BIN_MUL
         : op == OP_DIV ? RT_BIN_DIV : RT_BIN_POW;
}

/* Element strides of v broadcast to the output's rank: 0 along axes of length 1. */
static void broadcast_strides(const Value *v, const Value *y, int64_t *out)
{
    int64_t stride = 1;
    for (int i = y->rank - 1; i >= 0; i--) {
        int iv = i - (y->rank - v->rank);
        int64_t dim = iv >= 0 ? v->dims[iv] : 1;
        out[i] = dim == 1 ? 0 : stride;
        stride *= dim;
    }
}

static bool lower_binary(Schedule *s, Node *n, Diag *d)
{
    Value *y = n->out[0];
    int r = y->rank > 0 ? y->rank : 1;
    Step *st = new_step(s, RT_K_BINARY, n, 3, 2 + 3 * r, d);
    if (!st)
        return false;
    st->t[0] = y; st->t[1] = n->in[0]; st->t[2] = n->in[1];
    st->p[0] = binary_op(n->op);
    st->p[1] = r;
    if (y->rank == 0) {         /* scalars: one element, both operands read at offset 0 */
        st->p[2] = 1; st->p[3] = 0; st->p[4] = 0;
        return true;
    }
    memcpy(st->p + 2, y->dims, sizeof(int64_t) * (size_t)r);
    broadcast_strides(n->in[0], y, st->p + 2 + r);
    broadcast_strides(n->in[1], y, st->p + 2 + 2 * r);
    return true;
}

static bool lower_copy(Schedule *s, const Node *n, Value *y, Value *x, Diag *d)
{
    Step *st = new_step(s, RT_K_COPY, n, 2, 1, d);
    if (!st)
        return false;
    st->t[0] = y; st->t[1] = x;
    st->p[0] = (int64_t)value_bytes(x);
    return true;
}

static bool lower_slice(Schedule *s, Node *n, Value *y, const int64_t *first,
                        const int64_t *step, Diag *d)
{
    Value *x = n->in[0];
    int r = x->rank;
    Step *st = new_step(s, RT_K_SLICE, n, 2, 2 + 4 * r, d);
    if (!st)
        return false;
    st->t[0] = y; st->t[1] = x;
    st->p[0] = r;
    st->p[1] = (int64_t)dtype_size(x->dtype);
    for (int i = 0; i < r; i++) {
        st->p[2 + i] = x->dims[i];
        st->p[2 + r + i] = y->dims[i];
        st->p[2 + 2 * r + i] = first[i];
        st->p[2 + 3 * r + i] = step[i];
    }
    return true;
}

static bool lower_split(Schedule *s, Node *n, Diag *d)
{
    int64_t first[CNNC_MAX_RANK] = {0}, step[CNNC_MAX_RANK];
    for (int i = 0; i < CNNC_MAX_RANK; i++)
        step[i] = 1;
    for (int i = 0; i < n->nout; i++) {
        if (n->out[i] && !lower_slice(s, n, n->out[i], first, step, d))
            return false;
        first[n->a.split.axis] += n->a.split.sizes[i];
    }
    return true;
}

static bool lower_concat(Schedule *s, Node *n, Diag *d)
{
    Value *y = n->out[0];
    int64_t axis = n->a.axis.axis, esize = (int64_t)dtype_size(y->dtype);
    Step *st = new_step(s, RT_K_CONCAT, n, 1 + n->nin, 2 + n->nin, d);
    if (!st)
        return false;
    st->t[0] = y;
    st->p[0] = n->nin;
    st->p[1] = prod(y->dims, 0, (int)axis);
    for (int i = 0; i < n->nin; i++) {
        st->t[1 + i] = n->in[i];
        st->p[2 + i] = prod(n->in[i]->dims, (int)axis, n->in[i]->rank) * esize;
    }
    return true;
}

static bool lower_tensor_op(Schedule *s, Node *n, Diag *d)
{
    Value *x = n->in[0], *y = n->out[0];
    int r = x->rank;
    Step *st;
    switch (n->op) {
    case OP_TRANSPOSE:
        if (!(st = new_step(s, RT_K_TRANSPOSE, n, 2, 2 + 2 * r, d)))
            return false;
        st->t[0] = y; st->t[1] = x;
        st->p[0] = r;
        st->p[1] = (int64_t)dtype_size(x->dtype);
        memcpy(st->p + 2, x->dims, sizeof(int64_t) * (size_t)r);
        memcpy(st->p + 2 + r, n->a.axes.v, sizeof(int64_t) * (size_t)r);
        return true;
    case OP_PAD:
        if (!(st = new_step(s, RT_K_PAD, n, 2, 3 + 3 * r, d)))
            return false;
        st->t[0] = y; st->t[1] = x;
        st->p[0] = r;
        st->p[1] = (int64_t)dtype_size(x->dtype);
        st->p[2] = n->a.pad.mode;
        memcpy(st->p + 3, x->dims, sizeof(int64_t) * (size_t)r);
        memcpy(st->p + 3 + r, n->a.pad.pads, sizeof(int64_t) * (size_t)r);
        memcpy(st->p + 3 + 2 * r, y->dims, sizeof(int64_t) * (size_t)r);
        st->f[0] = n->a.pad.value;
        return true;
    case OP_SLICE:
        return lower_slice(s, n, y, n->a.slice.first, n->a.slice.step, d);
    case OP_SPLIT:
        return lower_split(s, n, d);
    case OP_CONCAT:
        return lower_concat(s, n, d);
    case OP_GATHER: {
        Value *idx = n->in[1];
        int64_t axis = n->a.axis.axis;
        if (idx->kind != VAL_CONSTANT)
            return diag_node(d, n, "indices computed at run time are not supported");
        if (!(st = new_step(s, RT_K_GATHER, n, 3, 4, d)))
            return false;
        st->t[0] = y; st->t[1] = x; st->t[2] = idx;
        st->p[0] = prod(x->dims, 0, (int)axis);
        st->p[1] = x->dims[axis];
        st->p[2] = prod(x->dims, (int)axis + 1, r) * (int64_t)dtype_size(x->dtype);
        st->p[3] = value_numel(idx);
        return true;
    }
    default:
        if (n->op == OP_DROPOUT && n->nout > 1 && n->out[1] &&
            (n->out[1]->nusers > 0 || n->out[1]->is_output))
            return diag_node(d, n, "the mask output of Dropout is not supported");
        if (op_info[n->op].flags & OPF_RESHAPE || n->op == OP_DROPOUT)
            return lower_copy(s, n, y, x, d);
        return diag_node(d, n, "cannot be computed at run time (its inputs were expected to "
                         "be constants)");
    }
}

Step *lower_new_step(Schedule *s, RtKernelId k, const Node *n, int nt, int np, Diag *d)
{
    return new_step(s, k, n, nt, np, d);
}

bool lower_node(Schedule *s, Node *n, Diag *d)
{
    Value *x = n->in[0], *y = n->out[0];
    Step *st;
    int ext = lower_ext(s, n, d);       /* lower_ext.c: the ops it knows */
    if (ext >= 0)
        return ext == 1;
    switch (n->op) {
    case OP_CONV: case OP_MAXPOOL: case OP_AVGPOOL:
        return lower_window(s, n, d);
    case OP_GEMM:
        return lower_gemm(s, n, d);
    case OP_MATMUL:
        return lower_matmul(s, n, d);
    case OP_BATCHNORM:
        if (!(st = new_step(s, RT_K_BATCHNORM, n, 6, 3, d)))
            return false;
        for (int i = 0; i < 5; i++)
            st->t[1 + i] = n->in[i];
        st->t[0] = y;
        st->p[0] = x->dims[0];
        st->p[1] = x->dims[1];
        st->p[2] = prod(x->dims, 2, x->rank);
        st->f[0] = n->a.bn.epsilon;
        return true;
    case OP_CHANNELAFFINE:
        if (!(st = new_step(s, RT_K_AFFINE, n, 4, 4, d)))
            return false;
        for (int i = 0; i < 3; i++)
            st->t[1 + i] = n->in[i];
        st->t[0] = y;
        st->p[0] = x->dims[0];
        st->p[1] = x->dims[1];
        st->p[2] = prod(x->dims, 2, x->rank);
        st->p[3] = n->ep.act;
        st->f[0] = n->ep.alpha;
        st->f[1] = n->ep.beta;
        return true;
    case OP_GLOBALAVGPOOL: case OP_GLOBALMAXPOOL:
        if (!(st = new_step(s, RT_K_GLOBALPOOL, n, 2, 3, d)))
            return false;
        st->t[0] = y; st->t[1] = x;
        st->p[0] = x->dims[0] * x->dims[1];
        st->p[1] = x->dims[2] * x->dims[3];
        st->p[2] = n->op == OP_GLOBALMAXPOOL;
        return true;
    case OP_LRN:
        if (!(st = new_step(s, RT_K_LRN, n, 2, 4, d)))
            return false;
        st->t[0] = y; st->t[1] = x;
        st->p[0] = x->dims[0]; st->p[1] = x->dims[1]; st->p[2] = prod(x->dims, 2, 4);
        st->p[3] = n->a.lrn.size;
        st->f[0] = n->a.lrn.alpha; st->f[1] = n->a.lrn.beta; st->f[2] = n->a.lrn.bias;
        return true;
    case OP_SOFTMAX: case OP_LOGSOFTMAX: {
        int axis = (int)n->a.axis.axis;
        bool coerce_2d = n->opset < 13;     /* older Softmax flattened from axis on */
        if (!(st = new_step(s, RT_K_SOFTMAX, n, 2, 4, d)))
            return false;
        st->t[0] = y; st->t[1] = x;
        st->p[0] = prod(x->dims, 0, axis);
        st->p[1] = coerce_2d ? prod(x->dims, axis, x->rank) : x->dims[axis];
        st->p[2] = coerce_2d ? 1 : prod(x->dims, axis + 1, x->rank);
        st->p[3] = n->op == OP_LOGSOFTMAX;
        return true;
    }
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW:
        if (y->dtype != DT_F32)
            return diag_node(d, n, "integer arithmetic at run time is not supported");
        return lower_binary(s, n, d);
    default:
        if (op_info[n->op].flags & OPF_UNARY) {
            if (!(st = new_step(s, RT_K_UNARY, n, 2, 2, d)))
                return false;
            st->t[0] = y; st->t[1] = x;
            st->p[0] = value_numel(x);
            st->p[1] = unary_act(n->op);
            st->f[0] = n->a.act.alpha;
            st->f[1] = n->a.act.beta;
            return true;
        }
        return lower_tensor_op(s, n, d);
    }
}

void schedule_free(Schedule *s)
{
    if (!s)
        return;
    free(s->steps);
    free(s->outputs);
    free(s->where);
    free(s->weights);
    free(s);
}

Schedule *schedule_lower(Graph *g, Diag *d)
{
    Schedule *s = calloc(1, sizeof *s);
    if (!s)
        return diag_error(d, "out of memory"), NULL;
    s->g = g;
    graph_count_users(g);
    s->noutputs = g->noutputs;
    s->outputs = calloc((size_t)g->noutputs + 1, sizeof(Value *));
    if (!s->outputs)
        return diag_error(d, "out of memory"), schedule_free(s), NULL;
    for (int i = 0; i < g->noutputs; i++) {
        s->outputs[i] = g->outputs[i];
        if (g->outputs[i]->dtype != DT_F32)
            return diag_error(d, "graph output '%s' is %s; only float32 outputs are supported",
                              g->outputs[i]->name, dtype_name(g->outputs[i]->dtype)),
                   schedule_free(s), NULL;
    }
    for (int i = 0; i < g->nnodes; i++)
        if (!lower_node(s, g->nodes[i], d)) {
            schedule_free(s);
            return NULL;
        }
    /* An output that no step writes (a graph input, a constant) or that is listed twice
     * is copied into its own buffer at the end. The graph keeps its outputs: the schedule
     * says which values fill the caller's buffers, so lowering again gives the same. */
    graph_count_users(g);
    for (int i = 0; i < g->noutputs; i++) {
        Value *v = g->outputs[i];
        bool repeat = false;
        for (int j = 0; j < i; j++)
            repeat |= g->outputs[j] == v;
        if (v->producer && !repeat)
            continue;
        char name[300];
        snprintf(name, sizeof name, "%s.out%d", v->name, i);
        Value *copy = graph_add_value(g, name);
        if (!copy)
            return diag_error(d, "out of memory"), schedule_free(s), NULL;
        copy->dtype = v->dtype;
        copy->rank = v->rank;
        memcpy(copy->dims, v->dims, sizeof v->dims);
        if (!lower_copy(s, NULL, copy, v, d))
            return schedule_free(s), NULL;
        s->outputs[i] = copy;
    }
    return s;
}
