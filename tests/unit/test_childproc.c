/* Unit tests for childproc: spawning, exec errors, stopping whole process groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/childproc.h"

static char err[256];

/* A killed process may stay a zombie until init reaps it; that is not "running". */
static bool process_running(pid_t pid)
{
    char path[64], line[512], *close_paren;
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return false;
    n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    close_paren = strrchr(line, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z' && close_paren[2] != 'X';
}

static void test_childproc_capture_output_and_env(void **state)
{
    char *argv[] = {"sh", "-c", "echo \"$CHILDPROC_X\"; exit 3", NULL};
    char out[64];
    (void)state;
    setenv("CHILDPROC_X", "from-parent", 1);
    assert_int_equal(childproc_capture(argv, 5000, out, sizeof out, err, sizeof err), 3);
    assert_string_equal(out, "from-parent");
}

static void test_childproc_env_add_overrides(void **state)
{
    char *argv[] = {"sh", "-c", "echo \"$CHILDPROC_Y\"", NULL};
    char *env[] = {"CHILDPROC_Y=added", NULL};
    struct childproc_spec spec = {.argv = argv, .env_add = env, .stdout_fd = CHILDPROC_PIPE,
                                  .stderr_fd = CHILDPROC_NULL};
    char buf[64] = "";
    int fd = -1, status;
    pid_t pid;
    ssize_t n;
    (void)state;
    setenv("CHILDPROC_Y", "original", 1);
    assert_int_equal(childproc_spawn(&spec, &pid, &fd, err, sizeof err), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    n = read(fd, buf, sizeof buf - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, "added\n");
    close(fd);
}

static void test_childproc_exec_failure_is_reported(void **state)
{
    char *argv[] = {"/no/such/binary", NULL};
    struct childproc_spec spec = {.argv = argv, .stdout_fd = CHILDPROC_NULL, .stderr_fd = CHILDPROC_NULL};
    pid_t pid = 0;
    (void)state;
    assert_int_equal(childproc_spawn(&spec, &pid, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot run /no/such/binary"));
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);  /* nothing left to reap */
    assert_int_equal(errno, ECHILD);
}

static void test_childproc_stop_kills_group_and_stubborn_child(void **state)
{
    /* ignores SIGTERM and leaves a grandchild in its group */
    char *argv[] = {"sh", "-c", "trap '' TERM; sleep 30 & echo $!; wait", NULL};
    struct childproc_spec spec = {.argv = argv, .stdout_fd = CHILDPROC_PIPE, .stderr_fd = CHILDPROC_NULL};
    char buf[32] = "";
    struct pollfd pfd;
    int fd, status = 0;
    pid_t pid, grandchild;
    ssize_t n;
    (void)state;
    assert_int_equal(childproc_spawn(&spec, &pid, &fd, err, sizeof err), 0);
    pfd.fd = fd;
    pfd.events = POLLIN;
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    n = read(fd, buf, sizeof buf - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    grandchild = (pid_t)atoi(buf);
    assert_true(grandchild > 0);
    assert_int_equal(getpgid(grandchild), pid);
    assert_int_equal(childproc_poll(pid, &status), 0);
    assert_int_equal(childproc_stop(pid, 200, &status), 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    for (int i = 0; i < 200 && process_running(grandchild); i++)
        usleep(10000);
    assert_false(process_running(grandchild));
    close(fd);
}

static void test_childproc_describe_status(void **state)
{
    char buf[64];
    (void)state;
    assert_string_equal(childproc_describe_status(3 << 8, buf, sizeof buf), "exited with status 3");
    assert_string_equal(childproc_describe_status(SIGSEGV, buf, sizeof buf), "killed by signal 11 (SIGSEGV)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_childproc_capture_output_and_env),
        cmocka_unit_test(test_childproc_env_add_overrides),
        cmocka_unit_test(test_childproc_exec_failure_is_reported),
        cmocka_unit_test(test_childproc_stop_kills_group_and_stubborn_child),
        cmocka_unit_test(test_childproc_describe_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
