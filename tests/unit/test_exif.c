/* test_exif.c - the EXIF Orientation reader on hand-built and hostile blocks, the eight turns, and their use by every decode path. */
#include "test_util.h"

#include <stdint.h>
#include <zlib.h>

#include "../../src/lib/orient.h"

/* ------------------------------------------------------------ builders */

typedef struct blk {
    unsigned char b[512];
    size_t n;
} blk;

static void put16(blk *t, size_t at, unsigned v, int big)
{
    t->b[at] = (unsigned char)(big ? v >> 8 : v);
    t->b[at + 1] = (unsigned char)(big ? v : v >> 8);
}

static void put32(blk *t, size_t at, uint32_t v, int big)
{
    for (int i = 0; i < 4; i++)
        t->b[at + (size_t)i] = (unsigned char)(v >> (big ? 24 - 8 * i : 8 * i));
}

/* A TIFF block: header, IFD0 at 8 with the entries given (tag, type,
 * count, value in the first bytes of the field), next-IFD offset 0. */
typedef struct entry {
    unsigned tag, type;
    uint32_t count, value;
} entry;

static blk tiff(int big, const entry *e, int n)
{
    blk t;
    memset(&t, 0, sizeof t);
    memcpy(t.b, big ? "MM" : "II", 2);
    put16(&t, 2, 42, big);
    put32(&t, 4, 8, big);
    put16(&t, 8, (unsigned)n, big);
    for (int i = 0; i < n; i++) {
        size_t at = 10 + (size_t)i * 12;
        put16(&t, at, e[i].tag, big);
        put16(&t, at + 2, e[i].type, big);
        put32(&t, at + 4, e[i].count, big);
        if (e[i].type == 3)
            put16(&t, at + 8, e[i].value, big);
        else
            put32(&t, at + 8, e[i].value, big);
    }
    put32(&t, 10 + (size_t)n * 12, 0, big);
    t.n = 14 + (size_t)n * 12;
    return t;
}

static blk orient_block(int big, unsigned o)
{
    entry e[2] = {{0x010f, 2, 4, 0x00434241}, {0x0112, 3, 1, o}}; /* Make, then Orientation */
    return tiff(big, e, 2);
}

/* The reader on an exact-size heap copy, so that ASan sees any read past
 * the end of the block. */
static int exif_of(const unsigned char *p, size_t n)
{
    unsigned char *c = malloc(n ? n : 1);
    int o;
    if (!c)
        abort();
    if (n)
        memcpy(c, p, n);
    o = cnf__exif_orientation(c, n);
    free(c);
    return o;
}

static int jpeg_of(const unsigned char *p, size_t n)
{
    unsigned char *c = malloc(n ? n : 1);
    int o;
    if (!c)
        abort();
    if (n)
        memcpy(c, p, n);
    o = cnf__jpeg_orientation(c, n);
    free(c);
    return o;
}

static int png_of(const unsigned char *p, size_t n)
{
    unsigned char *c = malloc(n ? n : 1);
    int o;
    if (!c)
        abort();
    if (n)
        memcpy(c, p, n);
    o = cnf__png_orientation(c, n);
    free(c);
    return o;
}

/* --------------------------------------------------------- the parser */

static void each_orientation_is_read_in_both_byte_orders(void)
{
    for (int big = 0; big < 2; big++)
        for (unsigned o = 1; o <= 8; o++) {
            blk t = orient_block(big, o);
            CHECK_EQ_INT(exif_of(t.b, t.n), o);
        }
    /* The tag as a LONG, as some writers put it. */
    for (int big = 0; big < 2; big++) {
        entry e = {0x0112, 4, 1, 6};
        blk t = tiff(big, &e, 1);
        CHECK_EQ_INT(exif_of(t.b, t.n), 6);
    }
}

