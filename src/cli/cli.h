/* cli.h - what the CLI's files share: options, messages, file I/O. */
#ifndef CNF_CLI_H
#define CNF_CLI_H

#include "cnnfilter.h"

#include <stdint.h>
#include <stdio.h>

#define CLI_MAX_KERNELS 64
/* PNG outputs of one input written as rows arrive; more are written whole. */
#define CLI_STREAM_GROUPS 4

typedef struct options {
    const char *kernels[CLI_MAX_KERNELS];
    int n_kernels;
    const char *pipeline;
    cnf_layer layer; /* kernels filled in later */
    int geometry_flags_seen; /* a conv/pool flag was given (conflicts with --pipeline) */
    const char *geometry_flag; /* the first one, for the error */
    cnf_map_mode map;
    const char *output_dir;
    int recursive;
    int jobs;
    const char *output_format;
    int skip_existing;
    int shard_k, shard_n;
    int explain;
    uint64_t max_pixels, max_memory;
    int quiet, verbose;
    int progress; /* 0 auto, 1 always, 2 never */
    int quality;
    int depth;       /* PNG: 8 or 16 */
    int compression; /* PNG deflate level, -1 default */
    int portable;    /* only the portable convolution path */
    const char **args;
    int n_args;
    /* The options that decide the output's pixels, in long form and shell
     * quoting, in the order given: recorded in PNG outputs. */
    char normalized[8192];
    int normalized_truncated;
} options;

/* A run's kernels or pipeline, loaded once and shared read-only by every
 * file (main.c). */
typedef struct run_ctx {
    options *o;
    cnf_pipeline *pipeline;
    cnf_kernel *kernels[CLI_MAX_KERNELS];
    const cnf_kernel *kptr[CLI_MAX_KERNELS];
    char names[CLI_MAX_KERNELS][270];
    int n_kernels;
} run_ctx;

/* main.c */
int setup_run(run_ctx *c, options *o);
void free_ctx(run_ctx *c);
int process_file(const run_ctx *c, const char *in_path, const char *out_path,
                 cnf_output_format fmt, int threads, int auto_template);

/* batch.c */
/* run_batch - `-o DIR INPUT...`: every file, a thread pool, a summary. */
int run_batch(options *o);

/* options.c */
/* parse_options - fill o from argv[first..argc); returns 0, or the exit code
 * (2 usage error, or -1 for --help/--version already printed: exit 0). */
int parse_options(int argc, char **argv, int first, options *o);
void print_help(FILE *f);

/* compare.c */
/* cmd_compare - `cnnfilter compare [--tolerance N] [--diff FILE] A B`; argv[1]
 * is "compare".  Returns the exit code: 0 within tolerance, 1 different, 2 error. */
int cmd_compare(int argc, char **argv);

/* Exit status (cnnfilter(1), EXIT STATUS). */
enum { EXIT_OK = 0, EXIT_FAILURE_RUN = 1, EXIT_USAGE = 2 };

/* msg.c */
/* exit_code - the exit status for a library status: 0, 1 runtime, 2 usage. */
int exit_code(cnf_status s);
void msg_set_quiet(int quiet);
/* msg_error - "cnnfilter: WHERE: text" (WHERE omitted if NULL/empty). */
void msg_error(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* msg_usage - like msg_error, then "Try 'cnnfilter --help' for more information." */
void msg_usage(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void msg_warn(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* msg_cnf - print a library error; `fallback` names the file when the
 * error names none.  Returns the exit code for it. */
int msg_cnf(const cnf_error *e, const char *fallback);
/* escape - control characters as \n, \t, \xNN; result in buf. */
const char *escape(const char *s, char *buf, size_t size);

/* fileio.c */
/* read_input - whole file (or stdin for "-") into a malloc'd buffer. */
cnf_status read_input(const char *path, unsigned char **buf, size_t *len, cnf_error *err);
/* read_input_limit - the same, refusing more than max_bytes (and 2 GiB). */
cnf_status read_input_limit(const char *path, uint64_t max_bytes, unsigned char **buf,
                            size_t *len, cnf_error *err);
/* out_file - an output written in pieces and put in place atomically:
 * out_open (a temp file beside it, or stdout for "-"), out_write...,
 * out_commit (rename) or out_abort (remove).  The temp file is removed by
 * SIGINT/SIGTERM/SIGHUP too.  Errors name the output path. */
typedef struct out_file {
    const char *path;
    int fd, slot, failed;
} out_file;
cnf_status out_open(out_file *f, const char *path, cnf_error *err);
cnf_status out_write(out_file *f, const void *data, size_t len, cnf_error *err);
cnf_status out_commit(out_file *f, cnf_error *err);
void out_abort(out_file *f);
/* write_output - write data to path atomically (temp file in the same
 * folder, then rename), or to stdout for "-". */
cnf_status write_output(const char *path, const unsigned char *data, size_t len, cnf_error *err);
/* same_file - 1 if both paths name the same existing file. */
int same_file(const char *a, const char *b);
/* join_path - "root/rel" into buf without doubling a slash; -1 if too long. */
int join_path(char *buf, size_t size, const char *root, const char *rel);
/* is_input_name - 1 if a file name has an input extension (what folder
 * walks pick up; a file named on the command line is always read). */
int is_input_name(const char *name);
/* walk_files - call fn(arg, full path, path relative to root) for each input
 * file under root, in directory order (callers sort), descending into
 * subfolders when recursive, never into hidden ones or back up a symlink.
 * Other regular files count in *skipped (may be NULL).  fn returns non-zero
 * on out-of-memory.  Returns 0, or 1 when something could not be read
 * (reported on stderr). */
typedef int walk_fn(void *arg, const char *full, const char *rel);
int walk_files(const char *root, int recursive, walk_fn *fn, void *arg, int *skipped);
/* install_signal_handlers - remove the temp file on SIGINT/SIGTERM. */
void install_signal_handlers(void);

#endif
