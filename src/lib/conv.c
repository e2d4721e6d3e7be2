/* conv.c - the convolution stage: padding, borders, stride, dilation, several kernels, alpha.
 *
 * Portable reference path.  For each output row, the input rows it touches
 * are copied once into horizontally padded double rows (the border rule is
 * applied there, per row and per pad column, never per pixel), then every
 * non-zero tap adds w * row into a double accumulator:
 *     out(y, x) = acc(y, x) * scale / divisor + bias
 * Summation order is fixed (input channel, kernel row, kernel column), so
 * results do not depend on threads or bands.  Integer weights on 8-bit (or
 * any integer) data are exact: every partial sum is an integer below 2^53.
 * Keeping the divisor apart makes box/line/gaussian results the correctly
 * rounded quotient rather than a sum of rounded fractions.
 *
 * Fast path, bit-identical by construction.  When a map's weights are all
 * integers and a band's input values are all integers with
 * sum|w| * max|v| < 2^24, every product and every partial sum is an integer
 * that float32 holds exactly, in any order.  Such bands are accumulated in
 * float32 vectors (four or eight at a time), and a rank-1 kernel with
 * integer factors (Sobel, box, binomial Gaussian, lines) as a vertical then
 * a horizontal 1-D pass, the vertical one as running sums when the column
 * factors are all equal (box, line_v: two operations per pixel), the
 * horizontal one as window sums by doubling when the row factors are all
 * equal (box, line_h: log2(width) operations per pixel).  The sum is the
 * same integer the double path finds, and it goes through the same final
 * expression (or one proven to give the same float, see store_sums), so
 * the pixels are the same; --portable (cnf_plan_limits.portable) skips the
 * fast path.  Float32 rather than int32 sums: the same exactness below
 * 2^24 (8-bit data under any built-in kernel up to gaussian:9), no
 * conversions, and float multiply-adds are cheaper than int32 ones.
 * Each band decides for itself (the check costs one pass over its rows),
 * so an image with fractional values (16-bit PNG, a previous layer) simply
 * takes the double path.
 *
 * Two-pass path, within a stated bound instead.  A rank-1 kernel whose
 * weights are not all multiples of 2^-24 (a Gaussian by sigma: its double
 * sums are not exact anyway) runs on any data as a vertical then a
 * horizontal 1-D pass in float32 (twopass_row): kh + kw products per
 * output instead of kh * kw, each value by fixed operations in a fixed
 * order, so the same bits for any thread count; cnnfilter(1) states how
 * far from the double sums (tested in tests/unit/test_conv.c).  Integer and
 * dyadic kernels never take it, so their results are exact and unchanged.
 */
#include "stage.h"
#include "layer.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The helpers of the fast path are inlined into each target clone of the
 * loops that call them, so they get the clone's vector width. */
#if defined(__GNUC__)
#define HOT_INLINE static inline __attribute__((always_inline))
#define NO_INLINE __attribute__((noinline))
#define ALIGNED64(p) __builtin_assume_aligned((p), 64)
#else
#define HOT_INLINE static inline
#define NO_INLINE
#define ALIGNED64(p) (p)
#endif

/* Integer sums below this are exact in float32. */
#define EXACT_F32 16777216.0

typedef struct tap {
    int i, j;
    double w;
} tap;
_Static_assert(sizeof(tap) == CNF__TAP_BYTES, "plan.c's estimate of the tap tables");

typedef struct conv_map {
    int kh, kw, pt, pb, pl, pr;
    int in_first, in_count; /* input colour planes [in_first, in_first + in_count) */
    tap *taps;              /* in_count groups, tap_count[c] each */
    int *tap_count;
    double scale, divisor, bias;
    char name[260];
    int is3d;
    /* fast path */
    int exact;          /* all weights integers below 2^24 */
    double wabs;        /* sum of |w| over every tap */
    int sep;            /* rank 1 with integer factors (2-D, one input plane) */
    float *colf, *rowf; /* the factors, kh and kw long, flip applied */
    int out_mode;       /* 1: sum as is; 2: times 2^-k, exact; 3: float quotient; 0: the
                           full expression in double */
    int running;        /* separable with equal column factors: vertical running sums */
    int hequal;         /* separable with equal row factors: horizontal window sums */
    /* the two-pass path: rank 1 with some weight not a multiple of 2^-24 (2-D,
       one input plane); colf and rowf then hold its factors, colf scaled to a
       largest |value| of 1 and rowf times the rest and scale / divisor */
    int frac;
    int vsym, hsym;     /* colf, rowf symmetric: mirrored taps added before the product */
} conv_map;

typedef struct conv_impl {
    int n_maps;
    conv_map *maps;
    int sy, sx, d;
    cnf_border border;
    cnf_padding_kind padding;
    int in_colour;
    int plmax, prmax, wp;
    int *lmap, *rmap;  /* source column of each pad cell, -1 for zero */
    int vspan;         /* max over maps of D*(kh-1)+1 + (ptmax - pt) */
    int ptmax;
    int alpha_in, alpha_out;
    int *alpha_cols;   /* source column per output x, -1 for zero */
    int per_channel;
    int groups;        /* kernels */
    int fast;          /* some map can take the fast path */
    int twopass;       /* some map takes the two-pass path */
} conv_impl;

static void conv_need(const cnf_stage *s, int y0, int y1, int *lo, int *hi)
{
    const conv_impl *c = s->impl;
    int mn = s->in.h, mx = -1;
    for (int m = 0; m < c->n_maps; m++) {
        const conv_map *mp = &c->maps[m];
        long v0 = (long)y0 * c->sy - mp->pt;
        long v1 = (long)(y1 - 1) * c->sy - mp->pt + (long)c->d * (mp->kh - 1);
        for (long v = v0; v <= v1; v++) {
            int r = cnf__border_index(c->border, (int)v, s->in.h);
            if (r < 0)
                continue;
            if (r < mn)
                mn = r;
            if (r > mx)
                mx = r;
            if (mn == 0 && mx == s->in.h - 1)
                break;
        }
    }
    if (c->alpha_out) {
        const conv_map *mp = &c->maps[0];
        int ay = (mp->kh - 1) / 2;
        for (int y = y0; y < y1; y++) {
            int r = cnf__border_index(c->border, y * c->sy + ay * c->d - mp->pt, s->in.h);
            if (r >= 0 && r < mn)
                mn = r;
            if (r > mx)
                mx = r;
        }
    }
    if (mx < 0) {
        *lo = *hi = 0;
    } else {
        *lo = mn;
        *hi = mx + 1;
    }
}

/* Virtual rows of a band of `rows` output rows, and the scratch layout. */
static int conv_nv(const conv_impl *c, int rows)
{
    return (rows - 1) * c->sy + c->vspan;
}

/* Outputs per strip: 2 KiB of double accumulators. */
#define XSTRIP 256

static size_t conv_scratch(const cnf_stage *s, int rows)
{
    const conv_impl *c = s->impl;
    size_t nv = (size_t)conv_nv(c, rows);
    size_t bytes = nv * (size_t)c->in_colour * (size_t)c->wp * sizeof(double) /* padded rows */
                   + nv * (size_t)c->in_colour                               /* built flags */
                   + (size_t)s->out.w * sizeof(double) + 64;                /* accumulator */
    if (c->fast)
        bytes += nv * (size_t)c->in_colour * (size_t)c->wp * sizeof(float) /* float rows */
                 + nv * (size_t)c->in_colour                              /* their flags */
                 + ((size_t)c->wp + 2 * XSTRIP) * sizeof(float) + 192    /* tmp, acc */
                 + 2 * ((size_t)c->wp + XSTRIP) * sizeof(float) + 128    /* window sums */
                 + (size_t)c->n_maps;                                    /* maps done */
    if (c->twopass)
        bytes += (size_t)c->n_maps + 64                                   /* maps done */
                 + 2 * ((size_t)c->wp + 64) * sizeof(float);              /* column sums, zeros */
    return bytes;
}

