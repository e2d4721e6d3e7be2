/* jpeg_io.c - JPEG through libjpeg-turbo (the only file that includes it): checked decoding and encoding.
 *
 * stb_image 2.27's JPEG decoder reads out of bounds on crafted files (found
 * by a few minutes of fuzzing), so JPEG goes through libjpeg-turbo, which is
 * maintained and fuzzed upstream.  Its warnings (a truncated file, corrupt
 * data it papers over with gray) are treated as errors: a regression test
 * must not pass on half an image.  The JPEG row of the codec table
 * (codec.c) is made of the functions here.
 */
#include "codec.h"
#include "orient.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

int cnf__jpeg_sniff(const unsigned char *buf, size_t len)
{
    return cnf__magic(buf, len, "\xff\xd8\xff", 3);
}

/* Every JPEG is read by scanlines (progressive ones too: libjpeg buffers
 * the coefficients itself, counted by cnf__jpeg_memory). */
int cnf__jpeg_streams(const unsigned char *buf, size_t len)
{
    (void)buf;
    (void)len;
    return 1;
}

/* JPEG stores each side in 16 bits. */
cnf_status cnf__jpeg_fits(int width, int height, cnf_error *err)
{
    if (width > 65535 || height > 65535)
        return cnf__fail(err, CNF_E_FORMAT, NULL, "JPEG cannot hold %dx%d pixels", width, height);
    return CNF_OK;
}

typedef struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    int warned;
} jerr;

static void on_error(j_common_ptr cinfo)
{
    jerr *e = (jerr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
    jerr *e = (jerr *)cinfo->err;
    /* level -1 is a warning about corrupt data; trace messages are ignored. */
    if (level < 0 && !e->warned) {
        (*cinfo->err->format_message)(cinfo, e->msg);
        e->warned = 1;
    }
}

static void init_err(struct jpeg_decompress_struct *d, jerr *e)
{
    d->err = jpeg_std_error(&e->mgr);
    e->mgr.error_exit = on_error;
    e->mgr.emit_message = on_message;
    e->msg[0] = 0;
    e->warned = 0;
}

/* What libjpeg allocates for one decode, from the header (jpeg_read_header
 * has read up to the first scan and sized the components).  A progressive
 * JPEG, or one whose first scan holds fewer components than the frame
 * (more scans follow), is decoded from whole-image coefficient arrays
 * (libjpeg's jdcoefct.c): per component, its blocks - its width and height
 * in 8x8 blocks, each rounded up to its sampling factor - of 64 16-bit
 * coefficients, 128 bytes each.  13000 x 13000 4:4:4 is 1.0 GB, for a file
 * of a few hundred bytes.  Every JPEG also has buffers of rows: a sample
 * row group with context (10 block rows per vertical sampling factor) per
 * component, the upsampler's rows and the output row (ours and libjpeg's),
 * counted here generously, and about 100 KB of tables; FIXED covers those
 * (a 16 x 16 progressive RGB JPEG allocates about 60 KB). */
#define JPEG_FIXED_BYTES (256u << 10)

static uint64_t decoder_bytes(const struct jpeg_decompress_struct *d)
{
    uint64_t coef = 0, rows = 0, w = d->image_width;
    int whole = d->progressive_mode || d->comps_in_scan < d->num_components;
    for (int ci = 0; ci < d->num_components; ci++) {
        const jpeg_component_info *c = &d->comp_info[ci];
        uint64_t h = (uint64_t)(c->h_samp_factor > 0 ? c->h_samp_factor : 1);
        uint64_t v = (uint64_t)(c->v_samp_factor > 0 ? c->v_samp_factor : 1);
        uint64_t bw = ((uint64_t)c->width_in_blocks + h - 1) / h * h;
        uint64_t bh = ((uint64_t)c->height_in_blocks + v - 1) / v * v;
        if (whole)
            coef += bw * bh * 64 * sizeof(JCOEF);
        rows += 10 * v * 8 * bw * 8;
    }
    /* the upsampler's rows (max_v of each component) and two output rows */
    rows += (uint64_t)d->num_components * (uint64_t)d->max_v_samp_factor * w * 2 +
            2 * w * (uint64_t)d->num_components;
    return coef + rows + JPEG_FIXED_BYTES;
}

/* Read the header; the shape is checked before any pixel memory.  libjpeg
 * may then allocate no more than decoder_bytes (what cnf__jpeg_memory
 * told the caller): a larger request fails as a decoding error. */
static cnf_status read_header(struct jpeg_decompress_struct *d, const char *name,
                              uint64_t max_pixels, int *cmyk, cnf_error *err)
{
    uint64_t bytes;
    jpeg_read_header(d, TRUE);
    if ((uint64_t)d->image_width * d->image_height > max_pixels)
        return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                         "%ux%u image is over the pixel limit %llu",
                         d->image_width, d->image_height, (unsigned long long)max_pixels);
    *cmyk = d->jpeg_color_space == JCS_CMYK || d->jpeg_color_space == JCS_YCCK;
    d->out_color_space = d->num_components == 1 ? JCS_GRAYSCALE : *cmyk ? JCS_CMYK : JCS_RGB;
    bytes = decoder_bytes(d);
    d->mem->max_memory_to_use = bytes > (uint64_t)LONG_MAX ? LONG_MAX : (long)bytes;
    return CNF_OK;
}

