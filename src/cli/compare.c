/* compare.c - `cnnfilter compare`: two files or two folders, pair by pair: the metrics, whether each pair passes, difference images. */
#define _POSIX_C_SOURCE 200809L
#include "args.h"
#include "commands.h"
#include "compare.h"
#include "formats.h"
#include "input.h"
#include "msg.h"
#include "paths.h"
#include "walk.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
    C_TOLERANCE, C_MAX_SHARE, C_MIN_PSNR, C_DIFF, C_DIFF_FORMAT, C_JSON, C_TSV, C_QUIET,
    C_SILENT, C_MAX_PIXELS, C_MAX_MEMORY, C_HELP
};

/* One table feeds the parser, --help and completion. */
static const arg_opt COPTS[] = {
    {C_TOLERANCE, "tolerance", 0, "N", 0, "changed: differs by more than N (0; N >= 0)"},
    {C_MAX_SHARE, "max-share", 0, "P[%]", 0, "pass with at most P% of pixels changed (0)"},
    {C_MIN_PSNR, "min-psnr", 0, "DB", 0, "pass only with a PSNR of at least DB dB too"},
    {C_DIFF, "diff", 0, "FILE|DIR", 0, "difference image: FILE, or one per pair in DIR"},
    {C_DIFF_FORMAT, "diff-format", 0, "FMT", 0, "the format of the images in DIR (png)"},
    {C_JSON, "json", 0, NULL, 0, "one JSON document instead of the lines"},
    {C_TSV, "tsv", 0, NULL, 0, "a tab-separated table instead of the lines"},
    {C_QUIET, "quiet", 'q', NULL, 0, "only the pairs that do not pass; no warnings"},
    {C_SILENT, "silent", 's', NULL, 0, "nothing on stdout: only the exit status tells"},
    {C_MAX_PIXELS, "max-pixels", 0, "N", 0, "refuse larger images before decoding (178956970)"},
    {C_MAX_MEMORY, "max-memory", 0, "BYTES", 0,
     "refuse a pair needing more memory; K, M, G suffixes (2G)"},
    {C_HELP, "help", 'h', NULL, 0, "show this help and exit"},
};
#define N_COPTS (sizeof COPTS / sizeof COPTS[0])

/* A --max-share with more decimals than this is refused: millionths of a
 * percent keep the test `changed / total <= P / 100` exact in integers. */
#define SHARE_DECIMALS 6
#define SHARE_SCALE 1000000ULL

/* One decoded input.  is_image: an image format (8-bit values, alpha plane
 * possible), as opposed to a numeric matrix. */
typedef struct input {
    cnf_image img;
    int is_image;
} input;

