/* ONNX import: a ModelProto file into a Graph, with every value's dtype and every graph
 * input's shape known (symbolic dimensions fixed by --input-shape, else 1). */
#ifndef CNNC_FRONTEND_H
#define CNNC_FRONTEND_H
#include "ir/ir.h"

typedef struct {
    const char *name;           /* graph input name, or NULL for "the first input" */
    int rank;
    int64_t dims[CNNC_MAX_RANK];
} ShapeOverride;

typedef struct {
    const ShapeOverride *shapes;
    int nshapes;
    bool verbose;               /* mention defaulted symbolic dimensions on stderr */
} ImportOptions;

Graph *onnx_import(const char *path, const ImportOptions *opt, Diag *d);
/* The same from bytes in memory; path names the model in messages and anchors external
 * data. */
Graph *onnx_import_bytes(const uint8_t *data, size_t len, const char *path,
                         const ImportOptions *opt, Diag *d);

/* tensor_data.c: one TensorProto's payload (raw, typed fields or external file) into a new
 * constant value. model_dir bounds where external data may be read from. */
struct Onnx__TensorProto;
Value *tensor_import(Graph *g, const struct Onnx__TensorProto *t, const char *name,
                     const char *model_dir, Diag *d);
bool onnx_dtype(int onnx_type, DType *out);
#endif
