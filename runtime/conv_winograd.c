/* Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions: every 4x4 output tile comes from a
 * 6x6 input tile with 36 multiplications per channel pair instead of 144. The input tiles
 * are transformed (V = B^T d B), the 36 transformed planes multiplied by the weights, also
 * transformed (U = G g G^T, once, at compile time), in 36 packed GEMMs, and the products
 * transformed back (Y = A^T M A) with the epilogue applied. Threads take bands of tile
 * rows, each with its own scratch, so nothing waits between the three steps.
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0;
 *          0 4 0 -5 0 1]
 *   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1] */
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "rt.h"

#if defined(__GNUC__) && defined(__x86_64__)
RT_API void rt_wino_input_avx512(const float *x, int64_t h, int64_t w, int64_t iy0,
                                 int64_t ix0, int64_t ntiles, float *v, int64_t estride);
RT_API void rt_wino_input2_avx512(const float *x, int64_t h, int64_t w, int64_t iy0,
                                  int64_t ix0, int64_t ntiles, int64_t nrows, float *v,
                                  int64_t estride);
RT_API void rt_wino_input4_avx512(const float *x, int64_t h, int64_t w, int64_t iy0,
                                  int64_t ix0, int64_t ntiles, int64_t nrows, float *v,
                                  int64_t estride);
RT_API void rt_wino_output2_avx512(const float *m, int64_t estride, int64_t ntiles,
                                   int64_t nrows, float bias, const float *res, float *y,
                                   int64_t oh, int64_t ow, int64_t oy0, int act, float alpha,
                                   float beta);
RT_API void rt_wino_output4_avx512(const float *m, int64_t estride, int64_t ntiles,
                                   int64_t nrows, float bias, const float *res, float *y,
                                   int64_t oh, int64_t ow, int64_t oy0, int act, float alpha,
                                   float beta);
RT_API void rt_wino_output_avx512(const float *m, int64_t estride, int64_t ntiles, float bias,
                                  const float *res, float *y, int64_t oh, int64_t ow,
                                  int64_t oy0, int64_t ox0, int act, float alpha, float beta);
RT_API int rt_act512_ok(int act);
#endif

/* Size in floats of the transformed, packed weights of M x C 3x3 filters. */
RT_API size_t rt_winograd_weights_size(int64_t M, int64_t C)
{
    return 36 * rt_gemm_packed_a_size(M, C);
}

/* U_e = (G g G^T)[e] for each filter, as a * a matrices [M, C], each packed for the
 * GEMM: the weights of F(m x m, 3x3) for G of a = m + 2 <= 6 rows (this file's and
 * conv_winograd2.c's). Returns 0 when out of memory. */
RT_API int rt_winograd_transform_weights(int64_t M, int64_t C, const float *w,
                                         const double (*G)[3], int a, float *dst)
{
    size_t each = rt_gemm_packed_a_size(M, C);
    float *u = malloc((size_t)(M * C * a * a) * sizeof(float));
    int64_t m, c, e;
    if (!u)
        return 0;
    for (m = 0; m < M; m++)
        for (c = 0; c < C; c++) {
            const float *g = w + (m * C + c) * 9;
            double t[6][3];
            int i, j, k;
            for (i = 0; i < a; i++)
                for (j = 0; j < 3; j++) {
                    t[i][j] = 0;
                    for (k = 0; k < 3; k++)
                        t[i][j] += G[i][k] * g[k * 3 + j];
                }
            for (i = 0; i < a; i++)
                for (j = 0; j < a; j++) {
                    double s = 0;
                    for (k = 0; k < 3; k++)
                        s += t[i][k] * G[j][k];
                    u[((int64_t)(i * a + j) * M + m) * C + c] = (float)s;
                }
        }
    for (e = 0; e < a * a; e++)
        rt_gemm_pack_a(M, C, u + e * M * C, C, dst + (size_t)e * each);
    free(u);
    return 1;
}

/* F(4x4,3x3)'s 36 matrices; 0 when out of memory. */
RT_API int rt_winograd_pack_weights(int64_t M, int64_t C, const float *w, float *dst)
{
    static const double G[6][3] = {
        { 1.0 / 4, 0, 0 }, { -1.0 / 6, -1.0 / 6, -1.0 / 6 }, { -1.0 / 6, 1.0 / 6, -1.0 / 6 },
        { 1.0 / 24, 1.0 / 12, 1.0 / 6 }, { 1.0 / 24, -1.0 / 12, 1.0 / 6 }, { 0, 0, 1 } };
    return rt_winograd_transform_weights(M, C, w, G, 6, dst);
}

