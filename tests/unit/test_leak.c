/* Tests for service/leak.c: the two leak faults hold what they are told to, never more
 * than their caps (and say they are capped), and clearing the fault heals — the
 * notifier threads wake and exit, the retained memory goes back to the heap (as the
 * heap profiler's live totals show). The fault registry is global, so every test
 * starts with both faults cleared and nothing held. alarm() ends a hung run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>
#include <unistd.h>

#include "fault_fixture.h"
#include "heapprof.h"
#include "leak.h"
#include "log.h"
#include "threads.h"

#define CAP_THREADS 3
#define CAP_BYTES (10 * 1024)

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int setup(void **state)
{
    (void)state;
    log_set_level(LOG_ERROR);
    leak_init(CAP_THREADS, CAP_BYTES);
    fault_clear(FAULT_LEAK_THREADS);
    fault_clear(FAULT_LEAK_MEMORY);
    alarm(30);
    return leak_threads_held() == 0 && leak_bytes_held() == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    leak_release_all();
    fault_clear(FAULT_LEAK_THREADS);
    fault_clear(FAULT_LEAK_MEMORY);
    /* Released notifiers exit on their own time: wait, so the next test starts clean. */
    for (int i = 0; i < 500 && leak_threads_held() > 0; i++)
        sleep_ms(10);
    alarm(0);
    return leak_threads_held() == 0 ? 0 : -1;
}

static unsigned fault_threads(void)
{
    unsigned counts[THREADS_ROLE_COUNT][THREADS_STATE_COUNT];
    unsigned n = 0;
    threads_count(counts);
    for (int s = 0; s < THREADS_STATE_COUNT; s++)
        n += counts[THREADS_ROLE_FAULT][s];
    return n;
}

static void test_leak_nothing_held_while_the_faults_are_off(void **state)
{
    (void)state;
    for (int i = 0; i < 10; i++) {
        leak_threads_on_order();
        leak_memory_on_request();
    }
    assert_int_equal(leak_threads_held(), 0);
    assert_int_equal(leak_bytes_held(), 0);
    assert_int_equal(fault_threads(), 0);
}

static void test_leak_threads_cap_holds_and_clear_releases_them(void **state)
{
    struct fault_status st;
    (void)state;
    fault_fixture_set(FAULT_LEAK_THREADS, "on");
    for (int i = 0; i < CAP_THREADS + 4; i++)
        leak_threads_on_order();
    assert_int_equal(leak_threads_held(), CAP_THREADS);
    /* The notifiers are real threads, parked in the culprit. */
    for (int i = 0; i < 200 && fault_threads() < CAP_THREADS; i++)
        sleep_ms(10);
    assert_int_equal(fault_threads(), CAP_THREADS);
    fault_status(FAULT_LEAK_THREADS, &st);
    assert_true(st.capped);
    assert_int_equal(st.held_threads, CAP_THREADS);

    /* Clearing runs the heal hook: every notifier wakes and exits. */
    fault_clear(FAULT_LEAK_THREADS);
    for (int i = 0; i < 500 && (leak_threads_held() > 0 || fault_threads() > 0); i++)
        sleep_ms(10);
    assert_int_equal(leak_threads_held(), 0);
    assert_int_equal(fault_threads(), 0);
    fault_status(FAULT_LEAK_THREADS, &st);
    assert_false(st.capped);

    /* Healed, the fault leaks again when switched back on. */
    fault_fixture_set(FAULT_LEAK_THREADS, "on");
    leak_threads_on_order();
    assert_int_equal(leak_threads_held(), 1);
}

static void test_leak_memory_cap_holds_and_clear_frees_it(void **state)
{
    struct fault_status st;
    uint64_t live_before, live_during, live_after;
    (void)state;
    heapprof_totals(&live_before, NULL, NULL, NULL);
    fault_fixture_set(FAULT_LEAK_MEMORY, "on(4k)");
    for (int i = 0; i < 5; i++)
        leak_memory_on_request();
    /* Two 4 KiB blocks fit under 10 KiB; a third would not. */
    assert_int_equal(leak_bytes_held(), 2 * 4096);
    fault_status(FAULT_LEAK_MEMORY, &st);
    assert_true(st.capped);
    assert_int_equal(st.held_bytes, 2 * 4096);
    heapprof_totals(&live_during, NULL, NULL, NULL);
    assert_true(live_during >= live_before + 2 * 4096);

    fault_clear(FAULT_LEAK_MEMORY);
    assert_int_equal(leak_bytes_held(), 0);
    heapprof_totals(&live_after, NULL, NULL, NULL);
    assert_int_equal(live_after, live_before);
    fault_status(FAULT_LEAK_MEMORY, &st);
    assert_false(st.capped);
}

static void test_leak_memory_retain_refuses_over_the_cap(void **state)
{
    (void)state;
    assert_null(leak_memory_retain(CAP_BYTES + 1));
    assert_int_equal(leak_bytes_held(), 0);
    /* A block too small for its list link is rounded up, never under-counted. */
    assert_non_null(leak_memory_retain(1));
    assert_true(leak_bytes_held() > 1);
    assert_true(leak_bytes_held() <= 64);
    leak_release_all();
    assert_int_equal(leak_bytes_held(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_leak_nothing_held_while_the_faults_are_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leak_threads_cap_holds_and_clear_releases_them, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leak_memory_cap_holds_and_clear_frees_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leak_memory_retain_refuses_over_the_cap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
