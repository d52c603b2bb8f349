/* Unit tests for diagnose: each class, the healthy case and two faults at once, on
 * fixtures built here — synthetic scrapes of a 10 s run and thread dumps and profiles
 * in the debug port's text layouts. Several culprits are functions orderd does not
 * have, so a pass shows the culprit was read from the evidence, not from a list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diagnose/diagnose.h"
#include "diagnose/rules.h"
#include "store/evidence.h"
#include "store/resultdb.h"
#include "testdb.h"
#include "tmpdb.h"

#define TICK 0.25
#define END 10.0

static char err[512];
static struct tmpdb tmp;
static struct resultdb *db;
static int64_t run_id;
static struct diagnose_result result;

/* Stacks, innermost frame first: "function@file|function@file|...". */
#define IDLE_IO "epoll_wait@../sysdeps/unix/sysv/linux/epoll_wait.c|event_base_loop@?|" \
                "io_thread_main@service/httpserver.c|spawn_trampoline@service/threads.c|start_thread@./nptl/pthread_create.c"
#define IDLE_WORKER "__futex_abstimed_wait_common@./nptl/futex-internal.c|___pthread_cond_wait@./nptl/pthread_cond_wait.c|" \
                    "lockprof_cond_wait@service/lockprof.c|queue_pop@service/queue.c|worker_main@service/workers.c"
#define PAYING_WORKER "__clock_nanosleep@../sysdeps/unix/sysv/linux/clock_nanosleep.c|__nanosleep@../nanosleep.c|" \
                      "charge_customer@service/workers.c|process@service/workers.c|worker_main@service/workers.c"
#define STALLED_WORKER "__futex_abstimed_wait_common@./nptl/futex-internal.c|" \
                       "___pthread_cond_timedwait64@./nptl/pthread_cond_wait.c|lockprof_cond_timedwait@service/lockprof.c|" \
                       "ledger_sync_wait@service/workers.c|process@service/workers.c|worker_main@service/workers.c"
#define WATCHDOG "__futex_abstimed_wait_common@./nptl/futex-internal.c|___pthread_cond_wait@./nptl/pthread_cond_wait.c|" \
                 "session_watchdog_wait@service/session.c|watchdog_main@service/session.c|spawn_trampoline@service/threads.c"
#define BURNING_IO "__vdso_clock_gettime@?|units_now_ns@common/units.c|price_recompute@service/api.c|" \
                   "api_handle@service/api.c|on_read@service/httpserver.c|io_thread_main@service/httpserver.c"
#define WRITING_IO "__libc_write@../sysdeps/unix/sysv/linux/write.c|conn_flush@service/httpserver.c|" \
                   "event_base_loop@?|io_thread_main@service/httpserver.c"
#define LOCK_WAITING_IO "__lll_lock_wait@./nptl/lowlevellock.c|___pthread_mutex_lock@./nptl/pthread_mutex_lock.c|" \
                        "lock_contended@service/lockprof.c|lockprof_mutex_lock@service/lockprof.c|" \
                        "cache_get_global@service/catalog.c|catalog_get@service/catalog.c|io_thread_main@service/httpserver.c"
#define BLOCKED_IO "__futex_abstimed_wait_common@./nptl/futex-internal.c|___pthread_cond_wait@./nptl/pthread_cond_wait.c|" \
                   "lockprof_cond_wait@service/lockprof.c|queue_push_blocking@service/queue.c|" \
                   "order_create@service/api.c|io_thread_main@service/httpserver.c"

#define IDLE_WORKER_LOCKING "__lll_lock_wait@./nptl/lowlevellock.c|___pthread_mutex_lock@./nptl/pthread_mutex_lock.c|" \
                            "lock_contended@service/lockprof.c|lockprof_mutex_lock@service/lockprof.c|" \
                            "queue_pop@service/queue.c|worker_main@service/workers.c"
#define QUEUE_LOCKING_IO "__lll_lock_wait@./nptl/lowlevellock.c|___pthread_mutex_lock@./nptl/pthread_mutex_lock.c|" \
                         "lockprof_mutex_lock@service/lockprof.c|queue_try_push@service/queue.c|" \
                         "order_create@service/api.c|io_thread_main@service/httpserver.c"
#define LOCK_WAITING_WORKER "__lll_lock_wait@./nptl/lowlevellock.c|___pthread_mutex_lock@./nptl/pthread_mutex_lock.c|" \
                            "lock_contended@service/lockprof.c|lockprof_mutex_lock@service/lockprof.c|" \
                            "cache_get_global@service/catalog.c|process@service/workers.c|worker_main@service/workers.c"
#define STALLED_RELOCKING "__lll_lock_wait@./nptl/lowlevellock.c|___pthread_mutex_lock@./nptl/pthread_mutex_lock.c|" \
                          "lockprof_mutex_lock@service/lockprof.c|ledger_sync_wait@service/workers.c|" \
                          "process@service/workers.c|worker_main@service/workers.c"
#define PARKED "__futex_abstimed_wait_common@./nptl/futex-internal.c|___pthread_cond_wait@./nptl/pthread_cond_wait.c|" \
               "notifier_park@service/notify.c|spawn_trampoline@service/threads.c"

struct group {
    int count;
    const char *role, *state, *stack;
};

/* Appends "#\t0xN\tfunction+0x10\tfile:12" lines for a stack written as above. */
static void append_frames(char *buf, size_t len, const char *stack)
{
    const char *s = stack;
    int pc = 0x1000;
    while (*s) {
        const char *bar = strchr(s, '|'), *at = strchr(s, '@');
        size_t n = bar ? (size_t)(bar - s) : strlen(s);
        size_t fn = at && at < s + n ? (size_t)(at - s) : n;
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "#\t0x%x\t%.*s+0x10\t%.*s:12\n", pc++, (int)fn, s,
                 (int)(fn < n ? n - fn - 1 : 0), fn < n ? s + fn + 1 : "");
        s += n;
        if (*s)
            s++;
    }
}

/* A thread dump of the groups (caller frees with test_free). */
static char *dump_text(const struct group *groups, size_t n)
{
    char *buf = test_calloc(1, 65536);
    int total = 0;
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++)
        total += groups[i].count;
    snprintf(buf, 65536, "threads profile: total %d\n", total);
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, 65536 - used, "%d @ 0x1000 0x1001\n# labels: {\"role\":\"%s\", \"state\":\"%s\"}\n",
                 groups[i].count, groups[i].role, groups[i].state);
        append_frames(buf, 65536, groups[i].stack);
        used = strlen(buf);
        snprintf(buf + used, 65536 - used, "\n");
    }
    return buf;
}

/* While set, samples and evidence are stored as one instance's of a fleet read from
 * Prometheus: with its instance and job labels, the evidence with its instance. */
static const char *on_instance;

static void store(double t, const char *kind, const char *reason, const char *text)
{
    unsigned char *gz;
    size_t gzlen;
    if (evidence_gzip(text, strlen(text), &gz, &gzlen, err, sizeof err) < 0 ||
        evidence_store_of(db, run_id, t, kind, reason, on_instance, gz, gzlen, strlen(text), err, sizeof err) < 0)
        fail_msg("%s", err);
    free(gz);
}

static void store_dump(double t, const struct group *groups, size_t n)
{
    char *text = dump_text(groups, n);
    store(t, EVIDENCE_THREADS, "periodic", text);
    test_free(text);
}

/* A profile of one or two sites: header, then "values @ pcs" and frames. */
static void store_profile(double t, const char *kind, const char *header, const char *v1, const char *stack1,
                          const char *v2, const char *stack2)
{
    char buf[8192];
    snprintf(buf, sizeof buf, "%s%s @ 0x1000\n", header, v1);
    append_frames(buf, sizeof buf, stack1);
    if (v2) {
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof buf - used, "\n%s @ 0x2000\n", v2);
        append_frames(buf, sizeof buf, stack2);
    }
    store(t, kind, "end of steady state", buf);
}

/* A heap profile at t of two sites: audit_trail_append with its live count and bytes
 * ("2000: 8192000 [2000: 8192000]"), and the catalog's 800 KB beside it. */
static void store_audit_heap(double t, const char *audit)
{
    store_profile(t, EVIDENCE_HEAP, "heap profile: 10: 9000000 [10: 9000000] @ heap/2\n", audit,
                  "audit_trail_append@service/audit.c|api_handle@service/api.c", "5: 800000 [5: 800000]",
                  "catalog_load@service/catalog.c|main@service/main.c");
}

/* The scrapes of a run; each field a function of time. */
struct shape {
    double threads_rate, threads_from;     /* threads/s added from then on */
    double rss_rate, rss_from;             /* bytes/s */
    double lock_wait, lock_from;           /* lock-wait seconds per second */
    double cpu_per_request, cpu_from;      /* CPU seconds per request past the healthy 50us */
    double queue_from, queue_to;           /* the queue is at capacity in between */
    double rejected_rate;                  /* rejections per second while it is */
    double push_block;                     /* blocked seconds/s at queue_push_blocking */
    double threads_cap, rss_cap;           /* where a leak stops growing (0: never) */
    double queue_lock_wait;                /* lock-wait seconds per second on the queue's lock */
    double queue_contentions;              /* times a second the queue's lock is found taken (0: 10) */
    double lock_contentions;               /* times a second cache_global is found taken while it waits (0: 2000) */
    bool small_queue;                      /* a queue of 16 whose depth wobbles at capacity: 16,16,14,16,13... */
    bool served_drops;                     /* the workers take 20 jobs/s instead of 200 while the queue is full */
    double request_rate;                   /* requests per second (0: 1,000) */
    double healthy_cpu;                    /* CPU seconds per request before any fault (0: 50us) */
    bool cpu_ticks;                        /* the CPU counter moves in 10 ms ticks, as /proc's */
    double restart_at;                     /* a new process from then on (0: none): counters from 0, memory
                                              from its start-up, the leaks from their start again */
    bool start_time;                       /* process_start_time_seconds scraped, as orderd has it */
    double rss_per_thread;                 /* resident bytes each leaked thread adds (its stack) */
    double rss_creep;                      /* bytes/s of ordinary growth from start-up (a store filling) */
};

static double capped(double v, double cap)
{
    return cap > 0 && v > cap ? cap : v;
}

static double ramp(double rate, double from, double t)
{
    return t > from ? rate * (t - from) : 0;
}

/* When something switched on at from is on in a process born then (0: the run's
 * first, which may have had it on before the first scrape). */
static double after_born(double from, double born)
{
    return born > 0 ? fmax(from, born) : from;
}

static void sample(double t, const char *metric, const char *labels, double v)
{
    char fleet[512];
    if (on_instance) {
        snprintf(fleet, sizeof fleet, "{instance=\"%s\",job=\"orderd\"%s%s", on_instance, labels[0] ? "," : "}",
                 labels[0] ? labels + 1 : "");
        labels = fleet;
    }
    if (resultdb_sample(db, run_id, t, metric, labels, v, err, sizeof err) < 0)
        fail_msg("%s", err);
}

