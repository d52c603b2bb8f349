/* Integration tests of the Go net/http/pprof endpoints of orderd's debug port: the CPU
 * profile (/debug/pprof/profile) of a real orderd under load from this test, decoded
 * here and read by the real `go tool pprof`; the index, allocs, threadcreate, cmdline
 * and symbol; the thread states the kernel reports.
 *
 * Under the slow fault every request burns 1 ms of CPU in request_burn_cpu, which must
 * then lead the profile by flat time; without the fault it must not appear at all. The
 * sampling signal must not break a request, one profile runs at a time (429 for the
 * second, as Go's "profiling already in use"), and the timers are gone afterwards. */
#include "curl_client.h"
#include "orderd_proc.h"
#include "pprof_decode.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define LOAD_THREADS 2
#define LOAD_MAX_REQUESTS 20000          /* per thread: bounds the loop whatever happens */

static struct orderd_proc shared;

static int start_shared(void **state)
{
    static const char *const args[] = {"--instrument", "profile", "--log-level", "warn", NULL};
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

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- load: a bounded loop of product reads from a few threads ---- */

struct load {
    pthread_t threads[LOAD_THREADS];
    _Atomic bool stop;
    _Atomic long ok, failed;
    int64_t deadline_ms;
};

static void *load_main(void *arg)
{
    struct load *l = arg;
    char url[128];

    orderd_proc_url(&shared, false, "/api/products/7", url, sizeof url);
    for (int i = 0; i < LOAD_MAX_REQUESTS && !atomic_load(&l->stop) && now_ms() < l->deadline_ms; i++) {
        struct curl_client_result r;
        curl_client_request("GET", url, NULL, 0, NULL, 5000, &r);
        if (r.status == 200)
            atomic_fetch_add(&l->ok, 1);
        else
            atomic_fetch_add(&l->failed, 1);
        curl_client_free(&r);
    }
    return NULL;
}

static void load_start(struct load *l, int max_seconds)
{
    memset(l, 0, sizeof *l);
    l->deadline_ms = now_ms() + max_seconds * 1000;
    for (int i = 0; i < LOAD_THREADS; i++)
        assert_int_equal(pthread_create(&l->threads[i], NULL, load_main, l), 0);
}

static void load_stop(struct load *l)
{
    atomic_store(&l->stop, true);
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_join(l->threads[i], NULL);
}

static void set_fault(const char *term)
{
    struct curl_client_result r = term ? orderd_proc_call(&shared, true, "PUT", "/debug/faults/slow", term, NULL)
                                : orderd_proc_call(&shared, true, "DELETE", "/debug/faults/slow", NULL, NULL);
    assert_int_equal(r.status, 200);
    curl_client_free(&r);
}

static void set_instrument(const char *level)
{
    char body[64];
    snprintf(body, sizeof body, "{\"instrument\":\"%s\"}", level);
    struct curl_client_result r = orderd_proc_call(&shared, true, "PUT", "/debug/config", body, NULL);
    assert_int_equal(r.status, 200);
    curl_client_free(&r);
}

/* `go tool pprof -proto` rewrites the profile in its own encoding: read back, it must
 * hold the same sample types and the same totals. */
static void check_proto_round_trip(const struct pprof_decoded *d, const char *body, size_t len)
{
    char path[] = "/tmp/test_orderd_pprof.XXXXXX", flags[96], *out = NULL, *data = NULL;
    size_t data_len = 0;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    snprintf(flags, sizeof flags, "-proto -output %s", path);
    if (pprof_decode_go_tool(body, len, flags, &out) != 0)
        fail_msg("go tool pprof -proto failed: %s", out ? out : "(no output)");
    free(out);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    data = malloc(1 << 24);
    assert_non_null(data);
    data_len = fread(data, 1, 1 << 24, f);
    fclose(f);
    unlink(path);
    struct pprof_decoded *again = pprof_decode(data, data_len);
    free(data);
    assert_non_null(again);
    assert_int_equal(pprof_decoded_sample_type(again, "samples", "count"), 0);
    assert_int_equal(pprof_decoded_sample_type(again, "cpu", "nanoseconds"), 1);
    assert_int_equal(pprof_decoded_sum(again, 0), pprof_decoded_sum(d, 0));
    assert_int_equal(pprof_decoded_sum(again, 1), pprof_decoded_sum(d, 1));
    /* pprof keeps the mappings that hold a location, with their files. */
    assert_true(again->nmappings >= 1 && again->nmappings <= d->nmappings);
    assert_non_null(strstr(pprof_decoded_string(again, again->mappings[0].filename), "orderd"));
    pprof_decoded_free(again);
}

/* Takes a CPU profile of `seconds` while the test loads orderd; checks its shape and
 * that no request failed. Returns the decoded profile; *top gets `go tool pprof -top`
 * (NULL when go is missing). */
static struct pprof_decoded *profile_under_load(int seconds, char **top)
{
    struct load load;
    char path[64];

    load_start(&load, seconds + 10);
    snprintf(path, sizeof path, "/debug/pprof/profile?seconds=%d", seconds);
    struct curl_client_result r = orderd_proc_call(&shared, true, "GET", path, NULL, NULL);
    load_stop(&load);
    assert_int_equal(r.status, 200);
    assert_true(load.ok > 0);
    /* The sampling signal interrupts the I/O threads' syscalls: none may fail. */
    assert_int_equal(load.failed, 0);

    struct pprof_decoded *d = pprof_decode(r.body, r.body_len);
    assert_non_null(d);
    assert_int_equal(d->nsample_types, 2);
    assert_int_equal(pprof_decoded_sample_type(d, "samples", "count"), 0);
    assert_int_equal(pprof_decoded_sample_type(d, "cpu", "nanoseconds"), 1);
    assert_string_equal(pprof_decoded_string(d, d->period_type.type), "cpu");
    assert_string_equal(pprof_decoded_string(d, d->period_type.unit), "nanoseconds");
    assert_int_equal(d->period, 10000000);   /* 100 Hz */
    assert_true(d->duration_nanos >= (int64_t)seconds * 1000000000LL);
    assert_true(d->time_nanos > 0);
    for (size_t i = 0; i < d->nsamples; i++)
        assert_int_equal(d->samples[i].values[1], d->samples[i].values[0] * d->period);
    /* A sample is the interrupted stack: the profiler's own handler is in none of them
     * (under ThreadSanitizer, which runs the handler late, its frames are cut). */
    assert_int_equal(pprof_decoded_sum_for_function(d, "on_sigprof", 0, NULL), 0);
    assert_int_equal(pprof_decoded_sum_for_function(d, "stacks_unwind_signal", 0, NULL), 0);

    *top = NULL;
    int rc = pprof_decode_go_top(r.body, r.body_len, top);
    if (rc < 0)
        fail_msg("go tool pprof -top failed: %s", *top ? *top : "(no output)");
    char *raw = NULL;
    rc = pprof_decode_go_tool(r.body, r.body_len, "-raw", &raw);
    if (rc < 0)
        fail_msg("go tool pprof -raw failed: %s", raw ? raw : "(no output)");
    free(raw);
    if (rc == 0)
        check_proto_round_trip(d, r.body, r.body_len);
    curl_client_free(&r);
    return d;
}

/* The function of the first row of `go tool pprof -top` (largest flat), in buf. */
static const char *top_function(const char *top, char *buf, size_t len)
{
    const char *header = strstr(top, "flat%");
    const char *line, *end, *name;

    buf[0] = '\0';
    if (!header || !(line = strchr(header, '\n')))
        return buf;
    line++;
    end = strchr(line, '\n');
    if (!end)
        end = line + strlen(line);
    name = end;
    while (name > line && name[-1] != ' ')
        name--;
    snprintf(buf, len, "%.*s", (int)(end - name), name);
    return buf;
}

static void test_cpuprof_names_request_burn_cpu_under_slow(void **state)
{
    char *top = NULL, first[128];
    (void)state;

    set_fault("on(1ms)");
    struct pprof_decoded *d = profile_under_load(2, &top);
    set_fault(NULL);
    /* Samples are taken: at least a few dozen 10 ms ticks of a loaded io thread. */
    assert_true(pprof_decoded_sum(d, 0) >= 20);
    size_t nsamples = 0;
    int64_t burn = pprof_decoded_sum_for_function(d, "request_burn_cpu", 0, &nsamples);
    assert_true(burn > 0);
#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer holds a signal back until the thread next enters one of its
     * interceptors and runs the handler from there, so the innermost frames are its
     * own and the flat time lands on its code that ran the handler. The burning
     * function is still on the stack of most samples. */
    assert_true(burn * 2 >= pprof_decoded_sum(d, 0));
    free(top);
    top = NULL;
#endif
    if (top) {
        top_function(top, first, sizeof first);
        if (strcmp(first, "request_burn_cpu") != 0)
            fail_msg("expected request_burn_cpu first by flat time, got '%s':\n%s", first, top);
    }
    free(top);
    pprof_decoded_free(d);
}

static void test_cpuprof_without_fault_does_not_name_burn(void **state)
{
    char *top = NULL, first[128];
    (void)state;

    struct pprof_decoded *d = profile_under_load(2, &top);
    assert_true(pprof_decoded_sum(d, 0) > 0);
    assert_int_equal(pprof_decoded_sum_for_function(d, "request_burn_cpu", 0, NULL), 0);
    /* The io threads' request path is what burns CPU now. */
    assert_true(pprof_decoded_sum_for_function(d, "io_thread_main", 0, NULL) > 0);
    if (top) {
        top_function(top, first, sizeof first);
        assert_true(first[0] != '\0');
        assert_string_not_equal(first, "request_burn_cpu");
    }
    free(top);
    pprof_decoded_free(d);
}

struct background_profile {
    pthread_t thread;
    int seconds;
    long timeout_ms;
    struct curl_client_result result;
};

static void *background_profile_main(void *arg)
{
    struct background_profile *b = arg;
    char path[64], url[128];

    snprintf(path, sizeof path, "/debug/pprof/profile?seconds=%d", b->seconds);
    orderd_proc_url(&shared, true, path, url, sizeof url);
    curl_client_request("GET", url, NULL, 0, NULL, b->timeout_ms, &b->result);
    return NULL;
}

static int sigprof_timers(void);

/* Waits (at most 5 s) until the profile the background thread asked for is running,
 * seen as orderd's SIGPROF timers, then asks for a second one. Returns its answer. */
static struct curl_client_result second_profile_request(void)
{
    int64_t deadline = now_ms() + 5000;

    if (sigprof_timers() < 0)
        usleep(500000);   /* no /proc/PID/timers: give the first request time to start */
    else
        while (sigprof_timers() == 0 && now_ms() < deadline)
            usleep(10000);
    return orderd_proc_call(&shared, true, "GET", "/debug/pprof/profile?seconds=1", NULL, NULL);
}

static void test_cpuprof_second_request_gets_429(void **state)
{
    struct background_profile b = {.seconds = 3, .timeout_ms = 20000};
    (void)state;

    assert_int_equal(pthread_create(&b.thread, NULL, background_profile_main, &b), 0);
    struct curl_client_result r = second_profile_request();
    assert_int_equal(r.status, 429);
    assert_non_null(strstr(r.body, "cpu profiling already in use"));
    curl_client_free(&r);
    pthread_join(b.thread, NULL);
    assert_int_equal(b.result.status, 200);
    curl_client_free(&b.result);

    /* Finished: the next one is accepted. */
    r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/profile?seconds=1", NULL, NULL);
    assert_int_equal(r.status, 200);
    curl_client_free(&r);
}

static void test_cpuprof_client_gone_frees_the_profiler(void **state)
{
    struct background_profile b = {.seconds = 30, .timeout_ms = 1000};
    (void)state;

    /* The client gives up after 1 s of a 30 s profile: sampling must stop with it. */
    assert_int_equal(pthread_create(&b.thread, NULL, background_profile_main, &b), 0);
    pthread_join(b.thread, NULL);
    assert_int_equal(b.result.status, 0);
    curl_client_free(&b.result);
    int64_t deadline = now_ms() + 3000;
    long status;
    do {
        struct curl_client_result r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/profile?seconds=1", NULL, NULL);
        status = r.status;
        curl_client_free(&r);
    } while (status == 429 && now_ms() < deadline);
    assert_int_equal(status, 200);
}

/* The POSIX timers of orderd that signal SIGPROF, from /proc/PID/timers. */
static int sigprof_timers(void)
{
    char path[64], line[256], want[32];
    int n = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/timers", (int)shared.pid);
    snprintf(want, sizeof want, "signal: %d/", SIGPROF);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, want, strlen(want)) == 0)
            n++;
    fclose(f);
    return n;
}

