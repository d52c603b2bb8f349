/* orders: order validation (jansson) and the bounded order store. See orders.h. */
#include "orders.h"

#include "lockprof.h"
#include "units.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_STRIPES 64

static const char *const state_names[] = {"queued", "processing", "done", "failed"};

const char *orders_state_name(enum order_state state)
{
    return state < ORDER_STATE_COUNT ? state_names[state] : "unknown";
}

/* Reads an integer member in [min, max]. Returns 0 or -1 with err/field filled. */
static int get_int(json_t *obj, const char *key, const char *path, int64_t min, int64_t max,
                   int64_t *out, char *err, size_t errlen, char *field, size_t fieldlen)
{
    json_t *v = json_object_get(obj, key);

    snprintf(field, fieldlen, "%s", path);
    if (!v) {
        snprintf(err, errlen, "missing field %s", path);
        return -1;
    }
    if (!json_is_integer(v)) {
        snprintf(err, errlen, "%s must be an integer", path);
        return -1;
    }
    json_int_t n = json_integer_value(v);
    if (n < min || n > max) {
        snprintf(err, errlen, "%s must be between %lld and %lld", path, (long long)min, (long long)max);
        return -1;
    }
    *out = (int64_t)n;
    return 0;
}

/* Drops a UTF-8 sequence cut short at the end of s. Keys and jansson's messages are
 * valid UTF-8 (jansson checks its input), so only a cut made to fit a buffer can
 * leave one, and a reply or log line that carries s must stay valid JSON. */
static void trim_partial_utf8(char *s)
{
    size_t n = strlen(s), lead = n;

    while (lead > 0 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
        lead--;
    if (lead == 0)
        return;
    unsigned char c = (unsigned char)s[lead - 1];
    size_t want = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (n - (lead - 1) < want)
        s[lead - 1] = '\0';
}

/* The length of key cut to at most max bytes on a character boundary. */
static int key_length(const char *key, size_t max)
{
    size_t n = strlen(key);

    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)key[n] & 0xc0) == 0x80)
            n--;
    }
    return (int)n;
}

/* Rejects members other than the allowed ones: a misspelled key is an error, not
 * silently a default. */
static int only_keys(json_t *obj, const char *const *allowed, int nallowed, const char *prefix,
                     char *err, size_t errlen, char *field, size_t fieldlen)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (int i = 0; i < nallowed; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = true;
        if (!ok) {
            int keylen = key_length(key, 64);
            snprintf(field, fieldlen, "%s%.*s", prefix, keylen, key);
            snprintf(err, errlen, "unknown field %s%.*s", prefix, keylen, key);
            return -1;
        }
    }
    return 0;
}

int orders_parse_request(const char *body, size_t len, int64_t max_product_id,
                         struct order_request *out, char *err, size_t errlen,
                         char *field, size_t fieldlen)
{
    static const char *const top_keys[] = {"user_id", "items"};
    static const char *const item_keys[] = {"product_id", "qty"};
    json_error_t jerr;
    json_t *root = NULL, *items;
    int rc = -1;

    field[0] = '\0';
    if (len == 0) {
        snprintf(err, errlen, "empty body: an order is a JSON object");
        goto done;
    }
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        goto done;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "an order must be a JSON object");
        goto done;
    }
    if (only_keys(root, top_keys, 2, "", err, errlen, field, fieldlen) < 0)
        goto done;
    if (get_int(root, "user_id", "user_id", 1, ORDERS_MAX_ID, &out->user_id, err, errlen, field, fieldlen) < 0)
        goto done;
    items = json_object_get(root, "items");
    snprintf(field, fieldlen, "items");
    if (!items) {
        snprintf(err, errlen, "missing field items");
        goto done;
    }
    if (!json_is_array(items) || json_array_size(items) == 0) {
        snprintf(err, errlen, "items must be a non-empty array");
        goto done;
    }
    if (json_array_size(items) > ORDERS_MAX_ITEMS) {
        snprintf(err, errlen, "too many items: at most %d", ORDERS_MAX_ITEMS);
        goto done;
    }
    out->nitems = (int)json_array_size(items);
    for (int i = 0; i < out->nitems; i++) {
        json_t *item = json_array_get(items, (size_t)i);
        char prefix[32], path[48];
        snprintf(prefix, sizeof prefix, "items[%d].", i);
        if (!json_is_object(item)) {
            snprintf(field, fieldlen, "items[%d]", i);
            snprintf(err, errlen, "items[%d] must be an object", i);
            goto done;
        }
        if (only_keys(item, item_keys, 2, prefix, err, errlen, field, fieldlen) < 0)
            goto done;
        snprintf(path, sizeof path, "items[%d].product_id", i);
        if (get_int(item, "product_id", path, 1, max_product_id, &out->items[i].product_id,
                    err, errlen, field, fieldlen) < 0)
            goto done;
        snprintf(path, sizeof path, "items[%d].qty", i);
        if (get_int(item, "qty", path, 1, ORDERS_MAX_QTY, &out->items[i].qty, err, errlen, field, fieldlen) < 0)
            goto done;
    }
    field[0] = '\0';
    rc = 0;
