/* png_writer.c - a PNG written as its rows arrive, deflated in segments on several threads.
 *
 * Rows are cut into segments of a fixed number of rows (from the row size
 * alone, never from the thread count).  Each segment is filtered ("up" or
 * "average" per row, see filter_row) and deflated on its own, ending on a
 * byte boundary (a sync flush); the last one ends the stream.  The zlib
 * stream is the header, the segments in order and the Adler-32 of all the
 * filtered bytes, joined from each segment's.  So the bytes are the same
 * for any thread count, and segments compress in parallel while the caller
 * keeps adding rows.  Levels:
 *   0    stored;
 *   1    ISA-L level 1 (the fastest matcher);
 *   2    literals and runs of one byte, a Huffman code per block
 *        (deflate_rle.c): filtered images compress to about zlib level 6's
 *        size at about ISA-L's speed;
 *   3    level 2 or ISA-L level 2, whichever is smaller for the segment;
 *   4-9  zlib.
 * The matchers (1, 3, 4-9) start each segment from the previous one's last
 * 32 KiB as a preset dictionary, so little ratio is lost to the cut.
 * Only the caller's thread calls `write`, in order.
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>

#define SEGMENT_BYTES (512u << 10) /* filtered bytes per segment, about */
#define DICT_BYTES 32768u
#define IDAT_MAX (1u << 20)
#define MAX_WORKERS 64

typedef struct segment {
    int index, first, rows, ctx; /* rows [first, first + rows), ctx rows before them */
    int last;
    int state;                   /* 0 free, 1 queued, 2 working, 3 done */
    unsigned char *raw;          /* (ctx + rows) * stride raw bytes */
    size_t raw_cap;
    unsigned char *filt;         /* filtered bytes of ctx + own rows */
    size_t filt_cap;
    unsigned char *tmp;          /* one row of "average" residuals */
    size_t tmp_cap;
    unsigned char *out;          /* compressed */
    size_t out_len, out_cap;
    uint32_t adler;              /* of the own filtered bytes */
    size_t adler_len;
    cnf_status st;
} segment;

struct cnf_png_writer {
    int width, height, comp, depth, level;
    size_t stride;               /* bytes per row without the filter byte */
    size_t bpp;                  /* bytes per pixel, for the "average" filter */
    int seg_rows, ctx_rows;
    int rows_in;                 /* rows received */
    cnf_write_fn write;
    void *write_ctx;
    cnf_status st;               /* sticky */
    /* segments in flight: a ring of n_slots, oldest at `head` */
    segment *slots;
    int n_slots, head, count;
    int next_index;              /* of the segment being filled */
    segment *cur;                /* the segment being filled, or NULL */
    unsigned char *history;      /* the last ctx_rows raw rows received, a ring */
    int history_rows, history_next; /* rows held; the slot the next row goes to */
    uint32_t adler;
    int header_done;
    /* workers */
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pthread_t tid[MAX_WORKERS];
    int n_workers, quit;
};

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static int emit(cnf_png_writer *w, const void *p, size_t n)
{
    if (w->st)
        return -1;
    if (n && w->write(w->write_ctx, p, n) != 0) {
        w->st = CNF_E_IO;
        return -1;
    }
    return 0;
}

static int emit_chunk(cnf_png_writer *w, const char *type, const unsigned char *data, size_t n)
{
    unsigned char head[8], tail[4];
    uint32_t crc = crc32_gzip_refl(0, (const unsigned char *)type, 4);
    put32(head, (uint32_t)n);
    memcpy(head + 4, type, 4);
    if (n)
        crc = crc32_gzip_refl(crc, data, n);
    put32(tail, crc);
    return emit(w, head, 8) || emit(w, data, n) || emit(w, tail, 4) ? -1 : 0;
}

static int grow(unsigned char **p, size_t *cap, size_t need)
{
    unsigned char *q;
    if (need <= *cap)
        return 0;
    q = realloc(*p, need);
    if (!q)
        return -1;
    *p = q;
    *cap = need;
    return 0;
}

/* Filter one row into d (filter byte, then the residuals): "up" or
 * "average", whichever has the smaller sum of |residual| (libpng's
 * heuristic, between the two filters that measured best on photos and on
 * filter outputs here: up alone was 10 % larger on blurred images).  The
 * choice depends on the row and the one above only, so a later segment can
 * redo these bytes exactly for its dictionary. */
