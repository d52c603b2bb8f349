/* Unit tests for proftext: the thread, contention and heap text layouts as orderd's
 * debug port writes them, and what a malformed or oversized profile gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/proftext.h"

static char err[256];

/* Two groups as /debug/pprof/threads?debug=1 prints them (cut from a real dump). */
static const char threads_text[] =
    "threads profile: total 6\n"
    "4 @ 0x7f756cbb3f15 0x7f756cbb65d8 0x558d87e1f003 0x558d87e250cf\n"
    "# labels: {\"role\":\"worker\", \"state\":\"idle\"}\n"
    "#\t0x7f756cbb3f14\t__futex_abstimed_wait_common64+0xc4\t./nptl/futex-internal.c:57\n"
    "#\t0x7f756cbb65d7\t___pthread_cond_wait+0x1e7\t./nptl/pthread_cond_wait.c:618\n"
    "#\t0x558d87e1f002\tlockprof_cond_wait+0x62\tservice/lockprof.c:361\n"
    "#\t0x558d87e250ce\tqueue_pop+0x3e\tservice/queue.c:123\n"
    "\n"
    "2 @ 0x7f756cc36f37 0x7f756cf1af34 0x558d87e1ce4d\n"
    "# labels: {\"role\":\"io\", \"state\":\"running\"}\n"
    "#\t0x7f756cc36f36\tepoll_wait+0x56\t../sysdeps/unix/sysv/linux/epoll_wait.c:30\n"
    "#\t0x7f756cf1af33\n"
    "#\t0x558d87e1ce4c\tio_thread_main+0xc\tservice/httpserver.c:564\n";

static void test_proftext_reads_thread_groups(void **state)
{
    struct proftext *p = proftext_parse(PROFTEXT_THREADS, threads_text, strlen(threads_text), err, sizeof err);
    const struct proftext_entry *e;
    (void)state;

    if (!p)
        fail_msg("%s", err);
    assert_int_equal(proftext_total(p), 6);
    assert_int_equal(proftext_count(p), 2);
    e = proftext_entry(p, 0);
    assert_int_equal(e->values[0], 4);
    assert_string_equal(e->role, "worker");
    assert_string_equal(e->state, "idle");
    assert_int_equal(e->nframes, 4);
    assert_string_equal(e->frames[0].function, "__futex_abstimed_wait_common64");
    assert_string_equal(e->frames[3].function, "queue_pop");
    assert_string_equal(e->frames[3].file, "service/queue.c");
    assert_int_equal(e->frames[3].line, 123);
    assert_false(proftext_frame_is_own(&e->frames[0]));
    assert_true(proftext_frame_is_own(&e->frames[3]));
    e = proftext_entry(p, 1);
    assert_int_equal(e->nframes, 3);
    assert_string_equal(e->frames[1].function, "");  /* unsymbolized */
    assert_false(proftext_frame_is_own(&e->frames[1]));
    assert_true(proftext_entry_has(e, "io_thread_main"));
    assert_false(proftext_entry_has(e, "queue_pop"));
    assert_null(proftext_entry(p, 2));
    proftext_free(p);
}

/* A sampled heap (heap/2*rate, raw sample counts) reads as pprof reads it: each pair
 * scaled by 1/(1-exp(-avg/rate)) of its own average size. */
