/* exec.c - the executor: row buffers and rings, pull-from-the-end production, decode-ahead. */
#include "band_workers.h"
#include "plan.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Each stage's output, and the input, live in a buffer: either a whole image
 * or a ring of `cap` rows where row y sits in slot y % cap.  Running pulls
 * rows from the end: to produce a band of stage k, the executor asks stage k
 * which input rows it needs, makes buffer k-1 hold them (producing further
 * bands there first, down to the reader), then runs the band with its rows
 * split over the band workers.  A ring's capacity comes from walking all
 * the consumer's bands beforehand: the widest span between a band's last
 * needed row and the lowest row any later band still needs, plus one
 * producer band.  Rows are never recomputed and each stage computes any row
 * the same way whatever band or thread it falls in, so the pixels do not
 * depend on the thread count or on whether the rows were streamed.
 */

/* Band height.  A band costs a fixed set-up (a thread hand-off, a stage's
 * padded rows, a decoder step) besides its rows' work, so a band holds at
 * least BAND_VALUES values of the plan's widest row (the input or any
 * stage's output, width x planes) and at least BAND_MIN_ROWS rows: wide
 * images keep bands of 32 rows (from 2,048 values a row: a 16-megapixel
 * RGB photo has 13,000), a 1-pixel-wide one gets bands of 64 Ki rows
 * rather than 32, which made millions of hand-offs (281 s at -j 2 against
 * 17 s at -j 1 on 1 x 178,956,970).  The values bound a band's memory too:
 * 256 KiB of floats per buffer and band.  Measured on 1 x 20,000,000
 * (box:3, -j 2, bench/tall.py): bands of 1 Ki to 256 Ki values all took
 * 2-3 s (32 rows: 47 s), 1 Mi values 4.6 s; peak memory grew from 21 MB
 * at 1 Ki to 41 MB at 256 Ki and 99 MB at 1 Mi; -j 1 executes the same
 * instructions from 1 Ki to 64 Ki (callgrind).  64 Ki keeps the hand-offs
 * rare on a busy machine for a few MB. */
#define BAND_MIN_ROWS 32
#define BAND_VALUES (64 << 10)

typedef struct buffer {
    int w, h, planes;
    int cap;           /* slots; h for a whole image */
    int hi;            /* rows [0, hi) have been produced */
    int step;          /* rows produced per step */
    float *mem;        /* ring storage (owned), NULL for a whole image */
    float **slot;      /* slot[(row % cap) * planes + p] */
    float **view;      /* row table handed to a stage: cap * planes entries */
    float **oview;     /* row table for a band being produced: step * planes */
} buffer;

/* With two threads or more, the input is decoded on a thread of its own,
 * ahead of the stages, into the input ring: it may fill a slot once the
 * row there is below `low`, the lowest row the first stage still needs. */
typedef struct decoder {
    pthread_t tid;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int hi, low, stop;
    cnf_status st;
    cnf_error err;
    float **tab;
    int *smin; /* per band of the first stage: the lowest row it or any later band needs */
} decoder;

typedef struct exec {
    const cnf_plan *p;
    cnf_reader *reader;
    decoder dec;
    cnf_row_sink sink;
    void *sink_ctx;
    buffer buf[CNF__MAX_STAGES + 1]; /* buf[0]: the input; buf[k + 1]: stage k's output */
    cnf_band_workers *workers;
    cnf_error *err;
} exec;

static void buffer_free(buffer *b)
{
    free(b->mem);
    free(b->slot);
    free(b->view);
    free(b->oview);
    memset(b, 0, sizeof *b);
}

/* Set up buffer b for rows of shape (w, h, planes) with `cap` slots; `img`
 * non-NULL: a whole image (cap is h and the slots are its rows). */
