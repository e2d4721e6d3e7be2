/* test_codec.c - the codec table, dispatch by name and content for every format, and cnf_sniff. */
#include "test_util.h"

#include <stdint.h>

#include "../../src/lib/codec.h" /* cnf__tga_sniff */

/* ------------------------------------------------------------ helpers */

static uint64_t dec_mem(const unsigned char *p, size_t n)
{
    return cnf_decoder_memory(p, n, CNF_IN_AUTO);
}

typedef struct bytes {
    unsigned char *p;
    size_t n;
} bytes;

static bytes b_copy(const void *p, size_t n)
{
    bytes b = {malloc(n ? n : 1), n};
    if (!b.p)
        abort();
    memcpy(b.p, p, n);
    return b;
}

static bytes b_str(const char *s) { return b_copy(s, strlen(s)); }

/* `n` bytes of value v. */
static bytes b_fill(unsigned char v, size_t n)
{
    bytes b = {malloc(n), n};
    if (!b.p)
        abort();
    memset(b.p, v, n);
    return b;
}

static bytes b_encode(const cnf_image *img, cnf_output_format f)
{
    bytes b = {NULL, 0};
    cnf_error e;
    cnf_encode_opts o;
    cnf_encode_opts_init(&o);
    o.quality = 95;
    if (cnf_encode(img, f, &o, &b.p, &b.n, NULL, &e) != CNF_OK) {
        fprintf(stderr, "encode %d: %s\n", f, e.msg);
        abort();
    }
    return b;
}

static void put16le(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

/* 1 when both calls failed alike: same status, message, line and column. */
static int same_failure(cnf_status sa, const cnf_error *a, cnf_status sb, const cnf_error *b)
{
    if (sa != sb || sa == CNF_OK)
        return 0;
    if (strcmp(a->msg, b->msg) != 0 || a->line != b->line || a->col != b->col) {
        fprintf(stderr, "'%s' (%d:%d) vs '%s' (%d:%d)\n", a->msg, a->line, a->col, b->msg,
                b->line, b->col);
        return 0;
    }
    return 1;
}

/* cnf_sniff on the first `prefix` bytes fails exactly as cnf_probe on all. */
static int sniff_fails_as_probe(const bytes *b, size_t prefix, cnf_input_kind kind)
{
    cnf_error es, ep;
    int w, h, c, a;
    cnf_status ss, sp;
    memset(&es, 0, sizeof es);
    memset(&ep, 0, sizeof ep);
    ss = cnf_sniff(b->p, prefix < b->n ? prefix : b->n, kind, "in", &es);
    sp = cnf_probe(b->p, b->n, kind, "in", CNF_DEFAULT_MAX_PIXELS, &w, &h, &c, &a, &ep);
    return same_failure(ss, &es, sp, &ep);
}

/* cnf_sniff accepts every prefix of b (0 bytes up to all of them). */
static int every_prefix_sniffs_ok(const bytes *b, cnf_input_kind kind)
{
    for (size_t n = 0; n <= b->n; n++) {
        cnf_error e;
        if (cnf_sniff(b->p, n, kind, "in", &e) != CNF_OK) {
            fprintf(stderr, "prefix of %zu of %zu bytes refused: %s\n", n, b->n, e.msg);
            return 0;
        }
    }
    return 1;
}

/* Decode b as `kind`, check the shape and that cnf_probe agrees. */
static int decodes_as(const bytes *b, cnf_input_kind kind, int w, int h, int c, int alpha,
                      cnf_image *img)
{
    cnf_error e;
    int pw, ph, pc, pa;
    if (cnf_decode(b->p, b->n, kind, "in", CNF_DEFAULT_MAX_PIXELS, img, &e) != CNF_OK) {
        fprintf(stderr, "decode: %s\n", e.msg);
        return 0;
    }
    if (cnf_probe(b->p, b->n, kind, "in", CNF_DEFAULT_MAX_PIXELS, &pw, &ph, &pc, &pa, &e) !=
        CNF_OK) {
        fprintf(stderr, "probe: %s\n", e.msg);
        return 0;
    }
    if (img->width != w || img->height != h || img->channels != c || img->has_alpha != alpha ||
        pw != w || ph != h || pc != c || pa != alpha) {
        fprintf(stderr, "shape %dx%dx%d a%d (probe %dx%dx%d a%d), expected %dx%dx%d a%d\n",
                img->width, img->height, img->channels, img->has_alpha, pw, ph, pc, pa, w, h, c,
                alpha);
        return 0;
    }
    return 1;
}

/* ----------------------------------------------------------- the table */

/* The words of all rows with `flag`: every extension, or only the first. */
static void words(unsigned flag, int first_only, char *out, size_t size)
{
    size_t n;
    const cnf_format_info *f = cnf_formats(&n);
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char ext[64];
        const char *p = f[i].extensions;
        if (!(f[i].flags & flag))
            continue;
        while (*p) {
            size_t k = strcspn(p, " ");
            snprintf(ext, sizeof ext, "%.*s", (int)k, p);
            if (*out)
                strncat(out, " ", size - strlen(out) - 1);
            strncat(out, ext, size - strlen(out) - 1);
            p += k;
            p += *p == ' ';
            if (first_only)
                break;
        }
    }
}

