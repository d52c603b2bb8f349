/* scenario, keys: what each key of each section may hold, checked as it is read,
 * every error naming its line. Part of the scenario module (scenario.h). */
#include "run/scenario_parse.h"
#include "run/scenario_open.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cmdline.h"
#include "faultterm.h"
#include "units.h"

static int copy_text(struct scenario_parse *st, char *dst, size_t dstlen, const char *value,
                     const char *key)
{
    if (strlen(value) >= dstlen)
        return scenario_fail_at(st, st->lineno, "%s longer than %zu characters", key, dstlen - 1);
    memcpy(dst, value, strlen(value) + 1);
    return 0;
}

static int parse_duration(struct scenario_parse *st, const char *value, int64_t *out,
                          bool whole_seconds, const char *key)
{
    char err[200];
    if (units_parse_duration(value, out, err, sizeof err) < 0)
        return scenario_fail_at(st, st->lineno, "%s: %s", key, err);
    if (*out == UNITS_DURATION_INF)
        return scenario_fail_at(st, st->lineno, "%s cannot be inf", key);
    if (*out > SCENARIO_MAX_DURATION_NS)
        return scenario_fail_at(st, st->lineno, "%s = %s is longer than %s, the longest a scenario may run", key, value,
                       SCENARIO_MAX_DURATION_TEXT);
    if (whole_seconds && *out % 1000000000 != 0)
        return scenario_fail_at(st, st->lineno, "%s must be whole seconds (wrk runs in seconds), not '%s'", key, value);
    return 0;
}

static int parse_count(struct scenario_parse *st, const char *value, uint64_t min, uint64_t max,
                       unsigned *out, const char *key)
{
    char err[200];
    uint64_t v;
    if (units_parse_uint(value, max, &v, err, sizeof err) < 0)
        return scenario_fail_at(st, st->lineno, "%s: %s", key, err);
    if (v < min)
        return scenario_fail_at(st, st->lineno, "%s must be at least %llu", key, (unsigned long long)min);
    *out = (unsigned)v;
    return 0;
}

/* "name=term" for one fault. */
static int parse_fault(struct scenario_parse *st, const char *text, size_t len, struct scenario_fault *out)
{
    const char *eq;
    size_t namelen, termlen;
    struct fault_term term;
    char why[FAULT_TERM_MAX + 400];
    int id;

    while (len > 0 && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    eq = memchr(text, '=', len);
    if (!eq)
        return scenario_fail_at(st, st->lineno, "fault '%.*s' must read NAME=TERM (e.g. lock.cache=on(200us))", (int)len, text);
    namelen = (size_t)(eq - text);
    termlen = len - namelen - 1;
    if (namelen == 0 || namelen >= sizeof out->name || termlen == 0 || termlen >= sizeof out->term)
        return scenario_fail_at(st, st->lineno, "fault '%.*s' must read NAME=TERM", (int)len, text);
    memcpy(out->name, text, namelen);
    out->name[namelen] = '\0';
    memcpy(out->term, eq + 1, termlen);
    out->term[termlen] = '\0';
    if (!scenario_valid_word(out->name, "._-"))
        return scenario_fail_at(st, st->lineno, "bad fault name '%s'", out->name);
    for (const char *c = out->term; *c; c++)
        if (isspace((unsigned char)*c) || *c == '/' || *c == '?' || *c == '#')
            return scenario_fail_at(st, st->lineno, "bad fault term '%s'", out->term);
    /* checked as orderd will check it, so a typo fails now, not a second into the run */
    if ((id = fault_lookup(out->name)) < 0) {
        fault_unknown_error(out->name, why, sizeof why);
        return scenario_fail_at(st, st->lineno, "%s", why);
    }
    if (fault_term_parse((enum fault_id)id, out->term, &term, why, sizeof why) < 0)
        return scenario_fail_at(st, st->lineno, "fault %s: %s", out->name, why);
    return 0;
}

static int check_url(struct scenario_parse *st, const char *value, const char *key)
{
    if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
        return scenario_fail_at(st, st->lineno, "%s must be an http:// or https:// URL", key);
    return 0;
}

/* `url = A, B, C`: several replicas, each its own wrk; the first is also `url`. */
static int parse_targets(struct scenario_parse *st, const char *value)
{
    struct scenario *sc = st->sc;
    const char *p = value;

    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char *dst;
        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (sc->ntargets == SCENARIO_MAX_TARGETS)
            return scenario_fail_at(st, st->lineno, "url: more than %d targets", SCENARIO_MAX_TARGETS);
        if (len == 0 || len >= SCENARIO_MAX_TEXT)
            return scenario_fail_at(st, st->lineno, "url: target %zu is empty or too long", sc->ntargets + 1);
        dst = sc->targets[sc->ntargets];
        memcpy(dst, p, len);
        dst[len] = '\0';
        if (check_url(st, dst, "url") < 0)
            return -1;
        if (strstr(dst, "{port}"))
            return scenario_fail_at(st, st->lineno, "url: a list names running replicas; {port} is for one spawned service");
        for (size_t i = 0; i < sc->ntargets; i++)
            if (strcmp(sc->targets[i], dst) == 0)
                return scenario_fail_at(st, st->lineno, "url: %s given twice", dst);
        sc->ntargets++;
        if (!comma)
            break;
        p = comma + 1;
    }
    return copy_text(st, sc->url, sizeof sc->url, sc->targets[0], "url");
}

