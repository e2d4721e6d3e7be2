/* run.c - the per-file engine: one input through decode, plan, run, map, encode and commit.
 *
 * run_file() is a list of named steps around one job struct with one
 * cleanup (job_free): load the input, make the plan(s), lay out the outputs
 * and name them, open them (temporary files), produce the result into them
 * (streamed rows, or a result held whole and encoded), and commit them
 * all together.  Each step prints its own error and returns the exit code.
 */
#define _POSIX_C_SOURCE 200809L
#include "run.h"

#include "budget.h"
#include "formats.h"
#include "input.h"
#include "msg.h"
#include "paths.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Outputs of one input written as rows arrive; more are written whole
 * (each streamed output holds its writer's buffers: a PNG writer's
 * segments, a TIFF strip, JPEG's rows of MCUs). */
#define STREAM_GROUPS 4

/* How a result goes to its outputs: row by row, as a PNG (without
 * normalize's range to find first) or in a format the library writes by
 * rows (cnf_row_writer_streams: .npy and TIFF only into temporary files,
 * which they seek in), into at most STREAM_GROUPS files; else held whole. */
typedef enum stream_kind { HELD_WHOLE, STREAM_PNG, STREAM_ROWS } stream_kind;

static stream_kind streamed(const options *o, const cnf_plan *p, int groups, int seekable)
{
    int w, h, ch, a;
    if (groups > STREAM_GROUPS)
        return HELD_WHOLE;
    if (o->out_fmt == CNF_OUT_PNG && o->depth != CNF_DEPTH_FLOAT)
        return o->map != CNF_MAP_NORMALIZE ? STREAM_PNG : HELD_WHOLE;
    cnf_plan_output_shape(p, &w, &h, &ch, &a);
    return rows_stream(o, (ch - a) / groups + a, seekable) ? STREAM_ROWS : HELD_WHOLE;
}

/* ------------------------------------------------------------- setup */

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

/* Read and parse a pipeline file; kernel files in it are found beside it first. */
int load_pipeline_file(const char *spec, uint64_t max_memory, cnf_pipeline **pl_ret)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    cnf_error err;
    char dir[4096], found[4200];
    const char *path = find_data_file(spec, found, sizeof found);
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 0, path);
    if (slash && slash == path)
        snprintf(dir, sizeof dir, "/");
    /* One byte past the limit tells "at the limit" from "over" (and a
     * /dev/zero stops there). */
    if (read_input(path, (uint64_t)CNF_MAX_JSON_BYTES + 1, NULL, NULL, &buf, &len, &err) !=
        CNF_OK) {
        if (err.status == CNF_E_TOO_BIG)
            len = (size_t)CNF_MAX_JSON_BYTES + 1;
        else {
            /* An unreadable pipeline is a bad spec: usage error. */
            msg_cnf(&err, spec);
            return EXIT_USAGE;
        }
    }
    if (len > CNF_MAX_JSON_BYTES) {
        free(buf);
        msg_error(spec, "pipeline file is larger than %u bytes (limit)", CNF_MAX_JSON_BYTES);
        return EXIT_USAGE;
    }
    memset(&err, 0, sizeof err);
    if (cnf_pipeline_parse_ex((const char *)buf, len, path, dir, max_memory, pl_ret, &err) !=
        CNF_OK) {
        free(buf);
        return msg_cnf(&err, spec);
    }
    free(buf);
    return EXIT_OK;
}

/* The pipeline of a filter run (its first --layers layers) must have all
 * its weights. */
static int load_pipeline(run_setup *s)
{
    cnf_error err;
    int rc = load_pipeline_file(s->o->pipeline, s->o->max_memory, &s->pipeline);
    if (rc == 0 && s->o->layers && cnf_pipeline_keep(s->pipeline, s->o->layers, &err) != CNF_OK)
        rc = msg_cnf(&err, "--layers");
    if (rc == 0 && cnf_pipeline_check_weights(s->pipeline, &err) != CNF_OK)
        rc = msg_cnf(&err, s->o->pipeline);
    if (rc == 0)
        s->weights = cnf_pipeline_weight_bytes(s->pipeline);
    return rc;
}

