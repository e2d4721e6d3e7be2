/* test_pooling.c - pooling, activations and combine against hand-computed values. */
#include "test_util.h"

static cnf_image pool(const cnf_image *in, cnf_pool mode, int size, int stride, int pad, int ceil_mode)
{
    cnf_layer L;
    cnf_image out;
    cnf_error e;
    cnf_layer_init(&L);
    L.pool = mode;
    L.pool_size = size;
    L.pool_stride = stride;
    L.pool_padding = pad;
    L.pool_ceil = ceil_mode;
    if (t_run(&L, in, 2, &out, &e) != CNF_OK) {
        fprintf(stderr, "pool failed: %s\n", e.msg);
        abort();
    }
    return out;
}

static void seed_max_pool_with_stride_1(void)
{
    float in[] = {0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11};
    float ex[] = {4, 7, 10, 5, 8, 11};
    cnf_image img = t_image(4, 3, 1, 0, in), out = pool(&img, CNF_POOL_MAX, 2, 1, 0, 0);
    CHECK(t_equal(&out, 3, 2, 1, ex));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void ceil_mode_keeps_partial_windows_floor_drops_them(void)
{
    cnf_image img = t_image(5, 5, 1, 0, NULL), out;
    float ex_ceil[] = {6, 8, 9, 16, 18, 19, 21, 23, 24};
    float ex_floor[] = {6, 8, 16, 18};
    for (int i = 0; i < 25; i++)
        img.data[i] = (float)i;
    out = pool(&img, CNF_POOL_MAX, 2, 2, 0, 1);
    CHECK(t_equal(&out, 3, 3, 1, ex_ceil));
    cnf_image_free(&out);
    out = pool(&img, CNF_POOL_MAX, 2, 2, 0, 0);
    CHECK(t_equal(&out, 2, 2, 1, ex_floor));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void ceil_mode_drops_a_window_starting_past_input_and_padding(void)
{
    /* n = 5, P = 2, S = 2, padding 1: ceil gives 4, but the 4th window would
     * start at 5 (past input + left padding), so 3 remain: {0}, {1,2}, {3,4}. */
    float in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    float ex[] = {1, 3, 5, 6, 8, 10};
    cnf_image img = t_image(5, 2, 1, 0, in), out = pool(&img, CNF_POOL_MAX, 2, 2, 1, 1);
    CHECK(t_equal(&out, 3, 2, 1, ex));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void ceil_mode_gives_one_window_when_it_is_larger_than_the_input(void)
{
    /* n = 1, P = 2, S = 2: floor((1 - 2) / 2) + 1 = 0, ceil(-0.5) + 1 = 1. */
    float in[] = {7};
    float ex[] = {7};
    cnf_image img = t_image(1, 1, 1, 0, in), out = pool(&img, CNF_POOL_MAX, 2, 2, 0, 1);
    CHECK(t_equal(&out, 1, 1, 1, ex));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void average_ignores_cells_outside_the_input(void)
{
    float in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float ex[] = {3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7};
    cnf_image img = t_image(3, 3, 1, 0, in), out = pool(&img, CNF_POOL_AVG, 3, 1, 1, 0);
    CHECK(t_equal(&out, 3, 3, 1, ex));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void min_pool_and_alpha_pooled_alike(void)
{
    /* RGBA 2x2: colour planes then alpha; a 2x2 window over everything. */
    float in[] = {4, 1, 3, 2, 10, 20, 30, 40, 7, 7, 7, 7, 0, 255, 128, 64};
    float ex_min[] = {1, 10, 7, 0};
    float ex_max[] = {4, 40, 7, 255};
    cnf_image img = t_image(2, 2, 4, 1, in), out = pool(&img, CNF_POOL_MIN, 2, 2, 0, 0);
    CHECK(t_equal(&out, 1, 1, 4, ex_min));
    CHECK(out.has_alpha);
    cnf_image_free(&out);
    out = pool(&img, CNF_POOL_MAX, 2, 2, 0, 0);
    CHECK(t_equal(&out, 1, 1, 4, ex_max));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void pool_padding_over_half_the_window_is_refused(void)
{
    cnf_image img = t_image(4, 4, 1, 0, NULL), out;
    cnf_layer L;
    cnf_error e;
    cnf_layer_init(&L);
    L.pool = CNF_POOL_MAX;
    L.pool_size = 2;
    L.pool_padding = 2;
    CHECK_EQ_INT(t_run(&L, &img, 1, &out, &e), CNF_E_USAGE);
    L.pool_padding = 0;
    L.pool_size = 5;
    CHECK_EQ_INT(t_run(&L, &img, 1, &out, &e), CNF_E_EMPTY);
    cnf_image_free(&img);
}

static void layer_order_is_conv_bias_combine_activation_pool(void)
{
    /* Two kernels [[1]] and [[-2]] on [[1,-3],[2,5]] with bias -1: maps
     * v-1 and -2v-1; combine max (signed) -> max(v-1, -2v-1); relu; 2x2 avg. */
    float in[] = {1, -3, 2, 5};
    cnf_image img = t_image(2, 2, 1, 0, in), out;
    cnf_kernel *a = t_kernel("[[1]]"), *b = t_kernel("[[-2]]");
    const cnf_kernel *ks[2] = {a, b};
    cnf_layer L;
    cnf_error e;
    float ex[] = {(0 + 5 + 1 + 4) / 4.0f};
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = 2;
    L.bias = -1;
    L.combine = CNF_COMBINE_MAX;
    L.activation = CNF_ACT_RELU;
    L.pool = CNF_POOL_AVG;
    CHECK_EQ_INT(t_run(&L, &img, 1, &out, &e), CNF_OK);
    /* maps: v-1 = {0,-4,1,4}, -2v-1 = {-3,5,-5,-11}; max = {0,5,1,4}. */
    CHECK(t_equal(&out, 1, 1, 1, ex));
    cnf_image_free(&out);
    L.combine = CNF_COMBINE_MAGNITUDE;
    L.activation = CNF_ACT_NONE;
    L.pool = CNF_POOL_NONE;
    CHECK_EQ_INT(t_run(&L, &img, 1, &out, &e), CNF_OK);
    CHECK(out.data[0] == 3.0f && out.data[1] == (float)sqrt(41.0));
    cnf_image_free(&out);
    cnf_kernel_free(a);
    cnf_kernel_free(b);
    cnf_image_free(&img);
}

static void activations_follow_their_formulas(void)
{
    float in[] = {-2, -0.5f, 0, 3};
    cnf_image img = t_image(4, 1, 1, 0, in), out;
    cnf_kernel *k = t_kernel("[[1]]");
    const cnf_kernel *ks[1] = {k};
    cnf_layer L;
    cnf_error e;
    float relu[] = {0, 0, 0, 3}, absv[] = {2, 0.5f, 0, 3}, leaky[] = {-0.2f, -0.05f, 0, 3};
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = 1;
    L.activation = CNF_ACT_RELU;
    CHECK_EQ_INT(t_run(&L, &img, 1, &out, &e), CNF_OK);
    CHECK(t_equal(&out, 4, 1, 1, relu));
    cnf_image_free(&out);
    L.activation = CNF_ACT_ABS;
    CHECK_EQ_INT(t_run(&L, &img, 1, &out, &e), CNF_OK);
    CHECK(t_equal(&out, 4, 1, 1, absv));
    cnf_image_free(&out);
    L.activation = CNF_ACT_LEAKY_RELU;
    L.activation_param = 0.1;
    CHECK_EQ_INT(t_run(&L, &img, 1, &out, &e), CNF_OK);
    CHECK(t_equal(&out, 4, 1, 1, leaky));
    cnf_image_free(&out);
    L.activation = CNF_ACT_SIGMOID;
    CHECK_EQ_INT(t_run(&L, &img, 1, &out, &e), CNF_OK);
    CHECK(out.data[2] == 0.5f && fabs(out.data[3] - 1 / (1 + exp(-3.0))) < 1e-7);
    cnf_image_free(&out);
    L.activation = CNF_ACT_TANH;
    CHECK_EQ_INT(t_run(&L, &img, 1, &out, &e), CNF_OK);
    CHECK(out.data[2] == 0 && fabs(out.data[0] - tanh(-2.0)) < 1e-7);
    cnf_image_free(&out);
    cnf_kernel_free(k);
    cnf_image_free(&img);
}

int main(void)
{
    RUN(seed_max_pool_with_stride_1);
    RUN(ceil_mode_keeps_partial_windows_floor_drops_them);
    RUN(ceil_mode_drops_a_window_starting_past_input_and_padding);
    RUN(ceil_mode_gives_one_window_when_it_is_larger_than_the_input);
    RUN(average_ignores_cells_outside_the_input);
    RUN(min_pool_and_alpha_pooled_alike);
    RUN(pool_padding_over_half_the_window_is_refused);
    RUN(layer_order_is_conv_bias_combine_activation_pool);
    RUN(activations_follow_their_formulas);
    return t_finish("test_pooling");
}
