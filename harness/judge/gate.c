/* gate: parsing a gate (name, threshold, regression form) and writing its figures
 * back as text. Judging a gate against a run is in gate_evaluate.c. See gate.h. */
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
    DIM_COUNT,       /* a plain number (instructions per request) */
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
    {"instructions_per_request", GATE_INSTRUCTIONS_PER_REQUEST, DIM_COUNT, "instructions"},
    {"goroutine_growth", GATE_GOROUTINE_GROWTH, DIM_RATE, "goroutines/s"},
    {"dropped_share", GATE_DROPPED_SHARE, DIM_RATIO, "ratio"},
    {"metric", GATE_METRIC, DIM_ANY, ""},
};

static const char *const agg_names[] = {"max", "last", "mean", "slope"};

#define KNOWN_GATES "throughput, error_rate, p50_latency, p75_latency, p90_latency, " \
    "p99_latency, p999_latency, thread_growth, rss_growth, fd_growth, queue_saturation, " \
    "rejected_share, mutex_wait_share, cpu_per_request, instructions_per_request, goroutine_growth, dropped_share, " \
    "p50|p75|p90|p99|p999_latency.window(DURATION), metric.NAME{labels}.max|last|mean|slope; " \
    "any but the windows behind regression."

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

/* "p99_latency.window(10s)": a latency over the worst run of that many per-second
 * windows (whole seconds, 1s .. GATE_MAX_WINDOW_S). */
static int parse_window_name(const char *key, struct gate_spec *out, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        enum gate_kind kind;
    } latencies[] = {{"p50_latency", GATE_P50_LATENCY}, {"p75_latency", GATE_P75_LATENCY},
                     {"p90_latency", GATE_P90_LATENCY}, {"p99_latency", GATE_P99_LATENCY},
                     {"p999_latency", GATE_P999_LATENCY}};
    const char *open = strstr(key, ".window("), *arg = open + 8;
    size_t base = (size_t)(open - key), arglen = strlen(arg);
    char width[32], why[200];
    int64_t ns;
    size_t i;

    for (i = 0; i < sizeof latencies / sizeof latencies[0]; i++)
        if (strlen(latencies[i].name) == base && strncmp(key, latencies[i].name, base) == 0)
            break;
    if (i == sizeof latencies / sizeof latencies[0]) {
        snprintf(err, errlen, "gate '%s': only p50, p75, p90, p99 and p999_latency take .window(DURATION)", key);
        return -1;
    }
    if (arglen < 2 || arg[arglen - 1] != ')' || arglen - 1 >= sizeof width) {
        snprintf(err, errlen, "gate '%s' must read %s.window(DURATION), e.g. %s.window(10s)", key,
                 latencies[i].name, latencies[i].name);
        return -1;
    }
    memcpy(width, arg, arglen - 1);
    width[arglen - 1] = '\0';
    if (units_parse_duration(width, &ns, why, sizeof why) < 0 || ns % 1000000000 != 0 || ns < 1000000000 ||
        ns > GATE_MAX_WINDOW_S * 1000000000LL) {
        snprintf(err, errlen, "gate '%s': the window must be whole seconds from 1s to %ds (windows are "
                 "per second), not '%s'", key, GATE_MAX_WINDOW_S, width);
        return -1;
    }
    out->kind = latencies[i].kind;
    out->window_ns = ns;
    snprintf(out->name, sizeof out->name, "%s.window(%llds)", latencies[i].name, (long long)(ns / 1000000000));
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
    if (strstr(key, ".window("))
        return parse_window_name(key, out, err, errlen);
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
    case DIM_COUNT:
        if (*unit) {
            snprintf(err, errlen, "gate %s: threshold '%s' takes a plain number (e.g. 50000)", gate, token);
            return -1;
        }
        *out = number;
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
    if (out->window_ns || out->kind == GATE_DROPPED_SHARE) {
        snprintf(err, errlen, "'%s': %s is judged on one run; a regression compares whole-run figures", key,
                 out->name);
        return -1;
    }
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
    if (n > 0 && token[n - 1] == ',')
        token[--n] = '\0';
    while (isspace((unsigned char)*p) || *p == ',')
        p++;
    if (strncmp(p, "abort_on_fail", 13) == 0 && (!p[13] || isspace((unsigned char)p[13]))) {
        out->abort_on_fail = true;
        for (p += 13; isspace((unsigned char)*p);)
            p++;
    }
    if (n == 0 || *p) {
        snprintf(err, errlen, "gate %s: '%s' must be one operator and one threshold (e.g. < 20ms), "
                 "optionally followed by abort_on_fail", out->name, value);
        return -1;
    }
    if (out->abort_on_fail && !out->window_ns && out->kind != GATE_DROPPED_SHARE) {
        snprintf(err, errlen, "gate %s: abort_on_fail is for the gates judged as the run goes: dropped_share "
                 "and pN_latency.window(W)", out->name);
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

const char *gate_op_text(enum gate_op op)
{
    static const char *const text[] = {"<", "<=", ">", ">="};
    return text[op];
}

const char *gate_unit(const struct gate_spec *spec)
{
    return gate_table[table_index(spec->kind)].unit;
}

/* Whether name ends with suffix. */
static bool ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n >= k && strcmp(name + n - k, suffix) == 0;
}

