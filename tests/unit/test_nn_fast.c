/* test_nn_fast.c - the training engine's fast path gives the reference loops' bits.
 *
 * Each net is built twice from one pipeline, with the fast path where a node's shape allows
 * and with CNF__NN_REFERENCE (the plain loops), given the same drawn parameters and inputs;
 * every activation, every parameter gradient and the input's gradient must be the same
 * bytes, sample after sample (the gradients summed over several).  The nets cover the shapes
 * the fast path takes (LeNet-5; strides, dilation, replicate borders, non-square kernels,
 * several input channels, min pooling, sizes that are not multiples of 8, zero padding
 * copied into padded planes, even kernels padded more on one side) and check that it
 * was taken where it should be.  A chunk's gradient made with the dense nodes' records and
 * one flush must equal the reference's sample by sample, and cnf_train the same bytes on
 * both paths with any thread count.  The AVX2 and the portable builds
 * of the products
 * (nn_gemm.c, built a second time here without the AVX2 clone) must agree too. */
#include "nn_test_util.h"

#include "../../src/lib/nn_gemm.h"

/* nn_gemm.c built without clones, under these names (tests/CMakeLists.txt). */
void cnf__gemm_nn_portable(int m, int n, int k, const float *A, ptrdiff_t ars, ptrdiff_t acs,
                           const float *B, ptrdiff_t ldb, float *C, ptrdiff_t ldc, int accumulate);
void cnf__gemm_chunks_portable(int m, int n, int nc, const float *const *A,
                               const float *const *B, const int *k, ptrdiff_t ars,
                               ptrdiff_t acs, ptrdiff_t ldb, float *C, ptrdiff_t ldc);
void cnf__gemm_dots_portable(int m, int n, int len, const float *A, ptrdiff_t lda,
                             const float *B, ptrdiff_t ldb, float *C, ptrdiff_t ldc,
                             int accumulate);

static const char *const LENET =
    "{\"type\": \"affine\", \"scale\": 0.0111092596, \"shift\": -0.8101983},"
    "{\"type\": \"conv\", \"kernels\": {\"count\": 6, \"size\": 5}, \"padding\": 2},"
    "{\"type\": \"relu\"}, {\"type\": \"maxpool\", \"size\": 2},"
    "{\"type\": \"conv\", \"kernels\": {\"count\": 16, \"size\": 5}, \"padding\": \"valid\"},"
    "{\"type\": \"relu\"}, {\"type\": \"maxpool\", \"size\": 2}, {\"type\": \"flatten\"},"
    "{\"type\": \"dense\", \"units\": 120}, {\"type\": \"relu\"},"
    "{\"type\": \"dense\", \"units\": 84}, {\"type\": \"relu\"},"
    "{\"type\": \"dense\", \"units\": 10}, {\"type\": \"softmax\"}";

/* Replicate borders, stride 2, a 2 x 3 kernel with dilation 2, 3 input
 * channels, min pooling on odd sizes whose windows all fit, dense sizes that
 * are not multiples of 8, tanh. */
static const char *const ODD =
    "{\"type\": \"conv\", \"kernels\": {\"count\": 4, \"size\": 3}, \"border\": \"replicate\","
    " \"stride\": 2},"
    "{\"type\": \"leaky_relu\"},"
    "{\"type\": \"conv\", \"kernels\": {\"count\": 7, \"size\": [2, 3]}, \"dilation\": 2},"
    "{\"type\": \"minpool\", \"size\": 2}, {\"type\": \"tanh\"}, {\"type\": \"flatten\"},"
    "{\"type\": \"dense\", \"units\": 13}, {\"type\": \"relu\"},"
    "{\"type\": \"dense\", \"units\": 5}, {\"type\": \"softmax\"}";

/* Zero borders at stride 1 (im2col from zero-padded planes): an even kernel
 * padded 'same' (more on one side), a 3 x 5 kernel padded 1, rows of 9 and
 * 13 values (not whole vectors of 8). */
