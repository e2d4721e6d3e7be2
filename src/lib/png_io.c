/* png_io.c - PNG through libspng (the only file that includes it): checked decoding.
 *
 * The common PNG (8-bit, no palette, no tRNS, not interlaced) is read by
 * png_fast.c; libspng reads the rest, and every PNG is written by
 * png_writer.c (cnf__png_encode below is that writer on a memory buffer).
 * The PNG row of the codec table (codec.c) is made of the functions here.
 * stb_image never verifies PNG chunk CRCs and is not hardened for hostile
 * input; libspng checks CRCs and the zlib stream, bounds chunk sizes, and
 * decodes row by row.  Every PNG is decoded to 8-bit RGBA rows (16-bit to
 * RGBA16) with tRNS applied, then spread into planes: colour type 0/4 gives
 * gray, 2/3/6 RGB, and alpha exists for colour types 4 and 6 and whenever a
 * tRNS chunk is present.  16-bit samples become v / 257 (0..255 with
 * fractions), so a 16-bit image keeps its precision in the float pipeline.
 */
#include "codec.h"
#include "orient.h"

#include <spng.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <isa-l/igzip_lib.h>

/* Ancillary chunks (text, ICC profiles) are not needed to filter pixels;
 * bounding them stops a file from making us cache gigabytes of metadata. */
#define PNG_CHUNK_LIMIT (64u << 20)
#define PNG_CACHE_LIMIT (64u << 20)

typedef struct png_info {
    struct spng_ihdr ihdr;
    int gray, alpha, sixteen;
} png_info;

int cnf__png_sniff(const unsigned char *buf, size_t len)
{
    return cnf__magic(buf, len, "\x89PNG\r\n\x1a\n", 8);
}

/* Rows stream unless the PNG is interlaced: the interlace method is the
 * last byte of IHDR's data (offset 28). */
int cnf__png_streams(const unsigned char *buf, size_t len)
{
    return len > 28 && buf[28] == 0;
}

static uint32_t be32(const unsigned char *p);

/* An interlaced PNG is decoded whole by libspng first, as RGBA8 or RGBA16
 * (cnf__png_decode): 4 or 8 bytes a pixel beside the floats.  IHDR: width
 * and height at 16 and 20, bit depth at 24. */
static uint64_t png_memory(const unsigned char *buf, size_t len)
{
    if (len <= 28 || buf[28] == 0 || cnf__png_sniff(buf, len) <= 0)
        return 0;
    return (uint64_t)be32(buf + 16) * be32(buf + 20) * (buf[24] == 16 ? 8 : 4);
}

static cnf_status spng_fail(cnf_error *err, const char *name, int rc)
{
    /* Limits and bad data are all "cannot decode" for the caller. */
    return cnf__fail(err, rc == SPNG_EMEM ? CNF_E_NOMEM : CNF_E_DECODE, name, "corrupt PNG (%s)",
                     spng_strerror(rc));
}

/* A libspng context over buf with our limits and CRC rule, its IHDR read:
 * 0, or libspng's error (the context is then freed; -1: out of memory). */
static int start_png(const unsigned char *buf, size_t len, spng_ctx **ctx_ret,
                     struct spng_ihdr *ihdr)
{
    spng_ctx *ctx = spng_ctx_new(0);
    int rc;
    *ctx_ret = NULL;
    if (!ctx)
        return SPNG_EMEM;
    rc = spng_set_png_buffer(ctx, buf, len);
    if (!rc)
        rc = spng_set_chunk_limits(ctx, PNG_CHUNK_LIMIT, PNG_CACHE_LIMIT);
    /* A bad CRC anywhere is an error, not a chunk quietly dropped (doc/reference.md §8). */
    if (!rc)
        rc = spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_ERROR);
    if (!rc)
        rc = spng_get_ihdr(ctx, ihdr);
    if (rc)
        spng_ctx_free(ctx);
    else
        *ctx_ret = ctx;
    return rc;
}

