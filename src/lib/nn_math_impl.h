/* nn_math_impl.h - every node's paired forward and backward, in the scalar type NN_REAL.
 *
 * Included only by nn_math_f32.c (float: what training and nets run, float32 storage as in
 * PyTorch) and nn_math_f64.c (double: the tests' finite-difference gradient checks), each
 * defining NN_REAL and NN_TABLE first; the two builds are the same code.
 *
 * Each node's forward is the streaming executor's rule (conv.c, pooling.c, pointwise.c):
 * pointwise functions are computed in double and rounded once, as there; sums over many
 * terms (convolution, dense) run in the scalar type in a fixed order, so they equal the
 * executor's double sums to float32 rounding.  Each backward is the exact gradient of its
 * forward (cnnfilter(1), train): a padded cell's gradient goes to the pixel it copies (zero
 * padding takes none); max/min pooling to the first maximum/minimum of the window in
 * row-major order; average pooling shared over the cells counted; relu'(0) = abs'(0) = 0,
 * leaky_relu'(0) = slope; combine max to the first maximal map.
 *
 * Convolution is im2col and small matrix loops: for each kernel size, the matrix
 * col[(c, i, j)][(oy, ox)] of the input values each tap reads (nn_geo's tables give the
 * border rule per axis), then each map is a sum of rows of col times a weight (axpy, which
 * vectorises), each weight's gradient a dot product of a map's gradient with a row of col,
 * and the input's gradient the scatter of col's gradient back to the pixels (col2im).
 *
 * The fast path (NN_FAST, float32 only; nodes marked fast by nn_build.c) computes the same
 * sums in the same order with blocked loops: im2col and col2im copy each tap's run of
 * consecutive columns as a block; a conv node's maps are one matrix product (weights x
 * col, nn_gemm.h), its weights' gradient another (map gradients x col^T, in dot's eight
 * lanes) and col's gradient a third (weights^T x map gradients); a dense node's outputs
 * are its rows' dots taken eight rows at a time, its input's gradient one row times W, and
 * its weights' gradient, when the caller records, one product per chunk of samples (flush,
 * or the trainer's reduction) instead of an axpy per sample; 2 x 2 max/min pooling
 * compares its four cells with selects; zero borders at stride 1 copy rows of zero-padded
 * planes.  So the fast path gives the reference loops' bits; the tests compare the two
 * (CNF__NN_REFERENCE builds a net without it). */
#include "nn.h"
#ifdef NN_FAST
#include "nn_gemm.h"
#endif

#include <math.h>
#include <string.h>

typedef NN_REAL real;

/* y += a x over n values. */
static inline void axpy(real *restrict y, const real *restrict x, real a, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* Sums in eight lanes added pairwise at the end: one fixed order (the same
 * value on every run and every thread) that the compiler can vectorise. */
static inline real dot(const real *restrict a, const real *restrict b, int n)
{
    real l[8] = {0, 0, 0, 0, 0, 0, 0, 0}, s;
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            l[k] += a[i + k] * b[i + k];
    s = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static inline real total(const real *restrict a, int n)
{
    real l[8] = {0, 0, 0, 0, 0, 0, 0, 0}, s;
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            l[k] += a[i + k];
    s = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    for (; i < n; i++)
        s += a[i];
    return s;
}

static inline size_t plane(const nn_node *nd) { return (size_t)nd->h * (size_t)nd->w; }
static inline size_t oplane(const nn_node *nd) { return (size_t)nd->oh * (size_t)nd->ow; }

/* ---------------------------------------------------------------- luma */

static void luma_fwd(const nn_node *nd, const real *in, real *out)
{
    size_t hw = plane(nd);
    for (size_t x = 0; x < hw; x++)
        out[x] = (real)(0.299 * (double)in[x] + 0.587 * (double)in[hw + x] +
                        0.114 * (double)in[2 * hw + x]);
}

static void luma_bwd(const nn_node *nd, const real *dout, real *din)
{
    size_t hw = plane(nd);
    for (size_t x = 0; x < hw; x++) {
        din[x] = (real)(0.299 * (double)dout[x]);
        din[hw + x] = (real)(0.587 * (double)dout[x]);
        din[2 * hw + x] = (real)(0.114 * (double)dout[x]);
    }
}

/* ---------------------------------------------------------------- conv */

/* col[((c * kh + i) * kw + j) * P + oy * ow + ox] = the value tap (i, j) of
 * output (oy, ox) reads from input plane c; 0 in a zero border.  With runs
 * (the fast path), each tap column's run of consecutive input columns
 * (nn_geo's run) is copied as a block; without, every cell is looked up (an
 * empty run). */
static void im2col(const nn_node *nd, const nn_geo *g, const real *in, real *col, int runs)
{
    int ow = nd->ow, oh = nd->oh;
    real *dst = col;
    for (int c = 0; c < nd->c; c++) {
        const real *src_c = in + (size_t)c * plane(nd);
        for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
                const int *ry = g->ry + (size_t)i * oh, *rx = g->rx + (size_t)j * ow;
                int lo = runs ? g->run[2 * j] : ow, hi = runs ? g->run[2 * j + 1] : ow;
                for (int oy = 0; oy < oh; oy++, dst += ow) {
                    const real *src = src_c + (size_t)(ry[oy] < 0 ? 0 : ry[oy]) * nd->w;
                    if (ry[oy] < 0) {
                        memset(dst, 0, sizeof(real) * (size_t)ow);
                        continue;
                    }
                    for (int ox = 0; ox < lo; ox++)
                        dst[ox] = rx[ox] < 0 ? (real)0 : src[rx[ox]];
                    if (hi > lo) { /* a loop: memcpy's call costs more for rows of 10 */
                        const real *run = src + rx[lo] - lo;
                        for (int ox = lo; ox < hi; ox++)
                            dst[ox] = run[ox];
                    }
                    for (int ox = hi; ox < ow; ox++)
                        dst[ox] = rx[ox] < 0 ? (real)0 : src[rx[ox]];
                }
            }
    }
}

/* The gradient of im2col: every entry of dcol added to the pixel it read;
 * with runs, a run's entries added as a block (each pixel gets the same
 * additions in the same order). */
static void col2im(const nn_node *nd, const nn_geo *g, const real *dcol, real *din, int runs)
{
    int ow = nd->ow, oh = nd->oh;
    const real *s = dcol;
    for (int c = 0; c < nd->c; c++) {
        real *dst_c = din + (size_t)c * plane(nd);
        for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
                const int *ry = g->ry + (size_t)i * oh, *rx = g->rx + (size_t)j * ow;
                int lo = runs ? g->run[2 * j] : ow, hi = runs ? g->run[2 * j + 1] : ow;
                for (int oy = 0; oy < oh; oy++, s += ow) {
                    real *dst = dst_c + (size_t)(ry[oy] < 0 ? 0 : ry[oy]) * nd->w, *run;
                    if (ry[oy] < 0)
                        continue;
                    for (int ox = 0; ox < lo; ox++)
                        if (rx[ox] >= 0)
                            dst[rx[ox]] += s[ox];
                    run = dst + (hi > lo ? rx[lo] - lo : 0);
                    for (int ox = lo; ox < hi; ox++)
                        run[ox] += s[ox];
                    for (int ox = hi; ox < ow; ox++)
                        if (rx[ox] >= 0)
                            dst[rx[ox]] += s[ox];
                }
            }
    }
}

