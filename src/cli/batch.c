/* batch.c - batch mode: files and folders in, outputs under -o DIR, planned whole before anything is written.
 *
 * The order of a batch: collect the inputs (sorted, so shards and messages
 * are stable), name every output of every input, check the whole set (no two
 * outputs with one name, no output replacing an input of the run - compared
 * by device and inode, so any path to the same file counts), and only then
 * deal this shard's files to the batch workers.  Each file's outputs are
 * committed together by run_file.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "batch.h"

#include "budget.h"
#include "cleanup.h"
#include "msg.h"
#include "outfile.h"
#include "paths.h"
#include "walk.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { NOT_DONE = -1, SKIPPED = 3 };

typedef struct item {
    char *in;    /* input path */
    char *rel;   /* path relative to its folder argument, or the file name */
    file_id id;  /* the input file */
    char *base;  /* DIR/<rel without extension> */
    char **outs; /* its output paths */
    int n_outs;
    int result;  /* NOT_DONE, an exit code, or SKIPPED */
    int kept;    /* --skip-existing: every output there, made with these options (survey) */
} item;

typedef struct list {
    item *v;
    size_t n, cap;
    int bad_args; /* arguments that could not be read */
    int skipped;  /* files in folders that are not inputs */
    const char *base_real; /* --base, resolved; NULL without it */
    const char *arg;       /* the argument being gathered (for errors) */
} list;

static int push(list *l, const char *in, const char *rel)
{
    item *it;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        item *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = cap;
    }
    it = &l->v[l->n];
    memset(it, 0, sizeof *it);
    it->result = NOT_DONE;
    it->in = strdup(in);
    it->rel = strdup(rel);
    if (!it->in || !it->rel || !file_id_of(in, &it->id)) {
        free(it->in);
        free(it->rel);
        return -1;
    }
    l->n++;
    return 0;
}

static void free_item(item *it)
{
    free(it->in);
    free(it->rel);
    free(it->base);
    free_paths(it->outs, it->n_outs);
}

/* With --base: the input's path relative to the base folder (its folder
 * resolved, its own name kept: a symbolic link keeps its name).  Returns 0,
 * or 1 when the input is not under the base folder (reported). */
static int rel_to_base(const char *base_real, const char *in, char *rel, size_t cap)
{
    char dir[4096], *real;
    const char *name = strrchr(in, '/');
    size_t nb = strlen(base_real);
    int ok = 0;
    if (name) {
        snprintf(dir, sizeof dir, "%.*s", (int)(name - in) > 0 ? (int)(name - in) : 1, in);
        name++;
    } else {
        snprintf(dir, sizeof dir, ".");
        name = in;
    }
    real = realpath(dir, NULL);
    if (real) {
        if (strcmp(real, base_real) == 0)
            ok = (size_t)snprintf(rel, cap, "%s", name) < cap;
        else if (strncmp(real, base_real, nb) == 0 && (real[nb] == '/' || nb == 1))
            ok = (size_t)snprintf(rel, cap, "%s/%s", real + nb + (nb > 1), name) < cap;
        free(real);
    }
    if (!ok)
        msg_error(in, "is not under the --base folder '%s'", base_real);
    return !ok;
}

/* Add an input; with --base its relative path is recomputed. */
static int collect(void *arg, const char *full, const char *rel)
{
    list *l = arg;
    char r[4096];
    if (l->base_real) {
        if (rel_to_base(l->base_real, full, r, sizeof r) != 0) {
            l->bad_args++;
            return 0;
        }
        rel = r;
    }
    return push(l, full, rel);
}

static int by_input(const void *a, const void *b)
{
    return strcmp(((const item *)a)->in, ((const item *)b)->in);
}

/* One input argument (from the command line or --files-from): a folder is
 * walked with sel; a file named is taken whatever its format (unless an
 * --exclude glob matches it); a FIFO, device or socket is refused (reading
 * it could block the whole batch).  Returns 0, or -1 on out-of-memory. */
