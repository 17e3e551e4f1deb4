/* The C backend: a small network is lowered, planned and emitted (without main) into a
 * scratch folder, compiled with the system compiler as C99 together with a driver written
 * here, and run; its outputs must match interp_run_graph's. Also: emitting is
 * deterministic, outputs are atomic, and a sidecar weights file is checked when loaded. */
#define _POSIX_C_SOURCE 200809L     /* WEXITSTATUS */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "backend/emit_c.h"
#include "build.h"
#include "passes/passes.h"
#include "util.h"

#define CC "cc"

/* A float whose little-endian bytes are b0..b3: weights that spell '"', '\\', '?' and NUL
 * must survive the string-literal encoding (and '??' must not become a trigraph). */
static float from_bytes(uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
    uint32_t u = b0 | (uint32_t)b1 << 8 | (uint32_t)b2 << 16 | (uint32_t)b3 << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* x[1,3,9,9] -> (Conv 4x3x3 s2 p1 + Relu, Conv 2x3x1x1 s2) -> Concat on channels (which the
 * planner may compute in place) -> MaxPool 2 -> Flatten -> Gemm(transB) -> Softmax -> Mul(k).
 * Outputs: the product [1,10] and the pooled [1,6,2,2]. */
static Graph *tiny_net(void)
{
    Graph *g = tg_new(13);
    Value *x = TG_INPUT(g, "x", 1, 3, 9, 9);
    Node *c = TG_NODE(g, OP_CONV, "conv", 1, x,
                      tg_const(g, "w", 4, TG_DIMS(4, 3, 3, 3), NULL, 1, -0.5f, 0.5f),
                      tg_const(g, "b", 1, TG_DIMS(4), NULL, 2, -0.5f, 0.5f));
    TG_INTS(g, c, "pads", 1, 1, 1, 1);
    TG_INTS(g, c, "strides", 2, 2);
    Node *r = TG_NODE(g, OP_RELU, "relu", 1, c->out[0]);
    Node *c2 = TG_NODE(g, OP_CONV, "conv2", 1, x,
                       tg_const(g, "w2", 4, TG_DIMS(2, 3, 1, 1), NULL, 5, -1, 1));
    TG_INTS(g, c2, "strides", 2, 2);
    Node *cat = TG_NODE(g, OP_CONCAT, "cat", 1, r->out[0], c2->out[0]);
    tg_attr_i(g, cat, "axis", 1);
    Node *mp = TG_NODE(g, OP_MAXPOOL, "pool", 1, cat->out[0]);
    TG_INTS(g, mp, "kernel_shape", 2, 2);
    TG_INTS(g, mp, "strides", 2, 2);
    Node *fl = TG_NODE(g, OP_FLATTEN, "flat", 1, mp->out[0]);
    Node *fc = TG_NODE(g, OP_GEMM, "fc", 1, fl->out[0],
                       tg_const(g, "wfc", 2, TG_DIMS(10, 24), NULL, 3, -1, 1),
                       tg_const(g, "bfc", 1, TG_DIMS(10), NULL, 4, -1, 1));
    tg_attr_i(g, fc, "transB", 1);
    Node *sm = TG_NODE(g, OP_SOFTMAX, "softmax", 1, fc->out[0]);
    float k[10] = { from_bytes(0x22, 0x5c, 0x3f, 0x3f), from_bytes(0x3f, 0x3f, 0x3d, 0x3f),
                    from_bytes(0x00, 0x00, 0x80, 0x3f), from_bytes(0x0a, 0x0d, 0x22, 0x40),
                    1, 2, 3, 4, 5, 6 };
    Node *mul = TG_NODE(g, OP_MUL, "scale", 1, sm->out[0], tg_const(g, "k", 1, TG_DIMS(10), k,
                                                                     0, 0, 0));
    tg_output(g, mul->out[0]);
    tg_output(g, mp->out[0]);
    Diag d = {0};
    PipelineOptions o = { .level = 2 };
    ck_assert_msg(tg_finish(g, &d) && pipeline_run(g, &o, &d), "%s", d.msg);
    return g;
}

static const char driver_src[] =
    "#include <stdio.h>\n#include <stdlib.h>\n#include \"model.h\"\n"
    "/* driver IN OUT [WEIGHTS]: prints the API's sizes; 3: weights refused, 4: run failed */\n"
    "int main(int argc, char **argv)\n{\n"
    "    const cnnc_shape *is = tm_input_shape(0);\n"
    "    float *in = malloc((size_t)is->count * sizeof(float)), *out[8];\n"
    "    FILE *f = fopen(argv[1], \"rb\");\n"
    "    int i, r;\n"
    "    if (!f || fread(in, sizeof(float), (size_t)is->count, f) != (size_t)is->count)\n"
    "        return 5;\n"
    "    fclose(f);\n"
    "    printf(\"%d %d %lld\", tm_num_inputs(), tm_num_outputs(), (long long)is->count);\n"
    "    for (i = 0; i < tm_num_outputs(); i++) {\n"
    "        out[i] = malloc((size_t)tm_output_shape(i)->count * sizeof(float));\n"
    "        printf(\" %lld\", (long long)tm_output_shape(i)->count);\n"
    "    }\n"
    "    printf(\" %lu %lu %d\\n\", (unsigned long)tm_arena_bytes(),\n"
    "           (unsigned long)tm_weight_bytes(), tm_input_shape(1) == 0);\n"
    "#ifdef SIDECAR\n"
    "    if (argc > 3 && tm_load_weights(argv[3]) != 0) {\n"
    "        fprintf(stderr, \"%s\\n\", tm_last_error());\n"
    "        return 3;\n"
    "    }\n"
    "#endif\n"
    "    r = tm_run((const float *const *)&in, out);\n"
    "    if (r) {\n"
    "        fprintf(stderr, \"run %d: %s\\n\", r, tm_last_error());\n"
    "        return 4;\n"
    "    }\n"
    "    f = fopen(argv[2], \"wb\");\n"
    "    for (i = 0; f && i < tm_num_outputs(); i++)\n"
    "        fwrite(out[i], sizeof(float), (size_t)tm_output_shape(i)->count, f);\n"
    "    return !f || fclose(f) != 0;\n"
    "}\n";

static char *dir;

static void setup(void)
{
    dir = tmpdir_make();
}

static void teardown(void)
{
    tmpdir_remove(dir);
}

/* Emits g into dir as model.c/model.h (and model.weights when sidecar). */
static Schedule *emit(Graph *g, bool sidecar)
{
    Diag d = {0};
    Schedule *s = schedule_lower(g, &d);
    ck_assert(s != NULL);
    s->share_buffers = true;                    /* as the driver does from -O1 */
    ck_assert_msg(plan_memory(s, &d), "%s", d.msg);
    char *c = path_join(dir, "model.c"), *h = path_join(dir, "model.h");
    char *w = path_join(dir, "model.weights");
    EmitCOptions o = { .c_path = c, .h_path = h, .prefix = "tm", .model_name = "test.onnx",
                       .weights_path = sidecar ? w : NULL };
    OutputSet out = {0};
    ck_assert_msg(emit_c(s, &o, &out, &d) && output_commit(&out, &d), "%s", d.msg);
    free(c); free(h); free(w);
    return s;
}

static int shell(const char *fmt, const char *arg)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, fmt, dir, arg);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void build_driver(bool sidecar)
{
    char *drv = path_join(dir, "driver.c");
    ck_assert(write_bytes(drv, driver_src, sizeof driver_src - 1));
    free(drv);
    int rc = shell("cd '%s' && " CC " -O2 -std=c99 -c model.c -o model.o 2>cc.log && "
                   CC " -O2 -std=c99 %s -c driver.c -o driver.o 2>>cc.log && "
                   CC " model.o driver.o -o drv -lm 2>>cc.log", sidecar ? "-DSIDECAR" : "");
    if (rc != 0) {
        char *log = path_join(dir, "cc.log");
        size_t n;
        char *text = read_bytes(log, &n);
        ck_abort_msg("compiling the generated C failed:\n%.*s", text ? (int)(n < 3000 ? n : 3000)
                     : 0, text ? text : "");
    }
}

