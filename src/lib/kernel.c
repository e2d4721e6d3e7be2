/* kernel.c - built-in kernels, kernel specs, flipping and kernel analysis. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

cnf_kernel *cnf__kernel_new(int w, int h, int depth)
{
    cnf_kernel *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    /* w, h <= CNF_MAX_KERNEL_SIDE and depth <= CNF_MAX_KERNEL_DEPTH: no overflow. */
    k->weights = calloc((size_t)w * h * depth, sizeof(double));
    if (!k->weights) {
        free(k);
        return NULL;
    }
    k->w = w;
    k->h = h;
    k->depth = depth;
    k->divisor = 1;
    return k;
}

void cnf_kernel_free(cnf_kernel *k)
{
    if (!k)
        return;
    free(k->weights);
    free(k);
}

int cnf_kernel_width(const cnf_kernel *k) { return k->w; }
int cnf_kernel_height(const cnf_kernel *k) { return k->h; }
int cnf_kernel_depth(const cnf_kernel *k) { return k->depth; }
int cnf_kernel_is_3d(const cnf_kernel *k) { return k->is3d; }
const double *cnf_kernel_weights(const cnf_kernel *k) { return k->weights; }
double cnf_kernel_divisor(const cnf_kernel *k) { return k->divisor; }
double cnf_kernel_bias(const cnf_kernel *k) { return k->bias; }
const char *cnf_kernel_name(const cnf_kernel *k) { return k->name; }

cnf_status cnf_kernel_flipped(const cnf_kernel *k, cnf_kernel **k_ret, cnf_error *err)
{
    cnf_kernel *f = cnf__kernel_new(k->w, k->h, k->depth);
    if (!f)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    f->is3d = k->is3d;
    f->divisor = k->divisor;
    f->bias = k->bias;
    memcpy(f->name, k->name, sizeof f->name);
    for (int d = 0; d < k->depth; d++)
        for (int i = 0; i < k->h; i++)
            for (int j = 0; j < k->w; j++)
                f->weights[((size_t)d * k->h + i) * k->w + j] =
                    k->weights[((size_t)d * k->h + (k->h - 1 - i)) * k->w + (k->w - 1 - j)];
    *k_ret = f;
    return CNF_OK;
}

/* ------------------------------------------------------------ built-ins */

typedef enum { SZ_NONE, SZ_N, SZ_N_SIGMA } size_rule;

typedef struct builtin {
    cnf_builtin_info info;
    size_rule rule;
    int default_n;
    const signed char *w3; /* fixed 3x3 weights, row-major, or NULL */
} builtin;

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

/* The table is the single source for `cnnfilter kernels`, spec parsing and
 * the kernels/ files test.  Names and weights are a contract (SPEC §7). */
