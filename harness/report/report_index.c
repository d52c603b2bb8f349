/* report, index: the report's index.html — every scenario with its latest run, its
 * problem and gate table, its trend charts and its runs; the overhead study's bars.
 * Part of the report module (report.h). */
#include "report/report_build.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge/verdict.h"
#include "report/chart.h"
#include "report/html.h"
#include "report/overheadstudy.h"
#include "report/runpage.h"
#include "units.h"

static void cell_gates(FILE *f, const struct report_row *r)
{
    if (r->judged)
        fprintf(f, "<td class=\"num\">%zu of %zu</td>", r->against, r->ngates);
    else
        fputs("<td class=\"num\">not judged</td>", f);
}
size_t report_scenarios_off_expectation(const struct report_state *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nscenarios; i++)
        n += !runinfo_met(s->scenarios[i].latest);
    return n;
}

/* A table cell of one figure, written by formatter; "-" for NaN. */
static void cell_figure(FILE *f, double v, char *(*formatter)(double, char *, size_t))
{
    char text[48];
    fprintf(f, "<td class=\"num\">%s</td>", isnan(v) ? "-" : formatter(v, text, sizeof text));
}

static char *format_throughput(double v, char *buf, size_t buflen)
{
    return units_format_rate(v, "req", buf, buflen);
}

static char *format_change(double v, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "%+.1f%%", v * 100);
    return buf;
}

/* What went wrong in a run, in one line: its status and reason, or its off gates,
 * each linked to the chart that shows it when that chart was drawn. */
static void write_run_problem(FILE *f, const struct runinfo *run, const struct runcharts *charts)
{
    char observed[64], threshold[GATE_MAX_THRESHOLD_TEXT + 32];
    bool first = true;

    if (strcmp(run->status, "completed") != 0 || !run->gates_judged) {
        const char *css;
        html_escape(f, runpage_outcome(run, &css));
        if (run->exit_reason[0]) {
            fputs(": ", f);
            html_escape(f, run->exit_reason);
        }
        return;
    }
    for (size_t i = 0; i < run->ngates; i++) {
        const struct runinfo_gate *g = &run->gates[i];
        char stem[32];
        bool linked;
        if (verdict_met(verdict_outcome(g->passed, g->expected_to_fail)))
            continue;
        fputs(first ? "" : "; ", f);
        first = false;
        linked = runcharts_chart_for_gate(run, i, stem, sizeof stem) && runcharts_has(charts, stem);
        if (linked)
            fprintf(f, "<a class=\"mono\" href=\"run-%lld/index.html#%s\">", (long long)run->id, stem);
        else
            fputs("<span class=\"mono\">", f);
        html_escape(f, g->name);
        fputs(linked ? "</a> " : "</span> ", f);
        html_escape(f, g->outcome);
        fputs(" (observed ", f);
        html_escape(f, runpage_format_observed(g, observed, sizeof observed));
        fputs(", threshold ", f);
        html_escape(f, runpage_format_threshold(g, threshold, sizeof threshold));
        fputs(")", f);
    }
}

static void write_gate_table(FILE *f, const struct runinfo *run)
{
    char observed[64], threshold[GATE_MAX_THRESHOLD_TEXT + 32];
    if (run->ngates == 0) {
        fputs("<p class=\"muted\">No gates.</p>\n", f);
        return;
    }
    fputs("<table><tr><th>gate</th><th>threshold</th><th>observed</th><th>result</th><th>expected to</th></tr>\n", f);
    for (size_t i = 0; i < run->ngates; i++) {
        const struct runinfo_gate *g = &run->gates[i];
        bool off = run->gates_judged && !verdict_met(verdict_outcome(g->passed, g->expected_to_fail));
        fprintf(f, "<tr%s><td class=\"mono\">", off ? " class=\"bad\"" : "");
        html_escape(f, g->name);
        fputs("</td><td class=\"num\">", f);
        html_escape(f, runpage_format_threshold(g, threshold, sizeof threshold));
        fputs("</td><td class=\"num\">", f);
        html_escape(f, runpage_format_observed(g, observed, sizeof observed));
        fputs("</td><td>", f);
        html_pill(f, html_outcome_class(g->outcome), g->outcome);
        fprintf(f, "</td><td>%s</td></tr>\n", runpage_expected(g));
    }
    fputs("</table>\n", f);
}

