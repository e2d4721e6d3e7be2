/* compare.c - `cnnfilter compare`: max difference, PSNR and a difference image for two files or two folders. */
#define _POSIX_C_SOURCE 200809L
#include "commands.h"
#include "formats.h"
#include "input.h"
#include "msg.h"
#include "outfile.h"
#include "paths.h"
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Folders nested deeper than this are not descended into: a symlink loop
 * (stat follows links) or absurd nesting cannot recurse forever.  Batch mode
 * uses the same bound. */

/* Result of one pair, also the exit code of a single compare. */
enum { PAIR_SAME = 0, PAIR_DIFFERENT = 1, PAIR_ERROR = 2 };

typedef struct cmp_opts {
    double tolerance;
    const char *diff;          /* --diff FILE, or NULL */
    cnf_output_format diff_fmt;
    int quiet;
    const char *a, *b;
} cmp_opts;

/* One decoded input.  is_image: an stb format (8-bit values, alpha plane
 * possible), as opposed to a numeric matrix. */
typedef struct input {
    cnf_image img;
    int is_image;
} input;

typedef struct metrics {
    double max_diff;  /* over every value, alpha included */
    double sse;       /* sum of squared differences, for PSNR */
    uint64_t n_diff;  /* pixels (images) or values (matrices) that differ at all */
    uint64_t total;   /* pixels or values */
    uint64_t n_values;
} metrics;

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
            "Usage: cnnfilter compare [--tolerance N] [--diff FILE] [-q] A B\n"
            "\n"
            "Compares two images or numeric matrices (%s) by their\n"
            "decoded values, or two folders file by file.  One line per pair on stdout:\n"
            "  A B: max difference D, K of N pixels differ (P%%), PSNR X dB\n"
            "D is the largest absolute difference of any value (images: 0..255 per channel,\n"
            "alpha included).  A pixel differs when any of its channels does.  PSNR is\n"
            "10*log10(255^2/MSE) over every value, 'inf' when identical.  Matrices say\n"
            "'values' instead of 'pixels' and print no PSNR.  Different sizes or channel\n"
            "counts print 'A B: different shapes: C x H x W vs C x H x W'.\n"
            "\n"
            "Options (before or after A B):\n"
            "      --tolerance N      A and B match when D <= N; N >= 0, may be fractional (0)\n"
            "      --diff FILE        write |A-B| (two files only; not when the shapes differ):\n"
            "                         %s: amplified by 255/D so the largest\n"
            "                         difference is white and equal values black; alpha is\n"
            "                         dropped; gray for 1 channel, RGB for 3, the per-pixel\n"
            "                         maximum over channels as gray otherwise.\n"
            "                         %s: the exact differences of every channel.\n"
            "  -q, --quiet            print nothing on stdout; only the exit status (errors\n"
            "                         still go to stderr)\n"
            "  -h, --help             show this help and exit\n"
            "\n"
            "Folders: when A and B are both folders, files are paired by their path relative\n"
            "to A and B, subfolders included, in sorted order.  Only regular files with an\n"
            "input extension are paired (any case; names starting with '.' are skipped):\n"
            "  %s\n"
            "A file on one side only prints 'only in A: PATH' and counts as different.  The\n"
            "last line is 'compared N, identical-within-tolerance K, different D, missing M'\n"
            "(plus ', errors E' when files could not be read; the others are still compared).\n"
            "\n"
            "Exit status: 0 every pair within tolerance, 1 a difference (values, shapes or a\n"
            "missing file), 2 an error (bad option, unreadable or corrupt file).\n",
            mat, out8, outx, ins);
}

int compare_option_words(FILE *f, const char *what)
{
    static const char *const VALUED[] = {"--tolerance", "--diff", NULL};
    static const char *const SWITCHES[] = {"-q", "--quiet", "-h", "--help", NULL};
    int with_values = what && strcmp(what, "options-with-values") == 0;
    for (int i = 0; VALUED[i]; i++)
        if (!what || with_values)
            fprintf(f, "%s\n", VALUED[i]);
        else if (strcmp(what, VALUED[i]) == 0)
            return 0; /* a number or a file */
    for (int i = 0; SWITCHES[i] && !what; i++)
        fprintf(f, "%s\n", SWITCHES[i]);
    return what && !with_values ? 1 : 0;
}

/* A usage error of this subcommand: one line, with the hint. */
static int usage(const char *where, const char *text)
{
    msg_error(where, "%s (try 'cnnfilter compare --help')", text);
    return PAIR_ERROR;
}

