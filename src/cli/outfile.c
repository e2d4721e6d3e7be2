/* outfile.c - output files committed whole or not at all: a temporary file in the target's folder, fsynced, then renamed. */
#define _GNU_SOURCE /* O_CLOEXEC, realpath */
#include "outfile.h"

#include "cleanup.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static mode_t g_umask;
static pthread_once_t g_umask_once = PTHREAD_ONCE_INIT;

/* umask() can only be read by setting it, so it is read once. */
static void read_umask(void)
{
    g_umask = umask(0);
    umask(g_umask);
}

static mode_t current_umask(void)
{
    pthread_once(&g_umask_once, read_umask);
    return g_umask;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static cnf_status io_fail(cnf_error *err, const char *path, const char *what, int e)
{
    return fail_errno(err, CNF_E_IO, path, e, "%s%s%s", what, *what ? ": " : "", strerror(e));
}

/* The folder part of path ("." for a bare name, "/" for "/name"), malloc'd. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    char *d;
    if (slash && n == 0)
        n = 1;
    d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, slash ? path : ".", n);
    d[n] = 0;
    return d;
}

/* Writing in place: a FIFO or a character device (it is never replaced). */
static cnf_status open_direct(out_file *f, int binary, cnf_error *err)
{
    f->fd = open(f->path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (f->fd < 0)
        return io_fail(err, f->path, "cannot open", errno);
    f->direct = 1;
    if (binary && isatty(f->fd)) {
        close(f->fd);
        f->fd = -1;
        return fail(err, CNF_E_USAGE, f->path, "refusing to write binary image data to a terminal");
    }
    return CNF_OK;
}

/* The temporary file beside f->target, with the mode (and owner) the
 * output will have: the old file's, or 0666 & ~umask for a new one. */
static cnf_status open_temp(out_file *f, const struct stat *old, cnf_error *err)
{
    char *dir = folder_of(f->target);
    size_t n;
    int e;
    if (!dir)
        return fail(err, CNF_E_NOMEM, f->path, "out of memory");
    cleanup_sweep_stale(dir);
    n = strlen(dir) + sizeof CLEANUP_TEMP_PREFIX + 32;
    f->temp = malloc(n);
    if (!f->temp) {
        free(dir);
        return fail(err, CNF_E_NOMEM, f->path, "out of memory");
    }
    snprintf(f->temp, n, "%s/%s%ld-XXXXXX", dir, CLEANUP_TEMP_PREFIX, (long)getpid());
    f->fd = cleanup_mkstemp(f->temp, &f->id);
    if (f->fd < 0) {
        struct stat st;
        e = errno;
        free(f->temp);
        f->temp = NULL;
        if (e == ENOENT && stat(dir, &st) != 0) { /* say what is missing */
            cnf_status r = fail_errno(err, CNF_E_IO, f->path, e, "the folder '%s' does not exist",
                                      dir);
            free(dir);
            return r;
        }
        free(dir);
        return io_fail(err, f->path, "cannot create a temporary file beside it", e);
    }
    free(dir);
    if (fchmod(f->fd, old ? old->st_mode & 07777 : 0666 & ~current_umask()) != 0) {
        e = errno;
        out_abort(f);
        return io_fail(err, f->path, "write error", e);
    }
    /* Keep the old owner where we may (root, or our own group); else the
     * output becomes ours, as a new file would. */
    if (old && (old->st_uid != geteuid() || old->st_gid != getegid()) &&
        fchown(f->fd, old->st_uid, old->st_gid) != 0 && fchown(f->fd, (uid_t)-1, old->st_gid) != 0) {
        /* not permitted: the file is ours */
    }
    return CNF_OK;
}

static cnf_status open_output(out_file *f, const char *path, int binary, cnf_error *err)
{
    struct stat st;
    if (strcmp(path, "-") == 0) {
        f->fd = STDOUT_FILENO;
        f->direct = 1;
        return CNF_OK;
    }
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT)
            return io_fail(err, path, "", errno);
        f->target = strdup(path);
        if (!f->target)
            return fail(err, CNF_E_NOMEM, path, "out of memory");
        return open_temp(f, NULL, err);
    }
    if (S_ISLNK(st.st_mode)) {
        char *real;
        if (stat(path, &st) != 0)
            return errno == ENOENT ? fail(err, CNF_E_IO, path,
                                          "is a symbolic link to a missing file; not written")
                                   : io_fail(err, path, "", errno);
        /* A link to a FIFO or device (/dev/stdout, /proc/self/fd/N) is
         * opened through the link; a link to a file has that file replaced. */
        if (S_ISREG(st.st_mode)) {
            if (!(real = realpath(path, NULL)))
                return io_fail(err, path, "", errno);
            f->target = real;
        }
    }
    if (S_ISDIR(st.st_mode))
        return fail(err, CNF_E_IO, path, "is a directory");
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        free(f->target);
        f->target = NULL;
        return open_direct(f, binary, err);
    }
    if (!S_ISREG(st.st_mode))
        return fail(err, CNF_E_IO, path, "is not a regular file; not replaced");
    if (!(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) ||
        (access(f->target ? f->target : path, W_OK) != 0 && errno == EACCES))
        return fail(err, CNF_E_IO, path, "is read-only; not replaced");
    if (!f->target && !(f->target = strdup(path)))
        return fail(err, CNF_E_NOMEM, path, "out of memory");
    return open_temp(f, &st, err);
}

