/* png_unfilter.c - undoing a PNG row's filter (sub, up, average, Paeth) in place.
 *
 * Each filter predicts a byte from the byte one pixel to the left (a), the
 * byte above (b) and the byte above and left (c), so within a row every
 * pixel waits for the one before it: the bytes of one pixel are the only
 * parallelism within a row.  On x86-64 the SSE2 path takes a pixel (1 to 4
 * bytes) per step, Paeth's predictor in 16-bit lanes with no branch (with
 * SSE4.1's blend where the CPU has it); Paeth on 8-bit RGB that way costs
 * 4.4 ns a pixel where the byte loops with their unpredictable branches
 * took 20.  Two Paeth rows go together (cnf__png_unfilter2), a pixel of
 * each in one vector, the lower row a pixel behind: 2.5 ns.  Elsewhere,
 * and built with CNF_NO_CLONES (the unit test builds it so beside the
 * other, under another name), the portable loops below do it; all give the
 * same bytes for every input.
 */
#include "codec.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && !defined(CNF_NO_CLONES)
#define UNF_SSE2 1
#include <emmintrin.h>
/* and an SSE4.1 Paeth, chosen when the CPU has it (not with
 * CNF_UNFILTER_SSE2, which the unit test builds to test the SSE2 one) */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(CNF_UNFILTER_SSE2)
#define UNF_SSE41 1
#include <smmintrin.h>
#endif
#endif

#if defined(__GNUC__)
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE static inline
#endif

/* ------------------------------------------------------------- portable */

static inline unsigned char paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (unsigned char)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

static void sub_bytes(unsigned char *r, size_t n, size_t bpp)
{
    for (size_t i = bpp; i < n; i++)
        r[i] = (unsigned char)(r[i] + r[i - bpp]);
}

static void up_bytes(unsigned char *restrict r, const unsigned char *restrict prev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        r[i] = (unsigned char)(r[i] + prev[i]);
}

static void avg_bytes(unsigned char *r, const unsigned char *prev, size_t n, size_t bpp)
{
    for (size_t i = 0; i < bpp && i < n; i++)
        r[i] = (unsigned char)(r[i] + (prev[i] >> 1));
    for (size_t i = bpp; i < n; i++)
        r[i] = (unsigned char)(r[i] + ((r[i - bpp] + prev[i]) >> 1));
}

static void paeth_bytes(unsigned char *r, const unsigned char *prev, size_t n, size_t bpp)
{
    for (size_t i = 0; i < bpp && i < n; i++)
        r[i] = (unsigned char)(r[i] + prev[i]);
    for (size_t i = bpp; i < n; i++)
        r[i] = (unsigned char)(r[i] + paeth(r[i - bpp], prev[i], prev[i - bpp]));
}

/* ----------------------------------------------------------------- SSE2 */

#if defined(UNF_SSE2)
/* One pixel of bpp bytes (a constant once inlined) to and from the low
 * bytes of a vector; never a byte outside the pixel, so the row needs no
 * slack and no store overlaps the next pixel's load. */
ALWAYS_INLINE __m128i load_px(const unsigned char *p, size_t bpp)
{
    uint32_t v;
    if (bpp == 3) {
        /* as two loads into a register: one of three bytes goes through
         * memory, and the next load of it waits for the store */
        uint16_t lo;
        memcpy(&lo, p, 2);
        v = lo | (uint32_t)p[2] << 16;
    } else if (bpp == 4) {
        memcpy(&v, p, 4);
    } else if (bpp == 2) {
        uint16_t u;
        memcpy(&u, p, 2);
        v = u;
    } else {
        v = p[0];
    }
    return _mm_cvtsi32_si128((int)v);
}

