/* cnnfilter.h - public API of libcnnfilter: kernels, plans, images and codecs.
 *
 * The library never prints, exits or reads argv.  Every function that can
 * fail returns a cnf_status and, when given a non-NULL cnf_error, fills it
 * with a one-line reason (and the file / line / column when known).  There
 * is no global error state.  All functions are thread-safe in the sense that
 * distinct objects may be used from distinct threads at once; a plan may be
 * run from several threads at once (it is read-only after creation).
 *
 * Images are PLANAR float32: plane c (0 <= c < channels) starts at
 * data + c * width * height, rows are contiguous (row stride = width).  When
 * has_alpha is set, the last plane is the alpha plane and channels counts it.
 *
 * Ownership.  What a call creates (*_ret, *out, a malloc'd buffer) belongs
 * to the caller, who releases it with the matching free function
 * (cnf_kernel_free, cnf_pipeline_free, cnf_plan_free, cnf_reader_free,
 * cnf_png_writer_free, cnf_row_writer_free, cnf_image_free, free() for
 * cnf_encode's bytes); every free function accepts NULL.  Arguments are only read during the call,
 * except: a cnf_layer borrows its kernels until cnf_plan_create returns (a
 * plan keeps copies of what it needs, so kernels and pipelines may be freed
 * while their plans live); cnf_reader_open borrows `buf` until
 * cnf_reader_free (rows are decoded from it as they are asked for); a
 * cnf_png_writer keeps its text chunks only during cnf_png_writer_open.
 *
 * Threads.  Distinct objects may be used from distinct threads at once; a
 * plan is read-only after creation and may be run from several threads at
 * once (each run with its own reader); the tables (cnf_builtins,
 * cnf_formats, cnf_vocab_words) are static.  A run's `threads` are the
 * library's own: the sink of cnf_plan_stream and the write callback of a
 * cnf_png_writer are called only on the caller's thread, in order, never
 * concurrently with themselves.  The library changes no signal disposition,
 * locale or rounding mode.
 *
 * Example: Sobel (x derivative) of a PNG in memory (png, png_len), as a
 * float32 image (tests/cli/test_install.sh compiles and runs it).
 *
 *     cnf_kernel *k = NULL;
 *     cnf_plan *p = NULL;
 *     cnf_image in = {0}, out = {0};
 *     cnf_layer L;
 *     cnf_error e = {0};
 *     if (cnf_kernel_parse("sobel_v", "kernel", &k, &e) ||
 *         cnf_decode(png, png_len, CNF_IN_AUTO, "in.png", CNF_DEFAULT_MAX_PIXELS, &in, &e))
 *         goto fail;
 *     cnf_layer_init(&L);
 *     L.kernels = (const cnf_kernel *const *)&k;
 *     L.n_kernels = 1;
 *     if (cnf_plan_create(&L, in.width, in.height, in.channels, in.has_alpha, NULL, &p, &e) ||
 *         cnf_plan_run(p, &in, 4, &out, &e))
 *         goto fail;
 *     printf("%d x %d x %d\n", out.channels, out.height, out.width);
 * fail:
 *     if (e.msg[0]) fprintf(stderr, "%s: %s\n", e.where, e.msg);
 *     cnf_image_free(&out); cnf_image_free(&in); cnf_plan_free(p); cnf_kernel_free(k);
 */
#ifndef CNNFILTER_H
#define CNNFILTER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CNF_VERSION_STRING "0.1.0"

/* Limits.  Each has a reason beside it. */
/* Pillow's decompression-bomb threshold: 178956970 = 2^31 / 4 / 3, so an
 * RGBA float plane count still fits in 32-bit signed arithmetic. */
#define CNF_DEFAULT_MAX_PIXELS 178956970ULL
/* Default memory budget of a plan: fits a laptop. */
#define CNF_DEFAULT_MAX_MEMORY (2ULL << 30)
/* The CLI's default work limit: 1e13 multiply-adds (minutes on the fast
 * paths, hours on the portable one): a plan over it is refused up front. */
#define CNF_DEFAULT_MAX_WORK 10000000000000ULL
/* Kernel sides: beyond 255 a direct convolution is hopeless anyway. */
#define CNF_MAX_KERNEL_SIDE 255
/* Kernel depth (input channels of a 3-D kernel). */
#define CNF_MAX_KERNEL_DEPTH 64
/* JSON documents (kernels, pipelines, matrices given as kernels). */
#define CNF_MAX_JSON_BYTES (4u << 20)
#define CNF_MAX_JSON_DEPTH 32
/* Numeric matrix inputs (.json/.csv/.txt): bounded by max_pixels too. */
#define CNF_MAX_MATRIX_BYTES (1u << 30)
#define CNF_MAX_CHANNELS 64
/* Pipelines: layers and kernels per layer (a bank of 64 maps is already far
 * past what a hand-written pipeline needs; each map costs a full plane). */
#define CNF_MAX_LAYERS 64
#define CNF_MAX_LAYER_KERNELS 64

/* cnf_status - result of every fallible call. */
typedef enum cnf_status {
    CNF_OK = 0,
    CNF_E_NOMEM,   /* allocation failed */
    CNF_E_USAGE,   /* bad argument, bad kernel spec or kernel file: exit 2 */
    CNF_E_LIMIT,   /* a usage limit exceeded (kernel size, JSON size/depth): exit 2 */
    CNF_E_DECODE,  /* input could not be decoded: exit 1 */
    CNF_E_TOO_BIG, /* image over max_pixels or plan over max_memory: exit 1 */
    CNF_E_EMPTY,   /* the plan leaves no output pixels for this input: exit 1 */
    CNF_E_IO,      /* read or write failure: exit 1 */
    CNF_E_FORMAT   /* the output format cannot hold this result: exit 2 */
} cnf_status;

/* cnf_subject - what cnf_error.where names. */
typedef enum cnf_subject {
    CNF_SUBJECT_NONE = 0, /* `where` is empty or only informative */
    CNF_SUBJECT_FILE,     /* `where` is a file: an input, a kernel or pipeline file, an output */
    CNF_SUBJECT_SETTING,  /* `where` is a layer setting by its word: "channels", "kernel",
                           * "pool-size", "pool-padding", "combine" (a front end words it as
                           * its own option, e.g. the CLI's --channels) */
    CNF_SUBJECT_SPEC      /* `where` is the label the caller gave cnf_kernel_parse() for a
                           * built-in or inline kernel spec */
} cnf_subject;

/* cnf_limit - which limit a CNF_E_TOO_BIG or CNF_E_LIMIT failure hit, so a
 * front end can say how to raise it.  Messages give the numbers. */
typedef enum cnf_limit {
    CNF_LIMIT_NONE = 0,
    CNF_LIMIT_PIXELS, /* an image or matrix over the max_pixels argument */
    CNF_LIMIT_MEMORY, /* a plan over cnf_plan_limits.max_memory */
    CNF_LIMIT_KERNEL, /* a kernel side or depth, kernels per layer, layers */
    CNF_LIMIT_JSON,   /* a JSON document's size, nesting or length of a string */
    CNF_LIMIT_WORK    /* a plan over cnf_plan_limits.max_work */
} cnf_limit;

/* cnf_error - filled by failing calls.  `where` names what the error is
 * about (see `subject`), or is empty; line/col are 1-based positions in a
 * JSON document, or 0 when not applicable.  `sys_errno` is the errno of a
 * failed system call (0 when none), `limit` the limit that was hit.  `msg`
 * is one line of text that names no front-end option. */
typedef struct cnf_error {
    cnf_status status;
    cnf_subject subject;
    char where[512];
    int line, col;
    int sys_errno;
    cnf_limit limit;
    char msg[512];
} cnf_error;

/* cnf_strerror - a static description of a status.  Never NULL. */
const char *cnf_strerror(cnf_status s);

/* cnf_status_is_usage - 1 when a status means the request itself is wrong
 * (a bad argument, spec, limit or output format: fixing the data will not
 * help), 0 when the data or the system failed. */
int cnf_status_is_usage(cnf_status s);

/* ------------------------------------------------------------------ images */

/* cnf_image - a planar float32 image; see the file comment for layout.
 * Owned by whoever created it; release with cnf_image_free(). */
typedef struct cnf_image {
    int width, height;
    int channels;  /* planes including alpha */
    int has_alpha; /* 1: the last plane is alpha */
    float *data;
} cnf_image;

/* cnf_image_alloc - allocate a zeroed image.  Fails with CNF_E_TOO_BIG when
 * the size overflows, CNF_E_NOMEM when allocation fails. */
cnf_status cnf_image_alloc(cnf_image *img, int width, int height, int channels,
                           int has_alpha, cnf_error *err);
/* cnf_image_free - release the pixels; the struct is zeroed.  NULL is ok. */
void cnf_image_free(cnf_image *img);
/* cnf_image_plane - pointer to plane c. */
static inline float *cnf_image_plane(const cnf_image *img, int c)
{
    return img->data + (size_t)c * (size_t)img->width * (size_t)img->height;
}

