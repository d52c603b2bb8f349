/* Tests for service/orders.c: the order body validator (a good body, then a table of
 * bad ones, each with the exact JSON path it must blame and a word its message must
 * use) and the order store: ids from 1, get/update/remove, state counts and totals,
 * refusal when full of unfinished orders, oldest-first forgetting of finished ones,
 * and counts that stay consistent under concurrent adds and updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orders.h"
#include "units.h"

#define MAX_PRODUCT 100

static int parse(const char *body, struct order_request *out, char *err, size_t errlen, char *field,
                 size_t fieldlen)
{
    return orders_parse_request(body, strlen(body), MAX_PRODUCT, out, err, errlen, field, fieldlen);
}

/* A body of n items {"product_id":i+1,"qty":1}; the caller frees it with test_free. */
static char *body_with_items(int n)
{
    size_t cap = 64 + (size_t)n * 40;
    char *b = test_malloc(cap);
    size_t len = (size_t)snprintf(b, cap, "{\"user_id\":5,\"items\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(b + len, cap - len, "%s{\"product_id\":%d,\"qty\":1}", i ? "," : "", i % MAX_PRODUCT + 1);
    snprintf(b + len, cap - len, "]}");
    return b;
}

static void test_orders_parse_good_body(void **state)
{
    struct order_request r;
    char err[256] = "", field[64] = "x";
    (void)state;

    memset(&r, 0xa5, sizeof r);
    assert_int_equal(parse("{\"user_id\": 42, \"items\": [{\"product_id\": 3, \"qty\": 2},"
                           " {\"qty\": 1000, \"product_id\": 100}]}", &r, err, sizeof err, field, sizeof field), 0);
    assert_string_equal(field, "");
    assert_int_equal(r.user_id, 42);
    assert_int_equal(r.nitems, 2);
    assert_int_equal(r.items[0].product_id, 3);
    assert_int_equal(r.items[0].qty, 2);
    assert_int_equal(r.items[1].product_id, 100);
    assert_int_equal(r.items[1].qty, 1000);

    /* Key order does not matter; the largest exact user id is accepted. */
    assert_int_equal(parse("{\"items\":[{\"product_id\":1,\"qty\":1}],\"user_id\":9007199254740991}", &r, err,
                           sizeof err, field, sizeof field), 0);
    assert_int_equal(r.user_id, ORDERS_MAX_ID);
    assert_int_equal(r.nitems, 1);

    /* Exactly ORDERS_MAX_ITEMS items is fine. */
    char *b = body_with_items(ORDERS_MAX_ITEMS);
    assert_int_equal(parse(b, &r, err, sizeof err, field, sizeof field), 0);
    assert_int_equal(r.nitems, ORDERS_MAX_ITEMS);
    assert_int_equal(r.items[ORDERS_MAX_ITEMS - 1].product_id, ORDERS_MAX_ITEMS);
    test_free(b);
}

static void test_orders_parse_reads_only_len_bytes(void **state)
{
    static const char text[] = "{\"user_id\":1,\"items\":[{\"product_id\":2,\"qty\":3}]}GARBAGE";
    struct order_request r;
    char err[256], field[64];
    (void)state;

    assert_int_equal(orders_parse_request(text, strlen(text) - 7, MAX_PRODUCT, &r, err, sizeof err, field,
                                          sizeof field), 0);
    assert_int_equal(r.items[0].qty, 3);
    /* With the garbage included, it is not JSON. */
    assert_int_equal(orders_parse_request(text, strlen(text), MAX_PRODUCT, &r, err, sizeof err, field,
                                          sizeof field), -1);
    assert_string_equal(field, "");
}

struct bad_body {
    const char *body;
    const char *field;     /* exact path blamed */
    const char *err_has;   /* a word the message must use */
};

#define ITEM "{\"product_id\":1,\"qty\":1}"

static void test_orders_parse_bad_bodies(void **state)
{
    static const struct bad_body cases[] = {
        {"", "", "empty"},
        {"{", "", "invalid JSON"},
        {"not json", "", "invalid JSON"},
        {"{\"user_id\":1,\"items\":[" ITEM "]", "", "invalid JSON"},
        {"{\"user_id\":1,\"items\":[" ITEM "]} {}", "", "invalid JSON"},
        {"42", "", "JSON"},
        {"[]", "", "object"},
        {"[{\"user_id\":1,\"items\":[" ITEM "]}]", "", "object"},
        {"{}", "user_id", "missing"},
        {"{\"items\":[" ITEM "]}", "user_id", "missing"},
        {"{\"user_id\":\"7\",\"items\":[" ITEM "]}", "user_id", "integer"},
        {"{\"user_id\":1.5,\"items\":[" ITEM "]}", "user_id", "integer"},
        {"{\"user_id\":7.0,\"items\":[" ITEM "]}", "user_id", "integer"},
        {"{\"user_id\":null,\"items\":[" ITEM "]}", "user_id", "integer"},
        {"{\"user_id\":true,\"items\":[" ITEM "]}", "user_id", "integer"},
        {"{\"user_id\":0,\"items\":[" ITEM "]}", "user_id", "between 1 and"},
        {"{\"user_id\":-3,\"items\":[" ITEM "]}", "user_id", "between 1 and"},
        {"{\"user_id\":9007199254740992,\"items\":[" ITEM "]}", "user_id", "9007199254740991"},
        {"{\"user_id\":99999999999999999999,\"items\":[" ITEM "]}", "", "invalid JSON"},
        {"{\"user_id\":1}", "items", "missing"},
        {"{\"user_id\":1,\"items\":{}}", "items", "array"},
        {"{\"user_id\":1,\"items\":\"x\"}", "items", "array"},
        {"{\"user_id\":1,\"items\":null}", "items", "array"},
        {"{\"user_id\":1,\"items\":[]}", "items", "non-empty"},
        {"{\"user_id\":1,\"items\":[1]}", "items[0]", "object"},
        {"{\"user_id\":1,\"items\":[" ITEM ",\"x\"]}", "items[1]", "object"},
        {"{\"user_id\":1,\"items\":[[" ITEM "]]}", "items[0]", "object"},
        {"{\"user_id\":1,\"items\":[" ITEM "],\"coupon\":\"FREE\"}", "coupon", "unknown"},
        {"{\"userid\":1,\"items\":[" ITEM "]}", "userid", "unknown"},
        {"{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":1,\"price\":0}]}", "items[0].price", "unknown"},
        {"{\"user_id\":1,\"items\":[" ITEM ",{\"product\":1,\"qty\":1}]}", "items[1].product", "unknown"},
        {"{\"user_id\":1,\"items\":[{\"qty\":1}]}", "items[0].product_id", "missing"},
        {"{\"user_id\":1,\"items\":[{\"product_id\":1}]}", "items[0].qty", "missing"},
        {"{\"user_id\":1,\"items\":[{\"product_id\":0,\"qty\":1}]}", "items[0].product_id", "between 1 and 100"},
        {"{\"user_id\":1,\"items\":[{\"product_id\":101,\"qty\":1}]}", "items[0].product_id", "between 1 and 100"},
        {"{\"user_id\":1,\"items\":[{\"product_id\":-1,\"qty\":1}]}", "items[0].product_id", "between 1 and 100"},
        {"{\"user_id\":1,\"items\":[{\"product_id\":\"1\",\"qty\":1}]}", "items[0].product_id", "integer"},
        {"{\"user_id\":1,\"items\":[" ITEM "," ITEM ",{\"product_id\":1,\"qty\":0}]}", "items[2].qty", "between 1 and 1000"},
        {"{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":1001}]}", "items[0].qty", "between 1 and 1000"},
        {"{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":\"2\"}]}", "items[0].qty", "integer"},
        {"{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":2.5}]}", "items[0].qty", "integer"},
        {"{\"user_id\":1,\"user_id\":2,\"items\":[" ITEM "]}", "", "duplicate"},
        {"{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":1,\"qty\":2}]}", "", "duplicate"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad_body *c = &cases[i];
        struct order_request r;
        char err[256] = "", field[64] = "unset";

        if (parse(c->body, &r, err, sizeof err, field, sizeof field) != -1)
            fail_msg("accepted: %s", c->body);
        if (strcmp(field, c->field) != 0)
            fail_msg("%s: field '%s', expected '%s' (err: %s)", c->body, field, c->field, err);
        if (!strstr(err, c->err_has))
            fail_msg("%s: err '%s' does not say '%s'", c->body, err, c->err_has);
        /* A field-specific message names the field it blames. */
        if (c->field[0] && !strstr(err, c->field))
            fail_msg("%s: err '%s' does not name %s", c->body, err, c->field);
    }
}

