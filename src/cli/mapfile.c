/* mapfile.c - a large input file mapped into memory instead of copied, its pages dropped as the decoder moves past them.
 *
 * SIGBUS: touching a page of a mapping past the end of its file (cut short
 * by another process after it was mapped) raises SIGBUS in the thread that
 * touched it.  The handler finds the mapping the address belongs to in a
 * fixed table of slots, maps a page of zeros over the faulting page
 * (mmap is a plain system call on Linux, safe in a handler), marks the
 * slot and returns: the instruction is retried and reads zeros.  An
 * address in no slot is a real fault: the default action is restored and
 * the fault happens again, ending the process as it would have.
 */
#define _GNU_SOURCE
#include "mapfile.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLOTS 64

static struct {
    atomic_uintptr_t start; /* 0: free */
    atomic_size_t len;
    atomic_int cut;
} slots[SLOTS];

static size_t page_size(void)
{
    static size_t ps;
    if (!ps) {
        long v = sysconf(_SC_PAGESIZE);
        ps = v > 0 ? (size_t)v : 4096;
    }
    return ps;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    uintptr_t a = (uintptr_t)si->si_addr;
    (void)uc;
    for (int i = 0; i < SLOTS; i++) {
        uintptr_t s = atomic_load(&slots[i].start);
        size_t n = atomic_load(&slots[i].len);
        if (s && a >= s && a - s < n) {
            uintptr_t pg = a & ~(uintptr_t)(page_size() - 1);
            if (mmap((void *)pg, page_size(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                     -1, 0) != MAP_FAILED) {
                atomic_store(&slots[i].cut, 1);
                return;
            }
            break;
        }
    }
    signal(sig, SIG_DFL); /* a real fault: it happens again, by default */
}

void mapfile_start(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
    (void)page_size();
}

int mapfile_open(int fd, size_t len, mapped_file *m)
{
    void *p;
    memset(m, 0, sizeof *m);
    m->slot = -1;
    for (int i = 0; i < SLOTS && m->slot < 0; i++) {
        uintptr_t want = 0;
        /* claim the slot with a placeholder address no mapping has */
        if (atomic_compare_exchange_strong(&slots[i].start, &want, (uintptr_t)1))
            m->slot = i;
    }
    if (m->slot < 0) {
        errno = EMFILE;
        return -1;
    }
    p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        atomic_store(&slots[m->slot].start, 0);
        m->slot = -1;
        errno = e;
        return -1;
    }
    madvise(p, len, MADV_SEQUENTIAL);
    m->base = p;
    m->len = len;
    atomic_store(&slots[m->slot].cut, 0);
    atomic_store(&slots[m->slot].len, len);
    atomic_store(&slots[m->slot].start, (uintptr_t)p);
    return 0;
}

void mapfile_drop(mapped_file *m, size_t n)
{
    size_t ps = page_size(), end;
    if (!m->base)
        return;
    if (n > m->len)
        n = m->len;
    end = n == m->len ? (m->len + ps - 1) / ps * ps : n / ps * ps;
    if (end > m->dropped) {
        madvise(m->base + m->dropped, end - m->dropped, MADV_DONTNEED);
        m->dropped = end;
    }
}

int mapfile_cut_short(const mapped_file *m)
{
    return m->base && m->slot >= 0 && atomic_load(&slots[m->slot].cut);
}

void mapfile_close(mapped_file *m)
{
    if (!m->base)
        return;
    atomic_store(&slots[m->slot].start, (uintptr_t)1); /* no longer found by the handler */
    munmap(m->base, m->len);
    atomic_store(&slots[m->slot].len, 0);
    atomic_store(&slots[m->slot].start, 0);
    memset(m, 0, sizeof *m);
    m->slot = -1;
}
