/* service: the lifecycle of the service a run drives — spawned from [service] command
 * (ports picked for {port} and {debug_port}, or orderd asked to listen on ephemeral
 * ports and to say where) or given by [service] url; then ready, watched, stopped.
 *
 * A spawned service's stdout is copied to its log while the line orderd prints when
 * it listens ("listening public=ADDR debug=ADDR") is looked for; its stderr goes to the
 * log directly. Readiness is a 200 from the readiness URL ([service] ready, else the
 * debug API's /readyz — or, when that answers 404, any answer below 500 from the load's
 * path — else any answer below 500 from the load's path). */
#ifndef LOADLAB_SERVICE_H
#define LOADLAB_SERVICE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/httpclient.h"
#include "run/scenario.h"

#define SERVICE_URL_MAX 1024

struct service {
    const struct scenario *sc;
    char log_path[PATH_MAX + 32];
    int log_fd;                  /* -1 when none */
    pid_t pid;                   /* spawned, or 0 */
    bool reaped;
    int out_fd;                  /* its stdout, -1 when none or closed */
    char line[4096];             /* the stdout line being assembled */
    size_t line_len;
    bool announced;              /* its URLs are known */
    char public_base[SERVICE_URL_MAX], metrics_url[SERVICE_URL_MAX], debug_base[SERVICE_URL_MAX];
    char ready_url[SERVICE_URL_MAX];
    bool ready_any_status;
    pid_t proc_pid;              /* the process to read /proc of (spawned, or [service] pid), or 0 */
    char port[16], debug_port[16];  /* what {port} and {debug_port} became, "" when not used */
    char *const *prefix;         /* words put before the command (a callgrind run), or NULL */
    size_t nprefix;
};

/* Prepares svc for sc (borrowed). Never fails. */
void service_init(struct service *svc, const struct scenario *sc);

/* Spawns the service (its log in log_dir/service.log), or takes the one given by URL.
 * Returns 0, or -1 with err filled. */
int service_start(struct service *svc, const char *log_dir, char *err, size_t errlen);

/* Stops a spawned service (as service_stop) and spawns its command again on the same
 * ports, its output appended to the same log; wait for it with service_wait_ready.
 * Returns 0, or -1 with err filled (not a service loadlab started, or it could not be
 * spawned). */
int service_restart(struct service *svc, char *err, size_t errlen);

/* Copies what the service wrote on stdout to its log, looking for the listening line. */
void service_drain(struct service *svc);

/* Reaps a spawned service that ended. Returns 1 with why filled ("service exited with
 * status 1 at t=0.3s (log PATH: LAST LINE)"), or 0 while it runs (or was not spawned). */
int service_check_exit(struct service *svc, double t, char *why, size_t whylen);

/* How service_wait_ready waits between attempts: up to timeout_ms, watching the run.
 * Returns -1 when the run must stop (its reason recorded by the caller), else 0. */
typedef int (*service_wait_fn)(void *user, int timeout_ms);

/* Waits for the listening line and then for readiness, within [service]
 * ready_timeout. Returns 0, or -1 with err filled (empty when wait said stop). */
int service_wait_ready(struct service *svc, struct httpclient *http, service_wait_fn wait, void *user, char *err,
                       size_t errlen);

/* Stops a spawned service (SIGTERM, then SIGKILL after a grace period) and drains its
 * output. Returns 1 with how filled when it did not exit with status 0, else 0. */
int service_stop(struct service *svc, char *how, size_t howlen);

/* Closes the log and the pipe. */
void service_close(struct service *svc);

#endif