ALWAYS_INLINE void store_px(unsigned char *p, __m128i v, size_t bpp)
{
    uint32_t u = (uint32_t)_mm_cvtsi128_si32(v);
    if (bpp == 3) {
        uint16_t lo = (uint16_t)u;
        memcpy(p, &lo, 2);
        p[2] = (unsigned char)(u >> 16);
    } else if (bpp == 4) {
        memcpy(p, &u, 4);
    } else if (bpp == 2) {
        uint16_t lo = (uint16_t)u;
        memcpy(p, &lo, 2);
    } else {
        p[0] = (unsigned char)u;
    }
}

/* Sub: a + d, bytewise. */
ALWAYS_INLINE void sub_px(unsigned char *r, size_t n, size_t bpp)
{
    __m128i a = _mm_setzero_si128();
    for (size_t i = 0; i < n; i += bpp) {
        a = _mm_add_epi8(a, load_px(r + i, bpp));
        store_px(r + i, a, bpp);
    }
}

/* Average: d + floor((a + b) / 2), bytewise.  pavgb rounds up, but on
 * complements it rounds down: ~pavgb(~a, ~b) = floor((a + b) / 2).  So
 * the complement of a is carried, ~a' = pavgb(~a, ~b) - d, two steps from
 * one pixel to the next. */
ALWAYS_INLINE void avg_px(unsigned char *r, const unsigned char *prev, size_t n, size_t bpp)
{
    const __m128i ones = _mm_set1_epi8(-1);
    __m128i na = ones;
    for (size_t i = 0; i < n; i += bpp) {
        __m128i nb = _mm_xor_si128(load_px(prev + i, bpp), ones), d = load_px(r + i, bpp);
        na = _mm_sub_epi8(_mm_avg_epu8(na, nb), d);
        store_px(r + i, _mm_xor_si128(na, ones), bpp);
    }
}

/* Paeth in 16-bit lanes (the differences need 10 bits): with
 * pa = |b - c|, pb = |a - c|, pc = |a + b - 2c|, the predictor is a when
 * pa <= min(pb, pc), else b when pb <= pc, else c (the specification's
 * order of ties).  pa and b - c come from the row above, so only pb's and
 * pc's part waits for the pixel before.  The bytes sit in the low half of
 * each lane, so a bytewise add of d wraps modulo 256 with the high byte
 * kept zero.  PAETH(a, b, c, d) is the next a; ABS and BLEND(x, y, m)
 * (m ? y : x, lane by lane) are SSE2's or SSE4.1's. */
#define PAETH(a, b, c, d, ABS, BLEND)                                                      \
    __extension__({                                                                        \
        __m128i bc_ = _mm_sub_epi16(b, c), ac_ = _mm_sub_epi16(a, c);                      \
        __m128i pa_ = ABS(bc_), pb_ = ABS(ac_), pc_ = ABS(_mm_add_epi16(ac_, bc_));        \
        __m128i not_b_ = _mm_cmpgt_epi16(pb_, pc_);                                        \
        __m128i not_a_ = _mm_cmpgt_epi16(pa_, _mm_min_epi16(pb_, pc_));                    \
        _mm_add_epi8(BLEND(a, BLEND(b, c, not_b_), not_a_), d);                            \
    })
#define ABS_SSE2(v) _mm_max_epi16(v, _mm_sub_epi16(_mm_setzero_si128(), v))
#define BLEND_SSE2(x, y, m) _mm_or_si128(_mm_andnot_si128(m, x), _mm_and_si128(m, y))

/* One row: a pixel a step. */
#define PAETH_ROW(ABS, BLEND)                                                              \
    do {                                                                                   \
        const __m128i zero = _mm_setzero_si128();                                          \
        __m128i a = zero, c = zero;                                                        \
        for (size_t i = 0; i < n; i += bpp) {                                              \
            __m128i b = _mm_unpacklo_epi8(load_px(prev + i, bpp), zero);                   \
            __m128i d = _mm_unpacklo_epi8(load_px(r + i, bpp), zero);                      \
            a = PAETH(a, b, c, d, ABS, BLEND);                                             \
            store_px(r + i, _mm_packus_epi16(a, a), bpp);                                  \
            c = b;                                                                         \
        }                                                                                  \
    } while (0)

