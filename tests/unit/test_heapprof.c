/* Tests for heapprof: blocks from a distinctively named function must be charged to
 * it (text, proto, and `go tool pprof`), frees must take the bytes off again, and the
 * totals must hold under concurrent use. The site table is process-wide and never
 * shrinks: the test that fills it runs last. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapprof.h"
#include "instrument.h"
#include "pprof_decode.h"
#include "stacks.h"

enum { VALUE_ALLOC_OBJECTS, VALUE_ALLOC_SPACE, VALUE_INUSE_OBJECTS, VALUE_INUSE_SPACE };

struct totals { uint64_t live_bytes, live_objects, alloc_bytes, alloc_objects; };

static struct totals totals_now(void)
{
    struct totals t;

    heapprof_totals(&t.live_bytes, &t.live_objects, &t.alloc_bytes, &t.alloc_objects);
    return t;
}

static struct pprof_decoded *decoded_heap(void)
{
    char *buf = NULL;
    size_t len = 0;
    struct pprof_decoded *d;

    assert_int_equal(heapprof_profile(0, &buf, &len), 0);
    d = pprof_decode(buf, len);
    free(buf);
    assert_non_null(d);
    return d;
}

/* Exported and never inlined, so their names appear in captured stacks. */
void *heapprof_test_allocates_orders(size_t size);
__attribute__((noinline)) void *heapprof_test_allocates_orders(size_t size)
{
    void *p = heapprof_malloc(size);

    __asm__ volatile("" ::: "memory");
    return p;
}

/* A thread made without the registry: it records no stack bounds. */
static void *allocates_on_unrecorded_thread(void *out)
{
    *(void **)out = heapprof_test_allocates_orders(1555);
    return NULL;
}

static void test_heapprof_blocks_are_aligned_and_usable(void **state)
{
    atomic_store(&instrument.level, INSTRUMENT_METRICS);
    for (size_t size = 0; size < 100; size++) {
        unsigned char *p = heapprof_malloc(size);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, size);
        heapprof_free(p);
    }
    heapprof_free(NULL);
}

static void test_heapprof_calloc_zeroes_and_rejects_overflow(void **state)
{
    unsigned char *p;

    atomic_store(&instrument.level, INSTRUMENT_METRICS);
    /* The recorded allocator's own checks (its header must not wrap the size). */
    assert_null(heapprof_recorded_calloc(SIZE_MAX / 2, 4));
    assert_null(heapprof_recorded_malloc(SIZE_MAX - 4));
    p = heapprof_calloc(100, 8);
    assert_non_null(p);
    for (int i = 0; i < 800; i++)
        assert_int_equal(p[i], 0);
    heapprof_free(p);
}

static void test_heapprof_totals_follow_malloc_and_free(void **state)
{
    struct totals before, during, after;
    void *a, *b, *c;

    atomic_store(&instrument.level, INSTRUMENT_METRICS);
    before = totals_now();
    a = heapprof_malloc(100);
    b = heapprof_calloc(10, 20);
    c = heapprof_malloc(300);
    during = totals_now();
    assert_int_equal(during.live_bytes - before.live_bytes, 600);
    assert_int_equal(during.live_objects - before.live_objects, 3);
    assert_int_equal(during.alloc_bytes - before.alloc_bytes, 600);
    assert_int_equal(during.alloc_objects - before.alloc_objects, 3);
    heapprof_free(a);
    heapprof_free(b);
    heapprof_free(c);
    after = totals_now();
    assert_int_equal(after.live_bytes, before.live_bytes);
    assert_int_equal(after.live_objects, before.live_objects);
    assert_int_equal(after.alloc_bytes - before.alloc_bytes, 600);
    assert_int_equal(after.alloc_objects - before.alloc_objects, 3);
}

