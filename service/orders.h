/* orders: what an order is — its request body, validated field by field — and the
 * order store that answers GET /api/orders/{id}.
 *
 * The store is a ring indexed by order id (id % capacity): memory stays bounded under
 * any load, and finished orders are forgotten oldest first. An unfinished order is
 * never overwritten: if the slot for the next id still holds one, the store is full
 * and the new order is refused (503), so an accepted order is never lost. Ids are
 * spent only on accepted orders (an id whose order the queue refused is reused),
 * so the ring wraps only after capacity accepted orders. */
#ifndef ORDERD_ORDERS_H
#define ORDERD_ORDERS_H

#include "log.h"

#include <stddef.h>
#include <stdint.h>

#define ORDERS_MAX_ITEMS 32
#define ORDERS_MAX_QTY 1000
#define ORDERS_MAX_ID 9007199254740991LL   /* 2^53 - 1: exact in every JSON reader */

struct order_item {
    int64_t product_id;
    int64_t qty;
};

struct order_request {
    int64_t user_id;
    int nitems;
    struct order_item items[ORDERS_MAX_ITEMS];
};

/* Parses and validates an order body: {"user_id": int >= 1, "items": [{"product_id":
 * int in 1..max_product_id, "qty": int in 1..1000}, ...1..32 items]}; no other keys.
 * Returns 0, or -1 with err (a sentence) and field (the JSON path of the bad field,
 * e.g. "items[2].qty", or "" for the body as a whole) filled; *out is then undefined. */
int orders_parse_request(const char *body, size_t len, int64_t max_product_id,
                         struct order_request *out, char *err, size_t errlen,
                         char *field, size_t fieldlen);

/* A job on the work queue: the order and the correlation context of the request
 * that placed it, so the worker's log lines carry the same ids. */
struct order_job {
    uint64_t order_id;
    struct order_request request;
    struct log_context log;
};

enum order_state { ORDER_QUEUED, ORDER_PROCESSING, ORDER_DONE, ORDER_FAILED, ORDER_STATE_COUNT };
const char *orders_state_name(enum order_state state);

struct order_info {
    uint64_t id;
    int64_t user_id;
    enum order_state state;
    int64_t amount_cents;    /* known once processed */
    int64_t created_wall_ns;
    char failure[64];        /* why it failed, "" otherwise */
};

struct order_store;

/* Returns a store for capacity orders, or NULL. */
struct order_store *order_store_new(size_t capacity);
void order_store_free(struct order_store *s);   /* NULL is a no-op */

/* Records a new queued order and gives it the next id. Returns 0, or -1 when the
 * store is full of unfinished orders (nothing recorded). */
int order_store_add(struct order_store *s, int64_t user_id, uint64_t *id_out);
/* Removes an order that was added but never queued (its push was refused); its id
 * is handed out again by the next add, so ids go only to accepted orders. */
void order_store_remove(struct order_store *s, uint64_t id);
/* Adds refused because the store was full of unfinished orders, since start. */
uint64_t order_store_full_total(struct order_store *s);
/* Moves an order to a new state; amount and failure as known. Returns 0 or -1
 * (no such order, or state is not one of enum order_state; nothing changed). */
int order_store_update(struct order_store *s, uint64_t id, enum order_state state,
                       int64_t amount_cents, const char *failure);
/* Copies an order out. Returns 0, or -1 when unknown or forgotten. */
int order_store_get(struct order_store *s, uint64_t id, struct order_info *out);

/* Orders currently held in each state, and finished totals since start. */
void order_store_counts(struct order_store *s, uint64_t in_store[ORDER_STATE_COUNT],
                        uint64_t *done_total, uint64_t *failed_total, uint64_t *accepted_total);

#endif
