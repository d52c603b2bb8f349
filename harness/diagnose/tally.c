/* tally: culprits from thread dumps and profiles. See tally.h. */
#include "diagnose/tally.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/evidence.h"

/* The service's wrappers around a wait, an allocation, the clock or logging: a
 * culprit is never one of them, but the function that called it. */
static const char *const wrapper_prefixes[] = {
    "lockprof_", "lock_contended", "heapprof_", "threads_", "stacks_", "units_", "log_", "spawn_trampoline",
};

static void snapshots_free(struct tally_snapshots *s)
{
    for (size_t i = 0; i < s->n; i++)
        proftext_free(s->items[i].p);
    free(s->items);
    memset(s, 0, sizeof *s);
}

static int load_evidence_item(void *user, const struct evidence_item *item, char *err, size_t errlen)
{
    struct tally_evidence *in = user;
    struct tally_snapshots *into;
    enum proftext_kind kind;
    struct proftext *p;
    char msg[300];

    if (strcmp(item->kind, EVIDENCE_THREADS) == 0) {
        into = &in->dumps;
        kind = PROFTEXT_THREADS;
    } else if (strcmp(item->kind, EVIDENCE_MUTEX) == 0) {
        into = &in->mutex;
        kind = PROFTEXT_MUTEX;
    } else if (strcmp(item->kind, EVIDENCE_BLOCK) == 0) {
        into = &in->block;
        kind = PROFTEXT_BLOCK;
    } else if (strcmp(item->kind, EVIDENCE_HEAP) == 0) {
        into = strcmp(item->reason, EVIDENCE_PERIODIC) == 0 ? &in->heap_series : &in->heap;
        kind = PROFTEXT_HEAP;
    } else if (strcmp(item->kind, EVIDENCE_CPU) == 0) {
        into = &in->cpu;
        kind = PROFTEXT_CPU;
    } else {
        return 0;  /* vars, logs, notes are for people; faults is the answer key */
    }
    if (into->n == TALLY_MAX_SNAPSHOTS)
        return 0;
    if (!(p = proftext_parse(kind, item->text, item->len, msg, sizeof msg))) {
        snprintf(err, errlen, "evidence %lld (%s at t=%.2fs): %s", (long long)item->id, item->kind, item->t, msg);
        return -1;
    }
    if (into->n == into->cap) {
        size_t cap = into->cap ? into->cap * 2 : 32;
        struct tally_snapshot *bigger = realloc(into->items, cap * sizeof *bigger);
        if (!bigger) {
            proftext_free(p);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        into->items = bigger;
        into->cap = cap;
    }
    into->items[into->n].t = item->t;
    into->items[into->n].p = p;
    snprintf(into->items[into->n].reason, sizeof into->items[into->n].reason, "%s", item->reason);
    into->n++;
    return 0;
}

void tally_evidence_free(struct tally_evidence *ev)
{
    snapshots_free(&ev->dumps);
    snapshots_free(&ev->mutex);
    snapshots_free(&ev->block);
    snapshots_free(&ev->heap);
    snapshots_free(&ev->cpu);
    snapshots_free(&ev->heap_series);
}

static void snapshots_keep_between(struct tally_snapshots *s, double from, double to)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->items[i].t >= from && s->items[i].t < to)
            s->items[kept++] = s->items[i];
        else
            proftext_free(s->items[i].p);
    }
    s->n = kept;
}

void tally_evidence_keep_between(struct tally_evidence *ev, double from, double to)
{
    struct tally_snapshots *all[] = {&ev->dumps, &ev->mutex, &ev->block, &ev->heap, &ev->cpu, &ev->heap_series};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        snapshots_keep_between(all[i], from, to);
}

int tally_evidence_load(struct resultdb *db, int64_t run_id, struct tally_evidence *ev, char *err, size_t errlen)
{
    return tally_evidence_load_of(db, run_id, NULL, ev, err, errlen);
}

