/* The AVX-512 tile of the direct convolution (runtime/conv_direct.c): 12 output pixels x
 * 32 output channels in 24 zmm registers. Per weight row (input channel and tap): two
 * vector loads of weights and twelve broadcasts of input floats (consecutive, or every
 * other one at stride 2), 24 FMAs.
 * The epilogue (bias, activation, residual) runs on the channel vectors, which are then
 * scattered to the pixels' places in the NCHW output, skipping border-column pixels.
 * x86-64 GCC/Clang only. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#include "rt.h"
#include "act_avx512.h"

RT_API int rt_act512_ok(int act);

#define CD512_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

#define CD_DECL(p) __m512 a##p = _mm512_setzero_ps(), b##p = _mm512_setzero_ps()
#define CD_FMA2(p) do {                                         \
        __m512 s_ = _mm512_set1_ps(q[(p) * sx_]);                \
        a##p = _mm512_fmadd_ps(w0, s_, a##p);                   \
        b##p = _mm512_fmadd_ps(w1, s_, b##p);                   \
    } while (0)
#define CD_FMA1(p) a##p = _mm512_fmadd_ps(w0, _mm512_set1_ps(q[(p) * sx_]), a##p)
#define CD_ALL(M) M(0); M(1); M(2); M(3); M(4); M(5); M(6); M(7); M(8); M(9); M(10); M(11)

/* Pixel p of the tile leaves the registers: v0/v1 hold its channels 0-15 / 16-31. */
CD512_TARGET static void cd_store(const RtConvDirectTile *t, int p, __m512 v0, __m512 v1)
{
    int64_t j = t->j0 + p, at, half;
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                       12, 13, 14, 15),
                                     _mm512_set1_epi32((int)t->hw));
    if (j >= t->span || j % t->pitch >= t->ow)
        return;                 /* past the end, or a border column */
    at = j / t->pitch * t->ow + j % t->pitch;
    for (half = 0; half * 16 < t->mb; half++) {
        __m512 v = half ? v1 : v0;
        int64_t off = half * 16 * t->hw + at;
        if (t->bias)
            v = _mm512_add_ps(v, _mm512_loadu_ps(t->bias + half * 16));
        if (t->res)
            v = _mm512_add_ps(v, _mm512_i32gather_ps(idx, t->res + off, 4));
        if (rt_act512_ok(t->act)) {
            v = act512_apply(v, t->act, t->alpha, t->beta);
        } else {
            float tmp[16];
            int i;
            _mm512_storeu_ps(tmp, v);
            for (i = 0; i < 16; i++)
                tmp[i] = rt_act((RtAct)t->act, tmp[i], t->alpha, t->beta);
            v = _mm512_loadu_ps(tmp);
        }
        _mm512_i32scatter_ps(t->y + off, idx, v, 4);
    }
}

/* The weight rows into the accumulators; SX, the input stride between the tile's pixels, is
 * a constant in each copy. */
#define CD_LOOP(SX) do {                                                        \
        const int64_t sx_ = (SX);                                               \
        if (t->mb == 32) {                                                      \
            for (c = 0; c < t->c; c++)                                          \
                for (ki = 0; ki < t->kh; ki++)                                  \
                    for (kj = 0; kj < t->kw; kj++, w += 32) {                   \
                        const float *q = t->x + c * t->plane + ki * t->row + kj * t->dw; \
                        __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16); \
                        CD_ALL(CD_FMA2);                                        \
                    }                                                           \
        } else {                                                                \
            for (c = 0; c < t->c; c++)                                          \
                for (ki = 0; ki < t->kh; ki++)                                  \
                    for (kj = 0; kj < t->kw; kj++, w += 16) {                   \
                        const float *q = t->x + c * t->plane + ki * t->row + kj * t->dw; \
                        __m512 w0 = _mm512_loadu_ps(w);                         \
                        CD_ALL(CD_FMA1);                                        \
                    }                                                           \
        }                                                                       \
    } while (0)

CD512_TARGET RT_API void rt_conv_direct_tile_avx512(const RtConvDirectTile *t)
{
    const float *w = t->w;
    int64_t c, ki, kj;
    CD_DECL(0); CD_DECL(1); CD_DECL(2); CD_DECL(3); CD_DECL(4); CD_DECL(5);
    CD_DECL(6); CD_DECL(7); CD_DECL(8); CD_DECL(9); CD_DECL(10); CD_DECL(11);
    if (t->sw == 1)
        CD_LOOP(1);
    else
        CD_LOOP(2);
    cd_store(t, 0, a0, b0); cd_store(t, 1, a1, b1); cd_store(t, 2, a2, b2);
    cd_store(t, 3, a3, b3); cd_store(t, 4, a4, b4); cd_store(t, 5, a5, b5);
    cd_store(t, 6, a6, b6); cd_store(t, 7, a7, b7); cd_store(t, 8, a8, b8);
    cd_store(t, 9, a9, b9); cd_store(t, 10, a10, b10); cd_store(t, 11, a11, b11);
}
#endif
