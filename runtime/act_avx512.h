/* The AVX-512 activations as inline functions, for the kernels that apply them while a
 * vector is still in a register (act_avx512.c, conv_dw_avx512.c). x86-64 GCC/Clang only. */
#ifndef CNNC_ACT_AVX512_H
#define CNNC_ACT_AVX512_H
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#include "rt.h"

#define ACT512_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define ACT512_INLINE static inline __attribute__((always_inline)) ACT512_TARGET

/* 2^t for |t| <= 126: a degree-5 polynomial (fitted for the least relative error, 2e-7 in
 * float) on the fraction f = t - round(t), scaled by 2^round(t). */
ACT512_INLINE __m512 act512_exp2(__m512 t)
{
    __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(t, n), p = _mm512_set1_ps(1.3264726899e-3f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6715126606e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5507337442e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022242085e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314697760e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* 1 / (1 + e^-x) = 1 / (1 + 2^t), t = -x log2 e, clamped to +-126 in one instruction
 * (vrangeps: t's sign, the lesser magnitude) so that 1 + 2^t stays finite; the rounding
 * of t adds a relative error of |t| 6e-8. The reciprocal from rcp14 and one Newton step
 * (about 23 bits). 15 instructions where e^-x through ln 2's two-part reduction took 20:
 * EfficientNet-B0 computes 6 million of them. A NaN comes out finite (vrangeps gives the
 * bound): SiLU's product with x brings it back; act512_sigmoid puts it back itself. */
ACT512_INLINE __m512 act512_sigmoid_finite(__m512 x)
{
    __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(-1.44269504088896341f)), d, r;
    t = _mm512_range_ps(t, _mm512_set1_ps(126.0f), 0x2);
    d = _mm512_add_ps(act512_exp2(t), _mm512_set1_ps(1.0f));
    r = _mm512_rcp14_ps(d);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0f)));
}

/* The same with NaN kept NaN (a max/min clamp that keeps it costs SiLU 2-5 %). */
ACT512_INLINE __m512 act512_sigmoid(__m512 x)
{
    return _mm512_mask_mov_ps(act512_sigmoid_finite(x), _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q),
                              x);
}

/* Whether act512_apply computes this activation (the others stay with rt_act). */
static inline int act512_ok(int act)
{
    return act == RT_ACT_NONE || act == RT_ACT_RELU || act == RT_ACT_CLIP ||
           act == RT_ACT_LEAKYRELU || act == RT_ACT_SIGMOID || act == RT_ACT_SILU ||
           act == RT_ACT_TANH || act == RT_ACT_HARDSIGMOID || act == RT_ACT_HARDSWISH;
}

/* v with the activation applied; act is one of the kinds rt_act512_ok() accepts. */
ACT512_INLINE __m512 act512_apply(__m512 v, int act, float alpha, float beta)
{
    __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    switch (act) {
    case RT_ACT_RELU:
        return _mm512_max_ps(v, zero);
    case RT_ACT_CLIP:
        return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(alpha)), _mm512_set1_ps(beta));
    case RT_ACT_LEAKYRELU:
        return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v,
                                  _mm512_set1_ps(alpha));
    case RT_ACT_SIGMOID:
        return act512_sigmoid(v);
    case RT_ACT_SILU:
        return _mm512_mul_ps(v, act512_sigmoid_finite(v));
    case RT_ACT_TANH: {                         /* tanh x = 2 sigmoid(2x) - 1 */
        __m512 s = act512_sigmoid(_mm512_add_ps(v, v));
        return _mm512_fmsub_ps(s, _mm512_set1_ps(2.0f), one);
    }
    case RT_ACT_HARDSIGMOID:
        return _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(v, _mm512_set1_ps(alpha),
                                                           _mm512_set1_ps(beta)), zero), one);
    case RT_ACT_HARDSWISH: {
        __m512 t = _mm512_fmadd_ps(v, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f));
        return _mm512_mul_ps(v, _mm512_min_ps(_mm512_max_ps(t, zero), one));
    }
    default:
        return v;
    }
}

#endif
#endif
