/* The matrix products: rt_sgemm, the packed GEMM with its fused epilogue, and the Gemm and
 * MatMul kernels, against naive double-precision loops. Sizes are not multiples of the
 * micro-kernel tiles (6 or 12 rows, 16 or 32 columns) and every ISA the CPU has is run. */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "runtime/rt.h"
#include "util.h"

#define RUN(k, ...) rt_kernels[RT_K_##k]((void *const[]){ __VA_ARGS__ }, p, f)
#define NCASES(a) (int)(sizeof(a) / sizeof((a)[0]))

/* C[M,N] = A[M,K] B[K,N] with leading dimensions, in double. */
static void ref_matmul(int64_t M, int64_t N, int64_t K, const float *a, int64_t lda,
                       const float *b, int64_t ldb, double *c)
{
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += (double)a[i * lda + k] * b[k * ldb + j];
            c[i * N + j] = s;
        }
}

/* M <= 4 takes the row-by-row path; 12x32 is one AVX-512 tile; K = 700 is split into K
 * blocks (the epilogue must wait for the last) and N = 400 into column blocks; 67x131x61
 * is big enough for several threads; 260x40x530, tall and narrow, makes threads split the
 * rows and share each packed block of B. Blocks at most 16 wide take the AVX-512 24x16
 * tile: 1-4 panels of A (37, 24, 61 rows), K blocks (600), B packed (300 rows). */
static const int64_t sgemm_sizes[][3] = {
    { 1, 1, 1 }, { 3, 5, 7 }, { 4, 16, 1 }, { 5, 17, 9 }, { 7, 13, 33 }, { 8, 32, 4 },
    { 12, 32, 8 }, { 13, 47, 19 }, { 4, 15, 2 }, { 14, 400, 700 }, { 67, 131, 61 },
    { 260, 40, 530 }, { 37, 16, 50 }, { 24, 9, 600 }, { 61, 5, 7 }, { 300, 16, 40 },
    { 19, 11, 3 },
};

/* Leading dimensions wider than the matrices: padding columns must stay untouched. */
START_TEST(sgemm_odd_sizes)
{
    const int64_t *sz = sgemm_sizes[_i / NISA];
    int64_t M = sz[0], N = sz[1], K = sz[2];
    int64_t lda = K + 3, ldb = N + 5, ldc = N + 2;
    float *a = alloc_uniform((size_t)(M * lda), 10 + _i, -1, 1);
    float *b = alloc_uniform((size_t)(K * ldb), 20 + _i, -1, 1);
    float *c0 = alloc_uniform((size_t)(M * ldc), 30 + _i, -1, 1);
    float *c = malloc((size_t)(M * ldc) * sizeof *c), *want = malloc((size_t)(M * ldc) * 4);
    double *ab = malloc((size_t)(M * N) * sizeof *ab);
    use_isa(_i % NISA);
    ref_matmul(M, N, K, a, lda, b, ldb, ab);
    for (int acc = 0; acc < 2; acc++) {
        memcpy(c, c0, (size_t)(M * ldc) * sizeof *c);
        memcpy(want, c0, (size_t)(M * ldc) * sizeof *c);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                want[i * ldc + j] = (float)(ab[i * N + j] + (acc ? c0[i * ldc + j] : 0));
        rt_sgemm(M, N, K, a, lda, b, ldb, c, ldc, acc);
        EXPECT_CLOSE(c, want, (size_t)(M * ldc), 1e-4, 1e-4);
    }
    free(a); free(b); free(c0); free(c); free(want); free(ab);
}
END_TEST

/* Gemm: every (transA, transB, cmode) combination; iteration ISA*20 + ta*10 + tb*5 + cmode. */
START_TEST(gemm_all_modes)
{
    int ta = _i / 10 % 2, tb = _i / 5 % 2, cmode = _i % 5;
    /* three rows take the dot-product path when B is transposed */
    int64_t M = (ta + tb + cmode) % 2 ? 3 : 9, N = 35, K = 37;
    float alpha = 1.5f, beta = -0.7f;
    size_t nc[] = { 1, 1, (size_t)N, (size_t)M, (size_t)(M * N) };
    float *a = alloc_uniform((size_t)(M * K), 40 + _i, -1, 1);
    float *b = alloc_uniform((size_t)(K * N), 50 + _i, -1, 1);
    float *c = cmode ? alloc_uniform(nc[cmode], 60 + _i, -1, 1) : NULL;
    float *y = malloc((size_t)(M * N) * 4), *want = malloc((size_t)(M * N) * 4);
    use_isa(_i / 20);
    for (int act = 0; act < 2; act++) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0, cv = 0;
                for (int64_t k = 0; k < K; k++)     /* op(A)[i,k] op(B)[k,j] */
                    s += (double)(ta ? a[k * M + i] : a[i * K + k]) *
                         (tb ? b[j * K + k] : b[k * N + j]);
                cv = cmode == 1 ? c[0] : cmode == 2 ? c[j] : cmode == 3 ? c[i]
                   : cmode == 4 ? c[i * N + j] : 0;
                s = alpha * s + (cmode ? beta * cv : 0);
                want[i * N + j] = (float)(act ? ref_act(RT_ACT_RELU, s, 0, 0) : s);
            }
        int64_t p[7] = { M, N, K, ta, tb, cmode, act ? RT_ACT_RELU : RT_ACT_NONE };
        float f[4] = { alpha, beta, 0, 0 };
        RUN(GEMM, y, a, b, c);
        EXPECT_CLOSE(y, want, (size_t)(M * N), 1e-4, 1e-4);
    }
    free(a); free(b); free(c); free(y); free(want);
}
END_TEST

