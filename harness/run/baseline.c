/* baseline: figures, run selection and verdict storage for regression gates.
 * See baseline.h. */
#include "run/baseline.h"
#include "store/figures.h"
#include "store/runs.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIGURE_PREFIX_LEN 11  /* strlen("regression.") */

int baseline_record_figures(struct resultdb *db, int64_t run_id, const struct scenario *sc,
                            const struct gate_inputs *in, char *err, size_t errlen)
{
    for (size_t i = 0; i < sc->nregressions; i++) {
        const struct gate_spec *spec = &sc->regressions[i];
        struct gate_result res;
        bool failed;

        gate_evaluate(spec, in, &res);
        failed = res.verdict == GATE_ERROR;
        const char *counter = spec->kind == GATE_INSTRUCTIONS_PER_REQUEST ? in->cost_counter : NULL;
        if (figures_record_counted(db, run_id, spec->name + FIGURE_PREFIX_LEN, gate_unit(spec),
                                   failed ? NAN : res.observed, counter, failed ? res.detail : NULL, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* A run's figure, as found: measured, failed to measure (with why), or absent. */
enum found { FOUND_VALUE, FOUND_ERROR, FOUND_NOTHING };

/* A number that counts: present and not NaN. */
static bool number(double v, double *out)
{
    *out = v;
    return !isnan(v);
}

static enum found read_figure(const struct figures_run *run, enum gate_kind kind, double *value, char *why,
                              size_t whylen)
{
    const double *load = NULL;

    if (run->recorded) {
        if (number(run->value, value))
            return FOUND_VALUE;
        snprintf(why, whylen, "%s", run->has_error ? run->error : "no value");
        return FOUND_ERROR;
    }
    if (number(run->gate_observed, value))
        return FOUND_VALUE;
    switch (kind) {
    case GATE_THROUGHPUT: load = &run->throughput; break;
    case GATE_ERROR_RATE: load = &run->error_rate; break;
    case GATE_P50_LATENCY: load = &run->p50; break;
    case GATE_P75_LATENCY: load = &run->p75; break;
    case GATE_P90_LATENCY: load = &run->p90; break;
    case GATE_P99_LATENCY: load = &run->p99; break;
    case GATE_P999_LATENCY: load = &run->p999; break;
    default: break;
    }
    if (load && load != &run->throughput && load != &run->error_rate && run->requests == 0)
        return FOUND_NOTHING;  /* no request completed: wrk's percentiles mean nothing */
    if (load && number(*load, value))
        return FOUND_VALUE;
    return FOUND_NOTHING;
}

bool baseline_run_value(const struct figures_run *run, enum gate_kind kind, double *value)
{
    char why[256];
    return read_figure(run, kind, value, why, sizeof why) == FOUND_VALUE;
}

/* What one side's runs gave. */
struct side_figures {
    double values[REGRESSION_MAX_RUNS];
    int64_t ids[REGRESSION_MAX_RUNS];
    size_t n;
    size_t absent;             /* runs with no figure at all */
    size_t failed;             /* runs that failed to measure it */
    int64_t failed_run;        /* the first of them, or 0 */
    char failed_why[256];
    char counter[32];          /* the counter of the first value ("" for none) */
    int64_t counter_run;       /* the run whose counter differs from it, or 0 */
    char other_counter[32];
};

static void take_run(const struct figures_run *run, enum gate_kind kind, struct side_figures *out)
{
    char why[256] = "";
    double v = NAN;
    enum found f = read_figure(run, kind, &v, why, sizeof why);

    if (f == FOUND_VALUE && out->n < REGRESSION_MAX_RUNS) {
        if (out->n == 0)
            snprintf(out->counter, sizeof out->counter, "%s", run->counter);
        else if (strcmp(out->counter, run->counter) != 0 && !out->counter_run) {
            out->counter_run = run->run_id;
            snprintf(out->other_counter, sizeof out->other_counter, "%s", run->counter);
        }
        out->ids[out->n] = run->run_id;
        out->values[out->n++] = v;
    } else if (f == FOUND_ERROR) {
        if (!out->failed++) {
            out->failed_run = run->run_id;
            snprintf(out->failed_why, sizeof out->failed_why, "%s", why);
        }
    } else if (f == FOUND_NOTHING) {
        out->absent++;
    }
}

static int load_side(struct resultdb *db, const struct gate_spec *spec, const struct baseline_side *side,
                     struct side_figures *out, char *err, size_t errlen)
{
    const char *figure = spec->name + FIGURE_PREFIX_LEN;
    char host[256] = "";
    size_t cap = side->latest < REGRESSION_MAX_RUNS ? side->latest : REGRESSION_MAX_RUNS, n = 0;
    struct figures_run *runs = NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (side->run_ids) {
        for (size_t i = 0; i < side->nrun_ids && i < REGRESSION_MAX_RUNS; i++) {
            struct figures_run run;
            int found = figures_of_run(db, figure, side->run_ids[i], &run, err, errlen);
            if (found < 0)
                return -1;
            if (found)
                take_run(&run, spec->kind, out);
            else
                out->absent++;  /* the run did not complete */
        }
        return 0;
    }
    if (side->this_host_only && gethostname(host, sizeof host - 1) < 0)
        snprintf(host, sizeof host, "unknown");
    if (cap && !(runs = calloc(cap, sizeof *runs))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (figures_of_latest(db, figure, side->scenario, side->label, host, runs, cap, &n, err, errlen) < 0)
        goto done;
    for (size_t i = 0; i < n; i++)
        take_run(&runs[i], spec->kind, out);
    rc = 0;
done:
    free(runs);
    return rc;
}

void baseline_format_run_ids(const int64_t *ids, size_t n, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(out + used, outlen - used, "%s%lld", i ? "," : "", (long long)ids[i]);
        if (w < 0 || (size_t)w >= outlen - used - 4) {
            snprintf(out + used, outlen - used, ",...");
            return;
        }
        used += (size_t)w;
    }
}

/* Says in the detail which runs were left out. */
static void note_left_out(struct regression_result *r, size_t base_absent, size_t cand_absent)
{
    size_t used = strlen(r->detail);
    if (base_absent + cand_absent == 0 || used >= sizeof r->detail - 1)
        return;
    snprintf(r->detail + used, sizeof r->detail - used, "; left out without the figure: %zu baseline, "
             "%zu candidate run(s)", base_absent, cand_absent);
}

/* Instruction counts of two counters are never compared: an error naming both. */
static void note_counters(struct regression_result *r, const struct side_figures *base,
                          const struct side_figures *cand)
{
    const struct side_figures *mixed = base->counter_run ? base : cand->counter_run ? cand : NULL;

    if (mixed) {
        r->verdict = REGRESSION_ERROR;
        snprintf(r->detail, sizeof r->detail, "the %s runs mix counters: %s and %s (run %lld); instruction "
                 "counts of two counters are never compared", mixed == base ? "baseline" : "candidate",
                 mixed->counter[0] ? mixed->counter : "none", mixed->other_counter[0] ? mixed->other_counter : "none",
                 (long long)mixed->counter_run);
    } else if (base->n && cand->n && strcmp(base->counter, cand->counter) != 0) {
        r->verdict = REGRESSION_ERROR;
        snprintf(r->detail, sizeof r->detail, "baseline counted with %s, candidate with %s: instruction counts "
                 "of two counters are never compared", base->counter[0] ? base->counter : "no counter",
                 cand->counter[0] ? cand->counter : "no counter");
    }
}

static int judge_one(struct resultdb *db, const struct gate_spec *spec, const struct baseline_side *baseline,
                     const struct baseline_side *candidate, const struct regression_options *opt,
                     struct regression_result *r, char *err, size_t errlen)
{
    struct side_figures *base = malloc(sizeof *base), *cand = malloc(sizeof *cand);
    int rc = -1;

    memset(r, 0, sizeof *r);
    if (!base || !cand) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    r->spec = *spec;
    r->opt = *opt;
    snprintf(r->scenario, sizeof r->scenario, "%s", candidate->scenario);
    snprintf(r->baseline_scenario, sizeof r->baseline_scenario, "%s", baseline->scenario);
    snprintf(r->candidate_label, sizeof r->candidate_label, "%s", candidate->label);
    snprintf(r->baseline_label, sizeof r->baseline_label, "%s", baseline->label);
    if (load_side(db, spec, baseline, base, err, errlen) < 0 || load_side(db, spec, candidate, cand, err, errlen) < 0)
        goto done;
    baseline_format_run_ids(base->ids, base->n, r->baseline_runs, sizeof r->baseline_runs);
    baseline_format_run_ids(cand->ids, cand->n, r->candidate_runs, sizeof r->candidate_runs);
    regression_judge(base->values, base->n, cand->values, cand->n, r);
    if (cand->failed_run) {
        r->verdict = REGRESSION_ERROR;
        snprintf(r->detail, sizeof r->detail, "candidate run %lld could not measure %s: %s",
                 (long long)cand->failed_run, spec->name + FIGURE_PREFIX_LEN, cand->failed_why);
    }
    note_left_out(r, base->absent + base->failed, cand->absent);
    note_counters(r, base, cand);
    rc = figures_record_regression(db, r, err, errlen);
done:
    free(base);
    free(cand);
    return rc;
}

int baseline_judge(struct resultdb *db, const struct gate_spec *specs, size_t nspecs,
                   const struct baseline_side *baseline, const struct baseline_side *candidate,
                   const struct regression_options *opt, struct regression_result *results,
                   size_t *n, size_t cap, char *err, size_t errlen)
{
    for (size_t i = 0; i < nspecs; i++) {
        if (*n >= cap) {
            snprintf(err, errlen, "more than %zu regression verdicts", cap);
            return -1;
        }
        if (judge_one(db, &specs[i], baseline, candidate, opt, &results[*n], err, errlen) < 0)
            return -1;
        (*n)++;
    }
    return 0;
}

/* The gates compare judges when the runs record none: a 5% drop in throughput, a 10% rise in p99. */
static int parse_default_gates(struct gate_spec *specs, size_t cap, size_t *n, char *err, size_t errlen)
{
    static const struct { const char *name, *change; } defaults[] = {
        {"regression.throughput", "5%"}, {"regression.p99_latency", "10%"},
    };
    *n = 0;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0] && *n < cap; i++) {
        if (gate_parse(defaults[i].name, defaults[i].change, &specs[*n], err, errlen) < 0)
            return -1;
        (*n)++;
    }
    return 0;
}

int baseline_scenario_gates(struct resultdb *db, const char *scenario, const char *label,
                            struct gate_spec *specs, size_t cap, size_t *n, char *err, size_t errlen)
{
    char *text;
    json_t *params = NULL, *gates, *g;
    size_t i;
    int rc = -1;

    *n = 0;
    if (runs_latest_params(db, scenario, label, &text, err, errlen) < 0)
        return -1;
    if (text)
        params = json_loads(text, 0, NULL);
    free(text);
    gates = json_object_get(params, "gates");
    json_array_foreach(gates, i, g) {
        const char *name = json_string_value(json_object_get(g, "name"));
        const char *threshold = json_string_value(json_object_get(g, "threshold"));
        if (!name || !threshold || strncmp(name, "regression.", FIGURE_PREFIX_LEN) != 0)
            continue;
        if (*n >= cap) {
            snprintf(err, errlen, "%s records more than %zu regression gates", scenario, cap);
            goto done;
        }
        if (gate_parse(name, threshold, &specs[*n], err, errlen) < 0)
            goto done;
        (*n)++;
    }
    if (*n == 0 && parse_default_gates(specs, cap, n, err, errlen) < 0)
        goto done;
    rc = 0;
done:
    json_decref(params);
    return rc;
}

int baseline_label_scenarios(struct resultdb *db, const char *label, char (*names)[128], size_t cap,
                             size_t *n, char *err, size_t errlen)
{
    return runs_label_scenarios(db, label, names, cap, n, err, errlen);
}
