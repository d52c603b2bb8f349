/* httpclient: the few HTTP calls loadlab makes to a service's debug port (readiness,
 * /metrics, faults), on libcurl.
 *
 * One client keeps one connection alive, so a scrape every 250 ms does not open a new
 * socket each time (which would itself show up in the service's fd and thread counts).
 * Answers are capped: a /metrics body is sized by the service, not by loadlab, and a
 * body over the cap is a distinct error, not a truncated parse. */
#ifndef LOADLAB_HTTPCLIENT_H
#define LOADLAB_HTTPCLIENT_H

#include <stddef.h>

#define HTTPCLIENT_MAX_TOKEN 4096

struct httpclient;

struct httpclient_response {
    long status;
    const char *body;   /* NUL-terminated; owned by the client, valid until its next request */
    size_t len;
};

/* Returns a new client that sends `Authorization: Bearer token` when token is not
 * NULL, or NULL with err filled (libcurl failure, a token with line breaks or over
 * HTTPCLIENT_MAX_TOKEN bytes). */
struct httpclient *httpclient_new(const char *token, char *err, size_t errlen);
void httpclient_free(struct httpclient *client);

/* Sends method ("GET", "PUT", "DELETE") to url with body (NULL for none) and waits at
 * most timeout_ms. Returns 0 when any HTTP answer came back (check out->status), or
 * -1 with err filled when none did: connection refused, timeout, or a body larger than
 * max_body ("larger than N bytes"). */
int httpclient_request(struct httpclient *client, const char *method, const char *url,
                       const char *body, long timeout_ms, size_t max_body,
                       struct httpclient_response *out, char *err, size_t errlen);

/* Reads a bearer token from a file (trailing whitespace dropped) into out.
 * Returns 0, or -1 with err filled (unreadable, empty, too long). */
int httpclient_read_token(const char *path, char *out, size_t outlen, char *err, size_t errlen);

#endif
