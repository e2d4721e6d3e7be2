/* json.c - JSON documents: kernel files (through cJSON) and numeric arrays (matrices, weights).
 *
 * cJSON validates a kernel document and gives us its values; it does not
 * reject trailing content, duplicate keys or non-finite numbers (1e309
 * becomes infinity), and it does not tell where a value is.  So every
 * document is first scanned here for nesting depth, then parsed by cJSON,
 * then walked again by a small scanner that knows the offset of each
 * top-level key.  Numeric arrays are read by our own strict parser, which
 * reports line:column and never builds a node per number (a cJSON node is
 * ~64 bytes, twenty times the text of a small number).
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ positions */

static void line_col(const char *s, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (s[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static cnf_status fail_off(cnf_error *err, cnf_status st, const char *name, const char *s,
                           size_t off, const char *fmt, ...) CNF_PRINTF(6, 7);
static cnf_status fail_off(cnf_error *err, cnf_status st, const char *name, const char *s,
                           size_t off, const char *fmt, ...)
{
    char msg[400];
    int line, col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    line_col(s, off, &line, &col);
    return cnf__fail_at(err, st, name, line, col, "%s", msg);
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && is_ws(s[i]))
        i++;
    return i;
}

/* Depth pre-scan: rejects nesting over CNF_MAX_JSON_DEPTH before cJSON's
 * recursive parser sees it, NUL bytes, and a byte-order mark. */
static cnf_status precheck(const char *s, size_t len, const char *name, cnf_error *err)
{
    int depth = 0, in_str = 0;
    if (len >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        return fail_off(err, CNF_E_USAGE, name, s, 0,
                        "byte-order mark at the start of JSON is not allowed");
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == 0)
            return fail_off(err, CNF_E_USAGE, name, s, i, "NUL byte in JSON");
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > CNF_MAX_JSON_DEPTH)
                return fail_off(err, CNF_E_LIMIT, name, s, i,
                                "JSON nested deeper than %d levels (limit)", CNF_MAX_JSON_DEPTH);
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return CNF_OK;
}

/* ------------------------------------------------------ numeric arrays */

typedef struct numparser {
    const char *s;
    size_t len, pos;
    const char *name;
    cnf_error *err;
    int ndims;          /* depth of the first number seen, 0 before */
    size_t dims[3];     /* length at each depth, 0 until known */
    double *vals;
    size_t n, cap, max_values;
    cnf_status limit_status;
} numparser;

static cnf_status np_fail(numparser *p, size_t off, const char *fmt, ...) CNF_PRINTF(3, 4);
static cnf_status np_fail(numparser *p, size_t off, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail_off(p->err, CNF_E_USAGE, p->name, p->s, off, "%s", msg);
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
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    } else {
        if (i < len && (s[i] == 'N' || s[i] == 'I' || (s[i] == 'n' && s[start] != '-')))
            return np_fail(p, start, "not a finite number (NaN and Infinity are not JSON)");
        return np_fail(p, start, "expected a number");
    }
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || s[i] < '0' || s[i] > '9')
            return np_fail(p, i, "expected a digit after '.'");
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= len || s[i] < '0' || s[i] > '9')
            return np_fail(p, i, "expected a digit in the exponent");
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
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
    if (p->n >= p->max_values)
        return fail_off(p->err, p->limit_status, p->name, p->s, off,
                        "more than %zu values (limit)", p->max_values);
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        double *nv;
        if (cap > p->max_values)
            cap = p->max_values;
        nv = realloc(p->vals, cap * sizeof(double));
        if (!nv)
            return cnf__fail(p->err, CNF_E_NOMEM, p->name, "out of memory");
        p->vals = nv;
        p->cap = cap;
    }
    p->vals[p->n++] = v;
    return CNF_OK;
}

/* Parse the array whose '[' is at p->pos, at nesting depth `depth` (1 for
 * the outermost). */
