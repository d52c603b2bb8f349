/* promsource: samples of a fleet from Prometheus' HTTP API. See promsource.h. */
#include "run/promsource.h"
#include "metric_names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/promapi.h"
#include "units.h"

#define QUERY_MAX (SCENARIO_MAX_TEXT + 64)

struct target {
    char instance[256];
    double down_since;   /* run time up was first seen 0 in this spell; NAN when up */
    unsigned down_ticks;
    unsigned seen_tick;      /* the last answer its up was in */
    unsigned missing_ticks;  /* answers without its up after it was seen: gone from discovery */
};

struct promsource {
    struct httpclient *http;
    char base_url[SCENARIO_MAX_TEXT];
    char query[QUERY_MAX], age_query[QUERY_MAX];
    double step;
    long timeout_ms;
    struct target targets[PROMSOURCE_MAX_TARGETS];
    size_t ntargets;
    unsigned tick;   /* answers so far */
    unsigned partial_answers;
    char last_warning[256];
};

struct promsource *promsource_new(const struct scenario *sc, char *err, size_t errlen)
{
    char token[HTTPCLIENT_MAX_TOKEN + 2];
    struct promsource *p = calloc(1, sizeof *p);
    long ms = (long)(sc->sample_interval_ns / 1000000) * 2;

    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (sc->prometheus_token_file[0] &&
        httpclient_read_token(sc->prometheus_token_file, token, sizeof token, err, errlen) < 0) {
        free(p);
        return NULL;
    }
    if (!(p->http = httpclient_new(sc->prometheus_token_file[0] ? token : NULL, err, errlen))) {
        free(p);
        return NULL;
    }
    snprintf(p->base_url, sizeof p->base_url, "%s", sc->prometheus);
    snprintf(p->query, sizeof p->query, "%s", sc->prometheus_selector);
    snprintf(p->age_query, sizeof p->age_query, "time() - timestamp(up%s)", sc->prometheus_selector);
    p->step = (double)sc->sample_interval_ns / 1e9;
    p->timeout_ms = ms < 500 ? 500 : ms > 5000 ? 5000 : ms;
    return p;
}

void promsource_free(struct promsource *p)
{
    if (!p)
        return;
    httpclient_free(p->http);
    free(p);
}

static struct target *target_of(struct promsource *p, const char *instance)
{
    for (size_t i = 0; i < p->ntargets; i++)
        if (strcmp(p->targets[i].instance, instance) == 0)
            return &p->targets[i];
    if (p->ntargets == PROMSOURCE_MAX_TARGETS)
        return NULL;
    snprintf(p->targets[p->ntargets].instance, sizeof p->targets[0].instance, "%s", instance);
    p->targets[p->ntargets].down_since = NAN;
    return &p->targets[p->ntargets++];
}

/* One series' newest point into the database, the series store and the headline. */
static int record_series(struct scraper *s, const struct promapi_series *ps, double t, char *err, size_t errlen)
{
    struct series_selector parsed;
    struct promtext_label labels[SERIES_MAX_MATCHERS];
    char text[PROMTEXT_MAX_NAME + PROMAPI_MAX_LABELSTR + 2];
    double v = ps->v[ps->n - 1];
    struct promtext_sample sample = {.name = ps->name, .labels = labels, .value = v};

    snprintf(text, sizeof text, "%s%s", ps->name, ps->labels);
    if (series_selector_parse(text, strlen(text), &parsed, err, errlen) < 0) {
        char why[300];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, errlen, "series %.200s from Prometheus: %s", text, why);
        return -1;
    }
    for (size_t i = 0; i < parsed.nmatchers; i++)
        labels[i] = (struct promtext_label){parsed.matchers[i].name, parsed.matchers[i].value};
    sample.nlabels = parsed.nmatchers;
    if (resultdb_sample(s->db, s->run_id, t, ps->name, ps->labels, v, err, errlen) < 0 ||
        series_store_add(s->series, &sample, err, errlen) < 0)
        return -1;
    if (strcmp(ps->name, s->requests_metric) == 0)
        ;  /* summed over the fleet free of resets once the tick is in (fleet_requests) */
    else if (strcmp(ps->name, METRIC_PROCESS_THREADS) == 0)
        s->now.threads = isnan(s->now.threads) ? v : s->now.threads + v;
    else if (strcmp(ps->name, METRIC_ORDERD_QUEUE_DEPTH) == 0)
        s->now.queue_depth = isnan(s->now.queue_depth) ? v : s->now.queue_depth + v;
    else if (strcmp(ps->name, METRIC_ORDERD_QUEUE_CAPACITY) == 0)
        s->now.queue_capacity = isnan(s->now.queue_capacity) ? v : s->now.queue_capacity + v;
    return 0;
}

