/* codec.h - the row type of the codec table (codec.c), the rows' flags, and the entry points codecs share or tests call. */
#ifndef CNF_CODEC_H
#define CNF_CODEC_H

#include "internal.h"

#include <string.h>

/* cnf_codec - one row of the codec table.  A row knows its format only;
 * codec.c decides which row an input goes to and does what all rows share
 * (the empty-file check, the 8-bit mapping before an image encoder, a
 * reader that holds a whole decoded image). */
typedef struct cnf__row_out cnf__row_out;
typedef struct cnf_codec {
    cnf_format_info info; /* what cnf_formats() shows: name, extensions, flags, output */
    cnf_input_kind kind;  /* CNF_IN_IMAGE for images, else the matrix kind decoded */
    /* last_resort: the image row that gets every image no other row's sniff
     * claims (at most one row; its own sniff is then only a plausibility
     * test for its check). */
    int last_resort;
    /* sniff - is_a from the first bytes: 1 they start this format, 0 they
     * do not, -1 the len bytes there are agree so far but are too few to
     * tell.  NULL: never chosen by content. */
    int (*sniff)(const unsigned char *buf, size_t len);
    /* check - for cnf_sniff(): given only the start of an input this row
     * would read, fail exactly as the probe of any whole input starting
     * with these bytes would (for any max_pixels of at least 1), or return
     * CNF_OK when the rest could still make it readable.  NULL: never fails. */
    cnf_status (*check)(const unsigned char *buf, size_t len, const char *name, cnf_error *err);
    /* probe - the shape from the header, checked against max_pixels before
     * any pixel buffer.  NULL: the input is decoded whole for its shape. */
    cnf_status (*probe)(const unsigned char *buf, size_t len, const char *name,
                        uint64_t max_pixels, int *width, int *height, int *channels,
                        int *has_alpha, cnf_error *err);
    /* decode - the whole input into *img (left empty on failure). */
    cnf_status (*decode)(const unsigned char *buf, size_t len, const char *name,
                         uint64_t max_pixels, cnf_image *img, cnf_error *err);
    /* open_reader - fill r to deliver rows as they are asked for, or leave
     * r->rows NULL (and succeed) to have codec.c decode the input whole.
     * NULL: always decoded whole. */
    cnf_status (*open_reader)(const unsigned char *buf, size_t len, const char *name,
                              uint64_t max_pixels, cnf_reader *r, cnf_error *err);
    /* streams - 1 if open_reader would deliver rows for this input, without
     * opening it.  NULL: never. */
    int (*streams)(const unsigned char *buf, size_t len);
    /* memory - the bytes the row's decoder holds at its peak for this input
     * beside the decoded floats (decode's image, or open_reader's rows) and
     * buf, from the header alone: the buffers that grow with the image (its
     * own copy of the pixels, coefficient arrays), so that a caller can
     * check them against a limit before decoding.  0 when the header cannot
     * be read (the probe fails then).  NULL: nothing that grows with the
     * image. */
    uint64_t (*memory)(const unsigned char *buf, size_t len);
    /* fits - for a written image format: fail with CNF_E_FORMAT when the
     * format cannot hold width x height, before any pixel is mapped.  NULL:
     * any size. */
    cnf_status (*fits)(int width, int height, cnf_error *err);
    /* encode - into a new malloc'd buffer, as o says (o->depth is one the
     * row's flags allow).  A CNF_FORMAT_8BIT row gets px: the image mapped
     * to interleaved samples, img->channels per pixel (1 or 3 colours, plus
     * alpha), 8-bit, or uint16_t in host order for depth 16; for
     * CNF_DEPTH_FLOAT, and in a CNF_FORMAT_EXACT row, px is NULL and img's
     * values are written.  NULL: not written. */
    cnf_status (*encode)(const cnf_image *img, const unsigned char *px, const cnf_encode_opts *o,
                         unsigned char **out, size_t *out_len, cnf_error *err);
    /* orientation - the EXIF Orientation of the whole input, 1..8 (1: no
     * tag, or a tag or block that cannot be read; orient.h has the readers
     * of a TIFF-structured block).  Never fails, never reads outside buf.
     * codec.c turns every decode upright by it (see cnf_decode_ex).  NULL:
     * always 1. */
    int (*orientation)(const unsigned char *buf, size_t len);
    /* mark - cnf_image_mark() for bytes this row's sniff claims: 1 and the
     * comment when they carry cnnfilter's mark, else 0; reads only within
     * buf (which may be the file's start only).  NULL: never marked. */
    int (*mark)(const unsigned char *buf, size_t len, char *comment, size_t cap);
    /* row_out - how cnf_row_writer writes this format as its rows arrive
     * (row_writer.c), the same bytes as encode.  NULL: written whole only. */
    const cnf__row_out *row_out;
} cnf_codec;

