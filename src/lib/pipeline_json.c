/* pipeline_json.c - a pipeline written back as JSON that reads back to the same layers.
 *
 * What `train` writes: the pipeline it was given with every weight filled in.  The document
 * is self-contained (kernel files, built-in specs and .npy weights are written out as
 * numbers) and exact: cnf_pipeline_parse reads it back to the same layers with the same
 * weights, bit for bit.  Conv kernels are written with divisor 1, any divisor, layer scale
 * and flip folded into their weights (cnnfilter(1), learning rule 3), and their biases as one
 * number per kernel in the layer's "bias"; composite kernels (sobel, prewitt, scharr) have no
 * weights of their own and are written as their built-in names.  Numbers are written with
 * the fewest digits that read back to the same value: float32 weights (dense layers) with
 * %.9g, doubles (conv weights, biases, settings) with %.9g when that reads back exactly and
 * %.17g otherwise, each checked by reading it back with strtod as the parsers do.
 */
#include "json_doc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kernel names longer than a kernel object accepts are cut to fit (they only label). */
#define MAX_NAME_CHARS 256

static void put(cnf_buf *b, const char *s) { cnf__buf_put(b, s, strlen(s)); }

static void putf(cnf_buf *b, const char *fmt, ...) CNF_PRINTF(2, 3);
static void putf(cnf_buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n >= 0)
        cnf__buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string: quotes, backslashes and control characters escaped; other bytes as they
 * are (names were read from JSON, so they are the UTF-8 they were). */
static void put_string(cnf_buf *b, const char *s, size_t max)
{
    put(b, "\"");
    for (size_t i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            putf(b, "\\%c", c);
        else if (c < 0x20)
            putf(b, "\\u%04x", c);
        else
            cnf__buf_put(b, &s[i], 1);
    }
    put(b, "\"");
}

/* A double that strtod reads back to the same bits. */
static void put_double(cnf_buf *b, double v)
{
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.9g", v);
    if (strtod(tmp, NULL) != v || signbit(strtod(tmp, NULL)) != signbit(v))
        snprintf(tmp, sizeof tmp, "%.17g", v);
    put(b, tmp);
}

/* A float32 that strtod and a cast to float read back to the same bits.  %.9g always
 * identifies a float; the check guards the double rounding of strtod then the cast. */
static void put_float(cnf_buf *b, float v)
{
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.9g", (double)v);
    if ((float)strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof tmp, "%.17g", (double)v);
    put(b, tmp);
}

/* ---------------------------------------------------------------- conv */

/* Kernel k's weights as its layer applies them: times the layer's scale, over the divisor,
 * rotated by the layer's flip; [C][KH][KW] for a 3-D kernel, else [KH][KW]. */
static void put_kernel_weights(cnf_buf *b, const cnf_kernel *k, const cnf_layer *l)
{
    double f = l->scale / k->divisor;
    if (k->is3d)
        put(b, "[");
    for (int d = 0; d < k->depth; d++) {
        put(b, d ? ", [" : "[");
        for (int i = 0; i < k->h; i++) {
            put(b, i ? ", [" : "[");
            for (int j = 0; j < k->w; j++) {
                int si = l->flip ? k->h - 1 - i : i, sj = l->flip ? k->w - 1 - j : j;
                double w = k->weights[((size_t)d * k->h + si) * k->w + sj];
                if (j)
                    put(b, ", ");
                put_double(b, l->scale == 1 && k->divisor == 1 ? w : w * f);
            }
            put(b, "]");
        }
        put(b, "]");
    }
    if (k->is3d)
        put(b, "]");
}

static void put_kernels(cnf_buf *b, const cnf_pl_layer *L)
{
    put(b, ", \"kernels\": [");
    for (int i = 0; i < L->layer.n_kernels; i++) {
        const cnf_kernel *k = L->kernels[i];
        put(b, i ? ",\n      " : "\n      ");
        if (k->pair[0]) {
            /* A composite is its built-in spec: its name. */
            put_string(b, k->name, MAX_NAME_CHARS);
            continue;
        }
        put(b, "{");
        if (k->name[0]) {
            put(b, "\"name\": ");
            put_string(b, k->name, MAX_NAME_CHARS);
            put(b, ", ");
        }
        put(b, "\"weights\": ");
        put_kernel_weights(b, k, &L->layer);
        put(b, "}");
    }
    put(b, "]");
}

