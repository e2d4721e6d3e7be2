/* options.c - the option table: it drives the parser, --help and the completion words, so they cannot drift. */
#define _POSIX_C_SOURCE 200809L
#include "options.h"

#include "args.h"
#include "formats.h"
#include "msg.h"
#include "paths.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum opt_id {
    O_KERNEL, O_PIPELINE, O_LAYERS, O_PADDING, O_BORDER, O_STRIDE, O_DILATION, O_FLIP, O_CHANNELS,
    O_ALPHA, O_NO_AUTO_ORIENT, O_SCALE, O_BIAS, O_ACTIVATION, O_POOL, O_POOL_SIZE, O_POOL_STRIDE,
    O_POOL_PADDING, O_CEIL, O_COMBINE, O_MAP, O_OUTPUT_DIR, O_RECURSIVE, O_JOBS,
    O_OUTPUT_FORMAT, O_QUALITY, O_DEPTH, O_COMPRESSION, O_PORTABLE, O_SKIP_EXISTING, O_SHARD, O_INCLUDE, O_EXCLUDE, O_FILES_FROM, O_NULL, O_BASE, O_FORCE, O_EXPLAIN, O_MAX_PIXELS,
    O_MAX_MEMORY, O_MAX_WORK, O_QUIET, O_VERBOSE, O_PROGRESS, O_HELP, O_VERSION
} opt_id;

/* An option row; `flags` is GEOMETRY for a layer flag: it conflicts with
 * --pipeline (cnnfilter(1), PIPELINES). */
typedef arg_opt opt;
enum { GEOMETRY = 1 };

