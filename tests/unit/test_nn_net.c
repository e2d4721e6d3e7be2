/* test_nn_net.c - the training engine's forward pass (cnf_net) against the streaming executor
 * on every layer type and geometry it has, and the learned layers against hand-computed values. */
#include "nn_test_util.h"

/* The executor's result of pipeline p on img (planar floats, malloc'd). */
static float *executor(const cnf_pipeline *p, const cnf_image *img, int *n_out)
{
    cnf_plan *plan = NULL;
    cnf_image out = {0};
    cnf_error e;
    float *v;
    if (cnf_plan_create_pipeline(p, img->width, img->height, img->channels, 0, NULL, &plan, &e) ||
        cnf_plan_run(plan, img, 2, &out, &e)) {
        fprintf(stderr, "executor: %s\n", e.msg);
        abort();
    }
    *n_out = out.width * out.height * out.channels;
    v = malloc(sizeof(float) * (size_t)*n_out);
    memcpy(v, out.data, sizeof(float) * (size_t)*n_out);
    cnf_image_free(&out);
    cnf_plan_free(plan);
    return v;
}

/* The net's result of p on img (malloc'd); its shape must be the plan's. */
static float *net_result(const cnf_pipeline *p, const cnf_image *img, int threads, int *n_out)
{
    cnf_net *net = NULL;
    cnf_error e;
    cnf_dataset d = {1, img->width, img->height, img->channels, NULL, img->data, NULL};
    float *v;
    if (cnf_net_create(p, img->width, img->height, img->channels, 0, &net, &e)) {
        fprintf(stderr, "net: %s\n", e.msg);
        abort();
    }
    *n_out = cnf_net_shape(net, NULL, NULL, NULL);
    v = malloc(sizeof(float) * (size_t)*n_out);
    CHECK_EQ_INT(cnf_net_forward(net, &d, 0, 1, threads, v, &e), CNF_OK);
    cnf_net_free(net);
    return v;
}

static cnf_image random_image(int w, int h, int c, uint64_t *s, int integers)
{
    cnf_image img = t_image(w, h, c, 0, NULL);
    for (int i = 0; i < w * h * c; i++)
        img.data[i] = integers ? (float)(int)(256 * t_rand(s)) : (float)(255 * t_rand(s));
    return img;
}

/* The net and the executor agree to float32 rounding: within 2e-6 of the
 * largest value of the result (sums of up to a few hundred terms in float32
 * against the executor's double sums). */
static int agrees(const char *layers, int w, int h, int c, uint64_t seed)
{
    cnf_pipeline *p = t_pipe(layers);
    cnf_image img = random_image(w, h, c, &seed, (int)(seed & 1));
    int ne = 0, nn = 0, ok = 1;
    float *a = executor(p, &img, &ne), *b = net_result(p, &img, 1, &nn);
    double big = 1;
    for (int i = 0; i < ne; i++)
        big = fabs(a[i]) > big ? fabs(a[i]) : big;
    if (ne != nn)
        ok = 0;
    for (int i = 0; ok && i < ne; i++)
        if (fabs((double)a[i] - b[i]) > 2e-6 * big) {
            fprintf(stderr, "%s on %dx%dx%d: value %d is %.9g, the executor's %.9g\n", layers, c,
                    h, w, i, b[i], a[i]);
            ok = 0;
        }
    free(a);
    free(b);
    cnf_image_free(&img);
    cnf_pipeline_free(p);
    return ok;
}

#define K3 "{\"weights\": [[0.5, -1.25, 2], [0.75, 3, -0.5], [1.5, -2, 0.25]]}"
#define K3B "{\"weights\": [[0.1, 0.2, -0.3], [0.4, -0.5, 0.6], [0.7, 0.8, -0.9]], \"bias\": 4}"
#define K24 "{\"weights\": [[1, -2, 3, 0.5], [-0.25, 2, 1, -1]]}"
#define K3D "{\"weights\": [[[1, 0.5], [-1, 2]], [[0.25, -0.5], [3, 1]], [[-2, 1], [0.5, 0.75]]]}"

