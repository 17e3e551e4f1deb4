/* Constant folding, interleaved with shape inference: a node's output shape can depend on
 * the value of an earlier node (torch's flatten exports Shape -> Gather -> Unsqueeze ->
 * Concat -> Reshape), so nodes are visited in order, each inferred and, when its inputs
 * are all known, evaluated. Float ops are evaluated by the runtime's own kernels; the few
 * integer ops of shape arithmetic are evaluated here. */
#include <string.h>
#include "passes.h"
#include "backend/schedule.h"
#include "fold_int.h"

static bool all_inputs_constant(const Node *n)
{
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && n->in[i]->kind != VAL_CONSTANT)
            return false;
    return true;
}

static bool alloc_outputs(Graph *g, Node *n, Diag *d)
{
    for (int i = 0; i < n->nout; i++) {
        Value *v = n->out[i];
        if (v && !(v->data = arena_alloc(&g->arena, value_bytes(v) + 1)))
            return diag_error(d, "out of memory folding '%s'", n->name);
    }
    return true;
}

/* Integer and boolean element-wise ops with broadcasting. */
static void eval_int_binary(Node *n)
{
    Value *a = n->in[0], *b = n->in[1], *y = n->out[0];
    int64_t count = value_numel(y), idx[CNNC_MAX_RANK] = {0};
    int64_t *out = y->data;
    for (int64_t i = 0; i < count; i++) {
        int64_t ia = 0, ib = 0, sa = 1, sb = 1;
        for (int k = y->rank - 1; k >= 0; k--) {
            int ka = k - (y->rank - a->rank), kb = k - (y->rank - b->rank);
            if (ka >= 0) {
                ia += (a->dims[ka] == 1 ? 0 : idx[k]) * sa;
                sa *= a->dims[ka];
            }
            if (kb >= 0) {
                ib += (b->dims[kb] == 1 ? 0 : idx[k]) * sb;
                sb *= b->dims[kb];
            }
        }
        int64_t x = value_i64(a, ia), z = value_i64(b, ib), r = 0;
        switch (n->op) {
        case OP_ADD: r = (int64_t)((uint64_t)x + (uint64_t)z); break;
        case OP_SUB: r = (int64_t)((uint64_t)x - (uint64_t)z); break;
        case OP_MUL: r = (int64_t)((uint64_t)x * (uint64_t)z); break;
        case OP_DIV: r = z == 0 || (x == INT64_MIN && z == -1) ? 0 : x / z; break;
        default: break;
        }
        out[i] = r;
        for (int k = y->rank - 1; k >= 0 && ++idx[k] == y->dims[k]; k--)
            idx[k] = 0;
    }
}

static bool eval_here(Graph *g, Node *n, Diag *d)
{
    Value *x = n->in[0], *y = n->out[0];
    int64_t count = value_numel(y);
    if (!alloc_outputs(g, n, d))
        return false;
    switch (n->op) {
    case OP_SHAPE:
        for (int64_t i = 0; i < count; i++)
            ((int64_t *)y->data)[i] = x->dims[n->a.slice.first[0] + i];
        return true;
    case OP_CAST:
        for (int64_t i = 0; i < count; i++) {
            if (y->dtype == DT_F32)
                ((float *)y->data)[i] = value_f32(x, i);
            else if (y->dtype == DT_I64)
                ((int64_t *)y->data)[i] = value_i64(x, i);
            else
                ((uint8_t *)y->data)[i] = value_f32(x, i) != 0.0f;
        }
        return true;
    case OP_CONSTANTOFSHAPE: {
        const Attr *a = node_attr(n, "value");
        for (int64_t i = 0; i < count; i++) {
            if (y->dtype == DT_F32)
                ((float *)y->data)[i] = a ? value_f32(a->t, 0) : 0.0f;
            else if (y->dtype == DT_I64)
                ((int64_t *)y->data)[i] = value_i64(a->t, 0);
            else
                ((uint8_t *)y->data)[i] = (uint8_t)value_i64(a->t, 0);
        }
        return true;
    }
    default:
        if (fold_int_handles(n))
            return fold_int_eval(n, d);
        eval_int_binary(n);
        return true;
    }
}

static void make_constant(Node *n)
{
    for (int i = 0; i < n->nout; i++)
        if (n->out[i]) {
            n->out[i]->kind = VAL_CONSTANT;
            n->out[i]->producer = NULL;
        }
    n->dead = true;
}

/* `all`: fold every node with constant inputs; otherwise only what cannot run (integer
 * results and shape queries), which is the unoptimized baseline of -O0. */
static bool fold(Graph *g, PassCtx *c, bool all)
{
    int folded = 0;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->dead)
            continue;
        if (!node_infer(n, c->d))
            return false;
        bool integer = n->out[0]->dtype != DT_F32;
        bool shape_only = n->op == OP_SHAPE;   /* needs the input's shape, not its data */
        if (!shape_only && !all_inputs_constant(n))
            continue;
        if (!shape_only && !integer && !all)
            continue;
        if (n->op == OP_DROPOUT && n->nout > 1 && n->out[1])
            continue;           /* a mask output: leave it to fail clearly in lowering */
        bool here = shape_only || n->op == OP_CAST || n->op == OP_CONSTANTOFSHAPE ||
                    ((op_info[n->op].flags & OPF_BINARY) && integer) || fold_int_handles(n);
        if (!(here ? eval_here(g, n, c->d) : interp_eval_node(g, n, c->d)))
            return false;
        make_constant(n);
        folded++;
    }
    if (folded)
        graph_compact(g);
    c->count = folded;
    snprintf(c->what, sizeof c->what, "nodes evaluated at compile time");
    return folded > 0;
}

bool pass_fold_shapes(Graph *g, PassCtx *c)
{
    return fold(g, c, false);
}

bool pass_fold_constants(Graph *g, PassCtx *c)
{
    return fold(g, c, true);
}
