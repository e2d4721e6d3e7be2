/* test_formats_io.c - TIFF, WebP and PNM written and read back, the depths, and cnnfilter's mark in every format. */
#include "cnnfilter.h"
#include "test_util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tiffio.h>

/* Deterministic noise 0..255 (integers). */
static cnf_image noise_image(int w, int h, int c, int alpha, unsigned seed)
{
    cnf_image img = t_image(w, h, c, alpha, NULL);
    size_t n = (size_t)w * h * c;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        img.data[i] = (float)((seed >> 16) & 255);
    }
    return img;
}

static cnf_encode_opts opts_of(int depth, int quality, const char *software, const char *comment)
{
    cnf_encode_opts o;
    cnf_encode_opts_init(&o);
    o.depth = depth;
    o.quality = quality;
    o.software = software;
    o.comment = comment;
    return o;
}

/* Encode or abort. */
static unsigned char *enc(const cnf_image *img, cnf_output_format f, const cnf_encode_opts *o,
                          size_t *len)
{
    unsigned char *b = NULL;
    cnf_error e;
    if (cnf_encode(img, f, o, &b, len, NULL, &e) != CNF_OK) {
        fprintf(stderr, "encode %d: %s\n", f, e.msg);
        abort();
    }
    return b;
}

/* 1 if a and b have the same shape and bit-identical values. */
static int same_image(const cnf_image *a, const cnf_image *b)
{
    return a->width == b->width && a->height == b->height && a->channels == b->channels &&
           a->has_alpha == b->has_alpha &&
           memcmp(a->data, b->data,
                  sizeof(float) * (size_t)a->width * a->height * a->channels) == 0;
}

static void tiff_8bit_round_trip_is_exact_in_every_layout(void)
{
    static const int CH[4][2] = {{1, 0}, {2, 1}, {3, 0}, {4, 1}};
    for (int k = 0; k < 4; k++) {
        cnf_image img = noise_image(37, 23, CH[k][0], CH[k][1], 7u + (unsigned)k), back;
        size_t len;
        cnf_encode_opts o = opts_of(8, -1, NULL, NULL);
        unsigned char *b = enc(&img, CNF_OUT_TIFF, &o, &len);
        cnf_error e;
        CHECK(len > 8 && memcmp(b, "II*\0", 4) == 0);
        CHECK_EQ_INT(cnf_decode(b, len, CNF_IN_AUTO, "t.tif", 1u << 20, &back, &e), CNF_OK);
        CHECK(same_image(&img, &back));
        cnf_image_free(&back);
        free(b);
        cnf_image_free(&img);
    }
}

static void tiff_16bit_keeps_fractions_of_257(void)
{
    /* v / 257 for every 16-bit v on a ramp: written at depth 16, read back equal. */
    cnf_image img = t_image(256, 2, 1, 0, NULL), back;
    size_t len;
    cnf_encode_opts o = opts_of(16, -1, NULL, NULL);
    unsigned char *b;
    cnf_error e;
    for (int i = 0; i < 512; i++)
        img.data[i] = (float)((i * 127 + 3) % 65536 / 257.0);
    b = enc(&img, CNF_OUT_TIFF, &o, &len);
    CHECK_EQ_INT(cnf_decode(b, len, CNF_IN_AUTO, "t.tif", 1u << 20, &back, &e), CNF_OK);
    CHECK(same_image(&img, &back));
    /* The same values in 8 bits are rounded: not equal. */
    cnf_image_free(&back);
    free(b);
    o.depth = 8;
    b = enc(&img, CNF_OUT_TIFF, &o, &len);
    CHECK_EQ_INT(cnf_decode(b, len, CNF_IN_AUTO, "t.tif", 1u << 20, &back, &e), CNF_OK);
    CHECK(!same_image(&img, &back));
    CHECK(fabsf(back.data[1] - roundf(img.data[1])) < 1e-6f);
    cnf_image_free(&back);
    free(b);
    cnf_image_free(&img);
}

