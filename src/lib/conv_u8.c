/* conv_u8.c - the 8-bit lane: one small integer kernel on interleaved 8-bit rows, to 8 bits.
 *
 * The float engine (conv.c) makes a plane of float sums and map.c turns
 * each into a byte: float32(sum / divisor) rounded half to even, then
 * clamped (or its absolute value taken).  For a kernel of integer weights
 * and an integer divisor on 8-bit data the sum is an integer, and this
 * lane makes the same byte from it without the floats:
 *
 * Sums.  Interleaved rows are convolved as one long row of width x
 * channels samples, a tap (i, j) reading offset j x channels of padded
 * row i, so each channel is convolved on its own.  The taps are grouped
 * by |weight|: a group adds its positive taps' samples and subtracts its
 * negative ones', then multiplies once (by a shift for a power of two,
 * nothing for 1), so Sobel's six taps cost two multiplies by shifts.  From
 * the weights alone: every sum lies in [-255 N, 255 P] (P, N: the sums of
 * the positive and of the negative weights' magnitudes).  When both ends
 * fit in int16 (P, N <= 128), or N = 0 and 255 P fits in 16 unsigned bits
 * with the rounding term below (binomial 5 x 5: P = 256), sums are made in
 * 16-bit lanes, 32 values a step with AVX2: 16-bit addition is exact
 * modulo 2^16, so partial sums may wrap while the final sum, in range, is
 * exact.  Otherwise (up to 2^24, the float engine's exact range) int32
 * sums in portable C.
 *
 * Division.  The byte the float path gives is round_even(f) with f =
 * float32(S / D) (a negative divisor's sign moved to the weights, which
 * changes neither).  Here it is round_even(S / D) in exact integer
 * arithmetic: q = floor(S / D), r = S - q D, then q + 1 when 2r > D or
 * (2r = D and q is odd).  The two agree: only values up to 255.5 in
 * magnitude matter (beyond, both clamp to 255 or 0, and rounding to float
 * is monotonic, so f is past 255.5 exactly when S / D is), there a
 * float32's rounding error is at most 2^-16 (half an ulp below 256),
 * while a quotient S / D that is not a tie lies at least 1 / (2 D) >=
 * 2^-15 from one (D <= 16384): rounding to float cannot move it onto a
 * tie or across one.  tests/unit/test_conv_u8.c checks the whole sum range
 * for every divisor of the built-in kernels and for random divisors.  The
 * AVX2 loop divides the same way: a power of two by a shift with the
 * rounding bit (q = (s + 2^(k-1) - 1 + bit k of s) >> k), another divisor
 * by a 16-bit multiply-high (a magic number checked here on every sum
 * the kernel can make before it is used) and the same remainder test;
 * then at most 255 (unsigned) and packed to bytes.
 */
#include "conv_u8.h"
#include "nn.h"
#include "layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define HAVE_AVX2_LOOP 1
#include <immintrin.h>
#else
#define HAVE_AVX2_LOOP 0
#endif

#define MAX_SIDE 5
#define MAX_TAPS (MAX_SIDE * MAX_SIDE)
/* Sums a float32 holds exactly (the float engine's exact range). */
#define EXACT_SUM 16777216.0

typedef struct u8_tap {
    int i;      /* kernel row */
    size_t off; /* j x channels: its offset in a padded row */
} u8_tap;

/* Taps of one |weight|: pos positive ones then neg negative ones. */
typedef struct u8_group {
    int w;     /* |weight| */
    int shift; /* w == 1 << shift, or -1 */
    int first, pos, neg;
} u8_group;

struct cnf_u8_conv {
    int kh, kw, top, left, right, width, channels;
    cnf_border border;
    cnf_map_mode map;
    int kind;
    int32_t div;     /* > 0 */
    int div_shift;   /* div == 1 << div_shift, or -1 */
    int usum;        /* 16-bit sums unsigned (no negative weight) */
    int32_t smax;    /* the largest 16-bit sum (as unsigned) */
    uint16_t magic;  /* floor(s / div) == (s * magic >> 16) >> magic_shift, 0 <= s <= smax */
    int magic_shift;
    int n_taps, n_groups;
    u8_tap taps[MAX_TAPS];
    int32_t weight[MAX_TAPS]; /* signed, per tap (the portable loops) */
    u8_group groups[MAX_TAPS];
    int *lmap, *rmap; /* source column of each border column, -1 for zero */
    size_t padded;
    unsigned char *zero;
};