static void test_orders_parse_too_many_items(void **state)
{
    struct order_request r;
    char err[256] = "", field[64] = "";
    char *b = body_with_items(ORDERS_MAX_ITEMS + 1);
    (void)state;

    assert_int_equal(parse(b, &r, err, sizeof err, field, sizeof field), -1);
    assert_string_equal(field, "items");
    assert_non_null(strstr(err, "too many"));
    assert_non_null(strstr(err, "32"));
    test_free(b);
}

/* The field and the message may go into a JSON reply: cut to fit, they must still be
 * whole UTF-8 characters. */
static void test_orders_parse_unknown_key_cut_on_a_character(void **state)
{
    char body[512], key[256], err[256] = "", field[64] = "";
    struct order_request r;
    size_t k = 0;
    (void)state;

    key[k++] = 'x';
    while (k + 2 < 200) {           /* "é" is two bytes: cuts at even lengths split one */
        key[k++] = (char)0xc3;
        key[k++] = (char)0xa9;
    }
    key[k] = '\0';
    snprintf(body, sizeof body, "{\"user_id\":1,\"items\":[" ITEM "],\"%s\":1}", key);
    assert_int_equal(parse(body, &r, err, sizeof err, field, sizeof field), -1);
    assert_non_null(strstr(err, "unknown"));
    assert_true(strlen(field) > 1);
    assert_memory_equal(field, key, strlen(field));   /* a prefix of the key */

    json_t *f = json_string(field), *e = json_string(err);
    if (!f)
        fail_msg("field is not valid UTF-8: %s", field);
    if (!e)
        fail_msg("err is not valid UTF-8: %s", err);
    json_decref(f);
    json_decref(e);

    /* The same inside an item, where the path prefix comes first, and with a small
     * field buffer. */
    char small[16] = "";
    snprintf(body, sizeof body, "{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":1,\"%s\":1}]}", key);
    assert_int_equal(parse(body, &r, err, sizeof err, small, sizeof small), -1);
    assert_memory_equal(small, "items[0].x", 10);
    if (!(f = json_string(small)))
        fail_msg("field is not valid UTF-8: %s", small);
    json_decref(f);

    /* jansson's own message quotes the text near the error; cut anywhere, it still
     * ends on a whole character. */
    snprintf(body, sizeof body, "{\"user_id\":\"%s", key);
    for (size_t errlen = 1; errlen < 120; errlen++) {
        char cut[128];
        assert_int_equal(parse(body, &r, cut, errlen, field, sizeof field), -1);
        assert_true(strlen(cut) < errlen);
        if (!(e = json_string(cut)))
            fail_msg("err cut to %zu is not valid UTF-8: %s", errlen, cut);
        json_decref(e);
    }
}

