/* Tests for trends: the per-scenario history and the overhead comparison computed
 * from the report fixture database, and drawn by the real gnuplot. */
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

#include "report/gnuplot.h"
#include "report_fixture.h"
#include "store/resultdb.h"
#include "report/trends.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static char program[4096], err[4096];
static struct resultdb *db;

static int group_setup(void **state)
{
    (void)state;
    unsetenv("LOADLAB_GNUPLOT");
    if (report_fixture_tmpdb(&tmp, "trends-test") < 0 || gnuplot_find(program, sizeof program, err, sizeof err) < 0)
        return -1;
    db = resultdb_open(tmp.path, true, err, sizeof err);
    return db ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    resultdb_close(db);
    return tmpdb_remove(&tmp);
}

static void test_trends_scenario_charts_its_completed_runs(void **state)
{
    struct gnuplot *gp = gnuplot_open(program, err, sizeof err);
    struct trends t;
    char svg[256];
    (void)state;
    assert_non_null(gp);
    assert_int_equal(trends_scenario(db, "baseline", gp, tmp.dir, "rel", "baseline", false, &t, err,
                                     sizeof err), 0);
    assert_int_equal(gnuplot_close(gp, err, sizeof err), 0);
    assert_int_equal(t.runs, 3);
    assert_int_equal(t.n, 3);
    assert_string_equal(t.charts[0].file, "rel/baseline-throughput.svg");
    assert_string_equal(t.charts[1].file, "rel/baseline-p99.svg");
    assert_string_equal(t.charts[2].file, "rel/baseline-threads.svg");
    snprintf(svg, sizeof svg, "%s/baseline-threads.svg", tmp.dir);
    assert_int_equal(access(svg, R_OK), 0);

    /* Without gnuplot: the runs are counted, nothing is listed as drawn. */
    assert_int_equal(trends_scenario(db, "baseline", NULL, tmp.dir, "rel", "b", false, &t, err,
                                     sizeof err), 0);
    assert_int_equal(t.runs, 3);
    assert_int_equal(t.n, 0);

    /* One completed run (queue-stall), none (the crashed one): a note, no chart. */
    assert_int_equal(trends_scenario(db, "queue-stall", NULL, tmp.dir, "rel", "q", false, &t, err,
                                     sizeof err), 0);
    assert_int_equal(t.n, 0);
    assert_non_null(strstr(t.note, "One completed run"));
    assert_int_equal(trends_scenario(db, "crashy", NULL, tmp.dir, "rel", "c", false, &t, err,
                                     sizeof err), 0);
    assert_int_equal(t.runs, 0);
    assert_non_null(strstr(t.note, "No completed run"));
}

static void test_trends_overhead_groups_settings_in_first_seen_order(void **state)
{
    struct gnuplot *gp = gnuplot_open(program, err, sizeof err);
    struct trends_overhead o;
    const struct trends_setting *off, *profile;
    (void)state;
    assert_int_equal(trends_overhead(db, gp, tmp.dir, false, &o, err, sizeof err), 0);
    assert_int_equal(gnuplot_close(gp, err, sizeof err), 0);
    assert_int_equal(o.n, 2);
    off = &o.settings[0];
    profile = &o.settings[1];
    assert_string_equal(off->name, "off");
    assert_string_equal(profile->name, "profile");
    assert_int_equal(off->runs, 2);
    assert_true(off->throughput_median == 1100 && off->throughput_min == 1000 && off->throughput_max == 1200);
    assert_true(profile->throughput_median == 850 && profile->throughput_min == 800 && profile->throughput_max == 900);
    assert_true(fabs(off->p99_median - 0.0045) < 1e-12 && fabs(profile->p99_max - 0.007) < 1e-12);
    assert_int_equal(o.labels, 1);
    assert_int_equal(o.charts.n, 2);
    assert_string_equal(o.charts.charts[0].file, "overhead-throughput.svg");
}

static void test_trends_overhead_absent_gives_nothing(void **state)
{
    char other[160];
    struct resultdb *odb;
    struct trends_overhead o;
    int64_t id;
    (void)state;
    snprintf(other, sizeof other, "%s/no-overhead.db", tmp.dir);
    odb = resultdb_open(other, false, err, sizeof err);
    assert_non_null(odb);
    assert_int_equal(report_fixture_add_run(odb, &report_fixture_runs[0], &id, err, sizeof err), 0);
    assert_int_equal(trends_overhead(odb, NULL, tmp.dir, false, &o, err, sizeof err), 0);
    assert_int_equal(o.n, 0);
    assert_int_equal(o.charts.n, 0);
    resultdb_close(odb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trends_scenario_charts_its_completed_runs),
        cmocka_unit_test(test_trends_overhead_groups_settings_in_first_seen_order),
        cmocka_unit_test(test_trends_overhead_absent_gives_nothing),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
