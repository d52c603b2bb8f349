/* httpserver: the lean HTTP/1.1 server of the public API, on libevent.
 *
 * Why not evhttp: evhttp allocates several objects and a header list per request and
 * reaches ~0.84x of Go's net/http here; this server keeps per-connection buffers that
 * are reused across requests, parses with Node's http_parser (Debian's libhttp-parser)
 * straight from a per-thread read buffer, keeps only the headers the service uses,
 * and writes the response with one write(2) when the socket takes it.
 *
 * Each I/O thread owns an event_base and its own listening socket on the same port
 * (SO_REUSEPORT), so threads share nothing on the accept or request path. Handlers
 * run on the I/O thread and must answer synchronously: every request gets exactly one
 * response. Limits (docs/limits.md): header block (8 KiB, 431 beyond), body
 * (configurable, 413 beyond), open connections (503 and close beyond), a deadline for
 * the request head and another for its body (408 and close), idle keep-alive
 * connections closed, and no more parsing while 256 KiB of answers wait for a client
 * that does not read. After an error reply the connection is half-closed and its
 * input drained for up to 5 s, so the client reads the reply rather than a reset. */
#ifndef ORDERD_HTTPSERVER_H
#define ORDERD_HTTPSERVER_H

#include <stddef.h>
#include <stdint.h>

#define HTTPSERVER_HEADER_MAX 8192
#define HTTPSERVER_DEFAULT_MAX_CONNECTIONS 10000
#define HTTPSERVER_DEFAULT_HEADER_TIMEOUT_MS 10000
#define HTTPSERVER_DEFAULT_IDLE_TIMEOUT_MS 60000

enum httpserver_method { HTTPSERVER_GET, HTTPSERVER_POST, HTTPSERVER_PUT, HTTPSERVER_DELETE,
                         HTTPSERVER_HEAD, HTTPSERVER_OTHER };

struct httpserver_request {
    enum httpserver_method method;
    const char *method_name;
    const char *path;  size_t path_len;      /* without the query */
    const char *query; size_t query_len;     /* after '?', may be empty */
    const char *body;  size_t body_len;
    const char *request_id;  size_t request_id_len;    /* X-Request-ID, NULL when absent */
    const char *traceparent; size_t traceparent_len;   /* NULL when absent */
};

struct httpserver_response;   /* private: the connection's reusable output */

/* Sets the status and content type (a static string) of the reply. */
void httpserver_reply(struct httpserver_response *r, int status, const char *content_type);
/* The status set so far (0 before httpserver_reply). */
int httpserver_response_status(const struct httpserver_response *r);
/* Adds a header line ("Retry-After", "1"); at most a few short ones per reply. */
void httpserver_add_header(struct httpserver_response *r, const char *name, const char *value);
/* Appends to the reply body. Returns 0, or -1 when out of memory (the reply becomes 500). */
int httpserver_append(struct httpserver_response *r, const char *data, size_t len);
int httpserver_printf(struct httpserver_response *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Called for every complete request on an I/O thread. It must call httpserver_reply
 * (a request left without one is answered 500). */
typedef void (*httpserver_handler)(const struct httpserver_request *req,
                                   struct httpserver_response *resp, void *user);

struct httpserver_config {
    const char *host;        /* numeric IPv4 or IPv6 address */
    int port;                /* 0: pick a free port */
    int io_threads;          /* >= 1 */
    size_t max_body;         /* bytes; larger bodies are answered 413 */
    size_t max_connections;  /* on all I/O threads together; 0: the default */
    int64_t header_timeout_ms;   /* for the request head, and again for its body; 0: default */
    int64_t idle_timeout_ms;     /* between requests on a keep-alive connection; 0: default */
    httpserver_handler handler;
    void *user;
};

struct httpserver;

/* Binds the listening sockets (so the port is known and errors are reported before
 * anything runs). Returns the server, or NULL with err filled. */
struct httpserver *httpserver_new(const struct httpserver_config *cfg, char *err, size_t errlen);
/* Starts the I/O threads. Returns 0, or -1 with err filled. */
int httpserver_start(struct httpserver *s, char *err, size_t errlen);
/* The port actually bound. */
int httpserver_port(const struct httpserver *s);
/* Stops accepting and serving, joins the I/O threads, closes connections. Requests
 * already handled have been answered; none is half-handled. Idempotent. */
void httpserver_stop(struct httpserver *s);
void httpserver_free(struct httpserver *s);   /* stops first; NULL is a no-op */

/* Splits "host:port" / "[v6]:port". Returns 0, or -1 with err naming the text. */
int httpserver_parse_address(const char *text, char *host, size_t hostlen, int *port,
                             char *err, size_t errlen);

#endif
