/* overheadstudy: the overhead study's ratios to off. See overheadstudy.h. */
#include "report/overheadstudy.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge/regression.h"
#include "report/chart.h"
#include "store/crossrun.h"
#include "store/figures.h"
#include "units.h"

#define MAX_VERDICTS 512     /* interleaved verdicts read: settings x gates, with room */
#define MAX_ROUNDS 64        /* exact rounds a setting and scenario */
#define EXACT_FIGURE "instructions_per_request"

/* The exact pass's counts, by scenario and setting, while they are read. */
struct exact_cell {
    double v[MAX_ROUNDS];
    size_t n;
    char counter[32];
    bool mixed;              /* more than one counter among the rounds */
};

struct exact_read {
    struct overheadstudy *out;
    char scenarios[OVERHEADSTUDY_MAX_FIGURES][128];
    size_t nscenarios;
    struct exact_cell (*cells)[OVERHEADSTUDY_MAX_SETTINGS];   /* [scenario][setting] */
};

/* The index of setting name, added when new (off is always index 0); -1 when full. */
static int setting_index(struct overheadstudy *s, const char *name)
{
    for (size_t i = 0; i < s->nsettings; i++)
        if (strcmp(s->settings[i], name) == 0)
            return (int)i;
    if (s->nsettings >= OVERHEADSTUDY_MAX_SETTINGS || strlen(name) >= sizeof s->settings[0])
        return -1;
    snprintf(s->settings[s->nsettings], sizeof s->settings[0], "%s", name);
    return (int)s->nsettings++;
}

static const char *figure_words(const char *gate)
{
    static const struct {
        const char *gate, *words;
    } known[] = {{"regression.throughput", "throughput"},
                 {"regression.p99_latency", "p99 latency"},
                 {"regression.cpu_per_request", "CPU per request"}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(gate, known[i].gate) == 0)
            return known[i].words;
    return strncmp(gate, "regression.", 11) == 0 ? gate + 11 : gate;
}

/* The figure for key, added when new; NULL when full. */
static struct overheadstudy_figure *figure_for(struct overheadstudy *s, const char *key, bool exact)
{
    struct overheadstudy_figure *f;
    for (size_t i = 0; i < s->nfigures; i++)
        if (s->figures[i].exact == exact && strcmp(s->figures[i].key, key) == 0)
            return &s->figures[i];
    if (s->nfigures >= OVERHEADSTUDY_MAX_FIGURES)
        return NULL;
    f = &s->figures[s->nfigures++];
    memset(f, 0, sizeof *f);
    f->exact = exact;
    f->limit = NAN;
    snprintf(f->key, sizeof f->key, "%s", key);
    return f;
}

/* "lo..hi" as ratios, with more decimals when four would write two different bounds
 * alike (an exact count's rounds agree to parts per million). */
static void format_range(double lo, double hi, char *buf, size_t len)
{
    char a[32], b[32];
    units_format_ratio(lo, a, sizeof a);
    units_format_ratio(hi, b, sizeof b);
    for (int decimals = 5; decimals <= 7 && lo != hi && strcmp(a, b) == 0; decimals++) {
        snprintf(a, sizeof a, "%.*f", decimals, lo);
        snprintf(b, sizeof b, "%.*f", decimals, hi);
    }
    snprintf(buf, len, "%s..%s", a, b);
}

/* The change a ratio stands for: "+1.2%", "-10%", "no change", never "nan". */
static void signed_change(double ratio, char *buf, size_t len)
{
    char share[32];
    if (isnan(ratio))
        snprintf(buf, len, "change not computed");
    else if (ratio == 1)
        snprintf(buf, len, "no change");
    else
        snprintf(buf, len, "%s%s", ratio > 1 ? "+" : "-", units_format_share(fabs(ratio - 1), share, sizeof share));
}