static void build_row(const conv_impl *c, const float *src, int w, double *dst)
{
    for (int k = 0; k < c->plmax; k++)
        dst[k] = c->lmap[k] < 0 ? 0.0 : src[c->lmap[k]];
    for (int x = 0; x < w; x++)
        dst[c->plmax + x] = src[x];
    for (int k = 0; k < c->prmax; k++)
        dst[c->plmax + w + k] = c->rmap[k] < 0 ? 0.0 : src[c->rmap[k]];
}


/* Copy a source row into a padded float row; *bad set if a value is not an
 * integer (or is NaN), *m raised to the largest |value|.  The copy and the
 * check are one pass over the row. */
static void build_row_f(const conv_impl *c, const float *src, int w, float *dst, float *m,
                        int *bad)
{
    float mx = *m, *mid = dst + c->plmax;
    int b = 0, x = 0;
    for (int k = 0; k < c->plmax; k++)
        dst[k] = c->lmap[k] < 0 ? 0.0f : src[c->lmap[k]];
    for (int k = 0; k < c->prmax; k++)
        dst[c->plmax + w + k] = c->rmap[k] < 0 ? 0.0f : src[c->rmap[k]];
#if defined(__SSE2__)
    {
        __m128 vm = _mm_set1_ps(mx), sign = _mm_set1_ps(-0.0f);
        __m128 nb = _mm_setzero_ps();
        for (; x + 4 <= w; x += 4) {
            __m128 v = _mm_loadu_ps(src + x);
            _mm_storeu_ps(mid + x, v);
            /* Truncation back and forth changes anything not an integer;
             * NaN and |v| >= 2^31 (converted to INT_MIN) differ too. */
            __m128 t = _mm_cvtepi32_ps(_mm_cvttps_epi32(v));
            nb = _mm_or_ps(nb, _mm_cmpneq_ps(t, v));
            vm = _mm_max_ps(_mm_andnot_ps(sign, v), vm);
        }
        b = _mm_movemask_ps(nb) != 0;
        {
            float a[4];
            _mm_storeu_ps(a, vm);
            for (int i = 0; i < 4; i++)
                mx = a[i] > mx ? a[i] : mx;
        }
    }
#endif
    for (; x < w; x++) {
        float v = src[x], a = fabsf(v);
        mid[x] = v;
        if (!(a < (float)EXACT_F32) || (float)(int32_t)v != v)
            b = 1;
        else if (a > mx)
            mx = a;
    }
    if (b || !(mx < (float)EXACT_F32))
        *bad = 1;
    *m = mx;
}

/* The same value as the double path's expression on the same integer sum:
 * with no scale or bias and a divisor of 2^k the quotient is exact in
 * float32 too, so no double arithmetic is needed then.  With another
 * integer divisor D (|D| < 2^24, so exact in float), the float division
 * a / D is the correctly rounded quotient, and so is the double path's
 * (float)(a / D): a quotient of integers below 2^24 that is not a float
 * midpoint lies at least |q| / (2^25 |D|) > 2^-53 |q| away from one, so
 * rounding to double first cannot make a tie that was not there.  "+ 0"
 * is the double path's zero bias: it makes a -0 quotient +0. */
HOT_INLINE void store_sums(const conv_map *mp, const float *acc, float *dst, int n)
{
    if (mp->out_mode == 1) {
        memcpy(dst, acc, (size_t)n * sizeof(float));
    } else if (mp->out_mode == 2) {
        float inv = (float)(1.0 / mp->divisor);
        for (int x = 0; x < n; x++)
            dst[x] = acc[x] * inv;
    } else if (mp->out_mode == 3) {
        float d = (float)mp->divisor;
        for (int x = 0; x < n; x++)
            dst[x] = acc[x] / d + 0.0f;
    } else {
        for (int x = 0; x < n; x++)
            dst[x] = (float)((double)acc[x] * mp->scale / mp->divisor + mp->bias);
    }
}

/* acc[x] = 0 + w * src[x] when first (the same float as adding to a zeroed
 * acc, -0 included), else acc[x] += w * src[x]: one pass instead of two. */
HOT_INLINE void add_scaled(float *acc, const float *src, float w, int n, int first)
{
    if (first)
        for (int x = 0; x < n; x++)
            acc[x] = 0.0f + w * src[x];
    else
        for (int x = 0; x < n; x++)
            acc[x] += w * src[x];
}

/* Four add_scaled in one pass, in the same order (the same floats): the
 * sums are loaded and stored once for four taps instead of four times. */
HOT_INLINE void add_scaled4(float *restrict acc, const float *restrict s0,
                            const float *restrict s1, const float *restrict s2,
                            const float *restrict s3, const float *w, int n, int first)
{
    float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
    if (first)
        for (int x = 0; x < n; x++)
            acc[x] = (((0.0f + w0 * s0[x]) + w1 * s1[x]) + w2 * s2[x]) + w3 * s3[x];
    else
        for (int x = 0; x < n; x++)
            acc[x] = (((acc[x] + w0 * s0[x]) + w1 * s1[x]) + w2 * s2[x]) + w3 * s3[x];
}

/* dst[x] += w * (src[x] + src[x + d] + ... + src[x + (k-1)*d]) for x < n,
 * by doubling: sums of 1, 2, 4, ... values, then the binary digits of k
 * pick which of them make up the window, so O(log k) passes whatever k
 * (box, line_h: equal row factors).  Every partial sum is an integer below
 * 2^24 (the caller's bound), so the order of the additions does not change
 * it.  dst gets one addition (add_scaled), so a zero sum is +0 as in the
 * double path.  a and b hold n + (k-1)*d floats each. */
HOT_INLINE void window_sums(const float *src, int n, int k, int d, float w, float *a,
                               float *b, float *dst, int first)
{
    const float *cur = src;
    float *win = NULL;
    int len = n + (k - 1) * d, m = 1, off = 0;
    for (;;) {
        if (k & m) {
            const float *p = cur + (size_t)off * d;
            if (!win) {
                win = cur == a ? b : a;
                /* "+ 0" keeps this a vector loop rather than a slow inlined
                 * memcpy; it only turns -0 into +0, and the sign of a zero
                 * partial sum never shows (see above). */
                for (int x = 0; x < n; x++)
                    win[x] = p[x] + 0.0f;
            } else {
                for (int x = 0; x < n; x++)
                    win[x] += p[x];
            }
            off += m;
        }
        if (m > k / 2)
            break;
        len -= m * d;
        {
            /* the next power: into whichever buffer holds neither cur nor win */
            float *next = (cur != a && win != a) ? a : (cur != b && win != b) ? b : NULL;
            int md = m * d;
            if (!next) {
                /* cur and win are a and b: fold cur in place, going up, so
                 * every value is read before it is replaced */
                float *q = cur == a ? a : b;
                for (int x = 0; x < len; x++)
                    q[x] = q[x] + q[x + md];
                cur = q;
            } else {
                for (int x = 0; x < len; x++)
                    next[x] = cur[x] + cur[x + md];
                cur = next;
            }
        }
        m *= 2;
    }
    add_scaled(dst, win, w, n, first);
}

