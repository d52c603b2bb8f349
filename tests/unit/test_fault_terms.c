/* Tests for service/fault.c: the fail(9) term grammar (good and bad terms, with the
 * position an error names), canonical formatting, percent and count semantics (the
 * count exact under concurrent callers, also while the term is being replaced), the
 * heal and holding hooks, and "a=T;b=T" specs. The registry is global, so every test
 * starts from all faults cleared and no hooks. What each fault does to a running orderd
 * is tested in integration/test_orderd_fault_symptoms.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "fault.h"
#include "fault_fixture.h"
#include "units.h"

#define NO_COUNT (-1)
#define THREADS 4

static int reset_registry(void **state)
{
    (void)state;
    for (int i = 0; i < FAULT_COUNT; i++) {
        fault_register_hooks((enum fault_id)i, NULL, NULL);
        fault_clear((enum fault_id)i);
    }
    return 0;
}

static void test_fault_table_names_defaults_culprits(void **state)
{
    static const struct {
        enum fault_id id;
        const char *name;
        enum fault_arg_kind kind;
        int64_t default_arg;
        const char *culprit;
    } table[] = {
        {FAULT_LEAK_THREADS, "leak.threads", FAULT_ARG_NONE, 0, "leak_notifier_wait"},
        {FAULT_LEAK_MEMORY, "leak.memory", FAULT_ARG_SIZE, 4096, "leak_memory_retain"},
        {FAULT_LOCK_CACHE, "lock.cache", FAULT_ARG_DURATION, 200000, "cache_get_global"},
        {FAULT_QUEUE_STALL, "queue.stall", FAULT_ARG_DURATION, 50000000, "worker_process_stalled"},
        {FAULT_QUEUE_BLOCK, "queue.block", FAULT_ARG_NONE, 0, "queue_push_blocking"},
        {FAULT_SLOW, "slow", FAULT_ARG_DURATION, 100000, "request_burn_cpu"},
        {FAULT_SLOW_WORK, "slow.work", FAULT_ARG_COUNT, 1000, "request_burn_cpu"},
    };
    (void)state;
    assert_int_equal(sizeof table / sizeof table[0], FAULT_COUNT);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        assert_string_equal(fault_name(table[i].id), table[i].name);
        assert_int_equal(fault_lookup(table[i].name), table[i].id);
        assert_int_equal(fault_arg_kind(table[i].id), table[i].kind);
        assert_int_equal(fault_default_arg(table[i].id), table[i].default_arg);
        assert_string_equal(fault_culprit(table[i].id), table[i].culprit);
    }
    assert_int_equal(fault_lookup("lock.cahce"), -1);
    assert_int_equal(fault_lookup("lock.cache "), -1);
    assert_int_equal(fault_lookup(""), -1);
    assert_int_equal(fault_lookup(NULL), -1);
}

struct good_term {
    enum fault_id id;
    const char *text;
    bool on;
    double percent;
    int64_t max_count;
    bool has_arg;
    int64_t arg;
    const char *canonical;
};

static void test_fault_term_parse_good_terms(void **state)
{
    static const struct good_term cases[] = {
        {FAULT_SLOW, "off", false, 100, NO_COUNT, false, 0, "off"},
        {FAULT_SLOW, " \toff\n", false, 100, NO_COUNT, false, 0, "off"},
        {FAULT_SLOW, "on", true, 100, NO_COUNT, false, 100000, "on"},
        {FAULT_SLOW, "  20%on  ", true, 20, NO_COUNT, false, 100000, "20%on"},
        {FAULT_SLOW, "0.5%on", true, 0.5, NO_COUNT, false, 100000, "0.5%on"},
        {FAULT_SLOW, "0.0001%on", true, 0.0001, NO_COUNT, false, 100000, "0.0001%on"},
        {FAULT_SLOW, "12.3456%on", true, 12.3456, NO_COUNT, false, 100000, "12.3456%on"},
        {FAULT_SLOW, "05.50%on", true, 5.5, NO_COUNT, false, 100000, "5.5%on"},
        {FAULT_SLOW, "100%on", true, 100, NO_COUNT, false, 100000, "on"},
        {FAULT_SLOW, "100.0%on", true, 100, NO_COUNT, false, 100000, "on"},
        {FAULT_SLOW, "1*on", true, 100, 1, false, 100000, "1*on"},
        {FAULT_SLOW, "100*on", true, 100, 100, false, 100000, "100*on"},
        {FAULT_SLOW, "1000000000000*on", true, 100, 1000000000000, false, 100000, "1000000000000*on"},
        {FAULT_SLOW, "5%100*on", true, 5, 100, false, 100000, "5%100*on"},
        {FAULT_SLOW, "on(1.5ms)", true, 100, NO_COUNT, true, 1500000, "on(1.5ms)"},
        {FAULT_LOCK_CACHE, "5%100*on(200us)", true, 5, 100, true, 200000, "5%100*on(200us)"},
        {FAULT_LOCK_CACHE, "on(0)", true, 100, NO_COUNT, true, 0, "on(0ns)"},
        {FAULT_LOCK_CACHE, "on(2000ms)", true, 100, NO_COUNT, true, 2000000000, "on(2s)"},
        {FAULT_QUEUE_STALL, "on", true, 100, NO_COUNT, false, 50000000, "on"},
        {FAULT_QUEUE_STALL, "on(inf)", true, 100, NO_COUNT, true, UNITS_DURATION_INF, "on(inf)"},
        {FAULT_QUEUE_STALL, "3*on(1.234567891s)", true, 100, 3, true, 1234567891,
         "3*on(1.234567891s)"},
        {FAULT_LEAK_MEMORY, "on", true, 100, NO_COUNT, false, 4096, "on"},
        {FAULT_LEAK_MEMORY, "on(4k)", true, 100, NO_COUNT, true, 4096, "on(4KiB)"},
        {FAULT_LEAK_MEMORY, "on(1000)", true, 100, NO_COUNT, true, 1000, "on(1000)"},
        {FAULT_LEAK_MEMORY, "50%on(1.5MiB)", true, 50, NO_COUNT, true, 1572864, "50%on(1536KiB)"},
        {FAULT_LEAK_MEMORY, "on(2GB)", true, 100, NO_COUNT, true, 2147483648, "on(2GiB)"},
        {FAULT_LEAK_THREADS, "20%on", true, 20, NO_COUNT, false, 0, "20%on"},
        {FAULT_QUEUE_BLOCK, "10*on", true, 100, 10, false, 0, "10*on"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct good_term *c = &cases[i];
        struct fault_term t, again;
        char err[256] = "", buf[64];

        if (fault_term_parse(c->id, c->text, &t, err, sizeof err) != 0)
            fail_msg("%s '%s' rejected: %s", fault_name(c->id), c->text, err);
        if (t.on != c->on || t.percent != c->percent || t.max_count != c->max_count ||
            t.has_arg != c->has_arg || (c->on && t.arg != c->arg))
            fail_msg("'%s' parsed as on=%d percent=%g count=%lld has_arg=%d arg=%lld", c->text,
                     t.on, t.percent, (long long)t.max_count, t.has_arg, (long long)t.arg);
        assert_string_equal(fault_term_format(c->id, &t, buf, sizeof buf), c->canonical);

        /* The canonical form reads back to the same term. */
        if (fault_term_parse(c->id, buf, &again, err, sizeof err) != 0)
            fail_msg("canonical '%s' rejected: %s", buf, err);
        assert_int_equal(again.on, t.on);
        assert_true(again.percent == t.percent);
        assert_int_equal(again.max_count, t.max_count);
        assert_int_equal(again.has_arg, t.has_arg);
        if (t.on)
            assert_int_equal(again.arg, t.arg);
    }
}

