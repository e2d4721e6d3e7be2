/* test_nn_train.c - cnf_train: determinism over threads and runs, optimizer steps by hand,
 * seeded initialisation, epoch statistics and validation, frozen and bias-free layers,
 * writing the weights back, errors and the memory check. */
#include "nn_test_util.h"

/* A small classifier on 1 x 8 x 8: conv 4 x 3x3 (by shape) same, relu,
 * max pool 2, flatten, dense 10 (no weights), softmax. */
static cnf_pipeline *small_net(void)
{
    cnf_pipeline *p = t_pipe("{\"type\": \"conv\", \"kernels\": [\"[[1]]\"]}, {\"type\":"
                             " \"relu\"}, {\"type\": \"maxpool\"}");
    t_shape_only(p, 0, 4, 3, 3);
    t_affine(p, 0, 1.0 / 255, 0);
    t_flatten(p);
    t_dense(p, 10, 0, NULL, NULL);
    t_softmax(p);
    return p;
}

typedef struct data_set {
    unsigned char *u8;
    int *labels;
    cnf_dataset d;
} data_set;

static data_set random_data(int n, int c, int h, int w, uint64_t seed)
{
    data_set s;
    s.u8 = malloc((size_t)n * c * h * w);
    s.labels = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n * c * h * w; i++)
        s.u8[i] = (unsigned char)(256 * t_rand(&seed));
    for (int i = 0; i < n; i++)
        s.labels[i] = i % 10;
    s.d = (cnf_dataset){n, w, h, c, s.u8, NULL, s.labels};
    return s;
}

static void data_free(data_set *s)
{
    free(s->u8);
    free(s->labels);
}

/* Every weight and bias of p, as float32, appended to out (n values). */
static int weights(const cnf_pipeline *p, float *out)
{
    int n = 0;
    for (int i = 0; i < p->n; i++) {
        const cnf_pl_layer *L = &p->layers[i];
        for (int k = 0; L->kind == CNF_LAYER_CONV && k < L->layer.n_kernels; k++) {
            const cnf_kernel *K = L->kernels[k];
            for (int t = 0; t < K->w * K->h * K->depth; t++)
                out[n++] = (float)K->weights[t];
            out[n++] = (float)K->bias;
        }
        for (int t = 0; L->kind == CNF_LAYER_DENSE && L->w && t < L->units * L->in; t++)
            out[n++] = L->w[t];
        for (int t = 0; L->kind == CNF_LAYER_DENSE && L->b && t < L->units; t++)
            out[n++] = L->b[t];
    }
    return n;
}

/* Train a fresh small net; its weights into w (returns how many). */
static int train_small(const cnf_train_options *o, const cnf_dataset *d, float *w,
                       cnf_epoch_stats *last)
{
    cnf_pipeline *p = small_net();
    cnf_error e;
    int n = 0;
    if (cnf_train(p, d, o, last, &e) != CNF_OK)
        fprintf(stderr, "train: %s\n", e.msg);
    else
        n = weights(p, w);
    cnf_pipeline_free(p);
    return n;
}

static void weights_are_the_same_bytes_for_any_thread_count_and_run(void)
{
    data_set s = random_data(50, 1, 8, 8, 1);
    cnf_train_options o;
    float a[1000], b[1000];
    cnf_epoch_stats la, lb;
    int na, nb;
    cnf_train_options_init(&o);
    o.epochs = 2;
    o.batch = 9; /* chunks of 4, 4 and 1 */
    o.momentum = 0.9;
    o.weight_decay = 1e-3;
    o.lr = 0.05;
    o.val_fraction = 0.2;
    na = train_small(&o, &s.d, a, &la);
    CHECK_EQ_INT(na, 4 * 10 + 10 * 64 + 10);
    for (int t = 1; t <= 4; t++) {
        o.threads = t;
        nb = train_small(&o, &s.d, b, &lb);
        CHECK(na == nb && memcmp(a, b, sizeof(float) * (size_t)na) == 0);
        CHECK(la.loss == lb.loss && la.accuracy == lb.accuracy && la.val_loss == lb.val_loss);
    }
    o.optimizer = CNF_OPT_ADAM;
    o.threads = 1;
    na = train_small(&o, &s.d, a, NULL);
    o.threads = 3;
    nb = train_small(&o, &s.d, b, NULL);
    CHECK(na == nb && memcmp(a, b, sizeof(float) * (size_t)na) == 0);
    o.seed = 1;
    nb = train_small(&o, &s.d, b, NULL);
    CHECK(na == nb && memcmp(a, b, sizeof(float) * (size_t)na) != 0);
    data_free(&s);
}