static void tiff_float_keeps_every_bit_for_1_to_4_channels(void)
{
    for (int c = 1; c <= 4; c++) {
        cnf_image img = t_image(19, 11, c, c == 2 || c == 4, NULL), back;
        size_t len, n = (size_t)19 * 11 * c;
        cnf_encode_opts o = opts_of(CNF_DEPTH_FLOAT, -1, NULL, NULL);
        unsigned char *b;
        cnf_error e;
        for (size_t i = 0; i < n; i++)
            img.data[i] =
                (float)((double)i * -0.3137 + 1e-3 * (double)(i % 7)) * (i % 5 ? 1 : 1e6f);
        img.data[3] = -0.0f;
        img.data[4] = 1e-40f; /* subnormal */
        img.data[5] = 3.4028235e38f; /* FLT_MAX */
        b = enc(&img, CNF_OUT_TIFF, &o, &len);
        CHECK_EQ_INT(cnf_decode(b, len, CNF_IN_AUTO, "t.tif", 1u << 20, &back, &e), CNF_OK);
        CHECK(same_image(&img, &back));
        cnf_image_free(&back);
        free(b);
        /* an infinity is refused, as the readers refuse it (one rule) */
        img.data[5] = INFINITY;
        CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_TIFF, &o, &b, &len, NULL, &e), CNF_E_FORMAT);
        CHECK_STR_CONTAINS(e.msg, "+inf at (channel 0, row 0, column 5)");
        cnf_image_free(&img);
    }
    {
        cnf_image five = t_image(2, 2, 5, 0, NULL);
        unsigned char *b;
        size_t len;
        cnf_error e;
        cnf_encode_opts o = opts_of(CNF_DEPTH_FLOAT, -1, NULL, NULL);
        memset(five.data, 0, sizeof(float) * 20);
        CHECK_EQ_INT(cnf_encode(&five, CNF_OUT_TIFF, &o, &b, &len, NULL, &e), CNF_E_FORMAT);
        cnf_image_free(&five);
    }
}

static void depths_a_format_cannot_hold_are_refused(void)
{
    cnf_image img = noise_image(4, 4, 1, 0, 1);
    unsigned char *b;
    size_t len;
    cnf_error e;
    cnf_encode_opts o16 = opts_of(16, -1, NULL, NULL);
    cnf_encode_opts of = opts_of(CNF_DEPTH_FLOAT, -1, NULL, NULL);
    CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_JPG, &o16, &b, &len, NULL, &e), CNF_E_FORMAT);
    CHECK_STR_CONTAINS(e.msg, "16-bit");
    CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_WEBP, &o16, &b, &len, NULL, &e), CNF_E_FORMAT);
    CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_PNG, &of, &b, &len, NULL, &e), CNF_E_FORMAT);
    CHECK_STR_CONTAINS(e.msg, "float");
    CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_PNM, &of, &b, &len, NULL, &e), CNF_E_FORMAT);
    /* PNG and PNM hold 16 bits. */
    b = enc(&img, CNF_OUT_PNG, &o16, &len);
    CHECK_EQ_INT(b[24], 16); /* IHDR bit depth */
    free(b);
    b = enc(&img, CNF_OUT_PNM, &o16, &len);
    CHECK(len == 3 + strlen("4 4\n65535\n") + 32 && memcmp(b, "P5\n4 4\n65535\n", 13) == 0);
    free(b);
    cnf_image_free(&img);
}

static void tiff_probe_refuses_a_big_header_before_decoding(void)
{
    cnf_image img = noise_image(300, 200, 3, 0, 3);
    size_t len;
    cnf_encode_opts o = opts_of(8, -1, NULL, NULL);
    unsigned char *b = enc(&img, CNF_OUT_TIFF, &o, &len);
    int w, h, c, a;
    cnf_error e;
    cnf_image back;
    CHECK_EQ_INT(cnf_probe(b, len, CNF_IN_AUTO, "t.tif", 60000, &w, &h, &c, &a, &e), CNF_OK);
    CHECK(w == 300 && h == 200 && c == 3 && a == 0);
    CHECK_EQ_INT(cnf_probe(b, len, CNF_IN_AUTO, "t.tif", 59999, &w, &h, &c, &a, &e),
                 CNF_E_TOO_BIG);
    CHECK_EQ_INT(cnf_decode(b, len, CNF_IN_AUTO, "t.tif", 59999, &back, &e), CNF_E_TOO_BIG);
    CHECK_STR_CONTAINS(e.msg, "300x200");
    free(b);
    cnf_image_free(&img);
}

