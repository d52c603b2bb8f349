/* gate: threshold parsing and judging. See gate.h. */
#include "judge/gate.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/stats.h"
#include "units.h"

/* What a threshold may be written in. */
enum dimension {
    DIM_LATENCY,     /* a time unit is required */
    DIM_RATE,        /* plain or N/s */
    DIM_BYTES_RATE,  /* size with optional /s */
    DIM_RATIO,       /* 0..1 or N% */
    DIM_LOAD,        /* >= 0 (may exceed 1) or N% */
    DIM_ANY          /* metric.*: plain, %, /s, time or size */
};

static const struct {
    const char *name;
    enum gate_kind kind;
    enum dimension dim;
    const char *unit;
} gate_table[] = {
    {"throughput", GATE_THROUGHPUT, DIM_RATE, "req/s"},
    {"error_rate", GATE_ERROR_RATE, DIM_RATIO, "ratio"},
    {"p50_latency", GATE_P50_LATENCY, DIM_LATENCY, "s"},
    {"p75_latency", GATE_P75_LATENCY, DIM_LATENCY, "s"},
    {"p90_latency", GATE_P90_LATENCY, DIM_LATENCY, "s"},
    {"p99_latency", GATE_P99_LATENCY, DIM_LATENCY, "s"},
    {"p999_latency", GATE_P999_LATENCY, DIM_LATENCY, "s"},
    {"thread_growth", GATE_THREAD_GROWTH, DIM_RATE, "threads/s"},
    {"rss_growth", GATE_RSS_GROWTH, DIM_BYTES_RATE, "B/s"},
    {"fd_growth", GATE_FD_GROWTH, DIM_RATE, "fds/s"},
    {"queue_saturation", GATE_QUEUE_SATURATION, DIM_RATIO, "ratio"},
    {"rejected_share", GATE_REJECTED_SHARE, DIM_RATIO, "ratio"},
    {"mutex_wait_share", GATE_MUTEX_WAIT_SHARE, DIM_LOAD, "s/s"},
    {"cpu_per_request", GATE_CPU_PER_REQUEST, DIM_LATENCY, "s"},
    {"metric", GATE_METRIC, DIM_ANY, ""},
};

static const char *const agg_names[] = {"max", "last", "mean", "slope"};

#define KNOWN_GATES "throughput, error_rate, p50_latency, p75_latency, p90_latency, " \
    "p99_latency, p999_latency, thread_growth, rss_growth, fd_growth, queue_saturation, " \
    "rejected_share, mutex_wait_share, cpu_per_request, metric.NAME{labels}.max|last|mean|slope; " \
    "any of them behind regression."

static size_t table_index(enum gate_kind kind)
{
    for (size_t i = 0; i < sizeof gate_table / sizeof gate_table[0]; i++)
        if (gate_table[i].kind == kind)
            return i;
    return 0;
}

/* Parses "metric.SELECTOR.AGG" (name points past "metric."). */
static int parse_metric_name(const char *name, struct gate_spec *out, char *err, size_t errlen)
{
    const char *dot = strrchr(name, '.');
    char selerr[200];
    size_t i;

    if (!dot || dot == name) {
        snprintf(err, errlen, "metric gate '%s' must read metric.NAME{labels}.max|last|mean|slope", name);
        return -1;
    }
    for (i = 0; i < sizeof agg_names / sizeof agg_names[0]; i++)
        if (strcmp(dot + 1, agg_names[i]) == 0)
            break;
    if (i == sizeof agg_names / sizeof agg_names[0]) {
        snprintf(err, errlen, "metric gate aggregate '%s' unknown (use max, last, mean or slope)", dot + 1);
        return -1;
    }
    out->agg = (enum gate_agg)i;
    if (series_selector_parse(name, (size_t)(dot - name), &out->selector, selerr, sizeof selerr) < 0) {
        snprintf(err, errlen, "metric gate: %s", selerr);
        return -1;
    }
    return 0;
}

