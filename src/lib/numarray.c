/* numarray.c - strict numeric arrays (kernel weights, matrix inputs) and JSON matrix inputs.
 *
 * Our own parser rather than cJSON's: it reports line:column, knows the shape as it goes and
 * never builds a node per number (a cJSON node is ~64 bytes, twenty times the text of a small
 * number, and matrix inputs may be large). */
#include "numarray.h"

#include "json_doc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct numparser {
    const char *s;
    size_t len, pos;
    const char *name;
    cnf_error *err;
    const cnf_numarray_cap *cap;
    int ndims;      /* depth of the first number seen, 0 before */
    size_t dims[3]; /* length at each depth, 0 until known */
    double *vals;
    size_t n, size;
} numparser;

static cnf_status np_fail(numparser *p, size_t off, const char *fmt, ...) CNF_PRINTF(3, 4);
static cnf_status np_fail(numparser *p, size_t off, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cnf__json_fail(p->err, CNF_E_USAGE, p->name, p->s, off, "%s", msg);
}

static size_t digits(const char *s, size_t len, size_t i)
{
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* JSON number grammar, strictly: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
static cnf_status np_number(numparser *p, double *v)
{
    const char *s = p->s;
    size_t i = p->pos, start = p->pos, len = p->len;
    char buf[128];
    if (i < len && s[i] == '-')
        i++;
    if (i < len && s[i] == '0') {
        i++;
    } else if (i < len && s[i] >= '1' && s[i] <= '9') {
        i = digits(s, len, i);
    } else {
        if (i < len && (s[i] == 'N' || s[i] == 'I' || (s[i] == 'n' && s[start] != '-')))
            return np_fail(p, start, "not a finite number (NaN and Infinity are not JSON)");
        return np_fail(p, start, "expected a number");
    }
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || s[i] < '0' || s[i] > '9')
            return np_fail(p, i, "expected a digit after '.'");
        i = digits(s, len, i);
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= len || s[i] < '0' || s[i] > '9')
            return np_fail(p, i, "expected a digit in the exponent");
        i = digits(s, len, i);
    }
    if (i - start >= sizeof buf)
        return np_fail(p, start, "number too long");
    memcpy(buf, s + start, i - start);
    buf[i - start] = 0;
    *v = strtod(buf, NULL);
    if (!isfinite(*v))
        return np_fail(p, start, "number '%s' is out of range (not finite)", buf);
    p->pos = i;
    return CNF_OK;
}

static cnf_status np_push(numparser *p, double v, size_t off)
{
    const cnf_numarray_cap *cap = p->cap;
    if (p->n >= cap->max_values) {
        cnf__json_fail(p->err, cap->status, p->name, p->s, off, "more than %zu values (limit)",
                       cap->max_values);
        if (p->err)
            p->err->limit = cap->limit;
        return cap->status;
    }
    if (p->n == p->size) {
        size_t size = p->size ? p->size * 2 : 64;
        double *nv;
        if (size > cap->max_values)
            size = cap->max_values;
        nv = realloc(p->vals, size * sizeof(double));
        if (!nv)
            return cnf__fail(p->err, CNF_E_NOMEM, p->name, "out of memory");
        p->vals = nv;
        p->size = size;
    }
    p->vals[p->n++] = v;
    return CNF_OK;
}

/* One element of an array at depth `depth`: a nested array or a number. */
static cnf_status np_array(numparser *p, int depth);
static cnf_status np_element(numparser *p, int depth)
{
    size_t at = p->pos;
    double v = 0;
    cnf_status st;
    if (p->s[at] == '[') {
        if (p->ndims && depth >= p->ndims)
            return np_fail(p, at, "expected a number, found an array (rows must all have the "
                                  "same nesting)");
        return np_array(p, depth + 1);
    }
    if (p->ndims == 0)
        p->ndims = depth;
    else if (depth != p->ndims)
        return np_fail(p, at, "expected an array, found a number (rows must all have the same "
                              "nesting)");
    st = np_number(p, &v);
    if (st)
        return st;
    return np_push(p, v, at);
}

/* Parse the array whose '[' is at p->pos, at nesting depth `depth` (1 for the outermost). */
static cnf_status np_array(numparser *p, int depth)
{
    size_t open = p->pos, count = 0;
    cnf_status st;
    if (depth > 3)
        return np_fail(p, open, "arrays nested deeper than 3 levels");
    p->pos = cnf__json_skip_ws(p->s, p->len, p->pos + 1);
    if (p->pos < p->len && p->s[p->pos] == ']')
        return np_fail(p, open, "empty array");
    for (;;) {
        p->pos = cnf__json_skip_ws(p->s, p->len, p->pos);
        if (p->pos >= p->len)
            return np_fail(p, p->pos, "unexpected end of input inside an array");
        st = np_element(p, depth);
        if (st)
            return st;
        count++;
        p->pos = cnf__json_skip_ws(p->s, p->len, p->pos);
        if (p->pos >= p->len)
            return np_fail(p, p->pos, "unexpected end of input inside an array");
        if (p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->s[p->pos] == ']') {
            p->pos++;
            break;
        }
        return np_fail(p, p->pos, "expected ',' or ']'");
    }
    if (p->dims[depth - 1] == 0)
        p->dims[depth - 1] = count;
    else if (p->dims[depth - 1] != count)
        return np_fail(p, open, "ragged array: %zu elements where the first had %zu", count,
                       p->dims[depth - 1]);
    return CNF_OK;
}

