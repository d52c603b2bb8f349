/* Tests for service/queue.c: capacity and the non-blocking push that answers "full",
 * FIFO order across the ring's wrap, the wait time a pop reports, close (drain, then
 * NULL; pushes refused; blocked producers and consumers released), the blocking push,
 * and a producer/consumer run whose counts must balance exactly.
 * Timeouts only guard against deadlock: alarm() ends a hung run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"
#include "units.h"

#define JOB(n) ((void *)(uintptr_t)(n))
#define JOB_NUMBER(p) ((uintptr_t)(p))

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void test_queue_new_rejects_zero_capacity(void **state)
{
    (void)state;
    assert_null(queue_new(0));
    queue_free(NULL);

    struct queue *q = queue_new(7);
    assert_non_null(q);
    assert_int_equal(queue_capacity(q), 7);
    assert_int_equal(queue_depth(q), 0);
    assert_int_equal(queue_enqueued_total(q), 0);
    assert_int_equal(queue_rejected_total(q), 0);
    queue_free(q);
}

static void test_queue_push_or_reject_refuses_when_full(void **state)
{
    struct queue *q = queue_new(3);
    (void)state;

    for (uintptr_t i = 1; i <= 3; i++) {
        assert_int_equal(queue_push_or_reject(q, JOB(i)), 0);
        assert_int_equal(queue_depth(q), i);
    }
    assert_int_equal(queue_push_or_reject(q, JOB(4)), -1);
    assert_int_equal(queue_push_or_reject(q, JOB(5)), -1);
    assert_int_equal(queue_depth(q), 3);
    assert_int_equal(queue_enqueued_total(q), 3);
    assert_int_equal(queue_rejected_total(q), 2);

    /* The refused jobs were not taken: the queue holds exactly the first three. */
    for (uintptr_t i = 1; i <= 3; i++)
        assert_int_equal(JOB_NUMBER(queue_pop(q, NULL)), i);
    assert_int_equal(queue_depth(q), 0);

    /* Room again after pops. */
    assert_int_equal(queue_push_or_reject(q, JOB(6)), 0);
    assert_int_equal(queue_enqueued_total(q), 4);
    assert_int_equal(queue_rejected_total(q), 2);
    assert_int_equal(JOB_NUMBER(queue_pop(q, NULL)), 6);
    queue_free(q);
}

static void test_queue_fifo_order_across_wrap(void **state)
{
    struct queue *q = queue_new(4);
    uintptr_t next_in = 1, next_out = 1;
    (void)state;

    /* Uneven push/pop batches move head and tail around the ring many times. */
    for (int round = 0; round < 50; round++) {
        int push = 1 + round % 4, pop = 1 + (round * 3) % 4;
        for (int i = 0; i < push && queue_depth(q) < 4; i++)
            assert_int_equal(queue_push_or_reject(q, JOB(next_in++)), 0);
        for (int i = 0; i < pop && queue_depth(q) > 0; i++)
            assert_int_equal(JOB_NUMBER(queue_pop(q, NULL)), next_out++);
    }
    while (queue_depth(q) > 0)
        assert_int_equal(JOB_NUMBER(queue_pop(q, NULL)), next_out++);
    assert_int_equal(next_in, next_out);
    assert_true(next_in > 50);
    assert_int_equal(queue_enqueued_total(q), next_in - 1);
    queue_free(q);
}

static void test_queue_pop_reports_wait_time(void **state)
{
    struct queue *q = queue_new(2);
    int64_t wait_a = -1, wait_b = -1;
    (void)state;

    int64_t before = units_now_ns();
    assert_int_equal(queue_push_or_reject(q, JOB(1)), 0);
    sleep_ms(30);
    assert_int_equal(queue_push_or_reject(q, JOB(2)), 0);
    assert_int_equal(JOB_NUMBER(queue_pop(q, &wait_a)), 1);
    assert_int_equal(JOB_NUMBER(queue_pop(q, &wait_b)), 2);
    int64_t elapsed = units_now_ns() - before;

    /* Job 1 sat in the queue through the sleep; neither can have waited longer than
     * the whole test took. */
    assert_true(wait_a >= 30 * 1000000LL);
    assert_true(wait_a <= elapsed);
    assert_true(wait_b >= 0);
    assert_true(wait_b <= wait_a);

    /* wait_ns may be NULL. */
    assert_int_equal(queue_push_or_reject(q, JOB(3)), 0);
    assert_int_equal(JOB_NUMBER(queue_pop(q, NULL)), 3);
    queue_free(q);
}

