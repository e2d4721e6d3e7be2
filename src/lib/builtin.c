/* builtin.c - the built-in kernels: one table row per kernel, its size rule and constructor. */
#include "builtin.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What may follow the name: nothing, ":N", or ":N" and ":SIGMA" (N may be empty then). */
typedef enum { SZ_NONE, SZ_N, SZ_N_SIGMA } size_rule;

/* The shape asked for: n x n, and a sigma when has_sigma. */
typedef struct size_req {
    int n;
    double sigma;
    int has_sigma;
} size_req;

struct builtin;
/* Fills the zeroed n x n weights w (3 x 3 for a fixed kernel) and may set *divisor. */
typedef void (*fill_fn)(const struct builtin *b, const size_req *r, double *w, double *divisor);

typedef struct builtin {
    cnf_builtin_info info;
    size_rule rule;
    int default_n;
    const signed char *w3; /* fixed 3x3 weights, row-major, or NULL */
    fill_fn fill;          /* NULL: a composite (the magnitude of a _v/_h pair) */
} builtin;

static void fill_fixed(const builtin *b, const size_req *r, double *w, double *divisor)
{
    (void)r;
    (void)divisor;
    for (int i = 0; i < 9; i++)
        w[i] = b->w3[i];
}

static void fill_box(const builtin *b, const size_req *r, double *w, double *divisor)
{
    (void)b;
    for (int i = 0; i < r->n * r->n; i++)
        w[i] = 1;
    *divisor = (double)r->n * r->n;
}

static void fill_gaussian(const builtin *b, const size_req *r, double *w, double *divisor)
{
    int n = r->n;
    (void)b;
    if (!r->has_sigma) {
        /* Binomial row n: C(n-1, j).  C(254, 127) is ~1e75, far beyond 2^53, so large sizes
         * lose exactness; the divisor 4^(n-1) stays exact (a power of two). */
        double row[CNF_MAX_KERNEL_SIDE];
        row[0] = 1;
        for (int j = 1; j < n; j++)
            row[j] = row[j - 1] * (double)(n - j) / (double)j;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                w[i * n + j] = row[i] * row[j];
        *divisor = ldexp(1.0, 2 * (n - 1));
    } else {
        double c = (n - 1) / 2.0, sum = 0, s2 = 2 * r->sigma * r->sigma;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double y = i - c, x = j - c;
                w[i * n + j] = exp(-(x * x + y * y) / s2);
                sum += w[i * n + j];
            }
        for (int i = 0; i < n * n; i++)
            w[i] /= sum;
    }
}

static void fill_line_v(const builtin *b, const size_req *r, double *w, double *divisor)
{
    (void)b;
    for (int i = 0; i < r->n; i++)
        w[i * r->n + r->n / 2] = 1;
    *divisor = r->n;
}

static void fill_line_h(const builtin *b, const size_req *r, double *w, double *divisor)
{
    (void)b;
    for (int j = 0; j < r->n; j++)
        w[(r->n / 2) * r->n + j] = 1;
    *divisor = r->n;
}

static void fill_line_diag(const builtin *b, const size_req *r, double *w, double *divisor)
{
    (void)b;
    for (int i = 0; i < r->n; i++)
        w[i * r->n + i] = 1;
    *divisor = r->n;
}

static void fill_line_anti(const builtin *b, const size_req *r, double *w, double *divisor)
{
    (void)b;
    for (int i = 0; i < r->n; i++)
        w[i * r->n + (r->n - 1 - i)] = 1;
    *divisor = r->n;
}

static void fill_frame(const builtin *b, const size_req *r, double *w, double *divisor)
{
    int n = r->n, count = 0;
    (void)b;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i == 0 || j == 0 || i == n - 1 || j == n - 1) {
                w[i * n + j] = 1;
                count++;
            }
    *divisor = count;
}

