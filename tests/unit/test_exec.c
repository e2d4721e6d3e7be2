/* test_exec.c - the executor: streamed equals whole, rows once, no stale ring rows, failures. */
#include "test_util.h"

#include "../../src/lib/plan.h"

#include <stdint.h>

static const int THREADS[] = {1, 2, 3, 8};
#define N_THREADS ((int)(sizeof THREADS / sizeof THREADS[0]))

#include "test_stream.h"

/* ------------------------------------------------------------ random plans */

static cnf_image random_image(int w, int h, int c, int alpha)
{
    cnf_image img = t_image(w, h, c, alpha, NULL);
    int fractional = rnd() % 5 == 0;
    for (size_t i = 0; i < (size_t)w * h * c; i++)
        img.data[i] = fractional ? (float)(rnd() % 100000) / 391.0f : (float)(rnd() % 256);
    return img;
}

/* A kernel spec: a built-in that takes a fast loop, or an inline matrix of
 * integers (fast path) or fractions (double path). */
static void random_kernel(char *spec, size_t size, int kh, int kw)
{
    static const char *const builtins[] = {"box:5", "line_h:9", "line_v:7", "sobel_v",
                                           "gaussian:5", "laplacian", "box:3"};
    int kind = rnd_in(0, 9), fractional = kind == 9;
    size_t n = 0;
    if (kind < 7) {
        snprintf(spec, size, "%s", builtins[kind]);
        return;
    }
    n += (size_t)snprintf(spec + n, size - n, "[");
    for (int i = 0; i < kh; i++) {
        n += (size_t)snprintf(spec + n, size - n, "%s[", i ? "," : "");
        for (int j = 0; j < kw; j++) {
            int v = rnd_in(-3, 3);
            if (i == kh / 2 && j == kw / 2 && v == 0)
                v = 2; /* never all zero */
            if (fractional)
                n += (size_t)snprintf(spec + n, size - n, "%s%g", j ? "," : "", v * 0.37);
            else
                n += (size_t)snprintf(spec + n, size - n, "%s%d", j ? "," : "", v);
        }
        n += (size_t)snprintf(spec + n, size - n, "]");
    }
    snprintf(spec + n, size - n, "]");
}

/* The runs of p agree for any thread count, whole and streamed, with bands
 * of a random height of 1 to 40 rows, and with the plan's own bands (one
 * for these small images): the band height never changes a value. */
static int runs_match_with_any_band(cnf_plan *p, const cnf_image *img)
{
    cnf_image natural, out;
    int ok;
    if (cnf_plan_run(p, img, 1, &natural, NULL) != CNF_OK)
        return 0;
    p->band_rows = rnd_in(1, 40);
    ok = all_runs_match(p, img) && cnf_plan_run(p, img, 2, &out, NULL) == CNF_OK;
    if (ok) {
        ok = same_image(&out, &natural);
        cnf_image_free(&out);
    }
    cnf_image_free(&natural);
    return ok;
}

/* One random layer: a bank of 1-3 kernels with random geometry, combine,
 * activation and pooling, on a random input with or without alpha.
 * Returns 1 if it planned (some random settings leave no output). */
