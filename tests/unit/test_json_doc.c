/* test_json_doc.c - JSON documents: checks before parsing, key/element offsets, typed getters. */
#include "test_util.h"

#include "../../src/lib/json_doc.h"

static cnf_error E;

/* Open and parse text as document "d.json"; the status of the first step that fails. */
static cnf_status load(cnf_jdoc *d, const char *text, size_t len)
{
    cnf_status st;
    memset(&E, 0, sizeof E);
    st = cnf__jdoc_open(d, text, len, "d.json", &E);
    return st ? st : cnf__jdoc_parse(d);
}

static void check_error(cnf_status st, cnf_status want, int line, int col, const char *msg)
{
    CHECK_EQ_INT(st, want);
    CHECK_EQ_INT(E.line, line);
    CHECK_EQ_INT(E.col, col);
    CHECK_STR_CONTAINS(E.msg, msg);
    CHECK(strcmp(E.where, "d.json") == 0);
}

static void bad_bytes_are_refused_before_parsing(void)
{
    cnf_jdoc d;
    check_error(load(&d, "\xef\xbb\xbf{}", 5), CNF_E_USAGE, 1, 1, "byte-order mark");
    check_error(load(&d, "{\"a\":\n 1\0}", 10), CNF_E_USAGE, 2, 3, "NUL byte in JSON");
    check_error(load(&d, "{\"a\": \"x\ty\"}", 12), CNF_E_USAGE, 1, 9,
                "control character in a JSON string (write it as \\uXXXX)");
    /* An escaped quote does not end the string; the tab after it is still inside. */
    check_error(load(&d, "[\"a\\\"\t\"]", 8), CNF_E_USAGE, 1, 6, "control character");
    CHECK_EQ_INT(E.limit, CNF_LIMIT_NONE);
}

static void nesting_is_limited_before_cjson_sees_it(void)
{
    char text[100];
    cnf_jdoc d;
    size_t n = 0;
    /* 32 levels, with brackets inside a string that do not count. */
    for (int i = 0; i < 31; i++)
        text[n++] = '[';
    n += (size_t)sprintf(text + n, "{\"k\": \"[[[[\"}");
    for (int i = 0; i < 31; i++)
        text[n++] = ']';
    CHECK_EQ_INT(load(&d, text, n), CNF_OK);
    cnf__jdoc_close(&d);
    memset(text, '[', 40);
    check_error(load(&d, text, 40), CNF_E_LIMIT, 1, 33, "JSON nested deeper than 32 levels");
    CHECK_EQ_INT(E.limit, CNF_LIMIT_JSON);
}

static void size_emptiness_syntax_and_trailing_content_are_checked(void)
{
    cnf_jdoc d;
    char *big = malloc(CNF_MAX_JSON_BYTES + 1);
    memset(big, ' ', CNF_MAX_JSON_BYTES + 1);
    big[0] = '1';
    CHECK_EQ_INT(load(&d, big, CNF_MAX_JSON_BYTES + 1), CNF_E_LIMIT);
    CHECK_EQ_INT(E.limit, CNF_LIMIT_JSON);
    CHECK_EQ_INT(E.line, 0);
    CHECK(strcmp(E.msg, "JSON larger than 4194304 bytes (limit)") == 0);
    CHECK_EQ_INT(load(&d, big, CNF_MAX_JSON_BYTES), CNF_OK); /* exactly at the limit */
    cnf__jdoc_close(&d);
    free(big);
    check_error(load(&d, "\n  \t", 4), CNF_E_USAGE, 2, 4, "empty document");
    check_error(load(&d, "{\"a\": [1,]}", 11), CNF_E_USAGE, 1, 10, "JSON syntax error");
    check_error(load(&d, "{}\n\n  {}", 8), CNF_E_USAGE, 3, 3,
                "unexpected content after the JSON document");
    CHECK_EQ_INT(load(&d, "  \n {\"a\": 1}", 12), CNF_OK);
    CHECK_EQ_INT(d.start, 4);
    CHECK_EQ_INT(cnf__jdoc_root(&d).off, 4);
    CHECK(cnf__jnode_is_object(cnf__jdoc_root(&d).node));
    cnf__jdoc_close(&d);
    CHECK(d.root == NULL);
}

static const char *const KEYS[] = {"alpha", "beta", "gamma"};