static const signed char W_IDENTITY[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
static const signed char W_SOBEL_V[9] = {-1, 0, 1, -2, 0, 2, -1, 0, 1};
static const signed char W_SOBEL_H[9] = {-1, -2, -1, 0, 0, 0, 1, 2, 1};
static const signed char W_PREWITT_V[9] = {-1, 0, 1, -1, 0, 1, -1, 0, 1};
static const signed char W_PREWITT_H[9] = {-1, -1, -1, 0, 0, 0, 1, 1, 1};
static const signed char W_SCHARR_V[9] = {-3, 0, 3, -10, 0, 10, -3, 0, 3};
static const signed char W_SCHARR_H[9] = {-3, -10, -3, 0, 0, 0, 3, 10, 3};
static const signed char W_EDGE_V[9] = {1, 0, -1, 1, 0, -1, 1, 0, -1};
static const signed char W_EDGE_H[9] = {1, 1, 1, 0, 0, 0, -1, -1, -1};
static const signed char W_LAPLACIAN[9] = {0, 1, 0, 1, -4, 1, 0, 1, 0};
static const signed char W_LAPLACIAN8[9] = {1, 1, 1, 1, -8, 1, 1, 1, 1};
static const signed char W_SHARPEN[9] = {0, -1, 0, -1, 5, -1, 0, -1, 0};
static const signed char W_EMBOSS[9] = {-2, -1, 0, -1, 1, 1, 0, 1, 2};

#define FIXED(name, description, w) {{name, name, description}, SZ_NONE, 3, w, fill_fixed}
#define COMPOSITE(name, description) {{name, name, description}, SZ_NONE, 3, NULL, NULL}

/* The table is the single source for `cnnfilter kernels`, spec parsing and the kernels/ files
 * test.  Names and weights are a contract (cnnfilter(1), KERNELS). */
static const builtin BUILTINS[] = {
    FIXED("identity", "3x3, 1 in the centre: output = input", W_IDENTITY),
    FIXED("sobel_v", "Sobel, vertical edges (x derivative)", W_SOBEL_V),
    FIXED("sobel_h", "Sobel, horizontal edges (y derivative)", W_SOBEL_H),
    COMPOSITE("sobel", "Sobel gradient magnitude: sqrt(sobel_v^2 + sobel_h^2)"),
    FIXED("prewitt_v", "Prewitt, vertical edges", W_PREWITT_V),
    FIXED("prewitt_h", "Prewitt, horizontal edges", W_PREWITT_H),
    COMPOSITE("prewitt", "Prewitt gradient magnitude"),
    FIXED("scharr_v", "Scharr, vertical edges", W_SCHARR_V),
    FIXED("scharr_h", "Scharr, horizontal edges", W_SCHARR_H),
    COMPOSITE("scharr", "Scharr gradient magnitude"),
    FIXED("edge_v", "vertical edge filter", W_EDGE_V),
    FIXED("edge_h", "horizontal edge filter", W_EDGE_H),
    FIXED("laplacian", "Laplacian, 4-neighbour", W_LAPLACIAN),
    FIXED("laplacian8", "Laplacian, 8-neighbour", W_LAPLACIAN8),
    FIXED("sharpen", "sharpen: 5 in the centre, -1 on the 4 neighbours", W_SHARPEN),
    FIXED("emboss", "emboss, light from the top left", W_EMBOSS),
    {{"box", "box[:N]", "NxN mean (N = 3)"}, SZ_N, 3, NULL, fill_box},
    {{"gaussian", "gaussian[:N[:SIGMA]]",
      "NxN binomial blur / 4^(N-1) (N = 3); with SIGMA, sampled exp(-(x^2+y^2)/2s^2) "
      "summing to 1; gaussian::SIGMA: N = 2*ceil(3*SIGMA)+1"},
     SZ_N_SIGMA, 3, NULL, fill_gaussian},
    {{"line_v", "line_v[:K]", "KxK, ones in the middle column, / K (K = 3)"}, SZ_N, 3, NULL,
     fill_line_v},
    {{"line_h", "line_h[:K]", "KxK, ones in the middle row, / K (K = 3)"}, SZ_N, 3, NULL,
     fill_line_h},
    {{"line_diag", "line_diag[:K]", "KxK, ones on the main diagonal (\\), / K (K = 3)"}, SZ_N, 3,
     NULL, fill_line_diag},
    {{"line_anti", "line_anti[:K]", "KxK, ones on the anti-diagonal (/), / K (K = 3)"}, SZ_N, 3,
     NULL, fill_line_anti},
    {{"frame", "frame[:K]", "KxK, ones on the outer ring, / their count (K = 3)"}, SZ_N, 3, NULL,
     fill_frame},
};
#define N_BUILTINS (sizeof BUILTINS / sizeof BUILTINS[0])

/* The public view of the table, copied once: after the pthread_once it is only read, so any
 * number of threads may call cnf_builtins() at once. */
static cnf_builtin_info INFOS[N_BUILTINS];
static pthread_once_t INFOS_ONCE = PTHREAD_ONCE_INIT;

static void fill_infos(void)
{
    for (size_t i = 0; i < N_BUILTINS; i++)
        INFOS[i] = BUILTINS[i].info;
}

const cnf_builtin_info *cnf_builtins(size_t *count_ret)
{
    pthread_once(&INFOS_ONCE, fill_infos);
    *count_ret = N_BUILTINS;
    return INFOS;
}

int cnf_kernel_composite(const char *spec, const char **v_name, const char **h_name)
{
    static const char *const pairs[][3] = {{"sobel", "sobel_v", "sobel_h"},
                                           {"prewitt", "prewitt_v", "prewitt_h"},
                                           {"scharr", "scharr_v", "scharr_h"}};
    for (size_t i = 0; i < 3; i++)
        if (strcmp(spec, pairs[i][0]) == 0) {
            *v_name = pairs[i][1];
            *h_name = pairs[i][2];
            return 1;
        }
    return 0;
}

/* The row whose name is the part of spec before any ':'. */
static const builtin *find_builtin(const char *spec)
{
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    for (size_t i = 0; i < N_BUILTINS; i++)
        if (strlen(BUILTINS[i].info.name) == len && memcmp(BUILTINS[i].info.name, spec, len) == 0)
            return &BUILTINS[i];
    return NULL;
}

int cnf__builtin_named(const char *spec) { return find_builtin(spec) != NULL; }

/* Strict positive integer in [1, CNF_MAX_KERNEL_SIDE]; the whole string must be digits. */
static bool parse_side(const char *s, int *out)
{
    long v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return false;
        v = v * 10 + (*s - '0');
        if (v > CNF_MAX_KERNEL_SIDE)
            return false;
    }
    if (v < 1)
        return false;
    *out = (int)v;
    return true;
}