static const opt OPTIONS[] = {
    {O_KERNEL, "kernel", 'k', "SPEC", 1,
     "kernel: built-in NAME[:SIZE[:SIGMA]] or gaussian::SIGMA, a .json file, or an inline matrix "
     "'[[0,1,0],[1,-4,1],[0,1,0]]'; repeat for a filter bank"},
    {O_PIPELINE, "pipeline", 0, "FILE.json", 0, "a multi-layer pipeline (not with the layer flags)"},
    {O_LAYERS, "layers", 0, "N", 0, "run only the first N layers of --pipeline (a trained net's filters)"},
    {O_PADDING, "padding", 0, "valid|same|N|PH,PW", 1, "border added before convolving (same)"},
    {O_BORDER, "border", 0, "zero|replicate|reflect|mirror|wrap", 1,
     "what the padding contains (replicate: no frame on photos; zero: CNN padding)"},
    {O_STRIDE, "stride", 0, "S|SY,SX", 1, "step of the kernel (1)"},
    {O_DILATION, "dilation", 0, "D", 1, "spacing between kernel taps (1)"},
    {O_FLIP, "flip", 0, NULL, 1, "true convolution: rotate the kernel by 180 degrees"},
    {O_CHANNELS, "channels", 0, "auto|gray|rgb|sum", 1,
     "per channel, luma first, forced per channel, or summed into one (auto)"},
    {O_ALPHA, "alpha", 0, "keep|drop", 0, "keep the alpha plane (follows the geometry) or drop it (keep)"},
    {O_NO_AUTO_ORIENT, "no-auto-orient", 0, NULL, 0,
     "keep images as stored, not turned upright by their EXIF orientation"},
    {O_SCALE, "scale", 0, "S", 1, "multiply the weights by S (1)"},
    {O_BIAS, "bias", 0, "B", 1, "add B after the convolution (0)"},
    {O_ACTIVATION, "activation", 0, "none|relu|abs|leaky_relu[:A]|sigmoid|tanh", 1,
     "applied after the bias (none)"},
    {O_POOL, "pool", 0, "none|max|avg|min", 1, "pooling after the activation (none)"},
    {O_POOL_SIZE, "pool-size", 0, "P", 1, "pooling window (2)"},
    {O_POOL_STRIDE, "pool-stride", 0, "S", 1, "pooling step (the window)"},
    {O_POOL_PADDING, "pool-padding", 0, "N", 1, "pooling padding, at most half the window (0)"},
    {O_CEIL, "ceil", 0, NULL, 1, "pooling output size rounds up (ceil mode)"},
    {O_COMBINE, "combine", 0, "none|magnitude|max|sum", 1,
     "how a filter bank's maps become one image; none: one output per kernel (none)"},
    {O_MAP, "map", 0, "clamp|abs|offset|normalize", 0, "how real values become 8-bit pixels (clamp)"},
    {O_OUTPUT_DIR, "output-dir", 'o', "DIR", 0, "batch mode: write outputs under DIR"},
    {O_RECURSIVE, "recursive", 'r', NULL, 0, "batch mode: descend into folders"},
    {O_JOBS, "jobs", 'j', "N", 0, "worker threads (all cores)"},
    {O_OUTPUT_FORMAT, "output-format", 0, "FMT", 0,
     "{formats}: batch outputs, and stdout (png)"},
    {O_QUALITY, "quality", 0, "Q", 0,
     "1..100: JPEG quality (90); WebP is lossy at Q when given, else lossless"},
    {O_DEPTH, "depth", 0, "8|16|float", 0,
     "sample depth; 16 ({depth16}) keeps fractions: value x 257, so 16-bit inputs come back "
     "exact; float ({depthfloat}): the exact values, no --map (8)"},
    {O_COMPRESSION, "compression", 0, "0-9", 0,
     "PNG deflate level: 0 none, 1 fastest, 2 near libpng -6 size, 3-9 slower (" CNF_PNG_DEFAULT_LEVEL_STR ")"},
    {O_PORTABLE, "portable", 0, NULL, 0,
     "only the portable reference convolution (the same pixels, slower; a rank-1 "
     "fractional kernel's two float32 passes differ by rounding)"},
    {O_SKIP_EXISTING, "skip-existing", 0, NULL, 0, "batch mode: skip outputs that exist"},
    {O_SHARD, "shard", 0, "K/N", 0, "batch mode: process only shard K (from 0) of N"},
    {O_INCLUDE, "include", 0, "GLOB", 0,
     "batch mode: also take the files of folders GLOB matches (e.g. '*.txt'); repeatable"},
    {O_EXCLUDE, "exclude", 0, "GLOB", 0,
     "batch mode: leave out the files and folders GLOB matches; repeatable"},
    {O_FILES_FROM, "files-from", 0, "FILE", 0,
     "batch mode: read the inputs from FILE, one per line (- for stdin)"},
    {O_NULL, "null", '0', NULL, 0, "--files-from names end in NUL, not newline (find -print0)"},
    {O_BASE, "base", 0, "DIR", 0,
     "batch mode: outputs keep each input's path relative to DIR (no two img.png collide)"},
    {O_FORCE, "force", 'f', NULL, 0, "replace an existing image output that cnnfilter did not write"},
    {O_EXPLAIN, "explain", 0, NULL, 0, "print each stage's shapes and size arithmetic, process nothing"},
    {O_MAX_PIXELS, "max-pixels", 0, "N", 0, "refuse larger images before decoding (178956970)"},
    {O_MAX_MEMORY, "max-memory", 0, "BYTES", 0, "refuse an input needing more memory (decoding, plan on -j threads, result); K, M, G suffixes (2G)"},
    {O_MAX_WORK, "max-work", 0, "N", 0, "refuse a plan of more multiply-adds, e.g. 1e14 (1e13)"},
    {O_QUIET, "quiet", 'q', NULL, 0, "no warnings"},
    {O_VERBOSE, "verbose", 'v', NULL, 0, "report value ranges and clipping"},
    {O_PROGRESS, "progress", 0, "auto|always|never", 0, "progress bar on stderr (auto: on a terminal)"},
    {O_HELP, "help", 'h', NULL, 0, "show this help and exit"},
    {O_VERSION, "version", 0, NULL, 0, "show the version and exit"},
};
#define N_OPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

