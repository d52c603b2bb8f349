/* report: the report folder. See report.h. */
#include "report/report.h"
#include "judge/verdict.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "report/chart.h"
#include "report/gnuplot.h"
#include "report/html.h"
#include "report/runcharts.h"
#include "report/runevidence.h"
#include "report/runinfo.h"
#include "report/runpage.h"
#include "report/trends.h"

#define TRENDS_DIR "trends"
#define SLUG_MAX 80

/* What the index lists about a run it does not keep in full. */
struct row {
    int64_t id;
    char label[256], started_at[40], outcome[40], css[16];
    double throughput, p99;
    size_t ngates, against;
    bool judged;
    bool diagnosed;               /* the diagnoses table has rows for it */
    char diagnosis[512];          /* "class in culprit; ...", or "no problem found" */
};

struct scenario_entry {
    char name[128];
    char slug[SLUG_MAX + 16];
    char description[RUNINFO_MAX_TEXT];
    struct runinfo *latest;       /* owned */
    struct runcharts *latest_charts;  /* what was drawn of it; owned */
    struct row *rows;
    size_t nrows;
    struct trends trends;
};

struct state {
    struct resultdb *db;
    const struct report_options *opt;
    struct report_result *result;
    struct scenario_entry *scenarios;
    size_t nscenarios;
    struct trends_overhead overhead;
    bool overhead_wanted;
    char gnuplot_path[PATH_MAX];
    bool have_gnuplot;
    char trends_problem[1024];
    char generated[40];
    char footer[PATH_MAX + 200];
};

static bool is_overhead(const char *scenario)
{
    return strncmp(scenario, TRENDS_OVERHEAD_PREFIX, strlen(TRENDS_OVERHEAD_PREFIX)) == 0;
}

/* mkdir -p. Returns 0, or -1 with err filled. */
static int make_dirs(const char *path, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof buf) {
        snprintf(err, errlen, "bad output folder '%s'", path);
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", buf, strerror(errno));
            return -1;
        }
        buf[i] = path[i];
    }
    return 0;
}

/* A file-name-safe form of a scenario name, distinct from those already taken. */
static void make_slug(const struct state *s, const char *name, char *out, size_t outlen)
{
    char base[SLUG_MAX + 1];
    size_t k = 0;
    bool taken;
    int n = 1;

    for (const char *p = name; *p && k < SLUG_MAX; p++) {
        unsigned char c = (unsigned char)*p;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || (c == '.' && k > 0);
        base[k++] = keep ? (char)c : '_';
    }
    base[k] = '\0';
    if (k == 0)
        snprintf(base, sizeof base, "scenario");
    snprintf(out, outlen, "%s", base);
    do {
        taken = false;
        for (size_t i = 0; i < s->nscenarios && !taken; i++)
            taken = strcmp(s->scenarios[i].slug, out) == 0;
        if (taken)
            snprintf(out, outlen, "%s-%d", base, ++n);
    } while (taken);
}

static struct scenario_entry *scenario_for(struct state *s, const struct runinfo *run, char *err, size_t errlen)
{
    struct scenario_entry *grown, *e;
    for (size_t i = 0; i < s->nscenarios; i++)
        if (strcmp(s->scenarios[i].name, run->scenario) == 0)
            return &s->scenarios[i];
    if (s->nscenarios >= REPORT_MAX_SCENARIOS) {
        snprintf(err, errlen, "more than %d scenarios; name the ones to report", REPORT_MAX_SCENARIOS);
        return NULL;
    }
    grown = realloc(s->scenarios, (s->nscenarios + 1) * sizeof *grown);
    if (!grown) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->scenarios = grown;
    e = &s->scenarios[s->nscenarios];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", run->scenario);
    make_slug(s, run->scenario, e->slug, sizeof e->slug);
    s->nscenarios++;
    return e;
}

static void note_problem(struct state *s, const char *what, const char *problem)
{
    if (s->result->charts_missing)
        return;
    s->result->charts_missing = true;
    snprintf(s->result->chart_problem, sizeof s->result->chart_problem, "%s: %.900s", what, problem);
}

/* Draws one run's charts with a gnuplot of its own. On failure, problem says why
 * and charts is emptied (the files gnuplot managed are not trusted). */
