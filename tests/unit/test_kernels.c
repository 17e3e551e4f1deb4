/* The runtime's kernels (convolution, pooling, normalizations, element-wise, data
 * movement; the matrix products are in test_gemm.c) against scalar references written here
 * from the ONNX operator definitions: double accumulation, naive loops, LCG data, odd sizes
 * so that tile and SIMD/OpenMP tails run too. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "runtime/rt.h"
#include "util.h"

#define RUN(k, ...) rt_kernels[RT_K_##k]((void *const[]){ __VA_ARGS__ }, p, f)

/* ---- convolution ----------------------------------------------------------------------------- */
typedef struct {
    int64_t n, c, h, w, m, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g;
    int bias;
    RtAct act;
    float alpha, beta;
} ConvCase;

static const ConvCase conv_cases[] = {
    /*  n  c  h   w   m  kh kw sh sw pt pl pb pr dh dw g  bias act */
    {   2, 5, 7, 13,  6, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_NONE, 0, 0 },  /* direct */
    {   1, 3, 7, 13, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, RT_ACT_RELU, 0, 0 },
    {   2, 4, 9, 11,  5, 3, 3, 2, 2, 1, 0, 2, 1, 1, 1, 1, 0, RT_ACT_NONE, 0, 0 },  /* asym pads */
    {   1, 3, 12, 10, 4, 3, 2, 1, 2, 2, 1, 2, 1, 2, 3, 1, 1, RT_ACT_NONE, 0, 0 },  /* dilated */
    {   2, 6, 8, 7,   4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, RT_ACT_RELU, 0, 0 },  /* groups */
    {   2, 5, 9, 10,  5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 5, 1, RT_ACT_RELU, 0, 0 },  /* depthwise */
    {   1, 7, 6, 5,   7, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 7, 0, RT_ACT_NONE, 0, 0 },  /* dw dilated */
    {   1, 4, 7, 7,   8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1, RT_ACT_NONE, 0, 0 },  /* 2 per group */
    {   1, 6, 9, 9,   5, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_NONE, 0, 0 },  /* 1x1 s2 */
    {   1, 6, 5, 5,   5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, RT_ACT_NONE, 0, 0 },  /* 1x1 pad */
    {   1, 3, 6, 7,   9, 2, 2, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, RT_ACT_NONE, 0, 0 },  /* end pads */
    {   1, 3, 5, 6,   4, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, RT_ACT_NONE, 0, 0 },  /* not direct */
    {   1, 4, 7, 9,   6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, RT_ACT_CLIP, -0.2f, 0.3f },
    {   1, 4, 7, 9,   6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, RT_ACT_LEAKYRELU, 0.1f, 0 },
    {   1, 4, 7, 9,  13, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, RT_ACT_HARDSWISH, 0, 0 },
    {   2, 6, 5, 8,   6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, RT_ACT_SIGMOID, 0, 0 },
    {   1, 5, 6, 6,   5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, 1, RT_ACT_HARDSIGMOID, 0.3f, 0.4f },
    {   1, 8, 40, 40, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, RT_ACT_RELU, 0, 0 }, /* OpenMP */
    /* unpadded, so also run with the input scalings: 1x1 over several blocks, 3x3 gathered */
    {   2, 40, 30, 30, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_NONE, 0, 0 },
    {   1, 6, 9, 11,  7, 3, 3, 1, 2, 0, 0, 0, 0, 1, 1, 1, 0, RT_ACT_RELU, 0, 0 },
    /* stride 1, so also run by the direct kernel (16 to 64 channels, whole and partial
     * vectors); then a 7x7 stem and strided 3x3 layers (the GEMM's stride-2 gather) */
    {   1, 5, 9, 13, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, RT_ACT_NONE, 0, 0 },
    {   2, 3, 7, 7,  48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, RT_ACT_RELU, 0, 0 },
    {   1, 4, 12, 10, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, RT_ACT_SILU, 0, 0 },
    {   1, 6, 11, 9, 64, 3, 3, 1, 1, 2, 1, 0, 2, 2, 1, 1, 1, RT_ACT_CLIP, 0, 6 },
    {   1, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, RT_ACT_LEAKYRELU, 0.1f, 0 },
    /* planes whose rows split into runs of 7 pixels: 7x7 over three channel blocks (the
     * last of 16 lanes), and a 1x1 whose last run of a row reaches into the next row */
    {   1, 40, 7, 7, 80, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, RT_ACT_RELU, 0, 0 },
    {   1, 4, 3, 13, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_NONE, 0, 0 },
    /* 1x1 layers on planes of 14 to 256 pixels, the direct kernel's pointwise path: K in
     * one to three blocks of 256, tiles of 14 with a last one of 7 or 12 that moves back
     * over pixels already stored, partial channel blocks, few blocks split by tiles */
    {   2, 300, 7, 7, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_RELU, 0, 0 },
    {   1, 600, 14, 14, 70, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_CLIP, 0, 6 },
    {   1, 260, 4, 4, 32, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, RT_ACT_NONE, 0, 0 },
    {   1, 130, 3, 5, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_SILU, 0, 0 },
    {   1, 129, 16, 16, 48, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_NONE, 0, 0 },
    {   1, 257, 2, 13, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_LEAKYRELU, 0.1f, 0 },
    /* ... large planes with K in one block; at stride 2 (gathered), odd sizes included */
    {   1, 24, 30, 31, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_CLIP, 0, 6 },
    {   1, 300, 14, 14, 40, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_RELU, 0, 0 },
    {   2, 20, 13, 15, 33, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, RT_ACT_NONE, 0, 0 },
    /* outputs of one pixel (a squeeze-excitation's layers): sixteen rows at a time with a
     * short last block and a ragged K; two images; long rows one at a time; a padded 3x3
     * on a 1x1 map */
    {   1, 40, 1, 1, 37, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_SIGMOID, 0, 0 },
    {   2, 20, 1, 1, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_SILU, 0, 0 },
    {   1, 300, 1, 1, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_SIGMOID, 0, 0 },
    {   1, 6, 1, 1, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, RT_ACT_RELU, 0, 0 },
    /* the direct kernel at stride 2: runs of 7 (a 7-wide output), of 12 with a short last
     * run, strides differing by axis, and dilated */
    {   1, 20, 14, 14, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, RT_ACT_RELU, 0, 0 },
    {   1, 4, 15, 17, 16, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 1, 0, RT_ACT_NONE, 0, 0 },
    {   2, 5, 17, 16, 32, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, RT_ACT_CLIP, 0, 6 },
    {   1, 2, 5, 4,  16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, RT_ACT_NONE, 0, 0 },
    {   1, 3, 23, 29, 32, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, RT_ACT_RELU, 0, 0 },
    {   2, 8, 14, 13, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, RT_ACT_NONE, 0, 0 },
    {   1, 5, 9, 30,  16, 3, 3, 3, 2, 0, 2, 1, 0, 1, 2, 1, 0, RT_ACT_SILU, 0, 0 },
    /* runs of 14 (output widths 14, 28, 42): a stem, a strided 3x3 over two images */
    {   1, 3, 28, 28, 16, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, RT_ACT_RELU, 0, 0 },
    {   2, 9, 56, 56, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, RT_ACT_NONE, 0, 0 },
    {   1, 4, 12, 84, 20, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, RT_ACT_CLIP, 0, 6 },
    /* depthwise shapes of MobileNet and EfficientNet: each vectorized variant, planes of
     * one to five vectors a row, short last groups, asymmetric pads, wide dilations */
    {   1, 3, 37, 37, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, RT_ACT_CLIP, 0, 6 },
    {   2, 4, 36, 35, 4, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 4, 1, RT_ACT_SILU, 0, 0 },
    {   1, 3, 14, 14, 3, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 3, 1, RT_ACT_SILU, 0, 0 },
    {   1, 2, 29, 71, 2, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 2, 0, RT_ACT_NONE, 0, 0 },
    {   1, 2, 7, 7,   2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, RT_ACT_RELU, 0, 0 },
    {   1, 3, 9, 20,  3, 7, 7, 1, 2, 3, 3, 3, 3, 1, 1, 3, 1, RT_ACT_SIGMOID, 0, 0 },
    {   1, 2, 11, 19, 2, 3, 2, 2, 1, 0, 2, 3, 0, 1, 3, 2, 1, RT_ACT_HARDSWISH, 0, 0 },
    {   1, 2, 5, 6,   2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2, 1, RT_ACT_TANH, 0, 0 },
    /* planes of 56x56 and less go sixteen channels a vector (but with a residual):
     * whole and partial blocks, two images, both strides, 5x5; larger ones by plane */
    {   2, 40, 14, 14, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 40, 1, RT_ACT_CLIP, 0, 6 },
    {   1, 33, 28, 28, 33, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 33, 1, RT_ACT_SILU, 0, 0 },
    {   1, 16, 7, 7,  16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16, 0, RT_ACT_NONE, 0, 0 },
    {   1, 17, 29, 29, 17, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 17, 1, RT_ACT_RELU, 0, 0 },
    {   1, 18, 13, 11, 18, 3, 3, 2, 1, 2, 0, 1, 2, 2, 1, 18, 1, RT_ACT_HARDSWISH, 0, 0 },
    {   1, 17, 56, 56, 17, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 17, 1, RT_ACT_CLIP, 0, 6 },
    {   1, 3, 57, 57,  3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3, 1, RT_ACT_RELU, 0, 0 },
};

