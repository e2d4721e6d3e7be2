/* image_io.c - decoding and encoding image formats through stb (the only file that includes stb). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
/* The implementation is compiled here from the system's libstb-dev headers
 * so its symbols stay private; its own warnings are not ours to fix. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#endif
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
/* stb 2.27 declares stbi_set_unpremultiply_on_load_thread() static and may
 * not define it; GCC reports that at the end of the file, after the pop. */
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

/* ------------------------------------------------------------ sniffing */

static int has_prefix(const unsigned char *b, size_t len, const char *magic, size_t n)
{
    return len >= n && memcmp(b, magic, n) == 0;
}

static int is_png(const unsigned char *b, size_t len)
{
    return has_prefix(b, len, "\x89PNG\r\n\x1a\n", 8);
}

static int is_jpeg(const unsigned char *b, size_t len)
{
    return has_prefix(b, len, "\xff\xd8\xff", 3);
}

/* 1 if the bytes start like a format stb_image reads (TGA has no magic and
 * is only tried when nothing else matches). */
static int looks_like_image(const unsigned char *b, size_t len)
{
    return has_prefix(b, len, "\x89PNG", 4) || has_prefix(b, len, "\xff\xd8", 2) ||
           has_prefix(b, len, "BM", 2) || has_prefix(b, len, "GIF8", 4) ||
           has_prefix(b, len, "8BPS", 4) || has_prefix(b, len, "#?RADIANCE", 10) ||
           has_prefix(b, len, "#?RGBE", 6) || has_prefix(b, len, "P5", 2) ||
           has_prefix(b, len, "P6", 2);
}

static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash))
        return "";
    return dot + 1;
}

cnf_input_kind cnf_input_kind_for_path(const char *path)
{
    const char *e = ext_of(path);
    if (strcasecmp(e, "json") == 0)
        return CNF_IN_JSON;
    if (strcasecmp(e, "csv") == 0)
        return CNF_IN_CSV;
    if (strcasecmp(e, "txt") == 0)
        return CNF_IN_TXT;
    if (strcasecmp(e, "npy") == 0)
        return CNF_IN_NPY;
    {
        /* A file named like an image is decoded as one: text in x.png is
         * a corrupt image, not a matrix. */
        static const char *const img[] = {"png", "jpg", "jpeg", "bmp", "tga", "gif", "pgm",
                                          "ppm", "pnm", "psd", "hdr"};
        for (size_t i = 0; i < sizeof img / sizeof img[0]; i++)
            if (strcasecmp(e, img[i]) == 0)
                return CNF_IN_IMAGE;
    }
    return CNF_IN_AUTO;
}

/* The kind of a buffer: an image format, or a matrix sniffed from its first
 * character when the kind is not known from the name. */
static cnf_input_kind sniff(const unsigned char *buf, size_t len, cnf_input_kind kind)
{
    if (kind == CNF_IN_AUTO && has_prefix(buf, len, "\x93NUMPY", 6))
        return CNF_IN_NPY;
    if (kind == CNF_IN_AUTO && !looks_like_image(buf, len)) {
        size_t i = 0;
        while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
            i++;
        if (i < len && buf[i] == '[')
            kind = CNF_IN_JSON;
        else if (i < len && (buf[i] == '-' || buf[i] == '+' || buf[i] == '.' ||
                             (buf[i] >= '0' && buf[i] <= '9')))
            kind = CNF_IN_TXT;
    }
    return kind == CNF_IN_AUTO ? CNF_IN_IMAGE : kind;
}

/* PNM (P5 gray, P6 RGB; binary) is decoded here rather than by stb 2.27,
 * which overflows a signed int on long header numbers (found by fuzzing),
 * reads 16-bit samples in the wrong byte order, does not scale a maxval
 * below 255, and leaves the pixels of a truncated file uninitialised.
 * Header: magic, width, height, maxval as decimal numbers separated by white
 * space and '#' comments, then one white-space byte, then the samples
 * (big-endian when maxval > 255). */
typedef struct pnm_header {
    int w, h, comp, maxval;
    size_t data;
} pnm_header;

static int is_pnm(const unsigned char *b, size_t len)
{
    return len >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6');
}

