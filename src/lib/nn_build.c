/* nn_build.c - a pipeline made a net: nodes and shapes, parameters, initialisation, write-back.
 *
 * The nodes are the stages plan.c would make for the same pipeline, with the same shape
 * rules and the same errors (padding, output sizes, the ceil-mode last window, combine
 * groups), so a net and a plan agree on every shape.  Parameters are one array: per conv
 * node each kernel's weights [depth][kh][kw] with the kernel's flip, divisor and the layer's
 * scale folded in, then one bias per kernel (its own plus the layer's); per dense node
 * W [units][in] row-major, then b. */
#include "layer.h"
#include "nn.h"
#include "stage.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Activation blocks start on multiples of 16 values (64 bytes of float). */
#define ALIGN_VALUES 16

typedef struct builder {
    nn_net *n;
    const cnf_pipeline *p;
    int flags;
    int c, h, w;     /* the shape the next node reads */
    int cap;         /* nodes allocated */
    int last_groups; /* kernels of the last conv layer, for a combine layer */
    int layer;
    int missing;     /* the error is a layer without weights (not wrapped) */
} builder;

static cnf_status nomem(cnf_error *err) { return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory"); }

/* A new node reading the current shape (its output the same until set).
 * The pointer is valid until the next add_node. */
static nn_node *add_node(builder *b, nn_op op)
{
    nn_node *nd;
    if (b->n->n_nodes == b->cap) {
        int cap = b->cap ? 2 * b->cap : 8;
        nn_node *t = realloc(b->n->nodes, sizeof *t * (size_t)cap);
        if (!t)
            return NULL;
        b->n->nodes = t;
        b->cap = cap;
    }
    nd = &b->n->nodes[b->n->n_nodes++];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    nd->layer = b->layer;
    nd->c = nd->oc = b->c;
    nd->h = nd->oh = b->h;
    nd->w = nd->ow = b->w;
    return nd;
}

static void advance(builder *b, const nn_node *nd)
{
    b->c = nd->oc;
    b->h = nd->oh;
    b->w = nd->ow;
}

/* -------------------------------------------------------------- conv */

const cnf_kernel *cnf__nn_flat_kernel(const cnf_pl_layer *pl, int f)
{
    for (int g = 0, i = 0; g < pl->layer.n_kernels; g++) {
        const cnf_kernel *k = pl->kernels[g];
        if (k->pair[0]) {
            if (f == i || f == i + 1)
                return k->pair[f - i];
            i += 2;
        } else {
            if (f == i)
                return k;
            i++;
        }
    }
    return NULL;
}

static int flat_count(const cnf_pl_layer *pl)
{
    int n = 0;
    if (pl->shape_only)
        return pl->count;
    for (int g = 0; g < pl->layer.n_kernels; g++)
        n += pl->kernels[g]->pair[0] ? 2 : 1;
    return n;
}

/* Kernel f's shape, checked against the input (the executor's messages). */
static cnf_status kern_shape(builder *b, const cnf_pl_layer *pl, int f, int per_channel,
                             nn_kern *K, cnf_error *err)
{
    const cnf_kernel *k = pl->shape_only ? NULL : cnf__nn_flat_kernel(pl, f);
    if (!k) {
        K->kh = pl->kh;
        K->kw = pl->kw;
        K->depth = b->c;
        K->is3d = 1;
        if (b->c > CNF_MAX_PIPELINE_DEPTH)
            return cnf__fail_limit(err, CNF_E_LIMIT, CNF_LIMIT_KERNEL, NULL,
                                   "kernels over %d channels, more than %d (limit)", b->c,
                                   CNF_MAX_PIPELINE_DEPTH);
        return CNF_OK;
    }
    K->kh = k->h;
    K->kw = k->w;
    K->is3d = k->is3d;
    K->depth = k->is3d ? k->depth : 1;
    if (k->is3d && per_channel)
        return cnf__fail_setting(err, CNF_E_USAGE, "channels",
                                 "kernel '%s' is 3-D (one plane per input channel) and needs "
                                 "channels 'sum'", k->name[0] ? k->name : "inline");
    if (k->is3d && k->depth != b->c)
        return cnf__fail_setting(err, CNF_E_USAGE, "kernel",
                                 "kernel '%s' has depth %d but the input has %d channel%s",
                                 k->name[0] ? k->name : "inline", k->depth, b->c,
                                 b->c == 1 ? "" : "s");
    return CNF_OK;
}

/* The geometry of kernel size (kh, kw) in node nd (its index), added when
 * new; every kernel must give the node's one output size. */
static cnf_status kern_geo(const builder *b, nn_node *nd, const cnf_layer *L, nn_kern *K,
                           cnf_error *err)
{
    int pb, pr;
    long oh, ow;
    nn_geo *g;
    for (int i = 0; i < nd->n_geo; i++)
        if (nd->geo[i].kh == K->kh && nd->geo[i].kw == K->kw) {
            K->geo = i;
            return CNF_OK;
        }
    g = &nd->geo[nd->n_geo];
    g->kh = K->kh;
    g->kw = K->kw;
    cnf__layer_padding(L, b->h, K->kh, nd->sy, nd->dil, 0, &g->pt, &pb);
    cnf__layer_padding(L, b->w, K->kw, nd->sx, nd->dil, 1, &g->pl, &pr);
    oh = cnf__out_size(b->h, g->pt, pb, (long)nd->dil * (K->kh - 1) + 1, nd->sy);
    ow = cnf__out_size(b->w, g->pl, pr, (long)nd->dil * (K->kw - 1) + 1, nd->sx);
    if (oh < 1 || ow < 1)
        return cnf__fail(err, CNF_E_EMPTY, NULL,
                         "kernel %dx%d (dilation %d) with this padding leaves no output pixels "
                         "for a %dx%d input", K->kh, K->kw, nd->dil, b->w, b->h);
    if (oh > INT_MAX || ow > INT_MAX)
        return cnf__fail(err, CNF_E_TOO_BIG, NULL, "output too large");
    if (nd->n_geo > 0 && (oh != nd->oh || ow != nd->ow))
        return cnf__fail_setting(err, CNF_E_USAGE, "kernel",
                                 "the kernels of a bank give different output sizes (%dx%d and "
                                 "%ldx%ld); use 'same' padding or kernels of one size",
                                 nd->ow, nd->oh, ow, oh);
    nd->oh = (int)oh;
    nd->ow = (int)ow;
    K->geo = nd->n_geo++;
    return CNF_OK;
}

/* The border rule of every tap row and column, once (nn.h, nn_geo). */
static cnf_status geo_tables(const nn_node *nd, nn_geo *g)
{
    g->ry = malloc(sizeof(int) * (size_t)g->kh * (size_t)nd->oh);
    g->rx = malloc(sizeof(int) * (size_t)g->kw * (size_t)nd->ow);
    g->run = calloc((size_t)g->kw * 2, sizeof(int));
    if (!g->ry || !g->rx || !g->run)
        return CNF_E_NOMEM;
    for (int i = 0; i < g->kh; i++)
        for (int y = 0; y < nd->oh; y++)
            g->ry[(size_t)i * nd->oh + y] = cnf__border_index(
                nd->border, (int)((long)y * nd->sy + (long)i * nd->dil - g->pt), nd->h);
    for (int j = 0; j < g->kw; j++)
        for (int x = 0; x < nd->ow; x++)
            g->rx[(size_t)j * nd->ow + x] = cnf__border_index(
                nd->border, (int)((long)x * nd->sx + (long)j * nd->dil - g->pl), nd->w);
    for (int j = 0; j < g->kw; j++) {
        const int *rx = g->rx + (size_t)j * nd->ow;
        int lo = 0, hi;
        while (lo < nd->ow && rx[lo] < 0)
            lo++;
        for (hi = lo + 1; lo < nd->ow && hi < nd->ow && rx[hi] == rx[lo] + (hi - lo); hi++)
            ;
        g->run[2 * j] = lo < nd->ow ? lo : 0;
        g->run[2 * j + 1] = lo < nd->ow ? hi : 0;
    }
    return CNF_OK;
}

/* A composite kernel (sobel...) runs, but cannot learn: its map is a
 * magnitude of two, with no weights of its own to write back. */
static cnf_status composite_frozen(const builder *b, const cnf_pl_layer *pl, cnf_error *err)
{
    for (int g = 0; (b->flags & CNF__NN_TRAIN) && !pl->shape_only && g < pl->layer.n_kernels; g++) {
        const cnf_kernel *k = pl->kernels[g];
        if (k->pair[0] && !pl->frozen)
            return cnf__fail(err, CNF_E_USAGE, NULL,
                             "kernel '%s' is the magnitude of two kernels and cannot learn: give "
                             "the layer \"trainable\": false, or use '%s' and '%s' with a "
                             "combine layer", k->name, k->pair[0]->name, k->pair[1]->name);
    }
    return CNF_OK;
}

static cnf_status conv_node(builder *b, const cnf_pl_layer *pl, int per_channel, cnf_error *err)
{
    const cnf_layer *L = &pl->layer;
    int nf = flat_count(pl);
    nn_node *nd;
    cnf_status st = composite_frozen(b, pl, err);
    if (st)
        return st;
    if (nf > CNF_MAX_PIPELINE_KERNELS)
        return cnf__fail_limit(err, CNF_E_LIMIT, CNF_LIMIT_KERNEL, NULL,
                               "%d kernels, more than %d in one layer (limit)", nf,
                               CNF_MAX_PIPELINE_KERNELS);
    if (nf < 1 || !(nd = add_node(b, NN_CONV)))
        return nf < 1 ? cnf__fail(err, CNF_E_USAGE, NULL, "a conv layer needs kernels")
                      : nomem(err);
    nd->per_channel = per_channel;
    nd->sy = L->stride_y;
    nd->sx = L->stride_x;
    nd->dil = L->dilation;
    nd->border = L->border;
    nd->n_kern = nf;
    nd->kern = calloc((size_t)nf, sizeof *nd->kern);
    nd->geo = calloc((size_t)nf, sizeof *nd->geo);
    if (!nd->kern || !nd->geo)
        return nomem(err);
    for (int f = 0; f < nf && !st; f++) {
        st = kern_shape(b, pl, f, per_channel, &nd->kern[f], err);
        if (!st)
            st = kern_geo(b, nd, L, &nd->kern[f], err);
    }
    for (int g = 0; g < nd->n_geo && !st; g++)
        if (geo_tables(nd, &nd->geo[g]))
            st = nomem(err);
    if (st)
        return st;
    for (int f = 0; f < nf; f++) {
        nd->kern[f].w = b->n->n_params;
        b->n->n_params += (size_t)nd->kern[f].depth * nd->kern[f].kh * nd->kern[f].kw;
    }
    for (int f = 0; f < nf; f++)
        nd->kern[f].b = b->n->n_params++;
    nd->oc = per_channel ? nf * b->c : nf;
    nd->train_w = !pl->frozen;
    nd->train_b = !pl->frozen && !pl->no_bias;
    b->n->layers[b->layer].node = b->n->n_nodes - 1;
    advance(b, nd);
    return CNF_OK;
}

/* Composite kernels' pairs made one map each again (as plan.c's merge). */
static cnf_status merge_node(builder *b, const cnf_pl_layer *pl, int per_channel, cnf_error *err)
{
    int n_out = pl->layer.n_kernels;
    nn_node *nd = add_node(b, NN_MERGE);
    if (!nd)
        return nomem(err);
    nd->groups = n_out;
    nd->per = per_channel ? b->c / flat_count(pl) : 1;
    nd->first = malloc(sizeof(int) * (size_t)n_out);
    nd->count = malloc(sizeof(int) * (size_t)n_out);
    if (!nd->first || !nd->count)
        return nomem(err);
    for (int g = 0, f = 0; g < n_out; g++) {
        nd->first[g] = f;
        nd->count[g] = pl->kernels[g]->pair[0] ? 2 : 1;
        f += nd->count[g];
    }
    nd->oc = n_out * nd->per;
    advance(b, nd);
    return CNF_OK;
}

/* ---------------------------------------------------- pointwise, pool */

static cnf_status combine_node(builder *b, int groups, cnf_combine mode, cnf_error *err)
{
    nn_node *nd;
    if (groups < 1 || b->c % groups != 0)
        return cnf__fail_setting(err, CNF_E_USAGE, "combine", "cannot combine %d maps in %d groups",
                                 b->c, groups);
    if (!(nd = add_node(b, NN_COMBINE)))
        return nomem(err);
    nd->groups = groups;
    nd->per = b->c / groups;
    nd->mode = mode;
    nd->oc = nd->per;
    advance(b, nd);
    return CNF_OK;
}

/* Floor division for a possibly negative numerator. */
static long floor_div(long a, long q)
{
    long r = a / q;
    return (a % q != 0 && a < 0) ? r - 1 : r;
}

/* The executor's pooled size (pooling.c): floor or ceil of (n + 2p - k) / s,
 * plus one; in ceil mode a last window starting past the input and the
 * left padding is dropped (PyTorch). */
static long pool_out(long n, int k, int s, int p, int ceil_mode)
{
    long o = floor_div(n + 2L * p - k + (ceil_mode ? s - 1 : 0), s) + 1;
    if (o < 0)
        o = 0;
    if (ceil_mode && (o - 1) * s >= n + p)
        o--;
    return o;
}

static cnf_status pool_node(builder *b, const cnf_layer *L, cnf_error *err)
{
    int stride;
    long oh, ow;
    nn_node *nd;
    cnf_status st = cnf__layer_pool_stride(L, &stride, err);
    if (st)
        return st;
    if (L->pool_padding * 2 > L->pool_size)
        return cnf__fail_setting(err, CNF_E_USAGE, "pool-padding",
                                 "padding %d is more than half the window %d", L->pool_padding,
                                 L->pool_size);
    oh = pool_out(b->h, L->pool_size, stride, L->pool_padding, L->pool_ceil);
    ow = pool_out(b->w, L->pool_size, stride, L->pool_padding, L->pool_ceil);
    if (oh < 1 || ow < 1)
        return cnf__fail(err, CNF_E_EMPTY, NULL,
                         "pool window %d leaves no output pixels for a %dx%d input", L->pool_size,
                         b->w, b->h);
    if (!(nd = add_node(b, NN_POOL)))
        return nomem(err);
    nd->pool = L->pool;
    nd->psize = L->pool_size;
    nd->pstride = stride;
    nd->ppad = L->pool_padding;
    nd->oh = (int)oh;
    nd->ow = (int)ow;
    advance(b, nd);
    return CNF_OK;
}

static cnf_status no_weights(builder *b, cnf_error *err)
{
    const cnf_pl_layer *pl = &b->p->layers[b->layer];
    b->missing = 1;
    return cnf__fail(err, CNF_E_USAGE, b->p->name,
                     "layer %d (%s) has no weights: train it first or give \"weights\"",
                     b->layer + 1, pl->type);
}

/* A conv, activation or pool layer: the stages plan.c builds for it,
 * [luma] [conv [merge] [combine]] [activation] [pool]. */
static cnf_status stage_layer(builder *b, const cnf_pl_layer *pl, cnf_error *err)
{
    const cnf_layer *L = &pl->layer;
    cnf_layer shape = *L;
    int per_channel = 1, conv = L->n_kernels > 0 || pl->shape_only;
    cnf_status st;
    nn_node *nd;
    if (pl->shape_only)
        shape.n_kernels = 0; /* the checks of the geometry only */
    if ((st = cnf__layer_check(&shape, &per_channel, err)))
        return st;
    if (conv && pl->shape_only && !(b->flags & CNF__NN_TRAIN))
        return no_weights(b, err);
    if (conv && pl->shape_only) {
        if (L->channels == CNF_CH_GRAY || L->channels == CNF_CH_RGB)
            return cnf__fail_setting(err, CNF_E_USAGE, "channels",
                                     "kernels given by shape are 3-D (one plane per input "
                                     "channel) and need channels 'sum', not '%s'",
                                     L->channels == CNF_CH_GRAY ? "gray" : "rgb");
        per_channel = 0;
    }
    if (conv && L->channels == CNF_CH_GRAY && b->c == 3) {
        if (!(nd = add_node(b, NN_LUMA)))
            return nomem(err);
        nd->oc = 1;
        advance(b, nd);
    } else if (conv && L->channels == CNF_CH_GRAY && b->c != 1) {
        return cnf__fail_setting(err, CNF_E_USAGE, "channels",
                                 "'gray' needs a gray or RGB input, this one has %d channels", b->c);
    }
    if (conv) {
        int kernels = pl->shape_only ? pl->count : L->n_kernels;
        if ((st = conv_node(b, pl, per_channel, err)))
            return st;
        if (flat_count(pl) != kernels && (st = merge_node(b, pl, per_channel, err)))
            return st;
        b->last_groups = kernels;
        if (L->combine != CNF_COMBINE_NONE && kernels > 1 &&
            (st = combine_node(b, kernels, L->combine, err)))
            return st;
    }
    if (L->activation != CNF_ACT_NONE) {
        if (!(nd = add_node(b, NN_ACT)))
            return nomem(err);
        nd->act = L->activation;
        nd->slope = L->activation_param;
    }
    return L->pool != CNF_POOL_NONE ? pool_node(b, L, err) : CNF_OK;
}

/* --------------------------------------------------------------- dense */

static cnf_status dense_node(builder *b, const cnf_pl_layer *pl, cnf_error *err)
{
    size_t n_in = (size_t)b->c * (size_t)b->h * (size_t)b->w;
    nn_node *nd;
    if (pl->units < 1)
        return cnf__fail(err, CNF_E_USAGE, NULL, "a dense layer needs at least 1 unit");
    if (!pl->w && !(b->flags & CNF__NN_TRAIN))
        return no_weights(b, err);
    if (pl->w && (size_t)pl->in != n_in)
        return cnf__fail(err, CNF_E_USAGE, NULL,
                         "its weights take %d inputs, but its input has %zu values (%d x %d x %d)",
                         pl->in, n_in, b->c, b->h, b->w);
    if (n_in > CNF_MAX_DENSE_WEIGHTS || (uint64_t)n_in * (uint64_t)pl->units > CNF_MAX_DENSE_WEIGHTS)
        return cnf__fail_limit(err, CNF_E_LIMIT, CNF_LIMIT_KERNEL, NULL,
                               "%d x %zu weights, more than %u in one dense layer (limit)",
                               pl->units, n_in, CNF_MAX_DENSE_WEIGHTS);
    if (!(nd = add_node(b, NN_DENSE)))
        return nomem(err);
    nd->units = pl->units;
    nd->n_in = (int)n_in;
    nd->w_off = b->n->n_params;
    b->n->n_params += n_in * (size_t)pl->units;
    nd->has_b = !pl->no_bias;
    nd->b_off = b->n->n_params;
    b->n->n_params += nd->has_b ? (size_t)pl->units : 0;
    nd->train_w = !pl->frozen;
    nd->train_b = !pl->frozen && nd->has_b;
    nd->oc = pl->units;
    nd->oh = nd->ow = 1;
    b->n->layers[b->layer].node = b->n->n_nodes - 1;
    advance(b, nd);
    return CNF_OK;
}

static cnf_status layer_nodes(builder *b, const cnf_pl_layer *pl, cnf_error *err)
{
    nn_node *nd;
    switch (pl->kind) {
    case CNF_LAYER_CONV:
    case CNF_LAYER_ACT:
    case CNF_LAYER_POOL: return stage_layer(b, pl, err);
    case CNF_LAYER_COMBINE:
        return combine_node(b,
                            b->last_groups > 0 && b->c % b->last_groups == 0 ? b->last_groups
                                                                             : b->c,
                            pl->layer.combine, err);
    case CNF_LAYER_DENSE: return dense_node(b, pl, err);
    case CNF_LAYER_FLATTEN:
    case CNF_LAYER_SOFTMAX:
    case CNF_LAYER_AFFINE:
        break;
    }
    nd = add_node(b, pl->kind == CNF_LAYER_FLATTEN   ? NN_FLATTEN
                     : pl->kind == CNF_LAYER_SOFTMAX ? NN_SOFTMAX
                                                     : NN_AFFINE);
    if (!nd)
        return nomem(err);
    if (pl->kind == CNF_LAYER_FLATTEN) {
        nd->oc = b->c * b->h * b->w;
        nd->oh = nd->ow = 1;
    }
    nd->scale = pl->scale;
    nd->shift = pl->shift;
    advance(b, nd);
    return CNF_OK;
}

/* ------------------------------------------------------------ layout */

/* n + the values of a block, rounded up to ALIGN_VALUES; false on overflow. */
static bool add_block(size_t *off, size_t values)
{
    size_t r = (values + ALIGN_VALUES - 1) / ALIGN_VALUES * ALIGN_VALUES;
    return r >= values && cnf__add(*off, r, off);
}

static cnf_status layout(nn_net *n, int grad_input, cnf_error *err)
{
    size_t off = 0;
    int learns = 0;
    if (!add_block(&off, n->n_in))
        return cnf__fail(err, CNF_E_TOO_BIG, NULL, "the net's activations are too large");
    n->max_act = n->n_in;
    for (int i = 0; i < n->n_nodes; i++) {
        nn_node *nd = &n->nodes[i];
        size_t sz;
        nd->in = i ? n->nodes[i - 1].out : 0;
        nd->out = off;
        if (!cnf__mul3((size_t)nd->oc, (size_t)nd->oh, (size_t)nd->ow, &sz) || !add_block(&off, sz))
            return cnf__fail(err, CNF_E_TOO_BIG, NULL, "the net's activations are too large");
        if (sz > n->max_act)
            n->max_act = sz;
        for (int g = 0; g < nd->n_geo; g++) {
            size_t col;
            if (!cnf__mul3((size_t)nd->c * (size_t)nd->geo[g].kh, (size_t)nd->geo[g].kw,
                           (size_t)nd->oh * (size_t)nd->ow, &col))
                return cnf__fail(err, CNF_E_TOO_BIG, NULL, "the net's activations are too large");
            if (col > n->max_col)
                n->max_col = col;
        }
        nd->need_din = learns || grad_input;
        learns |= nd->train_w || nd->train_b;
    }
    n->act_size = off;
    return CNF_OK;
}

/* Whether node nd can take the fast path: a conv node with one kernel size
 * whose kernels span every input channel and lie one after another (its
 * weights are then one matrix, kernel by row), a dense node, a max or min
 * pool of 2 x 2 windows at stride 2 that all fit. */
static int fast_node(const nn_node *nd)
{
    switch (nd->op) {
    case NN_CONV: {
        size_t k = (size_t)nd->c * (size_t)nd->geo[0].kh * (size_t)nd->geo[0].kw;
        if (nd->n_geo != 1 || nd->per_channel)
            return 0;
        for (int f = 0; f < nd->n_kern; f++)
            if (nd->kern[f].depth != nd->c || nd->kern[f].w != nd->kern[0].w + (size_t)f * k)
                return 0;
        return 1;
    }
    case NN_DENSE: return 1;
    case NN_POOL:
        return nd->pool != CNF_POOL_AVG && nd->psize == 2 && nd->pstride == 2 && nd->ppad == 0 &&
               2 * nd->oh <= nd->h && 2 * nd->ow <= nd->w;
    default: return 0;
    }
}

/* The fast path where it applies; where each conv node's im2col matrix
 * goes (a fast node's stays from its forward to its backward, so it has a
 * place of its own; the others share one after those); where each fast
 * dense node that learns records a sample (its input, then its output's
 * gradient). */
static cnf_status fast_layout(nn_net *n, int fast, cnf_error *err)
{
    size_t off = 0, sz;
    for (int i = 0; i < n->n_nodes; i++) {
        nn_node *nd = &n->nodes[i];
        size_t pad = 0;
        nd->fast = fast && fast_node(nd);
        if (nd->op != NN_CONV || !nd->fast)
            continue;
        nd->col_off = off;
        nd->padcopy = nd->border == CNF_BORDER_ZERO && nd->sy == 1 && nd->sx == 1 &&
                      nd->dil == 1;
        /* the matrix, and CNF__NN_PAD_SLACK values that rows copied by whole vectors may
         * run over; the padded planes, (oh + kh - 1) x (ow + kw - 1), and slack */
        if (!cnf__mul3((size_t)nd->c * (size_t)nd->geo[0].kh, (size_t)nd->geo[0].kw,
                       (size_t)nd->oh * (size_t)nd->ow, &sz) ||
            !cnf__add(sz, CNF__NN_PAD_SLACK, &sz) ||
            (nd->padcopy &&
             (!cnf__mul3((size_t)nd->c, (size_t)nd->oh + (size_t)nd->geo[0].kh - 1,
                         (size_t)nd->ow + (size_t)nd->geo[0].kw - 1, &pad) ||
              !cnf__add(pad, CNF__NN_PAD_SLACK, &pad))) ||
            !cnf__add(off, sz, &off) || !cnf__add(off, pad, &off))
            return cnf__fail(err, CNF_E_TOO_BIG, NULL, "the net's activations are too large");
        nd->pad_off = sz;
    }
    for (int i = 0; i < n->n_nodes; i++) {
        nn_node *nd = &n->nodes[i];
        if (nd->op == NN_CONV && !nd->fast)
            nd->col_off = off;
        if (nd->op == NN_DENSE && nd->fast && nd->train_w) {
            nd->rec_off = n->rec_size;
            if (!cnf__add(n->rec_size, (size_t)nd->n_in + (size_t)nd->units, &n->rec_size))
                return cnf__fail(err, CNF_E_TOO_BIG, NULL, "the net's activations are too large");
        }
    }
    if (!cnf__add(off, n->max_col, &n->col_size))
        return cnf__fail(err, CNF_E_TOO_BIG, NULL, "the net's activations are too large");
    return CNF_OK;
}

/* The runs of parameters that learn, in parameter order. */
static cnf_status ranges(nn_net *n, cnf_error *err)
{
    n->ranges = calloc((size_t)n->n_nodes * 2 + 1, sizeof *n->ranges);
    if (!n->ranges)
        return nomem(err);
    for (int i = 0; i < n->n_nodes; i++) {
        const nn_node *nd = &n->nodes[i];
        if (nd->op == NN_CONV && nd->train_w)
            n->ranges[n->n_ranges++] =
                (nn_range){nd->kern[0].w, nd->kern[0].b - nd->kern[0].w, i, 0};
        if (nd->op == NN_CONV && nd->train_b)
            n->ranges[n->n_ranges++] = (nn_range){nd->kern[0].b, (size_t)nd->n_kern, i, 0};
        if (nd->op == NN_DENSE && nd->train_w)
            n->ranges[n->n_ranges++] = (nn_range){nd->w_off, (size_t)nd->units * nd->n_in, i,
                                                  nd->fast};
        if (nd->op == NN_DENSE && nd->train_b)
            n->ranges[n->n_ranges++] = (nn_range){nd->b_off, (size_t)nd->units, i, 0};
    }
    return CNF_OK;
}

cnf_status cnf__nn_layer_fail(const cnf_pipeline *p, int i, cnf_status st, cnf_error *err)
{
    const cnf_pl_layer *pl = &p->layers[i];
    char msg[sizeof err->msg + 64];
    if (!err)
        return st;
    snprintf(msg, sizeof msg, "layer %d (%s): %s", i + 1, pl->type, err->msg);
    memcpy(err->msg, msg, sizeof err->msg - 1);
    err->msg[sizeof err->msg - 1] = 0;
    snprintf(err->where, sizeof err->where, "%s", p->name);
    err->subject = p->name[0] ? CNF_SUBJECT_FILE : CNF_SUBJECT_NONE;
    err->line = pl->line;
    err->col = pl->col;
    return st;
}

int cnf__nn_reference;

cnf_status cnf__nn_build(const cnf_pipeline *p, int width, int height, int channels, int flags,
                         nn_net *n, cnf_error *err)
{
    builder b;
    cnf_status st = CNF_OK;
    memset(n, 0, sizeof *n);
    memset(&b, 0, sizeof b);
    n->dbl = (flags & CNF__NN_DOUBLE) != 0;
    n->m = n->dbl ? &cnf__nn_f64 : &cnf__nn_f32;
    if (width < 1 || height < 1 || channels < 1)
        return cnf__fail(err, CNF_E_USAGE, NULL, "input has no pixels");
    n->in_c = b.c = channels;
    n->in_h = b.h = height;
    n->in_w = b.w = width;
    n->n_in = (size_t)channels * (size_t)height * (size_t)width;
    b.n = n;
    b.p = p;
    b.flags = flags;
    n->n_layers = p->n;
    n->layers = calloc((size_t)(p->n > 0 ? p->n : 1), sizeof *n->layers);
    if (!n->layers)
        st = nomem(err);
    for (int i = 0; i < p->n && !st; i++) {
        b.layer = i;
        n->layers[i].node = -1;
        st = layer_nodes(&b, &p->layers[i], err);
        if (st && !b.missing)
            cnf__nn_layer_fail(p, i, st, err);
    }
    if (!st && n->n_nodes == 0)
        st = cnf__fail(err, CNF_E_USAGE, p->name, "the pipeline computes nothing");
    if (!st)
        st = layout(n, (flags & CNF__NN_GRAD_INPUT) != 0, err);
    if (!st)
        st = fast_layout(n, !n->dbl && !(flags & CNF__NN_REFERENCE) && !cnf__nn_reference, err);
    if (!st)
        st = ranges(n, err);
    if (st) {
        cnf__nn_free(n);
        return st;
    }
    n->out_c = b.c;
    n->out_h = b.h;
    n->out_w = b.w;
    n->n_out = (size_t)b.c * (size_t)b.h * (size_t)b.w;
    return CNF_OK;
}

void cnf__nn_free(nn_net *n)
{
    for (int i = 0; n->nodes && i < n->n_nodes; i++) {
        nn_node *nd = &n->nodes[i];
        for (int g = 0; nd->geo && g < nd->n_kern; g++) {
            free(nd->geo[g].ry);
            free(nd->geo[g].rx);
            free(nd->geo[g].run);
        }
        free(nd->geo);
        free(nd->kern);
        free(nd->first);
        free(nd->count);
    }
    free(n->nodes);
    free(n->layers);
    free(n->ranges);
    free(n->params);
    memset(n, 0, sizeof *n);
}

/* ------------------------------------------------------------ buffers */

uint64_t cnf__nn_net_bytes(const nn_net *n)
{
    uint64_t b = (uint64_t)n->n_params * n->m->elem + (uint64_t)n->n_nodes * sizeof(nn_node);
    for (int i = 0; i < n->n_nodes; i++)
        for (int g = 0; g < n->nodes[i].n_geo; g++)
            b += sizeof(int) * ((uint64_t)n->nodes[i].geo[g].kh * n->nodes[i].oh +
                                (uint64_t)n->nodes[i].geo[g].kw * (n->nodes[i].ow + 2));
    return b;
}

uint64_t cnf__nn_work_bytes(const nn_net *n, int train)
{
    uint64_t v = (uint64_t)n->act_size + n->col_size;
    if (train)
        v += 2 * (uint64_t)n->max_act + n->max_col + n->n_params +
             (uint64_t)CNF__NN_CHUNK * n->rec_size;
    return v * n->m->elem;
}

cnf_status cnf__nn_work_alloc(const nn_net *n, int train, nn_work *w, cnf_error *err)
{
    size_t e = n->m->elem;
    memset(w, 0, sizeof *w);
    w->act = calloc(n->act_size, e);
    w->col = calloc(n->col_size + 1, e);
    if (train) {
        w->ga = calloc(n->max_act, e);
        w->gb = calloc(n->max_act, e);
        w->dcol = calloc(n->max_col + 1, e);
        w->grad = calloc(n->n_params + 1, e);
        w->rec = calloc(CNF__NN_CHUNK * n->rec_size + 1, e);
    }
    if (!w->act || !w->col ||
        (train && (!w->ga || !w->gb || !w->dcol || !w->grad || !w->rec))) {
        cnf__nn_work_free(w);
        return nomem(err);
    }
    return CNF_OK;
}

void cnf__nn_work_free(nn_work *w)
{
    free(w->act);
    free(w->col);
    free(w->ga);
    free(w->gb);
    free(w->dcol);
    free(w->grad);
    free(w->rec);
    memset(w, 0, sizeof *w);
}