static cnf_status buffer_init(buffer *b, int w, int h, int planes, int cap, int step,
                              const cnf_image *img, cnf_error *err)
{
    size_t n;
    memset(b, 0, sizeof *b);
    b->w = w;
    b->h = h;
    b->planes = planes;
    b->cap = img ? h : cap < h ? cap : h;
    b->step = step < h ? step : h;
    n = (size_t)b->cap * (size_t)planes;
    b->slot = malloc(n * sizeof(float *));
    b->view = malloc(n * sizeof(float *));
    b->oview = malloc((size_t)b->step * (size_t)planes * sizeof(float *));
    if (!img) {
        size_t bytes;
        if (!cnf__mul3(n, (size_t)w, sizeof(float), &bytes))
            return cnf__fail(err, CNF_E_TOO_BIG, NULL, "row buffer too large");
        b->mem = malloc(bytes ? bytes : 1);
        cnf__huge_pages(b->mem, bytes);
    }
    if (!b->slot || !b->view || !b->oview || (!img && !b->mem)) {
        buffer_free(b);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory for row buffers");
    }
    for (int y = 0; y < b->cap; y++)
        for (int c = 0; c < planes; c++)
            b->slot[(size_t)y * planes + c] =
                img ? cnf_image_plane(img, c) + (size_t)y * (size_t)w
                    : b->mem + ((size_t)y * planes + c) * (size_t)w;
    return CNF_OK;
}

/* A band of buffer b over rows [y0, y1) using the row table `tab`. */
static cnf_band band_of(const buffer *b, float **tab, int y0, int y1)
{
    cnf_band band;
    for (int y = y0; y < y1; y++)
        for (int c = 0; c < b->planes; c++)
            tab[(size_t)(y - y0) * b->planes + c] = b->slot[(size_t)(y % b->cap) * b->planes + c];
    band.rows = tab;
    band.planes = b->planes;
    band.w = b->w;
    band.y0 = y0;
    band.y1 = y1;
    return band;
}

int cnf__band_rows(const cnf_plan *p)
{
    uint64_t widest = (uint64_t)p->in.w * (uint64_t)p->in.c;
    int tallest = p->in.h, rows;
    for (int i = 0; i < p->n_stages; i++) {
        const cnf_shape *o = &p->stages[i].out;
        uint64_t v = (uint64_t)o->w * (uint64_t)o->c;
        if (v > widest)
            widest = v;
        if (o->h > tallest)
            tallest = o->h;
    }
    if (widest < 1)
        widest = 1;
    rows = widest >= BAND_VALUES / BAND_MIN_ROWS ? BAND_MIN_ROWS
                                                  : (int)((BAND_VALUES + widest - 1) / widest);
    if (rows > tallest)
        rows = tallest > 0 ? tallest : 1;
    return rows;
}

/* Ring capacity of a stage's input so that every band of the stage finds
 * its rows (see the comment above). */
static int ring_rows(const cnf_stage *s, int step, int producer_step)
{
    int nb = (s->out.h + step - 1) / step, cap = 0, need_min = INT32_MAX;
    int *lo = malloc(sizeof(int) * (size_t)nb * 2);
    if (!lo)
        return s->in.h; /* whole: always enough */
    for (int b = 0; b < nb; b++) {
        int y0 = b * step, y1 = y0 + step < s->out.h ? y0 + step : s->out.h;
        s->ops->need(s, y0, y1, &lo[2 * b], &lo[2 * b + 1]);
    }
    for (int b = nb - 1; b >= 0; b--) {
        if (lo[2 * b + 1] > lo[2 * b] && lo[2 * b] < need_min)
            need_min = lo[2 * b];
        if (lo[2 * b + 1] > lo[2 * b] && lo[2 * b + 1] - need_min > cap)
            cap = lo[2 * b + 1] - need_min;
    }
    free(lo);
    return cap + producer_step;
}

/* The band height a run of p uses: the plan's (tests may set it), else
 * cnf__band_rows's. */
static int step_of(const cnf_plan *p)
{
    return p->band_rows > 0 ? p->band_rows : cnf__band_rows(p);
}

