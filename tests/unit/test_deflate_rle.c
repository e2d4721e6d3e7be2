/* test_deflate_rle.c - the PNG writer's run-length deflate: every stream inflates back exactly
 * (whole and in pieces), codes stay within 15 bits, stored when smaller, known bytes. */
#include "test_util.h"

#include "../../src/lib/internal.h"

#include <stdint.h>
#include <zlib.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
    return (uint32_t)(t_xorshift(&rng_state) >> 11);
}

/* Compress in[0..n) in pieces cut at cuts[0..k) (increasing, inside), the
 * last piece final; returns the stream (caller frees) and its length. */
static unsigned char *compress_pieces(const unsigned char *in, size_t n, const size_t *cuts,
                                      int k, size_t *len)
{
    size_t cap = 64, from = 0, pos = 0;
    unsigned char *out;
    for (int i = 0; i <= k; i++) {
        size_t to = i < k ? cuts[i] : n;
        cap += cnf__rle_deflate_bound(to - from);
        from = to;
    }
    out = malloc(cap);
    if (!out)
        abort();
    from = 0;
    for (int i = 0; i <= k; i++) {
        size_t to = i < k ? cuts[i] : n, got;
        got = cnf__rle_deflate(in + from, to - from, i == k, out + pos);
        CHECK(got > 0);
        CHECK(got <= cnf__rle_deflate_bound(to - from));
        pos += got;
        from = to;
    }
    *len = pos;
    return out;
}

/* Inflate a raw deflate stream: 1 when it ends exactly and gives in[0..n). */
static int inflates_to(const unsigned char *z, size_t zlen, const unsigned char *in, size_t n)
{
    unsigned char *back = malloc(n + 16);
    z_stream s;
    int rc, ok;
    if (!back)
        abort();
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -15) != Z_OK)
        abort();
    s.next_in = (Bytef *)(uintptr_t)z;
    s.avail_in = (uInt)zlen;
    s.next_out = back;
    s.avail_out = (uInt)(n + 16);
    rc = inflate(&s, Z_FINISH);
    ok = rc == Z_STREAM_END && s.total_out == n && s.avail_in == 0 &&
         (n == 0 || memcmp(back, in, n) == 0);
    inflateEnd(&s);
    free(back);
    return ok;
}

enum { ZEROS, RANDOM, RUNS, RESIDUALS, TWO_BYTES, N_KINDS };

static void fill(unsigned char *p, size_t n, int kind)
{
    size_t i = 0;
    while (i < n) {
        switch (kind) {
        case ZEROS:
            p[i++] = 0;
            break;
        case RANDOM:
            p[i++] = (unsigned char)rnd();
            break;
        case RUNS: { /* runs of 1..600 of one byte: lengths across 3, 258, 259 */
            size_t r = 1 + rnd() % 600;
            unsigned char v = (unsigned char)(rnd() % 4);
            while (r-- && i < n)
                p[i++] = v;
            break;
        }
        case RESIDUALS: { /* small signed residuals with some flat stretches */
            int v = (int)(rnd() % 9) - 4;
            if (rnd() % 16 == 0)
                for (size_t r = rnd() % 40; r-- && i < n;)
                    p[i++] = 0;
            if (i < n)
                p[i++] = (unsigned char)v;
            break;
        }
        default:
            p[i] = (unsigned char)(i % 2 ? 7 : 9);
            i++;
        }
    }
}

static void every_length_and_kind_inflates_back(void)
{
    static const size_t lens[] = {0,     1,     2,     3,     4,     5,      257,   258,
                                  259,   260,   261,   1000,  65535, 65536,  65537, 65538,
                                  131072, 131075, 200001};
    int bad = 0, cases = 0;
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (int kind = 0; kind < N_KINDS; kind++) {
            size_t n = lens[li], zlen;
            unsigned char *in = malloc(n + 1), *z;
            if (!in)
                abort();
            fill(in, n, kind);
            z = compress_pieces(in, n, NULL, 0, &zlen);
            cases++;
            if (!inflates_to(z, zlen, in, n) && bad++ < 10)
                fprintf(stderr, "length %zu kind %d does not inflate back\n", n, kind);
            free(z);
            free(in);
        }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(cases, 19 * N_KINDS);
}

static void pieces_join_into_one_stream(void)
{
    /* Pieces that are not last end on a byte boundary with an empty stored
     * block: cut anywhere (inside runs too) they inflate as one stream. */
    size_t n = 300000;
    unsigned char *in = malloc(n);
    int bad = 0;
    if (!in)
        abort();
    for (int kind = 0; kind < N_KINDS; kind++) {
        fill(in, n, kind);
        for (int trial = 0; trial < 6; trial++) {
            size_t cuts[8], zlen;
            int k = 1 + (int)(rnd() % 8);
            unsigned char *z;
            for (int i = 0; i < k; i++)
                cuts[i] = (size_t)(i + 1) * (n / (size_t)(k + 1)) + rnd() % 50;
            if (trial == 0) { /* empty and one-byte pieces */
                k = 3;
                cuts[0] = 100;
                cuts[1] = 100;
                cuts[2] = 101;
            }
            z = compress_pieces(in, n, cuts, k, &zlen);
            if (!inflates_to(z, zlen, in, n) && bad++ < 10)
                fprintf(stderr, "kind %d trial %d: pieces do not join\n", kind, trial);
            free(z);
        }
    }
    CHECK_EQ_INT(bad, 0);
    free(in);
}