static void print_compare_help(FILE *f)
{
    char mat[120], out8[120], outx[120], ins[300];
    format_list(mat, sizeof mat, FORMATS_READ_MATRICES, 'e', ", ", NULL);
    format_list(out8, sizeof out8, FORMATS_WRITTEN_8BIT, 'e', " ", NULL);
    format_list(outx, sizeof outx, FORMATS_WRITTEN_EXACT, 'e', " ", NULL);
    {
        char img[200], mats[120];
        snprintf(ins, sizeof ins, "%s %s",
                 format_list(img, sizeof img, FORMATS_READ_IMAGES, 'a', " ", NULL),
                 format_list(mats, sizeof mats, FORMATS_READ_MATRICES, 'a', " ", NULL));
    }
    fprintf(f,
            "Usage: cnnfilter compare [OPTIONS] A B\n"
            "\n"
            "Compares two images or numeric matrices (%s) by their\n"
            "decoded values, or two folders file by file.  One line per pair on stdout:\n"
            "  A B: max difference D, K of N pixels differ (P%%), PSNR X dB\n"
            "D is the largest absolute difference of any value (images: 0..255 per channel,\n"
            "alpha included).  A pixel differs when any of its channels does.  PSNR is\n"
            "10*log10(255^2/MSE) over every value, 'inf' when identical.  Matrices say\n"
            "'values' instead of 'pixels' and print no PSNR.  With a tolerance over 0 the\n"
            "line also says ', C over tolerance (Q%%)'.  Different sizes or channel counts\n"
            "print 'A B: different shapes: C x H x W vs C x H x W'.\n"
            "\n"
            "Which pairs pass: a pixel (a value, for matrices) is changed when any of its\n"
            "channels differs by more than --tolerance N (N >= 0, may be fractional); a\n"
            "pair passes when at most --max-share P percent of its pixels are changed (P\n"
            "from 0 to 100, up to 6 decimals, '0.5' or '0.5%%') and, with --min-psnr DB\n"
            "(images only), its PSNR is at least DB.  With neither, a pair passes when\n"
            "D <= N.  Different shapes never pass.\n"
            "\n"
            "Options (before or after A B):\n",
            mat);
    for (size_t i = 0; i < N_COPTS; i++)
        args_help_line(f, &COPTS[i], COPTS[i].help);
    fprintf(f,
            "\n"
            "Difference images: as %s, RGB: each changed pixel red\n"
            "(255,0,0), every other pixel gray at 192 + floor(G/4), G the gray level of A:\n"
            "for three colour channels round(0.299 R + 0.587 G + 0.114 B), else their mean\n"
            "(alpha left out; matrix values clamped to 0..255).  As %s: |A-B|\n"
            "of every channel, exact.  Two files: FILE is written whether or not they pass,\n"
            "in the format of its extension (--diff-format when it has none).  Two folders:\n"
            "one image per pair that does not pass, at DIR/PATH (PATH the pair's path in A\n"
            "and B, with '.png' or the --diff-format extension added unless it ends so),\n"
            "folders made as needed.  DIR may not be A or B, lie inside them or contain\n"
            "them; an existing DIR is used as it is (files of the same name replaced, others\n"
            "left); it is made only when an image is written.  Different shapes: no\n"
            "image, a warning.\n"
            "\n"
            "Folders: when A and B are both folders, files are paired by their path relative\n"
            "to A and B, subfolders included, in sorted order.  Only regular files with an\n"
            "input extension are paired (any case; names starting with '.' are skipped):\n"
            "  %s\n"
            "A file on one side only prints 'only in A: PATH' and counts as different.  The\n"
            "last line is 'compared N, identical-within-tolerance K, different D, missing M'\n"
            "(K the pairs that pass; plus ', errors E' when files could not be read; the\n"
            "others are still compared).\n"
            "\n"
            "--json prints {\"a\", \"b\", \"tolerance\", \"max_share\", \"min_psnr\", \"pairs\": [...],\n"
            "\"compared\", \"same\", \"different\", \"missing\", \"errors\", \"status\"}; each pair has\n"
            "status (same, different, missing, error), a, b (the two paths), only_in (\"a\" or\n"
            "\"b\": the side a missing file is on), unit (pixels or values), max_difference,\n"
            "changed, total, changed_percent, psnr (null when infinite and for matrices),\n"
            "size_mismatch, shape_a, shape_b ([C, H, W]), diff (the image written) and error,\n"
            "null where they do not apply.  Name bytes that are not UTF-8 are written \\udcXX\n"
            "(Python: os.fsencode of the string gives the bytes back).\n"
            "--tsv prints a header line and a line per pair with the same fields, separated\n"
            "by tabs, empty where they do not apply, psnr 'inf' when identical; in every\n"
            "field a backslash is written \\\\, a tab \\t, a newline \\n and a carriage return\n"
            "\\r (spaces stay as they are).  With -q, both list only the pairs that do not\n"
            "pass.\n"
            "\n"
            "Exit status: 0 every pair passes, 1 a difference (values, shapes or a missing\n"
            "file), 2 an error (bad option, unreadable or corrupt file, a write failure).\n",
            out8, outx, ins);
}

