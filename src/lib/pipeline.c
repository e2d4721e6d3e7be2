/* pipeline.c - pipeline documents {"layers": [...]}: a table row per layer type.
 *
 * A row names the type word, the kind of layer the planner builds, the keys the layer accepts
 * (each with its JSON type, range or vocabulary, default, and whether it is required) and a
 * function that puts the values into the layer.  Reading a layer is the same for every row:
 * find the row by "type", reject unknown and duplicate keys, read each key in the row's order
 * (so the first bad key in that order is the one reported), then call the row's function.
 *
 * Learned layers (cnnfilter(1), learning) have rows like the others: dense, flatten, softmax,
 * affine, and conv layers whose kernels are given by shape only (weights to be learned) or by
 * a .npy file as PyTorch stores them.  Weights in files are read by pipeline_weights.c, shape
 * first.
 *
 * The weights are bounded by the caller's memory limit as they are read (weight_budget): a
 * few bytes of text can stand for much more memory ("box:255" is half a MiB of weights, a
 * kernel file's name a copy of that file's kernel each time it is named), so every kernel,
 * weight file and dense layer is counted, before it is made when its size is known first.
 * The built-in specs of the whole document are counted before any layer is read, so a
 * document they take over the limit fails having made nothing.
 *
 * Top-level "classes" are kept, "training" (what `train` recorded) is only checked to be an
 * object, "name" and "description" are kept so that pipeline_json.c writes them back. */
#include "builtin.h"
#include "json_doc.h"
#include "kernel_json.h"
#include "pipeline_weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a key's value is read. */
typedef enum key_type {
    KEY_TYPE,    /* "type" itself: it chose the row (every row lists it first) */
    KEY_INT,     /* an integer in [lo, hi] */
    KEY_PAIR,    /* an integer or [Y, X], each in [lo, hi] */
    KEY_PADDING, /* a word of CNF_VOCAB_PADDING, or a KEY_PAIR (explicit padding) */
    KEY_NUMBER,  /* a finite number */
    KEY_BOOL,    /* true or false */
    KEY_WORD,    /* a word of `vocab`, from its word `from` on */
    KEY_OWN      /* read by the key's own function, present or not */
} key_type;

/* A key's value, or its default when the key is absent. */
typedef struct key_value {
    cnf_jval at; /* node NULL: absent */
    int i;       /* KEY_INT; KEY_BOOL 0 or 1; KEY_WORD the word's enum value; KEY_PADDING the
                  * cnf_padding_kind */
    int a, b;    /* KEY_PAIR and explicit KEY_PADDING: [Y, X] */
    double x;    /* KEY_NUMBER; the default of a KEY_OWN */
} key_value;

typedef struct layer_reader layer_reader;
typedef struct layer_key layer_key;

/* Reads a KEY_OWN key (v->at.node NULL: absent, apply the default v->x) into L. */
typedef cnf_status (*own_fn)(layer_reader *r, cnf_pl_layer *L, const layer_key *k,
                             key_value *v);

/* A key a layer type accepts. */
struct layer_key {
    const char *name;
    key_type type;
    long lo, hi;          /* KEY_INT, KEY_PAIR, KEY_PADDING: the allowed range */
    cnf_vocab vocab;      /* KEY_WORD */
    int from;             /* KEY_WORD: the first word allowed (by its enum value) */
    double def;           /* the default: a number, 0 or 1, or a word's enum value */
    const char *required; /* the error when the key is missing (NULL: optional) */
    own_fn own;           /* KEY_OWN */
};

/* The most keys a layer type has (the size of layer_reader.vals). */
#define MAX_KEYS 16

/* A layer type: one row of the table. */
typedef struct layer_type {
    const char *word;    /* its "type" */
    cnf_layer_kind kind;
    const char *setting; /* its word in CNF_VOCAB_ACTIVATION or CNF_VOCAB_POOL, or NULL */
    const layer_key *keys;
    int n_keys;
    cnf_status (*parse)(layer_reader *r, cnf_pl_layer *L); /* the values into L */
} layer_type;

/* The bytes of weights the pipeline holds, against the caller's limit (cnf_pipeline_parse_ex). */
typedef struct weight_budget {
    uint64_t max;  /* 0: no limit */
    uint64_t used; /* what is made so far, and every built-in spec of the document (counted
                    * first, by count_builtins) */
} weight_budget;

/* One layer being read. */
struct layer_reader {
    const cnf_jdoc *d;
    weight_budget *wb;
    const char *base_dir;
    const layer_type *row;
    size_t off; /* the layer object */
    key_value vals[MAX_KEYS];
};

/* The value of the row's key `name`, or NULL when the row has no such key. */
static const key_value *value(const layer_reader *r, const char *name)
{
    for (int k = 0; k < r->row->n_keys; k++)
        if (strcmp(r->row->keys[k].name, name) == 0)
            return &r->vals[k];
    return NULL;
}

/* ------------------------------------------------------------- weights */

/* The memory-limit error at offset off: the weights pass wb->max there, taking `total` bytes
 * (what the words `what` say). */
static cnf_status over_budget(const cnf_jdoc *d, const weight_budget *wb, uint64_t total,
                              const char *what, size_t off)
{
    cnf_status st = cnf__jdoc_fail(d, CNF_E_TOO_BIG, off,
                                   "the pipeline's weights pass the memory limit of %.1f MiB "
                                   "here: %s %.1f MiB",
                                   (double)wb->max / 1048576.0, what, (double)total / 1048576.0);
    if (d->err)
        d->err->limit = CNF_LIMIT_MEMORY;
    return st;
}

/* Count `keep` bytes the pipeline will hold and `passing` bytes held only while they are made
 * (a .npy file's data), for what stands at offset off. */
static cnf_status take_weights(const layer_reader *r, uint64_t keep, uint64_t passing,
                               size_t off)
{
    weight_budget *wb = r->wb;
    if (wb->max && (keep > wb->max || passing > wb->max - keep ||
                    wb->used > wb->max - keep - passing))
        return over_budget(r->d, wb, wb->used + keep + passing, "with this one they take", off);
    wb->used += keep;
    return CNF_OK;
}

/* The bytes kernel k holds: itself, its weights, a composite's pair. */
static uint64_t kernel_bytes(const cnf_kernel *k)
{
    if (k->pair[0])
        return sizeof *k + kernel_bytes(k->pair[0]) + kernel_bytes(k->pair[1]);
    return sizeof *k + (uint64_t)k->w * (uint64_t)k->h * (uint64_t)k->depth * sizeof(double);
}