static void filter_row(const unsigned char *r, const unsigned char *p, size_t n, size_t bpp,
                       unsigned char *d, unsigned char *avg)
{
    unsigned long su = 0, sa = 0;
    size_t x = 0, head = bpp < n ? bpp : n;
    if (!p) {
        /* The first row: zero above, so "up" is the row itself. */
        for (; x < n; x++) {
            unsigned left = x >= bpp ? r[x - bpp] : 0;
            unsigned char u = r[x], a = (unsigned char)(r[x] - (left >> 1));
            d[1 + x] = u;
            avg[x] = a;
            su += u < 128 ? u : 256u - u;
            sa += a < 128 ? a : 256u - a;
        }
    } else {
        /* The first pixel has nothing to its left. */
        for (; x < head; x++) {
            unsigned char u = (unsigned char)(r[x] - p[x]), a = (unsigned char)(r[x] - (p[x] >> 1));
            d[1 + x] = u;
            avg[x] = a;
            su += u < 128 ? u : 256u - u;
            sa += a < 128 ? a : 256u - a;
        }
#if defined(__SSE2__)
        {
            /* 16 bytes at a time: floor((left + above) / 2) is pavgb's
             * rounded-up mean less the odd bit; |residual| as a signed byte
             * is min(v, -v) unsigned; psadbw adds them up. */
            const __m128i one = _mm_set1_epi8(1), zero = _mm_setzero_si128();
            __m128i vsu = zero, vsa = zero;
            for (; x + 16 <= n; x += 16) {
                __m128i cur = _mm_loadu_si128((const __m128i *)(const void *)(r + x));
                __m128i up = _mm_loadu_si128((const __m128i *)(const void *)(p + x));
                __m128i left = _mm_loadu_si128((const __m128i *)(const void *)(r + x - bpp));
                __m128i mean = _mm_sub_epi8(_mm_avg_epu8(left, up),
                                            _mm_and_si128(_mm_xor_si128(left, up), one));
                __m128i u = _mm_sub_epi8(cur, up), a = _mm_sub_epi8(cur, mean);
                _mm_storeu_si128((__m128i *)(void *)(d + 1 + x), u);
                _mm_storeu_si128((__m128i *)(void *)(avg + x), a);
                vsu = _mm_add_epi64(vsu, _mm_sad_epu8(_mm_min_epu8(u, _mm_sub_epi8(zero, u)), zero));
                vsa = _mm_add_epi64(vsa, _mm_sad_epu8(_mm_min_epu8(a, _mm_sub_epi8(zero, a)), zero));
            }
            su += (unsigned long)_mm_cvtsi128_si64(vsu) +
                  (unsigned long)_mm_cvtsi128_si64(_mm_unpackhi_epi64(vsu, vsu));
            sa += (unsigned long)_mm_cvtsi128_si64(vsa) +
                  (unsigned long)_mm_cvtsi128_si64(_mm_unpackhi_epi64(vsa, vsa));
        }
#endif
        for (; x < n; x++) {
            unsigned char u = (unsigned char)(r[x] - p[x]);
            unsigned char a = (unsigned char)(r[x] - (unsigned char)(((unsigned)r[x - bpp] + p[x]) >> 1));
            d[1 + x] = u;
            avg[x] = a;
            su += u < 128 ? u : 256u - u;
            sa += a < 128 ? a : 256u - a;
        }
    }
    d[0] = 2;
    if (sa < su) {
        d[0] = 3;
        memcpy(d + 1, avg, n);
    }
}

/* Filter the segment's ctx and own rows into s->filt.  Each row gets "up"
 * or "average", whichever leaves the smaller sum of |residuals|; zero above
 * the image's first row (and above a ctx row whose prior is not kept: its
 * bytes are never used). */
static cnf_status filter_segment(const cnf_png_writer *w, segment *s)
{
    size_t stride = w->stride, fs = stride + 1, total = (size_t)(s->ctx + s->rows) * fs;
    if (grow(&s->filt, &s->filt_cap, total ? total : 1))
        return CNF_E_NOMEM;
    if (grow(&s->tmp, &s->tmp_cap, stride ? stride : 1))
        return CNF_E_NOMEM;
    for (int i = 0; i < s->ctx + s->rows; i++) {
        const unsigned char *r = s->raw + (size_t)i * stride;
        filter_row(r, i == 0 ? NULL : r - stride, stride, w->bpp, s->filt + (size_t)i * fs,
                   s->tmp);
    }
    return CNF_OK;
}

