/* Tests for service/metrics.c: histogram bucketing (bounds are inclusive, +Inf takes
 * the rest, the sum is kept in ns and shown in seconds), label value escaping, the
 * /metrics exposition read back line by line as Prometheus text format 0.0.4 (one
 * HELP and TYPE per family before its samples, families not interleaved, valid names
 * and values, cumulative buckets with +Inf equal to _count), values that match real
 * queue and order store instances, HTTP counters by route and code at level metrics
 * and none at level off, and `promtool check metrics` on the whole output.
 * HTTP counters are process-wide, so those checks compare before and after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buildinfo.h"
#include "instrument.h"
#include "metrics.h"
#include "orders.h"
#include "queue.h"

/* ---- the exposition, as text ---- */

static char *capture(void (*write_fn)(FILE *, void *), void *arg, size_t *len)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    assert_non_null(f);
    write_fn(f, arg);
    assert_int_equal(fclose(f), 0);
    if (len)
        *len = n;
    return text;
}

static void write_all(FILE *f, void *arg)
{
    assert_int_equal(metrics_write(f, arg), 0);
}

/* The value of the sample line that starts with prefix followed by a space ("name" or
 * "name{labels}"), or NAN when there is none. */
static double sample_value(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, prefix, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
    return NAN;
}

/* ---- a reader of the text format, strict enough to catch what promtool would ---- */

#define MAX_FAMILIES 128
#define MAX_SERIES 128

struct family {
    char name[128], type[16];
    int help, types, samples;
    bool closed;   /* another family's samples came after this one's */
};

struct series {          /* one histogram series: family + labels other than le */
    char key[384];
    double last_le, last_bucket, inf_bucket, count;
    bool has_inf, has_count, has_sum;
};

struct exposition {
    struct family families[MAX_FAMILIES];
    int nfamilies;
    struct series series[MAX_SERIES];
    int nseries;
    int samples;
    char last_family[128];
};

static bool valid_metric_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
            return false;
    return true;
}

static bool valid_label_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

static struct family *family_get(struct exposition *e, const char *name, size_t n, bool create)
{
    for (int i = 0; i < e->nfamilies; i++)
        if (strlen(e->families[i].name) == n && strncmp(e->families[i].name, name, n) == 0)
            return &e->families[i];
    if (!create)
        return NULL;
    assert_true(e->nfamilies < MAX_FAMILIES);
    struct family *f = &e->families[e->nfamilies++];
    assert_true(n < sizeof f->name);
    memcpy(f->name, name, n);
    f->name[n] = '\0';
    return f;
}

static bool parse_value(const char *s, double *out)
{
    char *end;
    if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0 || strcmp(s, "NaN") == 0) {
        *out = strcmp(s, "+Inf") == 0 ? INFINITY : strcmp(s, "-Inf") == 0 ? -INFINITY : NAN;
        return true;
    }
    if (!*s || isspace((unsigned char)*s))
        return false;
    *out = strtod(s, &end);
    return *end == '\0';
}

/* The family a sample belongs to: its own name, or for histograms the name less
 * _bucket/_sum/_count. */
static struct family *family_of_sample(struct exposition *e, const char *name, size_t n, const char **suffix)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    struct family *f = family_get(e, name, n, false);

    *suffix = "";
    if (f && strcmp(f->type, "histogram") != 0)
        return f;
    for (int i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]);
        if (n > sl && strncmp(name + n - sl, suffixes[i], sl) == 0) {
            struct family *h = family_get(e, name, n - sl, false);
            if (h && strcmp(h->type, "histogram") == 0) {
                *suffix = suffixes[i];
                return h;
            }
        }
    }
    return NULL;
}

static void check_comment(struct exposition *e, const char *line, int lineno)
{
    bool help = strncmp(line, "# HELP ", 7) == 0, type = strncmp(line, "# TYPE ", 7) == 0;
    if (!help && !type)
        return;   /* other comments are allowed */
    const char *name = line + 7, *sp = strchr(name, ' ');
    if (!sp)
        fail_msg("line %d: %s without text: %s", lineno, help ? "HELP" : "TYPE", line);
    size_t n = (size_t)(sp - name);
    if (!valid_metric_name(name, n))
        fail_msg("line %d: bad metric name: %s", lineno, line);
    struct family *f = family_get(e, name, n, true);
    if (f->samples > 0)
        fail_msg("line %d: %s after the family's samples: %s", lineno, help ? "HELP" : "TYPE", line);
    if (help) {
        if (++f->help > 1)
            fail_msg("line %d: second HELP for %s", lineno, f->name);
        if (!sp[1])
            fail_msg("line %d: empty HELP for %s", lineno, f->name);
    } else {
        if (++f->types > 1)
            fail_msg("line %d: second TYPE for %s", lineno, f->name);
        static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
        bool known = false;
        for (int i = 0; i < 5; i++)
            known |= strcmp(sp + 1, types[i]) == 0;
        if (!known)
            fail_msg("line %d: unknown type: %s", lineno, line);
        snprintf(f->type, sizeof f->type, "%s", sp + 1);
    }
}

