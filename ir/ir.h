/* The graph IR: values (tensors with static shapes), nodes (ops with typed attributes) and
 * the graph that owns them in one arena. Also the diagnostics every stage reports through. */
#ifndef CNNC_IR_H
#define CNNC_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "../runtime/rt.h"

#define CNNC_MAX_RANK 8
#define CNNC_MAX_DIM  ((int64_t)1 << 40)    /* any one dimension */
#define CNNC_MAX_ELEMS ((int64_t)1 << 34)   /* any one tensor: 64 GiB of float */

/* ---- arena ---------------------------------------------------------------------------- */
typedef struct ArenaBlock ArenaBlock;
typedef struct {
    ArenaBlock *head;
    size_t used_total;
} Arena;

void *arena_alloc(Arena *a, size_t size);      /* zeroed, 16-byte aligned; NULL if out of memory */
char *arena_strdup(Arena *a, const char *s);
void arena_release(Arena *a);
#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define ARENA_ARRAY(a, T, n) ((T *)arena_alloc((a), sizeof(T) * (size_t)(n)))

/* ---- dtypes --------------------------------------------------------------------------- */
typedef enum { DT_UNDEF, DT_F32, DT_I64, DT_BOOL } DType;
const char *dtype_name(DType t);
size_t dtype_size(DType t);

/* ---- ops ------------------------------------------------------------------------------ */
enum { OPF_NONE = 0, OPF_UNARY = 1, OPF_BINARY = 2, OPF_RESHAPE = 4, OPF_INTERNAL = 8 };

typedef enum {
#define OP(id, onnx, lo, hi, olo, ohi, v0, v1, fl) OP_##id,
#include "ops.def"
#undef OP
    OP_COUNT
} OpKind;

typedef struct {
    const char *onnx;
    int min_in, max_in, min_out, max_out;
    int min_opset, max_opset;
    int flags;
} OpInfo;

extern const OpInfo op_info[OP_COUNT];
bool op_lookup(const char *onnx_name, OpKind *out);

/* ---- attributes ----------------------------------------------------------------------- */
/* As read from the file, before the op's decoder turns them into its typed struct. */
typedef enum { ATTR_FLOAT, ATTR_INT, ATTR_STRING, ATTR_TENSOR, ATTR_FLOATS, ATTR_INTS,
               ATTR_OTHER } AttrKind;

struct Value;
typedef struct {
    const char *name;
    AttrKind kind;
    float f;
    int64_t i;
    const char *s;
    const float *floats;
    const int64_t *ints;
    int n;                      /* length of floats / ints */
    struct Value *t;            /* ATTR_TENSOR */
} Attr;

typedef enum { AUTOPAD_NOTSET, AUTOPAD_SAME_UPPER, AUTOPAD_SAME_LOWER, AUTOPAD_VALID } AutoPad;

typedef struct {                /* Conv, MaxPool, AveragePool; 2-D only */
    int64_t kernel[2], stride[2], dilation[2];
    int64_t pad[4];             /* top, left, bottom, right */
    int64_t group;
    AutoPad auto_pad;
    bool ceil_mode, count_include_pad;
} WindowAttr;

typedef struct { float alpha, beta; bool trans_a, trans_b; } GemmAttr;
typedef struct { float epsilon; } BnAttr;
typedef struct { float alpha, beta; } ActAttr;      /* Clip min/max, LeakyRelu, HardSigmoid */
typedef struct { int64_t axis; } AxisAttr;          /* Concat Flatten Softmax Gather */
typedef struct { int64_t size; float alpha, beta, bias; } LrnAttr;
typedef struct { int n; int64_t v[CNNC_MAX_RANK]; } AxesAttr;  /* Transpose perm, Squeeze */
typedef struct { int64_t axis; int n; int64_t sizes[64]; } SplitAttr;
typedef struct { RtPadMode mode; float value; int n; int64_t pads[2 * CNNC_MAX_RANK]; } PadAttr;
typedef struct {
    int n;                      /* as written (opset < 10: attributes) */
    int64_t starts[CNNC_MAX_RANK], ends[CNNC_MAX_RANK], axes[CNNC_MAX_RANK], steps[CNNC_MAX_RANK];
    int64_t first[CNNC_MAX_RANK], step[CNNC_MAX_RANK];  /* resolved, per axis of the input */
} SliceAttr;
typedef struct { DType to; } CastAttr;
typedef struct { bool allowzero; } ReshapeAttr;
typedef struct {                /* ReduceMean/Sum/Max/Min; axes normalized by shape inference */
    int n;                      /* -1: absent */
    int64_t axes[CNNC_MAX_RANK];
    bool keepdims, noop_with_empty_axes;
} ReduceAttr;
typedef struct { int64_t axis; float epsilon; } LayerNormAttr;
typedef enum { RESIZE_NEAREST, RESIZE_LINEAR, RESIZE_CUBIC } ResizeMode;
typedef struct {                /* Resize, Upsample; scales resolved per axis by inference */
    ResizeMode mode;
    int coord;                  /* RtResizeCoord */
    int nearest;                /* RtResizeNearest */
    int nscales;                /* Upsample-7's attribute, else -1 */
    double scales[CNNC_MAX_RANK];
    double roi[2 * CNNC_MAX_RANK];      /* tf_crop_and_resize: starts, then ends */
    float cubic_a, extrapolation;
    bool exclude_outside;
} ResizeAttr;
typedef struct {                /* ConvTranspose: the window, then its own attributes */
    WindowAttr w;
    int64_t out_pad[2], out_shape[2];
    bool has_out_shape;
} ConvTransposeAttr;

