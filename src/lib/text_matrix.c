/* text_matrix.c - numbers as text: .txt and .csv matrices in, .txt and .json out, and the JSON matrix row.
 *
 * Input: rows of numbers, one row per line; a blank line ends a channel;
 * lines starting with '#' are comments.  .csv: fields separated by ','
 * (spaces around them allowed); .txt: by spaces or tabs.  Errors give the
 * line and column.  JSON matrices are parsed by cnf__json_matrix (the only
 * cJSON user); only its codec glue is here.
 */
#include "codec.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ sniffing */

/* The first byte that is not white space, or len. */
static size_t skip_space(const unsigned char *b, size_t len)
{
    size_t i = 0;
    while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
        i++;
    return i;
}

/* An unnamed input is text when it starts (after white space) like a number. */
int cnf__txt_sniff(const unsigned char *b, size_t len)
{
    size_t i = skip_space(b, len);
    if (i == len)
        return -1;
    return b[i] == '-' || b[i] == '+' || b[i] == '.' || (b[i] >= '0' && b[i] <= '9');
}

/* ... and JSON when it starts with '['. */
int cnf__json_sniff(const unsigned char *b, size_t len)
{
    size_t i = skip_space(b, len);
    if (i == len)
        return -1;
    return b[i] == '[';
}

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

/* The values after which a check of the start of a file stops: up to there
 * no pixel limit of 1 or more (64 values per pixel, one per channel) can
 * have been hit, so every error found is the one the whole file gives. */
#define CHECK_VALUES 64

/* A parse in progress.  `partial`: text is only the start of the input,
 * and the parse stops (setting `undecided`) where the rest could change
 * the verdict: at a line or number that reaches the end of the text, or
 * after CHECK_VALUES values. */
typedef struct text_parse {
    const char *text;
    size_t len;
    int csv, partial, undecided;
    const char *name;
    cnf_error *err;
    fvec f;
    size_t width, rows, chan_rows, channels;
    int line;
} text_parse;

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static cnf_status text_fail(text_parse *p, cnf_status st, int col, const char *msg, ...)
    CNF_PRINTF(4, 5);
static cnf_status text_fail(text_parse *p, cnf_status st, int col, const char *msg, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, msg);
    vsnprintf(buf, sizeof buf, msg, ap);
    va_end(ap);
    return cnf__fail_at(p->err, st, p->name, p->line, col, "%s", buf);
}

static cnf_status undecided(text_parse *p)
{
    p->undecided = 1;
    return CNF_OK;
}

/* A blank line (or the end) closes the channel being read, if any. */
static cnf_status end_channel(text_parse *p)
{
    if (!p->chan_rows)
        return CNF_OK;
    if (p->channels && p->chan_rows != p->rows)
        return text_fail(p, CNF_E_DECODE, 1, "channel %zu has %zu rows, channel 1 has %zu",
                         p->channels + 1, p->chan_rows, p->rows);
    p->rows = p->chan_rows;
    p->channels++;
    p->chan_rows = 0;
    return CNF_OK;
}

/* The number starting at *jp (not blank) in the line starting at ls and
 * ending at eol; *jp is left after it. */
static cnf_status parse_number(text_parse *p, size_t ls, size_t *jp, size_t eol)
{
    const char *t = p->text;
    char buf[128];
    size_t s = *jp, e = s;
    int col = (int)(s - ls + 1);
    char *end;
    double v;
    while (e < eol && !is_blank(t[e]) && (!p->csv || t[e] != ','))
        e++;
    *jp = e;
    if (e == s)
        return text_fail(p, CNF_E_DECODE, col, "missing value");
    if (e - s >= sizeof buf)
        return text_fail(p, CNF_E_DECODE, col, "number too long");
    if (p->partial && e == p->len)
        return undecided(p);
    memcpy(buf, t + s, e - s);
    buf[e - s] = 0;
    if (strlen(buf) != e - s)
        return text_fail(p, CNF_E_DECODE, col, "NUL byte in a number");
    errno = 0;
    v = strtod(buf, &end);
    if (*end || end == buf)
        return text_fail(p, CNF_E_DECODE, col, "'%.40s' is not a number", buf);
    if (!isfinite(v) || !isfinite((float)v))
        return text_fail(p, CNF_E_DECODE, col, "'%.40s' is not a finite number", buf);
    if (p->f.n >= p->f.max) {
        cnf_status st;
        if (p->partial)
            return undecided(p);
        st = text_fail(p, CNF_E_TOO_BIG, col, "matrix is over the pixel limit");
        if (p->err)
            p->err->limit = CNF_LIMIT_PIXELS;
        return st;
    }
    if (!fvec_push(&p->f, (float)v))
        return cnf__fail(p->err, CNF_E_NOMEM, p->name, "out of memory");
    return CNF_OK;
}

