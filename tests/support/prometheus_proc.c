/* prometheus_proc: a real Prometheus for integration tests. See prometheus_proc.h. */
#include "prometheus_proc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/childproc.h"
#include "base/httpclient.h"
#include "base/promapi.h"
#include "free_port.h"

static int write_config(const struct prometheus_proc *p, const char *path, const char *job,
                        const char *const *targets, size_t n)
{
    FILE *c = fopen(path, "w");
    if (!c)
        return -1;
    fprintf(c, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: %s\n"
               "    static_configs:\n      - targets: [", job);
    for (size_t i = 0; i < n; i++)
        fprintf(c, "%s'%s'", i ? ", " : "", targets[i]);
    fprintf(c, "]\n");
    return fclose(c) == 0 ? 0 : -1;
}

int prometheus_proc_start(struct prometheus_proc *p, const char *job, const char *const *targets, size_t n)
{
    char config[128], listen[64], storage[160], cfgarg[160], logpath[128], err[512], cmd[128];
    int port, log;

    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "/tmp/loadlab-prom-XXXXXX");
    if (n > PROMETHEUS_PROC_MAX_TARGETS || !mkdtemp(p->dir))
        return -1;
    snprintf(config, sizeof config, "%s/prometheus.yml", p->dir);
    if (write_config(p, config, job, targets, n) < 0 || (port = free_port()) < 0)
        goto fail;
    snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", port);
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", port);
    snprintf(storage, sizeof storage, "--storage.tsdb.path=%s/data", p->dir);
    snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", config);
    snprintf(logpath, sizeof logpath, "%s/prometheus.log", p->dir);
    char *argv[] = {"prometheus", cfgarg, storage, listen, NULL};
    if ((log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        goto fail;
    struct childproc_spec spec = {.argv = argv, .stdout_fd = CHILDPROC_NULL, .stderr_fd = log};
    if (childproc_spawn(&spec, &p->pid, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "%s (the prometheus package is needed)\n", err);
        close(log);
        goto fail;
    }
    close(log);
    return 0;
fail:
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", p->dir);
    return -1;
}

int prometheus_proc_wait_up(const struct prometheus_proc *p, const char *job, size_t n, int timeout_s)
{
    char err[512], query[128];
    struct httpclient *client = httpclient_new(NULL, err, sizeof err);
    int rc = -1;

    if (!client)
        return -1;
    snprintf(query, sizeof query, "up{job=\"%s\"} == 1", job);
    for (int tries = 0; tries < timeout_s * 4 && rc < 0; tries++) {
        struct promapi_result r;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double end = (double)ts.tv_sec + ts.tv_nsec / 1e9;
        if (promapi_query_range(client, p->url, query, end, end, 1, 2000, &r, err, sizeof err) == 0) {
            if (r.nseries == n)
                rc = 0;
            promapi_result_free(&r);
        }
        if (rc < 0)
            usleep(250 * 1000);
    }
    if (rc < 0)
        fprintf(stderr, "Prometheus never saw its %zu targets up: %s (log in %s)\n", n, err, p->dir);
    httpclient_free(client);
    return rc;
}

int prometheus_proc_stop(struct prometheus_proc *p)
{
    char cmd[128];
    int status, rc = 0;
    if (p->pid > 0 && childproc_stop(p->pid, 5000, &status) < 0)
        rc = -1;
    p->pid = 0;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p->dir);
    if (p->dir[0] && system(cmd) != 0)
        rc = -1;
    return rc;
}
