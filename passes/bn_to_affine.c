/* bn_to_affine: a BatchNormalization that fold_batchnorm could not fold (no Conv or Gemm
 * right before it) becomes a per-channel scale and shift with both computed here, once:
 *     scale = gamma / sqrt(var + eps),  shift = beta - mean * scale
 * and it can then take the following activation as a fused epilogue. */
#include <math.h>
#include "passes.h"
#include "rewrite.h"

bool pass_bn_to_affine(Graph *g, PassCtx *c)
{
    int rewritten = 0;
    for (int i = 0; i < g->nnodes; i++) {
        Node *bn = g->nodes[i];
        bool constant = bn->op == OP_BATCHNORM;
        for (int j = 1; constant && j < 5; j++)
            constant = bn->in[j]->kind == VAL_CONSTANT && bn->in[j]->dtype == DT_F32;
        if (!constant)
            continue;
        Value *scale = constant_like(g, bn->in[1], "_scale");
        Value *shift = constant_like(g, bn->in[2], "_shift");
        if (!scale || !shift)
            return diag_error(c->d, "out of memory rewriting '%s'", bn->name);
        for (int64_t ch = 0; ch < value_numel(scale); ch++) {
            float s = value_f32(bn->in[1], ch) / sqrtf(value_f32(bn->in[4], ch) + bn->a.bn.epsilon);
            ((float *)scale->data)[ch] = s;
            ((float *)shift->data)[ch] = value_f32(bn->in[2], ch) - value_f32(bn->in[3], ch) * s;
        }
        bn->op = OP_CHANNELAFFINE;
        bn->nin = 3;
        bn->in[1] = scale;
        bn->in[2] = shift;
        rewritten++;
    }
    c->count = rewritten;
    snprintf(c->what, sizeof c->what, "BatchNormalization turned into precomputed scale/shift");
    return rewritten > 0;
}
