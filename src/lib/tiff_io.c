/* tiff_io.c - TIFF through libtiff: the TIFF row of the codec table, and cnnfilter's mark as TIFF tags.
 *
 * Read from memory (libtiff's client procs on the buffer), with the error
 * and warning handlers given per open (TIFFOpenOptions), so that nothing is
 * global: the first error becomes the caller's cnf_error, warnings are
 * dropped.  The first directory only; 8- and 16-bit unsigned samples and
 * float32; gray (min-is-black or min-is-white) or RGB, each with an alpha
 * (the first extra sample; more extra samples are skipped); contiguous or
 * separate planes; strips or tiles; and YCbCr JPEG-in-TIFF, which libtiff
 * converts to RGB itself.  Values: 8-bit as they are, 16-bit v / 257 (as a
 * 16-bit PNG), float32 as stored.  Anything else (palette, CMYK, 1-bit,
 * signed or 64-bit samples) is refused in one line.
 *
 * Written with deflate at level 4: the horizontal predictor for 8- and
 * 16-bit samples, the floating-point predictor for float32; strips of about
 * 256 KiB.  The
 * directory is written right after the 8-byte header (checkpointed before
 * the pixels, then rewritten in place with the strip offsets), so the mark
 * tags (Software, ImageDescription) are in the first bytes of the file.
 */
#define _POSIX_C_SOURCE 200809L /* pread, pwrite */
#include "codec.h"
#include "orient.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <tiffio.h>

/* ------------------------------------------------------- memory client */

/* The bytes libtiff reads or writes, and the first error it reported. */
typedef struct tiff_io {
    const unsigned char *src; /* reading: the input */
    cnf_buf out;              /* writing: the file so far (len = its size) */
    size_t len;               /* reading: the input's length */
    uint64_t pos;
    int writing; /* 1: into out; 2: into the file fd (cnf_row_writer) */
    int fd;
    uint64_t size;  /* writing into fd: the file's size so far */
    int sys_errno;  /* writing into fd: why a read or write failed */
    char msg[160]; /* the first error, "" when none */
} tiff_io;

static tmsize_t io_read(thandle_t h, void *data, tmsize_t n)
{
    tiff_io *io = (tiff_io *)h;
    const unsigned char *b = io->writing ? io->out.data : io->src;
    size_t len = io->writing ? io->out.len : io->len;
    size_t k;
    if (io->writing == 2) {
        ssize_t r;
        if (n < 0)
            return 0;
        do
            r = pread(io->fd, data, (size_t)n, (off_t)io->pos);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            io->sys_errno = errno;
            return -1;
        }
        io->pos += (uint64_t)r;
        return (tmsize_t)r;
    }
    if (n < 0 || io->pos >= len)
        return 0;
    k = len - (size_t)io->pos < (size_t)n ? len - (size_t)io->pos : (size_t)n;
    memcpy(data, b + io->pos, k);
    io->pos += k;
    return (tmsize_t)k;
}

static tmsize_t io_write(thandle_t h, void *data, tmsize_t n)
{
    tiff_io *io = (tiff_io *)h;
    size_t end;
    if (io->writing == 2 && n >= 0) {
        const unsigned char *p = data;
        size_t left = (size_t)n;
        while (left) {
            ssize_t r = pwrite(io->fd, p, left, (off_t)io->pos);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                io->sys_errno = errno;
                return -1;
            }
            p += r;
            left -= (size_t)r;
            io->pos += (uint64_t)r;
        }
        if (io->pos > io->size)
            io->size = io->pos;
        return n;
    }
    if (!io->writing || n < 0 || io->pos > SIZE_MAX - (size_t)n)
        return -1;
    end = (size_t)io->pos + (size_t)n;
    if (end > io->out.len) {
        /* Grow (zero-filled past the old end), then overwrite. */
        size_t grow = end - io->out.len;
        static const unsigned char zeros[256];
        while (grow && !io->out.failed) {
            size_t k = grow < sizeof zeros ? grow : sizeof zeros;
            cnf__buf_put(&io->out, zeros, k);
            grow -= k;
        }
        if (io->out.failed)
            return -1;
    }
    memcpy(io->out.data + io->pos, data, (size_t)n);
    io->pos = end;
    return n;
}

