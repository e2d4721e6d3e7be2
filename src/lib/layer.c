/* layer.c - a layer's settings: their defaults and the rules between them, apart from planning. */
#include "layer.h"

#include <string.h>

/* The defaults are the CLI's (cnnfilter(1), OPTIONS); a pipeline layer
 * starts from them too, so the two cannot drift. */
void cnf_layer_init(cnf_layer *l)
{
    memset(l, 0, sizeof *l);
    l->padding = CNF_PAD_SAME;
    l->border = CNF_BORDER_ZERO;
    l->stride_y = l->stride_x = 1;
    l->dilation = 1;
    l->channels = CNF_CH_AUTO;
    l->keep_alpha = 1;
    l->scale = 1;
    l->bias = 0;
    l->combine = CNF_COMBINE_NONE;
    l->activation = CNF_ACT_NONE;
    l->activation_param = 0.01;
    l->pool = CNF_POOL_NONE;
    l->pool_size = 2;
    l->pool_stride = 0;
    l->pool_padding = 0;
}

cnf_status cnf__layer_check(const cnf_layer *L, int *per_channel, cnf_error *err)
{
    int any3d = 0;
    *per_channel = 1;
    if (L->stride_y < 1 || L->stride_x < 1 || L->dilation < 1 || L->pad_h < 0 || L->pad_w < 0)
        return cnf__fail(err, CNF_E_USAGE, NULL, "stride and dilation must be >= 1");
    for (int i = 0; i < L->n_kernels; i++)
        if (L->kernels[i]->is3d)
            any3d = 1;
    if (any3d && (L->channels == CNF_CH_GRAY || L->channels == CNF_CH_RGB))
        return cnf__fail_setting(err, CNF_E_USAGE, "channels",
                                 "a 3-D kernel reads all channels at once and implies 'sum', not "
                                 "'%s'",
                                 L->channels == CNF_CH_GRAY ? "gray" : "rgb");
    if (any3d || L->channels == CNF_CH_SUM)
        *per_channel = 0;
    return CNF_OK;
}

cnf_status cnf__layer_pool_stride(const cnf_layer *L, int *stride, cnf_error *err)
{
    if (L->pool_size < 1)
        return cnf__fail_setting(err, CNF_E_USAGE, "pool-size", "must be at least 1");
    *stride = L->pool_stride > 0 ? L->pool_stride : L->pool_size;
    return CNF_OK;
}

void cnf__layer_padding(const cnf_layer *L, int n, int k, int s, int d, int horizontal,
                        int *before, int *after)
{
    if (L->padding == CNF_PAD_VALID) {
        *before = *after = 0;
    } else if (L->padding == CNF_PAD_EXPLICIT) {
        *before = *after = horizontal ? L->pad_w : L->pad_h;
    } else {
        long total = ((long)(n + s - 1) / s - 1) * s + (long)d * (k - 1) + 1 - n;
        if (total < 0)
            total = 0;
        *before = (int)(total / 2);
        *after = (int)(total - total / 2);
    }
}
