/* pool_before_conv: an AveragePool straight after a 1x1 Conv runs before it instead. Both
 * are linear and act on different axes (the conv mixes channels pixel by pixel, the pool
 * averages pixels channel by channel), so pool(conv(x)) = conv(pool(x)), bias included;
 * pooled first, the conv has a quarter of the pixels to do for a 2x2 pool. DenseNet's
 * transitions (BatchNorm, Relu, 1x1 conv, 2x2 average) are such: 4x fewer FLOPs in them.
 * Only where the two are exactly interchangeable: the conv 1x1, stride 1, unpadded,
 * undilated, with nothing fused after it (an activation would not commute) and no scaled
 * input; the pool with windows that tile the plane exactly (stride = window, no padding,
 * the plane a whole number of windows), so that every output averages the same count. */
#include "passes.h"
#include "rewrite.h"

static bool unpadded(const WindowAttr *w)
{
    return !w->pad[0] && !w->pad[1] && !w->pad[2] && !w->pad[3] &&
           (w->auto_pad == AUTOPAD_NOTSET || w->auto_pad == AUTOPAD_VALID);
}

static bool pointwise_conv(const Node *n)
{
    const WindowAttr *w = &n->a.win;
    return n->op == OP_CONV && !n->dead && !n->pre.on && n->ep.act == RT_ACT_NONE &&
           !n->ep.residual && w->kernel[0] == 1 && w->kernel[1] == 1 && w->stride[0] == 1 &&
           w->stride[1] == 1 && w->dilation[0] == 1 && w->dilation[1] == 1 && unpadded(w) &&
           n->in[0]->rank == 4 && n->in[0]->dtype == DT_F32;
}

static bool tiling_average(const Node *n, const Value *x)
{
    const WindowAttr *w = &n->a.win;
    return n->op == OP_AVGPOOL && !n->dead && unpadded(w) && w->kernel[0] == w->stride[0] &&
           w->kernel[1] == w->stride[1] && w->dilation[0] == 1 && w->dilation[1] == 1 &&
           x->rank == 4 && x->dims[2] % w->kernel[0] == 0 && x->dims[3] % w->kernel[1] == 0;
}

/* Node positions i < j: x -> conv (i) -> y -> pool (j) -> z becomes x -> pool (i) -> y ->
 * conv (j) -> z. y keeps its name but now holds the pooled input; shapes are inferred
 * again after the pass. Nothing between i and j reads y (the pool is its only reader) or
 * z (made at j), so the order stays topological. */
static void swap_nodes(Graph *g, int i, int j)
{
    Node *conv = g->nodes[i], *pool = g->nodes[j];
    Value *x = conv->in[0], *y = conv->out[0], *z = pool->out[0];
    pool->in[0] = x;
    pool->out[0] = y;
    y->producer = pool;
    conv->in[0] = y;
    conv->out[0] = z;
    z->producer = conv;
    g->nodes[i] = pool;
    g->nodes[j] = conv;
}

bool pass_pool_before_conv(Graph *g, PassCtx *c)
{
    int moved = 0;
    graph_count_users(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *conv = g->nodes[i];
        if (!pointwise_conv(conv) || conv->out[0]->is_output)
            continue;
        Node *pool = sole_user(g, conv->out[0]);
        if (!pool || !tiling_average(pool, conv->out[0]))
            continue;
        int j = value_position(g, pool->out[0]);
        if (j <= i)
            continue;
        swap_nodes(g, i, j);
        moved++;
    }
    c->count = moved;
    snprintf(c->what, sizeof c->what, "AveragePool moved before the 1x1 Conv feeding it");
    return moved > 0;
}
