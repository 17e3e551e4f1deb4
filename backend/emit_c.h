/* The C backend: one self-contained C99 file (runtime kernels included) and its header. */
#ifndef CNNC_EMIT_C_H
#define CNNC_EMIT_C_H
#include "schedule.h"
#include "output_file.h"

typedef struct {
    const char *c_path, *h_path;
    const char *prefix;         /* C identifier prefix of the API */
    const char *weights_path;   /* sidecar weights file, or NULL to embed the weights */
    const char *model_name;     /* the ONNX file, for the banner */
    bool with_main;
    bool progress;              /* show progress while writing big weights */
} EmitCOptions;

bool emit_c(const Schedule *s, const EmitCOptions *o, OutputSet *out, Diag *d);
/* The API header alone (the LLVM backend's objects and libraries share it). */
void emit_c_header(FILE *f, const Schedule *s, const EmitCOptions *o);

/* emit_c_weights.c */
bool emit_weights_literal(FILE *f, const Schedule *s, bool progress);
bool emit_weights_file(FILE *f, const Schedule *s, uint64_t *checksum, bool progress);
uint64_t weights_checksum(const Schedule *s);
#endif