static cnf_status pnm_parse(const unsigned char *b, size_t len, const char *name,
                            pnm_header *hd, cnf_error *err)
{
    size_t i = 2;
    long v[3];
    for (int field = 0; field < 3; field++) {
        size_t digits = 0;
        for (;;) {
            while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\v' ||
                               b[i] == '\f' || b[i] == '\r'))
                i++;
            if (i < len && b[i] == '#') {
                while (i < len && b[i] != '\n' && b[i] != '\r')
                    i++;
                continue;
            }
            break;
        }
        v[field] = 0;
        while (i < len && b[i] >= '0' && b[i] <= '9') {
            v[field] = v[field] * 10 + (b[i++] - '0');
            if (++digits > 8)
                return cnf__fail(err, CNF_E_DECODE, name,
                                 "PNM header number with more than 8 digits");
        }
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

static cnf_status pnm_decode(const unsigned char *b, size_t len, const char *name,
                             uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    pnm_header hd;
    size_t plane, need, bps;
    cnf_status st = pnm_parse(b, len, name, &hd, err);
    if (st)
        return st;
    if ((uint64_t)hd.w * (uint64_t)hd.h > max_pixels)
        return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                         "%dx%d image is over the pixel limit %llu",
                         hd.w, hd.h, (unsigned long long)max_pixels);
    plane = (size_t)hd.w * (size_t)hd.h;
    bps = hd.maxval > 255 ? 2 : 1;
    need = plane * (size_t)hd.comp * bps;
    if (len - hd.data < need)
        return cnf__fail(err, CNF_E_DECODE, name, "truncated PNM: %zu of %zu bytes of pixels",
                         len - hd.data, need);
    st = cnf_image_alloc(img, hd.w, hd.h, hd.comp, 0, err);
    if (st)
        return st;
    {
        const unsigned char *p = b + hd.data;
        double scale = 255.0 / hd.maxval;
        for (size_t i = 0; i < plane; i++)
            for (int c = 0; c < hd.comp; c++, p += bps) {
                unsigned v = bps == 2 ? (unsigned)p[0] << 8 | p[1] : p[0];
                if (v > (unsigned)hd.maxval)
                    v = (unsigned)hd.maxval;
                img->data[(size_t)c * plane + i] = (float)(v * scale);
            }
    }
    return CNF_OK;
}

/* stb ignores short reads: a truncated BMP, TGA, GIF, PSD or HDR decodes
 * "successfully" with zeros or leftover heap bytes.  Reading through
 * callbacks shows when stb asks for bytes past the end of the file. */
typedef struct reader {
    const unsigned char *buf;
    size_t len, pos;
    int overrun;
} reader;

static int rd_read(void *user, char *data, int size)
{
    reader *r = user;
    size_t n = (size_t)size, left = r->len - r->pos;
    /* stb refills its buffer 128 bytes at a time, so a short read of that
     * size near the end is normal; any other short read, or a read when
     * nothing is left, means the decoder wanted data the file lacks. */
    if (left == 0 || (n > left && size != 128))
        r->overrun = 1;
    if (n > left)
        n = left;
    memcpy(data, r->buf + r->pos, n);
    r->pos += n;
    return (int)n;
}

static void rd_skip(void *user, int n)
{
    reader *r = user;
    if (n < 0) {
        r->pos = (size_t)-n > r->pos ? 0 : r->pos - (size_t)-n;
        return;
    }
    if ((size_t)n > r->len - r->pos) {
        r->overrun = 1;
        r->pos = r->len;
        return;
    }
    r->pos += (size_t)n;
}

static int rd_eof(void *user)
{
    reader *r = user;
    return r->pos >= r->len;
}

static const stbi_io_callbacks READER = {rd_read, rd_skip, rd_eof};