/* Level 0: stored blocks; the segment ends on a block boundary. */
static void store_segment(segment *s, const unsigned char *in, size_t own)
{
    size_t pos = 0;
    do {
        size_t n = own - pos > 65535 ? 65535 : own - pos;
        int final = s->last && pos + n == own;
        unsigned char *o = s->out + s->out_len;
        o[0] = (unsigned char)final;
        o[1] = (unsigned char)(n & 255);
        o[2] = (unsigned char)(n >> 8);
        o[3] = (unsigned char)(~n & 255);
        o[4] = (unsigned char)((~n >> 8) & 255);
        memcpy(o + 5, in + pos, n);
        s->out_len += 5 + n;
        pos += n;
    } while (pos < own);
}

/* Levels 1 and 3: ISA-L, ending with a sync flush (or the final block). */
static cnf_status deflate_isal(int level, segment *s, const unsigned char *in, size_t own,
                               const unsigned char *dict, size_t dict_len)
{
    static const uint32_t lvl_buf[4] = {0, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
                                        ISAL_DEF_LVL3_DEFAULT};
    struct isal_zstream *z = malloc(sizeof *z);
    unsigned char *lb = malloc(lvl_buf[level]);
    int rc = 0;
    if (!z || !lb) {
        free(z);
        free(lb);
        return CNF_E_NOMEM;
    }
    isal_deflate_init(z);
    z->level = (uint32_t)level;
    z->level_buf = lb;
    z->level_buf_size = lvl_buf[level];
    z->gzip_flag = IGZIP_DEFLATE;
    if (dict_len)
        rc = isal_deflate_set_dict(z, (uint8_t *)(uintptr_t)dict, (uint32_t)dict_len);
    z->next_in = (uint8_t *)(uintptr_t)in;
    z->avail_in = (uint32_t)own;
    z->end_of_stream = s->last;
    z->flush = s->last ? NO_FLUSH : SYNC_FLUSH;
    while (rc == 0) {
        z->next_out = s->out + s->out_len;
        z->avail_out = (uint32_t)(s->out_cap - s->out_len);
        rc = isal_deflate(z);
        s->out_len = s->out_cap - z->avail_out;
        /* Done when the input is used and output space is left over. */
        if (rc || (z->avail_in == 0 && z->avail_out > 0))
            break;
        if (z->avail_out == 0 && grow(&s->out, &s->out_cap, s->out_cap * 2)) {
            rc = -1;
            break;
        }
    }
    free(lb);
    free(z);
    return rc ? CNF_E_NOMEM : CNF_OK;
}

/* Levels 4-9: zlib, ending with a sync flush (or Z_FINISH). */
static cnf_status deflate_zlib(int level, segment *s, const unsigned char *in, size_t own,
                               const unsigned char *dict, size_t dict_len)
{
    z_stream z;
    int rc;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return CNF_E_NOMEM;
    if (dict_len)
        deflateSetDictionary(&z, dict, (uInt)dict_len);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)own;
    do {
        if (s->out_cap - s->out_len < 64 && grow(&s->out, &s->out_cap, s->out_cap * 2)) {
            deflateEnd(&z);
            return CNF_E_NOMEM;
        }
        z.next_out = s->out + s->out_len;
        z.avail_out = (uInt)(s->out_cap - s->out_len);
        rc = deflate(&z, s->last ? Z_FINISH : Z_SYNC_FLUSH);
        s->out_len = s->out_cap - z.avail_out;
    } while (s->last ? rc == Z_OK : z.avail_out == 0);
    deflateEnd(&z);
    if (rc != Z_STREAM_END && rc != Z_OK && rc != Z_BUF_ERROR)
        return CNF_E_NOMEM;
    return CNF_OK;
}

