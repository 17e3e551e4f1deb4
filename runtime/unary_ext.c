/* The element-wise functions beyond the activations conv and gemm fuse (runtime/eltwise.c):
 * the rest of ONNX's unary float ops, one switch per element. */
#include <math.h>
#include "rt.h"

static float unary_ext(RtUnaryExt op, float x, float a, float b)
{
    switch (op) {
    case RT_UX_ELU:         return x >= 0.0f ? x : a * (expf(x) - 1.0f);
    case RT_UX_SELU:        return b * (x > 0.0f ? x : a * (expf(x) - 1.0f));
    case RT_UX_CELU:        return fmaxf(0.0f, x) + fminf(0.0f, a * (expf(x / a) - 1.0f));
    case RT_UX_THRESHOLDEDRELU: return x > a ? x : 0.0f;
    case RT_UX_SHRINK:      return x < -b ? x + a : x > b ? x - a : 0.0f;  /* a bias, b lambd */
    case RT_UX_SOFTPLUS:    return x > 20.0f ? x : log1pf(expf(x));
    case RT_UX_SOFTSIGN:    return x / (1.0f + fabsf(x));
    case RT_UX_FLOOR:       return floorf(x);
    case RT_UX_CEIL:        return ceilf(x);
    case RT_UX_ROUND:       return nearbyintf(x);      /* halves to even, as ONNX says */
    case RT_UX_SIGN:        return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x;
    case RT_UX_SIN:         return sinf(x);
    case RT_UX_COS:         return cosf(x);
    case RT_UX_TAN:         return tanf(x);
    case RT_UX_ASIN:        return asinf(x);
    case RT_UX_ACOS:        return acosf(x);
    case RT_UX_ATAN:        return atanf(x);
    case RT_UX_SINH:        return sinhf(x);
    case RT_UX_COSH:        return coshf(x);
    case RT_UX_ASINH:       return asinhf(x);
    case RT_UX_ACOSH:       return acoshf(x);
    case RT_UX_ATANH:       return atanhf(x);
    }
    return x;
}

/* t: y x; p: n op; f: alpha beta */
RT_API void rt_unary_ext_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1];
    int64_t n = p[0], i;
    RtUnaryExt op = (RtUnaryExt)p[1];
    #pragma omp parallel for if (n > 65536) schedule(static)
    for (i = 0; i < n; i++)
        y[i] = unary_ext(op, x[i], f[0], f[1]);
}