static int draw_run(struct state *s, const struct runinfo *run, const char *dir, struct runcharts *charts,
                    char *problem, size_t problemlen, char *err, size_t errlen)
{
    struct gnuplot *gp;
    char why[GNUPLOT_MAX_STDERR + 256], what[64];
    int rc, queued;

    memset(charts, 0, sizeof *charts);
    problem[0] = '\0';
    snprintf(what, sizeof what, "run %lld", (long long)run->id);
    if (!s->have_gnuplot) {
        snprintf(problem, problemlen, "%s", s->result->chart_problem);
        return 0;
    }
    gp = gnuplot_open(s->gnuplot_path, why, sizeof why);
    if (!gp) {
        snprintf(problem, problemlen, "%s", why);
        note_problem(s, what, why);
        return 0;
    }
    queued = runcharts_queue(resultdb_handle(s->db), run, gp, dir, s->opt->png, charts, err, errlen);
    /* Queueing fails when gnuplot has died (its reason comes from gnuplot_close) or
     * when the database cannot be read: only the second stops the report. */
    if (queued < 0 && !gnuplot_failed(gp)) {
        gnuplot_close(gp, why, sizeof why);
        return -1;
    }
    rc = gnuplot_close(gp, why, sizeof why);
    if (rc < 0) {
        snprintf(problem, problemlen, "%s", why);
        note_problem(s, what, why);
        memset(charts, 0, sizeof *charts);
    } else if (rc == 1 && !s->result->warning[0]) {
        snprintf(s->result->warning, sizeof s->result->warning, "%s: %.900s", what, why);
    }
    s->result->charts += charts->n;
    return 0;
}

/* A stored diagnosis in a few words, for a table cell. */
static void diagnosis_words(const struct runinfo *run, char *out, size_t outlen)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < run->ndiagnoses && used < outlen; i++) {
        const struct diagnose_finding *d = &run->diagnoses[i];
        if (strcmp(d->class_name, "none") == 0)
            used += (size_t)snprintf(out + used, outlen - used, "%sno problem found", used ? "; " : "");
        else
            used += (size_t)snprintf(out + used, outlen - used, "%s%s%s%s", used ? "; " : "", d->class_name,
                                     d->culprit[0] ? " in " : "", d->culprit);
    }
}

static void row_from(struct row *r, const struct runinfo *run)
{
    const char *css, *outcome = runpage_outcome(run, &css);
    memset(r, 0, sizeof *r);
    r->id = run->id;
    snprintf(r->label, sizeof r->label, "%s", run->label);
    runpage_time(run->started_at, r->started_at, sizeof r->started_at);
    snprintf(r->outcome, sizeof r->outcome, "%s", outcome);
    snprintf(r->css, sizeof r->css, "%s", css);
    r->throughput = run->measure.present ? run->measure.throughput : NAN;
    r->p99 = run->measure.present ? run->measure.p99 : NAN;
    r->ngates = run->ngates;
    r->against = runinfo_gates_against_expectation(run);
    r->judged = run->gates_judged || run->ngates == 0;
    r->diagnosed = run->ndiagnoses > 0;
    diagnosis_words(run, r->diagnosis, sizeof r->diagnosis);
}

static void cell_gates(FILE *f, const struct row *r)
{
    if (r->judged)
        fprintf(f, "<td class=\"num\">%zu of %zu</td>", r->against, r->ngates);
    else
        fputs("<td class=\"num\">not judged</td>", f);
}

static int render_run(struct state *s, int64_t id, char *err, size_t errlen)
{
    struct runinfo *run;
    struct runcharts *charts = NULL;
    struct runevidence *evidence = NULL;
    struct scenario_entry *e;
    struct row *grown;
    char dir[PATH_MAX], page[PATH_MAX + 16], problem[GNUPLOT_MAX_STDERR + 256];
    bool missing;
    int rc = -1;

    run = runinfo_load(s->db, id, &missing, err, errlen);
    if (!run)
        return -1;
    charts = calloc(1, sizeof *charts);
    if (!charts) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if ((size_t)snprintf(dir, sizeof dir, "%s/run-%lld", s->opt->out_dir, (long long)id) >= sizeof dir) {
        snprintf(err, errlen, "output folder path too long");
        goto done;
    }
    snprintf(page, sizeof page, "%s/index.html", dir);
    if (make_dirs(dir, err, errlen) < 0 || draw_run(s, run, dir, charts, problem, sizeof problem, err, errlen) < 0 ||
        !(evidence = runevidence_write(s->db, id, dir, err, errlen)) ||
        runpage_write(page, run, charts, problem, evidence, "../index.html", s->footer, err, errlen) < 0)
        goto done;
    e = scenario_for(s, run, err, errlen);
    if (!e)
        goto done;
    grown = realloc(e->rows, (e->nrows + 1) * sizeof *grown);
    if (!grown) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    e->rows = grown;
    row_from(&e->rows[e->nrows++], run);
    if (run->description[0])
        snprintf(e->description, sizeof e->description, "%s", run->description);
    /* Runs come oldest first: the last one seen is the latest. */
    runinfo_free(e->latest);
    free(e->latest_charts);
    e->latest = run;
    e->latest_charts = charts;
    run = NULL;
    charts = NULL;
    s->result->runs++;
    rc = 0;
done:
    runevidence_free(evidence);
    free(charts);
    runinfo_free(run);
    return rc;
}

