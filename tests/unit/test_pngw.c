/* test_pngw.c - the streaming PNG writer: exact pixels back, the same bytes for any thread count. */
#include "test_util.h"

#include <spng.h>
#include <stdint.h>
#include <zlib.h>

/* ------------------------------------------------------------ helpers */

typedef struct mem {
    unsigned char *data;
    size_t len, cap;
    size_t fail_after; /* the write that would pass this many bytes fails (0: never) */
} mem;

static int mem_write(void *ctx, const void *p, size_t n)
{
    mem *m = ctx;
    if (m->fail_after && m->len + n > m->fail_after)
        return -1;
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        unsigned char *q;
        while (cap < m->len + n)
            cap *= 2;
        q = realloc(m->data, cap);
        if (!q)
            return -1;
        m->data = q;
        m->cap = cap;
    }
    memcpy(m->data + m->len, p, n);
    m->len += n;
    return 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    return (uint32_t)(t_xorshift(&rng_state) >> 11);
}

/* Samples (uint8_t or uint16_t, interleaved) with some of everything a
 * deflater meets: noise, flat runs, gradients, and rows repeating rows far
 * above (matches that reach back into the previous segment's dictionary). */
static void *make_image(int w, int h, int comp, int depth)
{
    size_t n = (size_t)w * (size_t)h * (size_t)comp, row = (size_t)w * (size_t)comp;
    uint16_t *v = malloc(n * sizeof *v);
    void *out;
    if (!v)
        abort();
    for (int y = 0; y < h; y++) {
        uint16_t *r = v + (size_t)y * row;
        uint32_t kind = rnd() % 5;
        int back = 1 + (int)(rnd() % 300);
        for (size_t x = 0; x < row; x++) {
            uint32_t s;
            switch (kind) {
            case 0: s = rnd(); break;
            case 1: s = (uint32_t)(x * 37 + (size_t)y * 11) * 97u; break;
            case 2: s = 0xffffu * (uint32_t)(y & 1); break;
            default:
                s = y >= back ? v[(size_t)(y - back) * row + x] + (rnd() % 4 == 0 ? rnd() % 3 : 0)
                              : rnd();
            }
            r[x] = depth == 8 ? (uint16_t)(s & 255) : (uint16_t)(s & 0xffff);
        }
    }
    if (depth == 16)
        return v;
    out = malloc(n ? n : 1);
    if (!out)
        abort();
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)out)[i] = (unsigned char)v[i];
    free(v);
    return out;
}

static size_t sample_bytes(int depth)
{
    return depth == 16 ? 2 : 1;
}

