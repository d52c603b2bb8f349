/* Tests for output/summary.c: the table printed after a suite, read as a CI log is —
 * one header line per scenario with its result, the load line, one row per gate with
 * threshold, observed value and verdict in aligned columns (a gate name too long for
 * the column gets a line of its own), the reason of a run that did not complete, and
 * the closing count. The outcomes are the hand-built fixture (outcome_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge/verdict.h"
#include "outcome_fixture.h"
#include "output/summary.h"

#define LONG_GATE "metric.orderd_block_seconds_total{site=\"queue_push_blocking\"}.slope"

static struct outcome_fixture fx;

static int setup(void **state)
{
    (void)state;
    outcome_fixture_build(&fx);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    outcome_fixture_free(&fx);
    return 0;
}

/* What summary_print writes for n outcomes (caller frees with free: open_memstream's). */
static char *print(const struct runner_outcome *outcomes, size_t n, double wall_s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    summary_print(f, outcomes, n, "results.db", wall_s);
    assert_int_equal(fclose(f), 0);
    return text;
}

/* The line of text that starts with prefix, copied into line; fails when there is none. */
static void find_line(const char *text, const char *prefix, char *line, size_t len)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            size_t n = strcspn(p, "\n");
            snprintf(line, len, "%.*s", (int)n, p);
            return;
        }
    }
    fail_msg("no line starting '%s' in:\n%s", prefix, text);
}

static void assert_line(const char *text, const char *expected)
{
    char line[512];
    find_line(text, expected, line, sizeof line);
    assert_string_equal(line, expected);
}

static void test_summary_one_header_per_scenario_with_its_result(void **state)
{
    char *text = print(fx.outcomes, OUTCOME_FIXTURE_N, 12.0);
    size_t headers = 0;
    (void)state;
    assert_line(text, "shop  (run 11, completed, 2.5s): DID NOT MEET EXPECTATIONS");
    assert_line(text, "crashy  (run 12, crashed, 2.5s): ERROR");
    assert_line(text, "nogates  (run 13, completed, 2.5s): met expectations");
    assert_line(text, "broken-gate  (run 14, completed, 2.5s): ERROR");
    /* Every other line is indented under its scenario, or blank, or the closing line. */
    for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
        if (*p != ' ' && *p != '\n' && strstr(p, "(run ") && strstr(p, "(run ") < strchr(p, '\n'))
            headers++;
        if (!strchr(p, '\n'))
            break;
    }
    assert_int_equal(headers, OUTCOME_FIXTURE_N);
    free(text);
}

static void test_summary_gate_rows_are_aligned_columns(void **state)
{
    char *text = print(fx.outcomes, OUTCOME_FIXTURE_N, 12.0);
    char row[3][512];
    const char *words[] = {VERDICT_WORD_HELD, "FAILED", VERDICT_WORD_TRIPPED_AS_EXPECTED};
    (void)state;
    assert_line(text, "  load: 1000 requests in 2.0s, 500 req/s, p50 1ms, p99 50ms, errors 0%");
    find_line(text, "  throughput ", row[0], sizeof row[0]);
    find_line(text, "  p99_latency ", row[1], sizeof row[1]);
    find_line(text, "  error_rate ", row[2], sizeof row[2]);
    assert_string_equal(row[0], "  throughput    > 100 req/s        500 req/s      " VERDICT_WORD_HELD);
    assert_string_equal(row[1], "  p99_latency   < 20ms             50ms           FAILED");
    /* Each column starts at the same place in every row. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(strchr(row[i] + 2, ' ') - row[i] <= 16, 1);
        assert_true(row[i][16] == '<' || row[i][16] == '>');
        assert_true(row[i][35] != ' ' && row[i][34] == ' ');
        assert_string_equal(row[i] + 50, words[i]);
    }
    free(text);
}

static void test_summary_says_why_a_run_did_not_count(void **state)
{
    char *text = print(fx.outcomes, OUTCOME_FIXTURE_N, 12.0);
    (void)state;
    assert_line(text, "  reason: " OUTCOME_FIXTURE_HOSTILE);
    assert_line(text, "  error_rate    < 1%               -              ERROR: " OUTCOME_FIXTURE_HOSTILE);
    free(text);
}

static void test_summary_closing_line_counts_the_suite(void **state)
{
    char *text = print(fx.outcomes, OUTCOME_FIXTURE_N, 12.0);
    (void)state;
    assert_line(text, "4 scenarios: 1 met expectations, 1 did not, 2 could not be judged. "
                      "Runs 11-14 in results.db. Wall time 12.0s.");
    free(text);

    /* One scenario, interrupted, with no run row: singular, no run range. */
    fx.outcomes[2].interrupted = true;
    fx.outcomes[2].run_id = 0;
    text = print(&fx.outcomes[2], 1, 0.5);
    assert_line(text, "nogates  (run 0, completed, 2.5s): INTERRUPTED");
    assert_line(text, "1 scenario: 0 met expectations, 0 did not, 1 could not be judged. Wall time 0.5s.");
    free(text);
}

