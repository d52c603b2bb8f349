/* procstat: a process's resource figures read from /proc — CPU seconds, resident and
 * virtual memory, open and allowed file descriptors, threads, start time — for
 * orderd's process_* metrics and for the driver's sampling of any process it watches.
 * Linux only; reads /proc/PID/stat, /proc/PID/fd, /proc/PID/limits and /proc/stat. */
#ifndef LOADLAB_PROCSTAT_H
#define LOADLAB_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

struct procstat {
    double cpu_seconds;          /* user + system, in /proc's 10 ms ticks */
    uint64_t rss_bytes;
    uint64_t vsize_bytes;
    uint64_t open_fds;
    uint64_t max_fds;            /* soft limit; 0 when unknown */
    uint64_t threads;
    double start_time_seconds;   /* since the Unix epoch */
};

/* Reads the figures of pid (0 for this process). Returns 0, or -1 when the process
 * does not exist or /proc cannot be read (*out is then undefined). */
int procstat_read(pid_t pid, struct procstat *out);

/* The CPU seconds pid (0: this process) has run, all its threads, exited ones too,
 * to the nanosecond: its process CPU clock (clock_getcpuclockid), where
 * /proc/PID/stat counts 10 ms ticks - a one-second window of a service at a few
 * hundred requests a second moves by one or two ticks, as much as a faint fault
 * adds. Returns 0, or -1 when the process is gone (*out untouched). */
int procstat_cpu_seconds(pid_t pid, double *out);

#endif