done:
    if (rc < 0 && errlen > 0 && fieldlen > 0) {
        trim_partial_utf8(err);
        trim_partial_utf8(field);
    }
    json_decref(root);
    return rc;
}

#define RETURNED_IDS_MAX 128

struct store_slot {
    struct order_info info;
    bool used;
};

struct order_store {
    size_t capacity;
    struct store_slot *slots;
    struct lockprof_mutex stripes[STORE_STRIPES];
    struct lockprof_mutex next_lock;
    uint64_t next_id;
    /* Ids taken by orders the queue then refused, handed out again first: an id is
     * spent only on an accepted order, so refusals cannot wrap the ring onto an
     * order still queued. Each I/O thread holds at most one id between add and
     * remove, so a few slots are enough; an id that finds none is just skipped. */
    uint64_t returned_ids[RETURNED_IDS_MAX];
    size_t nreturned;
    _Atomic uint64_t full_total;
    _Atomic uint64_t in_state[ORDER_STATE_COUNT];
    _Atomic uint64_t done_total, failed_total, accepted_total;
};

struct order_store *order_store_new(size_t capacity)
{
    struct order_store *s;

    if (capacity == 0 || !(s = calloc(1, sizeof *s)))
        return NULL;
    if (!(s->slots = calloc(capacity, sizeof *s->slots))) {
        free(s);
        return NULL;
    }
    s->capacity = capacity;
    s->next_id = 1;
    for (int i = 0; i < STORE_STRIPES; i++)
        lockprof_mutex_init(&s->stripes[i], "order_store");
    lockprof_mutex_init(&s->next_lock, "order_store");
    return s;
}

void order_store_free(struct order_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < STORE_STRIPES; i++)
        lockprof_mutex_destroy(&s->stripes[i]);
    lockprof_mutex_destroy(&s->next_lock);
    free(s->slots);
    free(s);
}

static struct lockprof_mutex *stripe(struct order_store *s, uint64_t id)
{
    return &s->stripes[(id % s->capacity) % STORE_STRIPES];
}

static bool unfinished(const struct store_slot *slot)
{
    return slot->used && (slot->info.state == ORDER_QUEUED || slot->info.state == ORDER_PROCESSING);
}