static void conv_channels_sum_rgb_auto_gray_and_3d_agree(void)
{
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [" K3 ", " K3B "]}", 7, 6, 3, 1));
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [" K3 ", " K3B "], \"channels\": \"rgb\"}",
                 7, 6, 3, 2));
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [" K3 "], \"channels\": \"auto\"}", 5, 9, 3,
                 3));
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [" K3 ", " K24 "], \"channels\": \"gray\","
                 " \"padding\": \"same\"}", 8, 7, 3, 4));
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [" K3 "], \"channels\": \"gray\"}", 8, 7, 1,
                 5));
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [" K3D ", " K3D "], \"padding\": \"valid\"}",
                 6, 5, 3, 6));
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [" K3D "], \"channels\": \"auto\"}", 6, 5, 3,
                 7));
}

static void every_padding_and_border_agrees_even_wider_than_the_image(void)
{
    static const char *const borders[] = {"zero", "replicate", "reflect", "mirror", "wrap"};
    static const char *const pads[] = {"\"valid\"", "\"same\"", "1", "[2, 0]", "[0, 3]", "7",
                                       "[9, 6]"};
    char text[1024];
    int ok = 1;
    for (int b = 0; b < 5; b++)
        for (int p = 0; p < 7; p++) {
            snprintf(text, sizeof text,
                     "{\"type\": \"conv\", \"kernels\": [" K3 ", " K24 "], \"padding\": %s,"
                     " \"border\": \"%s\"}", pads[p], borders[b]);
            if (p != 1)
                /* a 3x3 and a 2x4 kernel give one size only under 'same' */
                snprintf(text, sizeof text,
                         "{\"type\": \"conv\", \"kernels\": [" K3 ", " K3B "], \"padding\": %s,"
                         " \"border\": \"%s\"}", pads[p], borders[b]);
            ok &= agrees(text, 4, 3, 2, (uint64_t)(10 + b * 7 + p));
            if (p != 0 && p != 3) /* these leave a 1-wide input too narrow */
                ok &= agrees(text, 1, 5, 1, (uint64_t)(50 + b * 7 + p));
        }
    CHECK(ok);
}

static void stride_dilation_even_kernels_divisor_flip_and_bias_agree(void)
{
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [" K3 "], \"stride\": [2, 3], \"padding\": 1,"
                 " \"border\": \"reflect\"}", 11, 9, 1, 20));
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [" K3 ", " K3B "], \"dilation\": 2,"
                 " \"border\": \"mirror\"}", 9, 8, 2, 21));
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [" K24 "], \"stride\": 2, \"dilation\": 3,"
                 " \"padding\": \"same\", \"border\": \"wrap\"}", 10, 7, 1, 22));
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [{\"weights\": [[1, 2, 1], [2, 4, 3], [1, 2,"
                 " 1]], \"divisor\": 7, \"flip\": true, \"bias\": 0.5}], \"bias\": 1.25}", 6, 6,
                 1, 23));
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [" K3 ", " K3B "], \"bias\": [-3, 2.5]}", 5,
                 5, 3, 24));
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [\"gaussian:4\", \"box\"], \"padding\":"
                 " \"same\", \"border\": \"replicate\", \"channels\": \"rgb\"}", 9, 7, 3, 25));
}

