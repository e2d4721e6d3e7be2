/* test_pipeline_json.c - pipelines written as JSON read back to the same layers, bit for bit. */
#include "test_util.h"
#include "test_npy.h"

#include "../../src/lib/internal.h"

#include <float.h>
#include <stdint.h>
#include <unistd.h>

static char DIR_[64]; /* a temporary folder for weight files */
static cnf_error E;

static const char *in_dir(const char *name)
{
    static char path[200];
    snprintf(path, sizeof path, "%s/%s", DIR_, name);
    return path;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A random float32 of any finite bit pattern: subnormals, -0, huge and tiny values. */
static float rnd_float(void)
{
    for (;;) {
        uint32_t u = (uint32_t)rnd64();
        float f;
        memcpy(&f, &u, 4);
        if (isfinite(f))
            return f;
    }
}

static double rnd_double(void)
{
    for (;;) {
        uint64_t u = rnd64();
        double d;
        memcpy(&d, &u, 8);
        if (isfinite(d))
            return d;
    }
}

static cnf_pipeline *parse_text(const char *text, size_t len, const char *base_dir)
{
    cnf_pipeline *p = NULL;
    memset(&E, 0, sizeof E);
    if (cnf_pipeline_parse(text, len, "p.json", base_dir, &p, &E) != CNF_OK)
        fprintf(stderr, "%s:%d:%d: %s\n", E.where, E.line, E.col, E.msg);
    CHECK(p != NULL);
    return p;
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(1 << 22);
    if (!f || !buf)
        abort();
    *len = fread(buf, 1, 1 << 22, f);
    fclose(f);
    return buf;
}

static char *to_json(const cnf_pipeline *p, const char *training, size_t *len)
{
    char *out = NULL;
    memset(&E, 0, sizeof E);
    if (cnf_pipeline_to_json(p, training, &out, len, &E) != CNF_OK)
        fprintf(stderr, "to_json: %s\n", E.msg);
    CHECK(out != NULL);
    if (out) {
        CHECK_EQ_INT(strlen(out), *len);
        CHECK(*len > 0 && out[*len - 1] == '\n');
    }
    return out;
}

/* Kernel k's weights as its layer applies them (what the writer must have written). */
static double applied(const cnf_kernel *k, const cnf_layer *l, size_t i)
{
    double w = k->weights[i];
    return l->scale == 1 && k->divisor == 1 ? w : w * (l->scale / k->divisor);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void same_conv(const cnf_pl_layer *a, const cnf_pl_layer *b)
{
    const cnf_layer *x = &a->layer, *y = &b->layer;
    CHECK(x->padding == y->padding && x->pad_h == y->pad_h && x->pad_w == y->pad_w);
    CHECK(x->stride_y == y->stride_y && x->stride_x == y->stride_x);
    CHECK(x->dilation == y->dilation && x->border == y->border && x->channels == y->channels);
    CHECK(y->scale == 1 && y->flip == 0 && y->bias == 0);
    CHECK_EQ_INT(x->n_kernels, y->n_kernels);
    CHECK(a->shape_only == b->shape_only || x->n_kernels > 0);
    if (x->n_kernels == 0)
        CHECK(a->count == b->count && a->kh == b->kh && a->kw == b->kw);
    for (int i = 0; i < x->n_kernels && i < y->n_kernels; i++) {
        const cnf_kernel *p = a->kernels[i], *q = b->kernels[i];
        const cnf_kernel *pb = p->pair[0] ? p->pair[0] : p, *qb = q->pair[0] ? q->pair[0] : q;
        CHECK(strcmp(p->name, q->name) == 0);
        CHECK(same_bits(pb->bias + x->bias, qb->bias));
        CHECK(p->w == q->w && p->h == q->h && p->depth == q->depth && p->is3d == q->is3d);
        CHECK(!p->pair[0] == !q->pair[0]);
        if (p->pair[0] || q->pair[0])
            continue;
        CHECK(q->divisor == 1);
        for (size_t j = 0; j < (size_t)p->w * p->h * p->depth; j++)
            if (!same_bits(applied(p, x, j), q->weights[j])) {
                CHECK(!"the same kernel weights");
                break;
            }
    }
}

static void same_floats(const float *a, const float *b, size_t n)
{
    CHECK(!a == !b);
    if (a && b)
        CHECK(memcmp(a, b, n * sizeof *a) == 0);
}

/* b (read back from what a wrote) has a's layers and weights, bit for bit. */
static void same_pipeline(const cnf_pipeline *a, const cnf_pipeline *b)
{
    CHECK_EQ_INT(a->n, b->n);
    CHECK_EQ_INT(a->n_classes, b->n_classes);
    for (int i = 0; i < a->n_classes && i < b->n_classes; i++)
        CHECK(strcmp(a->classes[i], b->classes[i]) == 0);
    CHECK(!a->doc_name == !b->doc_name && !a->description == !b->description);
    if (a->doc_name && b->doc_name)
        CHECK(strcmp(a->doc_name, b->doc_name) == 0);
    if (a->description && b->description)
        CHECK(strcmp(a->description, b->description) == 0);
    for (int i = 0; i < a->n && i < b->n; i++) {
        const cnf_pl_layer *x = &a->layers[i], *y = &b->layers[i];
        CHECK_EQ_INT(x->kind, y->kind);
        CHECK(strcmp(x->type, y->type) == 0);
        CHECK(x->no_bias == y->no_bias && x->frozen == y->frozen);
        CHECK(x->layer.activation == y->layer.activation);
        CHECK(same_bits(x->layer.activation_param, y->layer.activation_param));
        CHECK(x->layer.pool == y->layer.pool && x->layer.pool_size == y->layer.pool_size &&
              x->layer.pool_stride == y->layer.pool_stride &&
              x->layer.pool_padding == y->layer.pool_padding &&
              x->layer.pool_ceil == y->layer.pool_ceil);
        CHECK(x->layer.combine == y->layer.combine);
        if (x->kind == CNF_LAYER_CONV)
            same_conv(x, y);
        if (x->kind == CNF_LAYER_DENSE) {
            CHECK(x->units == y->units && x->in == y->in);
            same_floats(x->w, y->w, (size_t)x->units * (size_t)x->in);
            same_floats(x->b, y->b, (size_t)x->units);
        }
        if (x->kind == CNF_LAYER_AFFINE)
            CHECK(same_bits(x->scale, y->scale) && same_bits(x->shift, y->shift));
    }
}

/* Write p, read it back, compare; write that again: the same text.  Returns the pipeline read
 * back (the caller frees it). */
static cnf_pipeline *round_trip(const cnf_pipeline *p, const char *training)
{
    size_t len = 0, len2 = 0;
    char *text = to_json(p, training, &len), *text2;
    cnf_pipeline *q;
    if (!text)
        return NULL;
    q = parse_text(text, len, NULL);
    if (q) {
        same_pipeline(p, q);
        text2 = to_json(q, training, &len2);
        CHECK(text2 && len2 == len && memcmp(text, text2, len) == 0);
        free(text2);
    }
    free(text);
    return q;
}

/* Run both pipelines on one random image; the largest difference of their outputs. */
static double run_difference(const cnf_pipeline *a, const cnf_pipeline *b, int w, int h, int c)
{
    cnf_image in, oa = {0}, ob = {0};
    cnf_plan *pa = NULL, *pb = NULL;
    double worst = INFINITY;
    in = t_image(w, h, c, 0, NULL);
    for (size_t i = 0; i < (size_t)w * h * c; i++)
        in.data[i] = (float)(rnd64() % 256);
    if (cnf_plan_create_pipeline(a, w, h, c, 0, NULL, &pa, &E) == CNF_OK &&
        cnf_plan_create_pipeline(b, w, h, c, 0, NULL, &pb, &E) == CNF_OK &&
        cnf_plan_run(pa, &in, 2, &oa, &E) == CNF_OK && cnf_plan_run(pb, &in, 2, &ob, &E) == CNF_OK &&
        oa.channels == ob.channels && oa.width == ob.width && oa.height == ob.height) {
        worst = 0;
        for (size_t i = 0; i < (size_t)oa.width * oa.height * oa.channels; i++)
            worst = fmax(worst, fabs((double)oa.data[i] - ob.data[i]));
    } else {
        fprintf(stderr, "run: %s\n", E.msg);
    }
    cnf_image_free(&in);
    cnf_image_free(&oa);
    cnf_image_free(&ob);
    cnf_plan_free(pa);
    cnf_plan_free(pb);
    return worst;
}

/* The shipped pipelines: their kernel files, built-ins and divisors written out as weights. */
static void the_shipped_pipelines_read_back_to_the_same_layers(void)
{
    static const char *const files[] = {"kernels/lenet.json", "kernels/edges.json"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len;
        char *text = read_text(files[f], &len);
        cnf_pipeline *p = parse_text(text, len, "kernels"), *q = p ? round_trip(p, NULL) : NULL;
        if (q) {
            double d = run_difference(p, q, 37, 29, 3);
            /* edges: integer weights, divisor 1: the same pixels.  lenet: its divisors are
             * folded into the weights (sum(w/d) for sum(w)/d), the same to rounding. */
            if (f == 1)
                CHECK(d == 0);
            else
                CHECK(d < 1e-4);
        }
        cnf_pipeline_free(q);
        cnf_pipeline_free(p);
        free(text);
    }
}

/* A JSON array of n random float32 weights (printed exactly) into buf. */
static size_t json_floats(char *buf, int n, double scale)
{
    size_t o = 0;
    o += (size_t)sprintf(buf + o, "[");
    for (int i = 0; i < n; i++)
        o += (size_t)sprintf(buf + o, "%s%.9g", i ? ", " : "",
                             (double)(float)(((double)(rnd64() % 2001) / 1000 - 1) * scale));
    o += (size_t)sprintf(buf + o, "]");
    return o;
}

/* Every layer type and key, names that need escapes, weights from files and from JSON; the
 * pipeline runs (3 x 16 x 16 -> 8 x 1 x 1) the same before and after. */
static void a_pipeline_with_every_layer_reads_back_bit_for_bit(void)
{
    float cw[4 * 3 * 3 * 3], db[8];
    double d1[20 * 16];
    const size_t cd[4] = {4, 3, 3, 3}, dd[2] = {20, 16}, bd[1] = {8};
    char *text = malloc(20000);
    size_t o;
    cnf_pipeline *p, *q;
    for (size_t i = 0; i < sizeof cw / sizeof cw[0]; i++)
        cw[i] = (float)((double)(rnd64() % 2001) / 1000 - 1);
    for (size_t i = 0; i < sizeof d1 / sizeof d1[0]; i++)
        d1[i] = (double)(rnd64() % 2001) / 3000 - 0.3;
    for (int i = 0; i < 8; i++)
        db[i] = (float)i / 7;
    t_write_f32(in_dir("c.npy"), cd, 4, cw);
    t_write_f64(in_dir("d1.npy"), dd, 2, d1);
    t_write_f32(in_dir("db.npy"), bd, 1, db);
    o = (size_t)sprintf(
        text,
        "{\"name\": \"every \\\"layer\\\"\", \"description\": \"tab\\there\\nnew line, "
        "back\\\\slash, \\u0001, \\u00e9\",\n"
        " \"classes\": [\"a\", \"b,c\", \"\\\"q\\\"\", \"d\", \"e\", \"f\", \"g\", \"h\"],\n"
        " \"training\": {\"epochs\": 1},\n"
        " \"layers\": [\n"
        "  {\"type\": \"affine\", \"scale\": 0.00392156862745098, \"shift\": -0.1},\n"
        "  {\"type\": \"conv\", \"weights\": \"c.npy\", \"bias\": [1, 2, 3, 4.5], \"padding\": "
        "[1, 2], \"stride\": [1, 2], \"border\": \"reflect\", \"trainable\": false},\n"
        "  {\"type\": \"leaky_relu\", \"slope\": 0.3},\n"
        "  {\"type\": \"conv\", \"kernels\": [\"sobel\", \"box:3\", {\"name\": \"mine\", "
        "\"weights\": [[1, 2], [3, 4]], \"divisor\": 3, \"flip\": true, \"bias\": 0.5}, "
        "\"[[[1]], [[2]], [[3]], [[4]]]\", \"gaussian:3:0.7\"], \"bias\": 0.25, \"dilation\": 2, "
        "\"channels\": \"sum\"},\n"
        "  {\"type\": \"maxpool\", \"size\": 3, \"stride\": 2, \"padding\": 1, \"ceil\": true},\n"
        "  {\"type\": \"avgpool\"},\n"
        "  {\"type\": \"combine\", \"mode\": \"max\"},\n"
        "  {\"type\": \"conv\", \"kernels\": [\"[[0.1, 0.2, 0.3]]\", \"[[1], [2]]\"], \"bias\": "
        "false, \"border\": \"wrap\", \"channels\": \"rgb\"},\n"
        "  {\"type\": \"minpool\", \"size\": 1},\n"
        "  {\"type\": \"tanh\"}, {\"type\": \"sigmoid\"}, {\"type\": \"abs\"},\n"
        "  {\"type\": \"relu\"}, {\"type\": \"flatten\"},\n"
        "  {\"type\": \"dense\", \"units\": 20, \"weights\": \"d1.npy\", \"bias\": false},\n"
        "  {\"type\": \"dense\", \"units\": 8, \"bias\": \"db.npy\", \"trainable\": false, "
        "\"weights\": [");
    for (int u = 0; u < 8; u++) {
        o += (size_t)sprintf(text + o, u ? ",\n   " : "\n   ");
        o += json_floats(text + o, 20, 2);
    }
    strcpy(text + o, "]},\n  {\"type\": \"softmax\"}]}");
    p = parse_text(text, strlen(text), DIR_);
    q = p ? round_trip(p, "{\"epochs\": 1, \"data\": {\"n\": 60000}}") : NULL;
    if (q) {
        const char *const *c;
        int n;
        CHECK_EQ_INT(q->n, 17);
        CHECK(strcmp(q->description, "tab\there\nnew line, back\\slash, \x01, \xc3\xa9") == 0);
        c = cnf_pipeline_classes(q, &n);
        CHECK(n == 8 && strcmp(c[1], "b,c") == 0 && strcmp(c[2], "\"q\"") == 0);
        CHECK(q->layers[1].frozen && !q->layers[3].frozen && q->layers[7].no_bias);
        CHECK(cnf_kernel_is_composite(q->layers[3].kernels[0]));
        /* The kernels' own biases and the layer's are one number per kernel now. */
        CHECK(cnf_kernel_bias(q->layers[3].kernels[2]) == 0.75);
        /* A divisor of 3 and the flip, folded: [[4, 3], [2, 1]] / 3. */
        CHECK(cnf_kernel_divisor(q->layers[3].kernels[2]) == 1);
        CHECK(cnf_kernel_weights(q->layers[3].kernels[2])[0] == 4.0 / 3);
        CHECK(cnf_kernel_weights(q->layers[3].kernels[2])[3] == 1.0 / 3);
        CHECK(q->layers[14].in == 16 && q->layers[15].frozen && q->layers[15].b[7] == 1);
        /* The same values, to the rounding of the folded divisors. */
        CHECK(run_difference(p, q, 16, 16, 3) < 1e-6);
    }
    cnf_pipeline_free(q);
    cnf_pipeline_free(p);
    free(text);
    unlink(in_dir("c.npy"));
    unlink(in_dir("d1.npy"));
    unlink(in_dir("db.npy"));
}

/* Weights of any finite bit pattern (subnormals, -0, the largest) come back exactly: dense
 * weights as float32, conv weights as the doubles they are. */
static void weights_of_any_bit_pattern_come_back_exactly(void)
{
    static float dw[9 * 50], db[9];
    static double cw[3 * 2 * 3 * 2];
    const size_t dd[2] = {9, 50}, bd[1] = {9}, cd[4] = {3, 2, 3, 2};
    const char *text = "{\"layers\": [{\"type\": \"conv\", \"weights\": \"cw.npy\"},\n"
                       " {\"type\": \"dense\", \"units\": 9, \"weights\": \"dw.npy\", \"bias\": "
                       "\"db.npy\"}]}";
    cnf_pipeline *p, *q;
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof dw / sizeof dw[0]; i++)
            dw[i] = rnd_float();
        for (size_t i = 0; i < sizeof db / sizeof db[0]; i++)
            db[i] = rnd_float();
        for (size_t i = 0; i < sizeof cw / sizeof cw[0]; i++)
            cw[i] = rnd_double();
        dw[0] = -0.0f;
        dw[1] = FLT_MIN / 4;
        dw[2] = FLT_MAX;
        dw[3] = 0.1f;
        cw[0] = -0.0;
        cw[1] = 5e-324;
        cw[2] = 0.1f; /* float32-representable: written with enough digits for a double */
        t_write_f32(in_dir("dw.npy"), dd, 2, dw);
        t_write_f32(in_dir("db.npy"), bd, 1, db);
        t_write_f64(in_dir("cw.npy"), cd, 4, cw);
        p = parse_text(text, strlen(text), DIR_);
        q = p ? round_trip(p, NULL) : NULL;
        if (q) {
            CHECK(memcmp(q->layers[1].w, dw, sizeof dw) == 0);
            CHECK(memcmp(q->layers[1].b, db, sizeof db) == 0);
            CHECK(memcmp(cnf_kernel_weights(q->layers[0].kernels[1]), cw + 12, 12 * 8) == 0);
            CHECK(signbit(cnf_kernel_weights(q->layers[0].kernels[0])[0]));
        }
        cnf_pipeline_free(q);
        cnf_pipeline_free(p);
    }
    unlink(in_dir("dw.npy"));
    unlink(in_dir("db.npy"));
    unlink(in_dir("cw.npy"));
}

