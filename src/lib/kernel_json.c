/* kernel_json.c - kernels written in JSON: kernel documents and objects, inline matrices. */
#include "kernel_json.h"

#include "numarray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The longest "name" kept: a label for --explain and errors, not a place for prose. */
#define MAX_NAME_CHARS 256

/* A kernel from the numeric array at s[off] (named default_name), of depth up to max_depth;
 * *ndims_ret gets how deep it nested, *end_ret the offset after it. */
static cnf_status kernel_from_array(const char *s, size_t len, size_t off, const char *name,
                                    const char *default_name, int max_depth, cnf_kernel **k_ret,
                                    int *ndims_ret, size_t *end_ret, cnf_error *err)
{
    /* The most weights a kernel can have: any more is over a side or the depth limit, so the
     * parser stops there instead of reading (and allocating) the rest. */
    cnf_numarray_cap cap = {(size_t)max_depth * CNF_MAX_KERNEL_SIDE * CNF_MAX_KERNEL_SIDE,
                            CNF_E_LIMIT, CNF_LIMIT_KERNEL};
    cnf_numarray a;
    cnf_kernel *k;
    cnf_status st = cnf__numarray_parse(s, len, off, name, &cap, &a, err);
    if (st)
        return st;
    if (a.shape[1] > CNF_MAX_KERNEL_SIDE || a.shape[2] > CNF_MAX_KERNEL_SIDE ||
        a.shape[0] > (size_t)max_depth) {
        st = cnf__json_fail_limit(err, CNF_LIMIT_KERNEL, name, s, off,
                                  "kernel of %zux%zu (depth %zu) is over the limit of %d per "
                                  "side and depth %d",
                                  a.shape[1], a.shape[2], a.shape[0], CNF_MAX_KERNEL_SIDE,
                                  max_depth);
        goto out;
    }
    k = cnf__kernel_new((int)a.shape[2], (int)a.shape[1], (int)a.shape[0]);
    if (!k) {
        st = cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
        goto out;
    }
    memcpy(k->weights, a.vals, a.shape[0] * a.shape[1] * a.shape[2] * sizeof(double));
    k->is3d = a.ndims == 3;
    snprintf(k->name, sizeof k->name, "%s", default_name);
    *k_ret = k;
    *ndims_ret = a.ndims;
    *end_ret = a.end;
out:
    cnf__numarray_free(&a);
    return st;
}

/* A whole document that is one numeric array: the kernel, then only white space. */
static cnf_status kernel_from_matrix_doc(const cnf_jdoc *d, const char *default_name,
                                         cnf_kernel **k_ret)
{
    int nd = 0;
    size_t end = 0;
    cnf_status st = kernel_from_array(d->text, d->len, d->start, d->name, default_name,
                                      CNF_MAX_KERNEL_DEPTH, k_ret, &nd, &end, d->err);
    if (st)
        return st;
    end = cnf__json_skip_ws(d->text, d->len, end);
    if (end < d->len) {
        cnf_kernel_free(*k_ret);
        *k_ret = NULL;
        return cnf__jdoc_fail(d, CNF_E_USAGE, end, "unexpected content after the kernel");
    }
    return CNF_OK;
}

cnf_status cnf__kernel_from_inline(const char *text, size_t len, const char *label,
                                   cnf_kernel **k_ret, cnf_error *err)
{
    cnf_jdoc d;
    cnf_status st = cnf__jdoc_open(&d, text, len, label, err);
    *k_ret = NULL;
    if (st)
        return st;
    return kernel_from_matrix_doc(&d, "", k_ret);
}

enum { K_NAME, K_WEIGHTS, K_DIVISOR, K_BIAS, K_FLIP, N_KERNEL_KEYS };
static const char *const KERNEL_KEYS[N_KERNEL_KEYS] = {
    [K_NAME] = "name", [K_WEIGHTS] = "weights", [K_DIVISOR] = "divisor", [K_BIAS] = "bias",
    [K_FLIP] = "flip"};

