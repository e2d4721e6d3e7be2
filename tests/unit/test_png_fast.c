/* test_png_fast.c - the fast PNG reader (png_fast.c) on PNGs built here: every filter, layout, IDAT split and damage. */
#include "test_util.h"

#include <stdint.h>
#include <zlib.h>

#include "../../src/lib/codec.h" /* cnf__png_fast_reader, cnf__png_decode, struct cnf_reader */

/* png_unfilter.c built twice more (tests/CMakeLists.txt): its portable
 * loops alone, and with SSE2 but not SSE4.1 (the same as the portable on
 * a machine without SSE2). */
void cnf__png_unfilter_portable(int filter, unsigned char *row, const unsigned char *prev,
                                size_t n, size_t bpp);
void cnf__png_unfilter_sse2(int filter, unsigned char *row, const unsigned char *prev, size_t n,
                            size_t bpp);
void cnf__png_unfilter2_sse2(int filter1, int filter2, unsigned char *row1, unsigned char *row2,
                             const unsigned char *prev, size_t n, size_t bpp);

/* ------------------------------------------------------- building PNGs */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put32(buf *b, uint32_t v)
{
    unsigned char q[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put(b, q, 4);
}

/* A chunk: length, type, data, CRC-32 of type and data. */
static void chunk(buf *b, const char *type, const unsigned char *data, size_t n)
{
    uLong crc = crc32(0, (const Bytef *)type, 4);
    if (n)
        crc = crc32(crc, data, (uInt)n);
    put32(b, (uint32_t)n);
    put(b, type, 4);
    if (n)
        put(b, data, n);
    put32(b, (uint32_t)crc);
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* The PNG filter `ft` of one row (prior NULL above the first row) into
 * out[0] (the filter byte) and out[1..n]. */
static void filter(int ft, const unsigned char *row, const unsigned char *prior, size_t n,
                   size_t bpp, unsigned char *out)
{
    out[0] = (unsigned char)ft;
    for (size_t x = 0; x < n; x++) {
        int a = x >= bpp ? row[x - bpp] : 0, b = prior ? prior[x] : 0;
        int c = prior && x >= bpp ? prior[x - bpp] : 0;
        int pred = ft == 1 ? a : ft == 2 ? b : ft == 3 ? (a + b) / 2 : ft == 4 ? paeth(a, b, c) : 0;
        out[1 + x] = (unsigned char)(row[x] - pred);
    }
}

typedef struct spec {
    int w, h, comp;      /* comp 1..4: gray, gray+alpha, RGB, RGBA */
    const int *filters;  /* per row, cycled; NULL: none */
    int n_filters;
    size_t idat_size;    /* bytes per IDAT chunk; 0: one chunk */
    int extra_rows;      /* rows of zeros compressed after the image */
    int bad_crc_idat;    /* 1-based IDAT whose CRC is spoiled; 0: none */
    int bad_adler;       /* spoil the zlib checksum */
    int no_iend;
    size_t cut_zlib;     /* bytes dropped from the end of the zlib stream */
} spec;

/* The PNG of `px` (interleaved rows) as `s` says. */
static buf make_png(const spec *s, const unsigned char *px)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const int colour_type[5] = {0, 0, 4, 2, 6};
    size_t stride = (size_t)s->w * (size_t)s->comp, rows = (size_t)(s->h + s->extra_rows);
    unsigned char ihdr[13] = {0};
    unsigned char *raw = calloc(rows, stride + 1), *zipped;
    uLongf zn = compressBound((uLong)(rows * (stride + 1)));
    buf b = {0};
    int idat = 0;
    zipped = malloc(zn);
    if (!raw || !zipped)
        abort();
    for (int y = 0; y < s->h; y++)
        filter(s->filters ? s->filters[y % s->n_filters] : 0, px + (size_t)y * stride,
               y ? px + (size_t)(y - 1) * stride : NULL, stride, (size_t)s->comp,
               raw + (size_t)y * (stride + 1));
    if (compress2(zipped, &zn, raw, (uLong)(rows * (stride + 1)), 6) != Z_OK)
        abort();
    if (s->bad_adler)
        zipped[zn - 1] ^= 1;
    zn -= s->cut_zlib;
    put(&b, sig, 8);
    ihdr[0] = (unsigned char)(s->w >> 24);
    ihdr[1] = (unsigned char)(s->w >> 16);
    ihdr[2] = (unsigned char)(s->w >> 8);
    ihdr[3] = (unsigned char)s->w;
    ihdr[7] = (unsigned char)s->h;
    ihdr[6] = (unsigned char)(s->h >> 8);
    ihdr[8] = 8;
    ihdr[9] = (unsigned char)colour_type[s->comp];
    chunk(&b, "IHDR", ihdr, 13);
    for (size_t pos = 0; pos < zn;) {
        size_t n = s->idat_size && s->idat_size < zn - pos ? s->idat_size : zn - pos;
        chunk(&b, "IDAT", zipped + pos, n);
        if (++idat == s->bad_crc_idat)
            b.p[b.n - 1] ^= 0x55;
        pos += n;
    }
    if (!s->no_iend)
        chunk(&b, "IEND", NULL, 0);
    free(raw);
    free(zipped);
    return b;
}

static unsigned char *random_pixels(const spec *s, uint32_t seed)
{
    size_t n = (size_t)s->w * (size_t)s->h * (size_t)s->comp;
    unsigned char *px = malloc(n);
    if (!px)
        abort();
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        /* Runs of similar values now and then, so every filter has work. */
        px[i] = (unsigned char)(i % 7 < 3 ? (seed >> 16) : (i * 3) & 0xff);
    }
    return px;
}

