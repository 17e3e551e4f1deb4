/* Sixteen channels at a time, one channel a lane, for the depthwise convolution and max
 * pooling of planes of 56x56 and less (conv_dw_avx512.c, pool_avx512.c): the block's
 * planes are turned around (16x16 transposes) into a bordered scratch of pixel vectors,
 * each output pixel is then its window's taps times the weight vectors (or their maximum),
 * and the result is turned back. It is the blocked layout other engines keep between
 * layers, here only inside the kernel: a small plane fills a vector row badly (7 of 16
 * lanes at 7x7) and per-plane work dominates. x86-64 GCC/Clang only. */
#ifndef CNNC_BLOCK16_AVX512_H
#define CNNC_BLOCK16_AVX512_H
#if defined(__GNUC__) && defined(__x86_64__)
#include <string.h>
#include "plane_avx512.h"
#include "transpose_avx512.h"

#define B16_MAX_PLANE 3136      /* 56x56: larger planes go one at a time */
#define B16_AHEAD 128           /* floats ahead in each plane prefetched while gathering */

#define B16_ALL(M) M(0); M(1); M(2); M(3); M(4); M(5); M(6); M(7); M(8); M(9); M(10); \
    M(11); M(12); M(13); M(14); M(15)

/* Scratch of one thread: the bordered input block (hp x wp pixel vectors, the border the
 * window's neutral value), the output block (oh x ow pixel vectors), the weight vectors
 * (one per tap; the convolution only), and where each input pixel goes in the bordered
 * block. */
typedef struct {
    PlaneGeom g;
    int64_t in_floats, out_floats, taps;
} B16Layout;

static inline B16Layout b16_layout(PlaneGeom g)
{
    B16Layout l;
    g.hp = (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1;
    g.wp = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1;
    if (g.hp < g.h + g.pt)
        g.hp = g.h + g.pt;
    if (g.wp < g.w + g.pl)
        g.wp = g.w + g.pl;
    l.g = g;
    l.in_floats = g.hp * g.wp * 16;
    l.out_floats = g.oh * g.ow * 16;
    l.taps = g.kh * g.kw;
    return l;
}

/* Whether the blocks take planes of this geometry. */
static inline int b16_ok(const PlaneGeom *g)
{
    return g->h * g->w <= B16_MAX_PLANE && g->oh * g->ow <= B16_MAX_PLANE && g->pt >= 0 &&
           g->pl >= 0;
}

static inline size_t b16_scratch_floats(const B16Layout *l)
{
    return (size_t)(l->in_floats + l->out_floats + l->taps * 16 + l->g.h * l->g.w + 16);
}

/* The border filled and the pixel table written, once per thread and call. Only the
 * border: every block rewrites the interior (and a whole 56x56 block is 200 KB). */
static inline void b16_scratch_init(const B16Layout *l, float *scratch, float border)
{
    const PlaneGeom *g = &l->g;
    float *in = plane_aligned(scratch);
    int32_t *pos = (int32_t *)(in + l->in_floats + l->out_floats + l->taps * 16);
    int64_t i, r, c;
    for (r = 0; r < g->hp; r++) {
        int inside = r >= g->pt && r < g->pt + g->h;
        for (c = 0; c < g->wp; c++) {
            float *v = in + (r * g->wp + c) * 16;
            if (inside && c == g->pl && g->w > 0)
                c += g->w - 1;          /* the interior: every block writes it */
            else
                for (i = 0; i < 16; i++)
                    v[i] = border;
        }
    }
    for (r = 0; r < g->h; r++)          /* no division per pixel: this runs at every call */
        for (c = 0; c < g->w; c++)
            pos[r * g->w + c] = (int32_t)(((r + g->pt) * g->wp + c + g->pl) * 16);
}

/* 16 planes of n floats (rows of `stride` apart, the first `rows` real, the rest zero)
 * into pixel vectors: pixel i goes to dst + pos[i]. */
PL512_INLINE void b16_planes_in(const float *src, int64_t stride, int rows, int64_t n,
                                 const int32_t *pos, float *dst)
{
    int64_t i0;
    for (i0 = 0; i0 < n; i0 += 16) {
        __m512 r[16];
        int64_t cnt = n - i0 < 16 ? n - i0 : 16;
        __mmask16 m = (__mmask16)((1u << cnt) - 1);
/* 16 streams, more than the hardware follows: each plane's line B16_AHEAD floats on is
 * asked for (with the input from memory, MobileNetV2's 144 channels at 56x56 0.255 ->
 * 0.160 ms, at stride 2 0.19 -> 0.095; past a plane it is the next one's, harmless) */
#define B16_PREFETCH(i) PL512_PREFETCH_AT(src, (i) * stride + i0 + B16_AHEAD)
#define B16_LOAD(i) r[i] = _mm512_maskz_loadu_ps((i) < rows ? m : 0, src + (i) * stride + i0)
#define B16_PUT(i) if ((i) < cnt) _mm512_store_ps(dst + pos[i0 + (i)], r[i])
        B16_ALL(B16_PREFETCH);
        B16_ALL(B16_LOAD);
        transpose16(r);
        B16_ALL(B16_PUT);
    }
}

/* n pixel vectors back into the first `rows` of 16 planes (`stride` apart). */
PL512_INLINE void b16_planes_out(const float *src, int64_t n, float *dst, int64_t stride,
                                  int rows)
{
    int64_t i0;
    for (i0 = 0; i0 < n; i0 += 16) {
        __m512 r[16];
        int64_t cnt = n - i0 < 16 ? n - i0 : 16;
        __mmask16 m = (__mmask16)((1u << cnt) - 1);
#define B16_GET(i) r[i] = _mm512_maskz_load_ps((i) < cnt ? 0xFFFF : 0, src + 16 * (i0 + (i)))
#define B16_STORE(i) if ((i) < rows) _mm512_mask_storeu_ps(dst + (i) * stride + i0, m, r[i])
        B16_ALL(B16_GET);
        transpose16(r);
        B16_ALL(B16_STORE);
    }
}

/* The output pixel vectors of the block: four pixels of a row at a time (four chains),
 * then the row's last ones singly; the weighted sum of the window plus bias, activated, or
 * (is_max) its maximum. kh, kw, sw and is_max constant after inlining. */
#define B16_TAP(a, r) (is_max ? _mm512_max_ps(a, _mm512_load_ps(r)) \
                              : _mm512_fmadd_ps(_mm512_load_ps(r), w, a))
