/* Integration tests for loadlab's command line as a person and a CI job meet it, on
 * the real binary: every command's own --help, --version (and orderd's), the exit
 * status table of the README — each code of each command — the verdict words of
 * `list`, and colour only on a terminal without NO_COLOR (a real pseudo-terminal).
 * The binary is $LOADLAB_BIN (set by the test runner) or build/loadlab; orderd is
 * $ORDERD_BIN or build/orderd. `run`'s 130 and `compare`'s 99 are test_loadlab's and
 * test_compare's; a whole drill (its 0) is test_drill's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <pty.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "files.h"
#include "loadlab_proc.h"
#include "tmpdb.h"

#define PTY_OUTPUT_MAX 65536

static struct tmpdb tmp;
static char out_path[160], missing_db[160], garbage_db[160];

static int run(const char *const *args)
{
    return loadlab_proc_run(args, NULL, out_path, 60);
}

static int run_env(const char *const *args, char *const *env)
{
    return loadlab_proc_run(args, env, out_path, 60);
}

/* One real run (orderd, 1 s) whose expected gate trips: run 1 of the database. */
static int setup(void **state)
{
    char scenario[200];
    (void)state;
    if (tmpdb_make(&tmp, "loadlab-cli-codes") < 0)
        return -1;
    snprintf(out_path, sizeof out_path, "%s/output.txt", tmp.dir);
    snprintf(missing_db, sizeof missing_db, "%s/missing.db", tmp.dir);
    snprintf(garbage_db, sizeof garbage_db, "%s/garbage.db", tmp.dir);
    snprintf(scenario, sizeof scenario, "%s/tripping.ini", tmp.dir);
    if (files_write(garbage_db, "this is not a database\n") < 0 ||
        files_write(scenario, "[scenario]\nname = tripping\nduration = 1s\nsample_interval = 100ms\n"
                              "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\n"
                              "[load]\nconnections = 1\npath = /api/products/1\n"
                              "[gate]\nerror_rate = < 1%\nthroughput = > 100000000\n"
                              "[expect]\nfail = throughput\n") < 0)
        return -1;
    return loadlab_proc_run((const char *[]){"run", "--quiet", "--label", "a", "--db", tmp.path, scenario, NULL},
                            NULL, out_path, 60) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return tmpdb_remove(&tmp);
}

static char *output(void)
{
    char *out = files_read(out_path);
    assert_non_null(out);
    return out;
}

static const char *const commands[] = {"run", "compare", "list", "show", "report", "diagnose", "drill"};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void test_cli_every_command_has_its_own_help(void **state)
{
    char usage[64], *out, *again;
    (void)state;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        assert_int_equal(run((const char *[]){commands[i], "--help", NULL}), 0);
        out = output();
        snprintf(usage, sizeof usage, "usage: loadlab %s ", commands[i]);
        if (strncmp(out, usage, strlen(usage)) != 0)
            fail_msg("%s --help starts: %.80s", commands[i], out);
        assert_non_null(strstr(out, "options:\n"));
        assert_non_null(strstr(out, "examples:\n"));
        assert_non_null(strstr(out, "exit status:"));
        assert_int_equal(run((const char *[]){"help", commands[i], NULL}), 0);
        again = output();
        assert_string_equal(out, again);
        free(out);
        free(again);
    }
    assert_int_equal(run((const char *[]){"help", "frobnicate", NULL}), 2);
    assert_int_equal(run((const char *[]){"--help", NULL}), 0);
    out = output();
    assert_null(strstr(out, "examples:\n"));  /* the overview is not one command's help */
    assert_non_null(strstr(out, "loadlab COMMAND --help"));
    free(out);
}

/* "NAME 0.1.0 (revision R)" with R hex digits or "unknown". */
static void assert_version_line(const char *out, const char *name)
{
    char prefix[32];
    const char *rev;
    size_t n = 0;
    snprintf(prefix, sizeof prefix, "%s 0.1.0 (revision ", name);
    if (strncmp(out, prefix, strlen(prefix)) != 0)
        fail_msg("version line: %.80s", out);
    rev = out + strlen(prefix);
    if (strncmp(rev, "unknown)\n", 9) == 0)
        return;
    while (isxdigit((unsigned char)rev[n]))
        n++;
    assert_true(n >= 7);
    assert_string_equal(rev + n, ")\n");
}

static void test_cli_version_of_both_programs(void **state)
{
    const char *orderd = getenv("ORDERD_BIN") && *getenv("ORDERD_BIN") ? getenv("ORDERD_BIN") : "build/orderd";
    char cmd[300], line[200] = "";
    FILE *p;
    char *out;
    (void)state;

    assert_int_equal(run((const char *[]){"--version", NULL}), 0);
    out = output();
    assert_version_line(out, "loadlab");
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --version", orderd);
    assert_non_null(p = popen(cmd, "r"));
    assert_non_null(fgets(line, sizeof line, p));
    assert_int_equal(pclose(p), 0);
    assert_version_line(line, "orderd");
}