/* cnf_input_kind - what a byte buffer holds. */
typedef enum cnf_input_kind {
    CNF_IN_AUTO,   /* sniff: an image format by its magic bytes, else a matrix */
    CNF_IN_IMAGE,  /* an image format (see cnf_formats), found by its content */
    CNF_IN_JSON,   /* numeric matrix: 1-D (one row), 2-D, or 3-D [c][row][col] */
    CNF_IN_CSV,    /* rows of comma-separated numbers */
    CNF_IN_TXT,    /* rows of whitespace-separated numbers, blank line between channels */
    CNF_IN_NPY     /* NumPy .npy: 2-D (H,W) or 3-D (C,H,W), C order; float32/64, (u)int8/16/32 */
} cnf_input_kind;

/* cnf_input_kind_for_path - the kind implied by a file name's extension (any
 * case): a matrix kind (.json/.csv/.txt/.npy), CNF_IN_IMAGE for an image
 * format's, CNF_IN_AUTO otherwise. */
cnf_input_kind cnf_input_kind_for_path(const char *path);

/* cnf_decode - decode `len` bytes into a new image.  Images give values
 * on the 0..255 scale: 8-bit samples as they are, 16-bit PNG and TIFF
 * samples / 257 and PNM samples x 255 / maxval (fractions kept); float
 * inputs keep their values: float32 TIFF samples as stored, Radiance HDR
 * its linear values x 255 (1.0, the format's display white, is 255), not
 * rounded, values above 255 kept.  An image whose metadata carries an EXIF
 * Orientation (JPEG APP1 "Exif", PNG eXIf, TIFF, WebP EXIF) is turned
 * upright, as ImageMagick's -auto-orient does (see cnf_decode_ex).
 * Matrices give their values as they are, with no alpha.  The pixel count
 * is checked against max_pixels from the header before any pixel buffer is
 * allocated.  `name` is only used in error messages.  On failure *img is
 * left empty.  Thread-safe. */
cnf_status cnf_decode(const unsigned char *buf, size_t len, cnf_input_kind kind,
                      const char *name, uint64_t max_pixels, cnf_image *img,
                      cnf_error *err);

/* Flags of the _ex forms of decoding (0: what the plain forms do). */
#define CNF_DECODE_NO_ORIENT 0x01u /* keep the stored pixel order: ignore EXIF Orientation */

/* cnf_decode_ex - cnf_decode with `flags` (CNF_DECODE_*; other bits are
 * reserved, pass 0).  Orientation 1..8 is the EXIF tag's: 1 as stored,
 * 2 mirrored left-right, 3 turned 180 degrees, 4 mirrored top-bottom,
 * 5 transposed, 6 turned 90 degrees clockwise, 7 transversed, 8 turned 90
 * degrees counter-clockwise; 5..8 swap width and height.  A missing,
 * unreadable or out-of-range tag counts as 1.  Turning needs a second
 * buffer the size of the image for the time of the turn. */
cnf_status cnf_decode_ex(const unsigned char *buf, size_t len, cnf_input_kind kind,
                         const char *name, uint64_t max_pixels, unsigned flags, cnf_image *img,
                         cnf_error *err);

/* cnf_input_orientation - the EXIF orientation (1..8) cnf_decode would
 * apply to this input: 1 for a format without one (or an empty input). */
int cnf_input_orientation(const unsigned char *buf, size_t len, cnf_input_kind kind);

/* cnf_probe - the shape cnf_decode() would give, from the header alone for
 * image formats (a matrix is parsed): upright, so width and height are
 * swapped for EXIF orientations 5..8.  Same limits and errors as
 * cnf_decode.  cnf_probe_ex: the shape cnf_decode_ex() would give with
 * `flags`. */
cnf_status cnf_probe(const unsigned char *buf, size_t len, cnf_input_kind kind, const char *name,
                     uint64_t max_pixels, int *width, int *height, int *channels, int *has_alpha,
                     cnf_error *err);
cnf_status cnf_probe_ex(const unsigned char *buf, size_t len, cnf_input_kind kind,
                        const char *name, uint64_t max_pixels, unsigned flags, int *width,
                        int *height, int *channels, int *has_alpha, cnf_error *err);

/* cnf_sniff - whether the FIRST `len` bytes of an input can start something
 * cnf_probe() reads, so that a front end can refuse a non-input (zero
 * bytes, junk, a file that is not what its name says) before reading the
 * rest.  `kind` and `name` are as for cnf_probe().  Returns CNF_OK when the
 * bytes can start a supported input or are too few to tell.  When it fails,
 * the status and error are exactly those cnf_probe() gives for every whole
 * input under 2 GiB that starts with these bytes, with any max_pixels of at
 * least 1.  It reads image and .npy headers and the lines of a
 * .txt/.csv up to its 64th value; it never refuses JSON.  Thread-safe. */
cnf_status cnf_sniff(const unsigned char *buf, size_t len, cnf_input_kind kind, const char *name,
                     cnf_error *err);

/* cnf_output_format - how a result is written. */
typedef enum cnf_output_format {
    CNF_OUT_NONE = 0,
    CNF_OUT_PNG, CNF_OUT_JPG, CNF_OUT_BMP, CNF_OUT_TGA, /* 8-bit, via cnf_map */
    CNF_OUT_NPY,  /* float32 (C,H,W), exact */
    CNF_OUT_TXT,  /* %.9g rows, blank line between channels */
    CNF_OUT_JSON, /* 2-D for one channel, else 3-D [c][row][col] */
    CNF_OUT_TIFF, /* 8 or 16 bits via cnf_map, or float32 exact (cnf_encode_opts.depth) */
    CNF_OUT_WEBP, /* 8-bit via cnf_map; lossless unless a quality is given */
    CNF_OUT_PNM   /* PGM (gray) or PPM (RGB), 8 or 16 bits via cnf_map, no alpha */
} cnf_output_format;

/* cnf_output_format_for_path - format from a file name's extension
 * (case-insensitive); CNF_OUT_NONE for an unknown one. */
cnf_output_format cnf_output_format_for_path(const char *path);
/* cnf_output_format_from_name - "png", "jpg", ... ; CNF_OUT_NONE if unknown. */
cnf_output_format cnf_output_format_from_name(const char *name);
/* cnf_output_format_is_8bit - 1 for the formats written through cnf_map
 * (PNG, JPEG, TIFF, WebP, BMP, TGA, PNM; see CNF_FORMAT_8BIT). */
int cnf_output_format_is_8bit(cnf_output_format f);

/* cnf_format_info - one supported file format, for front ends: help text,
 * "use .png, .jpg, ..." messages, which files a folder walk picks up, shell
 * completion.  Formats are listed in a fixed order (images first). */
#define CNF_FORMAT_READ   0x01u /* read by cnf_decode() */
#define CNF_FORMAT_WRITE  0x02u /* written by cnf_encode() */
#define CNF_FORMAT_8BIT   0x04u /* written through the 8-bit map (cnf_map_mode) */
#define CNF_FORMAT_EXACT  0x08u /* written with the exact float values */
#define CNF_FORMAT_MATRIX 0x10u /* a numeric matrix rather than an image */
#define CNF_FORMAT_16BIT  0x20u /* also written with 16-bit samples (depth 16) */
#define CNF_FORMAT_FLOAT  0x40u /* also written with exact float32 samples (CNF_DEPTH_FLOAT) */
#define CNF_FORMAT_MARK   0x80u /* written with cnnfilter's mark (cnf_image_mark) */
typedef struct cnf_format_info {
    const char *name;         /* "png", "jpeg", ... */
    const char *extensions;   /* space-separated, lower case; the first is the one written */
    const char *description;  /* one line, for help text */
    unsigned flags;           /* CNF_FORMAT_* */
    cnf_output_format output; /* what cnf_encode() takes; CNF_OUT_NONE if not written */
} cnf_format_info;
/* cnf_formats - the table of formats (static, never freed); *count_ret gets
 * its length.  Thread-safe. */
const cnf_format_info *cnf_formats(size_t *count_ret);
/* cnf_format_for_path - the format a file name's extension names (any
 * case), or NULL. */
const cnf_format_info *cnf_format_for_path(const char *path);
/* cnf_format_by_name - the format named `word` by its name or one of its
 * extensions (any case, no dot), or NULL. */
const cnf_format_info *cnf_format_by_name(const char *word);
/* cnf_image_format_of - the image format whose signature the first `len`
 * bytes of a file carry (a magic number, or for TGA a header every field of
 * which is valid), or NULL when no image format claims them: how batch mode
 * tells a photo from a text file named .png.  64 bytes are enough for every
 * format; fewer may give NULL.  Thread-safe. */
const cnf_format_info *cnf_image_format_of(const unsigned char *buf, size_t len);

