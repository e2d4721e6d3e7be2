/* nn_rng.c - the training engine's generator: SplitMix64 streams keyed by seed, purpose, index.
 *
 * The definition (the numbers every machine must reproduce) is in nn.h.
 * SplitMix64 passes BigCrush, is one add and two multiplies per draw, and
 * any 64-bit state is a valid one, so a stream can start anywhere: keying
 * streams by a hash of (seed, purpose, index) makes each purpose's draws
 * independent of how many the others made, and of threads. */
#include "nn.h"

#define GOLDEN 0x9E3779B97F4A7C15ull

/* The output function of SplitMix64 (Stafford's "Mix13" variant). */
static uint64_t finalize(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t mix(uint64_t x) { return finalize(x + GOLDEN); }

void cnf__rng_stream(cnf__rng *r, uint64_t seed, uint64_t purpose, uint64_t index)
{
    r->s = mix(mix(mix(seed) ^ purpose) ^ index);
}

uint64_t cnf__rng_next(cnf__rng *r)
{
    r->s += GOLDEN;
    return finalize(r->s);
}

double cnf__rng_uniform(cnf__rng *r)
{
    /* 52 bits, centred in their cell: never 0 or 1, and exact (with the
     * half, 53 significant bits; 53 bits and the half would round the
     * largest draw up to 1). */
    return ((double)(cnf__rng_next(r) >> 12) + 0.5) * (1.0 / 4503599627370496.0);
}

uint64_t cnf__rng_below(cnf__rng *r, uint64_t n)
{
    /* Draws below 2^64 mod n would make the low residues likelier: reject
     * them (at most one draw in two is lost, for n just above 2^63). */
    uint64_t t = (0 - n) % n, x;
    do
        x = cnf__rng_next(r);
    while (x < t);
    return x % n;
}

void cnf__rng_shuffle(cnf__rng *r, int *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)cnf__rng_below(r, (uint64_t)i);
        int t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
