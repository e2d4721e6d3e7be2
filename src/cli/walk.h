/* walk.h - the input files under a folder, in a stable order, without loops. */
#ifndef CNF_CLI_WALK_H
#define CNF_CLI_WALK_H

#include <stddef.h>

/* walk_files - call fn(arg, full path, path relative to root) for each input
 * file under root, in directory order (callers sort), descending into
 * subfolders when recursive, never into hidden ones or back up a symlink.
 * Other regular files count in *skipped (may be NULL).  fn returns non-zero
 * on out-of-memory.  Returns 0, or 1 when something could not be read
 * (reported on stderr). */
typedef int walk_fn(void *arg, const char *full, const char *rel);
int walk_files(const char *root, int recursive, walk_fn *fn, void *arg, int *skipped);

#endif
