/* nn_gemm.c - the training engine's blocked float32 matrix products.
 *
 * Register tiles: a block of C is summed in vectors of 8 floats (GCC's vector types, which
 * clang reads too) that stay in registers while the rows of A and B stream past, so each
 * value loaded serves several products (a plain axpy loads, adds and stores the whole
 * output row for every term).  Plain arrays of floats in the same loops were spilled to
 * memory by GCC 12: 2 GMAC/s against 23 for the vectors (a 6 x 784 x 25 product).
 *
 * Every entry is still summed in the order the header states, with no fused multiply-add
 * (C11 without GNU extensions keeps FP contraction off and the AVX2 builds do not enable
 * FMA): the tiles change which entries are summed side by side, never the order of one
 * entry's terms.  The AVX2 build and the portable one give the same bits. */
#include "nn_gemm.h"

#include <string.h>

/* The helpers below that take or return vectors are always inlined, so no vector crosses a
 * call; GCC warns about the ABI of the portable build's (never emitted) calls all the same. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#if defined(__GNUC__) && defined(__x86_64__) && !defined(CNF_NO_CLONES)
#define CNF_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CNF_CLONES
#endif

/* --------------------------------------------------------------- C = A B
 *
 * MR rows of C by NC columns: MR x NC sums, NC / 8 vectors a row; 6 x 16 is 12 AVX2
 * registers of sums, 2 for the row of B and one for A's broadcast value. */
typedef float v8 __attribute__((vector_size(32)));

#define INLINE static inline __attribute__((always_inline))

INLINE v8 load8(const float *p)
{
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

#define NN_TILE(MR, NC)                                                                      \
    INLINE void nn_##MR##x##NC(int k, const float *A, ptrdiff_t ars, ptrdiff_t acs,         \
                               const float *B, ptrdiff_t ldb, float *C, ptrdiff_t ldc,       \
                               int accumulate)                                               \
    {                                                                                        \
        v8 acc[MR][NC / 8];                                                                  \
        memset(acc, 0, sizeof acc);                                                          \
        for (int p = 0; p < k; p++) {                                                        \
            v8 b[NC / 8];                                                                    \
            for (int v = 0; v < NC / 8; v++)                                                 \
                b[v] = load8(B + p * ldb + 8 * v);                                           \
            for (int i = 0; i < MR; i++) {                                                   \
                float a = A[i * ars + p * acs];                                              \
                v8 av = {a, a, a, a, a, a, a, a};                                            \
                for (int v = 0; v < NC / 8; v++)                                             \
                    acc[i][v] += av * b[v];                                                  \
            }                                                                                \
        }                                                                                    \
        for (int i = 0; i < MR; i++) {                                                       \
            if (accumulate)                                                                  \
                for (int v = 0; v < NC / 8; v++)                                             \
                    acc[i][v] = load8(C + i * ldc + 8 * v) + acc[i][v];                      \
            memcpy(C + i * ldc, acc[i], sizeof acc[i]);                                      \
        }                                                                                    \
    }

NN_TILE(1, 32)
NN_TILE(1, 16)
NN_TILE(2, 16)
NN_TILE(3, 16)
NN_TILE(4, 16)
NN_TILE(5, 16)
NN_TILE(6, 16)
NN_TILE(1, 8)
NN_TILE(2, 8)
NN_TILE(3, 8)
NN_TILE(4, 8)
NN_TILE(5, 8)
NN_TILE(6, 8)

/* Four columns (the n mod 8 >= 4 rest: rows of 100 = 6 x 16 + 4), in half vectors. */
typedef float v4 __attribute__((vector_size(16)));