/* `selector = {job="orderd",...}`: label matchers (=, as in a metric gate's selector)
 * for the service's targets in Prometheus; at least one, since a Prometheus holds many
 * jobs and the fleet must not be summed with strangers. */
static int check_prometheus_selector(struct scenario_parse *st, const char *value)
{
    struct series_selector sel;
    char text[SCENARIO_MAX_TEXT + 8], err[300];

    if (value[0] != '{')
        return scenario_fail_at(st, st->lineno, "selector must be label matchers in braces, e.g. {job=\"orderd\"}");
    snprintf(text, sizeof text, "up%s", value);
    if (series_selector_parse(text, strlen(text), &sel, err, sizeof err) < 0)
        return scenario_fail_at(st, st->lineno, "selector: %s", err);
    if (sel.nmatchers == 0)
        return scenario_fail_at(st, st->lineno, "selector needs at least one label matcher, e.g. {job=\"orderd\"}");
    return 0;
}

/* `cpu = LIST`: pins a spawned process, as taskset -c LIST would. */
static int parse_cpus(struct scenario_parse *st, const char *value, char *text, size_t textlen, cpu_set_t *set)
{
    char err[300];
    if (childproc_parse_cpus(value, set, err, sizeof err) < 0)
        return scenario_fail_at(st, st->lineno, "cpu: %s", err);
    return copy_text(st, text, textlen, value, "cpu");
}

static int unknown_key(struct scenario_parse *st, const char *section, const char *key, const char *known)
{
    return scenario_fail_at(st, st->lineno, "unknown key '%s' in [%s] (known: %s)", key, section, known);
}

static int on_scenario(struct scenario_parse *st, const char *key, const char *value)
{
    struct scenario *sc = st->sc;
    if (strcmp(key, "name") == 0) {
        if (!scenario_valid_word(value, "._-") || strlen(value) >= sizeof sc->name)
            return scenario_fail_at(st, st->lineno, "name must be letters, digits, '.', '_' or '-' (at most %zu)", sizeof sc->name - 1);
        return copy_text(st, sc->name, sizeof sc->name, value, key);
    }
    if (strcmp(key, "description") == 0)
        return copy_text(st, sc->description, sizeof sc->description, value, key);
    if (strcmp(key, "duration") == 0) {
        st->duration_line = st->lineno;
        if (parse_duration(st, value, &sc->duration_ns, true, key) < 0)
            return -1;
        if (sc->duration_ns < 1000000000)
            return scenario_fail_at(st, st->lineno, "duration must be at least 1s");
        return 0;
    }
    if (strcmp(key, "warmup") == 0)
        return parse_duration(st, value, &sc->warmup_ns, true, key);
    if (strcmp(key, "sample_interval") == 0) {
        st->sample_interval_line = st->lineno;
        if (parse_duration(st, value, &sc->sample_interval_ns, false, key) < 0)
            return -1;
        if (sc->sample_interval_ns < 10000000)
            return scenario_fail_at(st, st->lineno, "sample_interval must be at least 10ms");
        return 0;
    }
    return unknown_key(st, "scenario", key, "name, description, duration, warmup, sample_interval");
}

