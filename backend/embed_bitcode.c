/* Build tool: turns the runtime's bitcode (clang -emit-llvm of the kernel sources, linked
 * into one module) into a byte array inside cnnc, for the LLVM backend to link into every
 * model. Usage: embed_bitcode OUT.c SYMBOL IN.bc */
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: embed_bitcode OUT.c SYMBOL IN.bc\n");
        return 2;
    }
    FILE *in = fopen(argv[3], "rb"), *out = in ? fopen(argv[1], "w") : NULL;
    if (!in || !out) {
        fprintf(stderr, "embed_bitcode: cannot open %s\n", in ? argv[1] : argv[3]);
        return 1;
    }
    fprintf(out, "/* Generated from %s by embed_bitcode; do not edit. */\n#include <stddef.h>\n"
                 "_Alignas(16) const unsigned char %s[] = {\n", argv[3], argv[2]);
    size_t n = 0;
    for (int c; (c = fgetc(in)) != EOF; n++)
        fprintf(out, "%d,%s", c, n % 24 == 23 ? "\n" : "");
    fprintf(out, "0\n};\nconst size_t %s_size = %zu;\n", argv[2], n);
    fclose(in);
    if (fclose(out) != 0 || n == 0) {
        fprintf(stderr, "embed_bitcode: %s\n", n ? "cannot write the output" : "empty input");
        remove(argv[1]);
        return 1;
    }
    return 0;
}
