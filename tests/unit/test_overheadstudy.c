/* Tests for overheadstudy: the overhead study found by its labels and turned into
 * ratios to off, on a database written through resultdb, figures and regressions the
 * way scripts/overhead.sh leaves it, with constructed numbers: the latest study only,
 * off-vs-off not taken for a study of its own, each interleaved verdict's stored ratio
 * and interval, an exact ratio's range of rounds, and the cases without an interval
 * (too few pairs, one round, counts of another counter) said in words. The charts'
 * drawing is test_report's (real gnuplot, real runs); here gp is NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge/gate.h"
#include "judge/regression.h"
#include "report/overheadstudy.h"
#include "report_fixture.h"
#include "store/figures.h"
#include "store/resultdb.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static char err[1024];
static struct resultdb *db;

static int64_t add_run(const char *scenario, const char *label)
{
    struct report_fixture_run spec = {.scenario = scenario, .label = label, .status = "completed",
                                      .throughput = 1000, .p99 = 0.01};
    int64_t id;
    if (report_fixture_add_run(db, &spec, &id, err, sizeof err) < 0)
        fail_msg("%s", err);
    return id;
}

static void add_count(const char *label, const char *scenario, double value, const char *counter)
{
    int64_t id = add_run(scenario, label);
    assert_int_equal(figures_record_counted(db, id, "instructions_per_request", "instructions", value, counter, NULL,
                                            err, sizeof err), 0);
}

static void add_verdict(const char *candidate, const char *baseline, const char *gate, const char *change,
                        double ratio, double lo, double hi, size_t pairs, enum regression_verdict verdict,
                        const char *detail)
{
    struct regression_result r;
    memset(&r, 0, sizeof r);
    if (gate_parse(gate, change, &r.spec, err, sizeof err) < 0)
        fail_msg("%s", err);
    snprintf(r.scenario, sizeof r.scenario, "instrument-interleaved");
    snprintf(r.candidate_label, sizeof r.candidate_label, "%s", candidate);
    snprintf(r.baseline_label, sizeof r.baseline_label, "%s", baseline);
    r.nbaseline = r.ncandidate = pairs;
    r.baseline_median = r.candidate_median = NAN;
    r.ratio = ratio;
    r.ci_low = lo;
    r.ci_high = hi;
    r.p_value = NAN;
    r.opt.confidence = 0.975;
    r.opt.alpha = 0.05;
    r.opt.min_runs = 5;
    r.verdict = verdict;
    r.method = REGRESSION_METHOD_INTERLEAVED;
    snprintf(r.detail, sizeof r.detail, "%s", detail);
    assert_int_equal(figures_record_regression(db, &r, err, sizeof err), 0);
}

static int group_setup(void **state)
{
    (void)state;
    if (tmpdb_make(&tmp, "overheadstudy-test") < 0 || !(db = resultdb_open(tmp.path, false, err, sizeof err)))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    resultdb_close(db);
    return tmpdb_remove(&tmp);
}

static const struct overheadstudy_figure *figure(const struct overheadstudy *s, const char *key)
{
    for (size_t i = 0; i < s->nfigures; i++)
        if (strcmp(s->figures[i].key, key) == 0)
            return &s->figures[i];
    fail_msg("no figure %s", key);
    return NULL;
}

static void test_overheadstudy_nothing_stored_is_no_study(void **state)
{
    struct overheadstudy *s = calloc(1, sizeof *s);
    (void)state;
    assert_non_null(s);
    add_run("baseline", "v1");
    assert_int_equal(overheadstudy_load(db, NULL, tmp.dir, false, s, err, sizeof err), 0);
    assert_string_equal(s->label, "");
    assert_int_equal(s->nfigures, 0);
    free(s);
}

static void test_overheadstudy_ratios_intervals_and_words(void **state)
{
    struct overheadstudy *s = calloc(1, sizeof *s);
    const struct overheadstudy_figure *f;
    (void)state;
    assert_non_null(s);
    /* an older study: not shown */
    add_count("overhead-old-off", "cost-read", 9000, "callgrind");
    add_verdict("overhead-old-metrics", "overhead-old-off-vs-metrics", "regression.throughput", "5%", 0.5, 0.4,
                0.6, 10, REGRESSION_FAIL, "");
    /* the latest: exact rounds (off 3, metrics 3, profile 1, trace by another counter) */
    add_count("overhead-new-off", "cost-read", 10000, "callgrind");
    add_count("overhead-new-off", "cost-read", 10001, "callgrind");
    add_count("overhead-new-off", "cost-read", 9999, "callgrind");
    add_count("overhead-new-metrics", "cost-read", 10100, "callgrind");
    add_count("overhead-new-metrics", "cost-read", 10102, "callgrind");
    add_count("overhead-new-metrics", "cost-read", 10098, "callgrind");
    add_count("overhead-new-profile", "cost-read", 10050, "callgrind");
    add_count("overhead-new-trace", "cost-read", 10000, "hw-instructions");
    /* interleaved: off against off, metrics, and profile with too few pairs */
    /* off's baseline against itself is the latest run, and ends in -off too */
    add_run("instrument-interleaved", "overhead-new-off");
    add_run("instrument-interleaved", "overhead-new-off-vs-off");
    add_verdict("overhead-new-off", "overhead-new-off-vs-off", "regression.throughput", "5%", 1.001, 0.98, 1.02,
                12, REGRESSION_PASS, "");
    add_verdict("overhead-new-metrics", "overhead-new-off-vs-metrics", "regression.throughput", "5%", 0.90, 0.85,
                0.93, 9, REGRESSION_FAIL, "");
    add_verdict("overhead-new-profile", "overhead-new-off-vs-profile", "regression.throughput", "5%", 1.01, NAN,
                NAN, 1, REGRESSION_INCONCLUSIVE, "a side answered nothing in 4 of 5 pairs");
    add_verdict("overhead-new-metrics", "overhead-new-off-vs-metrics", "regression.error_rate", "50%", NAN, NAN,
                NAN, 9, REGRESSION_PASS, "");
    /* a comparison against another baseline is not the study's */
    add_verdict("overhead-new-stray", "somebody-else", "regression.throughput", "5%", 2, 1.9, 2.1, 9,
                REGRESSION_PASS, "");

    assert_int_equal(overheadstudy_load(db, NULL, tmp.dir, false, s, err, sizeof err), 0);
    assert_string_equal(s->label, "overhead-new");
    assert_string_equal(s->settings[0], "off");
    assert_string_equal(s->settings[1], "metrics");
    assert_string_equal(s->settings[2], "profile");
    for (size_t k = 0; k < s->nsettings; k++)
        assert_string_not_equal(s->settings[k], "stray");
    assert_int_equal(s->nfigures, 2);   /* throughput (error_rate is not a cost), cost-read */
    assert_int_equal(s->charts, 0);

    f = figure(s, "regression.throughput");
    assert_false(f->exact);
    assert_string_equal(f->title, "Throughput: setting / off, interleaved");
    assert_true(fabs(f->limit - 0.95) < 1e-12);
    assert_string_equal(f->r[0].interval, "0.9800..1.0200");
    assert_string_equal(f->r[0].level, "97.5%");
    assert_string_equal(f->r[0].verdict, "within the gate (-5%)");
    assert_int_equal(f->r[0].n, 12);
    assert_true(fabs(f->r[1].ratio - 0.90) < 1e-12);
    assert_int_equal(f->r[1].tone, OVERHEADSTUDY_COSTS);
    assert_string_equal(f->r[1].verdict, "costs more than the gate allows (-5%): -10%");
    assert_string_equal(f->r[2].interval, "not computable (too few pairs: 1)");
    assert_string_equal(f->r[2].verdict, "inconclusive: a side answered nothing in 4 of 5 pairs");

    f = figure(s, "cost-read");
    assert_true(f->exact);
    assert_string_equal(f->counter, "callgrind");
    /* off against itself: its own whole spread */
    assert_true(fabs(f->r[0].ratio - 1) < 1e-12);
    assert_string_equal(f->r[0].interval, "0.9998..1.0002");
    assert_string_equal(f->r[0].level, "range of 3 rounds (off: 3)");
    /* metrics: 10100/10000, from 10098/10001 to 10102/9999 */
    assert_true(fabs(f->r[1].ratio - 1.01) < 1e-12);
    assert_true(fabs(f->r[1].lo - 10098.0 / 10001) < 1e-12 && fabs(f->r[1].hi - 10102.0 / 9999) < 1e-12);
    assert_string_equal(f->r[1].verdict, "costs more: +1% instructions per request, beyond every round's spread");
    /* profile: one round, no range */
    assert_true(fabs(f->r[2].ratio - 1.005) < 1e-12);
    assert_true(isnan(f->r[2].lo));
    assert_string_equal(f->r[2].interval, "not computable (one round of this setting: no range)");
    /* trace: another counter, never compared */
    assert_true(isnan(f->r[3].ratio));
    assert_string_equal(f->r[3].interval, "not computable (counted by hw-instructions here, callgrind for off)");
    for (size_t k = 0; k < s->nsettings; k++)
        for (size_t i = 0; i < s->nfigures; i++) {
            const struct overheadstudy_ratio *q = &s->figures[i].r[k];
            assert_null(strstr(q->interval, "nan"));
            assert_null(strstr(q->verdict, "nan"));
            assert_null(strstr(q->level, "nan"));
        }
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overheadstudy_nothing_stored_is_no_study),
        cmocka_unit_test(test_overheadstudy_ratios_intervals_and_words),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