/* The memory a streamed run with `threads` threads needs: each stage's
 * input ring (its floats and two tables of row pointers, plus one for a
 * band), the decoder's run-ahead (4 bands of input rows more in the first
 * ring, from 2 threads), the last stage's output band with its 8-bit copy,
 * and each band part's scratch (band_workers.c: as many parts as threads,
 * at most CNF__MAX_BAND_WORKERS, each with the largest scratch any stage
 * needs for its share of a band).  (A caller holding whole images, or a
 * format decoded whole, adds those.) */
uint64_t cnf__stream_memory(const cnf_plan *p, int threads)
{
    uint64_t total = 0, scratch = 0, step = (uint64_t)step_of(p);
    int parts = threads < 1                        ? 1
                : threads > CNF__MAX_BAND_WORKERS ? CNF__MAX_BAND_WORKERS
                                                   : threads;
    for (int i = 0; i < p->n_stages; i++) {
        const cnf_stage *s = &p->stages[i];
        uint64_t sc = s->ops->scratch(s, (int)((step + (uint64_t)parts - 1) / (uint64_t)parts));
        uint64_t rows = (uint64_t)ring_rows(s, (int)step, (int)step) +
                        (i || threads < 2 ? 0 : 4 * step);
        uint64_t planes = (uint64_t)(i ? s->in.c : p->in.c);
        if (rows > (uint64_t)s->in.h)
            rows = (uint64_t)s->in.h;
        total += rows * planes * ((uint64_t)s->in.w * sizeof(float) + 2 * sizeof(float *)) +
                 (step < rows ? step : rows) * planes * sizeof(float *);
        if (sc > scratch)
            scratch = sc;
    }
    if (p->n_stages) {
        const cnf_shape *o = &p->stages[p->n_stages - 1].out;
        uint64_t rows = (uint64_t)o->h < step ? (uint64_t)o->h : step;
        total += rows * (uint64_t)o->c *
                 ((uint64_t)o->w * (sizeof(float) + 1) + 3 * sizeof(float *));
    }
    return total + (uint64_t)parts * scratch;
}

static cnf_status produce(exec *e, int k);

/* The decode-ahead thread: fills the input ring a step at a time, waiting
 * while the step would overwrite a row the first stage still needs (one
 * at or above `low`), and runs the reader's checks after the last row. */
static void *decode_ahead(void *arg)
{
    exec *e = arg;
    buffer *b = &e->buf[0];
    decoder *d = &e->dec;
    cnf_reader *r = e->reader;
    for (int y0 = 0; y0 < b->h;) {
        int y1 = y0 + b->step < b->h ? y0 + b->step : b->h;
        cnf_band out;
        cnf_status st;
        pthread_mutex_lock(&d->mu);
        while (!d->stop && y1 - b->cap > d->low)
            pthread_cond_wait(&d->cv, &d->mu);
        if (d->stop) {
            pthread_mutex_unlock(&d->mu);
            break;
        }
        pthread_mutex_unlock(&d->mu);
        out = band_of(b, d->tab, y0, y1);
        st = cnf_reader_rows(r, y1 - y0, out.rows, b->planes, &d->err);
        pthread_mutex_lock(&d->mu);
        if (st)
            d->st = st;
        else
            d->hi = y1;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
        if (st)
            break;
        y0 = y1;
    }
    return NULL;
}

/* Wait until the decoder has rows up to `upto` (or failed). */
static cnf_status wait_decoded(exec *e, int upto)
{
    decoder *d = &e->dec;
    cnf_status st;
    pthread_mutex_lock(&d->mu);
    while (d->hi < upto && !d->st)
        pthread_cond_wait(&d->cv, &d->mu);
    st = d->st;
    if (st && e->err)
        *e->err = d->err;
    if (!st)
        e->buf[0].hi = d->hi;
    pthread_mutex_unlock(&d->mu);
    return st;
}

/* Make buffer k hold rows up to `upto`. */
static cnf_status ensure(exec *e, int k, int upto)
{
    if (k == 0 && e->dec.running)
        return e->buf[0].hi >= upto ? CNF_OK : wait_decoded(e, upto);
    while (e->buf[k].hi < upto) {
        cnf_status st = produce(e, k);
        if (st)
            return st;
    }
    return CNF_OK;
}