static void store_series(const struct shape *s)
{
    static const double wobble[] = {16, 16, 14, 16, 16, 15, 13, 16};
    double rejected = 0, capacity = s->small_queue ? 16 : 128, enqueued = 0;
    int tick = 0;
    assert_int_equal(resultdb_begin(db, err, sizeof err), 0);
    for (double t = 0; t <= END + 1e-9; t += TICK) {
        /* the process's start: the run's, or the restart's; pt is its own clock */
        double born = s->restart_at > 0 && t >= s->restart_at ? s->restart_at : 0, pt = t - born;
        double rate = s->request_rate > 0 ? s->request_rate : 1000, requests = rate * pt;
        double cpu = (s->healthy_cpu > 0 ? s->healthy_cpu : 0.00005) * requests;
        bool full = t >= s->queue_from && t <= s->queue_to;
        if (born > 0 && t - TICK < born)
            rejected = enqueued = 0;
        if (s->cpu_per_request > 0 && t > s->cpu_from)
            cpu += s->cpu_per_request * rate * (t - after_born(s->cpu_from, born));
        if (s->cpu_ticks)
            cpu = floor(cpu / 0.01) * 0.01;
        if (full)
            rejected += s->rejected_rate * TICK;
        enqueued += (full && s->served_drops ? 20 : 200) * TICK;
        if (on_instance)
            sample(t, "up", "", 1);  /* Prometheus' own series of each target */
        double leaked = floor(capped(ramp(s->threads_rate, after_born(s->threads_from, born), t), s->threads_cap));
        sample(t, "loadlab_proc_threads", "", 8 + leaked);
        /* Start-up: memory climbs fast in the first half second, as a real process's does. */
        sample(t, "loadlab_proc_resident_memory_bytes", "",
               (pt < 0.5 ? 4e6 + 32e6 * pt : 20e6) + capped(ramp(s->rss_rate, after_born(s->rss_from, born), t), s->rss_cap) +
                   s->rss_per_thread * leaked + ramp(s->rss_creep, born + 0.5, t) + (fmod(t, 1.0) < 0.5 ? 1e4 : 0));
        sample(t, "loadlab_proc_cpu_seconds_total", "", cpu);
        if (s->start_time)
            sample(t, "process_start_time_seconds", "", 1.7e9 + born);
        sample(t, "orderd_http_requests_total", "{code=\"200\",route=\"product_get\"}", requests * 0.8);
        sample(t, "orderd_http_requests_total", "{code=\"202\",route=\"order_create\"}", requests * 0.2);
        sample(t, "orderd_queue_depth", "", full ? (s->small_queue ? wobble[tick++ % 8] : capacity) : 2);
        sample(t, "orderd_queue_capacity", "", capacity);
        sample(t, "orderd_queue_enqueued_total", "", enqueued);
        sample(t, "orderd_queue_rejected_total", "", rejected);
        sample(t, "orderd_mutex_wait_seconds_total", "{lock=\"queue\"}", 0.002 * pt + ramp(s->queue_lock_wait, born, t));
        sample(t, "orderd_mutex_wait_seconds_total", "{lock=\"cache_global\"}",
               ramp(s->lock_wait, after_born(s->lock_from, born), t));
        sample(t, "orderd_mutex_contentions_total", "{lock=\"queue\"}", (s->queue_contentions > 0 ? s->queue_contentions : 10) * pt);
        sample(t, "orderd_mutex_contentions_total", "{lock=\"cache_global\"}",
               s->lock_wait > 0 ? ramp(s->lock_contentions > 0 ? s->lock_contentions : 2000,
                                       after_born(s->lock_from, born), t) : 0);
        sample(t, "orderd_block_seconds_total", "{site=\"queue_pop\"}", 2.5 * pt);
        sample(t, "orderd_block_seconds_total", "{site=\"queue_push_blocking\"}", s->push_block * pt);
        /* The answer key, which the diagnosis must not read: it says "slow" is on. */
        sample(t, "orderd_fault_active", "{fault=\"slow\"}", 1);
        sample(t, "orderd_leaked_threads", "", 500);
    }
    assert_int_equal(resultdb_commit(db, err, sizeof err), 0);
    store(5, EVIDENCE_FAULTS, "mid-run", "[{\"name\":\"slow\",\"on\":true,\"culprit\":\"request_burn_cpu\"}]");
}

static const struct group healthy_groups[] = {
    {3, "worker", "idle", IDLE_WORKER}, {1, "worker", "waiting", PAYING_WORKER}, {2, "io", "running", IDLE_IO},
};

static void store_healthy_dumps_until(double end)
{
    for (double t = 0.5; t < end; t += 0.5) {
        struct group g[] = {healthy_groups[0], healthy_groups[1], healthy_groups[2]};
        if (fmod(t, 2.0) == 0)
            g[2] = (struct group){1, "io", "running", WRITING_IO};
        store_dump(t, g, 3);
    }
}

static void store_healthy_dumps(void)
{
    store_healthy_dumps_until(END);
}

/* Thread dumps every half second: healthy workers and io threads, and a group of
 * threads parked in WATCHDOG growing rate a second from `from`. */
static void store_leaking_thread_dumps(double rate, double from)
{
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], healthy_groups[2],
                            {1 + (int)ramp(rate, from, t), "fault", "waiting", WATCHDOG}};
        store_dump(t, g, 3);
    }
}

/* A heap profile at t of one steady site: the catalog's 100 MB, loaded at start. */
static void store_catalog_heap(double t)
{
    store_profile(t, EVIDENCE_HEAP, "heap profile: 1: 101000000 [1: 101000000] @ heap/2\n",
                  "5: 100000000 [5: 100000000]", "catalog_load@service/catalog.c|main@service/main.c", NULL, NULL);
}

static int setup(void **state)
{
    struct resultdb_run run = {.scenario = "fixture", .scenario_file = "fixture.ini", .label = "test", .params = "{}"};
    (void)state;
    if (tmpdb_make(&tmp, "diagnose-test") < 0)
        return -1;
    db = resultdb_open(tmp.path, false, err, sizeof err);
    if (!db || resultdb_run_begin(db, &run, &run_id, err, sizeof err) < 0)
        return -1;
    memset(&result, 0, sizeof result);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    on_instance = NULL;
    resultdb_close(db);
    return tmpdb_remove(&tmp);
}

/* A fresh run of the fixture's scenario becomes the run under test. */
static void new_run(void)
{
    struct resultdb_run run = {.scenario = "fixture", .scenario_file = "fixture.ini", .label = "test", .params = "{}"};
    assert_int_equal(resultdb_run_begin(db, &run, &run_id, err, sizeof err), 0);
    memset(&result, 0, sizeof result);
}

static void diagnose(void)
{
    if (diagnose_run(db, run_id, &result, err, sizeof err) != 0)
        fail_msg("diagnose: %s", err);
}

static const struct diagnose_finding *finding(const char *class_name)
{
    for (size_t i = 0; i < result.n; i++)
        if (strcmp(result.findings[i].class_name, class_name) == 0)
            return &result.findings[i];
    fail_msg("no %s finding among %zu", class_name, result.n);
    return NULL;
}

static long long count(const char *sql)
{
    return testdb_int_of_run(tmp.path, sql, run_id);
}

static void test_diagnose_healthy_run_finds_no_problem(void **state)
{
    struct shape s = {.queue_from = INFINITY};
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    diagnose();
    assert_int_equal(result.n, 0);
    assert_int_equal(result.dumps, 19);
    assert_int_equal(diagnose_store(db, &result, err, sizeof err), 0);
    assert_int_equal(count("SELECT count(*) FROM diagnoses WHERE run_id = ?1 AND class = 'none' AND culprit IS NULL"), 1);
}

static void test_diagnose_thread_leak_names_the_growing_group(void **state)
{
    struct shape s = {.threads_rate = 20, .threads_from = 5, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], healthy_groups[2], {1 + (int)ramp(20, 5, t), "other", "waiting", WATCHDOG}};
        store_dump(t, g, 3);
    }
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("thread-leak");
    assert_string_equal(f->culprit, "session_watchdog_wait");
    assert_float_equal(f->started_at, 5.0, 0.3);
    assert_non_null(strstr(f->summary, "threads share one stack ending in session_watchdog_wait"));
    assert_non_null(strstr(f->summary, "from t=5."));
    assert_non_null(strstr(f->evidence, "loadlab_proc_threads"));
}

/* A fleet of three read from Prometheus, threads leaking on the second only: the rules
 * run per instance, so the leak is found on that one (not diluted over three, nor
 * blamed on all), with the culprit from that instance's own dumps, and the instance
 * is stored with the finding. The healthy replicas' dumps hold another candidate
 * that must not be blamed. */
