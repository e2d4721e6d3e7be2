/* learned.c - the stages of the learned layers: flatten, dense, softmax, affine.
 *
 * These are the layers of a classifier's head.
 * flatten and dense need every row of their input for their one output row, so the
 * executor holds their input whole (a ring as tall as the image, sized from need()) and the
 * stage runs once; softmax and affine map each position on its own, like an activation.
 * Sums are taken in double in a fixed order (see dot()), so a value never depends on
 * threads or bands, and softmax subtracts the maximum before exponentiating so
 * that large inputs cannot overflow.  The input's alpha plane, if any, is not read (a
 * pipeline drops it before its first stage anyway) and no stage here outputs one.
 */
#include "stage.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The pointers the executor keeps per plane of a stage's output (its slot, view and band
 * tables): negligible for images, but flatten and dense make one plane per value. */
#define ROW_TABLE_BYTES (3 * sizeof(float *))

static void same_rows(const cnf_stage *s, int y0, int y1, int *lo, int *hi)
{
    (void)s;
    *lo = y0;
    *hi = y1;
}

/* Every input row, for the one output row. */
static void all_rows(const cnf_stage *s, int y0, int y1, int *lo, int *hi)
{
    *lo = 0;
    *hi = y1 > y0 ? s->in.h : 0;
}

static size_t no_scratch(const cnf_stage *s, int rows)
{
    (void)s;
    (void)rows;
    return 0;
}

static void free_impl(cnf_stage *s)
{
    free(s->impl);
    s->impl = NULL;
}

static void no_destroy(cnf_stage *s) { s->impl = NULL; }

/* A stage named `kind` reading the colour planes of `in`. */
static void begin(cnf_stage *s, const cnf_shape *in, const cnf_stage_ops *ops, const char *kind)
{
    memset(s, 0, sizeof *s);
    s->ops = ops;
    snprintf(s->kind, sizeof s->kind, "%s", kind);
    s->in = *in;
    s->out = *in;
    s->out.c = in->c - in->alpha;
    s->out.alpha = 0;
}

/* The number of values C*H*W of the colour planes of `in`, or -1 over INT_MAX. */
static long long values_of(const cnf_shape *in)
{
    long long n = (long long)(in->c - in->alpha) * in->h * in->w;
    return n > INT_MAX ? -1 : n;
}

/* Copy the colour planes of the input band into x, in (c, y, x) order. */
static void gather(const cnf_stage *s, const cnf_band *in, float *x)
{
    int colour = s->in.c - s->in.alpha, w = s->in.w;
    for (int c = 0; c < colour; c++)
        for (int y = 0; y < s->in.h; y++) {
            memcpy(x, cnf__band_row(in, c, y), (size_t)w * sizeof(float));
            x += w;
        }
}

/* ------------------------------------------------------------- flatten */

static void flatten_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0,
                        int y1, void *scratch)
{
    int colour = s->in.c - s->in.alpha, w = s->in.w, p = 0;
    (void)scratch;
    if (y0 >= y1)
        return;
    for (int c = 0; c < colour; c++)
        for (int y = 0; y < s->in.h; y++) {
            const float *row = cnf__band_row(in, c, y);
            for (int x = 0; x < w; x++)
                cnf__band_row(out, p++, 0)[0] = row[x];
        }
}

static void flatten_explain(const cnf_stage *s, FILE *f)
{
    fprintf(f, "%d x %d x %d -> %d values in (c, y, x) order\n", s->in.c - s->in.alpha, s->in.h,
            s->in.w, s->out.c);
}

static const cnf_stage_ops FLATTEN_OPS = {.need = all_rows, .scratch = no_scratch,
                                          .run = flatten_run, .explain = flatten_explain,
                                          .destroy = no_destroy};

cnf_status cnf__flatten_stage(cnf_stage *s, const cnf_shape *in, cnf_error *err)
{
    long long n = values_of(in);
    begin(s, in, &FLATTEN_OPS, "flatten");
    if (n < 0)
        return cnf__fail(err, CNF_E_TOO_BIG, NULL, "%d x %d x %d is too many values to flatten",
                         in->c - in->alpha, in->h, in->w);
    s->out.w = s->out.h = 1;
    s->out.c = (int)n;
    s->held = (uint64_t)n * ROW_TABLE_BYTES;
    return CNF_OK;
}

/* --------------------------------------------------------------- dense */

typedef struct dense_impl {
    int units, n_in;
    float *w;  /* [units][n_in]; NULL in a dry stage */
    float *b;  /* [units], or NULL */
    int has_b; /* a bias term (b, unless the stage is dry) */
} dense_impl;

static size_t dense_scratch(const cnf_stage *s, int rows)
{
    const dense_impl *d = s->impl;
    (void)rows;
    return (size_t)d->n_in * sizeof(float);
}

/* The dot product of n floats in double: four running sums (inputs i = 0, 1, 2, 3 mod 4)
 * added pairwise at the end, a fixed order whatever the thread or band.  Four sums rather
 * than one keep four additions in flight instead of waiting on each (about 4x faster). */
static double dot(const float *w, const float *x, int n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += (double)w[i] * (double)x[i];
        s1 += (double)w[i + 1] * (double)x[i + 1];
        s2 += (double)w[i + 2] * (double)x[i + 2];
        s3 += (double)w[i + 3] * (double)x[i + 3];
    }
    for (; i < n; i++)
        s0 += (double)w[i] * (double)x[i];
    return (s0 + s1) + (s2 + s3);
}