static void test_cpuprof_timers_exist_only_while_profiling(void **state)
{
    struct background_profile b = {.seconds = 2, .timeout_ms = 20000};
    (void)state;

    if (sigprof_timers() < 0)
        skip();   /* a kernel without /proc/PID/timers */
    assert_int_equal(sigprof_timers(), 0);
    assert_int_equal(pthread_create(&b.thread, NULL, background_profile_main, &b), 0);
    struct curl_client_result r = second_profile_request();
    assert_int_equal(r.status, 429);
    curl_client_free(&r);
    /* One timer per thread: main, debug, io threads, workers. */
    assert_true(sigprof_timers() >= 4);
    pthread_join(b.thread, NULL);
    assert_int_equal(b.result.status, 200);
    curl_client_free(&b.result);
    assert_int_equal(sigprof_timers(), 0);
}

static void test_cpuprof_needs_instrument_profile(void **state)
{
    (void)state;

    set_instrument("metrics");
    struct curl_client_result r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/profile?seconds=1", NULL, NULL);
    int timers = sigprof_timers();
    set_instrument("profile");
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "instrument"));
    curl_client_free(&r);
    assert_true(timers <= 0);

    r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/profile?seconds=301", NULL, NULL);
    assert_int_equal(r.status, 400);
    curl_client_free(&r);
}

