/* test_pipeline.c - pipelines: every layer type, key and default; errors at line:col; limits;
 * learned layers, weight files, classes. */
#include "test_util.h"
#include "test_npy.h"

#include "../../src/lib/internal.h"

#include <errno.h>
#include <unistd.h>

static cnf_error E;
static char DIR_[64]; /* a temporary folder for kernel files */

static cnf_status parse_in(const char *text, const char *base_dir, cnf_pipeline **p)
{
    memset(&E, 0, sizeof E);
    return cnf_pipeline_parse(text, strlen(text), "p.json", base_dir, p, &E);
}

static cnf_pipeline *parse_ok(const char *text)
{
    cnf_pipeline *p = NULL;
    if (parse_in(text, DIR_, &p) != CNF_OK)
        fprintf(stderr, "%s\n  %s:%d:%d: %s\n", text, E.where, E.line, E.col, E.msg);
    CHECK(p != NULL);
    return p;
}

/* text must fail with st at line:col in `where`, the message exactly msg. */
static void expect_error(const char *text, cnf_status st, const char *where, int line, int col,
                         const char *msg)
{
    cnf_pipeline *p = NULL;
    cnf_status got = parse_in(text, DIR_, &p);
    CHECK_EQ_INT(got, st);
    CHECK(p == NULL);
    CHECK_EQ_INT(E.line, line);
    CHECK_EQ_INT(E.col, col);
    CHECK(strcmp(E.where, where) == 0);
    CHECK_EQ_INT(E.subject, CNF_SUBJECT_FILE);
    if (strcmp(E.msg, msg) != 0)
        fprintf(stderr, "message: %s\nexpected: %s\n", E.msg, msg);
    CHECK(strcmp(E.msg, msg) == 0);
    cnf_pipeline_free(p);
}

static void write_file(const char *name, const char *text)
{
    char path[200];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", DIR_, name);
    f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

/* The path of `name` in the temporary folder (a static buffer). */
static const char *in_dir(const char *name)
{
    static char path[200];
    snprintf(path, sizeof path, "%s/%s", DIR_, name);
    return path;
}

static void remove_file(const char *name)
{
    char path[200];
    snprintf(path, sizeof path, "%s/%s", DIR_, name);
    unlink(path);
}

/* The fields every layer kind leaves at the cnf_layer_init values. */
static void check_untouched(const cnf_layer *l, int conv, int act, int pool, int combine)
{
    CHECK(l->scale == 1 && l->keep_alpha == 1 && l->flip == 0);
    if (!conv) {
        CHECK_EQ_INT(l->n_kernels, 0);
        CHECK_EQ_INT(l->channels, CNF_CH_AUTO);
        CHECK_EQ_INT(l->padding, CNF_PAD_SAME);
        CHECK(l->stride_y == 1 && l->stride_x == 1 && l->dilation == 1 && l->bias == 0);
    }
    if (!act)
        CHECK(l->activation == CNF_ACT_NONE && l->activation_param == 0.01);
    if (!pool)
        CHECK(l->pool == CNF_POOL_NONE && l->pool_size == 2 && l->pool_stride == 0 &&
              l->pool_padding == 0 && l->pool_ceil == 0);
    if (!combine)
        CHECK_EQ_INT(l->combine, CNF_COMBINE_NONE);
}

static void a_conv_layer_takes_the_pipeline_defaults(void)
{
    cnf_pipeline *p = parse_ok("{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"box\"]}]}");
    const cnf_pl_layer *L;
    if (!p)
        return;
    CHECK_EQ_INT(cnf_pipeline_n_layers(p), 1);
    L = &p->layers[0];
    CHECK_EQ_INT(L->kind, CNF_LAYER_CONV);
    CHECK(strcmp(L->type, "conv") == 0);
    CHECK(L->line == 1 && L->col == 13);
    CHECK_EQ_INT(L->layer.n_kernels, 1);
    CHECK(L->layer.kernels[0] == L->kernels[0]);
    CHECK(strcmp(cnf_kernel_name(L->kernels[0]), "box") == 0);
    CHECK_EQ_INT(L->layer.padding, CNF_PAD_SAME);
    CHECK(L->layer.pad_h == 0 && L->layer.pad_w == 0);
    CHECK(L->layer.stride_y == 1 && L->layer.stride_x == 1);
    CHECK_EQ_INT(L->layer.dilation, 1);
    CHECK_EQ_INT(L->layer.border, CNF_BORDER_ZERO);
    CHECK_EQ_INT(L->layer.channels, CNF_CH_SUM); /* not the command line's auto */
    CHECK(L->layer.bias == 0);
    check_untouched(&L->layer, 1, 0, 0, 0);
    CHECK(strcmp(p->name, "p.json") == 0);
    cnf_pipeline_free(p);
}

static void every_conv_key_reaches_the_layer(void)
{
    cnf_pipeline *p = parse_ok(
        "{\"name\": \"n\", \"description\": \"d\", \"layers\": [\n"
        " {\"type\": \"conv\", \"kernels\": [\"box\", {\"weights\": [[1, 2]], \"bias\": 1}],\n"
        "  \"padding\": [1, 2], \"stride\": [2, 3], \"dilation\": 4, \"border\": \"mirror\",\n"
        "  \"channels\": \"rgb\", \"bias\": [0.5, 2]},\n"
        " {\"type\": \"conv\", \"kernels\": [\"identity\"], \"padding\": 3, \"stride\": 2,\n"
        "  \"bias\": -1.5},\n"
        " {\"type\": \"conv\", \"kernels\": [\"identity\"], \"padding\": \"valid\"},\n"
        " {\"type\": \"conv\", \"kernels\": [\"identity\"], \"padding\": \"same\", \"border\": "
        "\"wrap\", \"channels\": \"gray\"}]}");
    const cnf_layer *l;
    if (!p)
        return;
    CHECK_EQ_INT(cnf_pipeline_n_layers(p), 4);
    l = &p->layers[0].layer;
    CHECK(p->layers[0].line == 2 && p->layers[0].col == 2);
    CHECK_EQ_INT(l->n_kernels, 2);
    CHECK(l->padding == CNF_PAD_EXPLICIT && l->pad_h == 1 && l->pad_w == 2);
    CHECK(l->stride_y == 2 && l->stride_x == 3);
    CHECK_EQ_INT(l->dilation, 4);
    CHECK_EQ_INT(l->border, CNF_BORDER_MIRROR);
    CHECK_EQ_INT(l->channels, CNF_CH_RGB);
    /* One bias per kernel is added to each kernel's own; the layer's stays 0. */
    CHECK(cnf_kernel_bias(p->layers[0].kernels[0]) == 0.5);
    CHECK(cnf_kernel_bias(p->layers[0].kernels[1]) == 3);
    CHECK(l->bias == 0);
    CHECK(strcmp(cnf_kernel_name(p->layers[0].kernels[1]), "k1") == 0);
    l = &p->layers[1].layer;
    CHECK(l->padding == CNF_PAD_EXPLICIT && l->pad_h == 3 && l->pad_w == 3);
    CHECK(l->stride_y == 2 && l->stride_x == 2);
    CHECK(l->bias == -1.5);
    CHECK_EQ_INT(p->layers[2].layer.padding, CNF_PAD_VALID);
    l = &p->layers[3].layer;
    CHECK_EQ_INT(l->padding, CNF_PAD_SAME);
    CHECK_EQ_INT(l->border, CNF_BORDER_WRAP);
    CHECK_EQ_INT(l->channels, CNF_CH_GRAY);
    cnf_pipeline_free(p);
}

static void every_border_and_channels_word_is_read_from_the_vocabulary(void)
{
    const char *const *b = cnf_vocab_words(CNF_VOCAB_BORDER);
    const char *const *c = cnf_vocab_words(CNF_VOCAB_CHANNELS);
    for (int i = 0; b[i]; i++)
        for (int j = 0; c[j]; j++) {
            char t[200];
            cnf_pipeline *p;
            snprintf(t, sizeof t,
                     "{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"box\"], \"border\": "
                     "\"%s\", \"channels\": \"%s\"}]}",
                     b[i], c[j]);
            p = parse_ok(t);
            if (!p)
                continue;
            CHECK_EQ_INT(p->layers[0].layer.border, i);
            CHECK_EQ_INT(p->layers[0].layer.channels, j);
            cnf_pipeline_free(p);
        }
}

static void activation_layers_set_their_activation_and_slope(void)
{
    static const struct {
        const char *type;
        cnf_activation act;
    } T[] = {{"relu", CNF_ACT_RELU},
             {"abs", CNF_ACT_ABS},
             {"sigmoid", CNF_ACT_SIGMOID},
             {"tanh", CNF_ACT_TANH},
             {"leaky_relu", CNF_ACT_LEAKY_RELU}};
    cnf_pipeline *p;
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        char t[100];
        snprintf(t, sizeof t, "{\"layers\": [{\"type\": \"%s\"}]}", T[i].type);
        p = parse_ok(t);
        if (!p)
            continue;
        CHECK_EQ_INT(p->layers[0].kind, CNF_LAYER_ACT);
        CHECK(strcmp(p->layers[0].type, T[i].type) == 0);
        CHECK_EQ_INT(p->layers[0].layer.activation, T[i].act);
        CHECK(p->layers[0].layer.activation_param == 0.01); /* leaky_relu's default slope */
        check_untouched(&p->layers[0].layer, 0, 1, 0, 0);
        cnf_pipeline_free(p);
    }
    p = parse_ok("{\"layers\": [{\"type\": \"leaky_relu\", \"slope\": 0.25}]}");
    if (p)
        CHECK(p->layers[0].layer.activation_param == 0.25);
    cnf_pipeline_free(p);
}

