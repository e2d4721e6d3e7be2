/* json_doc.c - JSON documents: checks, cJSON parsing, key and element offsets, typed getters. */
#include "json_doc.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A cnf_jnode is a cJSON node; only this file knows. */
static const cJSON *J(const cnf_jnode *n) { return (const cJSON *)(const void *)n; }
static const cnf_jnode *N(const cJSON *j) { return (const cnf_jnode *)(const void *)j; }

/* ------------------------------------------------------------ positions */

void cnf__json_line_col(const char *s, size_t off, int *line, int *col)
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

static cnf_status vfail_off(cnf_error *err, cnf_status st, const char *name, const char *s,
                            size_t off, const char *fmt, va_list ap) CNF_PRINTF(6, 0);
static cnf_status vfail_off(cnf_error *err, cnf_status st, const char *name, const char *s,
                            size_t off, const char *fmt, va_list ap)
{
    char msg[400];
    int line, col;
    vsnprintf(msg, sizeof msg, fmt, ap);
    cnf__json_line_col(s, off, &line, &col);
    return cnf__fail_at(err, st, name, line, col, "%s", msg);
}

cnf_status cnf__json_fail(cnf_error *err, cnf_status st, const char *name, const char *s,
                          size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_off(err, st, name, s, off, fmt, ap);
    va_end(ap);
    return st;
}

cnf_status cnf__json_fail_limit(cnf_error *err, cnf_limit limit, const char *name, const char *s,
                                size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_off(err, CNF_E_LIMIT, name, s, off, fmt, ap);
    va_end(ap);
    if (err)
        err->limit = limit;
    return CNF_E_LIMIT;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t cnf__json_skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && is_ws(s[i]))
        i++;
    return i;
}