static void test_cpuprof_go_tool_pprof_fetches_it(void **state)
{
    char url[128], *out = NULL;
    (void)state;

    /* The bare address, as a Go engineer types it: pprof asks for /debug/pprof/profile. */
    orderd_proc_url(&shared, true, "/", url, sizeof url);
    int rc = pprof_decode_go_url("-seconds 1 -raw", url, &out);
    if (rc == 1)
        skip();
    if (rc != 0)
        fail_msg("go tool pprof %s failed: %s", url, out ? out : "(no output)");
    assert_non_null(strstr(out, "cpu/nanoseconds"));
    free(out);
}

/* The count the index shows for a profile, or -1. */
static long index_count(const char *page, const char *href)
{
    char needle[96];
    const char *at, *td;

    snprintf(needle, sizeof needle, "<a href='%s'>", href);
    at = strstr(page, needle);
    if (!at)
        return -1;
    /* "<tr><td>N</td><td><a href=..." : N is just before at. */
    td = at;
    while (td > page && strncmp(td, "<tr><td>", 8) != 0)
        td--;
    return strtol(td + 8, NULL, 10);
}

static void test_pprof_index_lists_every_profile_with_count(void **state)
{
    static const char *const hrefs[] = {"allocs?debug=1", "block?debug=1", "cmdline", "goroutine?debug=1",
                                        "heap?debug=1", "mutex?debug=1", "profile", "threadcreate?debug=1",
                                        "threads?debug=1"};
    (void)state;

    struct curl_client_result r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/", NULL, NULL);
    assert_int_equal(r.status, 200);
    for (size_t i = 0; i < sizeof hrefs / sizeof hrefs[0]; i++)
        if (index_count(r.body, hrefs[i]) < 0)
            fail_msg("the index has no row for %s:\n%s", hrefs[i], r.body);
    /* main, debug, io and worker threads at least; every one was created once. */
    long threads = index_count(r.body, "goroutine?debug=1");
    assert_true(threads >= 4);
    assert_true(index_count(r.body, "threadcreate?debug=1") >= threads);
    assert_non_null(strstr(r.body, "<li><div class=profile-name>profile: </div> CPU profile."));
    assert_non_null(strstr(r.body, "<li><div class=profile-name>threadcreate: </div> Stack traces that led to "
                                   "the creation of new OS threads"));
    curl_client_free(&r);
}