/* "bias": one number per kernel (its own bias plus the layer's), or false. */
static void put_conv_bias(cnf_buf *b, const cnf_pl_layer *L)
{
    if (L->no_bias) {
        put(b, ", \"bias\": false");
        return;
    }
    if (L->layer.n_kernels < 1)
        return; /* kernels by shape: training makes the biases */
    put(b, ", \"bias\": [");
    for (int i = 0; i < L->layer.n_kernels; i++) {
        const cnf_kernel *k = L->kernels[i]->pair[0] ? L->kernels[i]->pair[0] : L->kernels[i];
        if (i)
            put(b, ", ");
        put_double(b, k->bias + L->layer.bias);
    }
    put(b, "]");
}

/* Every setting of a conv layer is written, defaults too: the file says what it does. */
static void put_conv(cnf_buf *b, const cnf_pl_layer *L)
{
    const cnf_layer *l = &L->layer;
    put(b, "{\"type\": \"conv\", \"padding\": ");
    if (l->padding != CNF_PAD_EXPLICIT)
        putf(b, "\"%s\"", cnf_vocab_word(CNF_VOCAB_PADDING, (int)l->padding));
    else if (l->pad_h == l->pad_w)
        putf(b, "%d", l->pad_h);
    else
        putf(b, "[%d, %d]", l->pad_h, l->pad_w);
    if (l->stride_y == l->stride_x)
        putf(b, ", \"stride\": %d", l->stride_y);
    else
        putf(b, ", \"stride\": [%d, %d]", l->stride_y, l->stride_x);
    putf(b, ", \"dilation\": %d, \"border\": \"%s\", \"channels\": \"%s\"", l->dilation,
         cnf_vocab_word(CNF_VOCAB_BORDER, (int)l->border),
         cnf_vocab_word(CNF_VOCAB_CHANNELS, (int)l->channels));
    put_conv_bias(b, L);
    if (L->frozen)
        put(b, ", \"trainable\": false");
    if (L->kernels && l->n_kernels > 0)
        put_kernels(b, L);
    else
        putf(b, ", \"kernels\": {\"count\": %d, \"size\": [%d, %d]}", L->count, L->kh, L->kw);
    put(b, "}");
}

/* ---------------------------------------------------------- other layers */

static void put_floats(cnf_buf *b, const float *v, int n)
{
    put(b, "[");
    for (int i = 0; i < n; i++) {
        if (i)
            put(b, ", ");
        put_float(b, v[i]);
    }
    put(b, "]");
}

static void put_dense(cnf_buf *b, const cnf_pl_layer *L)
{
    putf(b, "{\"type\": \"dense\", \"units\": %d", L->units);
    if (L->w) {
        put(b, ", \"weights\": [");
        for (int u = 0; u < L->units; u++) {
            put(b, u ? ",\n      " : "\n      ");
            put_floats(b, L->w + (size_t)u * (size_t)L->in, L->in);
        }
        put(b, "]");
    }
    if (L->no_bias) {
        put(b, ", \"bias\": false");
    } else if (L->w && L->b) {
        put(b, ", \"bias\": ");
        put_floats(b, L->b, L->units);
    }
    if (L->frozen)
        put(b, ", \"trainable\": false");
    put(b, "}");
}

static void put_layer(cnf_buf *b, const cnf_pl_layer *L)
{
    const cnf_layer *l = &L->layer;
    switch (L->kind) {
    case CNF_LAYER_CONV: put_conv(b, L); return;
    case CNF_LAYER_DENSE: put_dense(b, L); return;
    case CNF_LAYER_POOL:
        putf(b, "{\"type\": \"%s\", \"size\": %d", L->type, l->pool_size);
        if (l->pool_stride > 0)
            putf(b, ", \"stride\": %d", l->pool_stride);
        putf(b, ", \"padding\": %d, \"ceil\": %s}", l->pool_padding,
             l->pool_ceil ? "true" : "false");
        return;
    case CNF_LAYER_COMBINE:
        putf(b, "{\"type\": \"combine\", \"mode\": \"%s\"}",
             cnf_vocab_word(CNF_VOCAB_COMBINE, (int)l->combine));
        return;
    case CNF_LAYER_AFFINE:
        put(b, "{\"type\": \"affine\", \"scale\": ");
        put_double(b, L->scale);
        put(b, ", \"shift\": ");
        put_double(b, L->shift);
        put(b, "}");
        return;
    case CNF_LAYER_ACT:
        putf(b, "{\"type\": \"%s\"", L->type);
        if (l->activation == CNF_ACT_LEAKY_RELU) {
            put(b, ", \"slope\": ");
            put_double(b, l->activation_param);
        }
        put(b, "}");
        return;
    case CNF_LAYER_FLATTEN:
    case CNF_LAYER_SOFTMAX:
        putf(b, "{\"type\": \"%s\"}", L->type);
        return;
    }
}

