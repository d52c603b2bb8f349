/* report: `loadlab report` — turns the results database into a folder a person can
 * open: index.html (every scenario, its latest verdicts, its trends, the overhead
 * study as ratios to off with their intervals, report/overheadstudy), one page per run with its diagnosis, evidence and charts
 * (run-ID/index.html), and summary.md (the verdict table in Markdown, for a CI job
 * summary).
 *
 *   OUT/index.html  OUT/summary.md  OUT/run-ID/index.html  OUT/run-ID/CHART.svg
 *   OUT/run-ID/evidence/ID-KIND.txt  OUT/trends/SCENARIO-CHART.svg  OUT/overhead-CHART.svg
 *   OUT/overhead-ratio-N.svg
 *
 * gnuplot draws the charts: one process per run (a run whose charts fail does not
 * take the others with it) and one for the trends. Without gnuplot the pages are
 * still written, with a note where the charts would be, and the caller is told, so
 * a CI job still gets its verdict tables. Files are rewritten in place; nothing else
 * in OUT is touched. */
#ifndef LOADLAB_REPORT_H
#define LOADLAB_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "store/resultdb.h"

#define REPORT_MAX_SCENARIOS 1024

struct report_options {
    const char *db_path;          /* named in the pages */
    const char *out_dir;
    char *const *select;          /* run ids or scenario names; none: every run */
    size_t nselect;
    bool png;                     /* a PNG beside every SVG */
};

struct report_result {
    size_t runs, scenarios, charts;
    bool charts_missing;          /* some chart could not be drawn (see chart_problem) */
    char chart_problem[1024];     /* the first reason */
    char warning[1024];           /* gnuplot's first warning on otherwise drawn charts */
    char index_path[4096], summary_path[4096];
};

/* Renders the report of the selected runs into opt->out_dir (created if missing).
 * Returns 0 (see result->charts_missing for charts that could not be drawn); 1 when
 * the selection names nothing or the database holds no run (err says which); -1 with
 * err filled when the report cannot be written or the database read. */
int report_render(struct resultdb *db, const struct report_options *opt, struct report_result *result,
                  char *err, size_t errlen);

#endif