static void test_pprof_every_endpoint_reads_with_go_tool_raw(void **state)
{
    static const char *const profiles[] = {"allocs", "threadcreate", "heap", "mutex", "block", "threads",
                                           "goroutine"};
    char path[64];
    (void)state;

    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
        snprintf(path, sizeof path, "/debug/pprof/%s", profiles[i]);
        struct curl_client_result r = orderd_proc_call(&shared, true, "GET", path, NULL, NULL);
        assert_int_equal(r.status, 200);
        struct pprof_decoded *d = pprof_decode(r.body, r.body_len);
        if (!d)
            fail_msg("%s is not a valid profile.proto", path);
        pprof_decoded_free(d);
        char *out = NULL;
        int rc = pprof_decode_go_tool(r.body, r.body_len, "-raw", &out);
        if (rc < 0)
            fail_msg("go tool pprof -raw %s failed: %s", path, out ? out : "(no output)");
        free(out);
        if (strcmp(profiles[i], "allocs") == 0 && rc == 0) {
            /* allocs is the heap profile shown by alloc_space, as Go serves it. */
            assert_int_equal(pprof_decode_go_top(r.body, r.body_len, &out), 0);
            assert_non_null(strstr(out, "Type: alloc_space"));
            free(out);
        }
        curl_client_free(&r);
    }
}

