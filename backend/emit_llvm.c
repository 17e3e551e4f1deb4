/* The LLVM emitter builds, with LLVM's C API, the same program the C emitter prints: one
 * function PREFIX_run_with_arena calling the runtime's kernels by name in schedule order,
 * each with its parameter arrays as constant globals and its tensor pointers in a stack
 * array; the weights as one constant byte array; the arena as a zeroed global; and the rest
 * of the API of the generated header. The runtime's kernels, compiled to bitcode by clang
 * at build time and embedded in cnnc, are linked into the module and made internal, so the
 * optimizer sees every call with its constant shapes and can inline and specialize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/Core.h>
#include <llvm-c/ErrorHandling.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include "emit_c.h"
#include "emit_llvm.h"

extern const unsigned char cnnc_runtime_bitcode[];
extern const size_t cnnc_runtime_bitcode_size;

/* The API, in the order of the header. An executable's main() (runtime/exe_main.c) calls
 * the api_in_main ones through aliases with fixed names, cnnc_model_*. */
enum { API_RUN, API_RUN_WITH_ARENA, API_NUM_INPUTS, API_NUM_OUTPUTS, API_INPUT_SHAPE,
       API_OUTPUT_SHAPE, API_ARENA_BYTES, API_WEIGHT_BYTES, API_LAST_ERROR, API_COUNT };
static const char *const api_names[API_COUNT] = {
    "run", "run_with_arena", "num_inputs", "num_outputs", "input_shape", "output_shape",
    "arena_bytes", "weight_bytes", "last_error",
};
static const bool api_in_main[API_COUNT] = { 1, 0, 1, 1, 1, 1, 0, 0, 1 };

typedef struct {
    char *triple, *cpu, *features;      /* LLVM messages */
    LLVMTargetMachineRef tm;
} Target;

typedef struct {
    const Schedule *s;
    const EmitLlvmOptions *o;
    LLVMContextRef ctx;
    LLVMModuleRef m;
    LLVMBuilderRef b;
    LLVMTypeRef i8, i32, i64, f32, ptr, kernel_t, shape_t;
    LLVMValueRef weights, arena, error;
    LLVMValueRef api[API_COUNT];
} Emitter;

/* LLVM reports some errors (an instruction the target cannot select) by exiting: the
 * partial outputs must go first. */
static OutputSet *fatal_outputs;
static char *fatal_object;              /* the linker's input, not an output */
static const char *fatal_cpu;           /* --cpu, the usual suspect */

static void on_fatal_error(const char *reason)
{
    fprintf(stderr, "cnnc: error: LLVM: %s\n", reason);
    if (fatal_cpu)
        fprintf(stderr, "cnnc: note: is --cpu=%s a CPU of the target?\n", fatal_cpu);
    if (fatal_outputs)
        output_abort(fatal_outputs);
    if (fatal_object)
        unlink(fatal_object);
}

/* LLVM's diagnostics: its warnings (a kernel loop that a pragma asked to vectorize and
 * could not be) are about cnnc's runtime, not the user's model, so they show only with -v;
 * remarks never; an error fails the compile. */
typedef struct {
    bool verbose;
    char error[512];
} DiagSink;

