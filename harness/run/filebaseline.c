/* filebaseline: export to and judge against baseline files. See filebaseline.h. */
#include "run/filebaseline.h"
#include "buildinfo.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/baseline.h"
#include "store/figures.h"
#include "store/runs.h"

#define FIGURE_PREFIX_LEN 11  /* strlen("regression.") */

/* The latest run's params: its definition digest and machine. Returns 0, or -1. */
static int latest_identity(struct resultdb *db, const char *scenario, const char *label, char *definition,
                           size_t deflen, struct baselinefile *bf, char *err, size_t errlen)
{
    char *text = NULL;
    json_t *params = NULL;
    const char *def, *cpu;
    int rc = -1;

    if (runs_latest_params(db, scenario, label, &text, err, errlen) < 0)
        return -1;
    if (!text) {
        snprintf(err, errlen, "scenario %s has no completed run under label %s", scenario, label);
        return -1;
    }
    params = json_loads(text, 0, NULL);
    def = json_string_value(json_object_get(params, "definition"));
    cpu = json_string_value(json_object_get(json_object_get(params, "machine"), "cpu_model"));
    if (!def || !cpu) {
        snprintf(err, errlen, "the latest run of %s under label %s records no scenario definition or machine "
                 "(recorded by an older loadlab): run it again", scenario, label);
        goto done;
    }
    snprintf(definition, deflen, "%s", def);
    snprintf(bf->cpu_model, sizeof bf->cpu_model, "%s", cpu);
    bf->cpus = (unsigned)json_integer_value(json_object_get(json_object_get(params, "machine"), "cpus"));
    rc = 0;
done:
    json_decref(params);
    free(text);
    return rc;
}

/* Adds one figure of scenario to bf from the latest runs with the definition. */
static int export_figure(struct resultdb *db, struct baselinefile *bf, const char *scenario, const char *label,
                         const char *definition, const struct gate_spec *spec, struct figures_run *runs,
                         double *values, size_t cap, char *err, size_t errlen)
{
    const char *figure = spec->name + FIGURE_PREFIX_LEN;
    char counter[32] = "";
    size_t n = 0, nv = 0;

    if (figures_of_latest(db, figure, scenario, label, "", runs, cap, &n, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(runs[i].definition, definition) != 0 || !baseline_run_value(&runs[i], spec->kind, &values[nv]))
            continue;
        if (nv == 0)
            snprintf(counter, sizeof counter, "%s", runs[i].counter);
        else if (strcmp(counter, runs[i].counter) != 0) {
            snprintf(err, errlen, "%s of %s under label %s was counted with %s and, in run %lld, with %s: "
                     "a baseline holds one counter", figure, scenario, label, counter[0] ? counter : "none",
                     (long long)runs[i].run_id, runs[i].counter[0] ? runs[i].counter : "none");
            return -1;
        }
        nv++;
    }
    if (nv == 0) {
        snprintf(err, errlen, "no completed run of %s under label %s with its current definition measured %s",
                 scenario, label, figure);
        return -1;
    }
    if (!bf->revision[0] && n > 0)
        snprintf(bf->revision, sizeof bf->revision, "%s", runs[n - 1].git_rev);
    return baselinefile_add(bf, scenario, definition, figure, counter, values, nv, err, errlen);
}

struct baselinefile *filebaseline_export(struct resultdb *db, char (*names)[128], size_t n, const char *label,
                                         size_t runs, char *err, size_t errlen)
{
    struct baselinefile *bf = baselinefile_new();
    struct gate_spec *specs = calloc(BASELINEFILE_MAX_FIGURES, sizeof *specs);
    size_t cap = runs < BASELINEFILE_MAX_VALUES ? runs : BASELINEFILE_MAX_VALUES;
    struct figures_run *found = calloc(cap ? cap : 1, sizeof *found);
    double *values = calloc(cap ? cap : 1, sizeof *values);
    char definition[32];
    bool ok = false;

    if (!bf || !specs || !found || !values) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    snprintf(bf->label, sizeof bf->label, "%s", label);
    snprintf(bf->loadlab_version, sizeof bf->loadlab_version, "%s", buildinfo_version());
    for (size_t k = 0; k < n; k++) {
        size_t nspecs = 0;
        if (latest_identity(db, names[k], label, definition, sizeof definition, bf, err, errlen) < 0 ||
            baseline_scenario_gates(db, names[k], label, specs, BASELINEFILE_MAX_FIGURES, &nspecs, err, errlen) < 0)
            goto done;
        for (size_t i = 0; i < nspecs; i++)
            if (export_figure(db, bf, names[k], label, definition, &specs[i], found, values, cap, err, errlen) < 0)
                goto done;
    }
    ok = true;
done:
    free(specs);
    free(found);
    free(values);
    if (!ok) {
        baselinefile_free(bf);
        return NULL;
    }
    return bf;
}