static void test_queue_close_drains_then_returns_null(void **state)
{
    struct queue *q = queue_new(4);
    (void)state;

    assert_int_equal(queue_push_or_reject(q, JOB(1)), 0);
    assert_int_equal(queue_push_or_reject(q, JOB(2)), 0);
    queue_close(q);

    /* No new job after close, by either push. */
    assert_int_equal(queue_push_or_reject(q, JOB(3)), -1);
    assert_int_equal(queue_push_blocking(q, JOB(4)), -1);
    assert_int_equal(queue_enqueued_total(q), 2);

    /* What was accepted is still handed out, in order, then NULL for good. */
    assert_int_equal(JOB_NUMBER(queue_pop(q, NULL)), 1);
    assert_int_equal(JOB_NUMBER(queue_pop(q, NULL)), 2);
    assert_null(queue_pop(q, NULL));
    assert_null(queue_pop(q, NULL));
    assert_int_equal(queue_depth(q), 0);
    queue_free(q);
}

struct popper {
    struct queue *q;
    void *job;
    atomic_bool done;
};

static void *pop_one(void *arg)
{
    struct popper *p = arg;
    p->job = queue_pop(p->q, NULL);
    atomic_store(&p->done, true);
    return NULL;
}

static void test_queue_pop_waits_for_a_push(void **state)
{
    struct popper p = {.q = queue_new(2)};
    pthread_t t;
    (void)state;

    assert_int_equal(pthread_create(&t, NULL, pop_one, &p), 0);
    sleep_ms(20);
    assert_false(atomic_load(&p.done));     /* nothing to take yet */
    assert_int_equal(queue_push_or_reject(p.q, JOB(42)), 0);
    pthread_join(t, NULL);
    assert_int_equal(JOB_NUMBER(p.job), 42);
    assert_int_equal(queue_depth(p.q), 0);
    queue_free(p.q);
}

static void test_queue_close_releases_every_waiting_consumer(void **state)
{
    struct queue *q = queue_new(2);
    struct popper p[3];
    pthread_t t[3];
    (void)state;

    for (int i = 0; i < 3; i++) {
        p[i] = (struct popper){.q = q, .job = JOB(99)};
        assert_int_equal(pthread_create(&t[i], NULL, pop_one, &p[i]), 0);
    }
    sleep_ms(20);
    queue_close(q);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_null(p[i].job);
    }
    queue_free(q);
}

struct pusher {
    struct queue *q;
    void *job;
    int rc;
    atomic_bool done;
};

static void *push_one_blocking(void *arg)
{
    struct pusher *p = arg;
    p->rc = queue_push_blocking(p->q, p->job);
    atomic_store(&p->done, true);
    return NULL;
}

static void test_queue_push_blocking_waits_for_room_until_a_pop(void **state)
{
    struct pusher p = {.q = queue_new(1), .job = JOB(2), .rc = 99};
    pthread_t t;
    (void)state;

    /* With room it does not wait. */
    assert_int_equal(queue_push_blocking(p.q, JOB(1)), 0);
    assert_int_equal(queue_depth(p.q), 1);

    assert_int_equal(pthread_create(&t, NULL, push_one_blocking, &p), 0);
    sleep_ms(30);
    assert_false(atomic_load(&p.done));     /* the queue is full: still waiting */
    assert_int_equal(queue_depth(p.q), 1);

    assert_int_equal(JOB_NUMBER(queue_pop(p.q, NULL)), 1);
    pthread_join(t, NULL);
    assert_int_equal(p.rc, 0);
    assert_int_equal(JOB_NUMBER(queue_pop(p.q, NULL)), 2);
    assert_int_equal(queue_enqueued_total(p.q), 2);
    assert_int_equal(queue_rejected_total(p.q), 0);
    queue_free(p.q);
}

static void test_queue_push_blocking_released_by_close(void **state)
{
    struct queue *q = queue_new(1);
    struct pusher p[2];
    pthread_t t[2];
    (void)state;

    assert_int_equal(queue_push_or_reject(q, JOB(1)), 0);
    for (int i = 0; i < 2; i++) {
        p[i] = (struct pusher){.q = q, .job = JOB(10 + i), .rc = 99};
        assert_int_equal(pthread_create(&t[i], NULL, push_one_blocking, &p[i]), 0);
    }
    sleep_ms(20);
    queue_close(q);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(p[i].rc, -1);
    }
    /* The job accepted before close is still there; the waiting ones were not taken. */
    assert_int_equal(JOB_NUMBER(queue_pop(q, NULL)), 1);
    assert_null(queue_pop(q, NULL));
    assert_int_equal(queue_enqueued_total(q), 1);
    queue_free(q);
}

/* Producers and consumers at once. Items are numbered producer * PER_PRODUCER + i + 1;
 * each producer records which of its pushes were accepted, each consumer counts what
 * it took, and at the end every accepted item must have been popped exactly once. */
#define PRODUCERS 4
#define CONSUMERS 3
#define PER_PRODUCER 20000
#define ITEMS (PRODUCERS * PER_PRODUCER)

struct stress {
    struct queue *q;
    bool accepted[ITEMS];
    _Atomic unsigned char popped[ITEMS];
    uint64_t accepted_by[PRODUCERS], rejected_by[PRODUCERS], popped_by[CONSUMERS];
    bool order_ok[CONSUMERS];
    atomic_bool consumers_may_start;
    atomic_int max_depth_seen;
};