/* One interleaved verdict as a ratio. */
static void add_verdict(struct overheadstudy *s, const struct regression_result *r)
{
    size_t plen = strlen(s->label) + 1;
    const char *setting = r->candidate_label + plen;
    char want[600], change[40];
    struct overheadstudy_figure *f;
    struct overheadstudy_ratio *q;
    bool rise_worse = r->spec.op == GATE_GT || r->spec.op == GATE_GE;
    int k;

    if (strcmp(r->spec.name, "regression.error_rate") == 0 || r->method != REGRESSION_METHOD_INTERLEAVED ||
        strlen(r->candidate_label) <= plen || r->candidate_label[plen - 1] != '-')
        return;
    /* candidate L-<setting> against baseline L-off-vs-<setting>: the study's pairing */
    snprintf(want, sizeof want, "%s-" OVERHEADSTUDY_REFERENCE "-vs-%s", s->label, setting);
    if (strcmp(r->baseline_label, want) != 0 || (k = setting_index(s, setting)) < 0 ||
        !(f = figure_for(s, r->spec.name, false)))
        return;
    if (!f->title[0]) {
        snprintf(f->what, sizeof f->what, "%s", figure_words(r->spec.name));
        snprintf(f->title, sizeof f->title, "%.120s: setting / off, interleaved", f->what);
        f->title[0] = (char)toupper((unsigned char)f->title[0]);
        snprintf(f->limit_text, sizeof f->limit_text, "%s", r->spec.threshold_text);
        if (r->spec.threshold > 0)
            f->limit = rise_worse ? 1 + r->spec.threshold : 1 - r->spec.threshold;
    }
    q = &f->r[k];
    memset(q, 0, sizeof *q);
    q->present = true;
    q->ratio = r->ratio;
    q->lo = r->ci_low;
    q->hi = r->ci_high;
    q->confidence = r->opt.confidence;
    q->n = r->nbaseline;
    if (isnan(q->ratio))
        snprintf(q->interval, sizeof q->interval, "not computed (no figure on a side)");
    else if (isnan(q->lo) || isnan(q->hi))
        snprintf(q->interval, sizeof q->interval, "not computable (too few pairs: %zu)", q->n);
    else
        format_range(q->lo, q->hi, q->interval, sizeof q->interval);
    if (isnan(q->confidence) || q->confidence <= 0)
        snprintf(q->level, sizeof q->level, "not stored");
    else
        snprintf(q->level, sizeof q->level, "%.4g%%", 100 * q->confidence);
    switch (r->verdict) {
    case REGRESSION_PASS:
        q->tone = OVERHEADSTUDY_NEUTRAL;
        snprintf(q->verdict, sizeof q->verdict, "within the gate (%s)", r->spec.threshold_text);
        if (!isnan(q->lo) && !isnan(q->hi) && (rise_worse ? q->lo > 1 : q->hi < 1)) {
            size_t used = strlen(q->verdict);
            signed_change(q->ratio, change, sizeof change);
            snprintf(q->verdict + used, sizeof q->verdict - used, ", yet a measurable cost: %s", change);
        }
        break;
    case REGRESSION_FAIL:
        q->tone = OVERHEADSTUDY_COSTS;
        signed_change(q->ratio, change, sizeof change);
        snprintf(q->verdict, sizeof q->verdict, "costs more than the gate allows (%s): %s", r->spec.threshold_text,
                 change);
        break;
    case REGRESSION_INCONCLUSIVE:
        q->tone = OVERHEADSTUDY_UNDECIDED;
        snprintf(q->verdict, sizeof q->verdict, "inconclusive: %s", r->detail[0] ? r->detail : "no reason stored");
        break;
    default:
        q->tone = OVERHEADSTUDY_UNDECIDED;
        snprintf(q->verdict, sizeof q->verdict, "not judged: %s", r->detail[0] ? r->detail : "no reason stored");
        break;
    }
}