/* cnf_map_mode - how real values become 8-bit pixels (cnnfilter(1), Mapping to 8 bits). */
typedef enum cnf_map_mode {
    CNF_MAP_CLAMP, CNF_MAP_ABS, CNF_MAP_OFFSET, CNF_MAP_NORMALIZE
} cnf_map_mode;

/* cnf_map_stats - what mapping did, for `-v`. */
typedef struct cnf_map_stats {
    double min, max;       /* value range over colour channels before mapping */
    uint64_t clipped_low;  /* values mapped below 0 and clamped to 0 */
    uint64_t clipped_high; /* values above 255 clamped to 255 */
    uint64_t values;
} cnf_map_stats;

/* cnf_image_range - the smallest and largest finite values of the colour
 * planes of img (alpha left out), what --map normalize stretches to 0..255;
 * infinities and NaN are left out of the range (normalize then maps +inf
 * to 255, -inf and NaN to 0).  With no finite value, *lo = +inf and
 * *hi = -inf.  Thread-safe. */
void cnf_image_range(const cnf_image *img, double *lo, double *hi);
/* cnf_map_to_u8 - map an image to interleaved 8-bit pixels (w*h*channels
 * bytes, caller-allocated).  Alpha planes are rounded and clamped only.
 * stats may be NULL. */
void cnf_map_to_u8(const cnf_image *img, cnf_map_mode mode, unsigned char *out,
                   cnf_map_stats *stats);

/* cnf_map_stats_init - empty stats (min +inf, max -inf) to accumulate into. */
void cnf_map_stats_init(cnf_map_stats *s);
/* cnf_map_row - map one row of `comp` channels (src[c]: w values; the last
 * is alpha when has_alpha) to interleaved 8-bit pixels (w * comp bytes at
 * out), accumulating into *stats (may be NULL).  For CNF_MAP_NORMALIZE, lo
 * and range are the value range of the whole image; otherwise unused. */
void cnf_map_row(const float *const *src, int comp, int has_alpha, int w, cnf_map_mode mode,
                 double lo, double range, unsigned char *out, cnf_map_stats *stats);

/* cnf_map_row16 - the same for 16-bit PNG: round_even(mapped value x 257)
 * clamped to 0..65535 (normalize maps the range to 0..65535), so a 16-bit
 * input (read as v / 257) comes back with its own values. */
void cnf_map_row16(const float *const *src, int comp, int has_alpha, int w, cnf_map_mode mode,
                   double lo, double range, uint16_t *out, cnf_map_stats *stats);

/* The PNG deflate level used when none is given: measured as the best
 * speed for files within 1.1x of what libpng writes at level 6. */
#define CNF_PNG_DEFAULT_LEVEL 2
#define CNF_PNG_DEFAULT_LEVEL_STR "2"

/* cnf_png_writer - a PNG written as its rows arrive, compressed on up to
 * `threads` threads with the same bytes for any count (png_writer.c). */
typedef int (*cnf_write_fn)(void *ctx, const void *data, size_t len); /* 0 = ok */
typedef struct cnf_png_writer cnf_png_writer;
/* comp 1..4 (gray, gray+alpha, RGB, RGBA); depth 8 or 16; level 0..9
 * (CNF_PNG_DEFAULT_LEVEL when -1); text: NULL or key, value, ..., NULL for
 * tEXt chunks. */
cnf_status cnf_png_writer_open(cnf_png_writer **w, int width, int height, int comp, int depth,
                               int level, int threads, const char *const *text,
                               cnf_write_fn write, void *write_ctx, cnf_error *err);
/* n rows of interleaved samples (depth 16: uint16_t, host byte order). */
cnf_status cnf_png_writer_rows(cnf_png_writer *w, const void *rows, size_t stride_bytes, int n,
                               cnf_error *err);
/* cnf_png_writer_finish - after all rows; fails if rows are missing. */
cnf_status cnf_png_writer_finish(cnf_png_writer *w, cnf_error *err);
/* cnf_png_writer_free - NULL is a no-op; fine after an error. */
void cnf_png_writer_free(cnf_png_writer *w);

/* cnf_encode_opts - how cnf_encode() writes an image.  Start from
 * cnf_encode_opts_init() and set what differs. */
#define CNF_DEPTH_FLOAT 32 /* cnf_encode_opts.depth: float32 samples, the exact values */
typedef struct cnf_encode_opts {
    cnf_map_mode map; /* 8- and 16-bit samples: how values are mapped (CNF_MAP_CLAMP) */
    /* 1..100, or -1 for the format's default: JPEG 90; WebP lossless (a
     * quality given makes WebP lossy at that quality).  Other formats
     * ignore it. */
    int quality;
    /* 8 (the default), 16 (formats with CNF_FORMAT_16BIT: the values
     * cnf_map_row16 gives, so an input read as v / 257 comes back exact) or
     * CNF_DEPTH_FLOAT (formats with CNF_FORMAT_FLOAT: the values as they
     * are, `map` unused).  Matrix formats ignore it. */
    int depth;
    /* cnnfilter's mark, written by the formats with CNF_FORMAT_MARK: the
     * program and version ("cnnfilter 0.1.0"; must start with "cnnfilter"
     * for cnf_image_mark() to know it) and a free comment (the options that
     * decided the pixels).  NULL: not written.  PNG: tEXt Software and
     * Comment; JPEG: one COM segment, software, a newline, comment; TIFF:
     * the Software and ImageDescription tags; WebP: an EXIF chunk with the
     * same two tags; PNM: two '#' header lines (line breaks in the texts
     * become spaces).  BMP and TGA carry no text. */
    const char *software;
    const char *comment;
} cnf_encode_opts;

/* cnf_encode_opts_init - map clamp, quality -1, depth 8, no mark. */
void cnf_encode_opts_init(cnf_encode_opts *o);

/* cnf_encode - encode an image into a new malloc'd buffer (*out, *out_len;
 * caller frees) as `opts` says (NULL: the defaults of cnf_encode_opts_init).
 * Fails with CNF_E_FORMAT when the format cannot hold the image (its
 * channel count, its size, alpha in PNM) or the depth asked for; `stats`
 * (may be NULL) gets what mapping did. */
cnf_status cnf_encode(const cnf_image *img, cnf_output_format fmt, const cnf_encode_opts *opts,
                      unsigned char **out, size_t *out_len, cnf_map_stats *stats,
                      cnf_error *err);

/* cnf_row_writer - an image file written as its rows arrive, into a file
 * descriptor, with the bytes cnf_encode() gives for the whole image (the
 * same checks, the same 8-bit mapping row by row, the same encoder
 * settings and mark), holding a few rows at a time (row_writer.c).  Written
 * by rows: .npy and TIFF (8, 16 or float samples) into a regular file (they
 * are written at offsets: .npy is channel by channel, TIFF's directory is
 * rewritten at the end); JPEG, PGM/PPM and a .txt of one channel into any
 * file descriptor (a pipe too).  Written whole only (cnf_encode): PNG (see
 * cnf_png_writer), WebP (its encoder takes the whole picture), BMP, TGA,
 * .json, a .txt of more than one channel (channel by channel, in lines of
 * any length), and any mapped image with CNF_MAP_NORMALIZE (its range is
 * needed before the first row).  A writer is used from one thread at a time. */
typedef struct cnf_row_writer cnf_row_writer;

/* cnf_row_writer_streams - 1 when cnf_row_writer_open() takes an image of
 * `channels` planes (alpha included) in format fmt with opts (NULL: the
 * defaults), into a file descriptor that can seek (`seekable` 1: a regular
 * file) or not (0: a pipe, a terminal); 0 when it must be written whole.
 * It does not check the image itself (open does, as cnf_encode would). */
int cnf_row_writer_streams(cnf_output_format fmt, const cnf_encode_opts *opts, int channels,
                           int seekable);

/* cnf_row_writer_open - start writing an image of width x height and
 * `channels` planes (the last one alpha when has_alpha) in format fmt, as
 * opts says (NULL: defaults), into fd: an empty file at offset 0, open for
 * reading and writing when the format seeks (cnf_row_writer_streams).  The
 * header goes out at once.  Fails as cnf_encode() would for an image of
 * that shape (CNF_E_FORMAT: the format cannot hold it), with CNF_E_USAGE
 * for a format or map written whole only, and CNF_E_IO (sys_errno set) when
 * a write fails.  opts->software and ->comment are read during this call
 * only; fd stays the caller's (never closed).  *w_ret is NULL on failure. */
cnf_status cnf_row_writer_open(cnf_row_writer **w_ret, cnf_output_format fmt, int width,
                               int height, int channels, int has_alpha,
                               const cnf_encode_opts *opts, int fd, cnf_error *err);
/* cnf_row_writer_rows - the next n rows, top to bottom: rows[i * channels
 * + c] is row i's plane c (width floats; planes as in cnf_image).  stats
 * (may be NULL; start it with cnf_map_stats_init) accumulates what mapping
 * did, or, for exact values (.npy, .txt, float TIFF), their range over the
 * colour planes and their count.  Exact formats refuse an infinity or NaN
 * (CNF_E_FORMAT naming its channel, row and column) before writing the
 * call's rows.  After a failure every later call fails: the file is
 * incomplete and should be removed. */
