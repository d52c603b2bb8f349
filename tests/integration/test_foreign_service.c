/* Integration tests for loadlab against services it has never seen.
 *
 * A real Prometheus server (the Debian package), which serves its own client_golang
 * metrics and Go's net/http/pprof, and has no /readyz, no /debug/faults and no orderd_*
 * metric: with no keys beyond url and metrics a run must become ready, record
 * go_goroutines, judge the gates Go's metrics allow, and take evidence only from the
 * debug endpoints the service has.
 *
 * A small Go service built here from tests/support/goleak (standard library only,
 * offline, its build cache in the test's folder), whose goroutine leak a request
 * switches on mid-run: the goroutine_growth gate trips and `loadlab diagnose` names a
 * thread-leak with the leaking function, read from the Go goroutine profile.
 *
 * The binary is $LOADLAB_BIN (set by the test runner) or build/loadlab. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/childproc.h"
#include "curl_client.h"
#include "files.h"
#include "free_port.h"
#include "loadlab_proc.h"
#include "testdb.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static pid_t prometheus;
static int port;
static char out_path[160];

/* Prometheus scraping nothing (its own /metrics is what loadlab reads), with its
 * storage in the test's folder. loadlab's readiness wait covers its start-up. */
static int setup(void **state)
{
    char config[160], cfgarg[200], storage[200], listen[64], logpath[160], err[512];
    int log;
    (void)state;

    if (tmpdb_make(&tmp, "loadlab-foreign") < 0 || (port = free_port()) < 0)
        return -1;
    snprintf(out_path, sizeof out_path, "%s/output.txt", tmp.dir);
    snprintf(config, sizeof config, "%s/prometheus.yml", tmp.dir);
    if (files_write(config, "global:\n  scrape_interval: 60s\n") < 0)
        return -1;
    snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", config);
    snprintf(storage, sizeof storage, "--storage.tsdb.path=%s/data", tmp.dir);
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", port);
    snprintf(logpath, sizeof logpath, "%s/prometheus.log", tmp.dir);
    char *argv[] = {"prometheus", cfgarg, storage, listen, NULL};
    if ((log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return -1;
    struct childproc_spec spec = {.argv = argv, .stdout_fd = CHILDPROC_NULL, .stderr_fd = log};
    if (childproc_spawn(&spec, &prometheus, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "%s (the prometheus package is needed)\n", err);
        close(log);
        return -1;
    }
    close(log);
    return 0;
}

static int teardown(void **state)
{
    int status;
    (void)state;
    if (prometheus > 0)
        childproc_stop(prometheus, 5000, &status);
    return tmpdb_remove(&tmp);
}

static void write_scenario(const char *name, const char *extra, char *path, size_t pathlen)
{
    char text[1024], file[64];
    snprintf(file, sizeof file, "%s.ini", name);
    snprintf(text, sizeof text,
             "[scenario]\nname = %s\nduration = 3s\nsample_interval = 200ms\n"
             "[service]\nurl = http://127.0.0.1:%d\nmetrics = http://127.0.0.1:%d/metrics\n"
             "[load]\nconnections = 1\n%s",
             name, port, port, extra);
    assert_int_equal(files_write(tmpdb_file(&tmp, file, path, pathlen), text), 0);
}

static void test_foreign_service_prometheus_with_url_and_metrics_only(void **state)
{
    char path[256], *out;
    (void)state;

    write_scenario("bare", "", path, sizeof path);
    assert_int_equal(loadlab_proc_run((const char *[]){"run", "--db", tmp.path, path, NULL}, NULL, out_path, 90), 0);
    out = files_read(out_path);
    assert_non_null(out);
    assert_null(strstr(out, "not ready"));
    free(out);
    assert_true(testdb_int(tmp.path, "SELECT count(*) FROM samples WHERE metric = 'go_goroutines'") >= 5);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM runs WHERE status = 'completed'"), 1);
}

static void test_foreign_service_go_metrics_judge_growth_and_cpu_gates(void **state)
{
    char path[256], *out;
    (void)state;

    write_scenario("gated",
                   "[gate]\nthread_growth = < 50/s\ngoroutine_growth = < 500/s\nrss_growth = < 1GB/s\n"
                   "cpu_per_request = < 1s\n",
                   path, sizeof path);
    assert_int_equal(loadlab_proc_run((const char *[]){"run", "--db", tmp.path, path, NULL}, NULL, out_path, 90), 0);
    out = files_read(out_path);
    assert_non_null(out);
    assert_null(strstr(out, "does not expose"));
    free(out);
    /* every gate measured a value (none is an error for want of orderd's metrics) */
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM gates g JOIN runs r ON r.id = g.run_id "
                                          "WHERE r.scenario = 'gated' AND g.passed = 1"),
                     4);
}

