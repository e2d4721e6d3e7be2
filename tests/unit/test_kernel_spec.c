/* test_kernel_spec.c - kernel specs: built-in, inline matrix or file; what their errors name. */
#include "test_util.h"

#include <unistd.h>

static cnf_error E;
static char DIR_[64];

static cnf_status spec(const char *s, cnf_kernel **k)
{
    memset(&E, 0, sizeof E);
    return cnf_kernel_parse(s, "label", k, &E);
}

static void path_of(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", DIR_, name);
}

static void write_file(const char *name, const char *text, size_t len)
{
    char path[200];
    FILE *f;
    path_of(path, sizeof path, name);
    f = fopen(path, "w");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
        abort();
}

static void a_built_in_is_named_by_its_spec(void)
{
    cnf_kernel *k = NULL;
    CHECK_EQ_INT(spec("gaussian:5:1.5", &k), CNF_OK);
    CHECK(k && cnf_kernel_width(k) == 5 && strcmp(cnf_kernel_name(k), "gaussian-5-1.5") == 0);
    cnf_kernel_free(k);
    CHECK_EQ_INT(spec("laplacian", &k), CNF_OK);
    CHECK(k && strcmp(cnf_kernel_name(k), "laplacian") == 0);
    cnf_kernel_free(k);
}

