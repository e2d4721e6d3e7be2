/* test_linalg.c - the dense algebra of learn: Gram matrices against a plain loop, Cholesky solves
 * against known answers, singular matrices found, the 1-norm condition estimate against the
 * exact inverse (Hilbert matrices included). */
#include "test_util.h"

#include "../../src/lib/linalg.h"

#include <stdint.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static double rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0 * 2 - 1;
}

/* Two blocks of rows folded in; every upper entry equals the plain sum over each block's rows
 * in order, added block by block: the same bits, for sizes around the 4 x 8 blocking and past
 * the 256-column panels. */
static void gram_add_gives_the_plain_sums_bit_for_bit(void)
{
    static const int ms[] = {1, 3, 4, 7, 8, 9, 17, 33, 300, 517};
    static const int rows[] = {1, 5, 64};
    for (size_t a = 0; a < sizeof ms / sizeof ms[0]; a++) {
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            int m = ms[a], n = rows[r];
            size_t ld = cnf__gram_round((size_t)m);
            double *g = calloc(ld * ld, sizeof *g), *want = calloc(ld * ld, sizeof *want);
            double *b = calloc(ld * (size_t)n, sizeof *b);
            int bad = 0;
            CHECK(ld % 8 == 0 && ld >= (size_t)m && ld < (size_t)m + 8);
            for (int blk = 0; blk < 2; blk++) {
                for (int k = 0; k < n; k++)
                    for (int i = 0; i < m; i++)
                        b[k * ld + i] = rnd() * 100;
                cnf__gram_add(g, ld, (size_t)m, b, n);
                for (int i = 0; i < m; i++)
                    for (int j = i; j < m; j++) {
                        double s = 0;
                        for (int k = 0; k < n; k++)
                            s += b[k * ld + i] * b[k * ld + j];
                        want[i * ld + j] += s;
                    }
            }
            for (int i = 0; i < m; i++)
                for (int j = i; j < m; j++)
                    bad += g[i * ld + j] != want[i * ld + j];
            CHECK_EQ_INT(bad, 0);
            free(g);
            free(want);
            free(b);
        }
    }
}

/* A = M^T M + n I, upper triangle in a (ld = n). */
static void random_spd(double *a, int n)
{
    double *m = malloc(sizeof(double) * n * n);
    for (int i = 0; i < n * n; i++)
        m[i] = rnd();
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = i == j ? n : 0;
            for (int k = 0; k < n; k++)
                s += m[k * n + i] * m[k * n + j];
            a[i * n + j] = s;
        }
    free(m);
}

static void cholesky_solves_spd_systems_to_rounding(void)
{
    for (int n = 1; n <= 40; n += 3) {
        double *a = malloc(sizeof(double) * n * n), *x = malloc(sizeof(double) * n);
        double *want = malloc(sizeof(double) * n), err = 0;
        random_spd(a, n);
        for (int i = 0; i < n; i++)
            want[i] = rnd();
        for (int i = 0; i < n; i++) { /* x = A want, from the full matrix */
            double s = 0;
            for (int j = 0; j < n; j++)
                s += a[i * n + j] * want[j];
            x[i] = s;
        }
        CHECK_EQ_INT(cnf__cholesky(a, (size_t)n, n, 1e-10), -1);
        cnf__cholesky_solve(a, (size_t)n, n, x);
        for (int i = 0; i < n; i++)
            err = fmax(err, fabs(x[i] - want[i]));
        CHECK(err < 1e-12);
        free(a);
        free(x);
        free(want);
    }
}

static void a_singular_matrix_fails_at_its_dependent_column(void)
{
    /* Columns: e, 2e (dependent), f. */
    double a[9] = {1, 2, 0, 0, 4, 0, 0, 0, 1};
    double nan_m[4] = {1, 0, 0, NAN};
    double neg[4] = {1, 0, 0, -1};
    CHECK_EQ_INT(cnf__cholesky(a, 3, 3, 1e-10), 1);
    CHECK_EQ_INT(cnf__cholesky(nan_m, 2, 2, 1e-10), 1);
    CHECK_EQ_INT(cnf__cholesky(neg, 2, 2, 1e-10), 1);
    /* A pivot just under the floor is refused, just over it kept. */
    {
        double p[4] = {1, 1, 0, 1 + 0.9e-10}, q[4] = {1, 1, 0, 1 + 1.1e-10};
        CHECK_EQ_INT(cnf__cholesky(p, 2, 2, 1e-10), 1);
        CHECK_EQ_INT(cnf__cholesky(q, 2, 2, 1e-10), -1);
    }
}

static void sym_norm1_is_the_largest_column_sum_of_both_triangles(void)
{
    /* [[1,-2,3],[-2,5,0],[3,0,-4]]: column sums 6, 7, 7; only the upper triangle is read. */
    double a[9] = {1, -2, 3, 99, 5, 0, 99, 99, -4};
    CHECK(cnf__sym_norm1(a, 3, 3) == 7);
}

/* ||A^-1||_1 exactly: the inverse column by column. */
static double exact_inv_norm1(const double *r, int n)
{
    double best = 0, *e = malloc(sizeof(double) * n);
    for (int j = 0; j < n; j++) {
        double s = 0;
        for (int i = 0; i < n; i++)
            e[i] = i == j;
        cnf__cholesky_solve(r, (size_t)n, n, e);
        for (int i = 0; i < n; i++)
            s += fabs(e[i]);
        best = fmax(best, s);
    }
    free(e);
    return best;
}

static void the_condition_estimate_is_within_a_factor_3_below_the_truth(void)
{
    double work[3 * 40], ratio_min = 1e9, ratio_max = 0;
    for (int n = 1; n <= 40; n += 1) {
        double *a = malloc(sizeof(double) * n * n), est, exact;
        random_spd(a, n);
        CHECK_EQ_INT(cnf__cholesky(a, (size_t)n, n, 0), -1);
        est = cnf__cholesky_inv_norm1(a, (size_t)n, n, work);
        exact = exact_inv_norm1(a, n);
        ratio_min = fmin(ratio_min, est / exact);
        ratio_max = fmax(ratio_max, est / exact);
        free(a);
    }
    CHECK(ratio_max <= 1 + 1e-12);
    CHECK(ratio_min >= 1.0 / 3);
    /* Hilbert matrices: the textbook ill-conditioned SPD family (1-norm condition of H8 is
     * about 3.4e10, over learn's limit; H5's about 9.4e5, under it). */
    for (int n = 2; n <= 8; n++) {
        double h[64], norm, cond;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                h[i * n + j] = 1.0 / (i + j + 1);
        norm = cnf__sym_norm1(h, (size_t)n, n);
        CHECK_EQ_INT(cnf__cholesky(h, (size_t)n, n, 0), -1);
        cond = norm * cnf__cholesky_inv_norm1(h, (size_t)n, n, work);
        CHECK(cond <= norm * exact_inv_norm1(h, n) * (1 + 1e-6));
        CHECK(cond >= norm * exact_inv_norm1(h, n) / 3);
        if (n == 5)
            CHECK(cond > 9e5 && cond < 1e6);
        if (n == 8)
            CHECK(cond > 3e10 && cond < 4e10);
    }
}

int main(void)
{
    RUN(gram_add_gives_the_plain_sums_bit_for_bit);
    RUN(cholesky_solves_spd_systems_to_rounding);
    RUN(a_singular_matrix_fails_at_its_dependent_column);
    RUN(sym_norm1_is_the_largest_column_sum_of_both_triangles);
    RUN(the_condition_estimate_is_within_a_factor_3_below_the_truth);
    return t_finish("test_linalg");
}
