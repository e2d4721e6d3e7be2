/* webp_io.c - WebP through libwebp and libwebpmux: the WebP row of the codec table.
 *
 * Read: WebPGetFeatures for the shape (checked against the pixel limit
 * before any pixel buffer), then decoded to RGB or RGBA; an animated WebP
 * is refused.  Written: lossless (libwebp's fastest lossless preset, with
 * `exact`, so the colour under a transparent pixel is kept) unless a
 * quality is given, then lossy at that
 * quality; gray is written as RGB.  cnnfilter's mark is an EXIF chunk
 * (Software and ImageDescription, as in a TIFF) added by libwebpmux, which
 * puts metadata after the image data as the format asks.
 */
#include "codec.h"
#include "orient.h"

#include <stdlib.h>

#include <webp/decode.h>
#include <webp/encode.h>
#include <webp/mux.h>

static int webp_sniff(const unsigned char *b, size_t len)
{
    int r = cnf__magic(b, len, "RIFF", 4);
    if (r <= 0 || len <= 8)
        return r;
    return cnf__magic(b + 8, len - 8, "WEBP", 4);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static cnf_status webp_features(const unsigned char *buf, size_t len, const char *name,
                                uint64_t max_pixels, WebPBitstreamFeatures *f, cnf_error *err)
{
    VP8StatusCode vs = WebPGetFeatures(buf, len, f);
    /* libwebp decodes a file cut after its image data: the RIFF size says
     * whether it is whole. */
    if (vs == VP8_STATUS_NOT_ENOUGH_DATA || (len >= 12 && (uint64_t)le32(buf + 4) + 8 > len))
        return cnf__fail(err, CNF_E_DECODE, name, "truncated WebP");
    if (vs != VP8_STATUS_OK || f->width <= 0 || f->height <= 0)
        return cnf__fail(err, CNF_E_DECODE, name, "not a readable WebP (bad header)");
    if (f->has_animation)
        return cnf__fail(err, CNF_E_DECODE, name,
                         "animated WebP is not supported (extract a frame first)");
    if ((uint64_t)f->width * (uint64_t)f->height > max_pixels)
        return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                               "%dx%d image is over the pixel limit %llu", f->width, f->height,
                               (unsigned long long)max_pixels);
    return CNF_OK;
}

static cnf_status webp_probe(const unsigned char *buf, size_t len, const char *name,
                             uint64_t max_pixels, int *width, int *height, int *channels,
                             int *has_alpha, cnf_error *err)
{
    WebPBitstreamFeatures f;
    cnf_status st = webp_features(buf, len, name, max_pixels, &f, err);
    if (st)
        return st;
    *width = f.width;
    *height = f.height;
    *channels = f.has_alpha ? 4 : 3;
    *has_alpha = f.has_alpha ? 1 : 0;
    return CNF_OK;
}

static cnf_status webp_decode(const unsigned char *buf, size_t len, const char *name,
                              uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    WebPBitstreamFeatures f;
    cnf_status st = webp_features(buf, len, name, max_pixels, &f, err);
    int comp;
    size_t plane, stride, n;
    unsigned char *px;
    uint8_t *ok;
    if (st)
        return st;
    comp = f.has_alpha ? 4 : 3;
    plane = (size_t)f.width * (size_t)f.height;
    stride = (size_t)f.width * (size_t)comp;
    if (!cnf__mul3(plane, (size_t)comp, 1, &n) || stride > INT32_MAX)
        return cnf__fail(err, CNF_E_TOO_BIG, name, "image too large");
    if (!(px = malloc(n)))
        return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
    ok = comp == 4 ? WebPDecodeRGBAInto(buf, len, px, n, (int)stride)
                   : WebPDecodeRGBInto(buf, len, px, n, (int)stride);
    if (!ok) {
        free(px);
        return cnf__fail(err, CNF_E_DECODE, name, "corrupt or truncated WebP");
    }
    st = cnf_image_alloc(img, f.width, f.height, comp, comp == 4, err);
    if (st == CNF_OK)
        for (int c = 0; c < comp; c++) {
            float *d = cnf_image_plane(img, c);
            for (size_t i = 0; i < plane; i++)
                d[i] = px[i * (size_t)comp + (size_t)c];
        }
    free(px);
    return st;
}