#define NN_TILE4(MR)                                                                         \
    INLINE void nn_##MR##x4(int k, const float *A, ptrdiff_t ars, ptrdiff_t acs,            \
                            const float *B, ptrdiff_t ldb, float *C, ptrdiff_t ldc,         \
                            int accumulate)                                                 \
    {                                                                                        \
        v4 acc[MR];                                                                          \
        memset(acc, 0, sizeof acc);                                                          \
        for (int p = 0; p < k; p++) {                                                        \
            v4 b;                                                                            \
            memcpy(&b, B + p * ldb, sizeof b);                                               \
            for (int i = 0; i < MR; i++) {                                                   \
                float a = A[i * ars + p * acs];                                              \
                v4 av = {a, a, a, a};                                                        \
                acc[i] += av * b;                                                            \
            }                                                                                \
        }                                                                                    \
        for (int i = 0; i < MR; i++) {                                                       \
            if (accumulate) {                                                                \
                v4 c;                                                                        \
                memcpy(&c, C + i * ldc, sizeof c);                                           \
                acc[i] = c + acc[i];                                                         \
            }                                                                                \
            memcpy(C + i * ldc, &acc[i], sizeof acc[i]);                                     \
        }                                                                                    \
    }

NN_TILE4(1)
NN_TILE4(2)
NN_TILE4(3)
NN_TILE4(4)
NN_TILE4(5)
NN_TILE4(6)

#define NN_ROWS(NC, mr, ...)                                                                 \
    switch (mr) {                                                                            \
    case 1: nn_1x##NC(__VA_ARGS__); break;                                                   \
    case 2: nn_2x##NC(__VA_ARGS__); break;                                                   \
    case 3: nn_3x##NC(__VA_ARGS__); break;                                                   \
    case 4: nn_4x##NC(__VA_ARGS__); break;                                                   \
    case 5: nn_5x##NC(__VA_ARGS__); break;                                                   \
    default: nn_6x##NC(__VA_ARGS__); break;                                                  \
    }

CNF_CLONES
void cnf__gemm_nn(int m, int n, int k, const float *A, ptrdiff_t ars, ptrdiff_t acs,
                  const float *B, ptrdiff_t ldb, float *C, ptrdiff_t ldc, int accumulate)
{
    for (int i0 = 0; i0 < m; i0 += 6) {
        int mr = m - i0 < 6 ? m - i0 : 6, j = 0;
        const float *a = A + i0 * ars;
        float *c = C + i0 * ldc;
        if (mr == 1) /* one row (a dense node's input gradient): more sums in flight */
            for (; j + 32 <= n; j += 32)
                nn_1x32(k, a, ars, acs, B + j, ldb, c + j, ldc, accumulate);
        for (; j + 16 <= n; j += 16)
            NN_ROWS(16, mr, k, a, ars, acs, B + j, ldb, c + j, ldc, accumulate)
        for (; j + 8 <= n; j += 8)
            NN_ROWS(8, mr, k, a, ars, acs, B + j, ldb, c + j, ldc, accumulate)
        for (; j + 4 <= n; j += 4)
            NN_ROWS(4, mr, k, a, ars, acs, B + j, ldb, c + j, ldc, accumulate)
        for (; j < n; j++)
            for (int i = 0; i < mr; i++) {
                float s = 0;
                for (int p = 0; p < k; p++)
                    s += a[i * ars + p * acs] * B[p * ldb + j];
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
            }
    }
}

/* ----------------------------------------------------- C += chunks of A B
 *
 * MR rows by NC columns of C held in registers while the chunks pass: each chunk's products
 * summed from 0 in their own registers, then added to C's; C is loaded and stored once.
 * 3 x 16: 6 registers of C, 6 of the chunk's sums, 2 for B's row and 1 for A's value. */
