/* matmul_to_gemm: MatMul of a matrix by a constant matrix, followed by the Add of a
 * constant bias row, is a Gemm: one kernel call with the bias in its epilogue, and a
 * Gemm can take a fused activation after it. */
#include "passes.h"
#include "rewrite.h"

bool pass_matmul_to_gemm(Graph *g, PassCtx *c)
{
    int rewritten = 0;
    graph_count_users(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *mm = g->nodes[i];
        if (mm->dead || mm->op != OP_MATMUL || mm->in[0]->rank != 2 || mm->in[1]->rank != 2 ||
            mm->in[1]->kind != VAL_CONSTANT)
            continue;
        Node *add = sole_user(g, mm->out[0]);
        if (!add || add->op != OP_ADD)
            continue;
        Value *bias = add->in[0] == mm->out[0] ? add->in[1] : add->in[0];
        int64_t n = mm->out[0]->dims[1];
        if (bias->kind != VAL_CONSTANT || bias->dtype != DT_F32 || value_numel(bias) != n ||
            (bias->rank == 2 && bias->dims[0] != 1) || bias->rank > 2)
            continue;
        if (!node_grow_inputs(g, mm, 3))
            return diag_error(c->d, "out of memory");
        mm->op = OP_GEMM;
        mm->in[2] = bias;
        mm->a.gemm = (GemmAttr){ .alpha = 1.0f, .beta = 1.0f };
        absorb_output(g, mm, add);
        rewritten++;
    }
    if (rewritten)
        graph_compact(g);
    c->count = rewritten;
    snprintf(c->what, sizeof c->what, "MatMul+Add rewritten as Gemm");
    return rewritten > 0;
}
