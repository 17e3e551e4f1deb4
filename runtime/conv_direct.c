/* Stride-1 convolutions with few output channels (DenseNet's 3x3 growth layers, Inception's
 * branches): the packed GEMM would spend as long packing its input as multiplying, since
 * each packed column serves only M rows. Here nothing is packed at run time: output
 * channels are the vector lanes (weights packed at compile time as K rows of 32 or 16
 * channels) and output pixels are broadcast straight from a zero-bordered copy of the
 * input, twelve pixels at a time. The pixels are numbered over the padded width, so the
 * twelve pixels of a tile read twelve consecutive floats of every input row whatever the
 * row length; the few that fall in the border columns are computed and dropped.
 * The AVX-512 tile is in conv_direct_avx512.c; elsewhere the weights are unpacked again
 * and the portable convolution runs. */
#include <stdlib.h>
#include <string.h>
#include "rt.h"

#if defined(__GNUC__) && defined(__x86_64__)
RT_API void rt_conv_direct_tile_avx512(const RtConvDirectTile *t);
#endif

/* Weights [M, K] (K = C*KH*KW) as blocks of 32 output channels (the last may be 16), each
 * block K rows of its channels: block b, row k, lane i hold w[32b + i][k]. */
RT_API size_t rt_conv_direct_weights_size(int64_t M, int64_t K)
{
    return (size_t)(M * K);
}

RT_API void rt_conv_direct_pack_weights(int64_t M, int64_t K, const float *w, float *dst)
{
    int64_t m0, k, i;
    for (m0 = 0; m0 < M; m0 += 32) {
        int64_t mb = M - m0 < 32 ? M - m0 : 32;
        for (k = 0; k < K; k++)
            for (i = 0; i < mb; i++)
                *dst++ = w[(m0 + i) * K + k];
    }
}

/* Whether the direct kernel takes this convolution (p as rt_conv_f32's): stride 1, one
 * group, output channels in whole vectors. */
RT_API int rt_conv_direct_ok(const int64_t *p)
{
    return p[9] == 1 && p[10] == 1 && p[15] == 1 && p[4] % 16 == 0 && p[17] == 0;
}

/* Floats of workspace: the bordered input of one image, and slack for the last tile. */
RT_API size_t rt_conv_direct_workspace(const int64_t *p)
{
    int64_t hp = p[5] + (p[7] - 1) * p[13], wp = p[6] + (p[8] - 1) * p[14];
    return (size_t)(p[1] * hp * wp + wp + 64);
}

/* x [C, H, W] into xp [C, hp, wp] with its zero border (pt rows above, pl columns left). */
static void bordered_copy(const float *x, int64_t c, int64_t h, int64_t w, int64_t pt,
                          int64_t pl, int64_t hp, int64_t wp, float *xp, size_t total)
{
    int64_t ch;
    #pragma omp parallel for if (c * hp * wp > 65536) schedule(static)
    for (ch = 0; ch < c; ch++) {
        float *d = xp + ch * hp * wp;
        int64_t r;
        for (r = 0; r < hp; r++) {
            int64_t iy = r - pt, left = pl < wp ? pl : wp, n = w < wp - left ? w : wp - left;
            float *row = d + r * wp;
            if (iy < 0 || iy >= h || n <= 0) {
                memset(row, 0, (size_t)wp * sizeof(float));
                continue;
            }
            memset(row, 0, (size_t)left * sizeof(float));
            memcpy(row + left, x + (ch * h + iy) * w, (size_t)n * sizeof(float));
            memset(row + left + n, 0, (size_t)(wp - left - n) * sizeof(float));
        }
    }
    memset(xp + c * hp * wp, 0, (total - (size_t)(c * hp * wp)) * sizeof(float));
}

/* The portable path: the weights back to [M, K], then rt_conv_f32. */
static void conv_direct_portable(void *const *t, const int64_t *p, const float *f)
{
    int64_t M = p[4], K = p[1] * p[7] * p[8], m, k;
    const float *wd = t[2];
    float *w = malloc((size_t)(M * K) * sizeof(float));
    void *tt[8];
    if (!w)
        return;
    for (m = 0; m < M; m++)
        for (k = 0; k < K; k++) {
            int64_t blk = m / 32, mb = M - blk * 32 < 32 ? M - blk * 32 : 32;
            w[m * K + k] = wd[blk * 32 * K + k * mb + m % 32];
        }
    memcpy(tt, t, sizeof tt);
    tt[2] = w;
    tt[4] = NULL;               /* rt_conv_f32 packs its weights itself */
    rt_conv_f32(tt, p, f);
    free(w);
}

/* t: y x wd b(or NULL) workspace residual(or NULL); p and f as rt_conv_f32's (no input
 * scaling); wd packed by rt_conv_direct_pack_weights; the workspace holds
 * rt_conv_direct_workspace(p) floats. */
RT_API void rt_conv_direct_f32(void *const *t, const int64_t *p, const float *f)
{
    int64_t N = p[0], C = p[1], H = p[2], W = p[3], M = p[4], OH = p[5], OW = p[6];
    int64_t KH = p[7], KW = p[8], PT = p[11], PL = p[12], DH = p[13], DW = p[14];
    int64_t hp = OH + (KH - 1) * DH, wp = OW + (KW - 1) * DW, K = C * KH * KW;
    int64_t span = (OH - 1) * wp + OW, ntiles = (span + 11) / 12, nblk = (M + 31) / 32, n;
    float *y = t[0], *xp = t[4];
    const float *x = t[1], *wd = t[2], *b = t[3], *res = t[5];
#if defined(__GNUC__) && defined(__x86_64__)
    if (rt_cpu_isa() < 2 || !xp) {
        conv_direct_portable(t, p, f);
        return;
    }
#else
    (void)span; (void)ntiles; (void)nblk; (void)K; (void)hp; (void)xp;
    conv_direct_portable(t, p, f);
    return;
#endif
#if defined(__GNUC__) && defined(__x86_64__)
    for (n = 0; n < N; n++) {
        int64_t task;
        bordered_copy(x + n * C * H * W, C, H, W, PT, PL, hp, wp, xp,
                      rt_conv_direct_workspace(p));
        #pragma omp parallel for schedule(dynamic, 4) if (M * K * span > 400000)
        for (task = 0; task < nblk * ntiles; task++) {
            RtConvDirectTile tile;
            /* all tiles of a channel block in a row: its weights stay in L2 */
            int64_t blk = task / ntiles, j0 = task % ntiles * 12;
            tile.x = xp + j0;
            tile.w = wd + blk * 32 * K;
            tile.c = C; tile.kh = KH; tile.kw = KW;
            tile.plane = hp * wp; tile.row = DH * wp; tile.dw = DW;
            tile.mb = M - blk * 32 < 32 ? (int)(M - blk * 32) : 32;
            tile.j0 = j0; tile.span = span; tile.wp = wp; tile.ow = OW; tile.hw = OH * OW;
            tile.y = y + (n * M + blk * 32) * OH * OW;
            tile.res = res ? res + (n * M + blk * 32) * OH * OW : NULL;
            tile.bias = b ? b + blk * 32 : NULL;
            tile.act = (int)p[16];
            tile.alpha = f[0];
            tile.beta = f[1];
            rt_conv_direct_tile_avx512(&tile);
        }
    }
#endif
}
