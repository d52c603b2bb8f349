/* Integration tests of the six faults: each is switched on over the debug API of a
 * real orderd, a little load is driven from the test, and the symptom is asserted
 * where a diagnostician would look — thread dump, mutex/block/heap profile (and
 * `go tool pprof` on the live endpoint), queue metrics, latency histogram. Then the
 * fault is cleared and the healing checked. The term grammar and the registry are
 * unit-tested in unit/test_fault_terms.c. */
#include "curl_client.h"
#include "orderd_proc.h"
#include "pprof_decode.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static const char order_body[] = "{\"user_id\":5,\"items\":[{\"product_id\":2,\"qty\":1}]}";

static void set_fault(const struct orderd_proc *p, const char *name, const char *term)
{
    char path[64];
    snprintf(path, sizeof path, "/debug/faults/%s", name);
    struct curl_client_result r = orderd_proc_call(p, true, term ? "PUT" : "DELETE", path, term, NULL);
    if (r.status != 200)
        fail_msg("%s %s: %ld %s", term ? "PUT" : "DELETE", path, r.status, r.body);
    curl_client_free(&r);
}

static char *get_text(const struct orderd_proc *p, const char *path)
{
    struct curl_client_result r = orderd_proc_call(p, true, "GET", path, NULL, NULL);
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    free(r.headers);
    return r.body;
}

/* The value of an unlabelled (or exactly labelled) sample in a /metrics page; -1 when absent. */
static double metric(const struct orderd_proc *p, const char *sample)
{
    char *page = get_text(p, "/metrics");
    double v = -1;
    size_t n = strlen(sample);
    for (const char *line = page; line && *line;) {
        if (strncmp(line, sample, n) == 0 && line[n] == ' ') {
            v = strtod(line + n + 1, NULL);
            break;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    free(page);
    return v;
}

static double threads_total(const struct orderd_proc *p)
{
    return metric(p, "process_threads");
}

/* Drives load with wrk for `seconds` (GET path, or POST orders when post). */
static void drive(const struct orderd_proc *p, const char *path, bool post, int connections, int seconds)
{
    char url[256], conns[16], dur[16], script[] = "/tmp/loadlab-test-post-XXXXXX.lua";
    const char *argv[16];
    int n = 0;

    orderd_proc_url(p, false, path, url, sizeof url);
    snprintf(conns, sizeof conns, "-c%d", connections);
    snprintf(dur, sizeof dur, "-d%ds", seconds);
    argv[n++] = "wrk";
    argv[n++] = "-t2";
    argv[n++] = conns;
    argv[n++] = dur;
    argv[n++] = "--timeout";
    argv[n++] = "5s";
    if (post) {
        int fd = mkstemps(script, 4);
        assert_true(fd >= 0);
        dprintf(fd, "wrk.method = \"POST\"\nwrk.body = '%s'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n",
                order_body);
        close(fd);
        argv[n++] = "-s";
        argv[n++] = script;
    }
    argv[n++] = url;
    argv[n] = NULL;
    char *out = NULL;
    int code = orderd_proc_run(argv, NULL, 0, &out);
    if (code != 0)
        fail_msg("wrk failed (%d): %s", code, out);
    free(out);
    if (post)
        unlink(script);
}

/* The first stack block of a Go-style debug=1 profile (up to the blank line). */
static char *first_block(const char *text, const char *after_header)
{
    const char *p = text;
    if (after_header) {
        /* Skip the header lines of mutex/block profiles, up to the first record. */
        while (p && *p && !(p[0] >= '0' && p[0] <= '9'))
            p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    } else {
        p = strchr(text, '\n');
        p = p ? p + 1 : text;
    }
    if (!p)
        return strdup("");
    const char *end = strstr(p, "\n\n");
    size_t len = end ? (size_t)(end - p) : strlen(p);
    return strndup(p, len);
}

static void check_go_pprof_names(const struct orderd_proc *p, const char *profile, const char *culprit)
{
    char url[256], *text = NULL;
    orderd_proc_url(p, true, profile, url, sizeof url);
    /* go tool pprof in a scratch HOME and PPROF_TMPDIR of its own, removed afterwards */
    int rc = pprof_decode_go_url("-top -cum -nodecount=40", url, &text);
    if (rc == 1) {
        print_message("go not installed: skipping go tool pprof check\n");
        return;
    }
    if (rc != 0 || !text || !strstr(text, culprit))
        fail_msg("go tool pprof -top %s did not name %s:\n%s", url, culprit, text ? text : "(no output)");
    free(text);
}

static void test_orderd_fault_leak_threads_shows_in_thread_dump_and_heals(void **state)
{
    static const char *const args[] = {"--instrument", "profile", NULL};
    struct orderd_proc p;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    double baseline = threads_total(&p);
    assert_true(baseline > 4);
    set_fault(&p, "leak.threads", "on");
    for (int i = 0; i < 40; i++) {
        struct curl_client_result r = orderd_proc_call(&p, false, "POST", "/api/orders", order_body, NULL);
        assert_int_equal(r.status, 202);
        curl_client_free(&r);
    }
    assert_true(threads_total(&p) >= baseline + 40);
    assert_int_equal((int)metric(&p, "orderd_leaked_threads"), 40);
    /* A notifier counts as leaked from its spawn; it is in its wait a moment later. */
    for (int i = 0; i < 200 && metric(&p, "orderd_threads{role=\"fault\",state=\"waiting\"}") < 40; i++)
        usleep(10000);

    char *dump = get_text(&p, "/debug/pprof/threads?debug=1");
    char *block = first_block(dump, NULL);
    int count = atoi(block);
    if (count < 40 || !strstr(block, "leak_notifier_wait"))
        fail_msg("largest thread group is not the leak (count %d):\n%s", count, block);
    free(block);
    free(dump);

    dump = get_text(&p, "/debug/pprof/threads?debug=2");
    assert_non_null(strstr(dump, "leak_notifier_wait"));
    assert_non_null(strstr(dump, "created by"));
    free(dump);
    check_go_pprof_names(&p, "/debug/pprof/threads", "leak_notifier_wait");

    set_fault(&p, "leak.threads", NULL);
    double now = 0;
    for (int i = 0; i < 40; i++) {     /* 2 s */
        now = threads_total(&p);
        if (now <= baseline)
            break;
        usleep(50000);
    }
    assert_true(now <= baseline);
    assert_int_equal((int)metric(&p, "orderd_leaked_threads"), 0);
    assert_int_equal(WEXITSTATUS(orderd_proc_stop(&p, SIGTERM, 10000)), 0);
    unlink(p.log_path);
}

static void test_orderd_fault_leak_threads_cap_holds(void **state)
{
    static const char *const args[] = {"--leak-cap-threads", "10", NULL};
    struct orderd_proc p;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, "leak.threads=on"), 0);
    for (int i = 0; i < 25; i++) {
        struct curl_client_result r = orderd_proc_call(&p, false, "POST", "/api/orders", order_body, NULL);
        assert_int_equal(r.status, 202);
        curl_client_free(&r);
    }
    assert_int_equal((int)metric(&p, "orderd_leaked_threads"), 10);
    struct curl_client_result r = orderd_proc_call(&p, true, "GET", "/debug/faults/leak.threads", NULL, NULL);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "capped")));
    assert_int_equal(json_integer_value(json_object_get(j, "held_threads")), 10);
    json_decref(j);
    curl_client_free(&r);
    orderd_proc_stop(&p, SIGTERM, 10000);
    unlink(p.log_path);
}