/* Fills kind (and selector/agg for metric gates) and the canonical name. */
static int parse_name(const char *key, struct gate_spec *out, char *err, size_t errlen)
{
    char sel[GATE_MAX_NAME];

    if (strncmp(key, "regression.", 11) == 0) {
        snprintf(err, errlen, "'%s': regression. is followed by one gate figure, not another regression.", key);
        return -1;
    }
    if (strncmp(key, "metric.", 7) == 0) {
        if (parse_metric_name(key + 7, out, err, errlen) < 0)
            return -1;
        out->kind = GATE_METRIC;
        if (series_selector_format(&out->selector, sel, sizeof sel) < 0 ||
            (size_t)snprintf(out->name, sizeof out->name, "metric.%s.%s", sel,
                             agg_names[out->agg]) >= sizeof out->name) {
            snprintf(err, errlen, "metric gate name too long");
            return -1;
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof gate_table / sizeof gate_table[0]; i++)
        if (gate_table[i].kind != GATE_METRIC && strcmp(key, gate_table[i].name) == 0) {
            out->kind = gate_table[i].kind;
            snprintf(out->name, sizeof out->name, "%s", key);
            return 0;
        }
    snprintf(err, errlen, "unknown gate '%s' (known: " KNOWN_GATES ")", key);
    return -1;
}

/* Splits "12.5ms" into 12.5 and "ms"; a leading '-' is allowed (slopes). */
static int split_threshold(const char *text, double *number, const char **unit)
{
    char *end;
    const char *digits = text[0] == '-' ? text + 1 : text;
    if (!isdigit((unsigned char)digits[0]) && !(digits[0] == '.' && isdigit((unsigned char)digits[1])))
        return -1;
    errno = 0;
    *number = strtod(text, &end);
    if (errno || !isfinite(*number))
        return -1;
    for (const char *c = text; c < end; c++)
        if (!strchr("0123456789.eE+-", *c))
            return -1;  /* strtod also reads hex, which no one means in a threshold */
    *unit = end;
    return 0;
}

static bool is_duration_unit(const char *u)
{
    static const char *const units[] = {"ns", "us", "\xc2\xb5s", "ms", "s", "m", "h"};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(u, units[i]) == 0)
            return true;
    return false;
}

/* Converts a size with an optional "/s" ("1.5MB/s", "2048") to bytes; sign allowed. */
static int parse_size_rate(const char *token, double *out)
{
    char body[64];
    size_t len = strlen(token);
    bool negative = token[0] == '-';
    uint64_t bytes;
    char unused[8];

    if (len >= sizeof body)
        return -1;
    memcpy(body, token, len + 1);
    if (len > 2 && strcmp(body + len - 2, "/s") == 0)
        body[len - 2] = '\0';
    if (units_parse_size(negative ? body + 1 : body, &bytes, unused, sizeof unused) < 0)
        return -1;
    *out = negative ? -(double)bytes : (double)bytes;
    return 0;
}

static int parse_threshold(const char *token, enum dimension dim, const char *gate, double *out,
                           char *err, size_t errlen)
{
    double number;
    const char *unit;
    int64_t ns;
    char unused[8];

    if (split_threshold(token, &number, &unit) < 0) {
        snprintf(err, errlen, "gate %s: bad threshold '%s' (expected a number with a unit)", gate, token);
        return -1;
    }
    if (number < 0 && dim != DIM_RATE && dim != DIM_ANY) {
        snprintf(err, errlen, "gate %s: threshold '%s' must not be negative", gate, token);
        return -1;
    }
    switch (dim) {
    case DIM_LATENCY:
        if (!is_duration_unit(unit) ||
            units_parse_duration(token, &ns, unused, sizeof unused) < 0) {
            snprintf(err, errlen, "gate %s: threshold '%s' needs a time unit (e.g. 20ms, 500us, 1s)", gate, token);
            return -1;
        }
        *out = (double)ns / 1e9;
        return 0;
    case DIM_RATE:
        if (*unit && strcmp(unit, "/s") != 0) {
            snprintf(err, errlen, "gate %s: threshold '%s' takes a plain number or N/s", gate, token);
            return -1;
        }
        *out = number;
        return 0;
    case DIM_BYTES_RATE:
        if (parse_size_rate(token, out) < 0) {
            snprintf(err, errlen, "gate %s: threshold '%s' takes a size per second (e.g. 1MB/s, 512KB/s, 4096)", gate, token);
            return -1;
        }
        return 0;
    case DIM_RATIO:
    case DIM_LOAD:
        if (*unit && strcmp(unit, "%") != 0) {
            snprintf(err, errlen, "gate %s: threshold '%s' takes a number or a percentage (e.g. 0.05 or 5%%)", gate, token);
            return -1;
        }
        *out = *unit ? number / 100 : number;
        if (dim == DIM_RATIO && (*out > 1)) {
            snprintf(err, errlen, "gate %s: threshold '%s' is a share: use 0..1 or a percentage up to 100%%", gate, token);
            return -1;
        }
        return 0;
    case DIM_ANY:
        if (!*unit || strcmp(unit, "/s") == 0) {
            *out = number;
        } else if (strcmp(unit, "%") == 0) {
            *out = number / 100;
        } else if (is_duration_unit(unit)) {
            if (units_parse_duration(token[0] == '-' ? token + 1 : token, &ns, unused, sizeof unused) < 0)
                goto bad_any;
            *out = (token[0] == '-' ? -1.0 : 1.0) * (double)ns / 1e9;
        } else if (parse_size_rate(token, out) < 0) {
            goto bad_any;
        }
        return 0;
    }
bad_any:
    snprintf(err, errlen, "gate %s: threshold '%s' has an unknown unit (use none, %%, /s, a time or a size)", gate, token);
    return -1;
}

