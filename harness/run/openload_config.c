/* openload's configuration: the defaults, each option parsed from its text (as a
 * scenario's [load] section or a flag gives it) with a hard limit, the request shapes
 * built once into the exact bytes sent, and the checks across options. Apart from the
 * rest of openload because none of it runs while the load does. */
#include "run/openload_internal.h"

#include "base/childproc.h"
#include "base/httptoken.h"
#include "units.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct openload_config *openload_config_new(void)
{
    struct openload_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return NULL;
    cfg->arrival = OPENLOAD_ARRIVAL_CONSTANT;
    cfg->duration_ns = 10 * NS_PER_S;
    cfg->timeout_ns = 10 * NS_PER_S;
    cfg->lag_limit_ns = 1000000;
    cfg->spin_ns = 0;
    cfg->slack_ns = 0;
    cfg->connections = 64;
    cfg->max_in_flight = 10000;
    cfg->threads = 1;
    cfg->seed = 1;
    cfg->max_response_header = 64 * 1024;
    cfg->max_response_body = 8 * 1024 * 1024;
    cfg->target.sin_family = AF_INET;
    cfg->target.sin_port = htons(8080);
    cfg->target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    snprintf(cfg->host_header, sizeof(cfg->host_header), "127.0.0.1:8080");
    return cfg;
}

void openload_shapes_free(struct shape *shapes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(shapes[i].bytes);
}

void openload_config_free(struct openload_config *cfg)
{
    if (!cfg)
        return;
    openload_shapes_free(cfg->shapes, cfg->nshapes);
    free(cfg);
}

/* "2000/s", "2000", "120/m", "7200/h" -> requests per second. */
static int parse_rate(const char *text, double *out, char *err, size_t errlen)
{
    char *end = NULL;
    double value, per = 1;

    if (!((text[0] >= '0' && text[0] <= '9') || text[0] == '.'))
        goto bad;
    errno = 0;
    value = strtod(text, &end);
    if (errno || end == text || !isfinite(value))
        goto bad;
    if (*end == '\0' || strcmp(end, "/s") == 0)
        per = 1;
    else if (strcmp(end, "/m") == 0 || strcmp(end, "/min") == 0)
        per = 60;
    else if (strcmp(end, "/h") == 0)
        per = 3600;
    else
        goto bad;
    value /= per;
    if (!(value > 0)) {
        snprintf(err, errlen, "rate: \"%s\" must be above 0 requests per second", text);
        return -1;
    }
    if (value > OPENLOAD_MAX_RATE) {
        snprintf(err, errlen, "rate: \"%s\" is above the limit of %.0f/s", text, OPENLOAD_MAX_RATE);
        return -1;
    }
    *out = value;
    return 0;
bad:
    snprintf(err, errlen,
             "rate: \"%s\" must be a positive number of requests per second, minute or hour "
             "(e.g. 2000/s, 120/m)", text);
    return -1;
}

static int parse_count(const char *key, const char *text, uint64_t max, unsigned *out, char *err,
                       size_t errlen)
{
    char why[160];
    uint64_t value;
    if (units_parse_uint(text, max, &value, why, sizeof(why)) < 0 || value < 1) {
        snprintf(err, errlen, "%s: \"%s\" must be a whole number from 1 to %llu", key, text,
                 (unsigned long long)max);
        return -1;
    }
    *out = (unsigned)value;
    return 0;
}

