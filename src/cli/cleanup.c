/* cleanup.c - temporary files that a signal must not leave behind, and the one thread that takes signals.
 *
 * A signal handler may only do async-signal-safe things, and a handler that
 * sweeps the temporary files races with threads that keep creating new ones
 * (a Ctrl-C on a batch of small files used to leave 0-byte temporaries).  So
 * the signals are blocked in every thread and taken by sigwait() on a thread
 * of their own, which can use a mutex: creating-and-registering a temporary
 * file, renaming a group of them into place, and the sweep are each done
 * under one lock.  After the sweep the thread keeps the lock, restores the
 * default action and raises the signal again: the process ends as it would
 * have, with no temporary file left and no new one possible.
 */
#define _GNU_SOURCE /* mkostemp */
#include "cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_stopping;
static char **g_temp; /* registered temporary files; NULL in free entries */
static size_t g_n, g_cap;
static char **g_swept; /* folders already swept for stale files */
static size_t g_n_swept;

static void *signal_thread(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    pthread_mutex_lock(&g_mu);
    g_stopping = 1;
    for (size_t i = 0; i < g_n; i++)
        if (g_temp[i])
            unlink(g_temp[i]);
    /* The lock stays held: nothing is created or renamed from here on. */
    {
        sigset_t one;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        sigaction(sig, &sa, NULL);
        sigemptyset(&one);
        sigaddset(&one, sig);
        pthread_sigmask(SIG_UNBLOCK, &one, NULL);
        raise(sig);
    }
    _exit(128 + sig); /* not reached: the default action ends the process */
}

void cleanup_start(void)
{
    static sigset_t set;
    pthread_t tid;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (pthread_create(&tid, NULL, signal_thread, &set) == 0)
        pthread_detach(tid);
    else
        pthread_sigmask(SIG_UNBLOCK, &set, NULL); /* no thread: signals keep their default */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
}

void cleanup_lock(void) { pthread_mutex_lock(&g_mu); }
void cleanup_unlock(void) { pthread_mutex_unlock(&g_mu); }

int cleanup_stopping(void)
{
    int s;
    pthread_mutex_lock(&g_mu);
    s = g_stopping;
    pthread_mutex_unlock(&g_mu);
    return s;
}

/* A free entry for `path` (a copy), or -1 when out of memory. */
static int register_path(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    for (size_t i = 0; i < g_n; i++)
        if (!g_temp[i]) {
            g_temp[i] = copy;
            return (int)i;
        }
    if (g_n == g_cap) {
        size_t cap = g_cap ? g_cap * 2 : 16;
        char **nv = realloc(g_temp, cap * sizeof *nv);
        if (!nv) {
            free(copy);
            return -1;
        }
        g_temp = nv;
        g_cap = cap;
    }
    g_temp[g_n] = copy;
    return (int)g_n++;
}

int cleanup_mkstemp(char *tmpl, int *id)
{
    int fd, e;
    pthread_mutex_lock(&g_mu);
    if (g_stopping) {
        pthread_mutex_unlock(&g_mu);
        errno = EINTR;
        return -1;
    }
    fd = mkostemp(tmpl, O_CLOEXEC);
    if (fd >= 0) {
        *id = register_path(tmpl);
        if (*id < 0) {
            unlink(tmpl);
            close(fd);
            fd = -1;
            errno = ENOMEM;
        }
    }
    e = errno;
    pthread_mutex_unlock(&g_mu);
    errno = e;
    return fd;
}

void cleanup_forget(int id, int locked)
{
    if (id < 0)
        return;
    if (!locked)
        pthread_mutex_lock(&g_mu);
    if ((size_t)id < g_n) {
        free(g_temp[id]);
        g_temp[id] = NULL;
    }
    if (!locked)
        pthread_mutex_unlock(&g_mu);
}

/* 1 if `name` is CLEANUP_TEMP_PREFIX "<pid>-XXXXXX" of a process that no
 * longer exists on this machine. */
static int dead_owner(const char *name)
{
    const char *p = name + strlen(CLEANUP_TEMP_PREFIX);
    char *end;
    long pid;
    if (*p < '1' || *p > '9')
        return 0;
    pid = strtol(p, &end, 10);
    if (*end != '-' || strlen(end + 1) != 6 || pid <= 0 || pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Stale files are left alone for this long after their last write. */
#define STALE_SECONDS 60

void cleanup_sweep_stale(const char *dir)
{
    DIR *d;
    struct dirent *de;
    time_t now = time(NULL);
    pthread_mutex_lock(&g_mu);
    for (size_t i = 0; i < g_n_swept; i++)
        if (strcmp(g_swept[i], dir) == 0) {
            pthread_mutex_unlock(&g_mu);
            return;
        }
    {
        char **nv = realloc(g_swept, (g_n_swept + 1) * sizeof *nv);
        char *copy = strdup(dir);
        if (nv)
            g_swept = nv;
        if (nv && copy)
            g_swept[g_n_swept++] = copy;
        else
            free(copy);
    }
    pthread_mutex_unlock(&g_mu);
    d = opendir(dir);
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (strncmp(de->d_name, CLEANUP_TEMP_PREFIX, strlen(CLEANUP_TEMP_PREFIX)) != 0 ||
            !dead_owner(de->d_name))
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            now - st.st_mtime >= STALE_SECONDS)
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}
