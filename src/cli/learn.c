/* learn.c - `cnnfilter learn`: the kernel another tool applied, recovered from a before/after pair by linear least squares. */
#define _POSIX_C_SOURCE 200809L
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
/* The geometry flags' ranges are the filter command's (options.c). */
#define MAX_PAD (1 << 20)
#define MAX_STRIDE (1 << 20)
#define MAX_DILATION (1 << 16)

typedef enum lopt_id {
    L_SIZE, L_BIAS, L_PADDING, L_BORDER, L_STRIDE, L_DILATION, L_CHANNELS, L_KEEP_CLIPPED,
    L_OUTPUT, L_QUIET, L_VERBOSE, L_HELP
} lopt_id;

/* One table feeds the parser and --help. */
typedef struct lopt {
    lopt_id id;
    const char *name;
    char short_name;
    const char *arg; /* NULL for a switch */
    const char *help;
} lopt;

static const lopt LOPTS[] = {
    {L_SIZE, "size", 0, "K|KHxKW",
     "K x K or KH rows x KW columns, 1 to 31 (required)"},
    {L_BIAS, "bias", 0, NULL, "also fit a bias added after the convolution"},
    {L_PADDING, "padding", 0, "valid|same|N|PH,PW", "padding the filter adds (same)"},
    {L_BORDER, "border", 0, "zero|replicate|reflect|mirror|wrap",
     "what the padding contains (replicate)"},
    {L_STRIDE, "stride", 0, "S|SY,SX", "step of the kernel (1)"},
    {L_DILATION, "dilation", 0, "D", "spacing between kernel taps (1)"},
    {L_CHANNELS, "channels", 0, "auto|gray|sum",
     "one kernel per channel, on luma, or 3-D (auto)"},
    {L_KEEP_CLIPPED, "keep-clipped", 0, NULL,
     "also fit an image TARGET's values 0 and 255"},
    {L_OUTPUT, "output", 'o', "KERNEL.json", "the kernel file to write (required)"},
    {L_QUIET, "quiet", 'q', NULL, "no report of the fit on stderr"},
    {L_VERBOSE, "verbose", 'v', NULL, "report the system's condition number too"},
    {L_HELP, "help", 'h', NULL, "show this help and exit"},
};
#define N_LOPTS (sizeof LOPTS / sizeof LOPTS[0])

