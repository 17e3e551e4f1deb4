/* Shared by the unit suites: reproducible random data, tolerant float comparison and
 * scratch directories. */
#ifndef CNNC_TEST_UTIL_H
#define CNNC_TEST_UTIL_H
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "runtime/rt.h"

/* A 64-bit LCG (Knuth's MMIX constants): the same numbers on every host and libc. */
typedef struct { uint64_t s; } Lcg;
void lcg_seed(Lcg *r, uint64_t seed);
uint32_t lcg_u32(Lcg *r);
float lcg_float(Lcg *r, float lo, float hi);
void fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);
float *alloc_uniform(size_t n, uint64_t seed, float lo, float hi);   /* malloc'd */

/* Index of the first element with |got - want| > atol + rtol * |want|, or -1. NaN in
 * either is a mismatch unless both are NaN. */
long first_mismatch(const float *got, const float *want, size_t n, double rtol, double atol);

#define EXPECT_CLOSE(got, want, n, rtol, atol) do {                                        \
        const float *g_ = (got), *w_ = (want);                                             \
        long i_ = first_mismatch(g_, w_, (n), (rtol), (atol));                             \
        ck_assert_msg(i_ < 0, "element %ld of %zu: got %.9g, want %.9g", i_, (size_t)(n),  \
                      i_ < 0 ? 0.0 : (double)g_[i_], i_ < 0 ? 0.0 : (double)w_[i_]);       \
    } while (0)

#define EXPECT_CONTAINS(haystack, needle) \
    ck_assert_msg(strstr((haystack), (needle)) != NULL, "'%s' does not contain '%s'", \
                  (haystack), (needle))

/* Scalar references shared by the kernel suites: an activation as ONNX defines it, in
 * double (alpha/beta as in RtAct: Clip min/max, LeakyRelu slope, HardSigmoid alpha/beta). */
double ref_act(RtAct act, double x, double alpha, double beta);

/* The GEMM micro-kernel is chosen once per process from the CPU, or lowered by CNNC_ISA.
 * Check forks every test, so each loop iteration can pick one: 0 scalar, 1 AVX2, 2 the best
 * this CPU has (a CPU without one simply runs a lesser one twice). */
#define NISA 3
void use_isa(int k);

/* A fresh directory under $TMPDIR (or /tmp); tmpdir_remove deletes it and its contents. */
char *tmpdir_make(void);
void tmpdir_remove(char *dir);
char *path_join(const char *dir, const char *name);                     /* malloc'd */
bool write_bytes(const char *path, const void *data, size_t len);
void *read_bytes(const char *path, size_t *len);                        /* malloc'd */

/* Runs every suite given, in fork mode, and returns the process exit code. */
int run_suites(Suite *const *suites, int n);
#endif
