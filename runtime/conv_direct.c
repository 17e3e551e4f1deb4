/* Convolutions with windows larger than 1x1, stride 1 or 2 (DenseNet's 3x3 growth
 * layers, ResNet's and VGG's 3x3 layers and 7x7 stems, Inception's branches): the packed
 * GEMM would spend a good part of its time packing its input, since each packed column
 * serves only M rows. Here nothing is packed at run time: output channels are the vector
 * lanes (weights packed at compile time as K rows of 32 or 16 channels) and output pixels
 * are broadcast straight from a zero-bordered copy of the input, 12 (or 7, or 14) pixels
 * at a time; the tile is turned around in registers on its way out to the NCHW output.
 * At stride 1 the pixels are numbered over the padded width, so a tile's twelve pixels
 * read twelve consecutive floats of every input row whatever the row length (the few that
 * fall in the border columns are computed and dropped).
 * The AVX-512 tile is in conv_direct_avx512.c; elsewhere the weights are unpacked again
 * and the portable convolution runs. */
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "rt.h"

#if defined(__GNUC__) && defined(__x86_64__)
RT_API void rt_conv_direct_tile_avx512(const RtConvDirectTile *t);
#endif

/* Lanes of channel block blk: 32, or 16 for a last block of 16 channels or fewer. */
static int64_t block_lanes(int64_t M, int64_t blk)
{
    return M - blk * 32 <= 16 ? 16 : 32;
}

/* Weights [M, K] (K = C*KH*KW) as blocks of 32 output channels (the last may have 16
 * lanes), each block K rows of its lanes, zero past M: block b, row k, lane i hold
 * w[32b + i][k]. */
RT_API size_t rt_conv_direct_weights_size(int64_t M, int64_t K)
{
    int64_t nblk = (M + 31) / 32;
    return (size_t)(((nblk - 1) * 32 + block_lanes(M, nblk - 1)) * K);
}

RT_API void rt_conv_direct_pack_weights(int64_t M, int64_t K, const float *w, float *dst)
{
    int64_t blk, k, i;
    for (blk = 0; blk * 32 < M; blk++) {
        int64_t lanes = block_lanes(M, blk);
        for (k = 0; k < K; k++)
            for (i = 0; i < lanes; i++)
                *dst++ = blk * 32 + i < M ? w[(blk * 32 + i) * K + k] : 0.0f;
    }
}

/* Whether the direct kernel takes this convolution (p as rt_conv_f32's): strides 1 or 2,
 * one group, no input scaling. */
RT_API int rt_conv_direct_ok(const int64_t *p)
{
    return (p[9] == 1 || p[9] == 2) && (p[10] == 1 || p[10] == 2) && p[15] == 1 && p[17] == 0;
}

/* Where the tiles fall. Pixels are numbered j = oy * pitch + ox, and tile i starts at pixel
 * j0 (tile_start) and at input offset in (that times the strides); its pixels with
 * ox < ow and j < span have outputs, at y[oy * ow + ox], consecutive within the tile.
 *  - Stride 1: pitch is the padded width wp, so that the input of pixel j is at j, and
 *    tiles are runs of 12 j across rows (the border columns in between computed and
 *    dropped), or runs of 7 within a row (rowruns) where that wastes enough fewer lanes to
 *    pay for the smaller tile: 7x7 planes fill 49 of 72 pixels of 12-pixel tiles but all
 *    of 7-pixel ones, 14x14 planes 196 of 228; 28x28 ones 784 of 840 either way.
 *  - Stride 2: runs of 14, 12 or 7 within a row, whichever wastes fewer lanes (14 for the
 *    widths 112, 56, 28 and 14 of ResNet's, DenseNet's and GoogLeNet's stems and strided
 *    layers: 1.02-1.09x over 12 and 7); pitch is ow + 14, so that a run's pixels past the
 *    row's end are dropped. */
typedef struct {
    int64_t hp, wp, ntiles, span, pitch, runs, npix, sh, sw;
    int rowruns;
} DirectGeom;

