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

#include <sys/types.h>

/* walk_select - which files of a folder batch mode takes: images (an image
 * format's extension, confirmed by the file's first bytes) and the files an
 * include glob matches, less those an exclude glob matches (a folder an
 * exclude glob matches is not descended into).  A glob with a '/' is matched
 * against the path relative to the folder argument, one without against the
 * file name (fnmatch(3); '*' never crosses a '/' of a path glob). */
typedef struct walk_select {
    const char *const *include;
    int n_include;
    const char *const *exclude;
    int n_exclude;
    int skip_dir;   /* 1: never descend into the folder (skip_dev, skip_ino) */
    dev_t skip_dev; /* (the output folder: a run never reads its own outputs) */
    ino_t skip_ino;
    int verbose;    /* name every file skipped, and why */
} walk_select;

/* walk_select_files - walk_files with sel's choice of files. */
int walk_select_files(const char *root, int recursive, const walk_select *sel, walk_fn *fn,
                      void *arg, int *skipped);

/* glob_match - 1 if one of the n globs matches `rel` (the rules above). */
int glob_match(const char *const *globs, int n, const char *rel);

/* file_is_image - 1 if the file's first bytes carry an image format's
 * signature (cnf_image_format_of). */
int file_is_image(const char *path);

#endif