/* A pipeline still to be trained is written as it was given. */
static void layers_without_weights_are_written_by_their_shape(void)
{
    const char *text = "{\"layers\": [{\"type\": \"conv\", \"kernels\": {\"count\": 6, \"size\": "
                       "[5, 3]}, \"bias\": false, \"trainable\": false, \"padding\": 2},\n"
                       " {\"type\": \"conv\", \"kernels\": {\"count\": 2, \"size\": 1}},\n"
                       " {\"type\": \"flatten\"}, {\"type\": \"dense\", \"units\": 10},\n"
                       " {\"type\": \"dense\", \"units\": 3, \"bias\": false, \"trainable\": "
                       "false}]}";
    cnf_pipeline *p = parse_text(text, strlen(text), NULL), *q = p ? round_trip(p, NULL) : NULL;
    if (q) {
        CHECK(q->layers[0].shape_only && q->layers[0].count == 6 && q->layers[0].kh == 5 &&
              q->layers[0].kw == 3 && q->layers[0].no_bias && q->layers[0].frozen);
        CHECK(q->layers[1].shape_only && !q->layers[1].no_bias);
        CHECK(q->layers[3].units == 10 && !q->layers[3].w && !q->layers[3].b);
        CHECK(q->layers[4].no_bias && q->layers[4].frozen && !q->layers[4].w);
        CHECK_EQ_INT(cnf_pipeline_check_weights(q, &E), CNF_E_USAGE);
    }
    cnf_pipeline_free(q);
    cnf_pipeline_free(p);
}