static const builtin BUILTINS[] = {
    {{"identity", "identity", "3x3, 1 in the centre: output = input"}, SZ_NONE, 3, W_IDENTITY},
    {{"sobel_v", "sobel_v", "Sobel, vertical edges (x derivative)"}, SZ_NONE, 3, W_SOBEL_V},
    {{"sobel_h", "sobel_h", "Sobel, horizontal edges (y derivative)"}, SZ_NONE, 3, W_SOBEL_H},
    {{"sobel", "sobel", "Sobel gradient magnitude: sqrt(sobel_v^2 + sobel_h^2)"}, SZ_NONE, 3, NULL},
    {{"prewitt_v", "prewitt_v", "Prewitt, vertical edges"}, SZ_NONE, 3, W_PREWITT_V},
    {{"prewitt_h", "prewitt_h", "Prewitt, horizontal edges"}, SZ_NONE, 3, W_PREWITT_H},
    {{"prewitt", "prewitt", "Prewitt gradient magnitude"}, SZ_NONE, 3, NULL},
    {{"scharr_v", "scharr_v", "Scharr, vertical edges"}, SZ_NONE, 3, W_SCHARR_V},
    {{"scharr_h", "scharr_h", "Scharr, horizontal edges"}, SZ_NONE, 3, W_SCHARR_H},
    {{"scharr", "scharr", "Scharr gradient magnitude"}, SZ_NONE, 3, NULL},
    {{"edge_v", "edge_v", "vertical edge filter (the seeds' VEF)"}, SZ_NONE, 3, W_EDGE_V},
    {{"edge_h", "edge_h", "horizontal edge filter (the seeds' HEF)"}, SZ_NONE, 3, W_EDGE_H},
    {{"laplacian", "laplacian", "Laplacian, 4-neighbour"}, SZ_NONE, 3, W_LAPLACIAN},
    {{"laplacian8", "laplacian8", "Laplacian, 8-neighbour"}, SZ_NONE, 3, W_LAPLACIAN8},
    {{"sharpen", "sharpen", "sharpen: 5 in the centre, -1 on the 4 neighbours"}, SZ_NONE, 3,
     W_SHARPEN},
    {{"emboss", "emboss", "emboss, light from the top left"}, SZ_NONE, 3, W_EMBOSS},
    {{"box", "box[:N]", "NxN mean (N = 3)"}, SZ_N, 3, NULL},
    {{"gaussian", "gaussian[:N[:SIGMA]]",
      "NxN binomial blur / 4^(N-1) (N = 3); with SIGMA, sampled exp(-(x^2+y^2)/2s^2)"},
     SZ_N_SIGMA, 3, NULL},
    {{"line_v", "line_v[:K]", "KxK, ones in the middle column, / K (K = 3)"}, SZ_N, 3, NULL},
    {{"line_h", "line_h[:K]", "KxK, ones in the middle row, / K (K = 3)"}, SZ_N, 3, NULL},
    {{"line_diag", "line_diag[:K]", "KxK, ones on the main diagonal (\\), / K (K = 3)"}, SZ_N, 3,
     NULL},
    {{"line_anti", "line_anti[:K]", "KxK, ones on the anti-diagonal (/), / K (K = 3)"}, SZ_N, 3,
     NULL},
    {{"frame", "frame[:K]", "KxK, ones on the outer ring, / their count (K = 3)"}, SZ_N, 3, NULL},
};
#define N_BUILTINS (sizeof BUILTINS / sizeof BUILTINS[0])

