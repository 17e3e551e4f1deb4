/* Normalizations: BatchNormalization (inference), LRN, Softmax and LogSoftmax. */
#include <math.h>
#include "rt.h"

/* t: y x scale bias mean var; p: N C HW; f: epsilon */
RT_API void rt_batchnorm_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1], *scale = t[2], *bias = t[3], *mean = t[4], *var = t[5];
    int64_t n = p[0], c = p[1], hw = p[2], i;
    #pragma omp parallel for if (n * c * hw > 65536) schedule(static)
    for (i = 0; i < n * c; i++) {
        int64_t ch = i % c, j;
        float s = scale[ch] / sqrtf(var[ch] + f[0]), sh = bias[ch] - mean[ch] * s;
        for (j = 0; j < hw; j++)
            y[i * hw + j] = x[i * hw + j] * s + sh;
    }
}

/* Across channels: y = x / (bias + alpha/size * sum of x^2 over the window)^beta.
 * t: y x; p: N C HW size; f: alpha beta bias */
RT_API void rt_lrn_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1];
    int64_t n = p[0], c = p[1], hw = p[2], size = p[3], i;
    int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
    float alpha = f[0], beta = f[1], bias = f[2];
    #pragma omp parallel for schedule(static)
    for (i = 0; i < n * c; i++) {
        int64_t b = i / c, ch = i % c, j, k;
        int64_t k0 = ch - lo < 0 ? 0 : ch - lo, k1 = ch + hi >= c ? c - 1 : ch + hi;
        for (j = 0; j < hw; j++) {
            float s = 0.0f;
            for (k = k0; k <= k1; k++) {
                float v = x[(b * c + k) * hw + j];
                s += v * v;
            }
            y[i * hw + j] = x[i * hw + j] / powf(bias + alpha / (float)size * s, beta);
        }
    }
}

/* Along an axis of length n, with `inner` elements between neighbours on that axis.
 * t: y x; p: outer n inner log */
RT_API void rt_softmax_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1];
    int64_t outer = p[0], n = p[1], inner = p[2], o;
    int take_log = (int)p[3];
    (void)f;
    #pragma omp parallel for if (outer * n * inner > 65536) schedule(static)
    for (o = 0; o < outer * inner; o++) {
        int64_t base = (o / inner) * n * inner + o % inner, j;
        float m = -INFINITY, s = 0.0f;
        for (j = 0; j < n; j++)
            m = x[base + j * inner] > m ? x[base + j * inner] : m;
        for (j = 0; j < n; j++) {
            float e = expf(x[base + j * inner] - m);
            y[base + j * inner] = e;
            s += e;
        }
        for (j = 0; j < n; j++)
            y[base + j * inner] = take_log ? x[base + j * inner] - m - logf(s)
                                           : y[base + j * inner] / s;
    }
}
