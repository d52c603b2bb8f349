/* runner: drives one scenario run. See runner.h.
 *
 * The timeline: t = 0 is the first scrape, just before the service's faults are set
 * and wrk starts; warmup (if any) and the measured wrk run follow back to back, and
 * the steady state the metric gates are judged on runs from the scrape taken as the
 * measured wrk starts to the scrape taken as it ends. Phases fire at their `at` and
 * `until` on the same clock. */
#include "run/runner.h"
#include "judge/verdict.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run/baseline.h"
#include "base/childproc.h"
#include "base/cmdline.h"
#include "base/httpclient.h"
#include "procstat.h"
#include "base/promtext.h"
#include "base/seriesstore.h"
#include "base/stats.h"
#include "units.h"

#define MAX_METRICS_BODY (16 * 1024 * 1024)
#define MAX_SMALL_BODY 65536
#define STOP_GRACE_MS 5000
#define WRK_STOP_GRACE_MS 1000
#define READY_POLL_MS 50
#define PROGRESS_MS 250
#define URL_MAX 1024
/* How long past its end a load may run before wrk is taken to hang. */
#define WRK_OVERRUN_NS 15000000000LL
/* A service given by URL that stops answering for this long is taken for dead. */
#define UNREACHABLE_NS 3000000000LL

enum stage { STAGE_NONE = -1, STAGE_WARMUP = 0, STAGE_MEASURE = 1 };
static const char *const stage_names[] = {"warmup", "measure"};

struct active_fault {
    char name[64];
    int64_t phase_id;
};

struct event {
    int64_t at_ns;
    size_t phase;
    bool off;
};

struct headline {
    double requests, t;   /* the requests counter summed, and when */
    double threads, queue_depth, queue_capacity;
};

struct run {
    const struct scenario *sc;
    const struct runner_options *opt;
    struct resultdb *db;
    struct runner_outcome *out;
    bool failed;
    int64_t run_id;
    char log_dir[PATH_MAX];
    char service_log_path[PATH_MAX + 32];
    int service_log;
    pid_t service_pid;
    bool service_reaped;
    int service_out;
    char line[4096];          /* the service's stdout line being assembled */
    size_t line_len;
    bool announced;
    char public_base[URL_MAX], metrics_url[URL_MAX], debug_base[URL_MAX], ready_url[URL_MAX];
    bool ready_any_status;
    pid_t proc_pid;
    struct httpclient *http;
    struct series_store *series;
    pid_t wrk_pid;
    enum stage stage;
    double stage_started[2];
    bool measure_done;
    int64_t t0_ns;
    bool clock_started;
    struct active_fault active[SCENARIO_MAX_FAULTS + SCENARIO_MAX_PHASES];
    size_t nactive;
    struct event events[2 * SCENARIO_MAX_PHASES];
    size_t nevents, next_event;
    int64_t next_sample_ns, next_progress_ns;
    struct headline now, before;
    bool progress_drawn;
    unsigned scrape_failures, scrapes;
    int64_t last_scrape_ok_ns;
    char last_scrape_err[256];
    double steady_from, steady_to;
    char labels[PROMTEXT_MAX_LABELSTR];
    bool end_load_requested, wrk_interrupted;   /* a hook ended the load early */
};

int runner_signals_open(char *err, size_t errlen)
{
    sigset_t set;
    int fd;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
        snprintf(err, errlen, "sigprocmask: %s", strerror(errno));
        return -1;
    }
    fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        snprintf(err, errlen, "signalfd: %s", strerror(errno));
    return fd;
}

int runner_signals_take(int signal_fd)
{
    struct signalfd_siginfo info;
    int interrupt = 0;
    while (read(signal_fd, &info, sizeof info) == (ssize_t)sizeof info)
        if (info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM)
            interrupt = (int)info.ssi_signo;
    return interrupt;
}

int runner_check_service_binary(const struct scenario *sc, char *err, size_t errlen)
{
    char msg[400], found[PATH_MAX];
    struct cmdline *cl;
    int rc;

    if (!sc->command[0])
        return 0;
    cl = cmdline_parse(sc->command, msg, sizeof msg);
    if (!cl) {
        snprintf(err, errlen, "%s:%d: %s", sc->file, sc->command_line, msg);
        return -1;
    }
    rc = cmdline_find_executable(cmdline_argv(cl)[0], found, sizeof found, msg, sizeof msg);
    if (rc < 0)
        snprintf(err, errlen, "%s:%d: service command: %s", sc->file, sc->command_line, msg);
    cmdline_free(cl);
    return rc;
}

static double seconds_since_t0(const struct run *r)
{
    return r->clock_started ? (double)(units_now_ns() - r->t0_ns) / 1e9 : 0;
}

/* Records why the run stops; the first reason wins. Returns -1 for convenience. */
__attribute__((format(printf, 3, 4)))
static int stop_run(struct run *r, enum runner_status status, const char *fmt, ...)
{
    va_list ap;
    if (r->failed)
        return -1;
    r->failed = true;
    r->out->status = status;
    va_start(ap, fmt);
    vsnprintf(r->out->reason, sizeof r->out->reason, fmt, ap);
    va_end(ap);
    return -1;
}