#define CH_TILE(MR, NC)                                                                      \
    INLINE void ch_##MR##x##NC(int nc, const float *const *A, const float *const *B,        \
                               const int *k, ptrdiff_t ars, ptrdiff_t acs, ptrdiff_t ldb,    \
                               ptrdiff_t off, float *C, ptrdiff_t ldc)                       \
    {                                                                                        \
        v8 c[MR][NC / 8];                                                                    \
        for (int i = 0; i < MR; i++)                                                         \
            for (int v = 0; v < NC / 8; v++)                                                 \
                c[i][v] = load8(C + i * ldc + 8 * v);                                        \
        for (int q = 0; q < nc; q++) {                                                       \
            v8 acc[MR][NC / 8];                                                              \
            memset(acc, 0, sizeof acc);                                                      \
            for (int p = 0; p < k[q]; p++) {                                                 \
                v8 b[NC / 8];                                                                \
                for (int v = 0; v < NC / 8; v++)                                             \
                    b[v] = load8(B[q] + p * ldb + off + 8 * v);                              \
                for (int i = 0; i < MR; i++) {                                               \
                    float a = A[q][i * ars + p * acs];                                       \
                    v8 av = {a, a, a, a, a, a, a, a};                                        \
                    for (int v = 0; v < NC / 8; v++)                                         \
                        acc[i][v] += av * b[v];                                              \
                }                                                                            \
            }                                                                                \
            for (int i = 0; i < MR; i++)                                                     \
                for (int v = 0; v < NC / 8; v++)                                             \
                    c[i][v] = c[i][v] + acc[i][v];                                           \
        }                                                                                    \
        for (int i = 0; i < MR; i++)                                                         \
            memcpy(C + i * ldc, c[i], sizeof c[i]);                                          \
    }

#define CH_ROWS(NC, mr, ...)                                                                 \
    switch (mr) {                                                                            \
    case 1: ch_1x##NC(__VA_ARGS__); break;                                                   \
    case 2: ch_2x##NC(__VA_ARGS__); break;                                                   \
    default: ch_3x##NC(__VA_ARGS__); break;                                                  \
    }

CH_TILE(1, 16)
CH_TILE(2, 16)
CH_TILE(3, 16)
CH_TILE(1, 8)
CH_TILE(2, 8)
CH_TILE(3, 8)

CNF_CLONES
void cnf__gemm_chunks(int m, int n, int nc, const float *const *A, const float *const *B,
                      const int *k, ptrdiff_t ars, ptrdiff_t acs, ptrdiff_t ldb, float *C,
                      ptrdiff_t ldc)
{
    const float *a[CNF__GEMM_MAX_CHUNKS];
    if (nc > CNF__GEMM_MAX_CHUNKS) { /* in runs of the most it holds: the same order */
        for (int q = 0; q < nc; q += CNF__GEMM_MAX_CHUNKS)
            cnf__gemm_chunks(m, n, nc - q < CNF__GEMM_MAX_CHUNKS ? nc - q : CNF__GEMM_MAX_CHUNKS,
                             A + q, B + q, k + q, ars, acs, ldb, C, ldc);
        return;
    }
    for (int i0 = 0; i0 < m; i0 += 3) {
        int mr = m - i0 < 3 ? m - i0 : 3, j = 0;
        float *c = C + i0 * ldc;
        for (int q = 0; q < nc; q++)
            a[q] = A[q] + i0 * ars;
        for (; j + 16 <= n; j += 16)
            CH_ROWS(16, mr, nc, a, B, k, ars, acs, ldb, j, c + j, ldc)
        for (; j + 8 <= n; j += 8)
            CH_ROWS(8, mr, nc, a, B, k, ars, acs, ldb, j, c + j, ldc)
        for (; j < n; j++)
            for (int i = 0; i < mr; i++)
                for (int q = 0; q < nc; q++) {
                    float sum = 0;
                    for (int p = 0; p < k[q]; p++)
                        sum += a[q][i * ars + p * acs] * B[q][p * ldb + j];
                    c[i * ldc + j] = c[i * ldc + j] + sum;
                }
    }
}

/* ------------------------------------------------------------ C = A B^T
 *
 * RA rows of A against RB rows of B: RA x RB dot products of 8 lanes each, one vector
 * register a product (4 x 3: 12 registers, and 7 loads for 12 products a step). */