static void write_figure(FILE *f, const char *dir, const char *file, const char *title, const char *caption)
{
    fputs("<figure><a href=\"", f);
    html_escape(f, dir);
    html_escape(f, file);
    fputs("\"><img src=\"", f);
    html_escape(f, dir);
    html_escape(f, file);
    fputs("\" alt=\"", f);
    html_escape(f, title);
    fprintf(f, "\" width=\"%d\" height=\"%d\"></a><figcaption>", CHART_WIDTH, CHART_HEIGHT);
    html_escape(f, caption);
    fputs("</figcaption></figure>\n", f);
}

static void write_figures(FILE *f, const struct trends *t)
{
    fputs("<div class=\"charts\">\n", f);
    for (size_t i = 0; i < t->n; i++)
        write_figure(f, "", t->charts[i].file, t->charts[i].title, t->charts[i].caption);
    fputs("</div>\n", f);
}

/* Until a scenario has runs enough for a trend, its latest run's key charts: those
 * of the gates that came out otherwise than expected or tripped, else the first
 * few, so the index never shows a scenario without a picture. */
#define LATEST_KEY_CHARTS 2
static void write_latest_charts(FILE *f, const struct runinfo *run, const struct runcharts *charts)
{
    static const char *const preferred[] = {"latency.svg", "throughput.svg"};
    char dir[48], stem[32];
    bool shown[RUNCHARTS_MAX] = {false};
    size_t n = 0;

    if (!charts || charts->n == 0)
        return;
    snprintf(dir, sizeof dir, "run-%lld/", (long long)run->id);
    for (size_t i = 0; i < run->ngates && n < LATEST_KEY_CHARTS; i++) {
        if (!run->gates_judged || run->gates[i].passed != 0 || !runcharts_chart_for_gate(run, i, stem, sizeof stem))
            continue;
        for (size_t k = 0; k < charts->n; k++) {
            size_t len = strlen(stem);
            if (!shown[k] && strncmp(charts->charts[k].file, stem, len) == 0 &&
                strcmp(charts->charts[k].file + len, ".svg") == 0) {
                shown[k] = true;
                n++;
            }
        }
    }
    /* Then what every run has to say: its latency and its throughput. */
    for (size_t p = 0; p < sizeof preferred / sizeof preferred[0] && n < LATEST_KEY_CHARTS; p++)
        for (size_t k = 0; k < charts->n; k++)
            if (!shown[k] && strcmp(charts->charts[k].file, preferred[p]) == 0) {
                shown[k] = true;
                n++;
            }
    for (size_t k = 0; k < charts->n && n < LATEST_KEY_CHARTS; k++)
        if (!shown[k]) {
            shown[k] = true;
            n++;
        }
    fprintf(f, "<h3>Latest run's key charts</h3>\n<p class=\"muted small\">Until the scenario has runs enough for "
               "a trend, its latest run's charts: those of the gates that tripped, else latency and throughput (all on <a href=\"%sindex.html\">its "
               "page</a>).</p>\n<div class=\"charts\">\n", dir);
    for (size_t k = 0; k < charts->n; k++)
        if (shown[k])
            write_figure(f, dir, charts->charts[k].file, charts->charts[k].title, charts->charts[k].caption);
    fputs("</div>\n", f);
}

static void write_run_link(FILE *f, int64_t id)
{
    fprintf(f, "<a href=\"run-%lld/index.html\">run %lld</a>", (long long)id, (long long)id);
}

static void cell_diagnosis(FILE *f, const struct report_row *r)
{
    if (!r->diagnosed) {
        fputs("<td class=\"diagnosis muted\">not diagnosed</td>", f);
        return;
    }
    fprintf(f, "<td class=\"diagnosis\"><a href=\"run-%lld/index.html#diagnosis\">", (long long)r->id);
    html_escape(f, r->diagnosis);
    fputs("</a></td>", f);
}

/* The cells every runs table shares, from the run link to the gates off expectation
 * (the caller has opened the link's <td>). */
static void write_run_cells(FILE *f, const struct report_row *r)
{
    write_run_link(f, r->id);
    fputs("</td><td>", f);
    html_escape(f, r->label);
    fputs("</td><td class=\"when\">", f);
    html_escape(f, r->started_at);
    fputs("</td><td>", f);
    html_pill(f, r->css, r->outcome);
    fputs("</td>", f);
    cell_figure(f, r->throughput, format_throughput);
    cell_figure(f, r->p99, units_format_seconds);
    cell_gates(f, r);
}