/* Write a whole image, `chunk` rows per call (0: all at once). */
static cnf_status encode(const void *px, int w, int h, int comp, int depth, int level,
                         int threads, int chunk, const char *const *text, mem *m, cnf_error *e)
{
    cnf_png_writer *wr = NULL;
    size_t stride = (size_t)w * (size_t)comp * sample_bytes(depth);
    cnf_status st = cnf_png_writer_open(&wr, w, h, comp, depth, level, threads, text, mem_write,
                                        m, e);
    for (int y = 0; st == CNF_OK && y < h;) {
        int n = chunk > 0 && chunk < h - y ? chunk : h - y;
        st = cnf_png_writer_rows(wr, (const unsigned char *)px + (size_t)y * stride, stride, n, e);
        y += n;
    }
    if (st == CNF_OK)
        st = cnf_png_writer_finish(wr, e);
    cnf_png_writer_free(wr);
    return st;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walk the chunks on our own: signature, IHDR first, CRCs (zlib's crc32),
 * IDATs of at most 1 MiB in one run, IEND last.  Then inflate the IDAT
 * stream with zlib (header and Adler-32 checked) and check its size, that
 * every row starts with a filter type, and the zlib header's FLEVEL.  Returns
 * the number of IDAT chunks, or -1. */
static int check_structure(const mem *m, int w, int h, int comp, int depth, int level)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const int ctype[5] = {0, 0, 4, 2, 6};
    size_t pos = 8, fs = (size_t)w * (size_t)comp * sample_bytes(depth) + 1;
    size_t want = fs * (size_t)h, got = 0;
    int idats = 0, idat_run_over = 0, seen_iend = 0, ok = 1, zrc = Z_OK;
    unsigned char *raw = malloc(want);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (!raw || inflateInit(&z) != Z_OK)
        abort();
    z.next_out = raw;
    z.avail_out = (uInt)want;
    if (m->len < 8 + 25 || memcmp(m->data, sig, 8) != 0)
        ok = 0;
    while (ok && pos + 12 <= m->len && !seen_iend) {
        uint32_t n = get32(m->data + pos);
        const unsigned char *type = m->data + pos + 4, *body = type + 4;
        if (n > m->len - pos - 12) {
            ok = 0;
            break;
        }
        if ((uint32_t)crc32(0, type, 4 + n) != get32(body + n)) {
            fprintf(stderr, "bad CRC in %.4s\n", (const char *)type);
            ok = 0;
        }
        if (pos == 8) {
            ok &= memcmp(type, "IHDR", 4) == 0 && n == 13 && get32(body) == (uint32_t)w &&
                  get32(body + 4) == (uint32_t)h && body[8] == depth && body[9] == ctype[comp] &&
                  body[10] == 0 && body[11] == 0 && body[12] == 0;
        } else if (memcmp(type, "IDAT", 4) == 0) {
            /* At most 1 MiB of deflate data each; the first may carry the
             * two bytes of the zlib header besides. */
            if (idat_run_over || n > (1u << 20) + (idats == 0 ? 2u : 0u)) {
                fprintf(stderr, "IDAT of %u bytes, or IDATs not in one run\n", (unsigned)n);
                ok = 0;
            }
            if (idats == 0 && n >= 2) {
                int flevel = body[1] >> 6;
                int expect = level <= 1 ? 0 : level <= 5 ? 1 : level == 6 ? 2 : 3;
                ok &= body[0] == 0x78 && (body[0] * 256 + body[1]) % 31 == 0 &&
                      (body[1] & 0x20) == 0 && flevel == expect;
            }
            idats++;
            z.next_in = (Bytef *)(uintptr_t)body;
            z.avail_in = n;
            if (zrc == Z_OK) {
                zrc = inflate(&z, Z_NO_FLUSH);
                if (zrc == Z_BUF_ERROR)
                    zrc = Z_OK;
                if (zrc == Z_STREAM_END && z.avail_in != 0)
                    zrc = Z_DATA_ERROR; /* bytes after the Adler-32 */
            } else {
                ok = 0; /* an IDAT after the end of the stream */
            }
        } else if (memcmp(type, "IEND", 4) == 0) {
            seen_iend = n == 0 && pos + 12 == m->len;
            ok &= seen_iend;
        } else if (memcmp(type, "tEXt", 4) != 0 || idats > 0) {
            ok = 0; /* only tEXt between IHDR and the first IDAT */
        }
        if (idats > 0 && memcmp(type, "IDAT", 4) != 0)
            idat_run_over = 1;
        pos += 12 + (size_t)n;
    }
    got = want - z.avail_out;
    if (zrc != Z_STREAM_END || got != want || z.total_out != want) {
        fprintf(stderr, "zlib stream: rc %d, %zu of %zu bytes\n", zrc, got, want);
        ok = 0;
    }
    for (int y = 0; ok && y < h; y++)
        ok &= raw[(size_t)y * fs] <= 4; /* a PNG filter type; the pixels are checked apart */
    inflateEnd(&z);
    free(raw);
    return ok && seen_iend && idats > 0 ? idats : -1;
}

/* Decode with libspng in the PNG's own format (16-bit host order) and
 * compare every sample exactly. */
static int spng_matches(const mem *m, const void *px, int w, int h, int comp, int depth)
{
    spng_ctx *ctx = spng_ctx_new(0);
    struct spng_ihdr ih;
    size_t size = 0, n = (size_t)w * (size_t)h * (size_t)comp * sample_bytes(depth);
    unsigned char *out = NULL;
    int ok = 0;
    if (ctx && !spng_set_png_buffer(ctx, m->data, m->len) &&
        !spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_ERROR) && !spng_get_ihdr(ctx, &ih) &&
        !spng_decoded_image_size(ctx, SPNG_FMT_PNG, &size) && size == n &&
        (out = malloc(size)) != NULL && !spng_decode_image(ctx, out, size, SPNG_FMT_PNG, 0) &&
        !spng_decode_chunks(ctx))
        ok = memcmp(out, px, n) == 0;
    free(out);
    spng_ctx_free(ctx);
    return ok;
}