/* cnf_row_writer - the state row_writer.c keeps for every format; `state`
 * is the format's own. */
struct cnf_row_writer {
    const cnf_codec *codec;
    int fd;
    int width, height, channels, has_alpha;
    cnf_encode_opts opts; /* software and comment: NULL after open */
    int y;                /* rows written so far */
    unsigned char *px;    /* mapped samples of the rows of one call */
    size_t px_cap;
    void *state;
    int failed; /* a call failed: nothing more is written */
};

/* cnf__row_out - one format's part of a cnf_row_writer.  row_writer.c has
 * checked the shape and depth against the row's flags and `fits` (as
 * cnf_encode does), maps the rows of a CNF_FORMAT_8BIT format (px:
 * interleaved samples, w->channels per pixel, as encode gets them) and
 * refuses non-finite values of an exact format or float TIFF, before any
 * of these is called. */
struct cnf__row_out {
    /* seeks: written at offsets, so the file descriptor must be a regular
     * file (pread and pwrite); otherwise written in order with write(). */
    int seeks;
    /* takes - 1 when an image of `channels` planes is written by rows
     * (opts as given to open).  NULL: every image the format holds. */
    int (*takes)(int channels, const cnf_encode_opts *o);
    /* open - the header, anything before the first row; state into w->state. */
    cnf_status (*open)(cnf_row_writer *w, cnf_error *err);
    /* rows - n rows from row w->y: px as above (the writer's own, which
     * may be changed in place; NULL for float samples and exact formats),
     * rows[i * w->channels + c] row i's plane c. */
    cnf_status (*rows)(cnf_row_writer *w, int n, unsigned char *px,
                       const float *const *rows, cnf_error *err);
    /* finish - after the last row (NULL: nothing to add). */
    cnf_status (*finish)(cnf_row_writer *w, cnf_error *err);
    /* destroy - free w->state (NULL: free() it). */
    void (*destroy)(cnf_row_writer *w);
};

/* cnf__codec_for_output - the row that writes f, or NULL. */
const cnf_codec *cnf__codec_for_output(cnf_output_format f);

/* cnf__fd_write - len bytes at fd's position (write(), until all are
 * written); cnf__fd_pwrite - at offset `off` (pwrite()).  Fail with
 * CNF_E_IO and the errno (fd_io.c). */
cnf_status cnf__fd_write(int fd, const void *data, size_t len, cnf_error *err);
cnf_status cnf__fd_pwrite(int fd, const void *data, size_t len, uint64_t off, cnf_error *err);
/* cnf__check_finite_row - CNF_E_FORMAT naming the first non-finite value of
 * n values p (channel c, row y) and the format that cannot hold it. */
cnf_status cnf__check_finite_row(const float *p, size_t n, int c, size_t y, const char *format,
                                 cnf_error *err);

/* cnf__mark_copy - the comment of a mark into comment (cap bytes, kept
 * NUL-terminated), n bytes of src. */
static inline void cnf__mark_copy(char *comment, size_t cap, const unsigned char *src, size_t n)
{
    if (cap == 0)
        return;
    if (n > cap - 1)
        n = cap - 1;
    if (n)
        memcpy(comment, src, n);
    comment[n] = 0;
}

/* cnf__mark_software - 1 if n bytes of s are a software text of cnnfilter's. */
static inline int cnf__mark_software(const unsigned char *s, size_t n)
{
    return n >= 9 && memcmp(s, "cnnfilter", 9) == 0;
}

/* The mark as TIFF tags (tiff_io.c): the TIFF reader of it, also used for
 * the EXIF chunk of a WebP; and a small TIFF-structured EXIF block holding
 * Software and ImageDescription (malloc'd, *len_ret bytes), NULL when out of
 * memory. */
