/* pooling.c - the pooling stage: max / average / min; cells outside the input are ignored.
 *
 * Two ways to compute the same values.  The direct loop reduces each window
 * cell by cell, in row-major order: O(P^2) per output; small windows take it
 * (faster there, use_separable()).  The separable path reduces the window's
 * columns and rows one after the other, each 1-D pass costing O(1) per value
 * whatever P:
 *   max / min: the van Herk / Gil-Werman block method (chosen over a
 *     monotonic deque: no branches that depend on the data, and whole rows
 *     at a time down the columns).  The axis is cut into blocks of P cells
 *     from its start (the last one shorter); within each block a running
 *     extreme from its start (prefix) and from its end (suffix).  A window,
 *     clipped to the input, meets at most two blocks: its value is the
 *     suffix at its first cell combined with the prefix at its last (one of
 *     the two alone when it lies in one block, which it then starts or
 *     ends).  Ties keep the earlier cell and NaN is never taken (an all-NaN
 *     window gives -inf / +inf), as in the direct loop.  Columns first
 *     (extreme_columns(): down the columns on whole rows, then along the
 *     rows); but the direct loop keeps the first cell in row-major order
 *     among those equal to the extreme, which only -0.0 beside +0.0 can
 *     tell from another, so a plane holding a -0.0 goes rows first
 *     (extreme_chunk()), whose "first in its row, then first row" is
 *     row-major order.
 *   avg: running sums in double down the columns, then along the row.  Used
 *     only when every partial sum of either way is exact (sums_exact()), so
 *     the sum, and its quotient by the count of cells inside, are the
 *     direct loop's bits; otherwise the direct loop runs.
 * A band of output rows reads only the input rows need() gives.  Its cost
 * per output row is a few whole-row operations plus about (P + rows) / rows
 * row reads down the columns, `rows` the band's height (at least ~P / S
 * rows per chunk when the band allows). */
#include "stage.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The separable path's scratch per thread is held under this many bytes;
 * an image too wide for one output row's windows in it is pooled directly. */
#define POOL_SCRATCH_CAP ((size_t)32 << 20)

typedef struct pool_impl {
    cnf_pool mode;
    int size, stride, padding, ceil_mode;
    long raw_h, raw_w; /* the size before the ceil-mode last-window rule */
    int path;          /* CNF__POOL_AUTO, _DIRECT or _SEPARABLE */
    int chunk;         /* output rows per chunk of the separable path; 0: none */
} pool_impl;

static void pool_need(const cnf_stage *s, int y0, int y1, int *lo, int *hi)
{
    const pool_impl *p = s->impl;
    long a = (long)y0 * p->stride - p->padding, b = (long)(y1 - 1) * p->stride - p->padding + p->size;
    *lo = (int)(a < 0 ? 0 : a);
    *hi = (int)(b > s->in.h ? s->in.h : b);
}

/* Input rows of a chunk of `k` output rows: consecutive windows overlap or
 * touch when S <= P; with S > P a chunk is one output row. */
static long chunk_rows(const pool_impl *p, long k)
{
    return p->stride < p->size ? (k - 1) * p->stride + p->size : p->size;
}

/* Scratch of the separable path for chunks of k output rows, the larger of:
 * rows first: two rows of in.w floats (the 1-D pass along a row), two
 * planes of rows x out.w floats (max/min); columns first: three rows of
 * in.w floats and k of them (max/min), or one row of in.w doubles (avg). */
static size_t chunk_bytes(const cnf_stage *s, long k)
{
    const pool_impl *p = s->impl;
    size_t w = (size_t)s->in.w, a = 8 * (w + (size_t)chunk_rows(p, k) * (size_t)s->out.w),
           b = 4 * (3 + (size_t)k) * w;
    return (a > b ? a : b) + 64;
}

/* The chunk: enough output rows to cover about two windows' rows with S < P,
 * fewer when the scratch would pass the cap; 0 when one output row does. */
static int pick_chunk(const cnf_stage *s)
{
    const pool_impl *p = s->impl;
    long k = p->stride < p->size ? (p->size + p->stride - 1) / p->stride : 1;
    if (k > s->out.h)
        k = s->out.h;
    while (k > 1 && chunk_bytes(s, k) > POOL_SCRATCH_CAP)
        k /= 2;
    return chunk_bytes(s, k) > POOL_SCRATCH_CAP ? 0 : (int)k;
}