static cnf_status np_array(numparser *p, int depth)
{
    size_t open = p->pos, count = 0;
    cnf_status st;
    if (depth > 3)
        return np_fail(p, open, "arrays nested deeper than 3 levels");
    p->pos++;
    p->pos = skip_ws(p->s, p->len, p->pos);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        return np_fail(p, open, "empty array");
    }
    for (;;) {
        size_t at;
        p->pos = skip_ws(p->s, p->len, p->pos);
        at = p->pos;
        if (at >= p->len)
            return np_fail(p, at, "unexpected end of input inside an array");
        if (p->s[at] == '[') {
            if (p->ndims && depth >= p->ndims)
                return np_fail(p, at, "expected a number, found an array (rows must all have "
                                      "the same nesting)");
            st = np_array(p, depth + 1);
            if (st)
                return st;
        } else {
            double v = 0;
            if (p->ndims == 0)
                p->ndims = depth;
            else if (depth != p->ndims)
                return np_fail(p, at, "expected an array, found a number (rows must all have "
                                      "the same nesting)");
            st = np_number(p, &v);
            if (st)
                return st;
            st = np_push(p, v, at);
            if (st)
                return st;
        }
        count++;
        p->pos = skip_ws(p->s, p->len, p->pos);
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
    if (p->dims[depth - 1] == 0) {
        p->dims[depth - 1] = count;
    } else if (p->dims[depth - 1] != count) {
        return np_fail(p, open, "ragged array: %zu elements where the first had %zu", count,
                       p->dims[depth - 1]);
    }
    return CNF_OK;
}

/* Parse a numeric array at s[off] (must be '['), return shape (depth, rows,
 * cols) with 1-D as 1 x 1 x n and 2-D as 1 x rows x cols.  *end_ret gets the
 * offset after it. */
static cnf_status parse_numeric(const char *s, size_t len, size_t off, const char *name,
                                size_t max_values, cnf_status limit_status, double **vals_ret,
                                size_t shape[3], int *ndims_ret, size_t *end_ret,
                                cnf_error *err)
{
    numparser p;
    cnf_status st;
    memset(&p, 0, sizeof p);
    p.s = s;
    p.len = len;
    p.pos = off;
    p.name = name;
    p.err = err;
    p.max_values = max_values;
    p.limit_status = limit_status;
    if (off >= len || s[off] != '[') {
        st = fail_off(err, CNF_E_USAGE, name, s, off, "expected an array of numbers");
        goto fail;
    }
    st = np_array(&p, 1);
    if (st)
        goto fail;
    shape[0] = p.ndims == 3 ? p.dims[0] : 1;
    shape[1] = p.ndims == 3 ? p.dims[1] : p.ndims == 2 ? p.dims[0] : 1;
    shape[2] = p.dims[p.ndims - 1];
    *vals_ret = p.vals;
    *ndims_ret = p.ndims;
    *end_ret = p.pos;
    return CNF_OK;
fail:
    free(p.vals);
    return st;
}

/* Parse a whole document that is just a numeric array. */
static cnf_status parse_numeric_doc(const char *s, size_t len, const char *name,
                                    size_t max_values, cnf_status limit_status,
                                    double **vals_ret, size_t shape[3], int *ndims_ret,
                                    cnf_error *err)
{
    size_t start, end = 0;
    cnf_status st = precheck(s, len, name, err);
    if (st)
        return st;
    start = skip_ws(s, len, 0);
    if (start >= len)
        return fail_off(err, CNF_E_USAGE, name, s, start, "empty document");
    st = parse_numeric(s, len, start, name, max_values, limit_status, vals_ret, shape,
                       ndims_ret, &end, err);
    if (st)
        return st;
    end = skip_ws(s, len, end);
    if (end < len) {
        free(*vals_ret);
        *vals_ret = NULL;
        return fail_off(err, CNF_E_USAGE, name, s, end, "unexpected content after the array");
    }
    return CNF_OK;
}

/* ------------------------------------------------------------ matrices */

cnf_status cnf__json_matrix(const char *text, size_t len, const char *name,
                            uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    double *vals = NULL;
    size_t shape[3] = {0, 0, 0};
    int nd;
    size_t maxv = (size_t)(max_pixels > SIZE_MAX / CNF_MAX_CHANNELS ? SIZE_MAX / CNF_MAX_CHANNELS
                                                                    : max_pixels) *
                  CNF_MAX_CHANNELS;
    cnf_status st = parse_numeric_doc(text, len, name, maxv, CNF_E_TOO_BIG, &vals, shape, &nd,
                                      err);
    if (st)
        return st;
    if (shape[0] > CNF_MAX_CHANNELS) {
        free(vals);
        return cnf__fail(err, CNF_E_TOO_BIG, name, "%zu channels; at most %d are supported",
                         shape[0], CNF_MAX_CHANNELS);
    }
    if ((uint64_t)shape[1] * shape[2] > max_pixels || shape[1] > INT32_MAX ||
        shape[2] > INT32_MAX) {
        free(vals);
        return cnf__fail(err, CNF_E_TOO_BIG, name,
                         "%zux%zu matrix is over the pixel limit %llu (raise it with --max-pixels)",
                         shape[2], shape[1], (unsigned long long)max_pixels);
    }
    st = cnf_image_alloc(img, (int)shape[2], (int)shape[1], (int)shape[0], 0, err);
    if (st) {
        free(vals);
        if (err)
            snprintf(err->where, sizeof err->where, "%s", name);
        return st;
    }
    for (size_t i = 0; i < shape[0] * shape[1] * shape[2]; i++)
        img->data[i] = (float)vals[i];
    free(vals);
    return CNF_OK;
}

