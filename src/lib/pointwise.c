/* pointwise.c - stages that map each pixel on its own: luma, combine, merge, activation. */
#include "stage.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void same_rows(const cnf_stage *s, int y0, int y1, int *lo, int *hi)
{
    (void)s;
    *lo = y0;
    *hi = y1;
}

static size_t no_scratch(const cnf_stage *s, int rows)
{
    (void)s;
    (void)rows;
    return 0;
}

static void no_destroy(cnf_stage *s) { s->impl = NULL; }

/* Copy the alpha plane (if the output has one) row by row. */
static void pass_alpha(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0,
                       int y1)
{
    if (!s->out.alpha)
        return;
    for (int y = y0; y < y1; y++)
        memcpy(cnf__band_row(out, s->out.c - 1, y), cnf__band_row(in, s->in.c - 1, y),
               (size_t)s->out.w * sizeof(float));
}

/* ---------------------------------------------------------------- luma */

static void luma_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0, int y1,
                     void *scratch)
{
    (void)scratch;
    for (int y = y0; y < y1; y++) {
        const float *r = cnf__band_row(in, 0, y), *g = cnf__band_row(in, 1, y),
                    *b = cnf__band_row(in, 2, y);
        float *d = cnf__band_row(out, 0, y);
        /* In double, not rounded to an integer (cnnfilter(1), Channels and alpha). */
        for (int x = 0; x < s->in.w; x++)
            d[x] = (float)(0.299 * r[x] + 0.587 * g[x] + 0.114 * b[x]);
    }
    pass_alpha(s, in, out, y0, y1);
}

static void luma_explain(const cnf_stage *s, FILE *f)
{
    (void)s;
    fprintf(f, "0.299 R + 0.587 G + 0.114 B\n");
}

static const cnf_stage_ops LUMA_OPS = {.need = same_rows, .scratch = no_scratch,
                                       .run = luma_run, .explain = luma_explain,
                                       .destroy = no_destroy};

cnf_status cnf__luma_stage(cnf_stage *s, const cnf_shape *in, int keep_alpha, cnf_error *err)
{
    memset(s, 0, sizeof *s);
    if (in->c - in->alpha != 3)
        return cnf__fail_setting(err, CNF_E_USAGE, "channels",
                         "'gray' needs an RGB input, this one has %d channels", in->c - in->alpha);
    s->ops = &LUMA_OPS;
    snprintf(s->kind, sizeof s->kind, "luma");
    s->in = *in;
    s->out = *in;
    s->out.alpha = in->alpha && keep_alpha;
    s->out.c = 1 + s->out.alpha;
    return CNF_OK;
}

/* ------------------------------------------------------------- combine */

typedef struct combine_impl {
    int groups, per;
    cnf_combine mode;
} combine_impl;

static void combine_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0,
                        int y1, void *scratch)
{
    const combine_impl *c = s->impl;
    (void)scratch;
    for (int y = y0; y < y1; y++)
        for (int p = 0; p < c->per; p++) {
            float *d = cnf__band_row(out, p, y);
            for (int x = 0; x < s->out.w; x++) {
                /* Fixed order over the kernels of the bank, in double. */
                double acc = c->mode == CNF_COMBINE_MAX ? -INFINITY : 0;
                for (int g = 0; g < c->groups; g++) {
                    double v = cnf__band_row(in, g * c->per + p, y)[x];
                    if (c->mode == CNF_COMBINE_MAGNITUDE)
                        acc += v * v;
                    else if (c->mode == CNF_COMBINE_MAX)
                        acc = v > acc ? v : acc;
                    else
                        acc += v;
                }
                d[x] = (float)(c->mode == CNF_COMBINE_MAGNITUDE ? sqrt(acc) : acc);
            }
        }
    pass_alpha(s, in, out, y0, y1);
}