static int gather_one(const options *o, const walk_select *sel, list *l, const char *a)
{
    struct stat st;
    if (stat(a, &st) != 0) {
        msg_error(a, "%s", strerror(errno));
        l->bad_args++;
    } else if (S_ISDIR(st.st_mode)) {
        l->bad_args += walk_select_files(a, o->recursive, sel, collect, l, &l->skipped);
    } else if (!S_ISREG(st.st_mode)) {
        msg_error(a, "is not a regular file (a FIFO, device or socket); batch mode reads "
                     "files and folders");
        l->bad_args++;
    } else if (glob_match(o->exclude, o->n_exclude, a)) {
        char esc[4096];
        l->skipped++;
        if (o->verbose)
            msg_info("%s: skipped: excluded by --exclude", escape(a, esc, sizeof esc));
    } else {
        const char *base = strrchr(a, '/');
        if (collect(l, a, base ? base + 1 : a) != 0)
            return -1;
    }
    return 0;
}

/* --files-from: the names of FILE ('-': stdin), one per line or, with -0,
 * NUL-terminated; empty names are passed over.  Returns 0, -1 on
 * out-of-memory, 1 when the list cannot be read (reported). */
static int gather_list(const options *o, const walk_select *sel, list *l)
{
    int from_stdin = strcmp(o->files_from, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(o->files_from, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    if (!f) {
        msg_error(o->files_from, "%s", strerror(errno));
        return 1;
    }
    while ((n = getdelim(&line, &cap, o->null_sep ? '\0' : '\n', f)) > 0) {
        if (line[n - 1] == (o->null_sep ? '\0' : '\n'))
            line[--n] = 0;
        if (n == 0)
            continue;
        if ((size_t)n != strlen(line)) {
            msg_error(o->files_from, "a name holds a NUL byte; use -0 for a list from find "
                                     "-print0");
            rc = 1;
            break;
        }
        if ((rc = gather_one(o, sel, l, line)) != 0)
            break;
    }
    if (rc == 0 && ferror(f)) {
        msg_error(o->files_from, "%s", strerror(errno));
        rc = 1;
    }
    free(line);
    if (!from_stdin)
        fclose(f);
    return rc;
}

/* Step 1: the input files. */
static int gather(const options *o, list *l)
{
    walk_select sel;
    struct stat st;
    char *base_real = NULL;
    int rc = 0;
    memset(&sel, 0, sizeof sel);
    sel.include = o->include;
    sel.n_include = o->n_include;
    sel.exclude = o->exclude;
    sel.n_exclude = o->n_exclude;
    sel.verbose = o->verbose;
    /* The output folder is never read as input: the second run of
     * `cnnfilter -r -o out .` does not make out/out/. */
    if (stat(o->output_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        sel.skip_dir = 1;
        sel.skip_dev = st.st_dev;
        sel.skip_ino = st.st_ino;
    }
    if (o->base) {
        if (!(base_real = realpath(o->base, NULL))) {
            msg_error(o->base, "--base: %s", strerror(errno));
            return EXIT_FAILURE_RUN;
        }
        l->base_real = base_real;
    }
    for (int i = 0; i < o->n_args && rc == 0; i++)
        rc = gather_one(o, &sel, l, o->args[i]);
    if (rc == 0 && o->files_from) {
        rc = gather_list(o, &sel, l);
        if (rc > 0) {
            l->bad_args++;
            rc = 0;
        }
    }
    l->base_real = NULL;
    free(base_real);
    if (rc != 0) {
        msg_error(NULL, "out of memory");
        return EXIT_FAILURE_RUN;
    }
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, by_input);
    /* A file named twice the same way (a folder and a file in it) is one
     * input; sorted, the two are neighbours. */
    {
        size_t k = 0;
        for (size_t i = 0; i < l->n; i++) {
            item *it = &l->v[i];
            if (k > 0 && strcmp(l->v[k - 1].in, it->in) == 0 &&
                strcmp(l->v[k - 1].rel, it->rel) == 0)
                free_item(it);
            else
                l->v[k++] = *it;
        }
        l->n = k;
    }
    return EXIT_OK;
}

/* Step 2: the output paths of every input (all shards). */
static int name_all(const run_setup *s, list *l)
{
    const options *o = s->o;
    const char *ext = o->output_format ? o->output_format : "png";
    out_layout fixed, probed;
    int have_fixed = run_fixed_layout(s, &fixed), rc = EXIT_OK;
    if (have_fixed) {
        int i, j;
        char *names[CLI_MAX_KERNELS];
        for (int g = 0; g < fixed.groups; g++)
            names[g] = fixed.names[g];
        if (find_duplicate(names, fixed.groups, &i, &j)) {
            msg_usage("--kernel", "kernels %d and %d are both named '%s', so their outputs would "
                                  "have the same name; rename a kernel file",
                      i, j, names[i]);
            return EXIT_USAGE;
        }
    }
    for (size_t i = 0; i < l->n; i++) {
        item *it = &l->v[i];
        const char *dot = strrchr(it->rel, '.'), *slash = strrchr(it->rel, '/');
        size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - it->rel) : strlen(it->rel);
        size_t n = strlen(o->output_dir) + stem + 2;
        out_naming nm;
        int r;
        if (!(it->base = malloc(n))) {
            msg_error(NULL, "out of memory");
            return EXIT_FAILURE_RUN;
        }
        snprintf(it->base, n, "%s/%.*s", o->output_dir, (int)stem, it->rel);
        if (!have_fixed && (r = run_probe_layout(s, it->in, &probed)) != 0) {
            it->result = r; /* reported; the others go on */
            continue;
        }
        memset(&nm, 0, sizeof nm);
        nm.path = it->base;
        nm.batch = 1;
        nm.ext = ext;
        if ((r = out_paths(&nm, have_fixed ? &fixed : &probed, &it->outs)) != 0) {
            it->result = r;
            continue;
        }
        it->n_outs = have_fixed ? fixed.groups : probed.groups;
    }
    return rc;
}

typedef struct out_ref {
    const char *path;
    const item *it;
} out_ref;

static int by_path(const void *a, const void *b)
{
    return strcmp(((const out_ref *)a)->path, ((const out_ref *)b)->path);
}

static int by_id(const void *a, const void *b)
{
    const item *x = *(const item *const *)a, *y = *(const item *const *)b;
    if (x->id.dev != y->id.dev)
        return x->id.dev < y->id.dev ? -1 : 1;
    return x->id.ino < y->id.ino ? -1 : x->id.ino > y->id.ino;
}

/* Step 3: the whole set of outputs, before anything is written: two outputs
 * with one name, or an output that is an input file of the run, refuse the
 * run.  Returns the number of problems (each printed). */
static int check_all(const list *l)
{
    size_t n = 0, k = 0;
    int problems = 0;
    out_ref *refs;
    const item **by_file;
    for (size_t i = 0; i < l->n; i++)
        n += (size_t)l->v[i].n_outs;
    refs = malloc((n ? n : 1) * sizeof *refs);
    by_file = malloc((l->n ? l->n : 1) * sizeof *by_file);
    if (!refs || !by_file) {
        free(refs);
        free(by_file);
        msg_error(NULL, "out of memory");
        return 1;
    }
    for (size_t i = 0; i < l->n; i++) {
        by_file[i] = &l->v[i];
        for (int g = 0; g < l->v[i].n_outs; g++)
            refs[k++] = (out_ref){l->v[i].outs[g], &l->v[i]};
    }
    qsort(refs, n, sizeof *refs, by_path);
    qsort(by_file, l->n, sizeof *by_file, by_id);
    for (size_t i = 0; i < n; i++) {
        file_id id;
        if (i > 0 && strcmp(refs[i].path, refs[i - 1].path) == 0) {
            msg_error(refs[i].path, "would be the output of both %s and %s; nothing written "
                                    "(keep their folders with --base DIR, rename one, or run "
                                    "them separately)",
                      refs[i - 1].it->in, refs[i].it->in);
            problems++;
        }
        if (file_id_of(refs[i].path, &id)) {
            item key;
            const item *kp = &key, **hit;
            key.id = id;
            hit = bsearch(&kp, by_file, l->n, sizeof *by_file, by_id);
            if (hit) {
                msg_error(refs[i].path, "is an input of this run (the output of %s would replace "
                                        "it); nothing written: choose another -o folder",
                          refs[i].it->in);
                problems++;
            }
        }
    }
    free(refs);
    free(by_file);
    return problems;
}

/* Step 4: only this shard's files (the sorted list dealt round-robin). */
static void keep_shard(const options *o, list *l)
{
    size_t k = 0;
    if (o->shard_n <= 1)
        return;
    for (size_t i = 0; i < l->n; i++) {
        if ((int)(i % (size_t)o->shard_n) == o->shard_k)
            l->v[k++] = l->v[i];
        else
            free_item(&l->v[i]);
    }
    l->n = k;
}

/* Before anything is written, one look at each existing output (its first
 * bytes): an image cnnfilter did not write is replaced only with -f (each
 * printed; the count returned), and for --skip-existing an item is `kept`
 * when every output is there and, for an image with cnnfilter's mark, was
 * made by this version with these options (else it is made again, said with
 * -v).  Outputs that carry no mark (.npy, .txt, .json, BMP, TGA) count as
 * made with these options. */
static int survey_outputs(const options *o, list *l)
{
    char want[sizeof o->normalized + 64], have[sizeof o->normalized + 64];
    int problems = 0;
    mark_comment(o, want, sizeof want);
    for (size_t i = 0; i < l->n && !(o->force && !o->skip_existing); i++) {
        item *it = &l->v[i];
        it->kept = it->n_outs > 0;
        for (int g = 0; g < it->n_outs; g++) {
            exist_kind k = existing_output(it->outs[g], have, sizeof have);
            if (k == EXIST_FOREIGN && !o->force) {
                foreign_message(it->outs[g]);
                problems++;
            }
            if (k == EXIST_NONE || k == EXIST_FOREIGN) {
                it->kept = 0;
            } else if (k == EXIST_OURS && strcmp(have, want) != 0) {
                char esc[4096], esc2[sizeof have];
                if (o->verbose && o->skip_existing && it->kept)
                    msg_info("%s: made with other options or another version ('%s'); made again",
                             escape(it->outs[g], esc, sizeof esc), escape(have, esc2, sizeof esc2));
                it->kept = 0;
            }
        }
    }
    return problems;
}

/* --skip-existing: kept by the survey, and every output complete. */
static int already_done(const options *o, const item *it)
{
    if (!it->kept)
        return 0;
    for (int g = 0; g < it->n_outs; g++)
        if (!output_is_complete(it->outs[g], o->out_fmt))
            return 0;
    return 1;
}

/* ------------------------------------------------------ batch workers */

typedef struct workers {
    const run_setup *s;
    list *l;
    int threads_per_file;
    atomic_size_t next;
    atomic_size_t done;
} workers;

static void do_item(workers *w, item *it)
{
    const options *o = w->s->o;
    out_naming nm;
    if (it->result != NOT_DONE)
        return;
    if (o->skip_existing && already_done(o, it)) {
        it->result = SKIPPED;
        return;
    }
    if (make_parent_folders(it->outs[0]) != 0) {
        msg_error(it->outs[0], "cannot create its folder: %s", strerror(errno));
        it->result = EXIT_FAILURE_RUN;
        return;
    }
    memset(&nm, 0, sizeof nm);
    nm.path = it->base;
    nm.batch = 1;
    nm.ext = o->output_format ? o->output_format : "png";
    nm.fixed = it->outs;
    nm.n_fixed = it->n_outs;
    it->result = run_file(w->s, it->in, &nm, w->threads_per_file);
}

static void *worker(void *arg)
{
    workers *w = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&w->next, 1);
        if (i >= w->l->n || cleanup_stopping())
            break;
        do_item(w, &w->l->v[i]);
        atomic_fetch_add(&w->done, 1);
    }
    return NULL;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The bar: files done of all, then (once a file is done, so that there is a
 * rate to tell) files per second and the time left. */
