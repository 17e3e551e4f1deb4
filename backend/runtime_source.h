/* The runtime's source files, embedded into cnnc at build time by embed_runtime. */
#ifndef CNNC_RUNTIME_SOURCE_H
#define CNNC_RUNTIME_SOURCE_H
typedef struct {
    const char *name;           /* "conv.c" */
    const char *text;
} RuntimeFile;
extern const RuntimeFile cnnc_runtime_files[];     /* ends with { 0, 0 } */
#endif
