/* internal.h - shared helpers of the library: errors, checked size math, stages. */
#ifndef CNF_INTERNAL_H
#define CNF_INTERNAL_H

#include "cnnfilter.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define CNF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CNF_PRINTF(a, b)
#endif

/* cnf__map_to_u16 - cnf_map_to_u8's 16-bit form: the whole image mapped by
 * cnf_map_row16 to interleaved samples (map.c). */
void cnf__map_to_u16(const cnf_image *img, cnf_map_mode mode, uint16_t *out,
                     cnf_map_stats *stats);

/* cnf__rle_deflate - raw deflate of in[0..n) as literals and runs of one
 * repeated byte, a Huffman code per block (deflate_rle.c), into out (at
 * least cnf__rle_deflate_bound(n) bytes).  Not `last`: ends byte-aligned
 * with an empty stored block, so pieces concatenate into one stream.
 * Returns the bytes written; 0 when out of memory (never for n = 0). */
size_t cnf__rle_deflate(const unsigned char *in, size_t n, int last, unsigned char *out);
size_t cnf__rle_deflate_bound(size_t n);

/* cnf__fail - fill err (if any) and return status.  `where` (may be NULL)
 * is a file name: subject CNF_SUBJECT_FILE when not empty. */
cnf_status cnf__fail(cnf_error *err, cnf_status st, const char *where, const char *fmt, ...)
    CNF_PRINTF(4, 5);
/* cnf__fail_at - like cnf__fail with a JSON line and column. */
cnf_status cnf__fail_at(cnf_error *err, cnf_status st, const char *where, int line, int col,
                        const char *fmt, ...) CNF_PRINTF(6, 7);
/* cnf__fail_setting - an error about a layer setting ("channels", "kernel",
 * ...): subject CNF_SUBJECT_SETTING; the front end names its own option. */
cnf_status cnf__fail_setting(cnf_error *err, cnf_status st, const char *setting, const char *fmt,
                             ...) CNF_PRINTF(4, 5);
/* cnf__fail_limit - like cnf__fail, recording which limit was hit. */
cnf_status cnf__fail_limit(cnf_error *err, cnf_status st, cnf_limit limit, const char *where,
                           const char *fmt, ...) CNF_PRINTF(5, 6);
/* cnf__fail_errno - like cnf__fail after a failed system call with errno e
 * (the message should end with strerror(e) where that helps the reader). */
cnf_status cnf__fail_errno(cnf_error *err, cnf_status st, const char *where, int e,
                           const char *fmt, ...) CNF_PRINTF(5, 6);

/* cnf__error_names_file - make a filled err name file `name` (subject FILE),
 * for errors from calls that did not know the file. */
void cnf__error_names_file(cnf_error *err, const char *name);

/* Checked size arithmetic: return false on overflow. */
static inline bool cnf__mul(size_t a, size_t b, size_t *r)
{
    return !__builtin_mul_overflow(a, b, r);
}
static inline bool cnf__add(size_t a, size_t b, size_t *r)
{
    return !__builtin_add_overflow(a, b, r);
}
static inline bool cnf__mul3(size_t a, size_t b, size_t c, size_t *r)
{
    size_t t;
    return cnf__mul(a, b, &t) && cnf__mul(t, c, r);
}

/* cnf__json_matrix - decode a numeric JSON matrix (1-D row, 2-D, 3-D) into
 * an image with no alpha (numarray.c). */
cnf_status cnf__json_matrix(const char *text, size_t len, const char *name,
                            uint64_t max_pixels, cnf_image *img, cnf_error *err);

/* cnf_buf - a growable byte buffer; `failed` latches an allocation failure
 * so writers can append without checking each call. */
typedef struct cnf_buf {
    unsigned char *data;
    size_t len, cap;
    int failed;
} cnf_buf;
void cnf__buf_put(cnf_buf *b, const void *p, size_t n);

/* The inside of a cnf_reader: codec.c opens it; a codec's open_reader
 * (codec.h) streams rows, everything else is decoded whole into `whole`. */
struct cnf_reader {
    int w, h, c, alpha;
    cnf_image whole; /* data != NULL: decoded whole at open */
    int next;        /* the next row `rows` decodes */
    /* Decode the next n rows into rows[i * planes + p] (i < n, p < c). */
    cnf_status (*rows)(cnf_reader *r, int n, float *const *rows, int planes, cnf_error *err);
    /* The same rows as the 8-bit samples they hold, interleaved (c a pixel)
     * at rows[i]; NULL when the reader's values are not its samples as
     * they are (cnf_reader_u8). */
    cnf_status (*rows_u8)(cnf_reader *r, int n, unsigned char *const *rows, cnf_error *err);
    /* After the last row: the checks of what follows the pixels.  May be NULL. */
    cnf_status (*finish)(cnf_reader *r, cnf_error *err);
    void (*destroy)(cnf_reader *r);
    void *impl;
    /* The offset of the input buffer before which the reader never reads
     * again (its rows need only what follows).  NULL: not known (the
     * buffer is needed until the reader is freed). */
    size_t (*used)(const cnf_reader *r);
    size_t len; /* the input buffer's length */
    /* cnf_reader_on_input_used's callback, and the offset last told. */
    void (*on_used)(void *ctx, size_t n);
    void *on_used_ctx;
    size_t used_told;
};
/* cnf__kernel_new - allocate a kernel with zeroed weights. */
cnf_kernel *cnf__kernel_new(int w, int h, int depth);