static void the_byte_order_is_the_blocks_own(void)
{
    /* 6 written big-endian is 0x0600 little-endian: out of range. */
    blk t = orient_block(1, 6);
    memcpy(t.b, "II", 2);
    CHECK_EQ_INT(exif_of(t.b, t.n), 1);
}

static void values_out_of_range_or_of_another_type_are_1(void)
{
    static const unsigned bad[] = {0, 9, 255, 0x0106, 0xffff};
    for (int big = 0; big < 2; big++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            blk t = orient_block(big, bad[i]);
            CHECK_EQ_INT(exif_of(t.b, t.n), 1);
        }
        {
            entry e = {0x0112, 4, 1, 0x00010006}; /* LONG 65542 */
            blk t = tiff(big, &e, 1);
            CHECK_EQ_INT(exif_of(t.b, t.n), 1);
        }
        {
            entry e = {0x0112, 1, 1, 6}; /* BYTE: not how the tag is written */
            blk t = tiff(big, &e, 1);
            CHECK_EQ_INT(exif_of(t.b, t.n), 1);
        }
        {
            entry e = {0x0112, 3, 0, 6}; /* no value */
            blk t = tiff(big, &e, 1);
            CHECK_EQ_INT(exif_of(t.b, t.n), 1);
        }
    }
}

static void no_tag_gives_1(void)
{
    entry e = {0x010f, 2, 4, 0x00434241};
    blk t = tiff(0, &e, 1);
    CHECK_EQ_INT(exif_of(t.b, t.n), 1);
    t = tiff(1, NULL, 0);
    CHECK_EQ_INT(exif_of(t.b, t.n), 1);
    CHECK_EQ_INT(exif_of(NULL, 0), 1);
}

static void bad_headers_give_1(void)
{
    blk t = orient_block(0, 6);
    CHECK_EQ_INT(exif_of(t.b, t.n), 6);
    t.b[0] = 'I';
    t.b[1] = 'M';
    CHECK_EQ_INT(exif_of(t.b, t.n), 1);
    t = orient_block(0, 6);
    put16(&t, 2, 43, 0); /* BigTIFF and others: not 42 */
    CHECK_EQ_INT(exif_of(t.b, t.n), 1);
}

static void ifd_offsets_past_the_end_or_into_the_header_give_1(void)
{
    static const uint32_t offs[] = {0, 4, 7, 0xffffffffu, 0x7fffffffu, 0x80000000u};
    for (int big = 0; big < 2; big++) {
        blk t = orient_block(big, 6);
        for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
            put32(&t, 4, offs[i], big);
            CHECK_EQ_INT(exif_of(t.b, t.n), 1);
        }
        put32(&t, 4, (uint32_t)t.n, big); /* just at the end */
        CHECK_EQ_INT(exif_of(t.b, t.n), 1);
        put32(&t, 4, (uint32_t)t.n - 1, big); /* one byte of the count */
        CHECK_EQ_INT(exif_of(t.b, t.n), 1);
    }
}

static void an_entry_count_past_the_end_gives_1(void)
{
    for (int big = 0; big < 2; big++) {
        blk t = orient_block(big, 6);
        put16(&t, 8, 0xffff, big);
        CHECK_EQ_INT(exif_of(t.b, t.n), 1);
        put16(&t, 8, 3, big); /* one more entry than the block holds */
        CHECK_EQ_INT(exif_of(t.b, 10 + 2 * 12 + 4), 1);
        put16(&t, 8, 2, big);
        CHECK_EQ_INT(exif_of(t.b, 10 + 2 * 12), 6); /* no next-IFD offset: not needed */
    }
}

static void every_truncation_gives_1_and_reads_nothing_past_the_end(void)
{
    for (int big = 0; big < 2; big++) {
        blk t = orient_block(big, 8);
        /* The Orientation entry ends at byte 10 + 24: every shorter block
         * lacks part of IFD0. */
        for (size_t n = 0; n < 10 + 24; n++)
            CHECK_EQ_INT(exif_of(t.b, n), 1);
        CHECK_EQ_INT(exif_of(t.b, 10 + 24), 8);
    }
}

