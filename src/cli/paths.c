/* paths.c - file identity and path joining. */
#define _POSIX_C_SOURCE 200809L
#include "paths.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int join_path(char *buf, size_t size, const char *root, const char *rel)
{
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (!*rel)
        return (size_t)snprintf(buf, size, "%.*s", (int)n, root) >= size ? -1 : 0;
    return (size_t)snprintf(buf, size, "%.*s%s%s", (int)n, root,
                            (n == 1 && root[0] == '/') ? "" : "/", rel) >= size
               ? -1
               : 0;
}

int file_id_of(const char *path, file_id *id)
{
    struct stat st;
    if (strcmp(path, "-") == 0 || stat(path, &st) != 0)
        return 0;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    return 1;
}

int same_file(const char *a, const char *b)
{
    file_id x, y;
    return file_id_of(a, &x) && file_id_of(b, &y) && x.dev == y.dev && x.ino == y.ino;
}
