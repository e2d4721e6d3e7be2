/* deflate_rle.c - a deflate encoder for PNG's filtered rows: literals and
 * runs of one repeated byte, Huffman-coded block by block.
 *
 * Filtered photographs and filter outputs are mostly small residuals with
 * little repetition beyond runs of one byte (flat areas give runs of 0).
 * On such data a general matcher spends its time finding short matches
 * that cost more bits than the literals they replace; coding the bytes
 * with a code built for each block, and only runs of a repeated byte as
 * matches (distance 1), gives files about the size of zlib level 6 at the
 * speed of the fastest general matchers.
 *
 * Each block takes up to BLOCK_BYTES of input.  A run is taken where the
 * next three or more bytes all equal the byte before them, greedily and up
 * to 258 bytes; the first byte of a call is always a literal (no
 * dictionary).  Every block gets its own dynamic Huffman code, or is stored
 * when that is smaller.  A call that is not the last of its stream ends on
 * a byte boundary with an empty stored block (a sync flush), so calls on
 * consecutive pieces of a stream concatenate into one valid deflate stream.
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define BLOCK_BYTES (64u << 10)
#define MAX_BITS 15     /* literal/length and distance codes */
#define MAX_CL_BITS 7   /* the code-length code */
#define N_LITLEN 286
#define N_CL 19

typedef struct {
    uint32_t pos;  /* offset of the run in the block */
    uint32_t len;  /* 3..258 */
} rle_run;

typedef struct {
    uint64_t bits;
    unsigned n;
    unsigned char *p;
} bit_out;

/* Add n bits (n + b->n <= 64); flush_fast then writes the whole bytes held
 * (8 bytes are stored at once: the output has slack for that). */
static inline void put_bits(bit_out *b, uint64_t v, unsigned n)
{
    b->bits |= v << b->n;
    b->n += n;
}

static inline void flush_fast(bit_out *b)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(b->p, &b->bits, 8);
#else
    for (int i = 0; i < 8; i++)
        b->p[i] = (unsigned char)(b->bits >> (8 * i));
#endif
    b->p += b->n >> 3;
    b->bits >>= b->n & ~7u;
    b->n &= 7;
}

/* put_bits then flush_fast: for n <= 57. */
static inline void put(bit_out *b, uint64_t v, unsigned n)
{
    put_bits(b, v, n);
    flush_fast(b);
}

/* Pad to a byte boundary and write out what is held. */
static void flush_bits(bit_out *b)
{
    flush_fast(b);
    while (b->n > 0) {
        *b->p++ = (unsigned char)b->bits;
        b->bits >>= 8;
        b->n = b->n > 8 ? b->n - 8 : 0;
    }
    b->bits = 0;
}