static void links_between_ifds_are_never_followed(void)
{
    /* IFD0 without the tag, whose next-IFD offset points back at itself, and
     * an IFD1 holding Orientation that only a link would reach. */
    entry e = {0x010f, 2, 4, 0x00434241};
    blk t = tiff(1, &e, 1);
    put32(&t, 22, 8, 1); /* IFD0 -> IFD0 */
    CHECK_EQ_INT(exif_of(t.b, t.n), 1);
    put32(&t, 22, 26, 1); /* IFD0 -> IFD1 at 26 */
    put16(&t, 26, 1, 1);
    put16(&t, 28, 0x0112, 1);
    put16(&t, 30, 3, 1);
    put32(&t, 32, 1, 1);
    put16(&t, 36, 6, 1);
    put32(&t, 40, 26, 1); /* IFD1 -> IFD1 */
    t.n = 44;
    CHECK_EQ_INT(exif_of(t.b, t.n), 1);
}

static void random_blocks_never_read_out_of_bounds(void)
{
    /* Seeded noise with a valid header: under ASan any over-read fails. */
    uint32_t s = 12345;
    for (int i = 0; i < 20000; i++) {
        blk t = orient_block(i & 1, 6);
        size_t n = 8 + (size_t)(i % 64);
        for (size_t k = 8; k < n; k++) {
            s = s * 1664525u + 1013904223u;
            t.b[k] = (unsigned char)(s >> 24);
        }
        {
            int o = exif_of(t.b, n);
            CHECK(o >= 1 && o <= 8);
        }
    }
}

/* ------------------------------------------------------- JPEG and PNG */

/* SOI, the segments given, then SOS and an EOI. */
static size_t jpeg_with(unsigned char *out, const unsigned char *segs, size_t n)
{
    size_t k = 0;
    out[k++] = 0xff;
    out[k++] = 0xd8;
    memcpy(out + k, segs, n);
    k += n;
    memcpy(out + k, "\xff\xda\x00\x02\xff\xd9", 6);
    return k + 6;
}

static size_t app1(unsigned char *out, const char *id, size_t id_len, const blk *t)
{
    size_t n = 2 + id_len + (t ? t->n : 0);
    out[0] = 0xff;
    out[1] = 0xe1;
    out[2] = (unsigned char)(n >> 8);
    out[3] = (unsigned char)n;
    memcpy(out + 4, id, id_len);
    if (t)
        memcpy(out + 4 + id_len, t->b, t->n);
    return n + 2;
}

static void jpeg_app1_exif_is_found_before_sos(void)
{
    unsigned char segs[1024], j[1200];
    size_t n = 0, len;
    blk t = orient_block(1, 5);
    /* APP0 JFIF, an APP1 of XMP, fill bytes, then APP1 Exif. */
    memcpy(segs, "\xff\xe0\x00\x07JFIF\0", 9);
    n = 9;
    n += app1(segs + n, "http://ns.adobe.com/xap/1.0/\0", 29, NULL);
    segs[n++] = 0xff;
    n += app1(segs + n, "Exif\0\0", 6, &t);
    len = jpeg_with(j, segs, n);
    CHECK_EQ_INT(jpeg_of(j, len), 5);
    /* Every truncation is safe, and only the whole block gives 5. */
    for (size_t k = 0; k < len; k++) {
        int o = jpeg_of(j, k);
        CHECK(o == 1 || (o == 5 && k >= len - 6));
    }
}

