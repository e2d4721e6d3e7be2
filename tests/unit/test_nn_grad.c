/* test_nn_grad.c - every layer's backward against central finite differences in double, at
 * tie-free points, for every geometry; and the tie rules (first maximum, relu'(0)...) exactly.
 *
 * The engine's layer math is compiled a second time with double as its scalar
 * (nn_math_f64.c); these checks build nets in that mode.  Each case puts the layer under
 * test between a learning 1x1 conv before it and tanh, flatten and a dense layer after it,
 * draws every parameter and input value uniformly in (-1, 1), and compares the gradient of
 * a loss (a random projection of the result, or the engine's cross entropy / mse) with
 * respect to every learning parameter and every input value with
 * (L(v + h) - L(v - h)) / 2h, h = 1e-6: they must agree to 1e-6 (1 + |gradient|). */
#include "nn_test_util.h"

#define PROBE (-1)

typedef struct gcheck {
    nn_net n;
    nn_work w;
    double *x, *c; /* input, probe weights */
    int loss;      /* PROBE or a cnf_loss */
    int label;
} gcheck;

static double *dparams(gcheck *g) { return g->n.params; }

/* The loss at the current parameters and input; with seed, its gradient
 * too (parameters into w.grad, the input's returned). */
static double eval(gcheck *g, int seed, const double **din)
{
    const nn_node *last = &g->n.nodes[g->n.n_nodes - 1];
    double *act = g->w.act, L = 0;
    int pred, from = g->n.n_nodes - 1;
    memcpy(act, g->x, sizeof(double) * g->n.n_in);
    g->n.m->forward(&g->n, &g->w);
    if (g->loss == PROBE) {
        for (size_t k = 0; k < g->n.n_out; k++) {
            L += g->c[k] * act[last->out + k];
            if (seed)
                ((double *)g->w.ga)[k] = g->c[k];
        }
    } else {
        L = g->n.m->loss(&g->n, &g->w, g->label, (cnf_loss)g->loss, seed, &pred, &from);
    }
    if (seed) {
        memset(g->w.grad, 0, sizeof(double) * (g->n.n_params + 1));
        *din = g->n.m->backward(&g->n, &g->w, from, 0);
    }
    return L;
}

static int close_enough(double analytic, double numeric)
{
    return fabs(analytic - numeric) <= 1e-6 * (1 + fabs(analytic));
}

static int learns(const nn_net *n, size_t i)
{
    for (int r = 0; r < n->n_ranges; r++)
        if (i >= n->ranges[r].off && i < n->ranges[r].off + n->ranges[r].len)
            return 1;
    return 0;
}

/* Every learning parameter and every input value; parameters that do not
 * learn must get no gradient at all. */
static int compare(gcheck *g, const char *name)
{
    const double *d = NULL;
    double *grad, *din = NULL, *P = dparams(g), h = 1e-6;
    int ok = 1;
    eval(g, 1, &d);
    grad = malloc(sizeof(double) * (g->n.n_params + 1));
    memcpy(grad, g->w.grad, sizeof(double) * (g->n.n_params + 1));
    if (d) {
        din = malloc(sizeof(double) * g->n.n_in);
        memcpy(din, d, sizeof(double) * g->n.n_in);
    }
    for (size_t i = 0; i < g->n.n_params && ok; i++) {
        double keep = P[i], up, down, num;
        P[i] = keep + h;
        up = eval(g, 0, NULL);
        P[i] = keep - h;
        down = eval(g, 0, NULL);
        P[i] = keep;
        num = (up - down) / (2 * h);
        if (learns(&g->n, i) ? !close_enough(grad[i], num) : grad[i] != 0) {
            fprintf(stderr, "%s: parameter %zu: gradient %.12g, finite difference %.12g%s\n",
                    name, i, grad[i], num, learns(&g->n, i) ? "" : " (does not learn)");
            ok = 0;
        }
    }
    for (size_t i = 0; din && i < g->n.n_in && ok; i++) {
        double keep = g->x[i], up, down, num, a = din[i];
        g->x[i] = keep + h;
        up = eval(g, 0, NULL);
        g->x[i] = keep - h;
        down = eval(g, 0, NULL);
        g->x[i] = keep;
        num = (up - down) / (2 * h);
        if (!close_enough(a, num)) {
            fprintf(stderr, "%s: input %zu: gradient %.12g, finite difference %.12g\n", name, i,
                    a, num);
            ok = 0;
        }
    }
    if (!din) {
        fprintf(stderr, "%s: no input gradient\n", name);
        ok = 0;
    }
    free(grad);
    free(din);
    return ok;
}