/* Strict non-negative finite number (a fractional tolerance is useful for matrices). */
static int parse_tolerance(const char *s, double *out)
{
    char *end;
    double v;
    char m[300];
    errno = 0;
    if (*s && *s != ' ' && *s != '\t') {
        v = strtod(s, &end);
        if (!*end && !errno && isfinite(v) && v >= 0) {
            *out = v;
            return 0;
        }
    }
    snprintf(m, sizeof m, "'%.200s' is not a number >= 0", s);
    return usage("--tolerance", m);
}

/* Parse argv[2..]: options may come before or after A B; "--" ends them.
 * Returns 0, -1 after --help, or 2. */
static int parse_compare_args(int argc, char **argv, cmp_opts *o)
{
    int n_pos = 0, end_of_options = 0;
    memset(o, 0, sizeof *o);
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        const char *value = NULL;
        int is_tol = 0, is_diff = 0;
        if (end_of_options || s[0] != '-' || s[1] == 0) {
            if (n_pos == 2)
                return usage(s, "compare takes exactly two paths, A and B");
            if (n_pos == 0)
                o->a = s;
            else
                o->b = s;
            n_pos++;
            continue;
        }
        if (strcmp(s, "--") == 0) {
            end_of_options = 1;
            continue;
        }
        if (strcmp(s, "-q") == 0 || strcmp(s, "--quiet") == 0) {
            o->quiet = 1;
            continue;
        }
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            print_compare_help(stdout);
            return -1;
        }
        if (strncmp(s, "--tolerance", 11) == 0 && (s[11] == 0 || s[11] == '=')) {
            is_tol = 1;
            value = s[11] == '=' ? s + 12 : NULL;
        } else if (strncmp(s, "--diff", 6) == 0 && (s[6] == 0 || s[6] == '=')) {
            is_diff = 1;
            value = s[6] == '=' ? s + 7 : NULL;
        } else {
            return usage(s, "unknown option for compare");
        }
        if (!value) {
            if (i + 1 >= argc)
                return usage(is_tol ? "--tolerance" : "--diff", "needs a value");
            value = argv[++i];
        }
        if (is_tol) {
            if (parse_tolerance(value, &o->tolerance))
                return PAIR_ERROR;
        } else if (is_diff) {
            o->diff = value;
        }
    }
    if (n_pos != 2) {
        char m[120];
        snprintf(m, sizeof m, "expected two paths A and B, got %d", n_pos);
        return usage(NULL, m);
    }
    if (strcmp(o->a, "-") == 0 && strcmp(o->b, "-") == 0)
        return usage("-", "standard input can be only one of A and B");
    if (o->diff) {
        if (!o->diff[0] || strcmp(o->diff, "-") == 0)
            return usage("--diff", "needs a file name (standard output carries the report)");
        o->diff_fmt = cnf_output_format_for_path(o->diff);
        if (o->diff_fmt == CNF_OUT_NONE) {
            char m[400], list[160];
            snprintf(m, sizeof m, "'%.200s' has an unknown extension (use %s)", o->diff,
                     format_list(list, sizeof list, FORMATS_WRITTEN, 'e', ", ", " or "));
            return usage("--diff", m);
        }
        if (same_file(o->diff, o->a) || same_file(o->diff, o->b))
            return usage(o->diff, "the difference image would overwrite an input");
    }
    return 0;
}

/* Read and decode one input; prints its error and returns PAIR_ERROR on failure. */
static int load(const char *path, input *in)
{
    cnf_error err;
    memset(in, 0, sizeof *in);
    memset(&err, 0, sizeof err);
    if (load_decoded(path, (uint64_t)1 << 31, CNF_DEFAULT_MAX_PIXELS, &in->img, &in->is_image,
                     &err) != CNF_OK) {
        msg_cnf(&err, path);
        return PAIR_ERROR;
    }
    return PAIR_SAME;
}

static double value_diff(float x, float y)
{
    /* Decoded values are finite (the decoders refuse others).  In double
     * the difference of two floats is exact unless their magnitudes are
     * more than 2^29 apart. */
    return fabs((double)x - (double)y);
}