static int parse_positive_duration(const char *key, const char *text, int64_t max, int64_t *out,
                                   char *err, size_t errlen)
{
    char why[160], maxtext[32];
    int64_t ns;
    if (units_parse_duration(text, &ns, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: %s", key, why);
        return -1;
    }
    if (ns <= 0 || ns > max) {
        snprintf(err, errlen, "%s: \"%s\" must be above 0 and at most %s", key, text,
                 units_format_duration(max, maxtext, sizeof(maxtext)));
        return -1;
    }
    *out = ns;
    return 0;
}

static int parse_size_limit(const char *key, const char *text, uint64_t max, uint64_t *out,
                            char *err, size_t errlen)
{
    char why[160];
    uint64_t bytes;
    if (units_parse_size(text, &bytes, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: %s", key, why);
        return -1;
    }
    if (bytes < 1 || bytes > max) {
        snprintf(err, errlen, "%s: \"%s\" must be from 1 byte to %llu bytes", key, text,
                 (unsigned long long)max);
        return -1;
    }
    *out = bytes;
    return 0;
}

static int parse_target(struct openload_config *cfg, const char *text, char *err, size_t errlen)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    uint64_t port;
    char why[160];
    struct in_addr addr;
    size_t hostlen = colon ? (size_t)(colon - text) : 0;

    if (!colon || hostlen == 0 || hostlen >= sizeof(host) ||
        units_parse_uint(colon + 1, 65535, &port, why, sizeof(why)) < 0 || port == 0)
        goto bad;
    memcpy(host, text, hostlen);
    host[hostlen] = '\0';
    if (strcmp(host, "localhost") == 0)
        addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &addr) != 1)
        goto bad;
    cfg->target.sin_family = AF_INET;
    cfg->target.sin_addr = addr;
    cfg->target.sin_port = htons((uint16_t)port);
    snprintf(cfg->host_header, sizeof(cfg->host_header), "%s", text);
    return 0;
bad:
    snprintf(err, errlen, "target: \"%s\" must be IPV4:PORT or localhost:PORT", text);
    return -1;
}

/* A duration from 0 to 10 ms (spin, slack). Returns 0, or -1 with err filled. */
static int parse_short_duration(const char *key, const char *value, int64_t *out, char *err, size_t errlen)
{
    int64_t ns;
    char maxtext[32], why[160];
    if (units_parse_duration(value, &ns, why, sizeof(why)) < 0 || ns < 0 || ns > 10000000) {
        snprintf(err, errlen, "%s: \"%s\" must be a duration from 0 to %s", key, value,
                 units_format_duration(10000000, maxtext, sizeof(maxtext)));
        return -1;
    }
    *out = ns;
    return 0;
}

int openload_config_set(struct openload_config *cfg, const char *key, const char *value,
                        char *err, size_t errlen)
{
    uint64_t seed;
    char why[160];

    if (strcmp(key, "rate") == 0)
        return parse_rate(value, &cfg->rate, err, errlen);
    if (strcmp(key, "arrival") == 0) {
        if (strcmp(value, "constant") == 0)
            cfg->arrival = OPENLOAD_ARRIVAL_CONSTANT;
        else if (strcmp(value, "poisson") == 0)
            cfg->arrival = OPENLOAD_ARRIVAL_POISSON;
        else {
            snprintf(err, errlen, "arrival: \"%s\" must be constant or poisson", value);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "duration") == 0)
        return parse_positive_duration(key, value, OPENLOAD_MAX_DURATION_NS, &cfg->duration_ns, err, errlen);
    if (strcmp(key, "timeout") == 0)
        return parse_positive_duration(key, value, OPENLOAD_MAX_TIMEOUT_NS, &cfg->timeout_ns, err, errlen);
    if (strcmp(key, "lag_limit") == 0)
        return parse_positive_duration(key, value, OPENLOAD_MAX_TIMEOUT_NS, &cfg->lag_limit_ns, err, errlen);
    if (strcmp(key, "spin") == 0)
        return parse_short_duration(key, value, &cfg->spin_ns, err, errlen);
    if (strcmp(key, "slack") == 0)
        return parse_short_duration(key, value, &cfg->slack_ns, err, errlen);
    if (strcmp(key, "connections") == 0)
        return parse_count(key, value, OPENLOAD_MAX_CONNECTIONS, &cfg->connections, err, errlen);
    if (strcmp(key, "max_in_flight") == 0)
        return parse_count(key, value, OPENLOAD_MAX_IN_FLIGHT, &cfg->max_in_flight, err, errlen);
    if (strcmp(key, "threads") == 0)
        return parse_count(key, value, OPENLOAD_MAX_THREADS, &cfg->threads, err, errlen);
    if (strcmp(key, "cpu") == 0) {
        cpu_set_t set;
        if (childproc_parse_cpus(value, &set, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "cpu: %s", why);
            return -1;
        }
        cfg->cpus = set;
        cfg->pinned = true;
        return 0;
    }
    if (strcmp(key, "target") == 0)
        return parse_target(cfg, value, err, errlen);
    if (strcmp(key, "seed") == 0) {
        if (units_parse_uint(value, UINT64_MAX, &seed, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "seed: \"%s\" must be a whole number", value);
            return -1;
        }
        cfg->seed = seed;
        return 0;
    }
    if (strcmp(key, "max_response_header") == 0)
        return parse_size_limit(key, value, OPENLOAD_MAX_RESPONSE_HEADER_LIMIT, &cfg->max_response_header,
                                err, errlen);
    if (strcmp(key, "max_response_body") == 0)
        return parse_size_limit(key, value, OPENLOAD_MAX_RESPONSE_BODY_LIMIT, &cfg->max_response_body,
                                err, errlen);
    snprintf(err, errlen, "%s: unknown option", key);
    return -1;
}

