/* Per-channel scale and shift with a fused activation: what an inference BatchNorm that
 * cannot fold into a convolution (DenseNet's, after a concat) becomes, with
 * gamma/sqrt(var+eps) and beta-mean*scale computed once at compile time. */
#include "rt.h"

#if defined(__GNUC__) && defined(__x86_64__)
RT_API int rt_act512_ok(int act);
RT_API void rt_affine_act_avx512(float *y, const float *x, int64_t n, float s, float t,
                                 int act, float alpha, float beta);
#endif

/* t: y x scale shift; p: N C HW act; f: act_alpha act_beta */
RT_API void rt_affine_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1], *scale = t[2], *shift = t[3];
    int64_t n = p[0], c = p[1], hw = p[2], i;
    RtAct act = (RtAct)p[3];
    int fast = 0;
#if defined(__GNUC__) && defined(__x86_64__)
    fast = rt_cpu_isa() >= 2 && rt_act512_ok(act);
#else
    (void)fast;
#endif
    #pragma omp parallel for if (n * c * hw > 65536) schedule(static)
    for (i = 0; i < n * c; i++) {
        const float *xi = x + i * hw;
        float *yi = y + i * hw, s = scale[i % c], sh = shift[i % c];
        int64_t j;
#if defined(__GNUC__) && defined(__x86_64__)
        if (fast) {
            rt_affine_act_avx512(yi, xi, hw, s, sh, act, f[0], f[1]);
            continue;
        }
#endif
        for (j = 0; j < hw; j++)
            yi[j] = xi[j] * s + sh;
        rt_act_inplace(yi, (size_t)hw, act, f[0], f[1]);
    }
}
