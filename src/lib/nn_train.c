/* nn_train.c - cnf_train: epochs of batches, cross entropy and mse, SGD and Adam, validation.
 *
 * Determinism.  A batch is cut into chunks of CHUNK consecutive samples, a cut that depends
 * on the batch alone, never on the thread count.  Each chunk's gradient is the sum of its
 * samples' gradients in sample order, made by one thread in the chunk's own slot; the
 * batch's gradient is the sum of the chunks' in chunk order; then it is divided by the
 * batch's size (the mean of the samples' gradients, cnnfilter(1), train).  Threads only
 * decide which chunks run at the same time, so the weights are the same bytes for any
 * thread count.
 *
 * A batch runs in rounds of up to `slots` chunks (one with one thread; with more, all of a
 * batch's when their gradients fit in SLOT_BYTES): the threads take the round's chunks one
 * at a time, each into its slot; then each thread adds up its part of every range of
 * parameters over the slots in chunk order and, after the batch's last round, updates that
 * part.  Two hand-offs a round.  A fast dense node's weight gradient is not in the slots:
 * its samples' records are (nn.h), and the reduction makes each chunk's gradient from them.
 * Shuffling and the validation split come from the generator's streams (nn.h), keyed by the
 * seed and the epoch.
 *
 * Statistics (cnf_epoch_stats): each sample's loss and argmax come from the forward pass of
 * its batch, before that batch's update, and are summed in epoch order after the epoch. */
#define _POSIX_C_SOURCE 200809L
#include "nn.h"
#include "nn_gemm.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Samples per chunk (nn.h): enough to make a chunk's hand-off and the
 * addition of its gradient small beside its samples' work, few enough that
 * a batch of 32 keeps 8 threads busy. */
#define CHUNK CNF__NN_CHUNK
/* The chunks' gradient slots of a round, at most (past the threads' own). */
#define SLOT_BYTES ((uint64_t)32 << 20)

void cnf_train_options_init(cnf_train_options *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 1;
    o->batch = 32;
    o->lr = 0.01;
    o->optimizer = CNF_OPT_SGD;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->loss = CNF_LOSS_CROSS_ENTROPY;
    o->shuffle = 1;
    o->threads = 1;
}

static int finite_at_least(double v, double lo) { return isfinite(v) && v >= lo; }

static cnf_status check_options(const cnf_train_options *o, cnf_error *err)
{
    if (o->epochs < 0)
        return cnf__fail_setting(err, CNF_E_USAGE, "epochs", "must be 0 or more");
    if (o->batch < 1)
        return cnf__fail_setting(err, CNF_E_USAGE, "batch", "must be at least 1");
    if (!finite_at_least(o->lr, 0))
        return cnf__fail_setting(err, CNF_E_USAGE, "lr", "must be a finite number, 0 or more");
    if (!finite_at_least(o->momentum, 0))
        return cnf__fail_setting(err, CNF_E_USAGE, "momentum",
                                 "must be a finite number, 0 or more");
    if (!finite_at_least(o->weight_decay, 0))
        return cnf__fail_setting(err, CNF_E_USAGE, "weight-decay",
                                 "must be a finite number, 0 or more");
    if (!finite_at_least(o->beta1, 0) || o->beta1 >= 1 || !finite_at_least(o->beta2, 0) ||
        o->beta2 >= 1 || !(isfinite(o->eps) && o->eps > 0))
        return cnf__fail_setting(err, CNF_E_USAGE, "optimizer",
                                 "Adam needs betas in [0, 1) and an epsilon above 0");
    if (o->optimizer != CNF_OPT_SGD && o->optimizer != CNF_OPT_ADAM)
        return cnf__fail_setting(err, CNF_E_USAGE, "optimizer", "unknown optimizer");
    if (o->loss != CNF_LOSS_CROSS_ENTROPY && o->loss != CNF_LOSS_MSE)
        return cnf__fail_setting(err, CNF_E_USAGE, "loss", "unknown loss");
    if (!finite_at_least(o->val_fraction, 0) || o->val_fraction >= 1)
        return cnf__fail_setting(err, CNF_E_USAGE, "val", "the fraction must be in [0, 1)");
    if (o->val_fraction > 0 && o->val)
        return cnf__fail_setting(err, CNF_E_USAGE, "val",
                                 "a validation fraction and a validation set exclude each other");
    return CNF_OK;
}