/* Decode through the library: planes of 0..255 (8-bit) or v / 257 (16-bit). */
static int library_matches(const mem *m, const void *px, int w, int h, int comp, int depth)
{
    cnf_image img;
    cnf_error e;
    int ok = 1;
    if (cnf_decode(m->data, m->len, CNF_IN_AUTO, "t.png", CNF_DEFAULT_MAX_PIXELS, &img, &e)) {
        fprintf(stderr, "cnf_decode: %s\n", e.msg);
        return 0;
    }
    if (img.width != w || img.height != h || img.channels != comp ||
        img.has_alpha != (comp == 2 || comp == 4))
        ok = 0;
    for (int c = 0; ok && c < comp; c++) {
        const float *p = cnf_image_plane(&img, c);
        for (size_t i = 0; ok && i < (size_t)w * (size_t)h; i++) {
            size_t k = i * (size_t)comp + (size_t)c;
            float want = depth == 8 ? (float)((const unsigned char *)px)[k]
                                    : (float)(((const uint16_t *)px)[k] / 257.0);
            ok = p[i] == want;
        }
    }
    cnf_image_free(&img);
    return ok;
}

/* ------------------------------------------------------------ tests */

static void every_shape_depth_and_level_reads_back_exactly(void)
{
    static const int widths[] = {1, 2, 7, 1000}, heights[] = {1, 3, 700};
    int bad = 0, cases = 0;
    for (int comp = 1; comp <= 4; comp++)
        for (int depth = 8; depth <= 16; depth += 8)
            for (int wi = 0; wi < 4; wi++)
                for (int hi = 0; hi < 3; hi++) {
                    int w = widths[wi], h = heights[hi];
                    void *px = make_image(w, h, comp, depth);
                    for (int level = 0; level <= 9; level++) {
                        /* The big shape at every level on one thread, on two
                         * threads at two levels (the thread tests cover more). */
                        int threads = w == 1000 && h == 700 && level % 4 == 1 ? 2 : 1;
                        mem m = {0};
                        cnf_error e;
                        cnf_status st = encode(px, w, h, comp, depth, level, threads, 0, NULL,
                                               &m, &e);
                        int ok = st == CNF_OK && check_structure(&m, w, h, comp, depth, level) > 0 &&
                                 spng_matches(&m, px, w, h, comp, depth) &&
                                 library_matches(&m, px, w, h, comp, depth);
                        cases++;
                        if (!ok && bad++ < 10)
                            fprintf(stderr, "%dx%d comp %d depth %d level %d: %s\n", w, h, comp,
                                    depth, level, st ? e.msg : "pixels or structure differ");
                        free(m.data);
                    }
                    free(px);
                }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(cases, 4 * 2 * 4 * 3 * 10);
}

static void bytes_are_the_same_for_any_thread_count_and_row_chunking(void)
{
    /* 1000x700 RGBA16: 8001 filtered bytes a row, several segments. */
    static const int threads[] = {1, 2, 3, 8}, chunks[] = {1, 5, 0};
    static const int levels[] = {0, 1, 2, 3, 6, 9};
    int w = 1000, h = 700;
    for (int depth = 8; depth <= 16; depth += 8) {
        void *px = make_image(w, h, 4, depth);
        for (size_t li = 0; li < sizeof levels / sizeof *levels; li++) {
            mem ref = {0};
            cnf_error e;
            CHECK_EQ_INT(encode(px, w, h, 4, depth, levels[li], 1, 0, NULL, &ref, &e), CNF_OK);
            CHECK(check_structure(&ref, w, h, 4, depth, levels[li]) > 0);
            CHECK(spng_matches(&ref, px, w, h, 4, depth));
            for (int ti = 0; ti < 4; ti++)
                for (int ci = 0; ci < 3; ci++) {
                    mem m = {0};
                    if (ti == 0 && ci == 2)
                        continue; /* the reference itself */
                    CHECK_EQ_INT(encode(px, w, h, 4, depth, levels[li], threads[ti], chunks[ci],
                                        NULL, &m, &e),
                                 CNF_OK);
                    CHECK(m.len == ref.len && memcmp(m.data, ref.data, m.len) == 0);
                    free(m.data);
                }
            free(ref.data);
        }
        free(px);
    }
}

