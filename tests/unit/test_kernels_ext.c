/* The runtime's later kernels (reductions, LayerNorm, Expand/Tile, Where, variadic
 * Mean/Sum/Max/Min, Resize, ConvTranspose) against references written here from the ONNX
 * definitions, and Resize against values PyTorch's interpolate gives for small inputs. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "runtime/rt.h"
#include "util.h"

#define RUN(k, ...) rt_kernels[RT_K_##k]((void *const[]){ __VA_ARGS__ }, p, f)

/* Row-major coordinates of flat index i. */
static void unravel(int64_t i, int rank, const int64_t *dims, int64_t *idx)
{
    for (int d = rank - 1; d >= 0; d--) {
        idx[d] = i % dims[d];
        i /= dims[d];
    }
}

/* Flat index of idx in a tensor of `dims` broadcast (NumPy) to the same rank. */
static int64_t bcast_index(const int64_t *idx, int rank, const int64_t *dims)
{
    int64_t off = 0;
    for (int d = 0; d < rank; d++)
        off = off * dims[d] + (dims[d] == 1 ? 0 : idx[d]);
    return off;
}

/* Element strides of `dims` for reading it broadcast: 0 along axes of length 1. */
static void bcast_strides(int rank, const int64_t *dims, int64_t *st)
{
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        st[d] = dims[d] == 1 ? 0 : s;
        s *= dims[d];
    }
}

/* ReduceMean/Sum/Max/Min of x[3,4,5] over several axis sets; iteration: set * 4 + mode. */
START_TEST(reduce_axes)
{
    static const int64_t sets[4][3] = { { 1, 0, 1 }, { 0, 1, 0 }, { 1, 1, 1 }, { 0, 0, 1 } };
    const int64_t *red = sets[_i / 4], dims[3] = { 3, 4, 5 };
    RtReduce mode = (RtReduce)(_i % 4);
    float *x = alloc_uniform(60, 51, -3, 3), y[60], want[60];
    double acc[60];
    int64_t cnt[60] = { 0 }, idx[3], nout = 1;
    for (int d = 0; d < 3; d++)
        nout *= red[d] ? 1 : dims[d];
    for (int64_t o = 0; o < nout; o++)
        acc[o] = mode == RT_REDUCE_MAX ? -INFINITY : mode == RT_REDUCE_MIN ? INFINITY : 0;
    for (int64_t i = 0; i < 60; i++) {
        int64_t o = 0;
        unravel(i, 3, dims, idx);
        for (int d = 0; d < 3; d++)     /* the output keeps the order of the kept axes */
            if (!red[d])
                o = o * dims[d] + idx[d];
        acc[o] = mode == RT_REDUCE_MAX ? fmax(acc[o], x[i]) : mode == RT_REDUCE_MIN
               ? fmin(acc[o], x[i]) : acc[o] + x[i];
        cnt[o]++;
    }
    for (int64_t o = 0; o < nout; o++)
        want[o] = (float)(mode == RT_REDUCE_MEAN ? acc[o] / (double)cnt[o] : acc[o]);
    int64_t p[8] = { mode, 3, 3, 4, 5, red[0], red[1], red[2] };
    float f[4] = { 0 };
    RUN(REDUCE, y, x);
    EXPECT_CLOSE(y, want, (size_t)nout, 1e-5, 1e-6);
    free(x);
}
END_TEST

/* LayerNormalization over rows of 13 (population variance), scale per element or shared,
 * optional bias, and the optional mean / inverse-std outputs. */
START_TEST(layernorm_rows)
{
    int64_t rows = 6, n = 13;
    float *x = alloc_uniform(78, 52, -2, 3), *scale = alloc_uniform(13, 53, 0.5f, 1.5f);
    float *bias = alloc_uniform(13, 54, -1, 1), y[78], want[78], mean[6], inv[6];
    float wmean[6], winv[6], eps = 1e-3f;
    for (int shared = 0; shared < 2; shared++) {
        for (int64_t r = 0; r < rows; r++) {
            double m = 0, v = 0;
            for (int64_t i = 0; i < n; i++)
                m += x[r * n + i] / (double)n;
            for (int64_t i = 0; i < n; i++)
                v += (x[r * n + i] - m) * (x[r * n + i] - m) / (double)n;
            wmean[r] = (float)m;
            winv[r] = (float)(1 / sqrt(v + eps));
            for (int64_t i = 0; i < n; i++)
                want[r * n + i] = (float)((x[r * n + i] - m) / sqrt(v + eps) *
                                          scale[shared ? 0 : i] + (shared ? 0 : bias[i]));
        }
        int64_t p[4] = { rows, n, shared ? 1 : n, n };
        float f[4] = { eps };
        if (shared) {
            RUN(LAYERNORM, y, NULL, NULL, x, scale, NULL);
        } else {
            RUN(LAYERNORM, y, mean, inv, x, scale, bias);
            EXPECT_CLOSE(mean, wmean, 6, 1e-5, 1e-6);
            EXPECT_CLOSE(inv, winv, 6, 1e-5, 1e-6);
        }
        EXPECT_CLOSE(y, want, 78, 1e-5, 1e-5);
    }
    free(x); free(scale); free(bias);
}
END_TEST

