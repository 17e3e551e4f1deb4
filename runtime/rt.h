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

/* Reductions (ReduceMean ...) and the variadic element-wise ops (Mean, Sum, Max, Min). */
typedef enum { RT_REDUCE_MEAN, RT_REDUCE_SUM, RT_REDUCE_MAX, RT_REDUCE_MIN } RtReduce;

/* Resize: how an output coordinate maps to the input, and how nearest rounds it. */
typedef enum { RT_RESIZE_HALF_PIXEL, RT_RESIZE_PYTORCH_HALF_PIXEL, RT_RESIZE_ALIGN_CORNERS,
               RT_RESIZE_ASYMMETRIC, RT_RESIZE_TF_HALF_PIXEL_NN,
               RT_RESIZE_TF_CROP_AND_RESIZE } RtResizeCoord;
typedef enum { RT_NEAREST_ROUND_PREFER_FLOOR, RT_NEAREST_ROUND_PREFER_CEIL, RT_NEAREST_FLOOR,
               RT_NEAREST_CEIL } RtResizeNearest;

/* The unary ops of runtime/unary_ext.c (alpha, beta: each op's attributes). */
typedef enum { RT_UX_ELU, RT_UX_SELU, RT_UX_CELU, RT_UX_THRESHOLDEDRELU, RT_UX_SHRINK,
               RT_UX_SOFTPLUS, RT_UX_SOFTSIGN, RT_UX_FLOOR, RT_UX_CEIL, RT_UX_ROUND, RT_UX_SIGN,
               RT_UX_SIN, RT_UX_COS, RT_UX_TAN, RT_UX_ASIN, RT_UX_ACOS, RT_UX_ATAN, RT_UX_SINH,
               RT_UX_COSH, RT_UX_ASINH, RT_UX_ACOSH, RT_UX_ATANH } RtUnaryExt;

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

/* The packed GEMM behind conv, Gemm and MatMul (runtime/gemm.c). A is packed in the order
 * the GEMM reads it, one stream from memory: K in blocks (all of K up to 512, else equal
 * blocks of at most 384), each block holding panel after panel of RT_GEMM_MR rows (panel i
 * rows 6i..6i+5, zero-padded) as one group of 6 floats per k of the block; the compiler
 * packs constant weights once with rt_gemm_pack_a. B is read from a plain
 * row-major matrix or gathered from a convolution's input (an implicit im2col). */
#define RT_GEMM_MR 6

typedef struct {
    const float *x;             /* B[K,N] with leading dimension ldb, or the conv input */
    int64_t ldb;
    int64_t h, w, ow, kh, kw, sh, sw, pt, pl, dh, dw;   /* conv geometry; kh == 0: plain */
    /* B's rows read as act(x * scale[c] + shift[c]), c = row / (kh * kw), when scale is
     * set (shift may be NULL; act NONE or RELU). Every value is scaled, so the conv must
     * have no padding. */
    const float *scale, *shift;
    RtAct pre_act;
} RtGemmB;

typedef struct {
    const float *bias;          /* one per row of C, or NULL */
    const float *res;           /* added like C (same leading dimension), or NULL */
    RtAct act;
    float alpha, beta;
} RtGemmEpilogue;

/* The first of the next `chunk` items of a loop the threads of a parallel region share,
 * from the counter *next (0 before the region): what schedule(dynamic, chunk) does without
 * a call into the OpenMP runtime per chunk (LLVM's libomp, as Debian builds it, formats a
 * debug trace string at every chunk it hands out: 5 % of MobileNetV2 at two threads). */
static inline int64_t rt_claim(int64_t *next, int64_t chunk)
{
#if defined(__GNUC__)
    return __atomic_fetch_add(next, chunk, __ATOMIC_RELAXED);
#else
    int64_t got;
    #pragma omp atomic capture
    { got = *next; *next += chunk; }
    return got;
#endif
}

/* The SIMD level gemm.c found (CNNC_ISA=scalar|avx2 lowers it): 0 none, 1 AVX2+FMA,
 * 2 AVX-512. */
