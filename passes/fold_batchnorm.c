/* fold_batchnorm: a BatchNormalization right after a Conv (or Gemm) is a per-channel
 * scale and shift, which folds into the weights and bias:
 *     s = gamma / sqrt(var + eps);  w' = w * s (per output channel);  b' = (b - mean) * s + beta
 * The folded weights are new constants: the originals may be shared with another node. */
#include <math.h>
#include "passes.h"
#include "rewrite.h"

static bool params_constant(const Node *bn)
{
    for (int i = 1; i < 5; i++)
        if (bn->in[i]->kind != VAL_CONSTANT || bn->in[i]->dtype != DT_F32)
            return false;
    return true;
}

static float bn_scale(const Node *bn, int64_t c)
{
    return value_f32(bn->in[1], c) / sqrtf(value_f32(bn->in[4], c) + bn->a.bn.epsilon);
}

static float bn_shift(const Node *bn, int64_t c, float bias)
{
    return (bias - value_f32(bn->in[3], c)) * bn_scale(bn, c) + value_f32(bn->in[2], c);
}

/* Both folders return 1 when folded, 0 when the pattern does not fit, -1 out of memory. */
static int fold_into_conv(Graph *g, Node *conv, Node *bn)
{
    Value *w = conv->in[1], *b = conv->nin > 2 ? conv->in[2] : NULL;
    int64_t m = w->dims[0], per = value_numel(w) / m, one = m;
    Value *nw = constant_like(g, w, "_bnfolded"), *nb;
    if (!nw || !node_grow_inputs(g, conv, 3))
        return -1;
    nb = b ? constant_like(g, b, "_bnfolded")
           : graph_add_constant(g, "bias_bnfolded", DT_F32, 1, &one);
    if (!nb)
        return -1;
    for (int64_t c = 0; c < m; c++) {
        float s = bn_scale(bn, c);
        for (int64_t i = 0; i < per; i++)
            ((float *)nw->data)[c * per + i] = value_f32(w, c * per + i) * s;
        ((float *)nb->data)[c] = bn_shift(bn, c, b ? value_f32(b, c) : 0.0f);
    }
    conv->in[1] = nw;
    conv->in[2] = nb;
    return 1;
}

/* Gemm: y[M,N] = alpha*A*B + beta*C with the channel on N. C must be absent or a vector
 * along N (or a scalar), so the shift can become one bias row. */
static int fold_into_gemm(Graph *g, Node *gemm, Node *bn)
{
    Value *b = gemm->in[1], *c = gemm->nin > 2 ? gemm->in[2] : NULL, *y = gemm->out[0];
    int64_t n = y->dims[1], k = gemm->a.gemm.trans_b ? b->dims[1] : b->dims[0];
    if (c && !(value_numel(c) == 1 || value_numel(c) == n))
        return 0;
    if (c && c->rank == 2 && c->dims[0] != 1)
        return 0;
    Value *nb = constant_like(g, b, "_bnfolded");
    Value *nc = graph_add_constant(g, "gemm_bias_bnfolded", DT_F32, 1, &n);
    if (!nb || !nc || !node_grow_inputs(g, gemm, 3))
        return -1;
    for (int64_t j = 0; j < n; j++) {
        float s = bn_scale(bn, j);
        for (int64_t i = 0; i < k; i++) {
            int64_t at = gemm->a.gemm.trans_b ? j * k + i : i * n + j;
            ((float *)nb->data)[at] = value_f32(b, at) * s;
        }
        float cv = c ? gemm->a.gemm.beta * value_f32(c, value_numel(c) == 1 ? 0 : j) : 0.0f;
        ((float *)nc->data)[j] = bn_shift(bn, j, cv);
    }
    gemm->in[1] = nb;
    gemm->in[2] = nc;
    gemm->a.gemm.beta = 1.0f;
    return 1;
}

bool pass_fold_batchnorm(Graph *g, PassCtx *c)
{
    int folded = 0;
    graph_count_users(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *bn = g->nodes[i];
        if (bn->dead || bn->op != OP_BATCHNORM || !params_constant(bn))
            continue;
        Node *p = bn->in[0]->producer;
        if (!p || p->dead || p->ep.act != RT_ACT_NONE || p->ep.residual ||
            sole_user(g, bn->in[0]) != bn)
            continue;           /* another reader needs the unscaled values */
        bool conv = p->op == OP_CONV && p->in[1]->kind == VAL_CONSTANT &&
                    (p->nin < 3 || !p->in[2] || p->in[2]->kind == VAL_CONSTANT);
        bool gemm = p->op == OP_GEMM && bn->in[0]->rank == 2 && p->in[1]->kind == VAL_CONSTANT &&
                    (p->nin < 3 || !p->in[2] || p->in[2]->kind == VAL_CONSTANT);
        if (!conv && !gemm)
            continue;
        int r = conv ? fold_into_conv(g, p, bn) : fold_into_gemm(g, p, bn);
        if (r < 0)
            return diag_error(c->d, "out of memory folding BatchNormalization '%s'", bn->name);
        if (r == 0)
            continue;
        absorb_output(g, p, bn);
        folded++;
    }
    if (folded)
        graph_compact(g);
    c->count = folded;
    snprintf(c->what, sizeof c->what, "BatchNormalization folded into Conv/Gemm");
    return folded > 0;
}
