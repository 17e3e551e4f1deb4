/* Data movement that does not care what the elements are: copy, concat, transpose,
 * slice, pad and gather work on bytes, so that the compiler can also run them on int64
 * shape tensors when it folds constants. */
#include <string.h>
#include "rt.h"

/* t: y x; p: bytes */
RT_API void rt_copy(void *const *t, const int64_t *p, const float *f)
{
    (void)f;
    if (t[0] != t[1])
        memmove(t[0], t[1], (size_t)p[0]);
}

/* t: y x0 .. x(k-1); p: k outer inner_bytes[k] (bytes of each input per outer index) */
RT_API void rt_concat(void *const *t, const int64_t *p, const float *f)
{
    char *y = t[0];
    int64_t k = p[0], outer = p[1], row = 0, o, i;
    (void)f;
    for (i = 0; i < k; i++)
        row += p[2 + i];
    for (o = 0; o < outer; o++) {
        char *dst = y + o * row;
        for (i = 0; i < k; i++) {
            memcpy(dst, (const char *)t[1 + i] + o * p[2 + i], (size_t)p[2 + i]);
            dst += p[2 + i];
        }
    }
}

static void copy_elem(char *dst, const char *src, int64_t esize)
{
    if (esize == 4)
        memcpy(dst, src, 4);
    else if (esize == 8)
        memcpy(dst, src, 8);
    else
        memcpy(dst, src, (size_t)esize);
}

/* Walks the output in order; `idx` is the output coordinate, strides map it to the input. */
static int64_t next_index(int64_t *idx, const int64_t *dims, int rank)
{
    int d;
    for (d = rank - 1; d >= 0; d--) {
        if (++idx[d] < dims[d])
            return 1;
        idx[d] = 0;
    }
    return 0;
}

static int64_t count_of(const int64_t *dims, int rank)
{
    int64_t n = 1;
    int d;
    for (d = 0; d < rank; d++)
        n *= dims[d];
    return n;
}

/* t: y x; p: rank esize in_dims[rank] perm[rank] */
RT_API void rt_transpose(void *const *t, const int64_t *p, const float *f)
{
    char *y = t[0];
    const char *x = t[1];
    int rank = (int)p[0], d;
    int64_t esize = p[1], in_stride[RT_MAX_RANK], out_dims[RT_MAX_RANK], stride[RT_MAX_RANK];
    int64_t idx[RT_MAX_RANK] = {0}, n, i;
    const int64_t *in_dims = p + 2, *perm = p + 2 + rank;
    (void)f;
    if (rank == 0) {            /* a scalar: nothing to move */
        copy_elem(y, x, esize);
        return;
    }
    for (d = rank - 1, in_stride[rank - 1] = 1; d > 0; d--)
        in_stride[d - 1] = in_stride[d] * in_dims[d];
    for (d = 0; d < rank; d++) {
        out_dims[d] = in_dims[perm[d]];
        stride[d] = in_stride[perm[d]];
    }
    n = count_of(out_dims, rank);
    for (i = 0; i < n; i++) {
        int64_t off = 0;
        for (d = 0; d < rank; d++)
            off += idx[d] * stride[d];
        copy_elem(y + i * esize, x + off * esize, esize);
        next_index(idx, out_dims, rank);
    }
}

/* t: y x; p: rank esize in_dims[rank] out_dims[rank] starts[rank] steps[rank] */
RT_API void rt_slice(void *const *t, const int64_t *p, const float *f)
{
    char *y = t[0];
    const char *x = t[1];
    int rank = (int)p[0], d;
    int64_t esize = p[1], in_stride[RT_MAX_RANK], idx[RT_MAX_RANK] = {0}, n, i;
    const int64_t *in_dims = p + 2, *out_dims = p + 2 + rank, *start = p + 2 + 2 * rank;
    const int64_t *step = p + 2 + 3 * rank;
    (void)f;
    if (rank == 0) {
        copy_elem(y, x, esize);
        return;
    }
    for (d = rank - 1, in_stride[rank - 1] = 1; d > 0; d--)
        in_stride[d - 1] = in_stride[d] * in_dims[d];
    n = count_of(out_dims, rank);
    for (i = 0; i < n; i++) {
        int64_t off = 0;
        for (d = 0; d < rank; d++)
            off += (start[d] + idx[d] * step[d]) * in_stride[d];
        copy_elem(y + i * esize, x + off * esize, esize);
        next_index(idx, out_dims, rank);
    }
}

static int64_t pad_source(int64_t i, int64_t n, RtPadMode mode)
{
    if (i >= 0 && i < n)
        return i;
    if (mode == RT_PAD_EDGE)
        return i < 0 ? 0 : n - 1;
    if (mode == RT_PAD_REFLECT && n > 1) {
        int64_t period = 2 * (n - 1);
        i = i % period;
        if (i < 0)
            i += period;
        return i < n ? i : period - i;
    }
    return n == 1 && mode == RT_PAD_REFLECT ? 0 : -1;
}

/* t: y x; p: rank esize mode in_dims[rank] pads_begin[rank] out_dims[rank]; f: value */
RT_API void rt_pad(void *const *t, const int64_t *p, const float *f)
{
    char *y = t[0];
    const char *x = t[1];
    int rank = (int)p[0], d;
    int64_t esize = p[1], in_stride[RT_MAX_RANK], idx[RT_MAX_RANK] = {0}, n, i;
    RtPadMode mode = (RtPadMode)p[2];
    const int64_t *in_dims = p + 3, *begin = p + 3 + rank, *out_dims = p + 3 + 2 * rank;
    float fill = f[0];
    /* integer tensors (folded at compile time) pad with the value as an integer */
    int64_t ifill = fill == fill && fill > -9e18f && fill < 9e18f ? (int64_t)fill : 0;
    if (rank == 0) {
        copy_elem(y, x, esize);
        return;
    }
    for (d = rank - 1, in_stride[rank - 1] = 1; d > 0; d--)
        in_stride[d - 1] = in_stride[d] * in_dims[d];
    n = count_of(out_dims, rank);
    for (i = 0; i < n; i++) {
        int64_t off = 0;
        for (d = 0; d < rank && off >= 0; d++) {
            int64_t s = pad_source(idx[d] - begin[d], in_dims[d], mode);
            off = s < 0 ? -1 : off + s * in_stride[d];
        }
        if (off >= 0)
            copy_elem(y + i * esize, x + off * esize, esize);
        else if (esize == 4)
            memcpy(y + i * esize, &fill, 4);
        else if (esize == 8)
            memcpy(y + i * esize, &ifill, 8);
        else
            memset(y + i * esize, 0, (size_t)esize);
        next_index(idx, out_dims, rank);
    }
}

/* t: y x indices(int64, already in range); p: outer axis_dim inner_bytes nidx */
RT_API void rt_gather(void *const *t, const int64_t *p, const float *f)
{
    char *y = t[0];
    const char *x = t[1];
    const int64_t *idx = t[2];
    int64_t outer = p[0], axis = p[1], inner = p[2], nidx = p[3], o, i;
    (void)f;
    for (o = 0; o < outer; o++)
        for (i = 0; i < nidx; i++) {
            int64_t j = idx[i] < 0 ? idx[i] + axis : idx[i];
            memcpy(y + (o * nidx + i) * inner, x + (o * axis + j) * inner, (size_t)inner);
        }
}