static void missing_weights_are_drawn_from_the_seeded_stream(void)
{
    data_set s = random_data(4, 1, 8, 8, 2);
    cnf_pipeline *p = small_net();
    cnf_train_options o;
    cnf_error e;
    const cnf_kernel *k;
    cnf_train_options_init(&o);
    o.epochs = 0;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_OK);
    /* layer 1 (after the affine) has kernels of 1 x 3 x 3: fan_in 9; the
     * values of tests/ref/nn_rng_ref.py, stream (0, 1, 1)... */
    k = p->layers[1].kernels[0];
    CHECK(!p->layers[1].shape_only && p->layers[1].layer.n_kernels == 4);
    CHECK(k->is3d && k->depth == 1 && k->w == 3 && k->h == 3 && k->divisor == 1);
    for (int i = 0; i < 4; i++)
        for (int t = 0; t < 9; t++)
            CHECK(fabs(p->layers[1].kernels[i]->weights[t]) < 1.0 / 3);
    CHECK(p->layers[5].w && p->layers[5].b && p->layers[5].in == 64);
    for (int t = 0; t < 640; t++)
        CHECK(fabs(p->layers[5].w[t]) < 0.125);
    cnf_pipeline_free(p);
    /* ...and exactly those of the reference for layer 0, seed 0, fan 9. */
    p = t_pipe("{\"type\": \"conv\", \"kernels\": [\"[[1]]\"]}");
    t_shape_only(p, 0, 1, 3, 3);
    o.loss = CNF_LOSS_MSE;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_OK);
    k = p->layers[0].kernels[0];
    CHECK(k->weights[0] == 0.21289217472076416 && k->weights[1] == -0.16448238492012024 &&
          k->weights[2] == 0.2366659939289093);
    cnf_pipeline_free(p);
    data_free(&s);
}

/* ------------------------------------------------ optimizer steps by hand */

/* flatten, dense 3 -> 2 (given), softmax on two 1 x 1 x 3 samples. */
static const float X[6] = {1, -2, 0.5f, 0.25f, 3, -1};
static const int Y[2] = {1, 0};
static const float W0[6] = {0.1f, -0.2f, 0.3f, 0.05f, 0.4f, -0.1f}, B0[2] = {0.2f, -0.3f};

static cnf_pipeline *tiny(void)
{
    cnf_pipeline *p = t_empty();
    t_flatten(p);
    t_dense(p, 2, 3, W0, B0);
    t_softmax(p);
    return p;
}

/* The cross entropy gradient of sample i at weights w, b: (p - onehot) x. */
static void ce_grad(const double *w, const double *b, int i, double *gw, double *gb)
{
    double z[2], m, s, pr[2];
    for (int u = 0; u < 2; u++)
        z[u] = b[u] + w[u * 3] * X[i * 3] + w[u * 3 + 1] * X[i * 3 + 1] + w[u * 3 + 2] * X[i * 3 + 2];
    m = z[0] > z[1] ? z[0] : z[1];
    s = exp(z[0] - m) + exp(z[1] - m);
    for (int u = 0; u < 2; u++) {
        pr[u] = exp(z[u] - m) / s - (u == Y[i]);
        gb[u] = pr[u];
        for (int j = 0; j < 3; j++)
            gw[u * 3 + j] = pr[u] * X[i * 3 + j];
    }
}