int cnf__u8_conv_kind(const cnf_u8_conv *c) { return c->kind; }
int cnf__u8_conv_kh(const cnf_u8_conv *c) { return c->kh; }
int cnf__u8_conv_top(const cnf_u8_conv *c) { return c->top; }
cnf_border cnf__u8_conv_border(const cnf_u8_conv *c) { return c->border; }
size_t cnf__u8_conv_padded(const cnf_u8_conv *c) { return c->padded; }
size_t cnf__u8_conv_row_at(const cnf_u8_conv *c) { return (size_t)c->left * (size_t)c->channels; }
const unsigned char *cnf__u8_conv_zero_row(const cnf_u8_conv *c) { return c->zero; }

const char *cnf_u8_conv_path(const cnf_u8_conv *c)
{
    return c->kind == CNF__U8_INT16_AVX2 ? "16-bit sums, AVX2"
           : c->kind == CNF__U8_INT16    ? "16-bit sums, portable"
                                         : "32-bit sums, portable";
}

void cnf_u8_conv_free(cnf_u8_conv *c)
{
    if (!c)
        return;
    free(c->lmap);
    free(c->rmap);
    free(c->zero);
    free(c);
}

/* A 16-bit magic number for floor(s / d) on 0 <= s <= smax, checked on
 * every such s; 0 when none is found. */
static int find_magic(int32_t d, uint32_t smax, uint16_t *magic, int *shift)
{
    for (int sh = 0; sh < 16; sh++) {
        uint64_t m = ((UINT64_C(1) << (16 + sh)) + (uint64_t)d - 1) / (uint64_t)d;
        int ok = m <= 0xffff;
        for (uint32_t s = 0; ok && s <= smax; s++)
            ok = ((s * m) >> 16 >> sh) == s / (uint32_t)d;
        if (ok) {
            *magic = (uint16_t)m;
            *shift = sh;
            return 1;
        }
    }
    return 0;
}

static int log2_exact(int64_t v)
{
    for (int k = 0; k < 31; k++)
        if (v == (INT64_C(1) << k))
            return k;
    return -1;
}

static int cmp_abs_desc(const void *a, const void *b)
{
    const int32_t *x = a, *y = b;
    int32_t ax = x[0] < 0 ? -x[0] : x[0], ay = y[0] < 0 ? -y[0] : y[0];
    if (ax != ay)
        return ax < ay ? -1 : 1;
    if ((x[0] < 0) != (y[0] < 0))
        return x[0] < 0 ? 1 : -1; /* positive first */
    return x[1] < y[1] ? -1 : x[1] > y[1]; /* kernel order */
}

/* The taps in groups by |weight|, largest first, positive ones first in a group. */
static void group_taps(cnf_u8_conv *c, int32_t (*list)[2], int n)
{
    qsort(list, (size_t)n, sizeof list[0], cmp_abs_desc);
    c->n_taps = n;
    for (int t = 0; t < n; t++) {
        int32_t w = list[t][0], aw = w < 0 ? -w : w;
        c->taps[t].i = list[t][1] / c->kw;
        c->taps[t].off = (size_t)(list[t][1] % c->kw) * (size_t)c->channels;
        c->weight[t] = w;
        if (c->n_groups == 0 || c->groups[c->n_groups - 1].w != aw) {
            u8_group *g = &c->groups[c->n_groups++];
            g->w = aw;
            g->shift = log2_exact(aw);
            g->first = t;
        }
        if (w > 0)
            c->groups[c->n_groups - 1].pos++;
        else
            c->groups[c->n_groups - 1].neg++;
    }
}

/* The sums' width from the weights' bound (pos, neg: the positive and the
 * negative weights' magnitudes summed), and whether the AVX2 loop runs. */
