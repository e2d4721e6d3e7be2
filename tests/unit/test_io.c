/* test_io.c - matrices in and out, 8-bit mapping, image encode/decode and the pixel limit. */
#include "test_util.h"

#include <stdint.h>

static cnf_status decode_str(const char *s, cnf_input_kind kind, cnf_image *img, cnf_error *e)
{
    return cnf_decode((const unsigned char *)s, strlen(s), kind, "m", CNF_DEFAULT_MAX_PIXELS, img,
                      e);
}

static void txt_rows_and_blank_line_channels_are_read(void)
{
    cnf_image img;
    cnf_error e;
    float ex[] = {1, 2.5f, -3, 4, 5, 6, 7, 8};
    CHECK_EQ_INT(decode_str("# comment\n1 2.5\n-3\t4\n\n5 6\r\n7 8\n\n", CNF_IN_TXT, &img, &e),
                 CNF_OK);
    CHECK(t_equal(&img, 2, 2, 2, ex));
    CHECK_EQ_INT(img.has_alpha, 0);
    cnf_image_free(&img);
}

static void csv_and_json_matrices_are_read(void)
{
    cnf_image img;
    cnf_error e;
    float ex[] = {1, 2, 3, 4, 5, 6};
    CHECK_EQ_INT(decode_str("1,2,3\n4, 5 ,6\n", CNF_IN_CSV, &img, &e), CNF_OK);
    CHECK(t_equal(&img, 3, 2, 1, ex));
    cnf_image_free(&img);
    CHECK_EQ_INT(decode_str("[[1,2,3],[4,5,6]]", CNF_IN_JSON, &img, &e), CNF_OK);
    CHECK(t_equal(&img, 3, 2, 1, ex));
    cnf_image_free(&img);
    CHECK_EQ_INT(decode_str("[1,2,3,4,5,6]", CNF_IN_JSON, &img, &e), CNF_OK);
    CHECK(t_equal(&img, 6, 1, 1, ex));
    cnf_image_free(&img);
    CHECK_EQ_INT(decode_str("[[[1,2,3]],[[4,5,6]]]", CNF_IN_JSON, &img, &e), CNF_OK);
    CHECK(t_equal(&img, 3, 1, 2, ex));
    cnf_image_free(&img);
    /* Sniffed from content when the kind is not known (stdin). */
    CHECK_EQ_INT(decode_str("[[1,2,3],[4,5,6]]", CNF_IN_AUTO, &img, &e), CNF_OK);
    CHECK(t_equal(&img, 3, 2, 1, ex));
    cnf_image_free(&img);
    CHECK_EQ_INT(decode_str("1 2 3\n4 5 6\n", CNF_IN_AUTO, &img, &e), CNF_OK);
    CHECK(t_equal(&img, 3, 2, 1, ex));
    cnf_image_free(&img);
}

