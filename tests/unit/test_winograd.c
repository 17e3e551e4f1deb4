/* Winograd F(4x4,3x3) convolution against a direct double-precision convolution: padded
 * and unpadded, sizes that are not multiples of the 4x4 tile or of 16 tiles, the fused
 * bias, residual and activations, on every ISA the CPU has, with one thread (bands of
 * tile rows) and two (all tiles at once, or bands for a large image); planes of four tiles
 * a row or fewer, and of five to eight, whose input transforms pack four or two tile rows a
 * vector. F(2x2,3x3) for small planes the same way: one to four runs of 16 tiles, partial
 * runs and tiles, uneven padding, two images, an activation the vector code leaves to the
 * scalar one. */
#include <check.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>
#include "runtime/rt.h"
#include "util.h"

#define NCASES(a) (int)(sizeof(a) / sizeof((a)[0]))

typedef struct { int64_t c, h, w, m, pad; RtAct act; int res; } WinoCase;
static const WinoCase wino_cases[] = {
    { 1, 6, 6, 1, 0, RT_ACT_NONE, 0 },          /* one tile */
    { 3, 9, 11, 5, 1, RT_ACT_RELU, 1 },         /* partial tiles at both edges */
    { 16, 30, 70, 20, 1, RT_ACT_CLIP, 0 },      /* 18 tiles a row: two vectors of tiles */
    { 19, 13, 7, 6, 0, RT_ACT_SILU, 1 },
    { 32, 28, 28, 40, 1, RT_ACT_RELU, 1 },      /* a ResNet stage, shrunk */
    { 8, 17, 5, 3, 1, RT_ACT_TANH, 0 },
    { 64, 120, 118, 64, 1, RT_ACT_RELU, 1 },    /* too large to transform at once */
    /* four tiles a row or fewer: four tile rows a vector */
    { 40, 14, 14, 24, 1, RT_ACT_RELU, 1 },      /* ResNet's 14x14, shrunk */
    { 20, 16, 16, 18, 1, RT_ACT_NONE, 0 },      /* four whole tiles each way */
    { 12, 13, 13, 9, 1, RT_ACT_CLIP, 1 },       /* SqueezeNet's 13x13 */
    { 6, 22, 7, 5, 1, RT_ACT_NONE, 0 },         /* two tiles a row, six tile rows */
    /* five to eight tiles a row: two tile rows a vector, an odd number of them */
    { 7, 18, 22, 6, 1, RT_ACT_RELU, 0 },
    { 5, 32, 31, 4, 0, RT_ACT_NONE, 1 },
};

/* The reference: want = act(3x3 stride-1 conv(x, w) + b + r) in double, for n images of
 * c channels h x w into m channels oh x ow, padded pt on top and pl on the left (b and r
 * may be NULL). */
static void ref_conv3x3(const float *x, const float *w, const float *b, const float *r,
                        int64_t n, int64_t c, int64_t h, int64_t wd, int64_t m, int64_t oh,
                        int64_t ow, int64_t pt, int64_t pl, RtAct act, const float *f,
                        float *want)
{
    for (int64_t ni = 0; ni < n; ni++)
        for (int64_t mi = 0; mi < m; mi++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    double s = b ? b[mi] : 0;
                    for (int64_t ci = 0; ci < c; ci++)
                        for (int ki = 0; ki < 3; ki++)
                            for (int kj = 0; kj < 3; kj++) {
                                int64_t iy = oy - pt + ki, ix = ox - pl + kj;
                                if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
                                    s += (double)x[((ni * c + ci) * h + iy) * wd + ix] *
                                         w[((mi * c + ci) * 3 + ki) * 3 + kj];
                            }
                    int64_t at = ((ni * m + mi) * oh + oy) * ow + ox;
                    want[at] = (float)ref_act(act, s + (r ? r[at] : 0), f[0], f[1]);
                }
}

/* Kernel k on t (t[0] the output y of ny floats) with one thread and with two, each time
 * against want. */
static void run_threads(RtKernelId k, void *const *t, const int64_t *p, const float *f,
                        int64_t ny, const float *want, double rtol)
{
    float *y = t[0];
    for (int threads = 1; threads <= 2; threads++) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        memset(y, 0xff, (size_t)ny * sizeof *y);    /* NaN: every element must be written */
        rt_kernels[k](t, p, f);
        EXPECT_CLOSE(y, want, (size_t)ny, rtol, 1e-4);
    }
}