static int near(const float *got, const double *want, int n, double tol)
{
    for (int i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > tol) {
            fprintf(stderr, "value %d: %.9g, expected %.9g\n", i, got[i], want[i]);
            return 0;
        }
    return 1;
}

static void sgd_with_momentum_and_weight_decay_steps_as_pytorch(void)
{
    cnf_pipeline *p = tiny();
    cnf_dataset d = {2, 1, 1, 3, NULL, X, Y};
    cnf_train_options o;
    cnf_error e;
    double w[8], v[8] = {0}, g[8], lr = 0.5, mom = 0.9, wd = 0.1;
    for (int i = 0; i < 6; i++)
        w[i] = W0[i];
    w[6] = B0[0];
    w[7] = B0[1];
    /* Batch 1, no shuffle: sample 0 then sample 1; v = g on the first step. */
    for (int step = 0; step < 2; step++) {
        ce_grad(w, w + 6, step, g, g + 6);
        for (int i = 0; i < 8; i++) {
            g[i] += wd * w[i];
            v[i] = step == 0 ? g[i] : mom * v[i] + g[i];
            w[i] -= lr * v[i];
        }
    }
    cnf_train_options_init(&o);
    o.batch = 1;
    o.shuffle = 0;
    o.lr = lr;
    o.momentum = mom;
    o.weight_decay = wd;
    CHECK_EQ_INT(cnf_train(p, &d, &o, NULL, &e), CNF_OK);
    CHECK(near(p->layers[1].w, w, 6, 1e-6));
    CHECK(near(p->layers[1].b, w + 6, 2, 1e-6));
    cnf_pipeline_free(p);
}

static void a_batch_steps_by_the_mean_gradient_and_adam_is_bias_corrected(void)
{
    cnf_pipeline *p = tiny();
    cnf_dataset d = {2, 1, 1, 3, NULL, X, Y};
    cnf_train_options o;
    cnf_error e;
    double w[8], g0[8], g1[8], m[8] = {0}, v[8] = {0}, lr = 0.01;
    for (int i = 0; i < 6; i++)
        w[i] = W0[i];
    w[6] = B0[0];
    w[7] = B0[1];
    /* Two epochs of one batch of 2: the mean of the two samples' gradients. */
    for (int t = 1; t <= 2; t++) {
        ce_grad(w, w + 6, 0, g0, g0 + 6);
        ce_grad(w, w + 6, 1, g1, g1 + 6);
        for (int i = 0; i < 8; i++) {
            double g = (g0[i] + g1[i]) / 2;
            m[i] = 0.9 * m[i] + 0.1 * g;
            v[i] = 0.999 * v[i] + 0.001 * g * g;
            w[i] -= lr / (1 - pow(0.9, t)) * m[i] / (sqrt(v[i]) / sqrt(1 - pow(0.999, t)) + 1e-8);
        }
    }
    cnf_train_options_init(&o);
    o.batch = 2;
    o.epochs = 2;
    o.lr = lr;
    o.optimizer = CNF_OPT_ADAM;
    CHECK_EQ_INT(cnf_train(p, &d, &o, NULL, &e), CNF_OK);
    CHECK(near(p->layers[1].w, w, 6, 1e-6));
    CHECK(near(p->layers[1].b, w + 6, 2, 1e-6));
    cnf_pipeline_free(p);
}

/* ------------------------------------------------------------ statistics */

typedef struct seen {
    int calls, stop_at;
    cnf_epoch_stats s[4];
    long last_done, last_total;
} seen;

static int on_epoch(void *ctx, const cnf_epoch_stats *s)
{
    seen *v = ctx;
    if (v->calls < 4)
        v->s[v->calls] = *s;
    return ++v->calls == v->stop_at;
}

static void on_progress(void *ctx, int epoch, long done, long total)
{
    seen *v = ctx;
    (void)epoch;
    v->last_done = done;
    v->last_total = total;
}

