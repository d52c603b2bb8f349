/* httpclient: libcurl easy handle reused across requests. See httpclient.h. */
#include "base/httpclient.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct httpclient {
    CURL *curl;
    struct curl_slist *headers;
    char *buf;
    size_t len, cap, max;
    bool too_large;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp)
{
    struct httpclient *c = userp;
    size_t n = size * nmemb;

    if (c->len + n > c->max) {
        c->too_large = true;
        return 0;  /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 16384;
        char *grown;
        while (cap < c->len + n + 1)
            cap *= 2;
        grown = realloc(c->buf, cap);
        if (!grown)
            return 0;
        c->buf = grown;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    c->buf[c->len] = '\0';
    return n;
}

struct httpclient *httpclient_new(const char *token, char *err, size_t errlen)
{
    struct httpclient *c = calloc(1, sizeof *c);
    char header[HTTPCLIENT_MAX_TOKEN + 32];

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->curl = curl_easy_init();
    if (!c->curl) {
        snprintf(err, errlen, "libcurl failed to start");
        goto fail;
    }
    if (token) {
        if (strlen(token) > HTTPCLIENT_MAX_TOKEN || strpbrk(token, "\r\n")) {
            snprintf(err, errlen, "bearer token is longer than %d bytes or has a line break",
                     HTTPCLIENT_MAX_TOKEN);
            goto fail;
        }
        snprintf(header, sizeof header, "Authorization: Bearer %s", token);
        c->headers = curl_slist_append(NULL, header);
        if (!c->headers) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    return c;
fail:
    httpclient_free(c);
    return NULL;
}

void httpclient_free(struct httpclient *client)
{
    if (!client)
        return;
    if (client->curl)
        curl_easy_cleanup(client->curl);
    curl_slist_free_all(client->headers);
    free(client->buf);
    free(client);
}

int httpclient_request(struct httpclient *c, const char *method, const char *url,
                       const char *body, long timeout_ms, size_t max_body,
                       struct httpclient_response *out, char *err, size_t errlen)
{
    char curlerr[CURL_ERROR_SIZE] = "";
    CURLcode rc;
    long status = 0;

    curl_easy_reset(c->curl);  /* keeps the live connection */
    c->len = 0;
    c->max = max_body;
    c->too_large = false;
    if (c->buf)
        c->buf[0] = '\0';
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, curlerr);
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "loadlab");
    if (c->headers)
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    rc = curl_easy_perform(c->curl);
    if (c->too_large) {
        snprintf(err, errlen, "%s %s: answer larger than %zu bytes", method, url, max_body);
        return -1;
    }
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s %s: %s", method, url, curlerr[0] ? curlerr : curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    out->status = status;
    out->body = c->buf ? c->buf : "";
    out->len = c->len;
    return 0;
}

int httpclient_read_token(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f) {
        snprintf(err, errlen, "token file %s: %s", path, strerror(errno));
        return -1;
    }
    n = fread(out, 1, outlen - 1, f);
    if (!feof(f) && n == outlen - 1) {
        fclose(f);
        snprintf(err, errlen, "token file %s: longer than %zu bytes", path, outlen - 2);
        return -1;
    }
    fclose(f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' || out[n - 1] == '\t'))
        out[--n] = '\0';
    if (n == 0) {
        snprintf(err, errlen, "token file %s is empty", path);
        return -1;
    }
    return 0;
}
