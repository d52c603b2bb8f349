/* Integration tests of the sampled heap profile: a real orderd at --instrument
 * profile, every allocation of the process a candidate for a sample, read through
 * /debug/pprof/heap and /debug/pprof/allocs as Go serves them and by the real
 * `go tool pprof`.
 *
 * Sanitizer builds compile the malloc interposer out (ASan and TSan own malloc) and
 * record only orders and leak.memory, every block: there the leak still tops the
 * profile and its total is exact, but nothing outside the service's own blocks is
 * counted, so only the assertions about whole-process allocation are skipped. */
#include "curl_client.h"
#include "orderd_proc.h"
#include "pprof_decode.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HEAP_RECORDED_ONLY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HEAP_RECORDED_ONLY 1
#endif
#endif

enum { ALLOC_OBJECTS, ALLOC_SPACE, INUSE_OBJECTS, INUSE_SPACE };

static struct curl_client_result get_ok(const struct orderd_proc *p, const char *path)
{
    struct curl_client_result r = orderd_proc_call(p, true, "GET", path, NULL, NULL);

    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body ? r.body : "");
    return r;
}

static struct pprof_decoded *heap_profile(const struct orderd_proc *p, const char *path)
{
    struct curl_client_result r = get_ok(p, path);
    struct pprof_decoded *d = pprof_decode(r.body, r.body_len);

    curl_client_free(&r);
    assert_non_null(d);
    assert_int_equal(d->nsample_types, 4);
    assert_int_equal(pprof_decoded_sample_type(d, "alloc_objects", "count"), ALLOC_OBJECTS);
    assert_int_equal(pprof_decoded_sample_type(d, "alloc_space", "bytes"), ALLOC_SPACE);
    assert_int_equal(pprof_decoded_sample_type(d, "inuse_objects", "count"), INUSE_OBJECTS);
    assert_int_equal(pprof_decoded_sample_type(d, "inuse_space", "bytes"), INUSE_SPACE);
    return d;
}

/* wrk against a public path for `seconds` (bounded), two connections; with
 * post_body, POSTs it (the order path: jansson parses each body, a job is queued). */
static void load_with(const struct orderd_proc *p, const char *path, const char *post_body, int seconds)
{
    char url[256], duration[16], script[] = "/tmp/loadlab-test-heap-XXXXXX.lua", *out = NULL;
    const char *argv[] = {"wrk", "-t1", "-c2", duration, "--timeout", "5s", url, NULL, NULL, NULL};

    orderd_proc_url(p, false, path, url, sizeof url);
    snprintf(duration, sizeof duration, "-d%ds", seconds);
    if (post_body) {
        int fd = mkstemps(script, 4);
        assert_true(fd >= 0);
        dprintf(fd, "wrk.method = \"POST\"\nwrk.body = '%s'\n", post_body);
        close(fd);
        argv[6] = "-s";
        argv[7] = script;
        argv[8] = url;
    }
    int code = orderd_proc_run(argv, NULL, 0, &out);
    if (post_body)
        unlink(script);
    if (code != 0)
        fail_msg("wrk failed (%d): %s", code, out ? out : "");
    free(out);
}

static void load(const struct orderd_proc *p, const char *path, int seconds)
{
    load_with(p, path, NULL, seconds);
}

static const char order_body[] = "{\"user_id\":5,\"items\":[{\"product_id\":2,\"qty\":1},{\"product_id\":3,\"qty\":2}]}";

/* `go tool pprof FLAGS url`; returns its output, or NULL when go is not installed. */
static char *go_pprof(const struct orderd_proc *p, const char *flags, const char *path)
{
    char url[256], *text = NULL;

    orderd_proc_url(p, true, path, url, sizeof url);
    int rc = pprof_decode_go_url(flags, url, &text);
    if (rc == 1) {
        print_message("go not installed: skipping go tool pprof %s\n", flags);
        return NULL;
    }
    if (rc != 0)
        fail_msg("go tool pprof %s %s failed:\n%s", flags, url, text ? text : "(no output)");
    return text;
}

/* The function of the first row of `go tool pprof -top` (largest flat), in buf. */
static const char *top_function(const char *top, char *buf, size_t len)
{
    const char *row = strstr(top, "flat%");
    buf[0] = '\0';
    row = row ? strchr(row, '\n') : NULL;
    if (!row)
        return buf;
    const char *eol = strchr(row + 1, '\n');
    const char *name = eol ? eol : row + strlen(row);
    while (name > row + 1 && name[-1] != ' ')
        name--;
    snprintf(buf, len, "%.*s", (int)((eol ? eol : row + strlen(row)) - name), name);
    return buf;
}

