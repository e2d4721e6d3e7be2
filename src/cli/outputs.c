/* outputs.c - where a result goes: the names of an input's outputs, and writing a result into them (as its rows arrive, or whole). */
#define _POSIX_C_SOURCE 200809L
#include "outputs.h"

#include "formats.h"
#include "input.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Output names are kept below this (PATH_MAX on Linux). */
#define OUT_PATH_MAX 4096

int has_template(const char *s) { return strstr(s, "{kernel}") || strstr(s, "{index}"); }

/* Replace {kernel} and {index} in a template; -1 if the result is too long. */
static int expand_template(const char *tpl, const char *kname, int index, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = tpl; *p;) {
        const char *rep = NULL;
        char num[16];
        size_t skip = 0;
        if (strncmp(p, "{kernel}", 8) == 0) {
            rep = kname;
            skip = 8;
        } else if (strncmp(p, "{index}", 7) == 0) {
            snprintf(num, sizeof num, "%d", index);
            rep = num;
            skip = 7;
        }
        if (rep) {
            size_t n = strlen(rep);
            if (o + n >= size)
                return -1;
            memcpy(out + o, rep, n);
            o += n;
            p += skip;
        } else {
            if (o + 1 >= size)
                return -1;
            out[o++] = *p++;
        }
    }
    out[o] = 0;
    return 0;
}

void free_paths(char **paths, int n)
{
    if (!paths)
        return;
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

int find_duplicate(char *const *paths, int n, int *i_ret, int *j_ret)
{
    /* Outputs per input are few (at most 64); a batch's whole list is
     * checked by batch.c after sorting. */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(paths[i], paths[j]) == 0) {
                *i_ret = i;
                *j_ret = j;
                return 1;
            }
    return 0;
}

/* Path g of layout l under naming nm into buf; -1 if too long. */
static int one_path(const out_naming *nm, const out_layout *l, int g, char *buf, size_t size)
{
    int n;
    if (nm->batch) {
        if (l->groups == 1)
            n = snprintf(buf, size, "%s.%s", nm->path, nm->ext);
        else
            n = snprintf(buf, size, "%s-%s.%s", nm->path, l->names[g], nm->ext);
        return n < 0 || (size_t)n >= size ? -1 : 0;
    }
    if (l->groups == 1) {
        if (strlen(nm->path) >= size)
            return -1;
        memcpy(buf, nm->path, strlen(nm->path) + 1);
        return 0;
    }
    return expand_template(nm->path, l->names[g], g, buf, size);
}

int out_paths(const out_naming *nm, const out_layout *l, char ***paths_ret)
{
    char **paths = calloc((size_t)l->groups, sizeof *paths);
    char buf[OUT_PATH_MAX];
    int i, j;
    *paths_ret = NULL;
    if (!paths) {
        msg_error(nm->path, "out of memory");
        return EXIT_FAILURE_RUN;
    }
    for (int g = 0; g < l->groups; g++) {
        if (one_path(nm, l, g, buf, sizeof buf) != 0) {
            msg_usage(nm->path, "output name too long");
            free_paths(paths, l->groups);
            return EXIT_USAGE;
        }
        if (!(paths[g] = strdup(buf))) {
            msg_error(nm->path, "out of memory");
            free_paths(paths, l->groups);
            return EXIT_FAILURE_RUN;
        }
    }
    if (find_duplicate(paths, l->groups, &i, &j)) {
        msg_usage(paths[i],
                  "outputs %d and %d of the bank would both be this file (two kernels named "
                  "'%s'); use {index} in OUTPUT or rename a kernel file",
                  i, j, l->names[i]);
        free_paths(paths, l->groups);
        return EXIT_USAGE;
    }
    *paths_ret = paths;
    return EXIT_OK;
}

void report_output(const char *path, int mapped, const cnf_map_stats *s, const cnf_image *img)
{
    if (mapped) {
        uint64_t clipped = s->clipped_low + s->clipped_high;
        msg_info("%s: values %.9g .. %.9g before mapping; %llu of %llu clipped (%llu below 0, "
                 "%llu above 255)",
                 path, s->min, s->max, (unsigned long long)clipped,
                 (unsigned long long)s->values, (unsigned long long)s->clipped_low,
                 (unsigned long long)s->clipped_high);
    } else {
        double lo = 0, hi = 0;
        size_t n = (size_t)img->width * img->height * (size_t)(img->channels - img->has_alpha);
        for (size_t i = 0; i < n; i++) {
            if (i == 0 || img->data[i] < lo)
                lo = img->data[i];
            if (i == 0 || img->data[i] > hi)
                hi = img->data[i];
        }
        report_exact(path, img->channels, img->height, img->width, lo, hi);
    }
}

