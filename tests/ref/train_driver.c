/* train_driver.c - a test tool: train a net given on the command line with cnf_train, print
 * the figures and the weights (for tests/ref/test_torch_train.py and test_seed002.py).
 *
 * Usage: train_driver [OPTIONS] DATA.npy LABELS.npy OUT.txt LAYER [LAYER FLAGS]...
 *   DATA.npy    float32 (N, C, H, W);  LABELS.npy  int64 (N,)
 *   OUT.txt     "-" for stdout: one line per epoch
 *                 epoch E loss L accuracy A [val_loss V val_accuracy W]
 *               then one line per tensor of every conv and dense layer (0-based index I)
 *                 I conv weights V...   (kernel-major, [depth][kh][kw] each)
 *                 I conv bias V...
 *                 I dense weights V...  (units x in, row-major)
 *                 I dense bias V...     (absent without bias)
 *               values printed with %.9g (float32 round trip).
 *   LAYER       a JSON layer object the pipeline parser reads ({"type": "conv", ...}), or
 *               flatten | softmax | affine:SCALE:SHIFT | dense:UNITS[:W.npy[:B.npy]]
 *   FLAGS       after a layer, for it: --frozen, --no-bias, --shape COUNT KH KW (a conv
 *               layer's kernels by shape only, drawn by cnf_train)
 * OPTIONS: --epochs N --batch B --lr X --optimizer sgd|adam --momentum M --weight-decay W
 *          --loss cross_entropy|mse --seed S --no-shuffle --threads T --val F
 * Pipelines are built by hand here because the learned layers are not all in the parser of
 * every branch; the layer fields are those of src/lib/internal.h. */
#include "cnnfilter.h"
#include "../../src/lib/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *msg, const char *what)
{
    fprintf(stderr, "train_driver: %s%s%s\n", msg, what ? ": " : "", what ? what : "");
    exit(2);
}

/* A little-endian .npy of dtype `descr` ("<f4", "<i8"): its values (malloc'd)
 * and shape (up to 4 dims). */
static void *read_npy(const char *path, const char *descr, size_t esize, int *ndim, long *shape)
{
    FILE *f = fopen(path, "rb");
    unsigned char pre[10];
    char head[1024], *s;
    size_t hl, count = 1;
    void *v;
    if (!f || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1)
        die("not a version 1 .npy file", path);
    hl = pre[8] | (size_t)pre[9] << 8;
    if (hl >= sizeof head || fread(head, 1, hl, f) != hl)
        die("bad .npy header", path);
    head[hl] = 0;
    if (!strstr(head, descr) || strstr(head, "'fortran_order': True"))
        die("unexpected dtype or order", path);
    s = strchr(strstr(head, "'shape'"), '(') + 1;
    for (*ndim = 0; *s && *s != ')' && *ndim < 4; (*ndim)++) {
        shape[*ndim] = strtol(s, &s, 10);
        count *= (size_t)shape[*ndim];
        while (*s == ',' || *s == ' ')
            s++;
    }
    v = malloc(esize * count + 1);
    if (!v || fread(v, esize, count, f) != count)
        die("short .npy data", path);
    fclose(f);
    return v;
}

static cnf_pl_layer *new_layer(cnf_pipeline *p, cnf_layer_kind kind, const char *type)
{
    cnf_pl_layer *L;
    p->layers = realloc(p->layers, sizeof *p->layers * (size_t)(p->n + 1));
    if (!p->layers)
        die("out of memory", NULL);
    L = &p->layers[p->n++];
    memset(L, 0, sizeof *L);
    cnf_layer_init(&L->layer);
    L->kind = kind;
    L->line = p->n;
    snprintf(L->type, sizeof L->type, "%s", type);
    return L;
}

static void dense_layer(cnf_pipeline *p, char *spec)
{
    char *units = strtok(spec, ":"), *w = strtok(NULL, ":"), *b = strtok(NULL, ":");
    cnf_pl_layer *L = new_layer(p, CNF_LAYER_DENSE, "dense");
    int nd;
    long shape[4];
    L->units = atoi(units);
    if (w) {
        L->w = read_npy(w, "<f4", 4, &nd, shape);
        if (nd != 2 || shape[0] != L->units)
            die("dense weights must be (units, in)", w);
        L->in = (int)shape[1];
    }
    if (b && strcmp(b, "-") != 0) {
        L->b = read_npy(b, "<f4", 4, &nd, shape);
        if (nd != 1 || shape[0] != L->units)
            die("dense bias must be (units,)", b);
    }
}