uint64_t cnf__jpeg_memory(const unsigned char *buf, size_t len)
{
    struct jpeg_decompress_struct d;
    jerr e;
    /* volatile: set between setjmp and a possible longjmp. */
    volatile uint64_t bytes = 0;
    init_err(&d, &e);
    if (setjmp(e.jump)) {
        jpeg_destroy_decompress(&d);
        return 0;
    }
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, buf, (unsigned long)len);
    jpeg_read_header(&d, TRUE);
    bytes = decoder_bytes(&d);
    jpeg_destroy_decompress(&d);
    return bytes;
}

cnf_status cnf__jpeg_probe(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, int *width, int *height, int *channels,
                           int *has_alpha, cnf_error *err)
{
    struct jpeg_decompress_struct d;
    jerr e;
    int cmyk = 0;
    cnf_status st;
    *has_alpha = 0;
    init_err(&d, &e);
    if (setjmp(e.jump)) {
        jpeg_destroy_decompress(&d);
        return cnf__fail(err, CNF_E_DECODE, name, "corrupt JPEG (%s)", e.msg);
    }
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, buf, (unsigned long)len);
    st = read_header(&d, name, max_pixels, &cmyk, err);
    *width = (int)d.image_width;
    *height = (int)d.image_height;
    *channels = d.num_components == 1 ? 1 : 3;
    jpeg_destroy_decompress(&d);
    return st;
}