/* The figure behind "regression.FIGURE", with the name made canonical. */
static int parse_regression_name(const char *key, struct gate_spec *out, char *err, size_t errlen)
{
    char figure[GATE_MAX_NAME];

    if (parse_name(key + 11, out, err, errlen) < 0)
        return -1;
    memcpy(figure, out->name, sizeof figure);
    if ((size_t)snprintf(out->name, sizeof out->name, "regression.%s", figure) >= sizeof out->name) {
        snprintf(err, errlen, "regression gate name too long");
        return -1;
    }
    out->regression = true;
    return 0;
}

/* "regression.FIGURE = [+|-]N%": the relative change for the worse that counts as a
 * regression. Without a sign, worse is lower for throughput and higher for every
 * other figure (latencies, errors, growth, cost); a sign says it outright, which a
 * metric.* figure may need. */
static int parse_regression(const char *key, const char *value, struct gate_spec *out,
                            char *err, size_t errlen)
{
    const char *p = value, *unit;
    char token[64];
    size_t n = 0;
    double number;
    int sign = 0;

    if (parse_regression_name(key, out, err, errlen) < 0)
        return -1;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '+' || *p == '-')
        sign = *p++ == '+' ? 1 : -1;
    while (*p && !isspace((unsigned char)*p) && n + 1 < sizeof token)
        token[n++] = *p++;
    token[n] = '\0';
    while (isspace((unsigned char)*p))
        p++;
    if (n == 0 || *p || token[0] == '-' || split_threshold(token, &number, &unit) < 0 || strcmp(unit, "%") != 0) {
        snprintf(err, errlen, "gate %s: '%s' must be a relative change such as 5%% (or +5%%, -5%% to say "
                 "which way is worse)", out->name, value);
        return -1;
    }
    if (sign == 0)
        sign = out->kind == GATE_THROUGHPUT ? -1 : 1;
    if (!(number > 0) || (sign < 0 && number >= 100) || number > 1000) {
        snprintf(err, errlen, "gate %s: %s%% is not a usable change (more than 0%%, under 100%% for a drop, "
                 "at most 1000%% for a rise)", out->name, token);
        return -1;
    }
    out->op = sign > 0 ? GATE_GT : GATE_LT;
    out->threshold = number / 100;
    snprintf(out->threshold_text, sizeof out->threshold_text, "%c%s", sign > 0 ? '+' : '-', token);
    return 0;
}

