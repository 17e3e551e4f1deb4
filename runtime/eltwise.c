/* Element-wise kernels: activations (alone or as fused epilogues) and binary arithmetic
 * with NumPy broadcasting. */
#include <math.h>
#include <string.h>
#include "rt.h"

RT_API float rt_act(RtAct act, float x, float alpha, float beta)
{
    switch (act) {
    case RT_ACT_NONE:        return x;
    case RT_ACT_RELU:        return x > 0.0f ? x : 0.0f;
    case RT_ACT_CLIP:        return x < alpha ? alpha : (x > beta ? beta : x);
    case RT_ACT_LEAKYRELU:   return x >= 0.0f ? x : alpha * x;
    case RT_ACT_SIGMOID:     return 1.0f / (1.0f + expf(-x));
    case RT_ACT_TANH:        return tanhf(x);
    case RT_ACT_HARDSIGMOID: {
        float v = alpha * x + beta;
        return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
    case RT_ACT_HARDSWISH: {
        /* ONNX: x * max(0, min(1, x/6 + 1/2)) */
        float v = x / 6.0f + 0.5f;
        return x * (v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v));
    }
    case RT_ACT_SILU:        return x / (1.0f + expf(-x));
    case RT_ACT_EXP:         return expf(x);
    case RT_ACT_LOG:         return logf(x);
    case RT_ACT_SQRT:        return sqrtf(x);
    case RT_ACT_NEG:         return -x;
    case RT_ACT_ABS:         return fabsf(x);
    case RT_ACT_ERF:         return erff(x);
    case RT_ACT_RECIPROCAL:  return 1.0f / x;
    case RT_ACT_COUNT:       break;
    }
    return x;
}

#if defined(__GNUC__) && defined(__x86_64__)
RT_API int rt_act512_ok(int act);
RT_API void rt_act_avx512(float *y, int64_t n, int act, float alpha, float beta);
#endif

RT_API void rt_act_inplace(float *y, size_t n, RtAct act, float alpha, float beta)
{
    size_t i;
    if (act == RT_ACT_NONE)
        return;
#if defined(__GNUC__) && defined(__x86_64__)
    {                                   /* runtime/act_avx512.c where the CPU has it */
        static int avx512 = -1;
        if (avx512 < 0) {
            __builtin_cpu_init();
            avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                     __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
        }
        if (avx512 && rt_act512_ok(act)) {
            rt_act_avx512(y, (int64_t)n, act, alpha, beta);
            return;
        }
    }
#endif
    if (act == RT_ACT_RELU) {           /* the common case gets a loop the compiler vectorizes */
        #pragma omp simd
        for (i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        return;
    }
    for (i = 0; i < n; i++)
        y[i] = rt_act(act, y[i], alpha, beta);
}

/* t: y x; p: n act; f: alpha beta */
RT_API void rt_unary_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1];
    int64_t n = p[0], i;
    RtAct act = (RtAct)p[1];
    if (y != x)
        memcpy(y, x, (size_t)n * sizeof(float));
    #pragma omp parallel for if (n > 65536) schedule(static)
    for (i = 0; i < n; i += 16384) {
        int64_t len = n - i < 16384 ? n - i : 16384;
        rt_act_inplace(y + i, (size_t)len, act, f[0], f[1]);
    }
}

static float binary_op(RtBinary op, float a, float b)
{
    switch (op) {
    case RT_BIN_ADD: return a + b;
    case RT_BIN_SUB: return a - b;
    case RT_BIN_MUL: return a * b;
    case RT_BIN_DIV: return a / b;
    case RT_BIN_POW: return powf(a, b);
    }
    return 0.0f;
}

/* t: y a b; p: op rank dims[rank] astride[rank] bstride[rank]
 * Strides are in elements, 0 along broadcast axes. The innermost axis is handled by a
 * plain loop in the three common cases: both contiguous, a or b constant along it. */
RT_API void rt_binary_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *a = t[1], *b = t[2];
    RtBinary op = (RtBinary)p[0];
    int rank = 0, d;
    int64_t dims[RT_MAX_RANK], as[RT_MAX_RANK], bs[RT_MAX_RANK], inner, outer = 1, o;
    (void)f;
    /* Axes of length 1 dropped, neighbours both operands walk alike merged: a per-channel
     * scale [C,1,1] of [C,H,W] becomes one loop of H*W per channel. */
    for (d = 0; d < (int)p[1]; d++) {
        int64_t n = p[2 + d], sa = p[2 + p[1] + d], sb = p[2 + 2 * p[1] + d];
        if (n == 1 && p[1] > 1)
            continue;
        if (rank > 0 && as[rank - 1] == sa * n && bs[rank - 1] == sb * n) {
            dims[rank - 1] *= n;
            as[rank - 1] = sa;
            bs[rank - 1] = sb;
            continue;
        }
        dims[rank] = n;
        as[rank] = sa;
        bs[rank] = sb;
        rank++;
    }
    if (rank == 0) {
        dims[0] = 1;
        as[0] = bs[0] = 0;
        rank = 1;
    }
    inner = dims[rank - 1];
    for (d = 0; d < rank - 1; d++)
        outer *= dims[d];
    #pragma omp parallel for if (outer * inner > 65536) schedule(static)
    for (o = 0; o < outer; o++) {
        int64_t rem = o, aoff = 0, boff = 0, i;
        for (d = rank - 2; d >= 0; d--) {
            int64_t idx = rem % dims[d];
            rem /= dims[d];
            aoff += idx * as[d];
            boff += idx * bs[d];
        }
        float *yo = y + o * inner;
        const float *ao = a + aoff, *bo = b + boff;
        int64_t sa = as[rank - 1], sb = bs[rank - 1];
        if (sa == 1 && sb == 1 && op == RT_BIN_ADD) {
            #pragma omp simd
            for (i = 0; i < inner; i++) yo[i] = ao[i] + bo[i];
        } else if (sa == 1 && sb == 1 && op == RT_BIN_MUL) {
            #pragma omp simd
            for (i = 0; i < inner; i++) yo[i] = ao[i] * bo[i];
        } else if (sa == 1 && sb == 0 && op == RT_BIN_ADD) {
            float bv = bo[0];
            #pragma omp simd
            for (i = 0; i < inner; i++) yo[i] = ao[i] + bv;
        } else if (sa == 1 && sb == 0 && op == RT_BIN_MUL) {
            float bv = bo[0];
            #pragma omp simd
            for (i = 0; i < inner; i++) yo[i] = ao[i] * bv;
        } else {
            for (i = 0; i < inner; i++)
                yo[i] = binary_op(op, ao[i * sa], bo[i * sb]);
        }
    }
}