/* Parse one -k spec into kernel slot i, with its {kernel} word. */
static int load_kernel(run_setup *s, int i, const char *spec, const char *word)
{
    cnf_error err;
    memset(&err, 0, sizeof err);
    if (cnf_kernel_parse(spec, "--kernel", &s->kernels[i], &err) != CNF_OK)
        return msg_cnf(&err, "--kernel");
    s->kptr[i] = s->kernels[i];
    s->n_kernels = i + 1;
    if (word)
        snprintf(s->names[i], sizeof s->names[i], "%s", word);
    else if (cnf_kernel_name(s->kernels[i])[0])
        snprintf(s->names[i], sizeof s->names[i], "%s", cnf_kernel_name(s->kernels[i]));
    else
        snprintf(s->names[i], sizeof s->names[i], "k%d", i);
    return EXIT_OK;
}

/* The bytes of kernel k's weights (both of a composite's). */
static uint64_t kernel_bytes(const cnf_kernel *k)
{
    if (cnf_kernel_is_composite(k))
        return kernel_bytes(cnf_kernel_part(k, 0)) + kernel_bytes(cnf_kernel_part(k, 1));
    return (uint64_t)cnf_kernel_width(k) * (uint64_t)cnf_kernel_height(k) *
           (uint64_t)cnf_kernel_depth(k) * sizeof(double);
}

/* The kernels made so far within --max-memory: a bank names the same kernel file as often
 * as it likes, and each copy is held (exit 1 past the limit, as a plan over it). */
static int kernels_fit(run_setup *s)
{
    uint64_t bytes = 0;
    for (int i = 0; i < s->n_kernels; i++)
        bytes += kernel_bytes(s->kernels[i]);
    s->weights = bytes;
    if (s->o->max_memory && bytes > s->o->max_memory) {
        msg_error("--kernel",
                  "the kernels' weights take %.1f MiB, over the memory limit of %.1f MiB (raise "
                  "it with --max-memory)",
                  (double)bytes / 1048576.0, (double)s->o->max_memory / 1048576.0);
        return EXIT_FAILURE_RUN;
    }
    return EXIT_OK;
}

/* Parse the -k specs (a lone sobel/prewitt/scharr is its _v/_h pair combined
 * by magnitude). */
static int load_kernels(run_setup *s)
{
    const options *o = s->o;
    const char *v, *h;
    int rc;
    if (o->n_kernels == 1 && cnf_kernel_composite(o->kernels[0], &v, &h)) {
        if ((rc = load_kernel(s, 0, v, v)) != 0 || (rc = load_kernel(s, 1, h, h)) != 0)
            return rc;
        if (s->layer.combine == CNF_COMBINE_NONE)
            s->layer.combine = CNF_COMBINE_MAGNITUDE;
        return EXIT_OK;
    }
    for (int i = 0; i < o->n_kernels; i++) {
        char found[4200];
        const char *spec = is_builtin_spec(o->kernels[i])
                               ? o->kernels[i]
                               : find_data_file(o->kernels[i], found, sizeof found);
        if ((rc = load_kernel(s, i, spec, NULL)) != 0 || (rc = kernels_fit(s)) != 0)
            return rc;
    }
    return EXIT_OK;
}

int run_setup_load(run_setup *s, const options *o)
{
    int rc;
    memset(s, 0, sizeof *s);
    s->o = o;
    s->layer = o->layer;
    if (o->pipeline)
        return load_pipeline(s);
    rc = load_kernels(s);
    s->layer.kernels = s->kptr;
    s->layer.n_kernels = s->n_kernels;
    return rc;
}

