/* test_kernel_write.c - cnf_kernel_to_json: the exact text of a small kernel, and documents that
 * cnf_kernel_from_json and cnf_kernel_parse read back to the same doubles, divisor, bias, name
 * and shape. */
#include "test_util.h"

#include "../../src/lib/internal.h"

#include <unistd.h>

static char *to_json(const cnf_kernel *k)
{
    char *out = NULL;
    size_t len = 0;
    cnf_error e;
    if (cnf_kernel_to_json(k, &out, &len, &e) != CNF_OK) {
        fprintf(stderr, "to_json: %s\n", e.msg);
        abort();
    }
    if (strlen(out) != len || len == 0 || out[len - 1] != '\n')
        abort();
    return out;
}

static cnf_kernel *read_back(const char *text)
{
    cnf_kernel *k = NULL;
    cnf_error e;
    if (cnf_kernel_from_json(text, strlen(text), "k.json", "", &k, &e) != CNF_OK) {
        fprintf(stderr, "read back: %s: %s\n%s", e.where, e.msg, text);
        return NULL;
    }
    return k;
}

static int same_kernel(const cnf_kernel *a, const cnf_kernel *b)
{
    size_t n = (size_t)a->w * a->h * a->depth;
    return b && a->w == b->w && a->h == b->h && a->depth == b->depth && a->is3d == b->is3d &&
           memcmp(a->weights, b->weights, n * sizeof(double)) == 0 &&
           memcmp(&a->bias, &b->bias, sizeof(double)) == 0 && a->divisor == b->divisor;
}

static void a_small_kernel_is_written_as_this_text(void)
{
    cnf_kernel *k = cnf__kernel_new(3, 2, 1);
    char *s;
    double w[6] = {1, -0.5, 0, 0.1, 2, -3};
    memcpy(k->weights, w, sizeof w);
    k->bias = 0.25;
    snprintf(k->name, sizeof k->name, "learned");
    s = to_json(k);
    CHECK(strcmp(s, "{\n"
                    "  \"name\": \"learned\",\n"
                    "  \"weights\": [\n"
                    "    [1, -0.5, 0],\n"
                    "    [0.10000000000000001, 2, -3]\n"
                    "  ],\n"
                    "  \"bias\": 0.25\n"
                    "}\n") == 0);
    free(s);
    cnf_kernel_free(k);
}

static void awkward_doubles_divisor_and_bias_read_back_bit_for_bit(void)
{
    cnf_kernel *k = cnf__kernel_new(4, 2, 1), *b;
    double w[8] = {1.0 / 3, -0.0, 1e-300, -1.7976931348623157e308, 0.1 + 0.2, 4.9e-324,
                   123456789.123456789, -2.5};
    char *s;
    memcpy(k->weights, w, sizeof w);
    k->divisor = 7;
    k->bias = -1.0 / 7;
    s = to_json(k);
    CHECK(strstr(s, "\"name\"") == NULL); /* no name: none written */
    CHECK_STR_CONTAINS(s, "\"divisor\": 7,");
    b = read_back(s);
    CHECK(same_kernel(k, b));
    CHECK(b && signbit(b->weights[1]));
    cnf_kernel_free(b);
    free(s);
    cnf_kernel_free(k);
}

static void a_3d_kernel_stays_3d_even_with_one_plane(void)
{
    for (int depth = 1; depth <= 3; depth += 2) {
        cnf_kernel *k = cnf__kernel_new(2, 3, depth), *b;
        char *s;
        for (int i = 0; i < 6 * depth; i++)
            k->weights[i] = i * 0.37 - 1;
        k->is3d = 1;
        k->bias = 5;
        s = to_json(k);
        b = read_back(s);
        CHECK(same_kernel(k, b));
        cnf_kernel_free(b);
        free(s);
        cnf_kernel_free(k);
    }
}

static void names_are_escaped_and_an_overlong_one_is_left_out(void)
{
    cnf_kernel *k = cnf__kernel_new(1, 1, 1), *b;
    char *s;
    k->weights[0] = 1;
    snprintf(k->name, sizeof k->name, "a \"quoted\" \\ name\twith\ncontrols and \xc3\xa9");
    s = to_json(k);
    CHECK_STR_CONTAINS(s, "\"a \\\"quoted\\\" \\\\ name\\u0009with\\u000acontrols and \xc3\xa9\"");
    b = read_back(s);
    CHECK(b && strcmp(b->name, k->name) == 0);
    cnf_kernel_free(b);
    free(s);
    memset(k->name, 'x', 257);
    k->name[257] = 0;
    s = to_json(k);
    CHECK(strstr(s, "\"name\"") == NULL);
    b = read_back(s);
    CHECK(same_kernel(k, b));
    cnf_kernel_free(b);
    free(s);
    cnf_kernel_free(k);
}

static void a_composite_kernel_has_no_weights_to_write(void)
{
    cnf_kernel *k = t_kernel("sobel");
    char *out = (char *)1;
    size_t len = 9;
    cnf_error e;
    CHECK_EQ_INT(cnf_kernel_to_json(k, &out, &len, &e), CNF_E_USAGE);
    CHECK(out == NULL && len == 0);
    CHECK_STR_CONTAINS(e.msg, "no weights of its own");
    cnf_kernel_free(k);
}

/* Through a file, as -k reads it: every built-in written out comes back the same. */
static void built_in_kernels_written_to_a_file_read_back_with_parse(void)
{
    static const char *specs[] = {"sobel_v", "gaussian:5", "gaussian:4:1.3", "box:4", "emboss"};
    char dir[] = "/tmp/cnf-kw-XXXXXX", file[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(file, sizeof file, "%s/k.json", dir);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        cnf_kernel *k = t_kernel(specs[i]), *b = NULL;
        char *s = to_json(k);
        FILE *f = fopen(file, "w");
        cnf_error e;
        fputs(s, f);
        fclose(f);
        CHECK_EQ_INT(cnf_kernel_parse(file, "--kernel", &b, &e), CNF_OK);
        CHECK(same_kernel(k, b));
        CHECK(b && strcmp(b->name, "k") == 0); /* a file's kernel is named by its stem */
        cnf_kernel_free(b);
        cnf_kernel_free(k);
        free(s);
    }
    unlink(file);
    rmdir(dir);
}

int main(void)
{
    RUN(a_small_kernel_is_written_as_this_text);
    RUN(awkward_doubles_divisor_and_bias_read_back_bit_for_bit);
    RUN(a_3d_kernel_stays_3d_even_with_one_plane);
    RUN(names_are_escaped_and_an_overlong_one_is_left_out);
    RUN(a_composite_kernel_has_no_weights_to_write);
    RUN(built_in_kernels_written_to_a_file_read_back_with_parse);
    return t_finish("test_kernel_write");
}
