/* chart: charts described in data and drawn by gnuplot. See chart.h.
 *
 * Colours follow the Okabe-Ito palette (distinguishable with the common colour
 * vision deficiencies); red is kept for gate thresholds and failures. */
#include "report/chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/charttics.h"

enum plot_kind { PLOT_SERIES, PLOT_HLINE, PLOT_SEGMENT };

struct plot {
    enum plot_kind kind;
    enum chart_style style;
    char title[CHART_MAX_TEXT];
    char color[16];
    enum chart_dash dash;
    double *x, *y, *ylo, *yhi;  /* PLOT_SERIES and PLOT_SEGMENT (two points); owned */
    size_t n;
    double level;               /* PLOT_HLINE */
};

struct band {
    bool vertical;              /* an x interval (fault, warmup); else a y interval */
    double lo, hi;
    char label[CHART_MAX_TEXT];
    char color[16];
};

struct chart {
    char title[CHART_MAX_TEXT], xlabel[CHART_MAX_TEXT], ylabel[CHART_MAX_TEXT];
    bool have_x_range, from_zero, log_y, y_integer;
    double x_lo, x_hi;
    struct plot plots[CHART_MAX_SERIES];
    size_t nplots, palette_next;
    struct band bands[CHART_MAX_BANDS];
    size_t nbands;
    double *tic_x;
    char **tic_label;
    size_t ntics;
};

static const char *const palette[] = {
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#8c6d31", "#444444",
};

static void copy_text(char *dst, size_t dstlen, const char *src)
{
    snprintf(dst, dstlen, "%s", src ? src : "");
}

struct chart *chart_new(const char *title, const char *xlabel, const char *ylabel)
{
    struct chart *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    copy_text(c->title, sizeof c->title, title);
    copy_text(c->xlabel, sizeof c->xlabel, xlabel);
    copy_text(c->ylabel, sizeof c->ylabel, ylabel);
    return c;
}

void chart_free(struct chart *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nplots; i++) {
        free(c->plots[i].x);
        free(c->plots[i].y);
        free(c->plots[i].ylo);
        free(c->plots[i].yhi);
    }
    for (size_t i = 0; i < c->ntics; i++)
        free(c->tic_label[i]);
    free(c->tic_label);
    free(c->tic_x);
    free(c);
}

void chart_set_x_range(struct chart *c, double lo, double hi)
{
    c->have_x_range = hi > lo;
    c->x_lo = lo;
    c->x_hi = hi;
}

void chart_set_y_from_zero(struct chart *c, bool from_zero)
{
    c->from_zero = from_zero;
}

void chart_set_log_y(struct chart *c, bool log_y)
{
    c->log_y = log_y;
}

void chart_set_y_integer(struct chart *c, bool integer)
{
    c->y_integer = integer;
}

static struct plot *new_plot(struct chart *c, enum plot_kind kind, const char *title, const char *color)
{
    struct plot *p;
    if (c->nplots >= CHART_MAX_SERIES)
        return NULL;
    p = &c->plots[c->nplots];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    copy_text(p->title, sizeof p->title, title);
    copy_text(p->color, sizeof p->color, color ? color : palette[c->palette_next++ % (sizeof palette / sizeof palette[0])]);
    return p;
}

int chart_add_series(struct chart *c, const char *title, enum chart_style style, const char *color,
                     const double *x, const double *y, const double *ylo, const double *yhi, size_t n)
{
    struct plot *p;
    size_t k = 0;

    if (n > CHART_MAX_POINTS || ((style == CHART_BARS || style == CHART_ERRORBARS) && (!ylo || !yhi)))
        return -1;
    p = new_plot(c, PLOT_SERIES, title, color);
    if (!p)
        return -1;
    p->style = style;
    p->x = malloc((n ? n : 1) * sizeof *p->x);
    p->y = malloc((n ? n : 1) * sizeof *p->y);
    if (ylo && yhi) {
        p->ylo = malloc((n ? n : 1) * sizeof *p->ylo);
        p->yhi = malloc((n ? n : 1) * sizeof *p->yhi);
    }
    if (!p->x || !p->y || (ylo && yhi && (!p->ylo || !p->yhi))) {
        free(p->x);
        free(p->y);
        free(p->ylo);
        free(p->yhi);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i]) || (ylo && yhi && (isnan(ylo[i]) || isnan(yhi[i]))))
            continue;
        p->x[k] = x[i];
        p->y[k] = y[i];
        if (p->ylo) {
            p->ylo[k] = ylo[i];
            p->yhi[k] = yhi[i];
        }
        k++;
    }
    p->n = k;
    c->nplots++;
    return 0;
}

