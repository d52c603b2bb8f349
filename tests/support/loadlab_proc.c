/* loadlab_proc: the loadlab binary for command-line tests. See loadlab_proc.h. */
#include "loadlab_proc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/childproc.h"

const char *loadlab_proc_bin(void)
{
    const char *b = getenv("LOADLAB_BIN");
    return b && *b ? b : "build/loadlab";
}

static int open_output(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fail_msg("cannot open %s", path);
    return fd;
}

pid_t loadlab_proc_start(const char *const *args, char *const *env, const char *out_path)
{
    return loadlab_proc_start_split(args, env, out_path, NULL);
}

pid_t loadlab_proc_start_split(const char *const *args, char *const *env, const char *stdout_path,
                               const char *stderr_path)
{
    char *argv[LOADLAB_PROC_MAX_ARGS], err[512];
    struct childproc_spec spec = {.argv = argv, .env_add = env};
    int n = 0, fd = open_output(stdout_path), efd = stderr_path ? open_output(stderr_path) : fd;
    pid_t pid;

    argv[n++] = (char *)loadlab_proc_bin();
    for (int i = 0; args[i]; i++) {
        if (n == LOADLAB_PROC_MAX_ARGS - 1)
            fail_msg("more than %d arguments for loadlab", LOADLAB_PROC_MAX_ARGS - 2);
        argv[n++] = (char *)args[i];
    }
    argv[n] = NULL;
    spec.stdout_fd = fd;
    spec.stderr_fd = efd;
    if (childproc_spawn(&spec, &pid, NULL, err, sizeof err) < 0)
        fail_msg("%s", err);
    close(fd);
    if (efd != fd)
        close(efd);
    return pid;
}

int loadlab_proc_wait(pid_t pid, int timeout_s)
{
    int status;
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

int loadlab_proc_run(const char *const *args, char *const *env, const char *out_path, int timeout_s)
{
    return loadlab_proc_wait(loadlab_proc_start(args, env, out_path), timeout_s);
}
