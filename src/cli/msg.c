/* msg.c - every line the CLI writes to stderr: one line each, prefixed "cnnfilter: ". */
#include "msg.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int g_quiet;

/* stderr's lines come from several threads (batch workers, the progress
 * bar); the bar is a line without its newline, which a message first clears
 * (it is drawn again on its next tick) so that no error is glued onto it. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_bar; /* characters of the bar on stderr's current line; 0: none */

static void clear_bar(void)
{
    if (g_bar > 0)
        fprintf(stderr, "\r%*s\r", g_bar, "");
    g_bar = 0;
}

void msg_bar_clear(void)
{
    pthread_mutex_lock(&g_lock);
    clear_bar();
    fflush(stderr);
    pthread_mutex_unlock(&g_lock);
}

void msg_bar(const char *text, int final)
{
    int n = (int)strlen(text);
    pthread_mutex_lock(&g_lock);
    fprintf(stderr, "\r%s%*s", text, g_bar > n ? g_bar - n : 0, "");
    g_bar = final ? 0 : (g_bar > n ? g_bar : n);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&g_lock);
}

static const char *g_command;

void msg_set_quiet(int quiet) { g_quiet = quiet; }
void msg_set_command(const char *name) { g_command = name; }
const char *msg_command(void) { return g_command; }

const char *escape(const char *s, char *buf, size_t size)
{
    size_t o = 0;
    if (size == 0)
        return "";
    for (; *s && o + 5 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (c == '\t') {
            buf[o++] = '\\';
            buf[o++] = 't';
        } else if (c == '\r') {
            buf[o++] = '\\';
            buf[o++] = 'r';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o] = 0;
    return buf;
}

static void vline(const char *where, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void vline(const char *where, const char *fmt, va_list ap)
{
    char text[1024], esc[2048], wesc[1100];
    vsnprintf(text, sizeof text, fmt, ap);
    escape(text, esc, sizeof esc);
    pthread_mutex_lock(&g_lock);
    clear_bar();
    if (where && *where)
        fprintf(stderr, "cnnfilter: %s: %s\n", escape(where, wesc, sizeof wesc), esc);
    else
        fprintf(stderr, "cnnfilter: %s\n", esc);
    fflush(stderr);
    pthread_mutex_unlock(&g_lock);
}

void msg_error(const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(where, fmt, ap);
    va_end(ap);
}

void msg_usage(const char *where, const char *fmt, ...)
{
    va_list ap;
    char text[1024];
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* One line: the hint rides on the same line so the error stays one line. */
    msg_error(where, "%s (try 'cnnfilter %s%s--help')", text, g_command ? g_command : "",
              g_command ? " " : "");
}

void msg_warn(const char *where, const char *fmt, ...)
{
    va_list ap;
    if (g_quiet)
        return;
    va_start(ap, fmt);
    vline(where, fmt, ap);
    va_end(ap);
}

void msg_progress(const char *fmt, ...)
{
    va_list ap;
    if (g_quiet)
        return;
    va_start(ap, fmt);
    pthread_mutex_lock(&g_lock);
    clear_bar();
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&g_lock);
}

void msg_info(const char *fmt, ...)
{
    va_list ap;
    char text[1024];
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fprintf(stderr, "cnnfilter: %s\n", text);
}

static cnf_status vfill(cnf_error *e, cnf_status st, const char *where, int errnum,
                        const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static cnf_status vfill(cnf_error *e, cnf_status st, const char *where, int errnum,
                        const char *fmt, va_list ap)
{
    memset(e, 0, sizeof *e);
    e->status = st;
    e->sys_errno = errnum;
    if (where && where[0]) {
        e->subject = CNF_SUBJECT_FILE;
        snprintf(e->where, sizeof e->where, "%s", where);
    }
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return st;
}

cnf_status fail(cnf_error *e, cnf_status st, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfill(e, st, where, 0, fmt, ap);
    va_end(ap);
    return st;
}

cnf_status fail_errno(cnf_error *e, cnf_status st, const char *where, int errnum, const char *fmt,
                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfill(e, st, where, errnum, fmt, ap);
    va_end(ap);
    return st;
}

void error_default_where(cnf_error *e, const char *path)
{
    if (e->where[0] || !path)
        return;
    snprintf(e->where, sizeof e->where, "%s", path);
    e->subject = CNF_SUBJECT_FILE;
}

int exit_code(cnf_status s)
{
    if (s == CNF_OK)
        return EXIT_OK;
    return cnf_status_is_usage(s) ? EXIT_USAGE : EXIT_FAILURE_RUN;
}

/* How to raise a limit the library reports, in this front end's words. */
static const char *limit_hint(cnf_limit l)
{
    switch (l) {
    case CNF_LIMIT_PIXELS: return " (raise it with --max-pixels)";
    case CNF_LIMIT_MEMORY: return " (raise it with --max-memory)";
    case CNF_LIMIT_WORK: return " (raise it with --max-work)";
    default: return "";
    }
}

int msg_cnf(const cnf_error *e, const char *fallback)
{
    char where[1200], label[600];
    const char *w = e->where[0] ? e->where : fallback;
    int usage_form = 0;
    if (e->where[0] && e->subject == CNF_SUBJECT_SETTING) {
        /* The library names a layer setting by its word; the option is --word. */
        snprintf(label, sizeof label, "--%s", e->where);
        w = label;
        usage_form = 1;
    } else if (e->where[0] && e->subject == CNF_SUBJECT_SPEC) {
        usage_form = 1; /* where is the option the spec was given to */
    }
    if (e->line > 0)
        snprintf(where, sizeof where, "%s:%d:%d", w ? w : "", e->line, e->col);
    else
        snprintf(where, sizeof where, "%s", w ? w : "");
    if (exit_code(e->status) == EXIT_USAGE && usage_form)
        msg_usage(where, "%s%s", e->msg, limit_hint(e->limit));
    else
        msg_error(where, "%s%s", e->msg, limit_hint(e->limit));
    return exit_code(e->status);
}
