/* runpage: one run's page. See runpage.h. */
#include "report/runpage.h"
#include "judge/verdict.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/chart.h"
#include "report/html.h"
#include "report/runlead.h"
#include "units.h"

const char *runpage_outcome(const struct runinfo *run, const char **css_class)
{
    *css_class = "bad";
    if (strcmp(run->status, "crashed") == 0)
        return "crashed";
    if (strcmp(run->status, "aborted") == 0)
        return "aborted";
    if (strcmp(run->status, "running") == 0) {
        *css_class = "warn";
        return "running";
    }
    if (strcmp(run->verdict, "met") == 0) {
        *css_class = "ok";
        return "met expectations";
    }
    if (strcmp(run->verdict, "unmet") == 0)
        return "did not meet expectations";
    *css_class = "warn";
    return "not judged";
}

char *runpage_format_observed(const struct runinfo_gate *g, char *buf, size_t buflen)
{
    if (isnan(g->observed))
        snprintf(buf, buflen, "-");
    else if (g->have_spec)
        gate_format_observed(&g->spec, g->observed, buf, buflen);
    else
        units_format_quantity(g->observed, g->unit, buf, buflen);
    return buf;
}

char *runpage_format_threshold(const struct runinfo_gate *g, char *buf, size_t buflen)
{
    if (g->have_spec)
        return gate_format_threshold(&g->spec, buf, buflen);
    snprintf(buf, buflen, "%s", g->threshold_text);
    return buf;
}

char *runpage_time(const char *iso, char *buf, size_t buflen)
{
    size_t k = 0;
    for (const char *p = iso; *p && *p != '.' && *p != 'Z' && k + 1 < buflen; p++)
        buf[k++] = *p == 'T' ? ' ' : *p;
    buf[k] = '\0';
    return buf;
}

const char *runpage_expected(const struct runinfo_gate *g)
{
    return g->expected_to_fail ? "trip" : "hold";
}

static bool against_expectation(const struct runinfo *run, const struct runinfo_gate *g)
{
    return run->gates_judged && !verdict_met(verdict_outcome(g->passed, g->expected_to_fail));
}

static void write_banner(FILE *f, const struct runinfo *run, const struct runcharts *charts)
{
    const char *css;
    size_t against = runinfo_gates_against_expectation(run);
    char observed[64], threshold[GATE_MAX_THRESHOLD_TEXT + 32];

    runpage_outcome(run, &css);
    fputs("<h2 id=\"expectations\">Expectation check</h2>\n<p class=\"muted small\">Whether each gate came "
          "out as the scenario expects (a fault scenario expects its gate to trip): the verdict CI acts on.</p>\n", f);
    fprintf(f, "<div class=\"banner %s\" id=\"expectation-check\">", strcmp(css, "ok") == 0 ? "ok" : "bad");
    if (strcmp(css, "ok") == 0) {
        fprintf(f, "Met expectations: all %zu gates came out as the scenario expects.", run->ngates);
    } else if (strcmp(run->status, "completed") != 0) {
        fputs(strcmp(run->status, "running") == 0 ? "Still running, or loadlab was killed before closing it"
              : strcmp(run->status, "crashed") == 0 ? "Crashed" : "Aborted", f);
        if (run->exit_reason[0]) {
            fputs(": ", f);
            html_escape(f, run->exit_reason);
        }
    } else if (against) {
        fprintf(f, "Did not meet expectations: %zu of %zu gates came out otherwise than expected.<ul>", against,
                run->ngates);
        for (size_t i = 0; i < run->ngates; i++) {
            const struct runinfo_gate *g = &run->gates[i];
            if (!against_expectation(run, g))
                continue;
            char stem[32];
            bool linked = runcharts_chart_for_gate(run, i, stem, sizeof stem) && runcharts_has(charts, stem);
            fputs("<li><b>", f);
            if (linked)
                fprintf(f, "<a href=\"#%s\">", stem);
            html_escape(f, g->name);
            fputs(linked ? "</a></b> " : "</b> ", f);
            html_escape(f, g->outcome);
            fputs(": observed ", f);
            html_escape(f, runpage_format_observed(g, observed, sizeof observed));
            fputs(", threshold ", f);
            html_escape(f, runpage_format_threshold(g, threshold, sizeof threshold));
            if (g->error[0]) {
                fputs(" (", f);
                html_escape(f, g->error);
                fputs(")", f);
            }
            fputs("</li>", f);
        }
        fputs("</ul>", f);
    } else {
        fputs("Completed, but the gates were not judged", f);
        if (run->exit_reason[0]) {
            fputs(": ", f);
            html_escape(f, run->exit_reason);
        }
    }
    fputs("</div>\n", f);
}

