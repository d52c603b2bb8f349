/* gate: a scenario's pass/fail thresholds, parsed from `[gate]` lines and judged on
 * what a run measured.
 *
 * A gate is `name = OP THRESHOLD` with OP one of < <= > >= and a threshold whose unit
 * must suit the gate (a latency needs a time unit, a share takes 0..1 or a percentage,
 * rss_growth takes sizes per second). A unit that does not fit or an unknown name is
 * an error, never a gate quietly skipped: a misspelled threshold that is ignored is
 * how a CI gate lies.
 *
 * `regression.FIGURE = N%` (any figure above) is a regression gate: this module parses
 * it and measures FIGURE on each run; whether the runs of a candidate build are worse
 * than those of a baseline build is judged across runs by the regression module.
 *
 * The open model (a [load] rate) adds `dropped_share` (requests dropped at max_in_flight
 * over those scheduled) and windowed latencies, `p99_latency.window(10s)` (p50, p75,
 * p90, p99, p999): the worst of every run of that many consecutive per-second windows,
 * their histograms merged, must hold. Either may end with `abort_on_fail`
 * (`= < 20ms abort_on_fail`): judged as the run goes, the run stops early once the gate
 * is already lost (gate_lost_early).
 *
 * Observed values are kept in base units (seconds, bytes, ratios 0..1, per second);
 * see docs/scenarios.md for how each is computed. A gate whose data is missing is an
 * error, not a pass. */
#ifndef LOADLAB_GATE_H
#define LOADLAB_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/seriesstore.h"
#include "base/wrkres.h"

#define GATE_MAX_NAME 512
#define GATE_MAX_THRESHOLD_TEXT 80

/* Names under which loadlab stores its own /proc figures for a service's pid. */
#define GATE_PROC_THREADS "loadlab_proc_threads"
#define GATE_PROC_RSS "loadlab_proc_resident_memory_bytes"
#define GATE_PROC_FDS "loadlab_proc_open_fds"
#define GATE_PROC_CPU "loadlab_proc_cpu_seconds_total"

/* The label that tells a fleet's replicas apart (Prometheus' target label), and how
 * many replicas a per-instance gate looks at. */
#define GATE_INSTANCE_LABEL "instance"
#define GATE_MAX_INSTANCES 256

/* A queue sample counts as saturated at this share of capacity. */
#define GATE_SATURATION_FRACTION 0.9

/* The widest latency window a gate may ask for. */
#define GATE_MAX_WINDOW_S 300

enum gate_kind {
    GATE_THROUGHPUT, GATE_ERROR_RATE,
    GATE_P50_LATENCY, GATE_P75_LATENCY, GATE_P90_LATENCY, GATE_P99_LATENCY, GATE_P999_LATENCY,
    GATE_THREAD_GROWTH, GATE_RSS_GROWTH, GATE_FD_GROWTH,
    GATE_QUEUE_SATURATION, GATE_REJECTED_SHARE, GATE_MUTEX_WAIT_SHARE,
    GATE_CPU_PER_REQUEST,
    GATE_INSTRUCTIONS_PER_REQUEST,
    GATE_GOROUTINE_GROWTH,
    GATE_DROPPED_SHARE,
    GATE_METRIC
};

enum gate_op { GATE_LT, GATE_LE, GATE_GT, GATE_GE };

enum gate_agg { GATE_AGG_MAX, GATE_AGG_LAST, GATE_AGG_MEAN, GATE_AGG_SLOPE };

enum gate_verdict { GATE_PASS, GATE_FAIL, GATE_ERROR };

struct gate_spec {
    char name[GATE_MAX_NAME];          /* canonical: "p99_latency", "metric.x{a=\"b\"}.max" */
    enum gate_kind kind;               /* for a regression gate: the figure it compares */
    enum gate_op op;                   /* regression: GATE_GT a rise is worse, GATE_LT a drop */
    double threshold;                  /* base units; regression: the relative change, 0.05 */
    char threshold_text[GATE_MAX_THRESHOLD_TEXT];  /* as written: "< 20ms"; regression "-5%" */
    bool regression;                   /* "regression.FIGURE" */
    struct series_selector selector;   /* GATE_METRIC only */
    enum gate_agg agg;                 /* GATE_METRIC only */
    int64_t window_ns;                 /* pN_latency.window(W): W; 0 for the whole run */
    bool abort_on_fail;                /* judged as the run goes; lost: the run stops */
};

