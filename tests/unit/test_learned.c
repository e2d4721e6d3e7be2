/* test_learned.c - the learned layers' stages: flatten, dense, softmax, affine by hand;
 * streamed equals whole for any thread count; --explain and stage info with parameter counts;
 * LeNet-5 (400 -> 120 -> 84 -> 10) against a float64 reference. */
#include "test_util.h"
#include "test_npy.h"

#include "../../src/lib/plan.h"

#include <stdint.h>
#include <unistd.h>

static char DIR_[64]; /* a temporary folder for weight files */
static cnf_error E;

static const int THREADS[] = {1, 2, 3};
#define N_THREADS ((int)(sizeof THREADS / sizeof THREADS[0]))

#include "test_stream.h"

/* ----------------------------------------------------------------- helpers */

static const char *in_dir(const char *name)
{
    static char path[200];
    snprintf(path, sizeof path, "%s/%s", DIR_, name);
    return path;
}

static cnf_pipeline *pipeline(const char *text)
{
    cnf_pipeline *p = NULL;
    memset(&E, 0, sizeof E);
    if (cnf_pipeline_parse(text, strlen(text), "p.json", DIR_, &p, &E) != CNF_OK)
        fprintf(stderr, "%s:%d:%d: %s\n", E.where, E.line, E.col, E.msg);
    CHECK(p != NULL);
    return p;
}

/* The plan of pipeline `text` for an input of w x h x c (NULL on failure, reported). */
static cnf_plan *plan_of(const char *text, int w, int h, int c)
{
    cnf_pipeline *p = pipeline(text);
    cnf_plan *plan = NULL;
    if (p && cnf_plan_create_pipeline(p, w, h, c, 0, NULL, &plan, &E) != CNF_OK)
        fprintf(stderr, "plan: %s: %s\n", E.where, E.msg);
    cnf_pipeline_free(p);
    CHECK(plan != NULL);
    return plan;
}

/* Run pipeline `text` on `in` (one thread); out gets the result. */
static int run(const char *text, const cnf_image *in, cnf_image *out)
{
    cnf_plan *plan = plan_of(text, in->width, in->height, in->channels);
    int ok = plan && cnf_plan_run(plan, in, 1, out, &E) == CNF_OK;
    if (plan)
        CHECK(all_runs_match(plan, in));
    cnf_plan_free(plan);
    return ok;
}

/* The --explain text of a plan (malloc'd). */
static char *explain(const cnf_plan *p)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        abort();
    cnf_plan_explain(p, f);
    fclose(f);
    return buf;
}

static cnf_image random_image(int w, int h, int c, double scale)
{
    cnf_image img = t_image(w, h, c, 0, NULL);
    for (size_t i = 0; i < (size_t)w * h * c; i++)
        img.data[i] = (float)((double)(rnd() % 100001) / 100000 * scale);
    return img;
}

/* ------------------------------------------------------------ by hand */

static void flatten_orders_the_values_channel_row_column(void)
{
    const float v[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}; /* 3 planes of 2 x 2 */
    cnf_image in = t_image(2, 2, 3, 0, v), out = {0};
    if (run("{\"layers\": [{\"type\": \"flatten\"}]}", &in, &out)) {
        CHECK(out.width == 1 && out.height == 1 && out.channels == 12 && !out.has_alpha);
        CHECK(memcmp(out.data, v, sizeof v) == 0); /* planar (c, y, x) is already that order */
    }
    cnf_image_free(&out);
    cnf_image_free(&in);
}

