/* The optimizer at a glance: the passes in order, each with the lowest -O level that runs
 * it. The driver reruns the table until nothing changes; after every pass shapes are
 * inferred again and the graph verified, so a broken pass is named at once. */
#include <string.h>
#include "passes.h"

typedef struct {
    const char *name;
    PassFn run;
    int min_level;
} Pass;

static const Pass passes[] = {
    { "fold_shapes",    pass_fold_shapes,    0 },   /* shape chains: needed to run at all */
    { "simplify",       pass_simplify,       1 },
    { "fold_constants", pass_fold_constants, 1 },
    { "fold_pad",       pass_fold_pad,       1 },
    { "matmul_to_gemm", pass_matmul_to_gemm, 1 },   /* before: BN can then fold into it */
    { "fold_batchnorm", pass_fold_batchnorm, 1 },
    { "bn_to_affine",   pass_bn_to_affine,   1 },
    { "fuse_epilogue",  pass_fuse_epilogue,  2 },
    { "pool_before_conv", pass_pool_before_conv, 2 }, /* a scaled conv could not move */
    { "fuse_input_scale", pass_fuse_input_scale, 2 },   /* after: the affine has its Relu */
    { "eliminate_dead", pass_eliminate_dead, 0 },
};
#define NPASSES (int)(sizeof passes / sizeof passes[0])
#define MAX_ROUNDS 8

void pipeline_list(FILE *out)
{
    for (int i = 0; i < NPASSES; i++)
        fprintf(out, "  %-16s -O%d and above\n", passes[i].name, passes[i].min_level);
}

static bool disabled(const PipelineOptions *o, const char *name)
{
    for (int i = 0; i < o->ndisabled; i++)
        if (strcmp(o->disabled[i], name) == 0)
            return true;
    return false;
}

bool pipeline_run(Graph *g, const PipelineOptions *o, Diag *d)
{
    for (int i = 0; i < o->ndisabled; i++) {
        bool known = false;
        for (int j = 0; j < NPASSES; j++)
            known |= strcmp(passes[j].name, o->disabled[i]) == 0;
        if (!known)
            return diag_error(d, "--disable-pass: no pass is called '%s'", o->disabled[i]);
    }
    if (o->dump_after && strcmp(o->dump_after, "all") != 0) {
        bool known = false;
        for (int j = 0; j < NPASSES; j++)
            known |= strcmp(passes[j].name, o->dump_after) == 0;
        if (!known)
            return diag_error(d, "--dump-ir=after-%s: no pass is called '%s'", o->dump_after,
                              o->dump_after);
    }
    bool changed = true;
    for (int round = 0; changed && round < MAX_ROUNDS; round++) {
        changed = false;
        for (int i = 0; i < NPASSES; i++) {
            const Pass *p = &passes[i];
            /* fold_shapes cannot be turned off: without it shapes are unknown. */
            if (o->level < p->min_level || (i > 0 && disabled(o, p->name)))
                continue;
            PassCtx c = { .d = d, .level = o->level };
            bool ch = p->run(g, &c);
            if (d->failed)
                return false;
            if (!graph_infer_shapes(g, d) || !graph_verify(g, p->name, d))
                return false;
            if (o->verbose && ch)
                fprintf(stderr, "cnnc: %s: %d %s\n", p->name, c.count, c.what);
            if (o->dump && o->dump_after && ch &&
                (strcmp(o->dump_after, p->name) == 0 || strcmp(o->dump_after, "all") == 0)) {
                fprintf(o->dump, "# after %s (round %d)\n", p->name, round + 1);
                graph_dump(g, o->dump);
            }
            changed |= ch;
        }
    }
    return true;
}