/* The trend charts of every scenario and the overhead bars, with one gnuplot. */
static int render_trends(struct state *s, char *err, size_t errlen)
{
    struct resultdb *db = s->db;
    struct gnuplot *gp = NULL;
    char dir[PATH_MAX], why[GNUPLOT_MAX_STDERR + 256];
    int rc, queued = 0;

    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", s->opt->out_dir, TRENDS_DIR) >= sizeof dir) {
        snprintf(err, errlen, "output folder path too long");
        return -1;
    }
    if (make_dirs(dir, err, errlen) < 0)
        return -1;
    if (s->have_gnuplot && !(gp = gnuplot_open(s->gnuplot_path, why, sizeof why))) {
        note_problem(s, "trends", why);
        snprintf(s->trends_problem, sizeof s->trends_problem, "%.1000s", why);
    }
    for (size_t i = 0; i < s->nscenarios && queued == 0; i++) {
        struct scenario_entry *e = &s->scenarios[i];
        /* The overhead study's runs are repeats of one build, compared side by side
         * in their own section rather than as a history. */
        if (is_overhead(e->name)) {
            memset(&e->trends, 0, sizeof e->trends);
            snprintf(e->trends.note, sizeof e->trends.note, "Part of the overhead study: see Instrumentation "
                     "overhead below.");
            continue;
        }
        queued = trends_scenario(db, e->name, gp, dir, TRENDS_DIR, e->slug, s->opt->png, &e->trends, err, errlen);
    }
    if (queued == 0 && s->overhead_wanted)
        queued = trends_overhead(db, gp, s->opt->out_dir, s->opt->png, &s->overhead, err, errlen);
    if (!gp)
        return queued;
    if (queued < 0 && !gnuplot_failed(gp)) {
        gnuplot_close(gp, why, sizeof why);
        return -1;  /* the database, not gnuplot */
    }
    rc = gnuplot_close(gp, why, sizeof why);
    if (rc < 0) {
        note_problem(s, "trends", why);
        snprintf(s->trends_problem, sizeof s->trends_problem, "%.1000s", why);
        for (size_t i = 0; i < s->nscenarios; i++)
            s->scenarios[i].trends.n = 0;
        s->overhead.charts.n = 0;
    } else if (rc == 1 && !s->result->warning[0]) {
        snprintf(s->result->warning, sizeof s->result->warning, "trends: %.900s", why);
    }
    for (size_t i = 0; i < s->nscenarios; i++)
        s->result->charts += s->scenarios[i].trends.n;
    s->result->charts += s->overhead.charts.n;
    return 0;
}

static size_t scenarios_off_expectation(const struct state *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nscenarios; i++)
        n += !runinfo_met(s->scenarios[i].latest);
    return n;
}

static void cell_number(FILE *f, double v, const char *fmt, double scale)
{
    fputs("<td class=\"num\">", f);
    if (isnan(v))
        fputs("-", f);
    else
        fprintf(f, fmt, v * scale);
    fputs("</td>", f);
}

/* What went wrong in a run, in one line: its status and reason, or its off gates,
 * each linked to the chart that shows it when that chart was drawn. */
static void write_run_problem(FILE *f, const struct runinfo *run, const struct runcharts *charts)
{
    char observed[64];
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
        html_escape(f, g->threshold_text);
        fputs(")", f);
    }
}

