/* duet_noise: figures for duetload, not a test (scripts/duet-noise.sh runs it).
 *
 *   duet_noise noise TARGET_A TARGET_B SLICES_MS PAIRS CONNECTIONS THREADS CPUS [WRK_SECONDS [PID_A PID_B]]
 *     PAIRS rounds; in each, for every slice length of SLICES_MS ("250,500,1000"), a
 *     pair of slices, one on each side, in the order AB or BA by turns (so that a
 *     drift of the machine within a pair falls on both orders alike), and with
 *     WRK_SECONDS a pair of wrk runs of that many seconds (the way abrun loads a slice
 *     today); at the end, for each, the sd of log(throughput A / throughput B) over the
 *     pairs, a robust sd (from the median absolute deviation), and the errors. With the
 *     servers' pids, the same for the servers' CPU time per request (the sum over their
 *     threads of /proc/PID/task/TID/schedstat's run time, read around each run): a
 *     figure that other work on a shared machine changes far less than throughput.
 *   duet_noise rate TARGET SECONDS CONNECTIONS THREADS CPUS
 *     loads TARGET alone in 1 s slices for SECONDS; prints requests/s and this
 *     process's CPU time (user + system) per request, in microseconds.
 *
 * CPUS as taskset takes it ("1", "0-1"); each load thread (and wrk) is pinned to them. */
#include "base/childproc.h"
#include "base/wrkres.h"
#include "run/duetload.h"
#include "units.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MS 1000000LL

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MAX_LENGTHS 8

/* One contender's log ratios over the pairs. */
struct series {
    const char *name;
    double *logs, *cost_logs;   /* log(A/B) of throughput, of the server's CPU a request */
    int n;
    uint64_t errors;
};

/* The orderd of each side, when given: their CPU time is read around each run. */
static int server_pid[2];

/* CPU time (ns) all threads of process pid have run so far; 0 when unreadable. */
static int64_t process_cpu_ns(int pid)
{
    char path[64];
    DIR *d;
    struct dirent *e;
    int64_t total = 0;

    snprintf(path, sizeof path, "/proc/%d/task", pid);
    d = opendir(path);
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char stat_path[300];
        long long run_ns = 0;
        FILE *f;
        if (e->d_name[0] == '.')
            continue;
        snprintf(stat_path, sizeof stat_path, "/proc/%d/task/%s/schedstat", pid, e->d_name);
        f = fopen(stat_path, "r");
        if (f && fscanf(f, "%lld", &run_ns) == 1)
            total += run_ns;
        if (f)
            fclose(f);
    }
    closedir(d);
    return total;
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The sd of the log ratios, and the robust one (1.4826 times the median absolute
 * deviation: what the sd would be without the pairs a busy spell of the machine hit). */
static void report_logs(const char *name, const char *what, const double *logs, int n, uint64_t errors)
{
    double sum = 0, sumsq = 0, mean, sd, median, *v = calloc((size_t)n, sizeof(double));
    if (!v || n < 2)
        goto done;
    for (int p = 0; p < n; p++) {
        sum += logs[p];
        sumsq += logs[p] * logs[p];
        v[p] = logs[p];
    }
    mean = sum / n;
    sd = sqrt((sumsq - n * mean * mean) / (n - 1));
    median = median_of(v, n);
    for (int p = 0; p < n; p++)
        v[p] = fabs(logs[p] - median);
    printf("%-20s %d pairs, %s: sd of log(A/B) %.4f, robust sd %.4f, mean %+.4f, errors %llu\n", name, n, what, sd,
           1.4826 * median_of(v, n), mean, (unsigned long long)errors);
done:
    free(v);
}

/* One wrk -d<seconds>s run against side's target pinned to cpus: its requests/s, and
 * in *cost the side's server CPU time per request (NaN without its pid). NaN on failure. */