static void choose_sums(cnf_u8_conv *c, double pos, double neg, unsigned flags)
{
    if (255.0 * pos <= 32767 && 255.0 * neg <= 32767) {
        c->kind = CNF__U8_INT16;
        c->smax = 32767;
    } else if (neg == 0 &&
               255.0 * pos + (c->div_shift > 0 ? 1 << (c->div_shift - 1) : 0) <= 65535) {
        /* no negative weight: unsigned 16-bit sums (binomial 5 x 5: 65280) */
        c->kind = CNF__U8_INT16;
        c->usum = 1;
        c->smax = (int32_t)(255.0 * pos);
    } else {
        c->kind = CNF__U8_INT32;
    }
    if (c->kind == CNF__U8_INT16) {
#if HAVE_AVX2_LOOP
        if (!(flags & CNF_U8_PORTABLE) && __builtin_cpu_supports("avx2") &&
            (c->div_shift >= 0 ||
             find_magic(c->div, (uint32_t)c->smax, &c->magic, &c->magic_shift)))
            c->kind = CNF__U8_INT16_AVX2;
#else
        (void)flags;
#endif
    }
}

cnf_status cnf_u8_conv_create(const cnf_kernel *k, int flip, cnf_border border,
                              cnf_map_mode map, int width, int channels, unsigned flags,
                              cnf_u8_conv **ret, cnf_error *err)
{
    cnf_u8_conv *c;
    double dv, pos = 0, neg = 0, sign;
    int32_t list[MAX_TAPS][2]; /* signed weight, tap index i * kw + j */
    int n = 0;
    *ret = NULL;
    if (width < 1 || channels < 1 || channels > 4)
        return cnf__fail(err, CNF_E_USAGE, NULL, "8-bit rows of width %d and %d channels",
                         width, channels);
    if (!k || !k->weights || k->is3d || k->depth != 1 || k->w > MAX_SIDE || k->h > MAX_SIDE ||
        k->bias != 0 || (map != CNF_MAP_CLAMP && map != CNF_MAP_ABS))
        return CNF_OK;
    dv = k->divisor;
    if (!(dv != 0 && dv == floor(dv) && fabs(dv) <= 16384))
        return CNF_OK;
    sign = dv < 0 ? -1 : 1;
    for (int i = 0; i < k->h; i++)
        for (int j = 0; j < k->w; j++) {
            int si = flip ? k->h - 1 - i : i, sj = flip ? k->w - 1 - j : j;
            double v = k->weights[si * k->w + sj] * sign;
            if (v == 0)
                continue;
            if (v != floor(v) || fabs(v) >= EXACT_SUM)
                return CNF_OK;
            if (v > 0)
                pos += v;
            else
                neg -= v;
            list[n][0] = (int32_t)v;
            list[n][1] = i * k->w + j;
            n++;
        }
    if (255.0 * pos >= EXACT_SUM || 255.0 * neg >= EXACT_SUM)
        return CNF_OK;
    c = calloc(1, sizeof *c);
    if (!c)
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    c->kh = k->h;
    c->kw = k->w;
    c->width = width;
    c->channels = channels;
    c->border = border;
    c->map = map;
    c->div = (int32_t)fabs(dv);
    c->div_shift = log2_exact(c->div);
    {
        /* the float engine's 'same' padding of a stride-1 layer */
        cnf_layer L;
        int bottom;
        cnf_layer_init(&L);
        L.padding = CNF_PAD_SAME;
        cnf__layer_padding(&L, 1 << 20, k->h, 1, 1, 0, &c->top, &bottom);
        cnf__layer_padding(&L, 1 << 20, k->w, 1, 1, 1, &c->left, &c->right);
    }
    group_taps(c, list, n);
    choose_sums(c, pos, neg, flags);
    c->padded = (size_t)(c->left + width + c->right) * (size_t)channels;
    c->lmap = malloc(sizeof(int) * (size_t)(c->left + 1));
    c->rmap = malloc(sizeof(int) * (size_t)(c->right + 1));
    c->zero = calloc(1, c->padded);
    if (!c->lmap || !c->rmap || !c->zero) {
        cnf_u8_conv_free(c);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    for (int x = 0; x < c->left; x++)
        c->lmap[x] = cnf__border_index(border, x - c->left, width);
    for (int x = 0; x < c->right; x++)
        c->rmap[x] = cnf__border_index(border, width + x, width);
    *ret = c;
    return CNF_OK;
}

void cnf__u8_conv_pad(const cnf_u8_conv *c, unsigned char *padded)
{
    size_t ch = (size_t)c->channels;
    const unsigned char *row = padded + (size_t)c->left * ch;
    unsigned char *right = padded + (size_t)(c->left + c->width) * ch;
    for (int x = 0; x < c->left; x++) {
        if (c->lmap[x] < 0)
            memset(padded + (size_t)x * ch, 0, ch);
        else
            memcpy(padded + (size_t)x * ch, row + (size_t)c->lmap[x] * ch, ch);
    }
    for (int x = 0; x < c->right; x++) {
        if (c->rmap[x] < 0)
            memset(right + (size_t)x * ch, 0, ch);
        else
            memcpy(right + (size_t)x * ch, row + (size_t)c->rmap[x] * ch, ch);
    }
}

unsigned char cnf__u8_conv_finish(const cnf_u8_conv *c, int32_t s)
{
    int32_t q, r;
    if (s < 0) {
        if (c->map != CNF_MAP_ABS)
            return 0;
        s = -s;
    }
    q = s / c->div;
    r = s - q * c->div;
    if (2 * r > c->div || (2 * r == c->div && (q & 1)))
        q++;
    return (unsigned char)(q > 255 ? 255 : q);
}

/* Outputs per strip of the portable loops: 1 KiB of int32 sums. */
#define STRIP 256

/* The portable loop: each tap adds weight x samples into a strip of int32
 * sums (a plain loop the compiler vectorizes), then each sum is finished. */
static void row_portable(const cnf_u8_conv *c, const unsigned char *const *rows,
                         unsigned char *out)
{
    size_t n = (size_t)c->width * (size_t)c->channels;
    int32_t acc[STRIP];
    for (size_t x0 = 0; x0 < n; x0 += STRIP) {
        size_t m = n - x0 < STRIP ? n - x0 : STRIP;
        memset(acc, 0, sizeof acc);
        for (int t = 0; t < c->n_taps; t++) {
            const unsigned char *p = rows[c->taps[t].i] + x0 + c->taps[t].off;
            int32_t w = c->weight[t];
            for (size_t x = 0; x < m; x++)
                acc[x] += w * (int32_t)p[x];
        }
        for (size_t x = 0; x < m; x++)
            out[x0 + x] = cnf__u8_conv_finish(c, acc[x]);
    }
}

#if HAVE_AVX2_LOOP
/* 16 int16 sums to 16 pixels' values (not yet packed): the map, then the
 * division rounded half to even (see the top of the file). */
__attribute__((target("avx2"))) static inline __m256i finish_avx2(const cnf_u8_conv *c,
                                                                   __m256i s)
{
    const __m256i one = _mm256_set1_epi16(1), top = _mm256_set1_epi16(255);
    /* from here s is unsigned, at most smax */
    if (!c->usum)
        s = c->map == CNF_MAP_ABS ? _mm256_abs_epi16(s)
                                  : _mm256_max_epi16(s, _mm256_setzero_si256());
    if (c->div_shift == 0)
        return _mm256_min_epu16(s, top);
    if (c->div_shift > 0) {
        /* s + 2^(k-1) - 1 + bit k: at most smax + 2^(k-1), unsigned 16 bits */
        __m256i b = _mm256_and_si256(_mm256_srl_epi16(s, _mm_cvtsi32_si128(c->div_shift)), one);
        __m256i t = _mm256_add_epi16(
            s, _mm256_add_epi16(_mm256_set1_epi16((short)((1 << (c->div_shift - 1)) - 1)), b));
        return _mm256_min_epu16(_mm256_srl_epi16(t, _mm_cvtsi32_si128(c->div_shift)), top);
    }
    {
        const __m256i d = _mm256_set1_epi16((short)c->div);
        __m256i q = _mm256_srl_epi16(_mm256_mulhi_epu16(s, _mm256_set1_epi16((short)c->magic)),
                                     _mm_cvtsi32_si128(c->magic_shift));
        __m256i r = _mm256_sub_epi16(s, _mm256_mullo_epi16(q, d));
        __m256i r2 = _mm256_add_epi16(r, r); /* < 2 x 16384 */
        __m256i up = _mm256_cmpgt_epi16(r2, d);
        __m256i tie = _mm256_and_si256(_mm256_cmpeq_epi16(r2, d), _mm256_and_si256(q, one));
        return _mm256_min_epu16(_mm256_add_epi16(_mm256_sub_epi16(q, up), tie), top);
    }
}

/* One group's taps over 32 samples from x (tap t reads tp[t] + x): the
 * signed sum of its samples times its weight, added to *a0, *a1. */
__attribute__((target("avx2"))) static inline void group_avx2(const u8_group *g,
                                                               const unsigned char *const *tp,
                                                               size_t x, __m256i *a0, __m256i *a1)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    int t = g->first;
    for (int e = t + g->pos; t < e; t++) {
        const unsigned char *p = tp[t] + x;
        s0 = _mm256_add_epi16(s0, _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)p)));
        s1 = _mm256_add_epi16(s1,
                              _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + 16))));
    }
    for (int e = t + g->neg; t < e; t++) {
        const unsigned char *p = tp[t] + x;
        s0 = _mm256_sub_epi16(s0, _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)p)));
        s1 = _mm256_sub_epi16(s1,
                              _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + 16))));
    }
    if (g->shift > 0) {
        __m128i k = _mm_cvtsi32_si128(g->shift);
        s0 = _mm256_sll_epi16(s0, k);
        s1 = _mm256_sll_epi16(s1, k);
    } else if (g->shift < 0) {
        __m256i w = _mm256_set1_epi16((short)g->w);
        s0 = _mm256_mullo_epi16(s0, w);
        s1 = _mm256_mullo_epi16(s1, w);
    }
    *a0 = _mm256_add_epi16(*a0, s0);
    *a1 = _mm256_add_epi16(*a1, s1);
}

