/* One channel plane at a time with AVX-512, for the depthwise convolution and max pooling
 * (conv_dw_avx512.c, pool_avx512.c). The plane is copied into a scratch plane with a
 * border of the window's neutral value (0 for the convolution, -FLT_MAX for the pooling;
 * written once per thread), so that no load needs a mask for the padding, a few rows at a
 * time just before the windows first read them (a 112x112 plane with its border is more
 * than L1 holds: MobileNetV2's stride-2 layer 0.198 -> 0.168 ms); then 16 output
 * pixels of a row make one vector and four such vectors (of one row, or of several for
 * narrow planes) are computed together, so that four independent chains hide each other's
 * latency. Where each vector reads and writes is worked out once per thread (PlaneVec),
 * not per plane. The 3- and 5-wide windows build a row's taps from whole-line loads and
 * in-register shifts (plane_taps), at stride 2 from rows copied as their even columns
 * then their odd ones (plane_split: a permute per 16 inputs instead of 4 per 16 outputs and
 * window row; 0.168 -> 0.157 ms); others load each tap, at stride 2 32 pixels of which
 * they keep the even ones. x86-64 GCC/Clang only. */
#ifndef CNNC_PLANE_AVX512_H
#define CNNC_PLANE_AVX512_H
#if defined(__GNUC__) && defined(__x86_64__)
#include <float.h>
#include <immintrin.h>
#include <stdint.h>
#include "rt.h"
#include "act_avx512.h"

#define PL512_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define PL512_INLINE static inline __attribute__((always_inline)) PL512_TARGET
#define PL512_GROUP 4           /* output vectors in flight (a0..a3) */
#define PL512_AHEAD 4           /* input rows copied at a time beyond those needed */
/* Prefetch the float n floats past p. The address is computed as an integer: it may lie
 * past the end of the tensor, where a prefetch is harmless but pointer arithmetic is not
 * defined. */
#define PL512_PREFETCH_AT(p, n) _mm_prefetch( \
        (const char *)((uintptr_t)(p) + (uintptr_t)(n) * sizeof(float)), _MM_HINT_T0)
#define PL512_PREFETCH 8        /* output rows ahead whose input rows are prefetched */

typedef struct {
    int64_t h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw;
    int64_t hp, wp, nvec;       /* the scratch plane, and output vectors per row */
} PlaneGeom;

/* One output vector: where its window starts in the scratch plane, where it goes in the
 * output plane, and its lanes (0 for the padding of a short last group). */
typedef struct {
    int32_t in, out, keep, rows;    /* rows: scratch rows its window reaches through */
} PlaneVec;

/* Whether plane_taps builds this window's row: undilated, 3 or 5 wide. */
static inline int plane_has_taps(int64_t kw, int64_t sw, int64_t dw)
{
    return dw == 1 && (kw == 3 || kw == 5) && (sw == 1 || sw == 2);
}

/* Whether the scratch rows hold a row's even columns and then its odd ones: at stride 2,
 * so that a window row's taps are whole vectors and shifts, not a shuffle each. */
static inline int plane_split(const PlaneGeom *g)
{
    return g->sw == 2 && plane_has_taps(g->kw, g->sw, g->dw);
}

/* The scratch plane's size follows from the window: every tap of the last vector (32
 * floats at stride 2) stays inside its row; a split row is two halves of whole vectors. */