/* A metric.* gate's figure in the unit its metric's name gives by Prometheus'
 * naming convention (_bytes, _seconds, _ratio; a _total counter's slope is its rate). */
static char *format_metric(const struct gate_spec *spec, double value, char *buf, size_t buflen)
{
    const char *m = spec->selector.metric;
    bool counter = ends_with(m, "_total") || ends_with(m, "_count") || ends_with(m, "_sum");
    char base[PROMTEXT_MAX_NAME + 1];
    size_t len = strlen(m);

    if (counter)
        len = (size_t)(strrchr(m, '_') - m);
    snprintf(base, sizeof base, "%.*s", (int)len, m);
    if (spec->agg == GATE_AGG_SLOPE) {
        if (ends_with(base, "_bytes"))
            return units_format_size_rate(value, buf, buflen);
        if (ends_with(base, "_seconds"))
            return units_format_seconds_per_second(value, buf, buflen);
        return units_format_rate(value, NULL, buf, buflen);
    }
    if (ends_with(base, "_bytes"))
        return units_format_size(value, buf, buflen);
    if (ends_with(base, "_seconds"))
        return units_format_seconds(value, buf, buflen);
    if (ends_with(base, "_ratio"))
        return units_format_share(value, buf, buflen);
    return units_format_count(value, buf, buflen);
}

char *gate_format_observed(const struct gate_spec *spec, double value, char *buf, size_t buflen)
{
    const char *unit = gate_table[table_index(spec->kind)].unit;
    char word[32];

    if (isnan(value)) {
        snprintf(buf, buflen, "-");
        return buf;
    }
    switch (gate_table[table_index(spec->kind)].dim) {
    case DIM_LATENCY:
        return units_format_seconds(value, buf, buflen);
    case DIM_RATE:
        /* "threads/s" -> "threads": the word a rate is of */
        snprintf(word, sizeof word, "%.*s", (int)(strlen(unit) - 2), unit);
        return units_format_rate(value, word, buf, buflen);
    case DIM_BYTES_RATE:
        return units_format_size_rate(value, buf, buflen);
    case DIM_RATIO:
        return units_format_share(value, buf, buflen);
    case DIM_LOAD:
        return units_format_seconds_per_second(value, buf, buflen);
    case DIM_COUNT:
        return units_format_quantity(value, unit, buf, buflen);
    case DIM_ANY:
        return format_metric(spec, value, buf, buflen);
    }
    return buf;
}

char *gate_format_threshold(const struct gate_spec *spec, char *buf, size_t buflen)
{
    char value[64];

    if (spec->regression || isnan(spec->threshold)) {
        snprintf(buf, buflen, "%s", spec->threshold_text);
        return buf;
    }
    snprintf(buf, buflen, "%s %s", gate_op_text(spec->op), gate_format_observed(spec, spec->threshold, value, sizeof value));
    return buf;
}