static bool has_line_break_or_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return true;
    return false;
}

/* Appends text to buf (capacity cap) at *len. Returns 0, or -1 when it would not fit. */
static int append(char *buf, size_t cap, size_t *len, const char *text, size_t n)
{
    if (n > cap - *len)
        return -1;
    memcpy(buf + *len, text, n);
    *len += n;
    return 0;
}

static int append_text(char *buf, size_t cap, size_t *len, const char *text)
{
    return append(buf, cap, len, text, strlen(text));
}

int openload_config_add_request(struct openload_config *cfg, const char *method, const char *path,
                                const char *const *headers, size_t nheaders, const char *body,
                                size_t body_len, unsigned weight, char *err, size_t errlen)
{
    char *buf = NULL, number[32];
    size_t len = 0, cap = OPENLOAD_MAX_REQUEST_BYTES;
    bool has_host = false, has_length = false, wants_length;
    int rc = -1;

    if (cfg->nshapes >= OPENLOAD_MAX_REQUESTS) {
        snprintf(err, errlen, "request: more than %d request shapes", OPENLOAD_MAX_REQUESTS);
        return -1;
    }
    if (!httptoken_valid(method, 32)) {
        snprintf(err, errlen, "method: \"%s\" is not an HTTP method", method);
        return -1;
    }
    if (path[0] != '/' || strpbrk(path, " ") || has_line_break_or_control(path)) {
        snprintf(err, errlen, "path: \"%s\" must start with / and hold no space or control character", path);
        return -1;
    }
    if (weight < 1 || weight > OPENLOAD_MAX_WEIGHT) {
        snprintf(err, errlen, "weight: %u must be from 1 to %d", weight, OPENLOAD_MAX_WEIGHT);
        return -1;
    }
    if (nheaders > OPENLOAD_MAX_HEADERS) {
        snprintf(err, errlen, "header: more than %d headers", OPENLOAD_MAX_HEADERS);
        return -1;
    }
    for (size_t i = 0; i < nheaders; i++) {
        const char *colon = strchr(headers[i], ':');
        char name[128];
        size_t namelen = colon ? (size_t)(colon - headers[i]) : 0;
        if (!colon || namelen == 0 || namelen >= sizeof(name) || has_line_break_or_control(headers[i])) {
            snprintf(err, errlen, "header: \"%.200s\" must be \"Name: value\" on one line", headers[i]);
            return -1;
        }
        memcpy(name, headers[i], namelen);
        name[namelen] = '\0';
        if (!httptoken_valid(name, sizeof(name))) {
            snprintf(err, errlen, "header: \"%s\" is not a header name", name);
            return -1;
        }
        has_host |= strcasecmp(name, "Host") == 0;
        has_length |= strcasecmp(name, "Content-Length") == 0;
    }
    if (has_length) {
        snprintf(err, errlen, "header: Content-Length is set from the body; do not give it");
        return -1;
    }
    if (body_len > OPENLOAD_MAX_REQUEST_BYTES) {
        snprintf(err, errlen, "body: %zu bytes is over the limit of %d", body_len, OPENLOAD_MAX_REQUEST_BYTES);
        return -1;
    }
    buf = malloc(cap);
    if (!buf) {
        snprintf(err, errlen, "request: out of memory");
        return -1;
    }
    wants_length = body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                   strcmp(method, "PATCH") == 0;
    snprintf(number, sizeof(number), "%zu", body_len);
    if (append_text(buf, cap, &len, method) || append_text(buf, cap, &len, " ") ||
        append_text(buf, cap, &len, path) || append_text(buf, cap, &len, " HTTP/1.1\r\n"))
        goto too_large;
    if (!has_host && (append_text(buf, cap, &len, "Host: ") ||
                      append_text(buf, cap, &len, cfg->host_header) || append_text(buf, cap, &len, "\r\n")))
        goto too_large;
    for (size_t i = 0; i < nheaders; i++)
        if (append_text(buf, cap, &len, headers[i]) || append_text(buf, cap, &len, "\r\n"))
            goto too_large;
    if (wants_length && (append_text(buf, cap, &len, "Content-Length: ") ||
                         append_text(buf, cap, &len, number) || append_text(buf, cap, &len, "\r\n")))
        goto too_large;
    if (append_text(buf, cap, &len, "\r\n") || (body_len && append(buf, cap, &len, body, body_len)))
        goto too_large;
    cfg->shapes[cfg->nshapes].bytes = buf;
    cfg->shapes[cfg->nshapes].len = len;
    cfg->shapes[cfg->nshapes].head = strcmp(method, "HEAD") == 0;
    cfg->shapes[cfg->nshapes].weight = weight;
    cfg->nshapes++;
    buf = NULL;
    rc = 0;
    goto done;
too_large:
    snprintf(err, errlen, "request: %s %.200s is over the limit of %d bytes", method, path,
             OPENLOAD_MAX_REQUEST_BYTES);
done:
    free(buf);
    return rc;
}

