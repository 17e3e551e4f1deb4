/* simplify: ops that compute nothing at inference time disappear. Identity and Dropout
 * pass their input through; so do a Reshape-like op whose output has its input's shape
 * and a Pad of zeros everywhere (torch puts one before many AveragePools). Two Transposes
 * in a row become one, or none when they cancel. */
#include <string.h>
#include "passes.h"

static bool passes_through(const Node *n)
{
    if (n->op == OP_IDENTITY)
        return true;
    if (n->op == OP_DROPOUT)    /* inference: the identity, if nobody wants the mask */
        return n->nout < 2 || !n->out[1] || n->out[1]->nusers == 0;
    if (n->op == OP_PAD)
        return value_same_shape(n->in[0], n->out[0]);
    return (op_info[n->op].flags & OPF_RESHAPE) && value_same_shape(n->in[0], n->out[0]);
}

/* T2(T1(x)) = x transposed by perm[j] = p1[p2[j]]. Returns true when n was rewritten. */
static bool merge_transposes(Graph *g, Node *n)
{
    Node *first = n->in[0]->producer;
    if (n->op != OP_TRANSPOSE || !first || first->dead || first->op != OP_TRANSPOSE)
        return false;
    AxesAttr merged = { .n = n->a.axes.n };
    bool identity = true;
    for (int j = 0; j < merged.n; j++) {
        merged.v[j] = first->a.axes.v[n->a.axes.v[j]];
        identity &= merged.v[j] == j;
    }
    n->in[0] = first->in[0];
    n->a.axes = merged;
    if (identity && !(n->out[0]->is_output && n->in[0]->kind != VAL_INTERMEDIATE)) {
        graph_replace_uses(g, n->out[0], n->in[0]);
        n->dead = true;
    }
    return true;                /* the first Transpose dies in eliminate_dead if unused */
}

bool pass_simplify(Graph *g, PassCtx *c)
{
    int removed = 0;
    graph_count_users(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead)
            continue;
        if (merge_transposes(g, n)) {
            removed++;
            continue;
        }
        if (!passes_through(n))
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
    snprintf(c->what, sizeof c->what, "Identity/Dropout/no-op Reshape/Pad/Transpose removed");
    return removed > 0;
}
