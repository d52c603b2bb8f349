/* openload: the open-model generator. See openload.h for what it measures and why.
 *
 * This file is a run as a whole: starting it (a copy of the configuration, one worker
 * thread per share of the load), stopping it early, what another thread may read while
 * it lasts, and, once the workers are joined, their totals, histograms and per-second
 * windows merged into the result and its JSON. What one worker does is in
 * openload_worker.c, one connection in openload_conn.c, the configuration in
 * openload_config.c (run/openload_internal.h holds the structs they share). */
#include "run/openload_internal.h"

#include "units.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define START_DELAY_NS (50 * 1000000LL)

struct openload_result {
    struct openload_totals totals;
    struct latency_hist *latency, *lag, *wait;
    struct openload_window *windows;
    size_t nwindows;
};

static void openload_free(struct openload *ol)
{
    if (!ol)
        return;
    if (ol->workers)
        for (unsigned i = 0; i < ol->nworkers; i++)
            openload_worker_release(&ol->workers[i]);
    free(ol->workers);
    openload_shapes_free(ol->cfg.shapes, ol->cfg.nshapes);
    free(ol);
}

struct openload *openload_start(const struct openload_config *cfg, char *err, size_t errlen)
{
    struct openload *ol = NULL;
    size_t copied = 0;

    if (openload_config_check(cfg, err, errlen) < 0)
        return NULL;
    ol = calloc(1, sizeof(*ol));
    if (!ol)
        goto oom;
    ol->cfg = *cfg;
    for (; copied < cfg->nshapes; copied++) {
        ol->cfg.shapes[copied].bytes = malloc(cfg->shapes[copied].len);
        if (!ol->cfg.shapes[copied].bytes) {
            ol->cfg.nshapes = copied;
            goto oom;
        }
        memcpy(ol->cfg.shapes[copied].bytes, cfg->shapes[copied].bytes, cfg->shapes[copied].len);
        ol->weight_total += cfg->shapes[copied].weight;
    }
    /* a peer closing mid-write must be an error on that connection, not the end of us */
    signal(SIGPIPE, SIG_IGN);
    ol->t0 = cfg->start_ns ? cfg->start_ns : units_now_ns() + START_DELAY_NS;
    ol->end_ns = ol->t0 + cfg->duration_ns;
    ol->nworkers = cfg->threads;
    ol->workers = calloc(ol->nworkers, sizeof(*ol->workers));
    if (!ol->workers)
        goto oom;
    for (unsigned i = 0; i < ol->nworkers; i++)
        ol->workers[i].timer_fd = -1; /* so releasing one not yet set up closes nothing */
    for (unsigned i = 0; i < ol->nworkers; i++)
        if (openload_worker_init(ol, &ol->workers[i], i) < 0)
            goto oom;
    for (unsigned i = 0; i < ol->nworkers; i++) {
        if (pthread_create(&ol->workers[i].thread, NULL, openload_worker_main, &ol->workers[i]) != 0) {
            snprintf(err, errlen, "threads: could not start thread %u", i);
            openload_stop(ol);
            for (unsigned k = 0; k < i; k++)
                pthread_join(ol->workers[k].thread, NULL);
            openload_free(ol);
            return NULL;
        }
        ol->workers[i].started = true;
    }
    return ol;
oom:
    snprintf(err, errlen, "openload: out of memory or no event base for %u threads", cfg->threads);
    openload_free(ol);
    return NULL;
}

void openload_stop(struct openload *ol)
{
    int64_t expected = 0;
    atomic_compare_exchange_strong(&ol->stop_ns, &expected, units_now_ns());
}

static void add_totals(struct openload_totals *sum, const struct openload_totals *t);

void openload_progress(struct openload *ol, struct openload_totals *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < ol->nworkers; i++) {
        struct worker *w = &ol->workers[i];
        pthread_mutex_lock(&w->lock);
        add_totals(out, &w->published);
        pthread_mutex_unlock(&w->lock);
    }
    out->asked_rate = ol->cfg.rate;
}

bool openload_finished(struct openload *ol)
{
    for (unsigned i = 0; i < ol->nworkers; i++) {
        if (!ol->workers[i].started)
            continue;
        if (pthread_tryjoin_np(ol->workers[i].thread, NULL) != 0)
            return false;
        ol->workers[i].started = false; /* joined: openload_wait does not join it again */
    }
    return true;
}

int64_t openload_start_time(const struct openload *ol)
{
    return ol->t0;
}

int openload_window_latency(struct openload *ol, size_t window, struct latency_hist *into, char *err,
                            size_t errlen)
{
    int rc = 0;
    for (unsigned i = 0; i < ol->nworkers && rc == 0; i++) {
        struct worker *w = &ol->workers[i];
        pthread_mutex_lock(&w->lock);
        for (size_t k = 0; k < w->nblobs && rc == 0; k++)
            if (w->blobs[k].window == window)
                rc = latency_hist_merge_serialized(into, w->blobs[k].buf, w->blobs[k].len, err, errlen);
        pthread_mutex_unlock(&w->lock);
    }
    return rc;
}

