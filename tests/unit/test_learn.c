/* test_learn.c - cnf_learn_kernel: random kernels come back from targets the filter itself
 * made (cnf_plan_run on the same geometry), for every border, padding, stride, dilation and
 * channel rule; undetermined systems and wrong targets are refused; clipped values. */
#include "test_util.h"

#include "../../src/lib/internal.h"

#include <stdint.h>

static uint64_t rng_state = 88172645463325252ULL;

/* xorshift64: the same numbers on every machine. */
static double rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Values: 8-bit integers (an image) or real numbers in [-2, 2) (a matrix). */
enum { INTEGERS, REALS };

static cnf_image random_image(int w, int h, int c, int kind)
{
    cnf_image img = t_image(w, h, c, 0, NULL);
    for (size_t i = 0; i < (size_t)w * h * c; i++)
        img.data[i] = kind == INTEGERS ? (float)(int)(rnd() * 256) : (float)(rnd() * 4 - 2);
    return img;
}

/* A random kernel: weights and bias multiples of 1/256 in [-1, 1) (so that the filter's
 * float32 result is exact on integer inputs), or any double in [-1, 1). */
static cnf_kernel *random_kernel(int kh, int kw, int depth, int bias, int dyadic)
{
    cnf_kernel *k = cnf__kernel_new(kw, kh, depth);
    for (int i = 0; i < kh * kw * depth; i++)
        k->weights[i] = dyadic ? floor(rnd() * 512 - 256) / 256 : rnd() * 2 - 1;
    k->is3d = depth > 1;
    if (bias)
        k->bias = dyadic ? floor(rnd() * 4096 - 2048) / 256 : rnd() * 16 - 8;
    return k;
}

/* The filter's output of `in` under geometry L with kernel k. */
static cnf_image filter(const cnf_layer *geom, const cnf_kernel *k, const cnf_image *in)
{
    cnf_layer L = *geom;
    const cnf_kernel *ks[1] = {k};
    cnf_image out;
    cnf_error e;
    L.kernels = ks;
    L.n_kernels = 1;
    if (t_run(&L, in, 2, &out, &e) != CNF_OK) {
        fprintf(stderr, "filter failed: %s\n", e.msg);
        abort();
    }
    return out;
}

static cnf_learn_options options_for(const cnf_layer *geom, int kh, int kw, int bias)
{
    cnf_learn_options o;
    memset(&o, 0, sizeof o);
    o.kh = kh;
    o.kw = kw;
    o.bias = bias;
    o.geometry = *geom;
    o.input_name = "in.png";
    o.target_name = "target.png";
    return o;
}

/* The largest difference between two kernels' weights and biases, or 1e9 when their shapes
 * differ. */
static double kernel_diff(const cnf_kernel *a, const cnf_kernel *b)
{
    double m = fabs(a->bias - b->bias);
    if (a->w != b->w || a->h != b->h || a->depth != b->depth || a->is3d != b->is3d)
        return 1e9;
    for (int i = 0; i < a->w * a->h * a->depth; i++)
        if (fabs(a->weights[i] - b->weights[i]) > m)
            m = fabs(a->weights[i] - b->weights[i]);
    return m;
}

/* Learn `truth` back from its own filter output: the largest error (1e9 on failure). */
static double recover(const cnf_image *in, const cnf_kernel *truth, const cnf_layer *geom,
                      int bias, cnf_learn_stats *s)
{
    cnf_image target = filter(geom, truth, in);
    cnf_learn_options o = options_for(geom, truth->h, truth->w, bias);
    cnf_kernel *k = NULL;
    cnf_error e;
    double d = 1e9;
    memset(&e, 0, sizeof e);
    if (cnf_learn_kernel(in, &target, &o, &k, s, &e) == CNF_OK)
        d = kernel_diff(k, truth);
    else
        fprintf(stderr, "learn failed: %s: %s\n", e.where, e.msg);
    if (d > 1e-6)
        fprintf(stderr, "error %.3g for a %dx%d kernel\n", d, truth->h, truth->w);
    cnf_kernel_free(k);
    cnf_image_free(&target);
    return d;
}

static void a_random_3x3_with_bias_comes_back_exactly_from_8bit_data(void)
{
    cnf_image in = random_image(40, 30, 1, INTEGERS);
    cnf_kernel *k = random_kernel(3, 3, 1, 1, 1);
    cnf_learn_stats s;
    cnf_layer L;
    cnf_layer_init(&L);
    CHECK(recover(&in, k, &L, 1, &s) < 1e-9);
    CHECK_EQ_INT(s.used, 40 * 30);
    CHECK_EQ_INT(s.left_out, 0);
    CHECK(s.rms < 1e-9 && s.max_residual < 1e-8);
    CHECK(s.condition >= 1 && s.condition < 1e6);
    cnf_kernel_free(k);
    cnf_image_free(&in);
}

