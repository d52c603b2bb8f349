/* scenario, open model: the [load] keys of a constant-arrival-rate load (rate, model,
 * arrival, max_in_flight, lag_limit, request.NAME) and the checks that span them, each error
 * naming file:line. Part of the scenario module (scenario.h).
 *
 * Each option is checked by the generator's own parser (openload_config_set) as it is
 * read, so the scenario and the generator cannot disagree on what a value means; the
 * checks across options (threads <= connections <= max_in_flight, a rate the pool can
 * carry) are openload_config_check's, run once the file is read on the configuration
 * the runner will build. */
#include "run/scenario_open.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/openload.h"
#include "units.h"

/* Checks one option by setting it on a scratch configuration. */
static int check_option(struct scenario_parse *st, const char *key, const char *value)
{
    struct openload_config *cfg = openload_config_new();
    char why[300];
    int rc;

    if (!cfg)
        return scenario_fail_at(st, st->lineno, "out of memory");
    rc = openload_config_set(cfg, key, value, why, sizeof why);
    openload_config_free(cfg);
    return rc < 0 ? scenario_fail_at(st, st->lineno, "%s", why) : 0;
}

static int copy_option(struct scenario_parse *st, char *dst, size_t dstlen, const char *key, const char *value)
{
    if (strlen(value) >= dstlen)
        return scenario_fail_at(st, st->lineno, "%s: '%s' is too long", key, value);
    if (check_option(st, key, value) < 0)
        return -1;
    memcpy(dst, value, strlen(value) + 1);
    return 0;
}

/* The next blank-separated word of *p into out; returns its length (0 at the end). */
static size_t next_word(const char **p, char *out, size_t outlen)
{
    size_t n = 0;
    while (isspace((unsigned char)**p))
        (*p)++;
    while (**p && !isspace((unsigned char)**p)) {
        if (n + 1 < outlen)
            out[n] = **p;
        n++;
        (*p)++;
    }
    out[n < outlen ? n : outlen - 1] = '\0';
    return n;
}

/* `request.NAME = METHOD PATH [weight=N] [body=TEXT]` */
static int parse_request(struct scenario_parse *st, const char *name, const char *value)
{
    struct scenario *sc = st->sc;
    struct scenario_request *rq;
    const char *p = value;
    char word[SCENARIO_MAX_TEXT], why[200];
    uint64_t weight;

    if (sc->nmix >= SCENARIO_MAX_REQUESTS)
        return scenario_fail_at(st, st->lineno, "more than %d request.NAME lines", SCENARIO_MAX_REQUESTS);
    if (!scenario_valid_word(name, "_-") || strlen(name) >= sizeof rq->name)
        return scenario_fail_at(st, st->lineno, "request.NAME: '%s' must be letters, digits, '_' or '-'", name);
    rq = &sc->mix[sc->nmix];
    memset(rq, 0, sizeof *rq);
    snprintf(rq->name, sizeof rq->name, "%s", name);
    rq->weight = 1;
    rq->line = st->lineno;
    if (next_word(&p, rq->method, sizeof rq->method) >= sizeof rq->method || !scenario_valid_word(rq->method, ""))
        return scenario_fail_at(st, st->lineno, "request.%s must read METHOD PATH [weight=N] [body=TEXT]", name);
    if (next_word(&p, rq->path, sizeof rq->path) >= sizeof rq->path || rq->path[0] != '/')
        return scenario_fail_at(st, st->lineno, "request.%s: the path must start with '/' (at most %zu characters)",
                                name, sizeof rq->path - 1);
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "weight=", 7) == 0) {
        next_word(&p, word, sizeof word);
        if (units_parse_uint(word + 7, OPENLOAD_MAX_WEIGHT, &weight, why, sizeof why) < 0 || weight < 1)
            return scenario_fail_at(st, st->lineno, "request.%s: weight must be 1 .. %d, not '%s'", name,
                                    OPENLOAD_MAX_WEIGHT, word + 7);
        rq->weight = (unsigned)weight;
        while (isspace((unsigned char)*p))
            p++;
    }
    if (strncmp(p, "body=", 5) == 0) {
        if (strlen(p + 5) >= sizeof rq->body)
            return scenario_fail_at(st, st->lineno, "request.%s: body too long", name);
        snprintf(rq->body, sizeof rq->body, "%s", p + 5);
    } else if (*p) {
        return scenario_fail_at(st, st->lineno, "request.%s: unexpected '%s' (after METHOD PATH come "
                                "weight=N, then body=TEXT)", name, p);
    }
    for (size_t i = 0; i < sc->nmix; i++)
        if (strcmp(sc->mix[i].name, name) == 0)
            return scenario_fail_at(st, st->lineno, "request.%s given twice", name);
    sc->nmix++;
    return 0;
}

