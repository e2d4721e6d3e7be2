/* stb_io.c - BMP, TGA, GIF, PSD and HDR through stb_image, BMP and TGA out through stb_image_write (the only file that includes stb).
 *
 * Every stb row of the codec table reads with cnf__stb_probe and
 * cnf__stb_decode, and so does an image that no row claims (it goes to the
 * TGA row, the last resort): stb picks the format by its own tests, in its
 * own order, so one entry point keeps its behaviour whatever the sniff
 * said.  PNG, JPEG and PNM never come here (codec.c sends them to their
 * own decoders by their magic numbers).
 */
#include "codec.h"

#include <stdlib.h>
#include <string.h>

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
/* The implementation is compiled here from the system's libstb-dev headers
 * so its symbols stay private; its own warnings are not ours to fix. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#endif
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
/* stb 2.27 declares stbi_set_unpremultiply_on_load_thread() static and may
 * not define it; GCC reports that at the end of the file, after the pop. */
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

/* ------------------------------------------------------------ sniffing */

int cnf__bmp_sniff(const unsigned char *b, size_t len) { return cnf__magic(b, len, "BM", 2); }

int cnf__gif_sniff(const unsigned char *b, size_t len) { return cnf__magic(b, len, "GIF8", 4); }

int cnf__psd_sniff(const unsigned char *b, size_t len) { return cnf__magic(b, len, "8BPS", 4); }

int cnf__hdr_sniff(const unsigned char *b, size_t len)
{
    int radiance = cnf__magic(b, len, "#?RADIANCE", 10), rgbe = cnf__magic(b, len, "#?RGBE", 6);
    return radiance > 0 || rgbe > 0 ? 1 : radiance < 0 || rgbe < 0 ? -1 : 0;
}

static int tga_bits(int bits)
{
    return bits == 8 || bits == 15 || bits == 16 || bits == 24 || bits == 32;
}

/* TGA has no magic number, so this is a plausibility test of its 18-byte
 * header, accepting exactly the headers stb reads as TGA: colour-map type
 * (byte 1) 0 or 1; image type (byte 2) 1 or 9 (colour-mapped, raw or RLE)
 * with a map, 2, 3, 10 or 11 (true colour or gray, raw or RLE) without; a
 * map's entries (byte 7) of 8, 15, 16, 24 or 32 bits and its indices 8 or
 * 16 bits; width and height (bytes 12-15, little-endian) not zero; 8, 15,
 * 16, 24 or 32 bits per pixel (byte 16).  All-zero bytes fail it. */
int cnf__tga_sniff(const unsigned char *b, size_t len)
{
    int mapped, type, bpp;
    if (len < 17)
        return -1;
    mapped = b[1];
    type = b[2];
    bpp = b[16];
    if (mapped > 1)
        return 0;
    if (mapped ? type != 1 && type != 9 : type != 2 && type != 3 && type != 10 && type != 11)
        return 0;
    if (mapped && (!tga_bits(b[7]) || (bpp != 8 && bpp != 16)))
        return 0;
    if ((b[12] | b[13]) == 0 || (b[14] | b[15]) == 0)
        return 0;
    return tga_bits(bpp);
}

/* Files refused before stb sees them, each for a bug of stb 2.27. */
static cnf_status refused(const unsigned char *buf, size_t len, const char *name, cnf_error *err)
{
    stbi__context s;
    if (len >= 14 && memcmp(buf, "8BPS", 4) == 0 && buf[12] == 0 && buf[13] == 0)
        /* stb 2.27 "decodes" a PSD with no channels into an opaque image. */
        return cnf__fail(err, CNF_E_DECODE, name, "PSD with no channels");
    if (len >= 4 && memcmp(buf, "\x53\x80\xf6\x34", 4) == 0)
        /* Softimage PIC is not in the supported list, and stb 2.27 converts
         * a freed (NULL) buffer after a failed PIC decode: refused. */
        return cnf__fail(err, CNF_E_DECODE, name, "Softimage PIC images are not supported");
    /* stb's JPEG test skips leading 0xff fill bytes, so a file that does
     * not start with FF D8 FF (and so did not go to libjpeg-turbo) could
     * still reach stb's JPEG decoder, which fuzzing shows is unsafe.  Such
     * a file is refused. */
    stbi__start_mem(&s, buf, (int)(len > INT32_MAX ? INT32_MAX : len));
    if (stbi__jpeg_test(&s))
        return cnf__fail(err, CNF_E_DECODE, name, "not a valid JPEG (it must start with FF D8 FF)");
    return CNF_OK;
}