static void jpeg_exif_after_sos_or_in_broken_markers_is_ignored(void)
{
    unsigned char segs[512], j[600];
    size_t n, len;
    blk t = orient_block(0, 6);
    /* after SOS */
    memcpy(segs, "\xff\xda\x00\x02", 4);
    n = 4 + app1(segs + 4, "Exif\0\0", 6, &t);
    len = jpeg_with(j, segs, n);
    CHECK_EQ_INT(jpeg_of(j, len), 1);
    /* a segment length past the end */
    n = app1(segs, "Exif\0\0", 6, &t);
    segs[2] = 0xff;
    len = jpeg_with(j, segs, n);
    CHECK_EQ_INT(jpeg_of(j, len), 1);
    /* a segment length below 2 */
    memcpy(segs, "\xff\xe0\x00\x01", 4);
    n = 4 + app1(segs + 4, "Exif\0\0", 6, &t);
    len = jpeg_with(j, segs, n);
    CHECK_EQ_INT(jpeg_of(j, len), 1);
    /* garbage where a marker must be */
    segs[0] = 0x12;
    n = 1 + app1(segs + 1, "Exif\0\0", 6, &t);
    len = jpeg_with(j, segs, n);
    CHECK_EQ_INT(jpeg_of(j, len), 1);
    /* "Exif" without its two NULs, and an APP1 too short for the id */
    n = app1(segs, "Exif", 4, &t);
    len = jpeg_with(j, segs, n);
    CHECK_EQ_INT(jpeg_of(j, len), 1);
    memcpy(segs, "\xff\xe1\x00\x05Exi", 7);
    len = jpeg_with(j, segs, 7);
    CHECK_EQ_INT(jpeg_of(j, len), 1);
    /* a standalone RST marker before it is stepped over */
    memcpy(segs, "\xff\xd3", 2);
    n = 2 + app1(segs + 2, "Exif\0\0", 6, &t);
    len = jpeg_with(j, segs, n);
    CHECK_EQ_INT(jpeg_of(j, len), 6);
    /* only fill bytes after SOI */
    CHECK_EQ_INT(jpeg_of((const unsigned char *)"\xff\xd8\xff\xff\xff", 5), 1);
    CHECK_EQ_INT(jpeg_of((const unsigned char *)"\xff\xd8", 2), 1);
}

static void put_chunk(unsigned char *out, size_t *k, const char *type, const unsigned char *d,
                      uint32_t n)
{
    uLong crc = crc32(0, (const Bytef *)type, 4);
    if (n)
        crc = crc32(crc, d, n);
    for (int i = 0; i < 4; i++)
        out[(*k)++] = (unsigned char)(n >> (24 - 8 * i));
    memcpy(out + *k, type, 4);
    *k += 4;
    if (n)
        memcpy(out + *k, d, n);
    *k += n;
    for (int i = 0; i < 4; i++)
        out[(*k)++] = (unsigned char)(crc >> (24 - 8 * i));
}

static void png_exif_chunk_is_found_before_idat(void)
{
    static const unsigned char ihdr[13] = {0, 0, 0, 3, 0, 0, 0, 2, 8, 0, 0, 0, 0};
    unsigned char p[1024];
    size_t k = 8;
    blk t = orient_block(1, 7);
    memcpy(p, "\x89PNG\r\n\x1a\n", 8);
    put_chunk(p, &k, "IHDR", ihdr, 13);
    put_chunk(p, &k, "eXIf", t.b, (uint32_t)t.n);
    put_chunk(p, &k, "IDAT", NULL, 0);
    put_chunk(p, &k, "IEND", NULL, 0);
    CHECK_EQ_INT(png_of(p, k), 7);
    for (size_t n = 0; n < k; n++) {
        int o = png_of(p, n);
        CHECK(o == 1 || o == 7);
    }
    /* after IDAT: not looked for */
    k = 8;
    put_chunk(p, &k, "IHDR", ihdr, 13);
    put_chunk(p, &k, "IDAT", NULL, 0);
    put_chunk(p, &k, "eXIf", t.b, (uint32_t)t.n);
    put_chunk(p, &k, "IEND", NULL, 0);
    CHECK_EQ_INT(png_of(p, k), 1);
    /* a chunk length past the end */
    k = 8;
    put_chunk(p, &k, "IHDR", ihdr, 13);
    put_chunk(p, &k, "eXIf", t.b, (uint32_t)t.n);
    p[33] = 0x7f;
    CHECK_EQ_INT(png_of(p, k), 1);
    CHECK_EQ_INT(png_of((const unsigned char *)"\x89PNG\r\n\x1a\n", 8), 1);
}

