/* bench_core.c - convolution core alone (no codec): median time and Mpix/s per kernel and thread count.
 *
 * Usage: bench_core [WIDTH HEIGHT [RUNS [--u8-only] [KERNEL...]]]
 * (default 5312 2988 5 and the kernels below: the 16 MP photo's size)
 * The image holds 8-bit RGB values (synthetic); each kernel runs RUNS times per thread
 * count, by the fast path and by the portable path (--portable), and the medians are
 * printed; then, for a kernel the 8-bit lane takes (cnf_u8_conv), the same values as
 * interleaved 8-bit RGB rows to 8-bit rows (map clamp, zero border): path "u8"
 * (--u8-only: that row alone, for quick alternation with core_opencv.py).
 * Figures, never assertions: this machine is shared and noisy.  Compare with
 * bench/core_opencv.py (OpenCV filter2D on the same size, in-process, 8-bit to 8-bit).
 */
#define _POSIX_C_SOURCE 200809L
#include "cnnfilter.h"
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int main(int argc, char **argv)
{
    int w = argc > 2 ? atoi(argv[1]) : 5312, h = argc > 2 ? atoi(argv[2]) : 2988;
    int runs = argc > 3 ? atoi(argv[3]) : 5, u8_only = 0;
    const char *defaults[] = {"sobel_v", "gaussian", "box:15", "line_diag:25", "line_v:25",
                              "laplacian", "sharpen", "box:5", "gaussian:5"};
    const char *const *specs = defaults;
    size_t n_specs = sizeof defaults / sizeof defaults[0];
    cnf_image img;
    unsigned char *img8;
    cnf_error e;
#if defined(__GLIBC__)
    /* Keep freed result images in the heap: the runs time the convolution,
     * not the kernel zeroing 190 MB of fresh pages each time. */
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
    if (w < 1 || h < 1 || runs < 1 || runs > 101 ||
        cnf_image_alloc(&img, w, h, 3, 0, &e) != CNF_OK) {
        fprintf(stderr, "bench_core: bad size or out of memory\n");
        return 2;
    }
    if (argc > 4 && strcmp(argv[4], "--u8-only") == 0) {
        u8_only = 1;
        argv++;
        argc--;
    }
    if (argc > 4) {
        specs = (const char *const *)(argv + 4);
        n_specs = (size_t)(argc - 4);
    }
    img8 = malloc((size_t)w * h * 3);
    if (!img8)
        return 2;
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
        img.data[i] = (float)(((i * 2654435761u) >> 24) & 255);
    /* the same values, interleaved: plane c of pixel p is value c * w * h + p */
    for (size_t c = 0; c < 3; c++)
        for (size_t i = 0; i < (size_t)w * h; i++)
            img8[i * 3 + c] = (unsigned char)img.data[c * (size_t)w * h + i];
    printf("convolution core, %dx%d RGB (%.1f MP), median of %d runs\n", w, h, w * h / 1e6, runs);
    printf("%-14s %-9s %9s %9s %9s %9s\n", "kernel", "path", "1 thr s", "Mpix/s", "2 thr s",
           "Mpix/s");
    for (size_t s = 0; s < n_specs; s++) {
        cnf_kernel *k = NULL;
        const cnf_kernel *ks[1];
        cnf_layer L;
        if (cnf_kernel_parse(specs[s], "--kernel", &k, &e) != CNF_OK)
            return 2;
        ks[0] = k;
        cnf_layer_init(&L);
        L.kernels = ks;
        L.n_kernels = 1;
        for (int portable = 0; !u8_only && portable < 2; portable++) {
            cnf_plan_limits lim = {0, portable, 0, 0};
            cnf_plan *p = NULL;
            double med[2];
            if (cnf_plan_create(&L, w, h, 3, 0, &lim, &p, &e) != CNF_OK)
                return 2;
            for (int t = 0; t < 2; t++) {
                double times[101];
                for (int r = 0; r < runs; r++) {
                    cnf_image out;
                    double t0 = bench_now();
                    if (cnf_plan_run(p, &img, t + 1, &out, &e) != CNF_OK)
                        return 2;
                    times[r] = bench_now() - t0;
                    cnf_image_free(&out);
                }
                med[t] = bench_median(times, runs);
            }
            printf("%-14s %-9s %9.3f %9.1f %9.3f %9.1f\n", specs[s],
                   portable ? "portable" : "fast", med[0], w * h / 1e6 / med[0], med[1],
                   w * h / 1e6 / med[1]);
            fflush(stdout);
            cnf_plan_free(p);
        }
        {
            cnf_u8_conv *u8 = NULL;
            double med[2];
            size_t stride = (size_t)w * 3;
            if (cnf_u8_conv_create(k, 0, CNF_BORDER_ZERO, CNF_MAP_CLAMP, w, 3, 0, &u8, &e) !=
                CNF_OK)
                return 2;
            for (int t = 0; u8 && t < 2; t++) {
                double times[101];
                for (int r = 0; r < runs; r++) {
                    unsigned char *out = malloc(stride * (size_t)h);
                    double t0 = bench_now();
                    if (!out || cnf_u8_conv_image(u8, img8, stride, h, out, stride, t + 1, &e) !=
                                    CNF_OK)
                        return 2;
                    times[r] = bench_now() - t0;
                    free(out);
                }
                med[t] = bench_median(times, runs);
            }
            if (u8)
                printf("%-14s %-9s %9.3f %9.1f %9.3f %9.1f   (%s)\n", specs[s], "u8", med[0],
                       w * h / 1e6 / med[0], med[1], w * h / 1e6 / med[1], cnf_u8_conv_path(u8));
            fflush(stdout);
            cnf_u8_conv_free(u8);
        }
        cnf_kernel_free(k);
    }
    cnf_image_free(&img);
    free(img8);
    return 0;
}