static void spec_errors_name_the_label_not_a_file(void)
{
    static const struct {
        const char *spec;
        const char *msg;
    } T[] = {
        {"box:0", "size of 'box' must be an integer from 1 to 255, not '0'"},
        {"sobel:3", "kernel 'sobel' takes no size"},
        {"", "empty kernel spec"},
        {" \t\n", "empty kernel spec"},
        {"nosuch", "unknown kernel 'nosuch': not a built-in (see 'cnnfilter kernels'), an inline "
                   "matrix or an existing file"},
        {"[[1, 2], [3]]", "ragged array: 1 elements where the first had 2"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        cnf_kernel *k = NULL;
        CHECK_EQ_INT(spec(T[i].spec, &k), CNF_E_USAGE);
        CHECK(k == NULL);
        CHECK_EQ_INT(E.subject, CNF_SUBJECT_SPEC);
        CHECK(strcmp(E.where, "label") == 0);
        if (strcmp(E.msg, T[i].msg) != 0)
            fprintf(stderr, "'%s': %s\n", T[i].spec, E.msg);
        CHECK(strcmp(E.msg, T[i].msg) == 0);
    }
    /* Inline errors give the column in the spec. */
    CHECK(E.line == 1 && E.col == 10);
}

static void composites_are_the_pair_of_their_parts(void)
{
    static const char *const names[][3] = {
        {"sobel", "sobel_v", "sobel_h"}, {"prewitt", "prewitt_v", "prewitt_h"},
        {"scharr", "scharr_v", "scharr_h"}};
    for (int i = 0; i < 3; i++) {
        cnf_kernel *k = NULL, *f = NULL;
        CHECK_EQ_INT(spec(names[i][0], &k), CNF_OK);
        if (!k)
            continue;
        CHECK_EQ_INT(cnf_kernel_is_composite(k), 1);
        CHECK(strcmp(cnf_kernel_name(k), names[i][0]) == 0);
        CHECK(strcmp(cnf_kernel_name(cnf_kernel_part(k, 0)), names[i][1]) == 0);
        CHECK(strcmp(cnf_kernel_name(cnf_kernel_part(k, 1)), names[i][2]) == 0);
        CHECK(cnf_kernel_part(k, 2) == NULL);
        CHECK(cnf_kernel_weights(k) == NULL);
        CHECK_EQ_INT(cnf_kernel_separable(k, NULL, NULL), 0);
        CHECK_EQ_INT(cnf_kernel_width(k), 3);
        /* Flipped, each part is flipped: sobel_v's first weight -1 becomes 1. */
        CHECK_EQ_INT(cnf_kernel_flipped(k, &f, &E), CNF_OK);
        if (f) {
            CHECK_EQ_INT(cnf_kernel_is_composite(f), 1);
            CHECK(cnf_kernel_weights(cnf_kernel_part(f, 0))[0] ==
                  -cnf_kernel_weights(cnf_kernel_part(k, 0))[0]);
        }
        cnf_kernel_free(f);
        cnf_kernel_free(k);
    }
}

static void an_inline_matrix_may_be_one_two_or_three_dimensional(void)
{
    cnf_kernel *k = NULL;
    CHECK_EQ_INT(spec("  [1, 0, -1]", &k), CNF_OK);
    CHECK(k && cnf_kernel_height(k) == 1 && cnf_kernel_width(k) == 3);
    CHECK(k && strcmp(cnf_kernel_name(k), "") == 0);
    cnf_kernel_free(k);
    CHECK_EQ_INT(spec("[[[1]], [[2]]]", &k), CNF_OK);
    CHECK(k && cnf_kernel_is_3d(k) && cnf_kernel_depth(k) == 2);
    cnf_kernel_free(k);
}

static void a_kernel_file_is_named_by_its_stem_and_its_errors_by_its_path(void)
{
    char path[200];
    cnf_kernel *k = NULL;
    write_file("my.edge.json", "{\"weights\": [[1, -1]]}", 22);
    path_of(path, sizeof path, "my.edge.json");
    CHECK_EQ_INT(spec(path, &k), CNF_OK);
    CHECK(k && strcmp(cnf_kernel_name(k), "my.edge") == 0);
    cnf_kernel_free(k);
    write_file(".hidden", "{\"weights\": [[1]]}", 18);
    path_of(path, sizeof path, ".hidden");
    CHECK_EQ_INT(spec(path, &k), CNF_OK);
    CHECK(k && strcmp(cnf_kernel_name(k), ".hidden") == 0);
    cnf_kernel_free(k);
    write_file("row.json", "[1, 0, -1]", 10);
    path_of(path, sizeof path, "row.json");
    CHECK_EQ_INT(spec(path, &k), CNF_E_USAGE);
    CHECK_EQ_INT(E.subject, CNF_SUBJECT_FILE);
    CHECK(strcmp(E.where, path) == 0);
    CHECK(E.line == 1 && E.col == 1);
    CHECK_STR_CONTAINS(E.msg, "the bare-matrix shorthand is only for inline kernel specs");
    CHECK_EQ_INT(spec(DIR_, &k), CNF_E_USAGE);
    CHECK_EQ_INT(E.subject, CNF_SUBJECT_FILE);
    CHECK(strcmp(E.msg, "is a directory") == 0);
}

static void a_kernel_file_over_four_mib_is_a_json_limit(void)
{
    char path[200];
    cnf_kernel *k = NULL;
    size_t n = CNF_MAX_JSON_BYTES + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    memcpy(big, "{\"weights\": [[1]]}", 18);
    write_file("big.json", big, n);
    path_of(path, sizeof path, "big.json");
    CHECK_EQ_INT(spec(path, &k), CNF_E_LIMIT);
    CHECK_EQ_INT(E.limit, CNF_LIMIT_JSON);
    CHECK(strcmp(E.where, path) == 0);
    CHECK(strcmp(E.msg, "kernel file is larger than 4194304 bytes (limit)") == 0);
    write_file("big.json", big, n - 1); /* exactly at the limit */
    CHECK_EQ_INT(spec(path, &k), CNF_OK);
    cnf_kernel_free(k);
    free(big);
}

int main(void)
{
    const char *names[] = {"my.edge.json", ".hidden", "row.json", "big.json"};
    snprintf(DIR_, sizeof DIR_, "/tmp/cnf_test_kernel_spec.XXXXXX");
    if (!mkdtemp(DIR_))
        return 1;
    RUN(a_built_in_is_named_by_its_spec);
    RUN(spec_errors_name_the_label_not_a_file);
    RUN(composites_are_the_pair_of_their_parts);
    RUN(an_inline_matrix_may_be_one_two_or_three_dimensional);
    RUN(a_kernel_file_is_named_by_its_stem_and_its_errors_by_its_path);
    RUN(a_kernel_file_over_four_mib_is_a_json_limit);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[200];
        path_of(path, sizeof path, names[i]);
        unlink(path);
    }
    rmdir(DIR_);
    return t_finish("test_kernel_spec");
}