static void pool_layers_take_size_stride_padding_and_ceil(void)
{
    static const struct {
        const char *type;
        cnf_pool pool;
    } T[] = {{"maxpool", CNF_POOL_MAX}, {"avgpool", CNF_POOL_AVG}, {"minpool", CNF_POOL_MIN}};
    cnf_pipeline *p;
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        char t[200];
        const cnf_layer *l;
        snprintf(t, sizeof t,
                 "{\"layers\": [{\"type\": \"%s\"}, {\"type\": \"%s\", \"size\": 5, \"stride\": "
                 "3, \"padding\": 2, \"ceil\": true}]}",
                 T[i].type, T[i].type);
        p = parse_ok(t);
        if (!p)
            continue;
        l = &p->layers[0].layer;
        CHECK_EQ_INT(p->layers[0].kind, CNF_LAYER_POOL);
        CHECK_EQ_INT(l->pool, T[i].pool);
        CHECK(l->pool_size == 2 && l->pool_stride == 0 && l->pool_padding == 0 &&
              l->pool_ceil == 0);
        check_untouched(l, 0, 0, 1, 0);
        l = &p->layers[1].layer;
        CHECK_EQ_INT(l->pool, T[i].pool);
        CHECK(l->pool_size == 5 && l->pool_stride == 3 && l->pool_padding == 2 &&
              l->pool_ceil == 1);
        cnf_pipeline_free(p);
    }
    expect_error("{\"layers\": [{\"type\": \"maxpool\", \"size\": 3,\n \"padding\": 2}]}",
                 CNF_E_USAGE, "p.json", 2, 13, "pool padding 2 is more than half the window 3");
}

static void a_combine_layer_needs_one_of_its_modes(void)
{
    static const struct {
        const char *mode;
        cnf_combine c;
    } T[] = {{"magnitude", CNF_COMBINE_MAGNITUDE},
             {"max", CNF_COMBINE_MAX},
             {"sum", CNF_COMBINE_SUM}};
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        char t[100];
        cnf_pipeline *p;
        snprintf(t, sizeof t, "{\"layers\": [{\"type\": \"combine\", \"mode\": \"%s\"}]}",
                 T[i].mode);
        p = parse_ok(t);
        if (!p)
            continue;
        CHECK_EQ_INT(p->layers[0].kind, CNF_LAYER_COMBINE);
        CHECK_EQ_INT(p->layers[0].layer.combine, T[i].c);
        check_untouched(&p->layers[0].layer, 0, 0, 0, 1);
        cnf_pipeline_free(p);
    }
    expect_error("{\"layers\": [{\"type\": \"combine\"}]}", CNF_E_USAGE, "p.json", 1, 13,
                 "a combine layer must name its \"mode\" (magnitude, max or sum)");
    expect_error("{\"layers\": [{\"type\": \"combine\", \"mode\": \"none\"}]}", CNF_E_USAGE,
                 "p.json", 1, 41, "\"mode\" must be one of: magnitude, max, sum");
}

static void unknown_and_duplicate_keys_are_refused_with_their_position(void)
{
    expect_error("{\"layers\": [\n  {\"type\": \"conv\", \"kernels\": [\"box\"],\n"
                 "   \"groups\": 2}]}",
                 CNF_E_USAGE, "p.json", 3, 4,
                 "unknown key \"groups\" in a conv layer (allowed: type, kernels, weights, "
                 "padding, stride, dilation, border, channels, bias, trainable)");
    expect_error("{\"layers\": [{\"type\": \"avgpool\", \"slope\": 1}]}", CNF_E_USAGE, "p.json",
                 1, 33,
                 "unknown key \"slope\" in a avgpool layer (allowed: type, size, stride, "
                 "padding, ceil)");
    expect_error("{\"layers\": [{\"type\": \"relu\", \"slope\": 1}]}", CNF_E_USAGE, "p.json", 1,
                 30, "unknown key \"slope\" in a relu layer (allowed: type)");
    expect_error("{\"layers\": [{\"type\": \"leaky_relu\", \"size\": 1}]}", CNF_E_USAGE, "p.json",
                 1, 36, "unknown key \"size\" in a leaky_relu layer (allowed: type, slope)");
    expect_error("{\"layers\": [{\"type\": \"combine\", \"mode\": \"max\", \"size\": 2}]}",
                 CNF_E_USAGE, "p.json", 1, 48,
                 "unknown key \"size\" in a combine layer (allowed: type, mode)");
    expect_error("{\"layers\": [{\"type\": \"maxpool\",\n \"size\": 2,\n \"size\": 3}]}",
                 CNF_E_USAGE, "p.json", 3, 2, "duplicate key \"size\"");
    expect_error("{\"layers\": [{\"type\": \"relu\", \"type\": \"abs\"}]}", CNF_E_USAGE,
                 "p.json", 1, 30, "duplicate key \"type\"");
    expect_error("{\"layers\": [{\"type\": \"relu\"}],\n \"version\": 2}", CNF_E_USAGE, "p.json",
                 2, 2,
                 "unknown key \"version\" in a pipeline (allowed: layers, name, description, "
                 "classes, training)");
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": [{\"weights\": [[1]], "
                 "\"stride\": 1}]}]}",
                 CNF_E_USAGE, "p.json", 1, 61,
                 "unknown key \"stride\" in a kernel (allowed: name, weights, divisor, bias, "
                 "flip)");
}

static void values_of_the_wrong_type_name_their_key(void)
{
    const char *pre = "{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"box\"], ";
    static const struct {
        const char *rest;
        int col;
        const char *msg;
    } T[] = {
        {"\"dilation\": \"2\"}]}", 62, "\"dilation\" must be an integer from 1 to 65536"},
        {"\"dilation\": 0}]}", 62, "\"dilation\" must be an integer from 1 to 65536"},
        {"\"padding\": \"full\"}]}", 61, "\"padding\" must be an integer from 0 to 1048576"},
        {"\"padding\": [1, -1]}]}", 61, "\"padding\" must be an integer from 0 to 1048576"},
        {"\"stride\": [1, 2, 3]}]}", 60, "\"stride\" must be an integer or [stride_Y, stride_X]"},
        {"\"stride\": 1.5}]}", 60, "\"stride\" must be an integer from 1 to 1048576"},
        {"\"border\": \"edge\"}]}", 60,
         "\"border\" must be one of: zero, replicate, reflect, mirror, wrap"},
        {"\"channels\": 3}]}", 62, "\"channels\" must be one of: auto, gray, rgb, sum"},
        {"\"bias\": {}}]}", 58, "\"bias\" must be a finite number"},
        /* A string names a .npy file of biases. */
        {"\"bias\": \"1\"}]}", 58, "\"bias\": 1: No such file or directory"},
        {"\"bias\": [1, 2]}]}", 58, "\"bias\" has 2 values for 1 kernels"},
        {"\"bias\": [null]}]}", 58, "\"bias\" must be a finite number"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        char t[300];
        snprintf(t, sizeof t, "%s%s", pre, T[i].rest);
        expect_error(t, CNF_E_USAGE, "p.json", 1, T[i].col, T[i].msg);
    }
    expect_error("{\"layers\": [{\"type\": \"leaky_relu\", \"slope\": \"x\"}]}", CNF_E_USAGE,
                 "p.json", 1, 45, "\"slope\" must be a finite number");
    expect_error("{\"layers\": [{\"type\": \"maxpool\", \"ceil\": 1}]}", CNF_E_USAGE, "p.json", 1,
                 41, "\"ceil\" must be true or false");
    expect_error("{\"layers\": [{\"type\": \"maxpool\", \"size\": 256}]}", CNF_E_USAGE, "p.json",
                 1, 41, "\"size\" must be an integer from 1 to 255");
    expect_error("{\"layers\": [{\"type\": \"minpool\", \"stride\": 0}]}", CNF_E_USAGE, "p.json",
                 1, 43, "\"stride\" must be an integer from 1 to 1048576");
}

static void conv_kernels_must_be_a_non_empty_list_of_specs_or_objects(void)
{
    const char *need = "a conv layer needs \"kernels\": a non-empty array";
    expect_error("{\"layers\": [{\"type\": \"conv\"}]}", CNF_E_USAGE, "p.json", 1, 13,
                 "a conv layer needs \"kernels\" (a non-empty array, or {\"count\", \"size\"}) "
                 "or \"weights\" (a .npy file)");
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": []}]}", CNF_E_USAGE, "p.json",
                 1, 41, need);
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": \"box\"}]}", CNF_E_USAGE,
                 "p.json", 1, 41, need);
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"box\", 3]}]}", CNF_E_USAGE,
                 "p.json", 1, 49, "a kernel must be a spec string or a kernel object");
}

