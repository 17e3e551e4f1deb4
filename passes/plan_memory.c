/* plan_memory: where every tensor of the schedule lives. Graph inputs and outputs are the
 * caller's buffers; constants go into one weight blob in order of first use; every other
 * tensor and every kernel workspace gets an offset in one arena.
 * Arena offsets: each buffer lives from the step that writes it to the last step that
 * reads it. Buffers are placed largest first, each at the lowest offset where it overlaps
 * no placed buffer whose lifetime it shares ("greedy by size"), which lands close to the
 * lower bound (the most bytes live at any one step) on CNNs. */
#include <stdlib.h>
#include <string.h>
#include "plan.h"

typedef struct {
    size_t size, offset;
    int first, last;            /* steps */
    Value *v;                   /* NULL for a workspace */
    int step;                   /* the workspace's step */
} Buffer;

static size_t align_up(size_t x)
{
    return (x + CNNC_ALIGN - 1) & ~(size_t)(CNNC_ALIGN - 1);
}

static int by_size_desc(const void *a, const void *b)
{
    const Buffer *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->first != y->first ? (x->first < y->first ? -1 : 1) : 0;
}

static int by_offset(const void *a, const void *b)
{
    const Buffer *x = *(Buffer *const *)a, *y = *(Buffer *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void place_all(Buffer *bufs, int n, size_t *total)
{
    Buffer **live = malloc(sizeof(Buffer *) * (size_t)(n + 1));
    qsort(bufs, (size_t)n, sizeof *bufs, by_size_desc);
    *total = 0;
    for (int i = 0; i < n; i++) {
        int nl = 0;
        for (int j = 0; j < i; j++)
            if (bufs[j].first <= bufs[i].last && bufs[i].first <= bufs[j].last)
                live[nl++] = &bufs[j];
        qsort(live, (size_t)nl, sizeof *live, by_offset);
        size_t off = 0;
        for (int j = 0; j < nl; j++) {
            if (live[j]->offset >= off + bufs[i].size)
                break;          /* the gap before this one is big enough */
            size_t end = align_up(live[j]->offset + live[j]->size);
            off = end > off ? end : off;
        }
        bufs[i].offset = off;
        if (off + bufs[i].size > *total)
            *total = off + bufs[i].size;
    }
    free(live);
}

static void elide_steps(Schedule *s, const bool *elided)
{
    int k = 0;
    for (int i = 0; i < s->nsteps; i++)
        if (!elided[i])
            s->steps[k++] = s->steps[i];
    s->nsteps = k;
}

bool plan_memory(Schedule *s, Diag *d)
{
    Graph *g = s->g;
    size_t nv = (size_t)g->nvalues + 1, ns = (size_t)s->nsteps + 1;
    PlanState ps = { s, malloc(sizeof(int) * nv), malloc(sizeof(int) * nv) };
    Aliases al = { malloc(sizeof(int) * nv), calloc(nv, sizeof(size_t)), calloc(nv, sizeof(bool)),
                   calloc(nv, sizeof(bool)), calloc(ns, sizeof(bool)), 0, 0 };
    Buffer *bufs = calloc(nv + ns, sizeof(Buffer));
    free(s->where);
    free(s->weights);
    s->where = calloc(nv, sizeof(Storage));
    s->weights = malloc(sizeof(Value *) * nv);
    bool ok = ps.first && ps.last && al.parent && al.delta && al.in_place && al.has_members &&
              al.elided && bufs && s->where && s->weights;
    if (!ok) {
        diag_error(d, "out of memory planning memory");
        goto out;
    }
    for (int i = 0; i < g->nvalues; i++) {
        ps.first[i] = ps.last[i] = -1;
        al.parent[i] = -1;
    }
    for (int i = 0; i < g->ninputs; i++)
        s->where[g->inputs[i]->id] = (Storage){ STORE_INPUT, i, 0 };
    for (int i = 0; i < s->noutputs; i++)
        s->where[s->outputs[i]->id] = (Storage){ STORE_OUTPUT, i, 0 };
    s->nweights = 0;
    s->weight_bytes = 0;
    for (int i = 0; i < s->nsteps; i++) {
        const Step *st = &s->steps[i];
        for (int j = 0; j < st->nt; j++) {
            Value *v = st->t[j];
            if (!v || j == st->ws_slot)
                continue;
            Storage *w = &s->where[v->id];
            if (v->kind == VAL_CONSTANT && w->kind == STORE_NONE) {
                *w = (Storage){ STORE_WEIGHT, 0, s->weight_bytes };
                s->weights[s->nweights++] = v;
                s->weight_bytes = align_up(s->weight_bytes + value_bytes(v));
            }
            if (ps.first[v->id] < 0)
                ps.first[v->id] = i;
            ps.last[v->id] = i;
        }
    }
    s->arena_naive = 0;
    for (int i = 0; i < g->nvalues; i++)
        if (ps.first[i] >= 0 && s->where[i].kind == STORE_NONE)
            s->arena_naive += align_up(value_bytes(g->values[i]));
    for (int i = 0; i < s->nsteps; i++)
        s->arena_naive += align_up(s->steps[i].ws_bytes);

    if (s->share_buffers)
        plan_aliases(&ps, &al);
    s->ninplace = al.ninplace;
    s->nconcat_inplace = al.nconcat;

    /* One buffer per root, living as long as any value inside it. */
    int nb = 0;
    int *buf_of = malloc(sizeof(int) * nv);
    if (!buf_of) {
        ok = diag_error(d, "out of memory planning memory");
        goto out;
    }
    for (int i = 0; i < g->nvalues; i++) {
        buf_of[i] = -1;
        if (ps.first[i] < 0 || s->where[i].kind != STORE_NONE || al.parent[i] >= 0)
            continue;
        buf_of[i] = nb;
        bufs[nb++] = (Buffer){ align_up(value_bytes(g->values[i])), 0, ps.first[i], ps.last[i],
                               g->values[i], -1 };
    }
    for (int i = 0; i < g->nvalues; i++) {
        if (ps.first[i] < 0 || s->where[i].kind != STORE_NONE || al.parent[i] < 0)
            continue;
        Buffer *b = &bufs[buf_of[alias_root(&al, i, NULL)]];
        b->first = ps.first[i] < b->first ? ps.first[i] : b->first;
        b->last = ps.last[i] > b->last ? ps.last[i] : b->last;
    }
    for (int i = 0; i < s->nsteps; i++)
        if (s->steps[i].ws_bytes)
            bufs[nb++] = (Buffer){ align_up(s->steps[i].ws_bytes), 0, i, i, NULL, i };
    s->arena_lower_bound = 0;
    for (int st = 0; st < s->nsteps; st++) {
        size_t live = 0;
        for (int i = 0; i < nb; i++)
            if (bufs[i].first <= st && st <= bufs[i].last)
                live += bufs[i].size;
        s->arena_lower_bound = live > s->arena_lower_bound ? live : s->arena_lower_bound;
    }
    place_all(bufs, nb, &s->arena_bytes);
    for (int i = 0; i < nb; i++) {
        if (bufs[i].v)
            s->where[bufs[i].v->id] = (Storage){ STORE_ARENA, 0, bufs[i].offset };
        else
            s->steps[bufs[i].step].ws_offset = bufs[i].offset;
    }
    for (int i = 0; i < g->nvalues; i++) {
        size_t delta;
        if (ps.first[i] < 0 || s->where[i].kind != STORE_NONE || al.parent[i] < 0)
            continue;
        int root = alias_root(&al, i, &delta);
        s->where[i] = (Storage){ STORE_ARENA, 0, s->where[root].offset + delta };
    }
    elide_steps(s, al.elided);
    free(buf_of);
out:
    free(ps.first);
    free(ps.last);
    free(al.parent);
    free(al.delta);
    free(al.in_place);
    free(al.has_members);
    free(al.elided);
    free(bufs);
    return ok;
}