static void test_diagnose_fleet_names_the_instance(void **state)
{
    static const char *const fleet[] = {"10.0.0.5:6060", "10.0.0.6:6060", "10.0.0.7:6060"};
    struct shape healthy = {.queue_from = INFINITY}, leaking = {.threads_rate = 20, .threads_from = 5,
                                                                .queue_from = INFINITY};
    struct diagnose_finding stored[DIAGNOSE_MAX_FINDINGS];
    size_t n;
    char out[4096] = "";
    FILE *f;
    (void)state;
    for (int i = 0; i < 3; i++) {
        on_instance = fleet[i];
        store_series(i == 1 ? &leaking : &healthy);
        for (double t = 0.5; t < END; t += 0.5) {
            struct group g[] = {healthy_groups[0], healthy_groups[2],
                                {i == 1 ? 1 + (int)ramp(20, 5, t) : 2, "other", "waiting", i == 1 ? WATCHDOG : PARKED}};
            store_dump(t, g, 3);
        }
    }
    on_instance = NULL;
    diagnose();
    if (result.n != 1)
        fail_msg("%zu findings, the first %s on %s", result.n, result.findings[0].class_name,
                 result.findings[0].instance);
    assert_string_equal(result.findings[0].class_name, "thread-leak");
    assert_string_equal(result.findings[0].culprit, "session_watchdog_wait");
    assert_string_equal(result.findings[0].instance, "10.0.0.6:6060");
    assert_float_equal(result.findings[0].started_at, 5.0, 0.3);
    assert_int_equal(result.dumps, 3 * 19);
    assert_non_null(strstr(result.notes, "fleet of 3 instances"));
    assert_int_equal(diagnose_store(db, &result, err, sizeof err), 0);
    assert_int_equal(count("SELECT count(*) FROM diagnoses WHERE run_id = ?1 AND instance = '10.0.0.6:6060'"), 1);
    assert_int_equal(diagnoses_load(db, run_id, stored, DIAGNOSE_MAX_FINDINGS, &n, NULL, 0, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(stored[0].instance, "10.0.0.6:6060");
    f = fmemopen(out, sizeof out - 1, "w");
    diagnose_print(f, &result);
    fclose(f);
    if (!strstr(out, "thread-leak in session_watchdog_wait on instance 10.0.0.6:6060"))
        fail_msg("printed: %s", out);
}

/* The same problem on every replica is one finding that names them all. */
static void test_diagnose_fleet_same_problem_everywhere_is_one_finding(void **state)
{
    static const char *const fleet[] = {"10.0.0.5:6060", "10.0.0.6:6060"};
    struct shape leaking = {.threads_rate = 20, .threads_from = 5, .queue_from = INFINITY};
    (void)state;
    for (int i = 0; i < 2; i++) {
        on_instance = fleet[i];
        store_series(&leaking);
        for (double t = 0.5; t < END; t += 0.5) {
            struct group g[] = {healthy_groups[0], healthy_groups[2], {1 + (int)ramp(20, 5, t), "other", "waiting", WATCHDOG}};
            store_dump(t, g, 3);
        }
    }
    on_instance = NULL;
    diagnose();
    assert_int_equal(result.n, 1);
    assert_string_equal(result.findings[0].culprit, "session_watchdog_wait");
    assert_string_equal(result.findings[0].instance, "10.0.0.5:6060, 10.0.0.6:6060");
}

static void test_diagnose_memory_leak_names_the_growing_heap_site(void **state)
{
    struct shape s = {.rss_rate = 8e6, .rss_from = 2, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    store_audit_heap(3, "2000: 8192000 [2000: 8192000]");
    store_audit_heap(9, "14000: 57344000 [14000: 57344000]");
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("memory-leak");
    assert_string_equal(f->culprit, "audit_trail_append");
    assert_float_equal(f->started_at, 2.0, 0.3);
    assert_non_null(strstr(f->evidence, "gained 46.9MB"));  /* 49152000 bytes, in binary units */
}

/* Periodic heap profiles (one a second from t=1.5) of header's sampling, with the
 * site fn (stack) holding site(t) bytes and the catalog's 800 KB beside it; with
 * threaded, the site's allocations are made while starting a thread. */
static void store_heap_series(const char *header, const char *stack, double (*site)(double t))
{
    char text[4096];
    for (double t = 1.5; t < END; t += 1.0) {
        long long bytes = (long long)site(t);
        snprintf(text, sizeof text, "%s%lld: %lld [%lld: %lld] @ 0x1000\n", header, bytes / 4096, bytes,
                 bytes / 4096, bytes);
        append_frames(text, sizeof text, stack);
        size_t used = strlen(text);
        snprintf(text + used, sizeof text - used, "\n195: 800000 [195: 800000] @ 0x2000\n");
        append_frames(text, sizeof text, "catalog_load@service/catalog.c|main@service/main.c");
        store(t, EVIDENCE_HEAP, EVIDENCE_PERIODIC, text);
    }
}

#define AUDIT_STACK "audit_trail_append@service/audit.c|api_handle@service/api.c"
#define UNSAMPLED "heap profile: 10: 9000000 [10: 9000000] @ heap/2\n"

/* 150 KB/s from t=4, under the resident set's 0.5 MB/s of ordinary growth */
static double faint_from_4(double t)
{
    return t > 4 ? 150e3 * (t - 4) : 0;
}

/* A leak of 150 KB/s from t=4: resident memory grows 0.5 MB/s anyway (an order store
 * filling), under the rate of a faint climb, and no snapshot's heap profile gained a
 * megabyte; the periodic heap profiles show the site climbing in every step. */
static void test_diagnose_faint_leak_found_climbing_through_heap_profiles(void **state)
{
    struct shape s = {.rss_creep = 0.5e6, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    store_heap_series(UNSAMPLED, AUDIT_STACK, faint_from_4);
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("memory-leak");
    assert_string_equal(f->culprit, "audit_trail_append");
    assert_float_equal(f->started_at, 4.0, 0.6);
    assert_non_null(strstr(f->evidence, "rose in 6 of 8 steps"));
}

/* The same leak on from the start: dated back along its slope to the first scrape. */
static double faint_from_0(double t)
{
    return 150e3 * t;
}

static void test_diagnose_faint_leak_from_the_start_dated_back(void **state)
{
    struct shape s = {.rss_creep = 0.5e6, .queue_from = INFINITY};
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    store_heap_series(UNSAMPLED, AUDIT_STACK, faint_from_0);
    diagnose();
    assert_int_equal(result.n, 1);
    assert_float_equal(finding("memory-leak")->started_at, 0.0, 0.3);
}

/* 400 KB allocated at t=5 and held, and 400 KB more at t=9 (a profiler's buffer, a
 * cache filled): two steps, however large, are not a climb. */
static double two_steps(double t)
{
    return (t > 5 ? 400e3 : 0) + (t > 9 ? 400e3 : 0);
}

/* Orders queued behind slow spells: up, and down again. */
static double up_and_down(double t)
{
    static const double v[] = {200e3, 500e3, 900e3, 900e3, 1000e3, 600e3, 500e3, 950e3, 1100e3};
    return v[(size_t)(t - 1.5) % 9];
}

/* A cache warming up, in many steps, that stopped growing at t=6. */
static double warm_up(double t)
{
    return 200e3 * fmin(t, 6.0);
}

/* One 4 KB block sampled every 3 s in a profile of 512 KiB a sample: a steady climb of
 * three samples' worth (1.5 MB), which sampling noise can make. */
static double coarse(double t)
{
    return 4096 * floor(t / 3);
}

static void test_diagnose_heap_growth_that_is_no_leak(void **state)
{
    static double (*const shapes[])(double) = {two_steps, up_and_down, warm_up};
    (void)state;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        struct shape s = {.rss_creep = 0.5e6, .queue_from = INFINITY};
        new_run();
        store_series(&s);
        store_healthy_dumps();
        store_heap_series(UNSAMPLED, AUDIT_STACK, shapes[i]);
        diagnose();
        if (result.n)
            fail_msg("shape %zu: %s in %s", i, result.findings[0].class_name, result.findings[0].culprit);
    }
    /* too few samples for the climb to be told from sampling noise */
    struct shape s = {.rss_creep = 0.5e6, .queue_from = INFINITY};
    new_run();
    store_series(&s);
    store_healthy_dumps();
    store_heap_series("heap profile: 10: 9000000 [10: 9000000] @ heap/1048576\n", AUDIT_STACK, coarse);
    diagnose();
    assert_int_equal(result.n, 0);
    /* the same climb under thread creation is the threads' (their TLS), not a leak */
    new_run();
    store_series(&s);
    store_healthy_dumps();
    store_heap_series(UNSAMPLED, "_dl_allocate_tls@./elf/dl-tls.c|pthread_create@./nptl/pthread_create.c|"
                      "threads_spawn@service/threads.c|leak_threads_on_request@service/leak.c", faint_from_0);
    diagnose();
    assert_int_equal(result.n, 0);
    /* and with resident memory flat, the bytes are not there to leak */
    struct shape flat = {.queue_from = INFINITY};
    new_run();
    store_series(&flat);
    store_healthy_dumps();
    store_heap_series(UNSAMPLED, AUDIT_STACK, faint_from_0);
    diagnose();
    assert_int_equal(result.n, 0);
    /* a queue filling from t=4 holds what its jobs' requests allocated */
    struct shape filling = {.rss_creep = 0.5e6, .queue_from = 4, .queue_to = INFINITY};
    new_run();
    store_series(&filling);
    store_healthy_dumps();
    store_heap_series(UNSAMPLED, "order_create@service/api.c|api_handle@service/api.c", faint_from_4);
    diagnose();
    for (size_t i = 0; i < result.n; i++)
        if (strcmp(result.findings[i].class_name, "memory-leak") == 0)
            fail_msg("a filling queue's jobs taken for a leak: %s", result.findings[i].summary);
}

/* Threads leak 10 a second from t=2, each handed a block by the function that starts
 * them: that block climbs with them, and is the thread leak's, not a leak of its own. */
static void test_diagnose_heap_climb_beside_a_thread_leak_is_the_threads(void **state)
{
    struct shape s = {.threads_rate = 10, .threads_from = 2, .rss_creep = 0.5e6, .queue_from = INFINITY};
    (void)state;
    store_series(&s);
    store_leaking_thread_dumps(10, 2);
    store_heap_series(UNSAMPLED, "leak_threads_on_order@service/leak.c|api_handle@service/api.c", faint_from_4);
    diagnose();
    assert_int_equal(result.n, 1);
    assert_non_null(finding("thread-leak"));
}

/* When the memory leak of shape s, beside audit_trail_append's heap at t=3 and t=9
 * (at3, at9), is dated to begin: the one finding, with that culprit. */
static double audit_leak_start(const struct shape *s, const char *at3, const char *at9)
{
    const struct diagnose_finding *f;
    store_series(s);
    store_healthy_dumps();
    store_audit_heap(3, at3);
    store_audit_heap(9, at9);
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("memory-leak");
    assert_string_equal(f->culprit, "audit_trail_append");
    return f->started_at;
}

/* A bounded store fills at 1.3 MB/s from start-up (past the 1 MB/s a climb needs),
 * and a leak of 40 MB/s joins it at t=5: one climb from t=1, but the leak began where
 * it turned steep. */
static void test_diagnose_memory_leak_dated_where_a_slow_climb_turned_steep(void **state)
{
    struct shape s = {.rss_rate = 40e6, .rss_from = 5, .rss_creep = 1.3e6, .queue_from = INFINITY};
    (void)state;
    assert_float_equal(audit_leak_start(&s, "2: 8192 [2: 8192]", "40000: 163840000 [40000: 163840000]"), 5.0, 0.3);
}

/* A leak climbs at 0.8 MB/s from start-up, under the 1 MB/s a climb needs, and at
 * 1.6 MB/s from t=5 (more requests leak): found from t=5, but under way without a break
 * at half that rate since t=1. */
static void test_diagnose_memory_leak_dated_from_where_its_climb_began(void **state)
{
    struct shape s = {.rss_rate = 0.8e6, .rss_from = 5, .rss_creep = 0.8e6, .queue_from = INFINITY};
    (void)state;
    assert_true(audit_leak_start(&s, "500: 2048000 [500: 2048000]", "2600: 10649600 [2600: 10649600]") <= 1.5);
}

/* The slow climb alone, at 1.3 MB/s with a heap site that grew with it, dates from
 * its own start: steepness moves a start only when a climb turned ten times steeper. */
static void test_diagnose_memory_leak_of_one_slope_dated_from_its_start(void **state)
{
    struct shape s = {.rss_creep = 1.3e6, .queue_from = INFINITY};
    (void)state;
    assert_true(audit_leak_start(&s, "600: 2457600 [600: 2457600]", "2500: 10240000 [2500: 10240000]") <= 1.5);
}

/* A leak at its 250 MB cap before the first heap profile; beside it, connection
 * buffers grow 4.9 MB while resident memory climbs 1.4 MB/s. The site that holds the
 * level is the leak, the grower a line of its finding. */
static void test_diagnose_level_holder_is_the_leak_beside_a_small_grower(void **state)
{
    struct shape s = {.rss_rate = 1e9, .rss_from = 0.1, .rss_cap = 250e6, .rss_creep = 1.4e6, .queue_from = INFINITY};
    const char *header = "heap profile: 10: 255000000 [10: 255000000] @ heap/2\n";
    const char *holder = "audit_trail_append@service/audit.c|api_handle@service/api.c";
    const char *grower = "conn_buffers_grow@service/conn.c|on_read@service/conn.c";
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    store_profile(3, EVIDENCE_HEAP, header, "5: 250000000 [5: 250000000]", holder, "2: 100000 [2: 100000]", grower);
    store_profile(9, EVIDENCE_HEAP, header, "5: 250000000 [5: 250000000]", holder, "50: 5000000 [50: 5000000]", grower);
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("memory-leak");
    assert_string_equal(f->culprit, "audit_trail_append");
    assert_true(f->started_at < 1.0);
    assert_non_null(strstr(f->evidence, "beside it conn_buffers_grow gained 4.7MB"));
}

/* A leak restarted at t=6: memory climbs from t=2, drops to a new process's start-up
 * at the restart and climbs again. Across the restart the climb is cut in two and a
 * heap profile of the new process holds less than one of the old: read as one series,
 * no problem. Read in segments, the leak is found from where it began, and again
 * after the restart. */
static void check_memory_leak_across_a_restart(bool recorded)
{
    struct shape s = {.rss_rate = 8e6, .rss_from = 2, .queue_from = INFINITY, .restart_at = 6, .start_time = true};
    const struct diagnose_finding *f;
    store_series(&s);
    store_healthy_dumps();
    if (recorded)
        assert_int_equal(resultdb_restart(db, run_id, 6.0, 6.0, err, sizeof err), 0);
    store_audit_heap(3, "2000: 8192000 [2000: 8192000]");
    store_audit_heap(5.5, "8000: 32768000 [8000: 32768000]");
    store_audit_heap(9.5, "6000: 24576000 [6000: 24576000]");
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("memory-leak");
    assert_string_equal(f->culprit, "audit_trail_append");
    assert_float_equal(f->started_at, 2.0, 0.3);
    assert_non_null(strstr(f->evidence, "gained 23.4MB since the heap profile at t=3.00s"));
    assert_non_null(strstr(f->evidence, "again after the restart at t=6.0s: "));
    assert_non_null(strstr(result.notes, "the service was restarted at t=6.0s"));
}

static void test_diagnose_memory_leak_across_a_restart(void **state)
{
    (void)state;
    check_memory_leak_across_a_restart(true);
}

/* The same restart, not recorded (a run from before restarts were, or a service
 * restarted by something else): the process's start time changing says where. */
static void test_diagnose_memory_leak_across_a_restart_seen_in_the_start_time(void **state)
{
    (void)state;
    check_memory_leak_across_a_restart(false);
}

/* Evidence taken only before the restart (as in a drill, where the trainee restarts
 * after looking): the part after it has none, yet the run has, and the notes must not
 * say that no evidence was captured beside a finding that names its culprit. */
static void test_diagnose_restart_with_evidence_before_it_only(void **state)
{
    struct shape s = {.rss_rate = 8e6, .rss_from = 2, .queue_from = INFINITY, .restart_at = 6, .start_time = true};
    (void)state;
    store_series(&s);
    store_healthy_dumps_until(6);
    assert_int_equal(resultdb_restart(db, run_id, 6.0, 6.0, err, sizeof err), 0);
    store_audit_heap(3, "2000: 8192000 [2000: 8192000]");
    store_audit_heap(5.5, "8000: 32768000 [8000: 32768000]");
    diagnose();
    assert_int_equal(result.n, 1);
    assert_string_equal(finding("memory-leak")->culprit, "audit_trail_append");
    assert_non_null(strstr(result.notes, "the service was restarted at t=6.0s"));
    assert_null(strstr(result.notes, "no evidence was captured"));
}

/* A leak that starts only after a restart is found there, and says so. */
static void test_diagnose_memory_leak_after_a_restart_only(void **state)
{
    struct shape s = {.rss_rate = 8e6, .rss_from = 6.5, .queue_from = INFINITY, .restart_at = 5};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    assert_int_equal(resultdb_restart(db, run_id, 4.9, 5.0, err, sizeof err), 0);
    store_audit_heap(7, "1000: 4096000 [1000: 4096000]");
    store_audit_heap(9.5, "6000: 24576000 [6000: 24576000]");
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("memory-leak");
    assert_string_equal(f->culprit, "audit_trail_append");
    assert_float_equal(f->started_at, 6.5, 0.3);
    assert_non_null(strstr(f->evidence, "found after the service's restart at t=4.9s"));
}

/* Counters start again from 0 at a restart and memory from a new process's start-up:
 * a healthy run restarted, with the restart recorded or not (a counter that drops has
 * been reset, as Prometheus' rate() reads it), has no problem: no negative or huge
 * rate, no climb out of the start-up. */
static void test_diagnose_healthy_run_with_counters_reset_finds_no_problem(void **state)
{
    struct shape s = {.queue_from = INFINITY, .restart_at = 5, .cpu_ticks = true};
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    diagnose();
    assert_int_equal(result.n, 0);
    assert_null(strstr(result.notes, "restarted"));
    assert_int_equal(resultdb_restart(db, run_id, 4.9, 5.0, err, sizeof err), 0);
    diagnose();
    assert_int_equal(result.n, 0);
    assert_non_null(strstr(result.notes, "the service was restarted at t=4.9s: each of the run's 2 parts"));
}

static void test_diagnose_thread_stacks_growing_memory_is_no_memory_leak(void **state)
{
    /* Leaked threads touch their stacks: memory climbs, but no heap site does. */
    struct shape s = {.threads_rate = 60, .threads_from = 1, .rss_rate = 1.5e6, .rss_from = 1, .queue_from = INFINITY};
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], healthy_groups[2], {1 + (int)ramp(60, 1, t), "fault", "waiting", WATCHDOG}};
        store_dump(t, g, 3);
    }
    store_profile(9, EVIDENCE_HEAP, "heap profile: 1: 800000 [1: 800000] @ heap/2\n", "5: 800000 [5: 800000]",
                  "catalog_load@service/catalog.c|main@service/main.c", NULL, NULL);
    diagnose();
    assert_int_equal(result.n, 1);
    assert_string_equal(result.findings[0].class_name, "thread-leak");
}