static int on_service(struct scenario_parse *st, const char *key, const char *value)
{
    struct scenario *sc = st->sc;
    char err[300];

    if (strcmp(key, "command") == 0) {
        struct cmdline *cl = cmdline_parse(value, err, sizeof err);
        if (!cl)
            return scenario_fail_at(st, st->lineno, "%s", err);
        cmdline_free(cl);
        sc->command_line = st->lineno;
        return copy_text(st, sc->command, sizeof sc->command, value, key);
    }
    if (strcmp(key, "url") == 0) {
        st->url_line = st->lineno;
        if (strchr(value, ','))
            return parse_targets(st, value);
        if (check_url(st, value, key) < 0)
            return -1;
        return copy_text(st, sc->url, sizeof sc->url, value, key);
    }
    if (strcmp(key, "metrics") == 0 || strcmp(key, "ready") == 0) {
        if (check_url(st, value, key) < 0)
            return -1;
        return key[0] == 'm' ? copy_text(st, sc->metrics, sizeof sc->metrics, value, key)
                             : copy_text(st, sc->ready, sizeof sc->ready, value, key);
    }
    if (strcmp(key, "token_file") == 0)
        return copy_text(st, sc->token_file, sizeof sc->token_file, value, key);
    if (strcmp(key, "pid") == 0) {
        unsigned pid;
        if (parse_count(st, value, 1, INT32_MAX, &pid, key) < 0)
            return -1;
        sc->pid = (pid_t)pid;
        return 0;
    }
    if (strcmp(key, "ready_timeout") == 0)
        return parse_duration(st, value, &sc->ready_timeout_ns, false, key);
    if (strcmp(key, "requests_metric") == 0) {
        if (!promtext_valid_metric_name(value))
            return scenario_fail_at(st, st->lineno, "requests_metric '%s' is not a metric name", value);
        return copy_text(st, sc->requests_metric, sizeof sc->requests_metric, value, key);
    }
    if (strcmp(key, "fault") == 0) {
        const char *p = value;
        st->fault_line = st->lineno;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (sc->nfaults >= SCENARIO_MAX_FAULTS)
                return scenario_fail_at(st, st->lineno, "more than %d faults", SCENARIO_MAX_FAULTS);
            if (parse_fault(st, p, len, &sc->faults[sc->nfaults]) < 0)
                return -1;
            for (size_t i = 0; i < sc->nfaults; i++)
                if (strcmp(sc->faults[i].name, sc->faults[sc->nfaults].name) == 0)
                    return scenario_fail_at(st, st->lineno, "fault %s given twice", sc->faults[i].name);
            sc->nfaults++;
            if (!comma)
                return 0;
            p = comma + 1;
        }
    }
    if (strcmp(key, "prometheus") == 0) {
        st->prometheus_line = st->lineno;
        if (check_url(st, value, key) < 0)
            return -1;
        return copy_text(st, sc->prometheus, sizeof sc->prometheus, value, key);
    }
    if (strcmp(key, "selector") == 0) {
        st->selector_line = st->lineno;
        if (check_prometheus_selector(st, value) < 0)
            return -1;
        return copy_text(st, sc->prometheus_selector, sizeof sc->prometheus_selector, value, key);
    }
    if (strcmp(key, "prometheus_token_file") == 0)
        return copy_text(st, sc->prometheus_token_file, sizeof sc->prometheus_token_file, value, key);
    if (strcmp(key, "cpu") == 0) {
        st->service_cpu_line = st->lineno;
        return parse_cpus(st, value, sc->service_cpu_list, sizeof sc->service_cpu_list, &sc->service_cpus);
    }
    return unknown_key(st, "service", key,
                       "command, url, metrics, ready, token_file, pid, ready_timeout, requests_metric, fault, cpu, "
                       "prometheus, selector, prometheus_token_file");
}

