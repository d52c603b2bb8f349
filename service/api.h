/* api: the public routes of orderd — products, orders — in one route table.
 *
 *   GET  /api/products            ?offset=N&limit=N (limit <= 1000, default 50)
 *   GET  /api/products/{id}
 *   POST /api/orders              {"user_id":N,"items":[{"product_id":N,"qty":N}]}
 *   GET  /api/orders/{id}
 *
 * Every response carries X-Request-ID (the client's when valid, else a new one); a
 * valid traceparent's trace id goes into the log context. Errors are JSON
 * {"error":"...", "field":"..."} with 400, 404, 405 (+Allow), 413, 503 (+Retry-After).
 * The slow and leak.memory faults act on every request here. */
#ifndef ORDERD_API_H
#define ORDERD_API_H

#include "httpserver.h"

#include <stdint.h>

struct catalog;
struct order_store;
struct queue;

struct api {
    struct catalog *catalog;
    struct order_store *orders;
    struct queue *queue;
};

/* The httpserver handler; user is a struct api *. */
void api_handle(const struct httpserver_request *req, struct httpserver_response *resp, void *user);

/* The slow culprit: burns CPU on the calling thread, for ns (slow), or for exactly
 * iterations turns of a loop when iterations > 0 (slow.work). */
void request_burn_cpu(int64_t ns, int64_t iterations);

#endif