static void test_orders_state_names(void **state)
{
    (void)state;
    assert_string_equal(orders_state_name(ORDER_QUEUED), "queued");
    assert_string_equal(orders_state_name(ORDER_PROCESSING), "processing");
    assert_string_equal(orders_state_name(ORDER_DONE), "done");
    assert_string_equal(orders_state_name(ORDER_FAILED), "failed");
    assert_string_equal(orders_state_name(ORDER_STATE_COUNT), "unknown");
}

struct counts {
    uint64_t in_store[ORDER_STATE_COUNT], done, failed, accepted;
};

static struct counts counts_of(struct order_store *s)
{
    struct counts c;
    order_store_counts(s, c.in_store, &c.done, &c.failed, &c.accepted);
    return c;
}

static void assert_counts(struct order_store *s, uint64_t queued, uint64_t processing, uint64_t done_held,
                          uint64_t failed_held, uint64_t done, uint64_t failed, uint64_t accepted)
{
    struct counts c = counts_of(s);
    if (c.in_store[ORDER_QUEUED] != queued || c.in_store[ORDER_PROCESSING] != processing ||
        c.in_store[ORDER_DONE] != done_held || c.in_store[ORDER_FAILED] != failed_held || c.done != done ||
        c.failed != failed || c.accepted != accepted)
        fail_msg("counts: held q=%llu p=%llu d=%llu f=%llu, totals done=%llu failed=%llu accepted=%llu; "
                 "expected %llu %llu %llu %llu, %llu %llu %llu",
                 (unsigned long long)c.in_store[0], (unsigned long long)c.in_store[1],
                 (unsigned long long)c.in_store[2], (unsigned long long)c.in_store[3],
                 (unsigned long long)c.done, (unsigned long long)c.failed, (unsigned long long)c.accepted,
                 (unsigned long long)queued, (unsigned long long)processing, (unsigned long long)done_held,
                 (unsigned long long)failed_held, (unsigned long long)done, (unsigned long long)failed,
                 (unsigned long long)accepted);
}

