/* Tests for harness/judge/verdict.c: the one vocabulary for gate outcomes. The SQL
 * view's CASE is evaluated by a real SQLite, so the words a report reads from the
 * database and the words the terminal prints cannot drift apart again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "judge/verdict.h"

static void test_verdict_outcome_each_case(void **state)
{
    (void)state;
    assert_int_equal(verdict_outcome(1, false), VERDICT_HELD);
    assert_int_equal(verdict_outcome(0, true), VERDICT_TRIPPED_AS_EXPECTED);
    assert_int_equal(verdict_outcome(0, false), VERDICT_FAILED);
    assert_int_equal(verdict_outcome(1, true), VERDICT_HELD_UNEXPECTEDLY);
    assert_int_equal(verdict_outcome(-1, false), VERDICT_ERROR);
    assert_int_equal(verdict_outcome(-1, true), VERDICT_ERROR);
    assert_int_equal(verdict_of_gate(GATE_PASS, false), VERDICT_HELD);
    assert_int_equal(verdict_of_gate(GATE_FAIL, true), VERDICT_TRIPPED_AS_EXPECTED);
    assert_int_equal(verdict_of_gate(GATE_ERROR, true), VERDICT_ERROR);
}

static void test_verdict_met_only_as_expected(void **state)
{
    (void)state;
    assert_true(verdict_met(VERDICT_HELD));
    assert_true(verdict_met(VERDICT_TRIPPED_AS_EXPECTED));
    assert_false(verdict_met(VERDICT_FAILED));
    assert_false(verdict_met(VERDICT_HELD_UNEXPECTEDLY));
    assert_false(verdict_met(VERDICT_ERROR));
}

static void test_verdict_loud_words_shout_only_misses(void **state)
{
    (void)state;
    assert_string_equal(verdict_word_loud(VERDICT_HELD), "held");
    assert_string_equal(verdict_word_loud(VERDICT_TRIPPED_AS_EXPECTED), "tripped as expected");
    assert_string_equal(verdict_word_loud(VERDICT_FAILED), "FAILED");
    assert_string_equal(verdict_word_loud(VERDICT_HELD_UNEXPECTEDLY), "HELD BUT WAS EXPECTED TO TRIP");
    assert_string_equal(verdict_word_loud(VERDICT_ERROR), "ERROR");
}

/* Every (passed, expected) pair through the SQL CASE gives the C word. */
static void test_verdict_sql_case_matches_c_words(void **state)
{
    (void)state;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT " VERDICT_SQL_CASE("?1", "?2"), -1, &st, NULL), SQLITE_OK);
    static const int passed_values[] = {1, 0, -1};
    for (size_t i = 0; i < 3; i++) {
        for (int expected = 0; expected <= 1; expected++) {
            sqlite3_reset(st);
            if (passed_values[i] < 0)
                sqlite3_bind_null(st, 1);
            else
                sqlite3_bind_int(st, 1, passed_values[i]);
            sqlite3_bind_int(st, 2, expected);
            assert_int_equal(sqlite3_step(st), SQLITE_ROW);
            const char *word = (const char *)sqlite3_column_text(st, 0);
            assert_string_equal(word, verdict_word(verdict_outcome(passed_values[i], expected != 0)));
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict_outcome_each_case),
        cmocka_unit_test(test_verdict_met_only_as_expected),
        cmocka_unit_test(test_verdict_loud_words_shout_only_misses),
        cmocka_unit_test(test_verdict_sql_case_matches_c_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