static DirectGeom direct_geom(const int64_t *p)
{
    DirectGeom g;
    int64_t oh = p[5], ow = p[6], slots12, slots7, slots14;
    int stride1 = p[9] == 1 && p[10] == 1;
    g.sh = p[9];
    g.sw = p[10];
    g.hp = (oh - 1) * g.sh + (p[7] - 1) * p[13] + 1;
    g.wp = (ow - 1) * g.sw + (p[8] - 1) * p[14] + 1;
    g.pitch = stride1 ? g.wp : ow + 14;
    g.span = (oh - 1) * g.pitch + ow;
    slots12 = stride1 ? (g.span + 11) / 12 * 12 : oh * ((ow + 11) / 12) * 12;
    slots7 = oh * ((ow + 6) / 7) * 7;
    slots14 = oh * ((ow + 13) / 14) * 14;
    /* a 7-pixel tile costs ~10 % more a pixel */
    g.npix = slots7 * 11 < slots12 * 10 ? 7 : 12;
    if (!stride1 && slots14 * 10 <= (g.npix == 7 ? slots7 * 11 : slots12 * 10))
        g.npix = 14;
    g.rowruns = !stride1 || g.npix == 7;
    g.runs = (ow + g.npix - 1) / g.npix;
    g.ntiles = g.rowruns ? oh * g.runs : (g.span + 11) / 12;
    return g;
}

#if defined(__GNUC__) && defined(__x86_64__)
/* The first pixel of tile i, and where its input starts in the bordered copy. */
static int64_t tile_start(const DirectGeom *g, int64_t i, int64_t *in)
{
    int64_t oy = i / g->runs, ox = i % g->runs * g->npix;
    if (!g->rowruns) {
        *in = i * 12;
        return i * 12;
    }
    *in = oy * g->sh * g->wp + ox * g->sw;
    return oy * g->pitch + ox;
}
#endif

#define PW_KC 256               /* pointwise: K rows of weights a block */
#define PW_MAX_TILES 20         /* pointwise with K in blocks: 256 pixels or less */

/* Whether the pointwise path takes this convolution (p as rt_conv_f32's). */
RT_API int rt_conv_pointwise_ok(const int64_t *p)
{
    int64_t s = p[9];
    return p[7] == 1 && p[8] == 1 && (s == 1 || s == 2) && p[10] == s && p[11] == 0 &&
           p[12] == 0 && (p[2] - 1) / s + 1 == p[5] && (p[3] - 1) / s + 1 == p[6] &&
           p[15] == 1 && p[5] * p[6] >= 14 &&
           (p[1] <= PW_KC || (p[5] * p[6] + 13) / 14 <= PW_MAX_TILES);
}

/* Whether the pointwise path reads a prepared copy of its input: at stride 2, or with an
 * input scaling to apply. */
static int pointwise_copies(const int64_t *p)
{
    return p[9] == 2 || p[17] != 0;
}

/* Floats of workspace: the bordered input of one image, and slack for the last tile; for
 * a pointwise convolution none, or the copy of its input it reads (pointwise_copies). */
RT_API size_t rt_conv_direct_workspace(const int64_t *p)
{
    DirectGeom g = direct_geom(p);
    if (rt_conv_pointwise_ok(p))
        return pointwise_copies(p) ? (size_t)(p[1] * p[5] * p[6]) : 0;
    return (size_t)(p[1] * g.hp * g.wp + g.wp + 64);
}

#if defined(__GNUC__) && defined(__x86_64__)
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
#endif

/* w[m][k] from the packed blocks. */
static float packed_weight(const float *wd, int64_t M, int64_t K, int64_t m, int64_t k)
{
    int64_t blk = m / 32;
    return wd[blk * 32 * K + k * block_lanes(M, blk) + m % 32];
}

/* The portable path: the weights repacked for the GEMM, then rt_conv_packed_f32 (which
 * needs no more memory); without memory for that, a plain loop over the packed weights. */
