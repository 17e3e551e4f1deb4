/* ONNX import: ModelProto messages built here with protobuf-c, packed into a scratch folder
 * and imported: tensor payloads in every encoding, Constant nodes, symbolic dimensions,
 * opsets, and every way a file can be wrong (each with the message a user would read). */
#define _POSIX_C_SOURCE 200809L     /* symlink, mkdir */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "backend/schedule.h"
#include "frontend/frontend.h"
#include "onnx.pb-c.h"
#include "passes/passes.h"
#include "util.h"

/* ---- a small ModelProto builder -------------------------------------------------------------- */
#define MB_MAX 16

typedef struct {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto *opsets[4];
    Onnx__NodeProto *nodes[MB_MAX];
    Onnx__TensorProto *inits[MB_MAX];
    Onnx__ValueInfoProto *ins[MB_MAX], *outs[MB_MAX];
    void *allocs[512];
    int nallocs;
} Mb;

static void *mb_alloc(Mb *b, size_t size)
{
    ck_assert_int_lt(b->nallocs, 512);
    void *p = calloc(1, size ? size : 1);
    ck_assert_ptr_nonnull(p);
    return b->allocs[b->nallocs++] = p;
}

static void *mb_copy(Mb *b, const void *src, size_t size)
{
    return memcpy(mb_alloc(b, size), src, size);
}

static void mb_opset(Mb *b, const char *domain, int64_t version)
{
    Onnx__OperatorSetIdProto *o = mb_alloc(b, sizeof *o);
    onnx__operator_set_id_proto__init(o);
    o->domain = (char *)domain;
    o->has_version = 1;
    o->version = version;
    b->opsets[b->m.n_opset_import++] = o;
}

static void mb_init(Mb *b, int64_t opset)
{
    memset(b, 0, sizeof *b);
    onnx__model_proto__init(&b->m);
    onnx__graph_proto__init(&b->g);
    b->m.has_ir_version = 1;
    b->m.ir_version = 8;
    b->m.graph = &b->g;
    b->m.opset_import = b->opsets;
    b->g.name = (char *)"test";
    b->g.node = b->nodes;
    b->g.initializer = b->inits;
    b->g.input = b->ins;
    b->g.output = b->outs;
    if (opset > 0)
        mb_opset(b, "", opset);
}

/* A float tensor input; a dim of -1 is symbolic ("N"), -2 has no value at all. */
static void mb_input(Mb *b, const char *name, int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = mb_alloc(b, sizeof *vi);
    Onnx__TypeProto *tp = mb_alloc(b, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = mb_alloc(b, sizeof *tt);
    Onnx__TensorShapeProto *sh = mb_alloc(b, sizeof *sh);
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    sh->dim = mb_alloc(b, sizeof(Onnx__TensorShapeProto__Dimension *) * (size_t)(rank + 1));
    for (int i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = mb_alloc(b, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        } else if (dims[i] == -1) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = (char *)"N";
        }
        sh->dim[sh->n_dim++] = d;
    }
    tt->has_elem_type = 1;
    tt->elem_type = 1;                          /* FLOAT */
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->name = (char *)name;
    vi->type = tp;
    b->ins[b->g.n_input++] = vi;
}