/* The bytes the kernel of a built-in spec will hold, from its text alone; 0 when spec is no
 * valid built-in spec (a file, an inline matrix, or a mistake the parser reports). */
static uint64_t builtin_bytes(const char *spec)
{
    const char *v, *h;
    uint64_t side = (uint64_t)cnf__builtin_size(spec);
    if (!side)
        return 0;
    if (cnf_kernel_composite(spec, &v, &h))
        return 3 * sizeof(cnf_kernel) + 2 * side * side * sizeof(double);
    return sizeof(cnf_kernel) + side * side * sizeof(double);
}

/* The raw data a .npy tensor reads when loaded (0 for a JSON array, read already). */
static uint64_t raw_bytes(const cnf_tensor *t)
{
    return t->f ? (uint64_t)t->count * (uint64_t)t->a.esize : 0;
}

/* ---------------------------------------------------------------- conv */

/* A kernel given as a string: a built-in, an inline matrix, or a file (relative to the
 * pipeline's folder first). */
static cnf_status kernel_spec(const layer_reader *r, const char *spec, size_t off,
                              cnf_kernel **k_ret)
{
    cnf_error e;
    cnf_status st;
    char path[4200];
    const char *use = spec;
    memset(&e, 0, sizeof e);
    if (r->base_dir && r->base_dir[0] && spec[0] != '/' && spec[0] != '[') {
        FILE *f;
        snprintf(path, sizeof path, "%s/%s", r->base_dir, spec);
        f = fopen(path, "rb");
        if (f) {
            fclose(f);
            use = path;
        }
    }
    st = cnf_kernel_parse(use, "kernel", k_ret, &e);
    if (st == CNF_OK) {
        /* A built-in spec was counted with the document (count_builtins); anything else is
         * counted now it is made: a kernel file each time it is named. */
        if (use == spec && builtin_bytes(spec) > 0)
            return CNF_OK;
        st = take_weights(r, kernel_bytes(*k_ret), 0, off);
        if (st) {
            cnf_kernel_free(*k_ret);
            *k_ret = NULL;
        }
        return st;
    }
    if (e.subject == CNF_SUBJECT_SPEC) {
        /* A built-in or inline spec: report it where it stands in the pipeline. */
        cnf__jdoc_fail(r->d, st, off, "kernel \"%.60s\": %s", spec, e.msg);
        if (r->d->err)
            r->d->err->limit = e.limit;
        return st;
    }
    if (r->d->err)
        *r->d->err = e;
    return st;
}

/* A kernel object {"weights": [...], ...}; its weights are text of the document, so they are
 * counted once made. */
static cnf_status kernel_object(const layer_reader *r, cnf_jval v, cnf_kernel **k_ret)
{
    cnf_status st = cnf__kernel_from_object_deep(r->d, v, "", CNF_MAX_PIPELINE_DEPTH, k_ret);
    if (st == CNF_OK && (st = take_weights(r, kernel_bytes(*k_ret), 0, v.off)) != CNF_OK) {
        cnf_kernel_free(*k_ret);
        *k_ret = NULL;
    }
    return st;
}

/* What a conv layer needs when it has neither "kernels" nor "weights". */
static const char CONV_NEEDS[] = "a conv layer needs \"kernels\" (a non-empty array, or "
                                 "{\"count\", \"size\"}) or \"weights\" (a .npy file)";

/* 1 and *b when v is true or false, 0 for any other value (nothing reported). */
static int is_bool(const cnf_jdoc *d, cnf_jval v, int *b)
{
    cnf_jdoc quiet = *d;
    quiet.err = NULL;
    return v.node && cnf__jdoc_bool(&quiet, v, "", b) == CNF_OK;
}

/* Room for n kernels in L (both of its arrays). */
static cnf_status alloc_kernels(const layer_reader *r, cnf_pl_layer *L, size_t n, size_t off)
{
    L->kernels = calloc(n, sizeof *L->kernels);
    L->kptr = calloc(n, sizeof *L->kptr);
    if (!L->kernels || !L->kptr)
        return cnf__jdoc_fail(r->d, CNF_E_NOMEM, off, "out of memory");
    return CNF_OK;
}

/* Kernel i of L is made: name it "k<i>" if it has no name, and let the layer see it. */
static void kernel_made(cnf_pl_layer *L, size_t i)
{
    if (!L->kernels[i]->name[0])
        snprintf(L->kernels[i]->name, sizeof L->kernels[i]->name, "k%zu", i);
    L->kptr[i] = L->kernels[i];
    L->layer.n_kernels = (int)i + 1;
    L->layer.kernels = L->kptr;
}

/* "kernels": {"count": N, "size": K or [KH, KW]}: kernels by their shape only, over all the
 * input channels, for training to initialise. */
static cnf_status conv_shape(layer_reader *r, cnf_pl_layer *L, cnf_jval v)
{
    static const char *const keys[] = {"count", "size"};
    cnf_jval at[2];
    int count = 0;
    cnf_status st = cnf__jdoc_keys(r->d, v, keys, 2, "\"kernels\" by shape", at);
    if (st)
        return st;
    if (!at[0].node || !at[1].node)
        return cnf__jdoc_fail(r->d, CNF_E_USAGE, v.off,
                              "\"kernels\" by shape needs \"count\" and \"size\" (such as "
                              "{\"count\": 6, \"size\": 5})");
    st = cnf__jdoc_int(r->d, at[0], "count", 1, INT32_MAX, &count);
    if (st)
        return st;
    if (count > CNF_MAX_PIPELINE_KERNELS)
        return cnf__jdoc_fail_limit(r->d, CNF_LIMIT_KERNEL, at[0].off,
                                    "more than %d kernels in one layer (limit)",
                                    CNF_MAX_PIPELINE_KERNELS);
    st = cnf__jdoc_int_pair(r->d, at[1], "size", 1, CNF_MAX_KERNEL_SIDE, &L->kh, &L->kw);
    if (st)
        return st;
    L->shape_only = 1;
    L->count = count;
    return CNF_OK;
}

/* "kernels": a list of specs and kernel objects, or a shape.  Absent: "weights" gives them
 * (conv_weights checks that one of the two is there). */