/* Length 3..258 -> symbol 257..285, extra bit count and value. */
static void length_code(unsigned len, unsigned *sym, unsigned *nextra, unsigned *extra)
{
    static const unsigned short base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,
                                            15, 17, 19, 23, 27, 31, 35, 43, 51,  59,
                                            67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const unsigned char ebits[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                            2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    unsigned c = 28;
    while (base[c] > len)
        c--;
    *sym = 257 + c;
    *nextra = ebits[c];
    *extra = len - base[c];
}

typedef struct {
    unsigned short sym;
    unsigned char nextra;
    unsigned char extra;
} len_entry;

static len_entry len_table[259];
static pthread_once_t len_table_once = PTHREAD_ONCE_INIT;

static void make_len_table(void)
{
    for (unsigned l = 3; l <= 258; l++) {
        unsigned s, ne, ex;
        length_code(l, &s, &ne, &ex);
        len_table[l].sym = (unsigned short)s;
        len_table[l].nextra = (unsigned char)ne;
        len_table[l].extra = (unsigned char)ex;
    }
}

/* Code lengths for freq[0..n), at most `limit` bits, a complete code over
 * the symbols used (at least two: a lone symbol gets a partner of freq 0
 * coded too, so every decoder accepts the code). */
static void huff_lengths(const uint32_t *freq, int n, int limit, unsigned char *len)
{
    int sym[N_LITLEN], m = 0;
    uint64_t w[2 * N_LITLEN];
    int parent[2 * N_LITLEN], depth[2 * N_LITLEN];
    int count[MAX_BITS + 2] = {0};
    memset(len, 0, (size_t)n);
    for (int i = 0; i < n; i++)
        if (freq[i])
            sym[m++] = i;
    if (m == 0)
        return;
    if (m == 1) {
        len[sym[0]] = 1;
        len[sym[0] == 0 ? 1 : 0] = 1;
        return;
    }
    /* Sort by frequency, ties by symbol: sym[] is in symbol order, so a
     * stable radix sort of the frequencies (below 2^18: a block has fewer
     * than 2^17 symbols) in three passes of 6 bits keeps ties in order. */
    {
        int tmp[N_LITLEN];
        for (int shift = 0; shift < 18; shift += 6) {
            unsigned bucket[65] = {0};
            for (int i = 0; i < m; i++)
                bucket[((freq[sym[i]] >> shift) & 63) + 1]++;
            for (int b = 1; b <= 64; b++)
                bucket[b] += bucket[b - 1];
            for (int i = 0; i < m; i++)
                tmp[bucket[(freq[sym[i]] >> shift) & 63]++] = sym[i];
            memcpy(sym, tmp, sizeof sym[0] * (size_t)m);
        }
    }
    /* Two queues: leaves 0..m-1 in order, internal nodes m.. as made. */
    for (int i = 0; i < m; i++)
        w[i] = freq[sym[i]];
    {
        int leaf = 0, node = m, next = m;
        while (next < 2 * m - 1) {
            int pick[2];
            for (int k = 0; k < 2; k++) {
                if (leaf < m && (node >= next || w[leaf] <= w[node]))
                    pick[k] = leaf++;
                else
                    pick[k] = node++;
            }
            w[next] = w[pick[0]] + w[pick[1]];
            parent[pick[0]] = parent[pick[1]] = next;
            next++;
        }
    }
    depth[2 * m - 2] = 0;
    for (int i = 2 * m - 3; i >= 0; i--)
        depth[i] = depth[parent[i]] + 1;
    /* Leaves deeper than the limit go to the limit; then the Kraft sum is
     * brought back to exactly one. */
    for (int i = 0; i < m; i++)
        count[depth[i] > limit ? limit : depth[i]]++;
    {
        int64_t k = 0, one = (int64_t)1 << limit;
        for (int d = 1; d <= limit; d++)
            k += (int64_t)count[d] << (limit - d);
        while (k > one) {
            int d = limit - 1;
            while (count[d] == 0)
                d--;
            count[d]--;
            count[d + 1]++;
            k -= (int64_t)1 << (limit - d - 1);
        }
        while (k < one) {
            int d = limit;
            while (count[d] == 0 || ((int64_t)1 << (limit - d)) > one - k)
                d--;
            count[d]--;
            count[d - 1]++;
            k += (int64_t)1 << (limit - d);
        }
    }
    /* The least frequent symbols take the longest codes. */
    {
        int i = 0;
        for (int d = limit; d >= 1; d--)
            for (int c = 0; c < count[d]; c++)
                len[sym[i++]] = (unsigned char)d;
    }
}

/* Canonical codes, bit-reversed for deflate's LSB-first order. */
static void huff_codes(const unsigned char *len, int n, uint16_t *code)
{
    unsigned count[MAX_BITS + 1] = {0}, next[MAX_BITS + 2];
    unsigned c = 0;
    for (int i = 0; i < n; i++)
        count[len[i]]++;
    count[0] = 0;
    for (int b = 1; b <= MAX_BITS; b++) {
        c = (c + count[b - 1]) << 1;
        next[b] = c;
    }
    for (int i = 0; i < n; i++) {
        unsigned l = len[i], v, r = 0;
        if (!l)
            continue;
        v = next[l]++;
        for (unsigned b = 0; b < l; b++)
            r |= ((v >> b) & 1u) << (l - 1 - b);
        code[i] = (uint16_t)r;
    }
}

/* The block header of a dynamic code: its size in bits, and (with b) the
 * bits themselves. */
typedef struct {
    unsigned char lens[N_LITLEN + 2];       /* lit/len then distance lengths */
    int hlit, hdist, hclen;
    unsigned char rle_sym[N_LITLEN + 2];    /* code-length symbols */
    unsigned char rle_extra[N_LITLEN + 2];
    int n_rle;
    unsigned char cl_len[N_CL];
    uint16_t cl_code[N_CL];
} dyn_header;

static const unsigned char cl_order[N_CL] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                             11, 4,  12, 3, 13, 2, 14, 1, 15};
static const unsigned char cl_extra_bits[N_CL] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                  0, 0, 0, 0, 0, 0, 2, 3, 7};

