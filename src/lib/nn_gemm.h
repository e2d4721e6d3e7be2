/* nn_gemm.h - the training engine's blocked float32 matrix products (nn_gemm.c).
 *
 * The fast path of the conv and dense nodes (nn_math_impl.h).  Each product sums every
 * entry in the same order as the reference loops it replaces, with no fused multiply-add,
 * so the fast and the reference path give the same bits (tests/unit/test_nn_fast.c checks
 * it), and so do the AVX2 and the portable builds of these functions.  Matrices are
 * row-major; ld* are the values per row. */
#ifndef CNF_NN_GEMM_H
#define CNF_NN_GEMM_H

#include <stddef.h>

/* cnf__gemm_nn - C[i][j] = (C[i][j] +) the sum over p < k, in increasing p, of A(i, p) x
 * B[p][j], for i < m, j < n, the sum taken from 0 (what "S = 0, then S += A(:, p) B[p] for
 * each p" gives) and `accumulate` deciding the "C +"; A(i, p) = A[i * ars + p * acs], so a
 * transposed A costs nothing. */
void cnf__gemm_nn(int m, int n, int k, const float *A, ptrdiff_t ars, ptrdiff_t acs,
                  const float *B, ptrdiff_t ldb, float *C, ptrdiff_t ldc, int accumulate);

/* cnf__gemm_chunks - for each chunk q < nc in order, C[i][j] += S_q[i][j], where S_q[i][j] is
 * the sum over p < k[q], in increasing p, of A[q][i * ars + p * acs] x B[q][p * ldb + j],
 * summed from 0: what cnf__gemm_nn with `accumulate` gives chunk after chunk, with C kept in
 * registers across the chunks (a dense layer's weight gradient: the chunks' records). */
#define CNF__GEMM_MAX_CHUNKS 256
void cnf__gemm_chunks(int m, int n, int nc, const float *const *A, const float *const *B,
                      const int *k, ptrdiff_t ars, ptrdiff_t acs, ptrdiff_t ldb, float *C,
                      ptrdiff_t ldc);

/* cnf__gemm_dots - C[i][j] = (C[i][j] +) dot(A row i, B row j) over len values, for i < m,
 * j < n, with `accumulate` deciding the "C +"; dot is cnf__dot's order: eight lanes (lane l
 * sums the terms t = l mod 8 of the whole blocks of 8, in order), added as ((l0 + l1) +
 * (l2 + l3)) + ((l4 + l5) + (l6 + l7)), then the len mod 8 last terms one by one. */
void cnf__gemm_dots(int m, int n, int len, const float *A, ptrdiff_t lda, const float *B,
                    ptrdiff_t ldb, float *C, ptrdiff_t ldc, int accumulate);

#endif