static cnf_status conv_kernels(layer_reader *r, cnf_pl_layer *L, const layer_key *k,
                               key_value *v)
{
    cnf_jval *ks;
    size_t n;
    cnf_status st = CNF_OK;
    (void)k;
    if (!v->at.node)
        return CNF_OK;
    if (cnf__jnode_is_object(v->at.node))
        return conv_shape(r, L, v->at);
    if (!cnf__jnode_is_array(v->at.node) || cnf__jnode_count(v->at.node) < 1)
        return cnf__jdoc_fail(r->d, CNF_E_USAGE, v->at.off,
                              "a conv layer needs \"kernels\": a non-empty array");
    n = (size_t)cnf__jnode_count(v->at.node);
    if (n > CNF_MAX_PIPELINE_KERNELS)
        return cnf__jdoc_fail_limit(r->d, CNF_LIMIT_KERNEL, v->at.off,
                                    "more than %d kernels in one layer (limit)",
                                    CNF_MAX_PIPELINE_KERNELS);
    ks = malloc(n * sizeof *ks);
    if (!ks)
        return cnf__jdoc_fail(r->d, CNF_E_NOMEM, v->at.off, "out of memory");
    cnf__jdoc_elements(r->d, v->at, ks, n);
    st = alloc_kernels(r, L, n, v->at.off);
    for (size_t i = 0; i < n && st == CNF_OK; i++) {
        const char *spec = cnf__jnode_string(ks[i].node);
        if (spec)
            st = kernel_spec(r, spec, ks[i].off, &L->kernels[i]);
        else if (cnf__jnode_is_object(ks[i].node))
            st = kernel_object(r, ks[i], &L->kernels[i]);
        else
            st = cnf__jdoc_fail(r->d, CNF_E_USAGE, ks[i].off,
                                "a kernel must be a spec string or a kernel object");
        if (st == CNF_OK)
            kernel_made(L, i);
    }
    free(ks);
    return st;
}

/* The shape of a conv layer's weight file: (N, C, KH, KW) within the pipeline limits. */
static cnf_status conv_weights_shape(const cnf_tensor *t)
{
    char shape[128];
    const size_t *d = t->dims;
    if (t->ndims != 4)
        return cnf__tensor_fail(t, CNF_E_USAGE, "shape %s is not (N, C, KH, KW)",
                                cnf__tensor_shape(t, shape, sizeof shape));
    if (d[0] > CNF_MAX_PIPELINE_KERNELS)
        return cnf__tensor_fail(t, CNF_E_LIMIT, "%zu kernels: more than %d in one layer (limit)",
                                d[0], CNF_MAX_PIPELINE_KERNELS);
    if (d[1] > CNF_MAX_PIPELINE_DEPTH || d[2] > CNF_MAX_KERNEL_SIDE || d[3] > CNF_MAX_KERNEL_SIDE)
        return cnf__tensor_fail(t, CNF_E_LIMIT,
                                "kernels of %zux%zu (depth %zu) are over the limit of %d per side "
                                "and depth %d",
                                d[2], d[3], d[1], CNF_MAX_KERNEL_SIDE, CNF_MAX_PIPELINE_DEPTH);
    return CNF_OK;
}

/* N 3-D kernels [C][KH][KW] from the loaded weights (N, C, KH, KW), as PyTorch's Conv2d. */
static cnf_status conv_kernels_from(layer_reader *r, cnf_pl_layer *L, const cnf_tensor *t)
{
    size_t n = t->dims[0], per = t->dims[1] * t->dims[2] * t->dims[3];
    cnf_status st = alloc_kernels(r, L, n, t->off);
    for (size_t i = 0; i < n && st == CNF_OK; i++) {
        cnf_kernel *kn = cnf__kernel_new((int)t->dims[3], (int)t->dims[2], (int)t->dims[1]);
        if (!kn)
            return cnf__jdoc_fail(r->d, CNF_E_NOMEM, t->off, "out of memory");
        kn->is3d = 1;
        for (size_t j = 0; j < per; j++)
            kn->weights[j] = cnf__tensor_at(t, i * per + j);
        L->kernels[i] = kn;
        kernel_made(L, i);
    }
    L->count = (int)n;
    L->kh = (int)t->dims[2];
    L->kw = (int)t->dims[3];
    return st;
}

/* "weights": a .npy file of shape (N, C, KH, KW), instead of "kernels". */
static cnf_status conv_weights(layer_reader *r, cnf_pl_layer *L, const layer_key *k,
                               key_value *v)
{
    const key_value *kernels = value(r, "kernels");
    cnf_tensor t;
    cnf_status st;
    if (!v->at.node)
        return kernels->at.node ? CNF_OK : cnf__jdoc_fail(r->d, CNF_E_USAGE, r->off, "%s", CONV_NEEDS);
    if (kernels->at.node)
        return cnf__jdoc_fail(r->d, CNF_E_USAGE, v->at.off,
                              "a conv layer takes \"kernels\" or \"weights\", not both");
    if (!cnf__jnode_string(v->at.node))
        return cnf__jdoc_fail(r->d, CNF_E_USAGE, v->at.off,
                              "\"weights\" must name a .npy file of shape (N, C, KH, KW)");
    st = cnf__tensor_open(r->d, v->at, k->name, r->base_dir, 0, &t);
    if (st)
        return st;
    st = conv_weights_shape(&t);
    if (st == CNF_OK)
        st = take_weights(r, (uint64_t)t.dims[0] * sizeof(cnf_kernel) +
                                 (uint64_t)t.count * sizeof(double),
                          raw_bytes(&t), v->at.off);
    if (st == CNF_OK)
        st = cnf__tensor_load(&t);
    if (st == CNF_OK)
        st = conv_kernels_from(r, L, &t);
    cnf__tensor_close(&t);
    return st;
}

/* "bias": false: no bias term; the kernels must not bring one of their own. */
static cnf_status conv_no_bias(layer_reader *r, cnf_pl_layer *L, const key_value *v)
{
    for (int i = 0; i < L->layer.n_kernels; i++) {
        const cnf_kernel *kn = L->kernels[i]->pair[0] ? L->kernels[i]->pair[0] : L->kernels[i];
        if (kn->bias != 0)
            return cnf__jdoc_fail(r->d, CNF_E_USAGE, v->at.off,
                                  "\"bias\" is false but kernel '%s' has a bias of %g",
                                  L->kernels[i]->name, kn->bias);
    }
    L->no_bias = 1;
    return CNF_OK;
}

