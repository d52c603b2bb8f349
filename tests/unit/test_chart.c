/* Tests for chart: charts drawn by the real gnuplot into SVG and read back — one plot
 * element per series, threshold and segment; translucent bands for intervals with
 * their labels above the plot area; whole-number tics on a counting axis and
 * engineering units on a large one; no gnuplot warning for the awkward cases (a flat
 * line, zeros on a log axis, a threshold far from the data); markup in titles kept
 * valid XML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/chart.h"
#include "report/gnuplot.h"
#include "files.h"

static char dir[64], program[4096], err[4096], path[128];

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/chart-test-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    unsetenv("LOADLAB_GNUPLOT");
    return gnuplot_find(program, sizeof program, err, sizeof err);
}

static int group_teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Draws c alone with a gnuplot of its own; returns gnuplot_close's result and the
 * SVG text (caller frees). */
static int draw(struct chart *c, const char *name, char **svg)
{
    struct gnuplot *gp = gnuplot_open(program, err, sizeof err);
    char cmd[256];
    int rc;

    assert_non_null(gp);
    snprintf(path, sizeof path, "%s/%s.svg", dir, name);
    assert_int_equal(chart_emit(c, gp, path, NULL, err, sizeof err), 0);
    rc = gnuplot_close(gp, err, sizeof err);
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
    assert_int_equal(system(cmd), 0);
    *svg = files_read(path);
    assert_non_null(*svg);
    return rc;
}

static void test_chart_draws_one_element_per_series_and_a_band_per_interval(void **state)
{
    double t[] = {0, 1, 2, 3, 4, 5}, a[] = {1, 2, 3, 4, 5, 6}, b[] = {2, 2, 2, NAN, 2, 2};
    struct chart *c = chart_new("Two lines", "time (s)", "things");
    char *svg;
    (void)state;
    assert_int_equal(chart_add_series(c, "rising", CHART_LINES, NULL, t, a, NULL, NULL, 6), 0);
    assert_int_equal(chart_add_series(c, "flat", CHART_STEPS, NULL, t, b, NULL, NULL, 6), 0);
    assert_int_equal(chart_add_hline(c, "gate x < 100", 100, NULL), 0);
    assert_int_equal(chart_add_segment(c, "fitted trend", 1, 2, 5, 6, NULL, CHART_DOTTED), 0);
    assert_int_equal(chart_add_xband(c, 0, 1, "warmup", "#9e9e9e"), 0);
    assert_int_equal(chart_add_xband(c, 2, 4, "slow=on(1ms)", "#e67e22"), 0);
    chart_set_x_range(c, 0, 5);
    assert_int_equal(chart_plot_count(c), 4);
    assert_int_equal(draw(c, "two", &svg), 0);
    assert_int_equal(files_count(svg, "<g id=\"gnuplot_plot_"), 4);
    assert_int_equal(files_count(svg, "fill-opacity = '0.220000'"), 2);
    assert_true(files_count(svg, ">slow=on(1ms)</text>") > 0);
    assert_int_equal(files_count(svg, "<text>gate x &lt; 100</text>"), 1);
    free(svg);
    chart_free(c);
}

/* The y tic labels of an SVG (gnuplot right-aligns them, and nothing else here), at
 * most max of them. Returns how many. */
static size_t y_tics(const char *svg, char labels[][32], size_t max)
{
    const char *p = svg;
    size_t n = 0;
    while (n < max && (p = strstr(p, "text-anchor=\"end\">"))) {
        const char *open = strstr(p, "<text>"), *close = open ? strstr(open, "</text>") : NULL;
        if (!close)
            break;
        snprintf(labels[n++], 32, "%.*s", (int)(close - open - 6), open + 6);
        p = close;
    }
    return n;
}

/* The y of the text element reading text (its translate), or NaN. */
static double text_y(const char *svg, const char *text)
{
    char needle[128];
    const char *at, *t;
    double x, y;
    snprintf(needle, sizeof needle, "<text>%s</text>", text);
    if (!(at = strstr(svg, needle)))
        return NAN;
    for (t = at; t > svg && strncmp(t, "translate(", 10) != 0; t--)
        ;
    return sscanf(t, "translate(%lf,%lf)", &x, &y) == 2 ? y : NAN;
}

/* The top (smallest y) of the first shaded interval: the plot area's top edge. */
static double band_top(const char *svg)
{
    const char *p = strstr(svg, "fill-opacity = '0.220000' points = '");
    double x, y, top = INFINITY;
    int used;
    assert_non_null(p);
    p += strlen("fill-opacity = '0.220000' points = '");
    while (sscanf(p, "%lf,%lf %n", &x, &y, &used) == 2) {
        top = y < top ? y : top;
        p += used;
    }
    return top;
}