/* sobel, prewitt and scharr are one map of a bank each: the magnitude of
 * their pair; a per-kernel bias goes to both maps of the pair. */
static void composite_kernels_are_one_map_of_a_bank(void)
{
    cnf_pipeline *p = parse_ok("{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"sobel\", "
                               "\"box\"], \"bias\": [2, 3]}]}");
    if (!p)
        return;
    CHECK_EQ_INT(p->layers[0].layer.n_kernels, 2);
    CHECK_EQ_INT(cnf_kernel_is_composite(p->layers[0].kernels[0]), 1);
    CHECK_EQ_INT(cnf_kernel_is_composite(p->layers[0].kernels[1]), 0);
    CHECK(strcmp(cnf_kernel_name(cnf_kernel_part(p->layers[0].kernels[0], 0)), "sobel_v") == 0);
    CHECK(strcmp(cnf_kernel_name(cnf_kernel_part(p->layers[0].kernels[0], 1)), "sobel_h") == 0);
    CHECK(cnf_kernel_bias(cnf_kernel_part(p->layers[0].kernels[0], 0)) == 2);
    CHECK(cnf_kernel_bias(cnf_kernel_part(p->layers[0].kernels[0], 1)) == 2);
    CHECK(cnf_kernel_bias(p->layers[0].kernels[1]) == 3);
    CHECK(cnf_kernel_weights(p->layers[0].kernels[0]) == NULL);
    cnf_pipeline_free(p);
}

static void layers_and_the_pipeline_itself_are_checked(void)
{
    expect_error("[{\"type\": \"relu\"}]", CNF_E_USAGE, "p.json", 1, 1,
                 "a pipeline is an object {\"layers\": [...]}");
    expect_error(" {\"name\": \"x\"}", CNF_E_USAGE, "p.json", 1, 2,
                 "a pipeline needs \"layers\": a non-empty array");
    expect_error("{\"layers\": []}", CNF_E_USAGE, "p.json", 1, 12,
                 "a pipeline needs \"layers\": a non-empty array");
    expect_error("{\"layers\": [{\"type\": \"relu\"},\n  []]}", CNF_E_USAGE, "p.json", 2, 3,
                 "layer 2 must be an object");
    expect_error("{\"layers\": [{\"type\": \"relu\"}, {\"kernels\": [\"box\"]}]}", CNF_E_USAGE,
                 "p.json", 1, 31,
                 "layer 2 needs a \"type\" (conv, relu, abs, leaky_relu, sigmoid, tanh, maxpool, "
                 "avgpool, minpool, combine, flatten, dense, softmax, affine)");
    expect_error("{\"layers\": [{\"type\": 5}]}", CNF_E_USAGE, "p.json", 1, 13,
                 "layer 1 needs a \"type\" (conv, relu, abs, leaky_relu, sigmoid, tanh, maxpool, "
                 "avgpool, minpool, combine, flatten, dense, softmax, affine)");
    expect_error("{\"layers\": [{\"type\": \"dropout\"}]}", CNF_E_USAGE, "p.json", 1, 13,
                 "layer 1: unknown type \"dropout\"");
    expect_error("{\"layers\": [{\"type\": \"relu\"}]} []", CNF_E_USAGE, "p.json", 1, 32,
                 "unexpected content after the JSON document");
}

/* {"layers": [ITEM, ITEM, ...]} with n items. */
static char *repeat_layers(int n, const char *item)
{
    size_t len = strlen(item) + 2;
    char *t = malloc(64 + (size_t)n * len);
    size_t o = (size_t)sprintf(t, "{\"layers\": [");
    for (int i = 0; i < n; i++)
        o += (size_t)sprintf(t + o, "%s%s", i ? ", " : "", item);
    strcpy(t + o, "]}");
    return t;
}

static char *repeat_kernels(int n)
{
    char *t = malloc(64 + (size_t)n * 8);
    size_t o = (size_t)sprintf(t, "{\"layers\": [{\"type\": \"conv\", \"kernels\": [");
    for (int i = 0; i < n; i++)
        o += (size_t)sprintf(t + o, "%s\"box\"", i ? ", " : "");
    strcpy(t + o, "]}]}");
    return t;
}

static void layers_and_kernels_per_layer_are_limited(void)
{
    cnf_pipeline *p = NULL;
    char *t = repeat_layers(CNF_MAX_LAYERS, "{\"type\": \"relu\"}");
    CHECK_EQ_INT(parse_in(t, NULL, &p), CNF_OK);
    CHECK(p && cnf_pipeline_n_layers(p) == CNF_MAX_LAYERS);
    cnf_pipeline_free(p);
    free(t);
    t = repeat_layers(CNF_MAX_LAYERS + 1, "{\"type\": \"relu\"}");
    expect_error(t, CNF_E_LIMIT, "p.json", 1, 12, "more than 64 layers (limit)");
    CHECK_EQ_INT(E.limit, CNF_LIMIT_KERNEL);
    free(t);
    /* A pipeline's conv layer takes more kernels than a -k bank. */
    t = repeat_kernels(CNF_MAX_PIPELINE_KERNELS);
    p = parse_ok(t);
    CHECK(p && p->layers[0].layer.n_kernels == CNF_MAX_PIPELINE_KERNELS);
    if (p)
        CHECK(strcmp(cnf_kernel_name(p->layers[0].kernels[1023]), "box") == 0);
    cnf_pipeline_free(p);
    free(t);
    t = repeat_kernels(CNF_MAX_PIPELINE_KERNELS + 1);
    expect_error(t, CNF_E_LIMIT, "p.json", 1, 41, "more than 1024 kernels in one layer (limit)");
    CHECK_EQ_INT(E.limit, CNF_LIMIT_KERNEL);
    free(t);
}

static void kernel_files_are_found_beside_the_pipeline_first(void)
{
    char abs_path[200], t[400];
    cnf_pipeline *p = NULL;
    write_file("edge.json", "{\"weights\": [[1, -1]], \"divisor\": 2, \"name\": \"ignored\"}");
    p = parse_ok("{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"edge.json\"]}]}");
    if (p) {
        const cnf_kernel *k = p->layers[0].kernels[0];
        CHECK(cnf_kernel_width(k) == 2 && cnf_kernel_divisor(k) == 2);
        CHECK(strcmp(cnf_kernel_name(k), "edge") == 0); /* a file's kernel is named by its stem */
    }
    cnf_pipeline_free(p);
    /* Without the folder, "edge.json" is neither a built-in nor a file here. */
    p = NULL;
    CHECK_EQ_INT(parse_in("{\"layers\": [{\"type\": \"conv\",\n \"kernels\": [\"edge.json\"]}]}",
                          NULL, &p),
                 CNF_E_USAGE);
    CHECK(E.line == 2 && E.col == 14);
    CHECK(strcmp(E.where, "p.json") == 0);
    CHECK_STR_CONTAINS(E.msg, "kernel \"edge.json\": unknown kernel 'edge.json'");
    /* An absolute path needs no folder. */
    snprintf(abs_path, sizeof abs_path, "%s/edge.json", DIR_);
    snprintf(t, sizeof t, "{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"%s\"]}]}", abs_path);
    CHECK_EQ_INT(parse_in(t, NULL, &p), CNF_OK);
    cnf_pipeline_free(p);
    /* An error inside a kernel file names that file, at its own line and column. */
    write_file("bad.json", "{\"weights\": [[1, 2],\n  [3]]}");
    snprintf(abs_path, sizeof abs_path, "%s/bad.json", DIR_);
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"bad.json\"]}]}", CNF_E_USAGE,
                 abs_path, 2, 3, "ragged array: 1 elements where the first had 2");
    remove_file("edge.json");
    remove_file("bad.json");
}

