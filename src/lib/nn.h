/* nn.h - the training engine's inside: the generator, a net of nodes built from a pipeline,
 * its buffers, and the layer math table (forward, loss, backward) in float32 or float64.
 *
 * Files: nn_rng.c (the generator), nn_build.c (a pipeline -> nodes, shapes, the parameter
 * layout, buffers), nn_params.c (parameters from the pipeline or drawn, written back), nn_math_impl.h (every node's paired forward and
 * backward, compiled twice: nn_math_f32.c for training and nets, nn_math_f64.c for the tests'
 * gradient checks), nn_pool.c (a small pool of threads), nn_net.c (cnf_net_*), nn_train.c
 * (cnf_train: batches, losses, optimizers, epochs).
 *
 * A net is a chain of nodes.  One pipeline layer makes one node, or a few for the stages a
 * layer holds (as plan.c builds them): [luma] [conv [merge] [combine]] [activation] [pool].
 * Every value between nodes is a planar C x H x W block of one sample, in the order the
 * streaming executor uses (plane c, then rows), so flatten is a no-op on the values. */
#ifndef CNF_NN_H
#define CNF_NN_H

#include "internal.h"

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- generator
 *
 * SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014; the constants of Vigna's splitmix64.c):
 *     next():  s += 0x9E3779B97F4A7C15;  z = s;
 *              z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
 *              z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
 *              return z ^ (z >> 31);
 * A stream is keyed by (seed, purpose, index), so no draw depends on
 * another purpose's draws or on threads:
 *     mix(x) = the three last lines of next() applied to x + 0x9E3779B97F4A7C15
 *     s = mix(mix(mix(seed) ^ purpose) ^ index)
 * Purposes: 1 initialisation (index: the pipeline layer, from 0), 2 shuffling
 * (index: the epoch, from 1), 3 the validation split (index 0).
 * uniform() = ((next() >> 12) + 0.5) / 2^52, in (0, 1) (52 bits and the half: exact);
 * below(n) = next() % n after rejecting next() < 2^64 mod n (unbiased);
 * shuffle(a, n): for i = n-1 down to 1, swap a[i] and a[below(i + 1)]
 * (Fisher-Yates).  Initial weights: (float)((2 uniform() - 1) / sqrt(fan_in)). */
typedef struct cnf__rng {
    uint64_t s;
} cnf__rng;

enum { CNF__RNG_INIT = 1, CNF__RNG_SHUFFLE = 2, CNF__RNG_SPLIT = 3 };

void cnf__rng_stream(cnf__rng *r, uint64_t seed, uint64_t purpose, uint64_t index);
uint64_t cnf__rng_next(cnf__rng *r);
double cnf__rng_uniform(cnf__rng *r);
uint64_t cnf__rng_below(cnf__rng *r, uint64_t n);
void cnf__rng_shuffle(cnf__rng *r, int *a, size_t n);

/* -------------------------------------------------------------------- nodes */

typedef enum nn_op {
    NN_LUMA,    /* 0.299 R + 0.587 G + 0.114 B, in double (pointwise.c) */
    NN_CONV,    /* kernels over the input, each map + its bias */
    NN_MERGE,   /* composite kernels' pairs made one map: sqrt(v^2 + h^2) */
    NN_COMBINE, /* magnitude, max (signed, first maximal map) or sum of `groups` maps */
    NN_ACT,
    NN_POOL,
    NN_FLATTEN,
    NN_DENSE,
    NN_SOFTMAX, /* across the channels at each position */
    NN_AFFINE
} nn_op;

/* One kernel size's sampling pattern in a conv node: for tap row i and output
 * row oy, ry[i * oh + oy] is the input row the tap reads (the border rule
 * applied) or -1 for a zero cell; rx the same for columns ([j * ow + ox]).
 * The border rule works per axis, so these two small tables give every cell.
 * run[2 j], run[2 j + 1]: the outputs ox in [lo, hi) where tap column j reads
 * consecutive input columns (rx[j * ow + ox] = rx[j * ow + lo] + ox - lo),
 * copied as a block by the fast path; lo = hi when there is none. */
typedef struct nn_geo {
    int kh, kw, pt, pl;
    int *ry, *rx, *run;
} nn_geo;

/* One kernel of a conv node: depth 1 is a 2-D kernel (shared by every input
 * channel in sum mode, or applied to each channel on its own per channel),
 * else one plane per input channel.  w, b: offsets of its weights
 * [depth][kh][kw] and of its bias in the net's parameters. */
typedef struct nn_kern {
    int kh, kw, depth, geo;
    int is3d; /* written back as a 3-D kernel (a 3-D kernel of depth 1 stays 3-D) */
    size_t w, b;
} nn_kern;

