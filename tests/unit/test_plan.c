/* test_plan.c - the planner: stage info, the memory estimate, the stage bound, --explain lines. */
#include "test_util.h"

#include "../../src/lib/plan.h"

#include <stdio.h>

#define FLOAT_TEXT "float32 sums of integers (exact) on bands of integer values, double otherwise"

static cnf_plan *plan_layer(const cnf_layer *L, int w, int h, int c, int alpha,
                            const cnf_plan_limits *limits)
{
    cnf_plan *p = NULL;
    cnf_error e;
    if (cnf_plan_create(L, w, h, c, alpha, limits, &p, &e) != CNF_OK) {
        fprintf(stderr, "plan failed: %s\n", e.msg);
        abort();
    }
    return p;
}

/* The --explain text of p (malloc'd). */
static char *explain_text(const cnf_plan *p)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        abort();
    cnf_plan_explain(p, f);
    fclose(f);
    return text;
}

/* 1 when `line` (without its newline) is a whole line of text. */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0))
            return 1;
    return 0;
}

static void check_shape(const cnf_stage_info *si, int ic, int ih, int iw, int ia, int oc, int oh,
                        int ow, int oa)
{
    CHECK_EQ_INT(si->in_channels, ic);
    CHECK_EQ_INT(si->in_height, ih);
    CHECK_EQ_INT(si->in_width, iw);
    CHECK_EQ_INT(si->in_alpha, ia);
    CHECK_EQ_INT(si->out_channels, oc);
    CHECK_EQ_INT(si->out_height, oh);
    CHECK_EQ_INT(si->out_width, ow);
    CHECK_EQ_INT(si->out_alpha, oa);
}

static void stage_info_gives_each_stage_of_a_full_layer(void)
{
    cnf_kernel *k[2] = {t_kernel("sobel_v"), t_kernel("sobel_h")};
    const cnf_kernel *ks[2] = {k[0], k[1]};
    cnf_layer L;
    cnf_plan *p;
    cnf_stage_info si;
    cnf_error e;
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = 2;
    L.channels = CNF_CH_GRAY;
    L.combine = CNF_COMBINE_MAGNITUDE;
    L.activation = CNF_ACT_RELU;
    L.pool = CNF_POOL_MAX;
    /* RGBA 20 x 16: luma keeps alpha, the 3x3 kernels keep the size, pooling halves it. */
    p = plan_layer(&L, 20, 16, 4, 1, NULL);
    CHECK_EQ_INT(cnf_plan_n_stages(p), 5);
    CHECK_EQ_INT(cnf_plan_stage_info(p, 0, &si, &e), CNF_OK);
    CHECK(strcmp(si.kind, "luma") == 0);
    check_shape(&si, 4, 16, 20, 1, 2, 16, 20, 1);
    CHECK(strcmp(si.path, "") == 0);
    CHECK_EQ_INT(si.weights + si.biases, 0);
    CHECK_EQ_INT(cnf_plan_stage_info(p, 1, &si, &e), CNF_OK);
    CHECK(strcmp(si.kind, "conv") == 0);
    check_shape(&si, 2, 16, 20, 1, 3, 16, 20, 1);
    CHECK_EQ_INT(si.weights, 18);
    CHECK_EQ_INT(si.biases, 2);
    CHECK(strcmp(si.path, "sobel_v: separable 3x1 then 1x3; sobel_h: separable 3x1 then 1x3; "
                          FLOAT_TEXT) == 0);
    CHECK_EQ_INT(cnf_plan_stage_info(p, 2, &si, &e), CNF_OK);
    CHECK(strcmp(si.kind, "combine") == 0);
    check_shape(&si, 3, 16, 20, 1, 2, 16, 20, 1);
    CHECK_EQ_INT(cnf_plan_stage_info(p, 3, &si, &e), CNF_OK);
    CHECK(strcmp(si.kind, "activation") == 0);
    check_shape(&si, 2, 16, 20, 1, 2, 16, 20, 1);
    CHECK_EQ_INT(cnf_plan_stage_info(p, 4, &si, &e), CNF_OK);
    CHECK(strcmp(si.kind, "maxpool") == 0);
    check_shape(&si, 2, 16, 20, 1, 2, 8, 10, 1);
    CHECK(strcmp(si.path, "") == 0);
    cnf_plan_free(p);
    cnf_kernel_free(k[0]);
    cnf_kernel_free(k[1]);
}

/* The path of one kernel on an 8-bit-like gray input. */
static void check_path(const char *spec, int portable, int stride, const char *want)
{
    cnf_kernel *k = t_kernel(spec);
    const cnf_kernel *ks[1] = {k};
    cnf_plan_limits limits = {0, portable, 0, 0};
    cnf_layer L;
    cnf_plan *p;
    cnf_stage_info si;
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = 1;
    L.stride_y = L.stride_x = stride;
    p = plan_layer(&L, 40, 30, 1, 0, &limits);
    CHECK_EQ_INT(cnf_plan_stage_info(p, 0, &si, NULL), CNF_OK);
    if (strcmp(si.path, want) != 0)
        fprintf(stderr, "%s: path \"%s\"\n", spec, si.path);
    CHECK(strcmp(si.path, want) == 0);
    cnf_plan_free(p);
    cnf_kernel_free(k);
}