static int random_layer_case(void)
{
    char specs[3][256];
    cnf_kernel *k[3] = {NULL, NULL, NULL};
    const cnf_kernel *ks[3];
    cnf_layer L;
    cnf_plan *p = NULL;
    int kh = rnd_in(1, 5), kw = rnd_in(1, 5), planned;
    int c = rnd() % 2 ? 3 : 1, alpha = rnd() % 3 == 0;
    cnf_image img = random_image(rnd_in(1, 30), rnd_in(1, 110), c + alpha, alpha);
    cnf_layer_init(&L);
    L.n_kernels = rnd_in(1, 3);
    for (int i = 0; i < L.n_kernels; i++) {
        random_kernel(specs[i], sizeof specs[i], kh, kw);
        k[i] = t_kernel(specs[i]);
        ks[i] = k[i];
    }
    L.kernels = ks;
    L.padding = (cnf_padding_kind)rnd_in(0, 2);
    L.pad_h = rnd_in(0, 3);
    L.pad_w = rnd_in(0, 3);
    L.border = (cnf_border)rnd_in(0, 4);
    L.stride_y = rnd_in(1, 3);
    L.stride_x = rnd_in(1, 3);
    L.dilation = rnd_in(1, 3);
    L.flip = rnd() % 2;
    L.channels = (cnf_channels)rnd_in(0, 3);
    L.keep_alpha = rnd() % 2;
    if (rnd() % 4 == 0) {
        L.scale = 0.5;
        L.bias = 1.25;
    }
    L.combine = (cnf_combine)rnd_in(0, 3);
    L.activation = (cnf_activation)rnd_in(0, 5);
    L.pool = (cnf_pool)rnd_in(0, 3);
    L.pool_size = rnd_in(1, 3);
    L.pool_stride = rnd_in(0, 3);
    L.pool_padding = rnd_in(0, L.pool_size / 2);
    L.pool_ceil = rnd() % 2;
    planned = cnf_plan_create(&L, img.width, img.height, img.channels, img.has_alpha, NULL, &p,
                              NULL) == CNF_OK;
    if (planned && !runs_match_with_any_band(p, &img)) {
        fprintf(stderr, "layer case differs: %s (x%d), %dx%dx%d, padding %d, border %d, stride "
                        "%d,%d, dilation %d, channels %d, combine %d, pool %d/%d/%d/%d/%d\n",
                specs[0], L.n_kernels, img.channels, img.height, img.width, L.padding, L.border,
                L.stride_y, L.stride_x, L.dilation, L.channels, L.combine, L.pool, L.pool_size,
                L.pool_stride, L.pool_padding, L.pool_ceil);
        t_failures++;
    }
    cnf_plan_free(p);
    for (int i = 0; i < L.n_kernels; i++)
        cnf_kernel_free(k[i]);
    cnf_image_free(&img);
    return planned;
}

/* Appends a random pipeline layer's JSON to buf. */
static size_t random_pipeline_layer(char *buf, size_t size)
{
    static const char *const acts[] = {"relu", "abs", "sigmoid", "tanh", "leaky_relu"};
    static const char *const pools[] = {"maxpool", "avgpool", "minpool"};
    static const char *const borders[] = {"zero", "replicate", "reflect", "mirror", "wrap"};
    static const char *const channels[] = {"sum", "auto", "rgb", "gray"};
    static const char *const modes[] = {"magnitude", "max", "sum"};
    int kind = rnd_in(0, 5);
    if (kind <= 2) {
        char specs[3][256];
        int n = rnd_in(1, 3), kh = rnd_in(1, 4), kw = rnd_in(1, 4);
        char padding[16];
        for (int i = 0; i < n; i++)
            random_kernel(specs[i], sizeof specs[i], kh, kw);
        if (rnd() % 2)
            snprintf(padding, sizeof padding, "\"same\"");
        else if (rnd() % 2)
            snprintf(padding, sizeof padding, "\"valid\"");
        else
            snprintf(padding, sizeof padding, "%d", rnd_in(0, 2));
        return (size_t)snprintf(buf, size,
                                "{\"type\": \"conv\", \"kernels\": [\"%s\"%s%s%s%s%s%s], "
                                "\"padding\": %s, \"stride\": [%d, %d], \"dilation\": %d, "
                                "\"border\": \"%s\", \"channels\": \"%s\"}",
                                specs[0], n > 1 ? ", \"" : "", n > 1 ? specs[1] : "",
                                n > 1 ? "\"" : "", n > 2 ? ", \"" : "", n > 2 ? specs[2] : "",
                                n > 2 ? "\"" : "", padding, rnd_in(1, 3), rnd_in(1, 3),
                                rnd_in(1, 2), borders[rnd_in(0, 4)], channels[rnd_in(0, 3)]);
    }
    if (kind == 3)
        return (size_t)snprintf(buf, size, "{\"type\": \"%s\"}", acts[rnd_in(0, 4)]);
    if (kind == 4) {
        int s = rnd_in(1, 3);
        return (size_t)snprintf(buf, size,
                                "{\"type\": \"%s\", \"size\": %d, \"stride\": %d, \"padding\": "
                                "%d, \"ceil\": %s}",
                                pools[rnd_in(0, 2)], s, rnd_in(1, 3), rnd_in(0, s / 2),
                                rnd() % 2 ? "true" : "false");
    }
    return (size_t)snprintf(buf, size, "{\"type\": \"combine\", \"mode\": \"%s\"}",
                            modes[rnd_in(0, 2)]);
}

