/* costmeter: instruction counts of a service; see costmeter.h. */
#include "run/costmeter.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/childproc.h"

#define CONTROL_TIMEOUT_MS 60000
#define DUMP_NAME "callgrind.out"

struct costmeter {
    enum costmeter_kind kind;
    pid_t pid;
    char out_dir[512];
    int fds[COSTMETER_MAX_THREADS];
    unsigned nfds;
};

const char *costmeter_kind_name(enum costmeter_kind kind)
{
    switch (kind) {
    case COSTMETER_HW_INSTRUCTIONS: return "hw-instructions";
    case COSTMETER_CALLGRIND: return "callgrind";
    case COSTMETER_TASK_CLOCK: return "task-clock";
    }
    return "unknown";
}

int costmeter_parse_kind(const char *text, enum costmeter_kind *kind, char *err, size_t errlen)
{
    static const enum costmeter_kind all[] = {COSTMETER_HW_INSTRUCTIONS, COSTMETER_CALLGRIND,
                                              COSTMETER_TASK_CLOCK};
    if (strcmp(text, "auto") == 0)
        return 1;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(text, costmeter_kind_name(all[i])) == 0) {
            *kind = all[i];
            return 0;
        }
    }
    snprintf(err, errlen, "unknown counter '%.64s' (auto, hw-instructions, callgrind or task-clock)", text);
    return -1;
}

static int perf_open(enum costmeter_kind kind, pid_t tid)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.disabled = 1;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    if (kind == COSTMETER_TASK_CLOCK) {
        attr.type = PERF_TYPE_SOFTWARE;
        attr.config = PERF_COUNT_SW_TASK_CLOCK;
    } else {
        attr.type = PERF_TYPE_HARDWARE;
        attr.config = PERF_COUNT_HW_INSTRUCTIONS;
    }
    return (int)syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Whether name is an executable file in a folder of PATH. */
static bool on_path(const char *name)
{
    const char *path = getenv("PATH");
    char dir[4096];
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        if (len > 0 && len < sizeof dir - strlen(name) - 2) {
            snprintf(dir, sizeof dir, "%.*s/%s", (int)len, path, name);
            if (access(dir, X_OK) == 0)
                return true;
        }
        path += len + (path[len] == ':');
    }
    return false;
}

int costmeter_detect(enum costmeter_kind *kind, char *why, size_t whylen, char *err, size_t errlen)
{
    int fd = perf_open(COSTMETER_HW_INSTRUCTIONS, 0);
    if (fd >= 0) {
        close(fd);
        *kind = COSTMETER_HW_INSTRUCTIONS;
        if (why && whylen)
            why[0] = '\0';
        return 0;
    }
    if (why && whylen)
        snprintf(why, whylen, "no hardware instruction counter (perf_event_open: %s)", strerror(errno));
    if (on_path("valgrind") && on_path("callgrind_control")) {
        *kind = COSTMETER_CALLGRIND;
        return 0;
    }
    snprintf(err, errlen, "no instruction counter: perf_event_open: %s, and valgrind is not installed "
             "(apt-get install valgrind)", strerror(errno));
    return -1;
}

int costmeter_command_prefix(enum costmeter_kind kind, const char *out_dir, char **argv, size_t *argc,
                             char *buf, size_t bufsize, char *err, size_t errlen)
{
    int n;
    *argc = 0;
    if (kind != COSTMETER_CALLGRIND)
        return 0;
    /* One buffer, the words separated by NULs. */
    n = snprintf(buf, bufsize, "valgrind%c--tool=callgrind%c--instr-atstart=no%c-q%c"
                 "--callgrind-out-file=%s/" DUMP_NAME ".%%p", 0, 0, 0, 0, out_dir);
    if (n < 0 || (size_t)n >= bufsize) {
        snprintf(err, errlen, "callgrind output folder name too long");
        return -1;
    }
    for (char *p = buf; p < buf + n; p += strlen(p) + 1)
        argv[(*argc)++] = p;
    return 0;
}

struct costmeter *costmeter_new(enum costmeter_kind kind, pid_t pid, const char *out_dir, char *err,
                                size_t errlen)
{
    struct costmeter *m;
    if (pid <= 0) {
        snprintf(err, errlen, "no service process to count");
        return NULL;
    }
    if (kind == COSTMETER_CALLGRIND && (!out_dir || strlen(out_dir) >= sizeof m->out_dir)) {
        snprintf(err, errlen, "callgrind needs an output folder (at most %zu bytes)", sizeof m->out_dir - 1);
        return NULL;
    }
    if (!(m = calloc(1, sizeof *m))) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->kind = kind;
    m->pid = pid;
    if (out_dir)
        snprintf(m->out_dir, sizeof m->out_dir, "%s", out_dir);
    return m;
}

static void close_counters(struct costmeter *m)
{
    for (unsigned i = 0; i < m->nfds; i++)
        close(m->fds[i]);
    m->nfds = 0;
}

void costmeter_free(struct costmeter *m)
{
    if (!m)
        return;
    close_counters(m);
    free(m);
}

