/* Depthwise convolution, one channel plane at a time, with AVX-512. The plane is first
 * copied into a zero-bordered scratch plane (the border is written once per thread), so
 * that no load needs a mask for the padding; then 16 output pixels of a row make one
 * vector and four such vectors (of one row, or of several for narrow planes) are computed
 * together, so that four independent FMA chains hide each other's latency. Stride 2 loads
 * 32 pixels and keeps the even ones. Bias, residual and activation are applied before the
 * vector is stored. The common windows get their own copy of the loop, with the window a
 * compile-time constant. Chosen at run time by conv.c; x86-64 GCC/Clang only. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#include "rt.h"
#include "act_avx512.h"

#define DW512_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define DW512_INLINE static inline __attribute__((always_inline)) DW512_TARGET
#define DW512_GROUP 4           /* output vectors in flight (a0..a3) */
#define DW512_MAX_TAPS 64

RT_API int rt_act512_ok(int act);

typedef struct {
    int64_t h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw;
    int64_t hp, wp, nvec;       /* the scratch plane, and output vectors per row */
} DwGeom;

static DwGeom dw_geom(const int64_t *p)
{
    DwGeom g;
    g.h = p[2]; g.w = p[3]; g.oh = p[5]; g.ow = p[6]; g.kh = p[7]; g.kw = p[8];
    g.sh = p[9]; g.sw = p[10]; g.pt = p[11]; g.pl = p[12]; g.dh = p[13]; g.dw = p[14];
    g.nvec = (g.ow + 15) / 16;
    g.hp = (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1;
    /* the last vector's loads (32 floats at stride 2) stay inside the row */
    g.wp = (g.nvec * 16 * g.sw + (g.kw - 1) * g.dw + 1 + 15) / 16 * 16;
    return g;
}

/* Whether rt_dwconv_plane_avx512 takes this convolution (p as rt_conv_f32's). */
RT_API int rt_dwconv_avx512_ok(const int64_t *p)
{
    return (p[10] == 1 || p[10] == 2) && p[7] * p[8] <= DW512_MAX_TAPS && p[7] > 0 &&
           p[8] > 0 && p[5] > 0 && p[6] > 0 && rt_act512_ok((int)p[16]);
}

/* Floats of scratch one plane needs. */
RT_API size_t rt_dwconv_scratch_avx512(const int64_t *p)
{
    DwGeom g = dw_geom(p);
    return (size_t)(g.hp * g.wp + 32);
}

/* The input plane inside its zero border: row r, column c hold x[r - pt][c - pl]. Only
 * the interior is written; the border stays as calloc left it. */
DW512_TARGET static void dw_copy_plane(const DwGeom *g, const float *x, float *xp)
{
    int64_t iy, left = g->pl < g->wp ? g->pl : g->wp, n = g->w, j;
    if (n > g->wp - left)
        n = g->wp - left;
    for (iy = 0; iy < g->h && iy + g->pt < g->hp; iy++) {
        const float *src = x + iy * g->w;
        float *d = xp + (iy + g->pt) * g->wp + left;
        if (iy + g->pt < 0)
            continue;
        for (j = 0; j + 16 <= n; j += 16)
            _mm512_storeu_ps(d + j, _mm512_loadu_ps(src + j));
        if (j < n) {
            __mmask16 m = (__mmask16)((1u << (n - j)) - 1);
            _mm512_mask_storeu_ps(d + j, m, _mm512_maskz_loadu_ps(m, src + j));
        }
    }
}

DW512_INLINE __m512 dw_load(const float *src, int sw)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    if (sw == 1)
        return _mm512_loadu_ps(src);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(src), even, _mm512_loadu_ps(src + 16));
}

/* The plane's output vectors, four at a time in a0..a3; kh, kw and sw are constants after
 * inlining for the common windows. */
