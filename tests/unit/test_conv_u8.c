/* test_conv_u8.c - the 8-bit lane gives the float engine's mapped bytes (conv_u8.c). */
#include "test_util.h"

#include "../../src/lib/conv_u8.h"

#include <stdint.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
    return (uint32_t)(t_xorshift(&rng_state) >> 16);
}

/* A kernel from its weights (row-major) and divisor, through the kernel
 * file reader (as a user's kernel file would be). */
static cnf_kernel *make_kernel(int kh, int kw, const long *w, long div)
{
    char text[2048];
    size_t n = 0;
    cnf_kernel *k = NULL;
    cnf_error e;
    n += (size_t)snprintf(text + n, sizeof text - n, "{\"weights\": [");
    for (int i = 0; i < kh; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "%s[", i ? "," : "");
        for (int j = 0; j < kw; j++)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s%ld", j ? "," : "", w[i * kw + j]);
        n += (size_t)snprintf(text + n, sizeof text - n, "]");
    }
    snprintf(text + n, sizeof text - n, "], \"divisor\": %ld}", div);
    if (cnf_kernel_from_json(text, strlen(text), "test", "test", &k, &e) != CNF_OK) {
        fprintf(stderr, "kernel: %s\n", e.msg);
        return NULL;
    }
    return k;
}

/* The float engine's bytes: cnf_plan_run of a 'same' stride-1 layer, then
 * cnf_map_row as the CLI maps a result to 8 bits. */
static unsigned char *reference(const cnf_kernel *k, int flip, cnf_border border,
                                cnf_map_mode map, const unsigned char *src, int w, int h,
                                int ch, int portable)
{
    cnf_image in, out;
    cnf_layer L;
    cnf_plan *p = NULL;
    cnf_error e;
    cnf_plan_limits lim = {0, portable, 0, 1};
    const cnf_kernel *ks[1] = {k};
    unsigned char *res = malloc((size_t)w * (size_t)h * (size_t)ch);
    if (!res || cnf_image_alloc(&in, w, h, ch, 0, &e) != CNF_OK)
        return NULL;
    for (int c = 0; c < ch; c++)
        for (int i = 0; i < w * h; i++)
            cnf_image_plane(&in, c)[i] = src[(size_t)i * (size_t)ch + (size_t)c];
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = 1;
    L.border = border;
    L.flip = flip;
    if (cnf_plan_create(&L, w, h, ch, 0, &lim, &p, &e) != CNF_OK ||
        cnf_plan_run(p, &in, 1, &out, &e) != CNF_OK) {
        fprintf(stderr, "reference: %s\n", e.msg);
        cnf_image_free(&in);
        cnf_plan_free(p);
        free(res);
        return NULL;
    }
    for (int y = 0; y < h; y++) {
        const float *rows[4];
        for (int c = 0; c < ch; c++)
            rows[c] = cnf_image_plane(&out, c) + (size_t)y * (size_t)w;
        cnf_map_row(rows, ch, 0, w, map, 0, 0, res + (size_t)y * (size_t)w * (size_t)ch, NULL);
    }
    cnf_image_free(&in);
    cnf_image_free(&out);
    cnf_plan_free(p);
    return res;
}

static unsigned char *lane(const cnf_u8_conv *c, const unsigned char *src, int w, int h, int ch,
                           int threads)
{
    size_t stride = (size_t)w * (size_t)ch;
    unsigned char *dst = malloc(stride * (size_t)h);
    cnf_error e;
    if (dst && cnf_u8_conv_image(c, src, stride, h, dst, stride, threads, &e) != CNF_OK) {
        free(dst);
        return NULL;
    }
    return dst;
}