int order_store_add(struct order_store *s, int64_t user_id, uint64_t *id_out)
{
    uint64_t id;
    struct lockprof_mutex *m;
    struct store_slot *slot;
    int rc = -1;

    /* Ids are handed out in order, so the slot for an id is the oldest one. */
    lockprof_mutex_lock(&s->next_lock);
    bool reused = s->nreturned > 0;
    id = reused ? s->returned_ids[s->nreturned - 1] : s->next_id;
    m = stripe(s, id);
    lockprof_mutex_lock(m);
    slot = &s->slots[id % s->capacity];
    if (!unfinished(slot)) {
        if (slot->used)
            atomic_fetch_sub(&s->in_state[slot->info.state], 1);
        memset(slot, 0, sizeof *slot);
        slot->used = true;
        slot->info.id = id;
        slot->info.user_id = user_id;
        slot->info.state = ORDER_QUEUED;
        slot->info.created_wall_ns = units_wall_ns();
        atomic_fetch_add(&s->in_state[ORDER_QUEUED], 1);
        atomic_fetch_add(&s->accepted_total, 1);
        if (reused)
            s->nreturned--;
        else
            s->next_id++;
        *id_out = id;
        rc = 0;
    } else {
        atomic_fetch_add(&s->full_total, 1);
    }
    lockprof_mutex_unlock(m);
    lockprof_mutex_unlock(&s->next_lock);
    return rc;
}

static struct store_slot *find_locked(struct order_store *s, uint64_t id)
{
    struct store_slot *slot = &s->slots[id % s->capacity];
    return slot->used && slot->info.id == id ? slot : NULL;
}

void order_store_remove(struct order_store *s, uint64_t id)
{
    struct lockprof_mutex *m = stripe(s, id);
    struct store_slot *slot;

    bool removed = false;

    lockprof_mutex_lock(&s->next_lock);
    lockprof_mutex_lock(m);
    if ((slot = find_locked(s, id))) {
        atomic_fetch_sub(&s->in_state[slot->info.state], 1);
        atomic_fetch_sub(&s->accepted_total, 1);
        slot->used = false;
        removed = true;
    }
    lockprof_mutex_unlock(m);
    if (removed && s->nreturned < RETURNED_IDS_MAX)
        s->returned_ids[s->nreturned++] = id;
    lockprof_mutex_unlock(&s->next_lock);
}

uint64_t order_store_full_total(struct order_store *s)
{
    return atomic_load(&s->full_total);
}

int order_store_update(struct order_store *s, uint64_t id, enum order_state state,
                       int64_t amount_cents, const char *failure)
{
    struct lockprof_mutex *m = stripe(s, id);
    struct store_slot *slot;
    int rc = -1;

    /* A state outside the table would index past in_state[] into the totals. */
    if ((unsigned)state >= ORDER_STATE_COUNT)
        return -1;
    lockprof_mutex_lock(m);
    if ((slot = find_locked(s, id))) {
        atomic_fetch_sub(&s->in_state[slot->info.state], 1);
        atomic_fetch_add(&s->in_state[state], 1);
        slot->info.state = state;
        slot->info.amount_cents = amount_cents;
        snprintf(slot->info.failure, sizeof slot->info.failure, "%s", failure ? failure : "");
        if (state == ORDER_DONE)
            atomic_fetch_add(&s->done_total, 1);
        else if (state == ORDER_FAILED)
            atomic_fetch_add(&s->failed_total, 1);
        rc = 0;
    }
    lockprof_mutex_unlock(m);
    return rc;
}

int order_store_get(struct order_store *s, uint64_t id, struct order_info *out)
{
    struct lockprof_mutex *m;
    struct store_slot *slot;
    int rc = -1;

    if (id == 0)
        return -1;
    m = stripe(s, id);
    lockprof_mutex_lock(m);
    if ((slot = find_locked(s, id))) {
        *out = slot->info;
        rc = 0;
    }
    lockprof_mutex_unlock(m);
    return rc;
}

void order_store_counts(struct order_store *s, uint64_t in_store[ORDER_STATE_COUNT],
                        uint64_t *done_total, uint64_t *failed_total, uint64_t *accepted_total)
{
    for (int i = 0; i < ORDER_STATE_COUNT; i++)
        in_store[i] = atomic_load(&s->in_state[i]);
    *done_total = atomic_load(&s->done_total);
    *failed_total = atomic_load(&s->failed_total);
    *accepted_total = atomic_load(&s->accepted_total);
}