static void bad_matrices_fail_with_a_position(void)
{
    static const struct {
        const char *text;
        cnf_input_kind kind;
        int line, col;
        const char *msg;
    } T[] = {
        {"1 2\n3\n", CNF_IN_TXT, 2, 1, "row has 1"},
        {"1 2\nx 3\n", CNF_IN_TXT, 2, 1, "not a number"},
        {"1 nan\n", CNF_IN_TXT, 1, 3, "finite"},
        {"1 1e39\n", CNF_IN_TXT, 1, 3, "finite"},
        {"1,,2\n", CNF_IN_CSV, 1, 3, "missing"},
        {"1,2,\n", CNF_IN_CSV, 1, 5, "missing"},
        {"[[1,2],[3]]", CNF_IN_JSON, 1, 8, "ragged"},
        {"[[1,2],[3,Infinity]]", CNF_IN_JSON, 1, 11, "finite"},
        {"[[1,2]] [3]", CNF_IN_JSON, 1, 9, "after"},
        {"[]", CNF_IN_JSON, 1, 1, "empty"},
        {"[[[[1]]]]", CNF_IN_JSON, 1, 4, "deeper"},
        {"[[1],[[2]]]", CNF_IN_JSON, 1, 7, "nesting"},
        {"1 2\n\n3\n", CNF_IN_TXT, 3, 1, "row has 1"},
        {"1 2\n\n3 4\n5 6\n", CNF_IN_TXT, 5, 1, "rows"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        cnf_image img;
        cnf_error e;
        memset(&e, 0, sizeof e);
        CHECK(decode_str(T[i].text, T[i].kind, &img, &e) != CNF_OK);
        CHECK(img.data == NULL);
        if (e.line != T[i].line || e.col != T[i].col)
            fprintf(stderr, "case %zu: %d:%d %s\n", i, e.line, e.col, e.msg);
        CHECK_EQ_INT(e.line, T[i].line);
        CHECK_EQ_INT(e.col, T[i].col);
        CHECK_STR_CONTAINS(e.msg, T[i].msg);
    }
}

static void empty_and_oversized_inputs_are_refused(void)
{
    cnf_image img;
    cnf_error e;
    CHECK_EQ_INT(cnf_decode((const unsigned char *)"", 0, CNF_IN_AUTO, "e", 100, &img, &e),
                 CNF_E_DECODE);
    CHECK_EQ_INT(cnf_decode((const unsigned char *)"1 2 3\n", 6, CNF_IN_TXT, "s", 2, &img, &e),
                 CNF_E_TOO_BIG);
    /* The limit is named as data; the CLI words it as --max-pixels. */
    CHECK_EQ_INT(e.limit, CNF_LIMIT_PIXELS);
    CHECK_STR_CONTAINS(e.msg, "pixel limit");
}

static void map_rounds_half_to_even_and_clamps(void)
{
    float v[] = {0.5f, 1.5f, 2.5f, -0.5f, -3, 254.5f, 255.5f, 300};
    unsigned char out[8];
    unsigned char ex_clamp[] = {0, 2, 2, 0, 0, 254, 255, 255};
    unsigned char ex_abs[] = {0, 2, 2, 0, 3, 254, 255, 255};
    unsigned char ex_off[] = {128, 130, 130, 128, 125, 255, 255, 255};
    cnf_image img = t_image(8, 1, 1, 0, v);
    cnf_map_stats s;
    cnf_map_to_u8(&img, CNF_MAP_CLAMP, out, &s);
    CHECK(memcmp(out, ex_clamp, 8) == 0);
    CHECK_EQ_INT(s.clipped_low, 1);  /* -3 (−0.5 rounds to −0, not below 0) */
    CHECK_EQ_INT(s.clipped_high, 2); /* 255.5 -> 256, 300 */
    CHECK(s.min == -3 && s.max == 300);
    cnf_map_to_u8(&img, CNF_MAP_ABS, out, NULL);
    CHECK(memcmp(out, ex_abs, 8) == 0);
    cnf_map_to_u8(&img, CNF_MAP_OFFSET, out, NULL);
    CHECK(memcmp(out, ex_off, 8) == 0);
    cnf_image_free(&img);
}

static void normalize_stretches_all_channels_jointly_and_skips_alpha(void)
{
    /* Two colour planes and alpha: range -10..10 over colour only. */
    float v[] = {-10, 0, 10, 5, 200, 7};
    unsigned char out[6];
    cnf_image img = t_image(2, 1, 3, 1, v);
    cnf_map_to_u8(&img, CNF_MAP_NORMALIZE, out, NULL);
    /* Interleaved: (c0,c1,a) per pixel. */
    CHECK(out[0] == 0 && out[3] == 128);   /* -10 -> 0, 0 -> 127.5 -> 128 */
    CHECK(out[1] == 255 && out[4] == 191); /* 10 -> 255, 5 -> 191.25 */
    CHECK(out[2] == 200 && out[5] == 7);   /* alpha rounded only */
    cnf_image_free(&img);
    {
        float flat[] = {3, 3};
        img = t_image(2, 1, 1, 0, flat);
        cnf_map_to_u8(&img, CNF_MAP_NORMALIZE, out, NULL);
        CHECK(out[0] == 0 && out[1] == 0);
        cnf_image_free(&img);
    }
}

static void npy_output_has_a_numpy_header_and_raw_float32(void)
{
    float v[] = {1, -2.5f, 3, 4, 5, 6};
    cnf_image img = t_image(3, 1, 2, 0, v);
    unsigned char *buf;
    size_t len;
    cnf_error e;
    CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_NPY, NULL, &buf, &len, NULL, &e), CNF_OK);
    CHECK(memcmp(buf, "\x93NUMPY\x01\x00", 8) == 0);
    {
        size_t hl = buf[8] | (size_t)buf[9] << 8;
        CHECK((10 + hl) % 64 == 0);
        CHECK(len == 10 + hl + sizeof v);
        CHECK(memmem(buf, 10 + hl, "'shape': (2, 1, 3)", 18) != NULL);
        CHECK(memmem(buf, 10 + hl, "'<f4'", 5) != NULL);
        CHECK(memcmp(buf + 10 + hl, v, sizeof v) == 0);
    }
    free(buf);
    cnf_image_free(&img);
}

