/* eliminate_dead: nodes whose outputs reach no graph output are removed, last to first so
 * that a whole dead chain goes in one sweep. */
#include "passes.h"

bool pass_eliminate_dead(Graph *g, PassCtx *c)
{
    int removed = 0;
    graph_count_users(g);
    for (int i = g->nnodes - 1; i >= 0; i--) {
        Node *n = g->nodes[i];
        bool needed = false;
        for (int j = 0; j < n->nout; j++)
            needed |= n->out[j] && (n->out[j]->nusers > 0 || n->out[j]->is_output);
        if (needed)
            continue;
        n->dead = true;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j])
                n->in[j]->nusers--;
        removed++;
    }
    if (removed)
        graph_compact(g);
    c->count = removed;
    snprintf(c->what, sizeof c->what, "unused nodes removed");
    return removed > 0;
}
