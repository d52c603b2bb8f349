/* faultterm: orderd's fault vocabulary — each fault's name, argument kind, default
 * argument and culprit function — and the grammar of a term, shared by orderd (which
 * sets faults) and loadlab (which checks a scenario's faults when it reads the file,
 * rather than when the service refuses one in the middle of a run).
 *
 * A term follows FreeBSD fail(9): "[P%][N*]on[(ARG)]" or "off". "5%on" fires for 5% of
 * eligible events, "5%100*on" at most 100 times, "on(200us)" always, with argument
 * 200us. The registry that makes a fault fire is orderd's (service/fault.h); this is
 * only the vocabulary, and it holds no state. */
#ifndef LOADLAB_FAULTTERM_H
#define LOADLAB_FAULTTERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hard limit on a term's text from outside (flags, environment, the debug API). */
#define FAULT_TERM_MAX 128

enum fault_id {
    FAULT_LEAK_THREADS, FAULT_LEAK_MEMORY, FAULT_LOCK_CACHE,
    FAULT_QUEUE_STALL, FAULT_QUEUE_BLOCK, FAULT_SLOW, FAULT_SLOW_WORK, FAULT_COUNT
};

/* FAULT_ARG_COUNT: a plain number of iterations (slow.work, an exact amount of work). */
enum fault_arg_kind { FAULT_ARG_NONE, FAULT_ARG_DURATION, FAULT_ARG_SIZE, FAULT_ARG_COUNT };
#define FAULT_MAX_WORK 1000000000

struct fault_term {
    bool on;
    double percent;        /* 0 < percent <= 100; 100 when not given */
    int64_t max_count;     /* -1 when not given: no limit */
    bool has_arg;
    int64_t arg;           /* nanoseconds (UNITS_DURATION_INF for inf), bytes or iterations */
};

/* The fault's name ("lock.cache"), its argument kind, its default argument and the
 * culprit function a correct diagnosis names. */
const char *fault_name(enum fault_id id);
enum fault_arg_kind fault_arg_kind(enum fault_id id);
int64_t fault_default_arg(enum fault_id id);
const char *fault_culprit(enum fault_id id);
/* Returns the id for a name, or -1. */
int fault_lookup(const char *name);

/* Parses a term for fault id (the argument is checked against the fault's kind).
 * Returns 0, or -1 with err naming what is wrong and at which character. */
int fault_term_parse(enum fault_id id, const char *text, struct fault_term *out,
                     char *err, size_t errlen);
/* Writes a term back in canonical form ("5%100*on(200us)", "off"). Returns buf. */
char *fault_term_format(enum fault_id id, const struct fault_term *t, char *buf, size_t buflen);

/* Fills err with "unknown fault 'NAME' (known: leak.threads, ...)". */
void fault_unknown_error(const char *name, char *err, size_t errlen);

#endif
