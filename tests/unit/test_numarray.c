/* test_numarray.c - the strict numeric-array parser: number grammar, shapes, errors at line:col. */
#include "test_util.h"

#include "../../src/lib/numarray.h"

/* Room for every value a test writes. */
static const cnf_numarray_cap BIG = {1000, CNF_E_LIMIT, CNF_LIMIT_KERNEL};

static cnf_status parse(const char *text, const cnf_numarray_cap *cap, cnf_numarray *a,
                        cnf_error *e)
{
    memset(e, 0, sizeof *e);
    return cnf__numarray_parse(text, strlen(text), 0, "a.json", cap, a, e);
}

/* text must fail with st at line:col and a message containing msg. */
static void expect_error(const char *text, cnf_status st, int line, int col, const char *msg)
{
    cnf_numarray a;
    cnf_error e;
    cnf_status got = parse(text, &BIG, &a, &e);
    if (got != st || e.line != line || e.col != col)
        fprintf(stderr, "'%s': status %d at %d:%d (%s)\n", text, got, e.line, e.col, e.msg);
    CHECK_EQ_INT(got, st);
    CHECK_EQ_INT(e.line, line);
    CHECK_EQ_INT(e.col, col);
    CHECK_STR_CONTAINS(e.msg, msg);
    CHECK(strcmp(e.where, "a.json") == 0);
    CHECK(a.vals == NULL);
}

static void json_numbers_are_read_exactly(void)
{
    static const struct {
        const char *text;
        double v;
    } T[] = {
        {"[0]", 0},          {"[1]", 1},          {"[-1]", -1},     {"[10]", 10},
        {"[1.5]", 1.5},      {"[-0.25]", -0.25},  {"[1e3]", 1000},  {"[1E3]", 1000},
        {"[1e+3]", 1000},    {"[1e-3]", 0.001},   {"[1.5e2]", 150}, {"[0.0]", 0},
        {"[123456789]", 123456789}, {"[1e308]", 1e308}, {"[2.5E-3]", 0.0025},
        {"[1e-400]", 0}, /* underflows to zero: finite, so accepted */
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        cnf_numarray a;
        cnf_error e;
        CHECK_EQ_INT(parse(T[i].text, &BIG, &a, &e), CNF_OK);
        CHECK(a.vals && a.vals[0] == T[i].v);
        if (a.vals && a.vals[0] != T[i].v)
            fprintf(stderr, "'%s' gave %.17g\n", T[i].text, a.vals[0]);
        cnf__numarray_free(&a);
    }
    {
        cnf_numarray a;
        cnf_error e;
        CHECK_EQ_INT(parse("[-0]", &BIG, &a, &e), CNF_OK);
        CHECK(a.vals && a.vals[0] == 0 && signbit(a.vals[0]));
        cnf__numarray_free(&a);
    }
}

static void forms_outside_the_json_grammar_are_refused_where_they_go_wrong(void)
{
    char long_number[200];
    expect_error("[01]", CNF_E_USAGE, 1, 3, "expected ',' or ']'");
    expect_error("[+1]", CNF_E_USAGE, 1, 2, "expected a number");
    expect_error("[.5]", CNF_E_USAGE, 1, 2, "expected a number");
    expect_error("[1.]", CNF_E_USAGE, 1, 4, "expected a digit after '.'");
    expect_error("[1.e3]", CNF_E_USAGE, 1, 4, "expected a digit after '.'");
    expect_error("[1e]", CNF_E_USAGE, 1, 4, "expected a digit in the exponent");
    expect_error("[1e+]", CNF_E_USAGE, 1, 5, "expected a digit in the exponent");
    expect_error("[0x10]", CNF_E_USAGE, 1, 3, "expected ',' or ']'");
    expect_error("[1 2]", CNF_E_USAGE, 1, 4, "expected ',' or ']'");
    expect_error("[NaN]", CNF_E_USAGE, 1, 2, "not a finite number");
    expect_error("[nan]", CNF_E_USAGE, 1, 2, "not a finite number");
    expect_error("[Infinity]", CNF_E_USAGE, 1, 2, "not a finite number");
    expect_error("[-Infinity]", CNF_E_USAGE, 1, 2, "not a finite number");
    expect_error("[-nan]", CNF_E_USAGE, 1, 2, "expected a number");
    expect_error("[true]", CNF_E_USAGE, 1, 2, "expected a number");
    expect_error("[\"1\"]", CNF_E_USAGE, 1, 2, "expected a number");
    expect_error("[1e309]", CNF_E_USAGE, 1, 2, "number '1e309' is out of range (not finite)");
    expect_error("[0, -1e309]", CNF_E_USAGE, 1, 5, "number '-1e309' is out of range");
    expect_error("[1e99999999999999999999]", CNF_E_USAGE, 1, 2, "out of range");
    /* 130 digits: longer than any double needs. */
    long_number[0] = '[';
    long_number[1] = '1';
    memset(long_number + 2, '0', 129);
    strcpy(long_number + 131, "]");
    expect_error(long_number, CNF_E_USAGE, 1, 2, "number too long");
}

