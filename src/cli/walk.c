/* walk.c - the input files under a folder, in a stable order, without loops. */
#define _POSIX_C_SOURCE 200809L
#include "walk.h"

#include "formats.h"
#include "paths.h"

#include "msg.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Nesting bound for folder walks: far past real trees, short of the stack. */
#define MAX_DEPTH 64

/* The folders from the root down to the one being read, to spot a symlink
 * that leads back to one of them (stat follows links): descending there
 * would never end, and with two such links per level the depth bound alone
 * would still allow 2^MAX_DEPTH folders. */
typedef struct ancestor {
    dev_t dev;
    ino_t ino;
    const struct ancestor *up;
} ancestor;

typedef struct walk_ctx {
    const char *root;
    int recursive;
    walk_fn *fn;
    void *arg;
    int *skipped;
} walk_ctx;

static int walk(const walk_ctx *w, const char *sub, int depth, const ancestor *up)
{
    char dir[4096];
    DIR *d;
    struct dirent *de;
    int rc = 0;
    if (join_path(dir, sizeof dir, w->root, sub) != 0) {
        msg_error(w->root, "a path under this folder is over %zu bytes; not descending",
                  sizeof dir);
        return 1;
    }
    if (depth > MAX_DEPTH) {
        msg_error(dir, "folders nested deeper than %d levels; not descending", MAX_DEPTH);
        return 1;
    }
    d = opendir(dir);
    if (!d) {
        msg_error(dir, "%s", strerror(errno));
        return 1;
    }
    while ((de = readdir(d)) != NULL) {
        char full[4096], rel[4096];
        struct stat st;
        if (de->d_name[0] == '.')
            continue; /* ".", "..", and hidden names (editor and temp files) */
        if ((size_t)snprintf(rel, sizeof rel, "%s%s%s", sub, *sub ? "/" : "", de->d_name) >=
                sizeof rel ||
            join_path(full, sizeof full, w->root, rel) != 0) {
            msg_error(dir, "a name in this folder makes a path over %zu bytes; skipped",
                      sizeof full);
            rc = 1;
            continue;
        }
        if (stat(full, &st) != 0) {
            msg_error(full, "%s", strerror(errno));
            rc = 1;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            ancestor here = {st.st_dev, st.st_ino, up};
            const ancestor *p = up;
            if (!w->recursive)
                continue;
            while (p && !(p->dev == st.st_dev && p->ino == st.st_ino))
                p = p->up;
            if (p) {
                msg_warn(full, "leads back to a folder above it; not descending");
                continue;
            }
            rc |= walk(w, rel, depth + 1, &here);
        } else if (S_ISREG(st.st_mode) && is_input_name(de->d_name)) {
            if (w->fn(w->arg, full, rel) != 0) {
                closedir(d);
                msg_error(NULL, "out of memory");
                return 1;
            }
        } else if (S_ISREG(st.st_mode) && w->skipped) {
            (*w->skipped)++;
        }
    }
    closedir(d);
    return rc;
}

int walk_files(const char *root, int recursive, walk_fn *fn, void *arg, int *skipped)
{
    struct stat st;
    ancestor top;
    walk_ctx w = {root, recursive, fn, arg, skipped};
    if (stat(root, &st) != 0) {
        msg_error(root, "%s", strerror(errno));
        return 1;
    }
    top.dev = st.st_dev;
    top.ino = st.st_ino;
    top.up = NULL;
    return walk(&w, "", 0, &top);
}