/* ------------------------------------------------------------ reading */

/* Read b with the fast reader alone, `step` rows per call, into *img.
 * *taken tells whether the fast reader took the file at all. */
static cnf_status fast_read(const buf *b, int step, cnf_image *img, int *taken, cnf_error *e)
{
    cnf_reader r;
    cnf_status st;
    memset(&r, 0, sizeof r);
    memset(img, 0, sizeof *img);
    memset(e, 0, sizeof *e);
    st = cnf__png_fast_reader(b->p, b->n, "f.png", CNF_DEFAULT_MAX_PIXELS, &r, e);
    *taken = r.rows != NULL;
    if (st == CNF_OK && r.rows)
        st = cnf_image_alloc(img, r.w, r.h, r.c, r.alpha, e);
    while (st == CNF_OK && r.rows && r.next < r.h) {
        float *rows[16 * 4];
        int n = r.h - r.next < step ? r.h - r.next : step;
        for (int i = 0; i < n; i++)
            for (int p = 0; p < r.c; p++)
                rows[i * r.c + p] = cnf_image_plane(img, p) + (size_t)(r.next + i) * r.w;
        st = r.rows(&r, n, rows, r.c, e);
        r.next += n;
    }
    if (st == CNF_OK && r.rows)
        st = r.finish(&r, e);
    if (r.destroy)
        r.destroy(&r);
    if (st)
        cnf_image_free(img);
    return st;
}

/* Read b with the fast reader's 8-bit rows (what the 8-bit lane takes),
 * `step` rows per call: 1 when they equal px. */
static int fast_reads_u8(const buf *b, int step, const unsigned char *px)
{
    cnf_reader r;
    cnf_error e;
    cnf_status st;
    size_t stride;
    unsigned char *got;
    int ok;
    memset(&r, 0, sizeof r);
    st = cnf__png_fast_reader(b->p, b->n, "f.png", CNF_DEFAULT_MAX_PIXELS, &r, &e);
    if (st != CNF_OK || !r.rows_u8)
        return 0;
    stride = (size_t)r.w * (size_t)r.c;
    got = malloc(stride * (size_t)r.h);
    if (!got)
        abort();
    while (st == CNF_OK && r.next < r.h) {
        unsigned char *rows[16];
        int n = r.h - r.next < step ? r.h - r.next : step;
        for (int i = 0; i < n; i++)
            rows[i] = got + (size_t)(r.next + i) * stride;
        st = r.rows_u8(&r, n, rows, &e);
        r.next += n;
    }
    if (st == CNF_OK)
        st = r.finish(&r, &e);
    if (r.destroy)
        r.destroy(&r);
    ok = st == CNF_OK && memcmp(got, px, stride * (size_t)r.h) == 0;
    free(got);
    return ok;
}

