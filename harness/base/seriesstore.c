/* seriesstore: in-memory time series for gate evaluation. See seriesstore.h.
 * Series are found by a hash of metric name plus canonical label string; each keeps
 * (tick, value) pairs in growing arrays. Selection sums over ticks in one pass. */
#include "base/seriesstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERIES_BUCKETS 4096
#define SERIES_MAX_WANTED 256

struct one_series {
    struct one_series *next;  /* hash chain */
    char *metric;
    char *labelstr;           /* canonical, for lookup */
    size_t nlabels;
    char **label_names, **label_values;
    size_t *ticks;
    double *values;
    size_t n, cap;
};

struct series_store {
    char *wanted[SERIES_MAX_WANTED];
    size_t nwanted;
    double *tick_times;
    size_t nticks, ticks_cap;
    struct one_series *buckets[SERIES_BUCKETS];
    size_t nseries;
    char labelbuf[PROMTEXT_MAX_LABELSTR];
};

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

int series_selector_parse(const char *text, size_t len, struct series_selector *out,
                          char *err, size_t errlen)
{
    size_t i = 0, n = 0;

    memset(out, 0, sizeof *out);
    while (i < len && text[i] != '{') {
        if (n >= PROMTEXT_MAX_NAME)
            return fail(err, errlen, "metric name too long");
        out->metric[n++] = text[i++];
    }
    out->metric[n] = '\0';
    if (!promtext_valid_metric_name(out->metric)) {
        snprintf(err, errlen, "bad metric name '%s'", out->metric);
        return -1;
    }
    if (i == len)
        return 0;
    i++;  /* '{' */
    for (;;) {
        size_t k = out->nmatchers;
        while (i < len && text[i] == ' ')
            i++;
        if (i < len && text[i] == '}') {
            i++;
            break;
        }
        if (k >= SERIES_MAX_MATCHERS) {
            snprintf(err, errlen, "more than %d label matchers", SERIES_MAX_MATCHERS);
            return -1;
        }
        n = 0;
        while (i < len && text[i] != '=' && text[i] != ' ') {
            if (n >= PROMTEXT_MAX_NAME)
                return fail(err, errlen, "label name too long");
            out->matchers[k].name[n++] = text[i++];
        }
        out->matchers[k].name[n] = '\0';
        if (!promtext_valid_label_name(out->matchers[k].name)) {
            snprintf(err, errlen, "bad label name '%s'", out->matchers[k].name);
            return -1;
        }
        while (i < len && text[i] == ' ')
            i++;
        if (i + 1 >= len || text[i] != '=' || text[i + 1] != '"')
            return fail(err, errlen, "expected label=\"value\" (only = matchers are supported)");
        i += 2;
        n = 0;
        while (i < len && text[i] != '"') {
            char c = text[i];
            if (c == '\\') {
                if (i + 1 >= len)
                    return fail(err, errlen, "unterminated label value");
                c = text[i + 1] == 'n' ? '\n' : text[i + 1];
                if (text[i + 1] != 'n' && c != '\\' && c != '"')
                    return fail(err, errlen, "invalid escape in label value");
                i++;
            }
            if (n + 1 >= SERIES_MAX_VALUE)
                return fail(err, errlen, "label value too long");
            out->matchers[k].value[n++] = c;
            i++;
        }
        if (i >= len)
            return fail(err, errlen, "unterminated label value");
        out->matchers[k].value[n] = '\0';
        i++;
        for (size_t j = 0; j < k; j++)
            if (strcmp(out->matchers[j].name, out->matchers[k].name) == 0) {
                snprintf(err, errlen, "label '%s' given twice", out->matchers[k].name);
                return -1;
            }
        out->nmatchers++;
        while (i < len && text[i] == ' ')
            i++;
        if (i < len && text[i] == ',')
            i++;
        else if (i >= len || text[i] != '}')
            return fail(err, errlen, "expected ',' or '}' in label matchers");
    }
    if (i != len)
        return fail(err, errlen, "unexpected text after '}'");
    return 0;
}

int series_selector_format(const struct series_selector *sel, char *out, size_t outlen)
{
    struct promtext_label labels[SERIES_MAX_MATCHERS];
    size_t used;

    for (size_t i = 0; i < sel->nmatchers; i++) {
        labels[i].name = sel->matchers[i].name;
        labels[i].value = sel->matchers[i].value;
    }
    used = (size_t)snprintf(out, outlen, "%s", sel->metric);
    if (used >= outlen)
        return -1;
    return promtext_labels_format(labels, sel->nmatchers, out + used, outlen - used);
}

struct series_store *series_store_new(void)
{
    return calloc(1, sizeof(struct series_store));
}

static void one_series_free(struct one_series *s)
{
    for (size_t i = 0; i < s->nlabels; i++) {
        free(s->label_names[i]);
        free(s->label_values[i]);
    }
    free(s->label_names);
    free(s->label_values);
    free(s->metric);
    free(s->labelstr);
    free(s->ticks);
    free(s->values);
    free(s);
}