static void on_diagnostic(LLVMDiagnosticInfoRef info, void *ctx)
{
    DiagSink *sink = ctx;
    LLVMDiagnosticSeverity sev = LLVMGetDiagInfoSeverity(info);
    char *msg = LLVMGetDiagInfoDescription(info);
    if (sev == LLVMDSError && !sink->error[0])
        snprintf(sink->error, sizeof sink->error, "%s", msg);
    else if (sink->verbose && sev == LLVMDSWarning)
        fprintf(stderr, "cnnc: llvm: warning: %s\n", msg);
    LLVMDisposeMessage(msg);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void report(const EmitLlvmOptions *o, const char *what, double *t0)
{
    double t = now_s();
    if (o->verbose)
        fprintf(stderr, "cnnc: llvm: %-22s %7.3f s\n", what, t - *t0);
    *t0 = t;
}

/* ---- target ---- */

static bool same_arch(const char *a, const char *b)
{
    size_t n = strcspn(a, "-");
    return n == strcspn(b, "-") && strncmp(a, b, n) == 0;
}

static void target_close(Target *t)
{
    if (t->tm)
        LLVMDisposeTargetMachine(t->tm);
    LLVMDisposeMessage(t->triple);
    LLVMDisposeMessage(t->cpu);
    LLVMDisposeMessage(t->features);
    memset(t, 0, sizeof *t);
}

/* Above this much static data, x86-64 code uses the medium code model, which reaches big
 * arrays with 64-bit addresses: the small model's 32-bit offsets stop at 2 GiB. */
#define BIG_DATA_BYTES ((size_t)1 << 30)

static bool target_open(Target *t, const EmitLlvmOptions *o, size_t data_bytes, Diag *d)
{
    static bool initialized;
    if (!initialized) {
        LLVMInitializeAllTargetInfos();
        LLVMInitializeAllTargets();
        LLVMInitializeAllTargetMCs();
        LLVMInitializeAllAsmPrinters();
        LLVMInitializeAllAsmParsers();
        initialized = true;
    }
    char *host = LLVMGetDefaultTargetTriple(), *err = NULL;
    t->triple = LLVMNormalizeTargetTriple(o->triple ? o->triple : host);
    bool host_arch = same_arch(t->triple, host);
    LLVMDisposeMessage(host);
    bool native = !o->cpu || !strcmp(o->cpu, "native");
    if (native && !host_arch && o->cpu)
        return diag_error(d, "--cpu=native: the target '%s' is not this host's", t->triple);
    if (native && host_arch) {
        t->cpu = LLVMGetHostCPUName();
        t->features = LLVMGetHostCPUFeatures();
    } else {
        t->cpu = LLVMCreateMessage(o->cpu ? o->cpu : "generic");
        t->features = LLVMCreateMessage("");
    }
    LLVMTargetRef target;
    if (LLVMGetTargetFromTriple(t->triple, &target, &err)) {
        diag_error(d, "--target '%s': %s", o->triple ? o->triple : t->triple, err);
        LLVMDisposeMessage(err);
        return false;
    }
    static const LLVMCodeGenOptLevel levels[4] = {
        LLVMCodeGenLevelLess,   /* -O0 means no model-level passes, not slow kernels */
        LLVMCodeGenLevelLess, LLVMCodeGenLevelDefault, LLVMCodeGenLevelAggressive,
    };
    int level = o->opt_level < 0 ? 0 : o->opt_level > 3 ? 3 : o->opt_level;
    bool medium = data_bytes > BIG_DATA_BYTES && !strncmp(t->triple, "x86_64", 6);
    t->tm = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features, levels[level],
                                    LLVMRelocPIC,
                                    medium ? LLVMCodeModelMedium : LLVMCodeModelDefault);
    if (!t->tm)
        return diag_error(d, "cannot create a target machine for '%s' (cpu '%s')", t->triple,
                          t->cpu);
    return true;
}

/* Every function compiles for the chosen CPU; a kernel's own features (a micro-kernel
 * built with __attribute__((target("avx2"))), chosen at run time) come last and win. */
static void set_target_attrs(LLVMValueRef f, const Target *t)
{
    unsigned idx = LLVMAttributeFunctionIndex, len = 0;
    LLVMAttributeRef a = LLVMGetStringAttributeAtIndex(f, idx, "target-features", 15);
    const char *own = a ? LLVMGetStringAttributeValue(a, &len) : "";
    size_t nf = strlen(t->features);
    char *features = malloc(nf + len + 2);
    if (!features)
        return;
    snprintf(features, nf + len + 2, "%s%s%.*s", t->features, nf && len ? "," : "", (int)len,
             own);
    LLVMRemoveStringAttributeAtIndex(f, idx, "target-cpu", 10);
    LLVMRemoveStringAttributeAtIndex(f, idx, "target-features", 15);
    LLVMAddTargetDependentFunctionAttr(f, "target-cpu", t->cpu);
    if (*features)
        LLVMAddTargetDependentFunctionAttr(f, "target-features", features);
    free(features);
}

/* ---- module building ---- */

