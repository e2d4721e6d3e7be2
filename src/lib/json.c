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
            if ((unsigned char)c < 0x20)
                return fail_off(err, CNF_E_USAGE, name, s, i,
                                "control character in a JSON string (write it as \\uXXXX)");
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
    size_t start = 0, end = 0;
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
    if (st == CNF_E_USAGE || st == CNF_E_LIMIT) {
        /* The parser is shared with kernel specs, where a bad document is a
         * usage error; a bad INPUT is a runtime failure (SPEC §1). */
        if (err)
            err->status = CNF_E_DECODE;
        return CNF_E_DECODE;
    }
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
        return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                         "%zux%zu matrix is over the pixel limit %llu",
                         shape[2], shape[1], (unsigned long long)max_pixels);
    }
    st = cnf_image_alloc(img, (int)shape[2], (int)shape[1], (int)shape[0], 0, err);
    if (st) {
        free(vals);
        cnf__error_names_file(err, name);
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
    int seen;
    size_t key_off, val_off;
} keypos;

/* Walk the object whose '{' is at s[obj] (validated by cJSON): record the
 * offsets of each allowed key, reject unknown and duplicate keys. */
static cnf_status scan_keys(const char *s, size_t len, size_t obj, const char *name,
                            const char *const *allowed, int n_allowed, const char *what,
                            keypos *kp, cnf_error *err)
{
    size_t i = obj + 1;
    memset(kp, 0, sizeof(keypos) * (size_t)n_allowed);
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
        for (int k = 0; k < n_allowed; k++) {
            size_t kl = strlen(allowed[k]);
            if (ke - ks == kl + 2 && memcmp(s + ks + 1, allowed[k], kl) == 0)
                idx = k;
        }
        if (idx < 0) {
            char list[200] = "";
            int n = (int)(ke - ks > 40 ? 40 : ke - ks);
            for (int k = 0; k < n_allowed; k++) {
                strncat(list, allowed[k], sizeof list - strlen(list) - 1);
                if (k + 1 < n_allowed)
                    strncat(list, ", ", sizeof list - strlen(list) - 1);
            }
            return fail_off(err, CNF_E_USAGE, name, s, ks, "unknown key %.*s in %s (allowed: %s)",
                            n, s + ks, what, list);
        }
        if (kp[idx].seen)
            return fail_off(err, CNF_E_USAGE, name, s, ks, "duplicate key \"%s\"", allowed[idx]);
        kp[idx].seen = 1;
        kp[idx].key_off = ks;
        i = skip_ws(s, len, ke) + 1; /* after ':' */
        kp[idx].val_off = skip_ws(s, len, i);
        i = skip_value(s, len, kp[idx].val_off);
    }
}