int chart_add_hline(struct chart *c, const char *title, double y, const char *color)
{
    struct plot *p = new_plot(c, PLOT_HLINE, title, color ? color : CHART_RED);
    if (!p)
        return -1;
    p->level = y;
    p->dash = CHART_DASHED;
    c->nplots++;
    return 0;
}

int chart_add_segment(struct chart *c, const char *title, double x0, double y0, double x1, double y1,
                      const char *color, enum chart_dash dash)
{
    struct plot *p = new_plot(c, PLOT_SEGMENT, title, color);
    if (!p)
        return -1;
    p->x = malloc(2 * sizeof *p->x);
    p->y = malloc(2 * sizeof *p->y);
    if (!p->x || !p->y) {
        free(p->x);
        free(p->y);
        return -1;
    }
    p->x[0] = x0;
    p->y[0] = y0;
    p->x[1] = x1;
    p->y[1] = y1;
    p->n = 2;
    p->style = CHART_LINES;
    p->dash = dash;
    c->nplots++;
    return 0;
}

static int add_band(struct chart *c, bool vertical, double lo, double hi, const char *label, const char *color)
{
    struct band *b;
    if (c->nbands >= CHART_MAX_BANDS)
        return -1;
    b = &c->bands[c->nbands++];
    b->vertical = vertical;
    b->lo = lo < hi ? lo : hi;
    b->hi = lo < hi ? hi : lo;
    copy_text(b->label, sizeof b->label, label);
    copy_text(b->color, sizeof b->color, color ? color : CHART_GREY);
    return 0;
}

int chart_add_xband(struct chart *c, double x0, double x1, const char *label, const char *color)
{
    return add_band(c, true, x0, x1, label, color);
}

int chart_add_yband(struct chart *c, double y0, double y1, const char *label, const char *color)
{
    return add_band(c, false, y0, y1, label, color);
}

int chart_set_xtics(struct chart *c, const double *x, const char *const *labels, size_t n)
{
    if (n > CHART_MAX_XTICS || c->ntics)
        return -1;
    c->tic_x = calloc(n ? n : 1, sizeof *c->tic_x);
    c->tic_label = calloc(n ? n : 1, sizeof *c->tic_label);
    if (!c->tic_x || !c->tic_label)
        return -1;
    for (size_t i = 0; i < n; i++) {
        c->tic_x[i] = x[i];
        c->tic_label[i] = strdup(labels[i] ? labels[i] : "");
        if (!c->tic_label[i])
            return -1;
        c->ntics = i + 1;
    }
    return 0;
}


bool chart_has_data(const struct chart *c)
{
    for (size_t i = 0; i < c->nplots; i++)
        if (c->plots[i].kind == PLOT_SERIES && c->plots[i].n > 0)
            return true;
    return false;
}

/* Whether a plot is drawn at all: an empty series, or one with nothing above zero on
 * a log axis, would make gnuplot complain. */
static bool plot_drawn(const struct plot *p, bool log_y)
{
    if (p->kind == PLOT_HLINE)
        return isfinite(p->level) && (!log_y || p->level > 0);
    for (size_t k = 0; k < p->n; k++)
        if (!log_y || p->y[k] > 0)
            return true;
    return false;
}

/* A log axis only when some series has a point above zero to put on it. */
static bool effective_log_y(const struct chart *c)
{
    for (size_t i = 0; i < c->nplots && c->log_y; i++)
        if (c->plots[i].kind == PLOT_SERIES && plot_drawn(&c->plots[i], true))
            return true;
    return false;
}

size_t chart_plot_count(const struct chart *c)
{
    bool log_y = effective_log_y(c);
    size_t n = 0;
    for (size_t i = 0; i < c->nplots; i++)
        n += plot_drawn(&c->plots[i], log_y);
    return n;
}

struct range {
    double lo, hi;
    bool any;
};

static void widen(struct range *r, double v, bool log_y)
{
    if (!isfinite(v) || (log_y && v <= 0))
        return;
    if (!r->any || v < r->lo)
        r->lo = v;
    if (!r->any || v > r->hi)
        r->hi = v;
    r->any = true;
}