static void test_proftext_scales_a_sampled_heap(void **state)
{
    static const char heap[] =
        "heap profile: 11: 45056 [12: 46080] @ heap/1048576\n"
        "10: 40960 [10: 40960] @ 0x558d87e1e6c3\n"
        "#\t0x558d87e1e6c2\tleak_memory_retain+0x32\tservice/leak.c:88\n"
        "\n"
        "1: 4096 [2: 5120] @ 0x558d87e1e700\n"
        "#\t0x558d87e1e6ff\tjson_loads+0x32\t:0\n";
    struct proftext *h = proftext_parse(PROFTEXT_HEAP, heap, strlen(heap), err, sizeof err);
    const struct proftext_entry *e;
    double f4096 = 1 / (1 - exp(-4096.0 / 524288)), f2560 = 1 / (1 - exp(-2560.0 / 524288));
    (void)state;

    assert_non_null(h);
    e = proftext_entry(h, 0);
    assert_int_equal(e->values[0], (int64_t)(10 * f4096 + 0.5));
    assert_int_equal(e->values[1], (int64_t)(40960 * f4096 + 0.5));
    assert_int_equal(e->values[3], (int64_t)(40960 * f4096 + 0.5));
    e = proftext_entry(h, 1);
    assert_int_equal(e->values[1], (int64_t)(4096 * f4096 + 0.5));
    assert_int_equal(e->values[2], (int64_t)(2 * f2560 + 0.5));
    assert_int_equal(e->values[3], (int64_t)(5120 * f2560 + 0.5));
    proftext_free(h);
}

/* A frame of ThreadSanitizer's runtime, whose C++ name has spaces (cut from a dump of
 * an orderd built with SANITIZE=thread): with tabs between the fields the name is
 * read whole and its file is the runtime's, so the service's own frame is the culprit. */
static void test_proftext_reads_a_name_with_spaces(void **state)
{
    static const char text[] =
        "threads profile: total 1\n"
        "1 @ 0x7efd2f862971 0x56123f3ed18a\n"
        "# labels: {\"role\":\"other\", \"state\":\"waiting\"}\n"
        "#\t0x7efd2f862971\tcond_wait<__interceptor_pthread_cond_wait(void*, void*)::<lambda()> >+0x191\t"
        "../../../../src/libsanitizer/tsan/tsan_interceptors_posix.cpp:1209\n"
        "#\t0x56123f3ed18a\tleak_notifier_wait+0x8a\tservice/leak.c:47\n";
    struct proftext *p = proftext_parse(PROFTEXT_THREADS, text, strlen(text), err, sizeof err);
    const struct proftext_entry *e;
    (void)state;

    if (!p)
        fail_msg("%s", err);
    e = proftext_entry(p, 0);
    assert_int_equal(e->nframes, 2);
    assert_string_equal(e->frames[0].function, "cond_wait<__interceptor_pthread_cond_wait(void*, void*)::<lambda()> >");
    assert_string_equal(e->frames[0].file, "../../../../src/libsanitizer/tsan/tsan_interceptors_posix.cpp");
    assert_false(proftext_frame_is_own(&e->frames[0]));
    assert_true(proftext_frame_is_own(&e->frames[1]));
    proftext_free(p);
}

static void test_proftext_reads_contention_and_heap(void **state)
{
    static const char mutex[] =
        "--- mutex:\ncycles/second=1000000000\nsampling period=10\n"
        "424371105 983 @ 0x5606395b22f4 0x5606395b243f\n"
        "#\t0x5606395b22f3\tcache_get_global+0x23\tservice/catalog.c:111\n"
        "#\t0x5606395b243e\tcatalog_get+0x8e\tservice/catalog.c:137\n";
    static const char heap[] =
        "heap profile: 2635: 10792960 [3386: 11285616] @ heap/2\n"
        "2078: 8511488 [2078: 8511488] @ 0x558d87e1e6c3\n"
        "#\t0x558d87e1e6c2\tleak_memory_retain+0x32\tservice/leak.c:88\n"
        "#\t0x7f756cdf533e\thttp_parser_execute+0x2e9e\t:0\n"
        "\n"
        "1340: 5488640 [1593: 5654608] @\n"
        "# heapprof_unprofiled\n";
    struct proftext *m = proftext_parse(PROFTEXT_MUTEX, mutex, strlen(mutex), err, sizeof err);
    struct proftext *h = proftext_parse(PROFTEXT_HEAP, heap, strlen(heap), err, sizeof err);
    const struct proftext_entry *e;
    (void)state;

    assert_non_null(m);
    assert_non_null(h);
    e = proftext_entry(m, 0);
    assert_int_equal(e->nvalues, 2);
    assert_int_equal(e->values[0], 424371105);
    assert_int_equal(e->values[1], 983);
    assert_string_equal(e->frames[0].function, "cache_get_global");
    assert_int_equal(proftext_count(h), 2);
    e = proftext_entry(h, 0);
    assert_int_equal(e->nvalues, 4);
    assert_int_equal(e->values[1], 8511488);
    assert_int_equal(e->values[3], 8511488);
    assert_false(proftext_frame_is_own(&e->frames[1]));  /* ":0": no file */
    e = proftext_entry(h, 1);
    assert_int_equal(e->nframes, 0);  /* the unprofiled rest: numbers, no stack */
    assert_int_equal(e->values[0], 1340);
    proftext_free(m);
    proftext_free(h);
}

