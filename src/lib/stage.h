/* stage.h - the stage interface: how a plan's steps produce rows from the rows they need.
 *
 * A plan is a chain of stages.  Each stage knows its input and output shape
 * and can compute any band of output rows [y0, y1) from a band of input rows
 * that covers what need() asks for.  The executor decides where bands come
 * from (a whole image, a streaming decoder, or ring buffers holding only the
 * rows still needed downstream) and how bands are spread over threads.  Computing a row never
 * depends on which band it is in, so results are the same for any split.
 */
#ifndef CNF_STAGE_H
#define CNF_STAGE_H

#include "internal.h"

#include <stdio.h>

/* Shape of the data between stages: `c` planes including the alpha plane. */
typedef struct cnf_shape {
    int w, h, c;
    int alpha; /* 1: the last plane is alpha */
} cnf_shape;

/* A band: rows [y0, y1) of `planes` planes of a w-wide image, found through
 * a table of row pointers, so a band can be a window of a whole image or of
 * a ring buffer alike.  Row y of plane p is rows[(y - y0) * planes + p];
 * consecutive rows need not be adjacent in memory. */
typedef struct cnf_band {
    float *const *rows;
    int planes;
    int w, y0, y1;
} cnf_band;

static inline float *cnf__band_row(const cnf_band *b, int p, int y)
{
    return b->rows[(size_t)(y - b->y0) * (size_t)b->planes + (size_t)p];
}

typedef struct cnf_stage cnf_stage;

typedef struct cnf_stage_ops {
    /* Input rows [*lo, *hi) (within the input) needed for output rows [y0, y1). */
    void (*need)(const cnf_stage *s, int y0, int y1, int *lo, int *hi);
    /* Bytes of per-thread scratch for a band of `rows` output rows. */
    size_t (*scratch)(const cnf_stage *s, int rows);
    /* Compute output rows [y0, y1) into `out`; `scratch` has scratch() bytes. */
    void (*run)(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0, int y1,
                void *scratch);
    /* Print the stage for --explain after its "N. kind: " (printed by the
     * plan): the rest of that line and any detail lines.  The plan prints
     * the path and shape lines after them. */
    void (*explain)(const cnf_stage *s, FILE *f);
    /* Append how the stage computes (the --explain "path:" line and
     * cnf_stage_info.path, one line, no terminator) to `out`.  NULL: the
     * stage has nothing to say there. */
    void (*path)(const cnf_stage *s, cnf_buf *out);
    /* Release impl. */
    void (*destroy)(cnf_stage *s);
} cnf_stage_ops;

struct cnf_stage {
    const cnf_stage_ops *ops;
    /* The stage's name, set by its constructor: what --explain prints before
     * the ':' of the stage's line, and cnf_stage_info.kind. */
    char kind[16];
    cnf_shape in, out;
    uint64_t weights, biases; /* parameters, for --explain */
    /* Bytes the stage holds for a run beyond its rings and scratch (a dense layer's weights,
     * the row tables of outputs with many planes): added to the plan's memory estimate. */
    uint64_t held;
    /* Multiply-adds (or as many comparable operations) of a whole run, for
     * --explain and cnf_plan_limits.max_work; 0: one per output value. */
    uint64_t work;
    /* ops->path's text, made once when the stage is added to a plan, so
     * --explain and cnf_stage_info read the same words; NULL: no path.
     * Owned by the plan. */
    char *path;
    void *impl;
};

/* The bytes of one entry of a conv stage's tap tables (conv.c), for the
 * memory estimate made before the stage is built. */
#define CNF__TAP_BYTES 16

/* Stage constructors.  Each validates its arguments, computes its output
 * shape from `in`, names its kind, and fails with a message naming what is
 * wrong, leaving nothing to destroy.  A dry stage (`dry` 1) is the same
 * stage without what only running needs (a conv stage's tap tables, a dense
 * stage's copy of its weights): its shapes, parameters, work, scratch, held
 * bytes, explain and path are the same, and it must never run. */
cnf_status cnf__conv_stage(cnf_stage *s, const cnf_shape *in, const cnf_layer *layer,
                           const cnf_kernel *const *kernels, int n_kernels, int per_channel,
                           int keep_alpha, int portable, int dry, cnf_error *err);
cnf_status cnf__luma_stage(cnf_stage *s, const cnf_shape *in, int keep_alpha, cnf_error *err);
/* The maps of composite kernels' pairs made one (count[g] 2) or copied
 * (count[g] 1), for n_out groups in kernel order. */
cnf_status cnf__merge_stage(cnf_stage *s, const cnf_shape *in, int n_out, const int *count,
                            cnf_error *err);
cnf_status cnf__combine_stage(cnf_stage *s, const cnf_shape *in, int groups, cnf_combine mode,
                              cnf_error *err);
cnf_status cnf__activation_stage(cnf_stage *s, const cnf_shape *in, cnf_activation act,
                                 double param, cnf_error *err);
cnf_status cnf__pool_stage(cnf_stage *s, const cnf_shape *in, cnf_pool mode, int size,
                           int stride, int padding, int ceil_mode, int keep_alpha,
                           cnf_error *err);
/* How a pooling stage computes (pooling.c): CNF__POOL_AUTO picks; the others force the
 * direct loop or the separable path (when its scratch fits; else direct), for tests and
 * benchmarks.  Same values either way. */
enum { CNF__POOL_AUTO, CNF__POOL_DIRECT, CNF__POOL_SEPARABLE };
void cnf__pool_set_path(cnf_stage *s, int path);

/* The learned layers (learned.c).  flatten: C x H x W -> (C*H*W) x 1 x 1 in (c, y, x) order;
 * dense: `units` outputs over the flattened input, y = W x + b with W [units][n_in] and b
 * [units] (NULL: no bias) copied into the stage, n_in must be the input's C*H*W; softmax:
 * across the channels at each position; affine: y = scale * x + shift.  They read colour
 * planes only and output no alpha. */
cnf_status cnf__flatten_stage(cnf_stage *s, const cnf_shape *in, cnf_error *err);
cnf_status cnf__dense_stage(cnf_stage *s, const cnf_shape *in, int units, int n_in,
                            const float *w, const float *b, int dry, cnf_error *err);
cnf_status cnf__softmax_stage(cnf_stage *s, const cnf_shape *in, cnf_error *err);
cnf_status cnf__affine_stage(cnf_stage *s, const cnf_shape *in, double scale, double shift,
                             cnf_error *err);

/* Output size of one axis in floor mode: floor((n + pb + pa - extent) / stride) + 1,
 * or 0 when the window does not fit (cnnfilter(1), Convolution). */
static inline long cnf__out_size(long n, long pb, long pa, long extent, long stride)
{
    long span = n + pb + pa - extent;
    if (span < 0)
        return 0;
    return span / stride + 1;
}

#endif
