/* service: spawning or finding the service, readiness, crash watch, stop. See service.h. */
#include "run/service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/childproc.h"
#include "base/cmdline.h"
#include "units.h"

#define MAX_SMALL_BODY 65536
#define STOP_GRACE_MS 5000
#define READY_POLL_MS 50

void service_init(struct service *svc, const struct scenario *sc)
{
    memset(svc, 0, sizeof *svc);
    svc->sc = sc;
    svc->log_fd = -1;
    svc->out_fd = -1;
}

static int pick_free_port(char *out, size_t outlen, char *err, size_t errlen)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = -1;

    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        snprintf(err, errlen, "cannot pick a free port: %s", strerror(errno));
    else
        rc = snprintf(out, outlen, "%d", ntohs(addr.sin_port)) > 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* scheme://host:port of a URL. */
static void url_base(const char *url, char *out, size_t outlen)
{
    const char *host = strstr(url, "://");
    const char *slash = host ? strchr(host + 3, '/') : NULL;
    size_t n = slash ? (size_t)(slash - url) : strlen(url);
    snprintf(out, outlen, "%.*s", (int)n, url);
}

/* Fills the service URLs from the scenario (after placeholder substitution). */
static int set_urls(struct service *svc, const char *port, const char *debug_port, char *err, size_t errlen)
{
    const struct scenario *sc = svc->sc;
    char buf[SERVICE_URL_MAX];

    if (sc->url[0]) {
        size_t len;
        if (cmdline_substitute_text(sc->url, "{port}", port ? port : "{port}", buf, sizeof buf) < 0) {
            snprintf(err, errlen, "url too long");
            return -1;
        }
        len = strlen(buf);
        while (len > 0 && buf[len - 1] == '/')
            buf[--len] = '\0';  /* [load] path brings its own '/' */
        memcpy(svc->public_base, buf, len + 1);
    } else if (port) {
        snprintf(svc->public_base, sizeof svc->public_base, "http://127.0.0.1:%s", port);
    }
    if (sc->metrics[0]) {
        if (cmdline_substitute_text(sc->metrics, "{debug_port}", debug_port ? debug_port : "{debug_port}",
                                    svc->metrics_url, sizeof svc->metrics_url) < 0) {
            snprintf(err, errlen, "metrics URL too long");
            return -1;
        }
    } else if (debug_port) {
        snprintf(svc->metrics_url, sizeof svc->metrics_url, "http://127.0.0.1:%s/metrics", debug_port);
    }
    if (svc->metrics_url[0])
        url_base(svc->metrics_url, svc->debug_base, sizeof svc->debug_base);
    if (!svc->public_base[0]) {
        snprintf(err, errlen, "the service's public URL is unknown: give [service] url or use {port}");
        return -1;
    }
    return 0;
}

/* Picks ports for the command's placeholders, or asks orderd for ephemeral ones. */
static int prepare_command(struct service *svc, struct cmdline *cl, char *err, size_t errlen)
{
    char port[16], debug_port[16];
    bool has_port = cmdline_has_placeholder(cl, "{port}");
    bool has_debug_port = cmdline_has_placeholder(cl, "{debug_port}");

    if (has_port || has_debug_port) {
        if ((has_port && (pick_free_port(port, sizeof port, err, errlen) < 0 ||
                          cmdline_substitute(cl, "{port}", port, err, errlen) < 0)) ||
            (has_debug_port && (pick_free_port(debug_port, sizeof debug_port, err, errlen) < 0 ||
                                cmdline_substitute(cl, "{debug_port}", debug_port, err, errlen) < 0)))
            return -1;
        if (set_urls(svc, has_port ? port : NULL, has_debug_port ? debug_port : NULL, err, errlen) < 0)
            return -1;
        snprintf(svc->port, sizeof svc->port, "%s", has_port ? port : "");
        snprintf(svc->debug_port, sizeof svc->debug_port, "%s", has_debug_port ? debug_port : "");
        svc->announced = true;
        return 0;
    }
    if (svc->sc->url[0]) {
        if (set_urls(svc, NULL, NULL, err, errlen) < 0)
            return -1;
        svc->announced = true;
        return 0;
    }
    if (cmdline_append(cl, "--listen", err, errlen) < 0 || cmdline_append(cl, "127.0.0.1:0", err, errlen) < 0 ||
        cmdline_append(cl, "--debug-listen", err, errlen) < 0 ||
        cmdline_append(cl, "127.0.0.1:0", err, errlen) < 0)
        return -1;
    return 0;
}

/* "host:port" of a base URL, for --listen. */
static const char *host_port(const char *base)
{
    const char *host = strstr(base, "://");
    return host ? host + 3 : base;
}

