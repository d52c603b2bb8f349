/* childproc: starting and stopping the processes loadlab drives (the service, wrk, git).
 *
 * Each child gets its own process group, so one kill reaches whatever it spawned, and a
 * terminal's Ctrl-C reaches only loadlab, which then stops the children in order and
 * records why. A child dies with loadlab (PR_SET_PDEATHSIG), so even a loadlab killed
 * with SIGKILL leaves nothing running. A failed exec is reported to the parent through
 * a close-on-exec pipe, so "no such file" is an error at spawn time, not a mystery
 * exit status 127 later. */
#ifndef LOADLAB_CHILDPROC_H
#define LOADLAB_CHILDPROC_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* For childproc_spec.stdout_fd: give the parent a pipe to read the child's stdout. */
#define CHILDPROC_PIPE (-2)
/* For stdout_fd / stderr_fd: /dev/null. */
#define CHILDPROC_NULL (-1)

struct childproc_spec {
    char *const *argv;      /* argv[0] is looked up in PATH if it has no '/' */
    char *const *env_add;   /* "NAME=value" entries to add, NULL-terminated; may be NULL */
    int stdout_fd;          /* an fd to use as stdout, CHILDPROC_NULL or CHILDPROC_PIPE */
    int stderr_fd;          /* an fd to use as stderr or CHILDPROC_NULL */
    const cpu_set_t *cpus;  /* CPUs the child may run on (sched_setaffinity); NULL: any */
};

/* Longest CPU list childproc_parse_cpus takes. */
#define CHILDPROC_MAX_CPU_LIST 128

/* Parses a CPU list as taskset -c writes it ("1", "0,2", "0-3") into *set.
 * Returns 0, or -1 with err filled (empty, malformed, a CPU at or above CPU_SETSIZE,
 * a range backwards, over CHILDPROC_MAX_CPU_LIST characters). Whether the CPUs exist
 * on this machine is checked when a child is started on them. */
int childproc_parse_cpus(const char *text, cpu_set_t *set, char *err, size_t errlen);

/* Starts a child in a new process group with default signal handling and an empty
 * signal mask, pinned to spec->cpus if given. With CHILDPROC_PIPE, *stdout_pipe gets
 * the read end (non-blocking, close-on-exec; the caller closes it). Returns 0, or -1
 * with err filled when fork, pinning or exec fails ("cannot run build/orderd: No such
 * file or directory"); on failure no child is left. */
int childproc_spawn(const struct childproc_spec *spec, pid_t *pid, int *stdout_pipe,
                    char *err, size_t errlen);

/* Checks whether the child has ended, reaping it if so. Returns 1 (ended; *status as
 * from waitpid), 0 (still running), or -1 (not our child). */
int childproc_poll(pid_t pid, int *status);

/* Stops a child and its process group: SIGTERM, up to grace_ms for it to exit, then
 * SIGKILL; reaps it and kills any process left in its group. *status gets the exit
 * status. Returns 0, or -1 if pid is not a child of ours. */
int childproc_stop(pid_t pid, int grace_ms, int *status);

/* Describes a waitpid status: "exited with status 3", "killed by signal 11 (SIGSEGV)".
 * Returns buf. */
char *childproc_describe_status(int status, char *buf, size_t buflen);

/* The last non-empty line of a child's log file (at most its last 2 KiB are read),
 * for error messages; "" when the file is missing or empty. */
void childproc_log_last_line(const char *path, char *buf, size_t buflen);

/* Runs argv to completion (at most timeout_ms) and captures up to outlen - 1 bytes of
 * its stdout, trailing newlines removed. Returns the exit code (0..255), or -1 with
 * err filled when it could not run, was killed, or timed out. */
int childproc_capture(char *const *argv, int timeout_ms, char *out, size_t outlen,
                      char *err, size_t errlen);

#endif