static void test_orders_store_add_get_update(void **state)
{
    struct order_store *s = order_store_new(16);
    struct order_info info;
    uint64_t id;
    (void)state;

    assert_null(order_store_new(0));
    order_store_free(NULL);
    assert_non_null(s);
    assert_counts(s, 0, 0, 0, 0, 0, 0, 0);
    assert_int_equal(order_store_get(s, 1, &info), -1);
    assert_int_equal(order_store_get(s, 0, &info), -1);

    int64_t before = units_wall_ns();
    for (uint64_t want = 1; want <= 3; want++) {
        assert_int_equal(order_store_add(s, 100 + (int64_t)want, &id), 0);
        assert_int_equal(id, want);
    }
    int64_t after = units_wall_ns();
    assert_counts(s, 3, 0, 0, 0, 0, 0, 3);

    assert_int_equal(order_store_get(s, 2, &info), 0);
    assert_int_equal(info.id, 2);
    assert_int_equal(info.user_id, 102);
    assert_int_equal(info.state, ORDER_QUEUED);
    assert_int_equal(info.amount_cents, 0);
    assert_string_equal(info.failure, "");
    assert_true(info.created_wall_ns >= before && info.created_wall_ns <= after);

    assert_int_equal(order_store_update(s, 1, ORDER_PROCESSING, 0, NULL), 0);
    assert_counts(s, 2, 1, 0, 0, 0, 0, 3);
    assert_int_equal(order_store_update(s, 1, ORDER_DONE, 1234, NULL), 0);
    assert_int_equal(order_store_update(s, 2, ORDER_PROCESSING, 0, NULL), 0);
    assert_int_equal(order_store_update(s, 2, ORDER_FAILED, 0, "card declined"), 0);
    assert_counts(s, 1, 0, 1, 1, 1, 1, 3);

    assert_int_equal(order_store_get(s, 1, &info), 0);
    assert_int_equal(info.state, ORDER_DONE);
    assert_int_equal(info.amount_cents, 1234);
    assert_int_equal(info.user_id, 101);
    assert_string_equal(info.failure, "");
    assert_int_equal(order_store_get(s, 2, &info), 0);
    assert_int_equal(info.state, ORDER_FAILED);
    assert_string_equal(info.failure, "card declined");

    /* A long failure is cut, terminated. */
    char longer[200];
    memset(longer, 'f', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(order_store_update(s, 3, ORDER_FAILED, 0, longer), 0);
    assert_int_equal(order_store_get(s, 3, &info), 0);
    assert_int_equal(strlen(info.failure), sizeof info.failure - 1);
    assert_counts(s, 0, 0, 1, 2, 1, 2, 3);

    /* Unknown ids change nothing. */
    assert_int_equal(order_store_update(s, 4, ORDER_DONE, 1, NULL), -1);
    assert_int_equal(order_store_update(s, 0, ORDER_DONE, 1, NULL), -1);
    assert_int_equal(order_store_update(s, 3 + 16, ORDER_DONE, 1, NULL), -1);   /* same slot as 3 */
    assert_int_equal(order_store_get(s, 3 + 16, &info), -1);
    assert_counts(s, 0, 0, 1, 2, 1, 2, 3);

    /* The next id follows on. */
    assert_int_equal(order_store_add(s, 7, &id), 0);
    assert_int_equal(id, 4);
    order_store_free(s);
}

static void test_orders_store_update_rejects_unknown_state(void **state)
{
    struct order_store *s = order_store_new(4);
    struct order_info info;
    uint64_t id;
    (void)state;

    assert_int_equal(order_store_add(s, 1, &id), 0);
    assert_int_equal(order_store_update(s, id, ORDER_STATE_COUNT, 5, NULL), -1);
    assert_int_equal(order_store_update(s, id, (enum order_state)-1, 5, NULL), -1);
    assert_int_equal(order_store_get(s, id, &info), 0);
    assert_int_equal(info.state, ORDER_QUEUED);
    assert_int_equal(info.amount_cents, 0);
    assert_counts(s, 1, 0, 0, 0, 0, 0, 1);
    order_store_free(s);
}

static void test_orders_store_remove(void **state)
{
    struct order_store *s = order_store_new(8);
    struct order_info info;
    uint64_t id;
    (void)state;

    for (int i = 0; i < 3; i++)
        assert_int_equal(order_store_add(s, 1, &id), 0);
    order_store_remove(s, 2);
    assert_int_equal(order_store_get(s, 2, &info), -1);
    assert_int_equal(order_store_update(s, 2, ORDER_DONE, 0, NULL), -1);
    assert_counts(s, 2, 0, 0, 0, 0, 0, 2);

    /* Removing again, or an id never given, changes nothing. */
    order_store_remove(s, 2);
    order_store_remove(s, 99);
    order_store_remove(s, 0);
    assert_counts(s, 2, 0, 0, 0, 0, 0, 2);
    assert_int_equal(order_store_get(s, 1, &info), 0);
    assert_int_equal(order_store_get(s, 3, &info), 0);

    /* The removed order's id goes to the next order (ids are spent only on accepted
     * orders, so refusals cannot wrap the ring); then numbering goes on. */
    assert_int_equal(order_store_add(s, 1, &id), 0);
    assert_int_equal(id, 2);
    assert_int_equal(order_store_add(s, 1, &id), 0);
    assert_int_equal(id, 4);
    assert_int_equal(order_store_full_total(s), 0);
    order_store_free(s);
}

static void test_orders_store_full_refuses_and_loses_nothing(void **state)
{
    struct order_store *s = order_store_new(4);
    struct order_info info;
    uint64_t id;
    (void)state;

    for (uint64_t want = 1; want <= 4; want++) {
        assert_int_equal(order_store_add(s, (int64_t)want, &id), 0);
        assert_int_equal(id, want);
    }
    assert_int_equal(order_store_update(s, 3, ORDER_PROCESSING, 0, NULL), 0);
    for (int attempt = 0; attempt < 3; attempt++) {
        id = 777;
        assert_int_equal(order_store_add(s, 50, &id), -1);
        assert_int_equal(id, 777);   /* untouched */
    }
    assert_counts(s, 3, 1, 0, 0, 0, 0, 4);
    assert_int_equal(order_store_full_total(s), 3);   /* each refusal counted */
    for (uint64_t want = 1; want <= 4; want++) {
        assert_int_equal(order_store_get(s, want, &info), 0);
        assert_int_equal(info.user_id, (int64_t)want);
    }
    order_store_free(s);
}

static void test_orders_store_forgets_finished_oldest_first(void **state)
{
    struct order_store *s = order_store_new(4);
    struct order_info info;
    uint64_t id;
    (void)state;

    for (int i = 0; i < 4; i++)
        assert_int_equal(order_store_add(s, 1, &id), 0);

    /* Order 1 finishes: the next order takes its place and 1 is forgotten. */
    assert_int_equal(order_store_update(s, 1, ORDER_DONE, 10, NULL), 0);
    assert_int_equal(order_store_add(s, 1, &id), 0);
    assert_int_equal(id, 5);
    assert_int_equal(order_store_get(s, 1, &info), -1);
    assert_int_equal(order_store_update(s, 1, ORDER_DONE, 10, NULL), -1);
    assert_counts(s, 4, 0, 0, 0, 1, 0, 5);

    /* 3 finishes but 2, older, has not: 2's slot is next, so the store is full. */
    assert_int_equal(order_store_update(s, 3, ORDER_FAILED, 0, "declined"), 0);
    assert_int_equal(order_store_add(s, 1, &id), -1);
    assert_int_equal(order_store_get(s, 2, &info), 0);
    assert_int_equal(info.state, ORDER_QUEUED);

    /* Once 2 finishes, 6 replaces it and 3 is still there until 7 comes. */
    assert_int_equal(order_store_update(s, 2, ORDER_DONE, 20, NULL), 0);
    assert_int_equal(order_store_add(s, 1, &id), 0);
    assert_int_equal(id, 6);
    assert_int_equal(order_store_get(s, 2, &info), -1);
    assert_int_equal(order_store_get(s, 3, &info), 0);
    assert_int_equal(info.state, ORDER_FAILED);
    assert_string_equal(info.failure, "declined");
    assert_int_equal(order_store_add(s, 1, &id), 0);
    assert_int_equal(id, 7);
    assert_int_equal(order_store_get(s, 3, &info), -1);

    /* Held: 4, 5, 6, 7 all queued; totals remember the forgotten ones. */
    assert_counts(s, 4, 0, 0, 0, 2, 1, 7);
    for (uint64_t want = 4; want <= 7; want++)
        assert_int_equal(order_store_get(s, want, &info), 0);
    order_store_free(s);
}

#define WORKERS 4
#define PER_WORKER 3000
#define TOTAL (WORKERS * PER_WORKER)

struct store_worker {
    struct order_store *s;
    int index;
    uint64_t ids[PER_WORKER];
    uint64_t done, failed, refusals;
    bool ok;
};

/* Adds orders and takes each one through processing to done or failed, retrying an
 * add the store refuses (another worker's order still holds the next slot). */
static void *run_orders(void *arg)
{
    struct store_worker *w = arg;
    struct order_info info;

    w->ok = true;
    for (int i = 0; i < PER_WORKER; i++) {
        uint64_t id;
        int64_t user = w->index * 1000000 + i + 1;
        while (order_store_add(w->s, user, &id) < 0) {
            w->refusals++;
            sched_yield();
        }
        w->ids[i] = id;
        if (order_store_update(w->s, id, ORDER_PROCESSING, 0, NULL) < 0)
            w->ok = false;
        if (order_store_get(w->s, id, &info) < 0 || info.user_id != user || info.state != ORDER_PROCESSING)
            w->ok = false;
        bool fail = (i % 3) == 0;
        if (order_store_update(w->s, id, fail ? ORDER_FAILED : ORDER_DONE, fail ? 0 : user, fail ? "no" : NULL) < 0)
            w->ok = false;
        if (fail)
            w->failed++;
        else
            w->done++;
    }
    return NULL;
}

static void run_store_workers(size_t capacity)
{
    struct order_store *s = order_store_new(capacity);
    struct store_worker *w = test_calloc(WORKERS, sizeof *w);
    bool *seen = test_calloc(TOTAL + 1, sizeof *seen);
    pthread_t t[WORKERS];
    uint64_t done = 0, failed = 0;

    for (int i = 0; i < WORKERS; i++) {
        w[i].s = s;
        w[i].index = i;
        assert_int_equal(pthread_create(&t[i], NULL, run_orders, &w[i]), 0);
    }
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(t[i], NULL);
        assert_true(w[i].ok);
        done += w[i].done;
        failed += w[i].failed;
        /* Each worker's ids increase, and no id is given twice. */
        for (int j = 0; j < PER_WORKER; j++) {
            uint64_t id = w[i].ids[j];
            assert_true(id >= 1 && id <= TOTAL);
            assert_false(seen[id]);
            seen[id] = true;
            if (j > 0)
                assert_true(id > w[i].ids[j - 1]);
        }
    }
    /* A refused add takes no id: 1..TOTAL were all given. */
    for (uint64_t id = 1; id <= TOTAL; id++)
        assert_true(seen[id]);

    struct counts c = counts_of(s);
    uint64_t held = capacity < TOTAL ? capacity : TOTAL;
    assert_int_equal(c.accepted, TOTAL);
    assert_int_equal(c.done, done);
    assert_int_equal(c.failed, failed);
    assert_int_equal(c.in_store[ORDER_QUEUED], 0);
    assert_int_equal(c.in_store[ORDER_PROCESSING], 0);
    assert_int_equal(c.in_store[ORDER_DONE] + c.in_store[ORDER_FAILED], held);

    /* What is held agrees with the counts, and is the newest orders. */
    uint64_t held_done = 0, held_failed = 0;
    for (uint64_t id = 1; id <= TOTAL; id++) {
        struct order_info info;
        int rc = order_store_get(s, id, &info);
        if (id > TOTAL - held) {
            assert_int_equal(rc, 0);
            assert_int_equal(info.id, id);
            held_done += info.state == ORDER_DONE;
            held_failed += info.state == ORDER_FAILED;
        } else {
            assert_int_equal(rc, -1);
        }
    }
    assert_int_equal(held_done, c.in_store[ORDER_DONE]);
    assert_int_equal(held_failed, c.in_store[ORDER_FAILED]);

    order_store_free(s);
    test_free(seen);
    test_free(w);
}

static void test_orders_store_concurrent_counts_consistent(void **state)
{
    (void)state;
    run_store_workers(TOTAL);   /* room for all: nothing forgotten */
    run_store_workers(64);      /* small: slots reused all the time */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orders_parse_good_body),
        cmocka_unit_test(test_orders_parse_reads_only_len_bytes),
        cmocka_unit_test(test_orders_parse_bad_bodies),
        cmocka_unit_test(test_orders_parse_too_many_items),
        cmocka_unit_test(test_orders_parse_unknown_key_cut_on_a_character),
        cmocka_unit_test(test_orders_state_names),
        cmocka_unit_test(test_orders_store_add_get_update),
        cmocka_unit_test(test_orders_store_update_rejects_unknown_state),
        cmocka_unit_test(test_orders_store_remove),
        cmocka_unit_test(test_orders_store_full_refuses_and_loses_nothing),
        cmocka_unit_test(test_orders_store_forgets_finished_oldest_first),
        cmocka_unit_test(test_orders_store_concurrent_counts_consistent),
    };
    alarm(120);   /* a deadlock fails the run instead of hanging it */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