static double wrk_rate(const char *const targets[2], unsigned side, int seconds, const struct duetload_config *cfg,
                       const char *cpus, double *cost)
{
    char cmd[512], line[512];
    double rate = NAN, requests = NAN;
    int64_t cpu0 = server_pid[side] ? process_cpu_ns(server_pid[side]) : 0;
    FILE *f;
    snprintf(cmd, sizeof cmd, "taskset -c %s wrk -t%u -c%u -d%ds http://%s/api/products/7 2>/dev/null", cpus,
             cfg->threads, cfg->connections, seconds, targets[side]);
    f = popen(cmd, "r");
    if (!f)
        return NAN;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Requests/sec:", 13) == 0)
            rate = strtod(line + 13, NULL);
        if (strstr(line, " requests in "))
            requests = strtod(line, NULL);
    }
    pclose(f);
    *cost = server_pid[side] ? (double)(process_cpu_ns(server_pid[side]) - cpu0) / requests : NAN;
    return rate;
}

/* One duetload slice on side alone; *cost as for wrk_rate. Returns 0, or -1 with err. */
static int slice_one(struct duetload *dl, unsigned side, int64_t length, struct wrkres res[2], double *cost,
                     char *err, size_t errlen)
{
    int64_t cpu0 = server_pid[side] ? process_cpu_ns(server_pid[side]) : 0;
    if (duetload_slice(dl, 1u << side, length, res, err, errlen) < 0)
        return -1;
    *cost = server_pid[side] ? (double)(process_cpu_ns(server_pid[side]) - cpu0) / (double)res[side].requests : NAN;
    return 0;
}

/* pairs rounds; in each, one pair of slices of every length (order AB in even rounds,
 * BA in odd ones), then, when wrk_seconds > 0, one pair of wrk runs as abrun starts
 * them: all contenders share the machine's weather of that round. */
static int run_noise(struct duetload *dl, const char *const targets[2], const int64_t *lengths, int nlengths,
                     int pairs, int wrk_seconds, const struct duetload_config *cfg, const char *cpus)
{
    struct series series[MAX_LENGTHS + 1] = {0};
    char names[MAX_LENGTHS + 1][48];
    struct wrkres res[2];
    char err[256];
    int rc = 1, nseries = nlengths + (wrk_seconds > 0);

    for (int k = 0; k < nseries; k++) {
        series[k].logs = calloc((size_t)pairs, sizeof(double));
        series[k].cost_logs = calloc((size_t)pairs, sizeof(double));
        if (!series[k].logs || !series[k].cost_logs)
            goto done;
        if (k < nlengths)
            snprintf(names[k], sizeof names[k], "duetload %.0f ms", (double)lengths[k] / MS);
        else
            snprintf(names[k], sizeof names[k], "wrk per slice %d s", wrk_seconds);
        series[k].name = names[k];
    }
    /* warm-up: both sides, not counted */
    for (int i = 0; i < 4; i++)
        if (duetload_slice(dl, 1u + (unsigned)(i % 2), lengths[0], res, err, sizeof err) < 0)
            goto fail;
    for (int p = 0; p < pairs; p++) {
        unsigned first = p % 2 ? 1 : 0;
        double rate[2], cost[2];
        printf("pair %2d %s", p, first == 0 ? "AB" : "BA");
        for (int k = 0; k < nseries; k++) {
            struct series *x = &series[k];
            if (k < nlengths) {
                if (slice_one(dl, first, lengths[k], res, &cost[first], err, sizeof err) < 0 ||
                    slice_one(dl, 1 - first, lengths[k], res, &cost[1 - first], err, sizeof err) < 0)
                    goto fail;
                rate[0] = wrkres_throughput(&res[0]);
                rate[1] = wrkres_throughput(&res[1]);
                x->errors += wrkres_errors(&res[0]) + wrkres_errors(&res[1]);
            } else {
                rate[first] = wrk_rate(targets, first, wrk_seconds, cfg, cpus, &cost[first]);
                rate[1 - first] = wrk_rate(targets, 1 - first, wrk_seconds, cfg, cpus, &cost[1 - first]);
            }
            x->logs[x->n] = log(rate[0] / rate[1]);
            x->cost_logs[x->n] = log(cost[0] / cost[1]);
            printf("  %s %+.3f cpu %+.3f", k < nlengths ? x->name + 9 : "wrk", x->logs[x->n], x->cost_logs[x->n]);
            x->n++;
        }
        printf("\n");
        fflush(stdout);
    }
    for (int k = 0; k < nseries; k++) {
        report_logs(series[k].name, "throughput", series[k].logs, series[k].n, series[k].errors);
        if (server_pid[0] && server_pid[1])
            report_logs(series[k].name, "server CPU a request", series[k].cost_logs, series[k].n, series[k].errors);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "duet_noise: %s\n", err);
done:
    for (int k = 0; k < nseries; k++) {
        free(series[k].logs);
        free(series[k].cost_logs);
    }
    return rc;
}

