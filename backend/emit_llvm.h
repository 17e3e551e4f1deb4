/* The LLVM backend: the schedule as an LLVM module with the runtime's kernels (embedded
 * bitcode) linked in and optimized together, written as an object, assembly or IR, or linked
 * by the system's C compiler driver into an executable or a shared library. */
#ifndef CNNC_EMIT_LLVM_H
#define CNNC_EMIT_LLVM_H
#include "schedule.h"
#include "output_file.h"

typedef enum { LLVM_EMIT_OBJ, LLVM_EMIT_ASM, LLVM_EMIT_LL, LLVM_EMIT_SO, LLVM_EMIT_EXE } LlvmEmit;

typedef struct {
    LlvmEmit kind;
    const char *path;           /* the output */
    const char *h_path;         /* the API's header, or NULL for none */
    const char *prefix;         /* C identifier prefix of the API */
    const char *model_name;     /* the ONNX file, for the header's banner */
    const char *triple;         /* NULL: this host */
    const char *cpu;            /* NULL or "native": this host's CPU and features */
    int opt_level;              /* 0-3: LLVM's pass pipeline and code generation */
    bool verbose;               /* timings and the link command on stderr */
} EmitLlvmOptions;

bool emit_llvm(const Schedule *s, const EmitLlvmOptions *o, OutputSet *out, Diag *d);

/* link.c: links OBJ into an executable (with main() and the runtime) or a shared library at
 * OUT with the system's C compiler driver ($CC, default cc). */
bool link_native(const char *obj, const char *out, bool shared, bool verbose, Diag *d);
#endif
