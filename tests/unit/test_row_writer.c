/* test_row_writer.c - cnf_row_writer: every format written by rows gives the bytes cnf_encode gives, refuses what it refuses, and stops at a non-finite value. */
#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

/* Random values around the 8-bit range (some clipped at each end), with
 * fractions: every mapping path and rounding is exercised. */
static cnf_image random_image(int w, int h, int c, int alpha, unsigned seed)
{
    cnf_image img = t_image(w, h, c, alpha, NULL);
    size_t n = (size_t)w * h * c;
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        img.data[i] = (float)((double)(s >> 8) / (double)(1u << 24) * 330.0 - 40.0);
    }
    return img;
}

/* The whole file behind fd. */
static unsigned char *read_all(int fd, size_t *len)
{
    off_t end = lseek(fd, 0, SEEK_END);
    unsigned char *b = malloc(end > 0 ? (size_t)end : 1);
    if (!b || end < 0 || pread(fd, b, (size_t)end, 0) != (ssize_t)end)
        abort();
    *len = (size_t)end;
    return b;
}

/* A scratch file, open for reading and writing, already unlinked. */
static int scratch_fd(void)
{
    char name[] = "/tmp/cnf-rowwriter-XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0)
        abort();
    unlink(name);
    return fd;
}

/* img written by rows, `band` rows a call, into a new file: its bytes
 * (*out, *len) and the stats; the status of the first failing call. */
static cnf_status stream(const cnf_image *img, cnf_output_format f, const cnf_encode_opts *o,
                         int band, unsigned char **out, size_t *len, cnf_map_stats *stats,
                         cnf_error *err)
{
    cnf_row_writer *w = NULL;
    int fd = scratch_fd(), c = img->channels;
    const float **rows = malloc(sizeof *rows * (size_t)band * (size_t)c);
    cnf_status st;
    *out = NULL;
    *len = 0;
    cnf_map_stats_init(stats);
    st = cnf_row_writer_open(&w, f, img->width, img->height, c, img->has_alpha, o, fd, err);
    for (int y = 0; st == CNF_OK && y < img->height; y += band) {
        int n = img->height - y < band ? img->height - y : band;
        for (int i = 0; i < n; i++)
            for (int p = 0; p < c; p++)
                rows[(size_t)i * c + p] =
                    cnf_image_plane(img, p) + (size_t)(y + i) * (size_t)img->width;
        st = cnf_row_writer_rows(w, rows, n, stats, err);
    }
    if (st == CNF_OK)
        st = cnf_row_writer_finish(w, err);
    cnf_row_writer_free(w);
    if (st == CNF_OK)
        *out = read_all(fd, len);
    close(fd);
    free(rows);
    return st;
}

typedef struct fmt_case {
    cnf_output_format f;
    int depth, quality;
    const char *name;
} fmt_case;

static const fmt_case FORMATS[] = {
    {CNF_OUT_NPY, 8, -1, "npy"},          {CNF_OUT_TXT, 8, -1, "txt"},
    {CNF_OUT_TIFF, 8, -1, "tiff 8"},      {CNF_OUT_TIFF, 16, -1, "tiff 16"},
    {CNF_OUT_TIFF, CNF_DEPTH_FLOAT, -1, "tiff float"},
    {CNF_OUT_JPG, 8, -1, "jpeg"},         {CNF_OUT_JPG, 8, 40, "jpeg q40"},
    {CNF_OUT_PNM, 8, -1, "pnm 8"},        {CNF_OUT_PNM, 16, -1, "pnm 16"},
};