int compare_option_words(FILE *f, const char *what)
{
    if (what && strcmp(what, "--diff-format") == 0) {
        print_format_words(f);
        return 0;
    }
    return args_complete(f, COPTS, N_COPTS, what);
}

/* Strict non-negative finite number (a fractional tolerance is useful for matrices). */
static int parse_nonneg(const char *flag, const char *s, double *out)
{
    char *end;
    double v;
    errno = 0;
    if (*s && *s != ' ' && *s != '\t') {
        v = strtod(s, &end);
        if (!*end && !errno && isfinite(v) && v >= 0) {
            *out = v;
            return 0;
        }
    }
    msg_usage(flag, "'%.200s' is not a number >= 0", s);
    return EXIT_USAGE;
}

/* "P" or "P%": 0 to 100 with up to SHARE_DECIMALS decimals, into millionths. */
static int parse_share(const char *flag, const char *s, uint64_t *out)
{
    const char *p = s;
    uint64_t v = 0;
    int digits = 0, decimals = -1;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (decimals >= 0 && ++decimals > SHARE_DECIMALS)
                goto bad;
            if (v > 100 * SHARE_SCALE)
                goto bad; /* over 100 long before overflowing */
            v = v * 10 + (uint64_t)(*p - '0');
            digits++;
        } else if (*p == '.' && decimals < 0) {
            decimals = 0;
        } else {
            break;
        }
    }
    if (!digits || (*p && strcmp(p, "%") != 0))
        goto bad;
    for (int d = decimals < 0 ? 0 : decimals; d < SHARE_DECIMALS; d++)
        v *= 10;
    if (v > 100 * SHARE_SCALE)
        goto bad;
    *out = v;
    return 0;
bad:
    msg_usage(flag, "'%.200s' is not a percentage from 0 to 100 with at most %d decimals "
                    "(e.g. 0.5 or 0.5%%)",
              s, SHARE_DECIMALS);
    return EXIT_USAGE;
}

typedef struct parse_ctx {
    cmp_opts *o;
    int help;
} parse_ctx;

static int apply(void *ctx, const arg_opt *op, const char *flag, const char *v)
{
    parse_ctx *pc = ctx;
    cmp_opts *o = pc->o;
    switch (op->id) {
    case C_TOLERANCE: return parse_nonneg(flag, v, &o->tolerance);
    case C_MAX_SHARE:
        o->max_share = v;
        return parse_share(flag, v, &o->max_share_micro);
    case C_MIN_PSNR:
        o->has_min_psnr = 1;
        return parse_nonneg(flag, v, &o->min_psnr);
    case C_DIFF: o->diff = v; return 0;
    case C_DIFF_FORMAT:
        o->diff_format = v;
        if (cnf_output_format_from_name(v) == CNF_OUT_NONE) {
            char list[160];
            msg_usage(flag, "'%.200s' is not a format (use %s)", v,
                      format_list(list, sizeof list, FORMATS_WRITTEN, 'w', ", ", " or "));
            return EXIT_USAGE;
        }
        return 0;
    case C_JSON:
    case C_TSV:
        if (o->output != CMP_TEXT && o->output != (op->id == C_JSON ? CMP_JSON : CMP_TSV)) {
            msg_usage(flag, "--json and --tsv are two forms of one report: choose one");
            return EXIT_USAGE;
        }
        o->output = op->id == C_JSON ? CMP_JSON : CMP_TSV;
        return 0;
    case C_QUIET: o->quiet = 1; return 0;
    case C_SILENT: o->silent = 1; return 0;
    case C_MAX_PIXELS: return arg_bytes(flag, v, &o->max_pixels);
    case C_MAX_MEMORY: return arg_bytes(flag, v, &o->max_memory);
    case C_HELP: pc->help = 1; return ARGS_STOP;
    default: return 0;
    }
}

