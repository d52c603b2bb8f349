/* Integration tests for the exact cost gate and what carries it between CI jobs, from
 * the command line against the real orderd under real callgrind and a real results
 * database: instructions_per_request measured around [load] requests, stored with its
 * counter, gated absolutely and against a baseline label (a slow.work regression
 * caught with one run a side); `loadlab baseline export` and `run --baseline-file`
 * (a pass, a regression, and the errors for a changed scenario and another counter);
 * `loadlab history --changes` on a history with a known shift; and the overhead
 * study's cost scenario taking its instrumentation setting from the environment. The
 * binaries are $LOADLAB_BIN and $ORDERD_BIN (set by the test runner) or build/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "files.h"
#include "loadlab_proc.h"
#include "store/figures.h"
#include "store/resultdb.h"

#define RUN_TIMEOUT_S 240

/* ORDERD_BIN=... for loadlab: the build's orderd, or under a sanitizer build (whose
 * runtime cannot run under valgrind) the plain build's; "" when there is none. */
static char orderd_env[4200];

static char dir[64], db_path[128], out_path[128], scenario_path[128], changed_path[128], base_path[128],
    other_counter_path[128];

static const char scenario_text[] =
    "[scenario]\nname = cost\nduration = 120s\nsample_interval = 1s\n"
    "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --workers 2 --log-level warn\nready_timeout = 120s\n"
    "[load]\npath = /api/products/7\nrequests = %d\nwarmup_requests = 3\ncounter = callgrind\n"
    "[gate]\ninstructions_per_request = < 200000\nregression.instructions_per_request = 1%%\n";

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Runs loadlab with args (NULL-terminated) and env additions; stdout to out (out_path
 * when NULL), stderr to out_path. Returns its exit code; fails the test after timeout_s. */
static int loadlab_to(const char *out, const char *const *args, char *const *env, int timeout_s)
{
    return loadlab_proc_wait(loadlab_proc_start_split(args, env, out ? out : out_path, out ? out_path : NULL),
                             timeout_s);
}

static int loadlab(const char *const *args, char *const *env)
{
    return loadlab_to(NULL, args, env, RUN_TIMEOUT_S);
}

static void expect_output(const char *needle)
{
    char *out = files_read(out_path);
    if (!strstr(out, needle))
        fail_msg("expected '%s' in:\n%s", needle, out);
    free(out);
}

static void choose_orderd(void)
{
    const char *bin = getenv("ORDERD_BIN") && *getenv("ORDERD_BIN") ? getenv("ORDERD_BIN") : "build/orderd";
    if (strstr(bin, "/san-"))
        bin = access("build/orderd", X_OK) == 0 ? "build/orderd" : NULL;
    orderd_env[0] = '\0';
    if (bin)
        snprintf(orderd_env, sizeof orderd_env, "ORDERD_BIN=%s", bin);
}

