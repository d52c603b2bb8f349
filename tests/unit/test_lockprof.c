/* Tests for lockprof: contention is produced deterministically (the main thread holds
 * the lock until the waiter is counted as queued, never by sleeping), the sampling
 * rates are checked on the exposed samplers with a seeded state, and the profiles are
 * read back as text and through the proto decoder in tests/support.
 *
 * The site and stack tables are process-wide and never shrink, so each test uses its
 * own lock names and measures against a snapshot; the two tests that fill the tables
 * run last. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "instrument.h"
#include "lockprof.h"
#include "pprof_decode.h"
#include "stacks.h"

static void set_instrument(int level, int64_t fraction, int64_t block_rate_ns)
{
    atomic_store(&instrument.level, level);
    atomic_store(&instrument.mutex_fraction, fraction);
    atomic_store(&instrument.block_rate_ns, block_rate_ns);
}

struct site_totals {
    const char *name;
    int visits;
    uint64_t events;
    double seconds;
};

static void find_site(const char *name, uint64_t events, double seconds, void *user)
{
    struct site_totals *t = user;

    if (strcmp(name, t->name) == 0) {
        t->visits++;
        t->events = events;
        t->seconds = seconds;
    }
}

static struct site_totals lock_totals(const char *name)
{
    struct site_totals t = { name, 0, 0, 0 };

    lockprof_foreach_lock(find_site, &t);
    return t;
}

static struct site_totals block_totals(const char *name)
{
    struct site_totals t = { name, 0, 0, 0 };

    lockprof_foreach_block_site(find_site, &t);
    return t;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { 0, ms * 1000000L };

    nanosleep(&ts, NULL);
}

/* Exported and never inlined, so their names appear in captured stacks. */
void lockprof_test_waiter_takes_lock(struct lockprof_mutex *m);
void lockprof_test_holder_releases(struct lockprof_mutex *m);
void lockprof_test_other_holder_releases(struct lockprof_mutex *m);
void lockprof_test_blocks_at_site(const char *site, int64_t ns);
void lockprof_test_times_out_on_cond(pthread_cond_t *cond, struct lockprof_mutex *m);

__attribute__((noinline)) void lockprof_test_waiter_takes_lock(struct lockprof_mutex *m)
{
    lockprof_mutex_lock(m);
    __asm__ volatile("" ::: "memory");
    lockprof_mutex_unlock(m);
}

