/* test_matrix_io.c - numeric matrices: .txt/.csv/.npy in (values, shapes, errors with their position), .npy/.txt/.json out (exact bytes). */
#include "test_util.h"

#include <stdint.h>

static cnf_status decode_n(const void *p, size_t n, cnf_input_kind kind, uint64_t max_pixels,
                           cnf_image *img, cnf_error *e)
{
    memset(e, 0, sizeof *e);
    return cnf_decode(p, n, kind, "m", max_pixels, img, e);
}

static cnf_status decode_s(const char *s, cnf_input_kind kind, cnf_image *img, cnf_error *e)
{
    return decode_n(s, strlen(s), kind, CNF_DEFAULT_MAX_PIXELS, img, e);
}

/* ----------------------------------------------------------- text in */

static void text_rows_comments_and_channels_give_their_shape(void)
{
    static const struct {
        const char *text;
        cnf_input_kind kind;
        int w, h, c;
        float v[8];
    } T[] = {
        {"1 2 3\n", CNF_IN_TXT, 3, 1, 1, {1, 2, 3}},
        {"\n\n# head\n1\t-2\r\n+3 .5\n\n\n", CNF_IN_TXT, 2, 2, 1, {1, -2, 3, 0.5f}},
        {"1 2\n\n3 4\n\n5 6", CNF_IN_TXT, 2, 1, 3, {1, 2, 3, 4, 5, 6}},
        {"1e2 -0\n", CNF_IN_TXT, 2, 1, 1, {100, 0}},
        {"1, 2 ,3\n4,5,6\n", CNF_IN_CSV, 3, 2, 1, {1, 2, 3, 4, 5, 6}},
        {"# c\n1,2\n\n3,4\n", CNF_IN_CSV, 2, 1, 2, {1, 2, 3, 4}},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        cnf_image img;
        cnf_error e;
        CHECK_EQ_INT(decode_s(T[i].text, T[i].kind, &img, &e), CNF_OK);
        CHECK(t_equal(&img, T[i].w, T[i].h, T[i].c, T[i].v));
        CHECK_EQ_INT(img.has_alpha, 0);
        cnf_image_free(&img);
    }
}

static void text_errors_give_the_exact_message_line_and_column(void)
{
    static const struct {
        const char *text;
        size_t len; /* 0: strlen */
        cnf_input_kind kind;
        cnf_status st;
        int line, col;
        const char *msg;
    } T[] = {
        {"1 2\n3\n", 0, CNF_IN_TXT, CNF_E_DECODE, 2, 1, "row has 1 values, the first row has 2"},
        {"1 2\n\n3 4\n5 6\n", 0, CNF_IN_TXT, CNF_E_DECODE, 5, 1,
         "channel 2 has 2 rows, channel 1 has 1"},
        {"1 2\n\n3 4\n5 6\n\n7 8\n", 0, CNF_IN_TXT, CNF_E_DECODE, 5, 1,
         "channel 2 has 2 rows, channel 1 has 1"},
        {"1,2\n3;4\n", 0, CNF_IN_CSV, CNF_E_DECODE, 2, 1, "'3;4' is not a number"},
        {"1, 2 x\n", 0, CNF_IN_CSV, CNF_E_DECODE, 1, 6, "expected ','"},
        {"1,,2\n", 0, CNF_IN_CSV, CNF_E_DECODE, 1, 3, "missing value"},
        {"1,2,\n", 0, CNF_IN_CSV, CNF_E_DECODE, 1, 5, "missing value after ','"},
        {"1 2\0 3\n", 7, CNF_IN_TXT, CNF_E_DECODE, 1, 3, "NUL byte in a number"},
        {"4 1e39\n", 0, CNF_IN_TXT, CNF_E_DECODE, 1, 3, "'1e39' is not a finite number"},
        {"\n  inf\n", 0, CNF_IN_TXT, CNF_E_DECODE, 2, 3, "'inf' is not a finite number"},
        {"# nothing\n\n", 0, CNF_IN_TXT, CNF_E_DECODE, 0, 0, "no numbers in the matrix"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        cnf_image img;
        cnf_error e;
        size_t n = T[i].len ? T[i].len : strlen(T[i].text);
        CHECK_EQ_INT(decode_n(T[i].text, n, T[i].kind, CNF_DEFAULT_MAX_PIXELS, &img, &e),
                     T[i].st);
        CHECK(img.data == NULL);
        if (e.line != T[i].line || e.col != T[i].col || strcmp(e.msg, T[i].msg) != 0)
            fprintf(stderr, "case %zu: %d:%d %s\n", i, e.line, e.col, e.msg);
        CHECK_EQ_INT(e.line, T[i].line);
        CHECK_EQ_INT(e.col, T[i].col);
        CHECK(strcmp(e.msg, T[i].msg) == 0);
        CHECK(strcmp(e.where, "m") == 0);
    }
}

static void text_limits_name_the_limit(void)
{
    char big[400];
    cnf_image img;
    cnf_error e;
    size_t n = 0;
    /* 130 digits: too long for a number. */
    memset(big, '1', 130);
    big[130] = 0;
    CHECK_EQ_INT(decode_s(big, CNF_IN_TXT, &img, &e), CNF_E_DECODE);
    CHECK(strcmp(e.msg, "number too long") == 0 && e.line == 1 && e.col == 1);
    /* 65 values with a 1-pixel limit: the 65th is over (64 per pixel). */
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%d ", i);
    CHECK_EQ_INT(decode_n(big, n, CNF_IN_TXT, 1, &img, &e), CNF_E_TOO_BIG);
    CHECK(strcmp(e.msg, "matrix is over the pixel limit") == 0);
    CHECK(e.line == 1 && e.col == (int)(n - 3 + 1));
    CHECK_EQ_INT(e.limit, CNF_LIMIT_PIXELS);
    /* Within the values, over the pixels: the shape is named. */
    CHECK_EQ_INT(decode_n("1 2 3\n", 6, CNF_IN_TXT, 2, &img, &e), CNF_E_TOO_BIG);
    CHECK(strcmp(e.msg, "3x1 matrix is over the pixel limit") == 0);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_PIXELS);
    /* 65 one-value channels. */
    n = 0;
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%d\n\n", i);
    CHECK_EQ_INT(decode_n(big, n, CNF_IN_TXT, 1000, &img, &e), CNF_E_TOO_BIG);
    CHECK(strcmp(e.msg, "65 channels; at most 64 are supported") == 0);
}

