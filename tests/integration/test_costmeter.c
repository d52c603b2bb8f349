/* Integration tests for costmeter against a real orderd: the per-thread perf plumbing
 * (with the task clock, which every Linux has), and callgrind counting only between
 * begin and end, repeatably, and seeing a costlier request path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/childproc.h"
#include "orderd_proc.h"
#include "run/costmeter.h"

static char err[512];

static const char *orderd_bin(void)
{
    const char *b = getenv("ORDERD_BIN");
    return b && *b ? b : "build/orderd";
}

static size_t discard(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    (void)user;
    return size * n;
}

/* n GETs of one product on port, over one keep-alive connection (as a cost run sends
 * its requests); each must answer 200. */
static void requests(int port, int n)
{
    char url[128];
    CURL *c = curl_easy_init();
    assert_non_null(c);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/products/7", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    for (int i = 0; i < n; i++) {
        long status = 0;
        assert_int_equal(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        assert_int_equal(status, 200);
    }
    curl_easy_cleanup(c);
}

static void test_costmeter_kind_names(void **state)
{
    enum costmeter_kind k = COSTMETER_TASK_CLOCK;
    (void)state;
    assert_int_equal(costmeter_parse_kind("callgrind", &k, err, sizeof err), 0);
    assert_int_equal(k, COSTMETER_CALLGRIND);
    assert_int_equal(costmeter_parse_kind("hw-instructions", &k, err, sizeof err), 0);
    assert_int_equal(k, COSTMETER_HW_INSTRUCTIONS);
    assert_int_equal(costmeter_parse_kind("auto", &k, err, sizeof err), 1);
    assert_int_equal(costmeter_parse_kind("cycles", &k, err, sizeof err), -1);
    assert_non_null(strstr(err, "'cycles'"));
    assert_int_equal(k, COSTMETER_HW_INSTRUCTIONS);
}

static void test_costmeter_detect_names_a_counter(void **state)
{
    enum costmeter_kind k;
    char why[256];
    (void)state;
    /* valgrind is one of the project's packages, so some counter is always there */
    assert_int_equal(costmeter_detect(&k, why, sizeof why, err, sizeof err), 0);
    assert_true(k == COSTMETER_HW_INSTRUCTIONS || k == COSTMETER_CALLGRIND);
    if (k == COSTMETER_CALLGRIND)
        assert_non_null(strstr(why, "perf_event_open"));
    else
        assert_string_equal(why, "");
}

