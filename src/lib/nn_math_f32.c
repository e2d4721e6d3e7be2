/* nn_math_f32.c - the training engine's layer math in float32: what training and nets run,
 * with the fast path (nn_gemm.c) where a node's shape allows. */
#define NN_REAL float
#define NN_TABLE cnf__nn_f32
#define NN_FAST 1
#include "nn_math_impl.h"