static int64_t out_len(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1)
{
    return (in + p0 + p1 - ((k - 1) * d + 1)) / s + 1;
}

/* Both conv kernels (weights as given, and packed per group by rt_gemm_pack_a), with and
 * without the fused residual y = act(conv(x, w) + b + r); iteration: case * NISA + ISA. */
START_TEST(conv_matches_reference)
{
    const ConvCase *c = &conv_cases[_i / NISA];
    int64_t oh = out_len(c->h, c->kh, c->sh, c->dh, c->pt, c->pb);
    int64_t ow = out_len(c->w, c->kw, c->sw, c->dw, c->pl, c->pr);
    int64_t cg = c->c / c->g, mg = c->m / c->g, kdim = cg * c->kh * c->kw;
    size_t nx = (size_t)(c->n * c->c * c->h * c->w), nw = (size_t)(c->m * kdim);
    size_t ny = (size_t)(c->n * c->m * oh * ow), gsize = rt_gemm_packed_a_size(mg, kdim);
    bool depthwise = c->g == c->c && c->g == c->m && c->g > 1;
    float *x = alloc_uniform(nx, 1 + _i, -1, 1), *w = alloc_uniform(nw, 100 + _i, -1, 1);
    float *b = c->bias ? alloc_uniform((size_t)c->m, 200 + _i, -1, 1) : NULL;
    float *r = alloc_uniform(ny, 300 + _i, -1, 1);
    float *y = malloc(ny * sizeof *y), *want = malloc(ny * sizeof *want);
    float *ws = malloc((size_t)(kdim * oh * ow) * sizeof(float));
    float *wp = malloc(gsize * (size_t)c->g * sizeof(float));
    /* input scalings a conv can take over (unpadded convs only): none; relu(x * s[c] +
     * t[c]) as after DenseNet's BatchNorm; x * s[n, c] as after a squeeze-excitation */
    bool unpadded = !c->pt && !c->pl && !c->pb && !c->pr;
    float *sc = alloc_uniform((size_t)(c->n * c->c), 400 + _i, 0.2f, 1.5f);
    float *sh = alloc_uniform((size_t)c->c, 500 + _i, -0.5f, 0.5f);
    float *xs = malloc(nx * sizeof *xs);
    use_isa(_i % NISA);
    for (int64_t g = 0; g < c->g; g++)
        rt_gemm_pack_a(mg, kdim, w + g * mg * kdim, kdim, wp + (size_t)g * gsize);
    for (int pre = 0; pre < (unpadded && !depthwise ? 3 : 1); pre++)
    for (int with_res = 0; with_res < 2; with_res++) {
        for (size_t i = 0; i < nx; i++) {
            int64_t plane = (int64_t)i / (c->h * c->w), n = plane / c->c, ch = plane % c->c;
            double v = pre == 1 ? (double)x[i] * sc[ch] + sh[ch]
                     : pre == 2 ? (double)x[i] * sc[n * c->c + ch] : x[i];
            xs[i] = (float)(pre == 1 && v < 0 ? 0 : v);
        }
        for (int64_t n = 0; n < c->n; n++)
            for (int64_t m = 0; m < c->m; m++)
                for (int64_t oy = 0; oy < oh; oy++)
                    for (int64_t ox = 0; ox < ow; ox++) {
                        int64_t at = ((n * c->m + m) * oh + oy) * ow + ox, g = m / mg;
                        double acc = (b ? b[m] : 0) + (with_res ? r[at] : 0);
                        for (int64_t ci = 0; ci < cg; ci++)
                            for (int64_t ki = 0; ki < c->kh; ki++)
                                for (int64_t kj = 0; kj < c->kw; kj++) {
                                    int64_t iy = oy * c->sh - c->pt + ki * c->dh;
                                    int64_t ix = ox * c->sw - c->pl + kj * c->dw;
                                    if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w)
                                        continue;
                                    acc += (double)w[((m * cg + ci) * c->kh + ki) * c->kw + kj] *
                                           xs[((n * c->c + g * cg + ci) * c->h + iy) * c->w + ix];
                                }
                        want[at] = (float)ref_act(c->act, acc, c->alpha, c->beta);
                    }
        int64_t p[19] = { c->n, c->c, c->h, c->w, c->m, oh, ow, c->kh, c->kw, c->sh, c->sw,
                          c->pt, c->pl, c->dh, c->dw, c->g, c->act, pre,
                          pre == 1 ? RT_ACT_RELU : RT_ACT_NONE };
        float f[4] = { c->alpha, c->beta, 0, 0 };
        if (!pre) {
            memset(y, 0xff, ny * sizeof *y);   /* NaN: every element must be written */
            RUN(CONV, y, x, w, b, ws, with_res ? r : NULL, NULL, NULL);
            EXPECT_CLOSE(y, want, ny, 1e-4, 1e-4);
        }
        memset(y, 0xff, ny * sizeof *y);   /* depthwise weights are passed unpacked */
        RUN(CONV_PACKED, y, x, depthwise ? w : wp, b, NULL, with_res ? r : NULL,
            pre ? sc : NULL, pre == 1 ? sh : NULL);
        EXPECT_CLOSE(y, want, ny, 1e-4, 1e-4);
        if (rt_conv_direct_ok(p) || rt_conv_pointwise_ok(p)) {
            float *wd = malloc(rt_conv_direct_weights_size(c->m, kdim) * sizeof(float));
            float *wsd = malloc(rt_conv_direct_workspace(p) * sizeof(float) + 1);
            rt_conv_direct_pack_weights(c->m, kdim, w, wd);
            memset(y, 0xff, ny * sizeof *y);
            RUN(CONV_DIRECT, y, x, wd, b, wsd, with_res ? r : NULL, pre ? sc : NULL,
                pre == 1 ? sh : NULL);
            EXPECT_CLOSE(y, want, ny, 1e-4, 1e-4);
            free(wd);
            free(wsd);
        }
    }
    free(sc); free(sh); free(xs);
    free(x); free(w); free(wp); free(b); free(r); free(y); free(want); free(ws);
}
END_TEST

