/* Integration tests of orderd's public API, flags, logs and shutdown, against the
 * real binary on ephemeral ports. */
#include "curl_client.h"
#include "orderd_proc.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
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


static struct orderd_proc shared;

static int start_shared(void **state)
{
    static const char *const args[] = {"--workers", "2", "--payment-latency", "1ms", "--log-level", "debug", NULL};
    (void)state;
    return orderd_proc_start(&shared, args, NULL);
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

static size_t raw_exchange(int port, const char *request, char *buf, size_t len);

static void test_orderd_product_routes(void **state)
{
    (void)state;
    struct curl_client_result r = orderd_proc_call(&shared, false, "GET", "/api/products/7", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *j = parse(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 7);
    assert_true(json_integer_value(json_object_get(j, "price_cents")) > 0);
    json_decref(j);
    curl_client_free(&r);

    r = orderd_proc_call(&shared, false, "GET", "/api/products?offset=10&limit=3", NULL, NULL);
    assert_int_equal(r.status, 200);
    j = parse(&r);
    json_t *list = json_object_get(j, "products");
    assert_int_equal(json_array_size(list), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), 11);
    json_decref(j);
    curl_client_free(&r);

    /* HEAD: the headers of the GET, with no body. */
    r = orderd_proc_call(&shared, false, "HEAD", "/api/products/7", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    char length[16];
    assert_non_null(curl_client_header(&r, "Content-Length", length, sizeof length));
    assert_true(atoi(length) > 20);
    curl_client_free(&r);
    /* On one connection, a pipelined GET after a HEAD is answered right after the HEAD's
     * headers: no body was sent for the HEAD to shift it. */
    char wire[4096];
    size_t got = raw_exchange(shared.public_port,
                              "HEAD /api/products/7 HTTP/1.1\r\nHost: t\r\n\r\n"
                              "GET /api/products/8 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                              wire, sizeof wire);
    const char *end_of_head = strstr(wire, "\r\n\r\n");
    assert_true(got > 0 && end_of_head);
    assert_memory_equal(end_of_head + 4, "HTTP/1.1 200 OK\r\n", 17);
    assert_non_null(strstr(end_of_head, "\"id\":8"));

    static const struct { const char *method, *path; long status; } cases[] = {
        {"GET", "/api/products/0", 400}, {"GET", "/api/products/abc", 400},
        {"GET", "/api/products/1001", 404}, {"GET", "/api/products?limit=0", 400},
        {"GET", "/api/products?limit=1001", 400}, {"GET", "/api/products?offset=x", 400},
        {"POST", "/api/products", 405}, {"DELETE", "/api/products/1", 405},
        {"GET", "/api/nothing", 404}, {"GET", "/", 404},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r = orderd_proc_call(&shared, false, cases[i].method, cases[i].path, NULL, NULL);
        if (r.status != cases[i].status)
            fail_msg("%s %s: got %ld, want %ld", cases[i].method, cases[i].path, r.status, cases[i].status);
        j = parse(&r);
        assert_true(json_is_string(json_object_get(j, "error")));
        json_decref(j);
        if (cases[i].status == 405) {
            char allow[64];
            assert_non_null(curl_client_header(&r, "Allow", allow, sizeof allow));
        }
        curl_client_free(&r);
    }
}

/* Sends request on a new connection to port and reads until the server closes it.
 * Returns the bytes read into buf (NUL-terminated). */
static size_t raw_exchange(int port, const char *request, char *buf, size_t len)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {5, 0};
    size_t got = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
    return got;
}

/* Polls an order until it is finished. Returns its final JSON (caller decrefs). */
static json_t *wait_order(const struct orderd_proc *p, long long id)
{
    char path[64];
    snprintf(path, sizeof path, "/api/orders/%lld", id);
    for (int i = 0; i < 500; i++) {
        struct curl_client_result r = orderd_proc_call(p, false, "GET", path, NULL, NULL);
        assert_int_equal(r.status, 200);
        json_t *j = parse(&r);
        curl_client_free(&r);
        const char *st = json_string_value(json_object_get(j, "status"));
        if (strcmp(st, "done") == 0 || strcmp(st, "failed") == 0)
            return j;
        json_decref(j);
        usleep(10000);
    }
    fail_msg("order %lld did not finish within 5 s", id);
    return NULL;
}

static void test_orderd_order_lifecycle(void **state)
{
    (void)state;
    struct curl_client_result r = orderd_proc_call(&shared, false, "POST", "/api/orders",
                                "{\"user_id\":42,\"items\":[{\"product_id\":1,\"qty\":2},{\"product_id\":5,\"qty\":1}]}",
                                NULL);
    assert_int_equal(r.status, 202);
    json_t *j = parse(&r);
    long long id = json_integer_value(json_object_get(j, "order_id"));
    assert_true(id > 0);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "queued");
    char loc[64], want[64];
    snprintf(want, sizeof want, "/api/orders/%lld", id);
    assert_string_equal(curl_client_header(&r, "Location", loc, sizeof loc), want);
    json_decref(j);
    curl_client_free(&r);

    /* The amount is what the catalog says the items cost. */
    struct curl_client_result p1 = orderd_proc_call(&shared, false, "GET", "/api/products/1", NULL, NULL);
    struct curl_client_result p5 = orderd_proc_call(&shared, false, "GET", "/api/products/5", NULL, NULL);
    json_t *j1 = parse(&p1), *j5 = parse(&p5);
    long long expected = 2 * json_integer_value(json_object_get(j1, "price_cents")) +
                         json_integer_value(json_object_get(j5, "price_cents"));
    json_decref(j1);
    json_decref(j5);
    curl_client_free(&p1);
    curl_client_free(&p5);

    j = wait_order(&shared, id);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "done");
    assert_int_equal(json_integer_value(json_object_get(j, "amount_cents")), expected);
    assert_int_equal(json_integer_value(json_object_get(j, "user_id")), 42);
    json_decref(j);

    r = orderd_proc_call(&shared, false, "GET", "/api/orders/99999999", NULL, NULL);
    assert_int_equal(r.status, 404);
    curl_client_free(&r);
    r = orderd_proc_call(&shared, false, "GET", "/api/orders/x1", NULL, NULL);
    assert_int_equal(r.status, 400);
    curl_client_free(&r);
    r = orderd_proc_call(&shared, false, "PUT", "/api/orders", "{}", NULL);
    assert_int_equal(r.status, 405);
    curl_client_free(&r);
}

