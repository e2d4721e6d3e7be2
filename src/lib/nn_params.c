/* nn_params.c - a net's parameters: from the pipeline's weights or drawn, and written back.
 *
 * Conv weights are taken as the executor applies them, w * scale / divisor with the flip
 * done (conv.c), so the net computes the same maps; the layer's scalar bias is added to each
 * kernel's.  Writing back makes that explicit in the pipeline: kernels with divisor 1, no
 * flip, the layer's scale 1 and bias 0, one bias per kernel (cnnfilter(1), train: trained
 * weights).  Missing weights are drawn from the generator (nn.h): stream (seed, 1, layer),
 * the weights in parameter order, then the biases, uniform in +-1/sqrt(fan_in). */
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set(nn_net *n, size_t i, double v)
{
    if (n->dbl)
        ((double *)n->params)[i] = v;
    else
        ((float *)n->params)[i] = (float)v;
}

static double get(const nn_net *n, size_t i)
{
    return n->dbl ? ((const double *)n->params)[i] : (double)((const float *)n->params)[i];
}

/* A drawn value: a float32 (the same in both scalar types). */
static double draw(cnf__rng *r, double bound)
{
    return (double)(float)((2.0 * cnf__rng_uniform(r) - 1.0) * bound);
}

static void fill_conv(nn_net *n, const nn_node *nd, const cnf_pl_layer *pl)
{
    const cnf_layer *L = &pl->layer;
    for (int f = 0; f < nd->n_kern; f++) {
        const nn_kern *K = &nd->kern[f];
        const cnf_kernel *k = cnf__nn_flat_kernel(pl, f);
        size_t kk = (size_t)k->h * k->w;
        for (int d = 0; d < K->depth; d++)
            for (int i = 0; i < k->h; i++)
                for (int j = 0; j < k->w; j++) {
                    int si = L->flip ? k->h - 1 - i : i, sj = L->flip ? k->w - 1 - j : j;
                    double v = k->weights[d * kk + (size_t)si * k->w + sj];
                    set(n, K->w + d * kk + (size_t)i * k->w + j, v * L->scale / k->divisor);
                }
        set(n, K->b, k->bias + L->bias);
    }
}

static void draw_conv(nn_net *n, const nn_node *nd, const cnf_pl_layer *pl, uint64_t seed,
                      int layer)
{
    cnf__rng r;
    cnf__rng_stream(&r, seed, CNF__RNG_INIT, (uint64_t)layer);
    for (int f = 0; f < nd->n_kern; f++) {
        const nn_kern *K = &nd->kern[f];
        size_t fan = (size_t)K->depth * K->kh * K->kw;
        for (size_t t = 0; t < fan; t++)
            set(n, K->w + t, draw(&r, 1.0 / sqrt((double)fan)));
    }
    for (int f = 0; f < nd->n_kern; f++) {
        const nn_kern *K = &nd->kern[f];
        size_t fan = (size_t)K->depth * K->kh * K->kw;
        set(n, K->b, pl->no_bias ? 0.0 : draw(&r, 1.0 / sqrt((double)fan)));
    }
}

static void dense_params(nn_net *n, const nn_node *nd, const cnf_pl_layer *pl, uint64_t seed,
                         int layer)
{
    size_t nw = (size_t)nd->units * nd->n_in;
    double bound = 1.0 / sqrt((double)nd->n_in);
    cnf__rng r;
    cnf__rng_stream(&r, seed, CNF__RNG_INIT, (uint64_t)layer);
    for (size_t i = 0; i < nw; i++)
        set(n, nd->w_off + i, pl->w ? (double)pl->w[i] : draw(&r, bound));
    /* Given weights without a bias: the bias starts at 0 (as the
     * executor reads such a layer). */
    for (int u = 0; nd->has_b && u < nd->units; u++)
        set(n, nd->b_off + (size_t)u,
            pl->w ? (pl->b ? (double)pl->b[u] : 0.0) : draw(&r, bound));
}

