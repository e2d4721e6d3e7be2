/* pnm_io.c - binary PGM and PPM (P5, P6) by our own decoder: the PNM row of the codec table.
 *
 * PNM is decoded here rather than by stb 2.27, which overflows a signed int
 * on long header numbers (found by fuzzing), reads 16-bit samples in the
 * wrong byte order, does not scale a maxval below 255, and leaves the pixels
 * of a truncated file uninitialised.  Header: magic, width, height, maxval
 * as decimal numbers separated by white space and '#' comments, then one
 * white-space byte, then the samples (big-endian when maxval > 255), each
 * scaled by 255 / maxval.
 */
#include "codec.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct pnm_header {
    int w, h, comp, maxval;
    size_t data; /* offset of the first sample; 0 while the header is incomplete */
} pnm_header;

int cnf__pnm_sniff(const unsigned char *b, size_t len)
{
    if (len == 0)
        return -1;
    if (b[0] != 'P')
        return 0;
    if (len == 1)
        return -1;
    return b[1] == '5' || b[1] == '6';
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* The index of the next header number at or after i: past white space and
 * comments (to the end of their line). */
static size_t skip_filler(const unsigned char *b, size_t len, size_t i)
{
    for (;;) {
        while (i < len && is_space(b[i]))
            i++;
        if (i < len && b[i] == '#') {
            while (i < len && b[i] != '\n' && b[i] != '\r')
                i++;
            continue;
        }
        return i;
    }
}

/* Parse the header into *hd.  `partial`: b is only the start of the file,
 * and a header that runs past len is not an error yet (hd->data stays 0). */
static cnf_status pnm_parse(const unsigned char *b, size_t len, int partial, const char *name,
                            pnm_header *hd, cnf_error *err)
{
    size_t i = 2;
    long v[3];
    hd->data = 0;
    for (int field = 0; field < 3; field++) {
        size_t digits = 0;
        i = skip_filler(b, len, i);
        v[field] = 0;
        while (i < len && b[i] >= '0' && b[i] <= '9') {
            v[field] = v[field] * 10 + (b[i++] - '0');
            if (++digits > 8)
                return cnf__fail(err, CNF_E_DECODE, name,
                                 "PNM header number with more than 8 digits");
        }
        if (i >= len && partial)
            return CNF_OK;
        if (digits == 0)
            return cnf__fail(err, CNF_E_DECODE, name, "truncated or malformed PNM header");
    }
    if (i >= len || !(b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
        return cnf__fail(err, CNF_E_DECODE, name, "truncated or malformed PNM header");
    if (v[0] < 1 || v[1] < 1 || v[2] < 1 || v[2] > 65535)
        return cnf__fail(err, CNF_E_DECODE, name, "PNM header says %ldx%ld, maxval %ld", v[0],
                         v[1], v[2]);
    hd->w = (int)v[0];
    hd->h = (int)v[1];
    hd->maxval = (int)v[2];
    hd->comp = b[1] == '6' ? 3 : 1;
    hd->data = i + 1;
    return CNF_OK;
}

/* The header, and its size against the pixel limit. */
static cnf_status pnm_header_checked(const unsigned char *b, size_t len, const char *name,
                                     uint64_t max_pixels, pnm_header *hd, cnf_error *err)
{
    cnf_status st = pnm_parse(b, len, 0, name, hd, err);
    if (st)
        return st;
    if ((uint64_t)hd->w * (uint64_t)hd->h > max_pixels)
        return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                               "%dx%d image is over the pixel limit %llu", hd->w, hd->h,
                               (unsigned long long)max_pixels);
    return CNF_OK;
}

cnf_status cnf__pnm_check(const unsigned char *b, size_t len, const char *name, cnf_error *err)
{
    pnm_header hd;
    return pnm_parse(b, len, 1, name, &hd, err);
}

cnf_status cnf__pnm_probe(const unsigned char *b, size_t len, const char *name,
                          uint64_t max_pixels, int *width, int *height, int *channels,
                          int *has_alpha, cnf_error *err)
{
    pnm_header hd;
    cnf_status st = pnm_header_checked(b, len, name, max_pixels, &hd, err);
    if (st)
        return st;
    *width = hd.w;
    *height = hd.h;
    *channels = hd.comp;
    *has_alpha = 0;
    return CNF_OK;
}

cnf_status cnf__pnm_decode(const unsigned char *b, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    pnm_header hd;
    size_t plane, need, bps;
    const unsigned char *p;
    double scale;
    cnf_status st = pnm_header_checked(b, len, name, max_pixels, &hd, err);
    if (st)
        return st;
    plane = (size_t)hd.w * (size_t)hd.h;
    bps = hd.maxval > 255 ? 2 : 1;
    need = plane * (size_t)hd.comp * bps;
    if (len - hd.data < need)
        return cnf__fail(err, CNF_E_DECODE, name, "truncated PNM: %zu of %zu bytes of pixels",
                         len - hd.data, need);
    st = cnf_image_alloc(img, hd.w, hd.h, hd.comp, 0, err);
    if (st)
        return st;
    p = b + hd.data;
    scale = 255.0 / hd.maxval;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < hd.comp; c++, p += bps) {
            unsigned v = bps == 2 ? (unsigned)p[0] << 8 | p[1] : p[0];
            if (v > (unsigned)hd.maxval)
                v = (unsigned)hd.maxval;
            img->data[(size_t)c * plane + i] = (float)(v * scale);
        }
    return CNF_OK;
}

/* --------------------------------------------------------- writing */

/* A header comment line "# label: text" with line breaks made spaces. */
static void put_comment(cnf_buf *b, const char *label, const char *text)
{
    cnf__buf_put(b, "# ", 2);
    cnf__buf_put(b, label, strlen(label));
    for (const char *p = text; *p; p++) {
        char c = *p == '\n' || *p == '\r' ? ' ' : *p;
        cnf__buf_put(b, &c, 1);
    }
    cnf__buf_put(b, "\n", 1);
}

/* The header: magic, the mark as comment lines, size and maxval. */
static void pnm_head(cnf_buf *b, int width, int height, int channels, const cnf_encode_opts *opts)
{
    char head[64];
    int n;
    cnf__buf_put(b, channels == 3 ? "P6\n" : "P5\n", 3);
    if (opts->software) {
        put_comment(b, "Software: ", opts->software);
        if (opts->comment)
            put_comment(b, "Comment: ", opts->comment);
    }
    n = snprintf(head, sizeof head, "%d %d\n%d\n", width, height,
                 opts->depth == 16 ? 65535 : 255);
    cnf__buf_put(b, head, (size_t)n);
}

#define PNM_NO_ALPHA                                                                            \
    "PGM/PPM cannot hold alpha; drop it (--alpha drop) or write .png, .tif or .webp"

/* P5 for gray, P6 for RGB; maxval 255, or 65535 with big-endian samples for
 * depth 16; the mark as two comment lines after the magic:
 * "# Software: cnnfilter 0.1.0" and "# Comment: cnnfilter --kernel ...". */
static cnf_status pnm_encode(const cnf_image *img, const unsigned char *px,
                             const cnf_encode_opts *opts, unsigned char **out, size_t *out_len,
                             cnf_error *err)
{
    cnf_buf b = {0};
    int sixteen = opts->depth == 16;
    size_t count = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
    *out = NULL;
    *out_len = 0;
    if (img->has_alpha)
        return cnf__fail(err, CNF_E_FORMAT, NULL, PNM_NO_ALPHA);
    pnm_head(&b, img->width, img->height, img->channels, opts);
    if (!sixteen) {
        cnf__buf_put(&b, px, count);
    } else {
        const uint16_t *s = (const uint16_t *)(const void *)px;
        for (size_t i = 0; i < count && !b.failed; i++) {
            unsigned char be[2] = {(unsigned char)(s[i] >> 8), (unsigned char)s[i]};
            cnf__buf_put(&b, be, 2);
        }
    }
    if (b.failed) {
        free(b.data);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    *out = b.data;
    *out_len = b.len;
    return CNF_OK;
}

/* The header's comment lines: "# Software: cnnfilter..." first marks the
 * file, a "# Comment: " line after it is its comment. */
static int pnm_mark(const unsigned char *b, size_t len, char *comment, size_t cap)
{
    size_t i = 2;
    int marked = 0;
    cnf__mark_copy(comment, cap, NULL, 0);
    while (i < len) {
        size_t start, end;
        if (is_space(b[i])) {
            i++;
            continue;
        }
        if (b[i] != '#')
            break; /* the first number: the comments are over */
        start = i + 1;
        if (start < len && b[start] == ' ')
            start++;
        end = start;
        while (end < len && b[end] != '\n' && b[end] != '\r')
            end++;
        if (!marked) {
            if (end - start < 10 || memcmp(b + start, "Software: ", 10) != 0 ||
                !cnf__mark_software(b + start + 10, end - start - 10))
                return 0;
            marked = 1;
        } else {
            if (end - start >= 9 && memcmp(b + start, "Comment: ", 9) == 0)
                cnf__mark_copy(comment, cap, b + start + 9, end - start - 9);
            break;
        }
        i = end;
    }
    return marked;
}

/* ------------------------------------------------------ codec table rows */

/* Written by rows: the header, then each call's samples (16-bit ones
 * big-endian). */
static cnf_status pnm_open(cnf_row_writer *w, cnf_error *err)
{
    cnf_buf b = {0};
    cnf_status st;
    if (w->has_alpha)
        return cnf__fail(err, CNF_E_FORMAT, NULL, PNM_NO_ALPHA);
    pnm_head(&b, w->width, w->height, w->channels, &w->opts);
    st = b.failed ? cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory")
                  : cnf__fd_write(w->fd, b.data, b.len, err);
    free(b.data);
    return st;
}

static cnf_status pnm_rows(cnf_row_writer *w, int n, unsigned char *px, const float *const *rows,
                           cnf_error *err)
{
    size_t count = (size_t)w->width * (size_t)w->channels * (size_t)n;
    (void)rows;
    if (w->opts.depth == 16) {
        /* in place: the mapped samples are the writer's own */
        unsigned char *b = px;
        for (size_t i = 0; i < count; i++) {
            uint16_t v;
            memcpy(&v, b + 2 * i, 2);
            b[2 * i] = (unsigned char)(v >> 8);
            b[2 * i + 1] = (unsigned char)v;
        }
        count *= 2;
    }
    return cnf__fd_write(w->fd, px, count, err);
}

static const cnf__row_out pnm_row_out = {
    .open = pnm_open,
    .rows = pnm_rows,
};

const cnf_codec cnf__codec_pnm = {
    .info = {"pnm", "pnm pgm ppm",
             "binary PGM or PPM (P5, P6), 8 or 16 bits, scaled to 0..255; no alpha",
             CNF__IMAGE_RW | CNF_FORMAT_16BIT | CNF_FORMAT_MARK, CNF_OUT_PNM},
    .kind = CNF_IN_IMAGE,
    .sniff = cnf__pnm_sniff,
    .check = cnf__pnm_check,
    .probe = cnf__pnm_probe,
    .decode = cnf__pnm_decode,
    .encode = pnm_encode,
    .row_out = &pnm_row_out,
    .mark = pnm_mark,
};
