/* MaxPool, one channel plane at a time, with AVX-512: 16 output pixels of a row per vector,
 * the window's taps as max of masked unaligned loads (stride 2 keeps the even lanes of 32);
 * the masks, fixed per column block and tap, stand in for the padding. Chosen at run time
 * by pool.c; x86-64 GCC/Clang only. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <float.h>
#include <immintrin.h>
#include "rt.h"

#define POOL512_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

/* Whether rt_maxpool_plane_avx512 takes this pooling (p as rt_maxpool_f32's). */
RT_API int rt_maxpool_avx512_ok(const int64_t *p)
{
    return (p[9] == 1 || p[9] == 2) && p[15] == 1 && p[7] <= 16 && (p[5] + 15) / 16 <= 32;
}

POOL512_TARGET RT_API void rt_maxpool_plane_avx512(const int64_t *p, const float *x, float *y)
{
    int64_t H = p[2], W = p[3], OH = p[4], OW = p[5], KH = p[6], KW = p[7], SH = p[8];
    int64_t SW = p[9], PT = p[10], PL = p[11], DH = p[14], oy, v, kj;
    int64_t nvec = (OW + 15) / 16;
    uint64_t mask[32][16];
    __mmask16 out[32];
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512 lowest = _mm512_set1_ps(-FLT_MAX);
    for (v = 0; v < nvec; v++) {
        int64_t ox0 = v * 16, nq = OW - ox0 < 16 ? OW - ox0 : 16;
        out[v] = (__mmask16)((1u << nq) - 1);
        for (kj = 0; kj < KW; kj++) {
            int64_t base = ox0 * SW - PL + kj, span = SW * (nq - 1) + 1;
            int64_t lo = base < 0 ? -base : 0, hi = W - base < span ? W - base : span;
            uint64_t m = 0;
            if (hi > lo) {
                m = ((1ull << hi) - 1) & ~((1ull << lo) - 1);
                if (SW == 2)
                    m &= 0x5555555555555555ull;
            }
            mask[v][kj] = m;
        }
    }
    for (oy = 0; oy < OH; oy++) {
        for (v = 0; v < nvec; v++) {
            int64_t ox0 = v * 16, ki;
            __m512 acc = lowest;
            for (ki = 0; ki < KH; ki++) {
                int64_t iy = oy * SH - PT + ki * DH;
                const float *row;
                if (iy < 0 || iy >= H)
                    continue;
                row = x + iy * W + ox0 * SW - PL;
                for (kj = 0; kj < KW; kj++) {
                    uint64_t m = mask[v][kj];
                    __m512 in;
                    if (!m)
                        continue;
                    if (SW == 1) {
                        in = _mm512_mask_loadu_ps(lowest, (__mmask16)m, row + kj);
                    } else {
                        __m512 a = _mm512_mask_loadu_ps(lowest, (__mmask16)m, row + kj);
                        __m512 b = _mm512_mask_loadu_ps(lowest, (__mmask16)(m >> 16),
                                                        row + kj + 16);
                        in = _mm512_permutex2var_ps(a, even, b);
                    }
                    acc = _mm512_max_ps(acc, in);
                }
            }
            _mm512_mask_storeu_ps(y + oy * OW + ox0, out[v], acc);
        }
    }
}
#endif
