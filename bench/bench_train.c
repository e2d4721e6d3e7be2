/* bench_train.c - the training engine: seconds per LeNet-5 epoch on random 28x28 digits.
 *
 * Usage: bench_train [SAMPLES [THREADS...]]   (default 60000 and 1 2: MNIST's training set)
 * LeNet-5 for 28x28 inputs: affine 1/255, conv 6 x 5x5 same, relu, max pool 2, conv 16 x 5x5
 * valid, relu, max pool 2, flatten, dense 120, relu, dense 84, relu, dense 10, softmax;
 * SGD lr 0.01, batch 32, cross entropy, one epoch.  The data are random bytes with random
 * labels (the time does not depend on the values).  Figures, never assertions.
 */
#define _POSIX_C_SOURCE 200809L
#include "cnnfilter.h"
#include "bench_util.h"
#include "../src/lib/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const LENET =
    "{\"layers\": [{\"type\": \"affine\", \"scale\": 0.00392156862745098, \"shift\": 0},"
    " {\"type\": \"conv\", \"kernels\": {\"count\": 6, \"size\": 5}, \"padding\": \"same\"},"
    " {\"type\": \"relu\"}, {\"type\": \"maxpool\"},"
    " {\"type\": \"conv\", \"kernels\": {\"count\": 16, \"size\": 5}, \"padding\": \"valid\"},"
    " {\"type\": \"relu\"}, {\"type\": \"maxpool\"}, {\"type\": \"flatten\"},"
    " {\"type\": \"dense\", \"units\": 120}, {\"type\": \"relu\"},"
    " {\"type\": \"dense\", \"units\": 84}, {\"type\": \"relu\"},"
    " {\"type\": \"dense\", \"units\": 10}, {\"type\": \"softmax\"}]}";

/* The same net made by hand, for a parser that does not read the learned
 * layers yet. */
static cnf_pipeline *lenet_by_hand(void)
{
    static const struct {
        cnf_layer_kind kind;
        const char *type;
        int a, b;
    } rows[] = {{CNF_LAYER_AFFINE, "affine", 0, 0}, {CNF_LAYER_CONV, "conv", 6, 1},
                {CNF_LAYER_ACT, "relu", 0, 0},      {CNF_LAYER_POOL, "maxpool", 0, 0},
                {CNF_LAYER_CONV, "conv", 16, 0},    {CNF_LAYER_ACT, "relu", 0, 0},
                {CNF_LAYER_POOL, "maxpool", 0, 0},  {CNF_LAYER_FLATTEN, "flatten", 0, 0},
                {CNF_LAYER_DENSE, "dense", 120, 0}, {CNF_LAYER_ACT, "relu", 0, 0},
                {CNF_LAYER_DENSE, "dense", 84, 0},  {CNF_LAYER_ACT, "relu", 0, 0},
                {CNF_LAYER_DENSE, "dense", 10, 0},  {CNF_LAYER_SOFTMAX, "softmax", 0, 0}};
    int n = (int)(sizeof rows / sizeof rows[0]);
    cnf_pipeline *p = calloc(1, sizeof *p);
    if (!p || !(p->layers = calloc((size_t)n, sizeof *p->layers)))
        return NULL;
    p->n = n;
    snprintf(p->name, sizeof p->name, "lenet5.json");
    for (int i = 0; i < n; i++) {
        cnf_pl_layer *L = &p->layers[i];
        cnf_layer_init(&L->layer);
        L->kind = rows[i].kind;
        snprintf(L->type, sizeof L->type, "%s", rows[i].type);
        if (L->kind == CNF_LAYER_AFFINE)
            L->scale = 1.0 / 255;
        if (L->kind == CNF_LAYER_CONV) {
            L->shape_only = 1;
            L->count = rows[i].a;
            L->kh = L->kw = 5;
            L->layer.channels = CNF_CH_SUM;
            L->layer.padding = rows[i].b ? CNF_PAD_SAME : CNF_PAD_VALID;
        }
        if (L->kind == CNF_LAYER_ACT)
            L->layer.activation = CNF_ACT_RELU;
        if (L->kind == CNF_LAYER_POOL)
            L->layer.pool = CNF_POOL_MAX;
        if (L->kind == CNF_LAYER_DENSE)
            L->units = rows[i].a;
    }
    return p;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 60000;
    unsigned char *px;
    int *labels;
    cnf_error e;
    if (n < 1 || !(px = malloc((size_t)n * 784)) || !(labels = malloc(sizeof(int) * (size_t)n))) {
        fprintf(stderr, "bench_train: bad sample count or out of memory\n");
        return 2;
    }
    for (size_t i = 0; i < (size_t)n * 784; i++)
        px[i] = (unsigned char)((i * 2654435761u) >> 24);
    for (int i = 0; i < n; i++)
        labels[i] = (int)(((unsigned)i * 2654435761u) >> 28) % 10;
    printf("LeNet-5 on %d random 28x28 samples, batch 32, SGD, one epoch\n", n);
    for (int a = argc > 2 ? 2 : 0; a < (argc > 2 ? argc : 2); a++) {
        int threads = argc > 2 ? atoi(argv[a]) : a + 1;
        cnf_pipeline *p = NULL;
        cnf_dataset d = {n, 28, 28, 1, px, NULL, labels};
        cnf_train_options o;
        cnf_epoch_stats s;
        double t0;
        if (cnf_pipeline_parse(LENET, strlen(LENET), "lenet5.json", NULL, &p, NULL) != CNF_OK)
            p = lenet_by_hand();
        cnf_train_options_init(&o);
        o.threads = threads;
        t0 = bench_now();
        if (!p || cnf_train(p, &d, &o, &s, &e) != CNF_OK) {
            fprintf(stderr, "bench_train: %s\n", p ? e.msg : "out of memory");
            return 1;
        }
        printf("threads %d: %.2f s per epoch (%.1f us per sample), loss %.4f\n", threads,
               bench_now() - t0, (bench_now() - t0) / n * 1e6, s.loss);
        cnf_pipeline_free(p);
    }
    free(px);
    free(labels);
    return 0;
}
