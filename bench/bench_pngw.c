/* bench_pngw.c - the PNG writer alone: median seconds and bytes per level and thread count.
 *
 * Usage: bench_pngw [RUNS [LEVELS [FILE...]]]
 * (default 5, "0123456789", /tmp/b/photo.png and /tmp/b/out.png)
 * Each file is decoded once (8-bit; cnnfilter's own reader) and its rows are
 * written RUNS times per level with 1 and 2 compression threads, 64 rows per
 * call as the CLI does, to a callback that only counts bytes and keeps a
 * CRC, so the figures are the writer's (filter, deflate, chunks) and the
 * same bytes for both thread counts are checked as well.  Figures, never
 * assertions: this machine is shared and noisy.
 */
#define _POSIX_C_SOURCE 200809L
#include "cnnfilter.h"
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

typedef struct sink {
    size_t len;
    uLong crc;
} sink;

static int sink_write(void *ctx, const void *p, size_t n)
{
    sink *s = ctx;
    s->len += n;
    s->crc = crc32(s->crc, p, (uInt)n);
    return 0;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n)) != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        *len = (size_t)n;
    fclose(f);
    return buf;
}

static cnf_status write_png(const unsigned char *px, int w, int h, int comp, int level,
                            int threads, sink *s, cnf_error *e)
{
    cnf_png_writer *wr = NULL;
    size_t stride = (size_t)w * (size_t)comp;
    cnf_status st = cnf_png_writer_open(&wr, w, h, comp, 8, level, threads, NULL, sink_write, s,
                                        e);
    for (int y = 0; st == CNF_OK && y < h; y += 64)
        st = cnf_png_writer_rows(wr, px + (size_t)y * stride, stride, h - y < 64 ? h - y : 64, e);
    if (st == CNF_OK)
        st = cnf_png_writer_finish(wr, e);
    cnf_png_writer_free(wr);
    return st;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    const char *levels = argc > 2 ? argv[2] : "0123456789";
    const char *defaults[] = {"/tmp/b/photo.png", "/tmp/b/out.png"};
    const char *const *files = argc > 3 ? (const char *const *)(argv + 3) : defaults;
    int n_files = argc > 3 ? argc - 3 : 2;
    if (runs < 1 || runs > 101) {
        fprintf(stderr, "bench_pngw: RUNS must be 1..101\n");
        return 2;
    }
    printf("| file | level | threads | median s | MB/s (raw) | bytes |\n");
    printf("|---|---|---|---|---|---|\n");
    for (int f = 0; f < n_files; f++) {
        size_t len = 0;
        unsigned char *buf = read_file(files[f], &len), *px;
        cnf_image img;
        cnf_error e;
        size_t n;
        if (!buf || cnf_decode(buf, len, CNF_IN_AUTO, files[f], CNF_DEFAULT_MAX_PIXELS, &img, &e)) {
            fprintf(stderr, "bench_pngw: cannot read '%s'\n", files[f]);
            free(buf);
            return 1;
        }
        free(buf);
        n = (size_t)img.width * (size_t)img.height;
        px = malloc(n * (size_t)img.channels);
        if (!px) {
            cnf_image_free(&img);
            return 1;
        }
        for (int c = 0; c < img.channels; c++) {
            const float *p = cnf_image_plane(&img, c);
            for (size_t i = 0; i < n; i++)
                px[i * (size_t)img.channels + (size_t)c] = (unsigned char)p[i];
        }
        for (const char *l = levels; *l; l++) {
            int level = *l - '0';
            uLong crc1 = 0;
            if (level < 0 || level > 9)
                continue;
            for (int threads = 1; threads <= 2; threads++) {
                double t[101];
                sink s = {0, 0};
                for (int r = 0; r < runs; r++) {
                    double t0 = bench_now();
                    s.len = 0;
                    s.crc = crc32(0, NULL, 0);
                    if (write_png(px, img.width, img.height, img.channels, level, threads, &s,
                                  &e)) {
                        fprintf(stderr, "bench_pngw: %s\n", e.msg);
                        return 1;
                    }
                    t[r] = bench_now() - t0;
                }
                bench_median(t, runs);
                if (threads == 1)
                    crc1 = s.crc;
                printf("| %s | %d | %d | %.3f | %.0f | %zu%s |\n", files[f], level, threads,
                       t[runs / 2], (double)n * img.channels / t[runs / 2] / 1e6, s.len,
                       threads > 1 && s.crc != crc1 ? " (DIFFERENT BYTES)" : "");
                fflush(stdout);
            }
        }
        free(px);
        cnf_image_free(&img);
    }
    return 0;
}
