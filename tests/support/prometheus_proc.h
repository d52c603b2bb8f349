/* prometheus_proc: the integration-test fixture for a real Prometheus server (the
 * Debian package) on a free loopback port, scraping the given targets every second
 * under one job, with its data in a temporary folder that is removed on stop. */
#ifndef TESTS_PROMETHEUS_PROC_H
#define TESTS_PROMETHEUS_PROC_H

#include <stddef.h>
#include <sys/types.h>

#define PROMETHEUS_PROC_MAX_TARGETS 8

struct prometheus_proc {
    pid_t pid;
    char dir[64];     /* config, data and log */
    char url[64];     /* "http://127.0.0.1:PORT" */
};

/* Starts Prometheus scraping targets ("127.0.0.1:PORT", n of them) as job `job` at a
 * 1 s interval. Returns 0, or -1 with a message printed (nothing left running). */
int prometheus_proc_start(struct prometheus_proc *p, const char *job, const char *const *targets, size_t n);

/* Waits up to timeout_s for `up{job=...}` to be 1 on all n targets. Returns 0 or -1. */
int prometheus_proc_wait_up(const struct prometheus_proc *p, const char *job, size_t n, int timeout_s);

/* Stops the server and removes its folder. Returns 0, or -1 if either failed. */
int prometheus_proc_stop(struct prometheus_proc *p);

#endif
