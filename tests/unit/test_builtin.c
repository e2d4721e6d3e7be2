/* test_builtin.c - the built-in kernels: one read-only table for all threads; constructors. */
#include "test_util.h"

#include "../../src/lib/builtin.h"

#include <pthread.h>

/* The table's names, in order: `cnnfilter kernels` prints them so. */
static const char *const NAMES[] = {
    "identity",  "sobel_v",  "sobel_h",   "sobel",    "prewitt_v", "prewitt_h",
    "prewitt",   "scharr_v", "scharr_h",  "scharr",   "edge_v",    "edge_h",
    "laplacian", "laplacian8", "sharpen", "emboss",   "box",       "gaussian",
    "line_v",    "line_h",   "line_diag", "line_anti", "frame"};
#define N_NAMES (sizeof NAMES / sizeof NAMES[0])

static int same_table(const cnf_builtin_info *b, size_t n)
{
    if (n != N_NAMES)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!b[i].name || strcmp(b[i].name, NAMES[i]) != 0 || !b[i].usage ||
            strncmp(b[i].usage, NAMES[i], strlen(NAMES[i])) != 0 || !b[i].description ||
            !b[i].description[0])
            return 0;
    return 1;
}

static void the_table_is_the_same_on_every_call(void)
{
    size_t n1 = 0, n2 = 0;
    const cnf_builtin_info *a = cnf_builtins(&n1);
    const cnf_builtin_info *b = cnf_builtins(&n2);
    CHECK(a == b);
    CHECK_EQ_INT(n1, N_NAMES);
    CHECK_EQ_INT(n2, N_NAMES);
    CHECK(same_table(a, n1));
    CHECK(strcmp(a[16].usage, "box[:N]") == 0);
    CHECK(strcmp(a[17].usage, "gaussian[:N[:SIGMA]]") == 0);
    CHECK(strcmp(a[0].description, "3x3, 1 in the centre: output = input") == 0);
}

#define THREADS 8
#define CALLS 2000

typedef struct run {
    pthread_barrier_t *start;
    const cnf_builtin_info *first;
    int all_same; /* every call gave `first` and the expected table */
} run;

static void *call_many(void *arg)
{
    run *r = arg;
    size_t n = 0;
    pthread_barrier_wait(r->start); /* every thread makes its first call at once */
    r->first = cnf_builtins(&n);
    r->all_same = same_table(r->first, n);
    for (int i = 0; i < CALLS; i++) {
        const cnf_builtin_info *b = cnf_builtins(&n);
        if (b != r->first || n != N_NAMES || strcmp(b[i % N_NAMES].name, NAMES[i % N_NAMES]))
            r->all_same = 0;
    }
    return NULL;
}