static void table_lists_exactly_the_supported_inputs_and_outputs(void)
{
    char in[512], out[512];
    words(CNF_FORMAT_READ, 0, in, sizeof in);
    words(CNF_FORMAT_WRITE, 1, out, sizeof out);
    CHECK(strcmp(in, "png jpg jpeg tif tiff webp bmp tga gif pnm pgm ppm psd hdr npy txt json "
                     "csv") == 0);
    CHECK(strcmp(out, "png jpg tif webp bmp tga pnm npy txt json") == 0);
    if (strcmp(out, "png jpg tif webp bmp tga pnm npy txt json") != 0)
        fprintf(stderr, "outputs: %s\ninputs: %s\n", out, in);
    /* jpeg is accepted for jpg. */
    CHECK_EQ_INT(cnf_output_format_from_name("jpeg"), CNF_OUT_JPG);
    CHECK_EQ_INT(cnf_output_format_from_name("JPG"), CNF_OUT_JPG);
    CHECK_EQ_INT(cnf_output_format_from_name("gif"), CNF_OUT_NONE);
    CHECK_EQ_INT(cnf_output_format_from_name("csv"), CNF_OUT_NONE);
    CHECK_EQ_INT(cnf_output_format_from_name("heic"), CNF_OUT_NONE);
    CHECK_EQ_INT(cnf_output_format_from_name("webp"), CNF_OUT_WEBP);
    CHECK_EQ_INT(cnf_output_format_from_name("tiff"), CNF_OUT_TIFF);
    CHECK_EQ_INT(cnf_output_format_from_name("TIF"), CNF_OUT_TIFF);
    CHECK_EQ_INT(cnf_output_format_from_name("pgm"), CNF_OUT_PNM);
    CHECK_EQ_INT(cnf_output_format_from_name("ppm"), CNF_OUT_PNM);
}

static void names_and_extensions_are_unique_and_map_back_to_their_row(void)
{
    size_t n;
    const cnf_format_info *f = cnf_formats(&n);
    char seen[64][16];
    int n_seen = 0;
    CHECK_EQ_INT(n, 14);
    for (size_t i = 0; i < n; i++) {
        const char *p = f[i].extensions;
        CHECK(cnf_format_by_name(f[i].name) == &f[i]);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(f[i].name, f[j].name) != 0);
        CHECK(f[i].description && strlen(f[i].description) > 10 &&
              !strchr(f[i].description, '\n'));
        while (*p) {
            size_t k = strcspn(p, " ");
            char path[64], upper[64];
            CHECK(k > 0 && k < 16);
            snprintf(seen[n_seen], sizeof seen[n_seen], "%.*s", (int)k, p);
            for (int s = 0; s < n_seen; s++)
                CHECK(strcmp(seen[s], seen[n_seen]) != 0);
            snprintf(path, sizeof path, "dir.x/file.%s", seen[n_seen]);
            for (size_t c = 0; c <= strlen(path); c++)
                upper[c] = (char)(path[c] >= 'a' && path[c] <= 'z' ? path[c] - 32 : path[c]);
            CHECK(cnf_format_for_path(path) == &f[i]);
            CHECK(cnf_format_for_path(upper) == &f[i]);
            CHECK(cnf_format_by_name(seen[n_seen]) == &f[i]);
            CHECK_EQ_INT(cnf_output_format_for_path(path), f[i].output);
            CHECK_EQ_INT(cnf_input_kind_for_path(path),
                         !(f[i].flags & CNF_FORMAT_MATRIX) ? CNF_IN_IMAGE
                         : strcmp(f[i].name, "npy") == 0  ? CNF_IN_NPY
                         : strcmp(f[i].name, "txt") == 0  ? CNF_IN_TXT
                         : strcmp(f[i].name, "csv") == 0  ? CNF_IN_CSV
                                                          : CNF_IN_JSON);
            n_seen++;
            p += k;
            p += *p == ' ';
        }
    }
    CHECK(cnf_format_for_path("a/b.heic") == NULL);
    CHECK(cnf_format_for_path("a.png/b") == NULL);
    CHECK(cnf_format_for_path("noext") == NULL);
    CHECK(cnf_format_by_name("") == NULL);
    CHECK_EQ_INT(cnf_input_kind_for_path("a/b.heic"), CNF_IN_AUTO);
    CHECK_EQ_INT(cnf_input_kind_for_path("-"), CNF_IN_AUTO);
}

/* A 2x2 one-channel image with values no 8-bit format holds exactly. */
static void flags_agree_with_what_cnf_encode_does(void)
{
    static const float v[] = {300, -5, 1.25f, 7};
    static const float mapped[] = {255, 0, 1, 7};
    size_t n;
    const cnf_format_info *f = cnf_formats(&n);
    cnf_image img = t_image(2, 2, 1, 0, v), two = t_image(2, 1, 2, 0, NULL);
    for (size_t i = 0; i < n; i++) {
        unsigned fl = f[i].flags;
        unsigned char *buf;
        size_t len;
        cnf_error e;
        cnf_status st;
        CHECK(fl & CNF_FORMAT_READ);
        if (!(fl & CNF_FORMAT_WRITE)) {
            CHECK_EQ_INT(f[i].output, CNF_OUT_NONE);
            CHECK(!(fl & (CNF_FORMAT_8BIT | CNF_FORMAT_EXACT)));
            continue;
        }
        CHECK(f[i].output != CNF_OUT_NONE);
        CHECK(!(fl & CNF_FORMAT_8BIT) != !(fl & CNF_FORMAT_EXACT));
        CHECK_EQ_INT(cnf_output_format_is_8bit(f[i].output), !!(fl & CNF_FORMAT_8BIT));
        CHECK_EQ_INT(!!(fl & CNF_FORMAT_MATRIX), !!(fl & CNF_FORMAT_EXACT));
        /* Two colour planes: only exact formats take them. */
        st = cnf_encode(&two, f[i].output, NULL, &buf, &len, NULL, &e);
        CHECK_EQ_INT(st, fl & CNF_FORMAT_8BIT ? CNF_E_FORMAT : CNF_OK);
        if (st == CNF_OK)
            free(buf);
        CHECK_EQ_INT(cnf_encode(&img, f[i].output, NULL, &buf, &len, NULL, &e),
                     CNF_OK);
        if (f[i].output != CNF_OUT_JPG) {
            /* Written, then read back by content: mapped or exact values
             * (stb writes gray BMP as RGB, WebP has no gray). */
            cnf_image back;
            bytes b = {buf, len};
            int planes = f[i].output == CNF_OUT_BMP || f[i].output == CNF_OUT_WEBP ? 3 : 1;
            CHECK(decodes_as(&b, CNF_IN_AUTO, 2, 2, planes, 0, &back));
            for (int c = 0; c < planes; c++) {
                cnf_image one = back;
                one.channels = 1;
                one.data = cnf_image_plane(&back, c);
                CHECK(t_equal(&one, 2, 2, 1, fl & CNF_FORMAT_8BIT ? mapped : v));
            }
            cnf_image_free(&back);
        }
        free(buf);
    }
    CHECK_EQ_INT(cnf_output_format_is_8bit(CNF_OUT_NONE), 0);
    {
        unsigned char *buf;
        size_t len;
        cnf_error e;
        CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_NONE, NULL, &buf, &len, NULL, &e),
                     CNF_E_USAGE);
        CHECK(strcmp(e.msg, "not a matrix format") == 0);
    }
    cnf_image_free(&img);
    cnf_image_free(&two);
}