/* The candidate side: the figure of each of this call's runs, and its counter. */
static int candidate_values(struct resultdb *db, const struct gate_spec *spec, const int64_t *run_ids,
                            size_t nrun, double *values, size_t *nv, char *counter, size_t counterlen,
                            char *failed, size_t failedlen, char *err, size_t errlen)
{
    *nv = 0;
    counter[0] = failed[0] = '\0';
    for (size_t i = 0; i < nrun && *nv < REGRESSION_MAX_RUNS; i++) {
        struct figures_run run;
        int found = figures_of_run(db, spec->name + FIGURE_PREFIX_LEN, run_ids[i], &run, err, errlen);
        if (found < 0)
            return -1;
        if (found && run.recorded && run.has_error && !failed[0])
            snprintf(failed, failedlen, "candidate run %lld could not measure %s: %s", (long long)run.run_id,
                     spec->name + FIGURE_PREFIX_LEN, run.error);
        if (found && baseline_run_value(&run, spec->kind, &values[*nv])) {
            if (*nv == 0)
                snprintf(counter, counterlen, "%s", run.counter);
            (*nv)++;
        }
    }
    return 0;
}

static int judge_one(struct resultdb *db, const struct baselinefile *bf, const struct scenario *sc,
                     const char *definition, const struct gate_spec *spec, const char *candidate_label,
                     const int64_t *run_ids, size_t nrun,
                     bool allow_other_machine, const struct regression_options *opt, struct regression_result *r,
                     char *err, size_t errlen)
{
    double *cand = calloc(REGRESSION_MAX_RUNS, sizeof *cand);
    const double *base = NULL;
    size_t ncand = 0, nbase = 0;
    char counter[32], failed[300], warning[600] = "", why[600] = "", cpu_model[BASELINEFILE_MAX_TEXT];
    unsigned cpus;
    int found, rc = -1;

    memset(r, 0, sizeof *r);
    if (!cand) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->spec = *spec;
    r->opt = *opt;
    snprintf(r->scenario, sizeof r->scenario, "%s", sc->name);
    snprintf(r->baseline_scenario, sizeof r->baseline_scenario, "%s", sc->name);
    snprintf(r->baseline_label, sizeof r->baseline_label, "file:%.240s", bf->label);
    snprintf(r->candidate_label, sizeof r->candidate_label, "%s", candidate_label);
    baseline_format_run_ids(run_ids, nrun, r->candidate_runs, sizeof r->candidate_runs);
    snprintf(r->baseline_runs, sizeof r->baseline_runs, "file");
    if (candidate_values(db, spec, run_ids, nrun, cand, &ncand, counter, sizeof counter, failed, sizeof failed,
                         err, errlen) < 0)
        goto done;
    r->baseline_median = r->candidate_median = r->ratio = r->ci_low = r->ci_high = r->p_value = NAN;
    if (failed[0] || ncand == 0) {
        r->verdict = REGRESSION_ERROR;
        if (failed[0])
            snprintf(r->detail, sizeof r->detail, "%s", failed);
        else
            snprintf(r->detail, sizeof r->detail, "no candidate run measured %s", spec->name + FIGURE_PREFIX_LEN);
        goto record;
    }
    baselinefile_this_machine(cpu_model, sizeof cpu_model, &cpus);
    found = baselinefile_lookup(bf, sc->name, definition, spec->name + FIGURE_PREFIX_LEN, counter, cpu_model, cpus,
                                &base, &nbase, warning, sizeof warning, why, sizeof why);
    if (found < 0) {
        r->verdict = REGRESSION_ERROR;
        snprintf(r->detail, sizeof r->detail, "%s", why);
        goto record;
    }
    regression_judge(base, nbase, cand, ncand, r);
    if (found == 1 && !allow_other_machine) {
        r->verdict = REGRESSION_ERROR;
        snprintf(r->detail, sizeof r->detail, "%s: wall-clock figures are not compared across machines "
                 "(--allow-other-machine to compare anyway)", warning);
    } else if (found == 1) {
        size_t used = strlen(r->detail);
        snprintf(r->detail + used, sizeof r->detail - used, "; note: %s", warning);
    }
record:
    rc = figures_record_regression(db, r, err, errlen);
done:
    free(cand);
    return rc;
}

int filebaseline_judge(struct resultdb *db, const struct baselinefile *bf, const struct scenario *sc,
                       const char *candidate_label, const int64_t *run_ids, size_t nrun,
                       bool allow_other_machine, const struct regression_options *opt, struct regression_result *results, size_t *n,
                       size_t cap, char *err, size_t errlen)
{
    char definition[17];

    if (scenario_definition_digest(sc, definition) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < sc->nregressions; i++) {
        if (*n >= cap) {
            snprintf(err, errlen, "more than %zu regression verdicts", cap);
            return -1;
        }
        if (judge_one(db, bf, sc, definition, &sc->regressions[i], candidate_label, run_ids, nrun, allow_other_machine, opt,
                      &results[*n], err, errlen) < 0)
            return -1;
        (*n)++;
    }
    return 0;
}