static toff_t io_seek(thandle_t h, toff_t off, int whence)
{
    tiff_io *io = (tiff_io *)h;
    uint64_t size = io->writing == 2 ? io->size : io->writing ? io->out.len : io->len, base;
    switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = io->pos; break;
    case SEEK_END: base = size; break;
    default: return (toff_t)-1;
    }
    if (off > (toff_t)1 << 40 || base + off > (uint64_t)1 << 40)
        return (toff_t)-1;
    io->pos = base + off;
    return (toff_t)io->pos;
}

static int io_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t io_size(thandle_t h)
{
    tiff_io *io = (tiff_io *)h;
    return (toff_t)(io->writing == 2 ? io->size : io->writing ? io->out.len : io->len);
}

/* Reading maps the input itself: libtiff then reads strips in place. */
static int io_map(thandle_t h, void **base, toff_t *size)
{
    tiff_io *io = (tiff_io *)h;
    if (io->writing)
        return 0;
    *base = (void *)(uintptr_t)io->src;
    *size = (toff_t)io->len;
    return 1;
}

static void io_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h;
    (void)base;
    (void)size;
}

static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    tiff_io *io = user;
    (void)tif;
    (void)module;
    if (!io->msg[0]) {
        vsnprintf(io->msg, sizeof io->msg, fmt, ap);
        if (!io->msg[0])
            snprintf(io->msg, sizeof io->msg, "libtiff error");
    }
    return 1; /* handled: nothing printed */
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif;
    (void)user;
    (void)module;
    (void)fmt;
    (void)ap;
    return 1; /* dropped */
}

static TIFF *open_io(tiff_io *io, const char *name, const char *mode)
{
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    TIFF *tif;
    if (!opts) {
        snprintf(io->msg, sizeof io->msg, "out of memory");
        return NULL;
    }
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, io);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, io);
    tif = TIFFClientOpenExt(name && name[0] ? name : "TIFF", mode, (thandle_t)io, io_read,
                            io_write, io_seek, io_close, io_size, io_map, io_unmap, opts);
    TIFFOpenOptionsFree(opts);
    return tif;
}

/* ------------------------------------------------------------- reading */

static int tiff_sniff(const unsigned char *b, size_t len)
{
    static const char *const MAGIC[] = {"II*\0", "MM\0*", "II+\0", "MM\0+"};
    int r = 0;
    for (int i = 0; i < 4; i++) {
        int s = cnf__magic(b, len, MAGIC[i], 4);
        if (s > 0)
            return 1;
        if (s < 0)
            r = -1;
    }
    return r;
}

/* What the first directory holds, as this reader takes it. */
typedef struct tiff_shape {
    uint32_t w, h;
    uint16_t spp, bits, format, planar, photometric;
    int colour, alpha; /* the image's planes: colour (1 or 3) + alpha */
    int invert;        /* min-is-white */
} tiff_shape;

/* The shape of the first directory, refusing what is not read, and its size
 * against the pixel limit. */