static void stage_info_path_names_the_loop_each_kernel_takes(void)
{
    check_path("box:5", 0, 1, "running sums (box 5x5); " FLOAT_TEXT);
    check_path("line_v:25", 0, 1, "separable 25x1 as running sums then 1x25; " FLOAT_TEXT);
    check_path("line_h:9", 0, 1, "separable 9x1 then 1x9 as window sums; " FLOAT_TEXT);
    check_path("sobel_v", 0, 1, "separable 3x1 then 1x3; " FLOAT_TEXT);
    check_path("laplacian", 0, 1, "direct, 5 non-zero taps; " FLOAT_TEXT);
    check_path("gaussian:7", 0, 2, "direct, 49 non-zero taps; " FLOAT_TEXT);
    check_path("[[0.5,0.25],[0.1,-0.3]]", 0, 1, "direct, 4 non-zero taps, double accumulation");
    check_path("sobel_v", 1, 1, "direct, 6 non-zero taps, double accumulation (--portable)");
}

static void stage_info_refuses_a_stage_that_does_not_exist(void)
{
    cnf_layer L;
    cnf_plan *p;
    cnf_stage_info si;
    cnf_error e;
    cnf_layer_init(&L);
    L.pool = CNF_POOL_AVG;
    p = plan_layer(&L, 4, 4, 1, 0, NULL);
    CHECK_EQ_INT(cnf_plan_n_stages(p), 1);
    CHECK_EQ_INT(cnf_plan_stage_info(p, 0, &si, &e), CNF_OK);
    CHECK(strcmp(si.kind, "avgpool") == 0);
    CHECK_EQ_INT(cnf_plan_stage_info(p, 1, &si, &e), CNF_E_USAGE);
    CHECK(strcmp(e.msg, "no stage 1: the plan has 1") == 0);
    CHECK_EQ_INT(cnf_plan_stage_info(p, -1, &si, &e), CNF_E_USAGE);
    CHECK(strcmp(e.msg, "no stage -1: the plan has 1") == 0);
    cnf_plan_free(p);
}

/* What the CLI's -v derives from the explain text: for each "N. kind:" line
 * the kind, for each "path:" line the text after it.  Stage info must give
 * the same, stage by stage. */
static void explain_lines_and_stage_info_agree(const cnf_plan *p)
{
    char *text = explain_text(p), *save = NULL, kind[32] = "";
    int stage = 0, paths = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cnf_stage_info si;
        if (sscanf(line, "%d. %31[^:]", &stage, kind) == 2 && line[0] != ' ') {
            CHECK_EQ_INT(cnf_plan_stage_info(p, stage - 1, &si, NULL), CNF_OK);
            CHECK(strcmp(si.kind, kind) == 0);
        } else if (strncmp(line, "    path: ", 10) == 0) {
            CHECK_EQ_INT(cnf_plan_stage_info(p, stage - 1, &si, NULL), CNF_OK);
            CHECK(strcmp(si.path, line + 10) == 0);
            paths++;
        }
    }
    for (int i = 0; i < cnf_plan_n_stages(p); i++) {
        cnf_stage_info si;
        CHECK_EQ_INT(cnf_plan_stage_info(p, i, &si, NULL), CNF_OK);
        paths -= si.path[0] != 0;
    }
    CHECK_EQ_INT(paths, 0); /* a path line for each stage that has a path, no other */
    CHECK_EQ_INT(stage, cnf_plan_n_stages(p));
    free(text);
}

static void explain_prints_exact_lines_from_the_stage_info(void)
{
    cnf_kernel *k[2] = {t_kernel("sobel_v"), t_kernel("box:3")};
    const cnf_kernel *ks[2] = {k[0], k[1]};
    cnf_layer L;
    cnf_plan *p;
    char *text;
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = 2;
    L.channels = CNF_CH_GRAY;
    L.border = CNF_BORDER_WRAP;
    L.combine = CNF_COMBINE_MAGNITUDE;
    L.activation = CNF_ACT_LEAKY_RELU;
    L.activation_param = 0.25;
    L.pool = CNF_POOL_MIN;
    L.pool_size = 3;
    L.pool_stride = 2;
    L.pool_padding = 1;
    L.pool_ceil = 1;
    p = plan_layer(&L, 9, 7, 3, 0, NULL);
    text = explain_text(p);
    CHECK(has_line(text, "input: 3 x 7 x 9 (channels x height x width)"));
    CHECK(has_line(text, "1. luma: 0.299 R + 0.587 G + 0.114 B"));
    CHECK(has_line(text, "    shape: 3 x 7 x 9 -> 1 x 7 x 9"));
    CHECK(has_line(text, "2. conv: 2 kernels (sobel_v 3x3, box-3 3x3), each channel separately, "
                         "stride 1,1, dilation 1, border wrap"));
    CHECK(has_line(text, "    height: floor((7 + 1 + 1 - 3) / 1) + 1 = 7   (same: padding 2 = 1 "
                         "before + 1 after)"));
    CHECK(has_line(text, "    path: sobel_v: separable 3x1 then 1x3; box-3: separable 3x1 then "
                         "1x3; " FLOAT_TEXT));
    CHECK(has_line(text, "    shape: 1 x 7 x 9 -> 2 x 7 x 9, parameters: 20 (18 weights + 2 "
                         "biases)"));
    CHECK(has_line(text, "3. combine: magnitude of 2 maps (sqrt of the sum of squares)"));
    CHECK(has_line(text, "4. activation: leaky_relu (slope 0.25)"));
    CHECK(has_line(text, "5. minpool: window 3, stride 2, padding 1, ceil mode"));
    /* ceil((7 + 2 - 3) / 2) + 1 = 4; ceil((9 + 2 - 3) / 2) + 1 = 5 */
    CHECK(has_line(text, "    height: ceil((7 + 1 + 1 - 3) / 2) + 1 = 4"));
    CHECK(has_line(text, "    width:  ceil((9 + 1 + 1 - 3) / 2) + 1 = 5"));
    CHECK(has_line(text, "    shape: 1 x 7 x 9 -> 1 x 4 x 5"));
    CHECK(has_line(text, "parameters: 20 (18 weights + 2 biases)"));
    explain_lines_and_stage_info_agree(p);
    free(text);
    cnf_plan_free(p);
    cnf_kernel_free(k[0]);
    cnf_kernel_free(k[1]);
}

