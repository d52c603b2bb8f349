/* trends: charts across runs — per scenario, throughput, p99 and thread growth of
 * every completed run in time order with the gate's failing side shaded, so a
 * regression shows as a step; and the overhead study's whole runs (OVERHEAD_ROUNDS),
 * throughput and p99 per instrumentation setting with the spread of the repeated
 * runs (the study's paired and exact passes are report/overheadstudy's).
 *
 * Trends read the whole database, not only the runs a report was asked for: a run
 * is judged against its history. The overhead chart follows the overhead study's
 * naming contract: every completed run of a scenario named `overhead-<setting>`,
 * grouped by setting in the order the settings first appear, median and min..max of
 * wrk's measured throughput and p99 per setting. */
#ifndef LOADLAB_TRENDS_H
#define LOADLAB_TRENDS_H

#include <stdbool.h>
#include <stddef.h>

#include "report/gnuplot.h"
#include "store/resultdb.h"

#define TRENDS_MAX_CHARTS 4
#define TRENDS_MAX_RUNS 2000          /* the latest this many runs of a scenario */
#define TRENDS_MAX_SETTINGS 64
#define TRENDS_OVERHEAD_PREFIX "overhead-"

struct trends_chart {
    char file[256];                   /* relative to the report folder */
    char title[160];
    char caption[512];
};

struct trends {
    struct trends_chart charts[TRENDS_MAX_CHARTS];
    size_t n;
    size_t runs;                      /* completed runs the trends cover */
    char note[256];                   /* why there is no trend, when there is none */
};

struct trends_setting {
    char name[128];                   /* "off", "profile", "fraction-1" */
    size_t runs;
    double throughput_median, throughput_min, throughput_max;   /* requests/s */
    double p99_median, p99_min, p99_max;                        /* seconds; NaN when none */
};

struct trends_overhead {
    struct trends_setting settings[TRENDS_MAX_SETTINGS];
    size_t n;
    size_t labels;                    /* distinct run labels among the runs */
    struct trends charts;
};

/* Queues the trend charts of scenario into gp (NULL: compute, draw nothing) as
 * dir/STEM-throughput.svg, -p99.svg, -threads.svg (PNG beside them when png), where
 * dir is relative to the working directory and the files listed in *out relative to
 * rel_dir. Fewer than two completed runs give no chart and a note. Returns 0, or -1
 * with err filled on a database error or when gnuplot has failed. */
int trends_scenario(struct resultdb *db, const char *scenario, struct gnuplot *gp, const char *dir,
                    const char *rel_dir, const char *stem, bool png, struct trends *out,
                    char *err, size_t errlen);

/* The overhead study: fills *out (n = 0 when the database holds no overhead run) and
 * queues its two bar charts into gp (unless NULL) as dir/overhead-throughput.svg and
 * dir/overhead-p99.svg. Returns 0, or -1 with err filled. */
int trends_overhead(struct resultdb *db, struct gnuplot *gp, const char *dir, bool png, struct trends_overhead *out,
                    char *err, size_t errlen);

#endif
