/* catalog: sharded product cache with a global-lock fault. See catalog.h. */
#include "catalog.h"

#include "fault.h"
#include "lockprof.h"
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CATALOG_MAX_PRODUCTS 1000000
#define CATALOG_MAX_SHARDS 1024

static const char *const adjectives[] = {"Red", "Quiet", "Swift", "Tiny", "Sturdy", "Bright", "Warm", "Plain"};
static const char *const nouns[] = {"Kettle", "Lamp", "Chair", "Mug", "Notebook", "Backpack", "Clock", "Scarf"};

struct shard {
    struct lockprof_mutex lock;
    uint64_t hits;
    char pad[64];
};

struct catalog {
    size_t count, nshards;
    struct catalog_product *products;
    char *names;     /* one block for every name */
    char *json;      /* one block for every product's JSON */
    struct shard *shards;
    struct lockprof_mutex global;
    uint64_t global_hits;
};

struct catalog *catalog_new(size_t count, size_t nshards)
{
    struct catalog *c = NULL;
    const size_t name_size = 48, json_size = 128;

    if (count == 0 || count > CATALOG_MAX_PRODUCTS || nshards == 0 || nshards > CATALOG_MAX_SHARDS)
        return NULL;
    if (!(c = calloc(1, sizeof *c)))
        return NULL;
    c->count = count;
    c->nshards = nshards;
    c->products = calloc(count, sizeof *c->products);
    c->names = malloc(count * name_size);
    c->json = malloc(count * json_size);
    c->shards = calloc(nshards, sizeof *c->shards);
    if (!c->products || !c->names || !c->json || !c->shards) {
        free(c->products);
        free(c->names);
        free(c->json);
        free(c->shards);
        free(c);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        struct catalog_product *p = &c->products[i];
        char *name = c->names + i * name_size, *json = c->json + i * json_size;
        p->id = (int64_t)i + 1;
        p->price_cents = 199 + (int64_t)((i * 7919) % 20000);
        snprintf(name, name_size, "%s %s %zu", adjectives[i % 8], nouns[(i / 8) % 8], i + 1);
        p->name = name;
        int n = snprintf(json, json_size, "{\"id\":%lld,\"name\":\"%s\",\"price_cents\":%lld}",
                         (long long)p->id, name, (long long)p->price_cents);
        p->json = json;
        p->json_len = (size_t)n;
    }
    for (size_t s = 0; s < nshards; s++)
        lockprof_mutex_init(&c->shards[s].lock, "cache_shard");
    lockprof_mutex_init(&c->global, "cache_global");
    return c;
}

void catalog_free(struct catalog *c)
{
    if (!c)
        return;
    for (size_t s = 0; s < c->nshards; s++)
        lockprof_mutex_destroy(&c->shards[s].lock);
    lockprof_mutex_destroy(&c->global);
    free(c->products);
    free(c->names);
    free(c->json);
    free(c->shards);
    free(c);
}

static const struct catalog_product *find(struct catalog *c, int64_t id)
{
    if (id < 1 || (uint64_t)id > c->count)
        return NULL;
    return &c->products[id - 1];
}

/* Sleeps, not spins, while holding the lock: the waiters then block on the mutex and
 * the contention is what a profile sees, without the CPU hiding it. */
static void hold_for(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

__attribute__((noinline)) const struct catalog_product *cache_get_global(struct catalog *c, int64_t id, int64_t hold_ns)
{
    const struct catalog_product *p;

    lockprof_mutex_lock(&c->global);
    p = find(c, id);
    c->global_hits++;
    if (hold_ns > 0 && hold_ns != UNITS_DURATION_INF)
        hold_for(hold_ns);
    lockprof_mutex_unlock(&c->global);
    return p;
}

static const struct catalog_product *cache_get_sharded(struct catalog *c, int64_t id)
{
    struct shard *s = &c->shards[(uint64_t)id % c->nshards];
    const struct catalog_product *p;

    lockprof_mutex_lock(&s->lock);
    p = find(c, id);
    s->hits++;
    lockprof_mutex_unlock(&s->lock);
    return p;
}

const struct catalog_product *catalog_get(struct catalog *c, int64_t id)
{
    int64_t hold_ns;

    if (fault_fires(FAULT_LOCK_CACHE, &hold_ns))
        return cache_get_global(c, id, hold_ns);
    return cache_get_sharded(c, id);
}

size_t catalog_count(const struct catalog *c) { return c->count; }

const struct catalog_product *catalog_at(const struct catalog *c, size_t i)
{
    return i < c->count ? &c->products[i] : NULL;
}