/* Check pipeline p (freed here) on a c x h x w input. */
static int check_pipe(cnf_pipeline *p, int c, int h, int w, uint64_t seed, int loss,
                      const char *name)
{
    gcheck g;
    cnf_error e;
    int ok = 0;
    memset(&g, 0, sizeof g);
    g.loss = loss;
    if (cnf__nn_build(p, w, h, c, CNF__NN_TRAIN | CNF__NN_DOUBLE | CNF__NN_GRAD_INPUT, &g.n,
                      &e) ||
        cnf__nn_params(&g.n, p, 1, &e) || cnf__nn_work_alloc(&g.n, 1, &g.w, &e)) {
        fprintf(stderr, "%s: %s\n", name, e.msg);
        goto out;
    }
    g.x = malloc(sizeof(double) * g.n.n_in);
    g.c = malloc(sizeof(double) * g.n.n_out);
    for (size_t i = 0; i < g.n.n_params; i++)
        dparams(&g)[i] = 2 * t_rand(&seed) - 1;
    for (size_t i = 0; i < g.n.n_in; i++)
        g.x[i] = 2 * t_rand(&seed) - 1;
    for (size_t i = 0; i < g.n.n_out; i++)
        g.c[i] = 2 * t_rand(&seed) - 1;
    g.label = (int)(g.n.n_out / 2);
    ok = compare(&g, name);
out:
    free(g.x);
    free(g.c);
    cnf__nn_work_free(&g.w);
    cnf__nn_free(&g.n);
    cnf_pipeline_free(p);
    return ok;
}

/* [learning 1x1 conv to `maps` maps] `layers` [tanh, flatten, dense 3]. */
static int check_layer(const char *layers, int maps, int c, int h, int w, uint64_t seed)
{
    char text[4096];
    cnf_pipeline *p;
    snprintf(text, sizeof text, "{\"type\": \"conv\", \"kernels\": [\"[[1]]\"]}, %s,"
             " {\"type\": \"tanh\"}", layers);
    p = t_pipe(text);
    t_shape_only(p, 0, maps, 1, 1);
    t_flatten(p);
    t_dense(p, 3, 0, NULL, NULL);
    return check_pipe(p, c, h, w, seed, PROBE, layers);
}

#define CONV_SHAPE(extra) "{\"type\": \"conv\", \"kernels\": [\"[[0,0,0],[0,0,0],[0,0,0]]\"]" extra "}"

/* A conv layer given by shape (count x kh x kw, 3-D) as layer 1. */
static int check_conv(const char *geometry, int count, int kh, int kw, int c, int h, int w,
                      uint64_t seed)
{
    char text[4096];
    cnf_pipeline *p;
    snprintf(text, sizeof text, "{\"type\": \"conv\", \"kernels\": [\"[[1]]\"]}, {\"type\":"
             " \"conv\", \"kernels\": [\"[[1]]\"]%s%s}, {\"type\": \"tanh\"}",
             geometry[0] ? ", " : "", geometry);
    p = t_pipe(text);
    t_shape_only(p, 0, c, 1, 1);
    t_shape_only(p, 1, count, kh, kw);
    t_flatten(p);
    t_dense(p, 3, 0, NULL, NULL);
    return check_pipe(p, c, h, w, seed, PROBE, geometry);
}

static void conv_gradients_for_every_padding_and_border(void)
{
    static const char *const borders[] = {"zero", "replicate", "reflect", "mirror", "wrap"};
    static const char *const pads[] = {"\"valid\"", "\"same\"", "1", "[2, 1]", "5", "[0, 7]"};
    char geo[256];
    int ok = 1;
    for (int b = 0; b < 5; b++)
        for (int q = 0; q < 6; q++) {
            snprintf(geo, sizeof geo, "\"padding\": %s, \"border\": \"%s\"", pads[q], borders[b]);
            ok &= check_conv(geo, 2, 3, 3, 2, 4, 3 + (q == 0), (uint64_t)(b * 10 + q));
        }
    CHECK(ok);
}

