/* learn.c - cnf_learn_kernel: the kernel (and bias) that best maps an input to a target, by linear least squares.
 *
 * Every output value of conv(in, w) + b is a linear function of the taps
 * and the bias: out(c, y, x) = sum over taps of w(q, i, j) * in(q, y*SY +
 * i*D - PT, x*SX + j*D - PL) + b, with the padding and border rules of the
 * filter.  So each fitted target value gives one row of a design matrix A
 * (the input values under the kernel's window, and 1 for the bias) and we
 * want the w minimising |A w - t|^2.  We never hold A: its rows are made a
 * block at a time and folded into the Gram matrix [A t]^T [A t] in double
 * (linalg.c), which gives the normal equations A^T A w = A^T t at a cost of
 * (unknowns)^2 / 2 per value and (unknowns + 1)^2 doubles of memory.
 *
 * The rule that refuses an undetermined kernel (cnnfilter(1), learn): the
 * columns are scaled to unit length (so the rule does not depend on the
 * units of the data, and the bias column counts like a tap), and the
 * system is refused when the 1-norm condition number of the scaled normal
 * matrix is over COND_LIMIT, estimated from its Cholesky factor as LAPACK's
 * dpocon does, or when a pivot of that factor is below 1/COND_LIMIT (which
 * by itself means a condition number over the limit: the pivot bounds the
 * smallest eigenvalue from above, the unit diagonal the largest from below).
 * Why 1e10: a Cholesky solve in double has a relative error of about
 * condition x 1.1e-16, so below the limit the kernel is the exact
 * least-squares answer to about six digits, finer than float32 weights are
 * applied with; beyond it rounding could decide the weights, i.e. the
 * kernel would be wrong.  A flat image, or an image whose windows are all
 * combinations of fewer patterns than there are unknowns, is exactly
 * singular and always refused. */
#include "layer.h"
#include "linalg.h"
#include "stage.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The most unknowns (taps x depth + bias): the Gram matrix is then 128 MiB
 * and its factorisation about 2e10 operations (seconds).  A 31x31 kernel
 * over 3 channels (channels sum on RGB) is 2884. */
#define LEARN_MAX_UNKNOWNS 4096
/* The condition number over which a system is refused (see the top). */
#define COND_LIMIT 1e10
/* Design rows made per Gram update: enough that the Gram matrix (which
 * cnf__gram_add reads and writes once per call) is passed over rarely,
 * few enough that a panel of the rows stays in the L2 cache (linalg.c). */
#define BLOCK_ROWS 128

typedef struct problem {
    int kh, kw, d, sy, sx, pt, pl, oh, ow, W, H;
    int *rowsrc, *colsrc;   /* virtual row / column of the padded input -> source, -1 zero */
    const float *const *in; /* the input planes as convolved (luma for gray on RGB) */
    int per_row;            /* planes one output value reads: the input's for sum, else 1 */
    int per_channel;        /* auto: output channel c reads input plane c */
    int n_out;              /* output channels fitted */
    const float *const *tg; /* the target planes */
    int tg_luma;            /* the target value is the luma of its 3 planes */
    int skip_clipped;       /* leave out target values 0 and 255 */
    int bias;
    int n;                  /* unknowns */
    size_t ld;              /* doubles per design row: n + 1 (the target) rounded up */
} problem;

/* Where the next block of rows starts: output channel, row, column. */
typedef struct cursor {
    int c, y, x;
    uint64_t left_out;
} cursor;

static int is_clipped(const problem *p, int c, size_t at)
{
    int planes = p->tg_luma ? 3 : 1;
    for (int q = 0; q < planes; q++) {
        float v = p->tg[p->tg_luma ? q : c][at];
        if (v == 0.0f || v == 255.0f)
            return 1;
    }
    return 0;
}

static double target_value(const problem *p, int c, size_t at)
{
    if (p->tg_luma)
        return 0.299 * p->tg[0][at] + 0.587 * p->tg[1][at] + 0.114 * p->tg[2][at];
    return p->tg[c][at];
}

/* One design row: the values under the window of output (c, y, x), plane
 * by plane, row by row; then 1 for the bias; then the target value. */