static void skewed_frequencies_keep_codes_within_15_bits(void)
{
    /* Byte i appears fib(i) times in one block: an unlimited Huffman code
     * would be 20 bits deep.  zlib refuses longer, over-full or incomplete
     * codes, so inflating back proves the limited code is a valid one. */
    size_t n = 0, fib[21] = {1, 1};
    unsigned char *in;
    size_t zlen, pos = 0;
    unsigned char *z;
    for (int i = 2; i < 21; i++)
        fib[i] = fib[i - 1] + fib[i - 2];
    for (int i = 0; i < 21; i++)
        n += fib[i];
    CHECK(n < 65536); /* one block */
    in = malloc(n);
    if (!in)
        abort();
    /* Bytes spread so that no byte repeats three times (no runs). */
    {
        size_t left[21];
        memcpy(left, fib, sizeof left);
        while (pos < n) {
            for (int i = 20; i >= 0 && pos < n; i--)
                if (left[i]) {
                    in[pos++] = (unsigned char)(i * 11);
                    left[i]--;
                }
        }
    }
    z = compress_pieces(in, n, NULL, 0, &zlen);
    CHECK(inflates_to(z, zlen, in, n));
    /* Huffman-coded, not stored: the entropy is under 2 bits a byte. */
    CHECK(zlen < n / 3);
    free(z);
    free(in);
}

static void known_streams(void)
{
    /* One byte: a stored block is smaller than any code's header:
     * BFINAL 1, BTYPE 00, padding, LEN 1, NLEN, the byte. */
    static const unsigned char one[] = {0x01, 0x01, 0x00, 0xfe, 0xff, 'a'};
    /* Not last and empty: just the sync flush. */
    static const unsigned char flush[] = {0x00, 0x00, 0x00, 0xff, 0xff};
    /* Last and empty: a fixed-code block holding its end. */
    static const unsigned char end[] = {0x03, 0x00};
    unsigned char out[64];
    size_t n = cnf__rle_deflate((const unsigned char *)"a", 1, 1, out);
    CHECK(n == sizeof one && memcmp(out, one, n) == 0);
    n = cnf__rle_deflate(NULL, 0, 0, out);
    CHECK(n == sizeof flush && memcmp(out, flush, n) == 0);
    n = cnf__rle_deflate(NULL, 0, 1, out);
    CHECK(n == sizeof end && memcmp(out, end, n) == 0);
    CHECK(inflates_to(out, n, NULL, 0));
}

static void runs_become_matches_and_noise_is_stored(void)
{
    size_t n = 100000, zlen;
    unsigned char *in = malloc(n), *z;
    if (!in)
        abort();
    /* 100000 zeros: one literal and 388 runs of 258 (and one shorter): a
     * few dozen bytes. */
    fill(in, n, ZEROS);
    z = compress_pieces(in, n, NULL, 0, &zlen);
    CHECK(inflates_to(z, zlen, in, n));
    CHECK(zlen < 200);
    free(z);
    /* Noise: stored blocks, 5 bytes of framing per 65535 bytes. */
    fill(in, n, RANDOM);
    z = compress_pieces(in, n, NULL, 0, &zlen);
    CHECK(inflates_to(z, zlen, in, n));
    CHECK(zlen >= n && zlen <= n + 5 * 4);
    free(z);
    free(in);
}

static void runs_that_cost_more_than_their_bytes_stay_literals(void)
{
    /* 80 % zeros, the rest 1-4: a zero costs 1 bit as a literal, so a run
     * of zeros often costs more as a length and distance than as its
     * bytes.  Every choice of which runs to code is costed and the cheapest
     * kept, so the block is no larger than its literals alone under their
     * Huffman code: 0 in 1 bit; 1-4 and the end of block in 3, 3, 3, 4 and
     * 4 bits (the commonest of 1-4 counted at 4); plus a header of at most
     * 200 bits.  Taking every run of three or more bytes (greedily) made
     * this block 12693 bytes; the bound is about 11900. */
    size_t n = 65536, zlen, count[5] = {0}, most = 0, bound;
    unsigned char *in = malloc(n), *z;
    if (!in)
        abort();
    for (size_t i = 0; i < n; i++) {
        uint32_t r = rnd();
        in[i] = r % 100 < 80 ? 0 : (unsigned char)(1 + (r >> 8) % 4);
        count[in[i]]++;
    }
    for (int v = 1; v <= 4; v++)
        most = count[v] > most ? count[v] : most;
    bound = count[0] + 3 * (n - count[0]) + most + 4 + 200;
    z = compress_pieces(in, n, NULL, 0, &zlen);
    CHECK(inflates_to(z, zlen, in, n));
    CHECK(zlen * 8 <= bound + 7);
    free(z);
    free(in);
}

static void smooth_residuals_compress_like_zlib_level_6(void)
{
    /* PNG-like residuals of a smooth image with noise: within 5 % of zlib
     * level 6 (a general matcher finds little more than runs here). */
    size_t n = 1 << 20, zlen;
    unsigned char *in = malloc(n), *z, *zz;
    uLongf zzlen = compressBound((uLong)n);
    if (!in || !(zz = malloc(zzlen)))
        abort();
    fill(in, n, RESIDUALS);
    z = compress_pieces(in, n, NULL, 0, &zlen);
    CHECK(inflates_to(z, zlen, in, n));
    CHECK_EQ_INT(compress2(zz, &zzlen, in, (uLong)n, 6), Z_OK);
    CHECK((double)zlen <= 1.05 * (double)zzlen);
    free(zz);
    free(z);
    free(in);
}

int main(void)
{
    RUN(every_length_and_kind_inflates_back);
    RUN(pieces_join_into_one_stream);
    RUN(skewed_frequencies_keep_codes_within_15_bits);
    RUN(known_streams);
    RUN(runs_become_matches_and_noise_is_stored);
    RUN(runs_that_cost_more_than_their_bytes_stay_literals);
    RUN(smooth_residuals_compress_like_zlib_level_6);
    return t_finish("test_deflate_rle");
}
