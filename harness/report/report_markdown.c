/* report, Markdown: the report's summary.md — one verdict table for a CI job's
 * summary or a pull request. Part of the report module (report.h). */
#include "report/report_build.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge/verdict.h"
#include "report/chart.h"
#include "report/html.h"
#include "report/runpage.h"

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

/* One line counting the latest runs' regression verdicts, when there are any. */
static void write_regression_counts(FILE *f, const struct report_state *s)
{
    size_t count[4] = {0}, total = 0;
    for (size_t i = 0; i < s->nscenarios; i++)
        for (size_t k = 0; k < s->scenarios[i].latest->nregressions; k++, total++)
            count[s->scenarios[i].latest->regressions[k].verdict]++;
    if (total)
        fprintf(f, "Regression gates: %s%zu regression%s%s, %zu inconclusive, %zu no regression, %zu error%s "
                "(table below).\n\n", count[REGRESSION_FAIL] ? "**" : "", count[REGRESSION_FAIL],
                count[REGRESSION_FAIL] == 1 ? "" : "s", count[REGRESSION_FAIL] ? "**" : "",
                count[REGRESSION_INCONCLUSIVE], count[REGRESSION_PASS], count[REGRESSION_ERROR],
                count[REGRESSION_ERROR] == 1 ? "" : "s");
}

/* The latest runs' regression verdicts, inconclusive ones with why. */
static void write_regressions(FILE *f, const struct report_state *s)
{
    static const char *const words[] = {"no regression", "**regression**", "inconclusive", "**error**"};
    char base[48], cand[48], numbers[200];
    bool any = false;

    for (size_t i = 0; i < s->nscenarios; i++) {
        const struct runinfo *run = s->scenarios[i].latest;
        for (size_t k = 0; k < run->nregressions; k++) {
            const struct regression_result *r = &run->regressions[k];
            if (!any)
                fputs("\n### Regression verdicts\n\n"
                      "| scenario | gate | change | baseline | candidate | ratio | method | verdict | why |\n"
                      "|---|---|---:|---:|---:|---|---|---|---|\n", f);
            any = true;
            fputs("| ", f);
            md_escape(f, r->scenario);
            fputs(" | `", f);
            md_escape(f, r->spec.name);
            fputs("` | ", f);
            md_escape(f, gate_format_threshold(&r->spec, numbers, sizeof numbers));
            fputs(" | ", f);
            md_escape(f, r->baseline_label);
            fputs(" ", f);
            md_escape(f, gate_format_observed(&r->spec, r->baseline_median, base, sizeof base));
            fputs(" | ", f);
            md_escape(f, r->candidate_label);
            fputs(" ", f);
            md_escape(f, gate_format_observed(&r->spec, r->candidate_median, cand, sizeof cand));
            fputs(" | ", f);
            md_escape(f, regression_format_numbers(r, numbers, sizeof numbers));
            fprintf(f, " | %s | %s | ", r->method == REGRESSION_METHOD_INTERLEAVED ? "interleaved pairs" : "whole runs",
                    words[r->verdict]);
            md_escape(f, r->detail);
            fputs(" |\n", f);
        }
    }
}

int report_write_summary(struct report_state *s, char *err, size_t errlen)
{
    FILE *f = fopen(s->result->summary_path, "w");
    size_t off = report_scenarios_off_expectation(s), unjudged = 0;
    char observed[64], threshold[GATE_MAX_THRESHOLD_TEXT + 32];

    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", s->result->summary_path, strerror(errno));
        return -1;
    }
    if (off)
        fprintf(f, "## loadlab: %zu of %zu scenarios did not meet expectations\n\n", off, s->nscenarios);
    else
        fprintf(f, "## loadlab: all %zu scenarios met expectations\n\n", s->nscenarios);
    write_regression_counts(f, s);
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
            md_escape(f, runpage_format_threshold(g, threshold, sizeof threshold));
            fputs(" | ", f);
            md_escape(f, runpage_format_observed(g, observed, sizeof observed));
            if (g->instances) {
                fprintf(f, " (worst of %d: ", g->instances);
                md_escape(f, g->instance);
                fputs(")", f);
            }
            fputs(bad ? " | **" : " | ", f);
            md_escape(f, g->outcome);
            fprintf(f, "%s | %s |\n", bad ? "**" : "", runpage_expected(g));
        }
    }
    write_regressions(f, s);
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