static void inline_specs_and_kernel_objects_make_kernels(void)
{
    cnf_pipeline *p = parse_ok(
        "{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"[1, 0, -1]\", \"[[[1]], [[2]]]\",\n"
        "  {\"weights\": [[1, 2], [3, 4]], \"divisor\": 4, \"bias\": 1, \"flip\": true, "
        "\"name\": \"mine\"},\n  \"gaussian:5\"]}]}");
    if (p) {
        const cnf_pl_layer *L = &p->layers[0];
        const double *w;
        CHECK_EQ_INT(L->layer.n_kernels, 4);
        /* The 1-D shorthand stays for inline specs: one row. */
        CHECK(cnf_kernel_height(L->kernels[0]) == 1 && cnf_kernel_width(L->kernels[0]) == 3);
        CHECK(strcmp(cnf_kernel_name(L->kernels[0]), "k0") == 0);
        CHECK(cnf_kernel_is_3d(L->kernels[1]) && cnf_kernel_depth(L->kernels[1]) == 2);
        w = cnf_kernel_weights(L->kernels[2]);
        CHECK(w[0] == 4 && w[1] == 3 && w[2] == 2 && w[3] == 1);
        CHECK(cnf_kernel_divisor(L->kernels[2]) == 4 && cnf_kernel_bias(L->kernels[2]) == 1);
        CHECK(strcmp(cnf_kernel_name(L->kernels[2]), "mine") == 0);
        CHECK(strcmp(cnf_kernel_name(L->kernels[3]), "gaussian-5") == 0);
    }
    cnf_pipeline_free(p);
    /* An inline spec's error is reported where the spec stands in the pipeline. */
    expect_error("{\"layers\": [{\"type\": \"conv\",\n \"kernels\": [\"box\", \"[[1,2],[3]]\"]}]}",
                 CNF_E_USAGE, "p.json", 2, 21,
                 "kernel \"[[1,2],[3]]\": ragged array: 1 elements where the first had 2");
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"box:0\"]}]}", CNF_E_USAGE,
                 "p.json", 1, 42,
                 "kernel \"box:0\": size of 'box' must be an integer from 1 to 255, not '0'");
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": [{\"weights\": [[1e309]]}]}]}",
                 CNF_E_USAGE, "p.json", 1, 56, "number '1e309' is out of range (not finite)");
}

static void an_inline_spec_over_the_side_limit_keeps_its_limit(void)
{
    char t[1200];
    size_t o = (size_t)sprintf(t, "{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"[");
    for (int i = 0; i < 256; i++)
        o += (size_t)sprintf(t + o, "%s0", i ? "," : "");
    strcpy(t + o, "]\"]}]}");
    expect_error(t, CNF_E_LIMIT, "p.json", 1, 42,
                 "kernel \"[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\": "
                 "kernel of 1x256 (depth 1) is over the limit of 255 per side and depth 64");
    CHECK_EQ_INT(E.limit, CNF_LIMIT_KERNEL);
}

static void the_one_d_and_bare_matrix_shorthand_is_not_for_kernel_files_or_objects(void)
{
    char path[200];
    write_file("row.json", "[1, 0, -1]");
    write_file("m.json", "\n  [[1, 0], [0, -1]]");
    write_file("obj1d.json", "{\"name\": \"r\",\n \"weights\": [1, 0, -1]}");
    snprintf(path, sizeof path, "%s/row.json", DIR_);
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"row.json\"]}]}", CNF_E_USAGE,
                 path, 1, 1,
                 "a kernel file is an object {\"weights\": [[...]], ...}: the bare-matrix "
                 "shorthand is only for inline kernel specs (such as '[1,0,-1]') and input "
                 "matrices");
    snprintf(path, sizeof path, "%s/m.json", DIR_);
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"m.json\"]}]}", CNF_E_USAGE,
                 path, 2, 3,
                 "a kernel file is an object {\"weights\": [[...]], ...}: the bare-matrix "
                 "shorthand is only for inline kernel specs (such as '[1,0,-1]') and input "
                 "matrices");
    snprintf(path, sizeof path, "%s/obj1d.json", DIR_);
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"obj1d.json\"]}]}",
                 CNF_E_USAGE, path, 2, 13,
                 "\"weights\" must be 2-D or 3-D: the 1-D shorthand is only for inline kernel "
                 "specs (such as '[1,0,-1]') and input matrices");
    expect_error("{\"layers\": [{\"type\": \"conv\",\n \"kernels\": [{\"weights\": [1, 2]}]}]}",
                 CNF_E_USAGE, "p.json", 2, 26,
                 "\"weights\" must be 2-D or 3-D: the 1-D shorthand is only for inline kernel "
                 "specs (such as '[1,0,-1]') and input matrices");
    remove_file("row.json");
    remove_file("m.json");
    remove_file("obj1d.json");
}

/* ------------------------------------------------------------ learned layers */

static void flatten_softmax_and_affine_take_their_keys_and_defaults(void)
{
    cnf_pipeline *p = parse_ok("{\"layers\": [{\"type\": \"affine\"},\n"
                               " {\"type\": \"affine\", \"scale\": 0.00392156862745098, "
                               "\"shift\": -0.5},\n"
                               " {\"type\": \"flatten\"}, {\"type\": \"softmax\"}]}");
    if (!p)
        return;
    CHECK_EQ_INT(p->layers[0].kind, CNF_LAYER_AFFINE);
    CHECK(p->layers[0].scale == 1 && p->layers[0].shift == 0);
    CHECK(p->layers[1].scale == 0.00392156862745098 && p->layers[1].shift == -0.5);
    CHECK(p->layers[1].line == 2 && p->layers[1].col == 2);
    CHECK_EQ_INT(p->layers[2].kind, CNF_LAYER_FLATTEN);
    CHECK(strcmp(p->layers[2].type, "flatten") == 0);
    CHECK_EQ_INT(p->layers[3].kind, CNF_LAYER_SOFTMAX);
    CHECK(strcmp(p->layers[3].type, "softmax") == 0);
    for (int i = 0; i < 4; i++)
        check_untouched(&p->layers[i].layer, 0, 0, 0, 0);
    cnf_pipeline_free(p);
    expect_error("{\"layers\": [{\"type\": \"affine\", \"scale\": \"2\"}]}", CNF_E_USAGE,
                 "p.json", 1, 41, "\"scale\" must be a finite number");
    expect_error("{\"layers\": [{\"type\": \"affine\", \"shift\": 1e999}]}", CNF_E_USAGE,
                 "p.json", 1, 41, "\"shift\" must be a finite number");
    expect_error("{\"layers\": [{\"type\": \"flatten\", \"size\": 2}]}", CNF_E_USAGE, "p.json", 1,
                 33, "unknown key \"size\" in a flatten layer (allowed: type)");
    expect_error("{\"layers\": [{\"type\": \"softmax\", \"axis\": 0}]}", CNF_E_USAGE, "p.json", 1,
                 33, "unknown key \"axis\" in a softmax layer (allowed: type)");
    expect_error("{\"layers\": [{\"type\": \"affine\", \"bias\": 0}]}", CNF_E_USAGE, "p.json", 1,
                 32, "unknown key \"bias\" in a affine layer (allowed: type, scale, shift)");
}

static void a_dense_layer_reads_units_weights_bias_and_trainable(void)
{
    cnf_pipeline *p = parse_ok(
        "{\"layers\": [{\"type\": \"dense\", \"units\": 2, \"weights\": [[1, 2, 3], [4, 5, 6.5]],"
        " \"bias\": [0.25, -1]},\n"
        " {\"type\": \"dense\", \"units\": 3},\n"
        " {\"type\": \"dense\", \"units\": 1, \"weights\": [[0.1, 1e-3]], \"trainable\": false},\n"
        " {\"type\": \"dense\", \"units\": 1, \"weights\": [[2]], \"bias\": false},\n"
        " {\"type\": \"dense\", \"units\": 4, \"bias\": false, \"trainable\": true}]}");
    const cnf_pl_layer *L;
    if (!p)
        return;
    L = &p->layers[0];
    CHECK_EQ_INT(L->kind, CNF_LAYER_DENSE);
    CHECK(L->units == 2 && L->in == 3 && L->w && L->b);
    CHECK(L->w[0] == 1 && L->w[2] == 3 && L->w[3] == 4 && L->w[5] == 6.5f);
    CHECK(L->b[0] == 0.25f && L->b[1] == -1);
    CHECK(!L->no_bias && !L->frozen);
    /* Units only: training makes the weights and the bias. */
    L = &p->layers[1];
    CHECK(L->units == 3 && L->in == 0 && !L->w && !L->b && !L->no_bias);
    /* Weights without a bias: a zero bias, as nn.Linear has one; weights kept as float32. */
    L = &p->layers[2];
    CHECK(L->in == 2 && L->w[0] == 0.1f && L->w[1] == 1e-3f && L->frozen);
    CHECK(L->b && L->b[0] == 0);
    L = &p->layers[3];
    CHECK(L->w[0] == 2 && !L->b && L->no_bias);
    L = &p->layers[4];
    CHECK(!L->w && !L->b && L->no_bias && !L->frozen);
    check_untouched(&L->layer, 0, 0, 0, 0);
    cnf_pipeline_free(p);
}

