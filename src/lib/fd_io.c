/* fd_io.c - bytes into a file descriptor: all of them, at its position or at an offset (what the row writers of the formats share). */
#define _POSIX_C_SOURCE 200809L /* pwrite */
#include "codec.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Writes of at most 1 GiB each (Linux writes at most about 2 GiB at once). */
#define FD_CHUNK ((size_t)1 << 30)

cnf_status cnf__fd_write(int fd, const void *data, size_t len, cnf_error *err)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len > FD_CHUNK ? FD_CHUNK : len);
        if (k < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            return cnf__fail_errno(err, CNF_E_IO, NULL, e, "write error: %s", strerror(e));
        }
        p += k;
        len -= (size_t)k;
    }
    return CNF_OK;
}

cnf_status cnf__fd_pwrite(int fd, const void *data, size_t len, uint64_t off, cnf_error *err)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t k = pwrite(fd, p, len > FD_CHUNK ? FD_CHUNK : len, (off_t)off);
        if (k < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            return cnf__fail_errno(err, CNF_E_IO, NULL, e, "write error: %s", strerror(e));
        }
        p += k;
        off += (uint64_t)k;
        len -= (size_t)k;
    }
    return CNF_OK;
}