/* The headline's requests: the requests counter summed over the instances as the
 * gates and the throughput windows see it, each replica's restarts taken as resets
 * and a replica missing this tick held at its last count, so the progress line's rate
 * neither drops below zero when one restarts nor dips when one misses a scrape. */
static void fleet_requests(struct scraper *s, double t)
{
    struct series_selector sel = {0};
    struct series pts;

    snprintf(sel.metric, sizeof sel.metric, "%s", s->requests_metric);
    if (series_store_select_counter(s->series, &sel, t, t, &pts) < 0)
        return;
    if (pts.n)
        s->now.requests = pts.v[pts.n - 1];
    series_release(&pts);
}

/* A target's up: 0 starts (or continues) a spell down; a spell of PROMSOURCE_DOWN_NS
 * is the replica gone. Returns SCRAPE_OK or SCRAPE_GONE with err filled. */
static enum scrape_status note_up(struct promsource *p, const struct promapi_series *ps, double t, char *err,
                                  size_t errlen)
{
    struct target *tg = target_of(p, ps->instance);
    if (!tg)
        return SCRAPE_OK;
    tg->seen_tick = p->tick;
    if (ps->v[ps->n - 1] != 0) {
        tg->down_since = NAN;
        return SCRAPE_OK;
    }
    tg->down_ticks++;
    if (isnan(tg->down_since))
        tg->down_since = t;
    if ((t - tg->down_since) * 1e9 >= PROMSOURCE_DOWN_NS) {
        snprintf(err, errlen, "target %.200s is down in Prometheus (up == 0) since t=%.1fs", ps->instance,
                 tg->down_since);
        return SCRAPE_GONE;
    }
    return SCRAPE_OK;
}

/* How old each target's newest sample is, and how long the query took. */
static int record_freshness(struct promsource *p, struct scraper *s, double t, double now_unix, double took,
                            char *err, size_t errlen)
{
    struct promapi_result r;
    char why[600], labels[320];

    if (resultdb_sample(s->db, s->run_id, t, PROMSOURCE_QUERY_METRIC, "", took, err, errlen) < 0)
        return -1;
    if (promapi_query_range(p->http, p->base_url, p->age_query, now_unix, now_unix, p->step, p->timeout_ms, &r, why,
                            sizeof why) < 0)
        return 0;  /* the figure is missing this tick; the main query said all there is */
    for (size_t i = 0; i < r.nseries; i++) {
        const struct promapi_series *ps = &r.series[i];
        if (ps->n == 0 || isnan(ps->v[ps->n - 1]))
            continue;
        snprintf(labels, sizeof labels, "{instance=\"%.256s\"}", ps->instance);
        if (resultdb_sample(s->db, s->run_id, t, PROMSOURCE_AGE_METRIC, labels, ps->v[ps->n - 1], err, errlen) < 0) {
            promapi_result_free(&r);
            return -1;
        }
    }
    promapi_result_free(&r);
    return 0;
}