/* Leaks 4096 bytes per request until `target` bytes are held (or 30 s pass); the
 * caller's --leak-cap-bytes stops it a little above. */
static double leak_until(const struct orderd_proc *p, double target)
{
    double leaked = 0;

    assert_int_equal(orderd_proc_set_fault(p, "leak.memory", "on(4096)"), 200);
    for (int round = 0; round < 15 && leaked < target; round++) {
        load(p, "/api/products/1", 2);
        leaked = orderd_proc_metric(p, "orderd_leaked_bytes");
    }
    assert_true(leaked >= target);
    return leaked;
}

/* Leaks under the given arguments until `target` bytes are held; the leak's own
 * function must top inuse_space in `go tool pprof -top`. With check_estimate, the
 * sampled estimate of what it holds must be within 20% of the bytes its counter says it
 * leaked. Returns nothing; fails the test. */
static void check_leak_profile(const char *const *args, double target, int64_t period, bool check_estimate)
{
    struct orderd_proc p;
    char name[128];

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    double leaked = leak_until(&p, target);
    struct pprof_decoded *d = heap_profile(&p, "/debug/pprof/heap");
#ifdef HEAP_RECORDED_ONLY
    period = 1;
#endif
    assert_int_equal(d->period, period);
    size_t nsamples = 0;
    double estimate = (double)pprof_decoded_sum_for_function(d, "leak_memory_retain", INUSE_SPACE, &nsamples);
    assert_true(nsamples >= 1);
    print_message("leaked %.0f, leak_memory_retain inuse_space %.0f\n", leaked, estimate);
    if (check_estimate && (estimate < 0.8 * leaked || estimate > 1.2 * leaked))
        fail_msg("leak_memory_retain inuse_space %.0f, leaked %.0f", estimate, leaked);
    pprof_decoded_free(d);

    char *top = go_pprof(&p, "-top -sample_index=inuse_space", "/debug/pprof/heap");
    if (top && strcmp(top_function(top, name, sizeof name), "leak_memory_retain") != 0)
        fail_msg("top of inuse_space is %s, not leak_memory_retain:\n%s", name, top);
    free(top);
    orderd_proc_stop(&p, SIGTERM, 10000);
    unlink(p.log_path);
}

/* At 64 KiB a sample, 40 MiB of 4096-byte blocks are about 620 samples: 20% is some
 * five standard errors. */
static void test_orderd_heap_leak_tops_inuse_and_estimates_it(void **state)
{
    static const char *const args[] = {"--instrument", "profile", "--mem-profile-rate", "65536",
                                       "--leak-cap-bytes", "40MB", NULL};
    (void)state;
    check_leak_profile(args, 40e6, 65536, true);
}

/* At the default 512 KiB a sample, the leak still comes first by inuse_space. */
static void test_orderd_heap_leak_tops_inuse_at_default_rate(void **state)
{
    static const char *const args[] = {"--instrument", "profile", "--leak-cap-bytes", "32MB", NULL};
    (void)state;
    check_leak_profile(args, 30e6, 524288, false);
}

/* Without a fault, load allocates (alloc_space rises) and frees what it allocated
 * (inuse_space stays where it was). The profile requests themselves do not count as
 * growth: the symbolizer's caches are left out of the heap (stacks_symbolizing). */
static void test_orderd_heap_alloc_rises_inuse_stays_flat(void **state)
{
    static const char *const args[] = {"--instrument", "profile", NULL};
    struct orderd_proc p;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    load_with(&p, "/api/orders", order_body, 1);
    struct pprof_decoded *before = heap_profile(&p, "/debug/pprof/heap");
    load_with(&p, "/api/orders", order_body, 3);
    struct pprof_decoded *after = heap_profile(&p, "/debug/pprof/heap");
    double alloc_grew = (double)(pprof_decoded_sum(after, ALLOC_SPACE) - pprof_decoded_sum(before, ALLOC_SPACE));
    double inuse_before = (double)pprof_decoded_sum(before, INUSE_SPACE);
    double inuse_after = (double)pprof_decoded_sum(after, INUSE_SPACE);
    print_message("alloc_space +%.0f, inuse_space %.0f -> %.0f\n", alloc_grew, inuse_before, inuse_after);
#ifndef HEAP_RECORDED_ONLY
    /* Thousands of orders, each body parsed into a JSON tree and each a queued job:
     * megabytes allocated, so samples. */
    if (alloc_grew < 2e6)
        fail_msg("alloc_space grew by %.0f bytes under load", alloc_grew);
    /* What stays live after the load is a few samples at most (each ~512 KiB). */
    if (inuse_after - inuse_before > 0.05 * alloc_grew || inuse_after - inuse_before > 4e6)
        fail_msg("inuse_space went from %.0f to %.0f while alloc_space grew %.0f", inuse_before, inuse_after,
                 alloc_grew);
#else
    (void)alloc_grew;
    assert_true(inuse_after <= inuse_before + 1e6);
#endif
    pprof_decoded_free(before);
    pprof_decoded_free(after);
    orderd_proc_stop(&p, SIGTERM, 10000);
    unlink(p.log_path);
}

