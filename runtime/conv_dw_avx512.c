/* Depthwise convolution with AVX-512, two ways (conv.c chooses at run time; x86-64
 * GCC/Clang only):
 *  - one channel plane at a time, 16 output pixels a vector (the plane machinery is in
 *    plane_avx512.h): for large planes;
 *  - sixteen channels at a time, one channel a lane: the block's planes are turned around
 *    (16x16 transposes) into a bordered scratch of pixel vectors, each output pixel is then
 *    its window's taps times the weight vectors, and the result is turned back: the
 *    blocked layout other engines keep between layers, here only inside the kernel. For
 *    planes of 56x56 and less it is the faster (1.2-2.7x on MobileNetV2's: at 7x7 a plane
 *    fills 7 of 16 lanes and per-plane work dominates); at 112x112 it is 10-20 % slower.
 * Bias, (first way only) residual and activation are applied before a vector is stored.
 * The common windows get their own copy of the loop, with the window a compile-time
 * constant. */
#if defined(__GNUC__) && defined(__x86_64__)
#include "rt.h"
#include <string.h>
#include "plane_avx512.h"
#include "transpose_avx512.h"

#define DW512_MAX_TAPS 64

RT_API int rt_act512_ok(int act);

static PlaneGeom dw_geom(const int64_t *p)
{
    PlaneGeom g;
    g.h = p[2]; g.w = p[3]; g.oh = p[5]; g.ow = p[6]; g.kh = p[7]; g.kw = p[8];
    g.sh = p[9]; g.sw = p[10]; g.pt = p[11]; g.pl = p[12]; g.dh = p[13]; g.dw = p[14];
    plane_geom_finish(&g);
    return g;
}

/* Whether rt_dwconv_plane_avx512 takes this convolution (p as rt_conv_f32's). */
RT_API int rt_dwconv_avx512_ok(const int64_t *p)
{
    return (p[10] == 1 || p[10] == 2) && p[7] * p[8] <= DW512_MAX_TAPS && p[7] > 0 &&
           p[8] > 0 && p[5] > 0 && p[6] > 0 && rt_act512_ok((int)p[16]);
}

/* Floats of scratch one thread needs. */
RT_API size_t rt_dwconv_scratch_avx512(const int64_t *p)
{
    PlaneGeom g = dw_geom(p);
    return plane_scratch_floats(&g);
}

/* A thread's scratch made ready for its planes. */
RT_API void rt_dwconv_scratch_init_avx512(const int64_t *p, float *scratch)
{
    PlaneGeom g = dw_geom(p);
    plane_scratch_init(&g, plane_aligned(scratch), 0.0f);
}

/* One plane: y = act(conv(x, wk) + bias + res); p and f as rt_conv_f32's; scratch holds
 * rt_dwconv_scratch_avx512(p) floats, made ready by rt_dwconv_scratch_init_avx512 and
 * since then used only by planes of this convolution. */
PL512_TARGET RT_API void rt_dwconv_plane_avx512(const int64_t *p, const float *f,
                                                const float *x, const float *wk, float bias,
                                                const float *res, float *y, float *scratch)
{
    PlaneGeom g = dw_geom(p);
    int act = (int)p[16];
    float alpha = f[0], beta = f[1];
    scratch = plane_aligned(scratch);
    plane_copy(&g, x, scratch);
    if (g.kh == 3 && g.kw == 3 && g.sw == 1)
        plane_window(&g, scratch, wk, bias, res, y, act, alpha, beta, 3, 3, 1, 0);
    else if (g.kh == 3 && g.kw == 3 && g.sw == 2)
        plane_window(&g, scratch, wk, bias, res, y, act, alpha, beta, 3, 3, 2, 0);
    else if (g.kh == 5 && g.kw == 5 && g.sw == 1)
        plane_window(&g, scratch, wk, bias, res, y, act, alpha, beta, 5, 5, 1, 0);
    else if (g.kh == 5 && g.kw == 5 && g.sw == 2)
        plane_window(&g, scratch, wk, bias, res, y, act, alpha, beta, 5, 5, 2, 0);
    else
        plane_window(&g, scratch, wk, bias, res, y, act, alpha, beta, g.kh, g.kw, g.sw, 0);
}

/* ---- sixteen channels a vector ---- */

#define DW16_MAX_PLANE 3136     /* 56x56: larger planes go one at a time */

