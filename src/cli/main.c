/* main.c - the cnnfilter command: options, then decode -> plan -> run -> map -> encode -> write. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmd_kernels(void)
{
    size_t n;
    const cnf_builtin_info *b = cnf_builtins(&n);
    /* The name first and alone, so scripts can take the first word. */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(b[i].name, b[i].usage) != 0)
            printf("%-11s %s; spec %s\n", b[i].name, b[i].description, b[i].usage);
        else
            printf("%-11s %s\n", b[i].name, b[i].description);
    }
    return 0;
}

static int cmd_show_kernel(int argc, char **argv)
{
    const char *v, *h;
    cnf_kernel *k = NULL;
    cnf_error err;
    if (argc != 3) {
        msg_usage("show-kernel", "needs exactly one kernel SPEC");
        return 2;
    }
    if (cnf_kernel_composite(argv[2], &v, &h)) {
        int r = 0;
        printf("%s: magnitude sqrt(%s^2 + %s^2) of the pair:\n\n", argv[2], v, h);
        for (int i = 0; i < 2 && r == 0; i++) {
            char *sub[3] = {argv[0], argv[1], (char *)(i ? h : v)};
            if (i)
                putchar('\n');
            r = cmd_show_kernel(3, sub);
        }
        return r;
    }
    memset(&err, 0, sizeof err);
    if (cnf_kernel_parse(argv[2], "--kernel", &k, &err) != CNF_OK)
        return msg_cnf(&err, "--kernel");
    cnf_kernel_describe(k, stdout);
    cnf_kernel_free(k);
    return 0;
}

/* Fill a cnf_error for a runtime failure found by the CLI itself. */
static cnf_status cli_fail(cnf_error *e, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cnf_status cli_fail(cnf_error *e, const char *where, const char *fmt, ...)
{
    va_list ap;
    memset(e, 0, sizeof *e);
    e->status = CNF_E_TOO_BIG;
    snprintf(e->where, sizeof e->where, "%s", where);
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return e->status;
}

/* Find a kernel or pipeline file: as given (relative to the current folder),
 * then, for a bare file name, in $CNNFILTER_KERNELS, in the kernels folder
 * installed beside this binary (<prefix>/share/cnnfilter/kernels, found from
 * /proc/self/exe so an installed tree can be moved), and in the folder
 * compiled in.  Returns `name` itself when nothing is found. */
static const char *find_data_file(const char *name, char *buf, size_t size)
{
    char exe[4096];
    const char *dirs[3] = {getenv("CNNFILTER_KERNELS"), NULL, CNF_KERNELS_DIR};
    ssize_t n;
    if (access(name, F_OK) == 0 || strchr(name, '/') || name[0] == '[')
        return name;
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        char *slash;
        exe[n] = 0;
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            slash = strrchr(exe, '/');
            if (slash) {
                *slash = 0;
                strncat(exe, "/share/cnnfilter/kernels", sizeof exe - strlen(exe) - 1);
                dirs[1] = exe;
            }
        }
    }
    for (int i = 0; i < 3; i++) {
        if (!dirs[i] || !dirs[i][0])
            continue;
        snprintf(buf, size, "%s/%s", dirs[i], name);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    return name;
}

/* 1 if spec names a built-in kernel (the part before any ':'). */
static int is_builtin_spec(const char *spec)
{
    size_t n, len = strcspn(spec, ":");
    const cnf_builtin_info *b = cnf_builtins(&n);
    for (size_t i = 0; i < n; i++)
        if (strlen(b[i].name) == len && strncmp(b[i].name, spec, len) == 0)
            return 1;
    return 0;
}

/* Replace {kernel} and {index} in a template. */
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

static int has_template(const char *s)
{
    return strstr(s, "{kernel}") || strstr(s, "{index}");
}


void free_ctx(run_ctx *c)
{
    for (int i = 0; i < c->n_kernels; i++)
        cnf_kernel_free(c->kernels[i]);
    c->n_kernels = 0;
    cnf_pipeline_free(c->pipeline);
    c->pipeline = NULL;
}