static int setup(void **state)
{
    char text[1024];
    (void)state;
    choose_orderd();
    snprintf(dir, sizeof dir, "/tmp/loadlab-costgate-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db_path, sizeof db_path, "%s/results.db", dir);
    snprintf(out_path, sizeof out_path, "%s/output.txt", dir);
    snprintf(scenario_path, sizeof scenario_path, "%s/cost.ini", dir);
    snprintf(changed_path, sizeof changed_path, "%s/changed/cost.ini", dir);
    snprintf(base_path, sizeof base_path, "%s/base.json", dir);
    snprintf(other_counter_path, sizeof other_counter_path, "%s/hw.json", dir);
    snprintf(text, sizeof text, scenario_text, 40);
    write_text(scenario_path, text);
    snprintf(text, sizeof text, "%s/changed", dir);
    if (mkdir(text, 0755) < 0)
        return -1;
    snprintf(text, sizeof text, scenario_text, 30);  /* another load: another definition */
    write_text(changed_path, text);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The figure of every run of scenario under label, with its counter. */
static size_t stored_figures_of(const char *scenario, const char *label, double *values, size_t cap)
{
    char err[512];
    struct resultdb *db = resultdb_open(db_path, true, err, sizeof err);
    struct figures_run runs[8];
    size_t n = 0;

    if (!db)
        fail_msg("%s", err);
    assert_int_equal(figures_of_latest(db, "instructions_per_request", scenario, label, "", runs, 8, &n, err,
                                       sizeof err), 0);
    for (size_t i = 0; i < n && i < cap; i++) {
        assert_true(runs[i].recorded);
        assert_string_equal(runs[i].counter, "callgrind");
        values[i] = runs[i].value;
    }
    resultdb_close(db);
    return n;
}

static size_t stored_figures(const char *label, double *values, size_t cap)
{
    return stored_figures_of("cost", label, values, cap);
}

static void test_costgate_counts_gates_and_catches_a_regression_with_one_run_a_side(void **state)
{
    char *slow_env[] = {"ORDERD_FAULTS=slow.work=on(300)", orderd_env, NULL}, *env[] = {orderd_env, NULL};
    double v[8];
    (void)state;
    if (!orderd_env[0])
        skip();  /* a sanitizer build without a plain orderd to run under valgrind */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(loadlab((const char *[]){"run", "--quiet", "--db", db_path, "--label", "main",
                                                  scenario_path, NULL}, env), 0);
        expect_output("instructions_per_request");
        expect_output("held");
    }
    assert_int_equal(stored_figures("main", v, 8), 2);
    /* a product read is thousands of instructions, and the count repeats exactly enough */
    assert_true(v[0] > 1000 && v[0] < 200000);
    assert_true(v[1] / v[0] < 1.0005 && v[1] / v[0] > 0.9995);

    /* 300 loop turns a request: a few percent more instructions, caught with one run */
    assert_int_equal(loadlab((const char *[]){"run", "--quiet", "--db", db_path, "--label", "slow", "--baseline",
                                              "main", scenario_path, NULL}, slow_env), 99);
    expect_output("regression.instructions_per_request");
    expect_output("FAILED: exact count");
    assert_int_equal(stored_figures("slow", v, 8), 1);

    /* the same build against itself holds */
    assert_int_equal(loadlab((const char *[]){"run", "--quiet", "--db", db_path, "--label", "same", "--baseline",
                                              "main", scenario_path, NULL}, env), 0);
    expect_output("held: exact count");
}

static void test_costgate_baseline_file_judges_and_refuses_what_is_not_comparable(void **state)
{
    char *slow_env[] = {"ORDERD_FAULTS=slow.work=on(300)", orderd_env, NULL}, *env[] = {orderd_env, NULL};
    char *json, *p;
    (void)state;
    if (!orderd_env[0])
        skip();
    /* the runs of the test above are the baseline build's job */
    assert_int_equal(loadlab_to(base_path, (const char *[]){"baseline", "export", "--db", db_path, "--label", "main",
                                                            scenario_path, NULL}, NULL, 30), 0);
    json = files_read(base_path);
    assert_non_null(strstr(json, "\"format\": \"loadlab-baseline\""));
    assert_non_null(strstr(json, "\"figure\": \"instructions_per_request\""));
    assert_non_null(strstr(json, "\"counter\": \"callgrind\""));
    assert_non_null(strstr(json, "\"definition\""));

    /* another job, another database: the same build holds, a slower one fails */
    snprintf(db_path + strlen(db_path) - strlen("results.db"), 16, "ci.db");
    assert_int_equal(loadlab((const char *[]){"run", "--quiet", "--db", db_path, "--label", "pr", "--baseline-file",
                                              base_path, scenario_path, NULL}, env), 0);
    expect_output("file:main");
    expect_output("held: exact count");
    assert_int_equal(loadlab((const char *[]){"run", "--quiet", "--db", db_path, "--label", "pr-slow",
                                              "--baseline-file", base_path, scenario_path, NULL}, slow_env), 99);
    expect_output("FAILED: exact count");

    /* a scenario whose load changed is not compared with the old figures */
    assert_int_equal(loadlab((const char *[]){"run", "--quiet", "--db", db_path, "--label", "pr", "--baseline-file",
                                              base_path, changed_path, NULL}, env), 1);
    expect_output("was defined differently when the baseline was made");

    /* nor a count of another counter: both are named */
    p = strstr(json, "\"callgrind\"");
    assert_non_null(p);
    memmove(p + strlen("\"hw-instructions\""), p + strlen("\"callgrind\""), strlen(p + strlen("\"callgrind\"")) + 1);
    memcpy(p, "\"hw-instructions\"", strlen("\"hw-instructions\""));
    write_text(other_counter_path, json);
    assert_int_equal(loadlab((const char *[]){"run", "--quiet", "--db", db_path, "--label", "pr", "--baseline-file",
                                              other_counter_path, scenario_path, NULL}, env), 1);
    expect_output("counted with hw-instructions, this run's with callgrind");
    free(json);
    snprintf(db_path + strlen(db_path) - strlen("ci.db"), 16, "results.db");
}

/* 24 runs of "shop" whose throughput drops 10% from the 13th (revision rev-13). */
static void test_costgate_history_changes_finds_the_shift_and_its_revision(void **state)
{
    char path[160], err[512], rev[32];
    struct resultdb *db;
    (void)state;
    snprintf(path, sizeof path, "%s/history.db", dir);
    if (!(db = resultdb_open(path, false, err, sizeof err)))
        fail_msg("%s", err);
    for (int i = 1; i <= 24; i++) {
        struct resultdb_run row = {.scenario = "shop", .scenario_file = "shop.ini", .label = "main", .git_rev = rev,
                                   .params = "{}"};
        double noise = ((i * 37) % 11 - 5) * 2.0;  /* +-10 req/s, deterministic */
        int64_t id;
        snprintf(rev, sizeof rev, "rev-%02d", i);
        if (resultdb_run_begin(db, &row, &id, err, sizeof err) < 0 ||
            figures_record(db, id, "throughput", "req/s", (i < 13 ? 1000 : 900) + noise, NULL, err, sizeof err) < 0 ||
            resultdb_run_end(db, id, "completed", NULL, "met", 0, 2, err, sizeof err) < 0)
            fail_msg("%s", err);
    }
    resultdb_close(db);
    assert_int_equal(loadlab_to(NULL, (const char *[]){"history", "--changes", "--db", path, "shop", "throughput",
                                                       NULL}, NULL, 60), 0);
    expect_output("24 runs with the figure");
    expect_output("1 change point");
    expect_output("run 13  rev rev-13");
    expect_output("1000 req/s -> 900 req/s");
    /* no such figure: exit 2; no --changes: usage */
    assert_int_equal(loadlab_to(NULL, (const char *[]){"history", "--changes", "--db", path, "shop", "p99_latency",
                                                       NULL}, NULL, 60), 2);
    assert_int_equal(loadlab_to(NULL, (const char *[]){"history", "--db", path, "shop", "throughput", NULL}, NULL,
                                60), 2);
}

/* make overhead's exact pass: the shipped product-read scenario takes orderd's
 * instrumentation setting from the environment, whole flags included, and counts what
 * each level costs (metrics does more per request than off, the same setting twice
 * counts the same). */
static void test_costgate_overhead_setting_comes_from_the_environment(void **state)
{
    char *off[] = {"OVERHEAD_LEVEL=off", orderd_env, NULL};
    char *metrics[] = {"OVERHEAD_LEVEL=metrics", orderd_env, NULL};
    char *profile[] = {"OVERHEAD_LEVEL=profile", "OVERHEAD_MUTEX=--mutex-profile-fraction=1",
                       "OVERHEAD_BLOCK=--block-profile-rate=1", orderd_env, NULL};
    const char *file = "scenarios/overhead/instrument/cost-read.ini";
    double v[8], m[8], p[8];
    (void)state;
    if (!orderd_env[0])
        skip();
    for (int i = 0; i < 2; i++)
        assert_int_equal(loadlab((const char *[]){"run", "--quiet", "--db", db_path, "--label", "ovh-off", file,
                                                  NULL}, off), 0);
    assert_int_equal(loadlab((const char *[]){"run", "--quiet", "--db", db_path, "--label", "ovh-metrics", file,
                                              NULL}, metrics), 0);
    assert_int_equal(loadlab((const char *[]){"run", "--quiet", "--db", db_path, "--label", "ovh-profile", file,
                                              NULL}, profile), 0);
    assert_int_equal(stored_figures_of("instrument-cost-read", "ovh-off", v, 8), 2);
    assert_int_equal(stored_figures_of("instrument-cost-read", "ovh-metrics", m, 8), 1);
    assert_int_equal(stored_figures_of("instrument-cost-read", "ovh-profile", p, 8), 1);
    assert_true(v[1] / v[0] < 1.0005 && v[1] / v[0] > 0.9995);
    /* counting requests costs instructions: more than the repeat's spread, under 20% */
    assert_true(m[0] > v[0] * 1.001 && m[0] < v[0] * 1.2);
    assert_true(p[0] >= m[0] * 0.999);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_costgate_counts_gates_and_catches_a_regression_with_one_run_a_side),
        cmocka_unit_test(test_costgate_baseline_file_judges_and_refuses_what_is_not_comparable),
        cmocka_unit_test(test_costgate_history_changes_finds_the_shift_and_its_revision),
        cmocka_unit_test(test_costgate_overhead_setting_comes_from_the_environment),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