/* ---- pooling --------------------------------------------------------------------------------- */
typedef struct {
    int64_t h, w, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
    int ceil, cip, c;            /* c: channels */
} PoolCase;
static const PoolCase pool_cases[] = {
    /* h   w kh kw sh sw pt pl pb pr dh dw ceil cip c */
    {  7, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 3 },
    {  7, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 1, 3 },
    {  7,  7, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 3 },    /* ceil: last window past the input */
    {  7,  7, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 3 },
    {  5,  5, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 3 },    /* ceil with the PyTorch correction */
    {  9, 10, 3, 2, 1, 3, 1, 0, 2, 1, 1, 1, 0, 1, 3 },    /* asymmetric pads */
    {  9, 11, 3, 3, 2, 1, 2, 1, 2, 1, 2, 3, 0, 0, 3 },    /* dilation (max only) */
    { 11,  8, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 3 },
    { 40, 37, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 3 },    /* GoogLeNet's stride 1 */
    { 27, 27, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 3 },    /* SqueezeNet's ceil mode */
    {140, 130, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0, 0, 3 },   /* VGG's 2x2, an odd plane */
    /* planes wider than 40 columns, row by row: more rows than a band, tails of rows */
    {111, 111, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 2 },   /* SqueezeNet's first */
    {112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 2 },   /* ResNet's, padded */
    { 45, 57, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 3 },
    { 50, 61, 3, 3, 2, 1, 2, 1, 2, 1, 2, 3, 0, 0, 3 },    /* dilated, strides differ */
    { 41, 47, 5, 4, 2, 2, 2, 1, 1, 2, 1, 2, 1, 0, 3 },
    { 44, 50, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 3 },    /* stride 3: the plane path */
    { 90, 30, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 3 },    /* tall and narrow: the plane path */
    /* planes of 56x56 and less, sixteen channels at a time: whole and partial blocks */
    { 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 20 },
    { 56, 56, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 17 },
    { 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0, 0, 20 },    /* DenseNet's transition */
};