/* One second of an open-model load: counts and its latencies, serialized as
 * latency_hist stores them (NULL when none completed). */
struct gate_window {
    uint64_t scheduled, completed, errors, dropped;
    const uint8_t *latency;
    size_t latency_len;
};

/* What a run measured, for evaluation. */
struct gate_inputs {
    const struct wrkres *load;            /* the measured wrk run; NULL if none */
    const struct series_store *series;
    double from, to;                      /* the steady state, seconds on the run's clock */
    bool have_proc;                       /* GATE_PROC_* series were sampled */
    /* [load] requests: the instructions the service executed per measured request and
     * the counter that counted them (costmeter_kind_name); NULL when not measured */
    double instructions_per_request;
    const char *cost_counter;
    /* the open model (run/openstep): requests scheduled and dropped, and the measured
     * stage's per-second windows; open is false for wrk's load */
    bool open;
    uint64_t scheduled, dropped;
    const struct gate_window *windows;
    size_t nwindows;
};

struct gate_result {
    const struct gate_spec *spec;         /* borrowed from the scenario */
    double observed;                      /* base units; NaN on error */
    enum gate_verdict verdict;
    bool expected_to_fail;
    char detail[256];                     /* why a gate is an error; on a fleet, which
                                             instance a per-instance figure is from */
    char instance[256];                   /* a worst-of-instances gate on a fleet: the
                                             worst instance, whose figure is observed */
    unsigned instances;                   /* of how many judged; 0 when not per instance */
};

/* Parses one [gate] line. key and value are as in the file (value: "< 20ms", or
 * "5%" / "+5%" / "-5%" for a regression gate). Returns 0, or -1 with err filled
 * (unknown gate, bad operator, unit unfit for the gate, bad selector, a regression
 * change that is not a percentage). out is unspecified on failure. */
int gate_parse(const char *key, const char *value, struct gate_spec *out, char *err, size_t errlen);

/* Canonicalizes a gate name as written in [expect] ("metric.x{b=\"1\",a=\"2\"}.max"
 * gets its matchers sorted) so it compares equal to gate_spec.name.
 * Returns 0, or -1 with err filled if it is not a gate name. */
int gate_canonical_name(const char *name, char *out, size_t outlen, char *err, size_t errlen);

/* Adds to store the metrics the gate reads. Returns 0, or -1 when out of memory. */
int gate_want_metrics(const struct gate_spec *spec, bool have_proc, struct series_store *store);

/* Checks, after the first scrape, that a built-in gate's metrics exist (metric.*
 * gates are only judged at the end, since a series may appear later).
 * Returns 0, or -1 with err naming the gate and the missing metric. */
int gate_check_metrics(const struct gate_spec *spec, bool have_proc,
                       const struct series_store *store, char *err, size_t errlen);

/* Judges a gate. Never fails: a missing figure gives verdict GATE_ERROR with detail.
 * A regression gate is only measured: observed is the run's figure, and the verdict
 * is GATE_PASS (measured) or GATE_ERROR. */
void gate_evaluate(const struct gate_spec *spec, const struct gate_inputs *in,
                   struct gate_result *out);

/* While an open-model load runs, whether a gate with abort_on_fail is already lost:
 * in holds the windows complete so far and the totals so far, planned the requests
 * the whole schedule holds. A window gate is lost when a full window of its width
 * fails; dropped_share when the drops so far, over planned, exceed it. Returns true
 * with out filled (the observed value, verdict GATE_FAIL), else false. */
bool gate_lost_early(const struct gate_spec *spec, const struct gate_inputs *in, uint64_t planned,
                     struct gate_result *out);

/* "<", "<=", ">", ">=". */
const char *gate_op_text(enum gate_op op);

/* The base unit the observed value is stored in ("s", "req/s", "ratio", ...). */
const char *gate_unit(const struct gate_spec *spec);

/* Writes an observed value for people with the formatter of its quantity (units.h:
 * "12.3ms", "4.1%", "1.2MB/s", "0.428s/s", "0.5 threads/s"; a metric.* gate in the
 * unit its metric's name gives). Returns buf. */
char *gate_format_observed(const struct gate_spec *spec, double value, char *buf, size_t buflen);

/* Writes the threshold the way gate_format_observed writes the observed value, after
 * its operator ("< 0.05s/s", "< 250ms"), so the two read side by side; a regression
 * gate's change as written ("+5%"). Returns buf. */
char *gate_format_threshold(const struct gate_spec *spec, char *buf, size_t buflen);

#endif