/* One map: the sum over taps t < kk of w[t] x row t of col (np values each). */
static void map_acc(real *o, const real *col, const real *w, int kk, int np)
{
    for (int t = 0; t < kk; t++)
        axpy(o, col + (size_t)t * np, w[t], np);
}

/* The gradients of map_acc: gw[t] += dmap . row t (when gw), row t of dcol
 * += w[t] dmap (when dcol). */
static void map_bwd(const real *dmap, const real *col, real *dcol, const real *w, real *gw,
                    int kk, int np)
{
    for (int t = 0; t < kk; t++) {
        if (gw)
            gw[t] += dot(dmap, col + (size_t)t * np, np);
        if (dcol)
            axpy(dcol + (size_t)t * np, dmap, w[t], np);
    }
}

/* The input planes kernel K reads for map m of it, and the weights for
 * each: per channel, map (K, ci) reads plane ci; in sum mode the kernel's
 * one map reads every plane, with its own plane of weights (3-D) or its one
 * plane (2-D, shared). */
static void conv_fwd(const nn_node *nd, const real *P, const real *in, real *out, real *col)
{
    int np = (int)oplane(nd);
    for (int gi = 0; gi < nd->n_geo; gi++) {
        int kk = nd->geo[gi].kh * nd->geo[gi].kw;
        im2col(nd, &nd->geo[gi], in, col, 0);
        for (int k = 0; k < nd->n_kern; k++) {
            const nn_kern *K = &nd->kern[k];
            int maps = nd->per_channel ? nd->c : 1;
            if (K->geo != gi)
                continue;
            for (int m = 0; m < maps; m++) {
                real *o = out + (size_t)(k * maps + m) * np, b = P[K->b];
                memset(o, 0, sizeof(real) * (size_t)np);
                if (nd->per_channel)
                    map_acc(o, col + (size_t)m * kk * np, P + K->w, kk, np);
                else
                    for (int c = 0; c < nd->c; c++)
                        map_acc(o, col + (size_t)c * kk * np,
                                P + K->w + (K->depth > 1 ? (size_t)c * kk : 0), kk, np);
                for (int p = 0; p < np; p++)
                    o[p] += b;
            }
        }
    }
}