static uint64_t header_plan(dyn_header *h, const unsigned char *ll_len, const unsigned char *d_len)
{
    uint32_t cl_freq[N_CL] = {0};
    int total;
    uint64_t bits;
    h->hlit = N_LITLEN;
    while (h->hlit > 257 && ll_len[h->hlit - 1] == 0)
        h->hlit--;
    h->hdist = 2;                         /* distance codes 0 and 1, one bit each */
    memcpy(h->lens, ll_len, (size_t)h->hlit);
    memcpy(h->lens + h->hlit, d_len, (size_t)h->hdist);
    total = h->hlit + h->hdist;
    h->n_rle = 0;
    for (int i = 0; i < total;) {
        unsigned v = h->lens[i];
        int run = 1;
        while (i + run < total && h->lens[i + run] == v)
            run++;
        if (v == 0 && run >= 3) {
            int r = run > 138 ? 138 : run;
            h->rle_sym[h->n_rle] = r >= 11 ? 18 : 17;
            h->rle_extra[h->n_rle++] = (unsigned char)(r >= 11 ? r - 11 : r - 3);
            i += r;
        } else if (v != 0 && run >= 4) {
            int r = run - 1 > 6 ? 6 : run - 1;
            h->rle_sym[h->n_rle] = (unsigned char)v;
            h->rle_extra[h->n_rle++] = 0;
            h->rle_sym[h->n_rle] = 16;
            h->rle_extra[h->n_rle++] = (unsigned char)(r - 3);
            i += 1 + r;
        } else {
            h->rle_sym[h->n_rle] = (unsigned char)v;
            h->rle_extra[h->n_rle++] = 0;
            i++;
        }
    }
    for (int i = 0; i < h->n_rle; i++)
        cl_freq[h->rle_sym[i]]++;
    huff_lengths(cl_freq, N_CL, MAX_CL_BITS, h->cl_len);
    huff_codes(h->cl_len, N_CL, h->cl_code);
    h->hclen = N_CL;
    while (h->hclen > 4 && h->cl_len[cl_order[h->hclen - 1]] == 0)
        h->hclen--;
    bits = 3 + 5 + 5 + 4 + 3 * (uint64_t)h->hclen;
    for (int i = 0; i < h->n_rle; i++)
        bits += h->cl_len[h->rle_sym[i]] + cl_extra_bits[h->rle_sym[i]];
    return bits;
}

static void header_write(const dyn_header *h, bit_out *b, int final)
{
    put(b, (uint64_t)(final ? 1 : 0) | (2u << 1), 3);
    put(b, (uint64_t)(h->hlit - 257), 5);
    put(b, (uint64_t)(h->hdist - 1), 5);
    put(b, (uint64_t)(h->hclen - 4), 4);
    for (int i = 0; i < h->hclen; i++)
        put(b, h->cl_len[cl_order[i]], 3);
    for (int i = 0; i < h->n_rle; i++) {
        unsigned s = h->rle_sym[i];
        put(b, h->cl_code[s], h->cl_len[s]);
        if (cl_extra_bits[s])
            put(b, h->rle_extra[i], cl_extra_bits[s]);
    }
}