__attribute__((target("avx2"))) static void row_avx2(const cnf_u8_conv *c,
                                                      const unsigned char *const *rows,
                                                      unsigned char *out)
{
    size_t n = (size_t)c->width * (size_t)c->channels, x = 0;
    const unsigned char *tp[MAX_TAPS];
    u8_group groups[MAX_TAPS];
    int n_groups = c->n_groups;
    for (int t = 0; t < c->n_taps; t++)
        tp[t] = rows[c->taps[t].i] + c->taps[t].off;
    memcpy(groups, c->groups, sizeof(u8_group) * (size_t)n_groups);
    for (; x + 32 <= n; x += 32) {
        __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
        for (int g = 0; g < n_groups; g++)
            group_avx2(&groups[g], tp, x, &a0, &a1);
        a0 = finish_avx2(c, a0);
        a1 = finish_avx2(c, a1);
        _mm256_storeu_si256((__m256i *)(out + x),
                            _mm256_permute4x64_epi64(_mm256_packus_epi16(a0, a1), 0xd8));
    }
    /* the last samples (fewer than 32): the same sums, exact in int32 */
    for (; x < n; x++) {
        int32_t s = 0;
        for (int t = 0; t < c->n_taps; t++)
            s += c->weight[t] * rows[c->taps[t].i][x + c->taps[t].off];
        out[x] = cnf__u8_conv_finish(c, s);
    }
}