START_TEST(winograd_matches_direct)
{
    const WinoCase *c = &wino_cases[_i / NISA];
    int64_t oh = c->h + 2 * c->pad - 2, ow = c->w + 2 * c->pad - 2, ny = c->m * oh * ow;
    float *x = alloc_uniform((size_t)(c->c * c->h * c->w), 100 + _i, -1, 1);
    float *w = alloc_uniform((size_t)(c->m * c->c * 9), 200 + _i, -0.5f, 0.5f);
    float *b = alloc_uniform((size_t)c->m, 300 + _i, -1, 1);
    float *r = c->res ? alloc_uniform((size_t)ny, 400 + _i, -1, 1) : NULL;
    float *u = malloc(rt_winograd_weights_size(c->m, c->c) * sizeof(float));
    float *y = malloc((size_t)ny * sizeof(float)), *want = malloc((size_t)ny * sizeof(float));
    float f[4] = { 0.0f, 6.0f, 0.0f, 0.0f };
    int64_t p[17] = { 1, c->c, c->h, c->w, c->m, oh, ow, 3, 3, 1, 1, c->pad, c->pad, 1, 1, 1,
                      c->act };
    use_isa(_i % NISA);
    ref_conv3x3(x, w, b, r, 1, c->c, c->h, c->w, c->m, oh, ow, c->pad, c->pad, c->act, f, want);
    ck_assert(rt_winograd_pack_weights(c->m, c->c, w, u));
    /* the transforms' rounding grows with the channels summed (64: 1.3e-4 seen) */
    run_threads(RT_K_CONV_WINOGRAD, (void *const[]){ y, x, u, b, NULL, r }, p, f, ny, want,
                c->c > 32 ? 4e-4 : 1e-4);
    use_isa(NISA - 1);
    free(x); free(w); free(b); free(r); free(u); free(y); free(want);
}
END_TEST

typedef struct {
    int64_t n, c, h, w, m, pt, pl, pb, pr;
    RtAct act;
    int res, bias;
} Wino2Case;
static const Wino2Case wino2_cases[] = {
    { 1, 3, 7, 7, 5, 1, 1, 1, 1, RT_ACT_RELU, 1, 1 },       /* 7x7: one run of 16 tiles */
    { 1, 20, 8, 8, 17, 1, 1, 1, 1, RT_ACT_CLIP, 0, 1 },     /* 8x8: whole tiles */
    { 2, 9, 9, 9, 6, 1, 1, 1, 1, RT_ACT_SILU, 1, 0 },       /* 25 tiles: a partial run */
    { 1, 16, 16, 16, 8, 1, 1, 1, 1, RT_ACT_NONE, 0, 1 },    /* 64 tiles: four runs */
    { 1, 5, 7, 5, 4, 1, 1, 1, 1, RT_ACT_TANH, 1, 1 },       /* partial tiles across */
    { 1, 6, 9, 8, 3, 0, 0, 0, 0, RT_ACT_HARDSWISH, 0, 1 },  /* unpadded */
    { 1, 7, 8, 7, 5, 1, 0, 0, 2, RT_ACT_RELU, 1, 1 },       /* uneven padding */
    { 2, 40, 7, 7, 36, 1, 1, 1, 1, RT_ACT_EXP, 1, 1 },      /* the scalar epilogue */
};

START_TEST(winograd2_matches_direct)
{
    const Wino2Case *c = &wino2_cases[_i / NISA];
    int64_t oh = c->h + c->pt + c->pb - 2, ow = c->w + c->pl + c->pr - 2;
    int64_t nx = c->n * c->c * c->h * c->w, ny = c->n * c->m * oh * ow;
    float *x = alloc_uniform((size_t)nx, 500 + _i, -1, 1);
    float *w = alloc_uniform((size_t)(c->m * c->c * 9), 600 + _i, -0.5f, 0.5f);
    float *b = c->bias ? alloc_uniform((size_t)c->m, 700 + _i, -1, 1) : NULL;
    float *r = c->res ? alloc_uniform((size_t)ny, 800 + _i, -1, 1) : NULL;
    float *u = malloc(rt_winograd2_weights_size(c->m, c->c) * sizeof(float));
    float *y = malloc((size_t)ny * sizeof(float)), *want = malloc((size_t)ny * sizeof(float));
    float f[4] = { 0.0f, 6.0f, 0.0f, 0.0f };
    int64_t p[17] = { c->n, c->c, c->h, c->w, c->m, oh, ow, 3, 3, 1, 1, c->pt, c->pl, 1, 1, 1,
                      c->act };
    float *ws = malloc(rt_winograd2_workspace(p) * sizeof(float));
    use_isa(_i % NISA);
    ref_conv3x3(x, w, b, r, c->n, c->c, c->h, c->w, c->m, oh, ow, c->pt, c->pl, c->act, f,
                want);
    ck_assert(rt_winograd2_pack_weights(c->m, c->c, w, u));
    run_threads(RT_K_CONV_WINOGRAD2, (void *const[]){ y, x, u, b, ws, r }, p, f, ny, want,
                1e-4);
    use_isa(NISA - 1);
    free(x); free(w); free(b); free(r); free(u); free(y); free(want); free(ws);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("winograd");
    TCase *tc = tcase_create("winograd");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, winograd_matches_direct, 0, NISA * NCASES(wino_cases));
    tcase_add_loop_test(tc, winograd2_matches_direct, 0, NISA * NCASES(wino2_cases));
    suite_add_tcase(s, tc);
    return run_suites(&s, 1);
}