enum scrape_status promsource_take(struct promsource *p, struct scraper *s, double t, double now_unix,
                                   char *err, size_t errlen)
{
    struct promapi_result r;
    enum scrape_status st = SCRAPE_OK;
    char why[600];
    int64_t asked = units_now_ns();
    double took;

    if (scrape_begin(s, t, err, errlen) < 0)
        return SCRAPE_FAILED;
    if (promapi_query_range(p->http, p->base_url, p->query, now_unix, now_unix, p->step, p->timeout_ms, &r, why,
                            sizeof why) < 0) {
        s->failures++;
        snprintf(s->last_err, sizeof s->last_err, "Prometheus at %.90s: %.140s", p->base_url, why);
        /* when Prometheus failed is kept too: a marker, never a zero of a service series */
        if (resultdb_sample(s->db, s->run_id, t, PROMSOURCE_FAILED_METRIC, "", 1, err, errlen) < 0 ||
            resultdb_commit(s->db, err, errlen) < 0)
            return SCRAPE_FAILED;
        if (units_now_ns() - s->last_ok_ns > PROMSOURCE_UNREACHABLE_NS) {
            snprintf(err, errlen, "no answer from Prometheus for %.1fs at t=%.1fs: %.200s",
                     (double)(units_now_ns() - s->last_ok_ns) / 1e9, t, s->last_err);
            return SCRAPE_FAILED;
        }
        return SCRAPE_OK;
    }
    took = (double)(units_now_ns() - asked) / 1e9;
    s->last_ok_ns = units_now_ns();
    p->tick++;
    for (size_t i = 0; i < r.nseries && st == SCRAPE_OK; i++) {
        const struct promapi_series *ps = &r.series[i];
        if (!ps->name[0] || ps->n == 0 || isnan(ps->v[ps->n - 1]))
            continue;
        if (record_series(s, ps, t, err, errlen) < 0)
            st = SCRAPE_FAILED;
        else if (strcmp(ps->name, "up") == 0)
            st = note_up(p, ps, t, err, errlen);
    }
    if (st == SCRAPE_OK)
        fleet_requests(s, t);
    /* a target Prometheus no longer lists at all (its pod gone from discovery) */
    for (size_t i = 0; i < p->ntargets && st == SCRAPE_OK; i++)
        if (p->targets[i].seen_tick != p->tick)
            p->targets[i].missing_ticks++;
    if (st == SCRAPE_OK && r.warnings[0]) {
        p->partial_answers++;
        snprintf(p->last_warning, sizeof p->last_warning, "%.255s", r.warnings);
        if (resultdb_sample(s->db, s->run_id, t, PROMSOURCE_PARTIAL_METRIC, "", 1, err, errlen) < 0)
            st = SCRAPE_FAILED;
    }
    promapi_result_free(&r);
    if (st == SCRAPE_OK && record_freshness(p, s, t, now_unix, took, err, errlen) < 0)
        st = SCRAPE_FAILED;
    if (st == SCRAPE_FAILED)
        return st;
    /* a target gone is recorded too (its up == 0), then ends the run */
    if (resultdb_commit(s->db, st == SCRAPE_OK ? err : why, st == SCRAPE_OK ? errlen : sizeof why) < 0)
        return SCRAPE_FAILED;
    return st;
}

int promsource_fleet_latency(struct promsource *p, struct scraper *s, double t, double from_unix, double to_unix,
                             char *err, size_t errlen)
{
    static const char *const quantiles[] = {"0.5", "0.9", "0.99", "0.999"};
    char query[QUERY_MAX + 200], why[600], labels[64];
    long window_ms = (long)((to_unix - from_unix) * 1000);

    if (window_ms < 1000)
        return 0;  /* too short a steady state for a rate */
    for (size_t i = 0; i < sizeof quantiles / sizeof quantiles[0]; i++) {
        struct promapi_result r;
        struct promtext_label label = {"quantile", quantiles[i]};
        struct promtext_sample sample = {.name = PROMSOURCE_FLEET_LATENCY_METRIC, .labels = &label, .nlabels = 1};
        snprintf(query, sizeof query, "histogram_quantile(%s, sum by (le) (rate(" METRIC_ORDERD_HTTP_DURATION_BUCKET
                 "%s[%ldms])))", quantiles[i], p->query, window_ms);
        if (promapi_query_range(p->http, p->base_url, query, to_unix, to_unix, p->step, p->timeout_ms, &r, why,
                                sizeof why) < 0) {
            s->failures++;
            snprintf(s->last_err, sizeof s->last_err, "Prometheus at %.90s: %.140s", p->base_url, why);
            continue;
        }
        if (r.nseries == 1 && r.series[0].n > 0 && isfinite(r.series[0].v[r.series[0].n - 1])) {
            sample.value = r.series[0].v[r.series[0].n - 1];
            snprintf(labels, sizeof labels, "{quantile=\"%s\"}", quantiles[i]);
            if (resultdb_sample(s->db, s->run_id, t, sample.name, labels, sample.value, err, errlen) < 0 ||
                series_store_add(s->series, &sample, err, errlen) < 0) {
                promapi_result_free(&r);
                return -1;
            }
        }
        promapi_result_free(&r);
    }
    return 0;
}

void promsource_note(const struct promsource *p, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    if (p->partial_answers)
        used = (size_t)snprintf(out, outlen, "%u Prometheus answer(s) were partial (last: %.200s)", p->partial_answers,
                                p->last_warning);
    for (size_t i = 0; i < p->ntargets && used < outlen; i++) {
        const struct target *tg = &p->targets[i];
        if (tg->down_ticks && used < outlen)
            used += (size_t)snprintf(out + used, outlen - used, "%starget %.200s down (up == 0) in %u sample(s)",
                                     used ? "; " : "", tg->instance, tg->down_ticks);
        if (tg->missing_ticks && used < outlen)
            used += (size_t)snprintf(out + used, outlen - used, "%starget %.200s missing from Prometheus' answers "
                                     "in %u sample(s)", used ? "; " : "", tg->instance, tg->missing_ticks);
    }
}