/* A whole band of map mp by running sums down the columns (equal column
 * factors, stride and dilation 1): each strip's column sums are made once
 * for the band's first row, then each next row adds the row entering the
 * window and takes away the one leaving it: two operations per pixel
 * whatever the kernel's height.  Integers throughout, so exact. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void running_band(const conv_impl *c, const conv_map *mp, const float *fpad,
                         const unsigned char *fbuilt, int y0, int y1, long vbase, float *tmp,
                         float *acc, float *wa, float *wb, const cnf_band *out, int m, int ow)
{
    size_t slot = (size_t)c->wp;
    float cv = mp->colf[0];
    for (int x0 = 0; x0 < ow; x0 += XSTRIP) {
        int n = ow - x0 < XSTRIP ? ow - x0 : XSTRIP, width = n + mp->kw - 1;
        size_t off = (size_t)(c->plmax - mp->pl) + (size_t)x0;
        memset(tmp, 0, (size_t)width * sizeof(float));
        for (int i = 0; i < mp->kh; i++) {
            size_t sidx = (size_t)((long)y0 + i - mp->pt - vbase) * c->in_colour + (size_t)mp->in_first;
            const float *src = fpad + sidx * slot + off;
            if (fbuilt[sidx] == 1)
                for (int u = 0; u < width; u++)
                    tmp[u] += src[u];
        }
        for (int y = y0; y < y1; y++) {
            if (y > y0) {
                size_t in_s = (size_t)((long)y + mp->kh - 1 - mp->pt - vbase) * c->in_colour +
                              (size_t)mp->in_first;
                size_t out_s = (size_t)((long)y - 1 - mp->pt - vbase) * c->in_colour +
                               (size_t)mp->in_first;
                const float *a = fpad + in_s * slot + off, *b = fpad + out_s * slot + off;
                if (fbuilt[in_s] == 1 && fbuilt[out_s] == 1)
                    for (int u = 0; u < width; u++)
                        tmp[u] += a[u] - b[u];
                else if (fbuilt[in_s] == 1)
                    for (int u = 0; u < width; u++)
                        tmp[u] += a[u];
                else if (fbuilt[out_s] == 1)
                    for (int u = 0; u < width; u++)
                        tmp[u] -= b[u];
            }
            {
                float *dst = cnf__band_row(out, m, y) + x0, *a = mp->out_mode == 1 ? dst : acc;
                int first = 1;
                if (mp->hequal) {
                    window_sums(tmp, n, mp->kw, 1, cv * mp->rowf[0], wa, wb, a, 1);
                    first = 0;
                } else {
                    for (int j = 0; j < mp->kw; j++) {
                        float w = cv * mp->rowf[j];
                        if (w != 0) {
                            add_scaled(a, tmp + j, w, n, first);
                            first = 0;
                        }
                    }
                }
                if (first)
                    memset(a, 0, (size_t)n * sizeof(float));
                if (a != dst)
                    store_sums(mp, a, dst, n);
            }
        }
    }
}

/* One output row of map mp by the fast path: float32 sums of integers.
 * Built twice (AVX2 and baseline), chosen at load time by the CPU. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void fast_row(const conv_impl *c, const conv_map *mp, const float *fpad,
                     const unsigned char *fbuilt, long y, long vbase, float *tmp, float *acc,
                     float *wa, float *wb, float *dst, int ow)
{
    size_t slot = (size_t)c->wp;
    const tap *t;
    for (int x0 = 0; x0 < ow; x0 += XSTRIP) {
        int n = ow - x0 < XSTRIP ? ow - x0 : XSTRIP, first = 1;
        /* sums as they are go straight to the output row */
        float *a = mp->out_mode == 1 ? dst + x0 : acc;
        if (mp->sep && c->sx == 1) {
            /* Vertical pass over the strip's reach, then horizontal. */
            int width = n + c->d * (mp->kw - 1);
            int any = 0;
            for (int i = 0; i < mp->kh; i++) {
                long v = y * c->sy + (long)i * c->d - mp->pt;
                size_t sidx = (size_t)(v - vbase) * c->in_colour + (size_t)mp->in_first;
                const float *src;
                float w = mp->colf[i];
                if (w == 0 || fbuilt[sidx] == 2)
                    continue;
                src = fpad + sidx * slot + (c->plmax - mp->pl) + x0;
                add_scaled(tmp, src, w, width, !any);
                any = 1;
            }
            if (any && mp->hequal) {
                window_sums(tmp, n, mp->kw, c->d, mp->rowf[0], wa, wb, a, 1);
                first = 0;
            } else if (any) {
                for (int j = 0; j < mp->kw; j++) {
                    float w = mp->rowf[j];
                    if (w == 0)
                        continue;
                    add_scaled(a, tmp + (size_t)j * c->d, w, n, first);
                    first = 0;
                }
            }
        } else {
            const float *ps[4];
            float pw[4];
            int np = 0; /* taps held for add_scaled4 (stride 1) */
            t = mp->taps;
            for (int ci = 0; ci < mp->in_count; ci++) {
                int ch = mp->in_first + ci, nt = mp->tap_count[ci];
                for (int k = 0; k < nt; k++) {
                    long v = y * c->sy + (long)t[k].i * c->d - mp->pt;
                    size_t sidx = (size_t)(v - vbase) * c->in_colour + (size_t)ch;
                    const float *src;
                    float w = (float)t[k].w;
                    if (fbuilt[sidx] == 2)
                        continue;
                    src = fpad + sidx * slot + (c->plmax - mp->pl) + (size_t)t[k].j * c->d +
                          (size_t)x0 * c->sx;
                    if (c->sx == 1) {
                        ps[np] = src;
                        pw[np++] = w;
                        if (np < 4)
                            continue;
                        add_scaled4(a, ps[0], ps[1], ps[2], ps[3], pw, n, first);
                        np = 0;
                    } else if (first) {
                        for (int x = 0; x < n; x++)
                            a[x] = 0.0f + w * src[(size_t)x * c->sx];
                    } else {
                        for (int x = 0; x < n; x++)
                            a[x] += w * src[(size_t)x * c->sx];
                    }
                    first = 0;
                }
                t += nt;
            }
            for (int i = 0; i < np; i++) {
                add_scaled(a, ps[i], pw[i], n, first);
                first = 0;
            }
        }
        if (first)
            memset(a, 0, (size_t)n * sizeof(float));
        if (a != dst + x0)
            store_sums(mp, a, dst + x0, n);
    }
}

/* The two-pass path: a rank-1 kernel with fractional weights (a Gaussian
 * given by sigma, an outer product from a file; some weight not a multiple
 * of 2^-24, see frac_setup) as a vertical then a
 * horizontal 1-D pass in float32, kh + kw products per output instead of
 * kh * kw, the column sums made once per output row over the whole input
 * width (a vertical pass is linear and per column, so the border's pad
 * columns are copied from the sums like pixels are).  Vertical first: it
 * makes each output row's sums once, where a horizontal pass first would
 * redo the rows shared by the band's output rows.  With symmetric factors
 * (a Gaussian) the two mirrored taps are added before their product: a
 * third fewer operations.  Each output value takes the same operations in
 * the same order whatever band, thread or vector width computes it, so
 * results are the same for any -j, run after run; against the double path
 * they differ by float32 rounding, within the bound of cnnfilter(1) and
 * doc/reference.md (see tests/unit/test_conv.c). */
typedef struct pterm {
    const float *a, *b; /* w * (a[x] + b[x]), or w * a[x] when the terms are single */
    float w;
} pterm;

#if defined(__GNUC__)
#define TP_VEC 1
typedef float v8f __attribute__((vector_size(32)));
/* (a macro: a function returning v8f would warn of the AVX ABI in the
 * baseline build) */