/* Interleaved 8-bit pixels as planes. */
static void planar(const unsigned char *px, int w, int h, int comp, float *out)
{
    size_t plane = (size_t)w * (size_t)h;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < comp; c++)
            out[(size_t)c * plane + i] = px[i * (size_t)comp + (size_t)c];
}

/* The fast reader takes b and gives px; libspng (cnf__png_decode) agrees. */
static int reads_back(const spec *s, const unsigned char *px, int step)
{
    buf b = make_png(s, px);
    cnf_image fast, ref;
    cnf_error e;
    int taken, ok = 1;
    float *want = malloc(sizeof(float) * (size_t)s->w * s->h * s->comp);
    planar(px, s->w, s->h, s->comp, want);
    if (fast_read(&b, step, &fast, &taken, &e) != CNF_OK || !taken) {
        fprintf(stderr, "fast reader: %s (taken %d)\n", e.msg, taken);
        ok = 0;
    } else {
        ok &= t_equal(&fast, s->w, s->h, s->comp, want);
        ok &= fast.has_alpha == (s->comp == 2 || s->comp == 4);
        cnf_image_free(&fast);
    }
    if (cnf__png_decode(b.p, b.n, "f.png", CNF_DEFAULT_MAX_PIXELS, &ref, &e) != CNF_OK) {
        fprintf(stderr, "libspng: %s\n", e.msg);
        ok = 0;
    } else {
        ok &= t_equal(&ref, s->w, s->h, s->comp, want);
        cnf_image_free(&ref);
    }
    free(want);
    free(b.p);
    return ok;
}

/* ------------------------------------------------------------- tests */

/* 3x5 gray, one filter per row, worked by hand:
 *   sub   10 5 5    -> 10 15 20
 *   paeth 1 2 3     -> 1+paeth(0,10,0)=11, 2+paeth(11,15,10)=17, 3+paeth(17,20,15)=23
 *   avg   4 6 8     -> 4+(0+11)/2=9, 6+(9+17)/2=19, 8+(19+23)/2=29
 *   up    1 1 1     -> 10 20 30
 *   none  7 8 9     -> 7 8 9 */
static void a_tiny_png_with_every_filter_gives_the_hand_computed_pixels(void)
{
    static const unsigned char raw[5][4] = {
        {1, 10, 5, 5}, {4, 1, 2, 3}, {3, 4, 6, 8}, {2, 1, 1, 1}, {0, 7, 8, 9}};
    static const float want[] = {10, 15, 20, 11, 17, 23, 9, 19, 29, 10, 20, 30, 7, 8, 9};
    unsigned char zipped[128], ihdr[13] = {0, 0, 0, 3, 0, 0, 0, 5, 8, 0, 0, 0, 0};
    uLongf zn = sizeof zipped;
    buf b = {0};
    cnf_image img;
    cnf_error e;
    int taken;
    CHECK_EQ_INT(compress2(zipped, &zn, &raw[0][0], sizeof raw, 9), Z_OK);
    put(&b, "\x89PNG\r\n\x1a\n", 8);
    chunk(&b, "IHDR", ihdr, 13);
    chunk(&b, "IDAT", zipped, zn);
    chunk(&b, "IEND", NULL, 0);
    CHECK_EQ_INT(fast_read(&b, 1, &img, &taken, &e), CNF_OK);
    CHECK_EQ_INT(taken, 1);
    CHECK(t_equal(&img, 3, 5, 1, want));
    CHECK_EQ_INT(img.has_alpha, 0);
    cnf_image_free(&img);
    CHECK_EQ_INT(cnf__png_decode(b.p, b.n, "f.png", 100, &img, &e), CNF_OK);
    CHECK(t_equal(&img, 3, 5, 1, want));
    cnf_image_free(&img);
    free(b.p);
}

static void every_filter_and_layout_matches_libspng(void)
{
    static const int all[] = {0, 1, 2, 3, 4};
    for (int comp = 1; comp <= 4; comp++)
        for (int f = 0; f <= 5; f++) {
            /* f < 5: that filter on every row; 5: all five in turn. */
            int one[1] = {f};
            spec s = {37, 11, comp, f < 5 ? one : all, f < 5 ? 1 : 5, 0, 0, 0, 0, 0, 0};
            unsigned char *px = random_pixels(&s, (uint32_t)(comp * 10 + f));
            if (!reads_back(&s, px, 1 + f % 3))
                fprintf(stderr, "comp %d filter %d\n", comp, f);
            CHECK(reads_back(&s, px, 1 + f % 3));
            free(px);
        }
}

