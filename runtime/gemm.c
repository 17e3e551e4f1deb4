/* Matrix products: the packed GEMM that convolution, Gemm and MatMul share, and the Gemm
 * and MatMul kernels. A is packed in 6-row panels (once, at compile time, for constant
 * weights); B is packed per cache block into panels as wide as the micro-kernel's tile
 * (32 columns for AVX-512, 16 for AVX2 and scalar), straight from a matrix or from a
 * convolution's input (implicit im2col). Loops, outermost first: threads own rectangles
 * of C (when they split its rows, each block of B is packed once, by all of them, and
 * shared); columns in L2-sized blocks (NC); K in blocks (KC); rows of 12 (or 6); columns
 * of 32 (or 16), the micro-kernel's tile, whose A panel stays in L1 while B streams from
 * L2.
 * The micro-kernel for the CPU is chosen at run time (gemm_avx512.c, gemm_avx2.c). */
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "rt.h"

#if defined(__GNUC__) && defined(__x86_64__)
RT_API void rt_gemm_tile_avx512(const RtGemmTile *t);
RT_API void rt_gemm_tile16_avx512(const RtGemmTile *t);
RT_API void rt_gemm_tile_avx2(const RtGemmTile *t);
RT_API void rt_gemm_pack_row_avx512(const float *src, int64_t nc, int64_t pstride, float *d,
                                    int scaled, float s, float t, int relu);
RT_API void rt_gemm_row_avx512(int64_t K, int64_t n, const float *a, const float *b,
                               int64_t ldb, float *c, int accumulate);
RT_API float rt_dot_avx512(int64_t K, const float *a, const float *b);
RT_API void rt_gather_even_avx512(const float *src, int64_t n, float *dst);
RT_API int rt_act512_ok(int act);
RT_API void rt_act_avx512(float *y, int64_t n, int act, float alpha, float beta);
#endif

enum { GEMM_SCALAR, GEMM_AVX2, GEMM_AVX512 };

/* The best micro-kernel this CPU runs; CNNC_ISA=scalar|avx2 forces a lesser one (tests,
 * and comparisons), read at every call so that a test can switch. */
