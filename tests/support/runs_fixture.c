/* runs_fixture: known runs in a results database. See runs_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "runs_fixture.h"

static int64_t add(struct resultdb *db, const char *scenario, const char *label, const char *status,
                   const struct wrkres *load, const char *params)
{
    struct resultdb_run row = {.scenario = scenario, .scenario_file = "fixture.ini", .label = label,
                               .params = params ? params : "{}"};
    char err[512];
    int64_t id = 0;

    if (resultdb_run_begin(db, &row, &id, err, sizeof err) < 0 ||
        (load && resultdb_load_result(db, id, "measure", 0, 32, 1, load, err, sizeof err) < 0) ||
        resultdb_run_end(db, id, status, NULL, NULL, 0, 2, err, sizeof err) < 0)
        fail_msg("fixture run: %s", err);
    return id;
}

int64_t runs_fixture_add(struct resultdb *db, const char *scenario, const char *label, double throughput,
                         double p99_s, const char *params)
{
    struct wrkres load = {.duration_s = 2, .requests = (uint64_t)llround(throughput * 2),
                          .latency_min = NAN, .latency_mean = NAN, .latency_stdev = NAN, .latency_max = NAN,
                          .latency_p50 = p99_s / 4, .latency_p75 = p99_s / 3, .latency_p90 = p99_s / 2,
                          .latency_p99 = p99_s, .latency_p999 = p99_s * 2};
    return add(db, scenario, label, "completed", &load, params);
}

int64_t runs_fixture_add_aborted(struct resultdb *db, const char *scenario, const char *label)
{
    return add(db, scenario, label, "aborted", NULL, NULL);
}
