/* linalg.c - small dense linear algebra in double: Gram matrices, Cholesky, condition estimates.
 *
 * What cnf_learn_kernel needs to solve a linear least-squares problem by its
 * normal equations: the Gram matrix of the design (accumulated block of rows
 * by block of rows, so the design is never held whole), its Cholesky factor,
 * solves with it, and an estimate of the condition number to refuse a
 * system the data does not determine.  No fused multiply-add anywhere (C11
 * without GNU extensions has FP contraction off, and the AVX2 clones do not
 * enable FMA), so the vector and portable builds give the same bits. */
#include "linalg.h"

#include <math.h>
#include <string.h>

/* Rows x 4 by rows x 8 blocks of b^T b, kept in registers while the rows
 * stream past; why 4 x 8: 32 accumulators are 8 AVX2 registers (16 SSE2
 * ones), leaving room for the 12 values loaded per row.  The columns are
 * taken in panels of GRAM_PANEL: the rows' values in a panel (128 rows x
 * 256 columns = 256 KiB) stay in the L2 cache while every 4-row stripe of g
 * passes over them.  Without panels a 2884-unknown system streamed its
 * whole block of rows from memory for each stripe: 1.5x slower (measured,
 * with 128, 256 and 512 columns and 32, 64 and 128 rows: 256 and 128 were
 * best).  Each entry is still summed over the rows in order. */
#define GRAM_PANEL 256
__attribute__((target_clones("avx2", "default")))
void cnf__gram_add(double *g, size_t ld, size_t m, const double *b, int rows)
{
    size_t m8 = cnf__gram_round(m);
    for (size_t j0 = 0; j0 < m8; j0 += GRAM_PANEL) {
        size_t j1 = j0 + GRAM_PANEL < m8 ? j0 + GRAM_PANEL : m8;
        for (size_t ib = 0; ib < m && ib < j1; ib += 4) {
            size_t first = ib / 8 * 8 > j0 ? ib / 8 * 8 : j0;
            for (size_t jb = first; jb < j1; jb += 8) {
                double acc[4][8];
                memset(acc, 0, sizeof acc);
                for (int r = 0; r < rows; r++) {
                    const double *br = b + (size_t)r * ld;
                    for (int ii = 0; ii < 4; ii++)
                        for (int jj = 0; jj < 8; jj++)
                            acc[ii][jj] += br[ib + ii] * br[jb + jj];
                }
                for (int ii = 0; ii < 4; ii++)
                    for (int jj = 0; jj < 8; jj++)
                        g[(ib + ii) * ld + jb + jj] += acc[ii][jj];
            }
        }
    }
}

/* Right-looking, row by row: after step k, rows below k hold the Schur
 * complement, updated with contiguous row operations (a vector loop). */
__attribute__((target_clones("avx2", "default")))
int cnf__cholesky(double *a, size_t ld, int n, double min_pivot)
{
    for (int k = 0; k < n; k++) {
        double *rk = a + (size_t)k * ld;
        double d = rk[k], s, inv;
        if (!(d > min_pivot)) /* also catches a NaN */
            return k;
        s = sqrt(d);
        inv = 1.0 / s;
        rk[k] = s;
        for (int j = k + 1; j < n; j++)
            rk[j] *= inv;
        for (int i = k + 1; i < n; i++) {
            double *ri = a + (size_t)i * ld;
            double f = rk[i];
            for (int j = i; j < n; j++)
                ri[j] -= f * rk[j];
        }
    }
    return -1;
}

void cnf__cholesky_solve(const double *r, size_t ld, int n, double *x)
{
    /* R^T y = x, column by column of R^T (rows of R). */
    for (int k = 0; k < n; k++) {
        const double *rk = r + (size_t)k * ld;
        double y = x[k] / rk[k];
        x[k] = y;
        for (int j = k + 1; j < n; j++)
            x[j] -= rk[j] * y;
    }
    /* R z = y, from the last row up. */
    for (int k = n - 1; k >= 0; k--) {
        const double *rk = r + (size_t)k * ld;
        double s = x[k];
        for (int j = k + 1; j < n; j++)
            s -= rk[j] * x[j];
        x[k] = s / rk[k];
    }
}

double cnf__sym_norm1(const double *a, size_t ld, int n)
{
    double best = 0;
    for (int j = 0; j < n; j++) {
        double s = 0;
        for (int i = 0; i < n; i++)
            s += fabs(i <= j ? a[(size_t)i * ld + j] : a[(size_t)j * ld + i]);
        if (s > best)
            best = s;
    }
    return best;
}

static double norm1(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += fabs(v[i]);
    return s;
}

/* Hager (1984) as refined by Higham (1988, "FORTRAN codes for estimating
 * the one-norm of a real or complex matrix"): at most 5 steps of a convex
 * maximisation of ||B x||_1 over the unit 1-ball, then the alternating test
 * vector, which catches the matrices the iteration underestimates.  A^-1 is
 * symmetric, so B^T x is another solve with the same factor. */
double cnf__cholesky_inv_norm1(const double *r, size_t ld, int n, double *work)
{
    double *x = work, *y = work + n, *z = work + 2 * (size_t)n;
    double est = 0, alt;
    if (n == 1)
        return 1.0 / (r[0] * r[0]);
    for (int i = 0; i < n; i++)
        x[i] = 1.0 / n;
    for (int iter = 0; iter < 5; iter++) {
        double e, zmax = -1, ztx = 0;
        int jmax = 0;
        memcpy(y, x, (size_t)n * sizeof *y);
        cnf__cholesky_solve(r, ld, n, y);
        e = norm1(y, n);
        if (iter > 0 && e <= est)
            break;
        est = e;
        for (int i = 0; i < n; i++)
            z[i] = y[i] >= 0 ? 1.0 : -1.0;
        cnf__cholesky_solve(r, ld, n, z);
        for (int i = 0; i < n; i++) {
            ztx += z[i] * x[i];
            if (fabs(z[i]) > zmax) {
                zmax = fabs(z[i]);
                jmax = i;
            }
        }
        if (iter > 0 && zmax <= ztx)
            break;
        memset(x, 0, (size_t)n * sizeof *x);
        x[jmax] = 1;
    }
    for (int i = 0; i < n; i++)
        y[i] = (i % 2 ? -1.0 : 1.0) * (1.0 + (double)i / (n - 1));
    cnf__cholesky_solve(r, ld, n, y);
    alt = 2.0 * norm1(y, n) / (3.0 * n);
    return alt > est ? alt : est;
}
