/* curl_client: the tests' own HTTP client (not loadlab's base/httpclient), a small
 * libcurl wrapper — one request, the status, the headers and the body, with a timeout
 * so a stuck server fails a test instead of hanging it. */
#ifndef TESTS_CURL_CLIENT_H
#define TESTS_CURL_CLIENT_H

#include <stddef.h>

struct curl_client_result {
    long status;          /* 0 when no response arrived */
    char *body;           /* NUL-terminated */
    size_t body_len;
    char *headers;        /* raw header block, NUL-terminated */
};

/* Sends method to url with an optional body and extra header lines (NULL-terminated,
 * e.g. "X-Request-ID: abc"). timeout_ms bounds the whole exchange. Returns 0 when a
 * response arrived, -1 otherwise (status 0). Free with curl_client_free. */
int curl_client_request(const char *method, const char *url, const char *body, size_t body_len,
                        const char *const *headers, long timeout_ms, struct curl_client_result *out);
void curl_client_free(struct curl_client_result *r);

/* The value of a response header (case-insensitive name) copied into buf; NULL when absent. */
const char *curl_client_header(const struct curl_client_result *r, const char *name, char *buf, size_t len);

#endif
