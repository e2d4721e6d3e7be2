/* mapfile.h - a large input file mapped into memory instead of copied, its pages dropped as the decoder moves past them. */
#ifndef CNF_CLI_MAPFILE_H
#define CNF_CLI_MAPFILE_H

#include <stddef.h>

/* A file mapped read-only.  Pages come from the page cache as the decoder
 * touches them and are dropped again (mapfile_drop) behind it, so a
 * 150 MB PNG costs a few MiB of the process's memory, not 150 MB.
 *
 * A mapped file that another process cuts short while it is read would
 * end the process with SIGBUS; instead the page is replaced by zeros (the
 * decoder then fails or reads zeros) and the mapping is marked: the caller
 * asks mapfile_cut_short() before trusting a result. */
typedef struct mapped_file {
    unsigned char *base;
    size_t len;
    size_t dropped; /* bytes from the start no longer resident */
    int slot;       /* its entry for the SIGBUS handler */
} mapped_file;

/* mapfile_start - install the SIGBUS handler.  Call once, early. */
void mapfile_start(void);

/* mapfile_open - map len bytes (len > 0) of the regular file open as fd.
 * Returns 0, or -1 (errno set; nothing mapped) - the caller then reads
 * the file instead. */
int mapfile_open(int fd, size_t len, mapped_file *m);

/* mapfile_drop - the first n bytes will not be read again: their pages
 * leave the process's memory (they stay in the page cache; a later read
 * would fault them back in, so dropping too much is only slower).  May be
 * called from any thread, one at a time per mapping. */
void mapfile_drop(mapped_file *m, size_t n);

/* mapfile_cut_short - 1 if the file turned out shorter than its mapping
 * while it was read (the bytes read past its new end were zeros). */
int mapfile_cut_short(const mapped_file *m);

/* mapfile_close - unmap; a zeroed mapped_file is a no-op. */
void mapfile_close(mapped_file *m);

#endif