static void dense_is_w_times_x_plus_b_over_the_flattened_input(void)
{
    /* 2 planes of 1 x 2: x = (1, 2, 3, 4) in (c, y, x) order. */
    const float v[4] = {1, 2, 3, 4};
    cnf_image in = t_image(2, 1, 2, 0, v), out = {0};
    const char *with_flatten = "{\"layers\": [{\"type\": \"flatten\"}, {\"type\": \"dense\", "
                               "\"units\": 3, \"weights\": [[1, 0, 0, 0], [0.5, -1, 2, 0.25], "
                               "[0.1, 0.2, 0.3, 0.4]], \"bias\": [0, 10, -0.5]}]}";
    const char *without = "{\"layers\": [{\"type\": \"dense\", \"units\": 3, \"weights\": [[1, 0, "
                          "0, 0], [0.5, -1, 2, 0.25], [0.1, 0.2, 0.3, 0.4]], \"bias\": [0, 10, "
                          "-0.5]}]}";
    cnf_image out2 = {0};
    if (run(with_flatten, &in, &out)) {
        CHECK(out.width == 1 && out.height == 1 && out.channels == 3);
        CHECK(out.data[0] == 1);
        CHECK(out.data[1] == 0.5f - 2 + 6 + 1 + 10);
        /* In double from the float32 weights, in the stage's order (four running sums added
         * pairwise, then the bias). */
        CHECK(out.data[2] == (float)(((double)0.1f + (double)0.2f * 2) +
                                         ((double)0.3f * 3 + (double)0.4f * 4) - 0.5));
    }
    /* Any input shape is flattened first: the same values without the flatten layer. */
    if (run(without, &in, &out2))
        CHECK(memcmp(out.data, out2.data, 3 * sizeof(float)) == 0);
    cnf_image_free(&out2);
    /* No bias term. */
    if (run("{\"layers\": [{\"type\": \"dense\", \"units\": 1, \"weights\": [[1, 1, 1, 1]], "
            "\"bias\": false}]}",
            &in, &out2))
        CHECK(out2.channels == 1 && out2.data[0] == 10);
    cnf_image_free(&out2);
    cnf_image_free(&out);
    cnf_image_free(&in);
}

static void softmax_normalises_the_channels_at_each_position(void)
{
    /* 3 channels of 2 x 1: positions (1, 2, 3) and (1000, 1001, -1000). */
    const float v[6] = {1, 1000, 2, 1001, 3, -1000};
    cnf_image in = t_image(2, 1, 3, 0, v), out = {0};
    if (run("{\"layers\": [{\"type\": \"softmax\"}]}", &in, &out)) {
        double s = exp(-2.0) + exp(-1.0) + 1, big = exp(-1.0) + 1 + exp(-2001.0);
        CHECK(out.width == 2 && out.height == 1 && out.channels == 3);
        CHECK(out.data[0] == (float)(exp(-2.0) / s));
        CHECK(out.data[2] == (float)(exp(-1.0) / s));
        CHECK(out.data[4] == (float)(1 / s));
        /* Large values do not overflow: the maximum is subtracted first. */
        CHECK(out.data[1] == (float)(exp(-1.0) / big));
        CHECK(out.data[3] == (float)(1 / big));
        CHECK(out.data[5] == 0);
        CHECK(fabs((double)out.data[0] + out.data[2] + out.data[4] - 1) < 1e-6);
    }
    cnf_image_free(&out);
    cnf_image_free(&in);
}

static void affine_scales_and_shifts_every_value(void)
{
    const float v[4] = {0, 255, -2, 0.5f};
    cnf_image in = t_image(2, 2, 1, 0, v), out = {0};
    if (run("{\"layers\": [{\"type\": \"affine\", \"scale\": 0.00392156862745098, \"shift\": "
            "-0.5}]}",
            &in, &out)) {
        CHECK(out.data[0] == -0.5f);
        CHECK(out.data[1] == (float)(0.00392156862745098 * 255 - 0.5));
        CHECK(out.data[2] == (float)(0.00392156862745098 * -2 - 0.5));
        CHECK(out.data[3] == (float)(0.00392156862745098 * 0.5 - 0.5));
    }
    cnf_image_free(&out);
    if (run("{\"layers\": [{\"type\": \"affine\"}]}", &in, &out))
        CHECK(memcmp(out.data, v, sizeof v) == 0);
    cnf_image_free(&out);
    cnf_image_free(&in);
}