/* MatMul with NumPy batch broadcasting. p: M N K nbatch bdims[4] astride[4] bstride[4]. */
typedef struct { int ra, rb; int64_t a[4], b[4]; } MatmulCase;
static const MatmulCase matmul_cases[] = {
    { 4, 3, { 2, 1, 5, 7 }, { 3, 7, 6 } },      /* [2,1] x [3] batches -> [2,3] */
    { 2, 3, { 4, 9 }, { 2, 9, 18 } },           /* A shared by every batch of B */
    { 3, 3, { 3, 5, 17 }, { 3, 17, 20 } },      /* equal batches, tile tails in N */
    { 4, 4, { 2, 3, 1, 4 }, { 1, 3, 4, 2 } },   /* M = 1, broadcast both ways */
};

START_TEST(matmul_batch_broadcast)
{
    const MatmulCase *mc = &matmul_cases[_i / NISA];
    int64_t M = mc->a[mc->ra - 2], K = mc->a[mc->ra - 1], N = mc->b[mc->rb - 1];
    int ba = mc->ra - 2, bb = mc->rb - 2, nb = ba > bb ? ba : bb;
    int64_t bd[4] = { 1, 1, 1, 1 }, as[4] = { 0 }, bs[4] = { 0 }, da[4], db[4], total = 1;
    int64_t sa = M * K, sb = K * N;
    for (int i = nb - 1; i >= 0; i--) {         /* right-aligned batch axes */
        da[i] = i - (nb - ba) >= 0 ? mc->a[i - (nb - ba)] : 1;
        db[i] = i - (nb - bb) >= 0 ? mc->b[i - (nb - bb)] : 1;
        bd[i] = da[i] > db[i] ? da[i] : db[i];
        as[i] = da[i] == 1 ? 0 : sa;
        bs[i] = db[i] == 1 ? 0 : sb;
        sa *= da[i];
        sb *= db[i];
        total *= bd[i];
    }
    float *a = alloc_uniform((size_t)sa, 70 + _i, -1, 1);
    float *b = alloc_uniform((size_t)sb, 80 + _i, -1, 1);
    float *y = malloc((size_t)(total * M * N) * 4), *want = malloc((size_t)(total * M * N) * 4);
    double *c = malloc((size_t)(M * N) * sizeof *c);
    use_isa(_i % NISA);
    for (int64_t t = 0; t < total; t++) {       /* t: output batch index, row-major */
        int64_t rem = t, ao = 0, bo = 0;
        for (int i = nb - 1; i >= 0; i--) {
            int64_t idx = rem % bd[i];
            rem /= bd[i];
            ao += (da[i] == 1 ? 0 : idx) * as[i];
            bo += (db[i] == 1 ? 0 : idx) * bs[i];
        }
        ref_matmul(M, N, K, a + ao, K, b + bo, N, c);
        for (int64_t i = 0; i < M * N; i++)
            want[t * M * N + i] = (float)c[i];
    }
    int64_t p[16] = { M, N, K, nb };
    float f[4] = { 0 };
    memcpy(p + 4, bd, sizeof bd);
    memcpy(p + 8, as, sizeof as);
    memcpy(p + 12, bs, sizeof bs);
    RUN(MATMUL, y, a, b);
    EXPECT_CLOSE(y, want, (size_t)(total * M * N), 1e-4, 1e-4);
    free(a); free(b); free(y); free(want); free(c);
}
END_TEST

/* rt_gemm_pack_a's documented layout: K in blocks (all of K up to 512, else equal blocks
 * of at most 384), each block holding panel after panel, panel p rows 6p..6p+5 as groups
 * of 6 floats, one group per k of the block, rows past M zero. */