static void dense_errors_are_at_their_line_and_column(void)
{
    const char *pre = "{\"layers\": [{\"type\": \"dense\", ";
    static const struct {
        const char *rest;
        cnf_status st;
        int col;
        const char *msg;
    } T[] = {
        {"\"weights\": [[1]]}]}", CNF_E_USAGE, 13, "a dense layer needs \"units\": how many "
                                                   "outputs it has"},
        {"\"units\": 0}]}", CNF_E_USAGE, 40, "\"units\" must be an integer from 1 to 16777216"},
        {"\"units\": 2, \"weights\": [[1, 2]]}]}", CNF_E_USAGE, 54,
         "\"weights\": 1 rows for 2 units (PyTorch's nn.Linear layout: one row of inputs per "
         "unit)"},
        {"\"units\": 2, \"weights\": [1, 2]}]}", CNF_E_USAGE, 54,
         "\"weights\": shape (2,) is not (units, inputs)"},
        {"\"units\": 1, \"weights\": [[[1]]]}]}", CNF_E_USAGE, 54,
         "\"weights\": shape (1, 1, 1) is not (units, inputs)"},
        {"\"units\": 1, \"weights\": [[1, 2], [3]]}]}", CNF_E_USAGE, 63,
         "ragged array: 1 elements where the first had 2"},
        {"\"units\": 1, \"weights\": [[1, 1e39]]}]}", CNF_E_USAGE, 54,
         "\"weights\": value 1 (1e+39) is not a finite float32"},
        {"\"units\": 1, \"weights\": 2}]}", CNF_E_USAGE, 54,
         "\"weights\" must be an array of units x inputs numbers or name a .npy file of shape "
         "(units, inputs)"},
        {"\"units\": 2, \"bias\": [1, 2]}]}", CNF_E_USAGE, 51,
         "\"bias\" without \"weights\": give both, or neither and train the layer"},
        {"\"units\": 2, \"weights\": [[1], [2]], \"bias\": [1, 2, 3]}]}", CNF_E_USAGE, 74,
         "\"bias\": shape (3,) is not (2,): one bias per unit"},
        {"\"units\": 1, \"weights\": [[1]], \"bias\": 0.5}]}", CNF_E_USAGE, 69,
         "\"bias\" must be an array of units numbers, a .npy file or false"},
        {"\"units\": 1, \"weights\": [[1]], \"bias\": true}]}", CNF_E_USAGE, 69,
         "\"bias\" must be an array of units numbers, a .npy file or false"},
        {"\"units\": 1, \"trainable\": 0}]}", CNF_E_USAGE, 56,
         "\"trainable\" must be true or false"},
        {"\"units\": 1, \"kernels\": 0}]}", CNF_E_USAGE, 43,
         "unknown key \"kernels\" in a dense layer (allowed: type, units, weights, bias, "
         "trainable)"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        char t[300];
        snprintf(t, sizeof t, "%s%s", pre, T[i].rest);
        expect_error(t, T[i].st, "p.json", 1, T[i].col, T[i].msg);
    }
}

/* .npy weights: float32 and float64, beside the pipeline, checked for shape before the data
 * is read. */
static void dense_weights_and_biases_come_from_npy_files(void)
{
    const float w32[6] = {1.5f, -2, 0.1f, 3, 4, 5};
    const double w64[6] = {0.1, 2, 3, 4, 5, 1e-40};
    const float b32[2] = {7, 8};
    const size_t d23[2] = {2, 3}, d2[1] = {2}, d32[2] = {3, 2}, d12[2] = {1, 2};
    cnf_pipeline *p;
    t_write_f32(in_dir("w32.npy"), d23, 2, w32);
    t_write_f64(in_dir("w64.npy"), d23, 2, w64);
    t_write_f32(in_dir("b.npy"), d2, 1, b32);
    t_write_f32(in_dir("w32t.npy"), d32, 2, w32);
    p = parse_ok("{\"layers\": [{\"type\": \"dense\", \"units\": 2, \"weights\": \"w32.npy\", "
                 "\"bias\": \"b.npy\"},\n {\"type\": \"dense\", \"units\": 2, \"weights\": "
                 "\"w64.npy\"}]}");
    if (p) {
        const cnf_pl_layer *L = &p->layers[0];
        CHECK(L->in == 3 && memcmp(L->w, w32, sizeof w32) == 0);
        CHECK(L->b[0] == 7 && L->b[1] == 8);
        L = &p->layers[1];
        CHECK(L->in == 3);
        for (int i = 0; i < 6; i++)
            CHECK(L->w[i] == (float)w64[i]); /* float64 files are rounded to float32 */
        CHECK(L->b[0] == 0 && L->b[1] == 0);
    }
    cnf_pipeline_free(p);
    /* The wrong shape, the wrong dtype, a missing, truncated or padded file: each named. */
    expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 2,\n \"weights\": \"w32t.npy\"}]}",
                 CNF_E_USAGE, "p.json", 2, 13,
                 "\"weights\": w32t.npy: 3 rows for 2 units (PyTorch's nn.Linear layout: one row "
                 "of inputs per unit)");
    expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 2,\n \"weights\": \"b.npy\"}]}",
                 CNF_E_USAGE, "p.json", 2, 13,
                 "\"weights\": b.npy: shape (2,) is not (units, inputs)");
    expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 2, \"weights\": \"w32.npy\",\n "
                 "\"bias\": \"w32.npy\"}]}",
                 CNF_E_USAGE, "p.json", 2, 10,
                 "\"bias\": w32.npy: shape (2, 3) is not (2,): one bias per unit");
    t_write_npy(in_dir("i4.npy"), "<i4", d12, 2, "\1\0\0\0\2\0\0\0", 8, 0);
    expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 1, \"weights\": \"i4.npy\"}]}",
                 CNF_E_USAGE, "p.json", 1, 54,
                 "\"weights\": i4.npy: dtype '<i4' is not float32 or float64 ('<f4' or '<f8')");
    t_write_npy(in_dir("be.npy"), ">f4", d12, 2, "\0\0\0\1\0\0\0\2", 8, 0);
    expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 1, \"weights\": \"be.npy\"}]}",
                 CNF_E_USAGE, "p.json", 1, 54,
                 "\"weights\": be.npy: dtype '>f4' is not float32 or float64 ('<f4' or '<f8')");
    expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 1, \"weights\": \"none.npy\"}]}",
                 CNF_E_USAGE, "p.json", 1, 54,
                 "\"weights\": none.npy: No such file or directory");
    CHECK_EQ_INT(E.sys_errno, ENOENT);
    expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 1, \"weights\": \"/dev/null\"}]}",
                 CNF_E_USAGE, "p.json", 1, 54, "\"weights\": /dev/null: is not a regular file");
    expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 1, \"weights\": \".\"}]}",
                 CNF_E_USAGE, "p.json", 1, 54, "\"weights\": .: is a directory");
    t_write_npy(in_dir("short.npy"), "<f4", d23, 2, w32, 20, 0);
    expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 2, \"weights\": \"short.npy\"}]}",
                 CNF_E_USAGE, "p.json", 1, 54,
                 "\"weights\": short.npy: truncated .npy data: 20 bytes where the shape (2, 3) "
                 "needs 24");
    t_write_npy(in_dir("long.npy"), "<f4", d23, 2, w32, 24, 3);
    expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 2, \"weights\": \"long.npy\"}]}",
                 CNF_E_USAGE, "p.json", 1, 54,
                 "\"weights\": long.npy: 3 bytes after the data of shape (2, 3)");
    write_file("text.npy", "[[1, 2, 3]]");
    expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 1, \"weights\": \"text.npy\"}]}",
                 CNF_E_USAGE, "p.json", 1, 54, "\"weights\": text.npy: not a .npy file");
    {
        const double bad[2] = {1, NAN};
        t_write_f64(in_dir("nan.npy"), d12, 2, bad);
        expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 1, \"weights\": "
                     "\"nan.npy\"}]}",
                     CNF_E_USAGE, "p.json", 1, 54, "\"weights\": nan.npy: value 1 is not finite");
    }
    {
        unsigned char h[512];
        size_t hl = t_npy_header(h, "<f4", d12, 2, 1);
        FILE *f = fopen(in_dir("fortran.npy"), "wb");
        CHECK(f && fwrite(h, 1, hl, f) == hl && fwrite(w32, 4, 2, f) == 2 && fclose(f) == 0);
        expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 1, \"weights\": "
                     "\"fortran.npy\"}]}",
                     CNF_E_USAGE, "p.json", 1, 54,
                     "\"weights\": fortran.npy: only C-order .npy arrays are supported (not "
                     "Fortran order)");
    }
    const char *files[] = {"w32.npy", "w64.npy", "b.npy", "w32t.npy", "i4.npy", "be.npy",
                           "short.npy", "long.npy", "text.npy", "nan.npy", "fortran.npy"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        remove_file(files[i]);
}

/* 2^24 weights in one dense layer, and no more: the file's shape is refused before its data
 * is read (the file is sparse: its 64 MiB cost nothing). */
static void a_dense_layer_takes_at_most_two_to_the_24_weights(void)
{
    const size_t over[2] = {4097, 4096}, at[2] = {1, 1u << 24};
    t_write_npy(in_dir("big.npy"), "<f4", over, 2, NULL, over[0] * over[1] * 4, 0);
    expect_error("{\"layers\": [{\"type\": \"dense\", \"units\": 4097, \"weights\": "
                 "\"big.npy\"}]}",
                 CNF_E_LIMIT, "p.json", 1, 57,
                 "\"weights\": big.npy: 4097 x 4096 weights: more than 16777216 in one dense "
                 "layer (limit)");
    CHECK_EQ_INT(E.limit, CNF_LIMIT_KERNEL);
    CHECK_EQ_INT(over[0] * over[1], (1u << 24) + 4096);
    t_write_npy(in_dir("big.npy"), "<f4", at, 2, NULL, at[1] * 4, 0);
    {
        cnf_pipeline *p = parse_ok("{\"layers\": [{\"type\": \"dense\", \"units\": 1, "
                                   "\"weights\": \"big.npy\", \"bias\": false}]}");
        CHECK(p && p->layers[0].in == 1 << 24 && p->layers[0].w[(1 << 24) - 1] == 0);
        cnf_pipeline_free(p);
    }
    remove_file("big.npy");
}

