/* The AVX-512 tile of the direct convolution (runtime/conv_direct.c): 12 output pixels x
 * 32 output channels in 24 zmm registers (or 7 or 14 pixels in 14 or 28). Per weight row
 * (input channel and tap): two vector loads of weights and a broadcast of each pixel's
 * input float, two FMAs a pixel. The epilogue (bias, residual, activation) runs per
 * channel on the tile's pixels, stored contiguously into the NCHW output.
 * x86-64 GCC/Clang only. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#include "rt.h"
#include "act_avx512.h"
#include "transpose_avx512.h"

#define CD512_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

#define CD_DECL(p) __m512 a##p = _mm512_setzero_ps(), b##p = _mm512_setzero_ps()
#define CD_FMA2(p) do {                                         \
        __m512 s_ = _mm512_set1_ps(q[(p) * sw]);                \
        a##p = _mm512_fmadd_ps(w0, s_, a##p);                   \
        b##p = _mm512_fmadd_ps(w1, s_, b##p);                   \
    } while (0)
#define CD_FMA1(p) a##p = _mm512_fmadd_ps(w0, _mm512_set1_ps(q[(p) * sw]), a##p)
#define CD_ALL7(M) M(0); M(1); M(2); M(3); M(4); M(5); M(6)
#define CD_ALL(M) CD_ALL7(M); M(7); M(8); M(9); M(10); M(11)
#define CD_ALL14(M) CD_ALL(M); M(12); M(13)

/* The tile leaves the registers through buf[pixel][channel]: each half of it is turned
 * around (a 16x16 transpose) so that a channel's pixels make one vector, the border-
 * column lanes are squeezed out, and it is stored with the epilogue as one contiguous run
 * of its output plane. The valid pixels' outputs are consecutive even when the tile wraps
 * to the next row, since the border columns it skips have no outputs. */
static inline __attribute__((always_inline)) CD512_TARGET void
cd_store_act(const RtConvDirectTile *t, float buf[14][32], int act)
{
    float tr[16][16] __attribute__((aligned(64)));
    const __m512 zero = _mm512_setzero_ps();
    __mmask16 valid = 0, run;
    int64_t first = -1, p, m, h, row = t->j0 / t->pitch, col = t->j0 % t->pitch;
    int npix = t->npix, act_ok = act512_ok(act), squeeze;
    for (p = 0; p < npix; p++) {        /* (one division a tile, not two a pixel) */
        if (p >= t->skip && t->j0 + p < t->span && col < t->ow) {
            valid |= (__mmask16)(1u << p);
            if (first < 0)
                first = row * t->ow + col;
        }
        if (++col == t->pitch) {
            col = 0;
            row++;
        }
    }
    if (!valid)
        return;
    run = (__mmask16)((1u << __builtin_popcount(valid)) - 1);
    squeeze = valid != run;
    for (h = 0; h < t->mb; h += 16) {
        __m512 r[16];
#define CD_ROW(i) r[i] = (i) < npix ? _mm512_load_ps(buf[i] + h) : zero
#define CD_TR(i) _mm512_store_ps(tr[i], r[i])
        CD_ROW(0); CD_ROW(1); CD_ROW(2); CD_ROW(3); CD_ROW(4); CD_ROW(5); CD_ROW(6);
        CD_ROW(7); CD_ROW(8); CD_ROW(9); CD_ROW(10); CD_ROW(11); CD_ROW(12); CD_ROW(13);
        r[14] = r[15] = zero;
        transpose16(r);
        CD_TR(0); CD_TR(1); CD_TR(2); CD_TR(3); CD_TR(4); CD_TR(5); CD_TR(6); CD_TR(7);
        CD_TR(8); CD_TR(9); CD_TR(10); CD_TR(11); CD_TR(12); CD_TR(13); CD_TR(14); CD_TR(15);
        for (m = h; m < t->mb && m < h + 16; m++) {
            __m512 v = _mm512_load_ps(tr[m - h]);
            float *y = t->y + m * t->hw + first;
            if (squeeze)
                v = _mm512_maskz_compress_ps(valid, v);
            if (t->bias)
                v = _mm512_add_ps(v, _mm512_set1_ps(t->bias[m]));
            if (t->res)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(run, t->res + m * t->hw + first));
            if (act_ok) {
                v = act512_apply(v, act, t->alpha, t->beta);
            } else {
                float tmp[16];
                int i;
                _mm512_storeu_ps(tmp, v);
                for (i = 0; i < 16; i++)
                    tmp[i] = rt_act((RtAct)act, tmp[i], t->alpha, t->beta);
                v = _mm512_loadu_ps(tmp);
            }
            _mm512_mask_storeu_ps(y, run, v);
        }
    }
}

/* cd_store_act with the common activations as constants: no jump table at every
 * channel's vector (1x1 layers of 16 to 24 input channels about 6 % faster). */
CD512_TARGET static void cd_store(const RtConvDirectTile *t, float buf[14][32])
{
    switch (t->act) {
    case RT_ACT_NONE: cd_store_act(t, buf, RT_ACT_NONE); break;
    case RT_ACT_RELU: cd_store_act(t, buf, RT_ACT_RELU); break;
    case RT_ACT_CLIP: cd_store_act(t, buf, RT_ACT_CLIP); break;
    case RT_ACT_SILU: cd_store_act(t, buf, RT_ACT_SILU); break;
    default:          cd_store_act(t, buf, t->act); break;
    }
}