static void many_threads_may_call_it_at_once(void)
{
    /* The test program's first call is here, in the threads: nothing above ran first. */
    pthread_t t[THREADS];
    run r[THREADS];
    pthread_barrier_t start;
    size_t n = 0;
    pthread_barrier_init(&start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        r[i].start = &start;
        r[i].first = NULL;
        r[i].all_same = 0;
        CHECK_EQ_INT(pthread_create(&t[i], NULL, call_many, &r[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < THREADS; i++) {
        CHECK(r[i].all_same);
        CHECK(r[i].first == cnf_builtins(&n));
    }
}

static void every_built_in_but_the_composites_builds(void)
{
    for (size_t i = 0; i < N_NAMES; i++) {
        cnf_kernel *k = NULL;
        cnf_error e;
        const char *v, *h;
        cnf_status st = cnf__builtin_kernel(NAMES[i], "label", &k, &e);
        CHECK(cnf__builtin_named(NAMES[i]));
        if (cnf_kernel_composite(NAMES[i], &v, &h)) {
            CHECK_EQ_INT(st, CNF_E_USAGE);
            CHECK_STR_CONTAINS(e.msg, "is a combination of two kernels");
        } else {
            CHECK_EQ_INT(st, CNF_OK);
            CHECK(k && cnf_kernel_width(k) == 3 && cnf_kernel_height(k) == 3);
            CHECK(k && strcmp(cnf_kernel_name(k), NAMES[i]) == 0);
        }
        cnf_kernel_free(k);
    }
    CHECK(cnf__builtin_named("box:7"));
    CHECK(!cnf__builtin_named("boxx"));
    CHECK(!cnf__builtin_named("bo"));
}

static void sized_constructors_follow_their_rules(void)
{
    cnf_kernel *k = NULL;
    cnf_error e;
    const double *w;
    CHECK_EQ_INT(cnf__builtin_kernel("frame:1", "label", &k, &e), CNF_OK);
    CHECK(k && cnf_kernel_width(k) == 1 && cnf_kernel_weights(k)[0] == 1 &&
          cnf_kernel_divisor(k) == 1);
    cnf_kernel_free(k);
    CHECK_EQ_INT(cnf__builtin_kernel("line_h:4", "label", &k, &e), CNF_OK);
    w = cnf_kernel_weights(k);
    /* Row floor(4 / 2) = 2. */
    CHECK(w[8] == 1 && w[11] == 1 && w[4] == 0 && w[12] == 0 && cnf_kernel_divisor(k) == 4);
    CHECK(strcmp(cnf_kernel_name(k), "line_h-4") == 0);
    cnf_kernel_free(k);
    CHECK_EQ_INT(cnf__builtin_kernel("gaussian:4", "label", &k, &e), CNF_OK);
    w = cnf_kernel_weights(k);
    /* Binomial row 1 3 3 1, squared; divisor 4^3. */
    CHECK(w[0] == 1 && w[1] == 3 && w[5] == 9 && cnf_kernel_divisor(k) == 64);
    cnf_kernel_free(k);
    CHECK_EQ_INT(cnf__builtin_kernel("box:255", "label", &k, &e), CNF_OK);
    CHECK(k && cnf_kernel_width(k) == 255 && cnf_kernel_divisor(k) == 255.0 * 255);
    cnf_kernel_free(k);
}

/* gaussian::SIGMA: side 2*ceil(3*sigma)+1, the weights of gaussian:N:SIGMA with that N
 * (the same doubles), symmetric, summing to 1, the centre the largest. */
static void a_gaussian_by_sigma_alone_sizes_itself(void)
{
    static const struct {
        const char *spec, *sized;
        int side;
    } T[] = {
        {"gaussian::5", "gaussian:31:5", 31},     {"gaussian::1", "gaussian:7:1", 7},
        {"gaussian::0.1", "gaussian:3:0.1", 3},   {"gaussian::0.34", "gaussian:5:0.34", 5},
        {"gaussian::2.5", "gaussian:17:2.5", 17}, {"gaussian::42.3", "gaussian:255:42.3", 255},
        {"gaussian::1e-9", "gaussian:3:1e-9", 3},
    };
    for (size_t t = 0; t < sizeof T / sizeof T[0]; t++) {
        cnf_kernel *k = NULL, *ks = NULL;
        cnf_error e;
        int n;
        double sum = 0;
        const double *w, *ws;
        CHECK_EQ_INT(cnf__builtin_kernel(T[t].spec, "label", &k, &e), CNF_OK);
        CHECK_EQ_INT(cnf__builtin_kernel(T[t].sized, "label", &ks, &e), CNF_OK);
        if (!k || !ks) {
            cnf_kernel_free(k);
            cnf_kernel_free(ks);
            continue;
        }
        n = cnf_kernel_width(k);
        CHECK_EQ_INT(n, T[t].side);
        CHECK_EQ_INT(cnf_kernel_height(k), T[t].side);
        CHECK(cnf_kernel_divisor(k) == 1);
        w = cnf_kernel_weights(k);
        ws = cnf_kernel_weights(ks);
        CHECK(cnf_kernel_width(ks) == n &&
              memcmp(w, ws, sizeof(double) * (size_t)n * (size_t)n) == 0);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double v = w[i * n + j];
                sum += v;
                CHECK(v == w[j * n + i] && v == w[(n - 1 - i) * n + j] &&
                      v == w[i * n + (n - 1 - j)]);
                CHECK(v <= w[(n / 2) * n + n / 2]);
            }
        CHECK(fabs(sum - 1) < 1e-12);
        cnf_kernel_free(k);
        cnf_kernel_free(ks);
    }
    /* sigma 5: 31x31, and the centre weight is 1 / (sum over the grid), by hand */
    {
        cnf_kernel *k = NULL;
        cnf_error e;
        double g = 0;
        for (int i = -15; i <= 15; i++)
            for (int j = -15; j <= 15; j++)
                g += exp(-(i * i + j * j) / 50.0);
        CHECK_EQ_INT(cnf__builtin_kernel("gaussian::5", "label", &k, &e), CNF_OK);
        CHECK(k && fabs(cnf_kernel_weights(k)[15 * 31 + 15] - 1 / g) < 1e-15);
        CHECK(k && strcmp(cnf_kernel_name(k), "gaussian--5") == 0);
        cnf_kernel_free(k);
    }
}

static void bad_sizes_and_sigmas_name_the_label(void)
{
    static const struct {
        const char *spec;
        const char *msg;
    } T[] = {
        {"box:0", "size of 'box' must be an integer from 1 to 255, not '0'"},
        {"box:256", "size of 'box' must be an integer from 1 to 255, not '256'"},
        {"box:", "size of 'box' must be an integer from 1 to 255, not ''"},
        {"box:3:1", "kernel 'box' takes no sigma"},
        {"sobel_v:5", "kernel 'sobel_v' takes no size"},
        {"gaussian:3: 1", "sigma of 'gaussian' must be a positive number, not ' 1'"},
        {"gaussian:3:0", "sigma of 'gaussian' must be a positive number, not '0'"},
        {"gaussian:3:", "sigma of 'gaussian' must be a positive number, not ''"},
        {"nosuch", "'nosuch' is not a built-in kernel"},
        {"gaussian::", "sigma of 'gaussian' must be a positive number, not ''"},
        {"gaussian::-2", "sigma of 'gaussian' must be a positive number, not '-2'"},
        {"gaussian:", "size of 'gaussian' must be an integer from 1 to 255, not ''"},
        {"box::3", "size of 'box' must be an integer from 1 to 255, not ''"},
        {"gaussian::42.34",
         "sigma 42.34 of 'gaussian' needs a kernel of side 2*ceil(3*sigma)+1 = 257, over the "
         "limit of 255: sigma at most 42.33 without a size, or give one (gaussian:N:SIGMA)"},
        {"gaussian::1e300",
         "sigma 1e300 of 'gaussian' needs a kernel of side 2*ceil(3*sigma)+1 = 6e+300, over "
         "the limit of 255: sigma at most 42.33 without a size, or give one (gaussian:N:SIGMA)"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        cnf_kernel *k = NULL;
        cnf_error e;
        CHECK_EQ_INT(cnf__builtin_kernel(T[i].spec, "label", &k, &e), CNF_E_USAGE);
        CHECK(k == NULL);
        CHECK(strcmp(e.where, "label") == 0);
        if (strcmp(e.msg, T[i].msg) != 0)
            fprintf(stderr, "'%s': %s\n", T[i].spec, e.msg);
        CHECK(strcmp(e.msg, T[i].msg) == 0);
    }
}

int main(void)
{
    RUN(many_threads_may_call_it_at_once);
    RUN(the_table_is_the_same_on_every_call);
    RUN(every_built_in_but_the_composites_builds);
    RUN(sized_constructors_follow_their_rules);
    RUN(a_gaussian_by_sigma_alone_sizes_itself);
    RUN(bad_sizes_and_sigmas_name_the_label);
    return t_finish("test_builtin");
}