static void compute_x_range(const struct chart *c, struct range *x)
{
    memset(x, 0, sizeof *x);
    if (c->have_x_range) {
        x->lo = c->x_lo;
        x->hi = c->x_hi;
        x->any = true;
        return;
    }
    for (size_t i = 0; i < c->nplots; i++)
        for (size_t k = 0; k < c->plots[i].n; k++)
            widen(x, c->plots[i].x[k], false);
    for (size_t i = 0; i < c->ntics; i++)
        widen(x, c->tic_x[i], false);
    if (!x->any) {
        x->lo = 0;
        x->hi = 1;
    } else if (c->ntics) {
        x->lo -= 0.6;   /* room for a bar or a point at each named position */
        x->hi += 0.6;
    } else if (x->hi <= x->lo) {
        x->lo -= 1;
        x->hi += 1;
    }
}

static void compute_y_range(const struct chart *c, const struct range *x, bool log_y, struct range *y)
{
    memset(y, 0, sizeof *y);
    for (size_t i = 0; i < c->nplots; i++) {
        const struct plot *p = &c->plots[i];
        if (p->kind == PLOT_HLINE) {
            widen(y, p->level, log_y);
            continue;
        }
        for (size_t k = 0; k < p->n; k++) {
            if (p->x[k] < x->lo || p->x[k] > x->hi)
                continue;
            widen(y, p->y[k], log_y);
            if (p->ylo) {
                widen(y, p->ylo[k], log_y);
                widen(y, p->yhi[k], log_y);
            }
        }
    }
    for (size_t i = 0; i < c->nbands; i++)
        if (!c->bands[i].vertical) {
            widen(y, c->bands[i].lo, log_y);
            widen(y, c->bands[i].hi, log_y);
        }
    if (!y->any) {
        y->lo = log_y ? 0.1 : 0;
        y->hi = log_y ? 10 : 1;
        return;
    }
    if (log_y) {
        y->lo /= 1.6;
        y->hi *= 1.6;
        return;
    }
    if (c->from_zero && y->lo >= 0)
        y->lo = 0;
    if (y->hi <= y->lo) {
        double pad = fabs(y->hi) * 0.1 > 1 ? fabs(y->hi) * 0.1 : 1;
        y->hi += pad;
        if (!(c->from_zero && y->lo >= 0 && y->lo - pad < 0))
            y->lo -= pad;
        return;
    }
    {
        double pad = (y->hi - y->lo) * 0.08;
        y->hi += pad;
        if (!(c->from_zero && y->lo == 0))
            y->lo -= pad;
    }
}

#define LABEL_ROWS 4
#define LABEL_CHAR_PX 7.0   /* average width of a label character at font size 12 */
#define LABEL_ROW_CHARS 1.25 /* a label row's height in characters */

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The row above the plot each x interval's label takes: the first row where the
 * previous label has ended, judged by an estimate of its width; -1 for no label.
 * Returns how many rows are used. */
static size_t place_band_labels(const struct chart *c, const struct range *x, int rows[CHART_MAX_BANDS])
{
    double row_end[LABEL_ROWS], per_char = (x->hi - x->lo) * LABEL_CHAR_PX / (CHART_WIDTH - 110);
    size_t used = 0;

    for (size_t r = 0; r < LABEL_ROWS; r++)
        row_end[r] = -INFINITY;
    for (size_t i = 0; i < c->nbands; i++) {
        const struct band *b = &c->bands[i];
        double lo = clamp(b->lo, x->lo, x->hi), hi = clamp(b->hi, x->lo, x->hi);
        size_t row = 0;
        rows[i] = -1;
        if (!b->vertical || !b->label[0] || hi <= lo)
            continue;
        while (row + 1 < LABEL_ROWS && row_end[row] > lo)
            row++;
        row_end[row] = lo + per_char * (double)(strlen(b->label) + 2);
        rows[i] = (int)row;
        if (row + 1 > used)
            used = row + 1;
    }
    return used;
}