/* A random pipeline of 2-4 layers; returns 1 if it parsed and planned. */
static int random_pipeline_case(void)
{
    char text[4096];
    size_t n = 0;
    int layers = rnd_in(2, 4), planned = 0;
    int c = rnd() % 2 ? 3 : 1, alpha = rnd() % 4 == 0;
    cnf_image img = random_image(rnd_in(1, 24), rnd_in(1, 140), c + alpha, alpha);
    cnf_pipeline *pl = NULL;
    cnf_plan *p = NULL;
    n += (size_t)snprintf(text + n, sizeof text - n, "{\"layers\": [");
    for (int i = 0; i < layers; i++) {
        if (i)
            n += (size_t)snprintf(text + n, sizeof text - n, ", ");
        n += random_pipeline_layer(text + n, sizeof text - n);
    }
    n += (size_t)snprintf(text + n, sizeof text - n, "]}");
    if (cnf_pipeline_parse(text, n, "random.json", NULL, &pl, NULL) == CNF_OK &&
        cnf_plan_create_pipeline(pl, img.width, img.height, img.channels, img.has_alpha, NULL, &p,
                                 NULL) == CNF_OK) {
        planned = 1;
        if (!runs_match_with_any_band(p, &img)) {
            fprintf(stderr, "pipeline case differs on %dx%dx%d: %s\n", img.channels, img.height,
                    img.width, text);
            t_failures++;
        }
    }
    cnf_plan_free(p);
    cnf_pipeline_free(pl);
    cnf_image_free(&img);
    return planned;
}

static void random_layers_give_the_same_bits_streamed_and_whole_for_any_threads(void)
{
    int planned = 0;
    for (int tries = 0; planned < 60 && tries < 2000; tries++)
        planned += random_layer_case();
    CHECK_EQ_INT(planned, 60);
}

static void random_pipelines_give_the_same_bits_streamed_and_whole_for_any_threads(void)
{
    int planned = 0;
    for (int tries = 0; planned < 60 && tries < 2000; tries++)
        planned += random_pipeline_case();
    CHECK_EQ_INT(planned, 60);
}

/* ------------------------------------------------ probes: no stale ring row
 *
 * A probe stage reads rows whose every value says which row it is (stamp)
 * and checks each row it was given, before and after computing, so a row
 * read from a ring slot that already holds a later row (or is being
 * refilled meanwhile) is counted.  It writes stamped rows for the next
 * probe.  Probes with wide reaches, strides and whole-image needs make the
 * rings of every shape. */

static float stamp(int p, int y, int x) { return (float)(y * 64 + p * 8 + x % 8); }

typedef struct probe {
    int before, after, stride, whole;
    int bad; /* rows found holding something else (atomic) */
} probe;

static void probe_need(const cnf_stage *s, int y0, int y1, int *lo, int *hi)
{
    const probe *pr = s->impl;
    long a = (long)y0 * pr->stride - pr->before, b = (long)(y1 - 1) * pr->stride + pr->after + 1;
    *lo = pr->whole || a < 0 ? 0 : (int)a;
    *hi = pr->whole || b > s->in.h ? s->in.h : (int)b;
}