/* Every thread of the service is counted, and CPU burnt by requests shows. */
static void test_costmeter_counts_every_thread_of_the_service(void **state)
{
    struct orderd_proc p;
    const char *args[] = {"--workers", "3", "--io-threads", "2", NULL};
    struct costmeter *m;
    uint64_t idle = 0, busy = 0;
    unsigned threads = 0;
    (void)state;
    assert_int_equal(orderd_proc_start(&p, args, "slow=on(2ms)"), 0);
    m = costmeter_new(COSTMETER_TASK_CLOCK, p.pid, NULL, err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    if (costmeter_begin(m, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(costmeter_end(m, &idle, &threads, err, sizeof err), 0);
    /* main, 2 io, 3 workers, the debug thread */
    assert_true(threads >= 7);
    assert_int_equal(costmeter_begin(m, err, sizeof err), 0);
    requests(p.public_port, 25); /* each burns 2 ms of CPU in an io thread */
    assert_int_equal(costmeter_end(m, &busy, &threads, err, sizeof err), 0);
    /* the burn is 2 ms of wall time; on a loaded machine a thread gets only part of
     * it on a CPU, so this asks for a tenth: still far above an idle count */
    assert_true(busy >= 25 * 2000000ULL / 10);
    assert_true(busy > idle);
    /* an end without a begin is refused */
    assert_int_equal(costmeter_end(m, &busy, &threads, err, sizeof err), -1);
    costmeter_free(m);
    pid_t gone = p.pid;
    orderd_proc_stop(&p, 15, 5000);
    /* the process is gone: nothing to count */
    m = costmeter_new(COSTMETER_TASK_CLOCK, gone, NULL, err, sizeof err);
    assert_non_null(m);
    assert_int_equal(costmeter_begin(m, err, sizeof err), -1);
    costmeter_free(m);
}

struct under_callgrind {
    pid_t pid;
    int port;
    char dir[64];
};

/* Starts orderd under the callgrind prefix with the given fault (or none) and waits up
 * to 60 s for its listening line. */
static void start_under_callgrind(struct under_callgrind *u, const char *fault)
{
    char prefix_buf[1024], line[4096] = "", *argv[COSTMETER_MAX_ARGS + 16], *fault_env[2] = {NULL, NULL};
    char fault_var[128];
    size_t argc = 0, used = 0;
    int out = -1;
    snprintf(u->dir, sizeof u->dir, "/tmp/loadlab-cg-XXXXXX");
    assert_non_null(mkdtemp(u->dir));
    assert_int_equal(costmeter_command_prefix(COSTMETER_CALLGRIND, u->dir, argv, &argc, prefix_buf,
                                              sizeof prefix_buf, err, sizeof err), 0);
    assert_true(argc >= 3);
    assert_string_equal(argv[0], "valgrind");
    const char *rest[] = {orderd_bin(), "--listen", "127.0.0.1:0", "--debug-listen", "127.0.0.1:0",
                          "--io-threads", "1", "--log-level", "error", NULL};
    for (size_t i = 0; rest[i]; i++)
        argv[argc++] = (char *)rest[i];
    argv[argc] = NULL;
    if (fault) {
        snprintf(fault_var, sizeof fault_var, "ORDERD_FAULTS=%s", fault);
        fault_env[0] = fault_var;
    }
    struct childproc_spec spec = {.argv = argv, .env_add = fault_env, .stdout_fd = CHILDPROC_PIPE,
                                  .stderr_fd = CHILDPROC_NULL};
    assert_int_equal(childproc_spawn(&spec, &u->pid, &out, err, sizeof err), 0);
    for (int waited = 0; waited < 600 && !strstr(line, "\n"); waited++) {
        struct pollfd pfd = {.fd = out, .events = POLLIN};
        if (poll(&pfd, 1, 100) > 0) {
            ssize_t n = read(out, line + used, sizeof line - 1 - used);
            if (n > 0)
                used += (size_t)n;
            line[used] = '\0';
        }
    }
    close(out);
    char *pub = strstr(line, "public=127.0.0.1:");
    assert_non_null(pub);
    u->port = atoi(pub + strlen("public=127.0.0.1:"));
    assert_true(u->port > 0);
}

static void stop_under_callgrind(struct under_callgrind *u)
{
    int status;
    char cmd[128];
    childproc_stop(u->pid, 10000, &status);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", u->dir);
    assert_int_equal(system(cmd), 0);
}

/* One count of n requests. */
static uint64_t count_requests(struct costmeter *m, int port, int n)
{
    uint64_t count = 0;
    unsigned threads = 7;
    if (costmeter_begin(m, err, sizeof err) < 0)
        fail_msg("%s", err);
    requests(port, n);
    if (costmeter_end(m, &count, &threads, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(threads, 0);
    return count;
}

static void test_costmeter_callgrind_counts_repeatably(void **state)
{
    struct under_callgrind u, slow;
    struct costmeter *m;
    (void)state;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    /* A sanitizer's runtime and valgrind cannot share a process: the service built
     * with the tests is a sanitizer build, which valgrind cannot run. */
    print_message("skipped: valgrind cannot run a sanitizer build of orderd\n");
    skip();
#endif
    start_under_callgrind(&u, NULL);
    m = costmeter_new(COSTMETER_CALLGRIND, u.pid, u.dir, err, sizeof err);
    assert_non_null(m);
    (void)count_requests(m, u.port, 20); /* first requests take first-time paths */
    uint64_t a = count_requests(m, u.port, 60), b = count_requests(m, u.port, 60);
    uint64_t twice = count_requests(m, u.port, 120);
    print_message("callgrind: 60 requests %llu and %llu instructions, 120: %llu\n", (unsigned long long)a,
                  (unsigned long long)b, (unsigned long long)twice);
    assert_true(a > 60 * 1000);
    /* the same requests cost about the same, and twice as many about twice as much.
     * The requests share one keep-alive connection, as a cost run's do (they repeat to
     * about 5e-5 there: test_costgate, scripts/cost-spread.sh); a new connection per
     * request, whose accept and teardown the event loop batches by timing, made rounds
     * differ by up to 2% on a busy machine. The bound leaves room for a heap sample's
     * stack walk (about 900 instructions) falling in one round only. */
    assert_true(llabs((long long)a - (long long)b) * 50 < (long long)a);
    assert_true(llabs((long long)twice - 2 * (long long)a) * 10 < (long long)a);
    costmeter_free(m);
    stop_under_callgrind(&u);

    /* a costlier request path counts more */
    start_under_callgrind(&slow, "slow=on(1ms)");
    m = costmeter_new(COSTMETER_CALLGRIND, slow.pid, slow.dir, err, sizeof err);
    assert_non_null(m);
    (void)count_requests(m, slow.port, 20);
    uint64_t s = count_requests(m, slow.port, 60);
    print_message("callgrind: 60 requests with slow=on(1ms): %llu\n", (unsigned long long)s);
    assert_true(s > a + a / 10);
    costmeter_free(m);
    stop_under_callgrind(&slow);
}

static void test_costmeter_callgrind_refuses_a_process_not_under_it(void **state)
{
    struct costmeter *m;
    char dir[] = "/tmp/loadlab-cg-XXXXXX";
    (void)state;
    assert_non_null(mkdtemp(dir));
    m = costmeter_new(COSTMETER_CALLGRIND, getpid(), dir, err, sizeof err);
    assert_non_null(m);
    assert_int_equal(costmeter_begin(m, err, sizeof err), -1);
    assert_non_null(strstr(err, "callgrind_control"));
    costmeter_free(m);
    rmdir(dir);
    assert_null(costmeter_new(COSTMETER_CALLGRIND, getpid(), NULL, err, sizeof err));
    assert_null(costmeter_new(COSTMETER_TASK_CLOCK, 0, NULL, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_costmeter_kind_names),
        cmocka_unit_test(test_costmeter_detect_names_a_counter),
        cmocka_unit_test(test_costmeter_counts_every_thread_of_the_service),
        cmocka_unit_test(test_costmeter_callgrind_counts_repeatably),
        cmocka_unit_test(test_costmeter_callgrind_refuses_a_process_not_under_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
