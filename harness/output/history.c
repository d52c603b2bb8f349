/* history: list and show. See history.h. */
#include "output/history.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "judge/gate.h"
#include "judge/verdict.h"
#include "output/colour.h"
#include "store/runs.h"
#include "units.h"

/* The text a column shows: "-" for an empty (NULL) field. */
static const char *or_dash(const char *s)
{
    return *s ? s : "-";
}

/* A stored number as printed: NULL has always printed as 0. */
static double or_zero(double v)
{
    return isnan(v) ? 0 : v;
}

/* What a completed run did against its scenario's expectations, in the words of
 * judge/verdict.h: its worst gate outcome, with how many gates had it. */
static enum verdict_outcome run_outcome(const struct runs_overview *r, int *count)
{
    if ((*count = r->errors) > 0)
        return VERDICT_ERROR;
    if ((*count = r->failed) > 0)
        return VERDICT_FAILED;
    if ((*count = r->held_unexpectedly) > 0)
        return VERDICT_HELD_UNEXPECTEDLY;
    if ((*count = r->tripped_as_expected) > 0)
        return VERDICT_TRIPPED_AS_EXPECTED;
    *count = r->gates;
    return VERDICT_HELD;
}

struct list_ctx {
    FILE *out;
    int rows;
    bool colour;
};

static void print_overview(void *user, const struct runs_overview *r)
{
    struct list_ctx *ctx = user;
    char rps[32] = "-", p99[32] = "-", verdict[96] = "-";
    enum colour status_colour = COLOUR_PLAIN, verdict_colour = COLOUR_PLAIN;
    int count;

    if (!isnan(r->throughput))
        snprintf(rps, sizeof rps, "%.0f", r->throughput);
    if (!isnan(r->p99_ms))
        snprintf(p99, sizeof p99, "%.2fms", r->p99_ms);
    if (strcmp(r->status, "crashed") == 0)
        status_colour = COLOUR_RED;
    else if (strcmp(r->status, "aborted") == 0)
        status_colour = COLOUR_YELLOW;
    if (strcmp(r->status, "completed") == 0 && r->gates == 0) {
        snprintf(verdict, sizeof verdict, "no gates");
    } else if (strcmp(r->status, "completed") == 0) {
        enum verdict_outcome o = run_outcome(r, &count);
        verdict_colour = colour_of_verdict(o);
        if (o == VERDICT_HELD)
            snprintf(verdict, sizeof verdict, "%s (%d gate%s)", verdict_word_loud(o), r->gates,
                     r->gates == 1 ? "" : "s");
        else
            snprintf(verdict, sizeof verdict, "%s (%d of %d gate%s)", verdict_word_loud(o), count, r->gates,
                     r->gates == 1 ? "" : "s");
    }
    fprintf(ctx->out, "%5lld  %-24s  %-20.20s  %-16.16s  %s%-9s%s  %10s  %9s  %s%s%s\n", (long long)r->id,
            or_dash(r->started_at), or_dash(r->scenario), or_dash(r->label), colour_start(ctx->colour, status_colour),
            or_dash(r->status), colour_end(ctx->colour, status_colour), rps, p99,
            colour_start(ctx->colour, verdict_colour), verdict, colour_end(ctx->colour, verdict_colour));
    ctx->rows++;
}

int history_list(struct resultdb *db, FILE *out, int limit, char *err, size_t errlen)
{
    struct list_ctx ctx = {out, 0, colour_wanted(out)};

    fprintf(out, "%5s  %-24s  %-20s  %-16s  %-9s  %10s  %9s  %s\n", "RUN", "STARTED (UTC)", "SCENARIO",
            "LABEL", "STATUS", "REQ/S", "P99", "VERDICT");
    if (runs_latest(db, limit, print_overview, &ctx, err, errlen) < 0)
        return -1;
    if (ctx.rows == 0)
        fprintf(out, "(no runs yet)\n");
    return 0;
}

static void print_phase(FILE *out, const char *title, const struct runs_phase *p)
{
    char off[32] = "end";
    if (title)
        fprintf(out, "%s\n", title);
    if (!isnan(p->off_at))
        snprintf(off, sizeof off, "%.2fs", p->off_at);
    fprintf(out, "  %-12s %-14s %-18s on %6.2fs  off %s\n", or_dash(p->phase), or_dash(p->fault),
            or_dash(p->term), or_zero(p->on_at), off);
}

static void print_load(FILE *out, const char *title, const struct runs_load *l)
{
    char requests[32], rate[48], p[6][32];
    const double q[6] = {l->p50, l->p75, l->p90, l->p99, l->p999, l->latency_max};

    if (title)
        fprintf(out, "%s\n", title);
    for (size_t i = 0; i < 6; i++)
        units_format_seconds(or_zero(q[i]), p[i], sizeof p[i]);
    fprintf(out, "  %-8s at %5.2fs  %.1fs  %s requests  %s  errors %lld (connect %lld read %lld "
                 "write %lld timeout %lld status %lld)\n"
                 "           latency p50 %s  p75 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
            or_dash(l->stage), or_zero(l->started_at), or_zero(l->duration_s),
            units_format_count((double)l->requests, requests, sizeof requests),
            units_format_rate(or_zero(l->throughput), "req", rate, sizeof rate),
            l->errors_connect + l->errors_read + l->errors_write + l->errors_timeout + l->errors_status,
            l->errors_connect, l->errors_read, l->errors_write, l->errors_timeout, l->errors_status,
            p[0], p[1], p[2], p[3], p[4], p[5]);
}

