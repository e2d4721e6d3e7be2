/* learn.c - `cnnfilter learn`: the kernel another tool applied, recovered from a before/after pair by linear least squares. */
#define _POSIX_C_SOURCE 200809L
#include "args.h"
#include "commands.h"
#include "input.h"
#include "msg.h"
#include "outfile.h"
#include "paths.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The largest --size side.  The normal matrix grows with the fourth power
 * of the side and its accumulation costs (side^2)^2 / 2 per output value:
 * 31x31 on a 256x256 image takes about 2.5 s and on 1 MP about 40 s, and a
 * 31x31 kernel over 3 channels (channels sum) is 2884 unknowns, inside the
 * library's 4096.  Kernels that other tools apply are far smaller. */
#define MAX_SIDE 31

enum {
    L_SIZE, L_BIAS, L_PADDING, L_BORDER, L_STRIDE, L_DILATION, L_CHANNELS, L_KEEP_CLIPPED,
    L_NO_AUTO_ORIENT, L_OUTPUT, L_QUIET, L_VERBOSE, L_HELP
};

/* One table feeds the parser, --help and completion. */
static const arg_opt LOPTS[] = {
    {L_SIZE, "size", 0, "K|KHxKW", 0, "K x K or KH rows x KW columns, 1 to 31 (required)"},
    {L_BIAS, "bias", 0, NULL, 0, "also fit a bias added after the convolution"},
    {L_PADDING, "padding", 0, "valid|same|N|PH,PW", 0, "padding the filter adds (same)"},
    {L_BORDER, "border", 0, "zero|replicate|reflect|mirror|wrap", 0,
     "what the padding contains (replicate)"},
    {L_STRIDE, "stride", 0, "S|SY,SX", 0, "step of the kernel (1)"},
    {L_DILATION, "dilation", 0, "D", 0, "spacing between kernel taps (1)"},
    {L_CHANNELS, "channels", 0, "auto|gray|sum", 0, "one kernel per channel, on luma, or 3-D (auto)"},
    {L_KEEP_CLIPPED, "keep-clipped", 0, NULL, 0, "also fit an image TARGET's values 0 and 255"},
    {L_NO_AUTO_ORIENT, "no-auto-orient", 0, NULL, 0, "keep images as stored (no EXIF turn)"},
    {L_OUTPUT, "output", 'o', "KERNEL.json", 0, "the kernel file to write (required)"},
    {L_QUIET, "quiet", 'q', NULL, 0, "no report of the fit on stderr"},
    {L_VERBOSE, "verbose", 'v', NULL, 0, "report the system's condition number too"},
    {L_HELP, "help", 'h', NULL, 0, "show this help and exit"},
};
#define N_LOPTS (sizeof LOPTS / sizeof LOPTS[0])

/* The channel modes learning takes, with their cnf_channels values. */
static const char *const CHANNEL_WORDS[] = {"auto", "gray", "sum", NULL};
static const cnf_channels CHANNEL_VALUES[] = {CNF_CH_AUTO, CNF_CH_GRAY, CNF_CH_SUM};

typedef struct learn_opts {
    cnf_learn_options lo;
    int size_seen;
    const char *output;
    const char *paths[3]; /* INPUT, TARGET (one more to tell "too many") */
    int n_paths;
    unsigned decode_flags; /* --no-auto-orient: CNF_DECODE_NO_ORIENT */
    int quiet, verbose, help;
} learn_opts;

static void print_learn_help(FILE *f)
{
    fprintf(f,
            "Usage: cnnfilter learn --size K[xK2] [OPTIONS] INPUT TARGET -o KERNEL.json\n"
            "\n"
            "Finds the kernel (and with --bias the bias) that turns INPUT into TARGET under\n"
            "the given geometry: the least-squares fit over every output value, solved in\n"
            "double precision.  TARGET must have the size the geometry gives (the size of\n"
            "INPUT for 'same' padding and stride 1).  KERNEL.json is a kernel file for -k;\n"
            "apply it with the same geometry (the filter's --border default is zero, this\n"
            "command's replicate).  A true convolution (ImageMagick's Convolve) comes back\n"
            "rotated by 180 degrees: correlation is what -k applies.\n"
            "\n"
            "Options (before or after INPUT TARGET):\n");
    for (size_t i = 0; i < N_LOPTS; i++)
        args_help_line(f, &LOPTS[i], LOPTS[i].help);
    fprintf(f,
            "\n"
            "An image TARGET's values 0 and 255 are left out of the fit (the tool that made\n"
            "it may have clipped them) unless --keep-clipped.  A system the input does not\n"
            "determine (a flat image, too few values; condition number of the column-scaled\n"
            "normal equations over 1e10) is refused, exit 1.  stderr reports the RMS and\n"
            "largest residual of the values fitted.\n"
            "Example:\n"
            "  convert in.png -define convolve:scale=1 \\\n"
            "      -morphology Correlate '3x3: 0,-1,0 -1,5,-1 0,-1,0' out.png\n"
            "  cnnfilter learn --size 3 in.png out.png -o sharpen.json\n");
}

