/* Integration tests for loadlab against a service it has never seen: a real Prometheus
 * server (the Debian package), which serves its own client_golang metrics and Go's
 * net/http/pprof, and has no /readyz, no /debug/faults and no orderd_* metric. With
 * no keys beyond url and metrics a run must become ready, record go_goroutines, judge
 * the gates Go's metrics allow, and take evidence only from the debug endpoints the
 * service has. The binary is $LOADLAB_BIN (set by the test runner) or build/loadlab. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/childproc.h"
#include "files.h"
#include "loadlab_proc.h"
#include "testdb.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static pid_t prometheus;
static int port;
static char out_path[160];

/* A port nobody listens on right now (bound and released; good enough on loopback). */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), p = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        p = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return p;
}

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreign_service_prometheus_with_url_and_metrics_only),
        cmocka_unit_test(test_foreign_service_go_metrics_judge_growth_and_cpu_gates),
        cmocka_unit_test(test_foreign_service_evidence_only_from_endpoints_it_has),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