static void combine_explain(const cnf_stage *s, FILE *f)
{
    const combine_impl *c = s->impl;
    fprintf(f, "%s of %d maps%s\n", cnf_vocab_word(CNF_VOCAB_COMBINE, (int)c->mode),
            c->groups,
            c->mode == CNF_COMBINE_MAGNITUDE ? " (sqrt of the sum of squares)" : "");
}

static void combine_destroy(cnf_stage *s)
{
    free(s->impl);
    s->impl = NULL;
}

static const cnf_stage_ops COMBINE_OPS = {.need = same_rows, .scratch = no_scratch,
                                          .run = combine_run, .explain = combine_explain,
                                          .destroy = combine_destroy};

cnf_status cnf__combine_stage(cnf_stage *s, const cnf_shape *in, int groups, cnf_combine mode,
                              cnf_error *err)
{
    combine_impl *c;
    int colour = in->c - in->alpha;
    memset(s, 0, sizeof *s);
    if (groups < 1 || colour % groups != 0)
        return cnf__fail_setting(err, CNF_E_USAGE, "combine", "cannot combine %d maps in %d groups",
                         colour, groups);
    c = calloc(1, sizeof *c);
    if (!c)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    c->groups = groups;
    c->per = colour / groups;
    c->mode = mode;
    s->ops = &COMBINE_OPS;
    snprintf(s->kind, sizeof s->kind, "combine");
    s->impl = c;
    s->in = *in;
    s->out = *in;
    s->out.c = c->per + in->alpha;
    return CNF_OK;
}

/* --------------------------------------------------------------- merge
 *
 * A bank with composite kernels (sobel = the magnitude of sobel_v and
 * sobel_h) is convolved with the pairs spread out; this stage makes each
 * pair one map again, sqrt(v^2 + h^2) in double as the combine stage does
 * (so `-k sobel` alone and inside a bank give the same values), and copies
 * the maps of plain kernels.  Groups of `per` planes (per colour channel)
 * stay in kernel order. */

typedef struct merge_impl {
    int n_out, per;
    int *first; /* per output group: its first input group */
    int *count; /* 1 (copied) or 2 (magnitude of the pair) */
} merge_impl;

static void merge_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0, int y1,
                      void *scratch)
{
    const merge_impl *m = s->impl;
    (void)scratch;
    for (int y = y0; y < y1; y++)
        for (int g = 0; g < m->n_out; g++)
            for (int p = 0; p < m->per; p++) {
                float *d = cnf__band_row(out, g * m->per + p, y);
                const float *a = cnf__band_row(in, m->first[g] * m->per + p, y);
                if (m->count[g] == 1) {
                    memcpy(d, a, (size_t)s->out.w * sizeof(float));
                    continue;
                }
                {
                    const float *b = cnf__band_row(in, (m->first[g] + 1) * m->per + p, y);
                    for (int x = 0; x < s->out.w; x++) {
                        double acc = 0, v = a[x], h = b[x];
                        acc += v * v;
                        acc += h * h;
                        d[x] = (float)sqrt(acc);
                    }
                }
            }
    pass_alpha(s, in, out, y0, y1);
}

static void merge_explain(const cnf_stage *s, FILE *f)
{
    const merge_impl *m = s->impl;
    int pairs = 0;
    for (int g = 0; g < m->n_out; g++)
        pairs += m->count[g] == 2;
    fprintf(f, "magnitude of %d kernel pair%s (sobel, prewitt, scharr): %d maps -> %d\n", pairs,
            pairs == 1 ? "" : "s", (s->in.c - s->in.alpha) / m->per, m->n_out);
}

static void merge_destroy(cnf_stage *s)
{
    merge_impl *m = s->impl;
    if (m) {
        free(m->first);
        free(m->count);
        free(m);
    }
    s->impl = NULL;
}

static const cnf_stage_ops MERGE_OPS = {.need = same_rows, .scratch = no_scratch,
                                        .run = merge_run, .explain = merge_explain,
                                        .destroy = merge_destroy};