static void conv_direct_portable(void *const *t, const int64_t *p, const float *f)
{
    int64_t M = p[4], K = p[1] * p[7] * p[8], m, k;
    const float *wd = t[2];
    float *w = malloc((size_t)(M * K) * sizeof(float));
    float *ap = malloc(rt_gemm_packed_a_size(M, K) * sizeof(float));
    void *tt[8];
    if (w && ap) {
        for (m = 0; m < M; m++)
            for (k = 0; k < K; k++)
                w[m * K + k] = packed_weight(wd, M, K, m, k);
        rt_gemm_pack_a(M, K, w, K, ap);
        memcpy(tt, t, sizeof tt);
        tt[2] = ap;
        tt[4] = NULL;
        rt_conv_packed_f32(tt, p, f);
        free(w);
        free(ap);
        return;
    }
    free(w);
    free(ap);
    {
        int64_t N = p[0], C = p[1], H = p[2], W = p[3], OH = p[5], OW = p[6], KH = p[7];
        int64_t KW = p[8], n, oy, ox, c, ki, kj;
        const float *x = t[1], *b = t[3], *res = t[5], *scale = t[6], *shift = t[7];
        float *y = t[0];
        for (n = 0; n < N; n++)
            for (m = 0; m < M; m++)
                for (oy = 0; oy < OH; oy++)
                    for (ox = 0; ox < OW; ox++) {
                        int64_t at = ((n * M + m) * OH + oy) * OW + ox;
                        float acc = b ? b[m] : 0.0f;
                        for (c = 0; c < C; c++)
                            for (ki = 0; ki < KH; ki++)
                                for (kj = 0; kj < KW; kj++) {
                                    int64_t iy = oy * p[9] - p[11] + ki * p[13];
                                    int64_t ix = ox * p[10] - p[12] + kj * p[14];
                                    float v;
                                    if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                        continue;
                                    v = x[((n * C + c) * H + iy) * W + ix];
                                    if (p[17]) {        /* (pointwise only: unpadded) */
                                        v = v * scale[(p[17] == 2 ? n * C : 0) + c] +
                                            (shift ? shift[c] : 0.0f);
                                        v = rt_act((RtAct)p[18], v, 0.0f, 0.0f);
                                    }
                                    acc += packed_weight(wd, M, K, m,
                                                         (c * KH + ki) * KW + kj) * v;
                                }
                        acc += res ? res[at] : 0.0f;
                        y[at] = rt_act((RtAct)p[16], acc, f[0], f[1]);
                    }
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
/* One image's run of the direct kernel, for direct_task. */
typedef struct {
    const int64_t *p;
    const float *f, *xp, *wd, *b, *res;
    float *y;
    DirectGeom g;
} DirectRun;

/* Tile `task` of image n: channel block task / ntiles, tile task % ntiles (all tiles of a
 * block in a row, so that its weights stay in L2). */
static void direct_task(const DirectRun *r, int64_t n, int64_t task)
{
    const int64_t *p = r->p;
    const DirectGeom *g = &r->g;
    int64_t C = p[1], M = p[4], OH = p[5], OW = p[6], KH = p[7], KW = p[8], DH = p[13];
    int64_t DW = p[14], K = C * KH * KW, nblk = (M + 31) / 32;
    const float *wd = r->wd, *b = r->b, *res = r->res, *f = r->f;
    float *y = r->y;
    RtConvDirectTile tile;
    int64_t blk = task / g->ntiles, in, j0 = tile_start(g, task % g->ntiles, &in);
    tile.x = r->xp + in;
    tile.w = wd + blk * 32 * K;
    /* The weights come from memory once per inference; a block's first tile would
     * wait for them, so its first tiles bring the next block's into L2, a line
     * per weight row (ResNet-50's 7x7 3x3 layers, 9 MB of weights: 1.60 -> 1.40
     * ms, at two threads 1.03 -> 0.73). */
    tile.pf = NULL;
    if (blk + 1 < nblk && task % g->ntiles * K * 64 < 32 * K * (int64_t)sizeof(float))
        tile.pf = (const char *)(wd + (blk + 1) * 32 * K) + task % g->ntiles * K * 64;
    tile.c = C; tile.kh = KH; tile.kw = KW;
    tile.plane = g->hp * g->wp; tile.row = DH * g->wp; tile.dw = DW;
    tile.mb = M - blk * 32 < 32 ? (int)(M - blk * 32) : 32;
    tile.lanes = (int)block_lanes(M, blk);
    tile.j0 = j0; tile.span = g->span; tile.pitch = g->pitch; tile.ow = OW;
    tile.npix = (int)g->npix;
    tile.sw = (int)g->sw;
    tile.hw = OH * OW;
    tile.y = y + (n * M + blk * 32) * OH * OW;
    tile.res = res ? res + (n * M + blk * 32) * OH * OW : NULL;
    tile.bias = b ? b + blk * 32 : NULL;
    tile.act = (int)p[16];
    tile.alpha = f[0];
    tile.beta = f[1];
    tile.skip = 0;
    tile.part_in = NULL;
    tile.part_out = NULL;
    rt_conv_direct_tile_avx512(&tile);
}

/* ---- pointwise (1x1) convolutions ----
 * A 1x1 convolution is a GEMM whose columns are the plane's pixels; on 7x7 planes (49 =
 * 32 + 17) the GEMM's 32-wide tiles fill 49 of 64 lanes. Here the channels are the lanes
 * instead, and the pixels are split into tiles of 14 (the last of 7, 12 or 14, whichever
 * is the smallest that holds what is left), read straight from the input (at stride 2, or
 * with an input scaling, from a copy made ready first). K goes in blocks, so that a
 * block's weights (PW_KC rows of 32 channels) stay in L1 while the tiles pass; the partial
 * sums wait in a small buffer. The backend chooses this path or the GEMM by the lanes each
 * fills (backend/lower.c). */

/* Tile i of a plane of n pixels: its first pixel, size, and the pixels at its start that
 * the tile before it has stored (the last tile moves back rather than read past the
 * plane). */
static int64_t pw_tile(int64_t n, int64_t i, int *npix, int *skip)
{
    int64_t j0 = i * 14, left = n - j0;
    *npix = left >= 14 ? 14 : left > 7 ? (left > 12 ? 14 : 12) : 7;
    *skip = 0;
    if (j0 + *npix > n) {
        *skip = (int)(j0 + *npix - n);
        j0 = n - *npix;
    }
    return j0;
}

/* Task `task`: tiles of group task % ngroups of channel block task / ngroups, K block by K
 * block. */
static void pw_task(const DirectRun *r, int64_t n, int64_t task, int64_t ngroups)
{
    const int64_t *p = r->p;
    int64_t C = p[1], M = p[4], hw = p[5] * p[6], ntiles = (hw + 13) / 14;
    int64_t blk = task / ngroups, grp = task % ngroups, nblk = (M + 31) / 32;
    int64_t i0 = ntiles * grp / ngroups, i1 = ntiles * (grp + 1) / ngroups, i, c0;
    int64_t lanes = block_lanes(M, blk);
    const float *wblk = r->wd + blk * 32 * C, *next = r->wd + (blk + 1) * 32 * C;
    float part[PW_MAX_TILES][14][32] __attribute__((aligned(64)));
    RtConvDirectTile tile;
    memset(&tile, 0, sizeof tile);
    tile.kh = tile.kw = 1;
    tile.plane = hw;
    tile.span = hw; tile.pitch = p[6]; tile.ow = p[6]; tile.hw = hw;
    tile.mb = M - blk * 32 < 32 ? (int)(M - blk * 32) : 32;
    tile.lanes = (int)lanes;
    tile.sw = 1;
    tile.y = r->y + (n * M + blk * 32) * hw;
    tile.res = r->res ? r->res + (n * M + blk * 32) * hw : NULL;
    tile.bias = r->b ? r->b + blk * 32 : NULL;
    tile.act = (int)p[16];
    tile.alpha = r->f[0];
    tile.beta = r->f[1];
    for (c0 = 0; c0 < C; c0 += PW_KC) {
        int64_t kc = C - c0 < PW_KC ? C - c0 : PW_KC;
        for (i = i0; i < i1; i++) {
            int64_t j0 = pw_tile(hw, i, &tile.npix, &tile.skip);
            tile.x = r->xp + c0 * hw + j0;
            tile.w = wblk + c0 * lanes;
            tile.c = kc;
            tile.j0 = j0;
            tile.part_in = c0 > 0 ? part[i - i0][0] : NULL;     /* (C > PW_KC: few tiles) */
            tile.part_out = c0 + kc < C ? part[i - i0][0] : NULL;
            /* the first two tiles of a group bring the next block's weights for this K
             * block into L2, half each (a line a weight row) */
            tile.pf = NULL;
            if (grp == 0 && blk + 1 < nblk && block_lanes(M, blk + 1) == 32 && i - i0 < 2 &&
                i1 - i0 >= 2)
                tile.pf = (const char *)(next + c0 * 32) + (i - i0) * kc * 64;
            rt_conv_direct_tile_avx512(&tile);
        }
    }
}

RT_API void rt_gather_even_avx512(const float *src, int64_t n, float *dst);
RT_API int rt_act512_ok(int act);
RT_API void rt_affine_act_avx512(float *y, const float *x, int64_t n, float s, float t,
                                 int act, float alpha, float beta);

/* The input pixels image n's pointwise convolution reads, [C, OH, OW], into xs: at stride
 * 2 every other row and column, and scaled (the input scaling a conv took over: channel c
 * times scale[c] (per image: scale[n * C + c]) plus shift[c], then pre_act). */
static void pointwise_input(const int64_t *p, const float *x, const float *scale,
                            const float *shift, int64_t n, float *xs)
{
    int64_t c = p[1], h = p[2], w = p[3], oh = p[5], ow = p[6], hw = oh * ow, ch;
    #pragma omp parallel for if (c * hw > 65536) schedule(static)
    for (ch = 0; ch < c; ch++) {
        const float *src = x + ch * h * w;
        float *d = xs + ch * hw, s, t;
        int64_t oy, j;
        if (p[9] == 2)
            for (oy = 0; oy < oh; oy++)
                rt_gather_even_avx512(src + 2 * oy * w, ow, d + oy * ow);
        if (!p[17]) {
            continue;
        }
        s = scale[(p[17] == 2 ? n * c : 0) + ch];
        t = shift ? shift[ch] : 0.0f;
        src = p[9] == 2 ? d : src;
        if (rt_act512_ok((int)p[18])) {
            /* one vectorized pass where the loop below and the activation make two: the
             * copy was 30 % of EfficientNet's 672 -> 112 squeeze-excited layer */
            rt_affine_act_avx512(d, src, hw, s, t, (int)p[18], 0.0f, 0.0f);
            continue;
        }
        for (j = 0; j < hw; j++)
            d[j] = src[j] * s + t;
        rt_act_inplace(d, (size_t)hw, (RtAct)p[18], 0.0f, 0.0f);
    }
}

/* A pointwise convolution, image by image: x the input, ws the workspace
 * (rt_conv_direct_workspace's), scale and shift the input scaling's (or NULL). Tasks are
 * channel blocks, their tiles cut into groups when the blocks are too few to share. */
static void conv_pointwise(const DirectRun *r, const float *x, float *ws, const float *scale,
                           const float *shift)
{
    const int64_t *p = r->p;
    int64_t N = p[0], C = p[1], M = p[4], hw = p[5] * p[6];
    int64_t nblk = (M + 31) / 32, ntiles = (hw + 13) / 14, ngroups = 1, n;
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    /* about four tasks a thread: few channel blocks split their tiles */
    while (nblk * ngroups < 4 * nt && ngroups < ntiles)
        ngroups++;
    for (n = 0; n < N; n++) {
        DirectRun run = *r;
        int64_t next = 0, ntasks = nblk * ngroups;
        run.xp = x + n * C * p[2] * p[3];
        if (pointwise_copies(p)) {
            pointwise_input(p, run.xp, scale, shift, n, ws);
            run.xp = ws;
        }
        #pragma omp parallel if (M * C * hw > 400000)
        {
            int64_t task;
            while ((task = rt_claim(&next, 1)) < ntasks)
                pw_task(&run, n, task, ngroups);
        }
    }
}

#endif

/* t: y x wd b(or NULL) workspace residual(or NULL) scale(or NULL) shift(or NULL); p and f
 * as rt_conv_f32's (an input scaling only for pointwise convolutions); wd packed by
 * rt_conv_direct_pack_weights; the workspace holds rt_conv_direct_workspace(p) floats. */
RT_API void rt_conv_direct_f32(void *const *t, const int64_t *p, const float *f)
{
#if defined(__GNUC__) && defined(__x86_64__)
    int64_t N = p[0], C = p[1], H = p[2], W = p[3], M = p[4];
    int64_t K = C * p[7] * p[8], nblk = (M + 31) / 32, n;
    DirectRun run;
    run.p = p;
    run.f = f;
    run.xp = t[4];
    run.wd = t[2];
    run.b = t[3];
    run.res = t[5];
    run.y = t[0];
    run.g = direct_geom(p);
    if (rt_cpu_isa() >= 2 && rt_conv_pointwise_ok(p) && (!pointwise_copies(p) || t[4])) {
        conv_pointwise(&run, t[1], t[4], t[6], t[7]);
        return;
    }
    if (rt_cpu_isa() < 2 || !run.xp) {
        conv_direct_portable(t, p, f);
        return;
    }
    for (n = 0; n < N; n++) {
        int64_t next = 0, ntasks = nblk * run.g.ntiles;
        bordered_copy((const float *)t[1] + n * C * H * W, C, H, W, p[11], p[12], run.g.hp,
                      run.g.wp, t[4], rt_conv_direct_workspace(p));
        #pragma omp parallel if (M * K * run.g.span > 400000)
        {
            int64_t task, t0;
            while ((t0 = rt_claim(&next, 4)) < ntasks)
                for (task = t0; task < t0 + 4 && task < ntasks; task++)
                    direct_task(&run, n, task);
        }
    }
#else
    conv_direct_portable(t, p, f);
#endif
}
