/* Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions on small planes (7x7: ResNet's last
 * stage, GoogLeNet's inception 5, DenseNet's last block). F(4x4, 3x3) (conv_winograd.c)
 * would cut a 7x7 plane into 4 tiles, a quarter of the GEMM's vector of 16; 2x2 output
 * tiles make 16, one whole vector, each with 16 multiplications per channel pair where the
 * direct convolution does 36 (1.7x fewer over the 8x8 the tiles cover). The whole image
 * at once: the input tiles transformed (V = B^T d B), the 16 transformed planes
 * multiplied by the weights (U = G g G^T, packed at compile time) in 16 GEMMs, the
 * products transformed back (Y = A^T M A) with the epilogue applied.
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1] */
#include <stdlib.h>
#include <string.h>
#include "rt.h"

/* Floats from one transformed matrix to the next: a multiple of 16 that is an odd number
 * of cache lines, so that the 16 matrices a transform touches at once do not share L1
 * sets (as conv_winograd.c's wino_stride). */
static int64_t wino2_stride(int64_t n)
{
    n = (n + 15) / 16 * 16;
    return n / 16 % 2 ? n : n + 16;
}

RT_API size_t rt_winograd2_weights_size(int64_t M, int64_t C)
{
    return 16 * rt_gemm_packed_a_size(M, C);
}

/* Floats of workspace rt_conv_winograd2_f32 needs (p as rt_conv_f32's). */
RT_API size_t rt_winograd2_workspace(const int64_t *p)
{
    int64_t tiles = (p[5] + 1) / 2 * ((p[6] + 1) / 2);
    return (size_t)(16 * (wino2_stride(p[1] * tiles) + wino2_stride(p[4] * tiles)));
}

/* U_e = (G g G^T)[e] for each filter, as 16 packed matrices [M, C]; 0 when out of
 * memory. */
RT_API int rt_winograd2_pack_weights(int64_t M, int64_t C, const float *w, float *dst)
{
    static const double G[4][3] = { { 1, 0, 0 }, { 0.5, 0.5, 0.5 }, { 0.5, -0.5, 0.5 },
                                    { 0, 0, 1 } };
    return rt_winograd_transform_weights(M, C, w, G, 4, dst);
}

/* One convolution's shape, for the three steps. */
typedef struct {
    int64_t C, H, W, M, OH, OW, PT, PL, th, tw;
} Wino2;

/* Channel plane x into V_e[c][t] (v at channel c of V_0, estride apart). */
static void wino2_input(const Wino2 *k, const float *x, float *v, int64_t estride)
{
    int64_t ty, tx;
    for (ty = 0; ty < k->th; ty++)
        for (tx = 0; tx < k->tw; tx++) {
            float d[4][4], r[4][4];
            int64_t t = ty * k->tw + tx;
            int i, j;
            for (i = 0; i < 4; i++)
                for (j = 0; j < 4; j++) {
                    int64_t iy = 2 * ty - k->PT + i, ix = 2 * tx - k->PL + j;
                    d[i][j] = iy >= 0 && iy < k->H && ix >= 0 && ix < k->W ? x[iy * k->W + ix]
                                                                           : 0.0f;
                }
            for (j = 0; j < 4; j++) {           /* r = B^T d */
                r[0][j] = d[0][j] - d[2][j];
                r[1][j] = d[1][j] + d[2][j];
                r[2][j] = d[2][j] - d[1][j];
                r[3][j] = d[1][j] - d[3][j];
            }
            for (i = 0; i < 4; i++) {           /* V = r B */
                v[(i * 4 + 0) * estride + t] = r[i][0] - r[i][2];
                v[(i * 4 + 1) * estride + t] = r[i][1] + r[i][2];
                v[(i * 4 + 2) * estride + t] = r[i][2] - r[i][1];
                v[(i * 4 + 3) * estride + t] = r[i][1] - r[i][3];
            }
        }
}

/* Output plane y (res: its residual or NULL) from M_e[m][t] (mo at channel m of M_0). */
static void wino2_output(const Wino2 *k, const float *mo, int64_t estride, float bias,
                         const float *res, float *y, int act, float alpha, float beta)
{
    int64_t ty, tx;
    for (ty = 0; ty < k->th; ty++)
        for (tx = 0; tx < k->tw; tx++) {
            float q[4][4], r[2][4];
            int64_t t = ty * k->tw + tx;
            int i, j;
            for (i = 0; i < 4; i++)
                for (j = 0; j < 4; j++)
                    q[i][j] = mo[(i * 4 + j) * estride + t];
            for (j = 0; j < 4; j++) {           /* r = A^T q */
                r[0][j] = q[0][j] + q[1][j] + q[2][j];
                r[1][j] = q[1][j] - q[2][j] - q[3][j];
            }
            for (i = 0; i < 2; i++) {           /* Y = r A, where the plane has it */
                int64_t oy = 2 * ty + i, ox = 2 * tx;
                float o0 = r[i][0] + r[i][1] + r[i][2], o1 = r[i][1] - r[i][2] - r[i][3];
                if (oy >= k->OH)
                    break;
                o0 += bias + (res ? res[oy * k->OW + ox] : 0.0f);
                y[oy * k->OW + ox] = rt_act((RtAct)act, o0, alpha, beta);
                if (ox + 1 < k->OW) {
                    o1 += bias + (res ? res[oy * k->OW + ox + 1] : 0.0f);
                    y[oy * k->OW + ox + 1] = rt_act((RtAct)act, o1, alpha, beta);
                }
            }
        }
}