static void a_random_kernel_without_bias_comes_back_from_real_data(void)
{
    cnf_image in = random_image(37, 29, 1, REALS);
    cnf_kernel *k = random_kernel(5, 5, 1, 0, 0);
    cnf_learn_stats s;
    cnf_layer L;
    cnf_layer_init(&L);
    CHECK(recover(&in, k, &L, 0, &s) < 1e-6);
    /* The target is float32: residuals are its rounding, no more. */
    CHECK(s.max_residual < 1e-5);
    cnf_kernel_free(k);
    cnf_image_free(&in);
}

/* The geometry cases: every border with same, valid and explicit padding, strides (also
 * different per axis), dilation, even and non-square sizes. */
typedef struct geo {
    int kh, kw;
    cnf_padding_kind pad;
    int ph, pw;
    cnf_border border;
    int sy, sx, d;
} geo;

static void every_border_padding_stride_and_dilation_gives_the_kernel_back(void)
{
    static const geo cases[] = {
        {3, 3, CNF_PAD_SAME, 0, 0, CNF_BORDER_ZERO, 1, 1, 1},
        {3, 3, CNF_PAD_SAME, 0, 0, CNF_BORDER_REPLICATE, 1, 1, 1},
        {3, 3, CNF_PAD_SAME, 0, 0, CNF_BORDER_REFLECT, 1, 1, 1},
        {3, 3, CNF_PAD_SAME, 0, 0, CNF_BORDER_MIRROR, 1, 1, 1},
        {3, 3, CNF_PAD_SAME, 0, 0, CNF_BORDER_WRAP, 1, 1, 1},
        {4, 4, CNF_PAD_SAME, 0, 0, CNF_BORDER_REFLECT, 1, 1, 1},
        {2, 4, CNF_PAD_SAME, 0, 0, CNF_BORDER_MIRROR, 1, 1, 1},
        {4, 1, CNF_PAD_SAME, 0, 0, CNF_BORDER_WRAP, 1, 1, 1},
        {3, 5, CNF_PAD_VALID, 0, 0, CNF_BORDER_ZERO, 1, 1, 1},
        {3, 3, CNF_PAD_EXPLICIT, 2, 1, CNF_BORDER_ZERO, 1, 1, 1},
        {3, 3, CNF_PAD_EXPLICIT, 4, 3, CNF_BORDER_WRAP, 1, 1, 1},
        {3, 3, CNF_PAD_EXPLICIT, 3, 5, CNF_BORDER_REFLECT, 1, 1, 1},
        {3, 3, CNF_PAD_SAME, 0, 0, CNF_BORDER_REPLICATE, 2, 2, 1},
        {4, 3, CNF_PAD_SAME, 0, 0, CNF_BORDER_ZERO, 2, 3, 1},
        {3, 3, CNF_PAD_VALID, 0, 0, CNF_BORDER_ZERO, 3, 2, 1},
        {3, 3, CNF_PAD_SAME, 0, 0, CNF_BORDER_REFLECT, 1, 1, 2},
        {2, 2, CNF_PAD_SAME, 0, 0, CNF_BORDER_MIRROR, 2, 1, 3},
        {5, 5, CNF_PAD_VALID, 0, 0, CNF_BORDER_ZERO, 2, 2, 2},
        {6, 6, CNF_PAD_SAME, 0, 0, CNF_BORDER_REPLICATE, 1, 1, 1},
        {1, 1, CNF_PAD_SAME, 0, 0, CNF_BORDER_ZERO, 1, 1, 1},
    };
    cnf_image in = random_image(53, 47, 1, INTEGERS);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const geo *g = &cases[i];
        cnf_layer L;
        cnf_learn_stats s;
        cnf_kernel *k = random_kernel(g->kh, g->kw, 1, (int)(i % 2), 1);
        cnf_layer_init(&L);
        L.padding = g->pad;
        L.pad_h = g->ph;
        L.pad_w = g->pw;
        L.border = g->border;
        L.stride_y = g->sy;
        L.stride_x = g->sx;
        L.dilation = g->d;
        double d = recover(&in, k, &L, (int)(i % 2), &s);
        if (d >= 1e-9)
            fprintf(stderr, "  case %zu\n", i);
        CHECK(d < 1e-9);
        cnf_kernel_free(k);
    }
    cnf_image_free(&in);
}