static void test_orderd_fault_lock_cache_tops_the_mutex_profile(void **state)
{
    static const char *const args[] = {"--io-threads", "4", "--instrument", "profile",
                                       "--mutex-profile-fraction", "1", NULL};
    struct orderd_proc p;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    set_fault(&p, "lock.cache", "on(300us)");
    drive(&p, "/api/products/9", false, 32, 2);
    assert_true(metric(&p, "orderd_mutex_contentions_total{lock=\"cache_global\"}") > 10);
    assert_true(metric(&p, "orderd_mutex_wait_seconds_total{lock=\"cache_global\"}") > 0.01);

    char *text = get_text(&p, "/debug/pprof/mutex?debug=1");
    assert_non_null(strstr(text, "--- mutex:"));
    assert_non_null(strstr(text, "sampling period="));
    /* Go's view: the delay is charged to the holder, cache_get_global unlocking the
     * global lock it slept under; its frame is the first of the top record. */
    char *block = first_block(text, "--- mutex:");
    const char *frame = strstr(block, "\n#\t0x");   /* "#\t0xPC\tfunction+0xOFF\tfile:line" */
    const char *function = frame ? strchr(frame + 4, '\t') : NULL;
    if (!function || strncmp(function + 1, "cache_get_global+0x", 19) != 0)
        fail_msg("the top mutex record does not start at cache_get_global:\n%s", text);
    free(block);
    free(text);
    check_go_pprof_names(&p, "/debug/pprof/mutex", "cache_get_global");
    /* The waiters' view names the same function: it is where they queue, too. */
    text = get_text(&p, "/debug/pprof/mutex?debug=1&view=waiter");
    block = first_block(text, "--- mutex:");
    if (!strstr(block, "cache_get_global"))
        fail_msg("top waiter entry does not name cache_get_global:\n%s", text);
    free(block);
    free(text);

    set_fault(&p, "lock.cache", NULL);
    double before = metric(&p, "orderd_mutex_contentions_total{lock=\"cache_global\"}");
    drive(&p, "/api/products/9", false, 32, 1);
    assert_true(metric(&p, "orderd_mutex_contentions_total{lock=\"cache_global\"}") == before);
    orderd_proc_stop(&p, SIGTERM, 10000);
    unlink(p.log_path);
}