/* Read and parse --pipeline; kernel files in it are found beside it first. */
static int load_pipeline(run_ctx *c)
{
    options *o = c->o;
    unsigned char *buf = NULL;
    size_t len = 0;
    cnf_error err;
    char dir[4096], found[4200];
    const char *path = find_data_file(o->pipeline, found, sizeof found);
    const char *slash = strrchr(path, '/');
    if (o->geometry_flags_seen) {
        char flag[80];
        snprintf(flag, sizeof flag, "--%s", o->geometry_flag);
        msg_usage(flag, "cannot be combined with --pipeline (set it in the pipeline's layers)");
        return 2;
    }
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 0, path);
    if (slash && slash == path)
        snprintf(dir, sizeof dir, "/");
    memset(&err, 0, sizeof err);
    if (read_input(path, &buf, &len, &err) != CNF_OK) {
        /* An unreadable pipeline is a bad spec: usage error (SPEC §1). */
        msg_cnf(&err, o->pipeline);
        return 2;
    }
    if (len > CNF_MAX_JSON_BYTES) {
        free(buf);
        msg_error(o->pipeline, "pipeline file is larger than %u bytes (limit)", CNF_MAX_JSON_BYTES);
        return 2;
    }
    memset(&err, 0, sizeof err);
    if (cnf_pipeline_parse((const char *)buf, len, path, dir, &c->pipeline, &err) !=
        CNF_OK) {
        free(buf);
        return msg_cnf(&err, o->pipeline);
    }
    free(buf);
    return 0;
}

/* Parse -k specs (expanding a composite sobel/prewitt/scharr). */
static int load_kernels(run_ctx *c)
{
    options *o = c->o;
    const char *v, *h;
    cnf_error err;
    if (o->n_kernels == 1 && cnf_kernel_composite(o->kernels[0], &v, &h)) {
        const char *pair[2] = {v, h};
        for (int i = 0; i < 2; i++) {
            memset(&err, 0, sizeof err);
            if (cnf_kernel_parse(pair[i], "--kernel", &c->kernels[i], &err) != CNF_OK)
                return msg_cnf(&err, "--kernel");
            c->kptr[i] = c->kernels[i];
            snprintf(c->names[i], sizeof c->names[i], "%s", pair[i]);
            c->n_kernels = i + 1;
        }
        if (o->layer.combine == CNF_COMBINE_NONE)
            o->layer.combine = CNF_COMBINE_MAGNITUDE;
        return 0;
    }
    for (int i = 0; i < o->n_kernels; i++) {
        char found[4200];
        const char *spec = is_builtin_spec(o->kernels[i])
                               ? o->kernels[i]
                               : find_data_file(o->kernels[i], found, sizeof found);
        memset(&err, 0, sizeof err);
        if (cnf_kernel_parse(spec, "--kernel", &c->kernels[i], &err) != CNF_OK)
            return msg_cnf(&err, "--kernel");
        c->kptr[i] = c->kernels[i];
        c->n_kernels = i + 1;
        if (cnf_kernel_name(c->kernels[i])[0])
            snprintf(c->names[i], sizeof c->names[i], "%s", cnf_kernel_name(c->kernels[i]));
        else
            snprintf(c->names[i], sizeof c->names[i], "k%d", i);
    }
    return 0;
}