static void emit_bands(const struct chart *c, struct gnuplot *gp, const struct range *x, const struct range *y,
                       bool log_y)
{
    /* Interval labels (warmup, faults) go above the plot area, in rows between the
     * title and the plot, so that no label is ever drawn over a line; the top margin
     * grows by the rows used. */
    int rows[CHART_MAX_BANDS];
    size_t nrows = place_band_labels(c, x, rows);
    int object = 1, label = 1;

    gnuplot_printf(gp, "set tmargin %.1f\nset title offset 0, %.2f\n", 2.6 + LABEL_ROW_CHARS * (double)nrows,
                   LABEL_ROW_CHARS * (double)nrows);
    for (size_t i = 0; i < c->nbands; i++) {
        const struct band *b = &c->bands[i];
        if (b->vertical) {
            double lo = clamp(b->lo, x->lo, x->hi), hi = clamp(b->hi, x->lo, x->hi);
            if (hi <= lo)
                continue;
            gnuplot_printf(gp, "set object %d rect from %.9g, graph 0 to %.9g, graph 1 behind "
                               "fillcolor rgb '%s' fillstyle transparent solid 0.22 noborder\n",
                           object++, lo, hi, b->color);
            if (rows[i] >= 0) {
                /* Its name in the band's colour, from the band's start. */
                gnuplot_printf(gp, "set label %d ", label++);
                gnuplot_quote(gp, b->label);
                gnuplot_printf(gp, " at %.9g, graph 1 left offset character 0, character %.2f front "
                                   "textcolor rgb '%s' font ',12'\n",
                               lo, 0.75 + LABEL_ROW_CHARS * (double)(nrows - 1 - (size_t)rows[i]), b->color);
            }
        } else {
            double lo = isinf(b->lo) || (log_y && b->lo <= 0) ? y->lo : clamp(b->lo, y->lo, y->hi);
            double hi = isinf(b->hi) ? y->hi : clamp(b->hi, y->lo, y->hi);
            if (hi <= lo)
                continue;
            gnuplot_printf(gp, "set object %d rect from graph 0, first %.9g to graph 1, first %.9g behind "
                               "fillcolor rgb '%s' fillstyle transparent solid 0.12 noborder\n",
                           object++, lo, hi, b->color);
            if (b->label[0]) {
                gnuplot_printf(gp, "set label %d ", label++);
                gnuplot_quote(gp, b->label);
                gnuplot_printf(gp, " at graph 0.99, first %.9g right offset 0, character %s front boxed "
                                   "textcolor rgb '%s' font ',12'\n",
                               isinf(b->hi) ? lo : hi, isinf(b->hi) ? "0.7" : "-0.7", b->color);
            }
        }
    }
}

static void emit_data(const struct chart *c, struct gnuplot *gp, bool log_y)
{
    for (size_t i = 0; i < c->nplots; i++) {
        const struct plot *p = &c->plots[i];
        if (p->kind == PLOT_HLINE || !plot_drawn(p, log_y))
            continue;
        gnuplot_printf(gp, "$d%zu << EOD\n", i);
        for (size_t k = 0; k < p->n; k++) {
            if (log_y && p->y[k] <= 0)
                continue;
            if (p->ylo)
                gnuplot_printf(gp, "%.9g %.9g %.9g %.9g\n", p->x[k], p->y[k], p->ylo[k], p->yhi[k]);
            else
                gnuplot_printf(gp, "%.9g %.9g\n", p->x[k], p->y[k]);
        }
        gnuplot_printf(gp, "EOD\n");
    }
}

static void emit_plot_element(const struct chart *c, struct gnuplot *gp, size_t i)
{
    const struct plot *p = &c->plots[i];
    const char *dash = p->dash == CHART_DASHED ? " dashtype (8,5)" : p->dash == CHART_DOTTED ? " dashtype (2,4)" : "";

    if (p->kind == PLOT_HLINE) {
        gnuplot_printf(gp, "%.9g with lines linewidth 1.6%s linecolor rgb '%s' title ", p->level, dash, p->color);
    } else {
        gnuplot_printf(gp, "$d%zu using 1:2%s with ", i, p->style == CHART_BARS ? ":3:4:(0.3)" : p->style == CHART_ERRORBARS ? ":3:4" : "");
        switch (p->style) {
        case CHART_LINES:
            gnuplot_printf(gp, "lines linewidth %s%s", p->kind == PLOT_SEGMENT ? "1.8" : "2", dash);
            break;
        case CHART_STEPS:
            gnuplot_printf(gp, "steps linewidth 2%s", dash);
            break;
        case CHART_LINESPOINTS:
            gnuplot_printf(gp, "linespoints linewidth 2 pointtype 7 pointsize 0.8");
            break;
        case CHART_POINTS:
            gnuplot_printf(gp, "points pointtype 7 pointsize 1.3");
            break;
        case CHART_BARS:
            gnuplot_printf(gp, "boxerrorbars fillstyle solid 0.55 border linecolor rgb '%s' linewidth 1.5",
                           p->color);
            break;
        case CHART_ERRORBARS:
            gnuplot_printf(gp, "yerrorbars pointtype 7 pointsize 1.1 linewidth 1.8");
            break;
        }
        gnuplot_printf(gp, " linecolor rgb '%s' title ", p->color);
    }
    gnuplot_quote(gp, p->title);
}