/* stb's own header scan, with its reason when it knows no format here. */
static cnf_status stb_info(const unsigned char *buf, size_t len, const char *name, int *w,
                           int *h, int *comp, cnf_error *err)
{
    if (!stbi_info_from_memory(buf, (int)len, w, h, comp))
        return cnf__fail(err, CNF_E_DECODE, name, "not a readable image (%s)",
                         stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
    return CNF_OK;
}

cnf_status cnf__psd_check(const unsigned char *buf, size_t len, const char *name,
                          cnf_error *err)
{
    return refused(buf, len, name, err);
}

/* Bytes no row's magic number claims: refused as the probe refuses them,
 * accepted when they could be a TGA (or the start of a JPEG's fill bytes),
 * else stb's own scan of them says why they are no image.  A prefix of at
 * least 17 bytes decides that scan: every format stb tests before TGA
 * needs a magic number that some row or refused() would have taken. */
cnf_status cnf__stb_check(const unsigned char *buf, size_t len, const char *name,
                          cnf_error *err)
{
    size_t ff = 0;
    int w, h, comp;
    cnf_status st;
    while (ff < len && buf[ff] == 0xff)
        ff++;
    if (ff == len || cnf__tga_sniff(buf, len) != 0)
        return CNF_OK;
    st = refused(buf, len, name, err);
    if (st)
        return st;
    return stb_info(buf, len, name, &w, &h, &comp, err);
}

/* ------------------------------------------------------------ decoding */

/* stb ignores short reads: a truncated BMP, TGA, GIF, PSD or HDR decodes
 * "successfully" with zeros or leftover heap bytes.  Reading through
 * callbacks shows when stb asks for bytes past the end of the file. */
typedef struct reader {
    const unsigned char *buf;
    size_t len, pos;
    int overrun;
} reader;

static int rd_read(void *user, char *data, int size)
{
    reader *r = user;
    size_t n = (size_t)size, left = r->len - r->pos;
    /* stb refills its buffer 128 bytes at a time, so a short read of that
     * size near the end is normal; any other short read, or a read when
     * nothing is left, means the decoder wanted data the file lacks. */
    if (left == 0 || (n > left && size != 128))
        r->overrun = 1;
    if (n > left)
        n = left;
    memcpy(data, r->buf + r->pos, n);
    r->pos += n;
    return (int)n;
}

static void rd_skip(void *user, int n)
{
    reader *r = user;
    if (n < 0) {
        r->pos = (size_t)-n > r->pos ? 0 : r->pos - (size_t)-n;
        return;
    }
    if ((size_t)n > r->len - r->pos) {
        r->overrun = 1;
        r->pos = r->len;
        return;
    }
    r->pos += (size_t)n;
}

static int rd_eof(void *user)
{
    reader *r = user;
    return r->pos >= r->len;
}

static const stbi_io_callbacks READER = {rd_read, rd_skip, rd_eof};

/* Image header: dimensions checked against the limit before any decoding. */
static cnf_status image_header(const unsigned char *buf, size_t len, const char *name,
                               uint64_t max_pixels, int *w, int *h, int *comp, cnf_error *err)
{
    cnf_status st;
    if (len > INT32_MAX)
        return cnf__fail(err, CNF_E_TOO_BIG, name, "file larger than 2 GiB");
    st = refused(buf, len, name, err);
    if (st == CNF_OK)
        st = stb_info(buf, len, name, w, h, comp, err);
    if (st)
        return st;
    /* stb's BMP header scan reports a top-down BMP's height as negative. */
    if (len >= 2 && memcmp(buf, "BM", 2) == 0 && *h < 0 && *h != INT32_MIN)
        *h = -*h;
    if (*w <= 0 || *h <= 0)
        return cnf__fail(err, CNF_E_DECODE, name, "image has no pixels (%dx%d)", *w, *h);
    if ((uint64_t)*w * (uint64_t)*h > max_pixels)
        return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                               "%dx%d image is over the pixel limit %llu", *w, *h,
                               (unsigned long long)max_pixels);
    if (*comp < 1 || *comp > 4)
        return cnf__fail(err, CNF_E_DECODE, name, "unsupported channel count %d", *comp);
    return CNF_OK;
}

cnf_status cnf__stb_probe(const unsigned char *buf, size_t len, const char *name,
                          uint64_t max_pixels, int *width, int *height, int *channels,
                          int *has_alpha, cnf_error *err)
{
    int comp = 0;
    cnf_status st = image_header(buf, len, name, max_pixels, width, height, &comp, err);
    if (st)
        return st;
    *channels = comp;
    *has_alpha = comp == 2 || comp == 4;
    return CNF_OK;
}

