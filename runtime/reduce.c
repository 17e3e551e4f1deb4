/* Reductions over any set of axes (ReduceMean, ReduceSum, ReduceMax, ReduceMin). The output
 * keeps the input's order of the remaining axes, so keepdims changes only its shape. */
#include <math.h>
#include "rt.h"

/* t: y x; p: mode rank dims[rank] reduced[rank] (1 on the axes reduced away) */
RT_API void rt_reduce_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1];
    RtReduce mode = (RtReduce)p[0];
    int rank = (int)p[1], d, nk = 0, nr = 0;
    const int64_t *dims = p + 2, *red = p + 2 + rank;
    int64_t stride[RT_MAX_RANK], kdim[RT_MAX_RANK], kstr[RT_MAX_RANK];
    int64_t rdim[RT_MAX_RANK], rstr[RT_MAX_RANK], nout = 1, nred = 1, o;
    (void)f;
    for (d = rank - 1, stride[rank > 0 ? rank - 1 : 0] = 1; d > 0; d--)
        stride[d - 1] = stride[d] * dims[d];
    for (d = 0; d < rank; d++) {
        if (red[d]) {
            rdim[nr] = dims[d];
            rstr[nr++] = stride[d];
            nred *= dims[d];
        } else {
            kdim[nk] = dims[d];
            kstr[nk++] = stride[d];
            nout *= dims[d];
        }
    }
    #pragma omp parallel for if (nout * nred > 65536) schedule(static)
    for (o = 0; o < nout; o++) {
        int64_t base = 0, rem = o, idx[RT_MAX_RANK] = {0}, off = 0, i;
        int k;
        double acc = mode == RT_REDUCE_MAX ? -INFINITY : mode == RT_REDUCE_MIN ? INFINITY : 0.0;
        for (k = nk - 1; k >= 0; k--) {
            base += rem % kdim[k] * kstr[k];
            rem /= kdim[k];
        }
        for (i = 0; i < nred; i++) {
            double v = x[base + off];
            if (mode == RT_REDUCE_MAX)
                acc = v > acc ? v : acc;
            else if (mode == RT_REDUCE_MIN)
                acc = v < acc ? v : acc;
            else
                acc += v;
            for (k = nr - 1; k >= 0; k--) {     /* next reduced coordinate */
                off += rstr[k];
                if (++idx[k] < rdim[k])
                    break;
                off -= rstr[k] * rdim[k];
                idx[k] = 0;
            }
        }
        y[o] = (float)(mode == RT_REDUCE_MEAN ? acc / (double)nred : acc);
    }
}