/* A whole-process heap profile shows ordinary growth too: here a connection site gains
 * 1.5 MB while resident memory climbs 16 MB for reasons no site explains. That site is
 * not what leaks, and without one there is no memory leak to name. */
static void test_diagnose_a_site_with_a_small_part_of_the_climb_is_no_memory_leak(void **state)
{
    struct shape s = {.rss_rate = 2e6, .rss_from = 2, .queue_from = INFINITY};
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    store_profile(2, EVIDENCE_HEAP, "heap profile: 10: 9000000 [10: 9000000] @ heap/2\n",
                  "20: 500000 [20: 500000]", "httpserver_conn_open@service/httpserver_conn.c|main@service/main.c",
                  "5: 800000 [5: 800000]", "catalog_load@service/catalog.c|main@service/main.c");
    store_profile(9, EVIDENCE_HEAP, "heap profile: 10: 9000000 [10: 9000000] @ heap/2\n",
                  "80: 2000000 [80: 2000000]", "httpserver_conn_open@service/httpserver_conn.c|main@service/main.c",
                  "5: 800000 [5: 800000]", "catalog_load@service/catalog.c|main@service/main.c");
    diagnose();
    for (size_t i = 0; i < result.n; i++)
        assert_string_not_equal(result.findings[i].class_name, "memory-leak");
}

static void test_diagnose_lock_contention_from_the_mutex_profile(void **state)
{
    struct shape s = {.lock_wait = 0.5, .lock_from = 0, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    store_profile(9, EVIDENCE_MUTEX, "--- mutex:\ncycles/second=1000000000\nsampling period=10\n", "424371105 983",
                  "cache_get_global@service/catalog.c|catalog_get@service/catalog.c|product_get@service/api.c",
                  "4685116 25", "queue_try_push@service/queue.c|order_create@service/api.c");
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("lock-contention");
    assert_string_equal(f->culprit, "cache_get_global");
    assert_float_equal(f->started_at, 0.0, 0.3);
    assert_non_null(strstr(f->evidence, "lock=\"cache_global\""));
    assert_non_null(strstr(f->evidence, "99% of the sampled contention is in cache_get_global"));
}

static void test_diagnose_lock_contention_from_dumps_alone(void **state)
{
    struct shape s = {.lock_wait = 0.3, .lock_from = 3, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], {1, "io", "running", t > 3 ? LOCK_WAITING_IO : IDLE_IO},
                            {1, "io", "running", IDLE_IO}};
        store_dump(t, g, 3);
    }
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("lock-contention");
    assert_string_equal(f->culprit, "cache_get_global");
    assert_float_equal(f->started_at, 3.0, 0.3);
    assert_non_null(strstr(f->evidence, "waiting for a mutex in cache_get_global"));
}

/* Dumps every half second: busy workers stalled in ledger_sync_wait from `from` to
 * `to`, a healthy service otherwise. */
static void store_stalled_dumps(double from, double to)
{
    struct group stalled[] = {{4, "worker", "waiting", STALLED_WORKER}, {2, "io", "running", IDLE_IO}};
    for (double t = 0.5; t < END; t += 0.5) {
        if (t >= from && t <= to)
            store_dump(t, stalled, 2);
        else
            store_dump(t, healthy_groups, 3);
    }
}

static void test_diagnose_queue_full_names_where_the_workers_are(void **state)
{
    struct shape s = {.queue_from = 4, .queue_to = 8, .rejected_rate = 300};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    store_stalled_dumps(4, 8);
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("queue-full");
    assert_string_equal(f->culprit, "ledger_sync_wait");
    assert_float_equal(f->started_at, 4.0, 0.3);
    assert_non_null(strstr(f->evidence, "orderd_queue_rejected_total"));
}

/* The queue is full and work turned away from t=1 while the workers do their ordinary
 * work (too few for the load); from stall_at they are caught stalled in
 * ledger_sync_wait. Diagnosed: nfindings of them, the queue-full in ledger_sync_wait
 * returned. */
static const struct diagnose_finding *stall_after_overload(double stall_at, size_t nfindings)
{
    struct shape s = {.queue_from = 1, .queue_to = END, .rejected_rate = 300};
    const struct diagnose_finding *f;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group paying[] = {{4, "worker", "waiting", PAYING_WORKER}, {2, "io", "running", IDLE_IO}};
        struct group stalled[] = {{4, "worker", "waiting", STALLED_WORKER}, {2, "io", "running", IDLE_IO}};
        store_dump(t, t >= stall_at ? stalled : paying, 2);
    }
    diagnose();
    assert_int_equal(result.n, nfindings);
    f = finding("queue-full");
    assert_string_equal(f->culprit, "ledger_sync_wait");
    return f;
}

static void test_diagnose_overload_then_a_stall_is_both_from_their_starts(void **state)
{
    const struct diagnose_finding *f;
    (void)state;
    f = stall_after_overload(5, 2);
    assert_float_equal(f->started_at, 5.0, 0.01);
    assert_non_null(strstr(f->evidence, "100% of busy-worker samples were waiting"));
    f = finding("overload");
    assert_string_equal(f->culprit, "");
    assert_float_equal(f->started_at, 1.0, 0.3);
    assert_non_null(strstr(f->evidence, "doing their ordinary work in charge_customer"));
}

static void test_diagnose_stall_soon_after_the_queue_filled_is_one_finding(void **state)
{
    /* Stalled workers caught one second after the queue filled: too soon to say the
     * workers were ever merely too few - one queue-full, from when it filled. */
    (void)state;
    assert_float_equal(stall_after_overload(2, 1)->started_at, 1.0, 0.3);
}

static void test_diagnose_queue_full_dated_from_the_stall_that_filled_it(void **state)
{
    /* Workers stall from t=3 and the queue takes until t=6 to fill: the stall is the
     * start, seen in the dumps while the queue filled. */
    struct shape s = {.queue_from = 6, .queue_to = END, .rejected_rate = 300};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    store_stalled_dumps(3, END);
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("queue-full");
    assert_string_equal(f->culprit, "ledger_sync_wait");
    assert_float_equal(f->started_at, 3.0, 0.01);
    assert_non_null(strstr(f->evidence, "caught waiting in ledger_sync_wait from t=3.0s, while the queue filled"));
}

static void test_diagnose_busy_queue_that_only_works_is_no_fault(void **state)
{
    /* At capacity, nothing turned away, workers busy with their ordinary work: a
     * capacity question, not a fault to name. */
    struct shape s = {.queue_from = 1, .queue_to = 9, .rejected_rate = 0};
    struct group busy[] = {{4, "worker", "waiting", PAYING_WORKER}, {2, "io", "running", IDLE_IO}};
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5)
        store_dump(t, busy, 2);
    diagnose();
    assert_int_equal(result.n, 0);
}

static void test_diagnose_blocked_producer_names_where_io_threads_wait(void **state)
{
    struct shape s = {.queue_from = 0.5, .queue_to = 10, .push_block = 1.9};
    struct group blocked[] = {{2, "worker", "waiting", PAYING_WORKER}, {2, "io", "waiting", BLOCKED_IO}};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5)
        store_dump(t, blocked, 2);
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("blocked-producer");
    assert_string_equal(f->culprit, "queue_push_blocking");
    assert_float_equal(f->confidence, 1.0, 1e-9);
    assert_non_null(strstr(f->evidence, "orderd_block_seconds_total{site=\"queue_push_blocking\"}"));
}

static void test_diagnose_cpu_slowdown_names_what_runs_on_io_threads(void **state)
{
    struct shape s = {.cpu_per_request = 0.003, .cpu_from = 5, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], {1, "io", "running", t > 5 ? BURNING_IO : IDLE_IO},
                            {1, "io", "running", fmod(t, 1.5) == 0 ? WRITING_IO : IDLE_IO}};
        store_dump(t, g, 3);
    }
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("cpu-slowdown");
    assert_string_equal(f->culprit, "price_recompute");
    assert_float_equal(f->started_at, 5.0, 0.3);
}

static void test_diagnose_two_faults_at_once(void **state)
{
    struct shape s = {.lock_wait = 0.4, .lock_from = 0, .threads_rate = 15, .threads_from = 4, .queue_from = INFINITY};
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], {1, "io", "running", LOCK_WAITING_IO}, {1, "io", "running", IDLE_IO},
                            {1 + (int)ramp(15, 4, t), "fault", "waiting", WATCHDOG}};
        store_dump(t, g, 4);
    }
    diagnose();
    assert_int_equal(result.n, 2);
    /* In order of when they started. */
    assert_string_equal(result.findings[0].class_name, "lock-contention");
    assert_string_equal(result.findings[0].culprit, "cache_get_global");
    assert_string_equal(result.findings[1].class_name, "thread-leak");
    assert_string_equal(result.findings[1].culprit, "session_watchdog_wait");
    assert_float_equal(result.findings[1].started_at, 4.0, 0.3);
    assert_int_equal(diagnose_store(db, &result, err, sizeof err), 0);
    assert_int_equal(count("SELECT count(*) FROM diagnoses WHERE run_id = ?1 AND class <> 'none'"), 2);
}

static void test_diagnose_without_evidence_names_the_class_only(void **state)
{
    struct shape s = {.threads_rate = 10, .threads_from = 2, .queue_from = INFINITY};
    (void)state;
    store_series(&s);
    testdb_exec(tmp.path, "DELETE FROM evidence");
    diagnose();
    assert_int_equal(result.n, 1);
    assert_string_equal(result.findings[0].class_name, "thread-leak");
    assert_string_equal(result.findings[0].culprit, "");
    assert_true(result.findings[0].confidence < 0.6);
    assert_non_null(strstr(result.notes, "no evidence was captured"));
}

static void test_diagnose_store_replaces_the_previous_verdict(void **state)
{
    struct shape s = {.queue_from = INFINITY};
    char *text = NULL;
    size_t len = 0;
    FILE *out;
    (void)state;
    store_series(&s);
    diagnose();
    assert_int_equal(diagnose_store(db, &result, err, sizeof err), 0);
    assert_int_equal(diagnose_store(db, &result, err, sizeof err), 0);
    assert_int_equal(count("SELECT count(*) FROM diagnoses WHERE run_id = ?1"), 1);
    out = open_memstream(&text, &len);
    assert_int_equal(diagnose_print_stored(db, run_id, out, err, sizeof err), 0);
    fclose(out);
    assert_non_null(strstr(text, "no problem found"));
    free(text);
}

static void test_diagnose_unknown_run_and_corrupt_evidence(void **state)
{
    struct shape s = {.queue_from = INFINITY};
    (void)state;
    assert_int_equal(diagnose_run(db, run_id + 41, &result, err, sizeof err), 1);
    assert_non_null(strstr(err, "no run"));
    store_series(&s);
    store(2, EVIDENCE_THREADS, "periodic", "threads profile: total 1\n1 2 3 @ 0x1\n");
    assert_int_equal(diagnose_run(db, run_id, &result, err, sizeof err), -1);
    assert_non_null(strstr(err, "threads at t=2.00s"));
    assert_non_null(strstr(err, "line 2"));
}

static void test_diagnose_full_queue_does_not_hide_thread_growth(void **state)
{
    /* Two workers under closed-loop orders: the queue is full and orders are turned
     * away (overload), and threads climb 400/s from t=1 to a cap of 2,000. Both are
     * problems, and both are reported. */
    struct shape s = {.queue_from = 0.5, .queue_to = 10, .rejected_rate = 400, .threads_rate = 400, .threads_from = 1,
                      .threads_cap = 2000};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {{2, "worker", "waiting", PAYING_WORKER}, {2, "io", "running", IDLE_IO},
                            {1 + (int)capped(ramp(400, 1, t), 2000), "other", "waiting", PARKED}};
        store_dump(t, g, 3);
    }
    diagnose();
    assert_int_equal(result.n, 2);
    f = finding("thread-leak");
    assert_string_equal(f->culprit, "notifier_park");
    assert_float_equal(f->started_at, 1.0, 0.3);
    f = finding("overload");
    assert_string_equal(f->culprit, "");
    assert_non_null(strstr(f->evidence, "offered"));
}

static void test_diagnose_overload_blames_no_healthy_function(void **state)
{
    /* The queue is full and orders are turned away while the workers do their
     * ordinary work (asleep in the payment call): capacity, not a faulty function. */
    struct shape s = {.queue_from = 2, .queue_to = 10, .rejected_rate = 430};
    struct group busy[] = {{4, "worker", "waiting", PAYING_WORKER}, {2, "io", "running", IDLE_IO}};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5)
        store_dump(t, busy, 2);
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("overload");
    assert_string_equal(f->culprit, "");
    assert_null(strstr(f->summary, "charge_customer"));
    assert_non_null(strstr(f->evidence, "workers busy in 100% of worker samples"));
}

