/* Tests for drill: plans from seeds, answers and scores as units; then drills run
 * end to end through the loadlab binary ($LOADLAB_BIN), answered with --answer and
 * on stdin, checked in their output (nothing revealed before the answer) and in the
 * drills table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diagnose/drill.h"
#include "loadlab_proc.h"
#include "orderd_proc.h"
#include "tmpdb.h"

static char err[512];
static struct tmpdb tmp;

static void test_drill_plan_is_reproducible_and_covers_every_case(void **state)
{
    static const char *const faults[] = {"leak.threads", "leak.memory", "lock.cache", "queue.stall", "queue.block", "slow"};
    struct drill_plan a, b;
    int healthy = 0, seen[6] = {0}, late = 0, pairs = 0;
    (void)state;

    for (uint64_t seed = 0; seed < 300; seed++) {
        assert_int_equal(drill_plan_make("random", 1, seed, &a, err, sizeof err), 0);
        assert_int_equal(drill_plan_make(NULL, 1, seed, &b, err, sizeof err), 0);
        assert_memory_equal(&a, &b, sizeof a);
        assert_true(a.nfaults <= 1);
        healthy += a.nfaults == 0;
        for (size_t f = 0; f < 6 && a.nfaults; f++)
            seen[f] += strcmp(a.faults[0].name, faults[f]) == 0;
        assert_int_equal(drill_plan_make("random", 2, seed, &a, err, sizeof err), 0);
        assert_true(a.nfaults == 1 || a.nfaults == 2);
        pairs += a.nfaults == 2;
        if (a.nfaults == 2)
            assert_string_not_equal(a.faults[0].name, a.faults[1].name);
        for (size_t i = 0; i < a.nfaults; i++) {
            late += a.faults[i].at_ns > 0;
            /* queue.block shows only on a queue the load fills from the start */
            if (strcmp(a.faults[i].name, "queue.block") == 0)
                assert_int_equal(a.faults[i].at_ns, 0);
            assert_true(a.faults[i].at_ns == 0 || (a.faults[i].at_ns >= 5000000000LL && a.faults[i].at_ns <= 15000000000LL));
        }
    }
    assert_true(healthy > 10);
    for (size_t f = 0; f < 6; f++)
        assert_true(seen[f] > 10);
    assert_true(late > 30);
    assert_true(pairs > 100);

    assert_int_equal(drill_plan_make("lock.cache", 1, 7, &a, err, sizeof err), 0);
    assert_int_equal(a.nfaults, 1);
    assert_string_equal(a.faults[0].name, "lock.cache");
    assert_int_equal(a.faults[0].at_ns, 0);
    assert_int_equal(drill_plan_make("none", 2, 7, &a, err, sizeof err), 0);
    assert_int_equal(a.nfaults, 0);
    for (uint64_t seed = 0; seed < 20; seed++) {
        assert_int_equal(drill_plan_make("slow", 2, seed, &a, err, sizeof err), 0);
        assert_true(strcmp(a.faults[0].name, "slow") == 0 || (a.nfaults == 2 && strcmp(a.faults[1].name, "slow") == 0));
    }
    assert_int_equal(drill_plan_make("deadlock", 1, 1, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown fault 'deadlock'"));
    assert_int_equal(drill_plan_make(NULL, 3, 1, &a, err, sizeof err), -1);
}

static void test_drill_answer_parse_and_format(void **state)
{
    struct drill_answer a;
    char buf[512];
    (void)state;

    assert_int_equal(drill_answer_parse("  healthy \n", &a, err, sizeof err), 0);
    assert_int_equal(a.n, 0);
    assert_string_equal(drill_answer_format(&a, buf, sizeof buf), "healthy");
    assert_int_equal(drill_answer_parse("class=lock-contention culprit=cache_get_global; culprit=x class=thread-leak ;",
                                        &a, err, sizeof err), 0);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.problems[0].class_name, "lock-contention");
    assert_string_equal(a.problems[0].culprit, "cache_get_global");
    assert_string_equal(a.problems[1].class_name, "thread-leak");
    assert_string_equal(drill_answer_format(&a, buf, sizeof buf),
                        "class=lock-contention culprit=cache_get_global; class=thread-leak culprit=x");
    assert_int_equal(drill_answer_parse("class=queue-full", &a, err, sizeof err), 0);
    assert_string_equal(a.problems[0].culprit, "");

    assert_int_equal(drill_answer_parse("class=deadlock", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "'deadlock' is not a class"));
    assert_int_equal(drill_answer_parse("class=queue-full culprit=9lives", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a function name"));
    assert_int_equal(drill_answer_parse("culprit=f", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "needs class="));
    assert_int_equal(drill_answer_parse("the lock", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "not key=value"));
    assert_int_equal(drill_answer_parse("", &a, err, sizeof err), -1);
    assert_int_equal(drill_answer_parse("class=queue-full;class=queue-full;class=queue-full;class=queue-full;"
                                        "class=queue-full", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most 4"));
}

static struct drill_truth truth_of(const char *class1, const char *culprit1, const char *class2, const char *culprit2)
{
    struct drill_truth t = {0};
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

static double score(const struct drill_truth *t, const char *answer, struct drill_score *s)
{
    struct drill_answer a;
    assert_int_equal(drill_answer_parse(answer, &a, err, sizeof err), 0);
    drill_score_answer(t, &a, s);
    return s->score;
}

static void test_drill_scores_detection_root_cause_and_localization(void **state)
{
    struct drill_truth healthy = truth_of(NULL, NULL, NULL, NULL);
    struct drill_truth lock = truth_of("lock-contention", "cache_get_global", NULL, NULL);
    struct drill_truth two = truth_of("thread-leak", "leak_notifier_wait", "cpu-slowdown", "request_burn_cpu");
    struct drill_score s;
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

static int setup_dir(void **state)
{
    (void)state;
    return tmpdb_make(&tmp, "drill-test");
}

static int teardown_dir(void **state)
{
    (void)state;
    return tmpdb_remove(&tmp);
}

static double query_double(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    double v = NAN;
    assert_int_equal(sqlite3_open_v2(tmp.path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Nothing before the reveal may name the fault, its class or its culprit. */
static void assert_nothing_revealed(const char *output, const char *const *secrets)
{
    const char *reveal = strstr(output, "=== The truth");
    assert_non_null(reveal);
    for (size_t i = 0; secrets[i]; i++) {
        const char *at = strstr(output, secrets[i]);
        if (at && at < reveal)
            fail_msg("'%s' shown before the answer:\n%s", secrets[i], output);
    }
}

static void test_drill_with_answer_end_to_end(void **state)
{
    const char *argv[] = {loadlab_proc_bin(), "drill", "--db", tmp.path, "--fault", "slow", "--seed", "5", "--min-time", "3s",
                          "--trainee", "ann", "--answer", "class=cpu-slowdown culprit=request_burn_cpu", NULL};
    const char *secrets[] = {"slow", "cpu-slowdown", "request_burn_cpu", NULL};
    char *output = NULL;
    int rc = orderd_proc_run(argv, NULL, 0, &output);
    (void)state;

    if (rc != 0)
        fail_msg("exit %d:\n%s", rc, output);
    assert_nothing_revealed(output, secrets);
    assert_non_null(strstr(output, "slow=on(3ms) from t=0.0s: class cpu-slowdown, culprit request_burn_cpu"));
    assert_non_null(strstr(output, "score         100/100"));
    assert_non_null(strstr(output, "What the automatic diagnosis made of it"));
    assert_non_null(strstr(output, "The run's report"));
    free(output);
    assert_float_equal(query_double("SELECT score FROM drills WHERE trainee = 'ann' AND status = 'answered' "
                                    "AND detected = 1 AND classes_right = 1 AND culprits_right = 1 AND extra = 0"),
                       100, 1e-9);
    assert_true(isnan(query_double("SELECT time_s FROM drills WHERE trainee = 'ann'")));  /* not timed: given upfront */
    assert_true(query_double("SELECT count(*) FROM evidence e JOIN drills d ON d.run_id = e.run_id "
                             "WHERE d.trainee = 'ann' AND e.reason = 'answer given'") >= 6);
    assert_true(query_double("SELECT count(*) FROM diagnoses g JOIN drills d ON d.run_id = g.run_id "
                             "WHERE d.trainee = 'ann'") >= 1);
}

static void test_drill_answers_piped_on_stdin_and_history(void **state)
{
    const char *argv[] = {loadlab_proc_bin(), "drill", "--db", tmp.path, "--fault", "lock.cache", "--seed", "6", "--min-time",
                          "3s", "--trainee", "bo", "--no-report", NULL};
    const char *history[] = {loadlab_proc_bin(), "drill", "--db", tmp.path, "--history", "--trainee", "bo", NULL};
    const char *secrets[] = {"lock.cache", "cache_get_global", NULL};
    const char input[] = "maybe\ny\ndeadlock\nlock-contention\ncatalog_get\nn\n";
    char *output = NULL;
    int rc = orderd_proc_run(argv, input, strlen(input), &output);
    (void)state;

    if (rc != 0)
        fail_msg("exit %d:\n%s", rc, output);
    assert_nothing_revealed(output, secrets);
    /* The guided questions, a class that is not one asked again, the answers echoed. */
    assert_non_null(strstr(output, "Is something wrong?"));
    assert_non_null(strstr(output, "'deadlock' is not one of the classes"));
    assert_non_null(strstr(output, "Which function is the culprit"));
    assert_non_null(strstr(output, "Your answer: class=lock-contention culprit=catalog_get"));
    assert_non_null(strstr(output, "localization  0 of 1 culprits named"));
    assert_non_null(strstr(output, "score         67/100"));
    assert_null(strstr(output, "The run's report"));
    free(output);
    assert_true(query_double("SELECT time_s FROM drills WHERE trainee = 'bo'") >= 0);

    rc = orderd_proc_run(history, NULL, 0, &output);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(output, "class=lock-contention culprit=catalog_get"));
    assert_non_null(strstr(output, "Progress: 1 drill scored, mean score 67"));
    assert_non_null(strstr(output, "By class (named / there): lock-contention 1/1"));
    free(output);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drill_plan_is_reproducible_and_covers_every_case),
        cmocka_unit_test(test_drill_answer_parse_and_format),
        cmocka_unit_test(test_drill_scores_detection_root_cause_and_localization),
        cmocka_unit_test_setup_teardown(test_drill_with_answer_end_to_end, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_drill_answers_piped_on_stdin_and_history, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
