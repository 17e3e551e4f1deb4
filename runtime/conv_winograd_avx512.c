/* AVX-512 input and output transforms of the Winograd F(4x4, 3x3) convolution
 * (conv_winograd.c): 16 tiles of a tile row per vector, the 6x6 input tiles read as whole
 * rows (masked loads standing in for the padding) and split by permutes, the 4x4 output
 * tiles interleaved back into rows with two rounds of permutes, the epilogue applied before
 * the store. Their loops, all of fixed length, are unrolled so that the tiles stay in
 * registers as far as they fit. x86-64 GCC/Clang only. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#include "rt.h"

#define WINO512_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define WINO512_INLINE static inline __attribute__((always_inline)) WINO512_TARGET

RT_API void rt_act_avx512(float *y, int64_t n, int act, float alpha, float beta);

/* r[k * rs] = (B^T d)[k], d[k * s] for k < 6 */
WINO512_INLINE void wino512_bt(const __m512 *d, int s, __m512 *r, int rs)
{
    __m512 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
    __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f);
    __m512 two = _mm512_set1_ps(2.0f);
    __m512 t1 = _mm512_fnmadd_ps(four, d2, d4);             /* d4 - 4 d2 */
    __m512 t2 = _mm512_fnmadd_ps(four, d1, d3);             /* d3 - 4 d1 */
    __m512 t3 = _mm512_sub_ps(d4, d2);
    __m512 t4 = _mm512_mul_ps(two, _mm512_sub_ps(d3, d1));
    r[0] = _mm512_fmadd_ps(four, d0, _mm512_fnmadd_ps(five, d2, d4));
    r[rs] = _mm512_add_ps(t1, t2);
    r[2 * rs] = _mm512_sub_ps(t1, t2);
    r[3 * rs] = _mm512_add_ps(t3, t4);
    r[4 * rs] = _mm512_sub_ps(t3, t4);
    r[5 * rs] = _mm512_fmadd_ps(four, d1, _mm512_fnmadd_ps(five, d3, d5));
}

/* o[k * os] = (A^T m)[k], m[k * s] for k < 6, o for k < 4 */
WINO512_INLINE void wino512_at(const __m512 *m, int s, __m512 *o, int os)
{
    __m512 m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s], m4 = m[4 * s], m5 = m[5 * s];
    __m512 a = _mm512_add_ps(m1, m2), b = _mm512_sub_ps(m1, m2);
    __m512 c = _mm512_add_ps(m3, m4), d = _mm512_sub_ps(m3, m4);
    o[0] = _mm512_add_ps(_mm512_add_ps(m0, a), c);
    o[os] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d, b);
    o[2 * os] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), c, a);
    o[3 * os] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d, b), m5);
}

/* V = B^T d B of the 36 vectors d (a 6x6 tile a lane, row-major), stored at v + e *
 * estride under mask; r is scratch. */
WINO512_INLINE void wino512_input_out(__m512 *d, __m512 *r, float *v, int64_t estride,
                                      __mmask16 mask)
{
    int i, j;
    #pragma GCC unroll 6
    for (j = 0; j < 6; j++)
        wino512_bt(d + j, 6, r + j, 6);
    #pragma GCC unroll 6
    for (i = 0; i < 6; i++)
        wino512_bt(r + i * 6, 1, d + i * 6, 1);
    #pragma GCC unroll 36
    for (i = 0; i < 36; i++)
        _mm512_mask_storeu_ps(v + i * estride, mask, d[i]);
}

/* o[4i + c] = (A^T q A)[i][c] of the 36 products q (6x6, row-major); r is scratch. */
WINO512_INLINE void wino512_output_in(const __m512 *q, __m512 *r, __m512 *o)
{
    int i, j;
    #pragma GCC unroll 6
    for (j = 0; j < 6; j++)
        wino512_at(q + j, 6, r + j, 6);
    #pragma GCC unroll 4
    for (i = 0; i < 4; i++)
        wino512_at(r + i * 6, 1, o + i * 4, 1);
}

/* Lanes l of the 16 floats from column c0 whose column lies in [0, w). */
WINO512_INLINE __mmask16 wino512_inside(int64_t c0, int64_t w)
{
    int64_t lo = c0 >= 0 ? 0 : -c0, hi = w - c0;
    uint32_t m;
    if (hi > 16)
        hi = 16;
    if (lo >= 16 || hi <= lo)
        return 0;
    m = (hi >= 16 ? 0xFFFFu : (1u << hi) - 1) & ~((1u << lo) - 1);
    return (__mmask16)m;
}