/* Offsets of the elements of the array whose '[' is at s[arr]; at most max. */
static size_t array_offsets(const char *s, size_t len, size_t arr, size_t *offs, size_t max)
{
    size_t i = arr + 1, n = 0;
    for (;;) {
        i = skip_ws(s, len, i);
        if (i >= len || s[i] == ']')
            return n;
        if (s[i] == ',') {
            i++;
            continue;
        }
        if (n < max)
            offs[n] = i;
        n++;
        i = skip_value(s, len, i);
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

static const char *const KERNEL_KEYS[] = {"name", "weights", "divisor", "bias", "flip"};
enum { K_NAME, K_WEIGHTS, K_DIVISOR, K_BIAS, K_FLIP, N_KERNEL_KEYS };

/* A kernel object at s[obj] whose cJSON node is `node`. */
static cnf_status kernel_from_object(const char *s, size_t len, size_t obj, const cJSON *node,
                                     const char *name, const char *default_name,
                                     cnf_kernel **k_ret, cnf_error *err)
{
    keypos kp[N_KERNEL_KEYS];
    cnf_kernel *k = NULL;
    size_t end;
    cnf_status st = scan_keys(s, len, obj, name, KERNEL_KEYS, N_KERNEL_KEYS, "a kernel", kp, err);
    *k_ret = NULL;
    if (st)
        return st;
    if (!kp[K_WEIGHTS].seen)
        return fail_off(err, CNF_E_USAGE, name, s, obj, "missing key \"weights\"");
    st = kernel_from_array(s, len, kp[K_WEIGHTS].val_off, name, default_name, &k, &end, err);
    if (st)
        return st;
    if (kp[K_NAME].seen) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(node, "name");
        if (!cJSON_IsString(v)) {
            st = fail_off(err, CNF_E_USAGE, name, s, kp[K_NAME].val_off, "\"name\" must be a string");
            goto out;
        }
        if (strlen(v->valuestring) > 256) {
            st = fail_off(err, CNF_E_LIMIT, name, s, kp[K_NAME].val_off,
                          "\"name\" is longer than 256 characters (limit)");
            goto out;
        }
        /* The {kernel} template uses the file stem (SPEC §9.4), so a file's
         * name is informational; a kernel written inside a pipeline has no
         * file, and its name labels it in --explain. */
        if (!default_name[0])
            snprintf(k->name, sizeof k->name, "%s", v->valuestring);
    }
    if (kp[K_DIVISOR].seen) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(node, "divisor");
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble == 0) {
            st = fail_off(err, CNF_E_USAGE, name, s, kp[K_DIVISOR].val_off,
                          "\"divisor\" must be a finite non-zero number");
            goto out;
        }
        k->divisor = v->valuedouble;
    }
    if (kp[K_BIAS].seen) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(node, "bias");
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
            st = fail_off(err, CNF_E_USAGE, name, s, kp[K_BIAS].val_off,
                          "\"bias\" must be a finite number");
            goto out;
        }
        k->bias = v->valuedouble;
    }
    if (kp[K_FLIP].seen) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(node, "flip");
        if (!cJSON_IsBool(v)) {
            st = fail_off(err, CNF_E_USAGE, name, s, kp[K_FLIP].val_off,
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
    return CNF_OK;
out:
    cnf_kernel_free(k);
    return st;
}

/* The checks every document gets before parsing: size limit, depth pre-scan,
 * not empty.  *start_ret is the offset of the first value. */
static cnf_status document_start(const char *text, size_t len, const char *name,
                                 size_t *start_ret, cnf_error *err)
{
    cnf_status st;
    if (len > CNF_MAX_JSON_BYTES)
        return cnf__fail(err, CNF_E_LIMIT, name, "JSON larger than %u bytes (limit)",
                         CNF_MAX_JSON_BYTES);
    st = precheck(text, len, name, err);
    if (st)
        return st;
    *start_ret = skip_ws(text, len, 0);
    if (*start_ret >= len)
        return fail_off(err, CNF_E_USAGE, name, text, *start_ret, "empty document");
    return CNF_OK;
}

/* Parse a whole document (already through document_start) with cJSON and
 * reject trailing content. */
static cnf_status parse_document(const char *text, size_t len, const char *name, cJSON **root_ret,
                                 cnf_error *err)
{
    const char *parse_end = NULL;
    size_t end;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &parse_end, 0);
    *root_ret = NULL;
    if (!root) {
        size_t off = parse_end ? (size_t)(parse_end - text) : 0;
        return fail_off(err, CNF_E_USAGE, name, text, off > len ? len : off, "JSON syntax error");
    }
    end = skip_ws(text, len, (size_t)(parse_end - text));
    if (end < len) {
        cJSON_Delete(root);
        return fail_off(err, CNF_E_USAGE, name, text, end,
                        "unexpected content after the JSON document");
    }
    *root_ret = root;
    return CNF_OK;
}

cnf_status cnf_kernel_from_json(const char *text, size_t len, const char *name,
                                const char *default_name, cnf_kernel **k_ret, cnf_error *err)
{
    size_t start = 0, end = 0;
    cnf_status st;
    cJSON *root = NULL;

    *k_ret = NULL;
    st = document_start(text, len, name, &start, err);
    if (st)
        return st;
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
    st = parse_document(text, len, name, &root, err);
    if (st)
        return st;
    st = kernel_from_object(text, len, start, root, name, default_name, k_ret, err);
    cJSON_Delete(root);
    return st;
}

