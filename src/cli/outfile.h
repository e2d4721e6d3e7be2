/* outfile.h - output files committed whole or not at all: a temporary file in the target's folder, fsynced, then renamed. */
#ifndef CNF_CLI_OUTFILE_H
#define CNF_CLI_OUTFILE_H

#include "cnnfilter.h"


/* An output being written.  What it becomes depends on what is at `path`:
 * - "-": standard output, written as it comes;
 * - nothing yet, or a regular file: a temporary file beside it, renamed into
 *   place by out_commit (an existing file keeps its mode, and its owner when
 *   we may set it; a read-only one is refused, as cp and ImageMagick do);
 * - a symbolic link: the same for the file it points to (the link stays);
 * - a FIFO or a character device (/dev/null, /dev/stdout): written in place,
 *   never replaced by a regular file;
 * - a folder, a socket, a block device: refused.
 * Errors name `path` and say why (strerror of the failed call). */
typedef struct out_file {
    const char *path;   /* as given (borrowed) */
    char *target;       /* the file replaced: path, or a link's target */
    char *temp;         /* the temporary file; NULL when written in place */
    int fd;
    int id;             /* registration with cleanup.c, -1 if none */
    int direct;         /* written in place: stdout, FIFO, device */
    int failed;         /* a write failed: the output will not be committed */
    int finished;       /* fsynced and closed */
} out_file;

/* out_seekable - 1 when out_open(path) would write a temporary file (a
 * regular file, which a writer may seek in), 0 for standard output, a FIFO
 * or a device (written in order), as the file is now. */
int out_seekable(const char *path);

/* out_open - start writing `path`.  `binary`: the data is not text, so a
 * terminal is refused. */
cnf_status out_open(out_file *f, const char *path, int binary, cnf_error *err);
cnf_status out_write(out_file *f, const void *data, size_t len, cnf_error *err);
/* out_commit_all - finish every file of the group (fsync, close), then put
 * them all in place: the renames happen only once every file is complete,
 * together (a signal comes before or after them, not between), and their
 * folders are noted for out_sync_folders.  On failure nothing more is renamed and the
 * files not yet in place are removed.  The group is closed either way. */
cnf_status out_commit_all(out_file *fs, int n, cnf_error *err);
/* out_sync_folders - fsync every folder an output was renamed into since the
 * last call, once each: the renames themselves are then on disk.  The file
 * data is synced before each rename (a power cut never leaves a truncated
 * output under its final name, which --skip-existing could keep); the
 * folders are synced once at the end of a run rather than after each file.
 * Best effort (not every file system can sync a folder). */
void out_sync_folders(void);

/* out_commit - one file: out_commit_all of one. */
cnf_status out_commit(out_file *f, cnf_error *err);
/* out_abort - remove the temporary file (if any); the old output, if any, is
 * untouched.  Safe on a file that failed to open or was committed. */
void out_abort(out_file *f);

/* write_output - data to path through out_open/out_write/out_commit. */
cnf_status write_output(const char *path, const unsigned char *data, size_t len, int binary,
                        cnf_error *err);

#endif