/* A script path as written, else relative to the scenario file's folder; made absolute
 * because wrk loads it from its own working directory. */
static int resolve_script(struct scenario_parse *st, const char *value)
{
    char candidate[PATH_MAX], dir[PATH_MAX], resolved[PATH_MAX];

    snprintf(candidate, sizeof candidate, "%s", value);
    if (value[0] != '/' && access(candidate, R_OK) != 0) {
        snprintf(dir, sizeof dir, "%s", st->file);
        if ((size_t)snprintf(candidate, sizeof candidate, "%s/%s", dirname(dir), value) >= sizeof candidate)
            return scenario_fail_at(st, st->lineno, "script path too long");
    }
    if (access(candidate, R_OK) != 0 || !realpath(candidate, resolved))
        return scenario_fail_at(st, st->lineno, "script '%s' not found (looked in the current folder and beside the scenario)", value);
    return copy_text(st, st->sc->script, sizeof st->sc->script, resolved, "script");
}

static int on_load(struct scenario_parse *st, const char *key, const char *value)
{
    struct scenario *sc = st->sc;

    if (strcmp(key, "connections") == 0) {
        st->connections_line = st->lineno;
        return parse_count(st, value, 1, 10000, &sc->connections, key);
    }
    if (strcmp(key, "threads") == 0)
        return parse_count(st, value, 1, 64, &sc->threads, key);
    if (strcmp(key, "script") == 0)
        return resolve_script(st, value);
    if (strcmp(key, "path") == 0) {
        if (value[0] != '/')
            return scenario_fail_at(st, st->lineno, "path must start with '/'");
        for (const char *c = value; *c; c++)
            if (isspace((unsigned char)*c))
                return scenario_fail_at(st, st->lineno, "path must not contain blanks");
        return copy_text(st, sc->path, sizeof sc->path, value, key);
    }
    if (strcmp(key, "method") == 0) {
        static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"};
        for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
            if (strcmp(value, methods[i]) == 0)
                return copy_text(st, sc->method, sizeof sc->method, value, key);
        return scenario_fail_at(st, st->lineno, "method must be GET, POST, PUT, DELETE, PATCH or HEAD");
    }
    if (strcmp(key, "body") == 0)
        return copy_text(st, sc->body, sizeof sc->body, value, key);
    if (strcmp(key, "content_type") == 0)
        return copy_text(st, sc->content_type, sizeof sc->content_type, value, key);
    if (strcmp(key, "timeout") == 0) {
        if (parse_duration(st, value, &sc->timeout_ns, true, key) < 0)
            return -1;
        if (sc->timeout_ns < 1000000000)
            return scenario_fail_at(st, st->lineno, "timeout must be at least 1s");
        return 0;
    }
    if (strcmp(key, "cpu") == 0)
        return parse_cpus(st, value, sc->load_cpu_list, sizeof sc->load_cpu_list, &sc->load_cpus);
    if (strcmp(key, "requests") == 0) {
        sc->requests_line = st->lineno;
        return parse_count(st, value, 1, SCENARIO_MAX_COST_REQUESTS, &sc->requests, key);
    }
    if (strcmp(key, "warmup_requests") == 0)
        return parse_count(st, value, 0, SCENARIO_MAX_WARMUP_REQUESTS, &sc->warmup_requests, key);
    if (strcmp(key, "counter") == 0) {
        char err[200];
        int rc = costmeter_parse_kind(value, &sc->counter, err, sizeof err);
        if (rc < 0 || (rc == 0 && sc->counter == COSTMETER_TASK_CLOCK))
            return scenario_fail_at(st, st->lineno, "counter must be auto, hw-instructions or callgrind, not '%s'",
                                    value);
        sc->counter_auto = rc == 1;
        return 0;
    }
    int open = scenario_open_key(st, key, value);
    if (open <= 0)
        return open;
    return unknown_key(st, "load", key, "connections, threads, script, path, method, body, content_type, timeout, "
                       "cpu, requests, warmup_requests, counter, rate, model, arrival, max_in_flight, lag_limit, request.NAME");
}

