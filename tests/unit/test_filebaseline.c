/* Unit tests for filebaseline: a baseline exported from a results database built by the
 * test (only runs of the latest definition, their machine and revision; runs of an older
 * loadlab refused), and regression gates judged against it (a drop found; another
 * machine refused for a wall-clock figure unless allowed; a changed definition an
 * error naming both digests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/filebaseline.h"
#include "runs_fixture.h"
#include "testdb.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static char err[1024], params[2048], old_params[2048];
static struct resultdb *db;
static struct scenario *sc;

static const char scenario_text[] = "[scenario]\nname = shop\nduration = 3s\n[service]\ncommand = /bin/true\n"
                                    "[gate]\nregression.throughput = 5%\n";

/* The params a run of sc records: its gates, definition and this machine. */
static void make_params(char *out, size_t outlen, const char *definition)
{
    char cpu[BASELINEFILE_MAX_TEXT];
    unsigned cpus;
    baselinefile_this_machine(cpu, sizeof cpu, &cpus);
    snprintf(out, outlen, "{\"definition\":\"%s\",\"machine\":{\"cpu_model\":\"%s\",\"cpus\":%u},"
             "\"gates\":[{\"name\":\"regression.throughput\",\"threshold\":\"-5%%\"}]}", definition, cpu, cpus);
}

static int setup(void **state)
{
    char digest[17];
    (void)state;
    if (tmpdb_make(&tmp, "filebaseline-test") < 0 || !(db = resultdb_open(tmp.path, false, err, sizeof err)))
        return -1;
    if (!(sc = scenario_parse(scenario_text, strlen(scenario_text), "shop.ini", err, sizeof err)) ||
        scenario_definition_digest(sc, digest) < 0)
        return -1;
    make_params(params, sizeof params, digest);
    make_params(old_params, sizeof old_params, "0123456789abcdef");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    scenario_free(sc);
    resultdb_close(db);
    return tmpdb_remove(&tmp);
}

static void test_filebaseline_exports_the_current_definition_and_judges(void **state)
{
    char names[1][128] = {"shop"};
    struct baselinefile *bf;
    struct regression_result r;
    struct regression_options opt;
    int64_t cand[6];
    size_t n = 0;
    (void)state;
    regression_options_default(&opt);
    for (int i = 0; i < 3; i++)
        runs_fixture_add(db, "shop", "main", 500, 0.005, old_params);  /* another definition: left out */
    for (int i = 0; i < 6; i++)
        runs_fixture_add(db, "shop", "main", 1000 + 5 * i, 0.005, params);
    for (int i = 0; i < 6; i++)
        cand[i] = runs_fixture_add(db, "shop", "pr", 800 + 5 * i, 0.005, params);

    bf = filebaseline_export(db, names, 1, "main", 20, err, sizeof err);
    if (!bf)
        fail_msg("%s", err);
    assert_int_equal(bf->nscenarios, 1);
    assert_int_equal(bf->scenarios[0].nfigures, 1);
    assert_string_equal(bf->scenarios[0].figures[0].name, "throughput");
    assert_int_equal(bf->scenarios[0].figures[0].nvalues, 6);
    assert_true(bf->scenarios[0].figures[0].values[0] == 1000);
    assert_string_equal(bf->label, "main");

    assert_int_equal(filebaseline_judge(db, bf, sc, "pr", cand, 6, false, &opt, &r, &n, 1, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(r.verdict, REGRESSION_FAIL);
    assert_string_equal(r.baseline_label, "file:main");
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM regressions WHERE baseline_label = 'file:main' "
                                      "AND verdict = 'fail'"), 1);

    /* a wall-clock figure from another kind of machine: refused, unless allowed */
    snprintf(bf->cpu_model, sizeof bf->cpu_model, "Some Other CPU");
    n = 0;
    assert_int_equal(filebaseline_judge(db, bf, sc, "pr", cand, 6, false, &opt, &r, &n, 1, err, sizeof err), 0);
    assert_int_equal(r.verdict, REGRESSION_ERROR);
    assert_non_null(strstr(r.detail, "another machine"));
    assert_non_null(strstr(r.detail, "--allow-other-machine"));
    n = 0;
    assert_int_equal(filebaseline_judge(db, bf, sc, "pr", cand, 6, true, &opt, &r, &n, 1, err, sizeof err), 0);
    assert_int_equal(r.verdict, REGRESSION_FAIL);
    assert_non_null(strstr(r.detail, "note: "));

    /* the scenario changed since: an error naming both definitions */
    sc->connections = 99;
    n = 0;
    assert_int_equal(filebaseline_judge(db, bf, sc, "pr", cand, 6, true, &opt, &r, &n, 1, err, sizeof err), 0);
    assert_int_equal(r.verdict, REGRESSION_ERROR);
    assert_non_null(strstr(r.detail, "defined differently"));
    assert_non_null(strstr(r.detail, bf->scenarios[0].definition));
    baselinefile_free(bf);
}

static void test_filebaseline_export_refuses_what_it_cannot_vouch_for(void **state)
{
    char names[1][128] = {"shop"};
    (void)state;
    assert_null(filebaseline_export(db, names, 1, "main", 20, err, sizeof err));
    assert_non_null(strstr(err, "no completed run"));
    runs_fixture_add(db, "shop", "old", 1000, 0.005, "{}");
    assert_null(filebaseline_export(db, names, 1, "old", 20, err, sizeof err));
    assert_non_null(strstr(err, "older loadlab"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_filebaseline_exports_the_current_definition_and_judges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filebaseline_export_refuses_what_it_cannot_vouch_for, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