static void test_diagnose_stale_idle_labels_do_not_make_overload_a_fault(void **state)
{
    /* A healthy service turning work away from t=2 on a loaded machine: a quarter of
     * the workers labelled busy are caught in queue_pop, waiting for work - the label
     * read a moment before the stack. They are idle, not blocked: overload. */
    struct shape s = {.queue_from = 2, .queue_to = END, .rejected_rate = 200};
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {{6, "worker", "idle", IDLE_WORKER}, {3, "worker", "waiting", IDLE_WORKER},
                            {8, "worker", "waiting", PAYING_WORKER}, {2, "io", "running", IDLE_IO}};
        store_dump(t, g, 4);
    }
    diagnose();
    assert_int_equal(result.n, 1);
    assert_string_equal(finding("overload")->culprit, "");
}

static void test_diagnose_queue_episode_rides_out_integer_noise(void **state)
{
    /* A queue of 16 at 16,16,14,16,16,15,13... from t=2 while orders are turned away,
     * workers stuck on a condition from then: one episode from t=2, not one from the
     * last dip. */
    struct shape s = {.queue_from = 2, .queue_to = 9, .rejected_rate = 430, .small_queue = true};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    store_stalled_dumps(2, END);
    diagnose();
    f = finding("queue-full");
    assert_string_equal(f->culprit, "ledger_sync_wait");
    assert_float_equal(f->started_at, 2.0, 0.3);
}

static void test_diagnose_idle_workers_waiting_for_work_are_no_contention(void **state)
{
    /* Many idle workers queue for the job queue's lock to find no work: 0.5 s/s of
     * lock wait, all of it in queue_pop by workers labelled idle. */
    struct shape s = {.queue_from = INFINITY, .queue_lock_wait = 0.5, .queue_contentions = 500};
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {{20, "worker", "idle", IDLE_WORKER}, {12, "worker", "idle", IDLE_WORKER_LOCKING},
                            {2, "io", "running", IDLE_IO}};
        store_dump(t, g, 3);
    }
    store_profile(9, EVIDENCE_MUTEX, "--- mutex:\ncycles/second=1000000000\nsampling period=10\n", "424371105 983",
                  "queue_pop@service/queue.c|worker_main@service/workers.c", NULL, NULL);
    diagnose();
    assert_int_equal(result.n, 0);
}

static void test_diagnose_contention_beside_idle_workers_names_the_real_lock(void **state)
{
    /* The same idle workers, and io threads queueing for the catalog lock from t=3. */
    struct shape s = {.queue_from = INFINITY, .queue_lock_wait = 0.5, .queue_contentions = 500, .lock_wait = 0.3,
                      .lock_from = 3};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {{20, "worker", "idle", IDLE_WORKER}, {12, "worker", "idle", IDLE_WORKER_LOCKING},
                            {2, "io", "running", t > 3 ? LOCK_WAITING_IO : IDLE_IO}};
        store_dump(t, g, 3);
    }
    store_profile(9, EVIDENCE_MUTEX, "--- mutex:\ncycles/second=1000000000\nsampling period=10\n", "424371105 983",
                  "queue_pop@service/queue.c|worker_main@service/workers.c", "224371105 500",
                  "cache_get_global@service/catalog.c|catalog_get@service/catalog.c");
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("lock-contention");
    assert_string_equal(f->culprit, "cache_get_global");
    assert_float_equal(f->started_at, 3.0, 0.3);
    assert_non_null(strstr(f->evidence, "set aside"));
}

/* A busy healthy service: io threads queue for the job queue's lock to push (200
 * contentions a second, 0.13 s/s of wait), idle workers wait for work, and the mutex
 * profile charges what little it holds to the queue's own push. */
static void store_queue_handoff(const char *holder_count, const char *holder, bool caught)
{
    struct shape s = {.queue_from = INFINITY, .queue_lock_wait = 0.13, .queue_contentions = 200};
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {{14, "worker", "idle", IDLE_WORKER}, {1, "worker", "waiting", PAYING_WORKER},
                            {1, "io", "running", caught && fmod(t, 1.0) == 0 ? QUEUE_LOCKING_IO : IDLE_IO},
                            {1, "io", "running", IDLE_IO}};
        store_dump(t, g, 4);
    }
    store_profile(9, EVIDENCE_MUTEX, "--- mutex:\ncycles/second=1000000000\nsampling period=10\n", "300000 3",
                  "queue_try_push@service/queue.c|order_create@service/api.c", holder_count, holder);
}

static void test_diagnose_producers_at_a_queue_that_keeps_up_are_no_contention(void **state)
{
    (void)state;
    store_queue_handoff(NULL, NULL, true);
    diagnose();
    assert_int_equal(result.n, 0);
}

static void test_diagnose_queue_handoff_seen_in_the_mutex_profile_alone(void **state)
{
    /* The dumps caught no waiter; the mutex profile charges the wait to the push. */
    (void)state;
    store_queue_handoff(NULL, NULL, false);
    diagnose();
    assert_int_equal(result.n, 0);
}

static void test_diagnose_producers_at_a_full_queue_are_no_contention(void **state)
{
    /* The queue fills from t=3 and turns work away: io threads queue at its mutex
     * behind each other's push (0.6 s/s of wait), and the mutex profile charges it all
     * to the queue's own push and pop. The queue's overload, not a lock held too long. */
    struct shape s = {.queue_from = 3, .queue_to = END, .rejected_rate = 300, .queue_lock_wait = 0.6,
                      .queue_contentions = 800};
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {{2, "worker", "idle", IDLE_WORKER}, {2, "worker", "waiting", PAYING_WORKER},
                            {1, "io", "waiting", t > 3 ? QUEUE_LOCKING_IO : IDLE_IO}, {1, "io", "running", IDLE_IO}};
        store_dump(t, g, 4);
    }
    store_profile(9, EVIDENCE_MUTEX, "--- mutex:\ncycles/second=1000000000\nsampling period=10\n", "6708190 27",
                  "queue_try_push@service/queue.c|order_create@service/api.c", "3226970 36",
                  "queue_pop@service/queue.c|worker_main@service/workers.c");
    diagnose();
    for (size_t i = 0; i < result.n; i++)
        assert_string_not_equal(result.findings[i].class_name, "lock-contention");
    assert_true(result.n >= 1);  /* the full queue itself is a finding */
}

/* The catalog lock held too long under two connections from t=3: 0.03 s/s of wait,
 * under the 0.05 of the ordinary level, 2,000 contentions a second. Thirty idle workers
 * queue for the job queue's lock meanwhile, more of them caught waiting for a mutex
 * than the io threads waiting in cache_get_global. */
static void store_faint_lock(bool named)
{
    struct shape s = {.queue_from = INFINITY, .lock_wait = 0.03, .lock_from = 3};
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        bool caught = named && t > 3 && fmod(t, 2.0) == 0;
        struct group g[] = {{20, "worker", "idle", IDLE_WORKER}, {10, "worker", "idle", IDLE_WORKER_LOCKING},
                            {1, "io", caught ? "waiting" : "running", caught ? LOCK_WAITING_IO : IDLE_IO},
                            {1, "io", "running", IDLE_IO}};
        store_dump(t, g, 4);
    }
    if (named)
        store_profile(9, EVIDENCE_MUTEX, "--- mutex:\ncycles/second=1000000000\nsampling period=10\n", "16355867 400",
                      "cache_get_global@service/catalog.c|catalog_get@service/catalog.c", "7295 3",
                      "queue_pop@service/queue.c|worker_main@service/workers.c");
}

static void test_diagnose_faint_lock_under_few_connections_is_contention(void **state)
{
    const struct diagnose_finding *f;
    (void)state;
    store_faint_lock(true);
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("lock-contention");
    assert_string_equal(f->culprit, "cache_get_global");
    assert_float_equal(f->started_at, 3.0, 0.6);
}

static void test_diagnose_faint_lock_wait_naming_no_function_is_no_finding(void **state)
{
    /* The same faint wait, with no mutex profile and no thread caught waiting in it. */
    (void)state;
    store_faint_lock(false);
    diagnose();
    assert_int_equal(result.n, 0);
}

/* cache_global waits 0.008 s/s from t=3, found taken 40 times a second: 200 us each
 * time, half the faint level in all (a lock held 200 us under two connections, or
 * beside a fault that cut the request rate). The job queue's lock waits queue_us each
 * time, found taken queue_times a second. The mutex profile names cache_get_global. */
static void store_lock_held_long(double queue_us, double queue_times)
{
    struct shape s = {.queue_from = INFINITY, .lock_wait = 0.008, .lock_from = 3, .lock_contentions = 40,
                      .queue_contentions = queue_times, .queue_lock_wait = queue_us * 1e-6 * queue_times};
    store_series(&s);
    store_healthy_dumps();
    store_profile(9, EVIDENCE_MUTEX, "--- mutex:\ncycles/second=1000000000\nsampling period=10\n", "4000000 20",
                  "cache_get_global@service/catalog.c|catalog_get@service/catalog.c", "7295 3",
                  "queue_pop@service/queue.c|worker_main@service/workers.c");
}

static void test_diagnose_lock_held_long_each_time_at_a_low_rate_is_contention(void **state)
{
    const struct diagnose_finding *f;
    (void)state;
    store_lock_held_long(5, 10);
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("lock-contention");
    assert_string_equal(f->culprit, "cache_get_global");
    assert_float_equal(f->started_at, 3.0, 1.1);
    assert_non_null(strstr(f->evidence, "each time it was found taken"));
}

static void test_diagnose_lock_waiting_as_long_as_the_queue_is_the_schedulers_delay(void **state)
{
    /* The job queue's lock, held for microseconds, waits over 300 us each time, found
     * taken 30 times a second: waking the waiters and running the holders is what takes
     * that long, on any lock (a healthy run of 64 workers under 128 connections). */
    (void)state;
    store_lock_held_long(300, 30);
    diagnose();
    for (size_t i = 0; i < result.n; i++)
        assert_string_not_equal(result.findings[i].class_name, "lock-contention");
}

static void test_diagnose_faint_wait_at_the_queue_of_an_overloaded_service_is_no_contention(void **state)
{
    /* Every worker busy at its payment call (none idle, so no idle wait shows where the
     * queue's code is), the queue full from the start and turning work away, and the io
     * threads queueing at its lock behind each other's push: 0.02 s/s, only the faint
     * level, and the mutex profile charges 63% of it to queue_try_push. The overload is
     * the finding; the queue's own handoff is not a lock held too long. */
    struct shape s = {.queue_from = 0.5, .queue_to = END, .rejected_rate = 300, .queue_lock_wait = 0.02,
                      .queue_contentions = 100};
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {{8, "worker", "waiting", PAYING_WORKER}, {1, "io", "running", IDLE_IO},
                            {1, "io", "running", IDLE_IO}};
        store_dump(t, g, 3);
    }
    store_profile(9, EVIDENCE_MUTEX, "--- mutex:\ncycles/second=1000000000\nsampling period=10\n", "2000000 19",
                  "queue_try_push@service/queue.c|order_create@service/api.c", "1170000 11",
                  "order_store_add@service/orders.c|order_create@service/api.c");
    diagnose();
    for (size_t i = 0; i < result.n; i++)
        assert_string_not_equal(result.findings[i].class_name, "lock-contention");
}

static void test_diagnose_queue_full_behind_a_contended_lock_is_that_lock(void **state)
{
    /* The catalog lock held too long from t=3: the workers wait for it, serve 20 jobs
     * a second instead of 200, and the queue fills and turns work away from t=4. One
     * problem, the lock; the full queue is said in its finding, not as a second one
     * with no culprit. */
    struct shape s = {.lock_wait = 1.5, .lock_from = 3, .queue_from = 4, .queue_to = END, .rejected_rate = 200,
                      .served_drops = true};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {{t > 3 ? 1 : 3, "worker", t > 3 ? "running" : "idle",
                             t > 3 ? LOCK_WAITING_WORKER : IDLE_WORKER},
                            {1, "worker", "waiting", PAYING_WORKER},
                            {1, "io", t > 3 ? "waiting" : "running", t > 3 ? LOCK_WAITING_IO : IDLE_IO},
                            {1, "io", "running", IDLE_IO}};
        store_dump(t, g, 4);
    }
    store_profile(9, EVIDENCE_MUTEX, "--- mutex:\ncycles/second=1000000000\nsampling period=10\n", "468000000 2000",
                  "cache_get_global@service/catalog.c|catalog_get@service/catalog.c", NULL, NULL);
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("lock-contention");
    assert_string_equal(f->culprit, "cache_get_global");
    assert_non_null(strstr(f->evidence, "turned away"));
}