static void activations_pools_and_combines_agree(void)
{
    static const char *const acts[] = {"{\"type\": \"relu\"}", "{\"type\": \"abs\"}",
                                       "{\"type\": \"leaky_relu\", \"slope\": 0.2}",
                                       "{\"type\": \"sigmoid\"}", "{\"type\": \"tanh\"}"};
    static const char *const pools[] = {
        "{\"type\": \"maxpool\"}", "{\"type\": \"minpool\", \"size\": 3, \"stride\": 2}",
        "{\"type\": \"avgpool\", \"size\": 3, \"stride\": 2, \"padding\": 1}",
        "{\"type\": \"avgpool\", \"size\": 2, \"ceil\": true}",
        "{\"type\": \"maxpool\", \"size\": 3, \"stride\": 2, \"padding\": 1, \"ceil\": true}",
        "{\"type\": \"minpool\", \"size\": 4, \"stride\": 3, \"padding\": 2, \"ceil\": true}"};
    static const char *const combines[] = {"magnitude", "max", "sum"};
    char text[1024];
    int ok = 1;
    for (int a = 0; a < 5; a++) {
        snprintf(text, sizeof text, "{\"type\": \"conv\", \"kernels\": [" K3B "]}, %s", acts[a]);
        ok &= agrees(text, 6, 5, 1, (uint64_t)(30 + a));
        snprintf(text, sizeof text, "{\"type\": \"conv\", \"kernels\": [{\"weights\": [[0.01,"
                 " -0.02], [0.005, 0.01]]}]}, %s", acts[a]);
        ok &= agrees(text, 6, 5, 1, (uint64_t)(40 + a));
    }
    for (int q = 0; q < 6; q++) {
        snprintf(text, sizeof text, "{\"type\": \"conv\", \"kernels\": [" K3 "]}, %s", pools[q]);
        ok &= agrees(text, 7, 9, 1, (uint64_t)(60 + q));
        ok &= agrees(pools[q], 8, 5, 3, (uint64_t)(70 + q));
    }
    for (int m = 0; m < 3; m++) {
        snprintf(text, sizeof text, "{\"type\": \"conv\", \"kernels\": [" K3 ", " K3B ", " K24
                 "], \"padding\": \"same\", \"channels\": \"rgb\"}, {\"type\": \"combine\","
                 " \"mode\": \"%s\"}", combines[m]);
        ok &= agrees(text, 6, 7, 3, (uint64_t)(80 + m));
        snprintf(text, sizeof text, "{\"type\": \"conv\", \"kernels\": [\"sobel\", " K3 "],"
                 " \"padding\": \"same\"}, {\"type\": \"combine\", \"mode\": \"%s\"}",
                 combines[m]);
        ok &= agrees(text, 6, 7, 1, (uint64_t)(90 + m));
        snprintf(text, sizeof text, "{\"type\": \"conv\", \"kernels\": [\"box\", \"scharr\","
                 " " K3 "], \"channels\": \"rgb\", \"border\": \"wrap\"}, {\"type\":"
                 " \"combine\", \"mode\": \"%s\"}", combines[m]);
        ok &= agrees(text, 5, 6, 3, (uint64_t)(95 + m));
    }
    CHECK(ok);
}

static void a_deep_pipeline_agrees(void)
{
    CHECK(agrees("{\"type\": \"conv\", \"kernels\": [" K3 ", " K3B ", " K24 "], \"padding\":"
                 " \"same\", \"border\": \"reflect\", \"channels\": \"gray\"}, {\"type\": \"tanh\"},"
                 " {\"type\": \"maxpool\", \"size\": 2, \"ceil\": true}, {\"type\": \"conv\","
                 " \"kernels\": [" K3 ", " K3B "], \"stride\": 2}, {\"type\": \"leaky_relu\"},"
                 " {\"type\": \"combine\", \"mode\": \"max\"}, {\"type\": \"avgpool\", \"size\": 2,"
                 " \"padding\": 1}", 23, 19, 3, 100));
}

