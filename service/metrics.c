/* metrics: counters, histograms and the /metrics exposition. See metrics.h.
 * Names follow Prometheus conventions: base units (seconds, bytes), _total on
 * counters, one HELP and TYPE per family, all samples of a family together — which
 * `promtool check metrics` verifies in the tests. */
#include "metrics.h"
#include "metric_names.h"
#include "buildinfo.h"

#include "connlimit.h"
#include "fault.h"
#include "instrument.h"
#include "lockprof.h"
#include "orders.h"
#include "procstat.h"
#include "queue.h"
#include "threads.h"

#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

const double metrics_latency_bounds[METRICS_BUCKETS] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};

static const char *const route_names[METRICS_ROUTE_COUNT] = {
    "products_list", "product_get", "order_create", "order_get", "other",
};

/* Status codes the service answers with; anything else is counted as "other". */
static const int known_codes[] = {200, 202, 400, 401, 404, 405, 408, 413, 431, 500, 503};
#define NCODES (int)(sizeof known_codes / sizeof known_codes[0])

static _Atomic uint64_t http_requests[METRICS_ROUTE_COUNT][NCODES + 1];
static struct metrics_histogram http_latency[METRICS_ROUTE_COUNT];
static struct metrics_histogram queue_wait;

const char *metrics_route_name(enum metrics_route route)
{
    return route < METRICS_ROUTE_COUNT ? route_names[route] : "other";
}

void metrics_histogram_observe(struct metrics_histogram *h, int64_t ns)
{
    double s = (double)ns / 1e9;
    int i = 0;

    while (i < METRICS_BUCKETS && s > metrics_latency_bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns > 0 ? (uint64_t)ns : 0, memory_order_relaxed);
}

static int code_index(int status)
{
    for (int i = 0; i < NCODES; i++)
        if (known_codes[i] == status)
            return i;
    return NCODES;
}

void metrics_http_observe(enum metrics_route route, int status, int64_t duration_ns)
{
    if (!instrument_metrics_on() || route >= METRICS_ROUTE_COUNT)
        return;
    atomic_fetch_add_explicit(&http_requests[route][code_index(status)], 1, memory_order_relaxed);
    metrics_histogram_observe(&http_latency[route], duration_ns);
}

void metrics_queue_wait_observe(int64_t ns)
{
    if (instrument_metrics_on())
        metrics_histogram_observe(&queue_wait, ns);
}

void metrics_write_label_value(FILE *out, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", out);
        else if (*p == '"')
            fputs("\\\"", out);
        else if (*p == '\n')
            fputs("\\n", out);
        else
            fputc(*p, out);
    }
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void labelled(FILE *out, const char *name, const char *label, const char *value, double v)
{
    fprintf(out, "%s{%s=\"", name, label);
    metrics_write_label_value(out, value);
    fprintf(out, "\"} %.17g\n", v);
}

/* Writes "name{label="value"," (or "name{" without a label). */
static void open_sample(FILE *out, const char *name, const char *suffix, const char *label,
                        const char *label_value, bool more)
{
    fprintf(out, "%s%s", name, suffix);
    if (!label && !more)
        return;
    fputc('{', out);
    if (label) {
        fprintf(out, "%s=\"", label);
        metrics_write_label_value(out, label_value);
        fputs(more ? "\"," : "\"}", out);
    }
}

void metrics_write_histogram(FILE *out, const char *name, const char *label, const char *label_value,
                             const struct metrics_histogram *h)
{
    uint64_t cumulative = 0;

    for (int i = 0; i <= METRICS_BUCKETS; i++) {
        cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        open_sample(out, name, "_bucket", label, label_value, true);
        if (i < METRICS_BUCKETS)
            fprintf(out, "le=\"%g\"} %llu\n", metrics_latency_bounds[i], (unsigned long long)cumulative);
        else
            fprintf(out, "le=\"+Inf\"} %llu\n", (unsigned long long)cumulative);
    }
    open_sample(out, name, "_sum", label, label_value, false);
    fprintf(out, " %.9f\n", (double)atomic_load(&h->sum_ns) / 1e9);
    /* Count is the +Inf bucket, so the two agree even while requests land. */
    open_sample(out, name, "_count", label, label_value, false);
    fprintf(out, " %llu\n", (unsigned long long)cumulative);
}