/* Input alpha is dropped by the pipeline before the learned stages see it. */
static void the_learned_stages_never_see_alpha(void)
{
    const float v[8] = {1, 2, 3, 4, 255, 255, 0, 0}; /* gray 2 x 2 and its alpha */
    cnf_image in = t_image(2, 2, 2, 1, v), out = {0};
    cnf_pipeline *pl = pipeline("{\"layers\": [{\"type\": \"dense\", \"units\": 1, \"weights\": "
                                "[[1, 1, 1, 1]]}]}");
    cnf_plan *p = NULL;
    CHECK(pl && cnf_plan_create_pipeline(pl, 2, 2, 2, 1, NULL, &p, &E) == CNF_OK);
    if (p && cnf_plan_run(p, &in, 2, &out, &E) == CNF_OK)
        CHECK(out.channels == 1 && !out.has_alpha && out.data[0] == 10);
    if (p)
        CHECK(all_runs_match(p, &in));
    cnf_pipeline_free(pl);
    cnf_plan_free(p);
    cnf_image_free(&out);
    cnf_image_free(&in);
}

/* ------------------------------------------------------------ planning */

static void a_dense_layer_must_fit_its_input(void)
{
    cnf_pipeline *p = pipeline("{\"layers\": [{\"type\": \"relu\"},\n  {\"type\": \"dense\", "
                               "\"units\": 2, \"weights\": [[1, 2, 3], [4, 5, 6]]}]}");
    cnf_plan *plan = NULL;
    if (!p)
        return;
    CHECK_EQ_INT(cnf_plan_create_pipeline(p, 2, 2, 1, 0, NULL, &plan, &E), CNF_E_USAGE);
    CHECK(plan == NULL);
    CHECK(strcmp(E.msg, "layer 2 (dense): its weights take 3 inputs, the layer gets 4 (1 x 2 x "
                        "2)") == 0);
    CHECK(strcmp(E.where, "p.json") == 0 && E.subject == CNF_SUBJECT_FILE);
    CHECK(E.line == 2 && E.col == 3);
    CHECK_EQ_INT(cnf_plan_create_pipeline(p, 3, 1, 1, 0, NULL, &plan, &E), CNF_OK);
    cnf_plan_free(plan);
    cnf_pipeline_free(p);
}

/* --explain and cnf_stage_info: each new stage with its shapes and parameters. */
static void explain_shows_each_learned_stage_with_its_parameters(void)
{
    const float w[18] = {0};
    const size_t d[2] = {3, 6};
    cnf_plan *p;
    char *text;
    cnf_stage_info info;
    t_write_f32(in_dir("w.npy"), d, 2, w);
    p = plan_of("{\"layers\": [{\"type\": \"affine\", \"scale\": 0.5, \"shift\": 1},\n"
                " {\"type\": \"conv\", \"kernels\": [\"box:3\", \"box:3\"], \"bias\": false, "
                "\"padding\": \"valid\"},\n"
                " {\"type\": \"flatten\"},\n"
                " {\"type\": \"dense\", \"units\": 3, \"weights\": \"w.npy\"},\n"
                " {\"type\": \"dense\", \"units\": 2, \"weights\": [[1, 2, 3], [4, 5, 6]], "
                "\"bias\": false},\n"
                " {\"type\": \"softmax\"}]}",
                5, 3, 1);
    unlink(in_dir("w.npy"));
    if (!p)
        return;
    text = explain(p);
    CHECK_STR_CONTAINS(text, "1. affine: y = 0.5 x + 1\n    shape: 1 x 3 x 5 -> 1 x 3 x 5\n");
    CHECK_STR_CONTAINS(text, "shape: 1 x 3 x 5 -> 2 x 1 x 3, parameters: 18 (18 weights + 0 "
                             "biases)\n");
    CHECK_STR_CONTAINS(text, "3. flatten: 2 x 1 x 3 -> 6 values in (c, y, x) order\n"
                             "    shape: 2 x 1 x 3 -> 6 x 1 x 1\n");
    CHECK_STR_CONTAINS(text, "4. dense: 3 units over 6 inputs, y = W x + b\n"
                             "    shape: 6 x 1 x 1 -> 3 x 1 x 1, parameters: 21 (18 weights + 3 "
                             "biases)\n");
    CHECK_STR_CONTAINS(text, "5. dense: 2 units over 3 inputs, y = W x (no bias)\n"
                             "    shape: 3 x 1 x 1 -> 2 x 1 x 1, parameters: 6 (6 weights + 0 "
                             "biases)\n");
    CHECK_STR_CONTAINS(text, "6. softmax: over the 2 channels at each position, exp(v - max) / "
                             "sum\n    shape: 2 x 1 x 1 -> 2 x 1 x 1\n");
    CHECK_STR_CONTAINS(text, "parameters: 45 (42 weights + 3 biases)\n");
    free(text);
    CHECK_EQ_INT(cnf_plan_n_stages(p), 6);
    CHECK_EQ_INT(cnf_plan_stage_info(p, 3, &info, &E), CNF_OK);
    CHECK(strcmp(info.kind, "dense") == 0 && info.weights == 18 && info.biases == 3);
    CHECK(info.in_channels == 6 && info.in_width == 1 && info.out_channels == 3);
    CHECK(strcmp(info.path, "") == 0);
    CHECK_EQ_INT(cnf_plan_stage_info(p, 2, &info, &E), CNF_OK);
    CHECK(strcmp(info.kind, "flatten") == 0 && info.weights == 0 && info.in_channels == 2 &&
          info.in_height == 1 && info.in_width == 3 && info.out_channels == 6);
    CHECK_EQ_INT(cnf_plan_stage_info(p, 1, &info, &E), CNF_OK);
    CHECK(strcmp(info.kind, "conv") == 0 && info.weights == 18 && info.biases == 0);
    CHECK_EQ_INT(cnf_plan_stage_info(p, 0, &info, &E), CNF_OK);
    CHECK(strcmp(info.kind, "affine") == 0);
    CHECK_EQ_INT(cnf_plan_stage_info(p, 5, &info, &E), CNF_OK);
    CHECK(strcmp(info.kind, "softmax") == 0 && info.out_channels == 2);
    cnf_plan_free(p);
}