typedef struct learn_opts {
    cnf_learn_options lo;
    int size_seen;
    const char *output;
    const char *paths[2]; /* INPUT, TARGET */
    int n_paths;
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
    for (size_t i = 0; i < N_LOPTS; i++) {
        const lopt *o = &LOPTS[i];
        char left[96];
        if (o->short_name)
            snprintf(left, sizeof left, "  -%c, --%s%s%s", o->short_name, o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
        else
            snprintf(left, sizeof left, "      --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        if (strlen(left) < 30)
            fprintf(f, "%-30s %s\n", left, o->help);
        else
            fprintf(f, "%s\n%-30s %s\n", left, "", o->help);
    }
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

/* A usage error: one line naming the flag, with this command's help hint. */
static int usage(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage(const char *where, const char *fmt, ...)
{
    char m[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    msg_error(where, "%s (try 'cnnfilter learn --help')", m);
    return EXIT_USAGE;
}

/* Strict integer in [lo, hi] from s[0..n). */
static int int_in(const char *s, size_t n, long lo, long hi, int *out)
{
    char buf[32], *end;
    long v;
    if (n == 0 || n >= sizeof buf || s[0] == '+' || s[0] == ' ' || s[0] == '-')
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    errno = 0;
    v = strtol(buf, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* "A" or "A<sep>B" of integers in [lo, hi]. */
static int pair_in(const char *s, char sep, long lo, long hi, int *a, int *b)
{
    const char *p = strchr(s, sep);
    if (!p) {
        if (int_in(s, strlen(s), lo, hi, a))
            return -1;
        *b = *a;
        return 0;
    }
    return int_in(s, (size_t)(p - s), lo, hi, a) || int_in(p + 1, strlen(p + 1), lo, hi, b)
               ? -1
               : 0;
}

static int parse_padding(cnf_layer *L, const char *flag, const char *v)
{
    int w = cnf_vocab_value(CNF_VOCAB_PADDING, v);
    if (w >= 0) {
        L->padding = (cnf_padding_kind)w;
        return 0;
    }
    if (pair_in(v, ',', 0, MAX_PAD, &L->pad_h, &L->pad_w))
        return usage(flag, "'%s' is not valid, same, N or PH,PW (0 to %d)", v, MAX_PAD);
    L->padding = CNF_PAD_EXPLICIT;
    return 0;
}

/* A word of a library vocabulary, from index `from`, except `not_word`. */
static int parse_word(const char *flag, const char *v, cnf_vocab voc, const char *not_word,
                      int *out)
{
    char list[200];
    int w = cnf_vocab_value(voc, v);
    if (w >= 0 && !(not_word && strcmp(v, not_word) == 0)) {
        *out = w;
        return 0;
    }
    if (not_word) /* channels: the words learning takes */
        snprintf(list, sizeof list, "auto, gray, sum");
    else
        cnf_vocab_list(voc, 0, ", ", list, sizeof list);
    return usage(flag, "'%s' is not one of: %s", v, list);
}

/* Apply one option with its value (NULL for a switch). */
static int apply(learn_opts *o, const lopt *op, const char *flag, const char *v)
{
    cnf_layer *L = &o->lo.geometry;
    int w = 0;
    switch (op->id) {
    case L_SIZE:
        if (pair_in(v, 'x', 1, MAX_SIDE, &o->lo.kh, &o->lo.kw))
            return usage(flag, "'%s' is not K or KHxKW with sides from 1 to %d", v, MAX_SIDE);
        o->size_seen = 1;
        return 0;
    case L_BIAS: o->lo.bias = 1; return 0;
    case L_PADDING: return parse_padding(L, flag, v);
    case L_BORDER:
        if (parse_word(flag, v, CNF_VOCAB_BORDER, NULL, &w))
            return EXIT_USAGE;
        L->border = (cnf_border)w;
        return 0;
    case L_STRIDE:
        if (pair_in(v, ',', 1, MAX_STRIDE, &L->stride_y, &L->stride_x))
            return usage(flag, "'%s' is not S or SY,SX from 1 to %d", v, MAX_STRIDE);
        return 0;
    case L_DILATION:
        if (int_in(v, strlen(v), 1, MAX_DILATION, &L->dilation))
            return usage(flag, "'%s' is not an integer from 1 to %d", v, MAX_DILATION);
        return 0;
    case L_CHANNELS:
        if (parse_word(flag, v, CNF_VOCAB_CHANNELS, "rgb", &w))
            return EXIT_USAGE;
        L->channels = (cnf_channels)w;
        return 0;
    case L_KEEP_CLIPPED: o->lo.keep_clipped = 1; return 0;
    case L_OUTPUT: o->output = v; return 0;
    case L_QUIET: o->quiet = 1; return 0;
    case L_VERBOSE: o->verbose = 1; return 0;
    case L_HELP: o->help = 1; return 0;
    }
    return 0;
}

/* 1 when argv word s names option op; *eq gets a value given with it
 * ("--stride=2", "-okernel.json"), or NULL. */
static int names(const lopt *op, const char *s, const char **eq)
{
    size_t n = strlen(op->name);
    if (s[1] == '-') {
        if (strncmp(s + 2, op->name, n) != 0 || (s[2 + n] != 0 && s[2 + n] != '='))
            return 0;
        *eq = s[2 + n] == '=' ? s + 3 + n : NULL;
        return 1;
    }
    if (!op->short_name || s[1] != op->short_name)
        return 0;
    *eq = s[2] ? s + 2 : NULL;
    return 1;
}

/* The option argv[*i] names (advancing *i past a separate value), or a
 * usage error. */
static int one_option(learn_opts *o, int argc, char **argv, int *i)
{
    const char *s = argv[*i], *value = NULL;
    const lopt *op = NULL;
    char flag[64];
    for (size_t k = 0; k < N_LOPTS && !op; k++)
        if (names(&LOPTS[k], s, &value))
            op = &LOPTS[k];
    if (!op)
        return usage(s, "not an option of learn");
    snprintf(flag, sizeof flag, "--%s", op->name);
    if (!op->arg)
        return value ? usage(flag, "takes no value") : apply(o, op, flag, NULL);
    if (!value) {
        if (*i + 1 >= argc)
            return usage(flag, "needs a value (%s)", op->arg);
        value = argv[++*i];
    }
    return apply(o, op, flag, value);
}

/* Parse argv[2..].  Returns 0, or 2 after printing a usage error; o->help
 * set when --help was met (what follows it is ignored). */
static int parse_learn_args(int argc, char **argv, learn_opts *o)
{
    int end_of_options = 0, rc;
    memset(o, 0, sizeof *o);
    cnf_layer_init(&o->lo.geometry);
    /* The default of cnnfilter(1), learn: image tools' border (ImageMagick's
     * edge virtual pixels), which the filter command's zero is not. */
    o->lo.geometry.border = CNF_BORDER_REPLICATE;
    for (int i = 2; i < argc && !o->help; i++) {
        const char *s = argv[i];
        if (!end_of_options && strcmp(s, "--") == 0) {
            end_of_options = 1;
        } else if (end_of_options || s[0] != '-' || s[1] == 0) {
            if (o->n_paths == 2)
                return usage(s, "learn takes two files, INPUT and TARGET");
            o->paths[o->n_paths++] = s;
        } else if ((rc = one_option(o, argc, argv, &i)) != 0) {
            return rc;
        }
    }
    if (o->help)
        return 0;
    if (!o->size_seen)
        return usage("--size", "is required: the kernel's size, e.g. --size 3 or --size 3x5");
    if (o->n_paths != 2)
        return usage(NULL, "learn needs INPUT and TARGET, got %d file%s", o->n_paths,
                     o->n_paths == 1 ? "" : "s");
    if (!o->output || !o->output[0])
        return usage("--output", "is required: the kernel file to write, e.g. -o kernel.json");
    if (strcmp(o->paths[0], "-") == 0 && strcmp(o->paths[1], "-") == 0)
        return usage("-", "standard input can be only one of INPUT and TARGET");
    for (int k = 0; k < 2; k++)
        if (same_file(o->output, o->paths[k]))
            return usage(o->output, "the kernel file would overwrite %s", k ? "TARGET" : "INPUT");
    return 0;
}

/* An input that no format can start with fails from its first bytes. */
static cnf_status sniff_start(const unsigned char *start, size_t len, const char *path, void *ctx,
                              cnf_error *err)
{
    const cnf_input_kind *kind = ctx;
    return cnf_sniff(start, len, *kind, path, err);
}

/* Read and decode one file; *is_image: an image format rather than a
 * matrix (its values are 0..255 and may have been clipped there).  Prints
 * the error and returns the exit code on failure. */
static int load(const char *path, cnf_image *img, int *is_image)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    cnf_error err;
    cnf_input_kind kind = strcmp(path, "-") == 0 ? CNF_IN_AUTO : cnf_input_kind_for_path(path);
    memset(&err, 0, sizeof err);
    if (read_input(path, (uint64_t)1 << 31, sniff_start, &kind, &buf, &len, &err) != CNF_OK ||
        cnf_decode(buf, len, kind, path, CNF_DEFAULT_MAX_PIXELS, img, &err) != CNF_OK) {
        free(buf);
        return msg_cnf(&err, path);
    }
    *is_image = kind == CNF_IN_IMAGE;
    if (kind == CNF_IN_AUTO) {
        /* The library sniffs an unnamed kind; an image is what its header
         * reader accepts as one (a matrix never passes it). */
        int w, h, c, a;
        cnf_error e2;
        *is_image = cnf_probe(buf, len, CNF_IN_IMAGE, path, CNF_DEFAULT_MAX_PIXELS, &w, &h, &c,
                              &a, &e2) == CNF_OK;
    }
    free(buf);
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
            return usage(flag, "%s", err.msg);
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
    int rc = parse_learn_args(argc, argv, &o), dummy;
    if (rc)
        return rc;
    if (o.help) {
        print_learn_help(stdout);
        return EXIT_OK;
    }
    memset(&in, 0, sizeof in);
    memset(&target, 0, sizeof target);
    msg_set_quiet(o.quiet);
    rc = load(o.paths[0], &in, &dummy);
    if (rc == EXIT_OK)
        rc = load(o.paths[1], &target, &o.lo.target_8bit);
    if (rc == EXIT_OK)
        rc = learn_and_write(&o, &in, &target);
    cnf_image_free(&in);
    cnf_image_free(&target);
    return rc;
}
