/* budget.c - --max-memory shared by the files a batch processes at once.
 *
 * Each file's own checks compare its needs with --max-memory; in a batch,
 * -j files run at once, so each also takes its needs from this budget: the
 * input file's size once read (a mapped one: none), what decoding it needs, then its
 * plans' estimate and a result held whole.  A worker that cannot have
 * what it needs waits, holding nothing, until enough is free: the files run
 * fewer at a time rather than past the limit.
 */
#include "budget.h"

#include <pthread.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_freed = PTHREAD_COND_INITIALIZER;
static uint64_t g_total, g_used;

void budget_init(uint64_t total)
{
    g_total = total;
    g_used = 0;
}

uint64_t budget_grow(uint64_t held, uint64_t more)
{
    uint64_t want = held + more;
    if (!g_total || !more)
        return held;
    pthread_mutex_lock(&g_lock);
    if (g_used + more > g_total) {
        /* Not free now: give back what is held, then wait for the whole. */
        g_used -= held;
        pthread_cond_broadcast(&g_freed);
        while (g_used > 0 && g_used + want > g_total)
            pthread_cond_wait(&g_freed, &g_lock);
        g_used += want;
    } else {
        g_used += more;
    }
    pthread_mutex_unlock(&g_lock);
    return want;
}

void budget_release(uint64_t held)
{
    if (!g_total || !held)
        return;
    pthread_mutex_lock(&g_lock);
    g_used -= held;
    pthread_cond_broadcast(&g_freed);
    pthread_mutex_unlock(&g_lock);
}
