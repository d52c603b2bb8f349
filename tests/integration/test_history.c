/* Tests for output/history.c through the command that prints it — `loadlab list` and
 * `loadlab show RUN` on the report fixture database (report_fixture.h), whose every
 * run, figure and gate the test knows: one row per run, oldest first, with its
 * scenario, label, status, verdict, throughput, p99 and failed gates; --limit keeps
 * the newest; a run shown in full has its facts, faults, load and one line per gate
 * with the verdict word; a crashed run shows its reason and no gates. Tested through
 * the binary, not history_list/history_show, so the tests hold while the readers
 * behind them move. The binary is $LOADLAB_BIN (set by the test runner) or
 * build/loadlab. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "judge/verdict.h"
#include "loadlab_proc.h"
#include "report_fixture.h"
#include "store/resultdb.h"
#include "testdb.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static char out_path[160];

static int group_setup(void **state)
{
    (void)state;
    if (report_fixture_tmpdb(&tmp, "history-test") < 0)
        return -1;
    tmpdb_file(&tmp, "output.txt", out_path, sizeof out_path);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return tmpdb_remove(&tmp);
}

/* Runs loadlab with args; returns its output (caller frees) and checks its exit code. */
static char *loadlab(const char *const *args, int expected_exit)
{
    int rc = loadlab_proc_run(args, NULL, out_path, 30);
    char *out = files_read(out_path);
    assert_non_null(out);
    if (rc != expected_exit)
        fail_msg("exit %d, expected %d:\n%s", rc, expected_exit, out);
    return out;
}

/* The row of `loadlab list` for one run, split at its columns. */
struct list_row {
    long id;
    char started[40], scenario[40], label[40], status[16], rps[16], p99[16], verdict[64];
};

static size_t parse_rows(const char *text, struct list_row *rows, size_t max)
{
    size_t n = 0;
    const char *line = strchr(text, '\n');  /* past the header */
    assert_non_null(line);
    assert_int_equal(strncmp(text, "  RUN  STARTED (UTC)", 20), 0);
    for (line++; *line && n < max; line = strchr(line, '\n') + 1) {
        struct list_row *r = &rows[n];
        int used = 0;
        if (sscanf(line, "%ld %39s %39s %39s %15s %15s %15s %n", &r->id, r->started, r->scenario, r->label,
                   r->status, r->rps, r->p99, &used) != 7 || !used)
            fail_msg("not a row: %.*s", (int)strcspn(line, "\n"), line);
        /* the verdict is the rest of the line: words and a gate count */
        snprintf(r->verdict, sizeof r->verdict, "%.*s", (int)strcspn(line + used, "\n"), line + used);
        n++;
        if (!strchr(line, '\n'))
            break;
    }
    return n;
}

static void assert_row_is_fixture_run(const struct list_row *r, long id)
{
    const struct report_fixture_run *spec = &report_fixture_runs[id - 1];
    char want[64];
    bool crashed = strcmp(spec->status, "crashed") == 0;

    assert_int_equal(r->id, id);
    assert_string_equal(r->scenario, spec->scenario);
    assert_string_equal(r->label, spec->label);
    assert_string_equal(r->status, spec->status);
    assert_int_equal(strncmp(r->started, "20", 2), 0);   /* an ISO date, UTC */
    assert_non_null(strchr(r->started, 'T'));
    if (crashed) {
        assert_string_equal(r->verdict, "-");
        assert_string_equal(r->rps, "-");
        assert_string_equal(r->p99, "-");
        return;
    }
    snprintf(want, sizeof want, "%.0f", spec->throughput);
    assert_string_equal(r->rps, want);
    snprintf(want, sizeof want, "%.2fms", spec->p99 * 1e3);
    assert_string_equal(r->p99, want);
    /* Run 4 (baseline v3) is the throughput regression: one gate failed, unmet; a stall
     * run trips the gate its scenario expects to trip; the rest hold. */
    if (id == 4)
        snprintf(want, sizeof want, "FAILED (1 of %zu gates)", report_fixture_gate_count(spec));
    else if (spec->stall)
        snprintf(want, sizeof want, "tripped as expected (1 of %zu gates)", report_fixture_gate_count(spec));
    else if (report_fixture_gate_count(spec) == 0)
        snprintf(want, sizeof want, "no gates");
    else
        snprintf(want, sizeof want, "held (%zu gate%s)", report_fixture_gate_count(spec),
                 report_fixture_gate_count(spec) == 1 ? "" : "s");
    assert_string_equal(r->verdict, want);
}

static void test_history_list_shows_every_run_oldest_first(void **state)
{
    struct list_row rows[REPORT_FIXTURE_RUNS + 1];
    char *out = loadlab((const char *[]){"list", "--db", tmp.path, NULL}, 0);
    (void)state;
    assert_int_equal(parse_rows(out, rows, REPORT_FIXTURE_RUNS + 1), REPORT_FIXTURE_RUNS);
    for (long i = 0; i < REPORT_FIXTURE_RUNS; i++)
        assert_row_is_fixture_run(&rows[i], i + 1);
    free(out);
}

static void test_history_list_limit_keeps_the_newest(void **state)
{
    struct list_row rows[REPORT_FIXTURE_RUNS + 1];
    char *out = loadlab((const char *[]){"list", "--db", tmp.path, "--limit", "3", NULL}, 0);
    (void)state;
    assert_int_equal(parse_rows(out, rows, REPORT_FIXTURE_RUNS + 1), 3);
    for (long i = 0; i < 3; i++)
        assert_row_is_fixture_run(&rows[i], REPORT_FIXTURE_RUNS - 2 + i);
    free(out);
    free(loadlab((const char *[]){"list", "--db", tmp.path, "--limit", "0", NULL}, 2));
}