void run_setup_free(run_setup *s)
{
    for (int i = 0; i < s->n_kernels; i++)
        cnf_kernel_free(s->kernels[i]);
    s->n_kernels = 0;
    cnf_pipeline_free(s->pipeline);
    s->pipeline = NULL;
}

/* ---------------------------------------------------------------- job */

/* One input being processed. */
typedef struct job {
    const run_setup *s;
    const options *o;
    const char *in_path;
    cnf_input_kind kind;
    input_bytes in;     /* the input's bytes (a large file mapped) */
    unsigned char *buf; /* in.buf */
    size_t len;         /* in.len */
    int w, h, c, a; /* its shape */
    int threads;    /* the run's threads (the plans' memory estimates count them) */
    /* Bytes decoding it holds at its peak (load_input), and of them, those
     * held while the plans run: the image decoded whole, or a streamed
     * decoder's buffers. */
    uint64_t decoding, input_held;
    /* One plan, or one per kernel of a --combine none bank whose kernels
     * give different output sizes (each output its own size). */
    cnf_plan *plans[CLI_MAX_KERNELS];
    int n_plans;
    out_layout layout;
    char **paths; /* layout.groups output paths */
    out_file fs[CLI_MAX_KERNELS];
    int n_open;
    cnf_map_stats stats[CLI_MAX_KERNELS];
    uint64_t budget; /* bytes of a batch's shared --max-memory held (budget.h) */
} job;

static void job_free(job *j)
{
    for (int i = 0; i < j->n_open; i++)
        out_abort(&j->fs[i]);
    free_paths(j->paths, j->layout.groups);
    for (int i = 0; i < j->n_plans; i++)
        cnf_plan_free(j->plans[i]);
    input_close(&j->in);
    budget_release(j->budget);
}

/* Step 1: the input's bytes and shape.  Decoding must fit the memory limit:
 * an image decoded whole, and the decoder's own buffers (stb's pixels, a
 * progressive JPEG's coefficients), checked from the header before decoding. */
static int load_input(job *j)
{
    const options *o = j->o;
    cnf_error err;
    cnf_status st;
    uint64_t whole, decoder, held;
    int turn, streams;
    j->kind = strcmp(j->in_path, "-") == 0 ? CNF_IN_AUTO : cnf_input_kind_for_path(j->in_path);
    /* The first bytes decide at once whether the input can be read at all,
     * so /dev/zero or a large file of junk fails without being read whole. */
    if (input_open(j->in_path, o->max_memory, input_sniff, &j->kind, &j->in, &err) != CNF_OK)
        return msg_cnf(&err, j->in_path);
    j->buf = j->in.buf;
    j->len = j->in.len;
    memset(&err, 0, sizeof err);
    st = cnf_probe_ex(j->buf, j->len, j->kind, j->in_path, o->max_pixels, o->decode_flags, &j->w,
                      &j->h, &j->c, &j->a, &err);
    turn = o->decode_flags & CNF_DECODE_NO_ORIENT
               ? 1
               : cnf_input_orientation(j->buf, j->len, j->kind);
    streams = st == CNF_OK && cnf_input_streams_ex(j->buf, j->len, j->kind, o->decode_flags);
    decoder = st == CNF_OK ? cnf_decoder_memory(j->buf, j->len, j->kind) : 0;
    /* A turned image is held twice while it turns; the decoder's buffers
     * beside it (freed once it is decoded whole, held by a streamed one); a
     * mapped file decoded whole is resident whole while it decodes. */
    whole = streams ? 0 : (uint64_t)j->w * (uint64_t)j->h * (uint64_t)j->c * sizeof(float);
    j->decoding = whole * (turn != 1 ? 2 : 1) + decoder + (!streams && j->in.map.base ? j->len : 0);
    j->input_held = streams ? decoder : whole;
    if (st == CNF_OK && !o->explain && j->decoding > o->max_memory) {
        st = fail(&err, CNF_E_TOO_BIG, j->in_path,
                  "decoding %dx%d needs %llu MiB (%s%llu MiB of decoder buffers), over the "
                  "memory limit of %llu MiB",
                  j->w, j->h, (unsigned long long)(j->decoding >> 20),
                  streams ? "" : j->in.map.base ? "the file, the image decoded whole and "
                                                  : "the image decoded whole and ",
                  (unsigned long long)(decoder >> 20), (unsigned long long)(o->max_memory >> 20));
        err.limit = CNF_LIMIT_MEMORY;
    }
    if (st != CNF_OK)
        return msg_cnf(&err, j->in_path);
    /* a batch: from the shared budget, a copied file's bytes (a mapped one
     * is not held; decoded whole, it is counted in decoding) and decoding */
    held = j->in.map.base ? 0 : j->len < o->max_memory ? j->len : o->max_memory;
    j->budget = budget_grow(j->budget, held + j->decoding);
    if (o->verbose && turn != 1)
        msg_info("%s: turned upright (EXIF orientation %d): %d x %d", j->in_path, turn, j->w, j->h);
    return EXIT_OK;
}

