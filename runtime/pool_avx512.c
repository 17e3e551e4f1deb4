/* MaxPool with AVX-512. Planes wider than 40 columns row by row straight from the input
 * (below); narrower ones as the depthwise convolution does it (conv_dw_avx512.c), with a
 * -FLT_MAX border and max in place of the FMAs: sixteen channels at a time
 * (block16_avx512.h), or one channel plane at a time (plane_avx512.h) for tall ones. The
 * common windows get their own copy of the loop. Chosen at run time by pool.c; x86-64
 * GCC/Clang only. */
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
    if (g.kh == 3 && g.kw == 3 && g.sw == 1)
        plane_window(&g, x, scratch, NULL, 0, NULL, y, 0, 0, 0, 3, 3, 1, 1);
    else if (g.kh == 3 && g.kw == 3 && g.sw == 2)
        plane_window(&g, x, scratch, NULL, 0, NULL, y, 0, 0, 0, 3, 3, 2, 1);
    else if (g.kh == 2 && g.kw == 2 && g.sw == 2)
        plane_window(&g, x, scratch, NULL, 0, NULL, y, 0, 0, 0, 2, 2, 2, 1);
    else
        plane_window(&g, x, scratch, NULL, 0, NULL, y, 0, 0, 0, g.kh, g.kw, g.sw, 1);
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

/* ---- separable, straight from the input: for planes too wide for sixteen at a time ----
 * The max of a window is the max over its columns of each column's max over its rows: the
 * rows under each output row's window are first reduced into one bordered row (whole
 * vectors of consecutive input, each input row loaded once per output row that needs it),
 * for a band of output rows; then the band's windows read those rows (at stride 2 the even
 * lanes of two vectors). The plane path copies the whole plane into a bordered scratch
 * first; this writes a third of that (SqueezeNet's 111x111 3x3 pool 0.115 -> 0.078 ms). The
 * band's rows are written before any is read back, since a load that spans two recent
 * stores waits for them to reach the cache. */

#define MP_BAND 16              /* output rows a band: its reduced rows stay in L1 */
#define MP_AHEAD 4              /* input rows prefetched ahead of those being reduced */

/* Floats of a reduced row: its left border, the input row, and every tap of the last
 * output vector (32 floats at stride 2), a multiple of 16. */
static int64_t rows_width(const int64_t *p)
{
    int64_t ow = p[5], kw = p[7], pl = p[11], dw = p[15], nvec = (ow + 15) / 16;
    int64_t taps = nvec * 16 * p[9] + (kw - 1) * dw, w = pl + p[3];
    return ((taps > w ? taps : w) + 15) / 16 * 16;
}

RT_API size_t rt_maxpool_rows_scratch(const int64_t *p)
{
    return (size_t)(MP_BAND * rows_width(p) + 16 + 16);
}

RT_API int rt_maxpool_rows_ok(const int64_t *p)
{
    return rt_maxpool_avx512_ok(p) && p[6] * p[14] < 64;
}

/* The column maxima of n rows of w floats into out, then -FLT_MAX to a whole vector; returns
 * the floats written. */
PL512_INLINE int64_t rows_reduce(const float *const *rows, int64_t n, int64_t w, float *out)
{
    const __m512 lo = _mm512_set1_ps(-FLT_MAX);
    int64_t ix, k;
    for (ix = 0; ix + 16 <= w; ix += 16) {
        __m512 v = n > 0 ? _mm512_loadu_ps(rows[0] + ix) : lo;
        for (k = 1; k < n; k++)
            v = _mm512_max_ps(v, _mm512_loadu_ps(rows[k] + ix));
        _mm512_storeu_ps(out + ix, v);
    }
    if (ix < w) {
        __mmask16 m = (__mmask16)((1u << (w - ix)) - 1);
        __m512 v = lo;
        for (k = 0; k < n; k++)
            v = _mm512_max_ps(v, _mm512_mask_loadu_ps(lo, m, rows[k] + ix));
        _mm512_storeu_ps(out + ix, v);
        ix += 16;
    }
    return ix;
}

