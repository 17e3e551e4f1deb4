/* Buffer sharing decided before offsets are assigned (see plan_memory.c):
 *   - in place: an element-wise kernel (activation, arithmetic, BatchNorm, Softmax) or a
 *     reshape's copy writes its output over an input that dies at that step;
 *   - concat in place: when a Concat joins whole contiguous blocks (everything before the
 *     axis has length 1), its inputs are computed directly into their slots of the
 *     output and the Concat itself disappears (DenseNet, Inception, SqueezeNet).
 * Sharing is a forest: each value has a parent it lives inside, at a byte delta. A copy
 * or concat whose operands all share one buffer has nothing left to do and is elided. */
#include <stdlib.h>
#include "plan.h"

int alias_root(const Aliases *a, int v, size_t *delta)
{
    size_t d = 0;
    while (a->parent[v] >= 0) {
        d += a->delta[v];
        v = a->parent[v];
    }
    if (delta)
        *delta = d;
    return v;
}

static bool private_value(const PlanState *ps, const Value *v)
{
    return v && ps->s->where[v->id].kind == STORE_NONE && v->kind == VAL_INTERMEDIATE &&
           ps->first[v->id] >= 0;
}

/* The inputs already sit side by side in one buffer (a later, larger concat took them):
 * the output is a view of that run of bytes. DenseNet's layer inputs are all prefixes of
 * its block's output this way. */
static bool concat_as_view(PlanState *ps, Aliases *a, int i)
{
    Step *st = &ps->s->steps[i];
    Value *y = st->t[0];
    int k = (int)st->p[0], root = -1;
    size_t start = 0, at = 0;
    if (a->parent[y->id] >= 0 || a->has_members[y->id])
        return false;
    for (int j = 1; j <= k; j++) {
        size_t delta;
        if (!st->t[j] || a->parent[st->t[j]->id] < 0)
            return false;
        int r = alias_root(a, st->t[j]->id, &delta);
        if (j == 1) {
            root = r;
            start = at = delta;
        }
        if (r != root || delta != at)
            return false;
        at += (size_t)st->p[2 + j - 1];
    }
    a->parent[y->id] = root;
    a->delta[y->id] = start;
    return true;
}

static void try_concat(PlanState *ps, Aliases *a, int i)
{
    Step *st = &ps->s->steps[i];
    Value *y = st->t[0];
    int k = (int)st->p[0];
    if (st->p[1] != 1 || !private_value(ps, y) || a->has_members[y->id])
        return;
    if (concat_as_view(ps, a, i)) {
        a->elided[i] = true;
        a->nconcat++;
        return;
    }
    for (int j = 1; j <= k; j++) {
        Value *x = st->t[j];
        if (!private_value(ps, x) || x == y || a->parent[x->id] >= 0)
            return;
        for (int m = 1; m < j; m++)
            if (st->t[m] == x)
                return;         /* one value cannot sit in two slots */
    }
    size_t at = 0;
    for (int j = 1; j <= k; j++) {
        Value *x = st->t[j];
        a->parent[x->id] = y->id;
        a->delta[x->id] = at;
        at += (size_t)st->p[2 + j - 1];
    }
    a->has_members[y->id] = true;
    a->elided[i] = true;
    a->nconcat++;
}

static bool elementwise_in_place(const Step *st)
{
    switch (st->kernel) {
    case RT_K_UNARY: case RT_K_BINARY: case RT_K_BATCHNORM: case RT_K_COPY: case RT_K_AFFINE:
        return true;
    case RT_K_SOFTMAX:
        return st->p[3] == 0;   /* LogSoftmax rereads its input after writing */
    default:
        return false;
    }
}

static bool in_concat(const Aliases *a, int v)
{
    return a->parent[v] >= 0 || a->has_members[v];
}

static void try_in_place(PlanState *ps, Aliases *a, int i)
{
    Step *st = &ps->s->steps[i];
    Value *y = st->t[0];
    int last_in = st->kernel == RT_K_BINARY ? 2 : 1;
    if (!elementwise_in_place(st) || !private_value(ps, y) || ps->first[y->id] != i ||
        in_concat(a, y->id) || a->parent[y->id] >= 0)
        return;
    for (int j = 1; j <= last_in; j++) {
        Value *x = st->t[j];
        if (!private_value(ps, x) || ps->last[x->id] != i || value_bytes(x) != value_bytes(y))
            continue;
        int root = alias_root(a, x->id, NULL);
        if (in_concat(a, root))
            continue;
        a->parent[y->id] = root;
        a->delta[y->id] = 0;
        a->in_place[y->id] = true;
        a->in_place[root] = true;
        if (st->kernel == RT_K_COPY)
            a->elided[i] = true;    /* a reshape: same bytes, same place */
        a->ninplace++;
        return;
    }
}

void plan_aliases(PlanState *ps, Aliases *a)
{
    const Schedule *s = ps->s;
    /* Last to first: the biggest concat of a chain takes its inputs, the earlier ones
     * become views into it. */
    for (int i = s->nsteps - 1; i >= 0; i--)
        if (s->steps[i].kernel == RT_K_CONCAT)
            try_concat(ps, a, i);
    for (int v = 0; v < s->g->nvalues; v++)
        if (a->parent[v] >= 0)
            a->has_members[alias_root(a, v, NULL)] = true;
    for (int i = 0; i < s->nsteps; i++)
        if (!a->elided[i])
            try_in_place(ps, a, i);
}
