/* The LLVM backend: a small network emitted as IR (which must verify and define the API with
 * the runtime hidden), as an object linked into a tiny C driver and as a shared library,
 * both of which must compute what interp_run_graph computes; other targets; failures. */
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/IRReader.h>
#include "backend/emit_llvm.h"
#include "backend/schedule.h"
#include "build.h"
#include "passes/passes.h"
#include "util.h"

#define BATCH 2
#define NIN (BATCH * 3 * 8 * 8)
#define NPOOL (BATCH * 4 * 4 * 4)
#define NCLASS (BATCH * 5)

/* x[2,3,8,8] -> Conv 3x3 pad 1 (+bias) -> Relu -> MaxPool 2x2 -> Flatten -> Gemm -> Softmax;
 * the pooled tensor is a second output, so the schedule has a graph output that a later
 * step also reads. */
static Graph *small_net(void)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", BATCH, 3, 8, 8);
    Value *w = tg_const(g, "w", 4, TG_DIMS(4, 3, 3, 3), NULL, 11, -0.5f, 0.5f);
    Value *b = tg_const(g, "b", 1, TG_DIMS(4), NULL, 12, -0.1f, 0.1f);
    Node *conv = TG_NODE(g, OP_CONV, "conv", 1, x, w, b);
    TG_INTS(g, conv, "kernel_shape", 3, 3);
    TG_INTS(g, conv, "pads", 1, 1, 1, 1);
    Node *relu = TG_NODE(g, OP_RELU, "relu", 1, conv->out[0]);
    Node *pool = TG_NODE(g, OP_MAXPOOL, "pool", 1, relu->out[0]);
    TG_INTS(g, pool, "kernel_shape", 2, 2);
    TG_INTS(g, pool, "strides", 2, 2);
    Node *flat = TG_NODE(g, OP_FLATTEN, "flat", 1, pool->out[0]);
    tg_attr_i(g, flat, "axis", 1);
    Value *w2 = tg_const(g, "w2", 2, TG_DIMS(5, 64), NULL, 13, -0.3f, 0.3f);
    Value *b2 = tg_const(g, "b2", 1, TG_DIMS(5), NULL, 14, -0.1f, 0.1f);
    Node *fc = TG_NODE(g, OP_GEMM, "fc", 1, flat->out[0], w2, b2);
    tg_attr_i(g, fc, "transB", 1);
    Node *sm = TG_NODE(g, OP_SOFTMAX, "prob", 1, fc->out[0]);
    tg_attr_i(g, sm, "axis", 1);
    tg_output(g, sm->out[0]);
    tg_output(g, pool->out[0]);
    Diag d = {0};
    tg_expect_ok(tg_finish(g, &d) && graph_infer_shapes(g, &d), &d);
    PipelineOptions po = { .level = 2 };
    tg_expect_ok(pipeline_run(g, &po, &d), &d);
    return g;
}

typedef struct {
    Graph *g;
    Schedule *s;
    float *in, *want_prob, *want_pool;
    char *dir;
} Fixture;

static Fixture fixture(void)
{
    Fixture f = { .g = small_net(), .dir = tmpdir_make() };
    Diag d = {0};
    f.in = alloc_uniform(NIN, 7, -1, 1);
    f.want_prob = malloc(NCLASS * sizeof(float));
    f.want_pool = malloc(NPOOL * sizeof(float));
    float *outs[2] = { f.want_prob, f.want_pool };
    const float *ins[1] = { f.in };
    tg_expect_ok(interp_run_graph(f.g, ins, outs, &d), &d);    /* the oracle, before lowering */
    f.s = schedule_lower(f.g, &d);
    tg_expect_ok(f.s && plan_memory(f.s, &d), &d);
    return f;
}

static void fixture_free(Fixture *f)
{
    schedule_free(f->s);
    graph_free(f->g);
    free(f->in);
    free(f->want_prob);
    free(f->want_pool);
    tmpdir_remove(f->dir);
}

static bool emit(Fixture *f, LlvmEmit kind, const char *name, const char *header,
                 const char *triple, const char *cpu, Diag *d)
{
    char *path = path_join(f->dir, name), *h = header ? path_join(f->dir, header) : NULL;
    EmitLlvmOptions o = { .kind = kind, .path = path, .h_path = h, .prefix = "tiny",
                          .model_name = "test.onnx", .triple = triple, .cpu = cpu,
                          .opt_level = 2 };
    OutputSet out = {0};
    bool ok = emit_llvm(f->s, &o, &out, d) && output_commit(&out, d);
    if (!ok)
        output_abort(&out);
    free(path);
    free(h);
    return ok;
}