void report_exact(const char *path, int channels, int height, int width, double lo, double hi)
{
    msg_info("%s: %d x %d x %d values %.9g .. %.9g, written exactly", path, channels, height,
             width, lo, hi);
}

/* ------------------------------------------------ PNG outputs by rows */

/* The PNG files of one result being written as its rows arrive. */
typedef struct png_sink {
    const options *o;
    out_file *fs;
    cnf_png_writer **w;
    cnf_map_stats *stats;
    int groups, colour, alpha, width;
    double lo, range;   /* --map normalize: the whole result's range */
    unsigned char *buf; /* mapped rows of one band for one output */
    size_t cap;
} png_sink;

typedef struct write_ctx {
    out_file *f;
    cnf_error err; /* the file's own write error (names the path, says why) */
} write_ctx;

static int write_cb(void *ctx, const void *data, size_t len)
{
    write_ctx *wc = ctx;
    return out_write(wc->f, data, len, &wc->err) == CNF_OK ? 0 : -1;
}

/* Output group g's planes of band row i: its colour planes, then the alpha
 * plane (the result's last), which every group shares. */
static void group_planes(const float *const *rows, int planes, int i, int g, int colour,
                         int alpha, const float **dst)
{
    const float *const *r = rows + (size_t)i * (size_t)planes;
    for (int c = 0; c < colour; c++)
        dst[c] = r[g * colour + c];
    if (alpha)
        dst[colour] = r[planes - 1];
}

static cnf_status sink_png(void *ctx, int y0, int y1, const float *const *rows, int planes,
                           cnf_error *err)
{
    png_sink *ps = ctx;
    int n = y1 - y0, comp = ps->colour + ps->alpha, sixteen = ps->o->depth == 16;
    size_t stride = (size_t)ps->width * (size_t)comp * (sixteen ? 2 : 1);
    const float *src[5];
    if (stride * (size_t)n > ps->cap) {
        free(ps->buf);
        ps->cap = stride * (size_t)n;
        ps->buf = malloc(ps->cap);
        if (!ps->buf) {
            ps->cap = 0;
            return fail(err, CNF_E_NOMEM, "", "out of memory");
        }
    }
    for (int g = 0; g < ps->groups; g++) {
        cnf_status st;
        for (int i = 0; i < n; i++) {
            group_planes(rows, planes, i, g, ps->colour, ps->alpha, src);
            if (sixteen)
                cnf_map_row16(src, comp, ps->alpha, ps->width, ps->o->map, ps->lo, ps->range,
                              (uint16_t *)(void *)(ps->buf + (size_t)i * stride), &ps->stats[g]);
            else
                cnf_map_row(src, comp, ps->alpha, ps->width, ps->o->map, ps->lo, ps->range,
                            ps->buf + (size_t)i * stride, &ps->stats[g]);
        }
        if ((st = cnf_png_writer_rows(ps->w[g], ps->buf, stride, n, err)) != CNF_OK)
            return st;
    }
    return CNF_OK;
}

/* Where the rows of a PNG output come from: a plan run, or a whole image. */
typedef cnf_status (*png_feed)(void *ctx, png_sink *ps, cnf_error *err);

/* cnnfilter's mark in the images it writes (PNG tEXt chunks, and what
 * each other format has for text; cnf_encode_opts): the version and the
 * options that decide the pixels, for whoever finds the file later
 * (identify -verbose, cnf_image_mark); no time stamp, so the same pixels
 * and options give the same bytes. */
#define PNG_TEXT_MAX (sizeof((options *)0)->normalized + 32)
#define MARK_SOFTWARE "cnnfilter " CNF_VERSION_STRING

/* The comment: the version and the options, so that --skip-existing can
 * tell an output of these options and this version (whose defaults made the
 * same pixels) from any other. */
void mark_comment(const options *o, char *buf, size_t size)
{
    snprintf(buf, size, "cnnfilter %s %s%s", CNF_VERSION_STRING, o->normalized,
             o->normalized_truncated ? " ..." : "");
}

