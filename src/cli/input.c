/* input.c - reading an input file (or standard input) into memory, refusing non-inputs from their first bytes. */
#define _POSIX_C_SOURCE 200809L
#include "input.h"

#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Inputs are read whole; the decoders take lengths as int, so 2 GiB is a
 * hard ceiling for any input. */
#define MAX_INPUT_BYTES ((size_t)INT_MAX)

static cnf_status too_big(cnf_error *err, const char *path, size_t limit)
{
    if (limit >= MAX_INPUT_BYTES)
        return fail(err, CNF_E_TOO_BIG, path, "input is larger than 2 GiB");
    fail(err, CNF_E_TOO_BIG, path, "input is larger than the memory limit of %zu MiB", limit >> 20);
    err->limit = CNF_LIMIT_MEMORY;
    return CNF_E_TOO_BIG;
}

/* Read into buf[*len .. cap) until it is full or the input ends; *eof set
 * at the end.  Returns 0, or -1 with errno. */
static int fill(int fd, unsigned char *buf, size_t cap, size_t *len, int *eof)
{
    while (*len < cap) {
        ssize_t n = read(fd, buf + *len, cap - *len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            *eof = 1;
            return 0;
        }
        *len += (size_t)n;
    }
    return 0;
}

/* Open path for reading: its descriptor, and the size to expect (0 when
 * unknown: a pipe or device). */