static void write_scenario(FILE *f, const struct report_state *s, const struct report_scenario *e)
{
    const struct runinfo *run = e->latest;
    const char *css, *outcome = runpage_outcome(run, &css);
    bool diagnosed = false;

    /* The runs table has the column only where some run has a verdict (the index's
     * own table always has it): a column of "not diagnosed" says nothing. */
    for (size_t i = 0; i < e->nrows && !diagnosed; i++)
        diagnosed = e->rows[i].diagnosed;

    fputs("<h2 id=\"s-", f);
    html_escape(f, e->slug);
    fputs("\">", f);
    html_escape(f, e->name);
    fputs(" ", f);
    html_pill(f, css, outcome);
    fputs("</h2>\n", f);
    if (e->description[0]) {
        fputs("<p class=\"muted\">", f);
        html_escape(f, e->description);
        fputs("</p>\n", f);
    }
    fputs("<h3>Latest: ", f);
    write_run_link(f, run->id);
    fputs(" <span class=\"muted small\">label ", f);
    html_escape(f, run->label);
    fputs(", ", f);
    html_escape(f, e->rows[e->nrows - 1].started_at);
    fputs(" UTC</span></h3>\n", f);
    if (!runinfo_met(run)) {
        fputs("<p class=\"note bad\">", f);
        write_run_problem(f, run, e->latest_charts);
        fputs("</p>\n", f);
    }
    write_gate_table(f, run);
    if (run->nregressions) {
        fputs("<h3>Regression verdicts of this run</h3>\n", f);
        runpage_write_regressions(f, run);
    }
    if (e->trends.n) {
        fprintf(f, "<h3>Across the %zu completed runs in the database</h3>\n", e->trends.runs);
        write_figures(f, &e->trends);
    } else if (s->trends_problem[0] && e->trends.runs >= 2) {
        fputs("<p class=\"note\">Trend charts could not be drawn: ", f);
        html_escape(f, s->trends_problem);
        fputs("</p>\n", f);
    } else {
        if (e->trends.note[0]) {
            fputs("<p class=\"muted small\">", f);
            html_escape(f, e->trends.note);
            fputs("</p>\n", f);
        }
        if (!report_is_overhead(e->name))
            write_latest_charts(f, run, e->latest_charts);
    }
    fprintf(f, "<details%s><summary>Runs in this report (%zu)</summary>\n", e->nrows <= 5 ? " open" : "", e->nrows);
    fputs("<table><tr><th>run</th><th>label</th><th>started (UTC)</th><th>outcome</th><th>throughput</th><th>p99</th>"
          "<th>gates off expectation</th>", f);
    fputs(diagnosed ? "<th>diagnosis</th></tr>\n" : "</tr>\n", f);
    for (size_t i = e->nrows; i-- > 0;) {
        const struct report_row *r = &e->rows[i];
        fputs("<tr><td>", f);
        write_run_cells(f, r);
        if (diagnosed)
            cell_diagnosis(f, r);
        fputs("</tr>\n", f);
    }
    fputs("</table></details>\n", f);
}

/* The table beside a study figure's chart: each setting's ratio to off, its interval,
 * the interval's level, pairs or rounds, and the verdict in words. */