static int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1,
                        int ceil)
{
    int64_t span = in + p0 + p1 - ((k - 1) * d + 1);
    int64_t out = (ceil ? (span + s - 1) / s : span / s) + 1;
    if (ceil && (out - 1) * s >= in + p0)   /* PyTorch: a window may not start in the end pad */
        out--;
    return out;
}

START_TEST(pool_matches_reference)
{
    const PoolCase *c = &pool_cases[_i];
    int64_t nc = 2 * c->c, oh, ow;
    size_t nx = (size_t)(nc * c->h * c->w), ny;
    float *x = alloc_uniform(nx, 90 + _i, -2, 2);
    for (int is_max = 0; is_max < 2; is_max++) {
        int64_t dh = is_max ? c->dh : 1, dw = is_max ? c->dw : 1;
        if (!is_max && (c->dh != 1 || c->dw != 1))
            continue;
        oh = pool_out(c->h, c->kh, c->sh, dh, c->pt, c->pb, c->ceil);
        ow = pool_out(c->w, c->kw, c->sw, dw, c->pl, c->pr, c->ceil);
        ny = (size_t)(nc * oh * ow);
        float *y = malloc(ny * 4), *want = malloc(ny * 4);
        for (int64_t i = 0; i < nc; i++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    double m = -INFINITY, s = 0;
                    int64_t inside = 0, padded = 0;
                    for (int64_t ki = 0; ki < c->kh; ki++)
                        for (int64_t kj = 0; kj < c->kw; kj++) {
                            int64_t iy = oy * c->sh - c->pt + ki * dh;
                            int64_t ix = ox * c->sw - c->pl + kj * dw;
                            /* positions within the explicitly padded input count when
                             * count_include_pad is set; ceil_mode's overhang never does */
                            padded += iy < c->h + c->pb && ix < c->w + c->pr;
                            if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w)
                                continue;
                            double v = x[(i * c->h + iy) * c->w + ix];
                            m = v > m ? v : m;
                            s += v;
                            inside++;
                        }
                    want[(i * oh + oy) * ow + ox] =
                        (float)(is_max ? m : s / (double)(c->cip ? padded : inside));
                }
        int64_t p[17] = { 2, nc / 2, c->h, c->w, oh, ow, c->kh, c->kw, c->sh, c->sw, c->pt, c->pl,
                          c->pb, c->pr, dh, dw, c->cip };
        float f[4] = { 0 };
        if (is_max)
            RUN(MAXPOOL, y, x);
        else
            RUN(AVGPOOL, y, x);
        EXPECT_CLOSE(y, want, ny, 1e-5, 1e-6);
        free(y); free(want);
    }
    free(x);
}
END_TEST

/* every ISA; planes with a masked tail, and one of a squeeze-excitation block's size */
START_TEST(globalpool_max_and_mean)
{
    int64_t nc = 2 * 3, hw = _i / NISA ? 56 * 56 : 7 * 13;
    float *x = alloc_uniform((size_t)(nc * hw), 5, -3, 1), y[6], want[6];
    use_isa(_i % NISA);
    for (int is_max = 0; is_max < 2; is_max++) {
        for (int64_t i = 0; i < nc; i++) {
            double m = -INFINITY, s = 0;
            for (int64_t j = 0; j < hw; j++) {
                m = fmax(m, x[i * hw + j]);
                s += x[i * hw + j];
            }
            want[i] = (float)(is_max ? m : s / (double)hw);
        }
        int64_t p[3] = { nc, hw, is_max };
        float f[4] = { 0 };
        RUN(GLOBALPOOL, y, x);
        EXPECT_CLOSE(y, want, 6, 1e-5, 1e-6);
    }
    free(x);
}
END_TEST