static void test_orderd_order_validation(void **state)
{
    static const struct { const char *body, *field; } cases[] = {
        {"", ""},
        {"{", ""},
        {"[]", ""},
        {"{\"items\":[{\"product_id\":1,\"qty\":1}]}", "user_id"},
        {"{\"user_id\":\"7\",\"items\":[{\"product_id\":1,\"qty\":1}]}", "user_id"},
        {"{\"user_id\":0,\"items\":[{\"product_id\":1,\"qty\":1}]}", "user_id"},
        {"{\"user_id\":1}", "items"},
        {"{\"user_id\":1,\"items\":[]}", "items"},
        {"{\"user_id\":1,\"items\":[{\"product_id\":1001,\"qty\":1}]}", "items[0].product_id"},
        {"{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":1},{\"product_id\":2,\"qty\":0}]}", "items[1].qty"},
        {"{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":1}],\"coupon\":\"x\"}", "coupon"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct curl_client_result r = orderd_proc_call(&shared, false, "POST", "/api/orders", cases[i].body, NULL);
        if (r.status != 400)
            fail_msg("body %s: got %ld, want 400", cases[i].body, r.status);
        json_t *j = parse(&r);
        assert_true(strlen(json_string_value(json_object_get(j, "error"))) > 5);
        json_t *field = json_object_get(j, "field");
        if (cases[i].field[0])
            assert_string_equal(json_string_value(field), cases[i].field);
        else
            assert_null(field);
        json_decref(j);
        curl_client_free(&r);
    }

    /* Over the 64 KiB body limit: 413, before the body is read. */
    size_t big = 70 * 1024;
    char *body = malloc(big + 1);
    memset(body, ' ', big);
    body[big] = '\0';
    struct curl_client_result r = orderd_proc_call(&shared, false, "POST", "/api/orders", body, NULL);
    assert_int_equal(r.status, 413);
    curl_client_free(&r);
    free(body);
}