static cnf_status tiff_shape_of(TIFF *tif, tiff_io *io, const char *name, uint64_t max_pixels,
                                tiff_shape *s, cnf_error *err)
{
    uint16_t extras = 0, *extra_types = NULL, compression = 1;
    memset(s, 0, sizeof *s);
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &s->w) ||
        !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &s->h) || s->w == 0 || s->h == 0)
        return cnf__fail(err, CNF_E_DECODE, name, "TIFF without an image size");
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &s->spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &s->bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &s->format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &s->planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &extras, &extra_types);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &s->photometric))
        return cnf__fail(err, CNF_E_DECODE, name, "TIFF without a photometric interpretation");
    switch (s->photometric) {
    case PHOTOMETRIC_MINISWHITE: s->invert = 1; /* fall through */
    case PHOTOMETRIC_MINISBLACK: s->colour = 1; break;
    case PHOTOMETRIC_RGB: s->colour = 3; break;
    case PHOTOMETRIC_YCBCR:
        if (compression != COMPRESSION_JPEG || s->planar != PLANARCONFIG_CONTIG)
            return cnf__fail(err, CNF_E_DECODE, name,
                             "YCbCr TIFF other than JPEG-compressed is not supported");
        /* libtiff's JPEG codec gives RGB. */
        if (!TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB))
            return cnf__fail(err, CNF_E_DECODE, name, "YCbCr TIFF: %s",
                             io->msg[0] ? io->msg : "cannot convert to RGB");
        s->colour = 3;
        break;
    case PHOTOMETRIC_PALETTE:
        return cnf__fail(err, CNF_E_DECODE, name,
                         "palette TIFF is not supported (convert it to RGB)");
    default:
        return cnf__fail(err, CNF_E_DECODE, name,
                         "TIFF photometric interpretation %u is not supported (gray or RGB)",
                         (unsigned)s->photometric);
    }
    if (!((s->bits == 8 || s->bits == 16) && s->format == SAMPLEFORMAT_UINT) &&
        !(s->bits == 32 && s->format == SAMPLEFORMAT_IEEEFP))
        return cnf__fail(err, CNF_E_DECODE, name,
                         "TIFF with %u-bit %s samples is not supported (8 or 16-bit unsigned, "
                         "32-bit float)",
                         (unsigned)s->bits,
                         s->format == SAMPLEFORMAT_IEEEFP ? "float"
                         : s->format == SAMPLEFORMAT_INT  ? "signed"
                                                          : "integer");
    if (s->invert && s->format == SAMPLEFORMAT_IEEEFP)
        return cnf__fail(err, CNF_E_DECODE, name, "min-is-white float TIFF is not supported");
    if (s->spp < s->colour)
        return cnf__fail(err, CNF_E_DECODE, name, "TIFF with %u samples per pixel for %s",
                         (unsigned)s->spp, s->colour == 3 ? "RGB" : "gray");
    s->alpha = s->spp > s->colour;
    if (s->planar != PLANARCONFIG_CONTIG && s->planar != PLANARCONFIG_SEPARATE)
        return cnf__fail(err, CNF_E_DECODE, name, "TIFF planar configuration %u",
                         (unsigned)s->planar);
    if ((uint64_t)s->w * (uint64_t)s->h > max_pixels)
        return cnf__fail_limit(err, CNF_E_TOO_BIG, CNF_LIMIT_PIXELS, name,
                               "%ux%u image is over the pixel limit %llu", (unsigned)s->w,
                               (unsigned)s->h, (unsigned long long)max_pixels);
    if (s->w > INT32_MAX || s->h > INT32_MAX)
        return cnf__fail(err, CNF_E_TOO_BIG, name, "TIFF of %ux%u is too large",
                         (unsigned)s->w, (unsigned)s->h);
    return CNF_OK;
}

/* Open the input and read its first directory's shape. */
static cnf_status tiff_open_read(const unsigned char *buf, size_t len, const char *name,
                                 uint64_t max_pixels, tiff_io *io, TIFF **tif_ret,
                                 tiff_shape *s, cnf_error *err)
{
    TIFF *tif;
    cnf_status st;
    memset(io, 0, sizeof *io);
    io->src = buf;
    io->len = len;
    *tif_ret = NULL;
    tif = open_io(io, name, "r");
    if (!tif)
        return cnf__fail(err, CNF_E_DECODE, name, "not a readable TIFF (%s)",
                         io->msg[0] ? io->msg : "bad header");
    st = tiff_shape_of(tif, io, name, max_pixels, s, err);
    if (st) {
        TIFFClose(tif);
        return st;
    }
    *tif_ret = tif;
    return CNF_OK;
}

static cnf_status tiff_probe(const unsigned char *buf, size_t len, const char *name,
                             uint64_t max_pixels, int *width, int *height, int *channels,
                             int *has_alpha, cnf_error *err)
{
    tiff_io io;
    TIFF *tif;
    tiff_shape s;
    cnf_status st = tiff_open_read(buf, len, name, max_pixels, &io, &tif, &s, err);
    if (st)
        return st;
    TIFFClose(tif);
    *width = (int)s.w;
    *height = (int)s.h;
    *channels = s.colour + s.alpha;
    *has_alpha = s.alpha;
    return CNF_OK;
}

