/* report_fixture: a results database for the report tests. See report_fixture.h. */
#include "report_fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diagnose/diagnose.h"
#include "store/evidence.h"
#include "judge/gate.h"
#include "base/latency_hist.h"
#include "store/openloads.h"

#define TICK 0.25
#define LAST_T 10.0
#define STEADY_FROM 2.0
#define MIB (1024.0 * 1024.0)

const struct report_fixture_run report_fixture_runs[REPORT_FIXTURE_RUNS] = {
    {"baseline", "v1", "completed", 1000, 0.005, false, true},
    {"queue-stall", "v1", "completed", 800, 0.040, true, true},
    {"baseline", "v2", "completed", 1020, 0.005, false, true},
    {"baseline", "v3", "completed", 400, 0.009, false, true},
    {"crashy", "v3", "crashed", 900, 0.005, false, true},
    {"overhead-off", "v3", "completed", 1000, 0.004, false, false},
    {"overhead-profile", "v3", "completed", 900, 0.006, false, false},
    {"overhead-off", "v3", "completed", 1200, 0.005, false, false},
    {"overhead-profile", "v3", "completed", 800, 0.007, false, false},
};

struct fixture_gate {
    const char *name, *threshold;
    bool expected_to_fail, stall_only;
};

static const struct fixture_gate fixture_gates[] = {
    {"throughput", "> 500", false, false},
    {"p99_latency", "< 250ms", false, false},
    {"thread_growth", "< 0.5/s", false, false},
    {"error_rate", "< 1%", false, false},
    {"queue_saturation", "< 10%", true, true},
    {"metric.orderd_block_seconds_total{site=\"queue_pop\"}.slope", "< 10", false, true},
};
#define NGATES (sizeof fixture_gates / sizeof fixture_gates[0])

size_t report_fixture_gate_count(const struct report_fixture_run *spec)
{
    size_t n = 0;
    if (!spec->gates || strcmp(spec->status, "completed") != 0)
        return 0;
    for (size_t i = 0; i < NGATES; i++)
        n += !fixture_gates[i].stall_only || spec->stall;
    return n;
}

static double observed_for(const struct report_fixture_run *spec, const char *name)
{
    if (strcmp(name, "throughput") == 0)
        return spec->throughput;
    if (strcmp(name, "p99_latency") == 0)
        return spec->p99;
    if (strcmp(name, "error_rate") == 0)
        return spec->stall ? 0.004 : 0;
    if (strcmp(name, "queue_saturation") == 0)
        return 0.5;
    if (strcmp(name, "thread_growth") == 0)
        return 0;
    return 3;  /* queue_pop blocked seconds per second */
}

static int params_json(const struct report_fixture_run *spec, char *out, size_t outlen)
{
    size_t used = (size_t)snprintf(out, outlen, "{\"name\":\"%s\",\"description\":\"Fixture run of %s.\","
                                   "\"warmup_s\":2.0,\"duration_s\":8.0,\"sample_interval_s\":0.25,\"gates\":[",
                                   spec->scenario, spec->scenario);
    bool first = true;
    for (size_t i = 0; spec->gates && i < NGATES && used < outlen; i++) {
        struct gate_spec gs;
        char err[256], name[256];
        size_t k = 0;
        if (fixture_gates[i].stall_only && !spec->stall)
            continue;
        if (gate_parse(fixture_gates[i].name, fixture_gates[i].threshold, &gs, err, sizeof err) < 0)
            return -1;
        for (const char *p = fixture_gates[i].name; *p && k + 2 < sizeof name; p++) {
            if (*p == '"')
                name[k++] = '\\';
            name[k++] = *p;
        }
        name[k] = '\0';
        used += (size_t)snprintf(out + used, outlen - used,
                                 "%s{\"name\":\"%s\",\"threshold\":\"%s\",\"threshold_base\":%.9g,\"expected_to_fail\":%s}",
                                 first ? "" : ",", name, fixture_gates[i].threshold, gs.threshold,
                                 fixture_gates[i].expected_to_fail ? "true" : "false");
        first = false;
    }
    if (used < outlen)
        used += (size_t)snprintf(out + used, outlen - used, "]}");
    return used < outlen ? 0 : -1;
}