static void test_diagnose_handoff_beside_workers_taking_their_own_lock_back(void **state)
{
    /* The busy handoff of many connections, and stalled workers caught taking their
     * own lock back after a wait, more often than the producers at the queue: the
     * dumps do not say which lock; the mutex profile charges nearly all contention to
     * the queue's push and pop. */
    struct shape s = {.queue_from = INFINITY, .queue_lock_wait = 0.13, .queue_contentions = 200};
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {{14, "worker", "idle", IDLE_WORKER}, {2, "worker", "waiting", STALLED_RELOCKING},
                            {1, "io", "running", fmod(t, 1.0) == 0 ? QUEUE_LOCKING_IO : IDLE_IO},
                            {1, "io", "running", IDLE_IO}};
        store_dump(t, g, 4);
    }
    store_profile(9, EVIDENCE_MUTEX, "--- mutex:\ncycles/second=1000000000\nsampling period=10\n", "3970093 300",
                  "queue_try_push@service/queue.c|order_create@service/api.c", "138827 12",
                  "ledger_sync_wait@service/workers.c|process@service/workers.c");
    diagnose();
    for (size_t i = 0; i < result.n; i++)
        assert_string_not_equal(result.findings[i].class_name, "lock-contention");
}

static void test_diagnose_queue_lock_held_long_elsewhere_is_contention(void **state)
{
    /* The same waits, but the mutex profile charges them to a worker that holds the
     * queue's lock through its work: a lock held too long. */
    const struct diagnose_finding *f;
    (void)state;
    store_queue_handoff("90000000 900", "audit_record_locked@service/audit.c|worker_main@service/workers.c", true);
    diagnose();
    assert_int_equal(result.n, 1);
    if (!(f = finding("lock-contention")))
        return;
    assert_string_equal(f->culprit, "audit_record_locked");
}

static void test_diagnose_thread_in_a_syscall_is_not_burning_cpu(void **state)
{
    /* The io threads are caught in write() more often than in the slow function. */
    struct shape s = {.cpu_per_request = 0.003, .cpu_from = 5, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], {1, "io", "running", t > 5 && fmod(t, 1.0) == 0 ? BURNING_IO : IDLE_IO},
                            {1, "io", "running", WRITING_IO}};
        store_dump(t, g, 3);
    }
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("cpu-slowdown");
    assert_string_equal(f->culprit, "price_recompute");
}

static void test_diagnose_thread_leak_capped_within_three_seconds(void **state)
{
    /* 2,000 threads by t=1.75 s, then flat: no three windows of climbing, but the
     * level holds, and the dumps hold the parked group. */
    struct shape s = {.threads_rate = 1600, .threads_from = 0.5, .threads_cap = 2000, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], healthy_groups[2],
                            {1 + (int)capped(ramp(1600, 0.5, t), 2000), "other", "waiting", PARKED}};
        store_dump(t, g, 3);
    }
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("thread-leak");
    assert_string_equal(f->culprit, "notifier_park");
    assert_float_equal(f->started_at, 0.5, 0.3);
    assert_non_null(strstr(f->evidence, "holds"));
}

static void test_diagnose_thread_leak_at_its_cap_before_the_first_dump(void **state)
{
    /* 2,000 threads by t=0.25 s, before the first dump: the group never grows between
     * dumps, but it holds the level from the first of them. */
    struct shape s = {.threads_rate = 20000, .threads_from = 0.0, .threads_cap = 2000, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], healthy_groups[2], {2000, "other", "waiting", PARKED}};
        store_dump(t, g, 3);
    }
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("thread-leak");
    assert_string_equal(f->culprit, "notifier_park");
    assert_non_null(strstr(f->evidence, "the level held"));
}

static void test_diagnose_memory_leak_at_its_cap_found_by_level(void **state)
{
    /* 256 MB leaked by t=1.3 s, then flat: resident memory is high but does not
     * climb, and both heap profiles show one site holding it. */
    struct shape s = {.rss_rate = 256e6 / 0.8, .rss_from = 0.5, .rss_cap = 256e6, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    for (double t = 3; t <= 9; t += 6)
        store_profile(t, EVIDENCE_HEAP, "heap profile: 10: 9000000 [10: 9000000] @ heap/2\n",
                      "4096: 268435456 [4096: 268435456]", "audit_trail_append@service/audit.c|api_handle@service/api.c",
                      "5: 800000 [5: 800000]", "catalog_load@service/catalog.c|main@service/main.c");
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("memory-leak");
    assert_string_equal(f->culprit, "audit_trail_append");
    assert_true(f->started_at < 1.5);
    assert_non_null(strstr(f->evidence, "level holds"));
}

static void test_diagnose_faint_slowdown_against_the_healthy_start(void **state)
{
    /* 50 us of CPU per request, then 60 us more from t=4.5: far below the absolute
     * 0.5 ms, but 2.2 times the run's own healthy start, and 6% of a core at 1,000
     * requests a second. */
    struct shape s = {.cpu_per_request = 0.00006, .cpu_from = 4.5, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("cpu-slowdown");
    assert_float_equal(f->started_at, 4.5, 0.6);
    assert_non_null(strstr(f->evidence, "healthy start"));
}

static void test_diagnose_faint_slowdown_localized_from_a_cpu_profile(void **state)
{
    /* The same faint slowdown: the thread dumps never catch it, but the CPU profile
     * the capture took at t=5 does. More of its samples are io threads in write()
     * (the kernel's CPU, not the service's code), which must not win. */
    struct shape s = {.cpu_per_request = 0.00006, .cpu_from = 4.5, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    char header[128];
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    snprintf(header, sizeof header, "--- cpu profile: 2 samples, period 10000000 ns, duration 3.000 s\n");
    store_profile(5, EVIDENCE_CPU, header, "12 120000000",
                  "request_burn_cpu@service/api.c|api_handle@service/api.c|io_thread_main@service/httpserver.c",
                  "40 400000000", WRITING_IO);
    diagnose();
    assert_int_equal(result.n, 1);
    if (!(f = finding("cpu-slowdown")))
        return;
    assert_string_equal(f->culprit, "request_burn_cpu");
    assert_non_null(strstr(f->evidence, "CPU profile from t=5.0s: request_burn_cpu"));
    assert_non_null(strstr(f->evidence, "12 of 12 samples"));
    assert_float_equal(f->confidence, 1.0, 1e-9);
}

static void test_diagnose_profiler_arming_leaked_threads_is_no_slowdown(void **state)
{
    /* Threads leak from the start; from t=5 the dumps and the CPU profile's timers on
     * each of them cost 60 us more per request. The profile's top function is the
     * debug port's own arming of a timer per thread: the observing, not the service. */
    struct shape s = {.threads_rate = 150, .threads_from = 0.5, .cpu_per_request = 0.00006, .cpu_from = 5,
                      .queue_from = INFINITY};
    char header[128];
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], {2, "io", "running", IDLE_IO},
                            {1 + (int)ramp(150, 0.5, t), "other", "waiting", PARKED}};
        store_dump(t, g, 3);
    }
    snprintf(header, sizeof header, "--- cpu profile: 2 samples, period 10000000 ns, duration 3.000 s\n");
    store_profile(6, EVIDENCE_CPU, header, "9 90000000",
                  "arm_new_threads@service/cpuprof.c|on_cpu_tick@service/debug_timed.c|event_base_loop@?|"
                  "debug_thread_main@service/debug.c|spawn_trampoline@service/threads.c",
                  "2 20000000", "api_handle@service/api.c|io_thread_main@service/httpserver.c");
    diagnose();
    assert_int_equal(result.n, 1);
    assert_string_equal(finding("thread-leak")->culprit, "notifier_park");
}

/* Three healthy runs of the fixture's scenario under label "base", recorded before
 * the run under test (which stays the current run_id). */
static void store_baseline_runs(void)
{
    struct resultdb_run run = {.scenario = "fixture", .scenario_file = "fixture.ini", .label = "base", .params = "{}"};
    struct shape healthy = {.queue_from = INFINITY};
    int64_t mine = run_id;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(resultdb_run_begin(db, &run, &run_id, err, sizeof err), 0);
        store_series(&healthy);
        assert_int_equal(resultdb_run_end(db, run_id, "completed", NULL, "met", 0, END, err, sizeof err), 0);
    }
    run_id = mine;
}

static void diagnose_against(const char *label)
{
    struct rules_baseline b;
    if (rules_baseline_load(db, run_id, label, &b, err, sizeof err) != 0)
        fail_msg("baseline: %s", err);
    assert_int_equal(b.runs, 3);
    assert_float_equal(b.cpu_per_request, 0.00005, 1e-6);
    assert_float_equal(b.threads, 8, 1e-9);
    if (diagnose_run_against(db, run_id, &b, &result, err, sizeof err) != 0)
        fail_msg("diagnose: %s", err);
}

static void test_diagnose_faint_slowdown_from_the_start_found_against_a_baseline(void **state)
{
    /* 50 us of CPU per request, 60 us more from before the first scrape: the run's own
     * start is no healthy reference, the baseline's runs are. */
    struct shape s = {.cpu_per_request = 0.00006, .cpu_from = 0, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    diagnose();
    assert_int_equal(result.n, 0);
    store_baseline_runs();
    diagnose_against("base");
    assert_int_equal(result.n, 1);
    if (!(f = finding("cpu-slowdown")))
        return;
    assert_non_null(strstr(f->evidence, "against baseline base (3 runs of fixture): 50us per request"));
}

/* The same slowdown on a service overloaded from t=1: overload costs no CPU of its own
 * (what it turns away is the cheapest request there is), so its windows still compare
 * with the baseline's. */
static void test_diagnose_faint_slowdown_of_an_overloaded_service_found_against_a_baseline(void **state)
{
    struct shape s = {.cpu_per_request = 0.00006, .cpu_from = 0, .queue_from = 1, .queue_to = 10,
                      .rejected_rate = 430};
    struct group busy[] = {{4, "worker", "waiting", PAYING_WORKER}, {2, "io", "running", IDLE_IO}};
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5)
        store_dump(t, busy, 2);
    store_baseline_runs();
    diagnose_against("base");
    assert_int_equal(result.n, 2);
    assert_non_null(finding("overload"));
    assert_non_null(strstr(finding("cpu-slowdown")->evidence, "against baseline base"));
}

static void test_diagnose_leaks_held_from_the_start_found_against_a_baseline(void **state)
{
    /* 100 threads and 40 MB more than any healthy run, from before the first scrape
     * and flat: neither climbs, nor rises above the run's own lowest. */
    struct shape s = {.threads_rate = 1e6, .threads_from = -1, .threads_cap = 100, .rss_rate = 1e9, .rss_from = -1,
                      .rss_cap = 40e6, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], healthy_groups[2], {100, "other", "waiting", PARKED}};
        store_dump(t, g, 3);
    }
    for (double t = 3; t <= 9; t += 6)
        store_profile(t, EVIDENCE_HEAP, "heap profile: 10: 41000000 [10: 41000000] @ heap/2\n",
                      "9766: 40000000 [9766: 40000000]", "audit_trail_append@service/audit.c|api_handle@service/api.c",
                      "5: 800000 [5: 800000]", "catalog_load@service/catalog.c|main@service/main.c");
    diagnose();
    assert_int_equal(result.n, 0);
    store_baseline_runs();
    diagnose_against("base");
    assert_int_equal(result.n, 2);
    if (!(f = finding("thread-leak")))
        return;
    assert_non_null(strstr(f->evidence, "above the most baseline base's 3 runs of fixture reached (8)"));
    assert_float_equal(f->started_at, 0, 0.01);
    if (!(f = finding("memory-leak")))
        return;
    assert_non_null(strstr(f->evidence, "above the most baseline base's 3 runs of fixture held"));
    assert_string_equal(f->culprit, "audit_trail_append");
}

static void test_diagnose_baseline_needs_runs_of_the_same_scenario(void **state)
{
    struct rules_baseline b;
    (void)state;
    store_baseline_runs();
    assert_int_equal(rules_baseline_load(db, run_id, "nobody", &b, err, sizeof err), 1);
    assert_non_null(strstr(err, "no completed run of scenario fixture is labelled nobody"));
    assert_int_equal(rules_baseline_load(db, 9999, "base", &b, err, sizeof err), 1);
}

static void test_diagnose_few_long_lock_waits_are_no_contention(void **state)
{
    /* On a busy machine a thread holding the queue's lock is descheduled now and
     * then: 0.15 s/s of wait from ten contentions a second, io threads caught
     * waiting in the push. Not a lock its users hold too long. */
    struct shape s = {.queue_from = INFINITY, .queue_lock_wait = 0.15};
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], {1, "io", "running", fmod(t, 2.0) == 0 ? QUEUE_LOCKING_IO : IDLE_IO},
                            {1, "io", "running", IDLE_IO}};
        store_dump(t, g, 3);
    }
    store_profile(9, EVIDENCE_MUTEX, "--- mutex:\ncycles/second=1000000000\nsampling period=10\n", "80000000 10",
                  "queue_try_push@service/queue.c|order_create@service/api.c", NULL, NULL);
    diagnose();
    assert_int_equal(result.n, 0);
}

static void test_diagnose_workers_that_slowed_are_no_overload(void **state)
{
    /* Without evidence: the queue fills from t=4 and work is turned away, while the
     * workers take a tenth of the jobs they took before. They slowed down; they are
     * not merely too few. */
    struct shape s = {.queue_from = 4, .queue_to = 9, .rejected_rate = 300, .served_drops = true};
    (void)state;
    store_series(&s);
    testdb_exec(tmp.path, "DELETE FROM evidence");
    diagnose();
    assert_int_equal(result.n, 1);
    assert_string_equal(result.findings[0].class_name, "queue-full");
    assert_float_equal(result.findings[0].started_at, 4.0, 0.3);
}

