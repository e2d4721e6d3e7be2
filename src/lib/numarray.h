/* numarray.h - the strict numeric-array parser shared by kernel weights and JSON matrix inputs. */
#ifndef CNF_NUMARRAY_H
#define CNF_NUMARRAY_H

#include "internal.h"

/* cnf_numarray - a rectangular array of finite numbers read from JSON text. */
typedef struct cnf_numarray {
    double *vals;    /* shape[0] * shape[1] * shape[2] values, row-major; malloc'd */
    size_t shape[3]; /* planes, rows, columns: 1-D is 1 x 1 x n, 2-D is 1 x rows x columns */
    int ndims;       /* 1, 2 or 3: how deep the text nested it */
    size_t end;      /* offset just after its closing ']' */
} cnf_numarray;

/* cnf_numarray_cap - the most values an array may hold, and the failure past them. */
typedef struct cnf_numarray_cap {
    size_t max_values;
    cnf_status status; /* e.g. CNF_E_LIMIT for a kernel, CNF_E_TOO_BIG for an input */
    cnf_limit limit;   /* recorded in err->limit (CNF_LIMIT_NONE: nothing recorded) */
} cnf_numarray_cap;

/* cnf__numarray_parse - the array whose '[' is at text[off].  Numbers follow the JSON grammar
 * strictly (-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?, so no '+', '.5', '1.', leading zeros, NaN
 * or Infinity) and must be finite as doubles; arrays nest 1 to 3 deep, the same depth
 * everywhere, none empty, every row of a level the same length.  Errors are CNF_E_USAGE with
 * the line and column of the offending byte in file `name`, or cap->status past
 * cap->max_values.  On success the caller releases a with cnf__numarray_free. */
cnf_status cnf__numarray_parse(const char *text, size_t len, size_t off, const char *name,
                               const cnf_numarray_cap *cap, cnf_numarray *a, cnf_error *err);

/* cnf__numarray_doc - a whole document that is one numeric array: the checks of
 * cnf__json_precheck, not empty, the array, then only white space. */
cnf_status cnf__numarray_doc(const char *text, size_t len, const char *name,
                             const cnf_numarray_cap *cap, cnf_numarray *a, cnf_error *err);

/* cnf__numarray_free - release the values; a is left empty.  Safe on an empty array. */
void cnf__numarray_free(cnf_numarray *a);

#endif