static int use_separable(const pool_impl *p)
{
    if (!p->chunk || p->path == CNF__POOL_DIRECT)
        return 0;
    if (p->path == CNF__POOL_SEPARABLE)
        return 1;
    /* The direct loop costs P^2 per output and there are about n / S^2
     * outputs; the separable path costs a few whole-row operations per
     * output row (bench/results-pool.md). */
    if (p->mode == CNF_POOL_AVG)
        return p->size >= 4 && p->size >= 4L * p->stride;
    return p->size >= 8 || p->size >= 2L * p->stride + 1;
}

static size_t pool_scratch(const cnf_stage *s, int rows)
{
    const pool_impl *p = s->impl;
    /* run() gets at most `rows` rows, so its chunks are no longer. */
    return use_separable(p) ? chunk_bytes(s, rows < p->chunk ? (rows > 0 ? rows : 1) : p->chunk)
                            : 0;
}

/* The cells of window o along an axis of n cells, clipped to it. */
static void window(const pool_impl *p, long o, long n, long *c0, long *c1)
{
    long a = o * p->stride - p->padding, b = a + p->size;
    *c0 = a < 0 ? 0 : a;
    *c1 = b > n ? n : b;
}

/* The direct loop: output rows [y0, y1) of plane c. */
static void pool_direct(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int c,
                        int y0, int y1)
{
    const pool_impl *p = s->impl;
    const cnf_pool mode = p->mode;
    const int ow = s->out.w, iw = s->in.w, stride = p->stride, pad = p->padding, size = p->size;
    for (int y = y0; y < y1; y++) {
        long ys = (long)y * p->stride - p->padding, ye = ys + p->size;
        float *d = cnf__band_row(out, c, y);
        if (ys < 0)
            ys = 0;
        if (ye > s->in.h)
            ye = s->in.h;
        for (int x = 0; x < ow; x++) {
            long xs = (long)x * stride - pad, xe = xs + size;
            double v = mode == CNF_POOL_MAX ? -INFINITY
                       : mode == CNF_POOL_MIN ? INFINITY
                                                 : 0;
            long n;
            if (xs < 0)
                xs = 0;
            if (xe > iw)
                xe = iw;
            n = (ye - ys) * (xe - xs);
            for (long yy = ys; yy < ye; yy++) {
                const float *r = cnf__band_row(in, c, (int)yy);
                for (long xx = xs; xx < xe; xx++) {
                    double t = r[xx];
                    if (mode == CNF_POOL_MAX)
                        v = t > v ? t : v;
                    else if (mode == CNF_POOL_MIN)
                        v = t < v ? t : v;
                    else
                        v += t;
                }
            }
            /* Every window holds at least one input cell: padding <= size/2
             * and the ceil-mode rule drop windows that would not. */
            if (n <= 0)
                v = 0;
            else if (mode == CNF_POOL_AVG)
                v /= (double)n;
            d[x] = (float)v;
        }
    }
}

/* Max when `hi`, else min, of a (earlier) and b (later): a on ties; a NaN b
 * is never taken.  `a` is never NaN here. */
#define EXT_LATER(hi, a, b) ((hi) ? ((b) > (a) ? (b) : (a)) : ((b) < (a) ? (b) : (a)))
/* The same with b earlier than a: b on ties, a NaN b never taken. */
#define EXT_EARLIER(hi, a, b) ((hi) ? ((b) >= (a) ? (b) : (a)) : ((b) <= (a) ? (b) : (a)))

/* The extreme of each of `no` windows along one row of n cells (the 1-D
 * block method), into dst. */
