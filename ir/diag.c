/* Diagnostics: one message naming the file, and the node and op when there is one. */
#include <stdarg.h>
#include <stdio.h>
#include "ir.h"

static void diag_vset(Diag *d, const char *prefix, const char *fmt, va_list ap)
{
    int n = snprintf(d->msg, sizeof d->msg, "%s: %s", d->path ? d->path : "cnnc", prefix);
    if (n < 0 || (size_t)n >= sizeof d->msg)
        n = 0;
    vsnprintf(d->msg + n, sizeof d->msg - (size_t)n, fmt, ap);
    for (char *c = d->msg; *c; c++)     /* names come from the file: keep it one line */
        if ((unsigned char)*c < 32 || *c == 127)
            *c = '?';
    d->failed = true;
}

bool diag_error(Diag *d, const char *fmt, ...)
{
    va_list ap;
    if (d->failed)
        return false;           /* the first error is the one worth reading */
    va_start(ap, fmt);
    diag_vset(d, "", fmt, ap);
    va_end(ap);
    return false;
}

bool diag_node(Diag *d, const Node *n, const char *fmt, ...)
{
    char prefix[512];
    va_list ap;
    if (d->failed)
        return false;
    snprintf(prefix, sizeof prefix, "node '%s' (%s, opset %d): ", n->name,
             op_info[n->op].onnx, n->opset);
    va_start(ap, fmt);
    diag_vset(d, prefix, fmt, ap);
    va_end(ap);
    return false;
}