cnf_status cnf__numarray_parse(const char *text, size_t len, size_t off, const char *name,
                               const cnf_numarray_cap *cap, cnf_numarray *a, cnf_error *err)
{
    numparser p;
    cnf_status st;
    memset(a, 0, sizeof *a);
    memset(&p, 0, sizeof p);
    p.s = text;
    p.len = len;
    p.pos = off;
    p.name = name;
    p.err = err;
    p.cap = cap;
    if (off >= len || text[off] != '[')
        return cnf__json_fail(err, CNF_E_USAGE, name, text, off, "expected an array of numbers");
    st = np_array(&p, 1);
    if (st) {
        free(p.vals);
        return st;
    }
    a->vals = p.vals;
    a->ndims = p.ndims;
    a->shape[0] = p.ndims == 3 ? p.dims[0] : 1;
    a->shape[1] = p.ndims == 3 ? p.dims[1] : p.ndims == 2 ? p.dims[0] : 1;
    a->shape[2] = p.dims[p.ndims - 1];
    a->end = p.pos;
    return CNF_OK;
}

cnf_status cnf__numarray_doc(const char *text, size_t len, const char *name,
                             const cnf_numarray_cap *cap, cnf_numarray *a, cnf_error *err)
{
    size_t start, end;
    cnf_status st = cnf__json_precheck(text, len, name, err);
    memset(a, 0, sizeof *a);
    if (st)
        return st;
    start = cnf__json_skip_ws(text, len, 0);
    if (start >= len)
        return cnf__json_fail(err, CNF_E_USAGE, name, text, start, "empty document");
    st = cnf__numarray_parse(text, len, start, name, cap, a, err);
    if (st)
        return st;
    end = cnf__json_skip_ws(text, len, a->end);
    if (end < len) {
        cnf__numarray_free(a);
        return cnf__json_fail(err, CNF_E_USAGE, name, text, end,
                              "unexpected content after the array");
    }
    return CNF_OK;
}

void cnf__numarray_free(cnf_numarray *a)
{
    free(a->vals);
    memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------ JSON matrix inputs */

cnf_status cnf__json_matrix(const char *text, size_t len, const char *name,
                            uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    cnf_numarray a;
    const size_t *shape = a.shape;
    uint64_t max_px = max_pixels > SIZE_MAX / CNF_MAX_CHANNELS ? SIZE_MAX / CNF_MAX_CHANNELS
                                                               : max_pixels;
    cnf_numarray_cap cap = {(size_t)max_px * CNF_MAX_CHANNELS, CNF_E_TOO_BIG, CNF_LIMIT_NONE};
    cnf_status st = cnf__numarray_doc(text, len, name, &cap, &a, err);
    if (st == CNF_E_USAGE || st == CNF_E_LIMIT) {
        /* The parser is shared with kernel specs, where a bad document is a usage error; a
         * bad INPUT is a runtime failure (cnnfilter(1), EXIT STATUS). */
        if (err) {
            err->status = CNF_E_DECODE;
            err->limit = CNF_LIMIT_NONE;
        }
        return CNF_E_DECODE;
    }
    if (st)
        return st;
    if (shape[0] > CNF_MAX_CHANNELS) {
        st = cnf__fail(err, CNF_E_TOO_BIG, name, "%zu channels; at most %d are supported",
                       shape[0], CNF_MAX_CHANNELS);
        goto out;
    }
    if ((uint64_t)shape[1] * shape[2] > max_pixels || shape[1] > INT32_MAX ||
        shape[2] > INT32_MAX) {
        st = cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                             "%zux%zu matrix is over the pixel limit %llu", shape[2], shape[1],
                             (unsigned long long)max_pixels);
        goto out;
    }
    st = cnf_image_alloc(img, (int)shape[2], (int)shape[1], (int)shape[0], 0, err);
    if (st) {
        cnf__error_names_file(err, name);
        goto out;
    }
    for (size_t i = 0; i < shape[0] * shape[1] * shape[2]; i++)
        img->data[i] = (float)a.vals[i];
out:
    cnf__numarray_free(&a);
    return st;
}