static LLVMValueRef const_i64(Emitter *e, uint64_t v)
{
    return LLVMConstInt(e->i64, v, 0);
}

static LLVMValueRef const_i32(Emitter *e, int v)
{
    return LLVMConstInt(e->i32, (unsigned long long)(long long)v, 1);
}

static LLVMValueRef private_global(Emitter *e, LLVMValueRef init, const char *name)
{
    LLVMValueRef g = LLVMAddGlobal(e->m, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
    return g;
}

static LLVMValueRef const_string(Emitter *e, const char *s, const char *name)
{
    return private_global(e, LLVMConstStringInContext(e->ctx, s, (unsigned)strlen(s), 0), name);
}

static void add_fn_attr(Emitter *e, LLVMValueRef f, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(e->ctx, kind, 0));
}

static LLVMValueRef add_api(Emitter *e, int which, LLVMTypeRef ret, LLVMTypeRef *params,
                            unsigned n)
{
    size_t len = strlen(e->o->prefix) + 32;
    char *name = malloc(len);
    if (!name)
        return NULL;
    snprintf(name, len, "%s_%s", e->o->prefix, api_names[which]);
    LLVMValueRef f = LLVMAddFunction(e->m, name, LLVMFunctionType(ret, params, n, 0));
    free(name);
    add_fn_attr(e, f, "nounwind");
    LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->ctx, f, "entry"));
    e->api[which] = f;
    return f;
}

/* The weight blob: each constant at its planned offset, zeros between and after. */
static bool build_weights(Emitter *e, Diag *d)
{
    const Schedule *s = e->s;
    LLVMValueRef init;
    if (s->weight_bytes > 0xffffffffu)
        return diag_error(d, "%zu bytes of weights: the LLVM backend handles up to 4 GiB",
                          s->weight_bytes);
    if (s->weight_bytes) {
        char *blob = calloc(1, s->weight_bytes);
        if (!blob)
            return diag_error(d, "out of memory for %zu bytes of weights", s->weight_bytes);
        for (int i = 0; i < s->nweights; i++) {
            const Value *v = s->weights[i];
            memcpy(blob + s->where[v->id].offset, v->data, value_bytes(v));
        }
        init = LLVMConstStringInContext(e->ctx, blob, (unsigned)s->weight_bytes, 1);
        free(blob);
    } else {
        init = LLVMConstNull(LLVMArrayType(e->i8, 1));
    }
    e->weights = private_global(e, init, "cnnc_weights");
    LLVMSetLinkage(e->weights, LLVMInternalLinkage);
    LLVMSetAlignment(e->weights, CNNC_ALIGN);
    return true;
}

static bool build_arena(Emitter *e, Diag *d)
{
    size_t n = e->s->arena_bytes ? e->s->arena_bytes : 1;
    if (n > 0xffffffffu)
        return diag_error(d, "%zu bytes of arena: the LLVM backend handles up to 4 GiB", n);
    LLVMTypeRef t = LLVMArrayType(e->i8, (unsigned)n);
    e->arena = LLVMAddGlobal(e->m, t, "cnnc_arena");
    LLVMSetInitializer(e->arena, LLVMConstNull(t));
    LLVMSetLinkage(e->arena, LLVMInternalLinkage);
    LLVMSetAlignment(e->arena, CNNC_ALIGN);
    return true;
}

static LLVMValueRef shape_table(Emitter *e, Value **v, int n, const char *kind)
{
    LLVMValueRef *rows = calloc((size_t)n + 1, sizeof *rows);
    if (!rows)
        return NULL;
    for (int i = 0; i < n; i++) {
        LLVMValueRef dims[8];
        char name[64];
        for (int k = 0; k < 8; k++)
            dims[k] = const_i64(e, k < v[i]->rank ? (uint64_t)v[i]->dims[k] : 0);
        snprintf(name, sizeof name, "%s.name.%d", kind, i);
        LLVMValueRef fields[4] = {
            const_string(e, v[i]->name, name), const_i32(e, v[i]->rank),
            LLVMConstArray(e->i64, dims, 8), const_i64(e, (uint64_t)value_numel(v[i])),
        };
        rows[i] = LLVMConstNamedStruct(e->shape_t, fields, 4);
    }
    char name[64];
    snprintf(name, sizeof name, "%s_shapes", kind);
    LLVMValueRef g = private_global(e, LLVMConstArray(e->shape_t, rows, (unsigned)n), name);
    LLVMSetLinkage(g, LLVMInternalLinkage);
    free(rows);
    return g;
}