static void extreme_row(const pool_impl *p, const float *a, long n, float *pre, float *suf,
                        float *dst, long no)
{
    const int hi = p->mode == CNF_POOL_MAX, P = p->size;
    const float none = hi ? -INFINITY : INFINITY;
    for (long b = 0; b < n; b += P) {
        long e = b + P < n ? b + P : n;
        float v = none;
        for (long i = b; i < e; i++)
            pre[i] = v = EXT_LATER(hi, v, a[i]);
        v = none;
        for (long i = e - 1; i >= b; i--)
            suf[i] = v = EXT_EARLIER(hi, v, a[i]);
    }
    for (long o = 0; o < no; o++) {
        long c0, c1;
        window(p, o, n, &c0, &c1);
        if (c0 / P != (c1 - 1) / P)
            dst[o] = EXT_LATER(hi, suf[c0], pre[c1 - 1]);
        else
            dst[o] = c0 % P == 0 ? pre[c1 - 1] : suf[c0];
    }
}

/* Output rows [y0, y1) of plane c by the separable block method. */
static void extreme_chunk(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int c,
                          int y0, int y1, void *scratch)
{
    const pool_impl *p = s->impl;
    const int hi = p->mode == CNF_POOL_MAX, P = p->size;
    const size_t ow = (size_t)s->out.w;
    const float none = hi ? -INFINITY : INFINITY;
    long lo, end, nr;
    float *pre1 = scratch, *suf1 = pre1 + s->in.w, *A, *B;
    window(p, y0, s->in.h, &lo, &end);
    window(p, y1 - 1, s->in.h, &nr, &end);
    nr = end - lo;
    A = suf1 + s->in.w; /* row results, then the suffixes in place */
    B = A + (size_t)nr * ow; /* prefixes */
    for (long r = 0; r < nr; r++)
        extreme_row(p, cnf__band_row(in, c, (int)(lo + r)), s->in.w, pre1, suf1, A + r * ow,
                    (long)ow);
    for (long b = 0; b < nr; b += P) {
        long e = b + P < nr ? b + P : nr;
        for (long i = b; i < e; i++) {
            const float *t = A + i * ow, *q = B + (i - 1) * ow;
            float *d = B + i * ow;
            if (i == b)
                for (size_t x = 0; x < ow; x++)
                    d[x] = EXT_LATER(hi, none, t[x]);
            else
                for (size_t x = 0; x < ow; x++)
                    d[x] = EXT_LATER(hi, q[x], t[x]);
        }
        for (long i = e - 2; i >= b; i--) {
            float *d = A + i * ow;
            const float *q = d + ow;
            for (size_t x = 0; x < ow; x++)
                d[x] = EXT_EARLIER(hi, q[x], d[x]);
        }
        /* The row results are never NaN, so the last row of a block is its
         * own suffix. */
    }
    for (int y = y0; y < y1; y++) {
        long c0, c1;
        float *d = cnf__band_row(out, c, y);
        window(p, y, s->in.h, &c0, &c1);
        c0 -= lo;
        c1 -= lo;
        if (c0 / P != (c1 - 1) / P) {
            const float *u = A + c0 * ow, *v = B + (c1 - 1) * ow;
            for (size_t x = 0; x < ow; x++)
                d[x] = EXT_LATER(hi, u[x], v[x]);
        } else {
            memcpy(d, c0 % P == 0 ? B + (c1 - 1) * ow : A + c0 * ow, ow * sizeof *d);
        }
    }
}

/* Whether every partial sum of a window's cells, in any order, is exact in
 * double over input rows [lo, hi) of plane c: all values finite, below
 * 2^e1 in magnitude and multiples of 2^e0, e0 = e1 + log2(P^2) - 53 (then
 * any sum of at most P^2 of them is an integer multiple of 2^e0 below 2^53
 * of those).  8- and 16-bit images and integer matrices always pass. */
static int sums_exact(const cnf_stage *s, const cnf_band *in, int c, long lo, long hi)
{
    const pool_impl *p = s->impl;
    const int w = s->in.w;
    int bits = 0, e1;
    uint32_t top = 0;
    double scale;
    while ((1L << bits) < (long)p->size * p->size)
        bits++;
    for (long y = lo; y < hi; y++) {
        const float *r = cnf__band_row(in, c, (int)y);
        for (int x = 0; x < w; x++) {
            uint32_t u;
            memcpy(&u, &r[x], sizeof u);
            u &= 0x7fffffffu;
            top = u > top ? u : top;
        }
    }
    if (top >= 0x7f800000u)
        return 0; /* inf or NaN */
    if (!top)
        return 1;
    /* |v| < 2^(E - 126) for the largest biased exponent E (1 for subnormals). */
    e1 = (top >> 23 ? (int)(top >> 23) : 1) - 126;
    scale = ldexp(1.0, 53 - bits - e1); /* 2^-e0: v * scale is exact and below 2^53 */
    for (long y = lo; y < hi; y++) {
        const float *r = cnf__band_row(in, c, (int)y);
        int ok = 1;
        for (int x = 0; x < w; x++) {
            double d = r[x] * scale;
            ok &= d == (double)(int64_t)d;
        }
        if (!ok)
            return 0;
    }
    return 1;
}