/* webp_decode's interleaved copy (3 or 4 bytes a pixel) and what libwebp
 * holds beside it: a lossless image's ARGB pixels (4 bytes a pixel), a
 * lossy one's alpha plane (1) and its rows of macroblocks (counted as 128
 * bytes a column). */
static uint64_t webp_memory(const unsigned char *buf, size_t len)
{
    WebPBitstreamFeatures f;
    uint64_t px;
    if (WebPGetFeatures(buf, len, &f) != VP8_STATUS_OK || f.width <= 0 || f.height <= 0)
        return 0;
    px = (uint64_t)f.width * (uint64_t)f.height;
    return px * (f.has_alpha ? 4 : 3) + px * (f.format == 1 ? (f.has_alpha ? 1 : 0) : 4) +
           (uint64_t)f.width * 128;
}

static cnf_status webp_fits(int width, int height, cnf_error *err)
{
    if (width > WEBP_MAX_DIMENSION || height > WEBP_MAX_DIMENSION)
        return cnf__fail(err, CNF_E_FORMAT, NULL,
                         "WebP holds at most %d x %d pixels, not %d x %d; use .png or .tif",
                         WEBP_MAX_DIMENSION, WEBP_MAX_DIMENSION, width, height);
    return CNF_OK;
}

/* The mark as an EXIF chunk on the encoded bitstream, by libwebpmux. */
static cnf_status add_mark(const cnf_encode_opts *opts, WebPMemoryWriter *wr,
                           unsigned char **out, size_t *out_len, cnf_error *err)
{
    WebPData image = {wr->mem, wr->size}, exif, assembled = {NULL, 0};
    size_t n = 0;
    unsigned char *tags = cnf__exif_mark(opts->software, opts->comment, &n);
    WebPMux *mux = tags ? WebPMuxCreate(&image, 0) : NULL;
    int ok;
    exif.bytes = tags;
    exif.size = n;
    ok = mux && WebPMuxSetChunk(mux, "EXIF", &exif, 1) == WEBP_MUX_OK &&
         WebPMuxAssemble(mux, &assembled) == WEBP_MUX_OK;
    WebPMuxDelete(mux);
    free(tags);
    if (!ok) {
        WebPDataClear(&assembled);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    /* Our own malloc'd copy: the caller frees with free(). */
    if (!(*out = malloc(assembled.size))) {
        WebPDataClear(&assembled);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    memcpy(*out, assembled.bytes, assembled.size);
    *out_len = assembled.size;
    WebPDataClear(&assembled);
    return CNF_OK;
}

static cnf_status webp_encode(const cnf_image *img, const unsigned char *px,
                              const cnf_encode_opts *opts, unsigned char **out, size_t *out_len,
                              cnf_error *err)
{
    WebPConfig config;
    WebPPicture pic;
    WebPMemoryWriter wr;
    int comp = img->channels, alpha = img->has_alpha, w = img->width, h = img->height;
    unsigned char *rgb = NULL;
    const unsigned char *src = px;
    cnf_status st = CNF_OK;
    int ok;
    *out = NULL;
    *out_len = 0;
    if (!WebPConfigInit(&config) || !WebPPictureInit(&pic))
        return cnf__fail(err, CNF_E_IO, NULL, "libwebp version mismatch");
    if (opts->quality == -1) {
        /* The fastest lossless preset: measured on a 4352x2448 photo, 4.6 MB
         * in 2.0 s, where libwebp's default effort gives 3.5 MB in 10.1 s
         * and preset 2 4.1 MB in 5.7 s (PNG: 7.8 MB in 0.45 s). */
        if (!WebPConfigLosslessPreset(&config, 0))
            return cnf__fail(err, CNF_E_IO, NULL, "libwebp version mismatch");
        config.exact = 1;
    } else {
        config.quality = (float)opts->quality;
    }
    if (comp - alpha == 1) {
        /* Gray becomes RGB (WebP has no gray). */
        size_t n = (size_t)w * (size_t)h, k = alpha ? 4 : 3;
        if (!(rgb = malloc(n * k)))
            return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
        for (size_t i = 0; i < n; i++) {
            unsigned char v = px[i * (size_t)comp];
            rgb[i * k] = rgb[i * k + 1] = rgb[i * k + 2] = v;
            if (alpha)
                rgb[i * k + 3] = px[i * (size_t)comp + 1];
        }
        src = rgb;
        comp = (int)k;
    }
    pic.use_argb = config.lossless;
    pic.width = w;
    pic.height = h;
    ok = alpha ? WebPPictureImportRGBA(&pic, src, w * comp)
               : WebPPictureImportRGB(&pic, src, w * comp);
    free(rgb);
    if (!ok) {
        WebPPictureFree(&pic);
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    }
    WebPMemoryWriterInit(&wr);
    pic.writer = WebPMemoryWrite;
    pic.custom_ptr = &wr;
    ok = WebPEncode(&config, &pic);
    if (!ok) {
        st = cnf__fail(err,
                       pic.error_code == VP8_ENC_ERROR_OUT_OF_MEMORY ? CNF_E_NOMEM : CNF_E_IO,
                       NULL, "WebP encoding failed (libwebp error %d)", (int)pic.error_code);
    } else if (opts->software) {
        st = add_mark(opts, &wr, out, out_len, err);
    } else if (!(*out = malloc(wr.size))) {
        st = cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    } else {
        memcpy(*out, wr.mem, wr.size);
        *out_len = wr.size;
    }
    WebPPictureFree(&pic);
    WebPMemoryWriterClear(&wr);
    return st;
}

/* The TIFF structure of the first EXIF chunk among the RIFF chunks (as much
 * of it as buf holds), or NULL. */
static const unsigned char *webp_exif(const unsigned char *b, size_t len, size_t *k_ret)
{
    size_t i = 12;
    while (len >= 8 && i <= len - 8) {
        size_t n = le32(b + i + 4);
        const unsigned char *d = b + i + 8;
        size_t avail = len - i - 8;
        if (memcmp(b + i, "EXIF", 4) == 0) {
            size_t k = n < avail ? n : avail;
            if (k >= 6 && memcmp(d, "Exif\0\0", 6) == 0) { /* some writers keep the prefix */
                d += 6;
                k -= 6;
            }
            *k_ret = k;
            return d;
        }
        if (n > avail)
            break;
        i += 8 + n + (n & 1);
    }
    return NULL;
}

/* The mark: an EXIF chunk whose TIFF structure carries it. */
static int webp_mark(const unsigned char *b, size_t len, char *comment, size_t cap)
{
    size_t k = 0;
    const unsigned char *d = webp_exif(b, len, &k);
    cnf__mark_copy(comment, cap, NULL, 0);
    return d ? cnf__tiff_mark(d, k, comment, cap) : 0;
}

/* The EXIF Orientation of the EXIF chunk (1 without one). */
static int webp_orientation(const unsigned char *b, size_t len)
{
    size_t k = 0;
    const unsigned char *d = webp_exif(b, len, &k);
    return d ? cnf__exif_orientation(d, k) : 1;
}

/* ------------------------------------------------------ codec table rows */

const cnf_codec cnf__codec_webp = {
    .info = {"webp", "webp",
             "WebP: RGB, optional alpha; written lossless, or lossy at a quality given; up to "
             "16383 px",
             CNF__IMAGE_RW | CNF_FORMAT_MARK, CNF_OUT_WEBP},
    .kind = CNF_IN_IMAGE,
    .sniff = webp_sniff,
    .probe = webp_probe,
    .decode = webp_decode,
    .memory = webp_memory,
    .fits = webp_fits,
    .encode = webp_encode,
    .mark = webp_mark,
    .orientation = webp_orientation,
};