cnf_status cnf_row_writer_rows(cnf_row_writer *w, const float *const *rows, int n,
                               cnf_map_stats *stats, cnf_error *err);
/* cnf_row_writer_finish - after the last row: the end of the file (TIFF's
 * directory, JPEG's last scanlines and EOI).  Fails when rows are missing. */
cnf_status cnf_row_writer_finish(cnf_row_writer *w, cnf_error *err);
/* cnf_row_writer_free - NULL is a no-op; fine after an error; does not
 * close the file descriptor. */
void cnf_row_writer_free(cnf_row_writer *w);

/* cnf_image_mark - whether `len` bytes (a whole image file, or only its
 * start) are an image cnnfilter wrote: 1 if they are a PNG, JPEG, TIFF,
 * WebP or PNM whose software text starts with "cnnfilter" (see
 * cnf_encode_opts), else 0.  On 1 the comment text (the options) is copied
 * into comment_ret, NUL-terminated and truncated to cap bytes (empty when
 * the file has none); comment_ret may be NULL when cap is 0.  Reads only
 * within buf and allocates nothing, so it may be given any file.  The mark
 * is found in the first bytes of a PNG, JPEG, PNM and of a TIFF cnnfilter
 * wrote (64 KiB hold it for any image up to the pixel limit); WebP keeps
 * metadata after the image data (the format's chunk order), so a WebP
 * needs the whole file.  Thread-safe. */
int cnf_image_mark(const unsigned char *buf, size_t len, char *comment_ret, size_t cap);

/* ----------------------------------------------------------------- kernels */

/* cnf_kernel - an opaque, immutable kernel: weights [depth][h][w] (depth 1
 * for a 2-D kernel), a divisor, a bias and a name. */
typedef struct cnf_kernel cnf_kernel;

/* cnf_kernel_parse - a kernel from a spec: a built-in `NAME[:SIZE[:SIGMA]]`
 * or `gaussian::SIGMA` (size 2*ceil(3*SIGMA)+1),
 * an inline JSON matrix `[[...]]`, or a path to a kernel JSON file (read
 * here, at most CNF_MAX_JSON_BYTES).  A composite built-in (sobel, prewitt,
 * scharr) gives a composite kernel: one map of a layer, the magnitude of its
 * pair's two maps (see cnf_kernel_is_composite).  Errors about a built-in
 * or inline spec have subject CNF_SUBJECT_SPEC and `where` = `label` (the
 * caller's name for the spec, e.g. "--kernel"); inline JSON errors give line
 * 1 and the column; errors in a file name the file. */
cnf_status cnf_kernel_parse(const char *spec, const char *label, cnf_kernel **k_ret,
                            cnf_error *err);

/* cnf_kernel_from_json - a kernel from a kernel-file document, an object
 * {"weights": [[...]], ...} (cnnfilter(1), KERNELS); `name` names it in
 * errors, `default_name` names the kernel.  A bare matrix or 1-D "weights"
 * fail with CNF_E_USAGE: that shorthand is for inline specs (see
 * cnf_kernel_parse) and matrix inputs only. */
cnf_status cnf_kernel_from_json(const char *text, size_t len, const char *name,
                                const char *default_name, cnf_kernel **k_ret,
                                cnf_error *err);

/* cnf_kernel_composite - 1 if spec names a composite built-in (sobel,
 * prewitt, scharr); then *v_name and *h_name are its pair. */
int cnf_kernel_composite(const char *spec, const char **v_name, const char **h_name);

/* cnf_kernel_free - release a kernel.  NULL is a no-op. */
void cnf_kernel_free(cnf_kernel *k);

/* cnf_kernel_width/height/depth - shape. */
int cnf_kernel_width(const cnf_kernel *k);
int cnf_kernel_height(const cnf_kernel *k);
int cnf_kernel_depth(const cnf_kernel *k);
/* cnf_kernel_is_3d - 1 when the kernel has its own weights per input channel. */
int cnf_kernel_is_3d(const cnf_kernel *k);
/* cnf_kernel_is_composite - 1 for sobel, prewitt, scharr: two kernels whose
 * maps combine into one, sqrt(v^2 + h^2) (after bias, before the layer's
 * combine).  A composite has no weights of its own (cnf_kernel_weights is
 * NULL, it is not separable); cnf_kernel_part(k, 0 or 1) gives its pair
 * (NULL for a plain kernel). */
int cnf_kernel_is_composite(const cnf_kernel *k);
const cnf_kernel *cnf_kernel_part(const cnf_kernel *k, int i);
/* cnf_kernel_weights - the raw weights [depth][h][w] before the divisor,
 * after any flip. */
const double *cnf_kernel_weights(const cnf_kernel *k);
double cnf_kernel_divisor(const cnf_kernel *k);
double cnf_kernel_bias(const cnf_kernel *k);
/* cnf_kernel_name - the name for `{kernel}` templates: built-in spec with
 * ':' replaced by '-', the file stem, or "" for an inline matrix. */
const char *cnf_kernel_name(const cnf_kernel *k);

/* cnf_kernel_flipped - a new kernel rotated by 180 degrees. */
cnf_status cnf_kernel_flipped(const cnf_kernel *k, cnf_kernel **k_ret, cnf_error *err);

/* cnf_kernel_separable - 1 if a 2-D kernel is rank 1 (outer product of a
 * column and a row, up to 1e-12 relative); fills col[h] and row[w] when
 * both are non-NULL, with weights(i,j) == col[i] * row[j] (before the
 * divisor; integer weights give integer factors). */
int cnf_kernel_separable(const cnf_kernel *k, double *col, double *row);

/* cnf_kernel_describe - print the weights, sum, size and separability. */
void cnf_kernel_describe(const cnf_kernel *k, FILE *out);

/* cnf_builtin - the table of built-in kernels, for `cnnfilter kernels`. */
typedef struct cnf_builtin_info {
    const char *name;
    const char *usage;        /* e.g. "box[:N]" */
    const char *description;
} cnf_builtin_info;
/* cnf_builtins - the table; *count_ret gets its length.  The same read-only
 * table on every call; safe to call from several threads at once. */
const cnf_builtin_info *cnf_builtins(size_t *count_ret);

/* cnf_suggest - "did you mean": the words of `words` closest to `word` (case
 * ignored; insertions, deletions, substitutions and swaps of neighbours; at
 * most a third of its length apart, 1 to 3), at most three, quoted and joined
 * by " or " into buf (e.g. `'sobel_v' or 'sobel_h'`); returns how many, 0
 * when none is close. */
int cnf_suggest(const char *word, const char *const *words, size_t n, char *buf, size_t cap);

/* ------------------------------------------------------------------- plans */

typedef enum cnf_border {
    CNF_BORDER_ZERO, CNF_BORDER_REPLICATE, CNF_BORDER_REFLECT, CNF_BORDER_MIRROR,
    CNF_BORDER_WRAP
} cnf_border;

typedef enum cnf_channels {
    CNF_CH_AUTO, CNF_CH_GRAY, CNF_CH_RGB, CNF_CH_SUM
} cnf_channels;

typedef enum cnf_padding_kind { CNF_PAD_SAME, CNF_PAD_VALID, CNF_PAD_EXPLICIT } cnf_padding_kind;

typedef enum cnf_combine { CNF_COMBINE_NONE, CNF_COMBINE_MAGNITUDE, CNF_COMBINE_MAX,
                           CNF_COMBINE_SUM } cnf_combine;

typedef enum cnf_activation { CNF_ACT_NONE, CNF_ACT_RELU, CNF_ACT_ABS, CNF_ACT_LEAKY_RELU,
                              CNF_ACT_SIGMOID, CNF_ACT_TANH } cnf_activation;

typedef enum cnf_pool { CNF_POOL_NONE, CNF_POOL_MAX, CNF_POOL_AVG, CNF_POOL_MIN } cnf_pool;

/* cnf_vocab - the settings that are chosen by a word.  Each vocabulary's
 * words are in the order of its enum's values (cnf_border, cnf_channels,
 * cnf_combine, cnf_activation, cnf_pool, cnf_map_mode, and for padding
 * CNF_PAD_SAME, CNF_PAD_VALID).  Tables are static: thread-safe. */
typedef enum cnf_vocab {
    CNF_VOCAB_BORDER, CNF_VOCAB_CHANNELS, CNF_VOCAB_COMBINE, CNF_VOCAB_ACTIVATION,
    CNF_VOCAB_POOL, CNF_VOCAB_MAP, CNF_VOCAB_PADDING
} cnf_vocab;
/* cnf_vocab_words - the words, NULL-terminated (empty for an unknown v). */
const char *const *cnf_vocab_words(cnf_vocab v);
/* cnf_vocab_value - the enum value of `word`, or -1 when it is not a word of v. */
int cnf_vocab_value(cnf_vocab v, const char *word);
/* cnf_vocab_word - the word of `value`, or NULL when out of range. */
const char *cnf_vocab_word(cnf_vocab v, int value);
/* cnf_vocab_list - the words from index `from` on, joined by `sep`, into
 * buf (always terminated when size > 0; words that do not fit are left out).
 * Returns the length written. */
