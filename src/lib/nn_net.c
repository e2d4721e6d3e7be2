/* nn_net.c - cnf_net: a pipeline's forward pass on many samples of one shape (predict, validation).
 *
 * A net is read-only once made: cnf_net_forward gives each of its threads its own buffers
 * (nn_work), so several callers may run one net at once.  Samples are split into one
 * contiguous run per thread; each sample's values depend on that sample alone, so the
 * results are the same for any thread count. */
#include "nn.h"

#include <stdlib.h>
#include <string.h>

typedef struct fwd_job {
    const nn_net *n;
    nn_work *works;
    int tasks;
    const cnf_dataset *data;
    const int *index;
    long first, count;
    float *out;
    cnf_loss loss;
    double *losses;
    unsigned char *hit;
} fwd_job;

static void fwd_task(void *ctx, int t)
{
    const fwd_job *j = ctx;
    const nn_net *n = j->n;
    nn_work *w = &j->works[t];
    long per = (j->count + j->tasks - 1) / j->tasks;
    long a = (long)t * per, b = a + per < j->count ? a + per : j->count;
    const nn_node *last = &n->nodes[n->n_nodes - 1];
    for (long k = a; k < b; k++) {
        long i = j->index ? j->index[k] : j->first + k;
        n->m->load(n, w, j->data, i);
        n->m->forward(n, w);
        if (j->out) {
            float *o = j->out + (size_t)k * n->n_out;
            for (size_t v = 0; v < n->n_out; v++)
                o[v] = n->dbl ? (float)((const double *)w->act)[last->out + v]
                              : ((const float *)w->act)[last->out + v];
        }
        if (j->losses) {
            int pred = 0, from = 0, label = j->data->labels[i];
            j->losses[k] = n->m->loss(n, w, label, j->loss, 0, &pred, &from);
            j->hit[k] = pred == label;
        }
    }
}

void cnf__net_forward_range(const nn_net *n, nn_work *works, cnf__pool *pool, int tasks,
                            const cnf_dataset *data, const int *index, long first, long count,
                            float *out, cnf_loss loss, double *losses, unsigned char *hit)
{
    fwd_job j = {n, works, tasks < 1 ? 1 : tasks, data, index, first, count,
                 out, loss, losses, hit};
    if (count <= 0)
        return;
    if (pool && j.tasks > 1)
        cnf__pool_run(pool, j.tasks, fwd_task, &j);
    else
        for (int t = 0; t < j.tasks; t++)
            fwd_task(&j, t);
}

cnf_status cnf_net_create(const cnf_pipeline *p, int width, int height, int channels,
                          uint64_t max_memory, cnf_net **net_ret, cnf_error *err)
{
    cnf_net *net = calloc(1, sizeof *net);
    uint64_t bytes;
    cnf_status st;
    *net_ret = NULL;
    if (!net)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    st = cnf__nn_build(p, width, height, channels, 0, &net->net, err);
    if (st) {
        free(net);
        return st;
    }
    bytes = cnf_net_memory(net);
    if (max_memory && bytes > max_memory)
        st = cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_MEMORY, NULL,
                             "the net needs about %llu MiB, over the memory limit of %llu MiB",
                             (unsigned long long)(bytes >> 20),
                             (unsigned long long)(max_memory >> 20));
    if (!st)
        st = cnf__nn_params(&net->net, p, 0, err);
    if (st) {
        cnf_net_free(net);
        return st;
    }
    *net_ret = net;
    return CNF_OK;
}

int cnf_net_shape(const cnf_net *n, int *channels, int *height, int *width)
{
    if (channels)
        *channels = n->net.out_c;
    if (height)
        *height = n->net.out_h;
    if (width)
        *width = n->net.out_w;
    return (int)n->net.n_out;
}

uint64_t cnf_net_memory(const cnf_net *n)
{
    return cnf__nn_net_bytes(&n->net) + cnf__nn_work_bytes(&n->net, 0);
}

static cnf_status check_data(const nn_net *n, const cnf_dataset *d, cnf_error *err)
{
    if (!d->u8 == !d->f32)
        return cnf__fail(err, CNF_E_USAGE, NULL, "a dataset needs exactly one of u8 and f32");
    if (d->channels != n->in_c || d->height != n->in_h || d->width != n->in_w)
        return cnf__fail(err, CNF_E_USAGE, NULL,
                         "the samples are %d x %d x %d but the net was made for %d x %d x %d",
                         d->channels, d->height, d->width, n->in_c, n->in_h, n->in_w);
    return CNF_OK;
}

cnf_status cnf_net_forward(const cnf_net *net, const cnf_dataset *data, int first, int count,
                           int threads, float *out, cnf_error *err)
{
    const nn_net *n = &net->net;
    int tasks = threads < 1 ? 1 : threads > CNF__NN_MAX_THREADS ? CNF__NN_MAX_THREADS : threads;
    nn_work *works = NULL;
    cnf__pool *pool = NULL;
    cnf_status st = check_data(n, data, err);
    if (st)
        return st;
    if (first < 0 || count < 0 || first > data->n || count > data->n - first)
        return cnf__fail(err, CNF_E_USAGE, NULL, "samples %d to %d are not in a dataset of %d",
                         first, first + count - 1, data->n);
    if (count == 0)
        return CNF_OK;
    tasks = tasks > count ? count : tasks;
    works = calloc((size_t)tasks, sizeof *works);
    if (!works)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    for (int t = 0; t < tasks && !st; t++)
        st = cnf__nn_work_alloc(n, 0, &works[t], err);
    if (!st && tasks > 1)
        st = cnf__pool_new(tasks, &pool, err);
    if (!st)
        cnf__net_forward_range(n, works, pool, tasks, data, NULL, first, count, out,
                               CNF_LOSS_MSE, NULL, NULL);
    cnf__pool_free(pool);
    for (int t = 0; t < tasks; t++)
        cnf__nn_work_free(&works[t]);
    free(works);
    return st;
}

void cnf_net_free(cnf_net *n)
{
    if (!n)
        return;
    cnf__nn_free(&n->net);
    free(n);
}
