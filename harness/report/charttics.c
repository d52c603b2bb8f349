/* charttics: a chart's y tics. See charttics.h. */
#include "report/charttics.h"

#include <math.h>
#include <stdio.h>

#include "units.h"

/* Past LOG_TICS_MAX 1-2-5 tics, one per decade, so that labels never overprint. */
#define LOG_TICS_MAX 8

void charttics_emit_log(struct gnuplot *gp, double lo, double hi)
{
    static const double steps[] = {1, 2, 5};
    double first = pow(10, floor(log10(lo)));
    size_t nsteps = 3;
    char text[32];
    int n = 0;

    for (double decade = first; decade <= hi && n < 60; decade *= 10)
        for (size_t i = 0; i < 3; i++)
            n += decade * steps[i] >= lo && decade * steps[i] <= hi;
    if (n < 2)
        return;  /* a narrow range: gnuplot's own tics do better */
    if (n > LOG_TICS_MAX)
        nsteps = 1;
    n = 0;
    gnuplot_printf(gp, "set ytics (");
    for (double decade = first; decade <= hi && n < 60; decade *= 10)
        for (size_t i = 0; i < nsteps; i++) {
            double v = decade * steps[i];
            if (v >= lo && v <= hi) {
                gnuplot_printf(gp, "%s", n++ ? ", " : "");
                if (v >= 1e-3)
                    units_format_count(v, text, sizeof text);
                else
                    snprintf(text, sizeof text, "%.1g", v);   /* below the count's "0" */
                gnuplot_quote(gp, text);
                gnuplot_printf(gp, " %.9g", v);
            }
        }
    gnuplot_printf(gp, ")\nset mytics 1\n");
}

/* A 1-2-5 step giving about six tics over span; whole numbers on an integer axis. */
static double tic_step(double span, bool integer)
{
    double raw = span / 6, mag, norm, step;

    if (!(raw > 0))
        return integer ? 1 : 0;
    mag = pow(10, floor(log10(raw)));
    norm = raw / mag;
    step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
    return integer && step < 1 ? 1 : step;
}

/* Decimals that tell tics step apart where units_format_count's three significant
 * digits cannot (a ratio axis from 0.996 to 1.004); 0 when they can. */
static int fine_decimals(double lo, double hi, double step)
{
    double top = fmax(fabs(lo), fabs(hi));
    int d;

    if (!(step > 0) || top >= 1000 || top / step < 100)
        return 0;
    d = (int)ceil(-log10(step) - 1e-9);
    return d < 1 ? 0 : d > 9 ? 9 : d;
}

void charttics_emit_linear(struct gnuplot *gp, double lo, double hi, bool integer)
{
    double step = tic_step(hi - lo, integer), first;
    int decimals = integer ? 0 : fine_decimals(lo, hi, step);
    char text[32];
    int n = 0;

    if (!(step >= 1e-3) && !integer && !(decimals && step >= 1e-9))
        return;
    first = ceil(lo / step - 1e-9);
    gnuplot_printf(gp, "set ytics (");
    for (double k = first; k * step <= hi + step * 1e-9 && n < 60; k++, n++) {
        double v = fabs(k) < 1e-9 ? 0 : k * step;
        gnuplot_printf(gp, "%s", n ? ", " : "");
        if (decimals)
            snprintf(text, sizeof text, "%.*f", decimals, v);
        else
            units_format_count(v, text, sizeof text);
        gnuplot_quote(gp, text);
        gnuplot_printf(gp, " %.9g", v);
    }
    gnuplot_printf(gp, ")\nset mytics 1\n");
}
