/* Test support: see util.h. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

void lcg_seed(Lcg *r, uint64_t seed)
{
    r->s = seed * 2862933555777941757ull + 3037000493ull;
}

uint32_t lcg_u32(Lcg *r)
{
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(r->s >> 33);      /* the high bits: the low ones of an LCG are weak */
}

float lcg_float(Lcg *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)lcg_u32(r) / 2147483648.0);
}

void fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi)
{
    Lcg r;
    lcg_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = lcg_float(&r, lo, hi);
}

float *alloc_uniform(size_t n, uint64_t seed, float lo, float hi)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    ck_assert_ptr_nonnull(x);
    fill_uniform(x, n, seed, lo, hi);
    return x;
}

long first_mismatch(const float *got, const float *want, size_t n, double rtol, double atol)
{
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        if (isnan(g) || isnan(w)) {
            if (!(isnan(g) && isnan(w)))
                return (long)i;
            continue;
        }
        if (isinf(w) || isinf(g)) {
            if (g != w)
                return (long)i;
            continue;
        }
        if (fabs(g - w) > atol + rtol * fabs(w))
            return (long)i;
    }
    return -1;
}

double ref_act(RtAct act, double x, double alpha, double beta)
{
    switch (act) {
    case RT_ACT_NONE:        return x;
    case RT_ACT_RELU:        return x > 0 ? x : 0;
    case RT_ACT_CLIP:        return fmin(fmax(x, alpha), beta);
    case RT_ACT_LEAKYRELU:   return x >= 0 ? x : alpha * x;
    case RT_ACT_SIGMOID:     return 1 / (1 + exp(-x));
    case RT_ACT_TANH:        return tanh(x);
    case RT_ACT_HARDSIGMOID: return fmax(0, fmin(1, alpha * x + beta));
    case RT_ACT_HARDSWISH:   return x * fmax(0, fmin(1, x / 6 + 0.5));
    case RT_ACT_SILU:        return x / (1 + exp(-x));
    case RT_ACT_EXP:         return exp(x);
    case RT_ACT_LOG:         return log(x);
    case RT_ACT_SQRT:        return sqrt(x);
    case RT_ACT_NEG:         return -x;
    case RT_ACT_ABS:         return fabs(x);
    case RT_ACT_ERF:         return erf(x);
    case RT_ACT_RECIPROCAL:  return 1 / x;
    case RT_ACT_COUNT:       break;
    }
    ck_abort_msg("activation %d has no reference", (int)act);
    return 0;
}

void use_isa(int k)
{
    static const char *const isas[NISA] = { "scalar", "avx2", NULL };
    if (isas[k])
        setenv("CNNC_ISA", isas[k], 1);
    else
        unsetenv("CNNC_ISA");
}

char *tmpdir_make(void)
{
    const char *base = getenv("TMPDIR");
    char *p = path_join(base && *base ? base : "/tmp", "cnnc-unit-XXXXXX");
    ck_assert_msg(mkdtemp(p) != NULL, "mkdtemp failed");
    return p;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

void tmpdir_remove(char *dir)
{
    if (dir)
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

bool write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(data, 1, len, f) == len;
    return (fclose(f) == 0) && ok;
}

void *read_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, k;
    char *buf = malloc(cap);
    while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

int run_suites(Suite *const *suites, int n)
{
    SRunner *sr = srunner_create(suites[0]);
    for (int i = 1; i < n; i++)
        srunner_add_suite(sr, suites[i]);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
