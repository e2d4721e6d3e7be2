/* codec.c - the codec table and the dispatch that reads it: which codec decodes an input, writes an output.
 *
 * Which row reads an input:
 * - a kind from the file name (cnf_input_kind_for_path): a matrix kind is
 *   read by its row whatever the bytes; an image name means an image
 *   (text in x.png is a corrupt image, not a matrix);
 * - an image: the first non-last-resort image row whose sniff claims the
 *   bytes, else the last-resort row (stb, which tries the formats itself);
 * - an unnamed input (CNF_IN_AUTO): an image row's magic number first, then
 *   the matrix rows' sniffs (NUMPY magic, '[' for JSON, a digit or sign for
 *   text), else the last-resort image row.
 *
 * Orientation: an image row with an `orientation` function (EXIF in JPEG
 * and PNG) is turned upright here, for every way of reading it: the probe
 * gives the upright shape, a decode is turned after the row's decode, and
 * a reader of a turned input decodes it whole (an input as stored streams
 * as before).  CNF_DECODE_NO_ORIENT keeps the stored order.
 */
#include "codec.h"
#include "orient.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>

/* The table: a row per format, each defined in its codec's file (where the
 * format is written once: its name, extensions, flags and functions).
 * Adding a format is: one codec file defining its row, its line here and
 * below, its source line in CMakeLists.txt, and, if it is written, a
 * cnf_output_format value in cnnfilter.h.  Nothing else in the library
 * lists formats or extensions.  Rows are in the order front ends show them;
 * dispatch does not depend on it (images are sniffed before matrices, magic
 * numbers never overlap). */
extern const cnf_codec cnf__codec_png, cnf__codec_jpeg, cnf__codec_tiff, cnf__codec_webp,
    cnf__codec_bmp, cnf__codec_tga, cnf__codec_gif, cnf__codec_pnm, cnf__codec_psd,
    cnf__codec_hdr, cnf__codec_npy, cnf__codec_txt, cnf__codec_json, cnf__codec_csv;
static const cnf_codec *const CODECS[] = {
    &cnf__codec_png,
    &cnf__codec_jpeg,
    &cnf__codec_tiff,
    &cnf__codec_webp,
    &cnf__codec_bmp,
    &cnf__codec_tga,
    &cnf__codec_gif,
    &cnf__codec_pnm,
    &cnf__codec_psd,
    &cnf__codec_hdr,
    &cnf__codec_npy,
    &cnf__codec_txt,
    &cnf__codec_json,
    &cnf__codec_csv,
};

#define N_CODECS (sizeof CODECS / sizeof CODECS[0])

/* ------------------------------------------------------------ lookups */

static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash))
        return "";
    return dot + 1;
}

/* 1 if `word` is one of the space-separated words of `list`, in any case. */
static int in_list(const char *list, const char *word)
{
    size_t n = strlen(word);
    while (n && *list) {
        size_t k = strcspn(list, " ");
        if (k == n && strncasecmp(list, word, n) == 0)
            return 1;
        list += k;
        list += *list == ' ';
    }
    return 0;
}

static const cnf_codec *by_extension(const char *ext)
{
    for (size_t i = 0; i < N_CODECS; i++)
        if (in_list(CODECS[i]->info.extensions, ext))
            return CODECS[i];
    return NULL;
}

static const cnf_codec *by_word(const char *word)
{
    for (size_t i = 0; i < N_CODECS; i++)
        if (strcasecmp(CODECS[i]->info.name, word) == 0)
            return CODECS[i];
    return by_extension(word);
}

static const cnf_codec *by_output(cnf_output_format f)
{
    for (size_t i = 0; f != CNF_OUT_NONE && i < N_CODECS; i++)
        if (CODECS[i]->info.output == f)
            return CODECS[i];
    return NULL;
}

const cnf_codec *cnf__codec_for_output(cnf_output_format f) { return by_output(f); }

/* The row that reads a matrix kind. */
static const cnf_codec *by_kind(cnf_input_kind kind)
{
    for (size_t i = 0; i < N_CODECS; i++)
        if (CODECS[i]->kind == kind)
            return CODECS[i];
    return NULL;
}

/* The public table is a copy of each row's info, made once: front ends
 * index it as an array, and the rows carry more than the info. */
static cnf_format_info formats[N_CODECS];
static pthread_once_t formats_once = PTHREAD_ONCE_INIT;

static void fill_formats(void)
{
    for (size_t i = 0; i < N_CODECS; i++)
        formats[i] = CODECS[i]->info;
}