static void fill_row(const problem *p, int c, int y, int x, double *row)
{
    int col = 0;
    for (int q = 0; q < p->per_row; q++) {
        const float *plane = p->in[p->per_row > 1 ? q : p->per_channel ? c : 0];
        for (int i = 0; i < p->kh; i++) {
            int sr = p->rowsrc[(size_t)y * p->sy + (size_t)i * p->d];
            const float *src = sr < 0 ? NULL : plane + (size_t)sr * p->W;
            const int *cs = p->colsrc + (size_t)x * p->sx;
            for (int j = 0; j < p->kw; j++) {
                int sc = cs[(size_t)j * p->d];
                row[col++] = src && sc >= 0 ? src[sc] : 0.0;
            }
        }
    }
    if (p->bias)
        row[col++] = 1.0;
    row[col] = target_value(p, c, (size_t)y * p->ow + x);
}

/* Up to BLOCK_ROWS rows of the values fitted, from the cursor on, into b;
 * returns how many (0 at the end), counting the values left out. */
static int next_block(const problem *p, cursor *cur, double *b)
{
    int rows = 0;
    while (rows < BLOCK_ROWS && cur->c < p->n_out) {
        size_t at = (size_t)cur->y * p->ow + cur->x;
        if (p->skip_clipped && is_clipped(p, cur->c, at))
            cur->left_out++;
        else
            fill_row(p, cur->c, cur->y, cur->x, b + (size_t)rows++ * p->ld);
        if (++cur->x == p->ow) {
            cur->x = 0;
            if (++cur->y == p->oh) {
                cur->y = 0;
                cur->c++;
            }
        }
    }
    return rows;
}

/* The refusal every undetermined system gets (the contract of cnf_learn_kernel):
 * `why` says what was found. */
static cnf_status too_little(cnf_error *err, const char *name, uint64_t left_out,
                             const char *why)
{
    char clip[120] = "";
    if (left_out)
        snprintf(clip, sizeof clip, ", after leaving out %llu target values of 0 or 255",
                 (unsigned long long)left_out);
    return cnf__fail(err, CNF_E_DECODE, name,
                     "the input has too little variation to determine the kernel (%s%s)", why,
                     clip);
}

/* Scale the columns of the normal equations in g (n unknowns, the right
 * side in column n) to unit diagonal, factor, estimate the condition and
 * solve; w gets the unknowns.  `work` has 4 n doubles. */
static cnf_status solve(const problem *p, double *g, double *w, double *work, uint64_t left_out,
                        double *condition, const char *name, cnf_error *err)
{
    size_t ld = p->ld;
    int n = p->n;
    double *s = work + 3 * (size_t)n, norm;
    char why[120];
    *condition = HUGE_VAL;
    for (int i = 0; i < n; i++) {
        double gii = g[(size_t)i * ld + i];
        if (!(gii > 0))
            return too_little(err, name, left_out, "a tap that only ever sees zeros");
        s[i] = 1.0 / sqrt(gii);
    }
    for (int i = 0; i < n; i++) {
        w[i] = g[(size_t)i * ld + n] * s[i];
        for (int j = i; j < n; j++)
            g[(size_t)i * ld + j] *= s[i] * s[j];
    }
    norm = cnf__sym_norm1(g, ld, n);
    if (cnf__cholesky(g, ld, n, 1.0 / COND_LIMIT) >= 0)
        return too_little(err, name, left_out,
                          "the system is singular or nearly so: condition number over 1e10");
    *condition = norm * cnf__cholesky_inv_norm1(g, ld, n, work);
    if (!(*condition <= COND_LIMIT)) {
        snprintf(why, sizeof why, "condition number %.2g, over the limit of 1e10", *condition);
        return too_little(err, name, left_out, why);
    }
    cnf__cholesky_solve(g, ld, n, w);
    for (int i = 0; i < n; i++)
        w[i] *= s[i];
    return CNF_OK;
}