static const char *const PADDED =
    "{\"type\": \"conv\", \"kernels\": {\"count\": 3, \"size\": 4}},"
    "{\"type\": \"relu\"},"
    "{\"type\": \"conv\", \"kernels\": {\"count\": 5, \"size\": [3, 5]}, \"padding\": 1},"
    "{\"type\": \"maxpool\", \"size\": 2}, {\"type\": \"flatten\"},"
    "{\"type\": \"dense\", \"units\": 9}, {\"type\": \"softmax\"}";

/* Shapes the fast path leaves to the reference loops: per-channel maps (2-D
 * kernels on each of 3 channels), 3 x 3 pooling, average pooling. */
static const char *const SLOW =
    "{\"type\": \"conv\", \"kernels\": [\"sobel_v\", \"laplacian\"], \"channels\": \"rgb\"},"
    "{\"type\": \"maxpool\", \"size\": 3}, {\"type\": \"avgpool\", \"size\": 2},"
    "{\"type\": \"flatten\"}, {\"type\": \"dense\", \"units\": 3}, {\"type\": \"softmax\"}";

typedef struct side {
    nn_net n;
    nn_work w;
} side;

static void build(side *s, cnf_pipeline *p, int w, int h, int c, int flags)
{
    cnf_error e;
    if (cnf__nn_build(p, w, h, c, CNF__NN_TRAIN | flags, &s->n, &e) ||
        cnf__nn_params(&s->n, p, 7, &e) || cnf__nn_work_alloc(&s->n, 1, &s->w, &e)) {
        fprintf(stderr, "build: %s\n", e.msg);
        abort();
    }
    memset(s->w.grad, 0, sizeof(float) * (s->n.n_params + 1));
}

static void release(side *f, side *r, cnf_pipeline *p)
{
    cnf__nn_work_free(&f->w);
    cnf__nn_work_free(&r->w);
    cnf__nn_free(&f->n);
    cnf__nn_free(&r->n);
    cnf_pipeline_free(p);
}

/* One random sample (integers 0..255) into both sides, forward. */
static void forward_both(side *f, side *r, uint64_t *seed)
{
    float *in_f = f->w.act, *in_r = r->w.act;
    for (size_t i = 0; i < f->n.n_in; i++)
        in_f[i] = in_r[i] = (float)(int)(256 * t_rand(seed));
    f->n.m->forward(&f->n, &f->w);
    r->n.m->forward(&r->n, &r->w);
}

static int count_fast(const nn_net *n, nn_op op)
{
    int k = 0;
    for (int i = 0; i < n->n_nodes; i++)
        k += n->nodes[i].op == op && n->nodes[i].fast;
    return k;
}

/* `samples` random samples through both sides (grad_input: every node's
 * input gradient too); returns whether all agreed to the byte. */
static int same_bits(const char *layers, int w, int h, int c, int grad_input, int samples,
                     const int expect_fast[3])
{
    cnf_pipeline *p = t_pipe(layers);
    side f, r;
    int flags = grad_input ? CNF__NN_GRAD_INPUT : 0, ok = 1;
    uint64_t seed = 99;
    build(&f, p, w, h, c, flags);
    build(&r, p, w, h, c, flags | CNF__NN_REFERENCE);
    CHECK_EQ_INT(count_fast(&f.n, NN_CONV), expect_fast[0]);
    CHECK_EQ_INT(count_fast(&f.n, NN_POOL), expect_fast[1]);
    CHECK_EQ_INT(count_fast(&f.n, NN_DENSE), expect_fast[2]);
    CHECK_EQ_INT(count_fast(&r.n, NN_CONV) + count_fast(&r.n, NN_POOL) +
                     count_fast(&r.n, NN_DENSE), 0);
    CHECK(memcmp(f.n.params, r.n.params, sizeof(float) * f.n.n_params) == 0);
    for (int s = 0; s < samples && ok; s++) {
        float *gf, *gr;
        int pf, pr, from_f, from_r, label = s % (int)f.n.n_out;
        double lf, lr;
        forward_both(&f, &r, &seed);
        ok &= memcmp(f.w.act, r.w.act, sizeof(float) * f.n.act_size) == 0;
        lf = f.n.m->loss(&f.n, &f.w, label, CNF_LOSS_CROSS_ENTROPY, 1, &pf, &from_f);
        lr = r.n.m->loss(&r.n, &r.w, label, CNF_LOSS_CROSS_ENTROPY, 1, &pr, &from_r);
        ok &= lf == lr && pf == pr && from_f == from_r;
        gf = f.n.m->backward(&f.n, &f.w, from_f, 0);
        gr = r.n.m->backward(&r.n, &r.w, from_r, 0);
        ok &= !gf == !gr && !!gf == grad_input;
        ok &= !gf || memcmp(gf, gr, sizeof(float) * f.n.n_in) == 0;
        ok &= memcmp(f.w.grad, r.w.grad, sizeof(float) * f.n.n_params) == 0;
    }
    CHECK(ok);
    release(&f, &r, p);
    return ok;
}