static void test_diagnose_small_cpu_rise_at_a_low_rate_is_no_slowdown(void **state)
{
    /* 45 us more per request (1.9 times) at 300 requests a second is 1.4% of a core:
     * no more than the capture's own dumps and snapshots cost a lightly loaded service. */
    struct shape s = {.cpu_per_request = 0.000045, .cpu_from = 4.5, .queue_from = INFINITY, .request_rate = 300};
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    diagnose();
    assert_int_equal(result.n, 0);
}

static void test_diagnose_rise_within_a_cpu_counter_tick_is_no_slowdown(void **state)
{
    /* A light load, 750 requests a second at 20 us each, 30 us more from t=4.5 (2.25%
     * of a core, under the 2.5% a rise must add). The CPU counter moves in 10 ms
     * ticks, so the healthy windows read 0.01 or 0.02 s: the lowest makes a base of
     * 13 us, against which the rise looks like 2.8% of a core. */
    struct shape s = {.cpu_per_request = 0.00003, .cpu_from = 4.5, .queue_from = INFINITY, .request_rate = 750,
                      .healthy_cpu = 0.00002, .cpu_ticks = true};
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    diagnose();
    assert_int_equal(result.n, 0);
}

/* A light load, 750 requests a second at 20 us each, 40 us more from t=4.5: 3% of a
 * core, which counts when the CPU counter reads nanoseconds and not when it moves in
 * 10 ms ticks (one tick of it may be the counter's own step). */
static size_t findings_of_a_rise_of_3_percent_of_a_core(bool ticks)
{
    struct shape s = {.cpu_per_request = 0.00004, .cpu_from = 4.5, .queue_from = INFINITY, .request_rate = 750,
                      .healthy_cpu = 0.00002, .cpu_ticks = ticks};
    store_series(&s);
    store_healthy_dumps();
    diagnose();
    return result.n;
}

static void test_diagnose_rise_read_to_the_nanosecond_is_a_slowdown(void **state)
{
    (void)state;
    assert_int_equal(findings_of_a_rise_of_3_percent_of_a_core(false), 1);
    assert_string_equal(result.findings[0].class_name, "cpu-slowdown");
    assert_float_equal(result.findings[0].started_at, 4.5, 0.6);
}

static void test_diagnose_same_rise_in_cpu_counter_ticks_is_no_slowdown(void **state)
{
    (void)state;
    assert_int_equal(findings_of_a_rise_of_3_percent_of_a_core(true), 0);
}

static void test_diagnose_slowdown_while_threads_leak(void **state)
{
    /* Threads leak from the start; from t=5, 0.3 ms more CPU per request (under the
     * absolute 0.5 ms), and the io threads are caught in price_recompute. */
    struct shape s = {.threads_rate = 15, .threads_from = 0.5, .cpu_per_request = 0.0003, .cpu_from = 5,
                      .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], {1, "io", "running", t > 5 ? BURNING_IO : IDLE_IO},
                            {1, "io", "running", IDLE_IO}, {1 + (int)ramp(15, 0.5, t), "other", "waiting", PARKED}};
        store_dump(t, g, 4);
    }
    diagnose();
    assert_int_equal(result.n, 2);
    assert_string_equal(finding("thread-leak")->culprit, "notifier_park");
    f = finding("cpu-slowdown");
    assert_string_equal(f->culprit, "price_recompute");
    assert_float_equal(f->started_at, 5.0, 0.6);
}

static void test_diagnose_cpu_step_where_a_lock_began_is_the_locks_cost(void **state)
{
    /* A lock contended from t=5 (0.2 s/s), and CPU per request 60 us higher from then
     * on: its futex calls, and fewer requests to spread the capture's cost over. The
     * io threads are caught in an ordinary function. One finding, the lock. */
    struct shape s = {.lock_wait = 0.2, .lock_from = 5, .cpu_per_request = 0.00006, .cpu_from = 5,
                      .queue_from = INFINITY};
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], {1, "io", "running", t > 5 ? BURNING_IO : IDLE_IO},
                            {1, "io", t > 5 ? "waiting" : "running", t > 5 ? LOCK_WAITING_IO : IDLE_IO}};
        store_dump(t, g, 3);
    }
    diagnose();
    assert_int_equal(result.n, 1);
    assert_string_equal(result.findings[0].class_name, "lock-contention");
    assert_float_equal(result.findings[0].started_at, 5.0, 0.6);
    assert_non_null(strstr(result.findings[0].evidence, "CPU per request rose with it"));
}

static void test_diagnose_cpu_where_idle_workers_wait_is_no_slowdown(void **state)
{
    /* Threads leak from the start; from t=5 CPU per request is 0.3 ms (the lower
     * absolute level, which needs a function named for it), and the CPU profile's top
     * is queue_pop, where idle workers wait for work: the job queue's handoff. */
    struct shape s = {.threads_rate = 15, .threads_from = 0.5, .cpu_per_request = 0.00025, .cpu_from = 5,
                      .queue_from = INFINITY};
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {healthy_groups[0], healthy_groups[1], healthy_groups[2],
                            {1 + (int)ramp(15, 0.5, t), "other", "waiting", PARKED}};
        store_dump(t, g, 4);
    }
    store_profile(6, EVIDENCE_CPU, "--- cpu profile: 30 samples, period 10000000 ns, duration 3.000 s\n",
                  "23 230000000", "queue_pop@service/queue.c|worker_main@service/workers.c", "7 70000000",
                  "api_handle@service/api.c|io_thread_main@service/httpserver.c");
    diagnose();
    assert_int_equal(result.n, 1);
    assert_non_null(finding("thread-leak"));
}

static void test_diagnose_stall_absorbed_by_spare_workers(void **state)
{
    /* Sixty-four workers absorb a stall from t=5: the queue never fills and nothing is
     * turned away, but the busy workers are caught waiting on a condition in
     * ledger_sync_wait, not in their work - a few of them under a stale "idle" label. */
    struct shape s = {.queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group before[] = {{60, "worker", "idle", IDLE_WORKER}, {4, "worker", "waiting", PAYING_WORKER},
                                 {2, "io", "running", IDLE_IO}};
        struct group after[] = {{20, "worker", "idle", IDLE_WORKER}, {4, "worker", "waiting", PAYING_WORKER},
                                {38, "worker", "waiting", STALLED_WORKER}, {2, "worker", "idle", STALLED_WORKER},
                                {2, "io", "running", IDLE_IO}};
        if (t > 5)
            store_dump(t, after, 5);
        else
            store_dump(t, before, 3);
    }
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("queue-full");
    assert_string_equal(f->culprit, "ledger_sync_wait");
    assert_float_equal(f->started_at, 5.5, 0.3);
    assert_non_null(strstr(f->evidence, "never reached"));
}

static void test_diagnose_faint_stall_as_long_as_the_work(void **state)
{
    /* Four workers, a 2 ms stall beside a 2 ms payment call from the start: the queue
     * keeps up, and the busy workers are caught in ledger_sync_wait in a third of
     * their samples and in their payment in the rest. */
    struct shape s = {.queue_from = INFINITY};
    const struct diagnose_finding *f;
    int i = 0;
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5, i++) {
        struct group g[] = {{2, "worker", "idle", IDLE_WORKER}, {1, "worker", "waiting", PAYING_WORKER},
                            {1, "worker", "waiting", i % 3 == 2 ? PAYING_WORKER : STALLED_WORKER},
                            {2, "io", "running", IDLE_IO}};
        store_dump(t, g, 4);
    }
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("queue-full");
    assert_string_equal(f->culprit, "ledger_sync_wait");
}

static void test_diagnose_busy_workers_at_work_are_no_stall(void **state)
{
    /* The same service without the stall: busy workers only in their payment call. */
    struct shape s = {.queue_from = INFINITY};
    (void)state;
    store_series(&s);
    for (double t = 0.5; t < END; t += 0.5) {
        struct group g[] = {{2, "worker", "idle", IDLE_WORKER}, {2, "worker", "waiting", PAYING_WORKER},
                            {2, "io", "running", IDLE_IO}};
        store_dump(t, g, 3);
    }
    diagnose();
    assert_int_equal(result.n, 0);
}

/* 200 MB leaked by t=1 s and capped there, the heap profile at t=5 s holding it under
 * the stack `leak_stack`, beside a small steady site; diagnosed. */
static void diagnose_capped_leak(const char *leak_stack)
{
    struct shape s = {.rss_rate = 400e6, .rss_from = 0.5, .rss_cap = 200e6, .queue_from = INFINITY};

    store_series(&s);
    store_healthy_dumps();
    store_profile(5, EVIDENCE_HEAP, "heap profile: 10: 9000000 [10: 9000000] @ heap/2\n",
                  "50000: 204800000 [50000: 204800000]", leak_stack, "5: 800000 [5: 800000]",
                  "catalog_load@service/catalog.c|main@service/main.c");
    diagnose();
}

static void test_diagnose_capped_leak_before_profiling_names_the_class_only(void **state)
{
    /* 200 MB leaked by t=1 s, before profiling was switched on: the heap profile holds
     * it as unprofiled bytes with no site, so the level of the resident set names the
     * class and no culprit is made up. */
    const struct diagnose_finding *f;
    (void)state;
    diagnose_capped_leak("heapprof_unprofiled@service/heapprof.c");
    assert_int_equal(result.n, 1);
    f = finding("memory-leak");
    assert_string_equal(f->culprit, "");
    assert_non_null(strstr(f->evidence, "before profiling began"));
}

static void test_diagnose_capped_leak_at_metrics_names_its_site(void **state)
{
    /* The same leak from an orderd that takes heap stacks at metrics (frame pointers):
     * the profile read at metrics, before any symptom, charges the 200 MB to the leak's
     * function, whose stack ends at the first library frame (libhttp_parser's), and
     * that site is the culprit by the level it holds. */
    const struct diagnose_finding *f;
    (void)state;
    diagnose_capped_leak("leak_memory_retain@service/leak.c|leak_memory_on_request@service/leak.c|"
                         "api_handle@service/api.c|on_message_complete@service/httpserver_request.c|"
                         "http_parser_execute@");
    assert_int_equal(result.n, 1);
    f = finding("memory-leak");
    assert_string_equal(f->culprit, "leak_memory_retain");
    assert_null(strstr(f->evidence, "before profiling began"));
}

/* A leak that climbs for four seconds, long enough for the slope rule, and fills its
 * cap before the first heap profile: the two profiles, both after the cap, show the
 * leak's site holding 200 MB and gaining nothing between them. The site that holds far
 * more than any steady state is what climbed, and the finding names it (before, no
 * site having gained, the climb was put down to thread stacks and dropped). */