/* ---- normalizations -------------------------------------------------------------------------- */
START_TEST(batchnorm_inference)
{
    int64_t n = 2, c = 5, hw = 7 * 13;
    size_t nx = (size_t)(n * c * hw);
    float *x = alloc_uniform(nx, 6, -2, 2), *y = malloc(nx * 4), *want = malloc(nx * 4);
    float *scale = alloc_uniform(5, 7, -2, 2), *bias = alloc_uniform(5, 8, -1, 1);
    float *mean = alloc_uniform(5, 9, -1, 1), *var = alloc_uniform(5, 10, 0.1f, 3);
    float eps = 1e-3f;
    for (int64_t i = 0; i < n * c; i++)
        for (int64_t j = 0; j < hw; j++) {
            int64_t ch = i % c;
            want[i * hw + j] = (float)((x[i * hw + j] - mean[ch]) / sqrt((double)var[ch] + eps)
                                       * scale[ch] + bias[ch]);
        }
    int64_t p[3] = { n, c, hw };
    float f[4] = { eps };
    RUN(BATCHNORM, y, x, scale, bias, mean, var);
    EXPECT_CLOSE(y, want, nx, 1e-5, 1e-5);
    RUN(BATCHNORM, x, x, scale, bias, mean, var);   /* in place, as the planner may run it */
    EXPECT_CLOSE(x, want, nx, 1e-5, 1e-5);
    free(x); free(y); free(want); free(scale); free(bias); free(mean); free(var);
}
END_TEST

/* What a BatchNorm that cannot fold becomes: y = act(x * scale[c] + shift[c]). */
START_TEST(affine_with_activation)
{
    static const RtAct acts[3] = { RT_ACT_RELU, RT_ACT_CLIP, RT_ACT_HARDSWISH };
    int64_t n = 2, c = 5, hw = 7 * 13;
    size_t nx = (size_t)(n * c * hw);
    float *x = alloc_uniform(nx, 31, -4, 4), *y = malloc(nx * 4), *want = malloc(nx * 4);
    float *scale = alloc_uniform(5, 32, -2, 2), *shift = alloc_uniform(5, 33, -1, 1);
    for (int k = 0; k < 3; k++) {
        for (int64_t i = 0; i < n * c; i++)
            for (int64_t j = 0; j < hw; j++)
                want[i * hw + j] = (float)ref_act(acts[k], (double)x[i * hw + j] * scale[i % c] +
                                                  shift[i % c], -0.5, 1.5);
        int64_t p[4] = { n, c, hw, acts[k] };
        float f[4] = { -0.5f, 1.5f };
        RUN(AFFINE, y, x, scale, shift);
        EXPECT_CLOSE(y, want, nx, 1e-5, 1e-6);
    }
    free(x); free(y); free(want); free(scale); free(shift);
}
END_TEST

/* LRN over channels, window [c - floor((size-1)/2), c + ceil((size-1)/2)]; odd and even. */
START_TEST(lrn_odd_and_even_size)
{
    int64_t n = 2, c = 7, hw = 3 * 5, size = _i ? 4 : 3;
    size_t nx = (size_t)(n * c * hw);
    float *x = alloc_uniform(nx, 11, -2, 2), *y = malloc(nx * 4), *want = malloc(nx * 4);
    float alpha = 0.05f, beta = 0.75f, bias = 1.5f;
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t j = 0; j < hw; j++) {
                double s = 0;
                for (int64_t k = ch - (size - 1) / 2; k <= ch + size / 2; k++)
                    if (k >= 0 && k < c)
                        s += (double)x[(b * c + k) * hw + j] * x[(b * c + k) * hw + j];
                want[(b * c + ch) * hw + j] = (float)(x[(b * c + ch) * hw + j] /
                                                      pow(bias + alpha / (double)size * s, beta));
            }
    int64_t p[4] = { n, c, hw, size };
    float f[4] = { alpha, beta, bias };
    RUN(LRN, y, x);
    EXPECT_CLOSE(y, want, nx, 1e-5, 1e-6);
    free(x); free(y); free(want);
}
END_TEST

/* Softmax and LogSoftmax along the middle axis of [3,5,7]: inputs up to +-100 overflow
 * float's exp unless the maximum is subtracted first. Softmax also in place (the memory
 * planner writes it over its input). */
START_TEST(softmax_middle_axis)
{
    int64_t outer = 3, n = 5, inner = 7;
    size_t nx = (size_t)(outer * n * inner);
    float *x = alloc_uniform(nx, 12, -100, 100), *y = malloc(nx * 4), *want = malloc(nx * 4);
    for (int take_log = 0; take_log < 2; take_log++) {
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                double m = -INFINITY, s = 0;
                for (int64_t j = 0; j < n; j++)
                    m = fmax(m, x[(o * n + j) * inner + i]);
                for (int64_t j = 0; j < n; j++)
                    s += exp(x[(o * n + j) * inner + i] - m);
                for (int64_t j = 0; j < n; j++) {
                    double v = x[(o * n + j) * inner + i] - m;
                    want[(o * n + j) * inner + i] = (float)(take_log ? v - log(s) : exp(v) / s);
                }
            }
        int64_t p[4] = { outer, n, inner, take_log };
        float f[4] = { 0 };
        RUN(SOFTMAX, y, x);
        EXPECT_CLOSE(y, want, nx, 1e-5, 1e-6);
        if (!take_log) {
            memcpy(y, x, nx * 4);
            RUN(SOFTMAX, y, y);
            EXPECT_CLOSE(y, want, nx, 1e-5, 1e-6);
        }
    }
    free(x); free(y); free(want);
}
END_TEST