/* The numbers of the line [ls, eol), which is not blank or a comment. */
static cnf_status parse_row(text_parse *p, size_t ls, size_t eol)
{
    const char *t = p->text;
    size_t j = ls, count = 0;
    int open = p->partial && eol == p->len; /* the line may go on past the text */
    for (;;) {
        cnf_status st;
        while (j < eol && is_blank(t[j]))
            j++;
        if (j >= eol) {
            if (open)
                return undecided(p);
            if (p->csv && count > 0 && t[j - 1] == ',')
                return text_fail(p, CNF_E_DECODE, (int)(j - ls + 1), "missing value after ','");
            break;
        }
        st = parse_number(p, ls, &j, eol);
        if (st || p->undecided)
            return st;
        count++;
        if (p->csv) {
            while (j < eol && is_blank(t[j]))
                j++;
            if (j < eol) {
                if (t[j] != ',')
                    return text_fail(p, CNF_E_DECODE, (int)(j - ls + 1), "expected ','");
                j++;
            }
        }
    }
    if (p->width == 0)
        p->width = count;
    else if (count != p->width)
        return text_fail(p, CNF_E_DECODE, 1, "row has %zu values, the first row has %zu", count,
                         p->width);
    p->chan_rows++;
    return CNF_OK;
}

/* Every line, then the last channel. */
static cnf_status parse_lines(text_parse *p)
{
    const char *t = p->text;
    size_t i = 0;
    while (i < p->len) {
        size_t eol = i, j = i;
        cnf_status st = CNF_OK;
        while (eol < p->len && t[eol] != '\n')
            eol++;
        while (j < eol && is_blank(t[j]))
            j++;
        if (j == eol)
            st = p->partial && eol == p->len ? undecided(p) : end_channel(p);
        else if (t[j] != '#')
            st = parse_row(p, i, eol);
        if (st || p->undecided)
            return st;
        i = eol + 1;
        p->line++;
    }
    return p->partial ? undecided(p) : end_channel(p);
}

static void text_init(text_parse *p, const unsigned char *buf, size_t len, int csv, int partial,
                      const char *name, uint64_t max_pixels, cnf_error *err)
{
    uint64_t maxv = max_pixels * CNF_MAX_CHANNELS;
    memset(p, 0, sizeof *p);
    p->text = (const char *)buf;
    p->len = len;
    p->csv = csv;
    p->partial = partial;
    p->name = name;
    p->err = err;
    p->line = 1;
    p->f.max = maxv > SIZE_MAX / sizeof(float) ? SIZE_MAX / sizeof(float) : (size_t)maxv;
    if (partial)
        p->f.max = CHECK_VALUES;
}

static cnf_status text_matrix(const unsigned char *buf, size_t len, int csv, const char *name,
                              uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    text_parse p;
    cnf_status st;
    text_init(&p, buf, len, csv, 0, name, max_pixels, err);
    memset(img, 0, sizeof *img);
    st = parse_lines(&p);
    if (st == CNF_OK && (p.channels == 0 || p.width == 0))
        st = cnf__fail(err, CNF_E_DECODE, name, "no numbers in the matrix");
    if (st == CNF_OK && p.channels > CNF_MAX_CHANNELS)
        st = cnf__fail(err, CNF_E_TOO_BIG, name, "%zu channels; at most %d are supported",
                       p.channels, CNF_MAX_CHANNELS);
    if (st == CNF_OK && ((uint64_t)p.rows * p.width > max_pixels || p.rows > INT32_MAX ||
                         p.width > INT32_MAX))
        st = cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                             "%zux%zu matrix is over the pixel limit", p.width, p.rows);
    if (st) {
        free(p.f.v);
        return st;
    }
    img->width = (int)p.width;
    img->height = (int)p.rows;
    img->channels = (int)p.channels;
    img->has_alpha = 0;
    img->data = p.f.v;
    return CNF_OK;
}

static cnf_status text_check(const unsigned char *buf, size_t len, int csv, const char *name,
                             cnf_error *err)
{
    text_parse p;
    cnf_status st;
    text_init(&p, buf, len, csv, 1, name, 0, err);
    st = parse_lines(&p);
    free(p.f.v);
    return st;
}

cnf_status cnf__txt_decode(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    return text_matrix(buf, len, 0, name, max_pixels, img, err);
}

cnf_status cnf__csv_decode(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    return text_matrix(buf, len, 1, name, max_pixels, img, err);
}

cnf_status cnf__txt_check(const unsigned char *buf, size_t len, const char *name,
                          cnf_error *err)
{
    return text_check(buf, len, 0, name, err);
}

cnf_status cnf__csv_check(const unsigned char *buf, size_t len, const char *name,
                          cnf_error *err)
{
    return text_check(buf, len, 1, name, err);
}

cnf_status cnf__json_decode(const unsigned char *buf, size_t len, const char *name,
                            uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    return cnf__json_matrix((const char *)buf, len, name, max_pixels, img, err);
}

/* ------------------------------------------------------------- writing */

static void put_str(cnf_buf *o, const char *s) { cnf__buf_put(o, s, strlen(s)); }

/* %.9g round-trips any float32; -0 is written as 0 so text output does not
 * depend on the sign of a zero product. */