/* A dense layer's weights count against the memory limit. */
static void the_memory_estimate_counts_dense_weights(void)
{
    static float w[500 * 800];
    const size_t d[2] = {500, 800};
    const char *text = "{\"layers\": [{\"type\": \"dense\", \"units\": 500, \"weights\": "
                       "\"w.npy\"}]}";
    cnf_pipeline *p;
    cnf_plan *plan = NULL;
    cnf_plan_limits lim = {0, 0, 0, 0};
    uint64_t need;
    t_write_f32(in_dir("w.npy"), d, 2, w);
    p = pipeline(text);
    unlink(in_dir("w.npy"));
    if (!p)
        return;
    CHECK_EQ_INT(cnf_plan_create_pipeline(p, 40, 20, 1, 0, NULL, &plan, &E), CNF_OK);
    need = plan ? cnf_plan_memory(plan) : 0;
    /* The weights and biases (float32), the output's row tables, the input held whole. */
    CHECK(need >= (500 * 800 + 500) * 4 + 500 * 3 * sizeof(float *) + 40 * 20 * 4);
    cnf_plan_free(plan);
    lim.max_memory = need;
    CHECK_EQ_INT(cnf_plan_create_pipeline(p, 40, 20, 1, 0, &lim, &plan, &E), CNF_OK);
    cnf_plan_free(plan);
    lim.max_memory = need - 1;
    CHECK_EQ_INT(cnf_plan_create_pipeline(p, 40, 20, 1, 0, &lim, &plan, &E), CNF_E_TOO_BIG);
    CHECK_EQ_INT(E.limit, CNF_LIMIT_MEMORY);
    CHECK(plan == NULL);
    cnf_pipeline_free(p);
}

/* A pipeline conv layer of more than 64 kernels plans and runs (a -k bank stays at 64). */
static void a_pipeline_conv_layer_runs_more_than_64_kernels(void)
{
    char *text = malloc(200 + 100 * 12);
    size_t o = (size_t)sprintf(text, "{\"layers\": [{\"type\": \"conv\", \"kernels\": [");
    cnf_image in = random_image(9, 7, 1, 255), out = {0};
    for (int i = 0; i < 100; i++)
        o += (size_t)sprintf(text + o, "%s\"[[%d]]\"", i ? ", " : "", i);
    strcpy(text + o, "]}, {\"type\": \"maxpool\"}, {\"type\": \"flatten\"}]}");
    if (run(text, &in, &out)) {
        CHECK(out.channels == 100 * 3 * 4);
        /* map 99 is 99 x the input, max-pooled: its first value is the max of 4 pixels */
        CHECK(out.data[99 * 12] == 99 * fmaxf(fmaxf(in.data[0], in.data[1]),
                                              fmaxf(in.data[9], in.data[10])));
    }
    cnf_image_free(&out);
    cnf_image_free(&in);
    free(text);
}

