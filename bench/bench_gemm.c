/* bench_gemm.c - how close the training engine comes to this CPU's limit, in multiply-adds/s.
 *
 * Usage: bench_gemm [RUNS]   (default 7; medians)
 *
 * 1. The CPU's peak on one core, measured: 12 independent chains of 8-float AVX2 fused
 *    multiply-adds (the AVX2/FMA peak), and of separate multiplies and adds (what the
 *    engine's products use: no FMA, so that every CPU gives the same bits).
 * 2. Each matrix product of a LeNet-5 training step (28x28 input: conv 6x5x5 pad 2, pool,
 *    conv 16x5x5, pool, dense 120, 84, 10) alone, its operands in cache, one thread.
 * 3. The whole engine: one thread training LeNet-5 (SGD, batch 64) and running it forward,
 *    on random samples: its multiply-adds per sample (counted from the shapes) times the
 *    samples per second, everything included (im2col, pooling, activations, the update).
 * Figures, never assertions.
 */
#define _POSIX_C_SOURCE 200809L
#include "cnnfilter.h"
#include "bench_util.h"
#include "../src/lib/nn_gemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int runs = 7;

/* ------------------------------------------------------------------ peaks */

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define CHAINS 12
/* CHAINS independent chains acc = acc * a + b of 8 floats, STEP doing one
 * step: the multiply-adds per second of one core. */
#define PEAK(NAME, TARGET, STEP)                                                             \
    __attribute__((target(TARGET))) static double NAME(long iters)                           \
    {                                                                                        \
        __m256 acc[CHAINS], a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-7f);           \
        float sink[8];                                                                       \
        double t0;                                                                           \
        for (int c = 0; c < CHAINS; c++)                                                     \
            acc[c] = _mm256_set1_ps((float)c);                                               \
        t0 = bench_now();                                                                    \
        for (long i = 0; i < iters; i++)                                                     \
            for (int c = 0; c < CHAINS; c++)                                                 \
                acc[c] = STEP;                                                               \
        t0 = bench_now() - t0;                                                               \
        for (int c = 1; c < CHAINS; c++)                                                     \
            acc[0] = _mm256_add_ps(acc[0], acc[c]);                                          \
        _mm256_storeu_ps(sink, acc[0]);                                                      \
        if (sink[0] == 12345.f) /* keep the sums alive */                                    \
            puts("");                                                                        \
        return (double)iters * CHAINS * 8 / t0;                                              \
    }

/* One fused multiply-add; a multiply, then an add (the engine's instructions). */
PEAK(peak_fma, "avx2,fma", _mm256_fmadd_ps(acc[c], a, b))
PEAK(peak_mul_add, "avx2", _mm256_add_ps(_mm256_mul_ps(acc[c], a), b))

static double median_of(double (*f)(long), long iters)
{
    double t[31];
    for (int r = 0; r < runs; r++)
        t[r] = f(iters);
    return bench_median(t, runs);
}
#endif

/* --------------------------------------------------------------- products */

typedef struct product {
    const char *name;
    int dots;          /* cnf__gemm_dots (C = A B^T), else cnf__gemm_nn */
    int m, n, k, tr;   /* tr: A transposed (nn) */
} product;

/* One LeNet-5 sample's products, as the fast path calls them. */
static const product LENET[] = {
    {"conv1 forward        6 x 784 x 25", 0, 6, 784, 25, 0},
    {"conv2 forward       16 x 100 x 150", 0, 16, 100, 150, 0},
    {"dense1 forward     120 x 400", 1, 120, 1, 400, 0},
    {"dense2 forward      84 x 120", 1, 84, 1, 120, 0},
    {"conv1 weight grad    6 x 25 x 784", 1, 6, 25, 784, 0},
    {"conv2 weight grad   16 x 150 x 100", 1, 16, 150, 100, 0},
    {"conv2 input grad   150 x 100 x 16", 0, 150, 100, 16, 1},
    {"dense1 input grad    1 x 400 x 120", 0, 1, 400, 120, 0},
};

static double product_rate(const product *p, float *A, float *B, float *C)
{
    double t[31];
    int reps = (int)(4e7 / ((double)p->m * p->n * p->k)) + 1;
    for (int r = 0; r < runs; r++) {
        double t0 = bench_now();
        for (int i = 0; i < reps; i++) {
            if (p->dots)
                cnf__gemm_dots(p->m, p->n, p->k, A, p->k, B, p->k, C, p->n, 1);
            else if (p->tr)
                cnf__gemm_nn(p->m, p->n, p->k, A, 1, p->m, B, p->n, C, p->n, 0);
            else
                cnf__gemm_nn(p->m, p->n, p->k, A, p->k, 1, B, p->n, C, p->n, 0);
        }
        t[r] = (bench_now() - t0) / reps;
    }
    return (double)p->m * p->n * p->k / bench_median(t, runs);
}

/* ------------------------------------------------------------ the engine */

