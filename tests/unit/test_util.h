/* test_util.h - a tiny assertion helper for the unit tests: one program per module. */
#ifndef CNF_TEST_UTIL_H
#define CNF_TEST_UTIL_H

#include "cnnfilter.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failures, t_checks;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        t_checks++;                                                                            \
        if (!(cond)) {                                                                         \
            t_failures++;                                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                                      \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                     \
    do {                                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                  \
        t_checks++;                                                                            \
        if (va_ != vb_) {                                                                      \
            t_failures++;                                                                      \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__,    \
                    #a, va_, #b, vb_);                                                         \
        }                                                                                      \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                        \
    do {                                                                                       \
        t_checks++;                                                                            \
        if (!strstr((hay), (needle))) {                                                        \
            t_failures++;                                                                      \
            fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,     \
                    (hay), (needle));                                                          \
        }                                                                                      \
    } while (0)

/* t_xorshift - advance the xorshift state *s and return it: the tests'
 * reproducible random numbers (each test file keeps its own seed). */
static inline uint64_t t_xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Run one sentence-named test. */
#define RUN(fn)                                                                                \
    do {                                                                                       \
        int before_ = t_failures;                                                              \
        fn();                                                                                  \
        printf("%s %s\n", t_failures == before_ ? "ok  " : "FAIL", #fn);                       \
    } while (0)

/* t_remove_tree - remove a test's scratch folder (and all in it). */
static inline void t_remove_tree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static inline int t_finish(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, t_checks, t_failures);
    return t_failures ? 1 : 0;
}

/* Build an image from rows of floats: channels planes of h x w. */
static inline cnf_image t_image(int w, int h, int c, int alpha, const float *v)
{
    cnf_image img;
    if (cnf_image_alloc(&img, w, h, c, alpha, NULL) != CNF_OK)
        abort();
    if (v)
        memcpy(img.data, v, sizeof(float) * (size_t)w * h * c);
    return img;
}

/* Parse a kernel spec or abort. */
static inline cnf_kernel *t_kernel(const char *spec)
{
    cnf_kernel *k = NULL;
    cnf_error e;
    if (cnf_kernel_parse(spec, "--kernel", &k, &e) != CNF_OK) {
        fprintf(stderr, "kernel %s: %s\n", spec, e.msg);
        abort();
    }
    return k;
}

/* Run one layer on img with `threads`, return the result (caller frees). */
static inline cnf_status t_run(const cnf_layer *L, const cnf_image *img, int threads,
                               cnf_image *out, cnf_error *e)
{
    cnf_plan *p = NULL;
    cnf_status st = cnf_plan_create(L, img->width, img->height, img->channels, img->has_alpha,
                                    NULL, &p, e);
    if (st)
        return st;
    st = cnf_plan_run(p, img, threads, out, e);
    cnf_plan_free(p);
    return st;
}

/* Compare an image plane-by-plane against expected values, exactly. */
static inline int t_equal(const cnf_image *img, int w, int h, int c, const float *expect)
{
    if (img->width != w || img->height != h || img->channels != c) {
        fprintf(stderr, "shape %dx%dx%d, expected %dx%dx%d\n", img->channels, img->height,
                img->width, c, h, w);
        return 0;
    }
    for (size_t i = 0; i < (size_t)w * h * c; i++)
        if (img->data[i] != expect[i]) {
            fprintf(stderr, "value %zu is %.9g, expected %.9g\n", i, img->data[i], expect[i]);
            return 0;
        }
    return 1;
}

#endif