int out_seekable(const char *path)
{
    struct stat st;
    if (strcmp(path, "-") == 0)
        return 0;
    /* nothing there yet (or a link to nothing: refused when opened) */
    if (stat(path, &st) != 0)
        return 1;
    return !(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode));
}

cnf_status out_open(out_file *f, const char *path, int binary, cnf_error *err)
{
    cnf_status st;
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->id = -1;
    f->path = path;
    st = open_output(f, path, binary, err);
    if (st)
        out_abort(f); /* nothing half-open is left to the caller */
    return st;
}

cnf_status out_write(out_file *f, const void *data, size_t len, cnf_error *err)
{
    if (f->failed)
        return CNF_E_IO;
    if (write_all(f->fd, data, len) != 0) {
        f->failed = 1;
        return io_fail(err, f->path, "write error", errno);
    }
    return CNF_OK;
}

/* fsync and close a temporary file (in-place outputs are only closed, and
 * standard output is left open). */
static cnf_status finish(out_file *f, cnf_error *err)
{
    int e = 0;
    if (f->finished)
        return CNF_OK;
    f->finished = 1;
    if (f->fd == STDOUT_FILENO && f->direct)
        return CNF_OK;
    /* fsync before the rename: a power cut after the rename must not leave
     * a zero-length output that a resumed batch would keep. */
    if (!f->direct && fsync(f->fd) != 0)
        e = errno;
    if (close(f->fd) != 0 && !e)
        e = errno;
    f->fd = -1;
    if (e)
        return io_fail(err, f->path, "write error", e);
    return CNF_OK;
}

/* The folders renamed into since the last out_sync_folders(). */
static pthread_mutex_t g_dirs_mu = PTHREAD_MUTEX_INITIALIZER;
static char **g_dirs;
static size_t g_n_dirs;

/* Remember the folder of path for out_sync_folders (once per folder). */
static void note_folder_of(const char *path)
{
    char *dir = folder_of(path), **nv;
    if (!dir)
        return;
    pthread_mutex_lock(&g_dirs_mu);
    for (size_t i = 0; i < g_n_dirs; i++)
        if (strcmp(g_dirs[i], dir) == 0) {
            pthread_mutex_unlock(&g_dirs_mu);
            free(dir);
            return;
        }
    nv = realloc(g_dirs, (g_n_dirs + 1) * sizeof *nv);
    if (nv) {
        g_dirs = nv;
        g_dirs[g_n_dirs++] = dir;
        dir = NULL;
    }
    pthread_mutex_unlock(&g_dirs_mu);
    if (dir) { /* out of memory: sync it now */
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
        free(dir);
    }
}

void out_sync_folders(void)
{
    pthread_mutex_lock(&g_dirs_mu);
    for (size_t i = 0; i < g_n_dirs; i++) {
        int fd = open(g_dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        /* Failure is ignored: some file systems cannot fsync a folder. */
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
        free(g_dirs[i]);
    }
    free(g_dirs);
    g_dirs = NULL;
    g_n_dirs = 0;
    pthread_mutex_unlock(&g_dirs_mu);
}

cnf_status out_commit_all(out_file *fs, int n, cnf_error *err)
{
    cnf_status st = CNF_OK;
    int renamed = 0;
    for (int i = 0; i < n && st == CNF_OK; i++)
        st = fs[i].failed ? CNF_E_IO : finish(&fs[i], err);
    if (st == CNF_OK) {
        cleanup_lock();
        for (; renamed < n; renamed++) {
            out_file *f = &fs[renamed];
            if (!f->temp)
                continue;
            if (rename(f->temp, f->target) != 0) {
                st = io_fail(err, f->path, "cannot rename the temporary file into place", errno);
                break;
            }
            cleanup_forget(f->id, 1);
            f->id = -1;
            free(f->temp);
            f->temp = NULL;
        }
        cleanup_unlock();
        for (int i = 0; i < renamed; i++)
            if (fs[i].target && (i == 0 || !fs[i - 1].target ||
                                 strcmp(fs[i].target, fs[i - 1].target) != 0))
                note_folder_of(fs[i].target);
    }
    for (int i = 0; i < n; i++)
        out_abort(&fs[i]);
    return st;
}

cnf_status out_commit(out_file *f, cnf_error *err) { return out_commit_all(f, 1, err); }

void out_abort(out_file *f)
{
    if (f->fd >= 0 && !(f->fd == STDOUT_FILENO && f->direct))
        close(f->fd);
    f->fd = -1;
    if (f->temp) {
        unlink(f->temp);
        cleanup_forget(f->id, 0);
        f->id = -1;
        free(f->temp);
        f->temp = NULL;
    }
    free(f->target);
    f->target = NULL;
}

cnf_status write_output(const char *path, const unsigned char *data, size_t len, int binary,
                        cnf_error *err)
{
    out_file f;
    cnf_status st = out_open(&f, path, binary, err);
    if (st)
        return st;
    if ((st = out_write(&f, data, len, err)) != CNF_OK) {
        out_abort(&f);
        return st;
    }
    return out_commit(&f, err);
}
