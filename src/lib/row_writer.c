/* row_writer.c - an image file written as its rows arrive (cnf_row_writer): what cnf_encode checks and maps, per row.
 *
 * The checks of cnf_encode (quality, depth, channel count, the format's
 * size) are made at open, before any byte is written; each call maps its
 * rows to 8- or 16-bit samples exactly as the whole image is mapped (row by
 * row, cnf_map_row / cnf_map_row16), or, for exact values, refuses a
 * non-finite one naming its place, and then hands them to the format's
 * part (its codec row's row_out).  So the file has the bytes cnf_encode
 * gives for the whole image.  --map normalize needs the whole image's range
 * before its first row: such an image is written whole.
 */
#include "codec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Values written as they are (a matrix format, or float samples), not
 * through the map. */
static int exact(const cnf_codec *c, const cnf_encode_opts *o)
{
    return (c->info.flags & CNF_FORMAT_MATRIX) || o->depth == CNF_DEPTH_FLOAT;
}

int cnf_row_writer_streams(cnf_output_format fmt, const cnf_encode_opts *opts, int channels,
                           int seekable)
{
    const cnf_codec *c = cnf__codec_for_output(fmt);
    cnf_encode_opts d;
    if (!opts) {
        cnf_encode_opts_init(&d);
        opts = &d;
    }
    if (!c || !c->row_out || (c->row_out->seeks && !seekable))
        return 0;
    if (!exact(c, opts) && opts->map == CNF_MAP_NORMALIZE)
        return 0;
    return !c->row_out->takes || c->row_out->takes(channels, opts);
}

/* What cnf_encode refuses, refused the same way, before anything is written. */
static cnf_status check_open(const cnf_codec *c, int width, int height, int channels,
                             int has_alpha, const cnf_encode_opts *o, cnf_error *err)
{
    int colour = channels - (has_alpha ? 1 : 0);
    if (!c || !c->encode)
        return cnf__fail(err, CNF_E_USAGE, NULL, "not a format that is written");
    if (width < 1 || height < 1 || channels < 1 || channels > CNF_MAX_CHANNELS + 1 ||
        colour < 1 || (has_alpha != 0 && has_alpha != 1))
        return cnf__fail(err, CNF_E_USAGE, NULL, "no image of %dx%d with %d channels", width,
                         height, channels);
    if (o->quality != -1 && (o->quality < 1 || o->quality > 100))
        return cnf__fail(err, CNF_E_USAGE, NULL, "quality %d is not 1..100", o->quality);
    if (!(c->info.flags & CNF_FORMAT_MATRIX)) {
        if (o->depth == 16 && !(c->info.flags & CNF_FORMAT_16BIT))
            return cnf__fail(err, CNF_E_FORMAT, NULL, "%s cannot hold 16-bit samples",
                             c->info.name);
        if (o->depth == CNF_DEPTH_FLOAT && !(c->info.flags & CNF_FORMAT_FLOAT))
            return cnf__fail(err, CNF_E_FORMAT, NULL, "%s cannot hold float samples",
                             c->info.name);
        if (o->depth != 8 && o->depth != 16 && o->depth != CNF_DEPTH_FLOAT)
            return cnf__fail(err, CNF_E_USAGE, NULL, "depth %d is not 8, 16 or float",
                             o->depth);
        if (o->depth != CNF_DEPTH_FLOAT && colour != 1 && colour != 3)
            return cnf__fail(err, CNF_E_FORMAT, NULL,
                             "%d channels cannot be written as an image (1 or 3, plus alpha); "
                             "use .npy or an {index} template",
                             colour);
        if (c->fits) {
            cnf_status st = c->fits(width, height, err);
            if (st)
                return st;
        }
    }
    if (!c->row_out || (c->row_out->takes && !c->row_out->takes(channels, o)))
        return cnf__fail(err, CNF_E_USAGE, NULL,
                         "%s of %d channels is written whole (cnf_encode), not by rows",
                         c->info.name, channels);
    if (!exact(c, o) && o->map == CNF_MAP_NORMALIZE)
        return cnf__fail(err, CNF_E_USAGE, NULL,
                         "normalize needs the whole image's range: written whole (cnf_encode)");
    return CNF_OK;
}

cnf_status cnf_row_writer_open(cnf_row_writer **w_ret, cnf_output_format fmt, int width,
                               int height, int channels, int has_alpha,
                               const cnf_encode_opts *opts, int fd, cnf_error *err)
{
    const cnf_codec *c = cnf__codec_for_output(fmt);
    cnf_row_writer *w;
    cnf_encode_opts d;
    cnf_status st;
    *w_ret = NULL;
    if (!opts) {
        cnf_encode_opts_init(&d);
        opts = &d;
    }
    if ((st = check_open(c, width, height, channels, has_alpha, opts, err)) != CNF_OK)
        return st;
    if (!(w = calloc(1, sizeof *w)))
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    w->codec = c;
    w->fd = fd;
    w->width = width;
    w->height = height;
    w->channels = channels;
    w->has_alpha = has_alpha ? 1 : 0;
    w->opts = *opts;
    st = c->row_out->open(w, err);
    /* The mark's texts are the caller's: used by open only. */
    w->opts.software = NULL;
    w->opts.comment = NULL;
    if (st) {
        cnf_row_writer_free(w);
        return st;
    }
    *w_ret = w;
    return CNF_OK;
}

