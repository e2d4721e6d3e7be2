/* layer.h - the rules of a layer's settings (layer.c), apart from planning. */
#ifndef CNF_LAYER_H
#define CNF_LAYER_H

#include "internal.h"

/* cnf__layer_check - the settings of L that are wrong whatever the input:
 * a stride or dilation below 1, a negative explicit padding
 * (CNF_E_USAGE), a 3-D kernel with channels 'gray' or 'rgb' (CNF_E_USAGE,
 * setting "channels").  On success *per_channel says whether each colour
 * plane is convolved on its own (1) or all are summed into each map (0: a
 * 3-D kernel or channels 'sum'). */
cnf_status cnf__layer_check(const cnf_layer *L, int *per_channel, cnf_error *err);

/* cnf__layer_pool_stride - L's pooling step: pool_stride, or the window
 * when pool_stride is 0 (not given).  Fails with CNF_E_USAGE (setting
 * "pool-size") for a window below 1. */
cnf_status cnf__layer_pool_stride(const cnf_layer *L, int *stride, cnf_error *err);

/* cnf__layer_padding - a conv layer's padding before and after on one axis
 * (rows when horizontal is 0) for an input of n, a kernel of k, stride s and
 * dilation d: valid 0; explicit pad_h/pad_w; same
 * max((ceil(n/s) - 1) s + d (k - 1) + 1 - n, 0), floor(total / 2) before.
 * The filter, the training engine and learn all pad by this rule. */
void cnf__layer_padding(const cnf_layer *L, int n, int k, int s, int d, int horizontal,
                        int *before, int *after);

#endif
