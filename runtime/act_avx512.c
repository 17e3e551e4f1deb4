/* Activations over arrays with AVX-512, for the epilogues of conv and gemm: the smooth ones
 * (Sigmoid, SiLU, Tanh) through a vector 2^x (a polynomial, relative error ~2e-7)
 * instead of one libm call per element. Chosen at run time; x86-64 GCC/Clang only. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#include "rt.h"
#include "act_avx512.h"

/* Whether act512 computes this activation (the others stay with rt_act). */
RT_API int rt_act512_ok(int act)
{
    return act512_ok(act);
}

/* The loop for one activation: act is a constant after inlining, so the switch goes. */
ACT512_INLINE void act512_loop(float *y, int64_t n, int act, float alpha, float beta)
{
    int64_t i;
    for (i = 0; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, act512_apply(_mm512_loadu_ps(y + i), act, alpha, beta));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, act512_apply(_mm512_maskz_loadu_ps(m, y + i), act,
                                                     alpha, beta));
    }
}

ACT512_TARGET RT_API void rt_act_avx512(float *y, int64_t n, int act, float alpha, float beta)
{
    switch (act) {
    case RT_ACT_RELU:        act512_loop(y, n, RT_ACT_RELU, alpha, beta); break;
    case RT_ACT_CLIP:        act512_loop(y, n, RT_ACT_CLIP, alpha, beta); break;
    case RT_ACT_LEAKYRELU:   act512_loop(y, n, RT_ACT_LEAKYRELU, alpha, beta); break;
    case RT_ACT_SIGMOID:     act512_loop(y, n, RT_ACT_SIGMOID, alpha, beta); break;
    case RT_ACT_SILU:        act512_loop(y, n, RT_ACT_SILU, alpha, beta); break;
    case RT_ACT_TANH:        act512_loop(y, n, RT_ACT_TANH, alpha, beta); break;
    case RT_ACT_HARDSIGMOID: act512_loop(y, n, RT_ACT_HARDSIGMOID, alpha, beta); break;
    case RT_ACT_HARDSWISH:   act512_loop(y, n, RT_ACT_HARDSWISH, alpha, beta); break;
    default: break;
    }
}

/* y = act(x * s + t), n floats (rt_affine_f32's rows): one pass over memory where the
 * portable loop makes two (DenseNet's transitions: 3.2 MB in 0.24 ms before). */
ACT512_INLINE void affine512_loop(float *y, const float *x, int64_t n, float s, float t,
                                  int act, float alpha, float beta)
{
    const __m512 vs = _mm512_set1_ps(s), vt = _mm512_set1_ps(t);
    int64_t i;
    for (i = 0; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, act512_apply(_mm512_fmadd_ps(_mm512_loadu_ps(x + i), vs, vt),
                                             act, alpha, beta));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), vs, vt);
        _mm512_mask_storeu_ps(y + i, m, act512_apply(v, act, alpha, beta));
    }
}

ACT512_TARGET RT_API void rt_affine_act_avx512(float *y, const float *x, int64_t n, float s,
                                               float t, int act, float alpha, float beta)
{
    if (act == RT_ACT_RELU)
        affine512_loop(y, x, n, s, t, RT_ACT_RELU, alpha, beta);
    else if (act == RT_ACT_NONE)
        affine512_loop(y, x, n, s, t, RT_ACT_NONE, alpha, beta);
    else
        affine512_loop(y, x, n, s, t, act, alpha, beta);
}
#endif
