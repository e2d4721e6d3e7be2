/* exec_u8.c - running a plan by its 8-bit lane: decoder rows to 8-bit result rows, by bands.
 *
 * The input's 8-bit rows are decoded into a ring of padded rows (border
 * columns filled once per row), each band of output rows is made from the
 * rows it reads (split over the threads, each output row by the same
 * instructions whoever makes it), then handed to the sink.  The ring holds
 * a band and twice the kernel's height: the rows a band reads lie within
 * kh rows of it (a reflecting border reads back at most kh - 1 rows), and
 * rows are read at most kh rows ahead of the band.  From two threads on,
 * the input is decoded on a thread of its own, up to a band further ahead
 * (the ring holds one band more), and the other threads make the bands.
 */
#include "conv_u8.h"
#include "nn.h"
#include "plan.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Read ahead in steps of this many rows at most. */
#define READ_STEP 16
#define MAX_THREADS 64

typedef struct lane {
    const cnf_u8_conv *c;
    int h, cap;
    size_t padded, stride;
    unsigned char *ring, *out;
    cnf__pool *pool; /* the threads that make a band, kept for every band */
    int parts;
} lane;

/* One band's split over the pool: part t makes rows y0 + t * per on. */
typedef struct band_job {
    const lane *ln;
    int y0, y1, per;
} band_job;

/* Output rows [y0, y1) of the band starting at base. */
static void lane_rows(const lane *ln, int y0, int y1, int base)
{
    const cnf_u8_conv *c = ln->c;
    int kh = cnf__u8_conv_kh(c), top = cnf__u8_conv_top(c);
    cnf_border border = cnf__u8_conv_border(c);
    const unsigned char *rows[5];
    for (int y = y0; y < y1; y++) {
        for (int i = 0; i < kh; i++) {
            int r = cnf__border_index(border, y - top + i, ln->h);
            rows[i] = r < 0 ? cnf__u8_conv_zero_row(c)
                            : ln->ring + (size_t)(r % ln->cap) * ln->padded;
        }
        cnf__u8_conv_row(c, rows, ln->out + (size_t)(y - base) * ln->stride);
    }
}

static void band_part(void *ctx, int t)
{
    const band_job *b = ctx;
    int a = b->y0 + t * b->per, e = a + b->per;
    lane_rows(b->ln, a < b->y1 ? a : b->y1, e < b->y1 ? e : b->y1, b->y0);
}

/* Output rows [y0, y1) into ln->out, split over the lane's pool. */
static void lane_band(const lane *ln, int y0, int y1)
{
    int n = ln->parts < y1 - y0 ? ln->parts : y1 - y0;
    band_job b;
    if (n < 1)
        n = 1;
    b.ln = ln;
    b.y0 = y0;
    b.y1 = y1;
    b.per = (y1 - y0 + n - 1) / n;
    cnf__pool_run(ln->pool, n, band_part, &b);
}

/* The decoder thread's side: rows [0, have) are decoded; it may fill the
 * slot of row y once y - cap < low (the band being made no longer needs
 * the row there). */
typedef struct ahead {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int have, low, stop;
    cnf_status st;
    cnf_error err;
    cnf_reader *r;
    const lane *ln;
    size_t at;
} ahead;

/* Decode rows into the ring as their slots come free, until the last row,
 * an error or stop. */
static void *decode_ahead(void *arg)
{
    ahead *a = arg;
    const lane *ln = a->ln;
    int have = 0;
    while (have < ln->h) {
        unsigned char *rows[READ_STEP];
        cnf_error err;
        cnf_status st;
        int n, stop;
        pthread_mutex_lock(&a->mu);
        while (!a->stop && have >= a->low + ln->cap)
            pthread_cond_wait(&a->cv, &a->mu);
        n = a->low + ln->cap - have;
        stop = a->stop;
        pthread_mutex_unlock(&a->mu);
        if (stop)
            break;
        n = n < READ_STEP ? n : READ_STEP;
        n = n < ln->h - have ? n : ln->h - have;
        for (int i = 0; i < n; i++)
            rows[i] = ln->ring + (size_t)((have + i) % ln->cap) * ln->padded + a->at;
        memset(&err, 0, sizeof err);
        st = cnf_reader_rows_u8(a->r, n, rows, &err);
        for (int i = 0; st == CNF_OK && i < n; i++)
            cnf__u8_conv_pad(ln->c, rows[i] - a->at);
        pthread_mutex_lock(&a->mu);
        if (st) {
            a->st = st;
            a->err = err;
            a->stop = 1;
        } else {
            a->have = have + n;
        }
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
        if (st)
            break;
        have += n;
    }
    return NULL;
}

