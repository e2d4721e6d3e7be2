/* pipeline_weights.h - the weights of a pipeline layer as written in its document: a JSON array
 * or a .npy file named by a string (pipeline_weights.c). */
#ifndef CNF_PIPELINE_WEIGHTS_H
#define CNF_PIPELINE_WEIGHTS_H

#include "json_doc.h"
#include "npy_array.h"

#include <stdio.h>

/* cnf_tensor - an array of weights being read.  Open it (its shape is then known), check the
 * shape, load it (a .npy file's values are read only then), read its values, close it. */
typedef struct cnf_tensor {
    const cnf_jdoc *d;
    size_t off;      /* where the value stands in the document: errors are reported there */
    const char *key; /* its key, for messages */
    char file[256];  /* the .npy file as written in the document; "" for a JSON array */
    int ndims;
    size_t dims[CNF_NPY_MAX_DIMS];
    size_t count;    /* values: the product of dims */
    double *vals;    /* a JSON array's values (malloc'd) */
    /* A .npy file: its stream, size and header; its data once loaded. */
    FILE *f;
    size_t size;
    cnf_npy_array a;
    unsigned char *raw;
} cnf_tensor;

/* cnf__tensor_open - the value v of `key`, which must be an array of numbers (nested at most 3
 * deep; more than max_values of them fail with CNF_E_LIMIT, CNF_LIMIT_KERNEL) or a string
 * naming a .npy file (float32 or float64, C order, 1 to 4 dimensions), looked up relative to
 * base_dir first (may be NULL), then as given.  Errors are at v's line and column, naming the
 * key and the file (`"weights": conv1.npy: truncated .npy data`); an unreadable file keeps
 * its errno.  On failure t is closed. */
cnf_status cnf__tensor_open(const cnf_jdoc *d, cnf_jval v, const char *key, const char *base_dir,
                            size_t max_values, cnf_tensor *t);

/* cnf__tensor_load - make the values readable: a .npy file's data is read now, after the
 * caller has checked the shape (so a wrong shape never costs the read).  The file must be
 * exactly as long as its shape says, and every value finite. */
cnf_status cnf__tensor_load(cnf_tensor *t);

/* cnf__tensor_at - value i (row-major, i < t->count) after cnf__tensor_load. */
double cnf__tensor_at(const cnf_tensor *t, size_t i);

/* cnf__tensor_shape - the shape as NumPy prints it, "(6, 1, 5, 5)", into buf. */
const char *cnf__tensor_shape(const cnf_tensor *t, char *buf, size_t size);

/* cnf__tensor_fail - an error about t at its place in the document:
 * `"key": FILE: message` (or `"key": message` for a JSON array). */
cnf_status cnf__tensor_fail(const cnf_tensor *t, cnf_status st, const char *fmt, ...)
    CNF_PRINTF(3, 4);

/* cnf__tensor_close - release everything; t is left empty.  Safe on an empty tensor. */
void cnf__tensor_close(cnf_tensor *t);

#endif