int gate_parse(const char *key, const char *value, struct gate_spec *out, char *err, size_t errlen)
{
    const char *p = value;
    char token[64];
    size_t n = 0;

    memset(out, 0, sizeof *out);
    if (strncmp(key, "regression.", 11) == 0)
        return parse_regression(key, value, out, err, errlen);
    if (parse_name(key, out, err, errlen) < 0)
        return -1;
    while (isspace((unsigned char)*p))
        p++;
    if (p[0] == '<' && p[1] == '=') {
        out->op = GATE_LE;
        p += 2;
    } else if (p[0] == '>' && p[1] == '=') {
        out->op = GATE_GE;
        p += 2;
    } else if (p[0] == '<') {
        out->op = GATE_LT;
        p++;
    } else if (p[0] == '>') {
        out->op = GATE_GT;
        p++;
    } else {
        snprintf(err, errlen, "gate %s: '%s' must start with <, <=, > or >=", out->name, value);
        return -1;
    }
    while (isspace((unsigned char)*p))
        p++;
    while (*p && !isspace((unsigned char)*p)) {
        if (n + 1 >= sizeof token) {
            snprintf(err, errlen, "gate %s: threshold too long", out->name);
            return -1;
        }
        token[n++] = *p++;
    }
    token[n] = '\0';
    while (isspace((unsigned char)*p))
        p++;
    if (n == 0 || *p) {
        snprintf(err, errlen, "gate %s: '%s' must be one operator and one threshold (e.g. < 20ms)", out->name, value);
        return -1;
    }
    if (parse_threshold(token, gate_table[table_index(out->kind)].dim, out->name, &out->threshold,
                        err, errlen) < 0)
        return -1;
    snprintf(out->threshold_text, sizeof out->threshold_text, "%s %s", gate_op_text(out->op), token);
    return 0;
}

int gate_canonical_name(const char *name, char *out, size_t outlen, char *err, size_t errlen)
{
    struct gate_spec *spec = calloc(1, sizeof *spec);
    int rc = -1;

    if (!spec) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if ((strncmp(name, "regression.", 11) == 0 ? parse_regression_name(name, spec, err, errlen)
                                                : parse_name(name, spec, err, errlen)) < 0)
        goto done;
    if ((size_t)snprintf(out, outlen, "%s", spec->name) >= outlen) {
        snprintf(err, errlen, "gate name too long");
        goto done;
    }
    rc = 0;
done:
    free(spec);
    return rc;
}

/* The metric a growth gate reads: loadlab's /proc figure, else the process_* one. */
static const char *growth_metric(enum gate_kind kind, bool have_proc)
{
    switch (kind) {
    case GATE_THREAD_GROWTH:
        return have_proc ? GATE_PROC_THREADS : "process_threads";
    case GATE_RSS_GROWTH:
        return have_proc ? GATE_PROC_RSS : "process_resident_memory_bytes";
    case GATE_FD_GROWTH:
        return have_proc ? GATE_PROC_FDS : "process_open_fds";
    default:
        return NULL;
    }
}

/* The service's CPU seconds: loadlab's /proc figure, else the process_* one. */
static const char *cpu_metric(bool have_proc)
{
    return have_proc ? GATE_PROC_CPU : "process_cpu_seconds_total";
}

/* Up to two metric names a gate needs; returns how many. */
static size_t needed_metrics(const struct gate_spec *spec, bool have_proc, const char *names[2])
{
    switch (spec->kind) {
    case GATE_THREAD_GROWTH:
    case GATE_RSS_GROWTH:
    case GATE_FD_GROWTH:
        names[0] = growth_metric(spec->kind, have_proc);
        return 1;
    case GATE_QUEUE_SATURATION:
        names[0] = "orderd_queue_depth";
        names[1] = "orderd_queue_capacity";
        return 2;
    case GATE_REJECTED_SHARE:
        names[0] = "orderd_queue_rejected_total";
        names[1] = "orderd_queue_enqueued_total";
        return 2;
    case GATE_MUTEX_WAIT_SHARE:
        names[0] = "orderd_mutex_wait_seconds_total";
        return 1;
    case GATE_CPU_PER_REQUEST:
        names[0] = cpu_metric(have_proc);
        return 1;
    case GATE_METRIC:
        names[0] = spec->selector.metric;
        return 1;
    default:
        return 0;
    }
}

int gate_want_metrics(const struct gate_spec *spec, bool have_proc, struct series_store *store)
{
    const char *names[2];
    size_t n = needed_metrics(spec, have_proc, names);
    for (size_t i = 0; i < n; i++)
        if (series_store_want(store, names[i]) < 0)
            return -1;
    return 0;
}