static void progress(size_t done, size_t total, double t0, int final)
{
    double el = now() - t0, rate = el > 0 ? (double)done / el : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    char text[160];
    if (done == 0)
        snprintf(text, sizeof text, "cnnfilter: %zu/%zu files", done, total);
    else
        snprintf(text, sizeof text, "cnnfilter: %zu/%zu files, %.1f files/s, ETA %.0f s", done,
                 total, rate, eta);
    msg_bar(text, final);
}

/* Step 5: the files on o->jobs threads; threads go to files first, and a
 * lone file gets them all for its bands. */
static void process_all(const run_setup *s, list *l, double t0)
{
    const options *o = s->o;
    workers w;
    pthread_t tid[256];
    int nt = o->jobs < 1 ? 1 : o->jobs, started = 0, show;
    w.s = s;
    w.l = l;
    if ((size_t)nt > l->n)
        nt = l->n ? (int)l->n : 1;
    w.threads_per_file = o->jobs / nt > 0 ? o->jobs / nt : 1;
    atomic_init(&w.next, 0);
    atomic_init(&w.done, 0);
    show = !o->quiet && (o->progress == 1 || (o->progress == 0 && isatty(STDERR_FILENO)));
    /* --max-memory is the process's: files running at once share what the
     * kernels' weights (held for all of them) leave of it */
    budget_init(nt > 1 ? (s->weights < o->max_memory ? o->max_memory - s->weights : 1) : 0);
    for (int i = 0; i < nt; i++) {
        if (pthread_create(&tid[i], NULL, worker, &w) != 0)
            break;
        started++;
    }
    if (started == 0)
        worker(&w);
    while (show && atomic_load(&w.done) < l->n) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        progress(atomic_load(&w.done), l->n, t0, 0);
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    budget_init(0);
    if (show)
        progress(l->n, l->n, t0, 1);
}