/* A pipeline built by hand (the parser's limits do not apply): `n` layers
 * of `kind`, each a copy of *as. */
static cnf_pipeline *hand_made(int n, cnf_layer_kind kind, const char *type, const cnf_layer *as)
{
    cnf_pipeline *pl = calloc(1, sizeof *pl);
    if (!pl || !(pl->layers = calloc((size_t)n, sizeof *pl->layers)))
        abort();
    pl->n = n;
    snprintf(pl->name, sizeof pl->name, "hand.json");
    for (int i = 0; i < n; i++) {
        pl->layers[i].kind = kind;
        pl->layers[i].layer = *as;
        pl->layers[i].line = i + 2;
        pl->layers[i].col = 5;
        snprintf(pl->layers[i].type, sizeof pl->layers[i].type, "%s", type);
    }
    return pl;
}

static void hand_free(cnf_pipeline *pl)
{
    free(pl->layers);
    free(pl);
}

static void memory_estimate_of_a_pooling_layer_by_hand(void)
{
    cnf_layer L;
    cnf_plan *p;
    cnf_layer_init(&L);
    L.pool = CNF_POOL_MAX;
    /* Gray 10 x 6, window 2: 5 x 3 out.  Bands of 6 rows (the height).
     * One band of 3 rows needs input rows [0, 6): the ring holds 6 + 6
     * rows and 4 bands of decoder run-ahead, at most the height, 6:
     * 6 x 1 x (10 x 4 + 2 x 8 of row pointers) = 336, and a band's row
     * table 6 x 8 = 48.  The output band: 3 rows x 1 x (5 x 5 + 3 x 8) =
     * 147.  Pooling needs no scratch.  531. */
    p = plan_layer(&L, 10, 6, 1, 0, NULL);
    CHECK_EQ_INT(p->band_rows, 6);
    CHECK_EQ_INT(cnf_plan_memory(p), 531);
    cnf_plan_free(p);
}

static void memory_estimate_of_a_tall_pipeline_by_hand_and_its_limit(void)
{
    cnf_layer L;
    cnf_pipeline *pl;
    cnf_plan *p = NULL;
    cnf_plan_limits limits = {0, 0, 0, 0};
    cnf_error e;
    cnf_layer_init(&L);
    L.pool = CNF_POOL_MAX;
    pl = hand_made(2, CNF_LAYER_POOL, "maxpool", &L);
    /* RGBA 7 x 100; the pipeline drops alpha, but the input ring holds the
     * reader's 4 planes.  Its widest row has 28 values: bands of 100 rows
     * (the height; 64 Ki values would be 2341).  Stage 1: 100 -> 50 rows,
     * 7 -> 3 columns, one band needs all 100 rows: 100 x 4 x (7 x 4 + 16)
     * + 100 x 4 x 8 = 20800.  Stage 2: 50 -> 25 rows, 3 -> 1 column; one
     * band needs all 50 rows: 50 x 3 x (3 x 4 + 16) + 50 x 3 x 8 = 5400.
     * Output band: 25 x 3 x (1 x 5 + 24) = 2175.  Pooling needs no
     * scratch.  28375 in all. */
    CHECK_EQ_INT(cnf_plan_create_pipeline(pl, 7, 100, 4, 1, NULL, &p, &e), CNF_OK);
    CHECK_EQ_INT(p->band_rows, 100);
    CHECK_EQ_INT(cnf_plan_memory(p), 28375);
    /* With bands of 32 rows: stage 1's bands [0, 32) and [32, 50) need
     * rows [0, 64) and [64, 100): the ring spans 64 rows + 32 + 4 x 32 of
     * run-ahead, at most 100: 100 x 4 x 44 + 32 x 4 x 8 = 18624.  Stage 2:
     * one band [0, 25) needs [0, 50): 50 + 32 rows, at most 50:
     * 50 x 3 x 28 + 32 x 3 x 8 = 4968.  Output band 2175.  25767. */
    p->band_rows = 32;
    CHECK_EQ_INT(cnf__stream_memory(p, 2), 25767);
    /* On one thread the decoder does not run ahead: stage 1's ring is
     * 64 + 32 rows: 96 x 4 x 44 + 32 x 4 x 8 = 17920; 17920 + 4968 + 2175
     * = 25063.  Pooling has no scratch: more threads add nothing. */
    CHECK_EQ_INT(cnf__stream_memory(p, 1), 25063);
    CHECK_EQ_INT(cnf__stream_memory(p, 8), 25767);
    cnf_plan_free(p);
    limits.max_memory = 28375;
    CHECK_EQ_INT(cnf_plan_create_pipeline(pl, 7, 100, 4, 1, &limits, &p, &e), CNF_OK);
    cnf_plan_free(p);
    limits.max_memory = 28374;
    CHECK_EQ_INT(cnf_plan_create_pipeline(pl, 7, 100, 4, 1, &limits, &p, &e), CNF_E_TOO_BIG);
    CHECK(p == NULL);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_MEMORY);
    CHECK(strcmp(e.msg, "the plan needs about 0 MiB on 2 threads, over the memory limit of 0 "
                        "MiB") == 0);
    hand_free(pl);
}