#define load8(p) __extension__({ v8f v_; memcpy(&v_, (p), sizeof v_); v_; })
#else
#define TP_VEC 0
#endif

/* dst[x] = the sum over the terms, in their order, of w * (a[x*st] + b[x*st])
 * (pairs) or w * a[x*st], for x < n; the first term sets the sum.  The
 * vector loop does per lane what the scalar loop does per value. */
HOT_INLINE void sum_terms(const pterm *t, int nt, int pairs, int st, float *dst, int n)
{
    int x = 0;
    if (nt == 0) {
        memset(dst, 0, (size_t)n * sizeof(float));
        return;
    }
#if TP_VEC
    if (st == 1) {
        for (; x + 32 <= n; x += 32) {
            v8f s0, s1, s2, s3;
            if (pairs) {
                const float *a = t[0].a + x, *b = t[0].b + x;
                float w = t[0].w;
                s0 = w * (load8(a) + load8(b));
                s1 = w * (load8(a + 8) + load8(b + 8));
                s2 = w * (load8(a + 16) + load8(b + 16));
                s3 = w * (load8(a + 24) + load8(b + 24));
                for (int k = 1; k < nt; k++) {
                    a = t[k].a + x;
                    b = t[k].b + x;
                    w = t[k].w;
                    s0 += w * (load8(a) + load8(b));
                    s1 += w * (load8(a + 8) + load8(b + 8));
                    s2 += w * (load8(a + 16) + load8(b + 16));
                    s3 += w * (load8(a + 24) + load8(b + 24));
                }
            } else {
                const float *a = t[0].a + x;
                float w = t[0].w;
                s0 = w * load8(a);
                s1 = w * load8(a + 8);
                s2 = w * load8(a + 16);
                s3 = w * load8(a + 24);
                for (int k = 1; k < nt; k++) {
                    a = t[k].a + x;
                    w = t[k].w;
                    s0 += w * load8(a);
                    s1 += w * load8(a + 8);
                    s2 += w * load8(a + 16);
                    s3 += w * load8(a + 24);
                }
            }
            memcpy(dst + x, &s0, sizeof s0);
            memcpy(dst + x + 8, &s1, sizeof s1);
            memcpy(dst + x + 16, &s2, sizeof s2);
            memcpy(dst + x + 24, &s3, sizeof s3);
        }
        for (; x + 8 <= n; x += 8) {
            v8f s0;
            if (pairs) {
                s0 = t[0].w * (load8(t[0].a + x) + load8(t[0].b + x));
                for (int k = 1; k < nt; k++)
                    s0 += t[k].w * (load8(t[k].a + x) + load8(t[k].b + x));
            } else {
                s0 = t[0].w * load8(t[0].a + x);
                for (int k = 1; k < nt; k++)
                    s0 += t[k].w * load8(t[k].a + x);
            }
            memcpy(dst + x, &s0, sizeof s0);
        }
    }
#endif
    for (; x < n; x++) {
        size_t o = (size_t)x * (size_t)st;
        float s;
        if (pairs) {
            s = t[0].w * (t[0].a[o] + t[0].b[o]);
            for (int k = 1; k < nt; k++)
                s += t[k].w * (t[k].a[o] + t[k].b[o]);
        } else {
            s = t[0].w * t[0].a[o];
            for (int k = 1; k < nt; k++)
                s += t[k].w * t[k].a[o];
        }
        dst[x] = s;
    }
}

/* Output row y of map mp by two passes into dst; 0 when some value came
 * out infinite or NaN (an overflow in float32, or such an input), for the
 * caller to make the row by the double path instead.  vt holds wp floats,
 * zero wp zeros.  Built twice (AVX2 and baseline), chosen at load time. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static int twopass_row(const cnf_stage *s, const conv_map *mp, const cnf_band *in, int y,
                       float *vt, const float *zero, float *dst)
{
    const conv_impl *c = s->impl;
    pterm t[CNF_MAX_KERNEL_SIDE];
    const float *rows[CNF_MAX_KERNEL_SIDE];
    int nt = 0, kh = mp->kh, kw = mp->kw, W = s->in.w, ow = s->out.w, ok = 1;
    const float *h;
    /* vertical: the column sums of the whole input width */
    for (int i = 0; i < kh; i++) {
        int r = cnf__border_index(c->border, y * c->sy + i * c->d - mp->pt, s->in.h);
        rows[i] = r < 0 ? NULL : cnf__band_row(in, mp->in_first, r);
    }
    if (mp->vsym) {
        for (int i = 0; i < (kh + 1) / 2; i++) {
            const float *a = rows[i], *b = kh - 1 - i != i ? rows[kh - 1 - i] : NULL;
            if (mp->colf[i] == 0 || (!a && !b))
                continue;
            t[nt].a = a ? a : b;
            t[nt].b = a && b ? b : zero;
            t[nt].w = mp->colf[i];
            nt++;
        }
    } else {
        for (int i = 0; i < kh; i++)
            if (mp->colf[i] != 0 && rows[i]) {
                t[nt].a = rows[i];
                t[nt].b = NULL;
                t[nt].w = mp->colf[i];
                nt++;
            }
    }
    sum_terms(t, nt, mp->vsym, 1, vt + c->plmax, W);
    for (int k = 0; k < c->plmax; k++)
        vt[k] = c->lmap[k] < 0 ? 0.0f : vt[c->plmax + c->lmap[k]];
    for (int k = 0; k < c->prmax; k++)
        vt[c->plmax + W + k] = c->rmap[k] < 0 ? 0.0f : vt[c->plmax + c->rmap[k]];
    /* horizontal, over the sums */
    h = vt + (c->plmax - mp->pl);
    nt = 0;
    if (mp->hsym) {
        for (int j = 0; j < (kw + 1) / 2; j++) {
            if (mp->rowf[j] == 0)
                continue;
            t[nt].a = h + (size_t)j * c->d;
            t[nt].b = kw - 1 - j != j ? h + (size_t)(kw - 1 - j) * c->d : zero;
            t[nt].w = mp->rowf[j];
            nt++;
        }
    } else {
        for (int j = 0; j < kw; j++)
            if (mp->rowf[j] != 0) {
                t[nt].a = h + (size_t)j * c->d;
                t[nt].b = NULL;
                t[nt].w = mp->rowf[j];
                nt++;
            }
    }
    sum_terms(t, nt, mp->hsym, c->sx, dst, ow);
    /* the bias as the double path adds it ("+ 0" makes a -0 sum +0 as there) */
    if (mp->bias == 0) {
        for (int x = 0; x < ow; x++) {
            float v = dst[x] + 0.0f;
            dst[x] = v;
            ok &= fabsf(v) <= FLT_MAX;
        }
    } else {
        for (int x = 0; x < ow; x++) {
            float v = (float)((double)dst[x] + mp->bias);
            dst[x] = v;
            ok &= fabsf(v) <= FLT_MAX;
        }
    }
    return ok;
}

/* One band's scratch, laid out as conv_scratch counts it, and what the
 * band's check found. */
typedef struct band_scratch {
    long vbase;           /* virtual row v of the band is slot v - vbase */
    size_t nslots;        /* virtual rows times input colour planes */
    double *pad;          /* the double path: padded rows, built on first use */
    unsigned char *built; /* per slot: 0 not yet, 1 built, 2 a zero-border row */
    double *acc;          /* one strip of double sums */
    /* The fast path (c->fast only): */
    float *fpad;           /* the band's rows as padded floats */
    unsigned char *fbuilt; /* per slot: 1 a row, 2 a zero-border row */
    float *tmp, *facc, *wa, *wb;
    unsigned char *done;   /* per map: its whole band made by running sums or two passes */
    float fmax;            /* the largest |value| of the band */
    int fbad;              /* some value is not an integer (or c->fast is off) */
    /* The two-pass path (c->twopass only): */
    float *vt;             /* one row of column sums, padded like fpad */
    float *zero;           /* wp zeros: the partner of a lone tap */
} band_scratch;