static void conv_bwd(const nn_node *nd, const real *P, const real *in, const real *dout,
                     real *din, real *grad, real *col, real *dcol)
{
    int np = (int)oplane(nd), maps = nd->per_channel ? nd->c : 1;
    if (din)
        memset(din, 0, sizeof(real) * (size_t)nd->c * plane(nd));
    for (int gi = 0; gi < nd->n_geo; gi++) {
        int kk = nd->geo[gi].kh * nd->geo[gi].kw;
        if (nd->train_w)
            im2col(nd, &nd->geo[gi], in, col, 0);
        if (din)
            memset(dcol, 0, sizeof(real) * (size_t)nd->c * kk * np);
        for (int k = 0; k < nd->n_kern; k++) {
            const nn_kern *K = &nd->kern[k];
            if (K->geo != gi)
                continue;
            for (int m = 0; m < maps; m++) {
                const real *dm = dout + (size_t)(k * maps + m) * np;
                if (nd->train_b)
                    grad[K->b] += total(dm, np);
                for (int c = nd->per_channel ? m : 0; c < (nd->per_channel ? m + 1 : nd->c); c++) {
                    size_t wo = K->w + (K->depth > 1 ? (size_t)c * kk : 0);
                    map_bwd(dm, col + (size_t)c * kk * np, din ? dcol + (size_t)c * kk * np : NULL,
                            P + wo, nd->train_w ? grad + wo : NULL, kk, np);
                }
            }
        }
        if (din)
            col2im(nd, &nd->geo[gi], dcol, din, 0);
    }
}

#ifdef NN_FAST
/* A zero border, stride 1, no dilation (nd->padcopy): each input plane
 * copied once into a zero-padded plane of (oh + kh - 1) x (ow + kw - 1) at
 * pad, then every row of col is a straight copy of ow values of a padded
 * row, taken 8 at a time: up to 7 values past the row end are read (the
 * next row, or CNF__NN_PAD_SLACK after the planes) and written (the next row's copy
 * writes them again, or CNF__NN_PAD_SLACK after the matrix). */
static void im2col_pad(const nn_node *nd, const nn_geo *g, const real *in, real *col, real *pad)
{
    int ow = nd->ow, oh = nd->oh, hp = oh + g->kh - 1, wp = ow + g->kw - 1;
    int ny = nd->h < hp - g->pt ? nd->h : hp - g->pt, nx = nd->w < wp - g->pl ? nd->w : wp - g->pl;
    size_t pp = (size_t)hp * (size_t)wp;
    real *dst = col;
    memset(pad, 0, sizeof(real) * (size_t)nd->c * pp);
    for (int c = 0; c < nd->c; c++)
        for (int y = 0; y < ny; y++)
            memcpy(pad + c * pp + (size_t)(y + g->pt) * wp + g->pl,
                   in + (size_t)c * plane(nd) + (size_t)y * nd->w, sizeof(real) * (size_t)nx);
    for (int c = 0; c < nd->c; c++)
        for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
                const real *src = pad + c * pp + (size_t)i * wp + j;
                for (int oy = 0; oy < oh; oy++, dst += ow, src += wp)
                    for (int x = 0; x < ow; x += 8)
                        memcpy(dst + x, src + x, 8 * sizeof(real));
            }
}

/* col2im for nd->padcopy: dcol's rows added into a zero-padded plane at
 * dpad in col2im's order, then its cells over the input copied out (each
 * pixel gets the same additions in the same order; the padding's are
 * dropped, as a zero border takes none). */
static void col2im_pad(const nn_node *nd, const nn_geo *g, const real *dcol, real *din, real *dpad)
{
    int ow = nd->ow, oh = nd->oh, hp = oh + g->kh - 1, wp = ow + g->kw - 1;
    int ny = nd->h < hp - g->pt ? nd->h : hp - g->pt, nx = nd->w < wp - g->pl ? nd->w : wp - g->pl;
    size_t pp = (size_t)hp * (size_t)wp;
    const real *s = dcol;
    memset(dpad, 0, sizeof(real) * (size_t)nd->c * pp);
    for (int c = 0; c < nd->c; c++)
        for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
                real *d = dpad + c * pp + (size_t)i * wp + j;
                for (int oy = 0; oy < oh; oy++, s += ow, d += wp)
                    for (int ox = 0; ox < ow; ox++)
                        d[ox] += s[ox];
            }
    memset(din, 0, sizeof(real) * (size_t)nd->c * plane(nd));
    for (int c = 0; c < nd->c; c++)
        for (int y = 0; y < ny; y++)
            memcpy(din + (size_t)c * plane(nd) + (size_t)y * nd->w,
                   dpad + c * pp + (size_t)(y + g->pt) * wp + g->pl, sizeof(real) * (size_t)nx);
}

/* A fast conv node's weights are one n_kern x K matrix, K = c kh kw, at
 * kern[0].w: map k = row k of it times col, plus the kernel's bias. */
static void conv_fwd_fast(const nn_node *nd, const real *P, const real *in, real *out, real *col)
{
    const nn_geo *g = &nd->geo[0];
    int np = (int)oplane(nd), K = nd->c * g->kh * g->kw;
    if (nd->padcopy) /* kept for the backward pass (nn.h, col_off) */
        im2col_pad(nd, g, in, col, col + nd->pad_off);
    else
        im2col(nd, g, in, col, 1);
    cnf__gemm_nn(nd->n_kern, np, K, P + nd->kern[0].w, K, 1, col, np, out, np, 0);
    for (int k = 0; k < nd->n_kern; k++) {
        real *o = out + (size_t)k * np, b = P[nd->kern[k].b];
        for (int p = 0; p < np; p++)
            o[p] += b;
    }
}

