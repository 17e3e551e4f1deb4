/* NumPy .npy files (format 1.0-3.0, little-endian float32, C order): what generated
 * executables read and write. */
#ifndef CNNC_NPY_H
#define CNNC_NPY_H
#include <stddef.h>
#include <stdint.h>

#ifndef RT_API
#define RT_API
#endif

#define NPY_MAX_RANK 8

/* Reads path into a malloc'ed array. On failure returns non-zero and puts the reason in err. */
RT_API int npy_read_f32(const char *path, int *rank, int64_t *dims, float **data, char *err,
                        size_t errlen);
RT_API int npy_write_f32(const char *path, int rank, const int64_t *dims, const float *data);
#endif
