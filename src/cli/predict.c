/* predict.c - `cnnfilter predict`: classify images with a trained pipeline, one CSV row each, with accuracy and a confusion matrix for labelled data. */
#define _POSIX_C_SOURCE 200809L
#include "args.h"
#include "commands.h"
#include "dataset.h"
#include "msg.h"
#include "outfile.h"
#include "paths.h"
#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { P_PIPELINE, P_TOP, P_CONFUSION, P_LABELS, P_JOBS, P_MAX_MEMORY, P_MAX_PIXELS, P_NO_AUTO_ORIENT, P_QUIET,
       P_HELP };

static const arg_opt PREDICT_OPTIONS[] = {
    {P_PIPELINE, "pipeline", 0, "TRAINED.json", 0, "the trained net (required)"},
    {P_TOP, "top", 0, "K", 0, "the K most probable classes per input (1)"},
    {P_CONFUSION, "confusion", 0, "FILE.csv", 0, "labelled data: write the confusion matrix"},
    {P_LABELS, "labels", 0, "FILE", 0, "the IDX label file of IDX images (found beside them by name)"},
    {P_JOBS, "jobs", 'j', "N", 0, "threads; the same probabilities for any N (all cores)"},
    {P_MAX_MEMORY, "max-memory", 0, "BYTES", 0, "refuse data + net over this; K, M, G (2G)"},
    {P_MAX_PIXELS, "max-pixels", 0, "N", 0, "refuse larger images (178956970)"},
    {P_NO_AUTO_ORIENT, "no-auto-orient", 0, NULL, 0, "keep images as stored (no EXIF turn)"},
    {P_QUIET, "quiet", 'q', NULL, 0, "no accuracy line"},
    {P_HELP, "help", 'h', NULL, 0, "show this help and exit"},
};
#define N_PREDICT_OPTIONS (sizeof PREDICT_OPTIONS / sizeof PREDICT_OPTIONS[0])

/* Samples per forward call: enough to share the set-up, few enough that
 * the outputs stay small. */
#define BATCH 256

typedef struct predict_args {
    const char *pipeline, *confusion, *labels;
    int top, jobs, quiet, help;
    uint64_t max_memory, max_pixels;
    unsigned decode_flags;
    const char **pos;
    int n_pos;
} predict_args;

static void predict_help(FILE *f)
{
    fprintf(f, "Usage: cnnfilter predict --pipeline TRAINED.json [OPTIONS] DATA...\n"
               "\n"
               "One CSV row per input on standard output: path,class,probability (with --top K,\n"
               "K class,probability pairs).  DATA: image files, folders (recursively), a\n"
               "class-folder tree, or an IDX file (path column FILE#INDEX; its labels from\n"
               "--labels or the label file beside it, if any).  For labelled data the last\n"
               "line on standard error is the accuracy.\n"
               "\n"
               "Options:\n");
    for (size_t i = 0; i < N_PREDICT_OPTIONS; i++)
        args_help_line(f, &PREDICT_OPTIONS[i], PREDICT_OPTIONS[i].help);
}

static int apply_predict(void *ctx, const arg_opt *op, const char *flag, const char *val)
{
    predict_args *a = ctx;
    switch (op->id) {
    case P_PIPELINE: a->pipeline = val; return 0;
    case P_TOP: return arg_int(flag, val, 1, 1 << 20, &a->top);
    case P_CONFUSION: a->confusion = val; return 0;
    case P_LABELS: a->labels = val; return 0;
    case P_JOBS: return arg_int(flag, val, 1, 256, &a->jobs);
    case P_MAX_MEMORY: return arg_bytes(flag, val, &a->max_memory);
    case P_MAX_PIXELS: return arg_bytes(flag, val, &a->max_pixels);
    case P_NO_AUTO_ORIENT: a->decode_flags = CNF_DECODE_NO_ORIENT; return 0;
    case P_QUIET: a->quiet = 1; return 0;
    case P_HELP: a->help = 1; return ARGS_STOP;
    default: return 0;
    }
}

/* The class column: the pipeline's name for class k, or k. */
static const char *class_word(const char *const *names, int n, int k, char *buf, size_t size)
{
    if (names && k < n)
        return names[k];
    snprintf(buf, size, "%d", k);
    return buf;
}