/* col: the forward pass's im2col matrix, still in place (and after it the
 * padded planes, free now: col2im_pad's sums go there). */
static void conv_bwd_fast(const nn_node *nd, const real *P, const real *dout, real *din,
                          real *grad, real *col, real *dcol)
{
    const nn_geo *g = &nd->geo[0];
    int np = (int)oplane(nd), K = nd->c * g->kh * g->kw;
    size_t w0 = nd->kern[0].w;
    for (int k = 0; nd->train_b && k < nd->n_kern; k++)
        grad[nd->kern[k].b] += total(dout + (size_t)k * np, np);
    if (nd->train_w)
        cnf__gemm_dots(nd->n_kern, K, np, dout, np, col, np, grad + w0, K, 1);
    if (din) {
        cnf__gemm_nn(K, np, nd->n_kern, P + w0, 1, K, dout, np, dcol, np, 0);
        if (nd->padcopy) {
            col2im_pad(nd, g, dcol, din, col + nd->pad_off);
        } else {
            memset(din, 0, sizeof(real) * (size_t)nd->c * plane(nd));
            col2im(nd, g, dcol, din, 1);
        }
    }
}
#endif

/* ------------------------------------------------------ merge, combine */

static void merge_fwd(const nn_node *nd, const real *in, real *out)
{
    size_t hw = plane(nd);
    for (int g = 0; g < nd->groups; g++)
        for (int p = 0; p < nd->per; p++) {
            real *d = out + (size_t)(g * nd->per + p) * hw;
            const real *a = in + (size_t)(nd->first[g] * nd->per + p) * hw;
            const real *b = a + (size_t)nd->per * hw;
            if (nd->count[g] == 1) {
                memcpy(d, a, sizeof(real) * hw);
                continue;
            }
            for (size_t x = 0; x < hw; x++) {
                double acc = 0, v = a[x], h = b[x];
                acc += v * v;
                acc += h * h;
                d[x] = (real)sqrt(acc);
            }
        }
}

static void merge_bwd(const nn_node *nd, const real *in, const real *dout, real *din)
{
    size_t hw = plane(nd);
    for (int g = 0; g < nd->groups; g++)
        for (int p = 0; p < nd->per; p++) {
            const real *dy = dout + (size_t)(g * nd->per + p) * hw;
            size_t ia = (size_t)(nd->first[g] * nd->per + p) * hw, ib = ia + (size_t)nd->per * hw;
            if (nd->count[g] == 1) {
                memcpy(din + ia, dy, sizeof(real) * hw);
                continue;
            }
            for (size_t x = 0; x < hw; x++) {
                double v = in[ia + x], h = in[ib + x], m = sqrt(v * v + h * h);
                din[ia + x] = m > 0 ? (real)(dy[x] * v / m) : 0;
                din[ib + x] = m > 0 ? (real)(dy[x] * h / m) : 0;
            }
        }
}

static void combine_fwd(const nn_node *nd, const real *in, real *out)
{
    size_t hw = plane(nd);
    for (int p = 0; p < nd->per; p++)
        for (size_t x = 0; x < hw; x++) {
            double acc = nd->mode == CNF_COMBINE_MAX ? -INFINITY : 0;
            for (int g = 0; g < nd->groups; g++) {
                double v = in[(size_t)(g * nd->per + p) * hw + x];
                if (nd->mode == CNF_COMBINE_MAGNITUDE)
                    acc += v * v;
                else if (nd->mode == CNF_COMBINE_MAX)
                    acc = v > acc ? v : acc;
                else
                    acc += v;
            }
            out[(size_t)p * hw + x] = (real)(nd->mode == CNF_COMBINE_MAGNITUDE ? sqrt(acc) : acc);
        }
}

static void combine_bwd(const nn_node *nd, const real *in, const real *dout, real *din)
{
    size_t hw = plane(nd);
    for (int p = 0; p < nd->per; p++)
        for (size_t x = 0; x < hw; x++) {
            double dy = dout[(size_t)p * hw + x], acc = 0, best = -INFINITY;
            int first = 0;
            for (int g = 0; g < nd->groups; g++) {
                double v = in[(size_t)(g * nd->per + p) * hw + x];
                acc += v * v;
                if (v > best) {
                    best = v;
                    first = g;
                }
            }
            for (int g = 0; g < nd->groups; g++) {
                size_t i = (size_t)(g * nd->per + p) * hw + x;
                double v = in[i];
                if (nd->mode == CNF_COMBINE_MAGNITUDE)
                    din[i] = acc > 0 ? (real)(dy * v / sqrt(acc)) : 0;
                else if (nd->mode == CNF_COMBINE_MAX)
                    din[i] = g == first ? (real)dy : 0;
                else
                    din[i] = (real)dy;
            }
        }
}

/* ---------------------------------------------------------- activation */