cnf_status cnf__merge_stage(cnf_stage *s, const cnf_shape *in, int n_out, const int *count,
                            cnf_error *err)
{
    merge_impl *m;
    int colour = in->c - in->alpha, n_in = 0;
    memset(s, 0, sizeof *s);
    for (int g = 0; g < n_out; g++)
        n_in += count[g];
    if (n_in < 1 || colour % n_in != 0)
        return cnf__fail_setting(err, CNF_E_USAGE, "kernel", "cannot merge %d maps in %d groups",
                                 colour, n_in);
    m = calloc(1, sizeof *m);
    if (m) {
        m->first = malloc(sizeof(int) * (size_t)n_out);
        m->count = malloc(sizeof(int) * (size_t)n_out);
    }
    if (!m || !m->first || !m->count) {
        if (m) {
            free(m->first);
            free(m->count);
        }
        free(m);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    m->n_out = n_out;
    m->per = colour / n_in;
    for (int g = 0, f = 0; g < n_out; f += count[g], g++) {
        m->first[g] = f;
        m->count[g] = count[g];
    }
    s->ops = &MERGE_OPS;
    snprintf(s->kind, sizeof s->kind, "merge");
    s->impl = m;
    s->in = *in;
    s->out = *in;
    s->out.c = n_out * m->per + in->alpha;
    return CNF_OK;
}

/* ---------------------------------------------------------- activation */

typedef struct act_impl {
    cnf_activation act;
    double param;
} act_impl;

static void act_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0, int y1,
                    void *scratch)
{
    const act_impl *a = s->impl;
    int colour = s->in.c - s->in.alpha;
    (void)scratch;
    for (int y = y0; y < y1; y++)
        for (int p = 0; p < colour; p++) {
            const float *src = cnf__band_row(in, p, y);
            float *d = cnf__band_row(out, p, y);
            int w = s->out.w;
            switch (a->act) {
            case CNF_ACT_RELU:
                for (int x = 0; x < w; x++)
                    d[x] = src[x] > 0 ? src[x] : 0.0f;
                break;
            case CNF_ACT_ABS:
                for (int x = 0; x < w; x++)
                    d[x] = fabsf(src[x]);
                break;
            case CNF_ACT_LEAKY_RELU:
                for (int x = 0; x < w; x++)
                    d[x] = src[x] > 0 ? src[x] : (float)(a->param * src[x]);
                break;
            case CNF_ACT_SIGMOID:
                for (int x = 0; x < w; x++)
                    d[x] = (float)(1.0 / (1.0 + exp(-(double)src[x])));
                break;
            case CNF_ACT_TANH:
                for (int x = 0; x < w; x++)
                    d[x] = (float)tanh((double)src[x]);
                break;
            case CNF_ACT_NONE:
            default:
                memcpy(d, src, (size_t)w * sizeof(float));
                break;
            }
        }
    pass_alpha(s, in, out, y0, y1);
}

static void act_explain(const cnf_stage *s, FILE *f)
{
    const act_impl *a = s->impl;
    if (a->act == CNF_ACT_LEAKY_RELU)
        fprintf(f, "leaky_relu (slope %g)\n", a->param);
    else
        fprintf(f, "%s\n", cnf_vocab_word(CNF_VOCAB_ACTIVATION, (int)a->act));
}

static const cnf_stage_ops ACT_OPS = {.need = same_rows, .scratch = no_scratch,
                                      .run = act_run, .explain = act_explain,
                                      .destroy = combine_destroy};

cnf_status cnf__activation_stage(cnf_stage *s, const cnf_shape *in, cnf_activation act,
                                 double param, cnf_error *err)
{
    act_impl *a;
    memset(s, 0, sizeof *s);
    a = calloc(1, sizeof *a);
    if (!a)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    a->act = act;
    a->param = param;
    s->ops = &ACT_OPS;
    snprintf(s->kind, sizeof s->kind, "activation");
    s->impl = a;
    s->in = *in;
    s->out = *in;
    return CNF_OK;
}
