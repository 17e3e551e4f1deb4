/* Resize and Upsample: nearest, (multi-)linear and cubic on any rank, as ONNX's reference
 * computes them. Each output coordinate maps to a source coordinate x by the coordinate
 * transformation mode; the taps are the 1, 2 or 4 input elements around x with their
 * weights (indices clamped to the edge, or dropped and renormalized with exclude_outside);
 * an N-D output element is the weighted sum over the product of each axis' taps. */
#include <math.h>
#include <string.h>
#include "rt.h"

/* The source coordinate of output index x along one axis; *outside for tf_crop_and_resize
 * beyond the input (the result is then the extrapolation value). */
static double resize_source(RtResizeCoord mode, int64_t x, double scale, int64_t in,
                            double roi0, double roi1, int *outside)
{
    double out_len = scale * (double)in, s = 0.0;
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
    case RT_RESIZE_TF_CROP_AND_RESIZE:
        s = out_len == 1.0 ? (roi1 - roi0) * (double)(in - 1) / 2.0
                           : (double)x * (roi1 - roi0) * (double)(in - 1) / (out_len - 1.0);
        s += roi0 * (double)(in - 1);
        *outside |= s < 0.0 || s > (double)(in - 1);
        return s;
    }
    return 0.0;
}

static void cubic_weights(double r, double a, double *w)
{
    double r1 = r + 1.0, q = 1.0 - r, q1 = q + 1.0;
    w[0] = ((a * r1 - 5.0 * a) * r1 + 8.0 * a) * r1 - 4.0 * a;
    w[1] = ((a + 2.0) * r - (a + 3.0)) * r * r + 1.0;
    w[2] = ((a + 2.0) * q - (a + 3.0)) * q * q + 1.0;
    w[3] = ((a * q1 - 5.0 * a) * q1 + 8.0 * a) * q1 - 4.0 * a;
}

/* The nonzero taps of source coordinate s on an axis of length n: count, indices, weights. */
static int resize_taps(double s, int64_t n, int mode, RtResizeNearest near, int exclude,
                       double a, int64_t *idx, double *w)
{
    /* the tap left of s, and s's distance from it in (0, 1] (the reference's convention) */
    double fl = floor(s), r = s - fl;
    int64_t base = (int64_t)fl;
    double all[4];
    int first, k, m = 0;
    if (r == 0.0) {
        r = 1.0;
        base -= 1;
    }
    if (mode == 0) {            /* nearest: one of base, base + 1 */
        int up = r == 1.0 ? 1 : near == RT_NEAREST_FLOOR ? 0 : near == RT_NEAREST_CEIL ? 1
               : near == RT_NEAREST_ROUND_PREFER_CEIL ? r >= 0.5 : r > 0.5;
        all[0] = !up; all[1] = up;
        first = 0; k = 2;
    } else if (mode == 1) {
        all[0] = 1.0 - r; all[1] = r;
        first = 0; k = 2;
    } else {
        cubic_weights(r, a, all);
        first = -1; k = 4;
    }
    double sum = 0.0;
    for (int i = 0; i < k; i++) {
        int64_t j = base + first + i;
        if (exclude && (j < 0 || j >= n))
            continue;
        idx[m] = j < 0 ? 0 : j >= n ? n - 1 : j;
        w[m] = all[i];
        sum += all[i];
        m++;
    }
    if (exclude && sum != 0.0)
        for (int i = 0; i < m; i++)
            w[i] /= sum;
    return m;
}

/* t: y x; p: rank mode(0 nearest, 1 linear, 2 cubic) coord nearest exclude_outside
 * in_dims[rank] out_dims[rank] scale_bits[rank] roi_start_bits[rank] roi_end_bits[rank]
 * (doubles' bit patterns: the exact values the compiler resolved); f: cubic_a extrapolation */
RT_API void rt_resize_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1];
    int rank = (int)p[0], mode = (int)p[1], exclude = (int)p[4], d;
    RtResizeCoord coord = (RtResizeCoord)p[2];
    RtResizeNearest near = (RtResizeNearest)p[3];
    const int64_t *in = p + 5, *out = p + 5 + rank;
    double scale[RT_MAX_RANK], roi0[RT_MAX_RANK], roi1[RT_MAX_RANK];
    int64_t stride[RT_MAX_RANK], n = 1, i;
    for (d = 0; d < rank; d++) {
        memcpy(&scale[d], &p[5 + 2 * rank + d], sizeof(double));
        memcpy(&roi0[d], &p[5 + 3 * rank + d], sizeof(double));
        memcpy(&roi1[d], &p[5 + 4 * rank + d], sizeof(double));
        n *= out[d];
    }
    if (rank == 0) {            /* a scalar resizes to itself */
        y[0] = x[0];
        return;
    }
    for (d = rank - 1, stride[rank - 1] = 1; d > 0; d--)
        stride[d - 1] = stride[d] * in[d];
    #pragma omp parallel for if (n > 16384) schedule(static)
    for (i = 0; i < n; i++) {
        int64_t idx[RT_MAX_RANK][4], rem = i, pick[RT_MAX_RANK] = {0};
        double w[RT_MAX_RANK][4], acc = 0.0;
        int k[RT_MAX_RANK], outside = 0, e;
        for (e = rank - 1; e >= 0; e--) {
            int64_t o = rem % out[e];
            rem /= out[e];
            double s = resize_source(coord, o, scale[e], in[e], roi0[e], roi1[e], &outside);
            k[e] = resize_taps(s, in[e], mode, near, exclude, f[0], idx[e], w[e]);
        }
        if (outside) {
            y[i] = f[1];
            continue;
        }
        for (;;) {              /* every combination of one tap per axis */
            double wt = 1.0;
            int64_t off = 0;
            for (e = 0; e < rank; e++) {
                wt *= w[e][pick[e]];
                off += idx[e][pick[e]] * stride[e];
            }
            acc += wt * x[off];
            for (e = rank - 1; e >= 0 && ++pick[e] == k[e]; e--)
                pick[e] = 0;
            if (e < 0)
                break;
        }
        y[i] = (float)acc;
    }
}