/* The settings that are wrong whatever the images. */
static cnf_status check_options(const cnf_learn_options *o, cnf_error *err)
{
    cnf_layer L = o->geometry;
    int per_channel;
    cnf_status st;
    if (o->kh < 1 || o->kw < 1)
        return cnf__fail_setting(err, CNF_E_USAGE, "size", "a kernel has at least one tap");
    if (o->kh > CNF_MAX_KERNEL_SIDE || o->kw > CNF_MAX_KERNEL_SIDE) {
        st = cnf__fail_setting(err, CNF_E_LIMIT, "size",
                               "a %dx%d kernel is over the limit of %d per side", o->kh, o->kw,
                               CNF_MAX_KERNEL_SIDE);
        if (err)
            err->limit = CNF_LIMIT_KERNEL;
        return st;
    }
    L.kernels = NULL; /* the geometry only */
    L.n_kernels = 0;
    st = cnf__layer_check(&L, &per_channel, err);
    if (st)
        return st;
    if (L.channels == CNF_CH_RGB)
        return cnf__fail_setting(err, CNF_E_USAGE, "channels",
                                 "learning takes 'auto', 'gray' or 'sum', not 'rgb' (which "
                                 "'auto' already is for an RGB input)");
    return CNF_OK;
}

static const char *plural(int n) { return n == 1 ? "" : "s"; }

/* 1 when every value of the first `planes` planes of img is finite. */
static int all_finite(const cnf_image *img, int planes)
{
    size_t n = (size_t)img->width * img->height * planes;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(img->data[i]))
            return 0;
    return 1;
}

/* Which planes the fit reads, by the channel rule (cnnfilter(1), learn):
 * in[] and tg[] get the planes (and *luma the luma plane it makes for gray
 * on an RGB input, freed by the caller). */
static cnf_status setup_channels(problem *p, const cnf_image *in, const cnf_image *tg,
                                 const cnf_learn_options *o, const float **inp,
                                 const float **tgp, float **luma, cnf_error *err)
{
    int cin = in->channels - in->has_alpha, ct = tg->channels - tg->has_alpha;
    cnf_channels ch = o->geometry.channels;
    if (cin < 1 || cin > CNF_MAX_CHANNELS || ct < 1 || ct > CNF_MAX_CHANNELS)
        return cnf__fail(err, CNF_E_DECODE, cin < 1 || cin > CNF_MAX_CHANNELS ? o->input_name
                         : o->target_name, "has %d colour channels: 1 to %d can be learned from",
                         cin < 1 || cin > CNF_MAX_CHANNELS ? cin : ct, CNF_MAX_CHANNELS);
    if (!all_finite(in, cin))
        return cnf__fail(err, CNF_E_DECODE, o->input_name, "has a value that is not finite");
    if (!all_finite(tg, ct))
        return cnf__fail(err, CNF_E_DECODE, o->target_name, "has a value that is not finite");
    for (int c = 0; c < cin; c++)
        inp[c] = cnf_image_plane(in, c);
    for (int c = 0; c < ct; c++)
        tgp[c] = cnf_image_plane(tg, c);
    p->in = inp;
    p->tg = tgp;
    p->per_row = 1;
    p->n_out = 1;
    if (ch == CNF_CH_GRAY) {
        size_t np = (size_t)in->width * in->height;
        if (cin != 1 && cin != 3)
            return cnf__fail_setting(err, CNF_E_USAGE, "channels",
                                     "'gray' needs a gray or RGB input, this one has %d channels",
                                     cin);
        if (ct != 1 && ct != 3)
            return cnf__fail(err, CNF_E_DECODE, o->target_name,
                             "has %d channels: 'gray' needs a gray or RGB target", ct);
        p->tg_luma = ct == 3;
        if (cin == 3) {
            /* The filter's luma stage, value for value (pointwise.c). */
            if (!(*luma = malloc(np * sizeof(float))))
                return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
            for (size_t i = 0; i < np; i++)
                (*luma)[i] = (float)(0.299 * inp[0][i] + 0.587 * inp[1][i] + 0.114 * inp[2][i]);
            inp[0] = *luma;
        }
    } else if (ch == CNF_CH_SUM) {
        if (ct != 1)
            return cnf__fail(err, CNF_E_DECODE, o->target_name,
                             "has %d channels: with channels 'sum' the target has one (the "
                             "input's channels convolved and summed)",
                             ct);
        p->per_row = cin;
    } else {
        if (ct != cin)
            return cnf__fail(err, CNF_E_DECODE, o->target_name,
                             "has %d channel%s but the input has %d: with channels 'auto' each "
                             "channel is fitted against its own (channels 'gray' fits luma, "
                             "'sum' a 3-D kernel)",
                             ct, plural(ct), cin);
        p->per_channel = 1;
        p->n_out = cin;
    }
    return CNF_OK;
}