static void sobel_v_on_a_4x4_ramp_by_hand(void)
{
    /* columns 10 20 30 40 on every row; zero border: the top and bottom
     * rows lose a kernel row (3 x 20), the last column sees 0 - 30 */
    static const long sv[9] = {-1, 0, 1, -2, 0, 2, -1, 0, 1};
    static const unsigned char want_clamp[16] = {60, 60, 60, 0, 80, 80, 80, 0,
                                                 80, 80, 80, 0, 60, 60, 60, 0};
    static const unsigned char want_abs[16] = {60, 60, 60, 90,  80, 80, 80, 120,
                                               80, 80, 80, 120, 60, 60, 60, 90};
    unsigned char img[16];
    cnf_kernel *k = make_kernel(3, 3, sv, 1);
    for (int i = 0; i < 16; i++)
        img[i] = (unsigned char)(10 * (i % 4 + 1));
    for (int m = 0; m < 2; m++) {
        for (unsigned fl = 0; fl < 2; fl++) {
            cnf_u8_conv *c = NULL;
            unsigned char *out;
            CHECK(cnf_u8_conv_create(k, 0, CNF_BORDER_ZERO, m ? CNF_MAP_ABS : CNF_MAP_CLAMP, 4, 1,
                                     fl ? CNF_U8_PORTABLE : 0, &c, NULL) == CNF_OK);
            CHECK(c != NULL);
            if (!c)
                continue;
            out = lane(c, img, 4, 4, 1, 1);
            CHECK(out && memcmp(out, m ? want_abs : want_clamp, 16) == 0);
            free(out);
            cnf_u8_conv_free(c);
        }
    }
    /* replicate: the last column sees 40 - 30 = 10, times 4 = 40 everywhere */
    {
        cnf_u8_conv *c = NULL;
        unsigned char *out;
        CHECK(cnf_u8_conv_create(k, 0, CNF_BORDER_REPLICATE, CNF_MAP_CLAMP, 4, 1, 0, &c, NULL) ==
              CNF_OK);
        out = c ? lane(c, img, 4, 4, 1, 2) : NULL;
        CHECK(out != NULL);
        for (int y = 0; out && y < 4; y++) {
            CHECK_EQ_INT(out[y * 4 + 0], 40); /* (20 - 10) x 4 */
            CHECK_EQ_INT(out[y * 4 + 1], 80);
            CHECK_EQ_INT(out[y * 4 + 2], 80);
            CHECK_EQ_INT(out[y * 4 + 3], 40);
        }
        free(out);
        cnf_u8_conv_free(c);
    }
    cnf_kernel_free(k);
}

static void a_pair_mean_rounds_half_to_even(void)
{
    /* box 3x3 of one value v: the sum is 9v, exact; with a single 1 in
     * the centre and zeros around, 1 / 9 rounds to 0; 4.5 / 9 ties come
     * from a 1 x 2 kernel [1 1] / 2: (1 + 2) / 2 = 1.5 -> 2, (2 + 3) / 2 =
     * 2.5 -> 2, (3 + 4) / 2 = 3.5 -> 4 */
    static const long pair[2] = {1, 1};
    static const unsigned char img[5] = {1, 2, 3, 4, 5};
    cnf_kernel *k = make_kernel(1, 2, pair, 2);
    cnf_u8_conv *c = NULL;
    unsigned char *out;
    CHECK(cnf_u8_conv_create(k, 0, CNF_BORDER_REPLICATE, CNF_MAP_CLAMP, 5, 1, 0, &c, NULL) ==
          CNF_OK);
    out = c ? lane(c, img, 5, 1, 1, 1) : NULL;
    CHECK(out != NULL);
    if (out) {
        /* an even width puts the extra column after: x and x + 1 */
        CHECK_EQ_INT(out[0], 2); /* 1.5 */
        CHECK_EQ_INT(out[1], 2); /* 2.5 */
        CHECK_EQ_INT(out[2], 4); /* 3.5 */
        CHECK_EQ_INT(out[3], 4); /* 4.5 */
        CHECK_EQ_INT(out[4], 5); /* 5 */
    }
    free(out);
    cnf_u8_conv_free(c);
    cnf_kernel_free(k);
}

/* Every sum whose value can show (|S / D| up to 256 and a little past),
 * for divisor d: the lane's integer rounding equals float32(S / D) mapped
 * by cnf_map_row, for clamp and abs; with a sampled tail up to 2^24. */
static int division_matches_the_float_path(long d)
{
    long span = 257 * (d < 0 ? -d : d) + 3;
    size_t n = (size_t)(2 * span + 1) + 2000;
    float *v = malloc(n * sizeof(float));
    int32_t *s = malloc(n * sizeof(int32_t));
    unsigned char *want = malloc(n);
    long one[1] = {1};
    cnf_kernel *k = make_kernel(1, 1, one, d);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t x = i < (size_t)(2 * span + 1) ? (int32_t)((long)i - span)
                                               : (int32_t)(rnd() % 33554431u) - 16777215;
        s[i] = x;
        /* the float engine's expression (conv.c: double path and store_sums) */
        v[i] = (float)((double)x * 1.0 / (double)d + 0.0);
    }
    for (int m = 0; m < 2 && !bad; m++) {
        cnf_u8_conv *c = NULL;
        const float *rows[1] = {v};
        cnf_map_row(rows, 1, 0, (int)n, m ? CNF_MAP_ABS : CNF_MAP_CLAMP, 0, 0, want, NULL);
        if (cnf_u8_conv_create(k, 0, CNF_BORDER_ZERO, m ? CNF_MAP_ABS : CNF_MAP_CLAMP, 1, 1, 0,
                               &c, NULL) != CNF_OK || !c)
            return 0;
        /* a negative divisor's sign goes to the weights: the lane's sum is -S */
        for (size_t i = 0; i < n && !bad; i++)
            if (cnf__u8_conv_finish(c, d < 0 ? -s[i] : s[i]) != want[i]) {
                fprintf(stderr, "divisor %ld sum %ld: %d, float path %d\n", d, (long)s[i],
                        cnf__u8_conv_finish(c, d < 0 ? -s[i] : s[i]), want[i]);
                bad = 1;
            }
        cnf_u8_conv_free(c);
    }
    free(v);
    free(s);
    free(want);
    cnf_kernel_free(k);
    return !bad;
}