/* A labelled dataset of samples of the net's input shape. */
static cnf_status check_data(const nn_net *n, const cnf_dataset *d, const char *what,
                             cnf_error *err)
{
    if (!d->u8 == !d->f32)
        return cnf__fail(err, CNF_E_USAGE, NULL, "a dataset needs exactly one of u8 and f32");
    if (d->n < 1)
        return cnf__fail(err, CNF_E_DECODE, NULL, "no %s samples", what);
    if (!d->labels)
        return cnf__fail(err, CNF_E_USAGE, NULL, "%s needs labelled samples", what);
    if (d->channels != n->in_c || d->height != n->in_h || d->width != n->in_w)
        return cnf__fail(err, CNF_E_DECODE, NULL,
                         "the %s samples are %d x %d x %d, the training samples %d x %d x %d",
                         what, d->channels, d->height, d->width, n->in_c, n->in_h, n->in_w);
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] < 0 || (size_t)d->labels[i] >= n->n_out)
            return cnf__fail(err, CNF_E_DECODE, NULL,
                             "%s sample %d has label %d, outside the net's %zu outputs (0 to %zu)",
                             what, i, d->labels[i], n->n_out, n->n_out - 1);
    return CNF_OK;
}

static cnf_status check_loss(const nn_net *n, const cnf_pipeline *p, cnf_loss loss,
                             cnf_error *err)
{
    const nn_node *last = &n->nodes[n->n_nodes - 1];
    if (loss != CNF_LOSS_CROSS_ENTROPY)
        return CNF_OK;
    if (last->op != NN_SOFTMAX)
        return cnf__fail(err, CNF_E_USAGE, p->name,
                         "the cross entropy loss needs the pipeline to end with a softmax layer");
    if (last->oh * last->ow != 1)
        return cnf__fail(err, CNF_E_USAGE, p->name,
                         "the cross entropy loss needs N x 1 x 1 results; this pipeline gives "
                         "%d x %d x %d", last->oc, last->oh, last->ow);
    return CNF_OK;
}

/* The threads a batch can use: its chunks, at most. */
static int train_threads(const cnf_train_options *o, long n_train)
{
    long b = o->batch < n_train ? o->batch : n_train;
    long chunks = (b + CHUNK - 1) / CHUNK;
    long t = o->threads < 1 ? 1 : o->threads > CNF__NN_MAX_THREADS ? CNF__NN_MAX_THREADS : o->threads;
    if (chunks < 1)
        chunks = 1;
    return (int)(t < chunks ? t : chunks);
}

/* The chunks a round runs: one with one thread; with more, a whole batch's
 * when their gradients fit in SLOT_BYTES, else as many whole rounds of the
 * threads as fit (the threads' own at least). */
static int train_slots(const nn_net *n, const cnf_train_options *o, int threads)
{
    long chunks = ((long)o->batch + CHUNK - 1) / CHUNK;
    uint64_t slot = (uint64_t)(n->n_params + 2 + CHUNK * n->rec_size) * sizeof(float);
    uint64_t fit = SLOT_BYTES / slot;
    long s;
    if (threads < 2)
        return 1;
    s = (long)(fit < (uint64_t)chunks ? fit : (uint64_t)chunks) / threads * threads;
    return (int)(s > threads ? s : threads);
}

/* Weights, the batch's gradient, the optimizer's state, each thread's
 * buffers (activations, gradients, a parameter gradient) and the gradient
 * slots past the threads'.  The per-sample bookkeeping (order, loss, hit:
 * 17 bytes a sample) is counted with the dataset, which the caller checks. */