/* The text written, in full, for a small pipeline: the format is a contract too. */
static void a_small_pipeline_is_written_as_expected(void)
{
    const char *text = "{\"description\": \"d\", \"layers\": [{\"type\": \"affine\", \"scale\": "
                       "0.5},\n {\"type\": \"conv\", \"kernels\": [{\"weights\": [[1, 2]], "
                       "\"divisor\": 4, \"bias\": 1}], \"stride\": [1, 2]}, {\"type\": "
                       "\"maxpool\"},\n {\"type\": \"flatten\"}, {\"type\": \"dense\", \"units\": "
                       "2, \"weights\": [[0.1], [-2]], \"bias\": [3, 0.2]}, {\"type\": "
                       "\"softmax\"}], \"classes\": [\"x\", \"y\"]}";
    const char *want =
        "{\n"
        "  \"description\": \"d\",\n"
        "  \"classes\": [\"x\", \"y\"],\n"
        "  \"layers\": [\n"
        "    {\"type\": \"affine\", \"scale\": 0.5, \"shift\": 0},\n"
        "    {\"type\": \"conv\", \"padding\": \"same\", \"stride\": [1, 2], \"dilation\": 1, "
        "\"border\": \"zero\", \"channels\": \"sum\", \"bias\": [1], \"kernels\": [\n"
        "      {\"name\": \"k0\", \"weights\": [[0.25, 0.5]]}]},\n"
        "    {\"type\": \"maxpool\", \"size\": 2, \"padding\": 0, \"ceil\": false},\n"
        "    {\"type\": \"flatten\"},\n"
        "    {\"type\": \"dense\", \"units\": 2, \"weights\": [\n"
        "      [0.100000001],\n"
        "      [-2]], \"bias\": [3, 0.200000003]},\n"
        "    {\"type\": \"softmax\"}\n"
        "  ],\n"
        "  \"training\": {\"seed\": 0}\n"
        "}\n";
    cnf_pipeline *p = parse_text(text, strlen(text), NULL);
    size_t len = 0;
    char *out = p ? to_json(p, "{\"seed\": 0}", &len) : NULL;
    if (out && strcmp(out, want) != 0)
        fprintf(stderr, "written:\n%s", out);
    CHECK(out && strcmp(out, want) == 0);
    free(out);
    cnf_pipeline_free(p);
}