/* Apply one option with its value (NULL for a switch). */
static int apply(void *ctx, const arg_opt *op, const char *flag, const char *v)
{
    learn_opts *o = ctx;
    cnf_layer *L = &o->lo.geometry;
    int w = 0;
    switch (op->id) {
    case L_SIZE:
        o->size_seen = 1;
        return arg_pair_sep(flag, v, 'x', 1, MAX_SIDE, &o->lo.kh, &o->lo.kw);
    case L_BIAS: o->lo.bias = 1; return 0;
    case L_PADDING: return arg_padding(flag, v, L);
    case L_BORDER:
        if (arg_words(flag, v, cnf_vocab_words(CNF_VOCAB_BORDER), &w))
            return EXIT_USAGE;
        L->border = (cnf_border)w;
        return 0;
    case L_STRIDE: return arg_pair(flag, v, 1, ARG_MAX_STRIDE, &L->stride_y, &L->stride_x);
    case L_DILATION: return arg_int(flag, v, 1, ARG_MAX_DILATION, &L->dilation);
    case L_CHANNELS:
        if (arg_words(flag, v, CHANNEL_WORDS, &w))
            return EXIT_USAGE;
        L->channels = CHANNEL_VALUES[w];
        return 0;
    case L_KEEP_CLIPPED: o->lo.keep_clipped = 1; return 0;
    case L_NO_AUTO_ORIENT: o->decode_flags = CNF_DECODE_NO_ORIENT; return 0;
    case L_OUTPUT: o->output = v; return 0;
    case L_QUIET: o->quiet = 1; return 0;
    case L_VERBOSE: o->verbose = 1; return 0;
    case L_HELP: o->help = 1; return ARGS_STOP;
    default: return 0;
    }
}

/* Parse argv[2..].  Returns 0, or 2 after printing a usage error; o->help
 * set when --help was met (what follows it is ignored). */
static int parse_learn_args(int argc, char **argv, learn_opts *o, const char **pos)
{
    int rc;
    memset(o, 0, sizeof *o);
    cnf_layer_init(&o->lo.geometry);
    /* The default of cnnfilter(1), learn: image tools' border (ImageMagick's
     * edge virtual pixels), which the filter command's zero is not. */
    o->lo.geometry.border = CNF_BORDER_REPLICATE;
    rc = args_parse(argc, argv, 2, LOPTS, N_LOPTS, apply, o, pos, &o->n_paths);
    if (rc || o->help)
        return rc;
    if (o->n_paths > 2) {
        msg_usage(pos[2], "learn takes two files, INPUT and TARGET");
        return EXIT_USAGE;
    }
    for (int k = 0; k < o->n_paths; k++)
        o->paths[k] = pos[k];
    if (!o->size_seen) {
        msg_usage("--size", "is required: the kernel's size, e.g. --size 3 or --size 3x5");
        return EXIT_USAGE;
    }
    if (o->n_paths != 2) {
        msg_usage(NULL, "learn needs INPUT and TARGET, got %d file%s", o->n_paths,
                  o->n_paths == 1 ? "" : "s");
        return EXIT_USAGE;
    }
    if (!o->output || !o->output[0]) {
        msg_usage("--output", "is required: the kernel file to write, e.g. -o kernel.json");
        return EXIT_USAGE;
    }
    if (strcmp(o->paths[0], "-") == 0 && strcmp(o->paths[1], "-") == 0) {
        msg_usage("-", "standard input can be only one of INPUT and TARGET");
        return EXIT_USAGE;
    }
    for (int k = 0; k < 2; k++)
        if (same_file(o->output, o->paths[k])) {
            msg_usage(o->output, "the kernel file would overwrite %s", k ? "TARGET" : "INPUT");
            return EXIT_USAGE;
        }
    return 0;
}

