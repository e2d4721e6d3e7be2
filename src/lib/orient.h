/* orient.h - EXIF orientation: the tag read from untrusted bytes (exif.c) and an image turned upright by it (orient.c). */
#ifndef CNF_ORIENT_H
#define CNF_ORIENT_H

#include "internal.h"

/* cnf__exif_orientation - the Orientation tag (0x0112) of IFD0 of a
 * TIFF-structured EXIF block (byte order "II" or "MM", 42, the IFD0 offset):
 * 1..8, or 1 when the tag is absent, out of range or of another type, or
 * the block is malformed or truncated.  Only IFD0 is read (no offset is
 * followed out of it, so no loop is possible); nothing outside
 * tiff[0..len) is read, whatever the bytes. */
int cnf__exif_orientation(const unsigned char *tiff, size_t len);

/* cnf__jpeg_orientation - the orientation of a JPEG: its first APP1
 * segment starting "Exif\0\0", looked for among the markers before the
 * first SOS; 1 when there is none or the markers are malformed. */
int cnf__jpeg_orientation(const unsigned char *buf, size_t len);

/* cnf__png_orientation - the orientation of a PNG: its eXIf chunk, looked
 * for among the chunks before the first IDAT; 1 when there is none or the
 * chunks are malformed. */
int cnf__png_orientation(const unsigned char *buf, size_t len);

/* cnf__orient_swaps - 1 when orientation o (5..8) swaps width and height. */
static inline int cnf__orient_swaps(int o) { return o >= 5 && o <= 8; }

/* cnf__orient_image - turn *img upright for EXIF orientation o (2..8; 1 or
 * anything else leaves it as it is): 2 mirror left-right, 3 rotate 180,
 * 4 mirror top-bottom, 5 transpose, 6 rotate 90 clockwise, 7 transverse,
 * 8 rotate 90 counter-clockwise.  The pixels move to a new buffer (the old
 * one is freed); on failure (CNF_E_NOMEM) *img is left as it was. */
cnf_status cnf__orient_image(cnf_image *img, int o, cnf_error *err);

#endif