__attribute__((target("avx2"))) void cnf__u8_conv_finish16(const cnf_u8_conv *c,
                                                            const uint16_t *sums,
                                                            unsigned char *out)
{
    __m256i q = finish_avx2(c, _mm256_loadu_si256((const __m256i *)(const void *)sums));
    __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi16(q, q), 0xd8);
    _mm_storeu_si128((__m128i *)(void *)out, _mm256_castsi256_si128(p));
}
#else
void cnf__u8_conv_finish16(const cnf_u8_conv *c, const uint16_t *sums, unsigned char *out)
{
    for (int i = 0; i < 16; i++)
        out[i] = cnf__u8_conv_finish(c, c->usum ? (int32_t)sums[i] : (int16_t)sums[i]);
}
#endif

void cnf__u8_conv_row(const cnf_u8_conv *c, const unsigned char *const *rows, unsigned char *out)
{
#if HAVE_AVX2_LOOP
    if (c->kind == CNF__U8_INT16_AVX2) {
        row_avx2(c, rows, out);
        return;
    }
#endif
    row_portable(c, rows, out);
}

/* ------------------------------------------------------- whole images */

/* One thread's rows of an image, with its own padded copies of the input
 * rows in use (kh slots, each tagged with its source row). */
typedef struct part {
    const cnf_u8_conv *c;
    const unsigned char *src;
    size_t src_stride, dst_stride;
    unsigned char *dst;
    int height, y0, y1;
    unsigned char *slots;
    int tag[MAX_SIDE];
} part;