static void act_fwd(const nn_node *nd, const real *in, real *out, size_t n)
{
    if (nd->act == CNF_ACT_RELU) { /* the common case in a loop of its own, which vectorises */
        for (size_t i = 0; i < n; i++)
            out[i] = in[i] > 0 ? in[i] : 0;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double x = in[i];
        switch (nd->act) {
        case CNF_ACT_RELU: out[i] = x > 0 ? in[i] : 0; break;
        case CNF_ACT_ABS: out[i] = (real)fabs(x); break;
        case CNF_ACT_LEAKY_RELU: out[i] = x > 0 ? in[i] : (real)(nd->slope * x); break;
        case CNF_ACT_SIGMOID: out[i] = (real)(1.0 / (1.0 + exp(-x))); break;
        case CNF_ACT_TANH: out[i] = (real)tanh(x); break;
        case CNF_ACT_NONE:
        default: out[i] = in[i]; break;
        }
    }
}

static void act_bwd(const nn_node *nd, const real *in, const real *out, const real *dout,
                    real *din, size_t n)
{
    if (nd->act == CNF_ACT_RELU) {
        for (size_t i = 0; i < n; i++) {
            real d = dout[i]; /* read whatever the sign: a select, not a branch */
            din[i] = in[i] > 0 ? d : 0;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double x = in[i], y = out[i], dy = dout[i];
        switch (nd->act) {
        case CNF_ACT_RELU: din[i] = x > 0 ? dout[i] : 0; break;
        case CNF_ACT_ABS: din[i] = x > 0 ? dout[i] : x < 0 ? -dout[i] : 0; break;
        case CNF_ACT_LEAKY_RELU: din[i] = x > 0 ? dout[i] : (real)(nd->slope * dy); break;
        case CNF_ACT_SIGMOID: din[i] = (real)(dy * y * (1 - y)); break;
        case CNF_ACT_TANH: din[i] = (real)(dy * (1 - y * y)); break;
        case CNF_ACT_NONE:
        default: din[i] = dout[i]; break;
        }
    }
}

/* ---------------------------------------------------------------- pool */

/* The window of output (oy, ox), clipped to the input: rows [*y0, *y1),
 * columns [*x0, *x1). */
static void pool_window(const nn_node *nd, int oy, int ox, int *y0, int *y1, int *x0, int *x1)
{
    long ys = (long)oy * nd->pstride - nd->ppad, xs = (long)ox * nd->pstride - nd->ppad;
    long ye = ys + nd->psize, xe = xs + nd->psize;
    *y0 = (int)(ys < 0 ? 0 : ys);
    *x0 = (int)(xs < 0 ? 0 : xs);
    *y1 = (int)(ye > nd->h ? nd->h : ye);
    *x1 = (int)(xe > nd->w ? nd->w : xe);
}

/* The index (within the plane) of the first maximum (or minimum) of a
 * window in row-major order: later cells replace it only when strictly
 * greater (smaller), as the executor's running max keeps the first. */
static size_t pool_pick(const nn_node *nd, const real *src, int y0, int y1, int x0, int x1)
{
    size_t best = (size_t)y0 * nd->w + x0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            size_t i = (size_t)y * nd->w + x;
            if (nd->pool == CNF_POOL_MAX ? src[i] > src[best] : src[i] < src[best])
                best = i;
        }
    return best;
}

static void pool_fwd(const nn_node *nd, const real *in, real *out)
{
    for (int c = 0; c < nd->c; c++) {
        const real *src = in + (size_t)c * plane(nd);
        real *d = out + (size_t)c * oplane(nd);
        for (int oy = 0; oy < nd->oh; oy++)
            for (int ox = 0; ox < nd->ow; ox++, d++) {
                int y0, y1, x0, x1;
                double acc = 0;
                pool_window(nd, oy, ox, &y0, &y1, &x0, &x1);
                if (nd->pool != CNF_POOL_AVG) {
                    *d = src[pool_pick(nd, src, y0, y1, x0, x1)];
                    continue;
                }
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                        acc += src[(size_t)y * nd->w + x];
                *d = (real)(acc / (double)((y1 - y0) * (x1 - x0)));
            }
    }
}

static void pool_bwd(const nn_node *nd, const real *in, const real *dout, real *din)
{
    memset(din, 0, sizeof(real) * (size_t)nd->c * plane(nd));
    for (int c = 0; c < nd->c; c++) {
        const real *src = in + (size_t)c * plane(nd), *dy = dout + (size_t)c * oplane(nd);
        real *dst = din + (size_t)c * plane(nd);
        for (int oy = 0; oy < nd->oh; oy++)
            for (int ox = 0; ox < nd->ow; ox++, dy++) {
                int y0, y1, x0, x1;
                real share;
                pool_window(nd, oy, ox, &y0, &y1, &x0, &x1);
                if (nd->pool != CNF_POOL_AVG) {
                    dst[pool_pick(nd, src, y0, y1, x0, x1)] += *dy;
                    continue;
                }
                share = (real)((double)*dy / (double)((y1 - y0) * (x1 - x0)));
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                        dst[(size_t)y * nd->w + x] += share;
            }
    }
}