void print_options_help(FILE *f)
{
    fprintf(f, "Options:\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt *o = &OPTIONS[i];
        char help[300];
        const char *h = o->help;
        if (strncmp(h, "{formats}", 9) == 0) {
            /* The formats come from the library's table. */
            char list[160];
            snprintf(help, sizeof help, "%s%s",
                     format_list(list, sizeof list, FORMATS_WRITTEN, 'w', ", ", " or "), h + 9);
            h = help;
        } else if (o->id == O_DEPTH) {
            char l16[80], lf[80];
            const char *m = strstr(h, "{depthfloat}");
            const char *k = strstr(h, "{depth16}");
            snprintf(help, sizeof help, "%.*s%s%.*s%s%s", (int)(k - h), h,
                     format_list(l16, sizeof l16, FORMATS_WRITTEN_16BIT, 'n', ", ", NULL),
                     (int)(m - (k + 9)), k + 9,
                     format_list(lf, sizeof lf, FORMATS_WRITTEN_FLOAT, 'n', ", ", NULL), m + 12);
            h = help;
        }
        args_help_line(f, o, h);
    }
}

/* A word of one of the library's vocabularies (the enum's value). */
static int parse_enum(const char *flag, const char *s, cnf_vocab v, int *out)
{
    return arg_words(flag, s, cnf_vocab_words(v), out);
}

/* The CLI's own vocabularies (the layer settings' words are the library's). */
static const char *const ALPHAS[] = {"keep", "drop", NULL};
static const char *const PROGRESS[] = {"auto", "always", "never", NULL};

/* Limits of the geometry flags: far above any real use, low enough that
 * every size computation stays inside 32-bit ints. */

/* The options whose values decide the output (not -j, limits or messages). */
static int decides_output(opt_id id)
{
    switch (id) {
    case O_OUTPUT_DIR: case O_RECURSIVE: case O_JOBS: case O_OUTPUT_FORMAT: case O_SKIP_EXISTING:
    case O_SHARD: case O_INCLUDE: case O_EXCLUDE: case O_FILES_FROM: case O_NULL: case O_BASE:
    case O_FORCE: case O_EXPLAIN: case O_MAX_PIXELS: case O_MAX_MEMORY: case O_MAX_WORK: case O_QUIET:
    case O_VERBOSE: case O_PROGRESS: case O_HELP: case O_VERSION: case O_COMPRESSION:
    case O_PORTABLE:
        return 0;
    default:
        return 1;
    }
}

/* Append " --name [value]" to o->normalized, the value single-quoted when it
 * holds anything but [A-Za-z0-9_.,:/+=-]. */
static void record(options *o, const opt *op, const char *val)
{
    char *d = o->normalized;
    size_t n = strlen(d), cap = sizeof o->normalized;
    int w = snprintf(d + n, cap - n, "%s--%s", n ? " " : "", op->name);
    if (w < 0 || (size_t)w >= cap - n)
        goto full;
    n += (size_t)w;
    if (val) {
        int plain = *val != 0;
        for (const char *p = val; *p; p++)
            if (!(isalnum((unsigned char)*p) || strchr("_.,:/+=-", *p)))
                plain = 0;
        if (n + 2 >= cap)
            goto full;
        d[n++] = ' ';
        if (!plain)
            d[n++] = '\'';
        for (const char *p = val; *p; p++) {
            if (n + 6 >= cap)
                goto full;
            if (*p == '\'') {
                memcpy(d + n, "'\\''", 4);
                n += 4;
            } else {
                d[n++] = *p;
            }
        }
        if (!plain)
            d[n++] = '\'';
        d[n] = 0;
    }
    return;
full:
    o->normalized_truncated = 1;
}