/* A convolution's scratch (its padded rows, per part of a band) is counted
 * once per thread, for the thread's share of a band: the estimate for N
 * threads is the one-thread estimate less one band's scratch plus N parts'
 * (and the decoder's run-ahead from 2 threads). */
static void memory_estimate_counts_each_threads_scratch(void)
{
    cnf_kernel *k = t_kernel("box:31");
    const cnf_kernel *ks[1] = {k};
    cnf_layer L;
    cnf_plan *p1, *p8, *p0;
    cnf_plan_limits lim = {0, 0, 0, 1};
    uint64_t step, sc1, sc8, ahead;
    const cnf_stage *s;
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = 1;
    L.border = CNF_BORDER_REPLICATE;
    p1 = plan_layer(&L, 4000, 300, 1, 0, &lim);
    lim.threads = 8;
    p8 = plan_layer(&L, 4000, 300, 1, 0, &lim);
    p0 = plan_layer(&L, 4000, 300, 1, 0, NULL);
    s = &p1->stages[0];
    step = (uint64_t)p1->band_rows;
    CHECK_EQ_INT(step, 32); /* 4000 values a row: bands of 32 rows */
    sc1 = s->ops->scratch(s, 32);
    sc8 = s->ops->scratch(s, 4);
    CHECK(sc1 > 0 && sc8 > 0);
    /* 4 bands of 32 input rows of 4000 floats and 2 row pointers each */
    ahead = 4 * 32 * (4000 * 4 + 16);
    CHECK_EQ_INT(cnf_plan_memory(p8), cnf_plan_memory(p1) - sc1 + 8 * sc8 + ahead);
    CHECK_EQ_INT(cnf_plan_memory_threads(p1, 8), cnf_plan_memory(p8));
    CHECK_EQ_INT(cnf_plan_memory_threads(p8, 1), cnf_plan_memory(p1));
    /* without limits, as for two threads */
    CHECK_EQ_INT(cnf_plan_memory(p0), cnf_plan_memory_threads(p1, 2));
    CHECK_EQ_INT(cnf_plan_memory(p0),
                 cnf_plan_memory(p1) - sc1 + 2 * s->ops->scratch(s, 16) + ahead);
    /* past 64 threads a band is split in 64 parts at most */
    CHECK_EQ_INT(cnf_plan_memory_threads(p1, 256), cnf_plan_memory_threads(p1, 64));
    /* the limit is checked for the planned threads */
    lim.max_memory = cnf_plan_memory(p1);
    cnf_plan_free(p8);
    {
        cnf_plan *p = NULL;
        cnf_error e;
        CHECK_EQ_INT(cnf_plan_create(&L, 4000, 300, 1, 0, &lim, &p, &e), CNF_E_TOO_BIG);
        CHECK(strstr(e.msg, "on 8 threads") != NULL);
        lim.threads = 1;
        CHECK_EQ_INT(cnf_plan_create(&L, 4000, 300, 1, 0, &lim, &p, &e), CNF_OK);
        cnf_plan_free(p);
    }
    {
        char *text = explain_text(p1);
        CHECK(strstr(text, " MiB (1 thread)\n") != NULL);
        free(text);
    }
    cnf_plan_free(p1);
    cnf_plan_free(p0);
    cnf_kernel_free(k);
}

/* The band height of a layer of `spec` (n copies, combine none) on a
 * gray or RGB w x h input. */
static int band_rows_of(const char *spec, int n, int w, int h, int c)
{
    cnf_kernel *k = t_kernel(spec);
    const cnf_kernel *ks[4] = {k, k, k, k};
    cnf_layer L;
    cnf_plan *p;
    int rows;
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = n;
    L.combine = CNF_COMBINE_NONE;
    p = plan_layer(&L, w, h, c, 0, NULL);
    rows = p->band_rows;
    CHECK_EQ_INT(cnf__band_rows(p), rows);
    cnf_plan_free(p);
    cnf_kernel_free(k);
    return rows;
}

/* Bands hold at least 64 Ki values of the widest row and 32 rows, at most
 * the tallest height. */
static void band_height_follows_the_values_in_a_row(void)
{
    CHECK_EQ_INT(band_rows_of("sobel_v", 1, 1, 178956970, 1), 65536);
    CHECK_EQ_INT(band_rows_of("sobel_v", 1, 1, 1000, 1), 1000);
    CHECK_EQ_INT(band_rows_of("sobel_v", 1, 8, 2000000, 1), 8192);
    CHECK_EQ_INT(band_rows_of("sobel_v", 2, 8, 2000000, 1), 4096); /* 2 maps of 8 */
    CHECK_EQ_INT(band_rows_of("sobel_v", 1, 3, 300000, 3), 7282); /* ceil(65536 / 9) */
    CHECK_EQ_INT(band_rows_of("box:3", 1, 2047, 5000, 1), 33);
    CHECK_EQ_INT(band_rows_of("box:3", 1, 2048, 5000, 1), 32);
    CHECK_EQ_INT(band_rows_of("box:3", 1, 4352, 2448, 3), 32); /* a 16-megapixel photo */
    CHECK_EQ_INT(band_rows_of("box:3", 4, 100, 5000, 1), 164); /* 400 values: ceil(163.84) */
}