/* ------------------------------------------------------------- LeNet-5 */

/* LeNet-5's weights, drawn uniform in +-1/sqrt(fan_in) as PyTorch initialises them. */
static float c1w[6][1][5][5], c1b[6], c2w[16][6][5][5], c2b[16];
static float d1w[120][400], d1b[120], d2w[84][120], d2b[84], d3w[10][84], d3b[10];

static void draw(float *v, size_t n, int fan_in)
{
    double r = 1 / sqrt((double)fan_in);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(((double)(rnd() % 2000001) / 1000000 - 1) * r);
}

static void lenet_files(void)
{
    draw(&c1w[0][0][0][0], sizeof c1w / 4, 25);
    draw(c1b, 6, 25);
    draw(&c2w[0][0][0][0], sizeof c2w / 4, 150);
    draw(c2b, 16, 150);
    draw(&d1w[0][0], sizeof d1w / 4, 400);
    draw(d1b, 120, 400);
    draw(&d2w[0][0], sizeof d2w / 4, 120);
    draw(d2b, 84, 120);
    draw(&d3w[0][0], sizeof d3w / 4, 84);
    draw(d3b, 10, 84);
    t_write_f32(in_dir("c1.npy"), (const size_t[]){6, 1, 5, 5}, 4, &c1w[0][0][0][0]);
    t_write_f32(in_dir("c1b.npy"), (const size_t[]){6}, 1, c1b);
    t_write_f32(in_dir("c2.npy"), (const size_t[]){16, 6, 5, 5}, 4, &c2w[0][0][0][0]);
    t_write_f32(in_dir("c2b.npy"), (const size_t[]){16}, 1, c2b);
    t_write_f32(in_dir("d1.npy"), (const size_t[]){120, 400}, 2, &d1w[0][0]);
    t_write_f32(in_dir("d1b.npy"), (const size_t[]){120}, 1, d1b);
    t_write_f32(in_dir("d2.npy"), (const size_t[]){84, 120}, 2, &d2w[0][0]);
    t_write_f32(in_dir("d2b.npy"), (const size_t[]){84}, 1, d2b);
    t_write_f32(in_dir("d3.npy"), (const size_t[]){10, 84}, 2, &d3w[0][0]);
    t_write_f32(in_dir("d3b.npy"), (const size_t[]){10}, 1, d3b);
}

static const char LENET[] =
    "{\"name\": \"LeNet-5\", \"classes\": [\"0\", \"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\", "
    "\"8\", \"9\"], \"layers\": [\n"
    " {\"type\": \"conv\", \"weights\": \"c1.npy\", \"bias\": \"c1b.npy\", \"padding\": 2},\n"
    " {\"type\": \"relu\"}, {\"type\": \"maxpool\", \"size\": 2},\n"
    " {\"type\": \"conv\", \"weights\": \"c2.npy\", \"bias\": \"c2b.npy\", \"padding\": "
    "\"valid\"},\n"
    " {\"type\": \"relu\"}, {\"type\": \"maxpool\", \"size\": 2},\n"
    " {\"type\": \"flatten\"},\n"
    " {\"type\": \"dense\", \"units\": 120, \"weights\": \"d1.npy\", \"bias\": \"d1b.npy\"},\n"
    " {\"type\": \"relu\"},\n"
    " {\"type\": \"dense\", \"units\": 84, \"weights\": \"d2.npy\", \"bias\": \"d2b.npy\"},\n"
    " {\"type\": \"relu\"},\n"
    " {\"type\": \"dense\", \"units\": 10, \"weights\": \"d3.npy\", \"bias\": \"d3b.npy\"},\n"
    " {\"type\": \"softmax\"}]}";