/* Widths 1..40 (every count of pixels a vector step can leave over) for
 * each layout, one filter on every row or all five in turn, read back by
 * the fast reader and libspng. */
static void every_width_to_40_reads_back_with_every_filter(void)
{
    static const int all[] = {4, 3, 2, 1, 0};
    int bad = 0;
    for (int comp = 1; comp <= 4; comp++)
        for (int w = 1; w <= 40; w++)
            for (int f = 0; f <= 5; f++) {
                int one[1] = {f};
                spec s = {w, 6, comp, f < 5 ? one : all, f < 5 ? 1 : 5, 0, 0, 0, 0, 0, 0};
                unsigned char *px = random_pixels(&s, (uint32_t)(w * 100 + comp * 10 + f));
                if (!reads_back(&s, px, 1 + w % 4)) {
                    fprintf(stderr, "comp %d width %d filter %d\n", comp, w, f);
                    bad++;
                }
                free(px);
            }
    CHECK_EQ_INT(bad, 0);
}

/* One row by the portable loops worked by hand: RGB, 2 pixels, above
 * (10,20,30 | 200,100,0).
 *   avg   raw 1 2 3 | 4 5 6 -> 1+5=6 2+10=12 3+15=18 | 4+(6+200)/2=107 5+(12+100)/2=61 6+(18+0)/2=15
 *   paeth raw 1 2 3 | 4 5 6 -> first pixel adds b: 11 22 33; then (a, b, c) per byte:
 *         (11,200,10): p=201, pa=190 pb=1 pc=191 -> b: 4+200=204
 *         (22,100,20): p=102, pa=80 pb=2 pc=82 -> b: 5+100=105
 *         (33,0,30):   p=3, pa=30 pb=3 pc=27 -> b: 6+0=6 */
static void the_unfilter_gives_hand_computed_bytes(void)
{
    static const unsigned char above[6] = {10, 20, 30, 200, 100, 0};
    static const unsigned char want_avg[6] = {6, 12, 18, 107, 61, 15};
    static const unsigned char want_paeth[6] = {11, 22, 33, 204, 105, 6};
    unsigned char r[6] = {1, 2, 3, 4, 5, 6};
    for (int k = 0; k < 3; k++) {
        void (*fn)(int, unsigned char *, const unsigned char *, size_t, size_t) =
            k == 0 ? cnf__png_unfilter : k == 1 ? cnf__png_unfilter_portable
                                                : cnf__png_unfilter_sse2;
        memcpy(r, (const unsigned char[6]){1, 2, 3, 4, 5, 6}, 6);
        fn(3, r, above, 6, 3);
        CHECK(memcmp(r, want_avg, 6) == 0);
        memcpy(r, (const unsigned char[6]){1, 2, 3, 4, 5, 6}, 6);
        fn(4, r, above, 6, 3);
        CHECK(memcmp(r, want_paeth, 6) == 0);
    }
}

/* The SIMD unfilters (the one chosen for this CPU and the SSE2 one) give
 * the portable loops' bytes: every filter, 1..4 bytes per pixel, rows of
 * 1..70 pixels, bytes from {0, 1, 2, 127, 128, 129, 254, 255} (wraps and
 * Paeth's ties) and from 0..255, with a row of zeros above (the first row)
 * and a random one. */