int gate_check_metrics(const struct gate_spec *spec, bool have_proc,
                       const struct series_store *store, char *err, size_t errlen)
{
    const char *names[2];
    size_t n;

    if (spec->kind == GATE_METRIC)
        return 0;
    n = needed_metrics(spec, have_proc, names);
    for (size_t i = 0; i < n; i++)
        if (!series_store_has_metric(store, names[i])) {
            snprintf(err, errlen, "gate %s needs the metric %s, which the service does not expose%s",
                     spec->name, names[i],
                     (spec->kind == GATE_THREAD_GROWTH || spec->kind == GATE_RSS_GROWTH ||
                      spec->kind == GATE_FD_GROWTH || spec->kind == GATE_CPU_PER_REQUEST)
                         ? " (and no pid is known for /proc)" : "");
            return -1;
        }
    return 0;
}

static int select_metric(const struct gate_inputs *in, const char *metric,
                         struct series *pts, struct gate_result *out)
{
    struct series_selector sel = {0};
    snprintf(sel.metric, sizeof sel.metric, "%s", metric);
    if (series_store_select(in->series, &sel, in->from, in->to, pts) < 0) {
        snprintf(out->detail, sizeof out->detail, "out of memory");
        return -1;
    }
    if (pts->n == 0) {
        snprintf(out->detail, sizeof out->detail, "no sample of %s in the steady state", metric);
        return -1;
    }
    return 0;
}

static int observe_growth(const struct gate_spec *spec, const struct gate_inputs *in,
                          struct gate_result *out)
{
    struct series pts;
    const char *metric = growth_metric(spec->kind, in->have_proc);
    int rc = -1;

    if (select_metric(in, metric, &pts, out) < 0)
        return -1;
    if (stats_slope(pts.t, pts.v, pts.n, &out->observed) < 0)
        snprintf(out->detail, sizeof out->detail,
                 "%zu sample(s) of %s in the steady state; a slope needs 2 (sample_interval too long?)",
                 pts.n, metric);
    else
        rc = 0;
    series_release(&pts);
    return rc;
}

/* Pairs two selections by time (they come from the same scrapes). */
static size_t pair_by_time(const struct series *a, const struct series *b,
                           double *va, double *vb)
{
    size_t i = 0, j = 0, n = 0;
    while (i < a->n && j < b->n) {
        if (a->t[i] < b->t[j]) {
            i++;
        } else if (b->t[j] < a->t[i]) {
            j++;
        } else {
            va[n] = a->v[i++];
            vb[n] = b->v[j++];
            n++;
        }
    }
    return n;
}

static int observe_saturation(const struct gate_inputs *in, struct gate_result *out)
{
    struct series depth = {0}, capacity = {0};
    double *vd = NULL, *vc = NULL;
    size_t n;
    int rc = -1;

    if (select_metric(in, "orderd_queue_depth", &depth, out) < 0 ||
        select_metric(in, "orderd_queue_capacity", &capacity, out) < 0)
        goto done;
    vd = malloc(depth.n * sizeof *vd);
    vc = malloc(depth.n * sizeof *vc);
    if (!vd || !vc) {
        snprintf(out->detail, sizeof out->detail, "out of memory");
        goto done;
    }
    n = pair_by_time(&depth, &capacity, vd, vc);
    if (stats_share_at_or_above(vd, vc, n, GATE_SATURATION_FRACTION, &out->observed) < 0) {
        snprintf(out->detail, sizeof out->detail, "orderd_queue_capacity is never positive");
        goto done;
    }
    rc = 0;
done:
    free(vd);
    free(vc);
    series_release(&depth);
    series_release(&capacity);
    return rc;
}

static int observe_rejected(const struct gate_inputs *in, struct gate_result *out)
{
    struct series rejected = {0}, enqueued = {0};
    double r, e;
    int rc = -1;

    if (select_metric(in, "orderd_queue_rejected_total", &rejected, out) < 0 ||
        select_metric(in, "orderd_queue_enqueued_total", &enqueued, out) < 0)
        goto done;
    if (stats_counter_increase(rejected.v, rejected.n, &r) < 0 ||
        stats_counter_increase(enqueued.v, enqueued.n, &e) < 0) {
        snprintf(out->detail, sizeof out->detail, "fewer than 2 queue samples in the steady state");
        goto done;
    }
    out->observed = r + e > 0 ? r / (r + e) : 0;
    rc = 0;
done:
    series_release(&rejected);
    series_release(&enqueued);
    return rc;
}