/* Image header: dimensions checked against the limit before any decoding. */
static cnf_status image_header(const unsigned char *buf, size_t len, const char *name,
                               uint64_t max_pixels, int *w, int *h, int *comp, cnf_error *err)
{
    cnf_status st;
    if (len > INT32_MAX)
        return cnf__fail(err, CNF_E_TOO_BIG, name, "file larger than 2 GiB");
    (void)st;
    if (has_prefix(buf, len, "8BPS", 4) && len >= 14 && buf[12] == 0 && buf[13] == 0)
        /* stb 2.27 "decodes" a PSD with no channels into an opaque image. */
        return cnf__fail(err, CNF_E_DECODE, name, "PSD with no channels");
    if (has_prefix(buf, len, "\x53\x80\xf6\x34", 4))
        /* Softimage PIC is not in the supported list, and stb 2.27 converts
         * a freed (NULL) buffer after a failed PIC decode: refused. */
        return cnf__fail(err, CNF_E_DECODE, name, "Softimage PIC images are not supported");
    {
        /* stb's JPEG test skips leading 0xff fill bytes, so a file that does
         * not start with FF D8 FF (and so did not go to libjpeg-turbo) could
         * still reach stb's JPEG decoder, which fuzzing shows is unsafe.  Such
         * a file is refused. */
        stbi__context s;
        stbi__start_mem(&s, buf, (int)len);
        if (stbi__jpeg_test(&s))
            return cnf__fail(err, CNF_E_DECODE, name,
                             "not a valid JPEG (it must start with FF D8 FF)");
    }
    /* PNG's IHDR is read here first, because stb's own header scan gives up
     * on images over 2^30 pixels with only "unknown image type". */
    if (len >= 24 && has_prefix(buf, len, "\x89PNG\r\n\x1a\n", 8) &&
        memcmp(buf + 12, "IHDR", 4) == 0) {
        uint32_t pw = (uint32_t)buf[16] << 24 | (uint32_t)buf[17] << 16 | (uint32_t)buf[18] << 8 |
                      buf[19];
        uint32_t ph = (uint32_t)buf[20] << 24 | (uint32_t)buf[21] << 16 | (uint32_t)buf[22] << 8 |
                      buf[23];
        if (pw == 0 || ph == 0)
            return cnf__fail(err, CNF_E_DECODE, name, "PNG header says %ux%u: no pixels", pw, ph);
        if ((uint64_t)pw * ph > max_pixels)
            return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                             "%ux%u image is over the pixel limit %llu",
                             pw, ph, (unsigned long long)max_pixels);
    }
    if (!stbi_info_from_memory(buf, (int)len, w, h, comp))
        return cnf__fail(err, CNF_E_DECODE, name, "not a readable image (%s)",
                         stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
    /* stb's BMP header scan reports a top-down BMP's height as negative. */
    if (has_prefix(buf, len, "BM", 2) && *h < 0 && *h != INT32_MIN)
        *h = -*h;
    if (*w <= 0 || *h <= 0)
        return cnf__fail(err, CNF_E_DECODE, name, "image has no pixels (%dx%d)", *w, *h);
    if ((uint64_t)*w * (uint64_t)*h > max_pixels)
        return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                         "%dx%d image is over the pixel limit %llu",
                         *w, *h, (unsigned long long)max_pixels);
    if (*comp < 1 || *comp > 4)
        return cnf__fail(err, CNF_E_DECODE, name, "unsupported channel count %d", *comp);
    return CNF_OK;
}

cnf_status cnf_probe(const unsigned char *buf, size_t len, cnf_input_kind kind, const char *name,
                     uint64_t max_pixels, int *width, int *height, int *channels, int *has_alpha,
                     cnf_error *err)
{
    int comp = 0;
    cnf_status st;
    if (len == 0)
        return cnf__fail(err, CNF_E_DECODE, name, "empty file");
    kind = sniff(buf, len, kind);
    if (is_png(buf, len))
        return cnf__png_probe(buf, len, name, max_pixels, width, height, channels, has_alpha,
                              err);
    if (is_jpeg(buf, len)) {
        *has_alpha = 0;
        return cnf__jpeg_probe(buf, len, name, max_pixels, width, height, channels, err);
    }
    if (kind == CNF_IN_IMAGE && is_pnm(buf, len)) {
        pnm_header hd;
        st = pnm_parse(buf, len, name, &hd, err);
        if (st)
            return st;
        *width = hd.w;
        *height = hd.h;
        *channels = hd.comp;
        *has_alpha = 0;
        return CNF_OK;
    }
    if (kind != CNF_IN_IMAGE) {
        cnf_image img;
        st = cnf_decode(buf, len, kind, name, max_pixels, &img, err);
        if (st)
            return st;
        *width = img.width;
        *height = img.height;
        *channels = img.channels;
        *has_alpha = img.has_alpha;
        cnf_image_free(&img);
        return CNF_OK;
    }
    st = image_header(buf, len, name, max_pixels, width, height, &comp, err);
    if (st)
        return st;
    *channels = comp;
    *has_alpha = comp == 2 || comp == 4;
    return CNF_OK;
}