static void fact(FILE *f, const char *name, const char *value)
{
    if (!value || !*value)
        return;
    fprintf(f, "<dt>%s</dt><dd>", name);
    html_escape(f, value);
    fputs("</dd>", f);
}

static void write_facts(FILE *f, const struct runinfo *run)
{
    char text[RUNINFO_MAX_TEXT + 256];
    fputs("<dl class=\"facts\">", f);
    snprintf(text, sizeof text, "%s (%s)", run->scenario, run->scenario_file[0] ? run->scenario_file : "no file");
    fact(f, "scenario", text);
    fact(f, "label", run->label);
    fact(f, "git revision", run->git_rev[0] ? run->git_rev : "unknown");
    fact(f, "host", run->host);
    {
        char from[40], to[40];
        snprintf(text, sizeof text, "%s to %s UTC", runpage_time(run->started_at, from, sizeof from),
                 run->ended_at[0] ? runpage_time(run->ended_at, to, sizeof to) : "?");
    }
    fact(f, "ran", text);
    snprintf(text, sizeof text, "%s%s%s", run->status, run->verdict[0] ? ", verdict " : "", run->verdict);
    fact(f, "status", text);
    if (strcmp(run->status, "completed") == 0)
        fact(f, "notes", run->exit_reason);
    if (!isnan(run->steady_from) && !isnan(run->steady_to)) {
        snprintf(text, sizeof text, "t = %.2fs to %.2fs (the gates' window; before it: warmup)", run->steady_from,
                 run->steady_to);
        fact(f, "measured part", text);
    }
    if (run->service_pid > 0) {
        snprintf(text, sizeof text, "%lld", run->service_pid);
        fact(f, "service pid", text);
    }
    fact(f, "logs", run->log_dir);
    fputs("</dl>\n", f);
}

static void write_size(FILE *f, long long bytes)
{
    char text[32];
    fputs(units_format_size((double)bytes, text, sizeof text), f);
}

static const struct {
    const char *title, *what;
} inline_kinds[RUNEVIDENCE_INLINE_KINDS] = {
    [RUNEVIDENCE_THREADS] = {"Thread dump", "threads?debug=1: threads grouped by stack"},
    [RUNEVIDENCE_MUTEX] = {"Mutex profile", "mutex?debug=1: where threads waited for locks"},
    [RUNEVIDENCE_BLOCK] = {"Block profile", "block?debug=1: where threads blocked"},
    [RUNEVIDENCE_HEAP] = {"Heap profile", "heap?debug=1: live bytes by allocation site"},
};

/* The latest snapshot's dump and profiles, the first lines of each. */
static void write_inline_evidence(FILE *f, const struct runevidence *ev)
{
    bool periodic = strcmp(ev->inline_reason, EVIDENCE_PERIODIC) == 0;

    if (periodic) {
        fprintf(f, "<h3>Latest thread dump, t=%.2fs</h3>\n<p class=\"muted small\">No snapshot of the profiles was "
                   "taken in this run.</p>\n", ev->inline_t);
    } else {
        fputs("<h3>Latest snapshot: ", f);
        html_escape(f, ev->inline_reason);
        fprintf(f, ", t=%.2fs</h3>\n", ev->inline_t);
    }
    for (size_t k = 0; k < RUNEVIDENCE_INLINE_KINDS; k++) {
        const struct runevidence_excerpt *ex = &ev->excerpts[k];
        const struct runevidence_item *item;
        if (!ex->text)
            continue;
        item = &ev->items[ex->item];
        fprintf(f, "<details><summary><b>%s</b> <span class=\"muted small\">(%s, ", inline_kinds[k].title,
                inline_kinds[k].what);
        write_size(f, item->bytes);
        if (ex->lines < ex->total_lines)
            fprintf(f, ", first %zu of %zu lines", ex->lines, ex->total_lines);
        fputs(")</span></summary><pre>", f);
        html_escape_pre(f, ex->text, ex->len);
        fputs("</pre><p class=\"small\"><a href=\"", f);
        html_escape(f, item->file);
        fputs("\">The full text</a></p></details>\n", f);
    }
}

