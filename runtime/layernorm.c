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