/* {"a": [[...[]...]]}: an object nesting `levels` deep in all. */
static const char *nested(int levels)
{
    static char t[128];
    size_t o = (size_t)sprintf(t, "{\"a\": ");
    for (int i = 1; i < levels; i++)
        t[o++] = '[';
    for (int i = 1; i < levels; i++)
        t[o++] = ']';
    strcpy(t + o, "}");
    return t;
}

static void a_training_record_must_be_one_json_object(void)
{
    const char *text = "{\"layers\": [{\"type\": \"relu\"}]}";
    cnf_pipeline *p = parse_text(text, strlen(text), NULL);
    char *out = NULL;
    size_t len = 0;
    if (!p)
        return;
    CHECK_EQ_INT(cnf_pipeline_to_json(p, "[1, 2]", &out, &len, &E), CNF_E_USAGE);
    CHECK(out == NULL && len == 0);
    CHECK(strcmp(E.msg, "the training record is not a JSON object: not an object") == 0);
    CHECK_EQ_INT(cnf_pipeline_to_json(p, "{\"a\": 1} {}", &out, &len, &E), CNF_E_USAGE);
    CHECK(strcmp(E.msg, "the training record is not a JSON object: unexpected content after "
                        "the JSON document") == 0);
    CHECK_EQ_INT(cnf_pipeline_to_json(p, "", &out, &len, &E), CNF_E_USAGE);
    /* 31 levels of its own are 32 in the document: the most a pipeline file may nest. */
    CHECK_EQ_INT(cnf_pipeline_to_json(p, nested(31), &out, &len, &E), CNF_OK);
    if (out) {
        cnf_pipeline *q = parse_text(out, len, NULL);
        CHECK(q != NULL);
        cnf_pipeline_free(q);
    }
    free(out);
    CHECK_EQ_INT(cnf_pipeline_to_json(p, nested(32), &out, &len, &E), CNF_E_USAGE);
    CHECK(strcmp(E.msg, "the training record is nested too deep for a pipeline file") == 0);
    cnf_pipeline_free(p);
}