/* Produce the next step of buffer k: decode (k == 0) or run stage k - 1. */
static cnf_status produce(exec *e, int k)
{
    buffer *b = &e->buf[k];
    int y0 = b->hi, y1 = y0 + b->step < b->h ? y0 + b->step : b->h;
    cnf_band out = band_of(b, b->oview, y0, y1);
    cnf_status st;
    if (k == 0) {
        cnf_reader *r = e->reader;
        if ((st = cnf_reader_rows(r, y1 - y0, out.rows, b->planes, e->err)) != CNF_OK)
            return st;
    } else {
        const cnf_stage *s = &e->p->stages[k - 1];
        int lo, hi;
        cnf_band in;
        s->ops->need(s, y0, y1, &lo, &hi);
        if (k == 1 && e->dec.running) {
            /* Rows below this band's (and later bands') lowest need may go. */
            pthread_mutex_lock(&e->dec.mu);
            e->dec.low = e->dec.smin[y0 / b->step];
            pthread_cond_broadcast(&e->dec.cv);
            pthread_mutex_unlock(&e->dec.mu);
        }
        if (hi > lo && (st = ensure(e, k - 1, hi)) != CNF_OK)
            return st;
        in = band_of(&e->buf[k - 1], e->buf[k - 1].view, lo, hi > lo ? hi : lo);
        cnf__band_workers_run(e->workers, s, &in, &out, y0, y1);
    }
    b->hi = y1;
    if (k == e->p->n_stages && e->sink)
        return e->sink(e->sink_ctx, y0, y1, (const float *const *)out.rows, b->planes, e->err);
    return CNF_OK;
}

/* Start the decoder thread: smin per band of the first stage, the row table. */
static void start_decoder(exec *e)
{
    const cnf_stage *s = &e->p->stages[0];
    decoder *d = &e->dec;
    int step = e->buf[1].step, nb = (s->out.h + step - 1) / step, m = INT32_MAX;
    d->smin = malloc(sizeof(int) * (size_t)nb);
    d->tab = malloc(sizeof(float *) * (size_t)e->buf[0].step * (size_t)e->buf[0].planes);
    if (!d->smin || !d->tab)
        return; /* decode inline instead */
    for (int b = nb - 1; b >= 0; b--) {
        int y0 = b * step, y1 = y0 + step < s->out.h ? y0 + step : s->out.h, lo, hi;
        s->ops->need(s, y0, y1, &lo, &hi);
        if (hi > lo && lo < m)
            m = lo;
        d->smin[b] = m;
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    d->low = d->smin[0];
    if (pthread_create(&d->tid, NULL, decode_ahead, e) == 0) {
        d->running = 1;
    } else {
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cv);
    }
}

/* Stop and join the decoder; its error if it failed (e.g. in the checks
 * after the last row, which the stages may not have waited for). */
static cnf_status stop_decoder(exec *e, cnf_status st)
{
    decoder *d = &e->dec;
    if (d->running) {
        pthread_mutex_lock(&d->mu);
        if (st)
            d->stop = 1;
        else
            d->low = INT32_MAX; /* rows no stage needs are still decoded and checked */
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->tid, NULL);
        if (st == CNF_OK && d->st) {
            st = d->st;
            if (e->err)
                *e->err = d->err;
        }
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cv);
        d->running = 0;
    }
    free(d->smin);
    free(d->tab);
    return st;
}

/* Run the plan.  `in_img`: whole input (else the reader streams);
 * `out_img`: whole output (else the sink gets each band). */