/* Radiance HDR is a float input: stb's linear floats (no tone mapping)
 * times 255, so that 1.0, the format's display white, is 255 like the
 * white of every other input; nothing is rounded and values above 255
 * stay.  Every other stb format is 8-bit. */
#define HDR_SCALE 255.0f

/* The interleaved samples of stb (bytes, or floats for HDR) into planes. */
static void planes_from(const void *px, int hdr, size_t plane, int comp, cnf_image *img)
{
    for (int c = 0; c < comp; c++) {
        float *dst = img->data + (size_t)c * plane;
        if (hdr) {
            const float *src = (const float *)px + c;
            for (size_t i = 0; i < plane; i++)
                dst[i] = src[i * (size_t)comp] * HDR_SCALE;
        } else {
            const unsigned char *src = (const unsigned char *)px + c;
            for (size_t i = 0; i < plane; i++)
                dst[i] = src[i * (size_t)comp];
        }
    }
}

cnf_status cnf__stb_decode(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    int w = 0, h = 0, comp = 0, hdr;
    void *px;
    reader r = {buf, len, 0, 0};
    /* The header first: refuse a decompression bomb before stb allocates. */
    cnf_status st = image_header(buf, len, name, max_pixels, &w, &h, &comp, err);
    if (st)
        return st;
    /* stb's own test, the one its loader picks HDR by. */
    hdr = stbi_is_hdr_from_memory(buf, (int)len);
    if (hdr)
        px = stbi_loadf_from_callbacks(&READER, &r, &w, &h, &comp, 0);
    else
        px = stbi_load_from_callbacks(&READER, &r, &w, &h, &comp, 0);
    if (px && r.overrun) {
        stbi_image_free(px);
        return cnf__fail(err, CNF_E_DECODE, name, "truncated image (the data ends early)");
    }
    if (!px)
        return cnf__fail(err, CNF_E_DECODE, name, "corrupt image (%s)",
                         stbi_failure_reason() ? stbi_failure_reason() : "unknown error");
    if ((uint64_t)w * (uint64_t)h > max_pixels || comp < 1 || comp > 4) {
        /* stb decoded other dimensions than its header scan reported. */
        stbi_image_free(px);
        return cnf__fail(err, CNF_E_DECODE, name, "image header and data disagree");
    }
    st = cnf_image_alloc(img, w, h, comp, comp == 2 || comp == 4, err);
    if (st) {
        stbi_image_free(px);
        cnf__error_names_file(err, name);
        return st;
    }
    planes_from(px, hdr, (size_t)w * (size_t)h, comp, img);
    stbi_image_free(px);
    return CNF_OK;
}

/* A raw (uncompressed) 16-bit PSD, which stb reads at 16 bits and then
 * narrows to a second buffer: its header (depth at 22), then the lengths
 * of the colour-mode data, the image resources and the layer data, each
 * skipped, then the compression word (0: raw). */
static int psd_raw16(const unsigned char *b, size_t len)
{
    size_t at = 26;
    if (len < 26 || memcmp(b, "8BPS", 4) != 0 || (b[22] << 8 | b[23]) != 16)
        return 0;
    for (int section = 0; section < 3; section++) {
        uint32_t n;
        if (len - at < 4)
            return 0;
        n = (uint32_t)b[at] << 24 | (uint32_t)b[at + 1] << 16 | (uint32_t)b[at + 2] << 8 |
            b[at + 3];
        if (n > len - at - 4)
            return 0;
        at += 4 + n;
    }
    return len - at >= 2 && b[at] == 0 && b[at + 1] == 0;
}

/* What stb holds while it decodes (stb_image 2.27's loaders, called with no
 * requested channel count): its own pixels, interleaved, w x h x comp bytes
 * for BMP and TGA; GIF its frame as RGBA, the background frame and a byte
 * of history per pixel (9 bytes a pixel); PSD RGBA bytes, and for a raw
 * 16-bit one the 16-bit samples too (12 bytes a pixel); HDR RGB floats
 * (12 bytes a pixel) and an RGBE scanline.  cnf__stb_decode holds it beside
 * the float image it copies it into. */