static void gray_fits_one_kernel_to_the_luma_of_rgb_images(void)
{
    cnf_image in = random_image(41, 33, 3, REALS), rgb_target;
    cnf_kernel *k = random_kernel(3, 3, 1, 1, 0), *got = NULL;
    cnf_learn_stats s;
    cnf_learn_options o;
    cnf_error e;
    cnf_layer L;
    cnf_layer_init(&L);
    L.channels = CNF_CH_GRAY;
    CHECK(recover(&in, k, &L, 1, &s) < 1e-6);
    CHECK_EQ_INT(s.used, 41 * 33);
    /* An RGB target is taken to luma too: the target of the same kernel per channel has, by
     * linearity, the convolved luma as its luma. */
    L.channels = CNF_CH_AUTO;
    rgb_target = filter(&L, k, &in);
    L.channels = CNF_CH_GRAY;
    o = options_for(&L, 3, 3, 1);
    CHECK(cnf_learn_kernel(&in, &rgb_target, &o, &got, &s, &e) == CNF_OK);
    CHECK(got && kernel_diff(got, k) < 1e-5);
    cnf_kernel_free(got);
    cnf_image_free(&rgb_target);
    cnf_kernel_free(k);
    cnf_image_free(&in);
}

static void auto_fits_one_kernel_shared_by_the_rgb_channels(void)
{
    cnf_image in = random_image(30, 20, 3, INTEGERS);
    cnf_kernel *k = random_kernel(3, 4, 1, 1, 1);
    cnf_learn_stats s;
    cnf_layer L;
    cnf_layer_init(&L);
    L.border = CNF_BORDER_REFLECT;
    CHECK(recover(&in, k, &L, 1, &s) < 1e-9);
    CHECK_EQ_INT(s.used, 3 * 30 * 20);
    cnf_kernel_free(k);
    cnf_image_free(&in);
}

static void sum_fits_a_3d_kernel_against_a_one_channel_target(void)
{
    cnf_image in = random_image(35, 25, 3, INTEGERS), in2 = random_image(20, 20, 2, REALS);
    cnf_kernel *k = random_kernel(3, 3, 3, 1, 1), *k2 = random_kernel(2, 3, 2, 0, 0);
    cnf_learn_stats s;
    cnf_layer L;
    cnf_layer_init(&L);
    L.channels = CNF_CH_SUM;
    L.border = CNF_BORDER_WRAP;
    CHECK(recover(&in, k, &L, 1, &s) < 1e-9);
    CHECK_EQ_INT(s.used, 35 * 25);
    L.padding = CNF_PAD_VALID;
    L.stride_y = 2;
    CHECK(recover(&in2, k2, &L, 0, &s) < 1e-6);
    cnf_kernel_free(k);
    cnf_kernel_free(k2);
    cnf_image_free(&in);
    cnf_image_free(&in2);
}

/* Learn from in and target with L; the status, and the error in e. */
static cnf_status learn(const cnf_image *in, const cnf_image *target, const cnf_layer *L, int kh,
                        int kw, int bias, cnf_learn_stats *s, cnf_error *e)
{
    cnf_learn_options o = options_for(L, kh, kw, bias);
    cnf_kernel *k = NULL;
    cnf_status st;
    memset(e, 0, sizeof *e);
    st = cnf_learn_kernel(in, target, &o, &k, s, e);
    CHECK((st == CNF_OK) == (k != NULL));
    cnf_kernel_free(k);
    return st;
}

static void a_flat_image_is_refused_as_too_little_variation(void)
{
    cnf_image in = t_image(20, 20, 1, 0, NULL), target = t_image(20, 20, 1, 0, NULL);
    cnf_learn_stats s;
    cnf_error e;
    cnf_layer L;
    cnf_layer_init(&L);
    L.border = CNF_BORDER_REPLICATE;
    for (int i = 0; i < 400; i++) {
        in.data[i] = 100;
        target.data[i] = 50;
    }
    CHECK_EQ_INT(learn(&in, &target, &L, 3, 3, 1, &s, &e), CNF_E_DECODE);
    CHECK_STR_CONTAINS(e.msg, "too little variation to determine the kernel");
    CHECK(strcmp(e.where, "in.png") == 0 && e.subject == CNF_SUBJECT_FILE);
    /* Without a bias as well: nine equal columns. */
    CHECK_EQ_INT(learn(&in, &target, &L, 3, 3, 0, &s, &e), CNF_E_DECODE);
    CHECK_STR_CONTAINS(e.msg, "too little variation");
    /* Even a 1x1 kernel with a bias: the tap's column is the bias's. */
    CHECK_EQ_INT(learn(&in, &target, &L, 1, 1, 1, &s, &e), CNF_E_DECODE);
    /* A 1x1 kernel without bias is determined by a flat image: 50 / 100. */
    CHECK_EQ_INT(learn(&in, &target, &L, 1, 1, 0, &s, &e), CNF_OK);
    cnf_image_free(&in);
    cnf_image_free(&target);
}