/* The mean -log p[label] and accuracy of samples idx[0..n) under p. */
static void reference_figures(const cnf_pipeline *p, const cnf_dataset *d, const int *idx, int n,
                              double *loss, double *acc)
{
    cnf_net *net = NULL;
    cnf_error e;
    float out[10];
    *loss = *acc = 0;
    if (cnf_net_create(p, d->width, d->height, d->channels, 0, &net, &e))
        abort();
    for (int k = 0; k < n; k++) {
        int best = 0;
        cnf_net_forward(net, d, idx[k], 1, 1, out, &e);
        for (int c = 1; c < 10; c++)
            best = out[c] > out[best] ? c : best;
        *loss -= log(out[d->labels[idx[k]]]);
        *acc += best == d->labels[idx[k]];
    }
    *loss /= n;
    *acc /= n;
    cnf_net_free(net);
}

static void epoch_figures_are_the_samples_means_and_validation_holds_out_the_split(void)
{
    data_set s = random_data(10, 1, 8, 8, 3);
    cnf_pipeline *p = small_net();
    cnf_train_options o;
    cnf_error e;
    seen v = {0, 0, {{0}}, 0, 0};
    static const int train_idx[7] = {0, 1, 3, 5, 7, 8, 9}, val_idx[3] = {2, 4, 6};
    double loss, acc;
    cnf_train_options_init(&o);
    o.epochs = 3;
    o.batch = 3;
    o.lr = 0; /* the weights stay: every epoch's figures are those of the first weights */
    o.val_fraction = 0.3;
    o.epoch_end = on_epoch;
    o.progress = on_progress;
    o.ctx = &v;
    o.epochs = 0;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_OK); /* draw the weights */
    o.epochs = 3;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_OK);
    CHECK_EQ_INT(v.calls, 3);
    CHECK(v.last_done == 7 && v.last_total == 7);
    reference_figures(p, &s.d, train_idx, 7, &loss, &acc);
    for (int i = 0; i < 3; i++) {
        CHECK(v.s[i].epoch == i + 1 && v.s[i].epochs == 3 && v.s[i].samples == 7);
        CHECK(fabs(v.s[i].loss - loss) < 1e-5 && fabs(v.s[i].accuracy - acc) < 1e-9);
        CHECK(v.s[i].has_val && v.s[i].val_samples == 3 && v.s[i].seconds >= 0);
    }
    reference_figures(p, &s.d, val_idx, 3, &loss, &acc);
    CHECK(fabs(v.s[0].val_loss - loss) < 1e-5 && fabs(v.s[0].val_accuracy - acc) < 1e-9);
    /* epoch_end's non-zero stops after that epoch; *last gets it. */
    v.calls = 0;
    v.stop_at = 2;
    {
        cnf_epoch_stats last;
        CHECK_EQ_INT(cnf_train(p, &s.d, &o, &last, &e), CNF_OK);
        CHECK(v.calls == 2 && last.epoch == 2);
    }
    cnf_pipeline_free(p);
    data_free(&s);
}

static void a_separate_validation_set_is_evaluated_after_each_epoch(void)
{
    data_set s = random_data(12, 1, 8, 8, 4), val = random_data(5, 1, 8, 8, 5);
    cnf_pipeline *p = small_net();
    cnf_train_options o;
    cnf_error e;
    cnf_epoch_stats last;
    static const int all[5] = {0, 1, 2, 3, 4};
    double loss, acc;
    cnf_train_options_init(&o);
    o.val = &val.d;
    o.lr = 0.1;
    o.epochs = 2;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, &last, &e), CNF_OK);
    reference_figures(p, &val.d, all, 5, &loss, &acc);
    CHECK(last.has_val && last.val_samples == 5 && last.samples == 12);
    CHECK(fabs(last.val_loss - loss) < 1e-5 && fabs(last.val_accuracy - acc) < 1e-9);
    val.d.width = 7;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, &last, &e), CNF_E_DECODE);
    CHECK_STR_CONTAINS(e.msg, "the validation samples are 1 x 8 x 7");
    cnf_pipeline_free(p);
    data_free(&s);
    data_free(&val);
}