struct bad_term {
    enum fault_id id;
    const char *text;
    const char *err_part; /* names what is wrong and where */
};

static void test_fault_term_parse_bad_terms(void **state)
{
    static const struct bad_term cases[] = {
        {FAULT_SLOW, "", "empty term"},
        {FAULT_SLOW, " \t ", "empty term"},
        {FAULT_SLOW, "x", "bad term 'x': expected 'on' at character 1"},
        {FAULT_SLOW, "offf", "expected 'on' at character 1"},
        {FAULT_SLOW, "On", "expected 'on' at character 1"},
        {FAULT_SLOW, "%on", "bad term '%on': expected a percentage before '%' at character 1"},
        {FAULT_SLOW, "-5%on", "expected a percentage before '%' at character 1"},
        {FAULT_SLOW, "5x%on", "expected a percentage before '%' at character 2"},
        {FAULT_SLOW, "0%on", "above 0 and at most 100 at character 1"},
        {FAULT_SLOW, "0.0%on", "above 0 and at most 100 at character 1"},
        {FAULT_SLOW, "101%on", "above 0 and at most 100 at character 1"},
        {FAULT_SLOW, "100.0001%on", "above 0 and at most 100 at character 1"},
        {FAULT_SLOW, "1.23456%on", "at most 4 decimal places in a percentage at character 7"},
        {FAULT_SLOW, "5.%on", "expected a digit after '.' in the percentage at character 3"},
        {FAULT_SLOW, "5%%on", "bad term '5%%on': expected 'on' at character 3"},
        {FAULT_SLOW, "5%x*on", "bad term '5%x*on': expected a count before '*' at character 3"},
        {FAULT_SLOW, "*on", "expected a count before '*' at character 1"},
        {FAULT_SLOW, "5%*on", "expected a count before '*' at character 3"},
        {FAULT_SLOW, "1.5*on", "expected a count before '*' at character 2"},
        {FAULT_SLOW, "0*on", "the count must be at least 1 at character 1"},
        {FAULT_SLOW, "1000000000001*on", "the count is at most 1000000000000 at character 1"},
        {FAULT_SLOW, "5*5%on", "expected a percentage before '%' at character 2"},
        {FAULT_SLOW, "5on", "expected '%' or '*' after a number at character 2"},
        {FAULT_SLOW, "5%10on", "expected '%' or '*' after a number at character 5"},
        {FAULT_SLOW, "5% on", "no spaces allowed inside a term at character 3"},
        {FAULT_SLOW, "on (1ms)", "no spaces allowed inside a term at character 3"},
        {FAULT_SLOW, "5%off", "'off' takes no percentage or count at character 3"},
        {FAULT_SLOW, "onn", "expected '(' or the end of the term after 'on' at character 3"},
        {FAULT_SLOW, "on(1ms", "missing ')' at character 7"},
        {FAULT_SLOW, "on(1ms)x", "unexpected text after ')' at character 8"},
        {FAULT_SLOW, "on(1ms))", "unexpected text after ')' at character 8"},
        {FAULT_LOCK_CACHE, "on(abc)",
         "lock.cache takes a duration argument: bad duration 'abc'"},
        {FAULT_LOCK_CACHE, "on(abc)", "(at character 4 of 'on(abc)')"},
        {FAULT_LOCK_CACHE, "on(5)", "a unit is needed"},
        {FAULT_LOCK_CACHE, "on(5%)", "bad duration '5%'"},
        {FAULT_LOCK_CACHE, "on(-5ms)", "must not be negative"},
        {FAULT_LOCK_CACHE, "on()", "lock.cache takes a duration argument: empty '()' at character 3"},
        {FAULT_LOCK_CACHE, "on(inf)", "only queue.stall may be 'inf'"},
        {FAULT_SLOW, "on(inf)", "only queue.stall may be 'inf'"},
        {FAULT_LEAK_THREADS, "on(1)", "leak.threads takes no argument, found '(1)' at character 3"},
        {FAULT_QUEUE_BLOCK, "5%on()", "queue.block takes no argument"},
        {FAULT_LEAK_MEMORY, "on(4x)", "leak.memory takes a size argument: bad size '4x'"},
        {FAULT_LEAK_MEMORY, "on(1.5)", "a byte count must be whole"},
        {FAULT_LEAK_MEMORY, "on(9223372036854775808)", "too large"},
        {FAULT_COUNT, "on", "unknown fault id"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad_term *c = &cases[i];
        struct fault_term t = {.on = true, .percent = 42, .max_count = 7, .arg = 99};
        char err[512] = "";

        if (fault_term_parse(c->id, c->text, &t, err, sizeof err) != -1)
            fail_msg("'%s' accepted", c->text);
        if (!strstr(err, c->err_part))
            fail_msg("'%s': error \"%s\" lacks \"%s\"", c->text, err, c->err_part);
        /* Left unchanged on failure. */
        assert_true(t.on && t.percent == 42 && t.max_count == 7 && t.arg == 99);
    }
}

static void test_fault_term_parse_length_limit(void **state)
{
    struct fault_term t;
    char term[130], err[64] = "";
    (void)state;

    /* 128 bytes, padding included, is the most a term may be. */
    memset(term, ' ', sizeof term);
    memcpy(term + 100, "5%on", 4);
    term[128] = '\0';
    assert_int_equal(fault_term_parse(FAULT_SLOW, term, &t, err, sizeof err), 0);
    assert_true(t.percent == 5);
    term[128] = ' ';
    term[129] = '\0';
    assert_int_equal(fault_term_parse(FAULT_SLOW, term, &t, err, sizeof err), -1);
    assert_string_equal(err, "term too long (at most 128 bytes)");

    assert_int_equal(fault_term_parse(FAULT_SLOW, NULL, &t, err, sizeof err), -1);
    assert_string_equal(err, "no term given");
    assert_int_equal(fault_term_parse(FAULT_SLOW, "bad", &t, NULL, 0), -1);
}

static void test_fault_term_format_off_and_truncation(void **state)
{
    struct fault_term t = {.on = true, .percent = 5, .max_count = 100, .has_arg = true,
                           .arg = 200000};
    char small[6], buf[64];
    (void)state;
    assert_string_equal(fault_term_format(FAULT_SLOW, NULL, buf, sizeof buf), "off");
    memset(small, 'Z', sizeof small);
    assert_string_equal(fault_term_format(FAULT_LOCK_CACHE, &t, small, sizeof small), "5%100");
}

static void test_fault_fires_off_by_default_and_after_clear(void **state)
{
    int64_t arg = -7;
    (void)state;
    for (int i = 0; i < FAULT_COUNT; i++) {
        assert_false(fault_fires((enum fault_id)i, &arg));
        assert_false(fault_is_on((enum fault_id)i));
    }
    fault_fixture_set(FAULT_SLOW, "on");
    assert_true(fault_fires(FAULT_SLOW, NULL));
    fault_clear(FAULT_SLOW);
    assert_false(fault_fires(FAULT_SLOW, &arg));
    fault_fixture_set(FAULT_SLOW, "on");
    fault_fixture_set(FAULT_SLOW, "off");
    assert_false(fault_fires(FAULT_SLOW, &arg));
    assert_int_equal(arg, -7);
    assert_false(fault_fires(FAULT_COUNT, &arg));
}

static void test_fault_fires_gives_default_or_term_arg(void **state)
{
    int64_t arg = 0;
    (void)state;
    fault_fixture_set(FAULT_LOCK_CACHE, "on");
    assert_true(fault_fires(FAULT_LOCK_CACHE, &arg));
    assert_int_equal(arg, 200000);
    fault_fixture_set(FAULT_LOCK_CACHE, "on(3ms)");
    assert_true(fault_fires(FAULT_LOCK_CACHE, &arg));
    assert_int_equal(arg, 3000000);
    fault_fixture_set(FAULT_QUEUE_STALL, "on(inf)");
    assert_true(fault_fires(FAULT_QUEUE_STALL, &arg));
    assert_int_equal(arg, UNITS_DURATION_INF);
    fault_fixture_set(FAULT_LEAK_MEMORY, "on");
    assert_true(fault_fires(FAULT_LEAK_MEMORY, &arg));
    assert_int_equal(arg, 4096);
    /* Faults are independent. */
    assert_false(fault_fires(FAULT_SLOW, &arg));
}

static int count_fires(enum fault_id id, int events)
{
    int fired = 0;
    for (int i = 0; i < events; i++)
        fired += fault_fires(id, NULL);
    return fired;
}

static void test_fault_percent_fires_that_share(void **state)
{
    struct fault_status st;
    int fired, again;
    (void)state;

    fault_seed_thread(1);
    fault_fixture_set(FAULT_SLOW, "20%on");
    fired = count_fires(FAULT_SLOW, 100000);
    assert_in_range(fired, 18000, 22000);
    fault_status(FAULT_SLOW, &st);
    assert_int_equal(st.fired, (uint64_t)fired);

    /* The same seed repeats the same run. */
    fault_seed_thread(1);
    fault_fixture_set(FAULT_SLOW, "20%on");
    again = count_fires(FAULT_SLOW, 100000);
    assert_int_equal(again, fired);

    fault_seed_thread(2);
    fault_fixture_set(FAULT_SLOW, "0.5%on");
    assert_in_range(count_fires(FAULT_SLOW, 100000), 350, 650);

    fault_fixture_set(FAULT_SLOW, "100%on");
    assert_int_equal(count_fires(FAULT_SLOW, 1000), 1000);
}

static void test_fault_percent_and_count_combine(void **state)
{
    struct fault_status st;
    int fired_at = -1, fired = 0;
    (void)state;
    fault_seed_thread(3);
    fault_fixture_set(FAULT_SLOW, "10%50*on");
    for (int i = 0; i < 100000; i++)
        if (fault_fires(FAULT_SLOW, NULL) && ++fired == 50)
            fired_at = i;
    assert_int_equal(fired, 50);
    /* About 500 events to reach 50 firings at 10%; far from the 50 of a plain count. */
    assert_in_range(fired_at, 250, 1000);
    fault_status(FAULT_SLOW, &st);
    assert_int_equal(st.fired, 50);
    assert_false(st.on);
    assert_string_equal(st.term, "10%50*on");
}

struct hammer {
    pthread_barrier_t *start;
    enum fault_id id;
    int events;
    atomic_bool *stop;    /* when set, run until it turns true instead */
    long fired;
};

static void *hammer_run(void *p)
{
    struct hammer *h = p;
    int64_t arg;

    fault_seed_thread((uint64_t)(uintptr_t)h);
    pthread_barrier_wait(h->start);
    if (h->stop) {
        while (!atomic_load(h->stop))
            h->fired += fault_fires(h->id, &arg);
    } else {
        for (int i = 0; i < h->events; i++)
            h->fired += fault_fires(h->id, &arg);
    }
    return NULL;
}

static long run_hammers(enum fault_id id, int events)
{
    pthread_barrier_t start;
    pthread_t threads[THREADS];
    struct hammer h[THREADS];
    long total = 0;

    pthread_barrier_init(&start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        h[i] = (struct hammer){.start = &start, .id = id, .events = events};
        assert_int_equal(pthread_create(&threads[i], NULL, hammer_run, &h[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        total += h[i].fired;
    }
    pthread_barrier_destroy(&start);
    return total;
}

static void test_fault_count_exact_under_threads(void **state)
{
    struct fault_status st;
    (void)state;

    fault_fixture_set(FAULT_LOCK_CACHE, "100*on");
    assert_int_equal(run_hammers(FAULT_LOCK_CACHE, 20000), 100);
    fault_status(FAULT_LOCK_CACHE, &st);
    assert_int_equal(st.fired, 100);
    assert_false(fault_is_on(FAULT_LOCK_CACHE));

    fault_fixture_set(FAULT_LOCK_CACHE, "50%100*on");
    assert_int_equal(run_hammers(FAULT_LOCK_CACHE, 20000), 100);

    fault_fixture_set(FAULT_LOCK_CACHE, "on");
    assert_int_equal(run_hammers(FAULT_LOCK_CACHE, 5000), THREADS * 5000);
    fault_status(FAULT_LOCK_CACHE, &st);
    assert_int_equal(st.fired, THREADS * 5000);
}

/* The term is replaced while threads fire: each "3*on" fires exactly three times,
 * none of an old term's count leaks into the next, and nothing fires while off. */
static void test_fault_count_exact_while_term_replaced(void **state)
{
    enum { CYCLES = 200 };
    pthread_barrier_t start;
    pthread_t threads[THREADS];
    struct hammer h[THREADS];
    atomic_bool stop = false;
    long total = 0;
    (void)state;

    pthread_barrier_init(&start, NULL, THREADS + 1);
    for (int i = 0; i < THREADS; i++) {
        h[i] = (struct hammer){.start = &start, .id = FAULT_SLOW, .stop = &stop};
        assert_int_equal(pthread_create(&threads[i], NULL, hammer_run, &h[i]), 0);
    }
    pthread_barrier_wait(&start);
    for (int c = 0; c < CYCLES; c++) {
        struct fault_status st;
        fault_fixture_set(FAULT_SLOW, c % 2 ? "3*on(1ms)" : "3*on");
        while (fault_is_on(FAULT_SLOW))
            sched_yield();
        fault_status(FAULT_SLOW, &st);
        assert_int_equal(st.fired, 3);
        if (c % 10 == 0)
            fault_clear(FAULT_SLOW);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        total += h[i].fired;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(total, 3 * CYCLES);
}

static atomic_int heal_calls;
static atomic_int heal_saw_on;

static void heal_counting(void)
{
    struct fault_status st;
    atomic_fetch_add(&heal_calls, 1);
    /* Would deadlock if the registry lock were still held. */
    fault_status(FAULT_LEAK_THREADS, &st);
    atomic_store(&heal_saw_on, st.on || fault_is_on(FAULT_LEAK_THREADS));
}

static void holding_three(uint64_t *threads, uint64_t *bytes)
{
    *threads = 3;
    *bytes = 12288;
}

static void test_fault_clear_calls_heal_once(void **state)
{
    (void)state;
    atomic_store(&heal_calls, 0);
    atomic_store(&heal_saw_on, 1);
    fault_register_hooks(FAULT_LEAK_THREADS, heal_counting, NULL);
    fault_fixture_set(FAULT_LEAK_THREADS, "on");

    fault_fixture_set(FAULT_LEAK_THREADS, "off");
    assert_int_equal(atomic_load(&heal_calls), 0); /* only clearing heals */

    fault_clear(FAULT_LEAK_THREADS);
    assert_int_equal(atomic_load(&heal_calls), 1);
    assert_int_equal(atomic_load(&heal_saw_on), 0); /* off before healing */

    fault_clear(FAULT_LEAK_MEMORY); /* another fault's hook is not called */
    assert_int_equal(atomic_load(&heal_calls), 1);
}

static void test_fault_status_reports_hooks_and_capped(void **state)
{
    struct fault_status st;
    (void)state;

    fault_status(FAULT_LEAK_MEMORY, &st);
    assert_string_equal(st.name, "leak.memory");
    assert_string_equal(st.culprit, "leak_memory_retain");
    assert_false(st.on);
    assert_string_equal(st.term, "off");
    assert_int_equal(st.held_threads, 0);
    assert_int_equal(st.held_bytes, 0);
    assert_false(st.capped);

    fault_register_hooks(FAULT_LEAK_MEMORY, NULL, holding_three);
    fault_fixture_set(FAULT_LEAK_MEMORY, " 25%on(8k) ");
    for (int i = 0; i < 3;)
        i += fault_fires(FAULT_LEAK_MEMORY, NULL);
    fault_note_capped(FAULT_LEAK_MEMORY, true);
    fault_status(FAULT_LEAK_MEMORY, &st);
    assert_true(st.on);
    assert_string_equal(st.term, "25%on(8KiB)");
    assert_int_equal(st.fired, 3);
    assert_int_equal(st.held_threads, 3);
    assert_int_equal(st.held_bytes, 12288);
    assert_true(st.capped);

    fault_note_capped(FAULT_LEAK_MEMORY, false);
    fault_status(FAULT_LEAK_MEMORY, &st);
    assert_false(st.capped);

    fault_note_capped(FAULT_LEAK_MEMORY, true);
    fault_clear(FAULT_LEAK_MEMORY);
    fault_status(FAULT_LEAK_MEMORY, &st);
    assert_false(st.capped);
    assert_false(st.on);
    assert_int_equal(st.fired, 0);

    fault_status(FAULT_COUNT, &st);
    assert_null(st.name);
}

static void assert_term(enum fault_id id, const char *term)
{
    struct fault_status st;
    fault_status(id, &st);
    if (strcmp(st.term, term) != 0)
        fail_msg("%s is '%s', want '%s'", fault_name(id), st.term, term);
}

static void test_fault_set_from_spec_several(void **state)
{
    char err[256] = "";
    (void)state;

    assert_int_equal(fault_set_from_spec("lock.cache=on(1ms)", err, sizeof err), 0);
    assert_term(FAULT_LOCK_CACHE, "on(1ms)");

    assert_int_equal(fault_set_from_spec(" leak.memory = 5%on(8k) ;; ;slow=10*on;"
                                         "queue.stall=on(inf);slow=20%on", err, sizeof err), 0);
    assert_term(FAULT_LEAK_MEMORY, "5%on(8KiB)");
    assert_term(FAULT_QUEUE_STALL, "on(inf)");
    assert_term(FAULT_SLOW, "20%on"); /* the later of two wins */
    assert_term(FAULT_LOCK_CACHE, "on(1ms)");
    assert_term(FAULT_LEAK_THREADS, "off");
    assert_term(FAULT_QUEUE_BLOCK, "off");

    assert_int_equal(fault_set_from_spec("lock.cache=off", err, sizeof err), 0);
    assert_false(fault_is_on(FAULT_LOCK_CACHE));
    assert_int_equal(fault_set_from_spec(" ; ", err, sizeof err), 0);
}

static void test_fault_set_from_spec_error_sets_nothing(void **state)
{
    static const struct {
        const char *spec;
        const char *err;
    } cases[] = {
        {"slow=on;lock.cahce=on;queue.block=on",
         "unknown fault 'lock.cahce' (known: leak.threads, leak.memory, lock.cache, "
         "queue.stall, queue.block, slow, slow.work)"},
        {"slow=on; lock.cache=5%x*on ;queue.block=on",
         "lock.cache: bad term '5%x*on': expected a count before '*' at character 3"},
        {"slow=on;leak.threads=on(5);queue.block=on",
         "leak.threads: leak.threads takes no argument"},
        {"slow=on;queue.block;leak.threads=on", "expected NAME=TERM, got 'queue.block'"},
        {"slow=on;=on", "expected NAME=TERM, got '=on'"},
        {"slow=on;lock.cache=", "lock.cache: empty term"},
    };
    char err[512];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        assert_int_equal(fault_set_from_spec(cases[i].spec, err, sizeof err), -1);
        if (!strstr(err, cases[i].err))
            fail_msg("'%s': error \"%s\" lacks \"%s\"", cases[i].spec, err, cases[i].err);
        for (int id = 0; id < FAULT_COUNT; id++)
            if (fault_is_on((enum fault_id)id))
                fail_msg("'%s' set %s", cases[i].spec, fault_name((enum fault_id)id));
    }
}

static void test_fault_set_from_spec_too_long(void **state)
{
    char spec[5000], err[256] = "";
    (void)state;
    memset(spec, ';', sizeof spec - 1);
    spec[sizeof spec - 1] = '\0';
    memcpy(spec, "slow=on", 7);
    assert_int_equal(fault_set_from_spec(spec, err, sizeof err), -1);
    assert_non_null(strstr(err, "too long"));
    assert_false(fault_is_on(FAULT_SLOW));
    assert_int_equal(fault_set_from_spec(NULL, err, sizeof err), -1);
}

#define TEST(name) cmocka_unit_test_setup(name, reset_registry)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_fault_table_names_defaults_culprits),
        TEST(test_fault_term_parse_good_terms),
        TEST(test_fault_term_parse_bad_terms),
        TEST(test_fault_term_parse_length_limit),
        TEST(test_fault_term_format_off_and_truncation),
        TEST(test_fault_fires_off_by_default_and_after_clear),
        TEST(test_fault_fires_gives_default_or_term_arg),
        TEST(test_fault_percent_fires_that_share),
        TEST(test_fault_percent_and_count_combine),
        TEST(test_fault_count_exact_under_threads),
        TEST(test_fault_count_exact_while_term_replaced),
        TEST(test_fault_clear_calls_heal_once),
        TEST(test_fault_status_reports_hooks_and_capped),
        TEST(test_fault_set_from_spec_several),
        TEST(test_fault_set_from_spec_error_sets_nothing),
        TEST(test_fault_set_from_spec_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