/* ------------------------------------------------------------ .npy in */

/* A .npy file: version 1 header `dict` and `n` bytes of data. */
static size_t npy(unsigned char *out, const char *dict, const void *data, size_t n)
{
    size_t hl = strlen(dict);
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (unsigned char)(hl & 255);
    out[9] = (unsigned char)(hl >> 8);
    memcpy(out + 10, dict, hl);
    memcpy(out + 10 + hl, data, n);
    return 10 + hl + n;
}

static void npy_types_and_shapes_are_read(void)
{
    static const uint8_t u1[] = {0, 1, 2, 253, 254, 255};
    static const int16_t i2[] = {-32768, -1, 0, 1, 32767, 7};
    static const uint32_t u4[] = {0, 1, 4000000000u, 16777216u};
    static const double f8[] = {0.5, -1e30, 3};
    static const float f4[] = {1.5f, -2, 0.25f, 8};
    static const struct {
        const char *dict;
        const void *data;
        size_t n;
        int w, h, c;
        float v[6];
    } T[] = {
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1, 3), }", u1, 6, 3, 1, 2,
         {0, 1, 2, 253, 254, 255}},
        {"{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }", i2, 12, 3, 2, 1,
         {-32768, -1, 0, 1, 32767, 7}},
        {"{'descr': '<u4', 'fortran_order': False, 'shape': (2, 2), }", u4, 16, 2, 2, 1,
         {0, 1, 4e9f, 16777216}},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (1,3), }", f8, 24, 3, 1, 1,
         {0.5f, -1e30f, 3}},
        {"{'fortran_order': False, 'shape': ( +2 ,\t2 ), 'descr': '<f4'}", f4, 16, 2, 2, 1,
         {1.5f, -2, 0.25f, 8}},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        unsigned char f[256];
        size_t n = npy(f, T[i].dict, T[i].data, T[i].n);
        cnf_image img;
        cnf_error e;
        CHECK_EQ_INT(decode_n(f, n, CNF_IN_NPY, 1000, &img, &e), CNF_OK);
        CHECK(t_equal(&img, T[i].w, T[i].h, T[i].c, T[i].v));
        cnf_image_free(&img);
        /* Unnamed: found by its magic. */
        CHECK_EQ_INT(decode_n(f, n, CNF_IN_AUTO, 1000, &img, &e), CNF_OK);
        cnf_image_free(&img);
    }
    {
        /* Version 2: a 4-byte header length. */
        unsigned char f[128] = "\x93NUMPY\x02\x00";
        const char *dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2), }";
        size_t hl = strlen(dict);
        cnf_image img;
        cnf_error e;
        static const float want[] = {9, 10};
        f[8] = (unsigned char)hl;
        f[9] = f[10] = f[11] = 0;
        memcpy(f + 12, dict, hl);
        f[12 + hl] = 9;
        f[13 + hl] = 10;
        CHECK_EQ_INT(decode_n(f, 14 + hl, CNF_IN_NPY, 1000, &img, &e), CNF_OK);
        CHECK(t_equal(&img, 2, 1, 1, want));
        cnf_image_free(&img);
    }
}

