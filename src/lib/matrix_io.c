/* matrix_io.c - numeric matrices as text (.csv, .txt) in, and .npy / .txt / .json out. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- reading */

typedef struct fvec {
    float *v;
    size_t n, cap, max;
} fvec;

static int fvec_push(fvec *f, float x)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        float *nv;
        if (cap > f->max)
            cap = f->max;
        nv = realloc(f->v, cap * sizeof(float));
        if (!nv)
            return 0;
        f->v = nv;
        f->cap = cap;
    }
    f->v[f->n++] = x;
    return 1;
}

static cnf_status text_fail(cnf_error *err, cnf_status st, const char *name, int line, int col,
                            const char *msg, ...) CNF_PRINTF(6, 7);
static cnf_status text_fail(cnf_error *err, cnf_status st, const char *name, int line, int col,
                            const char *msg, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, msg);
    vsnprintf(buf, sizeof buf, msg, ap);
    va_end(ap);
    return cnf__fail_at(err, st, name, line, col, "%s", buf);
}

/* Rows of numbers, one row per line; a blank line ends a channel; lines
 * starting with '#' are comments.  csv: fields separated by ',' (spaces
 * around them allowed); txt: by spaces or tabs. */
cnf_status cnf__text_matrix(const char *text, size_t len, int csv, const char *name,
                            uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    fvec f = {0};
    size_t i = 0, width = 0, rows = 0, chan_rows = 0, channels = 0;
    int line = 1;
    cnf_status st = CNF_OK;
    uint64_t maxv = max_pixels * CNF_MAX_CHANNELS;
    f.max = maxv > SIZE_MAX / sizeof(float) ? SIZE_MAX / sizeof(float) : (size_t)maxv;
    memset(img, 0, sizeof *img);

    while (i < len) {
        size_t eol = i, count = 0;
        const char *ls = text + i;
        while (eol < len && text[eol] != '\n')
            eol++;
        {
            size_t j = i;
            int blank = 1, comment = 0;
            while (j < eol && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r'))
                j++;
            if (j < eol)
                blank = 0;
            if (!blank && text[j] == '#')
                comment = 1;
            if (blank) {
                if (chan_rows) {
                    if (channels && chan_rows != rows) {
                        st = text_fail(err, CNF_E_DECODE, name, line, 1,
                                       "channel %zu has %zu rows, channel 1 has %zu",
                                       channels + 1, chan_rows, rows);
                        goto fail;
                    }
                    rows = chan_rows;
                    channels++;
                    chan_rows = 0;
                }
                goto next;
            }
            if (comment)
                goto next;
        }
        /* Parse the numbers of this row. */
        {
            size_t j = i;
            for (;;) {
                char buf[128];
                size_t s, e;
                char *end;
                double v;
                while (j < eol && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r'))
                    j++;
                if (j >= eol) {
                    if (csv && count > 0 && text[j - 1] == ',') {
                        st = text_fail(err, CNF_E_DECODE, name, line, (int)(j - i + 1),
                                       "missing value after ','");
                        goto fail;
                    }
                    break;
                }
                s = j;
                while (j < eol && text[j] != ' ' && text[j] != '\t' && text[j] != '\r' &&
                       (!csv || text[j] != ','))
                    j++;
                e = j;
                if (e == s) {
                    st = text_fail(err, CNF_E_DECODE, name, line, (int)(s - i + 1),
                                   "missing value");
                    goto fail;
                }
                if (e - s >= sizeof buf) {
                    st = text_fail(err, CNF_E_DECODE, name, line, (int)(s - i + 1),
                                   "number too long");
                    goto fail;
                }
                memcpy(buf, text + s, e - s);
                buf[e - s] = 0;
                if (strlen(buf) != e - s) {
                    st = text_fail(err, CNF_E_DECODE, name, line, (int)(s - i + 1),
                                   "NUL byte in a number");
                    goto fail;
                }
                errno = 0;
                v = strtod(buf, &end);
                if (*end || end == buf) {
                    st = text_fail(err, CNF_E_DECODE, name, line, (int)(s - i + 1),
                                   "'%.40s' is not a number", buf);
                    goto fail;
                }
                if (!isfinite(v) || !isfinite((float)v)) {
                    st = text_fail(err, CNF_E_DECODE, name, line, (int)(s - i + 1),
                                   "'%.40s' is not a finite number", buf);
                    goto fail;
                }
                if (f.n >= f.max) {
                    st = text_fail(err, CNF_E_TOO_BIG, name, line, (int)(s - i + 1),
                                   "matrix is over the pixel limit");
                    if (err)
                        err->limit = CNF_LIMIT_PIXELS;
                    goto fail;
                }
                if (!fvec_push(&f, (float)v)) {
                    st = cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
                    goto fail;
                }
                count++;
                if (csv) {
                    while (j < eol && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r'))
                        j++;
                    if (j < eol) {
                        if (text[j] != ',') {
                            st = text_fail(err, CNF_E_DECODE, name, line, (int)(j - i + 1),
                                           "expected ','");
                            goto fail;
                        }
                        j++;
                    }
                }
            }
        }
        (void)ls;
        if (width == 0) {
            width = count;
        } else if (count != width) {
            st = text_fail(err, CNF_E_DECODE, name, line, 1,
                           "row has %zu values, the first row has %zu", count, width);
            goto fail;
        }
        chan_rows++;
    next:
        i = eol + 1;
        line++;
    }
    if (chan_rows) {
        if (channels && chan_rows != rows) {
            st = text_fail(err, CNF_E_DECODE, name, line, 1,
                           "channel %zu has %zu rows, channel 1 has %zu", channels + 1, chan_rows,
                           rows);
            goto fail;
        }
        rows = chan_rows;
        channels++;
    }
    if (channels == 0 || width == 0) {
        st = cnf__fail(err, CNF_E_DECODE, name, "no numbers in the matrix");
        goto fail;
    }
    if (channels > CNF_MAX_CHANNELS) {
        st = cnf__fail(err, CNF_E_TOO_BIG, name, "%zu channels; at most %d are supported",
                       channels, CNF_MAX_CHANNELS);
        goto fail;
    }
    if ((uint64_t)rows * width > max_pixels || rows > INT32_MAX || width > INT32_MAX) {
        st = cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                       "%zux%zu matrix is over the pixel limit",
                       width, rows);
        goto fail;
    }
    img->width = (int)width;
    img->height = (int)rows;
    img->channels = (int)channels;
    img->has_alpha = 0;
    img->data = f.v;
    return CNF_OK;
fail:
    free(f.v);
    return st;
}

/* NumPy's format: magic, version, a little-endian header length, then a
 * Python dict literal ({'descr': '<f4', 'fortran_order': False, 'shape': (C, H, W), }),
 * then the raw data.  Only what cnnfilter and common NumPy code write is
 * accepted: C order, 2-D or 3-D, little-endian or byte-sized numbers. */
static const char *dict_value(const char *h, size_t n, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl < n; i++)
        if (memcmp(h + i, key, kl) == 0) {
            const char *p = h + i + kl;
            while (p < h + n && (*p == ' ' || *p == ':'))
                p++;
            return p;
        }
    return NULL;
}

cnf_status cnf__npy_matrix(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    size_t hl, off, dims[3], nd = 0, count = 1, esize;
    const char *h, *p, *end;
    char type;
    int big;
    memset(img, 0, sizeof *img);
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return cnf__fail(err, CNF_E_DECODE, name, "not a .npy file");
    if (buf[6] == 1) {
        hl = buf[8] | (size_t)buf[9] << 8;
        off = 10;
    } else if ((buf[6] == 2 || buf[6] == 3) && len >= 12) {
        hl = buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        off = 12;
    } else {
        return cnf__fail(err, CNF_E_DECODE, name, ".npy version %d is not supported", buf[6]);
    }
    if (hl > len - off || hl > 65536)
        return cnf__fail(err, CNF_E_DECODE, name, "truncated .npy header");
    h = (const char *)buf + off;
    end = h + hl;
    p = dict_value(h, hl, "'fortran_order'");
    if (!p || end - p < 5 || memcmp(p, "False", 5) != 0)
        return cnf__fail(err, CNF_E_DECODE, name, "only C-order .npy arrays are supported");
    p = dict_value(h, hl, "'descr'");
    if (!p || end - p < 5 || *p != '\'')
        return cnf__fail(err, CNF_E_DECODE, name, "no dtype in the .npy header");
    big = p[1] == '>';
    type = p[2];
    esize = (size_t)(p[3] - '0');
    if (!((type == 'f' && (esize == 4 || esize == 8)) ||
          ((type == 'u' || type == 'i') && (esize == 1 || esize == 2 || esize == 4))) ||
        p[4] != '\'' || (big && esize > 1))
        return cnf__fail(err, CNF_E_DECODE, name,
                         "unsupported .npy dtype (use float32/64 or little-endian integers)");
    p = dict_value(h, hl, "'shape'");
    if (!p || *p != '(')
        return cnf__fail(err, CNF_E_DECODE, name, "no shape in the .npy header");
    for (p++; p < end && *p != ')';) {
        char *e;
        unsigned long long v;
        while (p < end && (*p == ' ' || *p == ','))
            p++;
        if (p >= end || *p == ')')
            break;
        v = strtoull(p, &e, 10);
        if (e == p || nd >= 3 || v == 0 || v > INT32_MAX)
            return cnf__fail(err, CNF_E_DECODE, name, ".npy shape must be 2-D or 3-D, non-empty");
        dims[nd++] = (size_t)v;
        p = e;
    }
    if (nd < 2)
        return cnf__fail(err, CNF_E_DECODE, name, ".npy shape must be 2-D (H,W) or 3-D (C,H,W)");
    if (nd == 2) {
        dims[2] = dims[1];
        dims[1] = dims[0];
        dims[0] = 1;
    }
    if (dims[0] > CNF_MAX_CHANNELS)
        return cnf__fail(err, CNF_E_TOO_BIG, name, "%zu channels; at most %d are supported",
                         dims[0], CNF_MAX_CHANNELS);
    if ((uint64_t)dims[1] * dims[2] > max_pixels)
        return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                         "%zux%zu matrix is over the pixel limit",
                         dims[2], dims[1]);
    count = dims[0] * dims[1] * dims[2];
    if ((len - off - hl) / esize < count)
        return cnf__fail(err, CNF_E_DECODE, name, "truncated .npy data");
    {
        cnf_status st = cnf_image_alloc(img, (int)dims[2], (int)dims[1], (int)dims[0], 0, err);
        const unsigned char *d = buf + off + hl;
        if (st) {
            cnf__error_names_file(err, name);
            return st;
        }
        for (size_t i = 0; i < count; i++, d += esize) {
            uint64_t u = 0;
            double v;
            for (size_t b = 0; b < esize; b++)
                u |= (uint64_t)d[b] << (8 * b);
            if (type == 'f' && esize == 4) {
                uint32_t u32 = (uint32_t)u;
                float f;
                memcpy(&f, &u32, 4);
                v = f;
            } else if (type == 'f') {
                memcpy(&v, &u, 8);
            } else if (type == 'u') {
                v = (double)u;
            } else {
                /* Sign-extend from esize bytes. */
                int shift = 64 - 8 * (int)esize;
                v = (double)((int64_t)(u << shift) >> shift);
            }
            if (!isfinite(v) || !isfinite((float)v)) {
                cnf_image_free(img);
                return cnf__fail(err, CNF_E_DECODE, name, "value %zu is not a finite float32",
                                 i);
            }
            img->data[i] = (float)v;
        }
    }
    return CNF_OK;
}