/* PREFIX_input_shape(i): &table[i] when 0 <= i < n (one unsigned compare), else NULL. */
static void build_shape_getter(Emitter *e, int which, Value **v, int n, const char *kind)
{
    LLVMValueRef f = add_api(e, which, e->ptr, &e->i32, 1);
    if (n == 0) {
        LLVMBuildRet(e->b, LLVMConstNull(e->ptr));
        return;
    }
    LLVMValueRef table = shape_table(e, v, n, kind), i = LLVMGetParam(f, 0);
    LLVMValueRef ok = LLVMBuildICmp(e->b, LLVMIntULT, i, const_i32(e, n), "ok");
    LLVMValueRef idx = LLVMBuildZExt(e->b, i, e->i64, "");
    LLVMValueRef p = LLVMBuildGEP2(e->b, e->shape_t, table, &idx, 1, "p");
    LLVMBuildRet(e->b, LLVMBuildSelect(e->b, ok, p, LLVMConstNull(e->ptr), ""));
}

static void build_const_getter(Emitter *e, int which, LLVMTypeRef t, LLVMValueRef v)
{
    add_api(e, which, t, NULL, 0);
    LLVMBuildRet(e->b, v);
}

/* if (bad) { cnnc_error = msg; return 1; } */
static void fail_if(Emitter *e, LLVMValueRef fn, LLVMValueRef bad, const char *msg)
{
    LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(e->ctx, fn, "null");
    LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(e->ctx, fn, "ok");
    LLVMBuildCondBr(e->b, bad, fail, ok);
    LLVMPositionBuilderAtEnd(e->b, fail);
    LLVMBuildStore(e->b, const_string(e, msg, "msg"), e->error);
    LLVMBuildRet(e->b, const_i32(e, 1));
    LLVMPositionBuilderAtEnd(e->b, ok);
}

static LLVMValueRef byte_offset(Emitter *e, LLVMValueRef base, size_t off, bool constant)
{
    LLVMValueRef idx = const_i64(e, off);
    if (constant)
        return LLVMConstInBoundsGEP2(e->i8, base, &idx, 1);
    return LLVMBuildInBoundsGEP2(e->b, e->i8, base, &idx, 1, "");
}

typedef struct {
    LLVMValueRef arena, *in, *out;
} RunArgs;

/* The pointer the C emitter prints for tensor j of a step (print_tensor in emit_c.c). */
static LLVMValueRef tensor_ptr(Emitter *e, const RunArgs *r, const Step *st, int j)
{
    const Value *v = st->t[j];
    if (j == st->ws_slot)
        return byte_offset(e, r->arena, st->ws_offset, false);
    if (!v)
        return LLVMConstNull(e->ptr);
    const Storage *w = &e->s->where[v->id];
    switch (w->kind) {
    case STORE_INPUT:  return r->in[w->index];
    case STORE_OUTPUT: return r->out[w->index];
    case STORE_WEIGHT: return byte_offset(e, e->weights, w->offset, true);
    case STORE_ARENA:  return byte_offset(e, r->arena, w->offset, false);
    case STORE_NONE:   break;
    }
    return LLVMConstNull(e->ptr);
}

static LLVMValueRef kernel_decl(Emitter *e, RtKernelId k)
{
    const char *name = rt_kernel_names[k];
    LLVMValueRef f = LLVMGetNamedFunction(e->m, name);
    return f ? f : LLVMAddFunction(e->m, name, e->kernel_t);
}