static void conv_kernels_may_be_given_by_shape_for_training(void)
{
    cnf_pipeline *p = parse_ok(
        "{\"layers\": [{\"type\": \"conv\", \"kernels\": {\"count\": 6, \"size\": 5}, "
        "\"padding\": 2},\n {\"type\": \"conv\", \"kernels\": {\"size\": [3, 1], \"count\": 2}, "
        "\"bias\": false, \"trainable\": false}]}");
    if (!p)
        return;
    CHECK(p->layers[0].shape_only && p->layers[0].count == 6 && p->layers[0].kh == 5 &&
          p->layers[0].kw == 5);
    CHECK(!p->layers[0].kernels && p->layers[0].layer.n_kernels == 0);
    CHECK(!p->layers[0].no_bias && !p->layers[0].frozen);
    CHECK(p->layers[0].layer.pad_h == 2);
    CHECK(p->layers[1].count == 2 && p->layers[1].kh == 3 && p->layers[1].kw == 1);
    CHECK(p->layers[1].no_bias && p->layers[1].frozen);
    cnf_pipeline_free(p);
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": {\"count\": 6}}]}", CNF_E_USAGE,
                 "p.json", 1, 41,
                 "\"kernels\" by shape needs \"count\" and \"size\" (such as {\"count\": 6, "
                 "\"size\": 5})");
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": {\"count\": 6, \"size\": 5, "
                 "\"depth\": 3}}]}",
                 CNF_E_USAGE, "p.json", 1, 65,
                 "unknown key \"depth\" in \"kernels\" by shape (allowed: count, size)");
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": {\"count\": 0, \"size\": 5}}]}",
                 CNF_E_USAGE, "p.json", 1, 51, "\"count\" must be an integer from 1 to 2147483647");
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": {\"count\": 1025, \"size\": 5}}]}",
                 CNF_E_LIMIT, "p.json", 1, 51, "more than 1024 kernels in one layer (limit)");
    CHECK_EQ_INT(E.limit, CNF_LIMIT_KERNEL);
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": {\"count\": 2, \"size\": [3, "
                 "256]}}]}",
                 CNF_E_USAGE, "p.json", 1, 62, "\"size\" must be an integer from 1 to 255");
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": {\"count\": 2, \"size\": 3},\n"
                 " \"bias\": 1}]}",
                 CNF_E_USAGE, "p.json", 2, 10,
                 "kernels given by shape have no weights to add \"bias\" to: leave it out "
                 "(training learns it) or make it false");
    p = parse_ok("{\"layers\": [{\"type\": \"conv\", \"kernels\": {\"count\": 1024, \"size\": "
                 "1}}]}");
    CHECK(p && p->layers[0].count == 1024);
    cnf_pipeline_free(p);
}

/* PyTorch's Conv2d.weight (N, C, KH, KW) as N 3-D kernels; a bias file of (N). */
static void conv_weights_come_from_an_npy_file_of_shape_n_c_kh_kw(void)
{
    float w[2 * 3 * 2 * 2];
    const size_t d[4] = {2, 3, 2, 2}, nb[1] = {2}, d3[3] = {2, 3, 4};
    const double bias[2] = {0.5, -0.25};
    cnf_pipeline *p;
    for (int i = 0; i < 24; i++)
        w[i] = (float)i / 8 - 1;
    t_write_f32(in_dir("conv.npy"), d, 4, w);
    t_write_f64(in_dir("convb.npy"), nb, 1, bias);
    t_write_f32(in_dir("conv3.npy"), d3, 3, w);
    p = parse_ok("{\"layers\": [{\"type\": \"conv\", \"weights\": \"conv.npy\", \"bias\": "
                 "\"convb.npy\", \"padding\": \"valid\", \"trainable\": false},\n"
                 " {\"type\": \"conv\", \"weights\": \"conv.npy\", \"bias\": false},\n"
                 " {\"type\": \"conv\", \"weights\": \"conv.npy\"}]}");
    if (p) {
        const cnf_pl_layer *L = &p->layers[0];
        CHECK_EQ_INT(L->layer.n_kernels, 2);
        CHECK(L->count == 2 && L->kh == 2 && L->kw == 2 && !L->shape_only && L->frozen);
        for (int k = 0; k < 2; k++) {
            const cnf_kernel *kn = L->kernels[k];
            CHECK(cnf_kernel_is_3d(kn) && cnf_kernel_depth(kn) == 3);
            CHECK(cnf_kernel_height(kn) == 2 && cnf_kernel_width(kn) == 2);
            CHECK(cnf_kernel_divisor(kn) == 1);
            for (int j = 0; j < 12; j++)
                CHECK(cnf_kernel_weights(kn)[j] == w[k * 12 + j]);
            CHECK(cnf_kernel_bias(kn) == bias[k]);
            CHECK(L->layer.kernels[k] == kn);
        }
        CHECK(strcmp(cnf_kernel_name(L->kernels[1]), "k1") == 0);
        CHECK(p->layers[1].no_bias && cnf_kernel_bias(p->layers[1].kernels[0]) == 0);
        CHECK(!p->layers[2].no_bias && !p->layers[2].frozen);
    }
    cnf_pipeline_free(p);
    expect_error("{\"layers\": [{\"type\": \"conv\", \"weights\": \"conv3.npy\"}]}", CNF_E_USAGE,
                 "p.json", 1, 41, "\"weights\": conv3.npy: shape (2, 3, 4) is not (N, C, KH, KW)");
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"box\"],\n \"weights\": "
                 "\"conv.npy\"}]}",
                 CNF_E_USAGE, "p.json", 2, 13,
                 "a conv layer takes \"kernels\" or \"weights\", not both");
    expect_error("{\"layers\": [{\"type\": \"conv\", \"weights\": [[1]]}]}", CNF_E_USAGE, "p.json",
                 1, 41, "\"weights\" must name a .npy file of shape (N, C, KH, KW)");
    expect_error("{\"layers\": [{\"type\": \"conv\", \"weights\": \"conv.npy\",\n \"bias\": "
                 "\"conv3.npy\"}]}",
                 CNF_E_USAGE, "p.json", 2, 10,
                 "\"bias\": conv3.npy: shape (2, 3, 4) is not (2,): one bias per kernel");
    expect_error("{\"layers\": [{\"type\": \"conv\", \"kernels\": [{\"weights\": [[1]], \"bias\": "
                 "2}],\n \"bias\": false}]}",
                 CNF_E_USAGE, "p.json", 2, 10, "\"bias\" is false but kernel 'k0' has a bias of 2");
    remove_file("conv.npy");
    remove_file("convb.npy");
    remove_file("conv3.npy");
}

/* 1024 kernels of depth 1024 in a pipeline's conv layer; the 64s stay for -k banks, kernel
 * files and inline specs. */
static void a_pipeline_conv_layer_takes_1024_kernels_of_depth_1024(void)
{
    const size_t ok[4] = {1024, 1, 1, 1}, many[4] = {1025, 1, 1, 1}, deep[4] = {1, 1025, 1, 1};
    const size_t wide[4] = {1, 1, 1, 256};
    cnf_pipeline *p;
    size_t o;
    char *t;
    t_write_npy(in_dir("ok.npy"), "<f4", ok, 4, NULL, 1024 * 4, 0);
    t_write_npy(in_dir("many.npy"), "<f4", many, 4, NULL, 1025 * 4, 0);
    t_write_npy(in_dir("deep.npy"), "<f4", deep, 4, NULL, 1025 * 4, 0);
    t_write_npy(in_dir("wide.npy"), "<f4", wide, 4, NULL, 256 * 4, 0);
    p = parse_ok("{\"layers\": [{\"type\": \"conv\", \"weights\": \"ok.npy\"}]}");
    CHECK(p && p->layers[0].layer.n_kernels == 1024);
    cnf_pipeline_free(p);
    expect_error("{\"layers\": [{\"type\": \"conv\", \"weights\": \"many.npy\"}]}", CNF_E_LIMIT,
                 "p.json", 1, 41,
                 "\"weights\": many.npy: 1025 kernels: more than 1024 in one layer (limit)");
    CHECK_EQ_INT(E.limit, CNF_LIMIT_KERNEL);
    expect_error("{\"layers\": [{\"type\": \"conv\", \"weights\": \"deep.npy\"}]}", CNF_E_LIMIT,
                 "p.json", 1, 41,
                 "\"weights\": deep.npy: kernels of 1x1 (depth 1025) are over the limit of 255 "
                 "per side and depth 1024");
    expect_error("{\"layers\": [{\"type\": \"conv\", \"weights\": \"wide.npy\"}]}", CNF_E_LIMIT,
                 "p.json", 1, 41,
                 "\"weights\": wide.npy: kernels of 1x256 (depth 1) are over the limit of 255 "
                 "per side and depth 1024");
    /* A kernel object in a pipeline may be 1024 planes deep, not 1025. */
    t = malloc(64 + 1025 * 8);
    for (int n = 1024; n <= 1025; n++) {
        o = (size_t)sprintf(t, "{\"layers\": [{\"type\": \"conv\", \"kernels\": [{\"weights\": [");
        for (int i = 0; i < n; i++)
            o += (size_t)sprintf(t + o, "%s[[%d]]", i ? "," : "", i % 7);
        strcpy(t + o, "]}]}]}");
        if (n == 1024) {
            p = parse_ok(t);
            CHECK(p && cnf_kernel_depth(p->layers[0].kernels[0]) == 1024 &&
                  cnf_kernel_weights(p->layers[0].kernels[0])[1023] == 1023 % 7);
            cnf_pipeline_free(p);
        } else {
            expect_error(t, CNF_E_LIMIT, "p.json", 1, 54,
                         "kernel of 1x1 (depth 1025) is over the limit of 255 per side and depth "
                         "1024");
        }
    }
    free(t);
    remove_file("ok.npy");
    remove_file("many.npy");
    remove_file("deep.npy");
    remove_file("wide.npy");
}