static void test_orderd_request_ids(void **state)
{
    char id[80];
    (void)state;

    const char *const given[] = {"X-Request-ID: it-req-001", NULL};
    struct curl_client_result r = orderd_proc_call(&shared, false, "GET", "/api/products/2", NULL, given);
    assert_string_equal(curl_client_header(&r, "X-Request-ID", id, sizeof id), "it-req-001");
    curl_client_free(&r);

    r = orderd_proc_call(&shared, false, "GET", "/api/products/2", NULL, NULL);
    assert_non_null(curl_client_header(&r, "X-Request-ID", id, sizeof id));
    assert_int_equal(strlen(id), 16);
    assert_int_equal(strspn(id, "0123456789abcdef"), 16);
    curl_client_free(&r);

    /* An id with characters that do not belong in logs or headers is replaced. */
    const char *const bad[] = {"X-Request-ID: a b\"c", NULL};
    r = orderd_proc_call(&shared, false, "GET", "/api/products/2", NULL, bad);
    assert_non_null(curl_client_header(&r, "X-Request-ID", id, sizeof id));
    assert_int_equal(strlen(id), 16);
    curl_client_free(&r);
}

static void test_orderd_no_debug_on_public_port(void **state)
{
    static const char *const paths[] = {"/metrics", "/debug/vars", "/debug/pprof/", "/debug/pprof/threads",
                                        "/debug/faults", "/healthz"};
    (void)state;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct curl_client_result r = orderd_proc_call(&shared, false, "GET", paths[i], NULL, NULL);
        if (r.status != 404)
            fail_msg("%s on the public port: got %ld, want 404", paths[i], r.status);
        assert_null(strstr(r.body, "# TYPE"));
        curl_client_free(&r);
    }
}

/* Finds the first log line with msg and the given request id. Returns it (decref). */
static json_t *find_log_line(const char *log, const char *msg, const char *request_id)
{
    for (const char *line = log; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        json_t *j = json_loadb(line, len, 0, NULL);
        if (!j)
            fail_msg("log line is not JSON: %.*s", (int)len, line);
        const char *m = json_string_value(json_object_get(j, "msg"));
        const char *rid = json_string_value(json_object_get(j, "request_id"));
        if (m && rid && strcmp(m, msg) == 0 && strcmp(rid, request_id) == 0)
            return j;
        json_decref(j);
        line = eol ? eol + 1 : NULL;
    }
    return NULL;
}

static void test_orderd_worker_log_carries_request_ids(void **state)
{
    (void)state;
    const char *const headers[] = {
        "X-Request-ID: corr-7f3a",
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL};
    struct curl_client_result r = orderd_proc_call(&shared, false, "POST", "/api/orders",
                                "{\"user_id\":9001,\"items\":[{\"product_id\":3,\"qty\":1}]}", headers);
    assert_int_equal(r.status, 202);
    json_t *j = parse(&r);
    long long id = json_integer_value(json_object_get(j, "order_id"));
    json_decref(j);
    curl_client_free(&r);
    json_decref(wait_order(&shared, id));

    char *log = orderd_proc_log(&shared);
    json_t *line = NULL;
    for (int i = 0; i < 100 && !line; i++) {   /* the line is written just after the state changes */
        line = find_log_line(log, "order processed", "corr-7f3a");
        if (!line) {
            usleep(20000);
            free(log);
            log = orderd_proc_log(&shared);
        }
    }
    assert_non_null(line);
    assert_string_equal(json_string_value(json_object_get(line, "trace_id")), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_int_equal(json_integer_value(json_object_get(line, "order_id")), id);
    assert_int_equal(json_integer_value(json_object_get(line, "user_id")), 9001);
    assert_non_null(strstr(json_string_value(json_object_get(line, "thread")), "worker"));
    assert_non_null(json_object_get(line, "ts"));
    assert_string_equal(json_string_value(json_object_get(line, "level")), "info");
    json_decref(line);
    free(log);
}

static void test_orderd_body_never_logged(void **state)
{
    static const char *const bodies[] = {
        "{\"user_id\":\"CANARY-5e1f\",\"items\":[{\"product_id\":1,\"qty\":1}]}",
        "{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":1}],\"CANARY-5e1f\":1}",
        "{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":1,\"note\":\"CANARY-5e1f\"}]}",
        "CANARY-5e1f",
        "{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":1}]}  ",
    };
    (void)state;
    /* The shared server logs at debug level: the most it ever logs. */
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct curl_client_result r = orderd_proc_call(&shared, false, "POST", "/api/orders", bodies[i], NULL);
        assert_true(r.status == 400 || r.status == 202);
        curl_client_free(&r);
    }
    const char *const canary_header[] = {"X-Request-ID: CANARY-5e1f-id", NULL};
    struct curl_client_result r = orderd_proc_call(&shared, false, "POST", "/api/orders",
                                "{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":1}]}", canary_header);
    assert_int_equal(r.status, 202);
    curl_client_free(&r);
    usleep(100000);
    char *log = orderd_proc_log(&shared);
    assert_non_null(log);
    /* The request id is context and is logged; the body's canary never is. */
    assert_non_null(strstr(log, "CANARY-5e1f-id"));
    char *p = log;
    while ((p = strstr(p, "CANARY-5e1f"))) {
        assert_memory_equal(p, "CANARY-5e1f-id", 14);
        p += 11;
    }
    free(log);
}