static void build_step(Emitter *e, const RunArgs *r, const Step *st, LLVMValueRef t, int index)
{
    char name[64];
    LLVMValueRef *pv = calloc((size_t)st->np + 1, sizeof *pv), fv[STEP_MAX_F];
    for (int i = 0; i < st->np; i++)
        pv[i] = const_i64(e, (uint64_t)st->p[i]);
    for (int i = 0; i < STEP_MAX_F; i++)
        fv[i] = LLVMConstReal(e->f32, st->f[i]);
    snprintf(name, sizeof name, "s%d.p", index);
    LLVMValueRef p = private_global(e, LLVMConstArray(e->i64, pv, (unsigned)st->np), name);
    snprintf(name, sizeof name, "s%d.f", index);
    LLVMValueRef f = private_global(e, LLVMConstArray(e->f32, fv, STEP_MAX_F), name);
    free(pv);
    LLVMTypeRef tt = LLVMArrayType(e->ptr, (unsigned)st->nt);
    for (int j = 0; j < st->nt; j++) {
        LLVMValueRef idx[2] = { const_i64(e, 0), const_i64(e, (uint64_t)j) };
        LLVMValueRef slot = LLVMBuildInBoundsGEP2(e->b, tt, t, idx, 2, "");
        LLVMBuildStore(e->b, tensor_ptr(e, r, st, j), slot);
    }
    LLVMValueRef args[3] = { t, p, f };
    LLVMBuildCall2(e->b, e->kernel_t, kernel_decl(e, st->kernel), args, 3, "");
}

static bool build_run(Emitter *e, Diag *d)
{
    const Schedule *s = e->s;
    Graph *g = s->g;
    LLVMTypeRef params[3] = { e->ptr, e->ptr, e->ptr };
    LLVMValueRef fn = add_api(e, API_RUN_WITH_ARENA, e->i32, params, 3);
    /* PREFIX_run calls it: one copy of the body, not two */
    add_fn_attr(e, fn, "noinline");
    LLVMValueRef *t = calloc((size_t)s->nsteps + 1, sizeof *t);
    RunArgs r = { LLVMGetParam(fn, 2), calloc((size_t)g->ninputs + 1, sizeof(LLVMValueRef)),
                  calloc((size_t)g->noutputs + 1, sizeof(LLVMValueRef)) };
    if (!t || !r.in || !r.out) {
        free(t); free(r.in); free(r.out);
        return diag_error(d, "out of memory");
    }
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1);
    LLVMSetValueName2(in, "in", 2);
    LLVMSetValueName2(out, "out", 3);
    LLVMSetValueName2(r.arena, "A", 1);
    for (int i = 0; i < s->nsteps; i++) {     /* the tensor arrays, at the top of entry */
        char name[32];
        snprintf(name, sizeof name, "s%d.t", i);
        t[i] = LLVMBuildAlloca(e->b, LLVMArrayType(e->ptr, (unsigned)s->steps[i].nt), name);
    }
    LLVMValueRef anynull = LLVMBuildOr(e->b, LLVMBuildIsNull(e->b, in, ""),
                                       LLVMBuildOr(e->b, LLVMBuildIsNull(e->b, out, ""),
                                                   LLVMBuildIsNull(e->b, r.arena, ""), ""), "");
    fail_if(e, fn, anynull, "null pointer argument");
    for (int k = 0; k < 2; k++) {
        int n = k ? g->noutputs : g->ninputs;
        LLVMValueRef base = k ? out : in, *dst = k ? r.out : r.in;
        for (int i = 0; i < n; i++) {
            char msg[64];
            LLVMValueRef idx = const_i64(e, (uint64_t)i);
            LLVMValueRef slot = LLVMBuildInBoundsGEP2(e->b, e->ptr, base, &idx, 1, "");
            dst[i] = LLVMBuildLoad2(e->b, e->ptr, slot, k ? "out.i" : "in.i");
            snprintf(msg, sizeof msg, "%s %d is a null pointer", k ? "output" : "input", i);
            fail_if(e, fn, LLVMBuildIsNull(e->b, dst[i], ""), msg);
        }
    }
    for (int i = 0; i < s->nsteps; i++)
        build_step(e, &r, &s->steps[i], t[i], i);
    LLVMBuildRet(e->b, const_i32(e, 0));
    free(t);
    free(r.in);
    free(r.out);

    LLVMValueRef run = add_api(e, API_RUN, e->i32, params, 2);
    LLVMValueRef args[3] = { LLVMGetParam(run, 0), LLVMGetParam(run, 1), e->arena };
    LLVMBuildRet(e->b, LLVMBuildCall2(e->b, LLVMGlobalGetValueType(fn), fn, args, 3, ""));
    return true;
}

