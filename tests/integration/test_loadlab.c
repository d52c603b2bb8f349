/* Integration tests for the loadlab command (harness/main.c) as a CI job runs it:
 * exit codes, JUnit output, list/show, and what an interrupt or a crashing service
 * leaves behind. The binary is $LOADLAB_BIN (set by the test runner) or build/loadlab. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/childproc.h"
#include "testdb.h"
#include "files.h"
#include "loadlab_proc.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static char out_path[128];

static int setup(void **state)
{
    (void)state;
    if (tmpdb_make(&tmp, "loadlab-cli") < 0)
        return -1;
    snprintf(out_path, sizeof out_path, "%s/output.txt", tmp.dir);
    /* Orphans of loadlab would become our children: proof that none are left. */
    return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return tmpdb_remove(&tmp);
}

static void write_file(const char *name, const char *text, char *path, size_t pathlen)
{
    assert_int_equal(files_write(tmpdb_file(&tmp, name, path, pathlen), text), 0);
}

/* Starts loadlab with args (NULL-terminated, after the binary), output to out_path. */
static pid_t start(const char *const *args, char *const *env)
{
    return loadlab_proc_start(args, env, out_path);
}

static int run(const char *const *args)
{
    return loadlab_proc_wait(start(args, NULL), 60);
}

/* Polls until the latest run has a service pid (the service is up), at most 15 s. */
static pid_t wait_for_service(void)
{
    for (int i = 0; i < 1500; i++) {
        long long pid = testdb_int(tmp.path, "SELECT service_pid FROM runs ORDER BY id DESC LIMIT 1");
        if (pid > 0)
            return (pid_t)pid;
        usleep(10000);
    }
    fail_msg("the service never started");
    return -1;
}

/* No descendant of ours is left: as subreaper we would have inherited any orphan. */
static void assert_no_children_left(void)
{
    for (int i = 0; i < 200; i++) {
        pid_t r = waitpid(-1, NULL, WNOHANG);
        if (r < 0 && errno == ECHILD)
            return;
        usleep(10000);
    }
    fail_msg("a child process was left behind");
}

#define THREE_SECONDS                                                                  \
    "[scenario]\nduration = 3s\nsample_interval = 200ms\n"                             \
    "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\n"              \
    "[load]\nconnections = 2\nscript = scenarios/lua/mix.lua\n"

static void test_loadlab_usage_errors_exit_2(void **state)
{
    char path[256], *out;
    const char *bad_args[] = {"run", "--db", tmp.path, NULL, NULL};
    (void)state;
    assert_int_equal(run((const char *[]){"--help", NULL}), 0);
    assert_int_equal(run((const char *[]){NULL}), 2);
    assert_int_equal(run((const char *[]){"frobnicate", NULL}), 2);
    assert_int_equal(run((const char *[]){"run", NULL}), 2);
    assert_int_equal(run((const char *[]){"run", "--no-such-option", "x.ini", NULL}), 2);
    write_file("bad.ini", "[scenario]\nduration = 3s\n[load]\nconections = 4\n", path, sizeof path);
    bad_args[3] = path;
    assert_int_equal(run(bad_args), 2);
    out = files_read(out_path);
    assert_non_null(out);
    assert_non_null(strstr(out, "bad.ini:4: unknown key 'conections'"));
    free(out);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM runs"), -1);  /* nothing started */
}

static void test_loadlab_missing_wrk_is_clear_error_before_start(void **state)
{
    char path[256], *out;
    char *env[] = {"LOADLAB_WRK=/nonexistent/wrk", NULL};
    const char *args[] = {"run", "--db", tmp.path, path, NULL};
    (void)state;
    write_file("ok.ini", THREE_SECONDS, path, sizeof path);
    assert_int_equal(loadlab_proc_wait(start(args, env), 30), 1);
    out = files_read(out_path);
    assert_non_null(out);
    assert_non_null(strstr(out, "wrk"));
    assert_non_null(strstr(out, "/nonexistent/wrk"));
    free(out);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM runs"), -1);
}

