/* canned_http: a small HTTP/1.1 server on threads for tests that need "some other
 * service": it answers each request from a fixed table of paths, keeps connections
 * alive (so wrk and libcurl behave as with a real server), serves each connection on
 * its own thread, and remembers the last request it read. */
#ifndef TESTS_CANNED_HTTP_H
#define TESTS_CANNED_HTTP_H

#include <stddef.h>

struct canned_http_route {
    const char *path;     /* matched exactly, without the query string; NULL ends the table */
    int status;
    const char *body;
    size_t repeat;        /* the body is sent this many times (0 counts as 1), for big answers */
};

struct canned_http;

/* Starts serving routes (borrowed; they must outlive the server) on 127.0.0.1 and an
 * ephemeral port. Unknown paths get 404. Returns the server, or NULL on failure. */
struct canned_http *canned_http_start(const struct canned_http_route *routes);

int canned_http_port(const struct canned_http *s);

/* Copies the last request read (head and body) into out. */
void canned_http_last_request(struct canned_http *s, char *out, size_t outlen);

/* Closes every connection, joins every thread and frees the server. NULL is a no-op. */
void canned_http_stop(struct canned_http *s);

#endif