/* per_pixel: count pixels (any channel differs) rather than values. */
static void measure(const cnf_image *a, const cnf_image *b, int per_pixel, metrics *m)
{
    size_t plane = (size_t)a->width * (size_t)a->height;
    int ch = a->channels;
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < plane; i++) {
        int differs = 0;
        for (int c = 0; c < ch; c++) {
            size_t k = (size_t)c * plane + i;
            double d = value_diff(a->data[k], b->data[k]);
            if (d > 0) {
                differs = 1;
                m->sse += d * d;
                if (d > m->max_diff)
                    m->max_diff = d;
                if (!per_pixel)
                    m->n_diff++;
            }
        }
        if (per_pixel && differs)
            m->n_diff++;
    }
    m->n_values = (uint64_t)plane * (uint64_t)ch;
    m->total = per_pixel ? (uint64_t)plane : m->n_values;
}

/* "5.00%", never "0.00%" for a difference or "100.00%" for a partial one. */
static void format_percent(char *buf, size_t size, uint64_t k, uint64_t total)
{
    double p = total ? 100.0 * (double)k / (double)total : 0;
    if (k > 0 && p < 0.005)
        snprintf(buf, size, "<0.01%%");
    else if (k < total && p >= 99.995)
        snprintf(buf, size, ">99.99%%");
    else
        snprintf(buf, size, "%.2f%%", p);
}

/* Build |A-B| in the shape --diff writes (see the help text). */
static int make_diff_image(const cmp_opts *o, const cnf_image *a, const cnf_image *b,
                           cnf_image *out, cnf_error *err)
{
    size_t plane = (size_t)a->width * (size_t)a->height;
    int has_alpha = a->has_alpha || b->has_alpha;
    int colour = a->channels - has_alpha;
    int exact = !cnf_output_format_is_8bit(o->diff_fmt);
    int out_ch = exact ? a->channels : (colour == 1 || colour == 3) ? colour : 1;
    double top = 0;
    float *d;
    if (cnf_image_alloc(out, a->width, a->height, out_ch, 0, err) != CNF_OK)
        return -1;
    d = out->data;
    if (exact || out_ch == colour) {
        for (int c = 0; c < out_ch; c++)
            for (size_t i = 0; i < plane; i++) {
                size_t k = (size_t)c * plane + i;
                double v = value_diff(a->data[k], b->data[k]);
                d[k] = (float)v;
                if (v > top)
                    top = v;
            }
    } else {
        /* Colour channels an image cannot hold: the largest per pixel. */
        for (int c = 0; c < colour; c++)
            for (size_t i = 0; i < plane; i++) {
                size_t k = (size_t)c * plane + i;
                double v = value_diff(a->data[k], b->data[k]);
                if (v > d[i])
                    d[i] = (float)v;
                if (v > top)
                    top = v;
            }
    }
    if (!exact && top > 0) {
        /* v * 255 / top rather than v * (255 / top): integer differences
         * that divide evenly come out as exact integers. */
        for (size_t i = 0; i < plane * (size_t)out_ch; i++)
            d[i] = (float)((double)d[i] * 255.0 / top);
    }
    return 0;
}

static int write_diff(const cmp_opts *o, const cnf_image *a, const cnf_image *b)
{
    cnf_image d = {0};
    cnf_error err;
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = PAIR_SAME;
    memset(&err, 0, sizeof err);
    if (make_diff_image(o, a, b, &d, &err) != 0 ||
        cnf_encode(&d, o->diff_fmt, NULL, &data, &len, NULL, &err) != CNF_OK ||
        write_output(o->diff, data, len, !(o->diff_fmt == CNF_OUT_TXT || o->diff_fmt == CNF_OUT_JSON),
                     &err) != CNF_OK) {
        msg_cnf(&err, o->diff);
        rc = PAIR_ERROR;
    }
    free(data);
    cnf_image_free(&d);
    return rc;
}