/* ------------------------------------------------- dispatch by content */

static void png_jpeg_bmp_and_tga_are_read_by_content(void)
{
    static const float rgb[] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120,
                                130, 140, 150, 160, 170, 180};
    cnf_image img = t_image(3, 2, 3, 0, rgb), back;
    cnf_output_format fmts[] = {CNF_OUT_PNG, CNF_OUT_BMP, CNF_OUT_TGA};
    for (int i = 0; i < 3; i++) {
        bytes b = b_encode(&img, fmts[i]);
        CHECK(decodes_as(&b, CNF_IN_AUTO, 3, 2, 3, 0, &back));
        CHECK(t_equal(&back, 3, 2, 3, rgb));
        cnf_image_free(&back);
        CHECK(decodes_as(&b, CNF_IN_IMAGE, 3, 2, 3, 0, &back));
        CHECK(t_equal(&back, 3, 2, 3, rgb));
        cnf_image_free(&back);
        CHECK_EQ_INT(cnf_input_streams(b.p, b.n, CNF_IN_AUTO), fmts[i] == CNF_OUT_PNG);
        CHECK(every_prefix_sniffs_ok(&b, CNF_IN_AUTO));
        CHECK(every_prefix_sniffs_ok(&b, CNF_IN_IMAGE));
        free(b.p);
    }
    cnf_image_free(&img);
    {
        /* JPEG of a flat gray: every pixel comes back within 1. */
        cnf_image flat = t_image(8, 8, 1, 0, NULL);
        bytes b;
        int ok = 1;
        for (int i = 0; i < 64; i++)
            flat.data[i] = 100;
        b = b_encode(&flat, CNF_OUT_JPG);
        CHECK(b.n > 3 && b.p[0] == 0xff && b.p[1] == 0xd8 && b.p[2] == 0xff);
        CHECK(decodes_as(&b, CNF_IN_AUTO, 8, 8, 1, 0, &back));
        for (int i = 0; i < 64; i++)
            ok &= fabsf(back.data[i] - 100) <= 1;
        CHECK(ok);
        CHECK_EQ_INT(cnf_input_streams(b.p, b.n, CNF_IN_AUTO), 1);
        CHECK(every_prefix_sniffs_ok(&b, CNF_IN_AUTO));
        cnf_image_free(&back);
        cnf_image_free(&flat);
        free(b.p);
    }
}

static void note_used(void *ctx, size_t n)
{
    size_t *last = ctx;
    CHECK(n >= *last); /* only ever forward */
    *last = n;
}

/* cnf_reader_rows gives the rows cnf_decode gives, streamed (PNG) or
 * decoded whole (BMP), tells how far it is done with its input, runs the
 * end checks after the last row and refuses rows past it. */
static void reader_rows_give_the_decoded_rows_in_order(void)
{
    enum { W = 37, H = 23 };
    cnf_image img = t_image(W, H, 3, 0, NULL), back;
    cnf_output_format fmts[] = {CNF_OUT_PNG, CNF_OUT_BMP};
    for (int i = 0; i < W * H * 3; i++)
        img.data[i] = (float)((i * 37) % 256);
    for (int f = 0; f < 2; f++) {
        bytes b = b_encode(&img, fmts[f]);
        cnf_reader *r = NULL;
        cnf_error e;
        float band[5][3][W], *rows[5 * 3];
        size_t used = 0;
        int ok = 1;
        CHECK(decodes_as(&b, CNF_IN_AUTO, W, H, 3, 0, &back));
        CHECK_EQ_INT(cnf_reader_open(b.p, b.n, CNF_IN_AUTO, "x", 1000, &r, &e), CNF_OK);
        cnf_reader_on_input_used(r, note_used, &used);
        CHECK(fmts[f] == CNF_OUT_PNG ? used == 0 : used == b.n); /* whole: all at once */
        for (int i = 0; i < 5; i++)
            for (int p = 0; p < 3; p++)
                rows[i * 3 + p] = band[i][p];
        for (int y = 0; y < H; y += 5) {
            int n = H - y < 5 ? H - y : 5;
            CHECK_EQ_INT(cnf_reader_rows(r, n, rows, 3, &e), CNF_OK);
            for (int i = 0; i < n; i++)
                for (int p = 0; p < 3; p++)
                    ok &= memcmp(band[i][p], cnf_image_plane(&back, p) + (size_t)(y + i) * W,
                                 sizeof band[i][p]) == 0;
        }
        CHECK(ok);
        CHECK(used == b.n); /* after the last row: all of it */
        CHECK_EQ_INT(cnf_reader_rows(r, 1, rows, 3, &e), CNF_E_USAGE);
        cnf_reader_free(r);
        if (fmts[f] == CNF_OUT_PNG) {
            /* a bad CRC after the pixels fails with the last row */
            b.p[b.n - 1] ^= 0xff;
            int y = 0;
            CHECK_EQ_INT(cnf_reader_open(b.p, b.n, CNF_IN_AUTO, "x", 1000, &r, &e), CNF_OK);
            while (y < H && cnf_reader_rows(r, 1, rows, 3, &e) == CNF_OK)
                y++;
            CHECK_EQ_INT(y, H - 1); /* the last row brings the end checks */
            CHECK_EQ_INT(e.status, CNF_E_DECODE);
            cnf_reader_free(r);
        }
        cnf_image_free(&back);
        free(b.p);
    }
    cnf_image_free(&img);
}