RT_API int rt_cpu_isa(void);
RT_API size_t rt_gemm_packed_a_size(int64_t M, int64_t K);      /* in floats */
RT_API void rt_gemm_pack_a(int64_t M, int64_t K, const float *A, int64_t lda, float *dst);
/* A packed copy of A with its column k scaled by s[k]. */
RT_API void rt_gemm_scale_a(int64_t M, int64_t K, const float *ap, const float *s, float *dst);
/* C[M,N] = Apacked * B (+ C if accumulate), then the epilogue; threads over blocks of C. */
RT_API void rt_gemm_packed(int64_t M, int64_t N, int64_t K, const float *Ap, const RtGemmB *B,
                           float *C, int64_t ldc, int accumulate, const RtGemmEpilogue *ep);

/* Winograd F(4x4,3x3) weights (runtime/conv_winograd.c): 36 transformed [M, C] matrices,
 * each packed by rt_gemm_pack_a; the compiler prepares them once. */
RT_API size_t rt_winograd_weights_size(int64_t M, int64_t C);    /* in floats */
RT_API int rt_winograd_pack_weights(int64_t M, int64_t C, const float *w, float *dst);
RT_API int rt_winograd_transform_weights(int64_t M, int64_t C, const float *w,
                                         const double (*G)[3], int a, float *dst);
/* Winograd F(2x2,3x3) for small planes (runtime/conv_winograd2.c): 16 transformed [M, C]
 * matrices, each packed by rt_gemm_pack_a. The packs return 0 when out of memory. */
RT_API size_t rt_winograd2_weights_size(int64_t M, int64_t C);   /* in floats */
RT_API int rt_winograd2_pack_weights(int64_t M, int64_t C, const float *w, float *dst);
RT_API size_t rt_winograd2_workspace(const int64_t *p);          /* in floats */

/* One tile of the packed GEMM for a micro-kernel: C[mr,nr] (+)= A[mr,kc] B[kc,nr], where
 * a0/a1 are 6-row panels (a1 for rows 6..11) and b a packed kc x NR panel (or, AVX-512
 * only, B's own rows). */
typedef struct {
    int64_t kc, ldc, ldr;
    int64_t ldb;                /* 0: b is a packed panel; else rows of B itself, ldb apart */
    const float *a0, *a1, *b;
    const float *pf0, *pf1;     /* two streams to bring into L2 as k advances, or NULL: */
    int64_t pfstep;             /* the next A panels (6 a step) or B tile (ldb a step) */
    float *c;
    const float *bias, *res;    /* epilogue (last k block only), already offset to the tile */
    int mr, nr, accumulate, act;
    float alpha, beta;
} RtGemmTile;

/* Stride-1 convolutions with output channels as lanes (runtime/conv_direct.c): weights
 * packed once by the compiler, and one tile of 12 output pixels x mb channels. */
RT_API size_t rt_conv_direct_weights_size(int64_t M, int64_t K);    /* in floats */
RT_API void rt_conv_direct_pack_weights(int64_t M, int64_t K, const float *w, float *dst);
RT_API int rt_conv_direct_ok(const int64_t *p);
RT_API size_t rt_conv_direct_workspace(const int64_t *p);          /* in floats */
/* Whether rt_conv_direct_f32 takes this convolution as a pointwise one (1x1, stride 1 or
 * 2, no padding, 14 output pixels a plane or more, at most 256 with more than 256 input
 * channels): K in blocks, the input read in place (at stride 2 gathered first). */
RT_API int rt_conv_pointwise_ok(const int64_t *p);

typedef struct {
    const float *x;             /* bordered input at the tile's first pixel */
    const float *w;             /* the channel block's packed weights, K rows of mb */
    const char *pf;             /* one cache line a weight row to prefetch from, or NULL */
    int64_t c, kh, kw, plane, row, dw;  /* input channels, window, strides in floats */
    int64_t j0, span, pitch, ow, hw;    /* first pixel, pixels in all, padded/real widths */
    float *y;                   /* the block's first output channel plane */
    const float *res, *bias;    /* the same for the residual; bias of the block's channels */
    int mb, lanes, act;         /* channels in the block, and its lanes (16 or 32) */
    int npix;                   /* pixels in the tile: 12, or 7 (runs within a row) */
    int sw;                     /* input columns from one pixel to the next: 1 or 2 */
    int skip;                   /* first pixels of the tile not to store (done already) */
    float alpha, beta;
    /* K in blocks (pointwise convolutions): the sums so far to start from, or NULL (zero);
     * where to leave them, [npix][32], instead of storing the outputs, or NULL */
    const float *part_in;
    float *part_out;
} RtConvDirectTile;

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
