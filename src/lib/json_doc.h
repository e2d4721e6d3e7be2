/* json_doc.h - JSON documents for the kernel and pipeline parsers: the checks every document
 * gets, cJSON behind an opaque node, the offsets of keys and elements, typed getters that
 * report line:column.  json_doc.c is the one file that includes cJSON.
 *
 * cJSON validates a document and gives us its values; it does not reject trailing content,
 * duplicate keys or non-finite numbers (1e309 becomes infinity), and it does not tell where a
 * value is.  So every document is first scanned for nesting depth and bad bytes, then parsed
 * by cJSON, and the objects the parsers read are walked again by a small scanner that knows
 * the offset of each key and element. */
#ifndef CNF_JSON_DOC_H
#define CNF_JSON_DOC_H

#include "internal.h"

/* cnf_jnode - a value in a parsed document (opaque outside json_doc.c). */
typedef struct cnf_jnode cnf_jnode;

/* cnf_jdoc - a document being read.  Fill it with cnf__jdoc_open, parse it with
 * cnf__jdoc_parse, release it with cnf__jdoc_close.  `err` is the caller's (may be NULL). */
typedef struct cnf_jdoc {
    const char *text;
    size_t len;
    const char *name;  /* the document's name in errors */
    cnf_error *err;
    size_t start;      /* offset of the top-level value */
    cnf_jnode *root;   /* after cnf__jdoc_parse */
} cnf_jdoc;

/* cnf_jval - a value and its offset in the text.  node NULL: the value is absent, and off is
 * where an error about it is reported (the enclosing object). */
typedef struct cnf_jval {
    const cnf_jnode *node;
    size_t off;
} cnf_jval;

/* ------------------------------------------------------------ positions */

/* cnf__json_line_col - the 1-based line and column of byte `off` of s. */
void cnf__json_line_col(const char *s, size_t off, int *line, int *col);
/* cnf__json_skip_ws - the first offset from i on that is not JSON white space (or len). */
size_t cnf__json_skip_ws(const char *s, size_t len, size_t i);
/* cnf__json_fail - fill err with status st, file `name` and the line:column of s[off]. */
cnf_status cnf__json_fail(cnf_error *err, cnf_status st, const char *name, const char *s,
                          size_t off, const char *fmt, ...) CNF_PRINTF(6, 7);
/* cnf__json_fail_limit - cnf__json_fail with CNF_E_LIMIT, recording `limit`. */
cnf_status cnf__json_fail_limit(cnf_error *err, cnf_limit limit, const char *name, const char *s,
                                size_t off, const char *fmt, ...) CNF_PRINTF(6, 7);

/* cnf__json_precheck - what cJSON would accept or choke on and we refuse: a byte-order mark,
 * NUL bytes, raw control characters inside strings, nesting over CNF_MAX_JSON_DEPTH (a
 * CNF_E_LIMIT, checked before any recursive parser sees the text).  Others: CNF_E_USAGE. */
cnf_status cnf__json_precheck(const char *s, size_t len, const char *name, cnf_error *err);

/* ------------------------------------------------------------ documents */

/* cnf__jdoc_open - the checks every kernel or pipeline document gets before parsing: at most
 * CNF_MAX_JSON_BYTES, cnf__json_precheck, not empty.  Sets d->start. */
cnf_status cnf__jdoc_open(cnf_jdoc *d, const char *text, size_t len, const char *name,
                          cnf_error *err);
/* cnf__jdoc_parse - parse an opened document with cJSON, rejecting trailing content. */
cnf_status cnf__jdoc_parse(cnf_jdoc *d);
/* cnf__jdoc_close - release the parsed tree.  Safe on an unparsed document. */
void cnf__jdoc_close(cnf_jdoc *d);
/* cnf__jdoc_root - the top-level value (after cnf__jdoc_parse). */
cnf_jval cnf__jdoc_root(const cnf_jdoc *d);
/* cnf__jdoc_fail / cnf__jdoc_fail_limit - an error at offset `off` of the document. */
cnf_status cnf__jdoc_fail(const cnf_jdoc *d, cnf_status st, size_t off, const char *fmt, ...)
    CNF_PRINTF(4, 5);
cnf_status cnf__jdoc_fail_limit(const cnf_jdoc *d, cnf_limit limit, size_t off, const char *fmt,
                                ...) CNF_PRINTF(4, 5);

/* ---------------------------------------------------------------- nodes */

int cnf__jnode_is_object(const cnf_jnode *n);
int cnf__jnode_is_array(const cnf_jnode *n);
/* cnf__jnode_string - the string's text, or NULL when n is not a string. */
const char *cnf__jnode_string(const cnf_jnode *n);
/* cnf__jnode_count - the number of elements of an array (0 for anything else). */
int cnf__jnode_count(const cnf_jnode *n);
/* cnf__jnode_item - element i of an array, or NULL. */
const cnf_jnode *cnf__jnode_item(const cnf_jnode *n, int i);
/* cnf__jnode_member - the value of `key` in an object, or NULL. */
const cnf_jnode *cnf__jnode_member(const cnf_jnode *n, const char *key);
/* cnf__jnode_finite - 1 and *x when n is a finite number; 0 otherwise. */
int cnf__jnode_finite(const cnf_jnode *n, double *x);

/* ------------------------------------------------- keys and elements */

/* cnf__jdoc_keys - walk the object `obj`: every key must be one of keys[0..n) (n <= 64) and
 * appear once (else CNF_E_USAGE at the key, naming `what`, e.g. "a kernel").  vals[i] gets
 * the value of keys[i] and its offset, or node NULL and obj.off when absent. */
cnf_status cnf__jdoc_keys(const cnf_jdoc *d, cnf_jval obj, const char *const *keys, int n,
                          const char *what, cnf_jval *vals);
/* cnf__jdoc_elements - the elements of the array `arr` with their offsets: fills out[0..max)
 * and returns the number of elements (which may be more than max). */
size_t cnf__jdoc_elements(const cnf_jdoc *d, cnf_jval arr, cnf_jval *out, size_t max);

/* ------------------------------------------- typed getters (v present) */

/* Each fails with CNF_E_USAGE at v.off, naming `key`, when v is not of its type. */
/* cnf__jdoc_int - an integer in [lo, hi]. */
cnf_status cnf__jdoc_int(const cnf_jdoc *d, cnf_jval v, const char *key, long lo, long hi,
                         int *out);
/* cnf__jdoc_int_pair - an integer N (*a = *b = N) or [A, B], each in [lo, hi]. */
cnf_status cnf__jdoc_int_pair(const cnf_jdoc *d, cnf_jval v, const char *key, long lo, long hi,
                              int *a, int *b);
/* cnf__jdoc_number - a finite number. */
cnf_status cnf__jdoc_number(const cnf_jdoc *d, cnf_jval v, const char *key, double *out);
/* cnf__jdoc_bool - true (1) or false (0). */
cnf_status cnf__jdoc_bool(const cnf_jdoc *d, cnf_jval v, const char *key, int *out);
/* cnf__jdoc_string - a string; *out points into the document's tree. */
cnf_status cnf__jdoc_string(const cnf_jdoc *d, cnf_jval v, const char *key, const char **out);
/* cnf__jdoc_word - a word of vocabulary `vocab` whose value is at least `from`; *out gets
 * that value.  The error lists the allowed words. */
cnf_status cnf__jdoc_word(const cnf_jdoc *d, cnf_jval v, const char *key, cnf_vocab vocab,
                          int from, int *out);

#endif
