/* fuse_input_scale: a per-channel scaling whose only reader is an unpadded 1x1 Conv is done
 * by the Conv while it gathers its input, instead of by a pass over memory before it:
 *   - DenseNet's BatchNorm+Relu after each concat (a cnnc.ChannelAffine by now):
 *     the conv reads relu(x * scale[c] + shift[c]);
 *   - the squeeze-excitation Mul of EfficientNet and RegNetY, x * s with s [N, C, 1, 1]
 *     computed at run time: the conv reads x * s[n, c].
 * Only 1x1 convolutions without padding qualify: their gathered input holds no padding
 * zeros, which the scaling must not touch. The weights must be constant so that the
 * packed-GEMM kernel, which does the scaling, is the one chosen for the conv. */
#include "passes.h"
#include "rewrite.h"

/* A conv whose input the packed GEMM gathers with no padding, one image plane at a time. */
static bool takes_prologue(const Node *n)
{
    const WindowAttr *w = &n->a.win;
    const Value *x = n->in[0], *y = n->out[0];
    return n->op == OP_CONV && !n->dead && !n->pre.on && w->group == 1 &&
           w->kernel[0] == 1 && w->kernel[1] == 1 && !w->pad[0] && !w->pad[1] &&
           !w->pad[2] && !w->pad[3] && x->rank == 4 && x->dtype == DT_F32 &&
           y->dims[2] * y->dims[3] >= 16 &&          /* smaller ones run as dot products */
           n->in[1]->kind == VAL_CONSTANT && n->in[1]->dtype == DT_F32;
}

/* [N, C, 1, 1] or [1, C, 1, 1] or [C, 1, 1] against x [N, C, H, W]. */
static bool channel_scale(const Value *s, const Value *x)
{
    if (s->dtype != DT_F32 || s->rank < 3 || s->rank > 4)
        return false;
    int off = 4 - s->rank;
    return (s->rank == 3 || s->dims[0] == x->dims[0] || s->dims[0] == 1) &&
           s->dims[1 - off] == x->dims[1] && s->dims[2 - off] == 1 && s->dims[3 - off] == 1;
}

/* 1 fused, 0 not, -1 out of memory */
static int fuse_one(Graph *g, Node *conv)
{
    Value *x = conv->in[0];
    Node *p = x->producer;
    if (!p || p->dead || x->is_output || sole_user(g, x) != conv)
        return 0;
    if (p->op == OP_CHANNELAFFINE) {
        if (p->ep.act != RT_ACT_NONE && p->ep.act != RT_ACT_RELU)
            return 0;
        if (p->in[0]->rank != 4 || value_numel(p->in[1]) != x->dims[1] ||
            value_numel(p->in[2]) != x->dims[1])
            return 0;
        if (!node_grow_inputs(g, conv, 6))
            return -1;
        conv->in[0] = p->in[0];
        conv->in[4] = p->in[1];
        conv->in[5] = p->in[2];
        conv->pre.act = p->ep.act;
        conv->pre.per_image = false;
    } else if (p->op == OP_MUL) {
        int k;                  /* the operand that is the per-channel scale */
        for (k = 0; k < 2; k++)
            if (channel_scale(p->in[k], x) && p->in[1 - k]->dtype == DT_F32 &&
                value_same_shape(p->in[1 - k], x))
                break;
        if (k == 2)
            return 0;
        if (!node_grow_inputs(g, conv, 6))
            return -1;
        conv->in[0] = p->in[1 - k];
        conv->in[4] = p->in[k];
        conv->in[5] = NULL;
        conv->pre.act = RT_ACT_NONE;
        /* one scale per image and channel, unless it is the same for every image */
        conv->pre.per_image = p->in[k]->rank == 4 && p->in[k]->dims[0] > 1;
    } else {
        return 0;
    }
    conv->pre.on = true;
    p->dead = true;
    return 1;
}

bool pass_fuse_input_scale(Graph *g, PassCtx *c)
{
    int fused = 0;
    graph_count_users(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        int r = takes_prologue(n) ? fuse_one(g, n) : 0;
        if (r < 0)
            return diag_error(c->d, "out of memory fusing into '%s'", n->name);
        if (r) {
            fused++;
            graph_count_users(g);
        }
    }
    if (fused)
        graph_compact(g);
    c->count = fused;
    snprintf(c->what, sizeof c->what, "per-channel scalings done by the 1x1 conv after them");
    return fused > 0;
}