static void many_segments_of_narrow_rows_keep_their_matches(void)
{
    /* Width 1 gray: 2 filtered bytes a row, so a segment is hundreds of
     * thousands of rows; 600000 rows make several, each starting from the
     * previous one's dictionary.  The rows repeat with a period of 7: the
     * whole stream is matches, so a wrong dictionary could not go unnoticed.
     * Level 2 finds only runs of one byte, so it is not one of these. */
    int w = 1, h = 600000;
    unsigned char *px = malloc((size_t)h);
    if (!px)
        abort();
    for (int y = 0; y < h; y++)
        px[y] = (unsigned char)(y % 7 == 0 ? 5 : (y * 13) & 255);
    for (int level = 0; level <= 9; level += 3) {
        mem a = {0}, b = {0};
        cnf_error e;
        int lv = level == 0 ? 1 : level; /* 1, 3, 6, 9 */
        CHECK_EQ_INT(encode(px, w, h, 1, 8, lv, 1, 0, NULL, &a, &e), CNF_OK);
        CHECK_EQ_INT(encode(px, w, h, 1, 8, lv, 3, 4096, NULL, &b, &e), CNF_OK);
        CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        CHECK(check_structure(&a, w, h, 1, 8, lv) > 0);
        CHECK(spng_matches(&a, px, w, h, 1, 8));
        /* 1.2 MB of periodic rows: matches everywhere, so a lost dictionary
         * would show as a big file. */
        CHECK(a.len < 40000);
        free(a.data);
        free(b.data);
    }
    free(px);
}

static void level_zero_is_stored_and_big_rows_split_into_idats(void)
{
    /* 300000 RGBA8 pixels: 1.2 MB a row, more than one IDAT's 1 MiB. */
    int w = 300000, h = 3;
    void *px = make_image(w, h, 4, 8);
    for (int level = 0; level <= 2; level += 2) {
        mem m = {0};
        cnf_error e;
        CHECK_EQ_INT(encode(px, w, h, 4, 8, level, 2, 1, NULL, &m, &e), CNF_OK);
        CHECK(check_structure(&m, w, h, 4, 8, level) > 1);
        CHECK(spng_matches(&m, px, w, h, 4, 8));
        if (level == 0) /* stored: the data plus 5 bytes a block, nothing saved */
            CHECK(m.len > (size_t)w * 4 * h);
        free(m.data);
    }
    free(px);
}

static void text_chunks_follow_ihdr_and_read_back(void)
{
    static const char *const text[] = {"Software", "cnnfilter test", "Comment",
                                       "kernel sobel_x, caf\xe9", "\xc9t\xe9", "", NULL};
    unsigned char px[6] = {1, 2, 3, 4, 5, 6};
    mem m = {0};
    cnf_error e;
    spng_ctx *ctx;
    struct spng_text t[4];
    uint32_t n = 0;
    CHECK_EQ_INT(encode(px, 3, 2, 1, 8, 6, 1, 0, text, &m, &e), CNF_OK);
    CHECK(check_structure(&m, 3, 2, 1, 8, 6) == 1);
    CHECK(m.len > 41 && memcmp(m.data + 33 + 4, "tEXt", 4) == 0);
    ctx = spng_ctx_new(0);
    CHECK(ctx != NULL);
    if (ctx) {
        CHECK_EQ_INT(spng_set_png_buffer(ctx, m.data, m.len), 0);
        CHECK_EQ_INT(spng_get_text(ctx, NULL, &n), 0);
        CHECK_EQ_INT(n, 3);
        if (n == 3 && spng_get_text(ctx, t, &n) == 0) {
            CHECK(strcmp(t[0].keyword, "Software") == 0 && t[0].type == SPNG_TEXT);
            CHECK(strcmp(t[0].text, "cnnfilter test") == 0);
            CHECK(strcmp(t[1].keyword, "Comment") == 0);
            CHECK(strcmp(t[1].text, "kernel sobel_x, caf\xe9") == 0);
            CHECK(strcmp(t[2].keyword, "\xc9t\xe9") == 0 && t[2].length == 0);
        }
        spng_ctx_free(ctx);
    }
    CHECK(spng_matches(&m, px, 3, 2, 1, 8));
    free(m.data);
}