static void npy_errors_say_what_is_wrong(void)
{
    static const float nan4[] = {1, 2, NAN, 4};
    static const struct {
        const char *dict;
        size_t n;      /* data bytes (from nan4) */
        uint64_t max;  /* pixel limit */
        cnf_status st;
        const char *msg;
    } T[] = {
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, 100, CNF_E_DECODE,
         "only C-order .npy arrays are supported"},
        {"{'fortran_order': False, 'shape': (2, 2), }", 16, 100, CNF_E_DECODE,
         "no dtype in the .npy header"},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }", 16, 100, CNF_E_DECODE,
         "unsupported .npy dtype (use float32/64 or little-endian integers)"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", 16, 100, CNF_E_DECODE,
         "unsupported .npy dtype (use float32/64 or little-endian integers)"},
        {"{'descr': '<f4', 'fortran_order': False, }", 16, 100, CNF_E_DECODE,
         "no shape in the .npy header"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 16, 100, CNF_E_DECODE,
         ".npy shape must be 2-D (H,W) or 3-D (C,H,W)"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2, 2), }", 16, 100,
         CNF_E_DECODE, ".npy shape must be 2-D or 3-D, non-empty"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", 16, 100, CNF_E_DECODE,
         ".npy shape must be 2-D or 3-D, non-empty"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 2), }", 16, 100, CNF_E_DECODE,
         ".npy shape must be 2-D or 3-D, non-empty"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (65, 1, 1), }", 16, 100,
         CNF_E_TOO_BIG, "65 channels; at most 64 are supported"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 16, 3, CNF_E_TOO_BIG,
         "2x2 matrix is over the pixel limit"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 15, 100, CNF_E_DECODE,
         "truncated .npy data"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 16, 100, CNF_E_DECODE,
         "value 2 is not a finite float32"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        unsigned char f[256];
        size_t n = npy(f, T[i].dict, nan4, T[i].n);
        cnf_image img;
        cnf_error e;
        CHECK_EQ_INT(decode_n(f, n, CNF_IN_NPY, T[i].max, &img, &e), T[i].st);
        CHECK(img.data == NULL);
        if (strcmp(e.msg, T[i].msg) != 0)
            fprintf(stderr, "case %zu: %s\n", i, e.msg);
        CHECK(strcmp(e.msg, T[i].msg) == 0);
    }
    {
        unsigned char f[128];
        cnf_image img;
        cnf_error e;
        size_t n = npy(f, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", "", 0);
        CHECK_EQ_INT(decode_n(f, 8, CNF_IN_NPY, 100, &img, &e), CNF_E_DECODE);
        CHECK(strcmp(e.msg, "not a .npy file") == 0);
        CHECK_EQ_INT(decode_n(f, n - 5, CNF_IN_NPY, 100, &img, &e), CNF_E_DECODE);
        CHECK(strcmp(e.msg, "truncated .npy header") == 0);
        f[6] = 4;
        CHECK_EQ_INT(decode_n(f, n, CNF_IN_NPY, 100, &img, &e), CNF_E_DECODE);
        CHECK(strcmp(e.msg, ".npy version 4 is not supported") == 0);
    }
}

/* ----------------------------------------------------------- writing */

static void npy_output_is_byte_for_byte_what_numpy_saves(void)
{
    /* numpy.save of float32 [[[1.5, -2]]]: the dict padded with spaces to a
     * 128-byte preamble ending in '\n', then the little-endian values. */
    static const char dict[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2), }";
    static const float v[] = {1.5f, -2};
    unsigned char want[136];
    cnf_image img = t_image(2, 1, 1, 0, v);
    unsigned char *buf;
    size_t len;
    cnf_error e;
    memcpy(want, "\x93NUMPY\x01\x00\x76\x00", 10);
    memcpy(want + 10, dict, 62);
    memset(want + 72, ' ', 55);
    want[127] = '\n';
    memcpy(want + 128, "\x00\x00\xc0\x3f\x00\x00\x00\xc0", 8);
    CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_NPY, NULL, &buf, &len, NULL, &e), CNF_OK);
    CHECK_EQ_INT(len, sizeof want);
    CHECK(len == sizeof want && memcmp(buf, want, len) == 0);
    free(buf);
    cnf_image_free(&img);
}