/* A ramp's windows are all a + b y + c x: three patterns for ten unknowns.  Noise of 1e-6 on
 * it leaves the system formally regular but far past the condition limit; noise of 1 makes
 * it well determined. */
static void a_ramp_is_refused_unless_it_has_real_variation(void)
{
    cnf_image in = t_image(32, 32, 1, 0, NULL), target;
    cnf_kernel *k = random_kernel(3, 3, 1, 1, 0);
    cnf_learn_stats s;
    cnf_error e;
    cnf_layer L;
    cnf_layer_init(&L);
    L.padding = CNF_PAD_VALID;
    for (double noise = 0; noise <= 1; noise += noise ? 0.999999 : 1e-6) {
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
                in.data[y * 32 + x] = (float)(2 * x + 3 * y + noise * (rnd() - 0.5));
        target = filter(&L, k, &in);
        if (noise < 1) {
            CHECK_EQ_INT(learn(&in, &target, &L, 3, 3, 1, &s, &e), CNF_E_DECODE);
            CHECK_STR_CONTAINS(e.msg, "too little variation");
            CHECK(s.condition > 1e10);
        } else {
            CHECK_EQ_INT(learn(&in, &target, &L, 3, 3, 1, &s, &e), CNF_OK);
            CHECK(s.condition < 1e10);
        }
        cnf_image_free(&target);
    }
    cnf_kernel_free(k);
    cnf_image_free(&in);
}

static void too_few_output_values_for_the_unknowns_are_refused(void)
{
    cnf_image in = random_image(3, 3, 1, INTEGERS), target = random_image(1, 1, 1, INTEGERS);
    cnf_learn_stats s;
    cnf_error e;
    cnf_layer L;
    cnf_layer_init(&L);
    L.padding = CNF_PAD_VALID;
    CHECK_EQ_INT(learn(&in, &target, &L, 3, 3, 0, &s, &e), CNF_E_DECODE);
    CHECK_STR_CONTAINS(e.msg, "too little variation to determine the kernel (1 output values "
                              "for 9 unknowns)");
    cnf_image_free(&in);
    cnf_image_free(&target);
}

static void a_target_of_the_wrong_size_is_refused_with_both_sizes(void)
{
    cnf_image in = random_image(20, 10, 1, INTEGERS), target = random_image(20, 10, 1, INTEGERS);
    cnf_learn_stats s;
    cnf_error e;
    cnf_layer L;
    cnf_layer_init(&L);
    L.padding = CNF_PAD_VALID;
    CHECK_EQ_INT(learn(&in, &target, &L, 3, 3, 0, &s, &e), CNF_E_DECODE);
    CHECK_STR_CONTAINS(e.msg, "is 20x10 pixels");
    CHECK_STR_CONTAINS(e.msg, "makes 18x8 from the 20x10 input");
    CHECK(strcmp(e.where, "target.png") == 0);
    /* Same padding with stride 2 halves it (rounding up). */
    L.padding = CNF_PAD_SAME;
    L.stride_y = L.stride_x = 2;
    CHECK_EQ_INT(learn(&in, &target, &L, 3, 3, 0, &s, &e), CNF_E_DECODE);
    CHECK_STR_CONTAINS(e.msg, "makes 10x5 from");
    /* No output at all is the filter's error. */
    L.padding = CNF_PAD_VALID;
    CHECK_EQ_INT(learn(&in, &target, &L, 11, 3, 0, &s, &e), CNF_E_EMPTY);
    cnf_image_free(&in);
    cnf_image_free(&target);
}