static void keys_are_found_with_their_offsets(void)
{
    cnf_jdoc d;
    cnf_jval v[3];
    const char *t = "{\"gamma\": [1, {\"x\": \"}\"}],\n \"alpha\": \"a\"}";
    CHECK_EQ_INT(load(&d, t, strlen(t)), CNF_OK);
    CHECK_EQ_INT(cnf__jdoc_keys(&d, cnf__jdoc_root(&d), KEYS, 3, "a test", v), CNF_OK);
    CHECK(v[0].node && strcmp(cnf__jnode_string(v[0].node), "a") == 0);
    CHECK_EQ_INT(v[0].off, 37);
    CHECK(v[1].node == NULL);
    CHECK_EQ_INT(v[1].off, 0); /* absent: the object's offset */
    CHECK(cnf__jnode_is_array(v[2].node) && cnf__jnode_count(v[2].node) == 2);
    CHECK_EQ_INT(v[2].off, 10);
    cnf__jdoc_close(&d);
}

static void unknown_and_duplicate_keys_are_refused_at_the_key(void)
{
    cnf_jdoc d;
    cnf_jval v[3];
    const char *t = "{\"alpha\": 1,\n  \"delta\": 2}";
    CHECK_EQ_INT(load(&d, t, strlen(t)), CNF_OK);
    check_error(cnf__jdoc_keys(&d, cnf__jdoc_root(&d), KEYS, 3, "a test", v), CNF_E_USAGE, 2,
                3, "");
    CHECK(strcmp(E.msg, "unknown key \"delta\" in a test (allowed: alpha, beta, gamma)") == 0);
    cnf__jdoc_close(&d);
    t = "{\"beta\": 1, \"alpha\": 2, \"beta\": 3}";
    CHECK_EQ_INT(load(&d, t, strlen(t)), CNF_OK);
    check_error(cnf__jdoc_keys(&d, cnf__jdoc_root(&d), KEYS, 3, "a test", v), CNF_E_USAGE, 1,
                25, "duplicate key \"beta\"");
    cnf__jdoc_close(&d);
    /* Keys are matched as written: an escaped spelling is not the key. */
    t = "{\"\\u0061lpha\": 1}";
    CHECK_EQ_INT(load(&d, t, strlen(t)), CNF_OK);
    check_error(cnf__jdoc_keys(&d, cnf__jdoc_root(&d), KEYS, 3, "a test", v), CNF_E_USAGE, 1,
                2, "unknown key \"\\u0061lpha\"");
    cnf__jdoc_close(&d);
}

static void elements_come_with_their_offsets_and_full_count(void)
{
    cnf_jdoc d;
    cnf_jval e[2];
    const char *t = "[10, \"x\",\n {\"a\": [1]}]";
    CHECK_EQ_INT(load(&d, t, strlen(t)), CNF_OK);
    CHECK_EQ_INT(cnf__jdoc_elements(&d, cnf__jdoc_root(&d), e, 2), 3);
    CHECK_EQ_INT(e[0].off, 1);
    CHECK_EQ_INT(e[1].off, 5);
    CHECK(strcmp(cnf__jnode_string(e[1].node), "x") == 0);
    CHECK(cnf__jnode_item(cnf__jdoc_root(&d).node, 2) != NULL);
    CHECK(cnf__jnode_item(cnf__jdoc_root(&d).node, 3) == NULL);
    cnf__jdoc_close(&d);
}

/* The value of "v" in {"v": ...}, for the getters. */
static cnf_jval value_of(cnf_jdoc *d, const char *text)
{
    static const char *const V[] = {"v"};
    cnf_jval v = {NULL, 0};
    if (load(d, text, strlen(text)) != CNF_OK ||
        cnf__jdoc_keys(d, cnf__jdoc_root(d), V, 1, "a test", &v) != CNF_OK)
        fprintf(stderr, "cannot load %s: %s\n", text, E.msg);
    return v;
}