static bool build_module(Emitter *e, Diag *d)
{
    const Schedule *s = e->s;
    Graph *g = s->g;
    e->i8 = LLVMInt8TypeInContext(e->ctx);
    e->i32 = LLVMInt32TypeInContext(e->ctx);
    e->i64 = LLVMInt64TypeInContext(e->ctx);
    e->f32 = LLVMFloatTypeInContext(e->ctx);
    e->ptr = LLVMPointerTypeInContext(e->ctx, 0);
    LLVMTypeRef kparams[3] = { e->ptr, e->ptr, e->ptr };
    e->kernel_t = LLVMFunctionType(LLVMVoidTypeInContext(e->ctx), kparams, 3, 0);
    /* the header's cnnc_shape: name, rank, dims[8], count */
    e->shape_t = LLVMStructCreateNamed(e->ctx, "cnnc_shape");
    LLVMTypeRef fields[4] = { e->ptr, e->i32, LLVMArrayType(e->i64, 8), e->i64 };
    LLVMStructSetBody(e->shape_t, fields, 4, 0);

    if (!build_weights(e, d) || !build_arena(e, d))
        return false;
    e->error = LLVMAddGlobal(e->m, e->ptr, "cnnc_error");
    LLVMSetInitializer(e->error, const_string(e, "", "empty"));
    LLVMSetLinkage(e->error, LLVMInternalLinkage);

    add_api(e, API_LAST_ERROR, e->ptr, NULL, 0);
    LLVMBuildRet(e->b, LLVMBuildLoad2(e->b, e->ptr, e->error, "msg"));
    build_const_getter(e, API_NUM_INPUTS, e->i32, const_i32(e, g->ninputs));
    build_const_getter(e, API_NUM_OUTPUTS, e->i32, const_i32(e, g->noutputs));
    build_shape_getter(e, API_INPUT_SHAPE, g->inputs, g->ninputs, "input");
    build_shape_getter(e, API_OUTPUT_SHAPE, g->outputs, g->noutputs, "output");
    build_const_getter(e, API_ARENA_BYTES, e->i64, const_i64(e, s->arena_bytes));
    build_const_getter(e, API_WEIGHT_BYTES, e->i64, const_i64(e, s->weight_bytes));
    if (!build_run(e, d))
        return false;
    if (e->o->kind == LLVM_EMIT_EXE)
        for (int i = 0; i < API_COUNT; i++) {
            char name[64];
            snprintf(name, sizeof name, "cnnc_model_%s", api_names[i]);
            if (api_in_main[i])
                LLVMAddAlias2(e->m, LLVMGlobalGetValueType(e->api[i]), 0, e->api[i], name);
        }
    return true;
}

/* ---- the runtime ---- */

static bool is_api(const Emitter *e, LLVMValueRef f)
{
    for (int i = 0; i < API_COUNT; i++)
        if (e->api[i] == f)
            return true;
    return false;
}

/* Links the runtime's bitcode in and hides it behind the API. A target of another
 * architecture than the bitcode's gets calls to external kernels instead, for a runtime
 * built for that target to resolve. */