/* ---- element-wise ---------------------------------------------------------------------------- */
START_TEST(unary_every_activation)
{
    RtAct act = (RtAct)_i;
    bool positive = act == RT_ACT_LOG || act == RT_ACT_SQRT || act == RT_ACT_RECIPROCAL;
    float alpha = act == RT_ACT_CLIP ? -0.3f : act == RT_ACT_LEAKYRELU ? 0.1f : 0.2f;
    float beta = act == RT_ACT_CLIP ? 0.6f : 0.5f;
    for (int big = 0; big < 2; big++) {
        size_t n = big ? 70001 : 1037;          /* 70001: several parallel chunks and a tail */
        float *x = alloc_uniform(n, 13 + (uint64_t)_i, positive ? 0.1f : -5, 5);
        float *y = malloc(n * 4), *want = malloc(n * 4);
        for (size_t i = 0; i < n; i++)
            want[i] = (float)ref_act(act, x[i], alpha, beta);
        int64_t p[2] = { (int64_t)n, act };
        float f[4] = { alpha, beta };
        RUN(UNARY, y, x);
        EXPECT_CLOSE(y, want, n, 2e-6, 1e-6);
        RUN(UNARY, x, x);                       /* in place */
        EXPECT_CLOSE(x, want, n, 2e-6, 1e-6);
        free(x); free(y); free(want);
    }
}
END_TEST

/* The smooth activations far out, where e^-x leaves float's range and the vector code
 * clamps its argument: large magnitudes, the clamp's edges, infinities, NaN (which must
 * stay NaN). (SiLU at -inf is left out: x / (1 + e^-x) is NaN there, the vector code's
 * -inf.) */
START_TEST(unary_smooth_extremes)
{
    static const RtAct acts[] = { RT_ACT_SIGMOID, RT_ACT_SILU, RT_ACT_TANH };
    RtAct act = acts[_i];
    float edges[] = { -INFINITY, INFINITY, -1000, 1000, -126, 126, -88.7f, 88.7f, -87.3f,
                      87.3f, -103.9f, 103.9f, -60, 60, -1e-30f, 1e-30f, 0, -0.f, 1e-7f, -3e-4f,
                      NAN, -NAN };
    size_t ne = sizeof edges / sizeof edges[0], n = ne + 4000;
    float *x = alloc_uniform(n, 91 + (uint64_t)_i, -200, 200);
    float *y = malloc(n * 4), *want = malloc(n * 4);
    memcpy(x, edges, sizeof edges);
    if (act == RT_ACT_SILU)
        x[0] = -1e6f;
    for (size_t i = 0; i < n; i++)
        want[i] = (float)ref_act(act, x[i], 0, 0);
    int64_t p[2] = { (int64_t)n, act };
    float f[4] = { 0 };
    RUN(UNARY, y, x);
    EXPECT_CLOSE(y, want, n, 2e-6, 1e-6);
    free(x); free(y); free(want);
}
END_TEST

/* Binary ops with NumPy broadcasting; p: op rank dims astride bstride (0 on broadcast axes).
 * Iteration _i: shape case _i / 5, op _i % 5. */
typedef struct { int r; int64_t y[4], a[4], b[4]; } BinCase;   /* a, b padded to rank r */
static const BinCase bin_cases[] = {
    { 3, { 2, 3, 17 }, { 2, 3, 17 }, { 2, 3, 17 } },
    { 3, { 2, 3, 17 }, { 2, 3, 17 }, { 1, 1, 17 } },
    { 3, { 2, 3, 17 }, { 2, 3, 17 }, { 1, 3, 1 } },         /* b constant along inner */
    { 2, { 3, 4 }, { 1, 4 }, { 3, 1 } },                    /* outer product */
    { 4, { 2, 3, 4, 5 }, { 2, 1, 4, 1 }, { 1, 3, 1, 5 } },
    { 1, { 1 }, { 1 }, { 1 } },                             /* scalars */
    { 4, { 2, 3, 4, 5 }, { 2, 3, 4, 5 }, { 2, 3, 1, 1 } },  /* per channel: axes merge */
    { 3, { 4, 1, 6 }, { 4, 1, 6 }, { 1, 1, 6 } },           /* a length-1 axis to drop */
};

static void contiguous_strides(int r, const int64_t *dims, int64_t *st)
{
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) {
        st[i] = dims[i] == 1 ? 0 : s;
        s *= dims[i];
    }
}

START_TEST(binary_broadcast)
{
    const BinCase *c = &bin_cases[_i / 5];
    RtBinary op = (RtBinary)(_i % 5);
    int64_t sa[4], sb[4], na = 1, nb = 1, ny = 1, idx[4];
    for (int i = 0; i < c->r; i++) {
        na *= c->a[i];
        nb *= c->b[i];
        ny *= c->y[i];
    }
    contiguous_strides(c->r, c->a, sa);
    contiguous_strides(c->r, c->b, sb);
    float *a = alloc_uniform((size_t)na, 14, 0.5f, 2), *b = alloc_uniform((size_t)nb, 15, 0.5f, 2);
    float *y = malloc((size_t)ny * 4), *want = malloc((size_t)ny * 4);
    for (int64_t i = 0; i < ny; i++) {
        int64_t rem = i, ia = 0, ib = 0, ma = 1, mb = 1;
        for (int d = c->r - 1; d >= 0; d--) {
            idx[d] = rem % c->y[d];
            rem /= c->y[d];
            ia += (c->a[d] == 1 ? 0 : idx[d]) * ma;
            ib += (c->b[d] == 1 ? 0 : idx[d]) * mb;
            ma *= c->a[d];
            mb *= c->b[d];
        }
        double u = a[ia], v = b[ib];
        want[i] = (float)(op == RT_BIN_ADD ? u + v : op == RT_BIN_SUB ? u - v
                        : op == RT_BIN_MUL ? u * v : op == RT_BIN_DIV ? u / v : pow(u, v));
    }
    int64_t p[2 + 3 * 4] = { op, c->r };
    float f[4] = { 0 };
    memcpy(p + 2, c->y, sizeof(int64_t) * (size_t)c->r);
    memcpy(p + 2 + c->r, sa, sizeof(int64_t) * (size_t)c->r);
    memcpy(p + 2 + 2 * c->r, sb, sizeof(int64_t) * (size_t)c->r);
    RUN(BINARY, y, a, b);
    EXPECT_CLOSE(y, want, (size_t)ny, 2e-6, 1e-7);
    if (na == ny) {                             /* in place over a full-size operand */
        RUN(BINARY, a, a, b);
        EXPECT_CLOSE(a, want, (size_t)ny, 2e-6, 1e-7);
    }
    free(a); free(b); free(y); free(want);
}
END_TEST