/* The last non-empty line of a log file, for error messages. */
static void last_line(const char *path, char *buf, size_t buflen)
{
    char tail[2048];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    off_t size;
    ssize_t n;
    char *end, *start;

    buf[0] = '\0';
    if (fd < 0)
        return;
    size = lseek(fd, 0, SEEK_END);
    if (size > (off_t)sizeof tail - 1)
        lseek(fd, size - (off_t)sizeof tail + 1, SEEK_SET);
    else
        lseek(fd, 0, SEEK_SET);
    n = read(fd, tail, sizeof tail - 1);
    close(fd);
    if (n <= 0)
        return;
    tail[n] = '\0';
    end = tail + n;
    while (end > tail && (end[-1] == '\n' || end[-1] == '\r'))
        *--end = '\0';
    start = strrchr(tail, '\n');
    snprintf(buf, buflen, "%.*s", (int)(buflen - 1), start ? start + 1 : tail);
}

/* Copies what the service wrote on stdout to its log, and looks for the line orderd
 * prints when ready: "listening public=ADDR debug=ADDR". */
static void drain_service_output(struct run *r)
{
    char buf[4096];
    ssize_t n;

    if (r->service_out < 0)
        return;
    while ((n = read(r->service_out, buf, sizeof buf)) > 0) {
        if (write(r->service_log, buf, (size_t)n) < 0) {
            /* the log is evidence, not control; a full disk must not stop the run */
        }
        for (ssize_t i = 0; i < n && !r->announced; i++) {
            char pub[256], dbg[256];
            if (buf[i] != '\n') {
                if (r->line_len + 1 < sizeof r->line)
                    r->line[r->line_len++] = buf[i];
                continue;
            }
            r->line[r->line_len] = '\0';
            r->line_len = 0;
            if (sscanf(r->line, "listening public=%255s debug=%255s", pub, dbg) == 2) {
                snprintf(r->public_base, sizeof r->public_base, "http://%s", pub);
                snprintf(r->metrics_url, sizeof r->metrics_url, "http://%s/metrics", dbg);
                snprintf(r->debug_base, sizeof r->debug_base, "http://%s", dbg);
                r->announced = true;
            }
        }
    }
    if (n == 0) {
        close(r->service_out);
        r->service_out = -1;
    }
}

static void check_service(struct run *r)
{
    char how[128], tail[300];
    int status;

    if (!r->service_pid || r->service_reaped || childproc_poll(r->service_pid, &status) != 1)
        return;
    r->service_reaped = true;
    drain_service_output(r);
    last_line(r->service_log_path, tail, sizeof tail);
    stop_run(r, RUNNER_CRASHED, "service %s at t=%.1fs (log %s%s%s)",
             childproc_describe_status(status, how, sizeof how), seconds_since_t0(r),
             r->service_log_path, tail[0] ? ": " : "", tail);
}

static void start_wrk(struct run *r, enum stage stage);

static void finish_wrk_stage(struct run *r, int status)
{
    char how[128], path[PATH_MAX + 32], tail[300], err[400];
    struct wrkres res;

    r->wrk_pid = 0;
    snprintf(path, sizeof path, "%s/wrk-%s.log", r->log_dir, stage_names[r->stage]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        last_line(path, tail, sizeof tail);
        stop_run(r, RUNNER_ABORTED, "wrk %s during %s (log %s%s%s)",
                 childproc_describe_status(status, how, sizeof how), stage_names[r->stage], path,
                 tail[0] ? ": " : "", tail);
        return;
    }
    snprintf(path, sizeof path, "%s/wrk-%s.json", r->log_dir, stage_names[r->stage]);
    if (wrkres_load(path, &res, err, sizeof err) < 0) {
        stop_run(r, RUNNER_ABORTED, "%s", err);
        return;
    }
    if (resultdb_load_result(r->db, r->run_id, stage_names[r->stage], r->stage_started[r->stage],
                             r->sc->connections, r->sc->threads, &res, err, sizeof err) < 0) {
        stop_run(r, RUNNER_ABORTED, "%s", err);
        return;
    }
    if (r->stage == STAGE_WARMUP) {
        start_wrk(r, STAGE_MEASURE);
        return;
    }
    r->out->load = res;
    r->out->have_load = true;
    r->measure_done = true;
}

static void check_wrk(struct run *r)
{
    int status;
    if (r->wrk_pid && childproc_poll(r->wrk_pid, &status) == 1)
        finish_wrk_stage(r, status);
}

/* Waits up to timeout_ms for a signal or service output, then checks the children.
 * Returns -1 when the run must stop (interrupt, crash, failure), else 0. */