/* ---- results ------------------------------------------------------------------------- */

void openload_result_free(struct openload_result *r)
{
    if (!r)
        return;
    latency_hist_free(r->latency);
    latency_hist_free(r->lag);
    latency_hist_free(r->wait);
    for (size_t i = 0; i < r->nwindows; i++)
        free(r->windows[i].latency);
    free(r->windows);
    free(r);
}

static void add_totals(struct openload_totals *sum, const struct openload_totals *t)
{
    sum->scheduled += t->scheduled;
    sum->completed += t->completed;
    sum->errors += t->errors;
    sum->dropped += t->dropped;
    sum->waited += t->waited;
    sum->status_2xx += t->status_2xx;
    sum->status_other += t->status_other;
    sum->error_connect += t->error_connect;
    sum->error_io += t->error_io;
    sum->error_timeout += t->error_timeout;
    sum->error_protocol += t->error_protocol;
    sum->error_too_large += t->error_too_large;
}

/* Merges the workers' per-second counters and histograms into r->windows. */
static int collect_windows(struct openload *ol, struct openload_result *r, char *err, size_t errlen)
{
    size_t used = 0, *cursor = calloc(ol->nworkers, sizeof(*cursor));
    struct latency_hist *scratch = latency_hist_new();
    int rc = -1;

    if (!cursor || !scratch)
        goto oom;
    for (unsigned k = 0; k < ol->nworkers; k++) {
        const struct worker *w = &ol->workers[k];
        for (size_t i = 0; i < w->nwindows; i++) {
            const struct window_counts *c = &w->windows[i];
            if ((c->scheduled || c->dropped || c->completed || c->errors) && i + 1 > used)
                used = i + 1;
        }
    }
    r->windows = calloc(used ? used : 1, sizeof(*r->windows));
    if (!r->windows)
        goto oom;
    r->nwindows = used;
    for (size_t i = 0; i < used; i++) {
        struct openload_window *win = &r->windows[i];
        latency_hist_reset(scratch);
        win->start_s = (int64_t)i;
        for (unsigned k = 0; k < ol->nworkers; k++) {
            const struct worker *w = &ol->workers[k];
            win->scheduled += w->windows[i].scheduled;
            win->dropped += w->windows[i].dropped;
            win->completed += w->windows[i].completed;
            win->errors += w->windows[i].errors;
            while (cursor[k] < w->nblobs && w->blobs[cursor[k]].window == i) {
                if (latency_hist_merge_serialized(scratch, w->blobs[cursor[k]].buf, w->blobs[cursor[k]].len,
                                                  err, errlen) < 0)
                    goto done;
                cursor[k]++;
            }
        }
        win->count = latency_hist_count(scratch);
        if (win->count) {
            win->p50_us = latency_hist_percentile(scratch, 50);
            win->p90_us = latency_hist_percentile(scratch, 90);
            win->p99_us = latency_hist_percentile(scratch, 99);
            win->max_us = latency_hist_max(scratch);
            if (latency_hist_serialize(scratch, &win->latency, &win->latency_len) < 0)
                goto oom;
        }
    }
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "openload: out of memory collecting the results");
done:
    free(cursor);
    latency_hist_free(scratch);
    return rc;
}

struct openload_result *openload_wait(struct openload *ol, char *err, size_t errlen)
{
    struct openload_result *r = NULL;
    struct openload_totals *t;
    int64_t end = ol->t0;
    bool out_of_memory = false;

    for (unsigned i = 0; i < ol->nworkers; i++)
        if (ol->workers[i].started)
            pthread_join(ol->workers[i].thread, NULL);
    r = calloc(1, sizeof(*r));
    if (!r || !(r->latency = latency_hist_new()) || !(r->lag = latency_hist_new()) ||
        !(r->wait = latency_hist_new()))
        goto oom;
    t = &r->totals;
    for (unsigned i = 0; i < ol->nworkers; i++) {
        const struct worker *w = &ol->workers[i];
        add_totals(t, &w->totals);
        latency_hist_merge(r->latency, w->latency);
        latency_hist_merge(r->lag, w->lag);
        latency_hist_merge(r->wait, w->wait);
        if (w->end_ns > end)
            end = w->end_ns;
        out_of_memory |= w->out_of_memory;
    }
    if (out_of_memory)
        goto oom;
    if (collect_windows(ol, r, err, errlen) < 0)
        goto fail;
    t->asked_rate = ol->cfg.rate;
    t->duration_s = (double)(end - ol->t0) / 1e9;
    t->achieved_rate = t->duration_s > 0 ? (double)t->completed / t->duration_s : 0;
    t->lag_limit_us = ol->cfg.lag_limit_ns / 1000;
    t->behind_schedule = latency_hist_percentile(r->lag, 99) > t->lag_limit_us;
    openload_free(ol);
    return r;
oom:
    snprintf(err, errlen, "openload: out of memory collecting the results");
fail:
    openload_free(ol);
    openload_result_free(r);
    return NULL;
}

