/* Pooling over NCHW tensors: max, average (with ONNX's count_include_pad rule) and global. */
#include <float.h>
#include <stdlib.h>
#include "rt.h"

/* p: N C H W OH OW KH KW SH SW PT PL PB PR DH DW count_include_pad */
#define POOL_PARAMS \
    int64_t nc = p[0] * p[1], h = p[2], w = p[3], oh = p[4], ow = p[5], kh = p[6], \
            kw = p[7], sh = p[8], sw = p[9], pt = p[10], pl = p[11], pb = p[12], pr = p[13], \
            dh = p[14], dw = p[15], i

#if defined(__GNUC__) && defined(__x86_64__)
RT_API int rt_maxpool_avx512_ok(const int64_t *p);
RT_API size_t rt_maxpool_scratch_avx512(const int64_t *p);
RT_API void rt_maxpool_scratch_init_avx512(const int64_t *p, float *scratch);
RT_API void rt_maxpool_plane_avx512(const int64_t *p, const float *x, float *y, float *scratch);
RT_API int rt_maxpool16_ok(const int64_t *p);
RT_API size_t rt_maxpool16_scratch(const int64_t *p);
RT_API void rt_maxpool16_scratch_init(const int64_t *p, float *scratch);
RT_API void rt_maxpool16_block_avx512(const int64_t *p, const float *x, float *y, int64_t c0,
                                      float *scratch);
RT_API int rt_maxpool_rows_ok(const int64_t *p);
RT_API size_t rt_maxpool_rows_scratch(const int64_t *p);
RT_API void rt_maxpool_rows_avx512(const int64_t *p, const float *x, float *y, float *scratch);
#endif

#define POOL_STACK_FLOATS 20480   /* 80 KiB: a 112x112 plane, its border and table */

RT_API void rt_maxpool_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1];
    POOL_PARAMS;
    (void)f; (void)pb; (void)pr;
#if defined(__GNUC__) && defined(__x86_64__)
    if (rt_cpu_isa() >= 2 && w <= 40 && rt_maxpool16_ok(p)) {  /* small planes: 16 at a time */
        int64_t nblk = (p[1] + 15) / 16, next = 0;
        size_t scratch = rt_maxpool16_scratch(p);
        int failed = 0;
        #pragma omp parallel if (nc * oh * ow > 16384)
        {
            float *buf = malloc(scratch * sizeof(float));
            int64_t task;
            if (buf)
                rt_maxpool16_scratch_init(p, buf);
            else {
                #pragma omp atomic write
                failed = 1;     /* then the plane loops below do every plane */
            }
            while ((task = rt_claim(&next, 1)) < p[0] * nblk)
                if (buf)
                    rt_maxpool16_block_avx512(p, x + task / nblk * p[1] * h * w,
                                              y + task / nblk * p[1] * oh * ow,
                                              task % nblk * 16, buf);
            free(buf);
        }
        if (!failed)
            return;
    }
    if (rt_cpu_isa() >= 2 && rt_maxpool_avx512_ok(p)) {    /* runtime/pool_avx512.c */
        /* Planes wider than 40 columns row by row, straight from the input (SqueezeNet's
         * 111x111 3x3 pool 0.115 -> 0.079 ms, VGG's 224x224 2x2 0.52 -> 0.22); the
         * narrower ones not taken above through a bordered copy of each plane. */
        int rows = w > 40 && rt_maxpool_rows_ok(p), failed = 0;
        size_t scratch = rows ? rt_maxpool_rows_scratch(p) : rt_maxpool_scratch_avx512(p);
        #pragma omp parallel if (nc * oh * ow > 16384)
        {
            /* on the stack when it fits: a fresh heap block would page-fault every call */
            float local[POOL_STACK_FLOATS];
            float *heap = scratch > POOL_STACK_FLOATS ? malloc(scratch * sizeof(float)) : NULL;
            float *buf = scratch > POOL_STACK_FLOATS ? heap : local;
            if (buf && !rows)
                rt_maxpool_scratch_init_avx512(p, buf);
            if (!buf) {
                #pragma omp atomic write
                failed = 1;     /* then the portable loop below does every plane */
            }
            #pragma omp for schedule(static)
            for (i = 0; i < nc; i++)
                if (buf && rows)
                    rt_maxpool_rows_avx512(p, x + i * h * w, y + i * oh * ow, buf);
                else if (buf)
                    rt_maxpool_plane_avx512(p, x + i * h * w, y + i * oh * ow, buf);
            free(heap);
        }
        if (!failed)
            return;
    }
#endif
    #pragma omp parallel for schedule(static)
    for (i = 0; i < nc; i++) {
        const float *src = x + i * h * w;
        float *dst = y + i * oh * ow;
        int64_t oy, ox, ki, kj;
        for (oy = 0; oy < oh; oy++) {
            for (ox = 0; ox < ow; ox++) {
                float m = -FLT_MAX;
                for (ki = 0; ki < kh; ki++) {
                    int64_t iy = oy * sh - pt + ki * dh;
                    if (iy < 0 || iy >= h)
                        continue;
                    for (kj = 0; kj < kw; kj++) {
                        int64_t ix = ox * sw - pl + kj * dw;
                        if (ix >= 0 && ix < w && src[iy * w + ix] > m)
                            m = src[iy * w + ix];
                    }
                }
                dst[oy * ow + ox] = m;
            }
        }
    }
}

/* Dilated windows (AveragePool-19): taps that fall in the padded input count toward the
 * divisor when padding counts, taps in the input itself otherwise. */