/* The AVX2 loop's division (a shift or a multiply-high, 16 at a time) on
 * every 16-bit sum it can hold equals the exact one. */
static int simd_division_matches(long d, long w)
{
    long kw[2] = {w, w > 0 && w > 200 ? 0 : -w};
    cnf_kernel *k = make_kernel(1, 2, kw, d);
    int bad = 0;
    for (int m = 0; m < 2 && !bad; m++) {
        cnf_u8_conv *c = NULL;
        if (cnf_u8_conv_create(k, 0, CNF_BORDER_ZERO, m ? CNF_MAP_ABS : CNF_MAP_CLAMP, 1, 1, 0,
                               &c, NULL) != CNF_OK || !c)
            return 0;
        if (cnf__u8_conv_kind(c) == CNF__U8_INT16_AVX2) {
            long lo = kw[1] ? -255 * w : 0, hi = 255 * w;
            for (long s0 = lo; s0 <= hi && !bad; s0 += 16) {
                uint16_t sums[16];
                unsigned char out[16];
                for (int i = 0; i < 16; i++)
                    sums[i] = (uint16_t)(s0 + i <= hi ? s0 + i : hi);
                cnf__u8_conv_finish16(c, sums, out);
                for (int i = 0; i < 16 && !bad; i++) {
                    long s = s0 + i <= hi ? s0 + i : hi;
                    if (out[i] != cnf__u8_conv_finish(c, (int32_t)s)) {
                        fprintf(stderr, "divisor %ld sum %ld: AVX2 %d, exact %d\n", d, s, out[i],
                                cnf__u8_conv_finish(c, (int32_t)s));
                        bad = 1;
                    }
                }
            }
        }
        cnf_u8_conv_free(c);
    }
    cnf_kernel_free(k);
    return !bad;
}

static void division_equals_the_float_path_over_the_whole_range(void)
{
    /* the divisors of every built-in kernel the lane takes (sizes 1..5) */
    long divs[64];
    int nd = 0;
    size_t nb;
    const cnf_builtin_info *b = cnf_builtins(&nb);
    for (size_t i = 0; i < nb; i++)
        for (int size = 0; size <= 5; size++) {
            char spec[64];
            cnf_kernel *k = NULL;
            if (size)
                snprintf(spec, sizeof spec, "%s:%d", b[i].name, size);
            else
                snprintf(spec, sizeof spec, "%s", b[i].name);
            if (cnf_kernel_parse(spec, "test", &k, NULL) == CNF_OK && !cnf_kernel_is_composite(k) &&
                cnf_kernel_width(k) <= 5 && cnf_kernel_height(k) <= 5) {
                long d = (long)cnf_kernel_divisor(k);
                int seen = 0;
                for (int j = 0; j < nd; j++)
                    seen |= divs[j] == d;
                if (!seen && nd < 48 && d == cnf_kernel_divisor(k))
                    divs[nd++] = d;
            }
            cnf_kernel_free(k);
        }
    CHECK(nd >= 6); /* 1, 4, 9, 16, 25, 256 at least */
    for (int i = 0; i < 12; i++)
        divs[nd++] = 1 + (long)(rnd() % 700);
    divs[nd++] = 16384;
    divs[nd++] = 12345;
    for (int i = 0; i < nd; i++) {
        CHECK(division_matches_the_float_path(divs[i]));
        CHECK(simd_division_matches(divs[i], 1));
        CHECK(simd_division_matches(divs[i], 100));
        CHECK(simd_division_matches(divs[i], 256)); /* unsigned sums to 65280 */
        CHECK(division_matches_the_float_path(-divs[i]));
    }
}