/* ------------------------------------------------------------ pipelines */

void cnf_pipeline_free(cnf_pipeline *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        for (int k = 0; k < p->layers[i].layer.n_kernels; k++)
            cnf_kernel_free(p->layers[i].kernels[k]);
    free(p->layers);
    free(p);
}

int cnf_pipeline_n_layers(const cnf_pipeline *p) { return p->n; }

typedef struct pctx {
    const char *s;
    size_t len;
    const char *name;
    const char *base_dir;
    cnf_error *err;
} pctx;

/* An integer field: a JSON number that is an integer in [lo, hi]. */
static cnf_status get_int(const pctx *c, const cJSON *v, size_t off, const char *key, long lo,
                          long hi, int *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return fail_off(c->err, CNF_E_USAGE, c->name, c->s, off,
                        "\"%s\" must be an integer from %ld to %ld", key, lo, hi);
    *out = (int)v->valuedouble;
    return CNF_OK;
}

/* An integer or [A, B]. */
static cnf_status get_pair(const pctx *c, const cJSON *v, size_t off, const char *key, long lo,
                           long hi, int *a, int *b)
{
    if (cJSON_IsArray(v)) {
        if (cJSON_GetArraySize(v) != 2)
            return fail_off(c->err, CNF_E_USAGE, c->name, c->s, off,
                            "\"%s\" must be an integer or [%s_Y, %s_X]", key, key, key);
        if (get_int(c, cJSON_GetArrayItem(v, 0), off, key, lo, hi, a) ||
            get_int(c, cJSON_GetArrayItem(v, 1), off, key, lo, hi, b))
            return CNF_E_USAGE;
        return CNF_OK;
    }
    if (get_int(c, v, off, key, lo, hi, a))
        return CNF_E_USAGE;
    *b = *a;
    return CNF_OK;
}