static void put_num(cnf_buf *o, float v)
{
    char b[40];
    int n = snprintf(b, sizeof b, "%.9g", (double)(v + 0.0f));
    cnf__buf_put(o, b, (size_t)n);
}

static cnf_status finished(cnf_buf *o, unsigned char **out, size_t *out_len, cnf_error *err)
{
    if (o->failed) {
        free(o->data);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    *out = o->data;
    *out_len = o->len;
    return CNF_OK;
}

/* Rows of %.9g values separated by spaces, a blank line between channels. */
cnf_status cnf__txt_encode(const cnf_image *img, const unsigned char *px,
                           const cnf_encode_opts *opts, unsigned char **out, size_t *out_len,
                           cnf_error *err)
{
    cnf_buf o = {0};
    (void)px;
    (void)opts;
    for (int c = 0; c < img->channels; c++) {
        const float *p = cnf_image_plane(img, c);
        if (c)
            put_str(&o, "\n");
        for (int y = 0; y < img->height; y++) {
            for (int x = 0; x < img->width; x++) {
                if (x)
                    put_str(&o, " ");
                put_num(&o, p[(size_t)y * img->width + x]);
            }
            put_str(&o, "\n");
        }
    }
    return finished(&o, out, out_len, err);
}

/* 2-D [row][col] for one channel, else 3-D [channel][row][col]; a row per
 * line.  JSON has no NaN or infinity: such a result is refused. */
cnf_status cnf__json_encode(const cnf_image *img, const unsigned char *px,
                            const cnf_encode_opts *opts, unsigned char **out, size_t *out_len,
                            cnf_error *err)
{
    cnf_buf o = {0};
    int three = img->channels > 1; /* (cnf_encode has checked every value is finite) */
    (void)px;
    (void)opts;
    if (three)
        put_str(&o, "[\n");
    for (int c = 0; c < img->channels; c++) {
        const float *p = cnf_image_plane(img, c);
        put_str(&o, three ? " [\n" : "[\n");
        for (int y = 0; y < img->height; y++) {
            put_str(&o, three ? "  [" : " [");
            for (int x = 0; x < img->width; x++) {
                if (x)
                    put_str(&o, ", ");
                put_num(&o, p[(size_t)y * img->width + x]);
            }
            put_str(&o, y + 1 < img->height ? "],\n" : "]\n");
        }
        put_str(&o, three ? (c + 1 < img->channels ? " ],\n" : " ]\n") : "]\n");
    }
    if (three)
        put_str(&o, "]\n");
    return finished(&o, out, out_len, err);
}

/* A .txt of one channel is its rows in order, written as they come (more
 * channels are written channel by channel: whole). */
static int txt_takes(int channels, const cnf_encode_opts *o)
{
    (void)o;
    return channels == 1;
}

static cnf_status txt_open(cnf_row_writer *w, cnf_error *err)
{
    if (!(w->state = calloc(1, sizeof(cnf_buf))))
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    return CNF_OK;
}

static cnf_status txt_rows(cnf_row_writer *w, int n, unsigned char *px,
                           const float *const *rows, cnf_error *err)
{
    cnf_buf *o = w->state;
    (void)px;
    o->len = 0;
    for (int i = 0; i < n; i++) {
        const float *p = rows[i];
        for (int x = 0; x < w->width; x++) {
            if (x)
                put_str(o, " ");
            put_num(o, p[x]);
        }
        put_str(o, "\n");
    }
    if (o->failed)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    return cnf__fd_write(w->fd, o->data, o->len, err);
}

static void txt_destroy(cnf_row_writer *w)
{
    cnf_buf *o = w->state;
    if (o)
        free(o->data);
    free(o);
}

static const cnf__row_out txt_row_out = {
    .takes = txt_takes,
    .open = txt_open,
    .rows = txt_rows,
    .destroy = txt_destroy,
};

/* ------------------------------------------------------ codec table rows */

const cnf_codec cnf__codec_txt = {
    .info = {"txt", "txt",
             "rows of numbers separated by spaces, a blank line between channels",
             CNF__MATRIX_RW, CNF_OUT_TXT},
    .kind = CNF_IN_TXT,
    .sniff = cnf__txt_sniff,
    .check = cnf__txt_check,
    .decode = cnf__txt_decode,
    .encode = cnf__txt_encode,
    .row_out = &txt_row_out,
};

const cnf_codec cnf__codec_json = {
    .info = {"json", "json",
             "JSON matrix: [row][col], or [channel][row][col]",
             CNF__MATRIX_RW, CNF_OUT_JSON},
    .kind = CNF_IN_JSON,
    .sniff = cnf__json_sniff,
    .decode = cnf__json_decode,
    .encode = cnf__json_encode,
};

const cnf_codec cnf__codec_csv = {
    .info = {"csv", "csv",
             "rows of comma-separated numbers, a blank line between channels",
             CNF__MATRIX_READ, CNF_OUT_NONE},
    .kind = CNF_IN_CSV,
    .check = cnf__csv_check,
    .decode = cnf__csv_decode,
};