/* A stored gate's threshold and observed value, through the gate's own formatters
 * when its name and threshold still parse (as the report writes them). */
static void print_gate(FILE *out, const char *title, const struct runs_gate *g)
{
    char observed[48] = "-", threshold[GATE_MAX_THRESHOLD_TEXT + 32], ignored[256];
    struct gate_spec spec;
    bool parsed = g->name[0] && g->threshold_text[0] &&
                  gate_parse(g->name, g->threshold_text, &spec, ignored, sizeof ignored) == 0;

    if (title)
        fprintf(out, "%s\n", title);
    snprintf(threshold, sizeof threshold, "%s", or_dash(g->threshold_text));
    if (parsed)
        gate_format_threshold(&spec, threshold, sizeof threshold);
    if (!isnan(g->observed)) {
        if (parsed)
            gate_format_observed(&spec, g->observed, observed, sizeof observed);
        else
            units_format_quantity(g->observed, g->unit, observed, sizeof observed);
    }
    fprintf(out, "  %-36s %-18s %-22s %s%s%s", or_dash(g->name), threshold, observed,
            or_dash(g->outcome), g->has_error ? ": " : "", g->error);
    if (g->instances)
        fprintf(out, "  worst of %d instances: %s", g->instances, g->instance);
    fputc('\n', out);
}

static void print_params(FILE *out, const char *params)
{
    json_t *root = json_loads(params, 0, NULL);
    char *pretty = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    fprintf(out, "settings:\n%s\n", pretty ? pretty : params);
    free(pretty);
    json_decref(root);
}

static void print_run(FILE *out, const struct runs_run *r)
{
    fprintf(out, "run %lld: %s (%s)\nlabel %s, git %s, host %s\nstarted %s, ended %s\nstatus %s, verdict %s\n",
            (long long)r->id, or_dash(r->scenario), or_dash(r->scenario_file), or_dash(r->label),
            or_dash(r->git_rev), or_dash(r->host), or_dash(r->started_at), or_dash(r->ended_at), or_dash(r->status),
            or_dash(r->verdict));
    if (r->exit_reason[0])
        fprintf(out, "reason: %s\n", r->exit_reason);
    fprintf(out, "logs: %s\n", or_dash(r->log_dir));
    if (r->service_pid)
        fprintf(out, "service pid: %lld\n", r->service_pid);
    if (!isnan(r->steady_from))
        fprintf(out, "steady state: t = %.2fs .. %.2fs\n", r->steady_from, or_zero(r->steady_to));
    print_params(out, r->params);
}

/* The rows of the run's other tables, each under its title. */
static int print_tables(struct resultdb *db, int64_t run_id, FILE *out, char *err, size_t errlen)
{
    struct runs_phase *phases = NULL;
    struct runs_gate *gates = NULL;
    struct runs_load loads[2];
    struct runs_windows w;
    struct runs_samples s;
    size_t nphases = 0, ngates = 0, nloads = 0;
    int rc = -1;

    if (runs_phases(db, run_id, &phases, &nphases, err, errlen) < 0 ||
        runs_loads(db, run_id, loads, &nloads, err, errlen) < 0 || runs_windows(db, run_id, &w, err, errlen) < 0 ||
        runs_gates(db, run_id, &gates, &ngates, err, errlen) < 0 || runs_samples(db, run_id, &s, err, errlen) < 0)
        goto done;
    for (size_t i = 0; i < nphases; i++)
        print_phase(out, i == 0 ? "faults:" : NULL, &phases[i]);
    for (size_t i = 0; i < nloads; i++)
        print_load(out, i == 0 ? "load:" : NULL, &loads[i]);
    if (w.count)
        fprintf(out, "throughput windows (%s, 1s): %d, min %.0f  mean %.0f  max %.0f req/s\n", or_dash(w.metric),
                w.count, or_zero(w.min), or_zero(w.mean), or_zero(w.max));
    for (size_t i = 0; i < ngates; i++)
        print_gate(out, i == 0 ? "gates:" : NULL, &gates[i]);
    fprintf(out, "samples: %lld values of %d series (%d metrics), t = %.2fs .. %.2fs\n", s.values, s.series,
            s.metrics, or_zero(s.first_t), or_zero(s.last_t));
    rc = 0;
done:
    free(phases);
    free(gates);
    return rc;
}

int history_show(struct resultdb *db, int64_t run_id, FILE *out, char *err, size_t errlen)
{
    bool missing;
    struct runs_run *run = runs_get(db, run_id, &missing, err, errlen);
    int rc;

    if (!run)
        return missing ? 1 : -1;
    print_run(out, run);
    rc = print_tables(db, run_id, out, err, errlen);
    runs_run_free(run);
    return rc;
}
