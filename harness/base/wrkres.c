/* wrkres: wrk's done() summary as JSON, written by a Lua wrapper and read with
 * jansson. See wrkres.h. */
#include "base/wrkres.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs in every wrk Lua state (one per thread plus the main one); done() is only
 * called in the main one. The scenario script is loaded after the defaults so it can
 * override method, body and headers, and its own done(), if any, still runs; its folder
 * goes on package.path so it can require() helpers beside it. NaN and infinities are
 * written as null because JSON has no such numbers. */
const char wrkres_lua_wrapper[] =
    "-- loadlab: loads the scenario's wrk script and records a JSON summary.\n"
    "local function env(name)\n"
    "  local v = os.getenv(name)\n"
    "  if v == nil or v == '' then return nil end\n"
    "  return v\n"
    "end\n"
    "wrk.method = env('" WRKRES_ENV_METHOD "') or wrk.method\n"
    "wrk.body = env('" WRKRES_ENV_BODY "') or wrk.body\n"
    "if env('" WRKRES_ENV_CONTENT_TYPE "') then\n"
    "  wrk.headers['Content-Type'] = env('" WRKRES_ENV_CONTENT_TYPE "')\n"
    "end\n"
    "local script = env('" WRKRES_ENV_SCRIPT "')\n"
    "if script then\n"
    "  package.path = (script:match('^(.*)/[^/]*$') or '.') .. '/?.lua;' .. package.path\n"
    "  dofile(script)\n"
    "end\n"
    "local scenario_done = done\n"
    "local function num(x)\n"
    "  if x == nil or x ~= x or x == math.huge or x == -math.huge then return 'null' end\n"
    "  return string.format('%.17g', x)\n"
    "end\n"
    "done = function(summary, latency, requests)\n"
    "  local path = env('" WRKRES_ENV_SUMMARY "')\n"
    "  if path then\n"
    "    local e = summary.errors\n"
    "    local f = assert(io.open(path, 'w'))\n"
    "    f:write('{\"duration_us\":', num(summary.duration),\n"
    "            ',\"requests\":', num(summary.requests),\n"
    "            ',\"bytes\":', num(summary.bytes),\n"
    "            ',\"errors\":{\"connect\":', num(e.connect), ',\"read\":', num(e.read),\n"
    "            ',\"write\":', num(e.write), ',\"status\":', num(e.status),\n"
    "            ',\"timeout\":', num(e.timeout), '}',\n"
    "            ',\"latency_us\":{\"min\":', num(latency.min), ',\"max\":', num(latency.max),\n"
    "            ',\"mean\":', num(latency.mean), ',\"stdev\":', num(latency.stdev),\n"
    "            ',\"p50\":', num(latency:percentile(50)), ',\"p75\":', num(latency:percentile(75)),\n"
    "            ',\"p90\":', num(latency:percentile(90)), ',\"p99\":', num(latency:percentile(99)),\n"
    "            ',\"p999\":', num(latency:percentile(99.9)), '}}\\n')\n"
    "    f:close()\n"
    "  end\n"
    "  if scenario_done then scenario_done(summary, latency, requests) end\n"
    "end\n";

static int get_count(json_t *obj, const char *key, uint64_t *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    double d;
    if (!json_is_number(v)) {
        snprintf(err, errlen, "wrk summary: '%s' missing or not a number", key);
        return -1;
    }
    d = json_number_value(v);
    if (d < 0 || d > 1.8e19) {
        snprintf(err, errlen, "wrk summary: '%s' out of range", key);
        return -1;
    }
    *out = (uint64_t)d;
    return 0;
}

/* A latency in microseconds as seconds; null means wrk had none (NaN). */
static int get_latency(json_t *obj, const char *key, double *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_null(v)) {
        *out = NAN;
        return 0;
    }
    if (!json_is_number(v) || json_number_value(v) < 0) {
        snprintf(err, errlen, "wrk summary: latency '%s' missing or not a number", key);
        return -1;
    }
    *out = json_number_value(v) / 1e6;
    return 0;
}