/* The 1-D transforms, on 6 values with stride s. */
static void wino_bt(const float *d, int s, float *r, int rs)
{
    float d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
    r[0] = 4 * d0 - 5 * d2 + d4;
    r[rs] = -4 * d1 - 4 * d2 + d3 + d4;
    r[2 * rs] = 4 * d1 - 4 * d2 - d3 + d4;
    r[3 * rs] = -2 * d1 - d2 + 2 * d3 + d4;
    r[4 * rs] = 2 * d1 - d2 - 2 * d3 + d4;
    r[5 * rs] = 4 * d1 - 5 * d3 + d5;
}

static void wino_at(const float *m, int s, float *o, int os)
{
    float m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s], m4 = m[4 * s], m5 = m[5 * s];
    o[0] = m0 + m1 + m2 + m3 + m4;
    o[os] = m1 - m2 + 2 * m3 - 2 * m4;
    o[2 * os] = m1 + m2 + 4 * m3 + 4 * m4;
    o[3 * os] = m1 - m2 + 8 * m3 - 8 * m4 + m5;
}

/* V[e * estride + t] for tiles t < ntiles of one tile row, one channel plane. */
static void wino_input_scalar(const float *x, int64_t h, int64_t w, int64_t iy0, int64_t ix0,
                              int64_t ntiles, float *v, int64_t estride)
{
    int64_t t;
    for (t = 0; t < ntiles; t++) {
        float d[36], r[36], u[36];
        int i, j;
        for (i = 0; i < 6; i++)
            for (j = 0; j < 6; j++) {
                int64_t iy = iy0 + i, ix = ix0 + 4 * t + j;
                d[i * 6 + j] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[iy * w + ix] : 0.0f;
            }
        for (j = 0; j < 6; j++)
            wino_bt(d + j, 6, r + j, 6);        /* columns: r = B^T d */
        for (i = 0; i < 6; i++)
            wino_bt(r + i * 6, 1, u + i * 6, 1);    /* rows: u = r B */
        for (i = 0; i < 36; i++)
            v[i * estride + t] = u[i];
    }
}

static void wino_output_scalar(const float *m, int64_t estride, int64_t ntiles, float bias,
                               const float *res, float *y, int64_t oh, int64_t ow,
                               int64_t oy0, int64_t ox0, int act, float alpha, float beta)
{
    int64_t t;
    for (t = 0; t < ntiles; t++) {
        float q[36], r[24], o[16];
        int i, j;
        for (i = 0; i < 36; i++)
            q[i] = m[i * estride + t];
        for (j = 0; j < 6; j++)
            wino_at(q + j, 6, r + j, 6);        /* r[4][6] = A^T q */
        for (i = 0; i < 4; i++)
            wino_at(r + i * 6, 1, o + i * 4, 1);    /* o[4][4] = r A */
        for (i = 0; i < 4; i++)
            for (j = 0; j < 4; j++) {
                int64_t oy = oy0 + i, ox = ox0 + 4 * t + j;
                float s;
                if (oy >= oh || ox >= ow)
                    continue;
                s = o[i * 4 + j] + bias + (res ? res[oy * ow + ox] : 0.0f);
                y[oy * ow + ox] = rt_act((RtAct)act, s, alpha, beta);
            }
    }
}

/* One convolution's shape and pointers, for the three steps below. */
typedef struct {
    const float *x, *U, *b, *res;       /* x, res at the image */
    float *y;
    int64_t C, H, W, M, OH, OW, PT, PL, tw;
    size_t each;                        /* floats of one packed U_e */
    int act, avx512, avx512_out;
    float alpha, beta;
} Wino;

/* Floats from one transformed matrix (V_e, M_e) of n floats to the next: a multiple of 16
 * that is an odd number of cache lines. The transforms write and read all 36 at once, and
 * at a stride of a multiple of 4 KiB they would all fall in the same few L1 sets (DenseNet's
 * 56x56 layers: bands of 8 tile rows, 128 x 112 floats a matrix, 1.45x slower than bands
 * of 7). */
static int64_t wino_stride(int64_t n)
{
    n = (n + 15) / 16 * 16;
    return n / 16 % 2 ? n : n + 16;
}

#if defined(__GNUC__) && defined(__x86_64__)
/* Tile rows the AVX-512 transforms pack into one vector: four for planes of four tiles a
 * row or fewer (14x14), two for five to eight (28x28), else one (a row's tiles fill it). */
static int64_t wino_rows_a_vector(const Wino *k)
{
    return k->tw <= 4 ? 4 : k->tw <= 8 ? 2 : 1;
}
#endif

