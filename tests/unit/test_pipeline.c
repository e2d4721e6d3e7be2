/* test_pipeline.c - pipelines: every layer type, key and default; errors at line:col; limits. */
#include "test_util.h"

#include "../../src/lib/internal.h"

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
    rmdir(DIR_);
    return t_finish("test_pipeline");
}
