/* paths.c - file identity and path joining. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

int make_parent_folders(const char *path)
{
    char buf[4096];
    if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0) {
            struct stat st;
            int e = errno;
            if (e != EEXIST || stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
                errno = e == EEXIST ? ENOTDIR : e; /* a file where a folder should be */
                return -1;
            }
        }
        *p = '/';
    }
    return 0;
}

/* The last component of buf cut off ("a/b" -> "a", "a" -> "", "/a" -> "/"). */
static void cut_last(char *buf)
{
    char *slash;
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = 0;
    slash = strrchr(buf, '/');
    if (!slash)
        buf[0] = 0;
    else if (slash == buf)
        buf[1] = 0;
    else
        *slash = 0;
}

int path_inside(const char *path, const char *root)
{
    char buf[4096], *real;
    struct stat st;
    int inside = 0;
    if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf)
        return -1;
    /* The deepest part that exists; what follows it is made by mkdir -p,
     * where a ".." would climb out of the folders it made. */
    while (buf[0] && stat(buf, &st) != 0) {
        const char *last;
        size_t n = strlen(buf);
        while (n > 1 && buf[n - 1] == '/')
            buf[--n] = 0;
        last = strrchr(buf, '/');
        last = last ? last + 1 : buf;
        if (strcmp(last, "..") == 0)
            return -1;
        cut_last(buf);
    }
    real = realpath(buf[0] ? buf : ".", NULL);
    if (!real)
        return -1;
    /* realpath resolved every link: its ancestors are the real folders. */
    for (;;) {
        if (same_file(real, root)) {
            inside = 1;
            break;
        }
        if (strcmp(real, "/") == 0 || !real[0])
            break;
        cut_last(real);
    }
    free(real);
    return inside;
}