static void a_pipeline_past_the_stage_bound_fails_with_a_clear_error(void)
{
    cnf_layer L;
    cnf_pipeline *pl;
    cnf_plan *p = NULL;
    cnf_error e;
    char want[128];
    cnf_layer_init(&L);
    L.activation = CNF_ACT_RELU;
    /* One stage per activation layer: exactly the bound plans... */
    pl = hand_made(CNF__MAX_STAGES, CNF_LAYER_ACT, "relu", &L);
    CHECK_EQ_INT(cnf_plan_create_pipeline(pl, 3, 3, 1, 0, NULL, &p, &e), CNF_OK);
    CHECK_EQ_INT(cnf_plan_n_stages(p), CNF__MAX_STAGES);
    cnf_plan_free(p);
    hand_free(pl);
    /* ...one more layer does not. */
    pl = hand_made(CNF__MAX_STAGES + 1, CNF_LAYER_ACT, "relu", &L);
    CHECK_EQ_INT(cnf_plan_create_pipeline(pl, 3, 3, 1, 0, NULL, &p, &e), CNF_E_LIMIT);
    CHECK(p == NULL);
    snprintf(want, sizeof want, "layer %d (relu): the plan would need more than %d stages",
             CNF__MAX_STAGES + 1, CNF__MAX_STAGES);
    CHECK(strcmp(e.msg, want) == 0);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_KERNEL);
    CHECK_EQ_INT(e.line, CNF__MAX_STAGES + 1 + 1);
    CHECK(strcmp(e.where, "hand.json") == 0);
    hand_free(pl);
}

/* A stage that counts its destruction. */
static int destroyed;
static void count_destroy(cnf_stage *s)
{
    (void)s;
    destroyed++;
}
static void same_need(const cnf_stage *s, int y0, int y1, int *lo, int *hi)
{
    (void)s;
    *lo = y0;
    *hi = y1;
}
static size_t no_scratch(const cnf_stage *s, int rows)
{
    (void)s;
    (void)rows;
    return 0;
}
static const cnf_stage_ops COUNTED = {.need = same_need, .scratch = no_scratch,
                                      .destroy = count_destroy};

static void adding_a_stage_past_the_array_changes_nothing_after_it(void)
{
    cnf_shape in = {4, 3, 1, 0};
    cnf_plan *p = NULL;
    cnf_stage s;
    cnf_error e;
    destroyed = 0;
    CHECK_EQ_INT(cnf__plan_new(&in, &p, &e), CNF_OK);
    for (int i = 0; i < CNF__MAX_STAGES; i++) {
        memset(&s, 0, sizeof s);
        s.ops = &COUNTED;
        s.in = s.out = in;
        CHECK_EQ_INT(cnf__plan_add_stage(p, &s, &e), CNF_OK);
    }
    /* Sentinels in the fields that follow the array. */
    p->n_groups = 0x5a5a;
    p->drop_input_alpha = 0x3c3c;
    p->memory = 0x123456789ULL;
    memset(&s, 0, sizeof s);
    s.ops = &COUNTED;
    s.in = s.out = in;
    CHECK_EQ_INT(cnf__plan_add_stage(p, &s, &e), CNF_E_LIMIT);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_KERNEL);
    CHECK_EQ_INT(destroyed, 1); /* the refused stage is released, not leaked */
    CHECK_EQ_INT(p->n_stages, CNF__MAX_STAGES);
    CHECK_EQ_INT(p->n_groups, 0x5a5a);
    CHECK_EQ_INT(p->drop_input_alpha, 0x3c3c);
    CHECK(p->memory == 0x123456789ULL);
    cnf_plan_free(p);
    CHECK_EQ_INT(destroyed, CNF__MAX_STAGES + 1);
}

static void a_pipeline_names_its_dropped_alpha_in_the_input_line(void)
{
    cnf_layer L;
    cnf_pipeline *pl;
    cnf_plan *p = NULL;
    cnf_stage_info si;
    char *text;
    cnf_layer_init(&L);
    L.activation = CNF_ACT_ABS;
    pl = hand_made(1, CNF_LAYER_ACT, "abs", &L);
    CHECK_EQ_INT(cnf_plan_create_pipeline(pl, 5, 2, 4, 1, NULL, &p, NULL), CNF_OK);
    text = explain_text(p);
    CHECK(has_line(text, "input: 4 x 2 x 5 (channels x height x width; its alpha is dropped)"));
    CHECK(has_line(text, "1. activation: abs"));
    CHECK(has_line(text, "    shape: 3 x 2 x 5 -> 3 x 2 x 5"));
    CHECK_EQ_INT(cnf_plan_stage_info(p, 0, &si, NULL), CNF_OK);
    check_shape(&si, 3, 2, 5, 0, 3, 2, 5, 0);
    explain_lines_and_stage_info_agree(p);
    free(text);
    cnf_plan_free(p);
    hand_free(pl);
}