/* Every prefix of a file fails to decode (or decodes) without a crash; the
 * cut ones fail with CNF_E_DECODE. */
static void truncated_files_fail_cleanly(void)
{
    cnf_image img = noise_image(40, 30, 4, 1, 5);
    const cnf_output_format F[3] = {CNF_OUT_TIFF, CNF_OUT_WEBP, CNF_OUT_PNM};
    for (int f = 0; f < 3; f++) {
        size_t len;
        cnf_encode_opts o = opts_of(8, -1, "cnnfilter x", "c");
        cnf_image in = img;
        unsigned char *b;
        if (F[f] == CNF_OUT_PNM) {
            in.channels = 3;
            in.has_alpha = 0;
        }
        b = enc(&in, F[f], &o, &len);
        for (size_t cut = 1; cut < len; cut += cut < 64 ? 1 : 97) {
            cnf_image back;
            cnf_error e;
            unsigned char *copy = malloc(cut);
            cnf_status st;
            memcpy(copy, b, cut);
            st = cnf_decode(copy, cut, CNF_IN_AUTO, "cut", 1u << 20, &back, &e);
            if (st == CNF_OK)
                cnf_image_free(&back);
            else
                CHECK(strlen(e.msg) > 0 && !strchr(e.msg, '\n'));
            if (F[f] != CNF_OUT_TIFF || cut < len / 2) /* a TIFF's last bytes are its tags */
                CHECK_EQ_INT(st, CNF_E_DECODE);
            free(copy);
        }
        free(b);
    }
    cnf_image_free(&img);
}

/* A JPEG-compressed YCbCr TIFF (written by libtiff here): read as RGB. */
static void tiff_ycbcr_jpeg_is_read_as_rgb(void)
{
    char name[] = "/tmp/cnf-ycbcr-XXXXXX";
    int fd = mkstemp(name);
    TIFF *t;
    unsigned char row[64 * 3], *buf;
    cnf_image back;
    cnf_error e;
    long len;
    FILE *f;
    double err_sum = 0;
    CHECK(fd >= 0);
    close(fd);
    t = TIFFOpen(name, "w");
    CHECK(t != NULL);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 64);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 32);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
    TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    TIFFSetField(t, TIFFTAG_JPEGQUALITY, 95);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
    for (int y = 0; y < 32; y++) {
        for (int x = 0; x < 64; x++) {
            row[x * 3] = (unsigned char)(x * 4);
            row[x * 3 + 1] = (unsigned char)(y * 8);
            row[x * 3 + 2] = 128;
        }
        CHECK_EQ_INT(TIFFWriteScanline(t, row, (uint32_t)y, 0), 1);
    }
    TIFFClose(t);
    f = fopen(name, "rb");
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    buf = malloc((size_t)len);
    CHECK(fread(buf, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    unlink(name);
    CHECK_EQ_INT(cnf_decode(buf, (size_t)len, CNF_IN_AUTO, "y.tif", 1u << 20, &back, &e), CNF_OK);
    CHECK(back.width == 64 && back.height == 32 && back.channels == 3 && !back.has_alpha);
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 64; x++) {
            size_t i = (size_t)y * 64 + x;
            err_sum += fabs(back.data[i] - x * 4) + fabs(back.data[2048 + i] - y * 8) +
                       fabs(back.data[4096 + i] - 128);
        }
    CHECK(err_sum / (64 * 32 * 3) < 3); /* JPEG at quality 95 */
    cnf_image_free(&back);
    free(buf);
}

