/* test_kernel_json.c - kernel documents, kernel objects, inline matrices: values and errors. */
#include "test_util.h"

#include "../../src/lib/kernel_json.h"

static cnf_error E;

static cnf_status from_json(const char *text, const char *default_name, cnf_kernel **k)
{
    memset(&E, 0, sizeof E);
    return cnf_kernel_from_json(text, strlen(text), "k.json", default_name, k, &E);
}

static void expect_error(const char *text, cnf_status st, int line, int col, const char *msg)
{
    cnf_kernel *k = NULL;
    CHECK_EQ_INT(from_json(text, "k", &k), st);
    CHECK(k == NULL);
    CHECK_EQ_INT(E.line, line);
    CHECK_EQ_INT(E.col, col);
    CHECK(strcmp(E.where, "k.json") == 0);
    CHECK_EQ_INT(E.subject, CNF_SUBJECT_FILE);
    if (strcmp(E.msg, msg) != 0)
        fprintf(stderr, "message: %s\nexpected: %s\n", E.msg, msg);
    CHECK(strcmp(E.msg, msg) == 0);
}

static const char BARE[] = "a kernel file is an object {\"weights\": [[...]], ...}: the "
                           "bare-matrix shorthand is only for inline kernel specs (such as "
                           "'[1,0,-1]') and input matrices";
static const char ONE_D[] = "\"weights\" must be 2-D or 3-D: the 1-D shorthand is only for inline "
                            "kernel specs (such as '[1,0,-1]') and input matrices";

static void a_kernel_object_gives_weights_divisor_bias_and_name(void)
{
    cnf_kernel *k = NULL;
    CHECK_EQ_INT(from_json("{\"weights\": [[1, 2, 3],\n [4, 5, 6]], \"divisor\": -2.5, "
                           "\"bias\": 0.5, \"name\": \"n\"}",
                           "stem", &k),
                 CNF_OK);
    if (k) {
        const double *w = cnf_kernel_weights(k);
        CHECK(cnf_kernel_width(k) == 3 && cnf_kernel_height(k) == 2 && cnf_kernel_depth(k) == 1);
        CHECK(!cnf_kernel_is_3d(k));
        CHECK(w[0] == 1 && w[2] == 3 && w[3] == 4 && w[5] == 6);
        CHECK(cnf_kernel_divisor(k) == -2.5 && cnf_kernel_bias(k) == 0.5);
        /* A file's kernel is named by the caller's default (its stem), not its "name". */
        CHECK(strcmp(cnf_kernel_name(k), "stem") == 0);
    }
    cnf_kernel_free(k);
    CHECK_EQ_INT(from_json("{\"weights\": [[[1]], [[2]], [[3]]], \"flip\": false}", "s", &k),
                 CNF_OK);
    if (k) {
        CHECK(cnf_kernel_is_3d(k) && cnf_kernel_depth(k) == 3 && cnf_kernel_width(k) == 1);
        CHECK(cnf_kernel_divisor(k) == 1 && cnf_kernel_bias(k) == 0);
    }
    cnf_kernel_free(k);
}

static void flip_rotates_every_plane_by_half_a_turn(void)
{
    cnf_kernel *k = NULL;
    CHECK_EQ_INT(from_json("{\"weights\": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]], \"flip\": true}",
                           "s", &k),
                 CNF_OK);
    if (k) {
        const double *w = cnf_kernel_weights(k);
        CHECK(w[0] == 4 && w[1] == 3 && w[2] == 2 && w[3] == 1);
        CHECK(w[4] == 8 && w[5] == 7 && w[6] == 6 && w[7] == 5);
    }
    cnf_kernel_free(k);
}

static void a_kernel_object_without_a_default_name_uses_its_own(void)
{
    cnf_jdoc d;
    cnf_kernel *k = NULL;
    const char *t = "[{\"weights\": [[1]], \"name\": \"mine\"}, {\"weights\": [[2]]}]";
    cnf_jval items[2];
    memset(&E, 0, sizeof E);
    CHECK_EQ_INT(cnf__jdoc_open(&d, t, strlen(t), "p.json", &E), CNF_OK);
    CHECK_EQ_INT(cnf__jdoc_parse(&d), CNF_OK);
    CHECK_EQ_INT(cnf__jdoc_elements(&d, cnf__jdoc_root(&d), items, 2), 2);
    CHECK_EQ_INT(cnf__kernel_from_object(&d, items[0], "", &k), CNF_OK);
    CHECK(k && strcmp(cnf_kernel_name(k), "mine") == 0);
    cnf_kernel_free(k);
    CHECK_EQ_INT(cnf__kernel_from_object(&d, items[1], "", &k), CNF_OK);
    CHECK(k && strcmp(cnf_kernel_name(k), "") == 0);
    cnf_kernel_free(k);
    cnf__jdoc_close(&d);
}

static void kernel_files_refuse_the_bare_matrix_and_one_d_shorthand(void)
{
    expect_error("[1, 0, -1]", CNF_E_USAGE, 1, 1, BARE);
    expect_error("\n\n  [[1, 0], [0, -1]]\n", CNF_E_USAGE, 3, 3, BARE);
    expect_error("[[[1]], [[2]]]", CNF_E_USAGE, 1, 1, BARE);
    expect_error("{\"name\": \"row\",\n  \"weights\": [1, 0, -1]}", CNF_E_USAGE, 2, 14, ONE_D);
    /* A bare matrix with a fault of its own reports that fault, as it always did. */
    expect_error("[[1, 2], [3]]", CNF_E_USAGE, 1, 10,
                 "ragged array: 1 elements where the first had 2");
    expect_error("[[1]] x", CNF_E_USAGE, 1, 7, "unexpected content after the kernel");
}

