/* test_kernel.c - built-in kernels (exact reference §7 weights), specs, kernel JSON and its errors. */
#include "test_util.h"

#include <dirent.h>

/* Weights of k divided by its divisor, compared with expect[] / div. */
static int same_weights(const cnf_kernel *k, int h, int w, const double *expect, double div)
{
    const double *kw = cnf_kernel_weights(k);
    if (cnf_kernel_height(k) != h || cnf_kernel_width(k) != w)
        return 0;
    for (int i = 0; i < h * w; i++)
        if (kw[i] / cnf_kernel_divisor(k) != expect[i] / div) {
            fprintf(stderr, "weight %d: %.17g / %.17g, expected %.17g / %.17g\n", i, kw[i],
                    cnf_kernel_divisor(k), expect[i], div);
            return 0;
        }
    return 1;
}

static void check_builtin(const char *spec, int n, const double *w, double div)
{
    cnf_kernel *k = t_kernel(spec);
    int ok = same_weights(k, n, n, w, div);
    if (!ok)
        fprintf(stderr, "built-in %s differs from reference §7\n", spec);
    CHECK(ok);
    cnf_kernel_free(k);
}

static void fixed_builtins_have_the_spec_weights(void)
{
    static const struct {
        const char *name;
        double w[9];
    } T[] = {
        {"identity", {0, 0, 0, 0, 1, 0, 0, 0, 0}},
        {"sobel_v", {-1, 0, 1, -2, 0, 2, -1, 0, 1}},
        {"sobel_h", {-1, -2, -1, 0, 0, 0, 1, 2, 1}},
        {"prewitt_v", {-1, 0, 1, -1, 0, 1, -1, 0, 1}},
        {"prewitt_h", {-1, -1, -1, 0, 0, 0, 1, 1, 1}},
        {"scharr_v", {-3, 0, 3, -10, 0, 10, -3, 0, 3}},
        {"scharr_h", {-3, -10, -3, 0, 0, 0, 3, 10, 3}},
        {"edge_v", {1, 0, -1, 1, 0, -1, 1, 0, -1}},
        {"edge_h", {1, 1, 1, 0, 0, 0, -1, -1, -1}},
        {"laplacian", {0, 1, 0, 1, -4, 1, 0, 1, 0}},
        {"laplacian8", {1, 1, 1, 1, -8, 1, 1, 1, 1}},
        {"sharpen", {0, -1, 0, -1, 5, -1, 0, -1, 0}},
        {"emboss", {-2, -1, 0, -1, 1, 1, 0, 1, 2}},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        check_builtin(T[i].name, 3, T[i].w, 1);
}

static void sized_builtins_follow_their_formulas(void)
{
    double box5[25], g3[9] = {1, 2, 1, 2, 4, 2, 1, 2, 1};
    double g5[25], row5[5] = {1, 4, 6, 4, 1};
    double lv[25] = {0}, lh[25] = {0}, ld[25] = {0}, la[25] = {0}, fr[25] = {0};
    double lv4[16] = {0};
    for (int i = 0; i < 25; i++)
        box5[i] = 1;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            g5[i * 5 + j] = row5[i] * row5[j];
            if (j == 2)
                lv[i * 5 + j] = 1;
            if (i == 2)
                lh[i * 5 + j] = 1;
            if (i == j)
                ld[i * 5 + j] = 1;
            if (i + j == 4)
                la[i * 5 + j] = 1;
            if (i == 0 || j == 0 || i == 4 || j == 4)
                fr[i * 5 + j] = 1;
        }
    for (int i = 0; i < 4; i++)
        lv4[i * 4 + 2] = 1; /* K/2 = 2 (floor) */
    check_builtin("box:5", 5, box5, 25);
    check_builtin("box", 3, box5, 9);
    check_builtin("gaussian", 3, g3, 16);
    check_builtin("gaussian:3", 3, g3, 16);
    check_builtin("gaussian:5", 5, g5, 256);
    check_builtin("line_v:5", 5, lv, 5);
    check_builtin("line_h:5", 5, lh, 5);
    check_builtin("line_diag:5", 5, ld, 5);
    check_builtin("line_anti:5", 5, la, 5);
    check_builtin("frame:5", 5, fr, 16);
    check_builtin("line_v:4", 4, lv4, 4);
}

static void gaussian_with_sigma_is_sampled_and_normalised(void)
{
    cnf_kernel *k = t_kernel("gaussian:5:1.5");
    const double *w = cnf_kernel_weights(k);
    double sum = 0;
    for (int i = 0; i < 25; i++)
        sum += w[i] / cnf_kernel_divisor(k);
    CHECK(fabs(sum - 1) < 1e-12);
    /* Ratio of the corner to the centre: exp(-(4+4)/(2*2.25)). */
    CHECK(fabs(w[0] / w[12] - exp(-8.0 / 4.5)) < 1e-12);
    CHECK(w[1] == w[5] && w[0] == w[24]);
    cnf_kernel_free(k);
    /* Even size: offsets i - (N-1)/2 = -0.5, 0.5. */
    k = t_kernel("gaussian:2:1");
    w = cnf_kernel_weights(k);
    CHECK(fabs(w[0] - 0.25) < 1e-15 && fabs(w[3] - 0.25) < 1e-15);
    cnf_kernel_free(k);
}

