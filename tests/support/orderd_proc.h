/* orderd_proc: the integration-test fixture — a real orderd process on ephemeral
 * ports, its log captured to a file, stopped with a signal and reaped.
 *
 * The binary is $ORDERD_BIN (set by the test runner), or build/orderd. */
#ifndef TESTS_ORDERD_PROC_H
#define TESTS_ORDERD_PROC_H

#include "curl_client.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct orderd_proc {
    pid_t pid;
    int public_port, debug_port;
    char log_path[256];
};

/* Starts orderd with --listen 127.0.0.1:0 --debug-listen 127.0.0.1:0, the given
 * extra arguments (NULL-terminated, may be NULL) and ORDERD_FAULTS=env_faults when
 * non-NULL; waits up to 10 s for its "listening" line. Returns 0, or -1 (the process,
 * if any, is killed; a message is printed). */
int orderd_proc_start(struct orderd_proc *p, const char *const *extra_args, const char *env_faults);
/* The same with RLIMIT_NOFILE (soft and hard) set to max_fds in the child; 0: unchanged. */
int orderd_proc_start_limited(struct orderd_proc *p, const char *const *extra_args, const char *env_faults,
                              unsigned long max_fds);

/* Sends sig and waits up to timeout_ms for the exit; then SIGKILLs. Returns the
 * wait status (as from waitpid), or -1 when it had to be killed. */
int orderd_proc_stop(struct orderd_proc *p, int sig, int timeout_ms);

/* The whole log so far, malloc'd and NUL-terminated (caller frees); NULL on error. */
char *orderd_proc_log(const struct orderd_proc *p);

/* Writes "http://127.0.0.1:PORT/path" for the public or debug port into buf. */
const char *orderd_proc_url(const struct orderd_proc *p, bool debug, const char *path, char *buf, size_t len);

/* One request to the public or debug port (10 s timeout); body and headers may be
 * NULL. The result is always filled (status 0 when nothing came back); free it with
 * curl_client_free. */
struct curl_client_result orderd_proc_call(const struct orderd_proc *p, bool debug, const char *method,
                                    const char *path, const char *body, const char *const *headers);

/* PUT /debug/faults/NAME with term, or DELETE it when term is NULL. Returns the HTTP
 * status (200 on success, 0 when nothing came back). */
long orderd_proc_set_fault(const struct orderd_proc *p, const char *name, const char *term);

/* The value of the sample (a metric name with its labels exactly as written, or
 * none) in the debug port's /metrics; -1 when absent or unreadable. */
double orderd_proc_metric(const struct orderd_proc *p, const char *sample);

/* Runs argv (NULL-terminated) and returns its exit status, or -1; its stdout and
 * stderr are captured into *output (malloc'd, caller frees) when output != NULL. */
int orderd_proc_run(const char *const *argv, const char *input, size_t input_len, char **output);

#endif
