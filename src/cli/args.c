/* args.c - command-line parsing shared by every subcommand: an option table, the argv walk, value parsers. */
#define _POSIX_C_SOURCE 200809L
#include "args.h"

#include "msg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


int arg_bad(const char *flag, const char *fmt, ...)
{
    char m[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    msg_usage(flag, "%s", m);
    return 2;
}

/* Strict integer in [lo, hi]. */
int arg_int(const char *flag, const char *s, long lo, long hi, int *out)
{
    char *end;
    long v;
    errno = 0;
    if (!*s || *s == ' ' || *s == '+')
        goto fail;
    v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        goto fail;
    *out = (int)v;
    return 0;
fail:
    return arg_bad(flag, "'%s' is not an integer from %ld to %ld", s, lo, hi);
}

/* "A" or "A,B" of integers in [lo, hi]. */
int arg_pair_sep(const char *flag, const char *s, char sep, long lo, long hi, int *a, int *b)
{
    const char *mid = strchr(s, sep);
    char first[64];
    if (!mid) {
        if (arg_int(flag, s, lo, hi, a))
            return 2;
        *b = *a;
        return 0;
    }
    if ((size_t)(mid - s) >= sizeof first)
        return arg_bad(flag, "'%s' is not N or N%cN", s, sep);
    memcpy(first, s, (size_t)(mid - s));
    first[mid - s] = 0;
    if (arg_int(flag, first, lo, hi, a) || arg_int(flag, mid + 1, lo, hi, b))
        return 2;
    return 0;
}

int arg_pair(const char *flag, const char *s, long lo, long hi, int *a, int *b)
{
    return arg_pair_sep(flag, s, ',', lo, hi, a, b);
}

int arg_padding(const char *flag, const char *s, cnf_layer *L)
{
    int v = cnf_vocab_value(CNF_VOCAB_PADDING, s);
    if (v >= 0) {
        L->padding = (cnf_padding_kind)v;
        return 0;
    }
    L->padding = CNF_PAD_EXPLICIT;
    if (strchr(s, ',') == NULL && (s[0] < '0' || s[0] > '9'))
        return arg_bad(flag, "'%s' is not valid, same, N or PH,PW", s);
    return arg_pair(flag, s, 0, ARG_MAX_PAD, &L->pad_h, &L->pad_w);
}

int arg_double(const char *flag, const char *s, double *out)
{
    char *end;
    double v;
    errno = 0;
    if (!*s || *s == ' ')
        return arg_bad(flag, "'%s' is not a number", s);
    v = strtod(s, &end);
    /* an underflow (1e-400) is a finite value near 0; an overflow is inf */
    if (*end || !isfinite(v))
        return arg_bad(flag, "'%s' is not a finite number", s);
    *out = v;
    return 0;
}

int arg_words(const char *flag, const char *s, const char *const *names, int *out)
{
    char list[300] = "";
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    for (int i = 0; names[i]; i++) {
        strncat(list, names[i], sizeof list - strlen(list) - 1);
        if (names[i + 1])
            strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return arg_bad(flag, "'%s' is not one of: %s", s, list);
}

/* Bytes with an optional K/M/G/T suffix (powers of 1024). */
int arg_bytes(const char *flag, const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    int shift = 0;
    errno = 0;
    if (!*s || *s == '-' || *s == ' ' || *s == '+')
        return arg_bad(flag, "'%s' is not a size (e.g. 512M, 2G)", s);
    v = strtoull(s, &end, 10);
    if (errno)
        return arg_bad(flag, "'%s' is not a size (e.g. 512M, 2G)", s);
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    else if (*end == 'T' || *end == 't')
        shift = 40;
    if (shift)
        end++;
    if ((*end == 'B' || *end == 'b') && end[1] == 0)
        end++;
    if (*end || v == 0 || (shift && v > (UINT64_MAX >> shift)))
        return arg_bad(flag, "'%s' is not a positive size (e.g. 512M, 2G)", s);
    *out = (uint64_t)v << shift;
    return 0;
}


int arg_double_in(const char *flag, const char *s, double lo, double hi, int lo_open, double *out)
{
    double v = 0;
    if (arg_double(flag, s, &v))
        return 2;
    if (v > hi || v < lo || (lo_open && v == lo))
        return arg_bad(flag, "'%s' is not a number %s %g and at most %g", s,
                   lo_open ? "over" : "from", lo, hi);
    *out = v;
    return 0;
}

int arg_u64(const char *flag, const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    errno = 0;
    if (!*s || *s < '0' || *s > '9')
        return arg_bad(flag, "'%s' is not a whole number", s);
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return arg_bad(flag, "'%s' is not a whole number below 2^64", s);
    *out = (uint64_t)v;
    return 0;
}

/* The lowercase word alternatives of a metavar ("zero|replicate", "N|auto"). */
static void metavar_words(FILE *f, const char *arg)
{
    while (*arg) {
        size_t n = strcspn(arg, "|"), i;
        for (i = 0; i < n && ((arg[i] >= 'a' && arg[i] <= 'z') || arg[i] == '_'); i++)
            ;
        if (n > 0 && i == n)
            fprintf(f, "%.*s\n", (int)n, arg);
        arg += n + (arg[n] == '|');
    }
}

int args_default_jobs(void)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    return ncpu > 0 ? (int)(ncpu > 256 ? 256 : ncpu) : 1;
}

int args_complete(FILE *f, const arg_opt *table, size_t n, const char *what)
{
    int with_values = what && strcmp(what, "options-with-values") == 0;
    for (size_t i = 0; i < n; i++) {
        const arg_opt *o = &table[i];
        if (!what || (with_values && o->arg)) {
            if (o->short_name)
                fprintf(f, "-%c\n", o->short_name);
            fprintf(f, "--%s\n", o->name);
        } else if (!with_values &&
                   ((what[0] == '-' && what[1] == '-' && strcmp(what + 2, o->name) == 0) ||
                    (what[0] == '-' && what[1] && what[1] == o->short_name && !what[2]))) {
            if (!o->arg)
                return 1;
            metavar_words(f, o->arg);
            return 0;
        }
    }
    return what && !with_values ? 1 : 0;
}

void args_help_line(FILE *f, const arg_opt *o, const char *help)
{
    char left[96];
    int n;
    if (o->short_name)
        n = snprintf(left, sizeof left, "  -%c, --%s%s%s", o->short_name, o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
    else
        n = snprintf(left, sizeof left, "      --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
    if (n < 30)
        fprintf(f, "%-30s %s\n", left, help);
    else
        fprintf(f, "%s\n%-30s %s\n", left, "", help);
}

/* An option the table does not have; for a long one, the table's closest
 * names ("did you mean"). */
static void unknown(const char *name, const arg_opt *table, size_t n)
{
    const char *names[128];
    char near[200] = "", hint[220] = "";
    size_t k = 0;
    for (; name[0] == '-' && name[1] == '-' && k < n && k < 128; k++)
        names[k] = table[k].name;
    if (k && cnf_suggest(name + 2, names, k, near, sizeof near)) {
        /* '--x' for each name: the suggestions name options as they are typed */
        size_t len = 0;
        for (const char *p = near; *p && len + 3 < sizeof hint; p++) {
            hint[len++] = *p;
            if (*p == '\'' && (p == near || p[-1] == ' ')) {
                hint[len++] = '-';
                hint[len++] = '-';
            }
        }
        hint[len] = 0;
    }
    if (msg_command())
        msg_usage(name, "not an option of %s%s%s%s", msg_command(), *hint ? " (did you mean " : "",
                  hint, *hint ? "?)" : "");
    else
        msg_usage(name, "unknown option%s%s%s", *hint ? " (did you mean " : "", hint,
                  *hint ? "?)" : "");
}

/* The option argv[*i] names (and its attached value, if any): NULL after a
 * usage error. */
static const arg_opt *find_option(const char *a, const arg_opt *table, size_t n,
                                  const char **val)
{
    const arg_opt *op = NULL;
    *val = NULL;
    if (a[1] == '-') {
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        for (size_t k = 0; k < n; k++)
            if (strlen(table[k].name) == len && strncmp(table[k].name, a + 2, len) == 0)
                op = &table[k];
        if (!op) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(len > 40 ? 42 : len + 2), a);
            unknown(name, table, n);
            return NULL;
        }
        if (eq) {
            if (!op->arg) {
                char name[64];
                snprintf(name, sizeof name, "--%s", op->name);
                msg_usage(name, "takes no value");
                return NULL;
            }
            *val = eq + 1;
        }
        return op;
    }
    for (size_t k = 0; k < n; k++)
        if (table[k].short_name == a[1])
            op = &table[k];
    if (!op) {
        char name[8];
        snprintf(name, sizeof name, "-%c", a[1]);
        unknown(name, table, n);
        return NULL;
    }
    if (a[2]) {
        if (!op->arg) {
            msg_usage(a, "unknown option (switches cannot be grouped)");
            return NULL;
        }
        *val = a + 2;
    }
    return op;
}

int args_parse(int argc, char **argv, int first, const arg_opt *table, size_t n,
               args_apply_fn apply, void *ctx, const char **pos, int *n_pos)
{
    int only_args = 0;
    *n_pos = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i], *val;
        const arg_opt *op;
        char flag[64];
        int r;
        if (only_args || a[0] != '-' || a[1] == 0) {
            pos[(*n_pos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = 1;
            continue;
        }
        if (!(op = find_option(a, table, n, &val)))
            return 2;
        snprintf(flag, sizeof flag, "--%s", op->name);
        if (op->arg && !val) {
            if (i + 1 >= argc) {
                msg_usage(flag, "needs a value (%s)", op->arg);
                return 2;
            }
            val = argv[++i];
        }
        r = apply(ctx, op, flag, val);
        if (r == ARGS_STOP)
            return 0;
        if (r)
            return r;
    }
    return 0;
}