/* The six columns of one input row the 16 tiles need: d[j * s], lane t = row[4t + j].
 * Five whole-vector loads (masked at the image's edges) and stride-4 permutes, in place of
 * six gathers, which cost a load per lane. */
WINO512_INLINE void wino512_row(const float *row, int64_t c0, int64_t w, __m512 *d, int s)
{
    /* lanes 0-7 from (v0, v1) and 8-15 from (v2, v3): elements 4t + j */
    const __m512i p0 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24,
                                         28);
    __m512 v[5];
    int k, j;
    #pragma GCC unroll 5
    for (k = 0; k < 5; k++)
        v[k] = _mm512_maskz_loadu_ps(wino512_inside(c0 + 16 * k, w), row + 16 * k);
    #pragma GCC unroll 4
    for (j = 0; j < 4; j++) {
        __m512i idx = _mm512_add_epi32(p0, _mm512_set1_epi32(j));
        __m512 lo = _mm512_permutex2var_ps(v[0], idx, v[1]);
        __m512 hi = _mm512_permutex2var_ps(v[2], idx, v[3]);
        d[j * s] = _mm512_mask_blend_ps(0xFF00, lo, hi);
    }
    /* columns 4 and 5 are columns 0 and 1 of the next tile: shifted a lane, v4 appended */
    d[4 * s] = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(v[4]),
                                                       _mm512_castps_si512(d[0]), 1));
    d[5 * s] = _mm512_castsi512_ps(_mm512_alignr_epi32(
        _mm512_alignr_epi32(_mm512_castps_si512(v[4]), _mm512_castps_si512(v[4]), 1),
        _mm512_castps_si512(d[s]), 1));
}

/* V[e * estride + t] = (B^T d_t B)[e] for the ntiles tiles of one tile row of one channel
 * plane; tile t's input window starts at row iy0, column ix0 + 4t. */
WINO512_TARGET RT_API void rt_wino_input_avx512(const float *x, int64_t h, int64_t w,
                                                int64_t iy0, int64_t ix0, int64_t ntiles,
                                                float *v, int64_t estride)
{
    int64_t t0;
    for (t0 = 0; t0 < ntiles; t0 += 16) {
        int64_t nq = ntiles - t0 < 16 ? ntiles - t0 : 16, c0 = ix0 + 4 * t0;
        __mmask16 all = (__mmask16)((1u << nq) - 1);
        __m512 d[36], r[36];
        int i, j;
        #pragma GCC unroll 6
        for (i = 0; i < 6; i++) {
            int64_t iy = iy0 + i;
            if (iy < 0 || iy >= h) {
                #pragma GCC unroll 6
                for (j = 0; j < 6; j++)
                    d[i * 6 + j] = _mm512_setzero_ps();
                continue;
            }
            wino512_row(x + iy * w + c0, c0, w, d + i * 6, 1);
        }
        wino512_input_out(d, r, v + t0, estride, all);
    }
}

/* Planes of five to eight tiles a row (28x28, 27x27): two tile rows a vector, tile t of
 * row r in lane r * ntiles + t (the second row's taps expanded in above the first's), so
 * that the transform and its 36 stores serve 14 tiles rather than 7. nrows <= 2; V as
 * rt_wino_input_avx512's, the rows' tiles consecutive. */
WINO512_TARGET RT_API void rt_wino_input2_avx512(const float *x, int64_t h, int64_t w,
                                                 int64_t iy0, int64_t ix0, int64_t ntiles,
                                                 int64_t nrows, float *v, int64_t estride)
{
    const __mmask16 upper = (__mmask16)(((1u << ntiles) - 1) << ntiles);
    const __mmask16 all = (__mmask16)((1u << (ntiles * nrows)) - 1);
    __m512 d[36], e[6], r[36];
    int i, j;
    #pragma GCC unroll 6
    for (i = 0; i < 6; i++) {
        int64_t iy = iy0 + i, iy1 = iy0 + 4 + i;
        if (iy >= 0 && iy < h) {
            wino512_row(x + iy * w + ix0, ix0, w, d + i * 6, 1);
        } else {
            #pragma GCC unroll 6
            for (j = 0; j < 6; j++)
                d[i * 6 + j] = _mm512_setzero_ps();
        }
        if (nrows < 2)
            continue;
        if (iy1 >= 0 && iy1 < h) {
            wino512_row(x + iy1 * w + ix0, ix0, w, e, 1);
        } else {
            #pragma GCC unroll 6
            for (j = 0; j < 6; j++)
                e[j] = _mm512_setzero_ps();
        }
        #pragma GCC unroll 6
        for (j = 0; j < 6; j++)
            d[i * 6 + j] = _mm512_mask_expand_ps(d[i * 6 + j], upper, e[j]);
    }
    wino512_input_out(d, r, v, estride, all);
}

