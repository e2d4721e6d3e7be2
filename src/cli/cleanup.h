/* cleanup.h - temporary files that a signal must not leave behind, and the one thread that takes signals. */
#ifndef CNF_CLI_CLEANUP_H
#define CNF_CLI_CLEANUP_H

#include <stddef.h>

/* cleanup_start - block SIGINT, SIGTERM and SIGHUP in every thread and take
 * them on a thread of their own, which removes the registered temporary
 * files and then ends the process by the same signal; ignore SIGPIPE (a
 * closed pipe is an EPIPE write error) and SIGXFSZ (a file-size limit is an
 * EFBIG write error).  Call once, before any other thread exists. */
void cleanup_start(void);

/* cleanup_mkstemp - create a temporary file from `tmpl` (ending in XXXXXX,
 * rewritten in place) and register it for removal on a signal, as one step:
 * once a signal has been taken no new temporary file is created (fails with
 * EINTR).  Returns the descriptor (close-on-exec) and the registration in
 * *id, or -1 with errno set. */
int cleanup_mkstemp(char *tmpl, int *id);

/* cleanup_lock / cleanup_unlock - hold off the signal thread while several
 * temporary files are renamed into place, so that a signal comes before or
 * after a group of renames, never in the middle. */
void cleanup_lock(void);
void cleanup_unlock(void);

/* cleanup_forget - the file registered as `id` is no longer to be removed
 * (renamed into place, or removed by its owner).  Call with the lock held
 * when renaming as a group (locked = 1), else without (locked = 0). */
void cleanup_forget(int id, int locked);

/* cleanup_stopping - 1 once a signal was taken: callers stop starting work. */
int cleanup_stopping(void);

/* cleanup_temp_prefix - the start of every temporary file name this tool
 * makes (".cnnfilter-"), for the stale-file sweep and the tests. */
#define CLEANUP_TEMP_PREFIX ".cnnfilter-"

/* cleanup_sweep_stale - remove, once per folder per run, temporary files of
 * this tool in `dir` that a run which no longer exists left behind (killed
 * by SIGKILL or a power cut): the name carries the creator's process id, and
 * a file is stale when no such process exists and it has not been written
 * for a minute (a process of the same id on another machine sharing the
 * folder is still writing it).  Best effort; never fails. */
void cleanup_sweep_stale(const char *dir);

#endif
