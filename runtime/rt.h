/* cnnc runtime: the kernels every compiled model calls. The same source is built into
 * libcnnc_rt.a, into the compiler (for compile-time evaluation) and pasted into generated C,
 * where RT_API makes every function static so that two models can link into one program. */
#ifndef CNNC_RT_H
#define CNNC_RT_H

#include <stddef.h>
#include <stdint.h>

#ifndef RT_API
#define RT_API
#endif

/* Activations, usable alone (the UNARY kernel) or as a fused epilogue of conv and gemm.
 * alpha/beta: Clip min/max, LeakyRelu slope, HardSigmoid alpha/beta. */
typedef enum {
    RT_ACT_NONE,
    RT_ACT_RELU,
    RT_ACT_CLIP,
    RT_ACT_LEAKYRELU,
    RT_ACT_SIGMOID,
    RT_ACT_TANH,
    RT_ACT_HARDSIGMOID,
    RT_ACT_HARDSWISH,
    RT_ACT_SILU,
    RT_ACT_EXP,
    RT_ACT_LOG,
    RT_ACT_SQRT,
    RT_ACT_NEG,
    RT_ACT_ABS,
    RT_ACT_ERF,
    RT_ACT_RECIPROCAL,
    RT_ACT_COUNT
} RtAct;

typedef enum { RT_BIN_ADD, RT_BIN_SUB, RT_BIN_MUL, RT_BIN_DIV, RT_BIN_POW } RtBinary;

typedef enum { RT_PAD_CONSTANT, RT_PAD_REFLECT, RT_PAD_EDGE } RtPadMode;

typedef enum {
#define K(id, fn) RT_K_##id,
#include "kernels.def"
#undef K
    RT_K_COUNT
} RtKernelId;

typedef void (*RtKernelFn)(void *const *t, const int64_t *p, const float *f);

#define K(id, fn) RT_API void fn(void *const *t, const int64_t *p, const float *f);
#include "kernels.def"
#undef K

/* The maximum tensor rank the generic data-movement kernels handle. */
#define RT_MAX_RANK 8

/* C[M,N] (+)= A[M,K] * B[K,N], row-major with leading dimensions. */
RT_API void rt_sgemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                     const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate);

RT_API float rt_act(RtAct act, float x, float alpha, float beta);
RT_API void rt_act_inplace(float *y, size_t n, RtAct act, float alpha, float beta);

#ifndef CNNC_RT_EMBEDDED
/* runtime/dispatch.c: the kernels by id, for the compile-time evaluator and tests. */
extern const RtKernelFn rt_kernels[RT_K_COUNT];
extern const char *const rt_kernel_names[RT_K_COUNT];
#endif

#ifndef CNNC_RT_EMBEDDED
/* runtime/dispatch.c: the kernels by id, for the compile-time evaluator and tests. */
extern const RtKernelFn rt_kernels[RT_K_COUNT];
extern const char *const rt_kernel_names[RT_K_COUNT];
#endif

#endif