/* The options of the run (mapping, files, threads, limits, messages). */
static int apply_run(options *o, const opt *op, const char *flag, const char *val)
{
    int v = 0;
    switch ((opt_id)op->id) {
    case O_MAP:
        if (parse_enum(flag, val, CNF_VOCAB_MAP, &v))
            return 2;
        o->map = (cnf_map_mode)v;
        o->map_given = 1;
        return 0;
    case O_OUTPUT_DIR: o->output_dir = val; return 0;
    case O_RECURSIVE: o->recursive = 1; return 0;
    case O_JOBS: return arg_int(flag, val, 1, 256, &o->jobs);
    case O_OUTPUT_FORMAT:
        if (cnf_output_format_from_name(val) == CNF_OUT_NONE) {
            char list[160];
            return arg_bad(flag, "'%s' is not one of: %s", val,
                       format_list(list, sizeof list, FORMATS_WRITTEN, 'w', ", ", NULL));
        }
        o->output_format = val;
        return 0;
    case O_QUALITY: return arg_int(flag, val, 1, 100, &o->quality);
    case O_DEPTH:
        if (strcmp(val, "8") != 0 && strcmp(val, "16") != 0 && strcmp(val, "float") != 0)
            return arg_bad(flag, "'%s' is not 8, 16 or float", val);
        o->depth = val[0] == '8' ? 8 : val[0] == '1' ? 16 : CNF_DEPTH_FLOAT;
        return 0;
    case O_COMPRESSION: return arg_int(flag, val, 0, 9, &o->compression);
    case O_PORTABLE: o->portable = 1; return 0;
    case O_NO_AUTO_ORIENT: o->decode_flags |= CNF_DECODE_NO_ORIENT; return 0;
    case O_SKIP_EXISTING: o->skip_existing = 1; return 0;
    case O_SHARD: {
        const char *slash = strchr(val, '/');
        char k[32];
        if (!slash || (size_t)(slash - val) >= sizeof k)
            return arg_bad(flag, "'%s' is not K/N", val);
        memcpy(k, val, (size_t)(slash - val));
        k[slash - val] = 0;
        if (arg_int(flag, slash + 1, 1, 1000000, &o->shard_n) ||
            arg_int(flag, k, 0, o->shard_n - 1, &o->shard_k))
            return 2;
        return 0;
    }
    case O_INCLUDE:
    case O_EXCLUDE: {
        int *n = op->id == O_INCLUDE ? &o->n_include : &o->n_exclude;
        if (*n >= CLI_MAX_GLOBS)
            return arg_bad(flag, "at most %d globs", CLI_MAX_GLOBS);
        if (!*val)
            return arg_bad(flag, "an empty glob matches nothing");
        (op->id == O_INCLUDE ? o->include : o->exclude)[(*n)++] = val;
        return 0;
    }
    case O_FILES_FROM: o->files_from = val; return 0;
    case O_NULL: o->null_sep = 1; return 0;
    case O_BASE: o->base = val; return 0;
    case O_FORCE: o->force = 1; return 0;
    case O_EXPLAIN: o->explain = 1; return 0;
    case O_MAX_PIXELS: return arg_bytes(flag, val, &o->max_pixels);
    case O_MAX_MEMORY: return arg_bytes(flag, val, &o->max_memory);
    case O_MAX_WORK: {
        double w;
        if (arg_double(flag, val, &w))
            return 2;
        if (!(w >= 1 && w < 1.8e19))
            return arg_bad(flag, "'%s' is not a count from 1 to 1.8e19", val);
        o->max_work = (uint64_t)w;
        return 0;
    }
    case O_QUIET: o->quiet = 1; return 0;
    case O_VERBOSE: o->verbose = 1; return 0;
    case O_PROGRESS:
        if (arg_words(flag, val, PROGRESS, &v))
            return 2;
        o->progress = v;
        return 0;
    case O_HELP: o->help = 1; return 0;
    case O_VERSION: o->version = 1; return 0;
    default: return 0;
    }
}