/* Parse argv[2..].  Returns 0, -1 after --help, or 2. */
static int parse_compare_args(int argc, char **argv, cmp_opts *o)
{
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    parse_ctx pc = {o, 0};
    int n_pos = 0, rc;
    memset(o, 0, sizeof *o);
    o->max_pixels = CNF_DEFAULT_MAX_PIXELS;
    o->max_memory = CNF_DEFAULT_MAX_MEMORY;
    if (!pos) {
        msg_error(NULL, "out of memory");
        return EXIT_USAGE;
    }
    rc = args_parse(argc, argv, 2, COPTS, N_COPTS, apply, &pc, pos, &n_pos);
    if (rc == 0 && pc.help) {
        print_compare_help(stdout);
        rc = -1;
    } else if (rc == 0 && n_pos > 2) {
        msg_usage(pos[2], "compare takes exactly two paths, A and B");
        rc = EXIT_USAGE;
    } else if (rc == 0 && n_pos < 2) {
        msg_usage(NULL, "expected two paths A and B, got %d", n_pos);
        rc = EXIT_USAGE;
    } else if (rc == 0) {
        o->a = pos[0];
        o->b = pos[1];
        if (strcmp(o->a, "-") == 0 && strcmp(o->b, "-") == 0) {
            msg_usage("-", "standard input can be only one of A and B");
            rc = EXIT_USAGE;
        } else if (o->silent && o->output != CMP_TEXT) {
            msg_usage("--silent", "prints nothing: it cannot go with --%s",
                      o->output == CMP_JSON ? "json" : "tsv");
            rc = EXIT_USAGE;
        } else if (o->diff_format && !o->diff) {
            msg_usage("--diff-format", "is the format of --diff's images: give --diff too");
            rc = EXIT_USAGE;
        } else if (o->diff && (!o->diff[0] || strcmp(o->diff, "-") == 0)) {
            msg_usage("--diff", "needs a file or folder name (standard output carries the "
                                "report)");
            rc = EXIT_USAGE;
        }
    }
    free(pos);
    return rc;
}

/* --diff FILE for two files: its format from its extension, or from
 * --diff-format when it has none; never an input. */
static int check_diff_file(cmp_opts *o)
{
    cnf_output_format by_ext = cnf_output_format_for_path(o->diff);
    cnf_output_format by_flag =
        o->diff_format ? cnf_output_format_from_name(o->diff_format) : CNF_OUT_NONE;
    if (by_ext != CNF_OUT_NONE && by_flag != CNF_OUT_NONE && by_ext != by_flag) {
        msg_usage("--diff-format", "'%s' says %s but '%.200s' has the extension .%s: give one",
                  o->diff_format, diff_ext(by_flag), o->diff, diff_ext(by_ext));
        return EXIT_USAGE;
    }
    o->diff_fmt = by_ext != CNF_OUT_NONE ? by_ext : by_flag;
    if (o->diff_fmt == CNF_OUT_NONE) {
        char list[160];
        msg_usage("--diff", "'%.200s' has an unknown extension (use %s, or --diff-format)",
                  o->diff, format_list(list, sizeof list, FORMATS_WRITTEN, 'e', ", ", " or "));
        return EXIT_USAGE;
    }
    if (same_file(o->diff, o->a) || same_file(o->diff, o->b)) {
        msg_usage(o->diff, "the difference image would overwrite an input");
        return EXIT_USAGE;
    }
    return 0;
}

