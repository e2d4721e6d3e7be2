/* band_workers.c - persistent threads that split one band of one stage into row parts. */
#include "band_workers.h"

#include <pthread.h>
#include <stdlib.h>

/* The caller and n - 1 workers split one band at a time.  The workers wait
 * on `go` for a new generation, each computes its part, and the last one
 * done signals `done`; they live as long as the run, so a band costs two
 * wake-ups rather than thread creations. */
struct cnf_band_workers {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    int n, started; /* parts; workers running (threads 1 .. started) */
    unsigned gen;   /* bumped for each band */
    int pending, quit;
    /* The band being computed. */
    const cnf_stage *s;
    cnf_band in, out;
    int y0, y1;
    void *scratch[CNF__MAX_BAND_WORKERS];
    pthread_t tid[CNF__MAX_BAND_WORKERS];
    struct worker_arg {
        cnf_band_workers *w;
        int i;
    } arg[CNF__MAX_BAND_WORKERS];
};

static void run_part(cnf_band_workers *w, int i)
{
    int rows = w->y1 - w->y0, per = (rows + w->n - 1) / w->n;
    int a = w->y0 + i * per, b = a + per < w->y1 ? a + per : w->y1;
    if (a < b)
        w->s->ops->run(w->s, &w->in, &w->out, a, b, w->scratch[i]);
}

static void *worker(void *arg)
{
    const struct worker_arg *a = arg;
    cnf_band_workers *w = a->w;
    int i = a->i;
    unsigned seen = 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->quit && w->gen == seen)
            pthread_cond_wait(&w->go, &w->mu);
        if (w->quit)
            break;
        seen = w->gen;
        pthread_mutex_unlock(&w->mu);
        run_part(w, i);
        pthread_mutex_lock(&w->mu);
        if (--w->pending == 0)
            pthread_cond_signal(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

void cnf__band_workers_run(cnf_band_workers *w, const cnf_stage *s, const cnf_band *in,
                           const cnf_band *out, int y0, int y1)
{
    w->s = s;
    w->in = *in;
    w->out = *out;
    w->y0 = y0;
    w->y1 = y1;
    if (w->started > 0 && y1 - y0 > 1) {
        pthread_mutex_lock(&w->mu);
        w->pending = w->started;
        w->gen++;
        pthread_cond_broadcast(&w->go);
        pthread_mutex_unlock(&w->mu);
        run_part(w, 0);
        for (int i = w->started + 1; i < w->n; i++)
            run_part(w, i); /* parts of threads that could not be started */
        pthread_mutex_lock(&w->mu);
        while (w->pending > 0)
            pthread_cond_wait(&w->done, &w->mu);
        pthread_mutex_unlock(&w->mu);
    } else {
        /* One thread (or one row): the caller does every part. */
        for (int i = 0; i < w->n; i++)
            run_part(w, i);
    }
}

int cnf__band_workers_count(const cnf_band_workers *w) { return w->n; }

void cnf__band_workers_free(cnf_band_workers *w)
{
    if (!w)
        return;
    if (w->started > 0) {
        pthread_mutex_lock(&w->mu);
        w->quit = 1;
        pthread_cond_broadcast(&w->go);
        pthread_mutex_unlock(&w->mu);
        for (int i = 1; i <= w->started; i++)
            pthread_join(w->tid[i], NULL);
    }
    for (int i = 0; i < w->n; i++)
        free(w->scratch[i]);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->go);
    pthread_cond_destroy(&w->done);
    free(w);
}

cnf_status cnf__band_workers_new(const cnf_stage *stages, int n_stages, int band_rows,
                                 int threads, cnf_band_workers **ret, cnf_error *err)
{
    cnf_band_workers *w = calloc(1, sizeof *w);
    size_t scratch = 0;
    int n = threads < 1 ? 1 : threads > CNF__MAX_BAND_WORKERS ? CNF__MAX_BAND_WORKERS : threads;
    *ret = NULL;
    if (!w)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->go, NULL);
    pthread_cond_init(&w->done, NULL);
    w->n = n;
    for (int i = 0; i < n_stages; i++) {
        size_t sc = stages[i].ops->scratch(&stages[i], (band_rows + n - 1) / n);
        if (sc > scratch)
            scratch = sc;
    }
    for (int i = 0; i < n; i++) {
        w->arg[i].w = w;
        w->arg[i].i = i;
        if (scratch && !(w->scratch[i] = malloc(scratch))) {
            cnf__band_workers_free(w);
            return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory for %zu bytes of scratch",
                             scratch);
        }
        cnf__huge_pages(w->scratch[i], scratch);
    }
    for (int i = 1; i < n; i++) {
        if (pthread_create(&w->tid[i], NULL, worker, &w->arg[i]) != 0)
            break; /* fewer threads; the caller runs the missing parts */
        w->started = i;
    }
    *ret = w;
    return CNF_OK;
}