int scenario_open_key(struct scenario_parse *st, const char *key, const char *value)
{
    struct scenario *sc = st->sc;

    if (strcmp(key, "rate") == 0) {
        sc->rate_line = st->lineno;
        sc->open_model = true;
        return copy_option(st, sc->rate, sizeof sc->rate, key, value);
    }
    if (strcmp(key, "model") == 0) {
        st->model_line = st->lineno;
        if (strcmp(value, "open") == 0)
            st->model_open = true;
        else if (strcmp(value, "closed") != 0)
            return scenario_fail_at(st, st->lineno, "model must be open (a constant arrival rate, with rate) "
                                    "or closed (wrk), not '%s'", value);
        return 0;
    }
    if (strcmp(key, "arrival") == 0) {
        st->arrival_line = st->lineno;
        return copy_option(st, sc->arrival, sizeof sc->arrival, key, value);
    }
    if (strcmp(key, "max_in_flight") == 0) {
        st->max_in_flight_line = st->lineno;
        return copy_option(st, sc->max_in_flight, sizeof sc->max_in_flight, key, value);
    }
    if (strcmp(key, "lag_limit") == 0) {
        st->lag_limit_line = st->lineno;
        return copy_option(st, sc->lag_limit, sizeof sc->lag_limit, key, value);
    }
    if (strncmp(key, "request.", 8) == 0)
        return parse_request(st, key + 8, value);
    return 1;
}

int scenario_open_target(const char *url, char *out, size_t outlen)
{
    const char *host = strncmp(url, "http://", 7) == 0 ? url + 7 : NULL;
    size_t n;

    if (!host)
        return -1;
    n = strcspn(host, "/");
    if (n == 0 || n >= outlen)
        return -1;
    memcpy(out, host, n);
    out[n] = '\0';
    return 0;
}

int scenario_open_check(struct scenario_parse *st)
{
    struct scenario *sc = st->sc;
    struct openload_config *cfg;
    char target[128], why[400];

    if (st->model_open && !sc->open_model)
        return scenario_fail_at(st, st->model_line, "model = open needs rate (e.g. rate = 2000/s)");
    if (!sc->open_model) {
        int line = st->arrival_line ? st->arrival_line
                   : st->max_in_flight_line ? st->max_in_flight_line : st->lag_limit_line;
        if (line)
            return scenario_fail_at(st, line, "arrival, max_in_flight and lag_limit are for the open model: give "
                                    "rate");
        if (sc->nmix)
            return scenario_fail_at(st, sc->mix[0].line, "request.NAME lines are for the open model: give rate "
                                    "(wrk's mixes are Lua scripts)");
        for (size_t i = 0; i < sc->ngates; i++)
            if (sc->gates[i].window_ns || sc->gates[i].kind == GATE_DROPPED_SHARE)
                return scenario_fail_at(st, 0, "gate %s needs the open model: give [load] rate", sc->gates[i].name);
        return 0;
    }
    if (st->model_line && !st->model_open)
        return scenario_fail_at(st, st->model_line, "model = closed, but rate asks for the open model");
    if (sc->script[0])
        return scenario_fail_at(st, sc->rate_line, "rate drives the open-model generator, which runs no wrk "
                                "script: give the mix as request.NAME = METHOD PATH [weight=N] [body=TEXT]");
    if (sc->requests)
        return scenario_fail_at(st, sc->rate_line, "rate and requests are two different loads; give one");
    if (sc->ntargets)
        return scenario_fail_at(st, sc->rate_line, "the open model drives one url, not a list");
    /* the port of a spawned service is known only once it runs */
    if (scenario_open_target(sc->url[0] && !strstr(sc->url, "{port}") ? sc->url : "http://127.0.0.1:8080", target,
                             sizeof target) < 0)
        return scenario_fail_at(st, st->url_line, "the open model needs an http://HOST:PORT url (numeric IPv4 "
                                "or localhost)");
    cfg = scenario_open_config(sc, target, sc->duration_ns, why, sizeof why);
    if (cfg && openload_config_check(cfg, why, sizeof why) == 0) {
        openload_config_free(cfg);
        return 0;
    }
    openload_config_free(cfg);
    if (strncmp(why, "max_in_flight", 13) == 0 && st->max_in_flight_line)
        return scenario_fail_at(st, st->max_in_flight_line, "%s", why);
    if (strncmp(why, "threads", 7) == 0 || strncmp(why, "connections", 11) == 0 || strncmp(why, "max_in", 6) == 0)
        return scenario_fail_at(st, st->connections_line ? st->connections_line : sc->rate_line, "%s", why);
    return scenario_fail_at(st, sc->rate_line, "%s", why);
}

