/* Depthwise convolution, one channel plane at a time, with AVX-512 (the plane machinery is
 * in plane_avx512.h): bias, residual and activation are applied before a vector is
 * stored. The common windows get their own copy of the loop, with the window a
 * compile-time constant. Chosen at run time by conv.c; x86-64 GCC/Clang only. */
#if defined(__GNUC__) && defined(__x86_64__)
#include "rt.h"
#include "plane_avx512.h"

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
#endif