static void every_kernel_key_is_checked_at_its_value(void)
{
    expect_error("{\"weights\": [[1]], \"divisor\": 0}", CNF_E_USAGE, 1, 31,
                 "\"divisor\" must be a finite non-zero number");
    expect_error("{\"weights\": [[1]], \"divisor\": \"2\"}", CNF_E_USAGE, 1, 31,
                 "\"divisor\" must be a finite non-zero number");
    expect_error("{\"weights\": [[1]], \"bias\": [1]}", CNF_E_USAGE, 1, 28,
                 "\"bias\" must be a finite number");
    expect_error("{\"weights\": [[1]], \"bias\": -1e309}", CNF_E_USAGE, 1, 28,
                 "\"bias\" must be a finite number");
    expect_error("{\"weights\": [[1]], \"flip\": 1}", CNF_E_USAGE, 1, 28,
                 "\"flip\" must be true or false");
    expect_error("{\"weights\": [[1]], \"name\": 5}", CNF_E_USAGE, 1, 28,
                 "\"name\" must be a string");
    expect_error("{\"name\": \"x\"}", CNF_E_USAGE, 1, 1, "missing key \"weights\"");
    expect_error("{\"weights\": null}", CNF_E_USAGE, 1, 13, "expected an array of numbers");
    expect_error("{\"Weights\": [[1]]}", CNF_E_USAGE, 1, 2,
                 "unknown key \"Weights\" in a kernel (allowed: name, weights, divisor, bias, "
                 "flip)");
    expect_error("3", CNF_E_USAGE, 1, 1,
                 "expected a kernel object {\"weights\": [[...]], ...} or a matrix");
    expect_error("{\"weights\": [[1]],}", CNF_E_USAGE, 1, 19, "JSON syntax error");
}

static void kernel_limits_say_which_limit(void)
{
    char name[300], t[800];
    char *wide = malloc(2000);
    cnf_kernel *k = NULL;
    size_t o = (size_t)sprintf(wide, "{\"weights\": [[");
    for (int i = 0; i < 256; i++)
        o += (size_t)sprintf(wide + o, "%s1", i ? "," : "");
    strcpy(wide + o, "]]}");
    expect_error(wide, CNF_E_LIMIT, 1, 13,
                 "kernel of 1x256 (depth 1) is over the limit of 255 per side and depth 64");
    CHECK_EQ_INT(E.limit, CNF_LIMIT_KERNEL);
    free(wide);
    o = (size_t)sprintf(t, "{\"weights\": [");
    for (int i = 0; i < 65; i++)
        o += (size_t)sprintf(t + o, "%s[[1]]", i ? "," : "");
    strcpy(t + o, "]}");
    expect_error(t, CNF_E_LIMIT, 1, 13,
                 "kernel of 1x1 (depth 65) is over the limit of 255 per side and depth 64");
    CHECK_EQ_INT(E.limit, CNF_LIMIT_KERNEL);
    memset(name, 'n', 257);
    name[257] = 0;
    snprintf(t, sizeof t, "{\"weights\": [[1]], \"name\": \"%s\"}", name);
    expect_error(t, CNF_E_LIMIT, 1, 28, "\"name\" is longer than 256 characters (limit)");
    CHECK_EQ_INT(E.limit, CNF_LIMIT_JSON);
    name[256] = 0; /* exactly 256: accepted */
    snprintf(t, sizeof t, "{\"weights\": [[1]], \"name\": \"%s\"}", name);
    CHECK_EQ_INT(from_json(t, "", &k), CNF_OK);
    CHECK(k && strlen(cnf_kernel_name(k)) == 256);
    cnf_kernel_free(k);
}

static void inline_matrices_keep_the_shorthand(void)
{
    cnf_kernel *k = NULL;
    const char *t = " [1, 0, -1] ";
    memset(&E, 0, sizeof E);
    CHECK_EQ_INT(cnf__kernel_from_inline(t, strlen(t), "--kernel", &k, &E), CNF_OK);
    CHECK(k && cnf_kernel_height(k) == 1 && cnf_kernel_width(k) == 3);
    CHECK(k && strcmp(cnf_kernel_name(k), "") == 0);
    cnf_kernel_free(k);
    t = "[[1, 2]] [";
    CHECK_EQ_INT(cnf__kernel_from_inline(t, strlen(t), "--kernel", &k, &E), CNF_E_USAGE);
    CHECK(k == NULL);
    CHECK(E.line == 1 && E.col == 10);
    CHECK(strcmp(E.where, "--kernel") == 0);
    CHECK(strcmp(E.msg, "unexpected content after the kernel") == 0);
    t = "{\"weights\": [[1]]}";
    CHECK_EQ_INT(cnf__kernel_from_inline(t, strlen(t), "--kernel", &k, &E), CNF_E_USAGE);
    CHECK(strcmp(E.msg, "expected an array of numbers") == 0);
}

int main(void)
{
    RUN(a_kernel_object_gives_weights_divisor_bias_and_name);
    RUN(flip_rotates_every_plane_by_half_a_turn);
    RUN(a_kernel_object_without_a_default_name_uses_its_own);
    RUN(kernel_files_refuse_the_bare_matrix_and_one_d_shorthand);
    RUN(every_kernel_key_is_checked_at_its_value);
    RUN(kernel_limits_say_which_limit);
    RUN(inline_matrices_keep_the_shorthand);
    return t_finish("test_kernel_json");
}