static void conv_gradients_with_stride_dilation_and_even_kernels(void)
{
    CHECK(check_conv("\"stride\": [2, 1], \"padding\": \"same\", \"border\": \"reflect\"", 2, 3,
                     3, 2, 7, 5, 1));
    CHECK(check_conv("\"dilation\": 2, \"padding\": 2, \"border\": \"wrap\"", 3, 3, 3, 1, 6, 6,
                     2));
    CHECK(check_conv("\"padding\": \"same\", \"border\": \"mirror\"", 2, 2, 4, 2, 5, 6, 3));
    CHECK(check_conv("\"stride\": 3, \"dilation\": 2, \"padding\": [3, 2], \"border\":"
                     " \"replicate\"", 2, 4, 2, 2, 9, 8, 4));
    CHECK(check_conv("\"stride\": [1, 2], \"padding\": \"same\", \"border\": \"zero\"", 1, 2, 2,
                     3, 5, 7, 5));
}

static void conv_gradients_for_shared_per_channel_gray_frozen_no_bias_and_composite(void)
{
    cnf_pipeline *p;
    /* 2-D kernels shared by every channel (sum) and per channel (rgb, auto). */
    CHECK(check_layer(CONV_SHAPE(", \"padding\": \"same\"") ", " CONV_SHAPE(", \"border\": \"reflect\""),
                      3, 2, 5, 5, 10));
    CHECK(check_layer("{\"type\": \"conv\", \"kernels\": [\"[[1,2],[3,4]]\", \"[[0,1,0]]\"],"
                      " \"padding\": \"same\", \"channels\": \"rgb\", \"border\": \"wrap\"}",
                      2, 1, 4, 5, 11));
    CHECK(check_layer("{\"type\": \"conv\", \"kernels\": [\"[[1,2],[3,4]]\"], \"channels\":"
                      " \"auto\", \"stride\": 2, \"border\": \"replicate\"}", 3, 2, 6, 5, 12));
    /* gray: luma of 3 maps first. */
    CHECK(check_layer("{\"type\": \"conv\", \"kernels\": [\"[[1,2,3]]\", \"[[1],[2]]\"],"
                      " \"channels\": \"gray\", \"padding\": \"same\"}", 3, 2, 4, 4, 13));
    /* frozen and bias-free layers (gradients still flow through a frozen one). */
    p = t_pipe("{\"type\": \"conv\", \"kernels\": [\"[[1]]\"]}, " CONV_SHAPE("") ", {\"type\":"
               " \"relu\"}");
    t_shape_only(p, 0, 2, 1, 1);
    p->layers[1].frozen = 1;
    p->layers[0].no_bias = 1;
    t_flatten(p);
    t_dense(p, 2, 0, NULL, NULL)->no_bias = 1;
    CHECK(check_pipe(p, 1, 5, 5, 14, PROBE, "frozen, no bias"));
    /* sobel (a composite, frozen): the magnitude's gradient. */
    p = t_pipe("{\"type\": \"conv\", \"kernels\": [\"[[1]]\"]}, {\"type\": \"conv\", \"kernels\":"
               " [\"sobel\", \"[[1,0],[0,-1]]\"], \"padding\": \"same\", \"border\": \"reflect\"}");
    t_shape_only(p, 0, 1, 1, 1);
    p->layers[1].frozen = 1;
    t_flatten(p);
    t_dense(p, 2, 0, NULL, NULL);
    CHECK(check_pipe(p, 1, 5, 4, 15, PROBE, "sobel"));
}

static void activation_gradients(void)
{
    CHECK(check_layer("{\"type\": \"relu\"}", 2, 1, 4, 4, 20));
    CHECK(check_layer("{\"type\": \"abs\"}", 2, 1, 4, 4, 21));
    CHECK(check_layer("{\"type\": \"leaky_relu\", \"slope\": 0.2}", 2, 1, 4, 4, 22));
    CHECK(check_layer("{\"type\": \"sigmoid\"}", 2, 1, 4, 4, 23));
    CHECK(check_layer("{\"type\": \"tanh\"}", 2, 1, 4, 4, 24));
}

