/* Tensor payloads. ONNX stores them in raw little-endian bytes, in one of five typed
 * repeated fields depending on the type, or in a file beside the model. Every integer
 * type becomes int64 and double becomes float: cnnc computes in float32 and only folds
 * integers (shapes, indices) at compile time. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "frontend.h"
#include "onnx.pb-c.h"

enum {
    ONNX_FLOAT = 1, ONNX_UINT8 = 2, ONNX_INT8 = 3, ONNX_UINT16 = 4, ONNX_INT16 = 5,
    ONNX_INT32 = 6, ONNX_INT64 = 7, ONNX_BOOL = 9, ONNX_DOUBLE = 11, ONNX_UINT32 = 12,
    ONNX_UINT64 = 13
};

bool onnx_dtype(int onnx_type, DType *out)
{
    switch (onnx_type) {
    case ONNX_FLOAT: case ONNX_DOUBLE:
        *out = DT_F32;
        return true;
    case ONNX_UINT8: case ONNX_INT8: case ONNX_UINT16: case ONNX_INT16: case ONNX_INT32:
    case ONNX_INT64: case ONNX_UINT32: case ONNX_UINT64:
        *out = DT_I64;
        return true;
    case ONNX_BOOL:
        *out = DT_BOOL;
        return true;
    default:
        return false;
    }
}

/* Bytes per element as stored in raw_data. */
static size_t raw_size(int onnx_type)
{
    switch (onnx_type) {
    case ONNX_UINT8: case ONNX_INT8: case ONNX_BOOL: return 1;
    case ONNX_UINT16: case ONNX_INT16: return 2;
    case ONNX_FLOAT: case ONNX_INT32: case ONNX_UINT32: return 4;
    default: return 8;
    }
}

static void store(Value *v, int64_t i, double f, int64_t n)
{
    if (v->dtype == DT_F32)
        ((float *)v->data)[i] = (float)f;
    else if (v->dtype == DT_I64)
        ((int64_t *)v->data)[i] = n;
    else
        ((uint8_t *)v->data)[i] = n != 0;
}

static void decode_raw(Value *v, int type, const uint8_t *raw, int64_t count)
{
    for (int64_t i = 0; i < count; i++) {
        const uint8_t *p = raw + (size_t)i * raw_size(type);
        uint64_t u = 0;
        for (size_t b = 0; b < raw_size(type); b++)     /* little-endian on any host */
            u |= (uint64_t)p[b] << (8 * b);
        switch (type) {
        case ONNX_FLOAT: { float f; uint32_t w = (uint32_t)u; memcpy(&f, &w, 4); store(v, i, f, 0); break; }
        case ONNX_DOUBLE: { double f; memcpy(&f, &u, 8); store(v, i, f, 0); break; }
        case ONNX_INT8: store(v, i, 0, (int8_t)u); break;
        case ONNX_INT16: store(v, i, 0, (int16_t)u); break;
        case ONNX_INT32: store(v, i, 0, (int32_t)u); break;
        case ONNX_INT64: store(v, i, 0, (int64_t)u); break;
        case ONNX_UINT64:
            store(v, i, 0, u > INT64_MAX ? INT64_MAX : (int64_t)u);
            break;
        default: store(v, i, 0, (int64_t)u); break;     /* unsigned narrower than 64 bits */
        }
    }
}

/* The external file must resolve (symlinks included) to a path inside the model's folder. */
static bool read_external(const Onnx__TensorProto *t, const char *name, const char *model_dir,
                          uint8_t *dst, size_t bytes, Diag *d)
{
    const char *location = NULL;
    long long offset = 0, length = -1;
    char dir_real[PATH_MAX], path[PATH_MAX * 2], file_real[PATH_MAX];
    for (size_t i = 0; i < t->n_external_data; i++) {
        const char *k = t->external_data[i]->key, *v = t->external_data[i]->value;
        if (!k || !v)
            continue;
        char *end;
        if (strcmp(k, "location") == 0) {
            location = v;
        } else if (strcmp(k, "offset") == 0 || strcmp(k, "length") == 0) {
            errno = 0;
            long long x = strtoll(v, &end, 10);
            if (errno || *end || x < 0)
                return diag_error(d, "initializer '%s': external data %s '%s' is not a "
                                  "non-negative integer", name, k, v);
            *(strcmp(k, "offset") == 0 ? &offset : &length) = x;
        }
    }
    if (!location || !*location)
        return diag_error(d, "initializer '%s': external data has no location", name);
    if (location[0] == '/' || strstr(location, ".."))
        return diag_error(d, "initializer '%s': external data location '%s' leaves the "
                          "model's folder", name, location);
    if (!realpath(model_dir, dir_real))
        return diag_error(d, "cannot resolve the model's folder '%s': %s", model_dir,
                          strerror(errno));
    snprintf(path, sizeof path, "%s/%s", dir_real, location);
    if (!realpath(path, file_real))
        return diag_error(d, "initializer '%s': external data file '%s': %s", name, path,
                          strerror(errno));
    size_t dl = strlen(dir_real);
    if (strncmp(file_real, dir_real, dl) != 0 || file_real[dl] != '/')
        return diag_error(d, "initializer '%s': external data '%s' resolves to '%s', outside "
                          "the model's folder", name, location, file_real);
    if (length >= 0 && (size_t)length != bytes)
        return diag_error(d, "initializer '%s': external data length %lld, the tensor needs "
                          "%zu bytes", name, length, bytes);
    FILE *f = fopen(file_real, "rb");
    if (!f)
        return diag_error(d, "initializer '%s': cannot open '%s': %s", name, file_real,
                          strerror(errno));
    bool ok = fseek(f, 0, SEEK_END) == 0;
    long size = ok ? ftell(f) : -1;
    if (size < 0 || (unsigned long long)offset + bytes > (unsigned long long)size) {
        fclose(f);
        return diag_error(d, "initializer '%s': external data [%lld, +%zu) lies beyond the "
                          "end of '%s' (%ld bytes)", name, offset, bytes, file_real, size);
    }
    ok = fseek(f, (long)offset, SEEK_SET) == 0 && fread(dst, 1, bytes, f) == bytes;
    fclose(f);
    if (!ok)
        return diag_error(d, "initializer '%s': cannot read '%s'", name, file_real);
    return true;
}