size_t cnf_vocab_list(cnf_vocab v, int from, const char *sep, char *buf, size_t size);

/* cnf_layer - one CLI layer (its stages in this order: convolve, scale/bias, combine,
 * activation, pool).  Fill with cnf_layer_init() then set fields. */
typedef struct cnf_layer {
    const cnf_kernel *const *kernels; /* n_kernels kernels, borrowed */
    int n_kernels;                    /* 0: no convolution (pooling alone) */
    cnf_padding_kind padding;
    int pad_h, pad_w;                 /* CNF_PAD_EXPLICIT: per side */
    cnf_border border;
    int stride_y, stride_x;
    int dilation;
    int flip;                         /* rotate every kernel once more */
    cnf_channels channels;
    int keep_alpha;
    double scale, bias;
    cnf_combine combine;
    cnf_activation activation;
    double activation_param;          /* leaky_relu slope */
    cnf_pool pool;
    int pool_size, pool_stride, pool_padding, pool_ceil;
} cnf_layer;

/* cnf_layer_init - the defaults of the command line (cnnfilter(1), OPTIONS). */
void cnf_layer_init(cnf_layer *l);

/* cnf_plan - an opaque, immutable execution plan for one input shape. */
typedef struct cnf_plan cnf_plan;

/* cnf_plan_limits - resource limits checked when planning. */
typedef struct cnf_plan_limits {
    uint64_t max_memory; /* bytes; 0 = no limit */
    int portable;        /* 1: only the portable convolution (the same pixels, slower;
                            rank-1 kernels with non-dyadic weights, which the fast
                            build runs as two float32 passes, then get the double sums) */
    uint64_t max_work;   /* multiply-adds of the whole run (cnf_plan_work); 0 = no limit */
    int threads;         /* the threads the plan will run on (cnf_plan_run's `threads`), which
                            the memory estimate counts; 0 = 2 */
} cnf_plan_limits;

/* cnf_plan_create - plan one layer for an input of the given shape.  Fails
 * with CNF_E_USAGE for inconsistent options (e.g. a 3-D kernel whose depth
 * does not match), CNF_E_EMPTY when no output pixel remains, CNF_E_TOO_BIG
 * when the memory estimate is over the limit.  With a memory or work limit
 * the plan is first made dry (see cnf_plan_create_dry) and checked, so a
 * plan over a limit is refused before any of its tables is built. */
cnf_status cnf_plan_create(const cnf_layer *layer, int width, int height, int channels,
                           int has_alpha, const cnf_plan_limits *limits,
                           cnf_plan **plan_ret, cnf_error *err);
/* cnf_plan_create_dry - the plan cnf_plan_create would make, to describe
 * only: the same stages, shapes, parameters, paths and memory and work
 * estimates (cnf_plan_explain prints the same text), made without what
 * only running needs (the convolutions' tap tables, 16 bytes per weight
 * and input map, and the dense layers' copies of their weights), so it
 * costs a few small records per stage whatever the estimate.  Its limits
 * are reported, not refused: cnf_plan_over_limit says which one the plan
 * is over, and cnf_plan_explain says it after the estimate.  It fails as
 * cnf_plan_create does for any other reason.  cnf_plan_run and
 * cnf_plan_stream refuse a dry plan (CNF_E_USAGE). */
cnf_status cnf_plan_create_dry(const cnf_layer *layer, int width, int height, int channels,
                               int has_alpha, const cnf_plan_limits *limits,
                               cnf_plan **plan_ret, cnf_error *err);
/* cnf_plan_is_dry - 1 for a plan made by cnf_plan_create_dry or
 * cnf_plan_create_pipeline_dry, which describes and never runs. */
int cnf_plan_is_dry(const cnf_plan *p);
/* cnf_plan_over_limit - the limit a dry plan's estimates are over:
 * CNF_LIMIT_MEMORY (cnf_plan_memory over max_memory, said first when both
 * are), CNF_LIMIT_WORK (cnf_plan_work over max_work), or CNF_LIMIT_NONE;
 * always CNF_LIMIT_NONE for a plan made to run (it would have been
 * refused). */
cnf_limit cnf_plan_over_limit(const cnf_plan *p);
/* cnf_plan_free - NULL is a no-op. */
void cnf_plan_free(cnf_plan *p);
/* cnf_plan_output_shape - the shape cnf_plan_run() will produce. */
void cnf_plan_output_shape(const cnf_plan *p, int *width, int *height, int *channels,
                           int *has_alpha);
/* cnf_plan_n_groups - how many output images the result holds: 1, or one
 * per kernel for a bank with combine none.  The result's colour planes are
 * ordered group-major (kernel 0's channels first); alpha, if any, is the
 * last plane and belongs to every group.  See cnf_image_group(). */
int cnf_plan_n_groups(const cnf_plan *p);
/* cnf_plan_memory - the memory estimate in bytes of a streamed run (what
 * cnf_plan_limits.max_memory is checked against).  A run works in bands of
 * rows: at least 32 rows and enough for 64 Ki values of the plan's widest
 * row (the input or a stage's output, width x planes), at most the tallest
 * height.  The estimate, for the threads the plan was made for
 * (cnf_plan_limits.threads; 2 without limits): each stage's input ring (its
 * rows, at most the input's height, x planes x (width x 4 bytes + 16 bytes
 * of row pointers), and a band's row pointers), from 2 threads the first
 * ring's 4 more bands of decoder run-ahead, the last stage's output band
 * (width x planes x 5 bytes a row: the floats and an 8-bit copy, and its
 * row pointers), each thread's scratch (a band is split in as many parts
 * as threads, at most 64, each with the largest scratch any stage needs
 * for its part: a wide convolution's padded rows and sums), and what
 * stages hold for the run (a dense layer's weights; the conv stages' tap
 * tables; the row tables of flatten and dense outputs, which have a plane
 * per value).  Whole input or output images, and the decoder's buffers
 * (cnf_decoder_memory), come on top. */
uint64_t cnf_plan_memory(const cnf_plan *p);
/* cnf_plan_memory_threads - cnf_plan_memory for a run on `threads` threads
 * (what cnf_plan_run or cnf_plan_stream with that count needs), whatever
 * the plan was made for.  Thread-safe. */
uint64_t cnf_plan_memory_threads(const cnf_plan *p, int threads);
/* cnf_plan_work - the estimated multiply-adds of a whole run: per output
 * value of a convolution, kh + kw on a separable path, else its nonzero
 * taps; one per output value of every other stage.  Checked against
 * cnf_plan_limits.max_work when the plan is made. */
uint64_t cnf_plan_work(const cnf_plan *p);
/* cnf_plan_explain - print each stage, its shapes and the size arithmetic,
 * then the parameters and the memory and work estimates; for a dry plan
 * over a limit, the estimate's line goes on ", over the memory limit of N
 * MiB: a run is refused" (or the work limit). */
void cnf_plan_explain(const cnf_plan *p, FILE *out);

/* cnf_stage_info - one stage of a plan, as cnf_plan_explain prints it.
 * The strings point into the plan: valid until cnf_plan_free. */
typedef struct cnf_stage_info {
    const char *kind; /* "luma", "conv", "combine", "activation", "maxpool", "avgpool",
                       * "minpool", "flatten", "dense", "softmax", "affine": the text before
                       * the ':' of the stage's explain line */
    int in_width, in_height, in_channels, in_alpha;
    int out_width, out_height, out_channels, out_alpha;
    uint64_t weights, biases;
    const char *path; /* how the stage computes, the text of its explain "path:" line
                       * (one line); "" when it has none */
} cnf_stage_info;
/* cnf_plan_n_stages - how many stages the plan runs (cnf_plan_explain's
 * numbered lines). */
int cnf_plan_n_stages(const cnf_plan *p);
/* cnf_plan_stage_info - fill *info with stage i (0-based, in the order the
 * stages run).  Fails with CNF_E_USAGE when i is not below
 * cnf_plan_n_stages(p).  Thread-safe (the plan is read only). */
cnf_status cnf_plan_stage_info(const cnf_plan *p, int i, cnf_stage_info *info, cnf_error *err);

/* cnf_plan_run - run the plan on `in` (whose shape must be the planned one)
 * with up to `threads` threads (row bands; the same pixels for any count).
 * *out receives a new image the caller frees with cnf_image_free(). */
cnf_status cnf_plan_run(const cnf_plan *p, const cnf_image *in, int threads,
                        cnf_image *out, cnf_error *err);