static uint64_t train_bytes(const nn_net *n, const cnf_train_options *o, int threads)
{
    uint64_t p = (uint64_t)n->n_params * sizeof(float);
    uint64_t state = o->optimizer == CNF_OPT_ADAM ? 2 : o->momentum != 0 ? 1 : 0;
    uint64_t extra = (uint64_t)(train_slots(n, o, threads) - threads);
    return cnf__nn_net_bytes(n) + p + state * p + (uint64_t)threads * cnf__nn_work_bytes(n, 1) +
           extra * (uint64_t)(n->n_params + 2 + CHUNK * n->rec_size) * sizeof(float);
}

static cnf_status memory_fail(uint64_t bytes, uint64_t limit, cnf_error *err)
{
    return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_MEMORY, NULL,
                           "training needs about %llu MiB, over the memory limit of %llu MiB",
                           (unsigned long long)((bytes + (1u << 20) - 1) >> 20),
                           (unsigned long long)(limit >> 20));
}

cnf_status cnf_train_memory(const cnf_pipeline *p, int width, int height, int channels,
                            const cnf_train_options *o, uint64_t *bytes, cnf_error *err)
{
    nn_net n;
    cnf_status st = cnf__nn_build(p, width, height, channels, CNF__NN_TRAIN, &n, err);
    *bytes = 0;
    if (st)
        return st;
    *bytes = train_bytes(&n, o, train_threads(o, o->batch));
    cnf__nn_free(&n);
    return CNF_OK;
}

/* ------------------------------------------------------------ training */

typedef struct trainer {
    nn_net net;
    const cnf_dataset *data;
    const cnf_train_options *o;
    int threads;
    nn_work *works;
    cnf__pool *pool;
    float *total, *m1, *m2; /* the batch's gradient; momentum or Adam's moments */
    int slots;              /* chunks a round (train_slots) */
    float **slot;           /* their gradients: the works' own, then more */
    float **srec;           /* their records (nn_work.rec), the same way */
    int *srec_n;            /* samples recorded in each */
    long steps;
    int *train, *val;       /* sample indices, ascending */
    long n_train, n_val;
    int *order;             /* this epoch's */
    double *loss;           /* per sample of the epoch (or of the validation) */
    unsigned char *hit;
    /* the batch being run, its round */
    const int *batch;
    long batch_n, pos, chunk0;
    int round_n, last_round;
    atomic_int next_chunk;  /* the round's next chunk to take */
} trainer;

/* Zero the gradient of the parameters that learn; for a chunk's slot, not
 * the ranges its flush writes whole. */
static void zero_ranges(const nn_net *n, float *g, int slot)
{
    for (int r = 0; r < n->n_ranges; r++)
        if (!slot || !n->ranges[r].recorded)
            memset(g + n->ranges[r].off, 0, sizeof(float) * n->ranges[r].len);
}

/* Chunk chunk0 + k of the batch into slot k, on thread t. */
static void run_chunk(trainer *tr, int t, int k)
{
    const nn_net *n = &tr->net;
    nn_work *w = &tr->works[t];
    long a = (tr->chunk0 + k) * CHUNK, b = a + CHUNK < tr->batch_n ? a + CHUNK : tr->batch_n;
    w->grad = tr->slot[k];
    w->rec = tr->srec[k];
    w->n_rec = 0;
    zero_ranges(n, w->grad, 1);
    for (long i = a; i < b; i++) {
        int s = tr->batch[i], label = tr->data->labels[s], pred = 0, from = -1;
        n->m->load(n, w, tr->data, s);
        n->m->forward(n, w);
        tr->loss[tr->pos + i] = n->m->loss(n, w, label, tr->o->loss, 1, &pred, &from);
        tr->hit[tr->pos + i] = pred == label;
        n->m->backward(n, w, from, 1);
    }
    tr->srec_n[k] = w->n_rec; /* its dense gradients: add_recorded */
    w->grad = tr->slot[t];
    w->rec = tr->srec[t];
}