/* Random kernels 1x1..5x5 and images: the lane, its portable form, and
 * the float engine (fast and portable) give the same bytes; the path
 * taken is the one the kernel's bounds call for. */
static void random_kernels_equal_the_float_engine(void)
{
    static const int widths[] = {1, 2, 17, 33, 100};
    static const int chans[] = {1, 3, 4};
    int kinds[4] = {0, 0, 0, 0}, cases = 0, ineligible = 0;
    for (int iter = 0; iter < 240; iter++) {
        int kh = 1 + (int)(rnd() % 5), kw = 1 + (int)(rnd() % 5), style = iter % 5;
        long w[25], div, pos = 0, neg = 0;
        int wd = widths[rnd() % 5], ch = chans[rnd() % 3], h = 1 + (int)(rnd() % 9);
        cnf_border border = (cnf_border)(rnd() % 5);
        cnf_map_mode map = rnd() % 2 ? CNF_MAP_ABS : CNF_MAP_CLAMP;
        int flip = (int)(rnd() % 2), expect_kind;
        size_t n = (size_t)wd * (size_t)h * (size_t)ch;
        unsigned char *img = malloc(n), *ref, *got, *port;
        cnf_kernel *k;
        cnf_u8_conv *c = NULL, *cp = NULL;
        if (iter % 7 == 0)
            h = 33 + (int)(rnd() % 40);
        n = (size_t)wd * (size_t)h * (size_t)ch;
        free(img);
        img = malloc(n);
        for (int i = 0; i < kh * kw; i++) {
            long r = (long)(rnd() % 1000);
            switch (style) {
            case 0: w[i] = r % 7 - 3; break;                 /* small: 16-bit sums */
            case 1: w[i] = r % 401 - 200; break;              /* large: past int16 */
            case 2: w[i] = r % 21; break;                     /* non-negative */
            case 3: w[i] = r % 3 == 0 ? r % 3000 - 1500 : 0; break; /* sparse, large */
            default: w[i] = (r % 9 - 4) * 16; break;          /* multiples of 16 */
            }
            if (w[i] > 0)
                pos += w[i];
            else
                neg -= w[i];
        }
        switch (rnd() % 6) {
        case 0: div = 1; break;
        case 1: div = 1L << (rnd() % 10); break;
        case 2: div = 1 + (long)(rnd() % 60); break;
        case 3: div = pos > 0 ? pos : 1; break;
        case 4: div = -(1 + (long)(rnd() % 30)); break;
        default: div = 9; break;
        }
        {
            long ad = div < 0 ? -div : div, p2 = pos, n2 = neg;
            int k2 = 0;
            if (div < 0) {
                p2 = neg;
                n2 = pos;
            }
            while ((1L << k2) < ad)
                k2++;
            if (255 * p2 <= 32767 && 255 * n2 <= 32767)
                expect_kind = 16;
            else if (n2 == 0 && 255 * p2 + ((1L << k2) == ad && k2 > 0 ? 1L << (k2 - 1) : 0) <= 65535)
                expect_kind = 16;
            else
                expect_kind = 32;
        }
        for (size_t i = 0; i < n; i++)
            img[i] = (unsigned char)(iter % 3 == 0 ? (rnd() % 2 ? 255 : 0) : rnd() % 256);
        k = make_kernel(kh, kw, w, div);
        CHECK(k != NULL);
        if (!k) {
            free(img);
            continue;
        }
        CHECK(cnf_u8_conv_create(k, flip, border, map, wd, ch, 0, &c, NULL) == CNF_OK);
        CHECK(cnf_u8_conv_create(k, flip, border, map, wd, ch, CNF_U8_PORTABLE, &cp, NULL) ==
              CNF_OK);
        CHECK(c != NULL && cp != NULL);
        if (!c || !cp) {
            ineligible++;
        } else {
            int kind = cnf__u8_conv_kind(c);
            kinds[kind]++;
            CHECK_EQ_INT(kind == CNF__U8_INT32 ? 32 : 16, expect_kind);
            CHECK_EQ_INT(cnf__u8_conv_kind(cp), expect_kind == 32 ? CNF__U8_INT32 : CNF__U8_INT16);
            if (expect_kind == 16 && __builtin_cpu_supports("avx2"))
                CHECK_EQ_INT(kind, CNF__U8_INT16_AVX2);
            ref = reference(k, flip, border, map, img, wd, h, ch, iter % 2);
            got = lane(c, img, wd, h, ch, 1 + iter % 3);
            port = lane(cp, img, wd, h, ch, 1);
            CHECK(ref && got && port);
            if (ref && got && port) {
                int same = memcmp(ref, got, n) == 0 && memcmp(ref, port, n) == 0;
                CHECK(same);
                if (!same)
                    fprintf(stderr, "iter %d: %dx%d kernel / %ld on %dx%dx%d border %d map %d "
                                    "flip %d (%s)\n",
                            iter, kh, kw, div, wd, h, ch, border, map, flip, cnf_u8_conv_path(c));
            }
            free(ref);
            free(got);
            free(port);
            cases++;
        }
        cnf_u8_conv_free(c);
        cnf_u8_conv_free(cp);
        cnf_kernel_free(k);
        free(img);
    }
    CHECK_EQ_INT(ineligible, 0);
    CHECK(kinds[CNF__U8_INT32] >= 20); /* the wide path was taken */
    CHECK(kinds[CNF__U8_INT16_AVX2] + kinds[CNF__U8_INT16] >= 60);
    CHECK(cases == 240);
}