/* The plan of layer L (or of the pipeline); for --explain a dry one, which builds none of the
 * plan's tables and reports its limits instead of refusing them. */
static cnf_status plan_layer(const job *j, const cnf_layer *L, cnf_plan **p, cnf_error *err)
{
    cnf_plan_limits lim;
    memset(&lim, 0, sizeof lim);
    lim.max_memory = j->o->max_memory;
    lim.portable = j->o->portable;
    lim.max_work = j->o->max_work;
    lim.threads = j->threads;
    memset(err, 0, sizeof *err);
    if (j->s->pipeline && j->o->explain)
        return cnf_plan_create_pipeline_dry(j->s->pipeline, j->w, j->h, j->c, j->a, &lim, p, err);
    if (j->s->pipeline)
        return cnf_plan_create_pipeline(j->s->pipeline, j->w, j->h, j->c, j->a, &lim, p, err);
    if (j->o->explain)
        return cnf_plan_create_dry(L, j->w, j->h, j->c, j->a, &lim, p, err);
    return cnf_plan_create(L, j->w, j->h, j->c, j->a, &lim, p, err);
}

/* A --combine none bank that cannot be one plan: one plan per kernel, when
 * each plans alone and their output sizes differ (each file its own size).
 * Returns 1 when that is what the bank is. */
static int plan_per_kernel(job *j)
{
    const run_setup *s = j->s;
    int sizes_differ = 0, w0 = 0, h0 = 0;
    cnf_error err;
    for (int k = 0; k < s->n_kernels; k++) {
        cnf_layer one = s->layer;
        int w, h, ch, a;
        one.kernels = &s->kptr[k];
        one.n_kernels = 1;
        if (plan_layer(j, &one, &j->plans[k], &err) != CNF_OK)
            return 0;
        j->n_plans = k + 1;
        cnf_plan_output_shape(j->plans[k], &w, &h, &ch, &a);
        if (k > 0 && (w != w0 || h != h0))
            sizes_differ = 1;
        w0 = w;
        h0 = h;
    }
    return sizes_differ;
}

/* --explain: whether the 8-bit lane writes the output (emit_png_stream).  An
 * input read row by row is opened to see its rows (its header only). */
static void explain_lane(const job *j)
{
    const cnf_plan *p = j->plans[0];
    cnf_reader *r = NULL;
    const char *why;
    if (cnf_input_streams_ex(j->buf, j->len, j->kind, j->o->decode_flags))
        cnf_reader_open_ex(j->buf, j->len, j->kind, j->in_path, j->o->max_pixels,
                           j->o->decode_flags, &r, NULL);
    why = png_lane_refused(j->o, p, r, cnf_plan_n_groups(p));
    if (why)
        printf("8-bit lane: no, float planes (%s)\n", why);
    else
        printf("8-bit lane: yes (%s): the decoder's 8-bit rows through the kernel straight to "
               "the PNG writer, the same pixels as the float path\n",
               cnf_u8_conv_path(cnf_plan_u8_conv(p, j->o->map)));
    cnf_reader_free(r);
}