/* 2x1 GIF89a: a 2-colour table (black, white), LZW minimum code size 2;
 * the codes clear (4), 0, 1, end (5) at 3 bits, LSB first: 0x44 0x0a. */
static const unsigned char GIF[] = {
    'G', 'I', 'F', '8', '9', 'a', 2, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255,
    0x2c, 0, 0, 0, 0, 2, 0, 1, 0, 0, 2, 2, 0x44, 0x0a, 0, 0x3b};

static void gif_is_read_as_rgba_through_stb(void)
{
    static const float want[] = {0, 255, 0, 255, 0, 255, 255, 255};
    bytes b = b_copy(GIF, sizeof GIF);
    cnf_image img;
    CHECK(decodes_as(&b, CNF_IN_AUTO, 2, 1, 4, 1, &img));
    CHECK(t_equal(&img, 2, 1, 4, want));
    cnf_image_free(&img);
    CHECK(every_prefix_sniffs_ok(&b, CNF_IN_IMAGE));
    CHECK_EQ_INT(cnf_input_streams(b.p, b.n, CNF_IN_AUTO), 0);
    /* stb's frame, background (RGBA) and history: 9 bytes a pixel */
    CHECK_EQ_INT(dec_mem(b.p, b.n), 2 * 9);
    free(b.p);
}

/* A 2x1 RGB Photoshop file: 26-byte header (3 channels, depth 8, colour
 * mode 3), three empty sections, raw (0) planar data. */
static void psd_is_read_through_stb(void)
{
    unsigned char f[26 + 12 + 2 + 6] = {'8', 'B', 'P', 'S', 0, 1, 0, 0, 0, 0, 0, 0, 0, 3,
                                         0, 0, 0, 1, 0, 0, 0, 2, 0, 8, 0, 3};
    static const unsigned char planes[6] = {10, 20, 30, 40, 50, 60};
    static const float want[] = {10, 20, 30, 40, 50, 60, 255, 255};
    bytes b;
    cnf_image img;
    memcpy(f + 26 + 12 + 2, planes, 6);
    b = b_copy(f, sizeof f);
    CHECK(decodes_as(&b, CNF_IN_AUTO, 2, 1, 4, 1, &img));
    CHECK(t_equal(&img, 2, 1, 4, want));
    cnf_image_free(&img);
    CHECK(every_prefix_sniffs_ok(&b, CNF_IN_AUTO));
    /* stb's RGBA bytes; a raw 16-bit one also its 16-bit samples */
    CHECK_EQ_INT(dec_mem(b.p, b.n), 2 * 4);
    b.p[23] = 16;
    CHECK_EQ_INT(dec_mem(b.p, b.n), 2 * 12);
    b.p[26 + 12 + 1] = 1; /* RLE: read at 8 bits */
    CHECK_EQ_INT(dec_mem(b.p, b.n), 2 * 4);
    b.p[26 + 12 + 1] = 0;
    b.p[23] = 8;
    /* No channels: refused from the first 14 bytes, as the probe does. */
    b.p[13] = 0;
    CHECK(sniff_fails_as_probe(&b, 14, CNF_IN_AUTO));
    CHECK_EQ_INT(dec_mem(b.p, b.n), 0);
    free(b.p);
}

/* Radiance: RGBE (128, 128, 128, 129) is 128 * 2^(129 - 136) = 1.0, read
 * as 255; (0, 0, 0, 0) is 0. */
static void hdr_is_read_through_stb(void)
{
    static const char head[] = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 1 +X 2\n";
    static const float want[] = {255, 0, 255, 0, 255, 0};
    unsigned char f[sizeof head - 1 + 8];
    bytes b;
    cnf_image img;
    memcpy(f, head, sizeof head - 1);
    memcpy(f + sizeof head - 1, "\x80\x80\x80\x81\0\0\0\0", 8);
    b = b_copy(f, sizeof f);
    CHECK(decodes_as(&b, CNF_IN_AUTO, 2, 1, 3, 0, &img));
    CHECK(t_equal(&img, 2, 1, 3, want));
    cnf_image_free(&img);
    CHECK(every_prefix_sniffs_ok(&b, CNF_IN_AUTO));
    /* stb's RGB floats (12 bytes a pixel) and a 4-byte RGBE scanline */
    CHECK_EQ_INT(dec_mem(b.p, b.n), 2 * 12 + 2 * 4);
    free(b.p);
}

