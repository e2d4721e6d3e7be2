/* nn_test_util.h - what the training engine's unit tests share: pipelines made by hand.
 *
 * Today's parser reads conv, activation, pool and combine layers; the learned layers
 * (flatten, dense, softmax, affine) and the learning flags (kernels by shape, "trainable",
 * "bias": false) are added here to parsed pipelines, as the parser will make them. */
#ifndef CNF_NN_TEST_UTIL_H
#define CNF_NN_TEST_UTIL_H

#include "test_util.h"

#include "../../src/lib/nn.h"

#include <stdint.h>

/* Parse {"layers": [layers]} or abort. */
static inline cnf_pipeline *t_pipe(const char *layers)
{
    char text[8192];
    cnf_pipeline *p = NULL;
    cnf_error e;
    snprintf(text, sizeof text, "{\"layers\": [%s]}", layers);
    if (cnf_pipeline_parse(text, strlen(text), "net.json", NULL, &p, &e) != CNF_OK) {
        fprintf(stderr, "pipeline %s: %s\n", layers, e.msg);
        abort();
    }
    return p;
}

/* A pipeline with no layers yet (add them with the functions below). */
static inline cnf_pipeline *t_empty(void)
{
    cnf_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    snprintf(p->name, sizeof p->name, "net.json");
    return p;
}

/* A new layer of `kind` at position `at` (p->n: at the end), with the
 * pipeline defaults. */
static inline cnf_pl_layer *t_insert(cnf_pipeline *p, int at, cnf_layer_kind kind,
                                     const char *type)
{
    cnf_pl_layer *L = realloc(p->layers, sizeof *L * (size_t)(p->n + 1));
    if (!L)
        abort();
    p->layers = L;
    memmove(&L[at + 1], &L[at], sizeof *L * (size_t)(p->n - at));
    p->n++;
    memset(&L[at], 0, sizeof *L);
    cnf_layer_init(&L[at].layer);
    L[at].kind = kind;
    L[at].line = 100 + at;
    L[at].col = 3;
    snprintf(L[at].type, sizeof L[at].type, "%s", type);
    return &L[at];
}

static inline void t_flatten(cnf_pipeline *p) { t_insert(p, p->n, CNF_LAYER_FLATTEN, "flatten"); }
static inline void t_softmax(cnf_pipeline *p) { t_insert(p, p->n, CNF_LAYER_SOFTMAX, "softmax"); }

static inline void t_affine(cnf_pipeline *p, int at, double scale, double shift)
{
    cnf_pl_layer *L = t_insert(p, at, CNF_LAYER_AFFINE, "affine");
    L->scale = scale;
    L->shift = shift;
}

/* A dense layer of `units`; w (units x in) and b copied when given. */
static inline cnf_pl_layer *t_dense(cnf_pipeline *p, int units, int in, const float *w,
                                    const float *b)
{
    cnf_pl_layer *L = t_insert(p, p->n, CNF_LAYER_DENSE, "dense");
    L->units = units;
    if (w) {
        L->in = in;
        L->w = malloc(sizeof(float) * (size_t)units * (size_t)in);
        memcpy(L->w, w, sizeof(float) * (size_t)units * (size_t)in);
    }
    if (b) {
        L->b = malloc(sizeof(float) * (size_t)units);
        memcpy(L->b, b, sizeof(float) * (size_t)units);
    }
    return L;
}

/* Make conv layer i given by shape: count kernels of kh x kw, no weights. */
static inline void t_shape_only(cnf_pipeline *p, int i, int count, int kh, int kw)
{
    cnf_pl_layer *L = &p->layers[i];
    for (int k = 0; L->kernels && k < L->layer.n_kernels; k++)
        cnf_kernel_free(L->kernels[k]);
    free(L->kernels);
    free(L->kptr);
    L->kernels = NULL;
    L->kptr = NULL;
    L->layer.kernels = NULL;
    L->layer.n_kernels = 0;
    L->shape_only = 1;
    L->count = count;
    L->kh = kh;
    L->kw = kw;
}

/* A small deterministic generator for test data: uniform in [0, 1). */
static inline double t_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) * (1.0 / 9007199254740992.0);
}

#endif
