/* kernel.c - the kernel object: allocation, accessors, flipping, separability, description. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cnf_kernel *cnf__kernel_new(int w, int h, int depth)
{
    cnf_kernel *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    /* w, h <= CNF_MAX_KERNEL_SIDE and depth <= CNF_MAX_PIPELINE_DEPTH: no overflow. */
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
    cnf_kernel_free(k->pair[0]);
    cnf_kernel_free(k->pair[1]);
    free(k->weights);
    free(k);
}

cnf_kernel *cnf__kernel_composite(const char *name, cnf_kernel *v, cnf_kernel *h)
{
    cnf_kernel *k = v && h ? calloc(1, sizeof *k) : NULL;
    if (!k) {
        cnf_kernel_free(v);
        cnf_kernel_free(h);
        return NULL;
    }
    k->w = v->w;
    k->h = v->h;
    k->depth = 1;
    k->divisor = 1;
    k->pair[0] = v;
    k->pair[1] = h;
    snprintf(k->name, sizeof k->name, "%s", name);
    return k;
}

void cnf__kernel_add_bias(cnf_kernel *k, double b)
{
    if (k->pair[0]) {
        k->pair[0]->bias += b;
        k->pair[1]->bias += b;
    } else {
        k->bias += b;
    }
}

int cnf_kernel_is_composite(const cnf_kernel *k) { return k->pair[0] != NULL; }

const cnf_kernel *cnf_kernel_part(const cnf_kernel *k, int i)
{
    return k->pair[0] && (i == 0 || i == 1) ? k->pair[i] : NULL;
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
    cnf_kernel *f;
    if (k->pair[0]) {
        cnf_kernel *v = NULL, *h = NULL;
        cnf_status st = cnf_kernel_flipped(k->pair[0], &v, err);
        if (st == CNF_OK && (st = cnf_kernel_flipped(k->pair[1], &h, err)) != CNF_OK)
            cnf_kernel_free(v);
        if (st)
            return st;
        if (!(*k_ret = cnf__kernel_composite(k->name, v, h)))
            return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
        return CNF_OK;
    }
    f = cnf__kernel_new(k->w, k->h, k->depth);
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
    if (k->depth != 1 || !w)
        return 0; /* 3-D, or a composite (two kernels) */
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

static void describe_one(const cnf_kernel *k, FILE *out)
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
void cnf_kernel_describe(const cnf_kernel *k, FILE *out)
{
    if (k->pair[0]) {
        fprintf(out, "%s: magnitude sqrt(%s^2 + %s^2) of the pair:\n\n", k->name,
                k->pair[0]->name, k->pair[1]->name);
        describe_one(k->pair[0], out);
        fputc('\n', out);
        describe_one(k->pair[1], out);
        return;
    }
    describe_one(k, out);
}