static int run_rate(struct duetload *dl, int seconds)
{
    struct wrkres res[2];
    uint64_t requests = 0, errors = 0;
    char err[256];
    double cpu0, cpu, t0 = (double)units_now_ns(), wall;

    if (duetload_slice(dl, 1, 500 * MS, res, err, sizeof err) < 0) /* warm-up */
        goto fail;
    cpu0 = cpu_seconds();
    t0 = (double)units_now_ns();
    for (int i = 0; i < seconds; i++) {
        if (duetload_slice(dl, 1, 1000 * MS, res, err, sizeof err) < 0)
            goto fail;
        requests += res[0].requests;
        errors += wrkres_errors(&res[0]);
    }
    cpu = cpu_seconds() - cpu0;
    wall = ((double)units_now_ns() - t0) / 1e9;
    printf("duetload: %.0f requests/s over %d s of slices (%.2f s wall with drains), "
           "CPU %.2f s = %.2f us a request (%.0f%% of one CPU), errors %llu\n",
           (double)requests / seconds, seconds, wall, cpu, cpu * 1e6 / (double)requests, 100 * cpu / wall,
           (unsigned long long)errors);
    return 0;
fail:
    fprintf(stderr, "duet_noise: %s\n", err);
    return 1;
}

int main(int argc, char **argv)
{
    struct duetload_config cfg = {.path = "/api/products/7", .timeout_ns = 5000 * MS};
    cpu_set_t cpus;
    char err[256];
    struct duetload *dl;
    bool noise = argc >= 9 && strcmp(argv[1], "noise") == 0;
    bool rate = argc >= 7 && strcmp(argv[1], "rate") == 0;
    int rc, cpu_arg = noise ? 8 : 6, nlengths = 0;
    int64_t lengths[MAX_LENGTHS];

    if (!noise && !rate) {
        fprintf(stderr, "usage: duet_noise noise TARGET_A TARGET_B SLICES_MS PAIRS CONNECTIONS THREADS CPUS "
                        "[WRK_SECONDS [PID_A PID_B]]\n"
                        "       duet_noise rate TARGET SECONDS CONNECTIONS THREADS CPUS\n");
        return 2;
    }
    cfg.target[0] = argv[2];
    cfg.target[1] = noise ? argv[3] : argv[2];
    cfg.connections = (unsigned)atoi(argv[noise ? 6 : 4]);
    cfg.threads = (unsigned)atoi(argv[noise ? 7 : 5]);
    if (childproc_parse_cpus(argv[cpu_arg], &cpus, err, sizeof err) < 0) {
        fprintf(stderr, "duet_noise: cpus: %s\n", err);
        return 2;
    }
    cfg.cpus = &cpus;
    if (noise)
        for (char *p = argv[4]; *p && nlengths < MAX_LENGTHS; p += *p == ',')
            lengths[nlengths++] = strtoll(p, &p, 10) * MS;
    dl = duetload_start(&cfg, err, sizeof err);
    if (!dl) {
        fprintf(stderr, "duet_noise: %s\n", err);
        return 1;
    }
    if (noise && argc > 11) {
        server_pid[0] = atoi(argv[10]);
        server_pid[1] = atoi(argv[11]);
    }
    if (noise)
        rc = run_noise(dl, cfg.target, lengths, nlengths, atoi(argv[5]), argc > 9 ? atoi(argv[9]) : 0, &cfg,
                       argv[cpu_arg]);
    else
        rc = run_rate(dl, atoi(argv[3]));
    duetload_free(dl);
    return rc;
}