static size_t probe_scratch(const cnf_stage *s, int rows)
{
    (void)s;
    return (size_t)rows; /* a byte per row, written */
}

static int stale_rows(const cnf_stage *s, const cnf_band *in, int lo, int hi)
{
    int bad = 0;
    for (int y = lo; y < hi; y++)
        for (int p = 0; p < s->in.c; p++) {
            const float *row = cnf__band_row(in, p, y);
            for (int x = 0; x < s->in.w; x++)
                if (row[x] != stamp(p, y, x)) {
                    bad++;
                    break;
                }
        }
    return bad;
}

static void probe_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0, int y1,
                      void *scratch)
{
    probe *pr = s->impl;
    int lo, hi, bad;
    probe_need(s, y0, y1, &lo, &hi);
    bad = stale_rows(s, in, lo, hi);
    memset(scratch, 1, (size_t)(y1 - y0));
    for (int y = y0; y < y1; y++)
        for (int p = 0; p < s->out.c; p++) {
            float *row = cnf__band_row(out, p, y);
            for (int x = 0; x < s->out.w; x++)
                row[x] = stamp(p, y, x);
        }
    bad += stale_rows(s, in, lo, hi);
    if (bad)
        __atomic_add_fetch(&pr->bad, bad, __ATOMIC_RELAXED);
}

static const cnf_stage_ops PROBE = {.need = probe_need, .scratch = probe_scratch,
                                    .run = probe_run};