struct openload_result *openload_run(const struct openload_config *cfg, char *err, size_t errlen)
{
    struct openload *ol = openload_start(cfg, err, errlen);
    return ol ? openload_wait(ol, err, errlen) : NULL;
}

const struct openload_totals *openload_result_totals(const struct openload_result *r) { return &r->totals; }
const struct latency_hist *openload_result_latency(const struct openload_result *r) { return r->latency; }
const struct latency_hist *openload_result_send_lag(const struct openload_result *r) { return r->lag; }
const struct latency_hist *openload_result_wait(const struct openload_result *r) { return r->wait; }
size_t openload_result_window_count(const struct openload_result *r) { return r->nwindows; }

const struct openload_window *openload_result_window(const struct openload_result *r, size_t i)
{
    return i < r->nwindows ? &r->windows[i] : NULL;
}

static json_t *hist_json(const struct latency_hist *h, bool full)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "count", json_integer((json_int_t)latency_hist_count(h)));
    json_object_set_new(o, "p50", json_integer(latency_hist_percentile(h, 50)));
    if (full)
        json_object_set_new(o, "p90", json_integer(latency_hist_percentile(h, 90)));
    json_object_set_new(o, "p99", json_integer(latency_hist_percentile(h, 99)));
    if (full) {
        json_object_set_new(o, "p99_9", json_integer(latency_hist_percentile(h, 99.9)));
        json_object_set_new(o, "mean", json_real(latency_hist_mean(h)));
    }
    json_object_set_new(o, "max", json_integer(latency_hist_max(h)));
    return o;
}

char *openload_result_json(const struct openload_result *r)
{
    const struct openload_totals *t = &r->totals;
    json_t *root = json_object(), *windows = json_array(), *errors = json_object();
    char *text = NULL;

    if (!root || !windows || !errors)
        goto done;
    json_object_set_new(root, "scheduled", json_integer((json_int_t)t->scheduled));
    json_object_set_new(root, "completed", json_integer((json_int_t)t->completed));
    json_object_set_new(root, "errors", json_integer((json_int_t)t->errors));
    json_object_set_new(root, "dropped", json_integer((json_int_t)t->dropped));
    json_object_set_new(root, "waited", json_integer((json_int_t)t->waited));
    json_object_set_new(root, "status_2xx", json_integer((json_int_t)t->status_2xx));
    json_object_set_new(root, "status_other", json_integer((json_int_t)t->status_other));
    json_object_set_new(errors, "connect", json_integer((json_int_t)t->error_connect));
    json_object_set_new(errors, "io", json_integer((json_int_t)t->error_io));
    json_object_set_new(errors, "timeout", json_integer((json_int_t)t->error_timeout));
    json_object_set_new(errors, "protocol", json_integer((json_int_t)t->error_protocol));
    json_object_set_new(errors, "too_large", json_integer((json_int_t)t->error_too_large));
    json_object_set_new(root, "error_kinds", errors);
    errors = NULL;
    json_object_set_new(root, "duration_s", json_real(t->duration_s));
    json_object_set_new(root, "asked_rate", json_real(t->asked_rate));
    json_object_set_new(root, "achieved_rate", json_real(t->achieved_rate));
    json_object_set_new(root, "latency_us", hist_json(r->latency, true));
    json_object_set_new(root, "send_lag_us", hist_json(r->lag, false));
    json_object_set_new(root, "wait_us", hist_json(r->wait, false));
    json_object_set_new(root, "lag_limit_us", json_integer(t->lag_limit_us));
    json_object_set_new(root, "behind_schedule", json_boolean(t->behind_schedule));
    for (size_t i = 0; i < r->nwindows; i++) {
        const struct openload_window *w = &r->windows[i];
        json_t *o = json_pack("{sI sI sI sI sI sI sI sI}", "t", (json_int_t)w->start_s, "scheduled",
                              (json_int_t)w->scheduled, "completed", (json_int_t)w->completed, "errors",
                              (json_int_t)w->errors, "dropped", (json_int_t)w->dropped, "p50_us",
                              (json_int_t)w->p50_us, "p99_us", (json_int_t)w->p99_us, "max_us",
                              (json_int_t)w->max_us);
        if (!o || json_array_append_new(windows, o) < 0)
            goto done;
    }
    json_object_set_new(root, "windows", windows);
    windows = NULL;
    text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(9));
done:
    json_decref(root);
    json_decref(windows);
    json_decref(errors);
    return text;
}