struct cnf_kernel {
    int w, h, depth;
    int is3d;
    double divisor;
    double bias;
    double *weights; /* depth * h * w; NULL for a composite */
    char name[260];
    /* A composite (sobel, prewitt, scharr): its _v and _h kernels, whose two
     * maps become one by magnitude, sqrt(v^2 + h^2).  NULL otherwise. */
    struct cnf_kernel *pair[2];
};

/* cnf__kernel_composite - a composite kernel named `name` owning v and h
 * (freed here on failure).  NULL when out of memory. */
cnf_kernel *cnf__kernel_composite(const char *name, cnf_kernel *v, cnf_kernel *h);
/* cnf__kernel_add_bias - add b to a kernel's bias (to both maps of a
 * composite, as a layer bias would be). */
void cnf__kernel_add_bias(cnf_kernel *k, double b);

/* A pipeline layer (pipeline.c parses, plan.c plans, the training engine
 * reads and trains, pipeline_json.c writes). */
typedef enum cnf_layer_kind {
    CNF_LAYER_CONV, CNF_LAYER_ACT, CNF_LAYER_POOL, CNF_LAYER_COMBINE,
    CNF_LAYER_FLATTEN, /* C x H x W -> (C*H*W) x 1 x 1, in (c, y, x) order */
    CNF_LAYER_DENSE,   /* y = W x + b over the flattened input -> units x 1 x 1 */
    CNF_LAYER_SOFTMAX, /* across the channels at each position */
    CNF_LAYER_AFFINE   /* y = scale * x + shift for every value */
} cnf_layer_kind;

typedef struct cnf_pl_layer {
    cnf_layer_kind kind;
    cnf_layer layer; /* conv: geometry + kernels; act/pool/combine: that field */
    /* conv: layer.n_kernels kernels (owned) and the borrowed view the
     * layer's `kernels` points at; both malloc'd, NULL while the layer is
     * given by shape only (shape_only). */
    cnf_kernel **kernels;
    const cnf_kernel **kptr;
    int line, col;
    char type[16];
    /* Learning, conv and dense.  A conv layer given by shape ("kernels":
     * {"count", "size"}) has shape_only set, `count` kernels of kh x kw over
     * all its input channels, and no kernels until cnf_train makes them. */
    int shape_only;
    int count, kh, kw;
    int no_bias; /* "bias": false: no bias term at all */
    int frozen;  /* "trainable": false: training leaves the weights as they are */
    /* dense: `units` outputs over `in` inputs (0 until known: the input's
     * C*H*W); w [units][in] row-major as PyTorch's nn.Linear.weight, b
     * [units]; malloc'd, NULL until initialised (b also NULL with no_bias). */
    int units, in;
    float *w, *b;
    /* affine: y = scale * x + shift. */
    double scale, shift;
} cnf_pl_layer;

struct cnf_pipeline {
    int n;
    cnf_pl_layer *layers;
    char name[512];
    char **classes; /* "classes": n_classes malloc'd names, or NULL */
    int n_classes;
    /* The document's own "name" and "description" strings (malloc'd, NULL when absent), kept
     * so that cnf_pipeline_to_json writes them back. */
    char *doc_name, *description;
    uint64_t weight_bytes; /* its weights, as the parse counted them */
};

/* Border index mapping for one axis of length n: the source index of
 * virtual index i, or -1 for a zero border.  Used per row and per padded
 * column, never per pixel in an inner loop. */
int cnf__border_index(cnf_border b, int i, int n);

/* cnf__huge_pages - advise the kernel to back the whole 2 MiB pages of
 * the n bytes at p with huge pages, for a buffer of at least 4 MiB not yet
 * filled: a page fault per 2 MiB instead of 512 (each costs microseconds,
 * tens in a virtual machine: 4,400 of them were a sixth of a 16-megapixel
 * filter's run).  Linux with transparent huge pages on "madvise" or
 * "always"; elsewhere, and for smaller buffers, nothing (common.c). */
void cnf__huge_pages(void *p, size_t n);

/* cnf__strdup - a malloc'd copy of s ("" for NULL); NULL when out of memory. */
char *cnf__strdup(const char *s);

/* cnf__round_even - round half to even, NaN to 0. */
double cnf__round_even(double v);

#endif