static void pooling_gradients_floor_ceil_padding_and_average(void)
{
    static const char *const kinds[] = {"maxpool", "minpool", "avgpool"};
    static const char *const geos[] = {"", ", \"size\": 3, \"stride\": 2, \"padding\": 1",
                                       ", \"ceil\": true", ", \"size\": 3, \"stride\": 2,"
                                       " \"padding\": 1, \"ceil\": true",
                                       ", \"size\": 2, \"stride\": 1, \"padding\": 1",
                                       ", \"size\": 4, \"stride\": 3, \"padding\": 2, \"ceil\": true"};
    char text[256];
    int ok = 1;
    for (int k = 0; k < 3; k++)
        for (int q = 0; q < 6; q++) {
            snprintf(text, sizeof text, "{\"type\": \"%s\"%s}", kinds[k], geos[q]);
            ok &= check_layer(text, 2, 2, 7, 6, (uint64_t)(30 + k * 6 + q));
        }
    CHECK(ok);
}

static void combine_gradients_in_a_conv_layer_and_as_a_layer(void)
{
    static const char *const modes[] = {"magnitude", "max", "sum"};
    char text[512];
    int ok = 1;
    for (int m = 0; m < 3; m++) {
        snprintf(text, sizeof text, "{\"type\": \"combine\", \"mode\": \"%s\"}", modes[m]);
        ok &= check_layer(text, 3, 1, 4, 4, (uint64_t)(50 + m));
        snprintf(text, sizeof text, "{\"type\": \"conv\", \"kernels\": [\"[[1,2],[3,4]]\","
                 " \"[[1,2,3]]\"], \"padding\": \"same\", \"channels\": \"rgb\"}, {\"type\":"
                 " \"combine\", \"mode\": \"%s\"}", modes[m]);
        ok &= check_layer(text, 2, 1, 4, 5, (uint64_t)(60 + m));
    }
    CHECK(ok);
}

/* affine -> conv -> relu -> pool -> flatten -> dense -> tanh -> dense
 * [-> softmax], under cross entropy, mse and a probe. */
static cnf_pipeline *whole_net(int softmax)
{
    cnf_pipeline *p = t_pipe(CONV_SHAPE(", \"padding\": \"same\", \"border\": \"replicate\"") ","
                             " {\"type\": \"leaky_relu\"}, {\"type\": \"maxpool\", \"ceil\":"
                             " true}, {\"type\": \"tanh\"}");
    t_shape_only(p, 0, 3, 3, 3);
    t_affine(p, 0, 0.5, -0.25);
    t_flatten(p);
    t_dense(p, 5, 0, NULL, NULL);
    t_insert(p, p->n, CNF_LAYER_ACT, "sigmoid")->layer.activation = CNF_ACT_SIGMOID;
    t_dense(p, 4, 0, NULL, NULL);
    if (softmax)
        t_softmax(p);
    return p;
}

static void whole_nets_under_cross_entropy_mse_and_a_probe(void)
{
    CHECK(check_pipe(whole_net(1), 2, 5, 5, 70, CNF_LOSS_CROSS_ENTROPY, "cross entropy"));
    CHECK(check_pipe(whole_net(1), 2, 5, 5, 71, CNF_LOSS_MSE, "mse after softmax"));
    CHECK(check_pipe(whole_net(0), 2, 5, 5, 72, CNF_LOSS_MSE, "mse"));
    CHECK(check_pipe(whole_net(1), 2, 5, 5, 73, PROBE, "softmax probe"));
}

/* ------------------------------------------------------------- ties */

/* The gradient of sum(y) with respect to the input of a parameter-free
 * pipeline p (freed) at input x, into din (n values). */
