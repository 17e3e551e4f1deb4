/* The optimizer: passes over the graph, run in the order of passes/pipeline.c. */
#ifndef CNNC_PASSES_H
#define CNNC_PASSES_H
#include <stdio.h>
#include "ir/ir.h"

typedef struct {
    Diag *d;
    int level;                  /* -O level */
    int count;                  /* what the pass changed, for -v */
    char what[96];              /* "BatchNormalization folded" */
} PassCtx;

typedef bool (*PassFn)(Graph *g, PassCtx *c);   /* returns "changed"; errors go to c->d */

bool pass_fold_shapes(Graph *g, PassCtx *c);    /* only what kernels need (every -O) */
bool pass_fold_constants(Graph *g, PassCtx *c); /* every all-constant node */
bool pass_simplify(Graph *g, PassCtx *c);
bool pass_eliminate_dead(Graph *g, PassCtx *c);
bool pass_fold_pad(Graph *g, PassCtx *c);
bool pass_fold_batchnorm(Graph *g, PassCtx *c);
bool pass_bn_to_affine(Graph *g, PassCtx *c);
bool pass_matmul_to_gemm(Graph *g, PassCtx *c);
bool pass_fuse_epilogue(Graph *g, PassCtx *c);
bool pass_fuse_input_scale(Graph *g, PassCtx *c);
bool pass_pool_before_conv(Graph *g, PassCtx *c);

typedef struct {
    int level;                  /* 0, 1, 2 */
    const char *disabled[16];   /* --disable-pass */
    int ndisabled;
    const char *dump_after;     /* --dump-ir=after-NAME, or "all" */
    FILE *dump;
    bool verbose;
} PipelineOptions;

bool pipeline_run(Graph *g, const PipelineOptions *o, Diag *d);
void pipeline_list(FILE *out);
#endif