/* One sample as the image's value. */
static float sample_value(const tiff_shape *s, const unsigned char *p)
{
    if (s->bits == 8)
        return s->invert ? (float)(255 - p[0]) : (float)p[0];
    if (s->bits == 16) {
        uint16_t v;
        memcpy(&v, p, 2); /* libtiff gives host byte order */
        return (float)((s->invert ? 65535 - v : v) / 257.0);
    }
    {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
}

/* Spread a decoded block (bw x bh pixels at x0, y0, row pitch `pitch` bytes;
 * all samples when contiguous, else the one of `plane`) into img. */
static void scatter(const tiff_shape *s, const unsigned char *blk, size_t pitch, uint32_t x0,
                    uint32_t y0, uint32_t bw, uint32_t bh, int plane, cnf_image *img)
{
    size_t bps = s->bits / 8, step = s->planar == PLANARCONFIG_CONTIG ? s->spp * bps : bps;
    int first = s->planar == PLANARCONFIG_CONTIG ? 0 : plane;
    int last = s->planar == PLANARCONFIG_CONTIG ? s->spp - 1 : plane;
    uint32_t w = bw, h = bh;
    if (x0 + w > s->w)
        w = s->w - x0;
    if (y0 + h > s->h)
        h = s->h - y0;
    for (int k = first; k <= last; k++) {
        int c = k < s->colour ? k : k == s->colour && s->alpha ? s->colour : -1;
        size_t off = s->planar == PLANARCONFIG_CONTIG ? (size_t)k * bps : 0;
        float *dst;
        if (c < 0)
            continue; /* a second extra sample */
        dst = cnf_image_plane(img, c);
        for (uint32_t y = 0; y < h; y++) {
            const unsigned char *p = blk + (size_t)y * pitch + off;
            float *d = dst + (size_t)(y0 + y) * s->w + x0;
            for (uint32_t x = 0; x < w; x++, p += step)
                d[x] = sample_value(s, p);
        }
    }
}

static cnf_status read_failed(tiff_io *io, const char *name, const char *what, cnf_error *err)
{
    return cnf__fail(err, CNF_E_DECODE, name, "corrupt or truncated TIFF: %s",
                     io->msg[0] ? io->msg : what);
}

static cnf_status tiff_pixels(TIFF *tif, tiff_io *io, const tiff_shape *s, const char *name,
                              cnf_image *img, cnf_error *err)
{
    int planes = s->planar == PLANARCONFIG_CONTIG ? 1 : s->spp;
    size_t bps = s->bits / 8, px = s->planar == PLANARCONFIG_CONTIG ? s->spp * bps : bps;
    /* A block may exceed the image (tiles at the edges) but not by much:
     * a header cannot make this allocate more than the image and 16 MiB. */
    uint64_t bound = (uint64_t)s->w * s->h * s->spp * bps + ((uint64_t)1 << 24);
    unsigned char *blk = NULL;
    cnf_status st = CNF_OK;
    if (TIFFIsTiled(tif)) {
        uint32_t tw = 0, th = 0;
        tmsize_t size = TIFFTileSize(tif);
        if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw) ||
            !TIFFGetField(tif, TIFFTAG_TILELENGTH, &th) || tw == 0 || th == 0 || size <= 0 ||
            (uint64_t)size > bound || (uint64_t)tw * th * px > (uint64_t)size)
            return read_failed(io, name, "bad tile size", err);
        if (!(blk = malloc((size_t)size)))
            return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
        for (int p = 0; p < planes && !st; p++)
            for (uint32_t y = 0; y < s->h && !st; y += th)
                for (uint32_t x = 0; x < s->w && !st; x += tw) {
                    ttile_t t = TIFFComputeTile(tif, x, y, 0, (uint16_t)p);
                    if (TIFFReadEncodedTile(tif, t, blk, size) < 0)
                        st = read_failed(io, name, "tile unreadable", err);
                    else
                        scatter(s, blk, (size_t)tw * px, x, y, tw, th, p, img);
                }
    } else {
        uint32_t rps = 0;
        tmsize_t size = TIFFStripSize(tif);
        uint32_t per_plane;
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
        if (rps == 0 || rps > s->h)
            rps = s->h;
        per_plane = (s->h + rps - 1) / rps;
        if (size <= 0 || (uint64_t)size > bound || (uint64_t)s->w * rps * px > (uint64_t)size ||
            (uint64_t)per_plane * (uint64_t)planes > TIFFNumberOfStrips(tif))
            return read_failed(io, name, "bad strip layout", err);
        if (!(blk = malloc((size_t)size)))
            return cnf__fail(err, CNF_E_NOMEM, name, "out of memory");
        for (int p = 0; p < planes && !st; p++)
            for (uint32_t i = 0; i < per_plane && !st; i++) {
                uint32_t y = i * rps, rows = s->h - y < rps ? s->h - y : rps;
                tmsize_t got = TIFFReadEncodedStrip(tif, (uint32_t)p * per_plane + i, blk, size);
                if (got < 0 || (uint64_t)got < (uint64_t)s->w * rows * px)
                    st = read_failed(io, name, "strip unreadable", err);
                else
                    scatter(s, blk, (size_t)s->w * px, 0, y, s->w, rows, p, img);
            }
    }
    free(blk);
    return st;
}

