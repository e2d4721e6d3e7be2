/* npy_array.h - a .npy file as a numeric array of 1 to 4 dimensions: the weights of learned
 * layers (npy_io.c; the image codec row there reads 2-D and 3-D images). */
#ifndef CNF_NPY_ARRAY_H
#define CNF_NPY_ARRAY_H

#include "internal.h"

/* The most dimensions a weight file has: a conv layer's (N, C, KH, KW). */
#define CNF_NPY_MAX_DIMS 4

/* cnf_npy_array - what a .npy header says about its array. */
typedef struct cnf_npy_array {
    int ndims;                      /* 1 .. CNF_NPY_MAX_DIMS */
    size_t dims[CNF_NPY_MAX_DIMS];  /* each 1 .. INT32_MAX */
    size_t count;                   /* the product of dims (no overflow: checked) */
    size_t esize;                   /* 4 (float32) or 8 (float64), little-endian */
    size_t data;                    /* the file offset of the first value */
} cnf_npy_array;

/* cnf__npy_array_header - the header of a .npy file from its first len bytes (which must hold
 * the whole header: at most 65536 + 12 bytes are needed).  Only what weights are stored as is
 * read: C order, float32 or float64 little-endian, 1 to 4 dimensions, none empty.  Fails with
 * CNF_E_DECODE naming `name` and saying what is wrong (not a .npy file, truncated header, the
 * dtype, Fortran order, the shape). */
cnf_status cnf__npy_array_header(const unsigned char *b, size_t len, const char *name,
                                 cnf_npy_array *a, cnf_error *err);

/* cnf__npy_array_value - value i of the data that starts at `data` (a->esize bytes each). */
double cnf__npy_array_value(const cnf_npy_array *a, const unsigned char *data, size_t i);

#endif