static void write_study_table(FILE *f, const struct overheadstudy *st, const struct overheadstudy_figure *g)
{
    static const char *const pill[] = {"ok", "bad", "warn"};
    char text[48];

    fprintf(f, "<table><tr><th>setting</th><th>ratio to off</th><th>interval</th><th>level</th><th>%s</th>"
               "<th>verdict</th></tr>\n", g->exact ? "rounds" : "pairs");
    for (size_t k = 0; k < st->nsettings; k++) {
        const struct overheadstudy_ratio *q = &g->r[k];
        fputs(q->present && q->tone == OVERHEADSTUDY_COSTS ? "<tr class=\"bad\"><td class=\"mono\">"
                                                           : "<tr><td class=\"mono\">", f);
        html_escape(f, st->settings[k]);
        fputs("</td>", f);
        if (!q->present) {
            fputs("<td colspan=\"5\" class=\"muted\">not measured in this pass</td></tr>\n", f);
            continue;
        }
        fprintf(f, "<td class=\"num\">%s</td><td class=\"num\">", isnan(q->ratio) ? "not computed"
                                                                  : units_format_ratio(q->ratio, text, sizeof text));
        html_escape(f, q->interval);
        fputs("</td><td>", f);
        html_escape(f, q->level);
        fprintf(f, "</td><td class=\"num\">%zu</td><td><span class=\"pill %s\">", q->n, pill[q->tone]);
        html_escape(f, q->verdict);
        fputs("</span></td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* The latest overhead study: one chart and table a figure. */
static void write_study(FILE *f, const struct report_state *s)
{
    const struct overheadstudy *st = s->study;
    bool exact_seen = false, paired_seen = false;

    fputs("<p class=\"muted\">Study <b class=\"mono\">", f);
    html_escape(f, st->label);
    fputs("</b> (<span class=\"mono\">make overhead</span>): each setting as a ratio to "
          "<b>" OVERHEADSTUDY_REFERENCE "</b>, with its interval. The wall-clock figures come from paired, "
          "interleaved runs (the setting and off at once, the load switched between them in short slices); "
          "instructions per request from the exact pass, counted round by round. off against off shows what "
          "no change looks like.</p>\n", f);
    if (st->nfigures == 0)
        fputs("<p class=\"note\">The study has neither an interleaved verdict nor an exact count stored yet.</p>\n",
              f);
    for (size_t i = 0; i < st->nfigures; i++) {
        const struct overheadstudy_figure *g = &st->figures[i];
        if (g->exact && !exact_seen) {
            fputs("<h3>Exact pass: instructions per request</h3>\n", f);
            exact_seen = true;
        } else if (!g->exact && !paired_seen) {
            fputs("<h3>Wall clock: interleaved with off</h3>\n", f);
            paired_seen = true;
        }
        fputs("<h4>", f);
        html_escape(f, g->title);
        if (g->counter[0]) {
            fputs(" <span class=\"muted small\">(counter ", f);
            html_escape(f, g->counter);
            fputs(")</span>", f);
        }
        fputs("</h4>\n<div class=\"charts\">\n", f);
        if (g->chart[0])
            write_figure(f, "", g->chart, g->title, g->caption);
        fputs("<div>", f);
        write_study_table(f, st, g);
        fputs("</div></div>\n", f);
    }
    if (st->nfigures && st->charts == 0 && (s->trends_problem[0] || !s->have_gnuplot))
        fputs("<p class=\"note\">The overhead charts could not be drawn (see above).</p>\n", f);
}

static void write_overhead(FILE *f, const struct report_state *s)
{
    const struct trends_overhead *o = &s->overhead;
    const struct trends_setting *base = o->n ? &o->settings[0] : NULL;
    bool study = s->study && s->study->label[0];

    fputs("<h2 id=\"overhead\">Instrumentation overhead</h2>\n", f);
    if (study)
        write_study(f, s);
    if (o->n == 0) {
        if (!study)
            fputs("<p class=\"muted\">No overhead study in the database (<span class=\"mono\">make overhead</span>): "
                  "the comparison is drawn once it has run.</p>\n", f);
        return;
    }
    if (study)
        fputs("<h3>Whole runs</h3>\n", f);
    fprintf(f, "<p class=\"muted\">Every completed run of the " TRENDS_OVERHEAD_PREFIX "* scenarios, by setting, "
               "in the order the settings first ran; change is against <b>");
    html_escape(f, base->name);
    fputs("</b>.", f);
    if (o->labels > 1)
        fprintf(f, " <b>These runs come from %zu different labels (builds)</b>; compare with care.", o->labels);
    fputs("</p>\n<table><tr><th>setting</th><th>runs</th><th>median throughput</th><th>min..max</th><th>change</th>"
          "<th>median p99</th><th>min..max</th><th>change</th></tr>\n", f);
    for (size_t i = 0; i < o->n; i++) {
        const struct trends_setting *t = &o->settings[i];
        char lo[48], hi[48];
        fputs("<tr><td class=\"mono\">", f);
        html_escape(f, t->name);
        fprintf(f, "</td><td class=\"num\">%zu</td>", t->runs);
        cell_figure(f, t->throughput_median, format_throughput);
        fprintf(f, "<td class=\"num\">%s..%s</td>", units_format_count(t->throughput_min, lo, sizeof lo),
                format_throughput(t->throughput_max, hi, sizeof hi));
        if (i == 0)
            fputs("<td>reference</td>", f);
        else
            cell_figure(f, t->throughput_median / base->throughput_median - 1, format_change);
        cell_figure(f, t->p99_median, units_format_seconds);
        if (isnan(t->p99_min))
            fputs("<td class=\"num\">-</td>", f);
        else
            fprintf(f, "<td class=\"num\">%s..%s</td>", units_format_seconds(t->p99_min, lo, sizeof lo),
                    units_format_seconds(t->p99_max, hi, sizeof hi));
        if (i == 0)
            fputs("<td>reference</td>", f);
        else
            cell_figure(f, t->p99_median / base->p99_median - 1, format_change);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    if (o->charts.n)
        write_figures(f, &o->charts);
    else if (s->trends_problem[0] || !s->have_gnuplot)
        fputs("<p class=\"note\">The overhead charts could not be drawn (see above).</p>\n", f);
}

int report_write_index(struct report_state *s, char *err, size_t errlen)
{
    FILE *f = fopen(s->result->index_path, "w");
    size_t off = report_scenarios_off_expectation(s);

    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", s->result->index_path, strerror(errno));
        return -1;
    }
    html_begin(f, off ? "loadlab report: scenarios off expectation" : "loadlab report: all scenarios met expectations");
    fputs("<h1>loadlab report</h1>\n<p class=\"muted\">", f);
    html_escape(f, s->opt->db_path);
    fprintf(f, " &middot; %zu runs of %zu scenarios &middot; generated %s</p>\n", s->result->runs, s->nscenarios,
            s->generated);
    if (off) {
        fprintf(f, "<div class=\"banner bad\">%zu of %zu scenarios did not meet expectations in their latest run:<ul>",
                off, s->nscenarios);
        for (size_t i = 0; i < s->nscenarios; i++) {
            const struct report_scenario *e = &s->scenarios[i];
            if (runinfo_met(e->latest))
                continue;
            fputs("<li><a href=\"#s-", f);
            html_escape(f, e->slug);
            fputs("\">", f);
            html_escape(f, e->name);
            fputs("</a> ", f);
            write_run_link(f, e->latest->id);
            fputs(": ", f);
            write_run_problem(f, e->latest, e->latest_charts);
            fputs("</li>", f);
        }
        fputs("</ul></div>\n", f);
    } else {
        fprintf(f, "<div class=\"banner ok\">All %zu scenarios met their expectations in their latest run.</div>\n",
                s->nscenarios);
    }
    if (s->result->charts_missing) {
        fputs("<p class=\"note\">Some charts could not be drawn: ", f);
        html_escape(f, s->result->chart_problem);
        fputs("</p>\n", f);
    }
    fputs("<table id=\"scenarios\"><tr><th>scenario</th><th>latest</th><th>label</th><th>started (UTC)</th>"
          "<th>outcome</th><th>throughput</th><th>p99</th><th>gates off expectation</th><th>diagnosis</th></tr>\n", f);
    for (size_t i = 0; i < s->nscenarios; i++) {
        const struct report_scenario *e = &s->scenarios[i];
        const struct report_row *r = &e->rows[e->nrows - 1];
        fprintf(f, "<tr%s><td><a href=\"#s-", runinfo_met(e->latest) ? "" : " class=\"bad\"");
        html_escape(f, e->slug);
        fputs("\">", f);
        html_escape(f, e->name);
        fputs("</a></td><td>", f);
        write_run_cells(f, r);
        cell_diagnosis(f, r);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    if (s->overhead_wanted)
        fputs("<p class=\"small\"><a href=\"#overhead\">Instrumentation overhead &darr;</a></p>\n", f);
    for (size_t i = 0; i < s->nscenarios; i++)
        write_scenario(f, s, &s->scenarios[i]);
    if (s->overhead_wanted)
        write_overhead(f, s);
    html_end(f, s->footer);
    if (ferror(f) | fclose(f)) {
        snprintf(err, errlen, "cannot write %s: %s", s->result->index_path, strerror(errno));
        return -1;
    }
    return 0;
}
