/* test_pooling.c - pooling, activations and combine against hand-computed values. */
#include "test_util.h"

#include "../../src/lib/stage.h"

#include <stdint.h>

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

/* --- the separable path against the direct loop, bit for bit --- */

static uint64_t rng_state = 88172645463325252ull;

static uint32_t rnd(void)
{
    return (uint32_t)(t_xorshift(&rng_state) >> 11);
}

/* A random value of one of five kinds: 0 ties, signed zeros, NaN and
 * infinities; 1 integers 0..255; 2 full-mantissa values over a wide range
 * (sums not exact: avg must fall back); 3 multiples of 1/64 (sums exact);
 * 4 as 0 without -0.0 (max/min then go columns first). */
static float random_value(int kind)
{
    uint32_t r = rnd();
    switch (kind) {
    case 4: {
        float v = random_value(0);
        return v == 0 ? 0.0f : v;
    }
    case 0:
        switch (r % 10) {
        case 0: return -0.0f;
        case 1: return 0.0f;
        case 2: return NAN;
        case 3: return INFINITY;
        case 4: return -INFINITY;
        case 5: return (float)(r >> 8) / 65536.0f - 128.0f;
        default: return (float)((int)(r >> 8) % 5 - 2);
        }
    case 1:
        return (float)(r % 256);
    case 2:
        return ((float)(r >> 8) / 16777216.0f - 0.5f) * (r & 1 ? 1e6f : 1e-4f);
    default:
        return (float)((int)(r % 65536) - 32768) / 64.0f;
    }
}

/* Pool `img` with a forced path.  The output rows are cut into `parts`
 * bands of random sizes; each band's input holds only the rows need() asks
 * for, each in its own allocation (ASan sees a read outside them).  Returns
 * 0 when the geometry leaves no output. */
static int stage_pool(const cnf_image *img, cnf_pool mode, int P, int S, int pad, int ceil_mode,
                      int keep_alpha, int path, int parts, cnf_image *out)
{
    cnf_shape sh = {img->width, img->height, img->channels, img->has_alpha};
    cnf_stage st;
    cnf_error e;
    float **orows;
    void *scratch;
    int band;
    if (cnf__pool_stage(&st, &sh, mode, P, S, pad, ceil_mode, keep_alpha, &e) != CNF_OK)
        return 0;
    cnf__pool_set_path(&st, path);
    *out = t_image(st.out.w, st.out.h, st.out.c, st.out.alpha, NULL);
    orows = malloc(sizeof *orows * (size_t)st.out.h * (size_t)st.out.c);
    for (int y = 0; y < st.out.h; y++)
        for (int c = 0; c < st.out.c; c++)
            orows[(size_t)y * st.out.c + c] =
                out->data + ((size_t)c * st.out.h + y) * (size_t)st.out.w;
    /* Scratch for the largest band given (ASan sees a use beyond it). */
    band = parts <= 1 ? st.out.h : st.out.h / parts + 1;
    scratch = malloc(st.ops->scratch(&st, band) + 1);
    for (int y0 = 0; y0 < st.out.h;) {
        int y1 = parts <= 1 ? st.out.h : y0 + 1 + (int)(rnd() % (unsigned)band);
        int lo, hi, n;
        float **irows;
        cnf_band bi, bo;
        if (y1 > st.out.h)
            y1 = st.out.h;
        st.ops->need(&st, y0, y1, &lo, &hi);
        n = (hi - lo) * img->channels;
        irows = malloc(sizeof *irows * (size_t)(n ? n : 1));
        for (int y = lo; y < hi; y++)
            for (int c = 0; c < img->channels; c++) {
                float *r = malloc(sizeof *r * (size_t)img->width);
                memcpy(r, img->data + ((size_t)c * img->height + y) * (size_t)img->width,
                       sizeof *r * (size_t)img->width);
                irows[(size_t)(y - lo) * img->channels + c] = r;
            }
        bi = (cnf_band){irows, img->channels, img->width, lo, hi};
        bo = (cnf_band){orows + (size_t)y0 * st.out.c, st.out.c, st.out.w, y0, y1};
        st.ops->run(&st, &bi, &bo, y0, y1, scratch);
        for (int i = 0; i < n; i++)
            free(irows[i]);
        free(irows);
        y0 = y1;
    }
    free(scratch);
    free(orows);
    st.ops->destroy(&st);
    return 1;
}

