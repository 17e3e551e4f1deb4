/* Helpers for passes that rewrite the graph (see rewrite.h). */
#include <stdio.h>
#include <string.h>
#include "rewrite.h"

Node *sole_user(Graph *g, const Value *v)
{
    Node *user = NULL;
    if (v->is_output)
        return NULL;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->nin; j++) {
            if (n->in[j] != v)
                continue;
            if (user)
                return NULL;
            user = n;
        }
    }
    return user;
}

bool node_grow_inputs(Graph *g, Node *n, int nin)
{
    if (n->nin >= nin)
        return true;
    Value **in = ARENA_ARRAY(&g->arena, Value *, nin);
    if (!in)
        return false;
    memcpy(in, n->in, sizeof(Value *) * (size_t)n->nin);
    n->in = in;
    n->nin = nin;
    return true;
}

Value *constant_like(Graph *g, const Value *base, const char *suffix)
{
    char name[512];
    snprintf(name, sizeof name, "%s%s", base->name, suffix);
    return graph_add_constant(g, name, base->dtype, base->rank, base->dims);
}

void absorb_output(Graph *g, Node *keep, Node *gone)
{
    Value *old = keep->out[0], *taken = gone->out[0];
    gone->dead = true;
    keep->out[0] = taken;
    taken->producer = keep;
    graph_replace_uses(g, old, taken);      /* readers other than gone, if any remained */
}

int value_position(const Graph *g, const Value *v)
{
    if (!v->producer)
        return -1;
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i] == v->producer)
            return i;
    return -1;
}
