/* Broadcasting copies and selections: Expand and Tile (a copy with strides, 0 along
 * repeated axes, on elements of any size), Where, and the variadic Mean/Sum/Max/Min. */
#include <string.h>
#include "rt.h"

/* t: y x; p: rank esize out_dims[rank] in_strides[rank] (elements) */
RT_API void rt_broadcast(void *const *t, const int64_t *p, const float *f)
{
    char *y = t[0];
    const char *x = t[1];
    int rank = (int)p[0], d;
    int64_t esize = p[1], n = 1, i, idx[RT_MAX_RANK] = {0}, off = 0;
    const int64_t *dims = p + 2, *str = p + 2 + rank;
    (void)f;
    for (d = 0; d < rank; d++)
        n *= dims[d];
    for (i = 0; i < n; i++) {
        memcpy(y + i * esize, x + off * esize, (size_t)esize);
        for (d = rank - 1; d >= 0; d--) {
            off += str[d];
            if (++idx[d] < dims[d])
                break;
            off -= str[d] * dims[d];
            idx[d] = 0;
        }
    }
}

/* t: y cond(uint8) a b; p: rank dims[rank] cstr[rank] astr[rank] bstr[rank] */
RT_API void rt_where_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const unsigned char *c = t[1];
    const float *a = t[2], *b = t[3];
    int rank = (int)p[0], d;
    const int64_t *dims = p + 1, *cs = p + 1 + rank, *as = p + 1 + 2 * rank;
    const int64_t *bs = p + 1 + 3 * rank;
    int64_t n = 1, i, idx[RT_MAX_RANK] = {0}, co = 0, ao = 0, bo = 0;
    (void)f;
    for (d = 0; d < rank; d++)
        n *= dims[d];
    for (i = 0; i < n; i++) {
        y[i] = c[co] ? a[ao] : b[bo];
        for (d = rank - 1; d >= 0; d--) {
            co += cs[d]; ao += as[d]; bo += bs[d];
            if (++idx[d] < dims[d])
                break;
            co -= cs[d] * dims[d]; ao -= as[d] * dims[d]; bo -= bs[d] * dims[d];
            idx[d] = 0;
        }
    }
}

/* t: y x0 .. x(k-1); p: op k rank dims[rank] strides[k][rank] (elements, 0 if broadcast) */
RT_API void rt_nary_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    RtReduce op = (RtReduce)p[0];
    int64_t k = p[1], n = 1, i, j;
    int rank = (int)p[2], d;
    const int64_t *dims = p + 3, *str = p + 3 + rank;
    (void)f;
    for (d = 0; d < rank; d++)
        n *= dims[d];
    #pragma omp parallel for if (n * k > 65536) schedule(static)
    for (i = 0; i < n; i++) {
        int64_t coord[RT_MAX_RANK], rem = i;
        float acc = 0.0f;
        for (d = rank - 1; d >= 0; d--) {
            coord[d] = rem % dims[d];
            rem /= dims[d];
        }
        for (j = 0; j < k; j++) {
            const float *x = t[1 + j];
            int64_t off = 0;
            for (d = 0; d < rank; d++)
                off += coord[d] * str[j * rank + d];
            float v = x[off];
            if (j == 0)
                acc = v;
            else if (op == RT_REDUCE_MAX)
                acc = v > acc || v != v ? v : acc;
            else if (op == RT_REDUCE_MIN)
                acc = v < acc || v != v ? v : acc;
            else
                acc += v;
        }
        y[i] = op == RT_REDUCE_MEAN ? acc / (float)k : acc;
    }
}

/* PRelu: y = x < 0 ? slope * x : x, slope broadcast to x.
 * t: y x slope; p: rank dims[rank] xstr[rank] sstr[rank] */
RT_API void rt_prelu_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1], *s = t[2];
    int rank = (int)p[0], d;
    const int64_t *dims = p + 1, *xs = p + 1 + rank, *ss = p + 1 + 2 * rank;
    int64_t n = 1, i, idx[RT_MAX_RANK] = {0}, xo = 0, so = 0;
    (void)f;
    for (d = 0; d < rank; d++)
        n *= dims[d];
    for (i = 0; i < n; i++) {
        y[i] = x[xo] < 0.0f ? s[so] * x[xo] : x[xo];
        for (d = rank - 1; d >= 0; d--) {
            xo += xs[d]; so += ss[d];
            if (++idx[d] < dims[d])
                break;
            xo -= xs[d] * dims[d]; so -= ss[d] * dims[d];
            idx[d] = 0;
        }
    }
}