static void every_streamed_format_gives_the_bytes_cnf_encode_gives(void)
{
    static const int SIZES[][2] = {{1, 1}, {1, 57}, {57, 1}, {37, 23}, {301, 233}};
    static const int CHANNELS[][2] = {{1, 0}, {2, 1}, {3, 0}, {4, 1}};
    static const int BANDS[] = {1, 7, 1000};
    int compared = 0;
    for (size_t fi = 0; fi < sizeof FORMATS / sizeof FORMATS[0]; fi++)
        for (size_t si = 0; si < sizeof SIZES / sizeof SIZES[0]; si++)
            for (size_t ci = 0; ci < sizeof CHANNELS / sizeof CHANNELS[0]; ci++) {
                const fmt_case *fc = &FORMATS[fi];
                cnf_image img = random_image(SIZES[si][0], SIZES[si][1], CHANNELS[ci][0],
                                             CHANNELS[ci][1], (unsigned)(fi * 100 + si * 10 + ci));
                cnf_encode_opts o;
                unsigned char *whole = NULL;
                size_t whole_len = 0;
                cnf_map_stats ws, ss;
                cnf_error e;
                cnf_status est;
                cnf_encode_opts_init(&o);
                o.depth = fc->depth;
                o.quality = fc->quality;
                o.software = "cnnfilter test";
                o.comment = "-k box:3 --border zero";
                cnf_map_stats_init(&ws);
                est = cnf_encode(&img, fc->f, &o, &whole, &whole_len, &ws, &e);
                if (!cnf_row_writer_streams(fc->f, &o, img.channels, 1)) {
                    /* only a .txt of several channels is written whole here */
                    CHECK(fc->f == CNF_OUT_TXT && img.channels > 1);
                    free(whole);
                    cnf_image_free(&img);
                    continue;
                }
                for (size_t bi = 0; bi < sizeof BANDS / sizeof BANDS[0]; bi++) {
                    unsigned char *rows = NULL;
                    size_t rows_len = 0;
                    cnf_error re;
                    cnf_status rst =
                        stream(&img, fc->f, &o, BANDS[bi], &rows, &rows_len, &ss, &re);
                    CHECK_EQ_INT(rst, est);
                    if (rst != est) {
                        fprintf(stderr, "  %s %dx%dx%d band %d: %s / %s\n", fc->name, img.width,
                                img.height, img.channels, BANDS[bi], re.msg, e.msg);
                    } else if (est == CNF_OK) {
                        int same = rows_len == whole_len && memcmp(rows, whole, whole_len) == 0;
                        CHECK(same);
                        if (!same)
                            fprintf(stderr, "  %s %dx%dx%d band %d: %zu bytes vs %zu\n",
                                    fc->name, img.width, img.height, img.channels, BANDS[bi],
                                    rows_len, whole_len);
                        if (cnf_output_format_is_8bit(fc->f) && fc->depth != CNF_DEPTH_FLOAT) {
                            CHECK_EQ_INT(ss.clipped_low, ws.clipped_low);
                            CHECK_EQ_INT(ss.clipped_high, ws.clipped_high);
                            CHECK_EQ_INT(ss.values, ws.values);
                            CHECK(ss.min == ws.min && ss.max == ws.max);
                        }
                        compared++;
                    } else {
                        CHECK(strcmp(re.msg, e.msg) == 0);
                    }
                    free(rows);
                }
                free(whole);
                cnf_image_free(&img);
            }
    /* 9 format settings x 5 sizes x 4 channel layouts, less the 3 .txt of
     * several channels, less PNM with alpha (refused by both), x 3 bands */
    CHECK_EQ_INT(compared, ((9 * 5 * 4) - 3 * 5 - 2 * 5 * 2) * 3);
}

static void exact_values_range_and_count_go_to_stats(void)
{
    float v[] = {3, -2.5f, 7, 0, /* alpha */ 1, 1, 1, 1};
    cnf_image img = t_image(2, 2, 2, 1, v);
    unsigned char *b;
    size_t n;
    cnf_map_stats s;
    cnf_error e;
    CHECK_EQ_INT(stream(&img, CNF_OUT_NPY, NULL, 1, &b, &n, &s, &e), CNF_OK);
    CHECK(s.min == -2.5 && s.max == 7);
    CHECK_EQ_INT(s.values, 4);
    CHECK_EQ_INT(n, 128 + 2 * 2 * 2 * 4); /* the preamble is padded to 64 bytes */
    free(b);
    cnf_image_free(&img);
}

/* A NaN in row 250 of a 300-row image: the rows before it are written, the
 * call holding it fails naming its place, and so does every call after. */