static cnf_status get_enum(const pctx *c, const cJSON *v, size_t off, const char *key,
                           const char *const *names, int n, int *out)
{
    char list[200] = "";
    if (cJSON_IsString(v))
        for (int i = 0; i < n; i++)
            if (strcmp(v->valuestring, names[i]) == 0) {
                *out = i;
                return CNF_OK;
            }
    for (int i = 0; i < n; i++) {
        strncat(list, names[i], sizeof list - strlen(list) - 1);
        if (i + 1 < n)
            strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return fail_off(c->err, CNF_E_USAGE, c->name, c->s, off, "\"%s\" must be one of: %s", key,
                    list);
}

static cnf_status get_number(const pctx *c, const cJSON *v, size_t off, const char *key,
                             double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return fail_off(c->err, CNF_E_USAGE, c->name, c->s, off, "\"%s\" must be a finite number",
                        key);
    *out = v->valuedouble;
    return CNF_OK;
}

/* A kernel given as a string inside a pipeline: a built-in, an inline
 * matrix, or a file (relative to the pipeline's folder first). */
static cnf_status pipeline_kernel_spec(const pctx *c, const char *spec, size_t off,
                                       cnf_kernel **k_ret)
{
    cnf_error e;
    cnf_status st;
    char path[4200];
    const char *use = spec;
    memset(&e, 0, sizeof e);
    if (c->base_dir && c->base_dir[0] && spec[0] != '/' && spec[0] != '[') {
        FILE *f;
        snprintf(path, sizeof path, "%s/%s", c->base_dir, spec);
        f = fopen(path, "rb");
        if (f) {
            fclose(f);
            use = path;
        }
    }
    st = cnf_kernel_parse(use, "kernel", k_ret, &e);
    if (st == CNF_OK)
        return CNF_OK;
    if (e.subject == CNF_SUBJECT_SPEC)
        /* A built-in or inline spec: report it where it stands in the pipeline. */
        return fail_off(c->err, st, c->name, c->s, off, "kernel \"%.60s\": %s", spec, e.msg);
    if (c->err)
        *c->err = e;
    return st;
}

static const char *const LAYER_TYPES[] = {"conv", "relu", "abs", "leaky_relu", "sigmoid", "tanh",
                                          "maxpool", "avgpool", "minpool", "combine"};

static cnf_status parse_layer(const pctx *c, size_t off, const cJSON *node, int index,
                              cnf_pl_layer *L)
{
    static const char *const conv_keys[] = {"type", "kernels", "padding", "stride", "dilation",
                                            "border", "channels", "bias"};
    static const char *const pool_keys[] = {"type", "size", "stride", "padding", "ceil"};
    static const char *const leaky_keys[] = {"type", "slope"};
    static const char *const combine_keys[] = {"type", "mode"};
    static const char *const type_only[] = {"type"};
    static const char *const borders[] = {"zero", "replicate", "reflect", "mirror", "wrap"};
    static const char *const channels[] = {"auto", "gray", "rgb", "sum"};
    static const char *const modes[] = {"none", "magnitude", "max", "sum"};
    keypos kp[8];
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(node, "type");
    char what[64];
    int t = -1;
    cnf_status st;

    cnf_layer_init(&L->layer);
    line_col(c->s, off, &L->line, &L->col);
    if (!cJSON_IsObject(node))
        return fail_off(c->err, CNF_E_USAGE, c->name, c->s, off, "layer %d must be an object",
                        index + 1);
    if (!cJSON_IsString(type))
        return fail_off(c->err, CNF_E_USAGE, c->name, c->s, off,
                        "layer %d needs a \"type\" (conv, relu, abs, leaky_relu, sigmoid, tanh, "
                        "maxpool, avgpool, minpool, combine)",
                        index + 1);
    for (int i = 0; i < 10; i++)
        if (strcmp(type->valuestring, LAYER_TYPES[i]) == 0)
            t = i;
    if (t < 0)
        return fail_off(c->err, CNF_E_USAGE, c->name, c->s, off,
                        "layer %d: unknown type \"%.40s\"", index + 1, type->valuestring);
    snprintf(L->type, sizeof L->type, "%s", LAYER_TYPES[t]);
    snprintf(what, sizeof what, "a %s layer", LAYER_TYPES[t]);

    if (t == 0) { /* conv */
        const cJSON *ks = cJSON_GetObjectItemCaseSensitive(node, "kernels");
        size_t offs[CNF_MAX_LAYER_KERNELS];
        size_t n;
        int i = 0;
        const cJSON *k;
        L->kind = CNF_LAYER_CONV;
        L->layer.channels = CNF_CH_SUM; /* SPEC §9.12: feature maps from all channels */
        st = scan_keys(c->s, c->len, off, c->name, conv_keys, 8, what, kp, c->err);
        if (st)
            return st;
        if (!kp[1].seen || !cJSON_IsArray(ks) || cJSON_GetArraySize(ks) < 1)
            return fail_off(c->err, CNF_E_USAGE, c->name, c->s, kp[1].seen ? kp[1].val_off : off,
                            "a conv layer needs \"kernels\": a non-empty array");
        n = array_offsets(c->s, c->len, kp[1].val_off, offs, CNF_MAX_LAYER_KERNELS);
        if (n > CNF_MAX_LAYER_KERNELS)
            return fail_off(c->err, CNF_E_LIMIT, c->name, c->s, kp[1].val_off,
                            "more than %d kernels in one layer (limit)", CNF_MAX_LAYER_KERNELS);
        cJSON_ArrayForEach(k, ks)
        {
            if (cJSON_IsString(k))
                st = pipeline_kernel_spec(c, k->valuestring, offs[i], &L->kernels[i]);
            else if (cJSON_IsObject(k))
                st = kernel_from_object(c->s, c->len, offs[i], k, c->name, "", &L->kernels[i],
                                        c->err);
            else
                st = fail_off(c->err, CNF_E_USAGE, c->name, c->s, offs[i],
                              "a kernel must be a spec string or a kernel object");
            if (st)
                return st;
            if (!L->kernels[i]->name[0])
                snprintf(L->kernels[i]->name, sizeof L->kernels[i]->name, "k%d", i);
            L->kptr[i] = L->kernels[i];
            L->layer.n_kernels = ++i;
        }
        L->layer.kernels = L->kptr;
        if (kp[2].seen) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(node, "padding");
            if (cJSON_IsString(v) && strcmp(v->valuestring, "valid") == 0) {
                L->layer.padding = CNF_PAD_VALID;
            } else if (cJSON_IsString(v) && strcmp(v->valuestring, "same") == 0) {
                L->layer.padding = CNF_PAD_SAME;
            } else {
                L->layer.padding = CNF_PAD_EXPLICIT;
                if (get_pair(c, v, kp[2].val_off, "padding", 0, 1 << 20, &L->layer.pad_h,
                             &L->layer.pad_w))
                    return CNF_E_USAGE;
            }
        }
        if (kp[3].seen &&
            get_pair(c, cJSON_GetObjectItemCaseSensitive(node, "stride"), kp[3].val_off, "stride",
                     1, 1 << 20, &L->layer.stride_y, &L->layer.stride_x))
            return CNF_E_USAGE;
        if (kp[4].seen && get_int(c, cJSON_GetObjectItemCaseSensitive(node, "dilation"),
                                  kp[4].val_off, "dilation", 1, 1 << 16, &L->layer.dilation))
            return CNF_E_USAGE;
        if (kp[5].seen) {
            int v = 0;
            if (get_enum(c, cJSON_GetObjectItemCaseSensitive(node, "border"), kp[5].val_off,
                         "border", borders, 5, &v))
                return CNF_E_USAGE;
            L->layer.border = (cnf_border)v;
        }
        if (kp[6].seen) {
            int v = 0;
            if (get_enum(c, cJSON_GetObjectItemCaseSensitive(node, "channels"), kp[6].val_off,
                         "channels", channels, 4, &v))
                return CNF_E_USAGE;
            L->layer.channels = (cnf_channels)v;
        }
        if (kp[7].seen) {
            /* A number for every map, or one bias per kernel (as a CNN layer has). */
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(node, "bias");
            if (cJSON_IsArray(v)) {
                const cJSON *b;
                int j = 0;
                if (cJSON_GetArraySize(v) != L->layer.n_kernels)
                    return fail_off(c->err, CNF_E_USAGE, c->name, c->s, kp[7].val_off,
                                    "\"bias\" has %d values for %d kernels",
                                    cJSON_GetArraySize(v), L->layer.n_kernels);
                cJSON_ArrayForEach(b, v)
                {
                    double x = 0;
                    if (get_number(c, b, kp[7].val_off, "bias", &x))
                        return CNF_E_USAGE;
                    L->kernels[j++]->bias += x;
                }
            } else if (get_number(c, v, kp[7].val_off, "bias", &L->layer.bias)) {
                return CNF_E_USAGE;
            }
        }
        return CNF_OK;
    }
    if (t >= 1 && t <= 5) { /* activations */
        L->kind = CNF_LAYER_ACT;
        L->layer.activation = (cnf_activation)t; /* same order as cnf_activation */
        if (t == 3) {
            st = scan_keys(c->s, c->len, off, c->name, leaky_keys, 2, what, kp, c->err);
            if (st)
                return st;
            if (kp[1].seen && get_number(c, cJSON_GetObjectItemCaseSensitive(node, "slope"),
                                         kp[1].val_off, "slope", &L->layer.activation_param))
                return CNF_E_USAGE;
            return CNF_OK;
        }
        return scan_keys(c->s, c->len, off, c->name, type_only, 1, what, kp, c->err);
    }
    if (t >= 6 && t <= 8) { /* pools */
        L->kind = CNF_LAYER_POOL;
        L->layer.pool = t == 6 ? CNF_POOL_MAX : t == 7 ? CNF_POOL_AVG : CNF_POOL_MIN;
        st = scan_keys(c->s, c->len, off, c->name, pool_keys, 5, what, kp, c->err);
        if (st)
            return st;
        if (kp[1].seen && get_int(c, cJSON_GetObjectItemCaseSensitive(node, "size"),
                                  kp[1].val_off, "size", 1, CNF_MAX_KERNEL_SIDE,
                                  &L->layer.pool_size))
            return CNF_E_USAGE;
        if (kp[2].seen && get_int(c, cJSON_GetObjectItemCaseSensitive(node, "stride"),
                                  kp[2].val_off, "stride", 1, 1 << 20, &L->layer.pool_stride))
            return CNF_E_USAGE;
        if (kp[3].seen && get_int(c, cJSON_GetObjectItemCaseSensitive(node, "padding"),
                                  kp[3].val_off, "padding", 0, CNF_MAX_KERNEL_SIDE,
                                  &L->layer.pool_padding))
            return CNF_E_USAGE;
        if (kp[4].seen) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(node, "ceil");
            if (!cJSON_IsBool(v))
                return fail_off(c->err, CNF_E_USAGE, c->name, c->s, kp[4].val_off,
                                "\"ceil\" must be true or false");
            L->layer.pool_ceil = cJSON_IsTrue(v);
        }
        if (L->layer.pool_padding * 2 > L->layer.pool_size)
            return fail_off(c->err, CNF_E_USAGE, c->name, c->s, kp[3].val_off,
                            "pool padding %d is more than half the window %d",
                            L->layer.pool_padding, L->layer.pool_size);
        return CNF_OK;
    }
    /* combine */
    L->kind = CNF_LAYER_COMBINE;
    st = scan_keys(c->s, c->len, off, c->name, combine_keys, 2, what, kp, c->err);
    if (st)
        return st;
    if (!kp[1].seen)
        return fail_off(c->err, CNF_E_USAGE, c->name, c->s, off,
                        "a combine layer must name its \"mode\" (magnitude, max or sum)");
    {
        int v = 0;
        if (get_enum(c, cJSON_GetObjectItemCaseSensitive(node, "mode"), kp[1].val_off, "mode",
                     modes + 1, 3, &v))
            return CNF_E_USAGE;
        L->layer.combine = (cnf_combine)(v + 1);
    }
    return CNF_OK;
}

