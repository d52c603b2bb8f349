/* duet_noise: figures for duetload, not a test (scripts/duet-noise.sh runs it).
 *
 *   duet_noise noise TARGET_A TARGET_B SLICE_MS PAIRS CONNECTIONS THREADS [CPUS]
 *     PAIRS pairs of slices, one on each side, in the order AB, BA, AB, ... (so that a
 *     drift of the machine within a pair falls on both orders alike); prints each
 *     pair's throughputs and, at the end, the sd of log(throughput A / throughput B)
 *     over the pairs, its median absolute value, and the errors.
 *   duet_noise rate TARGET SECONDS CONNECTIONS THREADS [CPUS]
 *     loads TARGET alone in 1 s slices for SECONDS; prints requests/s and this
 *     process's CPU time (user + system) per request, in microseconds.
 *
 * CPUS as taskset takes it ("1", "0-1"); each load thread is pinned to one of them. */
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

static uint64_t errors_of(const struct wrkres *r)
{
    return r->errors_connect + r->errors_read + r->errors_write + r->errors_timeout + r->errors_status;
}

static int run_noise(struct duetload *dl, int64_t slice_ns, int pairs)
{
    struct wrkres res[2];
    double *logs = calloc((size_t)pairs, sizeof(double)), sum = 0, sumsq = 0;
    uint64_t errors = 0;
    char err[256];

    if (!logs)
        return 1;
    /* warm-up: both sides, not counted */
    for (int i = 0; i < 4; i++)
        if (duetload_slice(dl, 1u + (unsigned)(i % 2), slice_ns, res, err, sizeof err) < 0)
            goto fail;
    for (int p = 0; p < pairs; p++) {
        unsigned first = p % 2 ? 2 : 1;
        double ta, tb;
        if (duetload_slice(dl, first, slice_ns, res, err, sizeof err) < 0 ||
            duetload_slice(dl, 3 - first, slice_ns, res, err, sizeof err) < 0)
            goto fail;
        ta = wrkres_throughput(&res[0]);
        tb = wrkres_throughput(&res[1]);
        errors += errors_of(&res[0]) + errors_of(&res[1]);
        logs[p] = log(ta / tb);
        sum += logs[p];
        sumsq += logs[p] * logs[p];
        printf("pair %2d %s  A %8.0f/s  B %8.0f/s  log(A/B) %+.4f  p99 A %.2fms B %.2fms\n", p,
               first == 1 ? "AB" : "BA", ta, tb, logs[p], res[0].latency_p99 * 1e3, res[1].latency_p99 * 1e3);
    }
    {
        double mean = sum / pairs, sd = sqrt((sumsq - pairs * mean * mean) / (pairs - 1));
        for (int p = 0; p < pairs; p++)
            logs[p] = fabs(logs[p]);
        qsort(logs, (size_t)pairs, sizeof(double), compare_double);
        printf("slice %.0f ms, %d pairs: sd of log(A/B) %.4f, mean %+.4f, median |log(A/B)| %.4f, errors %llu\n",
               (double)slice_ns / MS, pairs, sd, mean, logs[pairs / 2], (unsigned long long)errors);
    }
    free(logs);
    return 0;
fail:
    fprintf(stderr, "duet_noise: %s\n", err);
    free(logs);
    return 1;
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
        errors += errors_of(&res[0]);
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
    bool noise = argc >= 8 && strcmp(argv[1], "noise") == 0;
    bool rate = argc >= 6 && strcmp(argv[1], "rate") == 0;
    int rc, cpu_arg = noise ? 8 : 6;

    if (!noise && !rate) {
        fprintf(stderr, "usage: duet_noise noise TARGET_A TARGET_B SLICE_MS PAIRS CONNECTIONS THREADS [CPUS]\n"
                        "       duet_noise rate TARGET SECONDS CONNECTIONS THREADS [CPUS]\n");
        return 2;
    }
    cfg.target[0] = argv[2];
    cfg.target[1] = noise ? argv[3] : argv[2];
    cfg.connections = (unsigned)atoi(argv[noise ? 6 : 4]);
    cfg.threads = (unsigned)atoi(argv[noise ? 7 : 5]);
    if (argc > cpu_arg) {
        if (childproc_parse_cpus(argv[cpu_arg], &cpus, err, sizeof err) < 0) {
            fprintf(stderr, "duet_noise: cpus: %s\n", err);
            return 2;
        }
        cfg.cpus = &cpus;
    }
    dl = duetload_start(&cfg, err, sizeof err);
    if (!dl) {
        fprintf(stderr, "duet_noise: %s\n", err);
        return 1;
    }
    if (noise)
        rc = run_noise(dl, atoi(argv[4]) * MS, atoi(argv[5]));
    else
        rc = run_rate(dl, atoi(argv[3]));
    duetload_free(dl);
    return rc;
}