int run_batch(const run_setup *s)
{
    const options *o = s->o;
    list l;
    int rc;
    size_t processed = 0, failed = 0, skipped;
    double t0 = now();
    memset(&l, 0, sizeof l);
    if ((rc = gather(o, &l)) != 0 || (rc = name_all(s, &l)) != 0)
        goto out;
    if (check_all(&l) > 0) {
        rc = EXIT_USAGE;
        goto out;
    }
    keep_shard(o, &l);
    if (survey_outputs(o, &l) > 0) {
        msg_error(o->output_dir, "nothing written");
        rc = EXIT_USAGE;
        goto out;
    }
    process_all(s, &l, t0);
    skipped = (size_t)l.skipped;
    for (size_t i = 0; i < l.n; i++) {
        if (l.v[i].result == EXIT_OK)
            processed++;
        else if (l.v[i].result == SKIPPED)
            skipped++;
        else
            failed++;
    }
    failed += (size_t)l.bad_args;
    if (!o->quiet)
        printf("processed %zu, failed %zu, skipped %zu, in %.2f s\n", processed, failed, skipped,
               now() - t0);
    rc = failed ? EXIT_FAILURE_RUN : EXIT_OK;
out:
    for (size_t i = 0; i < l.n; i++)
        free_item(&l.v[i]);
    free(l.v);
    return rc;
}