static void test_pprof_text_forms_of_allocs_and_threadcreate(void **state)
{
    (void)state;

    struct curl_client_result r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/allocs?debug=1", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "heap profile: ", 14);
    curl_client_free(&r);

    r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/threadcreate?debug=1", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "threadcreate profile: total ", 28);
    /* The workers were created by workers_start: its frame names that record. */
    assert_non_null(strstr(r.body, "\tworkers_start+0x"));
    assert_non_null(strstr(r.body, "\tdebug_server_start+0x"));
    curl_client_free(&r);

    r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/threadcreate?debug=3", NULL, NULL);
    assert_int_equal(r.status, 400);
    curl_client_free(&r);
}

static void test_pprof_cmdline_is_nul_separated(void **state)
{
    (void)state;

    struct curl_client_result r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/cmdline", NULL, NULL);
    assert_int_equal(r.status, 200);
    /* argv[0] first, then every argument after a NUL, no NUL at the end. */
    assert_true(r.body_len > 0);
    assert_int_not_equal(r.body[r.body_len - 1], '\0');
    const char want[] = "\0--instrument\0profile\0";
    assert_non_null(memmem(r.body, r.body_len, want, sizeof want - 1));
    curl_client_free(&r);
}

static void test_pprof_symbol_names_addresses_by_get_and_post(void **state)
{
    char pc[32], query[96], line[96];
    (void)state;

    /* A real code address of orderd: the pc of workers_start's frame in threadcreate. */
    struct curl_client_result r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/threadcreate?debug=1", NULL, NULL);
    const char *frame = strstr(r.body, "\tworkers_start+0x");
    assert_non_null(frame);
    const char *start = frame;
    while (start > r.body && start[-1] != '\t')
        start--;
    snprintf(pc, sizeof pc, "%.*s", (int)(frame - start), start);
    curl_client_free(&r);
    snprintf(line, sizeof line, "%s workers_start\n", pc);

    r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/symbol", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "num_symbols: 1\n");
    curl_client_free(&r);

    snprintf(query, sizeof query, "/debug/pprof/symbol?0x1+%s", pc);
    r = orderd_proc_call(&shared, true, "GET", query, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "num_symbols: 1\n", 15);
    assert_string_equal(r.body + 15, line);   /* 0x1 names nothing: left out */
    curl_client_free(&r);

    snprintf(query, sizeof query, "%s+0x1", pc);
    r = orderd_proc_call(&shared, true, "POST", "/debug/pprof/symbol", query, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body + 15, line);
    curl_client_free(&r);
}

