/* Small helpers the rewriting passes share. */
#ifndef CNNC_REWRITE_H
#define CNNC_REWRITE_H
#include "ir/ir.h"

/* The only node reading v, or NULL if v has no or several readers or is a graph output. */
Node *sole_user(Graph *g, const Value *v);
/* n->in grown to at least `nin` slots (new ones NULL); false when out of memory. */
bool node_grow_inputs(Graph *g, Node *n, int nin);
/* A fresh constant named after `base`, same shape, for a rewritten copy of a weight. */
Value *constant_like(Graph *g, const Value *base, const char *suffix);
/* Position of each live node in g->nodes, by node; -1 for values with no producer. */
int value_position(const Graph *g, const Value *v);
/* `keep` now computes what `gone` computed (gone's only input from keep was keep's output):
 * keep takes over gone's output value, so graph outputs keep their names, and gone dies. */
void absorb_output(Graph *g, Node *keep, Node *gone);
#endif