/* The size (and sigma) after the name in spec, by the row's rule. */
static cnf_status parse_size(const builtin *b, const char *spec, const char *label,
                             size_req *r, cnf_error *err)
{
    const char *colon = strchr(spec, ':');
    char buf[64];
    const char *rest, *c2;
    char *end;
    size_t len;
    r->n = b->default_n;
    r->sigma = 0;
    r->has_sigma = 0;
    if (!colon)
        return CNF_OK;
    rest = colon + 1;
    c2 = strchr(rest, ':');
    len = c2 ? (size_t)(c2 - rest) : strlen(rest);
    if (b->rule == SZ_NONE)
        return cnf__fail(err, CNF_E_USAGE, label, "kernel '%s' takes no size", b->info.name);
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, rest, len);
    buf[len] = 0;
    /* An empty size with a sigma (gaussian::SIGMA): the size follows from sigma. */
    if (len == 0 && c2 && b->rule == SZ_N_SIGMA)
        r->n = 0;
    else if (!parse_side(buf, &r->n))
        return cnf__fail(err, CNF_E_USAGE, label,
                         "size of '%s' must be an integer from 1 to %d, not '%s'", b->info.name,
                         CNF_MAX_KERNEL_SIDE, buf);
    if (!c2)
        return CNF_OK;
    if (b->rule != SZ_N_SIGMA)
        return cnf__fail(err, CNF_E_USAGE, label, "kernel '%s' takes no sigma", b->info.name);
    errno = 0;
    r->sigma = strtod(c2 + 1, &end);
    if (c2[1] == 0 || *end || errno || !isfinite(r->sigma) || r->sigma <= 0 ||
        isspace((unsigned char)c2[1]))
        return cnf__fail(err, CNF_E_USAGE, label,
                         "sigma of '%s' must be a positive number, not '%s'", b->info.name,
                         c2 + 1);
    r->has_sigma = 1;
    if (r->n == 0) {
        /* 2 ceil(3 sigma) + 1: the centre and three sigmas on each side (99.7 % of the
         * weight of the continuous curve), odd so the centre is a pixel */
        double side = 2 * ceil(3 * r->sigma) + 1;
        if (!(side <= CNF_MAX_KERNEL_SIDE))
            return cnf__fail(err, CNF_E_USAGE, label,
                             "sigma %s of '%s' needs a kernel of side 2*ceil(3*sigma)+1 = %.4g, "
                             "over the limit of %d: sigma at most %.4g without a size, or "
                             "give one (gaussian:N:SIGMA)",
                             c2 + 1, b->info.name, side, CNF_MAX_KERNEL_SIDE,
                             (CNF_MAX_KERNEL_SIDE - 1) / 2 / 3.0);
        r->n = (int)side;
    }
    return CNF_OK;
}

int cnf__builtin_size(const char *spec)
{
    const builtin *b = find_builtin(spec);
    size_req r;
    if (!b || parse_size(b, spec, "", &r, NULL) != CNF_OK)
        return 0;
    return b->fill && !b->w3 ? r.n : 3;
}

cnf_status cnf__builtin_kernel(const char *spec, const char *label, cnf_kernel **k_ret,
                               cnf_error *err)
{
    const builtin *b = find_builtin(spec);
    size_req r;
    cnf_kernel *k;
    cnf_status st;
    int side;
    *k_ret = NULL;
    if (!b)
        return cnf__fail(err, CNF_E_USAGE, label, "'%s' is not a built-in kernel", spec);
    st = parse_size(b, spec, label, &r, err);
    if (st)
        return st;
    if (!b->fill)
        return cnf__fail(err, CNF_E_USAGE, label, "'%s' is a combination of two kernels",
                         b->info.name);
    side = b->w3 ? 3 : r.n;
    k = cnf__kernel_new(side, side, 1);
    if (!k)
        return cnf__fail(err, CNF_E_NOMEM, label, "out of memory");
    b->fill(b, &r, k->weights, &k->divisor);
    snprintf(k->name, sizeof k->name, "%s", spec);
    for (char *p = k->name; *p; p++)
        if (*p == ':')
            *p = '-';
    *k_ret = k;
    return CNF_OK;
}