/* Exact values: finite (else refused, naming the first one met), and their
 * range over the colour planes into stats. */
static cnf_status check_rows(cnf_row_writer *w, const float *const *rows, int n,
                             cnf_map_stats *stats, cnf_error *err)
{
    char name[16];
    const char *format = "a float TIFF";
    int colour = w->channels - w->has_alpha;
    size_t width = (size_t)w->width;
    if (w->codec->info.flags & CNF_FORMAT_MATRIX) {
        snprintf(name, sizeof name, ".%.*s", (int)strcspn(w->codec->info.extensions, " "),
                 w->codec->info.extensions);
        format = name;
    }
    for (int i = 0; i < n; i++)
        for (int c = 0; c < w->channels; c++) {
            const float *p = rows[(size_t)i * (size_t)w->channels + (size_t)c];
            cnf_status st = cnf__check_finite_row(p, width, c, (size_t)(w->y + i), format, err);
            if (st)
                return st;
            if (stats && c < colour)
                for (size_t x = 0; x < width; x++) {
                    stats->min = p[x] < stats->min ? p[x] : stats->min;
                    stats->max = p[x] > stats->max ? p[x] : stats->max;
                }
        }
    if (stats)
        stats->values += (uint64_t)n * width * (uint64_t)colour;
    return CNF_OK;
}

/* Mapped samples: n rows into w->px, interleaved, as cnf_encode maps them. */
static cnf_status map_rows(cnf_row_writer *w, const float *const *rows, int n,
                           cnf_map_stats *stats, cnf_error *err)
{
    int sixteen = w->opts.depth == 16;
    size_t stride = (size_t)w->width * (size_t)w->channels * (sixteen ? 2 : 1);
    if (stride * (size_t)n > w->px_cap) {
        free(w->px);
        w->px_cap = stride * (size_t)n;
        if (!(w->px = malloc(w->px_cap))) {
            w->px_cap = 0;
            return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
        }
    }
    for (int i = 0; i < n; i++) {
        const float *const *src = rows + (size_t)i * (size_t)w->channels;
        if (sixteen)
            cnf_map_row16(src, w->channels, w->has_alpha, w->width, w->opts.map, 0, 0,
                          (uint16_t *)(void *)(w->px + (size_t)i * stride), stats);
        else
            cnf_map_row(src, w->channels, w->has_alpha, w->width, w->opts.map, 0, 0,
                        w->px + (size_t)i * stride, stats);
    }
    return CNF_OK;
}

cnf_status cnf_row_writer_rows(cnf_row_writer *w, const float *const *rows, int n,
                               cnf_map_stats *stats, cnf_error *err)
{
    int ex = exact(w->codec, &w->opts);
    cnf_status st;
    if (w->failed)
        return cnf__fail(err, CNF_E_USAGE, NULL, "the writer failed before: nothing is written");
    if (n < 0 || n > w->height - w->y)
        return cnf__fail(err, CNF_E_USAGE, NULL, "%d more rows: the image has %d, %d written",
                         n, w->height, w->y);
    if (n == 0)
        return CNF_OK;
    st = ex ? check_rows(w, rows, n, stats, err) : map_rows(w, rows, n, stats, err);
    if (st == CNF_OK)
        st = w->codec->row_out->rows(w, n, ex ? NULL : w->px, rows, err);
    if (st) {
        w->failed = 1;
        return st;
    }
    w->y += n;
    return CNF_OK;
}

cnf_status cnf_row_writer_finish(cnf_row_writer *w, cnf_error *err)
{
    cnf_status st = CNF_OK;
    if (w->failed)
        return cnf__fail(err, CNF_E_USAGE, NULL, "the writer failed before: nothing is written");
    if (w->y != w->height)
        st = cnf__fail(err, CNF_E_USAGE, NULL, "%d of the image's %d rows were written", w->y,
                       w->height);
    else if (w->codec->row_out->finish)
        st = w->codec->row_out->finish(w, err);
    w->failed = st != CNF_OK;
    return st;
}

void cnf_row_writer_free(cnf_row_writer *w)
{
    if (!w)
        return;
    if (w->codec->row_out->destroy)
        w->codec->row_out->destroy(w);
    else
        free(w->state);
    free(w->px);
    free(w);
}
