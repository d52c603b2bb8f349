/* fuzz_orders: the POST /api/orders body, parsed and validated as orderd does it.
 *
 * The body comes straight off the network. Besides memory errors, a body that is
 * accepted must hold only what the validation promises (1..32 items, ids and
 * quantities in range), and a refused one must say why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orders.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PRODUCT_ID 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct order_request order;
    char err[256] = "", field[64] = "";

    if (orders_parse_request((const char *)data, size, MAX_PRODUCT_ID, &order, err, sizeof err,
                             field, sizeof field) < 0) {
        if (!err[0]) {
            fprintf(stderr, "refused without a reason\n");
            abort();
        }
        return 0;
    }
    if (order.user_id < 1 || order.user_id > ORDERS_MAX_ID || order.nitems < 1 ||
        order.nitems > ORDERS_MAX_ITEMS) {
        fprintf(stderr, "accepted user_id %lld with %d items\n", (long long)order.user_id, order.nitems);
        abort();
    }
    for (int i = 0; i < order.nitems; i++)
        if (order.items[i].product_id < 1 || order.items[i].product_id > MAX_PRODUCT_ID ||
            order.items[i].qty < 1 || order.items[i].qty > ORDERS_MAX_QTY) {
            fprintf(stderr, "accepted item %d: product %lld qty %lld\n", i,
                    (long long)order.items[i].product_id, (long long)order.items[i].qty);
            abort();
        }
    return 0;
}