static struct series *series_get(struct exposition *e, const char *key)
{
    for (int i = 0; i < e->nseries; i++)
        if (strcmp(e->series[i].key, key) == 0)
            return &e->series[i];
    assert_true(e->nseries < MAX_SERIES);
    struct series *s = &e->series[e->nseries++];
    snprintf(s->key, sizeof s->key, "%s", key);
    s->last_le = -INFINITY;
    return s;
}

static void check_sample(struct exposition *e, const char *line, int lineno)
{
    const char *p = line, *suffix;
    char labels[256] = "", le[128] = "", key[384];
    bool has_le = false;
    double value;

    while (*p && *p != '{' && *p != ' ')
        p++;
    size_t n = (size_t)(p - line);
    if (!valid_metric_name(line, n))
        fail_msg("line %d: bad metric name: %s", lineno, line);
    struct family *f = family_of_sample(e, line, n, &suffix);
    if (!f || f->help != 1 || f->types != 1)
        fail_msg("line %d: sample without one HELP and one TYPE before it: %s", lineno, line);
    if (f->closed)
        fail_msg("line %d: family %s interleaved with another: %s", lineno, f->name, line);
    if (e->last_family[0] && strcmp(e->last_family, f->name) != 0) {
        struct family *prev = family_get(e, e->last_family, strlen(e->last_family), false);
        if (prev)
            prev->closed = true;
    }
    snprintf(e->last_family, sizeof e->last_family, "%s", f->name);
    f->samples++;
    e->samples++;

    if (*p == '{') {
        p++;
        while (*p != '}') {
            const char *ln = p;
            while (*p && *p != '=')
                p++;
            if (*p != '=' || !valid_label_name(ln, (size_t)(p - ln)))
                fail_msg("line %d: bad label name: %s", lineno, line);
            bool is_le = (size_t)(p - ln) == 2 && strncmp(ln, "le", 2) == 0;
            if (*++p != '"')
                fail_msg("line %d: label value not quoted: %s", lineno, line);
            char value_text[128];
            size_t vl = 0;
            for (p++; *p != '"'; p++) {
                if (!*p)
                    fail_msg("line %d: unterminated label value: %s", lineno, line);
                if (*p == '\\') {
                    p++;
                    if (*p != '\\' && *p != '"' && *p != 'n')
                        fail_msg("line %d: bad escape in label value: %s", lineno, line);
                }
                if (vl + 1 < sizeof value_text)
                    value_text[vl++] = *p;
            }
            value_text[vl] = '\0';
            p++;
            if (is_le) {
                has_le = true;
                snprintf(le, sizeof le, "%s", value_text);
            } else {
                size_t used = strlen(labels);
                snprintf(labels + used, sizeof labels - used, "%.*s=%s,", (int)(strchr(ln, '=') - ln), ln, value_text);
            }
            if (*p == ',')
                p++;
            else if (*p != '}')
                fail_msg("line %d: expected , or } in labels: %s", lineno, line);
        }
        p++;
    }
    if (*p != ' ')
        fail_msg("line %d: no space before the value: %s", lineno, line);
    if (!parse_value(p + 1, &value))
        fail_msg("line %d: value is not a number: %s", lineno, line);

    if (strcmp(f->type, "histogram") != 0)
        return;
    snprintf(key, sizeof key, "%s|%s", f->name, labels);
    struct series *s = series_get(e, key);
    if (strcmp(suffix, "_bucket") == 0) {
        double bound;
        if (!has_le || !parse_value(le, &bound))
            fail_msg("line %d: bucket without a numeric le: %s", lineno, line);
        if (s->has_inf || bound <= s->last_le)
            fail_msg("line %d: le not increasing: %s", lineno, line);
        if (value < s->last_bucket)
            fail_msg("line %d: bucket count decreasing: %s", lineno, line);
        s->last_le = bound;
        s->last_bucket = value;
        if (isinf(bound)) {
            s->has_inf = true;
            s->inf_bucket = value;
        }
    } else if (strcmp(suffix, "_count") == 0) {
        s->has_count = true;
        s->count = value;
    } else if (strcmp(suffix, "_sum") == 0) {
        s->has_sum = true;
    } else {
        fail_msg("line %d: histogram sample without a suffix: %s", lineno, line);
    }
}