static int set_number(struct openload_config *cfg, const char *key, unsigned long long v, char *err, size_t errlen)
{
    char text[32];
    snprintf(text, sizeof text, "%llu", v);
    return openload_config_set(cfg, key, text, err, errlen);
}

static int add_shape(struct openload_config *cfg, const struct scenario *sc, const char *method, const char *path,
                     const char *body, unsigned weight, char *err, size_t errlen)
{
    char header[200];
    const char *headers[1] = {header};
    size_t nheaders = 0;

    if (body[0]) {
        snprintf(header, sizeof header, "Content-Type: %s", sc->content_type[0] ? sc->content_type
                                                                                 : "application/json");
        nheaders = 1;
    }
    return openload_config_add_request(cfg, method, path, headers, nheaders, body[0] ? body : NULL, strlen(body),
                                       weight, err, errlen);
}

struct openload_config *scenario_open_config(const struct scenario *sc, const char *target, int64_t duration_ns,
                                             char *err, size_t errlen)
{
    struct openload_config *cfg = openload_config_new();
    char text[64];
    int rc = 0;

    if (!cfg) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(text, sizeof text, "%lldus", (long long)(duration_ns / 1000));
    rc |= openload_config_set(cfg, "target", target, err, errlen);
    if (rc == 0 && sc->rate[0])
        rc = openload_config_set(cfg, "rate", sc->rate, err, errlen);
    if (rc == 0 && sc->arrival[0])
        rc = openload_config_set(cfg, "arrival", sc->arrival, err, errlen);
    if (rc == 0 && sc->max_in_flight[0])
        rc = openload_config_set(cfg, "max_in_flight", sc->max_in_flight, err, errlen);
    if (rc == 0 && sc->lag_limit[0])
        rc = openload_config_set(cfg, "lag_limit", sc->lag_limit, err, errlen);
    if (rc == 0)
        rc = openload_config_set(cfg, "duration", text, err, errlen);
    if (rc == 0)
        rc = set_number(cfg, "connections", sc->connections, err, errlen);
    if (rc == 0)
        rc = set_number(cfg, "threads", sc->threads, err, errlen);
    if (rc == 0 && sc->load_cpu_list[0])
        rc = openload_config_set(cfg, "cpu", sc->load_cpu_list, err, errlen);
    snprintf(text, sizeof text, "%lldms", (long long)(sc->timeout_ns / 1000000));
    if (rc == 0)
        rc = openload_config_set(cfg, "timeout", text, err, errlen);
    for (size_t i = 0; rc == 0 && i < sc->nmix; i++)
        rc = add_shape(cfg, sc, sc->mix[i].method, sc->mix[i].path, sc->mix[i].body, sc->mix[i].weight, err, errlen);
    if (rc == 0 && sc->nmix == 0)
        rc = add_shape(cfg, sc, sc->method, sc->path, sc->body, 1, err, errlen);
    if (rc < 0) {
        openload_config_free(cfg);
        return NULL;
    }
    return cfg;
}
