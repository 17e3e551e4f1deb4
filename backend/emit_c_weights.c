/* The weight blob of the C backend. Embedded, it is one string literal: gcc parses a
 * string in time and memory linear in its size (about 12 bytes of memory per weight byte),
 * where an initializer list of numbers costs a tree node per element (a naive decimal
 * float list of resnet50 takes 110 s and 7 GB). Printable bytes stand for themselves and
 * the rest are three-digit octal escapes, which can never run into the next character. */
#include <string.h>
#include <unistd.h>
#include "emit_c.h"

#define LINE_BYTES 1024

/* Calls fn on the blob's bytes in order, alignment padding included. */
typedef bool (*ChunkFn)(void *ctx, const unsigned char *p, size_t n);

static void show_progress(size_t done, size_t total, bool on)
{
    if (on && total)
        fprintf(stderr, "\rcnnc: writing weights %3d%% (%zu MB)", (int)(100.0 * done / total),
                done >> 20);
}

static bool walk_blob(const Schedule *s, ChunkFn fn, void *ctx, bool progress)
{
    static const unsigned char zeros[CNNC_ALIGN];
    size_t pos = 0, next_report = 0;
    for (int i = 0; i < s->nweights; i++) {
        const Value *v = s->weights[i];
        size_t off = s->where[v->id].offset, n = value_bytes(v);
        if (!fn(ctx, zeros, off - pos) || !fn(ctx, v->data, n))
            return false;
        pos = off + n;
        if (pos >= next_report) {
            show_progress(pos, s->weight_bytes, progress);
            next_report = pos + (s->weight_bytes >> 6);
        }
    }
    if (!fn(ctx, zeros, s->weight_bytes - pos))
        return false;
    show_progress(s->weight_bytes, s->weight_bytes, progress);
    if (progress)
        fputc('\n', stderr);
    return true;
}

typedef struct {
    FILE *f;
    size_t col;
    char esc[256][5];
} LiteralWriter;

static bool literal_chunk(void *ctx, const unsigned char *p, size_t n)
{
    LiteralWriter *w = ctx;
    for (size_t i = 0; i < n; i++) {
        fputs(w->esc[p[i]], w->f);
        if (++w->col == LINE_BYTES) {
            fputs("\"\n\"", w->f);
            w->col = 0;
        }
    }
    return !ferror(w->f);
}

bool emit_weights_literal(FILE *f, const Schedule *s, bool progress)
{
    static LiteralWriter w;
    w.f = f;
    w.col = 0;
    for (int c = 0; c < 256; c++) {
        /* '?' would start trigraphs; quote and backslash need escaping anyway */
        if (c >= 32 && c < 127 && c != '"' && c != '\\' && c != '?')
            snprintf(w.esc[c], sizeof w.esc[c], "%c", c);
        else
            snprintf(w.esc[c], sizeof w.esc[c], "\\%03o", c);
    }
    fputs("\"", f);
    bool ok = walk_blob(s, literal_chunk, &w, progress);
    fputs("\"", f);
    return ok && !ferror(f);
}

/* FNV-1a, 64 bits: enough to tell a weights file from another model's or a damaged copy. */
typedef struct {
    FILE *f;
    uint64_t h;
} FileWriter;

static bool file_chunk(void *ctx, const unsigned char *p, size_t n)
{
    FileWriter *w = ctx;
    for (size_t i = 0; i < n; i++)
        w->h = (w->h ^ p[i]) * 1099511628211ull;
    return !w->f || fwrite(p, 1, n, w->f) == n;
}

bool emit_weights_file(FILE *f, const Schedule *s, uint64_t *checksum, bool progress)
{
    FileWriter w = { f, 1469598103934665603ull };
    bool ok = walk_blob(s, file_chunk, &w, progress);
    *checksum = w.h;
    return ok;
}

uint64_t weights_checksum(const Schedule *s)
{
    uint64_t h;
    emit_weights_file(NULL, s, &h, false);
    return h;
}