/* A document over the 4 MiB a pipeline file may have is refused: it could not be read back. */
static void a_pipeline_too_large_to_read_back_is_not_written(void)
{
    static float w[600 * 600];
    const size_t d[2] = {600, 600};
    const char *text = "{\"layers\": [{\"type\": \"dense\", \"units\": 600, \"weights\": "
                       "\"w.npy\"}]}";
    cnf_pipeline *p;
    char *out = NULL;
    size_t len = 0;
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        w[i] = (float)((double)(rnd64() % 1000000) / 1e6 - 0.5);
    t_write_f32(in_dir("w.npy"), d, 2, w);
    p = parse_text(text, strlen(text), DIR_);
    if (p) {
        CHECK_EQ_INT(cnf_pipeline_to_json(p, NULL, &out, &len, &E), CNF_E_LIMIT);
        CHECK(out == NULL);
        CHECK_EQ_INT(E.limit, CNF_LIMIT_JSON);
        CHECK_STR_CONTAINS(E.msg, "the pipeline would take more than ");
        CHECK_STR_CONTAINS(E.msg, " bytes as JSON, over the limit of 4194304 bytes of a pipeline "
                                  "file");
    }
    cnf_pipeline_free(p);
    unlink(in_dir("w.npy"));
}

int main(void)
{
    snprintf(DIR_, sizeof DIR_, "/tmp/cnf_test_pipeline_json.XXXXXX");
    if (!mkdtemp(DIR_))
        return 1;
    RUN(the_shipped_pipelines_read_back_to_the_same_layers);
    RUN(a_pipeline_with_every_layer_reads_back_bit_for_bit);
    RUN(weights_of_any_bit_pattern_come_back_exactly);
    RUN(layers_without_weights_are_written_by_their_shape);
    RUN(a_small_pipeline_is_written_as_expected);
    RUN(a_training_record_must_be_one_json_object);
    RUN(a_pipeline_too_large_to_read_back_is_not_written);
    rmdir(DIR_);
    return t_finish("test_pipeline_json");
}