cnf_status cnf__jpeg_decode(const unsigned char *buf, size_t len, const char *name,
                            uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    struct jpeg_decompress_struct d;
    jerr e;
    int cmyk = 0;
    /* volatile: changed between setjmp and a possible longjmp. */
    JSAMPLE *volatile row = NULL;
    cnf_status st;
    memset(img, 0, sizeof *img);
    init_err(&d, &e);
    if (setjmp(e.jump)) {
        jpeg_destroy_decompress(&d);
        free(row);
        cnf_image_free(img);
        return cnf__fail(err, CNF_E_DECODE, name, "corrupt JPEG (%s)", e.msg);
    }
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, buf, (unsigned long)len);
    st = read_header(&d, name, max_pixels, &cmyk, err);
    if (st)
        goto out;
    jpeg_start_decompress(&d);
    if (d.output_width > INT32_MAX || d.output_height > INT32_MAX ||
        (d.output_components != 1 && d.output_components != 3 && d.output_components != 4)) {
        st = cnf__fail(err, CNF_E_DECODE, name, "unsupported JPEG layout");
        goto out;
    }
    st = cnf_image_alloc(img, (int)d.output_width, (int)d.output_height,
                         d.output_components == 1 ? 1 : 3, 0, err);
    if (st)
        goto out;
    row = malloc((size_t)d.output_width * (size_t)d.output_components);
    if (!row) {
        st = cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
        goto out;
    }
    {
        size_t w = d.output_width, plane = w * d.output_height;
        int nc = d.output_components;
        /* Adobe writes CMYK inverted (0 = full ink), which is what every
         * CMYK JPEG in practice is: R = C * K / 255 on the stored values. */
        while (d.output_scanline < d.output_height) {
            size_t y = d.output_scanline;
            JSAMPROW rp = row;
            jpeg_read_scanlines(&d, &rp, 1);
            for (size_t x = 0; x < w; x++) {
                const JSAMPLE *p = row + x * (size_t)nc;
                if (nc == 1) {
                    img->data[y * w + x] = p[0];
                } else if (nc == 3) {
                    for (int c = 0; c < 3; c++)
                        img->data[(size_t)c * plane + y * w + x] = p[c];
                } else {
                    for (int c = 0; c < 3; c++)
                        img->data[(size_t)c * plane + y * w + x] =
                            (float)((p[c] * p[3] + 127) / 255);
                }
            }
        }
    }
    jpeg_finish_decompress(&d);
    if (e.warned)
        st = cnf__fail(err, CNF_E_DECODE, name, "corrupt JPEG (%s)", e.msg);
out:
    jpeg_destroy_decompress(&d);
    free(row);
    if (st)
        cnf_image_free(img);
    return st;
}

/* ------------------------------------------------------------ streaming */

typedef struct jpeg_stream {
    struct jpeg_decompress_struct d;
    jerr e;
    JSAMPLE *row;
    char *name;
    int created;
    const unsigned char *buf; /* the input, for how far libjpeg has read */
} jpeg_stream;

/* One decoded scanline into plane rows (CMYK as in cnf__jpeg_decode). */
static void spread(const JSAMPLE *row, size_t w, int nc, float *const *dst)
{
    if (nc == 1) {
        for (size_t x = 0; x < w; x++)
            dst[0][x] = row[x];
    } else if (nc == 3) {
        for (int c = 0; c < 3; c++)
            for (size_t x = 0; x < w; x++)
                dst[c][x] = row[x * 3 + (size_t)c];
    } else {
        for (int c = 0; c < 3; c++)
            for (size_t x = 0; x < w; x++)
                dst[c][x] = (float)((row[x * 4 + (size_t)c] * row[x * 4 + 3] + 127) / 255);
    }
}

static cnf_status jstream_rows(cnf_reader *r, int n, float *const *rows, int planes,
                               cnf_error *err)
{
    jpeg_stream *js = r->impl;
    if (setjmp(js->e.jump))
        return cnf__fail(err, CNF_E_DECODE, js->name, "corrupt JPEG (%s)", js->e.msg);
    for (int i = 0; i < n; i++) {
        JSAMPROW rp = js->row;
        if (jpeg_read_scanlines(&js->d, &rp, 1) != 1)
            return cnf__fail(err, CNF_E_DECODE, js->name, "corrupt JPEG (no more scanlines)");
        spread(js->row, (size_t)r->w, js->d.output_components, rows + (size_t)i * planes);
    }
    return CNF_OK;
}

/* Gray or RGB scanlines as they are, straight into the caller's rows
 * (cnf_reader_rows_u8; not for CMYK, whose values are computed). */
static cnf_status jstream_rows_u8(cnf_reader *r, int n, unsigned char *const *rows,
                                  cnf_error *err)
{
    jpeg_stream *js = r->impl;
    if (setjmp(js->e.jump))
        return cnf__fail(err, CNF_E_DECODE, js->name, "corrupt JPEG (%s)", js->e.msg);
    for (int i = 0; i < n; i++) {
        JSAMPROW rp = rows[i];
        if (jpeg_read_scanlines(&js->d, &rp, 1) != 1)
            return cnf__fail(err, CNF_E_DECODE, js->name, "corrupt JPEG (no more scanlines)");
    }
    return CNF_OK;
}

