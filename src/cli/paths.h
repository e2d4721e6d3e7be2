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

#endif
