/* Depthwise convolution with AVX-512, two ways (conv.c chooses at run time; x86-64
 * GCC/Clang only):
 *  - one channel plane at a time, 16 output pixels a vector (plane_avx512.h): for large
 *    planes;
 *  - sixteen channels at a time, one channel a lane (block16_avx512.h): for planes of
 *    56x56 and less it is the faster (1.2-2.7x on MobileNetV2's); at 112x112 it is 10-20 %
 *    slower.
 * Bias, (first way only) residual and activation are applied before a vector is stored.
 * The common windows get their own copy of the loop, with the window a compile-time
 * constant. */
#if defined(__GNUC__) && defined(__x86_64__)
#include "rt.h"
#include "block16_avx512.h"

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

/* CALL(a) with a the activation, a constant for the common ones: the window's loop then
 * applies it without a jump table at every vector (17 % of a 112x112 layer's time). */
#define DW512_WITH_ACT(act, CALL) do {          \
        if ((act) == RT_ACT_CLIP)               \
            CALL(RT_ACT_CLIP);                  \
        else if ((act) == RT_ACT_RELU)          \
            CALL(RT_ACT_RELU);                  \
        else if ((act) == RT_ACT_SILU)          \
            CALL(RT_ACT_SILU);                  \
        else if ((act) == RT_ACT_NONE)          \
            CALL(RT_ACT_NONE);                  \
        else                                    \
            CALL(act);                          \
    } while (0)

#define DW512_PLANE(a) \
    plane_window(&g, x, scratch, wk, bias, res, y, a, alpha, beta, kh_, kw_, sw_, 0)
#define DW512_BY_ACT(kh, kw, sw) do {                                   \
        const int64_t kh_ = (kh), kw_ = (kw), sw_ = (sw);               \
        DW512_WITH_ACT(act, DW512_PLANE);                               \
    } while (0)
#define DW16_BLOCK(a) b16_window(g, in, wv, bias, out, a, f[0], f[1], kh_, kw_, sw_, 0)
#define DW16_BY_ACT(kh, kw, sw) do {                                    \
        const int64_t kh_ = (kh), kw_ = (kw), sw_ = (sw);               \
        DW512_WITH_ACT(act, DW16_BLOCK);                                \
    } while (0)

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
    if (g.kh == 3 && g.kw == 3 && g.sw == 1)
        DW512_BY_ACT(3, 3, 1);
    else if (g.kh == 3 && g.kw == 3 && g.sw == 2)
        DW512_BY_ACT(3, 3, 2);
    else if (g.kh == 5 && g.kw == 5 && g.sw == 1)
        DW512_BY_ACT(5, 5, 1);
    else if (g.kh == 5 && g.kw == 5 && g.sw == 2)
        DW512_BY_ACT(5, 5, 2);
    else
        plane_window(&g, x, scratch, wk, bias, res, y, act, alpha, beta, g.kh, g.kw, g.sw, 0);
}

/* ---- sixteen channels a vector (block16_avx512.h) ---- */

static B16Layout dw16_layout(const int64_t *p)
{
    return b16_layout(dw_geom(p));
}

/* Whether rt_dwconv16_block_avx512 takes this convolution (p as rt_conv_f32's). */
RT_API int rt_dwconv16_ok(const int64_t *p)
{
    PlaneGeom g = dw_geom(p);
    return b16_ok(&g) && p[7] * p[8] <= DW512_MAX_TAPS && rt_dwconv_avx512_ok(p);
}

RT_API size_t rt_dwconv16_scratch(const int64_t *p)
{
    B16Layout l = dw16_layout(p);
    return b16_scratch_floats(&l);
}

/* The border zeroed and the pixel table written, once per thread. */
RT_API void rt_dwconv16_scratch_init(const int64_t *p, float *scratch)
{
    B16Layout l = dw16_layout(p);
    b16_scratch_init(&l, scratch, 0.0f);
}

/* Channels c0..c0+15 (those below C) of one image: x and y at the image, w and b the
 * whole convolution's; scratch as rt_dwconv16_scratch, made ready by
 * rt_dwconv16_scratch_init. No residual (conv.c keeps those on planes). */
PL512_TARGET RT_API void rt_dwconv16_block_avx512(const int64_t *p, const float *f,
                                                  const float *x, const float *w,
                                                  const float *b, float *y, int64_t c0,
                                                  float *scratch)
{
    B16Layout l = dw16_layout(p);
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
    b16_planes_in(x + c0 * g->h * g->w, g->h * g->w, rows, g->h * g->w, pos, in);
    if (g->kh == 3 && g->kw == 3 && g->sw == 1)
        DW16_BY_ACT(3, 3, 1);
    else if (g->kh == 3 && g->kw == 3 && g->sw == 2)
        DW16_BY_ACT(3, 3, 2);
    else if (g->kh == 5 && g->kw == 5 && g->sw == 1)
        DW16_BY_ACT(5, 5, 1);
    else if (g->kh == 5 && g->kw == 5 && g->sw == 2)
        DW16_BY_ACT(5, 5, 2);
    else
        b16_window(g, in, wv, bias, out, act, f[0], f[1], g->kh, g->kw, g->sw, 0);
    b16_planes_out(out, g->oh * g->ow, y + c0 * g->oh * g->ow, g->oh * g->ow, rows);
}
#endif