static const cnf_format_info *public_info(const cnf_codec *c)
{
    if (!c)
        return NULL;
    pthread_once(&formats_once, fill_formats);
    for (size_t i = 0; i < N_CODECS; i++)
        if (CODECS[i] == c)
            return &formats[i];
    return NULL;
}

const cnf_format_info *cnf_formats(size_t *count_ret)
{
    *count_ret = N_CODECS;
    return public_info(CODECS[0]);
}

const cnf_format_info *cnf_format_for_path(const char *path)
{
    return public_info(by_extension(ext_of(path)));
}

const cnf_format_info *cnf_format_by_name(const char *word)
{
    return public_info(by_word(word));
}

const cnf_format_info *cnf_image_format_of(const unsigned char *buf, size_t len)
{
    for (size_t i = 0; len && i < N_CODECS; i++) {
        const cnf_codec *c = CODECS[i];
        if (!(c->info.flags & CNF_FORMAT_MATRIX) && c->sniff && c->sniff(buf, len) > 0)
            return public_info(c);
    }
    return NULL;
}

cnf_input_kind cnf_input_kind_for_path(const char *path)
{
    const cnf_codec *c = by_extension(ext_of(path));
    return c ? c->kind : CNF_IN_AUTO;
}

cnf_output_format cnf_output_format_from_name(const char *name)
{
    const cnf_codec *c = by_word(name);
    return c ? c->info.output : CNF_OUT_NONE;
}

cnf_output_format cnf_output_format_for_path(const char *path)
{
    const cnf_codec *c = by_extension(ext_of(path));
    return c ? c->info.output : CNF_OUT_NONE;
}

int cnf_output_format_is_8bit(cnf_output_format f)
{
    const cnf_codec *c = by_output(f);
    return c && (c->info.flags & CNF_FORMAT_8BIT);
}

/* ------------------------------------------------------------ dispatch */

/* The row that reads buf (see the file comment).  `partial`: buf is only
 * the start of the input, and NULL is returned while a sniff cannot tell
 * yet; otherwise such a sniff counts as "no". */
static const cnf_codec *choose(const unsigned char *buf, size_t len, cnf_input_kind kind,
                               int partial)
{
    const cnf_codec *last = NULL;
    if (kind != CNF_IN_AUTO && kind != CNF_IN_IMAGE) {
        const cnf_codec *c = by_kind(kind);
        if (c)
            return c;
        kind = CNF_IN_IMAGE; /* no row reads this kind: tried as an image */
    }
    for (int matrices = 0; matrices < 2; matrices++) {
        if (matrices && kind != CNF_IN_AUTO)
            break;
        for (size_t i = 0; i < N_CODECS; i++) {
            const cnf_codec *c = CODECS[i];
            int s;
            if (c->last_resort)
                last = c;
            if (c->last_resort || !c->sniff ||
                !(c->info.flags & CNF_FORMAT_MATRIX) != !matrices)
                continue;
            s = c->sniff(buf, len);
            if (s > 0)
                return c;
            if (s < 0 && partial)
                return NULL;
        }
    }
    return last;
}

cnf_status cnf_sniff(const unsigned char *buf, size_t len, cnf_input_kind kind, const char *name,
                     cnf_error *err)
{
    const cnf_codec *c = len ? choose(buf, len, kind, 1) : NULL;
    if (!c || !c->check)
        return CNF_OK;
    return c->check(buf, len, name, err);
}

/* The orientation decoding with `flags` applies to buf as read by c. */
static int orientation_of(const cnf_codec *c, const unsigned char *buf, size_t len,
                          unsigned flags)
{
    if (!c || (flags & CNF_DECODE_NO_ORIENT) || !c->orientation)
        return 1;
    return c->orientation(buf, len);
}

int cnf_input_orientation(const unsigned char *buf, size_t len, cnf_input_kind kind)
{
    return orientation_of(len ? choose(buf, len, kind, 0) : NULL, buf, len, 0);
}