static void channel_counts_that_do_not_match_the_rule_are_refused(void)
{
    cnf_image rgb = random_image(10, 10, 3, INTEGERS), gray = random_image(10, 10, 1, INTEGERS);
    cnf_image two = random_image(10, 10, 2, INTEGERS);
    cnf_learn_stats s;
    cnf_error e;
    cnf_layer L;
    cnf_layer_init(&L);
    CHECK_EQ_INT(learn(&rgb, &gray, &L, 3, 3, 0, &s, &e), CNF_E_DECODE);
    CHECK_STR_CONTAINS(e.msg, "has 1 channel but the input has 3");
    L.channels = CNF_CH_SUM;
    CHECK_EQ_INT(learn(&gray, &rgb, &L, 3, 3, 0, &s, &e), CNF_E_DECODE);
    CHECK(strcmp(e.where, "target.png") == 0);
    L.channels = CNF_CH_GRAY;
    CHECK_EQ_INT(learn(&two, &gray, &L, 3, 3, 0, &s, &e), CNF_E_USAGE);
    CHECK(e.subject == CNF_SUBJECT_SETTING && strcmp(e.where, "channels") == 0);
    L.channels = CNF_CH_RGB;
    CHECK_EQ_INT(learn(&rgb, &rgb, &L, 3, 3, 0, &s, &e), CNF_E_USAGE);
    L.channels = CNF_CH_AUTO;
    L.dilation = 0;
    CHECK_EQ_INT(learn(&rgb, &rgb, &L, 3, 3, 0, &s, &e), CNF_E_USAGE);
    cnf_image_free(&rgb);
    cnf_image_free(&gray);
    cnf_image_free(&two);
}

static void too_many_unknowns_is_a_limit_on_the_size(void)
{
    cnf_image in = random_image(8, 8, 5, INTEGERS), target = random_image(8, 8, 1, INTEGERS);
    cnf_learn_stats s;
    cnf_error e;
    cnf_layer L;
    cnf_layer_init(&L);
    L.channels = CNF_CH_SUM;
    CHECK_EQ_INT(learn(&in, &target, &L, 31, 31, 0, &s, &e), CNF_E_LIMIT);
    CHECK(e.subject == CNF_SUBJECT_SETTING && strcmp(e.where, "size") == 0);
    CHECK(e.limit == CNF_LIMIT_KERNEL);
    CHECK_STR_CONTAINS(e.msg, "4805 unknowns, over the limit of 4096");
    CHECK_EQ_INT(learn(&in, &target, &L, 256, 1, 0, &s, &e), CNF_E_LIMIT);
    CHECK_EQ_INT(learn(&in, &target, &L, 0, 3, 0, &s, &e), CNF_E_USAGE);
    cnf_image_free(&in);
    cnf_image_free(&target);
}

static void non_finite_values_are_refused_naming_their_image(void)
{
    cnf_image in = random_image(10, 10, 1, REALS), target = random_image(10, 10, 1, REALS);
    cnf_learn_stats s;
    cnf_error e;
    cnf_layer L;
    cnf_layer_init(&L);
    target.data[17] = NAN;
    CHECK_EQ_INT(learn(&in, &target, &L, 3, 3, 0, &s, &e), CNF_E_DECODE);
    CHECK(strcmp(e.where, "target.png") == 0);
    in.data[3] = INFINITY;
    CHECK_EQ_INT(learn(&in, &target, &L, 3, 3, 0, &s, &e), CNF_E_DECODE);
    CHECK(strcmp(e.where, "in.png") == 0);
    cnf_image_free(&in);
    cnf_image_free(&target);
}

/* A sharpening kernel pushes many values past 0..255; an 8-bit tool clamps them there.  Left
 * out, the rest give the kernel back exactly; kept, the fit is wrong. */