/* ---- data movement --------------------------------------------------------------------------- */
START_TEST(copy_bytes)
{
    float x[37], y[37];
    fill_uniform(x, 37, 16, -1, 1);
    int64_t p[1] = { sizeof x };
    float f[4] = { 0 };
    RUN(COPY, y, x);
    ck_assert_mem_eq(y, x, sizeof x);
    RUN(COPY, x, x);                            /* the same buffer: a no-op */
    ck_assert_mem_eq(y, x, sizeof x);
}
END_TEST

/* Concat of [2,3,4], [2,1,4], [2,5,4] along axis 1 (and of their flat forms along 0). */
START_TEST(concat_middle_axis)
{
    int64_t len[3] = { 3, 1, 5 };
    float *x[3], y[2 * 9 * 4], want[2 * 9 * 4];
    for (int k = 0; k < 3; k++)
        x[k] = alloc_uniform((size_t)(2 * len[k] * 4), 17 + (uint64_t)k, -1, 1);
    for (int64_t o = 0; o < 2; o++)
        for (int64_t j = 0, k = 0, base = 0; j < 9; j++) {
            if (j - base == len[k])
                base += len[k++];
            for (int64_t i = 0; i < 4; i++)
                want[(o * 9 + j) * 4 + i] = x[k][(o * len[k] + (j - base)) * 4 + i];
        }
    int64_t p[5] = { 3, 2, 3 * 4 * 4, 1 * 4 * 4, 5 * 4 * 4 };
    float f[4] = { 0 };
    RUN(CONCAT, y, x[0], x[1], x[2]);
    ck_assert_mem_eq(y, want, sizeof y);
    for (int k = 0; k < 3; k++)
        free(x[k]);
}
END_TEST

/* y[o0..o3] = x[i] with i[perm[d]] = o[d]; float and int64 elements. */
START_TEST(transpose_float_and_int64)
{
    int64_t dims[4] = { 2, 3, 4, 5 }, perm[4] = { 3, 1, 0, 2 }, od[4], o[4], in[4];
    float *x = alloc_uniform(120, 18, -1, 1), y[120], want[120];
    for (int d = 0; d < 4; d++)
        od[d] = dims[perm[d]];
    for (int64_t i = 0; i < 120; i++) {
        int64_t rem = i;
        for (int d = 3; d >= 0; d--) {
            o[d] = rem % od[d];
            rem /= od[d];
        }
        for (int d = 0; d < 4; d++)
            in[perm[d]] = o[d];
        want[i] = x[((in[0] * 3 + in[1]) * 4 + in[2]) * 5 + in[3]];
    }
    int64_t p[10] = { 4, 4, 2, 3, 4, 5, 3, 1, 0, 2 };
    float f[4] = { 0 };
    RUN(TRANSPOSE, y, x);
    ck_assert_mem_eq(y, want, sizeof y);
    int64_t xi[6] = { 1, 2, 3, 4, 5, 6 }, yi[6], wi[6] = { 1, 4, 2, 5, 3, 6 };   /* [2,3]^T */
    int64_t p2[6] = { 2, 8, 2, 3, 1, 0 };
    rt_kernels[RT_K_TRANSPOSE]((void *const[]){ yi, xi }, p2, f);
    ck_assert_mem_eq(yi, wi, sizeof yi);
    free(x);
}
END_TEST

/* x[5,7,6][4::-2, 1::3, ::-1]: negative steps, one axis reversed whole. */
START_TEST(slice_negative_steps)
{
    float *x = alloc_uniform(5 * 7 * 6, 19, -1, 1), y[3 * 2 * 6], want[3 * 2 * 6];
    int k = 0;
    for (int64_t i = 4; i >= 0; i -= 2)
        for (int64_t j = 1; j < 7; j += 3)
            for (int64_t l = 5; l >= 0; l--)
                want[k++] = x[(i * 7 + j) * 6 + l];
    int64_t p[14] = { 3, 4, 5, 7, 6, 3, 2, 6, 4, 1, 5, -2, 3, -1 };
    float f[4] = { 0 };
    RUN(SLICE, y, x);
    ck_assert_mem_eq(y, want, sizeof y);
    free(x);
}
END_TEST

