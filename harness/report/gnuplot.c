/* gnuplot: a gnuplot process driven through its stdin. See gnuplot.h. */
#include "report/gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/childproc.h"
#include "base/cmdline.h"
#include "units.h"

struct gnuplot {
    pid_t pid;
    int in_fd;                 /* our end of gnuplot's stdin; -1 once closed */
    int err_fd;                /* gnuplot's stderr; -1 at EOF */
    char *buf;                 /* queued commands */
    size_t len, cap;
    char stderr_text[GNUPLOT_MAX_STDERR];
    size_t stderr_len;
    bool failed;               /* gnuplot stopped reading, or out of memory */
    char failure[256];
    int64_t deadline_ns;
};

int gnuplot_find(char *out, size_t outlen, char *err, size_t errlen)
{
    const char *want = getenv("LOADLAB_GNUPLOT");
    char why[PATH_MAX + 64];

    if (!want || !*want)
        want = "gnuplot";
    if (cmdline_find_executable(want, out, outlen, why, sizeof why) < 0) {
        snprintf(err, errlen, "gnuplot is needed to draw charts and was not found (%s); "
                              "on Debian: apt-get install gnuplot-nox", why);
        return -1;
    }
    return 0;
}

struct gnuplot *gnuplot_open(const char *program, char *err, size_t errlen)
{
    struct gnuplot *gp = calloc(1, sizeof *gp);
    int sock[2] = {-1, -1}, errpipe[2] = {-1, -1}, rc;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    char *argv[] = {(char *)program, NULL};
    bool have_actions = false, have_attr = false, ok = false;
    extern char **environ;