/* The reference: the same network in float64, written out loop by loop. */
static void conv_ref(const double *in, int c, int h, int w, const float *wt, const float *b,
                     int n, int pad, double *out, int oh, int ow)
{
    for (int o = 0; o < n; o++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double acc = b[o];
                for (int ci = 0; ci < c; ci++)
                    for (int i = 0; i < 5; i++)
                        for (int j = 0; j < 5; j++) {
                            int yy = y + i - pad, xx = x + j - pad;
                            if (yy >= 0 && yy < h && xx >= 0 && xx < w)
                                acc += wt[((o * c + ci) * 5 + i) * 5 + j] *
                                       in[(ci * h + yy) * w + xx];
                        }
                out[(o * oh + y) * ow + x] = acc > 0 ? acc : 0; /* with its relu */
            }
}

static void pool_ref(const double *in, int c, int h, int w, double *out)
{
    for (int ci = 0; ci < c; ci++)
        for (int y = 0; y < h / 2; y++)
            for (int x = 0; x < w / 2; x++) {
                const double *p = in + (ci * h + 2 * y) * w + 2 * x;
                out[(ci * (h / 2) + y) * (w / 2) + x] = fmax(fmax(p[0], p[1]), fmax(p[w], p[w + 1]));
            }
}

static void dense_ref(const double *in, int n_in, const float *wt, const float *b, int units,
                      int relu, double *out)
{
    for (int u = 0; u < units; u++) {
        double acc = b[u];
        for (int i = 0; i < n_in; i++)
            acc += wt[u * n_in + i] * in[i];
        out[u] = relu && acc < 0 ? 0 : acc;
    }
}

static void lenet_ref(const cnf_image *img, double probs[10])
{
    static double x[28 * 28], a1[6 * 28 * 28], p1[6 * 14 * 14], a2[16 * 10 * 10], p2[400];
    double h1[120], h2[84], z[10], m = -INFINITY, s = 0;
    for (int i = 0; i < 28 * 28; i++)
        x[i] = img->data[i];
    conv_ref(x, 1, 28, 28, &c1w[0][0][0][0], c1b, 6, 2, a1, 28, 28);
    pool_ref(a1, 6, 28, 28, p1);
    conv_ref(p1, 6, 14, 14, &c2w[0][0][0][0], c2b, 16, 0, a2, 10, 10);
    pool_ref(a2, 16, 10, 10, p2);
    dense_ref(p2, 400, &d1w[0][0], d1b, 120, 1, h1);
    dense_ref(h1, 120, &d2w[0][0], d2b, 84, 1, h2);
    dense_ref(h2, 84, &d3w[0][0], d3b, 10, 0, z);
    for (int i = 0; i < 10; i++)
        m = fmax(m, z[i]);
    for (int i = 0; i < 10; i++)
        s += exp(z[i] - m);
    for (int i = 0; i < 10; i++)
        probs[i] = exp(z[i] - m) / s;
}

/* LeNet-5 with given weights on a 28 x 28 gray input: 61706 parameters, probabilities that
 * sum to 1 and match a float64 reference; streamed equals whole for 1, 2 and 3 threads. */