/* orderd_threads{role="ROLE",state="STATE"} from /metrics, or -1. */
static long threads_metric(const char *role, const char *state)
{
    char needle[96];
    long value = -1;

    snprintf(needle, sizeof needle, "\norderd_threads{role=\"%s\",state=\"%s\"} ", role, state);
    struct curl_client_result r = orderd_proc_call(&shared, true, "GET", "/metrics", NULL, NULL);
    const char *at = r.body ? strstr(r.body, needle) : NULL;
    if (at)
        value = strtol(at + strlen(needle), NULL, 10);
    curl_client_free(&r);
    return value;
}

static void test_threads_idle_io_threads_are_not_running(void **state)
{
    (void)state;

    /* Nothing is being served: the io threads sit in epoll_wait, the main thread in
     * sigwait, the workers on the queue's condition variable. */
    long io_running = -1, io_idle = -1;
    for (int i = 0; i < 20; i++) {   /* a scrape may still see one finishing a request */
        io_running = threads_metric("io", "running");
        io_idle = threads_metric("io", "idle");
        if (io_running == 0)
            break;
        usleep(50000);
    }
    assert_int_equal(io_running, 0);
    assert_true(io_idle >= 1);
    assert_int_equal(threads_metric("main", "running"), 0);
    assert_int_equal(threads_metric("main", "waiting"), 1);

    struct curl_client_result r = orderd_proc_call(&shared, true, "GET", "/debug/pprof/threads?debug=2", NULL, NULL);
    assert_int_equal(r.status, 200);
    const char *io = strstr(r.body, "role=io ");
    assert_non_null(io);
    const char *line = io;
    while (line > r.body && line[-1] != '\n')
        line--;
    assert_memory_equal(strstr(line, "["), "[idle: epoll_wait, ", 19);
    assert_non_null(strstr(r.body, "[waiting: sigtimedwait, "));
    curl_client_free(&r);
}

static void test_threads_busy_io_thread_is_running(void **state)
{
    struct load load;
    long most = 0;
    (void)state;

    set_fault("on(5ms)");
    load_start(&load, 10);
    for (int i = 0; i < 100 && most == 0; i++) {
        long n = threads_metric("io", "running");
        if (n > most)
            most = n;
        usleep(20000);
    }
    load_stop(&load);
    set_fault(NULL);
    assert_true(most >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpuprof_names_request_burn_cpu_under_slow),
        cmocka_unit_test(test_cpuprof_without_fault_does_not_name_burn),
        cmocka_unit_test(test_cpuprof_second_request_gets_429),
        cmocka_unit_test(test_cpuprof_client_gone_frees_the_profiler),
        cmocka_unit_test(test_cpuprof_timers_exist_only_while_profiling),
        cmocka_unit_test(test_cpuprof_needs_instrument_profile),
        cmocka_unit_test(test_cpuprof_go_tool_pprof_fetches_it),
        cmocka_unit_test(test_pprof_index_lists_every_profile_with_count),
        cmocka_unit_test(test_pprof_every_endpoint_reads_with_go_tool_raw),
        cmocka_unit_test(test_pprof_text_forms_of_allocs_and_threadcreate),
        cmocka_unit_test(test_pprof_cmdline_is_nul_separated),
        cmocka_unit_test(test_pprof_symbol_names_addresses_by_get_and_post),
        cmocka_unit_test(test_threads_idle_io_threads_are_not_running),
        cmocka_unit_test(test_threads_busy_io_thread_is_running),
    };
    return cmocka_run_group_tests(tests, start_shared, stop_shared);
}
