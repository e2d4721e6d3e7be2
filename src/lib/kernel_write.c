/* kernel_write.c - cnf_kernel_to_json: a kernel as a kernel file (cnnfilter(1), KERNELS) that reads back to the same doubles. */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest "name" the kernel parser takes (kernel_json.c): a longer one
 * is left out rather than cut, which could split a UTF-8 sequence. */
#define MAX_NAME_CHARS 256

static void put(cnf_buf *b, const char *s) { cnf__buf_put(b, s, strlen(s)); }

static void putf(cnf_buf *b, const char *fmt, ...) CNF_PRINTF(2, 3);
static void putf(cnf_buf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        cnf__buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string: quote, backslash and control characters escaped; other
 * bytes as they are (names are UTF-8). */
static void put_string(cnf_buf *b, const char *s)
{
    put(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            putf(b, "\\%c", c);
        else if (c < 0x20)
            putf(b, "\\u%04x", c);
        else
            cnf__buf_put(b, s, 1);
    }
    put(b, "\"");
}

/* %.17g: the shortest fixed width that gives back every double exactly. */
static void put_number(cnf_buf *b, double v) { putf(b, "%.17g", v); }

/* Plane d's rows as "[[...], [...]]" lines, indented by `ind`. */
static void put_plane(cnf_buf *b, const cnf_kernel *k, int d, const char *ind)
{
    put(b, "[\n");
    for (int i = 0; i < k->h; i++) {
        putf(b, "%s  [", ind);
        for (int j = 0; j < k->w; j++) {
            if (j)
                put(b, ", ");
            put_number(b, k->weights[((size_t)d * k->h + i) * k->w + j]);
        }
        put(b, i + 1 < k->h ? "],\n" : "]\n");
    }
    putf(b, "%s]", ind);
}

cnf_status cnf_kernel_to_json(const cnf_kernel *k, char **out, size_t *len, cnf_error *err)
{
    cnf_buf b = {0};
    size_t n;
    *out = NULL;
    *len = 0;
    if (k->pair[0])
        return cnf__fail(err, CNF_E_USAGE, NULL,
                         "kernel '%s' is the magnitude of a pair of kernels and has no weights "
                         "of its own to write",
                         k->name);
    n = (size_t)k->w * k->h * k->depth;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(k->weights[i]))
            return cnf__fail(err, CNF_E_USAGE, NULL, "a weight is not a finite number");
    if (!isfinite(k->bias) || !isfinite(k->divisor) || k->divisor == 0)
        return cnf__fail(err, CNF_E_USAGE, NULL, "the bias or divisor is not a finite number");
    put(&b, "{\n");
    if (k->name[0] && strlen(k->name) <= MAX_NAME_CHARS) {
        put(&b, "  \"name\": ");
        put_string(&b, k->name);
        put(&b, ",\n");
    }
    put(&b, "  \"weights\": ");
    if (k->is3d) {
        put(&b, "[\n");
        for (int d = 0; d < k->depth; d++) {
            put(&b, "    ");
            put_plane(&b, k, d, "    ");
            put(&b, d + 1 < k->depth ? ",\n" : "\n");
        }
        put(&b, "  ]");
    } else {
        put_plane(&b, k, 0, "  ");
    }
    if (k->divisor != 1) {
        put(&b, ",\n  \"divisor\": ");
        put_number(&b, k->divisor);
    }
    put(&b, ",\n  \"bias\": ");
    put_number(&b, k->bias);
    put(&b, "\n}\n");
    cnf__buf_put(&b, "", 1); /* a terminating NUL, not counted */
    if (b.failed) {
        free(b.data);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    *out = (char *)b.data;
    *len = b.len - 1;
    return CNF_OK;
}
