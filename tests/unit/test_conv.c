/* test_conv.c - convolution against hand-computed matrices: borders, padding, stride, dilation,
 * flip, scale/bias, channels, alpha, threads, exactness. */
#include "test_util.h"

#include <stdint.h>

static cnf_image run1(cnf_layer *L, const char *spec, const cnf_image *in, int threads)
{
    cnf_kernel *k = t_kernel(spec);
    const cnf_kernel *ks[1] = {k};
    cnf_image out;
    cnf_error e;
    L->kernels = ks;
    L->n_kernels = 1;
    if (t_run(L, in, threads, &out, &e) != CNF_OK) {
        fprintf(stderr, "run failed: %s\n", e.msg);
        abort();
    }
    cnf_kernel_free(k);
    return out;
}

static void seed_example_vertical_line_gives_12_21_15_24(void)
{
    float in[] = {0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12};
    float ex[] = {12, 21, 15, 24};
    cnf_image img = t_image(4, 4, 1, 0, in), out;
    cnf_layer L;
    cnf_layer_init(&L);
    L.padding = CNF_PAD_VALID;
    out = run1(&L, "[[0,1,0],[0,1,0],[0,1,0]]", &img, 1);
    CHECK(t_equal(&out, 2, 2, 1, ex));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void seed_example_diagonal_difference_is_minus_4(void)
{
    float in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float ex[] = {-4, -4, -4, -4};
    cnf_image img = t_image(3, 3, 1, 0, in), out;
    cnf_layer L;
    cnf_layer_init(&L);
    L.padding = CNF_PAD_VALID;
    out = run1(&L, "[[1,0],[0,-1]]", &img, 1);
    CHECK(t_equal(&out, 2, 2, 1, ex));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void seed_example_one_row_gradient_is_minus_2(void)
{
    float in[] = {1, 2, 3, 4, 5};
    float ex[] = {-2, -2, -2};
    cnf_image img = t_image(5, 1, 1, 0, in), out;
    cnf_layer L;
    cnf_layer_init(&L);
    L.padding = CNF_PAD_VALID;
    out = run1(&L, "[1,0,-1]", &img, 1);
    CHECK(t_equal(&out, 3, 1, 1, ex));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

/* A 1x1 kernel with padding shows the padded row itself. */
static void check_border_row(cnf_border b, int pad, const float *row, int n, const float *ex)
{
    cnf_image img = t_image(n, 1, 1, 0, row), out;
    cnf_layer L;
    cnf_layer_init(&L);
    L.padding = CNF_PAD_EXPLICIT;
    L.pad_h = 0;
    L.pad_w = pad;
    L.border = b;
    out = run1(&L, "[[1]]", &img, 1);
    CHECK(t_equal(&out, n + 2 * pad, 1, 1, ex));
    cnf_image_free(&out);
    cnf_image_free(&img);
    /* The same along the other axis. */
    img = t_image(1, n, 1, 0, row);
    L.pad_h = pad;
    L.pad_w = 0;
    out = run1(&L, "[[1]]", &img, 1);
    CHECK(t_equal(&out, 1, n + 2 * pad, 1, ex));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void each_border_mode_pads_as_the_spec_draws_it(void)
{
    float r[] = {1, 2, 3};
    float zero[] = {0, 0, 1, 2, 3, 0, 0};
    float repl[] = {1, 1, 1, 2, 3, 3, 3};
    float refl[] = {2, 1, 1, 2, 3, 3, 2};
    float mirr[] = {3, 2, 1, 2, 3, 2, 1};
    float wrap[] = {2, 3, 1, 2, 3, 1, 2};
    check_border_row(CNF_BORDER_ZERO, 2, r, 3, zero);
    check_border_row(CNF_BORDER_REPLICATE, 2, r, 3, repl);
    check_border_row(CNF_BORDER_REFLECT, 2, r, 3, refl);
    check_border_row(CNF_BORDER_MIRROR, 2, r, 3, mirr);
    check_border_row(CNF_BORDER_WRAP, 2, r, 3, wrap);
}

static void padding_wider_than_the_image_keeps_reflecting_and_wrapping(void)
{
    float r[] = {1, 2, 3};
    float refl[] = {2, 3, 3, 2, 1, 1, 2, 3, 3, 2, 1, 1, 2};
    float mirr[] = {2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2};
    float wrap[] = {2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2};
    float repl[] = {1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3};
    check_border_row(CNF_BORDER_REFLECT, 5, r, 3, refl);
    check_border_row(CNF_BORDER_MIRROR, 5, r, 3, mirr);
    check_border_row(CNF_BORDER_WRAP, 5, r, 3, wrap);
    check_border_row(CNF_BORDER_REPLICATE, 5, r, 3, repl);
}

static void mirror_on_a_length_one_axis_repeats_the_pixel(void)
{
    float r[] = {5};
    float ex[] = {5, 5, 5, 5, 5};
    check_border_row(CNF_BORDER_MIRROR, 2, r, 1, ex);
}

static cnf_image ramp(int w, int h)
{
    cnf_image img = t_image(w, h, 1, 0, NULL);
    for (int i = 0; i < w * h; i++)
        img.data[i] = (float)i;
    return img;
}

static void stride_picks_every_sth_pixel_per_axis(void)
{
    cnf_image img = ramp(4, 4), out;
    cnf_layer L;
    float ex2[] = {0, 2, 8, 10};
    float ex12[] = {0, 2, 4, 6, 8, 10, 12, 14};
    cnf_layer_init(&L);
    L.padding = CNF_PAD_VALID;
    L.stride_y = L.stride_x = 2;
    out = run1(&L, "[[1]]", &img, 1);
    CHECK(t_equal(&out, 2, 2, 1, ex2));
    cnf_image_free(&out);
    L.stride_y = 1;
    out = run1(&L, "[[1]]", &img, 1);
    CHECK(t_equal(&out, 2, 4, 1, ex12));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void same_padding_with_stride_matches_tensorflow_same(void)
{
    cnf_image img = ramp(5, 5), out;
    cnf_layer L;
    float ex5[] = {0, 2, 4, 10, 12, 14, 20, 22, 24};
    float ex4[] = {5, 7, 13, 15};
    cnf_layer_init(&L);
    L.stride_y = L.stride_x = 2;
    out = run1(&L, "identity", &img, 1);
    CHECK(t_equal(&out, 3, 3, 1, ex5));
    cnf_image_free(&out);
    cnf_image_free(&img);
    /* Even input: total padding 1, all of it after. */
    img = ramp(4, 4);
    out = run1(&L, "identity", &img, 1);
    CHECK(t_equal(&out, 2, 2, 1, ex4));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void dilation_spreads_the_taps(void)
{
    cnf_image img = ramp(5, 5), out;
    cnf_layer L;
    float ex1[] = {24};
    float ex2[] = {24, 28, 32, 44, 48, 52, 64, 68, 72};
    cnf_layer_init(&L);
    L.padding = CNF_PAD_VALID;
    L.dilation = 2;
    out = run1(&L, "[[1,0,0],[0,0,0],[0,0,1]]", &img, 1);
    CHECK(t_equal(&out, 1, 1, 1, ex1));
    cnf_image_free(&out);
    out = run1(&L, "[[1,1],[1,1]]", &img, 1);
    CHECK(t_equal(&out, 3, 3, 1, ex2));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void flip_rotates_weights_and_scale_bias_apply(void)
{
    float in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float ex_flip[] = {4, 4, 4, 4};
    float ex_sb[] = {-7, -7, -7, -7};
    cnf_image img = t_image(3, 3, 1, 0, in), out;
    cnf_layer L;
    cnf_layer_init(&L);
    L.padding = CNF_PAD_VALID;
    L.flip = 1;
    out = run1(&L, "[[1,0],[0,-1]]", &img, 1);
    CHECK(t_equal(&out, 2, 2, 1, ex_flip));
    cnf_image_free(&out);
    L.flip = 0;
    L.scale = 2;
    L.bias = 1;
    out = run1(&L, "[[1,0],[0,-1]]", &img, 1);
    CHECK(t_equal(&out, 2, 2, 1, ex_sb));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void even_kernel_same_padding_puts_the_extra_cell_after(void)
{
    float in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float ex[] = {-4, -4, 3, -4, -4, 6, 7, 8, 9};
    cnf_image img = t_image(3, 3, 1, 0, in), out;
    cnf_layer L;
    cnf_layer_init(&L);
    out = run1(&L, "[[1,0],[0,-1]]", &img, 1);
    CHECK(t_equal(&out, 3, 3, 1, ex));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void channel_modes_sum_gray_auto_and_3d_kernels(void)
{
    float in[] = {1, 2, 3, 4, 10, 20, 30, 40, 100, 200, 300, 400};
    float ex_sum[] = {111, 222, 333, 444};
    float ex_3d[] = {321, 642, 963, 1284};
    float ex_gray[4];
    cnf_image img = t_image(2, 2, 3, 0, in), out;
    cnf_layer L;
    for (int i = 0; i < 4; i++)
        ex_gray[i] = (float)(0.299 * in[i] + 0.587 * in[4 + i] + 0.114 * in[8 + i]);
    cnf_layer_init(&L);
    L.channels = CNF_CH_SUM;
    out = run1(&L, "[[1]]", &img, 1);
    CHECK(t_equal(&out, 2, 2, 1, ex_sum));
    cnf_image_free(&out);
    L.channels = CNF_CH_GRAY;
    out = run1(&L, "[[1]]", &img, 1);
    CHECK(t_equal(&out, 2, 2, 1, ex_gray));
    cnf_image_free(&out);
    L.channels = CNF_CH_AUTO;
    out = run1(&L, "[[1]]", &img, 1);
    CHECK(t_equal(&out, 2, 2, 3, in));
    cnf_image_free(&out);
    out = run1(&L, "[[[1]],[[2]],[[3]]]", &img, 1);
    CHECK(t_equal(&out, 2, 2, 1, ex_3d));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void a_3d_kernel_of_the_wrong_depth_is_a_usage_error(void)
{
    float in[] = {1, 2, 3, 4, 10, 20, 30, 40};
    cnf_image img = t_image(2, 2, 2, 0, in), out;
    cnf_kernel *k = t_kernel("[[[1]],[[2]],[[3]]]");
    const cnf_kernel *ks[1] = {k};
    cnf_layer L;
    cnf_error e;
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = 1;
    CHECK_EQ_INT(t_run(&L, &img, 1, &out, &e), CNF_E_USAGE);
    CHECK_STR_CONTAINS(e.msg, "depth 3");
    L.channels = CNF_CH_RGB;
    CHECK_EQ_INT(t_run(&L, &img, 1, &out, &e), CNF_E_USAGE);
    cnf_kernel_free(k);
    cnf_image_free(&img);
}

static void alpha_follows_the_anchor_and_is_never_convolved(void)
{
    /* 5x5 RGBA: colour = ramp, alpha = 100 + ramp. */
    cnf_image img = t_image(5, 5, 4, 1, NULL), out;
    cnf_layer L;
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < 25; i++)
            img.data[c * 25 + i] = (float)(c == 3 ? 100 + i : i);
    cnf_layer_init(&L);
    L.padding = CNF_PAD_VALID;
    L.stride_y = L.stride_x = 2;
    out = run1(&L, "box", &img, 1);
    CHECK_EQ_INT(out.channels, 4);
    CHECK_EQ_INT(out.has_alpha, 1);
    CHECK_EQ_INT(out.width, 2);
    /* Anchor (1,1): alpha(y,x) = A(2y+1, 2x+1). */
    CHECK(cnf_image_plane(&out, 3)[0] == 100 + 6);
    CHECK(cnf_image_plane(&out, 3)[1] == 100 + 8);
    CHECK(cnf_image_plane(&out, 3)[2] == 100 + 16);
    CHECK(cnf_image_plane(&out, 3)[3] == 100 + 18);
    /* Colour: mean of the 3x3 window around the same anchor. */
    CHECK(cnf_image_plane(&out, 0)[0] == 6);
    cnf_image_free(&out);
    /* Even kernel: anchor (0,0); zero border outside. */
    L.stride_y = L.stride_x = 1;
    L.padding = CNF_PAD_EXPLICIT;
    L.pad_h = L.pad_w = 1;
    out = run1(&L, "[[1,1],[1,1]]", &img, 1);
    CHECK_EQ_INT(out.width, 6);
    CHECK(cnf_image_plane(&out, 3)[0] == 0);       /* (-1,-1): zero border */
    CHECK(cnf_image_plane(&out, 3)[7] == 100 + 0); /* (1,1) -> A(0,0) */
    cnf_image_free(&out);
    L.keep_alpha = 0;
    out = run1(&L, "[[1,1],[1,1]]", &img, 1);
    CHECK_EQ_INT(out.channels, 3);
    CHECK_EQ_INT(out.has_alpha, 0);
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

/* Independent integer reference: int64 sums with the border rule written
 * out again here. */
static int ref_index(cnf_border b, int i, int n)
{
    if (i >= 0 && i < n)
        return i;
    if (b == CNF_BORDER_ZERO)
        return -1;
    if (b == CNF_BORDER_REPLICATE)
        return i < 0 ? 0 : n - 1;
    while (i < 0 || i >= n) {
        if (b == CNF_BORDER_WRAP)
            i = i < 0 ? i + n : i - n;
        else if (b == CNF_BORDER_REFLECT)
            i = i < 0 ? -i - 1 : 2 * n - 1 - i;
        else if (n == 1)
            i = 0;
        else
            i = i < 0 ? -i : 2 * n - 2 - i;
    }
    return i;
}

static void integer_kernels_on_8bit_data_are_exact_for_every_border(void)
{
    for (int trial = 0; trial < 40; trial++) {
        int w = 1 + (int)(rnd() % 40), h = 1 + (int)(rnd() % 40);
        int kh = 1 + (int)(rnd() % 6), kw = 1 + (int)(rnd() % 6);
        int sy = 1 + (int)(rnd() % 3), sx = 1 + (int)(rnd() % 3), d = 1 + (int)(rnd() % 2);
        cnf_border b = (cnf_border)(rnd() % 5);
        int pad = (int)(rnd() % 4);
        char spec[4096];
        size_t o = 0;
        int wts[36];
        cnf_image img = t_image(w, h, 1, 0, NULL), out;
        cnf_layer L;
        long oh, ow;
        int ok = 1;
        for (int i = 0; i < w * h; i++)
            img.data[i] = (float)(rnd() % 256);
        o += (size_t)snprintf(spec + o, sizeof spec - o, "[");
        for (int i = 0; i < kh; i++) {
            o += (size_t)snprintf(spec + o, sizeof spec - o, "%s[", i ? "," : "");
            for (int j = 0; j < kw; j++) {
                wts[i * kw + j] = (int)(rnd() % 201) - 100;
                o += (size_t)snprintf(spec + o, sizeof spec - o, "%s%d", j ? "," : "",
                                      wts[i * kw + j]);
            }
            o += (size_t)snprintf(spec + o, sizeof spec - o, "]");
        }
        snprintf(spec + o, sizeof spec - o, "]");
        oh = (h + 2 * pad - d * (kh - 1) - 1);
        ow = (w + 2 * pad - d * (kw - 1) - 1);
        if (oh < 0 || ow < 0) {
            cnf_image_free(&img);
            continue;
        }
        oh = oh / sy + 1;
        ow = ow / sx + 1;
        cnf_layer_init(&L);
        L.padding = CNF_PAD_EXPLICIT;
        L.pad_h = L.pad_w = pad;
        L.border = b;
        L.stride_y = sy;
        L.stride_x = sx;
        L.dilation = d;
        out = run1(&L, spec, &img, 1 + trial % 3);
        CHECK(out.width == ow && out.height == oh);
        for (long y = 0; y < oh && ok; y++)
            for (long x = 0; x < ow && ok; x++) {
                long long acc = 0;
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++) {
                        int r = ref_index(b, (int)(y * sy + i * d - pad), h);
                        int c = ref_index(b, (int)(x * sx + j * d - pad), w);
                        if (r >= 0 && c >= 0)
                            acc += (long long)wts[i * kw + j] * (long long)img.data[r * w + c];
                    }
                if ((double)out.data[y * ow + x] != (double)acc) {
                    fprintf(stderr, "trial %d (%s, border %d): (%ld,%ld) = %.9g, expected %lld\n",
                            trial, spec, b, y, x, out.data[y * ow + x], acc);
                    ok = 0;
                }
            }
        CHECK(ok);
        cnf_image_free(&out);
        cnf_image_free(&img);
    }
}

static void identity_kernel_copies_the_image_for_every_border(void)
{
    cnf_image img = t_image(17, 11, 3, 0, NULL), out;
    for (int i = 0; i < 17 * 11 * 3; i++)
        img.data[i] = (float)(rnd() % 1000) / 7.0f;
    for (int b = 0; b < 5; b++) {
        cnf_layer L;
        cnf_layer_init(&L);
        L.border = (cnf_border)b;
        out = run1(&L, "identity", &img, 2);
        CHECK(t_equal(&out, 17, 11, 3, img.data));
        cnf_image_free(&out);
    }
    cnf_image_free(&img);
}

static void any_thread_count_gives_identical_bits(void)
{
    cnf_image img = t_image(97, 131, 4, 1, NULL), ref, out;
    const char *specs[] = {"sobel_v", "gaussian:7:1.5", "[[0.1,0.2],[0.3,-0.7]]", "box:5"};
    for (int i = 0; i < 97 * 131 * 4; i++)
        img.data[i] = (float)(rnd() % 256);
    for (size_t s = 0; s < 4; s++) {
        cnf_layer L;
        cnf_layer_init(&L);
        L.border = CNF_BORDER_REFLECT;
        ref = run1(&L, specs[s], &img, 1);
        for (int t = 2; t <= 7; t += 5) {
            out = run1(&L, specs[s], &img, t);
            CHECK(out.width == ref.width && out.height == ref.height &&
                  memcmp(out.data, ref.data,
                         sizeof(float) * (size_t)ref.width * ref.height * ref.channels) == 0);
            cnf_image_free(&out);
        }
        cnf_image_free(&ref);
    }
    cnf_image_free(&img);
}

static void a_kernel_larger_than_the_input_leaves_no_output(void)
{
    cnf_image img = ramp(3, 3), out;
    cnf_kernel *k = t_kernel("box:5");
    const cnf_kernel *ks[1] = {k};
    cnf_layer L;
    cnf_error e;
    cnf_layer_init(&L);
    L.padding = CNF_PAD_VALID;
    L.kernels = ks;
    L.n_kernels = 1;
    CHECK_EQ_INT(t_run(&L, &img, 1, &out, &e), CNF_E_EMPTY);
    CHECK_EQ_INT(cnf_status_is_usage(CNF_E_EMPTY), 0);
    cnf_kernel_free(k);
    cnf_image_free(&img);
}

static void divisor_gives_the_correctly_rounded_quotient(void)
{
    /* box:3 over values whose sum is 10: 10/9 exactly rounded to float. */
    float in[] = {1, 1, 1, 1, 2, 1, 1, 1, 1};
    cnf_image img = t_image(3, 3, 1, 0, in), out;
    cnf_layer L;
    cnf_layer_init(&L);
    L.padding = CNF_PAD_VALID;
    out = run1(&L, "box", &img, 1);
    CHECK(out.data[0] == (float)(10.0 / 9.0));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void memory_limit_refuses_a_plan_before_running(void)
{
    cnf_kernel *k = t_kernel("sobel_v");
    const cnf_kernel *ks[1] = {k};
    cnf_layer L;
    cnf_plan *p = NULL;
    cnf_error e;
    cnf_plan_limits lim = {1 << 20, 0, 0, 0};
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = 1;
    CHECK_EQ_INT(cnf_plan_create(&L, 4000, 3000, 3, 0, &lim, &p, &e), CNF_E_TOO_BIG);
    /* The limit is named as data; the CLI words it as --max-memory. */
    CHECK_EQ_INT(e.limit, CNF_LIMIT_MEMORY);
    CHECK_STR_CONTAINS(e.msg, "memory limit");
    CHECK(p == NULL);
    cnf_kernel_free(k);
}

/* Run a layer on img with limits.portable set as asked; abort on failure. */
static cnf_image run_path(const cnf_layer *L, const cnf_image *img, int threads, int portable)
{
    cnf_plan_limits lim = {0, portable, 0, 0};
    cnf_plan *p = NULL;
    cnf_image out;
    cnf_error e;
    if (cnf_plan_create(L, img->width, img->height, img->channels, img->has_alpha, &lim, &p,
                        &e) != CNF_OK ||
        cnf_plan_run(p, img, threads, &out, &e) != CNF_OK) {
        fprintf(stderr, "run failed: %s\n", e.msg);
        abort();
    }
    cnf_plan_free(p);
    return out;
}

/* A random kernel spec of one class; an inline matrix or a built-in:
 * 0 a built-in, 1 rank 1 with integer factors (sometimes equal column or
 * row factors: the running and window sums), 2 dense integers, 3 sparse
 * integers, 4 one fraction, 5 a sized built-in (box, gaussian, lines, frame
 * up to 25), 6 a 3-D kernel of `depth` planes of integers. */
static void random_spec(int cls, int depth, char *spec, size_t size)
{
    static const char *const builtin[] = {
        "sobel_v", "sobel_h", "prewitt_v", "scharr_h", "laplacian", "laplacian8", "sharpen",
        "emboss", "box", "box:5", "box:15", "gaussian", "gaussian:5", "gaussian:9",
        "line_v:25", "line_h:7", "line_diag:25", "line_anti:9", "frame:7", "identity",
        "gaussian:5:1.3"};
    int kh = 1 + (int)(rnd() % 7), kw = 1 + (int)(rnd() % 7);
    int u[7], v[7];
    size_t o = 0;
    static const char *const sized[] = {"box", "gaussian", "line_v", "line_h", "line_diag",
                                        "line_anti", "frame"};
    int equal = (int)(rnd() % 3), planes = cls == 6 ? depth : 1;
    if (cls == 0) {
        snprintf(spec, size, "%s", builtin[rnd() % (sizeof builtin / sizeof builtin[0])]);
        return;
    }
    if (cls == 5) {
        snprintf(spec, size, "%s:%d", sized[rnd() % (sizeof sized / sizeof sized[0])],
                 2 + (int)(rnd() % 24));
        return;
    }
    for (int i = 0; i < 7; i++) {
        u[i] = (int)(rnd() % 9) - 4;
        v[i] = (int)(rnd() % 9) - 4;
        if (equal == 1 && i)
            u[i] = u[0]; /* equal column factors */
        if (equal == 2 && i)
            v[i] = v[0]; /* equal row factors */
    }
    if (cls == 6)
        o += (size_t)snprintf(spec + o, size - o, "[");
    for (int pl = 0; pl < planes; pl++) {
        o += (size_t)snprintf(spec + o, size - o, "%s[", pl ? "," : "");
        for (int i = 0; i < kh; i++) {
            o += (size_t)snprintf(spec + o, size - o, "%s[", i ? "," : "");
            for (int j = 0; j < kw; j++) {
                int w;
                if (cls == 1 || (cls == 6 && pl == 0))
                    w = u[i] * v[j]; /* rank 1, integer factors */
                else if (cls == 2)
                    w = (int)(rnd() % 201) - 100; /* dense */
                else if (cls == 6)
                    w = (int)(rnd() % 7) - 3; /* the other planes of a 3-D kernel */
                else
                    w = rnd() % 4 == 0 ? (int)(rnd() % 21) - 10 : 0; /* sparse */
                if (cls == 4 && i == 0 && j == 0)
                    o += (size_t)snprintf(spec + o, size - o, "%s0.5", j ? "," : "");
                else
                    o += (size_t)snprintf(spec + o, size - o, "%s%d", j ? "," : "", w);
            }
            o += (size_t)snprintf(spec + o, size - o, "]");
        }
        o += (size_t)snprintf(spec + o, size - o, "]");
    }
    if (cls == 6)
        snprintf(spec + o, size - o, "]");
}

/* The --explain path of the plan's first stage names the two-pass path. */
static int takes_two_passes(const cnf_layer *L, const cnf_image *img)
{
    cnf_plan *p = NULL;
    cnf_stage_info info;
    cnf_error e;
    int yes = 0;
    if (cnf_plan_create(L, img->width, img->height, img->channels, img->has_alpha, NULL, &p,
                        &e) != CNF_OK)
        return 0;
    if (cnf_plan_stage_info(p, 0, &info, &e) == CNF_OK && info.path)
        yes = strstr(info.path, "two passes") != NULL;
    cnf_plan_free(p);
    return yes;
}

/* The two-pass path against the direct (portable) one, the bound of
 * doc/reference.md: |two-pass - direct| <= (kh + kw + 8) * 2^-24 *
 * (sum|w| * |scale / divisor| * max|input| + |bias|); a NaN or infinite
 * direct value exactly.  *worst: the largest difference / bound seen. */
static int within_twopass_bound(const cnf_image *got, const cnf_image *ref, const cnf_image *in,
                                const cnf_kernel *k, const cnf_layer *L, double *worst)
{
    size_t n = (size_t)ref->width * ref->height * ref->channels, nw;
    double wsum = 0, vmax = 0, bound;
    const double *w = cnf_kernel_weights(k);
    int ok = 1;
    if (got->width != ref->width || got->height != ref->height ||
        got->channels != ref->channels)
        return 0;
    nw = (size_t)cnf_kernel_width(k) * (size_t)cnf_kernel_height(k);
    for (size_t i = 0; i < nw; i++)
        wsum += fabs(w[i]);
    for (size_t i = 0; i < (size_t)in->width * in->height * in->channels; i++)
        if (fabs(in->data[i]) > vmax && isfinite(in->data[i]))
            vmax = fabs(in->data[i]);
    bound = (cnf_kernel_width(k) + cnf_kernel_height(k) + 8) * ldexp(1.0, -24) *
            (wsum * fabs(L->scale / cnf_kernel_divisor(k)) * vmax +
             fabs(L->bias + cnf_kernel_bias(k)));
    for (size_t i = 0; i < n; i++) {
        double a = got->data[i], b = ref->data[i];
        if (isnan(b) || isinf(b)) {
            if (!(isnan(b) ? isnan(a) : a == b))
                ok = 0;
        } else if (!(fabs(a - b) <= bound)) {
            ok = 0;
        } else if (bound > 0 && fabs(a - b) / bound > *worst) {
            *worst = fabs(a - b) / bound;
        }
    }
    return ok;
}

static void fast_paths_give_the_portable_bits(void)
{
    /* Random images (8-bit, 16-bit-range integers, some with fractions or
     * NaN), random kernels of every class and random geometry: the fast
     * paths (float32 integer sums, separable passes) must give exactly the
     * floats of the portable double path, for 1 and 2 threads. */
    int mismatches = 0;
    for (int trial = 0; trial < 1500; trial++) {
        /* sometimes taller than a band (32 rows), often smaller than the kernel */
        int w = 1 + (int)(rnd() % 70), h = 1 + (int)(rnd() % (rnd() % 4 ? 50 : 120));
        int colour = rnd() % 2 ? 3 : 1, alpha = rnd() % 4 == 0;
        int c = colour + alpha, data = (int)(rnd() % 5), cls = (int)(rnd() % 7);
        char spec[4096];
        cnf_kernel *k;
        const cnf_kernel *ks[1];
        cnf_layer L;
        cnf_image img = t_image(w, h, c, alpha, NULL), fast, port, fast2;
        for (int i = 0; i < w * h * c; i++) {
            if (data == 0)
                img.data[i] = (float)(rnd() % 256);
            else if (data == 1)
                img.data[i] = (float)(rnd() % 131072) - 65536.0f;
            else if (data == 2)
                img.data[i] = (float)(rnd() % 256) + (rnd() % 50 == 0 ? 0.25f : 0.0f);
            else if (data == 3)
                img.data[i] = rnd() % 97 == 0 ? NAN : (float)(rnd() % 256);
            else
                img.data[i] = (float)(rnd() % 65536);
        }
        if (cls == 6 && colour != 3)
            cls = 1;
        random_spec(cls, colour, spec, sizeof spec);
        k = t_kernel(spec);
        ks[0] = k;
        cnf_layer_init(&L);
        L.kernels = ks;
        L.n_kernels = 1;
        L.border = (cnf_border)(rnd() % 5);
        switch (rnd() % 3) {
        case 0: L.padding = CNF_PAD_SAME; break;
        case 1: L.padding = CNF_PAD_VALID; break;
        default:
            L.padding = CNF_PAD_EXPLICIT;
            L.pad_h = (int)(rnd() % 5);
            L.pad_w = (int)(rnd() % 5);
        }
        L.stride_y = 1 + (int)(rnd() % 3);
        L.stride_x = rnd() % 2 ? 1 : 1 + (int)(rnd() % 3);
        L.dilation = 1 + (int)(rnd() % 2);
        L.flip = rnd() % 2;
        L.channels = colour == 3 && (cls == 6 || rnd() % 3 == 0) ? CNF_CH_SUM : CNF_CH_AUTO;
        if (rnd() % 4 == 0) {
            L.scale = 0.5;
            L.bias = 3;
        }
        {
            cnf_plan_limits lim = {0, 0, 0, 0};
            cnf_plan *p = NULL;
            cnf_error e;
            if (cnf_plan_create(&L, w, h, c, alpha, &lim, &p, &e) != CNF_OK) {
                /* no output pixels for this geometry: not this test's business */
                cnf_image_free(&img);
                cnf_kernel_free(k);
                continue;
            }
            cnf_plan_free(p);
        }
        fast = run_path(&L, &img, 1, 0);
        fast2 = run_path(&L, &img, 2, 0);
        port = run_path(&L, &img, 1, 1);
        if (takes_two_passes(&L, &img)) {
            /* a rank-1 kernel with a fraction (gaussian:5:1.3, a 1xN row with
             * 0.5): float32 passes, within their bound, the same bits for any -j */
            size_t n = (size_t)port.width * port.height * port.channels;
            double worst = 0;
            if (memcmp(fast.data, fast2.data, n * sizeof(float)) != 0 ||
                !within_twopass_bound(&fast, &port, &img, k, &L, &worst)) {
                if (mismatches++ < 5)
                    fprintf(stderr, "trial %d: two passes of %s on %dx%dx%d (data %d)\n", trial,
                            spec, w, h, c, data);
            }
        } else {
            size_t n = (size_t)port.width * port.height * port.channels;
            /* memcmp: NaN payloads and signed zeros count too */
            if (memcmp(fast.data, port.data, n * sizeof(float)) != 0 ||
                memcmp(fast2.data, port.data, n * sizeof(float)) != 0) {
                if (mismatches++ < 5)
                    fprintf(stderr, "trial %d: %s on %dx%dx%d (data %d) differs from portable\n",
                            trial, spec, w, h, c, data);
            }
        }
        cnf_image_free(&fast);
        cnf_image_free(&fast2);
        cnf_image_free(&port);
        cnf_image_free(&img);
        cnf_kernel_free(k);
    }
    CHECK_EQ_INT(mismatches, 0);
}

/* A random number in [-1, 1). */
static double rnd_unit(void) { return (double)(rnd() % 2000001) / 1000000.0 - 1.0; }

static void rank1_fractional_kernels_take_two_passes_within_the_bound(void)
{
    /* Outer products of random vectors (sizes 1 to 9 and a few up to 31,
     * even ones too, symmetric or not, some zero factors), random images
     * (8-bit, signed fractions, values near the float32 limit so that
     * rows overflow and are made again in double), every border, padding,
     * stride, dilation, flip, scale and bias: the path must be the two
     * passes, within the bound of the direct path, and the same bits for
     * 1 and 2 threads and from one run to the next. */
    int failures = 0, runs = 0;
    double worst = 0;
    for (int trial = 0; trial < 700; trial++) {
        int kh = rnd() % 8 ? 1 + (int)(rnd() % 9) : 10 + (int)(rnd() % 22);
        int kw = rnd() % 8 ? 1 + (int)(rnd() % 9) : 10 + (int)(rnd() % 22);
        int w = 1 + (int)(rnd() % 100), h = 1 + (int)(rnd() % 90);
        int colour = rnd() % 2 ? 3 : 1, alpha = rnd() % 4 == 0, c = colour + alpha;
        int data = (int)(rnd() % 4), sym = (int)(rnd() % 3);
        double u[31], v[31];
        char *spec = malloc(31 * 31 * 30 + 100);
        size_t o = 0;
        cnf_kernel *k;
        const cnf_kernel *ks[1];
        cnf_layer L;
        cnf_image img = t_image(w, h, c, alpha, NULL), a, b, a2, ref;
        for (int i = 0; i < kh; i++)
            u[i] = rnd_unit();
        for (int j = 0; j < kw; j++)
            v[j] = rnd_unit();
        if (sym) /* mirrored factors, as a Gaussian's */
            for (int i = 0; i < kh / 2; i++)
                u[kh - 1 - i] = u[i];
        if (sym == 2)
            for (int j = 0; j < kw / 2; j++)
                v[kw - 1 - j] = v[j];
        if (rnd() % 3 == 0)
            u[rnd() % (unsigned)kh] = 0;
        if (rnd() % 3 == 0)
            v[rnd() % (unsigned)kw] = 0;
        u[0] = u[0] == 0 ? 0.3 : u[0]; /* never all zeros */
        v[0] = v[0] == 0 ? -0.7 : v[0];
        o += (size_t)sprintf(spec + o, "[");
        for (int i = 0; i < kh; i++) {
            o += (size_t)sprintf(spec + o, "%s[", i ? "," : "");
            for (int j = 0; j < kw; j++)
                o += (size_t)sprintf(spec + o, "%s%.17g", j ? "," : "", u[i] * v[j]);
            o += (size_t)sprintf(spec + o, "]");
        }
        sprintf(spec + o, "]");
        for (int i = 0; i < w * h * c; i++) {
            if (data == 0)
                img.data[i] = (float)(rnd() % 256);
            else if (data == 1)
                img.data[i] = (float)(rnd_unit() * 1000);
            else if (data == 2)
                img.data[i] = (float)(rnd_unit() * 3e38);
            else
                img.data[i] = (float)(rnd() % 65536) / 256.0f;
        }
        k = t_kernel(spec);
        ks[0] = k;
        cnf_layer_init(&L);
        L.kernels = ks;
        L.n_kernels = 1;
        L.border = (cnf_border)(rnd() % 5);
        switch (rnd() % 3) {
        case 0: L.padding = CNF_PAD_SAME; break;
        case 1: L.padding = CNF_PAD_VALID; break;
        default:
            L.padding = CNF_PAD_EXPLICIT;
            L.pad_h = (int)(rnd() % 7);
            L.pad_w = (int)(rnd() % 7);
        }
        L.stride_y = rnd() % 2 ? 1 : 1 + (int)(rnd() % 3);
        L.stride_x = rnd() % 2 ? 1 : 1 + (int)(rnd() % 3);
        L.dilation = rnd() % 2 ? 1 : 1 + (int)(rnd() % 3);
        L.flip = rnd() % 2;
        L.channels = colour == 1 && rnd() % 2 ? CNF_CH_SUM : CNF_CH_AUTO;
        if (rnd() % 4 == 0) {
            L.scale = 0.37;
            L.bias = -5.5;
        }
        {
            cnf_plan *p = NULL;
            cnf_error e;
            if (cnf_plan_create(&L, w, h, c, alpha, NULL, &p, &e) != CNF_OK) {
                cnf_image_free(&img);
                cnf_kernel_free(k);
                free(spec);
                continue; /* no output pixels for this geometry */
            }
            cnf_plan_free(p);
        }
        runs++;
        if (!takes_two_passes(&L, &img)) {
            if (failures++ < 5)
                fprintf(stderr, "trial %d: %dx%d rank-1 kernel not on the two-pass path\n",
                        trial, kh, kw);
        }
        a = run_path(&L, &img, 1, 0);
        b = run_path(&L, &img, 2, 0);
        a2 = run_path(&L, &img, 2, 0);
        ref = run_path(&L, &img, 1, 1);
        {
            size_t n = (size_t)ref.width * ref.height * ref.channels;
            if (memcmp(a.data, b.data, n * sizeof(float)) != 0 ||
                memcmp(b.data, a2.data, n * sizeof(float)) != 0 ||
                !within_twopass_bound(&a, &ref, &img, k, &L, &worst)) {
                if (failures++ < 5)
                    fprintf(stderr, "trial %d: %dx%d on %dx%dx%d (data %d, border %d, stride "
                                    "%d,%d, dilation %d)\n",
                            trial, kh, kw, w, h, c, data, (int)L.border, L.stride_y,
                            L.stride_x, L.dilation);
            }
        }
        cnf_image_free(&a);
        cnf_image_free(&b);
        cnf_image_free(&a2);
        cnf_image_free(&ref);
        cnf_image_free(&img);
        cnf_kernel_free(k);
        free(spec);
    }
    fprintf(stderr, "two passes: %d runs, the largest difference %.3g of the bound\n", runs,
            worst);
    CHECK(runs > 500);
    CHECK_EQ_INT(failures, 0);
}

/* gaussian:5:1 two ways: by its own two passes and by hand, in double, from
 * the 1-D weights (a 7x5 ramp, replicate border, so every output uses
 * border cells too). */
static void gaussian_by_sigma_blurs_like_the_sum_by_hand(void)
{
    float in[35];
    double g[5], gs = 0;
    cnf_image img, out;
    cnf_layer L;
    int bad = 0;
    for (int i = 0; i < 35; i++)
        in[i] = (float)((i * 37) % 11) * 20.0f;
    for (int j = 0; j < 5; j++) {
        g[j] = exp(-(j - 2) * (j - 2) / 2.0);
        gs += g[j];
    }
    img = t_image(7, 5, 1, 0, in);
    cnf_layer_init(&L);
    L.border = CNF_BORDER_REPLICATE;
    out = run1(&L, "gaussian::0.6", &img, 2); /* 2*ceil(1.8)+1 = 5 */
    CHECK_EQ_INT(out.width, 7);
    cnf_image_free(&out);
    out = run1(&L, "gaussian:5:1", &img, 2);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 7; x++) {
            double sum = 0;
            for (int i = 0; i < 5; i++)
                for (int j = 0; j < 5; j++) {
                    int r = y + i - 2, q = x + j - 2;
                    r = r < 0 ? 0 : r > 4 ? 4 : r;
                    q = q < 0 ? 0 : q > 6 ? 6 : q;
                    sum += g[i] * g[j] / (gs * gs) * in[r * 7 + q];
                }
            if (fabs(out.data[y * 7 + x] - sum) > 1e-4)
                bad++;
        }
    CHECK_EQ_INT(bad, 0);
    cnf_image_free(&out);
    cnf_image_free(&img);
}

static void box_sums_near_every_border_by_hand(void)
{
    /* 3x3 box (sum / 9) on a 4x3 ramp 0..11, replicate border, fast path:
     * the top-left output sums rows {0,0,4} x cols {0,0,1}:
     * 0+0+1 + 0+0+1 + 4+4+5 = 15 -> 15/9. */
    float v[12];
    cnf_layer L;
    cnf_image img, out;
    for (int i = 0; i < 12; i++)
        v[i] = (float)i;
    img = t_image(4, 3, 1, 0, v);
    cnf_layer_init(&L);
    L.border = CNF_BORDER_REPLICATE;
    out = run1(&L, "box", &img, 1);
    CHECK(out.data[0] == (float)(15.0 / 9.0));
    /* centre (1,1): 0+1+2+4+5+6+8+9+10 = 45 -> 5 */
    CHECK(out.data[5] == 5.0f);
    /* bottom-right (3,2): rows {6,10,10} -> cols {2,3,3}:
     * 6+7+7 + 10+11+11 + 10+11+11 = 84 */
    CHECK(out.data[11] == (float)(84.0 / 9.0));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

/* Every fast-path kernel shape against the portable path for every border,
 * padding and dilation on an image taller than two bands, with alpha. */
static void each_fast_kernel_matches_portable_for_every_border_and_padding(void)
{
    static const char *const specs[] = {
        "box:15", "box:4", "box:16", "gaussian:7", "sobel_v", "line_v:25", "line_h:25",
        "line_diag:25", "frame:7", "[[2,2,2,2,2],[4,4,4,4,4],[2,2,2,2,2]]",
        "[[3,3,3,3],[3,3,3,3],[3,3,3,3],[3,3,3,3],[3,3,3,3]]", "[[1,-2],[3,4]]"};
    int w = 61, h = 77, mismatches = 0;
    cnf_image img = t_image(w, h, 4, 1, NULL);
    for (int i = 0; i < w * h * 4; i++)
        img.data[i] = (float)(rnd() % 256);
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        cnf_kernel *k = t_kernel(specs[s]);
        const cnf_kernel *ks[1] = {k};
        for (int b = 0; b < 5; b++)
            for (int pad = 0; pad < 3; pad++)
                for (int d = 1; d <= 2; d++) {
                    cnf_layer L;
                    cnf_image f1, f2, port;
                    size_t n;
                    cnf_layer_init(&L);
                    L.kernels = ks;
                    L.n_kernels = 1;
                    L.border = (cnf_border)b;
                    L.padding = pad == 0 ? CNF_PAD_SAME
                                : pad == 1 ? CNF_PAD_VALID
                                           : CNF_PAD_EXPLICIT;
                    L.pad_h = 3;
                    L.pad_w = 9;
                    L.dilation = d;
                    f1 = run_path(&L, &img, 1, 0);
                    f2 = run_path(&L, &img, 2, 0);
                    port = run_path(&L, &img, 1, 1);
                    n = (size_t)port.width * port.height * port.channels;
                    if (memcmp(f1.data, port.data, n * sizeof(float)) != 0 ||
                        memcmp(f2.data, port.data, n * sizeof(float)) != 0) {
                        if (mismatches++ < 5)
                            fprintf(stderr, "%s border %d padding %d dilation %d differs\n",
                                    specs[s], b, pad, d);
                    }
                    cnf_image_free(&f1);
                    cnf_image_free(&f2);
                    cnf_image_free(&port);
                }
        cnf_kernel_free(k);
    }
    cnf_image_free(&img);
    CHECK_EQ_INT(mismatches, 0);
}

/* box:5 is a running-sums kernel (5 rows down, 5 columns along); on the ramp
 * v(x, y) = 7y + x, 7 wide and 40 high, a window over rows R and columns C
 * sums to 7 |C| sum(R) + |R| sum(C). */
static void box5_running_sums_near_the_borders_by_hand(void)
{
    float v[7 * 40];
    cnf_image img, out;
    cnf_layer L;
    for (int i = 0; i < 7 * 40; i++)
        v[i] = (float)i;
    img = t_image(7, 40, 1, 0, v);
    cnf_layer_init(&L);
    /* zero: (0,0) rows {0,1,2} cols {0,1,2}: 7*3*3 + 3*3 = 72 */
    out = run1(&L, "box:5", &img, 1);
    CHECK(out.data[0] == (float)(72 / 25.0));
    /* (6,39): rows {37,38,39} cols {4,5,6}: 7*3*114 + 3*15 = 2439 */
    CHECK(out.data[39 * 7 + 6] == (float)(2439 / 25.0));
    /* (0,33), the second row of the second band: rows 31..35, cols {0,1,2}:
     * 7*3*165 + 5*3 = 3480 */
    CHECK(out.data[33 * 7] == (float)(3480 / 25.0));
    /* (3,33): cols 1..5: 7*5*165 + 5*15 = 5850 = 25 * 234 */
    CHECK(out.data[33 * 7 + 3] == 234.0f);
    cnf_image_free(&out);
    /* replicate: (0,0) rows and cols {0,0,0,1,2}: 7*5*3 + 5*3 = 120 */
    L.border = CNF_BORDER_REPLICATE;
    out = run1(&L, "box:5", &img, 2);
    CHECK(out.data[0] == (float)(120 / 25.0));
    cnf_image_free(&out);
    /* reflect: {1,0,0,1,2}: 7*5*4 + 5*4 = 160 */
    L.border = CNF_BORDER_REFLECT;
    out = run1(&L, "box:5", &img, 1);
    CHECK(out.data[0] == (float)(160 / 25.0));
    cnf_image_free(&out);
    /* mirror: {2,1,0,1,2}: 7*5*6 + 5*6 = 240 */
    L.border = CNF_BORDER_MIRROR;
    out = run1(&L, "box:5", &img, 1);
    CHECK(out.data[0] == (float)(240 / 25.0));
    cnf_image_free(&out);
    /* wrap: rows {38,39,0,1,2} (sum 80), cols {5,6,0,1,2} (sum 14):
     * 7*5*80 + 5*14 = 2870 */
    L.border = CNF_BORDER_WRAP;
    out = run1(&L, "box:5", &img, 2);
    CHECK(out.data[0] == (float)(2870 / 25.0));
    cnf_image_free(&out);
    cnf_image_free(&img);
}

int main(void)
{
    RUN(seed_example_vertical_line_gives_12_21_15_24);
    RUN(seed_example_diagonal_difference_is_minus_4);
    RUN(seed_example_one_row_gradient_is_minus_2);
    RUN(each_border_mode_pads_as_the_spec_draws_it);
    RUN(padding_wider_than_the_image_keeps_reflecting_and_wrapping);
    RUN(mirror_on_a_length_one_axis_repeats_the_pixel);
    RUN(stride_picks_every_sth_pixel_per_axis);
    RUN(same_padding_with_stride_matches_tensorflow_same);
    RUN(dilation_spreads_the_taps);
    RUN(flip_rotates_weights_and_scale_bias_apply);
    RUN(even_kernel_same_padding_puts_the_extra_cell_after);
    RUN(channel_modes_sum_gray_auto_and_3d_kernels);
    RUN(a_3d_kernel_of_the_wrong_depth_is_a_usage_error);
    RUN(alpha_follows_the_anchor_and_is_never_convolved);
    RUN(integer_kernels_on_8bit_data_are_exact_for_every_border);
    RUN(identity_kernel_copies_the_image_for_every_border);
    RUN(any_thread_count_gives_identical_bits);
    RUN(a_kernel_larger_than_the_input_leaves_no_output);
    RUN(divisor_gives_the_correctly_rounded_quotient);
    RUN(memory_limit_refuses_a_plan_before_running);
    RUN(fast_paths_give_the_portable_bits);
    RUN(rank1_fractional_kernels_take_two_passes_within_the_bound);
    RUN(gaussian_by_sigma_blurs_like_the_sum_by_hand);
    RUN(box_sums_near_every_border_by_hand);
    RUN(each_fast_kernel_matches_portable_for_every_border_and_padding);
    RUN(box5_running_sums_near_the_borders_by_hand);
    return t_finish("test_conv");
}