/* ------------------------------------------------- layers and write-back */

static void frozen_layers_stay_and_bias_free_layers_get_no_bias(void)
{
    data_set s = random_data(8, 1, 8, 8, 6);
    cnf_pipeline *p = small_net();
    cnf_train_options o;
    cnf_error e;
    float before[1000], after[1000];
    cnf_kernel *k0;
    cnf_train_options_init(&o);
    o.epochs = 0;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_OK);
    weights(p, before);
    k0 = p->layers[1].kernels[0];
    p->layers[1].frozen = 1;
    o.epochs = 2;
    o.lr = 0.5;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_OK);
    weights(p, after);
    CHECK(p->layers[1].kernels[0] == k0); /* not even rewritten */
    CHECK(memcmp(before, after, sizeof(float) * 40) == 0);
    CHECK(memcmp(before + 40, after + 40, sizeof(float) * 650) != 0);
    cnf_pipeline_free(p);
    p = small_net();
    p->layers[5].no_bias = 1;
    p->layers[1].no_bias = 1;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_OK);
    CHECK(p->layers[5].w != NULL && p->layers[5].b == NULL);
    for (int k = 0; k < 4; k++)
        CHECK(p->layers[1].kernels[k]->bias == 0);
    cnf_pipeline_free(p);
    data_free(&s);
}

/* A kernel with divisor, flip, the layer's scale and bias: written back
 * folded (divisor 1, no flip, bias per kernel), with the same results. */
static void written_back_kernels_fold_divisor_flip_scale_and_bias(void)
{
    data_set s = random_data(3, 1, 6, 6, 7);
    cnf_pipeline *p = t_pipe("{\"type\": \"conv\", \"kernels\": [{\"weights\": [[1, 2], [3, 5]],"
                             " \"divisor\": 4, \"bias\": 1}], \"bias\": 0.5}");
    cnf_train_options o;
    cnf_error e;
    const cnf_kernel *k;
    p->layers[0].layer.flip = 1;
    p->layers[0].layer.scale = 2;
    cnf_train_options_init(&o);
    o.lr = 0;
    o.loss = CNF_LOSS_MSE;
    for (int i = 0; i < 3; i++)
        s.labels[i] = 0;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_OK);
    k = p->layers[0].kernels[0];
    CHECK(k->divisor == 1 && k->bias == 1.5 && !k->is3d);
    CHECK(k->weights[0] == 2.5 && k->weights[1] == 1.5 && k->weights[2] == 1 &&
          k->weights[3] == 0.5);
    CHECK(p->layers[0].layer.flip == 0 && p->layers[0].layer.scale == 1 &&
          p->layers[0].layer.bias == 0);
    cnf_pipeline_free(p);
    data_free(&s);
}

/* A trained conv pipeline runs in the streaming executor with the values
 * the engine's forward pass gives. */
static void the_executor_runs_a_trained_pipeline_as_the_net_does(void)
{
    data_set s = random_data(6, 2, 7, 7, 13);
    cnf_pipeline *p = t_pipe("{\"type\": \"conv\", \"kernels\": [\"[[1]]\"], \"padding\": 1,"
                             " \"border\": \"reflect\", \"stride\": 2}, {\"type\": \"tanh\"}");
    cnf_train_options o;
    cnf_error e;
    cnf_plan *plan = NULL;
    cnf_net *net = NULL;
    cnf_image img = t_image(7, 7, 2, 0, NULL), out = {0};
    float got[2 * 4 * 4];
    double big = 1;
    t_shape_only(p, 0, 2, 3, 3);
    cnf_train_options_init(&o);
    o.loss = CNF_LOSS_MSE;
    o.epochs = 3;
    o.lr = 0.001;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_OK);
    for (int i = 0; i < 98; i++)
        img.data[i] = s.u8[98 + i];
    CHECK_EQ_INT(cnf_plan_create_pipeline(p, 7, 7, 2, 0, NULL, &plan, &e), CNF_OK);
    CHECK_EQ_INT(cnf_plan_run(plan, &img, 1, &out, &e), CNF_OK);
    CHECK_EQ_INT(cnf_net_create(p, 7, 7, 2, 0, &net, &e), CNF_OK);
    CHECK_EQ_INT(cnf_net_forward(net, &s.d, 1, 1, 1, got, &e), CNF_OK);
    CHECK(out.channels == 2 && out.width == 4 && out.height == 4);
    for (int i = 0; i < 32; i++)
        CHECK(fabs(out.data[i] - got[i]) <= 2e-6 * big);
    cnf_image_free(&out);
    cnf_image_free(&img);
    cnf_plan_free(plan);
    cnf_net_free(net);
    cnf_pipeline_free(p);
    data_free(&s);
}