/* Two unlockers with different names, for the holder's view of the mutex profile. */
__attribute__((noinline)) void lockprof_test_holder_releases(struct lockprof_mutex *m)
{
    lockprof_mutex_unlock(m);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void lockprof_test_other_holder_releases(struct lockprof_mutex *m)
{
    lockprof_mutex_unlock(m);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void lockprof_test_blocks_at_site(const char *site, int64_t ns)
{
    lockprof_block_record(site, ns);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void lockprof_test_times_out_on_cond(pthread_cond_t *cond, struct lockprof_mutex *m)
{
    struct timespec past = { 0, 0 };

    lockprof_mutex_lock(m);
    assert_int_equal(lockprof_cond_timedwait(cond, m, &past, "lockprof_test_cond_site"), ETIMEDOUT);
    lockprof_mutex_unlock(m);
}

static void *waiter_main(void *arg)
{
    lockprof_test_waiter_takes_lock(arg);
    return NULL;
}

/* Makes `times` contentions on m: the main thread holds m until the waiter thread
 * is counted as queued on it (contentions are counted before the wait), then lets it
 * go with release (the holder's stack in the mutex profile). Needs the metrics level. */
static void force_contentions_released_by(struct lockprof_mutex *m, const char *name, int times,
                                          void (*release)(struct lockprof_mutex *))
{
    for (int i = 0; i < times; i++) {
        uint64_t before;
        pthread_t waiter;
        int waited_ms = 0;

        lockprof_mutex_lock(m);
        before = lock_totals(name).events;
        assert_int_equal(pthread_create(&waiter, NULL, waiter_main, m), 0);
        while (lock_totals(name).events == before && waited_ms < 10000) {
            sleep_ms(1);
            waited_ms++;
        }
        /* Held a little longer so the waiter's delay is measurably > 0. */
        sleep_ms(1);
        release(m);
        assert_int_equal(pthread_join(waiter, NULL), 0);
        assert_int_equal(lock_totals(name).events, before + 1);
    }
}

static void force_contentions(struct lockprof_mutex *m, const char *name, int times)
{
    force_contentions_released_by(m, name, times, lockprof_test_holder_releases);
}

static struct pprof_decoded *decoded_profile(enum lockprof_kind kind, const struct lockprof_snapshot *since)
{
    char *buf = NULL;
    size_t len = 0;
    struct pprof_decoded *d;

    assert_int_equal(lockprof_profile(kind, 0, since, &buf, &len), 0);
    d = pprof_decode(buf, len);
    free(buf);
    assert_non_null(d);
    return d;
}

/* Whether every sample that has `function` in its stack has it as the innermost
 * frame: stacks must start at the caller of lockprof, not inside it. */
static int function_is_always_leaf(const struct pprof_decoded *d, const char *function)
{
    size_t with = 0, as_leaf = 0;

    pprof_decoded_sum_for_function(d, function, 0, &with);
    for (size_t i = 0; i < d->nsamples; i++) {
        const char *leaf = pprof_decoded_frame_name(d, &d->samples[i], 0);
        if (leaf && strcmp(leaf, function) == 0)
            as_leaf++;
    }
    return with > 0 && with == as_leaf;
}

static void test_lockprof_uncontended_lock_counts_nothing(void **state)
{
    static struct lockprof_mutex m;

    set_instrument(INSTRUMENT_PROFILE, 1, 1);
    lockprof_mutex_init(&m, "test.uncontended");
    for (int i = 0; i < 1000; i++) {
        lockprof_mutex_lock(&m);
        lockprof_mutex_unlock(&m);
    }
    assert_int_equal(lock_totals("test.uncontended").visits, 1);
    assert_int_equal(lock_totals("test.uncontended").events, 0);
    lockprof_mutex_destroy(&m);
}

static void test_lockprof_contention_counts_in_named_site(void **state)
{
    static struct lockprof_mutex m;
    struct site_totals t;

    set_instrument(INSTRUMENT_METRICS, 1, 1);
    lockprof_mutex_init(&m, "test.counted");
    force_contentions(&m, "test.counted", 3);
    t = lock_totals("test.counted");
    assert_int_equal(t.visits, 1);
    assert_int_equal(t.events, 3);
    assert_true(t.seconds > 0);
    lockprof_mutex_destroy(&m);
}

static void test_lockprof_shared_name_counts_together(void **state)
{
    static struct lockprof_mutex shard_a, shard_b;
    /* A different pointer to the same name must find the same site. */
    static char same_name[] = "test.shard";

    set_instrument(INSTRUMENT_METRICS, 1, 1);
    lockprof_mutex_init(&shard_a, "test.shard");
    lockprof_mutex_init(&shard_b, same_name);
    assert_ptr_equal(shard_a.site, shard_b.site);
    force_contentions(&shard_a, "test.shard", 1);
    force_contentions(&shard_b, "test.shard", 1);
    assert_int_equal(lock_totals("test.shard").visits, 1);
    assert_int_equal(lock_totals("test.shard").events, 2);
    lockprof_mutex_destroy(&shard_a);
    lockprof_mutex_destroy(&shard_b);
}

static void test_lockprof_off_level_counts_nothing(void **state)
{
    static struct lockprof_mutex m;
    pthread_t waiter;

    set_instrument(INSTRUMENT_OFF, 1, 1);
    lockprof_mutex_init(&m, "test.off");
    /* Nothing is counted, so nothing can say when the waiter queues: give it time.
     * If it has not reached the lock yet the test passes vacuously, never falsely. */
    lockprof_mutex_lock(&m);
    assert_int_equal(pthread_create(&waiter, NULL, waiter_main, &m), 0);
    sleep_ms(20);
    lockprof_mutex_unlock(&m);
    assert_int_equal(pthread_join(waiter, NULL), 0);
    lockprof_test_blocks_at_site("test.off.block", 1000);
    assert_int_equal(lock_totals("test.off").events, 0);
    assert_int_equal(block_totals("test.off.block").visits, 0);
    lockprof_mutex_destroy(&m);
}

static void test_lockprof_fraction_one_samples_every_contention(void **state)
{
    static struct lockprof_mutex m;
    struct lockprof_snapshot *before, *waiter_before;
    struct pprof_decoded *d;
    size_t nsamples = 0;

    set_instrument(INSTRUMENT_PROFILE, 1, 0);
    lockprof_mutex_init(&m, "test.fraction1");
    before = lockprof_snapshot_take(LOCKPROF_MUTEX);
    waiter_before = lockprof_snapshot_take(LOCKPROF_MUTEX_WAITER);
    assert_non_null(before);
    assert_non_null(waiter_before);
    force_contentions(&m, "test.fraction1", 4);

    /* Go's view: the delay is the holder's, the stack the one that unlocked. */
    d = decoded_profile(LOCKPROF_MUTEX, before);
    assert_int_equal(pprof_decoded_sum_for_function(d, "lockprof_test_holder_releases", 0, &nsamples), 4);
    assert_int_equal(nsamples, 1);   /* one stack, one record */
    /* Each hold lasted at least 1 ms after the waiter queued. */
    assert_true(pprof_decoded_sum_for_function(d, "lockprof_test_holder_releases", 1, NULL) >= 4 * 1000000);
    assert_true(function_is_always_leaf(d, "lockprof_test_holder_releases"));
    assert_int_equal(pprof_decoded_sum_for_function(d, "lockprof_test_waiter_takes_lock", 0, NULL), 0);
    pprof_decoded_free(d);

    /* The waiter's view: the stack that waited, starting where it took the lock. */
    d = decoded_profile(LOCKPROF_MUTEX_WAITER, waiter_before);
    assert_int_equal(pprof_decoded_sum_for_function(d, "lockprof_test_waiter_takes_lock", 0, &nsamples), 4);
    assert_int_equal(nsamples, 1);
    assert_true(pprof_decoded_sum_for_function(d, "lockprof_test_waiter_takes_lock", 1, NULL) > 0);
    assert_true(function_is_always_leaf(d, "lockprof_test_waiter_takes_lock"));
    assert_int_equal(pprof_decoded_sum_for_function(d, "lockprof_test_holder_releases", 0, NULL), 0);
    pprof_decoded_free(d);
    lockprof_snapshot_free(before);
    lockprof_snapshot_free(waiter_before);
    lockprof_mutex_destroy(&m);
}

static void test_lockprof_fraction_zero_samples_none(void **state)
{
    static struct lockprof_mutex m;
    struct lockprof_snapshot *before;
    struct pprof_decoded *d;

    set_instrument(INSTRUMENT_PROFILE, 0, 0);
    lockprof_mutex_init(&m, "test.fraction0");
    before = lockprof_snapshot_take(LOCKPROF_MUTEX);
    force_contentions(&m, "test.fraction0", 2);
    assert_int_equal(lock_totals("test.fraction0").events, 2);
    d = decoded_profile(LOCKPROF_MUTEX, before);
    assert_int_equal(d->nsamples, 0);
    pprof_decoded_free(d);
    lockprof_snapshot_free(before);
    lockprof_mutex_destroy(&m);
}

static void test_lockprof_mutex_sampler_keeps_one_in_fraction(void **state)
{
    uint64_t rng = 12345;
    int kept = 0;
    const int draws = 200000;

    for (int i = 0; i < draws; i++)
        kept += lockprof_mutex_sampled(10, &rng);
    /* expected 20000, standard deviation ~134: the bound is ~15 of them */
    assert_in_range(kept, 18000, 22000);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(lockprof_mutex_sampled(1, &rng), 1);
        assert_int_equal(lockprof_mutex_sampled(0, &rng), 0);
        assert_int_equal(lockprof_mutex_sampled(-5, &rng), 0);
    }
}

static void test_lockprof_block_sampler_follows_rate(void **state)
{
    uint64_t rng = 987654321;
    int kept = 0;
    const int draws = 200000;

    /* 250ns against a 1000ns rate: kept with probability 251/1000 (Go's rule). */
    for (int i = 0; i < draws; i++)
        kept += lockprof_block_sampled(250, 1000, &rng);
    assert_in_range(kept, 46000, 54400);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(lockprof_block_sampled(1000, 1000, &rng), 1);
        assert_int_equal(lockprof_block_sampled(5000, 1000, &rng), 1);
        assert_int_equal(lockprof_block_sampled(5000, 0, &rng), 0);
    }
}

static void test_lockprof_block_record_counts_and_profiles(void **state)
{
    struct lockprof_snapshot *before;
    struct pprof_decoded *d;
    struct site_totals t;

    set_instrument(INSTRUMENT_PROFILE, 1, 1000000);
    before = lockprof_snapshot_take(LOCKPROF_BLOCK);
    for (int i = 0; i < 3; i++)
        lockprof_test_blocks_at_site("test.block.long", 5000000);
    t = block_totals("test.block.long");
    assert_int_equal(t.events, 3);
    assert_true(t.seconds > 0.0149 && t.seconds < 0.0151);
    d = decoded_profile(LOCKPROF_BLOCK, before);
    assert_int_equal(pprof_decoded_sample_type(d, "contentions", "count"), 0);
    assert_int_equal(pprof_decoded_sample_type(d, "delay", "nanoseconds"), 1);
    /* events at or over the rate: counted as they are, never scaled */
    assert_int_equal(pprof_decoded_sum_for_function(d, "lockprof_test_blocks_at_site", 0, NULL), 3);
    assert_int_equal(pprof_decoded_sum_for_function(d, "lockprof_test_blocks_at_site", 1, NULL), 15000000);
    assert_true(function_is_always_leaf(d, "lockprof_test_blocks_at_site"));
    pprof_decoded_free(d);
    lockprof_snapshot_free(before);
}

static void test_lockprof_short_block_events_are_unbiased(void **state)
{
    struct lockprof_snapshot *before;
    struct pprof_decoded *d;
    int64_t count, delay;
    const int events = 4000;

    /* 0.5ms events at a 1ms rate: about half are kept, each as 2 events of 1ms,
     * so the totals estimate the truth (4000 events, 2s). Standard deviation of the
     * count is ~63; the bounds are ~12 of them. */
    set_instrument(INSTRUMENT_PROFILE, 1, 1000000);
    before = lockprof_snapshot_take(LOCKPROF_BLOCK);
    for (int i = 0; i < events; i++)
        lockprof_test_blocks_at_site("test.block.short", 500000);
    assert_int_equal(block_totals("test.block.short").events, events);
    d = decoded_profile(LOCKPROF_BLOCK, before);
    count = pprof_decoded_sum_for_function(d, "lockprof_test_blocks_at_site", 0, NULL);
    delay = pprof_decoded_sum_for_function(d, "lockprof_test_blocks_at_site", 1, NULL);
    assert_in_range(count, 3200, 4800);
    assert_in_range(delay, 1600000000, 2400000000);
    /* every kept event adds the rate as delay and rate/delay as count */
    assert_int_equal(delay % 1000000, 0);
    pprof_decoded_free(d);
    lockprof_snapshot_free(before);
}

static void test_lockprof_block_rate_zero_records_nothing(void **state)
{
    struct lockprof_snapshot *before;
    struct pprof_decoded *d;

    set_instrument(INSTRUMENT_PROFILE, 1, 0);
    before = lockprof_snapshot_take(LOCKPROF_BLOCK);
    lockprof_test_blocks_at_site("test.block.rate0", 5000000);
    assert_int_equal(block_totals("test.block.rate0").events, 1);
    d = decoded_profile(LOCKPROF_BLOCK, before);
    assert_int_equal(d->nsamples, 0);
    pprof_decoded_free(d);
    lockprof_snapshot_free(before);
}

static void test_lockprof_cond_timedwait_records_block(void **state)
{
    static struct lockprof_mutex m;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    struct lockprof_snapshot *before;
    struct pprof_decoded *d;

    set_instrument(INSTRUMENT_PROFILE, 1, 1);
    lockprof_mutex_init(&m, "test.cond.lock");
    before = lockprof_snapshot_take(LOCKPROF_BLOCK);
    lockprof_test_times_out_on_cond(&cond, &m);
    lockprof_test_times_out_on_cond(&cond, &m);
    assert_int_equal(block_totals("lockprof_test_cond_site").events, 2);
    d = decoded_profile(LOCKPROF_BLOCK, before);
    assert_int_equal(pprof_decoded_sum_for_function(d, "lockprof_test_times_out_on_cond", 0, NULL), 2);
    assert_true(function_is_always_leaf(d, "lockprof_test_times_out_on_cond"));
    pprof_decoded_free(d);
    lockprof_snapshot_free(before);
    pthread_cond_destroy(&cond);
    lockprof_mutex_destroy(&m);
}

struct cond_pair {
    struct lockprof_mutex m;
    pthread_cond_t cond;
    int ready;
};

static void *signal_ready(void *arg)
{
    struct cond_pair *pair = arg;

    lockprof_mutex_lock(&pair->m);
    pair->ready = 1;
    pthread_cond_signal(&pair->cond);
    lockprof_mutex_unlock(&pair->m);
    return NULL;
}

/* Waits on a fresh pair (its lock named lock) at site until another thread signals,
 * through lockprof_cond_wait_idle when idle; returns the site's blocking events
 * before the wait. */
static uint64_t wait_for_signal(const char *lock, const char *site, bool idle)
{
    static struct cond_pair pairs[2] = {{ .cond = PTHREAD_COND_INITIALIZER }, { .cond = PTHREAD_COND_INITIALIZER }};
    struct cond_pair *pair = &pairs[idle];
    pthread_t signaller;
    uint64_t before;

    pair->ready = 0;
    lockprof_mutex_init(&pair->m, lock);
    before = block_totals(site).events;
    lockprof_mutex_lock(&pair->m);
    assert_int_equal(pthread_create(&signaller, NULL, signal_ready, pair), 0);
    while (!pair->ready) {
        if (idle)
            lockprof_cond_wait_idle(&pair->cond, &pair->m, site);
        else
            lockprof_cond_wait(&pair->cond, &pair->m, site);
    }
    lockprof_mutex_unlock(&pair->m);
    assert_int_equal(pthread_join(signaller, NULL), 0);
    lockprof_mutex_destroy(&pair->m);
    return before;
}

static void test_lockprof_cond_wait_counts_each_wait(void **state)
{
    uint64_t before;

    set_instrument(INSTRUMENT_METRICS, 1, 1);
    before = wait_for_signal("test.cond.pair", "test.cond.wait", false);
    assert_true(block_totals("test.cond.wait").events > before);
}

/* A wait for work (lockprof_cond_wait_idle) counts like any blocking, and marks its
 * site idle for /metrics' wait label; an ordinary wait's site stays "delay". */
static void test_lockprof_idle_wait_marks_its_site(void **state)
{
    uint64_t before;

    set_instrument(INSTRUMENT_METRICS, 1, 1);
    assert_int_equal(lockprof_block_site_idle("test.idle.wait"), 0);
    before = wait_for_signal("test.cond.idle", "test.idle.wait", true);
    assert_true(block_totals("test.idle.wait").events > before);
    assert_int_equal(lockprof_block_site_idle("test.idle.wait"), 1);
    wait_for_signal("test.cond.pair", "test.cond.wait", false);
    assert_int_equal(lockprof_block_site_idle("test.cond.wait"), 0);
}

static void test_lockprof_text_profile_has_go_layout(void **state)
{
    static struct lockprof_mutex m;
    const char *mutex_header = "--- mutex:\ncycles/second=1000000000\nsampling period=1\n";
    const char *block_header = "--- contention:\ncycles/second=1000000000\n";
    char *text = NULL, *line, *next;
    size_t len = 0;
    int records = 0, named_frames = 0;

    set_instrument(INSTRUMENT_PROFILE, 1, 0);
    lockprof_mutex_init(&m, "test.text");
    force_contentions(&m, "test.text", 2);
    assert_int_equal(lockprof_profile(LOCKPROF_MUTEX, 1, NULL, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    assert_memory_equal(text, mutex_header, strlen(mutex_header));
    for (line = text; *line; line = next) {
        long long delay, count;
        char at;
        next = strchr(line, '\n');
        assert_non_null(next);
        *next++ = '\0';
        if (line[0] == '\0') {
            continue;   /* the blank line that ends each record */
        } else if (line[0] == '#') {
            assert_memory_equal(line, "#\t0x", 4);
            if (strstr(line, "\tlockprof_test_holder_releases+0x"))
                named_frames++;
        } else if (line[0] != '-' && strncmp(line, "cycles", 6) != 0 && strncmp(line, "sampling", 8) != 0) {
            assert_int_equal(sscanf(line, "%lld %lld %c", &delay, &count, &at), 3);
            assert_int_equal(at, '@');
            assert_non_null(strstr(line, "@ 0x"));
            assert_true(count >= 1);
            records++;
        }
    }
    assert_true(records >= 1);
    assert_true(named_frames >= 1);
    free(text);

    assert_int_equal(lockprof_profile(LOCKPROF_BLOCK, 1, NULL, &text, &len), 0);
    assert_memory_equal(text, block_header, strlen(block_header));
    assert_null(strstr(text, "sampling period"));
    free(text);
    lockprof_mutex_destroy(&m);
}

static void test_lockprof_mutex_proto_is_scaled_by_fraction(void **state)
{
    static struct lockprof_mutex m;
    struct lockprof_snapshot *before;
    struct pprof_decoded *d;

    set_instrument(INSTRUMENT_PROFILE, 1, 0);
    lockprof_mutex_init(&m, "test.scaled");
    before = lockprof_snapshot_take(LOCKPROF_MUTEX);
    force_contentions(&m, "test.scaled", 2);
    /* Go scales by the fraction in force when the profile is written. */
    atomic_store(&instrument.mutex_fraction, 5);
    d = decoded_profile(LOCKPROF_MUTEX, before);
    assert_string_equal(pprof_decoded_string(d, d->period_type.type), "contentions");
    assert_string_equal(pprof_decoded_string(d, d->period_type.unit), "count");
    assert_int_equal(d->period, 1);
    assert_true(d->duration_nanos > 0);
    assert_int_equal(pprof_decoded_sum_for_function(d, "lockprof_test_holder_releases", 0, NULL), 10);
    pprof_decoded_free(d);
    lockprof_snapshot_free(before);
    lockprof_mutex_destroy(&m);
}

static void test_lockprof_delta_subtracts_snapshot(void **state)
{
    struct lockprof_snapshot *before;
    struct pprof_decoded *full_before, *full_after, *delta;
    const char *fn = "lockprof_test_blocks_at_site";
    char *buf = NULL;
    size_t len = 0;

    set_instrument(INSTRUMENT_PROFILE, 1, 1);
    lockprof_test_blocks_at_site("test.delta", 7000);
    full_before = decoded_profile(LOCKPROF_BLOCK, NULL);
    before = lockprof_snapshot_take(LOCKPROF_BLOCK);
    lockprof_test_blocks_at_site("test.delta", 7000);
    lockprof_test_blocks_at_site("test.delta", 7000);
    full_after = decoded_profile(LOCKPROF_BLOCK, NULL);
    delta = decoded_profile(LOCKPROF_BLOCK, before);
    assert_int_equal(pprof_decoded_sum_for_function(full_after, fn, 0, NULL) -
                     pprof_decoded_sum_for_function(full_before, fn, 0, NULL), 2);
    assert_int_equal(pprof_decoded_sum_for_function(delta, fn, 0, NULL), 2);
    assert_int_equal(pprof_decoded_sum_for_function(delta, fn, 1, NULL), 14000);
    /* A snapshot is of one kind only. */
    assert_int_equal(lockprof_profile(LOCKPROF_MUTEX, 0, before, &buf, &len), -1);
    assert_null(buf);
    pprof_decoded_free(full_before);
    pprof_decoded_free(full_after);
    pprof_decoded_free(delta);
    lockprof_snapshot_free(before);
    lockprof_snapshot_free(NULL);
}

static void test_lockprof_go_tool_names_holder(void **state)
{
    static struct lockprof_mutex m;
    struct lockprof_snapshot *before;
    char *buf = NULL, *out = NULL;
    size_t len = 0;
    int rc;

    set_instrument(INSTRUMENT_PROFILE, 1, 0);
    lockprof_mutex_init(&m, "test.go");
    before = lockprof_snapshot_take(LOCKPROF_MUTEX);
    force_contentions(&m, "test.go", 1);
    assert_int_equal(lockprof_profile(LOCKPROF_MUTEX, 0, before, &buf, &len), 0);
    lockprof_snapshot_free(before);
    lockprof_mutex_destroy(&m);
    rc = pprof_decode_go_top(buf, len, &out);
    free(buf);
    if (rc == 1)
        skip();
    if (rc != 0)
        fail_msg("go tool pprof failed: %s", out ? out : "(no output)");
    assert_non_null(strstr(out, "Type: delay"));
    assert_non_null(strstr(out, "lockprof_test_holder_releases"));
    free(out);
}

/* Two named locks, each held by its own function while a waiter queues: the mutex
 * profile charges each lock's delay to the function that held and released it. */
static void test_lockprof_two_locks_charge_each_holder(void **state)
{
    static struct lockprof_mutex a, b;
    struct lockprof_snapshot *before;
    struct pprof_decoded *d;

    set_instrument(INSTRUMENT_PROFILE, 1, 0);
    lockprof_mutex_init(&a, "test.holder.a");
    lockprof_mutex_init(&b, "test.holder.b");
    before = lockprof_snapshot_take(LOCKPROF_MUTEX);
    force_contentions_released_by(&a, "test.holder.a", 2, lockprof_test_holder_releases);
    force_contentions_released_by(&b, "test.holder.b", 3, lockprof_test_other_holder_releases);
    d = decoded_profile(LOCKPROF_MUTEX, before);
    assert_int_equal(pprof_decoded_sum_for_function(d, "lockprof_test_holder_releases", 0, NULL), 2);
    assert_int_equal(pprof_decoded_sum_for_function(d, "lockprof_test_other_holder_releases", 0, NULL), 3);
    assert_true(pprof_decoded_sum_for_function(d, "lockprof_test_other_holder_releases", 1, NULL) >= 3 * 1000000);
    /* The waiter never held a lock anyone waited for. */
    assert_int_equal(pprof_decoded_sum_for_function(d, "lockprof_test_waiter_takes_lock", 0, NULL), 0);
    pprof_decoded_free(d);
    lockprof_snapshot_free(before);
    lockprof_mutex_destroy(&a);
    lockprof_mutex_destroy(&b);
}

struct counter_run {
    struct lockprof_mutex m;
    long counter;
};

void lockprof_test_increment_worker(struct counter_run *run);
__attribute__((noinline)) void lockprof_test_increment_worker(struct counter_run *run)
{
    for (int i = 0; i < 5000; i++) {
        lockprof_mutex_lock(&run->m);
        run->counter++;
        lockprof_mutex_unlock(&run->m);
    }
}

static void *increment_main(void *arg)
{
    lockprof_test_increment_worker(arg);
    return NULL;
}

static void test_lockprof_concurrent_lockers_exclude_and_agree(void **state)
{
    static struct counter_run run;
    struct lockprof_snapshot *before, *holder_before;
    struct pprof_decoded *d;
    pthread_t threads[3];
    uint64_t contentions;

    set_instrument(INSTRUMENT_PROFILE, 1, 0);
    lockprof_mutex_init(&run.m, "test.concurrent");
    before = lockprof_snapshot_take(LOCKPROF_MUTEX_WAITER);
    holder_before = lockprof_snapshot_take(LOCKPROF_MUTEX);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, increment_main, &run), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    assert_int_equal(run.counter, 15000);
    /* However many contentions there were, at fraction 1 each one is a sample. */
    contentions = lock_totals("test.concurrent").events;
    d = decoded_profile(LOCKPROF_MUTEX_WAITER, before);
    assert_int_equal(pprof_decoded_sum_for_function(d, "lockprof_test_increment_worker", 0, NULL),
                     contentions);
    pprof_decoded_free(d);
    /* The holders' view: the same workers made each other wait. */
    d = decoded_profile(LOCKPROF_MUTEX, holder_before);
    if (contentions > 0)
        assert_true(pprof_decoded_sum_for_function(d, "lockprof_test_increment_worker", 0, NULL) > 0);
    else
        assert_int_equal(pprof_decoded_sum(d, 0), 0);
    pprof_decoded_free(d);
    lockprof_snapshot_free(holder_before);
    lockprof_snapshot_free(before);
    lockprof_mutex_destroy(&run.m);
}

/* 2^depth distinct stacks: each level calls on through one of two call sites. */
void lockprof_test_branch(unsigned bits, int depth);
__attribute__((noinline, noipa)) void lockprof_test_branch(unsigned bits, int depth)
{
    /* Different code after each call keeps the compiler from merging the two. */
    if (depth == 0) {
        lockprof_test_blocks_at_site("test.overflow", 1000);
    } else if (bits & 1) {
        lockprof_test_branch(bits >> 1, depth - 1);
        __asm__ volatile("nop" ::: "memory");
    } else {
        lockprof_test_branch(bits >> 1, depth - 1);
        __asm__ volatile("nop; nop" ::: "memory");
    }
}

/* Runs late: it fills the stack table for the rest of the process. */
static void test_lockprof_stack_table_overflow_keeps_totals(void **state)
{
    struct lockprof_snapshot *before;
    struct pprof_decoded *d;
    int64_t overflowed = 0;

    set_instrument(INSTRUMENT_PROFILE, 1, 1);
    before = lockprof_snapshot_take(LOCKPROF_BLOCK);
    for (unsigned bits = 0; bits < 2048; bits++)
        lockprof_test_branch(bits, 11);
    d = decoded_profile(LOCKPROF_BLOCK, before);
    /* At most 1024 stacks are kept, yet every event is in the total: the rest are
     * in the overflow record, a sample with no stack. */
    assert_true(d->nsamples <= 1024 + 1);
    assert_int_equal(pprof_decoded_sum(d, 0), 2048);
    for (size_t i = 0; i < d->nsamples; i++)
        if (d->samples[i].nlocation_ids == 0)
            overflowed += d->samples[i].values[0];
    assert_true(overflowed >= 1024);
    assert_int_equal(pprof_decoded_sum(d, 1), 2048 * 1000);
    pprof_decoded_free(d);
    lockprof_snapshot_free(before);
}

/* Runs last: it fills the name table for the rest of the process. */
static void test_lockprof_name_table_overflow_goes_to_other(void **state)
{
    static struct lockprof_mutex locks[80];
    static char names[80][16];
    int visits = 0;
    struct site_totals other;

    set_instrument(INSTRUMENT_METRICS, 1, 1);
    for (int i = 0; i < 80; i++) {
        snprintf(names[i], sizeof names[i], "test.many.%d", i);
        lockprof_mutex_init(&locks[i], names[i]);
    }
    force_contentions(&locks[79], "other", 1);
    other = lock_totals("other");
    assert_int_equal(other.visits, 1);
    assert_int_equal(other.events, 1);
    for (int i = 0; i < 80; i++)
        visits += lock_totals(names[i]).visits;
    assert_true(visits < 80);
    assert_int_equal(lock_totals(names[0]).visits, 1);
    for (int i = 0; i < 80; i++)
        lockprof_mutex_destroy(&locks[i]);
}

/* As orderd does at start: libunwind sets itself up on first use, and two threads
 * capturing stacks at once must not both be first. */
static int warm_up_unwinder(void **state)
{
    char err[128];
    (void)state;
    return stacks_init(err, sizeof err) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lockprof_uncontended_lock_counts_nothing),
        cmocka_unit_test(test_lockprof_contention_counts_in_named_site),
        cmocka_unit_test(test_lockprof_shared_name_counts_together),
        cmocka_unit_test(test_lockprof_off_level_counts_nothing),
        cmocka_unit_test(test_lockprof_fraction_one_samples_every_contention),
        cmocka_unit_test(test_lockprof_fraction_zero_samples_none),
        cmocka_unit_test(test_lockprof_mutex_sampler_keeps_one_in_fraction),
        cmocka_unit_test(test_lockprof_block_sampler_follows_rate),
        cmocka_unit_test(test_lockprof_block_record_counts_and_profiles),
        cmocka_unit_test(test_lockprof_short_block_events_are_unbiased),
        cmocka_unit_test(test_lockprof_block_rate_zero_records_nothing),
        cmocka_unit_test(test_lockprof_cond_timedwait_records_block),
        cmocka_unit_test(test_lockprof_cond_wait_counts_each_wait),
        cmocka_unit_test(test_lockprof_idle_wait_marks_its_site),
        cmocka_unit_test(test_lockprof_text_profile_has_go_layout),
        cmocka_unit_test(test_lockprof_mutex_proto_is_scaled_by_fraction),
        cmocka_unit_test(test_lockprof_delta_subtracts_snapshot),
        cmocka_unit_test(test_lockprof_go_tool_names_holder),
        cmocka_unit_test(test_lockprof_two_locks_charge_each_holder),
        cmocka_unit_test(test_lockprof_concurrent_lockers_exclude_and_agree),
        cmocka_unit_test(test_lockprof_stack_table_overflow_keeps_totals),
        cmocka_unit_test(test_lockprof_name_table_overflow_goes_to_other),
    };
    return cmocka_run_group_tests(tests, warm_up_unwinder, NULL);
}