static void bad_keywords_and_parameters_are_refused(void)
{
    char long_key[81];
    const char *bad_keys[] = {"", " lead", "trail ", "two  spaces", "tab\there", "del\x7f",
                              "c1\x85", long_key};
    static const int bad[][5] = {/* w, h, comp, depth, level */
                                 {0, 1, 1, 8, 6}, {1, 0, 1, 8, 6}, {1, 1, 0, 8, 6},
                                 {1, 1, 5, 8, 6}, {1, 1, 3, 12, 6}, {1, 1, 3, 8, 10}};
    cnf_png_writer *w = NULL;
    cnf_error e;
    mem m = {0};
    memset(long_key, 'k', 80);
    long_key[80] = 0;
    for (size_t i = 0; i < sizeof bad_keys / sizeof *bad_keys; i++) {
        const char *text[] = {bad_keys[i], "v", NULL};
        CHECK_EQ_INT(cnf_png_writer_open(&w, 1, 1, 1, 8, 6, 1, text, mem_write, &m, &e),
                     CNF_E_USAGE);
        CHECK(w == NULL);
    }
    {
        /* 79 characters is the longest keyword; a key without a value is bad. */
        const char *text[] = {long_key + 1, "v", NULL}, *odd[] = {"key", NULL};
        CHECK_EQ_INT(cnf_png_writer_open(&w, 1, 1, 1, 8, 6, 1, text, mem_write, &m, &e), CNF_OK);
        cnf_png_writer_free(w);
        w = NULL;
        CHECK_EQ_INT(cnf_png_writer_open(&w, 1, 1, 1, 8, 6, 1, odd, mem_write, &m, &e),
                     CNF_E_USAGE);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_EQ_INT(cnf_png_writer_open(&w, bad[i][0], bad[i][1], bad[i][2], bad[i][3],
                                         bad[i][4], 1, NULL, mem_write, &m, &e),
                     CNF_E_USAGE);
        CHECK(w == NULL);
    }
    cnf_png_writer_free(NULL);
    free(m.data);
}

static void missing_or_extra_rows_fail(void)
{
    unsigned char px[4 * 10] = {0};
    cnf_png_writer *w = NULL;
    cnf_error e;
    for (int threads = 1; threads <= 3; threads += 2) {
        mem m = {0};
        CHECK_EQ_INT(cnf_png_writer_open(&w, 4, 10, 1, 8, 2, threads, NULL, mem_write, &m, &e),
                     CNF_OK);
        CHECK_EQ_INT(cnf_png_writer_rows(w, px, 4, 9, &e), CNF_OK);
        CHECK(cnf_png_writer_finish(w, &e) != CNF_OK);
        CHECK_STR_CONTAINS(e.msg, "missing");
        CHECK(cnf_png_writer_rows(w, px, 4, 2, &e) != CNF_OK); /* 11 > 10 */
        cnf_png_writer_free(w);
        free(m.data);
    }
}

