/* paths.h - file identity and path joining. */
#ifndef CNF_CLI_PATHS_H
#define CNF_CLI_PATHS_H

#include <stddef.h>
#include <sys/types.h>

/* join_path - "root/rel" into buf without doubling a slash; -1 if too long. */
int join_path(char *buf, size_t size, const char *root, const char *rel);

/* file_id - device and inode: what makes two paths the same file. */
typedef struct file_id {
    dev_t dev;
    ino_t ino;
} file_id;
/* file_id_of - the id of an existing file (following links); 0 if there is
 * none ("-" is never a file). */
int file_id_of(const char *path, file_id *id);

/* same_file - 1 if both paths name the same existing file. */
int same_file(const char *a, const char *b);

/* make_parent_folders - mkdir -p for the folder part of path (the last
 * component is not made).  0, or -1 with errno set. */
int make_parent_folders(const char *path);

/* path_inside - 1 if path (or, when it does not exist yet, the folder it
 * would be made in) is the folder root or lies under it, links resolved; 0
 * if not; -1 when it cannot be told (a ".." after a part that does not
 * exist, a path too long, an unreadable folder). */
int path_inside(const char *path, const char *root);

#endif