static int observe_counter_rate(const struct gate_inputs *in, const char *metric,
                                struct gate_result *out)
{
    struct series pts;
    int rc = -1;

    if (select_metric(in, metric, &pts, out) < 0)
        return -1;
    if (stats_counter_rate(pts.t, pts.v, pts.n, &out->observed) < 0)
        snprintf(out->detail, sizeof out->detail, "fewer than 2 samples of %s in the steady state", metric);
    else
        rc = 0;
    series_release(&pts);
    return rc;
}

/* The service's CPU time per request: its CPU seconds per second over the steady
 * state over wrk's measured rate. Unlike throughput it barely moves when a neighbour
 * takes CPU away, so it shows what a change costs on a shared machine. */
static int observe_cpu_per_request(const struct gate_inputs *in, struct gate_result *out)
{
    double cpu_rate = 0, request_rate;

    if (!in->load) {
        snprintf(out->detail, sizeof out->detail, "no load result");
        return -1;
    }
    request_rate = wrkres_throughput(in->load);
    if (!(request_rate > 0)) {
        snprintf(out->detail, sizeof out->detail, "wrk completed no request");
        return -1;
    }
    if (observe_counter_rate(in, cpu_metric(in->have_proc), out) < 0)
        return -1;
    cpu_rate = out->observed;
    out->observed = cpu_rate / request_rate;
    return 0;
}

static int observe_metric(const struct gate_spec *spec, const struct gate_inputs *in,
                          struct gate_result *out)
{
    struct series pts;
    char sel[GATE_MAX_NAME];
    int rc = -1;

    if (series_store_select(in->series, &spec->selector, in->from, in->to, &pts) < 0) {
        snprintf(out->detail, sizeof out->detail, "out of memory");
        return -1;
    }
    if (series_selector_format(&spec->selector, sel, sizeof sel) < 0)
        snprintf(sel, sizeof sel, "%s", spec->selector.metric);
    if (pts.n == 0) {
        snprintf(out->detail, sizeof out->detail, "no sample of %.200s in the steady state", sel);
        goto done;
    }
    switch (spec->agg) {
    case GATE_AGG_MAX:
        rc = stats_max(pts.v, pts.n, &out->observed);
        break;
    case GATE_AGG_LAST:
        out->observed = pts.v[pts.n - 1];
        rc = 0;
        break;
    case GATE_AGG_MEAN:
        rc = stats_mean(pts.v, pts.n, &out->observed);
        break;
    case GATE_AGG_SLOPE:
        rc = stats_slope(pts.t, pts.v, pts.n, &out->observed);
        break;
    }
    if (rc < 0)
        snprintf(out->detail, sizeof out->detail, "too few usable samples of %.200s in the steady state", sel);
done:
    series_release(&pts);
    return rc;
}

static int observe_load(const struct gate_spec *spec, const struct gate_inputs *in,
                        struct gate_result *out)
{
    const struct wrkres *r = in->load;
    if (!r) {
        snprintf(out->detail, sizeof out->detail, "no load result");
        return -1;
    }
    switch (spec->kind) {
    case GATE_THROUGHPUT:
        out->observed = wrkres_throughput(r);
        break;
    case GATE_ERROR_RATE:
        out->observed = wrkres_error_rate(r);
        break;
    case GATE_P50_LATENCY:
        out->observed = r->latency_p50;
        break;
    case GATE_P75_LATENCY:
        out->observed = r->latency_p75;
        break;
    case GATE_P90_LATENCY:
        out->observed = r->latency_p90;
        break;
    case GATE_P99_LATENCY:
        out->observed = r->latency_p99;
        break;
    default:
        out->observed = r->latency_p999;
        break;
    }
    if (isnan(out->observed) || (spec->kind != GATE_THROUGHPUT && spec->kind != GATE_ERROR_RATE &&
                                 r->requests == 0)) {
        snprintf(out->detail, sizeof out->detail, "wrk completed no request");
        return -1;
    }
    return 0;
}