static cnf_status open_input(const char *path, size_t limit, int *fd_ret, size_t *size_ret,
                             cnf_error *err)
{
    struct stat st;
    int fd;
    *size_ret = 0;
    if (strcmp(path, "-") == 0) {
        *fd_ret = STDIN_FILENO;
        return CNF_OK;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fail_errno(err, CNF_E_IO, path, e, "%s", strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return fail_errno(err, CNF_E_IO, path, EISDIR, "is a directory");
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > limit) {
        close(fd);
        return too_big(err, path, limit);
    }
    if (S_ISREG(st.st_mode))
        *size_ret = (size_t)st.st_size;
    *fd_ret = fd;
    return CNF_OK;
}

cnf_status input_sniff(const unsigned char *start, size_t len, const char *path, void *kind,
                       cnf_error *err)
{
    return cnf_sniff(start, len, *(const cnf_input_kind *)kind, path, err);
}

int input_is_image(const unsigned char *buf, size_t len, cnf_input_kind kind, const char *path,
                   uint64_t max_pixels)
{
    int w, h, c, a;
    cnf_error e;
    if (kind != CNF_IN_AUTO)
        return kind == CNF_IN_IMAGE;
    /* The library sniffs an unnamed kind; an image is what its header
     * reader accepts as one (a matrix never passes it). */
    return cnf_probe(buf, len, CNF_IN_IMAGE, path, max_pixels, &w, &h, &c, &a, &e) == CNF_OK;
}

static cnf_status load(const char *path, uint64_t max_bytes, uint64_t max_pixels,
                       uint64_t budget, unsigned flags, cnf_image *img, int *is_image,
                       cnf_error *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    cnf_input_kind kind = strcmp(path, "-") == 0 ? CNF_IN_AUTO : cnf_input_kind_for_path(path);
    cnf_status st = read_input(path, max_bytes < budget ? max_bytes : budget, input_sniff, &kind,
                               &buf, &len, err);
    memset(img, 0, sizeof *img);
    if (st == CNF_OK && budget != UINT64_MAX) {
        int w, h, c, a;
        if ((st = cnf_probe_ex(buf, len, kind, path, max_pixels, flags, &w, &h, &c, &a, err)) ==
            CNF_OK) {
            /* the file, its planes, and what its decoder holds beside them */
            uint64_t need = (uint64_t)len + (uint64_t)w * (uint64_t)h * (uint64_t)c * sizeof(float) +
                            cnf_decoder_memory(buf, len, kind);
            if (need > budget) {
                st = fail(err, CNF_E_TOO_BIG, path,
                          "%dx%d with %d channels needs %llu MiB to hold whole, and %llu MiB "
                          "of the memory limit are left for it",
                          w, h, c, (unsigned long long)((need + (1 << 20) - 1) >> 20),
                          (unsigned long long)(budget >> 20));
                err->limit = CNF_LIMIT_MEMORY;
            }
        }
    }
    if (st == CNF_OK)
        st = cnf_decode_ex(buf, len, kind, path, max_pixels, flags, img, err);
    if (st == CNF_OK && is_image)
        *is_image = input_is_image(buf, len, kind, path, max_pixels);
    free(buf);
    return st;
}

cnf_status load_decoded(const char *path, uint64_t max_bytes, uint64_t max_pixels,
                        unsigned flags, cnf_image *img, int *is_image, cnf_error *err)
{
    return load(path, max_bytes, max_pixels, UINT64_MAX, flags, img, is_image, err);
}

cnf_status load_decoded_within(const char *path, uint64_t max_pixels, uint64_t budget,
                               unsigned flags, cnf_image *img, int *is_image, cnf_error *err)
{
    return load(path, (uint64_t)1 << 31, max_pixels, budget, flags, img, is_image, err);
}

cnf_status read_input(const char *path, uint64_t max_bytes, input_check_fn check, void *ctx,
                      unsigned char **buf_ret, size_t *len_ret, cnf_error *err)
{
    size_t limit = max_bytes < MAX_INPUT_BYTES ? (size_t)max_bytes : MAX_INPUT_BYTES;
    size_t len = 0, cap, size;
    int fd = -1, eof = 0, checked = !check;
    unsigned char *buf;
    cnf_status st;
    *buf_ret = NULL;
    *len_ret = 0;
    if ((st = open_input(path, limit, &fd, &size, err)) != CNF_OK)
        return st;
    /* A regular file is read in one buffer of its size (+1 to see the end);
     * anything else grows by doubling from the first chunk. */
    cap = size ? size + 1 : INPUT_CHECK_BYTES;
    if (cap < INPUT_CHECK_BYTES && !size)
        cap = INPUT_CHECK_BYTES;
    buf = malloc(cap);
    if (!buf) {
        st = fail(err, CNF_E_NOMEM, path, "out of memory");
        goto out;
    }
    for (;;) {
        size_t want = checked ? cap : (cap < INPUT_CHECK_BYTES ? cap : INPUT_CHECK_BYTES);
        if (fill(fd, buf, want, &len, &eof) != 0) {
            st = fail_errno(err, CNF_E_IO, path, errno, "%s", strerror(errno));
            goto out;
        }
        if (!checked) {
            checked = 1;
            if ((st = check(buf, len, path, ctx, err)) != CNF_OK)
                goto out;
        }
        if (eof)
            break;
        if (len == cap) {
            unsigned char *nb;
            if (cap >= limit) {
                /* A pipe or device that keeps going (/dev/zero) stops here. */
                st = too_big(err, path, limit);
                goto out;
            }
            cap = cap > limit / 2 ? limit : cap * 2;
            nb = realloc(buf, cap);
            if (!nb) {
                st = fail(err, CNF_E_NOMEM, path, "out of memory");
                goto out;
            }
            buf = nb;
        }
    }
    *buf_ret = buf;
    *len_ret = len;
    buf = NULL;
out:
    if (fd > STDIN_FILENO)
        close(fd);
    free(buf);
    return st;
}

cnf_status input_open(const char *path, uint64_t max_bytes, input_check_fn check, void *ctx,
                      input_bytes *in, cnf_error *err)
{
    struct stat st;
    int fd;
    cnf_status rc;
    memset(in, 0, sizeof *in);
    in->map.slot = -1;
    if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size < INPUT_MAP_BYTES || (uint64_t)st.st_size > MAX_INPUT_BYTES)
        return read_input(path, max_bytes, check, ctx, &in->buf, &in->len, err);
    if ((rc = open_input(path, MAX_INPUT_BYTES, &fd, &in->len, err)) != CNF_OK)
        return rc;
    /* the size of the file as opened (it may have changed since the stat) */
    if (in->len < INPUT_MAP_BYTES || mapfile_open(fd, in->len, &in->map) != 0) {
        close(fd);
        return read_input(path, max_bytes, check, ctx, &in->buf, &in->len, err);
    }
    close(fd);
    in->buf = in->map.base;
    if (check && (rc = check(in->buf, in->len < INPUT_CHECK_BYTES ? in->len : INPUT_CHECK_BYTES,
                             path, ctx, err)) != CNF_OK) {
        input_close(in);
        return rc;
    }
    return CNF_OK;
}

void input_close(input_bytes *in)
{
    if (in->map.base)
        mapfile_close(&in->map);
    else
        free(in->buf);
    memset(in, 0, sizeof *in);
    in->map.slot = -1;
}

/* The reader is done with the first n bytes of a mapped input. */
static void drop_pages(void *map, size_t n) { mapfile_drop(map, n); }

void input_follow(input_bytes *in, cnf_reader *r)
{
    if (!in->map.base)
        return;
    in->map.dropped = 0; /* a reader before this one may have read it again */
    cnf_reader_on_input_used(r, drop_pages, &in->map);
}

cnf_status input_cut_short(const input_bytes *in, const char *path, cnf_error *err)
{
    if (mapfile_cut_short(&in->map))
        return fail(err, CNF_E_IO, path, "the file was cut short while it was being read");
    return CNF_OK;
}
