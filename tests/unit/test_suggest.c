/* test_suggest.c - cnf_suggest: the closest words, case ignored, a few edits apart. */
#include "test_util.h"

static const char *const WORDS[] = {"sobel", "sobel_v", "sobel_h", "gaussian", "laplacian",
                                    "emboss", "train", "predict"};
#define N_WORDS (sizeof WORDS / sizeof WORDS[0])

static const char *near(const char *word, int *count)
{
    static char buf[200];
    *count = cnf_suggest(word, WORDS, N_WORDS, buf, sizeof buf);
    return buf;
}

static void each_kind_of_edit_is_one(void)
{
    int n;
    CHECK_STR_CONTAINS(near("sobell", &n), "'sobel'");   /* an insertion */
    CHECK_EQ_INT(n, 1);
    CHECK_STR_CONTAINS(near("gausian", &n), "'gaussian'"); /* a deletion */
    CHECK_STR_CONTAINS(near("embass", &n), "'emboss'");    /* a substitution */
    CHECK_STR_CONTAINS(near("trian", &n), "'train'");      /* two neighbours swapped */
    CHECK_STR_CONTAINS(near("SOBEL", &n), "'sobel'");      /* case ignored */
}

static void ties_are_all_named_in_table_order(void)
{
    int n;
    const char *s = near("sobel_x", &n);
    CHECK_EQ_INT(n, 2);
    CHECK(strcmp(s, "'sobel_v' or 'sobel_h'") == 0);
}

static void far_words_and_exact_ones_get_none(void)
{
    int n;
    CHECK(near("xyzzy", &n)[0] == 0 && n == 0);
    CHECK(near("lapla", &n)[0] == 0 && n == 0); /* 4 edits: over a third of 5 letters */
    CHECK(strcmp(near("sobel_v", &n), "'sobel_h'") == 0 && n == 1); /* never itself */
    CHECK(near("a", &n)[0] == 0 && n == 0);
}

int main(void)
{
    RUN(each_kind_of_edit_is_one);
    RUN(ties_are_all_named_in_table_order);
    RUN(far_words_and_exact_ones_get_none);
    return t_finish("suggest");
}