#ifdef NN_FAST
/* 2 x 2 windows at stride 2, all inside: pool_pick's first maximum (minimum)
 * of the four cells in row-major order, as selects over a row of windows
 * (which vectorise): a later cell replaces the pick only when strictly
 * greater (smaller), so the value is the picked cell's, NaN and signed zeros
 * included. */
static void pool_fwd_fast(const nn_node *nd, const real *in, real *out)
{
    int maxp = nd->pool == CNF_POOL_MAX, w = nd->w;
    for (int c = 0; c < nd->c; c++)
        for (int oy = 0; oy < nd->oh; oy++) {
            const real *r0 = in + (size_t)c * plane(nd) + (size_t)2 * oy * w, *r1 = r0 + w;
            real *d = out + (size_t)c * oplane(nd) + (size_t)oy * nd->ow;
            for (int ox = 0; ox < nd->ow; ox++) {
                real a = r0[2 * ox], b = r0[2 * ox + 1], e = r1[2 * ox], f = r1[2 * ox + 1];
                real m = a;
                m = (maxp ? b > m : b < m) ? b : m;
                m = (maxp ? e > m : e < m) ? e : m;
                m = (maxp ? f > m : f < m) ? f : m;
                d[ox] = m;
            }
        }
}

/* Each cell's gradient: the window's (added to 0, as pool_bwd adds it to
 * its zeroed input gradient) when it is the pick, else 0; the cells no
 * window covers (an odd last row or column) 0.  The pick's place is kept as
 * a real (0 to 3) so that the loop is selects of one type and vectorises. */
/* One row of windows; maxp a constant where it is inlined (one loop each
 * for max and min, without a branch inside). */
static inline __attribute__((always_inline)) void
pool_bwd_row(int maxp, int ow, const real *r0, const real *r1, const real *dy,
             real *restrict g0, real *restrict g1)
{
    for (int ox = 0; ox < ow; ox++) {
        real a = r0[2 * ox], b = r0[2 * ox + 1], e = r1[2 * ox], f = r1[2 * ox + 1];
        real m = a, k = 0, g = (real)0 + dy[ox];
        int cb = maxp ? b > m : b < m;
        m = cb ? b : m;
        k = cb ? 1 : k;
        cb = maxp ? e > m : e < m;
        m = cb ? e : m;
        k = cb ? 2 : k;
        cb = maxp ? f > m : f < m;
        k = cb ? 3 : k;
        g0[2 * ox] = k == 0 ? g : 0;
        g0[2 * ox + 1] = k == 1 ? g : 0;
        g1[2 * ox] = k == 2 ? g : 0;
        g1[2 * ox + 1] = k == 3 ? g : 0;
    }
}

static void pool_bwd_fast(const nn_node *nd, const real *in, const real *dout, real *din)
{
    int w = nd->w;
    if (2 * nd->oh != nd->h || 2 * nd->ow != w)
        memset(din, 0, sizeof(real) * (size_t)nd->c * plane(nd));
    for (int c = 0; c < nd->c; c++)
        for (int oy = 0; oy < nd->oh; oy++) {
            size_t o = (size_t)c * plane(nd) + (size_t)2 * oy * w;
            const real *dy = dout + (size_t)c * oplane(nd) + (size_t)oy * nd->ow;
            if (nd->pool == CNF_POOL_MAX)
                pool_bwd_row(1, nd->ow, in + o, in + o + w, dy, din + o, din + o + w);
            else
                pool_bwd_row(0, nd->ow, in + o, in + o + w, dy, din + o, din + o + w);
        }
}
#endif

/* ------------------------------------------------ dense, softmax, affine */

static void dense_fwd(const nn_node *nd, const real *P, const real *in, real *out)
{
    for (int u = 0; u < nd->units; u++)
        out[u] = dot(P + nd->w_off + (size_t)u * nd->n_in, in, nd->n_in) +
                 (nd->has_b ? P[nd->b_off + u] : 0);
}

static void dense_bwd(const nn_node *nd, const real *P, const real *in, const real *dout,
                      real *din, real *grad)
{
    if (din)
        memset(din, 0, sizeof(real) * (size_t)nd->n_in);
    for (int u = 0; u < nd->units; u++) {
        if (nd->train_w)
            axpy(grad + nd->w_off + (size_t)u * nd->n_in, in, dout[u], nd->n_in);
        if (nd->train_b)
            grad[nd->b_off + u] += dout[u];
        if (din)
            axpy(din, P + nd->w_off + (size_t)u * nd->n_in, dout[u], nd->n_in);
    }
}

#ifdef NN_FAST
/* The rows' dots eight rows at a time (each as dot sums it), then the bias
 * added as dense_fwd adds it. */
static void dense_fwd_fast(const nn_node *nd, const real *P, const real *in, real *out)
{
    cnf__gemm_dots(nd->units, 1, nd->n_in, P + nd->w_off, nd->n_in, in, nd->n_in, out, 1, 0);
    for (int u = 0; u < nd->units; u++)
        out[u] = out[u] + (nd->has_b ? P[nd->b_off + u] : 0);
}