/* --diff DIR for two folders: a folder (or nothing yet), apart from A and B. */
static int check_diff_dir(cmp_opts *o)
{
    struct stat st;
    int exists = stat(o->diff, &st) == 0;
    int in_a, in_b;
    o->diff_fmt = o->diff_format ? cnf_output_format_from_name(o->diff_format) : CNF_OUT_PNG;
    if (exists && !S_ISDIR(st.st_mode)) {
        msg_usage("--diff", "'%.200s' is not a folder: with two folders --diff names the "
                            "folder of the difference images",
                  o->diff);
        return EXIT_USAGE;
    }
    if (!exists && cnf_output_format_for_path(o->diff) != CNF_OUT_NONE) {
        msg_usage("--diff", "'%.200s' looks like an image file, but with two folders --diff "
                            "names the folder of the difference images (one per pair)",
                  o->diff);
        return EXIT_USAGE;
    }
    in_a = path_inside(o->diff, o->a);
    in_b = path_inside(o->diff, o->b);
    if (in_a < 0 || in_b < 0) {
        msg_usage("--diff", "cannot tell where '%.200s' lies (a '..' after a folder that does "
                            "not exist yet?); name a folder outside A and B",
                  o->diff);
        return EXIT_USAGE;
    }
    if (in_a || in_b || (exists && (path_inside(o->a, o->diff) || path_inside(o->b, o->diff)))) {
        msg_usage("--diff", "'%.200s' %s %s: the difference images would mix with the files "
                            "compared; name a folder outside both (e.g. diffs beside them)",
                  o->diff, in_a || in_b ? "is or lies inside" : "contains",
                  in_a ? o->a : in_b ? o->b : path_inside(o->a, o->diff) ? o->a : o->b);
        return EXIT_USAGE;
    }
    return 0;
}

/* The first error of a pair, "WHERE: text", for the report (cut short when
 * very long). */
static void set_error(pair_result *r, const char *where, const char *text)
{
    if (!r->error[0] && snprintf(r->error, sizeof r->error, "%s: %s", where, text) < 0)
        r->error[0] = 0;
}

/* Read and decode one input within `budget` bytes (the file and its decoded
 * planes); prints its error, copies it into r->error and returns -1 on
 * failure. */
static int load(const cmp_opts *o, const char *path, uint64_t budget, input *in,
                pair_result *r)
{
    cnf_error err;
    memset(in, 0, sizeof *in);
    memset(&err, 0, sizeof err);
    if (load_decoded_within(path, o->max_pixels, budget, 0, &in->img, &in->is_image, &err) !=
        CNF_OK) {
        msg_cnf(&err, path);
        set_error(r, err.where[0] ? err.where : path, err.msg);
        return -1;
    }
    return 0;
}

/* A pair's error: on stderr now, and in r for the report. */
static void pair_error(pair_result *r, const char *where, const char *text)
{
    msg_error(where, "%s", text);
    set_error(r, where, text);
    r->status = PAIR_ERROR;
}

/* The metrics of two whole images of one shape. */
static void measure(const cnf_image *a, const cnf_image *b, double tolerance, pair_result *r)
{
    size_t plane = (size_t)a->width * (size_t)a->height;
    const float *pa[CNF_MAX_CHANNELS], *pb[CNF_MAX_CHANNELS];
    double sse = 0;
    for (int c = 0; c < a->channels; c++) {
        pa[c] = cnf_image_plane(a, c);
        pb[c] = cnf_image_plane(b, c);
    }
    measure_span(pa, pb, a->channels, plane, tolerance, r, &sse);
    measure_end(r, (uint64_t)plane, a->channels, sse);
}

/* changed / total <= P / 100, exactly: changed * 100 * 10^6 <= P * 10^6 * total
 * in integers; both sides stay below 2^63 while total <= 2^36, far more
 * pixels or values than an input can have (long double beyond, in case). */
static int share_passes(const cmp_opts *o, const pair_result *r)
{
    if (r->total > ((uint64_t)1 << 36))
        return (long double)r->changed * 100.0L * SHARE_SCALE <=
               (long double)o->max_share_micro * (long double)r->total;
    return r->changed * 100 * SHARE_SCALE <= o->max_share_micro * r->total;
}

/* The file ids of every input of a folder comparison, sorted: a difference
 * image may never replace one (a link in DIR could point at it). */
typedef struct id_set {
    file_id *v;
    size_t n;
} id_set;

static int by_id(const void *x, const void *y)
{
    const file_id *a = x, *b = y;
    if (a->dev != b->dev)
        return a->dev < b->dev ? -1 : 1;
    return a->ino < b->ino ? -1 : a->ino > b->ino;
}