static int sample(struct resultdb *db, int64_t id, double t, const char *metric, const char *labels, double v,
                  char *err, size_t errlen)
{
    return resultdb_sample(db, id, t, metric, labels, v, err, errlen);
}

/* One scrape of the service and of /proc at time t. */
static int scrape(struct resultdb *db, int64_t id, const struct report_fixture_run *spec, double t, char *err,
                  size_t errlen)
{
    double n = spec->throughput * t;
    bool stalled = spec->stall && t >= 4.5 && t < 8;
    static const char *const buckets[] = {"0.001", "0.01", "0.1", "+Inf"};
    static const double shares[] = {0.5, 0.9, 0.99, 1};
    char labels[128];

    if (sample(db, id, t, GATE_PROC_THREADS, "", 8, err, errlen) < 0 ||
        sample(db, id, t, GATE_PROC_RSS, "", 4 * MIB + 10240 * t, err, errlen) < 0 ||
        sample(db, id, t, GATE_PROC_FDS, "", 20, err, errlen) < 0 ||
        sample(db, id, t, "orderd_threads", "{role=\"io\",state=\"idle\"}", 2, err, errlen) < 0 ||
        sample(db, id, t, "orderd_threads", "{role=\"worker\",state=\"idle\"}", 4, err, errlen) < 0 ||
        sample(db, id, t, "orderd_queue_depth", "", stalled ? 120 : 0, err, errlen) < 0 ||
        sample(db, id, t, "orderd_queue_capacity", "", 128, err, errlen) < 0 ||
        sample(db, id, t, "orderd_queue_enqueued_total", "", 100 * t, err, errlen) < 0 ||
        sample(db, id, t, "orderd_queue_rejected_total", "", stalled ? 50 * (t - 4.5) : spec->stall && t >= 8 ? 175 : 0,
               err, errlen) < 0 ||
        sample(db, id, t, "orderd_mutex_wait_seconds_total", "{lock=\"cache\"}", 0.01 * t, err, errlen) < 0 ||
        sample(db, id, t, "orderd_mutex_wait_seconds_total", "{lock=\"queue\"}", 0, err, errlen) < 0 ||
        sample(db, id, t, "orderd_block_seconds_total", "{site=\"queue_pop\"}", 3 * t, err, errlen) < 0 ||
        sample(db, id, t, "orderd_http_requests_total", "{code=\"200\",route=\"product_get\"}", n, err, errlen) < 0)
        return -1;
    /* The first 503 comes with the stall: a series that appears mid-run. */
    if (spec->stall && t >= 4 &&
        sample(db, id, t, "orderd_http_requests_total", "{code=\"503\",route=\"order_create\"}", 200 * (t - 4), err,
               errlen) < 0)
        return -1;
    for (size_t i = 0; i < 4; i++) {
        snprintf(labels, sizeof labels, "{le=\"%s\",route=\"product_get\"}", buckets[i]);
        if (sample(db, id, t, "orderd_http_request_duration_seconds_bucket", labels, shares[i] * n, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int report_fixture_add_run(struct resultdb *db, const struct report_fixture_run *spec, int64_t *run_id,
                           char *err, size_t errlen)
{
    char params[4096], file[128];
    struct resultdb_run run = {.scenario = spec->scenario, .scenario_file = file, .label = spec->label,
                               .git_rev = "0123456789abcdef0123456789abcdef01234567", .params = params};
    bool completed = strcmp(spec->status, "completed") == 0;
    double last = completed ? LAST_T : 5.0;
    bool met = true;
    int64_t phase;

    snprintf(file, sizeof file, "scenarios/%s.ini", spec->scenario);
    if (params_json(spec, params, sizeof params) < 0) {
        snprintf(err, errlen, "fixture params too long");
        return -1;
    }
    if (resultdb_run_begin(db, &run, run_id, err, errlen) < 0 ||
        resultdb_run_started(db, *run_id, "/tmp/fixture-logs", 4242, 1.7e9, err, errlen) < 0)
        return -1;
    for (double t = 0; t <= last + 1e-9; t += TICK) {
        if (resultdb_begin(db, err, errlen) < 0 || scrape(db, *run_id, spec, t, err, errlen) < 0 ||
            resultdb_commit(db, err, errlen) < 0)
            return -1;
    }
    if (spec->stall && (resultdb_phase_on(db, *run_id, "stall", "queue.stall", "on(50ms)", 4.0, &phase, err, errlen) < 0 ||
                        resultdb_phase_off(db, phase, 8.0, err, errlen) < 0))
        return -1;
    if (!completed)
        return resultdb_run_end(db, *run_id, spec->status, "the service exited with status 1: out of memory", NULL,
                                NAN, NAN, err, errlen);
    {
        struct wrkres load = {.duration_s = 8, .requests = (uint64_t)(spec->throughput * 8), .bytes = 1000,
                              .latency_min = 0.0001, .latency_mean = 0.002, .latency_stdev = 0.001,
                              .latency_max = spec->p99 * 2, .latency_p50 = 0.001, .latency_p75 = 0.002,
                              .latency_p90 = 0.003, .latency_p99 = spec->p99, .latency_p999 = spec->p99 * 1.5};
        if (resultdb_load_result(db, *run_id, "measure", STEADY_FROM, 16, 1, &load, err, errlen) < 0)
            return -1;
    }
    for (double t = STEADY_FROM; t + 1 <= LAST_T + 1e-9; t += 1)
        if (resultdb_window(db, *run_id, t, 1, "orderd_http_requests_total", spec->throughput, err, errlen) < 0)
            return -1;
    for (size_t i = 0; spec->gates && i < NGATES; i++) {
        struct gate_spec gs;
        struct gate_result g = {.spec = &gs};
        if (fixture_gates[i].stall_only && !spec->stall)
            continue;
        if (gate_parse(fixture_gates[i].name, fixture_gates[i].threshold, &gs, err, errlen) < 0)
            return -1;
        g.observed = observed_for(spec, fixture_gates[i].name);
        g.expected_to_fail = fixture_gates[i].expected_to_fail;
        switch (gs.op) {
        case GATE_LT: g.verdict = g.observed < gs.threshold ? GATE_PASS : GATE_FAIL; break;
        case GATE_LE: g.verdict = g.observed <= gs.threshold ? GATE_PASS : GATE_FAIL; break;
        case GATE_GT: g.verdict = g.observed > gs.threshold ? GATE_PASS : GATE_FAIL; break;
        case GATE_GE: g.verdict = g.observed >= gs.threshold ? GATE_PASS : GATE_FAIL; break;
        }
        met = met && (g.verdict == GATE_FAIL) == g.expected_to_fail;
        if (resultdb_gate(db, *run_id, &g, err, errlen) < 0)
            return -1;
    }
    return resultdb_run_end(db, *run_id, "completed", NULL, met ? "met" : "unmet", STEADY_FROM, LAST_T, err, errlen);
}

/* A thread dump in orderd's layout: workers stuck in the stalled job, then a frame
 * only this dump has. */
static int store_dump(struct resultdb *db, int64_t run_id, double t, const char *reason, const char *extra_frame,
                      char *err, size_t errlen)
{
    char text[1024];
    int len = snprintf(text, sizeof text,
                       "threads profile: total 8\n"
                       "4 @ 0x5600001000 0x5600002000\n"
                       "# labels: {\"role\":\"worker\", \"state\":\"busy\"}\n"
                       "#\t0x5600001000\tworker_process_stalled+0x10\tservice/workers.c:90\n"
                       "#\t0x5600002000\tworker_main+0x72\tservice/workers.c:133\n\n"
                       "1 @ 0x5600003000\n"
                       "#\t0x5600003000\t%s\t?:0\n", extra_frame);
    return evidence_store_text(db, run_id, t, EVIDENCE_THREADS, reason, text, (size_t)len, err, errlen);
}

/* One snapshot: the dump, the three profiles and the answer key, as capture takes
 * them. */
static int store_snapshot(struct resultdb *db, int64_t run_id, double t, const char *reason, const char *frame,
                          size_t heap_lines, char *err, size_t errlen)
{
    static const char mutex[] = "--- mutex:\ncycles/second=1000000000\nsampling period=1\n"
                                "1200 3 @ 0x5600004000\n#\t0x5600004000\tqueue_push+0x20\tservice/queue.c:80\n";
    static const char block[] = "--- contention:\ncycles/second=1000000000\n"
                                "900000 12 @ 0x5600005000\n#\t0x5600005000\tqueue_pop+0x3e\tservice/queue.c:123\n";
    static const char faults[] = "queue.stall on(50ms)\n";
    char heap[8192];
    size_t used = (size_t)snprintf(heap, sizeof heap, "heap profile: %zu: %zu [0: 0] @ heap/2\n", heap_lines - 1,
                                   (heap_lines - 1) * 4096);

    for (size_t i = 1; i < heap_lines && used < sizeof heap; i++)
        used += (size_t)snprintf(heap + used, sizeof heap - used, "1: 4096 [0: 0] @ heap site %zu\n", i);
    if (used >= sizeof heap) {
        snprintf(err, errlen, "fixture heap profile too long");
        return -1;
    }
    if (store_dump(db, run_id, t, reason, frame, err, errlen) < 0 ||
        evidence_store_text(db, run_id, t, EVIDENCE_MUTEX, reason, mutex, sizeof mutex - 1, err, errlen) < 0 ||
        evidence_store_text(db, run_id, t, EVIDENCE_BLOCK, reason, block, sizeof block - 1, err, errlen) < 0 ||
        evidence_store_text(db, run_id, t, EVIDENCE_HEAP, reason, heap, used, err, errlen) < 0 ||
        evidence_store_text(db, run_id, t, EVIDENCE_FAULTS, reason, faults, sizeof faults - 1, err, errlen) < 0)
        return -1;
    return 0;
}

int report_fixture_add_incident(struct resultdb *db, int64_t run_id, char *err, size_t errlen)
{
    static const char note[] = "instrument metrics -> profile at t=4.50s (queue full)\n";
    struct diagnose_result verdict = {.run_id = run_id, .n = 1};
    struct diagnose_finding *f = &verdict.findings[0];

    for (int i = 0; i < REPORT_FIXTURE_PERIODIC_DUMPS; i++)
        if (store_dump(db, run_id, 2.0 + i, EVIDENCE_PERIODIC, "epoll_wait", err, errlen) < 0)
            return -1;
    if (evidence_store_text(db, run_id, 4.5, EVIDENCE_NOTE, "trigger", note, sizeof note - 1, err, errlen) < 0 ||
        store_snapshot(db, run_id, 5.0, "mid-run", REPORT_FIXTURE_MIDRUN_MARK, 3, err, errlen) < 0 ||
        store_snapshot(db, run_id, 8.5, "end of steady state", REPORT_FIXTURE_ESCAPE_MARK, REPORT_FIXTURE_HEAP_LINES,
                       err, errlen) < 0)
        return -1;
    snprintf(f->class_name, sizeof f->class_name, "queue-full");
    snprintf(f->culprit, sizeof f->culprit, "worker_process_stalled");
    f->started_at = 4.3;
    f->confidence = 0.8;
    snprintf(f->summary, sizeof f->summary, "the queue sat at capacity for 3.5s while requests were rejected");
    snprintf(f->evidence, sizeof f->evidence, "orderd_queue_depth >= 90%% of capacity from t=4.3s\n"
                                              "4 of 4 busy workers in worker_process_stalled\n");
    return diagnose_store(db, &verdict, err, errlen);
}

int report_fixture_add_healthy_verdict(struct resultdb *db, int64_t run_id, char *err, size_t errlen)
{
    struct diagnose_result verdict = {.run_id = run_id};
    snprintf(verdict.notes, sizeof verdict.notes, "no evidence was captured for this run");
    return diagnose_store(db, &verdict, err, errlen);
}

int report_fixture_build(const char *path, char *err, size_t errlen)
{
    struct resultdb *db;
    int64_t id;
    int rc = 0;

    unlink(path);
    db = resultdb_open(path, false, err, errlen);
    if (!db)
        return -1;
    for (size_t i = 0; i < REPORT_FIXTURE_RUNS && rc == 0; i++)
        rc = report_fixture_add_run(db, &report_fixture_runs[i], &id, err, errlen);
    if (rc == 0 && (report_fixture_add_incident(db, REPORT_FIXTURE_EVIDENCE_RUN, err, errlen) < 0 ||
                    report_fixture_add_healthy_verdict(db, REPORT_FIXTURE_HEALTHY_RUN, err, errlen) < 0))
        rc = -1;
    resultdb_close(db);
    return rc;
}

int report_fixture_tmpdb(struct tmpdb *t, const char *name)
{
    char err[1024];
    if (tmpdb_make(t, name) < 0) {
        fprintf(stderr, "fixture: cannot make a scratch folder for %s\n", name);
        return -1;
    }
    if (report_fixture_build(t->path, err, sizeof err) < 0) {
        fprintf(stderr, "fixture: %s\n", err);
        return -1;
    }
    return 0;
}

/* One stage of report_fixture_add_open_load: seconds from..to of the run's clock. */
static int add_open_stage(struct resultdb *db, int64_t run_id, const char *stage, double from, double to,
                          bool behind, char *err, size_t errlen)
{
    struct openloads_window w[16];
    struct openloads_stage row = {.stage = stage, .started_at = from, .duration_s = to - from,
                                  .asked_rate = REPORT_FIXTURE_OPEN_RATE, .lag_limit_s = 0.001,
                                  .behind_schedule = behind};
    struct latency_hist *h = latency_hist_new(), *all = latency_hist_new();
    size_t n = 0;
    int rc = -1;

    memset(w, 0, sizeof w);
    if (!h || !all) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (double t = from; t < to && n < sizeof w / sizeof w[0]; t += 1, n++) {
        bool stalled = t >= 4 && t < 8;
        w[n].second = (int64_t)n;
        w[n].scheduled = REPORT_FIXTURE_OPEN_RATE;
        w[n].dropped = stalled ? REPORT_FIXTURE_OPEN_DROPPED : 0;
        w[n].completed = stalled ? REPORT_FIXTURE_OPEN_RATE / 4 : REPORT_FIXTURE_OPEN_RATE;
        w[n].errors = stalled ? REPORT_FIXTURE_OPEN_ERRORS : 0;
        latency_hist_reset(h);
        latency_hist_record(h, stalled ? REPORT_FIXTURE_OPEN_STALL_MS * 1000 : 1000, w[n].completed);
        latency_hist_merge(all, h);
        if (latency_hist_serialize(h, &w[n].latency, &w[n].latency_len) < 0) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        row.scheduled += w[n].scheduled;
        row.completed += w[n].completed;
        row.errors += w[n].errors;
        row.dropped += w[n].dropped;
    }
    row.achieved_rate = (double)row.completed / row.duration_s;
    row.p50_s = (double)latency_hist_percentile(all, 50) / 1e6;
    row.p90_s = (double)latency_hist_percentile(all, 90) / 1e6;
    row.p99_s = (double)latency_hist_percentile(all, 99) / 1e6;
    row.p999_s = (double)latency_hist_percentile(all, 99.9) / 1e6;
    row.max_s = (double)latency_hist_max(all) / 1e6;
    rc = openloads_record(db, run_id, &row, err, errlen) < 0 ||
         openloads_record_windows(db, run_id, stage, from, w, n, err, errlen) < 0 ? -1 : 0;
done:
    for (size_t i = 0; i < n; i++)
        free(w[i].latency);
    latency_hist_free(h);
    latency_hist_free(all);
    return rc;
}

int report_fixture_add_open_load(struct resultdb *db, int64_t run_id, bool behind, char *err, size_t errlen)
{
    if (add_open_stage(db, run_id, "warmup", 0, STEADY_FROM, false, err, errlen) < 0)
        return -1;
    return add_open_stage(db, run_id, "measure", STEADY_FROM, LAST_T, behind, err, errlen);
}
