/* Integration test for promapi against a real Prometheus server (the Debian package)
 * scraping two real orderd replicas every second: per-instance series with their
 * instance labels, the sum over the fleet, Prometheus' own query errors, and an
 * unreachable server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/httpclient.h"
#include "base/promapi.h"
#include "orderd_proc.h"
#include "free_port.h"
#include "prometheus_proc.h"

static char err[1024];

struct fleet {
    struct orderd_proc replica[2];
    struct prometheus_proc prom;
    char instance[2][64];
};

static int setup(void **state)
{
    static struct fleet f;
    const char *a0[] = {"--queue-capacity", "77", NULL}, *a1[] = {"--queue-capacity", "33", NULL};
    const char *targets[2];

    if (orderd_proc_start(&f.replica[0], a0, NULL) < 0 || orderd_proc_start(&f.replica[1], a1, NULL) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        snprintf(f.instance[i], sizeof f.instance[i], "127.0.0.1:%d", f.replica[i].debug_port);
        targets[i] = f.instance[i];
    }
    if (prometheus_proc_start(&f.prom, "orderd", targets, 2) < 0)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fleet *f = *state;
    orderd_proc_stop(&f->replica[0], 15, 5000);
    orderd_proc_stop(&f->replica[1], 15, 5000);
    return prometheus_proc_stop(&f->prom);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_promapi_reads_a_fleet_through_prometheus(void **state)
{
    struct fleet *f = *state;
    struct httpclient *client = httpclient_new(NULL, err, sizeof err);
    struct promapi_result r = {0};
    assert_non_null(client);
    /* up to 60 s for Prometheus to start and scrape both replicas twice */
    for (int tries = 0; tries < 120; tries++) {
        double end = now();
        if (promapi_query_range(client, f->prom.url, "orderd_queue_capacity", end - 30, end, 1, 5000, &r, err,
                                sizeof err) == 0) {
            if (r.nseries == 2 && r.series[0].n >= 2 && r.series[1].n >= 2)
                break;
            promapi_result_free(&r);
        }
        usleep(500 * 1000);
    }
    if (r.nseries != 2)
        fail_msg("Prometheus never had both replicas' series: %s", err);
    for (size_t s = 0; s < 2; s++) {
        const struct promapi_series *series = &r.series[s];
        int which = strcmp(series->instance, f->instance[0]) == 0 ? 0 : 1;
        assert_string_equal(series->instance, f->instance[which]);
        assert_string_equal(series->name, "orderd_queue_capacity");
        assert_non_null(strstr(series->labels, "job=\"orderd\""));
        assert_float_equal(series->v[series->n - 1], which == 0 ? 77 : 33, 0);
    }
    promapi_result_free(&r);

    /* the fleet's figure, summed by Prometheus and by promapi_sum, agree */
    double end = now(), *t, *v;
    unsigned *present;
    size_t n;
    assert_int_equal(promapi_query_range(client, f->prom.url, "orderd_queue_capacity", end - 5, end, 1, 5000, &r,
                                         err, sizeof err), 0);
    assert_int_equal(promapi_sum(&r, &t, &v, &present, &n), 0);
    assert_true(n >= 1);
    assert_float_equal(v[n - 1], 110, 0);
    assert_int_equal(present[n - 1], 2);
    free(t);
    free(v);
    free(present);
    promapi_result_free(&r);
    assert_int_equal(promapi_query_range(client, f->prom.url, "sum(orderd_queue_capacity)", end - 5, end, 1, 5000, &r,
                                         err, sizeof err), 0);
    assert_int_equal(r.nseries, 1);
    assert_float_equal(r.series[0].v[r.series[0].n - 1], 110, 0);
    promapi_result_free(&r);

    /* Prometheus' own words for a bad query; a step too fine; nobody there */
    assert_int_equal(promapi_query_range(client, f->prom.url, "sum(", end - 5, end, 1, 5000, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad_data"));
    assert_int_equal(promapi_query_range(client, f->prom.url, "up", end - 86400, end, 1, 5000, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "11000"));
    char nobody[64];
    snprintf(nobody, sizeof nobody, "http://127.0.0.1:%d", free_port());
    assert_int_equal(promapi_query_range(client, nobody, "up", end - 5, end, 1, 2000, &r, err, sizeof err), -1);
    httpclient_free(client);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promapi_reads_a_fleet_through_prometheus),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