/* The options of the layer (kernels, geometry, activation, pooling). */
static int apply_layer(options *o, const opt *op, const char *flag, const char *val)
{
    cnf_layer *L = &o->layer;
    int v = 0;
    switch ((opt_id)op->id) {
    case O_KERNEL:
        if (o->n_kernels >= CLI_MAX_KERNELS) {
            msg_usage(flag, "at most %d kernels", CLI_MAX_KERNELS);
            return 2;
        }
        o->kernels[o->n_kernels++] = val;
        return 0;
    case O_PIPELINE: o->pipeline = val; return 0;
    case O_LAYERS: return arg_int(flag, val, 1, CNF_MAX_LAYERS, &o->layers);
    case O_PADDING: return arg_padding(flag, val, L);
    case O_BORDER:
        if (parse_enum(flag, val, CNF_VOCAB_BORDER, &v))
            return 2;
        L->border = (cnf_border)v;
        return 0;
    case O_STRIDE: return arg_pair(flag, val, 1, ARG_MAX_STRIDE, &L->stride_y, &L->stride_x);
    case O_DILATION: return arg_int(flag, val, 1, ARG_MAX_DILATION, &L->dilation);
    case O_FLIP: L->flip = 1; return 0;
    case O_CHANNELS:
        if (parse_enum(flag, val, CNF_VOCAB_CHANNELS, &v))
            return 2;
        L->channels = (cnf_channels)v;
        return 0;
    case O_ALPHA:
        if (arg_words(flag, val, ALPHAS, &v))
            return 2;
        L->keep_alpha = v == 0;
        return 0;
    case O_SCALE: return arg_double(flag, val, &L->scale);
    case O_BIAS: return arg_double(flag, val, &L->bias);
    case O_ACTIVATION: {
        const char *colon = strchr(val, ':');
        char name[32];
        size_t n = colon ? (size_t)(colon - val) : strlen(val);
        if (n >= sizeof name)
            n = sizeof name - 1;
        memcpy(name, val, n);
        name[n] = 0;
        if (parse_enum(flag, name, CNF_VOCAB_ACTIVATION, &v))
            return 2;
        L->activation = (cnf_activation)v;
        L->activation_param = 0.01;
        if (colon) {
            if (L->activation != CNF_ACT_LEAKY_RELU)
                return arg_bad(flag, "'%s': only leaky_relu takes a parameter", val);
            return arg_double(flag, colon + 1, &L->activation_param);
        }
        return 0;
    }
    case O_POOL:
        if (parse_enum(flag, val, CNF_VOCAB_POOL, &v))
            return 2;
        L->pool = (cnf_pool)v;
        return 0;
    case O_POOL_SIZE: return arg_int(flag, val, 1, CNF_MAX_KERNEL_SIDE, &L->pool_size);
    case O_POOL_STRIDE: return arg_int(flag, val, 1, ARG_MAX_STRIDE, &L->pool_stride);
    case O_POOL_PADDING: return arg_int(flag, val, 0, CNF_MAX_KERNEL_SIDE, &L->pool_padding);
    case O_CEIL: L->pool_ceil = 1; return 0;
    case O_COMBINE:
        if (parse_enum(flag, val, CNF_VOCAB_COMBINE, &v))
            return 2;
        L->combine = (cnf_combine)v;
        return 0;
    default:
        return apply_run(o, op, flag, val);
    }
}

static int apply(void *ctx, const opt *op, const char *flag, const char *val)
{
    options *o = ctx;
    int r;
    if (decides_output(op->id))
        record(o, op, val);
    if (op->flags & GEOMETRY && !o->geometry_flags_seen) {
        o->geometry_flags_seen = 1;
        o->geometry_flag = op->name;
    }
    r = apply_layer(o, op, flag, val);
    return r == 0 && (o->help || o->version) ? ARGS_STOP : r;
}

int parse_options(int argc, char **argv, int first, options *o)
{
    memset(o, 0, sizeof *o);
    cnf_layer_init(&o->layer);
    /* The command-line form pads like image tools (no dark or bright frame
     * on photos); pipelines keep the library's zero padding. */
    o->layer.border = CNF_BORDER_REPLICATE;
    o->map = CNF_MAP_CLAMP;
    o->jobs = args_default_jobs();
    o->max_pixels = CNF_DEFAULT_MAX_PIXELS;
    o->max_memory = CNF_DEFAULT_MAX_MEMORY;
    o->max_work = CNF_DEFAULT_MAX_WORK;
    o->quality = -1; /* not given: the format's default */
    o->depth = 8;
    o->compression = -1; /* the library's default */
    o->args = calloc((size_t)argc + 1, sizeof(char *));
    if (!o->args) {
        msg_error(NULL, "out of memory");
        return 1;
    }
    return args_parse(argc, argv, first, OPTIONS, N_OPTIONS, apply, o, o->args, &o->n_args);
}

/* The format of the outputs: OUTPUT's extension, or --output-format for "-"
 * and for batch outputs (PNG by default). */
