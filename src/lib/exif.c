/* exif.c - the EXIF Orientation tag, and where JPEG and PNG keep the EXIF block: bounds-checked reading of untrusted bytes.
 *
 * Every read goes through a check of the offset against the length first,
 * with the arithmetic done so that it cannot overflow (offsets are compared
 * with what is left, never added past the end).  Anything unexpected gives
 * orientation 1, the stored order: a broken tag never fails a decode, the
 * pixels are still there (ImageMagick and libvips do the same).
 */
#include "orient.h"

#include <string.h>

/* The 16- or 32-bit value at p in the block's byte order (big: "MM"); the
 * caller has checked that its bytes are there. */
static unsigned get16(const unsigned char *p, int big)
{
    return big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t get32(const unsigned char *p, int big)
{
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* TIFF field types the tag may be written with. */
#define TIFF_SHORT 3
#define TIFF_LONG 4
#define TAG_ORIENTATION 0x0112

int cnf__exif_orientation(const unsigned char *tiff, size_t len)
{
    int big;
    uint32_t ifd;
    unsigned n;
    if (!tiff || len < 8)
        return 1;
    if (memcmp(tiff, "II", 2) == 0)
        big = 0;
    else if (memcmp(tiff, "MM", 2) == 0)
        big = 1;
    else
        return 1;
    if (get16(tiff + 2, big) != 42)
        return 1;
    ifd = get32(tiff + 4, big);
    /* IFD0 comes after the 8-byte header, and its count must be there. */
    if (ifd < 8 || ifd > len || len - ifd < 2)
        return 1;
    n = get16(tiff + ifd, big);
    /* All of its entries must be inside the block (12 bytes each): a count
     * that claims more than there is marks a corrupt block. */
    if ((size_t)n > (len - ifd - 2) / 12)
        return 1;
    for (unsigned i = 0; i < n; i++) {
        const unsigned char *e = tiff + ifd + 2 + (size_t)i * 12;
        unsigned type, v;
        if (get16(e, big) != TAG_ORIENTATION)
            continue;
        type = get16(e + 2, big);
        if (get32(e + 4, big) < 1)
            return 1;
        /* One value fits the entry's 4-byte field, left-justified. */
        if (type == TIFF_SHORT)
            v = get16(e + 8, big);
        else if (type == TIFF_LONG)
            v = get32(e + 8, big) <= 8 ? (unsigned)get32(e + 8, big) : 0;
        else
            return 1;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

/* JPEG markers without a length field: TEM and RST0..RST7. */
static int standalone(unsigned m) { return m == 0x01 || (m >= 0xd0 && m <= 0xd7); }

int cnf__jpeg_orientation(const unsigned char *buf, size_t len)
{
    size_t pos = 2;
    if (!buf || len < 4 || buf[0] != 0xff || buf[1] != 0xd8)
        return 1;
    while (pos < len) {
        unsigned m, seg;
        if (buf[pos] != 0xff)
            return 1; /* not a marker where one must be */
        while (pos < len && buf[pos] == 0xff)
            pos++; /* fill bytes */
        if (pos >= len)
            return 1;
        m = buf[pos++];
        if (m == 0xda || m == 0xd9 || m == 0x00)
            return 1; /* SOS: the header is over; EOI; a stuffed byte is no marker */
        if (standalone(m))
            continue;
        if (len - pos < 2)
            return 1;
        seg = (unsigned)buf[pos] << 8 | buf[pos + 1];
        if (seg < 2 || seg > len - pos)
            return 1;
        if (m == 0xe1 && seg - 2 >= 6 && memcmp(buf + pos + 2, "Exif\0\0", 6) == 0)
            return cnf__exif_orientation(buf + pos + 8, seg - 8);
        pos += seg;
    }
    return 1;
}

int cnf__png_orientation(const unsigned char *buf, size_t len)
{
    size_t pos = 8;
    if (!buf || len < 8 || memcmp(buf, "\x89PNG\r\n\x1a\n", 8) != 0)
        return 1;
    /* Each chunk: length (4, big-endian), type (4), data, CRC (4). */
    while (len - pos >= 12) {
        uint32_t n = get32(buf + pos, 1);
        const unsigned char *type = buf + pos + 4;
        if (n > len - pos - 12)
            return 1; /* the chunk runs past the end */
        if (memcmp(type, "IDAT", 4) == 0 || memcmp(type, "IEND", 4) == 0)
            return 1;
        if (memcmp(type, "eXIf", 4) == 0)
            return cnf__exif_orientation(buf + pos + 8, n);
        pos += 12 + (size_t)n;
    }
    return 1;
}