const cnf_builtin_info *cnf_builtins(size_t *count_ret)
{
    static cnf_builtin_info infos[N_BUILTINS];
    /* Built once; identical content on every call, so concurrent first calls
     * write the same bytes. */
    for (size_t i = 0; i < N_BUILTINS; i++)
        infos[i] = BUILTINS[i].info;
    *count_ret = N_BUILTINS;
    return infos;
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

static const builtin *find_builtin(const char *name, size_t len)
{
    for (size_t i = 0; i < N_BUILTINS; i++)
        if (strlen(BUILTINS[i].info.name) == len && memcmp(BUILTINS[i].info.name, name, len) == 0)
            return &BUILTINS[i];
    return NULL;
}

/* Strict positive integer in [1, max]; the whole string must be digits. */
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

static cnf_status make_builtin(const builtin *b, const char *spec, const char *flag, int n,
                               double sigma, int has_sigma, cnf_kernel **k_ret, cnf_error *err)
{
    int side = b->w3 ? 3 : n;
    cnf_kernel *k = cnf__kernel_new(side, side, 1);
    const char *nm = b->info.name;
    double *w;
    if (!k)
        return cnf__fail(err, CNF_E_NOMEM, flag, "out of memory");
    w = k->weights;
    if (b->w3) {
        for (int i = 0; i < 9; i++)
            w[i] = b->w3[i];
    } else if (strcmp(nm, "box") == 0) {
        for (int i = 0; i < n * n; i++)
            w[i] = 1;
        k->divisor = (double)n * n;
    } else if (strcmp(nm, "gaussian") == 0 && !has_sigma) {
        /* Binomial row n: C(n-1, j); exact in double for n <= 255?  C(254,127)
         * is ~1e75, beyond 2^53, so sizes over 55 lose exactness; the
         * divisor 4^(n-1) stays exact (a power of two). */
        double row[CNF_MAX_KERNEL_SIDE];
        row[0] = 1;
        for (int j = 1; j < n; j++)
            row[j] = row[j - 1] * (double)(n - j) / (double)j;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                w[i * n + j] = row[i] * row[j];
        k->divisor = ldexp(1.0, 2 * (n - 1));
    } else if (strcmp(nm, "gaussian") == 0) {
        double c = (n - 1) / 2.0, sum = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double y = i - c, x = j - c;
                w[i * n + j] = exp(-(x * x + y * y) / (2 * sigma * sigma));
                sum += w[i * n + j];
            }
        for (int i = 0; i < n * n; i++)
            w[i] /= sum;
    } else if (strcmp(nm, "line_v") == 0 || strcmp(nm, "line_h") == 0) {
        int m = n / 2;
        for (int i = 0; i < n; i++)
            w[nm[5] == 'v' ? i * n + m : m * n + i] = 1;
        k->divisor = n;
    } else if (strcmp(nm, "line_diag") == 0) {
        for (int i = 0; i < n; i++)
            w[i * n + i] = 1;
        k->divisor = n;
    } else if (strcmp(nm, "line_anti") == 0) {
        for (int i = 0; i < n; i++)
            w[i * n + (n - 1 - i)] = 1;
        k->divisor = n;
    } else if (strcmp(nm, "frame") == 0) {
        int count = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i == 0 || j == 0 || i == n - 1 || j == n - 1) {
                    w[i * n + j] = 1;
                    count++;
                }
        k->divisor = count;
    } else {
        cnf_kernel_free(k);
        return cnf__fail(err, CNF_E_USAGE, flag, "'%s' is a combination of two kernels", nm);
    }
    snprintf(k->name, sizeof k->name, "%s", spec);
    for (char *p = k->name; *p; p++)
        if (*p == ':')
            *p = '-';
    *k_ret = k;
    return CNF_OK;
}

static cnf_status parse_builtin(const builtin *b, const char *spec, const char *flag,
                                cnf_kernel **k_ret, cnf_error *err)
{
    const char *colon = strchr(spec, ':');
    int n = b->default_n, has_sigma = 0;
    double sigma = 0;
    if (colon) {
        char buf[64];
        const char *rest = colon + 1, *c2 = strchr(rest, ':');
        size_t len = c2 ? (size_t)(c2 - rest) : strlen(rest);
        if (b->rule == SZ_NONE)
            return cnf__fail(err, CNF_E_USAGE, flag, "kernel '%s' takes no size", b->info.name);
        if (len >= sizeof buf)
            len = sizeof buf - 1;
        memcpy(buf, rest, len);
        buf[len] = 0;
        if (!parse_side(buf, &n))
            return cnf__fail(err, CNF_E_USAGE, flag,
                             "size of '%s' must be an integer from 1 to %d, not '%s'",
                             b->info.name, CNF_MAX_KERNEL_SIDE, buf);
        if (c2) {
            char *end;
            if (b->rule != SZ_N_SIGMA)
                return cnf__fail(err, CNF_E_USAGE, flag, "kernel '%s' takes no sigma",
                                 b->info.name);
            errno = 0;
            sigma = strtod(c2 + 1, &end);
            if (c2[1] == 0 || *end || errno || !isfinite(sigma) || sigma <= 0 ||
                isspace((unsigned char)c2[1]))
                return cnf__fail(err, CNF_E_USAGE, flag,
                                 "sigma of '%s' must be a positive number, not '%s'",
                                 b->info.name, c2 + 1);
            has_sigma = 1;
        }
    }
    return make_builtin(b, spec, flag, n, sigma, has_sigma, k_ret, err);
}

