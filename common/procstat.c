/* procstat: process figures from /proc. See procstat.h.
 * /proc/PID/stat is parsed from the last ')' since the command name may hold spaces
 * and parentheses. */
#include "procstat.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double boot_time_seconds(void)
{
    static double cached;
    char line[256];
    FILE *f;

    if (cached > 0)
        return cached;
    if (!(f = fopen("/proc/stat", "r")))
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0)
            cached = strtod(line + 6, NULL);
    fclose(f);
    return cached;
}

static uint64_t count_fds(const char *dir)
{
    uint64_t n = 0;
    struct dirent *e;
    DIR *d = opendir(dir);

    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    /* opendir's own descriptor is counted when reading our own fds. */
    return n;
}

static uint64_t max_open_files(const char *path)
{
    char line[256];
    uint64_t limit = 0;
    FILE *f = fopen(path, "r");

    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Max open files", 14) == 0) {
            char *p = line + 14;
            while (*p == ' ')
                p++;
            limit = strtoull(p, NULL, 10);
        }
    }
    fclose(f);
    return limit;
}

int procstat_cpu_seconds(pid_t pid, double *out)
{
    clockid_t clock = CLOCK_PROCESS_CPUTIME_ID;
    struct timespec ts;

    if (pid < 0 || (pid > 0 && clock_getcpuclockid(pid, &clock) != 0) || clock_gettime(clock, &ts) != 0)
        return -1;
    *out = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return 0;
}

int procstat_read(pid_t pid, struct procstat *out)
{
    char path[64], buf[1024];
    char base[32];
    FILE *f;
    size_t n;
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    unsigned long utime, stime, vsize;
    long rss, threads;
    unsigned long long start;

    if (pid == 0)
        snprintf(base, sizeof base, "/proc/self");
    else
        snprintf(base, sizeof base, "/proc/%d", (int)pid);
    snprintf(path, sizeof path, "%s/stat", base);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    /* Fields after the name: 3 state ... 14 utime 15 stime ... 20 num_threads
     * 22 starttime 23 vsize 24 rss (numbering of proc(5)). */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %ld %*d %llu %lu %ld",
               &utime, &stime, &threads, &start, &vsize, &rss) != 6)
        return -1;
    out->cpu_seconds = (double)(utime + stime) / (double)ticks;
    out->threads = (uint64_t)threads;
    out->start_time_seconds = boot_time_seconds() + (double)start / (double)ticks;
    out->vsize_bytes = vsize;
    out->rss_bytes = (uint64_t)rss * (uint64_t)page;
    snprintf(path, sizeof path, "%s/fd", base);
    out->open_fds = count_fds(path);
    if (pid == 0 && out->open_fds > 0)
        out->open_fds--;
    snprintf(path, sizeof path, "%s/limits", base);
    out->max_fds = max_open_files(path);
    return 0;
}