static int wait_step(struct run *r, int timeout_ms)
{
    struct pollfd fds[2] = {{.fd = r->opt->signal_fd, .events = POLLIN},
                            {.fd = r->service_out, .events = POLLIN}};
    int signo;

    if (timeout_ms < 0)
        timeout_ms = 0;
    if (poll(fds, r->service_out >= 0 ? 2 : 1, timeout_ms) < 0 && errno != EINTR)
        return stop_run(r, RUNNER_ABORTED, "poll: %s", strerror(errno));
    signo = runner_signals_take(r->opt->signal_fd);
    if (signo) {
        r->out->interrupted = true;
        return stop_run(r, RUNNER_ABORTED, "interrupted by SIG%s at t=%.1fs", sigabbrev_np(signo),
                        seconds_since_t0(r));
    }
    drain_service_output(r);
    check_service(r);
    check_wrk(r);
    return r->failed ? -1 : 0;
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
static int set_urls(struct run *r, const char *port, const char *debug_port)
{
    const struct scenario *sc = r->sc;
    char buf[URL_MAX];

    if (sc->url[0]) {
        size_t len;
        if (cmdline_substitute_text(sc->url, "{port}", port ? port : "{port}", buf, sizeof buf) < 0)
            return stop_run(r, RUNNER_ABORTED, "url too long");
        len = strlen(buf);
        while (len > 0 && buf[len - 1] == '/')
            buf[--len] = '\0';  /* [load] path brings its own '/' */
        memcpy(r->public_base, buf, len + 1);
    } else if (port) {
        snprintf(r->public_base, sizeof r->public_base, "http://127.0.0.1:%s", port);
    }
    if (sc->metrics[0]) {
        if (cmdline_substitute_text(sc->metrics, "{debug_port}", debug_port ? debug_port : "{debug_port}",
                                    r->metrics_url, sizeof r->metrics_url) < 0)
            return stop_run(r, RUNNER_ABORTED, "metrics URL too long");
    } else if (debug_port) {
        snprintf(r->metrics_url, sizeof r->metrics_url, "http://127.0.0.1:%s/metrics", debug_port);
    }
    if (r->metrics_url[0])
        url_base(r->metrics_url, r->debug_base, sizeof r->debug_base);
    if (!r->public_base[0])
        return stop_run(r, RUNNER_ABORTED, "the service's public URL is unknown: give [service] url or use {port}");
    return 0;
}

static int open_log(struct run *r, const char *name, char *path, size_t pathlen)
{
    int fd;
    snprintf(path, pathlen, "%s/%s", r->log_dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        stop_run(r, RUNNER_ABORTED, "%s: %s", path, strerror(errno));
    return fd;
}

static int spawn_service(struct run *r)
{
    char msg[400], port[16], debug_port[16];
    struct cmdline *cl = cmdline_parse(r->sc->command, msg, sizeof msg);
    struct childproc_spec spec = {.stdout_fd = CHILDPROC_PIPE};
    bool has_port, has_debug_port;
    int rc = -1;

    if (!cl)
        return stop_run(r, RUNNER_ABORTED, "service command: %s", msg);
    has_port = cmdline_has_placeholder(cl, "{port}");
    has_debug_port = cmdline_has_placeholder(cl, "{debug_port}");
    if (has_port || has_debug_port) {
        if ((has_port && (pick_free_port(port, sizeof port, msg, sizeof msg) < 0 ||
                          cmdline_substitute(cl, "{port}", port, msg, sizeof msg) < 0)) ||
            (has_debug_port && (pick_free_port(debug_port, sizeof debug_port, msg, sizeof msg) < 0 ||
                                cmdline_substitute(cl, "{debug_port}", debug_port, msg, sizeof msg) < 0))) {
            stop_run(r, RUNNER_ABORTED, "%s", msg);
            goto done;
        }
        if (set_urls(r, has_port ? port : NULL, has_debug_port ? debug_port : NULL) < 0)
            goto done;
        r->announced = true;
    } else if (r->sc->url[0]) {
        if (set_urls(r, NULL, NULL) < 0)
            goto done;
        r->announced = true;
    } else if (cmdline_append(cl, "--listen", msg, sizeof msg) < 0 ||
               cmdline_append(cl, "127.0.0.1:0", msg, sizeof msg) < 0 ||
               cmdline_append(cl, "--debug-listen", msg, sizeof msg) < 0 ||
               cmdline_append(cl, "127.0.0.1:0", msg, sizeof msg) < 0) {
        stop_run(r, RUNNER_ABORTED, "%s", msg);
        goto done;
    }
    r->service_log = open_log(r, "service.log", r->service_log_path, sizeof r->service_log_path);
    if (r->service_log < 0)
        goto done;
    spec.argv = cmdline_argv(cl);
    spec.stderr_fd = r->service_log;
    spec.cpus = r->sc->service_cpu_list[0] ? &r->sc->service_cpus : NULL;
    if (childproc_spawn(&spec, &r->service_pid, &r->service_out, msg, sizeof msg) < 0) {
        stop_run(r, RUNNER_ABORTED, "%s", msg);
        goto done;
    }
    r->proc_pid = r->service_pid;
    rc = 0;
done:
    cmdline_free(cl);
    return rc;
}

/* Waits for the listening line (orderd) and then a 200 from the readiness URL. */
static int wait_ready(struct run *r)
{
    int64_t deadline = units_now_ns() + r->sc->ready_timeout_ns;
    struct httpclient_response resp;
    char err[400] = "";
    int n;

    while (!r->announced) {
        if (wait_step(r, READY_POLL_MS) < 0)
            return -1;
        if (units_now_ns() > deadline)
            return stop_run(r, RUNNER_ABORTED, "service printed no 'listening public=... debug=...' line within %.0fs (log %s)",
                            r->sc->ready_timeout_ns / 1e9, r->service_log_path);
    }
    if (r->sc->ready[0])
        n = snprintf(r->ready_url, sizeof r->ready_url, "%s", r->sc->ready);
    else if (r->debug_base[0])
        n = snprintf(r->ready_url, sizeof r->ready_url, "%s/readyz", r->debug_base);
    else {
        n = snprintf(r->ready_url, sizeof r->ready_url, "%s%s", r->public_base, r->sc->path);
        r->ready_any_status = true;  /* a bare service: any HTTP answer means it is up */
    }
    if (n < 0 || (size_t)n >= sizeof r->ready_url)
        return stop_run(r, RUNNER_ABORTED, "readiness URL too long");
    for (;;) {
        if (httpclient_request(r->http, "GET", r->ready_url, NULL, 1000, MAX_SMALL_BODY, &resp,
                               err, sizeof err) == 0) {
            if (resp.status == 200 || (r->ready_any_status && resp.status < 500))
                return 0;
            snprintf(err, sizeof err, "GET %.300s answered %ld", r->ready_url, resp.status);
        }
        if (units_now_ns() > deadline)
            return stop_run(r, RUNNER_ABORTED, "service not ready within %.0fs: %s",
                            r->sc->ready_timeout_ns / 1e9, err);
        if (wait_step(r, READY_POLL_MS) < 0)
            return -1;
    }
}

struct scrape_ctx {
    struct run *r;
    double t;
};

static int on_sample(void *user, const struct promtext_sample *s, char *err, size_t errlen)
{
    struct scrape_ctx *ctx = user;
    struct run *r = ctx->r;

    if (promtext_labels_format(s->labels, s->nlabels, r->labels, sizeof r->labels) < 0) {
        snprintf(err, errlen, "label set of %s too long", s->name);
        return -1;
    }
    if (resultdb_sample(r->db, r->run_id, ctx->t, s->name, r->labels, s->value, err, errlen) < 0 ||
        series_store_add(r->series, s, err, errlen) < 0)
        return -1;
    if (strcmp(s->name, r->sc->requests_metric) == 0)
        r->now.requests += s->value;
    else if (strcmp(s->name, "process_threads") == 0 && r->proc_pid <= 0)
        r->now.threads = s->value;
    else if (strcmp(s->name, "orderd_queue_depth") == 0)
        r->now.queue_depth = s->value;
    else if (strcmp(s->name, "orderd_queue_capacity") == 0)
        r->now.queue_capacity = s->value;
    return 0;
}

static int validate_only(void *user, const struct promtext_sample *s, char *err, size_t errlen)
{
    return 0;
}

static int record_plain(struct run *r, double t, const char *metric, double value, char *err, size_t errlen)
{
    if (resultdb_sample(r->db, r->run_id, t, metric, "", value, err, errlen) < 0)
        return -1;
    return series_store_add_plain(r->series, metric, value, err, errlen);
}

/* One sample of everything: /metrics and /proc, in one transaction. A failed scrape of
 * a service loadlab did not start counts towards deciding it is gone. */
static int scrape(struct run *r)
{
    struct scrape_ctx ctx = {.r = r, .t = seconds_since_t0(r)};
    struct httpclient_response resp;
    struct procstat ps;
    char err[600];
    long timeout_ms = (long)(r->sc->sample_interval_ns / 1000000) * 2;

    if (timeout_ms < 500)
        timeout_ms = 500;
    if (timeout_ms > 5000)
        timeout_ms = 5000;
    r->before = r->now;
    memset(&r->now, 0, sizeof r->now);
    r->now.t = ctx.t;
    r->now.threads = r->now.queue_depth = r->now.queue_capacity = NAN;
    if (resultdb_begin(r->db, err, sizeof err) < 0 ||
        series_store_begin_tick(r->series, ctx.t, err, sizeof err) < 0)
        return stop_run(r, RUNNER_ABORTED, "%s", err);
    r->scrapes++;
    if (r->metrics_url[0]) {
        bool ok = false;
        if (httpclient_request(r->http, "GET", r->metrics_url, NULL, timeout_ms, MAX_METRICS_BODY, &resp,
                               err, sizeof err) == 0) {
            if (resp.status != 200)
                snprintf(err, sizeof err, "GET %.500s answered %ld", r->metrics_url, resp.status);
            else
                ok = promtext_parse(resp.body, resp.len, validate_only, NULL, err, sizeof err) >= 0;
        }
        if (ok) {
            /* Checked whole first, so a malformed body records nothing, as in Prometheus. */
            if (promtext_parse(resp.body, resp.len, on_sample, &ctx, err, sizeof err) < 0)
                return stop_run(r, RUNNER_ABORTED, "%s", err);
            r->last_scrape_ok_ns = units_now_ns();
        } else {
            r->scrape_failures++;
            snprintf(r->last_scrape_err, sizeof r->last_scrape_err, "%.255s", err);
        }
    }
    if (r->proc_pid > 0) {
        if (procstat_read(r->proc_pid, &ps) == 0) {
            r->now.threads = (double)ps.threads;
            if (record_plain(r, ctx.t, GATE_PROC_THREADS, (double)ps.threads, err, sizeof err) < 0 ||
                record_plain(r, ctx.t, GATE_PROC_RSS, (double)ps.rss_bytes, err, sizeof err) < 0 ||
                record_plain(r, ctx.t, GATE_PROC_FDS, (double)ps.open_fds, err, sizeof err) < 0 ||
                record_plain(r, ctx.t, GATE_PROC_CPU, ps.cpu_seconds, err, sizeof err) < 0)
                return stop_run(r, RUNNER_ABORTED, "%s", err);
        } else if (!r->service_pid) {
            return stop_run(r, RUNNER_CRASHED, "process %d (the service's pid) is gone at t=%.1fs",
                            (int)r->proc_pid, ctx.t);
        }
    }
    if (resultdb_commit(r->db, err, sizeof err) < 0)
        return stop_run(r, RUNNER_ABORTED, "%s", err);
    if (!r->service_pid && r->metrics_url[0] && units_now_ns() - r->last_scrape_ok_ns > UNREACHABLE_NS)
        return stop_run(r, RUNNER_CRASHED, "service stopped answering at t=%.1fs: %s", ctx.t, r->last_scrape_err);
    return 0;
}

static struct active_fault *find_active(struct run *r, const char *fault)
{
    for (size_t i = 0; i < r->nactive; i++)
        if (strcmp(r->active[i].name, fault) == 0)
            return &r->active[i];
    return NULL;
}

/* PUT or DELETE on the debug API. Returns 0, or -1 with err filled. */
static int fault_call(struct run *r, const char *method, const char *fault, const char *term,
                      char *err, size_t errlen)
{
    char url[URL_MAX + 128];
    struct httpclient_response resp;

    snprintf(url, sizeof url, "%s/debug/faults/%s", r->debug_base, fault);
    if (httpclient_request(r->http, method, url, term, 2000, MAX_SMALL_BODY, &resp, err, errlen) < 0)
        return -1;
    if (resp.status != 200 && resp.status != 204) {
        snprintf(err, errlen, "%s %.300s%s%s answered %ld: %.200s", method, url, term ? " " : "",
                 term ? term : "", resp.status, resp.body);
        return -1;
    }
    return 0;
}

static int fault_request(struct run *r, const char *method, const char *fault, const char *term)
{
    char err[800];
    if (fault_call(r, method, fault, term, err, sizeof err) < 0)
        return stop_run(r, RUNNER_ABORTED, "%s", err);
    return 0;
}

/* Closes the phase row of a fault that is on. */
static int fault_closed(struct run *r, struct active_fault *a, double t)
{
    char err[400];
    int rc = resultdb_phase_off(r->db, a->phase_id, t, err, sizeof err);
    *a = r->active[--r->nactive];
    if (rc < 0)
        return stop_run(r, RUNNER_ABORTED, "%s", err);
    return 0;
}

static int fault_on(struct run *r, const char *phase, const struct scenario_fault *f)
{
    struct active_fault *a = find_active(r, f->name);
    double t = seconds_since_t0(r);
    char err[400];

    if (strcmp(f->term, "off") == 0) {
        if (fault_request(r, "DELETE", f->name, NULL) < 0)
            return -1;
        return a ? fault_closed(r, a, t) : 0;
    }
    if (fault_request(r, "PUT", f->name, f->term) < 0)
        return -1;
    if (a && fault_closed(r, a, t) < 0)
        return -1;
    a = &r->active[r->nactive++];
    snprintf(a->name, sizeof a->name, "%s", f->name);
    if (resultdb_phase_on(r->db, r->run_id, phase, f->name, f->term, t, &a->phase_id, err, sizeof err) < 0)
        return stop_run(r, RUNNER_ABORTED, "%s", err);
    return 0;
}

static int fault_off(struct run *r, const char *fault)
{
    struct active_fault *a = find_active(r, fault);
    if (fault_request(r, "DELETE", fault, NULL) < 0)
        return -1;
    return a ? fault_closed(r, a, seconds_since_t0(r)) : 0;
}

__attribute__((format(printf, 2, 3)))
static void append_reason(struct run *r, const char *fmt, ...)
{
    size_t used = strlen(r->out->reason);
    va_list ap;
    if (used + 3 >= sizeof r->out->reason)
        return;
    if (used)
        used += (size_t)snprintf(r->out->reason + used, sizeof r->out->reason - used, "; ");
    va_start(ap, fmt);
    vsnprintf(r->out->reason + used, sizeof r->out->reason - used, fmt, ap);
    va_end(ap);
}

/* At the end, also after a failure: every fault loadlab set is cleared, so a service
 * given by URL is left as it was found. A fault that cannot be cleared is noted. */
static void clear_faults(struct run *r)
{
    char err[800];
    for (; r->nactive > 0; r->nactive--) {
        struct active_fault *a = &r->active[r->nactive - 1];
        if (fault_call(r, "DELETE", a->name, NULL, err, sizeof err) < 0)
            append_reason(r, "could not clear fault %s: %s", a->name, err);
        else if (resultdb_phase_off(r->db, a->phase_id, seconds_since_t0(r), err, sizeof err) < 0)
            append_reason(r, "%s", err);
    }
}

static int compare_events(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    if (x->at_ns != y->at_ns)
        return x->at_ns < y->at_ns ? -1 : 1;
    return x->phase < y->phase ? -1 : x->phase > y->phase;
}

static void plan_events(struct run *r)
{
    for (size_t i = 0; i < r->sc->nphases; i++) {
        const struct scenario_phase *ph = &r->sc->phases[i];
        r->events[r->nevents++] = (struct event){.at_ns = ph->at_ns, .phase = i};
        if (ph->until_ns >= 0)
            r->events[r->nevents++] = (struct event){.at_ns = ph->until_ns, .phase = i, .off = true};
    }
    qsort(r->events, r->nevents, sizeof r->events[0], compare_events);
}

static int fire_due_events(struct run *r)
{
    int64_t now = units_now_ns() - r->t0_ns;
    while (r->next_event < r->nevents && r->events[r->next_event].at_ns <= now) {
        const struct event *e = &r->events[r->next_event++];
        const struct scenario_phase *ph = &r->sc->phases[e->phase];
        if ((e->off ? fault_off(r, ph->fault.name) : fault_on(r, ph->name, &ph->fault)) < 0)
            return -1;
    }
    return 0;
}

static void start_wrk(struct run *r, enum stage stage)
{
    char threads[16], conns[16], secs[32], timeout[32], url[URL_MAX * 2], lua[PATH_MAX + 16];
    char logname[32], logpath[PATH_MAX + 32], env_summary[PATH_MAX + 64], env_script[SCENARIO_MAX_TEXT + 32];
    char env_method[64], env_body[SCENARIO_MAX_TEXT + 32], env_type[200], msg[400];
    char *env[6] = {NULL};
    size_t nenv = 0;
    int64_t ns = stage == STAGE_WARMUP ? r->sc->warmup_ns : r->sc->duration_ns;
    char *argv[] = {(char *)r->opt->wrk_path, "-t", threads, "-c", conns, "-d", secs, "--timeout", timeout,
                    "-s", lua, url, NULL};
    struct childproc_spec spec = {.argv = argv};
    int log;

    snprintf(threads, sizeof threads, "%u", r->sc->threads);
    snprintf(conns, sizeof conns, "%u", r->sc->connections);
    snprintf(secs, sizeof secs, "%llds", (long long)(ns / 1000000000));
    snprintf(timeout, sizeof timeout, "%llds", (long long)(r->sc->timeout_ns / 1000000000));
    snprintf(url, sizeof url, "%s%s", r->public_base, r->sc->path);
    snprintf(lua, sizeof lua, "%s/wrk.lua", r->log_dir);
    snprintf(env_summary, sizeof env_summary, WRKRES_ENV_SUMMARY "=%s/wrk-%s.json", r->log_dir, stage_names[stage]);
    env[nenv++] = env_summary;
    if (r->sc->script[0]) {
        snprintf(env_script, sizeof env_script, WRKRES_ENV_SCRIPT "=%s", r->sc->script);
        env[nenv++] = env_script;
    }
    snprintf(env_method, sizeof env_method, WRKRES_ENV_METHOD "=%s", r->sc->method);
    env[nenv++] = env_method;
    if (r->sc->body[0]) {
        snprintf(env_body, sizeof env_body, WRKRES_ENV_BODY "=%s", r->sc->body);
        snprintf(env_type, sizeof env_type, WRKRES_ENV_CONTENT_TYPE "=%s", r->sc->content_type);
        env[nenv++] = env_body;
        env[nenv++] = env_type;
    }
    spec.env_add = env;
    snprintf(logname, sizeof logname, "wrk-%s.log", stage_names[stage]);
    log = open_log(r, logname, logpath, sizeof logpath);
    if (log < 0)
        return;
    spec.stdout_fd = log;
    spec.stderr_fd = log;
    spec.cpus = r->sc->load_cpu_list[0] ? &r->sc->load_cpus : NULL;
    r->stage = stage;
    r->stage_started[stage] = seconds_since_t0(r);
    if (childproc_spawn(&spec, &r->wrk_pid, NULL, msg, sizeof msg) < 0)
        stop_run(r, RUNNER_ABORTED, "%s", msg);
    close(log);
    if (!r->failed && stage == STAGE_MEASURE) {
        /* the first sample of the steady state */
        if (scrape(r) == 0)
            r->steady_from = r->now.t;
        r->next_sample_ns = units_now_ns() + r->sc->sample_interval_ns;
    }
}

static void draw_progress(struct run *r, bool final)
{
    double elapsed = seconds_since_t0(r), total = scenario_load_ns(r->sc) / 1e9;
    double rate = NAN;
    char queue[64] = "-", threads[32] = "-", rps[32] = "-";

    if (!r->opt->progress)
        return;
    if (final) {
        if (r->progress_drawn)
            fputs("\r\033[K", stderr);
        r->progress_drawn = false;
        return;
    }
    if (r->now.t > r->before.t && r->now.requests >= r->before.requests)
        rate = (r->now.requests - r->before.requests) / (r->now.t - r->before.t);
    if (!isnan(rate))
        snprintf(rps, sizeof rps, "%.0f req/s", rate);
    if (!isnan(r->now.threads))
        snprintf(threads, sizeof threads, "%.0f", r->now.threads);
    if (!isnan(r->now.queue_depth))
        snprintf(queue, sizeof queue, isnan(r->now.queue_capacity) ? "%.0f" : "%.0f/%.0f",
                 r->now.queue_depth, r->now.queue_capacity);
    fprintf(stderr, "\r\033[K%s  %s %4.1fs/%.0fs  remaining %4.1fs  %s  threads %s  queue %s",
            r->sc->name, r->stage == STAGE_WARMUP ? "warmup" : "load", elapsed, total,
            elapsed < total ? total - elapsed : 0, rps, threads, queue);
    fflush(stderr);
    r->progress_drawn = true;
}

/* Calls the run hook, if any, with the run as it stands. */
static enum runner_hook_answer call_hook(struct run *r, enum runner_moment moment)
{
    struct runner_view view = {
        .sc = r->sc, .db = r->db, .run_id = r->run_id, .http = r->http, .series = r->series,
        .public_base = r->public_base, .debug_base = r->debug_base, .log_dir = r->log_dir, .t = seconds_since_t0(r),
        .load_end = scenario_load_ns(r->sc) / 1e9, .measuring = r->stage == STAGE_MEASURE && r->wrk_pid,
        .out = r->out,
    };
    if (!r->opt->hook)
        return RUNNER_HOOK_CONTINUE;
    return r->opt->hook(r->opt->hook_user, moment, &view);
}

/* A hook asked to end the load: wrk stops on SIGINT and still writes its summary.
 * Asked during the warmup, the measured run is stopped as soon as it starts. */
static void end_load_early(struct run *r)
{
    if (r->end_load_requested && !r->wrk_interrupted && r->wrk_pid && r->stage == STAGE_MEASURE) {
        kill(r->wrk_pid, SIGINT);
        r->wrk_interrupted = true;
    }
}

/* The loop while wrk runs: phases on time, a sample every interval, progress. wrk
 * stops itself after its duration; the deadline only guards against one that hangs. */
static int drive_load(struct run *r)
{
    int64_t deadline = r->t0_ns + scenario_load_ns(r->sc) + r->sc->timeout_ns + WRK_OVERRUN_NS;

    while (!r->measure_done) {
        int64_t now = units_now_ns(), wake = r->next_sample_ns;
        if (now > deadline)
            return stop_run(r, RUNNER_ABORTED, "wrk still running %.0fs after the load should have ended",
                            (double)(now - r->t0_ns - scenario_load_ns(r->sc)) / 1e9);
        if (r->next_event < r->nevents && r->t0_ns + r->events[r->next_event].at_ns < wake)
            wake = r->t0_ns + r->events[r->next_event].at_ns;
        if (r->opt->progress && r->next_progress_ns < wake)
            wake = r->next_progress_ns;
        if (wait_step(r, (int)((wake - now + 999999) / 1000000)) < 0)
            return -1;
        if (r->measure_done)
            break;
        if (fire_due_events(r) < 0)
            return -1;
        now = units_now_ns();
        if (now >= r->next_sample_ns) {
            if (scrape(r) < 0)
                return -1;
            if (call_hook(r, RUNNER_AT_TICK) == RUNNER_HOOK_END_LOAD)
                r->end_load_requested = true;
            end_load_early(r);
            r->next_sample_ns += r->sc->sample_interval_ns;
            if (r->next_sample_ns <= now)
                r->next_sample_ns = now + r->sc->sample_interval_ns;
        }
        if (now >= r->next_progress_ns) {
            draw_progress(r, false);
            r->next_progress_ns = now + PROGRESS_MS * 1000000LL;
        }
    }
    /* the last sample of the steady state */
    if (scrape(r) < 0)
        return -1;
    r->steady_to = r->now.t;
    return 0;
}

static void record_windows(struct run *r)
{
    struct series_selector sel = {0};
    struct series pts;
    double starts[4096], rates[4096];
    size_t n;
    char err[400];

    snprintf(sel.metric, sizeof sel.metric, "%s", r->sc->requests_metric);
    if (series_store_select(r->series, &sel, r->steady_from, r->steady_to, &pts) < 0)
        return;
    n = stats_window_rates(pts.t, pts.v, pts.n, r->steady_from, r->steady_to, 1.0, starts, rates, 4096);
    for (size_t i = 0; i < n; i++)
        if (resultdb_window(r->db, r->run_id, starts[i], 1.0, sel.metric, rates[i], err, sizeof err) < 0) {
            stop_run(r, RUNNER_ABORTED, "%s", err);
            break;
        }
    series_release(&pts);
}

static void judge(struct run *r)
{
    struct gate_inputs in = {.load = r->out->have_load ? &r->out->load : NULL, .series = r->series,
                             .from = r->steady_from, .to = r->steady_to, .have_proc = r->proc_pid > 0};
    bool met = true;
    char err[400];

    for (size_t i = 0; i < r->sc->ngates; i++) {
        struct gate_result *g = &r->out->gates[i];
        gate_evaluate(&r->sc->gates[i], &in, g);
        g->expected_to_fail = r->sc->expected_to_fail[i];
        if (!verdict_met(verdict_of_gate(g->verdict, g->expected_to_fail)))
            met = false;
        if (resultdb_gate(r->db, r->run_id, g, err, sizeof err) < 0) {
            stop_run(r, RUNNER_ABORTED, "%s", err);
            return;
        }
    }
    r->out->ngates = r->sc->ngates;
    r->out->judged = true;
    r->out->met = met;
    /* regression gates: only this run's figures here; judged across runs later */
    if (baseline_record_figures(r->db, r->run_id, r->sc, &in, err, sizeof err) < 0)
        stop_run(r, RUNNER_ABORTED, "%s", err);
}

/* Checks, on the first scrape, that the built-in gates have their metrics. */
static int check_gate_metrics(struct run *r)
{
    char err[600];
    for (size_t i = 0; i < r->sc->ngates; i++)
        if (gate_check_metrics(&r->sc->gates[i], r->proc_pid > 0, r->series, err, sizeof err) < 0) {
            if (!r->metrics_url[0])
                return stop_run(r, RUNNER_ABORTED, "%s: [service] gives no metrics URL", err);
            if (r->scrape_failures)
                return stop_run(r, RUNNER_ABORTED, "%s (the scrape failed: %s)", err, r->last_scrape_err);
            return stop_run(r, RUNNER_ABORTED, "%s at %s", err, r->metrics_url);
        }
    return 0;
}

static int prepare_run(struct run *r)
{
    char err[600], token[HTTPCLIENT_MAX_TOKEN + 2], path[PATH_MAX + 16];
    FILE *f;

    if ((size_t)snprintf(r->log_dir, sizeof r->log_dir, "%s/run-%lld", r->opt->log_root,
                         (long long)r->run_id) >= sizeof r->log_dir)
        return stop_run(r, RUNNER_ABORTED, "log folder path too long");
    if ((mkdir(r->opt->log_root, 0755) < 0 && errno != EEXIST) || (mkdir(r->log_dir, 0755) < 0 && errno != EEXIST))
        return stop_run(r, RUNNER_ABORTED, "cannot create %s: %s", r->log_dir, strerror(errno));
    snprintf(path, sizeof path, "%s/wrk.lua", r->log_dir);
    f = fopen(path, "w");
    if (!f || fputs(wrkres_lua_wrapper, f) < 0 || fclose(f) != 0)
        return stop_run(r, RUNNER_ABORTED, "cannot write %s", path);
    if (r->sc->token_file[0] && httpclient_read_token(r->sc->token_file, token, sizeof token, err, sizeof err) < 0)
        return stop_run(r, RUNNER_ABORTED, "%s", err);
    r->http = httpclient_new(r->sc->token_file[0] ? token : NULL, err, sizeof err);
    r->series = series_store_new();
    if (!r->http || !r->series)
        return stop_run(r, RUNNER_ABORTED, "%s", r->http ? "out of memory" : err);
    for (size_t i = 0; i < r->sc->ngates; i++)
        if (gate_want_metrics(&r->sc->gates[i], r->sc->command[0] || r->sc->pid, r->series) < 0)
            return stop_run(r, RUNNER_ABORTED, "out of memory");
    for (size_t i = 0; i < r->sc->nregressions; i++)
        if (gate_want_metrics(&r->sc->regressions[i], r->sc->command[0] || r->sc->pid, r->series) < 0)
            return stop_run(r, RUNNER_ABORTED, "out of memory");
    if (series_store_want(r->series, r->sc->requests_metric) < 0)
        return stop_run(r, RUNNER_ABORTED, "out of memory");
    return 0;
}

static int start_service(struct run *r)
{
    if (r->sc->command[0])
        return spawn_service(r);
    if (set_urls(r, NULL, NULL) < 0)
        return -1;
    r->announced = true;
    r->proc_pid = r->sc->pid;
    return 0;
}

static void stop_children(struct run *r)
{
    char how[128];
    int status;

    if (r->wrk_pid) {
        childproc_stop(r->wrk_pid, WRK_STOP_GRACE_MS, &status);
        r->wrk_pid = 0;
    }
    if (r->service_pid && !r->service_reaped) {
        if (childproc_stop(r->service_pid, STOP_GRACE_MS, &status) == 0 && r->out->status == RUNNER_COMPLETED &&
            !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
            append_reason(r, "service %s when stopped", childproc_describe_status(status, how, sizeof how));
        r->service_reaped = true;
    }
    drain_service_output(r);
}

static void note_scrape_failures(struct run *r)
{
    if (r->scrape_failures && r->out->status == RUNNER_COMPLETED)
        append_reason(r, "%u of %u scrapes failed (last: %s)", r->scrape_failures, r->scrapes,
                      r->last_scrape_err);
}

int runner_run(const struct scenario *sc, struct resultdb *db, const struct runner_options *opt,
               struct runner_outcome *out, char *err, size_t errlen)
{
    struct run *r = calloc(1, sizeof *r);
    struct resultdb_run row = {.scenario = sc->name, .scenario_file = sc->file, .label = opt->label,
                               .git_rev = opt->git_rev};
    int64_t started = units_now_ns();
    static const char *const status_names[] = {"completed", "aborted", "crashed"};
    char *params = scenario_params_json(sc);
    char msg[600];
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->scenario = sc;
    if (!r || !params) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    r->sc = sc;
    r->opt = opt;
    r->db = db;
    r->out = out;
    r->service_log = -1;
    r->service_out = -1;
    r->stage = STAGE_NONE;
    r->steady_from = r->steady_to = NAN;
    row.params = params;
    if (resultdb_run_begin(db, &row, &r->run_id, err, errlen) < 0)
        goto done;
    out->run_id = r->run_id;
    plan_events(r);

    if (prepare_run(r) == 0 && start_service(r) == 0 && wait_ready(r) == 0) {
        r->t0_ns = units_now_ns();
        r->clock_started = true;
        r->last_scrape_ok_ns = r->t0_ns;
        if (resultdb_run_started(db, r->run_id, r->log_dir, r->proc_pid, (double)units_wall_ns() / 1e9,
                                 msg, sizeof msg) < 0)
            stop_run(r, RUNNER_ABORTED, "%s", msg);
        if (!r->failed)
            call_hook(r, RUNNER_AT_START);
        if (!r->failed && scrape(r) == 0 && check_gate_metrics(r) == 0) {
            for (size_t i = 0; i < sc->nfaults && !r->failed; i++)
                fault_on(r, "service", &sc->faults[i]);
            if (!r->failed) {
                r->next_sample_ns = units_now_ns() + sc->sample_interval_ns;
                r->next_progress_ns = units_now_ns();
                start_wrk(r, sc->warmup_ns > 0 ? STAGE_WARMUP : STAGE_MEASURE);
            }
            if (!r->failed)
                drive_load(r);
        }
    }
    draw_progress(r, true);
    if (r->wrk_pid) {
        int status;
        childproc_stop(r->wrk_pid, WRK_STOP_GRACE_MS, &status);
        r->wrk_pid = 0;
    }
    if (r->clock_started && !r->service_reaped)
        call_hook(r, RUNNER_AT_LOAD_END);
    if (!r->service_reaped && r->debug_base[0])
        clear_faults(r);
    stop_children(r);
    if (!r->failed) {
        record_windows(r);
        if (!r->failed)
            judge(r);
    }
    note_scrape_failures(r);
    if (r->clock_started)
        call_hook(r, RUNNER_AT_END);
    if (resultdb_run_end(db, r->run_id, status_names[out->status], out->reason,
                         out->judged ? (out->met ? "met" : "unmet") : NULL, r->steady_from,
                         r->steady_to, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "%s", msg);
        goto done;
    }
    rc = 0;
done:
    if (r) {
        if (r->service_log >= 0)
            close(r->service_log);
        if (r->service_out >= 0)
            close(r->service_out);
        httpclient_free(r->http);
        series_store_free(r->series);
    }
    free(r);
    free(params);
    out->wall_s = (double)(units_now_ns() - started) / 1e9;
    return rc;
}