/* A chunk's gradient as the trainer makes it: the fast side records its
 * dense nodes' samples and flushes them at the chunk's end; the reference
 * adds sample by sample; both start from zero.  Chunks of `n` samples. */
static int same_chunk_bits(const char *layers, int w, int h, int c, int n)
{
    cnf_pipeline *p = t_pipe(layers);
    side f, r;
    int ok = 1, recorded = 0;
    uint64_t seed = 3;
    build(&f, p, w, h, c, 0);
    build(&r, p, w, h, c, CNF__NN_REFERENCE);
    for (int i = 0; i < f.n.n_ranges; i++)
        recorded += f.n.ranges[i].recorded;
    CHECK(recorded > 0);
    for (int chunk = 0; chunk < 3; chunk++) {
        memset(f.w.grad, 0, sizeof(float) * f.n.n_params);
        memset(r.w.grad, 0, sizeof(float) * r.n.n_params);
        for (int s = 0; s < n; s++) {
            int pf, pr, from_f, from_r;
            forward_both(&f, &r, &seed);
            f.n.m->loss(&f.n, &f.w, s % 3, CNF_LOSS_CROSS_ENTROPY, 1, &pf, &from_f);
            r.n.m->loss(&r.n, &r.w, s % 3, CNF_LOSS_CROSS_ENTROPY, 1, &pr, &from_r);
            f.n.m->backward(&f.n, &f.w, from_f, 1);
            r.n.m->backward(&r.n, &r.w, from_r, 0);
        }
        CHECK_EQ_INT(f.w.n_rec, n);
        f.n.m->flush(&f.n, &f.w);
        CHECK_EQ_INT(f.w.n_rec, 0);
        ok &= memcmp(f.w.grad, r.w.grad, sizeof(float) * f.n.n_params) == 0;
    }
    CHECK(ok);
    release(&f, &r, p);
    return ok;
}

static int test_recorded_chunks(void)
{
    return same_chunk_bits(LENET, 28, 28, 1, CNF__NN_CHUNK) &&
           same_chunk_bits(LENET, 28, 28, 1, 1) && same_chunk_bits(ODD, 23, 19, 3, 3);
}

static int test_lenet(void)
{
    static const int fast[3] = {2, 2, 3};
    return same_bits(LENET, 28, 28, 1, 0, 6, fast) && same_bits(LENET, 28, 28, 1, 1, 3, fast);
}

static int test_odd_shapes(void)
{
    static const int fast[3] = {2, 1, 2};
    return same_bits(ODD, 23, 19, 3, 1, 5, fast) && same_bits(ODD, 23, 19, 3, 0, 2, fast);
}

static int test_padded_planes(void)
{
    static const int fast[3] = {2, 1, 1};
    nn_net n;
    cnf_error e;
    cnf_pipeline *p = t_pipe(PADDED);
    CHECK_EQ_INT(cnf__nn_build(p, 13, 9, 3, CNF__NN_TRAIN, &n, &e), CNF_OK);
    CHECK(n.nodes[0].padcopy && n.nodes[2].padcopy);
    cnf__nn_free(&n);
    cnf_pipeline_free(p);
    return same_bits(PADDED, 13, 9, 3, 1, 4, fast) && same_bits(PADDED, 13, 9, 3, 0, 2, fast);
}