/* "bias": a .npy file of shape (N): one bias per kernel. */
static cnf_status conv_bias_file(layer_reader *r, cnf_pl_layer *L, const key_value *v)
{
    cnf_tensor t;
    char shape[128];
    cnf_status st = cnf__tensor_open(r->d, v->at, "bias", r->base_dir, 0, &t);
    if (st)
        return st;
    if (t.ndims != 1 || t.dims[0] != (size_t)L->layer.n_kernels)
        st = cnf__tensor_fail(&t, CNF_E_USAGE, "shape %s is not (%d,): one bias per kernel",
                              cnf__tensor_shape(&t, shape, sizeof shape), L->layer.n_kernels);
    if (st == CNF_OK)
        st = cnf__tensor_load(&t);
    for (int j = 0; j < L->layer.n_kernels && st == CNF_OK; j++)
        cnf__kernel_add_bias(L->kernels[j], cnf__tensor_at(&t, (size_t)j));
    cnf__tensor_close(&t);
    return st;
}

/* A number for every map, one bias per kernel (as a CNN layer has) in a list or a .npy file,
 * or false for none.  Kernels given by shape get their biases from training. */
static cnf_status conv_bias(layer_reader *r, cnf_pl_layer *L, const layer_key *k, key_value *v)
{
    int n = cnf__jnode_count(v->at.node), b = 1;
    if (!v->at.node) {
        L->layer.bias = v->x;
        return CNF_OK;
    }
    if (is_bool(r->d, v->at, &b) && !b)
        return conv_no_bias(r, L, v);
    if (L->shape_only)
        return cnf__jdoc_fail(r->d, CNF_E_USAGE, v->at.off,
                              "kernels given by shape have no weights to add \"bias\" to: leave "
                              "it out (training learns it) or make it false");
    if (cnf__jnode_string(v->at.node))
        return conv_bias_file(r, L, v);
    if (!cnf__jnode_is_array(v->at.node))
        return cnf__jdoc_number(r->d, v->at, k->name, &L->layer.bias);
    if (n != L->layer.n_kernels)
        return cnf__jdoc_fail(r->d, CNF_E_USAGE, v->at.off, "\"%s\" has %d values for %d kernels",
                              k->name, n, L->layer.n_kernels);
    for (int j = 0; j < n; j++) {
        /* Errors point at the list: its numbers have no offsets of their own here. */
        cnf_jval bj = {cnf__jnode_item(v->at.node, j), v->at.off};
        double x = 0;
        if (cnf__jdoc_number(r->d, bj, k->name, &x))
            return CNF_E_USAGE;
        cnf__kernel_add_bias(L->kernels[j], x);
    }
    return CNF_OK;
}

static cnf_status conv_parse(layer_reader *r, cnf_pl_layer *L)
{
    const key_value *padding = value(r, "padding"), *stride = value(r, "stride");
    cnf_layer *l = &L->layer;
    l->padding = (cnf_padding_kind)padding->i;
    l->pad_h = padding->a;
    l->pad_w = padding->b;
    l->stride_y = stride->a;
    l->stride_x = stride->b;
    l->dilation = value(r, "dilation")->i;
    l->border = (cnf_border)value(r, "border")->i;
    l->channels = (cnf_channels)value(r, "channels")->i;
    L->frozen = !value(r, "trainable")->i;
    return CNF_OK;
}

static const layer_key CONV_KEYS[] = {
    {.name = "type", .type = KEY_TYPE},
    {.name = "kernels", .type = KEY_OWN, .own = conv_kernels},
    {.name = "weights", .type = KEY_OWN, .own = conv_weights},
    {.name = "padding", .type = KEY_PADDING, .lo = 0, .hi = 1 << 20, .def = CNF_PAD_SAME},
    {.name = "stride", .type = KEY_PAIR, .lo = 1, .hi = 1 << 20, .def = 1},
    {.name = "dilation", .type = KEY_INT, .lo = 1, .hi = 1 << 16, .def = 1},
    {.name = "border", .type = KEY_WORD, .vocab = CNF_VOCAB_BORDER, .def = CNF_BORDER_ZERO},
    /* Feature maps from all incoming channels, as in a CNN (cnnfilter(1), PIPELINES). */
    {.name = "channels", .type = KEY_WORD, .vocab = CNF_VOCAB_CHANNELS, .def = CNF_CH_SUM},
    {.name = "bias", .type = KEY_OWN, .own = conv_bias, .def = 0},
    {.name = "trainable", .type = KEY_BOOL, .def = 1},
};

/* ---------------------------------------------------------- activations */

static cnf_status act_parse(layer_reader *r, cnf_pl_layer *L)
{
    const key_value *slope = value(r, "slope");
    L->layer.activation =
        (cnf_activation)cnf_vocab_value(CNF_VOCAB_ACTIVATION, r->row->setting);
    if (slope)
        L->layer.activation_param = slope->x;
    return CNF_OK;
}

static const layer_key TYPE_ONLY_KEYS[] = {{.name = "type", .type = KEY_TYPE}};
static const layer_key LEAKY_KEYS[] = {
    {.name = "type", .type = KEY_TYPE},
    {.name = "slope", .type = KEY_NUMBER, .def = 0.01},
};

/* ---------------------------------------------------------------- pools */

static cnf_status pool_parse(layer_reader *r, cnf_pl_layer *L)
{
    const key_value *padding = value(r, "padding");
    cnf_layer *l = &L->layer;
    l->pool = (cnf_pool)cnf_vocab_value(CNF_VOCAB_POOL, r->row->setting);
    l->pool_size = value(r, "size")->i;
    l->pool_stride = value(r, "stride")->i;
    l->pool_padding = padding->i;
    l->pool_ceil = value(r, "ceil")->i;
    if (l->pool_padding * 2 > l->pool_size)
        return cnf__jdoc_fail(r->d, CNF_E_USAGE, padding->at.off,
                              "pool padding %d is more than half the window %d", l->pool_padding,
                              l->pool_size);
    return CNF_OK;
}