static void the_simd_unfilters_agree_with_the_portable_loops(void)
{
    static const unsigned char edge[8] = {0, 1, 2, 127, 128, 129, 254, 255};
    unsigned char prev[4 * 70], raw[4 * 70], want[4 * 70], got[4 * 70], got2[4 * 70];
    uint32_t seed = 7;
    int bad = 0, runs = 0;
    for (int rep = 0; rep < 40; rep++)
        for (size_t bpp = 1; bpp <= 4; bpp++)
            for (size_t w = 1; w <= 70; w++)
                for (int ft = 0; ft <= 4; ft++) {
                    size_t n = w * bpp;
                    for (size_t i = 0; i < n; i++) {
                        seed = seed * 1103515245u + 12345u;
                        raw[i] = rep % 2 ? edge[(seed >> 16) & 7] : (unsigned char)(seed >> 16);
                        seed = seed * 1103515245u + 12345u;
                        prev[i] = rep % 4 == 3 ? 0
                                  : rep % 2 ? edge[(seed >> 16) & 7]
                                            : (unsigned char)(seed >> 16);
                    }
                    memcpy(want, raw, n);
                    memcpy(got, raw, n);
                    memcpy(got2, raw, n);
                    cnf__png_unfilter_portable(ft, want, prev, n, bpp);
                    cnf__png_unfilter(ft, got, prev, n, bpp);
                    cnf__png_unfilter_sse2(ft, got2, prev, n, bpp);
                    runs++;
                    if (memcmp(want, got, n) != 0 || memcmp(want, got2, n) != 0) {
                        if (bad++ < 5)
                            fprintf(stderr, "filter %d bpp %zu width %zu differs\n", ft, bpp, w);
                    }
                    /* filter 0 leaves the row as it is */
                    if (ft == 0 && memcmp(want, raw, n) != 0)
                        bad++;
                }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(runs, 40 * 4 * 70 * 5);
}

/* Two rows at once (cnf__png_unfilter2, paired when both are Paeth; the
 * chosen path and the SSE2 one) give what the portable loops give one row
 * after the other: every pair of filters, 1..4 bytes per pixel, rows of
 * 1..70 pixels. */
static void two_rows_unfilter_as_one_after_the_other(void)
{
    static const unsigned char edge[8] = {0, 1, 2, 127, 128, 129, 254, 255};
    unsigned char prev[4 * 70], r1[4 * 70], r2[4 * 70], w1[4 * 70], w2[4 * 70];
    unsigned char s1[4 * 70], s2[4 * 70];
    uint32_t seed = 11;
    int bad = 0;
    for (int rep = 0; rep < 6; rep++)
        for (size_t bpp = 1; bpp <= 4; bpp++)
            for (size_t w = 1; w <= 70; w++)
                for (int f1 = 0; f1 <= 4; f1++)
                    for (int f2 = 0; f2 <= 4; f2++) {
                        size_t n = w * bpp;
                        for (size_t i = 0; i < n; i++) {
                            unsigned char v[3];
                            for (int k = 0; k < 3; k++) {
                                seed = seed * 1103515245u + 12345u;
                                v[k] = rep % 2 ? edge[(seed >> 16) & 7]
                                               : (unsigned char)(seed >> 16);
                            }
                            prev[i] = rep == 4 ? 0 : v[0];
                            r1[i] = w1[i] = v[1];
                            r2[i] = w2[i] = v[2];
                        }
                        cnf__png_unfilter_portable(f1, w1, prev, n, bpp);
                        cnf__png_unfilter_portable(f2, w2, w1, n, bpp);
                        memcpy(s1, r1, n);
                        memcpy(s2, r2, n);
                        cnf__png_unfilter2(f1, f2, r1, r2, prev, n, bpp);
                        cnf__png_unfilter2_sse2(f1, f2, s1, s2, prev, n, bpp);
                        if ((memcmp(r1, w1, n) != 0 || memcmp(r2, w2, n) != 0 ||
                             memcmp(s1, w1, n) != 0 || memcmp(s2, w2, n) != 0) &&
                            bad++ < 5)
                            fprintf(stderr, "filters %d %d bpp %zu width %zu differ\n", f1, f2,
                                    bpp, w);
                    }
    CHECK_EQ_INT(bad, 0);
}

/* Runs of Paeth rows of odd and even length between other filters, read
 * 1 to 5 rows a call, as float planes and as 8-bit rows: rows are paired
 * across the runs as they come. */