/* The command of a restart: the ports the first start picked, or the addresses the
 * service announced (it was asked for ephemeral ones), so that the load and the
 * scrapes find it where it was. */
static int prepare_restart(struct service *svc, struct cmdline *cl, char *err, size_t errlen)
{
    if (cmdline_has_placeholder(cl, "{port}") || cmdline_has_placeholder(cl, "{debug_port}"))
        return (svc->port[0] && cmdline_substitute(cl, "{port}", svc->port, err, errlen) < 0) ||
                       (svc->debug_port[0] && cmdline_substitute(cl, "{debug_port}", svc->debug_port, err, errlen) < 0)
                   ? -1
                   : 0;
    if (svc->sc->url[0])
        return 0;
    if (cmdline_append(cl, "--listen", err, errlen) < 0 || cmdline_append(cl, host_port(svc->public_base), err, errlen) < 0 ||
        cmdline_append(cl, "--debug-listen", err, errlen) < 0 ||
        cmdline_append(cl, host_port(svc->debug_base), err, errlen) < 0)
        return -1;
    return 0;
}

/* Spawns the command: the first time with its ports picked and a new log, again
 * (svc->pid set) on the same ports, appending to the same log. */
static int spawn(struct service *svc, const char *log_dir, char *err, size_t errlen)
{
    char msg[400];
    struct cmdline *cl = cmdline_parse(svc->sc->command, msg, sizeof msg);
    struct childproc_spec spec = {.stdout_fd = CHILDPROC_PIPE};
    char **argv = NULL;
    bool again = svc->pid != 0;
    int rc = -1;

    if (!cl) {
        snprintf(err, errlen, "service command: %s", msg);
        return -1;
    }
    if ((again ? prepare_restart(svc, cl, err, errlen) : prepare_command(svc, cl, err, errlen)) < 0)
        goto done;
    if (!again) {
        snprintf(svc->log_path, sizeof svc->log_path, "%s/service.log", log_dir);
        svc->log_fd = open(svc->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    if (svc->log_fd < 0) {
        snprintf(err, errlen, "%s: %s", svc->log_path, strerror(errno));
        goto done;
    }
    spec.argv = cmdline_argv(cl);
    if (svc->nprefix) {
        size_t n = 0;
        while (spec.argv[n])
            n++;
        if (!(argv = calloc(svc->nprefix + n + 1, sizeof *argv))) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        memcpy(argv, svc->prefix, svc->nprefix * sizeof *argv);
        memcpy(argv + svc->nprefix, spec.argv, n * sizeof *argv);
        spec.argv = argv;
    }
    spec.stderr_fd = svc->log_fd;
    spec.cpus = svc->sc->service_cpu_list[0] ? &svc->sc->service_cpus : NULL;
    if (childproc_spawn(&spec, &svc->pid, &svc->out_fd, err, errlen) < 0)
        goto done;
    svc->proc_pid = svc->pid;
    svc->reaped = false;
    svc->line_len = 0;
    rc = 0;
done:
    free(argv);
    cmdline_free(cl);
    return rc;
}

int service_start(struct service *svc, const char *log_dir, char *err, size_t errlen)
{
    if (svc->sc->command[0])
        return spawn(svc, log_dir, err, errlen);
    if (set_urls(svc, NULL, NULL, err, errlen) < 0)
        return -1;
    svc->announced = true;
    svc->proc_pid = svc->sc->pid;
    return 0;
}

int service_restart(struct service *svc, char *err, size_t errlen)
{
    char how[128];

    if (!svc->pid || !svc->sc->command[0]) {
        snprintf(err, errlen, "only a service loadlab started can be restarted");
        return -1;
    }
    service_stop(svc, how, sizeof how);  /* how it ended is the restart's doing */
    if (svc->out_fd >= 0) {
        close(svc->out_fd);
        svc->out_fd = -1;
    }
    return spawn(svc, NULL, err, errlen);
}

void service_drain(struct service *svc)
{
    char buf[4096];
    ssize_t n;

    if (svc->out_fd < 0)
        return;
    while ((n = read(svc->out_fd, buf, sizeof buf)) > 0) {
        if (write(svc->log_fd, buf, (size_t)n) < 0) {
            /* the log is evidence, not control; a full disk must not stop the run */
        }
        for (ssize_t i = 0; i < n && !svc->announced; i++) {
            char pub[256], dbg[256];
            if (buf[i] != '\n') {
                if (svc->line_len + 1 < sizeof svc->line)
                    svc->line[svc->line_len++] = buf[i];
                continue;
            }
            svc->line[svc->line_len] = '\0';
            svc->line_len = 0;
            if (sscanf(svc->line, "listening public=%255s debug=%255s", pub, dbg) == 2) {
                snprintf(svc->public_base, sizeof svc->public_base, "http://%s", pub);
                snprintf(svc->metrics_url, sizeof svc->metrics_url, "http://%s/metrics", dbg);
                snprintf(svc->debug_base, sizeof svc->debug_base, "http://%s", dbg);
                svc->announced = true;
            }
        }
    }
    if (n == 0) {
        close(svc->out_fd);
        svc->out_fd = -1;
    }
}

int service_check_exit(struct service *svc, double t, char *why, size_t whylen)
{
    char how[128], tail[300];
    int status;

    if (!svc->pid || svc->reaped || childproc_poll(svc->pid, &status) != 1)
        return 0;
    svc->reaped = true;
    service_drain(svc);
    childproc_log_last_line(svc->log_path, tail, sizeof tail);
    snprintf(why, whylen, "service %s at t=%.1fs (log %s%s%s)", childproc_describe_status(status, how, sizeof how),
             t, svc->log_path, tail[0] ? ": " : "", tail);
    return 1;
}

/* The readiness URL: [service] ready, else /readyz of the debug API, else the load's
 * path (any answer below 500 means a bare service is up). A service whose debug API has
 * no /readyz (any Prometheus-instrumented service that is not orderd) falls back to the
 * load's path; see service_wait_ready. */
static int set_ready_url(struct service *svc, char *err, size_t errlen)
{
    const struct scenario *sc = svc->sc;
    int n;

    if (sc->ready[0])
        n = snprintf(svc->ready_url, sizeof svc->ready_url, "%s", sc->ready);
    else if (svc->debug_base[0])
        n = snprintf(svc->ready_url, sizeof svc->ready_url, "%s/readyz", svc->debug_base);
    else {
        n = snprintf(svc->ready_url, sizeof svc->ready_url, "%s%s", svc->public_base, sc->path);
        svc->ready_any_status = true;
    }
    if (n < 0 || (size_t)n >= sizeof svc->ready_url) {
        snprintf(err, errlen, "readiness URL too long");
        return -1;
    }
    return 0;
}

int service_wait_ready(struct service *svc, struct httpclient *http, service_wait_fn wait, void *user, char *err,
                       size_t errlen)
{
    const struct scenario *sc = svc->sc;
    int64_t deadline = units_now_ns() + sc->ready_timeout_ns;
    struct httpclient_response resp;
    char why[400] = "";

    err[0] = '\0';
    while (!svc->announced) {
        if (wait(user, READY_POLL_MS) < 0)
            return -1;
        if (units_now_ns() > deadline) {
            snprintf(err, errlen, "service printed no 'listening public=... debug=...' line within %.0fs (log %s)",
                     sc->ready_timeout_ns / 1e9, svc->log_path);
            return -1;
        }
    }
    if (set_ready_url(svc, err, errlen) < 0)
        return -1;
    for (;;) {
        if (httpclient_request(http, "GET", svc->ready_url, NULL, 1000, MAX_SMALL_BODY, &resp, why, sizeof why) ==
            0) {
            if (resp.status == 200 || (svc->ready_any_status && resp.status < 500))
                return 0;
            if (resp.status == 404 && !sc->ready[0] && !svc->ready_any_status) {
                /* no /readyz here: the service is up when its public URL answers at all */
                int n = snprintf(svc->ready_url, sizeof svc->ready_url, "%s%s", svc->public_base, sc->path);
                if (n < 0 || (size_t)n >= sizeof svc->ready_url) {
                    snprintf(err, errlen, "readiness URL too long");
                    return -1;
                }
                svc->ready_any_status = true;
                continue;
            }
            snprintf(why, sizeof why, "GET %.300s answered %ld", svc->ready_url, resp.status);
        }
        if (units_now_ns() > deadline) {
            snprintf(err, errlen, "service not ready within %.0fs: %s", sc->ready_timeout_ns / 1e9, why);
            return -1;
        }
        if (wait(user, READY_POLL_MS) < 0)
            return -1;
    }
}

int service_stop(struct service *svc, char *how, size_t howlen)
{
    int status, rc = 0;

    if (svc->pid && !svc->reaped) {
        if (childproc_stop(svc->pid, STOP_GRACE_MS, &status) == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            childproc_describe_status(status, how, howlen);
            rc = 1;
        }
        svc->reaped = true;
    }
    service_drain(svc);
    return rc;
}

void service_close(struct service *svc)
{
    if (svc->log_fd >= 0)
        close(svc->log_fd);
    if (svc->out_fd >= 0)
        close(svc->out_fd);
    svc->log_fd = svc->out_fd = -1;
}
