/* AVX-512 micro-kernels of the packed GEMM (runtime/gemm.c chooses them at run time): a
 * 12x32 tile of C lives in 24 zmm registers while K streams by, one broadcast of A and two
 * loads of B per 4 FMAs (24x16 for blocks of B one vector wide); the epilogue (bias,
 * residual, activation) is applied before the tile leaves the registers. Built with a
 * target attribute so that plain -O2 compiles it; only x86-64 GCC/Clang see it at all. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#include "rt.h"
#include "act_avx512.h"
#include "transpose_avx512.h"

#define G512_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define G512_INLINE static inline __attribute__((always_inline)) G512_TARGET

/* Row i of the tile leaves the registers: accumulate, epilogue, masked store. act is
 * t->act, a constant where the caller made it one. */
G512_INLINE void g512_row(const RtGemmTile *t, int i, __m512 v0, __m512 v1, __mmask16 m0,
                          __mmask16 m1, int act)
{
    float *c = t->c + i * t->ldc;
    if (i >= t->mr)
        return;
    if (t->accumulate) {
        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, c));
        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, c + 16));
    }
    if (t->bias) {
        __m512 b = _mm512_set1_ps(t->bias[i]);
        v0 = _mm512_add_ps(v0, b);
        v1 = _mm512_add_ps(v1, b);
    }
    if (t->res) {
        const float *r = t->res + i * t->ldr;
        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, r));
        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, r + 16));
    }
    if (act != RT_ACT_NONE) {
        v0 = act512_apply(v0, act, t->alpha, t->beta);
        v1 = act512_apply(v1, act, t->alpha, t->beta);
    }
    _mm512_mask_storeu_ps(c, m0, v0);
    _mm512_mask_storeu_ps(c + 16, m1, v1);
}

#define G512_DECL(p, r) __m512 p##r##x = _mm512_setzero_ps(), p##r##y = _mm512_setzero_ps()
#define G512_FMA(p, r, ap) do {                                 \
        __m512 s_ = _mm512_set1_ps((ap)[r]);                    \
        p##r##x = _mm512_fmadd_ps(s_, b0, p##r##x);             \
        p##r##y = _mm512_fmadd_ps(s_, b1, p##r##y);             \
    } while (0)
#define G512_PANEL(p, ap) do {                                  \
        G512_FMA(p, 0, ap); G512_FMA(p, 1, ap); G512_FMA(p, 2, ap); \
        G512_FMA(p, 3, ap); G512_FMA(p, 4, ap); G512_FMA(p, 5, ap); \
    } while (0)
