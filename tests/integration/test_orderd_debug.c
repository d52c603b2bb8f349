/* Integration tests of orderd's internal port: metrics (checked by promtool),
 * expvar-style variables, health, the fault and config APIs, and the bearer token. */
#include "curl_client.h"
#include "faultterm.h"
#include "orderd_proc.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>


static struct orderd_proc shared;

static int start_shared(void **state)
{
    (void)state;
    return orderd_proc_start(&shared, NULL, NULL);
}

static int stop_shared(void **state)
{
    (void)state;
    orderd_proc_stop(&shared, SIGTERM, 5000);
    unlink(shared.log_path);
    return 0;
}

static json_t *parse(const struct curl_client_result *r)
{
    json_error_t err;
    json_t *j = json_loads(r->body, 0, &err);
    if (!j)
        fail_msg("response is not JSON (%s): %s", err.text, r->body);
    return j;
}

static bool have(const char *tool)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

static void test_debug_metrics_pass_promtool(void **state)
{
    (void)state;
    /* Some traffic first, so the per-route families have samples. */
    for (int i = 0; i < 20; i++) {
        struct curl_client_result r = orderd_proc_call(&shared, false, i % 2 ? "GET" : "POST", i % 2 ? "/api/products/3" : "/api/orders",
                                    i % 2 ? NULL : "{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":1}]}", NULL);
        curl_client_free(&r);
    }
    struct curl_client_result r = orderd_proc_call(&shared, true, "GET", "/metrics", NULL, NULL);
    assert_int_equal(r.status, 200);
    char type[96];
    assert_non_null(strstr(curl_client_header(&r, "Content-Type", type, sizeof type), "version=0.0.4"));
    static const char *const families[] = {
        "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_max_fds",
        "process_start_time_seconds", "process_threads", "orderd_threads{role=\"worker\"",
        "orderd_queue_depth", "orderd_queue_capacity", "orderd_queue_enqueued_total", "orderd_queue_rejected_total",
        "orderd_queue_wait_seconds_bucket", "orderd_mutex_wait_seconds_total{lock=\"queue\"}",
        "orderd_mutex_contentions_total{lock=\"cache_shard\"}",
        "orderd_block_seconds_total{site=\"queue_pop\",wait=\"idle\"}",
        "orderd_block_events_total{site=\"queue_pop\",wait=\"idle\"}",
        "orderd_http_requests_total{route=\"product_get\",code=\"200\"} 10",
        "orderd_http_requests_total{route=\"order_create\",code=\"202\"} 10",
        "orderd_http_request_duration_seconds_bucket{route=\"product_get\",le=\"+Inf\"} 10",
        "orderd_orders_total{state=\"done\"}", "orderd_fault_active{fault=\"lock.cache\"} 0",
        "orderd_leaked_threads 0", "orderd_leaked_bytes 0",
    };
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (!strstr(r.body, families[i]))
            fail_msg("/metrics lacks %s", families[i]);
    if (!have("promtool")) {
        curl_client_free(&r);
        skip();
    }
    char *out = NULL;
    const char *const argv[] = {"promtool", "check", "metrics", NULL};
    int code = orderd_proc_run(argv, r.body, r.body_len, &out);
    if (code != 0 || out[0] != '\0')
        fail_msg("promtool check metrics: exit %d: %s", code, out);
    free(out);
    curl_client_free(&r);
}

static void test_debug_health_and_vars(void **state)
{
    (void)state;
    struct curl_client_result r = orderd_proc_call(&shared, true, "GET", "/healthz", NULL, NULL);
    assert_int_equal(r.status, 200);
    curl_client_free(&r);
    r = orderd_proc_call(&shared, true, "GET", "/readyz", NULL, NULL);
    assert_int_equal(r.status, 200);
    curl_client_free(&r);

    r = orderd_proc_call(&shared, true, "GET", "/debug/vars", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *j = parse(&r);
    json_t *cmdline = json_object_get(j, "cmdline");
    assert_true(json_array_size(cmdline) >= 5);
    assert_non_null(strstr(json_string_value(json_array_get(cmdline, 0)), "orderd"));
    json_t *mem = json_object_get(j, "memstats");
    assert_true(json_integer_value(json_object_get(mem, "rss_bytes")) > 1000000);
    assert_non_null(json_object_get(mem, "malloc_arena_bytes"));
    assert_non_null(json_object_get(mem, "heap_live_bytes"));
    json_t *own = json_object_get(j, "orderd");
    assert_true(json_integer_value(json_object_get(own, "queue_capacity")) == 256);
    assert_string_equal(json_string_value(json_object_get(own, "instrument")), "metrics");
    json_decref(j);
    curl_client_free(&r);

    r = orderd_proc_call(&shared, true, "GET", "/debug/nothing", NULL, NULL);
    assert_int_equal(r.status, 404);
    curl_client_free(&r);
    r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "threads?debug=1"));
    curl_client_free(&r);
}