static void test_orderd_queue_full_answers_503(void **state)
{
    static const char *const args[] = {"--workers", "1", "--queue-capacity", "2", "--payment-latency", "300ms", NULL};
    struct orderd_proc p;
    int accepted = 0, rejected = 0;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    for (int i = 0; i < 8; i++) {
        struct curl_client_result r = orderd_proc_call(&p, false, "POST", "/api/orders",
                                    "{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":1}]}", NULL);
        if (r.status == 202) {
            accepted++;
        } else {
            char retry[16];
            assert_int_equal(r.status, 503);
            assert_string_equal(curl_client_header(&r, "Retry-After", retry, sizeof retry), "1");
            rejected++;
        }
        curl_client_free(&r);
    }
    /* One in the worker's hands, two queued: at most three accepted in 300 ms. */
    assert_true(accepted >= 2 && accepted <= 3);
    assert_int_equal(accepted + rejected, 8);
    int status = orderd_proc_stop(&p, SIGTERM, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *log = orderd_proc_log(&p);
    char want[64];
    snprintf(want, sizeof want, "\"accepted\":%d,\"done\":%d", accepted, accepted);
    assert_non_null(strstr(log, want));
    free(log);
    unlink(p.log_path);
}

static void test_orderd_shutdown_finishes_every_accepted_order(void **state)
{
    static const char *const args[] = {"--workers", "2", "--queue-capacity", "1000", "--payment-latency", "5ms", NULL};
    struct orderd_proc p;
    int accepted = 0;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    for (int i = 0; i < 500; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"user_id\":%d,\"items\":[{\"product_id\":%d,\"qty\":1}]}", i + 1, i % 1000 + 1);
        struct curl_client_result r = orderd_proc_call(&p, false, "POST", "/api/orders", body, NULL);
        assert_true(r.status == 202 || r.status == 503);
        accepted += r.status == 202;
        curl_client_free(&r);
    }
    /* 500 orders at 5 ms with 2 workers take over a second: most are still queued. */
    assert_true(accepted > 400);
    int status = orderd_proc_stop(&p, SIGTERM, 30000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    char *log = orderd_proc_log(&p);
    const char *line = strstr(log, "\"msg\":\"orderd stopped\"");
    assert_non_null(line);
    const char *start = line;
    while (start > log && start[-1] != '\n')
        start--;
    json_t *j = json_loadb(start, (size_t)(strchr(start, '\n') - start), 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "accepted")), accepted);
    assert_int_equal(json_integer_value(json_object_get(j, "done")) + json_integer_value(json_object_get(j, "failed")),
                     accepted);
    assert_int_equal(json_integer_value(json_object_get(j, "unfinished")), 0);
    json_decref(j);
    free(log);
    unlink(p.log_path);
}