void series_store_free(struct series_store *store)
{
    if (!store)
        return;
    for (size_t i = 0; i < store->nwanted; i++)
        free(store->wanted[i]);
    for (size_t b = 0; b < SERIES_BUCKETS; b++) {
        struct one_series *s = store->buckets[b], *next;
        for (; s; s = next) {
            next = s->next;
            one_series_free(s);
        }
    }
    free(store->tick_times);
    free(store);
}

static bool wants(const struct series_store *store, const char *metric)
{
    for (size_t i = 0; i < store->nwanted; i++)
        if (strcmp(store->wanted[i], metric) == 0)
            return true;
    return false;
}

int series_store_want(struct series_store *store, const char *metric)
{
    if (wants(store, metric))
        return 0;
    if (store->nwanted >= SERIES_MAX_WANTED)
        return -1;
    store->wanted[store->nwanted] = strdup(metric);
    if (!store->wanted[store->nwanted])
        return -1;
    store->nwanted++;
    return 0;
}

int series_store_begin_tick(struct series_store *store, double t, char *err, size_t errlen)
{
    if (store->nticks >= SERIES_MAX_TICKS)
        return fail(err, errlen, "too many samples in one run");
    if (store->nticks == store->ticks_cap) {
        size_t cap = store->ticks_cap ? store->ticks_cap * 2 : 64;
        double *grown = realloc(store->tick_times, cap * sizeof *grown);
        if (!grown)
            return fail(err, errlen, "out of memory");
        store->tick_times = grown;
        store->ticks_cap = cap;
    }
    store->tick_times[store->nticks++] = t;
    return 0;
}

