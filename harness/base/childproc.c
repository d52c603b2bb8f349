/* childproc: fork/exec with process groups and exec-error reporting. See childproc.h. */
#include "base/childproc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "units.h"

extern char **environ;

#define MAX_ENV 4096

/* Builds environ plus additions (an addition replaces a variable of the same name). */
static char **build_env(char *const *add)
{
    size_t n = 0, nadd = 0, k = 0;
    char **env;

    while (environ[n] && n < MAX_ENV)
        n++;
    while (add && add[nadd])
        nadd++;
    env = calloc(n + nadd + 1, sizeof *env);
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; j < nadd && !replaced; j++) {
            const char *eq = strchr(add[j], '=');
            size_t namelen = eq ? (size_t)(eq - add[j]) + 1 : strlen(add[j]);
            replaced = strncmp(environ[i], add[j], namelen) == 0;
        }
        if (!replaced)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < nadd; j++)
        env[k++] = add[j];
    env[k] = NULL;
    return env;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_exec(const struct childproc_spec *spec, char **env, int out_fd, int errpipe,
                       pid_t parent)
{
    sigset_t none;
    int err_fd = spec->stderr_fd, null_fd, saved;

    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);  /* the parent died before prctl */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    if (spec->cpus && sched_setaffinity(0, sizeof *spec->cpus, spec->cpus) < 0) {
        saved = -errno;  /* negative: the pinning failed, not the exec */
        goto report;
    }
    null_fd = open("/dev/null", O_RDWR);
    if (null_fd < 0)
        goto fail;
    if (out_fd < 0)
        out_fd = null_fd;
    if (err_fd < 0)
        err_fd = null_fd;
    if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        goto fail;
    /* Whatever else loadlab holds open (the database, sockets) is not the child's. */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        for (int fd = 3; fd < 4096; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    execvpe(spec->argv[0], spec->argv, env);
fail:
    saved = errno;
report:
    if (write(errpipe, &saved, sizeof saved) < 0) {
        /* nothing more can be done from here */
    }
    _exit(127);
}

int childproc_spawn(const struct childproc_spec *spec, pid_t *pid, int *stdout_pipe,
                    char *err, size_t errlen)
{
    int errpipe[2] = {-1, -1}, outpipe[2] = {-1, -1}, child_errno = 0, status;
    char **env = build_env(spec->env_add);
    pid_t parent = getpid(), child;
    ssize_t n;
    int rc = -1;

    if (!env) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (pipe2(errpipe, O_CLOEXEC) < 0 ||
        (spec->stdout_fd == CHILDPROC_PIPE && pipe2(outpipe, O_CLOEXEC) < 0)) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto done;
    }
    child = fork();
    if (child < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto done;
    }
    if (child == 0) {
        close(errpipe[0]);
        child_exec(spec, env, spec->stdout_fd == CHILDPROC_PIPE ? outpipe[1] : spec->stdout_fd,
                   errpipe[1], parent);
    }
    /* Also set the group from the parent, so a kill(-pid) right after spawn cannot miss. */
    setpgid(child, child);
    close(errpipe[1]);
    errpipe[1] = -1;
    do
        n = read(errpipe[0], &child_errno, sizeof child_errno);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        waitpid(child, &status, 0);
        if (child_errno < 0)
            snprintf(err, errlen, "cannot pin %s to its CPUs: %s%s", spec->argv[0], strerror(-child_errno),
                     -child_errno == EINVAL ? " (none of them is online here)" : "");
        else
            snprintf(err, errlen, "cannot run %s: %s", spec->argv[0], strerror(child_errno));
        goto done;
    }
    if (spec->stdout_fd == CHILDPROC_PIPE) {
        close(outpipe[1]);
        outpipe[1] = -1;
        fcntl(outpipe[0], F_SETFL, fcntl(outpipe[0], F_GETFL) | O_NONBLOCK);
        *stdout_pipe = outpipe[0];
        outpipe[0] = -1;
    }
    *pid = child;
    rc = 0;
done:
    for (int i = 0; i < 2; i++) {
        if (errpipe[i] >= 0)
            close(errpipe[i]);
        if (outpipe[i] >= 0)
            close(outpipe[i]);
    }
    free(env);
    return rc;
}