static void *align64(const void *p)
{
    return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

static void band_layout(const conv_impl *c, int y0, int rows, int ow, void *scratch,
                        band_scratch *b)
{
    size_t slot = (size_t)c->wp;
    memset(b, 0, sizeof *b);
    b->vbase = (long)y0 * c->sy - c->ptmax;
    b->nslots = (size_t)conv_nv(c, rows) * (size_t)c->in_colour;
    b->pad = scratch;
    b->built = (unsigned char *)(b->pad + b->nslots * slot);
    b->acc = align64(b->built + b->nslots);
    b->fbad = 1;
    if (c->fast) {
        b->fpad = (float *)(void *)(b->acc + ow);
        b->fbuilt = (unsigned char *)(b->fpad + b->nslots * slot);
        b->tmp = align64(b->fbuilt + b->nslots);
        b->facc = align64(b->tmp + c->wp + XSTRIP);
        b->wa = align64(b->facc + XSTRIP);
        b->wb = b->wa + c->wp + XSTRIP;
        b->done = (unsigned char *)(b->wb + c->wp + XSTRIP);
    }
    if (c->twopass) {
        unsigned char *end = c->fast ? b->done + c->n_maps : (unsigned char *)(b->acc + ow);
        b->vt = align64(end);
        b->zero = b->vt + c->wp + 32;
        if (!c->fast)
            b->done = (unsigned char *)(b->zero + c->wp + 32);
    }
}

/* The band's rows as floats, with the check that decides the path: fbad
 * when some value is not an integer, fmax the largest |value|.  The rows
 * stop being built once one fails.  fmax and fbad stay in locals meanwhile:
 * passed as fields of *b, the check's loop reloaded a constant every four
 * values (gcc 12, measured with callgrind). */
static void fast_check(const cnf_stage *s, const cnf_band *in, band_scratch *b)
{
    const conv_impl *c = s->impl;
    float fmax = 0;
    int fbad = 0;
    for (size_t sidx = 0; sidx < b->nslots; sidx++) {
        long v = b->vbase + (long)(sidx / (size_t)c->in_colour);
        int ch = (int)(sidx % (size_t)c->in_colour);
        int r = cnf__border_index(c->border, (int)v, s->in.h);
        b->fbuilt[sidx] = r < 0 ? 2 : 1;
        if (r >= 0 && !fbad)
            build_row_f(c, cnf__band_row(in, ch, r), s->in.w, b->fpad + sidx * (size_t)c->wp,
                        &fmax, &fbad);
    }
    b->fmax = fmax;
    b->fbad = fbad;
}

/* The maps that take running sums make their whole band at once (done[m]). */
static void running_maps(const conv_impl *c, band_scratch *b, const cnf_band *out, int y0,
                         int y1, int ow)
{
    memset(b->done, 0, (size_t)c->n_maps);
    for (int m = 0; m < c->n_maps && !b->fbad; m++) {
        const conv_map *mp = &c->maps[m];
        /* the column sums may hold one row more than the window */
        if (mp->running && mp->exact && mp->wabs * b->fmax < EXACT_F32 &&
            (double)(mp->kh + 1) * b->fmax < EXACT_F32) {
            running_band(c, mp, b->fpad, b->fbuilt, y0, y1, b->vbase, b->tmp, b->facc, b->wa,
                         b->wb, out, m, ow);
            b->done[m] = 1;
        }
    }
}

/* One output row of map mp by the portable path: double sums, taps in the
 * fixed order (input channel, kernel row, kernel column).  In strips of
 * XSTRIP outputs, so the accumulators stay in L1 while every tap passes over
 * them (the order of the taps, and so every sum, is the same as in one
 * pass).  Padded rows are built the first time a tap needs them.  Kept
 * out of conv_run: inlined there, its strided loops lost a register to a
 * spill (measured with callgrind). */
static NO_INLINE void double_row(const cnf_stage *s, const conv_map *mp, const cnf_band *in,
                       const band_scratch *b, int y, float *dst)
{
    const conv_impl *c = s->impl;
    int ow = s->out.w, W = s->in.w;
    size_t slot = (size_t)c->wp;
    double *pad = b->pad, *acc = ALIGNED64(b->acc); /* (band_layout aligns it) */
    unsigned char *built = b->built;
    long vbase = b->vbase;
    for (int x0 = 0; x0 < ow; x0 += XSTRIP) {
        int n = ow - x0 < XSTRIP ? ow - x0 : XSTRIP;
        const tap *t = mp->taps;
        memset(acc, 0, (size_t)n * sizeof(double));
        for (int ci = 0; ci < mp->in_count; ci++) {
            int ch = mp->in_first + ci;
            int nt = mp->tap_count[ci];
            for (int k = 0; k < nt; k++) {
                long v = (long)y * c->sy + (long)t[k].i * c->d - mp->pt;
                size_t sidx = (size_t)(v - vbase) * c->in_colour + (size_t)ch;
                double *prow = pad + sidx * slot;
                const double *src;
                double w = t[k].w;
                if (!built[sidx]) {
                    int r = cnf__border_index(c->border, (int)v, s->in.h);
                    built[sidx] = r < 0 ? 2 : 1;
                    if (r >= 0)
                        build_row(c, cnf__band_row(in, ch, r), W, prow);
                }
                if (built[sidx] == 2)
                    continue; /* a zero-border row adds nothing */
                src = prow + (c->plmax - mp->pl) + (size_t)t[k].j * c->d + (size_t)x0 * c->sx;
                if (c->sx == 1) {
                    for (int x = 0; x < n; x++)
                        acc[x] += w * src[x];
                } else {
                    for (int x = 0; x < n; x++)
                        acc[x] += w * src[(size_t)x * c->sx];
                }
            }
            t += nt;
        }
        for (int x = 0; x < n; x++)
            dst[x0 + x] = (float)(acc[x] * mp->scale / mp->divisor + mp->bias);
    }
}

/* The maps that take two passes make their whole band at once (done[m]),
 * one map after the other, so the rows a map reads stay in cache; a row
 * that came out infinite or NaN is made again by the double path. */
static void twopass_maps(const cnf_stage *s, const cnf_band *in, const cnf_band *out,
                         band_scratch *b, int y0, int y1)
{
    const conv_impl *c = s->impl;
    memset(b->zero, 0, (size_t)c->wp * sizeof(float));
    for (int m = 0; m < c->n_maps; m++) {
        const conv_map *mp = &c->maps[m];
        if (!mp->frac)
            continue;
        for (int y = y0; y < y1; y++) {
            float *dst = cnf__band_row(out, m, y);
            if (!twopass_row(s, mp, in, y, b->vt, b->zero, dst))
                double_row(s, mp, in, b, y, dst);
        }
        b->done[m] = 1;
    }
}

/* The alpha plane of output row y: the input alpha under the kernel's
 * anchor (map 0's), never convolved; zero in a zero border. */
static void alpha_row(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y)
{
    const conv_impl *c = s->impl;
    const conv_map *mp = &c->maps[0];
    int ay = (mp->kh - 1) / 2, ow = s->out.w;
    int r = cnf__border_index(c->border, y * c->sy + ay * c->d - mp->pt, s->in.h);
    float *dst = cnf__band_row(out, c->n_maps, y);
    if (r < 0) {
        memset(dst, 0, (size_t)ow * sizeof(float));
    } else {
        const float *src = cnf__band_row(in, s->in.c - 1, r);
        for (int x = 0; x < ow; x++)
            dst[x] = c->alpha_cols[x] < 0 ? 0.0f : src[c->alpha_cols[x]];
    }
}

/* Rows [y0, y1): each map by running sums, the fast path or double sums,
 * as its weights and the band's values allow (see the top of the file). */
static void conv_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0, int y1,
                     void *scratch)
{
    const conv_impl *c = s->impl;
    int ow = s->out.w;
    band_scratch b;

    band_layout(c, y0, y1 - y0, ow, scratch, &b);
    memset(b.built, 0, b.nslots);
    if (c->fast) {
        fast_check(s, in, &b);
        running_maps(c, &b, out, y0, y1, ow);
    }
    if (c->twopass) {
        if (!c->fast)
            memset(b.done, 0, (size_t)c->n_maps);
        twopass_maps(s, in, out, &b, y0, y1);
    }
    for (int y = y0; y < y1; y++) {
        for (int m = 0; m < c->n_maps; m++) {
            const conv_map *mp = &c->maps[m];
            float *dst = cnf__band_row(out, m, y);
            if (b.done && b.done[m])
                continue;
            if (!b.fbad && mp->exact && mp->wabs * b.fmax < EXACT_F32)
                fast_row(c, mp, b.fpad, b.fbuilt, y, b.vbase, b.tmp, b.facc, b.wa, b.wb, dst,
                         ow);
            else
                double_row(s, mp, in, &b, y, dst);
        }
        if (c->alpha_out)
            alpha_row(s, in, out, y);
    }
}