static unsigned hash_key(const char *metric, const char *labelstr)
{
    unsigned h = 2166136261u;
    for (const char *c = metric; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    h = (h ^ '{') * 16777619u;
    for (const char *c = labelstr; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    return h % SERIES_BUCKETS;
}

static struct one_series *series_create(struct series_store *store, unsigned bucket,
                                        const struct promtext_sample *sample, const char *labelstr)
{
    struct one_series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->metric = strdup(sample->name);
    s->labelstr = strdup(labelstr);
    s->label_names = calloc(sample->nlabels + 1, sizeof *s->label_names);
    s->label_values = calloc(sample->nlabels + 1, sizeof *s->label_values);
    if (!s->metric || !s->labelstr || !s->label_names || !s->label_values)
        goto fail;
    for (size_t i = 0; i < sample->nlabels; i++) {
        s->label_names[i] = strdup(sample->labels[i].name);
        s->label_values[i] = strdup(sample->labels[i].value);
        s->nlabels = i + 1;
        if (!s->label_names[i] || !s->label_values[i])
            goto fail;
    }
    s->next = store->buckets[bucket];
    store->buckets[bucket] = s;
    store->nseries++;
    return s;
fail:
    one_series_free(s);
    return NULL;
}

int series_store_add(struct series_store *store, const struct promtext_sample *sample,
                     char *err, size_t errlen)
{
    struct one_series *s;
    unsigned bucket;

    if (!wants(store, sample->name))
        return 0;
    if (store->nticks == 0)
        return fail(err, errlen, "sample added before any tick");
    if (promtext_labels_format(sample->labels, sample->nlabels, store->labelbuf,
                               sizeof store->labelbuf) < 0)
        return fail(err, errlen, "label set too long");
    bucket = hash_key(sample->name, store->labelbuf);
    for (s = store->buckets[bucket]; s; s = s->next)
        if (strcmp(s->metric, sample->name) == 0 && strcmp(s->labelstr, store->labelbuf) == 0)
            break;
    if (!s) {
        if (store->nseries >= SERIES_MAX_SERIES)
            return fail(err, errlen, "too many series kept for gates");
        s = series_create(store, bucket, sample, store->labelbuf);
        if (!s)
            return fail(err, errlen, "out of memory");
    }
    if (s->n > 0 && s->ticks[s->n - 1] == store->nticks - 1) {
        s->values[s->n - 1] = sample->value;  /* a repeated sample: the last one wins */
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        size_t *ticks = realloc(s->ticks, cap * sizeof *ticks);
        double *values;
        if (!ticks)
            return fail(err, errlen, "out of memory");
        s->ticks = ticks;
        values = realloc(s->values, cap * sizeof *values);
        if (!values)
            return fail(err, errlen, "out of memory");
        s->values = values;
        s->cap = cap;
    }
    s->ticks[s->n] = store->nticks - 1;
    s->values[s->n] = sample->value;
    s->n++;
    return 0;
}

int series_store_add_plain(struct series_store *store, const char *metric, double value,
                           char *err, size_t errlen)
{
    struct promtext_sample sample = {.name = metric, .value = value};
    return series_store_add(store, &sample, err, errlen);
}

bool series_store_has_metric(const struct series_store *store, const char *metric)
{
    for (size_t b = 0; b < SERIES_BUCKETS; b++)
        for (const struct one_series *s = store->buckets[b]; s; s = s->next)
            if (strcmp(s->metric, metric) == 0 && s->n > 0)
                return true;
    return false;
}

static bool series_matches(const struct one_series *s, const struct series_selector *sel)
{
    if (strcmp(s->metric, sel->metric) != 0)
        return false;
    for (size_t m = 0; m < sel->nmatchers; m++) {
        bool found = false;
        for (size_t i = 0; i < s->nlabels && !found; i++)
            found = strcmp(s->label_names[i], sel->matchers[m].name) == 0 &&
                    strcmp(s->label_values[i], sel->matchers[m].value) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* Adds s's values to sums at the ticks it has samples at, marking them seen. */
static void add_plain(const struct one_series *s, size_t nticks, double *sums, unsigned char *seen)
{
    (void)nticks;
    for (size_t i = 0; i < s->n; i++) {
        sums[s->ticks[i]] += s->values[i];
        seen[s->ticks[i]] = 1;
    }
}

/* Adds s's reset-corrected counter to sums at every tick from its first sample on
 * (its last corrected value carried over ticks it has no sample at, and after its
 * last), and marks seen the ticks it has a sample at. */
static void add_counter(const struct one_series *s, size_t nticks, double *sums, unsigned char *seen)
{
    double offset = 0, corrected = 0;
    size_t i = 0;

    if (s->n == 0)
        return;
    for (size_t k = s->ticks[0]; k < nticks; k++) {
        if (i < s->n && s->ticks[i] == k) {
            if (i > 0 && s->values[i] < s->values[i - 1])
                offset += s->values[i - 1];  /* a reset: it counts from zero again */
            corrected = s->values[i] + offset;
            seen[k] = 1;
            i++;
        }
        sums[k] += corrected;
    }
}

/* The sum of the matching series, each added by add, at the ticks any has a sample
 * at within [from, to]. */
static int select_sum(const struct series_store *store, const struct series_selector *sel, double from, double to,
                      void (*add)(const struct one_series *, size_t, double *, unsigned char *), struct series *out)
{
    double *sums = NULL;
    unsigned char *seen = NULL;
    size_t n = 0;
    int rc = -1;

    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", sel->metric);
    if (store->nticks == 0)
        return 0;
    sums = calloc(store->nticks, sizeof *sums);
    seen = calloc(store->nticks, 1);
    if (!sums || !seen)
        goto done;
    for (size_t b = 0; b < SERIES_BUCKETS; b++)
        for (const struct one_series *s = store->buckets[b]; s; s = s->next)
            if (series_matches(s, sel))
                add(s, store->nticks, sums, seen);
    for (size_t k = 0; k < store->nticks; k++)
        if (seen[k] && store->tick_times[k] >= from && store->tick_times[k] <= to)
            n++;
    if (n > 0) {
        out->t = malloc(n * sizeof *out->t);
        out->v = malloc(n * sizeof *out->v);
        if (!out->t || !out->v) {
            series_release(out);
            goto done;
        }
        for (size_t k = 0; k < store->nticks; k++)
            if (seen[k] && store->tick_times[k] >= from && store->tick_times[k] <= to) {
                out->t[out->n] = store->tick_times[k];
                out->v[out->n] = sums[k];
                out->n++;
            }
        out->cap = n;
    }
    rc = 0;
done:
    free(sums);
    free(seen);
    return rc;
}

int series_store_select(const struct series_store *store, const struct series_selector *sel,
                        double from, double to, struct series *out)
{
    return select_sum(store, sel, from, to, add_plain, out);
}

int series_store_select_counter(const struct series_store *store, const struct series_selector *sel,
                                double from, double to, struct series *out)
{
    return select_sum(store, sel, from, to, add_counter, out);
}

size_t series_store_label_values(const struct series_store *store, const char *metric, const char *label,
                                 char (*out)[SERIES_MAX_VALUE], size_t max)
{
    size_t n = 0;
    for (size_t b = 0; b < SERIES_BUCKETS; b++)
        for (const struct one_series *s = store->buckets[b]; s; s = s->next) {
            const char *value = NULL;
            bool seen = false;
            if (strcmp(s->metric, metric) != 0 || s->n == 0)
                continue;
            for (size_t i = 0; i < s->nlabels && !value; i++)
                if (strcmp(s->label_names[i], label) == 0)
                    value = s->label_values[i];
            if (!value || strlen(value) >= SERIES_MAX_VALUE)
                continue;
            for (size_t k = 0; k < n && !seen; k++)
                seen = strcmp(out[k], value) == 0;
            if (!seen && n < max)
                memcpy(out[n++], value, strlen(value) + 1);
        }
    return n;
}