/* A thread count between 8 and 12: tics at whole threads only (never "8.5"). */
static void test_chart_counting_axis_has_whole_tics(void **state)
{
    double t[] = {0, 1, 2, 3, 4}, v[] = {8, 9, 10, 11, 12};
    struct chart *c = chart_new("Threads", "time (s)", "threads");
    char labels[40][32], *svg;
    size_t n;
    (void)state;
    chart_add_series(c, "all threads", CHART_LINES, NULL, t, v, NULL, NULL, 5);
    chart_set_y_integer(c, true);
    assert_int_equal(draw(c, "integer", &svg), 0);
    n = y_tics(svg, labels, 40);
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++)
        if (strspn(labels[i], " -0123456789") != strlen(labels[i]))
            fail_msg("tic '%s' is not a whole number", labels[i]);
    free(svg);
    chart_free(c);
}

/* Figures of hundreds of millions read "150M", never "1.5e+08", and the gate line far
 * above the data stays in view. */
static void test_chart_large_numbers_in_engineering_units(void **state)
{
    double t[] = {0, 1, 2, 3}, v[] = {1.2e8, 1.4e8, 1.5e8, 1.3e8};
    struct chart *c = chart_new("Instructions", "run", "instructions per request");
    char labels[40][32], *svg;
    size_t n, mega = 0;
    (void)state;
    chart_add_series(c, "instructions", CHART_LINESPOINTS, NULL, t, v, NULL, NULL, 4);
    chart_add_hline(c, "gate < 200M", 2e8, NULL);
    assert_int_equal(draw(c, "large", &svg), 0);
    n = y_tics(svg, labels, 40);
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++) {
        assert_null(strchr(labels[i], 'e'));
        mega += strchr(labels[i], 'M') != NULL;
    }
    assert_true(mega >= 2);
    assert_non_null(strstr(svg, "<text>200M</text>"));  /* the gate's level is a tic */
    free(svg);
    chart_free(c);
}

/* Interval labels sit above the plot area, never over the lines in it; each in its
 * own row where they would overlap. */
static void test_chart_interval_labels_above_the_plot(void **state)
{
    double t[] = {0, 5, 10}, v[] = {30, 30, 30};
    struct chart *c = chart_new("Queue", "time (s)", "jobs queued");
    char *svg;
    double top;
    (void)state;
    chart_add_series(c, "capacity", CHART_STEPS, NULL, t, v, NULL, NULL, 3);
    chart_add_xband(c, 0, 2, "warmup", "#9e9e9e");
    chart_add_xband(c, 0.3, 10, "queue.block=on", "#e67e22");
    chart_set_x_range(c, 0, 10);
    assert_int_equal(draw(c, "labels", &svg), 0);
    top = band_top(svg);
    assert_true(text_y(svg, "warmup") < top);
    assert_true(text_y(svg, "queue.block=on") < top);
    assert_true(fabs(text_y(svg, "warmup") - text_y(svg, "queue.block=on")) > 8);  /* two rows */
    assert_true(text_y(svg, "Queue") < text_y(svg, "warmup"));   /* the title above them */
    free(svg);
    chart_free(c);
}

static void test_chart_awkward_data_draws_without_warnings(void **state)
{
    double t[] = {0, 1, 2, 3}, flat[] = {7, 7, 7, 7}, zeros[] = {0, 0.001, 0, 0.5};
    struct chart *c = chart_new("Flat", "t", "v");
    char *svg;
    (void)state;
    /* A constant series: gnuplot's autoscale would warn "empty y range". */
    chart_add_series(c, "constant", CHART_LINES, NULL, t, flat, NULL, NULL, 4);
    assert_int_equal(draw(c, "flat", &svg), 0);
    free(svg);
    chart_free(c);

    /* Zeros on a log axis are left out, a non-positive threshold is not drawn. */
    c = chart_new("Log", "t", "ms");
    chart_set_log_y(c, true);
    chart_add_series(c, "p99", CHART_LINES, NULL, t, zeros, NULL, NULL, 4);
    chart_add_hline(c, "zero", 0, NULL);
    chart_add_hline(c, "gate p99 < 250ms", 250, NULL);
    assert_int_equal(chart_plot_count(c), 2);
    assert_int_equal(draw(c, "log", &svg), 0);
    assert_int_equal(files_count(svg, "<g id=\"gnuplot_plot_"), 2);
    free(svg);
    chart_free(c);

    /* All zeros on a log axis: drawn linear rather than not at all. */
    c = chart_new("All zero", "t", "ms");
    chart_set_log_y(c, true);
    chart_add_series(c, "p99", CHART_LINES, NULL, t, (double[]){0, 0, 0, 0}, NULL, NULL, 4);
    assert_int_equal(draw(c, "zero", &svg), 0);
    free(svg);
    chart_free(c);
}