static cnf_status read_small_file(const char *path, char **buf_ret, size_t *len_ret,
                                  cnf_error *err)
{
    FILE *f;
    struct stat stt;
    char *buf;
    size_t n;
    if (stat(path, &stt) != 0)
        return cnf__fail_errno(err, CNF_E_USAGE, path, errno, "%s", strerror(errno));
    if (S_ISDIR(stt.st_mode))
        return cnf__fail(err, CNF_E_USAGE, path, "is a directory");
    f = fopen(path, "rb");
    if (!f)
        return cnf__fail_errno(err, CNF_E_USAGE, path, errno, "%s", strerror(errno));
    buf = malloc(CNF_MAX_JSON_BYTES + 1);
    if (!buf) {
        fclose(f);
        return cnf__fail(err, CNF_E_NOMEM, path, "out of memory");
    }
    /* Read one byte past the limit to tell "exactly at" from "over". */
    n = fread(buf, 1, CNF_MAX_JSON_BYTES + 1, f);
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        free(buf);
        return cnf__fail_errno(err, CNF_E_USAGE, path, e, "read error: %s", strerror(e));
    }
    fclose(f);
    if (n > CNF_MAX_JSON_BYTES) {
        free(buf);
        return cnf__fail(err, CNF_E_LIMIT, path, "kernel file is larger than %u bytes (limit)",
                         CNF_MAX_JSON_BYTES);
    }
    buf[n] = 0;
    *buf_ret = buf;
    *len_ret = n;
    return CNF_OK;
}

/* A spec error (built-in or inline matrix): `where` is the caller's label. */
static cnf_status spec_error(cnf_status st, cnf_error *err)
{
    if (st && err)
        err->subject = CNF_SUBJECT_SPEC;
    return st;
}

cnf_status cnf_kernel_parse(const char *spec, const char *flag, cnf_kernel **k_ret,
                            cnf_error *err)
{
    const char *p = spec;
    const char *colon;
    const builtin *b;
    *k_ret = NULL;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    if (*p == '[')
        return spec_error(cnf_kernel_from_json(spec, strlen(spec), flag, "", k_ret, err), err);
    if (!*p)
        return spec_error(cnf__fail(err, CNF_E_USAGE, flag, "empty kernel spec"), err);
    colon = strchr(spec, ':');
    b = find_builtin(spec, colon ? (size_t)(colon - spec) : strlen(spec));
    if (b) {
        const char *v, *h;
        if (cnf_kernel_composite(spec, &v, &h))
            return spec_error(cnf__fail(err, CNF_E_USAGE, flag,
                                        "'%s' is the magnitude of '%s' and '%s' and cannot be "
                                        "part of a bank",
                                        spec, v, h),
                              err);
        return spec_error(parse_builtin(b, spec, flag, k_ret, err), err);
    }
    {
        struct stat stt;
        char *text = NULL;
        size_t len = 0;
        char stem[260];
        const char *base = strrchr(spec, '/');
        cnf_status st;
        if (stat(spec, &stt) != 0)
            return spec_error(cnf__fail(err, CNF_E_USAGE, flag,
                                        "unknown kernel '%s': not a built-in (see 'cnnfilter "
                                        "kernels'), an inline matrix or an existing file",
                                        spec),
                              err);
        st = read_small_file(spec, &text, &len, err);
        if (st)
            return st;
        base = base ? base + 1 : spec;
        snprintf(stem, sizeof stem, "%s", base);
        {
            char *dot = strrchr(stem, '.');
            if (dot && dot != stem)
                *dot = 0;
        }
        st = cnf_kernel_from_json(text, len, spec, stem, k_ret, err);
        free(text);
        return st;
    }
}

/* ------------------------------------------------------------ analysis */

/* Greatest common divisor of the integers in v (0 if any is not an integer). */
static double int_gcd(const double *v, int n)
{
    double g = 0;
    for (int i = 0; i < n; i++) {
        double a = fabs(v[i]);
        if (a != floor(a) || a > 9007199254740992.0)
            return 0;
        while (a != 0) {
            double t = fmod(g, a);
            g = a;
            a = t;
        }
    }
    return g;
}