typedef struct nn_node {
    nn_op op;
    int layer;          /* the pipeline layer it comes from (0-based) */
    int c, h, w;        /* input shape */
    int oc, oh, ow;     /* output shape */
    size_t in, out;     /* offsets of input and output in a work's activations */
    int need_din;       /* its input's gradient is wanted (a trainable node comes before) */
    int fast;           /* runs the fast path (nn_math_impl.h): same bits, blocked loops */
    size_t col_off;     /* conv: where its im2col matrix goes in a work's col */
    int padcopy;        /* fast conv with a zero border, stride 1, no dilation: im2col
                         * copies rows of a zero-padded copy of each input plane, which
                         * follows the matrix in col (at col_off + pad_off) */
    size_t pad_off;
    size_t rec_off;     /* dense, fast, weights that learn: its records in a work's rec */
    int train_w, train_b; /* its weights / biases learn */
    /* conv: maps kernel-major (kernel g, input channel ci: map g * c + ci) when
     * per_channel, else one map per kernel */
    int per_channel, sy, sx, dil, n_kern, n_geo;
    cnf_border border;
    nn_kern *kern;
    nn_geo *geo;
    /* pool */
    cnf_pool pool;
    int psize, pstride, ppad;
    /* activation */
    cnf_activation act;
    double slope;
    /* combine: out plane p = mode over g of in plane g * per + p; merge: out
     * group g = in groups first[g] .. first[g] + count[g] - 1 (1 or 2) */
    cnf_combine mode;
    int groups, per;
    int *first, *count;
    /* dense: y = W x + b, W [units][n_in] at w_off, b at b_off */
    int units, n_in;
    size_t w_off, b_off;
    int has_b;
    /* affine */
    double scale, shift;
} nn_node;

/* An AVX2 build of a function beside the portable one, chosen when the
 * program starts (ifunc); the same bits from both where no fused
 * multiply-add is enabled (C11 keeps contraction off, "avx2" has no FMA). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(CNF_NO_CLONES)
#define CNF__NN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CNF__NN_CLONES
#endif

/* Values a row copied by whole vectors of 8 may run past its end: the
 * slack after a padcopy node's matrix and after its padded planes. */
#define CNF__NN_PAD_SLACK 8

/* A run of parameters that learns. */
typedef struct nn_range {
    size_t off, len;
    int node;     /* the node they belong to */
    int recorded; /* a fast dense node's weights: their gradient comes from its records */
} nn_range;

/* What became of a pipeline layer's parameters: the node holding them (-1:
 * none), whether they were drawn here (missing from the pipeline). */
typedef struct nn_layer_info {
    int node;
    int drawn;
} nn_layer_info;

struct nn_math;

typedef struct nn_net {
    int n_nodes;
    nn_node *nodes;
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
    size_t n_in, n_out;    /* values of a sample in, of a result out */
    size_t act_size;       /* a work's activations: the input and every node's output */
    size_t max_act;        /* the largest single block (gradient buffers) */
    size_t max_col;        /* the largest im2col matrix (a work's dcol) */
    size_t col_size;       /* a work's col: each fast conv node's matrix at its col_off
                            * (kept from forward to backward), then one for the others */
    size_t n_params;
    size_t rec_size;       /* values one sample records (fast dense nodes' inputs and output
                            * gradients, for flush); 0: none */
    int n_layers;
    nn_layer_info *layers; /* per pipeline layer */
    int n_ranges;
    nn_range *ranges;
    int dbl;               /* parameters and buffers in double (gradient checks) */
    const struct nn_math *m;
    void *params;          /* n_params values, NULL until cnf__nn_params */
} nn_net;

/* A thread's buffers, in the net's type.  act: the input at 0 and each
 * node's output at its `out`; ga, gb: gradients (max_act each; the loss
 * seeds ga); col, dcol: im2col matrices (col_size) and a gradient of one
 * (max_col); grad: the
 * parameters' gradient, summed over the samples run since it was zeroed. */
typedef struct nn_work {
    void *act, *ga, *gb, *col, *dcol, *grad;
    void *rec;  /* with `train`: CNF__NN_CHUNK samples' records */
    int n_rec;  /* samples recorded since the last flush */
} nn_work;

/* Samples per chunk: the trainer's unit of work (nn_train.c), and the most
 * samples a work records between two flushes. */
#define CNF__NN_CHUNK 4

/* The layer math of one scalar type (nn_math_impl.h). */
typedef struct nn_math {
    size_t elem; /* sizeof the scalar */
    /* Sample i of data into the work's input. */
    void (*load)(const nn_net *n, nn_work *w, const cnf_dataset *data, long i);
    /* Every node's output from the input. */
    void (*forward)(const nn_net *n, nn_work *w);
    /* The loss of the forward pass against `label` (cross entropy from the
     * pre-softmax values, or mse); *pred the argmax (first maximum) of the
     * result.  With seed, the loss's gradient goes to ga and *from is the
     * node backward starts at (-1: none). */
    double (*loss)(const nn_net *n, nn_work *w, int label, cnf_loss loss, int seed, int *pred,
                   int *from);
    /* Gradients from ga (the gradient of node `from`'s output) back through
     * the nodes: parameter gradients added to grad; returns the buffer
     * holding the input's gradient when every node's need_din is set, else
     * NULL.  With `record` (and fewer than CNF__NN_CHUNK samples recorded),
     * a fast dense node keeps its input and output gradient in rec for
     * flush instead of adding its weights' gradient sample by sample. */
    void *(*backward)(const nn_net *n, nn_work *w, int from, int record);
    /* The recorded samples' weight gradients, summed from 0 in sample order
     * (their sum sample by sample, to the bit), written over those weights'
     * ranges of grad (nn_range.recorded), then no record. */
    void (*flush)(const nn_net *n, nn_work *w);
} nn_math;