static void test_chart_bars_and_named_positions(void **state)
{
    double x[] = {1, 2, 3}, y[] = {1000, 900, 950}, lo[] = {980, 850, 900}, hi[] = {1020, 930, 990};
    const char *names[] = {"off", "metrics", "profile"};
    struct chart *c = chart_new("Throughput by setting", "setting", "req/s");
    char *svg;
    (void)state;
    assert_int_equal(chart_set_xtics(c, x, names, 3), 0);
    assert_int_equal(chart_add_series(c, "median", CHART_BARS, NULL, x, y, lo, hi, 3), 0);
    assert_int_equal(chart_add_series(c, "bars need ranges", CHART_BARS, NULL, x, y, NULL, NULL, 3), -1);
    assert_int_equal(chart_add_yband(c, -INFINITY, 500, "fails the gate", NULL), 0);
    chart_set_y_from_zero(c, true);
    assert_int_equal(draw(c, "bars", &svg), 0);
    assert_int_equal(files_count(svg, "<g id=\"gnuplot_plot_"), 1);
    assert_int_equal(files_count(svg, ">metrics</text>"), 1);
    assert_int_equal(files_count(svg, "fill-opacity = '0.120000'"), 1);
    free(svg);
    chart_free(c);
}

/* Ratios near 1.0 with their intervals: a point and an error bar each, points
 * without an interval left out of the series, and tics that tell 1.002 from 1.004. */
static void test_chart_error_bars_on_a_narrow_ratio_axis(void **state)
{
    double x[] = {1, 2, 3}, y[] = {1.0, 1.0039, NAN}, lo[] = {0.9999, 1.0038, NAN}, hi[] = {1.0001, 1.0041, NAN};
    const char *names[] = {"off", "metrics", "profile"};
    struct chart *c = chart_new("Instructions per request: setting / off", "setting", "ratio to off");
    char labels[40][32], *svg;
    size_t n;
    (void)state;
    assert_int_equal(chart_set_xtics(c, x, names, 3), 0);
    assert_int_equal(chart_add_series(c, "ratio", CHART_ERRORBARS, NULL, x, y, lo, hi, 3), 0);
    assert_int_equal(chart_add_series(c, "error bars need ranges", CHART_ERRORBARS, NULL, x, y, NULL, NULL, 3), -1);
    assert_int_equal(chart_add_hline(c, "1.0: the same as off", 1.0, CHART_GREY), 0);
    assert_int_equal(draw(c, "ratio", &svg), 0);
    assert_int_equal(files_count(svg, "<g id=\"gnuplot_plot_"), 2);
    n = y_tics(svg, labels, 40);
    assert_true(n >= 3);
    for (size_t i = 1; i < n; i++)
        if (strcmp(labels[i], labels[i - 1]) == 0)
            fail_msg("two tics read '%s'", labels[i]);
    free(svg);
    chart_free(c);
}

static void test_chart_without_data_is_refused(void **state)
{
    struct gnuplot *gp = gnuplot_open(program, err, sizeof err);
    struct chart *c = chart_new("Nothing", "t", "v");
    (void)state;
    chart_add_hline(c, "a threshold alone", 1, NULL);
    chart_add_series(c, "empty", CHART_LINES, NULL, NULL, NULL, NULL, NULL, 0);
    assert_false(chart_has_data(c));
    assert_int_equal(chart_emit(c, gp, "/nonexistent/never.svg", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "nothing to draw"));
    assert_int_equal(gnuplot_close(gp, err, sizeof err), 0);  /* nothing was sent */
    chart_free(c);
    chart_free(NULL);
}

static void test_chart_markup_in_text_stays_valid_xml(void **state)
{
    double t[] = {0, 1}, v[] = {1, 2};
    struct chart *c = chart_new("p99 < 250ms & \"quotes\" 'too'", "<x>", "y & z");
    char *svg;
    (void)state;
    chart_add_series(c, "a <b> & 'c'\nnewline", CHART_LINES, NULL, t, v, NULL, NULL, 2);
    chart_add_xband(c, 0, 1, "fault=on(<1ms>) & 'x'", NULL);
    assert_int_equal(draw(c, "markup", &svg), 0);  /* draw() runs xmllint */
    free(svg);
    chart_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chart_draws_one_element_per_series_and_a_band_per_interval),
        cmocka_unit_test(test_chart_awkward_data_draws_without_warnings),
        cmocka_unit_test(test_chart_bars_and_named_positions),
        cmocka_unit_test(test_chart_error_bars_on_a_narrow_ratio_axis),
        cmocka_unit_test(test_chart_without_data_is_refused),
        cmocka_unit_test(test_chart_markup_in_text_stays_valid_xml),
        cmocka_unit_test(test_chart_counting_axis_has_whole_tics),
        cmocka_unit_test(test_chart_large_numbers_in_engineering_units),
        cmocka_unit_test(test_chart_interval_labels_above_the_plot),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