/* Output rows [y0, y1) of plane c by running sums, when sums_exact():
 * each column's sum over the window's rows, slid down the rows, then the
 * sums of those over the window's columns, slid along the row.  Every
 * partial sum is of cells of one window (cells leave before others come),
 * so exact. */
static void avg_rows(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int c, int y0,
                      int y1, void *scratch)
{
    const pool_impl *p = s->impl;
    const int w = s->in.w, ow = s->out.w;
    double *acc = scratch; /* rows [a, b) of each column */
    long a = 0, b = 0;
    for (int x = 0; x < w; x++)
        acc[x] = 0;
    for (int y = y0; y < y1; y++) {
        long r0, r1, i0 = 0, i1 = 0; /* sum holds columns [i0, i1) */
        double sum = 0;
        float *d = cnf__band_row(out, c, y);
        window(p, y, s->in.h, &r0, &r1);
        if (r0 >= b) {
            for (int x = 0; x < w; x++)
                acc[x] = 0;
            a = b = r0;
        }
        for (; a < r0; a++) {
            const float *t = cnf__band_row(in, c, (int)a);
            for (int x = 0; x < w; x++)
                acc[x] -= t[x];
        }
        for (; b < r1; b++) {
            const float *t = cnf__band_row(in, c, (int)b);
            for (int x = 0; x < w; x++)
                acc[x] += t[x];
        }
        for (int x = 0; x < ow; x++) {
            long c0, c1;
            window(p, x, w, &c0, &c1);
            if (c0 >= i1) {
                sum = 0;
                i0 = i1 = c0;
            }
            for (; i0 < c0; i0++)
                sum -= acc[i0];
            for (; i1 < c1; i1++)
                sum += acc[i1];
            d[x] = (float)(sum / (double)((r1 - r0) * (c1 - c0)));
        }
    }
}

/* Whether rows [lo, hi) of plane c hold a -0.0. */
static int has_negative_zero(const cnf_stage *s, const cnf_band *in, int c, long lo, long hi)
{
    for (long y = lo; y < hi; y++) {
        const float *r = cnf__band_row(in, c, (int)y);
        int any = 0;
        for (int x = 0; x < s->in.w; x++) {
            uint32_t u;
            memcpy(&u, &r[x], sizeof u);
            any |= u == 0x80000000u;
        }
        if (any)
            return 1;
    }
    return 0;
}

/* Which parts of the block method window k of a chunk takes (rows relative
 * to the chunk's first input row): 1 the suffix at r0, 2 the prefix at r1 - 1. */
static int parts(int P, long r0, long r1)
{
    if (r0 / P != (r1 - 1) / P)
        return 3;
    return r0 % P == 0 ? 2 : 1;
}

/* Output rows [y0, y1) of plane c, columns first: the block method down
 * the columns (whole rows at a time) into one row per output row, then
 * along each of those rows.  The first cell among equals is then the first
 * in column-major order, not row-major, which only a -0.0 beside a +0.0
 * can tell apart: the caller takes extreme_chunk() for planes holding a
 * -0.0.  It reads each input row a chunk needs about twice, in whole-row
 * operations, where extreme_chunk() runs the row pass on each. */
