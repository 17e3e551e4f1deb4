/* Matrix products: the sgemm core used by convolution, plus the Gemm and MatMul kernels.
 * The core works on 4x16 tiles of C held in registers, walking column panels of B in the
 * outer loop so that a panel stays in cache while every row block of A passes over it. */
#include <string.h>
#include "rt.h"

#define TILE_M 4
#define TILE_N 16

static void tile_4x16(int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                      float *C, int64_t ldc)
{
    float c0[TILE_N] = {0}, c1[TILE_N] = {0}, c2[TILE_N] = {0}, c3[TILE_N] = {0};
    int64_t k;
    int j;
    for (k = 0; k < K; k++) {
        const float *b = B + k * ldb;
        float a0 = A[k], a1 = A[lda + k], a2 = A[2 * lda + k], a3 = A[3 * lda + k];
        for (j = 0; j < TILE_N; j++) {
            c0[j] += a0 * b[j];
            c1[j] += a1 * b[j];
            c2[j] += a2 * b[j];
            c3[j] += a3 * b[j];
        }
    }
    for (j = 0; j < TILE_N; j++) {
        C[j] += c0[j];
        C[ldc + j] += c1[j];
        C[2 * ldc + j] += c2[j];
        C[3 * ldc + j] += c3[j];
    }
}

/* Rows or columns that do not fill a tile: C[i, j0:j1] += A[i,:] * B[:, j0:j1]. */
static void rows_axpy(int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t K,
                      const float *A, int64_t lda, const float *B, int64_t ldb,
                      float *C, int64_t ldc)
{
    int64_t i, k, j;
    for (i = i0; i < i1; i++) {
        float *c = C + i * ldc;
        for (k = 0; k < K; k++) {
            float a = A[i * lda + k];
            const float *b = B + k * ldb;
            for (j = j0; j < j1; j++)
                c[j] += a * b[j];
        }
    }
}

/* C[M,N] (+)= A[M,K] * B[K,N], all row-major with leading dimensions. */
RT_API void rt_sgemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                     const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate)
{
    int64_t mfull = M - M % TILE_M, nfull = N - N % TILE_N, jb;
    int64_t nblocks = nfull / TILE_N;
    if (!accumulate) {
        int64_t i;
        for (i = 0; i < M; i++)
            memset(C + i * ldc, 0, (size_t)N * sizeof(float));
    }
    #pragma omp parallel for if (M * N * K > 262144) schedule(static)
    for (jb = 0; jb < nblocks; jb++) {
        int64_t j = jb * TILE_N, i;
        for (i = 0; i < mfull; i += TILE_M)
            tile_4x16(K, A + i * lda, lda, B + j, ldb, C + i * ldc + j, ldc);
        rows_axpy(mfull, M, j, j + TILE_N, K, A, lda, B, ldb, C, ldc);
    }
    if (nfull < N) {
        int64_t i;
        #pragma omp parallel for if (M * (N - nfull) * K > 262144) schedule(static)
        for (i = 0; i < M; i++)
            rows_axpy(i, i + 1, nfull, N, K, A, lda, B, ldb, C, ldc);
    }
}

/* Y = alpha * op(A) * op(B) + beta * C, then the activation.
 * t: y a b c(or NULL); p: M N K transA transB cmode act; f: alpha beta act_alpha act_beta
 * cmode says how C broadcasts: 0 none, 1 scalar, 2 row vector [N], 3 column [M,1], 4 [M,N]. */
RT_API void rt_gemm_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *a = t[1], *b = t[2], *c = t[3];
    int64_t M = p[0], N = p[1], K = p[2], i, j;
    int ta = (int)p[3], tb = (int)p[4], cmode = (int)p[5];
    float alpha = f[0], beta = f[1];
    if (!ta && !tb) {
        rt_sgemm(M, N, K, a, K, b, N, y, N, 0);
    } else {
        /* Transposed operands that were not constants to pre-transpose: strided dots. */
        int64_t sai = ta ? 1 : K, sak = ta ? M : 1, sbk = tb ? 1 : N, sbj = tb ? K : 1;
        #pragma omp parallel for if (M * N * K > 262144) schedule(static)
        for (i = 0; i < M; i++) {
            for (j = 0; j < N; j++) {
                float s = 0.0f;
                int64_t k;
                for (k = 0; k < K; k++)
                    s += a[i * sai + k * sak] * b[k * sbk + j * sbj];
                y[i * N + j] = s;
            }
        }
    }
    for (i = 0; i < M; i++) {
        float *yr = y + i * N;
        for (j = 0; j < N; j++) {
            float cv = 0.0f;
            switch (cmode) {
            case 1: cv = c[0]; break;
            case 2: cv = c[j]; break;
            case 3: cv = c[i]; break;
            case 4: cv = c[i * N + j]; break;
            default: break;
            }
            yr[j] = alpha * yr[j] + beta * cv;
        }
        rt_act_inplace(yr, (size_t)N, (RtAct)p[6], f[2], f[3]);
    }
}

/* Batched matrix product with broadcasting over up to 4 batch axes.
 * t: y a b; p: M N K nbatch bdims[4] astride[4] bstride[4] (batch strides in elements,
 * 0 where an operand is broadcast). */
RT_API void rt_matmul_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *a = t[1], *b = t[2];
    int64_t M = p[0], N = p[1], K = p[2], nb = p[3], total = 1, bi;
    const int64_t *bd = p + 4, *as = p + 8, *bs = p + 12;
    int d;
    (void)f;
    for (d = 0; d < nb; d++)
        total *= bd[d];
    for (bi = 0; bi < total; bi++) {
        int64_t rem = bi, aoff = 0, boff = 0;
        for (d = (int)nb - 1; d >= 0; d--) {
            int64_t idx = rem % bd[d];
            rem /= bd[d];
            aoff += idx * as[d];
            boff += idx * bs[d];
        }
        rt_sgemm(M, N, K, a + aoff, K, b + boff, N, y + bi * M * N, N, 0);
    }
}