int tally_evidence_load_of(struct resultdb *db, int64_t run_id, const char *instance, struct tally_evidence *ev,
                           char *err, size_t errlen)
{
    memset(ev, 0, sizeof *ev);
    if (evidence_foreach_of(db, run_id, NULL, instance, load_evidence_item, ev, err, errlen) < 0) {
        tally_evidence_free(ev);
        return -1;
    }
    return 0;
}

static bool is_wrapper(const char *fn)
{
    for (size_t i = 0; i < sizeof wrapper_prefixes / sizeof wrapper_prefixes[0]; i++)
        if (strncmp(fn, wrapper_prefixes[i], strlen(wrapper_prefixes[i])) == 0)
            return true;
    return false;
}

/* Index of the culprit frame: the innermost own frame that is no wrapper; -1 if none. */
static long culprit_index(const struct proftext_entry *e)
{
    for (size_t i = 0; i < e->nframes; i++)
        if (proftext_frame_is_own(&e->frames[i]) && !is_wrapper(e->frames[i].function))
            return (long)i;
    return -1;
}

const char *tally_culprit_of(const struct proftext_entry *e)
{
    long i = culprit_index(e);
    return i < 0 ? NULL : e->frames[i].function;
}

enum wait_kind { WAIT_NONE, WAIT_MUTEX, WAIT_COND, WAIT_SLEEP, WAIT_IO, WAIT_SYSCALL };

/* System calls that move data: a thread inside one is in the kernel, not burning CPU
 * in the service's code (an io thread flushing a reply is caught in write()). */
static const char *const data_syscalls[] = {
    "write", "__write", "__libc_write", "writev", "__writev", "send", "__send", "__libc_send", "sendmsg",
    "read", "__read", "__libc_read", "readv", "recv", "__recv", "__libc_recv", "recvmsg", "__libc_recvmsg",
};

static bool is_data_syscall(const char *fn)
{
    for (size_t i = 0; i < sizeof data_syscalls / sizeof data_syscalls[0]; i++)
        if (strcmp(fn, data_syscalls[i]) == 0)
            return true;
    return false;
}

/* What a thread below its culprit frame is doing: on CPU, or waiting for what. */
static enum wait_kind wait_of(const struct proftext_entry *e)
{
    long k = culprit_index(e);
    bool futex = false;
    if (k < 0)
        k = (long)e->nframes;
    for (long i = 0; i < k; i++) {
        const char *fn = e->frames[i].function;
        if (strstr(fn, "lll_lock_wait") || strstr(fn, "mutex_lock") || strcmp(fn, "lock_contended") == 0)
            return WAIT_MUTEX;
        if (strstr(fn, "cond_wait") || strstr(fn, "cond_timedwait") || strstr(fn, "cond_clockwait"))
            return WAIT_COND;
        if (strstr(fn, "nanosleep"))
            return WAIT_SLEEP;
        if (strstr(fn, "epoll_wait") || strstr(fn, "sigwait") || strstr(fn, "sigtimedwait") ||
            strcmp(fn, "poll") == 0 || strcmp(fn, "__poll") == 0 || strstr(fn, "select") || strstr(fn, "accept"))
            return WAIT_IO;
        if (is_data_syscall(fn))
            return WAIT_SYSCALL;
        if (strstr(fn, "futex"))
            futex = true;
    }
    return futex ? WAIT_COND : WAIT_NONE;
}

static void tally_add(struct tally *t, const char *fn, double count, double at)
{
    size_t i;
    t->total += count;
    if (!fn)
        return;
    for (i = 0; i < t->n; i++)
        if (strcmp(t->e[i].fn, fn) == 0)
            break;
    if (i == t->n) {
        if (t->n == TALLY_MAX)
            return;
        t->n++;
        snprintf(t->e[i].fn, sizeof t->e[i].fn, "%s", fn);
        t->e[i].count = 0;
        t->e[i].samples = 0;
        t->e[i].first_t = at;
    } else if (t->e[i].last_t == at) {
        t->e[i].count += count;  /* another group of the same dump */
        return;
    }
    t->e[i].count += count;
    t->e[i].samples++;
    t->e[i].last_t = at;
}