cnf_status cnf_decode(const unsigned char *buf, size_t len, cnf_input_kind kind,
                      const char *name, uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    int w = 0, h = 0, comp = 0;
    unsigned char *px;
    cnf_status st;
    memset(img, 0, sizeof *img);
    if (len == 0)
        return cnf__fail(err, CNF_E_DECODE, name, "empty file");
    kind = sniff(buf, len, kind);
    if (kind == CNF_IN_JSON)
        return cnf__json_matrix((const char *)buf, len, name, max_pixels, img, err);
    if (kind == CNF_IN_CSV || kind == CNF_IN_TXT)
        return cnf__text_matrix((const char *)buf, len, kind == CNF_IN_CSV, name, max_pixels,
                                img, err);
    if (kind == CNF_IN_NPY)
        return cnf__npy_matrix(buf, len, name, max_pixels, img, err);
    if (is_png(buf, len))
        return cnf__png_decode(buf, len, name, max_pixels, img, err);
    if (is_jpeg(buf, len))
        return cnf__jpeg_decode(buf, len, name, max_pixels, img, err);
    if (is_pnm(buf, len))
        return pnm_decode(buf, len, name, max_pixels, img, err);
    /* The header first: refuse a decompression bomb before stb allocates. */
    st = image_header(buf, len, name, max_pixels, &w, &h, &comp, err);
    if (st)
        return st;
    {
        reader r = {buf, len, 0, 0};
        px = stbi_load_from_callbacks(&READER, &r, &w, &h, &comp, 0);
        if (px && r.overrun) {
            stbi_image_free(px);
            return cnf__fail(err, CNF_E_DECODE, name, "truncated image (the data ends early)");
        }
    }
    if (!px)
        return cnf__fail(err, CNF_E_DECODE, name, "corrupt image (%s)",
                         stbi_failure_reason() ? stbi_failure_reason() : "unknown error");
    if ((uint64_t)w * (uint64_t)h > max_pixels || comp < 1 || comp > 4) {
        /* stb decoded other dimensions than its header scan reported. */
        stbi_image_free(px);
        return cnf__fail(err, CNF_E_DECODE, name, "image header and data disagree");
    }
    st = cnf_image_alloc(img, w, h, comp, comp == 2 || comp == 4, err);
    if (st) {
        stbi_image_free(px);
        cnf__error_names_file(err, name);
        return st;
    }
    {
        size_t plane = (size_t)w * (size_t)h;
        for (int c = 0; c < comp; c++) {
            float *dst = img->data + (size_t)c * plane;
            const unsigned char *src = px + c;
            for (size_t i = 0; i < plane; i++)
                dst[i] = src[i * (size_t)comp];
        }
    }
    stbi_image_free(px);
    return CNF_OK;
}

/* ------------------------------------------------------------ encoding */

cnf_output_format cnf_output_format_from_name(const char *e)
{
    if (strcasecmp(e, "png") == 0)
        return CNF_OUT_PNG;
    if (strcasecmp(e, "jpg") == 0 || strcasecmp(e, "jpeg") == 0)
        return CNF_OUT_JPG;
    if (strcasecmp(e, "bmp") == 0)
        return CNF_OUT_BMP;
    if (strcasecmp(e, "tga") == 0)
        return CNF_OUT_TGA;
    if (strcasecmp(e, "npy") == 0)
        return CNF_OUT_NPY;
    if (strcasecmp(e, "txt") == 0)
        return CNF_OUT_TXT;
    if (strcasecmp(e, "json") == 0)
        return CNF_OUT_JSON;
    return CNF_OUT_NONE;
}

cnf_output_format cnf_output_format_for_path(const char *path)
{
    return cnf_output_format_from_name(ext_of(path));
}

int cnf_output_format_is_8bit(cnf_output_format f)
{
    return f == CNF_OUT_PNG || f == CNF_OUT_JPG || f == CNF_OUT_BMP || f == CNF_OUT_TGA;
}

/* stb's *_to_func writers cannot be told that a callback failed, so the
 * buffer remembers it (cnf_buf.failed). */
static void membuf_write(void *ctx, void *data, int size)
{
    if (size > 0)
        cnf__buf_put(ctx, data, (size_t)size);
}