DW512_INLINE void dw_plane(const DwGeom *g, const float *xp, const float *wk, float bias,
                           const float *res, float *y, int act, float alpha, float beta,
                           int64_t kh, int64_t kw, int64_t sw)
{
    int64_t total = g->oh * g->nvec, it, oy = 0, v = 0;
    __mmask16 tail = (__mmask16)((1u << (g->ow - (g->nvec - 1) * 16)) - 1);
    for (it = 0; it < total; it += DW512_GROUP) {
        const float *base[DW512_GROUP];
        int64_t at[DW512_GROUP], ki, kj;
        __mmask16 keep[DW512_GROUP];
        __m512 a0, a1, a2, a3, out[DW512_GROUP];
        int u, nu = total - it < DW512_GROUP ? (int)(total - it) : DW512_GROUP;
        for (u = 0; u < DW512_GROUP; u++) {
            /* a short last group repeats its last vector, computed but not stored */
            base[u] = xp + oy * g->sh * g->wp + v * 16 * sw;
            at[u] = oy * g->ow + v * 16;
            keep[u] = v == g->nvec - 1 ? tail : (__mmask16)0xFFFF;
            if (u < nu - 1 && ++v == g->nvec) {
                v = 0;
                oy++;
            }
        }
        if (++v == g->nvec) {
            v = 0;
            oy++;
        }
        a0 = a1 = a2 = a3 = _mm512_set1_ps(bias);
#pragma GCC unroll 8
        for (ki = 0; ki < kh; ki++) {
            const float *r0 = base[0] + ki * g->dh * g->wp, *r1 = base[1] + ki * g->dh * g->wp;
            const float *r2 = base[2] + ki * g->dh * g->wp, *r3 = base[3] + ki * g->dh * g->wp;
#pragma GCC unroll 8
            for (kj = 0; kj < kw; kj++) {
                __m512 w = _mm512_set1_ps(wk[ki * kw + kj]);
                int64_t off = kj * g->dw;
                a0 = _mm512_fmadd_ps(dw_load(r0 + off, (int)sw), w, a0);
                a1 = _mm512_fmadd_ps(dw_load(r1 + off, (int)sw), w, a1);
                a2 = _mm512_fmadd_ps(dw_load(r2 + off, (int)sw), w, a2);
                a3 = _mm512_fmadd_ps(dw_load(r3 + off, (int)sw), w, a3);
            }
        }
        out[0] = a0; out[1] = a1; out[2] = a2; out[3] = a3;
        for (u = 0; u < nu; u++) {
            __m512 v = out[u];
            if (res)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(keep[u], res + at[u]));
            _mm512_mask_storeu_ps(y + at[u], keep[u], act512_apply(v, act, alpha, beta));
        }
    }
}

/* One plane: y = act(conv(x, wk) + bias + res); p and f as rt_conv_f32's; scratch holds
 * rt_dwconv_scratch_avx512(p) floats, zeroed before the first plane and since then used
 * only by planes of this convolution. */
DW512_TARGET RT_API void rt_dwconv_plane_avx512(const int64_t *p, const float *f,
                                                const float *x, const float *wk, float bias,
                                                const float *res, float *y, float *scratch)
{
    DwGeom g = dw_geom(p);
    int act = (int)p[16];
    float alpha = f[0], beta = f[1];
    dw_copy_plane(&g, x, scratch);
    if (g.kh == 3 && g.kw == 3 && g.sw == 1)
        dw_plane(&g, scratch, wk, bias, res, y, act, alpha, beta, 3, 3, 1);
    else if (g.kh == 3 && g.kw == 3 && g.sw == 2)
        dw_plane(&g, scratch, wk, bias, res, y, act, alpha, beta, 3, 3, 2);
    else if (g.kh == 5 && g.kw == 5 && g.sw == 1)
        dw_plane(&g, scratch, wk, bias, res, y, act, alpha, beta, 5, 5, 1);
    else if (g.kh == 5 && g.kw == 5 && g.sw == 2)
        dw_plane(&g, scratch, wk, bias, res, y, act, alpha, beta, 5, 5, 2);
    else
        dw_plane(&g, scratch, wk, bias, res, y, act, alpha, beta, g.kh, g.kw, g.sw);
}
#endif