/* ---- AVX-512: sixteen tiles a vector (x86-64 GCC/Clang only) ---- */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#include "act_avx512.h"

#define WINO2_MAX_TILES 64      /* planes of 16x16 outputs and less (lower.c) */

/* For each run of 16 tiles: where each tile's top-left input and output are, and which
 * of its 16 inputs and 4 outputs lie inside the plane (a lane past the last tile has
 * none). The same for every channel. */
typedef struct {
    int nruns;
    int32_t in_at[WINO2_MAX_TILES], out_at[WINO2_MAX_TILES];
    uint16_t in_mask[WINO2_MAX_TILES / 16][16], out_mask[WINO2_MAX_TILES / 16][4];
    uint16_t live[WINO2_MAX_TILES / 16];
} Wino2Lanes;

static void wino2_lanes(const Wino2 *k, Wino2Lanes *l)
{
    int64_t tiles = k->th * k->tw, t;
    memset(l, 0, sizeof *l);
    l->nruns = (int)((tiles + 15) / 16);
    for (t = 0; t < tiles; t++) {
        int64_t ty = t / k->tw, tx = t % k->tw, r = t / 16;
        uint16_t bit = (uint16_t)(1u << (t % 16));
        int i, j;
        l->in_at[t] = (int32_t)((2 * ty - k->PT) * k->W + 2 * tx - k->PL);
        l->out_at[t] = (int32_t)(2 * ty * k->OW + 2 * tx);
        l->live[r] |= bit;
        for (i = 0; i < 4; i++)
            for (j = 0; j < 4; j++) {
                int64_t iy = 2 * ty - k->PT + i, ix = 2 * tx - k->PL + j;
                if (iy >= 0 && iy < k->H && ix >= 0 && ix < k->W)
                    l->in_mask[r][i * 4 + j] |= bit;
            }
        for (i = 0; i < 2; i++)
            for (j = 0; j < 2; j++)
                if (2 * ty + i < k->OH && 2 * tx + j < k->OW)
                    l->out_mask[r][i * 2 + j] |= bit;
    }
}

#define W2_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

/* wino2_input with the 16 inputs of 16 tiles gathered into 16 vectors */
W2_TARGET static void wino2_input512(const Wino2 *k, const Wino2Lanes *l, const float *x,
                                     float *v, int64_t estride)
{
    int r, i, j;
    for (r = 0; r < l->nruns; r++) {
        __m512i at = _mm512_loadu_si512(l->in_at + 16 * r);
        __m512 d[4][4], q[4][4];
        for (i = 0; i < 4; i++)
            for (j = 0; j < 4; j++)
                d[i][j] = _mm512_mask_i32gather_ps(
                    _mm512_setzero_ps(), l->in_mask[r][i * 4 + j],
                    _mm512_add_epi32(at, _mm512_set1_epi32((int)(i * k->W + j))), x, 4);
        for (j = 0; j < 4; j++) {               /* B^T d */
            q[0][j] = _mm512_sub_ps(d[0][j], d[2][j]);
            q[1][j] = _mm512_add_ps(d[1][j], d[2][j]);
            q[2][j] = _mm512_sub_ps(d[2][j], d[1][j]);
            q[3][j] = _mm512_sub_ps(d[1][j], d[3][j]);
        }
        for (i = 0; i < 4; i++) {               /* ... B */
            float *o = v + (i * 4) * estride + 16 * r;
            __mmask16 m = l->live[r];
            _mm512_mask_storeu_ps(o, m, _mm512_sub_ps(q[i][0], q[i][2]));
            _mm512_mask_storeu_ps(o + estride, m, _mm512_add_ps(q[i][1], q[i][2]));
            _mm512_mask_storeu_ps(o + 2 * estride, m, _mm512_sub_ps(q[i][2], q[i][1]));
            _mm512_mask_storeu_ps(o + 3 * estride, m, _mm512_sub_ps(q[i][1], q[i][3]));
        }
    }
}