/* Runs the driver on in (with `weights`, or none); returns its exit code, fills got. */
static int run_driver(const float *in, size_t nin, const char *weights, float *got, size_t ngot,
                      char *meta, size_t meta_size)
{
    char *inp = path_join(dir, "in.bin"), *outp = path_join(dir, "out.bin");
    ck_assert(write_bytes(inp, in, nin * sizeof(float)));
    remove(outp);
    int rc = shell("cd '%s' && ./drv in.bin out.bin %s > meta.txt 2> err.txt", weights);
    if (rc == 0) {
        size_t n;
        float *data = read_bytes(outp, &n);
        ck_assert_msg(data && n == ngot * sizeof(float), "driver wrote %zu bytes", n);
        memcpy(got, data, n);
        free(data);
        char *mp = path_join(dir, "meta.txt");
        char *m = read_bytes(mp, &n);
        snprintf(meta, meta_size, "%.*s", (int)n, m ? m : "");
        free(m);
        free(mp);
    }
    free(inp);
    free(outp);
    return rc;
}

/* The interpreter's outputs for `in`, on a fresh copy of the net. */
static void interp_outputs(const float *in, float *out0, float *out1)
{
    Graph *g = tiny_net();
    Diag d = {0};
    float *outs[2] = { out0, out1 };
    ck_assert_msg(interp_run_graph(g, &in, outs, &d), "%s", d.msg);
    graph_free(g);
}

START_TEST(generated_c_matches_interp)
{
    Graph *g = tiny_net();
    Schedule *s = emit(g, false);
    build_driver(false);
    float in[243], want[34], got[34];
    char meta[256], expect[256];
    fill_uniform(in, 243, 7, -1, 1);
    interp_outputs(in, want, want + 10);
    ck_assert_int_eq(run_driver(in, 243, "", got, 34, meta, sizeof meta), 0);
    EXPECT_CLOSE(got, want, 34, 1e-5, 1e-6);
    snprintf(expect, sizeof expect, "1 2 243 10 24 %zu %zu 1\n", s->arena_bytes,
             s->weight_bytes);
    ck_assert_str_eq(meta, expect);             /* the API reports the schedule's sizes */
    schedule_free(s);
    graph_free(g);
}
END_TEST

