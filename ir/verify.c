/* The verifier: invariants every pass must keep. A failure is a bug in cnnc, reported with
 * the stage that broke the graph, not a problem with the user's model. */
#include <stdlib.h>
#include "ir.h"

bool graph_verify(Graph *g, const char *stage, Diag *d)
{
    bool *defined = calloc((size_t)g->nvalues + 1, sizeof(bool));
    bool ok = defined != NULL;
    if (!ok)
        return diag_error(d, "out of memory verifying the graph");
    for (int i = 0; i < g->nvalues; i++)
        defined[i] = g->values[i]->kind != VAL_INTERMEDIATE;
    for (int i = 0; ok && i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead)
            ok = diag_node(d, n, "internal error after %s: a dead node is still listed", stage);
        for (int j = 0; ok && j < n->nin; j++)
            if (n->in[j] && !defined[n->in[j]->id])
                ok = diag_node(d, n, "internal error after %s: input '%s' is used before it "
                               "is computed", stage, n->in[j]->name);
        for (int j = 0; ok && j < n->nout; j++) {
            Value *v = n->out[j];
            if (!v)
                continue;
            if (v->producer != n || v->kind != VAL_INTERMEDIATE)
                ok = diag_node(d, n, "internal error after %s: output '%s' has the wrong "
                               "producer", stage, v->name);
            else if (v->rank < 0 || v->dtype == DT_UNDEF)
                ok = diag_node(d, n, "internal error after %s: output '%s' has no shape",
                               stage, v->name);
            else
                defined[v->id] = true;
        }
    }
    for (int i = 0; ok && i < g->noutputs; i++)
        if (!defined[g->outputs[i]->id])
            ok = diag_error(d, "internal error after %s: graph output '%s' is not computed",
                            stage, g->outputs[i]->name);
    free(defined);
    return ok;
}
