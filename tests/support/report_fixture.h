/* report_fixture: a small results database for the report tests, written through
 * resultdb the way a real run writes it (no checked-in binary file), with numbers
 * chosen so the tests can predict every chart.
 *
 * Each run is 10 s scraped every 250 ms (t = 0 .. 10), a 2 s warmup and an 8 s
 * measured part. Its service histogram puts half the requests under 1 ms, 90% under
 * 10 ms and 99% under 100 ms, so p50/p90/p99 per window are 1, 10 and 100 ms. */
#ifndef TESTS_REPORT_FIXTURE_H
#define TESTS_REPORT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/resultdb.h"
#include "tmpdb.h"

struct report_fixture_run {
    const char *scenario, *label;
    const char *status;          /* "completed" (gates judged) or "crashed" (none) */
    double throughput;           /* requests/s, service counter and wrk alike */
    double p99;                  /* wrk's p99, seconds */
    bool stall;                  /* queue.stall from t = 4 to 8: queue full, 503s appear */
    bool gates;                  /* throughput, p99_latency, thread_growth, error_rate gates
                                  * (+ queue_saturation expected to fail and a metric gate
                                  * with stall) */
};

/* The runs of report_fixture_build, in order (run ids 1..REPORT_FIXTURE_RUNS). */
#define REPORT_FIXTURE_RUNS 9
extern const struct report_fixture_run report_fixture_runs[REPORT_FIXTURE_RUNS];

/* Adds one run. Returns 0 with *run_id set, or -1 with err filled. */
int report_fixture_add_run(struct resultdb *db, const struct report_fixture_run *spec, int64_t *run_id,
                           char *err, size_t errlen);

/* The incident records report_fixture_build adds. Run REPORT_FIXTURE_EVIDENCE_RUN
 * (queue-stall) has evidence — REPORT_FIXTURE_PERIODIC_DUMPS periodic thread dumps,
 * a "mid-run" snapshot whose thread dump alone holds REPORT_FIXTURE_MIDRUN_MARK, a
 * note, and an "end of steady state" snapshot whose thread dump holds
 * REPORT_FIXTURE_ESCAPE_MARK and whose heap profile is REPORT_FIXTURE_HEAP_LINES
 * lines long — and is diagnosed queue-full in worker_process_stalled from t=4.3s,
 * confidence 0.8. Run REPORT_FIXTURE_HEALTHY_RUN (baseline v1) is diagnosed
 * healthy. The other runs have neither. */
#define REPORT_FIXTURE_EVIDENCE_RUN 2
#define REPORT_FIXTURE_HEALTHY_RUN 1
#define REPORT_FIXTURE_PERIODIC_DUMPS 6
#define REPORT_FIXTURE_MIDRUN_MARK "mid_run_only_frame"
#define REPORT_FIXTURE_ESCAPE_MARK "frame <unknown> & \"quoted\""
#define REPORT_FIXTURE_HEAP_LINES 100

/* Stores the evidence and the diagnosis described above for run_id. Returns 0, or -1
 * with err filled. */
int report_fixture_add_incident(struct resultdb *db, int64_t run_id, char *err, size_t errlen);

/* Stores a healthy verdict (class none) for run_id. Returns 0, or -1 with err. */
int report_fixture_add_healthy_verdict(struct resultdb *db, int64_t run_id, char *err, size_t errlen);

/* Creates the database at path with report_fixture_runs: baseline v1, v2, v3 (v3 a
 * throughput regression that fails its gate), queue-stall (met, one fault phase), a
 * crashed run, and overhead-off / overhead-profile twice each; and the incident
 * records above. Returns 0, or -1. */
int report_fixture_build(const char *path, char *err, size_t errlen);

/* Makes a scratch folder /tmp/NAME-XXXXXX (tmpdb_make) and builds the database in it
 * (report_fixture_build). Returns 0, or -1 with the reason printed on stderr (for a
 * group setup, which has no err of its own to fill). */
int report_fixture_tmpdb(struct tmpdb *t, const char *name);

/* What report_fixture_add_open_load stores: REPORT_FIXTURE_OPEN_RATE requests
 * scheduled every second of the run (warmup 0..2 s, measured part 2..10 s), each
 * answered in 1 ms but in REPORT_FIXTURE_OPEN_STALL_MS during the stall (t = 4 to 8),
 * when a quarter of them complete each second, REPORT_FIXTURE_OPEN_DROPPED are dropped
 * and REPORT_FIXTURE_OPEN_ERRORS fail. */
#define REPORT_FIXTURE_OPEN_RATE 400
#define REPORT_FIXTURE_OPEN_STALL_MS 1500
#define REPORT_FIXTURE_OPEN_DROPPED 10
#define REPORT_FIXTURE_OPEN_ERRORS 5

/* Makes run_id an open-model run: its open_loads rows and per-second
 * latency_windows as above, the measured part flagged behind schedule when behind.
 * Returns 0, or -1 with err filled. */
int report_fixture_add_open_load(struct resultdb *db, int64_t run_id, bool behind, char *err, size_t errlen);

/* Gates a fixture run judged (0 for a crashed one). */
size_t report_fixture_gate_count(const struct report_fixture_run *spec);

#endif
