/* pooling.c - the pooling stage: max / average / min; cells outside the input are ignored. */
#include "stage.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool_impl {
    cnf_pool mode;
    int size, stride, padding, ceil_mode;
    long raw_h, raw_w; /* the size before the ceil-mode last-window rule */
} pool_impl;

static void pool_need(const cnf_stage *s, int y0, int y1, int *lo, int *hi)
{
    const pool_impl *p = s->impl;
    long a = (long)y0 * p->stride - p->padding, b = (long)(y1 - 1) * p->stride - p->padding + p->size;
    *lo = (int)(a < 0 ? 0 : a);
    *hi = (int)(b > s->in.h ? s->in.h : b);
}

/* Pooling needs no scratch: each output value is reduced in a register. */
static size_t pool_scratch(const cnf_stage *s, int rows)
{
    (void)s;
    (void)rows;
    return 0;
}

static void pool_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0, int y1,
                     void *scratch)
{
    const pool_impl *p = s->impl;
    (void)scratch;
    for (int y = y0; y < y1; y++) {
        long ys = (long)y * p->stride - p->padding, ye = ys + p->size;
        if (ys < 0)
            ys = 0;
        if (ye > s->in.h)
            ye = s->in.h;
        for (int c = 0; c < s->out.c; c++) {
            float *d = cnf__band_row(out, c, y);
            for (int x = 0; x < s->out.w; x++) {
                long xs = (long)x * p->stride - p->padding, xe = xs + p->size;
                double v = p->mode == CNF_POOL_MAX ? -INFINITY
                           : p->mode == CNF_POOL_MIN ? INFINITY
                                                     : 0;
                long n;
                if (xs < 0)
                    xs = 0;
                if (xe > s->in.w)
                    xe = s->in.w;
                n = (ye - ys) * (xe - xs);
                for (long yy = ys; yy < ye; yy++) {
                    const float *r = cnf__band_row(in, c, (int)yy);
                    for (long xx = xs; xx < xe; xx++) {
                        double t = r[xx];
                        if (p->mode == CNF_POOL_MAX)
                            v = t > v ? t : v;
                        else if (p->mode == CNF_POOL_MIN)
                            v = t < v ? t : v;
                        else
                            v += t;
                    }
                }
                /* Every window holds at least one input cell: padding <= size/2
                 * and the ceil-mode rule drop windows that would not. */
                if (n <= 0)
                    v = 0;
                else if (p->mode == CNF_POOL_AVG)
                    v /= (double)n;
                d[x] = (float)v;
            }
        }
    }
}

static void pool_explain(const cnf_stage *s, FILE *f)
{
    const pool_impl *p = s->impl;
    fprintf(f, "window %d, stride %d, padding %d, %s mode\n", p->size, p->stride, p->padding,
            p->ceil_mode ? "ceil" : "floor");
    for (int axis = 0; axis < 2; axis++) {
        int n = axis ? s->in.w : s->in.h, o = axis ? s->out.w : s->out.h;
        long raw = axis ? p->raw_w : p->raw_h;
        fprintf(f, "    %s %s((%d + %d + %d - %d) / %d) + 1 = %ld", axis ? "width: " : "height:",
                p->ceil_mode ? "ceil" : "floor", n, p->padding, p->padding, p->size, p->stride,
                raw);
        if (raw != o)
            fprintf(f, ", last window starts past the input: %d", o);
        fputc('\n', f);
    }
}

static void pool_destroy(cnf_stage *s)
{
    free(s->impl);
    s->impl = NULL;
}

static const cnf_stage_ops POOL_OPS = {.need = pool_need, .scratch = pool_scratch,
                                       .run = pool_run, .explain = pool_explain,
                                       .destroy = pool_destroy};

/* Floor division for a possibly negative numerator (C rounds toward zero). */
static long floor_div(long a, long b)
{
    long q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static long pool_out(long n, int k, int s, int p, int ceil_mode, long *raw)
{
    /* floor((n + 2p - k) / s) + 1, or ceil(...) + 1: in ceil mode a window
     * larger than the padded input still gives one output (PyTorch). */
    long span = n + 2L * p - k, o;
    o = floor_div(span + (ceil_mode ? s - 1 : 0), s) + 1;
    if (o < 0)
        o = 0;
    *raw = o;
    /* PyTorch's rule: the last window must start inside the input or the
     * left padding. */
    if (ceil_mode && (o - 1) * s >= n + p)
        o--;
    return o;
}

cnf_status cnf__pool_stage(cnf_stage *s, const cnf_shape *in, cnf_pool mode, int size,
                           int stride, int padding, int ceil_mode, int keep_alpha,
                           cnf_error *err)
{
    pool_impl *p;
    long oh, ow;
    memset(s, 0, sizeof *s);
    if (padding * 2 > size)
        return cnf__fail_setting(err, CNF_E_USAGE, "pool-padding",
                         "padding %d is more than half the window %d", padding, size);
    p = calloc(1, sizeof *p);
    if (!p)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    p->mode = mode;
    p->size = size;
    p->stride = stride;
    p->padding = padding;
    p->ceil_mode = ceil_mode;
    oh = pool_out(in->h, size, stride, padding, ceil_mode, &p->raw_h);
    ow = pool_out(in->w, size, stride, padding, ceil_mode, &p->raw_w);
    s->ops = &POOL_OPS;
    snprintf(s->kind, sizeof s->kind, "%spool", cnf_vocab_word(CNF_VOCAB_POOL, (int)mode));
    s->impl = p;
    s->in = *in;
    if (oh < 1 || ow < 1) {
        pool_destroy(s);
        return cnf__fail(err, CNF_E_EMPTY, NULL,
                         "pool window %d leaves no output pixels for a %dx%d input", size, in->w,
                         in->h);
    }
    s->out = *in;
    s->out.h = (int)oh;
    s->out.w = (int)ow;
    if (in->alpha && !keep_alpha) {
        s->out.alpha = 0;
        s->out.c = in->c - 1;
    }
    return CNF_OK;
}