uint64_t cnf__stb_memory(const unsigned char *buf, size_t len)
{
    int w, h, comp;
    uint64_t px;
    cnf_error err;
    if (image_header(buf, len, NULL, UINT64_MAX, &w, &h, &comp, &err) != CNF_OK)
        return 0;
    px = (uint64_t)w * (uint64_t)h;
    if (stbi_is_hdr_from_memory(buf, (int)len))
        return px * 3 * sizeof(float) + (uint64_t)w * 4;
    if (cnf__gif_sniff(buf, len) > 0)
        return px * 9;
    if (cnf__psd_sniff(buf, len) > 0)
        return px * (psd_raw16(buf, len) ? 12 : 4);
    return px * (uint64_t)comp;
}

/* ------------------------------------------------------------ encoding */

/* stb's *_to_func writers cannot be told that a callback failed, so the
 * buffer remembers it (cnf_buf.failed). */
static void membuf_write(void *ctx, void *data, int size)
{
    if (size > 0)
        cnf__buf_put(ctx, data, (size_t)size);
}

static cnf_status stb_written(int ok, cnf_buf *m, unsigned char **out, size_t *out_len,
                              cnf_error *err)
{
    if (!ok || m->failed) {
        free(m->data);
        return cnf__fail(err, m->failed ? CNF_E_NOMEM : CNF_E_IO, NULL, "encoding failed");
    }
    *out = m->data;
    *out_len = m->len;
    return CNF_OK;
}

cnf_status cnf__bmp_encode(const cnf_image *img, const unsigned char *px,
                           const cnf_encode_opts *opts, unsigned char **out, size_t *out_len,
                           cnf_error *err)
{
    cnf_buf m = {0};
    int ok = stbi_write_bmp_to_func(membuf_write, &m, img->width, img->height, img->channels,
                                    px);
    (void)opts;
    return stb_written(ok, &m, out, out_len, err);
}

cnf_status cnf__tga_encode(const cnf_image *img, const unsigned char *px,
                           const cnf_encode_opts *opts, unsigned char **out, size_t *out_len,
                           cnf_error *err)
{
    cnf_buf m = {0};
    int ok = stbi_write_tga_to_func(membuf_write, &m, img->width, img->height, img->channels,
                                    px);
    (void)opts;
    return stb_written(ok, &m, out, out_len, err);
}

/* ------------------------------------------------------ codec table rows */

/* ------------------------------------------------------ codec table rows */

const cnf_codec cnf__codec_bmp = {.info = {"bmp", "bmp", "Windows BMP", CNF__IMAGE_RW, CNF_OUT_BMP},
     .kind = CNF_IN_IMAGE, .sniff = cnf__bmp_sniff, .probe = cnf__stb_probe,
     .decode = cnf__stb_decode, .encode = cnf__bmp_encode, .memory = cnf__stb_memory};

/* TGA has no magic number: the last resort, as in stb, which tries it
 * last; its check is stb's view of any image no other row claims. */
const cnf_codec cnf__codec_tga = {
    .info = {"tga", "tga", "Truevision TGA", CNF__IMAGE_RW, CNF_OUT_TGA},
    .kind = CNF_IN_IMAGE,
    .last_resort = 1,
    .sniff = cnf__tga_sniff,
    .check = cnf__stb_check,
    .probe = cnf__stb_probe,
    .decode = cnf__stb_decode,
    .encode = cnf__tga_encode,
    .memory = cnf__stb_memory,
};

const cnf_codec cnf__codec_gif = {
    .info = {"gif", "gif", "GIF: the first frame, as RGBA", CNF__IMAGE_READ, CNF_OUT_NONE},
    .kind = CNF_IN_IMAGE,
    .sniff = cnf__gif_sniff,
    .probe = cnf__stb_probe,
    .decode = cnf__stb_decode,
    .memory = cnf__stb_memory,
};

const cnf_codec cnf__codec_psd = {
    .info = {"psd", "psd",
             "Photoshop PSD: the composite image, as RGBA",
             CNF__IMAGE_READ, CNF_OUT_NONE},
    .kind = CNF_IN_IMAGE,
    .sniff = cnf__psd_sniff,
    .check = cnf__psd_check,
    .probe = cnf__stb_probe,
    .decode = cnf__stb_decode,
    .memory = cnf__stb_memory,
};

const cnf_codec cnf__codec_hdr = {
    .info = {"hdr", "hdr",
             "Radiance HDR, read as floats (1.0 is 255, brighter kept)",
             CNF__IMAGE_READ, CNF_OUT_NONE},
    .kind = CNF_IN_IMAGE,
    .sniff = cnf__hdr_sniff,
    .probe = cnf__stb_probe,
    .decode = cnf__stb_decode,
    .memory = cnf__stb_memory,
};