/* Filter, deflate, checksum one segment (any thread). */
static cnf_status compress_segment(const cnf_png_writer *w, segment *s)
{
    size_t fs = w->stride + 1, own = (size_t)s->rows * fs, dict_len = 0;
    const unsigned char *dict = NULL, *in;
    cnf_status st = filter_segment(w, s);
    if (st)
        return st;
    /* The dictionary: filtered ctx rows, except the first (whose filtering
     * needed a row not kept), at most 32 KiB. */
    if (s->ctx > 1) {
        dict_len = (size_t)(s->ctx - 1) * fs;
        if (dict_len > DICT_BYTES)
            dict_len = DICT_BYTES;
        dict = s->filt + (size_t)s->ctx * fs - dict_len;
    }
    in = s->filt + (size_t)s->ctx * fs;
    s->adler = isal_adler32(1, in, own);
    s->adler_len = own;
    if (grow(&s->out, &s->out_cap, own + own / 8 + 4096 + 5 * (own / 65535 + 1)) ||
        grow(&s->out, &s->out_cap, cnf__rle_deflate_bound(own)))
        return CNF_E_NOMEM;
    s->out_len = 0;
    if (w->level == 0) {
        store_segment(s, in, own);
        return CNF_OK;
    }
    if (w->level == 1)
        return deflate_isal(1, s, in, own, dict, dict_len);
    if (w->level <= 3) {
        size_t n = cnf__rle_deflate(in, own, s->last, s->out);
        if (!n && own)
            return CNF_E_NOMEM;
        s->out_len = n;
        if (w->level == 3) {
            /* Try ISA-L level 2 after it; keep the smaller. */
            unsigned char *keep = s->out;
            size_t keep_cap = s->out_cap;
            cnf_status st2;
            s->out = NULL;
            s->out_cap = 0;
            s->out_len = 0;
            st2 = grow(&s->out, &s->out_cap, keep_cap) ? CNF_E_NOMEM
                                                       : deflate_isal(2, s, in, own, dict, dict_len);
            if (st2 || s->out_len >= n) {
                free(s->out);
                s->out = keep;
                s->out_cap = keep_cap;
                s->out_len = n;
                return CNF_OK; /* level 2's bytes stand if ISA-L had no memory */
            }
            free(keep);
        }
        return CNF_OK;
    }
    return deflate_zlib(w->level, s, in, own, dict, dict_len);
}