static cnf_status tiff_decode(const unsigned char *buf, size_t len, const char *name,
                              uint64_t max_pixels, cnf_image *img, cnf_error *err)
{
    tiff_io io;
    TIFF *tif;
    tiff_shape s;
    cnf_status st = tiff_open_read(buf, len, name, max_pixels, &io, &tif, &s, err);
    if (st)
        return st;
    st = cnf_image_alloc(img, (int)s.w, (int)s.h, s.colour + s.alpha, s.alpha, err);
    if (st == CNF_OK)
        st = tiff_pixels(tif, &io, &s, name, img, err);
    if (st == CNF_OK && s.format == SAMPLEFORMAT_IEEEFP) {
        /* the rule of every exact input (.npy, text): finite values only */
        size_t n = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
        for (size_t i = 0; i < n && st == CNF_OK; i++)
            if (!isfinite(img->data[i]))
                st = cnf__fail(err, CNF_E_DECODE, name, "value %zu is not a finite float32", i);
    }
    TIFFClose(tif);
    if (st)
        cnf_image_free(img);
    return st;
}

/* tiff_pixels reads one strip or tile at a time into a block of its size
 * (at most the image's samples and 16 MiB); a compressed one is read raw by
 * libtiff first, counted as a second block. */
static uint64_t tiff_memory(const unsigned char *buf, size_t len)
{
    tiff_io io;
    TIFF *tif;
    tiff_shape s;
    cnf_error err;
    uint16_t compression = COMPRESSION_NONE;
    uint64_t block;
    if (tiff_open_read(buf, len, NULL, UINT64_MAX, &io, &tif, &s, &err) != CNF_OK)
        return 0;
    block = (uint64_t)(TIFFIsTiled(tif) ? TIFFTileSize64(tif) : TIFFStripSize64(tif));
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    TIFFClose(tif);
    return compression == COMPRESSION_NONE ? block : 2 * block;
}

/* ------------------------------------------------------------- writing */

/* The deflate level: measured on a 4352x2448 photo (libtiff with
 * libdeflate), 8-bit RGB: level 4 gives 6.8 MB in 0.85 s, libtiff's default
 * 6 gives 6.2 MB in 2.4 s, 1 gives 8.0 MB in 0.58 s (PNG at its default
 * level: 7.8 MB in 0.45 s on one thread). */
#define TIFF_DEFLATE_LEVEL 4

/* Rows per strip for about 256 KiB of samples per strip, and at most 4096
 * strips: the strip offsets and sizes (8 bytes a strip) are written before
 * the Software tag's text, which must stay within a file's first 64 KiB. */
static uint32_t strip_rows(size_t row_bytes, uint32_t h)
{
    size_t r = ((size_t)256 << 10) / (row_bytes ? row_bytes : 1);
    if (r < 1)
        r = 1;
    if (r < (h + 4095u) / 4096u)
        r = (h + 4095u) / 4096u;
    return r > h ? h : (uint32_t)r;
}

/* An image of comp channels (1 to 4), of which has_alpha the last, at
 * opts->depth: the tags, and the directory checkpointed right after the
 * header (rewritten in place at the end with the same tags, so the mark
 * stays in front).  0 when libtiff failed (io.msg says why). */