static cnf_status open_png(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, spng_ctx **ctx_ret, png_info *info,
                           cnf_error *err)
{
    spng_ctx *ctx;
    struct spng_trns trns;
    int rc = start_png(buf, len, &ctx, &info->ihdr);
    *ctx_ret = NULL;
    if (rc)
        return spng_fail(err, name, rc);
    if ((uint64_t)info->ihdr.width * info->ihdr.height > max_pixels) {
        spng_ctx_free(ctx);
        return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                         "%ux%u image is over the pixel limit %llu",
                         info->ihdr.width, info->ihdr.height, (unsigned long long)max_pixels);
    }
    if (info->ihdr.width > INT32_MAX || info->ihdr.height > INT32_MAX) {
        spng_ctx_free(ctx);
        return cnf__fail(err, CNF_E_TOO_BIG, name, "image dimensions too large");
    }
    info->gray = info->ihdr.color_type == 0 || info->ihdr.color_type == 4;
    info->sixteen = info->ihdr.bit_depth == 16;
    info->alpha = info->ihdr.color_type == 4 || info->ihdr.color_type == 6 ||
                  spng_get_trns(ctx, &trns) == 0;
    *ctx_ret = ctx;
    return CNF_OK;
}

/* The row's check: the signature and IHDR in the first bytes decide at once
 * what the probe of the whole file would say about them (a 200 MB file of a
 * signature and zeros fails here, not after being read whole).  Too few
 * bytes to hold the IHDR chunk: no verdict. */
static cnf_status png_check(const unsigned char *buf, size_t len, const char *name,
                            cnf_error *err)
{
    struct spng_ihdr ihdr;
    spng_ctx *ctx;
    int rc;
    if (len < 33) /* signature, IHDR's length, type, 13 bytes and CRC */
        return CNF_OK;
    rc = start_png(buf, len, &ctx, &ihdr);
    if (ctx)
        spng_ctx_free(ctx);
    if (rc == SPNG_IO_EOF || rc == SPNG_EOF)
        return CNF_OK; /* the rest decides */
    if (rc)
        return spng_fail(err, name, rc);
    if (ihdr.width > INT32_MAX || ihdr.height > INT32_MAX)
        return cnf__fail(err, CNF_E_TOO_BIG, name, "image dimensions too large");
    return CNF_OK;
}

cnf_status cnf__png_probe(const unsigned char *buf, size_t len, const char *name,
                          uint64_t max_pixels, int *width, int *height, int *channels,
                          int *has_alpha, cnf_error *err)
{
    spng_ctx *ctx;
    png_info info;
    cnf_status st = open_png(buf, len, name, max_pixels, &ctx, &info, err);
    if (st)
        return st;
    *width = (int)info.ihdr.width;
    *height = (int)info.ihdr.height;
    *channels = (info.gray ? 1 : 3) + info.alpha;
    *has_alpha = info.alpha;
    spng_ctx_free(ctx);
    return CNF_OK;
}

/* Spread one decoded row into plane rows dst[c]: `native` rows hold the
 * PNG's own samples (8-bit, no tRNS: 1..4 per pixel, planes in order);
 * otherwise RGBA8 or RGBA16. */