/* Thread t takes the round's chunks one at a time until none is left: a
 * chunk's gradient goes to its own slot whichever thread makes it, so the
 * taking order changes nothing but the balance. */
static void chunks_task(void *ctx, int t)
{
    trainer *tr = ctx;
    for (int k; (k = atomic_fetch_add_explicit(&tr->next_chunk, 1, memory_order_relaxed)) <
                tr->round_n;)
        run_chunk(tr, t, k);
}

/* PyTorch's SGD (momentum buffer = the gradient on the first step) and
 * Adam (bias-corrected), weight decay added to the gradient; in double,
 * stored as float like torch's float32 tensors.  One loop per rule, with
 * nothing but arithmetic inside, so that each vectorises (this file is
 * compiled with -fno-math-errno: sqrt is then one instruction), in AVX2 too
 * (the same values: each step is one correctly rounded operation). */
CNF__NN_CLONES static void adam(float *restrict w, const float *restrict total,
                                float *restrict m1, float *restrict m2, size_t n, long bn,
                                const cnf_train_options *o, long steps)
{
    double b1 = o->beta1, b2 = o->beta2, wd = o->weight_decay, lr = o->lr, eps = o->eps;
    double bc1 = 1 - pow(b1, (double)steps), sbc2 = sqrt(1 - pow(b2, (double)steps));
    for (size_t i = 0; i < n; i++) {
        double g = (double)total[i] / (double)bn + wd * (double)w[i];
        m1[i] = (float)(b1 * m1[i] + (1 - b1) * g);
        m2[i] = (float)(b2 * m2[i] + (1 - b2) * g * g);
        g = m1[i] / (sqrt((double)m2[i]) / sbc2 + eps) / bc1;
        w[i] = (float)(w[i] - lr * g);
    }
}

/* m1: NULL without momentum. */
CNF__NN_CLONES static void sgd(float *restrict w, const float *restrict total,
                               float *restrict m1, size_t n, long bn,
                               const cnf_train_options *o, long steps)
{
    double wd = o->weight_decay, lr = o->lr, mu = o->momentum;
    for (size_t i = 0; i < n; i++) {
        double g = (double)total[i] / (double)bn + wd * (double)w[i];
        if (m1) {
            m1[i] = (float)(steps == 1 ? g : mu * m1[i] + g);
            g = m1[i];
        }
        w[i] = (float)(w[i] - lr * g);
    }
}

/* Rows [u0, u1) of recorded range R's weights, total being the range's part
 * of the batch's gradient: each of the round's chunks' gradient made from its
 * records as flush makes it (one product, summed from 0 in sample order: the
 * bits of adding sample by sample) and added in chunk order, the rows of the
 * total held in registers while the chunks pass (cnf__gemm_chunks).  The
 * chunks' dense gradients are never stored whole. */
static void add_recorded(const trainer *tr, const nn_range *R, float *total, size_t u0,
                         size_t u1)
{
    const nn_node *nd = &tr->net.nodes[R->node];
    ptrdiff_t rs = (ptrdiff_t)tr->net.rec_size, n_in = nd->n_in;
    const float *a[CNF__GEMM_MAX_CHUNKS], *b[CNF__GEMM_MAX_CHUNKS];
    int k[CNF__GEMM_MAX_CHUNKS];
    for (int q0 = 0; q0 < tr->round_n; q0 += CNF__GEMM_MAX_CHUNKS) {
        int nc = tr->round_n - q0 < CNF__GEMM_MAX_CHUNKS ? tr->round_n - q0 : CNF__GEMM_MAX_CHUNKS;
        for (int q = 0; q < nc; q++) {
            b[q] = tr->srec[q0 + q] + nd->rec_off;
            a[q] = b[q] + n_in + u0;
            k[q] = tr->srec_n[q0 + q];
        }
        cnf__gemm_chunks((int)(u1 - u0), nd->n_in, nc, a, b, k, 1, rs, rs,
                         total + u0 * (size_t)n_in, n_in);
    }
}

