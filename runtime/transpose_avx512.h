/* A 16x16 transpose of floats in AVX-512 registers, for the kernels that turn channel
 * planes into pixel vectors and back (conv_dw_avx512.c, conv_direct_avx512.c): 64
 * shuffles in three rounds. x86-64 GCC/Clang only. */
#ifndef CNNC_TRANSPOSE_AVX512_H
#define CNNC_TRANSPOSE_AVX512_H
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define TR16_INLINE static inline __attribute__((always_inline)) \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

#define TR16_PAIRS(i) do {                                                  \
        t[2 * (i)] = _mm512_unpacklo_ps(r[2 * (i)], r[2 * (i) + 1]);        \
        t[2 * (i) + 1] = _mm512_unpackhi_ps(r[2 * (i)], r[2 * (i) + 1]);    \
    } while (0)
#define TR16_QUADS(i) do {                                                  \
        __m512d a_ = _mm512_castps_pd(t[4 * (i)]), b_ = _mm512_castps_pd(t[4 * (i) + 2]); \
        __m512d c_ = _mm512_castps_pd(t[4 * (i) + 1]), d_ = _mm512_castps_pd(t[4 * (i) + 3]); \
        u[4 * (i)] = _mm512_castpd_ps(_mm512_unpacklo_pd(a_, b_));          \
        u[4 * (i) + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a_, b_));      \
        u[4 * (i) + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c_, d_));      \
        u[4 * (i) + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c_, d_));      \
    } while (0)
#define TR16_LANES(k) do {                                                  \
        __m512 a0_ = _mm512_shuffle_f32x4(u[k], u[4 + (k)], 0x88);          \
        __m512 a1_ = _mm512_shuffle_f32x4(u[k], u[4 + (k)], 0xDD);          \
        __m512 b0_ = _mm512_shuffle_f32x4(u[8 + (k)], u[12 + (k)], 0x88);   \
        __m512 b1_ = _mm512_shuffle_f32x4(u[8 + (k)], u[12 + (k)], 0xDD);   \
        r[k] = _mm512_shuffle_f32x4(a0_, b0_, 0x88);                        \
        r[4 + (k)] = _mm512_shuffle_f32x4(a1_, b1_, 0x88);                  \
        r[8 + (k)] = _mm512_shuffle_f32x4(a0_, b0_, 0xDD);                  \
        r[12 + (k)] = _mm512_shuffle_f32x4(a1_, b1_, 0xDD);                 \
    } while (0)

/* r[0..15] transposed in place: lane j of r[i] becomes lane i of r[j]. Spelled out, not
 * looped (and so should its callers' loads and stores be), so that the vectors stay in
 * registers. */
TR16_INLINE void transpose16(__m512 r[16])
{
    __m512 t[16], u[16];
    TR16_PAIRS(0); TR16_PAIRS(1); TR16_PAIRS(2); TR16_PAIRS(3);
    TR16_PAIRS(4); TR16_PAIRS(5); TR16_PAIRS(6); TR16_PAIRS(7);
    /* u[4i + k], 128-bit lane L: rows 4i..4i+3 of column 4L + k */
    TR16_QUADS(0); TR16_QUADS(1); TR16_QUADS(2); TR16_QUADS(3);
    /* column 4L + k gathers lane L of u[k], u[4 + k], u[8 + k], u[12 + k] */
    TR16_LANES(0); TR16_LANES(1); TR16_LANES(2); TR16_LANES(3);
}

#endif
#endif