static void report_map(const char *out, cnf_output_format fmt, const cnf_map_stats *s,
                       const cnf_image *img)
{
    if (cnf_output_format_is_8bit(fmt)) {
        uint64_t clipped = s->clipped_low + s->clipped_high;
        msg_info("%s: values %.9g .. %.9g before mapping; %llu of %llu clipped (%llu below 0, "
                 "%llu above 255)",
                 out, s->min, s->max, (unsigned long long)clipped,
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
        msg_info("%s: %d x %d x %d values %.9g .. %.9g, written exactly", out, img->channels,
                 img->height, img->width, lo, hi);
    }
}

static int stream_png_rows(const options *o, const cnf_image *img, const char *out);

static int write_one(const options *o, const cnf_image *img, const char *out,
                     cnf_output_format fmt)
{
    unsigned char *data = NULL;
    size_t len = 0;
    cnf_map_stats stats;
    cnf_error err;
    cnf_status st;
    if (fmt == CNF_OUT_PNG)
        return stream_png_rows(o, img, out);
    memset(&err, 0, sizeof err);
    st = cnf_encode(img, fmt, o->map, o->quality, &data, &len, &stats, &err);
    if (st) {
        free(data);
        return msg_cnf(&err, out);
    }
    if (o->verbose)
        report_map(out, fmt, &stats, img);
    st = write_output(out, data, len, &err);
    free(data);
    if (st) {
        if (err.sys_errno == EPIPE)
            return 1; /* the reader went away: quietly */
        return msg_cnf(&err, out);
    }
    return 0;
}

/* -v: which path each stage takes (the "path:" lines of --explain). */
static void report_paths(const char *in_path, const cnf_plan *plan)
{
    char *text = NULL, *line, *save = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    int stage = 0;
    char kind[32] = "";
    if (!f)
        return;
    cnf_plan_explain(plan, f);
    fclose(f);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *p = line;
        while (*p == ' ')
            p++;
        if (p == line && sscanf(line, "%d. %31[^:]", &stage, kind) == 2)
            continue;
        if (strncmp(p, "path:", 5) == 0)
            msg_info("%s: stage %d (%s) %s", in_path, stage, kind, p);
    }
    free(text);
}

/* Insert "-{kernel}" before the extension of a path that has no template. */
static void add_template(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash))
        dot = path + strlen(path);
    snprintf(out, size, "%.*s-{kernel}%s", (int)(dot - path), path, dot);
}

/* ------------------------------------------------ streamed PNG outputs */

/* One PNG output being written as the result rows arrive. */
typedef struct png_out {
    out_file file;
    cnf_png_writer *w;
    cnf_error werr; /* the file's own write error (names the path, says why) */
    cnf_map_stats stats;
    int opened;
} png_out;

typedef struct png_sink {
    const options *o;
    png_out *outs;
    int groups, colour, alpha, width;
    double lo, range;   /* --map normalize: the whole result's range */
    unsigned char *buf; /* mapped rows of one band for one output */
    size_t cap;
} png_sink;

static int write_cb(void *ctx, const void *data, size_t len)
{
    png_out *po = ctx;
    return out_write(&po->file, data, len, &po->werr) == CNF_OK ? 0 : -1;
}

/* A writer's error: the file's own when writing failed, else the writer's. */
static cnf_status out_error(png_out *po, cnf_status st, cnf_error *err)
{
    if (po->werr.status)
        *err = po->werr;
    return st;
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
            return cli_fail(err, "", "out of memory");
        }
    }
    for (int g = 0; g < ps->groups; g++) {
        png_out *po = &ps->outs[g];
        cnf_status st;
        for (int i = 0; i < n; i++) {
            const float *const *r = rows + (size_t)i * (size_t)planes;
            for (int c = 0; c < ps->colour; c++)
                src[c] = r[g * ps->colour + c];
            if (ps->alpha)
                src[ps->colour] = r[planes - 1];
            if (sixteen)
                cnf_map_row16(src, comp, ps->alpha, ps->width, ps->o->map, ps->lo, ps->range,
                              (uint16_t *)(void *)(ps->buf + (size_t)i * stride), &po->stats);
            else
                cnf_map_row(src, comp, ps->alpha, ps->width, ps->o->map, ps->lo, ps->range,
                            ps->buf + (size_t)i * stride, &po->stats);
        }
        st = cnf_png_writer_rows(po->w, ps->buf, stride, n, err);
        if (st)
            return out_error(po, st, err);
    }
    return CNF_OK;
}

/* The PNG tEXt chunks: the version and the options that decide the pixels,
 * for whoever finds the file later (identify -verbose); no time stamp, so
 * the same pixels and options give the same bytes. */
static void png_comment(const options *o, char *buf, size_t size)
{
    snprintf(buf, size, "cnnfilter %s%s", o->normalized, o->normalized_truncated ? " ..." : "");
}