static void classes_name_description_and_training_are_read(void)
{
    cnf_pipeline *p = parse_ok("{\"name\": \"net\", \"description\": \"a \\\"net\\\"\",\n"
                               " \"classes\": [\"zero\", \"one\", \"\\u00e9t\\u00e9\"],\n"
                               " \"training\": {\"epochs\": 3, \"anything\": [1, {\"x\": null}]},\n"
                               " \"layers\": [{\"type\": \"softmax\"}]}");
    const char *const *c;
    int n = -1;
    if (!p)
        return;
    c = cnf_pipeline_classes(p, &n);
    CHECK_EQ_INT(n, 3);
    CHECK(strcmp(c[0], "zero") == 0 && strcmp(c[1], "one") == 0);
    CHECK(strcmp(c[2], "\xc3\xa9t\xc3\xa9") == 0);
    CHECK(strcmp(p->doc_name, "net") == 0 && strcmp(p->description, "a \"net\"") == 0);
    {
        const char *names[] = {"cat", "dog"};
        CHECK_EQ_INT(cnf_pipeline_set_classes(p, names, 2, &E), CNF_OK);
        c = cnf_pipeline_classes(p, &n);
        CHECK(n == 2 && strcmp(c[1], "dog") == 0 && c[1] != names[1]);
        CHECK_EQ_INT(cnf_pipeline_set_classes(p, NULL, 0, &E), CNF_OK);
        c = cnf_pipeline_classes(p, &n);
        CHECK(n == 0 && c == NULL);
        CHECK_EQ_INT(cnf_pipeline_set_classes(p, NULL, 1, &E), CNF_E_USAGE);
    }
    cnf_pipeline_free(p);
    p = parse_ok("{\"layers\": [{\"type\": \"relu\"}], \"classes\": []}");
    if (p) {
        CHECK(cnf_pipeline_classes(p, &n) == NULL && n == 0);
        CHECK(p->doc_name == NULL && p->description == NULL);
    }
    cnf_pipeline_free(p);
    expect_error("{\"layers\": [{\"type\": \"relu\"}], \"classes\": \"a\"}", CNF_E_USAGE,
                 "p.json", 1, 43,
                 "\"classes\" must be an array of strings (the names of the outputs)");
    expect_error("{\"layers\": [{\"type\": \"relu\"}],\n \"classes\": [\"a\", 2]}", CNF_E_USAGE,
                 "p.json", 2, 19, "a class name must be a string");
    expect_error("{\"layers\": [{\"type\": \"relu\"}],\n \"training\": [1]}", CNF_E_USAGE,
                 "p.json", 2, 14, "\"training\" must be an object (what training recorded)");
}

/* The message cnf_pipeline_check_weights gives, exactly as declared, and the plan's. */
static void layers_without_weights_are_named_until_trained(void)
{
    cnf_pipeline *p = parse_ok("{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"box\"]},\n"
                               " {\"type\": \"relu\"}, {\"type\": \"flatten\"},\n"
                               " {\"type\": \"dense\", \"units\": 4, \"weights\": [[1], [2], "
                               "[3], [4]]},\n {\"type\": \"dense\", \"units\": 2}]}");
    cnf_plan *plan = NULL;
    if (!p)
        return;
    memset(&E, 0, sizeof E);
    CHECK_EQ_INT(cnf_pipeline_check_weights(p, &E), CNF_E_USAGE);
    CHECK(strcmp(E.msg, "layer 5 (dense) has no weights: train it first or give \"weights\"") ==
          0);
    CHECK(strcmp(E.where, "p.json") == 0 && E.subject == CNF_SUBJECT_FILE && E.line == 0);
    memset(&E, 0, sizeof E);
    CHECK_EQ_INT(cnf_plan_create_pipeline(p, 1, 1, 1, 0, NULL, &plan, &E), CNF_E_USAGE);
    CHECK(plan == NULL);
    CHECK(strcmp(E.msg, "layer 5 (dense) has no weights: train it first or give \"weights\"") ==
          0);
    CHECK(strcmp(E.where, "p.json") == 0 && E.line == 0);
    cnf_pipeline_free(p);
    p = parse_ok("{\"layers\": [{\"type\": \"relu\"},\n {\"type\": \"conv\", \"kernels\": "
                 "{\"count\": 2, \"size\": 3}}, {\"type\": \"dense\", \"units\": 2}]}");
    if (p) {
        CHECK_EQ_INT(cnf_pipeline_check_weights(p, &E), CNF_E_USAGE);
        CHECK(strcmp(E.msg, "layer 2 (conv) has no weights: train it first or give "
                            "\"weights\"") == 0);
    }
    cnf_pipeline_free(p);
    p = parse_ok("{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"box\"]}, {\"type\": "
                 "\"dense\", \"units\": 1, \"weights\": [[1]]}]}");
    if (p)
        CHECK_EQ_INT(cnf_pipeline_check_weights(p, &E), CNF_OK);
    cnf_pipeline_free(p);
}


/* Parse text (kernel files in DIR_) with a memory limit for its weights. */
static cnf_status parse_limited(const char *text, uint64_t max_memory, cnf_pipeline **p)
{
    memset(&E, 0, sizeof E);
    *p = NULL;
    return cnf_pipeline_parse_ex(text, strlen(text), "p.json", DIR_, max_memory, p, &E);
}

/* The 1-based column of the n-th (from 1) occurrence of `what` in its line of text. */
static int column_of(const char *text, const char *what, int n, int *line)
{
    const char *at = text, *start = text;
    for (int i = 0; i < n; i++)
        at = strstr(i ? at + 1 : at, what);
    *line = 1;
    for (const char *c = text; c < at; c++)
        if (*c == '\n') {
            (*line)++;
            start = c + 1;
        }
    return (int)(at - start) + 1;
}

/* The limit error: TOO_BIG (memory), at the n-th `what`, the message exactly msg. */
static void expect_over(const char *text, uint64_t max_memory, const char *what, int n,
                        const char *msg)
{
    cnf_pipeline *p = NULL;
    int line = 0, col = column_of(text, what, n, &line);
    CHECK_EQ_INT(parse_limited(text, max_memory, &p), CNF_E_TOO_BIG);
    CHECK(p == NULL);
    CHECK_EQ_INT(E.limit, CNF_LIMIT_MEMORY);
    CHECK(strcmp(E.where, "p.json") == 0);
    CHECK_EQ_INT(E.line, line);
    CHECK_EQ_INT(E.col, col);
    if (strcmp(E.msg, msg) != 0)
        fprintf(stderr, "got  %s\nwant %s\n", E.msg, msg);
    CHECK(strcmp(E.msg, msg) == 0);
}

static void expect_fits(const char *text, uint64_t max_memory)
{
    cnf_pipeline *p = NULL;
    CHECK_EQ_INT(parse_limited(text, max_memory, &p), CNF_OK);
    CHECK(p != NULL);
    cnf_pipeline_free(p);
}

/* "box:255" is 7 bytes of text and half a MiB of weights: the built-in specs of the whole
 * document are counted before any kernel is made, and a document over the limit fails at
 * the spec where the count passes it. */
