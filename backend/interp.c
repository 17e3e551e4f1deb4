/* Running steps inside the compiler: constant folding evaluates nodes with the very
 * kernels the generated code will call, and tests run whole graphs the same way. */
#include <stdlib.h>
#include <string.h>
#include "schedule.h"

void interp_run_steps(const Schedule *s, int first, int last, BufferFn buf, void *ctx, void *ws)
{
    for (int i = first; i < last; i++) {
        const Step *st = &s->steps[i];
        void *ptrs[1100];
        for (int j = 0; j < st->nt && j < 1100; j++)
            ptrs[j] = j == st->ws_slot ? ws : st->t[j] ? buf(ctx, st->t[j]) : NULL;
        rt_kernels[st->kernel](ptrs, st->p, st->f);
    }
}

static size_t max_workspace(const Schedule *s)
{
    size_t m = 0;
    for (int i = 0; i < s->nsteps; i++)
        m = s->steps[i].ws_bytes > m ? s->steps[i].ws_bytes : m;
    return m;
}

static void *constant_buffer(void *ctx, Value *v)
{
    (void)ctx;
    return v->data;
}

bool interp_eval_node(Graph *g, Node *n, Diag *d)
{
    Schedule s = { .g = g };
    bool ok = lower_node(&s, n, d);
    void *ws = NULL;
    for (int i = 0; ok && i < n->nout; i++) {
        Value *v = n->out[i];
        if (!v)
            continue;
        v->data = arena_alloc(&g->arena, value_bytes(v) ? value_bytes(v) : 1);
        ok = v->data != NULL || diag_error(d, "out of memory folding '%s'", n->name);
    }
    if (ok && max_workspace(&s)) {
        ws = malloc(max_workspace(&s));
        ok = ws != NULL || diag_error(d, "out of memory folding '%s'", n->name);
    }
    if (ok)
        interp_run_steps(&s, 0, s.nsteps, constant_buffer, NULL, ws);
    free(ws);
    free(s.steps);
    return ok;
}

typedef struct {
    Graph *g;
    void **bufs;                /* by value id */
} GraphBuffers;

static void *graph_buffer(void *ctx, Value *v)
{
    GraphBuffers *gb = ctx;
    return v->kind == VAL_CONSTANT ? v->data : gb->bufs[v->id];
}

/* Every value in its own buffer: slow and simple, which is what an oracle should be. */
bool interp_run_graph(Graph *g, const float *const *inputs, float *const *outputs, Diag *d)
{
    Schedule *s = schedule_lower(g, d);
    if (!s)
        return false;
    GraphBuffers gb = { g, calloc((size_t)g->nvalues, sizeof(void *)) };
    void *ws = malloc(max_workspace(s) + 1);
    bool ok = gb.bufs && ws;
    for (int i = 0; ok && i < g->ninputs; i++)
        gb.bufs[g->inputs[i]->id] = (void *)inputs[i];
    for (int i = 0; ok && i < s->noutputs; i++)
        gb.bufs[s->outputs[i]->id] = outputs[i];
    for (int i = 0; ok && i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (!gb.bufs[i] && v->kind == VAL_INTERMEDIATE && v->rank >= 0)
            ok = (gb.bufs[i] = calloc(1, value_bytes(v) + 1)) != NULL;
    }
    if (ok)
        interp_run_steps(s, 0, s->nsteps, graph_buffer, &gb, ws);
    else
        diag_error(d, "out of memory running the graph");
    for (int i = 0; gb.bufs && i < g->nvalues; i++) {
        bool owned = g->values[i]->kind == VAL_INTERMEDIATE;
        for (int j = 0; j < s->noutputs; j++)
            owned &= s->outputs[j]->id != i;
        if (owned)
            free(gb.bufs[i]);
    }
    free(gb.bufs);
    free(ws);
    schedule_free(s);
    return ok;
}
