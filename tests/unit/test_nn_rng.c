/* test_nn_rng.c - the training engine's generator: SplitMix64's published values, the streams'
 * keys, uniform draws, unbiased bounded draws and the shuffle, against the values of
 * tests/ref/nn_rng_ref.py (an independent implementation of the definition in nn.h). */
#include "test_util.h"

#include "../../src/lib/nn.h"

static void splitmix64_gives_its_published_values(void)
{
    /* The reference sequence for state 1234567 (Vigna's splitmix64.c). */
    static const uint64_t want[5] = {6457827717110365317ull, 3203168211198807973ull,
                                     9817491932198370423ull, 4593380528125082431ull,
                                     16408922859458223821ull};
    cnf__rng r = {1234567};
    for (int i = 0; i < 5; i++)
        CHECK(cnf__rng_next(&r) == want[i]);
}

static void streams_are_keyed_by_seed_purpose_and_index(void)
{
    cnf__rng r;
    cnf__rng_stream(&r, 0, CNF__RNG_INIT, 0);
    CHECK(cnf__rng_next(&r) == 15114123258453576503ull);
    CHECK(cnf__rng_next(&r) == 4672125198739041305ull);
    CHECK(cnf__rng_next(&r) == 15771947744729278158ull);
    cnf__rng_stream(&r, 42, CNF__RNG_SHUFFLE, 7);
    CHECK(cnf__rng_next(&r) == 15636203820027758812ull);
    CHECK(cnf__rng_next(&r) == 13235315682749181182ull);
}

static void uniform_draws_are_inside_zero_one_and_centred(void)
{
    cnf__rng r;
    double sum = 0, lo = 1, hi = 0;
    cnf__rng_stream(&r, 5, CNF__RNG_INIT, 3);
    CHECK(cnf__rng_uniform(&r) == 0.9435207316877064);
    for (int i = 0; i < 100000; i++) {
        double u = cnf__rng_uniform(&r);
        sum += u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    CHECK(lo > 0 && hi < 1);
    CHECK(fabs(sum / 100000 - 0.5) < 0.005);
    /* The extremes of 52 bits stay inside (53 bits and the half would not). */
    CHECK((0 + 0.5) / 4503599627370496.0 > 0);
    CHECK(((double)((1ull << 52) - 1) + 0.5) / 4503599627370496.0 < 1);
    CHECK(((double)((1ull << 53) - 1) + 0.5) / 9007199254740992.0 == 1);
}

static void bounded_draws_are_below_n_and_even(void)
{
    cnf__rng r;
    long count[3] = {0, 0, 0};
    cnf__rng_stream(&r, 1, CNF__RNG_SPLIT, 0);
    CHECK(cnf__rng_below(&r, 1) == 0);
    for (int i = 0; i < 30000; i++)
        count[cnf__rng_below(&r, 3)]++;
    for (int k = 0; k < 3; k++)
        CHECK(count[k] > 9500 && count[k] < 10500);
    /* Just above 2^63: half of all draws are rejected, every result is in range. */
    for (int i = 0; i < 1000; i++)
        CHECK(cnf__rng_below(&r, (1ull << 63) + 1) <= (1ull << 63));
}

static void shuffle_is_fisher_yates_on_the_stream(void)
{
    static const int want[10] = {2, 6, 3, 8, 4, 9, 1, 0, 5, 7};
    int a[10], seen[1000] = {0}, b[1000];
    cnf__rng r;
    for (int i = 0; i < 10; i++)
        a[i] = i;
    cnf__rng_stream(&r, 1, CNF__RNG_SHUFFLE, 1);
    cnf__rng_shuffle(&r, a, 10);
    CHECK(memcmp(a, want, sizeof want) == 0);
    for (int i = 0; i < 1000; i++)
        b[i] = i;
    cnf__rng_shuffle(&r, b, 1000);
    for (int i = 0; i < 1000; i++)
        seen[b[i]]++;
    for (int i = 0; i < 1000; i++)
        CHECK_EQ_INT(seen[i], 1);
    cnf__rng_shuffle(&r, b, 0); /* nothing to do */
    cnf__rng_shuffle(&r, b, 1);
}

int main(void)
{
    RUN(splitmix64_gives_its_published_values);
    RUN(streams_are_keyed_by_seed_purpose_and_index);
    RUN(uniform_draws_are_inside_zero_one_and_centred);
    RUN(bounded_draws_are_below_n_and_even);
    RUN(shuffle_is_fisher_yates_on_the_stream);
    return t_finish("test_nn_rng");
}