/* The decoders' own buffers, from the header: a progressive JPEG's
 * coefficients on top of the rows any JPEG has, an interlaced PNG's RGBA
 * copy, BMP's and TGA's stb pixels, a TIFF's strip (raw and inflated), a
 * lossless WebP's copy and ARGB pixels; nothing for a streamed PNG or a
 * matrix. */
static void decoder_memory_is_read_from_each_header(void)
{
    cnf_image img = t_image(100, 60, 3, 0, NULL), gray = t_image(100, 60, 1, 0, NULL);
    bytes b;
    uint64_t base;
    size_t sof;
    for (int i = 0; i < 100 * 60 * 3; i++)
        img.data[i] = (float)(i % 251);
    for (int i = 0; i < 100 * 60; i++)
        gray.data[i] = (float)(i % 13);
    /* Baseline 4:2:0 (libjpeg's default: Y 2x2, Cb and Cr 1x1), then the
     * same header marked progressive (SOF2): its coefficients are Y's
     * 13 x 8 blocks (100 x 2 / 16 rounded up, 60 x 2 / 16) rounded up to
     * 2 x 2, 14 x 8, and Cb's and Cr's 7 x 4, of 128 bytes. */
    b = b_encode(&img, CNF_OUT_JPG);
    base = dec_mem(b.p, b.n);
    CHECK(base > 0);
    for (sof = 2; sof + 1 < b.n && !(b.p[sof] == 0xff && b.p[sof + 1] == 0xc0); sof++)
        ;
    CHECK(sof + 1 < b.n);
    CHECK_EQ_INT(b.p[sof + 11], 0x22);
    b.p[sof + 1] = 0xc2;
    CHECK_EQ_INT(dec_mem(b.p, b.n) - base, (14 * 8 + 2 * 7 * 4) * 128);
    /* the header only up to the first scan: the figure is the same */
    {
        size_t sos = sof;
        while (sos + 1 < b.n && !(b.p[sos] == 0xff && b.p[sos + 1] == 0xda))
            sos++;
        CHECK_EQ_INT(dec_mem(b.p, sos + 20) - base, (14 * 8 + 2 * 7 * 4) * 128);
        /* cut inside the header: unreadable, 0 */
        CHECK_EQ_INT(dec_mem(b.p, sof + 4), 0);
    }
    free(b.p);
    b = b_encode(&img, CNF_OUT_BMP);
    CHECK_EQ_INT(dec_mem(b.p, b.n), 100 * 60 * 3);
    free(b.p);
    b = b_encode(&img, CNF_OUT_TGA);
    CHECK_EQ_INT(dec_mem(b.p, b.n), 100 * 60 * 3);
    free(b.p);
    b = b_encode(&img, CNF_OUT_PNG);
    CHECK_EQ_INT(dec_mem(b.p, b.n), 0);
    /* IHDR says interlaced (Adam7): the whole image as RGBA8, or RGBA16 */
    b.p[28] = 1;
    CHECK_EQ_INT(dec_mem(b.p, b.n), 100 * 60 * 4);
    b.p[24] = 16;
    CHECK_EQ_INT(dec_mem(b.p, b.n), 100 * 60 * 8);
    free(b.p);
    /* One deflated strip of 100 x 60 bytes, read raw and then inflated */
    b = b_encode(&gray, CNF_OUT_TIFF);
    CHECK_EQ_INT(dec_mem(b.p, b.n), 2 * 100 * 60);
    free(b.p);
    /* Lossy WebP (a quality given): the RGB copy and 128 bytes a column;
     * lossless also libwebp's ARGB pixels */
    b = b_encode(&img, CNF_OUT_WEBP);
    CHECK_EQ_INT(dec_mem(b.p, b.n), 100 * 60 * 3 + 100 * 128);
    free(b.p);
    {
        cnf_encode_opts o;
        cnf_error e;
        cnf_encode_opts_init(&o);
        CHECK_EQ_INT(cnf_encode(&img, CNF_OUT_WEBP, &o, &b.p, &b.n, NULL, &e), CNF_OK);
        CHECK_EQ_INT(dec_mem(b.p, b.n), 100 * 60 * (3 + 4) + 100 * 128);
        free(b.p);
    }
    b = b_encode(&img, CNF_OUT_NPY);
    CHECK_EQ_INT(dec_mem(b.p, b.n), 0);
    CHECK_EQ_INT(cnf_decoder_memory(b.p, 0, CNF_IN_AUTO), 0);
    free(b.p);
    cnf_image_free(&img);
    cnf_image_free(&gray);
}

static void pnm_p5_and_p6_are_read_by_our_decoder_with_maxval_scaling(void)
{
    static const struct {
        const char *head;
        const char *px;
        size_t n;
        int w, h, c;
        float want[6];
    } T[] = {
        /* 8-bit gray. */
        {"P5\n3 1\n255\n", "\x00\x80\xff", 3, 3, 1, 1, {0, 128, 255}},
        /* 8-bit RGB with a comment. */
        {"P6 # rgb\n2 1 255\n", "\x01\x02\x03\x04\x05\x06", 6, 2, 1, 3, {1, 4, 2, 5, 3, 6}},
        /* 16-bit, big-endian: 257 x 255 / 65535 = 1. */
        {"P5\n3 1\n65535\n", "\x01\x01\xff\xff\x00\x00", 6, 3, 1, 1, {1, 255, 0}},
        /* maxval 15: samples x 17; values over maxval are clamped to it. */
        {"P5\n3 1\n15\n", "\x01\x0f\x10", 3, 3, 1, 1, {17, 255, 255}},
        /* maxval 1000, 16-bit: 200 x 0.255 = 51. */
        {"P5\n2 1\n1000\n", "\x00\xc8\x03\xe8", 4, 2, 1, 1, {51, 255}},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        size_t hl = strlen(T[i].head);
        unsigned char f[64];
        bytes b;
        cnf_image img;
        memcpy(f, T[i].head, hl);
        memcpy(f + hl, T[i].px, T[i].n);
        b = b_copy(f, hl + T[i].n);
        CHECK(decodes_as(&b, CNF_IN_AUTO, T[i].w, T[i].h, T[i].c, 0, &img));
        CHECK(t_equal(&img, T[i].w, T[i].h, T[i].c, T[i].want));
        cnf_image_free(&img);
        CHECK(every_prefix_sniffs_ok(&b, CNF_IN_IMAGE));
        free(b.p);
    }
}