/* Stored blocks for in[0..n), the last one final when asked. */
static void put_stored(bit_out *b, const unsigned char *in, size_t n, int final)
{
    size_t pos = 0;
    do {
        size_t k = n - pos > 65535 ? 65535 : n - pos;
        int fin = final && pos + k == n;
        put(b, (uint64_t)(fin ? 1 : 0), 3);
        flush_bits(b);
        b->p[0] = (unsigned char)(k & 255);
        b->p[1] = (unsigned char)(k >> 8);
        b->p[2] = (unsigned char)(~k & 255);
        b->p[3] = (unsigned char)((~k >> 8) & 255);
        if (k)
            memcpy(b->p + 4, in + pos, k);
        b->p += 4 + k;
        pos += k;
    } while (pos < n);
}

/* eq[w] bit j: byte start + 64 w + j equals the byte before it (never for
 * byte 0 of the piece, never at or past end); eq[words] = 0. */
static size_t equal_bits(const unsigned char *in, size_t start, size_t end, uint64_t *eq)
{
    size_t n = end - start, words = (n + 63) / 64;
    for (size_t w = 0; w < words; w++) {
        size_t base = start + w * 64;
        uint64_t m = 0;
#if defined(__SSE2__)
        if (base >= 1 && base + 64 <= end) {
            for (int q = 0; q < 4; q++) {
                const unsigned char *p = in + base + 16 * q;
                __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
                __m128i pr = _mm_loadu_si128((const __m128i *)(const void *)(p - 1));
                m |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(a, pr)) << (16 * q);
            }
            eq[w] = m;
            continue;
        }
#endif
        for (size_t j = 0; j < 64 && base + j < end; j++)
            if (base + j >= 1 && in[base + j] == in[base + j - 1])
                m |= (uint64_t)1 << j;
        eq[w] = m;
    }
    eq[words] = 0;
    return words;
}

/* The runs of in[start, end): where three or more bytes equal the one
 * before them, greedily, at most 258 long.  Returns how many; adds their
 * length symbols to freq and takes their bytes off the byte counts. */
static size_t find_runs(const unsigned char *in, size_t start, size_t end, uint64_t *eq,
                        rle_run *runs, uint32_t *freq)
{
    size_t words = equal_bits(in, start, end, eq), pos = 0, n = 0;
    for (;;) {
        size_t w = pos >> 6, r, len = 0, q;
        uint64_t c;
        if (w >= words)
            break;
        c = eq[w] & ((eq[w] >> 1) | (eq[w + 1] << 63)) & ((eq[w] >> 2) | (eq[w + 1] << 62));
        c &= ~(uint64_t)0 << (pos & 63);
        while (!c) {
            if (++w >= words)
                return n;
            c = eq[w] & ((eq[w] >> 1) | (eq[w + 1] << 63)) & ((eq[w] >> 2) | (eq[w + 1] << 62));
        }
        r = w * 64 + (size_t)__builtin_ctzll(c);
        /* The ones from r on. */
        q = r;
        while (len < 258) {
            uint64_t x = ~(eq[q >> 6] >> (q & 63));
            size_t ones = x ? (size_t)__builtin_ctzll(x) : 64; /* 64: a whole word of ones */
            len += ones;
            q += ones;
            if ((q & 63) != 0 || ones == 0)
                break;
        }
        if (len > 258)
            len = 258;
        runs[n].pos = (uint32_t)r;
        runs[n++].len = (uint32_t)len;
        freq[len_table[len].sym]++;
        freq[in[start + r - 1]] -= (uint32_t)len;
        pos = r + len;
    }
    return n;
}

static void count_bytes(const unsigned char *p, size_t n, uint32_t *h4)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        h4[p[i]]++;
        h4[256 + p[i + 1]]++;
        h4[512 + p[i + 2]]++;
        h4[768 + p[i + 3]]++;
    }
    for (; i < n; i++)
        h4[p[i]]++;
}

size_t cnf__rle_deflate_bound(size_t n)
{
    /* Stored blocks at worst, plus a block's bit tail and the flush. */
    return n + 5 * (n / 65535 + 2) * (n / BLOCK_BYTES + 1) + 32;
}

/* The bits of a block coded with the lengths made for freq: its header
 * (planned into h) and its symbols. */