/* Range R's values [lo, hi): the round's chunks added to the batch's
 * gradient in chunk order, and after the batch's last round the update. */
static void reduce_range(trainer *tr, const nn_range *R, size_t lo, size_t hi)
{
    const cnf_train_options *o = tr->o;
    float *w = (float *)tr->net.params + R->off, *total = tr->total + R->off;
    if (R->recorded) {
        size_t n_in = (size_t)tr->net.nodes[R->node].n_in;
        add_recorded(tr, R, total, lo / n_in, hi / n_in);
    }
    for (int k = 0; !R->recorded && k < tr->round_n; k++) {
        float *restrict t = total;
        const float *restrict g = tr->slot[k] + R->off;
        for (size_t i = lo; i < hi; i++)
            t[i] += g[i];
    }
    if (!tr->last_round)
        return;
    if (o->optimizer == CNF_OPT_ADAM)
        adam(w + lo, total + lo, tr->m1 + R->off + lo, tr->m2 + R->off + lo, hi - lo, tr->batch_n,
             o, tr->steps);
    else
        sgd(w + lo, total + lo, o->momentum != 0 ? tr->m1 + R->off + lo : NULL, hi - lo,
            tr->batch_n, o, tr->steps);
}

/* Thread t's part of every range: whole rows of a recorded range, whole
 * cache lines (16 values) of the others. */
static void reduce_task(void *ctx, int t)
{
    trainer *tr = ctx;
    for (int r = 0; r < tr->net.n_ranges; r++) {
        const nn_range *R = &tr->net.ranges[r];
        size_t unit = R->recorded ? (size_t)tr->net.nodes[R->node].n_in : 16;
        size_t units = (R->len + unit - 1) / unit, T = (size_t)tr->threads;
        size_t lo = units * (size_t)t / T * unit, hi = units * (size_t)(t + 1) / T * unit;
        hi = hi < R->len ? hi : R->len;
        if (lo < hi)
            reduce_range(tr, R, lo, hi);
    }
}