/* ---- values and nodes ----------------------------------------------------------------- */
typedef enum { VAL_INTERMEDIATE, VAL_INPUT, VAL_CONSTANT } ValueKind;

typedef struct Value {
    const char *name;
    ValueKind kind;
    DType dtype;
    int rank;                   /* -1 until shape inference */
    int64_t dims[CNNC_MAX_RANK];
    struct Node *producer;      /* NULL for inputs and constants */
    void *data;                 /* VAL_CONSTANT payload */
    int nusers;                 /* nodes reading it (a node counts once per input slot) */
    bool is_output;
    int id;                     /* index in graph->values */
} Value;

typedef struct Node {
    OpKind op;
    const char *name;           /* ONNX node name (or a made-up one), for messages */
    int opset;
    Value **in, **out;
    int nin, nout;
    Attr *attrs;
    int nattrs;
    union {
        WindowAttr win;
        GemmAttr gemm;
        BnAttr bn;
        ActAttr act;
        AxisAttr axis;
        LrnAttr lrn;
        AxesAttr axes;
        SplitAttr split;
        PadAttr pad;
        SliceAttr slice;
        CastAttr cast;
        ReshapeAttr reshape;
        ReduceAttr reduce;
        LayerNormAttr ln;
        ResizeAttr resize;
        ConvTransposeAttr convt;
    } a;
    /* Epilogue fused into a Conv or Gemm by passes/fuse_epilogue.c: y = act(op + residual).
     * The residual, when there is one, is the node's last input (Conv: in[3]). */
    struct {
        RtAct act;
        float alpha, beta;
        bool residual;
    } ep;
    /* Prologue fused into an unpadded 1x1 Conv by passes/fuse_input_scale.c: the conv
     * reads act(x * scale + shift), per input channel, while it gathers its input. scale
     * is in[4]: [C], or [N, C, 1, 1] when per_image (squeeze-excitation); shift is in[5]
     * or NULL; act is NONE or RELU. */
    struct {
        bool on, per_image;
        RtAct act;
    } pre;
    bool dead;                  /* removed; compacted away by graph_compact */
} Node;

typedef struct Graph {
    Arena arena;
    const char *path;           /* model file, for messages */
    int opset;                  /* of the default ONNX domain */
    Value **values;
    int nvalues, capvalues;
    Node **nodes;               /* in topological order once imported */
    int nnodes, capnodes;
    Value **inputs, **outputs;
    int ninputs, noutputs;
    bool winograd;              /* lowering may trade exactness for Winograd (-O3) */
} Graph;

/* ---- diagnostics ---------------------------------------------------------------------- */
typedef struct Diag {
    const char *path;
    char msg[1024];
    bool failed;
} Diag;

bool diag_error(Diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool diag_node(Diag *d, const Node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- graph ---------------------------------------------------------------------------- */
Graph *graph_new(const char *path);
void graph_free(Graph *g);
Value *graph_add_value(Graph *g, const char *name);
Node *graph_add_node(Graph *g, OpKind op, const char *name, int nin, int nout);
Value *graph_find_value(Graph *g, const char *name);
Value *graph_add_constant(Graph *g, const char *name, DType dt, int rank, const int64_t *dims);
void graph_replace_uses(Graph *g, Value *from, Value *to);
void graph_count_users(Graph *g);
void graph_compact(Graph *g);
bool graph_sort(Graph *g, Diag *d);
const Attr *node_attr(const Node *n, const char *name);

int64_t value_numel(const Value *v);
size_t value_bytes(const Value *v);
bool value_same_shape(const Value *a, const Value *b);
const char *value_shape_str(const Value *v, char *buf, size_t size);
float value_f32(const Value *v, int64_t i);
int64_t value_i64(const Value *v, int64_t i);

/* ir/attrs.c: the typed attributes of n from its raw ones */
bool node_decode_attrs(Node *n, Diag *d);
/* ir/infer.c: dtypes and shapes of every node's outputs, in order */
bool graph_infer_shapes(Graph *g, Diag *d);
bool node_infer(Node *n, Diag *d);
/* ir/verify.c: cnnc's own invariants; a failure is a bug, named after `stage` */
bool graph_verify(Graph *g, const char *stage, Diag *d);
/* ir/dump.c */
void graph_dump(Graph *g, FILE *out);
const char *node_label(const Node *n, char *buf, size_t size);     /* "Conv+Add+Relu" */
/* ir/dot.c: the graph for Graphviz */
void graph_write_dot(Graph *g, FILE *out);

#endif
