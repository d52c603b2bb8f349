/* report, internal: what the report's builder (report.c) gathers and its writers
 * (report_index.c, report_markdown.c) read. Not for use outside report/report*. */
#ifndef LOADLAB_REPORT_BUILD_H
#define LOADLAB_REPORT_BUILD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/overheadstudy.h"
#include "report/report.h"
#include "report/runcharts.h"
#include "report/runinfo.h"
#include "report/trends.h"

#define REPORT_SLUG_MAX 80

/* What the index lists about a run it does not keep in full. */
struct report_row {
    int64_t id;
    char label[256], started_at[40], outcome[40], css[16];
    double throughput, p99;
    size_t ngates, against;
    bool judged;
    bool diagnosed;               /* the diagnoses table has rows for it */
    char diagnosis[512];          /* "class in culprit; ...", or "no problem found" */
};

struct report_scenario {
    char name[128];
    char slug[REPORT_SLUG_MAX + 16];
    char description[RUNINFO_MAX_TEXT];
    struct runinfo *latest;       /* owned */
    struct runcharts *latest_charts;  /* what was drawn of it; owned */
    struct report_row *rows;
    size_t nrows;
    struct trends trends;
};

struct report_state {
    struct resultdb *db;
    const struct report_options *opt;
    struct report_result *result;
    struct report_scenario *scenarios;
    size_t nscenarios;
    struct trends_overhead overhead;
    struct overheadstudy *study;  /* the latest overhead study (label "" when none); owned */
    bool overhead_wanted;
    char gnuplot_path[PATH_MAX];
    bool have_gnuplot;
    char trends_problem[1024];
    char generated[40];
    char footer[PATH_MAX + 200];
};

/* Whether a scenario belongs to the overhead study (its runs get the overhead bars). */
bool report_is_overhead(const char *scenario);

/* Scenarios whose latest run did not meet its expectations. */
size_t report_scenarios_off_expectation(const struct report_state *s);

/* Writes OUT/index.html. Returns 0, or -1 with err filled. */
int report_write_index(struct report_state *s, char *err, size_t errlen);

/* Writes OUT/summary.md, the Markdown verdict table. Returns 0, or -1 with err filled. */
int report_write_summary(struct report_state *s, char *err, size_t errlen);

#endif