static void conv_explain(const cnf_stage *s, FILE *f)
{
    const conv_impl *c = s->impl;
    const conv_map *m0 = &c->maps[0];
    int nk = c->groups;
    fprintf(f, "%d kernel%s", nk, nk == 1 ? "" : "s");
    for (int g = 0; g < nk; g++) {
        const conv_map *mp = &c->maps[c->per_channel ? g * (c->n_maps / nk) : g];
        if (mp->is3d)
            fprintf(f, "%s%s %dx%dx%d", g ? ", " : " (", mp->name[0] ? mp->name : "inline",
                    mp->in_count, mp->kh, mp->kw);
        else
            fprintf(f, "%s%s %dx%d", g ? ", " : " (", mp->name[0] ? mp->name : "inline", mp->kh,
                    mp->kw);
    }
    fprintf(f, "), %s, stride %d,%d, dilation %d, border %s\n",
            c->per_channel ? "each channel separately" : "channels summed", c->sy, c->sx, c->d,
            cnf_vocab_word(CNF_VOCAB_BORDER, (int)c->border));
    for (int axis = 0; axis < 2; axis++) {
        /* Maps of a bank share their output size; show map 0's arithmetic. */
        int n = axis ? s->in.w : s->in.h, k = axis ? m0->kw : m0->kh;
        int pb = axis ? m0->pl : m0->pt, pa = axis ? m0->pr : m0->pb;
        int st = axis ? c->sx : c->sy, o = axis ? s->out.w : s->out.h;
        int ext = c->d * (k - 1) + 1;
        fprintf(f, "    %s floor((%d + %d + %d - %d) / %d) + 1 = %d", axis ? "width: " : "height:",
                n, pb, pa, ext, st, o);
        if (c->padding == CNF_PAD_SAME)
            fprintf(f, "   (same: padding %d = %d before + %d after)", pb + pa, pb, pa);
        fputc('\n', f);
    }
}

/* Append printf-style text to b (pieces are short: a kernel name and a few words). */
static void put_text(cnf_buf *b, const char *fmt, ...) CNF_PRINTF(2, 3);
static void put_text(cnf_buf *b, const char *fmt, ...)
{
    char piece[400];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(piece, sizeof piece, fmt, ap);
    va_end(ap);
    if (n > 0)
        cnf__buf_put(b, piece, (size_t)n < sizeof piece ? (size_t)n : sizeof piece - 1);
}

/* The path of each kernel (its first map; a kernel's maps are alike): the
 * fast path's loop shape when its weights allow it, else direct taps. */
static void conv_path(const cnf_stage *s, cnf_buf *b)
{
    const conv_impl *c = s->impl;
    int nk = c->groups;
    for (int g = 0; g < nk; g++) {
        const conv_map *mp = &c->maps[c->per_channel ? g * (c->n_maps / nk) : g];
        size_t taps = 0;
        for (int ci = 0; ci < mp->in_count; ci++)
            taps += (size_t)mp->tap_count[ci];
        if (nk > 1)
            put_text(b, "%s%s: ", g ? "; " : "", mp->name[0] ? mp->name : "inline");
        if (c->fast && mp->exact && mp->running && mp->hequal)
            put_text(b, "running sums (box %dx%d)", mp->kh, mp->kw);
        else if (c->fast && mp->exact && mp->running)
            put_text(b, "separable %dx1 as running sums then 1x%d", mp->kh, mp->kw);
        else if (c->fast && mp->exact && mp->sep && c->sx == 1)
            put_text(b, "separable %dx1 then 1x%d%s", mp->kh, mp->kw,
                     mp->hequal ? " as window sums" : "");
        else if (mp->frac)
            put_text(b, "separable %dx1 then 1x%d in float32 (fractional weights, two passes%s)",
                     mp->kh, mp->kw, mp->vsym && mp->hsym ? ", mirrored taps paired" : "");
        else
            put_text(b, "direct, %zu non-zero taps%s", taps,
                     (c->fast && !mp->exact) || (c->twopass && !c->fast) ? " in double" : "");
    }
    if (c->twopass && !c->fast)
        ; /* each kernel's words said it all */
    else if (c->fast)
        put_text(b, "; float32 sums of integers (exact) on bands of integer values, double "
                    "otherwise");
    else
        put_text(b, ", double accumulation%s",
                 c->n_maps && c->maps[0].exact ? " (--portable)" : "");
}

static void conv_destroy(cnf_stage *s)
{
    conv_impl *c = s->impl;
    if (!c)
        return;
    for (int m = 0; m < c->n_maps; m++) {
        free(c->maps[m].taps);
        free(c->maps[m].tap_count);
        free(c->maps[m].colf);
        free(c->maps[m].rowf);
    }
    free(c->maps);
    free(c->lmap);
    free(c->rmap);
    free(c->alpha_cols);
    free(c);
    s->impl = NULL;
}

static const cnf_stage_ops CONV_OPS = {.need = conv_need, .scratch = conv_scratch,
                                       .run = conv_run, .explain = conv_explain,
                                       .path = conv_path, .destroy = conv_destroy};

/* Build map `m` from kernel k reading input planes [first, first+count); a dry map counts its
 * taps (tap_count) without keeping them (taps NULL). */
