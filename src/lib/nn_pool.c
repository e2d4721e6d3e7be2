/* nn_pool.c - the training engine's threads: the caller and a few workers run one call's tasks.
 *
 * Task t of a call always runs on thread t (the caller is thread 0), so a
 * task may use buffers of its own without locks, and what a task computes
 * never depends on which thread ran it.  The workers wait on `go` for a new
 * generation and the last one done signals `done`: a call costs two
 * wake-ups, not thread creations. */
#include "nn.h"

#include <pthread.h>
#include <stdlib.h>

#define MAX_THREADS CNF__NN_MAX_THREADS

struct cnf__pool {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    int n, started; /* threads; workers running (threads 1 .. started) */
    unsigned gen;
    int pending, quit;
    int tasks;
    void (*fn)(void *ctx, int t);
    void *ctx;
    pthread_t tid[MAX_THREADS];
    struct pool_arg {
        cnf__pool *p;
        int t;
    } arg[MAX_THREADS];
};

static void *worker(void *arg)
{
    const struct pool_arg *a = arg;
    cnf__pool *p = a->p;
    unsigned seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->gen == seen)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        if (a->t < p->tasks)
            p->fn(p->ctx, a->t);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void cnf__pool_run(cnf__pool *p, int n, void (*fn)(void *ctx, int t), void *ctx)
{
    int workers = p->started < n - 1 ? p->started : n - 1;
    p->fn = fn;
    p->ctx = ctx;
    p->tasks = n;
    if (workers > 0) {
        pthread_mutex_lock(&p->mu);
        p->pending = p->started;
        p->gen++;
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
    }
    fn(ctx, 0);
    for (int t = workers + 1; t < n; t++)
        fn(ctx, t); /* tasks of workers that could not be started */
    if (workers > 0) {
        pthread_mutex_lock(&p->mu);
        while (p->pending > 0)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

void cnf__pool_free(cnf__pool *p)
{
    if (!p)
        return;
    if (p->started > 0) {
        pthread_mutex_lock(&p->mu);
        p->quit = 1;
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i <= p->started; i++)
            pthread_join(p->tid[i], NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p);
}

cnf_status cnf__pool_new(int threads, cnf__pool **ret, cnf_error *err)
{
    cnf__pool *p = calloc(1, sizeof *p);
    *ret = NULL;
    if (!p)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    for (int i = 1; i < p->n; i++) {
        p->arg[i].p = p;
        p->arg[i].t = i;
        if (pthread_create(&p->tid[i], NULL, worker, &p->arg[i]) != 0)
            break; /* fewer threads: the caller runs the missing tasks */
        p->started = i;
    }
    *ret = p;
    return CNF_OK;
}
