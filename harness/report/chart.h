/* chart: one chart described in data (lines, thresholds, shaded intervals), written
 * out as gnuplot commands with inline data blocks.
 *
 * The report decides what to draw; this module decides how, so every chart in a
 * report looks alike: the same size, fonts, colours, legend below the plot, dashed
 * red gate thresholds, translucent fault intervals with their name above the plot
 * area (never over the data), tics in whole numbers on counting axes and engineering
 * units (k, M) on large ones. Axis
 * ranges are computed here rather than left to gnuplot's autoscale, so that a flat
 * line or a threshold far from the data never produces a gnuplot warning, and every
 * threshold stays in view.
 *
 * One gnuplot plot element (one `<g id="gnuplot_plot_N">` in the SVG) is drawn per
 * series, threshold and segment added; shaded bands are background objects. */
#ifndef LOADLAB_CHART_H
#define LOADLAB_CHART_H

#include <stdbool.h>
#include <stddef.h>

#include "report/gnuplot.h"

#define CHART_MAX_SERIES 32
#define CHART_MAX_BANDS 32
#define CHART_MAX_POINTS 1000000
#define CHART_MAX_TEXT 160
#define CHART_MAX_XTICS 200

/* Pixel size of every chart; pages lay them out two to a row. */
#define CHART_WIDTH 760
#define CHART_HEIGHT 420

enum chart_style {
    CHART_LINES,        /* a line through the points */
    CHART_STEPS,        /* a step line (a level that holds until the next sample) */
    CHART_LINESPOINTS,  /* line with a marker on each point (few points: trends) */
    CHART_POINTS,       /* markers only (e.g. runs whose gate failed) */
    CHART_BARS,         /* boxes at each x with a low..high error bar (needs ranges) */
    CHART_ERRORBARS     /* a point at each x with a low..high error bar (needs ranges):
                         * a ratio and its interval, where a box from zero would mislead */
};

enum chart_dash {
    CHART_SOLID,
    CHART_DASHED,       /* gate thresholds and limits */
    CHART_DOTTED        /* fitted trends, drawn over the data without hiding it */
};

/* Colours, for series that mean the same thing on every chart. */
#define CHART_RED "#c0392b"      /* gate thresholds and failures */
#define CHART_GREY "#7f7f7f"     /* capacity, references */

struct chart;

/* A new empty chart. Returns NULL when out of memory. Text is copied (truncated at
 * CHART_MAX_TEXT - 1 bytes). */
struct chart *chart_new(const char *title, const char *xlabel, const char *ylabel);
void chart_free(struct chart *c);

/* The x range (a time chart's whole run, so charts of one run line up). */
void chart_set_x_range(struct chart *c, double lo, double hi);
/* Start the y axis at zero (counts, rates). */
void chart_set_y_from_zero(struct chart *c, bool from_zero);
/* Logarithmic y axis (latencies spanning decades); points <= 0 are left out. */
void chart_set_log_y(struct chart *c, bool log_y);
/* The y axis counts whole things (threads, descriptors, queued jobs): whole-number
 * tics only. */
void chart_set_y_integer(struct chart *c, bool integer);

/* Adds a series; color NULL picks the next palette colour. Points with a NaN are left
 * out. ylo/yhi (both or neither) give CHART_BARS and CHART_ERRORBARS their error bars. Copies the data.
 * Returns 0, or -1 when out of memory, past CHART_MAX_SERIES or CHART_MAX_POINTS. */
int chart_add_series(struct chart *c, const char *title, enum chart_style style, const char *color,
                     const double *x, const double *y, const double *ylo, const double *yhi, size_t n);

/* A horizontal dashed threshold across the chart, in the legend as title.
 * Returns 0, or -1 past CHART_MAX_SERIES. */
int chart_add_hline(struct chart *c, const char *title, double y, const char *color);

/* A straight segment from (x0,y0) to (x1,y1) (a growth limit, a fitted trend, a
 * figure that holds over an interval). Returns 0, or -1 past CHART_MAX_SERIES. */
int chart_add_segment(struct chart *c, const char *title, double x0, double y0, double x1, double y1,
                      const char *color, enum chart_dash dash);

/* A shaded x interval (a fault that was on, the warmup) with its label at the top
 * (label may be NULL). Returns 0, or -1 past CHART_MAX_BANDS. */
int chart_add_xband(struct chart *c, double x0, double x1, const char *label, const char *color);

/* A shaded y interval (where a gate fails); ±INFINITY reaches the chart's edge.
 * Returns 0, or -1 past CHART_MAX_BANDS. */
int chart_add_yband(struct chart *c, double y0, double y1, const char *label, const char *color);

/* Names x positions (runs, settings) instead of numbering them. Copies the labels.
 * Returns 0, or -1 when out of memory or past CHART_MAX_XTICS. */
int chart_set_xtics(struct chart *c, const double *x, const char *const *labels, size_t n);

/* Plot elements the chart will draw (series, thresholds, segments). */
size_t chart_plot_count(const struct chart *c);

/* True when some series has a point to draw. */
bool chart_has_data(const struct chart *c);

/* Queues the commands that draw c into svg_path (and png_path, unless NULL).
 * Returns 0, -1 with err filled when there is nothing to draw (callers leave such
 * charts out), or -1 when gnuplot has failed (the reason comes from gnuplot_close). */
int chart_emit(const struct chart *c, struct gnuplot *gp, const char *svg_path, const char *png_path,
               char *err, size_t errlen);

#endif