static void input_gradient(cnf_pipeline *p, int c, int h, int w, const double *x, double *din)
{
    nn_net n;
    nn_work wk;
    cnf_error e;
    const double *g;
    int from;
    if (cnf__nn_build(p, w, h, c, CNF__NN_TRAIN | CNF__NN_DOUBLE | CNF__NN_GRAD_INPUT, &n, &e) ||
        cnf__nn_params(&n, p, 0, &e) || cnf__nn_work_alloc(&n, 1, &wk, &e))
        abort();
    memcpy(wk.act, x, sizeof(double) * n.n_in);
    n.m->forward(&n, &wk);
    for (size_t k = 0; k < n.n_out; k++)
        ((double *)wk.ga)[k] = 1;
    from = n.n_nodes - 1;
    g = n.m->backward(&n, &wk, from, 0);
    memcpy(din, g, sizeof(double) * n.n_in);
    cnf__nn_work_free(&wk);
    cnf__nn_free(&n);
    cnf_pipeline_free(p);
}

static int same(const double *a, const double *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i] != b[i]) {
            fprintf(stderr, "value %d: %g, expected %g\n", i, a[i], b[i]);
            return 0;
        }
    return 1;
}

static void ties_go_to_the_first_maximum_or_minimum_in_row_major_order(void)
{
    /* The example's 3x3 map, max pool 2 with ceil: window (0, 0) holds 2 twice. */
    double seed[9] = {1, 2, 1, 0, 2, 0, 1, 2, 1}, d[9];
    double want[9] = {0, 1, 1, 0, 0, 0, 0, 1, 1};
    double flat[4] = {3, 3, 3, 3}, d4[4], first[4] = {1, 0, 0, 0};
    double mins[4] = {5, 1, 1, 7}, wmin[4] = {0, 1, 0, 0};
    input_gradient(t_pipe("{\"type\": \"maxpool\", \"ceil\": true}"), 1, 3, 3, seed, d);
    CHECK(same(d, want, 9));
    input_gradient(t_pipe("{\"type\": \"maxpool\"}"), 1, 2, 2, flat, d4);
    CHECK(same(d4, first, 4));
    input_gradient(t_pipe("{\"type\": \"minpool\"}"), 1, 2, 2, flat, d4);
    CHECK(same(d4, first, 4));
    input_gradient(t_pipe("{\"type\": \"minpool\"}"), 1, 2, 2, mins, d4);
    CHECK(same(d4, wmin, 4));
}

static void average_pooling_shares_over_the_cells_inside(void)
{
    /* 1x3, window 2 stride 2 padding 1: windows {x0} and {x1, x2}. */
    double x[3] = {4, 5, 6}, d[3], want[3] = {1, 0.5, 0.5};
    input_gradient(t_pipe("{\"type\": \"avgpool\", \"padding\": 1}"), 1, 1, 3, x, d);
    CHECK(same(d, want, 3));
}

static void relu_abs_and_leaky_relu_at_zero(void)
{
    double x[3] = {0, -2, 3}, d[3];
    double relu[3] = {0, 0, 1}, abs_[3] = {0, -1, 1}, leaky[3] = {0.25, 0.25, 1};
    input_gradient(t_pipe("{\"type\": \"relu\"}"), 1, 1, 3, x, d);
    CHECK(same(d, relu, 3));
    input_gradient(t_pipe("{\"type\": \"abs\"}"), 1, 1, 3, x, d);
    CHECK(same(d, abs_, 3));
    input_gradient(t_pipe("{\"type\": \"leaky_relu\", \"slope\": 0.25}"), 1, 1, 3, x, d);
    CHECK(same(d, leaky, 3));
}

static void combine_max_goes_to_the_first_maximal_map(void)
{
    /* Maps 1 x 4 + 0 and 2 x 4 - 4 tie at 4: the first map's weight (1)
     * carries the gradient to the input, not the second's (2). */
    double x[1] = {4}, d[1], want[1] = {1};
    input_gradient(t_pipe("{\"type\": \"conv\", \"kernels\": [\"[[1]]\", {\"weights\": [[2]],"
                          " \"bias\": -4}]}, {\"type\": \"combine\", \"mode\": \"max\"}"),
                   1, 1, 1, x, d);
    CHECK(same(d, want, 1));
}