/* A layer the parser reads, moved into p. */
static void json_layer(cnf_pipeline *p, const char *json)
{
    char *text = malloc(strlen(json) + 32);
    cnf_pipeline *one = NULL;
    cnf_error e;
    sprintf(text, "{\"layers\": [%s]}", json);
    if (cnf_pipeline_parse(text, strlen(text), "layer", NULL, &one, &e) != CNF_OK)
        die(e.msg, json);
    *new_layer(p, one->layers[0].kind, "") = one->layers[0];
    one->n = 0; /* its kernels now belong to p */
    cnf_pipeline_free(one);
    free(text);
}

static void shape_only(cnf_pl_layer *L, int count, int kh, int kw)
{
    for (int k = 0; L->kernels && k < L->layer.n_kernels; k++)
        cnf_kernel_free(L->kernels[k]);
    free(L->kernels);
    free(L->kptr);
    L->kernels = NULL;
    L->kptr = NULL;
    L->layer.kernels = NULL;
    L->layer.n_kernels = 0;
    L->shape_only = 1;
    L->count = count;
    L->kh = kh;
    L->kw = kw;
}

/* Layers and their flags from argv[i...]. */
static void read_layers(cnf_pipeline *p, int argc, char **argv, int i)
{
    for (; i < argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "--frozen") == 0 && p->n)
            p->layers[p->n - 1].frozen = 1;
        else if (strcmp(a, "--no-bias") == 0 && p->n)
            p->layers[p->n - 1].no_bias = 1;
        else if (strcmp(a, "--shape") == 0 && p->n && i + 3 < argc) {
            shape_only(&p->layers[p->n - 1], atoi(argv[i + 1]), atoi(argv[i + 2]),
                       atoi(argv[i + 3]));
            i += 3;
        } else if (a[0] == '{')
            json_layer(p, a);
        else if (strcmp(a, "flatten") == 0)
            new_layer(p, CNF_LAYER_FLATTEN, "flatten");
        else if (strcmp(a, "softmax") == 0)
            new_layer(p, CNF_LAYER_SOFTMAX, "softmax");
        else if (strncmp(a, "affine:", 7) == 0) {
            cnf_pl_layer *L = new_layer(p, CNF_LAYER_AFFINE, "affine");
            char *end;
            L->scale = strtod(a + 7, &end);
            L->shift = strtod(end + 1, NULL);
        } else if (strncmp(a, "dense:", 6) == 0)
            dense_layer(p, a + 6);
        else
            die("unknown layer", a);
    }
}

/* Options; returns the index of the first positional argument. */
static int read_options(int argc, char **argv, cnf_train_options *o)
{
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(k, "--no-shuffle") == 0) {
            o->shuffle = 0;
            continue;
        }
        i++;
        if (strcmp(k, "--epochs") == 0) o->epochs = atoi(v);
        else if (strcmp(k, "--batch") == 0) o->batch = atoi(v);
        else if (strcmp(k, "--lr") == 0) o->lr = strtod(v, NULL);
        else if (strcmp(k, "--momentum") == 0) o->momentum = strtod(v, NULL);
        else if (strcmp(k, "--weight-decay") == 0) o->weight_decay = strtod(v, NULL);
        else if (strcmp(k, "--seed") == 0) o->seed = strtoull(v, NULL, 10);
        else if (strcmp(k, "--threads") == 0) o->threads = atoi(v);
        else if (strcmp(k, "--val") == 0) o->val_fraction = strtod(v, NULL);
        else if (strcmp(k, "--optimizer") == 0) o->optimizer = strcmp(v, "adam") == 0 ? CNF_OPT_ADAM : CNF_OPT_SGD;
        else if (strcmp(k, "--loss") == 0) o->loss = strcmp(v, "mse") == 0 ? CNF_LOSS_MSE : CNF_LOSS_CROSS_ENTROPY;
        else die("unknown option", k);
    }
    return i;
}