static int fill_map(conv_map *mp, const cnf_kernel *k, int first, int count, int flip, int dry)
{
    size_t nt = 0;
    int plane_w = k->w * k->h;
    mp->kh = k->h;
    mp->kw = k->w;
    mp->in_first = first;
    mp->in_count = count;
    mp->divisor = k->divisor;
    mp->is3d = k->is3d;
    snprintf(mp->name, sizeof mp->name, "%s", k->name);
    mp->tap_count = calloc((size_t)count, sizeof(int));
    mp->taps = dry ? NULL : malloc(sizeof(tap) * (size_t)plane_w * (size_t)count + 1);
    if (!mp->tap_count || (!dry && !mp->taps))
        return 0;
    /* The fast path's conditions (see the top of the file), tap by tap. */
    mp->exact = 1;
    mp->wabs = 0;
    /* A 2-D kernel has the same taps on every plane it reads: made once, then copied.  wabs
     * only matters when exact, and then it is a sum of integers below 2^53 (each below 2^24,
     * at most 255 x 255 x CNF_MAX_PIPELINE_DEPTH of them), so count times one plane's sum is
     * the sum tap by tap. */
    for (int ci = 0; ci < (k->is3d ? count : 1); ci++) {
        const double *w = k->weights + (size_t)(k->is3d ? ci : 0) * plane_w;
        for (int i = 0; i < k->h; i++)
            for (int j = 0; j < k->w; j++) {
                int si = flip ? k->h - 1 - i : i, sj = flip ? k->w - 1 - j : j;
                double v = w[si * k->w + sj];
                if (v == 0)
                    continue;
                if (mp->taps) {
                    mp->taps[nt].i = i;
                    mp->taps[nt].j = j;
                    mp->taps[nt].w = v;
                }
                nt++;
                mp->tap_count[ci]++;
                if (fabs(v) >= EXACT_F32 || fabs(v) != floor(fabs(v)))
                    mp->exact = 0;
                mp->wabs += fabs(v);
            }
    }
    for (int ci = 1; !k->is3d && ci < count; ci++) {
        mp->tap_count[ci] = mp->tap_count[0];
        if (mp->taps)
            memcpy(mp->taps + (size_t)ci * (size_t)mp->tap_count[0], mp->taps,
                   (size_t)mp->tap_count[0] * sizeof *mp->taps);
    }
    if (!k->is3d)
        mp->wabs *= count;
    mp->sep = 0;
    if (mp->exact && !k->is3d && count == 1) {
        double *col = malloc(sizeof(double) * (size_t)k->h), *row = malloc(sizeof(double) * (size_t)k->w);
        int ok = col && row && cnf_kernel_separable(k, col, row);
        for (int i = 0; ok && i < k->h; i++)
            for (int j = 0; ok && j < k->w; j++)
                if (col[i] != floor(col[i]) || row[j] != floor(row[j]) ||
                    fabs(col[i]) >= EXACT_F32 || fabs(row[j]) >= EXACT_F32 ||
                    col[i] * row[j] != k->weights[i * k->w + j])
                    ok = 0;
        if (ok) {
            mp->colf = malloc(sizeof(float) * (size_t)k->h);
            mp->rowf = malloc(sizeof(float) * (size_t)k->w);
            ok = mp->colf && mp->rowf;
        }
        if (ok) {
            for (int i = 0; i < k->h; i++)
                mp->colf[i] = (float)col[flip ? k->h - 1 - i : i];
            for (int j = 0; j < k->w; j++)
                mp->rowf[j] = (float)row[flip ? k->w - 1 - j : j];
            mp->sep = 1;
        }
        free(col);
        free(row);
    }
    return 1;
}

/* How map mp's sums become output values (conv_map.out_mode). */
static int out_mode_of(const conv_map *mp)
{
    int e;
    double f = frexp(mp->divisor, &e);
    return mp->scale != 1 || mp->bias != 0                               ? 0
           : mp->divisor == 1                                            ? 1
           : f == 0.5 && e > -100 && e < 100                             ? 2
           : mp->divisor == floor(mp->divisor) && fabs(mp->divisor) < EXACT_F32 ? 3
                                                                         : 0;
}

/* The two-pass path's factors (conv_map.frac), when kernel k is 2-D, read
 * by map mp from one input plane, rank 1, and some weight is not a
 * multiple of 2^-24: integer kernels and dyadic ones (0.25, 3/1024), whose
 * double sums are exact on 8-bit data, keep their exact paths and results.  The column factors
 * are scaled to a largest |value| of 1, the row factors take the rest and
 * scale / divisor; factors float32 cannot hold (beyond its range, or
 * below its normal range) leave the map on the double path.  0: out of
 * memory. */
static int frac_setup(conv_map *mp, const cnf_kernel *k, int flip)
{
    size_t n = (size_t)k->w * (size_t)k->h;
    int nondyadic = 0, ok;
    double *col, *row, cmax = 0, f;
    for (size_t i = 0; i < n; i++) {
        double v = ldexp(k->weights[i], 24);
        if (v != floor(v))
            nondyadic = 1;
    }
    if (!nondyadic || k->is3d || mp->in_count != 1 || !cnf_kernel_separable(k, NULL, NULL))
        return 1;
    col = malloc(sizeof(double) * (size_t)k->h);
    row = malloc(sizeof(double) * (size_t)k->w);
    mp->colf = malloc(sizeof(float) * (size_t)k->h);
    mp->rowf = malloc(sizeof(float) * (size_t)k->w);
    if (!col || !row || !mp->colf || !mp->rowf) {
        free(col);
        free(row);
        return 0;
    }
    ok = cnf_kernel_separable(k, col, row);
    for (int i = 0; i < k->h; i++)
        cmax = fabs(col[i]) > cmax ? fabs(col[i]) : cmax;
    f = cmax * mp->scale / mp->divisor;
    for (int i = 0; ok && i < k->h; i++) {
        double v = col[flip ? k->h - 1 - i : i] / cmax;
        mp->colf[i] = (float)v;
        if (v != 0 && !(fabs(v) >= FLT_MIN))
            ok = 0;
    }
    for (int j = 0; ok && j < k->w; j++) {
        double v = row[flip ? k->w - 1 - j : j] * f;
        mp->rowf[j] = (float)v;
        if (v != 0 && !(fabs(v) >= FLT_MIN && fabs(v) <= FLT_MAX))
            ok = 0;
    }
    free(col);
    free(row);
    if (!ok) {
        free(mp->colf);
        free(mp->rowf);
        mp->colf = mp->rowf = NULL;
        return 1;
    }
    mp->vsym = mp->hsym = 1;
    for (int i = 0; i < k->h; i++)
        if (mp->colf[i] != mp->colf[k->h - 1 - i])
            mp->vsym = 0;
    for (int j = 0; j < k->w; j++)
        if (mp->rowf[j] != mp->rowf[k->w - 1 - j])
            mp->hsym = 0;
    mp->frac = 1;
    return 1;
}

/* The maps of kernel g: one per input colour plane (per_channel) or one
 * over all of them.  The maps of a bank must give one output size: *oh and
 * *ow hold it (-1 before the first map). */
