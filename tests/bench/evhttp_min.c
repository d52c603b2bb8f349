/* A minimal evhttp server answering GET /api/products/1: the reference point that
 * shows what stock evhttp costs, next to orderd's lean server, in `make bench`. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void on_product(struct evhttp_request *req, void *arg)
{
    static const char body[] = "{\"id\":1,\"name\":\"Red Kettle 1\",\"price_cents\":199}\n";
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    (void)arg;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Request-ID", "f432a9b759c82afb");
    evbuffer_add(out, body, sizeof body - 1);
    evhttp_send_reply(req, 200, "OK", NULL);
}

int main(void)
{
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    struct evhttp_bound_socket *sock;
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;

    evhttp_set_cb(http, "/api/products/1", on_product, NULL);
    sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    if (!sock || getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&sin, &len) < 0) {
        fprintf(stderr, "evhttp_min: cannot listen\n");
        return 1;
    }
    printf("listening public=127.0.0.1:%d\n", ntohs(sin.sin_port));
    fflush(stdout);
    event_base_dispatch(base);
    return 0;
}