/* The text of a file (malloc'd), *len its length. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long n;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        !(text = malloc((size_t)n + 1)) || fread(text, 1, (size_t)n, f) != (size_t)n)
        abort();
    fclose(f);
    *len = (size_t)n;
    return text;
}

static void stage_info_agrees_with_explain_for_the_shipped_pipelines(void)
{
    const char *files[] = {"kernels/lenet.json", "kernels/edges.json"};
    const int stages[] = {7, 4};
    for (int i = 0; i < 2; i++) {
        size_t len;
        char *text = slurp(files[i], &len);
        cnf_pipeline *pl = NULL;
        cnf_plan *p = NULL;
        cnf_error e;
        CHECK_EQ_INT(cnf_pipeline_parse(text, len, files[i], "kernels", &pl, &e), CNF_OK);
        CHECK_EQ_INT(cnf_plan_create_pipeline(pl, 64, 48, 3, 0, NULL, &p, &e), CNF_OK);
        CHECK_EQ_INT(cnf_plan_n_stages(p), stages[i]);
        explain_lines_and_stage_info_agree(p);
        cnf_plan_free(p);
        cnf_pipeline_free(pl);
        free(text);
    }
}

/* A bank [sobel, box] on an RGB image with alpha: the first output is
 * exactly `sobel_v, sobel_h --combine magnitude`, the second `box`; with
 * --combine max the bank's two maps are combined after the merge. */
static void a_composite_kernel_is_one_map_of_a_bank(void)
{
    float v[6 * 5 * 4];
    cnf_image img, bank = {0}, mag = {0}, box = {0}, mx = {0};
    cnf_kernel *sobel = t_kernel("sobel"), *sv = t_kernel("sobel_v"), *sh = t_kernel("sobel_h");
    cnf_kernel *bx = t_kernel("box");
    const cnf_kernel *ks_bank[2] = {sobel, bx}, *ks_pair[2] = {sv, sh}, *ks_box[1] = {bx};
    cnf_layer L;
    cnf_error e;
    size_t plane = 6 * 5;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        v[i] = (float)((i * 37) % 251);
    img = t_image(6, 5, 4, 1, v);
    cnf_layer_init(&L);
    L.kernels = ks_bank;
    L.n_kernels = 2;
    CHECK_EQ_INT(t_run(&L, &img, 2, &bank, &e), CNF_OK);
    L.kernels = ks_pair;
    L.combine = CNF_COMBINE_MAGNITUDE;
    CHECK_EQ_INT(t_run(&L, &img, 1, &mag, &e), CNF_OK);
    L.kernels = ks_box;
    L.n_kernels = 1;
    L.combine = CNF_COMBINE_NONE;
    CHECK_EQ_INT(t_run(&L, &img, 1, &box, &e), CNF_OK);
    CHECK_EQ_INT(bank.channels, 7); /* 2 x RGB + alpha */
    if (bank.channels == 7 && mag.channels == 4 && box.channels == 4) {
        CHECK(memcmp(bank.data, mag.data, 3 * plane * sizeof(float)) == 0);
        CHECK(memcmp(bank.data + 3 * plane, box.data, 3 * plane * sizeof(float)) == 0);
        CHECK(memcmp(bank.data + 6 * plane, img.data + 3 * plane, plane * sizeof(float)) == 0);
    }
    L.kernels = ks_bank;
    L.n_kernels = 2;
    L.combine = CNF_COMBINE_MAX;
    CHECK_EQ_INT(t_run(&L, &img, 3, &mx, &e), CNF_OK);
    CHECK_EQ_INT(mx.channels, 4);
    for (size_t i = 0; mx.channels == 4 && i < 3 * plane; i++)
        CHECK(mx.data[i] == (mag.data[i] > box.data[i] ? mag.data[i] : box.data[i]));
    {
        cnf_plan *p = NULL;
        cnf_stage_info info;
        CHECK_EQ_INT(cnf_plan_create(&L, 6, 5, 4, 1, NULL, &p, &e), CNF_OK);
        CHECK_EQ_INT(cnf_plan_n_stages(p), 3);
        CHECK_EQ_INT(cnf_plan_stage_info(p, 1, &info, &e), CNF_OK);
        CHECK(strcmp(info.kind, "merge") == 0);
        CHECK_EQ_INT(info.in_channels, 10);
        CHECK_EQ_INT(info.out_channels, 7);
        cnf_plan_free(p);
    }
    cnf_image_free(&img);
    cnf_image_free(&bank);
    cnf_image_free(&mag);
    cnf_image_free(&box);
    cnf_image_free(&mx);
    cnf_kernel_free(sobel);
    cnf_kernel_free(sv);
    cnf_kernel_free(sh);
    cnf_kernel_free(bx);
}


/* A dry plan and the plan to run are the same in all that --explain and stage info show:
 * the text, the estimates, every stage; only the dry one refuses to run. */
