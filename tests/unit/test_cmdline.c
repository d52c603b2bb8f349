/* Unit tests for cmdline: splitting, quoting, ${VAR} expansion, placeholders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cmdline.h"

static char err[256];

static void test_cmdline_splits_and_quotes(void **state)
{
    struct cmdline *cl = cmdline_parse("  build/orderd --a 'one two' \"x\\\"y\" a\\ b ''  ", err, sizeof err);
    (void)state;
    assert_non_null(cl);
    assert_string_equal(cmdline_argv(cl)[0], "build/orderd");
    assert_string_equal(cmdline_argv(cl)[2], "one two");
    assert_string_equal(cmdline_argv(cl)[3], "x\"y");
    assert_string_equal(cmdline_argv(cl)[4], "a b");
    assert_string_equal(cmdline_argv(cl)[5], "");
    assert_null(cmdline_argv(cl)[6]);
    cmdline_free(cl);
}

static void test_cmdline_expands_environment(void **state)
{
    struct cmdline *cl;
    (void)state;
    setenv("CMDLINE_TEST_BIN", "/opt/orderd", 1);
    unsetenv("CMDLINE_TEST_UNSET");
    cl = cmdline_parse("${CMDLINE_TEST_BIN:-build/orderd} ${CMDLINE_TEST_UNSET:-dflt} "
                       "'${CMDLINE_TEST_BIN}' x${CMDLINE_TEST_UNSET}y", err, sizeof err);
    assert_non_null(cl);
    assert_string_equal(cmdline_argv(cl)[0], "/opt/orderd");
    assert_string_equal(cmdline_argv(cl)[1], "dflt");
    assert_string_equal(cmdline_argv(cl)[2], "${CMDLINE_TEST_BIN}");
    assert_string_equal(cmdline_argv(cl)[3], "xy");
    cmdline_free(cl);
}

/* As in the shell, an unset or empty variable alone is no argument, so a scenario can
 * leave a whole flag to the environment; quoted, it is an empty argument. */
static void test_cmdline_empty_variable_is_no_word(void **state)
{
    struct cmdline *cl;
    (void)state;
    setenv("CMDLINE_TEST_EMPTY", "", 1);
    setenv("CMDLINE_TEST_FLAG", "--rate=5", 1);
    unsetenv("CMDLINE_TEST_UNSET");
    cl = cmdline_parse("orderd ${CMDLINE_TEST_EMPTY} ${CMDLINE_TEST_UNSET} ${CMDLINE_TEST_FLAG} "
                       "\"${CMDLINE_TEST_EMPTY}\" end", err, sizeof err);
    assert_non_null(cl);
    assert_string_equal(cmdline_argv(cl)[0], "orderd");
    assert_string_equal(cmdline_argv(cl)[1], "--rate=5");
    assert_string_equal(cmdline_argv(cl)[2], "");
    assert_string_equal(cmdline_argv(cl)[3], "end");
    assert_null(cmdline_argv(cl)[4]);
    cmdline_free(cl);
}

static void test_cmdline_rejects_bad_input(void **state)
{
    (void)state;
    assert_null(cmdline_parse("a 'b", err, sizeof err));
    assert_non_null(strstr(err, "unbalanced"));
    assert_null(cmdline_parse("   ", err, sizeof err));
    assert_non_null(strstr(err, "empty"));
    assert_null(cmdline_parse("${UNCLOSED", err, sizeof err));
    assert_null(cmdline_parse("${A:=x}", err, sizeof err));
    assert_null(cmdline_parse("a\\", err, sizeof err));
}

static void test_cmdline_limits_argument_count(void **state)
{
    char text[CMDLINE_MAX_ARGS * 2 + 8];
    size_t n = 0;
    (void)state;
    for (int i = 0; i <= CMDLINE_MAX_ARGS; i++) {
        text[n++] = 'a';
        text[n++] = ' ';
    }
    text[n] = '\0';
    assert_null(cmdline_parse(text, err, sizeof err));
    assert_non_null(strstr(err, "more than"));
}

static void test_cmdline_substitutes_placeholders(void **state)
{
    struct cmdline *cl = cmdline_parse("svc --port={port} --debug {debug_port}", err, sizeof err);
    char url[64];
    (void)state;
    assert_true(cmdline_has_placeholder(cl, "{port}"));
    assert_int_equal(cmdline_substitute(cl, "{port}", "8080", err, sizeof err), 0);
    assert_int_equal(cmdline_substitute(cl, "{debug_port}", "6060", err, sizeof err), 0);
    assert_false(cmdline_has_placeholder(cl, "{port}"));
    assert_string_equal(cmdline_argv(cl)[1], "--port=8080");
    assert_string_equal(cmdline_argv(cl)[3], "6060");
    assert_int_equal(cmdline_substitute_text("http://h:{port}/{port}", "{port}", "1", url, sizeof url), 0);
    assert_string_equal(url, "http://h:1/1");
    assert_int_equal(cmdline_substitute_text("{port}{port}", "{port}", "123456", url, 8), -1);
    cmdline_free(cl);
}

static void test_cmdline_finds_executables(void **state)
{
    char path[512];
    (void)state;
    assert_int_equal(cmdline_find_executable("sh", path, sizeof path, err, sizeof err), 0);
    assert_non_null(strstr(path, "/sh"));
    assert_int_equal(cmdline_find_executable("/bin/sh", path, sizeof path, err, sizeof err), 0);
    assert_int_equal(cmdline_find_executable("no-such-binary-xyz", path, sizeof path, err, sizeof err), -1);
    assert_non_null(strstr(err, "not found in PATH"));
    assert_int_equal(cmdline_find_executable("build/nope/orderd", path, sizeof path, err, sizeof err), -1);
    assert_non_null(strstr(err, "no such file"));
    {
        char plain[] = "/tmp/cmdline-test-XXXXXX";
        int fd = mkstemp(plain);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(cmdline_find_executable(plain, path, sizeof path, err, sizeof err), -1);
        assert_non_null(strstr(err, "not an executable"));
        unlink(plain);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmdline_splits_and_quotes),
        cmocka_unit_test(test_cmdline_expands_environment),
        cmocka_unit_test(test_cmdline_empty_variable_is_no_word),
        cmocka_unit_test(test_cmdline_rejects_bad_input),
        cmocka_unit_test(test_cmdline_limits_argument_count),
        cmocka_unit_test(test_cmdline_substitutes_placeholders),
        cmocka_unit_test(test_cmdline_finds_executables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
