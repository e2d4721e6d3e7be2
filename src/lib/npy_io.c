/* npy_io.c - NumPy .npy arrays: 2-D or 3-D, C order, float or integer in; float32 (C,H,W) out.
 *
 * NumPy's format: magic, version, a little-endian header length, then a
 * Python dict literal ({'descr': '<f4', 'fortran_order': False, 'shape':
 * (C, H, W), }), then the raw data.  Only what cnnfilter and common NumPy
 * code write is read: C order, 2-D (H,W) or 3-D (C,H,W), float32/64 or
 * (u)int8/16/32, little-endian or byte-sized.  Weight files of learned
 * layers (npy_array.h) are read here too: 1-D to 4-D, float32 or float64.
 */
#include "codec.h"
#include "npy_array.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAGIC "\x93NUMPY"

typedef struct npy_header {
    size_t data;    /* offset of the first value; 0 while the header is incomplete */
    size_t dims[3]; /* C, H, W */
    size_t esize;   /* bytes per value */
    char type;      /* 'f', 'u' or 'i' */
} npy_header;

int cnf__npy_sniff(const unsigned char *b, size_t len) { return cnf__magic(b, len, NPY_MAGIC, 6); }

/* The value of `key` in the header dict: just after the key, its ':' and
 * spaces (may be `end`); NULL when the key is not there. */
static const char *dict_value(const char *h, const char *end, const char *key)
{
    size_t kl = strlen(key), n = (size_t)(end - h);
    for (size_t i = 0; i + kl < n; i++)
        if (memcmp(h + i, key, kl) == 0) {
            const char *p = h + i + kl;
            while (p < end && (*p == ' ' || *p == ':'))
                p++;
            return p;
        }
    return NULL;
}

static cnf_status npy_dtype(const char *h, const char *end, const char *name, npy_header *hd,
                            cnf_error *err)
{
    const char *p = dict_value(h, end, "'fortran_order'");
    int big;
    if (!p || end - p < 5 || memcmp(p, "False", 5) != 0)
        return cnf__fail(err, CNF_E_DECODE, name, "only C-order .npy arrays are supported");
    p = dict_value(h, end, "'descr'");
    if (!p || end - p < 5 || *p != '\'')
        return cnf__fail(err, CNF_E_DECODE, name, "no dtype in the .npy header");
    big = p[1] == '>';
    hd->type = p[2];
    hd->esize = (size_t)(p[3] - '0');
    if (!((hd->type == 'f' && (hd->esize == 4 || hd->esize == 8)) ||
          ((hd->type == 'u' || hd->type == 'i') &&
           (hd->esize == 1 || hd->esize == 2 || hd->esize == 4))) ||
        p[4] != '\'' || (big && hd->esize > 1))
        return cnf__fail(err, CNF_E_DECODE, name,
                         "unsupported .npy dtype (use float32/64 or little-endian integers)");
    return CNF_OK;
}

/* One dimension of the shape tuple, read as strtoull would (white space,
 * an optional sign, decimal digits) but never past `end`; 0 when there is
 * none or it is out of 1..INT32_MAX. */
static size_t shape_number(const char **pp, const char *end)
{
    const char *p = *pp;
    unsigned long long v = 0;
    int neg = 0, digits = 0;
    while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
        p++;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    for (; p < end && *p >= '0' && *p <= '9'; p++, digits++)
        if (v <= INT32_MAX)
            v = v * 10 + (unsigned long long)(*p - '0');
    *pp = p;
    return digits && !neg && v >= 1 && v <= INT32_MAX ? (size_t)v : 0;
}

/* The numbers of the header's 'shape' tuple, at most max of them, into dims:
 * 0 (*nd of them), -1 no shape tuple, -2 an empty or bad dimension, -3 more
 * than max.  The image reader and the weight reader word these themselves. */
static int shape_dims(const char *h, const char *end, size_t *dims, size_t max, size_t *nd)
{
    const char *p = dict_value(h, end, "'shape'");
    *nd = 0;
    if (!p || p >= end || *p != '(')
        return -1;
    for (p++; p < end && *p != ')';) {
        size_t v;
        while (p < end && (*p == ' ' || *p == ','))
            p++;
        if (p >= end || *p == ')')
            break;
        v = shape_number(&p, end);
        if (v == 0)
            return -2;
        if (*nd >= max)
            return -3;
        dims[(*nd)++] = v;
    }
    return 0;
}

