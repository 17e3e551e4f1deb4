/* fuse_epilogue: work that follows a Conv or Gemm element by element is done by the
 * kernel while the output is still hot, instead of by another pass over memory:
 *   - an activation: Relu, Clip (Relu6), LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish,
 *     and SiLU written as x * Sigmoid(x) (EfficientNet);
 *   - ResNet's residual Add (then its Relu): y = act(conv(x) + bias + r).
 * The residual must already be computed when the Conv runs. torch exports a block's
 * shortcut convolution after the main path, so each operand of the Add is tried as the
 * conv to fuse into, with the other as the residual. */
#include <string.h>
#include "passes.h"
#include "rewrite.h"

static bool act_of(const Node *n, RtAct *act, float *alpha, float *beta)
{
    *alpha = n->a.act.alpha;
    *beta = n->a.act.beta;
    switch (n->op) {
    case OP_RELU:        *act = RT_ACT_RELU; return true;
    case OP_CLIP:        *act = RT_ACT_CLIP; return true;
    case OP_LEAKYRELU:   *act = RT_ACT_LEAKYRELU; return true;
    case OP_SIGMOID:     *act = RT_ACT_SIGMOID; return true;
    case OP_TANH:        *act = RT_ACT_TANH; return true;
    case OP_HARDSIGMOID: *act = RT_ACT_HARDSIGMOID; return true;
    case OP_HARDSWISH:   *act = RT_ACT_HARDSWISH; return true;
    default:             return false;
    }
}

static bool fusable(const Node *n)
{
    return n && !n->dead && (n->op == OP_CONV || n->op == OP_GEMM || n->op == OP_CHANNELAFFINE) &&
           n->ep.act == RT_ACT_NONE;
}

/* x * Sigmoid(x) where x is p's output: the Mul, or NULL. */
static Node *silu_mul(Graph *g, Node *p)
{
    Value *y = p->out[0];
    Node *sig = NULL, *mul = NULL;
    if (y->is_output)
        return NULL;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        bool reads = false;
        for (int j = 0; !n->dead && j < n->nin; j++)
            reads |= n->in[j] == y;
        if (!reads)
            continue;
        if (n->op == OP_SIGMOID && !sig)
            sig = n;
        else if (n->op == OP_MUL && !mul)
            mul = n;
        else
            return NULL;        /* a third reader: the raw output is needed */
    }
    if (!sig || !mul || sole_user(g, sig->out[0]) != mul)
        return NULL;
    bool pair = (mul->in[0] == y && mul->in[1] == sig->out[0]) ||
                (mul->in[1] == y && mul->in[0] == sig->out[0]);
    if (!pair)
        return NULL;
    sig->dead = true;
    return mul;
}

static int fuse_activations(Graph *g)
{
    int fused = 0;
    for (int i = 0; i < g->nnodes; i++) {
        Node *p = g->nodes[i];
        if (!fusable(p))
            continue;
        Node *u = sole_user(g, p->out[0]), *done = NULL;
        RtAct act;
        float alpha, beta;
        if (u && act_of(u, &act, &alpha, &beta)) {
            p->ep.act = act;
            p->ep.alpha = alpha;
            p->ep.beta = beta;
            done = u;
        } else if ((done = silu_mul(g, p)) != NULL) {
            p->ep.act = RT_ACT_SILU;
        }
        if (done) {
            absorb_output(g, p, done);
            fused++;
            graph_count_users(g);
        }
    }
    return fused;
}

static bool same_shape_f32(const Value *a, const Value *b)
{
    return a->dtype == DT_F32 && b->dtype == DT_F32 && value_same_shape(a, b);
}

static int fuse_residuals(Graph *g)
{
    int fused = 0;
    for (int i = 0; i < g->nnodes; i++) {
        Node *add = g->nodes[i];
        if (add->dead || add->op != OP_ADD || !same_shape_f32(add->in[0], add->in[1]) ||
            add->in[0] == add->in[1])
            continue;
        for (int k = 1; k >= 0; k--) {      /* the later conv first: see the header */
            Node *conv = add->in[k]->producer;
            Value *res = add->in[1 - k];
            if (!fusable(conv) || conv->op != OP_CONV || conv->ep.residual ||
                sole_user(g, add->in[k]) != add || !same_shape_f32(res, conv->out[0]))
                continue;
            if (value_position(g, res) >= value_position(g, conv->out[0]))
                continue;       /* not computed yet when the conv runs */
            if (!node_grow_inputs(g, conv, 4))
                return -1;
            conv->in[3] = res;
            conv->ep.residual = true;
            absorb_output(g, conv, add);
            fused++;
            graph_count_users(g);
            break;
        }
    }
    return fused;
}

bool pass_fuse_epilogue(Graph *g, PassCtx *c)
{
    graph_count_users(g);
    int residuals = fuse_residuals(g);
    if (residuals < 0)
        return diag_error(c->d, "out of memory fusing residual additions");
    int acts = fuse_activations(g);
    if (residuals + acts)
        graph_compact(g);
    c->count = residuals + acts;
    snprintf(c->what, sizeof c->what, "ops fused into the kernel before them (%d residual Add, %d "
             "activations)", residuals, acts);
    return residuals + acts > 0;
}
