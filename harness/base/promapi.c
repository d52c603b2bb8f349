/* promapi: Prometheus HTTP API answers; see promapi.h. */
#include "base/promapi.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/promtext.h"

/* Prometheus refuses a query_range of more than 11,000 points a series. */
#define PROMETHEUS_MAX_STEPS 11000

void promapi_result_free(struct promapi_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nseries; i++) {
        free(r->series[i].t);
        free(r->series[i].v);
    }
    free(r->series);
    r->series = NULL;
    r->nseries = 0;
}

/* A sample value as Prometheus writes it: a string ("1.5", "NaN", "+Inf", "-Inf"). */
static int parse_value(json_t *j, double *out)
{
    const char *s;
    char *end;
    if (!json_is_string(j))
        return -1;
    s = json_string_value(j);
    if (strcmp(s, "NaN") == 0) {
        *out = NAN;
        return 0;
    }
    if (strcmp(s, "+Inf") == 0 || strcmp(s, "Inf") == 0) {
        *out = INFINITY;
        return 0;
    }
    if (strcmp(s, "-Inf") == 0) {
        *out = -INFINITY;
        return 0;
    }
    if (!*s || strlen(s) > 64)
        return -1;
    errno = 0;
    *out = strtod(s, &end);
    return *end || errno == ERANGE ? -1 : 0;
}

static int fill_labels(json_t *metric, struct promapi_series *s, char *err, size_t errlen, size_t index)
{
    struct promtext_label labels[PROMTEXT_MAX_LABELS];
    size_t n = 0;
    const char *key;
    json_t *value;

    if (!json_is_object(metric)) {
        snprintf(err, errlen, "result[%zu].metric: not an object", index);
        return -1;
    }
    json_object_foreach(metric, key, value) {
        if (!json_is_string(value)) {
            snprintf(err, errlen, "result[%zu].metric.%.64s: not a string", index, key);
            return -1;
        }
        if (strcmp(key, "__name__") == 0) {
            snprintf(s->name, sizeof s->name, "%s", json_string_value(value));
            continue;
        }
        if (strcmp(key, "instance") == 0)
            snprintf(s->instance, sizeof s->instance, "%s", json_string_value(value));
        if (n == PROMTEXT_MAX_LABELS) {
            snprintf(err, errlen, "result[%zu].metric: more than %d labels", index, PROMTEXT_MAX_LABELS);
            return -1;
        }
        labels[n++] = (struct promtext_label){key, json_string_value(value)};
    }
    if (promtext_labels_format(labels, n, s->labels, sizeof s->labels) < 0) {
        snprintf(err, errlen, "result[%zu].metric: labels longer than %d bytes", index, PROMAPI_MAX_LABELSTR);
        return -1;
    }
    return 0;
}

static int fill_points(json_t *values, struct promapi_series *s, size_t *total, char *err, size_t errlen,
                       size_t index)
{
    size_t j, n;
    json_t *pair;

    if (!json_is_array(values)) {
        snprintf(err, errlen, "result[%zu].values: %s", index, values ? "not an array" : "missing");
        return -1;
    }
    n = json_array_size(values);
    if (n > PROMAPI_MAX_POINTS - *total) {
        snprintf(err, errlen, "more than %d points in one answer", PROMAPI_MAX_POINTS);
        return -1;
    }
    *total += n;
    s->t = malloc((n ? n : 1) * sizeof *s->t);
    s->v = malloc((n ? n : 1) * sizeof *s->v);
    if (!s->t || !s->v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_array_foreach(values, j, pair) {
        json_t *t = json_array_get(pair, 0);
        if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_number(t) ||
            !isfinite(json_number_value(t)) || parse_value(json_array_get(pair, 1), &s->v[j]) < 0) {
            snprintf(err, errlen, "result[%zu].values[%zu]: not a [time, \"value\"] pair", index, j);
            return -1;
        }
        s->t[j] = json_number_value(t);
        if (j > 0 && !(s->t[j] > s->t[j - 1])) {
            snprintf(err, errlen, "result[%zu].values[%zu]: time not after the one before", index, j);
            return -1;
        }
        s->n = j + 1;
    }
    return 0;
}

/* "errorType: error" of an error answer, or why the status is not success. */
static void describe_status(json_t *root, char *err, size_t errlen)
{
    json_t *status = json_object_get(root, "status");
    const char *type = json_string_value(json_object_get(root, "errorType"));
    const char *why = json_string_value(json_object_get(root, "error"));
    if (json_is_string(status) && strcmp(json_string_value(status), "error") == 0)
        snprintf(err, errlen, "Prometheus answered an error: %.64s: %.400s", type ? type : "unknown",
                 why ? why : "(no message)");
    else
        snprintf(err, errlen, "not a Prometheus API answer (no \"status\":\"success\")");
}

static void collect_warnings(json_t *root, struct promapi_result *out)
{
    json_t *w = json_object_get(root, "warnings"), *item;
    size_t i, used = 0;
    json_array_foreach(w, i, item) {
        const char *text = json_string_value(item);
        int n;
        if (!text || used >= sizeof out->warnings - 1)
            continue;
        n = snprintf(out->warnings + used, sizeof out->warnings - used, "%s%s", used ? "; " : "", text);
        used = n < 0 ? used : used + (size_t)n;
    }
}