/* cnf_reader - an input being decoded row by row.  PNG (not interlaced) and
 * JPEG are decoded as rows are asked for, so a plan run holds only the rows
 * its stages still need; other formats and matrices are decoded whole at
 * open, behind the same interface.  Open checks the header (and max_pixels)
 * only; decoding errors surface from the run that reads the rows.  The
 * reader borrows `buf`: it must stay valid and unchanged until
 * cnf_reader_free.  The rows are upright (as cnf_decode gives them); an
 * input that must be turned is decoded whole.  cnf_reader_open_ex: with
 * the `flags` of cnf_decode_ex. */
typedef struct cnf_reader cnf_reader;
cnf_status cnf_reader_open(const unsigned char *buf, size_t len, cnf_input_kind kind,
                           const char *name, uint64_t max_pixels, cnf_reader **r_ret,
                           cnf_error *err);
cnf_status cnf_reader_open_ex(const unsigned char *buf, size_t len, cnf_input_kind kind,
                              const char *name, uint64_t max_pixels, unsigned flags,
                              cnf_reader **r_ret, cnf_error *err);
/* cnf_input_streams - 1 if cnf_reader_open would decode this input row by
 * row (JPEG, PNG without interlace, stored upright), 0 if it would decode
 * it whole.  cnf_input_streams_ex: the same for cnf_reader_open_ex. */
int cnf_input_streams(const unsigned char *buf, size_t len, cnf_input_kind kind);
int cnf_input_streams_ex(const unsigned char *buf, size_t len, cnf_input_kind kind,
                         unsigned flags);
/* cnf_decoder_memory - the bytes the decoder of this input holds at its
 * peak besides `buf` and the floats it decodes into (cnf_decode's image,
 * or a reader's rows), read from the header alone so that a caller can
 * check them before decoding: a progressive or multi-scan JPEG's
 * whole-image coefficients (128 bytes per 8 x 8 block of each component,
 * its blocks rounded up to the component's sampling factors: 1 GB for a
 * 13000 x 13000 4:4:4 image) and any JPEG's rows and tables; stb_image's
 * own copy of the pixels (BMP and TGA width x height x channels bytes; GIF
 * 9 bytes a pixel: its frame as RGBA, the background frame and a history
 * byte; PSD 4 bytes a pixel, 12 for a raw 16-bit one; Radiance HDR 12, RGB
 * floats); an interlaced PNG's RGBA copy (4 bytes a pixel, 8 at 16 bits);
 * a WebP's RGB(A) copy, and a lossless one's ARGB pixels (4 bytes a pixel
 * more); a TIFF's strip or tile (twice when compressed).  0 for a PNG
 * without interlace, PNM and matrices (what they hold beside the floats
 * does not grow with the image) and for an input whose header cannot be
 * read (cnf_probe says why).  A JPEG decoder is also held to this figure:
 * asking libjpeg for more fails as a decoding error.  An input decoded
 * whole (cnf_input_streams 0) adds its image, width x height x channels x
 * 4 bytes, twice while it is turned upright.  Thread-safe. */
uint64_t cnf_decoder_memory(const unsigned char *buf, size_t len, cnf_input_kind kind);
/* cnf_reader_shape - the shape the rows have (as cnf_decode would give). */
void cnf_reader_shape(const cnf_reader *r, int *width, int *height, int *channels,
                      int *has_alpha);
/* cnf_reader_rows - decode the reader's next n rows (from the first, in
 * order) into rows[i * planes + p], i < n, p < channels (planes at least
 * the channel count), each `width` floats.  After the last row the checks
 * of what follows the pixels run, so a corrupt end fails here.  Asking for
 * rows past the last is CNF_E_USAGE.  (cnf_plan_stream pulls rows itself:
 * a reader goes to one or the other.) */
cnf_status cnf_reader_rows(cnf_reader *r, int n, float *const *rows, int planes,
                           cnf_error *err);
/* cnf_reader_on_input_used - have fn(ctx, n) called when the reader is
 * done with the first n bytes of the buffer it was opened on: it never
 * reads them again.  Called on the thread that decodes the rows (inside
 * cnf_plan_stream), each time n has grown by at least 1 MiB and when the
 * last row is decoded (n = the whole length); a reader that decoded its
 * input whole at open calls it once, at once, with the whole length.  A
 * front end that mapped the input file can drop those pages from memory,
 * so that a large compressed file is never resident whole.  fn NULL: no
 * more calls. */
void cnf_reader_on_input_used(cnf_reader *r, void (*fn)(void *ctx, size_t n), void *ctx);
/* cnf_reader_free - NULL is a no-op. */
void cnf_reader_free(cnf_reader *r);

/* cnf_row_sink - receives the result rows [y0, y1), top to bottom, each row
 * exactly once: row y of plane p is rows[(y - y0) * planes + p] (w floats).
 * Return CNF_OK to go on; anything else stops the run with that status. */
typedef cnf_status (*cnf_row_sink)(void *ctx, int y0, int y1, const float *const *rows,
                                   int planes, cnf_error *err);

/* cnf_plan_stream - run the plan on the rows of `r` (whose shape must be the
 * planned one) and hand the result to `sink` as it is produced.  Between
 * stages only the rows still needed are kept (ring buffers sized from each
 * stage's reach; a wrap border needs the whole image and gets it).  Up to
 * `threads` threads share each band; the pixels are the same for any count.
 * The reader is consumed. */
cnf_status cnf_plan_stream(const cnf_plan *p, cnf_reader *r, int threads, cnf_row_sink sink,
                           void *sink_ctx, cnf_error *err);

/* ------------------------------------------------------ the 8-bit lane */

/* cnf_u8_conv - one small integer kernel applied to interleaved 8-bit rows,
 * each channel on its own, straight to 8-bit pixels: the same pixels as a
 * stride-1 'same' layer of that kernel through cnf_plan_run, mapped by
 * cnf_map_row with CNF_MAP_CLAMP or CNF_MAP_ABS (the sum divided by the
 * divisor, rounded half to even, clamped to 0..255 or its absolute value
 * up to 255), at a quarter of the bytes.  A kernel is eligible when it is
 * 2-D (not 3-D, not composite), at most 5 x 5, with integer weights, an
 * integer divisor of at most 16384 in magnitude, no bias, and its sums
 * on 8-bit data (255 x the sum of its positive weights, 255 x that of its
 * negative ones) below 2^24.  When both sums fit in int16 (at most
 * 32767), or a kernel without negative weights has sums that fit in 16
 * unsigned bits (with the divisor's rounding), they are made in 16-bit
 * lanes (AVX2, 32 values a step, where the CPU has it; else a portable
 * loop), otherwise in int32: the bound is checked from the weights, so no
 * sum can overflow.  Opaque and immutable once made: thread-safe. */
typedef struct cnf_u8_conv cnf_u8_conv;

/* cnf_u8_conv flags: CNF_U8_PORTABLE - never the AVX2 loop. */
#define CNF_U8_PORTABLE 0x1u

/* cnf_u8_conv_create - prepare kernel k (rotated once more when `flip`, as
 * cnf_layer.flip) for rows `width` pixels of `channels` (1 to 4) samples,
 * border rule `border`, map `map`.  A kernel or map the lane does not take
 * is not an error: *ret is NULL and CNF_OK is returned, so that the caller
 * runs the float path.  Fails with CNF_E_USAGE for a width below 1 or a
 * channel count outside 1..4, CNF_E_NOMEM. */
cnf_status cnf_u8_conv_create(const cnf_kernel *k, int flip, cnf_border border,
                              cnf_map_mode map, int width, int channels, unsigned flags,
                              cnf_u8_conv **ret, cnf_error *err);
/* cnf_u8_conv_free - NULL is a no-op. */
void cnf_u8_conv_free(cnf_u8_conv *c);
/* cnf_u8_conv_path - how it computes: "16-bit sums, AVX2", "16-bit sums,
 * portable" or "32-bit sums, portable" (a static string). */
const char *cnf_u8_conv_path(const cnf_u8_conv *c);
/* cnf_u8_conv_image - the whole image: `height` rows of width x channels
 * bytes at src (rows `src_stride` bytes apart) into dst (rows `dst_stride`
 * apart; not overlapping src), on up to `threads` threads (bands of rows;
 * the same bytes for any count).  Fails with CNF_E_USAGE for a height
 * below 1, CNF_E_NOMEM. */
cnf_status cnf_u8_conv_image(const cnf_u8_conv *c, const unsigned char *src, size_t src_stride,
                             int height, unsigned char *dst, size_t dst_stride, int threads,
                             cnf_error *err);

/* cnf_plan_u8_conv - the 8-bit lane of plan p for map `map`, or NULL when
 * p is not one layer the lane can run: a single convolution of one
 * eligible kernel (see cnf_u8_conv) per channel, stride 1, dilation 1,
 * 'same' padding, any border but wrap (whose first rows read the last),
 * scale 1, bias 0, no activation or pooling, an input without alpha,
 * made without cnf_plan_limits.portable.  A dry plan has it too (to say
 * so).  Valid until cnf_plan_free. */