/* One input's row: path, then the top K (class, probability), most
 * probable first (the lower class first on ties). */
static void print_row(const char *name, const float *p, int n, int top, const char *const *names,
                      int n_names)
{
    char esc[4200], w[32];
    int used[64] = {0}, k_max = top < n ? top : n;
    fputs(escape(name, esc, sizeof esc), stdout);
    for (int k = 0; k < k_max; k++) {
        int best = -1;
        for (int c = 0; c < n; c++) {
            int taken = 0;
            for (int j = 0; j < k && j < 64; j++)
                taken |= used[j] == c + 1;
            if (!taken && (best < 0 || p[c] > p[best]))
                best = c;
        }
        if (k < 64)
            used[k] = best + 1;
        printf(",%s,%.6f", class_word(names, n_names, best, w, sizeof w), (double)p[best]);
    }
    putchar('\n');
}

/* The first maximum: the class a sample is given. */
static int argmax(const float *p, int n)
{
    int best = 0;
    for (int c = 1; c < n; c++)
        if (p[c] > p[best])
            best = c;
    return best;
}

static int write_confusion(const char *path, const long *m, int n, const char *const *names,
                           int n_names)
{
    char *buf = NULL, w[32];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cnf_error err;
    int rc = EXIT_OK;
    if (!f) {
        msg_error(path, "out of memory");
        return EXIT_FAILURE_RUN;
    }
    fputs("true\\predicted", f);
    for (int c = 0; c < n; c++)
        fprintf(f, ",%s", class_word(names, n_names, c, w, sizeof w));
    fputc('\n', f);
    for (int t = 0; t < n; t++) {
        fputs(class_word(names, n_names, t, w, sizeof w), f);
        for (int c = 0; c < n; c++)
            fprintf(f, ",%ld", m[(size_t)t * n + c]);
        fputc('\n', f);
    }
    fclose(f);
    if (write_output(path, (const unsigned char *)buf, len, 0, &err) != CNF_OK)
        rc = msg_cnf(&err, path);
    free(buf);
    return rc;
}

/* Classify every sample; rows on stdout, counts into confusion (n x n). */
static int classify(const predict_args *a, const cnf_net *net, const dataset *ds, int n_out,
                    const char *const *names, int n_names, long *confusion, long *right)
{
    float *out = malloc(sizeof(float) * (size_t)BATCH * (size_t)n_out);
    cnf_error err;
    char name[4200];
    if (!out) {
        msg_error(a->pos[0], "out of memory");
        return EXIT_FAILURE_RUN;
    }
    for (int first = 0; first < ds->d.n; first += BATCH) {
        int count = ds->d.n - first < BATCH ? ds->d.n - first : BATCH;
        if (cnf_net_forward(net, &ds->d, first, count, a->jobs, out, &err) != CNF_OK) {
            free(out);
            return msg_cnf(&err, a->pos[0]);
        }
        for (int i = 0; i < count; i++) {
            const float *p = out + (size_t)i * n_out;
            int label = ds->labels ? ds->labels[first + i] : -1;
            print_row(dataset_name(ds, first + i, name, sizeof name), p, n_out,
                      a->top ? a->top : 1, names, n_names);
            if (label >= 0) {
                int got = argmax(p, n_out);
                confusion[(size_t)label * n_out + got]++;
                *right += got == label;
            }
        }
    }
    free(out);
    return EXIT_OK;
}

/* A labelled sample's class must be one of the net's outputs. */
static int check_labels(const dataset *ds, int n_out)
{
    char name[4200];
    for (int i = 0; ds->labels && i < ds->d.n; i++)
        if (ds->labels[i] >= n_out) {
            msg_error(dataset_name(ds, i, name, sizeof name),
                      "label %d is not one of the net's %d outputs", ds->labels[i], n_out);
            return EXIT_FAILURE_RUN;
        }
    return EXIT_OK;
}

static uint64_t net_bytes(void *ctx, int w, int h, int c)
{
    cnf_net *net = NULL;
    cnf_error err;
    uint64_t bytes = 0;
    if (cnf_net_create(ctx, w, h, c, 0, &net, &err) == CNF_OK)
        bytes = cnf_net_memory(net);
    cnf_net_free(net);
    return bytes;
}