static void write_evidence(FILE *f, const struct runevidence *ev)
{
    fputs("<h2 id=\"evidence\">Evidence</h2>\n", f);
    if (!ev || ev->n == 0) {
        fputs("<p class=\"muted\">No evidence kept for this run: thread dumps and profiles are kept when a gate "
              "fails or the service crashes, or for every run with <code>loadlab run --capture</code>", f);
        if (ev && !ev->have_table)
            fputs(" (this database predates evidence capture)", f);
        fputs(".</p>\n", f);
        return;
    }
    fprintf(f, "<p class=\"muted small\">What the service's debug port said during the run: %zu items from "
               "t=%.2fs to t=%.2fs, %zu of them the thread dumps taken every half second. Each item links to its "
               "full text.</p>\n", ev->n, ev->items[0].t, ev->items[ev->n - 1].t, ev->periodic);
    if (ev->have_inline)
        write_inline_evidence(f, ev);
    fprintf(f, "<details%s><summary>All %zu items</summary>\n<table id=\"evidence-items\"><tr><th>t</th><th>kind</th>"
               "<th>reason</th><th>size</th></tr>\n", ev->n <= 12 ? " open" : "", ev->n);
    for (size_t i = 0; i < ev->n; i++) {
        const struct runevidence_item *item = &ev->items[i];
        fprintf(f, "<tr><td class=\"num\">%.2fs</td><td class=\"mono\">", item->t);
        if (item->file[0]) {
            fputs("<a href=\"", f);
            html_escape(f, item->file);
            fputs("\">", f);
            html_escape(f, item->kind);
            fputs("</a>", f);
        } else {
            html_escape(f, item->kind);
            fputs(" <span class=\"small\">(unreadable: ", f);
            html_escape(f, item->problem);
            fputs(")</span>", f);
        }
        fputs("</td><td>", f);
        html_escape(f, item->reason);
        fputs("</td><td class=\"num\">", f);
        write_size(f, item->bytes);
        fputs("</td></tr>\n", f);
    }
    fputs("</table></details>\n", f);
}

static void write_gates(FILE *f, const struct runinfo *run)
{
    char observed[64], threshold[GATE_MAX_THRESHOLD_TEXT + 32];

    fputs("<h2>Gates</h2>\n", f);
    if (run->ngates == 0) {
        fputs("<p class=\"muted\">The scenario has no gates.</p>\n", f);
        return;
    }
    if (!run->gates_judged)
        fputs("<p class=\"note\">The run ended before its gates were judged; these are the scenario's "
              "thresholds.</p>\n", f);
    fputs("<table><tr><th>gate</th><th>threshold</th><th>observed</th><th>result</th><th>expected to</th></tr>\n", f);
    for (size_t i = 0; i < run->ngates; i++) {
        const struct runinfo_gate *g = &run->gates[i];
        fprintf(f, "<tr%s><td class=\"mono\">", against_expectation(run, g) ? " class=\"bad\"" : "");
        html_escape(f, g->name);
        fputs("</td><td class=\"num\">", f);
        html_escape(f, runpage_format_threshold(g, threshold, sizeof threshold));
        fputs("</td><td class=\"num\">", f);
        html_escape(f, runpage_format_observed(g, observed, sizeof observed));
        fputs("</td><td>", f);
        html_pill(f, html_outcome_class(g->outcome), g->outcome);
        if (g->error[0]) {
            fputs(" <span class=\"small\">", f);
            html_escape(f, g->error);
            fputs("</span>", f);
        }
        if (g->instances) {
            fprintf(f, " <span class=\"small\">worst of %d instances: ", g->instances);
            html_escape(f, g->instance);
            fputs("</span>", f);
        }
        fprintf(f, "</td><td>%s</td></tr>\n", runpage_expected(g));
    }
    fputs("</table>\n", f);
}