/* Reads the whole exposition; fails the test on the first line that breaks the
 * format. Returns the number of sample lines. */
static int check_exposition(const char *text, struct exposition *e)
{
    char *copy = strdup(text), *next;
    int lineno = 0;

    memset(e, 0, sizeof *e);
    assert_true(strlen(text) > 0);
    assert_int_equal(text[strlen(text) - 1], '\n');
    for (char *line = copy; *line; line = next) {
        char *nl = strchr(line, '\n');
        *nl = '\0';   /* the text ends in '\n', so every line has one */
        next = nl + 1;
        lineno++;
        if (line[0] == '\0')
            continue;   /* the format ignores empty lines */
        if (line[0] == '#')
            check_comment(e, line, lineno);
        else
            check_sample(e, line, lineno);
    }
    for (int i = 0; i < e->nfamilies; i++)
        if (e->families[i].help != 1 || e->families[i].types != 1)
            fail_msg("family %s: %d HELP, %d TYPE", e->families[i].name, e->families[i].help, e->families[i].types);
    for (int i = 0; i < e->nseries; i++) {
        struct series *s = &e->series[i];
        if (!s->has_inf || !s->has_count || !s->has_sum)
            fail_msg("histogram %s: +Inf %d, _count %d, _sum %d", s->key, s->has_inf, s->has_count, s->has_sum);
        if (s->inf_bucket != s->count)
            fail_msg("histogram %s: +Inf bucket %g != _count %g", s->key, s->inf_bucket, s->count);
    }
    free(copy);
    return e->samples;
}

/* ---- tests ---- */

static int level_metrics(void **state)
{
    (void)state;
    atomic_store(&instrument.level, INSTRUMENT_METRICS);
    return 0;
}

static void test_metrics_histogram_buckets(void **state)
{
    struct metrics_histogram h;
    int64_t sum = 0;
    (void)state;

    memset(&h, 0, sizeof h);
    /* Bounds are inclusive: a value equal to a bound is in that bucket. */
    for (int i = 0; i < METRICS_BUCKETS; i++) {
        int64_t bound_ns = (int64_t)llround(metrics_latency_bounds[i] * 1e9);
        metrics_histogram_observe(&h, bound_ns);
        metrics_histogram_observe(&h, bound_ns + 1);
        sum += 2 * bound_ns + 1;
    }
    metrics_histogram_observe(&h, 0);
    metrics_histogram_observe(&h, 30LL * 1000000000);   /* past the last bound */
    metrics_histogram_observe(&h, -5);                  /* a clock step: counted, adds 0 */
    sum += 30LL * 1000000000;

    assert_int_equal(atomic_load(&h.buckets[0]), 1 + 1 + 1);   /* 0, -5, the first bound */
    for (int i = 1; i < METRICS_BUCKETS; i++)
        assert_int_equal(atomic_load(&h.buckets[i]), 2);        /* bound, and the one above the previous */
    assert_int_equal(atomic_load(&h.buckets[METRICS_BUCKETS]), 1 + 1);   /* 10 s + 1 ns, 30 s */
    assert_int_equal(atomic_load(&h.count), 2 * METRICS_BUCKETS + 3);
    assert_int_equal(atomic_load(&h.sum_ns), sum);
}

static void test_metrics_bounds_increase(void **state)
{
    (void)state;
    assert_true(metrics_latency_bounds[0] > 0);
    for (int i = 1; i < METRICS_BUCKETS; i++)
        assert_true(metrics_latency_bounds[i] > metrics_latency_bounds[i - 1]);
}

struct histogram_arg {
    const struct metrics_histogram *h;
    const char *label, *value;
};

static void write_one_histogram(FILE *f, void *arg)
{
    struct histogram_arg *a = arg;
    fprintf(f, "# HELP t_seconds A test histogram.\n# TYPE t_seconds histogram\n");
    metrics_write_histogram(f, "t_seconds", a->label, a->value, a->h);
}