int wrkres_parse(const char *text, size_t len, struct wrkres *out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *errors, *latency;
    struct wrkres r;
    uint64_t duration_us;
    int rc = -1;

    if (!root) {
        snprintf(err, errlen, "wrk summary is not JSON (line %d: %s)", jerr.line, jerr.text);
        return -1;
    }
    errors = json_object_get(root, "errors");
    latency = json_object_get(root, "latency_us");
    if (!json_is_object(root) || !json_is_object(errors) || !json_is_object(latency)) {
        snprintf(err, errlen, "wrk summary lacks 'errors' or 'latency_us'");
        goto done;
    }
    if (get_count(root, "duration_us", &duration_us, err, errlen) < 0 ||
        get_count(root, "requests", &r.requests, err, errlen) < 0 ||
        get_count(root, "bytes", &r.bytes, err, errlen) < 0 ||
        get_count(errors, "connect", &r.errors_connect, err, errlen) < 0 ||
        get_count(errors, "read", &r.errors_read, err, errlen) < 0 ||
        get_count(errors, "write", &r.errors_write, err, errlen) < 0 ||
        get_count(errors, "status", &r.errors_status, err, errlen) < 0 ||
        get_count(errors, "timeout", &r.errors_timeout, err, errlen) < 0 ||
        get_latency(latency, "min", &r.latency_min, err, errlen) < 0 ||
        get_latency(latency, "max", &r.latency_max, err, errlen) < 0 ||
        get_latency(latency, "mean", &r.latency_mean, err, errlen) < 0 ||
        get_latency(latency, "stdev", &r.latency_stdev, err, errlen) < 0 ||
        get_latency(latency, "p50", &r.latency_p50, err, errlen) < 0 ||
        get_latency(latency, "p75", &r.latency_p75, err, errlen) < 0 ||
        get_latency(latency, "p90", &r.latency_p90, err, errlen) < 0 ||
        get_latency(latency, "p99", &r.latency_p99, err, errlen) < 0 ||
        get_latency(latency, "p999", &r.latency_p999, err, errlen) < 0)
        goto done;
    r.duration_s = (double)duration_us / 1e6;
    *out = r;
    rc = 0;
done:
    json_decref(root);
    return rc;
}

int wrkres_load(const char *path, struct wrkres *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len;
    int rc = -1;

    if (!f) {
        snprintf(err, errlen, "wrk wrote no summary (%s: %s)", path, strerror(errno));
        return -1;
    }
    buf = malloc(WRKRES_MAX_SUMMARY + 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    len = fread(buf, 1, WRKRES_MAX_SUMMARY + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        goto done;
    }
    if (len > WRKRES_MAX_SUMMARY) {
        snprintf(err, errlen, "%s: larger than %d bytes, not a wrk summary", path, WRKRES_MAX_SUMMARY);
        goto done;
    }
    rc = wrkres_parse(buf, len, out, err, errlen);
done:
    free(buf);
    fclose(f);
    return rc;
}

double wrkres_throughput(const struct wrkres *r)
{
    return r->duration_s > 0 ? (double)r->requests / r->duration_s : NAN;
}

uint64_t wrkres_errors(const struct wrkres *r)
{
    return r->errors_connect + r->errors_read + r->errors_write + r->errors_timeout +
           r->errors_status;
}

double wrkres_error_rate(const struct wrkres *r)
{
    uint64_t socket = r->errors_connect + r->errors_read + r->errors_write + r->errors_timeout;
    uint64_t attempts = r->requests + socket;
    return attempts ? (double)wrkres_errors(r) / (double)attempts : NAN;
}

static double worst_of(double a, double b)
{
    return isnan(a) ? b : isnan(b) ? a : a > b ? a : b;
}

void wrkres_merge(struct wrkres *into, const struct wrkres *part)
{
    double n1 = (double)into->requests, n2 = (double)part->requests, n = n1 + n2;
    double mean, var;

    if (into->requests == 0) {
        uint64_t errors[5] = {into->errors_connect, into->errors_read, into->errors_write, into->errors_status,
                              into->errors_timeout};
        double duration = into->duration_s;
        uint64_t bytes = into->bytes;
        *into = *part;
        into->errors_connect += errors[0];
        into->errors_read += errors[1];
        into->errors_write += errors[2];
        into->errors_status += errors[3];
        into->errors_timeout += errors[4];
        into->bytes += bytes;
        into->duration_s = worst_of(duration, part->duration_s);
        return;
    }
    if (n2 > 0) {
        mean = (n1 * into->latency_mean + n2 * part->latency_mean) / n;
        var = (n1 * (into->latency_stdev * into->latency_stdev + (into->latency_mean - mean) * (into->latency_mean - mean)) +
               n2 * (part->latency_stdev * part->latency_stdev + (part->latency_mean - mean) * (part->latency_mean - mean))) / n;
        into->latency_mean = mean;
        into->latency_stdev = sqrt(var);
        into->latency_min = isnan(part->latency_min) || part->latency_min > into->latency_min ? into->latency_min
                                                                                              : part->latency_min;
        into->latency_max = worst_of(into->latency_max, part->latency_max);
        into->latency_p50 = worst_of(into->latency_p50, part->latency_p50);
        into->latency_p75 = worst_of(into->latency_p75, part->latency_p75);
        into->latency_p90 = worst_of(into->latency_p90, part->latency_p90);
        into->latency_p99 = worst_of(into->latency_p99, part->latency_p99);
        into->latency_p999 = worst_of(into->latency_p999, part->latency_p999);
    }
    into->duration_s = worst_of(into->duration_s, part->duration_s);
    into->requests += part->requests;
    into->bytes += part->bytes;
    into->errors_connect += part->errors_connect;
    into->errors_read += part->errors_read;
    into->errors_write += part->errors_write;
    into->errors_status += part->errors_status;
    into->errors_timeout += part->errors_timeout;
}