/* Runs orderd with args; returns its exit code and what it printed. */
static int run_orderd(const char *const *args, char **output)
{
    const char *argv[16];
    int n = 0;
    const char *bin = getenv("ORDERD_BIN");
    argv[n++] = bin && *bin ? bin : "build/orderd";
    for (int i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return orderd_proc_run(argv, NULL, 0, output);
}

static void test_orderd_bad_flags_exit_2_naming_the_flag(void **state)
{
    static const struct { const char *args[6]; const char *needle; } cases[] = {
        {{"--workers", "abc"}, "--workers"},
        {{"--workers", "0"}, "--workers"},
        {{"--queue-capacity", "-1"}, "--queue-capacity"},
        {{"--payment-latency", "5"}, "--payment-latency"},
        {{"--instrument", "loud"}, "--instrument"},
        {{"--listen", "127.0.0.1"}, "--listen"},
        {{"--listen", "127.0.0.1:70000"}, "--listen"},
        {{"--bogus"}, "--bogus"},
        {{"--fault", "lock.cache=sometimes"}, "lock.cache"},
        {{"--fault", "lock.cahce=on"}, "lock.cahce"},
        {{"--debug-listen", "0.0.0.0:0"}, "--debug-token-file"},
        {{"--log-format", "xml"}, "--log-format"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        int code = run_orderd(cases[i].args, &out);
        if (code != 2 || !strstr(out, cases[i].needle))
            fail_msg("orderd %s %s: exit %d, output '%s' (want 2 and '%s')", cases[i].args[0],
                     cases[i].args[1] ? cases[i].args[1] : "", code, out, cases[i].needle);
        free(out);
    }
    char *out = NULL;
    const char *const help[] = {"--help", NULL};
    assert_int_equal(run_orderd(help, &out), 0);
    assert_non_null(strstr(out, "--queue-capacity"));
    free(out);
}

static void test_orderd_env_faults(void **state)
{
    struct orderd_proc p;
    (void)state;
    assert_int_equal(orderd_proc_start(&p, NULL, "slow=on(1ms);lock.cache=50%on"), 0);
    struct curl_client_result r = orderd_proc_call(&p, true, "GET", "/debug/faults", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"term\": \"on(1ms)\""));
    assert_non_null(strstr(r.body, "\"term\": \"50%on\""));
    curl_client_free(&r);
    orderd_proc_stop(&p, SIGTERM, 5000);
    unlink(p.log_path);

    char *out = NULL;
    const char *argv[] = {"env", "ORDERD_FAULTS=slow=on(1ms);nope=on", getenv("ORDERD_BIN") ? getenv("ORDERD_BIN") : "build/orderd",
                          "--listen", "127.0.0.1:0", "--debug-listen", "127.0.0.1:0", NULL};
    assert_int_equal(orderd_proc_run(argv, NULL, 0, &out), 2);
    assert_non_null(strstr(out, "ORDERD_FAULTS"));
    assert_non_null(strstr(out, "nope"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest shared_tests[] = {
        cmocka_unit_test(test_orderd_product_routes),
        cmocka_unit_test(test_orderd_order_lifecycle),
        cmocka_unit_test(test_orderd_order_validation),
        cmocka_unit_test(test_orderd_request_ids),
        cmocka_unit_test(test_orderd_no_debug_on_public_port),
        cmocka_unit_test(test_orderd_worker_log_carries_request_ids),
        cmocka_unit_test(test_orderd_body_never_logged),
    };
    const struct CMUnitTest own_process_tests[] = {
        cmocka_unit_test(test_orderd_queue_full_answers_503),
        cmocka_unit_test(test_orderd_shutdown_finishes_every_accepted_order),
        cmocka_unit_test(test_orderd_bad_flags_exit_2_naming_the_flag),
        cmocka_unit_test(test_orderd_env_faults),
    };
    int failed = cmocka_run_group_tests_name("orderd_api", shared_tests, start_shared, stop_shared);
    failed += cmocka_run_group_tests_name("orderd_process", own_process_tests, NULL, NULL);
    return failed ? 1 : 0;
}