/* Planes of at most four tiles a row (14x14, 13x13): four tile rows a vector, tile t of
 * row r in lane 4r + t, where one row a vector would fill 4 lanes of 16. Each input row
 * is two masked loads (columns 0-15 and 2-17 of its four tiles), and the six columns of
 * the four rows come out of two permutes and a blend each, in place of five loads and
 * eleven shuffles a row for four tiles (ResNet's 14x14 layers: the transform 3x faster).
 * ntiles <= 4 tiles a row, nrows <= 4 rows from iy0 (then 4 input rows apart); V as
 * rt_wino_input_avx512's, the rows' tiles consecutive (tile r * ntiles + t). */
WINO512_TARGET RT_API void rt_wino_input4_avx512(const float *x, int64_t h, int64_t w,
                                                 int64_t iy0, int64_t ix0, int64_t ntiles,
                                                 int64_t nrows, float *v, int64_t estride)
{
    /* lane 4r + t of (rows r = 0, 1) and (r = 2, 3): column 4t + j of its row's vector */
    const __m512i pick = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20,
                                           24, 28);
    const __mmask16 a = wino512_inside(ix0, w), b = wino512_inside(ix0 + 2, w);
    __mmask16 all = 0;
    __m512 d[36], r[36];
    int i, j, k;
    for (k = 0; k < nrows; k++)
        all |= (__mmask16)(((1u << ntiles) - 1) << (4 * k));
    #pragma GCC unroll 6
    for (i = 0; i < 6; i++) {
        __m512 lo[4], hi[4];        /* columns 0-15 and 2-17 of the tiles of row r */
        #pragma GCC unroll 4
        for (k = 0; k < 4; k++) {
            int64_t iy = iy0 + 4 * k + i;
            const float *row = x + iy * w + ix0;
            int inside = k < nrows && iy >= 0 && iy < h;
            lo[k] = inside ? _mm512_maskz_loadu_ps(a, row) : _mm512_setzero_ps();
            hi[k] = inside ? _mm512_maskz_loadu_ps(b, row + 2) : _mm512_setzero_ps();
        }
        #pragma GCC unroll 6
        for (j = 0; j < 6; j++) {
            __m512i idx = _mm512_add_epi32(pick, _mm512_set1_epi32(j < 4 ? j : j - 2));
            const __m512 *src = j < 4 ? lo : hi;
            __m512 r01 = _mm512_permutex2var_ps(src[0], idx, src[1]);
            __m512 r23 = _mm512_permutex2var_ps(src[2], idx, src[3]);
            /* lanes 0-3 row 0, 4-7 row 1 (its vector is the second source: +16) */
            d[i * 6 + j] = _mm512_mask_blend_ps(0xFF00, r01, r23);
        }
    }
    if (ntiles < 4) {       /* the lanes of row r squeezed to r * ntiles + t */
        #pragma GCC unroll 36
        for (i = 0; i < 36; i++)
            d[i] = _mm512_maskz_compress_ps(all, d[i]);
        all = (__mmask16)((1u << (ntiles * nrows)) - 1);
    }
    wino512_input_out(d, r, v, estride, all);
}

/* (rt_wino_output_avx512's store) The four output rows oy0.. of 16 tiles from their
 * columns o[4i + c] (lane t: tile t), plus bias and residual, activated, stored at columns
 * x0 + 4t... of each row. */
