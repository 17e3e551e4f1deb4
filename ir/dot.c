/* --dot: the graph in Graphviz's language. Nodes are ops (fused ones named for all they
 * do), edges are tensors labelled with their shapes; graph inputs and outputs are ovals. */
#include "ir.h"

static void quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc((unsigned char)*s < 32 ? '?' : *s, out);
    }
    fputc('"', out);
}

static void edge_from(FILE *out, Graph *g, const Value *v)
{
    if (v->producer) {
        for (int i = 0; i < g->nnodes; i++)
            if (g->nodes[i] == v->producer)
                fprintf(out, "  n%d", i);
    } else {
        fprintf(out, "  v%d", v->id);
    }
}

void graph_write_dot(Graph *g, FILE *out)
{
    char label[64], shape[160];
    fprintf(out, "digraph cnnc {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n");
    for (int i = 0; i < g->ninputs; i++) {
        fprintf(out, "  v%d [shape=oval, label=", g->inputs[i]->id);
        quoted(out, g->inputs[i]->name);
        fprintf(out, "];\n");
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        fprintf(out, "  n%d [label=", i);
        quoted(out, node_label(n, label, sizeof label));
        fprintf(out, "%s];\n", n->ep.act || n->ep.residual ? ", style=filled, fillcolor=\"#ddeeff\"" : "");
        for (int j = 0; j < n->nin; j++) {
            const Value *v = n->in[j];
            if (!v || v->kind == VAL_CONSTANT)
                continue;       /* weights would drown the picture */
            edge_from(out, g, v);
            fprintf(out, " -> n%d [label=", i);
            quoted(out, value_shape_str(v, shape, sizeof shape));
            fprintf(out, "];\n");
        }
    }
    for (int i = 0; i < g->noutputs; i++) {
        const Value *v = g->outputs[i];
        fprintf(out, "  o%d [shape=oval, label=", i);
        quoted(out, v->name);
        fprintf(out, "];\n");
        edge_from(out, g, v);
        fprintf(out, " -> o%d [label=", i);
        quoted(out, value_shape_str(v, shape, sizeof shape));
        fprintf(out, "];\n");
    }
    fprintf(out, "}\n");
}