static void test_metrics_write_histogram_cumulative(void **state)
{
    struct metrics_histogram h;
    struct exposition *e = test_calloc(1, sizeof *e);
    (void)state;

    memset(&h, 0, sizeof h);
    metrics_histogram_observe(&h, 40000);         /* 40us: le 5e-05 */
    metrics_histogram_observe(&h, 40000);
    metrics_histogram_observe(&h, 3000000);       /* 3ms: le 0.005 */
    metrics_histogram_observe(&h, 20000000000);   /* 20s: +Inf */

    struct histogram_arg a = {&h, NULL, NULL};
    char *text = capture(write_one_histogram, &a, NULL);
    assert_int_equal(check_exposition(text, e), METRICS_BUCKETS + 1 + 2);
    assert_true(sample_value(text, "t_seconds_bucket{le=\"5e-05\"}") == 2);
    assert_true(sample_value(text, "t_seconds_bucket{le=\"0.0025\"}") == 2);
    assert_true(sample_value(text, "t_seconds_bucket{le=\"0.005\"}") == 3);
    assert_true(sample_value(text, "t_seconds_bucket{le=\"10\"}") == 3);
    assert_true(sample_value(text, "t_seconds_bucket{le=\"+Inf\"}") == 4);
    assert_true(sample_value(text, "t_seconds_count") == 4);
    assert_true(fabs(sample_value(text, "t_seconds_sum") - 20.00308) < 1e-9);
    free(text);

    /* With a label: it comes first in every sample, and le last in buckets. */
    a = (struct histogram_arg){&h, "route", "product_get"};
    text = capture(write_one_histogram, &a, NULL);
    assert_int_equal(check_exposition(text, e), METRICS_BUCKETS + 1 + 2);
    assert_true(sample_value(text, "t_seconds_bucket{route=\"product_get\",le=\"+Inf\"}") == 4);
    assert_true(sample_value(text, "t_seconds_count{route=\"product_get\"}") == 4);
    assert_true(fabs(sample_value(text, "t_seconds_sum{route=\"product_get\"}") - 20.00308) < 1e-9);
    free(text);
    test_free(e);
}

static void write_label(FILE *f, void *arg)
{
    metrics_write_label_value(f, arg);
}

static void test_metrics_label_value_escaping(void **state)
{
    struct metrics_histogram h;
    struct exposition *e = test_calloc(1, sizeof *e);
    char *text;
    (void)state;

    text = capture(write_label, "a\\b\"c\nd", NULL);
    assert_string_equal(text, "a\\\\b\\\"c\\nd");
    free(text);
    text = capture(write_label, "plain caf\xc3\xa9 {x=1}", NULL);
    assert_string_equal(text, "plain caf\xc3\xa9 {x=1}");
    free(text);
    text = capture(write_label, "", NULL);
    assert_string_equal(text, "");
    free(text);

    /* An escaped value keeps the line parseable. */
    memset(&h, 0, sizeof h);
    metrics_histogram_observe(&h, 1);
    struct histogram_arg a = {&h, "path", "/x\"}\n y\\"};
    text = capture(write_one_histogram, &a, NULL);
    check_exposition(text, e);
    assert_true(sample_value(text, "t_seconds_count{path=\"/x\\\"}\\n y\\\\\"}") == 1);
    free(text);
    test_free(e);
}