static int gemm_isa(void)
{
    static int cpu = -1;
    int best;
    const char *env = getenv("CNNC_ISA");
    if (cpu < 0) {
        best = GEMM_SCALAR;
#if defined(__GNUC__) && defined(__x86_64__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            best = GEMM_AVX2;
        if (best == GEMM_AVX2 && __builtin_cpu_supports("avx512f") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vl"))
            best = GEMM_AVX512;
#endif
        cpu = best;
    }
    best = cpu;
    if (env && strcmp(env, "scalar") == 0)
        best = GEMM_SCALAR;
    else if (env && strcmp(env, "avx2") == 0 && best > GEMM_AVX2)
        best = GEMM_AVX2;
    return best;
}

RT_API int rt_cpu_isa(void)
{
    return gemm_isa();
}

/* An activation over one row of C, vectorized where the CPU allows. */
static void gemm_act_row(int isa, float *y, int64_t n, RtAct act, float alpha, float beta)
{
#if defined(__GNUC__) && defined(__x86_64__)
    if (isa == GEMM_AVX512 && rt_act512_ok(act)) {
        rt_act_avx512(y, n, act, alpha, beta);
        return;
    }
#endif
    (void)isa;
    rt_act_inplace(y, (size_t)n, act, alpha, beta);
}

/* Portable tile: C[mr<=6, nr<=16], any activation. */
static void gemm_tile_scalar(const RtGemmTile *t)
{
    float acc[6][16];
    int64_t k;
    int i, j;
    memset(acc, 0, sizeof acc);
    for (k = 0; k < t->kc; k++) {
        const float *a = t->a0 + k * 6, *b = t->b + k * 16;
        for (i = 0; i < 6; i++)
            for (j = 0; j < 16; j++)
                acc[i][j] += a[i] * b[j];
    }
    for (i = 0; i < t->mr; i++) {
        float *c = t->c + i * t->ldc;
        for (j = 0; j < t->nr; j++) {
            float v = acc[i][j] + (t->accumulate ? c[j] : 0.0f);
            if (t->bias)
                v += t->bias[i];
            if (t->res)
                v += t->res[i * t->ldr + j];
            c[j] = rt_act((RtAct)t->act, v, t->alpha, t->beta);
        }
    }
}

typedef struct {
    void (*tile)(const RtGemmTile *t);
    int mr, nr;                 /* tile rows (a multiple of 6) and columns */
    int any_act;                /* the tile applies every activation, not just the cheap ones */
    int isa;
} GemmKernel;

static GemmKernel gemm_kernel(void)
{
    GemmKernel k = { gemm_tile_scalar, 6, 16, 1, GEMM_SCALAR };
    k.isa = gemm_isa();
#if defined(__GNUC__) && defined(__x86_64__)
    switch (k.isa) {
    case GEMM_AVX512: k.tile = rt_gemm_tile_avx512; k.mr = 12; k.nr = 32; k.any_act = 0; break;
    case GEMM_AVX2:   k.tile = rt_gemm_tile_avx2;   k.mr = 6;  k.nr = 16; k.any_act = 0; break;
    default: break;
    }
#endif
    return k;
}

RT_API size_t rt_gemm_packed_a_size(int64_t M, int64_t K)
{
    return (size_t)((M + RT_GEMM_MR - 1) / RT_GEMM_MR * RT_GEMM_MR * K);
}

/* The depth of a K block: all of K up to 512, else equal blocks of at most 384, so that a
 * 12-row A panel's block stays in L1 while B's streams past it. */
static int64_t gemm_kc(int64_t K)
{
    int64_t nb = (K + 383) / 384;
    return K <= 512 ? K : (K + nb - 1) / nb;
}

/* Where row i, column k of A is in its packed copy (rt.h): K block after K block, each
 * holding every panel's part of it, in the order the GEMM reads them. */
static int64_t gemm_a_at(int64_t M, int64_t K, int64_t i, int64_t k)
{
    int64_t kc = gemm_kc(K), pc = k / kc * kc, mp = (M + RT_GEMM_MR - 1) / RT_GEMM_MR;
    int64_t depth = K - pc < kc ? K - pc : kc;
    return pc * mp * RT_GEMM_MR + (i / RT_GEMM_MR * depth + k - pc) * RT_GEMM_MR +
           i % RT_GEMM_MR;
}

RT_API void rt_gemm_pack_a(int64_t M, int64_t K, const float *A, int64_t lda, float *dst)
{
    int64_t kc = gemm_kc(K), pc, p, k, i;
    for (pc = 0; pc < K; pc += kc)
        for (p = 0; p < M; p += RT_GEMM_MR)
            for (k = pc; k < pc + kc && k < K; k++)
                for (i = 0; i < RT_GEMM_MR; i++)
                    *dst++ = p + i < M ? A[(p + i) * lda + k] : 0.0f;
}

/* A packed by rt_gemm_pack_a with its column k scaled by s[k], into dst (as large). */
RT_API void rt_gemm_scale_a(int64_t M, int64_t K, const float *ap, const float *s, float *dst)
{
    int64_t kc = gemm_kc(K), pc, p, k, i;
    for (pc = 0; pc < K; pc += kc)
        for (p = 0; p < M; p += RT_GEMM_MR)
            for (k = pc; k < pc + kc && k < K; k++)
                for (i = 0; i < RT_GEMM_MR; i++)
                    *dst++ = *ap++ * s[k];
}

/* dst[i] = src[2i], i < n: the columns a stride-2 convolution reads. */
static void gemm_gather_even(const float *src, int64_t n, float *dst, int isa)
{
    int64_t i;
#if defined(__GNUC__) && defined(__x86_64__)
    if (isa == GEMM_AVX512) {
        rt_gather_even_avx512(src, n, dst);
        return;
    }
#endif
    (void)isa;
    for (i = 0; i < n; i++)
        dst[i] = src[2 * i];
}

/* Row k of the convolution's implicit im2col (input channel, ky, kx), output pixels
 * j0..j0+nc-1, into row[]: one segment per output row, copied (stride 1) or gathered,
 * with zeros where the window hangs over the padding. */
static void gemm_im2col_row(const RtGemmB *B, int64_t kk, int64_t j0, int64_t nc, float *row,
                            int isa)
{
    int64_t khw = B->kh * B->kw, c = kk / khw, r = kk % khw, ki = r / B->kw, kj = r % B->kw;
    int64_t oy = j0 / B->ow, ox = j0 % B->ow, jj = 0;
    const float *xc = B->x + c * B->h * B->w;
    /* output columns whose input column is inside the image: [olo, ohi) */
    int64_t off = kj * B->dw - B->pl, olo = 0, ohi;
    if (off < 0)
        olo = (-off + B->sw - 1) / B->sw;
    ohi = B->w - off > 0 ? (B->w - off + B->sw - 1) / B->sw : 0;
    if (ohi > B->ow)
        ohi = B->ow;
    if (olo > ohi)
        olo = ohi;
    while (jj < nc) {
        int64_t seg = B->ow - ox < nc - jj ? B->ow - ox : nc - jj, end = ox + seg, q;
        int64_t iy = oy * B->sh - B->pt + ki * B->dh;
        float *o = row + jj - ox;               /* o[ox'] for ox' in [ox, end) */
        if (iy < 0 || iy >= B->h) {
            memset(row + jj, 0, (size_t)seg * sizeof(float));
        } else {
            const float *src = xc + iy * B->w + off;    /* src[ox' * sw] */
            int64_t lo = olo > ox ? olo : ox, hi = ohi < end ? ohi : end;
            if (hi < lo)
                hi = lo;
            for (q = ox; q < lo && q < end; q++)
                o[q] = 0.0f;
            if (B->sw == 1)
                memcpy(o + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
            else if (B->sw == 2)
                gemm_gather_even(src + 2 * lo, hi - lo, o + lo, isa);
            else
                for (q = lo; q < hi; q++)
                    o[q] = src[q * B->sw];
            for (q = hi > ox ? hi : ox; q < end; q++)
                o[q] = 0.0f;
        }
        jj += seg;
        ox = 0;
        oy++;
    }
}

/* row[0..n) = act(src * s + t): the input scaling a conv took over (RtGemmB). */
static void gemm_scale_row(const float *src, int64_t n, float s, float t, RtAct act,
                           float *row)
{
    int64_t j;
    if (act == RT_ACT_RELU)
        for (j = 0; j < n; j++) {
            float v = src[j] * s + t;
            row[j] = v > 0.0f ? v : 0.0f;
        }
    else
        for (j = 0; j < n; j++)
            row[j] = src[j] * s + t;
}

/* Rows k0.. and columns j0..j0+nc-1 of B as panels of nr columns, kc rows each (only rows
 * kfrom..kto-1 of them: threads can share the packing); row[] (nc floats) is scratch for
 * the convolution's gathered rows. */
static void gemm_pack_b_rows(const RtGemmB *B, int64_t k0, int64_t kc, int64_t kfrom,
                             int64_t kto, int64_t j0, int64_t nc, int nr, float *dst,
                             float *row)
{
    int64_t p, k, full = nc / nr * nr, taps = B->kh ? B->kh * B->kw : 1;
    int isa = nr == 32 ? GEMM_AVX512 : GEMM_SCALAR;     /* only AVX-512 panels are 32 wide */
    for (k = kfrom; k < kto; k++) {
        const float *src = B->x + (k0 + k) * B->ldb + j0;
        float *d = dst + k * nr;
        if (B->kh) {
            gemm_im2col_row(B, k0 + k, j0, nc, row, isa);
            src = row;
        }
#if defined(__GNUC__) && defined(__x86_64__)
        if (nr == 32) {                 /* only the AVX-512 kernel's panels are 32 wide */
            int64_t c = (k0 + k) / taps;
            rt_gemm_pack_row_avx512(src, nc, kc * 32, d, B->scale != NULL,
                                    B->scale ? B->scale[c] : 1.0f,
                                    B->shift ? B->shift[c] : 0.0f, B->pre_act == RT_ACT_RELU);
            continue;
        }
#endif
        if (B->scale) {
            int64_t c = (k0 + k) / taps;
            gemm_scale_row(src, nc, B->scale[c], B->shift ? B->shift[c] : 0.0f, B->pre_act,
                           row);
            src = row;
        }
        for (p = 0; p < full; p += nr, d += kc * nr)
            memcpy(d, src + p, (size_t)nr * sizeof(float));
        if (full < nc) {
            memcpy(d, src + full, (size_t)(nc - full) * sizeof(float));
            memset(d + nc - full, 0, (size_t)(nr - (nc - full)) * sizeof(float));
        }
    }
}

static void gemm_pack_b(const RtGemmB *B, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
                        int nr, float *dst, float *row)
{
    gemm_pack_b_rows(B, k0, kc, 0, kc, j0, nc, nr, dst, row);
}

/* Threads tm x tn over C: the split with the least work on the busiest thread, counting
 * the B panels each thread packs (a split along M packs all of them in every thread), and
 * the columns of a short last panel as they are: 49 columns split as 32 and 17 leave one
 * thread with two thirds of the work (ResNet-50's 7x7 1x1 layers, x1.05 at two threads). */
static void gemm_split(int64_t pm, int64_t pn, int64_t n, int nr, int nt, int *tm, int *tn)
{
    int64_t best = -1;
    int d;
    for (d = 1; d <= nt; d++) {
        int64_t rows, cols, cost;
        if (nt % d)
            continue;
        rows = (pm + d - 1) / d;
        cols = (pn + nt / d - 1) / (nt / d) * nr;
        if (cols > n)
            cols = n;
        cost = rows * cols + cols;
        if (best < 0 || cost < best) {
            best = cost;
            *tm = d;
            *tn = nt / d;
        }
    }
}

/* Whether the AVX-512 micro-kernel reads B's rows where they are (masked at the row's
 * end) instead of a packed copy. For a plain matrix (a 1x1 convolution's input) without
 * input scaling, packing only pays once C has many rows to share it: measured 1.1-2.4x
 * faster unpacked on 1x1 layers with 16-256 outputs (MobileNet's and SqueezeNet's few-
 * output layers most), even at 512 and more. */
static int gemm_reads_b(const GemmKernel *gk, int64_t M, const RtGemmB *B)
{
    return gk->isa == GEMM_AVX512 && M <= 256 && !B->kh && !B->scale;
}

/* The lines of C (and of the residual) a tile will write and read at its end, asked for
 * before its K loop when that is long enough to hide the wait: a layer's output and its
 * residual are usually cold, and the tile's 12 rows are 12 streams. */
static void gemm_prefetch_tile(const RtGemmTile *t, int64_t kc)
{
    int i;
    if (kc < 32)
        return;
    for (i = 0; i < t->mr; i++) {
        __builtin_prefetch(t->c + i * t->ldc, 1, 3);
        __builtin_prefetch(t->c + i * t->ldc + t->nr - 1, 1, 3);
        if (t->res) {
            __builtin_prefetch(t->res + i * t->ldr, 0, 3);
            __builtin_prefetch(t->res + i * t->ldr + t->nr - 1, 0, 3);
        }
    }
}

/* Rows m0..m1-1 of C against one block of B (columns jc.., rows pc.. of K): packed in
 * buf, or (buf NULL) B's own rows. */
static void gemm_rows_of_block(const GemmKernel *gk, int64_t M, const float *Ap,
                               const RtGemmB *B, float *C, int64_t ldc, int accumulate,
                               const RtGemmEpilogue *ep, int64_t m0, int64_t m1, int64_t jc,
                               int64_t nc, int64_t pc, int64_t kc, int last, const float *buf)
{
    int64_t ic, jr, mp = (M + RT_GEMM_MR - 1) / RT_GEMM_MR * RT_GEMM_MR;
    int nr = gk->nr, mr = gk->mr;
    void (*tile)(const RtGemmTile *) = gk->tile;
#if defined(__GNUC__) && defined(__x86_64__)
    /* a block one vector wide (Winograd's products on 14x14 planes): 24 rows by 16 */
    int narrow = gk->isa == GEMM_AVX512 && nc <= 16;
    if (narrow) {
        tile = rt_gemm_tile16_avx512;
        mr = 24;
    }
#else
    int narrow = 0;
#endif
    for (ic = m0; ic < m1; ic += mr) {
        RtGemmTile t;
        memset(&t, 0, sizeof t);
        t.kc = kc;
        t.ldc = ldc;
        t.mr = (int)(m1 - ic < mr ? m1 - ic : mr);
        t.a0 = Ap + pc * mp + ic * kc;
        t.a1 = t.mr > RT_GEMM_MR ? t.a0 + RT_GEMM_MR * kc : NULL;
        t.accumulate = accumulate || pc > 0;
        if (last && ep) {
            t.bias = ep->bias ? ep->bias + ic : NULL;
            t.ldr = ldc;
            t.act = gk->any_act || ep->act == RT_ACT_RELU || ep->act == RT_ACT_CLIP ||
                    ep->act == RT_ACT_LEAKYRELU ? ep->act : RT_ACT_NONE;
#if defined(__GNUC__) && defined(__x86_64__)
            /* the AVX-512 tile applies the vectorized kinds too (SiLU, sigmoid, ...):
             * 24 independent vectors where a row afterwards has two, whose exp chains
             * then wait on each other (EfficientNet's 16 -> 96 expansion 0.44 -> 0.37 ms) */
            if (gk->isa == GEMM_AVX512 && rt_act512_ok(ep->act))
                t.act = ep->act;
#endif
            t.alpha = ep->alpha;
            t.beta = ep->beta;
        }
        for (jr = 0; jr < nc; jr += nr) {
            t.nr = (int)(nc - jr < nr ? nc - jr : nr);
            t.b = buf ? buf + jr * kc : B->x + pc * B->ldb + jc + jr;
            t.ldb = buf ? 0 : B->ldb;
            /* The weights of a layer come from memory once per inference, and a panel's
             * first tile would wait for them (ResNet-50's 7x7 layers, 4-8 MB each for 49
             * columns: 1.4x slower than with them cached, 2x at two threads): the last
             * tile brings the next panels into L2 as it goes (0.80 -> 0.58 ms on the
             * 512 -> 2048 layer, at two threads 0.54 -> 0.31). Read in place, B's rows
             * are as many streams as K, too many for the hardware to follow: the first
             * panel's tiles bring the next tile's part of each row. */
            t.pf0 = t.pf1 = NULL;
            if (!buf && ic == m0 && jr + nr < nc) {
                t.pf0 = t.b + nr;
                t.pf1 = t.pf0 + 16;
                t.pfstep = t.ldb;
            } else if (narrow && ic + mr < m1) {
                t.pf0 = t.a0 + 4 * RT_GEMM_MR * kc;
                t.pfstep = RT_GEMM_MR * kc;
            } else if (jr + nr >= nc && t.a1 && !narrow && ic + 2 * RT_GEMM_MR < m1) {
                t.pf0 = t.a0 + 2 * RT_GEMM_MR * kc;
                t.pf1 = t.pf0 + RT_GEMM_MR * kc;
                t.pfstep = RT_GEMM_MR;
            }
            t.c = C + ic * ldc + jc + jr;
            t.res = last && ep && ep->res ? ep->res + ic * ldc + jc + jr : NULL;
            if (last)
                gemm_prefetch_tile(&t, kc);
#if defined(__GNUC__) && defined(__x86_64__)
            /* A last panel of 16 columns or fewer (196 = 6 x 32 + 4, Winograd's 98 tiles
             * = 3 x 32 + 2) would leave most of the 32-wide tile's lanes empty: the 16-wide
             * one takes it at half the cost, its next panels asked for up front. */
            if (!narrow && gk->isa == GEMM_AVX512 && t.nr <= 16) {
                int64_t o;
                if (t.pf0 && t.pfstep == RT_GEMM_MR)
                    for (o = 0; o < kc * RT_GEMM_MR; o += 16) {
                        __builtin_prefetch(t.pf0 + o, 0, 2);
                        __builtin_prefetch(t.pf1 + o, 0, 2);
                    }
                t.pf0 = t.pf1 = NULL;
                rt_gemm_tile16_avx512(&t);
            } else
#endif
                tile(&t);
            if (last && ep && ep->act != (RtAct)t.act) {   /* the rest, while hot */
                int i;
                for (i = 0; i < t.mr; i++)
                    gemm_act_row(gk->isa, t.c + i * ldc, t.nr, ep->act, ep->alpha, ep->beta);
            }
        }
    }
}

/* Rows m0..m1-1 and columns n0..n1-1 of C, packing B block by block. */
static void gemm_block(const GemmKernel *gk, int64_t M, int64_t K, const float *Ap,
                       const RtGemmB *B, float *C, int64_t ldc, int accumulate,
                       const RtGemmEpilogue *ep, int64_t m0, int64_t m1, int64_t n0,
                       int64_t n1, int64_t KC, int64_t NC, float *buf, float *row)
{
    int64_t jc, pc;
    int nr = gk->nr;
    for (jc = n0; jc < n1; jc += NC) {
        int64_t nc = n1 - jc < NC ? n1 - jc : NC;
        for (pc = 0; pc < K; pc += KC) {
            int64_t kc = K - pc < KC ? K - pc : KC;
            int last = pc + kc == K;
            if (gemm_reads_b(gk, M, B)) {
                gemm_rows_of_block(gk, M, Ap, B, C, ldc, accumulate, ep, m0, m1, jc, nc, pc,
                                   kc, last, NULL);
                continue;
            }
            gemm_pack_b(B, pc, kc, jc, nc, nr, buf, row);
            gemm_rows_of_block(gk, M, Ap, B, C, ldc, accumulate, ep, m0, m1, jc, nc, pc, kc,
                               last, buf);
        }
    }
}

#ifdef _OPENMP
/* The threads split the rows of C: rather than each packing every block of B, they pack
 * each block once, together (a share of its rows each), then each multiplies its rows by
 * the shared copy. 0 when the memory for it cannot be had. */
static int gemm_shared_b(const GemmKernel *gk, int64_t M, int64_t N, int64_t K,
                         const float *Ap, const RtGemmB *B, float *C, int64_t ldc,
                         int accumulate, const RtGemmEpilogue *ep, int64_t KC, int64_t NC,
                         int nt)
{
    int64_t pm = (M + gk->mr - 1) / gk->mr;
    float *raw = malloc((size_t)(KC * NC + (int64_t)nt * NC) * sizeof(float) + 64), *buf;
    if (!raw)
        return 0;
    buf = (float *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    #pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num(), nth = omp_get_num_threads();
        int64_t m0 = pm * tid / nth * gk->mr, m1 = pm * (tid + 1) / nth * gk->mr, jc, pc;
        float *row = buf + KC * NC + (int64_t)tid * NC;
        if (m1 > M)
            m1 = M;
        for (jc = 0; jc < N; jc += NC) {
            int64_t nc = N - jc < NC ? N - jc : NC;
            for (pc = 0; pc < K; pc += KC) {
                int64_t kc = K - pc < KC ? K - pc : KC;
                gemm_pack_b_rows(B, pc, kc, kc * tid / nth, kc * (tid + 1) / nth, jc, nc, gk->nr,
                                 buf, row);
                #pragma omp barrier
                if (m0 < m1)
                    gemm_rows_of_block(gk, M, Ap, B, C, ldc, accumulate, ep, m0, m1, jc, nc,
                                       pc, kc, pc + kc == K, buf);
                #pragma omp barrier     /* before the next block overwrites buf */
            }
        }
    }
    free(raw);
    return 1;
}
#endif

/* The block buffer a thread packs B into (and a row for gemm_pack_b), 64-byte aligned
 * within raw; none (NULL, and raw NULL) when B is read in place. */
static float *gemm_buffer(const GemmKernel *gk, int64_t M, const RtGemmB *B, int64_t KC,
                          int64_t NC, void **raw)
{
    *raw = gemm_reads_b(gk, M, B) ? NULL : malloc((size_t)(KC * NC + NC) * sizeof(float) + 64);
    return *raw ? (float *)(((uintptr_t)*raw + 63) & ~(uintptr_t)63) : NULL;
}

/* Task `task` of the ntm x ntn split of C, with buf from gemm_buffer (NULL when packing B
 * found no memory: then a plain loop). */
static void gemm_task(const GemmKernel *gk, int64_t M, int64_t N, int64_t K, const float *Ap,
                      const RtGemmB *B, float *C, int64_t ldc, int accumulate,
                      const RtGemmEpilogue *ep, int64_t KC, int64_t NC, int64_t ntm,
                      int64_t ntn, int64_t task, float *buf)
{
    int64_t pm = (M + gk->mr - 1) / gk->mr, pn = (N + gk->nr - 1) / gk->nr;
    int64_t ti = task / ntn, tj = task % ntn;
    int64_t m0 = pm * ti / ntm * gk->mr, m1 = pm * (ti + 1) / ntm * gk->mr;
    int64_t n0 = pn * tj / ntn * gk->nr, n1 = pn * (tj + 1) / ntn * gk->nr;
    if (m1 > M)
        m1 = M;
    if (n1 > N)
        n1 = N;
    if (m0 >= m1 || n0 >= n1)
        return;
    if (buf || gemm_reads_b(gk, M, B)) {
        gemm_block(gk, M, K, Ap, B, C, ldc, accumulate, ep, m0, m1, n0, n1, KC, NC, buf,
                   buf ? buf + KC * NC : NULL);
    } else {                    /* out of memory: unblocked and slow, right */
        int64_t i, j, k;
        for (i = m0; i < m1; i++)
            for (j = n0; j < n1; j++) {
                float v = accumulate ? C[i * ldc + j] : 0.0f, col = 0.0f;
                for (k = 0; k < K; k++) {
                    if (B->kh)
                        gemm_im2col_row(B, k, j, 1, &col, GEMM_SCALAR);
                    else
                        col = B->x[k * B->ldb + j];
                    if (B->scale) {
                        int64_t c = B->kh ? k / (B->kh * B->kw) : k;
                        gemm_scale_row(&col, 1, B->scale[c],
                                       B->shift ? B->shift[c] : 0.0f, B->pre_act, &col);
                    }
                    v += Ap[gemm_a_at(M, K, i, k)] * col;
                }
                if (ep) {
                    v += ep->bias ? ep->bias[i] : 0.0f;
                    v += ep->res ? ep->res[i * ldc + j] : 0.0f;
                    v = rt_act(ep->act, v, ep->alpha, ep->beta);
                }
                C[i * ldc + j] = v;
            }
    }
}

RT_API void rt_gemm_packed(int64_t M, int64_t N, int64_t K, const float *Ap, const RtGemmB *B,
                           float *C, int64_t ldc, int accumulate, const RtGemmEpilogue *ep)
{
    GemmKernel gk = gemm_kernel();
    int64_t KC, NC, pm, pn, ntm, ntn, next = 0;
    int nt = 1, tm = 1, tn = 1;
    if (M <= 0 || N <= 0)
        return;
    KC = gemm_kc(K);
    if (KC < 1)
        KC = 1;
    NC = 131072 / KC / gk.nr * gk.nr;           /* a 512 KiB block of B */
    if (NC < gk.nr)
        NC = gk.nr;
    pm = (M + gk.mr - 1) / gk.mr;
    pn = (N + gk.nr - 1) / gk.nr;
#ifdef _OPENMP
    if (M * N * K >= 200000 && !omp_in_parallel())
        nt = omp_get_max_threads();
#endif
    if (nt > 1)
        gemm_split(pm, pn, N, gk.nr, nt, &tm, &tn);
    /* About four tasks a thread along the split, handed out as threads come free: on a
     * shared machine a thread that loses its core leaves its work to the others. */
    ntm = tm > 1 ? (pm < 4 * tm ? pm : 4 * tm) : 1;
    ntn = tn > 1 ? (pn < 4 * tn ? pn : 4 * tn) : 1;
    if (NC > (pn + ntn - 1) / ntn * gk.nr)
        NC = (pn + ntn - 1) / ntn * gk.nr;
#ifdef _OPENMP
    if (tm > 1 && !gemm_reads_b(&gk, M, B) &&
        gemm_shared_b(&gk, M, N, K, Ap, B, C, ldc, accumulate, ep, KC, NC, nt))
        return;
#endif
    if (nt == 1) {      /* no parallel region: nested in another (Winograd's products),
                         * libomp's serialized one costs more than the product */
        void *raw;
        float *buf = gemm_buffer(&gk, M, B, KC, NC, &raw);
        gemm_task(&gk, M, N, K, Ap, B, C, ldc, accumulate, ep, KC, NC, 1, 1, 0, buf);
        free(raw);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        void *raw;
        float *buf = gemm_buffer(&gk, M, B, KC, NC, &raw);
        int64_t task;
        while ((task = rt_claim(&next, 1)) < ntm * ntn)
            gemm_task(&gk, M, N, K, Ap, B, C, ldc, accumulate, ep, KC, NC, ntm, ntn, task, buf);
        free(raw);
    }
}

/* A handful of rows: each row of C is a vector-matrix product that reads B once, which
 * packing would only slow down. Threads split the columns. */
static void gemm_rows(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                      const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate)
{
    int64_t nblk = (N + 255) / 256, jb;
    int isa = gemm_isa();
    #pragma omp parallel for if (M * N * K >= 200000) schedule(static)
    for (jb = 0; jb < nblk; jb++) {
        int64_t j0 = jb * 256, n = N - j0 < 256 ? N - j0 : 256, i, k, j;
        for (i = 0; i < M; i++) {
            float *c = C + i * ldc + j0;
            const float *a = A + i * lda;
#if defined(__GNUC__) && defined(__x86_64__)
            if (isa == GEMM_AVX512) {
                rt_gemm_row_avx512(K, n, a, B + j0, ldb, c, accumulate);
                continue;
            }
#endif
            (void)isa;
            if (!accumulate)
                memset(c, 0, (size_t)n * sizeof(float));
            for (k = 0; k < K; k++) {
                const float *b = B + k * ldb + j0;
                float ak = a[k];
                for (j = 0; j < n; j++)
                    c[j] += ak * b[j];
            }
        }
    }
}

/* C[M,N] (+)= A[M,K] * B[K,N], all row-major with leading dimensions. */
RT_API void rt_sgemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                     const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate)
{
    float *ap;
    if (M <= 0 || N <= 0)
        return;
    if (M <= 4 || K <= 0) {
        gemm_rows(M, N, K > 0 ? K : 0, A, lda, B, ldb, C, ldc, accumulate);
        return;
    }
    ap = malloc(rt_gemm_packed_a_size(M, K) * sizeof(float));
    if (ap) {
        RtGemmB b;
        memset(&b, 0, sizeof b);
        b.x = B;
        b.ldb = ldb;
        rt_gemm_pack_a(M, K, A, lda, ap);
        rt_gemm_packed(M, N, K, ap, &b, C, ldc, accumulate, NULL);
        free(ap);
    } else {
        gemm_rows(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    }
}

/* Y[M,N] = A[M,K] B[N,K]^T for a few rows of A: each row of B, streamed once from memory,
 * meets every row of A while it is in cache. Threads split the rows of B. */
static void gemm_dots(int64_t M, int64_t N, int64_t K, const float *a, const float *b,
                      float *y)
{
    int64_t j;
    int avx512 = gemm_isa() == GEMM_AVX512;
    #pragma omp parallel for if (M * N * K >= 200000) schedule(static)
    for (j = 0; j < N; j++) {
        const float *bj = b + j * K;
        int64_t i, k;
        for (i = 0; i < M; i++) {
            float s = 0.0f;
#if defined(__GNUC__) && defined(__x86_64__)
            if (avx512) {
                y[i * N + j] = rt_dot_avx512(K, a + i * K, bj);
                continue;
            }
#endif
            for (k = 0; k < K; k++)
                s += a[i * K + k] * bj[k];
            y[i * N + j] = s;
        }
    }
    (void)avx512;
}

/* Y = alpha * op(A) * op(B) + beta * C, then the activation.
 * t: y a b c(or NULL); p: M N K transA transB cmode act; f: alpha beta act_alpha act_beta
 * cmode says how C broadcasts: 0 none, 1 scalar, 2 row vector [N], 3 column [M,1], 4 [M,N]. */
RT_API void rt_gemm_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *a = t[1], *b = t[2], *c = t[3];
    int64_t M = p[0], N = p[1], K = p[2], i, j;
    int ta = (int)p[3], tb = (int)p[4], cmode = (int)p[5];
    float alpha = f[0], beta = f[1];
    if (!ta && !tb) {
        rt_sgemm(M, N, K, a, K, b, N, y, N, 0);
    } else if (!ta && M <= 4) {
        gemm_dots(M, N, K, a, b, y);
    } else {
        /* Transposed operands that were not constants to pre-transpose: strided dots. */
        int64_t sai = ta ? 1 : K, sak = ta ? M : 1, sbk = tb ? 1 : N, sbj = tb ? K : 1;
        #pragma omp parallel for if (M * N * K > 262144) schedule(static)
        for (i = 0; i < M; i++) {
            for (j = 0; j < N; j++) {
                float s = 0.0f;
                int64_t k;
                for (k = 0; k < K; k++)
                    s += a[i * sai + k * sak] * b[k * sbk + j * sbj];
                y[i * N + j] = s;
            }
        }
    }
    for (i = 0; i < M; i++) {
        float *yr = y + i * N;
        for (j = 0; j < N; j++) {
            float cv = 0.0f;
            switch (cmode) {
            case 1: cv = c[0]; break;
            case 2: cv = c[j]; break;
            case 3: cv = c[i]; break;
            case 4: cv = c[i * N + j]; break;
            default: break;
            }
            yr[j] = alpha * yr[j] + beta * cv;
        }
        rt_act_inplace(yr, (size_t)N, (RtAct)p[6], f[2], f[3]);
    }
}

/* Batched matrix product with broadcasting over up to 4 batch axes.
 * t: y a b; p: M N K nbatch bdims[4] astride[4] bstride[4] (batch strides in elements,
 * 0 where an operand is broadcast). */
RT_API void rt_matmul_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *a = t[1], *b = t[2];
    int64_t M = p[0], N = p[1], K = p[2], nb = p[3], total = 1, bi;
    const int64_t *bd = p + 4, *as = p + 8, *bs = p + 12;
    int d;
    (void)f;
    for (d = 0; d < nb; d++)
        total *= bd[d];
    for (bi = 0; bi < total; bi++) {
        int64_t rem = bi, aoff = 0, boff = 0;
        for (d = (int)nb - 1; d >= 0; d--) {
            int64_t idx = rem % bd[d];
            rem /= bd[d];
            aoff += idx * as[d];
            boff += idx * bs[d];
        }
        rt_sgemm(M, N, K, a + aoff, K, b + boff, N, y + bi * M * N, N, 0);
    }
}