static void test_orderd_fault_queue_block_tops_the_block_profile(void **state)
{
    static const char *const args[] = {"--io-threads", "2", "--workers", "1", "--queue-capacity", "2",
                                       "--payment-latency", "20ms", "--instrument", "profile",
                                       "--block-profile-rate", "1", NULL};
    struct orderd_proc p;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    set_fault(&p, "queue.block", "on");
    drive(&p, "/api/orders", true, 8, 2);
    /* Blocked producers answer no 503: the queue never rejects. */
    assert_true(metric(&p, "orderd_queue_rejected_total") == 0);
    char *text = get_text(&p, "/debug/pprof/block?debug=1");
    assert_non_null(strstr(text, "--- contention:"));
    char *block = first_block(text, "--- contention:");
    if (!strstr(block, "queue_push_blocking"))
        fail_msg("top block entry does not name queue_push_blocking:\n%s", text);
    free(block);
    free(text);
    check_go_pprof_names(&p, "/debug/pprof/block", "queue_push_blocking");
    set_fault(&p, "queue.block", NULL);
    assert_int_equal(WEXITSTATUS(orderd_proc_stop(&p, SIGTERM, 20000)), 0);
    unlink(p.log_path);
}

static void test_orderd_fault_queue_stall_fills_the_queue_then_heals(void **state)
{
    static const char *const args[] = {"--workers", "2", "--queue-capacity", "8", "--payment-latency", "1ms", NULL};
    struct orderd_proc p;
    int accepted = 0, rejected = 0;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    set_fault(&p, "queue.stall", "on(inf)");
    /* Two orders first, until both workers hang on them: then the queue's fill is exact. */
    for (int i = 0; i < 2; i++) {
        struct curl_client_result r = orderd_proc_call(&p, false, "POST", "/api/orders", order_body, NULL);
        accepted += r.status == 202;
        curl_client_free(&r);
    }
    for (int i = 0; i < 200 && metric(&p, "orderd_threads{role=\"worker\",state=\"waiting\"}") < 2; i++)
        usleep(10000);
    assert_int_equal((int)metric(&p, "orderd_threads{role=\"worker\",state=\"waiting\"}"), 2);
    for (int i = 0; i < 18; i++) {
        struct curl_client_result r = orderd_proc_call(&p, false, "POST", "/api/orders", order_body, NULL);
        accepted += r.status == 202;
        rejected += r.status == 503;
        curl_client_free(&r);
    }
    /* Two workers hang with one job each; eight wait in the queue; the rest bounce. */
    assert_int_equal(accepted, 10);
    assert_int_equal(rejected, 10);
    assert_int_equal((int)metric(&p, "orderd_queue_depth"), 8);
    assert_int_equal((int)metric(&p, "orderd_queue_capacity"), 8);
    assert_int_equal((int)metric(&p, "orderd_queue_rejected_total"), 10);
    char *dump = get_text(&p, "/debug/pprof/threads?debug=1");
    assert_non_null(strstr(dump, "worker_process_stalled"));
    free(dump);

    set_fault(&p, "queue.stall", NULL);
    double done = 0;
    for (int i = 0; i < 100 && done < accepted; i++) {
        done = metric(&p, "orderd_orders_total{state=\"done\"}");
        usleep(20000);
    }
    assert_int_equal((int)done, accepted);
    assert_int_equal((int)metric(&p, "orderd_queue_depth"), 0);
    orderd_proc_stop(&p, SIGTERM, 10000);
    unlink(p.log_path);
}

/* The live bytes the heap profile charges to a function (inuse_space, the proto's
 * fourth value). */
