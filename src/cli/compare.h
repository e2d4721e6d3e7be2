/* compare.h - what the parts of `cnnfilter compare` share: its options, one pair's result, the report and the difference images. */
#ifndef CNF_CLI_COMPARE_H
#define CNF_CLI_COMPARE_H

#include "cnnfilter.h"

#include <stdint.h>
#include <stdio.h>

/* What is printed on stdout. */
typedef enum cmp_output { CMP_TEXT, CMP_JSON, CMP_TSV } cmp_output;

typedef struct cmp_opts {
    double tolerance;          /* a value differs when |a - b| > tolerance */
    uint64_t max_share_micro;  /* --max-share in millionths of a percent (0) */
    const char *max_share;     /* as given, NULL when not given */
    double min_psnr;
    int has_min_psnr;
    const char *diff;          /* --diff FILE (two files) or DIR (two folders), or NULL */
    cnf_output_format diff_fmt;
    const char *diff_format;   /* --diff-format as given, or NULL */
    int quiet;                 /* only the pairs that do not pass */
    int silent;                /* nothing on stdout */
    cmp_output output;
    uint64_t max_pixels;       /* --max-pixels: images over it refused from their header */
    uint64_t max_memory;       /* --max-memory: what a pair may hold (files and planes) */
    const char *a, *b;
} cmp_opts;

/* How a pair ended. */
typedef enum pair_status { PAIR_SAME, PAIR_DIFFERENT, PAIR_MISSING, PAIR_ERROR } pair_status;

/* One pair as reported.  Metrics are set when `measured`; shapes when both
 * files were decoded. */
typedef struct pair_result {
    const char *a, *b;       /* the two paths */
    const char *rel;         /* folders: the path inside A and B */
    pair_status status;
    char only_in;            /* PAIR_MISSING: 'a' or 'b', the side the file is on */
    int decoded;             /* both read: shapes are set */
    int shape_a[3], shape_b[3]; /* C, H, W */
    int size_mismatch;
    int measured;
    int per_pixel;           /* counts are pixels (images) rather than values (matrices) */
    double max_diff;         /* largest |a - b| of any value, alpha included */
    uint64_t n_diff;         /* pixels (values) with any difference at all */
    uint64_t changed;        /* pixels (values) with a difference over the tolerance */
    uint64_t total;          /* pixels (values) */
    int has_psnr;            /* images only */
    double psnr;             /* INFINITY when identical */
    const char *diff;        /* the difference image written, or NULL */
    char error[1200];         /* PAIR_ERROR: the reason (also printed on stderr) */
} pair_result;

/* The totals of a run, for the last line and the JSON document. */
typedef struct cmp_counts {
    unsigned long long compared, same, different, missing, errors;
} cmp_counts;

/* compare_rows.c: measure_span adds n values of each of `channels` spans
 * (a[c][i] against b[c][i]) to r's counts and *sse; measure_end sets the
 * totals and PSNR of a pair of `pixels` pixels.  compare_rows reads both
 * files of r row by row (neither held whole), sets their shapes and, when
 * the shapes agree, the metrics; -1 after printing an error into r->error. */
void measure_span(const float *const *a, const float *const *b, int channels, size_t n,
                  double tolerance, pair_result *r, double *sse);
void measure_end(pair_result *r, uint64_t pixels, int channels, double sse);
int compare_rows(const cmp_opts *o, pair_result *r);

/* compare_report.c: stdout in the form --json / --tsv / the default ask for.
 * report_begin before the first pair, report_pair for each, report_end
 * after the last with the run's exit status (0, 1, 2). */
void report_begin(const cmp_opts *o);
void report_pair(const cmp_opts *o, const pair_result *r);
void report_end(const cmp_opts *o, const cmp_counts *c, int folders, int status);

/* compare_diff.c: the difference image (see `cnnfilter compare --help`).
 * diff_write encodes a and b's difference as `fmt` and writes it to `path`
 * through the out_file layer; 0, or -1 with *err filled. */
int diff_write(const char *path, cnf_output_format fmt, double tolerance, const cnf_image *a,
               const cnf_image *b, cnf_error *err);
/* diff_name - DIR/REL, with ".EXT" of fmt added unless REL already ends
 * with it (any case): malloc'd, NULL when out of memory. */
char *diff_name(const char *dir, const char *rel, cnf_output_format fmt);
/* diff_ext - the extension fmt is written with ("png"). */
const char *diff_ext(cnf_output_format fmt);

#endif
