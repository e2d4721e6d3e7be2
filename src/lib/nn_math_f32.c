/* nn_math_f32.c - the training engine's layer math in float32: what training and nets run. */
#define NN_REAL float
#define NN_TABLE cnf__nn_f32
#include "nn_math_impl.h"