static void test_history_list_of_an_empty_database(void **state)
{
    char empty[160], err[512], *out;
    struct resultdb *db;
    (void)state;
    tmpdb_file(&tmp, "empty.db", empty, sizeof empty);
    db = resultdb_open(empty, false, err, sizeof err);
    if (!db)
        fail_msg("%s", err);
    resultdb_close(db);
    out = loadlab((const char *[]){"list", "--db", empty, NULL}, 0);
    assert_non_null(strstr(out, "\n(no runs yet)\n"));
    free(out);
}

/* The line of text that starts with prefix (at a line start), or NULL. */
static const char *line_starting(const char *text, const char *prefix)
{
    for (const char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            return p;
    return NULL;
}

static void assert_gate_line(const char *text, const char *gate, const char *word)
{
    char prefix[128];
    const char *line, *end;
    snprintf(prefix, sizeof prefix, "  %s ", gate);
    line = line_starting(text, prefix);
    if (!line)
        fail_msg("no line for gate %s in:\n%s", gate, text);
    end = strchr(line, '\n');
    /* The verdict word ends the line. */
    if ((size_t)(end - line) < strlen(word) || strncmp(end - strlen(word), word, strlen(word)) != 0)
        fail_msg("gate %s: '%.*s' does not end with '%s'", gate, (int)(end - line), line, word);
}

static void test_history_show_prints_a_run_in_full(void **state)
{
    char *out = loadlab((const char *[]){"show", "--db", tmp.path, "2", NULL}, 0);
    const char *gates;
    size_t gate_lines = 0;
    (void)state;
    assert_non_null(line_starting(out, "run 2: queue-stall (scenarios/queue-stall.ini)\n"));
    assert_non_null(line_starting(out, "label v1, git "));
    assert_non_null(line_starting(out, "status completed, verdict met\n"));
    assert_non_null(line_starting(out, "steady state: t = 2.00s .. 10.00s\n"));
    assert_non_null(line_starting(out, "settings:\n{"));
    assert_non_null(strstr(out, "\nfaults:\n  stall        queue.stall    on(50ms)"));
    assert_non_null(strstr(out, "\nload:\n  measure  at  2.00s  8.0s  6400 requests  800 req/s"));
    assert_non_null(line_starting(out, "throughput windows ("));

    gates = strstr(out, "\ngates:\n");
    assert_non_null(gates);
    for (const char *p = gates + 8; strncmp(p, "  ", 2) == 0; p = strchr(p, '\n') + 1)
        gate_lines++;
    assert_int_equal(gate_lines, report_fixture_gate_count(&report_fixture_runs[1]));
    assert_gate_line(gates, "throughput", VERDICT_WORD_HELD);
    assert_gate_line(gates, "queue_saturation", VERDICT_WORD_TRIPPED_AS_EXPECTED);
    assert_non_null(line_starting(out, "samples: "));
    free(out);

    out = loadlab((const char *[]){"show", "--db", tmp.path, "4", NULL}, 0);
    assert_non_null(line_starting(out, "status completed, verdict unmet\n"));
    assert_gate_line(out, "throughput", VERDICT_WORD_FAILED);
    assert_gate_line(out, "p99_latency", VERDICT_WORD_HELD);
    free(out);
}

static void test_history_show_of_a_crashed_run_gives_its_reason(void **state)
{
    char *out = loadlab((const char *[]){"show", "--db", tmp.path, "5", NULL}, 0);
    (void)state;
    assert_non_null(line_starting(out, "status crashed, verdict -\n"));
    assert_non_null(line_starting(out, "reason: the service exited with status 1"));
    assert_null(strstr(out, "\ngates:\n"));
    free(out);
}

static void test_history_show_of_no_such_run(void **state)
{
    char *out = loadlab((const char *[]){"show", "--db", tmp.path, "999", NULL}, 2);
    (void)state;
    assert_non_null(strstr(out, "no run 999"));
    free(out);
    free(loadlab((const char *[]){"show", "--db", tmp.path, "x", NULL}, 2));
    free(loadlab((const char *[]){"show", "--db", tmp.path, "--limit", "2", "1", NULL}, 2));
}

/* A gate judged per instance on a fleet: show names the worst instance on its line.
 * Runs last: it marks run 2's queue_saturation gate as a fleet's. */
static void test_history_show_names_a_fleet_gates_worst_instance(void **state)
{
    char *out;
    const char *line;
    (void)state;
    testdb_exec(tmp.path, "UPDATE gates SET instance = '10.0.0.6:6060', instances = 3 WHERE run_id = 2 "
                          "AND name = 'queue_saturation'");
    out = loadlab((const char *[]){"show", "--db", tmp.path, "2", NULL}, 0);
    line = line_starting(out, "  queue_saturation ");
    assert_non_null(line);
    if (strncmp(strchr(line, '\n') - 37, "  worst of 3 instances: 10.0.0.6:6060", 37) != 0)
        fail_msg("line: %.*s", (int)(strchr(line, '\n') - line), line);
    assert_gate_line(out, "throughput", VERDICT_WORD_HELD);  /* one machine's gates unchanged */
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_list_shows_every_run_oldest_first),
        cmocka_unit_test(test_history_list_limit_keeps_the_newest),
        cmocka_unit_test(test_history_list_of_an_empty_database),
        cmocka_unit_test(test_history_show_prints_a_run_in_full),
        cmocka_unit_test(test_history_show_of_a_crashed_run_gives_its_reason),
        cmocka_unit_test(test_history_show_of_no_such_run),
        cmocka_unit_test(test_history_show_names_a_fleet_gates_worst_instance),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
