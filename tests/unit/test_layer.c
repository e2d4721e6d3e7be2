/* test_layer.c - a layer's defaults and the rules between its settings. */
#include "test_util.h"

#include "../../src/lib/layer.h"

static void defaults_are_the_documented_ones(void)
{
    cnf_layer L;
    memset(&L, 0x7f, sizeof L);
    cnf_layer_init(&L);
    CHECK(L.kernels == NULL);
    CHECK_EQ_INT(L.n_kernels, 0);
    CHECK_EQ_INT(L.padding, CNF_PAD_SAME);
    CHECK_EQ_INT(L.pad_h, 0);
    CHECK_EQ_INT(L.pad_w, 0);
    CHECK_EQ_INT(L.border, CNF_BORDER_ZERO);
    CHECK_EQ_INT(L.stride_y, 1);
    CHECK_EQ_INT(L.stride_x, 1);
    CHECK_EQ_INT(L.dilation, 1);
    CHECK_EQ_INT(L.flip, 0);
    CHECK_EQ_INT(L.channels, CNF_CH_AUTO);
    CHECK_EQ_INT(L.keep_alpha, 1);
    CHECK(L.scale == 1.0);
    CHECK(L.bias == 0.0);
    CHECK_EQ_INT(L.combine, CNF_COMBINE_NONE);
    CHECK_EQ_INT(L.activation, CNF_ACT_NONE);
    CHECK(L.activation_param == 0.01);
    CHECK_EQ_INT(L.pool, CNF_POOL_NONE);
    CHECK_EQ_INT(L.pool_size, 2);
    CHECK_EQ_INT(L.pool_stride, 0);
    CHECK_EQ_INT(L.pool_padding, 0);
    CHECK_EQ_INT(L.pool_ceil, 0);
}

static void strides_dilation_and_padding_below_their_range_are_refused(void)
{
    cnf_layer L;
    cnf_error e;
    int per_channel = -1;
    int *fields[] = {&L.stride_y, &L.stride_x, &L.dilation};
    for (int i = 0; i < 3; i++) {
        cnf_layer_init(&L);
        *fields[i] = 0;
        CHECK_EQ_INT(cnf__layer_check(&L, &per_channel, &e), CNF_E_USAGE);
        CHECK(strcmp(e.msg, "stride and dilation must be >= 1") == 0);
        CHECK_EQ_INT(e.subject, CNF_SUBJECT_NONE);
    }
    cnf_layer_init(&L);
    L.padding = CNF_PAD_EXPLICIT;
    L.pad_w = -1;
    CHECK_EQ_INT(cnf__layer_check(&L, &per_channel, &e), CNF_E_USAGE);
    cnf_layer_init(&L);
    CHECK_EQ_INT(cnf__layer_check(&L, &per_channel, &e), CNF_OK);
    CHECK_EQ_INT(per_channel, 1);
}

static void channels_sum_or_a_3d_kernel_sum_the_planes(void)
{
    cnf_kernel *k2 = t_kernel("sobel_v"), *k3 = NULL;
    const cnf_kernel *ks[2];
    cnf_layer L;
    cnf_error e;
    int per_channel = -1;
    /* A 3-D inline kernel: one 1x1 plane per input channel. */
    CHECK_EQ_INT(cnf_kernel_parse("[[[1]],[[2]],[[3]]]", "--kernel", &k3, &e), CNF_OK);
    ks[0] = k2;
    ks[1] = k3;
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = 1;
    L.channels = CNF_CH_SUM;
    CHECK_EQ_INT(cnf__layer_check(&L, &per_channel, &e), CNF_OK);
    CHECK_EQ_INT(per_channel, 0);
    L.channels = CNF_CH_RGB;
    CHECK_EQ_INT(cnf__layer_check(&L, &per_channel, &e), CNF_OK);
    CHECK_EQ_INT(per_channel, 1);
    L.n_kernels = 2; /* a bank with a 3-D kernel */
    L.channels = CNF_CH_AUTO;
    CHECK_EQ_INT(cnf__layer_check(&L, &per_channel, &e), CNF_OK);
    CHECK_EQ_INT(per_channel, 0);
    L.channels = CNF_CH_GRAY;
    CHECK_EQ_INT(cnf__layer_check(&L, &per_channel, &e), CNF_E_USAGE);
    CHECK(strcmp(e.msg, "a 3-D kernel reads all channels at once and implies 'sum', not "
                        "'gray'") == 0);
    CHECK_EQ_INT(e.subject, CNF_SUBJECT_SETTING);
    CHECK(strcmp(e.where, "channels") == 0);
    L.channels = CNF_CH_RGB;
    CHECK_EQ_INT(cnf__layer_check(&L, &per_channel, &e), CNF_E_USAGE);
    CHECK(strcmp(e.msg, "a 3-D kernel reads all channels at once and implies 'sum', not "
                        "'rgb'") == 0);
    cnf_kernel_free(k2);
    cnf_kernel_free(k3);
}

static void pool_stride_defaults_to_the_window(void)
{
    cnf_layer L;
    cnf_error e;
    int stride = -1;
    cnf_layer_init(&L);
    L.pool_size = 3;
    CHECK_EQ_INT(cnf__layer_pool_stride(&L, &stride, &e), CNF_OK);
    CHECK_EQ_INT(stride, 3);
    L.pool_stride = 1;
    CHECK_EQ_INT(cnf__layer_pool_stride(&L, &stride, &e), CNF_OK);
    CHECK_EQ_INT(stride, 1);
    L.pool_size = 0;
    CHECK_EQ_INT(cnf__layer_pool_stride(&L, &stride, &e), CNF_E_USAGE);
    CHECK(strcmp(e.msg, "must be at least 1") == 0);
    CHECK(strcmp(e.where, "pool-size") == 0);
    CHECK_EQ_INT(e.subject, CNF_SUBJECT_SETTING);
}

int main(void)
{
    RUN(defaults_are_the_documented_ones);
    RUN(strides_dilation_and_padding_below_their_range_are_refused);
    RUN(channels_sum_or_a_3d_kernel_sum_the_planes);
    RUN(pool_stride_defaults_to_the_window);
    return t_finish("test_layer");
}