static void shapes_are_one_two_and_three_dimensional(void)
{
    cnf_numarray a;
    cnf_error e;
    CHECK_EQ_INT(parse("[1, 2, 3]", &BIG, &a, &e), CNF_OK);
    CHECK_EQ_INT(a.ndims, 1);
    CHECK(a.shape[0] == 1 && a.shape[1] == 1 && a.shape[2] == 3);
    CHECK(a.vals[0] == 1 && a.vals[1] == 2 && a.vals[2] == 3);
    CHECK_EQ_INT(a.end, 9);
    cnf__numarray_free(&a);
    CHECK(a.vals == NULL);

    CHECK_EQ_INT(parse("[[1,2],\n [3,4],\n [5,6]] tail", &BIG, &a, &e), CNF_OK);
    CHECK_EQ_INT(a.ndims, 2);
    CHECK(a.shape[0] == 1 && a.shape[1] == 3 && a.shape[2] == 2);
    CHECK(a.vals[0] == 1 && a.vals[1] == 2 && a.vals[4] == 5 && a.vals[5] == 6);
    CHECK_EQ_INT(a.end, 23); /* just after the last ']' */
    cnf__numarray_free(&a);

    CHECK_EQ_INT(parse("[[[1,2]],[[3,4]],[[5,6]]]", &BIG, &a, &e), CNF_OK);
    CHECK_EQ_INT(a.ndims, 3);
    CHECK(a.shape[0] == 3 && a.shape[1] == 1 && a.shape[2] == 2);
    CHECK(a.vals[2] == 3 && a.vals[5] == 6);
    cnf__numarray_free(&a);

    /* Parsing from an offset inside a larger text. */
    memset(&e, 0, sizeof e);
    CHECK_EQ_INT(cnf__numarray_parse("w = [7]", 7, 4, "a.json", &BIG, &a, &e), CNF_OK);
    CHECK(a.vals && a.vals[0] == 7 && a.end == 7);
    cnf__numarray_free(&a);
}

static void ragged_mixed_deep_and_empty_arrays_are_refused(void)
{
    expect_error("[[1,2],[3]]", CNF_E_USAGE, 1, 8,
                 "ragged array: 1 elements where the first had 2");
    expect_error("[[[1]],[[1],[2]]]", CNF_E_USAGE, 1, 8, "ragged array: 2 elements");
    expect_error("[[1],2]", CNF_E_USAGE, 1, 6, "expected an array, found a number");
    expect_error("[1,[2]]", CNF_E_USAGE, 1, 4, "expected a number, found an array");
    expect_error("[[[[1]]]]", CNF_E_USAGE, 1, 4, "arrays nested deeper than 3 levels");
    expect_error("[]", CNF_E_USAGE, 1, 1, "empty array");
    expect_error("[ \n ]", CNF_E_USAGE, 1, 1, "empty array");
    expect_error("[[]]", CNF_E_USAGE, 1, 2, "empty array");
    expect_error("[[1],[]]", CNF_E_USAGE, 1, 6, "empty array");
    expect_error("[1,", CNF_E_USAGE, 1, 4, "unexpected end of input inside an array");
    expect_error("[1", CNF_E_USAGE, 1, 3, "unexpected end of input inside an array");
    expect_error("{\"a\": 1}", CNF_E_USAGE, 1, 1, "expected an array of numbers");
}

static void errors_in_multi_line_documents_give_their_line_and_column(void)
{
    expect_error("[[1, 2],\n [3, 4],\n [5, x]]", CNF_E_USAGE, 3, 6, "expected a number");
    expect_error("[[1,2],\n\n  [3]]", CNF_E_USAGE, 3, 3, "ragged");
    expect_error("[\r\n1,\r\n\t1e309]", CNF_E_USAGE, 3, 2, "out of range");
}

static void the_value_cap_stops_the_parse_with_its_status_and_limit(void)
{
    cnf_numarray_cap kernel = {4, CNF_E_LIMIT, CNF_LIMIT_KERNEL};
    cnf_numarray_cap input = {4, CNF_E_TOO_BIG, CNF_LIMIT_NONE};
    cnf_numarray a;
    cnf_error e;
    CHECK_EQ_INT(parse("[[1,2],[3,4]]", &kernel, &a, &e), CNF_OK);
    cnf__numarray_free(&a);
    CHECK_EQ_INT(parse("[1,2,3,4,5]", &kernel, &a, &e), CNF_E_LIMIT);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_KERNEL);
    CHECK_EQ_INT(e.col, 10);
    CHECK(strcmp(e.msg, "more than 4 values (limit)") == 0);
    CHECK(a.vals == NULL);
    CHECK_EQ_INT(parse("[1,2,3,4,5]", &input, &a, &e), CNF_E_TOO_BIG);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_NONE);
}

static cnf_status doc(const char *text, size_t len, cnf_numarray *a, cnf_error *e)
{
    memset(e, 0, sizeof *e);
    return cnf__numarray_doc(text, len, "d.json", &BIG, a, e);
}