static void run_batch(trainer *tr, const int *batch, long bn, long pos)
{
    long chunks = (bn + CHUNK - 1) / CHUNK;
    tr->batch = batch;
    tr->batch_n = bn;
    tr->pos = pos;
    tr->steps++;
    zero_ranges(&tr->net, tr->total, 0);
    for (long c0 = 0; c0 < chunks; c0 += tr->slots) {
        tr->chunk0 = c0;
        tr->round_n = (int)(chunks - c0 < tr->slots ? chunks - c0 : tr->slots);
        tr->last_round = c0 + tr->slots >= chunks;
        atomic_store_explicit(&tr->next_chunk, 0, memory_order_relaxed);
        if (tr->pool) {
            cnf__pool_run(tr->pool, tr->threads, chunks_task, tr);
            cnf__pool_run(tr->pool, tr->threads, reduce_task, tr);
        } else {
            chunks_task(tr, 0);
            reduce_task(tr, 0);
        }
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The mean loss and accuracy of the first n per-sample figures, in order. */
static void means(const trainer *tr, long n, double *loss, double *acc)
{
    double l = 0;
    long h = 0;
    for (long k = 0; k < n; k++) {
        l += tr->loss[k];
        h += tr->hit[k];
    }
    *loss = n ? l / (double)n : 0;
    *acc = n ? (double)h / (double)n : 0;
}

static void validate(trainer *tr, cnf_epoch_stats *s)
{
    const cnf_dataset *d = tr->o->val ? tr->o->val : tr->data;
    int tasks = (int)(tr->n_val < tr->threads ? tr->n_val : tr->threads);
    cnf__net_forward_range(&tr->net, tr->works, tr->pool, tasks, d,
                           tr->o->val ? NULL : tr->val, 0, tr->n_val, NULL, tr->o->loss,
                           tr->loss, tr->hit);
    s->has_val = 1;
    s->val_samples = tr->n_val;
    means(tr, tr->n_val, &s->val_loss, &s->val_accuracy);
}

static void run_epoch(trainer *tr, int epoch, cnf_epoch_stats *s)
{
    const cnf_train_options *o = tr->o;
    double t0 = now();
    memcpy(tr->order, tr->train, sizeof(int) * (size_t)tr->n_train);
    if (o->shuffle) {
        cnf__rng r;
        cnf__rng_stream(&r, o->seed, CNF__RNG_SHUFFLE, (uint64_t)epoch);
        cnf__rng_shuffle(&r, tr->order, (size_t)tr->n_train);
    }
    for (long pos = 0; pos < tr->n_train; pos += o->batch) {
        long bn = tr->n_train - pos < o->batch ? tr->n_train - pos : o->batch;
        run_batch(tr, tr->order + pos, bn, pos);
        if (o->progress)
            o->progress(o->ctx, epoch, pos + bn, tr->n_train);
    }
    memset(s, 0, sizeof *s);
    s->epoch = epoch;
    s->epochs = o->epochs;
    s->samples = tr->n_train;
    means(tr, tr->n_train, &s->loss, &s->accuracy);
    if (tr->n_val > 0)
        validate(tr, s);
    s->seconds = now() - t0;
}

/* The training and validation samples: all of data, or with a fraction
 * held out, the last n_val of one seeded permutation; each set in data
 * order. */
static cnf_status split(trainer *tr, cnf_error *err)
{
    long n = tr->data->n, nv = 0;
    unsigned char *held = calloc((size_t)n, 1);
    int *perm = malloc(sizeof(int) * (size_t)n);
    cnf_status st = CNF_OK;
    if (tr->o->val_fraction > 0) {
        nv = (long)floor((double)n * tr->o->val_fraction);
        nv = nv < 1 ? 1 : nv;
    }
    tr->train = malloc(sizeof(int) * (size_t)n);
    tr->val = malloc(sizeof(int) * (size_t)(nv + 1));
    if (!held || !perm || !tr->train || !tr->val) {
        st = cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    } else if (n - nv < 1) {
        st = cnf__fail_setting(err, CNF_E_USAGE, "val",
                               "holding out %ld of %ld samples leaves none to train on", nv, n);
    } else {
        cnf__rng r;
        for (long i = 0; i < n; i++)
            perm[i] = (int)i;
        cnf__rng_stream(&r, tr->o->seed, CNF__RNG_SPLIT, 0);
        if (nv > 0)
            cnf__rng_shuffle(&r, perm, (size_t)n);
        for (long i = n - nv; i < n; i++)
            held[perm[i]] = 1;
        for (long i = 0; i < n; i++)
            if (held[i])
                tr->val[tr->n_val++] = (int)i;
            else
                tr->train[tr->n_train++] = (int)i;
    }
    if (!st && tr->o->val)
        tr->n_val = tr->o->val->n;
    free(held);
    free(perm);
    return st;
}

static cnf_status alloc_trainer(trainer *tr, cnf_error *err)
{
    size_t np = tr->net.n_params + 1, most = (size_t)(tr->n_train > tr->n_val ? tr->n_train
                                                                                 : tr->n_val);
    int adam = tr->o->optimizer == CNF_OPT_ADAM;
    cnf_status st = CNF_OK;
    tr->slots = train_slots(&tr->net, tr->o, tr->threads);
    tr->works = calloc((size_t)tr->threads, sizeof *tr->works);
    tr->slot = calloc((size_t)tr->slots, sizeof *tr->slot);
    tr->srec = calloc((size_t)tr->slots, sizeof *tr->srec);
    tr->srec_n = calloc((size_t)tr->slots, sizeof *tr->srec_n);
    tr->total = calloc(np, sizeof(float));
    /* The optimizer's state only when it has one (as train_bytes counts). */
    tr->m1 = adam || tr->o->momentum != 0 ? calloc(np, sizeof(float)) : malloc(1);
    tr->m2 = adam ? calloc(np, sizeof(float)) : malloc(1);
    tr->order = malloc(sizeof(int) * (size_t)tr->n_train);
    tr->loss = malloc(sizeof(double) * most);
    tr->hit = malloc(most);
    if (!tr->works || !tr->slot || !tr->srec || !tr->srec_n || !tr->total || !tr->m1 ||
        !tr->m2 || !tr->order || !tr->loss || !tr->hit)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    for (int t = 0; t < tr->threads && !st; t++) {
        st = cnf__nn_work_alloc(&tr->net, 1, &tr->works[t], err);
        tr->slot[t] = tr->works[t].grad;
        tr->srec[t] = tr->works[t].rec;
    }
    for (int k = tr->threads; k < tr->slots && !st; k++)
        if (!(tr->slot[k] = malloc(sizeof(float) * (tr->net.n_params + 1))) ||
            !(tr->srec[k] = malloc(sizeof(float) * (CHUNK * tr->net.rec_size + 1))))
            st = cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    if (!st && tr->threads > 1)
        st = cnf__pool_new(tr->threads, &tr->pool, err);
    return st;
}

static void free_trainer(trainer *tr)
{
    cnf__pool_free(tr->pool);
    for (int t = 0; tr->works && t < tr->threads; t++)
        cnf__nn_work_free(&tr->works[t]);
    for (int k = tr->threads; tr->slot && k < tr->slots; k++) {
        free(tr->slot[k]);
        free(tr->srec[k]);
    }
    free(tr->slot);
    free(tr->srec);
    free(tr->srec_n);
    free(tr->works);
    free(tr->total);
    free(tr->m1);
    free(tr->m2);
    free(tr->train);
    free(tr->val);
    free(tr->order);
    free(tr->loss);
    free(tr->hit);
    cnf__nn_free(&tr->net);
}

/* Everything that can be refused before the weights are touched. */
static cnf_status prepare(trainer *tr, const cnf_pipeline *p, cnf_error *err)
{
    const cnf_train_options *o = tr->o;
    const cnf_dataset *d = tr->data;
    uint64_t bytes;
    cnf_status st = check_options(o, err);
    if (!st)
        st = cnf__nn_build(p, d->width, d->height, d->channels, CNF__NN_TRAIN, &tr->net, err);
    if (!st)
        st = check_loss(&tr->net, p, o->loss, err);
    if (!st)
        st = check_data(&tr->net, d, "training", err);
    if (!st && o->val)
        st = check_data(&tr->net, o->val, "validation", err);
    if (!st)
        st = split(tr, err);
    if (st)
        return st;
    tr->threads = train_threads(o, tr->n_train);
    bytes = train_bytes(&tr->net, o, tr->threads);
    if (o->max_memory && bytes > o->max_memory)
        return memory_fail(bytes, o->max_memory, err);
    return CNF_OK;
}

cnf_status cnf_train(cnf_pipeline *p, const cnf_dataset *data, const cnf_train_options *o,
                     cnf_epoch_stats *last, cnf_error *err)
{
    trainer tr;
    cnf_epoch_stats s;
    cnf_status st;
    memset(&tr, 0, sizeof tr);
    memset(&s, 0, sizeof s);
    s.epochs = o->epochs;
    tr.data = data;
    tr.o = o;
    st = prepare(&tr, p, err);
    if (!st)
        st = cnf__nn_params(&tr.net, p, o->seed, err);
    if (!st)
        st = alloc_trainer(&tr, err);
    for (int e = 1; !st && e <= o->epochs; e++) {
        run_epoch(&tr, e, &s);
        if (o->epoch_end && o->epoch_end(o->ctx, &s))
            break;
    }
    if (!st)
        st = cnf__nn_write_back(&tr.net, p, err);
    if (!st && last)
        *last = s;
    free_trainer(&tr);
    return st;
}
