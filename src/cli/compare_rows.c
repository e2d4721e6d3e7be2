/* compare_rows.c - compare's metrics, and a pair measured row by row so that neither image is held whole. */
#define _POSIX_C_SOURCE 200809L
#include "compare.h"
#include "input.h"
#include "msg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows read at once from each input. */
#define BAND 64

static double value_diff(float x, float y)
{
    /* Decoded values are finite (the decoders refuse others).  In double
     * the difference of two floats is exact unless their magnitudes are
     * more than 2^29 apart. */
    return fabs((double)x - (double)y);
}

void measure_span(const float *const *a, const float *const *b, int channels, size_t n,
                  double tolerance, pair_result *r, double *sse)
{
    for (size_t i = 0; i < n; i++) {
        int differs = 0, changed = 0;
        for (int c = 0; c < channels; c++) {
            double d = value_diff(a[c][i], b[c][i]);
            if (d > 0) {
                *sse += d * d;
                if (d > r->max_diff)
                    r->max_diff = d;
                if (r->per_pixel)
                    differs = 1;
                else
                    r->n_diff++;
                if (d > tolerance) {
                    if (r->per_pixel)
                        changed = 1;
                    else
                        r->changed++;
                }
            }
        }
        r->n_diff += (uint64_t)differs;
        r->changed += (uint64_t)changed;
    }
}

void measure_end(pair_result *r, uint64_t pixels, int channels, double sse)
{
    r->total = r->per_pixel ? pixels : pixels * (uint64_t)channels;
    r->measured = 1;
    r->has_psnr = r->per_pixel;
    r->psnr = sse == 0 ? INFINITY
                       : 10.0 * log10(255.0 * 255.0 * (double)pixels * (double)channels / sse);
}

/* One input read as rows. */
typedef struct row_input {
    const char *path;
    cnf_input_kind kind;
    input_bytes in;
    cnf_reader *r;
    int w, h, c, a, is_image;
    float *band; /* BAND rows of each plane: plane p's rows at band + p * BAND * w */
    float **rows;
} row_input;

static void fail_input(pair_result *r, const cnf_error *err, const char *path)
{
    msg_cnf(err, path);
    if (!r->error[0] &&
        snprintf(r->error, sizeof r->error, "%s: %s", err->where[0] ? err->where : path,
                 err->msg) < 0)
        r->error[0] = 0;
}

/* Open path as rows within *budget bytes (taken from it): the file when it
 * is copied or decoded whole, a whole decode's planes, what the decoder
 * holds (cnf_decoder_memory), the band. */
static cnf_status open_rows(const cmp_opts *o, const char *path, uint64_t *budget,
                            row_input *ri, cnf_error *err)
{
    uint64_t need;
    int turn, streams;
    cnf_status st;
    memset(err, 0, sizeof *err);
    ri->path = path;
    ri->kind = strcmp(path, "-") == 0 ? CNF_IN_AUTO : cnf_input_kind_for_path(path);
    if ((st = input_open(path, *budget, input_sniff, &ri->kind, &ri->in, err)) != CNF_OK)
        return st;
    if ((st = cnf_probe_ex(ri->in.buf, ri->in.len, ri->kind, path, o->max_pixels, 0, &ri->w,
                           &ri->h, &ri->c, &ri->a, err)) != CNF_OK)
        return st;
    turn = cnf_input_orientation(ri->in.buf, ri->in.len, ri->kind);
    streams = cnf_input_streams_ex(ri->in.buf, ri->in.len, ri->kind, 0);
    need = (uint64_t)BAND * (uint64_t)ri->w * (uint64_t)ri->c * sizeof(float) +
           cnf_decoder_memory(ri->in.buf, ri->in.len, ri->kind);
    if (!streams)
        need += (uint64_t)ri->w * (uint64_t)ri->h * (uint64_t)ri->c * sizeof(float) *
                (turn != 1 ? 2 : 1);
    if (!streams || !ri->in.map.base)
        need += ri->in.len;
    if (need > *budget) {
        fail(err, CNF_E_TOO_BIG, path,
             "%dx%d with %d channels needs %llu MiB to compare, and %llu MiB of the memory "
             "limit are left for it",
             ri->w, ri->h, ri->c, (unsigned long long)((need + (1 << 20) - 1) >> 20),
             (unsigned long long)(*budget >> 20));
        err->limit = CNF_LIMIT_MEMORY;
        return CNF_E_TOO_BIG;
    }
    *budget -= need;
    if ((st = cnf_reader_open_ex(ri->in.buf, ri->in.len, ri->kind, path, o->max_pixels, 0, &ri->r,
                                 err)) != CNF_OK)
        return st;
    input_follow(&ri->in, ri->r);
    {
        int w, h, c, a;
        cnf_reader_shape(ri->r, &w, &h, &c, &a);
        if (w != ri->w || h != ri->h || c != ri->c || a != ri->a)
            return fail(err, CNF_E_DECODE, path, "image header and data disagree");
    }
    ri->is_image = input_is_image(ri->in.buf, ri->in.len, ri->kind, path, o->max_pixels);
    ri->band = malloc((size_t)BAND * (size_t)ri->w * (size_t)ri->c * sizeof(float));
    ri->rows = malloc((size_t)BAND * (size_t)ri->c * sizeof *ri->rows);
    if (!ri->band || !ri->rows)
        return fail(err, CNF_E_NOMEM, path, "out of memory");
    for (int i = 0; i < BAND; i++)
        for (int p = 0; p < ri->c; p++)
            ri->rows[(size_t)i * (size_t)ri->c + (size_t)p] =
                ri->band + ((size_t)p * BAND + (size_t)i) * (size_t)ri->w;
    return CNF_OK;
}

