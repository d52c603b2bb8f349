/* Unit tests for baseline: per-run figures in and out of a results database built by
 * the test, which runs a verdict compares, and the verdicts it stores. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/baseline.h"
#include "runs_fixture.h"
#include "store/figures.h"
#include "testdb.h"
#include "base/significance.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static char err[1024];
static struct resultdb *db;

static const char params[] =
    "{\"gates\":[{\"name\":\"throughput\",\"threshold\":\"> 10\"},"
    "{\"name\":\"regression.throughput\",\"threshold\":\"-5%\"},"
    "{\"name\":\"regression.p99_latency\",\"threshold\":\"+20%\"}]}";

static int setup(void **state)
{
    (void)state;
    if (tmpdb_make(&tmp, "loadlab-baseline") < 0)
        return -1;
    db = resultdb_open(tmp.path, false, err, sizeof err);
    return db ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    resultdb_close(db);
    return tmpdb_remove(&tmp);
}

/* The regressions table as someone querying it by hand sees it. */
static long long number(const char *sql)
{
    return testdb_int(tmp.path, sql);
}

/* Run id's figure as the store reads it; fails the test when the run is missing. */
static struct figures_run figure(const char *name, int64_t id)
{
    struct figures_run run;
    if (figures_of_run(db, name, id, &run, err, sizeof err) != 1)
        fail_msg("run %lld: %s", (long long)id, err);
    return run;
}

static struct gate_spec spec(const char *name, const char *change)
{
    struct gate_spec g;
    if (gate_parse(name, change, &g, err, sizeof err) < 0)
        fail_msg("%s", err);
    return g;
}

/* n runs of scenario under label, throughput around center with 2% noise. */
static void add_runs(const char *scenario, const char *label, size_t n, double center, uint64_t *rng,
                     int64_t *ids)
{
    for (size_t i = 0; i < n; i++) {
        int64_t id = runs_fixture_add(db, scenario, label, center * (1 + 0.02 * significance_rng_normal(rng)),
                                      0.005 * (1 + 0.02 * significance_rng_normal(rng)), params);
        if (ids)
            ids[i] = id;
    }
}

