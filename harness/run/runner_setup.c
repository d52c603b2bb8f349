/* runner_setup: what a caller sets up before its runs, apart from any one run — the
 * signalfd the runs' loops watch, and the check that a spawned service's binary exists
 * before the first run starts. Declared in runner.h with the rest of the runner. */
#include "run/runner.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/cmdline.h"

int runner_signals_open(char *err, size_t errlen)
{
    sigset_t set;
    int fd;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
        snprintf(err, errlen, "sigprocmask: %s", strerror(errno));
        return -1;
    }
    fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        snprintf(err, errlen, "signalfd: %s", strerror(errno));
    return fd;
}

int runner_signals_take(int signal_fd)
{
    struct signalfd_siginfo info;
    int interrupt = 0;
    while (read(signal_fd, &info, sizeof info) == (ssize_t)sizeof info)
        if (info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM)
            interrupt = (int)info.ssi_signo;
    return interrupt;
}

int runner_check_service_binary(const struct scenario *sc, char *err, size_t errlen)
{
    char msg[400], found[PATH_MAX];
    struct cmdline *cl;
    int rc;

    if (!sc->command[0])
        return 0;
    cl = cmdline_parse(sc->command, msg, sizeof msg);
    if (!cl) {
        snprintf(err, errlen, "%s:%d: %s", sc->file, sc->command_line, msg);
        return -1;
    }
    rc = cmdline_find_executable(cmdline_argv(cl)[0], found, sizeof found, msg, sizeof msg);
    if (rc < 0)
        snprintf(err, errlen, "%s:%d: service command: %s", sc->file, sc->command_line, msg);
    cmdline_free(cl);
    return rc;
}
