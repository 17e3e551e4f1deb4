/* main() of the executables the LLVM backend links: runtime/model_main.c bound to fixed
 * names, which every model object built for an executable exports as aliases of its API. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include "npy.h"

typedef struct {
    const char *name;
    int rank;
    int64_t dims[8];
    int64_t count;
} cnnc_shape;

int cnnc_model_run(const float *const *inputs, float *const *outputs);
int cnnc_model_num_inputs(void);
int cnnc_model_num_outputs(void);
const cnnc_shape *cnnc_model_input_shape(int i);
const cnnc_shape *cnnc_model_output_shape(int i);
const char *cnnc_model_last_error(void);

#define CNNC_MODEL(x) cnnc_model_##x
#include "model_main.c"