int cnf_kernel_separable(const cnf_kernel *k, double *col, double *row)
{
    const double *w = k->weights;
    int pi = 0, pj = 0;
    double best = 0, g, *r;
    if (k->depth != 1)
        return 0;
    for (int i = 0; i < k->h; i++)
        for (int j = 0; j < k->w; j++)
            if (fabs(w[i * k->w + j]) > best) {
                best = fabs(w[i * k->w + j]);
                pi = i;
                pj = j;
            }
    if (best == 0)
        return 0;
    for (int i = 0; i < k->h; i++)
        for (int j = 0; j < k->w; j++) {
            /* w(i,j) == w(i,pj) * w(pi,j) / w(pi,pj) for a rank-1 matrix. */
            double pred = w[i * k->w + pj] * w[pi * k->w + j] / w[pi * k->w + pj];
            if (fabs(pred - w[i * k->w + j]) > 1e-12 * best)
                return 0;
        }
    if (!col || !row)
        return 1;
    /* Factors that read well: the pivot row divided by the gcd of its
     * entries (integers stay integers), the column making the product, and
     * the column's first non-zero entry positive. */
    r = row;
    g = int_gcd(w + (size_t)pi * k->w, k->w);
    if (g == 0)
        g = 1;
    for (int j = 0; j < k->w; j++)
        r[j] = w[pi * k->w + j] / g;
    for (int i = 0; i < k->h; i++)
        col[i] = w[i * k->w + pj] / r[pj];
    for (int i = 0; i < k->h; i++)
        if (col[i] != 0) {
            if (col[i] < 0) {
                for (int t = 0; t < k->h; t++)
                    col[t] = -col[t];
                for (int j = 0; j < k->w; j++)
                    r[j] = -r[j];
            }
            break;
        }
    return 1;
}

void cnf_kernel_describe(const cnf_kernel *k, FILE *out)
{
    double sum = 0;
    int width = 1;
    char num[64];
    size_t n = (size_t)k->depth * k->h * k->w;
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(num, sizeof num, "%.9g", k->weights[i]);
        if (len > width)
            width = len;
        sum += k->weights[i];
    }
    fprintf(out, "name: %s\n", k->name[0] ? k->name : "(inline)");
    if (k->is3d)
        fprintf(out, "size: %d x %d x %d (depth x height x width)\n", k->depth, k->h, k->w);
    else
        fprintf(out, "size: %d x %d (height x width)\n", k->h, k->w);
    fprintf(out, "weights:\n");
    for (int d = 0; d < k->depth; d++) {
        if (k->is3d)
            fprintf(out, " channel %d:\n", d);
        for (int i = 0; i < k->h; i++) {
            fputs(" ", out);
            for (int j = 0; j < k->w; j++)
                fprintf(out, " %*.9g", width, k->weights[((size_t)d * k->h + i) * k->w + j] + 0.0);
            fputc('\n', out);
        }
    }
    fprintf(out, "divisor: %.9g\n", k->divisor);
    if (k->bias != 0)
        fprintf(out, "bias: %.9g\n", k->bias);
    fprintf(out, "sum: %.9g (weights / divisor)\n", sum / k->divisor);
    if (!k->is3d) {
        double *col = malloc(sizeof(double) * (size_t)k->h);
        double *row = malloc(sizeof(double) * (size_t)k->w);
        if (col && row && cnf_kernel_separable(k, col, row)) {
            fprintf(out, "separable: yes, column [");
            for (int i = 0; i < k->h; i++)
                fprintf(out, "%s%.9g", i ? " " : "", col[i] + 0.0);
            fprintf(out, "] x row [");
            for (int j = 0; j < k->w; j++)
                fprintf(out, "%s%.9g", j ? " " : "", row[j] + 0.0);
            fprintf(out, "]");
            if (k->divisor != 1)
                fprintf(out, " / %.9g", k->divisor);
            fprintf(out, "\n");
        } else {
            fprintf(out, "separable: no\n");
        }
        free(col);
        free(row);
    } else {
        fprintf(out, "separable: no (3-D)\n");
    }
}
