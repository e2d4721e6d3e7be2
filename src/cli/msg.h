/* msg.h - every line the CLI writes to stderr, exit codes, and errors the CLI itself finds. */
#ifndef CNF_CLI_MSG_H
#define CNF_CLI_MSG_H

#include "cnnfilter.h"

#include <stddef.h>

/* Exit status (cnnfilter(1), EXIT STATUS). */
enum { EXIT_OK = 0, EXIT_FAILURE_RUN = 1, EXIT_USAGE = 2 };

/* exit_code - the exit status for a library status: 0, 1 runtime, 2 usage. */
int exit_code(cnf_status s);

void msg_set_quiet(int quiet);
/* msg_set_command - the subcommand being run ("learn"), or NULL for the
 * filter command: usage errors then point at its help ("try 'cnnfilter
 * learn --help'"). */
void msg_set_command(const char *name);
const char *msg_command(void);
/* msg_error - "cnnfilter: WHERE: text" (WHERE omitted if NULL/empty). */
void msg_error(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* msg_usage - like msg_error, with the hint "(try 'cnnfilter --help')" on the same line. */
void msg_usage(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* msg_warn - like msg_error, silenced by -q. */
void msg_warn(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* msg_progress - a progress line as it is, without the prefix (train's
 * "epoch 3/10: loss ..."); silenced by -q. */
void msg_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* msg_bar - a progress bar: text drawn over the last bar on stderr's current
 * line (no newline until `final`); any message clears it first. */
void msg_bar(const char *text, int final);
/* msg_bar_clear - the bar's line blanked (the cursor at its start). */
void msg_bar_clear(void);
/* msg_info - "cnnfilter: text" (for -v). */
void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* msg_cnf - print an error (the library's or the CLI's own, see fail()):
 * a layer setting is named as its option (--channels), a limit gets the
 * option that raises it, usage errors get the help hint.  `fallback` names
 * what the error is about when it names nothing.  Returns the exit code. */
int msg_cnf(const cnf_error *e, const char *fallback);
/* escape - control characters as \n, \t, \xNN; result in buf. */
const char *escape(const char *s, char *buf, size_t size);

/* fail - fill *e for an error the CLI finds itself (about file `where`);
 * returns st.  fail_errno also records the errno of a failed call. */
cnf_status fail(cnf_error *e, cnf_status st, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
cnf_status fail_errno(cnf_error *e, cnf_status st, const char *where, int errnum, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));

/* error_default_where - name file `path` in *e when it names nothing yet. */
void error_default_where(cnf_error *e, const char *path);

#endif
