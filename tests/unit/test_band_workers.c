/* test_band_workers.c - the threads that split a band: every row once, parts as documented. */
#include "test_util.h"

#include "../../src/lib/band_workers.h"

#include <pthread.h>

#define MAX_ROWS 256

/* What a recording stage saw: per row, how often and by which part. */
static struct {
    int count[MAX_ROWS];
    void *scratch[MAX_ROWS];
    pthread_t thread[MAX_ROWS];
    int asked_rows;  /* the rows scratch() was last asked for */
    int scratch_per; /* bytes of scratch per row of a part */
} seen;

static void rec_need(const cnf_stage *s, int y0, int y1, int *lo, int *hi)
{
    (void)s;
    *lo = y0;
    *hi = y1;
}

static size_t rec_scratch(const cnf_stage *s, int rows)
{
    (void)s;
    seen.asked_rows = rows;
    return (size_t)rows * (size_t)seen.scratch_per;
}

static void rec_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0, int y1,
                    void *scratch)
{
    (void)s;
    (void)in;
    (void)out;
    /* Use every byte the part was promised (AddressSanitizer checks). */
    if (seen.scratch_per)
        memset(scratch, 0xab, (size_t)(y1 - y0) * (size_t)seen.scratch_per);
    for (int y = y0; y < y1; y++) {
        seen.count[y]++;
        seen.scratch[y] = scratch;
        seen.thread[y] = pthread_self();
    }
}

static const cnf_stage_ops REC = {.need = rec_need, .scratch = rec_scratch, .run = rec_run};

static cnf_stage rec_stage(void)
{
    cnf_stage s;
    memset(&s, 0, sizeof s);
    s.ops = &REC;
    return s;
}

/* Run rows [y0, y1) and check each was computed once, part i doing rows
 * [y0 + i * per, y0 + (i + 1) * per), part 0 on the calling thread. */
static void check_band(cnf_band_workers *w, const cnf_stage *s, int n, int y0, int y1)
{
    cnf_band none = {NULL, 0, 0, 0, 0};
    int rows = y1 - y0, per = (rows + n - 1) / n, bad = 0;
    memset(seen.count, 0, sizeof seen.count);
    cnf__band_workers_run(w, s, &none, &none, y0, y1);
    for (int y = 0; y < MAX_ROWS; y++)
        if (seen.count[y] != (y >= y0 && y < y1))
            bad++;
    for (int y = y0; y < y1; y++) {
        int part = (y - y0) / per, first = y0 + part * per;
        /* the same part (scratch) as the first row of its part, another than the part before */
        if (seen.scratch[y] != seen.scratch[first])
            bad++;
        if (part > 0 && seen.scratch_per && seen.scratch[first] == seen.scratch[first - 1])
            bad++;
        if ((part == 0 || rows == 1) && !pthread_equal(seen.thread[y], pthread_self()))
            bad++;
    }
    if (bad)
        fprintf(stderr, "n %d, rows [%d, %d): %d wrong\n", n, y0, y1, bad);
    CHECK_EQ_INT(bad, 0);
}

static void each_row_of_a_band_is_computed_once_by_its_part(void)
{
    const int threads[] = {1, 2, 3, 5, 8, 64};
    cnf_stage s = rec_stage();
    seen.scratch_per = 24;
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        cnf_band_workers *w = NULL;
        cnf_error e;
        int n = threads[t];
        CHECK_EQ_INT(cnf__band_workers_new(&s, 1, 32, n, &w, &e), CNF_OK);
        CHECK_EQ_INT(cnf__band_workers_count(w), n);
        /* each part's share of a full band of 32 rows */
        CHECK_EQ_INT(seen.asked_rows, (32 + n - 1) / n);
        for (int rows = 1; rows <= 32; rows++)
            check_band(w, &s, n, 7 * rows, 7 * rows + rows);
        cnf__band_workers_free(w);
    }
}

static void thread_counts_are_clamped_to_one_and_the_cap(void)
{
    const int asked[] = {0, -5, CNF__MAX_BAND_WORKERS + 1, 1000};
    const int got[] = {1, 1, CNF__MAX_BAND_WORKERS, CNF__MAX_BAND_WORKERS};
    cnf_stage s = rec_stage();
    seen.scratch_per = 0;
    for (int i = 0; i < 4; i++) {
        cnf_band_workers *w = NULL;
        CHECK_EQ_INT(cnf__band_workers_new(&s, 1, 32, asked[i], &w, NULL), CNF_OK);
        CHECK_EQ_INT(cnf__band_workers_count(w), got[i]);
        check_band(w, &s, got[i], 0, 32);
        cnf__band_workers_free(w);
    }
    cnf__band_workers_free(NULL);
}

static size_t big_scratch(const cnf_stage *s, int rows)
{
    (void)s;
    return (size_t)rows * 4000;
}

static void big_run(const cnf_stage *s, const cnf_band *in, const cnf_band *out, int y0, int y1,
                    void *scratch)
{
    (void)s;
    (void)in;
    (void)out;
    memset(scratch, 0xcd, (size_t)(y1 - y0) * 4000);
}

static const cnf_stage_ops BIG = {.need = rec_need, .scratch = big_scratch, .run = big_run};

static void scratch_is_sized_for_the_hungriest_stage(void)
{
    cnf_stage st[2];
    cnf_band_workers *w = NULL;
    cnf_band none = {NULL, 0, 0, 0, 0};
    st[0] = rec_stage();
    memset(&st[1], 0, sizeof st[1]);
    st[1].ops = &BIG;
    seen.scratch_per = 8;
    /* 3 parts of a band of 20 rows: 7 rows each, 28000 bytes from the second stage. */
    CHECK_EQ_INT(cnf__band_workers_new(st, 2, 20, 3, &w, NULL), CNF_OK);
    CHECK_EQ_INT(seen.asked_rows, 7);
    cnf__band_workers_run(w, &st[1], &none, &none, 0, 20); /* AddressSanitizer checks the size */
    check_band(w, &st[0], 3, 40, 60);
    cnf__band_workers_free(w);
}

int main(void)
{
    RUN(each_row_of_a_band_is_computed_once_by_its_part);
    RUN(thread_counts_are_clamped_to_one_and_the_cap);
    RUN(scratch_is_sized_for_the_hungriest_stage);
    return t_finish("test_band_workers");
}