/* Padding, output size (checked against the target's), and the source of
 * every row and column of the padded input, by the border rule. */
static cnf_status setup_geometry(problem *p, const cnf_learn_options *o, const cnf_image *in,
                                 const cnf_image *tg, cnf_error *err)
{
    const cnf_layer *L = &o->geometry;
    int pb, pr;
    long oh, ow, nv, nu;
    p->kh = o->kh;
    p->kw = o->kw;
    p->d = L->dilation;
    p->sy = L->stride_y;
    p->sx = L->stride_x;
    p->W = in->width;
    p->H = in->height;
    cnf__layer_padding(L, p->H, p->kh, p->sy, p->d, 0, &p->pt, &pb);
    cnf__layer_padding(L, p->W, p->kw, p->sx, p->d, 1, &p->pl, &pr);
    oh = cnf__out_size(p->H, p->pt, pb, (long)p->d * (p->kh - 1) + 1, p->sy);
    ow = cnf__out_size(p->W, p->pl, pr, (long)p->d * (p->kw - 1) + 1, p->sx);
    if (oh < 1 || ow < 1)
        return cnf__fail(err, CNF_E_EMPTY, o->input_name,
                         "kernel %dx%d (dilation %d) with this padding leaves no output pixels "
                         "for a %dx%d input",
                         p->kh, p->kw, p->d, p->W, p->H);
    if (tg->width != ow || tg->height != oh)
        return cnf__fail(err, CNF_E_DECODE, o->target_name,
                         "is %dx%d pixels, but a %dx%d kernel with this padding, stride and "
                         "dilation makes %ldx%ld from the %dx%d input",
                         tg->width, tg->height, p->kh, p->kw, ow, oh, p->W, p->H);
    p->oh = (int)oh;
    p->ow = (int)ow;
    /* Within the padded input: at most the input plus its padding. */
    nv = (oh - 1) * p->sy + (long)p->d * (p->kh - 1) + 1;
    nu = (ow - 1) * p->sx + (long)p->d * (p->kw - 1) + 1;
    p->rowsrc = malloc((size_t)nv * sizeof(int));
    p->colsrc = malloc((size_t)nu * sizeof(int));
    if (!p->rowsrc || !p->colsrc)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    for (long v = 0; v < nv; v++)
        p->rowsrc[v] = cnf__border_index(L->border, (int)(v - p->pt), p->H);
    for (long u = 0; u < nu; u++)
        p->colsrc[u] = cnf__border_index(L->border, (int)(u - p->pl), p->W);
    return CNF_OK;
}

/* The residuals of the fitted values: RMS and largest magnitude. */
static void residuals(const problem *p, const double *w, double *b, cnf_learn_stats *s)
{
    cursor cur;
    double sse = 0, mx = 0;
    int rows;
    memset(&cur, 0, sizeof cur);
    while ((rows = next_block(p, &cur, b)) > 0) {
        for (int r = 0; r < rows; r++) {
            const double *row = b + (size_t)r * p->ld;
            double pred = 0, res;
            for (int c = 0; c < p->n; c++)
                pred += row[c] * w[c];
            res = pred - row[p->n];
            sse += res * res;
            if (fabs(res) > mx)
                mx = fabs(res);
        }
    }
    s->rms = s->used ? sqrt(sse / (double)s->used) : 0;
    s->max_residual = mx;
}

static cnf_status make_kernel(const problem *p, int is3d, const double *w, cnf_kernel **k_ret,
                              cnf_error *err)
{
    cnf_kernel *k = cnf__kernel_new(p->kw, p->kh, p->per_row);
    if (!k)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    memcpy(k->weights, w, (size_t)p->per_row * p->kh * p->kw * sizeof(double));
    k->is3d = is3d;
    k->bias = p->bias ? w[p->n - 1] : 0;
    snprintf(k->name, sizeof k->name, "learned");
    *k_ret = k;
    return CNF_OK;
}