extern const nn_math cnf__nn_f32, cnf__nn_f64;

/* --------------------------------------------------------------- building */

/* How to build: missing weights drawn (training) or refused (a net); the
 * scalar type; every node's input gradient computed (gradient checks); the
 * reference loops only (the tests' check of the fast path, which float32
 * nets take where a node's shape allows). */
enum { CNF__NN_TRAIN = 1, CNF__NN_DOUBLE = 2, CNF__NN_GRAD_INPUT = 4, CNF__NN_REFERENCE = 8 };

/* For the tests: when set, every net is built as with CNF__NN_REFERENCE (so
 * that cnf_train can be compared with itself on the reference loops). */
extern int cnf__nn_reference;

/* cnf__nn_build - the nodes, shapes and parameter layout of pipeline p on
 * inputs of channels x height x width, no parameter values yet.  Errors
 * name the layer like a plan's (where = the pipeline, its line and
 * column): CNF_E_USAGE for a layer that does not fit, CNF_E_EMPTY when no
 * output remains; without CNF__NN_TRAIN, a layer without weights.  *n is
 * freed on failure. */
cnf_status cnf__nn_build(const cnf_pipeline *p, int width, int height, int channels, int flags,
                         nn_net *n, cnf_error *err);
/* cnf__nn_flat_kernel - kernel f of conv layer pl with composite kernels
 * spread into their pairs (the kernels of its conv node, in order); NULL
 * past the end or for a layer given by shape. */
const cnf_kernel *cnf__nn_flat_kernel(const cnf_pl_layer *pl, int f);
/* cnf__nn_params - allocate the parameters and fill them: the pipeline's
 * weights (flip, divisor and scale folded in; the layer's bias added to each
 * kernel's), the missing ones drawn from stream (seed, 1, layer). */
cnf_status cnf__nn_params(nn_net *n, const cnf_pipeline *p, uint64_t seed, cnf_error *err);
/* cnf__nn_write_back - put the parameters of every layer that learned or was
 * drawn into the pipeline (conv: new kernels, divisor 1, no flip, scale 1,
 * the bias per kernel; dense: w, b, in).  Frozen layers given whole are left
 * as they are.  CNF_E_NOMEM leaves the pipeline's weights unspecified. */
cnf_status cnf__nn_write_back(const nn_net *n, cnf_pipeline *p, cnf_error *err);
/* cnf__nn_free - everything the net holds; a zeroed net is fine. */
void cnf__nn_free(nn_net *n);

/* cnf__nn_net_bytes - the bytes of the net's parameters and tables. */
uint64_t cnf__nn_net_bytes(const nn_net *n);
/* cnf__nn_work_bytes - the bytes of one work: with `train`, gradient buffers
 * and a parameter gradient too. */
uint64_t cnf__nn_work_bytes(const nn_net *n, int train);
cnf_status cnf__nn_work_alloc(const nn_net *n, int train, nn_work *w, cnf_error *err);
void cnf__nn_work_free(nn_work *w);

/* cnf__nn_layer_fail - rewrite a filled err as being about pipeline layer
 * i: "layer N (type): msg" at the layer's line and column. */
cnf_status cnf__nn_layer_fail(const cnf_pipeline *p, int i, cnf_status st, cnf_error *err);

/* ------------------------------------------------------------------ threads */

/* Threads of one training run or forward call, at most: a batch of 256
 * samples keeps them all busy (chunks of 4), and each costs a set of
 * buffers. */
#define CNF__NN_MAX_THREADS 64

/* A small pool: the caller and threads - 1 workers run tasks 0 .. n-1 of a
 * call, task t on thread t (so a task's buffers are its own).  Workers that
 * cannot be started are not an error: the caller runs their tasks. */
typedef struct cnf__pool cnf__pool;
cnf_status cnf__pool_new(int threads, cnf__pool **ret, cnf_error *err);
/* cnf__pool_run - run fn(ctx, t) for t < n (n at most the pool's threads)
 * and return when all are done.  One caller at a time. */
void cnf__pool_run(cnf__pool *p, int n, void (*fn)(void *ctx, int t), void *ctx);
void cnf__pool_free(cnf__pool *p);

/* ------------------------------------------------------------------- nets */

struct cnf_net {
    nn_net net;
};

/* cnf__net_forward_range - samples index[k] (or first + k without an
 * index), k < count, forward, split into `tasks` runs on the pool (NULL:
 * all on the caller), task t with works[t]; results into out (k-major, may
 * be NULL); with losses, each sample's loss against its label into
 * losses[k] and whether its argmax is the label into hit[k].  Used by
 * cnf_net_forward and by validation. */
void cnf__net_forward_range(const nn_net *n, nn_work *works, cnf__pool *pool, int tasks,
                            const cnf_dataset *data, const int *index, long first, long count,
                            float *out, cnf_loss loss, double *losses, unsigned char *hit);

#endif
