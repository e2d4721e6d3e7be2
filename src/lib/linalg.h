/* linalg.h - small dense linear algebra in double: Gram matrices, Cholesky, condition estimates. */
#ifndef CNF_LINALG_H
#define CNF_LINALG_H

#include <stddef.h>

/* Matrices are row-major with a leading dimension `ld` (doubles per row).
 * Gram matrices use ld a multiple of CNF_GRAM_ALIGN, so that rows and
 * columns past the real size m are there (kept zero) for the blocked loops. */
#define CNF_GRAM_ALIGN 8

/* cnf__gram_round - m rounded up to a multiple of CNF_GRAM_ALIGN. */
static inline size_t cnf__gram_round(size_t m)
{
    return (m + CNF_GRAM_ALIGN - 1) / CNF_GRAM_ALIGN * CNF_GRAM_ALIGN;
}

/* cnf__gram_add - g += b^T b over the upper triangle (and some entries below
 * it, in whole blocks): b is `rows` rows of ld doubles whose columns from m
 * on are zero; g is ld x ld.  Each entry is summed over the rows in order
 * and then added to g, so the result does not depend on the CPU (no fused
 * multiply-add, the same order in the vector and the portable builds). */
void cnf__gram_add(double *g, size_t ld, size_t m, const double *b, int rows);

/* cnf__cholesky - factor the symmetric positive definite n x n matrix whose
 * upper triangle is in a (row-major, ld) as R^T R, R upper triangular,
 * written over that triangle.  Returns -1, or the first column k whose
 * pivot (what is left of a[k][k] once the earlier columns are taken out) is
 * not above min_pivot: the matrix is then singular or too close to it. */
int cnf__cholesky(double *a, size_t ld, int n, double min_pivot);

/* cnf__cholesky_solve - x = (R^T R)^-1 x in place, with R from cnf__cholesky. */
void cnf__cholesky_solve(const double *r, size_t ld, int n, double *x);

/* cnf__sym_norm1 - the 1-norm (largest column sum of |a_ij|) of the
 * symmetric n x n matrix whose upper triangle is in a. */
double cnf__sym_norm1(const double *a, size_t ld, int n);

/* cnf__cholesky_inv_norm1 - an estimate of ||A^-1||_1 for A = R^T R, by
 * Hager's method with Higham's safeguards (what LAPACK's dpocon uses): a
 * lower bound that is almost always within a factor of 3, usually exact.
 * `work` has 3 n doubles. */
double cnf__cholesky_inv_norm1(const double *r, size_t ld, int n, double *work);

#endif