/* Two rows, r1 and below it r2, both Paeth, 1 to 4 bytes a pixel: pixel k
 * of r1 in the low four lanes and pixel k - 1 of r2 in the high four, so
 * each step makes two pixels on one dependency path, only a step longer
 * (r2's b is r1's pixel just made, r2's c the one before).  Step 0 makes
 * r1's first pixel alone, the last step r2's last. */
#define PAETH_ROWS2(ABS, BLEND)                                                            \
    do {                                                                                   \
        const __m128i zero = _mm_setzero_si128();                                          \
        __m128i a = zero, c = zero, b, d, x;                                               \
        size_t px = n / bpp;                                                               \
        b = _mm_unpacklo_epi8(load_px(prev, bpp), zero);                                   \
        d = _mm_unpacklo_epi8(load_px(r1, bpp), zero);                                     \
        a = PAETH(a, b, c, d, ABS, BLEND);                                                 \
        store_px(r1, _mm_packus_epi16(a, a), bpp);                                         \
        c = b;                                                                             \
        for (size_t k = 1; k < px; k++) {                                                  \
            b = _mm_unpacklo_epi64(_mm_unpacklo_epi8(load_px(prev + k * bpp, bpp), zero),  \
                                   a);                                                     \
            d = _mm_unpacklo_epi8(                                                         \
                _mm_unpacklo_epi32(load_px(r1 + k * bpp, bpp),                             \
                                   load_px(r2 + (k - 1) * bpp, bpp)),                      \
                zero);                                                                     \
            a = PAETH(a, b, c, d, ABS, BLEND);                                             \
            x = _mm_packus_epi16(a, a);                                                    \
            store_px(r1 + k * bpp, x, bpp);                                                \
            store_px(r2 + (k - 1) * bpp, _mm_srli_si128(x, 4), bpp);                       \
            c = b;                                                                         \
        }                                                                                  \
        b = _mm_unpacklo_epi64(zero, a);                                                   \
        d = _mm_unpacklo_epi8(_mm_unpacklo_epi32(zero, load_px(r2 + (px - 1) * bpp, bpp)), \
                              zero);                                                       \
        a = PAETH(a, b, c, d, ABS, BLEND);                                                 \
        store_px(r2 + (px - 1) * bpp, _mm_srli_si128(_mm_packus_epi16(a, a), 4), bpp);    \
    } while (0)

ALWAYS_INLINE void paeth_px(unsigned char *r, const unsigned char *prev, size_t n, size_t bpp)
{
    PAETH_ROW(ABS_SSE2, BLEND_SSE2);
}

ALWAYS_INLINE void paeth2_px(unsigned char *r1, unsigned char *r2, const unsigned char *prev,
                             size_t n, size_t bpp)
{
    PAETH_ROWS2(ABS_SSE2, BLEND_SSE2);
}

static void paeth2_sse2(unsigned char *r1, unsigned char *r2, const unsigned char *prev,
                        size_t n, size_t bpp)
{
    switch (bpp) {
    case 1: paeth2_px(r1, r2, prev, n, 1); break;
    case 2: paeth2_px(r1, r2, prev, n, 2); break;
    case 3: paeth2_px(r1, r2, prev, n, 3); break;
    default: paeth2_px(r1, r2, prev, n, 4); break;
    }
}

#if defined(UNF_SSE41)
/* The same with SSE4.1's absolute value and blend: three steps fewer on
 * the path from one pixel to the next (a third faster). */
ALWAYS_INLINE __attribute__((target("sse4.1"))) void paeth_px41(unsigned char *r,
                                                               const unsigned char *prev,
                                                               size_t n, size_t bpp)
{
    PAETH_ROW(_mm_abs_epi16, _mm_blendv_epi8);
}