static void matrices_are_read_by_name_and_by_content(void)
{
    static const float v[] = {1, 2, 3, 4, 5, 6};
    cnf_image img = t_image(3, 2, 1, 0, v), back;
    bytes npy = b_encode(&img, CNF_OUT_NPY), txt = b_encode(&img, CNF_OUT_TXT);
    bytes json = b_encode(&img, CNF_OUT_JSON), csv = b_str("# two rows\n1,2,3\n4,5,6\n");
    struct {
        bytes *b;
        cnf_input_kind named, sniffed;
    } T[] = {{&npy, CNF_IN_NPY, CNF_IN_AUTO},
             {&txt, CNF_IN_TXT, CNF_IN_AUTO},
             {&json, CNF_IN_JSON, CNF_IN_AUTO},
             {&csv, CNF_IN_CSV, CNF_IN_CSV}};
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        CHECK(decodes_as(T[i].b, T[i].named, 3, 2, 1, 0, &back));
        CHECK(t_equal(&back, 3, 2, 1, v));
        cnf_image_free(&back);
        CHECK(decodes_as(T[i].b, T[i].sniffed, 3, 2, 1, 0, &back));
        CHECK(t_equal(&back, 3, 2, 1, v));
        cnf_image_free(&back);
        CHECK_EQ_INT(cnf_input_streams(T[i].b->p, T[i].b->n, T[i].named), 0);
        CHECK(every_prefix_sniffs_ok(T[i].b, T[i].named));
        CHECK(every_prefix_sniffs_ok(T[i].b, T[i].sniffed));
    }
    free(npy.p);
    free(txt.p);
    free(json.p);
    free(csv.p);
    cnf_image_free(&img);
}

static void the_name_decides_between_image_and_matrix(void)
{
    /* Text named like an image is a corrupt image, not a matrix. */
    bytes t = b_str("1 2 3\n4 5 6\n"), p;
    cnf_image img = t_image(2, 2, 1, 0, NULL), none;
    cnf_error e;
    CHECK_EQ_INT(cnf_decode(t.p, t.n, CNF_IN_IMAGE, "t.png", 100, &none, &e), CNF_E_DECODE);
    CHECK(none.data == NULL);
    CHECK(strcmp(e.msg, "not a readable image (unknown image type)") == 0);
    /* "8BPS" starts with a digit but is a PSD for an unnamed input. */
    {
        bytes psd = b_str("8BPS 1 2\n");
        int w, h, c, a;
        CHECK_EQ_INT(cnf_probe(psd.p, psd.n, CNF_IN_AUTO, "s", 100, &w, &h, &c, &a, &e),
                     CNF_E_DECODE);
        CHECK(strcmp(e.msg, "not a readable image (unknown image type)") == 0);
        free(psd.p);
    }
    /* A PNG named .npy is read as .npy by every call, probe included. */
    p = b_encode(&img, CNF_OUT_PNG);
    {
        int w, h, c, a;
        cnf_reader *r;
        CHECK_EQ_INT(cnf_probe(p.p, p.n, CNF_IN_NPY, "p.npy", 100, &w, &h, &c, &a, &e),
                     CNF_E_DECODE);
        CHECK(strcmp(e.msg, "not a .npy file") == 0);
        CHECK_EQ_INT(cnf_reader_open(p.p, p.n, CNF_IN_NPY, "p.npy", 100, &r, &e), CNF_E_DECODE);
        CHECK(strcmp(e.msg, "not a .npy file") == 0);
        CHECK_EQ_INT(cnf_input_streams(p.p, p.n, CNF_IN_NPY), 0);
        CHECK_EQ_INT(cnf_input_streams(p.p, p.n, CNF_IN_IMAGE), 1);
        CHECK(sniff_fails_as_probe(&p, 64, CNF_IN_NPY));
    }
    cnf_image_free(&img);
    free(t.p);
    free(p.p);
}

static void probe_checks_the_pixel_limit_of_every_image_header(void)
{
    static const char pnm[] = "P5\n8 6\n255\n";
    bytes b = b_fill(7, sizeof pnm - 1 + 48);
    int w, h, c, a;
    cnf_error e;
    memcpy(b.p, pnm, sizeof pnm - 1);
    CHECK_EQ_INT(cnf_probe(b.p, b.n, CNF_IN_AUTO, "p.pgm", 47, &w, &h, &c, &a, &e),
                 CNF_E_TOO_BIG);
    CHECK(strcmp(e.msg, "8x6 image is over the pixel limit 47") == 0);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_PIXELS);
    CHECK_EQ_INT(cnf_probe(b.p, b.n, CNF_IN_AUTO, "p.pgm", 48, &w, &h, &c, &a, &e), CNF_OK);
    CHECK(w == 8 && h == 6 && c == 1 && a == 0);
    free(b.p);
}