static uint64_t block_cost(const uint32_t *freq, unsigned char *ll_len, const unsigned char *d_len,
                           dyn_header *h)
{
    static const unsigned char eb[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                         2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    uint64_t body = 0;
    huff_lengths(freq, N_LITLEN, MAX_BITS, ll_len);
    for (int s = 0; s < N_LITLEN; s++) {
        body += (uint64_t)freq[s] * ll_len[s];
        if (s > 256 && freq[s])
            body += (uint64_t)freq[s] * (eb[s - 257] + 1u); /* + the 1-bit distance */
    }
    return body + header_plan(h, ll_len, d_len);
}

/* One block: in[start, end) of the call's input `in` (start > 0 may take a
 * run from byte start - 1). */
/* Short runs can cost more bits than their bytes as literals: leave the
 * runs shorter than each threshold as literals, and keep the cheapest
 * (counted exactly from the symbol counts).  Updates the runs, ll_len, h
 * and *cost for the choice; returns the number of runs kept. */
static size_t choose_runs(const unsigned char *in, size_t start, rle_run *runs, size_t n_runs,
                          const uint32_t *freq, const unsigned char *d_len,
                          unsigned char *ll_len, dyn_header *h, uint64_t *cost)
{
    enum { N_T = 5 };
    static const unsigned thresholds[N_T] = {4, 5, 7, 10, 259};
    static const unsigned char cls[10] = {0, 0, 0, 0, 1, 2, 2, 3, 3, 3};
    /* delta[c]: what leaving the runs of class c as literals changes; class
     * c holds the lengths from thresholds[c - 1] (3 for c = 0) to below
     * thresholds[c]. */
    int32_t delta[N_T][N_LITLEN];
    uint32_t f2[N_LITLEN];
    unsigned best_t = 3;
    size_t kept = 0;
    memset(delta, 0, sizeof delta);
    for (size_t k = 0; k < n_runs; k++) {
        unsigned len = runs[k].len, c = len < 10 ? cls[len] : 4;
        delta[c][len_table[len].sym]--;
        delta[c][in[start + runs[k].pos - 1]] += (int32_t)len;
    }
    memcpy(f2, freq, sizeof f2);
    for (int t = 0; t < N_T; t++) {
        unsigned char l2[N_LITLEN];
        dyn_header h2;
        uint64_t c2;
        for (int i = 0; i < N_LITLEN; i++)
            f2[i] = (uint32_t)((int64_t)f2[i] + delta[t][i]);
        c2 = block_cost(f2, l2, d_len, &h2);
        if (c2 < *cost) {
            *cost = c2;
            best_t = thresholds[t];
            memcpy(ll_len, l2, sizeof l2);
            *h = h2;
        }
    }
    for (size_t k = 0; k < n_runs; k++)
        if (runs[k].len >= best_t)
            runs[kept++] = runs[k];
    return kept;
}

/* The block's symbols: the literals between the runs, each run as its
 * length and distance 1, then the end of block. */
static void put_symbols(const unsigned char *in, size_t start, size_t end, const rle_run *runs,
                        size_t n_runs, const unsigned char *ll_len, const unsigned char *d_len,
                        bit_out *b)
{
    uint16_t ll_code[N_LITLEN], d_code[2];
    uint32_t lit[256]; /* code | length << 16 */
    size_t pos = start;
    unsigned longest = 0;
    huff_codes(ll_len, N_LITLEN, ll_code);
    huff_codes(d_len, 2, d_code);
    for (int s = 0; s < 256; s++) {
        lit[s] = ll_code[s] | (uint32_t)ll_len[s] << 16;
        longest = ll_len[s] > longest ? ll_len[s] : longest;
    }
    for (size_t k = 0; k <= n_runs; k++) {
        size_t stop = k < n_runs ? start + runs[k].pos : end;
        /* Four literals per store when they fit in 57 bits, else three. */
        if (longest <= 14)
            for (; pos + 4 <= stop; pos += 4) {
                uint32_t x = lit[in[pos]], y = lit[in[pos + 1]], z = lit[in[pos + 2]],
                         u = lit[in[pos + 3]];
                unsigned lx = x >> 16, ly = lx + (y >> 16), lz = ly + (z >> 16);
                put(b, (x & 0xffffu) | (uint64_t)(y & 0xffffu) << lx |
                           (uint64_t)(z & 0xffffu) << ly | (uint64_t)(u & 0xffffu) << lz,
                    lz + (u >> 16));
            }
        for (; pos + 3 <= stop; pos += 3) {
            uint32_t x = lit[in[pos]], y = lit[in[pos + 1]], z = lit[in[pos + 2]];
            unsigned lx = x >> 16, ly = y >> 16;
            put(b, (x & 0xffffu) | (uint64_t)(y & 0xffffu) << lx |
                       (uint64_t)(z & 0xffffu) << (lx + ly),
                lx + ly + (z >> 16));
        }
        for (; pos < stop; pos++)
            put(b, lit[in[pos]] & 0xffffu, lit[in[pos]] >> 16);
        if (k < n_runs) {
            const len_entry *e = &len_table[runs[k].len];
            uint64_t v = ll_code[e->sym];
            unsigned nb = ll_len[e->sym];
            v |= (uint64_t)e->extra << nb;
            nb += e->nextra;
            v |= (uint64_t)d_code[0] << nb;
            put(b, v, nb + d_len[0]);
            pos += runs[k].len;
        }
    }
    put(b, ll_code[256], ll_len[256]);
}

static void encode_block(const unsigned char *in, size_t start, size_t end, int final,
                         rle_run *runs, uint64_t *eq, bit_out *b)
{
    uint32_t h4[1024] = {0}, freq[N_LITLEN] = {0}, dfreq[2] = {1, 1};
    unsigned char ll_len[N_LITLEN], d_len[2];
    dyn_header h;
    size_t n_runs;
    uint64_t cost;
    count_bytes(in + start, end - start, h4);
    for (int s = 0; s < 256; s++)
        freq[s] = h4[s] + h4[256 + s] + h4[512 + s] + h4[768 + s];
    n_runs = find_runs(in, start, end, eq, runs, freq);
    freq[256] = 1;
    huff_lengths(dfreq, 2, MAX_BITS, d_len);
    cost = block_cost(freq, ll_len, d_len, &h);
    if (n_runs)
        n_runs = choose_runs(in, start, runs, n_runs, freq, d_len, ll_len, &h, &cost);
    /* Stored costs the bits to the boundary, 32 per 64 KiB, and the bytes. */
    if (cost >= 3 + 7 + 32 * ((end - start) / 65535 + 1) + 8 * (uint64_t)(end - start)) {
        put_stored(b, in + start, end - start, final);
        return;
    }
    header_write(&h, b, final);
    put_symbols(in, start, end, runs, n_runs, ll_len, d_len, b);
}

size_t cnf__rle_deflate(const unsigned char *in, size_t n, int last, unsigned char *out)
{
    bit_out b = {0, 0, out};
    rle_run *runs = NULL;
    uint64_t *eq = NULL;
    pthread_once(&len_table_once, make_len_table);
    if (n) {
        runs = malloc(sizeof *runs * (BLOCK_BYTES / 3 + 1));
        eq = malloc(sizeof *eq * (BLOCK_BYTES / 64 + 2));
        if (!runs || !eq) {
            free(runs);
            free(eq);
            return 0;
        }
    }
    for (size_t start = 0; start < n; start += BLOCK_BYTES) {
        size_t end = n - start > BLOCK_BYTES ? start + BLOCK_BYTES : n;
        encode_block(in, start, end, last && end == n, runs, eq, &b);
    }
    free(runs);
    free(eq);
    if (!n && last) {
        put(&b, 3, 10); /* a final fixed-code block holding only its end: 1, 01, 0000000 */
    } else if (!last) {
        put_stored(&b, NULL, 0, 0); /* the sync flush: an empty stored block */
        return (size_t)(b.p - out);
    }
    flush_bits(&b);
    return (size_t)(b.p - out);
}