static void *worker(void *arg)
{
    cnf_png_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        segment *s = NULL;
        for (int i = 0; i < w->count && !s; i++) {
            segment *c = &w->slots[(w->head + i) % w->n_slots];
            if (c->state == 1)
                s = c;
        }
        if (!s) {
            if (w->quit)
                break;
            pthread_cond_wait(&w->work, &w->mu);
            continue;
        }
        s->state = 2;
        pthread_mutex_unlock(&w->mu);
        s->st = compress_segment(w, s);
        pthread_mutex_lock(&w->mu);
        s->state = 3;
        pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Write the oldest segment (done) and free its slot.  Caller holds no lock. */
static void write_oldest(cnf_png_writer *w)
{
    segment *s = &w->slots[w->head];
    if (s->st && !w->st)
        w->st = s->st;
    if (!w->st) {
        w->adler = s->index == 0 ? s->adler
                                 : (uint32_t)adler32_combine(w->adler, s->adler,
                                                             (z_off_t)s->adler_len);
        if (s->last) {
            /* The zlib trailer goes into the last IDAT. */
            if (grow(&s->out, &s->out_cap, s->out_len + 4)) {
                w->st = CNF_E_NOMEM;
            } else {
                put32(s->out + s->out_len, w->adler);
                s->out_len += 4;
            }
        }
        for (size_t pos = 0; !w->st && pos < s->out_len;) {
            size_t n = s->out_len - pos > IDAT_MAX ? IDAT_MAX : s->out_len - pos;
            if (!w->header_done) {
                /* The zlib header leads the first IDAT. */
                unsigned char *tmp = malloc(n + 2);
                int flevel = w->level <= 1 ? 0 : w->level <= 5 ? 1 : w->level == 6 ? 2 : 3;
                unsigned cmf = 0x78, flg = (unsigned)flevel << 6;
                flg += 31 - (cmf * 256 + flg) % 31;
                if (!tmp) {
                    w->st = CNF_E_NOMEM;
                    break;
                }
                tmp[0] = (unsigned char)cmf;
                tmp[1] = (unsigned char)flg;
                memcpy(tmp + 2, s->out, n);
                emit_chunk(w, "IDAT", tmp, n + 2);
                free(tmp);
                w->header_done = 1;
            } else {
                emit_chunk(w, "IDAT", s->out + pos, n);
            }
            pos += n;
        }
    }
    pthread_mutex_lock(&w->mu);
    s->state = 0;
    w->head = (w->head + 1) % w->n_slots;
    w->count--;
    pthread_mutex_unlock(&w->mu);
}

/* Wait for the oldest segment, then write it. */
static void drain_oldest(cnf_png_writer *w)
{
    segment *s = &w->slots[w->head];
    if (w->n_workers == 0) {
        if (s->state == 1) {
            s->st = compress_segment(w, s);
            s->state = 3;
        }
    } else {
        pthread_mutex_lock(&w->mu);
        while (s->state != 3)
            pthread_cond_wait(&w->done, &w->mu);
        pthread_mutex_unlock(&w->mu);
    }
    write_oldest(w);
}

/* The segment being filled: the newest slot (allocated on demand). */
static segment *filling(cnf_png_writer *w)
{
    segment *s;
    if (w->cur)
        return w->cur; /* only this thread touches the segment being filled */
    while (w->count == w->n_slots)
        drain_oldest(w);
    s = &w->slots[(w->head + w->count) % w->n_slots];
    pthread_mutex_lock(&w->mu);
    w->count++;
    s->state = 4; /* being filled: workers leave it alone */
    pthread_mutex_unlock(&w->mu);
    w->cur = s;
    s->index = w->next_index++;
    s->first = w->rows_in;
    s->rows = 0;
    s->ctx = w->history_rows;
    s->last = 0;
    s->st = CNF_OK;
    if (grow(&s->raw, &s->raw_cap, (size_t)(w->ctx_rows + w->seg_rows) * w->stride)) {
        w->st = CNF_E_NOMEM;
        return NULL;
    }
    /* The context rows in order: the oldest is at history_next once full. */
    {
        int first = w->history_rows < w->ctx_rows ? 0 : w->history_next;
        int tail = w->history_rows - first;
        memcpy(s->raw, w->history + (size_t)first * w->stride, (size_t)tail * w->stride);
        memcpy(s->raw + (size_t)tail * w->stride, w->history, (size_t)first * w->stride);
    }
    return s;
}

static void submit(cnf_png_writer *w, segment *s)
{
    w->cur = NULL;
    pthread_mutex_lock(&w->mu);
    s->state = 1;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    /* Write whatever is ready at the front; compress inline with no workers. */
    while (w->count > 0 && !w->st) {
        segment *o = &w->slots[w->head];
        int ready;
        if (w->n_workers == 0) {
            ready = o->state == 1;
        } else {
            pthread_mutex_lock(&w->mu);
            ready = o->state == 3;
            pthread_mutex_unlock(&w->mu);
        }
        if (!ready)
            break;
        drain_oldest(w);
    }
}

static int valid_keyword(const char *k)
{
    size_t n = strlen(k);
    if (n < 1 || n > 79 || k[0] == ' ' || k[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c < 32 || (c > 126 && c < 161) || (c == ' ' && k[i + 1] == ' '))
            return 0;
    }
    return 1;
}

cnf_status cnf_png_writer_open(cnf_png_writer **wr, int width, int height, int comp, int depth,
                               int level, int threads, const char *const *text,
                               cnf_write_fn write, void *write_ctx, cnf_error *err)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t colour_type[5] = {0, 0, 4, 2, 6};
    cnf_png_writer *w;
    unsigned char ihdr[13];
    size_t fs;
    *wr = NULL;
    if (width < 1 || height < 1 || comp < 1 || comp > 4 || (depth != 8 && depth != 16) ||
        level > 9)
        return cnf__fail(err, CNF_E_USAGE, NULL, "bad PNG writer parameters");
    for (int i = 0; text && text[i]; i += 2)
        if (!text[i + 1] || !valid_keyword(text[i]))
            return cnf__fail(err, CNF_E_USAGE, NULL, "bad PNG text keyword");
    w = calloc(1, sizeof *w);
    if (!w)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    w->width = width;
    w->height = height;
    w->comp = comp;
    w->depth = depth;
    w->level = level < 0 ? CNF_PNG_DEFAULT_LEVEL : level;
    w->stride = (size_t)width * (size_t)comp * (size_t)(depth / 8);
    w->bpp = (size_t)comp * (size_t)(depth / 8);
    w->write = write;
    w->write_ctx = write_ctx;
    fs = w->stride + 1;
    w->seg_rows = (int)(SEGMENT_BYTES / fs) > 0 ? (int)(SEGMENT_BYTES / fs) : 1;
    /* Context rows: one for the first row's "up" filter, and the dictionary
     * of the levels that match. */
    w->ctx_rows = w->level == 2 || w->level == 0 ? 1 : (int)((DICT_BYTES + fs - 1) / fs) + 1;
    if (threads < 1)
        threads = 1;
    if (threads > MAX_WORKERS)
        threads = MAX_WORKERS;
    w->n_slots = threads > 1 ? 2 * threads : 1;
    w->slots = calloc((size_t)w->n_slots, sizeof *w->slots);
    w->history = malloc((size_t)w->ctx_rows * w->stride);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    if (!w->slots || !w->history) {
        cnf_png_writer_free(w);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    for (int i = 0; threads > 1 && i < threads; i++) {
        if (pthread_create(&w->tid[i], NULL, worker, w) != 0)
            break; /* fewer workers: the same bytes */
        w->n_workers = i + 1;
    }
    /* Signature, IHDR, tEXt. */
    put32(ihdr, (uint32_t)width);
    put32(ihdr + 4, (uint32_t)height);
    ihdr[8] = (unsigned char)depth;
    ihdr[9] = colour_type[comp];
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    if (!emit(w, sig, 8))
        emit_chunk(w, "IHDR", ihdr, 13);
    for (int i = 0; text && text[i] && !w->st; i += 2) {
        size_t kn = strlen(text[i]), tn = strlen(text[i + 1]);
        unsigned char *body = malloc(kn + 1 + tn);
        if (!body) {
            w->st = CNF_E_NOMEM;
            break;
        }
        memcpy(body, text[i], kn + 1);
        memcpy(body + kn + 1, text[i + 1], tn);
        emit_chunk(w, "tEXt", body, kn + 1 + tn);
        free(body);
    }
    if (w->st) {
        cnf_status st = w->st;
        cnf_png_writer_free(w);
        return cnf__fail(err, st, NULL, st == CNF_E_IO ? "write failed" : "out of memory");
    }
    *wr = w;
    return CNF_OK;
}

static cnf_status sticky(cnf_png_writer *w, cnf_error *err)
{
    return cnf__fail(err, w->st, NULL,
                     w->st == CNF_E_IO ? "write failed" : w->st == CNF_E_NOMEM ? "out of memory"
                                                                                : "PNG writer failed");
}

cnf_status cnf_png_writer_rows(cnf_png_writer *w, const void *rows, size_t stride_bytes, int n,
                               cnf_error *err)
{
    if (w->st)
        return sticky(w, err);
    if (n < 0 || w->rows_in + n > w->height)
        return cnf__fail(err, CNF_E_USAGE, NULL, "more rows than the PNG's height");
    for (int i = 0; i < n && !w->st; i++) {
        const unsigned char *src = (const unsigned char *)rows + (size_t)i * stride_bytes;
        segment *s = filling(w);
        unsigned char *dst;
        if (!s)
            break;
        dst = s->raw + (size_t)(s->ctx + s->rows) * w->stride;
        if (w->depth == 16) {
            const uint16_t *p = (const uint16_t *)(const void *)src;
            for (size_t k = 0; k < w->stride / 2; k++) {
                dst[2 * k] = (unsigned char)(p[k] >> 8);
                dst[2 * k + 1] = (unsigned char)(p[k] & 255);
            }
        } else {
            memcpy(dst, src, w->stride);
        }
        /* Keep the last ctx_rows rows for the next segment's context. */
        memcpy(w->history + (size_t)w->history_next * w->stride, dst, w->stride);
        w->history_next = (w->history_next + 1) % w->ctx_rows;
        if (w->history_rows < w->ctx_rows)
            w->history_rows++;
        s->rows++;
        w->rows_in++;
        if (s->rows == w->seg_rows || w->rows_in == w->height) {
            s->last = w->rows_in == w->height;
            submit(w, s);
        }
    }
    return w->st ? sticky(w, err) : CNF_OK;
}

cnf_status cnf_png_writer_finish(cnf_png_writer *w, cnf_error *err)
{
    if (w->st)
        return sticky(w, err);
    if (w->rows_in != w->height)
        return cnf__fail(err, CNF_E_USAGE, NULL, "%d of the PNG's %d rows are missing",
                         w->height - w->rows_in, w->height);
    while (w->count > 0 && !w->st)
        drain_oldest(w);
    if (!w->st)
        emit_chunk(w, "IEND", NULL, 0);
    return w->st ? sticky(w, err) : CNF_OK;
}

void cnf_png_writer_free(cnf_png_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->n_workers; i++)
        pthread_join(w->tid[i], NULL);
    for (int i = 0; w->slots && i < w->n_slots; i++) {
        free(w->slots[i].raw);
        free(w->slots[i].filt);
        free(w->slots[i].tmp);
        free(w->slots[i].out);
    }
    free(w->slots);
    free(w->history);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    free(w);
}