/* heap and allocs as Go serves them: the same profile, allocs shown by alloc_space;
 * gc=1 accepted; debug=1 the legacy text with heap/2*rate; go tool pprof -raw reads
 * both. */
static void test_orderd_heap_endpoints_read_as_go(void **state)
{
    static const char *const args[] = {"--instrument", "profile", NULL};
    struct orderd_proc p;
    unsigned long long lo, lb, ao, ab, rate;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    load_with(&p, "/api/orders", order_body, 1);
    struct curl_client_result r = get_ok(&p, "/debug/pprof/heap?gc=1");
    struct pprof_decoded *d = pprof_decode(r.body, r.body_len);
    assert_non_null(d);
    assert_true(d->nsamples >= 1);
    pprof_decoded_free(d);
    curl_client_free(&r);

    r = get_ok(&p, "/debug/pprof/allocs?debug=1");
    assert_int_equal(sscanf(r.body, "heap profile: %llu: %llu [%llu: %llu] @ heap/%llu\n", &lo, &lb, &ao, &ab,
                            &rate), 5);
#ifndef HEAP_RECORDED_ONLY
    assert_int_equal(rate, 2 * 524288);
    assert_true(ao >= 1);
#else
    assert_int_equal(rate, 2);
#endif
    curl_client_free(&r);

    static const char *const paths[] = {"/debug/pprof/heap", "/debug/pprof/allocs"};
    for (size_t i = 0; i < 2; i++) {
        char *raw = go_pprof(&p, "-raw", paths[i]);
        if (!raw)
            break;
        assert_non_null(strstr(raw, "PeriodType: space bytes"));
        assert_non_null(strstr(raw, i == 0 ? "alloc_objects/count alloc_space/bytes inuse_objects/count "
                                             "inuse_space/bytes"
                                           : "alloc_objects/count alloc_space/bytes[dflt] inuse_objects/count"));
        free(raw);
    }
    char *top = go_pprof(&p, "-top", "/debug/pprof/allocs");
    if (top && !strstr(top, "Type: alloc_space"))
        fail_msg("allocs is not shown by alloc_space:\n%s", top);
    free(top);
    top = go_pprof(&p, "-top", "/debug/pprof/heap");
    if (top && !strstr(top, "Type: inuse_space"))
        fail_msg("heap is not shown by inuse_space:\n%s", top);
    free(top);
    orderd_proc_stop(&p, SIGTERM, 10000);
    unlink(p.log_path);
}

/* At --instrument metrics every sample carries its stack (the frame-pointer walk), as
 * at profile: none lands on the stackless heapprof_unprofiled site; at off, and at
 * --mem-profile-rate 0, nothing is sampled. */
static void test_orderd_heap_levels_and_rate_zero(void **state)
{
    static const char *const metrics_args[] = {"--instrument", "metrics", NULL};
    static const char *const off_args[] = {"--instrument", "off", NULL};
    static const char *const zero_args[] = {"--instrument", "profile", "--mem-profile-rate", "0", NULL};
    const char *const *args[] = {metrics_args, off_args, zero_args};
    (void)state;

    for (int i = 0; i < 3; i++) {
        struct orderd_proc p;
        assert_int_equal(orderd_proc_start(&p, args[i], NULL), 0);
        load_with(&p, "/api/orders", order_body, 1);
        struct pprof_decoded *d = heap_profile(&p, "/debug/pprof/heap");
#ifndef HEAP_RECORDED_ONLY
        int64_t all = pprof_decoded_sum(d, ALLOC_OBJECTS);
        int64_t stackless = pprof_decoded_sum_for_function(d, "heapprof_unprofiled", ALLOC_OBJECTS, NULL);
        if (i == 0) {
            assert_true(all > 0);
            assert_int_equal(stackless, 0);
        } else {
            assert_int_equal(all, 0);
        }
#endif
        pprof_decoded_free(d);
        orderd_proc_stop(&p, SIGTERM, 10000);
        unlink(p.log_path);
    }
}