static void test_baseline_judges_and_stores_a_drop(void **state)
{
    struct gate_spec specs[2] = {spec("regression.throughput", "5%"), spec("regression.p99_latency", "10%")};
    struct regression_result results[2];
    struct regression_options opt;
    int64_t cand_ids[6];
    uint64_t rng = 3;
    size_t n = 0;
    struct baseline_side base = {.scenario = "s", .label = "main", .latest = 20, .this_host_only = true};
    struct baseline_side cand = {.scenario = "s", .label = "dev", .run_ids = cand_ids, .nrun_ids = 6};
    (void)state;
    regression_options_default(&opt);
    add_runs("s", "main", 6, 1000, &rng, NULL);
    runs_fixture_add_aborted(db, "s", "main");  /* never counted */
    add_runs("s", "dev", 6, 800, &rng, cand_ids);
    add_runs("other", "main", 6, 1, &rng, NULL);  /* another scenario: not this one's baseline */
    assert_int_equal(baseline_judge(db, specs, 2, &base, &cand, &opt, results, &n, 2, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(results[0].verdict, REGRESSION_FAIL);
    assert_int_equal(results[0].nbaseline, 6);
    assert_int_equal(results[0].ncandidate, 6);
    assert_float_equal(results[0].ratio, 0.8, 0.03);
    assert_int_equal(results[1].verdict, REGRESSION_PASS);  /* p99 unchanged */
    assert_string_equal(results[0].candidate_label, "dev");
    assert_string_equal(results[0].baseline_runs, "1,2,3,4,5,6");
    assert_int_equal(number("SELECT count(*) FROM regressions WHERE verdict = 'fail' AND gate = "
                            "'regression.throughput' AND baseline_n = 6 AND candidate_runs = '8,9,10,11,12,13'"), 1);
    /* a full results array is an error, not a silent cut */
    n = 2;
    assert_int_equal(baseline_judge(db, specs, 2, &base, &cand, &opt, results, &n, 2, err, sizeof err), -1);
}

static void test_baseline_latest_runs_limit_and_too_few(void **state)
{
    struct gate_spec g = spec("regression.throughput", "5%");
    struct regression_result r;
    struct regression_options opt;
    uint64_t rng = 4;
    size_t n = 0;
    struct baseline_side base = {.scenario = "s", .label = "main", .latest = 3};
    struct baseline_side cand = {.scenario = "s", .label = "dev", .latest = 20};
    (void)state;
    regression_options_default(&opt);
    add_runs("s", "main", 8, 1000, &rng, NULL);
    add_runs("s", "dev", 8, 500, &rng, NULL);
    assert_int_equal(baseline_judge(db, &g, 1, &base, &cand, &opt, &r, &n, 1, err, sizeof err), 0);
    assert_int_equal(r.nbaseline, 3);      /* the latest 3 of 8 */
    assert_string_equal(r.baseline_runs, "6,7,8");
    assert_int_equal(r.verdict, REGRESSION_INCONCLUSIVE);
}

static void test_baseline_records_figures_and_failed_figure_is_error(void **state)
{
    const char *text = "[scenario]\nname = f\nduration = 2s\n[service]\ncommand = /bin/true\n"
                       "[gate]\nregression.cpu_per_request = 5%\nregression.throughput = 5%\n";
    struct scenario *sc = scenario_parse(text, strlen(text), "f.ini", err, sizeof err);
    struct series_store *store = series_store_new();
    struct wrkres load = {.duration_s = 2, .requests = 4000};
    struct gate_inputs in = {.load = &load, .series = store, .from = 0, .to = 2, .have_proc = true};
    struct regression_result r[2];
    struct regression_options opt;
    int64_t base_ids[5], cand_ids[5];
    size_t n = 0;
    struct baseline_side base = {.scenario = "f", .label = "a", .run_ids = base_ids, .nrun_ids = 5};
    struct baseline_side cand = {.scenario = "f", .label = "b", .run_ids = cand_ids, .nrun_ids = 5};
    (void)state;
    assert_non_null(sc);
    assert_int_equal(series_store_want(store, GATE_PROC_CPU), 0);
    for (int k = 0; k <= 4; k++) {
        assert_int_equal(series_store_begin_tick(store, k * 0.5, err, sizeof err), 0);
        assert_int_equal(series_store_add_plain(store, GATE_PROC_CPU, 0.1 * k, err, sizeof err), 0);
    }
    for (int i = 0; i < 5; i++) {
        base_ids[i] = runs_fixture_add(db, "f", "a", 2000, 0.001, NULL);
        assert_int_equal(baseline_record_figures(db, base_ids[i], sc, &in, err, sizeof err), 0);
        cand_ids[i] = runs_fixture_add(db, "f", "b", 2000, 0.001, NULL);
        /* the candidate's last run could not measure its CPU: no load result */
        in.load = i == 4 ? NULL : &load;
        assert_int_equal(baseline_record_figures(db, cand_ids[i], sc, &in, err, sizeof err), 0);
        in.load = &load;
    }
    /* 0.2 CPU-s/s over 2000 req/s */
    for (int i = 0; i < 5; i++) {
        struct figures_run b = figure("cpu_per_request", base_ids[i]), c = figure("cpu_per_request", cand_ids[i]);
        assert_true(b.recorded && c.recorded);
        assert_float_equal(b.value, 1e-4, 1e-12);
        if (i < 4)
            assert_float_equal(c.value, 1e-4, 1e-12);
        else
            assert_true(isnan(c.value) && c.has_error && strcmp(c.error, "no load result") == 0);
    }
    assert_true(figure("throughput", cand_ids[4]).has_error);
    assert_false(figure("throughput", cand_ids[3]).has_error);
    regression_options_default(&opt);
    assert_int_equal(baseline_judge(db, sc->regressions, 2, &base, &cand, &opt, r, &n, 2, err, sizeof err), 0);
    assert_int_equal(r[0].verdict, REGRESSION_ERROR);
    assert_non_null(strstr(r[0].detail, "could not measure cpu_per_request: no load result"));
    assert_int_equal(r[1].verdict, REGRESSION_ERROR);  /* its throughput is missing too */
    assert_int_equal(r[1].ncandidate, 4);
    assert_float_equal(r[1].baseline_median, 2000, 0);  /* from the figures table */
    series_store_free(store);
    scenario_free(sc);
}

static void test_baseline_falls_back_to_load_results(void **state)
{
    /* runs recorded before the scenario had regression gates still serve as a baseline */
    struct gate_spec g = spec("regression.p99_latency", "10%");
    struct regression_result r;
    struct regression_options opt;
    size_t n = 0;
    struct baseline_side base = {.scenario = "old", .label = "v1", .latest = 20};
    struct baseline_side cand = {.scenario = "old", .label = "v2", .latest = 20};
    (void)state;
    for (int i = 0; i < 5; i++) {
        runs_fixture_add(db, "old", "v1", 1000, 0.010 + 0.0001 * i, NULL);
        runs_fixture_add(db, "old", "v2", 1000, 0.015 + 0.0001 * i, NULL);
    }
    regression_options_default(&opt);
    assert_int_equal(baseline_judge(db, &g, 1, &base, &cand, &opt, &r, &n, 1, err, sizeof err), 0);
    assert_int_equal(r.verdict, REGRESSION_FAIL);
    assert_float_equal(r.baseline_median, 0.0102, 1e-9);
}

static void test_baseline_scenario_gates_from_params_or_defaults(void **state)
{
    struct gate_spec specs[8];
    char names[4][128];
    size_t n = 0;
    uint64_t rng = 5;
    (void)state;
    add_runs("withgates", "main", 1, 1000, &rng, NULL);
    runs_fixture_add(db, "plain", "main", 1000, 0.001, "{\"gates\":[{\"name\":\"throughput\",\"threshold\":\"> 1\"}]}");
    assert_int_equal(baseline_scenario_gates(db, "withgates", "main", specs, 8, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(specs[1].name, "regression.p99_latency");
    assert_float_equal(specs[1].threshold, 0.20, 1e-12);
    assert_int_equal(baseline_scenario_gates(db, "plain", "main", specs, 8, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);  /* the defaults */
    assert_string_equal(specs[0].name, "regression.throughput");
    assert_float_equal(specs[1].threshold, 0.10, 1e-12);
    assert_int_equal(baseline_label_scenarios(db, "main", names, 4, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "withgates");
    assert_string_equal(names[1], "plain");
}

/* Instruction counts of two counters are never compared: the verdict is an error
 * naming both; one counter on both sides judges the exact count. */
static void test_baseline_never_mixes_counters(void **state)
{
    struct gate_spec g = spec("regression.instructions_per_request", "1%");
    struct regression_result r;
    struct regression_options opt;
    struct baseline_side base = {.scenario = "c", .label = "cg", .latest = 20};
    struct baseline_side cand = {.scenario = "c", .label = "hw", .latest = 20};
    struct baseline_side cand2 = {.scenario = "c", .label = "cg2", .latest = 20};
    size_t n = 0;
    (void)state;
    regression_options_default(&opt);
    for (int i = 0; i < 2; i++) {
        int64_t a = runs_fixture_add(db, "c", "cg", 1000, 0.005, NULL);
        int64_t b = runs_fixture_add(db, "c", "hw", 1000, 0.005, NULL);
        int64_t c = runs_fixture_add(db, "c", "cg2", 1000, 0.005, NULL);
        assert_int_equal(figures_record_counted(db, a, "instructions_per_request", "instructions", 9000, "callgrind",
                                                NULL, err, sizeof err), 0);
        assert_int_equal(figures_record_counted(db, b, "instructions_per_request", "instructions", 9000,
                                                "hw-instructions", NULL, err, sizeof err), 0);
        assert_int_equal(figures_record_counted(db, c, "instructions_per_request", "instructions", 9200, "callgrind",
                                                NULL, err, sizeof err), 0);
    }
    assert_string_equal(figure("instructions_per_request", 1).counter, "callgrind");
    assert_int_equal(baseline_judge(db, &g, 1, &base, &cand, &opt, &r, &n, 1, err, sizeof err), 0);
    assert_int_equal(r.verdict, REGRESSION_ERROR);
    assert_non_null(strstr(r.detail, "callgrind"));
    assert_non_null(strstr(r.detail, "hw-instructions"));
    n = 0;
    assert_int_equal(baseline_judge(db, &g, 1, &base, &cand2, &opt, &r, &n, 1, err, sizeof err), 0);
    assert_int_equal(r.verdict, REGRESSION_FAIL);  /* +2.2%, exact */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_baseline_never_mixes_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_baseline_judges_and_stores_a_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_baseline_latest_runs_limit_and_too_few, setup, teardown),
        cmocka_unit_test_setup_teardown(test_baseline_records_figures_and_failed_figure_is_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_baseline_falls_back_to_load_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_baseline_scenario_gates_from_params_or_defaults, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