static void a_non_finite_value_met_mid_stream_is_refused_naming_its_place(void)
{
    const cnf_output_format fmts[2] = {CNF_OUT_NPY, CNF_OUT_TIFF};
    for (int k = 0; k < 2; k++) {
        cnf_image img = random_image(20, 300, 3, 0, 7);
        cnf_row_writer *w = NULL;
        cnf_encode_opts o;
        cnf_error e;
        cnf_status st = CNF_OK;
        const float *rows[3 * 50];
        int fd = scratch_fd(), failed_at = -1;
        cnf_encode_opts_init(&o);
        o.depth = CNF_DEPTH_FLOAT;
        cnf_image_plane(&img, 1)[250 * 20 + 3] = NAN;
        CHECK_EQ_INT(cnf_row_writer_open(&w, fmts[k], 20, 300, 3, 0, &o, fd, &e), CNF_OK);
        for (int y = 0; y < 300; y += 50) {
            for (int i = 0; i < 50; i++)
                for (int p = 0; p < 3; p++)
                    rows[i * 3 + p] = cnf_image_plane(&img, p) + (size_t)(y + i) * 20;
            st = cnf_row_writer_rows(w, rows, 50, NULL, &e);
            if (st != CNF_OK && failed_at < 0) {
                failed_at = y;
                CHECK_EQ_INT(st, CNF_E_FORMAT);
                CHECK_STR_CONTAINS(e.msg, "the result holds NaN at (channel 1, row 250, column 3)");
                CHECK_STR_CONTAINS(e.msg, k == 0 ? ".npy holds finite values only"
                                                 : "a float TIFF holds finite values only");
            }
        }
        CHECK_EQ_INT(failed_at, 250);
        CHECK(st != CNF_OK);
        CHECK(cnf_row_writer_finish(w, &e) != CNF_OK);
        cnf_row_writer_free(w);
        close(fd);
        cnf_image_free(&img);
    }
}

static void streams_says_which_formats_are_written_by_rows(void)
{
    cnf_encode_opts o, norm, fl, fl_norm;
    cnf_encode_opts_init(&o);
    norm = o;
    norm.map = CNF_MAP_NORMALIZE;
    fl = o;
    fl.depth = CNF_DEPTH_FLOAT;
    fl_norm = fl;
    fl_norm.map = CNF_MAP_NORMALIZE;
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_NPY, &o, 3, 1), 1);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_NPY, &o, 3, 0), 0); /* written at offsets */
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_NPY, &norm, 3, 1), 1); /* exact: no map */
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_TIFF, &o, 4, 1), 1);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_TIFF, &o, 4, 0), 0);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_TIFF, &norm, 1, 1), 0);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_TIFF, &fl_norm, 1, 1), 1);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_TIFF, &fl, 3, 1), 1);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_JPG, &o, 3, 0), 1); /* into a pipe too */
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_JPG, &norm, 3, 1), 0);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_PNM, &o, 1, 0), 1);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_TXT, &o, 1, 0), 1);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_TXT, &o, 2, 1), 0);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_TXT, NULL, 1, 1), 1);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_PNG, &o, 3, 1), 0); /* cnf_png_writer */
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_WEBP, &o, 3, 1), 0);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_BMP, &o, 3, 1), 0);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_TGA, &o, 3, 1), 0);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_JSON, &o, 1, 1), 0);
    CHECK_EQ_INT(cnf_row_writer_streams(CNF_OUT_NONE, &o, 1, 1), 0);
}

/* Open refuses (before writing a byte) what cnf_encode refuses, alike. */
static void open_refuses_what_cnf_encode_refuses_with_the_same_message(void)
{
    static const struct {
        cnf_output_format f;
        int w, h, c, a, depth, quality;
    } BAD[] = {
        {CNF_OUT_PNM, 4, 4, 2, 1, 8, -1},          /* alpha */
        {CNF_OUT_JPG, 70000, 2, 1, 0, 8, -1},      /* too wide */
        {CNF_OUT_JPG, 4, 4, 3, 0, 16, -1},         /* 16-bit */
        {CNF_OUT_PNM, 4, 4, 1, 0, CNF_DEPTH_FLOAT, -1},
        {CNF_OUT_TIFF, 4, 4, 2, 0, 8, -1},         /* two colours */
        {CNF_OUT_TIFF, 4, 4, 5, 1, CNF_DEPTH_FLOAT, -1}, /* five channels */
        {CNF_OUT_JPG, 4, 4, 1, 0, 8, 0},           /* quality */
        {CNF_OUT_TIFF, 4, 4, 1, 0, 12, -1},        /* depth */
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        cnf_image img = t_image(BAD[i].w, BAD[i].h, BAD[i].c, BAD[i].a, NULL);
        cnf_encode_opts o;
        cnf_error e1, e2;
        unsigned char *out = NULL;
        size_t len;
        cnf_row_writer *w = (cnf_row_writer *)&len;
        int fd = scratch_fd();
        cnf_status s1, s2;
        memset(img.data, 0, sizeof(float) * (size_t)BAD[i].w * BAD[i].h * BAD[i].c);
        cnf_encode_opts_init(&o);
        o.depth = BAD[i].depth;
        o.quality = BAD[i].quality;
        s1 = cnf_encode(&img, BAD[i].f, &o, &out, &len, NULL, &e1);
        s2 = cnf_row_writer_open(&w, BAD[i].f, BAD[i].w, BAD[i].h, BAD[i].c, BAD[i].a, &o, fd,
                                 &e2);
        CHECK(s1 != CNF_OK);
        CHECK_EQ_INT(s2, s1);
        CHECK(strcmp(e1.msg, e2.msg) == 0);
        if (strcmp(e1.msg, e2.msg) != 0)
            fprintf(stderr, "  case %zu: '%s' vs '%s'\n", i, e2.msg, e1.msg);
        CHECK(w == NULL);
        CHECK_EQ_INT(lseek(fd, 0, SEEK_END), 0);
        free(out);
        close(fd);
        cnf_image_free(&img);
    }
}

