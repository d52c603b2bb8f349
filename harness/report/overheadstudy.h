/* overheadstudy: the overhead study's figures as ratios to `off` with their intervals,
 * for the report's Instrumentation overhead section — one chart per figure (settings
 * on the x axis, each ratio with its interval as an error bar, a line at 1.0) and the
 * rows of the table beside it (ratio, interval, its confidence level, pairs or rounds,
 * the verdict in words).
 *
 * `make overhead` (scripts/overhead.sh) labels its runs after one study label L: the
 * exact pass's cost runs L-<setting> (their `figures.instructions_per_request`, one
 * run a round), and the wall-clock pass's interleaved comparisons candidate
 * L-<setting> against baseline L-off-vs-<setting> (their verdicts in `regressions`,
 * method `interleaved`). The report shows the latest such study: the latest L with a
 * completed run L-off. Its two passes are shown as they are stored:
 *  - interleaved: each gate's stored ratio (setting / off), its Hodges-Lehmann
 *    interval at the stored confidence, the pairs and the verdict;
 *  - exact: per cost scenario, the median instructions per request of the setting's
 *    rounds over off's median, and as its range the lowest of the setting's rounds
 *    over off's highest to its highest over off's lowest (no confidence level: an
 *    exact count's range is its whole spread). Counts of different counters are
 *    never compared. */
#ifndef LOADLAB_OVERHEADSTUDY_H
#define LOADLAB_OVERHEADSTUDY_H

#include <stdbool.h>
#include <stddef.h>

#include "report/gnuplot.h"
#include "store/resultdb.h"

#define OVERHEADSTUDY_MAX_SETTINGS 32
#define OVERHEADSTUDY_MAX_FIGURES 8
#define OVERHEADSTUDY_REFERENCE "off"
#define OVERHEADSTUDY_LABEL_PREFIX "overhead-"

enum overheadstudy_tone {
    OVERHEADSTUDY_NEUTRAL,     /* within the gate, or no measurable change */
    OVERHEADSTUDY_COSTS,       /* costs more than the gate allows, or beyond the spread */
    OVERHEADSTUDY_UNDECIDED    /* inconclusive, or nothing to judge */
};

/* One setting's ratio to off in one figure. Numbers are NaN when not computable. */
struct overheadstudy_ratio {
    bool present;
    double ratio, lo, hi;
    double confidence;         /* of lo..hi, 0..1 (interleaved); NaN: a range of rounds */
    size_t n;                  /* pairs (interleaved) or the setting's rounds (exact) */
    size_t nref;               /* exact: off's rounds */
    char interval[160];        /* lo..hi in words, or why there is none */
    char level[96];            /* "90%", "range of 3 rounds (off: 3)" */
    char verdict[400];         /* in words, never "nan" */
    enum overheadstudy_tone tone;
};

struct overheadstudy_figure {
    char key[128];             /* the gate ("regression.throughput") or the cost scenario */
    char title[160];
    char what[160];            /* the figure in words */
    bool exact;
    char counter[32];          /* exact: the counter, "" for the wall-clock figures */
    double limit;              /* the gate's ratio limit (0.95, 1.10); NaN: none */
    char limit_text[48];       /* "-5%" */
    struct overheadstudy_ratio r[OVERHEADSTUDY_MAX_SETTINGS];
    char chart[256];           /* relative to the report folder; "" when not drawn */
    char caption[400];
};

struct overheadstudy {
    char label[256];           /* the study's label L; "" when the database holds none */
    char settings[OVERHEADSTUDY_MAX_SETTINGS][64];   /* off first, then as they ran */
    size_t nsettings;
    struct overheadstudy_figure figures[OVERHEADSTUDY_MAX_FIGURES];
    size_t nfigures;           /* the interleaved gates first, then the exact figures */
    size_t charts;             /* figures with a chart */
};

/* Fills *out from the latest study in db (label "" when none) and queues one chart a
 * figure into gp (NULL: compute, draw nothing) as dir/overhead-ratio-N.svg (a PNG
 * beside it when png). Returns 0, or -1 with err filled on a database error or when
 * gnuplot has failed. */
int overheadstudy_load(struct resultdb *db, struct gnuplot *gp, const char *dir, bool png,
                       struct overheadstudy *out, char *err, size_t errlen);

/* Forgets the charts (gnuplot failed after they were queued). */
void overheadstudy_drop_charts(struct overheadstudy *s);

#endif
