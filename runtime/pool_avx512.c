/* MaxPool with AVX-512, as the depthwise convolution does it (conv_dw_avx512.c), with a
 * -FLT_MAX border and max in place of the FMAs: one channel plane at a time
 * (plane_avx512.h), or for planes of 56x56 and less sixteen channels at a time
 * (block16_avx512.h). The common windows get their own copy of the loop. Chosen at run
 * time by pool.c; x86-64 GCC/Clang only. */
#if defined(__GNUC__) && defined(__x86_64__)
#include "rt.h"
#include "block16_avx512.h"

static PlaneGeom pool_geom(const int64_t *p)
{
    PlaneGeom g;
    g.h = p[2]; g.w = p[3]; g.oh = p[4]; g.ow = p[5]; g.kh = p[6]; g.kw = p[7];
    g.sh = p[8]; g.sw = p[9]; g.pt = p[10]; g.pl = p[11]; g.dh = p[14]; g.dw = p[15];
    plane_geom_finish(&g);
    return g;
}

/* Whether rt_maxpool_plane_avx512 takes this pooling (p as rt_maxpool_f32's). */
RT_API int rt_maxpool_avx512_ok(const int64_t *p)
{
    return (p[9] == 1 || p[9] == 2) && p[6] > 0 && p[7] > 0 && p[4] > 0 && p[5] > 0;
}

/* Floats of scratch one thread needs. */
RT_API size_t rt_maxpool_scratch_avx512(const int64_t *p)
{
    PlaneGeom g = pool_geom(p);
    return plane_scratch_floats(&g);
}

/* A thread's scratch made ready for its planes: a -FLT_MAX border. */
RT_API void rt_maxpool_scratch_init_avx512(const int64_t *p, float *scratch)
{
    PlaneGeom g = pool_geom(p);
    plane_scratch_init(&g, plane_aligned(scratch), -FLT_MAX);
}

PL512_TARGET RT_API void rt_maxpool_plane_avx512(const int64_t *p, const float *x, float *y,
                                                 float *scratch)
{
    PlaneGeom g = pool_geom(p);
    scratch = plane_aligned(scratch);
    plane_copy(&g, x, scratch);
    if (g.kh == 3 && g.kw == 3 && g.sw == 1)
        plane_window(&g, scratch, NULL, 0, NULL, y, 0, 0, 0, 3, 3, 1, 1);
    else if (g.kh == 3 && g.kw == 3 && g.sw == 2)
        plane_window(&g, scratch, NULL, 0, NULL, y, 0, 0, 0, 3, 3, 2, 1);
    else if (g.kh == 2 && g.kw == 2 && g.sw == 2)
        plane_window(&g, scratch, NULL, 0, NULL, y, 0, 0, 0, 2, 2, 2, 1);
    else
        plane_window(&g, scratch, NULL, 0, NULL, y, 0, 0, 0, g.kh, g.kw, g.sw, 1);
}

/* ---- sixteen channels a vector (block16_avx512.h), for planes of 56x56 and less ---- */

RT_API int rt_maxpool16_ok(const int64_t *p)
{
    PlaneGeom g = pool_geom(p);
    return b16_ok(&g) && rt_maxpool_avx512_ok(p);
}

RT_API size_t rt_maxpool16_scratch(const int64_t *p)
{
    B16Layout l = b16_layout(pool_geom(p));
    return b16_scratch_floats(&l);
}

/* A -FLT_MAX border and the pixel table, once per thread. */
RT_API void rt_maxpool16_scratch_init(const int64_t *p, float *scratch)
{
    B16Layout l = b16_layout(pool_geom(p));
    b16_scratch_init(&l, scratch, -FLT_MAX);
}

/* Channels c0..c0+15 (those below C = p[1]) of one image, x and y at the image; scratch
 * as rt_maxpool16_scratch, made ready by rt_maxpool16_scratch_init. */
PL512_TARGET RT_API void rt_maxpool16_block_avx512(const int64_t *p, const float *x, float *y,
                                                   int64_t c0, float *scratch)
{
    B16Layout l = b16_layout(pool_geom(p));
    const PlaneGeom *g = &l.g;
    float *in = plane_aligned(scratch), *out = in + l.in_floats;
    const int32_t *pos = (const int32_t *)(out + l.out_floats + l.taps * 16);
    int rows = (int)(p[1] - c0 < 16 ? p[1] - c0 : 16);
    __m512 none = _mm512_setzero_ps();
    b16_planes_in(x + c0 * g->h * g->w, g->h * g->w, rows, g->h * g->w, pos, in);
    if (g->kh == 3 && g->kw == 3 && g->sw == 1)
        b16_window(g, in, NULL, none, out, 0, 0, 0, 3, 3, 1, 1);
    else if (g->kh == 3 && g->kw == 3 && g->sw == 2)
        b16_window(g, in, NULL, none, out, 0, 0, 0, 3, 3, 2, 1);
    else if (g->kh == 2 && g->kw == 2 && g->sw == 2)
        b16_window(g, in, NULL, none, out, 0, 0, 0, 2, 2, 2, 1);
    else
        b16_window(g, in, NULL, none, out, 0, 0, 0, g->kh, g->kw, g->sw, 1);
    b16_planes_out(out, g->oh * g->ow, y + c0 * g->oh * g->ow, g->oh * g->ow, rows);
}

/* The mean (or maximum) of one plane of n floats: four vector chains, where the
 * portable loop compiled for the baseline ISA runs one 4-wide chain (and the squeeze-
 * excitation blocks of EfficientNet pool a plane after every depthwise layer). */
PL512_TARGET RT_API float rt_globalpool_plane_avx512(const float *x, int64_t n, int is_max)
{
    __m512 init = _mm512_set1_ps(is_max ? -FLT_MAX : 0.0f), a0 = init, a1 = init, a2 = init;
    __m512 a3 = init;
    int64_t j = 0;
    for (; j + 64 <= n; j += 64) {
        __m512 v0 = _mm512_loadu_ps(x + j), v1 = _mm512_loadu_ps(x + j + 16);
        __m512 v2 = _mm512_loadu_ps(x + j + 32), v3 = _mm512_loadu_ps(x + j + 48);
        a0 = is_max ? _mm512_max_ps(a0, v0) : _mm512_add_ps(a0, v0);
        a1 = is_max ? _mm512_max_ps(a1, v1) : _mm512_add_ps(a1, v1);
        a2 = is_max ? _mm512_max_ps(a2, v2) : _mm512_add_ps(a2, v2);
        a3 = is_max ? _mm512_max_ps(a3, v3) : _mm512_add_ps(a3, v3);
    }
    for (; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? 0xFFFF : (__mmask16)((1u << (n - j)) - 1);
        __m512 v = _mm512_mask_loadu_ps(init, m, x + j);
        a0 = is_max ? _mm512_max_ps(a0, v) : _mm512_add_ps(a0, v);
    }
    if (is_max)
        return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(a0, a1), _mm512_max_ps(a2, a3)));
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3))) /
           (float)n;
}
#endif