static void test_heapprof_top_site_names_allocating_function(void **state)
{
    const size_t size = 1 << 20;
    void *p;
    char *text = NULL, *first_record, *frames_end;
    size_t len = 0;
    unsigned long long lo, lb, ao, ab, rate;
    struct totals t;

    atomic_store(&instrument.level, INSTRUMENT_PROFILE);
    p = heapprof_test_allocates_orders(size);
    assert_non_null(p);
    assert_int_equal(heapprof_profile(1, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    t = totals_now();
    assert_int_equal(sscanf(text, "heap profile: %llu: %llu [%llu: %llu] @ heap/%llu\n",
                            &lo, &lb, &ao, &ab, &rate), 5);
    assert_int_equal(lb, t.live_bytes);
    assert_int_equal(lo, t.live_objects);
    assert_int_equal(ab, t.alloc_bytes);
    assert_int_equal(rate, 2);
    /* Sorted by live bytes: the megabyte comes first, and its frames name us. */
    first_record = strchr(text, '\n') + 1;
    assert_int_equal(sscanf(first_record, "%llu: %llu [%llu: %llu] @", &lo, &lb, &ao, &ab), 4);
    assert_int_equal(lo, 1);
    assert_int_equal(lb, size);
    frames_end = strstr(first_record, "\n\n");
    assert_non_null(frames_end);
    *frames_end = '\0';
    assert_non_null(strstr(first_record, "\n#\t0x"));
    assert_non_null(strstr(first_record, "\theapprof_test_allocates_orders+0x"));
    free(text);
    heapprof_free(p);
}

static void test_heapprof_proto_charges_function_until_freed(void **state)
{
    const size_t size = 4096;
    void *p[3];
    struct pprof_decoded *d;
    const char *fn = "heapprof_test_allocates_orders";
    int64_t live_before, alloc_before;

    atomic_store(&instrument.level, INSTRUMENT_PROFILE);
    d = decoded_heap();
    live_before = pprof_decoded_sum_for_function(d, fn, VALUE_INUSE_SPACE, NULL);
    alloc_before = pprof_decoded_sum_for_function(d, fn, VALUE_ALLOC_SPACE, NULL);
    pprof_decoded_free(d);

    for (int i = 0; i < 3; i++)
        p[i] = heapprof_test_allocates_orders(size);
    d = decoded_heap();
    assert_int_equal(d->nsample_types, 4);
    assert_int_equal(pprof_decoded_sample_type(d, "alloc_objects", "count"), VALUE_ALLOC_OBJECTS);
    assert_int_equal(pprof_decoded_sample_type(d, "alloc_space", "bytes"), VALUE_ALLOC_SPACE);
    assert_int_equal(pprof_decoded_sample_type(d, "inuse_objects", "count"), VALUE_INUSE_OBJECTS);
    assert_int_equal(pprof_decoded_sample_type(d, "inuse_space", "bytes"), VALUE_INUSE_SPACE);
    assert_string_equal(pprof_decoded_string(d, d->period_type.type), "space");
    assert_int_equal(pprof_decoded_sum_for_function(d, fn, VALUE_INUSE_SPACE, NULL) - live_before, 3 * size);
    /* The stack starts at the caller of heapprof_malloc. */
    for (size_t i = 0; i < d->nsamples; i++) {
        const char *leaf = pprof_decoded_frame_name(d, &d->samples[i], 0);
        assert_non_null(leaf);
        assert_null(strstr(leaf, "heapprof_malloc"));
    }
    pprof_decoded_free(d);

    for (int i = 0; i < 3; i++)
        heapprof_free(p[i]);
    d = decoded_heap();
    assert_int_equal(pprof_decoded_sum_for_function(d, fn, VALUE_INUSE_SPACE, NULL), live_before);
    assert_int_equal(pprof_decoded_sum_for_function(d, fn, VALUE_ALLOC_SPACE, NULL) - alloc_before, 3 * size);
    pprof_decoded_free(d);
}

/* At off a recorded block is counted without a stack, under heapprof_unprofiled. */
static void test_heapprof_unprofiled_at_off(void **state)
{
    const size_t size = 777;
    struct pprof_decoded *d;
    int64_t unprofiled_before, ours_before;
    char *text = NULL;
    size_t len = 0;
    void *p;

    atomic_store(&instrument.level, INSTRUMENT_OFF);
    d = decoded_heap();
    unprofiled_before = pprof_decoded_sum_for_function(d, "heapprof_unprofiled", VALUE_INUSE_SPACE, NULL);
    ours_before = pprof_decoded_sum_for_function(d, "heapprof_test_allocates_orders", VALUE_ALLOC_SPACE, NULL);
    pprof_decoded_free(d);

    p = heapprof_test_allocates_orders(size);
    d = decoded_heap();
    assert_int_equal(pprof_decoded_sum_for_function(d, "heapprof_unprofiled", VALUE_INUSE_SPACE, NULL) -
                     unprofiled_before, size);
    assert_int_equal(pprof_decoded_sum_for_function(d, "heapprof_test_allocates_orders", VALUE_ALLOC_SPACE, NULL),
                     ours_before);
    pprof_decoded_free(d);
    assert_int_equal(heapprof_profile(1, &text, &len), 0);
    assert_non_null(strstr(text, "] @\n# heapprof_unprofiled\n\n"));
    free(text);
    heapprof_free(p);
}

/* The sum of in-use bytes charged to fn, and to heapprof_unprofiled, now. */
static void inuse_now(const char *fn, int64_t *ours, int64_t *unprofiled)
{
    struct pprof_decoded *d = decoded_heap();

    *ours = pprof_decoded_sum_for_function(d, fn, VALUE_INUSE_SPACE, NULL);
    *unprofiled = pprof_decoded_sum_for_function(d, "heapprof_unprofiled", VALUE_INUSE_SPACE, NULL);
    pprof_decoded_free(d);
}

/* At metrics a recorded block is charged to its allocating function by the
 * frame-pointer walk (this thread recorded its bounds in main), as at profile; a
 * thread that recorded none counts its block without a stack. */
static void test_heapprof_recorded_names_function_at_metrics(void **state)
{
    const size_t size = 1555;
    const char *fn = "heapprof_test_allocates_orders";
    int64_t ours_before, unprofiled_before, ours, unprofiled;
    pthread_t t;
    void *p;

#ifndef __x86_64__
    skip();
#endif
    atomic_store(&instrument.level, INSTRUMENT_METRICS);
    inuse_now(fn, &ours_before, &unprofiled_before);
    p = heapprof_test_allocates_orders(size);
    inuse_now(fn, &ours, &unprofiled);
    assert_int_equal(ours - ours_before, size);
    assert_int_equal(unprofiled, unprofiled_before);
    heapprof_free(p);
    inuse_now(fn, &ours, &unprofiled);
    assert_int_equal(ours, ours_before);

    assert_int_equal(pthread_create(&t, NULL, allocates_on_unrecorded_thread, &p), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    inuse_now(fn, &ours, &unprofiled);
    assert_int_equal(ours, ours_before);
    assert_int_equal(unprofiled - unprofiled_before, size);
    heapprof_free(p);
}

/* Stands for the interposer's sampled path: a sample taken in this function. */
void heapprof_test_samples_leak(void *p, size_t size);
__attribute__((noinline)) void heapprof_test_samples_leak(void *p, size_t size)
{
    heapprof_sampled_alloc(p, size, 0);
    __asm__ volatile("" ::: "memory");
}

/* Sampled mode: at metrics a sample is charged to its function (frame pointers), as at
 * profile (libunwind), with the same leaf and caller; its free takes the bytes off. At
 * off the sampler never calls in (the interposer samples from metrics up). */
static void test_heapprof_sampled_names_function_at_metrics(void **state)
{
    const size_t size = 3333;
    const char *fn = "heapprof_test_samples_leak";
    int64_t ours_before, unprofiled_before, ours, unprofiled;
    struct pprof_decoded *d;
    void *p = malloc(size), *q = malloc(size);
    const struct pprof_decoded_sample *at[2] = {NULL, NULL};

#ifndef __x86_64__
    skip();
#endif
    assert_non_null(p);
    assert_non_null(q);
    atomic_store(&instrument.level, INSTRUMENT_METRICS);
    inuse_now(fn, &ours_before, &unprofiled_before);
    heapprof_test_samples_leak(p, size);
    atomic_store(&instrument.level, INSTRUMENT_PROFILE);
    heapprof_test_samples_leak(q, size);
    inuse_now(fn, &ours, &unprofiled);
    assert_int_equal(ours - ours_before, 2 * size);
    assert_int_equal(unprofiled, unprofiled_before);

    /* Two sites (the walks differ above this test), the same two innermost frames. */
    d = decoded_heap();
    for (size_t i = 0, k = 0; i < d->nsamples && k < 2; i++) {
        const char *leaf = pprof_decoded_frame_name(d, &d->samples[i], 0);
        if (leaf && strcmp(leaf, fn) == 0 && d->samples[i].values[VALUE_INUSE_SPACE] == (int64_t)size)
            at[k++] = &d->samples[i];
    }
    assert_non_null(at[0]);
    assert_non_null(at[1]);
    assert_string_equal(pprof_decoded_frame_name(d, at[0], 1), "test_heapprof_sampled_names_function_at_metrics");
    assert_string_equal(pprof_decoded_frame_name(d, at[1], 1), "test_heapprof_sampled_names_function_at_metrics");
    pprof_decoded_free(d);

    assert_true(heapprof_sampled_free(p));
    assert_false(heapprof_sampled_free(p));
    assert_true(heapprof_sampled_free(q));
    free(p);
    free(q);
    inuse_now(fn, &ours, &unprofiled);
    assert_int_equal(ours, ours_before);
}

static void test_heapprof_go_tool_names_function(void **state)
{
    char *buf = NULL, *out = NULL;
    size_t len = 0;
    void *p;
    int rc;

    atomic_store(&instrument.level, INSTRUMENT_PROFILE);
    p = heapprof_test_allocates_orders(8 << 20);
    assert_int_equal(heapprof_profile(0, &buf, &len), 0);
    heapprof_free(p);
    rc = pprof_decode_go_top(buf, len, &out);
    free(buf);
    if (rc == 1)
        skip();
    if (rc != 0)
        fail_msg("go tool pprof failed: %s", out ? out : "(no output)");
    assert_non_null(strstr(out, "Type: inuse_space"));
    assert_non_null(strstr(out, "heapprof_test_allocates_orders"));
    free(out);
}

void heapprof_test_churn(void);
__attribute__((noinline)) void heapprof_test_churn(void)
{
    void *held[8] = { 0 };

    for (int i = 0; i < 2000; i++) {
        heapprof_free(held[i % 8]);
        held[i % 8] = heapprof_malloc((size_t)(i % 64) + 1);
    }
    for (int i = 0; i < 8; i++)
        heapprof_free(held[i]);
}

static void *churn_main(void *arg)
{
    heapprof_test_churn();
    return NULL;
}

static void test_heapprof_concurrent_churn_balances(void **state)
{
    struct totals before, after;
    pthread_t threads[3];

    atomic_store(&instrument.level, INSTRUMENT_PROFILE);
    before = totals_now();
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, churn_main, NULL), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    after = totals_now();
    assert_int_equal(after.live_bytes, before.live_bytes);
    assert_int_equal(after.live_objects, before.live_objects);
    assert_int_equal(after.alloc_objects - before.alloc_objects, 3 * 2000);
}

/* 2^depth distinct stacks: each level calls on through one of two call sites. */
void *heapprof_test_branch(unsigned bits, int depth);
__attribute__((noinline, noipa)) void *heapprof_test_branch(unsigned bits, int depth)
{
    void *p;

    /* Different code after each call keeps the compiler from merging the two. */
    if (depth == 0) {
        p = heapprof_malloc(16);
    } else if (bits & 1) {
        p = heapprof_test_branch(bits >> 1, depth - 1);
        __asm__ volatile("nop" ::: "memory");
    } else {
        p = heapprof_test_branch(bits >> 1, depth - 1);
        __asm__ volatile("nop; nop" ::: "memory");
    }
    return p;
}

/* Runs last: it fills the site table for the rest of the process. */
static void test_heapprof_site_overflow_keeps_totals(void **state)
{
    static void *blocks[2048];
    struct totals before, during;
    struct pprof_decoded *d;
    int64_t overflow_objects;

    atomic_store(&instrument.level, INSTRUMENT_PROFILE);
    before = totals_now();
    for (unsigned bits = 0; bits < 2048; bits++)
        blocks[bits] = heapprof_test_branch(bits, 11);
    during = totals_now();
    assert_int_equal(during.live_objects - before.live_objects, 2048);
    assert_int_equal(during.live_bytes - before.live_bytes, 2048 * 16);
    d = decoded_heap();
    overflow_objects = pprof_decoded_sum_for_function(d, "heapprof_overflow", VALUE_INUSE_OBJECTS, NULL);
    /* At most 1024 sites, so at least 1024 of the 2048 stacks overflowed. */
    assert_true(overflow_objects >= 1024);
    assert_true(d->nsamples <= 1024 + 2);
    assert_int_equal(pprof_decoded_sum(d, VALUE_INUSE_OBJECTS), (int64_t)during.live_objects);
    pprof_decoded_free(d);
    for (int i = 0; i < 2048; i++)
        heapprof_free(blocks[i]);
    assert_int_equal(totals_now().live_bytes, before.live_bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heapprof_blocks_are_aligned_and_usable),
        cmocka_unit_test(test_heapprof_calloc_zeroes_and_rejects_overflow),
        cmocka_unit_test(test_heapprof_totals_follow_malloc_and_free),
        cmocka_unit_test(test_heapprof_top_site_names_allocating_function),
        cmocka_unit_test(test_heapprof_proto_charges_function_until_freed),
        cmocka_unit_test(test_heapprof_unprofiled_at_off),
        cmocka_unit_test(test_heapprof_recorded_names_function_at_metrics),
        cmocka_unit_test(test_heapprof_sampled_names_function_at_metrics),
        cmocka_unit_test(test_heapprof_go_tool_names_function),
        cmocka_unit_test(test_heapprof_concurrent_churn_balances),
        cmocka_unit_test(test_heapprof_site_overflow_keeps_totals),
    };
    /* As orderd's main does: this thread's walks at metrics end at this frame. */
    if (stacks_fp_thread_bounds(__builtin_frame_address(0)) < 0)
        fprintf(stderr, "no stack bounds: the metrics-level tests will find no stacks\n");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
