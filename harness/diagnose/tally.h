/* tally: what the captured evidence says about who is to blame — the thread dumps
 * and profiles of a run parsed once, each stack's culprit frame, what a thread is
 * waiting for, and counts (threads, contention, live bytes) per culprit.
 *
 * The culprit of a stack is the innermost frame of the service's own code that is
 * not one of its wrappers around a wait, an allocation, the clock or logging
 * (lockprof_*, heapprof_*, threads_*, units_*...), the way pprof hides Go's runtime
 * frames. Only thread dumps and the mutex, block, heap and CPU profiles are read: vars,
 * logs and notes are for people, and /debug/faults is the answer key a diagnosis must
 * not peek at. */
#ifndef LOADLAB_TALLY_H
#define LOADLAB_TALLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diagnose/proftext.h"
#include "store/resultdb.h"

#define TALLY_MAX 64
/* Items of each kind kept from one run; the rest are not read. */
#define TALLY_MAX_SNAPSHOTS 4096

/* One parsed item of evidence. */
struct tally_snapshot {
    double t;
    char reason[96];
    struct proftext *p;
};

struct tally_snapshots {
    struct tally_snapshot *items;  /* in the order captured */
    size_t n, cap;
};

struct tally_evidence {
    /* cpu: CPU profiles, each at the time it started; tally_dumps reads them as
     * dumps whose count is samples (every thread in one is running) */
    struct tally_snapshots dumps, mutex, block, heap, cpu;
    /* the capture's periodic heap profiles (every other periodic dump), apart from
     * the snapshots' (heap) that the other rules read */
    struct tally_snapshots heap_series;
};

/* Counts per culprit function. */
struct tally {
    struct {
        char fn[128];
        double count;
        size_t samples;        /* dumps or profiles it was seen in */
        double first_t, last_t;
    } e[TALLY_MAX];
    size_t n;
    double total;     /* every thread sample looked at */
    double matched;   /* those the filter picked, culprit or not */
};

/* Reads and parses run run_id's thread dumps and profiles into ev (emptied first;
 * release with tally_evidence_free). Returns 0, or -1 with err filled (a database
 * error, corrupt evidence, out of memory). */
int tally_evidence_load(struct resultdb *db, int64_t run_id, struct tally_evidence *ev, char *err, size_t errlen);

/* The same for the evidence taken from one instance of a fleet (NULL: all of it). */
int tally_evidence_load_of(struct resultdb *db, int64_t run_id, const char *instance, struct tally_evidence *ev,
                           char *err, size_t errlen);
void tally_evidence_free(struct tally_evidence *ev);

/* Frees the snapshots of ev taken outside from <= t < to, keeping the others in
 * order: the evidence of one segment of a run whose service restarted. */
void tally_evidence_keep_between(struct tally_evidence *ev, double from, double to);

/* The culprit function of a stack, or NULL when it has no frame of the service's own
 * that is not a wrapper. Owned by e. */
const char *tally_culprit_of(const struct proftext_entry *e);

/* The entry with the largest count, or -1 when t is empty. */
long tally_top(const struct tally *t);

/* Sums value number `value` of every entry of profile p (taken at time at) by culprit
 * into t. */
void tally_profile(struct tally *t, const struct proftext *p, size_t value, double at);

/* Which thread samples a tally looks at (keep) and which it counts (of). */
typedef bool (*tally_filter)(const struct proftext_entry *e);
bool tally_role_io(const struct proftext_entry *e);
bool tally_role_worker(const struct proftext_entry *e);
bool tally_busy_worker(const struct proftext_entry *e);
/* A worker labelled idle: waiting for work, which is no problem however long. */
bool tally_idle_worker(const struct proftext_entry *e);
bool tally_not_idle_worker(const struct proftext_entry *e);
/* Running: no wait below the culprit frame, and not inside a read or write system call. */
bool tally_on_cpu(const struct proftext_entry *e);
/* Running inside pthread_create below the culprit frame (allocating the new thread's
 * stack, copying its TLS, the clone call): the cost of starting a thread. */
bool tally_on_cpu_starting_thread(const struct proftext_entry *e);
bool tally_on_cpu_not_starting_thread(const struct proftext_entry *e);
bool tally_waits_cond(const struct proftext_entry *e);
bool tally_waits_mutex(const struct proftext_entry *e);
bool tally_always(const struct proftext_entry *e);
/* Not on the debug port's thread (a frame debug_thread_main): that thread's CPU is the
 * harness's own observing - taking the dumps and arming the CPU profile's timer on each
 * thread, which with 1,500 leaked threads is the profile's top function. */
bool tally_not_debug(const struct proftext_entry *e);

/* Fills t (emptied first) with the thread samples of the dumps taken in from <= t <=
 * to that keep picks: those that of also picks per culprit (and in t->matched), the
 * rest in t->total only. Returns how many dumps were looked at. */
size_t tally_dumps(const struct tally_snapshots *dumps, double from, double to, tally_filter keep, tally_filter of,
                   struct tally *t);

#endif