/* Expand [3,1] to [2,3,4] on floats, and Tile of an int64 [2,3] by (2,2) as the strided
 * copy over [2,2,2,3] it is (repeat axes with stride 0). */
START_TEST(broadcast_expand_and_tile)
{
    float x[3] = { 1.5f, -2, 7 }, y[24], want[24];
    for (int i = 0; i < 24; i++)
        want[i] = x[i / 4 % 3];
    int64_t p[8] = { 3, 4, 2, 3, 4, 0, 1, 0 };
    float f[4] = { 0 };
    RUN(BROADCAST, y, x);
    ck_assert_mem_eq(y, want, sizeof y);
    int64_t xi[6] = { 1, 2, 3, 4, 5, 6 }, yi[24], wi[24];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 6; c++)
            wi[r * 6 + c] = xi[(r % 2) * 3 + c % 3];
    int64_t p2[10] = { 4, 8, 2, 2, 2, 3, 0, 3, 0, 1 };
    rt_kernels[RT_K_BROADCAST]((void *const[]){ yi, xi }, p2, f);
    ck_assert_mem_eq(yi, wi, sizeof yi);
}
END_TEST

/* Where(cond[3,1], a[1,4], b[3,4]) -> [3,4]. */
START_TEST(where_broadcast)
{
    uint8_t c[3] = { 1, 0, 1 };
    float a[4] = { 10, 11, 12, 13 }, *b = alloc_uniform(12, 55, -1, 1), y[12], want[12];
    for (int i = 0; i < 12; i++)
        want[i] = c[i / 4] ? a[i % 4] : b[i];
    int64_t p[9] = { 2, 3, 4, 1, 0, 0, 1, 4, 1 };
    float f[4] = { 0 };
    RUN(WHERE, y, c, a, b);
    ck_assert_mem_eq(y, want, sizeof y);
    free(b);
}
END_TEST

/* Mean/Sum/Max/Min of x0[2,3,4], x1[3,1], x2[4] broadcast to [2,3,4]; Max and Min propagate
 * NaN like NumPy's maximum/minimum. Iteration: the op. */
START_TEST(nary_broadcast)
{
    RtReduce op = (RtReduce)_i;
    const int64_t d0[3] = { 2, 3, 4 }, d1[3] = { 1, 3, 1 }, d2[3] = { 1, 1, 4 };
    float *x0 = alloc_uniform(24, 56, -2, 2), *x1 = alloc_uniform(3, 57, -2, 2);
    float *x2 = alloc_uniform(4, 58, -2, 2), y[24], want[24];
    int64_t p[3 + 3 + 9] = { op, 3, 3, 2, 3, 4 }, idx[3];
    x2[1] = NAN;
    bcast_strides(3, d0, p + 6);
    bcast_strides(3, d1, p + 9);
    bcast_strides(3, d2, p + 12);
    for (int64_t i = 0; i < 24; i++) {
        unravel(i, 3, d0, idx);
        double v[3] = { x0[i], x1[bcast_index(idx, 3, d1)], x2[bcast_index(idx, 3, d2)] };
        double r = op == RT_REDUCE_MAX ? fmax(fmax(v[0], v[1]), v[2])
                 : op == RT_REDUCE_MIN ? fmin(fmin(v[0], v[1]), v[2]) : v[0] + v[1] + v[2];
        if (isnan(v[2]))
            r = NAN;                /* fmax/fmin drop NaN; the ONNX ops keep it */
        want[i] = (float)(op == RT_REDUCE_MEAN ? r / 3 : r);
    }
    float f[4] = { 0 };
    RUN(NARY, y, x0, x1, x2);
    EXPECT_CLOSE(y, want, 24, 1e-6, 1e-6);
    free(x0); free(x1); free(x2);
}
END_TEST

