/* passes/fold_int.c: compile-time evaluation of the ops whose results the float32 runtime
 * cannot hold (comparisons, Not, Range, integer Where/Max/Min/Sum). */
#ifndef CNNC_FOLD_INT_H
#define CNNC_FOLD_INT_H
#include "ir/ir.h"

bool fold_int_handles(const Node *n);
/* Fills n's outputs, whose data the caller has allocated. */
bool fold_int_eval(Node *n, Diag *d);
#endif