cnf_status cnf_encode(const cnf_image *img, cnf_output_format fmt, cnf_map_mode mode,
                      int jpeg_quality, unsigned char **out, size_t *out_len,
                      cnf_map_stats *stats, cnf_error *err)
{
    cnf_buf m = {0};
    unsigned char *px;
    size_t n;
    int ok = 0, comp = img->channels, colour = img->channels - img->has_alpha;
    *out = NULL;
    *out_len = 0;
    if (!cnf_output_format_is_8bit(fmt))
        return cnf__encode_matrix(img, fmt, out, out_len, err);
    if (!(colour == 1 || colour == 3))
        return cnf__fail(err, CNF_E_FORMAT, NULL,
                         "%d channels cannot be written as an image (1 or 3, plus alpha); use "
                         ".npy or an {index} template",
                         colour);
    if (img->width > 65535 || img->height > 65535) {
        if (fmt == CNF_OUT_JPG)
            return cnf__fail(err, CNF_E_FORMAT, NULL, "JPEG cannot hold %dx%d pixels",
                             img->width, img->height);
    }
    if (!cnf__mul3((size_t)img->width, (size_t)img->height, (size_t)comp, &n) || n > INT32_MAX)
        return cnf__fail(err, CNF_E_TOO_BIG, NULL, "image too large to encode");
    px = malloc(n);
    if (!px)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    cnf_map_to_u8(img, mode, px, stats);
    switch (fmt) {
    case CNF_OUT_PNG: {
        cnf_status st = cnf__png_encode(px, img->width, img->height, comp, CNF_PNG_DEFAULT_LEVEL,
                                        out, out_len, err);
        free(px);
        return st;
    }
    case CNF_OUT_JPG: {
        cnf_status st = cnf__jpeg_encode(px, img->width, img->height, comp, jpeg_quality, out,
                                         out_len, err);
        free(px);
        return st;
    }
    case CNF_OUT_BMP:
        ok = stbi_write_bmp_to_func(membuf_write, &m, img->width, img->height, comp, px);
        break;
    case CNF_OUT_TGA:
        ok = stbi_write_tga_to_func(membuf_write, &m, img->width, img->height, comp, px);
        break;
    default:
        break;
    }
    free(px);
    if (!ok || m.failed) {
        free(m.data);
        return cnf__fail(err, m.failed ? CNF_E_NOMEM : CNF_E_IO, NULL, "encoding failed");
    }
    *out = m.data;
    *out_len = m.len;
    return CNF_OK;
}

/* ------------------------------------------------------------ readers */

static void reader_destroy_whole(cnf_reader *r) { cnf_image_free(&r->whole); }

cnf_status cnf_reader_open(const unsigned char *buf, size_t len, cnf_input_kind kind,
                           const char *name, uint64_t max_pixels, cnf_reader **r_ret,
                           cnf_error *err)
{
    cnf_reader *r = calloc(1, sizeof *r);
    cnf_input_kind k;
    cnf_status st = CNF_OK;
    *r_ret = NULL;
    if (!r)
        return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
    k = len ? sniff(buf, len, kind) : kind;
    if (len && k != CNF_IN_JSON && k != CNF_IN_CSV && k != CNF_IN_TXT && k != CNF_IN_NPY) {
        if (is_png(buf, len))
            st = cnf__png_reader(buf, len, name, max_pixels, r, err);
        else if (is_jpeg(buf, len))
            st = cnf__jpeg_reader(buf, len, name, max_pixels, r, err);
    }
    if (st == CNF_OK && !r->rows) {
        /* Not streamable (or an interlaced PNG): decoded whole, now. */
        if (r->destroy)
            r->destroy(r);
        r->destroy = reader_destroy_whole;
        st = cnf_decode(buf, len, kind, name, max_pixels, &r->whole, err);
        if (st == CNF_OK) {
            r->w = r->whole.width;
            r->h = r->whole.height;
            r->c = r->whole.channels;
            r->alpha = r->whole.has_alpha;
        }
    }
    if (st) {
        cnf_reader_free(r);
        return st;
    }
    *r_ret = r;
    return CNF_OK;
}

void cnf_reader_shape(const cnf_reader *r, int *width, int *height, int *channels,
                      int *has_alpha)
{
    *width = r->w;
    *height = r->h;
    *channels = r->c;
    *has_alpha = r->alpha;
}

void cnf_reader_free(cnf_reader *r)
{
    if (!r)
        return;
    if (r->destroy)
        r->destroy(r);
    free(r);
}

int cnf_input_streams(const unsigned char *buf, size_t len, cnf_input_kind kind)
{
    cnf_input_kind k = len ? sniff(buf, len, kind) : kind;
    if (!len || k == CNF_IN_JSON || k == CNF_IN_CSV || k == CNF_IN_TXT || k == CNF_IN_NPY)
        return 0;
    if (is_jpeg(buf, len))
        return 1;
    /* PNG: the interlace method is the last byte of IHDR's data. */
    return is_png(buf, len) && len > 28 && buf[28] == 0;
}