static void a_failing_write_gives_an_io_error_at_any_point(void)
{
    /* 1000x700 RGB8, level 1: about ten segments; fail at the signature,
     * inside IHDR, in the first IDAT, later IDATs, and at IEND. */
    int w = 1000, h = 700;
    void *px = make_image(w, h, 3, 8);
    mem full = {0};
    cnf_error e;
    CHECK_EQ_INT(encode(px, w, h, 3, 8, 1, 1, 0, NULL, &full, &e), CNF_OK);
    for (int threads = 1; threads <= 4; threads += 3) {
        size_t points[] = {1, 8, 20, 40, full.len / 3, full.len / 2, full.len - 12, full.len - 1};
        for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
            mem m = {0};
            cnf_status st;
            m.fail_after = points[i];
            memset(&e, 0, sizeof e);
            st = encode(px, w, h, 3, 8, 1, threads, 7, NULL, &m, &e);
            CHECK_EQ_INT(st, CNF_E_IO);
            CHECK_STR_CONTAINS(e.msg, "write failed");
            CHECK(m.len <= points[i]);
            CHECK(memcmp(m.data ? m.data : full.data, full.data, m.len) == 0);
            free(m.data);
        }
    }
    {
        /* A failure stays: later calls fail too, and free cleans up. */
        mem m = {0};
        cnf_png_writer *wr = NULL;
        m.fail_after = 100;
        CHECK_EQ_INT(cnf_png_writer_open(&wr, w, h, 3, 8, 1, 2, NULL, mem_write, &m, &e), CNF_OK);
        CHECK_EQ_INT(cnf_png_writer_rows(wr, px, (size_t)w * 3, h, &e), CNF_E_IO);
        CHECK_EQ_INT(cnf_png_writer_rows(wr, px, (size_t)w * 3, 1, &e), CNF_E_IO);
        CHECK_EQ_INT(cnf_png_writer_finish(wr, &e), CNF_E_IO);
        cnf_png_writer_free(wr);
        free(m.data);
    }
    free(full.data);
    free(px);
}

static void strided_rows_and_the_default_level(void)
{
    /* Rows with padding between them give the same PNG as packed rows;
     * level -1 is CNF_PNG_DEFAULT_LEVEL. */
    int w = 33, h = 40;
    unsigned char *px = make_image(w, h, 2, 8);
    size_t stride = (size_t)w * 2, padded = stride + 13;
    unsigned char *pad = calloc((size_t)h, padded);
    mem a = {0}, b = {0}, c = {0};
    cnf_png_writer *wr = NULL;
    cnf_error e;
    if (!pad)
        abort();
    for (int y = 0; y < h; y++)
        memcpy(pad + (size_t)y * padded, px + (size_t)y * stride, stride);
    CHECK_EQ_INT(encode(px, w, h, 2, 8, CNF_PNG_DEFAULT_LEVEL, 1, 0, NULL, &a, &e), CNF_OK);
    CHECK_EQ_INT(cnf_png_writer_open(&wr, w, h, 2, 8, -1, 1, NULL, mem_write, &b, &e), CNF_OK);
    CHECK_EQ_INT(cnf_png_writer_rows(wr, pad, padded, h, &e), CNF_OK);
    CHECK_EQ_INT(cnf_png_writer_finish(wr, &e), CNF_OK);
    cnf_png_writer_free(wr);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    /* cnf_encode's PNG is the same writer (threads 1, the default level). */
    {
        cnf_image img = t_image(w, h, 2, 1, NULL);
        unsigned char *out = NULL;
        size_t out_len = 0;
        for (int ch = 0; ch < 2; ch++)
            for (int i = 0; i < w * h; i++)
                cnf_image_plane(&img, ch)[i] = px[(size_t)i * 2 + (size_t)ch];
        CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_PNG, NULL, &out, &out_len, NULL, &e),
                     CNF_OK);
        c.data = out;
        c.len = out_len;
        CHECK(c.len == a.len && memcmp(c.data, a.data, a.len) == 0);
        cnf_image_free(&img);
    }
    free(a.data);
    free(b.data);
    free(c.data);
    free(pad);
    free(px);
}

int main(void)
{
    RUN(every_shape_depth_and_level_reads_back_exactly);
    RUN(bytes_are_the_same_for_any_thread_count_and_row_chunking);
    RUN(many_segments_of_narrow_rows_keep_their_matches);
    RUN(level_zero_is_stored_and_big_rows_split_into_idats);
    RUN(text_chunks_follow_ihdr_and_read_back);
    RUN(bad_keywords_and_parameters_are_refused);
    RUN(missing_or_extra_rows_fail);
    RUN(a_failing_write_gives_an_io_error_at_any_point);
    RUN(strided_rows_and_the_default_level);
    return t_finish("test_pngw");
}