static void test_loadlab_unexpected_verdict_exits_99_with_junit(void **state)
{
    char path[256], junit[160], *out, *xml;
    const char *args[] = {"run", "--quiet", "--db", tmp.path, "--label", "ci-42", "--junit", junit, path, NULL};
    (void)state;
    tmpdb_file(&tmp, "junit.xml", junit, sizeof junit);
    write_file("unmet.ini",
               "[scenario]\nname = unmet\nduration = 1s\nsample_interval = 100ms\n"
               "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\n"
               "[load]\nconnections = 2\npath = /api/products/1\n"
               "[gate]\nthroughput = > 1/s\nerror_rate = < 50%\n"
               "[expect]\nfail = error_rate\n",
               path, sizeof path);
    assert_int_equal(run(args), 99);
    out = files_read(out_path);
    assert_non_null(out);
    assert_non_null(strstr(out, "HELD BUT WAS EXPECTED TO TRIP"));
    assert_non_null(strstr(out, "DID NOT MEET EXPECTATIONS"));
    free(out);
    xml = files_read(junit);
    assert_non_null(xml);
    assert_non_null(strstr(xml, "<testsuite name=\"unmet\" tests=\"2\" failures=\"1\" errors=\"0\""));
    assert_non_null(strstr(xml, "<testcase classname=\"loadlab.unmet\" name=\"throughput\""));
    assert_non_null(strstr(xml, "<failure message=\"error_rate: observed 0%, threshold &lt; 50%"));
    free(xml);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM runs WHERE label = 'ci-42' AND verdict = 'unmet'"), 1);
}

static void test_loadlab_list_and_show(void **state)
{
    char path[256], *out;
    const char *args[] = {"run", "--quiet", "--db", tmp.path, path, NULL};
    char id[32];
    (void)state;
    write_file("listed.ini",
               "[scenario]\nname = listed\nduration = 1s\nsample_interval = 100ms\n"
               "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\n"
               "[load]\nconnections = 1\npath = /api/products/1\n[gate]\nerror_rate = < 1%\n",
               path, sizeof path);
    assert_int_equal(run(args), 0);
    assert_int_equal(run((const char *[]){"list", "--db", tmp.path, NULL}), 0);
    out = files_read(out_path);
    assert_non_null(out);
    assert_non_null(strstr(out, "listed"));
    assert_non_null(strstr(out, "completed"));
    free(out);
    snprintf(id, sizeof id, "%lld", testdb_int(tmp.path, "SELECT max(id) FROM runs"));
    assert_int_equal(run((const char *[]){"show", "--db", tmp.path, id, NULL}), 0);
    out = files_read(out_path);
    assert_non_null(out);
    assert_non_null(strstr(out, "status completed, verdict met"));
    assert_non_null(strstr(out, "error_rate"));
    free(out);
    assert_int_equal(run((const char *[]){"show", "--db", tmp.path, "999999", NULL}), 2);
    assert_int_equal(run((const char *[]){"show", "--db", tmp.path, "x", NULL}), 2);
    assert_int_equal(run((const char *[]){"list", "--db", "/nonexistent/results.db", NULL}), 2);
}

static void test_loadlab_sigint_marks_aborted_and_leaves_no_child(void **state)
{
    char path[256], *out;
    const char *args[] = {"run", "--db", tmp.path, path, path, NULL};
    pid_t loadlab, service;
    (void)state;
    write_file("interrupted.ini", THREE_SECONDS, path, sizeof path);
    loadlab = start(args, NULL);
    service = wait_for_service();
    usleep(800000);
    assert_int_equal(kill(loadlab, SIGINT), 0);
    assert_int_equal(loadlab_proc_wait(loadlab, 20), 130);
    assert_no_children_left();
    assert_int_equal(kill(service, 0), -1);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM runs WHERE status = 'aborted' AND exit_reason LIKE "
                               "'%SIGINT%' AND ended_at IS NOT NULL"), 1);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM runs WHERE status = 'running'"), 0);
    out = files_read(out_path);
    assert_non_null(out);
    assert_non_null(strstr(out, "Interrupted: 1 of 2 scenarios not run"));
    free(out);
}

static void test_loadlab_service_crash_marks_crashed(void **state)
{
    char path[256], *out;
    const char *args[] = {"run", "--quiet", "--db", tmp.path, path, NULL};
    pid_t loadlab, service;
    (void)state;
    write_file("crash.ini", THREE_SECONDS, path, sizeof path);
    loadlab = start(args, NULL);
    service = wait_for_service();
    usleep(500000);
    assert_int_equal(kill(service, SIGKILL), 0);
    assert_int_equal(loadlab_proc_wait(loadlab, 20), 1);
    assert_no_children_left();
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM runs WHERE status = 'crashed' AND exit_reason LIKE "
                               "'%killed by signal 9 (SIGKILL)%'"), 1);
    out = files_read(out_path);
    assert_non_null(out);
    assert_non_null(strstr(out, "crashed"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loadlab_usage_errors_exit_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loadlab_missing_wrk_is_clear_error_before_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loadlab_unexpected_verdict_exits_99_with_junit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loadlab_list_and_show, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loadlab_sigint_marks_aborted_and_leaves_no_child, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loadlab_service_crash_marks_crashed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