/* Fold every fitted value's row into g; counts into s. */
static void accumulate(const problem *p, double *g, double *b, cnf_learn_stats *s)
{
    cursor cur;
    int rows;
    memset(&cur, 0, sizeof cur);
    while ((rows = next_block(p, &cur, b)) > 0) {
        cnf__gram_add(g, p->ld, (size_t)p->n + 1, b, rows);
        s->used += (uint64_t)rows;
    }
    s->left_out = cur.left_out;
}

/* Too few values for the unknowns: about the target when leaving out its
 * clipped values made them too few, else about the input. */
static cnf_status too_few(const problem *p, const cnf_learn_options *o, const cnf_learn_stats *s,
                          cnf_error *err)
{
    char why[160];
    if (s->left_out && s->used + s->left_out >= (uint64_t)p->n)
        return cnf__fail(err, CNF_E_DECODE, o->target_name,
                         "too few values to determine the kernel: %llu of %llu are 0 or 255 "
                         "(possibly clipped, so left out), leaving %llu for %d unknowns",
                         (unsigned long long)s->left_out,
                         (unsigned long long)(s->used + s->left_out),
                         (unsigned long long)s->used, p->n);
    snprintf(why, sizeof why, "%llu output values for %d unknowns", (unsigned long long)s->used,
             p->n);
    return too_little(err, o->input_name, s->left_out, why);
}

cnf_status cnf_learn_kernel(const cnf_image *in, const cnf_image *target,
                            const cnf_learn_options *o, cnf_kernel **k_ret,
                            cnf_learn_stats *stats, cnf_error *err)
{
    problem p;
    cnf_learn_stats s;
    const float *inp[CNF_MAX_CHANNELS], *tgp[CNF_MAX_CHANNELS];
    float *luma = NULL;
    double *g = NULL, *b = NULL, *w = NULL;
    cnf_status st;
    memset(&p, 0, sizeof p);
    memset(&s, 0, sizeof s);
    s.condition = HUGE_VAL;
    *k_ret = NULL;
    if ((st = check_options(o, err)) != CNF_OK ||
        (st = setup_channels(&p, in, target, o, inp, tgp, &luma, err)) != CNF_OK)
        goto out;
    p.bias = o->bias ? 1 : 0;
    p.n = p.per_row * o->kh * o->kw + p.bias;
    if (p.n > LEARN_MAX_UNKNOWNS) {
        st = cnf__fail_setting(err, CNF_E_LIMIT, "size",
                               "a %dx%d kernel over %d channel%s has %d unknowns, over the limit "
                               "of %d",
                               o->kh, o->kw, p.per_row, plural(p.per_row), p.n,
                               LEARN_MAX_UNKNOWNS);
        if (err)
            err->limit = CNF_LIMIT_KERNEL;
        goto out;
    }
    if ((st = setup_geometry(&p, o, in, target, err)) != CNF_OK)
        goto out;
    p.skip_clipped = o->target_8bit && !o->keep_clipped;
    p.ld = cnf__gram_round((size_t)p.n + 1);
    g = calloc(p.ld * p.ld, sizeof *g);
    b = calloc(p.ld * BLOCK_ROWS, sizeof *b);
    w = malloc(5 * (size_t)p.n * sizeof *w);
    if (!g || !b || !w) {
        st = cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory for %d unknowns", p.n);
        goto out;
    }
    accumulate(&p, g, b, &s);
    if (s.used < (uint64_t)p.n) {
        st = too_few(&p, o, &s, err);
        goto out;
    }
    st = solve(&p, g, w, w + p.n, s.left_out, &s.condition, o->input_name, err);
    if (st)
        goto out;
    residuals(&p, w, b, &s);
    st = make_kernel(&p, o->geometry.channels == CNF_CH_SUM, w, k_ret, err);
out:
    if (stats)
        *stats = s;
    free(p.rowsrc);
    free(p.colsrc);
    free(luma);
    free(g);
    free(b);
    free(w);
    return st;
}