#define G512_STORE(p, base) do {                                \
        g512_row(t, base + 0, p##0x, p##0y, m0, m1, act);          \
        g512_row(t, base + 1, p##1x, p##1y, m0, m1, act);          \
        g512_row(t, base + 2, p##2x, p##2y, m0, m1, act);          \
        g512_row(t, base + 3, p##3x, p##3y, m0, m1, act);          \
        g512_row(t, base + 4, p##4x, p##4y, m0, m1, act);          \
        g512_row(t, base + 5, p##5x, p##5y, m0, m1, act);          \
    } while (0)

/* C[mr<=12, nr<=32] of one tile; B panels are 32 wide. */
G512_INLINE void g512_tile(const RtGemmTile *t, int act)
{
    const float *a0 = t->a0, *a1 = t->a1, *b = t->b;
    int64_t k, kc = t->kc, step = t->ldb ? t->ldb : 32;
    __mmask16 m0 = t->nr >= 16 ? 0xFFFF : (__mmask16)((1u << t->nr) - 1);
    __mmask16 m1 = t->nr >= 32 ? 0xFFFF : t->nr > 16 ? (__mmask16)((1u << (t->nr - 16)) - 1)
                 : 0;
    /* a packed panel is zero-padded to 32 columns; B's own rows end at nr */
    __mmask16 l0 = t->ldb ? m0 : 0xFFFF, l1 = t->ldb ? m1 : 0xFFFF;
    G512_DECL(c, 0); G512_DECL(c, 1); G512_DECL(c, 2);
    G512_DECL(c, 3); G512_DECL(c, 4); G512_DECL(c, 5);
    if (t->mr > 6) {
        G512_DECL(d, 0); G512_DECL(d, 1); G512_DECL(d, 2);
        G512_DECL(d, 3); G512_DECL(d, 4); G512_DECL(d, 5);
        const float *pf0 = t->pf0, *pf1 = t->pf1;
        if (pf0)
            for (k = 0; k < kc; k++) {
                __m512 b0 = _mm512_maskz_loadu_ps(l0, b), b1 = _mm512_maskz_loadu_ps(l1, b + 16);
                _mm_prefetch((const char *)pf0, _MM_HINT_T1);
                _mm_prefetch((const char *)pf1, _MM_HINT_T1);
                G512_PANEL(c, a0);
                G512_PANEL(d, a1);
                a0 += 6;
                a1 += 6;
                pf0 += t->pfstep;
                pf1 += t->pfstep;
                b += step;
            }
        else
            for (k = 0; k < kc; k++) {
                __m512 b0 = _mm512_maskz_loadu_ps(l0, b), b1 = _mm512_maskz_loadu_ps(l1, b + 16);
                G512_PANEL(c, a0);
                G512_PANEL(d, a1);
                a0 += 6;
                a1 += 6;
                b += step;
            }
        G512_STORE(c, 0);
        G512_STORE(d, 6);
        return;
    }
    for (k = 0; k < kc; k++) {
        __m512 b0 = _mm512_maskz_loadu_ps(l0, b), b1 = _mm512_maskz_loadu_ps(l1, b + 16);
        G512_PANEL(c, a0);
        a0 += 6;
        b += step;
    }
    G512_STORE(c, 0);
}

/* The tile with the common activations as constants: a jump table at every row of the
 * epilogue cost 5-6 % of the small-K products (16 -> 96 channels at 112x112). */
G512_TARGET RT_API void rt_gemm_tile_avx512(const RtGemmTile *t)
{
    switch (t->act) {
    case RT_ACT_NONE: g512_tile(t, RT_ACT_NONE); break;
    case RT_ACT_RELU: g512_tile(t, RT_ACT_RELU); break;
    case RT_ACT_CLIP: g512_tile(t, RT_ACT_CLIP); break;
    case RT_ACT_SILU: g512_tile(t, RT_ACT_SILU); break;
    default:          g512_tile(t, t->act); break;
    }
}

/* Narrow blocks: C[mr<=24, nr<=16], four panels of A against one vector of B, for the
 * products of Winograd on 14x14 planes (16 tiles), where the 12x32 tile would leave half
 * its lanes empty. One load of B and 24 broadcasts of A per 24 FMAs. */
#define G16_DECL(p) __m512 p##0 = _mm512_setzero_ps(), p##1 = p##0, p##2 = p##0, \
    p##3 = p##0, p##4 = p##0, p##5 = p##0
#define G16_FMA(p, r, ap) p##r = _mm512_fmadd_ps(_mm512_set1_ps((ap)[r]), b0, p##r)
#define G16_PANEL(p, ap) do {                                   \
        G16_FMA(p, 0, ap); G16_FMA(p, 1, ap); G16_FMA(p, 2, ap); \
        G16_FMA(p, 3, ap); G16_FMA(p, 4, ap); G16_FMA(p, 5, ap); \
    } while (0)
#define G16_STORE(p, base) do {                                 \
        g512_row(t, base + 0, p##0, zero, m0, 0, t->act);             \
        g512_row(t, base + 1, p##1, zero, m0, 0, t->act);             \
        g512_row(t, base + 2, p##2, zero, m0, 0, t->act);             \
        g512_row(t, base + 3, p##3, zero, m0, 0, t->act);             \
        g512_row(t, base + 4, p##4, zero, m0, 0, t->act);             \
        g512_row(t, base + 5, p##5, zero, m0, 0, t->act);             \
    } while (0)

/* np panels (a constant in each copy); a1 - a0 is the distance between panels. With pf0,
 * the next tile's panels (pfstep floats apart) are brought into L2 on the way: Winograd's
 * weights, four times a direct convolution's, come from memory at every inference. */
G512_INLINE void g512_tile16(const RtGemmTile *t, int np)
{
    const float *a0 = t->a0, *b = t->b;
    const int64_t ps = np > 1 ? t->a1 - t->a0 : 0;
    const float *a1 = a0 + ps, *a2 = a1 + ps, *a3 = a2 + ps;
    const __m512 zero = _mm512_setzero_ps();
    int64_t k, step = t->ldb ? t->ldb : 32;
    __mmask16 m0 = t->nr >= 16 ? 0xFFFF : (__mmask16)((1u << t->nr) - 1);
    __mmask16 l0 = t->ldb ? m0 : 0xFFFF;
    const float *pf = t->pf0;
    G16_DECL(c); G16_DECL(d); G16_DECL(e); G16_DECL(f);
    for (k = 0; k < t->kc; k++) {
        __m512 b0 = _mm512_maskz_loadu_ps(l0, b);
        if (pf) {       /* the next tile's four panels, two a step: a line per 2.7 steps */
            const float *q = pf + (k & 1) * 2 * t->pfstep + k * 6;
            _mm_prefetch((const char *)q, _MM_HINT_T1);
            _mm_prefetch((const char *)(q + t->pfstep), _MM_HINT_T1);
        }
        G16_PANEL(c, a0);
        if (np > 1)
            G16_PANEL(d, a1);
        if (np > 2)
            G16_PANEL(e, a2);
        if (np > 3)
            G16_PANEL(f, a3);
        a0 += 6;
        a1 += 6;
        a2 += 6;
        a3 += 6;
        b += step;
    }
    G16_STORE(c, 0);
    if (np > 1)
        G16_STORE(d, 6);
    if (np > 2)
        G16_STORE(e, 12);
    if (np > 3)
        G16_STORE(f, 18);
}

G512_TARGET RT_API void rt_gemm_tile16_avx512(const RtGemmTile *t)
{
    switch ((t->mr + 5) / 6) {
    case 1: g512_tile16(t, 1); break;
    case 2: g512_tile16(t, 2); break;
    case 3: g512_tile16(t, 3); break;
    default: g512_tile16(t, 4); break;
    }
}

/* Row k of a block of B into each of its 32-wide panels (pstride floats apart), the last
 * one zero-padded: nc floats from src, read as act(src * s + t) when scaled (RtGemmB). */
G512_TARGET RT_API void rt_gemm_pack_row_avx512(const float *src, int64_t nc, int64_t pstride,
                                                float *d, int scaled, float s, float t,
                                                int relu)
{
    const __m512 vs = _mm512_set1_ps(s), vt = _mm512_set1_ps(t), zero = _mm512_setzero_ps();
    int64_t j, end = (nc + 31) / 32 * 32;
    for (j = 0; j < end; j += 16, d += (j % 32 == 0 ? pstride - 16 : 16)) {
        __mmask16 m = nc - j >= 16 ? 0xFFFF : nc > j ? (__mmask16)((1u << (nc - j)) - 1) : 0;
        __m512 v = _mm512_maskz_loadu_ps(m, src + j);
        if (scaled) {
            v = _mm512_maskz_mov_ps(m, _mm512_fmadd_ps(v, vs, vt));
            if (relu)
                v = _mm512_max_ps(v, zero);
        }
        _mm512_storeu_ps(d, v);
    }
}

/* dst[i] = src[2i], i < n (a stride-2 convolution's input columns); reads src[0, 2n - 1]
 * only. */
G512_TARGET RT_API void rt_gather_even_avx512(const float *src, int64_t n, float *dst)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    int64_t i;
    for (i = 0; i + 16 <= n; i += 16) {
        __m512 lo = _mm512_loadu_ps(src + 2 * i), hi;
        hi = i + 16 < n ? _mm512_loadu_ps(src + 2 * i + 16)
                        : _mm512_maskz_loadu_ps(0x7FFF, src + 2 * i + 16);
        _mm512_storeu_ps(dst + i, _mm512_permutex2var_ps(lo, even, hi));
    }
    if (i < n) {
        int64_t left = 2 * (n - i) - 1;         /* floats to read: 1 .. 31 */
        __mmask16 m0 = left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1);
        __mmask16 m1 = left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : 0;
        __m512 lo = _mm512_maskz_loadu_ps(m0, src + 2 * i);
        __m512 hi = _mm512_maskz_loadu_ps(m1, src + 2 * i + 16);
        _mm512_mask_storeu_ps(dst + i, (__mmask16)((1u << (n - i)) - 1),
                              _mm512_permutex2var_ps(lo, even, hi));
    }
}

/* Few rows of C (a matrix-vector product in effect, e.g. a classifier at batch 1):
 * c[0:n] (+)= a[0:K] * B[K, 0:n] straight from B, which is read once. */
G512_TARGET RT_API void rt_gemm_row_avx512(int64_t K, int64_t n, const float *a,
                                           const float *b, int64_t ldb, float *c,
                                           int accumulate)
{
    int64_t j, k;
    for (j = 0; j < n; j += 64) {
        int64_t left = n - j, q;
        __mmask16 m[4];
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (q = 0; q < 4; q++) {
            int64_t r = left - 16 * q;
            m[q] = r >= 16 ? 0xFFFF : r > 0 ? (__mmask16)((1u << r) - 1) : 0;
        }
        for (k = 0; k < K; k++) {
            const float *bk = b + k * ldb + j;
            __m512 ak = _mm512_set1_ps(a[k]);
            s0 = _mm512_fmadd_ps(ak, _mm512_maskz_loadu_ps(m[0], bk), s0);
            s1 = _mm512_fmadd_ps(ak, _mm512_maskz_loadu_ps(m[1], bk + 16), s1);
            s2 = _mm512_fmadd_ps(ak, _mm512_maskz_loadu_ps(m[2], bk + 32), s2);
            s3 = _mm512_fmadd_ps(ak, _mm512_maskz_loadu_ps(m[3], bk + 48), s3);
        }
        if (accumulate) {
            s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(m[0], c + j));
            s1 = _mm512_add_ps(s1, _mm512_maskz_loadu_ps(m[1], c + j + 16));
            s2 = _mm512_add_ps(s2, _mm512_maskz_loadu_ps(m[2], c + j + 32));
            s3 = _mm512_add_ps(s3, _mm512_maskz_loadu_ps(m[3], c + j + 48));
        }
        _mm512_mask_storeu_ps(c + j, m[0], s0);
        _mm512_mask_storeu_ps(c + j + 16, m[1], s1);
        _mm512_mask_storeu_ps(c + j + 32, m[2], s2);
        _mm512_mask_storeu_ps(c + j + 48, m[3], s3);
    }
}
/* y[m] = sum w[m][k] x[k] for m < M (w row-major, K apart): sixteen rows at a time, each
 * summed along K in its own vector, the sixteen then added across by a transpose (a
 * squeeze-excitation's small layers: 16 outputs for the cost of three dot products). */
G512_TARGET RT_API void rt_gemv_avx512(int64_t M, int64_t K, const float *w, const float *x,
                                       float *y)
{
    int64_t m0, k0;
    for (m0 = 0; m0 < M; m0 += 16) {
        __m512 acc[16], sum;
        int64_t rows = M - m0 < 16 ? M - m0 : 16;
        int r;
        for (r = 0; r < 16; r++)
            acc[r] = _mm512_setzero_ps();
        for (k0 = 0; k0 < K; k0 += 16) {
            __mmask16 m = K - k0 >= 16 ? 0xFFFF : (__mmask16)((1u << (K - k0)) - 1);
            __m512 xv = _mm512_maskz_loadu_ps(m, x + k0);
#pragma GCC unroll 16
            for (r = 0; r < 16; r++)
                acc[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(r < rows ? m : 0,
                                                               w + (m0 + r) * K + k0),
                                         xv, acc[r]);
        }
        transpose16(acc);
        sum = acc[0];
        for (r = 1; r < 16; r++)
            sum = _mm512_add_ps(sum, acc[r]);
        _mm512_mask_storeu_ps(y + m0, (__mmask16)((1u << rows) - 1), sum);
    }
}

/* sum a[k] b[k], k < K */
G512_TARGET RT_API float rt_dot_avx512(int64_t K, const float *a, const float *b)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t k = 0;
    for (; k + 64 <= K; k += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k + 16), _mm512_loadu_ps(b + k + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k + 32), _mm512_loadu_ps(b + k + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k + 48), _mm512_loadu_ps(b + k + 48), s3);
    }
    for (; k < K; k += 16) {
        __mmask16 m = K - k >= 16 ? 0xFFFF : (__mmask16)((1u << (K - k)) - 1);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + k), _mm512_maskz_loadu_ps(m, b + k),
                             s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}
#endif
