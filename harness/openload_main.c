/* openload: the open-model generator as a program of its own, for tests and
 * benchmarks. Every option is a key of openload_config_set with - for _ ("--rate
 * 2000/s", "--max-in-flight 500"); requests are given as
 *     --request 'METHOD /path' [--header 'Name: value']... [--body TEXT] [--weight N]
 * with --header, --body and --weight applying to the last --request. Prints the result
 * as one JSON object on stdout; exits 0 after a run, 2 on a bad option (the message
 * names it), 1 when the run could not be made. */
#include "run/openload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_LEN 512

struct pending_request {
    char method[33];
    const char *path, *body;
    const char *headers[OPENLOAD_MAX_HEADERS];
    size_t nheaders;
    unsigned weight;
    bool open;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: openload --rate N/s [--arrival constant|poisson] [--duration 10s]\n"
            "                [--connections N] [--max-in-flight N] [--threads N] [--cpu LIST]\n"
            "                [--target IP:PORT] [--timeout D] [--lag-limit D] [--seed N]\n"
            "                [--spin D | --slack D]\n"
            "                [--max-response-header SIZE] [--max-response-body SIZE]\n"
            "                --request 'METHOD /path' [--header 'N: v']... [--body TEXT] [--weight N]...\n");
}

/* Adds the request being collected, if any. Returns 0, or -1 with err filled. */
static int flush_request(struct openload_config *cfg, struct pending_request *req, char *err, size_t errlen)
{
    int rc = 0;
    if (req->open)
        rc = openload_config_add_request(cfg, req->method, req->path, req->headers, req->nheaders, req->body,
                                         req->body ? strlen(req->body) : 0, req->weight, err, errlen);
    memset(req, 0, sizeof(*req));
    return rc;
}

static int start_request(struct pending_request *req, const char *text, char *err, size_t errlen)
{
    const char *space = strchr(text, ' ');
    size_t n = space ? (size_t)(space - text) : 0;
    if (!space || n == 0 || n >= sizeof(req->method)) {
        snprintf(err, errlen, "request: \"%s\" must be 'METHOD /path'", text);
        return -1;
    }
    memcpy(req->method, text, n);
    req->method[n] = '\0';
    req->path = space + 1;
    req->weight = 1;
    req->open = true;
    return 0;
}

int main(int argc, char **argv)
{
    struct openload_config *cfg = openload_config_new();
    struct openload_result *result = NULL;
    struct pending_request req;
    char err[ERR_LEN], key[64], *json = NULL;
    int status = 2;

    memset(&req, 0, sizeof(req));
    if (!cfg) {
        fprintf(stderr, "openload: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i += 2) {
        const char *opt = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            usage(stdout);
            status = 0;
            goto done;
        }
        if (strncmp(opt, "--", 2) != 0 || strlen(opt + 2) >= sizeof(key) || !value) {
            fprintf(stderr, "openload: %s: %s\n", opt, value ? "unknown argument" : "needs a value");
            usage(stderr);
            goto done;
        }
        snprintf(key, sizeof(key), "%s", opt + 2);
        for (char *p = key; *p; p++)
            if (*p == '-')
                *p = '_';
        if (strcmp(key, "request") == 0) {
            if (flush_request(cfg, &req, err, sizeof(err)) < 0 || start_request(&req, value, err, sizeof(err)) < 0)
                goto bad;
        } else if (strcmp(key, "header") == 0 || strcmp(key, "body") == 0 || strcmp(key, "weight") == 0) {
            if (!req.open) {
                snprintf(err, sizeof(err), "%s: give it after the --request it belongs to", key);
                goto bad;
            }
            if (key[0] == 'h') {
                if (req.nheaders == OPENLOAD_MAX_HEADERS) {
                    snprintf(err, sizeof(err), "header: more than %d headers", OPENLOAD_MAX_HEADERS);
                    goto bad;
                }
                req.headers[req.nheaders++] = value;
            } else if (key[0] == 'b') {
                req.body = value;
            } else {
                char *end = NULL;
                long weight = strtol(value, &end, 10);
                if (end == value || *end || weight < 1 || weight > OPENLOAD_MAX_WEIGHT) {
                    snprintf(err, sizeof(err), "weight: \"%s\" must be a whole number from 1 to %d", value,
                             OPENLOAD_MAX_WEIGHT);
                    goto bad;
                }
                req.weight = (unsigned)weight;
            }
        } else if (openload_config_set(cfg, key, value, err, sizeof(err)) < 0) {
            goto bad;
        }
    }
    if (flush_request(cfg, &req, err, sizeof(err)) < 0 || openload_config_check(cfg, err, sizeof(err)) < 0)
        goto bad;
    result = openload_run(cfg, err, sizeof(err));
    if (!result) {
        fprintf(stderr, "openload: %s\n", err);
        status = 1;
        goto done;
    }
    json = openload_result_json(result);
    if (!json) {
        fprintf(stderr, "openload: out of memory\n");
        status = 1;
        goto done;
    }
    printf("%s\n", json);
    status = 0;
    goto done;
bad:
    fprintf(stderr, "openload: %s\n", err);
done:
    free(json);
    openload_result_free(result);
    openload_config_free(cfg);
    return status;
}