static inline void plane_geom_finish(PlaneGeom *g)
{
    g->nvec = (g->ow + 15) / 16;
    g->hp = (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1;
    g->wp = (g->nvec * 16 * g->sw + (g->kw - 1) * g->dw + 1 + 15) / 16 * 16;
    if (plane_split(g))
        g->wp = g->nvec * 32 + 32;
}

/* Output vectors of a plane, rounded up to whole groups. */
static inline int64_t plane_nvecs(const PlaneGeom *g)
{
    return (g->oh * g->nvec + PL512_GROUP - 1) / PL512_GROUP * PL512_GROUP;
}

/* Floats of scratch: the bordered plane, then the vectors' table (and room to align the
 * plane to 64 bytes: plane_aligned). */
static inline size_t plane_scratch_floats(const PlaneGeom *g)
{
    return (size_t)(g->hp * g->wp + 32 + plane_nvecs(g) * 4 + 16);
}

/* The scratch plane starts on a cache line, so that every vector of a window's first
 * column (a multiple of 16 floats into a row of a multiple of 16) loads whole lines. */
static inline float *plane_aligned(float *scratch)
{
    return (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
}

/* The scratch's border filled with `border` and its table of vectors written: once per
 * thread, before its first plane. */
static inline void plane_scratch_init(const PlaneGeom *g, float *scratch, float border)
{
    int64_t i, n = g->hp * g->wp + 32, total = g->oh * g->nvec, oy, ox0;
    PlaneVec *v = (PlaneVec *)(scratch + n);
    for (i = 0; i < n; i++)
        scratch[i] = border;
    for (i = 0, oy = ox0 = 0; i < plane_nvecs(g); i++) {
        int64_t lanes = g->ow - ox0 < 16 ? g->ow - ox0 : 16;
        v[i].in = (int32_t)(oy * g->sh * g->wp + (plane_split(g) ? ox0 : ox0 * g->sw));
        v[i].out = (int32_t)(oy * g->ow + ox0);
        v[i].keep = i < total ? (int32_t)((1u << lanes) - 1) : 0;
        v[i].rows = (int32_t)(oy * g->sh + (g->kh - 1) * g->dh + 1);
        if (i + 1 < total && (ox0 += 16) >= g->ow) {    /* padding vectors repeat the last */
            ox0 = 0;
            oy++;
        }
    }
}

/* One row of w inputs into a split scratch row (plane_split) of wp floats whose first pl
 * columns are border: the even and odd inputs go to whichever halves the border's parity
 * puts them in; the border columns are left as they are. */
PL512_INLINE void plane_split_row(const float *x, int64_t w, int64_t pl, int64_t wp, float *d)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    float *de = d + (pl & 1 ? wp / 2 : 0) + pl / 2;         /* input column 0 */
    float *dodd = d + (pl & 1 ? 0 : wp / 2) + (pl + 1) / 2; /* input column 1 */
    int64_t c;
    for (c = 0; c + 32 <= w; c += 32) {
        __m512 lo = _mm512_loadu_ps(x + c), hi = _mm512_loadu_ps(x + c + 16);
        _mm512_storeu_ps(de + c / 2, _mm512_permutex2var_ps(lo, even, hi));
        _mm512_storeu_ps(dodd + c / 2, _mm512_permutex2var_ps(lo, odd, hi));
    }
    if (c < w) {
        int64_t n = w - c, nlo = n < 16 ? n : 16;
        __m512 lo = _mm512_maskz_loadu_ps((__mmask16)((1u << nlo) - 1), x + c);
        __m512 hi = _mm512_maskz_loadu_ps((__mmask16)((1u << (n - nlo)) - 1), x + c + 16);
        _mm512_mask_storeu_ps(de + c / 2, (__mmask16)((1u << (n + 1) / 2) - 1),
                              _mm512_permutex2var_ps(lo, even, hi));
        _mm512_mask_storeu_ps(dodd + c / 2, (__mmask16)((1u << n / 2) - 1),
                              _mm512_permutex2var_ps(lo, odd, hi));
    }
}

/* Scratch rows r0..r1-1 of the input plane inside its border: row r, column c hold
 * x[r - pt][c - pl]. Only the interior is written; the border stays as plane_scratch_init
 * left it. */
PL512_INLINE void plane_copy_rows(const PlaneGeom *g, const float *x, float *xp,
                                  int64_t r0, int64_t r1)
{
    int64_t r, left = g->pl < g->wp ? g->pl : g->wp, n = g->w, j;
    if (n > g->wp - left)
        n = g->wp - left;
    if (r0 < g->pt)
        r0 = g->pt;
    if (r1 > g->pt + g->h)
        r1 = g->pt + g->h;
    if (r1 > g->hp)
        r1 = g->hp;
    for (r = r0; r < r1; r++) {
        const float *src = x + (r - g->pt) * g->w;
        float *d = xp + r * g->wp;
        /* the input row PL512_PREFETCH output rows on (the next plane's, past this one;
         * past the tensor, prefetches are harmless): with its input from memory,
         * MobileNetV2's 32-channel 112x112 layer 0.161 -> 0.138 ms, at stride 2 the
         * 96-channel one 0.428 -> 0.194 */
        for (j = 0; j < g->w; j += 16)
            PL512_PREFETCH_AT(src, PL512_PREFETCH * g->sh * g->w + j);
        if (plane_split(g)) {
            plane_split_row(src, n, g->pl, g->wp, d);
            continue;
        }
        d += left;
        for (j = 0; j + 16 <= n; j += 16)
            _mm512_storeu_ps(d + j, _mm512_loadu_ps(src + j));
        if (j < n) {
            __mmask16 m = (__mmask16)((1u << (n - j)) - 1);
            _mm512_mask_storeu_ps(d + j, m, _mm512_maskz_loadu_ps(m, src + j));
        }
    }
}

PL512_INLINE __m512 plane_load(const float *src, int sw)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    if (sw == 1)
        return _mm512_loadu_ps(src);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(src), even, _mm512_loadu_ps(src + 16));
}