/* wino2_output, 16 tiles a vector, the four outputs of each scattered to the plane */
W2_TARGET static void wino2_output512(const Wino2 *k, const Wino2Lanes *l, const float *mo,
                                      int64_t estride, float bias, const float *res, float *y,
                                      int act, float alpha, float beta)
{
    int r, i, j;
    for (r = 0; r < l->nruns; r++) {
        __m512i at = _mm512_loadu_si512(l->out_at + 16 * r);
        __m512 q[4][4], s[2][4], o[4];
        for (i = 0; i < 4; i++)
            for (j = 0; j < 4; j++)
                q[i][j] = _mm512_maskz_loadu_ps(l->live[r], mo + (i * 4 + j) * estride + 16 * r);
        for (j = 0; j < 4; j++) {               /* A^T q */
            s[0][j] = _mm512_add_ps(_mm512_add_ps(q[0][j], q[1][j]), q[2][j]);
            s[1][j] = _mm512_sub_ps(_mm512_sub_ps(q[1][j], q[2][j]), q[3][j]);
        }
        for (i = 0; i < 2; i++) {               /* ... A */
            o[2 * i] = _mm512_add_ps(_mm512_add_ps(s[i][0], s[i][1]), s[i][2]);
            o[2 * i + 1] = _mm512_sub_ps(_mm512_sub_ps(s[i][1], s[i][2]), s[i][3]);
        }
        for (i = 0; i < 4; i++) {
            __mmask16 m = l->out_mask[r][i];
            __m512i idx = _mm512_add_epi32(at, _mm512_set1_epi32(
                (int)((i / 2) * k->OW + i % 2)));
            __m512 val = _mm512_add_ps(o[i], _mm512_set1_ps(bias));
            if (res)
                val = _mm512_add_ps(val, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx,
                                                                   res, 4));
            _mm512_mask_i32scatter_ps(y, m, idx, act512_apply(val, act, alpha, beta), 4);
        }
    }
}
#endif

/* t: y x U b(or NULL) workspace residual(or NULL); p and f as rt_conv_f32's, for a 3x3,
 * stride 1, dilation 1, ungrouped convolution; U from rt_winograd2_pack_weights, the
 * workspace rt_winograd2_workspace(p) floats. The threads share each step: channels, the
 * 16 products, output channels. */
RT_API void rt_conv_winograd2_f32(void *const *t, const int64_t *p, const float *f)
{
    int64_t N = p[0], n;
    Wino2 k;
    const float *U = t[2], *b = t[3];
    float *v = t[4], *mo;
    size_t each = rt_gemm_packed_a_size(p[4], p[1]);
    int64_t tiles, esv, esm;
    int act = (int)p[16];
#if defined(__GNUC__) && defined(__x86_64__)
    int vec, vec_out;
    Wino2Lanes lanes;
#endif
    k.C = p[1]; k.H = p[2]; k.W = p[3]; k.M = p[4]; k.OH = p[5]; k.OW = p[6];
    k.PT = p[11]; k.PL = p[12];
    k.th = (k.OH + 1) / 2;
    k.tw = (k.OW + 1) / 2;
    tiles = k.th * k.tw;
    esv = wino2_stride(k.C * tiles);
    esm = wino2_stride(k.M * tiles);
    mo = v + 16 * esv;
#if defined(__GNUC__) && defined(__x86_64__)
    vec = rt_cpu_isa() >= 2 && tiles <= WINO2_MAX_TILES;
    vec_out = vec && act512_ok(act);
    if (vec)
        wino2_lanes(&k, &lanes);
#endif
    for (n = 0; n < N; n++) {
        const float *x = (const float *)t[1] + n * k.C * k.H * k.W;
        const float *res = t[5] ? (const float *)t[5] + n * k.M * k.OH * k.OW : NULL;
        float *y = (float *)t[0] + n * k.M * k.OH * k.OW;
        int64_t next = 0;
        #pragma omp parallel
        {
            int64_t i;
            #pragma omp for schedule(static)
            for (i = 0; i < k.C; i++) {
#if defined(__GNUC__) && defined(__x86_64__)
                if (vec) {
                    wino2_input512(&k, &lanes, x + i * k.H * k.W, v + i * tiles, esv);
                    continue;
                }
#endif
                wino2_input(&k, x + i * k.H * k.W, v + i * tiles, esv);
            }
            while ((i = rt_claim(&next, 1)) < 16) {
                RtGemmB B;
                memset(&B, 0, sizeof B);
                B.x = v + i * esv;
                B.ldb = tiles;
                rt_gemm_packed(k.M, tiles, k.C, U + (size_t)i * each, &B, mo + i * esm, tiles,
                               0, NULL);
            }
            #pragma omp barrier
            #pragma omp for schedule(static)
            for (i = 0; i < k.M; i++) {
                const float *ri = res ? res + i * k.OH * k.OW : NULL;
#if defined(__GNUC__) && defined(__x86_64__)
                if (vec_out) {
                    wino2_output512(&k, &lanes, mo + i * tiles, esm, b ? b[i] : 0.0f, ri,
                                    y + i * k.OH * k.OW, act, f[0], f[1]);
                    continue;
                }
#endif
                wino2_output(&k, mo + i * tiles, esm, b ? b[i] : 0.0f, ri, y + i * k.OH * k.OW,
                             act, f[0], f[1]);
            }
        }
    }
}