const cnf_u8_conv *cnf_plan_u8_conv(const cnf_plan *p, cnf_map_mode map);

/* cnf_reader_u8 - 1 when reader r can give its rows as the 8-bit samples
 * they were stored as (cnf_reader_rows_u8): an 8-bit PNG (gray or RGB, no
 * palette or transparency, not interlaced) or a gray or RGB JPEG, read
 * row by row; 0 otherwise (the floats only). */
int cnf_reader_u8(const cnf_reader *r);
/* cnf_reader_rows_u8 - cnf_reader_rows for such a reader: the next n rows,
 * row i interleaved (width x channels bytes) at rows[i].  CNF_E_USAGE
 * when the reader has no 8-bit rows or n goes past the last row. */
cnf_status cnf_reader_rows_u8(cnf_reader *r, int n, unsigned char *const *rows, cnf_error *err);

/* cnf_u8_row_sink - receives 8-bit result rows [y0, y1), top to bottom,
 * each exactly once: row y is width x channels interleaved bytes at
 * rows + (y - y0) * stride. */
typedef cnf_status (*cnf_u8_row_sink)(void *ctx, int y0, int y1, const unsigned char *rows,
                                      size_t stride, cnf_error *err);
/* cnf_plan_stream_u8 - run plan p by its 8-bit lane for map `map` (which
 * cnf_plan_u8_conv must give) on the 8-bit rows of r (cnf_reader_u8 must
 * be 1), handing 8-bit rows to `sink`: the bytes cnf_plan_stream's rows
 * mapped by cnf_map_row would be.  It holds a band of output rows and the
 * input rows they read (about (band + 2 x kernel height) x width x
 * channels bytes), under cnf_plan_memory's float estimate.  Up to
 * `threads` threads share each band; the bytes are the same for any
 * count.  CNF_E_USAGE for a plan or reader without the lane.  The reader
 * is consumed. */
cnf_status cnf_plan_stream_u8(const cnf_plan *p, cnf_map_mode map, cnf_reader *r, int threads,
                              cnf_u8_row_sink sink, void *sink_ctx, cnf_error *err);

/* cnf_image_group - copy group g of n_groups (see cnf_plan_n_groups) of
 * `all` into a new image *out (its colour planes plus alpha if any). */
cnf_status cnf_image_group(const cnf_image *all, int n_groups, int g, cnf_image *out,
                           cnf_error *err);

/* --------------------------------------------------------------- pipelines */

/* cnf_pipeline - an opaque, immutable multi-layer pipeline (cnnfilter(1), PIPELINES). */
typedef struct cnf_pipeline cnf_pipeline;

/* cnf_pipeline_parse - parse a pipeline document {"layers": [...]}.  `name`
 * names the document in errors (with line and column); kernel file and
 * .npy weight file paths inside it are looked up relative to `base_dir`
 * first (may be NULL), then as given.  At most CNF_MAX_LAYERS layers,
 * CNF_MAX_PIPELINE_KERNELS kernels of depth CNF_MAX_PIPELINE_DEPTH per conv
 * layer and CNF_MAX_DENSE_WEIGHTS weights per dense layer.  The weights it
 * makes are bounded by CNF_DEFAULT_MAX_MEMORY: see cnf_pipeline_parse_ex. */
cnf_status cnf_pipeline_parse(const char *text, size_t len, const char *name,
                              const char *base_dir, cnf_pipeline **p_ret, cnf_error *err);
/* cnf_pipeline_parse_ex - cnf_pipeline_parse with the memory the pipeline's
 * weights may take: at most max_memory bytes (0: no limit), counting each
 * kernel (its weights as doubles and its own record), each time a kernel
 * file is named, .npy conv weights as doubles and dense weights and biases
 * as float32.  A short text can stand for far more memory ("box:255" is
 * half a MiB of weights), so what is counted is counted before it is made
 * where its size is known first: every built-in spec of the document before
 * any layer is read (a document whose specs alone are over the limit fails
 * having made nothing), a .npy file from its header before its data is
 * read (its data counts too while it is read).  Over the limit: CNF_E_TOO_BIG
 * (err.limit CNF_LIMIT_MEMORY) at the line and column where the count
 * crosses it.  Plans made from the pipeline check their own memory
 * (cnf_plan_limits.max_memory) on top. */
cnf_status cnf_pipeline_parse_ex(const char *text, size_t len, const char *name,
                                 const char *base_dir, uint64_t max_memory, cnf_pipeline **p_ret,
                                 cnf_error *err);
/* cnf_pipeline_free - NULL is a no-op. */
void cnf_pipeline_free(cnf_pipeline *p);
/* cnf_pipeline_weight_bytes - the memory its weights take, as the parse
 * counted them against its limit (held while the pipeline lives, beside
 * what its plans need). */
uint64_t cnf_pipeline_weight_bytes(const cnf_pipeline *p);
/* cnf_pipeline_n_layers - number of layers. */
int cnf_pipeline_n_layers(const cnf_pipeline *p);
/* cnf_pipeline_keep - keep the first n layers only (the others freed), e.g. a
 * trained net's feature extractor; its classes go too, since they name the
 * last layer's outputs.  CNF_E_USAGE (subject "layers") unless 1 <= n <=
 * the layers there are; the pipeline is unchanged then. */
cnf_status cnf_pipeline_keep(cnf_pipeline *p, int n, cnf_error *err);

/* cnf_plan_create_pipeline - plan a pipeline for an input shape.  Input alpha
 * is dropped (the outputs are feature maps).  Errors name the layer, with the
 * pipeline's name and the layer's line and column. */
cnf_status cnf_plan_create_pipeline(const cnf_pipeline *pl, int width, int height, int channels,
                                    int has_alpha, const cnf_plan_limits *limits,
                                    cnf_plan **plan_ret, cnf_error *err);
/* cnf_plan_create_pipeline_dry - the plan of a pipeline to describe only,
 * as cnf_plan_create_dry is for one layer. */
cnf_status cnf_plan_create_pipeline_dry(const cnf_pipeline *pl, int width, int height,
                                        int channels, int has_alpha,
                                        const cnf_plan_limits *limits, cnf_plan **plan_ret,
                                        cnf_error *err);

/* ---------------------------------------------------------------- learning
 *
 * Pipelines may hold learned layers (flatten, dense, softmax, affine) and
 * conv kernels given by shape only; cnf_train learns their weights.  A
 * pipeline whose weights are not all there (kernels by shape, dense layers
 * by their units) is refused by every use but cnf_train: check it with
 * cnf_pipeline_check_weights.  cnf_train is the one call that changes a
 * pipeline (its weights, in place); no plan or net may use the pipeline
 * while it runs, and plans made before it keep the old weights. */

/* Limits of a pipeline's learned layers: wider than a hand-written bank. */
#define CNF_MAX_PIPELINE_KERNELS 1024   /* kernels of one pipeline conv layer */
#define CNF_MAX_PIPELINE_DEPTH 1024     /* input channels a pipeline conv kernel reads */
#define CNF_MAX_DENSE_WEIGHTS (1u << 24) /* weights of one dense layer */

/* cnf_pipeline_check_weights - CNF_OK when every layer has its weights, else
 * CNF_E_USAGE naming the first layer without, with where = the pipeline's
 * name and no line: `layer 5 (dense) has no weights: train it first or give
 * "weights"`. */
cnf_status cnf_pipeline_check_weights(const cnf_pipeline *p, cnf_error *err);

/* cnf_pipeline_classes - the names of the outputs (top-level "classes"):
 * *n_ret of them, or NULL and 0.  Owned by the pipeline. */
const char *const *cnf_pipeline_classes(const cnf_pipeline *p, int *n_ret);
/* cnf_pipeline_set_classes - replace the names (copied); n = 0 removes them. */
cnf_status cnf_pipeline_set_classes(cnf_pipeline *p, const char *const *names, int n,
                                    cnf_error *err);

/* cnf_pipeline_to_json - the pipeline as a document that cnf_pipeline_parse
 * reads back to the same layers and the same float32 weights: every weight
 * and bias written out (%.9g; a double that needs them, %.17g), conv kernels
 * with divisor 1 and any flip folded into their weights, "classes" when it
 * has them, and `training` (the text of a JSON object, or NULL) as a
 * top-level "training" key.  *out is malloc'd (the caller frees it) and ends
 * with a newline.  Fails with CNF_E_USAGE when `training` is not one JSON
 * object, CNF_E_LIMIT (err.limit JSON) when the document would be over
 * CNF_MAX_JSON_BYTES (it could not be read back). */
cnf_status cnf_pipeline_to_json(const cnf_pipeline *p, const char *training, char **out,
                                size_t *len, cnf_error *err);