static void bad_specs_are_usage_errors_naming_the_flag(void)
{
    static const char *bad[] = {"box:0", "box:256", "box:x", "box:3:1", "sobel_v:5",
                                "gaussian:3:0", "gaussian:3:-1", "gaussian:3:nan", "nosuch",
                                "[[1,2],[3]]", "[]", "[[]]", "[[1,,2]]", "[[1e309]]",
                                "[[NaN]]", "[[1]] x", "", "box:", "gaussian:5:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cnf_kernel *k = NULL;
        cnf_error e;
        cnf_status st = cnf_kernel_parse(bad[i], "--kernel", &k, &e);
        if (st != CNF_E_USAGE)
            fprintf(stderr, "spec '%s' gave status %d\n", bad[i], st);
        CHECK(st == CNF_E_USAGE);
        CHECK(k == NULL);
        CHECK(strcmp(e.where, "--kernel") == 0);
    }
}

static void inline_errors_give_line_and_column(void)
{
    cnf_kernel *k = NULL;
    cnf_error e;
    CHECK_EQ_INT(cnf_kernel_parse("[[1,2],[3]]", "--kernel", &k, &e), CNF_E_USAGE);
    CHECK_EQ_INT(e.line, 1);
    CHECK_EQ_INT(e.col, 8);
    CHECK_STR_CONTAINS(e.msg, "ragged");
    CHECK_EQ_INT(cnf_kernel_parse("[[1, 2x]]", "--kernel", &k, &e), CNF_E_USAGE);
    CHECK_EQ_INT(e.col, 7);
}

static void one_d_inline_kernel_is_one_row_and_3d_has_depth(void)
{
    cnf_kernel *k = t_kernel("[1,0,-1]");
    CHECK(cnf_kernel_height(k) == 1 && cnf_kernel_width(k) == 3 && !cnf_kernel_is_3d(k));
    cnf_kernel_free(k);
    k = t_kernel("[[[1,2]],[[3,4]],[[5,6]]]");
    CHECK(cnf_kernel_depth(k) == 3 && cnf_kernel_height(k) == 1 && cnf_kernel_width(k) == 2);
    CHECK(cnf_kernel_is_3d(k));
    cnf_kernel_free(k);
}

static cnf_status from_json(const char *text, cnf_kernel **k, cnf_error *e)
{
    return cnf_kernel_from_json(text, strlen(text), "k.json", "k", k, e);
}

static void kernel_json_reads_divisor_bias_and_flip(void)
{
    cnf_kernel *k = NULL;
    cnf_error e;
    CHECK_EQ_INT(from_json("{\"name\": \"x\", \"weights\": [[1,2],[3,4]], \"divisor\": 4, "
                           "\"bias\": 0.5, \"flip\": true}",
                           &k, &e),
                 CNF_OK);
    if (k) {
        const double *w = cnf_kernel_weights(k);
        CHECK(w[0] == 4 && w[1] == 3 && w[2] == 2 && w[3] == 1);
        CHECK(cnf_kernel_divisor(k) == 4 && cnf_kernel_bias(k) == 0.5);
        CHECK(strcmp(cnf_kernel_name(k), "k") == 0);
    }
    cnf_kernel_free(k);
}