WINO512_INLINE void wino512_rows_out(const __m512 *o, float bias, const float *res, float *y,
                                     int64_t oh, int64_t ow, int64_t oy0, int64_t x0, int act,
                                     float alpha, float beta)
{
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7,
                                         23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                         15, 31);
    int i, k;
    #pragma GCC unroll 4
    for (i = 0; i < 4; i++) {
        int64_t oy = oy0 + i;
        __m512 a02l, a02h, a13l, a13h, out[4];
        float *yr = y + oy * ow;
        if (oy >= oh)
            break;
        a02l = _mm512_permutex2var_ps(o[i * 4], lo, o[i * 4 + 2]);
        a02h = _mm512_permutex2var_ps(o[i * 4], hi, o[i * 4 + 2]);
        a13l = _mm512_permutex2var_ps(o[i * 4 + 1], lo, o[i * 4 + 3]);
        a13h = _mm512_permutex2var_ps(o[i * 4 + 1], hi, o[i * 4 + 3]);
        out[0] = _mm512_permutex2var_ps(a02l, lo, a13l);
        out[1] = _mm512_permutex2var_ps(a02l, hi, a13l);
        out[2] = _mm512_permutex2var_ps(a02h, lo, a13h);
        out[3] = _mm512_permutex2var_ps(a02h, hi, a13h);
        #pragma GCC unroll 4
        for (k = 0; k < 4; k++) {
            int64_t xs = x0 + 16 * k, cnt = ow - xs;
            __mmask16 sm;
            __m512 val = _mm512_add_ps(out[k], _mm512_set1_ps(bias));
            if (cnt <= 0)
                break;
            sm = cnt >= 16 ? 0xFFFF : (__mmask16)((1u << cnt) - 1);
            if (res)
                val = _mm512_add_ps(val, _mm512_maskz_loadu_ps(sm, res + oy * ow + xs));
            if (act == RT_ACT_RELU)
                val = _mm512_max_ps(val, _mm512_setzero_ps());
            else if (act == RT_ACT_CLIP)
                val = _mm512_min_ps(_mm512_max_ps(val, _mm512_set1_ps(alpha)),
                                    _mm512_set1_ps(beta));
            _mm512_mask_storeu_ps(yr + xs, sm, val);
            if (act != RT_ACT_NONE && act != RT_ACT_RELU && act != RT_ACT_CLIP)
                rt_act_avx512(yr + xs, cnt < 16 ? cnt : 16, act, alpha, beta);
        }
    }
}

/* Y = A^T M A for the ntiles tiles of one tile row of one output plane, plus bias and
 * residual, activated, stored at rows oy0.., columns ox0 + 4t... */
WINO512_TARGET RT_API void rt_wino_output_avx512(const float *m, int64_t estride,
                                                 int64_t ntiles, float bias, const float *res,
                                                 float *y, int64_t oh, int64_t ow, int64_t oy0,
                                                 int64_t ox0, int act, float alpha, float beta)
{
    int64_t t0;
    for (t0 = 0; t0 < ntiles; t0 += 16) {
        int64_t nq = ntiles - t0 < 16 ? ntiles - t0 : 16;
        __mmask16 all = (__mmask16)((1u << nq) - 1);
        __m512 q[36], r[24], o[16];
        int i;
        #pragma GCC unroll 36
        for (i = 0; i < 36; i++)
            q[i] = _mm512_maskz_loadu_ps(all, m + i * estride + t0);
        wino512_output_in(q, r, o);
        wino512_rows_out(o, bias, res, y, oh, ow, oy0, ox0 + 4 * t0, act, alpha, beta);
    }
}

/* The output side of rt_wino_input2_avx512: nrows <= 2 tile rows of ntiles <= 8 tiles
 * (products consecutive, tile r * ntiles + t) transformed together; the second row's
 * tiles are then moved down to lanes 0.. for its store. */
WINO512_TARGET RT_API void rt_wino_output2_avx512(const float *m, int64_t estride,
                                                  int64_t ntiles, int64_t nrows, float bias,
                                                  const float *res, float *y, int64_t oh,
                                                  int64_t ow, int64_t oy0, int act,
                                                  float alpha, float beta)
{
    const __mmask16 upper = (__mmask16)(((1u << ntiles) - 1) << ntiles);
    const __mmask16 all = (__mmask16)((1u << (ntiles * nrows)) - 1);
    __m512 q[36], r[24], o[16];
    int i;
    #pragma GCC unroll 36
    for (i = 0; i < 36; i++)
        q[i] = _mm512_maskz_loadu_ps(all, m + i * estride);
    wino512_output_in(q, r, o);
    /* the first row's stores end at ow, before the second row's lanes */
    wino512_rows_out(o, bias, res, y, oh, ow, oy0, 0, act, alpha, beta);
    if (nrows < 2)
        return;
    #pragma GCC unroll 16
    for (i = 0; i < 16; i++)
        o[i] = _mm512_maskz_compress_ps(upper, o[i]);
    wino512_rows_out(o, bias, res, y, oh, ow, oy0 + 4, 0, act, alpha, beta);
}