/* The input's gradient as one row times W: each value summed over the units
 * in order from 0, as dense_bwd's axpys sum it.  With rec, the weights'
 * gradient is left to flush: the input and the output's gradient are kept
 * there instead (a sample's record). */
static void dense_bwd_fast(const nn_node *nd, const real *P, const real *in, const real *dout,
                           real *din, real *grad, real *rec)
{
    if (rec) {
        memcpy(rec, in, sizeof(real) * (size_t)nd->n_in);
        memcpy(rec + nd->n_in, dout, sizeof(real) * (size_t)nd->units);
    }
    for (int u = 0; u < nd->units; u++) {
        if (nd->train_w && !rec)
            axpy(grad + nd->w_off + (size_t)u * nd->n_in, in, dout[u], nd->n_in);
        if (nd->train_b)
            grad[nd->b_off + u] += dout[u];
    }
    if (din)
        cnf__gemm_nn(1, nd->n_in, nd->units, dout, 0, 1, P + nd->w_off, nd->n_in, din, nd->n_in,
                     0);
}
#endif

/* Across the channels at each position: exp(v - max) / sum, in double. */
static void softmax_fwd(const nn_node *nd, const real *in, real *out)
{
    size_t hw = plane(nd);
    for (size_t x = 0; x < hw; x++) {
        double m = in[x], s = 0;
        for (int c = 1; c < nd->c; c++)
            m = in[(size_t)c * hw + x] > m ? in[(size_t)c * hw + x] : m;
        for (int c = 0; c < nd->c; c++)
            s += exp(in[(size_t)c * hw + x] - m);
        for (int c = 0; c < nd->c; c++)
            out[(size_t)c * hw + x] = (real)(exp(in[(size_t)c * hw + x] - m) / s);
    }
}

static void softmax_bwd(const nn_node *nd, const real *out, const real *dout, real *din)
{
    size_t hw = plane(nd);
    for (size_t x = 0; x < hw; x++) {
        double s = 0;
        for (int c = 0; c < nd->c; c++)
            s += (double)out[(size_t)c * hw + x] * dout[(size_t)c * hw + x];
        for (int c = 0; c < nd->c; c++) {
            size_t i = (size_t)c * hw + x;
            din[i] = (real)(out[i] * (dout[i] - s));
        }
    }
}

/* ---------------------------------------------------------------- nodes */

static void node_fwd(const nn_node *nd, const real *P, real *act, real *col)
{
    const real *in = act + nd->in;
    real *out = act + nd->out;
    size_t n = (size_t)nd->c * plane(nd);
#ifdef NN_FAST
    if (nd->fast) {
        if (nd->op == NN_CONV)
            conv_fwd_fast(nd, P, in, out, col + nd->col_off);
        else if (nd->op == NN_DENSE)
            dense_fwd_fast(nd, P, in, out);
        else
            pool_fwd_fast(nd, in, out);
        return;
    }
#endif
    switch (nd->op) {
    case NN_LUMA: luma_fwd(nd, in, out); break;
    case NN_CONV: conv_fwd(nd, P, in, out, col + nd->col_off); break;
    case NN_MERGE: merge_fwd(nd, in, out); break;
    case NN_COMBINE: combine_fwd(nd, in, out); break;
    case NN_ACT: act_fwd(nd, in, out, n); break;
    case NN_POOL: pool_fwd(nd, in, out); break;
    case NN_DENSE: dense_fwd(nd, P, in, out); break;
    case NN_SOFTMAX: softmax_fwd(nd, in, out); break;
    case NN_AFFINE:
        for (size_t i = 0; i < n; i++)
            out[i] = (real)(nd->scale * (double)in[i] + nd->shift);
        break;
    case NN_FLATTEN:
    default: memcpy(out, in, sizeof(real) * n); break;
    }
}

/* din: NULL when the input's gradient is not wanted (then the node has
 * parameters that learn); rec: where a fast dense node records the sample
 * (NULL: it adds its weights' gradient now). */
static void node_bwd(const nn_node *nd, const real *P, const real *act, const real *dout,
                     real *din, real *grad, real *col, real *dcol, real *rec)
{
    const real *in = act + nd->in, *out = act + nd->out;
    size_t n = (size_t)nd->c * plane(nd);
#ifndef NN_FAST
    (void)rec; /* only fast nodes record */
#endif
#ifdef NN_FAST
    if (nd->fast) {
        if (nd->op == NN_CONV)
            conv_bwd_fast(nd, P, dout, din, grad, col + nd->col_off, dcol);
        else if (nd->op == NN_DENSE)
            dense_bwd_fast(nd, P, in, dout, din, grad, rec);
        else
            pool_bwd_fast(nd, in, dout, din);
        return;
    }
#endif
    switch (nd->op) {
    case NN_LUMA: luma_bwd(nd, dout, din); break;
    case NN_CONV: conv_bwd(nd, P, in, dout, din, grad, col + nd->col_off, dcol); break;
    case NN_MERGE: merge_bwd(nd, in, dout, din); break;
    case NN_COMBINE: combine_bwd(nd, in, dout, din); break;
    case NN_ACT: act_bwd(nd, in, out, dout, din, n); break;
    case NN_POOL: pool_bwd(nd, in, dout, din); break;
    case NN_DENSE: dense_bwd(nd, P, in, dout, din, grad); break;
    case NN_SOFTMAX: softmax_bwd(nd, out, dout, din); break;
    case NN_AFFINE:
        for (size_t i = 0; i < n; i++)
            din[i] = (real)(nd->scale * (double)dout[i]);
        break;
    case NN_FLATTEN:
    default: memcpy(din, dout, sizeof(real) * n); break;
    }
}