/* ---------------------------------------------------------- the turns */

static void the_eight_turns_move_pixels_as_exif_defines(void)
{
    /* stored 3 wide, 2 high:  1 2 3 / 4 5 6 */
    static const float stored[6] = {1, 2, 3, 4, 5, 6};
    static const struct {
        int w, h;
        float v[6];
    } want[9] = {
        {0, 0, {0}},
        {3, 2, {1, 2, 3, 4, 5, 6}}, /* 1 as stored */
        {3, 2, {3, 2, 1, 6, 5, 4}}, /* 2 mirrored left-right */
        {3, 2, {6, 5, 4, 3, 2, 1}}, /* 3 turned 180 */
        {3, 2, {4, 5, 6, 1, 2, 3}}, /* 4 mirrored top-bottom */
        {2, 3, {1, 4, 2, 5, 3, 6}}, /* 5 transposed */
        {2, 3, {4, 1, 5, 2, 6, 3}}, /* 6 turned 90 clockwise */
        {2, 3, {6, 3, 5, 2, 4, 1}}, /* 7 transversed */
        {2, 3, {3, 6, 2, 5, 1, 4}}, /* 8 turned 90 counter-clockwise */
    };
    for (int o = 1; o <= 8; o++) {
        /* two planes: the second the first + 10, with alpha */
        cnf_image img = t_image(3, 2, 2, 1, NULL);
        cnf_error e;
        memcpy(img.data, stored, sizeof stored);
        for (int i = 0; i < 6; i++)
            img.data[6 + i] = stored[i] + 10;
        CHECK_EQ_INT(cnf__orient_image(&img, o, &e), CNF_OK);
        CHECK_EQ_INT(img.width, want[o].w);
        CHECK_EQ_INT(img.height, want[o].h);
        CHECK_EQ_INT(img.channels, 2);
        CHECK_EQ_INT(img.has_alpha, 1);
        for (int i = 0; i < 6; i++) {
            CHECK_EQ_INT(img.data[i], want[o].v[i]);
            CHECK_EQ_INT(img.data[6 + i], want[o].v[i] + 10);
        }
        cnf_image_free(&img);
    }
}

/* A 3x2 RGB PNG (values 0,10,..) with an eXIf of orientation o inserted
 * after IHDR. */
static unsigned char *png_oriented(int o, size_t *len)
{
    cnf_image img = t_image(3, 2, 3, 0, NULL);
    unsigned char *png = NULL, *out;
    size_t n = 0, k;
    cnf_error e;
    blk t = orient_block(0, (unsigned)o);
    for (int i = 0; i < 18; i++)
        img.data[i] = (float)(i * 10);
    if (cnf_encode(&img, CNF_OUT_PNG, NULL, &png, &n, NULL, &e) != CNF_OK)
        abort();
    cnf_image_free(&img);
    out = malloc(n + t.n + 12);
    if (!out)
        abort();
    memcpy(out, png, 33); /* signature and IHDR */
    k = 33;
    put_chunk(out, &k, "eXIf", t.b, (uint32_t)t.n);
    memcpy(out + k, png + 33, n - 33);
    *len = k + n - 33;
    free(png);
    return out;
}

