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

int report_write_summary(struct report_state *s, char *err, size_t errlen)
{
    FILE *f = fopen(s->result->summary_path, "w");
    size_t off = report_scenarios_off_expectation(s), unjudged = 0;
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