static void training_continues_from_the_weights_it_wrote(void)
{
    data_set s = random_data(20, 1, 8, 8, 8);
    cnf_pipeline *a = small_net(), *b = small_net();
    cnf_train_options o;
    cnf_error e;
    float wa[1000], wb[1000];
    cnf_train_options_init(&o);
    o.shuffle = 0;
    o.batch = 5;
    o.lr = 0.1;
    o.epochs = 2;
    CHECK_EQ_INT(cnf_train(a, &s.d, &o, NULL, &e), CNF_OK);
    o.epochs = 1;
    CHECK_EQ_INT(cnf_train(b, &s.d, &o, NULL, &e), CNF_OK);
    CHECK_EQ_INT(cnf_train(b, &s.d, &o, NULL, &e), CNF_OK);
    CHECK(weights(a, wa) == weights(b, wb) && memcmp(wa, wb, sizeof(float) * 690) == 0);
    cnf_pipeline_free(a);
    cnf_pipeline_free(b);
    data_free(&s);
}

static void eight_bit_and_float_samples_train_alike(void)
{
    data_set s = random_data(9, 1, 8, 8, 9);
    float *f = malloc(sizeof(float) * 9 * 64), wa[1000], wb[1000];
    cnf_dataset df = s.d;
    cnf_train_options o;
    for (int i = 0; i < 9 * 64; i++)
        f[i] = s.u8[i];
    df.u8 = NULL;
    df.f32 = f;
    cnf_train_options_init(&o);
    o.batch = 4;
    CHECK(train_small(&o, &s.d, wa, NULL) == 690 && train_small(&o, &df, wb, NULL) == 690);
    CHECK(memcmp(wa, wb, sizeof wa[0] * 690) == 0);
    free(f);
    data_free(&s);
}

/* ------------------------------------------------------------ refusals */

static void bad_labels_options_and_nets_are_refused_before_training(void)
{
    data_set s = random_data(6, 1, 8, 8, 10);
    cnf_pipeline *p = small_net();
    cnf_train_options o;
    cnf_error e;
    cnf_train_options_init(&o);
    s.labels[4] = 10;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_E_DECODE);
    CHECK(strcmp(e.msg, "training sample 4 has label 10, outside the net's 10 outputs (0 to 9)") ==
          0);
    s.labels[4] = -1;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_E_DECODE);
    s.labels[4] = 3;
    CHECK(p->layers[1].shape_only); /* nothing was written */
    o.batch = 0;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_E_USAGE);
    CHECK(e.subject == CNF_SUBJECT_SETTING && strcmp(e.where, "batch") == 0);
    o.batch = 32;
    o.val_fraction = 1.5;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_E_USAGE);
    CHECK(strcmp(e.where, "val") == 0);
    o.val_fraction = 0.5;
    s.d.n = 1;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_E_USAGE);
    CHECK_STR_CONTAINS(e.msg, "holding out 1 of 1 samples leaves none to train on");
    s.d.n = 6;
    o.val_fraction = 0;
    s.d.labels = NULL;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_E_USAGE);
    s.d.labels = s.labels;
    p->n--; /* without its softmax */
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_E_USAGE);
    CHECK_STR_CONTAINS(e.msg, "cross entropy loss needs the pipeline to end with a softmax");
    p->n++;
    s.d.width = 1;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_E_EMPTY); /* 8 x 1 is too narrow to pool */
    CHECK_STR_CONTAINS(e.msg, "layer 4 (maxpool): ");
    cnf_pipeline_free(p);
    data_free(&s);
}