static void mb_output(Mb *b, const char *name)
{
    Onnx__ValueInfoProto *vi = mb_alloc(b, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = (char *)name;
    b->outs[b->g.n_output++] = vi;
}

static Onnx__NodeProto *mb_node(Mb *b, const char *op, const char *name, const char *domain,
                                int nin, const char *const *in, const char *out)
{
    Onnx__NodeProto *n = mb_alloc(b, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = (char *)op;
    n->name = (char *)name;
    n->domain = (char *)domain;
    n->n_input = (size_t)nin;
    n->input = mb_alloc(b, sizeof(char *) * (size_t)(nin + 1));
    if (nin)
        memcpy(n->input, in, sizeof(char *) * (size_t)nin);
    n->n_output = 1;
    n->output = mb_copy(b, &out, sizeof(char *));
    n->attribute = mb_alloc(b, sizeof(Onnx__AttributeProto *) * 8);
    ck_assert_int_lt(b->g.n_node, MB_MAX);
    b->nodes[b->g.n_node++] = n;
    return n;
}

static Onnx__AttributeProto *mb_attr(Mb *b, Onnx__NodeProto *n, const char *name, int type)
{
    Onnx__AttributeProto *a = mb_alloc(b, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = (Onnx__AttributeProto__AttributeType)type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

static Onnx__TensorProto *mb_tensor(Mb *b, const char *name, int type, int rank,
                                    const int64_t *dims)
{
    Onnx__TensorProto *t = mb_alloc(b, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = type;
    t->n_dims = (size_t)rank;
    t->dims = mb_alloc(b, sizeof(int64_t) * (size_t)(rank + 1));
    memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    return t;
}

static void mb_raw(Mb *b, Onnx__TensorProto *t, const void *data, size_t len)
{
    t->has_raw_data = 1;
    t->raw_data.len = len;
    t->raw_data.data = mb_copy(b, data, len);
}

static Onnx__TensorProto *mb_initializer(Mb *b, Onnx__TensorProto *t)
{
    b->inits[b->g.n_initializer++] = t;
    return t;
}

static uint8_t *mb_pack(Mb *b, size_t *len)
{
    *len = onnx__model_proto__get_packed_size(&b->m);
    uint8_t *buf = malloc(*len);
    ck_assert_uint_eq(onnx__model_proto__pack(&b->m, buf), *len);
    return buf;
}

static void mb_free(Mb *b)
{
    for (int i = 0; i < b->nallocs; i++)
        free(b->allocs[i]);
    b->nallocs = 0;
}

#define IN(...) (int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(char *)), \
                (const char *[]){ __VA_ARGS__ }

/* ---- fixtures -------------------------------------------------------------------------------- */
static char *dir, *model;

static void setup(void)
{
    dir = tmpdir_make();
    model = path_join(dir, "model.onnx");
}

static void teardown(void)
{
    free(model);
    tmpdir_remove(dir);
}

/* Packs b into `model` (the builder is freed) and imports it. */
static Graph *import(Mb *b, const ImportOptions *opt, Diag *d)
{
    size_t len;
    uint8_t *buf = mb_pack(b, &len);
    ck_assert(write_bytes(model, buf, len));
    free(buf);
    mb_free(b);
    *d = (Diag){0};
    return onnx_import(model, opt, d);
}

static void expect_import_error(Mb *b, const char *want)
{
    Diag d;
    Graph *g = import(b, NULL, &d);
    ck_assert_msg(g == NULL, "import succeeded, expected '%s'", want);
    EXPECT_CONTAINS(d.msg, want);
    ck_assert_msg(strncmp(d.msg, model, strlen(model)) == 0, "no file name in '%s'", d.msg);
}

static const float W[6] = { 0.5f, -1, 2, 1.5f, 0.25f, -0.75f };     /* [2,3,1,1] */

/* x[N,3,4,4] -> Conv(W raw, B float_data) -> Relu -> Reshape(shape int64_data) -> y, plus
 * unused initializers in the other encodings. */
static void base_model(Mb *b, int64_t opset)
{
    uint8_t raw[24], i64raw[24];
    for (int i = 0; i < 6; i++) {               /* little-endian, whatever the host */
        uint32_t u;
        memcpy(&u, &W[i], 4);
        for (int k = 0; k < 4; k++)
            raw[4 * i + k] = (uint8_t)(u >> (8 * k));
    }
    const int64_t iv[3] = { 5, -6, 7 };
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 8; k++)
            i64raw[8 * i + k] = (uint8_t)((uint64_t)iv[i] >> (8 * k));
    mb_init(b, opset);
    mb_input(b, "x", 4, (const int64_t[]){ -1, 3, 4, 4 });
    mb_raw(b, mb_initializer(b, mb_tensor(b, "W", 1, 4, (const int64_t[]){ 2, 3, 1, 1 })), raw,
           sizeof raw);
    Onnx__TensorProto *t = mb_initializer(b, mb_tensor(b, "B", 1, 1, (const int64_t[]){ 2 }));
    t->n_float_data = 2;
    t->float_data = mb_copy(b, (const float[]){ 0.125f, -0.5f }, 8);
    t = mb_initializer(b, mb_tensor(b, "shape", 7, 1, (const int64_t[]){ 2 }));
    t->n_int64_data = 2;
    t->int64_data = mb_copy(b, (const int64_t[]){ 0, -1 }, 16);
    t = mb_initializer(b, mb_tensor(b, "idx32", 6, 1, (const int64_t[]){ 2 }));
    t->n_int32_data = 2;
    t->int32_data = mb_copy(b, (const int32_t[]){ 1, -1 }, 8);
    mb_raw(b, mb_initializer(b, mb_tensor(b, "i64raw", 7, 1, (const int64_t[]){ 3 })), i64raw,
           sizeof i64raw);
    t = mb_initializer(b, mb_tensor(b, "d64", 11, 1, (const int64_t[]){ 2 }));
    t->n_double_data = 2;
    t->double_data = mb_copy(b, (const double[]){ 0.25, -8 }, 16);
    mb_node(b, "Conv", "conv", "", IN("x", "W", "B"), "c");
    mb_node(b, "Relu", "relu", "", IN("c"), "r");
    mb_node(b, "Reshape", "reshape", "", IN("r", "shape"), "y");
    mb_output(b, "y");
}

/* ---- successful imports ---------------------------------------------------------------------- */
START_TEST(initializers_in_every_encoding)
{
    Mb b;
    Diag d;
    base_model(&b, 13);
    Graph *g = import(&b, NULL, &d);
    ck_assert_msg(g != NULL, "%s", d.msg);
    ck_assert_int_eq(g->opset, 13);
    ck_assert_int_eq(g->nnodes, 3);
    ck_assert_int_eq(g->nodes[0]->op, OP_CONV);
    ck_assert_int_eq(g->nodes[2]->op, OP_RESHAPE);
    ck_assert_int_eq(g->nodes[0]->opset, 13);
    ck_assert_int_eq(g->ninputs, 1);            /* initializers are not inputs */
    ck_assert_int_eq(g->noutputs, 1);
    ck_assert_str_eq(g->outputs[0]->name, "y");
    Value *w = graph_find_value(g, "W"), *bias = graph_find_value(g, "B");
    ck_assert(w && w->kind == VAL_CONSTANT && w->dtype == DT_F32 && w->rank == 4);
    ck_assert_mem_eq(w->data, W, sizeof W);
    ck_assert(value_f32(bias, 0) == 0.125f && value_f32(bias, 1) == -0.5f);
    Value *sh = graph_find_value(g, "shape"), *i32 = graph_find_value(g, "idx32");
    Value *i64 = graph_find_value(g, "i64raw"), *dbl = graph_find_value(g, "d64");
    ck_assert(sh->dtype == DT_I64 && value_i64(sh, 0) == 0 && value_i64(sh, 1) == -1);
    ck_assert(i32->dtype == DT_I64 && value_i64(i32, 0) == 1 && value_i64(i32, 1) == -1);
    ck_assert(i64->dtype == DT_I64 && value_i64(i64, 0) == 5 && value_i64(i64, 1) == -6 &&
              value_i64(i64, 2) == 7);
    ck_assert(dbl->dtype == DT_F32 && value_f32(dbl, 0) == 0.25f && value_f32(dbl, 1) == -8);
    /* and the imported graph computes y = relu(W x + B) per pixel */
    PipelineOptions o = { .level = 2 };
    ck_assert_msg(pipeline_run(g, &o, &d), "%s", d.msg);
    ck_assert(g->outputs[0]->rank == 2 && g->outputs[0]->dims[1] == 32);
    float x[48], y[32], want[32], *px = x, *py = y;
    fill_uniform(x, 48, 1, -1, 1);
    for (int m = 0; m < 2; m++)
        for (int p = 0; p < 16; p++) {
            float s = m ? -0.5f : 0.125f;
            for (int c = 0; c < 3; c++)
                s += W[m * 3 + c] * x[c * 16 + p];
            want[m * 16 + p] = s > 0 ? s : 0;
        }
    ck_assert_msg(interp_run_graph(g, (const float *const *)&px, &py, &d), "%s", d.msg);
    EXPECT_CLOSE(y, want, 32, 1e-6, 1e-6);
    graph_free(g);
}
END_TEST

START_TEST(constant_nodes_become_values)
{
    Mb b;
    Diag d;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, (const int64_t[]){ 2 });
    Onnx__NodeProto *n = mb_node(&b, "Constant", "k1", "", 0, NULL, "c");
    Onnx__TensorProto *t = mb_tensor(&b, "", 1, 1, (const int64_t[]){ 2 });
    t->n_float_data = 2;
    t->float_data = mb_copy(&b, (const float[]){ 3, -4 }, 8);
    mb_attr(&b, n, "value", 4)->t = t;
    n = mb_node(&b, "Constant", "k2", "", 0, NULL, "cf");
    Onnx__AttributeProto *a = mb_attr(&b, n, "value_float", 1);
    a->has_f = 1;
    a->f = 2.5f;
    n = mb_node(&b, "Constant", "k3", "", 0, NULL, "ci");
    a = mb_attr(&b, n, "value_ints", 7);
    a->n_ints = 3;
    a->ints = mb_copy(&b, (const int64_t[]){ 1, 2, 3 }, 24);
    mb_node(&b, "Add", "add", "", IN("x", "c"), "s");
    mb_node(&b, "Mul", "mul", "", IN("s", "cf"), "y");
    mb_output(&b, "y");
    Graph *g = import(&b, NULL, &d);
    ck_assert_msg(g != NULL, "%s", d.msg);
    ck_assert_int_eq(g->nnodes, 2);             /* no Constant node is left */
    Value *c = graph_find_value(g, "c"), *cf = graph_find_value(g, "cf");
    Value *ci = graph_find_value(g, "ci");
    ck_assert(c->kind == VAL_CONSTANT && c->rank == 1 && value_f32(c, 1) == -4);
    ck_assert(cf->kind == VAL_CONSTANT && cf->rank == 0 && value_f32(cf, 0) == 2.5f);
    ck_assert(ci->dtype == DT_I64 && ci->dims[0] == 3 && value_i64(ci, 2) == 3);
    ck_assert_ptr_eq(g->nodes[0]->in[1], c);
    graph_free(g);
}
END_TEST

START_TEST(symbolic_dims_and_overrides)
{
    Mb b;
    Diag d;
    base_model(&b, 13);
    Graph *g = import(&b, NULL, &d);
    ck_assert(g && g->inputs[0]->rank == 4 && g->inputs[0]->dims[0] == 1);   /* "N" -> 1 */
    graph_free(g);
    ShapeOverride named = { "x", 4, { 5, 3, 4, 4 } }, first = { NULL, 4, { 2, 3, 4, 4 } };
    ImportOptions o = { &named, 1, false };
    base_model(&b, 13);
    g = import(&b, &o, &d);
    ck_assert_msg(g && g->inputs[0]->dims[0] == 5, "%s", d.msg);
    graph_free(g);
    o.shapes = &first;
    base_model(&b, 13);
    g = import(&b, &o, &d);
    ck_assert_msg(g && g->inputs[0]->dims[0] == 2, "%s", d.msg);
    graph_free(g);
    ShapeOverride bad_rank = { "x", 3, { 3, 4, 4 } }, bad_name = { "z", 1, { 1 } };
    o.shapes = &bad_rank;
    base_model(&b, 13);
    ck_assert_ptr_null(import(&b, &o, &d));
    EXPECT_CONTAINS(d.msg, "--input-shape for 'x' has rank 3, the model's input has rank 4");
    o.shapes = &bad_name;
    base_model(&b, 13);
    ck_assert_ptr_null(import(&b, &o, &d));
    EXPECT_CONTAINS(d.msg, "--input-shape names 'z', which is not a graph input");
}
END_TEST

/* The default domain's version, wherever it is listed ("" or "ai.onnx"); none means 1. */
START_TEST(opset_import)
{
    Mb b;
    Diag d;
    mb_init(&b, 0);
    mb_opset(&b, "com.microsoft", 1);
    mb_opset(&b, "", 11);
    mb_input(&b, "x", 1, (const int64_t[]){ 3 });
    mb_node(&b, "Relu", "r", "", IN("x"), "y");
    mb_output(&b, "y");
    Graph *g = import(&b, NULL, &d);
    ck_assert(g && g->opset == 11 && g->nodes[0]->opset == 11);
    graph_free(g);
    for (int k = 0; k < 3; k++) {
        mb_init(&b, 0);
        if (k == 0)
            mb_opset(&b, "ai.onnx", 12);
        if (k == 2)
            mb_opset(&b, "", 30);
        mb_input(&b, "x", 1, (const int64_t[]){ 3 });
        mb_node(&b, "Relu", "r", "", IN("x"), "y");
        mb_output(&b, "y");
        g = import(&b, NULL, &d);
        if (k < 2)
            ck_assert_msg(g && g->opset == (k == 0 ? 12 : 1), "%s", d.msg);
        else
            EXPECT_CONTAINS(d.msg, "ONNX opset 30 is not supported");
        graph_free(g);
    }
}
END_TEST

/* ---- bad files ------------------------------------------------------------------------------- */
START_TEST(unreadable_files)
{
    Mb b;
    Diag d = {0};
    size_t len;
    base_model(&b, 13);
    uint8_t *buf = mb_pack(&b, &len);
    mb_free(&b);
    ck_assert(write_bytes(model, buf, len / 2));          /* cut inside the graph */
    ck_assert_ptr_null(onnx_import(model, NULL, &d));
    EXPECT_CONTAINS(d.msg, "not a valid ONNX model");
    free(buf);
    uint8_t junk[256];
    Lcg r;
    lcg_seed(&r, 99);
    for (int i = 0; i < 256; i++)
        junk[i] = (uint8_t)lcg_u32(&r);
    ck_assert(write_bytes(model, junk, sizeof junk));
    d = (Diag){0};
    ck_assert_ptr_null(onnx_import(model, NULL, &d));
    ck_assert(d.failed);
    ck_assert(write_bytes(model, "", 0));
    d = (Diag){0};
    ck_assert_ptr_null(onnx_import(model, NULL, &d));
    EXPECT_CONTAINS(d.msg, "the file is empty");
    char *missing = path_join(dir, "missing.onnx");
    d = (Diag){0};
    ck_assert_ptr_null(onnx_import(missing, NULL, &d));
    EXPECT_CONTAINS(d.msg, missing);
    EXPECT_CONTAINS(d.msg, "cannot open");
    free(missing);
    d = (Diag){0};
    ck_assert_ptr_null(onnx_import(dir, NULL, &d));       /* a folder */
    ck_assert(d.failed);
}
END_TEST

/* Every unsupported node in one message, each with its domain; HardSwish needs opset 14. */
START_TEST(unsupported_ops_listed_together)
{
    Mb b;
    base_model(&b, 13);
    mb_node(&b, "Foo", "n1", "", IN("x"), "f1");
    mb_node(&b, "Bar", "n2", "com.example", IN("x"), "f2");
    mb_node(&b, "HardSwish", "hs", "", IN("x"), "f3");
    expect_import_error(&b, "3 nodes with unsupported operators (opset 13): 'n1' (Foo), "
                        "'n2' (com.example.Bar), 'hs' (HardSwish)");
}
END_TEST

START_TEST(malformed_graphs)
{
    Mb b;
    base_model(&b, 13);
    mb_node(&b, "Relu", "r2", "", IN("nope"), "z");
    expect_import_error(&b, "node 'r2' (Relu, opset 13): input 'nope' is not defined by any "
                        "node, initializer or graph input");
    base_model(&b, 13);
    mb_initializer(&b, mb_tensor(&b, "W", 1, 1, (const int64_t[]){ 0 }));
    expect_import_error(&b, "the name 'W' is defined twice");
    base_model(&b, 13);
    mb_node(&b, "Relu", "r2", "", IN("c"), "x");          /* a node output named like an input */
    expect_import_error(&b, "the name 'x' is defined twice");
    base_model(&b, 13);
    mb_output(&b, "ghost");
    expect_import_error(&b, "graph output 'ghost' is not produced by any node");
}
END_TEST

START_TEST(initializer_size_mismatch)
{
    Mb b;
    base_model(&b, 13);
    mb_raw(&b, mb_initializer(&b, mb_tensor(&b, "R", 1, 2, (const int64_t[]){ 2, 3 })), W, 20);
    expect_import_error(&b, "tensor 'R' holds 20 bytes of data, its shape needs 24");
    base_model(&b, 13);
    Onnx__TensorProto *t = mb_initializer(&b, mb_tensor(&b, "F", 1, 2, (const int64_t[]){ 2, 3 }));
    t->n_float_data = 5;
    t->float_data = mb_copy(&b, W, 20);
    expect_import_error(&b, "tensor 'F' holds 5 values, its shape needs 6");
    base_model(&b, 13);
    t = mb_initializer(&b, mb_tensor(&b, "I", 7, 1, (const int64_t[]){ 3 }));
    t->n_int64_data = 4;
    t->int64_data = mb_copy(&b, (const int64_t[]){ 1, 2, 3, 4 }, 32);
    expect_import_error(&b, "tensor 'I' holds 4 values, its shape needs 3");
}
END_TEST

/* ---- external data --------------------------------------------------------------------------- */
/* base_model with one more initializer "E" [2,3] float, stored outside the model file. */
static void external_model(Mb *b, const char *location, const char *offset, const char *length)
{
    base_model(b, 13);
    Onnx__TensorProto *t = mb_initializer(b, mb_tensor(b, "E", 1, 2, (const int64_t[]){ 2, 3 }));
    const char *kv[3][2] = { { "location", location }, { "offset", offset },
                             { "length", length } };
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->external_data = mb_alloc(b, sizeof(Onnx__StringStringEntryProto *) * 3);
    for (int i = 0; i < 3; i++) {
        if (!kv[i][1])
            continue;
        Onnx__StringStringEntryProto *e = mb_alloc(b, sizeof *e);
        onnx__string_string_entry_proto__init(e);
        e->key = (char *)kv[i][0];
        e->value = (char *)kv[i][1];
        t->external_data[t->n_external_data++] = e;
    }
}

START_TEST(external_data_inside_folder)
{
    unsigned char blob[16 + 24];
    memset(blob, 0xee, 16);
    memcpy(blob + 16, W, 24);                   /* host order is little-endian here */
    char *sub = path_join(dir, "sub"), *f1 = path_join(dir, "w.bin");
    char *f2 = path_join(sub, "w.bin");
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    ck_assert(write_bytes(f1, blob, sizeof blob) && write_bytes(f2, blob + 16, 24));
    Mb b;
    Diag d;
    external_model(&b, "w.bin", "16", "24");
    Graph *g = import(&b, NULL, &d);
    ck_assert_msg(g != NULL, "%s", d.msg);
    ck_assert_mem_eq(graph_find_value(g, "E")->data, W, 24);
    graph_free(g);
    external_model(&b, "sub/w.bin", NULL, NULL);
    g = import(&b, NULL, &d);
    ck_assert_msg(g != NULL, "%s", d.msg);
    ck_assert_mem_eq(graph_find_value(g, "E")->data, W, 24);
    graph_free(g);
    free(sub); free(f1); free(f2);
}
END_TEST

START_TEST(external_data_refused)
{
    char *outside = tmpdir_make(), *target = path_join(outside, "secret.bin");
    char *link = path_join(dir, "link.bin"), *small = path_join(dir, "small.bin");
    char abs_loc[4200];
    ck_assert(write_bytes(target, W, 24) && write_bytes(small, W, 24));
    ck_assert_int_eq(symlink(target, link), 0);
    snprintf(abs_loc, sizeof abs_loc, "%s", target);
    Mb b;
    external_model(&b, "../secret.bin", NULL, NULL);
    expect_import_error(&b, "external data location '../secret.bin' leaves the model's folder");
    external_model(&b, abs_loc, NULL, NULL);
    expect_import_error(&b, "leaves the model's folder");
    external_model(&b, "link.bin", NULL, NULL);
    expect_import_error(&b, "outside the model's folder");
    external_model(&b, "small.bin", "8", NULL);
    expect_import_error(&b, "lies beyond the end of");
    external_model(&b, "small.bin", "0", "20");
    expect_import_error(&b, "external data length 20, the tensor needs 24 bytes");
    external_model(&b, "small.bin", "-4", NULL);
    expect_import_error(&b, "is not a non-negative integer");
    external_model(&b, "none.bin", NULL, NULL);
    expect_import_error(&b, "none.bin");
    external_model(&b, NULL, NULL, NULL);
    expect_import_error(&b, "external data has no location");
    free(target); free(link); free(small);
    tmpdir_remove(outside);
}
END_TEST

static Suite *frontend_suite(void)
{
    Suite *s = suite_create("frontend");
    TCase *tc = tcase_create("frontend");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, initializers_in_every_encoding);
    tcase_add_test(tc, constant_nodes_become_values);
    tcase_add_test(tc, symbolic_dims_and_overrides);
    tcase_add_test(tc, opset_import);
    tcase_add_test(tc, unreadable_files);
    tcase_add_test(tc, unsupported_ops_listed_together);
    tcase_add_test(tc, malformed_graphs);
    tcase_add_test(tc, initializer_size_mismatch);
    tcase_add_test(tc, external_data_inside_folder);
    tcase_add_test(tc, external_data_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *s = frontend_suite();
    return run_suites(&s, 1);
}