static void test_summary_long_gate_name_gets_a_line_of_its_own(void **state)
{
    static const char text_ini[] =
        "[scenario]\nname = blocked\nduration = 2s\n[service]\ncommand = build/orderd\n"
        "[load]\nconnections = 1\npath = /\n[gate]\n" LONG_GATE " = < 0.1\nerror_rate = < 1%\n";
    char err[512], line[512], *text, *at;
    struct scenario *sc = scenario_parse(text_ini, strlen(text_ini), "blocked.ini", err, sizeof err);
    struct runner_outcome *o = test_calloc(1, sizeof *o);
    (void)state;
    if (!sc)
        fail_msg("%s", err);
    o->scenario = sc;
    o->run_id = 5;
    o->status = RUNNER_COMPLETED;
    o->judged = o->met = true;
    o->ngates = 2;
    for (size_t i = 0; i < 2; i++)
        o->gates[i] = (struct gate_result){.spec = &sc->gates[i], .observed = 0.001, .verdict = GATE_PASS};
    text = print(o, 1, 1);
    /* The long name alone, then its figures under the short names' columns. */
    assert_line(text, "  " LONG_GATE);
    at = strstr(text, "  " LONG_GATE "\n");
    assert_non_null(at);
    find_line(at + strlen(LONG_GATE) + 3, "  ", line, sizeof line);
    assert_string_equal(line, "                < 0.1s/s           0.001s/s       " VERDICT_WORD_HELD);
    find_line(text, "  error_rate", line, sizeof line);
    assert_string_equal(line, "  error_rate    < 1%               0.1%           " VERDICT_WORD_HELD);
    free(text);
    test_free(o);
    scenario_free(sc);
}

static void test_summary_gate_result_words(void **state)
{
    struct gate_result g = {.verdict = GATE_PASS};
    (void)state;
    assert_string_equal(summary_gate_result(&g), VERDICT_WORD_HELD);
    g.expected_to_fail = true;
    assert_string_equal(summary_gate_result(&g), "HELD BUT WAS EXPECTED TO TRIP");
    g.verdict = GATE_FAIL;
    assert_string_equal(summary_gate_result(&g), VERDICT_WORD_TRIPPED_AS_EXPECTED);
    g.expected_to_fail = false;
    assert_string_equal(summary_gate_result(&g), "FAILED");
    g.verdict = GATE_ERROR;
    assert_string_equal(summary_gate_result(&g), "ERROR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_summary_one_header_per_scenario_with_its_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_gate_rows_are_aligned_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_says_why_a_run_did_not_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_closing_line_counts_the_suite, setup, teardown),
        cmocka_unit_test(test_summary_long_gate_name_gets_a_line_of_its_own),
        cmocka_unit_test(test_summary_gate_result_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
