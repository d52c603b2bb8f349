/* Unit tests for loadwrk: wrk's command line and environment for a stage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "run/loadwrk.h"

static struct scenario *scenario(void)
{
    static const char text[] = "[scenario]\nduration = 5s\n[service]\ncommand = /bin/true\n"
                               "[load]\nconnections = 16\nthreads = 2\npath = /api/orders\nmethod = POST\n"
                               "body = {\"product\":1}\ntimeout = 3s\n";
    char err[512];
    struct scenario *sc = scenario_parse(text, sizeof text - 1, "t.ini", err, sizeof err);
    if (!sc)
        fail_msg("%s", err);
    return sc;
}

static void test_loadwrk_command_for_a_stage(void **state)
{
    struct scenario *sc = scenario();
    struct loadwrk_command *cmd = malloc(sizeof *cmd);
    char err[256];
    const char *want[] = {"/usr/bin/wrk", "-t", "2", "-c", "16", "-d", "5s", "--timeout", "3s", "-s",
                          "/logs/run-1/wrk.lua", "http://127.0.0.1:8080/api/orders"};
    (void)state;
    assert_non_null(cmd);
    assert_int_equal(loadwrk_build(cmd, sc, "/usr/bin/wrk", "http://127.0.0.1:8080", "/logs/run-1", "measure",
                                   sc->duration_ns, err, sizeof err), 0);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_string_equal(cmd->argv[i], want[i]);
    assert_null(cmd->argv[sizeof want / sizeof want[0]]);
    assert_string_equal(cmd->env[0], "LOADLAB_WRK_SUMMARY=/logs/run-1/wrk-measure.json");
    assert_string_equal(cmd->env[1], "LOADLAB_WRK_METHOD=POST");
    assert_string_equal(cmd->env[2], "LOADLAB_WRK_BODY={\"product\":1}");
    assert_string_equal(cmd->env[3], "LOADLAB_WRK_CONTENT_TYPE=application/json");
    assert_null(cmd->env[4]);
    free(cmd);
    scenario_free(sc);
}

static void test_loadwrk_failed_wrk_names_stage_and_log(void **state)
{
    struct wrkres res;
    char err[512];
    (void)state;
    assert_int_equal(loadwrk_collect("/no/such/dir", "warmup", 1 << 8, &res, err, sizeof err), -1);
    assert_non_null(strstr(err, "wrk exited with status 1 during warmup"));
    assert_non_null(strstr(err, "/no/such/dir/wrk-warmup.log"));
    /* exited 0 but left no figures */
    assert_int_equal(loadwrk_collect("/no/such/dir", "measure", 0, &res, err, sizeof err), -1);
    assert_non_null(strstr(err, "wrk-measure.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loadwrk_command_for_a_stage),
        cmocka_unit_test(test_loadwrk_failed_wrk_names_stage_and_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