static int is_input(const id_set *ids, const char *path)
{
    file_id id;
    return ids && file_id_of(path, &id) && bsearch(&id, ids->v, ids->n, sizeof id, by_id);
}

typedef struct name_list {
    char **v;
    size_t n, cap;
} name_list;

static int by_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* What a folder comparison's difference images must not do: replace an
 * input, or be the image of two pairs at once ("a.jpg" and "a.jpg.png"
 * both become DIR/a.jpg.png; `shared` lists such names, sorted). */
typedef struct diff_guard {
    id_set ids;
    name_list shared;
} diff_guard;

static int is_shared(const diff_guard *g, const char *path)
{
    return g && g->shared.n &&
           bsearch(&path, g->shared.v, g->shared.n, sizeof path, by_name) != NULL;
}

/* Compare one pair into r (the paths are r->a and r->b); write its
 * difference image to diff_path when asked: always for two files
 * (`always`), for folders only when the pair does not pass. */
static void compare_pair(const cmp_opts *o, const char *diff_path, int always,
                         const diff_guard *guard, pair_result *r)
{
    input a, b;
    int ra, rb = -1;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (!diff_path) {
        /* No difference image: both read row by row, neither held whole. */
        if (compare_rows(o, r) != 0) {
            r->status = PAIR_ERROR;
            return;
        }
        if (r->size_mismatch) {
            r->status = PAIR_DIFFERENT;
            return;
        }
        goto judge;
    }
    /* For a difference image both are held whole; B gets what A leaves of
     * --max-memory, less the difference image's planes and encoding (A's
     * size). */
    ra = load(o, r->a, o->max_memory, &a, r);
    if (ra == 0) {
        uint64_t held = (uint64_t)a.img.width * (uint64_t)a.img.height *
                        (uint64_t)a.img.channels * sizeof(float);
        uint64_t diff = diff_path ? (uint64_t)a.img.width * (uint64_t)a.img.height * 4 * 4 : 0;
        rb = held + diff < o->max_memory
                 ? load(o, r->b, o->max_memory - held - diff, &b, r)
                 : (pair_error(r, r->a, "the two images and a difference image do not fit in "
                                        "--max-memory"),
                    memset(&b, 0, sizeof b), -1);
    } else {
        memset(&b, 0, sizeof b);
    }
    if (ra || rb) {
        r->status = PAIR_ERROR;
        goto out;
    }
    r->decoded = 1;
    r->shape_a[0] = a.img.channels, r->shape_a[1] = a.img.height, r->shape_a[2] = a.img.width;
    r->shape_b[0] = b.img.channels, r->shape_b[1] = b.img.height, r->shape_b[2] = b.img.width;
    if (a.img.width != b.img.width || a.img.height != b.img.height ||
        a.img.channels != b.img.channels) {
        r->size_mismatch = 1;
        r->status = PAIR_DIFFERENT;
        if (diff_path)
            msg_warn(diff_path, "not written: the shapes differ");
        goto out;
    }
    r->per_pixel = a.is_image && b.is_image;
    measure(&a.img, &b.img, o->tolerance, r);
judge:
    if (o->has_min_psnr && !r->per_pixel) {
        pair_error(r, r->a, "--min-psnr is for images: matrices have no PSNR (their values "
                            "have no 0..255 range)");
        goto out;
    }
    r->status = share_passes(o, r) && (!o->has_min_psnr || r->psnr >= o->min_psnr)
                    ? PAIR_SAME
                    : PAIR_DIFFERENT;
    if (diff_path && (always || r->status == PAIR_DIFFERENT)) {
        cnf_error err;
        memset(&err, 0, sizeof err);
        if (is_input(guard ? &guard->ids : NULL, diff_path)) {
            pair_error(r, diff_path, "is an input of this comparison: the difference image is "
                                     "not written over it");
        } else if (is_shared(guard, diff_path)) {
            pair_error(r, diff_path, "would be the difference image of two pairs (one name is "
                                     "the other's plus its extension); not written");
        } else if (!always && make_parent_folders(diff_path) != 0) {
            char m[300];
            snprintf(m, sizeof m, "cannot create its folder: %s", strerror(errno));
            pair_error(r, diff_path, m);
        } else if (diff_write(diff_path, o->diff_fmt, o->tolerance, &a.img, &b.img, &err) != 0) {
            msg_cnf(&err, diff_path);
            set_error(r, err.where[0] ? err.where : diff_path, err.msg);
            r->status = PAIR_ERROR;
        } else {
            r->diff = diff_path;
        }
    }
out:
    cnf_image_free(&a.img);
    cnf_image_free(&b.img);
}

