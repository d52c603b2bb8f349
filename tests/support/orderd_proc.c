/* orderd_proc: a real orderd for integration tests. See orderd_proc.h. */
#include "orderd_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 64

static const char *orderd_bin(void)
{
    const char *b = getenv("ORDERD_BIN");
    return b && *b ? b : "build/orderd";
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int orderd_proc_start(struct orderd_proc *p, const char *const *extra_args, const char *env_faults)
{
    return orderd_proc_start_limited(p, extra_args, env_faults, 0);
}

/* Every log this process made, removed when it exits: a test may read a log after it
 * stopped the service, so they cannot go with the stop. */
static char **logs_made;
static size_t nlogs_made;

static void remove_logs(void)
{
    for (size_t i = 0; i < nlogs_made; i++) {
        unlink(logs_made[i]);
        free(logs_made[i]);
    }
    free(logs_made);
    logs_made = NULL;
    nlogs_made = 0;
}

static void remember_log(const char *path)
{
    char **grown = realloc(logs_made, (nlogs_made + 1) * sizeof *grown);
    char *copy = strdup(path);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            logs_made = grown;
        return;   /* the log stays behind; nothing else goes wrong */
    }
    static bool registered;
    if (!registered)
        registered = atexit(remove_logs) == 0;
    logs_made = grown;
    logs_made[nlogs_made++] = copy;
}

int orderd_proc_start_limited(struct orderd_proc *p, const char *const *extra_args, const char *env_faults,
                              unsigned long max_fds)
{
    const char *argv[MAX_ARGS + 8];
    int n = 0, out[2], logfd;
    char line[256];
    size_t got = 0;

    memset(p, 0, sizeof p[0]);
    snprintf(p->log_path, sizeof p->log_path, "/tmp/orderd-test-%d-XXXXXX", (int)getpid());
    if ((logfd = mkstemp(p->log_path)) < 0) {
        perror("mkstemp");
        return -1;
    }
    remember_log(p->log_path);
    argv[n++] = orderd_bin();
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--debug-listen";
    argv[n++] = "127.0.0.1:0";
    for (int i = 0; extra_args && extra_args[i] && n < MAX_ARGS; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(logfd);
        return -1;
    }
    p->pid = fork();
    if (p->pid == 0) {
        /* A test that fails halfway must not leave its server running. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (max_fds) {
            struct rlimit rl = {max_fds, max_fds};
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        dup2(out[1], 1);
        dup2(logfd, 2);
        if (env_faults)
            setenv("ORDERD_FAULTS", env_faults, 1);
        else
            unsetenv("ORDERD_FAULTS");
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(logfd);
    if (p->pid < 0) {
        close(out[0]);
        return -1;
    }
    long long deadline = now_ms() + 10000;
    while (got < sizeof line - 1 && !memchr(line, '\n', got)) {
        struct pollfd pfd = {.fd = out[0], .events = POLLIN};
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        ssize_t r = read(out[0], line + got, sizeof line - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        line[got] = '\0';
    }
    line[got] = '\0';
    close(out[0]);
    char *pub = strstr(line, "public="), *dbg = strstr(line, "debug=");
    char *pc = pub ? strchr(pub, ':') : NULL, *dc = dbg ? strchr(dbg, ':') : NULL;
    if (strncmp(line, "listening ", 10) != 0 || !pc || !dc) {
        char *log = orderd_proc_log(p);
        fprintf(stderr, "orderd did not start (stdout: '%s'); log:\n%s\n", line, log ? log : "");
        free(log);
        orderd_proc_stop(p, SIGKILL, 1000);
        return -1;
    }
    p->public_port = atoi(pc + 1);
    p->debug_port = atoi(dc + 1);
    return 0;
}

int orderd_proc_stop(struct orderd_proc *p, int sig, int timeout_ms)
{
    int status;
    long long deadline = now_ms() + timeout_ms;

    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            p->pid = 0;
            return status;
        }
        if (r < 0 && errno != EINTR)
            break;
        if (now_ms() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            break;
        }
        usleep(10000);
    }
    p->pid = 0;
    return -1;
}

char *orderd_proc_log(const struct orderd_proc *p)
{
    FILE *f = fopen(p->log_path, "r");
    char *data = NULL;
    size_t len = 0;

    if (!f)
        return NULL;
    FILE *mem = open_memstream(&data, &len);
    if (mem) {
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, n, mem);
        fclose(mem);
    }
    fclose(f);
    return data;
}

const char *orderd_proc_url(const struct orderd_proc *p, bool debug, const char *path, char *buf, size_t len)
{
    snprintf(buf, len, "http://127.0.0.1:%d%s", debug ? p->debug_port : p->public_port, path);
    return buf;
}

struct curl_client_result orderd_proc_call(const struct orderd_proc *p, bool debug, const char *method,
                                    const char *path, const char *body, const char *const *headers)
{
    struct curl_client_result r;
    char url[256];

    orderd_proc_url(p, debug, path, url, sizeof url);
    curl_client_request(method, url, body, body ? strlen(body) : 0, headers, 10000, &r);
    return r;
}

long orderd_proc_set_fault(const struct orderd_proc *p, const char *name, const char *term)
{
    char path[96];

    snprintf(path, sizeof path, "/debug/faults/%s", name);
    struct curl_client_result r = orderd_proc_call(p, true, term ? "PUT" : "DELETE", path, term, NULL);
    long status = r.status;
    curl_client_free(&r);
    return status;
}

double orderd_proc_metric(const struct orderd_proc *p, const char *sample)
{
    struct curl_client_result r = orderd_proc_call(p, true, "GET", "/metrics", NULL, NULL);
    size_t n = strlen(sample);
    double v = -1;

    for (const char *line = r.status == 200 ? r.body : NULL; line && *line;) {
        if (strncmp(line, sample, n) == 0 && line[n] == ' ') {
            v = strtod(line + n + 1, NULL);
            break;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    curl_client_free(&r);
    return v;
}

int orderd_proc_run(const char *const *argv, const char *input, size_t input_len, char **output)
{
    int in[2], out[2], status;
    pid_t pid;
    char *data = NULL;
    size_t len = 0;

    if (pipe2(in, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        return -1;
    }
    /* The input is small (a metrics page): written before reading, closed to end it.
     * SIGPIPE is ignored so a child that exits early cannot kill the test. */
    signal(SIGPIPE, SIG_IGN);
    if (input && input_len)
        (void)!write(in[1], input, input_len);
    close(in[1]);
    FILE *mem = open_memstream(&data, &len);
    char buf[4096];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0)
        if (mem)
            fwrite(buf, 1, (size_t)n, mem);
    if (mem)
        fclose(mem);
    close(out[0]);
    if (waitpid(pid, &status, 0) < 0) {
        free(data);
        return -1;
    }
    if (output)
        *output = data ? data : strdup("");
    else
        free(data);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
