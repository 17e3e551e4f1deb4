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
        return n->nout < 2 || !n->out[1] || (n->out[1]->nusers == 0 && !n->out[1]->is_output);
    if (n->op == OP_PAD)
        return value_same_shape(n->in[0], n->out[0]);
    return (op_info[n->op].flags & OPF_RESHAPE) && value_same_shape(n->in[0], n->out[0]);
}

/* n passes its input through: readers of its output read the input instead. A graph
 * output keeps its name: the input's producer then writes it directly, which needs the
 * input to have no other reader. Returns false when n has to stay (lowered as a copy). */
static bool bypass(Graph *g, Node *n)
{
    Value *in = n->in[0], *out = n->out[0];
    Node *p = in->producer;
    if (!out->is_output) {
        graph_replace_uses(g, out, in);
    } else {
        if (in->kind != VAL_INTERMEDIATE || !p || in->is_output || in->nusers != 1)
            return false;
        for (int k = 0; k < p->nout; k++)
            if (p->out[k] == in)
                p->out[k] = out;
        out->producer = p;
    }
    n->dead = true;
    graph_count_users(g);
    return true;
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
    graph_count_users(g);
    if (identity)
        bypass(g, n);
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
        if (passes_through(n) && bypass(g, n))
            removed++;
    }
    if (removed)
        graph_compact(g);
    c->count = removed;
    snprintf(c->what, sizeof c->what, "Identity/Dropout/no-op Reshape/Pad/Transpose removed");
    return removed > 0;
}