cnf_status cnf_probe_ex(const unsigned char *buf, size_t len, cnf_input_kind kind,
                        const char *name, uint64_t max_pixels, unsigned flags, int *width,
                        int *height, int *channels, int *has_alpha, cnf_error *err)
{
    const cnf_codec *c;
    cnf_image img;
    cnf_status st;
    if (len == 0)
        return cnf__fail(err, CNF_E_DECODE, name, "empty file");
    c = choose(buf, len, kind, 0);
    if (c->probe) {
        st = c->probe(buf, len, name, max_pixels, width, height, channels, has_alpha, err);
        if (st == CNF_OK && cnf__orient_swaps(orientation_of(c, buf, len, flags))) {
            int t = *width;
            *width = *height;
            *height = t;
        }
        return st;
    }
    /* No header to read (a matrix): parsed whole for its shape. */
    st = c->decode(buf, len, name, max_pixels, &img, err);
    if (st)
        return st;
    *width = img.width;
    *height = img.height;
    *channels = img.channels;
    *has_alpha = img.has_alpha;
    cnf_image_free(&img);
    return CNF_OK;
}

cnf_status cnf_probe(const unsigned char *buf, size_t len, cnf_input_kind kind, const char *name,
                     uint64_t max_pixels, int *width, int *height, int *channels, int *has_alpha,
                     cnf_error *err)
{
    return cnf_probe_ex(buf, len, kind, name, max_pixels, 0, width, height, channels, has_alpha,
                        err);
}

cnf_status cnf_decode_ex(const unsigned char *buf, size_t len, cnf_input_kind kind,
                         const char *name, uint64_t max_pixels, unsigned flags, cnf_image *img,
                         cnf_error *err)
{
    const cnf_codec *c;
    cnf_status st;
    memset(img, 0, sizeof *img);
    if (len == 0)
        return cnf__fail(err, CNF_E_DECODE, name, "empty file");
    c = choose(buf, len, kind, 0);
    st = c->decode(buf, len, name, max_pixels, img, err);
    if (st == CNF_OK && (st = cnf__orient_image(img, orientation_of(c, buf, len, flags), err))) {
        cnf__error_names_file(err, name);
        cnf_image_free(img);
    }
    return st;
}

cnf_status cnf_decode(const unsigned char *buf, size_t len, cnf_input_kind kind,
                      const char *name, uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    return cnf_decode_ex(buf, len, kind, name, max_pixels, 0, img, err);
}

int cnf_input_streams_ex(const unsigned char *buf, size_t len, cnf_input_kind kind,
                         unsigned flags)
{
    const cnf_codec *c = len ? choose(buf, len, kind, 0) : NULL;
    return c && c->streams && orientation_of(c, buf, len, flags) == 1 ? c->streams(buf, len) : 0;
}

int cnf_input_streams(const unsigned char *buf, size_t len, cnf_input_kind kind)
{
    return cnf_input_streams_ex(buf, len, kind, 0);
}

uint64_t cnf_decoder_memory(const unsigned char *buf, size_t len, cnf_input_kind kind)
{
    const cnf_codec *c = len ? choose(buf, len, kind, 0) : NULL;
    return c && c->memory ? c->memory(buf, len) : 0;
}

/* ------------------------------------------------------------ readers */

static void reader_destroy_whole(cnf_reader *r) { cnf_image_free(&r->whole); }