static void txt_and_json_outputs_read_back_exactly(void)
{
    float v[] = {0.1f, -0.0f, 1e-7f, 123456789.0f, 16777217.0f, -3.25f};
    cnf_image img = t_image(3, 1, 2, 0, v), back;
    unsigned char *buf;
    size_t len;
    cnf_error e;
    CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_TXT, NULL, &buf, &len, NULL, &e), CNF_OK);
    CHECK(memcmp(buf, "0.100000001 0 1.00000001e-07\n\n", 30) == 0);
    CHECK_EQ_INT(cnf_decode(buf, len, CNF_IN_TXT, "t", 1000, &back, &e), CNF_OK);
    CHECK(t_equal(&back, 3, 1, 2, v));
    cnf_image_free(&back);
    free(buf);
    CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_JSON, NULL, &buf, &len, NULL, &e), CNF_OK);
    CHECK_EQ_INT(cnf_decode(buf, len, CNF_IN_JSON, "j", 1000, &back, &e), CNF_OK);
    CHECK(t_equal(&back, 3, 1, 2, v));
    cnf_image_free(&back);
    free(buf);
    cnf_image_free(&img);
}

static void png_round_trip_keeps_pixels_and_alpha(void)
{
    cnf_image img = t_image(5, 4, 4, 1, NULL), back;
    unsigned char *buf;
    size_t len;
    cnf_error e;
    for (int i = 0; i < 80; i++)
        img.data[i] = (float)((i * 37) % 256);
    for (int f = CNF_OUT_PNG; f <= CNF_OUT_TGA; f++) {
        if (f == CNF_OUT_JPG)
            continue; /* lossy */
        CHECK_EQ_INT(cnf_encode(&img, (cnf_output_format)f, NULL, &buf, &len, NULL,
                                &e),
                     CNF_OK);
        CHECK_EQ_INT(cnf_decode(buf, len, CNF_IN_AUTO, "p", 1000, &back, &e), CNF_OK);
        CHECK(t_equal(&back, 5, 4, 4, img.data));
        CHECK_EQ_INT(back.has_alpha, 1);
        cnf_image_free(&back);
        free(buf);
    }
    cnf_image_free(&img);
}

static void image_formats_refuse_other_channel_counts(void)
{
    cnf_image img = t_image(2, 2, 2, 0, NULL);
    unsigned char *buf;
    size_t len;
    cnf_error e;
    CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_PNG, NULL, &buf, &len, NULL, &e),
                 CNF_E_FORMAT);
    CHECK_EQ_INT(cnf_status_is_usage(CNF_E_FORMAT), 1);
    cnf_image_free(&img);
}

/* A PNG header claiming 100000 x 100000 must be refused before decoding. */
static void pixel_limit_is_checked_from_the_header(void)
{
    cnf_image img = t_image(2, 2, 1, 0, NULL), big;
    unsigned char *buf;
    size_t len;
    cnf_error e;
    CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_PNG, NULL, &buf, &len, NULL, &e), CNF_OK);
    /* IHDR width/height at bytes 16..23 (big-endian). */
    buf[16] = 0;
    buf[17] = 1;
    buf[18] = 0x86;
    buf[19] = 0xa0;
    buf[20] = 0;
    buf[21] = 1;
    buf[22] = 0x86;
    buf[23] = 0xa0;
    CHECK_EQ_INT(cnf_decode(buf, len, CNF_IN_AUTO, "big.png", CNF_DEFAULT_MAX_PIXELS, &big, &e),
                 CNF_E_TOO_BIG);
    CHECK_STR_CONTAINS(e.msg, "100000x100000");
    CHECK(strcmp(e.where, "big.png") == 0);
    free(buf);
    cnf_image_free(&img);
}

static void output_formats_come_from_extensions(void)
{
    CHECK_EQ_INT(cnf_output_format_for_path("a/b.PNG"), CNF_OUT_PNG);
    CHECK_EQ_INT(cnf_output_format_for_path("x.jpeg"), CNF_OUT_JPG);
    CHECK_EQ_INT(cnf_output_format_for_path("x.npy"), CNF_OUT_NPY);
    CHECK_EQ_INT(cnf_output_format_for_path("x.gif"), CNF_OUT_NONE);
    CHECK_EQ_INT(cnf_output_format_for_path("dir.png/x"), CNF_OUT_NONE);
    CHECK_EQ_INT(cnf_input_kind_for_path("m.CSV"), CNF_IN_CSV);
}