static void webp_lossless_is_exact_with_alpha_and_lossy_is_smaller(void)
{
    cnf_image img = t_image(64, 48, 4, 1, NULL), back;
    size_t n = (size_t)64 * 48, len, lossy_len;
    cnf_encode_opts o = opts_of(8, -1, NULL, NULL);
    unsigned char *b, *q;
    cnf_error e;
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        int x = (int)(i % 64), y = (int)(i / 64);
        unsigned r = (unsigned)(i * 2654435761u) >> 28; /* 0..15 of noise */
        img.data[i] = (float)(int)(120 + 100 * sin(x / 5.0) * cos(y / 7.0) + r);
        img.data[n + i] = (float)(int)(128 + 90 * cos((x + y) / 9.0) + (r ^ 5));
        img.data[2 * n + i] = (float)(int)(100 + 80 * sin(y / 4.0) + (r ^ 9));
        img.data[3 * n + i] = (float)(x < 8 ? 0 : (x * 37 + y) % 256);
    }
    b = enc(&img, CNF_OUT_WEBP, &o, &len);
    CHECK_EQ_INT(cnf_decode(b, len, CNF_IN_AUTO, "t.webp", 1u << 20, &back, &e), CNF_OK);
    CHECK(same_image(&img, &back)); /* colour under alpha 0 kept too */
    cnf_image_free(&back);
    o.quality = 50;
    q = enc(&img, CNF_OUT_WEBP, &o, &lossy_len);
    CHECK(lossy_len < len);
    CHECK_EQ_INT(cnf_decode(q, lossy_len, CNF_IN_AUTO, "t.webp", 1u << 20, &back, &e), CNF_OK);
    CHECK(back.channels == 4 && back.has_alpha);
    for (size_t i = 0; i < 3 * n; i++)
        se += (back.data[i] - img.data[i]) * (double)(back.data[i] - img.data[i]);
    CHECK(10 * log10(255.0 * 255.0 / (se / (3.0 * n))) > 20);
    cnf_image_free(&back);
    free(b);
    free(q);
    cnf_image_free(&img);
}

static void webp_gray_is_written_as_rgb_and_size_is_limited(void)
{
    cnf_image img = noise_image(9, 5, 1, 0, 9), back, wide;
    size_t len;
    cnf_encode_opts o = opts_of(8, -1, NULL, NULL);
    unsigned char *b = enc(&img, CNF_OUT_WEBP, &o, &len);
    cnf_error e;
    int w, h, c, a;
    CHECK_EQ_INT(cnf_decode(b, len, CNF_IN_AUTO, "t.webp", 1u << 20, &back, &e), CNF_OK);
    CHECK_EQ_INT(back.channels, 3);
    for (int k = 0; k < 3; k++)
        CHECK(memcmp(cnf_image_plane(&back, k), img.data, sizeof(float) * 45) == 0);
    CHECK_EQ_INT(cnf_probe(b, len, CNF_IN_AUTO, "t.webp", 44, &w, &h, &c, &a, &e),
                 CNF_E_TOO_BIG);
    cnf_image_free(&back);
    free(b);
    wide = t_image(16384, 1, 1, 0, NULL);
    memset(wide.data, 0, sizeof(float) * 16384);
    CHECK_EQ_INT(cnf_encode(&wide, CNF_OUT_WEBP, &o, &b, &len, NULL, &e), CNF_E_FORMAT);
    CHECK_STR_CONTAINS(e.msg, "16383");
    cnf_image_free(&wide);
    cnf_image_free(&img);
}

static void pnm_8_and_16_bit_round_trip_and_alpha_is_refused(void)
{
    cnf_image img = noise_image(13, 7, 3, 0, 11), back, rgba;
    cnf_encode_opts o = opts_of(8, -1, NULL, NULL);
    size_t len;
    unsigned char *b = enc(&img, CNF_OUT_PNM, &o, &len);
    cnf_error e;
    CHECK(memcmp(b, "P6\n13 7\n255\n", 12) == 0 && len == 12 + 13 * 7 * 3);
    CHECK_EQ_INT(cnf_decode(b, len, CNF_IN_AUTO, "t.ppm", 1u << 20, &back, &e), CNF_OK);
    CHECK(same_image(&img, &back));
    cnf_image_free(&back);
    free(b);
    for (int i = 0; i < 13 * 7 * 3; i++)
        img.data[i] = (float)((i * 251 + 9) % 65536 / 257.0);
    o.depth = 16;
    b = enc(&img, CNF_OUT_PNM, &o, &len);
    CHECK(memcmp(b, "P6\n13 7\n65535\n", 14) == 0 && len == 14 + 13 * 7 * 6);
    /* Big-endian: the first sample is 9. */
    CHECK(b[14] == 0 && b[15] == 9);
    CHECK_EQ_INT(cnf_decode(b, len, CNF_IN_AUTO, "t.ppm", 1u << 20, &back, &e), CNF_OK);
    CHECK(same_image(&img, &back));
    cnf_image_free(&back);
    free(b);
    rgba = noise_image(2, 2, 4, 1, 1);
    CHECK_EQ_INT(cnf_encode(&rgba, CNF_OUT_PNM, &o, &b, &len, NULL, &e), CNF_E_FORMAT);
    CHECK_STR_CONTAINS(e.msg, "--alpha drop");
    cnf_image_free(&rgba);
    cnf_image_free(&img);
}