cnf_status cnf_pipeline_parse(const char *text, size_t len, const char *name,
                              const char *base_dir, cnf_pipeline **p_ret, cnf_error *err)
{
    static const char *const top_keys[] = {"layers", "name", "description"};
    cJSON *root = NULL;
    size_t start = 0, offs[CNF_MAX_LAYERS];
    keypos kp[3];
    cnf_pipeline *p = NULL;
    const cJSON *layers, *l;
    pctx c = {text, len, name, base_dir, err};
    size_t n;
    cnf_status st;
    int i = 0;

    *p_ret = NULL;
    st = document_start(text, len, name, &start, err);
    if (st)
        return st;
    st = parse_document(text, len, name, &root, err);
    if (st)
        return st;
    if (!cJSON_IsObject(root)) {
        st = fail_off(err, CNF_E_USAGE, name, text, start,
                      "a pipeline is an object {\"layers\": [...]}");
        goto out;
    }
    st = scan_keys(text, len, start, name, top_keys, 3, "a pipeline", kp, err);
    if (st)
        goto out;
    layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    if (!kp[0].seen || !cJSON_IsArray(layers) || cJSON_GetArraySize(layers) < 1) {
        st = fail_off(err, CNF_E_USAGE, name, text, kp[0].seen ? kp[0].val_off : start,
                      "a pipeline needs \"layers\": a non-empty array");
        goto out;
    }
    n = array_offsets(text, len, kp[0].val_off, offs, CNF_MAX_LAYERS);
    if (n > CNF_MAX_LAYERS) {
        st = fail_off(err, CNF_E_LIMIT, name, text, kp[0].val_off,
                      "more than %d layers (limit)", CNF_MAX_LAYERS);
        goto out;
    }
    p = calloc(1, sizeof *p);
    if (p)
        p->layers = calloc(n, sizeof *p->layers);
    if (!p || !p->layers) {
        st = cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
        goto out;
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    cJSON_ArrayForEach(l, layers)
    {
        p->n = i + 1;
        st = parse_layer(&c, offs[i], l, i, &p->layers[i]);
        if (st)
            goto out;
        i++;
    }
    *p_ret = p;
    p = NULL;
out:
    cnf_pipeline_free(p);
    cJSON_Delete(root);
    return st;
}