static cnf_status jstream_finish(cnf_reader *r, cnf_error *err)
{
    jpeg_stream *js = r->impl;
    if (setjmp(js->e.jump))
        return cnf__fail(err, CNF_E_DECODE, js->name, "corrupt JPEG (%s)", js->e.msg);
    jpeg_finish_decompress(&js->d);
    if (js->e.warned)
        return cnf__fail(err, CNF_E_DECODE, js->name, "corrupt JPEG (%s)", js->e.msg);
    return CNF_OK;
}

static void jstream_destroy(cnf_reader *r)
{
    jpeg_stream *js = r->impl;
    if (!js)
        return;
    if (js->created)
        jpeg_destroy_decompress(&js->d);
    free(js->row);
    free(js->name);
    free(js);
    r->impl = NULL;
}

/* libjpeg reads its source forward only: what comes before the next byte
 * it will take is done. */
static size_t jstream_used(const cnf_reader *r)
{
    const jpeg_stream *js = r->impl;
    if (!js || !js->d.src || !js->buf)
        return 0;
    return (size_t)(js->d.src->next_input_byte - js->buf);
}

cnf_status cnf__jpeg_reader(const unsigned char *buf, size_t len, const char *name,
                            uint64_t max_pixels, cnf_reader *r, cnf_error *err)
{
    jpeg_stream *js = calloc(1, sizeof *js);
    int cmyk = 0;
    cnf_status st;
    if (!js)
        return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
    r->impl = js;
    r->destroy = jstream_destroy;
    js->name = cnf__strdup(name);
    if (!js->name)
        return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
    init_err(&js->d, &js->e);
    if (setjmp(js->e.jump))
        return cnf__fail(err, CNF_E_DECODE, name, "corrupt JPEG (%s)", js->e.msg);
    jpeg_create_decompress(&js->d);
    js->created = 1;
    jpeg_mem_src(&js->d, buf, (unsigned long)len);
    st = read_header(&js->d, name, max_pixels, &cmyk, err);
    if (st)
        return st;
    jpeg_start_decompress(&js->d);
    if (js->d.output_width > INT32_MAX || js->d.output_height > INT32_MAX ||
        (js->d.output_components != 1 && js->d.output_components != 3 &&
         js->d.output_components != 4))
        return cnf__fail(err, CNF_E_DECODE, name, "unsupported JPEG layout");
    js->row = malloc((size_t)js->d.output_width * (size_t)js->d.output_components);
    if (!js->row)
        return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
    r->w = (int)js->d.output_width;
    r->h = (int)js->d.output_height;
    r->c = js->d.output_components == 1 ? 1 : 3;
    r->alpha = 0;
    r->rows = jstream_rows;
    if (js->d.output_components != 4)
        r->rows_u8 = jstream_rows_u8;
    r->finish = jstream_finish;
    r->used = jstream_used;
    js->buf = buf;
    return CNF_OK;
}

/* The mark as one COM segment: "Software: " and the software text, a
 * newline, "Comment: " and the comment; NULL without a software text (or
 * out of memory).  A COM segment holds 65533 bytes: a longer comment is cut. */
static unsigned char *jpeg_com(const cnf_encode_opts *opts, size_t *len_ret)
{
    size_t sn, cn, n;
    unsigned char *m;
    if (!opts->software)
        return NULL;
    sn = strlen(opts->software);
    cn = opts->comment ? strlen(opts->comment) : 0;
    if (sn > 1000)
        sn = 1000;
    if (10 + sn + 1 + 9 + cn > 65533)
        cn = 65533 - (10 + sn + 1 + 9);
    if (!(m = malloc(10 + sn + 1 + 9 + cn)))
        return NULL;
    memcpy(m, "Software: ", 10);
    memcpy(m + 10, opts->software, sn);
    n = 10 + sn;
    m[n++] = '\n';
    if (opts->comment) {
        memcpy(m + n, "Comment: ", 9);
        memcpy(m + n + 9, opts->comment, cn);
        n += 9 + cn;
    }
    *len_ret = n;
    return m;
}