static int predict_run(const predict_args *a)
{
    cnf_pipeline *pl = NULL;
    cnf_net *net = NULL;
    dataset ds;
    dataset_opts dopt;
    cnf_error err;
    const char *const *names;
    long *confusion = NULL, right = 0;
    int n_names = 0, n_out = 0, c, h, w;
    int rc = load_pipeline_file(a->pipeline, a->max_memory, &pl);
    memset(&ds, 0, sizeof ds);
    if (rc)
        return rc;
    if (cnf_pipeline_check_weights(pl, &err) != CNF_OK) {
        rc = msg_cnf(&err, a->pipeline);
        goto out;
    }
    names = cnf_pipeline_classes(pl, &n_names);
    memset(&dopt, 0, sizeof dopt);
    dopt.labels = a->labels;
    dopt.max_pixels = a->max_pixels;
    dopt.decode_flags = a->decode_flags;
    dopt.max_memory = a->max_memory;
    dopt.extra_for = net_bytes;
    dopt.ctx = pl;
    dopt.keep_names = 1;
    dopt.classes = names;
    dopt.n_classes = n_names;
    if ((rc = dataset_load(&ds, a->pos, a->n_pos, &dopt)) != 0)
        goto out;
    if (cnf_net_create(pl, ds.d.width, ds.d.height, ds.d.channels, a->max_memory, &net, &err) !=
        CNF_OK) {
        rc = msg_cnf(&err, a->pipeline);
        goto out;
    }
    n_out = cnf_net_shape(net, &c, &h, &w);
    if ((rc = check_labels(&ds, n_out)) != 0)
        goto out;
    if (!(confusion = calloc((size_t)n_out * (size_t)n_out, sizeof *confusion))) {
        rc = (msg_error(a->pipeline, "out of memory"), EXIT_FAILURE_RUN);
        goto out;
    }
    if ((rc = classify(a, net, &ds, n_out, names, n_names, confusion, &right)) != 0)
        goto out;
    if (ds.labels && !a->quiet)
        fprintf(stderr, "accuracy %.2f %% (%ld/%d)\n", 100.0 * (double)right / ds.d.n, right,
                ds.d.n);
    if (ds.labels && a->confusion)
        rc = write_confusion(a->confusion, confusion, n_out, names, n_names);
    else if (a->confusion)
        msg_warn(a->confusion, "not written: the data has no labels");
out:
    free(confusion);
    cnf_net_free(net);
    dataset_free(&ds);
    cnf_pipeline_free(pl);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    predict_args a;
    int rc;
    msg_set_command("predict");
    memset(&a, 0, sizeof a);
    a.jobs = args_default_jobs();
    a.max_memory = CNF_DEFAULT_MAX_MEMORY;
    a.max_pixels = CNF_DEFAULT_MAX_PIXELS;
    if (!(a.pos = calloc((size_t)argc + 1, sizeof *a.pos))) {
        msg_error(NULL, "out of memory");
        return EXIT_FAILURE_RUN;
    }
    rc = args_parse(argc, argv, 2, PREDICT_OPTIONS, N_PREDICT_OPTIONS, apply_predict, &a, a.pos,
                    &a.n_pos);
    if (rc == 0 && a.help) {
        predict_help(stdout);
    } else if (rc == 0) {
        msg_set_quiet(a.quiet);
        if (!a.pipeline) {
            msg_usage("--pipeline", "predict needs the trained net: --pipeline TRAINED.json");
            rc = EXIT_USAGE;
        } else if (a.n_pos < 1) {
            msg_usage(NULL, "predict needs DATA: images, folders or an IDX file");
            rc = EXIT_USAGE;
        } else if (a.confusion && same_file(a.confusion, a.pipeline)) {
            msg_usage(a.confusion, "would replace the pipeline");
            rc = EXIT_USAGE;
        } else {
            rc = predict_run(&a);
        }
    }
    free(a.pos);
    return rc;
}

int predict_option_words(FILE *f, const char *what)
{
    return args_complete(f, PREDICT_OPTIONS, N_PREDICT_OPTIONS, what);
}
