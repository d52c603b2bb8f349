/* duet_noise: figures for duetload, not a test (scripts/duet-noise.sh runs it).
 *
 *   duet_noise noise TARGET_A TARGET_B SLICES_MS PAIRS CONNECTIONS THREADS CPUS [WRK_SECONDS]
 *     PAIRS rounds; in each, for every slice length of SLICES_MS ("250,500,1000"), a
 *     pair of slices, one on each side, in the order AB or BA by turns (so that a
 *     drift of the machine within a pair falls on both orders alike), and with
 *     WRK_SECONDS a pair of wrk runs of that many seconds (the way abrun loads a slice
 *     today); at the end, for each, the sd of log(throughput A / throughput B) over the
 *     pairs, a robust sd (from the median absolute deviation), and the errors.
 *   duet_noise rate TARGET SECONDS CONNECTIONS THREADS CPUS
 *     loads TARGET alone in 1 s slices for SECONDS; prints requests/s and this
 *     process's CPU time (user + system) per request, in microseconds.
 *
 * CPUS as taskset takes it ("1", "0-1"); each load thread (and wrk) is pinned to them. */
#include "base/childproc.h"
#include "base/wrkres.h"
#include "run/duetload.h"
#include "units.h"

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
    double *logs;
    int n;
    uint64_t errors;
};

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The sd of the log ratios, and the robust one (1.4826 times the median absolute
 * deviation: what the sd would be without the pairs a busy spell of the machine hit). */
static void report(const struct series *s)
{
    double sum = 0, sumsq = 0, mean, sd, median, *v = calloc((size_t)s->n, sizeof(double));
    if (!v || s->n < 2)
        goto done;
    for (int p = 0; p < s->n; p++) {
        sum += s->logs[p];
        sumsq += s->logs[p] * s->logs[p];
        v[p] = s->logs[p];
    }
    mean = sum / s->n;
    sd = sqrt((sumsq - s->n * mean * mean) / (s->n - 1));
    median = median_of(v, s->n);
    for (int p = 0; p < s->n; p++)
        v[p] = fabs(s->logs[p] - median);
    printf("%-22s %d pairs: sd of log(A/B) %.4f, robust sd %.4f, mean %+.4f, errors %llu\n", s->name, s->n, sd,
           1.4826 * median_of(v, s->n), mean, (unsigned long long)s->errors);
done:
    free(v);
}

/* Requests/s of one wrk -d<seconds>s run against target pinned to cpus; NaN on failure. */
static double wrk_rate(const char *target, int seconds, unsigned connections, unsigned threads, const char *cpus)
{
    char cmd[512], line[512];
    double rate = NAN;
    FILE *f;
    snprintf(cmd, sizeof cmd, "taskset -c %s wrk -t%u -c%u -d%ds http://%s/api/products/7 2>/dev/null", cpus,
             threads, connections, seconds, target);
    f = popen(cmd, "r");
    if (!f)
        return NAN;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Requests/sec:", 13) == 0)
            rate = strtod(line + 13, NULL);
    pclose(f);
    return rate;
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
        if (!series[k].logs)
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
        unsigned first = p % 2 ? 2 : 1;
        printf("pair %2d %s", p, first == 1 ? "AB" : "BA");
        for (int k = 0; k < nlengths; k++) {
            if (duetload_slice(dl, first, lengths[k], res, err, sizeof err) < 0 ||
                duetload_slice(dl, 3 - first, lengths[k], res, err, sizeof err) < 0)
                goto fail;
            series[k].logs[series[k].n++] = log(wrkres_throughput(&res[0]) / wrkres_throughput(&res[1]));
            series[k].errors += wrkres_errors(&res[0]) + wrkres_errors(&res[1]);
            printf("  %.0fms %+.3f", (double)lengths[k] / MS, series[k].logs[series[k].n - 1]);
        }
        if (wrk_seconds > 0) {
            double rate[2];
            rate[first - 1] = wrk_rate(targets[first - 1], wrk_seconds, cfg->connections, cfg->threads, cpus);
            rate[2 - first] = wrk_rate(targets[2 - first], wrk_seconds, cfg->connections, cfg->threads, cpus);
            series[nlengths].logs[series[nlengths].n++] = log(rate[0] / rate[1]);
            printf("  wrk %+.3f", log(rate[0] / rate[1]));
        }
        printf("\n");
        fflush(stdout);
    }
    for (int k = 0; k < nseries; k++)
        report(&series[k]);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "duet_noise: %s\n", err);
done:
    for (int k = 0; k < nseries; k++)
        free(series[k].logs);
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
                        "[WRK_SECONDS]\n"
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
    if (noise)
        rc = run_noise(dl, cfg.target, lengths, nlengths, atoi(argv[5]), argc > 9 ? atoi(argv[9]) : 0, &cfg,
                       argv[cpu_arg]);
    else
        rc = run_rate(dl, atoi(argv[3]));
    duetload_free(dl);
    return rc;
}