static void write_gate_table(FILE *f, const struct runinfo *run)
{
    char observed[64];
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
        html_escape(f, g->threshold_text);
        fputs("</td><td class=\"num\">", f);
        html_escape(f, runpage_format_observed(g, observed, sizeof observed));
        fputs("</td><td>", f);
        html_pill(f, html_outcome_class(g->outcome), g->outcome);
        fprintf(f, "</td><td>%s</td></tr>\n", runpage_expected(g));
    }
    fputs("</table>\n", f);
}

static void write_figures(FILE *f, const struct trends *t)
{
    fputs("<div class=\"charts\">\n", f);
    for (size_t i = 0; i < t->n; i++) {
        fputs("<figure><a href=\"", f);
        html_escape(f, t->charts[i].file);
        fputs("\"><img src=\"", f);
        html_escape(f, t->charts[i].file);
        fputs("\" alt=\"", f);
        html_escape(f, t->charts[i].title);
        fprintf(f, "\" width=\"%d\" height=\"%d\"></a><figcaption>", CHART_WIDTH, CHART_HEIGHT);
        html_escape(f, t->charts[i].caption);
        fputs("</figcaption></figure>\n", f);
    }
    fputs("</div>\n", f);
}

static void write_run_link(FILE *f, int64_t id)
{
    fprintf(f, "<a href=\"run-%lld/index.html\">run %lld</a>", (long long)id, (long long)id);
}

static void cell_diagnosis(FILE *f, const struct row *r)
{
    if (!r->diagnosed) {
        fputs("<td class=\"muted\">not diagnosed</td>", f);
        return;
    }
    fprintf(f, "<td><a href=\"run-%lld/index.html#diagnosis\">", (long long)r->id);
    html_escape(f, r->diagnosis);
    fputs("</a></td>", f);
}

/* The cells every runs table shares, from the run link to the gates off expectation
 * (the caller has opened the link's <td>). */
static void write_run_cells(FILE *f, const struct row *r)
{
    write_run_link(f, r->id);
    fputs("</td><td>", f);
    html_escape(f, r->label);
    fputs("</td><td>", f);
    html_escape(f, r->started_at);
    fputs("</td><td>", f);
    html_pill(f, r->css, r->outcome);
    fputs("</td>", f);
    cell_number(f, r->throughput, "%.0f", 1);
    cell_number(f, r->p99, "%.3gms", 1e3);
    cell_gates(f, r);
}

static void write_scenario(FILE *f, const struct state *s, const struct scenario_entry *e)
{
    const struct runinfo *run = e->latest;
    const char *css, *outcome = runpage_outcome(run, &css);
    bool diagnosed = false;

    /* The column only where some run has a verdict: a column of "not diagnosed"
     * says nothing. */
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
    if (e->trends.n) {
        fprintf(f, "<h3>Across the %zu completed runs in the database</h3>\n", e->trends.runs);
        write_figures(f, &e->trends);
    } else if (s->trends_problem[0] && e->trends.runs >= 2) {
        fputs("<p class=\"note\">Trend charts could not be drawn: ", f);
        html_escape(f, s->trends_problem);
        fputs("</p>\n", f);
    } else if (e->trends.note[0]) {
        fputs("<p class=\"muted small\">", f);
        html_escape(f, e->trends.note);
        fputs("</p>\n", f);
    }
    fprintf(f, "<details%s><summary>Runs in this report (%zu)</summary>\n", e->nrows <= 5 ? " open" : "", e->nrows);
    fputs("<table><tr><th>run</th><th>label</th><th>started (UTC)</th><th>outcome</th><th>req/s</th><th>p99</th>"
          "<th>gates off expectation</th>", f);
    fputs(diagnosed ? "<th>diagnosis</th></tr>\n" : "</tr>\n", f);
    for (size_t i = e->nrows; i-- > 0;) {
        const struct row *r = &e->rows[i];
        fputs("<tr><td>", f);
        write_run_cells(f, r);
        if (diagnosed)
            cell_diagnosis(f, r);
        fputs("</tr>\n", f);
    }
    fputs("</table></details>\n", f);
}