/* Feed the rows to a PNG writer per group, writing into fs[g]. */
static cnf_status write_pngs(const options *o, int w, int h, int ch, int a, out_file *fs,
                             int groups, int threads, double lo, double range, png_feed feed,
                             void *feed_ctx, cnf_map_stats *stats, cnf_error *err)
{
    char comment[PNG_TEXT_MAX];
    const char *text[5] = {"Software", MARK_SOFTWARE, "Comment", comment, NULL};
    cnf_png_writer *wr[CLI_MAX_KERNELS] = {0};
    write_ctx wc[CLI_MAX_KERNELS];
    cnf_map_stats local[CLI_MAX_KERNELS];
    png_sink ps;
    cnf_status st = CNF_OK;
    int g;
    mark_comment(o, comment, sizeof comment);
    memset(&ps, 0, sizeof ps);
    ps.o = o;
    ps.fs = fs;
    ps.w = wr;
    ps.stats = stats ? stats : local;
    ps.groups = groups;
    ps.alpha = a;
    ps.colour = (ch - a) / groups;
    ps.width = w;
    ps.lo = lo;
    ps.range = range;
    for (g = 0; g < groups && st == CNF_OK; g++) {
        cnf_map_stats_init(&ps.stats[g]);
        memset(&wc[g].err, 0, sizeof wc[g].err);
        wc[g].f = &fs[g];
        st = cnf_png_writer_open(&wr[g], w, h, ps.colour + a, o->depth, o->compression, threads,
                                 text, write_cb, &wc[g], err);
        if (st)
            error_default_where(err, fs[g].path);
    }
    if (st == CNF_OK)
        st = feed(feed_ctx, &ps, err);
    for (g = 0; g < groups && st == CNF_OK; g++)
        st = cnf_png_writer_finish(wr[g], err);
    for (g = 0; g < groups; g++) {
        /* A write error of the file itself says more (its path, errno). */
        if (st && wc[g].err.status)
            *err = wc[g].err;
        cnf_png_writer_free(wr[g]);
    }
    free(ps.buf);
    return st;
}

typedef struct plan_feed {
    const cnf_plan *plan;
    cnf_reader *r;
    int threads;
} plan_feed;

static cnf_status feed_plan(void *ctx, png_sink *ps, cnf_error *err)
{
    plan_feed *f = ctx;
    return cnf_plan_stream(f->plan, f->r, f->threads, sink_png, ps, err);
}

/* The 8-bit lane's rows, as they are, to the one PNG writer. */
static cnf_status sink_png_u8(void *ctx, int y0, int y1, const unsigned char *rows,
                              size_t stride, cnf_error *err)
{
    png_sink *ps = ctx;
    return cnf_png_writer_rows(ps->w[0], rows, stride, y1 - y0, err);
}

static cnf_status feed_lane(void *ctx, png_sink *ps, cnf_error *err)
{
    plan_feed *f = ctx;
    return cnf_plan_stream_u8(f->plan, ps->o->map, f->r, f->threads, sink_png_u8, ps, err);
}

const char *png_lane_refused(const options *o, const cnf_plan *plan, const cnf_reader *r,
                             int groups)
{
    if (o->out_fmt != CNF_OUT_PNG || o->depth != 8 || groups != 1)
        return "the output is not one 8-bit PNG";
    if (o->map != CNF_MAP_CLAMP && o->map != CNF_MAP_ABS)
        return "--map is not clamp or abs";
    if (o->verbose)
        return "-v reports the values' range, which the float path has";
    if (!cnf_plan_u8_conv(plan, o->map))
        return "not one integer kernel of at most 5 x 5 applied per channel (stride 1, 'same' "
               "padding, border not wrap, no scale, bias, activation, pooling or alpha, not "
               "--portable)";
    if (!cnf_reader_u8(r))
        return "the input is not read as 8-bit rows (an 8-bit gray or RGB PNG or JPEG, stored "
               "upright)";
    return NULL;
}

cnf_status emit_png_stream(const options *o, const cnf_plan *plan, cnf_reader *r, int threads,
                           out_file *fs, int groups, cnf_map_stats *stats, cnf_error *err)
{
    int w, h, ch, a;
    plan_feed f = {plan, r, threads};
    cnf_plan_output_shape(plan, &w, &h, &ch, &a);
    return write_pngs(o, w, h, ch, a, fs, groups, threads, 0, 0,
                      png_lane_refused(o, plan, r, groups) ? feed_plan : feed_lane, &f, stats,
                      err);
}

