/* Shared by the shape-inference files (infer.c, infer_nn.c, infer_tensor.c). */
#ifndef CNNC_INFER_H
#define CNNC_INFER_H
#include "ir.h"

bool set_shape(Node *n, Value *v, DType dt, int rank, const int64_t *dims, Diag *d);
bool need_rank(Node *n, const Value *v, int rank, const char *what, Diag *d);
bool need_f32(Node *n, const Value *v, const char *what, Diag *d);
bool need_const(Node *n, const Value *v, const char *what, Diag *d);
bool norm_axis(Node *n, int64_t axis, int rank, int64_t *out, Diag *d);
/* infer_tensor.c: the integers of a constant 1-D input (a shape, axes, pads), at most max */
bool read_ints(Node *n, const Value *v, const char *what, int max, int64_t *out, int *count,
               Diag *d);
bool broadcast_dims(Node *n, const Value *a, const Value *b, int *rank, int64_t *dims, Diag *d);

/* Each returns 1 when it inferred n, 0 on an error (reported in d), -1 if n is not its op. */
int infer_nn(Node *n, Diag *d);         /* infer_nn.c: compute ops */
int infer_tensor(Node *n, Diag *d);     /* infer_tensor.c: data movement and shapes */
int infer_ext(Node *n, Diag *d);        /* infer_ext.c: reductions, resampling, selection */
#endif