#define PL512_SHIFT(lo, hi, n) _mm512_castsi512_ps(_mm512_alignr_epi32( \
        _mm512_castps_si512(hi), _mm512_castps_si512(lo), n))

/* The kw inputs of one window row for 16 output pixels, r at their first (64-byte
 * aligned): tap[kj] holds the pixels kj columns on. Built from whole-line loads and
 * in-register shifts, where kw unaligned loads would each straddle two cache lines: at
 * stride 1 2 loads and kw - 1 shifts; at stride 2, from a split row (plane_split: its odd
 * columns `half` floats after its even ones), 3 or 4 loads and kw / 2 shifts. */
PL512_INLINE void plane_taps(const float *r, int64_t half, int64_t kw, int64_t sw, __m512 *tap)
{
    __m512 lo = _mm512_load_ps(r), hi = _mm512_load_ps(r + 16);
    tap[3] = tap[4] = lo;       /* unused at kw = 3; set so that no path reads garbage */
    tap[0] = lo;
    if (sw == 1) {
        tap[1] = PL512_SHIFT(lo, hi, 1);
        tap[2] = PL512_SHIFT(lo, hi, 2);
        if (kw == 5) {
            tap[3] = PL512_SHIFT(lo, hi, 3);
            tap[4] = PL512_SHIFT(lo, hi, 4);
        }
    } else {
        __m512 o = _mm512_load_ps(r + half);
        tap[1] = o;
        tap[2] = PL512_SHIFT(lo, hi, 1);
        if (kw == 5) {
            tap[3] = PL512_SHIFT(o, _mm512_load_ps(r + half + 16), 1);
            tap[4] = PL512_SHIFT(lo, hi, 2);
        }
    }
}

/* Output vector u (in register v) finished and stored. */
#define PL512_STORE(u, v) do {                                              \
        __m512 v_ = (v);                                                    \
        if (!is_max && res)                                                 \
            v_ = _mm512_add_ps(v_, _mm512_maskz_loadu_ps(keep[u], res + at[u])); \
        if (!is_max)                                                        \
            v_ = act512_apply(v_, act, alpha, beta);                        \
        _mm512_mask_storeu_ps(y + at[u], keep[u], v_);                      \
    } while (0)

/* Tap kj of the current window row into the four output vectors. */
#define PL512_TAP(kj) do {                                                  \
        if ((kj) < kw && is_max) {                                          \
            a0 = _mm512_max_ps(t0[kj], a0);                                 \
            a1 = _mm512_max_ps(t1[kj], a1);                                 \
            a2 = _mm512_max_ps(t2[kj], a2);                                 \
            a3 = _mm512_max_ps(t3[kj], a3);                                 \
        } else if ((kj) < kw) {                                             \
            __m512 w_ = _mm512_set1_ps(wk[ki * kw + (kj)]);                 \
            a0 = _mm512_fmadd_ps(t0[kj], w_, a0);                           \
            a1 = _mm512_fmadd_ps(t1[kj], w_, a1);                           \
            a2 = _mm512_fmadd_ps(t2[kj], w_, a2);                           \
            a3 = _mm512_fmadd_ps(t3[kj], w_, a3);                           \
        }                                                                   \
    } while (0)