static int tiff_begin(TIFF *tif, int width, int height, int comp, int has_alpha,
                      const cnf_encode_opts *opts)
{
    int fl = opts->depth == CNF_DEPTH_FLOAT;
    uint16_t bits = fl ? 32 : opts->depth == 16 ? 16 : 8;
    uint16_t extra[4];
    size_t row_bytes = (size_t)width * (size_t)comp * (bits / 8);
    /* Gray for 1 or 2 channels, RGB for 3 or 4; the rest are extra samples,
     * the last one alpha when the image has one. */
    int colour = comp - has_alpha >= 3 ? 3 : 1;
    int n_extra = comp - colour;
    for (int i = 0; i < n_extra; i++)
        extra[i] = (has_alpha && i == n_extra - 1) ? EXTRASAMPLE_UNASSALPHA
                                                   : EXTRASAMPLE_UNSPECIFIED;
    return TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)width) &&
           TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)height) &&
           TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)comp) &&
           TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bits) &&
           TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, fl ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT) &&
           TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
           TIFFSetField(tif, TIFFTAG_PHOTOMETRIC,
                        colour == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK) &&
           TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT) &&
           TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE) &&
           TIFFSetField(tif, TIFFTAG_PREDICTOR,
                        fl ? PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL) &&
           TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, strip_rows(row_bytes, (uint32_t)height)) &&
           TIFFSetField(tif, TIFFTAG_ZIPQUALITY, TIFF_DEFLATE_LEVEL) &&
           (n_extra == 0 || TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, (uint16_t)n_extra, extra)) &&
           (!opts->software || TIFFSetField(tif, TIFFTAG_SOFTWARE, opts->software)) &&
           (!opts->software || !opts->comment ||
            TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, opts->comment)) &&
           TIFFCheckpointDirectory(tif);
}

static cnf_status tiff_channels(int comp, cnf_error *err)
{
    if (comp < 1 || comp > 4)
        return cnf__fail(err, CNF_E_FORMAT, NULL,
                         "a TIFF holds 1 to 4 channels, not %d; use .npy or an {index} template",
                         comp);
    return CNF_OK;
}

/* Row y of float samples, interleaved into row (libtiff's predictors work
 * in place, so each row goes through a copy). */
static void float_row(const float *const *planes, int comp, int width, float *row)
{
    for (int x = 0; x < width; x++)
        for (int c = 0; c < comp; c++)
            row[(size_t)x * comp + c] = planes[c][x];
}

static cnf_status tiff_encode(const cnf_image *img, const unsigned char *px,
                              const cnf_encode_opts *opts, unsigned char **out, size_t *out_len,
                              cnf_error *err)
{
    tiff_io io;
    TIFF *tif;
    int fl = opts->depth == CNF_DEPTH_FLOAT, comp = img->channels;
    size_t bps = fl ? 4 : opts->depth == 16 ? 2 : 1;
    size_t row_bytes = (size_t)img->width * (size_t)comp * bps;
    unsigned char *row = NULL;
    cnf_status st;
    int ok;
    *out = NULL;
    *out_len = 0;
    if ((st = tiff_channels(comp, err)) != CNF_OK)
        return st;
    memset(&io, 0, sizeof io);
    io.writing = 1;
    tif = open_io(&io, "TIFF", "w");
    if (!tif)
        return cnf__fail(err, CNF_E_IO, NULL, "TIFF encoding failed (%s)", io.msg);
    ok = tiff_begin(tif, img->width, img->height, comp, img->has_alpha, opts);
    if (ok && !(row = malloc(row_bytes)))
        ok = 0;
    for (int y = 0; ok && y < img->height; y++) {
        if (fl) {
            const float *planes[4];
            for (int c = 0; c < comp; c++)
                planes[c] = cnf_image_plane(img, c) + (size_t)y * img->width;
            float_row(planes, comp, img->width, (float *)(void *)row);
        } else {
            memcpy(row, px + (size_t)y * row_bytes, row_bytes);
        }
        ok = TIFFWriteScanline(tif, row, (uint32_t)y, 0) == 1;
    }
    free(row);
    if (ok)
        ok = TIFFWriteDirectory(tif);
    TIFFClose(tif);
    if (!ok || io.out.failed) {
        free(io.out.data);
        if (io.out.failed || !io.msg[0])
            return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
        return cnf__fail(err, CNF_E_IO, NULL, "TIFF encoding failed (%s)", io.msg);
    }
    *out = io.out.data;
    *out_len = io.out.len;
    return CNF_OK;
}