/* conv 1x1 (x2) -> flatten -> dense -> softmax and affine, by hand in double. */
static void flatten_dense_softmax_and_affine_give_hand_computed_values(void)
{
    cnf_pipeline *p = t_pipe("{\"type\": \"conv\", \"kernels\": [\"[[2]]\", \"[[-1]]\"], \"bias\": [1, 0.5]}");
    float x[6] = {1, 2, 3, 4, 5, 6}, w[3 * 12], b[3] = {0.5f, -0.25f, 0.125f}, out[3];
    double h[12], z[3], m, s = 0;
    cnf_net *net = NULL;
    cnf_error e;
    cnf_dataset d = {1, 3, 2, 1, NULL, x, NULL};
    for (int i = 0; i < 36; i++)
        w[i] = (float)((i * 7 % 11) - 5) * 0.125f;
    t_affine(p, 0, 0.5, -1);
    t_flatten(p);
    t_dense(p, 3, 12, w, b);
    t_softmax(p);
    for (int i = 0; i < 6; i++) {
        double a = 0.5 * x[i] - 1;
        h[i] = 2 * a + 1;      /* map 0, (c, y, x) order */
        h[6 + i] = -a + 0.5;   /* map 1 */
    }
    for (int u = 0; u < 3; u++) {
        z[u] = b[u];
        for (int i = 0; i < 12; i++)
            z[u] += (double)w[u * 12 + i] * h[i];
    }
    m = z[0] > z[1] ? z[0] : z[1];
    m = m > z[2] ? m : z[2];
    for (int u = 0; u < 3; u++)
        s += exp(z[u] - m);
    CHECK_EQ_INT(cnf_net_create(p, 3, 2, 1, 0, &net, &e), CNF_OK);
    CHECK_EQ_INT(cnf_net_shape(net, NULL, NULL, NULL), 3);
    CHECK_EQ_INT(cnf_net_forward(net, &d, 0, 1, 1, out, &e), CNF_OK);
    for (int u = 0; u < 3; u++)
        CHECK(fabs(out[u] - exp(z[u] - m) / s) < 1e-7);
    cnf_net_free(net);
    cnf_pipeline_free(p);
}

/* Softmax over the channels of each position of a C x H x W block. */
static void softmax_is_across_the_channels_at_each_position(void)
{
    cnf_pipeline *p = t_pipe("{\"type\": \"conv\", \"kernels\": [\"[[1]]\", \"[[2]]\", \"[[-1]]\"]}");
    float x[2] = {0.5f, -1}, out[6];
    cnf_net *net = NULL;
    cnf_error e;
    cnf_dataset d = {1, 2, 1, 1, NULL, x, NULL};
    int c, h, w;
    t_softmax(p);
    CHECK_EQ_INT(cnf_net_create(p, 2, 1, 1, 0, &net, &e), CNF_OK);
    CHECK_EQ_INT(cnf_net_shape(net, &c, &h, &w), 6);
    CHECK(c == 3 && h == 1 && w == 2);
    CHECK_EQ_INT(cnf_net_forward(net, &d, 0, 1, 1, out, &e), CNF_OK);
    for (int x_ = 0; x_ < 2; x_++) {
        double v[3] = {x[x_], 2.0 * x[x_], -x[x_]}, s = exp(v[0]) + exp(v[1]) + exp(v[2]);
        for (int k = 0; k < 3; k++)
            CHECK(fabs(out[k * 2 + x_] - exp(v[k]) / s) < 1e-7);
    }
    cnf_net_free(net);
    cnf_pipeline_free(p);
}

static void forward_gives_the_same_values_for_any_thread_count(void)
{
    cnf_pipeline *p = t_pipe("{\"type\": \"conv\", \"kernels\": [" K3 ", " K3B "]}, {\"type\":"
                             " \"relu\"}, {\"type\": \"maxpool\"}");
    cnf_net *net = NULL;
    cnf_error e;
    uint64_t s = 9;
    int n = 13, per;
    float *data = malloc(sizeof(float) * 13 * 2 * 8 * 8), *a, *b;
    cnf_dataset d = {13, 8, 8, 2, NULL, data, NULL};
    for (int i = 0; i < 13 * 2 * 64; i++)
        data[i] = (float)t_rand(&s);
    CHECK_EQ_INT(cnf_net_create(p, 8, 8, 2, 0, &net, &e), CNF_OK);
    per = cnf_net_shape(net, NULL, NULL, NULL);
    a = malloc(sizeof(float) * (size_t)(n * per));
    b = malloc(sizeof(float) * (size_t)(n * per));
    CHECK_EQ_INT(cnf_net_forward(net, &d, 0, n, 1, a, &e), CNF_OK);
    for (int t = 2; t <= 5; t++) {
        memset(b, 0, sizeof(float) * (size_t)(n * per));
        CHECK_EQ_INT(cnf_net_forward(net, &d, 0, n, t, b, &e), CNF_OK);
        CHECK(memcmp(a, b, sizeof(float) * (size_t)(n * per)) == 0);
    }
    CHECK_EQ_INT(cnf_net_forward(net, &d, 3, 4, 2, b, &e), CNF_OK);
    CHECK(memcmp(a + 3 * per, b, sizeof(float) * (size_t)(4 * per)) == 0);
    CHECK_EQ_INT(cnf_net_forward(net, &d, 10, 4, 2, b, &e), CNF_E_USAGE);
    d.channels = 1;
    CHECK_EQ_INT(cnf_net_forward(net, &d, 0, 1, 1, b, &e), CNF_E_USAGE);
    cnf_net_free(net);
    cnf_pipeline_free(p);
    free(a);
    free(b);
    free(data);
}

