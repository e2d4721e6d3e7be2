/* input.h - reading an input file (or standard input) into memory, refusing non-inputs from their first bytes. */
#ifndef CNF_CLI_INPUT_H
#define CNF_CLI_INPUT_H

#include "cnnfilter.h"
#include "mapfile.h"

#include <stdint.h>

/* An early look at the first bytes of an input: returns CNF_OK to read on,
 * or fills err and fails (the rest is never read). */
typedef cnf_status (*input_check_fn)(const unsigned char *start, size_t len, const char *path,
                                     void *ctx, cnf_error *err);

/* read_input - the whole file (or stdin for "-") into a malloc'd buffer,
 * refusing more than max_bytes (and 2 GiB, the most a decoder takes).
 * `check` (may be NULL) sees the first INPUT_CHECK_BYTES bytes (or the whole
 * input when shorter) before the rest is read, so that /dev/zero or a large
 * file of junk fails at once.  Errors name the path (EISDIR: "is a
 * directory"). */
#define INPUT_CHECK_BYTES 65536
cnf_status read_input(const char *path, uint64_t max_bytes, input_check_fn check, void *ctx,
                      unsigned char **buf, size_t *len, cnf_error *err);

/* input_bytes - an input's bytes: a regular file of at least
 * INPUT_MAP_BYTES mapped (map.base set; its pages leave memory as the
 * decoder moves past them, see mapfile.h), else a malloc'd copy. */
#define INPUT_MAP_BYTES ((size_t)1 << 20)
typedef struct input_bytes {
    unsigned char *buf;
    size_t len;
    mapped_file map;
} input_bytes;

/* input_open - as read_input, but a large regular file is mapped rather
 * than copied: max_bytes then does not apply (its bytes are not held; the
 * 2 GiB ceiling does).  Free with input_close. */
cnf_status input_open(const char *path, uint64_t max_bytes, input_check_fn check, void *ctx,
                      input_bytes *in, cnf_error *err);

/* input_close - unmap or free; a zeroed input_bytes is a no-op. */
void input_close(input_bytes *in);

/* input_sniff - an input_check_fn: cnf_sniff of the first bytes for the
 * kind `kind` points to (a cnf_input_kind). */
cnf_status input_sniff(const unsigned char *start, size_t len, const char *path, void *kind,
                       cnf_error *err);

/* input_is_image - 1 if the input is an image (values 0..255 per channel)
 * rather than a numeric matrix: by its kind, or for an unnamed one, when
 * the image header reader accepts it. */
int input_is_image(const unsigned char *buf, size_t len, cnf_input_kind kind, const char *path,
                   uint64_t max_pixels);

/* input_follow - have the pages of a mapped input dropped as reader r
 * moves past them (nothing for a copied one). */
void input_follow(input_bytes *in, cnf_reader *r);

/* input_cut_short - fail (naming path) if the mapped file turned out shorter
 * than it was when opened: what was read of it was zeros. */
cnf_status input_cut_short(const input_bytes *in, const char *path, cnf_error *err);

/* load_decoded - read and decode one input file (or "-"), refused from its
 * first bytes when no format can start with them.  *is_image (may be NULL)
 * tells an image format (values 0..255 per channel, which a tool may have
 * clipped) from a numeric matrix.  `flags`: cnf_decode_ex's (0: turned
 * upright by EXIF orientation).  Errors name the path. */
cnf_status load_decoded(const char *path, uint64_t max_bytes, uint64_t max_pixels,
                        unsigned flags, cnf_image *img, int *is_image, cnf_error *err);

/* load_decoded_within - load_decoded within `budget` bytes: the file read
 * whole plus its decoded planes (shape from the header, before any pixel
 * buffer) may not exceed it; over it fails with CNF_E_TOO_BIG and
 * err->limit CNF_LIMIT_MEMORY, naming the sizes. */
cnf_status load_decoded_within(const char *path, uint64_t max_pixels, uint64_t budget,
                               unsigned flags, cnf_image *img, int *is_image, cnf_error *err);

#endif