static const layer_key POOL_KEYS[] = {
    {.name = "type", .type = KEY_TYPE},
    {.name = "size", .type = KEY_INT, .lo = 1, .hi = CNF_MAX_KERNEL_SIDE, .def = 2},
    /* 0: the window size. */
    {.name = "stride", .type = KEY_INT, .lo = 1, .hi = 1 << 20, .def = 0},
    {.name = "padding", .type = KEY_INT, .lo = 0, .hi = CNF_MAX_KERNEL_SIDE, .def = 0},
    {.name = "ceil", .type = KEY_BOOL, .def = 0},
};

/* -------------------------------------------------------------- combine */

static cnf_status combine_parse(layer_reader *r, cnf_pl_layer *L)
{
    L->layer.combine = (cnf_combine)value(r, "mode")->i;
    return CNF_OK;
}

static const layer_key COMBINE_KEYS[] = {
    {.name = "type", .type = KEY_TYPE},
    {.name = "mode", .type = KEY_WORD, .vocab = CNF_VOCAB_COMBINE, .from = CNF_COMBINE_MAGNITUDE,
     .required = "a combine layer must name its \"mode\" (magnitude, max or sum)"},
};

/* ---------------------------------------------------------- learned layers */

static cnf_status no_more(layer_reader *r, cnf_pl_layer *L)
{
    (void)r;
    (void)L;
    return CNF_OK;
}

/* The shape of a dense layer's weights: (units, inputs), at most CNF_MAX_DENSE_WEIGHTS. */
static cnf_status dense_weights_shape(const cnf_tensor *t, int units)
{
    char shape[128];
    if (t->ndims != 2)
        return cnf__tensor_fail(t, CNF_E_USAGE, "shape %s is not (units, inputs)",
                                cnf__tensor_shape(t, shape, sizeof shape));
    if (t->dims[0] != (size_t)units)
        return cnf__tensor_fail(t, CNF_E_USAGE, "%zu rows for %d units (PyTorch's nn.Linear "
                                "layout: one row of inputs per unit)", t->dims[0], units);
    if (t->count > CNF_MAX_DENSE_WEIGHTS)
        return cnf__tensor_fail(t, CNF_E_LIMIT,
                                "%zu x %zu weights: more than %u in one dense layer (limit)",
                                t->dims[0], t->dims[1], CNF_MAX_DENSE_WEIGHTS);
    return CNF_OK;
}

/* The loaded values of t as float32, which is how learned weights are kept (as PyTorch
 * does); each must be a finite float32. */
static cnf_status floats_of(const cnf_tensor *t, float **out)
{
    float *f = malloc(t->count * sizeof *f);
    if (!f)
        return cnf__tensor_fail(t, CNF_E_NOMEM, "out of memory");
    for (size_t i = 0; i < t->count; i++) {
        f[i] = (float)cnf__tensor_at(t, i);
        if (!isfinite(f[i])) {
            free(f);
            return cnf__tensor_fail(t, CNF_E_USAGE, "value %zu (%g) is not a finite float32", i,
                                    cnf__tensor_at(t, i));
        }
    }
    *out = f;
    return CNF_OK;
}

/* "weights": units x inputs as a JSON array or a .npy file.  Absent: training makes them. */
static cnf_status dense_weights(layer_reader *r, cnf_pl_layer *L, const layer_key *k,
                                key_value *v)
{
    cnf_tensor t;
    cnf_status st;
    if (!v->at.node)
        return CNF_OK;
    if (!cnf__jnode_string(v->at.node) && !cnf__jnode_is_array(v->at.node))
        return cnf__jdoc_fail(r->d, CNF_E_USAGE, v->at.off,
                              "\"weights\" must be an array of units x inputs numbers or name a "
                              ".npy file of shape (units, inputs)");
    st = cnf__tensor_open(r->d, v->at, k->name, r->base_dir, CNF_MAX_DENSE_WEIGHTS, &t);
    if (st)
        return st;
    st = dense_weights_shape(&t, value(r, "units")->i);
    /* The weights as float32 and a bias for each unit. */
    if (st == CNF_OK)
        st = take_weights(r, ((uint64_t)t.count + (uint64_t)value(r, "units")->i) * sizeof(float),
                          raw_bytes(&t), v->at.off);
    if (st == CNF_OK)
        st = cnf__tensor_load(&t);
    if (st == CNF_OK)
        st = floats_of(&t, &L->w);
    if (st == CNF_OK)
        L->in = (int)t.dims[1];
    cnf__tensor_close(&t);
    return st;
}

/* "bias": units numbers (a JSON array or a .npy file), or false for none.  Absent: zeros
 * when the weights are given (nn.Linear has a bias), else training makes them. */
static cnf_status dense_bias(layer_reader *r, cnf_pl_layer *L, const layer_key *k, key_value *v)
{
    int units = value(r, "units")->i, b = 1;
    char shape[128];
    cnf_tensor t;
    cnf_status st;
    if (!v->at.node) {
        if (L->w && !(L->b = calloc((size_t)units, sizeof *L->b)))
            return cnf__jdoc_fail(r->d, CNF_E_NOMEM, v->at.off, "out of memory");
        return CNF_OK;
    }
    if (is_bool(r->d, v->at, &b) && !b) {
        L->no_bias = 1;
        return CNF_OK;
    }
    if (!cnf__jnode_string(v->at.node) && !cnf__jnode_is_array(v->at.node))
        return cnf__jdoc_fail(r->d, CNF_E_USAGE, v->at.off,
                              "\"bias\" must be an array of units numbers, a .npy file or false");
    if (!L->w)
        return cnf__jdoc_fail(r->d, CNF_E_USAGE, v->at.off,
                              "\"bias\" without \"weights\": give both, or neither and train the "
                              "layer");
    st = cnf__tensor_open(r->d, v->at, k->name, r->base_dir, CNF_MAX_DENSE_WEIGHTS, &t);
    if (st)
        return st;
    if (t.ndims != 1 || t.dims[0] != (size_t)units)
        st = cnf__tensor_fail(&t, CNF_E_USAGE, "shape %s is not (%d,): one bias per unit",
                              cnf__tensor_shape(&t, shape, sizeof shape), units);
    if (st == CNF_OK)
        st = cnf__tensor_load(&t);
    if (st == CNF_OK)
        st = floats_of(&t, &L->b);
    cnf__tensor_close(&t);
    return st;
}

static cnf_status dense_parse(layer_reader *r, cnf_pl_layer *L)
{
    L->units = value(r, "units")->i;
    L->frozen = !value(r, "trainable")->i;
    return CNF_OK;
}