static void write_overhead(FILE *f, const struct state *s)
{
    const struct trends_overhead *o = &s->overhead;
    const struct trends_setting *base = o->n ? &o->settings[0] : NULL;

    fputs("<h2 id=\"overhead\">Instrumentation overhead</h2>\n", f);
    if (o->n == 0) {
        fputs("<p class=\"muted\">No completed run of an <span class=\"mono\">" TRENDS_OVERHEAD_PREFIX
              "&lt;setting&gt;</span> scenario in the database: the overhead comparison is drawn once the "
              "overhead study has run.</p>\n", f);
        return;
    }
    fprintf(f, "<p class=\"muted\">Every completed run of the " TRENDS_OVERHEAD_PREFIX "* scenarios, by setting, "
               "in the order the settings first ran; change is against <b>");
    html_escape(f, base->name);
    fputs("</b>.", f);
    if (o->labels > 1)
        fprintf(f, " <b>These runs come from %zu different labels (builds)</b>; compare with care.", o->labels);
    fputs("</p>\n<table><tr><th>setting</th><th>runs</th><th>median req/s</th><th>min..max</th><th>change</th>"
          "<th>median p99</th><th>min..max</th><th>change</th></tr>\n", f);
    for (size_t i = 0; i < o->n; i++) {
        const struct trends_setting *t = &o->settings[i];
        fputs("<tr><td class=\"mono\">", f);
        html_escape(f, t->name);
        fprintf(f, "</td><td class=\"num\">%zu</td>", t->runs);
        cell_number(f, t->throughput_median, "%.0f", 1);
        fprintf(f, "<td class=\"num\">%.0f..%.0f</td>", t->throughput_min, t->throughput_max);
        if (i == 0)
            fputs("<td>reference</td>", f);
        else
            cell_number(f, t->throughput_median / base->throughput_median - 1, "%+.1f%%", 100);
        cell_number(f, t->p99_median, "%.3gms", 1e3);
        if (isnan(t->p99_min))
            fputs("<td class=\"num\">-</td>", f);
        else
            fprintf(f, "<td class=\"num\">%.3g..%.3gms</td>", t->p99_min * 1e3, t->p99_max * 1e3);
        if (i == 0)
            fputs("<td>reference</td>", f);
        else
            cell_number(f, t->p99_median / base->p99_median - 1, "%+.1f%%", 100);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    if (o->charts.n)
        write_figures(f, &o->charts);
    else if (s->trends_problem[0] || !s->have_gnuplot)
        fputs("<p class=\"note\">The overhead charts could not be drawn (see above).</p>\n", f);
}

static int write_index(struct state *s, char *err, size_t errlen)
{
    FILE *f = fopen(s->result->index_path, "w");
    size_t off = scenarios_off_expectation(s);

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
            const struct scenario_entry *e = &s->scenarios[i];
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
    fputs("<table><tr><th>scenario</th><th>latest</th><th>label</th><th>started (UTC)</th><th>outcome</th>"
          "<th>req/s</th><th>p99</th><th>gates off expectation</th></tr>\n", f);
    for (size_t i = 0; i < s->nscenarios; i++) {
        const struct scenario_entry *e = &s->scenarios[i];
        const struct row *r = &e->rows[e->nrows - 1];
        fprintf(f, "<tr%s><td><a href=\"#s-", runinfo_met(e->latest) ? "" : " class=\"bad\"");
        html_escape(f, e->slug);
        fputs("\">", f);
        html_escape(f, e->name);
        fputs("</a></td><td>", f);
        write_run_cells(f, r);
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

/* Markdown table cell text: pipes escaped (GitHub tables), < > & as entities. */
static void md_escape(FILE *f, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '|': fputs("\\|", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '\n': case '\r': case '\t': fputc(' ', f); break;
        default: fputc(*p, f);
        }
    }
}

static int write_summary(struct state *s, char *err, size_t errlen)
{
    FILE *f = fopen(s->result->summary_path, "w");
    size_t off = scenarios_off_expectation(s), unjudged = 0;
    char observed[64];

    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", s->result->summary_path, strerror(errno));
        return -1;
    }
    if (off)
        fprintf(f, "## loadlab: %zu of %zu scenarios did not meet expectations\n\n", off, s->nscenarios);
    else
        fprintf(f, "## loadlab: all %zu scenarios met expectations\n\n", s->nscenarios);
    fputs("| scenario | run | gate | threshold | observed | result | expected to |\n"
          "|---|---:|---|---:|---:|---|---|\n", f);
    for (size_t i = 0; i < s->nscenarios; i++) {
        const struct runinfo *run = s->scenarios[i].latest;
        if (!run->gates_judged) {
            unjudged++;
            continue;
        }
        for (size_t k = 0; k < run->ngates; k++) {
            const struct runinfo_gate *g = &run->gates[k];
            bool bad = !verdict_met(verdict_outcome(g->passed, g->expected_to_fail));
            fputs("| ", f);
            md_escape(f, run->scenario);
            fprintf(f, " | %lld | `", (long long)run->id);
            md_escape(f, g->name);
            fputs("` | ", f);
            md_escape(f, g->threshold_text);
            fputs(" | ", f);
            md_escape(f, runpage_format_observed(g, observed, sizeof observed));
            fputs(bad ? " | **" : " | ", f);
            md_escape(f, g->outcome);
            fprintf(f, "%s | %s |\n", bad ? "**" : "", runpage_expected(g));
        }
    }
    if (unjudged) {
        fputs("\nNot judged:\n\n", f);
        for (size_t i = 0; i < s->nscenarios; i++) {
            const struct runinfo *run = s->scenarios[i].latest;
            const char *css;
            if (run->gates_judged)
                continue;
            fputs("- **", f);
            md_escape(f, run->scenario);
            fprintf(f, "** run %lld: %s", (long long)run->id, runpage_outcome(run, &css));
            if (run->exit_reason[0]) {
                fputs(": ", f);
                md_escape(f, run->exit_reason);
            }
            fputs("\n", f);
        }
    }
    if (s->result->charts_missing) {
        fputs("\nCharts missing: ", f);
        md_escape(f, s->result->chart_problem);
        fputs("\n", f);
    }
    fputs("\nCharts and details: `", f);
    md_escape(f, s->result->index_path);
    fputs("`\n", f);
    if (ferror(f) | fclose(f)) {
        snprintf(err, errlen, "cannot write %s: %s", s->result->summary_path, strerror(errno));
        return -1;
    }
    return 0;
}

static bool wants_overhead(const struct report_options *opt, const struct state *s)
{
    if (opt->nselect == 0)
        return true;
    for (size_t i = 0; i < s->nscenarios; i++)
        if (is_overhead(s->scenarios[i].name))
            return true;
    return false;
}

int report_render(struct resultdb *db, const struct report_options *opt, struct report_result *result,
                  char *err, size_t errlen)
{
    struct state s = {.db = db, .opt = opt, .result = result};
    int64_t *ids = NULL;
    size_t nids = 0;
    time_t now = time(NULL);
    struct tm tm;
    char why[PATH_MAX + 200];
    int rc;

    memset(result, 0, sizeof *result);
    rc = runinfo_select(db, opt->select, opt->nselect, &ids, &nids, err, errlen);
    if (rc != 0)
        return rc;
    rc = -1;
    if ((size_t)snprintf(result->index_path, sizeof result->index_path, "%s/index.html", opt->out_dir) >=
            sizeof result->index_path ||
        (size_t)snprintf(result->summary_path, sizeof result->summary_path, "%s/summary.md", opt->out_dir) >=
            sizeof result->summary_path) {
        snprintf(err, errlen, "output folder path too long");
        goto done;
    }
    if (make_dirs(opt->out_dir, err, errlen) < 0)
        goto done;
    strftime(s.generated, sizeof s.generated, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&now, &tm));
    snprintf(s.footer, sizeof s.footer, "Generated %s by loadlab report from %s. Regenerate: loadlab report --db %s "
             "--out %s", s.generated, opt->db_path, opt->db_path, opt->out_dir);
    s.have_gnuplot = gnuplot_find(s.gnuplot_path, sizeof s.gnuplot_path, why, sizeof why) == 0;
    if (!s.have_gnuplot) {
        result->charts_missing = true;
        snprintf(result->chart_problem, sizeof result->chart_problem, "%.1000s", why);
    }
    for (size_t i = 0; i < nids; i++)
        if (render_run(&s, ids[i], err, errlen) < 0)
            goto done;
    s.overhead_wanted = wants_overhead(opt, &s);
    if (render_trends(&s, err, errlen) < 0 || write_index(&s, err, errlen) < 0 || write_summary(&s, err, errlen) < 0)
        goto done;
    result->scenarios = s.nscenarios;
    rc = 0;
done:
    for (size_t i = 0; i < s.nscenarios; i++) {
        runinfo_free(s.scenarios[i].latest);
        free(s.scenarios[i].latest_charts);
        free(s.scenarios[i].rows);
    }
    free(s.scenarios);
    free(ids);
    return rc;
}
