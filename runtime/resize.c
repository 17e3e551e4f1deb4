/* Resize and Upsample, nearest and (multi-)linear, on any rank: each output coordinate is
 * mapped to the input by the coordinate transformation mode, then rounded (nearest) or
 * interpolated between its two neighbours, indices clamped to the edge (ONNX's reference). */
#include <math.h>
#include <string.h>
#include "rt.h"

static double resize_source(RtResizeCoord mode, int64_t x, double scale, int64_t in)
{
    double out_len = scale * (double)in;
    switch (mode) {
    case RT_RESIZE_HALF_PIXEL:
        return ((double)x + 0.5) / scale - 0.5;
    case RT_RESIZE_PYTORCH_HALF_PIXEL:
        return out_len > 1.0 ? ((double)x + 0.5) / scale - 0.5 : -0.5;
    case RT_RESIZE_ALIGN_CORNERS:
        return out_len == 1.0 ? 0.0 : (double)x * (double)(in - 1) / (out_len - 1.0);
    case RT_RESIZE_ASYMMETRIC:
        return (double)x / scale;
    case RT_RESIZE_TF_HALF_PIXEL_NN:
        return ((double)x + 0.5) / scale;
    }
    return 0.0;
}

static int64_t clamp_index(int64_t i, int64_t n)
{
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/* t: y x; p: rank linear coord nearest in_dims[rank] out_dims[rank] scale_bits[rank]
 * (each scale a double's bit pattern: the exact value the compiler resolved) */
RT_API void rt_resize_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1];
    int rank = (int)p[0], linear = (int)p[1], d;
    RtResizeCoord coord = (RtResizeCoord)p[2];
    RtResizeNearest near = (RtResizeNearest)p[3];
    const int64_t *in = p + 4, *out = p + 4 + rank;
    double scale[RT_MAX_RANK];
    int64_t stride[RT_MAX_RANK], n = 1, i;
    (void)f;
    for (d = 0; d < rank; d++) {
        memcpy(&scale[d], &p[4 + 2 * rank + d], sizeof(double));
        n *= out[d];
    }
    for (d = rank - 1, stride[rank - 1] = 1; d > 0; d--)
        stride[d - 1] = stride[d] * in[d];
    #pragma omp parallel for if (n > 16384) schedule(static)
    for (i = 0; i < n; i++) {
        int64_t lo[RT_MAX_RANK], hi[RT_MAX_RANK], rem = i, corner;
        double w[RT_MAX_RANK], acc = 0.0;
        for (d = rank - 1; d >= 0; d--) {
            int64_t o = rem % out[d];
            rem /= out[d];
            double s = resize_source(coord, o, scale[d], in[d]);
            double fl = floor(s), r = s - fl;
            int64_t base = (int64_t)fl;
            if (!linear) {
                int up = r == 0.0 ? 0 : near == RT_NEAREST_FLOOR ? 0 : near == RT_NEAREST_CEIL ? 1
                       : near == RT_NEAREST_ROUND_PREFER_CEIL ? r >= 0.5 : r > 0.5;
                lo[d] = hi[d] = clamp_index(base + up, in[d]);
                w[d] = 0.0;
            } else {
                lo[d] = clamp_index(base, in[d]);
                hi[d] = clamp_index(base + 1, in[d]);
                w[d] = r;
            }
        }
        for (corner = 0; corner < ((int64_t)1 << rank); corner++) {
            double wt = 1.0;
            int64_t off = 0;
            for (d = 0; d < rank && wt != 0.0; d++) {
                int up = (int)(corner >> d & 1);
                wt *= up ? w[d] : 1.0 - w[d];
                off += (up ? hi[d] : lo[d]) * stride[d];
            }
            if (wt != 0.0)
                acc += wt * x[off];
        }
        y[i] = (float)acc;
    }
}