static void test_diagnose_leak_full_before_the_first_profile_names_what_it_holds(void **state)
{
    static const char leak[] = "leak_memory_retain@service/leak.c|leak_memory_on_request@service/leak.c|"
                               "api_handle@service/api.c";
    struct shape s = {.rss_rate = 50e6, .rss_from = 0.5, .rss_cap = 200e6, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    for (double t = 6; t <= 9; t += 3)
        store_profile(t, EVIDENCE_HEAP, "heap profile: 10: 9000000 [10: 9000000] @ heap/2\n",
                      "50000: 204800000 [50000: 204800000]", leak, "5: 800000 [5: 800000]",
                      "catalog_load@service/catalog.c|main@service/main.c");
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("memory-leak");
    assert_string_equal(f->culprit, "leak_memory_retain");
    assert_float_equal(f->started_at, 0.5, 1.0);
    assert_non_null(strstr(f->evidence, "far above any steady state"));
}

/* A faint leak: memory climbs 0.8 MB/s, under the 1 MB/s of a leak's slope, for the
 * whole run. With a heap site that gained most of the climb it is a leak, named by that
 * site; the same climb with no site behind it (buffers, a cache warming) is not. */
static void test_diagnose_faint_leak_needs_a_site_that_gained_it(void **state)
{
    struct shape s = {.rss_rate = 0.8e6, .rss_from = 1, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    store_audit_heap(3, "500: 2048000 [500: 2048000]");
    store_audit_heap(9, "1700: 6963200 [1700: 6963200]");   /* +4.7 MB of the 4.8 MB climbed */
    diagnose();
    assert_int_equal(result.n, 1);
    f = finding("memory-leak");
    assert_string_equal(f->culprit, "audit_trail_append");
    assert_float_equal(f->started_at, 1.0, 1.0);
    assert_non_null(strstr(f->evidence, "at over 488.3KB/s"));
}

static void test_diagnose_faint_climb_without_a_site_is_no_leak(void **state)
{
    struct shape s = {.rss_rate = 0.8e6, .rss_from = 1, .queue_from = INFINITY};
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    store_audit_heap(3, "500: 2048000 [500: 2048000]");
    store_audit_heap(9, "520: 2129920 [520: 2129920]");     /* the site holds steady */
    diagnose();
    assert_int_equal(result.n, 0);
}

/* A site holding a steady 100 MB (a catalog loaded at start) beside memory that climbs
 * for another reason (connection buffers): the site gained nothing of the climb, which
 * went on between the profiles, so it is not what climbed and is no leak's culprit. */
static void test_diagnose_steady_big_site_beside_ordinary_growth_is_no_leak(void **state)
{
    struct shape s = {.rss_rate = 2e6, .rss_from = 2, .queue_from = INFINITY};
    (void)state;
    store_series(&s);
    store_healthy_dumps();
    store_profile(2, EVIDENCE_HEAP, "heap profile: 10: 110000000 [10: 110000000] @ heap/2\n",
                  "20: 500000 [20: 500000]", "httpserver_conn_open@service/httpserver_conn.c|main@service/main.c",
                  "5: 100000000 [5: 100000000]", "catalog_load@service/catalog.c|main@service/main.c");
    store_profile(9, EVIDENCE_HEAP, "heap profile: 10: 110000000 [10: 110000000] @ heap/2\n",
                  "80: 2000000 [80: 2000000]", "httpserver_conn_open@service/httpserver_conn.c|main@service/main.c",
                  "5: 100000000 [5: 100000000]", "catalog_load@service/catalog.c|main@service/main.c");
    diagnose();
    for (size_t i = 0; i < result.n; i++)
        assert_string_not_equal(result.findings[i].culprit, "catalog_load");
}

/* Threads leaking (their stacks climb memory) beside a steady 100 MB site: one finding,
 * the thread leak; the big site is not a memory leak. */
static void test_diagnose_thread_stacks_beside_a_big_site_is_one_finding(void **state)
{
    struct shape s = {.threads_rate = 60, .threads_from = 1, .rss_rate = 1.5e6, .rss_from = 1, .queue_from = INFINITY};
    (void)state;
    store_series(&s);
    store_leaking_thread_dumps(60, 1);
    for (double t = 2; t <= 9; t += 7)
        store_catalog_heap(t);
    diagnose();
    assert_int_equal(result.n, 1);
    assert_non_null(finding("thread-leak"));
}

/* A memory leak fills its 200 MB cap (at rss_rate from t=0.5); from threads_from
 * threads leak, their stacks climbing memory on (16 KB each) past the first heap
 * profile. Both are problems: the climb came mostly before the threads, and the site
 * holding it is named. */
static void check_capped_memory_leak_before_a_thread_leak(double rss_rate, double threads_from)
{
    static const char leak[] = "leak_memory_retain@service/leak.c|leak_memory_on_request@service/leak.c|"
                               "api_handle@service/api.c";
    struct shape s = {.rss_rate = rss_rate, .rss_from = 0.5, .rss_cap = 200e6, .threads_rate = 200,
                      .threads_from = threads_from, .rss_per_thread = 16e3, .queue_from = INFINITY};
    const struct diagnose_finding *f;
    store_series(&s);
    store_leaking_thread_dumps(200, threads_from);
    for (double t = 6; t <= 9; t += 3)
        store_profile(t, EVIDENCE_HEAP, "heap profile: 10: 9000000 [10: 9000000] @ heap/2\n",
                      "50000: 204800000 [50000: 204800000]", leak, "5: 800000 [5: 800000]",
                      "catalog_load@service/catalog.c|main@service/main.c");
    diagnose();
    assert_int_equal(result.n, 2);
    f = finding("memory-leak");
    assert_non_null(f);
    assert_string_equal(f->culprit, "leak_memory_retain");
    assert_float_equal(f->started_at, 0.5, 1.0);
    f = finding("thread-leak");
    assert_non_null(f);
    assert_float_equal(f->started_at, threads_from, 0.6);
}

/* Full within two seconds: its climb too short to be a slope, read by its level. */
static void test_diagnose_fast_capped_memory_leak_before_a_thread_leak_is_both(void **state)
{
    (void)state;
    check_capped_memory_leak_before_a_thread_leak(100e6, 5);
}

/* Full in four seconds, a slope that the thread stacks carry on: four fifths of it
 * came before the threads. */
static void test_diagnose_capped_memory_leak_before_a_thread_leak_is_both(void **state)
{
    (void)state;
    check_capped_memory_leak_before_a_thread_leak(50e6, 5.5);
}

/* Threads leak from the start, their stacks climbing memory 0.75 MB/s (faint), while
 * a site of ordinary growth gains half of that: the faint climb is the threads'. */
static void test_diagnose_faint_climb_while_threads_leak_is_no_memory_leak(void **state)
{
    struct shape s = {.threads_rate = 15, .threads_from = 0.5, .rss_per_thread = 50e3, .queue_from = INFINITY};
    (void)state;
    store_series(&s);
    store_leaking_thread_dumps(15, 0.5);
    store_audit_heap(3, "500: 2048000 [500: 2048000]");
    store_audit_heap(9, "1100: 4505600 [1100: 4505600]");   /* +2.5 MB of the 4.5 MB climbed */
    diagnose();
    assert_int_equal(result.n, 1);
    assert_non_null(finding("thread-leak"));
}

#define STARTING_THREADS "allocate_stack@./nptl/allocatestack.c|threads_spawn@service/threads.c|" \
                         "leak_threads_on_order@service/leak.c|order_create@service/api.c|" \
                         "io_thread_main@service/httpserver.c"

/* Threads leak 200/s from t=3 and CPU per request rises by cpu_per_request with them;
 * a CPU profile at t=6 has `starting` samples in STARTING_THREADS and `other` in
 * other_stack. */
static void diagnose_cpu_while_threads_start(double cpu_per_request, const char *starting, const char *other,
                                             const char *other_stack)
{
    struct shape s = {.threads_rate = 200, .threads_from = 3, .cpu_per_request = cpu_per_request, .cpu_from = 3,
                      .queue_from = INFINITY};
    store_series(&s);
    store_leaking_thread_dumps(200, 3);
    store_profile(6, EVIDENCE_CPU, "--- cpu profile: 11 samples, period 10000000 ns, duration 2.000 s\n", starting,
                  STARTING_THREADS, other, other_stack);
    diagnose();
}

/* The CPU profile finds the requests' handler inside pthread_create, starting the
 * leaked threads: the thread leak's cost, said in its finding, not a slowdown. */
static void test_diagnose_cpu_starting_leaked_threads_is_the_leak(void **state)
{
    const struct diagnose_finding *f;
    (void)state;
    diagnose_cpu_while_threads_start(0.00006, "9 90000000", "2 20000000",
                                     "api_handle@service/api.c|io_thread_main@service/httpserver.c");
    assert_int_equal(result.n, 1);
    f = finding("thread-leak");
    assert_non_null(f);
    assert_non_null(strstr(f->evidence, "starting the leaked threads costs CPU: 9 of 9 CPU-profile samples in "
                                        "leak_threads_on_order"));
}

/* The io threads also burn CPU in price_recompute (0.3 ms a request from t=3): the
 * samples inside pthread_create are the leak's, and the slowdown beside them is named
 * by what runs without them. */
static void test_diagnose_slowdown_beside_starting_leaked_threads_is_named(void **state)
{
    const struct diagnose_finding *f;
    (void)state;
    diagnose_cpu_while_threads_start(0.0003, "6 60000000", "5 50000000",
                                     "price_recompute@service/api.c|api_handle@service/api.c|"
                                     "io_thread_main@service/httpserver.c");
    assert_int_equal(result.n, 2);
    assert_non_null(strstr(finding("thread-leak")->evidence, "starting the leaked threads costs CPU: 6 of 6"));
    f = finding("cpu-slowdown");
    assert_non_null(f);
    assert_string_equal(f->culprit, "price_recompute");
}

/* A steady 100 MB site (the catalog, from the start); memory warms up by 30 MB from
 * t=1.5, then threads leak from t=4, their stacks climbing another 19 MB: three fifths
 * of the climb came before the threads, which is no capped leak's shape, and the big
 * site gained nothing - one finding, the thread leak. */
static void test_diagnose_warm_up_before_a_thread_leak_is_no_memory_leak(void **state)
{
    struct shape s = {.rss_rate = 15e6, .rss_from = 1.5, .rss_cap = 30e6, .threads_rate = 200, .threads_from = 4,
                      .rss_per_thread = 16e3, .queue_from = INFINITY};
    (void)state;
    store_series(&s);
    store_leaking_thread_dumps(200, 4);
    for (double t = 6; t <= 9; t += 3)
        store_catalog_heap(t);
    diagnose();
    assert_int_equal(result.n, 1);
    assert_non_null(finding("thread-leak"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_diagnose_slowdown_beside_starting_leaked_threads_is_named, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_warm_up_before_a_thread_leak_is_no_memory_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_fast_capped_memory_leak_before_a_thread_leak_is_both, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_capped_memory_leak_before_a_thread_leak_is_both, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_cpu_starting_leaked_threads_is_the_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_faint_climb_while_threads_leak_is_no_memory_leak, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_steady_big_site_beside_ordinary_growth_is_no_leak, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_thread_stacks_beside_a_big_site_is_one_finding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_faint_leak_needs_a_site_that_gained_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_faint_climb_without_a_site_is_no_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_healthy_run_finds_no_problem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_thread_leak_names_the_growing_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_fleet_names_the_instance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_fleet_same_problem_everywhere_is_one_finding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_memory_leak_names_the_growing_heap_site, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_faint_leak_found_climbing_through_heap_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_faint_leak_from_the_start_dated_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_heap_growth_that_is_no_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_heap_climb_beside_a_thread_leak_is_the_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_memory_leak_dated_where_a_slow_climb_turned_steep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_memory_leak_of_one_slope_dated_from_its_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_memory_leak_dated_from_where_its_climb_began, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_level_holder_is_the_leak_beside_a_small_grower, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_memory_leak_across_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_memory_leak_across_a_restart_seen_in_the_start_time, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_memory_leak_after_a_restart_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_restart_with_evidence_before_it_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_healthy_run_with_counters_reset_finds_no_problem, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_thread_stacks_growing_memory_is_no_memory_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_a_site_with_a_small_part_of_the_climb_is_no_memory_leak, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_lock_contention_from_the_mutex_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_lock_contention_from_dumps_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_queue_full_names_where_the_workers_are, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_queue_full_dated_from_the_stall_that_filled_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_overload_then_a_stall_is_both_from_their_starts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_stall_soon_after_the_queue_filled_is_one_finding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_busy_queue_that_only_works_is_no_fault, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_blocked_producer_names_where_io_threads_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_cpu_slowdown_names_what_runs_on_io_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_two_faults_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_without_evidence_names_the_class_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_store_replaces_the_previous_verdict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_unknown_run_and_corrupt_evidence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_full_queue_does_not_hide_thread_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_overload_blames_no_healthy_function, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_stale_idle_labels_do_not_make_overload_a_fault, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_queue_episode_rides_out_integer_noise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_idle_workers_waiting_for_work_are_no_contention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_contention_beside_idle_workers_names_the_real_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_producers_at_a_queue_that_keeps_up_are_no_contention, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_producers_at_a_full_queue_are_no_contention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_faint_lock_under_few_connections_is_contention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_faint_lock_wait_naming_no_function_is_no_finding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_lock_held_long_each_time_at_a_low_rate_is_contention, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_lock_waiting_as_long_as_the_queue_is_the_schedulers_delay, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_faint_wait_at_the_queue_of_an_overloaded_service_is_no_contention,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_queue_full_behind_a_contended_lock_is_that_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_handoff_beside_workers_taking_their_own_lock_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_queue_lock_held_long_elsewhere_is_contention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_queue_handoff_seen_in_the_mutex_profile_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_faint_slowdown_of_an_overloaded_service_found_against_a_baseline,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_faint_slowdown_from_the_start_found_against_a_baseline, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_leaks_held_from_the_start_found_against_a_baseline, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_baseline_needs_runs_of_the_same_scenario, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_thread_in_a_syscall_is_not_burning_cpu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_thread_leak_capped_within_three_seconds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_thread_leak_at_its_cap_before_the_first_dump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_memory_leak_at_its_cap_found_by_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_faint_slowdown_against_the_healthy_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_faint_slowdown_localized_from_a_cpu_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_profiler_arming_leaked_threads_is_no_slowdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_few_long_lock_waits_are_no_contention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_workers_that_slowed_are_no_overload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_small_cpu_rise_at_a_low_rate_is_no_slowdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_rise_within_a_cpu_counter_tick_is_no_slowdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_rise_read_to_the_nanosecond_is_a_slowdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_same_rise_in_cpu_counter_ticks_is_no_slowdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_slowdown_while_threads_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_cpu_step_where_a_lock_began_is_the_locks_cost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_cpu_where_idle_workers_wait_is_no_slowdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_stall_absorbed_by_spare_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_faint_stall_as_long_as_the_work, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_busy_workers_at_work_are_no_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_capped_leak_before_profiling_names_the_class_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_capped_leak_at_metrics_names_its_site, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnose_leak_full_before_the_first_profile_names_what_it_holds, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