static cnf_image stamped(int w, int h, int c)
{
    cnf_image img = t_image(w, h, c, 0, NULL);
    for (int p = 0; p < c; p++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                cnf_image_plane(&img, p)[(size_t)y * w + x] = stamp(p, y, x);
    return img;
}

/* A plan of n probes over a w x h x c input. */
static cnf_plan *probe_plan(probe *pr, int n, int w, int h, int c)
{
    cnf_shape sh = {w, h, c, 0};
    cnf_plan *p = NULL;
    if (cnf__plan_new(&sh, &p, NULL) != CNF_OK)
        abort();
    for (int i = 0; i < n; i++) {
        cnf_stage s;
        memset(&s, 0, sizeof s);
        s.ops = &PROBE;
        s.impl = &pr[i];
        s.in = sh;
        sh.h = (sh.h - 1) / pr[i].stride + 1;
        s.out = sh;
        if (cnf__plan_add_stage(p, &s, NULL) != CNF_OK)
            abort();
    }
    return p;
}

static void the_probe_counts_a_row_that_is_not_the_one_asked_for(void)
{
    probe pr = {1, 1, 1, 0, 0};
    cnf_image img = stamped(3, 4, 1), out = t_image(3, 4, 1, 0, NULL);
    cnf_plan *p = probe_plan(&pr, 1, 3, 4, 1);
    float *rows[4], *orows[4];
    cnf_band in = {rows, 1, 3, 0, 4}, ob = {orows, 1, 3, 0, 4};
    char scratch[4];
    for (int y = 0; y < 4; y++) {
        rows[y] = img.data + (size_t)y * 3;
        orows[y] = out.data + (size_t)y * 3;
    }
    p->stages[0].ops->run(&p->stages[0], &in, &ob, 0, 4, scratch);
    CHECK_EQ_INT(pr.bad, 0);
    rows[2] = rows[3]; /* slot of row 2 now holding row 3 */
    p->stages[0].ops->run(&p->stages[0], &in, &ob, 1, 2, scratch);
    CHECK_EQ_INT(pr.bad, 2); /* before and after */
    cnf_plan_free(p);
    cnf_image_free(&img);
    cnf_image_free(&out);
}

static void rings_never_hand_a_stage_a_row_after_its_slot_was_reused(void)
{
    int cases = 0, stale = 0, wrong = 0;
    for (int i = 0; i < 120; i++) {
        probe pr[4];
        int n = rnd_in(1, 4), w = rnd_in(1, 4), c = rnd_in(1, 3), h = rnd_in(1, 320);
        cnf_image img = stamped(w, h, c);
        cnf_plan *p;
        for (int k = 0; k < n; k++) {
            pr[k].before = rnd_in(0, 40);
            pr[k].after = rnd_in(0, 40);
            pr[k].stride = rnd_in(1, 3);
            pr[k].whole = rnd() % 10 == 0;
            pr[k].bad = 0;
        }
        p = probe_plan(pr, n, w, h, c);
        p->band_rows = rnd_in(1, 40); /* several bands, whatever the width */
        for (int t = 0; t < N_THREADS; t++) {
            cnf_image ref;
            int ow, oh, oc, oa;
            cnf_plan_output_shape(p, &ow, &oh, &oc, &oa);
            ref = stamped(ow, oh, oc);
            if (!stream_matches(p, &img, &ref, THREADS[t], 2 * rnd_in(0, 5) + 1, 0))
                wrong++;
            cnf_image_free(&ref);
            cases++;
        }
        for (int k = 0; k < n; k++)
            stale += pr[k].bad;
        cnf_plan_free(p);
        cnf_image_free(&img);
    }
    CHECK_EQ_INT(cases, 120 * N_THREADS);
    CHECK_EQ_INT(stale, 0);
    CHECK_EQ_INT(wrong, 0);
}

/* ------------------------------------------------------------------ failures */

/* A 3x3 box (same padding) then 2x2 max pooling on a gray w x h input. */
static cnf_plan *box_then_pool(int w, int h)
{
    cnf_kernel *k = t_kernel("box:3");
    const cnf_kernel *ks[1] = {k};
    cnf_layer L;
    cnf_plan *p = NULL;
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = 1;
    L.pool = CNF_POOL_MAX;
    if (cnf_plan_create(&L, w, h, 1, 0, NULL, &p, NULL) != CNF_OK)
        abort();
    cnf_kernel_free(k); /* the plan keeps what it needs of the kernel */
    return p;
}

/* The rows the sink got are right: the first c->next rows of ref. */
static int rows_so_far_match(const collect *c, const cnf_image *ref)
{
    for (int p = 0; p < ref->channels; p++)
        if (memcmp(cnf_image_plane(&c->img, p), cnf_image_plane(ref, p),
                   sizeof(float) * (size_t)c->next * ref->width) != 0)
            return 0;
    return 1;
}

static void a_reader_failing_mid_image_stops_the_run_with_its_error(void)
{
    const int fail_rows[] = {0, 37, 77, 149};
    cnf_image img = random_image(19, 150, 1, 0), ref;
    cnf_plan *p = box_then_pool(19, 150);
    CHECK_EQ_INT(cnf_plan_run(p, &img, 1, &ref, NULL), CNF_OK);
    for (int i = 0; i < 4; i++)
        for (int t = 0; t < N_THREADS; t++) {
            feed f;
            collect c;
            cnf_error e;
            char want[64];
            feed_open(&f, &img, 5);
            f.fail_row = fail_rows[i];
            collect_open(&c, p);
            CHECK_EQ_INT(cnf_plan_stream(p, &f.r, THREADS[t], collect_rows, &c, &e),
                         CNF_E_DECODE);
            snprintf(want, sizeof want, "row %d is corrupt", fail_rows[i]);
            CHECK(strcmp(e.msg, want) == 0);
            CHECK(strcmp(e.where, "feed") == 0);
            CHECK_EQ_INT(f.pos, fail_rows[i]); /* nothing read past the failure */
            CHECK_EQ_INT(f.misuse + c.misuse, 0);
            /* output rows need input rows 2y - 1 .. 2y + 2: none past the failure went out */
            CHECK(c.next * 2 <= fail_rows[i]);
            CHECK(rows_so_far_match(&c, &ref));
            cnf_image_free(&c.img);
            feed_close(&f);
        }
    cnf_image_free(&ref);
    cnf_image_free(&img);
    cnf_plan_free(p);
}

static void a_reader_failing_after_its_last_row_fails_the_run(void)
{
    cnf_image img = random_image(8, 70, 1, 0);
    cnf_plan *p = box_then_pool(8, 70);
    for (int t = 0; t < N_THREADS; t++) {
        feed f;
        collect c;
        cnf_error e;
        feed_open(&f, &img, 3);
        f.fail_finish = 1;
        collect_open(&c, p);
        CHECK_EQ_INT(cnf_plan_stream(p, &f.r, THREADS[t], collect_rows, &c, &e), CNF_E_DECODE);
        CHECK(strcmp(e.msg, "trailer is corrupt") == 0);
        CHECK_EQ_INT(f.pos, 70);
        CHECK_EQ_INT(f.finished, 1);
        cnf_image_free(&c.img);
        feed_close(&f);
    }
    cnf_image_free(&img);
    cnf_plan_free(p);
}

/* A plan that never needs the last input rows (1x1 kernel, valid padding,
 * stride 100 on 70 rows reads row 0 only) must still read them and run the
 * reader's checks after the last row, with one thread as with several: a
 * corrupt end of file fails the run whatever -j is. */
static void rows_no_stage_needs_are_still_read_and_checked(void)
{
    cnf_image img = random_image(8, 70, 1, 0);
    cnf_kernel *k = t_kernel("[[1]]");
    const cnf_kernel *ks[1] = {k};
    cnf_layer L;
    cnf_plan *p = NULL;
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = 1;
    L.padding = CNF_PAD_VALID;
    L.stride_y = L.stride_x = 100;
    CHECK_EQ_INT(cnf_plan_create(&L, 8, 70, 1, 0, NULL, &p, NULL), CNF_OK);
    for (int t = 0; p && t < N_THREADS; t++) {
        for (int bad = 0; bad < 2; bad++) {
            feed f;
            collect c;
            cnf_error e;
            feed_open(&f, &img, 5);
            f.fail_finish = bad;
            collect_open(&c, p);
            CHECK_EQ_INT(cnf_plan_stream(p, &f.r, THREADS[t], collect_rows, &c, &e),
                         bad ? CNF_E_DECODE : CNF_OK);
            CHECK_EQ_INT(f.pos, 70);
            CHECK_EQ_INT(f.finished, 1);
            CHECK_EQ_INT(f.misuse, 0);
            cnf_image_free(&c.img);
            feed_close(&f);
        }
    }
    cnf_kernel_free(k);
    cnf_image_free(&img);
    cnf_plan_free(p);
}

static void a_sink_failing_stops_the_run_and_the_decoder(void)
{
    cnf_image img = random_image(11, 600, 1, 0), ref;
    cnf_plan *p = box_then_pool(11, 600);
    p->band_rows = 32; /* (its own: the whole image in one band) */
    CHECK_EQ_INT(cnf_plan_run(p, &img, 1, &ref, NULL), CNF_OK);
    for (int t = 0; t < N_THREADS; t++) {
        feed f;
        collect c;
        cnf_error e;
        feed_open(&f, &img, 7);
        collect_open(&c, p);
        c.fail_row = 40; /* in the second band of 32 output rows */
        CHECK_EQ_INT(cnf_plan_stream(p, &f.r, THREADS[t], collect_rows, &c, &e), CNF_E_IO);
        CHECK(strcmp(e.msg, "disk full at row 40") == 0);
        CHECK_EQ_INT(c.next, 32);
        CHECK(rows_so_far_match(&c, &ref));
        CHECK(f.pos < 600); /* the decoder stopped rather than reading on */
        CHECK_EQ_INT(f.misuse, 0);
        cnf_image_free(&c.img);
        feed_close(&f);
    }
    cnf_image_free(&ref);
    cnf_image_free(&img);
    cnf_plan_free(p);
}

/* A tall image 2 pixels wide gets bands of 32 Ki rows (64 Ki values of its
 * widest row, the input's), so 100,000 rows make 4 bands of each stage:
 * streamed (with the decoder running ahead from 2 threads) and whole give
 * the same bits as bands of 32 rows did. */
static void a_tall_thin_image_runs_in_bands_of_many_rows(void)
{
    cnf_image img = random_image(2, 100000, 1, 0), ref, out;
    cnf_plan *p = box_then_pool(2, 100000);
    CHECK_EQ_INT(p->band_rows, 32768);
    CHECK(all_runs_match(p, &img));
    p->band_rows = 32;
    CHECK_EQ_INT(cnf_plan_run(p, &img, 2, &ref, NULL), CNF_OK);
    p->band_rows = 32768;
    CHECK_EQ_INT(cnf_plan_run(p, &img, 2, &out, NULL), CNF_OK);
    CHECK(same_image(&out, &ref));
    cnf_image_free(&out);
    cnf_image_free(&ref);
    cnf_image_free(&img);
    cnf_plan_free(p);
}

static void shapes_other_than_the_planned_one_are_refused(void)
{
    cnf_image img = random_image(10, 10, 1, 0), out;
    cnf_plan *p = box_then_pool(10, 12);
    feed f;
    collect c;
    cnf_error e;
    CHECK_EQ_INT(cnf_plan_run(p, &img, 2, &out, &e), CNF_E_USAGE);
    CHECK(strcmp(e.msg, "image shape differs from the planned one") == 0);
    feed_open(&f, &img, 1);
    collect_open(&c, p);
    CHECK_EQ_INT(cnf_plan_stream(p, &f.r, 2, collect_rows, &c, &e), CNF_E_USAGE);
    CHECK(strcmp(e.msg, "image shape differs from the planned one") == 0);
    CHECK_EQ_INT(f.pos, 0);
    cnf_image_free(&c.img);
    feed_close(&f);
    cnf_plan_free(p);
    cnf_image_free(&img);
}

static void a_plan_without_stages_copies_whole_and_refuses_to_stream(void)
{
    cnf_shape sh = {5, 4, 2, 1};
    cnf_image img = random_image(5, 4, 2, 1), out;
    cnf_plan *p = NULL;
    feed f;
    cnf_error e;
    CHECK_EQ_INT(cnf__plan_new(&sh, &p, &e), CNF_OK);
    CHECK_EQ_INT(cnf_plan_run(p, &img, 3, &out, &e), CNF_OK);
    CHECK(same_image(&out, &img));
    cnf_image_free(&out);
    feed_open(&f, &img, 1);
    CHECK_EQ_INT(cnf_plan_stream(p, &f.r, 3, collect_rows, NULL, &e), CNF_E_USAGE);
    CHECK(strcmp(e.msg, "the plan has no stage") == 0);
    feed_close(&f);
    cnf_plan_free(p);
    cnf_image_free(&img);
}

int main(void)
{
    RUN(random_layers_give_the_same_bits_streamed_and_whole_for_any_threads);
    RUN(random_pipelines_give_the_same_bits_streamed_and_whole_for_any_threads);
    RUN(the_probe_counts_a_row_that_is_not_the_one_asked_for);
    RUN(rings_never_hand_a_stage_a_row_after_its_slot_was_reused);
    RUN(a_reader_failing_mid_image_stops_the_run_with_its_error);
    RUN(a_reader_failing_after_its_last_row_fails_the_run);
    RUN(rows_no_stage_needs_are_still_read_and_checked);
    RUN(a_sink_failing_stops_the_run_and_the_decoder);
    RUN(a_tall_thin_image_runs_in_bands_of_many_rows);
    RUN(shapes_other_than_the_planned_one_are_refused);
    RUN(a_plan_without_stages_copies_whole_and_refuses_to_stream);
    return t_finish("test_exec");
}