static void integer_getters_check_type_and_range(void)
{
    cnf_jdoc d;
    int a = 0, b = 0;
    cnf_jval v = value_of(&d, "{\"v\": 3}");
    CHECK_EQ_INT(cnf__jdoc_int(&d, v, "v", 1, 5, &a), CNF_OK);
    CHECK_EQ_INT(a, 3);
    check_error(cnf__jdoc_int(&d, v, "v", 4, 5, &a), CNF_E_USAGE, 1, 7,
                "\"v\" must be an integer from 4 to 5");
    cnf__jdoc_close(&d);
    v = value_of(&d, "{\"v\": 2.5}");
    check_error(cnf__jdoc_int(&d, v, "v", 1, 5, &a), CNF_E_USAGE, 1, 7, "must be an integer");
    cnf__jdoc_close(&d);
    v = value_of(&d, "{\"v\": 4}");
    CHECK_EQ_INT(cnf__jdoc_int_pair(&d, v, "v", 1, 5, &a, &b), CNF_OK);
    CHECK(a == 4 && b == 4);
    cnf__jdoc_close(&d);
    v = value_of(&d, "{\"v\": [2, 5]}");
    CHECK_EQ_INT(cnf__jdoc_int_pair(&d, v, "v", 1, 5, &a, &b), CNF_OK);
    CHECK(a == 2 && b == 5);
    cnf__jdoc_close(&d);
    v = value_of(&d, "{\"v\": [2]}");
    check_error(cnf__jdoc_int_pair(&d, v, "v", 1, 5, &a, &b), CNF_E_USAGE, 1, 7,
                "\"v\" must be an integer or [v_Y, v_X]");
    cnf__jdoc_close(&d);
    v = value_of(&d, "{\"v\": [2, 6]}");
    check_error(cnf__jdoc_int_pair(&d, v, "v", 1, 5, &a, &b), CNF_E_USAGE, 1, 7,
                "\"v\" must be an integer from 1 to 5");
    cnf__jdoc_close(&d);
}

static void number_bool_string_and_word_getters_name_the_key(void)
{
    cnf_jdoc d;
    double x = 0;
    int i = -1;
    const char *s = NULL;
    cnf_jval v = value_of(&d, "{\"v\": -1.5e2}");
    CHECK_EQ_INT(cnf__jdoc_number(&d, v, "v", &x), CNF_OK);
    CHECK(x == -150);
    check_error(cnf__jdoc_bool(&d, v, "v", &i), CNF_E_USAGE, 1, 7, "\"v\" must be true or false");
    check_error(cnf__jdoc_string(&d, v, "v", &s), CNF_E_USAGE, 1, 7, "\"v\" must be a string");
    cnf__jdoc_close(&d);
    v = value_of(&d, "{\"v\": 1e309}"); /* cJSON reads infinity */
    check_error(cnf__jdoc_number(&d, v, "v", &x), CNF_E_USAGE, 1, 7,
                "\"v\" must be a finite number");
    cnf__jdoc_close(&d);
    v = value_of(&d, "{\"v\": true}");
    CHECK_EQ_INT(cnf__jdoc_bool(&d, v, "v", &i), CNF_OK);
    CHECK_EQ_INT(i, 1);
    cnf__jdoc_close(&d);
    v = value_of(&d, "{\"v\": \"max\"}");
    CHECK_EQ_INT(cnf__jdoc_string(&d, v, "v", &s), CNF_OK);
    CHECK(s && strcmp(s, "max") == 0);
    CHECK_EQ_INT(cnf__jdoc_word(&d, v, "v", CNF_VOCAB_COMBINE, 1, &i), CNF_OK);
    CHECK_EQ_INT(i, CNF_COMBINE_MAX);
    cnf__jdoc_close(&d);
    v = value_of(&d, "{\"v\": \"none\"}");
    check_error(cnf__jdoc_word(&d, v, "v", CNF_VOCAB_COMBINE, 1, &i), CNF_E_USAGE, 1, 7, "");
    CHECK(strcmp(E.msg, "\"v\" must be one of: magnitude, max, sum") == 0);
    CHECK_EQ_INT(cnf__jdoc_word(&d, v, "v", CNF_VOCAB_COMBINE, 0, &i), CNF_OK);
    CHECK_EQ_INT(i, CNF_COMBINE_NONE);
    cnf__jdoc_close(&d);
}

int main(void)
{
    RUN(bad_bytes_are_refused_before_parsing);
    RUN(nesting_is_limited_before_cjson_sees_it);
    RUN(size_emptiness_syntax_and_trailing_content_are_checked);
    RUN(keys_are_found_with_their_offsets);
    RUN(unknown_and_duplicate_keys_are_refused_at_the_key);
    RUN(elements_come_with_their_offsets_and_full_count);
    RUN(integer_getters_check_type_and_range);
    RUN(number_bool_string_and_word_getters_name_the_key);
    return t_finish("test_json_doc");
}
