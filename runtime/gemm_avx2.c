/* AVX2+FMA micro-kernel of the packed GEMM (runtime/gemm.c chooses it at run time when
 * AVX-512 is missing): a 6x16 tile of C in 12 ymm registers, epilogue applied in registers.
 * Built with a target attribute so that plain -O2 compiles it. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#include "rt.h"

#define G256_TARGET __attribute__((target("avx2,fma")))
#define G256_INLINE static inline __attribute__((always_inline)) G256_TARGET

G256_INLINE __m256 g256_act(__m256 v, int act, float alpha, float beta)
{
    switch (act) {
    case RT_ACT_RELU:
        return _mm256_max_ps(v, _mm256_setzero_ps());
    case RT_ACT_CLIP:
        return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(alpha)), _mm256_set1_ps(beta));
    case RT_ACT_LEAKYRELU: {
        __m256 neg = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
        return _mm256_blendv_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(alpha)), neg);
    }
    default:
        return v;
    }
}

G256_INLINE __m256 g256_load(const float *p, __m256i m, int full)
{
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}

G256_INLINE void g256_row(const RtGemmTile *t, int i, __m256 v0, __m256 v1, __m256i m0,
                          __m256i m1, int full)
{
    float *c = t->c + i * t->ldc;
    if (i >= t->mr)
        return;
    if (t->accumulate) {
        v0 = _mm256_add_ps(v0, g256_load(c, m0, full));
        v1 = _mm256_add_ps(v1, g256_load(c + 8, m1, full));
    }
    if (t->bias) {
        __m256 b = _mm256_set1_ps(t->bias[i]);
        v0 = _mm256_add_ps(v0, b);
        v1 = _mm256_add_ps(v1, b);
    }
    if (t->res) {
        const float *r = t->res + i * t->ldr;
        v0 = _mm256_add_ps(v0, g256_load(r, m0, full));
        v1 = _mm256_add_ps(v1, g256_load(r + 8, m1, full));
    }
    if (t->act != RT_ACT_NONE) {
        v0 = g256_act(v0, t->act, t->alpha, t->beta);
        v1 = g256_act(v1, t->act, t->alpha, t->beta);
    }
    if (full) {
        _mm256_storeu_ps(c, v0);
        _mm256_storeu_ps(c + 8, v1);
    } else {
        _mm256_maskstore_ps(c, m0, v0);
        _mm256_maskstore_ps(c + 8, m1, v1);
    }
}

#define G256_FMA(r) do {                                        \
        __m256 s_ = _mm256_broadcast_ss(a + r);                 \
        c##r##x = _mm256_fmadd_ps(s_, b0, c##r##x);             \
        c##r##y = _mm256_fmadd_ps(s_, b1, c##r##y);             \
    } while (0)

/* C[mr<=6, nr<=16] of one tile; B panels are 16 wide. */
G256_TARGET RT_API void rt_gemm_tile_avx2(const RtGemmTile *t)
{
    const float *a = t->a0, *b = t->b;
    int64_t k, kc = t->kc;
    int full = t->nr >= 16;
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(t->nr), lane);
    __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(t->nr - 8), lane);
    __m256 c0x = _mm256_setzero_ps(), c0y = c0x, c1x = c0x, c1y = c0x, c2x = c0x, c2y = c0x;
    __m256 c3x = c0x, c3y = c0x, c4x = c0x, c4y = c0x, c5x = c0x, c5y = c0x;
    for (k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        G256_FMA(0); G256_FMA(1); G256_FMA(2); G256_FMA(3); G256_FMA(4); G256_FMA(5);
        a += 6;
        b += 16;
    }
    g256_row(t, 0, c0x, c0y, m0, m1, full);
    g256_row(t, 1, c1x, c1y, m0, m1, full);
    g256_row(t, 2, c2x, c2y, m0, m1, full);
    g256_row(t, 3, c3x, c3y, m0, m1, full);
    g256_row(t, 4, c4x, c4y, m0, m1, full);
    g256_row(t, 5, c5x, c5y, m0, m1, full);
}
#endif