static void check_pack_a_layout(int64_t M, int64_t K, int64_t kc)
{
    int64_t lda = K + 2, mp = (M + 5) / 6;
    float *a = alloc_uniform((size_t)(M * lda), 33, -1, 1);
    size_t size = rt_gemm_packed_a_size(M, K);
    ck_assert_uint_eq(size, (size_t)(mp * 6 * K));
    float *ap = malloc(size * sizeof *ap);
    rt_gemm_pack_a(M, K, a, lda, ap);
    const float *at = ap;
    for (int64_t pc = 0; pc < K; pc += kc)
        for (int64_t p = 0; p < mp; p++)
            for (int64_t k = pc; k < pc + kc && k < K; k++)
                for (int64_t i = 0; i < RT_GEMM_MR; i++) {
                    int64_t row = p * RT_GEMM_MR + i;
                    ck_assert(*at++ == (row < M ? a[row * lda + k] : 0));
                }
    ck_assert(at == ap + size);
    free(a);
    free(ap);
}

START_TEST(gemm_pack_a_layout)
{
    check_pack_a_layout(13, 5, 5);          /* one block */
    check_pack_a_layout(7, 512, 512);       /* the largest single block */
    check_pack_a_layout(13, 1000, 334);     /* three blocks, the last shorter */
    check_pack_a_layout(6, 1024, 342);
}
END_TEST

/* The packed GEMM with its epilogue: C = act(A*B (+ C) + bias[row] + res), C and res with a
 * leading dimension wider than N whose padding must stay untouched. Iteration: size * NISA
 * + ISA; every activation, since the vector tiles do only some of them themselves. */
START_TEST(gemm_packed_epilogue)
{
    const int64_t *sz = sgemm_sizes[_i / NISA];
    int64_t M = sz[0], N = sz[1], K = sz[2], lda = K + 1, ldb = N + 3, ldc = N + 2;
    float *a = alloc_uniform((size_t)(M * lda), 40 + _i, -1, 1);
    float *b = alloc_uniform((size_t)(K * ldb), 41 + _i, -1, 1);
    float *bias = alloc_uniform((size_t)M, 42 + _i, -1, 1);
    float *res = alloc_uniform((size_t)(M * ldc), 43 + _i, -1, 1);
    float *c0 = alloc_uniform((size_t)(M * ldc), 44 + _i, -1, 1);
    float *c = malloc((size_t)(M * ldc) * 4), *want = malloc((size_t)(M * ldc) * 4);
    float *ap = malloc(rt_gemm_packed_a_size(M, K) * sizeof(float));
    double *ab = malloc((size_t)(M * N) * sizeof *ab);
    use_isa(_i % NISA);
    ref_matmul(M, N, K, a, lda, b, ldb, ab);
    rt_gemm_pack_a(M, K, a, lda, ap);
    RtGemmB B = { .x = b, .ldb = ldb };
    for (int act = 0; act < RT_ACT_COUNT; act++) {
        bool positive = act == RT_ACT_LOG || act == RT_ACT_SQRT || act == RT_ACT_RECIPROCAL;
        if (positive || act == RT_ACT_EXP)
            continue;       /* not epilogues; their domains need other data */
        int accumulate = act % 2;
        RtGemmEpilogue ep = { bias, res, (RtAct)act, act == RT_ACT_CLIP ? -0.5f : 0.2f, 0.5f };
        memcpy(c, c0, (size_t)(M * ldc) * 4);
        memcpy(want, c0, (size_t)(M * ldc) * 4);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double v = ab[i * N + j] + (accumulate ? c0[i * ldc + j] : 0) + bias[i] +
                           res[i * ldc + j];
                want[i * ldc + j] = (float)ref_act((RtAct)act, v, ep.alpha, ep.beta);
            }
        rt_gemm_packed(M, N, K, ap, &B, c, ldc, accumulate, &ep);
        EXPECT_CLOSE(c, want, (size_t)(M * ldc), 1e-4, 1e-4);
    }
    free(a); free(b); free(bias); free(res); free(c0); free(c); free(want); free(ap); free(ab);
}
END_TEST

static Suite *gemm_suite(void)
{
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("gemm");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, sgemm_odd_sizes, 0, NISA * NCASES(sgemm_sizes));
    tcase_add_test(tc, gemm_pack_a_layout);
    tcase_add_loop_test(tc, gemm_packed_epilogue, 0, NISA * NCASES(sgemm_sizes));
    tcase_add_loop_test(tc, gemm_all_modes, 0, NISA * 20);
    tcase_add_loop_test(tc, matmul_batch_broadcast, 0, NISA * NCASES(matmul_cases));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *s = gemm_suite();
    return run_suites(&s, 1);
}