static const layer_key DENSE_KEYS[] = {
    {.name = "type", .type = KEY_TYPE},
    {.name = "units", .type = KEY_INT, .lo = 1, .hi = CNF_MAX_DENSE_WEIGHTS,
     .required = "a dense layer needs \"units\": how many outputs it has"},
    {.name = "weights", .type = KEY_OWN, .own = dense_weights},
    {.name = "bias", .type = KEY_OWN, .own = dense_bias},
    {.name = "trainable", .type = KEY_BOOL, .def = 1},
};

static cnf_status affine_parse(layer_reader *r, cnf_pl_layer *L)
{
    L->scale = value(r, "scale")->x;
    L->shift = value(r, "shift")->x;
    return CNF_OK;
}

static const layer_key AFFINE_KEYS[] = {
    {.name = "type", .type = KEY_TYPE},
    {.name = "scale", .type = KEY_NUMBER, .def = 1},
    {.name = "shift", .type = KEY_NUMBER, .def = 0},
};

/* ---------------------------------------------------------------- table */

#define KEYS(a) a, (int)(sizeof a / sizeof a[0])
_Static_assert(sizeof CONV_KEYS / sizeof CONV_KEYS[0] <= MAX_KEYS, "raise MAX_KEYS");
_Static_assert(sizeof POOL_KEYS / sizeof POOL_KEYS[0] <= MAX_KEYS, "raise MAX_KEYS");

/* The order is the order of the list in the "needs a type" error. */
static const layer_type LAYER_TYPES[] = {
    {"conv", CNF_LAYER_CONV, NULL, KEYS(CONV_KEYS), conv_parse},
    {"relu", CNF_LAYER_ACT, "relu", KEYS(TYPE_ONLY_KEYS), act_parse},
    {"abs", CNF_LAYER_ACT, "abs", KEYS(TYPE_ONLY_KEYS), act_parse},
    {"leaky_relu", CNF_LAYER_ACT, "leaky_relu", KEYS(LEAKY_KEYS), act_parse},
    {"sigmoid", CNF_LAYER_ACT, "sigmoid", KEYS(TYPE_ONLY_KEYS), act_parse},
    {"tanh", CNF_LAYER_ACT, "tanh", KEYS(TYPE_ONLY_KEYS), act_parse},
    {"maxpool", CNF_LAYER_POOL, "max", KEYS(POOL_KEYS), pool_parse},
    {"avgpool", CNF_LAYER_POOL, "avg", KEYS(POOL_KEYS), pool_parse},
    {"minpool", CNF_LAYER_POOL, "min", KEYS(POOL_KEYS), pool_parse},
    {"combine", CNF_LAYER_COMBINE, NULL, KEYS(COMBINE_KEYS), combine_parse},
    {"flatten", CNF_LAYER_FLATTEN, NULL, KEYS(TYPE_ONLY_KEYS), no_more},
    {"dense", CNF_LAYER_DENSE, NULL, KEYS(DENSE_KEYS), dense_parse},
    {"softmax", CNF_LAYER_SOFTMAX, NULL, KEYS(TYPE_ONLY_KEYS), no_more},
    {"affine", CNF_LAYER_AFFINE, NULL, KEYS(AFFINE_KEYS), affine_parse},
};
#define N_LAYER_TYPES (sizeof LAYER_TYPES / sizeof LAYER_TYPES[0])

/* --------------------------------------------------------- reading a layer */

static cnf_status read_padding(const layer_reader *r, const layer_key *k, key_value *v)
{
    const char *word = cnf__jnode_string(v->at.node);
    int kind = word ? cnf_vocab_value(CNF_VOCAB_PADDING, word) : -1;
    if (kind >= 0) {
        v->i = kind;
        return CNF_OK;
    }
    v->i = CNF_PAD_EXPLICIT;
    return cnf__jdoc_int_pair(r->d, v->at, k->name, k->lo, k->hi, &v->a, &v->b);
}

/* Key k of the row, whose value (if any) is at `at`, into v. */
static cnf_status read_key(layer_reader *r, cnf_pl_layer *L, const layer_key *k, cnf_jval at,
                           key_value *v)
{
    const cnf_jdoc *d = r->d;
    v->at = at;
    v->i = (int)k->def;
    v->a = v->b = k->type == KEY_PADDING ? 0 : (int)k->def;
    v->x = k->def;
    if (!at.node && k->required)
        return cnf__jdoc_fail(d, CNF_E_USAGE, r->off, "%s", k->required);
    if (k->type == KEY_OWN)
        return k->own(r, L, k, v);
    if (!at.node)
        return CNF_OK;
    switch (k->type) {
    case KEY_INT: return cnf__jdoc_int(d, at, k->name, k->lo, k->hi, &v->i);
    case KEY_PAIR: return cnf__jdoc_int_pair(d, at, k->name, k->lo, k->hi, &v->a, &v->b);
    case KEY_PADDING: return read_padding(r, k, v);
    case KEY_NUMBER: return cnf__jdoc_number(d, at, k->name, &v->x);
    case KEY_BOOL: return cnf__jdoc_bool(d, at, k->name, &v->i);
    case KEY_WORD: return cnf__jdoc_word(d, at, k->name, k->vocab, k->from, &v->i);
    case KEY_TYPE:
    case KEY_OWN: break;
    }
    return CNF_OK;
}