static void count(cmp_counts *c, const pair_result *r)
{
    if (r->status == PAIR_MISSING) {
        c->missing++;
        return;
    }
    c->compared++;
    if (r->status == PAIR_SAME)
        c->same++;
    else if (r->status == PAIR_DIFFERENT)
        c->different++;
    else
        c->errors++;
}

static int exit_status(const cmp_counts *c, int walk_failed)
{
    if (c->errors || walk_failed)
        return EXIT_USAGE; /* 2: an error */
    return c->different || c->missing ? 1 : 0;
}

/* ----------------------------------------------------------------- folders */

static void free_names(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int push_name(name_list *l, const char *s)
{
    char *copy;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = cap;
    }
    copy = strdup(s);
    if (!copy)
        return -1;
    l->v[l->n++] = copy;
    return 0;
}

/* Collect the input files under root, as paths relative to root. */
static int collect(void *arg, const char *full, const char *rel)
{
    (void)full;
    return push_name(arg, rel);
}

static int walk_root(name_list *l, const char *root)
{
    return walk_files(root, 1, collect, l, NULL);
}

/* The file ids of the inputs listed in la (under A) and lb (under B). */
static int gather_ids(const cmp_opts *o, const name_list *la, const name_list *lb, id_set *ids)
{
    ids->n = 0;
    ids->v = malloc((la->n + lb->n + 1) * sizeof *ids->v);
    if (!ids->v)
        return -1;
    for (int side = 0; side < 2; side++) {
        const name_list *l = side ? lb : la;
        for (size_t i = 0; i < l->n; i++) {
            char p[4096];
            if (join_path(p, sizeof p, side ? o->b : o->a, l->v[i]) == 0 &&
                file_id_of(p, &ids->v[ids->n]))
                ids->n++;
        }
    }
    qsort(ids->v, ids->n, sizeof *ids->v, by_id);
    return 0;
}

/* The difference image names two pairs would share, into g->shared. */
static int gather_shared(const cmp_opts *o, const name_list *la, const name_list *lb,
                         diff_guard *g)
{
    name_list all = {0};
    size_t i = 0, j = 0;
    int rc = 0;
    while (rc == 0 && i < la->n && j < lb->n) {
        int cmp = strcmp(la->v[i], lb->v[j]);
        if (cmp == 0) {
            char *n = diff_name(o->diff, la->v[i], o->diff_fmt);
            rc = n ? push_name(&all, n) : -1;
            free(n);
        }
        i += cmp <= 0;
        j += cmp >= 0;
    }
    if (all.n)
        qsort(all.v, all.n, sizeof *all.v, by_name);
    for (size_t k = 1; rc == 0 && k < all.n; k++)
        if (strcmp(all.v[k], all.v[k - 1]) == 0 &&
            (g->shared.n == 0 || strcmp(g->shared.v[g->shared.n - 1], all.v[k]) != 0))
            rc = push_name(&g->shared, all.v[k]);
    free_names(&all);
    return rc;
}