/* The output side of rt_wino_input4_avx512: nrows <= 4 tile rows of ntiles <= 4 tiles
 * (products consecutive, tile r * ntiles + t, moved to lane 4r + t), transformed together;
 * each output row of a tile row then comes from a 4x4 transpose within each 128-bit lane
 * (tile t's four columns of row i) and one across them (the four tiles side by side). */
WINO512_TARGET RT_API void rt_wino_output4_avx512(const float *m, int64_t estride,
                                                  int64_t ntiles, int64_t nrows, float bias,
                                                  const float *res, float *y, int64_t oh,
                                                  int64_t ow, int64_t oy0, int act,
                                                  float alpha, float beta)
{
    __mmask16 spread = 0, sm = (__mmask16)(ow >= 16 ? 0xFFFF : (1u << ow) - 1);
    __mmask16 packed = (__mmask16)((1u << (ntiles * nrows)) - 1);
    const __m512 vb = _mm512_set1_ps(bias);
    __m512 q[36], r[24], o[16];
    int i, k;
    for (k = 0; k < nrows; k++)
        spread |= (__mmask16)(((1u << ntiles) - 1) << (4 * k));
    #pragma GCC unroll 36
    for (i = 0; i < 36; i++) {
        q[i] = _mm512_maskz_loadu_ps(packed, m + i * estride);
        if (ntiles < 4)
            q[i] = _mm512_maskz_expand_ps(spread, q[i]);
    }
    wino512_output_in(q, r, o);
    #pragma GCC unroll 4
    for (i = 0; i < 4; i++) {
        /* o[4i + c], lane 4r + t: row i, column c of tile t of tile row r */
        __m512 a = _mm512_unpacklo_ps(o[i * 4], o[i * 4 + 1]);
        __m512 b = _mm512_unpackhi_ps(o[i * 4], o[i * 4 + 1]);
        __m512 c = _mm512_unpacklo_ps(o[i * 4 + 2], o[i * 4 + 3]);
        __m512 d = _mm512_unpackhi_ps(o[i * 4 + 2], o[i * 4 + 3]);
        __m512 t[4], u0, u1, u2, u3;
        t[0] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(c)));
        t[1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(c)));
        t[2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(b), _mm512_castps_pd(d)));
        t[3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(b), _mm512_castps_pd(d)));
        /* t[k], lane block r: tile k's four columns; now the blocks across the t[k] */
        u0 = _mm512_shuffle_f32x4(t[0], t[1], 0x44);    /* t0.r0 t0.r1 t1.r0 t1.r1 */
        u1 = _mm512_shuffle_f32x4(t[2], t[3], 0x44);
        u2 = _mm512_shuffle_f32x4(t[0], t[1], 0xEE);    /* rows 2 and 3 */
        u3 = _mm512_shuffle_f32x4(t[2], t[3], 0xEE);
        t[0] = _mm512_shuffle_f32x4(u0, u1, 0x88);      /* tile row 0: t0 t1 t2 t3 */
        t[1] = _mm512_shuffle_f32x4(u0, u1, 0xDD);
        t[2] = _mm512_shuffle_f32x4(u2, u3, 0x88);
        t[3] = _mm512_shuffle_f32x4(u2, u3, 0xDD);
        #pragma GCC unroll 4
        for (k = 0; k < 4; k++) {
            int64_t oy = oy0 + 4 * k + i;
            float *yr = y + oy * ow;
            __m512 val = _mm512_add_ps(t[k], vb);
            if (k >= nrows || oy >= oh)
                break;
            if (res)
                val = _mm512_add_ps(val, _mm512_maskz_loadu_ps(sm, res + oy * ow));
            if (act == RT_ACT_RELU)
                val = _mm512_max_ps(val, _mm512_setzero_ps());
            else if (act == RT_ACT_CLIP)
                val = _mm512_min_ps(_mm512_max_ps(val, _mm512_set1_ps(alpha)),
                                    _mm512_set1_ps(beta));
            _mm512_mask_storeu_ps(yr, sm, val);
            if (act != RT_ACT_NONE && act != RT_ACT_RELU && act != RT_ACT_CLIP)
                rt_act_avx512(yr, ow < 16 ? ow : 16, act, alpha, beta);
        }
    }
}
#endif
