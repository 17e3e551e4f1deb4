/* .npy reading and writing. The header is a Python dict literal; only the three keys NumPy
 * writes are read, and anything unexpected is an error, not a guess. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "npy.h"

static int npy_fail(char *err, size_t errlen, const char *path, const char *why)
{
    snprintf(err, errlen, "%s: %s", path, why);
    return 1;
}

static int npy_parse_shape(const char *h, int *rank, int64_t *dims)
{
    const char *p = strstr(h, "'shape'");
    if (!p || !(p = strchr(p, '(')))
        return 1;
    *rank = 0;
    p++;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            return 0;
        if (*p < '0' || *p > '9' || *rank >= NPY_MAX_RANK)
            return 1;
        int64_t v = 0;
        while (*p >= '0' && *p <= '9') {
            if (v > ((int64_t)1 << 40))
                return 1;
            v = v * 10 + (*p++ - '0');
        }
        dims[(*rank)++] = v;
    }
}

RT_API int npy_read_f32(const char *path, int *rank, int64_t *dims, float **data, char *err,
                        size_t errlen)
{
    unsigned char pre[12];
    FILE *f = fopen(path, "rb");
    *data = NULL;
    if (!f)
        return npy_fail(err, errlen, path, "cannot open the file");
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        fclose(f);
        return npy_fail(err, errlen, path, "not a .npy file (bad magic)");
    }
    size_t hlen = pre[8] | (size_t)pre[9] << 8;
    if (pre[6] >= 2) {          /* versions 2 and 3 have a 4-byte header length */
        if (fread(pre + 10, 1, 2, f) != 2) {
            fclose(f);
            return npy_fail(err, errlen, path, "truncated header");
        }
        hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    }
    if (hlen == 0 || hlen > 65536) {
        fclose(f);
        return npy_fail(err, errlen, path, "header length out of range");
    }
    char *h = malloc(hlen + 1);
    if (!h || fread(h, 1, hlen, f) != hlen) {
        free(h);
        fclose(f);
        return npy_fail(err, errlen, path, "truncated header");
    }
    h[hlen] = 0;
    int bad_type = !strstr(h, "'descr': '<f4'") && !strstr(h, "'descr':'<f4'");
    int fortran = strstr(h, "'fortran_order': True") != NULL;
    int bad_shape = npy_parse_shape(h, rank, dims);
    free(h);
    if (bad_type || fortran || bad_shape) {
        fclose(f);
        return npy_fail(err, errlen, path, bad_type ? "dtype is not little-endian float32 "
                        "('<f4'); convert with arr.astype(numpy.float32)"
                        : fortran ? "Fortran order is not supported"
                        : "cannot read the shape from the header");
    }
    int64_t count = 1;
    for (int i = 0; i < *rank; i++) {
        if (dims[i] && count > ((int64_t)1 << 36) / dims[i]) {
            fclose(f);
            return npy_fail(err, errlen, path, "the array is too large");
        }
        count *= dims[i];
    }
    *data = malloc((size_t)count * sizeof(float) + 1);
    if (!*data) {
        fclose(f);
        return npy_fail(err, errlen, path, "out of memory");
    }
    size_t got = fread(*data, sizeof(float), (size_t)count, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != (size_t)count || extra) {
        free(*data);
        *data = NULL;
        return npy_fail(err, errlen, path, got != (size_t)count
                        ? "the file holds fewer values than its shape says"
                        : "the file holds more values than its shape says");
    }
    return 0;
}

RT_API int npy_write_f32(const char *path, int rank, const int64_t *dims, const float *data)
{
    char h[256];
    int64_t count = 1;
    int n = snprintf(h, sizeof h, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < rank; i++) {
        n += snprintf(h + n, sizeof h - (size_t)n, "%lld,%s", (long long)dims[i],
                      i + 1 < rank ? " " : "");
        count *= dims[i];
    }
    n += snprintf(h + n, sizeof h - (size_t)n, "), }");
    int total = 10 + n + 1, pad = (64 - total % 64) % 64;   /* data starts 64-aligned */
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0 };
    pre[8] = (unsigned char)((n + pad + 1) & 0xff);
    pre[9] = (unsigned char)((n + pad + 1) >> 8);
    fwrite(pre, 1, 10, f);
    fwrite(h, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(data, sizeof(float), (size_t)count, f);
    return fclose(f) != 0;
}
