/* --dump-ir: the graph as text, one node per line with its output shapes. Also the names
 * of fused ops ("Conv+Add+Relu", "Affine+Relu>Conv") that --summary and --dot print. */
#include <string.h>
#include "ir.h"

static const char *const act_names[RT_ACT_COUNT] = {
    "", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "SiLU",
    "Exp", "Log", "Sqrt", "Neg", "Abs", "Erf", "Reciprocal",
};

const char *node_label(const Node *n, char *buf, size_t size)
{
    bool shift = n->pre.on && n->nin > 5 && n->in[5];
    const char *pre = !n->pre.on ? "" : !shift ? "Mul>"
                    : n->pre.act == RT_ACT_RELU ? "Affine+Relu>" : "Affine>";
    snprintf(buf, size, "%s%s%s%s%s", pre, op_info[n->op].onnx, n->ep.residual ? "+Add" : "",
             n->ep.act != RT_ACT_NONE ? "+" : "", act_names[n->ep.act]);
    return buf;
}

static void print_value(FILE *out, const Value *v)
{
    char shape[160];
    if (!v) {
        fprintf(out, "_");
        return;
    }
    fprintf(out, "%%%s", v->name);
    if (v->kind == VAL_CONSTANT)
        fprintf(out, ":const");
    fprintf(out, ":%s%s", dtype_name(v->dtype), value_shape_str(v, shape, sizeof shape));
}

static void print_attrs(FILE *out, const Node *n)
{
    const WindowAttr *w = &n->a.win;
    switch (n->op) {
    case OP_CONV: case OP_MAXPOOL: case OP_AVGPOOL:
        fprintf(out, " kernel=%lldx%lld stride=%lldx%lld pads=%lld,%lld,%lld,%lld",
                (long long)w->kernel[0], (long long)w->kernel[1], (long long)w->stride[0],
                (long long)w->stride[1], (long long)w->pad[0], (long long)w->pad[1],
                (long long)w->pad[2], (long long)w->pad[3]);
        if (w->dilation[0] != 1 || w->dilation[1] != 1)
            fprintf(out, " dilation=%lldx%lld", (long long)w->dilation[0],
                    (long long)w->dilation[1]);
        if (w->group != 1)
            fprintf(out, " group=%lld", (long long)w->group);
        if (w->ceil_mode)
            fprintf(out, " ceil_mode");
        if (n->op == OP_AVGPOOL && w->count_include_pad)
            fprintf(out, " count_include_pad");
        break;
    case OP_GEMM:
        fprintf(out, " alpha=%g beta=%g transA=%d transB=%d", n->a.gemm.alpha, n->a.gemm.beta,
                n->a.gemm.trans_a, n->a.gemm.trans_b);
        break;
    case OP_CONCAT: case OP_SOFTMAX: case OP_GATHER: case OP_FLATTEN:
        fprintf(out, " axis=%lld", (long long)n->a.axis.axis);
        break;
    case OP_CLIP: case OP_LEAKYRELU: case OP_HARDSIGMOID:
        fprintf(out, " alpha=%g beta=%g", n->a.act.alpha, n->a.act.beta);
        break;
    default:
        break;
    }
}

void graph_dump(Graph *g, FILE *out)
{
    fprintf(out, "graph '%s' opset %d: %d nodes\n", g->path ? g->path : "", g->opset, g->nnodes);
    for (int i = 0; i < g->ninputs; i++) {
        fprintf(out, "  input ");
        print_value(out, g->inputs[i]);
        fprintf(out, "\n");
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        fprintf(out, "  ");
        for (int j = 0; j < n->nout; j++) {
            fprintf(out, j ? ", " : "");
            print_value(out, n->out[j]);
        }
        char label[64];
        fprintf(out, " = %s(", node_label(n, label, sizeof label));
        for (int j = 0; j < n->nin; j++) {
            fprintf(out, j ? ", " : "");
            print_value(out, n->in[j]);
        }
        fprintf(out, ")");
        print_attrs(out, n);
        fprintf(out, "  # %s\n", n->name);
    }
    for (int i = 0; i < g->noutputs; i++) {
        fprintf(out, "  output ");
        print_value(out, g->outputs[i]);
        fprintf(out, "\n");
    }
}