static void jpeg_default_quality_is_90(void)
{
    cnf_image img = noise_image(16, 16, 3, 0, 2);
    size_t l1, l2, l3;
    cnf_encode_opts d = opts_of(8, -1, NULL, NULL), q90 = opts_of(8, 90, NULL, NULL),
                    q50 = opts_of(8, 50, NULL, NULL);
    unsigned char *a = enc(&img, CNF_OUT_JPG, &d, &l1), *b = enc(&img, CNF_OUT_JPG, &q90, &l2),
                  *c = enc(&img, CNF_OUT_JPG, &q50, &l3);
    CHECK(l1 == l2 && memcmp(a, b, l1) == 0);
    CHECK(l3 != l1);
    free(a);
    free(b);
    free(c);
    cnf_image_free(&img);
}

/* ---------------------------------------------------------------- marks */

static const cnf_output_format MARKED[5] = {CNF_OUT_PNG, CNF_OUT_JPG, CNF_OUT_TIFF, CNF_OUT_WEBP,
                                            CNF_OUT_PNM};

static void every_format_with_text_carries_the_mark(void)
{
    const char *comment = "cnnfilter --kernel sobel_x --map 'abs' --depth 16";
    cnf_image img = noise_image(20, 10, 3, 0, 4);
    for (int f = 0; f < 5; f++) {
        for (int depth = 8; depth <= 16; depth += 8) {
            cnf_encode_opts o = opts_of(depth, -1, "cnnfilter 0.1.0", comment);
            size_t len;
            unsigned char *b;
            char got[256], small[8];
            if (depth == 16 && (MARKED[f] == CNF_OUT_JPG || MARKED[f] == CNF_OUT_WEBP))
                continue;
            b = enc(&img, MARKED[f], &o, &len);
            memset(got, 'x', sizeof got);
            CHECK_EQ_INT(cnf_image_mark(b, len, got, sizeof got), 1);
            CHECK(strcmp(got, comment) == 0);
            if (strcmp(got, comment) != 0)
                fprintf(stderr, "format %d: '%s'\n", MARKED[f], got);
            /* Truncated to the room given, terminated. */
            CHECK_EQ_INT(cnf_image_mark(b, len, small, sizeof small), 1);
            CHECK(strcmp(small, "cnnfil") == 0 || strcmp(small, "cnnfilt") == 0);
            CHECK_EQ_INT(cnf_image_mark(b, len, NULL, 0), 1);
            /* Every prefix: no read past it (ASan), never a wrong comment. */
            for (size_t cut = 0; cut < len; cut++) {
                int r = cnf_image_mark(b, cut, got, sizeof got);
                if (r == 1)
                    CHECK(strncmp(got, comment, strlen(got)) == 0);
            }
            free(b);
            /* The same file without the mark. */
            o.software = NULL;
            b = enc(&img, MARKED[f], &o, &len);
            CHECK_EQ_INT(cnf_image_mark(b, len, got, sizeof got), 0);
            CHECK(got[0] == 0);
            free(b);
            /* Software of another program: not ours. */
            o.software = "GIMP 2.10";
            b = enc(&img, MARKED[f], &o, &len);
            CHECK_EQ_INT(cnf_image_mark(b, len, got, sizeof got), 0);
            free(b);
        }
    }
    cnf_image_free(&img);
}