static void the_memory_estimate_is_checked_before_anything_is_allocated(void)
{
    data_set s = random_data(6, 1, 8, 8, 11);
    cnf_pipeline *p = small_net();
    cnf_train_options o;
    cnf_error e;
    uint64_t bytes = 0, bytes3 = 0;
    cnf_train_options_init(&o);
    o.batch = 4;
    CHECK_EQ_INT(cnf_train_memory(p, 8, 8, 1, &o, &bytes, &e), CNF_OK);
    o.threads = 3; /* a batch of 4 is one chunk: one thread */
    CHECK_EQ_INT(cnf_train_memory(p, 8, 8, 1, &o, &bytes3, &e), CNF_OK);
    CHECK(bytes > 690 * 4 * 3 && bytes3 == bytes);
    o.batch = 12;
    CHECK_EQ_INT(cnf_train_memory(p, 8, 8, 1, &o, &bytes3, &e), CNF_OK);
    CHECK(bytes3 > bytes);
    o.batch = 4;
    o.max_memory = bytes - 1;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_E_TOO_BIG);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_MEMORY);
    CHECK_STR_CONTAINS(e.msg, "training needs about 1 MiB, over the memory limit of 0 MiB");
    CHECK(p->layers[1].shape_only);
    o.max_memory = bytes;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_OK);
    cnf_pipeline_free(p);
    data_free(&s);
}

static void composite_kernels_learn_only_when_frozen(void)
{
    data_set s = random_data(4, 1, 8, 8, 12);
    cnf_pipeline *p = t_pipe("{\"type\": \"conv\", \"kernels\": [\"sobel\"]}, {\"type\": \"maxpool\"}");
    cnf_train_options o;
    cnf_error e;
    t_flatten(p);
    t_dense(p, 10, 0, NULL, NULL);
    t_softmax(p);
    cnf_train_options_init(&o);
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_E_USAGE);
    CHECK_STR_CONTAINS(e.msg, "layer 1 (conv): kernel 'sobel' is the magnitude of two kernels"
                              " and cannot learn");
    p->layers[0].frozen = 1;
    CHECK_EQ_INT(cnf_train(p, &s.d, &o, NULL, &e), CNF_OK);
    CHECK(cnf_kernel_is_composite(p->layers[0].kernels[0]));
    CHECK(p->layers[3].w != NULL);
    cnf_pipeline_free(p);
    data_free(&s);
}

int main(void)
{
    RUN(weights_are_the_same_bytes_for_any_thread_count_and_run);
    RUN(missing_weights_are_drawn_from_the_seeded_stream);
    RUN(sgd_with_momentum_and_weight_decay_steps_as_pytorch);
    RUN(a_batch_steps_by_the_mean_gradient_and_adam_is_bias_corrected);
    RUN(epoch_figures_are_the_samples_means_and_validation_holds_out_the_split);
    RUN(a_separate_validation_set_is_evaluated_after_each_epoch);
    RUN(frozen_layers_stay_and_bias_free_layers_get_no_bias);
    RUN(written_back_kernels_fold_divisor_flip_scale_and_bias);
    RUN(the_executor_runs_a_trained_pipeline_as_the_net_does);
    RUN(training_continues_from_the_weights_it_wrote);
    RUN(eight_bit_and_float_samples_train_alike);
    RUN(bad_labels_options_and_nets_are_refused_before_training);
    RUN(the_memory_estimate_is_checked_before_anything_is_allocated);
    RUN(composite_kernels_learn_only_when_frozen);
    return t_finish("test_nn_train");
}
