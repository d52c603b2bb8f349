/* lockprof_profile: the mutex and block profiles as they leave the process: a
 * snapshot of a table for a delta profile (?seconds=N), the difference of now and a
 * snapshot, and the text (debug=1) and profile.proto (debug=0) layouts with Go's
 * scaling (see lockprof.c on the values). Apart from the lock paths because none of
 * it runs while a lock is taken: it works on copies of the tables. */
#include "lockprof_internal.h"

#include "instrument.h"
#include "pprof.h"

#include <inttypes.h>
#include <stdlib.h>

#define LOCKPROF_CYCLES_PER_SECOND 1000000000

struct lockprof_snapshot {
    enum lockprof_kind kind;
    int64_t taken_ns;               /* monotonic */
    int nrecords;
    struct stack_record *records;   /* sorted by hash */
};

static int compare_hash(const void *a, const void *b)
{
    const struct stack_record *x = a, *y = b;

    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static int compare_delay_desc(const void *a, const void *b)
{
    const struct stack_record *x = a, *y = b;

    return x->delay_ns > y->delay_ns ? -1 : x->delay_ns < y->delay_ns;
}

struct lockprof_snapshot *lockprof_snapshot_take(enum lockprof_kind kind)
{
    struct lockprof_snapshot *s;

    if (!lockprof_kind_valid(kind))
        return NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->kind = kind;
    s->taken_ns = lockprof_clock_ns(CLOCK_MONOTONIC);
    s->records = lockprof_table_copy(kind, &s->nrecords);
    if (!s->records) {
        free(s);
        return NULL;
    }
    qsort(s->records, (size_t)s->nrecords, sizeof *s->records, compare_hash);
    return s;
}

void lockprof_snapshot_free(struct lockprof_snapshot *s)
{
    if (!s)
        return;
    free(s->records);
    free(s);
}

static const struct stack_record *snapshot_find(const struct lockprof_snapshot *s,
                                                const struct stack_record *r)
{
    int lo = 0, hi = s->nrecords;

    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (s->records[mid].hash < r->hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < s->nrecords && s->records[lo].hash == r->hash; lo++)
        if (lockprof_same_stack(&s->records[lo], r->hash, r->pcs, r->npcs))
            return &s->records[lo];
    return NULL;
}

/* Subtracts the snapshot from records[0..n) in place, dropping what did not change.
 * Returns the new count. */
static int subtract_snapshot(struct stack_record *records, int n, const struct lockprof_snapshot *since)
{
    int kept = 0;

    for (int i = 0; i < n; i++) {
        const struct stack_record *old = snapshot_find(since, &records[i]);
        if (old) {
            records[i].count -= old->count;
            records[i].delay_ns -= old->delay_ns;
        }
        if (records[i].count != 0 || records[i].delay_ns != 0) {
            if (kept != i)
                records[kept] = records[i];
            kept++;
        }
    }
    return kept;
}

static int profile_text(enum lockprof_kind kind, const struct stack_record *records, int n,
                        int64_t fraction, char **out, size_t *out_len)
{
    struct pprof_text t = { 0 };

    pprof_text_printf(&t, "--- %s:\n", kind != LOCKPROF_BLOCK ? "mutex" : "contention");
    pprof_text_printf(&t, "cycles/second=%d\n", LOCKPROF_CYCLES_PER_SECOND);
    if (kind != LOCKPROF_BLOCK)
        pprof_text_printf(&t, "sampling period=%" PRId64 "\n", fraction);
    for (int i = 0; i < n; i++) {
        pprof_text_printf(&t, "%" PRId64 " %" PRId64 " @", records[i].delay_ns, (int64_t)records[i].count);
        pprof_text_stack(&t, records[i].pcs, records[i].npcs);
    }
    return pprof_text_finish(&t, out, out_len);
}

static int profile_proto(enum lockprof_kind kind, const struct stack_record *records, int n,
                         int64_t fraction, int64_t duration_ns, char **out, size_t *out_len)
{
    static const struct pprof_value_type types[] = {
        { "contentions", "count" }, { "delay", "nanoseconds" },
    };
    /* Go scales only the mutex profile; a disabled fraction (0) would zero every
     * value, so the records are then shown as sampled. */
    int64_t scale = kind != LOCKPROF_BLOCK && fraction > 0 ? fraction : 1;
    pprof_profile *p = pprof_new(types, 2, types[0], 1);
    unsigned char *buf = NULL;
    int rc = -1;

    if (!p)
        return -1;
    pprof_set_time(p, lockprof_clock_ns(CLOCK_REALTIME), duration_ns);
    for (int i = 0; i < n; i++) {
        int64_t values[2] = { (int64_t)records[i].count * scale,
                              (int64_t)((double)records[i].delay_ns * (double)scale) };
        if (pprof_add_sample(p, records[i].pcs, records[i].npcs, values) < 0)
            goto done;
    }
    if (pprof_encode(p, pprof_symbolize_with_stacks, NULL, 1, &buf, out_len) < 0)
        goto done;
    *out = (char *)buf;
    rc = 0;
done:
    pprof_free(p);
    return rc;
}

int lockprof_profile(enum lockprof_kind kind, int debug, const struct lockprof_snapshot *since,
                     char **out, size_t *out_len)
{
    struct stack_record *records;
    int64_t fraction = atomic_load_explicit(&instrument.mutex_fraction, memory_order_relaxed);
    int64_t duration_ns = 0;
    int n = 0, rc;

    if (!lockprof_kind_valid(kind) || (since && since->kind != kind) ||
        !out || !out_len)
        return -1;
    records = lockprof_table_copy(kind, &n);
    if (!records)
        return -1;
    if (since) {
        n = subtract_snapshot(records, n, since);
        duration_ns = lockprof_clock_ns(CLOCK_MONOTONIC) - since->taken_ns;
    }
    qsort(records, (size_t)n, sizeof *records, compare_delay_desc);
    if (debug)
        rc = profile_text(kind, records, n, fraction, out, out_len);
    else
        rc = profile_proto(kind, records, n, fraction, duration_ns, out, out_len);
    free(records);
    return rc;
}