/* Tile rows ty0..ty1-1, channels c0..c1-1: V_e [C, ntl] at v + e * wino_stride(C ntl). */
static void wino_inputs(const Wino *k, int64_t ty0, int64_t ty1, int64_t c0, int64_t c1,
                        float *v)
{
    int64_t ntl = (ty1 - ty0) * k->tw, es = wino_stride(k->C * ntl), c, ty;
#if defined(__GNUC__) && defined(__x86_64__)
    int64_t g = wino_rows_a_vector(k);
    if (k->avx512 && g > 1) {
        for (c = c0; c < c1; c++)
            for (ty = ty0; ty < ty1; ty += g)
                (g == 4 ? rt_wino_input4_avx512 : rt_wino_input2_avx512)(
                    k->x + c * k->H * k->W, k->H, k->W, ty * 4 - k->PT, -k->PL, k->tw,
                    ty1 - ty < g ? ty1 - ty : g, v + c * ntl + (ty - ty0) * k->tw, es);
        return;
    }
#endif
    for (c = c0; c < c1; c++)
        for (ty = ty0; ty < ty1; ty++) {
            const float *xc = k->x + c * k->H * k->W;
            float *vt = v + c * ntl + (ty - ty0) * k->tw;
#if defined(__GNUC__) && defined(__x86_64__)
            if (k->avx512) {
                rt_wino_input_avx512(xc, k->H, k->W, ty * 4 - k->PT, -k->PL, k->tw, vt, es);
                continue;
            }
#endif
            wino_input_scalar(xc, k->H, k->W, ty * 4 - k->PT, -k->PL, k->tw, vt, es);
        }
}

/* M_e = U_e V_e for e in e0..e1-1, ntl tiles: M_e [M, ntl] at mo + e * wino_stride(M ntl). */
static void wino_products(const Wino *k, int64_t ntl, int e0, int e1, const float *v,
                          float *mo)
{
    RtGemmB B;
    int e;
    memset(&B, 0, sizeof B);
    B.ldb = ntl;
    for (e = e0; e < e1; e++) {
        B.x = v + e * wino_stride(k->C * ntl);
        rt_gemm_packed(k->M, ntl, k->C, k->U + (size_t)e * k->each, &B,
                       mo + e * wino_stride(k->M * ntl), ntl, 0, NULL);
    }
}

/* Output channels m0..m1-1 of tile rows ty0..ty1-1 from the products. */
static void wino_outputs(const Wino *k, int64_t ty0, int64_t ty1, int64_t m0, int64_t m1,
                         const float *mo)
{
    int64_t ntl = (ty1 - ty0) * k->tw, es = wino_stride(k->M * ntl), m, ty;
#if defined(__GNUC__) && defined(__x86_64__)
    int64_t g = wino_rows_a_vector(k);
    if (k->avx512_out && g > 1) {
        for (m = m0; m < m1; m++)
            for (ty = ty0; ty < ty1; ty += g)
                (g == 4 ? rt_wino_output4_avx512 : rt_wino_output2_avx512)(
                    mo + m * ntl + (ty - ty0) * k->tw, es, k->tw, ty1 - ty < g ? ty1 - ty : g,
                    k->b ? k->b[m] : 0.0f, k->res ? k->res + m * k->OH * k->OW : NULL,
                    k->y + m * k->OH * k->OW, k->OH, k->OW, ty * 4, k->act, k->alpha, k->beta);
        return;
    }
#endif
    for (m = m0; m < m1; m++)
        for (ty = ty0; ty < ty1; ty++) {
            const float *mt = mo + m * ntl + (ty - ty0) * k->tw;
            float bias = k->b ? k->b[m] : 0.0f, *ym = k->y + m * k->OH * k->OW;
            const float *rm = k->res ? k->res + m * k->OH * k->OW : NULL;
#if defined(__GNUC__) && defined(__x86_64__)
            if (k->avx512_out) {
                rt_wino_output_avx512(mt, es, k->tw, bias, rm, ym, k->OH, k->OW, ty * 4, 0,
                                      k->act, k->alpha, k->beta);
                continue;
            }
#endif
            wino_output_scalar(mt, es, k->tw, bias, rm, ym, k->OH, k->OW, ty * 4, 0, k->act,
                               k->alpha, k->beta);
        }
}

/* t: y x U b(or NULL) workspace(unused, NULL) residual(or NULL); p and f as rt_conv_f32's,
 * for a 3x3, stride 1, dilation 1, ungrouped convolution; U from rt_winograd_pack_weights.
 * One thread, or an image too large to transform at once: bands of tile rows, each
 * thread an equal share of them with its own scratch, so that nothing waits between the
 * three steps. Several threads and a smaller image: all its tiles at once, each step split
 * among the threads (channels, the 36 products, output channels), so that few tiles are
 * not cut into thinner bands that fill the GEMM's tiles worse (ResNet's 28x28 layers at
 * two threads: 1.2-1.4x the speed of one thread in bands). */
