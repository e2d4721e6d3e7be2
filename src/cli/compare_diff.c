/* compare_diff.c - `cnnfilter compare --diff`: the difference image (changed pixels red over a faded copy of A) or the exact differences, and where folder mode puts them. */
#define _POSIX_C_SOURCE 200809L
#include "compare.h"

#include "msg.h"
#include "outfile.h"
#include "paths.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The background of the difference image: A in gray, faded to 192..255 so
 * that no pixel of it is near the red of a change (ImageMagick's compare
 * draws its changes the same way). */
enum { FADE_BASE = 192 };

const char *diff_ext(cnf_output_format fmt)
{
    static char ext[16];
    size_t n;
    const cnf_format_info *t = cnf_formats(&n);
    for (size_t i = 0; i < n; i++)
        if (t[i].output == fmt) {
            size_t len = strcspn(t[i].extensions, " ");
            snprintf(ext, sizeof ext, "%.*s", (int)len, t[i].extensions);
            return ext;
        }
    return "png";
}

char *diff_name(const char *dir, const char *rel, cnf_output_format fmt)
{
    const char *ext = diff_ext(fmt), *dot = strrchr(rel, '.'), *slash = strrchr(rel, '/');
    int keep = dot && (!slash || dot > slash) && strcasecmp(dot + 1, ext) == 0;
    size_t n = strlen(dir) + strlen(rel) + strlen(ext) + 3;
    char *out = malloc(n), *joined = malloc(n);
    if (!out || !joined || join_path(joined, n, dir, rel) != 0) {
        free(out);
        free(joined);
        return NULL;
    }
    snprintf(out, n, "%s%s%s", joined, keep ? "" : ".", keep ? "" : ext);
    free(joined);
    return out;
}

static double clamp255(double v)
{
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

/* The gray level of A at pixel i: the luma 0.299 R + 0.587 G + 0.114 B of
 * three colour channels, else the mean of the colour channels (alpha left
 * out), each value clamped to 0..255 first, rounded half up. */
static int gray_of(const cnf_image *a, size_t plane, size_t i)
{
    int colour = a->channels - (a->has_alpha ? 1 : 0);
    double g;
    if (colour < 1)
        colour = a->channels;
    if (colour == 3) {
        /* 299 R + 587 G + 114 B is exact in double for 8-bit values, and so
         * is its floor after + 500 and / 1000: integer arithmetic. */
        g = floor((299.0 * clamp255(a->data[i]) + 587.0 * clamp255(a->data[plane + i]) +
                   114.0 * clamp255(a->data[2 * plane + i]) + 500.0) /
                  1000.0);
    } else {
        double sum = 0;
        for (int c = 0; c < colour; c++)
            sum += clamp255(a->data[(size_t)c * plane + i]);
        g = floor(sum / colour + 0.5);
    }
    return (int)g;
}

/* Changed pixels (a value of any channel, alpha included, differs by more
 * than the tolerance) in red (255, 0, 0); every other pixel gray at
 * FADE_BASE + floor(g / 4), g A's gray level. */
static int make_marked(double tolerance, const cnf_image *a, const cnf_image *b, cnf_image *out,
                       cnf_error *err)
{
    size_t plane = (size_t)a->width * (size_t)a->height;
    if (cnf_image_alloc(out, a->width, a->height, 3, 0, err) != CNF_OK)
        return -1;
    for (size_t i = 0; i < plane; i++) {
        int changed = 0;
        for (int c = 0; c < a->channels && !changed; c++) {
            size_t k = (size_t)c * plane + i;
            changed = fabs((double)a->data[k] - (double)b->data[k]) > tolerance;
        }
        if (changed) {
            out->data[i] = 255;
            out->data[plane + i] = 0;
            out->data[2 * plane + i] = 0;
        } else {
            float v = (float)(FADE_BASE + gray_of(a, plane, i) / 4);
            out->data[i] = out->data[plane + i] = out->data[2 * plane + i] = v;
        }
    }
    return 0;
}

/* |A - B| of every channel, unscaled (for .npy, .txt, .json). */
static int make_exact(const cnf_image *a, const cnf_image *b, cnf_image *out, cnf_error *err)
{
    size_t n = (size_t)a->width * (size_t)a->height * (size_t)a->channels;
    if (cnf_image_alloc(out, a->width, a->height, a->channels, 0, err) != CNF_OK)
        return -1;
    for (size_t k = 0; k < n; k++)
        out->data[k] = (float)fabs((double)a->data[k] - (double)b->data[k]);
    return 0;
}

int diff_write(const char *path, cnf_output_format fmt, double tolerance, const cnf_image *a,
               const cnf_image *b, cnf_error *err)
{
    cnf_image d = {0};
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = 0;
    int exact = !cnf_output_format_is_8bit(fmt);
    if ((exact ? make_exact(a, b, &d, err) : make_marked(tolerance, a, b, &d, err)) != 0 ||
        cnf_encode(&d, fmt, NULL, &data, &len, NULL, err) != CNF_OK ||
        write_output(path, data, len, !(fmt == CNF_OUT_TXT || fmt == CNF_OUT_JSON), err) !=
            CNF_OK) {
        error_default_where(err, path);
        rc = -1;
    }
    free(data);
    cnf_image_free(&d);
    return rc;
}
