/* walk.c - the input files under a folder, in a stable order, without loops. */
#define _POSIX_C_SOURCE 200809L
#include "walk.h"

#include "formats.h"
#include "paths.h"

#include "msg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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
    const walk_select *sel; /* NULL: every file with an input extension */
    walk_fn *fn;
    void *arg;
    int *skipped;
} walk_ctx;

int glob_match(const char *const *globs, int n, const char *rel)
{
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    for (int i = 0; i < n; i++) {
        if (strchr(globs[i], '/') ? fnmatch(globs[i], rel, FNM_PATHNAME) == 0
                                  : fnmatch(globs[i], base, 0) == 0)
            return 1;
    }
    return 0;
}

int file_is_image(const char *path)
{
    unsigned char head[64];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return 0;
    n = read(fd, head, sizeof head);
    close(fd);
    return n > 0 && cnf_image_format_of(head, (size_t)n) != NULL;
}

/* Whether a regular file of a folder is taken; when not, *why says why. */
static int take_file(const walk_ctx *w, const char *full, const char *rel, const char **why)
{
    const walk_select *s = w->sel;
    const cnf_format_info *f;
    const char *name = strrchr(rel, '/');
    name = name ? name + 1 : rel;
    if (!s) {
        *why = "not an input format";
        return is_input_name(name);
    }
    if (glob_match(s->exclude, s->n_exclude, rel)) {
        *why = "excluded by --exclude";
        return 0;
    }
    if (glob_match(s->include, s->n_include, rel))
        return 1;
    f = cnf_format_for_path(name);
    if (!f || !(f->flags & CNF_FORMAT_READ) || (f->flags & CNF_FORMAT_MATRIX)) {
        *why = f && (f->flags & CNF_FORMAT_MATRIX)
                   ? "not an image (a matrix file in a folder is taken only with --include)"
                   : "not an image";
        return 0;
    }
    if (!file_is_image(full)) {
        *why = "not an image (its content is not the format its name says)";
        return 0;
    }
    return 1;
}

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
        char full[4096], rel[4096], esc[4096];
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
            if (w->sel && w->sel->skip_dir && st.st_dev == w->sel->skip_dev &&
                st.st_ino == w->sel->skip_ino) {
                if (w->sel->verbose)
                    msg_info("%s: not descending: the output folder",
                             escape(full, esc, sizeof esc));
                continue;
            }
            if (w->sel && glob_match(w->sel->exclude, w->sel->n_exclude, rel)) {
                if (w->sel->verbose)
                    msg_info("%s: not descending: excluded by --exclude",
                             escape(full, esc, sizeof esc));
                continue;
            }
            while (p && !(p->dev == st.st_dev && p->ino == st.st_ino))
                p = p->up;
            if (p) {
                msg_warn(full, "leads back to a folder above it; not descending");
                continue;
            }
            rc |= walk(w, rel, depth + 1, &here);
        } else if (S_ISREG(st.st_mode)) {
            const char *why = NULL;
            if (take_file(w, full, rel, &why)) {
                if (w->fn(w->arg, full, rel) != 0) {
                    closedir(d);
                    msg_error(NULL, "out of memory");
                    return 1;
                }
                continue;
            }
            if (w->skipped)
                (*w->skipped)++;
            if (w->sel && w->sel->verbose)
                msg_info("%s: skipped: %s", escape(full, esc, sizeof esc), why);
        }
    }
    closedir(d);
    return rc;
}

int walk_files(const char *root, int recursive, walk_fn *fn, void *arg, int *skipped)
{
    return walk_select_files(root, recursive, NULL, fn, arg, skipped);
}

int walk_select_files(const char *root, int recursive, const walk_select *sel, walk_fn *fn,
                      void *arg, int *skipped)
{
    struct stat st;
    ancestor top;
    walk_ctx w = {root, recursive, sel, fn, arg, skipped};
    if (stat(root, &st) != 0) {
        msg_error(root, "%s", strerror(errno));
        return 1;
    }
    top.dev = st.st_dev;
    top.ino = st.st_ino;
    top.up = NULL;
    return walk(&w, "", 0, &top);
}