/* The plane's output vectors, four at a time in a0..a3: the weighted sum of the window
 * (wk) plus bias, residual and activation, or (is_max) its maximum. kh, kw, sw and is_max
 * are constants after inlining for the common windows. */
PL512_INLINE void plane_window(const PlaneGeom *g, const float *x, float *xp, const float *wk,
                               float bias, const float *res, float *y, int act, float alpha,
                               float beta, int64_t kh, int64_t kw, int64_t sw, int is_max)
{
    const PlaneVec *vec = (const PlaneVec *)(xp + g->hp * g->wp + 32);
    int64_t nv = plane_nvecs(g), it, copied = 0;
    for (it = 0; it < nv; it += PL512_GROUP) {
        const float *base[PL512_GROUP];
        int64_t at[PL512_GROUP], ki, kj;
        __mmask16 keep[PL512_GROUP];
        __m512 a0, a1, a2, a3;
        int u;
        for (u = 0; u < PL512_GROUP; u++) {
            base[u] = xp + vec[it + u].in;
            at[u] = vec[it + u].out;
            keep[u] = (__mmask16)vec[it + u].keep;
        }
        if (vec[it + PL512_GROUP - 1].rows > copied) {
            /* rows copied just before their first use, in L1 still when read */
            int64_t upto = vec[it + PL512_GROUP - 1].rows + PL512_AHEAD;
            plane_copy_rows(g, x, xp, copied, upto);
            copied = upto;
        }
        a0 = a1 = a2 = a3 = _mm512_set1_ps(is_max ? -FLT_MAX : bias);
        for (ki = 0; ki < kh && plane_has_taps(kw, sw, g->dw); ki++) {
            __m512 t0[5], t1[5], t2[5], t3[5];
            int64_t row = ki * g->dh * g->wp;
            plane_taps(base[0] + row, g->wp / 2, kw, sw, t0);
            plane_taps(base[1] + row, g->wp / 2, kw, sw, t1);
            plane_taps(base[2] + row, g->wp / 2, kw, sw, t2);
            plane_taps(base[3] + row, g->wp / 2, kw, sw, t3);
            /* spelled out, not looped, so that the taps stay in registers */
            PL512_TAP(0);
            PL512_TAP(1);
            PL512_TAP(2);
            PL512_TAP(3);
            PL512_TAP(4);
        }
        for (ki = 0; ki < kh && !plane_has_taps(kw, sw, g->dw); ki++) {
            const float *r0 = base[0] + ki * g->dh * g->wp, *r1 = base[1] + ki * g->dh * g->wp;
            const float *r2 = base[2] + ki * g->dh * g->wp, *r3 = base[3] + ki * g->dh * g->wp;
            for (kj = 0; kj < kw; kj++) {
                int64_t off = kj * g->dw;
                if (is_max) {
                    a0 = _mm512_max_ps(plane_load(r0 + off, (int)sw), a0);
                    a1 = _mm512_max_ps(plane_load(r1 + off, (int)sw), a1);
                    a2 = _mm512_max_ps(plane_load(r2 + off, (int)sw), a2);
                    a3 = _mm512_max_ps(plane_load(r3 + off, (int)sw), a3);
                } else {
                    __m512 w = _mm512_set1_ps(wk[ki * kw + kj]);
                    a0 = _mm512_fmadd_ps(plane_load(r0 + off, (int)sw), w, a0);
                    a1 = _mm512_fmadd_ps(plane_load(r1 + off, (int)sw), w, a1);
                    a2 = _mm512_fmadd_ps(plane_load(r2 + off, (int)sw), w, a2);
                    a3 = _mm512_fmadd_ps(plane_load(r3 + off, (int)sw), w, a3);
                }
            }
        }
        PL512_STORE(0, a0);
        PL512_STORE(1, a1);
        PL512_STORE(2, a2);
        PL512_STORE(3, a3);
    }
}

#endif
#endif