INLINE float lanes_sum(const v8 *v) /* by address: no vector crosses a call, even inlined */
{
    const v8 l = *v;
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

#define DOT_TILE(RA, RB)                                                                     \
    INLINE void dot_##RA##x##RB(int len, const float *A, ptrdiff_t lda, const float *B,     \
                                ptrdiff_t ldb, float *C, ptrdiff_t ldc, int accumulate)      \
    {                                                                                        \
        v8 l[RA][RB];                                                                        \
        int t = 0;                                                                           \
        memset(l, 0, sizeof l);                                                              \
        for (; t + 8 <= len; t += 8) {                                                       \
            v8 a[RA], b[RB];                                                                 \
            for (int i = 0; i < RA; i++)                                                     \
                a[i] = load8(A + i * lda + t);                                               \
            for (int j = 0; j < RB; j++)                                                     \
                b[j] = load8(B + j * ldb + t);                                               \
            for (int i = 0; i < RA; i++)                                                     \
                for (int j = 0; j < RB; j++)                                                 \
                    l[i][j] += a[i] * b[j];                                                  \
        }                                                                                    \
        for (int i = 0; i < RA; i++)                                                         \
            for (int j = 0; j < RB; j++) {                                                   \
                float s = lanes_sum(&l[i][j]);                                               \
                for (int u = t; u < len; u++)                                                \
                    s += A[i * lda + u] * B[j * ldb + u];                                    \
                C[i * ldc + j] = accumulate ? C[i * ldc + j] + s : s;                        \
            }                                                                                \
    }

DOT_TILE(8, 1)
DOT_TILE(1, 1)
DOT_TILE(2, 1)
DOT_TILE(3, 1)
DOT_TILE(4, 1)
DOT_TILE(1, 2)
DOT_TILE(2, 2)
DOT_TILE(3, 2)
DOT_TILE(4, 2)
DOT_TILE(1, 3)
DOT_TILE(2, 3)
DOT_TILE(3, 3)
DOT_TILE(4, 3)

#define DOT_ROWS(RB, ra, ...)                                                                \
    switch (ra) {                                                                            \
    case 1: dot_1x##RB(__VA_ARGS__); break;                                                  \
    case 2: dot_2x##RB(__VA_ARGS__); break;                                                  \
    case 3: dot_3x##RB(__VA_ARGS__); break;                                                  \
    default: dot_4x##RB(__VA_ARGS__); break;                                                 \
    }

/* Any m x n block, with the tiles above (the portable path, and the AVX2
 * path's edges). */
INLINE void dots_any(int m, int n, int len, const float *A, ptrdiff_t lda, const float *B,
                     ptrdiff_t ldb, float *C, ptrdiff_t ldc, int accumulate)
{
    int i = 0;
    if (n == 1) /* one row of B (a dense node's forward): eight rows of A at a time */
        for (; i + 8 <= m; i += 8)
            dot_8x1(len, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
    for (; i < m; i += 4) {
        int ra = m - i < 4 ? m - i : 4, j = 0;
        const float *a = A + i * lda;
        float *c = C + i * ldc;
        for (; j + 3 <= n; j += 3)
            DOT_ROWS(3, ra, len, a, lda, B + j * ldb, ldb, c + j, ldc, accumulate)
        if (n - j == 2)
            DOT_ROWS(2, ra, len, a, lda, B + j * ldb, ldb, c + j, ldc, accumulate)
        else if (n - j == 1)
            DOT_ROWS(1, ra, len, a, lda, B + j * ldb, ldb, c + j, ldc, accumulate)
    }
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(CNF_NO_CLONES)
#include <immintrin.h>

#define AVX2 static inline __attribute__((always_inline, target("avx2")))

/* lanes_sum of eight vectors at once: element q of the result is
 * ((v[q]0 + v[q]1) + (v[q]2 + v[q]3)) + ((v[q]4 + v[q]5) + (v[q]6 + v[q]7)): hadd adds
 * neighbours (the first level), hadd again the pairs (the second, for four
 * vectors in each 128-bit half), and the halves' sums are the third. */
AVX2 __m256 reduce8(const __m256 v[8])
{
    __m256 q = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    __m256 r = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(q, r, 0x20), _mm256_permute2f128_ps(q, r, 0x31));
}

/* Eight products at once, RA x RB = 8: product q is A row q / RB against B
 * row q % RB; their lanes reduced together, then the len mod 8 last terms
 * added one by one, eight products side by side.  Returns the eight sums. */
#define AVX2_TILE(RA, RB)                                                                    \
    AVX2 __m256 sums_##RA##x##RB(int len, const float *A, ptrdiff_t lda, const float *B,     \
                                 ptrdiff_t ldb)                                              \
    {                                                                                        \
        __m256 acc[8];                                                                       \
        int t = 0;                                                                           \
        for (int q = 0; q < 8; q++)                                                          \
            acc[q] = _mm256_setzero_ps();                                                    \
        for (; t + 8 <= len; t += 8) {                                                       \
            __m256 a[RA], b[RB];                                                             \
            for (int i = 0; i < RA; i++)                                                     \
                a[i] = _mm256_loadu_ps(A + i * lda + t);                                     \
            for (int j = 0; j < RB; j++)                                                     \
                b[j] = _mm256_loadu_ps(B + j * ldb + t);                                     \
            for (int q = 0; q < 8; q++)                                                      \
                acc[q] = _mm256_add_ps(acc[q], _mm256_mul_ps(a[q / RB], b[q % RB]));         \
        }                                                                                    \
        {                                                                                    \
            __m256 s = reduce8(acc);                                                         \
            for (; t < len; t++) {                                                           \
                float av[8], bv[8];                                                          \
                for (int q = 0; q < 8; q++) {                                                \
                    av[q] = A[q / RB * lda + t];                                             \
                    bv[q] = B[q % RB * ldb + t];                                             \
                }                                                                            \
                s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_loadu_ps(av), _mm256_loadu_ps(bv))); \
            }                                                                                \
            return s;                                                                        \
        }                                                                                    \
    }