static json_t *fault_entry(const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "/debug/faults/%s", name);
    struct curl_client_result r = orderd_proc_call(&shared, true, "GET", path, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *j = parse(&r);
    curl_client_free(&r);
    return j;
}

static void test_debug_fault_api(void **state)
{
    (void)state;
    struct curl_client_result r = orderd_proc_call(&shared, true, "GET", "/debug/faults", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *j = parse(&r);
    json_t *list = json_object_get(j, "faults");
    assert_int_equal(json_array_size(list), FAULT_COUNT);  /* every fault of the vocabulary */
    for (size_t i = 0; i < FAULT_COUNT; i++) {
        json_t *f = json_array_get(list, i);
        assert_false(json_is_true(json_object_get(f, "on")));
        assert_true(strlen(json_string_value(json_object_get(f, "culprit"))) > 3);
    }
    json_decref(j);
    curl_client_free(&r);

    r = orderd_proc_call(&shared, true, "PUT", "/debug/faults/slow", "25%10*on(2ms)\n", NULL);
    assert_int_equal(r.status, 200);
    curl_client_free(&r);
    j = fault_entry("slow");
    assert_true(json_is_true(json_object_get(j, "on")));
    assert_string_equal(json_string_value(json_object_get(j, "term")), "25%10*on(2ms)");
    assert_string_equal(json_string_value(json_object_get(j, "culprit")), "request_burn_cpu");
    json_decref(j);

    /* A bad term: 400, says what and where, and leaves the fault as it was. */
    r = orderd_proc_call(&shared, true, "PUT", "/debug/faults/slow", "5%x*on", NULL);
    assert_int_equal(r.status, 400);
    j = parse(&r);
    const char *msg = json_string_value(json_object_get(j, "error"));
    assert_non_null(strstr(msg, "character"));
    assert_string_equal(json_string_value(json_object_get(j, "term")), "5%x*on");
    json_decref(j);
    curl_client_free(&r);
    j = fault_entry("slow");
    assert_string_equal(json_string_value(json_object_get(j, "term")), "25%10*on(2ms)");
    json_decref(j);

    r = orderd_proc_call(&shared, true, "PUT", "/debug/faults/lock.cahce", "on", NULL);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "lock.cahce"));
    curl_client_free(&r);

    r = orderd_proc_call(&shared, true, "DELETE", "/debug/faults/slow", NULL, NULL);
    assert_int_equal(r.status, 200);
    curl_client_free(&r);
    j = fault_entry("slow");
    assert_false(json_is_true(json_object_get(j, "on")));
    json_decref(j);

    r = orderd_proc_call(&shared, true, "POST", "/debug/faults/slow", "on", NULL);
    assert_int_equal(r.status, 405);
    curl_client_free(&r);
}