static int add_count(void *user, const char *suffix, const char *scenario, double value, const char *counter,
                     char *err, size_t errlen)
{
    struct exact_read *x = user;
    struct exact_cell *c;
    size_t sc;
    int k;

    (void)err;
    (void)errlen;
    if (!*suffix || strstr(suffix, "-vs-") || isnan(value))
        return 0;
    for (sc = 0; sc < x->nscenarios && strcmp(x->scenarios[sc], scenario) != 0; sc++) {
    }
    if (sc == x->nscenarios) {
        if (x->nscenarios >= OVERHEADSTUDY_MAX_FIGURES || strlen(scenario) >= sizeof x->scenarios[0])
            return 0;
        snprintf(x->scenarios[x->nscenarios++], sizeof x->scenarios[0], "%s", scenario);
    }
    if ((k = setting_index(x->out, suffix)) < 0)
        return 0;
    c = &x->cells[sc][k];
    if (c->n >= MAX_ROUNDS)
        return 0;
    if (c->n && strcmp(c->counter, counter) != 0)
        c->mixed = true;
    snprintf(c->counter, sizeof c->counter, "%s", counter);
    c->v[c->n++] = value;
    return 0;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(struct exact_cell *c)
{
    qsort(c->v, c->n, sizeof c->v[0], compare_doubles);
    return c->n % 2 ? c->v[c->n / 2] : (c->v[c->n / 2 - 1] + c->v[c->n / 2]) / 2;
}

/* One setting's exact ratio to off's counts in one scenario. */
static void exact_ratio(struct exact_cell *off, struct exact_cell *c, struct overheadstudy_ratio *q)
{
    char change[40];

    memset(q, 0, sizeof *q);
    q->present = true;
    q->n = c->n;
    q->nref = off->n;
    q->confidence = q->lo = q->hi = q->ratio = NAN;
    snprintf(q->level, sizeof q->level, "range of %zu round%s (off: %zu)", c->n, c->n == 1 ? "" : "s", off->n);
    q->tone = OVERHEADSTUDY_UNDECIDED;
    if (off->n == 0) {
        snprintf(q->interval, sizeof q->interval, "not computable (off has no count)");
        snprintf(q->verdict, sizeof q->verdict, "not compared: off was not counted in this scenario");
        return;
    }
    if (c->mixed || off->mixed || strcmp(c->counter, off->counter) != 0) {
        snprintf(q->interval, sizeof q->interval, "not computable (counted by %s here, %s for off)",
                 c->mixed ? "more than one counter" : c->counter, off->mixed ? "more than one" : off->counter);
        snprintf(q->verdict, sizeof q->verdict, "not compared: counts of different counters are never compared");
        return;
    }
    q->ratio = median_of(c) / median_of(off);   /* sorts both */
    if (!(off->v[0] > 0)) {
        q->ratio = NAN;
        snprintf(q->interval, sizeof q->interval, "not computable (off counted 0 instructions)");
        snprintf(q->verdict, sizeof q->verdict, "not compared: off's count is 0");
        return;
    }
    signed_change(q->ratio, change, sizeof change);
    if (c->n < 2 || off->n < 2) {
        snprintf(q->interval, sizeof q->interval, "not computable (one round %s: no range)",
                 c->n < 2 ? "of this setting" : "of off");
        snprintf(q->verdict, sizeof q->verdict, "%s instructions per request, spread unknown (one round)", change);
        return;
    }
    /* sorted by median_of: the lowest round over off's highest to the highest over off's lowest */
    q->lo = c->v[0] / off->v[off->n - 1];
    q->hi = c->v[c->n - 1] / off->v[0];
    format_range(q->lo, q->hi, q->interval, sizeof q->interval);
    if (q->lo > 1) {
        q->tone = OVERHEADSTUDY_COSTS;
        snprintf(q->verdict, sizeof q->verdict, "costs more: %s instructions per request, beyond every round's "
                 "spread", change);
    } else if (q->hi < 1) {
        q->tone = OVERHEADSTUDY_NEUTRAL;
        snprintf(q->verdict, sizeof q->verdict, "costs less: %s instructions per request, beyond every round's "
                 "spread", change);
    } else {
        q->tone = OVERHEADSTUDY_NEUTRAL;
        snprintf(q->verdict, sizeof q->verdict, "no difference beyond the rounds' spread (%s)", change);
    }
}

static int read_exact(struct resultdb *db, struct overheadstudy *s, char *err, size_t errlen)
{
    struct exact_read x = {.out = s};
    char prefix[300];
    int rc = -1;

    x.cells = calloc(OVERHEADSTUDY_MAX_FIGURES, sizeof *x.cells);
    if (!x.cells) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(prefix, sizeof prefix, "%s-", s->label);
    if (figures_labelled(db, EXACT_FIGURE, prefix, add_count, &x, err, errlen) < 0)
        goto done;
    for (size_t sc = 0; sc < x.nscenarios; sc++) {
        struct overheadstudy_figure *f = figure_for(s, x.scenarios[sc], true);
        if (!f)
            break;
        snprintf(f->what, sizeof f->what, "instructions per request (%s)", x.scenarios[sc]);
        snprintf(f->title, sizeof f->title, "Instructions per request: setting / off, %s", x.scenarios[sc]);
        snprintf(f->counter, sizeof f->counter, "%s", x.cells[sc][0].counter);
        for (size_t k = 0; k < s->nsettings; k++)
            if (x.cells[sc][k].n)
                exact_ratio(&x.cells[sc][0], &x.cells[sc][k], &f->r[k]);
    }
    rc = 0;
done:
    free(x.cells);
    return rc;
}

/* Queues figure f's chart. Returns 0 (queued), 1 (nothing to draw), -1 on failure. */
static int draw(const struct overheadstudy *s, struct overheadstudy_figure *f, size_t index, struct gnuplot *gp,
                const char *dir, bool png, char *err, size_t errlen)
{
    struct chart *c = chart_new(f->title, "instrumentation setting", "ratio to off");
    double x[OVERHEADSTUDY_MAX_SETTINGS], y[OVERHEADSTUDY_MAX_SETTINGS], lo[OVERHEADSTUDY_MAX_SETTINGS],
        hi[OVERHEADSTUDY_MAX_SETTINGS], px[OVERHEADSTUDY_MAX_SETTINGS], py[OVERHEADSTUDY_MAX_SETTINGS];
    const char *labels[OVERHEADSTUDY_MAX_SETTINGS];
    char svg[4096], png_path[4096], text[200];
    size_t nbare = 0;
    double level = NAN;
    int rc = -1;

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < s->nsettings; k++) {
        const struct overheadstudy_ratio *q = &f->r[k];
        x[k] = (double)(k + 1);
        labels[k] = s->settings[k];
        y[k] = q->present ? q->ratio : NAN;
        lo[k] = q->present ? q->lo : NAN;
        hi[k] = q->present ? q->hi : NAN;
        if (q->present && !isnan(q->ratio) && (isnan(q->lo) || isnan(q->hi))) {
            px[nbare] = x[k];
            py[nbare++] = q->ratio;
        }
        if (q->present && !isnan(q->confidence))
            level = q->confidence;
    }
    chart_set_xtics(c, x, labels, s->nsettings);
    if (f->exact)
        snprintf(text, sizeof text, "median / off's median (bars: the rounds' whole range, %s)",
                 f->counter[0] ? f->counter : "counter unknown");
    else if (!isnan(level))
        snprintf(text, sizeof text, "ratio of the pairs (bars: %.4g%% interval)", 100 * level);
    else
        snprintf(text, sizeof text, "ratio of the pairs (bars: its interval)");
    chart_add_series(c, text, CHART_ERRORBARS, "#0072b2", x, y, lo, hi, s->nsettings);
    if (nbare)
        chart_add_series(c, "ratio without an interval", CHART_POINTS, "#e69f00", px, py, NULL, NULL, nbare);
    if (!chart_has_data(c)) {
        rc = 1;
        goto done;
    }
    chart_add_hline(c, "1.0: the same as off", 1.0, CHART_GREY);
    if (!isnan(f->limit)) {
        snprintf(text, sizeof text, "gate %s", f->limit_text);
        chart_add_hline(c, text, f->limit, CHART_RED);
    }
    if ((size_t)snprintf(svg, sizeof svg, "%s/overhead-ratio-%zu.svg", dir, index + 1) >= sizeof svg ||
        (size_t)snprintf(png_path, sizeof png_path, "%s/overhead-ratio-%zu.png", dir, index + 1) >= sizeof png_path) {
        snprintf(err, errlen, "report folder path too long: %s", dir);
        goto done;
    }
    rc = chart_emit(c, gp, svg, png ? png_path : NULL, err, errlen);
    if (rc == 0) {
        snprintf(f->chart, sizeof f->chart, "overhead-ratio-%zu.svg", index + 1);
        if (f->exact)
            snprintf(f->caption, sizeof f->caption, "Each setting's median %s over off's; the bar spans the "
                     "lowest of its rounds over off's highest to its highest over off's lowest. The grey line is "
                     "off itself.", f->what);
        else
            snprintf(f->caption, sizeof f->caption, "Each setting's %s over off's, both running at once and "
                     "the load switched between them in short slices; the bar is the interval the verdict was "
                     "judged on. Grey: the same as off; red: the gate's limit.", f->what);
    }
done:
    chart_free(c);
    return rc;
}