static void a_document_is_one_array_and_nothing_else(void)
{
    cnf_numarray a;
    cnf_error e;
    CHECK_EQ_INT(doc(" \n[1, 2]\n\t", 10, &a, &e), CNF_OK);
    CHECK(a.shape[2] == 2 && a.vals[1] == 2);
    cnf__numarray_free(&a);
    CHECK_EQ_INT(doc("[1] x", 5, &a, &e), CNF_E_USAGE);
    CHECK_EQ_INT(e.col, 5);
    CHECK_STR_CONTAINS(e.msg, "unexpected content after the array");
    CHECK(a.vals == NULL);
    CHECK_EQ_INT(doc("[1]\n[2]", 7, &a, &e), CNF_E_USAGE);
    CHECK(e.line == 2 && e.col == 1);
    CHECK_EQ_INT(doc("  \n ", 4, &a, &e), CNF_E_USAGE);
    CHECK(e.line == 2 && e.col == 2);
    CHECK_STR_CONTAINS(e.msg, "empty document");
    CHECK_EQ_INT(doc("\xef\xbb\xbf[1]", 6, &a, &e), CNF_E_USAGE);
    CHECK_STR_CONTAINS(e.msg, "byte-order mark");
    CHECK_EQ_INT(doc("[1,\0 2]", 7, &a, &e), CNF_E_USAGE);
    CHECK(e.line == 1 && e.col == 4);
    CHECK_STR_CONTAINS(e.msg, "NUL byte");
    {
        char deep[80];
        memset(deep, '[', 33);
        strcpy(deep + 33, "1");
        memset(deep + 34, ']', 33);
        deep[67] = 0;
        CHECK_EQ_INT(doc(deep, 67, &a, &e), CNF_E_LIMIT);
        CHECK_EQ_INT(e.col, 33);
        CHECK_EQ_INT(e.limit, CNF_LIMIT_JSON);
        CHECK_STR_CONTAINS(e.msg, "nested deeper than 32");
    }
}

static void json_matrix_inputs_become_planar_images(void)
{
    cnf_image img;
    cnf_error e;
    const char *t = "[1, 2, 3]";
    CHECK_EQ_INT(cnf__json_matrix(t, strlen(t), "m.json", 100, &img, &e), CNF_OK);
    CHECK(img.width == 3 && img.height == 1 && img.channels == 1 && !img.has_alpha);
    CHECK(img.data[0] == 1 && img.data[2] == 3);
    cnf_image_free(&img);
    t = "[[1,2],[3,4],[5,6]]";
    CHECK_EQ_INT(cnf__json_matrix(t, strlen(t), "m.json", 100, &img, &e), CNF_OK);
    CHECK(img.width == 2 && img.height == 3 && img.channels == 1);
    CHECK(img.data[5] == 6);
    cnf_image_free(&img);
    t = "[[[0.5]],[[-1]],[[2]]]";
    CHECK_EQ_INT(cnf__json_matrix(t, strlen(t), "m.json", 100, &img, &e), CNF_OK);
    CHECK(img.width == 1 && img.height == 1 && img.channels == 3);
    CHECK(img.data[0] == 0.5f && img.data[1] == -1 && img.data[2] == 2);
    cnf_image_free(&img);
}

static void a_bad_json_matrix_input_is_a_decode_error_at_its_position(void)
{
    cnf_image img;
    cnf_error e;
    const char *t = "[[1,2],\n [3]]";
    char deep[80];
    CHECK_EQ_INT(cnf__json_matrix(t, strlen(t), "m.json", 100, &img, &e), CNF_E_DECODE);
    CHECK_EQ_INT(e.status, CNF_E_DECODE);
    CHECK(e.line == 2 && e.col == 2);
    CHECK(strcmp(e.where, "m.json") == 0);
    memset(deep, '[', 33);
    deep[33] = 0;
    CHECK_EQ_INT(cnf__json_matrix(deep, 33, "m.json", 100, &img, &e), CNF_E_DECODE);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_NONE); /* a decode error names no limit */
    t = "[[1,2],[3,4]]";
    CHECK_EQ_INT(cnf__json_matrix(t, strlen(t), "m.json", 3, &img, &e), CNF_E_TOO_BIG);
    CHECK_EQ_INT(e.limit, CNF_LIMIT_PIXELS);
    CHECK_STR_CONTAINS(e.msg, "2x2 matrix is over the pixel limit 3");
}

int main(void)
{
    RUN(json_numbers_are_read_exactly);
    RUN(forms_outside_the_json_grammar_are_refused_where_they_go_wrong);
    RUN(shapes_are_one_two_and_three_dimensional);
    RUN(ragged_mixed_deep_and_empty_arrays_are_refused);
    RUN(errors_in_multi_line_documents_give_their_line_and_column);
    RUN(the_value_cap_stops_the_parse_with_its_status_and_limit);
    RUN(a_document_is_one_array_and_nothing_else);
    RUN(json_matrix_inputs_become_planar_images);
    RUN(a_bad_json_matrix_input_is_a_decode_error_at_its_position);
    return t_finish("test_numarray");
}