static void built_in_specs_are_counted_against_the_limit_before_any_is_made(void)
{
    const uint64_t box = sizeof(cnf_kernel) + 255 * 255 * sizeof(double);
    const uint64_t sobel = 3 * sizeof(cnf_kernel) + 2 * 9 * sizeof(double);
    const uint64_t all = 4 * box + sobel;
    const char *text = "{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"box:255\", \"box:255\"]},\n"
                       "  {\"type\": \"conv\", \"kernels\": [\"sobel\", \"box:255\", \"box:255\"]}]}";
    char msg[200];
    expect_fits(text, all);
    expect_fits(text, 0); /* no limit */
    /* One byte short: the last spec passes the limit. */
    snprintf(msg, sizeof msg, "the pipeline's weights pass the memory limit of %.1f MiB here: "
             "its built-in kernels alone take %.1f MiB", (double)(all - 1) / 1048576.0,
             (double)all / 1048576.0);
    expect_over(text, all - 1, "\"box:255\"", 4, msg);
    /* Room for three boxes and not the sobel pair besides: the fourth box passes it. */
    snprintf(msg, sizeof msg, "the pipeline's weights pass the memory limit of %.1f MiB here: "
             "its built-in kernels alone take %.1f MiB", (double)(3 * box + 100) / 1048576.0,
             (double)all / 1048576.0);
    expect_over(text, 3 * box + 100, "\"box:255\"", 3, msg);
}

/* 64 layers of 1024 x "box:255": 640 KB of text for 32 GiB of weights.  The default limit of
 * cnf_pipeline_parse (2 GiB) refuses it having made nothing. */
static void the_default_limit_refuses_a_document_of_specs_worth_gigabytes(void)
{
    cnf_buf b = {0};
    cnf_pipeline *p = NULL;
    char msg[200];
    cnf__buf_put(&b, "{\"layers\": [", strlen("{\"layers\": ["));
    for (int l = 0; l < CNF_MAX_LAYERS; l++) {
        const char *head = l ? ",\n{\"type\": \"conv\", \"kernels\": ["
                             : "\n{\"type\": \"conv\", \"kernels\": [";
        cnf__buf_put(&b, head, strlen(head));
        for (int k = 0; k < CNF_MAX_PIPELINE_KERNELS; k++)
            cnf__buf_put(&b, k ? ", \"box:255\"" : "\"box:255\"", strlen(", \"box:255\"") - (k ? 0 : 2));
        cnf__buf_put(&b, "]}", 2);
    }
    cnf__buf_put(&b, "]}", 3); /* with the NUL */
    CHECK(!b.failed);
    memset(&E, 0, sizeof E);
    CHECK_EQ_INT(cnf_pipeline_parse((const char *)b.data, b.len - 1, "p.json", NULL, &p, &E),
                 CNF_E_TOO_BIG);
    CHECK(p == NULL);
    CHECK_EQ_INT(E.limit, CNF_LIMIT_MEMORY);
    /* 2 GiB / (520 KB a kernel): the 4126th spec, the 30th of the fifth layer (line 6). */
    CHECK_EQ_INT(E.line, (int)(CNF_DEFAULT_MAX_MEMORY /
                               (sizeof(cnf_kernel) + 255 * 255 * sizeof(double)) /
                               CNF_MAX_PIPELINE_KERNELS) + 2);
    snprintf(msg, sizeof msg, "its built-in kernels alone take %.1f MiB",
             (double)CNF_MAX_LAYERS * CNF_MAX_PIPELINE_KERNELS *
                 (double)(sizeof(cnf_kernel) + 255 * 255 * sizeof(double)) / 1048576.0);
    CHECK(strstr(E.msg, msg) != NULL);
    CHECK(strstr(E.msg, "the pipeline's weights pass the memory limit of 2048.0 MiB here") ==
          E.msg);
    free(b.data);
}

/* What is not a built-in spec is counted as it is made: a kernel object, a kernel file each
 * time it is named, .npy conv weights (with their raw data while it is read) before the data
 * is read, dense weights and biases as float32. */
static void kernels_files_and_weight_files_are_counted_as_they_are_made(void)
{
    const uint64_t k22 = sizeof(cnf_kernel) + 4 * sizeof(double);
    const uint64_t k33 = sizeof(cnf_kernel) + 9 * sizeof(double);
    const uint64_t npy = 2 * sizeof(cnf_kernel) + 18 * sizeof(double); /* (2, 1, 3, 3) */
    const char *objects = "{\"layers\": [{\"type\": \"conv\", \"kernels\": [\n"
                          "  {\"weights\": [[1, 2], [3, 4]]}, {\"weights\": [[1, 2], [3, 4]]}]}]}";
    const char *files = "{\"layers\": [{\"type\": \"conv\",\n"
                        "  \"kernels\": [\"k3.json\", \"k3.json\", \"k3.json\"]}]}";
    const char *weights = "{\"layers\": [{\"type\": \"conv\", \"weights\": \"w.npy\"}]}";
    const char *dense = "{\"layers\": [{\"type\": \"flatten\"},\n"
                        "  {\"type\": \"dense\", \"units\": 2, \"weights\": [[1, 2, 3], [4, 5, 6]]}]}";
    const size_t dims[4] = {2, 1, 3, 3};
    float w[18];
    char msg[200];
    for (int i = 0; i < 18; i++)
        w[i] = (float)i;
    write_file("k3.json", "{\"weights\": [[1, 2, 3], [4, 5, 6], [7, 8, 9]]}");
    t_write_f32(in_dir("w.npy"), dims, 4, w);

    expect_fits(objects, 2 * k22);
    snprintf(msg, sizeof msg, "the pipeline's weights pass the memory limit of %.1f MiB here: "
             "with this one they take %.1f MiB", (double)(2 * k22 - 1) / 1048576.0,
             (double)(2 * k22) / 1048576.0);
    expect_over(objects, 2 * k22 - 1, "{\"weights\"", 2, msg);

    expect_fits(files, 3 * k33);
    snprintf(msg, sizeof msg, "the pipeline's weights pass the memory limit of %.1f MiB here: "
             "with this one they take %.1f MiB", (double)(3 * k33 - 1) / 1048576.0,
             (double)(3 * k33) / 1048576.0);
    expect_over(files, 3 * k33 - 1, "\"k3.json\"", 3, msg);

    /* the kernels as doubles, and the float32 data while it is read */
    expect_fits(weights, npy + 18 * sizeof(float));
    snprintf(msg, sizeof msg, "the pipeline's weights pass the memory limit of %.1f MiB here: "
             "with this one they take %.1f MiB", (double)(npy + 71) / 1048576.0,
             (double)(npy + 72) / 1048576.0);
    expect_over(weights, npy + 18 * sizeof(float) - 1, "\"w.npy\"", 1, msg);

    /* 6 weights and 2 biases as float32 */
    expect_fits(dense, 8 * sizeof(float));
    snprintf(msg, sizeof msg, "the pipeline's weights pass the memory limit of %.1f MiB here: "
             "with this one they take %.1f MiB", (double)31 / 1048576.0, (double)32 / 1048576.0);
    expect_over(dense, 8 * sizeof(float) - 1, "[[1, 2, 3]", 1, msg);
    remove_file("k3.json");
    remove_file("w.npy");
}

int main(void)
{
    snprintf(DIR_, sizeof DIR_, "/tmp/cnf_test_pipeline.XXXXXX");
    if (!mkdtemp(DIR_))
        return 1;
    RUN(a_conv_layer_takes_the_pipeline_defaults);
    RUN(every_conv_key_reaches_the_layer);
    RUN(every_border_and_channels_word_is_read_from_the_vocabulary);
    RUN(activation_layers_set_their_activation_and_slope);
    RUN(pool_layers_take_size_stride_padding_and_ceil);
    RUN(a_combine_layer_needs_one_of_its_modes);
    RUN(unknown_and_duplicate_keys_are_refused_with_their_position);
    RUN(values_of_the_wrong_type_name_their_key);
    RUN(conv_kernels_must_be_a_non_empty_list_of_specs_or_objects);
    RUN(composite_kernels_are_one_map_of_a_bank);
    RUN(layers_and_the_pipeline_itself_are_checked);
    RUN(layers_and_kernels_per_layer_are_limited);
    RUN(kernel_files_are_found_beside_the_pipeline_first);
    RUN(inline_specs_and_kernel_objects_make_kernels);
    RUN(an_inline_spec_over_the_side_limit_keeps_its_limit);
    RUN(the_one_d_and_bare_matrix_shorthand_is_not_for_kernel_files_or_objects);
    RUN(flatten_softmax_and_affine_take_their_keys_and_defaults);
    RUN(a_dense_layer_reads_units_weights_bias_and_trainable);
    RUN(dense_errors_are_at_their_line_and_column);
    RUN(dense_weights_and_biases_come_from_npy_files);
    RUN(a_dense_layer_takes_at_most_two_to_the_24_weights);
    RUN(conv_kernels_may_be_given_by_shape_for_training);
    RUN(conv_weights_come_from_an_npy_file_of_shape_n_c_kh_kw);
    RUN(a_pipeline_conv_layer_takes_1024_kernels_of_depth_1024);
    RUN(classes_name_description_and_training_are_read);
    RUN(layers_without_weights_are_named_until_trained);
    RUN(built_in_specs_are_counted_against_the_limit_before_any_is_made);
    RUN(the_default_limit_refuses_a_document_of_specs_worth_gigabytes);
    RUN(kernels_files_and_weight_files_are_counted_as_they_are_made);
    rmdir(DIR_);
    return t_finish("test_pipeline");
}