static void zero_padding_takes_no_gradient_and_other_borders_give_it_back(void)
{
    /* 1x3 input, kernel [1 1 1], padding 1: zero gives (2, 3, 2);
     * replicate the edge pixels take their copies: (3, 3, 3); wrap too. */
    double x[3] = {0.5, -1, 2}, d[3], zero[3] = {2, 3, 2}, rep[3] = {3, 3, 3};
    input_gradient(t_pipe("{\"type\": \"conv\", \"kernels\": [\"[[1,1,1]]\"], \"padding\": 1}"),
                   1, 1, 3, x, d);
    CHECK(same(d, zero, 3));
    /* padding 1 on rows too: zero rows above and below add outputs whose
     * taps read the row itself: 3 output rows x the column counts. */
    input_gradient(t_pipe("{\"type\": \"conv\", \"kernels\": [\"[[1,1,1]]\"], \"padding\": [0, 1],"
                          " \"border\": \"replicate\"}"), 1, 1, 3, x, d);
    CHECK(same(d, rep, 3));
    input_gradient(t_pipe("{\"type\": \"conv\", \"kernels\": [\"[[1,1,1]]\"], \"padding\": [0, 1],"
                          " \"border\": \"wrap\"}"), 1, 1, 3, x, d);
    CHECK(same(d, rep, 3));
}

/* The real training path computes input gradients only where a learning
 * layer comes before; its parameter gradients are the same. */
static void gradients_without_the_input_gradient_are_the_same(void)
{
    cnf_pipeline *p = whole_net(1);
    nn_net a, b;
    nn_work wa, wb;
    cnf_error e;
    uint64_t s = 5;
    int pred, from;
    CHECK_EQ_INT(cnf__nn_build(p, 5, 5, 2, CNF__NN_TRAIN | CNF__NN_DOUBLE | CNF__NN_GRAD_INPUT,
                               &a, &e), CNF_OK);
    CHECK_EQ_INT(cnf__nn_build(p, 5, 5, 2, CNF__NN_TRAIN | CNF__NN_DOUBLE, &b, &e), CNF_OK);
    cnf__nn_params(&a, p, 3, &e);
    cnf__nn_params(&b, p, 3, &e);
    cnf__nn_work_alloc(&a, 1, &wa, &e);
    cnf__nn_work_alloc(&b, 1, &wb, &e);
    for (size_t i = 0; i < a.n_in; i++)
        ((double *)wa.act)[i] = ((double *)wb.act)[i] = t_rand(&s);
    a.m->forward(&a, &wa);
    b.m->forward(&b, &wb);
    a.m->loss(&a, &wa, 1, CNF_LOSS_CROSS_ENTROPY, 1, &pred, &from);
    b.m->loss(&b, &wb, 1, CNF_LOSS_CROSS_ENTROPY, 1, &pred, &from);
    CHECK(a.m->backward(&a, &wa, from, 0) != NULL);
    CHECK(b.m->backward(&b, &wb, from, 0) == NULL);
    CHECK(memcmp(wa.grad, wb.grad, sizeof(double) * a.n_params) == 0);
    CHECK(b.nodes[0].need_din == 0 && b.nodes[1].need_din == 0 && b.nodes[2].need_din == 1);
    cnf__nn_work_free(&wa);
    cnf__nn_work_free(&wb);
    cnf__nn_free(&a);
    cnf__nn_free(&b);
    cnf_pipeline_free(p);
}

int main(void)
{
    RUN(conv_gradients_for_every_padding_and_border);
    RUN(conv_gradients_with_stride_dilation_and_even_kernels);
    RUN(conv_gradients_for_shared_per_channel_gray_frozen_no_bias_and_composite);
    RUN(activation_gradients);
    RUN(pooling_gradients_floor_ceil_padding_and_average);
    RUN(combine_gradients_in_a_conv_layer_and_as_a_layer);
    RUN(whole_nets_under_cross_entropy_mse_and_a_probe);
    RUN(ties_go_to_the_first_maximum_or_minimum_in_row_major_order);
    RUN(average_pooling_shares_over_the_cells_inside);
    RUN(relu_abs_and_leaky_relu_at_zero);
    RUN(combine_max_goes_to_the_first_maximal_map);
    RUN(zero_padding_takes_no_gradient_and_other_borders_give_it_back);
    RUN(gradients_without_the_input_gradient_are_the_same);
    return t_finish("test_nn_grad");
}
