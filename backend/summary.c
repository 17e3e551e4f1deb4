/* --summary: one line per kernel call (what ran after the passes), then totals. FLOPs
 * count a multiply-add as two operations, as papers and benchmarks usually do. */
#include <inttypes.h>
#include <string.h>
#include "summary.h"

int64_t step_flops(const Step *st)
{
    const int64_t *p = st->p;
    int64_t out = value_numel(st->t[0]);
    switch (st->kernel) {
    case RT_K_CONV: case RT_K_CONV_PACKED: case RT_K_CONV_WINOGRAD: case RT_K_CONV_DIRECT:
    case RT_K_CONV_WINOGRAD2:
        /* out * (Cin/G * KH * KW) MACs, as a direct convolution would do them */
        return 2 * out * (p[1] / p[15]) * p[7] * p[8];
    case RT_K_GEMM: case RT_K_MATMUL:
        return 2 * out * p[2];
    case RT_K_MAXPOOL: case RT_K_AVGPOOL:
        return out * p[6] * p[7];
    case RT_K_GLOBALPOOL:
        return p[0] * p[1];
    case RT_K_BATCHNORM: case RT_K_AFFINE:
        return 2 * out;
    case RT_K_LRN:
        return out * (p[3] + 3);
    case RT_K_UNARY: case RT_K_BINARY: case RT_K_SOFTMAX:
        return out;
    default:
        return 0;
    }
}

/* The model's own parameters (float constants the node reads), not the packed copies the
 * kernels may get; a node lowered to several steps counts once. */
static int64_t step_params(const Schedule *s, int i)
{
    const Node *n = s->steps[i].node;
    int64_t count = 0;
    if (!n || (i > 0 && s->steps[i - 1].node == n))
        return 0;
    for (int j = 0; j < n->nin; j++)
        if (n->in[j] && n->in[j]->kind == VAL_CONSTANT && n->in[j]->dtype == DT_F32)
            count += value_numel(n->in[j]);
    return count;
}

/* "rt_conv_packed_f32" -> "conv_packed": which kernel a layer got. */
static const char *kernel_name(RtKernelId k, char *buf, size_t size)
{
    const char *name = rt_kernel_names[k];
    size_t n;
    if (!strncmp(name, "rt_", 3))
        name += 3;
    n = strlen(name);
    if (n > 4 && !strcmp(name + n - 4, "_f32"))
        n -= 4;
    snprintf(buf, size, "%.*s", (int)n, name);
    return buf;
}

void summary_print(FILE *f, const Schedule *s)
{
    int64_t total_flops = 0, total_params = 0;
    fprintf(f, "%-4s %-28s %-18s %-14s %-20s %12s %14s %12s\n", "#", "layer", "op", "kernel",
            "output", "params", "FLOPs", "out bytes");
    for (int i = 0; i < s->nsteps; i++) {
        const Step *st = &s->steps[i];
        char shape[160], label[64], kernel[40];
        int64_t fl = step_flops(st), pa = step_params(s, i);
        total_flops += fl;
        total_params += pa;
        fprintf(f, "%-4d %-28.28s %-18s %-14s %-20s %12" PRId64 " %14" PRId64 " %12zu\n", i,
                st->node ? st->node->name : "(output copy)",
                st->node ? node_label(st->node, label, sizeof label) : "Copy",
                /* the direct kernel's 1x1 path, told apart from its windowed one */
                st->kernel == RT_K_CONV_DIRECT && rt_conv_pointwise_ok(st->p) ?
                "conv_pointwise" : kernel_name(st->kernel, kernel, sizeof kernel),
                value_shape_str(st->t[0], shape, sizeof shape), pa, fl, value_bytes(st->t[0]));
    }
    fprintf(f, "\nkernel calls     %d\n", s->nsteps);
    fprintf(f, "parameters       %" PRId64 "\n", total_params);
    fprintf(f, "FLOPs            %" PRId64 " (%.3f G)\n", total_flops, total_flops / 1e9);
    fprintf(f, "weight bytes     %zu\n", s->weight_bytes);
    fprintf(f, "arena bytes      %zu (planned)\n", s->arena_bytes);
    fprintf(f, "  lower bound    %zu (most bytes live at once)\n", s->arena_lower_bound);
    fprintf(f, "  naive          %zu (every intermediate in its own buffer)\n", s->arena_naive);
    fprintf(f, "in place         %d outputs over a dying input, %d concats computed in place\n",
            s->ninplace, s->nconcat_inplace);
}