static void avgpool_dilated(float *y, const float *x, const int64_t *p)
{
    int include_pad = (int)p[16];
    POOL_PARAMS;
    #pragma omp parallel for schedule(static)
    for (i = 0; i < nc; i++) {
        const float *src = x + i * h * w;
        float *dst = y + i * oh * ow;
        int64_t oy, ox, ki, kj;
        for (oy = 0; oy < oh; oy++)
            for (ox = 0; ox < ow; ox++) {
                float s = 0.0f;
                int64_t count = 0;
                for (ki = 0; ki < kh; ki++) {
                    int64_t iy = oy * sh - pt + ki * dh;
                    for (kj = 0; kj < kw; kj++) {
                        int64_t ix = ox * sw - pl + kj * dw;
                        int inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                        int padded = iy >= -pt && iy < h + pb && ix >= -pl && ix < w + pr;
                        if (inside)
                            s += src[iy * w + ix];
                        count += include_pad ? padded : inside;
                    }
                }
                dst[oy * ow + ox] = count > 0 ? s / (float)count : 0.0f;
            }
    }
}

/* Every window inside the input (no padding, no ceil-mode overhang) has the same divisor:
 * then the pooling is a depthwise convolution with weights 1 / (kh kw), which has
 * vectorized kernels (DenseNet's three 2x2 transitions 0.47 -> 0.12 ms). 0 when it does
 * not apply or memory cannot be had. */
static int avgpool_as_depthwise(float *y, const float *x, const int64_t *p)
{
    int64_t n = p[0], c = p[1], h = p[2], w = p[3], oh = p[4], ow = p[5], kh = p[6];
    int64_t kw = p[7], sh = p[8], sw = p[9], i;
    int64_t conv[19] = { n, c, h, w, c, oh, ow, kh, kw, sh, sw, 0, 0, 1, 1, c, RT_ACT_NONE,
                         0, 0 };
    float f[4] = { 0 }, *wk;
    if (rt_cpu_isa() < 2 || p[10] || p[11] || p[12] || p[13] || (oh - 1) * sh + kh > h ||
        (ow - 1) * sw + kw > w || c < 2)
        return 0;
    wk = malloc((size_t)(c * kh * kw) * sizeof(float));
    if (!wk)
        return 0;
    for (i = 0; i < c * kh * kw; i++)
        wk[i] = 1.0f / (float)(kh * kw);
    rt_conv_f32((void *const[]){ y, (void *)x, wk, NULL, NULL, NULL, NULL, NULL }, conv, f);
    free(wk);
    return 1;
}

/* The window is first clipped to the padded input (ceil_mode can run past it), which gives
 * the divisor when padding counts; then to the input itself, which gives it otherwise. */
RT_API void rt_avgpool_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1];
    int include_pad = (int)p[16];
    POOL_PARAMS;
    (void)f;
    if (dh != 1 || dw != 1) {
        avgpool_dilated(y, x, p);
        return;
    }
    if (avgpool_as_depthwise(y, x, p))
        return;
    #pragma omp parallel for schedule(static)
    for (i = 0; i < nc; i++) {
        const float *src = x + i * h * w;
        float *dst = y + i * oh * ow;
        int64_t oy, ox, iy, ix;
        for (oy = 0; oy < oh; oy++) {
            int64_t y0 = oy * sh - pt, y1 = y0 + kh < h + pb ? y0 + kh : h + pb;
            for (ox = 0; ox < ow; ox++) {
                int64_t x0 = ox * sw - pl, x1 = x0 + kw < w + pr ? x0 + kw : w + pr;
                int64_t count = (y1 - y0) * (x1 - x0);
                int64_t cy0 = y0 < 0 ? 0 : y0, cy1 = y1 > h ? h : y1;
                int64_t cx0 = x0 < 0 ? 0 : x0, cx1 = x1 > w ? w : x1;
                float s = 0.0f;
                for (iy = cy0; iy < cy1; iy++)
                    for (ix = cx0; ix < cx1; ix++)
                        s += src[iy * w + ix];
                if (!include_pad)
                    count = (cy1 - cy0) * (cx1 - cx0);
                dst[oy * ow + ox] = count > 0 ? s / (float)count : 0.0f;
            }
        }
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
RT_API float rt_globalpool_plane_avx512(const float *x, int64_t n, int is_max);
#endif

/* t: y x; p: N*C HW is_max */
RT_API void rt_globalpool_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1];
    int64_t nc = p[0], hw = p[1], i;
    int is_max = (int)p[2], avx512 = rt_cpu_isa() >= 2;
    (void)f;
    #pragma omp parallel for if (nc * hw > 65536) schedule(static)
    for (i = 0; i < nc; i++) {
        const float *src = x + i * hw;
        int64_t j;
#if defined(__GNUC__) && defined(__x86_64__)
        if (avx512) {
            y[i] = rt_globalpool_plane_avx512(src, hw, is_max);
            continue;
        }
#else
        (void)avx512;
#endif
        if (is_max) {
            float m = -FLT_MAX;
            #pragma omp simd reduction(max:m)
            for (j = 0; j < hw; j++)
                m = src[j] > m ? src[j] : m;
            y[i] = m;
        } else {
            float s = 0.0f;
            #pragma omp simd reduction(+:s)     /* partial sums: faster, no less accurate */
            for (j = 0; j < hw; j++)
                s += src[j];
            y[i] = s / (float)hw;
        }
    }
}