static void test_foreign_service_evidence_only_from_endpoints_it_has(void **state)
{
    char path[256], *out;
    long long run;
    (void)state;

    write_scenario("evidence", "", path, sizeof path);
    assert_int_equal(
        loadlab_proc_run((const char *[]){"run", "--capture", "--db", tmp.path, path, NULL}, NULL, out_path, 90), 0);
    out = files_read(out_path);
    assert_non_null(out);
    assert_non_null(strstr(out, "debug endpoints for evidence: goroutine, mutex, block, heap"));
    assert_null(strstr(out, "answered 404"));
    assert_null(strstr(out, "not kept"));
    /* Go's mutex, block and heap profiles are read as orderd's are: the diagnosis ran */
    assert_non_null(strstr(out, "  diagnosis:"));
    assert_null(strstr(out, "diagnosis of run"));
    free(out);
    run = testdb_int(tmp.path, "SELECT max(id) FROM runs");
    /* the goroutine profile stands for orderd's thread dump; nothing of orderd's own */
    assert_true(testdb_int_of_run(tmp.path, "SELECT count(*) FROM evidence WHERE run_id = ?1 AND kind = 'threads'",
                                  run) >= 2);
    assert_int_equal(testdb_int_of_run(tmp.path,
                                       "SELECT count(*) FROM evidence WHERE run_id = ?1 AND kind IN ('faults', 'vars')",
                                       run),
                     0);
}

/* Builds tests/support/goleak into the test's folder; fails the test when go cannot. */
static void build_goleak(char *bin, size_t binlen)
{
    char cmd[1024];
    snprintf(bin, binlen, "%s/goleak", tmp.dir);
    snprintf(cmd, sizeof cmd,
             "env GOCACHE='%s/gocache' GOPATH='%s/gopath' GO111MODULE=off GOFLAGS= GOTOOLCHAIN=local "
             "go build -o '%s' tests/support/goleak/main.go > '%s/gobuild.log' 2>&1",
             tmp.dir, tmp.dir, bin, tmp.dir);
    if (system(cmd) != 0)
        fail_msg("go build of tests/support/goleak failed (golang-go is a test dependency; see %s/gobuild.log)",
                 tmp.dir);
}

static void test_foreign_service_go_goroutine_leak_is_diagnosed_with_its_function(void **state)
{
    char bin[200], path[256], text[1024], url[96], *out;
    struct curl_client_result r;
    int go_port = free_port(), up = 0, code;
    long long run;
    pid_t loadlab;
    (void)state;

    build_goleak(bin, sizeof bin);
    snprintf(text, sizeof text,
             "[scenario]\nname = goleak\nduration = 8s\nsample_interval = 200ms\n"
             "[service]\ncommand = %s -listen 127.0.0.1:%d\nurl = http://127.0.0.1:%d\n"
             "metrics = http://127.0.0.1:%d/metrics\n"
             "[load]\nconnections = 2\npath = /api/item\n"
             "[gate]\ngoroutine_growth = < 5/s\n[expect]\nfail = goroutine_growth\n",
             bin, go_port, go_port, go_port);
    assert_int_equal(files_write(tmpdb_file(&tmp, "goleak.ini", path, sizeof path), text), 0);
    loadlab = loadlab_proc_start((const char *[]){"run", "--db", tmp.path, path, NULL}, NULL, out_path);
    /* once the service answers, switch its leak on, as a person with curl would */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/item", go_port);
    for (int i = 0; i < 300 && !up; i++) {
        up = curl_client_request("GET", url, NULL, 0, NULL, 1000, &r) == 0 && r.status == 200;
        curl_client_free(&r);
        if (!up)
            usleep(50000);
    }
    assert_true(up);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/leak/on", go_port);
    assert_int_equal(curl_client_request("GET", url, NULL, 0, NULL, 2000, &r), 0);
    assert_int_equal(r.status, 200);
    curl_client_free(&r);
    code = loadlab_proc_wait(loadlab, 90);
    out = files_read(out_path);
    assert_non_null(out);
    if (code != 0)
        fail_msg("loadlab run exited %d:\n%s", code, out);
    assert_non_null(strstr(out, "goroutine_growth"));
    assert_non_null(strstr(out, "tripped as expected"));
    free(out);

    run = testdb_int(tmp.path, "SELECT max(id) FROM runs WHERE scenario = 'goleak'");
    snprintf(text, sizeof text, "%lld", run);
    assert_int_equal(loadlab_proc_run((const char *[]){"diagnose", "--dry-run", "--db", tmp.path, text, NULL}, NULL,
                                      out_path, 60),
                     0);
    out = files_read(out_path);
    assert_non_null(out);
    if (!strstr(out, "thread-leak in main.leakyWorker") || !strstr(out, "go_goroutines") ||
        !strstr(out, "goroutines share one stack ending in main.leakyWorker") ||
        !strstr(out, "goroutine?debug=1 at t="))
        fail_msg("diagnosis:\n%s", out);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreign_service_prometheus_with_url_and_metrics_only),
        cmocka_unit_test(test_foreign_service_go_metrics_judge_growth_and_cpu_gates),
        cmocka_unit_test(test_foreign_service_evidence_only_from_endpoints_it_has),
        cmocka_unit_test(test_foreign_service_go_goroutine_leak_is_diagnosed_with_its_function),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