static void check_dry_is_the_plan(const cnf_plan *real, const cnf_plan *dry)
{
    char *a = explain_text(real), *b = explain_text(dry);
    cnf_stage_info x, y;
    cnf_image in, out;
    cnf_error e;
    int w, h, c, al;
    CHECK(strcmp(a, b) == 0);
    CHECK_EQ_INT(cnf_plan_memory(dry), cnf_plan_memory(real));
    CHECK_EQ_INT(cnf_plan_work(dry), cnf_plan_work(real));
    CHECK_EQ_INT(cnf_plan_n_groups(dry), cnf_plan_n_groups(real));
    CHECK_EQ_INT(cnf_plan_n_stages(dry), cnf_plan_n_stages(real));
    for (int i = 0; i < cnf_plan_n_stages(real) && i < cnf_plan_n_stages(dry); i++) {
        CHECK_EQ_INT(cnf_plan_stage_info(real, i, &x, NULL), CNF_OK);
        CHECK_EQ_INT(cnf_plan_stage_info(dry, i, &y, NULL), CNF_OK);
        CHECK(strcmp(x.kind, y.kind) == 0 && strcmp(x.path, y.path) == 0);
        CHECK_EQ_INT(x.weights, y.weights);
        CHECK_EQ_INT(x.biases, y.biases);
        check_shape(&y, x.in_channels, x.in_height, x.in_width, x.in_alpha, x.out_channels,
                    x.out_height, x.out_width, x.out_alpha);
    }
    CHECK(cnf_plan_is_dry(dry) && !cnf_plan_is_dry(real));
    CHECK_EQ_INT(cnf_plan_over_limit(dry), CNF_LIMIT_NONE);
    CHECK_EQ_INT(cnf_plan_over_limit(real), CNF_LIMIT_NONE);
    in = t_image(dry->in.w, dry->in.h, dry->in.c, dry->in.alpha, NULL);
    CHECK_EQ_INT(cnf_plan_run(dry, &in, 1, &out, &e), CNF_E_USAGE);
    CHECK(out.data == NULL);
    CHECK(strcmp(e.msg, "a dry plan describes, it cannot run") == 0);
    cnf_plan_output_shape(dry, &w, &h, &c, &al);
    CHECK_EQ_INT(cnf_plan_run(real, &in, 1, &out, &e), CNF_OK);
    CHECK(out.width == w && out.height == h && out.channels == c && out.has_alpha == al);
    cnf_image_free(&out);
    cnf_image_free(&in);
    free(a);
    free(b);
}

static void a_dry_plan_of_a_layer_is_the_plan_without_its_tables(void)
{
    /* every path a conv stage names: running sums, separable, two passes, direct with
     * zero taps left out, 3-D, a bank of different kernels, and pooling alone */
    static const struct {
        const char *specs[3];
        int w, h, c, alpha, portable, stride, dilation;
        cnf_channels channels;
        cnf_combine combine;
        cnf_pool pool;
    } cases[] = {
        {{"box:5"}, 20, 16, 1, 0, 0, 1, 1, CNF_CH_AUTO, CNF_COMBINE_NONE, CNF_POOL_NONE},
        {{"gaussian:7"}, 20, 16, 3, 1, 0, 1, 1, CNF_CH_AUTO, CNF_COMBINE_NONE, CNF_POOL_MAX},
        {{"gaussian:9:2"}, 33, 17, 3, 0, 0, 1, 1, CNF_CH_AUTO, CNF_COMBINE_NONE, CNF_POOL_NONE},
        {{"gaussian:9:2"}, 33, 17, 3, 0, 1, 1, 1, CNF_CH_AUTO, CNF_COMBINE_NONE, CNF_POOL_NONE},
        {{"laplacian"}, 12, 9, 2, 1, 0, 2, 2, CNF_CH_AUTO, CNF_COMBINE_NONE, CNF_POOL_AVG},
        {{"sobel", "box:3", "[[0.5,0,-0.25],[1,0,2]]"}, 20, 16, 4, 1, 0, 1, 1, CNF_CH_RGB,
         CNF_COMBINE_MAX, CNF_POOL_NONE},
        {{"sobel_v", "sobel_h"}, 20, 16, 3, 0, 0, 1, 1, CNF_CH_GRAY, CNF_COMBINE_MAGNITUDE,
         CNF_POOL_NONE},
        {{"[[[1,0],[0,1]],[[2,2],[0,0]],[[0,0],[0,-1]]]"}, 15, 10, 3, 0, 0, 1, 1, CNF_CH_AUTO,
         CNF_COMBINE_NONE, CNF_POOL_NONE},
        {{NULL}, 15, 10, 3, 0, 0, 1, 1, CNF_CH_AUTO, CNF_COMBINE_NONE, CNF_POOL_MIN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cnf_kernel *k[3] = {NULL, NULL, NULL};
        const cnf_kernel *ks[3];
        cnf_plan_limits limits = {0, cases[i].portable, 0, 0};
        cnf_plan *real = NULL, *dry = NULL;
        cnf_layer L;
        cnf_error e;
        int n = 0;
        cnf_layer_init(&L);
        for (; n < 3 && cases[i].specs[n]; n++)
            ks[n] = k[n] = t_kernel(cases[i].specs[n]);
        L.kernels = ks;
        L.n_kernels = n;
        L.stride_y = L.stride_x = cases[i].stride;
        L.dilation = cases[i].dilation;
        L.channels = cases[i].channels;
        L.combine = cases[i].combine;
        L.pool = cases[i].pool;
        CHECK_EQ_INT(cnf_plan_create(&L, cases[i].w, cases[i].h, cases[i].c, cases[i].alpha,
                                     &limits, &real, &e), CNF_OK);
        CHECK_EQ_INT(cnf_plan_create_dry(&L, cases[i].w, cases[i].h, cases[i].c,
                                         cases[i].alpha, &limits, &dry, &e), CNF_OK);
        if (real && dry)
            check_dry_is_the_plan(real, dry);
        cnf_plan_free(real);
        cnf_plan_free(dry);
        for (int j = 0; j < n; j++)
            cnf_kernel_free(k[j]);
    }
}

static void a_dry_plan_of_a_pipeline_is_the_plan_without_its_tables(void)
{
    const char *files[] = {"kernels/lenet.json", "kernels/edges.json"};
    const char *dense = "{\"layers\": [{\"type\": \"conv\", \"kernels\": [\"box:3\", \"sobel\"]},"
                        " {\"type\": \"relu\"}, {\"type\": \"maxpool\", \"size\": 2},"
                        " {\"type\": \"flatten\"}, {\"type\": \"dense\", \"units\": 3, \"weights\":"
                        " [[1,2,3,4,5,6,7,8], [0,0,0,0,1,1,1,1], [1,0,1,0,1,0,1,0]]},"
                        " {\"type\": \"softmax\"}]}";
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(dense);
        char *text = i < 2 ? slurp(files[i], &len) : NULL;
        cnf_pipeline *pl = NULL;
        cnf_plan *real = NULL, *dry = NULL;
        cnf_error e;
        int w = i < 2 ? 64 : 4, h = i < 2 ? 48 : 4;
        CHECK_EQ_INT(cnf_pipeline_parse(text ? text : dense, len, "p.json", "kernels", &pl, &e),
                     CNF_OK);
        /* RGBA: the alpha is dropped */
        CHECK_EQ_INT(cnf_plan_create_pipeline(pl, w, h, 4, 1, NULL, &real, &e), CNF_OK);
        CHECK_EQ_INT(cnf_plan_create_pipeline_dry(pl, w, h, 4, 1, NULL, &dry, &e), CNF_OK);
        if (real && dry)
            check_dry_is_the_plan(real, dry);
        cnf_plan_free(real);
        cnf_plan_free(dry);
        cnf_pipeline_free(pl);
        free(text);
    }
}