static cnf_status execute(const cnf_plan *p, cnf_reader *r, const cnf_image *in_img,
                          cnf_image *out_img, cnf_row_sink sink, void *sink_ctx, int threads,
                          cnf_error *err)
{
    exec e;
    int n = p->n_stages, step = step_of(p);
    cnf_status st;
    memset(&e, 0, sizeof e);
    e.p = p;
    e.reader = r;
    e.sink = sink;
    e.sink_ctx = sink_ctx;
    e.err = err;
    st = cnf__band_workers_new(p->stages, p->n_stages, step, threads, &e.workers, err);
    for (int k = 0; k <= n && st == CNF_OK; k++) {
        const cnf_shape *sh = k ? &p->stages[k - 1].out : &p->in;
        int cap = step;
        const cnf_image *whole = NULL;
        if (k == 0 && in_img)
            whole = in_img;
        else if (k == n && out_img)
            whole = out_img;
        else if (k < n)
            cap = ring_rows(&p->stages[k], step, step);
        if (k == 0 && !in_img && threads > 1)
            cap += 4 * step; /* room for the decoder to run ahead */
        st = buffer_init(&e.buf[k], sh->w, sh->h, sh->c, cap, step, whole, err);
        if (st == CNF_OK && k == 0 && in_img)
            e.buf[0].hi = in_img->height;
    }
    if (st == CNF_OK && !in_img && threads > 1 && n > 0)
        start_decoder(&e);
    if (st == CNF_OK)
        st = ensure(&e, n, p->n_stages ? e.buf[n].h : 0);
    /* Input rows no stage needed (a stride or valid padding that stops
     * short of the bottom) are still decoded, so the reader's checks after
     * the last row run: a corrupt end of file fails for any thread count.
     * The decoder thread does this itself in stop_decoder(). */
    if (st == CNF_OK && !in_img && !e.dec.running)
        st = ensure(&e, 0, e.buf[0].h);
    st = stop_decoder(&e, st);
    for (int k = 0; k <= n; k++)
        buffer_free(&e.buf[k]);
    cnf__band_workers_free(e.workers);
    return st;
}

cnf_status cnf_plan_stream(const cnf_plan *p, cnf_reader *r, int threads, cnf_row_sink sink,
                           void *sink_ctx, cnf_error *err)
{
    if (r->w != p->in.w || r->h != p->in.h || r->c != p->in.c || r->alpha != p->in.alpha)
        return cnf__fail(err, CNF_E_USAGE, NULL, "image shape differs from the planned one");
    if (p->n_stages == 0)
        return cnf__fail(err, CNF_E_USAGE, NULL, "the plan has no stage");
    if (p->dry)
        return cnf__fail(err, CNF_E_USAGE, NULL, "a dry plan describes, it cannot run");
    if (r->whole.data)
        return execute(p, r, &r->whole, NULL, sink, sink_ctx, threads, err);
    return execute(p, r, NULL, NULL, sink, sink_ctx, threads, err);
}

cnf_status cnf_plan_run(const cnf_plan *p, const cnf_image *in, int threads, cnf_image *out,
                        cnf_error *err)
{
    const cnf_shape *o;
    cnf_status st;
    memset(out, 0, sizeof *out);
    if (in->width != p->in.w || in->height != p->in.h || in->channels != p->in.c ||
        in->has_alpha != p->in.alpha)
        return cnf__fail(err, CNF_E_USAGE, NULL, "image shape differs from the planned one");
    if (p->dry)
        return cnf__fail(err, CNF_E_USAGE, NULL, "a dry plan describes, it cannot run");
    if (p->n_stages == 0) {
        /* (Only an empty pipeline has no stage, and parsing refuses it.) */
        st = cnf_image_alloc(out, in->width, in->height, in->channels, in->has_alpha, err);
        if (st == CNF_OK)
            memcpy(out->data, in->data,
                   (size_t)in->width * in->height * in->channels * sizeof(float));
        return st;
    }
    o = &p->stages[p->n_stages - 1].out;
    st = cnf_image_alloc(out, o->w, o->h, o->c, o->alpha, err);
    if (st == CNF_OK)
        st = execute(p, NULL, in, out, NULL, NULL, threads, err);
    if (st)
        cnf_image_free(out);
    return st;
}
