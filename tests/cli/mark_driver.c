/* mark_driver.c - a test tool: cnf_image_mark on a file (or its first N bytes), for
 * tests/cli/test_formats.py.
 *
 * Usage: mark_driver FILE [N]
 * Prints "1 COMMENT" when the bytes carry cnnfilter's mark, else "0"; exit 0, or 2 when the
 * file cannot be read. */
#include "cnnfilter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    FILE *f;
    unsigned char *buf;
    size_t cap = 64u << 20, len;
    char comment[9000];
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: mark_driver FILE [N]\n");
        return 2;
    }
    if (argc == 3)
        cap = (size_t)strtoull(argv[2], NULL, 10);
    if (!(f = fopen(argv[1], "rb")) || !(buf = malloc(cap ? cap : 1))) {
        fprintf(stderr, "mark_driver: cannot read %s\n", argv[1]);
        return 2;
    }
    len = fread(buf, 1, cap, f);
    fclose(f);
    /* Exactly len bytes: ASan sees a read past them. */
    {
        unsigned char *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        free(buf);
        buf = exact;
    }
    if (cnf_image_mark(buf, len, comment, sizeof comment))
        printf("1 %s\n", comment);
    else
        printf("0\n");
    free(buf);
    return 0;
}
