/* args.h - command-line parsing shared by every subcommand: an option table, the argv walk, value parsers. */
#ifndef CNF_CLI_ARGS_H
#define CNF_CLI_ARGS_H

#include "cnnfilter.h"

#include <stdint.h>
#include <stdio.h>

/* One option of a subcommand's table (the table drives its parser and its
 * --help, so they cannot drift). */
typedef struct arg_opt {
    int id;            /* the subcommand's own number for it */
    const char *name;  /* long name without "--" */
    char short_name;   /* 0 if none */
    const char *arg;   /* metavar, NULL for a switch */
    int flags;         /* the subcommand's own use (e.g. a layer flag) */
    const char *help;
} arg_opt;

/* What apply does with one option: 0 on, ARGS_STOP to stop parsing (--help,
 * --version met: what follows is not looked at), or an exit code (usage
 * error already printed). */
#define ARGS_STOP (-1)
typedef int (*args_apply_fn)(void *ctx, const arg_opt *op, const char *flag, const char *val);

/* args_parse - walk argv[first..argc): options by the table (--name, --name=V,
 * --name V, -x V, -xV; "--" ends options), each handed to apply; other
 * arguments (and "-") appended to pos (room for argc entries) and counted in
 * *n_pos.  Returns 0 (also after ARGS_STOP), or 2 after printing a usage
 * error (unknown option, missing value, a value given to a switch). */
int args_parse(int argc, char **argv, int first, const arg_opt *table, size_t n,
               args_apply_fn apply, void *ctx, const char **pos, int *n_pos);

/* args_complete - for shell completion, one word per line: every option's
 * names (-x, --name) when what is NULL; those that take a value when what is
 * "options-with-values"; the values option `what` ("--name" or "-x") takes
 * when its metavar lists words ("sgd|adam"; the lowercase alternatives of
 * "valid|same|N|PH,PW"), nothing for a number or a file.  Returns 0, or 1
 * when `what` is not an option of the table or is a switch. */
int args_complete(FILE *f, const arg_opt *table, size_t n, const char *what);

/* args_help_line - one option in --help's two-column form, with `help` (the
 * row's help text, or a text made from it). */
void args_help_line(FILE *f, const arg_opt *o, const char *help);

/* args_default_jobs - the -j default: the cores online, 1 to 256. */
int args_default_jobs(void);

/* arg_bad - print a usage error about `flag`; returns 2. */
int arg_bad(const char *flag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Value parsers: 0, or 2 after a usage error naming `flag`. */
int arg_int(const char *flag, const char *s, long lo, long hi, int *out);
int arg_pair(const char *flag, const char *s, long lo, long hi, int *a, int *b); /* A or A,B */
int arg_double(const char *flag, const char *s, double *out);                    /* finite */
int arg_double_in(const char *flag, const char *s, double lo, double hi, int lo_open,
                  double *out); /* finite, in [lo, hi] ((lo, hi] when lo_open) */
int arg_u64(const char *flag, const char *s, uint64_t *out);                    /* 0.. */
int arg_bytes(const char *flag, const char *s, uint64_t *out); /* K/M/G/T suffixes, > 0 */
int arg_words(const char *flag, const char *s, const char *const *words, int *out);
/* "A" or "A<sep>B" (arg_pair is sep ','). */
int arg_pair_sep(const char *flag, const char *s, char sep, long lo, long hi, int *a, int *b);

/* The geometry options every command that convolves shares (their ranges
 * are far above any real use and keep every size inside 32-bit ints). */
#define ARG_MAX_PAD (1 << 20)
#define ARG_MAX_STRIDE (1 << 20)
#define ARG_MAX_DILATION (1 << 16)
/* --padding valid|same|N|PH,PW into L. */
int arg_padding(const char *flag, const char *s, cnf_layer *L);

#endif
