/* builtin.h - the built-in kernels, for the kernel spec parser (builtin.c). */
#ifndef CNF_BUILTIN_H
#define CNF_BUILTIN_H

#include "internal.h"

/* cnf__builtin_named - 1 when the name part of spec (before any ':') is a built-in. */
int cnf__builtin_named(const char *spec);

/* cnf__builtin_kernel - the kernel of a built-in spec NAME[:SIZE[:SIGMA]] (its name: the spec
 * with ':' made '-').  A bad size or sigma, a size or sigma the kernel does not take, or a
 * composite (sobel, prewitt, scharr) fail with CNF_E_USAGE and `where` = label. */
cnf_status cnf__builtin_kernel(const char *spec, const char *label, cnf_kernel **k_ret,
                               cnf_error *err);

/* cnf__builtin_size - the side of the square kernel a built-in spec NAME[:SIZE[:SIGMA]] makes
 * (3 for a fixed kernel and for each map of a composite), found from the text alone, without
 * making the kernel: what a parser counts before it makes one.  0 when spec is not a valid
 * built-in spec (cnf__builtin_kernel then says why). */
int cnf__builtin_size(const char *spec);

#endif