static void test_cli_exit_0_for_each_command(void **state)
{
    char report_dir[200];
    (void)state;
    snprintf(report_dir, sizeof report_dir, "%s/report", tmp.dir);
    /* run's 0 is setup's */
    assert_int_equal(run((const char *[]){"list", "--db", tmp.path, NULL}), 0);
    assert_int_equal(run((const char *[]){"show", "--db", tmp.path, "1", NULL}), 0);
    assert_int_equal(run((const char *[]){"show", "--db", tmp.path, "--evidence", "1", NULL}), 0);
    assert_int_equal(run((const char *[]){"diagnose", "--db", tmp.path, "--dry-run", "1", NULL}), 0);
    assert_int_equal(run((const char *[]){"report", "--db", tmp.path, "--out", report_dir, "1", NULL}), 0);
    assert_int_equal(run((const char *[]){"compare", "--db", tmp.path, "--candidate", "a", "--baseline", "b", NULL}),
                     0);
    assert_int_equal(run((const char *[]){"drill", "--history", "--all", "--db", tmp.path, NULL}), 0);
}

static void test_cli_exit_99_when_a_gate_differs_from_its_expectation(void **state)
{
    char scenario[200];
    (void)state;
    snprintf(scenario, sizeof scenario, "%s/unmet.ini", tmp.dir);
    assert_int_equal(files_write(scenario, "[scenario]\nname = unmet\nduration = 1s\nsample_interval = 100ms\n"
                                           "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\n"
                                           "[load]\nconnections = 1\npath = /api/products/1\n"
                                           "[gate]\nerror_rate = < 1%\n[expect]\nfail = error_rate\n"),
                     0);
    assert_int_equal(run((const char *[]){"run", "--quiet", "--db", tmp.path, scenario, NULL}), 99);
}

static void test_cli_exit_2_for_bad_usage_of_each_command(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCOMMANDS; i++)
        assert_int_equal(run((const char *[]){commands[i], "--no-such-option", NULL}), 2);
    assert_int_equal(run((const char *[]){"frobnicate", NULL}), 2);
    assert_int_equal(run((const char *[]){"show", "--db", tmp.path, "x", NULL}), 2);
    assert_int_equal(run((const char *[]){"diagnose", "--db", tmp.path, NULL}), 2);
}

static void test_cli_exit_2_for_what_does_not_exist_in_each_command(void **state)
{
    char report_dir[200], *out;
    (void)state;
    snprintf(report_dir, sizeof report_dir, "%s/report-none", tmp.dir);
    /* no such run: the same code whichever command is asked */
    assert_int_equal(run((const char *[]){"show", "--db", tmp.path, "999", NULL}), 2);
    out = output();
    assert_non_null(strstr(out, "no run 999"));
    free(out);
    assert_int_equal(run((const char *[]){"show", "--db", tmp.path, "--evidence", "999", NULL}), 2);
    assert_int_equal(run((const char *[]){"diagnose", "--db", tmp.path, "999", NULL}), 2);
    assert_int_equal(run((const char *[]){"diagnose", "--db", tmp.path, "--baseline", "nosuch", "1", NULL}), 2);
    out = output();
    assert_non_null(strstr(out, "is labelled nosuch"));
    free(out);
    assert_int_equal(run((const char *[]){"report", "--db", tmp.path, "--out", report_dir, "999", NULL}), 2);
    assert_int_equal(run((const char *[]){"compare", "--db", tmp.path, "--candidate", "nosuch", "--baseline", "a",
                                          NULL}),
                     2);
    /* no such database */
    assert_int_equal(run((const char *[]){"list", "--db", missing_db, NULL}), 2);
    assert_int_equal(run((const char *[]){"show", "--db", missing_db, "1", NULL}), 2);
    assert_int_equal(run((const char *[]){"diagnose", "--db", missing_db, "1", NULL}), 2);
    assert_int_equal(run((const char *[]){"report", "--db", missing_db, "--out", report_dir, NULL}), 2);
    assert_int_equal(run((const char *[]){"compare", "--db", missing_db, "--candidate", "a", "--baseline", "b", NULL}),
                     2);
    assert_int_equal(run((const char *[]){"drill", "--history", "--db", missing_db, NULL}), 2);
}

static void test_cli_exit_1_for_anything_else_in_each_command(void **state)
{
    char report_dir[200], scenario[200];
    char *no_wrk[] = {"LOADLAB_WRK=/nonexistent/wrk", NULL};
    (void)state;
    snprintf(report_dir, sizeof report_dir, "%s/report-garbage", tmp.dir);
    snprintf(scenario, sizeof scenario, "%s/tripping.ini", tmp.dir);
    assert_int_equal(run_env((const char *[]){"run", "--db", tmp.path, scenario, NULL}, no_wrk), 1);
    /* a database that is there but cannot be read */
    assert_int_equal(run((const char *[]){"list", "--db", garbage_db, NULL}), 1);
    assert_int_equal(run((const char *[]){"show", "--db", garbage_db, "1", NULL}), 1);
    assert_int_equal(run((const char *[]){"diagnose", "--db", garbage_db, "1", NULL}), 1);
    assert_int_equal(run((const char *[]){"report", "--db", garbage_db, "--out", report_dir, NULL}), 1);
    assert_int_equal(run((const char *[]){"compare", "--db", garbage_db, "--candidate", "a", "--baseline", "b", NULL}),
                     1);
    assert_int_equal(run((const char *[]){"drill", "--history", "--db", garbage_db, NULL}), 1);
    assert_int_equal(run_env((const char *[]){"drill", "--db", tmp.path, "--answer", "healthy", NULL}, no_wrk), 1);
}

