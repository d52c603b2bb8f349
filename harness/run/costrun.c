/* costrun: warm up, count, N requests, stop counting. See costrun.h. */
#include "run/costrun.h"

#include <stdio.h>
#include <string.h>

#include "base/httpclient.h"
#include "units.h"

#define COSTRUN_URL_MAX 2048
#define COSTRUN_MAX_BODY (1024 * 1024)

/* Sends n requests; returns 0, -1 with err, or -2 when check said stop. */
static int send_requests(struct httpclient *http, const struct scenario *sc, const char *url, unsigned n,
                         const char *stage, costrun_check_fn check, void *user, char *err, size_t errlen)
{
    long timeout_ms = (long)(sc->timeout_ns / 1000000);
    const char *body = sc->body[0] ? sc->body : NULL;
    struct httpclient_response resp;
    char why[512];

    for (unsigned i = 0; i < n; i++) {
        if (check && check(user) < 0)
            return -2;
        if (httpclient_request(http, sc->method, url, body, timeout_ms, COSTRUN_MAX_BODY, &resp, why,
                               sizeof why) < 0) {
            snprintf(err, errlen, "%s request %u of %u to %s: %s", stage, i + 1, n, url, why);
            return -1;
        }
        if (resp.status >= 400) {
            snprintf(err, errlen, "%s request %u of %u to %s answered %ld: the instructions of an error "
                     "are not the cost of the request", stage, i + 1, n, url, resp.status);
            return -1;
        }
    }
    return 0;
}

int costrun_measure(const struct scenario *sc, enum costmeter_kind kind, pid_t pid, const char *out_dir,
                    const char *public_base, costrun_check_fn check, void *user, struct costrun_result *res,
                    char *err, size_t errlen)
{
    char url[COSTRUN_URL_MAX], msg[600];
    struct httpclient *http = NULL;
    struct costmeter *meter = NULL;
    int64_t started;
    int rc = -1;

    memset(res, 0, sizeof *res);
    res->kind = kind;
    if (sc->requests == 0 || sc->requests > SCENARIO_MAX_COST_REQUESTS) {
        snprintf(err, errlen, "requests must be 1..%d", SCENARIO_MAX_COST_REQUESTS);
        return -1;
    }
    if ((size_t)snprintf(url, sizeof url, "%s%s", public_base, sc->path) >= sizeof url) {
        snprintf(err, errlen, "request URL too long");
        return -1;
    }
    if (!(http = httpclient_new(NULL, msg, sizeof msg))) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    if (!(meter = costmeter_new(kind, pid, out_dir, msg, sizeof msg))) {
        snprintf(err, errlen, "%s counter: %s", costmeter_kind_name(kind), msg);
        goto done;
    }
    if ((rc = send_requests(http, sc, url, sc->warmup_requests, "warmup", check, user, err, errlen)) != 0)
        goto done;
    rc = -1;
    if (costmeter_begin(meter, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "%s counter: %s%s", costmeter_kind_name(kind), msg,
                 kind == COSTMETER_HW_INSTRUCTIONS ? " (this machine may expose no hardware counters: "
                                                     "[load] counter = auto falls back to callgrind)" : "");
        goto done;
    }
    started = units_now_ns();
    if ((rc = send_requests(http, sc, url, sc->requests, "measured", check, user, err, errlen)) != 0)
        goto done;
    rc = -1;
    res->seconds = (double)(units_now_ns() - started) / 1e9;
    if (costmeter_end(meter, &res->count, &res->threads, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "%s counter: %s", costmeter_kind_name(kind), msg);
        goto done;
    }
    res->requests = sc->requests;
    res->instructions_per_request = (double)res->count / sc->requests;
    rc = 0;
done:
    costmeter_free(meter);
    httpclient_free(http);
    return rc;
}
