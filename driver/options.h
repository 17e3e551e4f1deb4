/* The command line of cnnc (see --help), parsed into one struct. */
#ifndef CNNC_OPTIONS_H
#define CNNC_OPTIONS_H
#include "frontend/frontend.h"
#include "passes/passes.h"

typedef enum { EMIT_NONE, EMIT_C, EMIT_EXE, EMIT_OBJ, EMIT_SO, EMIT_LL, EMIT_ASM } EmitKind;

typedef struct {
    const char *model;
    const char *output;
    EmitKind emit;
    const char *prefix;
    const char *weights;
    const char *dot, *dot_input;    /* Graphviz files: after the passes, as imported */
    const char *target, *cpu;   /* LLVM backend; NULL: this host */
    int opt_level;              /* -O as given (0-3); pipe.level caps it at 2 */
    bool with_main, summary, list_ops, quiet, verbose, dump_ir;
    PipelineOptions pipe;
    ShapeOverride shapes[16];
    char shape_names[16][256];  /* the NAME= parts of --input-shape */
    int nshapes;
} Options;

/* Returns 0 to go on, 1 on a usage error (message printed), 2 when done (--help, --version). */
int options_parse(Options *o, int argc, char **argv);
#endif