/* ------------------------------------------------------------- writing */

typedef cnf_buf obuf;

static void ob_put(obuf *o, const void *p, size_t n) { cnf__buf_put(o, p, n); }

static void ob_str(obuf *o, const char *s) { ob_put(o, s, strlen(s)); }

/* %.9g round-trips any float32; -0 is written as 0 so text output does not
 * depend on the sign of a zero product. */
static void ob_num(obuf *o, float v)
{
    char b[40];
    int n = snprintf(b, sizeof b, "%.9g", (double)(v + 0.0f));
    ob_put(o, b, (size_t)n);
}

static int host_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

cnf_status cnf__encode_matrix(const cnf_image *img, cnf_output_format fmt, unsigned char **out,
                              size_t *out_len, cnf_error *err)
{
    obuf o = {0};
    size_t plane = (size_t)img->width * (size_t)img->height;
    if (fmt == CNF_OUT_NPY) {
        char hdr[256];
        int n = snprintf(hdr, sizeof hdr,
                         "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d), }",
                         img->channels, img->height, img->width);
        /* Version 1.0: magic, 2 bytes version, 2 bytes header length; the
         * whole preamble padded with spaces to a multiple of 64, ending '\n'. */
        size_t total = 10 + (size_t)n + 1;
        size_t pad = (64 - total % 64) % 64;
        uint16_t hl = (uint16_t)(n + 1 + pad);
        unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff),
                                 (unsigned char)(hl >> 8)};
        ob_put(&o, pre, 10);
        ob_put(&o, hdr, (size_t)n);
        for (size_t i = 0; i < pad; i++)
            ob_put(&o, " ", 1);
        ob_put(&o, "\n", 1);
        if (host_little_endian()) {
            ob_put(&o, img->data, plane * (size_t)img->channels * sizeof(float));
        } else {
            for (size_t i = 0; i < plane * (size_t)img->channels; i++) {
                unsigned char b[4], r[4];
                memcpy(b, &img->data[i], 4);
                r[0] = b[3];
                r[1] = b[2];
                r[2] = b[1];
                r[3] = b[0];
                ob_put(&o, r, 4);
            }
        }
    } else if (fmt == CNF_OUT_TXT) {
        for (int c = 0; c < img->channels; c++) {
            const float *p = cnf_image_plane(img, c);
            if (c)
                ob_str(&o, "\n");
            for (int y = 0; y < img->height; y++) {
                for (int x = 0; x < img->width; x++) {
                    if (x)
                        ob_str(&o, " ");
                    ob_num(&o, p[(size_t)y * img->width + x]);
                }
                ob_str(&o, "\n");
            }
        }
    } else if (fmt == CNF_OUT_JSON) {
        int three = img->channels > 1;
        for (size_t i = 0; i < plane * (size_t)img->channels; i++)
            if (!isfinite(img->data[i])) {
                free(o.data);
                return cnf__fail(err, CNF_E_FORMAT, NULL,
                                 "the result has non-finite values, which JSON cannot hold; use "
                                 ".npy or .txt");
            }
        if (three)
            ob_str(&o, "[\n");
        for (int c = 0; c < img->channels; c++) {
            const float *p = cnf_image_plane(img, c);
            ob_str(&o, three ? " [\n" : "[\n");
            for (int y = 0; y < img->height; y++) {
                ob_str(&o, three ? "  [" : " [");
                for (int x = 0; x < img->width; x++) {
                    if (x)
                        ob_str(&o, ", ");
                    ob_num(&o, p[(size_t)y * img->width + x]);
                }
                ob_str(&o, y + 1 < img->height ? "],\n" : "]\n");
            }
            ob_str(&o, three ? (c + 1 < img->channels ? " ],\n" : " ]\n") : "]\n");
        }
        if (three)
            ob_str(&o, "]\n");
    } else {
        return cnf__fail(err, CNF_E_USAGE, NULL, "not a matrix format");
    }
    if (o.failed) {
        free(o.data);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    *out = o.data;
    *out_len = o.len;
    return CNF_OK;
}
