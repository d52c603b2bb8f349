/* loadlab_proc: the loadlab binary run as a CI job runs it, for the command-line
 * tests — its arguments, extra environment, stdout and stderr into one file, and
 * its exit code, with a time limit so a stuck run fails the test instead of hanging.
 *
 * The binary is $LOADLAB_BIN (set by the test runner), or build/loadlab. */
#ifndef TESTS_LOADLAB_PROC_H
#define TESTS_LOADLAB_PROC_H

#include <sys/types.h>

#define LOADLAB_PROC_MAX_ARGS 40

/* The path of the loadlab binary under test. */
const char *loadlab_proc_bin(void);

/* Starts loadlab with args (NULL-terminated, after the program name; at most
 * LOADLAB_PROC_MAX_ARGS - 2) and env additions ("NAME=value", NULL-terminated; may be
 * NULL), its stdout and stderr written to out_path (truncated). Returns the pid;
 * fails the test when it cannot start. */
pid_t loadlab_proc_start(const char *const *args, char *const *env, const char *out_path);

/* The same with stdout and stderr in files of their own (stderr_path NULL: both in
 * stdout_path), for a command whose stdout is its product (baseline export). */
pid_t loadlab_proc_start_split(const char *const *args, char *const *env, const char *stdout_path,
                               const char *stderr_path);

/* Waits for pid at most timeout_s. Returns its exit code (128 + signal when killed by
 * one); fails the test (after SIGKILL and reaping) when it did not finish in time. */
int loadlab_proc_wait(pid_t pid, int timeout_s);

/* loadlab_proc_start then loadlab_proc_wait. */
int loadlab_proc_run(const char *const *args, char *const *env, const char *out_path, int timeout_s);

#endif
