/* report: the report folder. See report.h.
 *
 * This file gathers the runs, draws their charts and the trends, and owns the
 * report's folder; the pages are written by report_index.c (index.html) and
 * report_markdown.c (summary.md) from the state they share (report_build.h). */
#include "report/report.h"
#include "report/report_build.h"
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

bool report_is_overhead(const char *scenario)
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
static void make_slug(const struct report_state *s, const char *name, char *out, size_t outlen)
{
    char base[REPORT_SLUG_MAX + 1];
    size_t k = 0;
    bool taken;
    int n = 1;

    for (const char *p = name; *p && k < REPORT_SLUG_MAX; p++) {
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

static struct report_scenario *scenario_for(struct report_state *s, const struct runinfo *run, char *err, size_t errlen)
{
    struct report_scenario *grown, *e;
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

static void note_problem(struct report_state *s, const char *what, const char *problem)
{
    if (s->result->charts_missing)
        return;
    s->result->charts_missing = true;
    snprintf(s->result->chart_problem, sizeof s->result->chart_problem, "%s: %.900s", what, problem);
}

/* Draws one run's charts with a gnuplot of its own. On failure, problem says why
 * and charts is emptied (the files gnuplot managed are not trusted). */
static int draw_run(struct report_state *s, const struct runinfo *run, const char *dir, struct runcharts *charts,
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
    queued = runcharts_queue(s->db, run, gp, dir, s->opt->png, charts, err, errlen);
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
            used += (size_t)snprintf(out + used, outlen - used, "%s%s%s%s%s%s", used ? "; " : "", d->class_name,
                                     d->culprit[0] ? " in " : "", d->culprit, d->instance[0] ? " on " : "",
                                     d->instance);
    }
}

static void row_from(struct report_row *r, const struct runinfo *run)
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

static int render_run(struct report_state *s, int64_t id, char *err, size_t errlen)
{
    struct runinfo *run;
    struct runcharts *charts = NULL;
    struct runevidence *evidence = NULL;
    struct report_scenario *e;
    struct report_row *grown;
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
static int render_trends(struct report_state *s, char *err, size_t errlen)
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
        struct report_scenario *e = &s->scenarios[i];
        /* The overhead study's runs are repeats of one build, compared side by side
         * in their own section rather than as a history. */
        if (report_is_overhead(e->name)) {
            memset(&e->trends, 0, sizeof e->trends);
            snprintf(e->trends.note, sizeof e->trends.note, "Part of the overhead study: see Instrumentation "
                     "overhead below.");
            continue;
        }
        queued = trends_scenario(db, e->name, gp, dir, TRENDS_DIR, e->slug, s->opt->png, &e->trends, err, errlen);
    }
    if (queued == 0 && s->overhead_wanted)
        queued = trends_overhead(db, gp, s->opt->out_dir, s->opt->png, &s->overhead, err, errlen);
    if (queued == 0 && s->overhead_wanted)
        queued = overheadstudy_load(db, gp, s->opt->out_dir, s->opt->png, s->study, err, errlen);
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
        overheadstudy_drop_charts(s->study);
    } else if (rc == 1 && !s->result->warning[0]) {
        snprintf(s->result->warning, sizeof s->result->warning, "trends: %.900s", why);
    }
    for (size_t i = 0; i < s->nscenarios; i++)
        s->result->charts += s->scenarios[i].trends.n;
    s->result->charts += s->overhead.charts.n + s->study->charts;
    return 0;
}

/* Every report but one of selected runs none of which belongs to the overhead study
 * (a scenario overhead-<setting>, or a run labelled as the study labels its runs). */
static bool wants_overhead(const struct report_options *opt, const struct report_state *s)
{
    if (opt->nselect == 0)
        return true;
    for (size_t i = 0; i < s->nscenarios; i++) {
        if (report_is_overhead(s->scenarios[i].name))
            return true;
        for (size_t k = 0; k < s->scenarios[i].nrows; k++)
            if (strncmp(s->scenarios[i].rows[k].label, OVERHEADSTUDY_LABEL_PREFIX,
                        strlen(OVERHEADSTUDY_LABEL_PREFIX)) == 0)
                return true;
    }
    return false;
}

int report_render(struct resultdb *db, const struct report_options *opt, struct report_result *result,
                  char *err, size_t errlen)
{
    struct report_state s = {.db = db, .opt = opt, .result = result};
    int64_t *ids = NULL;
    size_t nids = 0;
    time_t now = time(NULL);
    struct tm tm;
    char why[PATH_MAX + 200];
    int rc;

    memset(result, 0, sizeof *result);
    s.study = calloc(1, sizeof *s.study);
    if (!s.study) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = runinfo_select(db, opt->select, opt->nselect, &ids, &nids, err, errlen);
    if (rc != 0) {
        free(s.study);
        return rc;
    }
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
    if (render_trends(&s, err, errlen) < 0 || report_write_index(&s, err, errlen) < 0 || report_write_summary(&s, err, errlen) < 0)
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
    free(s.study);
    free(ids);
    return rc;
}