/* cnf_dataset - n samples of one shape, held by the caller.  Sample i starts
 * at i * channels * height * width in `u8` (8-bit images, values 0..255) or
 * in `f32` (anything else): exactly one of the two is set.  A sample is
 * planar like cnf_image (plane c, then rows).  labels: n class indices, or
 * NULL for unlabelled data. */
typedef struct cnf_dataset {
    int n;
    int width, height, channels;
    const unsigned char *u8;
    const float *f32;
    const int *labels;
} cnf_dataset;

typedef enum cnf_optimizer { CNF_OPT_SGD, CNF_OPT_ADAM } cnf_optimizer;
typedef enum cnf_loss { CNF_LOSS_CROSS_ENTROPY, CNF_LOSS_MSE } cnf_loss;

/* cnf_epoch_stats - the figures of one epoch.  loss and accuracy are the
 * mean over the epoch's samples of the forward pass that precedes each
 * batch's update (accuracy: argmax, the first maximum on ties); the val_
 * figures use the weights at the epoch's end. */
typedef struct cnf_epoch_stats {
    int epoch, epochs; /* from 1 */
    double loss, accuracy;
    int has_val;
    double val_loss, val_accuracy;
    double seconds;
    long samples, val_samples;
} cnf_epoch_stats;

/* cnf_train_options - fill with cnf_train_options_init (the defaults of
 * cnnfilter(1), train) and change what differs. */
typedef struct cnf_train_options {
    int epochs;                 /* 1 */
    int batch;                  /* 32; the last batch of an epoch may be smaller */
    double lr;                  /* 0.01 */
    cnf_optimizer optimizer;    /* SGD */
    double momentum;            /* 0 (SGD) */
    double weight_decay;        /* 0: added to the gradient (not AdamW) */
    double beta1, beta2, eps;   /* Adam: 0.9, 0.999, 1e-8, bias-corrected */
    cnf_loss loss;              /* cross entropy: the net must end with softmax */
    uint64_t seed;              /* 0: initialisation and shuffling */
    int shuffle;                /* 1: a seeded permutation per epoch; 0: data order */
    double val_fraction;        /* 0: none; else the last fraction after a seeded shuffle */
    const cnf_dataset *val;     /* a separate labelled set, or NULL */
    int threads;                /* 1; the weights are the same bytes for any count */
    uint64_t max_memory;        /* 0: no limit; else checked before anything is allocated */
    /* Called on the caller's thread: progress within an epoch (may be NULL)
     * and at each epoch's end (NULL, or non-zero to stop after that epoch). */
    void (*progress)(void *ctx, int epoch, long done, long total);
    int (*epoch_end)(void *ctx, const cnf_epoch_stats *s);
    void *ctx;
} cnf_train_options;
void cnf_train_options_init(cnf_train_options *o);

/* cnf_train_memory - the bytes cnf_train would need for a pipeline on inputs
 * of this shape (weights, gradients, optimizer state, one batch's
 * activations per thread), not counting the dataset: what a caller adds to
 * the dataset's bytes to check --max-memory before loading anything. */
cnf_status cnf_train_memory(const cnf_pipeline *p, int width, int height, int channels,
                            const cnf_train_options *o, uint64_t *bytes, cnf_error *err);

/* cnf_train - learn the pipeline's weights from the labelled `data`:
 * missing weights are drawn first (uniform in +-1/sqrt(fan_in), from the
 * seeded generator), frozen layers ("trainable": false) stay as they are.
 * Deterministic: the same data, options and seed give the same weights,
 * bytes for bytes, for any number of threads.  *last (may be NULL) gets the
 * last epoch's figures.  Fails with CNF_E_USAGE for a net that cannot learn
 * from this data (cross entropy without a final softmax, a shape the layers
 * do not fit), CNF_E_DECODE for bad labels (out of the net's outputs),
 * CNF_E_TOO_BIG (err.limit MEMORY) over max_memory; on failure the
 * pipeline's weights are unspecified. */
cnf_status cnf_train(cnf_pipeline *p, const cnf_dataset *data, const cnf_train_options *o,
                     cnf_epoch_stats *last, cnf_error *err);

/* cnf_net - a pipeline with all its weights, ready to run forward on many
 * inputs of one shape: the training engine's forward pass (the same values
 * as a plan's, to float32 rounding).  Read-only after creation: one net may
 * run on several threads at once.  It keeps its own copy of the weights. */
typedef struct cnf_net cnf_net;
cnf_status cnf_net_create(const cnf_pipeline *p, int width, int height, int channels,
                          uint64_t max_memory, cnf_net **net_ret, cnf_error *err);
/* cnf_net_shape - the result's shape per sample; returns its value count. */
int cnf_net_shape(const cnf_net *n, int *channels, int *height, int *width);
/* cnf_net_memory - the bytes of the net and of one sample's activations. */
uint64_t cnf_net_memory(const cnf_net *n);
/* cnf_net_forward - the results of samples [first, first + count) of data
 * (its shape must be the net's) into out (count x cnf_net_shape() floats),
 * on up to `threads` threads; the same values for any count. */
cnf_status cnf_net_forward(const cnf_net *n, const cnf_dataset *data, int first, int count,
                           int threads, float *out, cnf_error *err);
/* cnf_net_free - NULL is a no-op. */
void cnf_net_free(cnf_net *n);

/* cnf_learn_options - cnnfilter(1), learn: the kernel (and bias) that best
 * maps an input to a target under this geometry, by linear least squares. */
typedef struct cnf_learn_options {
    int kh, kw;           /* the kernel's size */
    int bias;             /* also fit a bias */
    cnf_layer geometry;   /* padding, border, stride, dilation; channels auto, gray or sum */
    int target_8bit;      /* the target is an 8-bit image: its 0 and 255 may be clipped */
    int keep_clipped;     /* with target_8bit: keep those values in the fit anyway */
    const char *input_name, *target_name; /* name the two images in errors (may be NULL) */
} cnf_learn_options;

/* cnf_learn_stats - how well the kernel fits. */
typedef struct cnf_learn_stats {
    double rms, max_residual; /* over the values fitted */
    uint64_t used, left_out;  /* target values fitted / left out as clipped */
    double condition;         /* the system's condition number estimate */
} cnf_learn_stats;

/* cnf_learn_kernel - the kernel w (and bias b) minimising the sum over every
 * output value of (conv(in, w) + b - target)^2, solved in double precision.
 * conv is the filter's cross-correlation under o->geometry (padding, border,
 * stride, dilation: the rules of cnf_plan_create; its other fields are not
 * read).  Channels (alpha planes of both images are ignored): CNF_CH_AUTO,
 * one 2-D kernel shared by every channel, the target having the input's
 * colour channels; CNF_CH_GRAY, one 2-D kernel on luma (an RGB input or
 * target converted as the filter does); CNF_CH_SUM, a 3-D kernel over the
 * input's channels against a one-channel target; CNF_CH_RGB is CNF_E_USAGE.
 * The target must have the size the geometry gives (else CNF_E_DECODE with
 * both sizes in the message); other channel counts and non-finite values
 * are CNF_E_DECODE naming the image; no output pixels is CNF_E_EMPTY.  With
 * target_8bit and not keep_clipped, target values 0 and 255 are left out.
 * An input with too little variation to tell the kernel (fewer values than
 * unknowns, or a condition number of the column-scaled normal equations
 * over 1e10: the rule in cnnfilter(1), learn) fails with CNF_E_DECODE,
 * never with a wrong kernel.  At most 4096 unknowns (taps x depth + bias)
 * and sides up to CNF_MAX_KERNEL_SIDE: else CNF_E_LIMIT (setting "size",
 * limit CNF_LIMIT_KERNEL).  Errors about an image name it by
 * o->input_name / o->target_name.  *k_ret is a new kernel named "learned"
 * (2-D, or 3-D for channels sum) with divisor 1 and the fitted bias (0
 * without o->bias); stats (may be NULL) is filled as far as the fit got.
 * Single-threaded; time about unknowns^2 / 2 multiply-adds per value. */
cnf_status cnf_learn_kernel(const cnf_image *in, const cnf_image *target,
                            const cnf_learn_options *o, cnf_kernel **k_ret,
                            cnf_learn_stats *stats, cnf_error *err);

/* cnf_kernel_to_json - a kernel file document that cnf_kernel_parse reads
 * back to the same weights (%.17g), divisor and bias: {"name", "weights"
 * (2-D, or 3-D [depth][h][w] for a 3-D kernel), "divisor" (when not 1),
 * "bias"}, the weights as cnf_kernel_weights gives them (any flip folded
 * in); a name longer than a kernel file takes (256) is left out.  *out is
 * malloc'd, NUL-terminated, ends with a newline; *len excludes the NUL.
 * Fails with CNF_E_USAGE for a composite kernel (no weights of its own). */
cnf_status cnf_kernel_to_json(const cnf_kernel *k, char **out, size_t *len, cnf_error *err);

#ifdef __cplusplus
}
#endif
#endif