static bool holds(enum gate_op op, double observed, double threshold)
{
    switch (op) {
    case GATE_LT:
        return observed < threshold;
    case GATE_LE:
        return observed <= threshold;
    case GATE_GT:
        return observed > threshold;
    default:
        return observed >= threshold;
    }
}

void gate_evaluate(const struct gate_spec *spec, const struct gate_inputs *in,
                   struct gate_result *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    out->spec = spec;
    out->observed = NAN;
    switch (spec->kind) {
    case GATE_THREAD_GROWTH:
    case GATE_RSS_GROWTH:
    case GATE_FD_GROWTH:
        rc = observe_growth(spec, in, out);
        break;
    case GATE_QUEUE_SATURATION:
        rc = observe_saturation(in, out);
        break;
    case GATE_REJECTED_SHARE:
        rc = observe_rejected(in, out);
        break;
    case GATE_MUTEX_WAIT_SHARE:
        rc = observe_counter_rate(in, "orderd_mutex_wait_seconds_total", out);
        break;
    case GATE_CPU_PER_REQUEST:
        rc = observe_cpu_per_request(in, out);
        break;
    case GATE_METRIC:
        rc = observe_metric(spec, in, out);
        break;
    default:
        rc = observe_load(spec, in, out);
        break;
    }
    if (rc < 0 || isnan(out->observed)) {
        out->verdict = GATE_ERROR;
        out->observed = NAN;
        if (!out->detail[0])
            snprintf(out->detail, sizeof out->detail, "no value");
        return;
    }
    if (spec->regression)
        out->verdict = GATE_PASS;  /* measured; the verdict is the regression module's */
    else
        out->verdict = holds(spec->op, out->observed, spec->threshold) ? GATE_PASS : GATE_FAIL;
}

const char *gate_op_text(enum gate_op op)
{
    static const char *const text[] = {"<", "<=", ">", ">="};
    return text[op];
}

const char *gate_unit(const struct gate_spec *spec)
{
    return gate_table[table_index(spec->kind)].unit;
}

static char *format_bytes(double bytes, const char *suffix, char *buf, size_t buflen)
{
    double a = fabs(bytes);
    if (a >= 1048576.0 * 1024)
        snprintf(buf, buflen, "%.3gGB%s", bytes / (1048576.0 * 1024), suffix);
    else if (a >= 1048576.0)
        snprintf(buf, buflen, "%.3gMB%s", bytes / 1048576.0, suffix);
    else if (a >= 1024.0)
        snprintf(buf, buflen, "%.3gKB%s", bytes / 1024.0, suffix);
    else
        snprintf(buf, buflen, "%.3gB%s", bytes, suffix);
    return buf;
}

char *gate_format_observed(const struct gate_spec *spec, double value, char *buf, size_t buflen)
{
    if (isnan(value)) {
        snprintf(buf, buflen, "-");
        return buf;
    }
    switch (gate_table[table_index(spec->kind)].dim) {
    case DIM_LATENCY:
        if (value < 100e-6)
            snprintf(buf, buflen, "%.3gus", value * 1e6);  /* CPU per request: tens of us */
        else if (value < 1e-3)
            snprintf(buf, buflen, "%.0fus", value * 1e6);
        else if (value < 1)
            snprintf(buf, buflen, "%.3gms", value * 1e3);
        else
            snprintf(buf, buflen, "%.3gs", value);
        break;
    case DIM_RATE:
        snprintf(buf, buflen, fabs(value) >= 100 ? "%.0f/s" : "%.3g/s", value);
        break;
    case DIM_BYTES_RATE:
        format_bytes(value, "/s", buf, buflen);
        break;
    case DIM_RATIO:
        snprintf(buf, buflen, "%.3g%%", value * 100);
        break;
    case DIM_LOAD:
        snprintf(buf, buflen, "%.3gs/s", value);
        break;
    case DIM_ANY:
        snprintf(buf, buflen, "%.6g", value);
        break;
    }
    return buf;
}
