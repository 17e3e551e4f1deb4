/* Depthwise convolution, one channel plane at a time, with AVX-512: 16 output pixels of a
 * row per vector, the window's taps as FMAs on (masked) unaligned loads of the input row;
 * stride 2 loads 32 pixels and keeps the even ones. Masks, fixed per column block and tap,
 * stand in for the padding. Chosen at run time by conv.c; x86-64 GCC/Clang only. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#include "rt.h"

#define DW512_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

RT_API int rt_act512_ok(int act);
RT_API void rt_act_avx512(float *y, int64_t n, int act, float alpha, float beta);

/* Whether rt_dwconv_plane_avx512 takes this convolution (p as rt_conv_f32's). */
RT_API int rt_dwconv_avx512_ok(const int64_t *p)
{
    return (p[10] == 1 || p[10] == 2) && p[14] == 1 && p[8] <= 16 && (p[6] + 15) / 16 <= 32;
}

/* One plane: y = act(conv(x, wk) + bias + res); p and f as rt_conv_f32's. */
DW512_TARGET RT_API void rt_dwconv_plane_avx512(const int64_t *p, const float *f,
                                                const float *x, const float *wk, float bias,
                                                const float *res, float *y)
{
    int64_t H = p[2], W = p[3], OH = p[5], OW = p[6], KH = p[7], KW = p[8], SH = p[9];
    int64_t SW = p[10], PT = p[11], PL = p[12], DH = p[13], oy, v, kj;
    int act = (int)p[16], simple = act == RT_ACT_NONE || act == RT_ACT_RELU ||
                                   act == RT_ACT_CLIP;
    int64_t nvec = (OW + 15) / 16;
    uint64_t mask[32][16];                      /* [column block][tap]: lanes read */
    __mmask16 out[32];
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    float alpha = f[0], beta = f[1];
    for (v = 0; v < nvec; v++) {
        int64_t ox0 = v * 16, nq = OW - ox0 < 16 ? OW - ox0 : 16;
        out[v] = (__mmask16)((1u << nq) - 1);
        for (kj = 0; kj < KW; kj++) {
            int64_t base = ox0 * SW - PL + kj, span = SW * (nq - 1) + 1;
            int64_t lo = base < 0 ? -base : 0, hi = W - base < span ? W - base : span;
            uint64_t m = 0;
            if (hi > lo) {
                m = (hi >= 64 ? ~0ull : (1ull << hi) - 1) & ~((1ull << lo) - 1);
                if (SW == 2)
                    m &= 0x5555555555555555ull;     /* even lanes only */
            }
            mask[v][kj] = m;
        }
    }
    for (oy = 0; oy < OH; oy++) {
        float *yr = y + oy * OW;
        for (v = 0; v < nvec; v++) {
            int64_t ox0 = v * 16, ki;
            __m512 acc = _mm512_set1_ps(bias);
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
                        in = _mm512_maskz_loadu_ps((__mmask16)m, row + kj);
                    } else {
                        __m512 a = _mm512_maskz_loadu_ps((__mmask16)m, row + kj);
                        __m512 b = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), row + kj + 16);
                        in = _mm512_permutex2var_ps(a, even, b);
                    }
                    acc = _mm512_fmadd_ps(in, _mm512_set1_ps(wk[ki * KW + kj]), acc);
                }
            }
            if (res)
                acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(out[v], res + oy * OW + ox0));
            if (act == RT_ACT_RELU)
                acc = _mm512_max_ps(acc, _mm512_setzero_ps());
            else if (act == RT_ACT_CLIP)
                acc = _mm512_min_ps(_mm512_max_ps(acc, _mm512_set1_ps(alpha)),
                                    _mm512_set1_ps(beta));
            _mm512_mask_storeu_ps(yr + ox0, out[v], acc);
        }
        if (!simple) {
            if (rt_act512_ok(act))
                rt_act_avx512(yr, OW, act, alpha, beta);
            else
                rt_act_inplace(yr, (size_t)OW, (RtAct)act, alpha, beta);
        }
    }
}
#endif