static void test_proftext_empty_profile_is_valid(void **state)
{
    static const char block[] = "--- contention:\ncycles/second=1000000000\n";
    struct proftext *p = proftext_parse(PROFTEXT_BLOCK, block, strlen(block), err, sizeof err);
    (void)state;
    assert_non_null(p);
    assert_int_equal(proftext_count(p), 0);
    assert_int_equal(proftext_total(p), -1);
    proftext_free(p);
}

static void test_proftext_rejects_what_it_cannot_read(void **state)
{
    static const char wrong_numbers[] = "threads profile: total 1\n1 2 @ 0x1\n";
    static const char junk[] = "threads profile: total 1\n1 @ 0x1\nhello there\n";
    static const char with_nul[] = "threads profile: total 1\n1 @ 0x1\0\n";
    char *big, *deep;
    size_t used;
    (void)state;

    assert_null(proftext_parse(PROFTEXT_THREADS, wrong_numbers, strlen(wrong_numbers), err, sizeof err));
    assert_string_equal(err, "line 2: expected 1 number before '@'");
    assert_null(proftext_parse(PROFTEXT_HEAP, threads_text, strlen(threads_text), err, sizeof err));
    assert_non_null(strstr(err, "not a heap profile line"));
    assert_null(proftext_parse(PROFTEXT_THREADS, junk, strlen(junk), err, sizeof err));
    assert_non_null(strstr(err, "line 3"));
    assert_null(proftext_parse(PROFTEXT_THREADS, with_nul, sizeof with_nul - 1, err, sizeof err));
    assert_non_null(strstr(err, "NUL"));

    big = test_calloc(1, PROFTEXT_MAX_TEXT + 2);
    assert_non_null(big);
    memset(big, '\n', PROFTEXT_MAX_TEXT + 1);
    assert_null(proftext_parse(PROFTEXT_THREADS, big, PROFTEXT_MAX_TEXT + 1, err, sizeof err));
    assert_non_null(strstr(err, "larger than"));
    test_free(big);

    deep = test_calloc(1, 64 * (PROFTEXT_MAX_FRAMES + 2));
    assert_non_null(deep);
    used = (size_t)snprintf(deep, 64, "1 @ 0x1\n");
    for (int i = 0; i <= PROFTEXT_MAX_FRAMES; i++)
        used += (size_t)snprintf(deep + used, 64, "#\t0x%x\tf%d+0x1\tservice/x.c:1\n", i + 1, i);
    assert_null(proftext_parse(PROFTEXT_THREADS, deep, used, err, sizeof err));
    assert_non_null(strstr(err, "more than 128 frames"));
    test_free(deep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proftext_reads_thread_groups),
        cmocka_unit_test(test_proftext_reads_a_name_with_spaces),
        cmocka_unit_test(test_proftext_reads_contention_and_heap),
        cmocka_unit_test(test_proftext_scales_a_sampled_heap),
        cmocka_unit_test(test_proftext_empty_profile_is_valid),
        cmocka_unit_test(test_proftext_rejects_what_it_cannot_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