/* ----------------------------------------------------------- cnf_sniff */

static void zero_bytes_are_refused_from_a_short_prefix_as_probe_refuses_them(void)
{
    bytes z = b_fill(0, 1 << 20);
    cnf_error e;
    CHECK(sniff_fails_as_probe(&z, 64, CNF_IN_AUTO));
    CHECK(sniff_fails_as_probe(&z, 64, CNF_IN_IMAGE));
    CHECK_EQ_INT(cnf_sniff(z.p, 64, CNF_IN_AUTO, "-", &e), CNF_E_DECODE);
    CHECK(strcmp(e.msg, "not a readable image (unknown image type)") == 0);
    CHECK(strcmp(e.where, "-") == 0);
    /* Too few bytes to tell a TGA header from zeros: accepted. */
    CHECK_EQ_INT(cnf_sniff(z.p, 16, CNF_IN_AUTO, "-", &e), CNF_OK);
    CHECK_EQ_INT(cnf_sniff(z.p, 0, CNF_IN_AUTO, "-", &e), CNF_OK);
    /* Named as a matrix: .npy from its magic, text from a number over 128
     * characters (a 64-byte prefix cannot tell yet); JSON is never refused. */
    CHECK(sniff_fails_as_probe(&z, 64, CNF_IN_NPY));
    CHECK_EQ_INT(cnf_sniff(z.p, 64, CNF_IN_TXT, "z.txt", &e), CNF_OK);
    CHECK(sniff_fails_as_probe(&z, 65536, CNF_IN_TXT));
    CHECK(sniff_fails_as_probe(&z, 65536, CNF_IN_CSV));
    CHECK_EQ_INT(cnf_sniff(z.p, 65536, CNF_IN_JSON, "z.json", &e), CNF_OK);
    free(z.p);
}

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void random_junk_is_refused_with_the_message_probe_gives(void)
{
    uint32_t seed = 12345;
    int refused = 0, accepted = 0;
    for (int t = 0; t < 400; t++) {
        bytes b = b_fill(0, 4096);
        for (size_t i = 0; i < b.n; i++)
            b.p[i] = (unsigned char)rnd(&seed);
        if (t < 200) {
            /* Starts like no format: a high first byte that is no magic
             * number's, a second that is no TGA colour-map type. */
            b.p[0] = (unsigned char)(0x80 + rnd(&seed) % 9);
            b.p[1] = (unsigned char)(2 + rnd(&seed) % 254);
            CHECK(sniff_fails_as_probe(&b, 64, CNF_IN_AUTO));
            CHECK(sniff_fails_as_probe(&b, 64, CNF_IN_IMAGE));
        } else {
            /* Anything, half of it with a plausible TGA header: whenever
             * the sniff fails, it fails as the probe does. */
            cnf_error e;
            if (t % 2) {
                b.p[1] = 0;
                b.p[2] = (unsigned char)(t % 4 ? 2 : 10);
                b.p[16] = 24;
            }
            for (int k = 0; k < 2; k++) {
                cnf_input_kind kind = k ? CNF_IN_IMAGE : CNF_IN_AUTO;
                if (cnf_sniff(b.p, 64, kind, "in", &e) == CNF_OK) {
                    accepted++;
                } else {
                    refused++;
                    CHECK(sniff_fails_as_probe(&b, 64, kind));
                }
            }
        }
        free(b.p);
    }
    /* Both branches were taken (the seed is fixed: these are its counts). */
    CHECK(refused > 100 && accepted > 100);
}

static void refusals_by_a_fixed_header_match_the_probe(void)
{
    static const struct {
        const char *start;
        size_t n;
        cnf_input_kind kind;
    } T[] = {
        {"\x53\x80\xf6\x34", 4, CNF_IN_AUTO},     /* Softimage PIC */
        {"\xff\xff\xd8\x00", 4, CNF_IN_IMAGE},    /* JPEG behind fill bytes */
        {"\xff\xd8\x00", 3, CNF_IN_AUTO},         /* JPEG marker, not FF D8 FF */
        {"P5\n", 3, CNF_IN_AUTO},                 /* PNM header without numbers */
        {"P6 123456789 ", 13, CNF_IN_IMAGE},      /* a 9-digit number */
        {"P5 0 4 255\n", 11, CNF_IN_AUTO},        /* no pixels */
        {"\x93NUMPY\x04\x00", 8, CNF_IN_AUTO},    /* .npy version 4 */
        {"\x93NUMPY\x01\x00\x28\x00{'descr': '<f4', 'fortran_order': True, ", 50,
         CNF_IN_NPY},
        {"1 2\n3 x\n", 8, CNF_IN_AUTO},           /* text: not a number at 2:3 */
        {"1,2\n3;4\n", 8, CNF_IN_CSV},            /* csv: ';' at 2:1 */
        {"1 2\n3\n", 6, CNF_IN_TXT},              /* row width at 2:1 */
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        bytes b = b_fill(0, 4096);
        memcpy(b.p, T[i].start, T[i].n);
        if (!sniff_fails_as_probe(&b, T[i].n < 32 ? 32 : T[i].n, T[i].kind))
            fprintf(stderr, "case %zu\n", i);
        CHECK(sniff_fails_as_probe(&b, T[i].n < 32 ? 32 : T[i].n, T[i].kind));
        free(b.p);
    }
}