AVX2_TILE(2, 4)
AVX2_TILE(8, 1)

/* C (+)= the sums, for output q at C[(q / RB) * ldc + q % RB]. */
AVX2 void put8(__m256 s, int rb, float *C, ptrdiff_t ldc, int accumulate)
{
    float v[8];
    _mm256_storeu_ps(v, s);
    for (int q = 0; q < 8; q++) {
        float *c = C + q / rb * ldc + q % rb;
        *c = accumulate ? *c + v[q] : v[q];
    }
}

__attribute__((target("avx2"))) static void dots_avx2(int m, int n, int len, const float *A,
                                                      ptrdiff_t lda, const float *B,
                                                      ptrdiff_t ldb, float *C, ptrdiff_t ldc,
                                                      int accumulate)
{
    int i = 0, j = 0;
    if (n == 1) {
        for (; i + 8 <= m; i += 8)
            put8(sums_8x1(len, A + i * lda, lda, B, ldb), 1, C + i * ldc, ldc, accumulate);
    } else {
        for (; i + 2 <= m; i += 2)
            for (j = 0; j + 4 <= n; j += 4)
                put8(sums_2x4(len, A + i * lda, lda, B + j * ldb, ldb), 4, C + i * ldc + j, ldc,
                     accumulate);
        if (j < n) /* the last columns of the rows done */
            dots_any(i, n - j, len, A, lda, B + j * ldb, ldb, C + j, ldc, accumulate);
    }
    if (i < m) /* the last rows */
        dots_any(m - i, n, len, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
}
#define HAVE_AVX2_DOTS 1
#endif

/* Not cloned: the AVX2 path is its own function (intrinsics: it reduces
 * eight products at once), chosen here; the portable one is dots_any. */
void cnf__gemm_dots(int m, int n, int len, const float *A, ptrdiff_t lda, const float *B,
                    ptrdiff_t ldb, float *C, ptrdiff_t ldc, int accumulate)
{
#ifdef HAVE_AVX2_DOTS
    if (__builtin_cpu_supports("avx2")) {
        dots_avx2(m, n, len, A, lda, B, ldb, C, ldc, accumulate);
        return;
    }
#endif
    dots_any(m, n, len, A, lda, B, ldb, C, ldc, accumulate);
}