static void spread_row(const png_info *info, int native, const unsigned char *row, size_t w,
                       float *const *dst)
{
    int colour = info->gray ? 1 : 3, comp = colour + info->alpha;
    if (native) {
        for (int c = 0; c < comp; c++) {
            float *d = dst[c];
            const unsigned char *r = row + c;
            for (size_t x = 0; x < w; x++)
                d[x] = r[x * (size_t)comp];
        }
        return;
    }
    for (int c = 0; c < comp; c++) {
        int src = c < colour ? c : 3;
        float *d = dst[c];
        if (info->sixteen) {
            const uint16_t *r = (const uint16_t *)(const void *)row;
            for (size_t x = 0; x < w; x++)
                d[x] = (float)(r[x * 4 + (size_t)src] / 257.0);
        } else {
            for (size_t x = 0; x < w; x++)
                d[x] = row[x * 4 + (size_t)src];
        }
    }
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Bytes of filtered scanlines the header implies (Adam7: all seven passes). */
static uint64_t raw_size(const struct spng_ihdr *h)
{
    static const int ch[7] = {1, 0, 3, 1, 2, 0, 4};
    static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, dx[7] = {8, 8, 4, 4, 2, 2, 1};
    static const int y0[7] = {0, 0, 4, 0, 2, 0, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    uint64_t bpp = (uint64_t)ch[h->color_type % 7] * h->bit_depth, total = 0;
    if (h->interlace_method == SPNG_INTERLACE_NONE)
        return (uint64_t)h->height * (1 + ((uint64_t)h->width * bpp + 7) / 8);
    for (int p = 0; p < 7; p++) {
        uint64_t w = h->width > (uint32_t)x0[p] ? (h->width - x0[p] + dx[p] - 1) / dx[p] : 0;
        uint64_t r = h->height > (uint32_t)y0[p] ? (h->height - y0[p] + dy[p] - 1) / dy[p] : 0;
        if (w && r)
            total += r * (1 + (w * bpp + 7) / 8);
    }
    return total;
}

/* libspng stops inflating when the image is complete, so image data that
 * inflates to more than the header implies (doc/reference.md §8), and a file cut inside
 * its IEND chunk, pass it.  Both are checked here: the IDAT stream is
 * inflated once more, into a scratch buffer, stopping as soon as it is over
 * the expected size, and a complete IEND chunk must be present. */
static cnf_status check_stream(const unsigned char *buf, size_t len, const char *name,
                               const struct spng_ihdr *ih, cnf_error *err)
{
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    uint64_t want = raw_size(ih), got = 0;
    unsigned char scratch[65536];
    /* ISA-L's inflate: this second pass costs a third of zlib's. */
    struct inflate_state *z = malloc(sizeof *z);
    size_t pos = 8;
    int seen_iend = 0, done = 0;
    if (!z)
        return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
    isal_inflate_init(z);
    z->crc_flag = ISAL_ZLIB;
    while (pos + 12 <= len && !done) {
        uint32_t n = be32(buf + pos);
        const unsigned char *type = buf + pos + 4;
        if (n > len - pos - 12)
            break;
        if (memcmp(type, "IEND", 4) == 0) {
            seen_iend = memcmp(buf + pos, iend, 12) == 0;
            break;
        }
        if (memcmp(type, "IDAT", 4) == 0) {
            z->next_in = (uint8_t *)(uintptr_t)(buf + pos + 8);
            z->avail_in = n;
            while (!done && (z->avail_in > 0 || z->tmp_out_valid > z->tmp_out_processed)) {
                int rc;
                z->next_out = scratch;
                z->avail_out = sizeof scratch;
                rc = isal_inflate(z);
                got += sizeof scratch - z->avail_out;
                if (got > want) {
                    free(z);
                    return cnf__fail(err, CNF_E_DECODE, name,
                                     "corrupt PNG (image data inflates to more than the "
                                     "header implies)");
                }
                if (rc < 0 || z->block_state == ISAL_BLOCK_FINISH)
                    done = 1; /* bad data is libspng's to report; the end is found */
                else if (z->avail_out > 0 && z->avail_in == 0)
                    break;    /* this chunk is used up */
            }
        }
        pos += 12 + (size_t)n;
    }
    free(z);
    /* Anything between the end of the zlib stream and IEND is more chunks. */
    while (!seen_iend && pos + 12 <= len) {
        uint32_t n = be32(buf + pos);
        if (memcmp(buf + pos + 4, "IEND", 4) == 0) {
            seen_iend = memcmp(buf + pos, iend, 12) == 0;
            break;
        }
        if (n > len - pos - 12)
            break;
        pos += 12 + (size_t)n;
    }
    if (!seen_iend)
        return cnf__fail(err, CNF_E_DECODE, name, "corrupt PNG (no complete IEND chunk)");
    return CNF_OK;
}

static void plane_rows(const cnf_image *img, int y, float **dst)
{
    for (int c = 0; c < img->channels; c++)
        dst[c] = cnf_image_plane(img, c) + (size_t)y * (size_t)img->width;
}

/* ------------------------------------------------------------ streaming */

typedef struct png_stream {
    spng_ctx *ctx;
    png_info info;
    int native;
    size_t row_bytes;
    unsigned char *row;
    const unsigned char *buf;
    size_t len;
    char *name;
} png_stream;

static cnf_status stream_rows(cnf_reader *r, int n, float *const *rows, int planes,
                              cnf_error *err)
{
    png_stream *ps = r->impl;
    for (int i = 0; i < n; i++) {
        int y = r->next + i, rc = spng_decode_row(ps->ctx, ps->row, ps->row_bytes);
        if (rc == SPNG_EOI && y + 1 != r->h)
            rc = SPNG_EOF;
        else if (rc == SPNG_EOI)
            rc = 0;
        if (rc)
            return spng_fail(err, ps->name, rc);
        spread_row(&ps->info, ps->native, ps->row, (size_t)r->w, rows + (size_t)i * planes);
    }
    return CNF_OK;
}

static cnf_status stream_finish(cnf_reader *r, cnf_error *err)
{
    png_stream *ps = r->impl;
    int rc = spng_decode_chunks(ps->ctx);
    if (rc)
        return spng_fail(err, ps->name, rc);
    return check_stream(ps->buf, ps->len, ps->name, &ps->info.ihdr, err);
}

static void stream_destroy(cnf_reader *r)
{
    png_stream *ps = r->impl;
    if (!ps)
        return;
    spng_ctx_free(ps->ctx);
    free(ps->row);
    free(ps->name);
    free(ps);
    r->impl = NULL;
}

cnf_status cnf__png_reader(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, cnf_reader *r, cnf_error *err)
{
    png_stream *ps;
    int fmt, rc;
    cnf_status st = cnf__png_fast_reader(buf, len, name, max_pixels, r, err);
    if (st || r->rows)
        return st; /* the common case, with ISA-L's inflate (png_fast.c) */
    ps = calloc(1, sizeof *ps);
    if (!ps)
        return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
    st = open_png(buf, len, name, max_pixels, &ps->ctx, &ps->info, err);
    if (st) {
        free(ps);
        return st;
    }
    r->impl = ps;
    r->destroy = stream_destroy;
    r->w = (int)ps->info.ihdr.width;
    r->h = (int)ps->info.ihdr.height;
    r->alpha = ps->info.alpha;
    r->c = (ps->info.gray ? 1 : 3) + ps->info.alpha;
    if (ps->info.ihdr.interlace_method != SPNG_INTERLACE_NONE)
        return CNF_OK; /* Adam7 gives rows per pass: the caller decodes whole */
    /* 8-bit gray/RGB(A) without tRNS: the PNG's own layout, no conversion. */
    ps->native = !ps->info.sixteen && ps->info.ihdr.color_type != 3 &&
                 ps->info.ihdr.bit_depth == 8 &&
                 (ps->info.alpha == (ps->info.ihdr.color_type == 4 || ps->info.ihdr.color_type == 6));
    fmt = ps->native ? SPNG_FMT_PNG : ps->info.sixteen ? SPNG_FMT_RGBA16 : SPNG_FMT_RGBA8;
    ps->row_bytes = (size_t)r->w * (ps->native ? (size_t)r->c : ps->info.sixteen ? 8 : 4);
    ps->row = malloc(ps->row_bytes);
    ps->name = cnf__strdup(name);
    ps->buf = buf;
    ps->len = len;
    if (!ps->row || !ps->name)
        return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
    rc = spng_decode_image(ps->ctx, NULL, 0, fmt,
                           (ps->native ? 0 : SPNG_DECODE_TRNS) | SPNG_DECODE_PROGRESSIVE);
    if (rc)
        return spng_fail(err, name, rc);
    r->rows = stream_rows;
    r->finish = stream_finish;
    return CNF_OK;
}

cnf_status cnf__png_decode(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    spng_ctx *ctx;
    png_info info;
    int fmt, rc;
    size_t row_bytes;
    unsigned char *rows = NULL;
    float *dst[4];
    cnf_status st = open_png(buf, len, name, max_pixels, &ctx, &info, err);
    if (st)
        return st;
    fmt = info.sixteen ? SPNG_FMT_RGBA16 : SPNG_FMT_RGBA8;
    row_bytes = (size_t)info.ihdr.width * (info.sixteen ? 8 : 4);
    st = cnf_image_alloc(img, (int)info.ihdr.width, (int)info.ihdr.height,
                         (info.gray ? 1 : 3) + info.alpha, info.alpha, err);
    if (st)
        goto out;
    if (info.ihdr.interlace_method == SPNG_INTERLACE_NONE) {
        /* Row by row: no 8-bit copy of the whole image. */
        rows = malloc(row_bytes);
        if (!rows) {
            st = cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
            goto out;
        }
        rc = spng_decode_image(ctx, NULL, 0, fmt, SPNG_DECODE_TRNS | SPNG_DECODE_PROGRESSIVE);
        for (int y = 0; !rc && y < img->height; y++) {
            rc = spng_decode_row(ctx, rows, row_bytes);
            if (rc == 0 || rc == SPNG_EOI)
                plane_rows(img, y, dst), spread_row(&info, 0, rows, img->width, dst);
            if (rc == SPNG_EOI && y + 1 == img->height)
                rc = 0;
            else if (rc == SPNG_EOI)
                rc = SPNG_EOF;
        }
    } else {
        /* Adam7 delivers rows per pass; decode the whole image at once. */
        size_t total;
        rc = spng_decoded_image_size(ctx, fmt, &total);
        if (!rc) {
            rows = malloc(total);
            if (!rows) {
                st = cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
                goto out;
            }
            rc = spng_decode_image(ctx, rows, total, fmt, SPNG_DECODE_TRNS);
        }
        for (int y = 0; !rc && y < img->height; y++) {
            plane_rows(img, y, dst);
            spread_row(&info, 0, rows + (size_t)y * row_bytes, img->width, dst);
        }
    }
    /* The chunks after the image, up to IEND: their CRCs and presence. */
    if (!rc)
        rc = spng_decode_chunks(ctx);
    if (rc)
        st = spng_fail(err, name, rc);
    else
        st = check_stream(buf, len, name, &info.ihdr, err);
out:
    if (st)
        cnf_image_free(img);
    free(rows);
    spng_ctx_free(ctx);
    return st;
}

/* The whole-image encoder is the streaming writer (png_writer.c) on a
 * memory buffer, so every PNG cnnfilter writes comes from one writer. */
static int to_buf(void *ctx, const void *data, size_t len)
{
    cnf_buf *b = ctx;
    cnf__buf_put(b, data, len);
    return b->failed ? -1 : 0;
}

cnf_status cnf__png_encode(const cnf_image *img, const unsigned char *px,
                           const cnf_encode_opts *opts, unsigned char **out, size_t *out_len,
                           cnf_error *err)
{
    cnf_buf b = {0};
    cnf_png_writer *w = NULL;
    cnf_status st;
    int width = img->width, height = img->height, comp = img->channels;
    int depth = opts->depth == 16 ? 16 : 8;
    const char *text[5] = {NULL};
    int t = 0;
    if (opts->software) {
        text[t++] = "Software";
        text[t++] = opts->software;
    }
    if (opts->comment) {
        text[t++] = "Comment";
        text[t++] = opts->comment;
    }
    *out = NULL;
    *out_len = 0;
    st = cnf_png_writer_open(&w, width, height, comp, depth, CNF_PNG_DEFAULT_LEVEL, 1, text,
                             to_buf, &b, err);
    if (st == CNF_OK)
        st = cnf_png_writer_rows(w, px, (size_t)width * (size_t)comp * (size_t)(depth / 8),
                                 height, err);
    if (st == CNF_OK)
        st = cnf_png_writer_finish(w, err);
    cnf_png_writer_free(w);
    if (st) {
        free(b.data);
        return st;
    }
    *out = b.data;
    *out_len = b.len;
    return CNF_OK;
}

/* The tEXt chunks before the image data: Software starting with
 * "cnnfilter" marks the file, Comment is its comment. */
int cnf__png_mark(const unsigned char *b, size_t len, char *comment, size_t cap)
{
    size_t i = 8;
    int marked = 0;
    while (len >= 12 && i <= len - 12) {
        size_t n = (size_t)b[i] << 24 | (size_t)b[i + 1] << 16 | (size_t)b[i + 2] << 8 | b[i + 3];
        const unsigned char *type = b + i + 4, *d = b + i + 8;
        if (memcmp(type, "IDAT", 4) == 0 || memcmp(type, "IEND", 4) == 0 || n > len - i - 12)
            break;
        if (memcmp(type, "tEXt", 4) == 0) {
            const unsigned char *nul = memchr(d, 0, n);
            if (nul) {
                size_t kn = (size_t)(nul - d), vn = n - kn - 1;
                if (kn == 8 && memcmp(d, "Software", 8) == 0)
                    marked = cnf__mark_software(nul + 1, vn);
                else if (kn == 7 && memcmp(d, "Comment", 7) == 0)
                    cnf__mark_copy(comment, cap, nul + 1, vn);
            }
        }
        i += n + 12;
    }
    if (!marked)
        cnf__mark_copy(comment, cap, NULL, 0);
    return marked;
}

/* ------------------------------------------------------ codec table rows */

const cnf_codec cnf__codec_png = {
    .info = {"png", "png",
             "PNG: gray or RGB, optional alpha, 8 or 16 bits (16 read as v/257)",
             CNF__IMAGE_RW | CNF_FORMAT_16BIT | CNF_FORMAT_MARK, CNF_OUT_PNG},
    .kind = CNF_IN_IMAGE,
    .sniff = cnf__png_sniff,
    .check = png_check,
    .probe = cnf__png_probe,
    .decode = cnf__png_decode,
    .open_reader = cnf__png_reader,
    .streams = cnf__png_streams,
    .memory = png_memory,
    .encode = cnf__png_encode,
    .orientation = cnf__png_orientation,
    .mark = cnf__png_mark,
};