cnf_status cnf__nn_params(nn_net *n, const cnf_pipeline *p, uint64_t seed, cnf_error *err)
{
    free(n->params);
    n->params = calloc(n->n_params + 1, n->m->elem);
    if (!n->params)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory for %zu parameters",
                         n->n_params);
    for (int li = 0; li < n->n_layers && li < p->n; li++) {
        const cnf_pl_layer *pl = &p->layers[li];
        const nn_node *nd;
        if (n->layers[li].node < 0)
            continue;
        nd = &n->nodes[n->layers[li].node];
        if (nd->op == NN_CONV && pl->shape_only) {
            draw_conv(n, nd, pl, seed, li);
            n->layers[li].drawn = 1;
        } else if (nd->op == NN_CONV) {
            fill_conv(n, nd, pl);
        } else {
            dense_params(n, nd, pl, seed, li);
            n->layers[li].drawn = !pl->w;
        }
    }
    return CNF_OK;
}

/* --------------------------------------------------------- write back */

static void free_kernels(cnf_pl_layer *pl)
{
    for (int k = 0; pl->kernels && k < pl->layer.n_kernels; k++)
        cnf_kernel_free(pl->kernels[k]);
    free(pl->kernels);
    free(pl->kptr);
}

static cnf_status write_conv(const nn_net *n, const nn_node *nd, cnf_pl_layer *pl)
{
    int nk = nd->n_kern;
    cnf_kernel **ks = calloc((size_t)nk, sizeof *ks);
    const cnf_kernel **kp = calloc((size_t)nk, sizeof *kp);
    for (int f = 0; ks && kp && f < nk; f++) {
        const nn_kern *K = &nd->kern[f];
        size_t m = (size_t)K->depth * K->kh * K->kw;
        cnf_kernel *k = cnf__kernel_new(K->kw, K->kh, K->depth);
        if (!k)
            break;
        k->is3d = K->is3d;
        for (size_t t = 0; t < m; t++)
            k->weights[t] = get(n, K->w + t);
        k->bias = get(n, K->b);
        if (!pl->shape_only && pl->kernels && f < pl->layer.n_kernels)
            snprintf(k->name, sizeof k->name, "%s", pl->kernels[f]->name);
        else
            snprintf(k->name, sizeof k->name, "k%d", f);
        ks[f] = k;
        kp[f] = k;
    }
    if (!ks || !kp || !ks[nk - 1]) {
        for (int f = 0; ks && f < nk; f++)
            cnf_kernel_free(ks[f]);
        free(ks);
        free(kp);
        return CNF_E_NOMEM;
    }
    free_kernels(pl);
    pl->kernels = ks;
    pl->kptr = kp;
    pl->layer.kernels = kp;
    pl->layer.n_kernels = nk;
    pl->shape_only = 0;
    pl->layer.flip = 0;
    pl->layer.scale = 1;
    pl->layer.bias = 0;
    return CNF_OK;
}

static cnf_status write_dense(const nn_net *n, const nn_node *nd, cnf_pl_layer *pl)
{
    size_t nw = (size_t)nd->units * nd->n_in;
    if (!pl->w && !(pl->w = malloc(sizeof(float) * nw)))
        return CNF_E_NOMEM;
    if (nd->has_b && !pl->b && !(pl->b = malloc(sizeof(float) * (size_t)nd->units)))
        return CNF_E_NOMEM;
    for (size_t i = 0; i < nw; i++)
        pl->w[i] = (float)get(n, nd->w_off + i);
    for (int u = 0; nd->has_b && u < nd->units; u++)
        pl->b[u] = (float)get(n, nd->b_off + (size_t)u);
    pl->in = nd->n_in;
    return CNF_OK;
}

cnf_status cnf__nn_write_back(const nn_net *n, cnf_pipeline *p, cnf_error *err)
{
    for (int li = 0; li < n->n_layers && li < p->n; li++) {
        cnf_pl_layer *pl = &p->layers[li];
        const nn_node *nd;
        cnf_status st;
        if (n->layers[li].node < 0 || (pl->frozen && !n->layers[li].drawn))
            continue;
        nd = &n->nodes[n->layers[li].node];
        st = nd->op == NN_CONV ? write_conv(n, nd, pl) : write_dense(n, nd, pl);
        if (st)
            return cnf__fail(err, st, NULL, "out of memory");
    }
    return CNF_OK;
}