static void test_metrics_write_is_valid_text_format(void **state)
{
    struct queue *q = queue_new(4);
    struct order_store *orders = order_store_new(16);
    struct metrics_sources src = {q, orders};
    struct exposition *e = test_calloc(1, sizeof *e);
    uint64_t id;
    (void)state;

    for (uintptr_t i = 1; i <= 6; i++)
        queue_push_or_reject(q, (void *)i);   /* 4 taken, 2 refused */
    queue_pop(q, NULL);
    for (int i = 0; i < 5; i++)
        assert_int_equal(order_store_add(orders, 1, &id), 0);
    order_store_update(orders, 1, ORDER_DONE, 100, NULL);
    order_store_update(orders, 2, ORDER_FAILED, 0, "x");
    order_store_update(orders, 3, ORDER_PROCESSING, 0, NULL);
    metrics_http_observe(METRICS_ROUTE_PRODUCT_GET, 200, 1000000);
    metrics_queue_wait_observe(2000000);

    char *text = capture(write_all, &src, NULL);
    int samples = check_exposition(text, e);
    assert_true(samples > 40);

    /* The figures are the instances' own. */
    assert_true(sample_value(text, "orderd_queue_capacity") == 4);
    assert_true(sample_value(text, "orderd_queue_depth") == 3);
    assert_true(sample_value(text, "orderd_queue_enqueued_total") == 4);
    assert_true(sample_value(text, "orderd_queue_rejected_total") == 2);
    assert_true(sample_value(text, "orderd_orders_accepted_total") == 5);
    assert_true(sample_value(text, "orderd_orders_total{state=\"done\"}") == 1);
    assert_true(sample_value(text, "orderd_orders_total{state=\"failed\"}") == 1);
    assert_true(sample_value(text, "orderd_orders_in_store{state=\"queued\"}") == 2);
    assert_true(sample_value(text, "orderd_orders_in_store{state=\"processing\"}") == 1);
    assert_true(sample_value(text, "orderd_orders_in_store{state=\"done\"}") == 1);
    assert_true(sample_value(text, "orderd_orders_in_store{state=\"failed\"}") == 1);
    assert_true(sample_value(text, "orderd_queue_wait_seconds_count") >= 1);
    assert_true(sample_value(text, "orderd_instrument_level{level=\"metrics\"}") == 1);
    assert_true(sample_value(text, "orderd_instrument_level{level=\"off\"}") == 0);
    assert_true(sample_value(text, "orderd_instrument_level{level=\"profile\"}") == 0);
    char build_info[160];
    snprintf(build_info, sizeof build_info, "orderd_build_info{version=\"%s\",revision=\"%s\"}", BUILDINFO_VERSION,
             buildinfo_revision());
    assert_true(sample_value(text, build_info) == 1);
    assert_true(sample_value(text, "process_resident_memory_bytes") > 0);
    assert_true(sample_value(text, "process_open_fds") > 0);
    assert_true(sample_value(text, "orderd_fault_active{fault=\"lock.cache\"}") == 0);

    /* The families the design names, each with its type. */
    static const struct { const char *name, *type; } want[] = {
        {"process_cpu_seconds_total", "counter"}, {"process_resident_memory_bytes", "gauge"},
        {"orderd_threads", "gauge"}, {"orderd_queue_depth", "gauge"}, {"orderd_queue_capacity", "gauge"},
        {"orderd_queue_enqueued_total", "counter"}, {"orderd_queue_rejected_total", "counter"},
        {"orderd_queue_wait_seconds", "histogram"}, {"orderd_mutex_wait_seconds_total", "counter"},
        {"orderd_mutex_contentions_total", "counter"}, {"orderd_block_seconds_total", "counter"},
        {"orderd_http_requests_total", "counter"}, {"orderd_http_request_duration_seconds", "histogram"},
        {"orderd_orders_total", "counter"}, {"orderd_orders_in_store", "gauge"},
        {"orderd_fault_active", "gauge"}, {"orderd_leaked_threads", "gauge"}, {"orderd_leaked_bytes", "gauge"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct family *f = family_get(e, want[i].name, strlen(want[i].name), false);
        if (!f)
            fail_msg("family %s missing", want[i].name);
        assert_string_equal(f->type, want[i].type);
    }

    /* Without sources, the families that need them are left out, and the rest holds. */
    struct metrics_sources none = {NULL, NULL};
    free(text);
    text = capture(write_all, &none, NULL);
    check_exposition(text, e);
    assert_null(strstr(text, "orderd_queue_depth"));
    assert_null(strstr(text, "orderd_orders_in_store"));
    assert_non_null(strstr(text, "orderd_http_requests_total"));

    free(text);
    test_free(e);
    queue_free(q);
    order_store_free(orders);
}

static void test_metrics_http_counted_by_route_and_code(void **state)
{
    struct metrics_sources none = {NULL, NULL};
    struct exposition *e = test_calloc(1, sizeof *e);
    static const char get200[] = "orderd_http_requests_total{route=\"product_get\",code=\"200\"}";
    static const char create503[] = "orderd_http_requests_total{route=\"order_create\",code=\"503\"}";
    static const char other418[] = "orderd_http_requests_total{route=\"other\",code=\"other\"}";
    static const char create_count[] = "orderd_http_request_duration_seconds_count{route=\"order_create\"}";
    (void)state;

    char *before = capture(write_all, &none, NULL);
    double b_get = sample_value(before, get200), b_503 = sample_value(before, create503);
    double b_other = sample_value(before, other418), b_count = sample_value(before, create_count);
    /* A pair never seen has no line at all; a seen one counts from there. */
    if (isnan(b_get))
        b_get = 0;
    if (isnan(b_503))
        b_503 = 0;
    if (isnan(b_other))
        b_other = 0;

    for (int i = 0; i < 3; i++)
        metrics_http_observe(METRICS_ROUTE_PRODUCT_GET, 200, 100000);
    metrics_http_observe(METRICS_ROUTE_ORDER_CREATE, 503, 2000000);
    metrics_http_observe(METRICS_ROUTE_OTHER, 418, 1000);
    metrics_http_observe(METRICS_ROUTE_COUNT, 200, 1000);   /* out of range: ignored */

    char *after = capture(write_all, &none, NULL);
    check_exposition(after, e);
    assert_true(sample_value(after, get200) == b_get + 3);
    assert_true(sample_value(after, create503) == b_503 + 1);
    assert_true(sample_value(after, other418) == b_other + 1);
    assert_true(sample_value(after, create_count) == b_count + 1);
    assert_string_equal(metrics_route_name(METRICS_ROUTE_PRODUCT_GET), "product_get");
    assert_string_equal(metrics_route_name(METRICS_ROUTE_COUNT), "other");
    free(before);
    free(after);
    test_free(e);
}

static void test_metrics_level_off_counts_nothing(void **state)
{
    struct queue *q = queue_new(1);
    struct metrics_sources with_queue = {q, NULL};
    (void)state;

    metrics_http_observe(METRICS_ROUTE_ORDER_GET, 404, 1000);   /* so the line exists */
    char *before = capture(write_all, &with_queue, NULL);

    atomic_store(&instrument.level, INSTRUMENT_OFF);
    for (int i = 0; i < 5; i++) {
        metrics_http_observe(METRICS_ROUTE_ORDER_GET, 404, 1000);
        metrics_http_observe(METRICS_ROUTE_PRODUCTS_LIST, 200, 1000);
        metrics_queue_wait_observe(1000);
    }
    char *after = capture(write_all, &with_queue, NULL);
    atomic_store(&instrument.level, INSTRUMENT_METRICS);

    static const char *const unchanged[] = {
        "orderd_http_requests_total{route=\"order_get\",code=\"404\"}",
        "orderd_http_request_duration_seconds_count{route=\"order_get\"}",
        "orderd_http_request_duration_seconds_count{route=\"products_list\"}",
        "orderd_queue_wait_seconds_count",
    };
    for (size_t i = 0; i < sizeof unchanged / sizeof unchanged[0]; i++) {
        double b = sample_value(before, unchanged[i]), a = sample_value(after, unchanged[i]);
        if (isnan(b) || a != b)
            fail_msg("%s: %g before, %g after at level off", unchanged[i], b, a);
    }
    assert_true(sample_value(after, "orderd_instrument_level{level=\"off\"}") == 1);
    assert_true(sample_value(after, "orderd_instrument_level{level=\"metrics\"}") == 0);
    free(before);
    free(after);
    queue_free(q);
}

static void test_metrics_promtool_check(void **state)
{
    struct queue *q = queue_new(8);
    struct order_store *orders = order_store_new(8);
    struct metrics_sources src = {q, orders};
    char out_path[] = "/tmp/test_metrics_promtool_XXXXXX", cmd[128], report[4096];
    uint64_t id;
    (void)state;

    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        queue_free(q);
        order_store_free(orders);
        skip();
    }
    queue_push_or_reject(q, (void *)1);
    order_store_add(orders, 3, &id);
    metrics_http_observe(METRICS_ROUTE_ORDER_CREATE, 202, 500000);
    metrics_http_observe(METRICS_ROUTE_PRODUCTS_LIST, 200, 50000);

    int fd = mkstemp(out_path);
    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof cmd, "promtool check metrics >%s 2>&1", out_path);
    FILE *p = popen(cmd, "w");
    assert_non_null(p);
    assert_int_equal(metrics_write(p, &src), 0);
    int status = pclose(p);

    FILE *r = fopen(out_path, "r");
    size_t n = fread(report, 1, sizeof report - 1, r);
    report[n] = '\0';
    fclose(r);
    unlink(out_path);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n != 0)
        fail_msg("promtool check metrics: status %d, said: %s", status, report);
    queue_free(q);
    order_store_free(orders);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, level_metrics, level_metrics)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_metrics_histogram_buckets),
        TEST(test_metrics_bounds_increase),
        TEST(test_metrics_write_histogram_cumulative),
        TEST(test_metrics_label_value_escaping),
        TEST(test_metrics_write_is_valid_text_format),
        TEST(test_metrics_http_counted_by_route_and_code),
        TEST(test_metrics_level_off_counts_nothing),
        TEST(test_metrics_promtool_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
