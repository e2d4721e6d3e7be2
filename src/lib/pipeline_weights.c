/* pipeline_weights.c - weights of pipeline layers: JSON arrays and .npy files, shape first.
 *
 * A layer's weights come either inline (a JSON array, read by the strict numeric parser so
 * errors point at the offending number) or from a .npy file beside the pipeline, as PyTorch
 * and NumPy save them.  A file is opened and its header read first; the caller checks the
 * shape against the layer, and only then are the values read, so a file of the wrong shape
 * (or a huge one) is refused before its data costs anything.  Weight files are not bound by
 * the 4 MiB JSON limit: they count against a plan's memory limit, through the layers they
 * fill. */
#include "pipeline_weights.h"

#include "numarray.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The most header bytes a .npy file can have: its preamble and a 64 KiB dict. */
#define NPY_HEADER_MAX (12 + 65536)

cnf_status cnf__tensor_fail(const cnf_tensor *t, cnf_status st, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (t->file[0])
        cnf__jdoc_fail(t->d, st, t->off, "\"%s\": %s: %s", t->key, t->file, msg);
    else
        cnf__jdoc_fail(t->d, st, t->off, "\"%s\": %s", t->key, msg);
    /* The only limits of weights are those of a layer's size. */
    if (st == CNF_E_LIMIT && t->d->err)
        t->d->err->limit = CNF_LIMIT_KERNEL;
    return st;
}

/* An error from a lower layer (the .npy reader, errno): its message at t's place. */
static cnf_status fail_with(const cnf_tensor *t, cnf_status st, const cnf_error *e)
{
    cnf__tensor_fail(t, st, "%s", e->msg);
    if (t->d->err) {
        t->d->err->sys_errno = e->sys_errno;
        t->d->err->limit = e->limit;
    }
    return st;
}