static void txt_and_json_outputs_are_exact_text(void)
{
    static const float one[] = {1, 0.1f, -0.0f, 1e-7f};
    static const float two[] = {1, 2};
    static const float bad[] = {1, INFINITY};
    static const struct {
        const float *v;
        int w, h, c;
        cnf_output_format f;
        const char *want;
    } T[] = {
        {one, 2, 2, 1, CNF_OUT_TXT, "1 0.100000001\n0 1.00000001e-07\n"},
        {two, 1, 1, 2, CNF_OUT_TXT, "1\n\n2\n"},
        {one, 2, 2, 1, CNF_OUT_JSON, "[\n [1, 0.100000001],\n [0, 1.00000001e-07]\n]\n"},
        {two, 1, 1, 2, CNF_OUT_JSON, "[\n [\n  [1]\n ],\n [\n  [2]\n ]\n]\n"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        cnf_image img = t_image(T[i].w, T[i].h, T[i].c, 0, T[i].v);
        unsigned char *buf;
        size_t len;
        cnf_error e;
        CHECK_EQ_INT(cnf_encode(&img, T[i].f, NULL, &buf, &len, NULL, &e), CNF_OK);
        CHECK(len == strlen(T[i].want) && memcmp(buf, T[i].want, len) == 0);
        if (len != strlen(T[i].want) || memcmp(buf, T[i].want, len) != 0)
            fprintf(stderr, "case %zu: %.*s", i, (int)len, (const char *)buf);
        free(buf);
        cnf_image_free(&img);
    }
    {
        cnf_image img = t_image(2, 1, 1, 0, bad);
        unsigned char *buf;
        size_t len;
        cnf_error e;
        /* One rule with the readers: every exact format holds finite values only. */
        const cnf_output_format fmts[3] = {CNF_OUT_JSON, CNF_OUT_TXT, CNF_OUT_NPY};
        const char *names[3] = {".json", ".txt", ".npy"};
        for (int f = 0; f < 3; f++) {
            buf = (unsigned char *)&len; /* must come back NULL */
            CHECK_EQ_INT(cnf_encode(&img, fmts[f], NULL, &buf, &len, NULL, &e), CNF_E_FORMAT);
            CHECK(strstr(e.msg, "+inf at (channel 0, row 0, column 1)") != NULL);
            CHECK(strstr(e.msg, names[f]) != NULL);
            CHECK(buf == NULL && len == 0);
        }
        buf = NULL;
        free(buf);
        cnf_image_free(&img);
    }
}

static void random_values_round_trip_through_every_exact_format(void)
{
    static const cnf_output_format F[] = {CNF_OUT_NPY, CNF_OUT_TXT, CNF_OUT_JSON};
    static const cnf_input_kind K[] = {CNF_IN_NPY, CNF_IN_TXT, CNF_IN_JSON};
    cnf_image img = t_image(7, 5, 3, 0, NULL);
    uint32_t seed = 42;
    for (size_t i = 0; i < 7 * 5 * 3; i++) {
        uint32_t bits;
        seed = seed * 1664525u + 1013904223u;
        /* Random finite float32 bit patterns, all exponents. */
        bits = seed & 0xff7fffffu;
        if (((bits >> 23) & 0xff) == 0xff)
            bits &= ~(1u << 30);
        memcpy(&img.data[i], &bits, 4);
        if (img.data[i] == 0)
            img.data[i] = 0; /* text writes -0 as 0 */
    }
    for (int f = 0; f < 3; f++) {
        unsigned char *buf;
        size_t len;
        cnf_image back;
        cnf_error e;
        CHECK_EQ_INT(cnf_encode(&img, F[f], NULL, &buf, &len, NULL, &e), CNF_OK);
        CHECK_EQ_INT(cnf_decode(buf, len, K[f], "r", 1000, &back, &e), CNF_OK);
        CHECK(t_equal(&back, 7, 5, 3, img.data));
        cnf_image_free(&back);
        /* Unnamed, each is found by its content. */
        CHECK_EQ_INT(cnf_decode(buf, len, CNF_IN_AUTO, "-", 1000, &back, &e), CNF_OK);
        CHECK(t_equal(&back, 7, 5, 3, img.data));
        cnf_image_free(&back);
        free(buf);
    }
    cnf_image_free(&img);
}

int main(void)
{
    RUN(text_rows_comments_and_channels_give_their_shape);
    RUN(text_errors_give_the_exact_message_line_and_column);
    RUN(text_limits_name_the_limit);
    RUN(npy_types_and_shapes_are_read);
    RUN(npy_errors_say_what_is_wrong);
    RUN(npy_output_is_byte_for_byte_what_numpy_saves);
    RUN(txt_and_json_outputs_are_exact_text);
    RUN(random_values_round_trip_through_every_exact_format);
    return t_finish("test_matrix_io");
}