RT_API void rt_conv_winograd_f32(void *const *t, const int64_t *p, const float *f)
{
    int64_t N = p[0], C = p[1], H = p[2], W = p[3], M = p[4], OH = p[5], OW = p[6];
    int64_t th = (OH + 3) / 4, tw = (OW + 3) / 4, rows, n, next;
    int nt = 1;
    Wino k;
    k.C = C; k.H = H; k.W = W; k.M = M; k.OH = OH; k.OW = OW; k.PT = p[11]; k.PL = p[12];
    k.tw = tw;
    k.U = t[2];
    k.b = t[3];
    k.each = rt_gemm_packed_a_size(M, C);
    k.act = (int)p[16];
    k.alpha = f[0];
    k.beta = f[1];
    k.avx512 = rt_cpu_isa() >= 2;
    k.avx512_out = 0;
#if defined(__GNUC__) && defined(__x86_64__)
    k.avx512_out = k.avx512 && rt_act512_ok(k.act);
#endif
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    for (n = 0; n < N; n++) {
        float *whole = NULL;
        k.x = (const float *)t[1] + n * C * H * W;
        k.y = (float *)t[0] + n * M * OH * OW;
        k.res = t[5] ? (const float *)t[5] + n * M * OH * OW : NULL;
        /* up to 8 MB (4 MB before): VGG's 512 -> 512 layers at 28x28 (7 tile rows, which
         * two threads share as 4 and 3 in bands) 3.6 -> 3.0 ms at two threads, DenseNet's
         * 128 -> 32 at 56x56 0.26 -> 0.25 */
        if (nt > 1 && 36 * (C + M) * th * tw <= (int64_t)2 << 20)
            whole = malloc((size_t)(36 * (wino_stride(C * th * tw) + wino_stride(M * th * tw))) *
                           sizeof(float));
        if (whole) {
            float *mo = whole + 36 * wino_stride(C * th * tw);
            next = 0;
            #pragma omp parallel
            {
                int64_t i;
                #pragma omp for schedule(static)
                for (i = 0; i < C; i++)
                    wino_inputs(&k, 0, th, i, i + 1, whole);
                while ((i = rt_claim(&next, 1)) < 36)
                    wino_products(&k, th * tw, (int)i, (int)i + 1, whole, mo);
                #pragma omp barrier
                #pragma omp for schedule(static)
                for (i = 0; i < M; i++)
                    wino_outputs(&k, 0, th, i, i + 1, mo);
            }
            free(whole);
            continue;
        }
        /* bands whose transformed input (36 x C x tiles) is about 2 MiB: each band reads
         * all of U again, so bands may not be too thin. Each thread takes an equal share of
         * the tile rows, in bands as even as they come: bands of 4 rows claimed one by one
         * left one thread 16 of ResNet's and VGG's 28 rows at 112x112 and 8 of 14 at 56x56
         * (1.7x the speed of one thread; 1.9x now). */
        rows = 524288 / (36 * C * tw);
        if (rows < 1)
            rows = 1;
        if (rows > (th + nt - 1) / nt)
            rows = (th + nt - 1) / nt;
        #pragma omp parallel num_threads(nt) if (th > rows)
        {
            int64_t nb = rows * tw, i = 0, n_t = 1, part0, part1, nbands, b;
            float *v = malloc((size_t)(36 * (wino_stride(C * nb) + wino_stride(M * nb))) *
                              sizeof(float));
#ifdef _OPENMP
            i = omp_get_thread_num();
            n_t = omp_get_num_threads();
#endif
            part0 = th * i / n_t;
            part1 = th * (i + 1) / n_t;
            nbands = (part1 - part0 + rows - 1) / rows;
            for (b = 0; b < nbands && v; b++) {     /* (alone: bands of `rows`) */
                int64_t ty0 = n_t == 1 ? b * rows : part0 + (part1 - part0) * b / nbands;
                int64_t ty1 = n_t == 1 ? (ty0 + rows < th ? ty0 + rows : th)
                                       : part0 + (part1 - part0) * (b + 1) / nbands;
                float *mo = v + 36 * wino_stride(C * (ty1 - ty0) * tw);
                wino_inputs(&k, ty0, ty1, 0, C, v);
                wino_products(&k, (ty1 - ty0) * tw, 0, 36, v, mo);
                wino_outputs(&k, ty0, ty1, 0, M, mo);
            }
            free(v);
        }
    }
}
