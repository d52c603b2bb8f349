/* catalog: the in-memory product cache behind GET /api/products.
 *
 * Healthy, the cache is split into shards, each behind its own named lock
 * ("cache_shard"), so readers on different threads rarely meet. The lock.cache fault
 * routes every lookup through cache_get_global(): one global mutex ("cache_global")
 * held across the lookup and a slow step — the seed's "cache mutex behind 40% of p99".
 * Products are immutable once built; the locks guard the per-shard hit counters and
 * stand for the bookkeeping a real cache does on every read. */
#ifndef ORDERD_CATALOG_H
#define ORDERD_CATALOG_H

#include <stddef.h>
#include <stdint.h>

struct catalog_product {
    int64_t id;
    int64_t price_cents;
    const char *name;
    const char *json;       /* {"id":..,"name":..,"price_cents":..} */
    size_t json_len;
};

struct catalog;

/* Builds products 1..count in nshards shards. Returns NULL on bad sizes or no memory. */
struct catalog *catalog_new(size_t count, size_t nshards);
void catalog_free(struct catalog *c);   /* NULL is a no-op */

/* Looks a product up (through the global lock while lock.cache is on). Returns the
 * product, which lives as long as the catalog, or NULL when there is no such id. */
const struct catalog_product *catalog_get(struct catalog *c, int64_t id);

size_t catalog_count(const struct catalog *c);
/* The product with index i (0-based, i < count), without locking: for listings. */
const struct catalog_product *catalog_at(const struct catalog *c, size_t i);

/* The lock.cache culprit, exposed so its name is stable in profiles. */
const struct catalog_product *cache_get_global(struct catalog *c, int64_t id, int64_t hold_ns);

#endif