static int test_reference_shapes(void)
{
    static const int fast[3] = {0, 0, 1};
    return same_bits(SLOW, 12, 11, 3, 1, 3, fast);
}

/* Every learned weight of two trained pipelines, to the byte. */
static int same_weights(const cnf_pipeline *a, const cnf_pipeline *b)
{
    int ok = a->n == b->n;
    for (int i = 0; ok && i < a->n; i++) {
        const cnf_pl_layer *x = &a->layers[i], *y = &b->layers[i];
        ok &= x->layer.n_kernels == y->layer.n_kernels && x->units == y->units && x->in == y->in;
        for (int k = 0; ok && k < x->layer.n_kernels; k++) {
            const cnf_kernel *p = x->kernels[k], *q = y->kernels[k];
            size_t n = (size_t)p->w * (size_t)p->h * (size_t)p->depth;
            ok &= p->bias == q->bias && memcmp(p->weights, q->weights, sizeof(double) * n) == 0;
        }
        if (ok && x->w)
            ok &= memcmp(x->w, y->w, sizeof(float) * (size_t)x->units * (size_t)x->in) == 0;
        if (ok && x->b)
            ok &= memcmp(x->b, y->b, sizeof(float) * (size_t)x->units) == 0;
    }
    return ok;
}

/* cnf_train itself, on the fast path and on the reference loops
 * (cnf__nn_reference), with 1 and 3 threads: the same trained weights to
 * the byte (Adam, batches of 10: whole and partial chunks, several rounds). */
static int test_training_gives_the_reference_bytes(void)
{
    enum { N = 70 };
    static unsigned char px[N * 784];
    static int labels[N];
    cnf_pipeline *p[4];
    uint64_t seed = 11;
    int ok = 1;
    for (int i = 0; i < N * 784; i++)
        px[i] = (unsigned char)(256 * t_rand(&seed));
    for (int i = 0; i < N; i++)
        labels[i] = (int)(10 * t_rand(&seed));
    for (int c = 0; c < 4; c++) {
        cnf_dataset d = {N, 28, 28, 1, px, NULL, labels};
        cnf_train_options o;
        cnf_error e;
        cnf_train_options_init(&o);
        o.optimizer = CNF_OPT_ADAM;
        o.lr = 0.001;
        o.batch = 10;
        o.epochs = 2;
        o.seed = 5;
        o.threads = c & 1 ? 3 : 1;
        cnf__nn_reference = c >= 2;
        p[c] = t_pipe(LENET);
        CHECK_EQ_INT(cnf_train(p[c], &d, &o, NULL, &e), CNF_OK);
    }
    cnf__nn_reference = 0;
    for (int c = 1; c < 4; c++)
        ok &= same_weights(p[0], p[c]);
    CHECK(ok);
    for (int c = 0; c < 4; c++)
        cnf_pipeline_free(p[c]);
    return ok;
}

/* The products on shapes around their tiles (6 x 16 and 4 x 3 blocks, 8
 * lanes), the AVX2 clone (when the CPU has AVX2) against the portable one. */
