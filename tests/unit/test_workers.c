/* Tests for service/workers.c: the pool that takes orders off the queue. An order
 * accepted before shutdown is finished, not dropped (the queue is closed, the pool
 * drains it and exits); prices come from the catalog; an unknown product and an
 * amount over the payment limit fail the order with the reason; queue.stall holds a
 * worker until the fault is cleared. Real queue, order store and catalog; the
 * payment call's latency is set small. alarm() ends a hung run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "fault_fixture.h"
#include "heapprof.h"
#include "log.h"
#include "orders.h"
#include "queue.h"
#include "units.h"
#include "workers.h"

#define PRODUCTS 10
#define ORDERS 40

static struct catalog *catalog;
static struct order_store *store;
static struct queue *queue;

static int setup(void **state)
{
    (void)state;
    log_set_level(LOG_ERROR);
    fault_clear(FAULT_QUEUE_STALL);
    catalog = catalog_new(PRODUCTS, 2);
    store = order_store_new(256);
    queue = queue_new(64);
    alarm(60);
    return catalog && store && queue ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    alarm(0);
    fault_clear(FAULT_QUEUE_STALL);
    queue_free(queue);
    order_store_free(store);
    catalog_free(catalog);
    return 0;
}

static struct workers *start(int count, int64_t payment_latency_ns)
{
    struct workers_config cfg = {.count = count, .payment_latency_ns = payment_latency_ns, .queue = queue,
                                 .orders = store, .catalog = catalog};
    char err[256];
    struct workers *w = workers_start(&cfg, err, sizeof err);
    if (!w)
        fail_msg("workers_start: %s", err);
    return w;
}

/* Records an order of qty of product (and of product 1 when two_items) and queues it.
 * The job is the pool's to free (with heapprof_free), as the API's are. */
static uint64_t place(int64_t user, int64_t product, int64_t qty, int two_items)
{
    struct order_job *job = heapprof_calloc(1, sizeof *job);
    uint64_t id;
    assert_non_null(job);
    assert_int_equal(order_store_add(store, user, &id), 0);
    job->order_id = id;
    job->request.user_id = user;
    job->request.nitems = two_items ? 2 : 1;
    job->request.items[0] = (struct order_item){.product_id = product, .qty = qty};
    job->request.items[1] = (struct order_item){.product_id = 1, .qty = 1};
    assert_int_equal(queue_push_or_reject(queue, job), 0);
    return id;
}

static struct order_info info(uint64_t id)
{
    struct order_info o;
    assert_int_equal(order_store_get(store, id, &o), 0);
    return o;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void test_workers_finish_every_accepted_order_on_shutdown(void **state)
{
    uint64_t ids[ORDERS], in_store[ORDER_STATE_COUNT], done, failed, accepted;
    struct workers *w = start(3, 2000000);  /* 2 ms a payment: most orders still queued at close */
    (void)state;

    for (int i = 0; i < ORDERS; i++)
        ids[i] = place(100 + i, 1 + i % PRODUCTS, 1 + i % 3, i % 2);
    /* Shutdown right away: closing the queue must drain it, not drop it. */
    queue_close(queue);
    workers_join(w);

    assert_int_equal(queue_depth(queue), 0);
    for (int i = 0; i < ORDERS; i++) {
        struct order_info o = info(ids[i]);
        int64_t expected = catalog_get(catalog, 1 + i % PRODUCTS)->price_cents * (1 + i % 3) +
                           (i % 2 ? catalog_get(catalog, 1)->price_cents : 0);
        assert_int_equal(o.state, ORDER_DONE);
        assert_int_equal(o.user_id, 100 + i);
        assert_int_equal(o.amount_cents, expected);
        assert_string_equal(o.failure, "");
    }
    order_store_counts(store, in_store, &done, &failed, &accepted);
    assert_int_equal(done, ORDERS);
    assert_int_equal(failed, 0);
    assert_int_equal(in_store[ORDER_QUEUED], 0);
    assert_int_equal(in_store[ORDER_PROCESSING], 0);
}

static void test_workers_fail_unknown_products_and_declined_payments(void **state)
{
    struct workers *w = start(1, 0);
    uint64_t unknown, declined, fine;
    int64_t price = catalog_get(catalog, 2)->price_cents;
    /* Enough of product 2 to go over the provider's limit. */
    int64_t over = WORKERS_PAYMENT_LIMIT_CENTS / price + 1;
    (void)state;

    unknown = place(1, PRODUCTS + 1, 1, 0);
    declined = place(2, 2, over, 0);
    fine = place(3, 2, 1, 0);
    queue_close(queue);
    workers_join(w);

    assert_int_equal(info(unknown).state, ORDER_FAILED);
    assert_string_equal(info(unknown).failure, "unknown product");
    assert_int_equal(info(declined).state, ORDER_FAILED);
    assert_string_equal(info(declined).failure, "payment declined: amount over limit");
    assert_int_equal(info(declined).amount_cents, price * over);
    assert_int_equal(info(fine).state, ORDER_DONE);
    assert_int_equal(info(fine).amount_cents, price);
}

static void test_workers_stall_holds_the_order_until_cleared(void **state)
{
    struct workers *w = start(1, 0);
    uint64_t id;
    (void)state;

    fault_fixture_set(FAULT_QUEUE_STALL, "on(inf)");
    id = place(7, 3, 1, 0);
    /* Taken off the queue, then held: processing, however long we wait. */
    for (int i = 0; i < 200 && info(id).state != ORDER_PROCESSING; i++)
        sleep_ms(10);
    sleep_ms(200);
    assert_int_equal(info(id).state, ORDER_PROCESSING);
    assert_int_equal(queue_depth(queue), 0);

    /* Clearing the fault runs its heal hook, which releases the worker. */
    fault_clear(FAULT_QUEUE_STALL);
    for (int i = 0; i < 500 && info(id).state != ORDER_DONE; i++)
        sleep_ms(10);
    assert_int_equal(info(id).state, ORDER_DONE);
    queue_close(queue);
    workers_join(w);
}

static void test_workers_start_refuses_an_empty_pool(void **state)
{
    struct workers_config cfg = {.count = 0, .queue = queue, .orders = store, .catalog = catalog};
    char err[256] = "";
    (void)state;
    assert_null(workers_start(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "cannot start workers"));
    workers_join(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_workers_finish_every_accepted_order_on_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_fail_unknown_products_and_declined_payments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_stall_holds_the_order_until_cleared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_start_refuses_an_empty_pool, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