static int same_bits(const cnf_image *a, const cnf_image *b)
{
    size_t n = (size_t)a->width * a->height * a->channels;
    return a->width == b->width && a->height == b->height && a->channels == b->channels &&
           memcmp(a->data, b->data, n * sizeof(float)) == 0;
}

static void separable_path_gives_the_direct_loops_bits(void)
{
    static const int sizes[] = {1, 2, 3, 5, 8, 17, 64, 255};
    static const cnf_pool modes[] = {CNF_POOL_MAX, CNF_POOL_MIN, CNF_POOL_AVG};
    long cases = 0, mismatches = 0;
    for (int si = 0; si < 8; si++) {
        int P = sizes[si], strides[5] = {1, 2, 3, P, P + 1}, dims[3];
        dims[0] = P / 2 + 1;
        dims[1] = P + 2;
        dims[2] = 2 * P + 3;
        for (int sti = 0; sti < 5; sti++)
            for (int pad = 0; pad <= P / 2; pad++) {
                int S = strides[sti];
                /* Every padding for small windows; for large ones the ends
                 * and a few between. */
                if (P > 8 && pad > 2 && pad < P / 2 - 1 && pad != P / 4)
                    continue;
                for (int wi = 0; wi < 3; wi++)
                    for (int hi = 0; hi < 3; hi++) {
                        int w = dims[wi], h = dims[hi];
                        /* The direct loop is the reference: keep its work
                         * (outputs x P^2) bounded. */
                        long ow = (w + 2L * pad - P) / S + 2, oh = (h + 2L * pad - P) / S + 2;
                        if (ow > 0 && oh > 0 && ow * oh * (long)P * P > 600000L)
                            continue;
                        for (int ceil_mode = 0; ceil_mode < 2; ceil_mode++)
                            for (int mi = 0; mi < 3; mi++)
                                for (int kind = 0; kind < 5; kind++) {
                                    cnf_image img, a, b;
                                    int keep = (int)(rnd() & 1);
                                    /* Sums exact or not matter to avg, -0.0 to max/min. */
                                    if (kind == (modes[mi] == CNF_POOL_AVG ? 4 : 3))
                                        continue;
                                    img = t_image(w, h, 2, 1, NULL);
                                    for (size_t i = 0; i < (size_t)w * h * 2; i++)
                                        img.data[i] = random_value(kind);
                                    if (stage_pool(&img, modes[mi], P, S, pad, ceil_mode, keep,
                                                   CNF__POOL_DIRECT, 1, &a)) {
                                        stage_pool(&img, modes[mi], P, S, pad, ceil_mode, keep,
                                                   CNF__POOL_SEPARABLE, 1 + (int)(rnd() % 4),
                                                   &b);
                                        cases++;
                                        if (!same_bits(&a, &b)) {
                                            if (mismatches++ < 5)
                                                fprintf(stderr,
                                                        "mode %d P %d S %d pad %d ceil %d "
                                                        "%dx%d kind %d differs\n",
                                                        (int)modes[mi], P, S, pad, ceil_mode, w,
                                                        h, kind);
                                        }
                                        cnf_image_free(&a);
                                        cnf_image_free(&b);
                                    }
                                    cnf_image_free(&img);
                                }
                    }
            }
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK(cases > 10000);
    printf("    %ld cases\n", cases);
}

static void signed_zeros_nan_and_infinities_follow_the_direct_rules(void)
{
    /* max keeps the first of equal cells in row-major order, so -0 before
     * +0 gives -0; NaN cells are skipped; an all-NaN window gives -inf
     * (max) / +inf (min); avg propagates NaN and inf. */
    float in[] = {-0.0f, 0.0f, NAN, NAN, 0.0f, -0.0f, NAN, NAN};
    cnf_image img = t_image(4, 2, 1, 0, in);
    for (int path = CNF__POOL_DIRECT; path <= CNF__POOL_SEPARABLE; path++) {
        cnf_image o;
        CHECK(stage_pool(&img, CNF_POOL_MAX, 2, 2, 0, 0, 1, path, 1, &o));
        CHECK(o.data[0] == 0 && signbit(o.data[0]) && o.data[1] == -INFINITY);
        cnf_image_free(&o);
        CHECK(stage_pool(&img, CNF_POOL_MIN, 2, 1, 0, 0, 1, path, 1, &o));
        CHECK(o.data[0] == 0 && signbit(o.data[0]) && o.data[1] == 0 && !signbit(o.data[1]));
        CHECK(o.data[2] == INFINITY);
        cnf_image_free(&o);
        CHECK(stage_pool(&img, CNF_POOL_AVG, 2, 2, 0, 0, 1, path, 1, &o));
        CHECK(o.data[0] == 0 && !signbit(o.data[0]) && isnan(o.data[1]));
        cnf_image_free(&o);
    }
    cnf_image_free(&img);
    {
        /* [[-5, -0], [+0, -5]]: row-major the -0 comes first (a column-first
         * order would take the +0). */
        float z[] = {-5, -0.0f, 0.0f, -5};
        img = t_image(2, 2, 1, 0, z);
        for (int path = CNF__POOL_DIRECT; path <= CNF__POOL_SEPARABLE; path++) {
            cnf_image o;
            CHECK(stage_pool(&img, CNF_POOL_MAX, 2, 1, 0, 0, 1, path, 1, &o));
            CHECK(o.data[0] == 0 && signbit(o.data[0]));
            cnf_image_free(&o);
        }
        cnf_image_free(&img);
    }
}

static void window_255_stride_1_on_1024_squared_is_quick_and_right(void)
{
    /* v = x + 1024 y: a window's max is at its bottom-right cell, its min at
     * its top-left, its mean at its centre. */
    const int n = 1024, P = 255, o = n - P + 1;
    cnf_image img = t_image(n, n, 1, 0, NULL), out;
    long bad = 0;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
            img.data[(size_t)y * n + x] = (float)(x + n * y);
    out = pool(&img, CNF_POOL_MAX, P, 1, 0, 0);
    CHECK(out.width == o && out.height == o);
    for (int y = 0; y < o; y++)
        for (int x = 0; x < o; x++)
            bad += out.data[(size_t)y * o + x] != (float)(x + P - 1 + n * (y + P - 1));
    cnf_image_free(&out);
    out = pool(&img, CNF_POOL_MIN, P, 1, 0, 0);
    for (int y = 0; y < o; y++)
        for (int x = 0; x < o; x++)
            bad += out.data[(size_t)y * o + x] != (float)(x + n * y);
    cnf_image_free(&out);
    out = pool(&img, CNF_POOL_AVG, P, 1, 0, 0);
    for (int y = 0; y < o; y++)
        for (int x = 0; x < o; x++)
            bad += out.data[(size_t)y * o + x] != (float)(x + P / 2 + n * (y + P / 2));
    cnf_image_free(&out);
    CHECK_EQ_INT(bad, 0);
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
    RUN(signed_zeros_nan_and_infinities_follow_the_direct_rules);
    RUN(separable_path_gives_the_direct_loops_bits);
    RUN(window_255_stride_1_on_1024_squared_is_quick_and_right);
    return t_finish("test_pooling");
}
