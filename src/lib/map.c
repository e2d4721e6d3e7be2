/* map.c - real values to 8-bit pixels: clamp, abs, offset, normalize (doc/reference.md §5).
 *
 * Rounding is half to even (NaN gives 0).  On x86-64 the conversion
 * instruction does exactly that in the default rounding mode, so a value is
 * range-checked first and then converted in one instruction; elsewhere
 * cnf__round_even does it.  The results are the same either way.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
/* and an AVX2 clamp with an SSSE3 interleave of RGB, chosen when the CPU
 * has AVX2 (the same bytes and counts) */
#if defined(__SSE2__) && defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define MAP_AVX2 1
#include <immintrin.h>
#endif

/* values per channel mapped at a time into a buffer on the stack */
#define MAP_CHUNK 1024

/* v (already in [-0.5, 255.5)) rounded half to even. */
static inline int round_in_range(double v)
{
#if defined(__SSE2__)
    return _mm_cvtsd_si32(_mm_set_sd(v));
#else
    return (int)cnf__round_even(v);
#endif
}

/* Round half to even and clamp to 0..255, counting what was clipped. */
static inline unsigned char to_u8(double v, uint64_t *low, uint64_t *high)
{
    if (v >= 255.5) {
        ++*high;
        return 255;
    }
    if (v < -0.5) {
        ++*low;
        return 0;
    }
    if (v != v)
        return 0;
    return (unsigned char)round_in_range(v);
}

#if defined(__SSE2__)
/* Clamp (or abs) mode for one channel, four values at a time: range counts,
 * min/max (NaN ignored: minps/maxps return the second operand then), and
 * the conversion rounding half to even.  Writes n bytes to d. */