/* Compare two files: print the line, write --diff when asked.  Returns a PAIR_ value. */
static int compare_files(const cmp_opts *o, const char *pa, const char *pb)
{
    input a, b;
    metrics m;
    char ea[4200], eb[4200], pct[32];
    int rc, ra, rb;
    int per_pixel;
    ra = load(pa, &a);
    rb = load(pb, &b);
    if (ra || rb) {
        cnf_image_free(&a.img);
        cnf_image_free(&b.img);
        return PAIR_ERROR;
    }
    escape(pa, ea, sizeof ea);
    escape(pb, eb, sizeof eb);
    if (a.img.width != b.img.width || a.img.height != b.img.height ||
        a.img.channels != b.img.channels) {
        if (!o->quiet)
            printf("%s %s: different shapes: %d x %d x %d vs %d x %d x %d (C x H x W)\n", ea, eb,
                   a.img.channels, a.img.height, a.img.width, b.img.channels, b.img.height,
                   b.img.width);
        if (o->diff)
            msg_warn(o->diff, "not written: the shapes differ");
        rc = PAIR_DIFFERENT;
        goto out;
    }
    per_pixel = a.is_image && b.is_image;
    measure(&a.img, &b.img, per_pixel, &m);
    format_percent(pct, sizeof pct, m.n_diff, m.total);
    if (!o->quiet) {
        printf("%s %s: max difference %.9g, %llu of %llu %s differ (%s)", ea, eb, m.max_diff,
               (unsigned long long)m.n_diff, (unsigned long long)m.total,
               per_pixel ? "pixels" : "values", pct);
        if (per_pixel) {
            if (m.sse == 0)
                printf(", PSNR inf");
            else
                printf(", PSNR %.2f dB", 10.0 * log10(255.0 * 255.0 * (double)m.n_values / m.sse));
        }
        putchar('\n');
    }
    rc = m.max_diff <= o->tolerance ? PAIR_SAME : PAIR_DIFFERENT;
    if (o->diff && write_diff(o, &a.img, &b.img) != PAIR_SAME)
        rc = PAIR_ERROR;
out:
    cnf_image_free(&a.img);
    cnf_image_free(&b.img);
    return rc;
}

/* ----------------------------------------------------------------- folders */

typedef struct name_list {
    char **v;
    size_t n, cap;
} name_list;

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

static int by_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static int compare_folders(const cmp_opts *o)
{
    name_list la = {0}, lb = {0};
    size_t i = 0, j = 0;
    unsigned long long compared = 0, same = 0, different = 0, missing = 0, errors = 0;
    int walk_failed;
    char ea[4200], eb[4200];
    walk_failed = walk_root(&la, o->a);
    walk_failed |= walk_root(&lb, o->b);
    qsort(la.v, la.n, sizeof *la.v, by_name);
    qsort(lb.v, lb.n, sizeof *lb.v, by_name);
    escape(o->a, ea, sizeof ea);
    escape(o->b, eb, sizeof eb);
    while (i < la.n || j < lb.n) {
        int c = i == la.n ? 1 : j == lb.n ? -1 : strcmp(la.v[i], lb.v[j]);
        if (c != 0) {
            char er[4200];
            const char *rel = c < 0 ? la.v[i++] : lb.v[j++];
            if (!o->quiet)
                printf("only in %s: %s\n", c < 0 ? ea : eb, escape(rel, er, sizeof er));
            missing++;
            continue;
        }
        {
            char pa[4096], pb[4096];
            int r;
            compared++;
            if (join_path(pa, sizeof pa, o->a, la.v[i]) != 0 ||
                join_path(pb, sizeof pb, o->b, lb.v[j]) != 0) {
                msg_error(la.v[i], "path too long");
                r = PAIR_ERROR;
            } else {
                r = compare_files(o, pa, pb);
            }
            if (r == PAIR_SAME)
                same++;
            else if (r == PAIR_DIFFERENT)
                different++;
            else
                errors++;
            i++;
            j++;
        }
    }
    if (!o->quiet) {
        printf("compared %llu, identical-within-tolerance %llu, different %llu, missing %llu",
               compared, same, different, missing);
        if (errors)
            printf(", errors %llu", errors);
        putchar('\n');
    }
    free_names(&la);
    free_names(&lb);
    if (errors || walk_failed)
        return PAIR_ERROR;
    return different || missing ? PAIR_DIFFERENT : PAIR_SAME;
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

int cmd_compare(int argc, char **argv)
{
    cmp_opts o;
    int rc = parse_compare_args(argc, argv, &o);
    int da, db;
    if (rc == -1)
        return 0;
    if (rc)
        return rc;
    msg_set_quiet(o.quiet);
    da = is_folder(o.a);
    db = is_folder(o.b);
    if (da < 0 || db < 0)
        return PAIR_ERROR;
    if (da != db) {
        char m[900];
        snprintf(m, sizeof m, "is a %s but '%.600s' is a %s; compare two files or two folders",
                 da ? "folder" : "file", o.b, db ? "folder" : "file");
        return usage(o.a, m);
    }
    if (da) {
        if (o.diff)
            return usage("--diff", "writes one image: it needs two files, not folders");
        return compare_folders(&o);
    }
    return compare_files(&o, o.a, o.b);
}