/* With a decoder thread: the bands as its rows arrive, on the lane's pool. */
static cnf_status stream_ahead(const lane *ln, cnf_reader *r, size_t at, int band, int kh,
                               cnf_u8_row_sink sink, void *sink_ctx,
                               cnf_error *err)
{
    ahead a;
    cnf_status st = CNF_OK;
    memset(&a, 0, sizeof a);
    a.r = r;
    a.ln = ln;
    a.at = at;
    pthread_mutex_init(&a.mu, NULL);
    pthread_cond_init(&a.cv, NULL);
    if (pthread_create(&a.tid, NULL, decode_ahead, &a) != 0) {
        pthread_cond_destroy(&a.cv);
        pthread_mutex_destroy(&a.mu);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "cannot start a decoding thread");
    }
    for (int y0 = 0; st == CNF_OK && y0 < ln->h; y0 += band) {
        int y1 = y0 + band < ln->h ? y0 + band : ln->h;
        int need = y1 + kh < ln->h ? y1 + kh : ln->h;
        pthread_mutex_lock(&a.mu);
        a.low = y0 - kh > 0 ? y0 - kh : 0;
        pthread_cond_broadcast(&a.cv);
        while (a.have < need && !a.stop)
            pthread_cond_wait(&a.cv, &a.mu);
        if (a.st) {
            st = a.st;
            if (err)
                *err = a.err;
        }
        pthread_mutex_unlock(&a.mu);
        if (st == CNF_OK) {
            lane_band(ln, y0, y1);
            st = sink(sink_ctx, y0, y1, ln->out, ln->stride, err);
        }
    }
    pthread_mutex_lock(&a.mu);
    a.stop = 1;
    pthread_cond_broadcast(&a.cv);
    pthread_mutex_unlock(&a.mu);
    pthread_join(a.tid, NULL);
    pthread_cond_destroy(&a.cv);
    pthread_mutex_destroy(&a.mu);
    return st;
}

cnf_status cnf_plan_stream_u8(const cnf_plan *p, cnf_map_mode map, cnf_reader *r, int threads,
                              cnf_u8_row_sink sink, void *sink_ctx, cnf_error *err)
{
    const cnf_u8_conv *c = cnf_plan_u8_conv(p, map);
    lane ln;
    int w, h, ch, a, band, kh, have = 0;
    size_t at;
    cnf_status st = CNF_OK;
    if (!c || p->dry || !cnf_reader_u8(r) || cnf__u8_conv_border(c) == CNF_BORDER_WRAP)
        return cnf__fail(err, CNF_E_USAGE, NULL, "this plan or input has no 8-bit lane");
    cnf_reader_shape(r, &w, &h, &ch, &a);
    if (w != p->in.w || h != p->in.h || ch != p->in.c || a != p->in.alpha)
        return cnf__fail(err, CNF_E_USAGE, NULL, "the input is %dx%d, the plan's %dx%d", w, h,
                         p->in.w, p->in.h);
    kh = cnf__u8_conv_kh(c);
    band = p->band_rows > 0 ? p->band_rows : 32;
    if (band > h)
        band = h;
    threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    memset(&ln, 0, sizeof ln);
    ln.c = c;
    ln.h = h;
    /* a band more for the decoder thread to run ahead into */
    ln.cap = (threads > 1 ? 2 * band : band) + 2 * kh;
    ln.padded = cnf__u8_conv_padded(c);
    ln.stride = (size_t)w * (size_t)ch;
    at = cnf__u8_conv_row_at(c);
    ln.ring = malloc((size_t)ln.cap * ln.padded);
    ln.out = malloc((size_t)band * ln.stride);
    /* With a decoder thread, the other threads make the bands. */
    ln.parts = threads > 1 ? threads - 1 : 1;
    if (!ln.ring || !ln.out)
        st = cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    else
        st = cnf__pool_new(ln.parts, &ln.pool, err);
    if (st == CNF_OK && threads > 1)
        st = stream_ahead(&ln, r, at, band, kh, sink, sink_ctx, err);
    for (int y0 = 0; st == CNF_OK && threads == 1 && y0 < h; y0 += band) {
        int y1 = y0 + band < h ? y0 + band : h;
        int need = y1 + kh < h ? y1 + kh : h;
        while (st == CNF_OK && have < need) {
            unsigned char *rows[READ_STEP];
            int n = need - have < READ_STEP ? need - have : READ_STEP;
            for (int i = 0; i < n; i++)
                rows[i] = ln.ring + (size_t)((have + i) % ln.cap) * ln.padded + at;
            st = cnf_reader_rows_u8(r, n, rows, err);
            for (int i = 0; st == CNF_OK && i < n; i++)
                cnf__u8_conv_pad(c, rows[i] - at);
            have += n;
        }
        if (st == CNF_OK) {
            lane_band(&ln, y0, y1);
            st = sink(sink_ctx, y0, y1, ln.out, ln.stride, err);
        }
    }
    cnf__pool_free(ln.pool);
    free(ln.ring);
    free(ln.out);
    return st;
}