/* Whether any frame of sample s is named fn. */
static bool sample_has_frame(const struct pprof_decoded *d, const struct pprof_decoded_sample *s, const char *fn)
{
    for (size_t i = 0;; i++) {
        const char *name = pprof_decoded_frame_name(d, s, i);
        if (!name)
            return false;
        if (strcmp(name, fn) == 0)
            return true;
    }
}

/* A leak that fills before anyone switches profiling on: orderd stays at --instrument
 * metrics, leak.memory holds 64 KiB an order through 2 s of order posts (up to its
 * 64 MB cap), and the heap profile, read at metrics, charges the bytes to the leak's
 * function: the site holding most in-use bytes has leak_memory_retain in its stack,
 * which holds most of inuse_space and tops `go tool pprof -top`; nothing is stackless.
 * (The recorded mode of sanitizer builds walks the same frame pointers at metrics.) */
static void test_orderd_heap_leak_at_metrics_names_its_function(void **state)
{
    static const char *const args[] = {"--instrument", "metrics", "--leak-cap-bytes", "64MB", NULL};
    struct orderd_proc p;
    char name[128];
    (void)state;

#ifndef __x86_64__
    skip();   /* no frame-pointer walk: at metrics the samples are stackless */
#endif
    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    assert_int_equal(orderd_proc_set_fault(&p, "leak.memory", "on(65536)"), 200);
    /* Left on (switching it off frees what it holds); the cap bounds it. */
    load_with(&p, "/api/orders", order_body, 2);
    double leaked = orderd_proc_metric(&p, "orderd_leaked_bytes");
    /* Some 100 samples at 512 KiB a sample: enough for the leak to stand out. */
    if (leaked < 16e6)
        fail_msg("leak.memory held only %.0f bytes in 2 s of load", leaked);
    assert_int_equal((int)orderd_proc_metric(&p, "orderd_instrument_level{level=\"metrics\"}"), 1);

    struct pprof_decoded *d = heap_profile(&p, "/debug/pprof/heap");
    const struct pprof_decoded_sample *top = NULL;
    for (size_t i = 0; i < d->nsamples; i++)
        if (!top || d->samples[i].values[INUSE_SPACE] > top->values[INUSE_SPACE])
            top = &d->samples[i];
    assert_non_null(top);
    int64_t stackless = pprof_decoded_sum_for_function(d, "heapprof_unprofiled", INUSE_SPACE, NULL);
    int64_t culprit = pprof_decoded_sum_for_function(d, "leak_memory_retain", INUSE_SPACE, NULL);
    int64_t all = pprof_decoded_sum(d, INUSE_SPACE);
    print_message("leaked %.0f; inuse_space: leak_memory_retain %lld of %lld, heapprof_unprofiled %lld\n", leaked,
                  (long long)culprit, (long long)all, (long long)stackless);
    if (!sample_has_frame(d, top, "leak_memory_retain"))
        fail_msg("the site holding most in-use bytes (%lld) starts at %s, not in leak_memory_retain",
                 (long long)top->values[INUSE_SPACE], pprof_decoded_frame_name(d, top, 0));
    assert_int_equal(stackless, 0);
    assert_true(culprit > all / 2);
    pprof_decoded_free(d);

    char *text = go_pprof(&p, "-top -sample_index=inuse_space", "/debug/pprof/heap");
    if (text) {
        print_message("%s", text);
        if (strcmp(top_function(text, name, sizeof name), "leak_memory_retain") != 0)
            fail_msg("top of inuse_space is %s, not leak_memory_retain:\n%s", name, text);
    }
    free(text);
    orderd_proc_stop(&p, SIGTERM, 10000);
    unlink(p.log_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orderd_heap_leak_tops_inuse_and_estimates_it),
        cmocka_unit_test(test_orderd_heap_leak_tops_inuse_at_default_rate),
        cmocka_unit_test(test_orderd_heap_alloc_rises_inuse_stays_flat),
        cmocka_unit_test(test_orderd_heap_endpoints_read_as_go),
        cmocka_unit_test(test_orderd_heap_levels_and_rate_zero),
        cmocka_unit_test(test_orderd_heap_leak_at_metrics_names_its_function),
    };
    return cmocka_run_group_tests_name("orderd_heap", tests, NULL, NULL);
}