typedef struct out_ctx {
    FILE *f;
} out_ctx;

static int on_epoch(void *ctx, const cnf_epoch_stats *s)
{
    out_ctx *c = ctx;
    fprintf(c->f, "epoch %d loss %.17g accuracy %.17g", s->epoch, s->loss, s->accuracy);
    if (s->has_val)
        fprintf(c->f, " val_loss %.17g val_accuracy %.17g", s->val_loss, s->val_accuracy);
    fputc('\n', c->f);
    return 0;
}

static void print_values(FILE *f, int layer, const char *what, const double *d, const float *v,
                         long n)
{
    fprintf(f, "%d %s", layer, what);
    for (long i = 0; i < n; i++)
        fprintf(f, " %.9g", d ? d[i] : (double)v[i]);
    fputc('\n', f);
}

static void print_weights(FILE *f, const cnf_pipeline *p)
{
    for (int i = 0; i < p->n; i++) {
        const cnf_pl_layer *L = &p->layers[i];
        if (L->kind == CNF_LAYER_CONV && L->kernels) {
            fprintf(f, "%d conv weights", i);
            for (int k = 0; k < L->layer.n_kernels; k++)
                for (int t = 0; t < L->kernels[k]->w * L->kernels[k]->h * L->kernels[k]->depth; t++)
                    fprintf(f, " %.9g", L->kernels[k]->weights[t]);
            fprintf(f, "\n%d conv bias", i);
            for (int k = 0; k < L->layer.n_kernels; k++)
                fprintf(f, " %.9g", L->kernels[k]->bias + L->layer.bias);
            fputc('\n', f);
        }
        if (L->kind == CNF_LAYER_DENSE && L->w)
            print_values(f, i, "dense weights", NULL, L->w, (long)L->units * L->in);
        if (L->kind == CNF_LAYER_DENSE && L->b)
            print_values(f, i, "dense bias", NULL, L->b, L->units);
    }
}

int main(int argc, char **argv)
{
    cnf_train_options o;
    cnf_pipeline *p = calloc(1, sizeof *p);
    cnf_dataset d;
    cnf_error e;
    float *x;
    long long *y64;
    int *labels, nd, i;
    long shape[4];
    out_ctx ctx;
    cnf_train_options_init(&o);
    i = read_options(argc, argv, &o);
    if (argc - i < 4 || !p)
        die("usage: train_driver [OPTIONS] DATA.npy LABELS.npy OUT.txt LAYER...", NULL);
    snprintf(p->name, sizeof p->name, "driver");
    x = read_npy(argv[i], "<f4", 4, &nd, shape);
    if (nd != 4)
        die("data must be (N, C, H, W)", argv[i]);
    d = (cnf_dataset){(int)shape[0], (int)shape[3], (int)shape[2], (int)shape[1], NULL, x, NULL};
    y64 = read_npy(argv[i + 1], "<i8", 8, &nd, shape);
    if (nd != 1 || shape[0] != d.n)
        die("labels must be (N,)", argv[i + 1]);
    labels = malloc(sizeof(int) * (size_t)d.n);
    for (int k = 0; k < d.n; k++)
        labels[k] = (int)y64[k];
    d.labels = labels;
    ctx.f = strcmp(argv[i + 2], "-") == 0 ? stdout : fopen(argv[i + 2], "w");
    if (!ctx.f)
        die("cannot write", argv[i + 2]);
    read_layers(p, argc, argv, i + 3);
    o.epoch_end = on_epoch;
    o.ctx = &ctx;
    if (cnf_train(p, &d, &o, NULL, &e) != CNF_OK) {
        fprintf(stderr, "train_driver: %s%s%s\n", e.where, e.where[0] ? ": " : "", e.msg);
        return 1;
    }
    print_weights(ctx.f, p);
    if (ctx.f != stdout)
        fclose(ctx.f);
    cnf_pipeline_free(p);
    free(x);
    free(y64);
    free(labels);
    return 0;
}
