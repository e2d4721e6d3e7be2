/* nn_math_f64.c - the same layer math in float64, for the tests' finite-difference checks. */
#define NN_REAL double
#define NN_TABLE cnf__nn_f64
#include "nn_math_impl.h"