static cnf_status kernel_maps(conv_impl *c, const cnf_shape *in, const cnf_layer *L,
                              const cnf_kernel *k, int g, int dry, long *oh, long *ow,
                              cnf_error *err)
{
    int colour = c->in_colour, per_channel = c->per_channel;
    if (k->is3d && per_channel)
        return cnf__fail_setting(err, CNF_E_USAGE, "channels",
                                 "kernel '%s' is 3-D (one plane per input channel) and needs "
                                 "channels 'sum'",
                                 k->name[0] ? k->name : "inline");
    if (k->is3d && k->depth != colour)
        return cnf__fail_setting(err, CNF_E_USAGE, "kernel",
                                 "kernel '%s' has depth %d but the input has %d channel%s",
                                 k->name[0] ? k->name : "inline", k->depth, colour,
                                 colour == 1 ? "" : "s");
    for (int ci = 0; ci < (per_channel ? colour : 1); ci++) {
        conv_map *mp = &c->maps[per_channel ? g * colour + ci : g];
        int first = per_channel ? ci : 0, count = per_channel ? 1 : colour;
        long h, w;
        if (!fill_map(mp, k, first, count, L->flip, dry))
            return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
        mp->scale = L->scale;
        mp->bias = k->bias + L->bias;
        mp->out_mode = out_mode_of(mp);
        if (!frac_setup(mp, k, L->flip))
            return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
        cnf__layer_padding(L, in->h, k->h, c->sy, c->d, 0, &mp->pt, &mp->pb);
        cnf__layer_padding(L, in->w, k->w, c->sx, c->d, 1, &mp->pl, &mp->pr);
        h = cnf__out_size(in->h, mp->pt, mp->pb, (long)c->d * (k->h - 1) + 1, c->sy);
        w = cnf__out_size(in->w, mp->pl, mp->pr, (long)c->d * (k->w - 1) + 1, c->sx);
        if (h < 1 || w < 1)
            return cnf__fail(err, CNF_E_EMPTY, NULL,
                             "kernel %dx%d (dilation %d) with this padding leaves no output "
                             "pixels for a %dx%d input",
                             k->h, k->w, c->d, in->w, in->h);
        if (*oh >= 0 && (h != *oh || w != *ow))
            return cnf__fail_setting(err, CNF_E_USAGE, "kernel",
                                     "the kernels of a bank give different output sizes (%ldx%ld "
                                     "and %ldx%ld); use 'same' padding or kernels of one size",
                                     *ow, *oh, w, h);
        *oh = h;
        *ow = w;
    }
    return CNF_OK;
}

/* The padded rows: how far left, right and up the taps reach past the
 * input, the source column of each pad cell (the border rule, decided
 * here once), and the source column of each output's alpha. */
static cnf_status padded_rows(conv_impl *c, const cnf_shape *in, long ow, cnf_error *err)
{
    c->plmax = 0;
    c->prmax = 0;
    c->ptmax = 0;
    for (int m = 0; m < c->n_maps; m++) {
        conv_map *mp = &c->maps[m];
        long right = (long)(ow - 1) * c->sx + (long)c->d * (mp->kw - 1) - mp->pl - (in->w - 1);
        if (mp->pl > c->plmax)
            c->plmax = mp->pl;
        if (right > c->prmax)
            c->prmax = (int)right;
        if (mp->pt > c->ptmax)
            c->ptmax = mp->pt;
    }
    c->vspan = 0;
    for (int m = 0; m < c->n_maps; m++) {
        conv_map *mp = &c->maps[m];
        int span = c->d * (mp->kh - 1) + 1 + (c->ptmax - mp->pt);
        if (span > c->vspan)
            c->vspan = span;
    }
    c->wp = in->w + c->plmax + c->prmax;
    c->lmap = malloc(sizeof(int) * (size_t)(c->plmax + 1));
    c->rmap = malloc(sizeof(int) * (size_t)(c->prmax + 1));
    if (!c->lmap || !c->rmap)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    for (int k = 0; k < c->plmax; k++)
        c->lmap[k] = cnf__border_index(c->border, k - c->plmax, in->w);
    for (int k = 0; k < c->prmax; k++)
        c->rmap[k] = cnf__border_index(c->border, in->w + k, in->w);
    if (c->alpha_out) {
        const conv_map *mp = &c->maps[0];
        int ax = (mp->kw - 1) / 2;
        c->alpha_cols = malloc(sizeof(int) * (size_t)ow);
        if (!c->alpha_cols)
            return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
        for (long x = 0; x < ow; x++)
            c->alpha_cols[x] =
                cnf__border_index(c->border, (int)(x * c->sx + (long)ax * c->d - mp->pl), in->w);
    }
    return CNF_OK;
}

/* Which maps take the fast path, and which of its loop shapes. */
static void choose_fast_paths(conv_impl *c)
{
    for (int m = 0; m < c->n_maps; m++) {
        conv_map *mp = &c->maps[m];
        if (mp->exact)
            c->fast = 1;
        mp->running = mp->sep && c->sy == 1 && c->sx == 1 && c->d == 1 && mp->kh > 3;
        for (int i = 1; mp->running && i < mp->kh; i++)
            if (mp->colf[i] != mp->colf[0])
                mp->running = 0;
        /* a window of 3 or fewer is as quick tap by tap */
        mp->hequal = mp->sep && c->sx == 1 && mp->kw > 3 && mp->rowf[0] != 0;
        for (int j = 1; mp->hequal && j < mp->kw; j++)
            if (mp->rowf[j] != mp->rowf[0])
                mp->hequal = 0;
    }
}

cnf_status cnf__conv_stage(cnf_stage *s, const cnf_shape *in, const cnf_layer *L,
                           const cnf_kernel *const *kernels, int n_kernels, int per_channel,
                           int keep_alpha, int portable, int dry, cnf_error *err)
{
    conv_impl *c;
    int colour = in->c - in->alpha;
    long oh = -1, ow = -1;
    cnf_status st = CNF_OK;

    memset(s, 0, sizeof *s);
    s->ops = &CONV_OPS;
    snprintf(s->kind, sizeof s->kind, "conv");
    s->in = *in;
    c = calloc(1, sizeof *c);
    if (!c)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    s->impl = c;
    c->sy = L->stride_y;
    c->sx = L->stride_x;
    c->d = L->dilation;
    c->border = L->border;
    c->padding = L->padding;
    c->in_colour = colour;
    c->per_channel = per_channel;
    c->groups = n_kernels;
    c->n_maps = per_channel ? n_kernels * colour : n_kernels;
    c->maps = calloc((size_t)c->n_maps, sizeof(conv_map));
    if (!c->maps) {
        st = cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
        goto fail;
    }
    for (int g = 0; g < n_kernels && st == CNF_OK; g++)
        st = kernel_maps(c, in, L, kernels[g], g, dry, &oh, &ow, err);
    if (st)
        goto fail;
    if (oh > INT32_MAX || ow > INT32_MAX) {
        st = cnf__fail(err, CNF_E_TOO_BIG, NULL, "output too large");
        goto fail;
    }
    s->out.h = (int)oh;
    s->out.w = (int)ow;
    c->alpha_in = in->alpha;
    c->alpha_out = in->alpha && keep_alpha;
    s->out.alpha = c->alpha_out;
    s->out.c = c->n_maps + c->alpha_out;
    st = padded_rows(c, in, ow, err);
    if (st)
        goto fail;
    if (!portable)
        choose_fast_paths(c);
    for (int m = 0; m < c->n_maps; m++) {
        if (portable)
            c->maps[m].frac = 0; /* --portable: the double path (colf, rowf stay for destroy) */
        if (c->maps[m].frac)
            c->twopass = 1;
    }
    for (int g = 0; g < n_kernels; g++)
        s->weights += (uint64_t)kernels[g]->w * kernels[g]->h *
                      (uint64_t)(kernels[g]->is3d ? kernels[g]->depth : 1);
    /* work: per output value, kh + kw for a separable map, else its taps */
    for (int m = 0; m < c->n_maps; m++) {
        const conv_map *mp = &c->maps[m];
        uint64_t per = 0;
        if ((mp->sep || mp->frac) && !portable) {
            per = (uint64_t)mp->kh + (uint64_t)mp->kw;
        } else {
            for (int ci = 0; ci < mp->in_count; ci++)
                per += (uint64_t)mp->tap_count[ci];
        }
        s->work += (per ? per : 1) * (uint64_t)oh * (uint64_t)ow;
    }
    s->biases = (uint64_t)n_kernels;
    return CNF_OK;
fail:
    conv_destroy(s);
    return st;
}
