/* cnnc: import, optimize, lower, emit. Every failure ends here as one message and exit 1,
 * with no output file left behind. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "options.h"
#include "backend/emit_c.h"
#include "backend/emit_llvm.h"
#include "backend/schedule.h"
#include "backend/summary.h"

#define AUTO_SIDECAR_BYTES ((size_t)128 << 20)

static void list_ops(void)
{
    printf("%-22s %s\n", "operator", "opsets");
    for (int i = 0; i < OP_COUNT; i++)
        if (!(op_info[i].flags & OPF_INTERNAL))
            printf("%-22s %d-%d\n", op_info[i].onnx, op_info[i].min_opset, op_info[i].max_opset);
}

/* "out/resnet-18.c" -> "resnet_18" */
static char *default_prefix(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    char *p = malloc(n + 3);
    if (!p)
        return NULL;
    size_t k = 0;
    if (n == 0 || isdigit((unsigned char)base[0]))
        p[k++] = 'm', p[k++] = '_';
    for (size_t i = 0; i < n; i++)
        p[k++] = isalnum((unsigned char)base[i]) ? base[i] : '_';
    p[k] = 0;
    return p;
}

static char *with_extension(const char *path, const char *ext)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    size_t n = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
    char *p = malloc(n + strlen(ext) + 1);
    if (p) {
        memcpy(p, path, n);
        strcpy(p + n, ext);
    }
    return p;
}

static bool valid_prefix(const char *p)
{
    if (!*p || isdigit((unsigned char)*p))
        return false;
    for (; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

/* Native outputs through LLVM. "libmodel.so" names the API model_* and its header model.h;
 * objects get a header too; executables, IR and assembly do not. */
static bool emit_native(Options *o, Schedule *s, OutputSet *out, Diag *d)
{
    static const LlvmEmit kinds[] = {
        [EMIT_EXE] = LLVM_EMIT_EXE, [EMIT_OBJ] = LLVM_EMIT_OBJ, [EMIT_SO] = LLVM_EMIT_SO,
        [EMIT_LL] = LLVM_EMIT_LL, [EMIT_ASM] = LLVM_EMIT_ASM,
    };
    if (o->weights)
        return diag_error(d, "--weights is for C output: native outputs embed the weights");
    char *stem = strdup(o->output);
    if (!stem)
        return diag_error(d, "out of memory");
    char *base = strrchr(stem, '/') ? strrchr(stem, '/') + 1 : stem;
    if (o->emit == EMIT_SO && !strncmp(base, "lib", 3) && base[3] && base[3] != '.')
        memmove(base, base + 3, strlen(base + 3) + 1);
    char *h = o->emit == EMIT_OBJ || o->emit == EMIT_SO ? with_extension(stem, ".h") : NULL;
    char *prefix = o->prefix ? strdup(o->prefix) : default_prefix(stem);
    bool ok = prefix && (h || (o->emit != EMIT_OBJ && o->emit != EMIT_SO));
    if (!ok)
        diag_error(d, "out of memory");
    else if (!valid_prefix(prefix))
        ok = diag_error(d, "--name '%s' is not a C identifier", prefix);
    if (ok) {
        EmitLlvmOptions lo = {
            .kind = kinds[o->emit], .path = o->output, .h_path = h, .prefix = prefix,
            .model_name = o->model, .triple = o->target, .cpu = o->cpu,
            .opt_level = o->opt_level, .verbose = o->verbose,
        };
        ok = emit_llvm(s, &lo, out, d);
    }
    free(stem);
    free(h);
    free(prefix);
    return ok;
}

static bool emit_output(Options *o, Schedule *s, OutputSet *out, Diag *d)
{
    if (o->emit != EMIT_C)
        return emit_native(o, s, out, d);
    char *h = with_extension(o->output, ".h"), *auto_w = with_extension(o->output, ".weights");
    char *prefix = o->prefix ? strdup(o->prefix) : default_prefix(o->output);
    bool ok = h && auto_w && prefix;
    if (!ok)
        diag_error(d, "out of memory");
    else if (!valid_prefix(prefix))
        ok = diag_error(d, "--name '%s' is not a C identifier", prefix);
    else if (strpbrk(o->output, "\"\\\n\r\t") || (o->weights && strpbrk(o->weights, "\"\\\n\r\t")))
        ok = diag_error(d, "output name '%s' contains a quote, backslash or control character, "
                        "which cannot appear in generated C", o->weights && strpbrk(o->weights, "\"\\\n\r\t") ? o->weights : o->output);
    if (ok) {
        EmitCOptions eo = {
            .c_path = o->output, .h_path = h, .prefix = prefix, .weights_path = o->weights,
            .model_name = o->model, .with_main = o->with_main,
            .progress = !o->quiet && isatty(2) && s->weight_bytes > ((size_t)16 << 20),
        };
        if (!eo.weights_path && s->weight_bytes > AUTO_SIDECAR_BYTES) {
            eo.weights_path = auto_w;
            if (!o->quiet)
                fprintf(stderr, "cnnc: %zu MB of weights: writing them to %s (embedding "
                        "them would make the C file slow to build)\n", s->weight_bytes >> 20,
                        auto_w);
        }
        ok = emit_c(s, &eo, out, d);
    }
    free(h);
    free(auto_w);
    free(prefix);
    return ok;
}

int main(int argc, char **argv)
{
    Options o;
    Diag d = {0};
    OutputSet out = {0};
    int r = options_parse(&o, argc, argv);
    if (r)
        return r == 2 ? 0 : 1;
    if (o.list_ops) {
        list_ops();
        return 0;
    }
    ImportOptions io = { o.shapes, o.nshapes, o.verbose };
    Graph *g = onnx_import(o.model, &io, &d);
    Schedule *s = NULL;
    bool ok = g != NULL;
    if (ok && o.dump_ir && !o.pipe.dump_after) {
        if (!graph_infer_shapes(g, &d) && !d.failed)
            ok = false;
        d = (Diag){ .path = o.model };      /* shapes may need folding first: dump anyway */
        graph_dump(g, stdout);
    }
    if (ok && o.dot_input) {
        FILE *f = output_open(&out, o.dot_input, &d);
        ok = f != NULL;
        if (ok)
            graph_write_dot(g, f);
    }
    if (ok) {
        o.pipe.dump = stdout;
        ok = pipeline_run(g, &o.pipe, &d);
    }
    if (ok && o.dot) {
        FILE *f = output_open(&out, o.dot, &d);
        ok = f != NULL;
        if (ok)
            graph_write_dot(g, f);
    }
    if (ok && (o.output || o.summary)) {
        g->winograd = o.opt_level >= 3;
        s = schedule_lower(g, &d);
        if (s)
            s->share_buffers = o.pipe.level >= 1;
        ok = s && plan_memory(s, &d);
    }
    if (ok && o.summary)
        summary_print(stdout, s);
    if (ok && o.output)
        ok = emit_output(&o, s, &out, &d);
    if (ok)
        ok = output_commit(&out, &d);
    if (!ok) {
        output_abort(&out);
        fprintf(stderr, "cnnc: error: %s\n", d.msg[0] ? d.msg : "failed");
    }
    schedule_free(s);
    graph_free(g);
    return ok ? 0 : 1;
}