static int compare_folders(const cmp_opts *o)
{
    name_list la = {0}, lb = {0};
    diff_guard guard = {{0}, {0}};
    size_t i = 0, j = 0;
    cmp_counts c = {0};
    int walk_failed, status;
    walk_failed = walk_root(&la, o->a);
    walk_failed |= walk_root(&lb, o->b);
    qsort(la.v, la.n, sizeof *la.v, by_name);
    qsort(lb.v, lb.n, sizeof *lb.v, by_name);
    if (o->diff && (gather_ids(o, &la, &lb, &guard.ids) != 0 ||
                    gather_shared(o, &la, &lb, &guard) != 0)) {
        free(guard.ids.v);
        free_names(&guard.shared);
        msg_error(NULL, "out of memory");
        free_names(&la);
        free_names(&lb);
        return EXIT_USAGE;
    }
    report_begin(o);
    while (i < la.n || j < lb.n) {
        int cmp = i == la.n ? 1 : j == lb.n ? -1 : strcmp(la.v[i], lb.v[j]);
        const char *rel = cmp <= 0 ? la.v[i] : lb.v[j];
        char pa[4096], pb[4096];
        char *diff_path = NULL;
        pair_result r;
        memset(&r, 0, sizeof r);
        r.a = pa;
        r.b = pb;
        r.rel = rel;
        if (join_path(pa, sizeof pa, o->a, rel) != 0 || join_path(pb, sizeof pb, o->b, rel) != 0) {
            pa[0] = pb[0] = 0;
            pair_error(&r, rel, "path too long");
        } else if (cmp != 0) {
            r.status = PAIR_MISSING;
            r.only_in = cmp < 0 ? 'a' : 'b';
        } else if (o->diff && !(diff_path = diff_name(o->diff, rel, o->diff_fmt))) {
            pair_error(&r, rel, "out of memory");
        } else {
            compare_pair(o, diff_path, 0, &guard, &r);
        }
        count(&c, &r);
        report_pair(o, &r);
        free(diff_path);
        i += cmp <= 0;
        j += cmp >= 0;
    }
    status = exit_status(&c, walk_failed);
    report_end(o, &c, 1, status);
    free(guard.ids.v);
    free_names(&guard.shared);
    free_names(&la);
    free_names(&lb);
    return status;
}

/* ------------------------------------------------------------------ entry */

/* 1 folder, 0 anything else, -1 error (reported). "-" is standard input. */
static int is_folder(const char *p)
{
    struct stat st;
    if (strcmp(p, "-") == 0)
        return 0;
    if (stat(p, &st) != 0) {
        msg_error(p, "%s", strerror(errno));
        return -1;
    }
    return S_ISDIR(st.st_mode) ? 1 : 0;
}

/* The report could not be written (a full disk): an error, exit 2, not the
 * verdict (main says why). */
static int report_written(int rc)
{
    return fflush(stdout) != 0 || ferror(stdout) ? EXIT_USAGE : rc;
}

int cmd_compare(int argc, char **argv)
{
    cmp_opts o;
    int rc, da, db;
    msg_set_command("compare");
    rc = parse_compare_args(argc, argv, &o);
    if (rc == -1)
        return 0;
    if (rc)
        return rc;
    msg_set_quiet(o.quiet || o.silent);
    da = is_folder(o.a);
    db = is_folder(o.b);
    if (da < 0 || db < 0)
        return EXIT_USAGE;
    if (da != db) {
        msg_usage(o.a, "is a %s but '%.600s' is a %s; compare two files or two folders",
                  da ? "folder" : "file", o.b, db ? "folder" : "file");
        return EXIT_USAGE;
    }
    if (o.diff && (da ? check_diff_dir(&o) : check_diff_file(&o)))
        return EXIT_USAGE;
    if (da)
        return report_written(compare_folders(&o));
    {
        pair_result r;
        cmp_counts c = {0};
        memset(&r, 0, sizeof r);
        r.a = o.a;
        r.b = o.b;
        report_begin(&o);
        compare_pair(&o, o.diff, 1, NULL, &r);
        count(&c, &r);
        report_pair(&o, &r);
        rc = exit_status(&c, 0);
        report_end(&o, &c, 0, rc);
        return report_written(rc);
    }
}