/* ------------------------------------------------------------- kernels */

/* Skip one JSON value starting at s[i] (already validated by cJSON). */
static size_t skip_value(const char *s, size_t len, size_t i)
{
    int depth = 0;
    do {
        i = skip_ws(s, len, i);
        if (i >= len)
            return len;
        if (s[i] == '"') {
            for (i++; i < len && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            i++;
        } else if (s[i] == '[' || s[i] == '{') {
            depth++;
            i++;
        } else if (s[i] == ']' || s[i] == '}') {
            depth--;
            i++;
        } else if (s[i] == ',' || s[i] == ':') {
            i++;
        } else {
            while (i < len && !is_ws(s[i]) && s[i] != ',' && s[i] != ']' && s[i] != '}')
                i++;
        }
    } while (depth > 0);
    return i;
}

typedef struct keypos {
    char key[32];
    size_t key_off, val_off;
} keypos;

static const char *const KERNEL_KEYS[] = {"name", "weights", "divisor", "bias", "flip"};
#define N_KERNEL_KEYS 5

/* Walk the top-level object: find each key's offsets, reject unknown and
 * duplicate keys. */
static cnf_status scan_keys(const char *s, size_t len, const char *name, keypos *kp,
                            cnf_error *err)
{
    size_t i = skip_ws(s, len, 0) + 1; /* after '{' */
    for (;;) {
        size_t ks, ke;
        int idx = -1;
        i = skip_ws(s, len, i);
        if (i >= len || s[i] == '}')
            return CNF_OK;
        if (s[i] == ',') {
            i++;
            continue;
        }
        ks = i; /* at '"' */
        ke = skip_value(s, len, i);
        for (int k = 0; k < N_KERNEL_KEYS; k++) {
            size_t kl = strlen(KERNEL_KEYS[k]);
            if (ke - ks == kl + 2 && memcmp(s + ks + 1, KERNEL_KEYS[k], kl) == 0)
                idx = k;
        }
        if (idx < 0) {
            int n = (int)(ke - ks > 40 ? 40 : ke - ks);
            return fail_off(err, CNF_E_USAGE, name, s, ks,
                            "unknown key %.*s (allowed: name, weights, divisor, bias, flip)", n,
                            s + ks);
        }
        if (kp[idx].key[0])
            return fail_off(err, CNF_E_USAGE, name, s, ks, "duplicate key \"%s\"",
                            KERNEL_KEYS[idx]);
        snprintf(kp[idx].key, sizeof kp[idx].key, "%s", KERNEL_KEYS[idx]);
        kp[idx].key_off = ks;
        i = skip_ws(s, len, ke) + 1; /* after ':' */
        kp[idx].val_off = skip_ws(s, len, i);
        i = skip_value(s, len, kp[idx].val_off);
    }
}

static cnf_status kernel_from_array(const char *s, size_t len, size_t off, const char *name,
                                    const char *default_name, cnf_kernel **k_ret, size_t *end,
                                    cnf_error *err)
{
    double *vals = NULL;
    size_t shape[3] = {0, 0, 0};
    int nd = 0;
    cnf_kernel *k;
    cnf_status st;
    size_t maxv = (size_t)CNF_MAX_KERNEL_DEPTH * CNF_MAX_KERNEL_SIDE * CNF_MAX_KERNEL_SIDE;
    st = parse_numeric(s, len, off, name, maxv, CNF_E_LIMIT, &vals, shape, &nd, end, err);
    if (st)
        return st;
    if (shape[1] > CNF_MAX_KERNEL_SIDE || shape[2] > CNF_MAX_KERNEL_SIDE ||
        shape[0] > CNF_MAX_KERNEL_DEPTH) {
        free(vals);
        return fail_off(err, CNF_E_LIMIT, name, s, off,
                        "kernel of %zux%zu (depth %zu) is over the limit of %d per side and "
                        "depth %d",
                        shape[1], shape[2], shape[0], CNF_MAX_KERNEL_SIDE, CNF_MAX_KERNEL_DEPTH);
    }
    k = cnf__kernel_new((int)shape[2], (int)shape[1], (int)shape[0]);
    if (!k) {
        free(vals);
        return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
    }
    memcpy(k->weights, vals, shape[0] * shape[1] * shape[2] * sizeof(double));
    free(vals);
    k->is3d = nd == 3;
    snprintf(k->name, sizeof k->name, "%s", default_name);
    *k_ret = k;
    return CNF_OK;
}

cnf_status cnf_kernel_from_json(const char *text, size_t len, const char *name,
                                const char *default_name, cnf_kernel **k_ret, cnf_error *err)
{
    size_t start, end = 0;
    cnf_status st;
    cJSON *root = NULL;
    const char *parse_end = NULL;
    keypos kp[N_KERNEL_KEYS];
    cnf_kernel *k = NULL;

    *k_ret = NULL;
    if (len > CNF_MAX_JSON_BYTES)
        return cnf__fail(err, CNF_E_LIMIT, name, "JSON larger than %u bytes (limit)",
                         CNF_MAX_JSON_BYTES);
    st = precheck(text, len, name, err);
    if (st)
        return st;
    start = skip_ws(text, len, 0);
    if (start >= len)
        return fail_off(err, CNF_E_USAGE, name, text, start, "empty kernel document");
    if (text[start] == '[') {
        st = kernel_from_array(text, len, start, name, default_name, k_ret, &end, err);
        if (st)
            return st;
        end = skip_ws(text, len, end);
        if (end < len) {
            cnf_kernel_free(*k_ret);
            *k_ret = NULL;
            return fail_off(err, CNF_E_USAGE, name, text, end,
                            "unexpected content after the kernel");
        }
        return CNF_OK;
    }
    if (text[start] != '{')
        return fail_off(err, CNF_E_USAGE, name, text, start,
                        "expected a kernel object {\"weights\": [[...]], ...} or a matrix");

    root = cJSON_ParseWithLengthOpts(text, len, &parse_end, 0);
    if (!root) {
        size_t off = parse_end ? (size_t)(parse_end - text) : 0;
        return fail_off(err, CNF_E_USAGE, name, text, off > len ? len : off,
                        "JSON syntax error");
    }
    end = skip_ws(text, len, (size_t)(parse_end - text));
    if (end < len) {
        st = fail_off(err, CNF_E_USAGE, name, text, end, "unexpected content after the JSON "
                                                         "document");
        goto out;
    }
    memset(kp, 0, sizeof kp);
    st = scan_keys(text, len, name, kp, err);
    if (st)
        goto out;
    if (!kp[1].key[0]) {
        st = fail_off(err, CNF_E_USAGE, name, text, start, "missing key \"weights\"");
        goto out;
    }
    st = kernel_from_array(text, len, kp[1].val_off, name, default_name, &k, &end, err);
    if (st)
        goto out;
    if (kp[0].key[0]) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "name");
        if (!cJSON_IsString(v)) {
            st = fail_off(err, CNF_E_USAGE, name, text, kp[0].val_off, "\"name\" must be a string");
            goto out;
        }
        if (strlen(v->valuestring) > 256) {
            st = fail_off(err, CNF_E_LIMIT, name, text, kp[0].val_off,
                          "\"name\" is longer than 256 characters (limit)");
            goto out;
        }
        /* The {kernel} template uses the file stem (SPEC §9.4); the name is
         * informational, shown by show-kernel. */
    }
    if (kp[2].key[0]) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "divisor");
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble == 0) {
            st = fail_off(err, CNF_E_USAGE, name, text, kp[2].val_off,
                          "\"divisor\" must be a finite non-zero number");
            goto out;
        }
        k->divisor = v->valuedouble;
    }
    if (kp[3].key[0]) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "bias");
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
            st = fail_off(err, CNF_E_USAGE, name, text, kp[3].val_off,
                          "\"bias\" must be a finite number");
            goto out;
        }
        k->bias = v->valuedouble;
    }
    if (kp[4].key[0]) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "flip");
        if (!cJSON_IsBool(v)) {
            st = fail_off(err, CNF_E_USAGE, name, text, kp[4].val_off,
                          "\"flip\" must be true or false");
            goto out;
        }
        if (cJSON_IsTrue(v)) {
            cnf_kernel *f;
            st = cnf_kernel_flipped(k, &f, err);
            if (st)
                goto out;
            cnf_kernel_free(k);
            k = f;
        }
    }
    *k_ret = k;
    k = NULL;
    st = CNF_OK;
out:
    cnf_kernel_free(k);
    cJSON_Delete(root);
    return st;
}