void openload_config_set_start(struct openload_config *cfg, int64_t start_ns)
{
    cfg->start_ns = start_ns;
}

int openload_config_check(const struct openload_config *cfg, char *err, size_t errlen)
{
    if (!(cfg->rate > 0)) {
        snprintf(err, errlen, "rate: not set (e.g. rate = 2000/s)");
        return -1;
    }
    if (cfg->nshapes == 0) {
        snprintf(err, errlen, "request: no request to send (give a method and path)");
        return -1;
    }
    if (cfg->slack_ns > 0 && cfg->spin_ns > 0) {
        snprintf(err, errlen, "slack: cannot be combined with spin (one wakes early, the other late)");
        return -1;
    }
    if (cfg->threads > cfg->connections) {
        snprintf(err, errlen, "threads: %u is more than connections = %u (each thread needs one)",
                 cfg->threads, cfg->connections);
        return -1;
    }
    if (cfg->max_in_flight < cfg->connections) {
        snprintf(err, errlen, "max_in_flight: %u is less than connections = %u", cfg->max_in_flight,
                 cfg->connections);
        return -1;
    }
    if (cfg->rate > (double)cfg->connections * OPENLOAD_MAX_RATE_PER_CONNECTION) {
        snprintf(err, errlen,
                 "rate: %.0f/s is more than %u connections could carry (at most %.0f/s each); "
                 "raise connections or lower the rate",
                 cfg->rate, cfg->connections, OPENLOAD_MAX_RATE_PER_CONNECTION);
        return -1;
    }
    return 0;
}