static cnf_status npy_shape(const char *h, const char *end, const char *name, npy_header *hd,
                            cnf_error *err)
{
    size_t nd;
    int r = shape_dims(h, end, hd->dims, 3, &nd);
    if (r == -1)
        return cnf__fail(err, CNF_E_DECODE, name, "no shape in the .npy header");
    if (r < 0)
        return cnf__fail(err, CNF_E_DECODE, name, ".npy shape must be 2-D or 3-D, non-empty");
    if (nd < 2)
        return cnf__fail(err, CNF_E_DECODE, name, ".npy shape must be 2-D (H,W) or 3-D (C,H,W)");
    if (nd == 2) {
        hd->dims[2] = hd->dims[1];
        hd->dims[1] = hd->dims[0];
        hd->dims[0] = 1;
    }
    if (hd->dims[0] > CNF_MAX_CHANNELS)
        return cnf__fail(err, CNF_E_TOO_BIG, name, "%zu channels; at most %d are supported",
                         hd->dims[0], CNF_MAX_CHANNELS);
    return CNF_OK;
}

/* Magic, version and the header dict's place (b + *off, *hl bytes).
 * `partial`: b is only the start of the file, and a start that may still
 * become a .npy file is not an error yet: CNF_OK with *more set. */
static cnf_status npy_preamble(const unsigned char *b, size_t len, int partial, const char *name,
                               size_t *off, size_t *hl, int *more, cnf_error *err)
{
    *more = 0;
    if (len < 10 || memcmp(b, NPY_MAGIC, 6) != 0) {
        if (partial && len < 10 && cnf__npy_sniff(b, len) != 0)
            return *more = 1, CNF_OK;
        return cnf__fail(err, CNF_E_DECODE, name, "not a .npy file");
    }
    if (b[6] == 1) {
        *hl = b[8] | (size_t)b[9] << 8;
        *off = 10;
    } else if ((b[6] == 2 || b[6] == 3) && len >= 12) {
        *hl = b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        *off = 12;
    } else if ((b[6] == 2 || b[6] == 3) && partial) {
        return *more = 1, CNF_OK;
    } else {
        return cnf__fail(err, CNF_E_DECODE, name, ".npy version %d is not supported", b[6]);
    }
    if (*hl > len - *off && *hl <= 65536 && partial)
        return *more = 1, CNF_OK;
    if (*hl > len - *off || *hl > 65536)
        return cnf__fail(err, CNF_E_DECODE, name, "truncated .npy header");
    return CNF_OK;
}

/* The header of an image: `partial` as above (hd->data stays 0 then). */
static cnf_status npy_parse(const unsigned char *b, size_t len, int partial, const char *name,
                            npy_header *hd, cnf_error *err)
{
    size_t hl = 0, off = 0;
    const char *h;
    int more;
    cnf_status st = npy_preamble(b, len, partial, name, &off, &hl, &more, err);
    hd->data = 0;
    if (st || more)
        return st;
    h = (const char *)b + off;
    st = npy_dtype(h, h + hl, name, hd, err);
    if (st == CNF_OK)
        st = npy_shape(h, h + hl, name, hd, err);
    if (st == CNF_OK)
        hd->data = off + hl;
    return st;
}

cnf_status cnf__npy_check(const unsigned char *b, size_t len, const char *name, cnf_error *err)
{
    npy_header hd;
    return npy_parse(b, len, 1, name, &hd, err);
}

/* Value i of the data as a double (little-endian, sign-extended integers). */
static double npy_value(const unsigned char *d, const npy_header *hd)
{
    uint64_t u = 0;
    double v;
    for (size_t b = 0; b < hd->esize; b++)
        u |= (uint64_t)d[b] << (8 * b);
    if (hd->type == 'f' && hd->esize == 4) {
        uint32_t u32 = (uint32_t)u;
        float f;
        memcpy(&f, &u32, 4);
        v = f;
    } else if (hd->type == 'f') {
        memcpy(&v, &u, 8);
    } else if (hd->type == 'u') {
        v = (double)u;
    } else {
        int shift = 64 - 8 * (int)hd->esize;
        v = (double)((int64_t)(u << shift) >> shift);
    }
    return v;
}

cnf_status cnf__npy_decode(const unsigned char *b, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    npy_header hd;
    size_t count;
    const unsigned char *d;
    cnf_status st;
    memset(img, 0, sizeof *img);
    st = npy_parse(b, len, 0, name, &hd, err);
    if (st)
        return st;
    if ((uint64_t)hd.dims[1] * hd.dims[2] > max_pixels)
        return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                               "%zux%zu matrix is over the pixel limit", hd.dims[2], hd.dims[1]);
    count = hd.dims[0] * hd.dims[1] * hd.dims[2];
    if ((len - hd.data) / hd.esize < count)
        return cnf__fail(err, CNF_E_DECODE, name, "truncated .npy data");
    st = cnf_image_alloc(img, (int)hd.dims[2], (int)hd.dims[1], (int)hd.dims[0], 0, err);
    if (st) {
        cnf__error_names_file(err, name);
        return st;
    }
    d = b + hd.data;
    for (size_t i = 0; i < count; i++, d += hd.esize) {
        double v = npy_value(d, &hd);
        if (!isfinite(v) || !isfinite((float)v)) {
            cnf_image_free(img);
            return cnf__fail(err, CNF_E_DECODE, name, "value %zu is not a finite float32", i);
        }
        img->data[i] = (float)v;
    }
    return CNF_OK;
}

