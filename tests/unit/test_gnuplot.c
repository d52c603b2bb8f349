/* Tests for gnuplot: the real gnuplot driven through its stdin — a chart drawn from
 * inline data, gnuplot's own error message brought back, no deadlock when gnuplot
 * talks a lot while we send a lot, a missing gnuplot named plainly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/gnuplot.h"

static char dir[64], program[4096], err[4096];

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/gnuplot-test-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    unsetenv("LOADLAB_GNUPLOT");
    if (gnuplot_find(program, sizeof program, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_gnuplot_draws_svg_from_inline_data(void **state)
{
    struct gnuplot *gp = gnuplot_open(program, err, sizeof err);
    char path[128], cmd[256];
    (void)state;
    assert_non_null(gp);
    snprintf(path, sizeof path, "%s/line.svg", dir);
    assert_int_equal(gnuplot_printf(gp, "set terminal svg\nset output "), 0);
    assert_int_equal(gnuplot_quote(gp, path), 0);
    assert_int_equal(gnuplot_printf(gp, "\n$d << EOD\n0 1\n1 2\n2 4\nEOD\nplot $d using 1:2 with lines title "), 0);
    assert_int_equal(gnuplot_quote(gp, "it's <fine> & \"quoted\""), 0);
    assert_int_equal(gnuplot_printf(gp, "\nunset output\n"), 0);
    assert_int_equal(gnuplot_close(gp, err, sizeof err), 0);
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
    assert_int_equal(system(cmd), 0);
}

static void test_gnuplot_failure_carries_its_message(void **state)
{
    struct gnuplot *gp = gnuplot_open(program, err, sizeof err);
    (void)state;
    assert_non_null(gp);
    gnuplot_printf(gp, "set terminal svg\nset output '/dev/null'\nplot $no_such_block using 1:2\n");
    /* Commands after the error are not read; sending them must not hurt us. */
    for (int i = 0; i < 1000; i++)
        gnuplot_printf(gp, "print %d\n", i);
    assert_int_equal(gnuplot_close(gp, err, sizeof err), -1);
    assert_non_null(strstr(err, "exited with status 1"));
    assert_non_null(strstr(err, "no_such_block"));
}

/* Megabytes of data in while gnuplot writes far more than a pipe holds to stderr:
 * only a writer that also reads gets through. */
static void test_gnuplot_large_script_and_chatty_stderr_do_not_deadlock(void **state)
{
    struct gnuplot *gp = gnuplot_open(program, err, sizeof err);
    (void)state;
    assert_non_null(gp);
    gnuplot_printf(gp, "do for [i=1:2500] { print 'gnuplot says something long enough to fill a pipe ', i }\n");
    gnuplot_printf(gp, "$big << EOD\n");
    for (int i = 0; i < 100000; i++)
        assert_int_equal(gnuplot_printf(gp, "%d %d.%03d\n", i, i % 97, i % 1000), 0);
    gnuplot_printf(gp, "EOD\nstats $big using 2 nooutput\nprint 'rows ', STATS_records\n");
    /* It exits 0 and said things: that is a 1, with the start of what it said. */
    assert_int_equal(gnuplot_close(gp, err, sizeof err), 1);
    assert_non_null(strstr(err, "gnuplot says something"));
}

static void test_gnuplot_missing_program_is_named(void **state)
{
    char found[256];
    (void)state;
    setenv("LOADLAB_GNUPLOT", "/nonexistent/gnuplot", 1);
    assert_int_equal(gnuplot_find(found, sizeof found, err, sizeof err), -1);
    assert_non_null(strstr(err, "gnuplot-nox"));
    unsetenv("LOADLAB_GNUPLOT");
    assert_null(gnuplot_open("/nonexistent/gnuplot", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/gnuplot"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gnuplot_draws_svg_from_inline_data),
        cmocka_unit_test(test_gnuplot_failure_carries_its_message),
        cmocka_unit_test(test_gnuplot_large_script_and_chatty_stderr_do_not_deadlock),
        cmocka_unit_test(test_gnuplot_missing_program_is_named),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