/* NumPy's pad semantics: constant, reflect (mirror without repeating the edge), edge. */
static int64_t pad_src(int64_t i, int64_t n, RtPadMode mode)
{
    if (i >= 0 && i < n)
        return i;
    if (mode == RT_PAD_EDGE)
        return i < 0 ? 0 : n - 1;
    if (mode == RT_PAD_REFLECT)
        return i < 0 ? -i : 2 * (n - 1) - i;
    return -1;
}

START_TEST(pad_modes)
{
    RtPadMode mode = (RtPadMode)_i;
    int64_t in[3] = { 2, 3, 4 }, pb[3] = { 0, 1, 3 }, pe[3] = { 1, 2, 1 }, out[3], o[3];
    for (int d = 0; d < 3; d++)
        out[d] = in[d] + pb[d] + pe[d];
    size_t ny = (size_t)(out[0] * out[1] * out[2]);
    float *x = alloc_uniform(24, 20, -1, 1), *y = malloc(ny * 4), *want = malloc(ny * 4);
    int64_t xi[24], *yi = malloc(ny * 8), *wi = malloc(ny * 8);
    for (int i = 0; i < 24; i++)
        xi[i] = 1000 + i;
    for (size_t i = 0; i < ny; i++) {
        int64_t rem = (int64_t)i, off = 0;
        for (int d = 2; d >= 0; d--) {
            o[d] = rem % out[d];
            rem /= out[d];
        }
        for (int d = 0; d < 3 && off >= 0; d++) {
            int64_t s = pad_src(o[d] - pb[d], in[d], mode);
            off = s < 0 ? -1 : off * in[d] + s;
        }
        want[i] = off < 0 ? 1.5f : x[off];
        wi[i] = off < 0 ? -7 : xi[off];
    }
    int64_t p[12] = { 3, 4, mode, 2, 3, 4, 0, 1, 3, out[0], out[1], out[2] };
    float f[4] = { 1.5f };
    RUN(PAD, y, x);
    ck_assert_mem_eq(y, want, ny * 4);
    p[1] = 8;                                   /* int64 elements, the value converted */
    f[0] = -7.0f;
    RUN(PAD, yi, xi);
    ck_assert_mem_eq(yi, wi, ny * 8);
    free(x); free(y); free(want); free(yi); free(wi);
}
END_TEST

/* Gather along axis 1 of [3,5,4] with negative and repeated indices; and of int64 rows. */
START_TEST(gather_negative_indices)
{
    int64_t idx[5] = { 4, -1, 0, 2, 2 };
    float *x = alloc_uniform(60, 21, -1, 1), y[3 * 5 * 4], want[3 * 5 * 4];
    for (int64_t o = 0; o < 3; o++)
        for (int64_t i = 0; i < 5; i++)
            for (int64_t j = 0; j < 4; j++)
                want[(o * 5 + i) * 4 + j] = x[(o * 5 + (idx[i] + 5) % 5) * 4 + j];
    int64_t p[4] = { 3, 5, 4 * 4, 5 };
    float f[4] = { 0 };
    RUN(GATHER, y, x, idx);
    ck_assert_mem_eq(y, want, sizeof y);
    int64_t rows[3] = { 10, 20, 30 }, sel[2] = { -1, 0 }, got[2], exp_[2] = { 30, 10 };
    int64_t p2[4] = { 1, 3, 8, 2 };
    rt_kernels[RT_K_GATHER]((void *const[]){ got, rows, sel }, p2, f);
    ck_assert_mem_eq(got, exp_, sizeof got);
    free(x);
}
END_TEST

/* The kernel table and the documented ids agree, so every test above ran the right kernel. */
START_TEST(kernel_table_names)
{
    ck_assert_str_eq(rt_kernel_names[RT_K_CONV], "rt_conv_f32");
    ck_assert_str_eq(rt_kernel_names[RT_K_GATHER], "rt_gather");
    ck_assert_str_eq(rt_kernel_names[RT_K_CONV_PACKED], "rt_conv_packed_f32");
    ck_assert_ptr_eq((void *)rt_kernels[RT_K_SOFTMAX], (void *)rt_softmax_f32);
    for (int k = 0; k < RT_K_COUNT; k++)
        ck_assert_ptr_nonnull((void *)rt_kernels[k]);
}
END_TEST

#define NCASES(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *kernels_suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, conv_matches_reference, 0, NISA * NCASES(conv_cases));
    tcase_add_loop_test(tc, pool_matches_reference, 0, NCASES(pool_cases));
    tcase_add_loop_test(tc, globalpool_max_and_mean, 0, 2 * NISA);
    tcase_add_test(tc, batchnorm_inference);
    tcase_add_test(tc, affine_with_activation);
    tcase_add_loop_test(tc, lrn_odd_and_even_size, 0, 2);
    tcase_add_test(tc, softmax_middle_axis);
    tcase_add_loop_test(tc, unary_every_activation, 0, RT_ACT_COUNT);
    tcase_add_loop_test(tc, unary_smooth_extremes, 0, 3);
    tcase_add_loop_test(tc, binary_broadcast, 0, 5 * NCASES(bin_cases));
    tcase_add_test(tc, copy_bytes);
    tcase_add_test(tc, concat_middle_axis);
    tcase_add_test(tc, transpose_float_and_int64);
    tcase_add_test(tc, slice_negative_steps);
    tcase_add_loop_test(tc, pad_modes, RT_PAD_CONSTANT, RT_PAD_EDGE + 1);
    tcase_add_test(tc, gather_negative_indices);
    tcase_add_test(tc, kernel_table_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *s = kernels_suite();
    return run_suites(&s, 1);
}
