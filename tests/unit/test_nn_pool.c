/* test_nn_pool.c - the training engine's thread pool: every task once per call, task t on
 * thread t (task 0 on the caller), calls with fewer tasks than threads, many calls. */
#include "test_util.h"

#include "../../src/lib/nn.h"

#include <pthread.h>

typedef struct record {
    int runs[8];
    pthread_t who[8];
} record;

static void task(void *ctx, int t)
{
    record *r = ctx;
    r->runs[t]++;
    r->who[t] = pthread_self();
}

static void each_task_runs_once_task_zero_on_the_caller(void)
{
    cnf__pool *p = NULL;
    record r;
    CHECK_EQ_INT(cnf__pool_new(4, &p, NULL), CNF_OK);
    memset(&r, 0, sizeof r);
    cnf__pool_run(p, 4, task, &r);
    for (int t = 0; t < 4; t++)
        CHECK_EQ_INT(r.runs[t], 1);
    CHECK(pthread_equal(r.who[0], pthread_self()));
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++)
            CHECK(!pthread_equal(r.who[a], r.who[b]));
    memset(&r, 0, sizeof r);
    cnf__pool_run(p, 2, task, &r);
    CHECK(r.runs[0] == 1 && r.runs[1] == 1 && r.runs[2] == 0 && r.runs[3] == 0);
    cnf__pool_free(p);
}

static void the_same_task_stays_on_the_same_thread_over_many_calls(void)
{
    cnf__pool *p = NULL;
    record r, first;
    CHECK_EQ_INT(cnf__pool_new(3, &p, NULL), CNF_OK);
    memset(&first, 0, sizeof first);
    cnf__pool_run(p, 3, task, &first);
    for (int i = 0; i < 200; i++) {
        memset(&r, 0, sizeof r);
        cnf__pool_run(p, 1 + i % 3, task, &r);
        for (int t = 0; t < 1 + i % 3; t++)
            if (r.runs[t] != 1 || !pthread_equal(r.who[t], first.who[t]))
                t_failures++;
    }
    t_checks++;
    cnf__pool_free(p);
    cnf__pool_free(NULL);
}

static void a_pool_of_one_runs_everything_on_the_caller(void)
{
    cnf__pool *p = NULL;
    record r;
    memset(&r, 0, sizeof r);
    CHECK_EQ_INT(cnf__pool_new(0, &p, NULL), CNF_OK);
    cnf__pool_run(p, 1, task, &r);
    CHECK(r.runs[0] == 1 && pthread_equal(r.who[0], pthread_self()));
    cnf__pool_free(p);
}

int main(void)
{
    RUN(each_task_runs_once_task_zero_on_the_caller);
    RUN(the_same_task_stays_on_the_same_thread_over_many_calls);
    RUN(a_pool_of_one_runs_everything_on_the_caller);
    return t_finish("test_nn_pool");
}
