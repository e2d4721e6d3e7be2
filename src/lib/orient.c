/* orient.c - an image turned upright by its EXIF orientation (the eight cases of the tag). */
#include "orient.h"

#include <stdlib.h>

/* Where the output row y starts in the stored plane and the step to the
 * next pixel of that row, for stored size w x h: output pixel (x, y) is
 * stored pixel start + x * step.  The tag says where the stored rows and
 * columns go: 1 top-left (as stored), 2 top-right (mirrored left-right),
 * 3 bottom-right (turned 180), 4 bottom-left (mirrored top-bottom),
 * 5 left-top (transposed), 6 right-top (turn 90 clockwise to view),
 * 7 right-bottom (transverse), 8 left-bottom (turn 90 counter-clockwise). */
static void source_row(int o, ptrdiff_t w, ptrdiff_t h, ptrdiff_t y, ptrdiff_t *start,
                       ptrdiff_t *step)
{
    switch (o) {
    case 2: *start = y * w + w - 1; *step = -1; break;
    case 3: *start = (h - 1 - y) * w + w - 1; *step = -1; break;
    case 4: *start = (h - 1 - y) * w; *step = 1; break;
    case 5: *start = y; *step = w; break;
    case 6: *start = (h - 1) * w + y; *step = -w; break;
    case 7: *start = (h - 1) * w + w - 1 - y; *step = -w; break;
    case 8: *start = w - 1 - y; *step = w; break;
    default: *start = y * w; *step = 1; break;
    }
}

cnf_status cnf__orient_image(cnf_image *img, int o, cnf_error *err)
{
    cnf_image up;
    int ow, oh;
    cnf_status st;
    if (o < 2 || o > 8 || !img->data)
        return CNF_OK;
    ow = cnf__orient_swaps(o) ? img->height : img->width;
    oh = cnf__orient_swaps(o) ? img->width : img->height;
    st = cnf_image_alloc(&up, ow, oh, img->channels, img->has_alpha, err);
    if (st)
        return st;
    for (int c = 0; c < img->channels; c++) {
        const float *src = cnf_image_plane(img, c);
        float *dst = cnf_image_plane(&up, c);
        for (int y = 0; y < oh; y++) {
            ptrdiff_t s, step;
            float *d = dst + (size_t)y * (size_t)ow;
            source_row(o, img->width, img->height, y, &s, &step);
            for (int x = 0; x < ow; x++, s += step)
                d[x] = src[s];
        }
    }
    cnf_image_free(img);
    *img = up;
    return CNF_OK;
}