/* The reference mapping of reference §5, written plainly: half to even, NaN 0. */
static int ref_u8(double v, int *clip)
{
    double f, r;
    *clip = 0;
    if (v != v)
        return 0;
    f = floor(v);
    r = v - f > 0.5 ? f + 1 : v - f < 0.5 ? f : fmod(f, 2) == 0 ? f : f + 1;
    if (r < 0) {
        *clip = -1;
        return 0;
    }
    if (r > 255) {
        *clip = 1;
        return 255;
    }
    return (int)r;
}

static void map_row_matches_the_reference_on_every_kind_of_value(void)
{
    /* The vectorized row mapping (clamp and abs) against the plain rule, on
     * halves, boundaries, specials and random values, every channel count,
     * rows of 185 to 203 values (every remainder of a vector step) and of
     * 2100 (more than one stretch of 1024). */
    static const float special[] = {-0.5f, 0.5f, 1.5f, 2.5f, 254.5f, 255.5f, 256.5f,
                                    -1.5f, -0.49999997f, 255.49998f, 1e30f, -1e30f,
                                    0.0f, -0.0f, 3e9f, -3e9f};
    enum { WMAX = 2100 };
    static float buf[4][WMAX];
    static unsigned char out[4 * WMAX];
    unsigned seed = 7;
    int bad = 0;
    for (int trial = 0; trial < 200; trial++) {
        int comp = 1 + trial % 4, alpha = trial % 3 == 0 && comp > 1;
        int W = trial % 5 == 4 ? WMAX : 203 - trial % 19;
        cnf_map_mode mode = trial % 2 ? CNF_MAP_ABS : CNF_MAP_CLAMP;
        const float *src[4];
        cnf_map_stats st;
        uint64_t low = 0, high = 0;
        double mn = INFINITY, mx = -INFINITY;
        for (int c = 0; c < comp; c++) {
            for (int x = 0; x < W; x++) {
                seed = seed * 1103515245u + 12345u;
                if (seed % 5 == 0)
                    buf[c][x] = special[(seed >> 8) % (sizeof special / sizeof special[0])];
                else if (seed % 7 == 0)
                    buf[c][x] = (seed >> 9) % 2 ? NAN : INFINITY;
                else
                    buf[c][x] = (float)((int)((seed >> 8) % 700) - 200) / 2.0f +
                                (float)((seed >> 4) % 3) * 0.25f;
            }
            src[c] = buf[c];
        }
        cnf_map_stats_init(&st);
        cnf_map_row(src, comp, alpha, W, mode, 0, 0, out, &st);
        for (int c = 0; c < comp; c++)
            for (int x = 0; x < W; x++) {
                double v = buf[c][x];
                int clip, want;
                int is_alpha = alpha && c == comp - 1;
                if (!is_alpha && v == v) {
                    mn = v < mn ? v : mn;
                    mx = v > mx ? v : mx;
                }
                want = ref_u8(!is_alpha && mode == CNF_MAP_ABS ? fabs(v) : v, &clip);
                if (!is_alpha) {
                    low += clip < 0;
                    high += clip > 0;
                }
                if (out[x * comp + c] != want && bad++ < 5)
                    fprintf(stderr, "map %g (mode %d) gave %d, want %d\n", v, mode,
                            out[x * comp + c], want);
            }
        CHECK(st.clipped_low == low && st.clipped_high == high);
        CHECK(st.min == mn && st.max == mx);
        CHECK_EQ_INT(st.values, (uint64_t)W * (uint64_t)(comp - alpha));
    }
    CHECK_EQ_INT(bad, 0);
}

int main(void)
{
    RUN(txt_rows_and_blank_line_channels_are_read);
    RUN(csv_and_json_matrices_are_read);
    RUN(bad_matrices_fail_with_a_position);
    RUN(empty_and_oversized_inputs_are_refused);
    RUN(map_rounds_half_to_even_and_clamps);
    RUN(normalize_stretches_all_channels_jointly_and_skips_alpha);
    RUN(map_row_matches_the_reference_on_every_kind_of_value);
    RUN(npy_output_has_a_numpy_header_and_raw_float32);
    RUN(txt_and_json_outputs_read_back_exactly);
    RUN(png_round_trip_keeps_pixels_and_alpha);
    RUN(image_formats_refuse_other_channel_counts);
    RUN(pixel_limit_is_checked_from_the_header);
    RUN(output_formats_come_from_extensions);
    return t_finish("test_io");
}