static void paeth_runs_of_every_length_read_back(void)
{
    static const int runs[] = {4, 4, 4, 3, 4, 4, 1, 4, 2, 4, 4, 4, 4, 0, 4};
    for (int comp = 1; comp <= 4; comp++)
        for (int step = 1; step <= 5; step++) {
            spec s = {29, 23, comp, runs, (int)(sizeof runs / sizeof runs[0]), 0, 0, 0, 0, 0, 0};
            unsigned char *px = random_pixels(&s, (uint32_t)(comp * 7 + step));
            buf b = make_png(&s, px);
            CHECK(reads_back(&s, px, step));
            CHECK(fast_reads_u8(&b, step, px)); /* the 8-bit rows pair Paeth rows alike */
            free(b.p);
            free(px);
        }
}

static void image_data_split_into_odd_idat_chunks_reads_the_same(void)
{
    static const int all[] = {4, 3, 2, 1, 0};
    static const size_t sizes[] = {1, 2, 3, 7, 13, 64, 1000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        spec s = {17, 9, 1 + (int)(i % 4), all, 5, sizes[i], 0, 0, 0, 0, 0};
        unsigned char *px = random_pixels(&s, (uint32_t)i);
        CHECK(reads_back(&s, px, 4));
        free(px);
    }
    {
        /* One row of width 1: the smallest PNG there is. */
        spec s = {1, 1, 4, NULL, 0, 1, 0, 0, 0, 0, 0};
        unsigned char px[4] = {1, 2, 3, 4};
        CHECK(reads_back(&s, px, 1));
    }
}

/* A damaged PNG: the fast reader takes it (or not) and fails with `why`,
 * and the libspng path fails too. */
static void fails(const spec *s, int taken_want, const char *why)
{
    unsigned char *px = random_pixels(s, 99);
    buf b = make_png(s, px);
    cnf_image img;
    cnf_error e;
    int taken;
    cnf_status st = fast_read(&b, 2, &img, &taken, &e);
    CHECK_EQ_INT(taken, taken_want);
    if (taken_want) {
        CHECK_EQ_INT(st, CNF_E_DECODE);
        CHECK(strcmp(e.msg, why) == 0);
        if (strcmp(e.msg, why) != 0)
            fprintf(stderr, "got '%s', want '%s'\n", e.msg, why);
        CHECK(strcmp(e.where, "f.png") == 0);
    }
    CHECK(img.data == NULL);
    CHECK_EQ_INT(cnf_decode(b.p, b.n, CNF_IN_AUTO, "f.png", CNF_DEFAULT_MAX_PIXELS, &img, &e),
                 CNF_E_DECODE);
    CHECK(strncmp(e.msg, "corrupt PNG (", 13) == 0);
    free(px);
    free(b.p);
}

static void damaged_pngs_fail_with_what_is_wrong(void)
{
    static const int sub[] = {1};
    spec base = {20, 10, 3, sub, 1, 40, 0, 0, 0, 0, 0};
    spec s = base;
    s.bad_crc_idat = 2;
    fails(&s, 1, "corrupt PNG (chunk CRC mismatch)");
    /* The first IDAT too: its CRC is summed as it is read (the file is
     * taken without reading the chunk whole), then checked. */
    s = base;
    s.bad_crc_idat = 1;
    fails(&s, 1, "corrupt PNG (chunk CRC mismatch)");
    s = base;
    s.cut_zlib = 30;
    fails(&s, 1, "corrupt PNG (the image data ends early)");
    s = base;
    s.extra_rows = 1;
    fails(&s, 1, "corrupt PNG (image data inflates to more than the header implies)");
    s = base;
    s.no_iend = 1;
    fails(&s, 1, "corrupt PNG (no complete IEND chunk)");
    s = base;
    s.bad_adler = 1;
    fails(&s, 1, "corrupt PNG (zlib checksum mismatch)");
}

