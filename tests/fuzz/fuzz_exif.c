/* fuzz_exif.c - the EXIF Orientation readers on any bytes: a TIFF block, a JPEG's markers, a PNG's chunks; never read out of bounds, always 1..8. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/lib/orient.h"

static void in_range(int o)
{
    if (o < 1 || o > 8)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: a sanitizer sees the first byte past the end. */
    unsigned char *c = malloc(size ? size : 1);
    if (!c)
        return 0;
    if (size)
        memcpy(c, data, size);
    in_range(cnf__exif_orientation(c, size));
    in_range(cnf__jpeg_orientation(c, size));
    in_range(cnf__png_orientation(c, size));
    /* The same bytes behind each container's header. */
    if (size >= 6 && memcmp(c, "Exif\0\0", 6) == 0)
        in_range(cnf__exif_orientation(c + 6, size - 6));
    free(c);
    return 0;
}
