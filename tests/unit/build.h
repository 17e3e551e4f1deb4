/* Small graphs for the IR, pass and backend suites, built with the IR's own constructors
 * (graph_new, graph_add_value, graph_add_node, graph_add_constant) the way the importer
 * does: raw attributes first, decoded by node_decode_attrs in tg_finish. */
#ifndef CNNC_TEST_BUILD_H
#define CNNC_TEST_BUILD_H
#include "ir/ir.h"

#define TG_MAX_IO 16            /* graph inputs / outputs a test graph may have */

Graph *tg_new(int opset);       /* path "test.onnx" */
Value *tg_input(Graph *g, const char *name, int rank, const int64_t *dims);
/* Float constant: data copied, or LCG values in [lo, hi) from `seed` when data is NULL. */
Value *tg_const(Graph *g, const char *name, int rank, const int64_t *dims, const float *data,
                uint64_t seed, float lo, float hi);
Value *tg_const_i64(Graph *g, const char *name, int rank, const int64_t *dims,
                    const int64_t *vals);
/* A node with `nin` inputs (NULL: an omitted optional input) and `nout` new outputs, named
 * `name` when there is one, else "name:0", "name:1", ... */
Node *tg_node(Graph *g, OpKind op, const char *name, int nin, Value *const *in, int nout);
void tg_output(Graph *g, Value *v);

void tg_attr_i(Graph *g, Node *n, const char *name, int64_t v);
void tg_attr_f(Graph *g, Node *n, const char *name, float v);
void tg_attr_s(Graph *g, Node *n, const char *name, const char *v);
void tg_attr_ints(Graph *g, Node *n, const char *name, int count, const int64_t *v);

/* Shared checks for the suites: a failed step fails the test with its diagnostic. */
void tg_expect_ok(bool ok, const Diag *d);
int tg_count_op(const Graph *g, OpKind op);
/* Runs g (shapes known) with interp_run_graph on `in`; malloc'd outputs, one per graph
 * output, freed by tg_free_outputs. */
float **tg_run(Graph *g, float *const *in);
void tg_free_outputs(float **out, int n);

/* Decodes every node's attributes, counts users and sorts: what import leaves. */
bool tg_finish(Graph *g, Diag *d);

#define TG_DIMS(...) ((const int64_t[]){ __VA_ARGS__ })
#define TG_RANK(...) ((int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)))
#define TG_NODE(g, op, name, nout, ...) \
    tg_node((g), (op), (name), (int)(sizeof((Value *[]){ __VA_ARGS__ }) / sizeof(Value *)), \
            (Value *[]){ __VA_ARGS__ }, (nout))
#define TG_INTS(g, n, name, ...) \
    tg_attr_ints((g), (n), (name), TG_RANK(__VA_ARGS__), TG_DIMS(__VA_ARGS__))
#define TG_INPUT(g, name, ...) tg_input((g), (name), TG_RANK(__VA_ARGS__), TG_DIMS(__VA_ARGS__))
#endif