/* The row of the layer object `node` (number index + 1 in errors), by its "type". */
static cnf_status find_row(const cnf_jdoc *d, cnf_jval node, int index, const layer_type **row)
{
    const char *type = cnf__jnode_string(cnf__jnode_member(node.node, "type"));
    char list[200] = "";
    if (type)
        for (size_t t = 0; t < N_LAYER_TYPES; t++)
            if (strcmp(type, LAYER_TYPES[t].word) == 0) {
                *row = &LAYER_TYPES[t];
                return CNF_OK;
            }
    if (type)
        return cnf__jdoc_fail(d, CNF_E_USAGE, node.off, "layer %d: unknown type \"%.40s\"",
                              index + 1, type);
    for (size_t t = 0; t < N_LAYER_TYPES; t++) {
        strncat(list, LAYER_TYPES[t].word, sizeof list - strlen(list) - 1);
        if (t + 1 < N_LAYER_TYPES)
            strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return cnf__jdoc_fail(d, CNF_E_USAGE, node.off, "layer %d needs a \"type\" (%s)", index + 1,
                          list);
}

static cnf_status parse_layer(const cnf_jdoc *d, weight_budget *wb, const char *base_dir,
                              cnf_jval node, int index, cnf_pl_layer *L)
{
    layer_reader r;
    const char *names[MAX_KEYS];
    cnf_jval at[MAX_KEYS];
    char what[64];
    cnf_status st;

    cnf_layer_init(&L->layer);
    cnf__json_line_col(d->text, node.off, &L->line, &L->col);
    if (!cnf__jnode_is_object(node.node))
        return cnf__jdoc_fail(d, CNF_E_USAGE, node.off, "layer %d must be an object",
                              index + 1);
    memset(&r, 0, sizeof r);
    r.d = d;
    r.wb = wb;
    r.base_dir = base_dir;
    r.off = node.off;
    st = find_row(d, node, index, &r.row);
    if (st)
        return st;
    snprintf(L->type, sizeof L->type, "%s", r.row->word);
    snprintf(what, sizeof what, "a %s layer", r.row->word);
    L->kind = r.row->kind;
    for (int k = 0; k < r.row->n_keys; k++)
        names[k] = r.row->keys[k].name;
    st = cnf__jdoc_keys(d, node, names, r.row->n_keys, what, at);
    for (int k = 0; k < r.row->n_keys && !st; k++)
        if (r.row->keys[k].type != KEY_TYPE)
            st = read_key(&r, L, &r.row->keys[k], at[k], &r.vals[k]);
    return st ? st : r.row->parse(&r, L);
}

/* ------------------------------------------------------------ pipelines */

static void free_classes(cnf_pipeline *p)
{
    for (int i = 0; i < p->n_classes; i++)
        free(p->classes[i]);
    free(p->classes);
    p->classes = NULL;
    p->n_classes = 0;
}

static void free_layer(cnf_pl_layer *L)
{
    for (int k = 0; L->kernels && k < L->layer.n_kernels; k++)
        cnf_kernel_free(L->kernels[k]);
    free(L->kernels);
    free(L->kptr);
    free(L->w);
    free(L->b);
}

cnf_status cnf_pipeline_keep(cnf_pipeline *p, int n, cnf_error *err)
{
    if (n < 1 || n > p->n)
        return cnf__fail_setting(err, CNF_E_USAGE, "layers",
                                 "%d is not between 1 and the %d layers of %s", n, p->n, p->name);
    for (int i = n; i < p->n; i++)
        free_layer(&p->layers[i]);
    if (n < p->n)
        free_classes(p);
    p->n = n;
    return CNF_OK;
}

void cnf_pipeline_free(cnf_pipeline *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        free_layer(&p->layers[i]);
    free_classes(p);
    free(p->doc_name);
    free(p->description);
    free(p->layers);
    free(p);
}

int cnf_pipeline_n_layers(const cnf_pipeline *p) { return p->n; }

cnf_status cnf_pipeline_check_weights(const cnf_pipeline *p, cnf_error *err)
{
    for (int i = 0; i < p->n; i++) {
        const cnf_pl_layer *L = &p->layers[i];
        if ((L->kind == CNF_LAYER_CONV && (!L->kernels || L->layer.n_kernels < 1)) ||
            (L->kind == CNF_LAYER_DENSE && !L->w))
            return cnf__fail(err, CNF_E_USAGE, p->name,
                             "layer %d (%s) has no weights: train it first or give \"weights\"",
                             i + 1, L->type);
    }
    return CNF_OK;
}

const char *const *cnf_pipeline_classes(const cnf_pipeline *p, int *n_ret)
{
    *n_ret = p->n_classes;
    return (const char *const *)p->classes;
}

cnf_status cnf_pipeline_set_classes(cnf_pipeline *p, const char *const *names, int n,
                                    cnf_error *err)
{
    char **c = NULL;
    if (n < 0 || (n > 0 && !names))
        return cnf__fail(err, CNF_E_USAGE, NULL, "bad class list (%d names)", n);
    if (n > 0 && !(c = calloc((size_t)n, sizeof *c)))
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    for (int i = 0; i < n; i++)
        if (!(c[i] = cnf__strdup(names[i]))) {
            for (int j = 0; j < i; j++)
                free(c[j]);
            free(c);
            return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
        }
    free_classes(p);
    p->classes = c;
    p->n_classes = n;
    return CNF_OK;
}

enum { P_LAYERS, P_NAME, P_DESCRIPTION, P_CLASSES, P_TRAINING, N_PIPELINE_KEYS };
static const char *const PIPELINE_KEYS[N_PIPELINE_KEYS] = {
    [P_LAYERS] = "layers", [P_NAME] = "name", [P_DESCRIPTION] = "description",
    [P_CLASSES] = "classes", [P_TRAINING] = "training"};

/* "classes": the names of the outputs, strings. */
static cnf_status read_classes(const cnf_jdoc *d, cnf_jval v, cnf_pipeline *p)
{
    cnf_jval *items;
    size_t n;
    cnf_status st = CNF_OK;
    if (!cnf__jnode_is_array(v.node))
        return cnf__jdoc_fail(d, CNF_E_USAGE, v.off,
                              "\"classes\" must be an array of strings (the names of the "
                              "outputs)");
    n = (size_t)cnf__jnode_count(v.node);
    if (n == 0)
        return CNF_OK;
    items = malloc(n * sizeof *items);
    p->classes = items ? calloc(n, sizeof *p->classes) : NULL;
    if (!p->classes) {
        free(items);
        return cnf__jdoc_fail(d, CNF_E_NOMEM, v.off, "out of memory");
    }
    cnf__jdoc_elements(d, v, items, n);
    for (size_t i = 0; i < n && st == CNF_OK; i++) {
        const char *name = cnf__jnode_string(items[i].node);
        if (!name)
            st = cnf__jdoc_fail(d, CNF_E_USAGE, items[i].off, "a class name must be a string");
        else if (!(p->classes[i] = cnf__strdup(name)))
            st = cnf__jdoc_fail(d, CNF_E_NOMEM, items[i].off, "out of memory");
        else
            p->n_classes = (int)i + 1;
    }
    free(items);
    return st;
}

/* The keys beside "layers": name and description (kept when they are strings, so that the
 * pipeline can be written back), classes, and training (what `train` records: any object,
 * not read). */
static cnf_status read_top(const cnf_jdoc *d, const cnf_jval *top, cnf_pipeline *p)
{
    const char *name = cnf__jnode_string(top[P_NAME].node);
    const char *description = cnf__jnode_string(top[P_DESCRIPTION].node);
    if ((name && !(p->doc_name = cnf__strdup(name))) ||
        (description && !(p->description = cnf__strdup(description))))
        return cnf__jdoc_fail(d, CNF_E_NOMEM, d->start, "out of memory");
    if (top[P_CLASSES].node) {
        cnf_status st = read_classes(d, top[P_CLASSES], p);
        if (st)
            return st;
    }
    if (top[P_TRAINING].node && !cnf__jnode_is_object(top[P_TRAINING].node))
        return cnf__jdoc_fail(d, CNF_E_USAGE, top[P_TRAINING].off,
                              "\"training\" must be an object (what training recorded)");
    return CNF_OK;
}

/* The weights of every built-in spec in the conv layers' "kernels", counted before any layer
 * is read: a document whose specs alone are over the limit fails at the spec that crosses it,
 * having made nothing.  Layers that are not well-formed are left to parse_layer to report. */
static cnf_status count_builtins(const cnf_jdoc *d, const cnf_jval *layers, size_t n,
                                 weight_budget *wb)
{
    enum { N_CONV_KEYS = sizeof CONV_KEYS / sizeof CONV_KEYS[0] };
    const char *names[N_CONV_KEYS];
    cnf_jval at[N_CONV_KEYS], *ks;
    cnf_jdoc quiet = *d;
    cnf_status st = CNF_OK;
    uint64_t total = wb->used;
    size_t cross = 0; /* the offset of the spec where the count passes the limit */
    int kernels = 0;
    quiet.err = NULL;
    for (int k = 0; k < N_CONV_KEYS; k++) {
        names[k] = CONV_KEYS[k].name;
        if (strcmp(names[k], "kernels") == 0)
            kernels = k;
    }
    ks = malloc(CNF_MAX_PIPELINE_KERNELS * sizeof *ks);
    if (!ks)
        return cnf__jdoc_fail(d, CNF_E_NOMEM, d->start, "out of memory");
    for (size_t i = 0; i < n && st == CNF_OK; i++) {
        const char *type = cnf__jnode_string(cnf__jnode_member(layers[i].node, "type"));
        size_t m;
        if (!type || strcmp(type, "conv") != 0 ||
            cnf__jdoc_keys(&quiet, layers[i], names, N_CONV_KEYS, "", at) != CNF_OK ||
            !cnf__jnode_is_array(at[kernels].node))
            continue;
        m = cnf__jdoc_elements(d, at[kernels], ks, CNF_MAX_PIPELINE_KERNELS);
        for (size_t j = 0; j < m && j < CNF_MAX_PIPELINE_KERNELS; j++) {
            const char *spec = cnf__jnode_string(ks[j].node);
            total += spec ? builtin_bytes(spec) : 0;
            if (!cross && wb->max && total > wb->max)
                cross = ks[j].off;
        }
    }
    free(ks);
    if (cross)
        return over_budget(d, wb, total, "its built-in kernels alone take", cross);
    wb->used = total;
    return st;
}

cnf_status cnf_pipeline_parse(const char *text, size_t len, const char *name,
                              const char *base_dir, cnf_pipeline **p_ret, cnf_error *err)
{
    return cnf_pipeline_parse_ex(text, len, name, base_dir, CNF_DEFAULT_MAX_MEMORY, p_ret, err);
}

cnf_status cnf_pipeline_parse_ex(const char *text, size_t len, const char *name,
                                 const char *base_dir, uint64_t max_memory, cnf_pipeline **p_ret,
                                 cnf_error *err)
{
    weight_budget wb = {max_memory, 0};
    cnf_jdoc d;
    cnf_jval top[N_PIPELINE_KEYS], layers[CNF_MAX_LAYERS], root;
    cnf_pipeline *p = NULL;
    size_t n;
    cnf_status st;

    *p_ret = NULL;
    st = cnf__jdoc_open(&d, text, len, name, err);
    if (st)
        return st;
    st = cnf__jdoc_parse(&d);
    if (st)
        return st;
    root = cnf__jdoc_root(&d);
    if (!cnf__jnode_is_object(root.node)) {
        st = cnf__jdoc_fail(&d, CNF_E_USAGE, root.off,
                            "a pipeline is an object {\"layers\": [...]}");
        goto out;
    }
    st = cnf__jdoc_keys(&d, root, PIPELINE_KEYS, N_PIPELINE_KEYS, "a pipeline", top);
    if (st)
        goto out;
    if (!cnf__jnode_is_array(top[P_LAYERS].node) || cnf__jnode_count(top[P_LAYERS].node) < 1) {
        st = cnf__jdoc_fail(&d, CNF_E_USAGE, top[P_LAYERS].off,
                            "a pipeline needs \"layers\": a non-empty array");
        goto out;
    }
    n = cnf__jdoc_elements(&d, top[P_LAYERS], layers, CNF_MAX_LAYERS);
    if (n > CNF_MAX_LAYERS) {
        st = cnf__jdoc_fail_limit(&d, CNF_LIMIT_KERNEL, top[P_LAYERS].off,
                                  "more than %d layers (limit)", CNF_MAX_LAYERS);
        goto out;
    }
    p = calloc(1, sizeof *p);
    if (p)
        p->layers = calloc(n, sizeof *p->layers);
    if (!p || !p->layers) {
        st = cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
        goto out;
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    st = read_top(&d, top, p);
    if (st == CNF_OK)
        st = count_builtins(&d, layers, n, &wb);
    for (size_t i = 0; i < n && st == CNF_OK; i++) {
        p->n = (int)i + 1; /* so that a failure frees this layer's kernels too */
        st = parse_layer(&d, &wb, base_dir, layers[i], (int)i, &p->layers[i]);
    }
    if (st)
        goto out;
    p->weight_bytes = wb.used;
    *p_ret = p;
    p = NULL;
out:
    cnf_pipeline_free(p);
    cnf__jdoc_close(&d);
    return st;
}

uint64_t cnf_pipeline_weight_bytes(const cnf_pipeline *p)
{
    return p ? p->weight_bytes : 0;
}
