/* fd_io.c - bytes into a file descriptor: all of them, at its position or at an offset (what the row writers of the formats share). */
#define _POSIX_C_SOURCE 200809L /* pwrite */
#include "codec.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* Writes of at most 1 GiB each (Linux writes at most about 2 GiB at once). */
#define FD_CHUNK ((size_t)1 << 30)

/* At `off`, or at the file's position when off is FD_HERE. */
#define FD_HERE UINT64_MAX

static cnf_status put(int fd, const void *data, size_t len, uint64_t off, cnf_error *err)
{
    const unsigned char *p = data;
    while (len > 0) {
        size_t n = len > FD_CHUNK ? FD_CHUNK : len;
        ssize_t k = off == FD_HERE ? write(fd, p, n) : pwrite(fd, p, n, (off_t)off);
        if (k < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            return cnf__fail_errno(err, CNF_E_IO, NULL, e, "write error: %s", strerror(e));
        }
        p += k;
        len -= (size_t)k;
        if (off != FD_HERE)
            off += (uint64_t)k;
    }
    return CNF_OK;
}

cnf_status cnf__fd_write(int fd, const void *data, size_t len, cnf_error *err)
{
    return put(fd, data, len, FD_HERE, err);
}

cnf_status cnf__fd_pwrite(int fd, const void *data, size_t len, uint64_t off, cnf_error *err)
{
    return put(fd, data, len, off, err);
}
