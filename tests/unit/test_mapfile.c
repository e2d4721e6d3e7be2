/* test_mapfile.c - a mapped input (mapfile.c, input.c): its bytes, its pages dropped behind the reader, and a file cut short while mapped. */
#include "test_util.h"

#include "../../src/cli/input.h"
#include "../../src/cli/mapfile.h"

#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)

static char g_dir[256];

/* A file of n bytes, byte i = (i * 7 + i / 4096) & 255. */
static const char *make_file(const char *name, size_t n)
{
    static char p[512];
    unsigned char *b = malloc(n);
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)((i * 7 + i / 4096) & 255);
    f = fopen(p, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n);
    if (f)
        fclose(f);
    free(b);
    return p;
}

static unsigned char want(size_t i) { return (unsigned char)((i * 7 + i / 4096) & 255); }

/* The mapped pages of [p, p + n) in this process now: the Rss of its
 * mapping in /proc/self/smaps (mincore would tell the page cache's). */
static size_t resident(const unsigned char *p, size_t n)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    uintptr_t lo = (uintptr_t)p, hi = lo + n;
    size_t kb = 0;
    int in = 0;
    (void)hi;
    if (!f)
        return (size_t)-1;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = a <= lo && lo < b;
            continue;
        }
        if (in && strncmp(line, "Rss:", 4) == 0)
            kb = strtoul(line + 4, NULL, 10);
    }
    fclose(f);
    return kb * 1024;
}

static void a_large_file_is_mapped_and_small_ones_copied(void)
{
    input_bytes in;
    cnf_error err;
    const char *big = make_file("big.bin", 3 * MIB + 5);
    unsigned sum = 0, sum_want = 0;
    CHECK_EQ_INT(input_open(big, 1024, NULL, NULL, &in, &err), CNF_OK); /* over 1 KiB: mapped */
    CHECK(in.map.base != NULL && in.buf == in.map.base);
    CHECK(in.len == 3 * MIB + 5);
    for (size_t i = 0; i < in.len; i += 997) {
        sum += in.buf[i];
        sum_want += want(i);
    }
    CHECK(sum == sum_want && in.buf[in.len - 1] == want(in.len - 1));
    CHECK_EQ_INT(input_cut_short(&in, big, &err), CNF_OK);
    input_close(&in);
    CHECK(in.buf == NULL);

    {
        const char *small = make_file("small.bin", 1000);
        CHECK_EQ_INT(input_open(small, 1 << 20, NULL, NULL, &in, &err), CNF_OK);
        CHECK(in.map.base == NULL && in.len == 1000 && in.buf[999] == want(999));
        input_close(&in);
        /* copied: the limit applies */
        CHECK_EQ_INT(input_open(small, 999, NULL, NULL, &in, &err), CNF_E_TOO_BIG);
    }
}

static cnf_status refuse(const unsigned char *start, size_t len, const char *path, void *ctx,
                         cnf_error *err)
{
    int *seen = ctx;
    (void)start;
    (void)path;
    (void)err;
    *seen = (int)len;
    return CNF_E_DECODE;
}

static void the_first_bytes_are_checked_before_anything_else(void)
{
    input_bytes in;
    cnf_error err;
    int seen = 0;
    const char *big = make_file("big2.bin", 2 * MIB);
    CHECK_EQ_INT(input_open(big, UINT64_MAX, refuse, &seen, &in, &err), CNF_E_DECODE);
    CHECK_EQ_INT(seen, INPUT_CHECK_BYTES);
    CHECK(in.buf == NULL && in.map.base == NULL);
}

static void pages_behind_the_reader_leave_memory(void)
{
    mapped_file m;
    const char *big = make_file("big3.bin", 8 * MIB);
    int fd = open(big, O_RDONLY);
    volatile unsigned sum = 0;
    CHECK(fd >= 0);
    CHECK_EQ_INT(mapfile_open(fd, 8 * MIB, &m), 0);
    close(fd);
    for (size_t i = 0; i < 8 * MIB; i += 4096)
        sum += m.base[i];
    CHECK(resident(m.base, 8 * MIB) == 8 * MIB);
    /* Whole pages only: up to 5 MiB.  The kernel may map a file's pages in
     * larger blocks (fault-around, large folios), so the checks allow
     * for less than 3 MiB left, and a little more after a fault. */
    mapfile_drop(&m, 5 * MIB + 100);
    CHECK(resident(m.base, 8 * MIB) <= 3 * MIB);
    CHECK(resident(m.base, 8 * MIB) >= 2 * MIB);
    /* a dropped page reads the same bytes again */
    CHECK(m.base[12345] == want(12345));
    mapfile_drop(&m, 8 * MIB);
    CHECK(resident(m.base, 8 * MIB) <= 2 * MIB); /* what was faulted back stays */
    m.dropped = 0;
    mapfile_drop(&m, 8 * MIB);
    CHECK(resident(m.base, 8 * MIB) == 0);
    CHECK(!mapfile_cut_short(&m));
    mapfile_close(&m);
    (void)sum;
}

static void a_file_cut_short_reads_zeros_and_says_so(void)
{
    input_bytes in;
    cnf_error err;
    const char *big = make_file("cut.bin", 4 * MIB);
    CHECK_EQ_INT(input_open(big, UINT64_MAX, NULL, NULL, &in, &err), CNF_OK);
    CHECK(in.map.base != NULL);
    CHECK(in.buf[100] == want(100));
    CHECK_EQ_INT(truncate(big, MIB), 0);
    /* past the new end: zeros, no SIGBUS; before it: the bytes */
    CHECK(in.buf[2 * MIB + 17] == 0);
    CHECK(in.buf[4 * MIB - 1] == 0);
    CHECK(in.buf[MIB - 1] == want(MIB - 1));
    CHECK_EQ_INT(input_cut_short(&in, big, &err), CNF_E_IO);
    CHECK_STR_CONTAINS(err.msg, "cut short while it was being read");
    input_close(&in);
}

static void a_fault_outside_every_mapping_still_ends_the_process(void)
{
    /* A mapping this module does not know, past its file's end: the
     * handler passes the fault on, and the process ends by SIGBUS. */
    const char *p = make_file("other.bin", 100);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(p, O_RDONLY);
        volatile unsigned char *m = mmap(NULL, 2 * 4096 * 4, PROT_READ, MAP_PRIVATE, fd, 0);
        volatile unsigned char x;
        if (m == MAP_FAILED)
            _exit(3);
        x = m[4 * 4096];
        (void)x;
        _exit(0);
    }
    {
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
    }
}

int main(void)
{
    char tmpl[] = "/tmp/cnnfilter-test-mapfile-XXXXXX";
    if (!mkdtemp(tmpl))
        return 1;
    snprintf(g_dir, sizeof g_dir, "%s", tmpl);
    mapfile_start();
    RUN(a_large_file_is_mapped_and_small_ones_copied);
    RUN(the_first_bytes_are_checked_before_anything_else);
    RUN(pages_behind_the_reader_leave_memory);
    RUN(a_file_cut_short_reads_zeros_and_says_so);
    RUN(a_fault_outside_every_mapping_still_ends_the_process);
    t_remove_tree(g_dir);
    return t_finish("test_mapfile");
}