/* Runs loadlab on a new pseudo-terminal, NO_COLOR set to no_color (unset when NULL);
 * returns what it wrote there (caller frees). */
static char *run_on_pty(const char *const *args, const char *no_color)
{
    char *argv[LOADLAB_PROC_MAX_ARGS], *buf = malloc(PTY_OUTPUT_MAX + 1);
    size_t used = 0;
    int master, status, n = 0;
    pid_t pid;
    ssize_t got;

    assert_non_null(buf);
    argv[n++] = (char *)loadlab_proc_bin();
    for (int i = 0; args[i] && n < LOADLAB_PROC_MAX_ARGS - 1; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    pid = forkpty(&master, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        if (no_color)
            setenv("NO_COLOR", no_color, 1);
        else
            unsetenv("NO_COLOR");
        execv(argv[0], argv);
        _exit(127);
    }
    /* read until the terminal closes (EIO once the child and its output are gone) */
    while (used < PTY_OUTPUT_MAX && ((got = read(master, buf + used, PTY_OUTPUT_MAX - used)) > 0 ||
                                     (got < 0 && errno == EINTR)))
        if (got > 0)
            used += (size_t)got;
    buf[used] = '\0';
    close(master);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return buf;
}

static void test_cli_list_says_tripped_as_expected(void **state)
{
    char *out;
    (void)state;
    assert_int_equal(run((const char *[]){"list", "--db", tmp.path, NULL}), 0);
    out = output();
    assert_non_null(strstr(out, "tripped as expected (1 of 2 gates)"));
    assert_null(strstr(out, "GATES FAILED"));
    assert_null(strchr(out, '\033'));  /* a file is not a terminal: no colour */
    free(out);
}

static void test_cli_verdicts_coloured_on_a_terminal_unless_no_color(void **state)
{
    const char *const list[] = {"list", "--db", tmp.path, NULL};
    char *out;
    (void)state;
    out = run_on_pty(list, NULL);
    assert_non_null(strstr(out, "\033[32mtripped as expected (1 of 2 gates)\033[0m"));
    free(out);
    out = run_on_pty(list, "1");
    assert_non_null(strstr(out, "tripped as expected (1 of 2 gates)"));
    assert_null(strchr(out, '\033'));
    free(out);
    out = run_on_pty(list, "");  /* NO_COLOR set but empty does not count (no-color.org) */
    assert_non_null(strstr(out, "\033[32m"));
    free(out);
}

static void test_cli_run_summary_coloured_on_a_terminal_only(void **state)
{
    char scenario[200], *out;
    (void)state;
    snprintf(scenario, sizeof scenario, "%s/tripping.ini", tmp.dir);
    out = run_on_pty((const char *[]){"run", "--quiet", "--db", tmp.path, scenario, NULL}, NULL);
    assert_non_null(strstr(out, "\033[32mmet expectations\033[0m"));
    assert_non_null(strstr(out, "\033[32mtripped as expected\033[0m"));
    assert_non_null(strstr(out, "\033[32mheld\033[0m"));
    free(out);
    out = run_on_pty((const char *[]){"run", "--quiet", "--db", tmp.path, scenario, NULL}, "1");
    assert_non_null(strstr(out, "met expectations"));
    assert_null(strchr(out, '\033'));
    free(out);
    assert_int_equal(run((const char *[]){"run", "--quiet", "--db", tmp.path, scenario, NULL}), 0);
    out = output();
    assert_non_null(strstr(out, "tripped as expected"));
    assert_null(strchr(out, '\033'));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_every_command_has_its_own_help),
        cmocka_unit_test(test_cli_version_of_both_programs),
        cmocka_unit_test(test_cli_exit_0_for_each_command),
        cmocka_unit_test(test_cli_exit_99_when_a_gate_differs_from_its_expectation),
        cmocka_unit_test(test_cli_exit_2_for_bad_usage_of_each_command),
        cmocka_unit_test(test_cli_exit_2_for_what_does_not_exist_in_each_command),
        cmocka_unit_test(test_cli_exit_1_for_anything_else_in_each_command),
        cmocka_unit_test(test_cli_list_says_tripped_as_expected),
        cmocka_unit_test(test_cli_verdicts_coloured_on_a_terminal_unless_no_color),
        cmocka_unit_test(test_cli_run_summary_coloured_on_a_terminal_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