static bool link_runtime(Emitter *e, const Target *t, Diag *d)
{
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRange(
        (const char *)cnnc_runtime_bitcode, cnnc_runtime_bitcode_size, "runtime.bc", 0);
    LLVMModuleRef rt;
    bool bad = LLVMParseBitcodeInContext2(e->ctx, buf, &rt);
    LLVMDisposeMemoryBuffer(buf);
    if (bad)
        return diag_error(d, "cannot read the runtime bitcode built into cnnc");
    if (!same_arch(LLVMGetTarget(rt), t->triple)) {
        if (e->o->verbose)
            fprintf(stderr, "cnnc: llvm: the runtime bitcode is for %s: the kernels stay "
                    "external for a runtime built for %s\n", LLVMGetTarget(rt), t->triple);
        LLVMDisposeModule(rt);
        return true;
    }
    LLVMSetTarget(rt, t->triple);
    LLVMSetDataLayout(rt, LLVMGetDataLayoutStr(e->m));
    if (LLVMLinkModules2(e->m, rt))
        return diag_error(d, "cannot link the runtime bitcode into the model");
    for (int i = 0; i < e->s->nsteps; i++) {
        LLVMValueRef k = LLVMGetNamedFunction(e->m, rt_kernel_names[e->s->steps[i].kernel]);
        if (!k || LLVMIsDeclaration(k))
            return diag_error(d, "the runtime bitcode has no kernel %s (rebuild cnnc)",
                              rt_kernel_names[e->s->steps[i].kernel]);
    }
    for (LLVMValueRef f = LLVMGetFirstFunction(e->m); f; f = LLVMGetNextFunction(f))
        if (!LLVMIsDeclaration(f) && !is_api(e, f)) {
            LLVMSetLinkage(f, LLVMInternalLinkage);
            LLVMSetVisibility(f, LLVMDefaultVisibility);
        }
    for (LLVMValueRef g = LLVMGetFirstGlobal(e->m); g; g = LLVMGetNextGlobal(g)) {
        size_t len;
        const char *name = LLVMGetValueName2(g, &len);
        LLVMLinkage l = LLVMGetLinkage(g);
        if (!LLVMIsDeclaration(g) && strncmp(name, "llvm.", 5) &&
            (l == LLVMExternalLinkage || l == LLVMCommonLinkage || l == LLVMWeakAnyLinkage ||
             l == LLVMWeakODRLinkage || l == LLVMLinkOnceAnyLinkage ||
             l == LLVMLinkOnceODRLinkage)) {
            LLVMSetLinkage(g, LLVMInternalLinkage);
            LLVMSetVisibility(g, LLVMDefaultVisibility);
        }
    }
    return true;
}

static bool optimize(LLVMModuleRef m, const Target *t, int level, Diag *d)
{
    char pipeline[32];
    level = level < 0 ? 0 : level > 3 ? 3 : level;
    snprintf(pipeline, sizeof pipeline, "default<O%d>", level);
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(po, level >= 2);
    LLVMPassBuilderOptionsSetSLPVectorization(po, level >= 2);
    LLVMPassBuilderOptionsSetLoopUnrolling(po, level >= 1);
    LLVMPassBuilderOptionsSetLoopInterleaving(po, level >= 2);
    LLVMErrorRef err = LLVMRunPasses(m, pipeline, t->tm, po);
    LLVMDisposePassBuilderOptions(po);
    if (err) {
        char *msg = LLVMGetErrorMessage(err);
        diag_error(d, "LLVM %s pipeline: %s", pipeline, msg);
        LLVMDisposeErrorMessage(msg);
        return false;
    }
    return true;
}

static bool verify(LLVMModuleRef m, const char *when, Diag *d)
{
    char *msg = NULL;
    if (!LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        LLVMDisposeMessage(msg);
        return true;
    }
    /* a bug in cnnc, not in the model: say so with LLVM's first complaint */
    diag_error(d, "internal error: invalid LLVM module %s: %.300s", when, msg ? msg : "");
    LLVMDisposeMessage(msg);
    return false;
}

static bool write_module(LLVMModuleRef m, const Target *t, LlvmEmit kind, const char *path,
                         Diag *d)
{
    char *err = NULL;
    bool bad = kind == LLVM_EMIT_LL
        ? LLVMPrintModuleToFile(m, path, &err)
        : LLVMTargetMachineEmitToFile(t->tm, m, (char *)path,
                                      kind == LLVM_EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile,
                                      &err);
    if (bad)
        diag_error(d, "cannot write '%s': %s", path, err ? err : "LLVM failed");
    LLVMDisposeMessage(err);
    return !bad;
}

/* An object for the linker, outside the outputs: it is not one. */
static char *temp_object(Diag *d)
{
    const char *dir = getenv("TMPDIR");
    dir = dir && *dir ? dir : "/tmp";
    size_t n = strlen(dir) + 32;
    char *path = malloc(n);
    if (!path)
        return diag_error(d, "out of memory"), NULL;
    snprintf(path, n, "%s/cnnc-XXXXXX.o", dir);
    int fd = mkstemps(path, 2);
    if (fd < 0) {
        diag_error(d, "cannot create a temporary object in %s", dir);
        free(path);
        return NULL;
    }
    close(fd);
    return path;
}