/* Step 2: the plan (or plans); with --explain, print it and stop (rc -1). */
static int make_plans(job *j)
{
    const run_setup *s = j->s;
    cnf_error err;
    if (plan_layer(j, &s->layer, &j->plans[0], &err) == CNF_OK) {
        j->n_plans = 1;
    } else if (!s->pipeline && s->n_kernels > 1 && s->layer.combine == CNF_COMBINE_NONE &&
               plan_per_kernel(j)) {
        /* planned per kernel */
    } else {
        for (int i = 0; i < j->n_plans; i++)
            cnf_plan_free(j->plans[i]);
        j->n_plans = 0;
        return msg_cnf(&err, j->in_path);
    }
    if (j->o->explain) {
        for (int i = 0; i < j->n_plans; i++) {
            cnf_limit over = cnf_plan_over_limit(j->plans[i]);
            if (j->n_plans > 1)
                printf("%skernel %d (%s):\n", i ? "\n" : "", i, s->names[i]);
            cnf_plan_explain(j->plans[i], stdout);
            /* Explained all the same; a run would stop here. */
            if (over == CNF_LIMIT_MEMORY)
                msg_warn(j->in_path, "the plan is over the memory limit: a run is refused "
                                     "(raise it with --max-memory)");
            else if (over == CNF_LIMIT_WORK)
                msg_warn(j->in_path, "the plan is over the work limit: a run is refused (raise "
                                     "it with --max-work)");
        }
        printf("input memory: %.1f MiB while decoding, %.1f MiB held while the plan runs "
               "(%s)\n",
               (double)j->decoding / 1048576.0, (double)j->input_held / 1048576.0,
               cnf_input_streams_ex(j->buf, j->len, j->kind, j->o->decode_flags)
                   ? "read row by row"
                   : "decoded whole");
        if (j->n_plans == 1 && !s->pipeline)
            explain_lane(j);
        return -1;
    }
    return EXIT_OK;
}

/* -v: which path each stage takes. */
static void report_paths(const char *in_path, const cnf_plan *plan)
{
    for (int i = 0; i < cnf_plan_n_stages(plan); i++) {
        cnf_stage_info info;
        if (cnf_plan_stage_info(plan, i, &info, NULL) == CNF_OK && info.path[0])
            msg_info("%s: stage %d (%s) path: %s", in_path, i + 1, info.kind, info.path);
    }
}

/* The outputs of plan p: one per group (kernel) or, for a pipeline whose
 * feature maps no image holds, one gray image per map when the naming can
 * tell them apart.  Usage error when an output cannot hold its channels. */