/* ---- Resize, against PyTorch's interpolate and hand-worked index mappings --------------- */
static void resize(float *y, const float *x, int rank, const int64_t *in, const int64_t *out,
                   const double *scale, int linear, RtResizeCoord coord, RtResizeNearest near)
{
    /* p: rank mode coord nearest exclude_outside, in, out, then scales and the region of
     * interest's start and end as doubles' bits (the whole input: 0 to 1) */
    int64_t p[5 + 5 * RT_MAX_RANK] = { rank, linear, coord, near, 0 };
    float f[4] = { -0.75f, 0.0f };
    const double zero = 0.0, one = 1.0;
    memcpy(p + 5, in, sizeof(int64_t) * (size_t)rank);
    memcpy(p + 5 + rank, out, sizeof(int64_t) * (size_t)rank);
    memcpy(p + 5 + 2 * rank, scale, sizeof(double) * (size_t)rank);
    for (int d = 0; d < rank; d++) {
        memcpy(p + 5 + 3 * rank + d, &zero, sizeof zero);
        memcpy(p + 5 + 4 * rank + d, &one, sizeof one);
    }
    RUN(RESIZE, y, (void *)x);
}

START_TEST(resize_bilinear_and_nearest)
{
    const float x[4] = { 1, 2, 3, 4 };
    const int64_t in[4] = { 1, 1, 2, 2 }, out[4] = { 1, 1, 4, 4 };
    const double s2[4] = { 1, 1, 2, 2 };
    /* interpolate(scale_factor=2, mode='bilinear', align_corners=False) */
    static const float half[16] = { 1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
                                    2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4 };
    /* align_corners=True: steps of 1/3 */
    static const float corners[16] = { 1, 4 / 3.0f, 5 / 3.0f, 2, 5 / 3.0f, 2, 7 / 3.0f,
                                       8 / 3.0f, 7 / 3.0f, 8 / 3.0f, 3, 10 / 3.0f, 3,
                                       10 / 3.0f, 11 / 3.0f, 4 };
    /* mode='nearest': asymmetric coordinates, floor */
    static const float nearest[16] = { 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4 };
    float y[16];
    resize(y, x, 4, in, out, s2, 1, RT_RESIZE_PYTORCH_HALF_PIXEL, RT_NEAREST_FLOOR);
    EXPECT_CLOSE(y, half, 16, 1e-6, 1e-6);
    resize(y, x, 4, in, out, s2, 1, RT_RESIZE_HALF_PIXEL, RT_NEAREST_FLOOR);
    EXPECT_CLOSE(y, half, 16, 1e-6, 1e-6);
    resize(y, x, 4, in, out, s2, 1, RT_RESIZE_ALIGN_CORNERS, RT_NEAREST_FLOOR);
    EXPECT_CLOSE(y, corners, 16, 1e-6, 1e-6);
    resize(y, x, 4, in, out, s2, 0, RT_RESIZE_ASYMMETRIC, RT_NEAREST_FLOOR);
    EXPECT_CLOSE(y, nearest, 16, 0, 0);
}
END_TEST

/* Downsampling [0..4] to 3 (scale 0.6): source x = (o + 0.5) / 0.6 - 0.5 = 1/3, 2, 11/3
 * (half_pixel); (o + 0.5) / 0.6 = 5/6, 5/2, 25/6 (tf_half_pixel_for_nn); o / 0.6 = 0, 5/3,
 * 10/3 (asymmetric); each rounded as the nearest mode says. */
START_TEST(resize_nearest_modes)
{
    static const struct { RtResizeCoord coord; RtResizeNearest near; float want[3]; } cases[] = {
        { RT_RESIZE_HALF_PIXEL, RT_NEAREST_ROUND_PREFER_FLOOR, { 0, 2, 4 } },
        { RT_RESIZE_TF_HALF_PIXEL_NN, RT_NEAREST_ROUND_PREFER_FLOOR, { 1, 2, 4 } },
        { RT_RESIZE_TF_HALF_PIXEL_NN, RT_NEAREST_ROUND_PREFER_CEIL, { 1, 3, 4 } },
        { RT_RESIZE_ASYMMETRIC, RT_NEAREST_FLOOR, { 0, 1, 3 } },
        { RT_RESIZE_ASYMMETRIC, RT_NEAREST_CEIL, { 0, 2, 4 } },
    };
    const float x[5] = { 0, 1, 2, 3, 4 };
    const int64_t in[1] = { 5 }, out[1] = { 3 };
    const double scale[1] = { 0.6 };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float y[3];
        resize(y, x, 1, in, out, scale, 0, cases[i].coord, cases[i].near);
        EXPECT_CLOSE(y, cases[i].want, 3, 0, 0);
    }
}
END_TEST

