/* pnm_io.c - binary PGM and PPM (P5, P6) by our own decoder: the PNM row of the codec table.
 *
 * PNM is decoded here rather than by stb 2.27, which overflows a signed int
 * on long header numbers (found by fuzzing), reads 16-bit samples in the
 * wrong byte order, does not scale a maxval below 255, and leaves the pixels
 * of a truncated file uninitialised.  Header: magic, width, height, maxval
 * as decimal numbers separated by white space and '#' comments, then one
 * white-space byte, then the samples (big-endian when maxval > 255), each
 * scaled by 255 / maxval.
 */
#include "codec.h"

typedef struct pnm_header {
    int w, h, comp, maxval;
    size_t data; /* offset of the first sample; 0 while the header is incomplete */
} pnm_header;

int cnf__pnm_sniff(const unsigned char *b, size_t len)
{
    if (len == 0)
        return -1;
    if (b[0] != 'P')
        return 0;
    if (len == 1)
        return -1;
    return b[1] == '5' || b[1] == '6';
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* The index of the next header number at or after i: past white space and
 * comments (to the end of their line). */
static size_t skip_filler(const unsigned char *b, size_t len, size_t i)
{
    for (;;) {
        while (i < len && is_space(b[i]))
            i++;
        if (i < len && b[i] == '#') {
            while (i < len && b[i] != '\n' && b[i] != '\r')
                i++;
            continue;
        }
        return i;
    }
}

/* Parse the header into *hd.  `partial`: b is only the start of the file,
 * and a header that runs past len is not an error yet (hd->data stays 0). */
static cnf_status pnm_parse(const unsigned char *b, size_t len, int partial, const char *name,
                            pnm_header *hd, cnf_error *err)
{
    size_t i = 2;
    long v[3];
    hd->data = 0;
    for (int field = 0; field < 3; field++) {
        size_t digits = 0;
        i = skip_filler(b, len, i);
        v[field] = 0;
        while (i < len && b[i] >= '0' && b[i] <= '9') {
            v[field] = v[field] * 10 + (b[i++] - '0');
            if (++digits > 8)
                return cnf__fail(err, CNF_E_DECODE, name,
                                 "PNM header number with more than 8 digits");
        }
        if (i >= len && partial)
            return CNF_OK;
        if (digits == 0)
            return cnf__fail(err, CNF_E_DECODE, name, "truncated or malformed PNM header");
    }
    if (i >= len || !(b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
        return cnf__fail(err, CNF_E_DECODE, name, "truncated or malformed PNM header");
    if (v[0] < 1 || v[1] < 1 || v[2] < 1 || v[2] > 65535)
        return cnf__fail(err, CNF_E_DECODE, name, "PNM header says %ldx%ld, maxval %ld", v[0],
                         v[1], v[2]);
    hd->w = (int)v[0];
    hd->h = (int)v[1];
    hd->maxval = (int)v[2];
    hd->comp = b[1] == '6' ? 3 : 1;
    hd->data = i + 1;
    return CNF_OK;
}

/* The header, and its size against the pixel limit. */
static cnf_status pnm_header_checked(const unsigned char *b, size_t len, const char *name,
                                     uint64_t max_pixels, pnm_header *hd, cnf_error *err)
{
    cnf_status st = pnm_parse(b, len, 0, name, hd, err);
    if (st)
        return st;
    if ((uint64_t)hd->w * (uint64_t)hd->h > max_pixels)
        return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                               "%dx%d image is over the pixel limit %llu", hd->w, hd->h,
                               (unsigned long long)max_pixels);
    return CNF_OK;
}

cnf_status cnf__pnm_check(const unsigned char *b, size_t len, const char *name, cnf_error *err)
{
    pnm_header hd;
    return pnm_parse(b, len, 1, name, &hd, err);
}

cnf_status cnf__pnm_probe(const unsigned char *b, size_t len, const char *name,
                          uint64_t max_pixels, int *width, int *height, int *channels,
                          int *has_alpha, cnf_error *err)
{
    pnm_header hd;
    cnf_status st = pnm_header_checked(b, len, name, max_pixels, &hd, err);
    if (st)
        return st;
    *width = hd.w;
    *height = hd.h;
    *channels = hd.comp;
    *has_alpha = 0;
    return CNF_OK;
}

cnf_status cnf__pnm_decode(const unsigned char *b, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    pnm_header hd;
    size_t plane, need, bps;
    const unsigned char *p;
    double scale;
    cnf_status st = pnm_header_checked(b, len, name, max_pixels, &hd, err);
    if (st)
        return st;
    plane = (size_t)hd.w * (size_t)hd.h;
    bps = hd.maxval > 255 ? 2 : 1;
    need = plane * (size_t)hd.comp * bps;
    if (len - hd.data < need)
        return cnf__fail(err, CNF_E_DECODE, name, "truncated PNM: %zu of %zu bytes of pixels",
                         len - hd.data, need);
    st = cnf_image_alloc(img, hd.w, hd.h, hd.comp, 0, err);
    if (st)
        return st;
    p = b + hd.data;
    scale = 255.0 / hd.maxval;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < hd.comp; c++, p += bps) {
            unsigned v = bps == 2 ? (unsigned)p[0] << 8 | p[1] : p[0];
            if (v > (unsigned)hd.maxval)
                v = (unsigned)hd.maxval;
            img->data[(size_t)c * plane + i] = (float)(v * scale);
        }
    return CNF_OK;
}

/* ------------------------------------------------------ codec table rows */

const cnf_codec cnf__codec_pnm = {
    .info = {"pnm", "pgm ppm pnm",
             "binary PGM or PPM (P5, P6), 8 or 16 bits, scaled to 0..255",
             CNF__IMAGE_READ, CNF_OUT_NONE},
    .kind = CNF_IN_IMAGE,
    .sniff = cnf__pnm_sniff,
    .check = cnf__pnm_check,
    .probe = cnf__pnm_probe,
    .decode = cnf__pnm_decode,
};