/* The same graph built and emitted twice gives the same bytes; nothing else is left in the
 * folder (outputs go through temporaries renamed into place). */
START_TEST(emit_is_deterministic)
{
    static const char *const names[] = { "model.c", "model.h", "model.weights" };
    for (int sidecar = 0; sidecar < 2; sidecar++) {
        void *first[3] = { 0 };
        size_t len[3] = { 0 };
        for (int round = 0; round < 2; round++) {
            Graph *g = tiny_net();
            schedule_free(emit(g, sidecar));
            graph_free(g);
            for (int i = 0; i < 2 + sidecar; i++) {
                char *p = path_join(dir, names[i]);
                size_t n;
                void *data = read_bytes(p, &n);
                ck_assert_ptr_nonnull(data);
                if (round == 0) {
                    first[i] = data;
                    len[i] = n;
                } else {
                    ck_assert_msg(n == len[i] && memcmp(data, first[i], n) == 0,
                                  "%s differs between two emits", names[i]);
                    free(data);
                    free(first[i]);
                }
                free(p);
            }
        }
        DIR *dp = opendir(dir);
        struct dirent *e;
        int files = 0;
        while ((e = readdir(dp)) != NULL)
            if (e->d_name[0] != '.') {
                files++;
                ck_assert_msg(!strstr(e->d_name, ".tmp"), "left behind: %s", e->d_name);
            }
        closedir(dp);
        ck_assert_int_eq(files, 2 + sidecar);
    }
}
END_TEST

/* An aborted emit leaves nothing behind. */
START_TEST(aborted_emit_leaves_nothing)
{
    Graph *g = tiny_net();
    Diag d = {0};
    Schedule *s = schedule_lower(g, &d);
    ck_assert(s && plan_memory(s, &d));
    char *c = path_join(dir, "model.c"), *h = path_join(dir, "model.h");
    EmitCOptions o = { .c_path = c, .h_path = h, .prefix = "tm", .model_name = "test.onnx" };
    OutputSet out = {0};
    ck_assert(emit_c(s, &o, &out, &d));
    output_abort(&out);
    DIR *dp = opendir(dir);
    struct dirent *e;
    while ((e = readdir(dp)) != NULL)
        ck_assert_msg(e->d_name[0] == '.', "left behind: %s", e->d_name);
    closedir(dp);
    free(c); free(h);
    schedule_free(s);
    graph_free(g);
}
END_TEST

/* Sidecar weights: loaded and checked (size and checksum) before the first run. */
START_TEST(sidecar_weights_checked)
{
    Graph *g = tiny_net();
    Schedule *s = emit(g, true);
    build_driver(true);
    float in[243], want[34], got[34];
    char meta[256];
    fill_uniform(in, 243, 8, -1, 1);
    interp_outputs(in, want, want + 10);
    ck_assert_int_eq(run_driver(in, 243, "model.weights", got, 34, meta, sizeof meta), 0);
    EXPECT_CLOSE(got, want, 34, 1e-5, 1e-6);
    ck_assert_int_eq(run_driver(in, 243, "", got, 34, meta, sizeof meta), 4);  /* not loaded */
    char *wp = path_join(dir, "model.weights"), *bad = path_join(dir, "bad.weights");
    size_t n;
    unsigned char *w = read_bytes(wp, &n);
    ck_assert(w && n == s->weight_bytes && n > 100);
    w[n / 2] ^= 0x01;                            /* one flipped bit */
    ck_assert(write_bytes(bad, w, n));
    ck_assert_int_eq(run_driver(in, 243, "bad.weights", got, 34, meta, sizeof meta), 3);
    w[n / 2] ^= 0x01;
    ck_assert(write_bytes(bad, w, n - 4));       /* truncated */
    ck_assert_int_eq(run_driver(in, 243, "bad.weights", got, 34, meta, sizeof meta), 3);
    ck_assert(write_bytes(bad, w, n));           /* restored: accepted again */
    ck_assert_int_eq(run_driver(in, 243, "bad.weights", got, 34, meta, sizeof meta), 0);
    ck_assert_int_eq(run_driver(in, 243, "missing.weights", got, 34, meta, sizeof meta), 3);
    free(w); free(wp); free(bad);
    schedule_free(s);
    graph_free(g);
}
END_TEST

static Suite *emit_c_suite(void)
{
    Suite *s = suite_create("emit_c");
    TCase *tc = tcase_create("emit_c");
    tcase_set_timeout(tc, 120);                 /* runs the system C compiler */
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, generated_c_matches_interp);
    tcase_add_test(tc, emit_is_deterministic);
    tcase_add_test(tc, aborted_emit_leaves_nothing);
    tcase_add_test(tc, sidecar_weights_checked);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *s = emit_c_suite();
    return run_suites(&s, 1);
}
