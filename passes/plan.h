/* Memory planning internals shared by plan_memory.c and plan_alias.c. */
#ifndef CNNC_PLAN_H
#define CNNC_PLAN_H
#include "backend/schedule.h"

typedef struct {
    Schedule *s;
    int *first, *last;          /* by value id: steps that first write and last read it */
} PlanState;

typedef struct {
    int *parent;                /* by value id: the value whose buffer it lives in, or -1 */
    size_t *delta;              /* bytes from the parent's start */
    bool *in_place, *has_members;
    bool *elided;               /* by step: nothing left to do */
    int ninplace, nconcat;
} Aliases;

void plan_aliases(PlanState *ps, Aliases *a);
int alias_root(const Aliases *a, int v, size_t *delta);
#endif
