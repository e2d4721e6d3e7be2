/* options.h - the options of the filter command: one table drives the parser, --help and the completion words. */
#ifndef CNF_CLI_OPTIONS_H
#define CNF_CLI_OPTIONS_H

#include "cnnfilter.h"

#include <stdint.h>
#include <stdio.h>

#define CLI_MAX_KERNELS 64
#define CLI_MAX_GLOBS 64

typedef struct options {
    const char *kernels[CLI_MAX_KERNELS];
    int n_kernels;
    const char *pipeline;
    int layers;      /* --layers: the pipeline's first N layers only (0: all) */
    cnf_layer layer; /* kernels filled in by run_setup_load */
    int geometry_flags_seen; /* a conv/pool flag was given (conflicts with --pipeline) */
    const char *geometry_flag; /* the first one, for the error */
    cnf_map_mode map;
    int map_given;   /* --map was on the command line (a warning where it does nothing) */
    const char *output_dir;
    int recursive;
    int jobs;
    const char *output_format;
    int skip_existing;
    int shard_k, shard_n;
    /* batch selection: --include/--exclude globs, --files-from (with -0 its
     * names end in NUL), --base (outputs keep the path relative to it) */
    const char *include[CLI_MAX_GLOBS];
    int n_include;
    const char *exclude[CLI_MAX_GLOBS];
    int n_exclude;
    const char *files_from;
    int null_sep;
    const char *base;
    int force; /* -f: replace an existing image cnnfilter did not write */
    int explain;
    uint64_t max_pixels, max_memory, max_work;
    int quiet, verbose;
    int progress; /* 0 auto, 1 always, 2 never */
    int quality;     /* --quality, -1 when not given (the format's default) */
    int depth;       /* --depth: 8, 16 or CNF_DEPTH_FLOAT */
    int compression; /* PNG deflate level, -1 default */
    int portable;    /* only the portable convolution path */
    unsigned decode_flags; /* CNF_DECODE_NO_ORIENT with --no-auto-orient */
    int help, version; /* --help / --version met: print and exit 0 */
    const char **args;
    int n_args;
    /* The options that decide the output's pixels, in long form and shell
     * quoting, in the order given: recorded in PNG outputs. */
    char normalized[8192];
    int normalized_truncated;
    /* Set by validate_options: the format of OUTPUT (single mode) or of
     * every output (batch). */
    cnf_output_format out_fmt;
} options;

/* parse_options - fill o from argv[first..argc).  Returns 0 (check o->help
 * and o->version), or 2 after printing a usage error.  o->args is malloc'd
 * (free it even on error). */
int parse_options(int argc, char **argv, int first, options *o);

/* validate_options - the checks that do not depend on any input file, made
 * once before any file is touched (so a batch of six prints a usage error
 * once and exits 2): the argument count of the mode, --explain with a
 * batch, --pipeline with layer flags, a kernel or --pool, the output format
 * (OUTPUT's extension or --output-format) and what it can hold (--depth 16
 * and float are for the formats that hold them), binary data to a terminal.  Sets o->out_fmt.  Returns 0, or
 * 2 after printing the error. */
int validate_options(options *o);

/* print_options_help - the "Options:" block of --help. */
void print_options_help(FILE *f);

/* print_option_words - for shell completion: every option name (what =
 * NULL), the options that take a value (what = "options-with-values"), or
 * the values an option takes when they are words (what = "--border";
 * nothing for a number or a switch).  Returns 0, or 1 for an unknown option. */
int print_option_words(FILE *f, const char *what);

#endif
