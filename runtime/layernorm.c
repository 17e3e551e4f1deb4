/* LayerNormalization (opset 17): each row of n elements (the axes from `axis` on) is
 * normalized to zero mean and unit variance, then scaled and shifted. */
#include <math.h>
#include "rt.h"

/* t: y mean invstd (both optional: NULL) x scale bias(or NULL);
 * p: rows n scale_n bias_n (n, or 1 when broadcast); f: epsilon */
RT_API void rt_layernorm_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0], *mean_out = t[1], *inv_out = t[2];
    const float *x = t[3], *scale = t[4], *bias = t[5];
    int64_t rows = p[0], n = p[1], sn = p[2], bn = p[3], r;
    #pragma omp parallel for if (rows * n > 65536) schedule(static)
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        double sum = 0.0, sq = 0.0;
        int64_t i;
        for (i = 0; i < n; i++)
            sum += xr[i];
        float mean = (float)(sum / (double)n);
        for (i = 0; i < n; i++) {
            double c = (double)xr[i] - mean;
            sq += c * c;
        }
        float inv = (float)(1.0 / sqrt(sq / (double)n + f[0]));
        if (mean_out)
            mean_out[r] = mean;
        if (inv_out)
            inv_out[r] = inv;
        for (i = 0; i < n; i++) {
            float v = (xr[i] - mean) * inv * scale[sn == 1 ? 0 : i];
            yr[i] = bias ? v + bias[bn == 1 ? 0 : i] : v;
        }
    }
}

/* InstanceNormalization: each (image, channel) plane normalized over its hw elements, then
 * the channel's scale and bias. t: y x scale bias; p: N C HW; f: epsilon */
RT_API void rt_instancenorm_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1], *scale = t[2], *bias = t[3];
    int64_t c = p[1], hw = p[2], r;
    #pragma omp parallel for if (p[0] * c * hw > 65536) schedule(static)
    for (r = 0; r < p[0] * c; r++) {
        const float *xr = x + r * hw;
        double sum = 0.0, sq = 0.0;
        int64_t i;
        for (i = 0; i < hw; i++)
            sum += xr[i];
        double mean = sum / (double)hw;
        for (i = 0; i < hw; i++)
            sq += ((double)xr[i] - mean) * ((double)xr[i] - mean);
        float inv = (float)(1.0 / sqrt(sq / (double)hw + f[0])), m = (float)mean;
        float sc = scale[r % c] * inv, b = bias[r % c];
        for (i = 0; i < hw; i++)
            y[r * hw + i] = (xr[i] - m) * sc + b;
    }
}