/* The rows of a whole image, one at a time. */
static cnf_status feed_image(void *ctx, png_sink *ps, cnf_error *err)
{
    const cnf_image *img = ctx;
    const float *rows[CNF_MAX_CHANNELS + 1];
    cnf_status st = CNF_OK;
    for (int y = 0; y < img->height && st == CNF_OK; y++) {
        for (int c = 0; c < img->channels; c++)
            rows[c] = cnf_image_plane(img, c) + (size_t)y * (size_t)img->width;
        st = sink_png(ps, y, y + 1, rows, img->channels, err);
    }
    return st;
}

/* A whole result to PNG through the same writer (normalize needs the whole
 * range first; that is why this result was kept whole). */
static cnf_status emit_png_whole(const options *o, const cnf_image *img, int groups, int threads,
                                 out_file *fs, cnf_map_stats *stats, cnf_error *err)
{
    int colour = img->channels - img->has_alpha;
    double lo = INFINITY, hi = -INFINITY;
    if (colour / groups < 1 || colour / groups + img->has_alpha > 4)
        return fail(err, CNF_E_IO, fs[0].path, "PNG holds 1 to 4 channels, not %d",
                    colour / groups + img->has_alpha);
    if (o->map == CNF_MAP_NORMALIZE)
        cnf_image_range(img, &lo, &hi);
    return write_pngs(o, img->width, img->height, img->channels, img->has_alpha, fs, groups,
                      threads, lo, hi - lo, feed_image, (void *)(uintptr_t)img, stats, err);
}

/* How this run's outputs are encoded; the mark's comment (when `comment`
 * is given, PNG_TEXT_MAX bytes) is written into it. */
static void encode_opts(const options *o, char *comment, cnf_encode_opts *eo)
{
    cnf_encode_opts_init(eo);
    eo->map = o->map;
    eo->quality = o->quality;
    eo->depth = o->depth;
    if (comment) {
        mark_comment(o, comment, PNG_TEXT_MAX);
        eo->software = MARK_SOFTWARE;
        eo->comment = comment;
    }
}

cnf_status emit_whole(const options *o, const cnf_image *res, int groups, cnf_output_format fmt,
                      int threads, out_file *fs, cnf_map_stats *stats, cnf_error *err)
{
    cnf_status st = CNF_OK;
    char comment[PNG_TEXT_MAX];
    cnf_encode_opts eo;
    if (fmt == CNF_OUT_PNG && o->depth != CNF_DEPTH_FLOAT)
        return emit_png_whole(o, res, groups, threads, fs, stats, err);
    encode_opts(o, comment, &eo);
    for (int g = 0; g < groups && st == CNF_OK; g++) {
        cnf_image part = {0};
        const cnf_image *img = res;
        unsigned char *data = NULL;
        size_t len = 0;
        if (groups > 1) {
            if ((st = cnf_image_group(res, groups, g, &part, err)) != CNF_OK)
                break;
            img = &part;
        }
        cnf_map_stats ms;
        st = cnf_encode(img, fmt, &eo, &data, &len, &ms, err);
        if (st == CNF_OK) {
            if (stats)
                stats[g] = ms;
            if (o->verbose)
                report_output(fs[g].path, format_is_mapped(fmt, o->depth), &ms, img);
            st = out_write(&fs[g], data, len, err);
        } else {
            error_default_where(err, fs[g].path);
        }
        free(data);
        cnf_image_free(&part);
    }
    return st;
}

/* ------------------------------------------- other formats by rows */

int rows_stream(const options *o, int channels, int seekable)
{
    cnf_encode_opts eo;
    encode_opts(o, NULL, &eo);
    return cnf_row_writer_streams(o->out_fmt, &eo, channels, seekable);
}

/* The row writers of one result's files, and the row pointers of a group. */
typedef struct rows_sink {
    cnf_row_writer **w;
    out_file *fs;
    cnf_map_stats *stats;
    int groups, colour, alpha;
    const float **ptrs; /* n rows x (colour + alpha) planes of one group */
    size_t cap;
} rows_sink;