int chart_emit(const struct chart *c, struct gnuplot *gp, const char *svg_path, const char *png_path,
               char *err, size_t errlen)
{
    struct range x, y;
    bool log_y = effective_log_y(c), first = true;

    if (!chart_has_data(c)) {
        snprintf(err, errlen, "%s: nothing to draw", c->title);
        return -1;
    }
    compute_x_range(c, &x);
    compute_y_range(c, &x, log_y, &y);
    gnuplot_printf(gp, "reset\nset terminal svg size %d,%d fixed noenhanced font 'sans-serif,14' "
                       "background '#ffffff'\nset output ", CHART_WIDTH, CHART_HEIGHT);
    gnuplot_quote(gp, svg_path);
    gnuplot_printf(gp, "\nset encoding utf8\nset title ");
    gnuplot_quote(gp, c->title);
    gnuplot_printf(gp, " font ',17'\nset xlabel ");
    gnuplot_quote(gp, c->xlabel);
    gnuplot_printf(gp, "\nset ylabel ");
    gnuplot_quote(gp, c->ylabel);
    gnuplot_printf(gp, "\nset xrange [%.9g:%.9g]\nset yrange [%.9g:%.9g]\n%s"
                       "set border 3 linecolor rgb '#555555'\nset tics nomirror out\n"
                       "set grid xtics ytics linecolor rgb '#e3e3e3' linewidth 1 dashtype solid\n"
                       "set key below center horizontal Left reverse samplen 2.5 spacing 1.1 width 1 height 1 font ',13'\n"
                       "set format y '%%.4g'\nset rmargin 3\n"
                       "set style textbox opaque fillcolor rgb '#ffffff' noborder margins 2,1\n",
                   x.lo, x.hi, y.lo, y.hi, log_y ? "set logscale y\n" : "");
    if (log_y)
        charttics_emit_log(gp, y.lo, y.hi);
    else
        charttics_emit_linear(gp, y.lo, y.hi, c->y_integer);
    /* Two legend columns from four entries on, so a long legend does not squeeze the
     * plot (gnuplot's own estimate often settles for one column). The left margin is
     * left to gnuplot: a fixed one makes gnuplot 5.4 lay a key below in one column,
     * and clips a y label beside wide tic labels. */
    if (chart_plot_count(c) > 3)
        gnuplot_printf(gp, "set key maxrows %zu\n", (chart_plot_count(c) + 1) / 2);
    if (c->ntics) {
        /* Every label when they fit, else every k-th, so they never overprint. */
        size_t step = c->ntics > 24 ? (c->ntics + 23) / 24 : 1;
        gnuplot_printf(gp, "set xtics (");
        for (size_t i = 0, k = 0; i < c->ntics; i += step, k++) {
            gnuplot_printf(gp, "%s", k ? ", " : "");
            gnuplot_quote(gp, c->tic_label[i]);
            gnuplot_printf(gp, " %.9g", c->tic_x[i]);
        }
        /* rotated labels run right and down: room on the right for the last one */
        gnuplot_printf(gp, ")%s\nset grid noxtics\n", c->ntics > 6 ? " rotate by -35 left\nset rmargin 10" : "");
    }
    emit_bands(c, gp, &x, &y, log_y);
    emit_data(c, gp, log_y);
    gnuplot_printf(gp, "plot ");
    for (size_t i = 0; i < c->nplots; i++) {
        if (!plot_drawn(&c->plots[i], log_y))
            continue;
        if (!first)
            gnuplot_printf(gp, ", \\\n     ");
        emit_plot_element(c, gp, i);
        first = false;
    }
    gnuplot_printf(gp, "\nunset output\n");
    if (png_path) {
        gnuplot_printf(gp, "set terminal pngcairo size %d,%d noenhanced font 'sans,14' fontscale 0.75 background '#ffffff'\n"
                           "set output ", CHART_WIDTH, CHART_HEIGHT);
        gnuplot_quote(gp, png_path);
        gnuplot_printf(gp, "\nreplot\nunset output\n");
    }
    if (gnuplot_printf(gp, "undefine $*\n") < 0) {
        snprintf(err, errlen, "gnuplot failed");
        return -1;
    }
    return 0;
}