int overheadstudy_load(struct resultdb *db, struct gnuplot *gp, const char *dir, bool png,
                       struct overheadstudy *out, char *err, size_t errlen)
{
    struct regression_result *verdicts = NULL;
    size_t n = 0;
    char prefix[300];
    int found, rc = -1;

    memset(out, 0, sizeof *out);
    found = crossrun_study_label(db, OVERHEADSTUDY_LABEL_PREFIX, OVERHEADSTUDY_REFERENCE, out->label,
                                 sizeof out->label, err, errlen);
    if (found <= 0)
        return found;
    setting_index(out, OVERHEADSTUDY_REFERENCE);
    verdicts = calloc(MAX_VERDICTS, sizeof *verdicts);
    if (!verdicts) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(prefix, sizeof prefix, "%s-", out->label);
    if (figures_interleaved_labelled(db, prefix, verdicts, MAX_VERDICTS, &n, err, errlen) < 0)
        goto done;
    for (size_t i = 0; i < n; i++)
        add_verdict(out, &verdicts[i]);
    if (read_exact(db, out, err, errlen) < 0)
        goto done;
    for (size_t i = 0; i < out->nfigures && gp; i++) {
        int drawn = draw(out, &out->figures[i], i, gp, dir, png, err, errlen);
        if (drawn < 0)
            goto done;
        out->charts += drawn == 0;
    }
    rc = 0;
done:
    free(verdicts);
    return rc;
}

void overheadstudy_drop_charts(struct overheadstudy *s)
{
    for (size_t i = 0; i < s->nfigures; i++)
        s->figures[i].chart[0] = '\0';
    s->charts = 0;
}
