/* train.c - `cnnfilter train`: learn a pipeline's weights from labelled data and write the trained pipeline. */
#define _POSIX_C_SOURCE 200809L
#include "args.h"
#include "commands.h"
#include "dataset.h"
#include "msg.h"
#include "outfile.h"
#include "paths.h"
#include "run.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    T_PIPELINE, T_OUTPUT, T_EPOCHS, T_BATCH, T_LR, T_OPTIMIZER, T_MOMENTUM, T_WEIGHT_DECAY,
    T_LOSS, T_SEED, T_NO_SHUFFLE, T_VAL, T_VAL_DATA, T_VAL_LABELS, T_LOG, T_LABELS, T_JOBS, T_MAX_MEMORY,
    T_MAX_PIXELS, T_NO_AUTO_ORIENT, T_PROGRESS, T_QUIET, T_HELP
};

static const arg_opt TRAIN_OPTIONS[] = {
    {T_PIPELINE, "pipeline", 0, "NET.json", 0, "the net to train (required)"},
    {T_OUTPUT, "output", 'o', "TRAINED.json", 0, "the trained net, written atomically (required)"},
    {T_EPOCHS, "epochs", 0, "N", 0, "passes over the training data (1)"},
    {T_BATCH, "batch", 0, "B", 0, "samples per update (32)"},
    {T_LR, "lr", 0, "LR", 0, "learning rate (0.01)"},
    {T_OPTIMIZER, "optimizer", 0, "sgd|adam", 0, "SGD (with --momentum) or Adam (sgd)"},
    {T_MOMENTUM, "momentum", 0, "M", 0, "SGD momentum (0)"},
    {T_WEIGHT_DECAY, "weight-decay", 0, "W", 0, "added to the gradient as W x weight (0)"},
    {T_LOSS, "loss", 0, "cross_entropy|mse", 0, "the loss (cross_entropy: the net ends with softmax)"},
    {T_SEED, "seed", 0, "S", 0, "initialisation and shuffling (0)"},
    {T_NO_SHUFFLE, "no-shuffle", 0, NULL, 0, "samples in DATA order every epoch"},
    {T_VAL, "val", 0, "F", 0, "hold out the last fraction F of DATA (after a seeded shuffle)"},
    {T_VAL_DATA, "val-data", 0, "DATA", 0, "a separate labelled set to evaluate each epoch"},
    {T_VAL_LABELS, "val-labels", 0, "FILE", 0, "the IDX label file of IDX --val-data"},
    {T_LOG, "log", 0, "FILE.csv", 0, "one row per epoch: epoch,loss,train_accuracy,val_loss,..."},
    {T_LABELS, "labels", 0, "FILE", 0, "the IDX label file of IDX DATA (found beside it by name)"},
    {T_JOBS, "jobs", 'j', "N", 0, "threads; the trained file is the same bytes for any N (all cores)"},
    {T_MAX_MEMORY, "max-memory", 0, "BYTES", 0, "refuse data + training over this; K, M, G (2G)"},
    {T_MAX_PIXELS, "max-pixels", 0, "N", 0, "refuse larger images (178956970)"},
    {T_NO_AUTO_ORIENT, "no-auto-orient", 0, NULL, 0, "keep images as stored (no EXIF turn)"},
    {T_PROGRESS, "progress", 0, "auto|always|never", 0, "progress bar on stderr (auto: on a terminal)"},
    {T_QUIET, "quiet", 'q', NULL, 0, "no per-epoch lines"},
    {T_HELP, "help", 'h', NULL, 0, "show this help and exit"},
};
#define N_TRAIN_OPTIONS (sizeof TRAIN_OPTIONS / sizeof TRAIN_OPTIONS[0])

static const char *const OPTIMIZERS[] = {"sgd", "adam", NULL};
static const char *const LOSSES[] = {"cross_entropy", "mse", NULL};
static const char *const PROGRESS[] = {"auto", "always", "never", NULL};

typedef struct train_args {
    cnf_train_options t;
    const char *pipeline, *output, *val_data, *val_labels, *log, *labels;
    uint64_t max_memory, max_pixels;
    unsigned decode_flags;
    int progress, quiet, help;
    const char **pos;
    int n_pos;
} train_args;