cnf_status cnf__json_precheck(const char *s, size_t len, const char *name, cnf_error *err)
{
    int depth = 0, in_str = 0;
    if (len >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        return cnf__json_fail(err, CNF_E_USAGE, name, s, 0,
                              "byte-order mark at the start of JSON is not allowed");
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == 0)
            return cnf__json_fail(err, CNF_E_USAGE, name, s, i, "NUL byte in JSON");
        if (in_str) {
            if ((unsigned char)c < 0x20)
                return cnf__json_fail(err, CNF_E_USAGE, name, s, i,
                                      "control character in a JSON string (write it as "
                                      "\\uXXXX)");
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
                return cnf__json_fail_limit(err, CNF_LIMIT_JSON, name, s, i,
                                            "JSON nested deeper than %d levels (limit)",
                                            CNF_MAX_JSON_DEPTH);
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return CNF_OK;
}

/* ------------------------------------------------------------ documents */

cnf_status cnf__jdoc_open(cnf_jdoc *d, const char *text, size_t len, const char *name,
                          cnf_error *err)
{
    cnf_status st;
    memset(d, 0, sizeof *d);
    d->text = text;
    d->len = len;
    d->name = name;
    d->err = err;
    if (len > CNF_MAX_JSON_BYTES)
        return cnf__fail_limit(err, CNF_E_LIMIT, CNF_LIMIT_JSON, name,
                               "JSON larger than %u bytes (limit)", CNF_MAX_JSON_BYTES);
    st = cnf__json_precheck(text, len, name, err);
    if (st)
        return st;
    d->start = cnf__json_skip_ws(text, len, 0);
    if (d->start >= len)
        return cnf__json_fail(err, CNF_E_USAGE, name, text, d->start, "empty document");
    return CNF_OK;
}

cnf_status cnf__jdoc_parse(cnf_jdoc *d)
{
    const char *parse_end = NULL;
    size_t end;
    cJSON *root = cJSON_ParseWithLengthOpts(d->text, d->len, &parse_end, 0);
    if (!root) {
        size_t off = parse_end ? (size_t)(parse_end - d->text) : 0;
        return cnf__jdoc_fail(d, CNF_E_USAGE, off > d->len ? d->len : off, "JSON syntax error");
    }
    end = cnf__json_skip_ws(d->text, d->len, (size_t)(parse_end - d->text));
    if (end < d->len) {
        cJSON_Delete(root);
        return cnf__jdoc_fail(d, CNF_E_USAGE, end, "unexpected content after the JSON document");
    }
    d->root = (cnf_jnode *)(void *)root;
    return CNF_OK;
}

void cnf__jdoc_close(cnf_jdoc *d)
{
    cJSON_Delete((cJSON *)(void *)d->root);
    d->root = NULL;
}

cnf_jval cnf__jdoc_root(const cnf_jdoc *d)
{
    cnf_jval v = {d->root, d->start};
    return v;
}

cnf_status cnf__jdoc_fail(const cnf_jdoc *d, cnf_status st, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_off(d->err, st, d->name, d->text, off, fmt, ap);
    va_end(ap);
    return st;
}

cnf_status cnf__jdoc_fail_limit(const cnf_jdoc *d, cnf_limit limit, size_t off, const char *fmt,
                                ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_off(d->err, CNF_E_LIMIT, d->name, d->text, off, fmt, ap);
    va_end(ap);
    if (d->err)
        d->err->limit = limit;
    return CNF_E_LIMIT;
}

/* ---------------------------------------------------------------- nodes */

int cnf__jnode_is_object(const cnf_jnode *n) { return cJSON_IsObject(J(n)) ? 1 : 0; }
int cnf__jnode_is_array(const cnf_jnode *n) { return cJSON_IsArray(J(n)) ? 1 : 0; }

const char *cnf__jnode_string(const cnf_jnode *n)
{
    return cJSON_IsString(J(n)) ? J(n)->valuestring : NULL;
}

int cnf__jnode_count(const cnf_jnode *n)
{
    return cJSON_IsArray(J(n)) ? cJSON_GetArraySize(J(n)) : 0;
}

const cnf_jnode *cnf__jnode_item(const cnf_jnode *n, int i)
{
    return cJSON_IsArray(J(n)) ? N(cJSON_GetArrayItem(J(n), i)) : NULL;
}

const cnf_jnode *cnf__jnode_member(const cnf_jnode *n, const char *key)
{
    return cJSON_IsObject(J(n)) ? N(cJSON_GetObjectItemCaseSensitive(J(n), key)) : NULL;
}

int cnf__jnode_finite(const cnf_jnode *n, double *x)
{
    if (!cJSON_IsNumber(J(n)) || !isfinite(J(n)->valuedouble))
        return 0;
    *x = J(n)->valuedouble;
    return 1;
}

/* ------------------------------------------------- keys and elements */

/* Skip one JSON value starting at s[i] (already validated by cJSON). */
static size_t skip_value(const char *s, size_t len, size_t i)
{
    int depth = 0;
    do {
        i = cnf__json_skip_ws(s, len, i);
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

/* The error for a key (quotes included, s[ks..ke)) that is not one of keys[0..n). */
static cnf_status unknown_key(const cnf_jdoc *d, size_t ks, size_t ke, const char *const *keys,
                              int n, const char *what)
{
    char list[200] = "";
    int shown = (int)(ke - ks > 40 ? 40 : ke - ks);
    for (int k = 0; k < n; k++) {
        strncat(list, keys[k], sizeof list - strlen(list) - 1);
        if (k + 1 < n)
            strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return cnf__jdoc_fail(d, CNF_E_USAGE, ks, "unknown key %.*s in %s (allowed: %s)", shown,
                          d->text + ks, what, list);
}

cnf_status cnf__jdoc_keys(const cnf_jdoc *d, cnf_jval obj, const char *const *keys, int n,
                          const char *what, cnf_jval *vals)
{
    const char *s = d->text;
    size_t len = d->len, i = obj.off + 1;
    uint64_t seen = 0; /* bit k: keys[k] met (n <= 64) */
    for (int k = 0; k < n; k++) {
        vals[k].node = NULL;
        vals[k].off = obj.off;
    }
    /* Keys are matched by their text as written: an escaped spelling of an allowed key is
     * not that key. */
    for (;;) {
        size_t ks, ke, val;
        int idx = -1;
        i = cnf__json_skip_ws(s, len, i);
        if (i >= len || s[i] == '}')
            return CNF_OK;
        if (s[i] == ',') {
            i++;
            continue;
        }
        ks = i; /* at '"' */
        ke = skip_value(s, len, i);
        for (int k = 0; k < n; k++) {
            size_t kl = strlen(keys[k]);
            if (ke - ks == kl + 2 && memcmp(s + ks + 1, keys[k], kl) == 0)
                idx = k;
        }
        if (idx < 0)
            return unknown_key(d, ks, ke, keys, n, what);
        if (seen >> idx & 1)
            return cnf__jdoc_fail(d, CNF_E_USAGE, ks, "duplicate key \"%s\"", keys[idx]);
        seen |= (uint64_t)1 << idx;
        i = cnf__json_skip_ws(s, len, ke) + 1; /* after ':' */
        val = cnf__json_skip_ws(s, len, i);
        vals[idx].node = cnf__jnode_member(obj.node, keys[idx]);
        vals[idx].off = val;
        i = skip_value(s, len, val);
    }
}

size_t cnf__jdoc_elements(const cnf_jdoc *d, cnf_jval arr, cnf_jval *out, size_t max)
{
    const char *s = d->text;
    size_t len = d->len, i = arr.off + 1, n = 0;
    const cJSON *item = J(arr.node) ? J(arr.node)->child : NULL;
    for (;;) {
        i = cnf__json_skip_ws(s, len, i);
        if (i >= len || s[i] == ']')
            return n;
        if (s[i] == ',') {
            i++;
            continue;
        }
        if (n < max) {
            out[n].node = N(item);
            out[n].off = i;
        }
        n++;
        item = item ? item->next : NULL;
        i = skip_value(s, len, i);
    }
}

/* ---------------------------------------------------------- typed getters */

cnf_status cnf__jdoc_int(const cnf_jdoc *d, cnf_jval v, const char *key, long lo, long hi,
                         int *out)
{
    const cJSON *j = J(v.node);
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) || j->valuedouble < lo ||
        j->valuedouble > hi)
        return cnf__jdoc_fail(d, CNF_E_USAGE, v.off, "\"%s\" must be an integer from %ld to %ld",
                              key, lo, hi);
    *out = (int)j->valuedouble;
    return CNF_OK;
}

cnf_status cnf__jdoc_int_pair(const cnf_jdoc *d, cnf_jval v, const char *key, long lo, long hi,
                              int *a, int *b)
{
    if (cnf__jnode_is_array(v.node)) {
        cnf_jval first = {cnf__jnode_item(v.node, 0), v.off};
        cnf_jval second = {cnf__jnode_item(v.node, 1), v.off};
        if (cnf__jnode_count(v.node) != 2)
            return cnf__jdoc_fail(d, CNF_E_USAGE, v.off,
                                  "\"%s\" must be an integer or [%s_Y, %s_X]", key, key, key);
        if (cnf__jdoc_int(d, first, key, lo, hi, a) || cnf__jdoc_int(d, second, key, lo, hi, b))
            return CNF_E_USAGE;
        return CNF_OK;
    }
    if (cnf__jdoc_int(d, v, key, lo, hi, a))
        return CNF_E_USAGE;
    *b = *a;
    return CNF_OK;
}

cnf_status cnf__jdoc_number(const cnf_jdoc *d, cnf_jval v, const char *key, double *out)
{
    if (!cnf__jnode_finite(v.node, out))
        return cnf__jdoc_fail(d, CNF_E_USAGE, v.off, "\"%s\" must be a finite number", key);
    return CNF_OK;
}

cnf_status cnf__jdoc_bool(const cnf_jdoc *d, cnf_jval v, const char *key, int *out)
{
    if (!cJSON_IsBool(J(v.node)))
        return cnf__jdoc_fail(d, CNF_E_USAGE, v.off, "\"%s\" must be true or false", key);
    *out = cJSON_IsTrue(J(v.node)) ? 1 : 0;
    return CNF_OK;
}

cnf_status cnf__jdoc_string(const cnf_jdoc *d, cnf_jval v, const char *key, const char **out)
{
    const char *s = cnf__jnode_string(v.node);
    if (!s)
        return cnf__jdoc_fail(d, CNF_E_USAGE, v.off, "\"%s\" must be a string", key);
    *out = s;
    return CNF_OK;
}

cnf_status cnf__jdoc_word(const cnf_jdoc *d, cnf_jval v, const char *key, cnf_vocab vocab,
                          int from, int *out)
{
    char list[200];
    const char *s = cnf__jnode_string(v.node);
    int value = s ? cnf_vocab_value(vocab, s) : -1;
    if (value >= from) {
        *out = value;
        return CNF_OK;
    }
    cnf_vocab_list(vocab, from, ", ", list, sizeof list);
    return cnf__jdoc_fail(d, CNF_E_USAGE, v.off, "\"%s\" must be one of: %s", key, list);
}