/* Written by rows into a regular file (a cnf_row_writer): the same calls
 * as tiff_encode, with libtiff's client procs on the file instead of a
 * buffer; libtiff holds one strip (about 256 KiB) at a time. */
typedef struct tiff_rows {
    tiff_io io; /* libtiff's handle: stays in place while tif is open */
    TIFF *tif;
    float *row; /* float samples interleaved */
} tiff_rows;

/* Why libtiff failed on the file. */
static cnf_status tiff_write_failed(const tiff_rows *s, cnf_error *err)
{
    if (s->io.sys_errno)
        return cnf__fail_errno(err, CNF_E_IO, NULL, s->io.sys_errno, "write error: %s",
                               strerror(s->io.sys_errno));
    if (!s->io.msg[0])
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    return cnf__fail(err, CNF_E_IO, NULL, "TIFF encoding failed (%s)", s->io.msg);
}

static cnf_status tiff_rows_open(cnf_row_writer *w, cnf_error *err)
{
    tiff_rows *s;
    cnf_status st;
    if ((st = tiff_channels(w->channels, err)) != CNF_OK)
        return st;
    if (!(s = calloc(1, sizeof *s)))
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    w->state = s;
    s->io.writing = 2;
    s->io.fd = w->fd;
    if (w->opts.depth == CNF_DEPTH_FLOAT &&
        !(s->row = malloc((size_t)w->width * (size_t)w->channels * sizeof(float))))
        return cnf__fail(err, CNF_E_NOMEM, NULL, "out of memory");
    if (!(s->tif = open_io(&s->io, "TIFF", "w")) ||
        !tiff_begin(s->tif, w->width, w->height, w->channels, w->has_alpha, &w->opts))
        return tiff_write_failed(s, err);
    return CNF_OK;
}

static cnf_status tiff_rows_write(cnf_row_writer *w, int n, unsigned char *px,
                                  const float *const *rows, cnf_error *err)
{
    tiff_rows *s = w->state;
    size_t stride = (size_t)w->width * (size_t)w->channels * (w->opts.depth == 16 ? 2 : 1);
    for (int i = 0; i < n; i++) {
        void *row = px + (size_t)i * stride;
        if (!px) {
            float_row(rows + (size_t)i * (size_t)w->channels, w->channels, w->width, s->row);
            row = s->row;
        }
        if (TIFFWriteScanline(s->tif, row, (uint32_t)(w->y + i), 0) != 1)
            return tiff_write_failed(s, err);
    }
    return CNF_OK;
}

static cnf_status tiff_rows_finish(cnf_row_writer *w, cnf_error *err)
{
    tiff_rows *s = w->state;
    int ok = TIFFWriteDirectory(s->tif);
    TIFFClose(s->tif);
    s->tif = NULL;
    return ok ? CNF_OK : tiff_write_failed(s, err);
}

static void tiff_rows_destroy(cnf_row_writer *w)
{
    tiff_rows *s = w->state;
    if (!s)
        return;
    if (s->tif)
        TIFFClose(s->tif); /* unfinished: the file is the caller's to remove */
    free(s->row);
    free(s);
}

static const cnf__row_out tiff_row_out = {
    .seeks = 1,
    .open = tiff_rows_open,
    .rows = tiff_rows_write,
    .finish = tiff_rows_finish,
    .destroy = tiff_rows_destroy,
};

/* ------------------------------------------------------------- the mark */

static uint32_t rd16(const unsigned char *p, int big)
{
    return big ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0];
}