static cnf_status sink_rows(void *ctx, int y0, int y1, const float *const *rows, int planes,
                            cnf_error *err)
{
    rows_sink *rs = ctx;
    int n = y1 - y0, comp = rs->colour + rs->alpha;
    if (rs->groups > 1 && (size_t)n * (size_t)comp > rs->cap) {
        free(rs->ptrs);
        rs->cap = (size_t)n * (size_t)comp;
        if (!(rs->ptrs = malloc(rs->cap * sizeof *rs->ptrs))) {
            rs->cap = 0;
            return fail(err, CNF_E_NOMEM, "", "out of memory");
        }
    }
    for (int g = 0; g < rs->groups; g++) {
        const float *const *src = rows; /* one group: the planes as they are */
        cnf_status st;
        if (rs->groups > 1) {
            for (int i = 0; i < n; i++)
                group_planes(rows, planes, i, g, rs->colour, rs->alpha,
                             rs->ptrs + (size_t)i * (size_t)comp);
            src = rs->ptrs;
        }
        if ((st = cnf_row_writer_rows(rs->w[g], src, n, &rs->stats[g], err)) != CNF_OK) {
            error_default_where(err, rs->fs[g].path);
            return st;
        }
    }
    return CNF_OK;
}

cnf_status emit_rows_stream(const options *o, const cnf_plan *plan, cnf_reader *r, int threads,
                            out_file *fs, int groups, cnf_map_stats *stats, cnf_error *err)
{
    char comment[PNG_TEXT_MAX];
    cnf_encode_opts eo;
    cnf_row_writer *wr[CLI_MAX_KERNELS] = {0};
    cnf_map_stats local[CLI_MAX_KERNELS];
    rows_sink rs;
    cnf_status st = CNF_OK;
    int w, h, ch, a, g;
    cnf_plan_output_shape(plan, &w, &h, &ch, &a);
    encode_opts(o, comment, &eo);
    memset(&rs, 0, sizeof rs);
    rs.w = wr;
    rs.fs = fs;
    rs.stats = stats ? stats : local;
    rs.groups = groups;
    rs.alpha = a;
    rs.colour = (ch - a) / groups;
    for (g = 0; g < groups && st == CNF_OK; g++) {
        cnf_map_stats_init(&rs.stats[g]);
        st = cnf_row_writer_open(&wr[g], o->out_fmt, w, h, rs.colour + a, a, &eo, fs[g].fd, err);
        if (st)
            error_default_where(err, fs[g].path);
    }
    if (st == CNF_OK)
        st = cnf_plan_stream(plan, r, threads, sink_rows, &rs, err);
    for (g = 0; g < groups && st == CNF_OK; g++)
        if ((st = cnf_row_writer_finish(wr[g], err)) != CNF_OK)
            error_default_where(err, fs[g].path);
    for (g = 0; g < groups; g++) {
        if (st == CNF_OK && o->verbose) {
            if (format_is_mapped(o->out_fmt, o->depth))
                report_output(fs[g].path, 1, &rs.stats[g], NULL);
            else
                report_exact(fs[g].path, rs.colour + a, h, w, rs.stats[g].min, rs.stats[g].max);
        }
        cnf_row_writer_free(wr[g]);
    }
    free(rs.ptrs);
    return st;
}

/* ---------------------------------------------------- existing outputs */

/* The first `n` and last `m` bytes of a file, and its size. */
static int head_tail(const char *path, unsigned char *head, size_t n, unsigned char *tail, size_t m,
                     off_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int ok = 0;
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= (off_t)(n > m ? n : m) &&
        pread(fd, head, n, 0) == (ssize_t)n && pread(fd, tail, m, st.st_size - (off_t)m) == (ssize_t)m) {
        *size = st.st_size;
        ok = 1;
    }
    close(fd);
    return ok;
}

/* The head of a WebP and its EXIF chunk (where its mark is, after the image
 * data), put together as a WebP of two chunks for cnf_image_mark. */
