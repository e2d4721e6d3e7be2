/* test_stream.h - running a plan streamed and whole in unit tests: a seeded generator, a
 * synthetic reader that refills in odd chunks, a sink that collects rows, and the check that
 * every run (whole, streamed, any thread count, decode-ahead or not) gives the same bits.
 * Include after defining THREADS[] and N_THREADS (the thread counts to try). */
#ifndef CNF_TEST_STREAM_H
#define CNF_TEST_STREAM_H

#include "test_util.h"

#include "../../src/lib/plan.h"

#include <stdint.h>

static uint32_t rng_state = 2463534242u;
static inline uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}
static inline int rnd_in(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }

/* ------------------------------------------------------- a synthetic reader
 *
 * Rows come from an image in memory through a staging buffer refilled
 * `chunk` rows at a time (an odd count, as a decoder with its own unit of
 * work would), so the rows the executor asks for straddle the refills. */
typedef struct feed {
    cnf_reader r;
    const cnf_image *src;
    int chunk;
    float *stage;          /* chunk rows of every plane */
    int stage_y0, stage_n; /* rows [stage_y0, stage_y0 + stage_n) are staged */
    int pos;               /* rows handed out so far */
    int fail_row;          /* -1, or the row whose decoding fails */
    int fail_finish;       /* 1: the checks after the last row fail */
    int finished;
    int misuse;            /* rows asked out of order, twice, past the end, after finish */
} feed;

static inline void refill(feed *f, int y)
{
    const cnf_image *s = f->src;
    f->stage_y0 = y;
    f->stage_n = s->height - y < f->chunk ? s->height - y : f->chunk;
    for (int p = 0; p < s->channels; p++)
        memcpy(f->stage + (size_t)p * f->chunk * s->width,
               cnf_image_plane(s, p) + (size_t)y * s->width,
               sizeof(float) * (size_t)f->stage_n * s->width);
}

static inline cnf_status feed_rows(cnf_reader *r, int n, float *const *rows, int planes, cnf_error *err)
{
    feed *f = r->impl;
    int w = f->src->width;
    if (r->next != f->pos || n < 1 || f->pos + n > r->h || planes != r->c || f->finished)
        f->misuse++;
    for (int i = 0; i < n && f->pos < r->h; i++, f->pos++) {
        int y = f->pos;
        if (y == f->fail_row)
            return cnf__fail(err, CNF_E_DECODE, "feed", "row %d is corrupt", y);
        if (y >= f->stage_y0 + f->stage_n)
            refill(f, y);
        for (int p = 0; p < planes; p++)
            memcpy(rows[(size_t)i * planes + p],
                   f->stage + ((size_t)p * f->chunk + (size_t)(y - f->stage_y0)) * w,
                   sizeof(float) * (size_t)w);
    }
    return CNF_OK;
}

static inline cnf_status feed_finish(cnf_reader *r, cnf_error *err)
{
    feed *f = r->impl;
    if (f->pos != r->h || f->finished)
        f->misuse++;
    f->finished = 1;
    if (f->fail_finish)
        return cnf__fail(err, CNF_E_DECODE, "feed", "trailer is corrupt");
    return CNF_OK;
}

static inline void feed_open(feed *f, const cnf_image *src, int chunk)
{
    memset(f, 0, sizeof *f);
    f->src = src;
    f->chunk = chunk;
    f->fail_row = -1;
    f->stage = malloc(sizeof(float) * (size_t)chunk * src->width * src->channels);
    if (!f->stage)
        abort();
    f->r.w = src->width;
    f->r.h = src->height;
    f->r.c = src->channels;
    f->r.alpha = src->has_alpha;
    f->r.rows = feed_rows;
    f->r.finish = feed_finish;
    f->r.impl = f;
}

static inline void feed_close(feed *f) { free(f->stage); }

/* ------------------------------------------------------------ a collecting sink */

typedef struct collect {
    cnf_image img; /* the plan's output shape */
    int next;      /* the next row expected */
    int misuse;    /* bands out of order, empty, past the end, of other planes */
    int fail_row;  /* -1, or a row: the band holding it fails */
} collect;

static inline cnf_status collect_rows(void *ctx, int y0, int y1, const float *const *rows, int planes,
                               cnf_error *err)
{
    collect *c = ctx;
    int w = c->img.width;
    if (y0 != c->next || y1 <= y0 || y1 > c->img.height || planes != c->img.channels) {
        c->misuse++;
        return CNF_OK;
    }
    if (c->fail_row >= y0 && c->fail_row < y1)
        return cnf__fail(err, CNF_E_IO, "sink", "disk full at row %d", c->fail_row);
    for (int y = y0; y < y1; y++)
        for (int p = 0; p < planes; p++)
            memcpy(cnf_image_plane(&c->img, p) + (size_t)y * w, rows[(size_t)(y - y0) * planes + p],
                   sizeof(float) * (size_t)w);
    c->next = y1;
    return CNF_OK;
}

static inline void collect_open(collect *c, const cnf_plan *p)
{
    int w, h, ch, a;
    memset(c, 0, sizeof *c);
    c->fail_row = -1;
    cnf_plan_output_shape(p, &w, &h, &ch, &a);
    if (cnf_image_alloc(&c->img, w, h, ch, a, NULL) != CNF_OK)
        abort();
}

static inline int same_image(const cnf_image *a, const cnf_image *b)
{
    return a->width == b->width && a->height == b->height && a->channels == b->channels &&
           a->has_alpha == b->has_alpha &&
           memcmp(a->data, b->data, sizeof(float) * (size_t)a->width * a->height * a->channels) ==
               0;
}

/* Stream p over src and compare with `ref` bit for bit; the reader must be
 * read in order and to its end, the sink get every row once, in order. */
static inline int stream_matches(const cnf_plan *p, const cnf_image *src, const cnf_image *ref,
                          int threads, int chunk, int whole)
{
    feed f;
    collect c;
    cnf_error e;
    int ok;
    feed_open(&f, src, chunk);
    if (whole)
        f.r.whole = *src; /* a format decoded whole at open */
    collect_open(&c, p);
    ok = cnf_plan_stream(p, &f.r, threads, collect_rows, &c, &e) == CNF_OK;
    if (!ok)
        fprintf(stderr, "stream failed: %s\n", e.msg);
    ok = ok && c.misuse == 0 && f.misuse == 0 && c.next == c.img.height;
    /* the decoder thread reads every row and the checks after them */
    if (!whole && threads > 1)
        ok = ok && f.pos == src->height && f.finished;
    ok = ok && same_image(&c.img, ref);
    cnf_image_free(&c.img);
    feed_close(&f);
    return ok;
}

/* Whole runs and streamed runs for every thread count give ref's bits. */
static inline int all_runs_match(const cnf_plan *p, const cnf_image *src)
{
    cnf_image ref, out;
    int ok = 1;
    if (cnf_plan_run(p, src, 1, &ref, NULL) != CNF_OK)
        return 0;
    for (int t = 0; t < N_THREADS; t++) {
        int chunk = 2 * rnd_in(0, 6) + 1;
        ok = ok && cnf_plan_run(p, src, THREADS[t], &out, NULL) == CNF_OK;
        ok = ok && same_image(&out, &ref);
        cnf_image_free(&out);
        ok = ok && stream_matches(p, src, &ref, THREADS[t], chunk, 0);
        ok = ok && stream_matches(p, src, &ref, THREADS[t], chunk, t == 1);
    }
    cnf_image_free(&ref);
    return ok;
}

#endif
