/* main() of a generated executable: .npy inputs in, .npy outputs out (or a summary of the
 * outputs on stdout), --bench N for latency, --threads T. The generated code defines
 * CNNC_MODEL(x) to name its API, and CNNC_SIDECAR_WEIGHTS when weights live in a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define MAIN_MAX_IO 64

static double main_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int main_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void main_usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s IN.npy... [-o OUT.npy]... [--bench N] [--threads T]%s\n"
            "  inputs in graph-input order; without -o the outputs are summarized on stdout\n",
            prog,
#ifdef CNNC_SIDECAR_WEIGHTS
            " [--weights FILE]"
#else
            ""
#endif
    );
}

static void main_summarize(int index, const cnnc_shape *s, const float *y)
{
    int64_t rows = s->rank >= 2 ? s->dims[0] : 1, cols = s->count / (rows ? rows : 1);
    printf("output %d '%s' [", index, s->name);
    for (int i = 0; i < s->rank; i++)
        printf(i ? "x%lld" : "%lld", (long long)s->dims[i]);
    printf("]\n");
    for (int64_t r = 0; r < rows && r < 16; r++) {
        const float *v = y + r * cols;
        int64_t best = 0;
        for (int64_t j = 1; j < cols; j++)
            if (v[j] > v[best])
                best = j;
        printf("  row %lld: argmax %lld (value %g)\n", (long long)r, (long long)best, v[best]);
    }
}

#ifdef CNNC_SIDECAR_WEIGHTS
/* By default the weights file sits next to the executable. */
static int main_load_weights(const char *argv0, const char *given)
{
    char path[4096];
    if (given) {
        snprintf(path, sizeof path, "%s", given);
    } else {
        const char *slash = strrchr(argv0, '/');
        int dirlen = slash ? (int)(slash - argv0) : 1;
        snprintf(path, sizeof path, "%.*s/%s", dirlen, slash ? argv0 : ".",
                 CNNC_MODEL(weights_file_name));
    }
    if (CNNC_MODEL(load_weights)(path) != 0) {
        fprintf(stderr, "error: %s\n", CNNC_MODEL(last_error)());
        return 1;
    }
    return 0;
}
#endif

int main(int argc, char **argv)
{
    const char *in_paths[MAIN_MAX_IO], *out_paths[MAIN_MAX_IO], *weights = NULL;
    int nin = 0, nout = 0, bench = 0, ni = CNNC_MODEL(num_inputs)(),
        no = CNNC_MODEL(num_outputs)();
    float *inputs[MAIN_MAX_IO] = {0}, *outputs[MAIN_MAX_IO] = {0};
    char err[512];
    (void)weights;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc && nout < MAIN_MAX_IO) {
            out_paths[nout++] = argv[++i];
        } else if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc) {
            bench = atoi(argv[++i]);
            if (bench < 1) {
                fprintf(stderr, "error: --bench needs a positive count\n");
                return 1;
            }
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            int t = atoi(argv[++i]);
            if (t < 1) {
                fprintf(stderr, "error: --threads needs a positive count\n");
                return 1;
            }
#ifdef _OPENMP
            omp_set_num_threads(t);
#endif
        } else if (strcmp(argv[i], "--weights") == 0 && i + 1 < argc) {
            weights = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            main_usage(argv[0]);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "error: unknown option '%s'\n", argv[i]);
            main_usage(argv[0]);
            return 1;
        } else if (nin < MAIN_MAX_IO) {
            in_paths[nin++] = argv[i];
        }
    }
    if (nin != ni && !(nin == 0 && bench)) {
        fprintf(stderr, "error: the model takes %d input file%s, %d given\n", ni,
                ni == 1 ? "" : "s", nin);
        main_usage(argv[0]);
        return 1;
    }
    if (nout != 0 && nout != no) {
        fprintf(stderr, "error: the model has %d output%s, %d -o given\n", no,
                no == 1 ? "" : "s", nout);
        return 1;
    }
#ifdef CNNC_SIDECAR_WEIGHTS
    if (main_load_weights(argv[0], weights))
        return 1;
#endif
    for (int i = 0; i < ni; i++) {
        const cnnc_shape *s = CNNC_MODEL(input_shape)(i);
        if (nin == 0) {             /* --bench without inputs: zeros */
            inputs[i] = calloc((size_t)s->count + 1, sizeof(float));
            continue;
        }
        int rank;
        int64_t dims[NPY_MAX_RANK];
        if (npy_read_f32(in_paths[i], &rank, dims, &inputs[i], err, sizeof err)) {
            fprintf(stderr, "error: %s\n", err);
            return 1;
        }
        int same = rank == s->rank;
        for (int d = 0; same && d < rank; d++)
            same = dims[d] == s->dims[d];
        if (!same) {
            fprintf(stderr, "error: %s: shape (", in_paths[i]);
            for (int d = 0; d < rank; d++)
                fprintf(stderr, d ? ", %lld" : "%lld", (long long)dims[d]);
            fprintf(stderr, ") does not match input '%s' [", s->name);
            for (int d = 0; d < s->rank; d++)
                fprintf(stderr, d ? "x%lld" : "%lld", (long long)s->dims[d]);
            fprintf(stderr, "]\n");
            return 1;
        }
    }
    for (int i = 0; i < no; i++) {
        outputs[i] = malloc((size_t)CNNC_MODEL(output_shape)(i)->count * sizeof(float) + 1);
        if (!outputs[i]) {
            fprintf(stderr, "error: out of memory\n");
            return 1;
        }
    }
    if (CNNC_MODEL(run)((const float *const *)inputs, outputs) != 0) {
        fprintf(stderr, "error: the model failed to run\n");
        return 1;
    }
    if (bench) {
        double *ms = malloc(sizeof(double) * (size_t)bench);
        for (int r = 0; ms && r < bench; r++) {
            double t0 = main_now_ms();
            CNNC_MODEL(run)((const float *const *)inputs, outputs);
            ms[r] = main_now_ms() - t0;
        }
        if (ms) {
            qsort(ms, (size_t)bench, sizeof(double), main_cmp_double);
            printf("bench: %d runs, min %.3f ms, median %.3f ms\n", bench, ms[0],
                   bench % 2 ? ms[bench / 2] : (ms[bench / 2 - 1] + ms[bench / 2]) / 2);
            free(ms);
        }
    }
    for (int i = 0; i < no; i++) {
        const cnnc_shape *s = CNNC_MODEL(output_shape)(i);
        if (nout) {
            if (npy_write_f32(out_paths[i], s->rank, s->dims, outputs[i])) {
                fprintf(stderr, "error: cannot write %s\n", out_paths[i]);
                return 1;
            }
        } else if (!bench) {
            main_summarize(i, s, outputs[i]);
        }
    }
    for (int i = 0; i < ni; i++)
        free(inputs[i]);
    for (int i = 0; i < no; i++)
        free(outputs[i]);
    return 0;
}
