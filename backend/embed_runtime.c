/* Build tool: turns the runtime's sources into one C string inside cnnc, so the C backend
 * can paste the kernels into every generated file. Local "x.def" includes are expanded
 * where they stand (X-macro tables); local "x.h" includes are dropped, because headers
 * are listed first and pasted whole. Usage: embed_runtime OUT.c RUNTIME_DIR FILE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void emit_line(FILE *out, const char *line)
{
    fputc('"', out);
    for (const char *p = line; *p && *p != '\n'; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', out);
        fputc(*p, out);
    }
    fputs("\\n\"\n", out);
}

static int emit_file(FILE *out, const char *dir, const char *path, int depth)
{
    char full[4096], line[4096], inc[256];
    snprintf(full, sizeof full, "%s/%s", dir, strncmp(path, "runtime/", 8) ? path : path + 8);
    FILE *in = fopen(full, "r");
    if (!in) {
        fprintf(stderr, "embed_runtime: cannot open %s\n", full);
        return 1;
    }
    while (fgets(line, sizeof line, in)) {
        if (sscanf(line, " #include \"%255[^\"]\"", inc) == 1) {
            size_t n = strlen(inc);
            if (n > 4 && strcmp(inc + n - 4, ".def") == 0 && depth < 4) {
                if (emit_file(out, dir, inc, depth + 1)) {
                    fclose(in);
                    return 1;
                }
            }
            continue;
        }
        emit_line(out, line);
    }
    fclose(in);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: embed_runtime OUT.c RUNTIME_DIR FILE...\n");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (!out)
        return 1;
    fputs("/* Generated from runtime/ by embed_runtime; do not edit. */\n"
          "#include \"backend/runtime_source.h\"\n"
          "const RuntimeFile cnnc_runtime_files[] = {\n", out);
    for (int i = 3; i < argc; i++) {
        const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        fprintf(out, "{ \"%s\",\n", base);
        if (emit_file(out, argv[2], argv[i], 0)) {
            fclose(out);
            remove(argv[1]);
            return 1;
        }
        fputs("},\n", out);
    }
    fputs("{ 0, 0 }\n};\n", out);
    return fclose(out) != 0;
}
