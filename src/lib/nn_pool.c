/* nn_pool.c - the training engine's threads: the caller and a few workers run one call's tasks.
 *
 * Task t of a call always runs on thread t (the caller is thread 0), so a
 * task may use buffers of its own without locks, and what a task computes
 * never depends on which thread ran it.  A call bumps the generation `gen`;
 * the workers see it and the last one done brings `pending` to 0.  Training
 * makes two calls a batch, a few milliseconds apart, so both sides first
 * spin a little (SPIN pauses, some tens of microseconds) on the atomic
 * values and only then sleep on the condition variables: a wake-up through
 * the kernel costs as much again on a busy VM.  No thread creation per call. */
#include "nn.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MAX_THREADS CNF__NN_MAX_THREADS
#define SPIN 4096

struct cnf__pool {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    int n, started; /* threads; workers running (threads 1 .. started) */
    atomic_uint gen;
    atomic_int pending, quit;
    int tasks;
    void (*fn)(void *ctx, int t);
    void *ctx;
    pthread_t tid[MAX_THREADS];
    struct pool_arg {
        cnf__pool *p;
        int t;
    } arg[MAX_THREADS];
};

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker(void *arg)
{
    const struct pool_arg *a = arg;
    cnf__pool *p = a->p;
    unsigned seen = 0, g;
    for (;;) {
        for (int i = 0; (g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
                        i < SPIN; i++)
            relax();
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen)
                pthread_cond_wait(&p->go, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        seen = g;
        if (atomic_load(&p->quit))
            break;
        if (a->t < p->tasks)
            p->fn(p->ctx, a->t);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

/* A new generation for the workers (fn, ctx, tasks and quit set before). */
static void wake(cnf__pool *p)
{
    atomic_store_explicit(&p->pending, p->started, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
}

void cnf__pool_run(cnf__pool *p, int n, void (*fn)(void *ctx, int t), void *ctx)
{
    int workers = p->started < n - 1 ? p->started : n - 1;
    p->fn = fn;
    p->ctx = ctx;
    p->tasks = n;
    if (workers > 0)
        wake(p);
    fn(ctx, 0);
    for (int t = workers + 1; t < n; t++)
        fn(ctx, t); /* tasks of workers that could not be started */
    if (workers > 0) {
        for (int i = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0 && i < SPIN;
             i++)
            relax();
        pthread_mutex_lock(&p->mu);
        while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

void cnf__pool_free(cnf__pool *p)
{
    if (!p)
        return;
    if (p->started > 0) {
        atomic_store(&p->quit, 1);
        wake(p);
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
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->quit, 0);
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