static size_t clamp_sse2(const float *p, size_t n, int absolute, unsigned char *d, float *mn,
                         float *mx, uint64_t *low, uint64_t *high)
{
    const __m128 lo = _mm_set1_ps(-0.5f), hi = _mm_set1_ps(255.5f);
    const __m128 floor_ = _mm_set1_ps(-1.0f), ceil_ = _mm_set1_ps(256.0f);
    const __m128 sign = _mm_set1_ps(-0.0f);
    static const uint8_t bits[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
    __m128 vmn = _mm_set1_ps(*mn), vmx = _mm_set1_ps(*mx);
    uint64_t l = 0, h = 0;
    size_t x = 0;
    for (; x + 4 <= n; x += 4) {
        __m128 v = _mm_loadu_ps(p + x), t;
        __m128i r;
        vmn = _mm_min_ps(v, vmn);
        vmx = _mm_max_ps(v, vmx);
        if (absolute)
            v = _mm_andnot_ps(sign, v);
        l += bits[_mm_movemask_ps(_mm_cmplt_ps(v, lo))];
        h += bits[_mm_movemask_ps(_mm_cmpge_ps(v, hi))];
        t = _mm_min_ps(_mm_max_ps(v, floor_), ceil_); /* NaN -> -1 -> 0 */
        r = _mm_cvtps_epi32(t);
        r = _mm_packs_epi32(r, r);
        r = _mm_packus_epi16(r, r);
        {
            int32_t four = _mm_cvtsi128_si32(r);
            memcpy(d + x, &four, 4);
        }
    }
    {
        float a[4], b[4];
        _mm_storeu_ps(a, vmn);
        _mm_storeu_ps(b, vmx);
        for (int i = 0; i < 4; i++) {
            *mn = a[i] < *mn ? a[i] : *mn;
            *mx = b[i] > *mx ? b[i] : *mx;
        }
    }
    *low += l;
    *high += h;
    return x;
}
#endif

#if defined(MAP_AVX2)
/* clamp_sse2 eight values at a time; the range counts are kept per lane
 * (a compare's all-ones lane is -1) and added up at the end. */
__attribute__((target("avx2"))) static size_t clamp_avx2(const float *p, size_t n, int absolute,
                                                        unsigned char *d, float *mn, float *mx,
                                                        uint64_t *low, uint64_t *high)
{
    const __m256 lo = _mm256_set1_ps(-0.5f), hi = _mm256_set1_ps(255.5f);
    const __m256 floor_ = _mm256_set1_ps(-1.0f), ceil_ = _mm256_set1_ps(256.0f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 vmn = _mm256_set1_ps(*mn), vmx = _mm256_set1_ps(*mx);
    __m256i nl = _mm256_setzero_si256(), nh = _mm256_setzero_si256();
    size_t x = 0;
    for (; x + 8 <= n; x += 8) {
        __m256 v = _mm256_loadu_ps(p + x), t;
        __m256i r;
        __m128i w;
        vmn = _mm256_min_ps(v, vmn);
        vmx = _mm256_max_ps(v, vmx);
        if (absolute)
            v = _mm256_andnot_ps(sign, v);
        nl = _mm256_sub_epi32(nl, _mm256_castps_si256(_mm256_cmp_ps(v, lo, _CMP_LT_OQ)));
        nh = _mm256_sub_epi32(nh, _mm256_castps_si256(_mm256_cmp_ps(v, hi, _CMP_GE_OQ)));
        t = _mm256_min_ps(_mm256_max_ps(v, floor_), ceil_); /* NaN -> -1 -> 0 */
        r = _mm256_cvtps_epi32(t);
        w = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
        _mm_storel_epi64((__m128i *)(void *)(d + x), _mm_packus_epi16(w, w));
    }
    {
        float a[8], b[8];
        int32_t cl[8], ch[8];
        _mm256_storeu_ps(a, vmn);
        _mm256_storeu_ps(b, vmx);
        _mm256_storeu_si256((__m256i *)(void *)cl, nl);
        _mm256_storeu_si256((__m256i *)(void *)ch, nh);
        for (int i = 0; i < 8; i++) {
            *mn = a[i] < *mn ? a[i] : *mn;
            *mx = b[i] > *mx ? b[i] : *mx;
            *low += (uint32_t)cl[i];
            *high += (uint32_t)ch[i];
        }
    }
    return x;
}

/* Three channel rows of n bytes interleaved into n RGB pixels at o,
 * sixteen pixels (three vectors out) a step; returns the pixels done. */
__attribute__((target("avx2"))) static size_t interleave3(const unsigned char *c0,
                                                         const unsigned char *c1,
                                                         const unsigned char *c2, size_t n,
                                                         unsigned char *o)
{
    /* mask[k][ch]: which byte of channel ch goes where in output vector k
     * (-1: none) */
    static const signed char mask[3][3][16] = {
        {{0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1, -1, 5},
         {-1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1, -1},
         {-1, -1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1}},
        {{-1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1, 10, -1},
         {5, -1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1, 10},
         {-1, 5, -1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1}},
        {{-1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15, -1, -1},
         {-1, -1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15, -1},
         {10, -1, -1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15}}};
    size_t x = 0;
    for (; x + 16 <= n; x += 16) {
        __m128i s[3];
        s[0] = _mm_loadu_si128((const __m128i *)(const void *)(c0 + x));
        s[1] = _mm_loadu_si128((const __m128i *)(const void *)(c1 + x));
        s[2] = _mm_loadu_si128((const __m128i *)(const void *)(c2 + x));
        for (int k = 0; k < 3; k++) {
            __m128i v = _mm_setzero_si128();
            for (int ch = 0; ch < 3; ch++)
                v = _mm_or_si128(v, _mm_shuffle_epi8(s[ch], _mm_loadu_si128(
                                        (const __m128i *)(const void *)mask[k][ch])));
            _mm_storeu_si128((__m128i *)(void *)(o + 3 * x + 16 * (size_t)k), v);
        }
    }
    return x;
}
#endif

/* The value --map gives before rounding (doc/reference.md §5); normalize with no range is 0. */
static inline double mapped(double v, cnf_map_mode mode, double lo, double range)
{
    switch (mode) {
    case CNF_MAP_ABS: return fabs(v);
    case CNF_MAP_OFFSET: return v + 128.0;
    case CNF_MAP_NORMALIZE:
        /* the range is the finite values'; infinities go to the ends */
        if (isinf(v))
            return v > 0 ? 255.0 : 0.0;
        return range > 0 ? (v - lo) * 255.0 / range : 0;
    case CNF_MAP_CLAMP:
    default: return v;
    }
}

void cnf_map_stats_init(cnf_map_stats *s)
{
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
}

void cnf_map_row(const float *const *src, int comp, int has_alpha, int w, cnf_map_mode mode,
                 double lo, double range, unsigned char *out, cnf_map_stats *stats)
{
    int colour = comp - (has_alpha ? 1 : 0);
    uint64_t low = 0, high = 0, dummy = 0;
    float mn = INFINITY, mx = -INFINITY;
    size_t n = (size_t)w, step = (size_t)comp;
    int c0 = 0;
#if defined(MAP_AVX2)
    if ((mode == CNF_MAP_CLAMP || mode == CNF_MAP_ABS) && colour == 3 && step == 3 &&
        __builtin_cpu_supports("avx2")) {
        /* RGB: the three channels of a stretch into rows of bytes, then
         * interleaved together (the stats do not depend on the order) */
        for (size_t s0 = 0; s0 < n; s0 += MAP_CHUNK) {
            unsigned char tmp[3][MAP_CHUNK];
            size_t m = n - s0 < MAP_CHUNK ? n - s0 : MAP_CHUNK, done;
            for (int ch = 0; ch < 3; ch++) {
                const float *q = src[ch] + s0;
                size_t x = clamp_avx2(q, m, mode == CNF_MAP_ABS, tmp[ch], &mn, &mx, &low,
                                      &high);
                for (; x < m; x++) {
                    float v = q[x];
                    mn = v < mn ? v : mn;
                    mx = v > mx ? v : mx;
                    tmp[ch][x] = to_u8(mapped(v, mode, lo, range), &low, &high);
                }
            }
            done = interleave3(tmp[0], tmp[1], tmp[2], m, out + 3 * s0);
            for (size_t x = done; x < m; x++) {
                out[3 * (s0 + x)] = tmp[0][x];
                out[3 * (s0 + x) + 1] = tmp[1][x];
                out[3 * (s0 + x) + 2] = tmp[2][x];
            }
        }
        c0 = 3;
    }
#endif
    for (int c = c0; c < colour; c++) {
        const float *p = src[c];
        unsigned char *o = out + c;
#if defined(__SSE2__)
        if (mode == CNF_MAP_CLAMP || mode == CNF_MAP_ABS) {
            /* Vectorized into a channel row, then interleaved. */
            unsigned char tmp[MAP_CHUNK];
            for (size_t s0 = 0; s0 < n; s0 += sizeof tmp) {
                size_t m = n - s0 < sizeof tmp ? n - s0 : sizeof tmp;
                unsigned char *to = step == 1 ? o + s0 : tmp;
                size_t done;
#if defined(MAP_AVX2)
                if (__builtin_cpu_supports("avx2"))
                    done = clamp_avx2(p + s0, m, mode == CNF_MAP_ABS, to, &mn, &mx, &low, &high);
                else
#endif
                    done = clamp_sse2(p + s0, m, mode == CNF_MAP_ABS, to, &mn, &mx, &low, &high);
                for (size_t x = done; x < m; x++) {
                    float v = p[s0 + x];
                    mn = v < mn ? v : mn;
                    mx = v > mx ? v : mx;
                    (step == 1 ? o + s0 : tmp)[x] =
                        to_u8(mapped(v, mode, lo, range), &low, &high);
                }
                if (step != 1)
                    for (size_t x = 0; x < m; x++)
                        o[(s0 + x) * step] = tmp[x];
            }
            continue;
        }
#endif
        for (size_t x = 0; x < n; x++) {
            float v = p[x];
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            o[x * step] = to_u8(mapped(v, mode, lo, range), &low, &high);
        }
    }
    if (has_alpha) {
        const float *p = src[comp - 1];
        unsigned char *o = out + comp - 1;
        for (size_t x = 0; x < n; x++)
            o[x * step] = to_u8(p[x], &dummy, &dummy);
    }
    if (stats) {
        stats->clipped_low += low;
        stats->clipped_high += high;
        stats->values += n * (size_t)colour;
        if (colour > 0 && n > 0) {
            if (mn < stats->min)
                stats->min = mn;
            if (mx > stats->max)
                stats->max = mx;
        }
    }
}

void cnf_image_range(const cnf_image *img, double *lo_ret, double *hi_ret)
{
    int colour = img->channels - img->has_alpha;
    size_t plane = (size_t)img->width * (size_t)img->height;
    float lo = INFINITY, hi = -INFINITY;
    for (int c = 0; c < colour; c++) {
        const float *p = cnf_image_plane(img, c);
        for (size_t i = 0; i < plane; i++) {
            float v = p[i];
            if (isfinite(v)) {
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        }
    }
    *lo_ret = lo;
    *hi_ret = hi;
}

/* The whole image mapped row by row to interleaved 8- or 16-bit samples
 * (normalize over the joint range of the colour planes, found first). */
static void map_image(const cnf_image *img, cnf_map_mode mode, int sixteen, void *out,
                      cnf_map_stats *stats)
{
    int comp = img->channels;
    size_t row = (size_t)img->width * (size_t)comp;
    double lo = INFINITY, hi = -INFINITY;
    const float *src[CNF_MAX_CHANNELS + 1];
    cnf_map_stats s;
    cnf_map_stats_init(&s);
    if (comp > CNF_MAX_CHANNELS + 1)
        comp = CNF_MAX_CHANNELS + 1; /* (image formats have at most 4) */
    if (mode == CNF_MAP_NORMALIZE)
        cnf_image_range(img, &lo, &hi);
    for (int y = 0; y < img->height; y++) {
        for (int c = 0; c < comp; c++)
            src[c] = cnf_image_plane(img, c) + (size_t)y * (size_t)img->width;
        if (sixteen)
            cnf_map_row16(src, comp, img->has_alpha, img->width, mode, lo, hi - lo,
                          (uint16_t *)out + (size_t)y * row, &s);
        else
            cnf_map_row(src, comp, img->has_alpha, img->width, mode, lo, hi - lo,
                        (unsigned char *)out + (size_t)y * row, &s);
    }
    if (stats)
        *stats = s;
}

void cnf_map_to_u8(const cnf_image *img, cnf_map_mode mode, unsigned char *out,
                   cnf_map_stats *stats)
{
    map_image(img, mode, 0, out, stats);
}

void cnf__map_to_u16(const cnf_image *img, cnf_map_mode mode, uint16_t *out,
                     cnf_map_stats *stats)
{
    map_image(img, mode, 1, out, stats);
}

/* round_even(v * 257) clamped to 0..65535, counting what was clipped. */
static inline uint16_t to_u16(double v, uint64_t *low, uint64_t *high)
{
    double r = cnf__round_even(v * 257.0);
    if (r < 0) {
        ++*low;
        return 0;
    }
    if (r > 65535) {
        ++*high;
        return 65535;
    }
    return (uint16_t)r;
}

void cnf_map_row16(const float *const *src, int comp, int has_alpha, int w, cnf_map_mode mode,
                   double lo, double range, uint16_t *out, cnf_map_stats *stats)
{
    int colour = comp - (has_alpha ? 1 : 0);
    uint64_t low = 0, high = 0, dummy = 0;
    double mn = INFINITY, mx = -INFINITY;
    size_t n = (size_t)w, step = (size_t)comp;
    for (int c = 0; c < comp; c++) {
        const float *p = src[c];
        uint16_t *o = out + c;
        int is_alpha = c >= colour;
        for (size_t x = 0; x < n; x++) {
            double v = p[x];
            if (is_alpha) {
                o[x * step] = to_u16(v, &dummy, &dummy);
                continue;
            }
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            v = mapped(v, mode, lo, range);
            o[x * step] = to_u16(v, &low, &high);
        }
    }
    if (stats) {
        stats->clipped_low += low;
        stats->clipped_high += high;
        stats->values += n * (size_t)colour;
        if (mn < stats->min)
            stats->min = mn;
        if (mx > stats->max)
            stats->max = mx;
    }
}