static void every_decode_path_turns_a_png_with_exif(void)
{
    size_t n;
    unsigned char *p = png_oriented(6, &n);
    cnf_image up, as_stored;
    cnf_reader *r = NULL;
    cnf_error e;
    int w, h, c, a;
    CHECK_EQ_INT(cnf_input_orientation(p, n, CNF_IN_AUTO), 6);
    CHECK_EQ_INT(cnf_probe(p, n, CNF_IN_AUTO, "o.png", 100, &w, &h, &c, &a, &e), CNF_OK);
    CHECK_EQ_INT(w, 2);
    CHECK_EQ_INT(h, 3);
    CHECK_EQ_INT(cnf_probe_ex(p, n, CNF_IN_AUTO, "o.png", 100, CNF_DECODE_NO_ORIENT, &w, &h, &c,
                              &a, &e),
                 CNF_OK);
    CHECK_EQ_INT(w, 3);
    CHECK_EQ_INT(h, 2);
    CHECK_EQ_INT(cnf_input_streams(p, n, CNF_IN_AUTO), 0);
    CHECK_EQ_INT(cnf_input_streams_ex(p, n, CNF_IN_AUTO, CNF_DECODE_NO_ORIENT), 1);
    CHECK_EQ_INT(cnf_decode(p, n, CNF_IN_AUTO, "o.png", 100, &up, &e), CNF_OK);
    CHECK_EQ_INT(cnf_decode_ex(p, n, CNF_IN_AUTO, "o.png", 100, CNF_DECODE_NO_ORIENT, &as_stored,
                               &e),
                 CNF_OK);
    CHECK_EQ_INT(up.width, 2);
    CHECK_EQ_INT(up.height, 3);
    CHECK_EQ_INT(as_stored.width, 3);
    /* the first plane stored 0 10 20 / 30 40 50: turned clockwise, its
     * rows are 30 0 / 40 10 / 50 20 */
    {
        static const float red[6] = {30, 0, 40, 10, 50, 20};
        for (int i = 0; i < 6; i++)
            CHECK_EQ_INT(up.data[i], red[i]);
    }
    CHECK_EQ_INT(cnf_reader_open(p, n, CNF_IN_AUTO, "o.png", 100, &r, &e), CNF_OK);
    cnf_reader_shape(r, &w, &h, &c, &a);
    CHECK_EQ_INT(w, 2);
    CHECK_EQ_INT(h, 3);
    cnf_reader_free(r);
    CHECK_EQ_INT(cnf_reader_open_ex(p, n, CNF_IN_AUTO, "o.png", 100, CNF_DECODE_NO_ORIENT, &r, &e),
                 CNF_OK);
    cnf_reader_shape(r, &w, &h, &c, &a);
    CHECK_EQ_INT(w, 3);
    cnf_reader_free(r);
    /* the pixel limit holds for the turned shape too */
    CHECK_EQ_INT(cnf_probe(p, n, CNF_IN_AUTO, "o.png", 5, &w, &h, &c, &a, &e), CNF_E_TOO_BIG);
    cnf_image_free(&up);
    cnf_image_free(&as_stored);
    free(p);
}

int main(void)
{
    RUN(each_orientation_is_read_in_both_byte_orders);
    RUN(the_byte_order_is_the_blocks_own);
    RUN(values_out_of_range_or_of_another_type_are_1);
    RUN(no_tag_gives_1);
    RUN(bad_headers_give_1);
    RUN(ifd_offsets_past_the_end_or_into_the_header_give_1);
    RUN(an_entry_count_past_the_end_gives_1);
    RUN(every_truncation_gives_1_and_reads_nothing_past_the_end);
    RUN(links_between_ifds_are_never_followed);
    RUN(random_blocks_never_read_out_of_bounds);
    RUN(jpeg_app1_exif_is_found_before_sos);
    RUN(jpeg_exif_after_sos_or_in_broken_markers_is_ignored);
    RUN(png_exif_chunk_is_found_before_idat);
    RUN(the_eight_turns_move_pixels_as_exif_defines);
    RUN(every_decode_path_turns_a_png_with_exif);
    return t_finish("test_exif");
}