/* The keys after "weights": name, divisor, bias, flip (which may replace *k). */
static cnf_status kernel_settings(const cnf_jdoc *d, const cnf_jval *v, const char *default_name,
                                  cnf_kernel **k)
{
    const char *name;
    int flip = 0;
    if (v[K_NAME].node) {
        if (cnf__jdoc_string(d, v[K_NAME], "name", &name))
            return CNF_E_USAGE;
        if (strlen(name) > MAX_NAME_CHARS)
            return cnf__jdoc_fail_limit(d, CNF_LIMIT_JSON, v[K_NAME].off,
                                        "\"name\" is longer than %d characters (limit)",
                                        MAX_NAME_CHARS);
        /* The {kernel} template uses the file stem (cnnfilter(1), Filter banks and file name
         * templates), so a file's name is informational; a kernel written inside a pipeline
         * has no file, and its name labels it in --explain. */
        if (!default_name[0])
            snprintf((*k)->name, sizeof (*k)->name, "%s", name);
    }
    if (v[K_DIVISOR].node) {
        double x = 0;
        if (!cnf__jnode_finite(v[K_DIVISOR].node, &x) || x == 0)
            return cnf__jdoc_fail(d, CNF_E_USAGE, v[K_DIVISOR].off,
                                  "\"divisor\" must be a finite non-zero number");
        (*k)->divisor = x;
    }
    if (v[K_BIAS].node && cnf__jdoc_number(d, v[K_BIAS], "bias", &(*k)->bias))
        return CNF_E_USAGE;
    if (v[K_FLIP].node && cnf__jdoc_bool(d, v[K_FLIP], "flip", &flip))
        return CNF_E_USAGE;
    if (flip) {
        cnf_kernel *f;
        cnf_status st = cnf_kernel_flipped(*k, &f, d->err);
        if (st)
            return st;
        cnf_kernel_free(*k);
        *k = f;
    }
    return CNF_OK;
}

cnf_status cnf__kernel_from_object(const cnf_jdoc *d, cnf_jval obj, const char *default_name,
                                   cnf_kernel **k_ret)
{
    return cnf__kernel_from_object_deep(d, obj, default_name, CNF_MAX_KERNEL_DEPTH, k_ret);
}

cnf_status cnf__kernel_from_object_deep(const cnf_jdoc *d, cnf_jval obj, const char *default_name,
                                        int max_depth, cnf_kernel **k_ret)
{
    cnf_jval v[N_KERNEL_KEYS];
    cnf_kernel *k = NULL;
    size_t end = 0;
    int nd = 0;
    cnf_status st = cnf__jdoc_keys(d, obj, KERNEL_KEYS, N_KERNEL_KEYS, "a kernel", v);
    *k_ret = NULL;
    if (st)
        return st;
    if (!v[K_WEIGHTS].node)
        return cnf__jdoc_fail(d, CNF_E_USAGE, obj.off, "missing key \"weights\"");
    st = kernel_from_array(d->text, d->len, v[K_WEIGHTS].off, d->name, default_name, max_depth,
                           &k, &nd, &end, d->err);
    if (st)
        return st;
    if (nd == 1) {
        st = cnf__jdoc_fail(d, CNF_E_USAGE, v[K_WEIGHTS].off,
                            "\"weights\" must be 2-D or 3-D: the 1-D shorthand is only for "
                            "inline kernel specs (such as '[1,0,-1]') and input matrices");
        goto fail;
    }
    st = kernel_settings(d, v, default_name, &k);
    if (st)
        goto fail;
    *k_ret = k;
    return CNF_OK;
fail:
    cnf_kernel_free(k);
    return st;
}

cnf_status cnf_kernel_from_json(const char *text, size_t len, const char *name,
                                const char *default_name, cnf_kernel **k_ret, cnf_error *err)
{
    cnf_jdoc d;
    cnf_status st = cnf__jdoc_open(&d, text, len, name, err);
    *k_ret = NULL;
    if (st)
        return st;
    if (text[d.start] == '[') {
        /* A bare matrix is read first, so that its own faults (syntax, shape, limits) are
         * reported as they always were; a sound one is refused as a kernel file. */
        st = kernel_from_matrix_doc(&d, default_name, k_ret);
        if (st)
            return st;
        cnf_kernel_free(*k_ret);
        *k_ret = NULL;
        return cnf__jdoc_fail(&d, CNF_E_USAGE, d.start,
                              "a kernel file is an object {\"weights\": [[...]], ...}: the "
                              "bare-matrix shorthand is only for inline kernel specs (such as "
                              "'[1,0,-1]') and input matrices");
    }
    if (text[d.start] != '{')
        return cnf__jdoc_fail(&d, CNF_E_USAGE, d.start,
                              "expected a kernel object {\"weights\": [[...]], ...} or a matrix");
    st = cnf__jdoc_parse(&d);
    if (st)
        return st;
    st = cnf__kernel_from_object(&d, cnf__jdoc_root(&d), default_name, k_ret);
    cnf__jdoc_close(&d);
    return st;
}