/* Read and decode one file; *is_image: an image format rather than a
 * matrix (its values are 0..255 and may have been clipped there).  Prints
 * the error and returns the exit code on failure. */
static int load(const char *path, unsigned flags, cnf_image *img, int *is_image)
{
    cnf_error err;
    memset(&err, 0, sizeof err);
    if (load_decoded(path, (uint64_t)1 << 31, CNF_DEFAULT_MAX_PIXELS, flags, img, is_image, &err) !=
        CNF_OK)
        return msg_cnf(&err, path);
    return EXIT_OK;
}

/* "learned 3x3 kernel (+ bias) from N values (M left out as clipped): RMS
 * residual R, max X". */
static void report(const learn_opts *o, const cnf_kernel *k, const cnf_learn_stats *s)
{
    char what[80], left[80] = "", cond[80] = "";
    if (cnf_kernel_is_3d(k))
        snprintf(what, sizeof what, "%dx%d kernel over %d channel%s", cnf_kernel_height(k),
                 cnf_kernel_width(k), cnf_kernel_depth(k), cnf_kernel_depth(k) == 1 ? "" : "s");
    else
        snprintf(what, sizeof what, "%dx%d kernel", cnf_kernel_height(k), cnf_kernel_width(k));
    if (s->left_out)
        snprintf(left, sizeof left, " (%llu left out as clipped)",
                 (unsigned long long)s->left_out);
    if (o->verbose)
        snprintf(cond, sizeof cond, "; condition number %.3g (limit 1e10)", s->condition);
    msg_info("learned %s%s from %llu values%s: RMS residual %.4g, max %.4g%s", what,
             o->lo.bias ? " (+ bias)" : "", (unsigned long long)s->used, left, s->rms,
             s->max_residual, cond);
}

/* Learn from the two decoded images and write the kernel file. */
static int learn_and_write(learn_opts *o, const cnf_image *in, const cnf_image *target)
{
    cnf_kernel *k = NULL;
    cnf_learn_stats s;
    cnf_error err;
    char *json = NULL;
    size_t len = 0;
    int rc;
    memset(&err, 0, sizeof err);
    o->lo.input_name = o->paths[0];
    o->lo.target_name = o->paths[1];
    if (cnf_learn_kernel(in, target, &o->lo, &k, &s, &err) != CNF_OK) {
        /* A setting the images make wrong (--size over the unknowns, a
         * gray INPUT of 2 channels) is this command's usage error. */
        if (err.subject == CNF_SUBJECT_SETTING && cnf_status_is_usage(err.status)) {
            char flag[600];
            snprintf(flag, sizeof flag, "--%s", err.where);
            msg_usage(flag, "%s", err.msg);
            return EXIT_USAGE;
        }
        return msg_cnf(&err, o->paths[0]);
    }
    if (cnf_kernel_to_json(k, &json, &len, &err) != CNF_OK ||
        write_output(o->output, (const unsigned char *)json, len, 0, &err) != CNF_OK) {
        rc = msg_cnf(&err, o->output);
    } else {
        rc = EXIT_OK;
        if (!o->quiet)
            report(o, k, &s);
    }
    free(json);
    cnf_kernel_free(k);
    return rc;
}

int cmd_learn(int argc, char **argv)
{
    learn_opts o;
    cnf_image in, target;
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int rc, dummy;
    msg_set_command("learn");
    if (!pos) {
        msg_error(NULL, "out of memory");
        return EXIT_FAILURE_RUN;
    }
    rc = parse_learn_args(argc, argv, &o, pos);
    free(pos); /* o.paths point into argv */
    if (rc)
        return rc;
    if (o.help) {
        print_learn_help(stdout);
        return EXIT_OK;
    }
    memset(&in, 0, sizeof in);
    memset(&target, 0, sizeof target);
    msg_set_quiet(o.quiet);
    rc = load(o.paths[0], o.decode_flags, &in, &dummy);
    if (rc == EXIT_OK)
        rc = load(o.paths[1], o.decode_flags, &target, &o.lo.target_8bit);
    if (rc == EXIT_OK)
        rc = learn_and_write(&o, &in, &target);
    cnf_image_free(&in);
    cnf_image_free(&target);
    return rc;
}

int learn_option_words(FILE *f, const char *what)
{
    return args_complete(f, LOPTS, N_LOPTS, what);
}