static void train_help(FILE *f)
{
    fprintf(f, "Usage: cnnfilter train --pipeline NET.json -o TRAINED.json [OPTIONS] DATA\n"
               "\n"
               "Learns the weights of a pipeline's conv and dense layers by backpropagation.\n"
               "DATA: a folder with one subfolder per class, an IDX image file (gzip or not)\n"
               "and its labels, or a .csv of path,label rows.  Pixel values enter as 0..255.\n"
               "\n"
               "Options:\n");
    for (size_t i = 0; i < N_TRAIN_OPTIONS; i++)
        args_help_line(f, &TRAIN_OPTIONS[i], TRAIN_OPTIONS[i].help);
}

static int apply_train(void *ctx, const arg_opt *op, const char *flag, const char *val)
{
    train_args *a = ctx;
    int v = 0;
    switch (op->id) {
    case T_PIPELINE: a->pipeline = val; return 0;
    case T_OUTPUT: a->output = val; return 0;
    case T_EPOCHS: return arg_int(flag, val, 1, 1000000, &a->t.epochs);
    case T_BATCH: return arg_int(flag, val, 1, 1 << 20, &a->t.batch);
    case T_LR: return arg_double_in(flag, val, 0, 1e6, 1, &a->t.lr);
    case T_OPTIMIZER:
        if (arg_words(flag, val, OPTIMIZERS, &v))
            return 2;
        a->t.optimizer = v ? CNF_OPT_ADAM : CNF_OPT_SGD;
        return 0;
    case T_MOMENTUM: return arg_double_in(flag, val, 0, 1, 0, &a->t.momentum);
    case T_WEIGHT_DECAY: return arg_double_in(flag, val, 0, 1e6, 0, &a->t.weight_decay);
    case T_LOSS:
        if (arg_words(flag, val, LOSSES, &v))
            return 2;
        a->t.loss = v ? CNF_LOSS_MSE : CNF_LOSS_CROSS_ENTROPY;
        return 0;
    case T_SEED: return arg_u64(flag, val, &a->t.seed);
    case T_NO_SHUFFLE: a->t.shuffle = 0; return 0;
    case T_VAL: return arg_double_in(flag, val, 0, 0.99, 1, &a->t.val_fraction);
    case T_VAL_DATA: a->val_data = val; return 0;
    case T_VAL_LABELS: a->val_labels = val; return 0;
    case T_LOG: a->log = val; return 0;
    case T_LABELS: a->labels = val; return 0;
    case T_JOBS: return arg_int(flag, val, 1, 256, &a->t.threads);
    case T_MAX_MEMORY: return arg_bytes(flag, val, &a->max_memory);
    case T_MAX_PIXELS: return arg_bytes(flag, val, &a->max_pixels);
    case T_NO_AUTO_ORIENT: a->decode_flags = CNF_DECODE_NO_ORIENT; return 0;
    case T_PROGRESS: return arg_words(flag, val, PROGRESS, &a->progress);
    case T_QUIET: a->quiet = 1; return 0;
    case T_HELP: a->help = 1; return ARGS_STOP;
    default: return 0;
    }
}

/* The checks that need no file: one DATA, the required options, no output
 * that is an input of the run. */