/* The output lines the tile will write (and the residual's it will read), asked for before
 * its long K loop: a layer's output is usually cold, and each tile writes a short run of
 * each of 32 planes, as many streams as the hardware follows badly. */
CD512_TARGET static void cd_prefetch_out(const RtConvDirectTile *t)
{
    int64_t row = t->j0 / t->pitch, col = t->j0 % t->pitch, m;
    const float *y;
    if (col >= t->ow) {
        col = 0;
        row++;
    }
    y = t->y + row * t->ow + col;
    for (m = 0; m < t->mb; m++) {
        __builtin_prefetch(y + m * t->hw, 1, 3);
        __builtin_prefetch(y + m * t->hw + t->npix - 1, 1, 3);
    }
    if (t->res)
        for (m = 0; m < t->mb; m++) {
            const float *r = t->res + m * t->hw + row * t->ow + col;
            __builtin_prefetch(r, 0, 3);
            __builtin_prefetch(r + t->npix - 1, 0, 3);
        }
}

#define CD_SAVE(p) do {                                         \
        _mm512_store_ps(dst[p], a##p);                          \
        _mm512_store_ps(dst[p] + 16, b##p);                     \
    } while (0)
#define CD_RESUME(p) do {                                       \
        a##p = _mm512_load_ps(t->part_in + (p) * 32);           \
        b##p = _mm512_load_ps(t->part_in + (p) * 32 + 16);      \
    } while (0)

/* One tile of the pixels ALL names (CD_ALL: 12, CD_ALL7: 7), sw input columns apart. For
 * 32 lanes each weight row also prefetches a line of the next block's weights (t->pf), or
 * touches its own when there is none. */
#define CD_TILE(ALL) do {                                                          \
        const float *w = t->w;                                                     \
        float buf[14][32] __attribute__((aligned(64))), (*dst)[32];                \
        int64_t c, ki, kj;                                                         \
        ALL(CD_DECL);                                                              \
        if (t->part_in) {                                                          \
            ALL(CD_RESUME);                                                        \
        }                                                                          \
        if (!t->part_out)                                                          \
            cd_prefetch_out(t);                                                    \
        if (t->lanes == 32) {                                                      \
            const char *pf = t->pf ? t->pf : (const char *)w;                      \
            int64_t pstep = t->pf ? 64 : 128;                                      \
            for (c = 0; c < t->c; c++)                                             \
                for (ki = 0; ki < t->kh; ki++)                                     \
                    for (kj = 0; kj < t->kw; kj++, w += 32, pf += pstep) {         \
                        const float *q = t->x + c * t->plane + ki * t->row + kj * t->dw; \
                        __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16); \
                        _mm_prefetch(pf, _MM_HINT_T1);                             \
                        ALL(CD_FMA2);                                              \
                    }                                                              \
        } else {                                                                   \
            for (c = 0; c < t->c; c++)                                             \
                for (ki = 0; ki < t->kh; ki++)                                     \
                    for (kj = 0; kj < t->kw; kj++, w += 16) {                      \
                        const float *q = t->x + c * t->plane + ki * t->row + kj * t->dw; \
                        __m512 w0 = _mm512_loadu_ps(w);                            \
                        ALL(CD_FMA1);                                              \
                    }                                                              \
        }                                                                          \
        dst = t->part_out ? (float (*)[32])t->part_out : buf;                      \
        ALL(CD_SAVE);                                                              \
        if (!t->part_out)                                                          \
            cd_store(t, buf);                                                      \
    } while (0)

#define CD512_INLINE static inline __attribute__((always_inline)) CD512_TARGET

CD512_INLINE void cd_tile12(const RtConvDirectTile *t, int sw)
{
    CD_TILE(CD_ALL);
}

/* Seven pixels: a run within one output row, for planes whose rows split into runs of 7
 * better than into runs of 12 (7x7, 14x14). */
CD512_INLINE void cd_tile7(const RtConvDirectTile *t, int sw)
{
    CD_TILE(CD_ALL7);
}

/* Fourteen pixels: runs within a row for widths 14, 28, 56 and 112, which twelve divide
 * badly; 28 accumulators, the most the registers hold with the weights. */
CD512_INLINE void cd_tile14(const RtConvDirectTile *t, int sw)
{
    CD_TILE(CD_ALL14);
}

/* The tile, its pixel count and input stride (1 or 2) made constants. */
CD512_TARGET RT_API void rt_conv_direct_tile_avx512(const RtConvDirectTile *t)
{
    if (t->npix == 14 && t->sw == 2)
        cd_tile14(t, 2);
    else if (t->npix == 14)
        cd_tile14(t, 1);
    else if (t->npix == 7 && t->sw == 2)
        cd_tile7(t, 2);
    else if (t->npix == 7)
        cd_tile7(t, 1);
    else if (t->sw == 2)
        cd_tile12(t, 2);
    else
        cd_tile12(t, 1);
}
#endif