static int64_t heap_inuse_of(const struct orderd_proc *p, const char *function)
{
    struct curl_client_result r = orderd_proc_call(p, true, "GET", "/debug/pprof/heap", NULL, NULL);
    struct pprof_decoded *d = pprof_decode(r.body, r.body_len);
    assert_non_null(d);
    int64_t v = pprof_decoded_sum_for_function(d, function, 3, NULL);
    pprof_decoded_free(d);
    curl_client_free(&r);
    return v;
}

static void test_orderd_fault_leak_memory_tops_the_heap_profile(void **state)
{
    static const char *const args[] = {"--instrument", "profile", NULL};
    struct orderd_proc p;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    double rss_before = metric(&p, "process_resident_memory_bytes");
    set_fault(&p, "leak.memory", "on(64KB)");
    for (int i = 0; i < 300; i++) {
        struct curl_client_result r = orderd_proc_call(&p, false, "GET", "/api/products/1", NULL, NULL);
        curl_client_free(&r);
    }
    double leaked = metric(&p, "orderd_leaked_bytes");
    assert_true(leaked >= 300.0 * 65536);
    /* The leak is touched memory: RSS grows by about as much. */
    assert_true(metric(&p, "process_resident_memory_bytes") - rss_before > 0.8 * leaked);

    char *text = get_text(&p, "/debug/pprof/heap?debug=1");
    char *block = first_block(text, "heap profile:");
    if (!strstr(block, "leak_memory_retain"))
        fail_msg("top heap site does not name leak_memory_retain:\n%.4000s", text);
    free(block);
    free(text);
    check_go_pprof_names(&p, "/debug/pprof/heap", "leak_memory_retain");
    assert_true(heap_inuse_of(&p, "leak_memory_retain") > 0);

    set_fault(&p, "leak.memory", NULL);
    assert_int_equal((int)metric(&p, "orderd_leaked_bytes"), 0);
    /* Healed: nothing the leak allocated is live any more. (The whole live heap is no
     * measure: the symbolizer keeps what it loaded to name the frames above.) */
    assert_int_equal(heap_inuse_of(&p, "leak_memory_retain"), 0);
    orderd_proc_stop(&p, SIGTERM, 10000);
    unlink(p.log_path);
}

/* Mean latency of product reads from the service's own histogram since `since`. */
static double mean_product_latency(const struct orderd_proc *p, double *sum, double *count)
{
    double s = metric(p, "orderd_http_request_duration_seconds_sum{route=\"product_get\"}");
    double c = metric(p, "orderd_http_request_duration_seconds_count{route=\"product_get\"}");
    double mean = (s - *sum) / (c - *count);
    *sum = s;
    *count = c;
    return mean;
}

static void test_orderd_fault_slow_adds_its_cost_to_latency(void **state)
{
    struct orderd_proc p;
    double sum = 0, count = 0;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, NULL, NULL), 0);
    for (int i = 0; i < 50; i++) {
        struct curl_client_result r = orderd_proc_call(&p, false, "GET", "/api/products/4", NULL, NULL);
        curl_client_free(&r);
    }
    double healthy = mean_product_latency(&p, &sum, &count);
    set_fault(&p, "slow", "on(3ms)");
    for (int i = 0; i < 50; i++) {
        struct curl_client_result r = orderd_proc_call(&p, false, "GET", "/api/products/4", NULL, NULL);
        curl_client_free(&r);
    }
    double sick = mean_product_latency(&p, &sum, &count);
    /* Every request now burns at least 3 ms by construction; the upper bound only
     * catches a cost applied many times over. */
    if (sick < 0.003 || sick - healthy < 0.0025 || sick - healthy > 0.030)
        fail_msg("slow on(3ms): mean latency went from %.6f s to %.6f s", healthy, sick);
    char *dump = get_text(&p, "/debug/pprof/threads?debug=2");
    assert_non_null(strstr(dump, "role=io"));
    free(dump);
    orderd_proc_stop(&p, SIGTERM, 10000);
    unlink(p.log_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orderd_fault_leak_threads_shows_in_thread_dump_and_heals),
        cmocka_unit_test(test_orderd_fault_leak_threads_cap_holds),
        cmocka_unit_test(test_orderd_fault_lock_cache_tops_the_mutex_profile),
        cmocka_unit_test(test_orderd_fault_queue_block_tops_the_block_profile),
        cmocka_unit_test(test_orderd_fault_queue_stall_fills_the_queue_then_heals),
        cmocka_unit_test(test_orderd_fault_leak_memory_tops_the_heap_profile),
        cmocka_unit_test(test_orderd_fault_slow_adds_its_cost_to_latency),
    };
    return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