static size_t webp_mark_bytes(int fd, off_t size, unsigned char *buf, size_t cap)
{
    off_t i = 12;
    if (cap < 20 || pread(fd, buf, 12, 0) != 12)
        return 0;
    /* (a WebP has a handful of chunks; a file of millions is not read through) */
    for (int chunks = 0; i + 8 <= size && chunks < 1024; chunks++) {
        unsigned char h[8];
        uint32_t n;
        if (pread(fd, h, 8, i) != 8)
            return 0;
        n = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
        if (memcmp(h, "EXIF", 4) == 0) {
            size_t k = n < cap - 20 ? n : cap - 20;
            ssize_t got;
            memcpy(buf + 12, h, 8);
            got = pread(fd, buf + 20, k, i + 8);
            return got > 0 ? 20 + (size_t)got : 0;
        }
        i += 8 + (off_t)n + (off_t)(n & 1);
    }
    return 0;
}

exist_kind existing_output(const char *path, char *comment, size_t cap)
{
    enum { HEAD = 64 * 1024 };
    unsigned char *buf;
    const cnf_format_info *f;
    struct stat st;
    ssize_t n;
    exist_kind kind = EXIST_UNKNOWN;
    int fd;
    if (comment && cap)
        comment[0] = 0;
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return EXIST_NONE;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0 || !(buf = malloc(HEAD))) {
        close(fd);
        return EXIST_UNKNOWN;
    }
    n = pread(fd, buf, HEAD, 0);
    f = n > 0 ? cnf_image_format_of(buf, (size_t)n) : NULL;
    if (f) {
        size_t len = (size_t)n;
        if (strcmp(f->name, "webp") == 0 && st.st_size > HEAD)
            len = webp_mark_bytes(fd, st.st_size, buf, HEAD);
        if (len && cnf_image_mark(buf, len, comment, cap))
            kind = EXIST_OURS;
        else if ((f->flags & CNF_FORMAT_MARK) || !(f->flags & CNF_FORMAT_WRITE))
            kind = EXIST_FOREIGN;
    }
    free(buf);
    close(fd);
    return kind;
}

void foreign_message(const char *path)
{
    msg_error(path, "exists and is an image cnnfilter did not write; not replaced (give -f to "
                    "replace it, or another OUTPUT: did a glob such as *.jpg make a photo the "
                    "OUTPUT?)");
}

int foreign_refused(const options *o, const char *path)
{
    if (o->force || strcmp(path, "-") == 0 || existing_output(path, NULL, 0) != EXIST_FOREIGN)
        return 0;
    foreign_message(path);
    return 1;
}

int output_is_complete(const char *path, cnf_output_format fmt)
{
    static const unsigned char PNG_SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char IEND[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    unsigned char head[8], tail[12];
    off_t size = 0;
    switch (fmt) {
    case CNF_OUT_PNG: /* signature, and the IEND chunk last */
        return head_tail(path, head, 8, tail, 12, &size) && memcmp(head, PNG_SIG, 8) == 0 &&
               memcmp(tail, IEND, 12) == 0;
    case CNF_OUT_JPG: /* SOI first, EOI last */
        return head_tail(path, head, 2, tail, 2, &size) && head[0] == 0xff && head[1] == 0xd8 &&
               tail[0] == 0xff && tail[1] == 0xd9;
    case CNF_OUT_WEBP: /* the RIFF size is the file's, less the RIFF header */
        return head_tail(path, head, 8, tail, 1, &size) && memcmp(head, "RIFF", 4) == 0 &&
               (off_t)((uint32_t)head[4] | (uint32_t)head[5] << 8 | (uint32_t)head[6] << 16 |
                       (uint32_t)head[7] << 24) + 8 == size;
    case CNF_OUT_BMP: /* the size in the header is the file's */
        return head_tail(path, head, 6, tail, 1, &size) && head[0] == 'B' && head[1] == 'M' &&
               (off_t)((uint32_t)head[2] | (uint32_t)head[3] << 8 | (uint32_t)head[4] << 16 |
                       (uint32_t)head[5] << 24) == size;
    case CNF_OUT_TIFF: /* no end marker (TIFF, PNM, matrices): complete if it decodes */
    default: {
        unsigned char *buf = NULL;
        size_t len = 0;
        cnf_image img;
        cnf_error err;
        int ok = read_input(path, CNF_DEFAULT_MAX_MEMORY, NULL, NULL, &buf, &len, &err) == CNF_OK &&
                 cnf_decode(buf, len, cnf_input_kind_for_path(path), path, CNF_DEFAULT_MAX_PIXELS,
                            &img, &err) == CNF_OK;
        if (ok)
            cnf_image_free(&img);
        free(buf);
        return ok;
    }
    }
}