static int output_format_of(options *o, const char *out)
{
    struct stat st;
    o->out_fmt = CNF_OUT_PNG;
    /* A FIFO or a device (/dev/null, /dev/stdout) named without an
     * extension takes --output-format, like "-". */
    if (out && strcmp(out, "-") != 0 &&
        !(cnf_output_format_for_path(out) == CNF_OUT_NONE && stat(out, &st) == 0 &&
          (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))) {
        o->out_fmt = cnf_output_format_for_path(out);
        if (o->out_fmt == CNF_OUT_NONE) {
            char list[160];
            msg_usage(out, "unknown output extension (use %s)",
                      format_list(list, sizeof list, FORMATS_WRITTEN, 'e', ", ", " or "));
            return 2;
        }
    } else if (o->output_format) {
        o->out_fmt = cnf_output_format_from_name(o->output_format);
    }
    return 0;
}

static int validate_batch(options *o)
{
    struct stat st;
    if (o->n_args < 1 && !o->files_from) {
        msg_usage("--output-dir", "batch mode needs at least one INPUT file or folder (or "
                                  "--files-from FILE)");
        return 2;
    }
    if (o->null_sep && !o->files_from) {
        msg_usage("--null", "is for --files-from: its names end in NUL");
        return 2;
    }
    for (int i = 0; i < o->n_args; i++)
        if (stat(o->args[i], &st) == 0 && S_ISDIR(st.st_mode) && same_file(o->args[i], o->output_dir)) {
            msg_usage(o->output_dir, "the output folder is the input folder '%s': outputs would "
                                     "mix with the inputs; choose another -o folder",
                      o->args[i]);
            return 2;
        }
    if (stat(o->output_dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        msg_usage(o->output_dir, "the output folder is not a folder");
        return 2;
    }
    /* `-o out.png in.png`: -o names a folder; an image name that is not there
     * yet was meant as OUTPUT (else a folder `out.png` would be made) */
    if (stat(o->output_dir, &st) != 0 && o->n_args == 1 &&
        cnf_output_format_for_path(o->output_dir) != CNF_OUT_NONE) {
        msg_usage("-o", "'%s' looks like an output file, but -o names the folder of batch "
                        "mode: give OUTPUT after INPUT (cnnfilter [OPTIONS] %s %s)",
                  o->output_dir, o->args[0], o->output_dir);
        return 2;
    }
    if (o->explain) {
        msg_usage("--explain", "takes one INPUT, not a batch");
        return 2;
    }
    return output_format_of(o, NULL);
}

static int validate_single(options *o)
{
    const char *in, *out;
    if (o->n_args < 1 || o->n_args > 2 || (o->n_args == 1 && !o->explain)) {
        msg_usage(NULL, "expected INPUT and OUTPUT (or -o DIR INPUT...), got %d argument%s",
                  o->n_args, o->n_args == 1 ? "" : "s");
        return 2;
    }
    in = o->args[0];
    out = o->n_args > 1 ? o->args[1] : "-";
    {
        /* what only batch mode does, asked for without -o DIR */
        const char *batch_only = o->recursive        ? "--recursive"
                                 : o->skip_existing  ? "--skip-existing"
                                 : o->shard_n        ? "--shard"
                                 : o->n_include      ? "--include"
                                 : o->n_exclude      ? "--exclude"
                                 : o->files_from     ? "--files-from"
                                 : o->base           ? "--base"
                                 : o->null_sep       ? "--null"
                                                     : NULL;
        struct stat st;
        if (stat(in, &st) == 0 && S_ISDIR(st.st_mode)) { /* an input that cannot be read: 1 */
            msg_error(in, "is a folder: give -o DIR to filter the images in it (batch mode: "
                          "cnnfilter [OPTIONS] -o DIR %s)", in);
            return 1;
        }
        if (batch_only) {
            msg_usage(batch_only, "is for batch mode: give -o DIR");
            return 2;
        }
    }
    if (output_format_of(o, out))
        return 2;
    if (o->n_args > 1 && strcmp(out, "-") == 0 && !o->explain && isatty(STDOUT_FILENO) &&
        o->out_fmt != CNF_OUT_TXT && o->out_fmt != CNF_OUT_JSON) {
        msg_usage("-", "refusing to write binary image data to a terminal");
        return 2;
    }
    if (o->n_args > 1 && same_file(in, out)) {
        msg_usage(out, "OUTPUT is the INPUT file; refusing to overwrite the input");
        return 2;
    }
    return 0;
}

int validate_options(options *o)
{
    int rc = o->output_dir ? validate_batch(o) : validate_single(o);
    if (rc)
        return rc;
    if (o->pipeline && o->geometry_flags_seen) {
        char flag[80];
        snprintf(flag, sizeof flag, "--%s", o->geometry_flag);
        msg_usage(flag, "cannot be combined with --pipeline (set it in the pipeline's layers)");
        return 2;
    }
    if (o->layers && !o->pipeline) {
        msg_usage("--layers", "is for --pipeline: the first N of its layers");
        return 2;
    }
    if (!o->pipeline && o->n_kernels == 0 && o->layer.pool == CNF_POOL_NONE) {
        msg_usage("--kernel", "a kernel is required (or --pool for pooling alone)");
        return 2;
    }
    if (o->depth != 8 && !o->explain &&
        !(format_flags(o->out_fmt) &
          (o->depth == 16 ? CNF_FORMAT_16BIT : CNF_FORMAT_FLOAT))) {
        char list[80];
        msg_usage("--depth", "%s output is for %s only",
                  o->depth == 16 ? "16-bit" : "float",
                  format_list(list, sizeof list,
                              o->depth == 16 ? FORMATS_WRITTEN_16BIT : FORMATS_WRITTEN_FLOAT,
                              'e', ", ", " and "));
        return 2;
    }
    if (o->map_given && !format_is_mapped(o->out_fmt, o->depth))
        msg_warn("--map", "has no effect on %s output, which holds the exact values",
                 o->out_fmt == CNF_OUT_NPY    ? ".npy"
                 : o->out_fmt == CNF_OUT_TXT  ? ".txt"
                 : o->out_fmt == CNF_OUT_JSON ? ".json"
                                              : "float TIFF");
    return 0;
}

/* The words an option's value may be, for completion; NULL for a number or
 * a file. */
static void option_values(FILE *f, opt_id id)
{
    static const char *const DEPTHS[] = {"8", "16", "float", NULL};
    static const char *const LEVELS[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", NULL};
    const char *const *w = NULL;
    switch (id) {
    case O_PADDING: w = cnf_vocab_words(CNF_VOCAB_PADDING); break;
    case O_BORDER: w = cnf_vocab_words(CNF_VOCAB_BORDER); break;
    case O_CHANNELS: w = cnf_vocab_words(CNF_VOCAB_CHANNELS); break;
    case O_ACTIVATION: w = cnf_vocab_words(CNF_VOCAB_ACTIVATION); break;
    case O_POOL: w = cnf_vocab_words(CNF_VOCAB_POOL); break;
    case O_COMBINE: w = cnf_vocab_words(CNF_VOCAB_COMBINE); break;
    case O_MAP: w = cnf_vocab_words(CNF_VOCAB_MAP); break;
    case O_ALPHA: w = ALPHAS; break;
    case O_PROGRESS: w = PROGRESS; break;
    case O_DEPTH: w = DEPTHS; break;
    case O_COMPRESSION: w = LEVELS; break;
    case O_OUTPUT_FORMAT: print_format_words(f); break;
    default: break;
    }
    for (int i = 0; w && w[i]; i++)
        fprintf(f, "%s\n", w[i]);
}

int print_option_words(FILE *f, const char *what)
{
    int with_values = what && strcmp(what, "options-with-values") == 0;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt *op = &OPTIONS[i];
        if (with_values && !op->arg)
            continue;
        if (!what || with_values) {
            if (op->short_name)
                fprintf(f, "-%c\n", op->short_name);
            fprintf(f, "--%s\n", op->name);
            continue;
        }
        if ((what[0] == '-' && what[1] == '-' && strcmp(what + 2, op->name) == 0) ||
            (what[0] == '-' && what[1] == op->short_name && what[1] && !what[2])) {
            option_values(f, op->id);
            return 0;
        }
    }
    return what && !with_values ? 1 : 0;
}
