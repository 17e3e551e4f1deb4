/* Compile-time evaluation of comparisons, Not, Range and the integer forms of Where and the
 * variadic ops: the shape arithmetic of exported graphs (ViT's class-token Expand goes
 * through Equal and Where) needs them, and the runtime computes float32 only. */
#include <string.h>
#include "fold_int.h"

bool fold_int_handles(const Node *n)
{
    switch (n->op) {
    case OP_EQUAL: case OP_GREATER: case OP_LESS: case OP_NOT: case OP_RANGE: case OP_WHERE:
        return true;
    case OP_MAX: case OP_MIN: case OP_SUM:
        return n->out[0]->dtype != DT_F32;
    default:
        return false;
    }
}

/* Offset into v of the output element at coordinate idx (NumPy broadcasting). */
static int64_t bcast_offset(const Value *v, const Value *y, const int64_t *idx)
{
    int64_t off = 0, stride = 1;
    for (int k = y->rank - 1; k >= 0; k--) {
        int kv = k - (y->rank - v->rank);
        if (kv < 0)
            break;
        if (v->dims[kv] != 1)
            off += idx[k] * stride;
        stride *= v->dims[kv];
    }
    return off;
}

static int compare(const Node *n, const Value *a, int64_t ia, const Value *b, int64_t ib)
{
    if (a->dtype == DT_F32) {
        float x = value_f32(a, ia), z = value_f32(b, ib);
        return n->op == OP_EQUAL ? x == z : n->op == OP_GREATER ? x > z : x < z;
    }
    int64_t x = value_i64(a, ia), z = value_i64(b, ib);
    return n->op == OP_EQUAL ? x == z : n->op == OP_GREATER ? x > z : x < z;
}

bool fold_int_eval(Node *n, Diag *d)
{
    Value *y = n->out[0];
    int64_t count = value_numel(y), idx[CNNC_MAX_RANK] = {0};
    size_t es = dtype_size(y->dtype);
    if (n->op == OP_RANGE) {
        for (int64_t i = 0; i < count; i++) {
            if (y->dtype == DT_F32)     /* start + i*delta, as the ONNX reference computes */
                ((float *)y->data)[i] = value_f32(n->in[0], 0) +
                                        (float)i * value_f32(n->in[2], 0);
            else
                ((int64_t *)y->data)[i] = value_i64(n->in[0], 0) + i * value_i64(n->in[2], 0);
        }
        return true;
    }
    if ((n->op == OP_MAX || n->op == OP_MIN || n->op == OP_SUM) && y->dtype != DT_I64)
        return diag_node(d, n, "%s inputs are not supported", dtype_name(y->dtype));
    for (int64_t i = 0; i < count; i++) {
        char *out = (char *)y->data + (size_t)i * es;
        switch (n->op) {
        case OP_EQUAL: case OP_GREATER: case OP_LESS:
            *(uint8_t *)out = (uint8_t)compare(n, n->in[0], bcast_offset(n->in[0], y, idx),
                                               n->in[1], bcast_offset(n->in[1], y, idx));
            break;
        case OP_NOT:
            *(uint8_t *)out = !value_i64(n->in[0], i);
            break;
        case OP_WHERE: {
            bool c = value_i64(n->in[0], bcast_offset(n->in[0], y, idx)) != 0;
            const Value *v = n->in[c ? 1 : 2];
            memcpy(out, (const char *)v->data + (size_t)bcast_offset(v, y, idx) * es, es);
            break;
        }
        default: {              /* Max, Min, Sum on int64 */
            int64_t acc = value_i64(n->in[0], bcast_offset(n->in[0], y, idx));
            for (int j = 1; j < n->nin; j++) {
                int64_t v = value_i64(n->in[j], bcast_offset(n->in[j], y, idx));
                acc = n->op == OP_MAX ? (v > acc ? v : acc) : n->op == OP_MIN ? (v < acc ? v : acc)
                    : (int64_t)((uint64_t)acc + (uint64_t)v);
            }
            *(int64_t *)out = acc;
            break;
        }
        }
        for (int k = y->rank - 1; k >= 0 && ++idx[k] == y->dims[k]; k--)
            idx[k] = 0;
    }
    return true;
}