static void test_debug_config_api(void **state)
{
    (void)state;
    struct curl_client_result r = orderd_proc_call(&shared, true, "PUT", "/debug/config",
                                "{\"instrument\":\"profile\",\"mutex_profile_fraction\":5,\"block_profile_rate\":1000}", NULL);
    assert_int_equal(r.status, 200);
    curl_client_free(&r);
    r = orderd_proc_call(&shared, true, "GET", "/debug/config", NULL, NULL);
    json_t *j = parse(&r);
    assert_string_equal(json_string_value(json_object_get(j, "instrument")), "profile");
    assert_int_equal(json_integer_value(json_object_get(j, "mutex_profile_fraction")), 5);
    assert_int_equal(json_integer_value(json_object_get(j, "block_profile_rate")), 1000);
    json_decref(j);
    curl_client_free(&r);

    static const struct { const char *body, *field; } bad[] = {
        {"{\"instrument\":\"loud\"}", "instrument"},
        {"{\"mutex_profile_fraction\":-1}", "mutex_profile_fraction"},
        {"{\"block_profile_rate\":\"fast\"}", "block_profile_rate"},
        {"{\"log_level\":\"chatty\"}", "log_level"},
        {"{\"mutex_fraction\":1}", "mutex_fraction"},
        {"{\"instrument\":\"off\",\"typo\":1}", "typo"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = orderd_proc_call(&shared, true, "PUT", "/debug/config", bad[i].body, NULL);
        assert_int_equal(r.status, 400);
        j = parse(&r);
        assert_string_equal(json_string_value(json_object_get(j, "field")), bad[i].field);
        json_decref(j);
        curl_client_free(&r);
    }
    /* A rejected PUT changed nothing, not even its valid fields. */
    r = orderd_proc_call(&shared, true, "GET", "/debug/config", NULL, NULL);
    j = parse(&r);
    assert_string_equal(json_string_value(json_object_get(j, "instrument")), "profile");
    json_decref(j);
    curl_client_free(&r);
    r = orderd_proc_call(&shared, true, "PUT", "/debug/config", "not json", NULL);
    assert_int_equal(r.status, 400);
    curl_client_free(&r);
}

static void test_debug_profiles_answer_in_both_forms(void **state)
{
    static const char *const profiles[] = {"threads", "goroutine", "mutex", "block", "heap"};
    char path[96];
    (void)state;

    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
        /* debug=0 (the default) is a gzipped profile.proto. */
        snprintf(path, sizeof path, "/debug/pprof/%s", profiles[i]);
        struct curl_client_result r = orderd_proc_call(&shared, true, "GET", path, NULL, NULL);
        assert_int_equal(r.status, 200);
        assert_true(r.body_len > 20);
        assert_int_equal((unsigned char)r.body[0], 0x1f);
        assert_int_equal((unsigned char)r.body[1], 0x8b);
        curl_client_free(&r);
        snprintf(path, sizeof path, "/debug/pprof/%s?debug=1", profiles[i]);
        r = orderd_proc_call(&shared, true, "GET", path, NULL, NULL);
        assert_int_equal(r.status, 200);
        assert_true(r.body_len > 10);
        curl_client_free(&r);
        snprintf(path, sizeof path, "/debug/pprof/%s?debug=7", profiles[i]);
        r = orderd_proc_call(&shared, true, "GET", path, NULL, NULL);
        assert_int_equal(r.status, 400);
        curl_client_free(&r);
    }
    struct curl_client_result r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/threads?debug=1", NULL, NULL);
    assert_non_null(strstr(r.body, "threads profile: total "));
    assert_non_null(strstr(r.body, "io_thread_main"));
    assert_non_null(strstr(r.body, "worker_main"));
    assert_non_null(strstr(r.body, "debug_thread_main"));
    curl_client_free(&r);

    /* A delta profile answers after its window, in the same layout. */
    r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/mutex?debug=1&seconds=1", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "--- mutex:"));
    curl_client_free(&r);
    r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/block?seconds=61", NULL, NULL);
    assert_int_equal(r.status, 400);
    curl_client_free(&r);
}

static void test_debug_token_required(void **state)
{
    char token_path[] = "/tmp/orderd-token-XXXXXX";
    int fd = mkstemp(token_path);
    const char token[] = "s3cret-token-for-tests-0123\n";
    struct orderd_proc p;
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, token, sizeof token - 1), (int)(sizeof token - 1));
    close(fd);
    const char *const args[] = {"--debug-token-file", token_path, NULL};
    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);

    struct curl_client_result r = orderd_proc_call(&p, true, "GET", "/metrics", NULL, NULL);
    assert_int_equal(r.status, 401);
    curl_client_free(&r);
    const char *const wrong[] = {"Authorization: Bearer s3cret-token-for-tests-0124", NULL};
    r = orderd_proc_call(&p, true, "GET", "/healthz", NULL, wrong);
    assert_int_equal(r.status, 401);
    curl_client_free(&r);
    const char *const right[] = {"Authorization: Bearer s3cret-token-for-tests-0123", NULL};
    r = orderd_proc_call(&p, true, "GET", "/metrics", NULL, right);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "orderd_queue_depth"));
    curl_client_free(&r);
    r = orderd_proc_call(&p, true, "PUT", "/debug/faults/slow", "on", NULL);
    assert_int_equal(r.status, 401);
    curl_client_free(&r);
    orderd_proc_stop(&p, SIGTERM, 5000);
    unlink(p.log_path);

    /* With a token, a non-loopback address is allowed. */
    const char *const wide[] = {"--debug-listen", "0.0.0.0:0", "--debug-token-file", token_path, NULL};
    assert_int_equal(orderd_proc_start(&p, wide, NULL), 0);
    r = orderd_proc_call(&p, true, "GET", "/readyz", NULL, right);
    assert_int_equal(r.status, 200);
    curl_client_free(&r);
    orderd_proc_stop(&p, SIGTERM, 5000);
    unlink(p.log_path);
    unlink(token_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debug_metrics_pass_promtool),
        cmocka_unit_test(test_debug_health_and_vars),
        cmocka_unit_test(test_debug_fault_api),
        cmocka_unit_test(test_debug_config_api),
        cmocka_unit_test(test_debug_profiles_answer_in_both_forms),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_debug_token_required),
    };
    int failed = cmocka_run_group_tests_name("orderd_debug", tests, start_shared, stop_shared);
    failed += cmocka_run_group_tests_name("orderd_debug_token", own, NULL, NULL);
    return failed ? 1 : 0;
}