static void a_mark_without_a_comment_gives_an_empty_comment(void)
{
    cnf_image img = noise_image(4, 4, 1, 0, 4);
    for (int f = 0; f < 5; f++) {
        cnf_encode_opts o = opts_of(8, -1, "cnnfilter 0.1.0", NULL);
        size_t len;
        char got[32] = "junk";
        unsigned char *b = enc(&img, MARKED[f], &o, &len);
        CHECK_EQ_INT(cnf_image_mark(b, len, got, sizeof got), 1);
        CHECK(got[0] == 0);
        if (got[0])
            fprintf(stderr, "format %d: '%s'\n", MARKED[f], got);
        free(b);
    }
    cnf_image_free(&img);
}

static void the_mark_is_in_the_first_64_kib_of_a_big_image(void)
{
    /* Noise does not compress: every file is far above 64 KiB. */
    cnf_image img = noise_image(1200, 900, 3, 0, 6);
    const char *comment = "cnnfilter --kernel gaussian:5";
    for (int f = 0; f < 5; f++) {
        cnf_encode_opts o = opts_of(8, -1, "cnnfilter 0.1.0", comment);
        size_t len;
        char got[64];
        unsigned char *b;
        if (MARKED[f] == CNF_OUT_WEBP)
            continue; /* metadata after the image data (documented) */
        b = enc(&img, MARKED[f], &o, &len);
        CHECK(len > 300000);
        CHECK_EQ_INT(cnf_image_mark(b, 65536, got, sizeof got), 1);
        CHECK(strcmp(got, comment) == 0);
        free(b);
    }
    cnf_image_free(&img);
}

static void formats_without_text_and_junk_have_no_mark(void)
{
    cnf_image img = noise_image(4, 4, 3, 0, 4);
    cnf_encode_opts o = opts_of(8, -1, "cnnfilter 0.1.0", "cnnfilter -k x");
    const cnf_output_format F[3] = {CNF_OUT_BMP, CNF_OUT_TGA, CNF_OUT_NPY};
    char got[16];
    unsigned char junk[4096];
    for (int f = 0; f < 3; f++) {
        size_t len;
        unsigned char *b = enc(&img, F[f], &o, &len);
        CHECK_EQ_INT(cnf_image_mark(b, len, got, sizeof got), 0);
        free(b);
    }
    CHECK_EQ_INT(cnf_image_mark((const unsigned char *)"", 0, got, sizeof got), 0);
    /* Random bytes behind each magic number. */
    for (int m = 0; m < 5; m++) {
        static const char *const MAGIC[5] = {"\x89PNG\r\n\x1a\n", "\xff\xd8", "II*\0",
                                             "RIFF\xff\xff\xff\x7fWEBP", "P6"};
        static const size_t ML[5] = {8, 2, 4, 12, 2};
        unsigned seed = 99;
        for (int round = 0; round < 200; round++) {
            for (size_t i = 0; i < sizeof junk; i++) {
                seed = seed * 1103515245u + 12345u;
                junk[i] = (unsigned char)(seed >> 16);
            }
            memcpy(junk, MAGIC[m], ML[m]);
            (void)cnf_image_mark(junk, (size_t)(seed % sizeof junk), got, sizeof got);
        }
    }
    cnf_image_free(&img);
}

int main(void)
{
    RUN(tiff_8bit_round_trip_is_exact_in_every_layout);
    RUN(tiff_16bit_keeps_fractions_of_257);
    RUN(tiff_float_keeps_every_bit_for_1_to_4_channels);
    RUN(depths_a_format_cannot_hold_are_refused);
    RUN(tiff_probe_refuses_a_big_header_before_decoding);
    RUN(truncated_files_fail_cleanly);
    RUN(tiff_ycbcr_jpeg_is_read_as_rgb);
    RUN(webp_lossless_is_exact_with_alpha_and_lossy_is_smaller);
    RUN(webp_gray_is_written_as_rgb_and_size_is_limited);
    RUN(pnm_8_and_16_bit_round_trip_and_alpha_is_refused);
    RUN(jpeg_default_quality_is_90);
    RUN(every_format_with_text_carries_the_mark);
    RUN(a_mark_without_a_comment_gives_an_empty_comment);
    RUN(the_mark_is_in_the_first_64_kib_of_a_big_image);
    RUN(formats_without_text_and_junk_have_no_mark);
    return t_finish("test_formats_io");
}