/* The encoder proper, with the COM segment made (a function of its own:
 * nothing made before setjmp can be clobbered). */
static cnf_status jpeg_encode_com(const cnf_image *img, const unsigned char *px,
                                  const cnf_encode_opts *opts, unsigned char *com,
                                  size_t com_len, unsigned char **out, size_t *out_len,
                                  cnf_error *err)
{
    int width = img->width, height = img->height, comp = img->channels;
    struct jpeg_compress_struct c;
    jerr e;
    /* libjpeg writes the buffer pointer and length here as it grows the
     * buffer; they live on the heap so a longjmp cannot lose them. */
    struct sink {
        unsigned char *buf;
        unsigned long len;
    } *sink = calloc(1, sizeof *sink);
    /* JPEG has no alpha: comp 2 and 4 drop it row by row. */
    int colour = comp >= 3 ? 3 : 1;
    JSAMPLE *row = malloc((size_t)width * (size_t)colour);
    *out = NULL;
    *out_len = 0;
    if (!row || !sink || (opts->software && !com)) {
        free(row);
        free(sink);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    c.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = on_error;
    if (setjmp(e.jump)) {
        jpeg_destroy_compress(&c);
        free(row);
        free(sink->buf);
        free(sink);
        return cnf__fail(err, CNF_E_IO, NULL, "JPEG encoding failed (%s)", e.msg);
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &sink->buf, &sink->len);
    c.image_width = (JDIMENSION)width;
    c.image_height = (JDIMENSION)height;
    c.input_components = colour;
    c.in_color_space = colour == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, opts->quality == -1 ? CNF_JPEG_DEFAULT_QUALITY : opts->quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    if (com) /* right after SOI and the JFIF APP0 */
        jpeg_write_marker(&c, JPEG_COM, com, (unsigned)com_len);
    while (c.next_scanline < c.image_height) {
        const unsigned char *src = px + (size_t)c.next_scanline * (size_t)width * (size_t)comp;
        JSAMPROW rp = row;
        for (int x = 0; x < width; x++)
            for (int k = 0; k < colour; k++)
                row[(size_t)x * colour + (size_t)k] = src[(size_t)x * comp + (size_t)k];
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    *out = sink->buf;
    *out_len = sink->len;
    free(sink);
    return CNF_OK;
}

cnf_status cnf__jpeg_encode(const cnf_image *img, const unsigned char *px,
                            const cnf_encode_opts *opts, unsigned char **out, size_t *out_len,
                            cnf_error *err)
{
    size_t com_len = 0;
    unsigned char *com = jpeg_com(opts, &com_len);
    cnf_status st = jpeg_encode_com(img, px, opts, com, com_len, out, out_len, err);
    free(com);
    return st;
}

/* Written by scanlines into a file descriptor (a cnf_row_writer): the
 * same settings and COM segment as jpeg_encode_com, so the same bytes;
 * libjpeg holds a few rows of MCUs (no optimized Huffman tables, no
 * progressive scan: nothing needs the whole image). */
#define JPEG_OUT_BUF ((size_t)64 << 10)

typedef struct jpeg_rows {
    struct jpeg_compress_struct c;
    jerr e;
    struct jpeg_destination_mgr dest;
    cnf_row_writer *w;
    int started;   /* c was created */
    int sys_errno; /* a write to the file failed */
    JSAMPLE *row;  /* one row without alpha */
    unsigned char buf[JPEG_OUT_BUF];
} jpeg_rows;

/* Bytes of the buffer into the file; a failed write is kept (libjpeg has
 * no way to be told) and reported by the call in progress. */
static void flush_out(jpeg_rows *s, size_t n)
{
    cnf_error e;
    if (!s->sys_errno && cnf__fd_write(s->w->fd, s->buf, n, &e) != CNF_OK)
        s->sys_errno = e.sys_errno ? e.sys_errno : EIO;
    s->dest.next_output_byte = s->buf;
    s->dest.free_in_buffer = JPEG_OUT_BUF;
}

static void dest_init(j_compress_ptr c)
{
    jpeg_rows *s = (jpeg_rows *)c->client_data;
    s->dest.next_output_byte = s->buf;
    s->dest.free_in_buffer = JPEG_OUT_BUF;
}

static boolean dest_empty(j_compress_ptr c)
{
    flush_out((jpeg_rows *)c->client_data, JPEG_OUT_BUF);
    return TRUE;
}

static void dest_term(j_compress_ptr c)
{
    jpeg_rows *s = (jpeg_rows *)c->client_data;
    flush_out(s, JPEG_OUT_BUF - s->dest.free_in_buffer);
}

static cnf_status jrows_failed(jpeg_rows *s, cnf_error *err)
{
    return cnf__fail_errno(err, CNF_E_IO, NULL, s->sys_errno, "write error: %s",
                           strerror(s->sys_errno));
}

/* libjpeg started on the file (a function of its own: nothing it changes
 * after setjmp is a local). */
static cnf_status jrows_start(jpeg_rows *s, const unsigned char *com, size_t com_len,
                              cnf_error *err)
{
    cnf_row_writer *w = s->w;
    int colour = w->channels >= 3 ? 3 : 1;
    s->c.err = jpeg_std_error(&s->e.mgr);
    s->e.mgr.error_exit = on_error;
    if (setjmp(s->e.jump))
        return cnf__fail(err, CNF_E_IO, NULL, "JPEG encoding failed (%s)", s->e.msg);
    jpeg_create_compress(&s->c);
    s->started = 1;
    s->c.client_data = s;
    s->dest.init_destination = dest_init;
    s->dest.empty_output_buffer = dest_empty;
    s->dest.term_destination = dest_term;
    s->c.dest = &s->dest;
    s->c.image_width = (JDIMENSION)w->width;
    s->c.image_height = (JDIMENSION)w->height;
    s->c.input_components = colour;
    s->c.in_color_space = colour == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&s->c);
    jpeg_set_quality(&s->c, w->opts.quality == -1 ? CNF_JPEG_DEFAULT_QUALITY : w->opts.quality,
                     TRUE);
    jpeg_start_compress(&s->c, TRUE);
    if (com) /* right after SOI and the JFIF APP0 */
        jpeg_write_marker(&s->c, JPEG_COM, com, (unsigned)com_len);
    return s->sys_errno ? jrows_failed(s, err) : CNF_OK;
}

static cnf_status jrows_open(cnf_row_writer *w, cnf_error *err)
{
    jpeg_rows *s = calloc(1, sizeof *s);
    size_t com_len = 0;
    unsigned char *com = NULL;
    cnf_status st;
    if (!s || !(s->row = malloc((size_t)w->width * (size_t)(w->channels >= 3 ? 3 : 1))) ||
        (w->opts.software && !(com = jpeg_com(&w->opts, &com_len)))) {
        if (s)
            free(s->row);
        free(s);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    w->state = s;
    s->w = w;
    st = jrows_start(s, com, com_len, err);
    free(com);
    return st;
}

static cnf_status jrows_write(cnf_row_writer *w, int n, unsigned char *px,
                              const float *const *rows, cnf_error *err)
{
    jpeg_rows *s = w->state;
    int comp = w->channels, colour = comp >= 3 ? 3 : 1, width = w->width;
    (void)rows;
    if (setjmp(s->e.jump))
        return cnf__fail(err, CNF_E_IO, NULL, "JPEG encoding failed (%s)", s->e.msg);
    for (int i = 0; i < n && !s->sys_errno; i++) {
        /* JPEG has no alpha: comp 2 and 4 drop it. */
        const unsigned char *src = px + (size_t)i * (size_t)width * (size_t)comp;
        JSAMPROW rp = s->row;
        for (int x = 0; x < width; x++)
            for (int k = 0; k < colour; k++)
                s->row[(size_t)x * colour + (size_t)k] = src[(size_t)x * comp + (size_t)k];
        jpeg_write_scanlines(&s->c, &rp, 1);
    }
    return s->sys_errno ? jrows_failed(s, err) : CNF_OK;
}

static cnf_status jrows_finish(cnf_row_writer *w, cnf_error *err)
{
    jpeg_rows *s = w->state;
    if (setjmp(s->e.jump))
        return cnf__fail(err, CNF_E_IO, NULL, "JPEG encoding failed (%s)", s->e.msg);
    jpeg_finish_compress(&s->c);
    return s->sys_errno ? jrows_failed(s, err) : CNF_OK;
}

static void jrows_destroy(cnf_row_writer *w)
{
    jpeg_rows *s = w->state;
    if (!s)
        return;
    if (s->started)
        jpeg_destroy_compress(&s->c);
    free(s->row);
    free(s);
}

static const cnf__row_out jpeg_row_out = {
    .open = jrows_open,
    .rows = jrows_write,
    .finish = jrows_finish,
    .destroy = jrows_destroy,
};

/* The marker segments before the scan: a COM segment whose first line is
 * "Software: cnnfilter..." marks the file; its "Comment: " line is the
 * comment (to the end of the segment). */
int cnf__jpeg_mark(const unsigned char *b, size_t len, char *comment, size_t cap)
{
    size_t i = 2;
    cnf__mark_copy(comment, cap, NULL, 0);
    while (len >= 4 && i <= len - 4) {
        unsigned m = b[i + 1];
        size_t n;
        if (b[i] != 0xff)
            return 0;
        if (m == 0xff) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0xd8 || (m >= 0xd0 && m <= 0xd7) || m == 0x01) { /* no length */
            i += 2;
            continue;
        }
        if (m == 0xda || m == 0xd9) /* the scan (or the end): no mark before it */
            return 0;
        n = (size_t)b[i + 2] << 8 | b[i + 3];
        if (n < 2 || n - 2 > len - i - 4)
            return 0;
        if (m == 0xfe && n - 2 > 10 && memcmp(b + i + 4, "Software: ", 10) == 0) {
            const unsigned char *d = b + i + 14, *end = b + i + 2 + n;
            const unsigned char *nl = memchr(d, '\n', (size_t)(end - d));
            size_t first = nl ? (size_t)(nl - d) : (size_t)(end - d);
            if (cnf__mark_software(d, first)) {
                if (nl && (size_t)(end - nl - 1) >= 9 && memcmp(nl + 1, "Comment: ", 9) == 0)
                    cnf__mark_copy(comment, cap, nl + 10, (size_t)(end - nl - 10));
                return 1;
            }
        }
        i += 2 + n;
    }
    return 0;
}

/* ------------------------------------------------------ codec table rows */

const cnf_codec cnf__codec_jpeg = {
    .info = {"jpeg", "jpg jpeg",
             "JPEG: gray or RGB (CMYK read as RGB), lossy, no alpha",
             CNF__IMAGE_RW | CNF_FORMAT_MARK, CNF_OUT_JPG},
    .kind = CNF_IN_IMAGE,
    .sniff = cnf__jpeg_sniff,
    .probe = cnf__jpeg_probe,
    .decode = cnf__jpeg_decode,
    .open_reader = cnf__jpeg_reader,
    .streams = cnf__jpeg_streams,
    .memory = cnf__jpeg_memory,
    .fits = cnf__jpeg_fits,
    .encode = cnf__jpeg_encode,
    .row_out = &jpeg_row_out,
    .orientation = cnf__jpeg_orientation,
    .mark = cnf__jpeg_mark,
};