/* ----------------------------------------------------------- the table */

static void load(const nn_net *n, nn_work *w, const cnf_dataset *d, long i)
{
    real *a = w->act;
    if (d->u8) {
        const unsigned char *s = d->u8 + (size_t)i * n->n_in;
        for (size_t k = 0; k < n->n_in; k++)
            a[k] = (real)s[k];
    } else {
        const float *s = d->f32 + (size_t)i * n->n_in;
        for (size_t k = 0; k < n->n_in; k++)
            a[k] = (real)s[k];
    }
}

static void forward(const nn_net *n, nn_work *w)
{
    for (int i = 0; i < n->n_nodes; i++)
        node_fwd(&n->nodes[i], n->params, w->act, w->col);
}

/* Cross entropy is fused with the final softmax: -log p[label] = lse(z) -
 * z[label] from the pre-softmax values z, and its gradient with respect to
 * z is p - onehot, so backward starts below the softmax. */
static double loss(const nn_net *n, nn_work *w, int label, cnf_loss kind, int seed, int *pred,
                   int *from)
{
    const nn_node *last = &n->nodes[n->n_nodes - 1];
    const real *y = (const real *)w->act + last->out, *z = (const real *)w->act + last->in;
    real *g = w->ga;
    size_t no = n->n_out, best = 0;
    double L = 0;
    for (size_t k = 1; k < no; k++)
        if (y[k] > y[best])
            best = k;
    *pred = (int)best;
    if (kind == CNF_LOSS_CROSS_ENTROPY) {
        double m = z[0], s = 0, lse;
        for (size_t k = 1; k < no; k++)
            m = z[k] > m ? z[k] : m;
        for (size_t k = 0; k < no; k++)
            s += exp(z[k] - m);
        lse = m + log(s);
        L = lse - z[label];
        for (size_t k = 0; seed && k < no; k++)
            g[k] = (real)(exp(z[k] - lse) - (k == (size_t)label ? 1.0 : 0.0));
        *from = n->n_nodes - 2;
        return L;
    }
    for (size_t k = 0; k < no; k++) {
        double d = (double)y[k] - (k == (size_t)label ? 1.0 : 0.0);
        L += d * d;
        if (seed)
            g[k] = (real)(2.0 * d / (double)no);
    }
    *from = n->n_nodes - 1;
    return L / (double)no;
}

static void *backward(const nn_net *n, nn_work *w, int from, int record)
{
    real *dout = w->ga, *din = w->gb, *rec = NULL;
    void *result = from < 0 ? dout : NULL;
    if (record && n->rec_size && w->n_rec < CNF__NN_CHUNK)
        rec = (real *)w->rec + (size_t)w->n_rec++ * n->rec_size;
    for (int i = from; i >= 0; i--) {
        const nn_node *nd = &n->nodes[i];
        real *t;
        if (!nd->need_din && !nd->train_w && !nd->train_b)
            break; /* nothing before it learns */
        node_bwd(nd, n->params, w->act, dout, nd->need_din ? din : NULL, w->grad, w->col,
                 w->dcol, rec && nd->op == NN_DENSE && nd->fast && nd->train_w
                              ? rec + nd->rec_off
                              : NULL);
        if (!nd->need_din)
            break;
        t = dout;
        dout = din;
        din = t;
        if (i == 0)
            result = dout;
    }
    return result;
}

/* Each recorded dense node's weight gradient: units x n_in = (output
 * gradients)^T x inputs over the recorded samples, one product summed from
 * 0 in sample order (cnf__gemm_nn), written over its range of grad. */
static void flush(const nn_net *n, nn_work *w)
{
#ifdef NN_FAST
    for (int i = 0; w->n_rec > 0 && i < n->n_nodes; i++) {
        const nn_node *nd = &n->nodes[i];
        const real *r = (const real *)w->rec + nd->rec_off;
        if (nd->op == NN_DENSE && nd->fast && nd->train_w)
            cnf__gemm_nn(nd->units, nd->n_in, w->n_rec, r + nd->n_in, 1, (ptrdiff_t)n->rec_size,
                         r, (ptrdiff_t)n->rec_size, (real *)w->grad + nd->w_off, nd->n_in, 0);
    }
#else
    (void)n;
#endif
    w->n_rec = 0;
}

const nn_math NN_TABLE = {sizeof(real), load, forward, loss, backward, flush};
