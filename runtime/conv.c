/* 2-D convolution, NCHW. Depthwise convolutions run directly; every other shape becomes
 * one matrix product per image and group: W[Mg, Cg*KH*KW] x columns[Cg*KH*KW, OH*OW],
 * where the columns are the input itself for 1x1/stride-1/unpadded convolutions and an
 * im2col copy in the workspace otherwise. Bias and activation are applied per channel. */
#include <stdlib.h>
#include <string.h>
#include "rt.h"

typedef struct {
    int64_t n, c, h, w, m, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, g;
    RtAct act;
    float alpha, beta;
    int64_t pre;                /* input scaling: 0 none, 1 per channel, 2 per image */
    RtAct pre_act;
} ConvShape;

static ConvShape conv_shape(const int64_t *p, const float *f)
{
    ConvShape s;
    s.n = p[0]; s.c = p[1]; s.h = p[2]; s.w = p[3];
    s.m = p[4]; s.oh = p[5]; s.ow = p[6]; s.kh = p[7]; s.kw = p[8];
    s.sh = p[9]; s.sw = p[10]; s.pt = p[11]; s.pl = p[12]; s.dh = p[13]; s.dw = p[14];
    s.g = p[15]; s.act = (RtAct)p[16]; s.alpha = f[0]; s.beta = f[1];
    s.pre = p[17]; s.pre_act = (RtAct)p[18];
    return s;
}