static void rows_must_be_all_there_and_no_more(void)
{
    float v[6] = {1, 2, 3, 4, 5, 6};
    const float *rows[3] = {v, v + 2, v + 4};
    cnf_row_writer *w;
    cnf_error e;
    int fd = scratch_fd();
    CHECK_EQ_INT(cnf_row_writer_open(&w, CNF_OUT_PNM, 2, 2, 1, 0, NULL, fd, &e), CNF_OK);
    CHECK_EQ_INT(cnf_row_writer_rows(w, rows, 3, NULL, &e), CNF_E_USAGE);
    CHECK_STR_CONTAINS(e.msg, "3 more rows: the image has 2, 0 written");
    CHECK_EQ_INT(cnf_row_writer_rows(w, rows, 1, NULL, &e), CNF_OK);
    CHECK_EQ_INT(cnf_row_writer_finish(w, &e), CNF_E_USAGE);
    CHECK_STR_CONTAINS(e.msg, "1 of the image's 2 rows were written");
    cnf_row_writer_free(w);
    cnf_row_writer_free(NULL);
    close(fd);
}

/* A full disk: the write error with its errno, for the caller to name. */
static void a_failed_write_is_an_io_error_with_its_errno(void)
{
    int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
    cnf_image img = random_image(600, 400, 3, 0, 3);
    const float *rows[3 * 400];
    cnf_row_writer *w = NULL;
    cnf_error e;
    cnf_status st;
    if (fd < 0) {
        printf("(no /dev/full: skipped)\n");
        cnf_image_free(&img);
        return;
    }
    for (int i = 0; i < 400; i++)
        for (int p = 0; p < 3; p++)
            rows[i * 3 + p] = cnf_image_plane(&img, p) + (size_t)i * 600;
    memset(&e, 0, sizeof e);
    st = cnf_row_writer_open(&w, CNF_OUT_JPG, 600, 400, 3, 0, NULL, fd, &e);
    if (st == CNF_OK)
        st = cnf_row_writer_rows(w, rows, 400, NULL, &e);
    if (st == CNF_OK)
        st = cnf_row_writer_finish(w, &e);
    CHECK_EQ_INT(st, CNF_E_IO);
    CHECK_EQ_INT(e.sys_errno, ENOSPC);
    CHECK_STR_CONTAINS(e.msg, "write error");
    cnf_row_writer_free(w);
    w = NULL;
    /* PGM/PPM writes its header at once */
    memset(&e, 0, sizeof e);
    CHECK_EQ_INT(cnf_row_writer_open(&w, CNF_OUT_PNM, 600, 400, 3, 0, NULL, fd, &e), CNF_E_IO);
    CHECK_EQ_INT(e.sys_errno, ENOSPC);
    CHECK(w == NULL);
    close(fd);
    cnf_image_free(&img);
}

int main(void)
{
    RUN(every_streamed_format_gives_the_bytes_cnf_encode_gives);
    RUN(exact_values_range_and_count_go_to_stats);
    RUN(a_non_finite_value_met_mid_stream_is_refused_naming_its_place);
    RUN(streams_says_which_formats_are_written_by_rows);
    RUN(open_refuses_what_cnf_encode_refuses_with_the_same_message);
    RUN(rows_must_be_all_there_and_no_more);
    RUN(a_failed_write_is_an_io_error_with_its_errno);
    return t_finish("test_row_writer");
}