static void kernels_the_lane_does_not_take_are_not_an_error(void)
{
    static const char *specs[] = {"box:7", "gaussian:3:0.8", "sobel", "[[0.5,0.5]]"};
    cnf_u8_conv *c = (cnf_u8_conv *)1;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        cnf_kernel *k = NULL;
        CHECK(cnf_kernel_parse(specs[i], "test", &k, NULL) == CNF_OK);
        c = (cnf_u8_conv *)1;
        CHECK(cnf_u8_conv_create(k, 0, CNF_BORDER_ZERO, CNF_MAP_CLAMP, 10, 3, 0, &c, NULL) ==
              CNF_OK);
        CHECK(c == NULL);
        cnf_kernel_free(k);
    }
    {
        /* other maps; a sum past 2^24 (65794 x 255); a divisor past 16384 */
        static const long big[2] = {65794, 1};
        static const long one[1] = {1};
        cnf_kernel *k = NULL;
        CHECK(cnf_kernel_parse("sobel_v", "test", &k, NULL) == CNF_OK);
        c = (cnf_u8_conv *)1;
        CHECK(cnf_u8_conv_create(k, 0, CNF_BORDER_ZERO, CNF_MAP_NORMALIZE, 10, 3, 0, &c, NULL) ==
              CNF_OK && c == NULL);
        CHECK(cnf_u8_conv_create(k, 0, CNF_BORDER_ZERO, CNF_MAP_OFFSET, 10, 3, 0, &c, NULL) ==
              CNF_OK && c == NULL);
        CHECK(cnf_u8_conv_create(k, 0, CNF_BORDER_ZERO, CNF_MAP_CLAMP, 10, 5, 0, &c, NULL) ==
              CNF_E_USAGE);
        cnf_kernel_free(k);
        k = make_kernel(1, 2, big, 1);
        CHECK(cnf_u8_conv_create(k, 0, CNF_BORDER_ZERO, CNF_MAP_CLAMP, 10, 3, 0, &c, NULL) ==
              CNF_OK && c == NULL);
        cnf_kernel_free(k);
        k = make_kernel(1, 1, one, 16385);
        CHECK(cnf_u8_conv_create(k, 0, CNF_BORDER_ZERO, CNF_MAP_CLAMP, 10, 3, 0, &c, NULL) ==
              CNF_OK && c == NULL);
        cnf_kernel_free(k);
    }
}

static void built_in_kernels_take_the_16_bit_path(void)
{
    static const char *specs[] = {"sobel_v", "laplacian", "gaussian", "sharpen", "box:5",
                                  "gaussian:5", "emboss", "line_v:5"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        cnf_kernel *k = NULL;
        cnf_u8_conv *c = NULL;
        CHECK(cnf_kernel_parse(specs[i], "test", &k, NULL) == CNF_OK);
        CHECK(cnf_u8_conv_create(k, 0, CNF_BORDER_REPLICATE, CNF_MAP_CLAMP, 64, 3, 0, &c, NULL) ==
              CNF_OK);
        CHECK(c != NULL);
        if (c)
            CHECK(cnf__u8_conv_kind(c) != CNF__U8_INT32);
        cnf_u8_conv_free(c);
        cnf_kernel_free(k);
    }
}

int main(void)
{
    RUN(sobel_v_on_a_4x4_ramp_by_hand);
    RUN(a_pair_mean_rounds_half_to_even);
    RUN(division_equals_the_float_path_over_the_whole_range);
    RUN(random_kernels_equal_the_float_engine);
    RUN(kernels_the_lane_does_not_take_are_not_an_error);
    RUN(built_in_kernels_take_the_16_bit_path);
    return t_finish("test_conv_u8");
}