static void starts_that_are_still_undecided_are_accepted(void)
{
    bytes ff = b_fill(0xff, 64), sp = b_fill(' ', 64);
    cnf_error e;
    /* Fill bytes: a JPEG marker may follow; the whole is refused by probe. */
    CHECK_EQ_INT(cnf_sniff(ff.p, 64, CNF_IN_IMAGE, "f", &e), CNF_OK);
    /* White space: text or JSON may follow. */
    CHECK_EQ_INT(cnf_sniff(sp.p, 64, CNF_IN_AUTO, "s", &e), CNF_OK);
    /* A number running to the end of the prefix, a line without its end. */
    CHECK_EQ_INT(cnf_sniff((const unsigned char *)"1 2\n3 4x", 8, CNF_IN_TXT, "t", &e), CNF_OK);
    CHECK_EQ_INT(cnf_sniff((const unsigned char *)"1 2\n3", 5, CNF_IN_TXT, "t", &e), CNF_OK);
    /* A PNM comment running to the end of the prefix. */
    CHECK_EQ_INT(cnf_sniff((const unsigned char *)"P5\n# comment that goes on and on", 32,
                           CNF_IN_IMAGE, "p", &e),
                 CNF_OK);
    /* A plausible TGA header. */
    {
        unsigned char tga[18] = {0, 0, 2};
        put16le(tga + 12, 3);
        put16le(tga + 14, 2);
        tga[16] = 24;
        CHECK_EQ_INT(cnf_sniff(tga, 18, CNF_IN_AUTO, "t", &e), CNF_OK);
        tga[16] = 13;
        CHECK_EQ_INT(cnf_sniff(tga, 18, CNF_IN_AUTO, "t", &e), CNF_E_DECODE);
        tga[16] = 8;
        tga[1] = 1; /* colour-mapped needs image type 1 or 9 */
        CHECK_EQ_INT(cnf_sniff(tga, 18, CNF_IN_AUTO, "t", &e), CNF_E_DECODE);
        tga[2] = 9;
        tga[7] = 24;
        CHECK_EQ_INT(cnf_sniff(tga, 18, CNF_IN_AUTO, "t", &e), CNF_OK);
        put16le(tga + 12, 0);
        CHECK_EQ_INT(cnf_sniff(tga, 18, CNF_IN_AUTO, "t", &e), CNF_E_DECODE);
    }
    free(ff.p);
    free(sp.p);
}

/* Every combination of the TGA header fields stb looks at: the TGA row's
 * sniff takes exactly the headers stb reads as an image (so zero bytes, and
 * only what stb refuses, fail it). */
static void tga_plausibility_agrees_with_stb_on_every_header_field(void)
{
    static const int entries[] = {0, 7, 8, 15, 16, 24, 32, 33};
    unsigned char f[18 + 64];
    int bad = 0, plausible = 0;
    memset(f, 0, sizeof f);
    for (int mapped = 0; mapped < 3; mapped++)
        for (int type = 0; type < 13; type++)
            for (size_t entry = 0; entry < sizeof entries / sizeof entries[0]; entry++)
                for (int bpp = 0; bpp <= 40; bpp++)
                    for (int size = 0; size < 4; size++) {
                        cnf_error e;
                        int w, h, c, a, sniff;
                        cnf_status st;
                        f[1] = (unsigned char)mapped;
                        f[2] = (unsigned char)type;
                        f[7] = (unsigned char)entries[entry];
                        put16le(f + 12, (unsigned)(size & 1) * 300);
                        put16le(f + 14, (unsigned)(size >> 1) * 2);
                        f[16] = (unsigned char)bpp;
                        sniff = cnf__tga_sniff(f, 18);
                        st = cnf_probe(f, sizeof f, CNF_IN_IMAGE, "t", CNF_DEFAULT_MAX_PIXELS, &w,
                                       &h, &c, &a, &e);
                        plausible += sniff == 1;
                        if (sniff != !(st == CNF_E_DECODE &&
                                       strcmp(e.msg, "not a readable image (unknown image type)") ==
                                           0) &&
                            bad++ < 5)
                            fprintf(stderr, "map %d type %d entry %d bpp %d size %d: sniff %d, %s\n",
                                    mapped, type, entries[entry], bpp, size, sniff,
                                    st ? e.msg : "read");
                    }
    CHECK_EQ_INT(bad, 0);
    /* Colour-mapped: 2 types x 5 entry sizes x 2 index sizes; else 4 types
     * x 8 entry bytes (ignored) x 5 pixel sizes; width and height set. */
    CHECK_EQ_INT(plausible, 2 * 5 * 2 + 4 * 8 * 5);
}

int main(void)
{
    RUN(table_lists_exactly_the_supported_inputs_and_outputs);
    RUN(names_and_extensions_are_unique_and_map_back_to_their_row);
    RUN(flags_agree_with_what_cnf_encode_does);
    RUN(png_jpeg_bmp_and_tga_are_read_by_content);
    RUN(reader_rows_give_the_decoded_rows_in_order);
    RUN(gif_is_read_as_rgba_through_stb);
    RUN(psd_is_read_through_stb);
    RUN(hdr_is_read_through_stb);
    RUN(decoder_memory_is_read_from_each_header);
    RUN(pnm_p5_and_p6_are_read_by_our_decoder_with_maxval_scaling);
    RUN(matrices_are_read_by_name_and_by_content);
    RUN(the_name_decides_between_image_and_matrix);
    RUN(probe_checks_the_pixel_limit_of_every_image_header);
    RUN(zero_bytes_are_refused_from_a_short_prefix_as_probe_refuses_them);
    RUN(random_junk_is_refused_with_the_message_probe_gives);
    RUN(refusals_by_a_fixed_header_match_the_probe);
    RUN(starts_that_are_still_undecided_are_accepted);
    RUN(tga_plausibility_agrees_with_stb_on_every_header_field);
    return t_finish("test_codec");
}