static int test_clones(void)
{
    static const int dims[] = {1, 3, 5, 6, 7, 8, 9, 13, 16, 17, 31, 33, 40};
    int nd = (int)(sizeof dims / sizeof dims[0]), ok = 1;
    uint64_t seed = 5;
    float *A = malloc(sizeof(float) * 40 * 40), *B = malloc(sizeof(float) * 40 * 40);
    float *C1 = malloc(sizeof(float) * 40 * 40), *C2 = malloc(sizeof(float) * 40 * 40);
    for (int i = 0; i < 1600; i++) {
        A[i] = (float)(t_rand(&seed) - 0.5);
        B[i] = (float)(t_rand(&seed) * 3 - 1);
    }
    for (int a = 0; a < nd; a++)
        for (int b = 0; b < nd; b++)
            for (int c = 0; c < nd; c += 3) {
                int m = dims[a], n = dims[b], k = dims[c];
                cnf__gemm_nn(m, n, k, A, k, 1, B, n, C1, n, 0);
                cnf__gemm_nn_portable(m, n, k, A, k, 1, B, n, C2, n, 0);
                ok &= memcmp(C1, C2, sizeof(float) * (size_t)(m * n)) == 0;
                cnf__gemm_nn(m, n, k, A, 1, m, B, n, C1, n, 0); /* A transposed */
                cnf__gemm_nn_portable(m, n, k, A, 1, m, B, n, C2, n, 0);
                ok &= memcmp(C1, C2, sizeof(float) * (size_t)(m * n)) == 0;
                cnf__gemm_nn(m, n, k, A, k, 1, B, n, C1, n, 1); /* C + the sums */
                cnf__gemm_nn_portable(m, n, k, A, k, 1, B, n, C2, n, 1);
                ok &= memcmp(C1, C2, sizeof(float) * (size_t)(m * n)) == 0;
                memcpy(C2, C1, sizeof(float) * (size_t)(m * n));
                cnf__gemm_dots(m, n, k, A, k, B, k, C1, n, 1);
                cnf__gemm_dots_portable(m, n, k, A, k, B, k, C2, n, 1);
                ok &= memcmp(C1, C2, sizeof(float) * (size_t)(m * n)) == 0;
            }
    /* chunks of products added in order: the same as one accumulating product a chunk,
     * for the AVX2 and the portable builds, with chunks of 0 to 5 terms */
    for (int a = 0; a < nd; a += 2)
        for (int b = 0; b < nd; b++) {
            int m = dims[a], n = dims[b], k[7] = {4, 1, 0, 5, 4, 2, 3};
            const float *pa[7], *pb[7];
            float *C3 = malloc(sizeof(float) * 40 * 40);
            for (int q = 0; q < 7; q++) {
                pa[q] = A + 3 * q;       /* A_q(i, p) = A[3q + i + 40 p] */
                pb[q] = B + 37 * q % 200; /* B_q[p][j] = B[37q mod 200 + 40 p + j] */
            }
            for (int i = 0; i < m * n; i++)
                C1[i] = C2[i] = C3[i] = (float)(i % 7) - 3;
            cnf__gemm_chunks(m, n, 7, pa, pb, k, 1, 40, 40, C1, n);
            cnf__gemm_chunks_portable(m, n, 7, pa, pb, k, 1, 40, 40, C2, n);
            for (int q = 0; q < 7; q++)
                cnf__gemm_nn(m, n, k[q], pa[q], 1, 40, pb[q], 40, C3, n, 1);
            ok &= memcmp(C1, C2, sizeof(float) * (size_t)(m * n)) == 0;
            ok &= memcmp(C1, C3, sizeof(float) * (size_t)(m * n)) == 0;
            free(C3);
        }
    /* and one value by hand: [1 2; 3 4] x [5 6; 7 8] = [19 22; 43 50] */
    {
        const float a[4] = {1, 2, 3, 4}, b2[4] = {5, 6, 7, 8}, want[4] = {19, 22, 43, 50};
        float c[4], d[4];
        cnf__gemm_nn(2, 2, 2, a, 2, 1, b2, 2, c, 2, 0);
        cnf__gemm_dots(2, 2, 2, a, 2, b2, 2, d, 2, 0); /* a b2^T = [17 23; 39 53] */
        ok &= memcmp(c, want, sizeof c) == 0;
        cnf__gemm_nn(2, 2, 2, a, 2, 1, b2, 2, c, 2, 1); /* twice that */
        ok &= c[0] == 38 && c[1] == 44 && c[2] == 86 && c[3] == 100;
        ok &= d[0] == 17 && d[1] == 23 && d[2] == 39 && d[3] == 53;
    }
    CHECK(ok);
    free(A);
    free(B);
    free(C1);
    free(C2);
    return ok;
}

int main(void)
{
    RUN(test_lenet);
    RUN(test_odd_shapes);
    RUN(test_padded_planes);
    RUN(test_reference_shapes);
    RUN(test_recorded_chunks);
    RUN(test_training_gives_the_reference_bytes);
    RUN(test_clones);
    return t_finish("nn_fast");
}