/* ---- ConvTranspose ------------------------------------------------------------------------- */
/* The definition as a scatter: each input pixel adds its kernel footprint to the output at
 * (ih*s - pad + k*dil); the kernel under test gathers instead. Weights [C, M/G, KH, KW].
 * Cases: n c h w m kh kw sh sw pt pl pb pr dh dw g output_padding bias. */
static const int64_t convt_cases[][18] = {
    { 1, 3, 4, 5, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1 },
    { 2, 4, 3, 3, 6, 2, 3, 1, 2, 0, 1, 0, 1, 2, 1, 2, 0, 0 },
    { 1, 2, 5, 4, 2, 3, 3, 3, 2, 2, 0, 1, 1, 1, 1, 2, 0, 1 },
};

START_TEST(conv_transpose_scatter)
{
    const int64_t *c = convt_cases[_i];
    int64_t n = c[0], ch = c[1], h = c[2], w = c[3], m = c[4], kh = c[5], kw = c[6];
    int64_t sh = c[7], sw = c[8], pt = c[9], pl = c[10], pb = c[11], pr = c[12], dh = c[13];
    int64_t dw = c[14], g = c[15], op = c[16], cg = ch / g, mg = m / g;
    int64_t oh = (h - 1) * sh - pt - pb + (kh - 1) * dh + 1 + op;
    int64_t ow = (w - 1) * sw - pl - pr + (kw - 1) * dw + 1 + op;
    size_t ny = (size_t)(n * m * oh * ow);
    float *x = alloc_uniform((size_t)(n * ch * h * w), 60 + _i, -1, 1);
    float *wt = alloc_uniform((size_t)(ch * mg * kh * kw), 61 + _i, -1, 1);
    float *b = c[17] ? alloc_uniform((size_t)m, 62 + _i, -1, 1) : NULL;
    float *y = malloc(ny * 4), *want = malloc(ny * 4);
    double *acc = calloc(ny, sizeof *acc);
    for (int64_t bi = 0; bi < n; bi++)
        for (int64_t ci = 0; ci < ch; ci++)
            for (int64_t iy = 0; iy < h; iy++)
                for (int64_t ix = 0; ix < w; ix++)
                    for (int64_t mo = 0; mo < mg; mo++)
                        for (int64_t a = 0; a < kh; a++)
                            for (int64_t e = 0; e < kw; e++) {
                                int64_t oy = iy * sh - pt + a * dh, ox = ix * sw - pl + e * dw;
                                int64_t oc = ci / cg * mg + mo;
                                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow)
                                    continue;
                                acc[((bi * m + oc) * oh + oy) * ow + ox] +=
                                    (double)x[((bi * ch + ci) * h + iy) * w + ix] *
                                    wt[((ci * mg + mo) * kh + a) * kw + e];
                            }
    for (size_t i = 0; i < ny; i++)
        want[i] = (float)(acc[i] + (b ? b[i / (size_t)(oh * ow) % (size_t)m] : 0));
    int64_t p[16] = { n, ch, h, w, m, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, g };
    float f[4] = { 0 };
    RUN(CONV_TRANSPOSE, y, x, wt, b);
    EXPECT_CLOSE(y, want, ny, 1e-5, 1e-5);
    free(x); free(wt); free(b); free(y); free(want); free(acc);
}
END_TEST

static Suite *kernels_ext_suite(void)
{
    Suite *s = suite_create("kernels_ext");
    TCase *tc = tcase_create("kernels_ext");
    tcase_add_loop_test(tc, reduce_axes, 0, 16);
    tcase_add_test(tc, layernorm_rows);
    tcase_add_test(tc, broadcast_expand_and_tile);
    tcase_add_test(tc, where_broadcast);
    tcase_add_loop_test(tc, nary_broadcast, RT_REDUCE_MEAN, RT_REDUCE_MIN + 1);
    tcase_add_test(tc, resize_bilinear_and_nearest);
    tcase_add_test(tc, resize_nearest_modes);
    tcase_add_loop_test(tc, conv_transpose_scatter, 0,
                        (int)(sizeof convt_cases / sizeof convt_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *s = kernels_ext_suite();
    return run_suites(&s, 1);
}