static const char *const NET =
    "{\"layers\": [{\"type\": \"affine\", \"scale\": 0.0111092596, \"shift\": -0.8101983},"
    " {\"type\": \"conv\", \"kernels\": {\"count\": 6, \"size\": 5}, \"padding\": 2},"
    " {\"type\": \"relu\"}, {\"type\": \"maxpool\", \"size\": 2},"
    " {\"type\": \"conv\", \"kernels\": {\"count\": 16, \"size\": 5}, \"padding\": \"valid\"},"
    " {\"type\": \"relu\"}, {\"type\": \"maxpool\", \"size\": 2}, {\"type\": \"flatten\"},"
    " {\"type\": \"dense\", \"units\": 120}, {\"type\": \"relu\"},"
    " {\"type\": \"dense\", \"units\": 84}, {\"type\": \"relu\"},"
    " {\"type\": \"dense\", \"units\": 10}, {\"type\": \"softmax\"}]}";

/* Multiply-adds of one sample: forward, and forward + backward (conv1's input gradient is
 * not needed: nothing before it learns). */
static const double FWD_MACS = 28.0 * 28 * 6 * 25 + 10.0 * 10 * 16 * 150 + 400.0 * 120 +
                               120.0 * 84 + 84.0 * 10;
static const double TRAIN_MACS = 2 * (28.0 * 28 * 6 * 25) + 3 * (10.0 * 10 * 16 * 150) +
                                 3 * (400.0 * 120 + 120.0 * 84 + 84.0 * 10);

int main(int argc, char **argv)
{
    int n = 6000;
    float *A = malloc(sizeof(float) * 200 * 800), *B = malloc(sizeof(float) * 200 * 800);
    float *C = malloc(sizeof(float) * 200 * 800);
    unsigned char *px = malloc((size_t)n * 784);
    int *labels = malloc(sizeof(int) * (size_t)n);
    double peak = 0, t[31];
    cnf_error e;
    if (argc > 1)
        runs = atoi(argv[1]) < 1 ? 1 : atoi(argv[1]) > 31 ? 31 : atoi(argv[1]);
    if (!A || !B || !C || !px || !labels)
        return 2;
    for (int i = 0; i < 200 * 800; i++) {
        A[i] = (float)(((unsigned)i * 7919u) % 1000) / 1000.f - 0.5f;
        B[i] = (float)(((unsigned)i * 104729u) % 1000) / 1000.f - 0.5f;
        C[i] = 0;
    }
    printf("## Multiply-adds per second, one thread (medians of %d)\n\n", runs);
    printf("| what | GMAC/s | of the FMA peak |\n|---|---:|---:|\n");
#if defined(__GNUC__) && defined(__x86_64__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        double mul_add;
        peak = median_of(peak_fma, 20000000);
        mul_add = median_of(peak_mul_add, 20000000);
        printf("| CPU peak: AVX2 fused multiply-add, 12 chains | %.1f | 100 %% |\n", peak / 1e9);
        printf("| CPU peak: AVX2 multiply, then add (the engine's instructions) | %.1f | %.0f %% |\n",
               mul_add / 1e9, 100 * mul_add / peak);
    }
#endif
    for (size_t i = 0; i < sizeof LENET / sizeof LENET[0]; i++) {
        double r = product_rate(&LENET[i], A, B, C);
        printf("| %s | %.1f | ", LENET[i].name, r / 1e9);
        printf(peak > 0 ? "%.0f %% |\n" : "- |\n", peak > 0 ? 100 * r / peak : 0.0);
    }
    for (size_t i = 0; i < (size_t)n * 784; i++)
        px[i] = (unsigned char)((i * 2654435761u) >> 24);
    for (int i = 0; i < n; i++)
        labels[i] = (int)(((unsigned)i * 2654435761u) >> 28) % 10;
    for (int pass = 0; pass < 2; pass++) {
        cnf_dataset d = {n, 28, 28, 1, px, NULL, labels};
        int r_runs = runs < 3 ? runs : 3;
        for (int r = 0; r < r_runs; r++) {
            cnf_pipeline *p = NULL;
            cnf_net *net = NULL;
            double t0;
            if (cnf_pipeline_parse(NET, strlen(NET), "lenet5.json", NULL, &p, &e))
                return 1;
            if (pass == 0) {
                cnf_train_options o;
                cnf_train_options_init(&o);
                o.batch = 64;
                t0 = bench_now();
                if (cnf_train(p, &d, &o, NULL, &e))
                    return 1;
                t[r] = bench_now() - t0;
            } else {
                float *out = malloc(sizeof(float) * 10 * (size_t)n);
                cnf_train_options o;
                cnf_train_options_init(&o);
                o.epochs = 0; /* weights drawn, no step: a net to run */
                if (!out || cnf_train(p, &d, &o, NULL, &e) ||
                    cnf_net_create(p, 28, 28, 1, 0, &net, &e))
                    return 1;
                t0 = bench_now();
                if (cnf_net_forward(net, &d, 0, n, 1, out, &e))
                    return 1;
                t[r] = bench_now() - t0;
                cnf_net_free(net);
                free(out);
            }
            cnf_pipeline_free(p);
        }
        {
            double sec = bench_median(t, r_runs), macs = pass ? FWD_MACS : TRAIN_MACS;
            printf("| whole engine, LeNet-5 %s (%.0f MAC a sample, %.1f us) | %.1f | ",
                   pass ? "forward" : "training step", macs, sec / n * 1e6,
                   macs * n / sec / 1e9);
            printf(peak > 0 ? "%.0f %% |\n" : "- |\n", peak > 0 ? 100 * macs * n / sec / peak : 0.0);
        }
    }
    free(A);
    free(B);
    free(C);
    free(px);
    free(labels);
    return 0;
}
