/* procstat: /proc/PID/stat and /proc/PID/fd. See procstat.h.
 * /proc/PID/stat is one line; the command name in parentheses may itself hold spaces
 * and parentheses, so fields are counted from the last ')'. */
#include "procstat.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int procstat_read(pid_t pid, struct procstat *out, char *err, size_t errlen)
{
    char path[64], line[4096], *p;
    unsigned long long utime, stime, threads;
    long long rss_pages;
    uint64_t fds = 0;
    struct dirent *de;
    FILE *f;
    DIR *dir;
    size_t n;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    p = strrchr(line, ')');
    /* after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
     * cmajflt utime(14) stime(15) cutime cstime priority nice num_threads(20)
     * itrealvalue starttime vsize rss(24) */
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %llu %*d %*u %*u %lld",
                     &utime, &stime, &threads, &rss_pages) != 4) {
        snprintf(err, errlen, "%s: unexpected format", path);
        return -1;
    }
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    dir = opendir(path);
    if (!dir) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while ((de = readdir(dir)) != NULL && fds < PROCSTAT_MAX_FDS)
        if (de->d_name[0] != '.')
            fds++;
    closedir(dir);
    out->threads = threads;
    out->rss_bytes = rss_pages > 0 ? (uint64_t)rss_pages * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
    out->open_fds = fds;
    out->cpu_seconds = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
    return 0;
}