Value *tensor_import(Graph *g, const Onnx__TensorProto *t, const char *name,
                     const char *model_dir, Diag *d)
{
    DType dt;
    int64_t dims[CNNC_MAX_RANK], count = 1;
    int type = t->has_data_type ? t->data_type : 0;
    if (!onnx_dtype(type, &dt))
        return diag_error(d, "tensor '%s' has ONNX data type %d, which is not supported", name,
                          type), NULL;
    if (t->n_dims > CNNC_MAX_RANK)
        return diag_error(d, "tensor '%s' has rank %zu; at most %d is supported", name,
                          t->n_dims, CNNC_MAX_RANK), NULL;
    for (size_t i = 0; i < t->n_dims; i++) {
        dims[i] = t->dims[i];
        if (dims[i] < 0 || dims[i] > CNNC_MAX_DIM)
            return diag_error(d, "tensor '%s' has dimension %lld, out of range", name,
                              (long long)dims[i]), NULL;
        if (dims[i] && count > CNNC_MAX_ELEMS / dims[i])
            return diag_error(d, "tensor '%s' is too large", name), NULL;
        count *= dims[i];
    }
    size_t need = (size_t)count * raw_size(type);
    bool external = t->has_data_location &&
                    t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    /* Check the payload's size before allocating: a hostile file cannot make us reserve
     * memory for data it does not hold. */
    size_t have = external ? need
                : t->has_raw_data ? t->raw_data.len
                : type == ONNX_FLOAT ? t->n_float_data
                : type == ONNX_DOUBLE ? t->n_double_data
                : type == ONNX_INT64 ? t->n_int64_data
                : type == ONNX_UINT32 || type == ONNX_UINT64 ? t->n_uint64_data
                : t->n_int32_data;
    if (!external && !t->has_raw_data && have != (size_t)count)
        return diag_error(d, "tensor '%s' holds %zu values, its shape needs %lld", name,
                          have, (long long)count), NULL;
    if ((external || t->has_raw_data) && have != need)
        return diag_error(d, "tensor '%s' holds %zu bytes of data, its shape needs %zu", name,
                          have, need), NULL;
    Value *v = graph_add_constant(g, name, dt, (int)t->n_dims, dims);
    if (!v)
        return diag_error(d, "out of memory reading tensor '%s' (%lld elements)", name,
                          (long long)count), NULL;
    if (count == 0)
        return v;               /* an empty tensor (e.g. no axes): nothing to read */
    if (external || t->has_raw_data) {
        uint8_t *raw = t->has_raw_data && !external ? t->raw_data.data : malloc(need ? need : 1);
        if (!raw)
            return diag_error(d, "out of memory reading tensor '%s'", name), NULL;
        bool ok = !external || read_external(t, name, model_dir, raw, need, d);
        if (ok)
            decode_raw(v, type, raw, count);
        if (external)
            free(raw);
        return ok ? v : NULL;
    }
    for (int64_t i = 0; i < count; i++) {
        switch (type) {
        case ONNX_FLOAT:  store(v, i, t->float_data[i], 0); break;
        case ONNX_DOUBLE: store(v, i, t->double_data[i], 0); break;
        case ONNX_INT64:  store(v, i, 0, t->int64_data[i]); break;
        case ONNX_UINT32: case ONNX_UINT64:
            store(v, i, 0, t->uint64_data[i] > INT64_MAX ? INT64_MAX : (int64_t)t->uint64_data[i]);
            break;
        default:          store(v, i, 0, t->int32_data[i]); break;
        }
    }
    return v;
}