static void im2col(const ConvShape *s, const float *x, float *col)
{
    int64_t cg = s->c / s->g, rows = cg * s->kh * s->kw, r;
    #pragma omp parallel for if (rows * s->oh * s->ow > 65536) schedule(static)
    for (r = 0; r < rows; r++) {
        int64_t c = r / (s->kh * s->kw), ki = (r / s->kw) % s->kh, kj = r % s->kw, oy, ox;
        float *dst = col + r * s->oh * s->ow;
        const float *src = x + c * s->h * s->w;
        for (oy = 0; oy < s->oh; oy++) {
            int64_t iy = oy * s->sh - s->pt + ki * s->dh;
            float *d = dst + oy * s->ow;
            if (iy < 0 || iy >= s->h) {
                memset(d, 0, (size_t)s->ow * sizeof(float));
                continue;
            }
            for (ox = 0; ox < s->ow; ox++) {
                int64_t ix = ox * s->sw - s->pl + kj * s->dw;
                d[ox] = ix >= 0 && ix < s->w ? src[iy * s->w + ix] : 0.0f;
            }
        }
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
RT_API int rt_dwconv_avx512_ok(const int64_t *p);
RT_API size_t rt_dwconv_scratch_avx512(const int64_t *p);
RT_API void rt_dwconv_scratch_init_avx512(const int64_t *p, float *scratch);
RT_API void rt_dwconv_plane_avx512(const int64_t *p, const float *f, const float *x,
                                   const float *wk, float bias, const float *res, float *y,
                                   float *scratch);
RT_API float rt_dot_avx512(int64_t K, const float *a, const float *b);
RT_API void rt_gemv_avx512(int64_t M, int64_t K, const float *w, const float *x, float *y);
RT_API int rt_act512_ok(int act);
RT_API void rt_act_avx512(float *y, int64_t n, int act, float alpha, float beta);
RT_API int rt_dwconv16_ok(const int64_t *p);
RT_API size_t rt_dwconv16_scratch(const int64_t *p);
RT_API void rt_dwconv16_scratch_init(const int64_t *p, float *scratch);
RT_API void rt_dwconv16_block_avx512(const int64_t *p, const float *f, const float *x,
                                     const float *w, const float *b, float *y, int64_t c0,
                                     float *scratch);
#endif

/* One plane of a depthwise convolution, portable. */
static void depthwise_plane(const ConvShape *s, const float *src, const float *wk, float bias,
                            const float *rp, float *dst)
{
    int64_t oy, ox, ki, kj;
    for (oy = 0; oy < s->oh; oy++) {
        for (ox = 0; ox < s->ow; ox++) {
            float acc = bias;
            for (ki = 0; ki < s->kh; ki++) {
                int64_t iy = oy * s->sh - s->pt + ki * s->dh;
                if (iy < 0 || iy >= s->h)
                    continue;
                for (kj = 0; kj < s->kw; kj++) {
                    int64_t ix = ox * s->sw - s->pl + kj * s->dw;
                    if (ix >= 0 && ix < s->w)
                        acc += src[iy * s->w + ix] * wk[ki * s->kw + kj];
                }
            }
            if (rp)
                acc += rp[oy * s->ow + ox];
            dst[oy * s->ow + ox] = rt_act(s->act, acc, s->alpha, s->beta);
        }
    }
}

#define DW_STACK_FLOATS 20480    /* 80 KiB: a 112x112 plane with its border and table */

#if defined(__GNUC__) && defined(__x86_64__)
/* Small planes, sixteen channels at a time (conv_dw_avx512.c), each thread with its own
 * scratch; the portable loop for the blocks of a thread that cannot have one. */
static void depthwise16(const ConvShape *s, const int64_t *p, const float *f, const float *x,
                        const float *w, const float *b, float *y)
{
    int64_t nblk = (s->c + 15) / 16, next = 0;
    size_t scratch = rt_dwconv16_scratch(p);
    #pragma omp parallel if (s->n * s->c * s->oh * s->ow > 16384)
    {
        float *buf = malloc(scratch * sizeof(float));
        int64_t task;
        if (buf)
            rt_dwconv16_scratch_init(p, buf);
        while ((task = rt_claim(&next, 1)) < s->n * nblk) {
            int64_t n = task / nblk, c0 = task % nblk * 16, c;
            const float *xn = x + n * s->c * s->h * s->w;
            float *yn = y + n * s->c * s->oh * s->ow;
            if (buf) {
                rt_dwconv16_block_avx512(p, f, xn, w, b, yn, c0, buf);
                continue;
            }
            for (c = c0; c < c0 + 16 && c < s->c; c++)
                depthwise_plane(s, xn + c * s->h * s->w, w + c * s->kh * s->kw,
                                b ? b[c] : 0.0f, NULL, yn + c * s->oh * s->ow);
        }
        free(buf);
    }
}
#endif

/* Depthwise (one input channel per output channel): plane by plane, vectorized where the
 * CPU and the shape allow (each thread with its own scratch plane); p and f as
 * rt_conv_f32's. */
static void depthwise(const ConvShape *s, const int64_t *p, const float *f, const float *x,
                      const float *w, const float *b, const float *res, float *y)
{
    int64_t nc = s->n * s->c, next = 0;
    int fast = 0;
    size_t scratch = 0;
#if defined(__GNUC__) && defined(__x86_64__)
    fast = rt_cpu_isa() >= 2 && rt_dwconv_avx512_ok(p);
    if (fast && !res && rt_dwconv16_ok(p)) {
        depthwise16(s, p, f, x, w, b, y);
        return;
    }
    if (fast)
        scratch = rt_dwconv_scratch_avx512(p);
#else
    (void)p;
    (void)f;
#endif
    #pragma omp parallel if (nc * s->oh * s->ow > 16384)
    {
        /* on the stack when it fits: a fresh heap block would page-fault at every call */
        float local[DW_STACK_FLOATS];
        float *heap = fast && scratch > DW_STACK_FLOATS ? malloc(scratch * sizeof(float)) : NULL;
        float *buf = fast && scratch <= DW_STACK_FLOATS ? local : heap;
        int64_t i, i0;
#if defined(__GNUC__) && defined(__x86_64__)
        if (buf)
            rt_dwconv_scratch_init_avx512(p, buf);
#else
        (void)buf;
#endif
        while ((i0 = rt_claim(&next, 4)) < nc) {
            for (i = i0; i < i0 + 4 && i < nc; i++) {
                int64_t c = i % s->c;
                const float *src = x + i * s->h * s->w, *wk = w + c * s->kh * s->kw;
                const float *rp = res ? res + i * s->oh * s->ow : NULL;
                float *dst = y + i * s->oh * s->ow, bias = b ? b[c] : 0.0f;
#if defined(__GNUC__) && defined(__x86_64__)
                if (buf) {
                    rt_dwconv_plane_avx512(p, f, src, wk, bias, rp, dst, buf);
                    continue;
                }
#endif
                depthwise_plane(s, src, wk, bias, rp, dst);
            }
        }
        free(heap);
    }
}

/* Output planes of a few pixels (squeeze-excitation convolutions on 1x1 maps): one dot
 * product of a weight row and a gathered input column per output, so that nothing is
 * packed or padded to a tile. Groups of one only; cols holds Cg*KH*KW*OH*OW floats. */
static void conv_small(const ConvShape *s, const float *x, const float *w, const float *b,
                       const float *res, float *y, float *cols)
{
    int64_t kdim = s->c * s->kh * s->kw, hw = s->oh * s->ow, n, m;
    int avx512 = 0;
#if defined(__GNUC__) && defined(__x86_64__)
    avx512 = rt_cpu_isa() >= 2;
#endif
    /* a 1x1 map under a 1x1 window (a squeeze-excitation's layers): the input is the
     * column, no gather (a division per element: half of such a layer's time) */
    int one = s->h == 1 && s->w == 1 && s->kh == 1 && s->kw == 1 && hw == 1;
    for (n = 0; n < s->n; n++) {
        const float *xn = x + n * s->c * s->h * s->w, *cv = one ? xn : cols;
        int64_t k, j;
        for (k = 0; k < kdim && !one; k++) {  /* cols[j][k]: column j of the im2col matrix */
            int64_t c = k / (s->kh * s->kw), ki = k / s->kw % s->kh, kj = k % s->kw;
            for (j = 0; j < hw; j++) {
                int64_t iy = j / s->ow * s->sh - s->pt + ki * s->dh;
                int64_t ix = j % s->ow * s->sw - s->pl + kj * s->dw;
                cols[j * kdim + k] = iy >= 0 && iy < s->h && ix >= 0 && ix < s->w
                                   ? xn[(c * s->h + iy) * s->w + ix] : 0.0f;
            }
        }
#if defined(__GNUC__) && defined(__x86_64__)
        if (avx512 && hw == 1) {      /* a squeeze-excitation's: a matrix-vector product */
            float *yn = y + n * s->m;
            /* long rows one at a time, each a stream from memory; short ones 16 at once;
             * threads share the rows (EfficientNet's 1152 x 48 layers, their weights
             * cold: 0.014 ms at one thread and at two before) */
            int64_t per = kdim >= 256 ? 1 : 16;     /* rows a task */
            #pragma omp parallel for if (s->m * kdim >= 32768) schedule(static)
            for (m = 0; m < (s->m + per - 1) / per; m++) {
                int64_t m0 = m * per, rows = s->m - m0 < per ? s->m - m0 : per;
                if (per == 1)
                    yn[m0] = rt_dot_avx512(kdim, w + m0 * kdim, cv);
                else
                    rt_gemv_avx512(rows, kdim, w + m0 * kdim, cv, yn + m0);
            }
            for (m = 0; m < s->m; m++)
                yn[m] += (b ? b[m] : 0.0f) + (res ? res[n * s->m + m] : 0.0f);
            if (rt_act512_ok(s->act))
                rt_act_avx512(yn, s->m, s->act, s->alpha, s->beta);
            else
                rt_act_inplace(yn, (size_t)s->m, s->act, s->alpha, s->beta);
            continue;
        }
#endif
        #pragma omp parallel for if (s->m * kdim * hw > 131072) schedule(static)
        for (m = 0; m < s->m; m++) {
            const float *wm = w + m * kdim;
            int64_t jj, q;
            for (jj = 0; jj < hw; jj++) {
                const float *col = cv + jj * kdim;
                float acc = 0.0f;
                int64_t at = (n * s->m + m) * hw + jj;
#if defined(__GNUC__) && defined(__x86_64__)
                if (avx512)
                    acc = rt_dot_avx512(kdim, wm, col);
                else
#endif
                    for (q = 0; q < kdim; q++)
                        acc += wm[q] * col[q];
                acc += (b ? b[m] : 0.0f) + (res ? res[at] : 0.0f);
                y[at] = rt_act(s->act, acc, s->alpha, s->beta);
            }
        }
    }
    (void)avx512;
}

/* Every non-depthwise convolution as packed GEMMs, one per image and group, with B
 * gathered straight from the input (no im2col buffer) and the epilogue fused. ap holds
 * the weights of each group packed by rt_gemm_pack_a, one group after another. */
static void conv_gemm(const ConvShape *s, const float *x, const float *ap, const float *b,
                      const float *res, const float *scale, const float *shift, float *y)
{
    int64_t cg = s->c / s->g, mg = s->m / s->g, kdim = cg * s->kh * s->kw, hw = s->oh * s->ow;
    int64_t n, g;
    size_t gsize = rt_gemm_packed_a_size(mg, kdim);
    int direct = s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 &&
                 s->pl == 0 && s->oh == s->h && s->ow == s->w;
    /* A squeeze-excitation's scale of a 1x1 convolution's input channels is a scale of its
     * weights' columns: with fewer rows of weights than pixels, the weights are scaled (per
     * image) and the input read in place, instead of packed with the scale (EfficientNet's
     * 32 -> 16 layer at 112x112: 0.17 -> 0.07 ms) */
    float *scaled = direct && s->pre && !shift && s->pre_act == RT_ACT_NONE && mg < hw ?
                    malloc(gsize * sizeof(float)) : NULL;
    for (n = 0; n < s->n; n++)
        for (g = 0; g < s->g; g++) {
            RtGemmB B;
            RtGemmEpilogue ep;
            int64_t yoff = (n * s->m + g * mg) * hw;
            const float *a = ap + (size_t)g * gsize;
            memset(&B, 0, sizeof B);
            B.x = x + (n * s->c + g * cg) * s->h * s->w;
            B.ldb = hw;
            if (scaled) {
                rt_gemm_scale_a(mg, kdim, a, scale + (s->pre == 2 ? n * s->c : 0) + g * cg,
                                scaled);
                a = scaled;
            } else if (s->pre) {
                B.scale = scale + (s->pre == 2 ? n * s->c : 0) + g * cg;
                B.shift = shift ? shift + g * cg : NULL;
                B.pre_act = s->pre_act;
            }
            if (!direct) {
                B.h = s->h; B.w = s->w; B.ow = s->ow; B.kh = s->kh; B.kw = s->kw;
                B.sh = s->sh; B.sw = s->sw; B.pt = s->pt; B.pl = s->pl;
                B.dh = s->dh; B.dw = s->dw;
            }
            ep.bias = b ? b + g * mg : NULL;
            ep.res = res ? res + yoff : NULL;
            ep.act = s->act;
            ep.alpha = s->alpha;
            ep.beta = s->beta;
            rt_gemm_packed(mg, hw, kdim, a, &B, y + yoff, hw, 0, &ep);
        }
    free(scaled);
}

/* t: y x w b(or NULL) workspace(or NULL) residual(or NULL);
 * p: N C H W M OH OW KH KW SH SW PT PL DH DW G ACT; f: act_alpha act_beta.
 * y = act(conv(x, w) + b + residual): the epilogue fused passes put here. The workspace
 * holds Cg*KH*KW*OH*OW floats unless the convolution is 1x1, stride 1, unpadded; it is
 * only used when memory for packing the weights cannot be had. */
RT_API void rt_conv_f32(void *const *t, const int64_t *p, const float *f)
{
    ConvShape s = conv_shape(p, f);
    float *y = t[0], *ws = t[4], *ap;
    const float *x = t[1], *w = t[2], *b = t[3], *res = t[5];
    int64_t cg = s.c / s.g, mg = s.m / s.g, kdim = cg * s.kh * s.kw, hw = s.oh * s.ow;
    int64_t n, g, m;
    int direct = s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.pt == 0 && s.pl == 0
                 && s.oh == s.h && s.ow == s.w;
    if (s.g == s.c && s.m == s.c && s.g > 1) {
        depthwise(&s, p, f, x, w, b, res, y);
        return;
    }
    if (s.g == 1 && hw < 16) {
        float *cols = malloc((size_t)(kdim * hw) * sizeof(float));
        if (cols) {
            conv_small(&s, x, w, b, res, y, cols);
            free(cols);
            return;
        }
    }
    ap = malloc(rt_gemm_packed_a_size(mg, kdim) * (size_t)s.g * sizeof(float));
    if (ap) {
        size_t gsize = rt_gemm_packed_a_size(mg, kdim);
        for (g = 0; g < s.g; g++)
            rt_gemm_pack_a(mg, kdim, w + g * mg * kdim, kdim, ap + (size_t)g * gsize);
        conv_gemm(&s, x, ap, b, res, t[6], t[7], y);
        free(ap);
        return;
    }
    for (n = 0; n < s.n; n++) {
        const float *xn = x + n * s.c * s.h * s.w;
        float *yn = y + n * s.m * hw;
        for (g = 0; g < s.g; g++) {
            const float *cols = xn + g * cg * s.h * s.w;
            if (!direct) {
                ConvShape sg = s;
                sg.c = cg;
                sg.g = 1;
                im2col(&sg, cols, ws);
                cols = ws;
            }
            rt_sgemm(mg, hw, kdim, w + g * mg * kdim, kdim, cols, hw, yn + g * mg * hw, hw, 0);
        }
        #pragma omp parallel for if (s.m * hw > 65536) schedule(static)
        for (m = 0; m < s.m; m++) {
            float *ym = yn + m * hw, bias = b ? b[m] : 0.0f;
            const float *rm = res ? res + (n * s.m + m) * hw : 0;
            int64_t i;
            if (bias != 0.0f)
                for (i = 0; i < hw; i++)
                    ym[i] += bias;
            if (rm)
                for (i = 0; i < hw; i++)
                    ym[i] += rm[i];
            rt_act_inplace(ym, (size_t)hw, s.act, s.alpha, s.beta);
        }
    }
}

/* The same with the weights packed at compile time (rt_gemm_pack_a per group, groups one
 * after another; depthwise weights as they are): t and p as rt_conv_f32, no workspace. */
RT_API void rt_conv_packed_f32(void *const *t, const int64_t *p, const float *f)
{
    ConvShape s = conv_shape(p, f);
    if (s.g == s.c && s.m == s.c && s.g > 1) {
        depthwise(&s, p, f, t[1], t[2], t[3], t[5], t[0]);
        return;
    }
    conv_gemm(&s, t[1], t[2], t[3], t[5], t[6], t[7], t[0]);
}