cnf_status cnf_reader_open_ex(const unsigned char *buf, size_t len, cnf_input_kind kind,
                              const char *name, uint64_t max_pixels, unsigned flags,
                              cnf_reader **r_ret, cnf_error *err)
{
    cnf_reader *r = calloc(1, sizeof *r);
    const cnf_codec *c = len ? choose(buf, len, kind, 0) : NULL;
    cnf_status st = CNF_OK;
    *r_ret = NULL;
    if (!r)
        return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
    /* A turned input is decoded whole: its first output row is a stored
     * column, or the stored last row. */
    if (c && c->open_reader && orientation_of(c, buf, len, flags) == 1)
        st = c->open_reader(buf, len, name, max_pixels, r, err);
    if (st == CNF_OK && !r->rows) {
        /* Not streamed (or an interlaced PNG, or turned): decoded whole, now. */
        if (r->destroy)
            r->destroy(r);
        r->destroy = reader_destroy_whole;
        st = cnf_decode_ex(buf, len, kind, name, max_pixels, flags, &r->whole, err);
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
    r->len = len;
    *r_ret = r;
    return CNF_OK;
}

/* Bytes a reader is done with: all of them once decoded whole. */
static size_t reader_used(const cnf_reader *r)
{
    if (r->whole.data)
        return r->len;
    return r->used ? r->used(r) : 0;
}

/* After rows were decoded: tell the on_used callback how far the reader is
 * done with its input, when that moved on by at least 1 MiB or the last row
 * is decoded. */
static void reader_progress(cnf_reader *r)
{
    size_t n;
    if (!r->on_used)
        return;
    n = r->next >= r->h ? r->len : reader_used(r);
    if (n > r->len)
        n = r->len;
    if (n >= r->used_told + ((size_t)1 << 20) || (n == r->len && n > r->used_told)) {
        r->used_told = n;
        r->on_used(r->on_used_ctx, n);
    }
}

cnf_status cnf_reader_rows(cnf_reader *r, int n, float *const *rows, int planes,
                           cnf_error *err)
{
    cnf_status st = CNF_OK;
    if (n < 0 || n > r->h - r->next || planes < r->c)
        return cnf__fail(err, CNF_E_USAGE, NULL, "rows %d..%d of an image of %d rows",
                         r->next, r->next + n, r->h);
    if (n == 0)
        return CNF_OK;
    if (r->whole.data) {
        for (int i = 0; i < n; i++)
            for (int p = 0; p < r->c; p++)
                memcpy(rows[(size_t)i * (size_t)planes + (size_t)p],
                       cnf_image_plane(&r->whole, p) + (size_t)(r->next + i) * (size_t)r->w,
                       (size_t)r->w * sizeof(float));
    } else {
        st = r->rows(r, n, rows, planes, err);
    }
    if (st)
        return st;
    r->next += n;
    if (r->next == r->h && !r->whole.data && r->finish && (st = r->finish(r, err)) != CNF_OK)
        return st;
    reader_progress(r);
    return CNF_OK;
}

int cnf_reader_u8(const cnf_reader *r)
{
    return r && r->rows_u8 && !r->whole.data;
}

cnf_status cnf_reader_rows_u8(cnf_reader *r, int n, unsigned char *const *rows, cnf_error *err)
{
    cnf_status st;
    if (!cnf_reader_u8(r))
        return cnf__fail(err, CNF_E_USAGE, NULL, "this input has no 8-bit rows");
    if (n < 0 || n > r->h - r->next)
        return cnf__fail(err, CNF_E_USAGE, NULL, "rows %d..%d of an image of %d rows",
                         r->next, r->next + n, r->h);
    if (n == 0)
        return CNF_OK;
    if ((st = r->rows_u8(r, n, rows, err)) != CNF_OK)
        return st;
    r->next += n;
    if (r->next == r->h && r->finish && (st = r->finish(r, err)) != CNF_OK)
        return st;
    reader_progress(r);
    return CNF_OK;
}

void cnf_reader_on_input_used(cnf_reader *r, void (*fn)(void *ctx, size_t n), void *ctx)
{
    r->on_used = fn;
    r->on_used_ctx = ctx;
    r->used_told = 0;
    if (fn && r->whole.data && r->len) {
        r->used_told = r->len;
        fn(ctx, r->len);
    }
}

cnf_status cnf_reader_open(const unsigned char *buf, size_t len, cnf_input_kind kind,
                           const char *name, uint64_t max_pixels, cnf_reader **r_ret,
                           cnf_error *err)
{
    return cnf_reader_open_ex(buf, len, kind, name, max_pixels, 0, r_ret, err);
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

/* ------------------------------------------------------------ encoding */

void cnf_encode_opts_init(cnf_encode_opts *o)
{
    memset(o, 0, sizeof *o);
    o->map = CNF_MAP_CLAMP;
    o->quality = -1;
    o->depth = 8;
}

/* An image format written through the map: the colour count it can hold,
 * its size, then the image mapped to interleaved 8- or 16-bit samples for
 * its encoder. */
static cnf_status encode_mapped(const cnf_codec *c, const cnf_image *img,
                                const cnf_encode_opts *o, unsigned char **out, size_t *out_len,
                                cnf_map_stats *stats, cnf_error *err)
{
    unsigned char *px;
    size_t n, bytes = o->depth == 16 ? 2 : 1;
    cnf_status st;
    int colour = img->channels - img->has_alpha;
    if (!(colour == 1 || colour == 3))
        return cnf__fail(err, CNF_E_FORMAT, NULL,
                         "%d channels cannot be written as an image (1 or 3, plus alpha); use "
                         ".npy or an {index} template",
                         colour);
    if (c->fits && (st = c->fits(img->width, img->height, err)) != CNF_OK)
        return st;
    if (!cnf__mul3((size_t)img->width, (size_t)img->height, (size_t)img->channels, &n) ||
        n > INT32_MAX)
        return cnf__fail(err, CNF_E_TOO_BIG, NULL, "image too large to encode");
    px = malloc(n * bytes);
    if (!px)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    if (bytes == 2)
        cnf__map_to_u16(img, o->map, (uint16_t *)(void *)px, stats);
    else
        cnf_map_to_u8(img, o->map, px, stats);
    st = c->encode(img, px, o, out, out_len, err);
    free(px);
    return st;
}

/* The exact formats hold finite values only, as their readers (and JSON)
 * accept only those: an infinity or NaN (a float32 overflow of the result)
 * is refused, naming its place. */
cnf_status cnf__check_finite_row(const float *p, size_t n, int c, size_t y, const char *format,
                                 cnf_error *err)
{
    for (size_t x = 0; x < n; x++)
        if (!isfinite(p[x]))
            return cnf__fail(err, CNF_E_FORMAT, NULL,
                             "the result holds %s at (channel %d, row %zu, column %zu): %s "
                             "holds finite values only (write an 8-bit image, where it "
                             "maps to 0 or 255, or scale the kernel down)",
                             isnan(p[x]) ? "NaN" : p[x] > 0 ? "+inf" : "-inf", c, y, x,
                             format);
    return CNF_OK;
}

static cnf_status check_finite(const cnf_image *img, const char *format, cnf_error *err)
{
    size_t w = (size_t)img->width;
    for (int c = 0; c < img->channels; c++) {
        const float *p = cnf_image_plane(img, c);
        for (size_t y = 0; y < (size_t)img->height; y++) {
            cnf_status st = cnf__check_finite_row(p + y * w, w, c, y, format, err);
            if (st)
                return st;
        }
    }
    return CNF_OK;
}

cnf_status cnf_encode(const cnf_image *img, cnf_output_format fmt, const cnf_encode_opts *opts,
                      unsigned char **out, size_t *out_len, cnf_map_stats *stats,
                      cnf_error *err)
{
    cnf_status fst;
    const cnf_codec *c = by_output(fmt);
    cnf_encode_opts defaults;
    *out = NULL;
    *out_len = 0;
    if (!opts) {
        cnf_encode_opts_init(&defaults);
        opts = &defaults;
    }
    if (!c || !c->encode)
        return cnf__fail(err, CNF_E_USAGE, NULL, "not a matrix format");
    if (opts->quality != -1 && (opts->quality < 1 || opts->quality > 100))
        return cnf__fail(err, CNF_E_USAGE, NULL, "quality %d is not 1..100", opts->quality);
    if (c->info.flags & CNF_FORMAT_MATRIX) {
        char name[16];
        snprintf(name, sizeof name, ".%.*s", (int)strcspn(c->info.extensions, " "),
                 c->info.extensions);
        if ((fst = check_finite(img, name, err)) != CNF_OK)
            return fst;
        return c->encode(img, NULL, opts, out, out_len, err);
    }
    if (opts->depth == 16 && !(c->info.flags & CNF_FORMAT_16BIT))
        return cnf__fail(err, CNF_E_FORMAT, NULL, "%s cannot hold 16-bit samples",
                         c->info.name);
    if (opts->depth == CNF_DEPTH_FLOAT) {
        if (!(c->info.flags & CNF_FORMAT_FLOAT))
            return cnf__fail(err, CNF_E_FORMAT, NULL, "%s cannot hold float samples",
                             c->info.name);
        cnf_status st;
        if (c->fits && (st = c->fits(img->width, img->height, err)) != CNF_OK)
            return st;
        if ((fst = check_finite(img, "a float TIFF", err)) != CNF_OK)
            return fst;
        return c->encode(img, NULL, opts, out, out_len, err);
    }
    if (opts->depth != 8 && opts->depth != 16)
        return cnf__fail(err, CNF_E_USAGE, NULL, "depth %d is not 8, 16 or float", opts->depth);
    return encode_mapped(c, img, opts, out, out_len, stats, err);
}

/* ------------------------------------------------------------ marks */

int cnf_image_mark(const unsigned char *buf, size_t len, char *comment_ret, size_t cap)
{
    if (comment_ret && cap)
        comment_ret[0] = 0;
    else
        cap = 0;
    if (!buf || len == 0)
        return 0;
    for (size_t i = 0; i < N_CODECS; i++) {
        const cnf_codec *c = CODECS[i];
        if (c->mark && c->sniff && c->sniff(buf, len) > 0) {
            char dummy[1];
            return c->mark(buf, len, cap ? comment_ret : dummy, cap ? cap : 1) ? 1 : 0;
        }
    }
    return 0;
}