static bool emit_module(Emitter *e, const Target *t, OutputSet *out, Diag *d)
{
    const EmitLlvmOptions *o = e->o;
    double t0 = now_s();
    if (!build_module(e, d))
        return false;
    report(o, "build module", &t0);
    if (!verify(e->m, "as built", d))
        return false;
    if (!link_runtime(e, t, d))
        return false;
    for (LLVMValueRef f = LLVMGetFirstFunction(e->m); f; f = LLVMGetNextFunction(f))
        if (!LLVMIsDeclaration(f))
            set_target_attrs(f, t);
    report(o, "link runtime", &t0);
    if (!optimize(e->m, t, o->opt_level, d) || !verify(e->m, "after optimization", d))
        return false;
    report(o, "optimize", &t0);
    if (o->h_path) {
        EmitCOptions co = { .c_path = o->path, .h_path = o->h_path, .prefix = o->prefix,
                            .model_name = o->model_name };
        FILE *h = output_open(out, o->h_path, d);
        if (!h)
            return false;
        emit_c_header(h, e->s, &co);
    }
    bool linked = o->kind == LLVM_EMIT_EXE || o->kind == LLVM_EMIT_SO;
    const char *final = output_reserve(out, o->path, d);
    if (!final)
        return false;
    if (!linked) {
        bool ok = write_module(e->m, t, o->kind, final, d);
        report(o, "code generation", &t0);
        return ok;
    }
    char *obj = fatal_object = temp_object(d);
    if (!obj)
        return false;
    bool ok = write_module(e->m, t, LLVM_EMIT_OBJ, obj, d);
    report(o, "code generation", &t0);
    ok = ok && link_native(obj, final, o->kind == LLVM_EMIT_SO, o->verbose, d);
    report(o, "link", &t0);
    unlink(obj);
    free(obj);
    fatal_object = NULL;
    return ok;
}

bool emit_llvm(const Schedule *s, const EmitLlvmOptions *o, OutputSet *out, Diag *d)
{
    Target t = {0};
    fatal_outputs = out;
    fatal_cpu = o->cpu;
    LLVMInstallFatalErrorHandler(on_fatal_error);
    bool ok = target_open(&t, o, s->weight_bytes + s->arena_bytes, d);
    if (ok && (o->kind == LLVM_EMIT_EXE || o->kind == LLVM_EMIT_SO)) {
        char *host = LLVMGetDefaultTargetTriple();
        if (!same_arch(t.triple, host))
            ok = diag_error(d, "cannot link %s for %s on this host: write an object "
                            "(-o model.o) and link it with a runtime built for that target",
                            o->kind == LLVM_EMIT_EXE ? "an executable" : "a shared library",
                            t.triple);
        LLVMDisposeMessage(host);
    }
    Emitter e = { .s = s, .o = o };
    DiagSink sink = { .verbose = o->verbose };
    if (ok) {
        e.ctx = LLVMContextCreate();
        LLVMContextSetDiagnosticHandler(e.ctx, on_diagnostic, &sink);
        e.m = LLVMModuleCreateWithNameInContext(o->model_name ? o->model_name : "model", e.ctx);
        e.b = LLVMCreateBuilderInContext(e.ctx);
        LLVMSetTarget(e.m, t.triple);
        LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(t.tm);
        LLVMSetModuleDataLayout(e.m, layout);
        LLVMDisposeTargetData(layout);
        ok = emit_module(&e, &t, out, d);
        if (ok && sink.error[0])
            ok = diag_error(d, "LLVM: %s", sink.error);
        LLVMDisposeBuilder(e.b);
        LLVMDisposeModule(e.m);
        LLVMContextDispose(e.ctx);
    }
    target_close(&t);
    LLVMResetFatalErrorHandler();
    fatal_outputs = NULL;
    fatal_cpu = NULL;
    return ok;
}
