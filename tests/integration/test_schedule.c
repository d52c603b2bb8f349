/* Unit tests for schedule: the interleaved order of repeated runs and the baseline's
 * environment, set and put back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/schedule.h"

static char err[256];

static void test_schedule_abba_rounds_and_turning_order(void **state)
{
    size_t n = 0;
    struct schedule_entry *o = schedule_build(2, 3, true, &n, err, sizeof err);
    /* round 0: s0 B C, s1 B C; round 1 starts with s1: C B, s0 C B; round 2: B C again */
    static const struct schedule_entry want[] = {
        {0, 0, true}, {0, 0, false}, {1, 0, true}, {1, 0, false},
        {1, 1, false}, {1, 1, true}, {0, 1, false}, {0, 1, true},
        {0, 2, true}, {0, 2, false}, {1, 2, true}, {1, 2, false},
    };
    (void)state;
    assert_non_null(o);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(o[i].scenario, want[i].scenario);
        assert_int_equal(o[i].round, want[i].round);
        assert_int_equal(o[i].baseline, want[i].baseline);
    }
    free(o);
}

static void test_schedule_without_baseline_and_limits(void **state)
{
    size_t n = 0;
    struct schedule_entry *o = schedule_build(3, 2, false, &n, err, sizeof err);
    (void)state;
    assert_non_null(o);
    assert_int_equal(n, 6);
    assert_int_equal(o[3].scenario, 1);  /* round 1 starts with the second scenario */
    assert_false(o[3].baseline);
    free(o);
    assert_null(schedule_build(3, 0, false, &n, err, sizeof err));
    assert_non_null(strstr(err, "--repeat"));
    assert_null(schedule_build(300, 100, true, &n, err, sizeof err));
    assert_non_null(strstr(err, "more than"));
}

static void test_schedule_env_applied_and_put_back(void **state)
{
    char *set[] = {"LOADLAB_T_A=new", "LOADLAB_T_B=", "LOADLAB_T_A=newer"};
    struct schedule_env *saved;
    (void)state;
    setenv("LOADLAB_T_A", "old", 1);
    unsetenv("LOADLAB_T_B");
    saved = schedule_env_apply(set, 3, err, sizeof err);
    assert_non_null(saved);
    assert_string_equal(getenv("LOADLAB_T_A"), "newer");
    assert_string_equal(getenv("LOADLAB_T_B"), "");
    schedule_env_restore(saved);
    assert_string_equal(getenv("LOADLAB_T_A"), "old");
    assert_null(getenv("LOADLAB_T_B"));
    schedule_env_restore(NULL);
}

static void test_schedule_env_check(void **state)
{
    (void)state;
    assert_int_equal(schedule_env_check("ORDERD_BIN=build-main/orderd", err, sizeof err), 0);
    assert_int_equal(schedule_env_check("ORDERD_FAULTS=", err, sizeof err), 0);
    assert_int_equal(schedule_env_check("NOEQUALS", err, sizeof err), -1);
    assert_int_equal(schedule_env_check("=x", err, sizeof err), -1);
    assert_int_equal(schedule_env_check("1X=y", err, sizeof err), -1);
    assert_int_equal(schedule_env_check("A-B=y", err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_abba_rounds_and_turning_order),
        cmocka_unit_test(test_schedule_without_baseline_and_limits),
        cmocka_unit_test(test_schedule_env_applied_and_put_back),
        cmocka_unit_test(test_schedule_env_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