static int host_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* Version 1.0 with '<f4' and the shape (C, H, W). */
/* The preamble of a float32 array of shape (channels, height, width):
 * magic, 2 bytes version, 2 bytes header length, the header dict; padded
 * with spaces to a multiple of 64, ending '\n'. */
static void npy_head(cnf_buf *o, int channels, int height, int width)
{
    char hdr[256];
    int n = snprintf(hdr, sizeof hdr,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d), }",
                     channels, height, width);
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    uint16_t hl = (uint16_t)(n + 1 + pad);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff),
                             (unsigned char)(hl >> 8)};
    cnf__buf_put(o, pre, 10);
    cnf__buf_put(o, hdr, (size_t)n);
    for (size_t i = 0; i < pad; i++)
        cnf__buf_put(o, " ", 1);
    cnf__buf_put(o, "\n", 1);
}

cnf_status cnf__npy_encode(const cnf_image *img, const unsigned char *px,
                           const cnf_encode_opts *opts, unsigned char **out, size_t *out_len,
                           cnf_error *err)
{
    cnf_buf o = {0};
    size_t values = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
    (void)px;
    (void)opts;
    npy_head(&o, img->channels, img->height, img->width);
    if (host_little_endian()) {
        cnf__buf_put(&o, img->data, values * sizeof(float));
    } else {
        for (size_t i = 0; i < values; i++) {
            unsigned char v[4], r[4];
            memcpy(v, &img->data[i], 4);
            r[0] = v[3];
            r[1] = v[2];
            r[2] = v[1];
            r[3] = v[0];
            cnf__buf_put(&o, r, 4);
        }
    }
    if (o.failed) {
        free(o.data);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    *out = o.data;
    *out_len = o.len;
    return CNF_OK;
}

/* ------------------------------------------------------ weight files */

/* The dtype of a weight file: float32 or float64, little-endian, as NumPy and PyTorch
 * write them ('<f4', '<f8'); integers are refused because weights are never integers by
 * accident of the format, and a wrong array is more likely than a deliberate one. */
static cnf_status weight_dtype(const char *h, const char *end, const char *name,
                               cnf_npy_array *a, cnf_error *err)
{
    const char *p = dict_value(h, end, "'fortran_order'"), *q;
    if (!p || end - p < 5 || memcmp(p, "False", 5) != 0)
        return cnf__fail(err, CNF_E_DECODE, name,
                         "only C-order .npy arrays are supported (not Fortran order)");
    p = dict_value(h, end, "'descr'");
    if (!p || p >= end || *p != '\'')
        return cnf__fail(err, CNF_E_DECODE, name, "no dtype in the .npy header");
    for (q = p + 1; q < end && *q != '\''; q++)
        ;
    if (q - p == 4 && p[1] == '<' && p[2] == 'f' && (p[3] == '4' || p[3] == '8')) {
        a->esize = (size_t)(p[3] - '0');
        return CNF_OK;
    }
    return cnf__fail(err, CNF_E_DECODE, name,
                     "dtype %.*s is not float32 or float64 ('<f4' or '<f8')",
                     (int)(q - p + 1 < 16 ? q - p + 1 : 16), p);
}

static cnf_status weight_shape(const char *h, const char *end, const char *name,
                               cnf_npy_array *a, cnf_error *err)
{
    size_t nd;
    int r = shape_dims(h, end, a->dims, CNF_NPY_MAX_DIMS, &nd);
    a->ndims = 0;
    a->count = 1;
    if (r == -1)
        return cnf__fail(err, CNF_E_DECODE, name, "no shape in the .npy header");
    if (r == -2)
        return cnf__fail(err, CNF_E_DECODE, name, "the .npy shape has an empty or bad "
                                                  "dimension");
    if (r == -3)
        return cnf__fail(err, CNF_E_DECODE, name, "the .npy array has more than %d "
                                                  "dimensions", CNF_NPY_MAX_DIMS);
    for (a->ndims = 0; a->ndims < (int)nd; a->ndims++)
        /* Each dimension is below 2^31: four of them cannot overflow 64 bits, but a
         * size_t of 32 bits could. */
        if (!cnf__mul(a->count, a->dims[a->ndims], &a->count))
            return cnf__fail(err, CNF_E_DECODE, name, "the .npy array is too large");
    if (a->ndims == 0)
        return cnf__fail(err, CNF_E_DECODE, name, "the .npy array is a scalar (shape ())");
    return CNF_OK;
}

cnf_status cnf__npy_array_header(const unsigned char *b, size_t len, const char *name,
                                 cnf_npy_array *a, cnf_error *err)
{
    size_t hl = 0, off = 0;
    const char *h;
    int more;
    cnf_status st;
    memset(a, 0, sizeof *a);
    if ((st = npy_preamble(b, len, 0, name, &off, &hl, &more, err)) != CNF_OK)
        return st;
    h = (const char *)b + off;
    st = weight_dtype(h, h + hl, name, a, err);
    if (st == CNF_OK)
        st = weight_shape(h, h + hl, name, a, err);
    if (st == CNF_OK)
        a->data = off + hl;
    return st;
}

double cnf__npy_array_value(const cnf_npy_array *a, const unsigned char *data, size_t i)
{
    npy_header hd;
    memset(&hd, 0, sizeof hd);
    hd.type = 'f';
    hd.esize = a->esize;
    return npy_value(data + i * a->esize, &hd);
}

/* ------------------------------------------------------ codec table rows */

/* Written by rows into a regular file: the array is channel by channel, so
 * each call's rows of channel c go at their offset in c's part (a
 * contiguous run of the file per channel), through a buffer of at most
 * NPY_CHUNK bytes (or one row). */
#define NPY_CHUNK ((size_t)1 << 20)

typedef struct npy_rows {
    uint64_t data; /* offset of the first value */
    unsigned char *buf;
    size_t cap; /* rows the buffer holds */
} npy_rows;

static cnf_status npy_open(cnf_row_writer *w, cnf_error *err)
{
    cnf_buf o = {0};
    npy_rows *s = calloc(1, sizeof *s);
    size_t row = (size_t)w->width * sizeof(float);
    cnf_status st;
    if (!s)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    w->state = s;
    s->cap = NPY_CHUNK / row ? NPY_CHUNK / row : 1;
    if (s->cap > (size_t)w->height)
        s->cap = (size_t)w->height;
    npy_head(&o, w->channels, w->height, w->width);
    if (o.failed || !(s->buf = malloc(s->cap * row))) {
        free(o.data);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    s->data = o.len;
    st = cnf__fd_pwrite(w->fd, o.data, o.len, 0, err);
    free(o.data);
    return st;
}

static cnf_status npy_rows_write(cnf_row_writer *w, int n, unsigned char *px,
                                 const float *const *rows, cnf_error *err)
{
    npy_rows *s = w->state;
    size_t row = (size_t)w->width * sizeof(float);
    int little = host_little_endian();
    (void)px;
    for (int c = 0; c < w->channels; c++)
        for (int i0 = 0; i0 < n; i0 += (int)s->cap) {
            int k = n - i0 < (int)s->cap ? n - i0 : (int)s->cap;
            uint64_t first = (uint64_t)c * (uint64_t)w->height + (uint64_t)(w->y + i0);
            cnf_status st;
            for (int i = 0; i < k; i++) {
                unsigned char *d = s->buf + (size_t)i * row;
                memcpy(d, rows[(size_t)(i0 + i) * (size_t)w->channels + (size_t)c], row);
                for (size_t x = 0; !little && x < row; x += 4) {
                    unsigned char t = d[x];
                    d[x] = d[x + 3];
                    d[x + 3] = t;
                    t = d[x + 1];
                    d[x + 1] = d[x + 2];
                    d[x + 2] = t;
                }
            }
            st = cnf__fd_pwrite(w->fd, s->buf, (size_t)k * row, s->data + first * row, err);
            if (st)
                return st;
        }
    return CNF_OK;
}

static void npy_destroy(cnf_row_writer *w)
{
    npy_rows *s = w->state;
    if (s)
        free(s->buf);
    free(s);
}

static const cnf__row_out npy_row_out = {
    .seeks = 1,
    .open = npy_open,
    .rows = npy_rows_write,
    .destroy = npy_destroy,
};

const cnf_codec cnf__codec_npy = {
    .info = {"npy", "npy",
             "NumPy array (H,W) or (C,H,W); written as float32 (C,H,W)",
             CNF__MATRIX_RW, CNF_OUT_NPY},
    .kind = CNF_IN_NPY,
    .sniff = cnf__npy_sniff,
    .check = cnf__npy_check,
    .decode = cnf__npy_decode,
    .encode = cnf__npy_encode,
    .row_out = &npy_row_out,
};