static bool file_exists(const char *dir, const char *name)
{
    char *p = path_join(dir, name);
    struct stat st;
    bool yes = stat(p, &st) == 0;
    free(p);
    return yes;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static const char *const api[] = {
    "tiny_run", "tiny_run_with_arena", "tiny_num_inputs", "tiny_num_outputs",
    "tiny_input_shape", "tiny_output_shape", "tiny_arena_bytes", "tiny_weight_bytes",
    "tiny_last_error",
};

START_TEST(ir_verifies_and_defines_the_api)
{
    Fixture f = fixture();
    Diag d = {0};
    tg_expect_ok(emit(&f, LLVM_EMIT_LL, "tiny.ll", NULL, NULL, NULL, &d), &d);
    char *path = path_join(f.dir, "tiny.ll");
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMMemoryBufferRef buf;
    LLVMModuleRef m;
    char *msg = NULL;
    ck_assert_msg(!LLVMCreateMemoryBufferWithContentsOfFile(path, &buf, &msg), "%s", msg);
    ck_assert_msg(!LLVMParseIRInContext(ctx, buf, &m, &msg), "%s", msg);
    ck_assert_msg(!LLVMVerifyModule(m, LLVMReturnStatusAction, &msg), "%s", msg);
    LLVMDisposeMessage(msg);
    for (size_t i = 0; i < sizeof api / sizeof api[0]; i++) {
        LLVMValueRef fn = LLVMGetNamedFunction(m, api[i]);
        ck_assert_msg(fn && !LLVMIsDeclaration(fn), "%s is not defined", api[i]);
        ck_assert_int_eq(LLVMGetLinkage(fn), LLVMExternalLinkage);
    }
    /* the runtime is linked in and hidden: no kernel is left to resolve or exported */
    for (LLVMValueRef fn = LLVMGetFirstFunction(m); fn; fn = LLVMGetNextFunction(fn)) {
        size_t len;
        const char *name = LLVMGetValueName2(fn, &len);
        if (!strncmp(name, "rt_", 3))
            ck_assert_msg(!LLVMIsDeclaration(fn) && LLVMGetLinkage(fn) == LLVMInternalLinkage,
                          "%s is external", name);
    }
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    free(path);
    fixture_free(&f);
}
END_TEST

static const char driver_src[] =
    "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include \"tiny.h\"\n"
    "static float in[%d], prob[%d], pool[%d];\n"
    "int main(int argc, char **argv)\n{\n"
    "    FILE *f = fopen(argv[1], \"rb\");\n"
    "    const float *ins[1] = { in };\n    float *outs[2] = { prob, pool };\n"
    "    if (argc != 3 || !f || fread(in, sizeof in, 1, f) != 1) return 2;\n"
    "    fclose(f);\n"
    "    if (tiny_num_inputs() != 1 || tiny_num_outputs() != 2) return 3;\n"
    "    if (tiny_input_shape(0)->count != %d || strcmp(tiny_input_shape(0)->name, \"x\"))\n"
    "        return 4;\n"
    "    if (tiny_input_shape(1) || tiny_output_shape(-1) || tiny_output_shape(1)->rank != 4)\n"
    "        return 5;\n"
    "    if (tiny_run(NULL, outs) == 0 || !strstr(tiny_last_error(), \"null\")) return 6;\n"
    "    if (tiny_run(ins, outs) != 0) return 7;\n"
    "    f = fopen(argv[2], \"wb\");\n"
    "    if (!f || fwrite(prob, sizeof prob, 1, f) != 1 || fwrite(pool, sizeof pool, 1, f) != 1)\n"
    "        return 8;\n"
    "    return fclose(f) != 0;\n}\n";

START_TEST(object_links_and_matches_the_interpreter)
{
    Fixture f = fixture();
    Diag d = {0};
    tg_expect_ok(emit(&f, LLVM_EMIT_OBJ, "tiny.o", "tiny.h", NULL, NULL, &d), &d);
    ck_assert(file_exists(f.dir, "tiny.h"));
    char src[4096], cmd[8192];
    snprintf(src, sizeof src, driver_src, NIN, NCLASS, NPOOL, NIN);
    char *c = path_join(f.dir, "driver.c"), *in = path_join(f.dir, "in.bin");
    char *out = path_join(f.dir, "out.bin");
    ck_assert(write_bytes(c, src, strlen(src)) && write_bytes(in, f.in, NIN * sizeof(float)));
    snprintf(cmd, sizeof cmd, "cc -o %s/driver %s %s/tiny.o %s -lm && %s/driver %s %s",
             f.dir, c, f.dir, CNNC_OMP_LIBRARY, f.dir, in, out);
    int status = system(cmd);
    ck_assert_msg(status == 0, "'%s' failed with status %d", cmd, status);
    size_t len;
    float *got = read_bytes(out, &len);
    ck_assert_uint_eq(len, (NCLASS + NPOOL) * sizeof(float));
    EXPECT_CLOSE(got, f.want_prob, NCLASS, 1e-5, 1e-6);
    EXPECT_CLOSE(got + NCLASS, f.want_pool, NPOOL, 1e-5, 1e-6);
    free(got);
    free(c);
    free(in);
    free(out);
    fixture_free(&f);
}
END_TEST

START_TEST(shared_library_matches_the_interpreter)
{
    Fixture f = fixture();
    Diag d = {0};
    tg_expect_ok(emit(&f, LLVM_EMIT_SO, "libtiny.so", "tiny.h", NULL, NULL, &d), &d);
    char *path = path_join(f.dir, "libtiny.so");
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(lib, "%s", dlerror());
    int (*run)(const float *const *, float *const *) =
        (int (*)(const float *const *, float *const *))dlsym(lib, "tiny_run");
    size_t (*arena_bytes)(void) = (size_t (*)(void))dlsym(lib, "tiny_arena_bytes");
    ck_assert(run && arena_bytes);
    ck_assert_uint_eq(arena_bytes(), f.s->arena_bytes);
    ck_assert_ptr_null(dlsym(lib, "rt_conv_f32"));      /* the runtime is not exported */
    float prob[NCLASS], pool[NPOOL];
    const float *ins[1] = { f.in };
    float *outs[2] = { prob, pool };
    ck_assert_int_eq(run(ins, outs), 0);
    EXPECT_CLOSE(prob, f.want_prob, NCLASS, 1e-5, 1e-6);
    EXPECT_CLOSE(pool, f.want_pool, NPOOL, 1e-5, 1e-6);
    dlclose(lib);
    free(path);
    fixture_free(&f);
}
END_TEST

/* Portable x86-64 code and another architecture's object, both from this host. */
START_TEST(other_targets_give_objects)
{
    Fixture f = fixture();
    Diag d = {0};
    tg_expect_ok(emit(&f, LLVM_EMIT_OBJ, "x86.o", NULL, "x86_64-linux-gnu", "x86-64", &d), &d);
    tg_expect_ok(emit(&f, LLVM_EMIT_OBJ, "arm.o", NULL, "aarch64-linux-gnu", NULL, &d), &d);
    tg_expect_ok(emit(&f, LLVM_EMIT_ASM, "arm.s", NULL, "aarch64-linux-gnu", NULL, &d), &d);
    char *arm = path_join(f.dir, "arm.o");
    size_t len;
    unsigned char *elf = read_bytes(arm, &len);
    ck_assert(elf && len > 20 && !memcmp(elf, "\177ELF", 4));
    ck_assert_int_eq(elf[18] | elf[19] << 8, 183);              /* EM_AARCH64 */
    free(elf);
    free(arm);
    fixture_free(&f);
}
END_TEST

START_TEST(failures_leave_no_file)
{
    Fixture f = fixture();
    Diag d = {0};
    ck_assert(!emit(&f, LLVM_EMIT_OBJ, "bad.o", "bad.h", "no-such-arch-linux", NULL, &d));
    EXPECT_CONTAINS(d.msg, "no-such-arch");
    d = (Diag){0};
    ck_assert(!emit(&f, LLVM_EMIT_EXE, "arm", NULL, "aarch64-linux-gnu", NULL, &d));
    EXPECT_CONTAINS(d.msg, "cannot link");
    setenv("CC", "/nonexistent/cc", 1);
    d = (Diag){0};
    ck_assert(!emit(&f, LLVM_EMIT_EXE, "tiny", NULL, NULL, NULL, &d));
    unsetenv("CC");
    EXPECT_CONTAINS(d.msg, "linker");
    ck_assert_int_eq(count_files(f.dir), 0);    /* no output, header or temporary */
    fixture_free(&f);
}
END_TEST

static Suite *emit_llvm_suite(void)
{
    Suite *s = suite_create("emit_llvm");
    TCase *tc = tcase_create("emit_llvm");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ir_verifies_and_defines_the_api);
    tcase_add_test(tc, object_links_and_matches_the_interpreter);
    tcase_add_test(tc, shared_library_matches_the_interpreter);
    tcase_add_test(tc, other_targets_give_objects);
    tcase_add_test(tc, failures_leave_no_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *suites[] = { emit_llvm_suite() };
    return run_suites(suites, 1);
}