/* Runs callgrind_control with one command for the meter's process; it exits 0 even
 * when it found no such process, so an "Error" line or no "OK." means failure. */
static int control(struct costmeter *m, const char *opt, const char *arg, char *err, size_t errlen)
{
    char pid[24], out[1024], why[256];
    char *argv[5] = {"callgrind_control", (char *)opt, NULL, NULL, NULL};
    snprintf(pid, sizeof pid, "%d", (int)m->pid);
    argv[arg ? 3 : 2] = pid;
    if (arg)
        argv[2] = (char *)arg;
    int rc = childproc_capture(argv, CONTROL_TIMEOUT_MS, out, sizeof out, why, sizeof why);
    if (rc != 0 || strstr(out, "Error") || !strstr(out, "OK.")) {
        snprintf(err, errlen, "callgrind_control %s %s: %s", opt, arg ? arg : "",
                 rc < 0 ? why : out[0] ? out : "no answer");
        return -1;
    }
    return 0;
}

static int perf_begin(struct costmeter *m, char *err, size_t errlen)
{
    char dir[64];
    DIR *d;
    struct dirent *e;
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)m->pid);
    if (!(d = opendir(dir))) {
        snprintf(err, errlen, "cannot list the service's threads: %s", strerror(errno));
        return -1;
    }
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        if (m->nfds == COSTMETER_MAX_THREADS) {
            snprintf(err, errlen, "the service has over %d threads", COSTMETER_MAX_THREADS);
            goto fail;
        }
        int fd = perf_open(m->kind, (pid_t)atoi(e->d_name));
        if (fd < 0) {
            if (errno == ESRCH)
                continue; /* the thread ended meanwhile */
            snprintf(err, errlen, "perf_event_open for thread %s: %s", e->d_name, strerror(errno));
            goto fail;
        }
        m->fds[m->nfds++] = fd;
    }
    closedir(d);
    for (unsigned i = 0; i < m->nfds; i++) {
        ioctl(m->fds[i], PERF_EVENT_IOC_RESET, 0);
        ioctl(m->fds[i], PERF_EVENT_IOC_ENABLE, 0);
    }
    return 0;
fail:
    closedir(d);
    close_counters(m);
    return -1;
}

int costmeter_begin(struct costmeter *m, char *err, size_t errlen)
{
    close_counters(m);
    if (m->kind != COSTMETER_CALLGRIND)
        return perf_begin(m, err, errlen);
    if (control(m, "-i", "on", err, errlen) < 0)
        return -1;
    return control(m, "-z", NULL, err, errlen);
}

/* The total of the newest dump of the meter's process in its folder. */
static int read_newest_dump(struct costmeter *m, uint64_t *count, char *err, size_t errlen)
{
    char prefix[64], path[1024], line[512];
    long newest = -1;
    DIR *d = opendir(m->out_dir);
    struct dirent *e;
    FILE *f;
    int rc = -1;

    if (!d) {
        snprintf(err, errlen, "cannot read %s: %s", m->out_dir, strerror(errno));
        return -1;
    }
    snprintf(prefix, sizeof prefix, DUMP_NAME ".%d.", (int)m->pid);
    while ((e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        long n = strtol(e->d_name + strlen(prefix), &end, 10);
        if (*end == '\0' && n > newest)
            newest = n;
    }
    closedir(d);
    if (newest < 0) {
        snprintf(err, errlen, "callgrind wrote no dump for process %d in %s", (int)m->pid, m->out_dir);
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s%ld", m->out_dir, prefix, newest);
    if (!(f = fopen(path, "r"))) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(err, errlen, "no totals line in %s", path);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "totals:", 7) == 0 || strncmp(line, "summary:", 8) == 0) {
            char *p = strchr(line, ':') + 1, *end;
            errno = 0;
            uint64_t v = strtoull(p, &end, 10);
            if (end == p || errno) {
                snprintf(err, errlen, "unreadable totals in %s", path);
                break;
            }
            *count = v;
            rc = 0;
            if (line[0] == 't')
                break; /* totals wins over summary */
        }
    }
    fclose(f);
    return rc;
}

int costmeter_end(struct costmeter *m, uint64_t *count, unsigned *threads, char *err, size_t errlen)
{
    if (m->kind == COSTMETER_CALLGRIND) {
        if (control(m, "-i", "off", err, errlen) < 0 || control(m, "-d", "loadlab", err, errlen) < 0)
            return -1;
        *threads = 0;
        return read_newest_dump(m, count, err, errlen);
    }
    if (m->nfds == 0) {
        snprintf(err, errlen, "the count was not begun");
        return -1;
    }
    uint64_t sum = 0;
    for (unsigned i = 0; i < m->nfds; i++) {
        uint64_t v = 0;
        ioctl(m->fds[i], PERF_EVENT_IOC_DISABLE, 0);
        if (read(m->fds[i], &v, sizeof v) != (ssize_t)sizeof v) {
            snprintf(err, errlen, "cannot read a thread's counter: %s", strerror(errno));
            close_counters(m);
            return -1;
        }
        sum += v;
    }
    *count = sum;
    *threads = m->nfds;
    close_counters(m);
    return 0;
}