static void write_process(FILE *out)
{
    struct procstat ps;

    if (procstat_read(0, &ps) < 0)
        return;
    family(out, METRIC_PROCESS_CPU, "counter", "Total user and system CPU time spent in seconds.");
    fprintf(out, METRIC_PROCESS_CPU " %.2f\n", ps.cpu_seconds);
    family(out, METRIC_PROCESS_RSS, "gauge", "Resident memory size in bytes.");
    fprintf(out, METRIC_PROCESS_RSS " %llu\n", (unsigned long long)ps.rss_bytes);
    family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    fprintf(out, "process_virtual_memory_bytes %llu\n", (unsigned long long)ps.vsize_bytes);
    family(out, METRIC_PROCESS_OPEN_FDS, "gauge", "Number of open file descriptors.");
    fprintf(out, METRIC_PROCESS_OPEN_FDS " %llu\n", (unsigned long long)ps.open_fds);
    family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
    fprintf(out, "process_max_fds %llu\n", (unsigned long long)ps.max_fds);
    family(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    fprintf(out, "process_start_time_seconds %.2f\n", ps.start_time_seconds);
    family(out, METRIC_PROCESS_THREADS, "gauge", "Number of OS threads in the process.");
    fprintf(out, METRIC_PROCESS_THREADS " %llu\n", (unsigned long long)ps.threads);
}

static void write_threads(FILE *out)
{
    unsigned counts[THREADS_ROLE_COUNT][THREADS_STATE_COUNT];

    threads_count(counts);
    family(out, METRIC_ORDERD_THREADS, "gauge", "Threads created by orderd, by role and state.");
    for (int r = 0; r < THREADS_ROLE_COUNT; r++)
        for (int s = 0; s < THREADS_STATE_COUNT; s++)
            fprintf(out, METRIC_ORDERD_THREADS "{role=\"%s\",state=\"%s\"} %u\n", threads_role_name(r),
                    threads_state_name(s), counts[r][s]);
}

static void write_queue(FILE *out, struct queue *q)
{
    family(out, METRIC_ORDERD_QUEUE_DEPTH, "gauge", "Jobs waiting in the work queue.");
    fprintf(out, METRIC_ORDERD_QUEUE_DEPTH " %zu\n", queue_depth(q));
    family(out, METRIC_ORDERD_QUEUE_CAPACITY, "gauge", "Capacity of the work queue.");
    fprintf(out, METRIC_ORDERD_QUEUE_CAPACITY " %zu\n", queue_capacity(q));
    family(out, METRIC_ORDERD_QUEUE_ENQUEUED, "counter", "Jobs put on the work queue.");
    fprintf(out, METRIC_ORDERD_QUEUE_ENQUEUED " %llu\n", (unsigned long long)queue_enqueued_total(q));
    family(out, METRIC_ORDERD_QUEUE_REJECTED, "counter", "Jobs refused because the queue was full.");
    fprintf(out, METRIC_ORDERD_QUEUE_REJECTED " %llu\n", (unsigned long long)queue_rejected_total(q));
    family(out, METRIC_ORDERD_QUEUE_WAIT, "histogram", "Time jobs waited in the queue before a worker took them.");
    metrics_write_histogram(out, METRIC_ORDERD_QUEUE_WAIT, NULL, NULL, &queue_wait);
}

struct visit_ctx {
    FILE *out;
    const char *name, *label;
    int which;   /* 0: contentions, 1: seconds */
};

static void visit_lock(const char *name, uint64_t contentions, double wait_seconds, void *user)
{
    struct visit_ctx *v = user;
    labelled(v->out, v->name, v->label, name, v->which == 0 ? (double)contentions : wait_seconds);
}

/* A block site's series carry wait="idle" (a thread with nothing to do waiting for
 * work: workers in queue_pop) or wait="delay" (blocking that holds work up), so a
 * chart or a gate can leave idle waiting out. */
static void visit_block_site(const char *name, uint64_t events, double wait_seconds, void *user)
{
    struct visit_ctx *v = user;
    fprintf(v->out, "%s{site=\"", v->name);
    metrics_write_label_value(v->out, name);
    fprintf(v->out, "\",wait=\"%s\"} %.17g\n", lockprof_block_site_idle(name) ? "idle" : "delay",
            v->which == 0 ? (double)events : wait_seconds);
}

static void write_locks(FILE *out)
{
    struct visit_ctx v = {.out = out};

    family(out, METRIC_ORDERD_MUTEX_WAIT, "counter", "Time threads waited to take each named lock.");
    v.name = METRIC_ORDERD_MUTEX_WAIT, v.label = "lock", v.which = 1;
    lockprof_foreach_lock(visit_lock, &v);
    family(out, METRIC_ORDERD_MUTEX_CONTENTIONS, "counter", "Times a named lock was found taken.");
    v.name = METRIC_ORDERD_MUTEX_CONTENTIONS, v.which = 0;
    lockprof_foreach_lock(visit_lock, &v);
    family(out, METRIC_ORDERD_BLOCK_SECONDS, "counter",
           "Time threads spent blocked at each blocking site; wait=idle: waiting for work, wait=delay: holding work up.");
    v.name = METRIC_ORDERD_BLOCK_SECONDS, v.label = "site", v.which = 1;
    lockprof_foreach_block_site(visit_block_site, &v);
    family(out, METRIC_ORDERD_BLOCK_EVENTS, "counter",
           "Times threads blocked at each blocking site; wait=idle: waiting for work, wait=delay: holding work up.");
    v.name = METRIC_ORDERD_BLOCK_EVENTS, v.which = 0;
    lockprof_foreach_block_site(visit_block_site, &v);
}

static void write_http(FILE *out)
{
    family(out, METRIC_ORDERD_HTTP_REQUESTS, "counter", "Public API requests by route and status code.");
    for (int r = 0; r < METRICS_ROUTE_COUNT; r++) {
        for (int c = 0; c <= NCODES; c++) {
            uint64_t n = atomic_load_explicit(&http_requests[r][c], memory_order_relaxed);
            if (n == 0)
                continue;
            if (c < NCODES)
                fprintf(out, METRIC_ORDERD_HTTP_REQUESTS "{route=\"%s\",code=\"%d\"} %llu\n", route_names[r],
                        known_codes[c], (unsigned long long)n);
            else
                fprintf(out, METRIC_ORDERD_HTTP_REQUESTS "{route=\"%s\",code=\"other\"} %llu\n", route_names[r],
                        (unsigned long long)n);
        }
    }
    family(out, METRIC_ORDERD_HTTP_DURATION, "histogram", "Public API request latency by route.");
    for (int r = 0; r < METRICS_ROUTE_COUNT; r++)
        metrics_write_histogram(out, METRIC_ORDERD_HTTP_DURATION, "route", route_names[r], &http_latency[r]);
}

static void write_orders(FILE *out, struct order_store *orders, struct queue *queue)
{
    uint64_t in_store[ORDER_STATE_COUNT], done, failed, accepted;

    order_store_counts(orders, in_store, &done, &failed, &accepted);
    family(out, "orderd_orders_accepted_total", "counter", "Orders accepted (answered 202).");
    fprintf(out, "orderd_orders_accepted_total %llu\n", (unsigned long long)accepted);
    family(out, "orderd_orders_rejected_total", "counter",
           "Orders refused with 503, by reason: the work queue or the order store was full.");
    fprintf(out, "orderd_orders_rejected_total{reason=\"queue_full\"} %llu\n",
            (unsigned long long)(queue ? queue_rejected_total(queue) : 0));
    fprintf(out, "orderd_orders_rejected_total{reason=\"store_full\"} %llu\n",
            (unsigned long long)order_store_full_total(orders));
    family(out, "orderd_orders_total", "counter", "Orders finished, by final state.");
    fprintf(out, "orderd_orders_total{state=\"done\"} %llu\n", (unsigned long long)done);
    fprintf(out, "orderd_orders_total{state=\"failed\"} %llu\n", (unsigned long long)failed);
    family(out, "orderd_orders_in_store", "gauge", "Orders held in the order store, by state.");
    for (int s = 0; s < ORDER_STATE_COUNT; s++)
        fprintf(out, "orderd_orders_in_store{state=\"%s\"} %llu\n", orders_state_name(s),
                (unsigned long long)in_store[s]);
}

static void write_connections(FILE *out)
{
    family(out, "orderd_connections_open", "gauge", "Open client connections, by port.");
    for (int p = 0; p < CONNLIMIT_PORT_COUNT; p++)
        labelled(out, "orderd_connections_open", "port", connlimit_port_name(p), (double)connlimit_open(p));
    family(out, "orderd_connections_max", "gauge", "Most client connections a port keeps open (--max-connections).");
    for (int p = 0; p < CONNLIMIT_PORT_COUNT; p++)
        labelled(out, "orderd_connections_max", "port", connlimit_port_name(p), (double)connlimit_max(p));
    family(out, "orderd_connections_refused_total", "counter",
           "Connections or requests refused or closed at a limit, by port and reason.");
    for (int p = 0; p < CONNLIMIT_PORT_COUNT; p++)
        for (int r = 0; r < CONNLIMIT_REASON_COUNT; r++)
            fprintf(out, "orderd_connections_refused_total{port=\"%s\",reason=\"%s\"} %llu\n",
                    connlimit_port_name(p), connlimit_reason_name(r),
                    (unsigned long long)connlimit_refused_total(p, r));
}

static void write_faults(FILE *out)
{
    struct fault_status st[FAULT_COUNT];

    for (int f = 0; f < FAULT_COUNT; f++)
        fault_status(f, &st[f]);
    family(out, "orderd_fault_active", "gauge", "1 when the fault is switched on.");
    for (int f = 0; f < FAULT_COUNT; f++)
        labelled(out, "orderd_fault_active", "fault", st[f].name, st[f].on ? 1 : 0);
    family(out, "orderd_fault_fired_total", "counter", "Times each fault fired.");
    for (int f = 0; f < FAULT_COUNT; f++)
        labelled(out, "orderd_fault_fired_total", "fault", st[f].name, (double)st[f].fired);
    family(out, METRIC_ORDERD_LEAKED_THREADS, "gauge", "Threads held by the leak.threads fault.");
    fprintf(out, METRIC_ORDERD_LEAKED_THREADS " %llu\n", (unsigned long long)st[FAULT_LEAK_THREADS].held_threads);
    family(out, METRIC_ORDERD_LEAKED_BYTES, "gauge", "Bytes held by the leak.memory fault.");
    fprintf(out, METRIC_ORDERD_LEAKED_BYTES " %llu\n", (unsigned long long)st[FAULT_LEAK_MEMORY].held_bytes);
}

/* What this orderd is and how it is instrumented. The level is an enum, so it is one
 * series per level with the current one at 1, as Prometheus' naming guide asks
 * (a number 0..2 would invite sums and averages that mean nothing). */
static void write_info(FILE *out)
{
    static const int levels[] = {INSTRUMENT_OFF, INSTRUMENT_METRICS, INSTRUMENT_PROFILE};
    int level = atomic_load(&instrument.level);

    family(out, "orderd_build_info", "gauge", "1, labelled with the version and git revision orderd was built from.");
    fputs("orderd_build_info{version=\"", out);
    metrics_write_label_value(out, buildinfo_version());
    fputs("\",revision=\"", out);
    metrics_write_label_value(out, buildinfo_revision());
    fputs("\"} 1\n", out);
    family(out, "orderd_instrument_level", "gauge", "1 for the current instrumentation level, 0 for the others.");
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        labelled(out, "orderd_instrument_level", "level", instrument_level_name(levels[i]), level == levels[i]);
}

int metrics_write(FILE *out, const struct metrics_sources *src)
{
    write_process(out);
    write_threads(out);
    if (src->queue)
        write_queue(out, src->queue);
    write_locks(out);
    write_http(out);
    if (src->orders)
        write_orders(out, src->orders, src->queue);
    write_connections(out);
    write_faults(out);
    write_info(out);
    return ferror(out) ? -1 : 0;
}