int cnf__tiff_mark(const unsigned char *buf, size_t len, char *comment, size_t cap);
unsigned char *cnf__exif_mark(const char *software, const char *comment, size_t *len_ret);

/* Flags of the rows. */
#define CNF__IMAGE_READ CNF_FORMAT_READ
#define CNF__IMAGE_RW (CNF_FORMAT_READ | CNF_FORMAT_WRITE | CNF_FORMAT_8BIT)
#define CNF__MATRIX_READ (CNF_FORMAT_READ | CNF_FORMAT_MATRIX)
#define CNF__MATRIX_RW (CNF_FORMAT_READ | CNF_FORMAT_WRITE | CNF_FORMAT_EXACT | CNF_FORMAT_MATRIX)

/* cnf__magic - a sniff's comparison with a magic number of n bytes: 1 when
 * b starts with it, 0 when it does not, -1 when b is shorter than n and
 * agrees as far as it goes. */
static inline int cnf__magic(const unsigned char *b, size_t len, const char *magic, size_t n)
{
    if (len >= n)
        return memcmp(b, magic, n) == 0;
    return memcmp(b, magic, len) == 0 ? -1 : 0;
}

/* PNG (png_io.c through libspng, png_fast.c for the common PNG, png_writer.c). */
int cnf__png_sniff(const unsigned char *buf, size_t len);
cnf_status cnf__png_probe(const unsigned char *buf, size_t len, const char *name,
                          uint64_t max_pixels, int *width, int *height, int *channels,
                          int *has_alpha, cnf_error *err);
cnf_status cnf__png_decode(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err);
/* Streams PNG without interlace: the fast reader when it takes the file,
 * else libspng; leaves r->rows NULL for an interlaced PNG. */
cnf_status cnf__png_reader(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, cnf_reader *r, cnf_error *err);
int cnf__png_streams(const unsigned char *buf, size_t len);
int cnf__png_mark(const unsigned char *buf, size_t len, char *comment, size_t cap);
/* Written by the streaming writer at CNF_PNG_DEFAULT_LEVEL (quality unused). */
cnf_status cnf__png_encode(const cnf_image *img, const unsigned char *px,
                           const cnf_encode_opts *o, unsigned char **out, size_t *out_len,
                           cnf_error *err);
/* The common PNG (8-bit gray/RGB(A), no interlace, no tRNS) with ISA-L's
 * inflate; leaves r->rows NULL (and succeeds) for any other PNG. */
cnf_status cnf__png_fast_reader(const unsigned char *buf, size_t len, const char *name,
                                uint64_t max_pixels, cnf_reader *r, cnf_error *err);
/* cnf__png_unfilter - undo PNG filter `filter` (0 none, 1 sub, 2 up, 3
 * average, 4 Paeth; any other value: nothing) of the n bytes of row in
 * place, prev the row above it already unfiltered (zeros above the first
 * row), bpp bytes per pixel (at least 1) (png_unfilter.c). */
void cnf__png_unfilter(int filter, unsigned char *row, const unsigned char *prev, size_t n,
                       size_t bpp);
/* cnf__png_unfilter2 - the same for two rows, row1 under prev and row2
 * under row1 (two Paeth rows go together: nearly twice as fast as one
 * after the other). */
void cnf__png_unfilter2(int filter1, int filter2, unsigned char *row1, unsigned char *row2,
                        const unsigned char *prev, size_t n, size_t bpp);

/* JPEG through libjpeg-turbo (jpeg_io.c); the quality when none is given. */
#define CNF_JPEG_DEFAULT_QUALITY 90
int cnf__jpeg_sniff(const unsigned char *buf, size_t len);
cnf_status cnf__jpeg_probe(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, int *width, int *height, int *channels,
                           int *has_alpha, cnf_error *err);
cnf_status cnf__jpeg_decode(const unsigned char *buf, size_t len, const char *name,
                            uint64_t max_pixels, cnf_image *img, cnf_error *err);
cnf_status cnf__jpeg_reader(const unsigned char *buf, size_t len, const char *name,
                            uint64_t max_pixels, cnf_reader *r, cnf_error *err);