static void kernel_json_errors_name_file_line_and_column(void)
{
    static const struct {
        const char *text;
        cnf_status st;
        int line, col;
        const char *msg;
    } T[] = {
        {"{\"weights\": [[1]], \"weights\": [[2]]}", CNF_E_USAGE, 1, 20, "duplicate"},
        {"{\"weights\": [[1]],\n \"colour\": 1}", CNF_E_USAGE, 2, 2, "unknown key"},
        {"{\"weights\": [[1]]} x", CNF_E_USAGE, 1, 20, "after"},
        {"{\"weights\": [[1]], \"divisor\": 0}", CNF_E_USAGE, 1, 31, "divisor"},
        {"{\"weights\": [[1e309]]}", CNF_E_USAGE, 1, 15, "finite"},
        {"{\"weights\": [[1, 2],\n  [3]]}", CNF_E_USAGE, 2, 3, "ragged"},
        {"{\"weights\": \"no\"}", CNF_E_USAGE, 1, 13, "array"},
        {"{\"divisor\": 2}", CNF_E_USAGE, 1, 1, "weights"},
        {"{\"weights\": [[1]], \"flip\": 1}", CNF_E_USAGE, 1, 28, "flip"},
        {"\xef\xbb\xbf{\"weights\": [[1]]}", CNF_E_USAGE, 1, 1, "byte-order"},
        {"{\"weights\": [[1]]", CNF_E_USAGE, 1, 17, "syntax"},
        {"", CNF_E_USAGE, 1, 1, "empty"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        cnf_kernel *k = NULL;
        cnf_error e;
        memset(&e, 0, sizeof e);
        CHECK_EQ_INT(from_json(T[i].text, &k, &e), T[i].st);
        CHECK(k == NULL);
        CHECK_EQ_INT(e.line, T[i].line);
        CHECK_EQ_INT(e.col, T[i].col);
        CHECK_STR_CONTAINS(e.msg, T[i].msg);
        CHECK(strcmp(e.where, "k.json") == 0);
    }
}

static void json_limits_are_usage_errors(void)
{
    char *deep = malloc(100001 * 2 + 10);
    char name[300];
    cnf_kernel *k = NULL;
    cnf_error e;
    size_t n = 0;
    for (int i = 0; i < 100000; i++)
        deep[n++] = '[';
    for (int i = 0; i < 100000; i++)
        deep[n++] = ']';
    deep[n] = 0;
    CHECK_EQ_INT(cnf_kernel_from_json(deep, n, "deep.json", "deep", &k, &e), CNF_E_LIMIT);
    CHECK_STR_CONTAINS(e.msg, "deeper");
    CHECK_EQ_INT(cnf_status_is_usage(CNF_E_LIMIT), 1);
    free(deep);
    /* 256 columns: over the side limit. */
    {
        char *t = malloc(4096);
        size_t o = 0;
        o += (size_t)sprintf(t + o, "[[");
        for (int i = 0; i < 256; i++)
            o += (size_t)sprintf(t + o, "%s1", i ? "," : "");
        sprintf(t + o, "]]");
        CHECK_EQ_INT(cnf_kernel_from_json(t, strlen(t), "wide.json", "w", &k, &e), CNF_E_LIMIT);
        free(t);
    }
    memset(name, 'a', 257);
    name[257] = 0;
    {
        char t[600];
        snprintf(t, sizeof t, "{\"name\": \"%s\", \"weights\": [[1]]}", name);
        CHECK_EQ_INT(from_json(t, &k, &e), CNF_E_LIMIT);
    }
}

static void kernel_files_equal_the_compiled_in_builtins(void)
{
    DIR *d = opendir("kernels");
    struct dirent *de;
    int n = 0;
    CHECK(d != NULL);
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        char path[600], name[300];
        size_t len = strlen(de->d_name);
        cnf_kernel *fk, *bk = NULL;
        cnf_error e;
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(name, sizeof name, "%.*s", (int)(len - 5), de->d_name);
        if (cnf_kernel_parse(name, "--kernel", &bk, &e) != CNF_OK)
            continue; /* an example pipeline or custom kernel, not a built-in */
        snprintf(path, sizeof path, "kernels/%s", de->d_name);
        fk = t_kernel(path);
        {
            int h = cnf_kernel_height(bk), w = cnf_kernel_width(bk);
            int ok = same_weights(fk, h, w, cnf_kernel_weights(bk), cnf_kernel_divisor(bk));
            if (!ok)
                fprintf(stderr, "%s differs from the built-in %s\n", path, name);
            CHECK(ok);
            CHECK(strcmp(cnf_kernel_name(fk), name) == 0);
        }
        cnf_kernel_free(fk);
        cnf_kernel_free(bk);
        n++;
    }
    closedir(d);
    /* Every non-composite built-in has its file. */
    {
        size_t count;
        const cnf_builtin_info *b = cnf_builtins(&count);
        int expect = 0;
        for (size_t i = 0; i < count; i++) {
            const char *v, *h;
            if (!cnf_kernel_composite(b[i].name, &v, &h))
                expect++;
        }
        CHECK_EQ_INT(n, expect);
    }
}

static void separability_is_detected_with_integer_factors(void)
{
    cnf_kernel *k = t_kernel("sobel_v");
    double col[3], row[3];
    CHECK(cnf_kernel_separable(k, col, row));
    CHECK(col[0] == 1 && col[1] == 2 && col[2] == 1);
    CHECK(row[0] == -1 && row[1] == 0 && row[2] == 1);
    cnf_kernel_free(k);
    k = t_kernel("laplacian");
    CHECK(!cnf_kernel_separable(k, col, row));
    cnf_kernel_free(k);
}

int main(void)
{
    RUN(fixed_builtins_have_the_spec_weights);
    RUN(sized_builtins_follow_their_formulas);
    RUN(gaussian_with_sigma_is_sampled_and_normalised);
    RUN(bad_specs_are_usage_errors_naming_the_flag);
    RUN(inline_errors_give_line_and_column);
    RUN(one_d_inline_kernel_is_one_row_and_3d_has_depth);
    RUN(kernel_json_reads_divisor_bias_and_flip);
    RUN(kernel_json_errors_name_file_line_and_column);
    RUN(json_limits_are_usage_errors);
    RUN(kernel_files_equal_the_compiled_in_builtins);
    RUN(separability_is_detected_with_integer_factors);
    return t_finish("test_kernel");
}