static void lenet5_runs_on_a_28_by_28_gray_input(void)
{
    cnf_plan *p;
    char *text;
    lenet_files();
    p = plan_of(LENET, 28, 28, 1);
    if (!p)
        return;
    text = explain(p);
    CHECK_STR_CONTAINS(text, "7. flatten: 16 x 5 x 5 -> 400 values in (c, y, x) order\n");
    CHECK_STR_CONTAINS(text, "8. dense: 120 units over 400 inputs, y = W x + b\n"
                             "    shape: 400 x 1 x 1 -> 120 x 1 x 1, parameters: 48120 (48000 "
                             "weights + 120 biases)\n");
    CHECK_STR_CONTAINS(text, "parameters: 10164 (10080 weights + 84 biases)\n");
    CHECK_STR_CONTAINS(text, "parameters: 850 (840 weights + 10 biases)\n");
    CHECK_STR_CONTAINS(text, "shape: 1 x 28 x 28 -> 6 x 28 x 28, parameters: 156 (150 weights "
                             "+ 6 biases)\n");
    CHECK_STR_CONTAINS(text, "shape: 6 x 14 x 14 -> 16 x 10 x 10, parameters: 2416 (2400 weights "
                             "+ 16 biases)\n");
    CHECK_STR_CONTAINS(text, "\nparameters: 61706 (61470 weights + 236 biases)\n");
    free(text);
    for (int sample = 0; sample < 4; sample++) {
        /* a gray image scaled to 0..1, as an affine layer of 1/255 would */
        cnf_image in = random_image(28, 28, 1, 1), out = {0};
        double ref[10], sum = 0, worst = 0;
        if (sample == 3)
            for (int i = 0; i < 28 * 28; i++)
                in.data[i] = (i % 28 > 10 && i % 28 < 17 && i / 28 > 4 && i / 28 < 24) ? 1.0f : 0;
        lenet_ref(&in, ref);
        CHECK(all_runs_match(p, &in));
        if (cnf_plan_run(p, &in, 3, &out, &E) == CNF_OK) {
            CHECK(out.width == 1 && out.height == 1 && out.channels == 10);
            for (int i = 0; i < 10; i++) {
                sum += out.data[i];
                worst = fmax(worst, fabs(out.data[i] - ref[i]));
                CHECK(out.data[i] > 0 && out.data[i] < 1);
            }
            CHECK(fabs(sum - 1) < 1e-6);
            CHECK(worst < 1e-6);
        }
        cnf_image_free(&out);
        cnf_image_free(&in);
    }
    cnf_plan_free(p);
    {
        static const char *const files[] = {"c1", "c1b", "c2", "c2b", "d1", "d1b",
                                            "d2", "d2b", "d3", "d3b"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            char name[16];
            snprintf(name, sizeof name, "%s.npy", files[i]);
            unlink(in_dir(name));
        }
    }
}

/* A larger image through conv, pool, flatten, dense and softmax: the rings hold the rows the
 * dense layer needs, and streamed rows give the same bits for any thread count and chunk. */
static void a_classifier_on_a_tall_image_streams_like_it_runs_whole(void)
{
    static float w[5 * 4 * 37 * 15];
    const size_t d[2] = {5, 4 * 37 * 15};
    cnf_image in = random_image(33, 150, 3, 255);
    cnf_plan *p;
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        w[i] = (float)((double)(rnd() % 2001) / 1000 - 1) / 100;
    t_write_f32(in_dir("w.npy"), d, 2, w);
    p = plan_of("{\"layers\": [{\"type\": \"affine\", \"scale\": 0.00392156862745098},\n"
                " {\"type\": \"conv\", \"kernels\": [\"sobel_v\", \"sobel_h\", \"box:3\", "
                "\"gaussian:3\"], \"padding\": \"valid\", \"stride\": [2, 1]},\n"
                " {\"type\": \"relu\"}, {\"type\": \"maxpool\", \"size\": 2},\n"
                " {\"type\": \"flatten\"}, {\"type\": \"dense\", \"units\": 5, \"weights\": "
                "\"w.npy\"}, {\"type\": \"softmax\"}]}",
                33, 150, 3);
    unlink(in_dir("w.npy"));
    if (p) {
        int ow, oh, oc, oa;
        cnf_plan_output_shape(p, &ow, &oh, &oc, &oa);
        CHECK(ow == 1 && oh == 1 && oc == 5);
        CHECK(all_runs_match(p, &in));
    }
    cnf_plan_free(p);
    cnf_image_free(&in);
}

int main(void)
{
    snprintf(DIR_, sizeof DIR_, "/tmp/cnf_test_learned.XXXXXX");
    if (!mkdtemp(DIR_))
        return 1;
    RUN(flatten_orders_the_values_channel_row_column);
    RUN(dense_is_w_times_x_plus_b_over_the_flattened_input);
    RUN(softmax_normalises_the_channels_at_each_position);
    RUN(affine_scales_and_shifts_every_value);
    RUN(the_learned_stages_never_see_alpha);
    RUN(a_dense_layer_must_fit_its_input);
    RUN(explain_shows_each_learned_stage_with_its_parameters);
    RUN(the_memory_estimate_counts_dense_weights);
    RUN(a_pipeline_conv_layer_runs_more_than_64_kernels);
    RUN(lenet5_runs_on_a_28_by_28_gray_input);
    RUN(a_classifier_on_a_tall_image_streams_like_it_runs_whole);
    rmdir(DIR_);
    return t_finish("test_learned");
}