static void clipped_values_of_an_8bit_target_are_left_out_unless_kept(void)
{
    cnf_image in = random_image(60, 50, 1, INTEGERS), target;
    cnf_kernel *k = random_kernel(3, 3, 1, 1, 1), *got = NULL;
    cnf_learn_options o;
    cnf_learn_stats s;
    cnf_error e;
    cnf_layer L;
    uint64_t clipped = 0;
    cnf_layer_init(&L);
    k->weights[4] = 3;
    target = filter(&L, k, &in);
    for (int i = 0; i < 60 * 50; i++) {
        float v = target.data[i];
        target.data[i] = v < 0 ? 0.0f : v > 255 ? 255.0f : v;
        clipped += target.data[i] == 0 || target.data[i] == 255;
    }
    CHECK(clipped > 300 && clipped < 2500);
    o = options_for(&L, 3, 3, 1);
    o.target_8bit = 1;
    CHECK_EQ_INT(cnf_learn_kernel(&in, &target, &o, &got, &s, &e), CNF_OK);
    CHECK(got && kernel_diff(got, k) < 1e-9);
    CHECK_EQ_INT(s.left_out, clipped);
    CHECK_EQ_INT(s.used + s.left_out, 60 * 50);
    cnf_kernel_free(got);
    o.keep_clipped = 1;
    CHECK_EQ_INT(cnf_learn_kernel(&in, &target, &o, &got, &s, &e), CNF_OK);
    CHECK(got && kernel_diff(got, k) > 0.01);
    CHECK_EQ_INT(s.left_out, 0);
    CHECK(s.rms > 1);
    cnf_kernel_free(got);
    /* Not an 8-bit target: nothing is left out either. */
    o.keep_clipped = 0;
    o.target_8bit = 0;
    CHECK_EQ_INT(cnf_learn_kernel(&in, &target, &o, &got, &s, &e), CNF_OK);
    CHECK_EQ_INT(s.left_out, 0);
    cnf_kernel_free(got);
    cnf_kernel_free(k);
    cnf_image_free(&target);
    cnf_image_free(&in);
}

static void a_target_that_is_all_clipped_is_named_as_the_problem(void)
{
    cnf_image in = random_image(10, 10, 1, INTEGERS), target = t_image(10, 10, 1, 0, NULL);
    cnf_learn_options o;
    cnf_kernel *k = NULL;
    cnf_learn_stats s;
    cnf_error e;
    cnf_layer L;
    cnf_layer_init(&L);
    for (int i = 0; i < 100; i++)
        target.data[i] = i < 95 ? 255 : 100;
    o = options_for(&L, 3, 3, 1);
    o.target_8bit = 1;
    CHECK_EQ_INT(cnf_learn_kernel(&in, &target, &o, &k, &s, &e), CNF_E_DECODE);
    CHECK(k == NULL && strcmp(e.where, "target.png") == 0);
    CHECK_STR_CONTAINS(e.msg, "95 of 100 are 0 or 255");
    cnf_image_free(&in);
    cnf_image_free(&target);
}

/* The learned kernel runs in the filter and makes the target again. */
static void the_learned_kernel_reproduces_the_target_in_the_filter(void)
{
    cnf_image in = random_image(25, 25, 1, INTEGERS), target, again;
    cnf_kernel *k = random_kernel(5, 3, 1, 1, 1), *got = NULL;
    cnf_learn_options o;
    cnf_learn_stats s;
    cnf_error e;
    cnf_layer L;
    cnf_layer_init(&L);
    L.border = CNF_BORDER_MIRROR;
    L.stride_x = 2;
    target = filter(&L, k, &in);
    o = options_for(&L, 5, 3, 1);
    CHECK_EQ_INT(cnf_learn_kernel(&in, &target, &o, &got, &s, &e), CNF_OK);
    again = filter(&L, got, &in);
    CHECK(again.width == target.width && again.height == target.height);
    for (int i = 0; i < target.width * target.height; i++)
        CHECK(fabs(again.data[i] - target.data[i]) < 1e-3);
    cnf_image_free(&again);
    cnf_kernel_free(got);
    cnf_kernel_free(k);
    cnf_image_free(&target);
    cnf_image_free(&in);
}

int main(void)
{
    RUN(a_random_3x3_with_bias_comes_back_exactly_from_8bit_data);
    RUN(a_random_kernel_without_bias_comes_back_from_real_data);
    RUN(every_border_padding_stride_and_dilation_gives_the_kernel_back);
    RUN(gray_fits_one_kernel_to_the_luma_of_rgb_images);
    RUN(auto_fits_one_kernel_shared_by_the_rgb_channels);
    RUN(sum_fits_a_3d_kernel_against_a_one_channel_target);
    RUN(a_flat_image_is_refused_as_too_little_variation);
    RUN(a_ramp_is_refused_unless_it_has_real_variation);
    RUN(too_few_output_values_for_the_unknowns_are_refused);
    RUN(a_target_of_the_wrong_size_is_refused_with_both_sizes);
    RUN(channel_counts_that_do_not_match_the_rule_are_refused);
    RUN(too_many_unknowns_is_a_limit_on_the_size);
    RUN(non_finite_values_are_refused_naming_their_image);
    RUN(clipped_values_of_an_8bit_target_are_left_out_unless_kept);
    RUN(a_target_that_is_all_clipped_is_named_as_the_problem);
    RUN(the_learned_kernel_reproduces_the_target_in_the_filter);
    return t_finish("test_learn");
}