/* Where the rows of a PNG output come from: a plan run, or a whole image. */
typedef cnf_status (*png_feed)(void *ctx, png_sink *ps, cnf_error *err);

/* Write the PNG files `targets` (one per group) from the rows `feed` hands
 * to sink_png: open them (temp files), feed, finish and put them in place,
 * or remove them all on any error.  Prints its own errors; returns the exit
 * code.  `img` is only for -v. */
static int write_pngs(const options *o, int w, int h, int ch, int a, char (*targets)[4096],
                      int groups, int threads, double lo, double range, png_feed feed,
                      void *feed_ctx, const cnf_image *img)
{
    char comment[sizeof o->normalized + 32];
    const char *text[5] = {"Software", "cnnfilter " CNF_VERSION_STRING, "Comment", comment, NULL};
    png_sink ps;
    cnf_error err;
    cnf_status st = CNF_OK;
    png_out outs[CLI_STREAM_GROUPS];
    png_comment(o, comment, sizeof comment);
    memset(&ps, 0, sizeof ps);
    memset(outs, 0, sizeof outs);
    memset(&err, 0, sizeof err);
    ps.o = o;
    ps.outs = outs;
    ps.groups = groups;
    ps.alpha = a;
    ps.colour = (ch - a) / groups;
    ps.width = w;
    ps.lo = lo;
    ps.range = range;
    for (int g = 0; g < groups && st == CNF_OK; g++) {
        cnf_map_stats_init(&outs[g].stats);
        st = out_open(&outs[g].file, targets[g], &err);
        if (st)
            break;
        outs[g].opened = 1;
        st = cnf_png_writer_open(&outs[g].w, w, h, ps.colour + a, o->depth, o->compression,
                                 threads, text, write_cb, &outs[g], &err);
        if (st && !err.where[0])
            snprintf(err.where, sizeof err.where, "%s", targets[g]);
    }
    if (st == CNF_OK)
        st = feed(feed_ctx, &ps, &err);
    for (int g = 0; g < groups && st == CNF_OK; g++)
        if ((st = cnf_png_writer_finish(outs[g].w, &err)) != CNF_OK)
            out_error(&outs[g], st, &err);
    for (int g = 0; g < groups && st == CNF_OK; g++)
        st = out_commit(&outs[g].file, &err);
    for (int g = 0; g < groups; g++) {
        cnf_png_writer_free(outs[g].w);
        if (st && outs[g].opened)
            out_abort(&outs[g].file);
    }
    free(ps.buf);
    if (st) {
        if (err.sys_errno == EPIPE)
            return 1; /* the reader went away: quietly */
        return msg_cnf(&err, targets[0]);
    }
    if (o->verbose)
        for (int g = 0; g < groups; g++)
            report_map(targets[g], CNF_OUT_PNG, &outs[g].stats, img);
    return 0;
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

/* Run `plan` on the reader's rows straight into PNG files, one per group:
 * decoding, filtering, mapping and compression overlap and only the rows
 * still needed are held. */
static int stream_png(const options *o, const cnf_plan *plan, cnf_reader *r,
                      char (*targets)[4096], int groups, int threads)
{
    int w, h, ch, a;
    plan_feed f = {plan, r, threads};
    cnf_plan_output_shape(plan, &w, &h, &ch, &a);
    return write_pngs(o, w, h, ch, a, targets, groups, threads, 0, 0, feed_plan, &f, NULL);
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

/* A whole image to PNG through the same writer (normalize needs the whole
 * range first; that is why this image was kept whole). */
static int stream_png_rows(const options *o, const cnf_image *img, const char *out)
{
    char target[1][4096];
    int colour = img->channels - img->has_alpha;
    size_t plane = (size_t)img->width * (size_t)img->height;
    double lo = INFINITY, hi = -INFINITY;
    if (img->channels < 1 || img->channels > 4) {
        msg_error(out, "PNG holds 1 to 4 channels, not %d", img->channels);
        return 1;
    }
    if (strlen(out) >= sizeof target[0]) {
        msg_usage(out, "output name too long");
        return 2;
    }
    memcpy(target[0], out, strlen(out) + 1);
    if (o->map == CNF_MAP_NORMALIZE)
        for (int c = 0; c < colour; c++) {
            const float *p = cnf_image_plane(img, c);
            for (size_t i = 0; i < plane; i++) {
                lo = p[i] < lo ? p[i] : lo;
                hi = p[i] > hi ? p[i] : hi;
            }
        }
    return write_pngs(o, img->width, img->height, img->channels, img->has_alpha, target, 1, 1,
                      lo, hi - lo, feed_image, (void *)(uintptr_t)img, img);
}

/* A sink that keeps the whole result (for formats written whole). */
static cnf_status sink_collect(void *ctx, int y0, int y1, const float *const *rows, int planes,
                               cnf_error *err)
{
    cnf_image *img = ctx;
    (void)err;
    for (int y = y0; y < y1; y++)
        for (int p = 0; p < planes; p++)
            memcpy(cnf_image_plane(img, p) + (size_t)y * (size_t)img->width,
                   rows[(size_t)(y - y0) * (size_t)planes + (size_t)p],
                   (size_t)img->width * sizeof(float));
    return CNF_OK;
}

/* One input through decode -> plan -> run -> map -> encode -> write.  Prints
 * its own errors; returns the exit code.  `auto_template`: several outputs
 * get "-{kernel}" added to a path without a template (batch mode). */
int process_file(const run_ctx *c, const char *in_path, const char *out_path,
                 cnf_output_format fmt, int threads, int auto_template)
{
    const options *o = c->o;
    unsigned char *buf = NULL;
    size_t len = 0;
    cnf_image res = {0};
    cnf_reader *reader = NULL;
    cnf_plan *plan = NULL;
    cnf_error err;
    cnf_plan_limits lim;
    int rc = 0, groups = 1, in_w, in_h, in_c, in_a;
    char names[CLI_MAX_KERNELS][270];
    char tpl[4200];
    static char no_targets[1][4096];
    char (*targets)[4096] = no_targets;
    const char *target = out_path;
    cnf_input_kind kind = strcmp(in_path, "-") == 0 ? CNF_IN_AUTO
                                                    : cnf_input_kind_for_path(in_path);

    memcpy(names, c->names, sizeof names);
    if (read_input_limit(in_path, o->max_memory, &buf, &len, &err) != CNF_OK) {
        rc = msg_cnf(&err, in_path);
        goto out;
    }
    memset(&err, 0, sizeof err);
    {
        /* The shape from the header (a matrix is parsed).  A format that is
         * decoded whole must fit --max-memory: checked before decoding. */
        cnf_status st = cnf_probe(buf, len, kind, in_path, o->max_pixels, &in_w, &in_h, &in_c,
                                  &in_a, &err);
        uint64_t whole = (uint64_t)in_w * (uint64_t)in_h * (uint64_t)in_c * sizeof(float);
        if (st == CNF_OK && !o->explain && !cnf_input_streams(buf, len, kind) &&
            whole > o->max_memory)
            st = cli_fail(&err, in_path,
                          "decoding %dx%d needs %llu MiB, over the memory limit of %llu MiB "
                          "(raise it with --max-memory)",
                          in_w, in_h, (unsigned long long)(whole >> 20),
                          (unsigned long long)(o->max_memory >> 20));
        if (st != CNF_OK) {
            rc = msg_cnf(&err, in_path);
            goto out;
        }
    }

    lim.max_memory = o->max_memory;
    lim.portable = o->portable;
    memset(&err, 0, sizeof err);
    if ((c->pipeline ? cnf_plan_create_pipeline(c->pipeline, in_w, in_h, in_c, in_a, &lim, &plan,
                                                &err)
                     : cnf_plan_create(&o->layer, in_w, in_h, in_c, in_a, &lim, &plan,
                                       &err)) != CNF_OK) {
        rc = msg_cnf(&err, in_path);
        goto out;
    }
    if (o->explain) {
        cnf_plan_explain(plan, stdout);
        goto out;
    }
    if (o->verbose)
        report_paths(in_path, plan);
    {
        int w, h, ch, a;
        cnf_plan_output_shape(plan, &w, &h, &ch, &a);
        groups = cnf_plan_n_groups(plan);
        if (c->pipeline && cnf_output_format_is_8bit(fmt) && ch - a != 1 && ch - a != 3 &&
            (auto_template || has_template(out_path))) {
            /* Feature maps that no image holds: one gray file per map. */
            groups = ch - a;
            if (groups > CLI_MAX_KERNELS) {
                msg_usage(out_path, "%d maps are more than %d files", groups, CLI_MAX_KERNELS);
                rc = 2;
                goto out;
            }
            for (int g = 0; g < groups; g++)
                snprintf(names[g], sizeof names[g], "map%d", g);
        }
        if (cnf_output_format_is_8bit(fmt)) {
            int colour = (ch - a) / groups;
            if (colour != 1 && colour != 3) {
                msg_usage(out_path,
                          "the result has %d channels per image, which an 8-bit image cannot "
                          "hold (1 or 3, plus alpha); write .npy/.txt/.json",
                          colour);
                rc = 2;
                goto out;
            }
        }
    }
    if (groups > 1 && auto_template && !has_template(out_path)) {
        add_template(out_path, tpl, sizeof tpl);
        target = tpl;
    }
    targets = calloc((size_t)groups, sizeof *targets);
    if (!targets) {
        targets = no_targets;
        msg_error(in_path, "out of memory");
        rc = 1;
        goto out;
    }
    for (int g = 0; g < groups; g++) {
        if (groups == 1) {
            if (strlen(target) >= sizeof targets[g]) {
                msg_usage(target, "output name too long");
                rc = 2;
                goto out;
            }
            memcpy(targets[g], target, strlen(target) + 1);
            continue;
        }
        if (expand_template(target, names[g], g, targets[g], sizeof targets[g]) != 0) {
            msg_usage(target, "output name too long");
            rc = 2;
            goto out;
        }
        if (same_file(in_path, targets[g])) {
            msg_usage(targets[g], "OUTPUT is the INPUT file; refusing to overwrite the input");
            rc = 2;
            goto out;
        }
    }
    memset(&err, 0, sizeof err);
    if (cnf_reader_open(buf, len, kind, in_path, o->max_pixels, &reader, &err) != CNF_OK) {
        rc = msg_cnf(&err, in_path);
        goto out;
    }
    {
        int w, h, ch, a;
        cnf_reader_shape(reader, &w, &h, &ch, &a);
        if (w != in_w || h != in_h || ch != in_c || a != in_a) {
            msg_error(in_path, "image header and data disagree");
            rc = 1;
            goto out;
        }
    }
    if (fmt == CNF_OUT_PNG && o->map != CNF_MAP_NORMALIZE && groups <= CLI_STREAM_GROUPS) {
        rc = stream_png(o, plan, reader, targets, groups, threads);
        goto out;
    }
    if (o->depth == 16 && fmt != CNF_OUT_PNG) {
        msg_usage("--depth", "16-bit output is for PNG only");
        rc = 2;
        goto out;
    }
    {
        /* Written whole: collect the result, then encode it. */
        int w, h, ch, a;
        cnf_plan_output_shape(plan, &w, &h, &ch, &a);
        memset(&err, 0, sizeof err);
        if (cnf_image_alloc(&res, w, h, ch, a, &err) != CNF_OK ||
            cnf_plan_stream(plan, reader, threads, sink_collect, &res, &err) != CNF_OK) {
            rc = msg_cnf(&err, in_path);
            goto out;
        }
    }
    cnf_reader_free(reader);
    reader = NULL;
    free(buf);
    buf = NULL;
    if (groups == 1) {
        rc = write_one(o, &res, target, fmt);
    } else {
        for (int g = 0; g < groups && rc == 0; g++) {
            cnf_image part;
            memset(&err, 0, sizeof err);
            if (cnf_image_group(&res, groups, g, &part, &err) != CNF_OK) {
                rc = msg_cnf(&err, targets[g]);
                break;
            }
            rc = write_one(o, &part, targets[g], fmt);
            cnf_image_free(&part);
        }
    }
out:
    if (targets != no_targets)
        free(targets);
    cnf_reader_free(reader);
    free(buf);
    cnf_image_free(&res);
    cnf_plan_free(plan);
    return rc;
}

/* Load the kernels or the pipeline once, for every file of a run. */
int setup_run(run_ctx *c, options *o)
{
    int rc;
    memset(c, 0, sizeof *c);
    c->o = o;
    if (o->pipeline)
        return load_pipeline(c);
    if (o->n_kernels == 0 && o->layer.pool == CNF_POOL_NONE) {
        msg_usage("--kernel", "a kernel is required (or --pool for pooling alone)");
        return 2;
    }
    rc = load_kernels(c);
    if (rc)
        return rc;
    o->layer.kernels = c->kptr;
    o->layer.n_kernels = c->n_kernels;
    return 0;
}

static int run_single(options *o)
{
    run_ctx c;
    const char *in_path, *out_path;
    cnf_output_format fmt = CNF_OUT_PNG;
    int rc;

    if (o->n_args < 1 || o->n_args > 2 || (o->n_args == 1 && !o->explain)) {
        msg_usage(NULL, "expected INPUT and OUTPUT (or -o DIR INPUT...), got %d argument%s",
                  o->n_args, o->n_args == 1 ? "" : "s");
        return 2;
    }
    in_path = o->args[0];
    out_path = o->n_args > 1 ? o->args[1] : "-";
    if (o->n_args > 1) {
        if (strcmp(out_path, "-") == 0) {
            if (o->output_format)
                fmt = cnf_output_format_from_name(o->output_format);
            if (!o->explain && isatty(STDOUT_FILENO) && fmt != CNF_OUT_TXT &&
                fmt != CNF_OUT_JSON) {
                msg_usage("-", "refusing to write binary image data to a terminal");
                return 2;
            }
        } else {
            fmt = cnf_output_format_for_path(out_path);
            if (fmt == CNF_OUT_NONE) {
                msg_usage(out_path, "unknown output extension (use .png, .jpg, .bmp, .tga, "
                                    ".npy, .txt or .json)");
                return 2;
            }
        }
        if (same_file(in_path, out_path)) {
            msg_usage(out_path, "OUTPUT is the INPUT file; refusing to overwrite the input");
            return 2;
        }
    }
    rc = setup_run(&c, o);
    if (rc == 0 && o->n_args > 1 && c.n_kernels > 1 && o->layer.combine == CNF_COMBINE_NONE &&
        !has_template(out_path)) {
        msg_usage(out_path,
                  "a bank of %d kernels with --combine none writes one file per kernel: put "
                  "{kernel} or {index} in OUTPUT, or choose --combine",
                  c.n_kernels);
        rc = 2;
    }
    if (rc == 0)
        rc = process_file(&c, in_path, out_path, fmt, o->jobs, 0);
    free_ctx(&c);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    int rc;
    install_signal_handlers();
    if (argc >= 2 && strcmp(argv[1], "kernels") == 0) {
        if (argc != 2) {
            msg_usage("kernels", "takes no arguments");
            return 2;
        }
        rc = cmd_kernels();
    } else if (argc >= 2 && strcmp(argv[1], "show-kernel") == 0) {
        rc = cmd_show_kernel(argc, argv);
    } else if (argc >= 2 && strcmp(argv[1], "compare") == 0) {
        rc = cmd_compare(argc, argv);
    } else {
        rc = parse_options(argc, argv, 1, &o);
        if (rc == -1) {
            rc = 0;
        } else if (rc == 0) {
            msg_set_quiet(o.quiet);
            if (o.output_dir)
                rc = run_batch(&o);
            else
                rc = run_single(&o);
        }
        free(o.args);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE)
            msg_error("-", "write error on standard output: %s", strerror(errno));
        return rc ? rc : 1;
    }
    return rc;
}