/* The next n rows of ri into its band; a failure because the file was cut
 * short while read is named as such. */
static cnf_status next_rows(row_input *ri, int n, cnf_error *err)
{
    cnf_status st = cnf_reader_rows(ri->r, n, ri->rows, ri->c, err);
    if (st != CNF_OK)
        (void)input_cut_short(&ri->in, ri->path, err);
    return st;
}

static void close_rows(row_input *ri)
{
    cnf_reader_free(ri->r);
    free(ri->band);
    free(ri->rows);
    input_close(&ri->in);
}

int compare_rows(const cmp_opts *o, pair_result *r)
{
    row_input in[2];
    uint64_t budget = o->max_memory;
    cnf_error err;
    double sse = 0;
    int rc = -1, same;
    memset(in, 0, sizeof in);
    for (int s = 0; s < 2; s++)
        if (open_rows(o, s ? r->b : r->a, &budget, &in[s], &err) != CNF_OK) {
            fail_input(r, &err, s ? r->b : r->a);
            goto out;
        }
    same = in[0].w == in[1].w && in[0].h == in[1].h && in[0].c == in[1].c;
    r->per_pixel = in[0].is_image && in[1].is_image;
    /* Every row of both is read, whatever the shapes: a corrupt file is an
     * error, not a difference. */
    for (int y = 0; y < in[0].h || y < in[1].h; y += BAND) {
        for (int s = 0; s < 2; s++) {
            int n = in[s].h - y < BAND ? in[s].h - y : BAND;
            if (n > 0 && next_rows(&in[s], n, &err) != CNF_OK) {
                fail_input(r, &err, in[s].path);
                goto out;
            }
        }
        if (same) {
            int n = in[0].h - y < BAND ? in[0].h - y : BAND;
            const float *pa[CNF_MAX_CHANNELS], *pb[CNF_MAX_CHANNELS];
            for (int c = 0; c < in[0].c; c++) {
                pa[c] = in[0].band + (size_t)c * BAND * (size_t)in[0].w;
                pb[c] = in[1].band + (size_t)c * BAND * (size_t)in[1].w;
            }
            measure_span(pa, pb, in[0].c, (size_t)n * (size_t)in[0].w, o->tolerance, r, &sse);
        }
    }
    for (int s = 0; s < 2; s++)
        if (input_cut_short(&in[s].in, in[s].path, &err) != CNF_OK) {
            fail_input(r, &err, in[s].path);
            goto out;
        }
    r->decoded = 1;
    r->shape_a[0] = in[0].c, r->shape_a[1] = in[0].h, r->shape_a[2] = in[0].w;
    r->shape_b[0] = in[1].c, r->shape_b[1] = in[1].h, r->shape_b[2] = in[1].w;
    if (same)
        measure_end(r, (uint64_t)in[0].w * (uint64_t)in[0].h, in[0].c, sse);
    else
        r->size_mismatch = 1;
    rc = 0;
out:
    close_rows(&in[0]);
    close_rows(&in[1]);
    return rc;
}
