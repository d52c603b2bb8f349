/* http_client: a small libcurl wrapper for tests — one request, the status, the
 * headers and the body, with a timeout so a stuck server fails a test instead of
 * hanging it. */
#ifndef TESTS_HTTP_CLIENT_H
#define TESTS_HTTP_CLIENT_H

#include <stddef.h>

struct http_result {
    long status;          /* 0 when no response arrived */
    char *body;           /* NUL-terminated */
    size_t body_len;
    char *headers;        /* raw header block, NUL-terminated */
};

/* Sends method to url with an optional body and extra header lines (NULL-terminated,
 * e.g. "X-Request-ID: abc"). timeout_ms bounds the whole exchange. Returns 0 when a
 * response arrived, -1 otherwise (status 0). Free with http_client_free. */
int http_client_request(const char *method, const char *url, const char *body, size_t body_len,
                        const char *const *headers, long timeout_ms, struct http_result *out);
void http_client_free(struct http_result *r);

/* The value of a response header (case-insensitive name) copied into buf; NULL when absent. */
const char *http_client_header(const struct http_result *r, const char *name, char *buf, size_t len);

#endif