/* The entry with the largest count, or -1. */
long tally_top(const struct tally *t)
{
    long best = -1;
    for (size_t i = 0; i < t->n; i++)
        if (best < 0 || t->e[i].count > t->e[best].count)
            best = (long)i;
    return best;
}

/* Sums one value of every entry of a profile by culprit. */
void tally_profile(struct tally *t, const struct proftext *p, size_t value, double at)
{
    for (size_t i = 0; i < proftext_count(p); i++) {
        const struct proftext_entry *e = proftext_entry(p, i);
        if (value < e->nvalues)
            tally_add(t, tally_culprit_of(e), (double)e->values[value], at);
    }
}

size_t tally_dumps(const struct tally_snapshots *snapshots, double from, double to, tally_filter keep,
                   tally_filter of, struct tally *t)
{
    size_t dumps = 0;
    memset(t, 0, sizeof *t);
    for (size_t d = 0; d < snapshots->n; d++) {
        const struct tally_snapshot *s = &snapshots->items[d];
        if (s->t < from || s->t > to)
            continue;
        dumps++;
        for (size_t i = 0; i < proftext_count(s->p); i++) {
            const struct proftext_entry *e = proftext_entry(s->p, i);
            if (!keep(e))
                continue;
            if (of(e)) {
                tally_add(t, tally_culprit_of(e), (double)e->values[0], s->t);
                t->matched += (double)e->values[0];
            } else {
                t->total += (double)e->values[0];
            }
        }
    }
    return dumps;
}

bool tally_role_io(const struct proftext_entry *e) { return strcmp(e->role, "io") == 0; }
bool tally_role_worker(const struct proftext_entry *e) { return strcmp(e->role, "worker") == 0; }
bool tally_busy_worker(const struct proftext_entry *e)
{
    return strcmp(e->role, "worker") == 0 && strcmp(e->state, "idle") != 0;
}
bool tally_idle_worker(const struct proftext_entry *e)
{
    return strcmp(e->role, "worker") == 0 && strcmp(e->state, "idle") == 0;
}
bool tally_not_idle_worker(const struct proftext_entry *e) { return !tally_idle_worker(e); }
bool tally_on_cpu(const struct proftext_entry *e) { return wait_of(e) == WAIT_NONE; }
/* Whether a frame below e's culprit is inside pthread_create. */
static bool starts_thread(const struct proftext_entry *e)
{
    static const char *const starting[] = {"pthread_create", "__pthread_create", "___pthread_create",
                                           "__pthread_create_2_1", "pthread_create@@GLIBC_2.34", "allocate_stack",
                                           "create_thread", "clone", "__clone", "clone3", "__clone3",
                                           "__clone_internal"};
    long k = culprit_index(e);
    if (k < 0)
        k = (long)e->nframes;
    for (long i = 0; i < k; i++)
        for (size_t j = 0; j < sizeof starting / sizeof starting[0]; j++)
            if (strcmp(e->frames[i].function, starting[j]) == 0)
                return true;
    return false;
}
bool tally_on_cpu_starting_thread(const struct proftext_entry *e) { return tally_on_cpu(e) && starts_thread(e); }
bool tally_on_cpu_not_starting_thread(const struct proftext_entry *e) { return tally_on_cpu(e) && !starts_thread(e); }
bool tally_waits_cond(const struct proftext_entry *e) { return wait_of(e) == WAIT_COND; }
bool tally_waits_mutex(const struct proftext_entry *e) { return wait_of(e) == WAIT_MUTEX; }
bool tally_always(const struct proftext_entry *e) { return true; }

bool tally_not_debug(const struct proftext_entry *e)
{
    for (size_t i = 0; i < e->nframes; i++)
        if (strcmp(e->frames[i].function, "debug_thread_main") == 0)
            return false;
    return true;
}
