/* common.c - errors, image allocation, border mapping and rounding shared by all stages. */
#define _DEFAULT_SOURCE /* madvise */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

const char *cnf_strerror(cnf_status s)
{
    switch (s) {
    case CNF_OK: return "success";
    case CNF_E_NOMEM: return "out of memory";
    case CNF_E_USAGE: return "invalid argument";
    case CNF_E_LIMIT: return "limit exceeded";
    case CNF_E_DECODE: return "cannot decode input";
    case CNF_E_TOO_BIG: return "too large";
    case CNF_E_EMPTY: return "no output pixels";
    case CNF_E_IO: return "input/output error";
    case CNF_E_FORMAT: return "output format cannot hold the result";
    }
    return "unknown error";
}

int cnf_status_is_usage(cnf_status s)
{
    return s == CNF_E_USAGE || s == CNF_E_LIMIT || s == CNF_E_FORMAT;
}

static cnf_status vfail(cnf_error *err, cnf_status st, cnf_subject subject, const char *where,
                        int line, int col, const char *fmt, va_list ap) CNF_PRINTF(7, 0);
static cnf_status vfail(cnf_error *err, cnf_status st, cnf_subject subject, const char *where,
                        int line, int col, const char *fmt, va_list ap)
{
    if (!err)
        return st;
    memset(err, 0, sizeof *err);
    err->status = st;
    err->subject = where && where[0] ? subject : CNF_SUBJECT_NONE;
    err->line = line;
    err->col = col;
    snprintf(err->where, sizeof err->where, "%s", where ? where : "");
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return st;
}

cnf_status cnf__fail(cnf_error *err, cnf_status st, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(err, st, CNF_SUBJECT_FILE, where, 0, 0, fmt, ap);
    va_end(ap);
    return st;
}

cnf_status cnf__fail_at(cnf_error *err, cnf_status st, const char *where, int line, int col,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(err, st, CNF_SUBJECT_FILE, where, line, col, fmt, ap);
    va_end(ap);
    return st;
}

cnf_status cnf__fail_setting(cnf_error *err, cnf_status st, const char *setting, const char *fmt,
                             ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(err, st, CNF_SUBJECT_SETTING, setting, 0, 0, fmt, ap);
    va_end(ap);
    return st;
}

cnf_status cnf__fail_limit(cnf_error *err, cnf_status st, cnf_limit limit, const char *where,
                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(err, st, CNF_SUBJECT_FILE, where, 0, 0, fmt, ap);
    va_end(ap);
    if (err)
        err->limit = limit;
    return st;
}

cnf_status cnf__fail_errno(cnf_error *err, cnf_status st, const char *where, int e,
                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(err, st, CNF_SUBJECT_FILE, where, 0, 0, fmt, ap);
    va_end(ap);
    if (err)
        err->sys_errno = e;
    return st;
}

void cnf__error_names_file(cnf_error *err, const char *name)
{
    if (!err || !name || !name[0])
        return;
    snprintf(err->where, sizeof err->where, "%s", name);
    err->subject = CNF_SUBJECT_FILE;
}

void cnf__huge_pages(void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), e = ((uintptr_t)p + n) & ~(huge - 1);
    if (p && n >= 2 * huge && e > a)
        (void)madvise((void *)a, (size_t)(e - a), MADV_HUGEPAGE); /* only advice */
#else
    (void)p;
    (void)n;
#endif
}

cnf_status cnf_image_alloc(cnf_image *img, int width, int height, int channels, int has_alpha,
                           cnf_error *err)
{
    size_t n, bytes;
    memset(img, 0, sizeof *img);
    if (width <= 0 || height <= 0 || channels <= 0)
        return cnf__fail(err, CNF_E_USAGE, NULL, "image of %dx%dx%d has no pixels", width,
                         height, channels);
    if (!cnf__mul3((size_t)width, (size_t)height, (size_t)channels, &n) ||
        !cnf__mul(n, sizeof(float), &bytes))
        return cnf__fail(err, CNF_E_TOO_BIG, NULL, "image of %dx%dx%d is too large", width,
                         height, channels);
    img->data = calloc(n, sizeof(float));
    if (!img->data)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory allocating %zu bytes", bytes);
    cnf__huge_pages(img->data, bytes);
    img->width = width;
    img->height = height;
    img->channels = channels;
    img->has_alpha = has_alpha ? 1 : 0;
    return CNF_OK;
}

void cnf_image_free(cnf_image *img)
{
    if (!img)
        return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

cnf_status cnf_image_group(const cnf_image *all, int n_groups, int g, cnf_image *out,
                           cnf_error *err)
{
    int colour = all->channels - all->has_alpha;
    int per = colour / n_groups;
    size_t plane = (size_t)all->width * (size_t)all->height;
    cnf_status st = cnf_image_alloc(out, all->width, all->height, per + all->has_alpha,
                                    all->has_alpha, err);
    if (st)
        return st;
    memcpy(out->data, all->data + (size_t)g * per * plane, (size_t)per * plane * sizeof(float));
    if (all->has_alpha)
        memcpy(cnf_image_plane(out, per), cnf_image_plane(all, colour), plane * sizeof(float));
    return CNF_OK;
}

void cnf__buf_put(cnf_buf *b, const void *p, size_t n)
{
    if (b->failed || n == 0)
        return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        unsigned char *nd;
        while (n > cap - b->len) {
            if (cap > SIZE_MAX / 2) {
                b->failed = 1;
                return;
            }
            cap *= 2;
        }
        nd = realloc(b->data, cap);
        if (!nd) {
            b->failed = 1;
            return;
        }
        b->data = nd;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

int cnf__border_index(cnf_border b, int i, int n)
{
    if (i >= 0 && i < n)
        return i;
    switch (b) {
    case CNF_BORDER_ZERO:
        return -1;
    case CNF_BORDER_REPLICATE:
        return i < 0 ? 0 : n - 1;
    case CNF_BORDER_WRAP: {
        int r = i % n;
        return r < 0 ? r + n : r;
    }
    case CNF_BORDER_REFLECT: {
        /* cba|abc|cba: period 2n, edge repeated. */
        long p = 2L * n;
        long r = i % p;
        if (r < 0)
            r += p;
        return (int)(r < n ? r : p - 1 - r);
    }
    case CNF_BORDER_MIRROR: {
        /* cb|abc|ba: period 2n-2, edge not repeated; n == 1 repeats (§9.11). */
        if (n == 1)
            return 0;
        long p = 2L * n - 2;
        long r = i % p;
        if (r < 0)
            r += p;
        return (int)(r < n ? r : p - r);
    }
    }
    return -1;
}

double cnf__round_even(double v)
{
    if (isnan(v))
        return 0;
    /* nearbyint honours the current rounding mode, which is round-to-nearest-
     * even unless someone changed it; we never do. */
    return nearbyint(v);
}

char *cnf__strdup(const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s ? s : "", n);
    return d;
}