#define DW16_ALL(M) M(0); M(1); M(2); M(3); M(4); M(5); M(6); M(7); M(8); M(9); M(10); \
    M(11); M(12); M(13); M(14); M(15)

/* Scratch of one thread: the bordered input block (hp x wp pixel vectors, the border
 * zero), the output block (oh x ow pixel vectors), the weight vectors (one per tap), and
 * where each input pixel goes in the bordered block. */
typedef struct {
    PlaneGeom g;
    int64_t in_floats, out_floats, taps;
} Dw16Layout;

static Dw16Layout dw16_layout(const int64_t *p)
{
    Dw16Layout l;
    PlaneGeom g = dw_geom(p);
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

/* Whether rt_dwconv16_block_avx512 takes this convolution (p as rt_conv_f32's). */
RT_API int rt_dwconv16_ok(const int64_t *p)
{
    return p[2] * p[3] <= DW16_MAX_PLANE && p[5] * p[6] <= DW16_MAX_PLANE && p[11] >= 0 &&
           p[12] >= 0 && p[7] * p[8] <= DW512_MAX_TAPS && rt_dwconv_avx512_ok(p);
}

RT_API size_t rt_dwconv16_scratch(const int64_t *p)
{
    Dw16Layout l = dw16_layout(p);
    return (size_t)(l.in_floats + l.out_floats + l.taps * 16 + l.g.h * l.g.w + 16);
}

/* The border zeroed and the pixel table written, once per thread. */
RT_API void rt_dwconv16_scratch_init(const int64_t *p, float *scratch)
{
    Dw16Layout l = dw16_layout(p);
    float *in = plane_aligned(scratch);
    int32_t *pos = (int32_t *)(in + l.in_floats + l.out_floats + l.taps * 16);
    int64_t i;
    memset(in, 0, (size_t)l.in_floats * sizeof(float));
    for (i = 0; i < l.g.h * l.g.w; i++)
        pos[i] = (int32_t)(((i / l.g.w + l.g.pt) * l.g.wp + i % l.g.w + l.g.pl) * 16);
}

/* 16 planes of n floats (rows of `stride` apart, the first `rows` real, the rest zero)
 * into pixel vectors: pixel i goes to dst + pos[i]. */
PL512_INLINE void dw16_planes_in(const float *src, int64_t stride, int rows, int64_t n,
                                 const int32_t *pos, float *dst)
{
    int64_t i0;
    for (i0 = 0; i0 < n; i0 += 16) {
        __m512 r[16];
        int64_t cnt = n - i0 < 16 ? n - i0 : 16;
        __mmask16 m = (__mmask16)((1u << cnt) - 1);
#define DW16_LOAD(i) r[i] = _mm512_maskz_loadu_ps((i) < rows ? m : 0, src + (i) * stride + i0)
#define DW16_PUT(i) if ((i) < cnt) _mm512_store_ps(dst + pos[i0 + (i)], r[i])
        DW16_ALL(DW16_LOAD);
        transpose16(r);
        DW16_ALL(DW16_PUT);
    }
}

/* n pixel vectors back into the first `rows` of 16 planes (`stride` apart). */
PL512_INLINE void dw16_planes_out(const float *src, int64_t n, float *dst, int64_t stride,
                                  int rows)
{
    int64_t i0;
    for (i0 = 0; i0 < n; i0 += 16) {
        __m512 r[16];
        int64_t cnt = n - i0 < 16 ? n - i0 : 16;
        __mmask16 m = (__mmask16)((1u << cnt) - 1);
#define DW16_GET(i) r[i] = _mm512_maskz_load_ps((i) < cnt ? 0xFFFF : 0, src + 16 * (i0 + (i)))
#define DW16_STORE(i) if ((i) < rows) _mm512_mask_storeu_ps(dst + (i) * stride + i0, m, r[i])
        DW16_ALL(DW16_GET);
        transpose16(r);
        DW16_ALL(DW16_STORE);
    }
}

/* The output pixel vectors of the block: four pixels of a row at a time (four chains),
 * then the row's last ones singly. kh, kw, sw constant after inlining. */
PL512_INLINE void dw16_window(const PlaneGeom *g, const float *in, const float *wv, __m512 bias,
                              float *out, int act, float alpha, float beta, int64_t kh,
                              int64_t kw, int64_t sw)
{
    int64_t oy, ox, ki, kj, step = sw * 16;
    for (oy = 0; oy < g->oh; oy++) {
        const float *row = in + oy * g->sh * g->wp * 16;
        float *o = out + oy * g->ow * 16;
        for (ox = 0; ox + 4 <= g->ow; ox += 4) {
            __m512 a0 = bias, a1 = bias, a2 = bias, a3 = bias;
            const float *q = row + ox * step;
            for (ki = 0; ki < kh; ki++)
                for (kj = 0; kj < kw; kj++) {
                    const float *r = q + (ki * g->dh * g->wp + kj * g->dw) * 16;
                    __m512 w = _mm512_load_ps(wv + (ki * kw + kj) * 16);
                    a0 = _mm512_fmadd_ps(_mm512_load_ps(r), w, a0);
                    a1 = _mm512_fmadd_ps(_mm512_load_ps(r + step), w, a1);
                    a2 = _mm512_fmadd_ps(_mm512_load_ps(r + 2 * step), w, a2);
                    a3 = _mm512_fmadd_ps(_mm512_load_ps(r + 3 * step), w, a3);
                }
            _mm512_store_ps(o + ox * 16, act512_apply(a0, act, alpha, beta));
            _mm512_store_ps(o + ox * 16 + 16, act512_apply(a1, act, alpha, beta));
            _mm512_store_ps(o + ox * 16 + 32, act512_apply(a2, act, alpha, beta));
            _mm512_store_ps(o + ox * 16 + 48, act512_apply(a3, act, alpha, beta));
        }
        for (; ox < g->ow; ox++) {
            __m512 a0 = bias;
            const float *q = row + ox * step;
            for (ki = 0; ki < kh; ki++)
                for (kj = 0; kj < kw; kj++)
                    a0 = _mm512_fmadd_ps(
                        _mm512_load_ps(q + (ki * g->dh * g->wp + kj * g->dw) * 16),
                        _mm512_load_ps(wv + (ki * kw + kj) * 16), a0);
            _mm512_store_ps(o + ox * 16, act512_apply(a0, act, alpha, beta));
        }
    }
}

/* Channels c0..c0+15 (those below C) of one image: x and y at the image, w and b the
 * whole convolution's; scratch as rt_dwconv16_scratch, made ready by
 * rt_dwconv16_scratch_init. No residual (conv.c keeps those on planes). */
PL512_TARGET RT_API void rt_dwconv16_block_avx512(const int64_t *p, const float *f,
                                                  const float *x, const float *w,
                                                  const float *b, float *y, int64_t c0,
                                                  float *scratch)
{
    Dw16Layout l = dw16_layout(p);
    const PlaneGeom *g = &l.g;
    float *in = plane_aligned(scratch), *out = in + l.in_floats, *wv = out + l.out_floats;
    const int32_t *pos = (const int32_t *)(wv + l.taps * 16);
    int64_t C = p[1], t;
    int rows = (int)(C - c0 < 16 ? C - c0 : 16), act = (int)p[16];
    __mmask16 live = (__mmask16)((1u << rows) - 1);
    __m512 bias = b ? _mm512_maskz_loadu_ps(live, b + c0) : _mm512_setzero_ps();
    const __m512i tap_stride = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32((int)l.taps));
    for (t = 0; t < l.taps; t++)        /* weight vector of tap t: w[c0 + i][t] in lane i */
        _mm512_store_ps(wv + t * 16, _mm512_mask_i32gather_ps(
            _mm512_setzero_ps(), live, tap_stride, w + c0 * l.taps + t, 4));
    dw16_planes_in(x + c0 * g->h * g->w, g->h * g->w, rows, g->h * g->w, pos, in);
    if (g->kh == 3 && g->kw == 3 && g->sw == 1)
        dw16_window(g, in, wv, bias, out, act, f[0], f[1], 3, 3, 1);
    else if (g->kh == 3 && g->kw == 3 && g->sw == 2)
        dw16_window(g, in, wv, bias, out, act, f[0], f[1], 3, 3, 2);
    else if (g->kh == 5 && g->kw == 5 && g->sw == 1)
        dw16_window(g, in, wv, bias, out, act, f[0], f[1], 5, 5, 1);
    else if (g->kh == 5 && g->kw == 5 && g->sw == 2)
        dw16_window(g, in, wv, bias, out, act, f[0], f[1], 5, 5, 2);
    else
        dw16_window(g, in, wv, bias, out, act, f[0], f[1], g->kh, g->kw, g->sw);
    dw16_planes_out(out, g->oh * g->ow, y + c0 * g->oh * g->ow, g->oh * g->ow, rows);
}
#endif
