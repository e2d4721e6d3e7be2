/* batch.c - batch mode: files and folders in, one output each under -o DIR, a thread pool, a summary. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct item {
    char *in;   /* input path */
    char *rel;  /* path relative to its folder argument, or the file name */
    char *out;  /* output path */
    int result; /* -1 not done, 0 ok, 1/2 failed, 3 skipped */
} item;

typedef struct list {
    item *v;
    size_t n, cap;
} list;

static int push(list *l, const char *in, const char *rel)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        item *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n].in = strdup(in);
    l->v[l->n].rel = strdup(rel);
    l->v[l->n].out = NULL;
    l->v[l->n].result = -1;
    if (!l->v[l->n].in || !l->v[l->n].rel) {
        free(l->v[l->n].in);
        free(l->v[l->n].rel);
        return -1;
    }
    l->n++;
    return 0;
}

static int collect(void *arg, const char *full, const char *rel)
{
    return push(arg, full, rel);
}

static int by_input(const void *a, const void *b)
{
    return strcmp(((const item *)a)->in, ((const item *)b)->in);
}

/* mkdir -p for the folder part of path. */
static int make_parents(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            *p = '/';
            return -1;
        }
        *p = '/';
    }
    return 0;
}

typedef struct pool {
    const run_ctx *c;
    list *l;
    cnf_output_format fmt;
    int threads_per_file;
    atomic_size_t next;
    atomic_size_t done;
    atomic_int failed;
} pool;

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        item *it;
        if (i >= p->l->n)
            break;
        it = &p->l->v[i];
        if (it->result < 0) {
            if (make_parents(it->out) != 0) {
                msg_error(it->out, "cannot create its folder: %s", strerror(errno));
                it->result = 1;
            } else {
                it->result = process_file(p->c, it->in, it->out, p->fmt, p->threads_per_file, 1);
            }
            if (it->result)
                atomic_fetch_add(&p->failed, 1);
        }
        atomic_fetch_add(&p->done, 1);
    }
    return NULL;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void progress(size_t done, size_t total, double t0, int final)
{
    double el = now() - t0, rate = el > 0 ? (double)done / el : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\rcnnfilter: %zu/%zu files, %.1f files/s, ETA %.0f s   %s", done, total,
            rate, eta, final ? "\n" : "");
    fflush(stderr);
}

int run_batch(options *o)
{
    run_ctx c;
    list l = {0};
    cnf_output_format fmt;
    int rc = 0, skipped = 0, bad_args = 0, show;
    size_t processed = 0, failed = 0;
    double t0 = now();
    struct stat st;

    fmt = cnf_output_format_from_name(o->output_format ? o->output_format : "png");
    if (o->n_args < 1) {
        msg_usage("--output-dir", "batch mode needs at least one INPUT file or folder");
        return 2;
    }
    if (stat(o->output_dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        msg_usage(o->output_dir, "the output folder is not a folder");
        return 2;
    }
    if (o->explain) {
        msg_usage("--explain", "takes one INPUT, not a batch");
        return 2;
    }
    rc = setup_run(&c, o);
    if (rc) {
        free_ctx(&c);
        return rc;
    }
    for (int i = 0; i < o->n_args; i++) {
        const char *a = o->args[i];
        if (stat(a, &st) != 0) {
            msg_error(a, "%s", strerror(errno));
            bad_args++;
        } else if (S_ISDIR(st.st_mode)) {
            bad_args += walk_files(a, o->recursive, collect, &l, &skipped);
        } else {
            const char *base = strrchr(a, '/');
            if (push(&l, a, base ? base + 1 : a) != 0) {
                msg_error(NULL, "out of memory");
                rc = 1;
                goto out;
            }
        }
    }
    /* The sorted list, dealt round-robin to shards (SPEC §9.8). */
    qsort(l.v, l.n, sizeof *l.v, by_input);
    if (o->shard_n > 1) {
        size_t k = 0;
        for (size_t i = 0; i < l.n; i++) {
            if ((int)(i % (size_t)o->shard_n) == o->shard_k)
                l.v[k++] = l.v[i];
            else {
                free(l.v[i].in);
                free(l.v[i].rel);
            }
        }
        l.n = k;
    }
    for (size_t i = 0; i < l.n; i++) {
        item *it = &l.v[i];
        const char *dot = strrchr(it->rel, '.'), *slash = strrchr(it->rel, '/');
        size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - it->rel) : strlen(it->rel);
        size_t n = strlen(o->output_dir) + stem + 16;
        it->out = malloc(n);
        if (!it->out) {
            msg_error(NULL, "out of memory");
            rc = 1;
            goto out;
        }
        snprintf(it->out, n, "%s/%.*s.%s", o->output_dir, (int)stem, it->rel,
                 o->output_format ? o->output_format : "png");
        if (same_file(it->in, it->out)) {
            msg_error(it->out, "is the input file; not overwritten");
            it->result = 2;
        } else if (i > 0 && strcmp(it->out, l.v[i - 1].out) == 0) {
            /* Sorted inputs: a.jpg and a.png both want a.png. */
            msg_error(it->out, "would also be the output of %s; %s not processed", l.v[i - 1].in,
                      it->in);
            it->result = 2;
        } else if (o->skip_existing && access(it->out, F_OK) == 0) {
            it->result = 3;
        }
    }
    {
        pool p;
        pthread_t tid[256];
        int nt = o->jobs < 1 ? 1 : o->jobs, started = 0;
        p.c = &c;
        p.l = &l;
        p.fmt = fmt;
        if ((size_t)nt > l.n)
            nt = l.n ? (int)l.n : 1;
        /* Threads go to files first; a lone file gets them all for its bands. */
        p.threads_per_file = o->jobs / nt > 0 ? o->jobs / nt : 1;
        atomic_init(&p.next, 0);
        atomic_init(&p.done, 0);
        atomic_init(&p.failed, 0);
        show = !o->quiet && (o->progress == 1 || (o->progress == 0 && isatty(STDERR_FILENO)));
        for (int i = 0; i < nt; i++) {
            if (pthread_create(&tid[i], NULL, worker, &p) != 0)
                break;
            started++;
        }
        if (started == 0)
            worker(&p);
        while (show && atomic_load(&p.done) < l.n) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            progress(atomic_load(&p.done), l.n, t0, 0);
            nanosleep(&ts, NULL);
        }
        for (int i = 0; i < started; i++)
            pthread_join(tid[i], NULL);
        if (show)
            progress(l.n, l.n, t0, 1);
    }
    for (size_t i = 0; i < l.n; i++) {
        if (l.v[i].result == 0)
            processed++;
        else if (l.v[i].result == 3)
            skipped++;
        else
            failed++;
    }
    failed += (size_t)bad_args;
    if (!o->quiet)
        printf("processed %zu, failed %zu, skipped %d, in %.2f s\n", processed, failed, skipped,
               now() - t0);
    rc = failed ? 1 : 0;
out:
    for (size_t i = 0; i < l.n; i++) {
        free(l.v[i].in);
        free(l.v[i].rel);
        free(l.v[i].out);
    }
    free(l.v);
    free_ctx(&c);
    return rc;
}
