/* The kernel table, for callers that pick kernels at run time: the compile-time evaluator
 * and the tests. Generated code calls kernels by name and does not use it. */
#include "rt.h"

const RtKernelFn rt_kernels[RT_K_COUNT] = {
#define K(id, fn) fn,
#include "kernels.def"
#undef K
};

const char *const rt_kernel_names[RT_K_COUNT] = {
#define K(id, fn) #fn,
#include "kernels.def"
#undef K
};