int promapi_parse_matrix(const char *body, size_t len, struct promapi_result *out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root, *data, *result, *item;
    size_t i, total = 0;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (len > PROMAPI_MAX_BODY) {
        snprintf(err, errlen, "answer larger than %d bytes", PROMAPI_MAX_BODY);
        return -1;
    }
    if (!(root = json_loadb(body, len, 0, &jerr))) {
        snprintf(err, errlen, "answer is not JSON: %s (line %d)", jerr.text, jerr.line);
        return -1;
    }
    if (!json_is_object(root) || !json_is_string(json_object_get(root, "status")) ||
        strcmp(json_string_value(json_object_get(root, "status")), "success") != 0) {
        describe_status(root, err, errlen);
        goto done;
    }
    data = json_object_get(root, "data");
    if (!json_is_object(data) || !json_is_string(json_object_get(data, "resultType")) ||
        strcmp(json_string_value(json_object_get(data, "resultType")), "matrix") != 0) {
        snprintf(err, errlen, "data.resultType: not \"matrix\" (a range query is needed)");
        goto done;
    }
    result = json_object_get(data, "result");
    if (!json_is_array(result)) {
        snprintf(err, errlen, "data.result: not an array");
        goto done;
    }
    if (json_array_size(result) > PROMAPI_MAX_SERIES) {
        snprintf(err, errlen, "more than %d series in one answer", PROMAPI_MAX_SERIES);
        goto done;
    }
    if (json_array_size(result) && !(out->series = calloc(json_array_size(result), sizeof *out->series))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    json_array_foreach(result, i, item) {
        struct promapi_series *s = &out->series[i];
        out->nseries = i + 1;
        if (!json_is_object(item)) {
            snprintf(err, errlen, "result[%zu]: not an object", i);
            goto done;
        }
        if (fill_labels(json_object_get(item, "metric"), s, err, errlen, i) < 0 ||
            fill_points(json_object_get(item, "values"), s, &total, err, errlen, i) < 0)
            goto done;
    }
    collect_warnings(root, out);
    rc = 0;
done:
    json_decref(root);
    if (rc < 0)
        promapi_result_free(out);
    return rc;
}

int promapi_query_range(struct httpclient *client, const char *base_url, const char *query, double start,
                        double end, double step, long timeout_ms, struct promapi_result *out,
                        char *err, size_t errlen)
{
    struct httpclient_response res;
    char *escaped, *url;
    size_t urllen;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!(step > 0) || !(end >= start) || !isfinite(start) || !isfinite(end)) {
        snprintf(err, errlen, "a range query needs start <= end and a positive step");
        return -1;
    }
    if ((end - start) / step >= PROMETHEUS_MAX_STEPS) {
        snprintf(err, errlen, "%.0f s at a %.3g s step is over Prometheus' %d points a series; "
                 "use a longer sample_interval", end - start, step, PROMETHEUS_MAX_STEPS);
        return -1;
    }
    if (!(escaped = curl_easy_escape(NULL, query, 0))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    urllen = strlen(base_url) + strlen(escaped) + 160;
    if (!(url = malloc(urllen))) {
        curl_free(escaped);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t baselen = strlen(base_url);
    while (baselen > 0 && base_url[baselen - 1] == '/')
        baselen--;
    snprintf(url, urllen, "%.*s/api/v1/query_range?query=%s&start=%.3f&end=%.3f&step=%.3f", (int)baselen,
             base_url, escaped, start, end, step);
    curl_free(escaped);
    if (httpclient_request(client, "GET", url, NULL, timeout_ms, PROMAPI_MAX_BODY, &res, err, errlen) < 0)
        goto done;
    if (promapi_parse_matrix(res.body, res.len, out, err, errlen) < 0) {
        if (res.status != 200) {
            char why[512];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "HTTP %ld: %s", res.status, why);
        }
        goto done;
    }
    rc = 0;
done:
    free(url);
    return rc;
}

size_t promapi_counter_unreset(struct promapi_series *s)
{
    double offset = 0, prev_raw = NAN;
    size_t resets = 0;
    for (size_t i = 0; i < s->n; i++) {
        double raw = s->v[i];
        if (!isnan(prev_raw) && raw < prev_raw) {
            offset += prev_raw;
            resets++;
        }
        if (!isnan(raw))
            prev_raw = raw;
        s->v[i] = raw + offset;
    }
    return resets;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int promapi_sum(const struct promapi_result *r, double **t, double **v, unsigned **present, size_t *n)
{
    size_t all = 0, k = 0;
    double *times, *sums = NULL;
    unsigned *counts = NULL;

    *t = *v = NULL;
    if (present)
        *present = NULL;
    *n = 0;
    for (size_t i = 0; i < r->nseries; i++)
        all += r->series[i].n;
    if (!(times = malloc((all ? all : 1) * sizeof *times)))
        return -1;
    for (size_t i = 0; i < r->nseries; i++)
        for (size_t j = 0; j < r->series[i].n; j++)
            times[k++] = r->series[i].t[j];
    qsort(times, all, sizeof *times, compare_doubles);
    k = 0;
    for (size_t i = 0; i < all; i++)
        if (k == 0 || times[i] != times[k - 1])
            times[k++] = times[i];
    sums = calloc(k ? k : 1, sizeof *sums);
    counts = calloc(k ? k : 1, sizeof *counts);
    if (!sums || !counts) {
        free(times);
        free(sums);
        free(counts);
        return -1;
    }
    for (size_t i = 0; i < r->nseries; i++) {
        const struct promapi_series *s = &r->series[i];
        size_t at = 0;
        for (size_t j = 0; j < s->n; j++) {
            while (times[at] < s->t[j])
                at++;
            if (!isnan(s->v[j])) {
                sums[at] += s->v[j];
                counts[at]++;
            }
        }
    }
    *t = times;
    *v = sums;
    if (present)
        *present = counts;
    else
        free(counts);
    *n = k;
    return 0;
}