static void a_net_refuses_missing_weights_naming_the_layer(void)
{
    cnf_pipeline *p = t_pipe("{\"type\": \"conv\", \"kernels\": [" K3 "]}");
    cnf_net *net = NULL;
    cnf_error e;
    t_flatten(p);
    t_dense(p, 4, 0, NULL, NULL);
    CHECK_EQ_INT(cnf_net_create(p, 5, 5, 1, 0, &net, &e), CNF_E_USAGE);
    CHECK(net == NULL);
    CHECK(strcmp(e.msg, "layer 3 (dense) has no weights: train it first or give \"weights\"") == 0);
    CHECK(strcmp(e.where, "net.json") == 0 && e.line == 0);
    t_shape_only(p, 0, 2, 3, 3);
    CHECK_EQ_INT(cnf_net_create(p, 5, 5, 1, 0, &net, &e), CNF_E_USAGE);
    CHECK(strcmp(e.msg, "layer 1 (conv) has no weights: train it first or give \"weights\"") == 0);
    cnf_pipeline_free(p);
}

static void a_net_names_the_layer_that_does_not_fit_and_checks_its_memory(void)
{
    cnf_pipeline *p = t_pipe("{\"type\": \"conv\", \"kernels\": [" K3D "]}");
    cnf_net *net = NULL;
    cnf_error e;
    float w[8] = {0};
    CHECK_EQ_INT(cnf_net_create(p, 5, 5, 1, 0, &net, &e), CNF_E_USAGE);
    CHECK(strstr(e.msg, "layer 1 (conv): kernel 'k0' has depth 3 but the input has 1 channel") ==
          e.msg);
    CHECK(e.line == 1 && e.col == 13);
    cnf_pipeline_free(p);
    p = t_pipe("{\"type\": \"maxpool\"}");
    t_dense(p, 2, 4, w, NULL);
    CHECK_EQ_INT(cnf_net_create(p, 4, 6, 1, 0, &net, &e), CNF_E_USAGE);
    CHECK_STR_CONTAINS(e.msg, "layer 2 (dense): its weights take 4 inputs, but its input has 6"
                              " values (1 x 3 x 2)");
    CHECK_EQ_INT(cnf_net_create(p, 4, 4, 1, 0, &net, &e), CNF_OK);
    CHECK(cnf_net_memory(net) > 0);
    cnf_net_free(net);
    CHECK_EQ_INT(cnf_net_create(p, 4, 4, 1, 16, &net, &e), CNF_E_TOO_BIG);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_MEMORY);
    CHECK_STR_CONTAINS(e.msg, "over the memory limit");
    cnf_pipeline_free(p);
}

int main(void)
{
    RUN(conv_channels_sum_rgb_auto_gray_and_3d_agree);
    RUN(every_padding_and_border_agrees_even_wider_than_the_image);
    RUN(stride_dilation_even_kernels_divisor_flip_and_bias_agree);
    RUN(activations_pools_and_combines_agree);
    RUN(a_deep_pipeline_agrees);
    RUN(flatten_dense_softmax_and_affine_give_hand_computed_values);
    RUN(softmax_is_across_the_channels_at_each_position);
    RUN(forward_gives_the_same_values_for_any_thread_count);
    RUN(a_net_refuses_missing_weights_naming_the_layer);
    RUN(a_net_names_the_layer_that_does_not_fit_and_checks_its_memory);
    return t_finish("test_nn_net");
}
