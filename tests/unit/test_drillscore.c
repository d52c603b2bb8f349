/* Unit tests for drillscore: answers parsed and written back, a run's truth read from
 * its fault phases, and what an answer scores. */
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

#include "diagnose/drillscore.h"
#include "store/resultdb.h"
#include "tmpdb.h"

static char err[512];

static void test_drillscore_answer_parse_and_format(void **state)
{
    struct drillscore_answer a;
    char buf[512];
    (void)state;

    assert_int_equal(drillscore_answer_parse("  healthy \n", &a, err, sizeof err), 0);
    assert_int_equal(a.n, 0);
    assert_string_equal(drillscore_answer_format(&a, buf, sizeof buf), "healthy");
    assert_int_equal(drillscore_answer_parse("class=lock-contention culprit=cache_get_global; culprit=x class=thread-leak ;",
                                        &a, err, sizeof err), 0);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.problems[0].class_name, "lock-contention");
    assert_string_equal(a.problems[0].culprit, "cache_get_global");
    assert_string_equal(a.problems[1].class_name, "thread-leak");
    assert_string_equal(drillscore_answer_format(&a, buf, sizeof buf),
                        "class=lock-contention culprit=cache_get_global; class=thread-leak culprit=x");
    assert_int_equal(drillscore_answer_parse("class=queue-full", &a, err, sizeof err), 0);
    assert_string_equal(a.problems[0].culprit, "");

    assert_int_equal(drillscore_answer_parse("class=deadlock", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "'deadlock' is not a class"));
    assert_int_equal(drillscore_answer_parse("class=queue-full culprit=9lives", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a function name"));
    assert_int_equal(drillscore_answer_parse("culprit=f", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "needs class="));
    assert_int_equal(drillscore_answer_parse("the lock", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "not key=value"));
    assert_int_equal(drillscore_answer_parse("", &a, err, sizeof err), -1);
    assert_int_equal(drillscore_answer_parse("class=queue-full;class=queue-full;class=queue-full;class=queue-full;"
                                        "class=queue-full", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most 4"));
}

static struct drillscore_truth truth_of(const char *class1, const char *culprit1, const char *class2, const char *culprit2)
{
    struct drillscore_truth t = {0};
    if (class1) {
        t.items[t.n].class_name = class1;
        t.items[t.n++].culprit = culprit1;
    }
    if (class2) {
        t.items[t.n].class_name = class2;
        t.items[t.n++].culprit = culprit2;
    }
    return t;
}

static double score(const struct drillscore_truth *t, const char *answer, struct drillscore_result *s)
{
    struct drillscore_answer a;
    assert_int_equal(drillscore_answer_parse(answer, &a, err, sizeof err), 0);
    drillscore_mark(t, &a, s);
    return s->score;
}

static void test_drillscore_marks_detection_root_cause_and_localization(void **state)
{
    struct drillscore_truth healthy = truth_of(NULL, NULL, NULL, NULL);
    struct drillscore_truth lock = truth_of("lock-contention", "cache_get_global", NULL, NULL);
    struct drillscore_truth two = truth_of("thread-leak", "leak_notifier_wait", "cpu-slowdown", "request_burn_cpu");
    struct drillscore_result s;
    (void)state;

    assert_float_equal(score(&healthy, "healthy", &s), 100, 1e-9);
    assert_true(s.detected);
    assert_float_equal(score(&healthy, "class=queue-full", &s), 0, 1e-9);
    assert_false(s.detected);
    assert_int_equal(s.extra, 1);
    assert_float_equal(score(&lock, "healthy", &s), 0, 1e-9);
    assert_false(s.detected);
    assert_float_equal(score(&lock, "class=lock-contention culprit=cache_get_global", &s), 100, 1e-9);
    assert_int_equal(s.classes_right, 1);
    assert_int_equal(s.culprits_right, 1);
    assert_float_equal(score(&lock, "class=lock-contention culprit=catalog_get", &s), 200.0 / 3, 1e-9);
    /* The right function under the wrong class: detection and localization, no root cause. */
    assert_float_equal(score(&lock, "class=cpu-slowdown culprit=cache_get_global", &s), 200.0 / 3, 1e-9);
    assert_int_equal(s.extra, 1);
    assert_int_equal(s.culprits_right, 1);
    assert_int_equal(s.classes_right, 0);
    assert_float_equal(score(&lock, "class=lock-contention culprit=cache_get_global; class=queue-full", &s),
                       100.0 * (1 + 0.5 + 1) / 3, 1e-9);
    assert_float_equal(score(&two, "class=thread-leak culprit=leak_notifier_wait", &s), 100.0 * (1 + 0.5 + 0.5) / 3,
                       1e-9);
    assert_int_equal(s.problems, 2);
    assert_float_equal(score(&two, "class=cpu-slowdown culprit=request_burn_cpu; class=thread-leak culprit=leak_notifier_wait",
                             &s), 100, 1e-9);
}

static void test_drillscore_truth_is_each_fault_once_in_time_order(void **state)
{
    struct tmpdb tmp;
    struct resultdb *db;
    struct resultdb_run run = {.scenario = "drill", .label = "drill", .params = "{}"};
    struct drillscore_truth t;
    int64_t run_id, phase;
    (void)state;
    assert_int_equal(tmpdb_make(&tmp, "drillscore-test"), 0);
    db = resultdb_open(tmp.path, false, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(resultdb_run_begin(db, &run, &run_id, err, sizeof err), 0);
    /* slow and lock.cache at the same time (by name then), queue.stall later, slow again
     * later still (counted once, at its first time), one switched off and one unknown. */
    assert_int_equal(resultdb_phase_on(db, run_id, "late", "queue.stall", "on(50ms)", 7, &phase, err, sizeof err), 0);
    assert_int_equal(resultdb_phase_on(db, run_id, "service", "slow", "on(3ms)", 0, &phase, err, sizeof err), 0);
    assert_int_equal(resultdb_phase_on(db, run_id, "service", "lock.cache", "on(200us)", 0, &phase, err,
                                       sizeof err), 0);
    assert_int_equal(resultdb_phase_on(db, run_id, "again", "slow", "on(9ms)", 9, &phase, err, sizeof err), 0);
    assert_int_equal(resultdb_phase_on(db, run_id, "x", "leak.memory", "off", 1, &phase, err, sizeof err), 0);
    assert_int_equal(resultdb_phase_on(db, run_id, "x", "no.such", "on", 2, &phase, err, sizeof err), 0);

    assert_int_equal(drillscore_truth_load(db, run_id, &t, err, sizeof err), 0);
    assert_int_equal(t.n, 3);
    assert_string_equal(t.items[0].fault, "lock.cache");
    assert_string_equal(t.items[0].class_name, "lock-contention");
    assert_string_equal(t.items[1].fault, "slow");
    assert_string_equal(t.items[1].term, "on(3ms)");
    assert_string_equal(t.items[1].culprit, "request_burn_cpu");
    assert_string_equal(t.items[2].fault, "queue.stall");
    assert_true(t.items[2].at == 7);
    assert_int_equal(drillscore_truth_load(db, run_id + 1, &t, err, sizeof err), 0);
    assert_int_equal(t.n, 0);  /* no such run: nothing was wrong in it */
    resultdb_close(db);
    assert_int_equal(tmpdb_remove(&tmp), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drillscore_answer_parse_and_format),
        cmocka_unit_test(test_drillscore_marks_detection_root_cause_and_localization),
        cmocka_unit_test(test_drillscore_truth_is_each_fault_once_in_time_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