static void dense_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0,
                      int y1, void *scratch)
{
    const dense_impl *d = s->impl;
    float *x = scratch;
    if (y0 >= y1)
        return;
    gather(s, in, x);
    for (int u = 0; u < d->units; u++)
        cnf__band_row(out, u, 0)[0] = (float)(dot(d->w + (size_t)u * (size_t)d->n_in, x, d->n_in) +
                                              (d->b ? d->b[u] : 0.0));
}

static void dense_explain(const cnf_stage *s, FILE *f)
{
    const dense_impl *d = s->impl;
    fprintf(f, "%d units over %d inputs, y = W x%s\n", d->units, d->n_in,
            d->has_b ? " + b" : " (no bias)");
}

static void dense_destroy(cnf_stage *s)
{
    dense_impl *d = s->impl;
    if (d) {
        free(d->w);
        free(d->b);
    }
    free_impl(s);
}

static const cnf_stage_ops DENSE_OPS = {.need = all_rows, .scratch = dense_scratch,
                                        .run = dense_run, .explain = dense_explain,
                                        .destroy = dense_destroy};

cnf_status cnf__dense_stage(cnf_stage *s, const cnf_shape *in, int units, int n_in,
                            const float *w, const float *b, int dry, cnf_error *err)
{
    long long n = values_of(in);
    size_t nw = (size_t)units * (size_t)n_in;
    dense_impl *d;
    begin(s, in, &DENSE_OPS, "dense");
    if (units < 1 || n_in < 1 || !w)
        return cnf__fail(err, CNF_E_USAGE, NULL, "a dense layer needs its weights");
    if (n != n_in)
        return cnf__fail(err, CNF_E_USAGE, NULL,
                         "its weights take %d inputs, the layer gets %lld (%d x %d x %d)", n_in,
                         n, in->c - in->alpha, in->h, in->w);
    d = calloc(1, sizeof *d);
    if (d && !dry) {
        d->w = malloc(nw * sizeof *d->w);
        d->b = b ? malloc((size_t)units * sizeof *d->b) : NULL;
    }
    s->impl = d;
    if (!d || (!dry && (!d->w || (b && !d->b)))) {
        dense_destroy(s);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory for %zu weights", nw);
    }
    if (!dry)
        memcpy(d->w, w, nw * sizeof *d->w);
    if (b && !dry)
        memcpy(d->b, b, (size_t)units * sizeof *d->b);
    d->has_b = b != NULL;
    d->units = units;
    d->n_in = n_in;
    s->out.w = s->out.h = 1;
    s->out.c = units;
    s->weights = nw;
    s->biases = b ? (uint64_t)units : 0;
    s->held = (uint64_t)(nw + (b ? (size_t)units : 0)) * sizeof(float) +
              (uint64_t)units * ROW_TABLE_BYTES;
    return CNF_OK;
}

/* ------------------------------------------------------------- softmax */

static size_t softmax_scratch(const cnf_stage *s, int rows)
{
    (void)rows;
    return (size_t)s->out.c * sizeof(double);
}

static void softmax_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0,
                        int y1, void *scratch)
{
    int n = s->out.c;
    double *e = scratch;
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < s->out.w; x++) {
            double m = -INFINITY, sum = 0;
            for (int c = 0; c < n; c++) {
                double v = cnf__band_row(in, c, y)[x];
                m = v > m ? v : m;
            }
            for (int c = 0; c < n; c++) {
                e[c] = exp((double)cnf__band_row(in, c, y)[x] - m);
                sum += e[c];
            }
            for (int c = 0; c < n; c++)
                cnf__band_row(out, c, y)[x] = (float)(e[c] / sum);
        }
}

static void softmax_explain(const cnf_stage *s, FILE *f)
{
    fprintf(f, "over the %d channels at each position, exp(v - max) / sum\n", s->out.c);
}

static const cnf_stage_ops SOFTMAX_OPS = {.need = same_rows, .scratch = softmax_scratch,
                                          .run = softmax_run, .explain = softmax_explain,
                                          .destroy = no_destroy};

cnf_status cnf__softmax_stage(cnf_stage *s, const cnf_shape *in, cnf_error *err)
{
    (void)err;
    begin(s, in, &SOFTMAX_OPS, "softmax");
    return CNF_OK;
}

/* -------------------------------------------------------------- affine */

typedef struct affine_impl {
    double scale, shift;
} affine_impl;

static void affine_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0,
                       int y1, void *scratch)
{
    const affine_impl *a = s->impl;
    (void)scratch;
    for (int y = y0; y < y1; y++)
        for (int c = 0; c < s->out.c; c++) {
            const float *src = cnf__band_row(in, c, y);
            float *d = cnf__band_row(out, c, y);
            for (int x = 0; x < s->out.w; x++)
                d[x] = (float)(a->scale * (double)src[x] + a->shift);
        }
}

static void affine_explain(const cnf_stage *s, FILE *f)
{
    const affine_impl *a = s->impl;
    fprintf(f, "y = %.9g x + %.9g\n", a->scale, a->shift);
}

static const cnf_stage_ops AFFINE_OPS = {.need = same_rows, .scratch = no_scratch,
                                         .run = affine_run, .explain = affine_explain,
                                         .destroy = free_impl};

cnf_status cnf__affine_stage(cnf_stage *s, const cnf_shape *in, double scale, double shift,
                             cnf_error *err)
{
    affine_impl *a;
    begin(s, in, &AFFINE_OPS, "affine");
    a = calloc(1, sizeof *a);
    if (!a)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    a->scale = scale;
    a->shift = shift;
    s->impl = a;
    return CNF_OK;
}