const char *cnf__tensor_shape(const cnf_tensor *t, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = 0;
    o += (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < t->ndims && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%zu", i ? ", " : "", t->dims[i]);
    if (o < size)
        snprintf(buf + o, size - o, t->ndims == 1 ? ",)" : ")");
    return buf;
}

/* A JSON array of numbers at v. */
static cnf_status open_json(cnf_tensor *t, cnf_jval v, size_t max_values)
{
    cnf_numarray na;
    cnf_numarray_cap cap = {max_values, CNF_E_LIMIT, CNF_LIMIT_KERNEL};
    cnf_status st = cnf__numarray_parse(t->d->text, t->d->len, v.off, t->d->name, &cap, &na,
                                        t->d->err);
    if (st)
        return st;
    t->vals = na.vals;
    t->ndims = na.ndims;
    for (int i = 0; i < na.ndims; i++)
        t->dims[i] = na.shape[3 - na.ndims + i];
    t->count = na.shape[0] * na.shape[1] * na.shape[2];
    return CNF_OK;
}

/* The .npy file `spec`: beside the pipeline first (relative names), then as given. */
static cnf_status open_npy(cnf_tensor *t, const char *spec, const char *base_dir)
{
    char path[4200];
    unsigned char *head;
    const char *use = spec;
    struct stat stt;
    cnf_error e;
    size_t n;
    memset(&e, 0, sizeof e);
    if (base_dir && base_dir[0] && spec[0] != '/') {
        snprintf(path, sizeof path, "%s/%s", base_dir, spec);
        if (stat(path, &stt) == 0)
            use = path;
    }
    if (stat(use, &stt) != 0) {
        e.sys_errno = errno;
        snprintf(e.msg, sizeof e.msg, "%s", strerror(errno));
        return fail_with(t, CNF_E_USAGE, &e);
    }
    if (S_ISDIR(stt.st_mode))
        return cnf__tensor_fail(t, CNF_E_USAGE, "is a directory");
    /* A FIFO or a device could block or never end: weights are files. */
    if (!S_ISREG(stt.st_mode))
        return cnf__tensor_fail(t, CNF_E_USAGE, "is not a regular file");
    t->f = fopen(use, "rb");
    if (!t->f) {
        e.sys_errno = errno;
        snprintf(e.msg, sizeof e.msg, "%s", strerror(errno));
        return fail_with(t, CNF_E_USAGE, &e);
    }
    t->size = (size_t)stt.st_size;
    head = malloc(NPY_HEADER_MAX);
    if (!head)
        return cnf__tensor_fail(t, CNF_E_NOMEM, "out of memory");
    n = fread(head, 1, NPY_HEADER_MAX, t->f);
    if (ferror(t->f)) {
        e.sys_errno = errno;
        snprintf(e.msg, sizeof e.msg, "read error: %s", strerror(errno));
        free(head);
        return fail_with(t, CNF_E_USAGE, &e);
    }
    /* A malformed weight file is a fault of the pipeline: a usage error, like a bad kernel
     * file. */
    if (cnf__npy_array_header(head, n, spec, &t->a, &e)) {
        free(head);
        return fail_with(t, CNF_E_USAGE, &e);
    }
    free(head);
    t->ndims = t->a.ndims;
    memcpy(t->dims, t->a.dims, sizeof t->dims);
    t->count = t->a.count;
    return CNF_OK;
}

cnf_status cnf__tensor_open(const cnf_jdoc *d, cnf_jval v, const char *key, const char *base_dir,
                            size_t max_values, cnf_tensor *t)
{
    const char *spec = cnf__jnode_string(v.node);
    cnf_status st;
    memset(t, 0, sizeof *t);
    t->d = d;
    t->off = v.off;
    t->key = key;
    if (!spec)
        st = open_json(t, v, max_values);
    else if (!spec[0])
        st = cnf__tensor_fail(t, CNF_E_USAGE, "an empty file name");
    else {
        snprintf(t->file, sizeof t->file, "%s", spec);
        st = open_npy(t, spec, base_dir);
    }
    if (st)
        cnf__tensor_close(t);
    return st;
}

cnf_status cnf__tensor_load(cnf_tensor *t)
{
    size_t bytes, want;
    char shape[128];
    if (!t->f)
        return CNF_OK; /* a JSON array: read already */
    bytes = t->count * t->a.esize; /* below the file size checked next, so no overflow */
    if (t->size < t->a.data || t->size - t->a.data < bytes)
        return cnf__tensor_fail(t, CNF_E_USAGE,
                                "truncated .npy data: %zu bytes where the shape %s needs %zu",
                                t->size < t->a.data ? 0 : t->size - t->a.data,
                                cnf__tensor_shape(t, shape, sizeof shape), bytes);
    if (t->size - t->a.data > bytes)
        return cnf__tensor_fail(t, CNF_E_USAGE, "%zu bytes after the data of shape %s",
                                t->size - t->a.data - bytes,
                                cnf__tensor_shape(t, shape, sizeof shape));
    want = bytes ? bytes : 1;
    t->raw = malloc(want);
    if (!t->raw)
        return cnf__tensor_fail(t, CNF_E_NOMEM, "out of memory for %zu bytes", bytes);
    if (fseek(t->f, (long)t->a.data, SEEK_SET) != 0 || fread(t->raw, 1, bytes, t->f) != bytes) {
        cnf_error e;
        if (!ferror(t->f))
            return cnf__tensor_fail(t, CNF_E_USAGE, "truncated .npy data (the file shrank)");
        memset(&e, 0, sizeof e);
        e.sys_errno = errno;
        snprintf(e.msg, sizeof e.msg, "read error: %s", strerror(errno));
        return fail_with(t, CNF_E_USAGE, &e);
    }
    for (size_t i = 0; i < t->count; i++)
        if (!isfinite(cnf__npy_array_value(&t->a, t->raw, i)))
            return cnf__tensor_fail(t, CNF_E_USAGE, "value %zu is not finite", i);
    return CNF_OK;
}

double cnf__tensor_at(const cnf_tensor *t, size_t i)
{
    return t->vals ? t->vals[i] : cnf__npy_array_value(&t->a, t->raw, i);
}

void cnf__tensor_close(cnf_tensor *t)
{
    if (t->f)
        fclose(t->f);
    free(t->vals);
    free(t->raw);
    t->f = NULL;
    t->vals = NULL;
    t->raw = NULL;
}