static void run_part(void *ctx, int t)
{
    part *pt = (part *)ctx + t;
    const cnf_u8_conv *c = pt->c;
    const unsigned char *rows[MAX_SIDE];
    for (int s = 0; s < c->kh; s++)
        pt->tag[s] = -1;
    for (int y = pt->y0; y < pt->y1; y++) {
        int need[MAX_SIDE];
        for (int i = 0; i < c->kh; i++)
            need[i] = cnf__border_index(c->border, y - c->top + i, pt->height);
        for (int i = 0; i < c->kh; i++) {
            int s, r = need[i];
            if (r < 0) {
                rows[i] = c->zero;
                continue;
            }
            for (s = 0; s < c->kh && pt->tag[s] != r; s++)
                ;
            if (s == c->kh) {
                /* a slot no row of this output row is in */
                for (s = 0; s < c->kh; s++) {
                    int used = 0;
                    for (int u = 0; u < c->kh && !used; u++)
                        used = pt->tag[s] >= 0 && pt->tag[s] == need[u];
                    if (!used)
                        break;
                }
                pt->tag[s] = r;
                memcpy(pt->slots + (size_t)s * c->padded + cnf__u8_conv_row_at(c),
                       pt->src + (size_t)r * pt->src_stride,
                       (size_t)c->width * (size_t)c->channels);
                cnf__u8_conv_pad(c, pt->slots + (size_t)s * c->padded);
            }
            rows[i] = pt->slots + (size_t)s * c->padded;
        }
        cnf__u8_conv_row(c, rows, pt->dst + (size_t)y * pt->dst_stride);
    }
}

cnf_status cnf_u8_conv_image(const cnf_u8_conv *c, const unsigned char *src, size_t src_stride,
                             int height, unsigned char *dst, size_t dst_stride, int threads,
                             cnf_error *err)
{
    part parts[CNF__NN_MAX_THREADS];
    cnf__pool *pool = NULL;
    int n, per;
    cnf_status st;
    if (height < 1)
        return cnf__fail(err, CNF_E_USAGE, NULL, "an image of %d rows", height);
    n = threads < 1 ? 1 : threads > CNF__NN_MAX_THREADS ? CNF__NN_MAX_THREADS : threads;
    if (n > height)
        n = height;
    per = (height + n - 1) / n;
    st = cnf__pool_new(n, &pool, err);
    for (int i = 0; i < n; i++) {
        parts[i].c = c;
        parts[i].src = src;
        parts[i].src_stride = src_stride;
        parts[i].dst = dst;
        parts[i].dst_stride = dst_stride;
        parts[i].height = height;
        parts[i].y0 = i * per < height ? i * per : height;
        parts[i].y1 = (i + 1) * per < height ? (i + 1) * per : height;
        parts[i].slots = malloc((size_t)c->kh * c->padded);
        if (!parts[i].slots && st == CNF_OK)
            st = cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    if (st == CNF_OK)
        cnf__pool_run(pool, n, run_part, parts);
    for (int i = 0; i < n; i++)
        free(parts[i].slots);
    cnf__pool_free(pool);
    return st;
}
