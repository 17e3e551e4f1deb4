/* Command-line parsing for cnnc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "options.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: cnnc MODEL.onnx -o OUTPUT [options]\n"
        "       cnnc --summary MODEL.onnx      cnnc --list-ops\n"
        "\n"
        "Compiles an ONNX convolutional network into code that runs without a framework.\n"
        "  -o FILE              output; FILE.c writes portable C plus FILE.h\n"
        "                       model (no extension): executable, model.o: object,\n"
        "                       libmodel.so: shared library (+ model.h), model.ll: LLVM IR,\n"
        "                       model.s: assembly\n"
        "  --emit=c|exe|obj|so|ll|asm  output kind (default: from the extension)\n"
        "  --target=TRIPLE      native outputs for TRIPLE (default: this host)\n"
        "  --cpu=NAME           CPU to tune and select instructions for (default: this\n"
        "                       host's CPU and features; x86-64 runs on any x86-64)\n"
        "  --main               add main(): ./model in.npy -o out.npy [--bench N] [--threads T]\n"
        "  --name PREFIX        prefix of the generated C API (default: from the output name)\n"
        "  --weights=FILE       keep the weights in FILE instead of the C source\n"
        "                       (automatic above 128 MiB of weights)\n"
        "  --input-shape [NAME=]1x3x224x224\n"
        "                       fix an input's symbolic dimensions (default: 1)\n"
        "  -O0 | -O1 | -O2 | -O3  optimization level (default -O2; -O0 is the unfused\n"
        "                       baseline; -O3 adds Winograd convolutions, slightly less\n"
        "                       exact, and LLVM's most aggressive level)\n"
        "  --no-fuse            no fusion passes\n"
        "  --disable-pass=NAME  skip one pass (see -v for their names)\n"
        "  --dump-ir[=after-PASS]  print the graph after import, or after a pass ('all')\n"
        "  --summary            print the per-layer table and memory figures\n"
        "  --dot FILE           write the optimized graph for Graphviz (--dot-input FILE:\n"
        "                       the graph as imported)\n"
        "  --list-ops           print the supported operators and opsets\n"
        "  -v, --quiet          more or no progress output\n"
        "  --help, --version\n");
}

static int parse_shape(Options *o, const char *arg)
{
    ShapeOverride *s = &o->shapes[o->nshapes];
    const char *eq = strrchr(arg, '=');
    const char *dims = eq ? eq + 1 : arg;
    if (o->nshapes == 16) {
        fprintf(stderr, "cnnc: too many --input-shape options\n");
        return 1;
    }
    s->name = NULL;
    if (eq) {
        char *name = o->shape_names[o->nshapes];
        if ((size_t)(eq - arg) >= sizeof o->shape_names[0]) {
            fprintf(stderr, "cnnc: --input-shape: the input name is too long\n");
            return 1;
        }
        memcpy(name, arg, (size_t)(eq - arg));
        name[eq - arg] = 0;
        s->name = name;
    }
    s->rank = 0;
    while (*dims) {
        char *end;
        long long v = strtoll(dims, &end, 10);
        if (end == dims || v < 1 || v > ((long long)1 << 40) || s->rank == CNNC_MAX_RANK ||
            (*end && *end != 'x' && *end != ',')) {
            fprintf(stderr, "cnnc: --input-shape '%s': expected [NAME=]D1xD2x... with positive "
                    "dimensions\n", arg);
            return 1;
        }
        s->dims[s->rank++] = v;
        dims = *end ? end + 1 : end;
    }
    if (s->rank == 0) {
        fprintf(stderr, "cnnc: --input-shape '%s' has no dimensions\n", arg);
        return 1;
    }
    o->nshapes++;
    return 0;
}

static EmitKind emit_from_name(const char *s)
{
    return !strcmp(s, "c") ? EMIT_C : !strcmp(s, "exe") ? EMIT_EXE : !strcmp(s, "obj") ? EMIT_OBJ
         : !strcmp(s, "so") ? EMIT_SO : !strcmp(s, "ll") ? EMIT_LL : !strcmp(s, "asm") ? EMIT_ASM
         : EMIT_NONE;
}

static EmitKind emit_from_extension(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash))
        return EMIT_EXE;
    return !strcmp(dot, ".c") ? EMIT_C : !strcmp(dot, ".o") ? EMIT_OBJ
         : !strcmp(dot, ".so") ? EMIT_SO : !strcmp(dot, ".ll") ? EMIT_LL
         : !strcmp(dot, ".s") ? EMIT_ASM : EMIT_EXE;
}

/* "--opt=value" or "--opt value" */
static const char *value_of(const char *opt, int argc, char **argv, int *i)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (strcmp(argv[*i], opt) == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int options_parse(Options *o, int argc, char **argv)
{
    const char *v;
    memset(o, 0, sizeof *o);
    o->pipe.level = 2;
    o->opt_level = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 2;
        } else if (!strcmp(a, "--version")) {
            printf("cnnc %s\n", CNNC_VERSION);
            return 2;
        } else if (!strcmp(a, "-o") || ((!strcmp(a, "--name") || !strcmp(a, "--emit") ||
                    !strcmp(a, "--weights") || !strcmp(a, "--input-shape") ||
                    !strcmp(a, "--disable-pass") || !strcmp(a, "--target") ||
                    !strcmp(a, "--cpu")) && i + 1 == argc)) {
            if (i + 1 == argc) {
                fprintf(stderr, "cnnc: option '%s' needs a value\n", a);
                return 1;
            }
            o->output = argv[++i];
        } else if ((v = value_of("--emit", argc, argv, &i))) {
            if ((o->emit = emit_from_name(v)) == EMIT_NONE) {
                fprintf(stderr, "cnnc: --emit=%s: expected c, exe, obj, so, ll or asm\n", v);
                return 1;
            }
        } else if ((v = value_of("--target", argc, argv, &i))) {
            o->target = v;
        } else if ((v = value_of("--cpu", argc, argv, &i))) {
            o->cpu = v;
        } else if ((v = value_of("--dot-input", argc, argv, &i))) {
            o->dot_input = v;
        } else if ((v = value_of("--dot", argc, argv, &i))) {
            o->dot = v;
        } else if ((v = value_of("--name", argc, argv, &i))) {
            o->prefix = v;
        } else if ((v = value_of("--weights", argc, argv, &i))) {
            o->weights = v;
        } else if ((v = value_of("--input-shape", argc, argv, &i))) {
            if (parse_shape(o, v))
                return 1;
        } else if ((v = value_of("--disable-pass", argc, argv, &i))) {
            if (o->pipe.ndisabled < 16)
                o->pipe.disabled[o->pipe.ndisabled++] = v;
        } else if (!strncmp(a, "--dump-ir", 9)) {
            o->dump_ir = true;
            if (a[9] == '=')
                o->pipe.dump_after = strncmp(a + 10, "after-", 6) ? a + 10 : a + 16;
        } else if (!strcmp(a, "-O0") || !strcmp(a, "-O1") || !strcmp(a, "-O2") ||
                   !strcmp(a, "-O3")) {
            o->opt_level = a[2] - '0';
            o->pipe.level = o->opt_level > 2 ? 2 : o->opt_level;
        } else if (!strcmp(a, "--no-fuse")) {
            if (o->pipe.ndisabled < 15) {
                o->pipe.disabled[o->pipe.ndisabled++] = "fold_batchnorm";
                o->pipe.disabled[o->pipe.ndisabled++] = "fuse_epilogue";
            }
        } else if (!strcmp(a, "--main")) {
            o->with_main = true;
        } else if (!strcmp(a, "--summary")) {
            o->summary = true;
        } else if (!strcmp(a, "--list-ops")) {
            o->list_ops = true;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o->verbose = o->pipe.verbose = true;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o->quiet = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "cnnc: unknown option '%s' (see cnnc --help)\n", a);
            return 1;
        } else if (!o->model) {
            o->model = a;
        } else {
            fprintf(stderr, "cnnc: more than one model given ('%s' and '%s')\n", o->model, a);
            return 1;
        }
    }
    if (o->list_ops)
        return 0;
    if (!o->model) {
        usage(stderr);
        return 1;
    }
    if (!o->output && !o->summary && !o->dump_ir && !o->dot && !o->dot_input) {
        fprintf(stderr, "cnnc: no output given: use -o FILE (or --summary, --dump-ir, --dot)\n");
        return 1;
    }
    if (o->output && o->emit == EMIT_NONE)
        o->emit = emit_from_extension(o->output);
    return 0;
}
