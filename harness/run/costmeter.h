/* costmeter: how many instructions the service executed for the measured requests.
 *
 * Throughput and CPU time move 6-12% from run to run on a shared machine; an
 * instruction count does not move with the neighbours (SQLite tracks its performance
 * this way, under cachegrind). Two counters, never mixed in one comparison:
 *  - "hw-instructions": the CPU's retired-instruction counter through perf_event_open,
 *    user space only, one counter per thread of the service (the threads alive when
 *    the count begins; a thread started later is not counted, which the caller is told
 *    by the thread count at begin and end). Fast; needs a machine that exposes hardware
 *    counters (many VMs do not).
 *  - "callgrind": the service runs under valgrind's callgrind with instrumentation off
 *    from the start; begin zeroes the counts and switches it on, end switches it off
 *    and dumps, and the dump's total is the count. Works everywhere valgrind does, at
 *    20-50x the service's normal cost, so it is for a fixed, modest number of requests
 *    at low concurrency; the count then repeats to a few parts per million.
 * A counter kind is chosen once per comparison (costmeter_detect) and recorded with
 * each figure, so a baseline counted one way is never compared with a candidate
 * counted the other. */
#ifndef LOADLAB_COSTMETER_H
#define LOADLAB_COSTMETER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum costmeter_kind {
    COSTMETER_HW_INSTRUCTIONS,
    COSTMETER_CALLGRIND,
    /* The task clock in nanoseconds, through the same per-thread perf plumbing as the
     * hardware counter: available on every Linux, so that plumbing can be tested on a
     * machine without hardware counters. Not an instruction count; not for gates. */
    COSTMETER_TASK_CLOCK,
};

#define COSTMETER_MAX_THREADS 4096
#define COSTMETER_MAX_ARGS 16

struct costmeter;

/* "hw-instructions", "callgrind", "task-clock". */
const char *costmeter_kind_name(enum costmeter_kind kind);

/* Parses a kind name as costmeter_kind_name writes it, or "auto". Returns 0, 1 for
 * "auto", or -1 with err filled naming the text. */
int costmeter_parse_kind(const char *text, enum costmeter_kind *kind, char *err, size_t errlen);

/* The counter this machine gives for instructions: hardware when perf_event_open opens
 * one, else callgrind when valgrind is installed. Returns 0 with *kind set, or -1 with
 * err saying why neither is available. why (when non-NULL) gets why hardware counters
 * are not used, for the run's record. */
int costmeter_detect(enum costmeter_kind *kind, char *why, size_t whylen, char *err, size_t errlen);

/* For COSTMETER_CALLGRIND: the words to put before the service's command so it runs
 * under callgrind with instrumentation off, writing its dumps into out_dir (which must
 * exist). Fills argv[0..*argc) with pointers into buf (bufsize bytes). For the other
 * kinds *argc is 0. Returns 0, or -1 with err filled (buffer too small). */
int costmeter_command_prefix(enum costmeter_kind kind, const char *out_dir, char **argv, size_t *argc,
                             char *buf, size_t bufsize, char *err, size_t errlen);

/* A meter of the service process pid (for callgrind, started with the prefix above
 * and out_dir; ignored by the other kinds). Returns a meter to free with
 * costmeter_free, or NULL with err filled. */
struct costmeter *costmeter_new(enum costmeter_kind kind, pid_t pid, const char *out_dir, char *err,
                                size_t errlen);
void costmeter_free(struct costmeter *m);

/* Starts counting from zero. Returns 0, or -1 with err filled (the process is gone,
 * perf_event_open refused, callgrind_control failed). */
int costmeter_begin(struct costmeter *m, char *err, size_t errlen);

/* Stops counting and stores the count since costmeter_begin in *count (instructions,
 * or nanoseconds for the task clock), and in *threads the number of threads counted
 * (0 for callgrind, which counts every thread the service has).
 * Returns 0, or -1 with err filled. */
int costmeter_end(struct costmeter *m, uint64_t *count, unsigned *threads, char *err, size_t errlen);

#endif