static void a_truncated_file_and_a_bad_filter_type_fail(void)
{
    static const int sub[] = {1};
    spec s = {20, 10, 3, sub, 1, 40, 0, 0, 0, 0, 0};
    unsigned char *px = random_pixels(&s, 5);
    buf b = make_png(&s, px);
    cnf_image img;
    cnf_error e;
    int taken;
    /* Cut inside the third IDAT (8 + 25 header bytes, then 52 per IDAT). */
    b.n = 8 + 25 + 2 * 52 + 20;
    CHECK_EQ_INT(fast_read(&b, 3, &img, &taken, &e), CNF_E_DECODE);
    CHECK_EQ_INT(taken, 1);
    CHECK(strcmp(e.msg, "corrupt PNG (the file ends inside a chunk)") == 0);
    CHECK_EQ_INT(cnf_decode(b.p, b.n, CNF_IN_AUTO, "f.png", 1000, &img, &e), CNF_E_DECODE);
    free(b.p);
    free(px);
    {
        static const int bad[] = {5};
        spec t = {4, 2, 1, bad, 1, 0, 0, 0, 0, 0, 0};
        px = random_pixels(&t, 6);
        b = make_png(&t, px);
        CHECK_EQ_INT(fast_read(&b, 1, &img, &taken, &e), CNF_E_DECODE);
        CHECK(strcmp(e.msg, "corrupt PNG (invalid filter type)") == 0);
        free(b.p);
        free(px);
    }
}

static void the_pixel_limit_is_checked_before_any_row(void)
{
    spec s = {20, 10, 1, NULL, 0, 0, 0, 0, 0, 0, 0};
    unsigned char *px = random_pixels(&s, 7);
    buf b = make_png(&s, px);
    cnf_reader r;
    cnf_error e;
    memset(&r, 0, sizeof r);
    CHECK_EQ_INT(cnf__png_fast_reader(b.p, b.n, "f.png", 199, &r, &e), CNF_E_TOO_BIG);
    CHECK(strcmp(e.msg, "20x10 image is over the pixel limit 199") == 0);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_PIXELS);
    CHECK(r.rows == NULL && r.impl == NULL);
    free(b.p);
    free(px);
}

static void pngs_it_does_not_handle_are_left_to_libspng(void)
{
    /* tRNS before the image data: 8-bit gray stays, but libspng reads it. */
    spec s = {6, 4, 1, NULL, 0, 0, 0, 0, 0, 0, 0};
    unsigned char *px = random_pixels(&s, 8);
    buf b = make_png(&s, px), t = {0};
    cnf_reader r;
    cnf_error e;
    size_t ihdr_end = 8 + 25;
    put(&t, b.p, ihdr_end);
    chunk(&t, "tRNS", (const unsigned char *)"\0\7", 2);
    put(&t, b.p + ihdr_end, b.n - ihdr_end);
    memset(&r, 0, sizeof r);
    CHECK_EQ_INT(cnf__png_fast_reader(t.p, t.n, "f.png", 1000, &r, &e), CNF_OK);
    CHECK(r.rows == NULL);
    /* Through the public reader the same file streams by libspng, with alpha. */
    {
        cnf_reader *pr;
        int w, h, c, a;
        CHECK_EQ_INT(cnf_reader_open(t.p, t.n, CNF_IN_AUTO, "f.png", 1000, &pr, &e), CNF_OK);
        cnf_reader_shape(pr, &w, &h, &c, &a);
        CHECK(w == 6 && h == 4 && c == 2 && a == 1);
        cnf_reader_free(pr);
    }
    /* 16-bit depth: not the fast reader's either. */
    b.p[8 + 8 + 8] = 16;
    memset(&r, 0, sizeof r);
    CHECK_EQ_INT(cnf__png_fast_reader(b.p, b.n, "f.png", 1000, &r, &e), CNF_OK);
    CHECK(r.rows == NULL);
    free(b.p);
    free(t.p);
    free(px);
}

int main(void)
{
    RUN(a_tiny_png_with_every_filter_gives_the_hand_computed_pixels);
    RUN(every_filter_and_layout_matches_libspng);
    RUN(every_width_to_40_reads_back_with_every_filter);
    RUN(the_unfilter_gives_hand_computed_bytes);
    RUN(the_simd_unfilters_agree_with_the_portable_loops);
    RUN(two_rows_unfilter_as_one_after_the_other);
    RUN(paeth_runs_of_every_length_read_back);
    RUN(image_data_split_into_odd_idat_chunks_reads_the_same);
    RUN(damaged_pngs_fail_with_what_is_wrong);
    RUN(a_truncated_file_and_a_bad_filter_type_fail);
    RUN(the_pixel_limit_is_checked_before_any_row);
    RUN(pngs_it_does_not_handle_are_left_to_libspng);
    return t_finish("test_png_fast");
}