int cnf__jpeg_streams(const unsigned char *buf, size_t len);
uint64_t cnf__jpeg_memory(const unsigned char *buf, size_t len);
cnf_status cnf__jpeg_fits(int width, int height, cnf_error *err);
int cnf__jpeg_mark(const unsigned char *buf, size_t len, char *comment, size_t cap);
cnf_status cnf__jpeg_encode(const cnf_image *img, const unsigned char *px,
                            const cnf_encode_opts *o, unsigned char **out, size_t *out_len,
                            cnf_error *err);

/* Binary PGM/PPM by our own decoder (pnm_io.c). */
int cnf__pnm_sniff(const unsigned char *buf, size_t len);
cnf_status cnf__pnm_check(const unsigned char *buf, size_t len, const char *name,
                          cnf_error *err);
cnf_status cnf__pnm_probe(const unsigned char *buf, size_t len, const char *name,
                          uint64_t max_pixels, int *width, int *height, int *channels,
                          int *has_alpha, cnf_error *err);
cnf_status cnf__pnm_decode(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err);

/* BMP, TGA, GIF, PSD, HDR through stb_image; BMP and TGA written by
 * stb_image_write (stb_io.c).  Every stb row reads with the same probe and
 * decode: stb picks the format itself, as it does for an image no row claims. */
int cnf__bmp_sniff(const unsigned char *buf, size_t len);
int cnf__tga_sniff(const unsigned char *buf, size_t len);
int cnf__gif_sniff(const unsigned char *buf, size_t len);
int cnf__psd_sniff(const unsigned char *buf, size_t len);
int cnf__hdr_sniff(const unsigned char *buf, size_t len);
cnf_status cnf__psd_check(const unsigned char *buf, size_t len, const char *name,
                          cnf_error *err);
/* The check of the last-resort row: what stb makes of an image no row claims. */
cnf_status cnf__stb_check(const unsigned char *buf, size_t len, const char *name,
                          cnf_error *err);
cnf_status cnf__stb_probe(const unsigned char *buf, size_t len, const char *name,
                          uint64_t max_pixels, int *width, int *height, int *channels,
                          int *has_alpha, cnf_error *err);
cnf_status cnf__stb_decode(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err);
uint64_t cnf__stb_memory(const unsigned char *buf, size_t len);
cnf_status cnf__bmp_encode(const cnf_image *img, const unsigned char *px,
                           const cnf_encode_opts *o, unsigned char **out, size_t *out_len,
                           cnf_error *err);
cnf_status cnf__tga_encode(const cnf_image *img, const unsigned char *px,
                           const cnf_encode_opts *o, unsigned char **out, size_t *out_len,
                           cnf_error *err);

/* NumPy .npy (npy_io.c). */
int cnf__npy_sniff(const unsigned char *buf, size_t len);
cnf_status cnf__npy_check(const unsigned char *buf, size_t len, const char *name,
                          cnf_error *err);
cnf_status cnf__npy_decode(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err);
cnf_status cnf__npy_encode(const cnf_image *img, const unsigned char *px,
                           const cnf_encode_opts *o, unsigned char **out, size_t *out_len,
                           cnf_error *err);

/* Numbers as text: .txt and .csv in, .txt and .json out, and the JSON
 * matrix reader (cnf__json_matrix) behind the codec interface (text_matrix.c). */
int cnf__txt_sniff(const unsigned char *buf, size_t len);
int cnf__json_sniff(const unsigned char *buf, size_t len);
cnf_status cnf__txt_check(const unsigned char *buf, size_t len, const char *name,
                          cnf_error *err);
cnf_status cnf__csv_check(const unsigned char *buf, size_t len, const char *name,
                          cnf_error *err);
cnf_status cnf__txt_decode(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err);
cnf_status cnf__csv_decode(const unsigned char *buf, size_t len, const char *name,
                           uint64_t max_pixels, cnf_image *img, cnf_error *err);
cnf_status cnf__json_decode(const unsigned char *buf, size_t len, const char *name,
                            uint64_t max_pixels, cnf_image *img, cnf_error *err);
cnf_status cnf__txt_encode(const cnf_image *img, const unsigned char *px,
                           const cnf_encode_opts *o, unsigned char **out, size_t *out_len,
                           cnf_error *err);
cnf_status cnf__json_encode(const cnf_image *img, const unsigned char *px,
                            const cnf_encode_opts *o, unsigned char **out, size_t *out_len,
                            cnf_error *err);

#endif