int childproc_poll(pid_t pid, int *status)
{
    pid_t r;
    do
        r = waitpid(pid, status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -1;
    return r == pid ? 1 : 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

int childproc_stop(pid_t pid, int grace_ms, int *status)
{
    int64_t deadline = units_now_ns() + (int64_t)grace_ms * 1000000;
    int r;

    if (kill(-pid, SIGTERM) < 0)
        kill(pid, SIGTERM);
    while ((r = childproc_poll(pid, status)) == 0 && units_now_ns() < deadline)
        sleep_ms(10);
    if (r == 0) {
        if (kill(-pid, SIGKILL) < 0)
            kill(pid, SIGKILL);
        while (waitpid(pid, status, 0) < 0)
            if (errno != EINTR)
                return -1;
    } else if (r < 0) {
        return -1;
    }
    /* The group outlives its leader while a member lives, so its id cannot be reused. */
    kill(-pid, SIGKILL);
    return 0;
}

char *childproc_describe_status(int status, char *buf, size_t buflen)
{
    if (WIFEXITED(status)) {
        snprintf(buf, buflen, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        const char *abbrev = sigabbrev_np(WTERMSIG(status));
        snprintf(buf, buflen, "killed by signal %d (SIG%s)%s", WTERMSIG(status),
                 abbrev ? abbrev : "?", WCOREDUMP(status) ? ", core dumped" : "");
    } else {
        snprintf(buf, buflen, "ended with wait status %d", status);
    }
    return buf;
}

int childproc_capture(char *const *argv, int timeout_ms, char *out, size_t outlen,
                      char *err, size_t errlen)
{
    struct childproc_spec spec = {.argv = argv, .stdout_fd = CHILDPROC_PIPE, .stderr_fd = CHILDPROC_NULL};
    int64_t deadline = units_now_ns() + (int64_t)timeout_ms * 1000000;
    size_t len = 0;
    int fd = -1, status = 0;
    pid_t pid;

    if (childproc_spawn(&spec, &pid, &fd, err, errlen) < 0)
        return -1;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int64_t left_ms = (deadline - units_now_ns()) / 1000000;
        ssize_t n;
        if (left_ms <= 0) {
            childproc_stop(pid, 0, &status);
            close(fd);
            snprintf(err, errlen, "%s did not finish within %d ms", argv[0], timeout_ms);
            return -1;
        }
        if (poll(&pfd, 1, (int)left_ms) < 0 && errno != EINTR)
            break;
        if (len + 1 < outlen)
            n = read(fd, out + len, outlen - 1 - len);
        else {
            char discard[512];
            n = read(fd, discard, sizeof discard);
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            break;
        if (n > 0 && len + 1 < outlen)
            len += (size_t)n;
    }
    close(fd);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            snprintf(err, errlen, "waitpid: %s", strerror(errno));
            return -1;
        }
    out[len] = '\0';
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        out[--len] = '\0';
    if (!WIFEXITED(status)) {
        char how[64];
        snprintf(err, errlen, "%s %s", argv[0], childproc_describe_status(status, how, sizeof how));
        return -1;
    }
    return WEXITSTATUS(status);
}

int childproc_parse_cpus(const char *text, cpu_set_t *set, char *err, size_t errlen)
{
    const char *p = text;

    CPU_ZERO(set);
    if (!*text || strlen(text) > CHILDPROC_MAX_CPU_LIST) {
        snprintf(err, errlen, "a CPU list such as 0, 1-3 or 0,2 (at most %d characters)", CHILDPROC_MAX_CPU_LIST);
        return -1;
    }
    while (*p) {
        unsigned long first, last;
        char *end;

        if (!isdigit((unsigned char)*p))
            goto bad;
        first = last = strtoul(p, &end, 10);
        p = end;
        if (*p == '-') {
            if (!isdigit((unsigned char)p[1]))
                goto bad;
            last = strtoul(p + 1, &end, 10);
            p = end;
        }
        if (last >= CPU_SETSIZE || first > last) {
            snprintf(err, errlen, "CPU list '%s': %s", text,
                     first > last ? "a range runs backwards" : "CPU number too large");
            return -1;
        }
        for (unsigned long cpu = first; cpu <= last; cpu++)
            CPU_SET(cpu, set);
        if (*p == ',' && p[1])
            p++;
        else if (*p)
            goto bad;
    }
    return 0;
bad:
    snprintf(err, errlen, "CPU list '%s' is malformed: use numbers and ranges such as 0, 1-3 or 0,2", text);
    return -1;
}

void childproc_log_last_line(const char *path, char *buf, size_t buflen)
{
    char tail[2048];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    off_t size;
    ssize_t n;
    char *end, *start;

    buf[0] = '\0';
    if (fd < 0)
        return;
    size = lseek(fd, 0, SEEK_END);
    if (size > (off_t)sizeof tail - 1)
        lseek(fd, size - (off_t)sizeof tail + 1, SEEK_SET);
    else
        lseek(fd, 0, SEEK_SET);
    n = read(fd, tail, sizeof tail - 1);
    close(fd);
    if (n <= 0)
        return;
    tail[n] = '\0';
    end = tail + n;
    while (end > tail && (end[-1] == '\n' || end[-1] == '\r'))
        *--end = '\0';
    start = strrchr(tail, '\n');
    snprintf(buf, buflen, "%.*s", (int)(buflen - 1), start ? start + 1 : tail);
}
