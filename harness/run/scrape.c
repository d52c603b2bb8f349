/* scrape: /metrics and /proc into the database and the series store. See scrape.h. */
#include "run/scrape.h"
#include "metric_names.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/stats.h"
#include "judge/gate.h"
#include "procstat.h"
#include "units.h"

#define MAX_METRICS_BODY (16 * 1024 * 1024)
/* A service given by URL that stops answering for this long is taken for dead. */
#define UNREACHABLE_NS 3000000000LL

struct scrape_ctx {
    struct scraper *s;
    double t;
};

static int on_sample(void *user, const struct promtext_sample *m, char *err, size_t errlen)
{
    struct scrape_ctx *ctx = user;
    struct scraper *s = ctx->s;

    if (promtext_labels_format(m->labels, m->nlabels, s->labels, sizeof s->labels) < 0) {
        snprintf(err, errlen, "label set of %s too long", m->name);
        return -1;
    }
    if (resultdb_sample(s->db, s->run_id, ctx->t, m->name, s->labels, m->value, err, errlen) < 0 ||
        series_store_add(s->series, m, err, errlen) < 0)
        return -1;
    if (strcmp(m->name, s->requests_metric) == 0)
        s->now.requests += m->value;
    else if ((strcmp(m->name, METRIC_PROCESS_THREADS) == 0 || strcmp(m->name, METRIC_GO_THREADS) == 0) &&
             s->proc_pid <= 0)
        s->now.threads = m->value;
    else if (strcmp(m->name, METRIC_ORDERD_QUEUE_DEPTH) == 0)
        s->now.queue_depth = m->value;
    else if (strcmp(m->name, METRIC_ORDERD_QUEUE_CAPACITY) == 0)
        s->now.queue_capacity = m->value;
    return 0;
}

static int validate_only(void *user, const struct promtext_sample *m, char *err, size_t errlen)
{
    return 0;
}

static int record_plain(struct scraper *s, double t, const char *metric, double value, char *err, size_t errlen)
{
    if (resultdb_sample(s->db, s->run_id, t, metric, "", value, err, errlen) < 0)
        return -1;
    return series_store_add_plain(s->series, metric, value, err, errlen);
}

/* GET /metrics, checked whole, then recorded. Returns 0 (a failed request counted),
 * or -1 with err filled when recording failed. */
static int scrape_metrics(struct scraper *s, double t, char *err, size_t errlen)
{
    struct scrape_ctx ctx = {.s = s, .t = t};
    struct httpclient_response resp;
    long timeout_ms = (long)(s->sample_interval_ns / 1000000) * 2;
    char why[600];
    bool ok = false;

    if (timeout_ms < 500)
        timeout_ms = 500;
    if (timeout_ms > 5000)
        timeout_ms = 5000;
    if (httpclient_request(s->http, "GET", s->metrics_url, NULL, timeout_ms, MAX_METRICS_BODY, &resp, why,
                           sizeof why) == 0) {
        if (resp.status != 200)
            snprintf(why, sizeof why, "GET %.500s answered %ld", s->metrics_url, resp.status);
        else
            ok = promtext_parse(resp.body, resp.len, validate_only, NULL, why, sizeof why) >= 0;
    }
    if (!ok) {
        s->failures++;
        snprintf(s->last_err, sizeof s->last_err, "%.255s", why);
        return 0;
    }
    if (promtext_parse(resp.body, resp.len, on_sample, &ctx, err, errlen) < 0)
        return -1;
    s->last_ok_ns = units_now_ns();
    return 0;
}

/* The local process's threads, RSS, descriptors and CPU time. */
static enum scrape_status scrape_proc(struct scraper *s, double t, char *err, size_t errlen)
{
    struct procstat ps;

    if (procstat_read(s->proc_pid, &ps) != 0) {
        if (s->spawned)
            return SCRAPE_OK;  /* the process's exit is noticed where it is reaped */
        snprintf(err, errlen, "process %d (the service's pid) is gone at t=%.1fs", (int)s->proc_pid, t);
        return SCRAPE_GONE;
    }
    s->now.threads = (double)ps.threads;
    if (record_plain(s, t, GATE_PROC_THREADS, (double)ps.threads, err, errlen) < 0 ||
        record_plain(s, t, GATE_PROC_RSS, (double)ps.rss_bytes, err, errlen) < 0 ||
        record_plain(s, t, GATE_PROC_FDS, (double)ps.open_fds, err, errlen) < 0 ||
        record_plain(s, t, GATE_PROC_CPU, ps.cpu_seconds, err, errlen) < 0)
        return SCRAPE_FAILED;
    return SCRAPE_OK;
}

int scrape_begin(struct scraper *s, double t, char *err, size_t errlen)
{
    s->before = s->now;
    memset(&s->now, 0, sizeof s->now);
    s->now.t = t;
    s->now.threads = s->now.queue_depth = s->now.queue_capacity = NAN;
    if (resultdb_begin(s->db, err, errlen) < 0 || series_store_begin_tick(s->series, t, err, errlen) < 0)
        return -1;
    s->scrapes++;
    return 0;
}

enum scrape_status scrape_take(struct scraper *s, double t, char *err, size_t errlen)
{
    enum scrape_status st;

    if (scrape_begin(s, t, err, errlen) < 0)
        return SCRAPE_FAILED;
    if (s->metrics_url[0] && scrape_metrics(s, t, err, errlen) < 0)
        return SCRAPE_FAILED;
    if (s->proc_pid > 0 && (st = scrape_proc(s, t, err, errlen)) != SCRAPE_OK)
        return st;
    if (resultdb_commit(s->db, err, errlen) < 0)
        return SCRAPE_FAILED;
    if (!s->spawned && s->metrics_url[0] && units_now_ns() - s->last_ok_ns > UNREACHABLE_NS) {
        snprintf(err, errlen, "service stopped answering at t=%.1fs: %s", t, s->last_err);
        return SCRAPE_GONE;
    }
    return SCRAPE_OK;
}

int scrape_record_windows(const struct scraper *s, double from, double to, char *err, size_t errlen)
{
    struct series_selector sel = {0};
    struct series pts;
    double starts[4096], rates[4096];
    size_t n;
    int rc = 0;

    snprintf(sel.metric, sizeof sel.metric, "%s", s->requests_metric);
    if (series_store_select_counter(s->series, &sel, from, to, &pts) < 0)
        return 0;
    n = stats_window_rates(pts.t, pts.v, pts.n, from, to, 1.0, starts, rates, 4096);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = resultdb_window(s->db, s->run_id, starts[i], 1.0, sel.metric, rates[i], err, errlen);
    series_release(&pts);
    return rc;
}