PL512_INLINE void b16_window(const PlaneGeom *g, const float *in, const float *wv, __m512 bias,
                             float *out, int act, float alpha, float beta, int64_t kh,
                             int64_t kw, int64_t sw, int is_max)
{
    int64_t oy, ox, ki, kj, step = sw * 16;
    __m512 start = is_max ? _mm512_set1_ps(-FLT_MAX) : bias;
    for (oy = 0; oy < g->oh; oy++) {
        const float *row = in + oy * g->sh * g->wp * 16;
        float *o = out + oy * g->ow * 16;
        for (ox = 0; ox + 4 <= g->ow; ox += 4) {
            __m512 a0 = start, a1 = start, a2 = start, a3 = start;
            const float *q = row + ox * step;
            for (ki = 0; ki < kh; ki++)
                for (kj = 0; kj < kw; kj++) {
                    const float *r = q + (ki * g->dh * g->wp + kj * g->dw) * 16;
                    __m512 w = is_max ? start : _mm512_load_ps(wv + (ki * kw + kj) * 16);
                    a0 = B16_TAP(a0, r);
                    a1 = B16_TAP(a1, r + step);
                    a2 = B16_TAP(a2, r + 2 * step);
                    a3 = B16_TAP(a3, r + 3 * step);
                }
            if (!is_max) {
                a0 = act512_apply(a0, act, alpha, beta);
                a1 = act512_apply(a1, act, alpha, beta);
                a2 = act512_apply(a2, act, alpha, beta);
                a3 = act512_apply(a3, act, alpha, beta);
            }
            _mm512_store_ps(o + ox * 16, a0);
            _mm512_store_ps(o + ox * 16 + 16, a1);
            _mm512_store_ps(o + ox * 16 + 32, a2);
            _mm512_store_ps(o + ox * 16 + 48, a3);
        }
        for (; ox < g->ow; ox++) {
            __m512 a0 = start;
            const float *q = row + ox * step;
            for (ki = 0; ki < kh; ki++)
                for (kj = 0; kj < kw; kj++) {
                    __m512 w = is_max ? start : _mm512_load_ps(wv + (ki * kw + kj) * 16);
                    a0 = B16_TAP(a0, q + (ki * g->dh * g->wp + kj * g->dw) * 16);
                }
            _mm512_store_ps(o + ox * 16, is_max ? a0 : act512_apply(a0, act, alpha, beta));
        }
    }
}

#endif
#endif