/* ------------------------------------------------------------- the document */

/* `training` must be a JSON object, so that the document stays one. */
static cnf_status check_training(const char *training, cnf_error *err)
{
    cnf_jdoc d;
    cnf_error e;
    cnf_status st;
    memset(&e, 0, sizeof e);
    st = cnf__jdoc_open(&d, training, strlen(training), "training", &e);
    if (st == CNF_OK)
        st = cnf__jdoc_parse(&d);
    if (st == CNF_OK && !cnf__jnode_is_object(cnf__jdoc_root(&d).node)) {
        st = CNF_E_USAGE;
        snprintf(e.msg, sizeof e.msg, "not an object");
    }
    cnf__jdoc_close(&d);
    if (st)
        return cnf__fail(err, CNF_E_USAGE, NULL, "the training record is not a JSON object: %s",
                         e.msg);
    return CNF_OK;
}

static void put_head(cnf_buf *b, const cnf_pipeline *p)
{
    put(b, "{\n");
    if (p->doc_name) {
        put(b, "  \"name\": ");
        put_string(b, p->doc_name, (size_t)-1);
        put(b, ",\n");
    }
    if (p->description) {
        put(b, "  \"description\": ");
        put_string(b, p->description, (size_t)-1);
        put(b, ",\n");
    }
    if (p->n_classes > 0) {
        put(b, "  \"classes\": [");
        for (int i = 0; i < p->n_classes; i++) {
            if (i)
                put(b, ", ");
            put_string(b, p->classes[i], (size_t)-1);
        }
        put(b, "],\n");
    }
}

/* The written document over the size a pipeline file may have. */
static cnf_status too_large(cnf_buf *b, cnf_error *err)
{
    size_t len = b->len;
    free(b->data);
    return cnf__fail_limit(err, CNF_E_LIMIT, CNF_LIMIT_JSON, NULL,
                           "the pipeline would take %s%zu bytes as JSON, over the limit of %u "
                           "bytes of a pipeline file",
                           len > CNF_MAX_JSON_BYTES ? "more than " : "", len,
                           CNF_MAX_JSON_BYTES);
}

cnf_status cnf_pipeline_to_json(const cnf_pipeline *p, const char *training, char **out,
                                size_t *len, cnf_error *err)
{
    cnf_buf b = {0};
    cnf_status st;
    *out = NULL;
    *len = 0;
    if (training && (st = check_training(training, err)) != CNF_OK)
        return st;
    put_head(&b, p);
    put(&b, "  \"layers\": [\n");
    for (int i = 0; i < p->n; i++) {
        put(&b, "    ");
        put_layer(&b, &p->layers[i]);
        put(&b, i + 1 < p->n ? ",\n" : "\n");
        /* Stop early: a document over the limit could not be read back anyway. */
        if (b.len > CNF_MAX_JSON_BYTES)
            return too_large(&b, err);
    }
    put(&b, training ? "  ],\n  \"training\": " : "  ]\n");
    if (training) {
        put(&b, training);
        put(&b, "\n");
    }
    put(&b, "}\n");
    if (b.failed) {
        free(b.data);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    if (b.len > CNF_MAX_JSON_BYTES)
        return too_large(&b, err);
    /* The training record nested in the document must stay within the nesting limit. */
    st = cnf__json_precheck((const char *)b.data, b.len, "", err);
    if (st) {
        free(b.data);
        return cnf__fail(err, CNF_E_USAGE, NULL,
                         "the training record is nested too deep for a pipeline file");
    }
    cnf__buf_put(&b, "", 1); /* a terminating NUL, not counted in *len */
    if (b.failed) {
        free(b.data);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    *out = (char *)b.data;
    *len = b.len - 1;
    return CNF_OK;
}
