/* Tests for service/catalog.c: products 1..N and their JSON (parsed with jansson and
 * checked against the struct), ids outside 1..N, bad sizes, catalog_at bounds, and the
 * lock.cache fault path (cache_get_global) returning the very same products while its
 * fired count grows — also from several threads at once. Every test starts and ends
 * with all faults cleared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "fault.h"
#include "fault_fixture.h"

#define COUNT 200
#define SHARDS 16

static int clear_faults(void **state)
{
    (void)state;
    fault_fixture_clear_all();
    return 0;
}

static uint64_t lock_cache_fired(void)
{
    struct fault_status st;
    fault_status(FAULT_LOCK_CACHE, &st);
    return st.fired;
}

/* The product's JSON is an object of exactly id, name and price_cents, equal to the
 * struct's fields. */
static void check_product_json(const struct catalog_product *p)
{
    json_error_t jerr;
    json_t *root;

    assert_int_equal(strlen(p->json), p->json_len);
    root = json_loadb(p->json, p->json_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        fail_msg("product %lld: bad JSON '%s': %s", (long long)p->id, p->json, jerr.text);
    assert_true(json_is_object(root));
    assert_int_equal(json_object_size(root), 3);
    assert_true(json_is_integer(json_object_get(root, "id")));
    assert_int_equal(json_integer_value(json_object_get(root, "id")), p->id);
    assert_true(json_is_string(json_object_get(root, "name")));
    assert_string_equal(json_string_value(json_object_get(root, "name")), p->name);
    assert_true(json_is_integer(json_object_get(root, "price_cents")));
    assert_int_equal(json_integer_value(json_object_get(root, "price_cents")), p->price_cents);
    json_decref(root);
}

static void test_catalog_new_rejects_bad_sizes(void **state)
{
    struct catalog *c;
    (void)state;

    assert_null(catalog_new(0, 4));
    assert_null(catalog_new(10, 0));
    assert_null(catalog_new(1000001, 4));
    assert_null(catalog_new(10, 1025));
    assert_null(catalog_new(SIZE_MAX, 4));
    catalog_free(NULL);

    /* The edges that are allowed. */
    assert_non_null(c = catalog_new(1, 1));
    assert_int_equal(catalog_count(c), 1);
    assert_non_null(catalog_get(c, 1));
    assert_null(catalog_get(c, 2));
    catalog_free(c);
    assert_non_null(c = catalog_new(10, 1024));
    for (int64_t id = 1; id <= 10; id++)
        assert_int_equal(catalog_get(c, id)->id, id);
    catalog_free(c);
}

static void test_catalog_get_finds_every_id_with_consistent_json(void **state)
{
    struct catalog *c = catalog_new(COUNT, SHARDS);
    (void)state;

    assert_non_null(c);
    assert_int_equal(catalog_count(c), COUNT);
    for (int64_t id = 1; id <= COUNT; id++) {
        const struct catalog_product *p = catalog_get(c, id);
        assert_non_null(p);
        assert_int_equal(p->id, id);
        assert_true(p->price_cents > 0);
        assert_non_null(p->name);
        assert_true(strlen(p->name) > 0);
        check_product_json(p);
        /* Lookup and listing agree, and the product outlives the call. */
        assert_ptr_equal(catalog_at(c, (size_t)id - 1), p);
        assert_ptr_equal(catalog_get(c, id), p);
        /* Names tell products apart. */
        if (id > 1)
            assert_string_not_equal(catalog_get(c, id - 1)->name, p->name);
    }
    catalog_free(c);
}

static void test_catalog_get_unknown_ids(void **state)
{
    struct catalog *c = catalog_new(COUNT, SHARDS);
    static const int64_t bad[] = {0, COUNT + 1, COUNT + 1000, -1, -COUNT, INT64_MIN, INT64_MAX};
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (catalog_get(c, bad[i]) != NULL)
            fail_msg("id %lld found", (long long)bad[i]);
    catalog_free(c);
}

static void test_catalog_at_bounds(void **state)
{
    struct catalog *c = catalog_new(COUNT, SHARDS);
    (void)state;

    assert_int_equal(catalog_at(c, 0)->id, 1);
    assert_int_equal(catalog_at(c, COUNT - 1)->id, COUNT);
    assert_null(catalog_at(c, COUNT));
    assert_null(catalog_at(c, SIZE_MAX));
    catalog_free(c);
}

static void test_catalog_lock_cache_fault_same_products(void **state)
{
    struct catalog *c = catalog_new(COUNT, SHARDS);
    const struct catalog_product *healthy[COUNT + 1];
    (void)state;

    for (int64_t id = 1; id <= COUNT; id++)
        healthy[id] = catalog_get(c, id);
    assert_int_equal(lock_cache_fired(), 0);   /* off: the lookups were not eligible firings */

    fault_fixture_set(FAULT_LOCK_CACHE, "on(0)");
    for (int64_t id = 1; id <= COUNT; id++)
        assert_ptr_equal(catalog_get(c, id), healthy[id]);
    assert_null(catalog_get(c, 0));
    assert_null(catalog_get(c, COUNT + 1));
    assert_null(catalog_get(c, -5));
    /* Every lookup went through the global path and fired once, bad ids included. */
    assert_int_equal(lock_cache_fired(), COUNT + 3);

    /* With a hold time the result is the same; the culprit itself answers too. */
    fault_fixture_set(FAULT_LOCK_CACHE, "on(1us)");
    assert_ptr_equal(catalog_get(c, 7), healthy[7]);
    assert_int_equal(lock_cache_fired(), 1);
    assert_ptr_equal(cache_get_global(c, 8, 0), healthy[8]);
    assert_null(cache_get_global(c, COUNT + 1, 0));

    /* A counted term fires that many times, then the healthy path serves. */
    fault_fixture_set(FAULT_LOCK_CACHE, "3*on(0)");
    for (int64_t id = 1; id <= 10; id++)
        assert_ptr_equal(catalog_get(c, id), healthy[id]);
    assert_int_equal(lock_cache_fired(), 3);

    fault_clear(FAULT_LOCK_CACHE);
    assert_ptr_equal(catalog_get(c, COUNT), healthy[COUNT]);
    assert_int_equal(lock_cache_fired(), 0);
    catalog_free(c);
}

#define READERS 4
#define LOOKUPS 20000

struct reader {
    struct catalog *c;
    int index;
    uint64_t wrong, found;
};

static void *read_products(void *arg)
{
    struct reader *r = arg;
    /* Each reader walks a different stride through ids -2..COUNT+2. */
    int64_t id = r->index;

    for (int i = 0; i < LOOKUPS; i++) {
        id = (id + 7 + r->index * 2) % (COUNT + 5);
        int64_t want = id - 2;
        const struct catalog_product *p = catalog_get(r->c, want);
        if (want >= 1 && want <= COUNT) {
            if (!p || p->id != want || p != catalog_at(r->c, (size_t)want - 1))
                r->wrong++;
            else
                r->found++;
        } else if (p) {
            r->wrong++;
        }
    }
    return NULL;
}

static void run_readers(struct catalog *c, uint64_t *found_total)
{
    struct reader r[READERS];
    pthread_t t[READERS];

    *found_total = 0;
    for (int i = 0; i < READERS; i++) {
        r[i] = (struct reader){.c = c, .index = i};
        assert_int_equal(pthread_create(&t[i], NULL, read_products, &r[i]), 0);
    }
    for (int i = 0; i < READERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].wrong, 0);
        assert_true(r[i].found > 0);
        *found_total += r[i].found;
    }
}

static void test_catalog_concurrent_readers_both_paths(void **state)
{
    struct catalog *c = catalog_new(COUNT, SHARDS);
    uint64_t found;
    (void)state;

    run_readers(c, &found);
    assert_int_equal(lock_cache_fired(), 0);

    fault_fixture_set(FAULT_LOCK_CACHE, "on(0)");
    run_readers(c, &found);
    assert_int_equal(lock_cache_fired(), READERS * LOOKUPS);

    /* Half the lookups on each path at once. */
    fault_fixture_set(FAULT_LOCK_CACHE, "50%on(0)");
    run_readers(c, &found);
    uint64_t fired = lock_cache_fired();
    assert_true(fired > 0 && fired < READERS * LOOKUPS);
    catalog_free(c);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, clear_faults, clear_faults)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_catalog_new_rejects_bad_sizes),
        TEST(test_catalog_get_finds_every_id_with_consistent_json),
        TEST(test_catalog_get_unknown_ids),
        TEST(test_catalog_at_bounds),
        TEST(test_catalog_lock_cache_fault_same_products),
        TEST(test_catalog_concurrent_readers_both_paths),
    };
    alarm(120);   /* a deadlock fails the run instead of hanging it */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