/* One output row of ow windows kw wide, sw (1 or 2) apart, from the reduced row rr. */
PL512_INLINE void rows_windows(const float *rr, int64_t ow, int64_t kw, int64_t sw, int64_t dw,
                               float *out)
{
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4,
                                          2, 0);
    int64_t ox, kj;
    for (ox = 0; ox < ow; ox += 16) {
        __mmask16 m = ow - ox >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (ow - ox)) - 1);
        __m512 v = _mm512_set1_ps(-FLT_MAX);
        if (sw == 1)
            for (kj = 0; kj < kw; kj++)
                v = _mm512_max_ps(v, _mm512_loadu_ps(rr + ox + kj * dw));
        else
            for (kj = 0; kj < kw; kj++) {
                const float *q = rr + 2 * ox + kj * dw;
                v = _mm512_max_ps(v, _mm512_permutex2var_ps(_mm512_loadu_ps(q), even,
                                                            _mm512_loadu_ps(q + 16)));
            }
        _mm512_mask_storeu_ps(out + ox, m, v);
    }
}

/* One plane; scratch as rt_maxpool_rows_scratch, any contents. */
PL512_TARGET RT_API void rt_maxpool_rows_avx512(const int64_t *p, const float *x, float *y,
                                                float *scratch)
{
    int64_t h = p[2], w = p[3], oh = p[4], ow = p[5], kh = p[6], kw = p[7], sh = p[8];
    int64_t sw = p[9], pt = p[10], pl = p[11], dh = p[14], dw = p[15];
    int64_t rw = rows_width(p), b0, oy, i, ki;
    float *r = plane_aligned(scratch);
    const __m512 lo = _mm512_set1_ps(-FLT_MAX);
    for (b0 = 0; b0 < oh; b0 += MP_BAND) {
        int64_t nb = oh - b0 < MP_BAND ? oh - b0 : MP_BAND;
        for (oy = b0; oy < b0 + nb; oy++) {
            const float *rows[64];
            int64_t nrows = 0, ix;
            float *rr = r + (oy - b0) * rw;
            for (ki = 0; ki < kh; ki++) {
                int64_t iy = oy * sh - pt + ki * dh;
                if (iy >= 0 && iy < h)
                    rows[nrows++] = x + iy * w;
            }
            /* the input rows MP_AHEAD past the last this output row reads, asked for now:
             * the hardware does not follow this stream across pages far enough ahead
             * (SqueezeNet's 111x111 pool with its input from memory 0.297 -> 0.165 ms).
             * Past the plane they are the next plane's first rows. */
            for (ki = 0; ki < sh; ki++) {
                int64_t ahead = (oy * sh - pt + (kh - 1) * dh + MP_AHEAD + ki) * w;
                for (i = 0; i < w; i += 16)
                    PL512_PREFETCH_AT(x, ahead + i);
            }
            for (i = 0; i < pl; i += 16)
                _mm512_mask_storeu_ps(rr + i, (__mmask16)(pl - i >= 16 ? 0xFFFF
                                                          : (1u << (pl - i)) - 1), lo);
            if (nrows == 3)
                ix = rows_reduce(rows, 3, w, rr + pl);
            else if (nrows == 2)
                ix = rows_reduce(rows, 2, w, rr + pl);
            else
                ix = rows_reduce(rows, nrows, w, rr + pl);
            for (i = pl + ix; i < rw; i += 16)     /* (the next row is written later) */
                _mm512_storeu_ps(rr + i, lo);
        }
        for (oy = b0; oy < b0 + nb; oy++) {
            const float *rr = r + (oy - b0) * rw;
            if (kw == 3 && sw == 2 && dw == 1)
                rows_windows(rr, ow, 3, 2, 1, y + oy * ow);
            else if (kw == 3 && sw == 1 && dw == 1)
                rows_windows(rr, ow, 3, 1, 1, y + oy * ow);
            else if (kw == 2 && sw == 2 && dw == 1)
                rows_windows(rr, ow, 2, 2, 1, y + oy * ow);
            else
                rows_windows(rr, ow, kw, sw, dw, y + oy * ow);
        }
    }
}
#endif
