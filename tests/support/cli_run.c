/* cli_run: the loadlab binary under test, run and read back. See cli_run.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli_run.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/childproc.h"

#define MAX_READ (1 << 20)

int cli_run_loadlab(const char *const *args, char *const *env, const char *out_path, int timeout_s)
{
    const char *bin = getenv("LOADLAB_BIN") && *getenv("LOADLAB_BIN") ? getenv("LOADLAB_BIN") : "build/loadlab";
    char *argv[40], err[512];
    struct childproc_spec spec = {.argv = argv, .env_add = env};
    int n = 0, status, fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_t pid;

    assert_true(fd >= 0);
    argv[n++] = (char *)bin;
    for (int i = 0; args[i] && n < 39; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    spec.stdout_fd = spec.stderr_fd = fd;
    if (childproc_spawn(&spec, &pid, NULL, err, sizeof err) < 0)
        fail_msg("%s", err);
    close(fd);
    for (int i = 0; i < timeout_s * 100; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fail_msg("loadlab did not finish within %ds", timeout_s);
    return -1;
}

char *cli_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, MAX_READ);
    assert_non_null(buf);
    if (f) {
        size_t n = fread(buf, 1, MAX_READ - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}
