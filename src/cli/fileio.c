/* fileio.c - reading inputs, writing outputs atomically, and cleaning up on signals. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Inputs are read whole; stb needs the bytes in memory and its length is an
 * int, so 2 GiB is a hard ceiling for any input. */
#define MAX_INPUT_BYTES ((size_t)INT_MAX)

static cnf_status too_big(cnf_error *err, const char *path, size_t limit)
{
    err->status = CNF_E_TOO_BIG;
    snprintf(err->where, sizeof err->where, "%s", path);
    if (limit >= MAX_INPUT_BYTES)
        snprintf(err->msg, sizeof err->msg, "input is larger than 2 GiB");
    else
        snprintf(err->msg, sizeof err->msg,
                 "input is larger than the memory limit of %zu MiB (raise it with --max-memory)",
                 limit >> 20);
    return CNF_E_TOO_BIG;
}

cnf_status read_input(const char *path, unsigned char **buf_ret, size_t *len_ret,
                      cnf_error *err)
{
    return read_input_limit(path, MAX_INPUT_BYTES, buf_ret, len_ret, err);
}

cnf_status read_input_limit(const char *path, uint64_t max_bytes, unsigned char **buf_ret,
                            size_t *len_ret, cnf_error *err)
{
    size_t limit = max_bytes < MAX_INPUT_BYTES ? (size_t)max_bytes : MAX_INPUT_BYTES;
    int fd = 0;
    int is_stdin = strcmp(path, "-") == 0;
    struct stat st;
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    *buf_ret = NULL;
    *len_ret = 0;
    memset(err, 0, sizeof *err);
    if (!is_stdin) {
        fd = open(path, O_RDONLY);
        if (fd < 0)
            goto syserr;
        if (fstat(fd, &st) != 0)
            goto syserr;
        if (S_ISDIR(st.st_mode)) {
            close(fd);
            err->status = CNF_E_IO;
            snprintf(err->where, sizeof err->where, "%s", path);
            snprintf(err->msg, sizeof err->msg, "is a directory");
            return CNF_E_IO;
        }
        if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > limit) {
            close(fd);
            return too_big(err, path, limit);
        }
        if (S_ISREG(st.st_mode))
            cap = (size_t)st.st_size + 1;
    }
    if (cap < 65536)
        cap = 65536;
    buf = malloc(cap);
    if (!buf)
        goto nomem;
    for (;;) {
        ssize_t n;
        if (len == cap) {
            unsigned char *nb;
            if (cap >= limit) {
                /* A pipe or device that keeps going (/dev/zero) stops here. */
                if (!is_stdin)
                    close(fd);
                free(buf);
                return too_big(err, path, limit);
            }
            cap = cap > limit / 2 ? limit : cap * 2;
            nb = realloc(buf, cap);
            if (!nb)
                goto nomem;
            buf = nb;
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto syserr;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (!is_stdin)
        close(fd);
    *buf_ret = buf;
    *len_ret = len;
    return CNF_OK;
syserr : {
    int e = errno;
    if (fd > 0)
        close(fd);
    free(buf);
    err->status = CNF_E_IO;
    snprintf(err->where, sizeof err->where, "%s", path);
    snprintf(err->msg, sizeof err->msg, "%s", strerror(e));
    return CNF_E_IO;
}
nomem:
    if (fd > 0)
        close(fd);
    free(buf);
    err->status = CNF_E_NOMEM;
    snprintf(err->where, sizeof err->where, "%s", path);
    snprintf(err->msg, sizeof err->msg, "out of memory");
    return CNF_E_NOMEM;
}

/* The temp files being written (one slot per writing thread), for the
 * signal handler.  A slot's path is written before the file exists; `live`
 * stays set through the rename, and unlinking the temporary name after the
 * rename fails harmlessly, so the handler never removes a finished output.
 * Slots are taken with an atomic exchange. */
#define TEMP_SLOTS 1100 /* 256 threads x 4 streamed outputs, and spare */
static char g_temp[TEMP_SLOTS][PATH_MAX + 32];
static volatile sig_atomic_t g_temp_live[TEMP_SLOTS];
static int g_temp_taken[TEMP_SLOTS];

static void on_signal(int sig)
{
    for (int i = 0; i < TEMP_SLOTS; i++)
        if (g_temp_live[i])
            unlink(g_temp[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int take_slot(void)
{
    for (;;)
        for (int i = 0; i < TEMP_SLOTS; i++)
            if (!__atomic_exchange_n(&g_temp_taken[i], 1, __ATOMIC_ACQ_REL))
                return i;
}

static void release_slot(int i)
{
    g_temp_live[i] = 0;
    __atomic_store_n(&g_temp_taken[i], 0, __ATOMIC_RELEASE);
}

void install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* A closed stdout pipe must give EPIPE (reported, exit 1), not a signal
     * death halfway through a write. */
    signal(SIGPIPE, SIG_IGN);
}

static mode_t g_umask;
static pthread_once_t g_umask_once = PTHREAD_ONCE_INIT;

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
    memset(err, 0, sizeof *err);
    err->status = CNF_E_IO;
    err->subject = CNF_SUBJECT_FILE;
    err->sys_errno = e;
    snprintf(err->where, sizeof err->where, "%s", path);
    snprintf(err->msg, sizeof err->msg, "%s%s%s", what, *what ? ": " : "", strerror(e));
    return CNF_E_IO;
}

/* Open an output: "-" is stdout; otherwise a temporary file beside `path`
 * (mode 0666 & ~umask) that out_commit renames into place. */
cnf_status out_open(out_file *f, const char *path, cnf_error *err)
{
    char dir[PATH_MAX];
    const char *slash;
    int e;
    struct stat st;
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->slot = -1;
    f->path = path;
    if (strcmp(path, "-") == 0) {
        f->fd = STDOUT_FILENO;
        return CNF_OK;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        err->status = CNF_E_IO;
        snprintf(err->where, sizeof err->where, "%s", path);
        snprintf(err->msg, sizeof err->msg, "is a directory");
        return CNF_E_IO;
    }
    slash = strrchr(path, '/');
    if (slash) {
        size_t n = (size_t)(slash - path);
        if (n == 0)
            n = 1; /* "/file" */
        if (n >= sizeof dir)
            return io_fail(err, path, "", ENAMETOOLONG);
        memcpy(dir, path, n);
        dir[n] = 0;
    } else {
        strcpy(dir, ".");
    }
    if (strlen(dir) + 24 >= sizeof g_temp[0])
        return io_fail(err, path, "", ENAMETOOLONG);
    f->slot = take_slot();
    snprintf(g_temp[f->slot], sizeof g_temp[f->slot], "%s/.cnnfilter-XXXXXX", dir);
    f->fd = mkstemp(g_temp[f->slot]);
    if (f->fd < 0) {
        e = errno;
        release_slot(f->slot);
        f->slot = -1;
        return io_fail(err, path, "cannot create a temporary file beside it", e);
    }
    g_temp_live[f->slot] = 1;
    /* mkstemp makes 0600; give the output the usual 0666 & ~umask.  umask()
     * can only be read by setting it, so it is read once. */
    if (fchmod(f->fd, 0666 & ~current_umask()) != 0) {
        e = errno;
        out_abort(f);
        return io_fail(err, path, "write error", e);
    }
    return CNF_OK;
}

cnf_status out_write(out_file *f, const void *data, size_t len, cnf_error *err)
{
    if (f->failed)
        return CNF_E_IO;
    if (write_all(f->fd, data, len) != 0) {
        f->failed = 1;
        return io_fail(err, f->slot < 0 ? "-" : f->path, "write error", errno);
    }
    return CNF_OK;
}

cnf_status out_commit(out_file *f, cnf_error *err)
{
    int e;
    const char *what = "write error";
    if (f->slot < 0) {
        f->fd = -1;
        return CNF_OK; /* stdout */
    }
    if (close(f->fd) != 0) {
        e = errno;
        f->fd = -1;
        goto fail;
    }
    f->fd = -1;
    if (rename(g_temp[f->slot], f->path) != 0) {
        e = errno;
        what = "cannot rename the temporary file into place";
        goto fail;
    }
    release_slot(f->slot);
    f->slot = -1;
    return CNF_OK;
fail:
    out_abort(f);
    return io_fail(err, f->path, what, e);
}

void out_abort(out_file *f)
{
    if (f->slot < 0)
        return; /* stdout, or nothing open */
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    unlink(g_temp[f->slot]);
    release_slot(f->slot);
    f->slot = -1;
}

cnf_status write_output(const char *path, const unsigned char *data, size_t len, cnf_error *err)
{
    out_file f;
    cnf_status st = out_open(&f, path, err);
    if (st == CNF_OK && (st = out_write(&f, data, len, err)) != CNF_OK)
        out_abort(&f);
    if (st == CNF_OK)
        st = out_commit(&f, err);
    return st;
}

int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
        return 0;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ----------------------------------------------------------- folders */

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

int is_input_name(const char *name)
{
    static const char *const ext[] = {"png", "jpg", "jpeg", "bmp", "tga", "gif", "pgm", "ppm",
                                      "pnm", "psd", "hdr", "json", "csv", "txt", "npy"};
    const char *dot = strrchr(name, '.');
    if (!dot || name[0] == '.')
        return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot + 1, ext[i]) == 0)
            return 1;
    return 0;
}

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
