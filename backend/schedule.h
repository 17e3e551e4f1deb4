/* The lowered schedule both backends consume: kernel calls in order, each with its tensors
 * (values of the graph), integer and float parameters; then where every tensor lives. */
#ifndef CNNC_SCHEDULE_H
#define CNNC_SCHEDULE_H
#include "ir/ir.h"

#define STEP_MAX_F 4

typedef struct {
    RtKernelId kernel;
    const Node *node;           /* for messages and --summary */
    Value **t;                  /* output(s) first; NULL entries are passed as NULL */
    int nt;
    int nouts;                  /* how many leading entries of t the step writes */
    int64_t *p;
    int np;
    float f[STEP_MAX_F];
    int ws_slot;                /* index in t of the scratch workspace, or -1 */
    size_t ws_bytes;
    size_t ws_offset;           /* in the arena, set by plan_memory */
} Step;

typedef enum { STORE_NONE, STORE_INPUT, STORE_OUTPUT, STORE_WEIGHT, STORE_ARENA } StoreKind;

typedef struct {
    StoreKind kind;
    int index;                  /* STORE_INPUT / STORE_OUTPUT: position in the graph's list */
    size_t offset;              /* STORE_WEIGHT / STORE_ARENA: bytes from the base */
} Storage;

typedef struct {
    Graph *g;
    Value **outputs;            /* what fills the caller's output buffers, in order */
    int noutputs;
    Step *steps;
    int nsteps, capsteps;
    Storage *where;             /* by value id */
    Value **weights;            /* constants the steps read, in weight-blob order */
    int nweights;
    size_t weight_bytes;
    size_t arena_bytes;         /* planned */
    size_t arena_lower_bound;   /* the most bytes live at once */
    size_t arena_naive;         /* every intermediate in its own buffer */
    bool share_buffers;         /* plan_memory may write in place (-O1 and up) */
    int ninplace;               /* outputs written over a dying input */
    int nconcat_inplace;        /* concats whose inputs were computed in place */
} Schedule;

#define CNNC_ALIGN 64

/* lower.c: the graph (after passes) as kernel calls; storage of inputs and outputs. */
Schedule *schedule_lower(Graph *g, Diag *d);
void schedule_free(Schedule *s);
/* lower.c: the steps of one node, for the compile-time evaluator. */
bool lower_node(Schedule *s, Node *n, Diag *d);
/* lower.c: a new step of s; lower_ext.c: reductions, resampling, selection, ConvTranspose
 * (1 lowered, 0 error, -1 not one of its ops). */
Step *lower_new_step(Schedule *s, RtKernelId k, const Node *n, int nt, int np, Diag *d);
int lower_ext(Schedule *s, Node *n, Diag *d);

/* passes/plan_memory.c: weight and arena offsets. */
bool plan_memory(Schedule *s, Diag *d);

/* interp.c: run steps with the runtime's kernels, on buffers the caller maps values to. */
typedef void *(*BufferFn)(void *ctx, Value *v);
void interp_run_steps(const Schedule *s, int first, int last, BufferFn buf, void *ctx, void *ws);
bool interp_eval_node(Graph *g, Node *n, Diag *d);
bool interp_run_graph(Graph *g, const float *const *inputs, float *const *outputs, Diag *d);
#endif
