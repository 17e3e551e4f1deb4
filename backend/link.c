/* Linking native outputs with the system's C compiler driver: it knows the C library's
 * start files and paths, which a bare linker would have to be told (it is asked to use lld
 * when there is one and $CC is not set). Executables get main()
 * (libcnnc_main.a) and the rest of the runtime (libcnnc_rt.a) from cnnc's own directory;
 * the kernels' OpenMP code, compiled by clang, needs LLVM's libomp (which also serves
 * gcc-compiled OpenMP code, so one OpenMP runtime ends up in the program). */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "emit_llvm.h"

extern char **environ;

#define LINK_MAX_ARGS 64

static bool has_archives(const char *dir)
{
    char path[PATH_MAX];
    /* a directory too long for the path is not one that has them */
    if (snprintf(path, sizeof path, "%s/libcnnc_main.a", dir) >= (int)sizeof path ||
        access(path, R_OK) != 0)
        return false;
    if (snprintf(path, sizeof path, "%s/libcnnc_rt.a", dir) >= (int)sizeof path)
        return false;
    return access(path, R_OK) == 0;
}

/* $CNNC_RUNTIME_DIR, else cnnc's own directory, else the build directory cnnc came from. */
static bool runtime_dir(char *dir, size_t n, Diag *d)
{
    const char *env = getenv("CNNC_RUNTIME_DIR");
    if (env && *env) {
        snprintf(dir, n, "%s", env);
        if (has_archives(dir))
            return true;
        return diag_error(d, "CNNC_RUNTIME_DIR=%s has no libcnnc_main.a and libcnnc_rt.a", env);
    }
    ssize_t len = readlink("/proc/self/exe", dir, n - 1);
    if (len > 0) {
        dir[len] = 0;
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = 0;
            if (has_archives(dir))
                return true;
        }
    }
    snprintf(dir, n, "%s", CNNC_RUNTIME_DIR);
    if (has_archives(dir))
        return true;
    return diag_error(d, "the runtime archives libcnnc_main.a and libcnnc_rt.a are neither "
                      "next to cnnc nor in %s (set CNNC_RUNTIME_DIR)", CNNC_RUNTIME_DIR);
}

/* lld links the big weight sections of a model several times faster than GNU ld. */
static bool on_path(const char *prog)
{
    const char *path = getenv("PATH");
    char full[PATH_MAX];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(full, sizeof full, "%.*s/%s", (int)n, path, prog);
        if (n && access(full, X_OK) == 0)
            return true;
        path += n + (path[n] == ':');
    }
    return false;
}

/* $CC may hold a command with options ("gcc -m64"): split it at blanks. */
static int split_words(char *s, char **argv, int max)
{
    int n = 0;
    for (char *w = strtok(s, " \t"); w && n < max; w = strtok(NULL, " \t"))
        argv[n++] = w;
    return n;
}

bool link_native(const char *obj, const char *out, bool shared, bool verbose, Diag *d)
{
    char dir[PATH_MAX], main_a[PATH_MAX + 32], rt_a[PATH_MAX + 32], rpath[PATH_MAX + 32];
    if (!shared && !runtime_dir(dir, sizeof dir, d))
        return false;
    const char *cc_env = getenv("CC");
    char *cc = strdup(cc_env && *cc_env ? cc_env : "cc");
    char *argv[LINK_MAX_ARGS];
    if (!cc)
        return diag_error(d, "out of memory");
    int n = split_words(cc, argv, 8);
    if (n == 0) {
        free(cc);
        return diag_error(d, "CC is empty: set it to a C compiler driver, or unset it");
    }
    if (!getenv("CC") && on_path("ld.lld"))
        argv[n++] = "-fuse-ld=lld";
    argv[n++] = "-o";
    argv[n++] = (char *)out;
    argv[n++] = (char *)obj;
    if (shared) {
        argv[n++] = "-shared";
    } else {
        snprintf(main_a, sizeof main_a, "%s/libcnnc_main.a", dir);
        snprintf(rt_a, sizeof rt_a, "%s/libcnnc_rt.a", dir);
        argv[n++] = main_a;
        argv[n++] = rt_a;
    }
    /* libomp by its full path, and its directory as a run path in case the loader's
     * default paths lack it */
    snprintf(rpath, sizeof rpath, "-Wl,-rpath,%s", CNNC_OMP_LIBRARY);
    *strrchr(rpath, '/') = 0;
    argv[n++] = CNNC_OMP_LIBRARY;
    argv[n++] = rpath;
    argv[n++] = "-lm";
#ifdef CNNC_SANITIZED
    argv[n++] = "-fsanitize=address,undefined";     /* the runtime archives are instrumented */
#endif
    argv[n] = NULL;
    if (verbose) {
        fprintf(stderr, "cnnc: link:");
        for (int i = 0; i < n; i++)
            fprintf(stderr, " %s", argv[i]);
        fputc('\n', stderr);
    }
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ), status = 0;
    bool ok = false;
    if (err)
        diag_error(d, "cannot run the linker driver '%s': %s (install gcc, or set CC to a C "
                   "compiler driver)", argv[0], strerror(err));
    else if (waitpid(pid, &status, 0) < 0)
        diag_error(d, "waiting for the linker driver '%s': %s", argv[0], strerror(errno));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        diag_error(d, "linking '%s' failed (%s %s %d)", out, argv[0],
                   WIFEXITED(status) ? "exited with status" : "killed by signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    else
        ok = true;
    if (ok)
        ok = chmod(out, 0755) == 0 || diag_error(d, "cannot chmod '%s'", out);
    free(cc);
    return ok;
}