static uint32_t rd32(const unsigned char *p, int big)
{
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* The text of an ASCII entry at e (12 bytes) within b[0..len): *s and *n
 * (without the terminating NULs); 0 if it is not ASCII or not within b. */
static int entry_text(const unsigned char *b, size_t len, const unsigned char *e, int big,
                      const unsigned char **s, size_t *n)
{
    uint32_t count = rd32(e + 4, big), off;
    if (rd16(e + 2, big) != 2)
        return 0;
    if (count <= 4) {
        *s = e + 8;
    } else {
        off = rd32(e + 8, big);
        if (off > len || count > len - off)
            return 0;
        *s = b + off;
    }
    *n = count;
    while (*n && (*s)[*n - 1] == 0)
        (*n)--;
    return 1;
}

/* Classic TIFF (and the TIFF inside an EXIF block): the first directory's
 * Software (305) and ImageDescription (270) entries. */
int cnf__tiff_mark(const unsigned char *b, size_t len, char *comment, size_t cap)
{
    int big;
    uint32_t ifd, n;
    const unsigned char *desc = NULL, *soft = NULL;
    size_t desc_n = 0, soft_n = 0;
    cnf__mark_copy(comment, cap, NULL, 0);
    if (len < 8 || !(memcmp(b, "II*\0", 4) == 0 || memcmp(b, "MM\0*", 4) == 0))
        return 0;
    big = b[0] == 'M';
    ifd = rd32(b + 4, big);
    if (ifd < 8 || ifd > len || len - ifd < 2)
        return 0;
    n = rd16(b + ifd, big);
    if ((size_t)n * 12 > len - ifd - 2)
        n = (uint32_t)((len - ifd - 2) / 12); /* the entries that are there */
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *e = b + ifd + 2 + (size_t)i * 12;
        uint32_t tag = rd16(e, big);
        if (tag == 270)
            entry_text(b, len, e, big, &desc, &desc_n);
        else if (tag == 305)
            entry_text(b, len, e, big, &soft, &soft_n);
    }
    if (!soft || !cnf__mark_software(soft, soft_n))
        return 0;
    if (desc)
        cnf__mark_copy(comment, cap, desc, desc_n);
    return 1;
}

/* A little-endian TIFF header and one directory of two ASCII entries
 * (ImageDescription, Software), the texts after it. */
unsigned char *cnf__exif_mark(const char *software, const char *comment, size_t *len_ret)
{
    const char *t[2] = {comment ? comment : "", software};
    size_t n[2], off = 8 + 2 + 2 * 12 + 4, total;
    unsigned char *b;
    static const unsigned char TAGS[2][2] = {{270 & 0xff, 270 >> 8}, {305 & 0xff, 305 >> 8}};
    for (int i = 0; i < 2; i++) {
        n[i] = strlen(t[i]);
        if (n[i] > 60000)
            n[i] = 60000;
    }
    total = off + n[0] + 1 + n[1] + 1;
    if (!(b = calloc(1, total)))
        return NULL;
    memcpy(b, "II*\0\x08\0\0\0\x02\0", 10);
    for (int i = 0; i < 2; i++) {
        unsigned char *e = b + 10 + i * 12;
        uint32_t count = (uint32_t)n[i] + 1;
        e[0] = TAGS[i][0];
        e[1] = TAGS[i][1];
        e[2] = 2; /* ASCII */
        for (int k = 0; k < 4; k++)
            e[4 + k] = (unsigned char)(count >> (8 * k));
        if (count <= 4) { /* held in the entry itself */
            memcpy(e + 8, t[i], n[i]);
            continue;
        }
        for (int k = 0; k < 4; k++)
            e[8 + k] = (unsigned char)(off >> (8 * k));
        memcpy(b + off, t[i], n[i]);
        off += n[i] + 1;
    }
    *len_ret = off;
    return b;
}

/* ------------------------------------------------------ codec table rows */

const cnf_codec cnf__codec_tiff = {
    .info = {"tiff", "tif tiff",
             "TIFF: gray or RGB, optional alpha, 8 or 16 bits (16 read as v/257) or float32 "
             "(exact); written with deflate",
             CNF__IMAGE_RW | CNF_FORMAT_16BIT | CNF_FORMAT_FLOAT | CNF_FORMAT_MARK,
             CNF_OUT_TIFF},
    .kind = CNF_IN_IMAGE,
    .sniff = tiff_sniff,
    .probe = tiff_probe,
    .decode = tiff_decode,
    .memory = tiff_memory,
    .encode = tiff_encode,
    .row_out = &tiff_row_out,
    .mark = cnf__tiff_mark,
    .orientation = cnf__exif_orientation, /* a TIFF file is the EXIF block's structure */
};
