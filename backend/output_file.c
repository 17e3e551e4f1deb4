/* Atomic outputs: see output_file.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "output_file.h"

static int make_temp(OutputSet *o, const char *path, Diag *d)
{
    if (o->n == OUTPUT_MAX_FILES)
        return diag_error(d, "too many output files"), -1;
    size_t len = strlen(path);
    char *tmp = malloc(len + 16), *fin = strdup(path);
    if (!tmp || !fin) {
        free(tmp);
        free(fin);
        return diag_error(d, "out of memory"), -1;
    }
    snprintf(tmp, len + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        diag_error(d, "cannot write '%s': %s", path, strerror(errno));
        free(tmp);
        free(fin);
        return -1;
    }
    o->final[o->n] = fin;
    o->tmp[o->n] = tmp;
    o->f[o->n] = NULL;
    o->n++;
    return fd;
}

FILE *output_open(OutputSet *o, const char *path, Diag *d)
{
    int fd = make_temp(o, path, d);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        diag_error(d, "cannot write '%s': %s", path, strerror(errno));
        return NULL;
    }
    o->f[o->n - 1] = f;
    return f;
}

const char *output_reserve(OutputSet *o, const char *path, Diag *d)
{
    int fd = make_temp(o, path, d);
    if (fd < 0)
        return NULL;
    close(fd);
    return o->tmp[o->n - 1];
}

static void release(OutputSet *o)
{
    for (int i = 0; i < o->n; i++) {
        free(o->final[i]);
        free(o->tmp[i]);
    }
    o->n = 0;
}

bool output_commit(OutputSet *o, Diag *d)
{
    bool ok = true;
    for (int i = 0; i < o->n; i++) {
        if (o->f[i] && (ferror(o->f[i]) | fclose(o->f[i])) != 0 && ok)
            ok = diag_error(d, "cannot write '%s': %s", o->final[i], strerror(errno));
        o->f[i] = NULL;
    }
    for (int i = 0; ok && i < o->n; i++) {
        /* rename() would fail on a directory after the other files were already in place */
        struct stat st;
        if (stat(o->final[i], &st) == 0 && S_ISDIR(st.st_mode))
            ok = diag_error(d, "cannot write '%s': Is a directory", o->final[i]);
    }
    if (!ok) {
        output_abort(o);
        return false;
    }
    for (int i = 0; i < o->n; i++) {
        /* mkstemp makes 0600 files; outputs get the usual 0644 (0755 for executables is
         * set by whoever reserved the name). */
        struct stat st;
        if (stat(o->tmp[i], &st) == 0 && (st.st_mode & 0777) == 0600)
            chmod(o->tmp[i], 0644);
        if (rename(o->tmp[i], o->final[i]) != 0 && ok)
            ok = diag_error(d, "cannot write '%s': %s", o->final[i], strerror(errno));
    }
    if (!ok)
        for (int i = 0; i < o->n; i++)
            unlink(o->tmp[i]);
    release(o);
    return ok;
}

void output_abort(OutputSet *o)
{
    for (int i = 0; i < o->n; i++) {
        if (o->f[i])
            fclose(o->f[i]);
        unlink(o->tmp[i]);
    }
    release(o);
}