    if (!gp) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    gp->in_fd = gp->err_fd = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0 || pipe2(errpipe, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot make pipes for gnuplot: %s", strerror(errno));
        goto done;
    }
    if (posix_spawn_file_actions_init(&actions) != 0 || posix_spawnattr_init(&attr) != 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    have_actions = have_attr = true;
    /* gnuplot writes charts to files named in the script; its stdout carries nothing. */
    posix_spawn_file_actions_adddup2(&actions, sock[1], STDIN_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, errpipe[1], STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    /* loadlab run blocks SIGINT/SIGTERM/SIGCHLD for its signalfd; gnuplot must not. */
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawn(&gp->pid, program, &actions, &attr, argv, environ);
    if (rc != 0) {
        snprintf(err, errlen, "cannot run %s: %s", program, strerror(rc));
        goto done;
    }
    gp->in_fd = sock[0];
    gp->err_fd = errpipe[0];
    sock[0] = errpipe[0] = -1;
    fcntl(gp->in_fd, F_SETFL, fcntl(gp->in_fd, F_GETFL) | O_NONBLOCK);
    fcntl(gp->err_fd, F_SETFL, fcntl(gp->err_fd, F_GETFL) | O_NONBLOCK);
    gp->deadline_ns = units_now_ns() + (int64_t)GNUPLOT_TIMEOUT_MS * 1000000;
    ok = true;
done:
    if (have_actions)
        posix_spawn_file_actions_destroy(&actions);
    if (have_attr)
        posix_spawnattr_destroy(&attr);
    for (int i = 0; i < 2; i++) {
        if (sock[i] >= 0)
            close(sock[i]);
        if (errpipe[i] >= 0)
            close(errpipe[i]);
    }
    if (!ok) {
        free(gp);
        return NULL;
    }
    return gp;
}

static void fail_with(struct gnuplot *gp, const char *what)
{
    if (!gp->failed)
        snprintf(gp->failure, sizeof gp->failure, "%s", what);
    gp->failed = true;
}

/* Reads what gnuplot has printed on stderr; keeps the first GNUPLOT_MAX_STDERR - 1
 * bytes, discards the rest (the first error is the one that matters). */
static void drain_stderr(struct gnuplot *gp)
{
    char discard[4096];
    for (;;) {
        size_t room = sizeof gp->stderr_text - 1 - gp->stderr_len;
        ssize_t n = room > 0 ? read(gp->err_fd, gp->stderr_text + gp->stderr_len, room)
                             : read(gp->err_fd, discard, sizeof discard);
        if (n > 0) {
            if (room > 0)
                gp->stderr_len += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            close(gp->err_fd);
            gp->err_fd = -1;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return;
    }
}

/* Sends the whole queue, reading stderr as it goes. Returns 0, or -1 on failure. */
static int send_queued(struct gnuplot *gp)
{
    size_t sent = 0;

    while (sent < gp->len && !gp->failed) {
        struct pollfd pfd[2] = {{.fd = gp->in_fd, .events = POLLOUT}, {.fd = gp->err_fd, .events = POLLIN}};
        int64_t left_ms = (gp->deadline_ns - units_now_ns()) / 1000000;
        ssize_t n;

        if (left_ms <= 0) {
            fail_with(gp, "gnuplot did not finish in time");
            break;
        }
        if (poll(pfd, gp->err_fd >= 0 ? 2 : 1, (int)(left_ms > INT_MAX ? INT_MAX : left_ms)) < 0) {
            if (errno == EINTR)
                continue;
            fail_with(gp, "poll failed");
            break;
        }
        if (gp->err_fd >= 0 && pfd[1].revents)
            drain_stderr(gp);
        if (!pfd[0].revents)
            continue;
        n = send(gp->in_fd, gp->buf + sent, gp->len - sent, MSG_NOSIGNAL);
        if (n > 0)
            sent += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
            fail_with(gp, "gnuplot stopped reading its commands");
    }
    gp->len = 0;
    return gp->failed ? -1 : 0;
}

static int reserve(struct gnuplot *gp, size_t extra)
{
    size_t cap = gp->cap ? gp->cap : GNUPLOT_CHUNK * 2;
    char *grown;
    if (gp->len + extra + 1 <= gp->cap)
        return 0;
    while (cap < gp->len + extra + 1)
        cap *= 2;
    grown = realloc(gp->buf, cap);
    if (!grown) {
        fail_with(gp, "out of memory");
        return -1;
    }
    gp->buf = grown;
    gp->cap = cap;
    return 0;
}

static int vqueue(struct gnuplot *gp, const char *fmt, va_list ap)
{
    va_list copy;
    int n;

    if (gp->failed)
        return -1;
    va_copy(copy, ap);
    n = vsnprintf(gp->buf ? gp->buf + gp->len : NULL, gp->buf ? gp->cap - gp->len : 0, fmt, copy);
    va_end(copy);
    if (n < 0) {
        fail_with(gp, "a command could not be formatted");
        return -1;
    }
    if (!gp->buf || gp->len + (size_t)n + 1 > gp->cap) {
        if (reserve(gp, (size_t)n) < 0)
            return -1;
        vsnprintf(gp->buf + gp->len, gp->cap - gp->len, fmt, ap);
    }
    gp->len += (size_t)n;
    return gp->len >= GNUPLOT_CHUNK ? send_queued(gp) : 0;
}

int gnuplot_printf(struct gnuplot *gp, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = vqueue(gp, fmt, ap);
    va_end(ap);
    return rc;
}

int gnuplot_quote(struct gnuplot *gp, const char *text)
{
    size_t need = 2;
    char *p;

    for (const char *s = text; *s; s++)
        need += *s == '\'' ? 2 : 1;
    if (gp->failed || reserve(gp, need) < 0)
        return -1;
    p = gp->buf + gp->len;
    *p++ = '\'';
    for (const char *s = text; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\'')
            *p++ = '\'';
        *p++ = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    *p++ = '\'';
    *p = '\0';
    gp->len += need;
    return 0;
}

bool gnuplot_failed(const struct gnuplot *gp)
{
    return gp->failed;
}

/* Trims trailing blank lines and joins gnuplot's multi-line error (the echoed
 * command, a caret line, "line N: message") into one line for a log. */
static void stderr_summary(const struct gnuplot *gp, char *out, size_t outlen)
{
    size_t k = 0;
    bool space = false;
    for (size_t i = 0; i < gp->stderr_len && k + 1 < outlen; i++) {
        char c = gp->stderr_text[i];
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            space = k > 0;
            continue;
        }
        if (c == '^' && (i + 1 == gp->stderr_len || gp->stderr_text[i + 1] == '\n'))
            continue;
        if (space && k + 2 < outlen)
            out[k++] = ' ';
        space = false;
        out[k++] = c;
    }
    out[k] = '\0';
}

int gnuplot_close(struct gnuplot *gp, char *err, size_t errlen)
{
    char said[GNUPLOT_MAX_STDERR], how[96];
    int status = 0, rc = -1;
    pid_t r;

    send_queued(gp);
    close(gp->in_fd);
    gp->in_fd = -1;
    while (gp->err_fd >= 0) {
        struct pollfd pfd = {.fd = gp->err_fd, .events = POLLIN};
        int64_t left_ms = (gp->deadline_ns - units_now_ns()) / 1000000;
        if (left_ms <= 0) {
            fail_with(gp, "gnuplot did not finish in time");
            kill(gp->pid, SIGKILL);
            break;
        }
        if (poll(&pfd, 1, (int)(left_ms > INT_MAX ? INT_MAX : left_ms)) > 0)
            drain_stderr(gp);
    }
    do
        r = waitpid(gp->pid, &status, 0);
    while (r < 0 && errno == EINTR);
    stderr_summary(gp, said, sizeof said);
    if (r < 0) {
        snprintf(err, errlen, "gnuplot: waitpid: %s", strerror(errno));
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "gnuplot %s%s%s", childproc_describe_status(status, how, sizeof how),
                 said[0] ? ": " : "", said[0] ? said : gp->failure);
    } else if (gp->failed) {
        snprintf(err, errlen, "gnuplot: %s", gp->failure);
    } else if (said[0]) {
        snprintf(err, errlen, "gnuplot: %s", said);
        rc = 1;
    } else {
        rc = 0;
    }
    if (gp->err_fd >= 0)
        close(gp->err_fd);
    free(gp->buf);
    free(gp);
    return rc;
}