static int on_phase(struct scenario_parse *st, const char *section, const char *key, const char *value)
{
    struct scenario *sc = st->sc;
    size_t i;

    for (i = 0; i < sc->nphases; i++)
        if (strcmp(sc->phases[i].name, section + 6) == 0)
            break;
    if (i == sc->nphases) {
        if (sc->nphases >= SCENARIO_MAX_PHASES)
            return scenario_fail_at(st, st->lineno, "more than %d phases", SCENARIO_MAX_PHASES);
        if (copy_text(st, sc->phases[i].name, sizeof sc->phases[i].name, section + 6, "phase name") < 0)
            return -1;
        sc->phases[i].at_ns = -1;
        sc->phases[i].until_ns = -1;
        for (size_t s = 0; s < st->nsections; s++)
            if (strcmp(st->sections[s].name, section) == 0)
                sc->phases[i].line = st->sections[s].line;
        sc->nphases++;
    }
    if (strcmp(key, "at") == 0) {
        st->phase_at_line[i] = st->lineno;
        return parse_duration(st, value, &sc->phases[i].at_ns, false, key);
    }
    if (strcmp(key, "until") == 0) {
        st->phase_until_line[i] = st->lineno;
        return parse_duration(st, value, &sc->phases[i].until_ns, false, key);
    }
    if (strcmp(key, "fault") == 0) {
        st->phase_fault_line[i] = st->lineno;
        if (strchr(value, ','))
            return scenario_fail_at(st, st->lineno, "a phase sets one fault; use one [phase.NAME] per fault");
        return parse_fault(st, value, strlen(value), &sc->phases[i].fault);
    }
    return unknown_key(st, section, key, "at, until, fault");
}

static int on_gate(struct scenario_parse *st, const char *key, const char *value)
{
    struct scenario *sc = st->sc;
    bool regression = strncmp(key, "regression.", 11) == 0;
    struct gate_spec *gates = regression ? sc->regressions : sc->gates;
    size_t *n = regression ? &sc->nregressions : &sc->ngates;
    char err[600];

    if (*n >= SCENARIO_MAX_GATES)
        return scenario_fail_at(st, st->lineno, "more than %d gates", SCENARIO_MAX_GATES);
    if (gate_parse(key, value, &gates[*n], err, sizeof err) < 0)
        return scenario_fail_at(st, st->lineno, "%s", err);
    for (size_t i = 0; i < *n; i++)
        if (strcmp(gates[i].name, gates[*n].name) == 0)
            return scenario_fail_at(st, st->lineno, "gate %s given twice", gates[i].name);
    (*n)++;
    return 0;
}

static int on_expect(struct scenario_parse *st, const char *key, const char *value)
{
    if (strcmp(key, "fail") == 0) {
        st->expect_line = st->lineno;
        return copy_text(st, st->expect, sizeof st->expect, value, key);
    }
    if (strcmp(key, "fault") == 0 || strcmp(key, "culprit") == 0)
        return scenario_fail_at(st, st->lineno, "[expect] %s is not supported yet (only fail = GATE, ...)", key);
    return unknown_key(st, "expect", key, "fail");
}

int scenario_on_key(struct scenario_parse *st, const char *section, const char *key, const char *value)
{
    if (strcmp(section, "scenario") == 0)
        return on_scenario(st, key, value);
    if (strcmp(section, "service") == 0)
        return on_service(st, key, value);
    if (strcmp(section, "load") == 0)
        return on_load(st, key, value);
    if (strncmp(section, "phase.", 6) == 0)
        return on_phase(st, section, key, value);
    if (strcmp(section, "gate") == 0)
        return on_gate(st, key, value);
    if (strcmp(section, "expect") == 0)
        return on_expect(st, key, value);
    return 0;  /* the reader admits no other section */
}