static void extreme_columns(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int c,
                            int y0, int y1, void *scratch)
{
    const pool_impl *p = s->impl;
    const int hi = p->mode == CNF_POOL_MAX, P = p->size, w = s->in.w;
    const float none = hi ? -INFINITY : INFINITY;
    float *pre1 = scratch, *suf1 = pre1 + w, *acc = suf1 + w, *V = acc + w;
    long lo, end, nr;
    window(p, y0, s->in.h, &lo, &end);
    window(p, y1 - 1, s->in.h, &nr, &end);
    nr = end - lo;
    for (long B = 0; B < nr; B += P) {
        long E = B + P < nr ? B + P : nr, low = E, high = B - 1;
        for (int y = y0; y < y1; y++) {
            long r0, r1;
            int k;
            window(p, y, s->in.h, &r0, &r1);
            r0 -= lo;
            r1 -= lo;
            k = parts(P, r0, r1);
            if ((k & 1) && r0 >= B && r0 < E && r0 < low)
                low = r0;
            if ((k & 2) && r1 - 1 >= B && r1 - 1 < E && r1 - 1 > high)
                high = r1 - 1;
        }
        /* Suffixes first (the earlier rows of a window), stored... */
        for (int x = 0; x < w; x++)
            acc[x] = none;
        for (long r = E - 1; r >= low; r--) {
            const float *t = cnf__band_row(in, c, (int)(lo + r));
            for (int x = 0; x < w; x++)
                acc[x] = EXT_EARLIER(hi, acc[x], t[x]);
            for (int y = y0; y < y1; y++) {
                long r0, r1;
                window(p, y, s->in.h, &r0, &r1);
                if (r0 - lo == r && (parts(P, r0 - lo, r1 - lo) & 1))
                    memcpy(V + (size_t)(y - y0) * w, acc, sizeof *acc * (size_t)w);
            }
        }
        /* ... then prefixes, taken alone or after the suffix. */
        for (int x = 0; x < w; x++)
            acc[x] = none;
        for (long r = B; r <= high; r++) {
            const float *t = cnf__band_row(in, c, (int)(lo + r));
            for (int x = 0; x < w; x++)
                acc[x] = EXT_LATER(hi, acc[x], t[x]);
            for (int y = y0; y < y1; y++) {
                long r0, r1;
                int k;
                float *v = V + (size_t)(y - y0) * w;
                window(p, y, s->in.h, &r0, &r1);
                k = parts(P, r0 - lo, r1 - lo);
                if (r1 - 1 - lo != r || !(k & 2))
                    continue;
                if (k & 1)
                    for (int x = 0; x < w; x++)
                        v[x] = EXT_LATER(hi, v[x], acc[x]);
                else
                    memcpy(v, acc, sizeof *acc * (size_t)w);
            }
        }
    }
    for (int y = y0; y < y1; y++)
        extreme_row(p, V + (size_t)(y - y0) * w, w, pre1, suf1, cnf__band_row(out, c, y),
                    s->out.w);
}

static void pool_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0, int y1,
                     void *scratch)
{
    const pool_impl *p = s->impl;
    if (!use_separable(p)) {
        for (int c = 0; c < s->out.c; c++)
            pool_direct(s, in, out, c, y0, y1);
        return;
    }
    /* The checks that choose a way cover the whole band: one look at each
     * row.  avg slides down the whole band; max/min go by chunks. */
    for (int c = 0; c < s->out.c; c++) {
        long lo, hi, t;
        int rows_first;
        window(p, y0, s->in.h, &lo, &t);
        window(p, y1 - 1, s->in.h, &t, &hi);
        if (p->mode == CNF_POOL_AVG) {
            if (sums_exact(s, in, c, lo, hi))
                avg_rows(s, in, out, c, y0, y1, scratch);
            else
                pool_direct(s, in, out, c, y0, y1);
            continue;
        }
        rows_first = has_negative_zero(s, in, c, lo, hi);
        for (int a = y0; a < y1; a += p->chunk) {
            int b = a + p->chunk < y1 ? a + p->chunk : y1;
            if (rows_first)
                extreme_chunk(s, in, out, c, a, b, scratch);
            else
                extreme_columns(s, in, out, c, a, b, scratch);
        }
    }
}

void cnf__pool_set_path(cnf_stage *s, int path)
{
    pool_impl *p = s->impl;
    p->path = path;
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
    p->chunk = pick_chunk(s);
    if (in->alpha && !keep_alpha) {
        s->out.alpha = 0;
        s->out.c = in->c - 1;
    }
    return CNF_OK;
}