static int check_args(const train_args *a)
{
    if (!a->pipeline) {
        msg_usage("--pipeline", "train needs the net: --pipeline NET.json");
        return EXIT_USAGE;
    }
    if (!a->output) {
        msg_usage("--output", "train needs where to write the trained net: -o TRAINED.json");
        return EXIT_USAGE;
    }
    if (a->n_pos != 1) {
        msg_usage(NULL, "train takes one DATA (a class-folder tree, an IDX file or a .csv), got %d",
                  a->n_pos);
        return EXIT_USAGE;
    }
    if (a->val_labels && !a->val_data) {
        msg_usage("--val-labels", "is the label file of --val-data: give --val-data too");
        return EXIT_USAGE;
    }
    if (a->val_data && a->t.val_fraction > 0) {
        msg_usage("--val-data", "cannot be combined with --val");
        return EXIT_USAGE;
    }
    if (same_file(a->output, a->pipeline) || same_file(a->output, a->pos[0]) ||
        (a->log && (same_file(a->log, a->pipeline) || same_file(a->log, a->pos[0])))) {
        msg_usage(a->output, "an output of train would replace one of its inputs");
        return EXIT_USAGE;
    }
    if (a->log && strcmp(a->log, a->output) == 0) {
        msg_usage("--log", "is the same file as the trained net");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------ progress */

typedef struct run_state {
    const train_args *a;
    int bar; /* a progress bar on stderr */
    char *log;
    size_t log_len, log_cap;
    int log_failed;
} run_state;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void on_progress(void *ctx, int epoch, long done, long total)
{
    run_state *r = ctx;
    static double last;
    double t = now();
    int width = 30, fill;
    char text[160];
    if (!r->bar || (t - last < 0.1 && done < total))
        return;
    last = t;
    fill = total > 0 ? (int)((double)width * (double)done / (double)total) : width;
    snprintf(text, sizeof text, "cnnfilter: epoch %d/%d [%.*s%*s] %ld/%ld", epoch,
             r->a->t.epochs, fill, "##############################", width - fill, "", done,
             total);
    msg_bar(text, 0);
}

static void log_append(run_state *r, const char *text)
{
    size_t n = strlen(text);
    if (r->log_len + n + 1 > r->log_cap) {
        size_t cap = (r->log_cap ? r->log_cap * 2 : 1024) + n;
        char *nl = realloc(r->log, cap);
        if (!nl) {
            r->log_failed = 1;
            return;
        }
        r->log = nl;
        r->log_cap = cap;
    }
    memcpy(r->log + r->log_len, text, n + 1);
    r->log_len += n;
}

static int on_epoch(void *ctx, const cnf_epoch_stats *s)
{
    run_state *r = ctx;
    char line[400], val[160] = "";
    if (r->bar)
        msg_bar_clear();
    if (s->has_val)
        snprintf(val, sizeof val, ", val loss %.4f, val accuracy %.2f %%", s->val_loss,
                 100.0 * s->val_accuracy);
    if (!r->a->quiet)
        msg_progress("epoch %d/%d: loss %.4f, accuracy %.2f %%%s, %.1f s", s->epoch, s->epochs,
                     s->loss, 100.0 * s->accuracy, val, s->seconds);
    if (s->has_val)
        snprintf(line, sizeof line, "%d,%.9g,%.9g,%.9g,%.9g,%.3f\n", s->epoch, s->loss,
                 s->accuracy, s->val_loss, s->val_accuracy, s->seconds);
    else
        snprintf(line, sizeof line, "%d,%.9g,%.9g,,,%.3f\n", s->epoch, s->loss, s->accuracy,
                 s->seconds);
    log_append(r, line);
    return 0;
}

/* ---------------------------------------------------------------- run */

static uint64_t engine_bytes(void *ctx, int w, int h, int c)
{
    const struct {
        const cnf_pipeline *pl;
        const cnf_train_options *t;
    } *e = ctx;
    uint64_t bytes = 0;
    cnf_error err;
    if (cnf_train_memory(e->pl, w, h, c, e->t, &bytes, &err) != CNF_OK)
        return 0; /* the net does not fit the data: cnf_train says why */
    return bytes;
}

/* s as a JSON string (quotes, backslashes and control characters escaped)
 * into buf. */
static const char *json_string(const char *s, char *buf, size_t size)
{
    size_t o = 0;
    if (size < 3)
        return "\"\"";
    buf[o++] = '"';
    for (; *s && o + 8 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(buf + o, size - o, "\\u%04x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}

/* The "training" record written into TRAINED.json. */
static char *training_record(const train_args *a, const dataset *ds, const cnf_epoch_stats *s)
{
    char *out = malloc(4096);
    char val[600] = "", last[300], q[500];
    if (!out)
        return NULL;
    if (a->val_data)
        snprintf(val, sizeof val, ", \"val_data\": %s", json_string(a->val_data, q, sizeof q));
    else if (a->t.val_fraction > 0)
        snprintf(val, sizeof val, ", \"val\": %.9g", a->t.val_fraction);
    snprintf(last, sizeof last, "{\"epoch\": %d, \"loss\": %.9g, \"accuracy\": %.9g", s->epoch,
             s->loss, s->accuracy);
    if (s->has_val)
        snprintf(last + strlen(last), sizeof last - strlen(last),
                 ", \"val_loss\": %.9g, \"val_accuracy\": %.9g", s->val_loss, s->val_accuracy);
    snprintf(out, 4096,
             "{\"epochs\": %d, \"batch\": %d, \"lr\": %.9g, \"optimizer\": \"%s\", "
             "\"momentum\": %.9g, \"weight_decay\": %.9g, \"loss\": \"%s\", \"seed\": %llu, "
             "\"shuffle\": %s%s, \"data\": {\"samples\": %d, \"channels\": %d, \"height\": %d, "
             "\"width\": %d}, \"last_epoch\": %s}}",
             a->t.epochs, a->t.batch, a->t.lr, a->t.optimizer == CNF_OPT_ADAM ? "adam" : "sgd",
             a->t.momentum, a->t.weight_decay,
             a->t.loss == CNF_LOSS_MSE ? "mse" : "cross_entropy",
             (unsigned long long)a->t.seed, a->t.shuffle ? "true" : "false", val, ds->d.n,
             ds->d.channels, ds->d.height, ds->d.width, last);
    return out;
}

/* A net too large for a pipeline file is refused before training, not after:
 * on a copy (the pipeline written and read back), the weights are drawn as
 * training draws them and written as the trained file would be (trained
 * weights print with as many digits, give or take one or two). */
static int check_writable(const train_args *a, const cnf_pipeline *pl, const dataset *ds)
{
    char *json = NULL;
    size_t len = 0;
    cnf_pipeline *copy = NULL;
    cnf_train_options o = a->t;
    cnf_error err;
    int rc = EXIT_OK;
    if (cnf_pipeline_to_json(pl, NULL, &json, &len, &err) != CNF_OK ||
        cnf_pipeline_parse(json, len, a->pipeline, NULL, &copy, &err) != CNF_OK) {
        free(json);
        return EXIT_OK; /* nothing to learn from here: training says what is wrong */
    }
    free(json);
    json = NULL;
    o.epochs = 0;
    o.val = NULL;
    o.val_fraction = 0;
    o.progress = NULL;
    o.epoch_end = NULL;
    if (cnf_train(copy, &ds->d, &o, NULL, &err) == CNF_OK &&
        cnf_pipeline_to_json(copy, NULL, &json, &len, &err) != CNF_OK &&
        err.limit == CNF_LIMIT_JSON) {
        msg_error(a->output, "%s: refused before training (use smaller images, or fewer "
                             "kernels or units)", err.msg);
        rc = EXIT_FAILURE_RUN;
    }
    free(json);
    cnf_pipeline_free(copy);
    return rc;
}

/* The trained net (and the log) in place, together. */
static int write_results(const train_args *a, cnf_pipeline *pl, const dataset *ds,
                         const cnf_epoch_stats *s, run_state *r)
{
    char *json = NULL, *record = training_record(a, ds, s);
    size_t len = 0;
    cnf_error err;
    out_file fs[2];
    int n = 0, rc = EXIT_OK;
    if (ds->classes && cnf_pipeline_set_classes(pl, (const char *const *)ds->classes,
                                                ds->n_classes, &err) != CNF_OK) {
        free(record);
        return msg_cnf(&err, a->output);
    }
    if (!record || cnf_pipeline_to_json(pl, record, &json, &len, &err) != CNF_OK) {
        free(record);
        return record ? msg_cnf(&err, a->output) : (msg_error(a->output, "out of memory"), 1);
    }
    free(record);
    if (out_open(&fs[0], a->output, 0, &err) != CNF_OK ||
        out_write(&fs[0], json, len, &err) != CNF_OK)
        rc = msg_cnf(&err, a->output);
    else
        n = 1;
    if (rc == 0 && a->log) {
        if (r->log_failed || out_open(&fs[1], a->log, 0, &err) != CNF_OK) {
            rc = r->log_failed ? (msg_error(a->log, "out of memory"), 1) : msg_cnf(&err, a->log);
        } else {
            const char *head = "epoch,loss,train_accuracy,val_loss,val_accuracy,seconds\n";
            n = 2;
            if (out_write(&fs[1], head, strlen(head), &err) != CNF_OK ||
                out_write(&fs[1], r->log ? r->log : "", r->log_len, &err) != CNF_OK)
                rc = msg_cnf(&err, a->log);
        }
    }
    if (rc == 0 && out_commit_all(fs, n, &err) != CNF_OK)
        rc = msg_cnf(&err, a->output);
    else if (rc)
        for (int i = 0; i < n; i++)
            out_abort(&fs[i]);
    free(json);
    return rc;
}

/* Load, train, write. */
static int train_run(train_args *a)
{
    cnf_pipeline *pl = NULL;
    dataset ds, val;
    dataset_opts dopt;
    cnf_epoch_stats last;
    cnf_error err;
    run_state r;
    struct {
        const cnf_pipeline *pl;
        const cnf_train_options *t;
    } est;
    int rc = load_pipeline_file(a->pipeline, a->max_memory, &pl);
    memset(&ds, 0, sizeof ds);
    memset(&val, 0, sizeof val);
    memset(&r, 0, sizeof r);
    memset(&last, 0, sizeof last);
    if (rc)
        return rc;
    est.pl = pl;
    est.t = &a->t;
    memset(&dopt, 0, sizeof dopt);
    dopt.labels = a->labels;
    dopt.max_pixels = a->max_pixels;
    dopt.decode_flags = a->decode_flags;
    dopt.max_memory = a->max_memory;
    dopt.extra_for = engine_bytes;
    dopt.ctx = &est;
    dopt.need_labels = 1;
    rc = dataset_load(&ds, a->pos, 1, &dopt);
    if (rc == 0 && a->val_data) {
        const char *v[1] = {a->val_data};
        dopt.labels = a->val_labels;
        dopt.extra_for = NULL;
        rc = dataset_load(&val, v, 1, &dopt);
        a->t.val = &val.d;
    }
    r.a = a;
    r.bar = a->progress == 1 || (a->progress == 0 && isatty(STDERR_FILENO));
    a->t.max_memory = a->max_memory;
    a->t.progress = on_progress;
    a->t.epoch_end = on_epoch;
    a->t.ctx = &r;
    if (rc == 0)
        rc = check_writable(a, pl, &ds);
    if (rc == 0 && cnf_train(pl, &ds.d, &a->t, &last, &err) != CNF_OK)
        rc = msg_cnf(&err, a->pos[0]); /* over the bar: msg clears it */
    if (rc == 0)
        rc = write_results(a, pl, &ds, &last, &r);
    free(r.log);
    dataset_free(&ds);
    dataset_free(&val);
    cnf_pipeline_free(pl);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    train_args a;
    int rc;
    msg_set_command("train");
    memset(&a, 0, sizeof a);
    cnf_train_options_init(&a.t);
    a.t.threads = args_default_jobs();
    a.max_memory = CNF_DEFAULT_MAX_MEMORY;
    a.max_pixels = CNF_DEFAULT_MAX_PIXELS;
    if (!(a.pos = calloc((size_t)argc + 1, sizeof *a.pos))) {
        msg_error(NULL, "out of memory");
        return EXIT_FAILURE_RUN;
    }
    rc = args_parse(argc, argv, 2, TRAIN_OPTIONS, N_TRAIN_OPTIONS, apply_train, &a, a.pos,
                    &a.n_pos);
    if (rc == 0 && a.help)
        train_help(stdout);
    else if (rc == 0) {
        msg_set_quiet(a.quiet);
        rc = check_args(&a);
        if (rc == 0)
            rc = train_run(&a);
    }
    free(a.pos);
    return rc;
}

int train_option_words(FILE *f, const char *what)
{
    return args_complete(f, TRAIN_OPTIONS, N_TRAIN_OPTIONS, what);
}
