/* Output files written atomically: into a temporary beside the target, renamed into place
 * only when every file of the compile succeeded, so a failed compile leaves nothing behind
 * and never clobbers a previous good output. */
#ifndef CNNC_OUTPUT_FILE_H
#define CNNC_OUTPUT_FILE_H
#include <stdbool.h>
#include <stdio.h>
#include "ir/ir.h"

#define OUTPUT_MAX_FILES 8

typedef struct {
    char *final[OUTPUT_MAX_FILES], *tmp[OUTPUT_MAX_FILES];
    FILE *f[OUTPUT_MAX_FILES];
    int n;
} OutputSet;

FILE *output_open(OutputSet *o, const char *path, Diag *d);
bool output_commit(OutputSet *o, Diag *d);     /* closes and renames every file */
void output_abort(OutputSet *o);               /* closes and deletes every temporary */
/* A path only for tools that write a file themselves (the linker): a temporary name. */
const char *output_reserve(OutputSet *o, const char *path, Diag *d);
#endif
