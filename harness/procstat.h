/* procstat: what /proc says about one process: threads, resident memory, open file
 * descriptors and CPU time.
 *
 * loadlab reads these itself for a service it spawned (or whose pid a scenario gives)
 * so that leak gates do not depend on the service reporting its own leaks honestly,
 * and so that they work for services with no process_* metrics at all. */
#ifndef LOADLAB_PROCSTAT_H
#define LOADLAB_PROCSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A process with more descriptors than this is counted as this many. */
#define PROCSTAT_MAX_FDS 1000000

struct procstat {
    uint64_t threads;
    uint64_t rss_bytes;
    uint64_t open_fds;
    double cpu_seconds;   /* user + system */
};

/* Reads /proc/PID/stat and counts /proc/PID/fd. Returns 0, or -1 with err filled when
 * the process is gone or /proc cannot be read (*out unchanged). */
int procstat_read(pid_t pid, struct procstat *out, char *err, size_t errlen);

#endif