static int layout_of(const run_setup *s, const cnf_plan *p, int fan_out, out_layout *l,
                     const char *out_label)
{
    int w, h, ch, a;
    cnf_output_format fmt = s->o->out_fmt;
    cnf_plan_output_shape(p, &w, &h, &ch, &a);
    l->groups = cnf_plan_n_groups(p);
    for (int g = 0; g < l->groups && g < s->n_kernels; g++)
        memcpy(l->names[g], s->names[g], sizeof l->names[g]);
    int mapped = format_is_mapped(fmt, s->o->depth);
    if (s->pipeline && mapped && ch - a != 1 && ch - a != 3 && fan_out) {
        l->groups = ch - a;
        if (l->groups > CLI_MAX_KERNELS) {
            msg_usage(out_label, "%d maps are more than %d files", l->groups, CLI_MAX_KERNELS);
            return EXIT_USAGE;
        }
        for (int g = 0; g < l->groups; g++)
            snprintf(l->names[g], sizeof l->names[g], "map%d", g);
    }
    if (mapped) {
        int colour = (ch - a) / l->groups;
        if (colour != 1 && colour != 3) {
            msg_usage(out_label,
                      "the result has %d channels per image, which an 8-bit image cannot hold (1 "
                      "or 3, plus alpha); write .npy/.txt/.json",
                      colour);
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

/* Step 3: what the outputs are, and their paths. */
static int name_outputs(job *j, const out_naming *nm)
{
    int rc, fan_out = nm->batch || has_template(nm->path);
    if (j->n_plans == 1) {
        rc = layout_of(j->s, j->plans[0], fan_out, &j->layout, nm->path);
    } else {
        out_layout one;
        j->layout.groups = j->n_plans;
        for (int i = 0; i < j->n_plans; i++) {
            if ((rc = layout_of(j->s, j->plans[i], 0, &one, nm->path)) != 0)
                return rc;
            memcpy(j->layout.names[i], j->s->names[i], sizeof j->layout.names[i]);
        }
        rc = EXIT_OK;
    }
    if (rc || (rc = out_paths(nm, &j->layout, &j->paths)) != 0)
        return rc;
    if (nm->fixed) {
        int same = nm->n_fixed == j->layout.groups;
        for (int g = 0; same && g < j->layout.groups; g++)
            same = strcmp(nm->fixed[g], j->paths[g]) == 0;
        if (!same) {
            msg_error(j->in_path, "changed while the batch ran: it now gives %d output%s",
                      j->layout.groups, j->layout.groups == 1 ? "" : "s");
            return EXIT_FAILURE_RUN;
        }
    }
    for (int g = 0; g < j->layout.groups; g++)
        if (same_file(j->in_path, j->paths[g])) {
            msg_usage(j->paths[g], "OUTPUT is the INPUT file; refusing to overwrite the input");
            return EXIT_USAGE;
        }
    /* (batch mode checks its outputs before any file is processed) */
    for (int g = 0; !nm->batch && g < j->layout.groups; g++)
        if (foreign_refused(j->o, j->paths[g]))
            return EXIT_USAGE;
    return EXIT_OK;
}

/* A failed write to a reader that went away (a closed pipe) ends quietly. */
static int report(const cnf_error *err, const char *fallback)
{
    if (err->sys_errno == EPIPE)
        return EXIT_FAILURE_RUN;
    return msg_cnf(err, fallback);
}

/* Step 4: open every output (a temporary file beside each). */
static int open_outputs(job *j)
{
    int binary = j->o->out_fmt != CNF_OUT_TXT && j->o->out_fmt != CNF_OUT_JSON;
    cnf_error err;
    for (int g = 0; g < j->layout.groups; g++) {
        if (out_open(&j->fs[g], j->paths[g], binary, &err) != CNF_OK)
            return report(&err, j->paths[g]);
        j->n_open = g + 1;
    }
    return EXIT_OK;
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

/* A run that failed: because its input was cut short while read (the
 * decoder saw zeros), or for the reason in err. */
static int failed(const job *j, const cnf_error *err, const char *fallback)
{
    cnf_error cut;
    if (input_cut_short(&j->in, j->in_path, &cut) != CNF_OK)
        return msg_cnf(&cut, j->in_path);
    return report(err, fallback);
}

/* Step 5, for one plan: its result into fs[0..groups). */
static int produce(job *j, const cnf_plan *plan, out_file *fs, cnf_map_stats *stats, int groups,
                   int threads)
{
    const options *o = j->o;
    cnf_reader *reader = NULL;
    cnf_image res = {0};
    cnf_error err;
    cnf_status st;
    int w, h, ch, a;
    memset(&err, 0, sizeof err);
    if (cnf_reader_open_ex(j->buf, j->len, j->kind, j->in_path, o->max_pixels, o->decode_flags,
                           &reader, &err) != CNF_OK)
        return msg_cnf(&err, j->in_path);
    input_follow(&j->in, reader);
    cnf_reader_shape(reader, &w, &h, &ch, &a);
    if (w != j->w || h != j->h || ch != j->c || a != j->a) {
        cnf_reader_free(reader);
        msg_error(j->in_path, "image header and data disagree");
        return EXIT_FAILURE_RUN;
    }
    {
        int seekable = 1;
        stream_kind sk;
        for (int g = 0; g < groups; g++)
            seekable &= !fs[g].direct;
        sk = streamed(o, plan, groups, seekable);
        if (sk != HELD_WHOLE) {
            st = (sk == STREAM_PNG ? emit_png_stream : emit_rows_stream)(o, plan, reader, threads,
                                                                       fs, groups, stats, &err);
            cnf_reader_free(reader);
            return st ? failed(j, &err, fs[0].path) : EXIT_OK;
        }
    }
    /* Written whole: collect the result, then encode it. */
    cnf_plan_output_shape(plan, &w, &h, &ch, &a);
    st = cnf_image_alloc(&res, w, h, ch, a, &err);
    if (st == CNF_OK)
        st = cnf_plan_stream(plan, reader, threads, sink_collect, &res, &err);
    cnf_reader_free(reader);
    if (st) {
        cnf_image_free(&res);
        return failed(j, &err, j->in_path);
    }
    st = emit_whole(o, &res, groups, o->out_fmt, threads, fs, stats, &err);
    cnf_image_free(&res);
    return st ? report(&err, fs[0].path) : EXIT_OK;
}

/* Step 6: every output in place, together. */
static int commit_outputs(job *j)
{
    cnf_error err;
    int n = j->n_open;
    j->n_open = 0; /* out_commit_all closes them either way */
    if (out_commit_all(j->fs, n, &err) != CNF_OK)
        return report(&err, j->paths[0]);
    if (j->o->verbose && j->o->out_fmt == CNF_OUT_PNG)
        for (int g = 0; g < n; g++)
            report_output(j->paths[g], 1, &j->stats[g], NULL);
    return EXIT_OK;
}

/* Steps 1 and 2 for a new job whose plans run on `threads` threads. */
static int job_start(job *j, const run_setup *s, const char *in_path, int threads)
{
    int rc;
    memset(j, 0, sizeof *j);
    j->s = s;
    j->o = s->o;
    j->in_path = in_path;
    j->threads = threads;
    if ((rc = load_input(j)) != 0)
        return rc;
    return make_plans(j);
}

/* A result not written by rows is held whole, with its encoding: its
 * bytes, for the memory checks.  Its outputs are paths[0..groups). */
static uint64_t held_whole(const job *j, const cnf_plan *p, char *const *paths, int groups)
{
    const options *o = j->o;
    int w, h, ch, a, seekable = 1;
    uint64_t values;
    for (int g = 0; g < groups; g++)
        seekable &= out_seekable(paths[g]);
    if (streamed(o, p, groups, seekable) != HELD_WHOLE)
        return 0;
    cnf_plan_output_shape(p, &w, &h, &ch, &a);
    values = (uint64_t)w * (uint64_t)h * (uint64_t)ch;
    /* the float result, then per value: text ~17 bytes, float 4, 8/16-bit
     * samples and their compressed stream about 2 to 4 */
    return values * sizeof(float) +
           values * (o->out_fmt == CNF_OUT_TXT || o->out_fmt == CNF_OUT_JSON ? 17 : 4);
}

/* Step 3b: the memory the outputs take while they are made - the input
 * still held (an image decoded whole, a streamed decoder's buffers), the
 * plans on the run's threads, and a result held whole - within --max-memory
 * (exit 1 naming it), taken from a batch's shared budget. */
static int take_memory(job *j)
{
    const options *o = j->o;
    uint64_t plans = 0, whole = 0, total;
    for (int i = 0; i < j->n_plans; i++) {
        uint64_t hw = j->n_plans == 1 ? held_whole(j, j->plans[0], j->paths, j->layout.groups)
                                       : held_whole(j, j->plans[i], &j->paths[i], 1);
        plans += cnf_plan_memory(j->plans[i]);
        whole = hw > whole ? hw : whole; /* plans produce one after another */
    }
    /* the weights are held for every file: in the check, not in a batch's
     * per-file share (batch.c keeps them out of the shared budget) */
    total = j->s->weights + j->input_held + plans + whole;
    if (total > o->max_memory) {
        cnf_error err;
        /* "A, B and C need": the parts that are there, in order */
        char what[400], plan[64];
        const char *part[4];
        int n = 0;
        size_t len = 0;
        snprintf(plan, sizeof plan, "the plan on %d thread%s", j->threads,
                 j->threads == 1 ? "" : "s");
        if (j->s->weights >= (1u << 20))
            part[n++] = "the kernels' weights";
        part[n++] = "the input";
        part[n++] = plan;
        if (whole)
            part[n++] = o->map == CNF_MAP_NORMALIZE
                            ? "the result held whole (--map normalize needs its range first)"
                            : "the result held whole (this output format is written whole)";
        what[0] = 0;
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(what + len, sizeof what - len, "%s%s",
                                    i == 0 ? "" : i == n - 1 ? " and " : ", ", part[i]);
        fail(&err, CNF_E_TOO_BIG, j->in_path,
             "%s need about %llu MiB, over the memory limit of %llu MiB", what,
             (unsigned long long)(total >> 20), (unsigned long long)(o->max_memory >> 20));
        err.limit = CNF_LIMIT_MEMORY;
        return msg_cnf(&err, j->in_path);
    }
    /* (decoding took j->decoding already; the run needs the rest) */
    total -= j->s->weights;
    j->budget = budget_grow(j->budget, total > j->decoding ? total - j->decoding : 0);
    return EXIT_OK;
}

int run_file(const run_setup *s, const char *in_path, const out_naming *nm, int threads)
{
    job j;
    int rc;
    if ((rc = job_start(&j, s, in_path, threads)) != 0)
        goto out;
    if (j.o->verbose)
        for (int i = 0; i < j.n_plans; i++)
            report_paths(in_path, j.plans[i]);
    if ((rc = name_outputs(&j, nm)) != 0 || (rc = take_memory(&j)) != 0 ||
        (rc = open_outputs(&j)) != 0)
        goto out;
    if (j.n_plans == 1) {
        rc = produce(&j, j.plans[0], j.fs, j.stats, j.layout.groups, threads);
    } else {
        for (int i = 0; i < j.n_plans && rc == 0; i++)
            rc = produce(&j, j.plans[i], &j.fs[i], &j.stats[i], 1, threads);
    }
    if (rc == 0) {
        cnf_error err;
        if (input_cut_short(&j.in, in_path, &err) != CNF_OK)
            rc = msg_cnf(&err, in_path);
    }
    if (rc == 0)
        rc = commit_outputs(&j);
out:
    job_free(&j);
    return rc < 0 ? EXIT_OK : rc; /* -1: --explain printed the plan */
}

/* ------------------------------------------------------------ layouts */

int run_fixed_layout(const run_setup *s, out_layout *l)
{
    if (s->pipeline && format_is_mapped(s->o->out_fmt, s->o->depth))
        return 0;
    memset(l, 0, sizeof *l);
    l->groups = !s->pipeline && s->n_kernels > 1 && s->layer.combine == CNF_COMBINE_NONE
                    ? s->n_kernels
                    : 1;
    for (int g = 0; g < l->groups && g < s->n_kernels; g++)
        memcpy(l->names[g], s->names[g], sizeof l->names[g]);
    return 1;
}

int run_probe_layout(const run_setup *s, const char *in_path, out_layout *l)
{
    job j;
    int rc = job_start(&j, s, in_path, 1);
    if (rc == 0)
        rc = layout_of(s, j.plans[0], 1, l, in_path);
    job_free(&j);
    return rc;
}