/* Over a limit, the plan to run is refused; the dry plan says so and describes it. */
static void a_dry_plan_reports_the_limits_a_run_is_refused_by(void)
{
    cnf_kernel *k = t_kernel("box:255");
    const cnf_kernel *ks[1] = {k};
    cnf_plan_limits none = {0, 0, 0, 0}, mem = {1 << 20, 0, 0, 0}, work = {0, 0, 1000, 0};
    cnf_plan *unlimited = NULL, *p = NULL;
    cnf_layer L;
    cnf_error e;
    char *text, line[200];
    cnf_layer_init(&L);
    L.kernels = ks;
    L.n_kernels = 1;
    /* 255 x 255 x 3 planes x 16 bytes of tap tables: 3 MiB, over 1 MiB */
    CHECK_EQ_INT(cnf_plan_create(&L, 40, 30, 3, 0, &none, &unlimited, &e), CNF_OK);
    CHECK_EQ_INT(cnf_plan_create(&L, 40, 30, 3, 0, &mem, &p, &e), CNF_E_TOO_BIG);
    CHECK(p == NULL);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_MEMORY);
    CHECK_EQ_INT(cnf_plan_create_dry(&L, 40, 30, 3, 0, &mem, &p, &e), CNF_OK);
    CHECK_EQ_INT(cnf_plan_over_limit(p), CNF_LIMIT_MEMORY);
    CHECK_EQ_INT(cnf_plan_memory(p), cnf_plan_memory(unlimited));
    CHECK(cnf_plan_memory(p) > 3 * 255 * 255 * 16);
    text = explain_text(p);
    snprintf(line, sizeof line,
             "memory estimate: %.1f MiB (2 threads), over the memory limit of 1.0 MiB: a run "
             "is refused",
             (double)cnf_plan_memory(unlimited) / 1048576.0);
    CHECK(has_line(text, line));
    CHECK(has_line(text, "work estimate: 1.84e+06 multiply-adds"));
    free(text);
    cnf_plan_free(p);
    /* box:255 runs as sums, 255 + 255 per output: 40 x 30 x 3 x 510 */
    CHECK_EQ_INT(cnf_plan_create(&L, 40, 30, 3, 0, &work, &p, &e), CNF_E_TOO_BIG);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_WORK);
    CHECK_EQ_INT(cnf_plan_create_dry(&L, 40, 30, 3, 0, &work, &p, &e), CNF_OK);
    CHECK_EQ_INT(cnf_plan_over_limit(p), CNF_LIMIT_WORK);
    CHECK_EQ_INT(cnf_plan_work(p), 40 * 30 * 3 * 510);
    text = explain_text(p);
    CHECK(has_line(text, "work estimate: 1.84e+06 multiply-adds, over the work limit of 1e+03: "
                         "a run is refused"));
    free(text);
    cnf_plan_free(p);
    cnf_plan_free(unlimited);
    cnf_kernel_free(k);
}

int main(void)
{
    RUN(stage_info_gives_each_stage_of_a_full_layer);
    RUN(stage_info_path_names_the_loop_each_kernel_takes);
    RUN(stage_info_refuses_a_stage_that_does_not_exist);
    RUN(explain_prints_exact_lines_from_the_stage_info);
    RUN(memory_estimate_of_a_pooling_layer_by_hand);
    RUN(memory_estimate_of_a_tall_pipeline_by_hand_and_its_limit);
    RUN(memory_estimate_counts_each_threads_scratch);
    RUN(band_height_follows_the_values_in_a_row);
    RUN(a_pipeline_past_the_stage_bound_fails_with_a_clear_error);
    RUN(adding_a_stage_past_the_array_changes_nothing_after_it);
    RUN(a_pipeline_names_its_dropped_alpha_in_the_input_line);
    RUN(stage_info_agrees_with_explain_for_the_shipped_pipelines);
    RUN(a_composite_kernel_is_one_map_of_a_bank);
    RUN(a_dry_plan_of_a_layer_is_the_plan_without_its_tables);
    RUN(a_dry_plan_of_a_pipeline_is_the_plan_without_its_tables);
    RUN(a_dry_plan_reports_the_limits_a_run_is_refused_by);
    return t_finish("test_plan");
}
