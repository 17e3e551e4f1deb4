/* simplify: ops that compute nothing at inference time disappear. Identity and Dropout
 * pass their input through; a Reshape-like op whose output has its input's shape too. */
#include "passes.h"

static bool passes_through(const Node *n)
{
    if (n->op == OP_IDENTITY)
        return true;
    if (n->op == OP_DROPOUT)    /* inference: the identity, if nobody wants the mask */
        return n->nout < 2 || !n->out[1] || n->out[1]->nusers == 0;
    return (op_info[n->op].flags & OPF_RESHAPE) && value_same_shape(n->in[0], n->out[0]);
}

bool pass_simplify(Graph *g, PassCtx *c)
{
    int removed = 0;
    graph_count_users(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead || !passes_through(n))
            continue;
        /* Keep the graph output's name on the output: if both ends are graph interface
         * values, the node stays (lowering turns it into a copy). */
        if (n->out[0]->is_output && n->in[0]->kind != VAL_INTERMEDIATE)
            continue;
        graph_replace_uses(g, n->out[0], n->in[0]);
        n->dead = true;
        removed++;
    }
    if (removed)
        graph_compact(g);
    c->count = removed;
    snprintf(c->what, sizeof c->what, "Identity/Dropout/no-op reshapes removed");
    return removed > 0;
}
