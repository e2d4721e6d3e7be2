/* map.c - real values to 8-bit pixels: clamp, abs, offset, normalize (SPEC §5). */
#include "internal.h"

#include <math.h>
#include <string.h>

void cnf_map_to_u8(const cnf_image *img, cnf_map_mode mode, unsigned char *out,
                   cnf_map_stats *stats)
{
    int colour = img->channels - img->has_alpha, comp = img->channels;
    size_t plane = (size_t)img->width * (size_t)img->height;
    double lo = INFINITY, hi = -INFINITY, range;
    cnf_map_stats s;
    memset(&s, 0, sizeof s);

    /* The range of the colour planes is needed by normalize and by -v; one
     * pass over the result is cheap next to encoding it. */
    for (int c = 0; c < colour; c++) {
        const float *p = cnf_image_plane(img, c);
        for (size_t i = 0; i < plane; i++) {
            double v = p[i];
            if (v < lo)
                lo = v;
            if (v > hi)
                hi = v;
        }
    }
    range = hi - lo;
    for (int c = 0; c < comp; c++) {
        const float *p = cnf_image_plane(img, c);
        int is_alpha = img->has_alpha && c == comp - 1;
        for (size_t i = 0; i < plane; i++) {
            double v = p[i], r;
            if (is_alpha) {
                r = cnf__round_even(v);
            } else {
                switch (mode) {
                case CNF_MAP_ABS: r = cnf__round_even(fabs(v)); break;
                case CNF_MAP_OFFSET: r = cnf__round_even(v + 128.0); break;
                case CNF_MAP_NORMALIZE:
                    r = range > 0 ? cnf__round_even((v - lo) * 255.0 / range) : 0;
                    break;
                case CNF_MAP_CLAMP:
                default: r = cnf__round_even(v); break;
                }
                if (r < 0)
                    s.clipped_low++;
                else if (r > 255)
                    s.clipped_high++;
            }
            out[i * (size_t)comp + (size_t)c] = (unsigned char)(r < 0 ? 0 : r > 255 ? 255 : r);
        }
    }
    if (stats) {
        s.values = plane * (size_t)colour;
        s.min = lo;
        s.max = hi;
        *stats = s;
    }
}