ALWAYS_INLINE __attribute__((target("sse4.1"))) void paeth2_px41(unsigned char *r1,
                                                                unsigned char *r2,
                                                                const unsigned char *prev,
                                                                size_t n, size_t bpp)
{
    PAETH_ROWS2(_mm_abs_epi16, _mm_blendv_epi8);
}

static __attribute__((target("sse4.1"))) void paeth_sse41(unsigned char *r,
                                                         const unsigned char *prev, size_t n,
                                                         size_t bpp)
{
    switch (bpp) {
    case 1: paeth_px41(r, prev, n, 1); break;
    case 2: paeth_px41(r, prev, n, 2); break;
    case 3: paeth_px41(r, prev, n, 3); break;
    default: paeth_px41(r, prev, n, 4); break;
    }
}

static __attribute__((target("sse4.1"))) void paeth2_sse41(unsigned char *r1, unsigned char *r2,
                                                          const unsigned char *prev, size_t n,
                                                          size_t bpp)
{
    switch (bpp) {
    case 1: paeth2_px41(r1, r2, prev, n, 1); break;
    case 2: paeth2_px41(r1, r2, prev, n, 2); break;
    case 3: paeth2_px41(r1, r2, prev, n, 3); break;
    default: paeth2_px41(r1, r2, prev, n, 4); break;
    }
}
#endif

/* Each filter for each pixel size, so the loads and stores are of a
 * constant size. */
static void unfilter_sse2(int filter, unsigned char *r, const unsigned char *prev, size_t n,
                          size_t bpp)
{
#define UNF_BPP(k)                                                                        \
    case k:                                                                               \
        if (filter == 1)                                                                  \
            sub_px(r, n, k);                                                              \
        else if (filter == 3)                                                             \
            avg_px(r, prev, n, k);                                                        \
        else                                                                              \
            paeth_px(r, prev, n, k);                                                      \
        break;
    switch (bpp) {
        UNF_BPP(1)
        UNF_BPP(2)
        UNF_BPP(3)
        UNF_BPP(4)
    default:
        break;
    }
#undef UNF_BPP
}
#endif

void cnf__png_unfilter(int filter, unsigned char *row, const unsigned char *prev, size_t n,
                       size_t bpp)
{
    if (filter == 2) {
        up_bytes(row, prev, n);
        return;
    }
#if defined(UNF_SSE2)
#if defined(UNF_SSE41)
    if (filter == 4 && bpp >= 1 && bpp <= 4 && n % bpp == 0 && __builtin_cpu_supports("sse4.1")) {
        paeth_sse41(row, prev, n, bpp);
        return;
    }
#endif
    if ((filter == 1 || filter == 3 || filter == 4) && bpp >= 1 && bpp <= 4 && n % bpp == 0) {
        unfilter_sse2(filter, row, prev, n, bpp);
        return;
    }
#endif
    if (filter == 1)
        sub_bytes(row, n, bpp);
    else if (filter == 3)
        avg_bytes(row, prev, n, bpp);
    else if (filter == 4)
        paeth_bytes(row, prev, n, bpp);
}

void cnf__png_unfilter2(int filter1, int filter2, unsigned char *row1, unsigned char *row2,
                        const unsigned char *prev, size_t n, size_t bpp)
{
#if defined(UNF_SSE2)
    if (filter1 == 4 && filter2 == 4 && bpp >= 1 && bpp <= 4 && n >= bpp && n % bpp == 0) {
#if defined(UNF_SSE41)
        if (__builtin_cpu_supports("sse4.1")) {
            paeth2_sse41(row1, row2, prev, n, bpp);
            return;
        }
#endif
        paeth2_sse2(row1, row2, prev, n, bpp);
        return;
    }
#endif
    cnf__png_unfilter(filter1, row1, prev, n, bpp);
    cnf__png_unfilter(filter2, row2, row1, n, bpp);
}