struct stress_arg {
    struct stress *s;
    int index;
};

static void *stress_producer(void *arg)
{
    struct stress_arg *a = arg;
    struct stress *s = a->s;
    /* Half the producers wait for room (the queue.block path), half are refused. */
    bool blocking = a->index % 2 == 1;

    for (int i = 0; i < PER_PRODUCER; i++) {
        size_t item = (size_t)a->index * PER_PRODUCER + (size_t)i;
        int rc = blocking ? queue_push_blocking(s->q, JOB(item + 1)) : queue_push_or_reject(s->q, JOB(item + 1));
        if (rc == 0) {
            s->accepted[item] = true;
            s->accepted_by[a->index]++;
        } else {
            s->rejected_by[a->index]++;
            /* The queue has filled at least once: let the consumers in. */
            atomic_store(&s->consumers_may_start, true);
        }
        int depth = (int)queue_depth(s->q);
        if (depth > atomic_load(&s->max_depth_seen))
            atomic_store(&s->max_depth_seen, depth);
    }
    return NULL;
}

static void *stress_consumer(void *arg)
{
    struct stress_arg *a = arg;
    struct stress *s = a->s;
    int last[PRODUCERS];
    void *job;

    for (int p = 0; p < PRODUCERS; p++)
        last[p] = -1;
    s->order_ok[a->index] = true;
    while (!atomic_load(&s->consumers_may_start))
        sched_yield();
    while ((job = queue_pop(s->q, NULL))) {
        size_t item = JOB_NUMBER(job) - 1;
        int producer = (int)(item / PER_PRODUCER), seq = (int)(item % PER_PRODUCER);
        atomic_fetch_add(&s->popped[item], 1);
        s->popped_by[a->index]++;
        /* One consumer sees each producer's items in the order they were pushed. */
        if (seq <= last[producer])
            s->order_ok[a->index] = false;
        last[producer] = seq;
    }
    return NULL;
}

static void test_queue_concurrent_counts_balance(void **state)
{
    struct stress *s = test_calloc(1, sizeof *s);
    struct stress_arg pa[PRODUCERS], ca[CONSUMERS];
    pthread_t pt[PRODUCERS], ct[CONSUMERS];
    uint64_t accepted = 0, rejected = 0, popped = 0;
    (void)state;

    assert_non_null(s);
    s->q = queue_new(8);
    for (int i = 0; i < CONSUMERS; i++) {
        ca[i] = (struct stress_arg){s, i};
        assert_int_equal(pthread_create(&ct[i], NULL, stress_consumer, &ca[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pa[i] = (struct stress_arg){s, i};
        assert_int_equal(pthread_create(&pt[i], NULL, stress_producer, &pa[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(pt[i], NULL);
    /* Every producer is done: close, so the consumers drain and stop. */
    atomic_store(&s->consumers_may_start, true);
    queue_close(s->q);
    for (int i = 0; i < CONSUMERS; i++)
        pthread_join(ct[i], NULL);

    for (int i = 0; i < PRODUCERS; i++) {
        accepted += s->accepted_by[i];
        rejected += s->rejected_by[i];
        assert_int_equal(s->accepted_by[i] + s->rejected_by[i], PER_PRODUCER);
        if (i % 2 == 1)
            assert_int_equal(s->rejected_by[i], 0);   /* blocking pushes never refuse while open */
    }
    for (int i = 0; i < CONSUMERS; i++) {
        popped += s->popped_by[i];
        assert_true(s->order_ok[i]);
    }
    for (size_t item = 0; item < ITEMS; item++) {
        unsigned char n = atomic_load(&s->popped[item]);
        if (n != (s->accepted[item] ? 1 : 0))
            fail_msg("item %zu accepted=%d popped %u times", item, s->accepted[item], n);
    }
    assert_true(rejected > 0);
    assert_int_equal(popped, accepted);
    assert_int_equal(queue_enqueued_total(s->q), accepted);
    assert_int_equal(queue_rejected_total(s->q), rejected);
    assert_int_equal(queue_depth(s->q), 0);
    assert_true(atomic_load(&s->max_depth_seen) <= 8);
    assert_null(queue_pop(s->q, NULL));
    queue_free(s->q);
    test_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_new_rejects_zero_capacity),
        cmocka_unit_test(test_queue_push_or_reject_refuses_when_full),
        cmocka_unit_test(test_queue_fifo_order_across_wrap),
        cmocka_unit_test(test_queue_pop_reports_wait_time),
        cmocka_unit_test(test_queue_close_drains_then_returns_null),
        cmocka_unit_test(test_queue_pop_waits_for_a_push),
        cmocka_unit_test(test_queue_close_releases_every_waiting_consumer),
        cmocka_unit_test(test_queue_push_blocking_waits_for_room_until_a_pop),
        cmocka_unit_test(test_queue_push_blocking_released_by_close),
        cmocka_unit_test(test_queue_concurrent_counts_balance),
    };
    alarm(120);   /* a deadlock fails the run instead of hanging it */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