static void write_phases(FILE *f, const struct runinfo *run)
{
    fputs("<h2>Faults</h2>\n", f);
    if (run->nphases == 0) {
        fputs("<p class=\"muted\">No fault was switched on: this run is the healthy service.</p>\n", f);
        return;
    }
    fputs("<table><tr><th>phase</th><th>fault</th><th>term</th><th>on at</th><th>off at</th></tr>\n", f);
    for (size_t i = 0; i < run->nphases; i++) {
        const struct runinfo_phase *p = &run->phases[i];
        fputs("<tr><td>", f);
        html_escape(f, p->phase);
        fputs("</td><td class=\"mono\">", f);
        html_escape(f, p->fault);
        fputs("</td><td class=\"mono\">", f);
        html_escape(f, p->term);
        fprintf(f, "</td><td class=\"num\">%.2fs</td><td class=\"num\">", p->on_at);
        if (p->still_on)
            fputs("never cleared", f);
        else
            fprintf(f, "%.2fs", p->off_at);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void cell_seconds(FILE *f, double seconds)
{
    char text[32];
    fprintf(f, "<td class=\"num\">%s</td>", units_format_seconds(seconds, text, sizeof text));
}

static void write_load_row(FILE *f, const char *stage, const struct runinfo_load *l)
{
    char requests[32], rate[48], errors[32], share[32];

    if (!l->present)
        return;
    fprintf(f, "<tr><td>%s</td><td class=\"num\">%.2fs</td><td class=\"num\">%.1fs</td><td class=\"num\">%u</td>"
               "<td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s (%s)</td>",
            stage, l->started_at, l->duration_s, l->connections,
            units_format_count((double)l->requests, requests, sizeof requests),
            units_format_rate(isnan(l->throughput) ? 0 : l->throughput, "req", rate, sizeof rate),
            units_format_count((double)l->errors, errors, sizeof errors),
            units_format_share(isnan(l->error_rate) ? 0 : l->error_rate, share, sizeof share));
    cell_seconds(f, l->p50);
    cell_seconds(f, l->p90);
    cell_seconds(f, l->p99);
    cell_seconds(f, l->p999);
    cell_seconds(f, l->latency_max);
    fputs("</tr>\n", f);
}

static void write_load(FILE *f, const struct runinfo *run)
{
    const char *generator = run->open_model ? "open model" : "wrk";
    fprintf(f, "<h2>Load (%s)</h2>\n", generator);
    if (!run->warmup.present && !run->measure.present) {
        fprintf(f, "<p class=\"muted\">%s recorded nothing for this run.</p>\n", generator);
        return;
    }
    fputs("<table><tr><th>stage</th><th>at</th><th>for</th><th>connections</th><th>requests</th><th>throughput</th>"
          "<th>errors</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n", f);
    write_load_row(f, "warmup", &run->warmup);
    write_load_row(f, "measure", &run->measure);
    fputs("</table>\n", f);
}

static void write_charts(FILE *f, const struct runinfo *run, const struct runcharts *charts, const char *problem)
{
    fputs("<h2>Charts</h2>\n", f);
    /* Said whether or not charts were drawn: the load table's figures are as suspect. */
    if (run->behind_schedule)
        fputs("<p class=\"note\" id=\"latency-unreliable\">The load generator fell behind its schedule in this "
              "run (its sends lagged the scheduled times past its limit), so the latency figures of this run, on "
              "the charts and in the load table, are unreliable: they may understate what a client would have "
              "seen. Rerun at a lower rate or with more threads.</p>\n", f);
    if (problem && *problem) {
        fputs("<p class=\"note\">Charts could not be drawn: ", f);
        html_escape(f, problem);
        fputs("</p>\n", f);
    }
    if (!charts || charts->n == 0) {
        if (!problem || !*problem)
            fputs("<p class=\"muted\">This run recorded no samples to chart.</p>\n", f);
        return;
    }
    fputs("<p class=\"muted small\">Shaded: grey is the warmup (not judged), colours are the faults that were on. "
          "Dashed red: gate thresholds. Dotted: fitted trends and wrk's figures for the measured part. "
          "Click a chart for full size.</p>\n<div class=\"charts\">\n", f);
    for (size_t i = 0; i < charts->n; i++) {
        const struct runcharts_chart *c = &charts->charts[i];
        fprintf(f, "<figure id=\"%.*s\"><a href=\"", (int)(strlen(c->file) - 4), c->file);
        html_escape(f, c->file);
        fputs("\"><img src=\"", f);
        html_escape(f, c->file);
        fputs("\" alt=\"", f);
        html_escape(f, c->title);
        fprintf(f, "\" width=\"%d\" height=\"%d\"></a><figcaption>", CHART_WIDTH, CHART_HEIGHT);
        html_escape(f, c->caption);
        fputs("</figcaption></figure>\n", f);
    }
    fputs("</div>\n", f);
    if (charts->omitted[0]) {
        fputs("<p class=\"muted small\">Not drawn: ", f);
        html_escape(f, charts->omitted);
        fputs(".</p>\n", f);
    }
}

/* Words of a regression verdict for a page: "regression", "no regression",
 * "inconclusive", "error"; and its CSS class. */
static const char *regression_words(enum regression_verdict v, const char **css)
{
    switch (v) {
    case REGRESSION_PASS: *css = "ok"; return "no regression";
    case REGRESSION_FAIL: *css = "bad"; return "regression";
    case REGRESSION_INCONCLUSIVE: *css = "warn"; return "inconclusive";
    case REGRESSION_ERROR: break;
    }
    *css = "bad";
    return "error";
}

void runpage_write_regressions(FILE *f, const struct runinfo *run)
{
    char base[48], cand[48], numbers[200];

    if (run->nregressions == 0)
        return;
    fputs("<table><tr><th>regression gate</th><th>change</th><th>baseline</th><th>candidate</th><th>ratio</th>"
          "<th>method</th><th>verdict</th><th>why</th></tr>\n", f);
    for (size_t i = 0; i < run->nregressions; i++) {
        const struct regression_result *r = &run->regressions[i];
        const char *css, *word = regression_words(r->verdict, &css);
        fprintf(f, "<tr%s><td class=\"mono\">", r->verdict == REGRESSION_FAIL ? " class=\"bad\"" : "");
        html_escape(f, r->spec.name);
        fputs("</td><td class=\"num\">", f);
        html_escape(f, gate_format_threshold(&r->spec, numbers, sizeof numbers));
        fputs("</td><td class=\"num\">", f);
        html_escape(f, r->baseline_label);
        fputs(" ", f);
        html_escape(f, gate_format_observed(&r->spec, r->baseline_median, base, sizeof base));
        fputs("</td><td class=\"num\">", f);
        html_escape(f, gate_format_observed(&r->spec, r->candidate_median, cand, sizeof cand));
        fputs("</td><td>", f);
        html_escape(f, regression_format_numbers(r, numbers, sizeof numbers));
        fputs("</td><td>", f);
        html_escape(f, r->method == REGRESSION_METHOD_INTERLEAVED ? "interleaved pairs" : "whole runs");
        fputs("</td><td>", f);
        html_pill(f, css, word);
        fputs("</td><td class=\"small\">", f);
        html_escape(f, r->detail);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void write_params(FILE *f, const struct runinfo *run)
{
    json_t *root = json_loads(run->params, 0, NULL);
    char *pretty = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    fputs("<h2>Settings</h2>\n<details><summary>The scenario as it was run (JSON)</summary><pre>", f);
    html_escape(f, pretty ? pretty : run->params);
    fputs("</pre></details>\n", f);
    free(pretty);
    json_decref(root);
}

int runpage_write(const char *path, const struct runinfo *run, const struct runcharts *charts,
                  const char *chart_problem, const struct runevidence *evidence, const char *index_href,
                  const char *footer, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    char title[300];
    const char *css;

    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    /* The tab reads like the page: what is wrong first, where a diagnosis says. */
    if (run->ndiagnoses && strcmp(run->diagnoses[0].class_name, "none") != 0)
        snprintf(title, sizeof title, "%s run %lld: %s%s%s", run->scenario, (long long)run->id,
                 run->diagnoses[0].class_name, run->diagnoses[0].culprit[0] ? " in " : "", run->diagnoses[0].culprit);
    else if (run->ndiagnoses && strcmp(run->status, "completed") == 0)
        snprintf(title, sizeof title, "%s run %lld: no problem found", run->scenario, (long long)run->id);
    else
        snprintf(title, sizeof title, "%s run %lld: %s", run->scenario, (long long)run->id, runpage_outcome(run, &css));
    html_begin(f, title);
    fputs("<nav><a href=\"", f);
    html_escape(f, index_href);
    fputs("\">&larr; all scenarios</a></nav>\n<h1>", f);
    html_escape(f, run->scenario);
    fprintf(f, " &middot; run %lld</h1>\n", (long long)run->id);
    if (run->description[0]) {
        fputs("<p class=\"muted\">", f);
        html_escape(f, run->description);
        fputs("</p>\n", f);
    }
    runlead_write(f, run, charts);
    write_banner(f, run, charts);
    write_facts(f, run);
    write_evidence(f, evidence);
    write_gates(f, run);
    if (run->nregressions) {
        fputs("<h2>Regression verdicts</h2>\n", f);
        runpage_write_regressions(f, run);
    }
    write_phases(f, run);
    write_charts(f, run, charts, chart_problem);
    write_load(f, run);
    write_params(f, run);
    html_end(f, footer);
    if (ferror(f) | fclose(f)) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
