/* schedule: the order of one `loadlab run` call's runs when scenarios are repeated
 * (--repeat N) and a baseline build is run alongside the candidate (--baseline-env),
 * and the environment a baseline run gets.
 *
 * On a shared machine the load from neighbours drifts over minutes, so runs that are
 * compared must not be taken in blocks (all baseline, then all candidate: the drift
 * becomes the "regression"). Repetitions go round by round; within a round each
 * scenario's baseline and candidate run back to back, in the order ABBA over two
 * rounds, so that a drift that is linear over a pair of rounds hits both sides alike;
 * the scenarios' order turns by one each round, so none always runs first. The
 * baseline build is chosen through the environment (the scenario's command reads
 * `${ORDERD_BIN}` and the service inherits the rest, ORDERD_FAULTS for one), set for
 * a baseline run and put back after it. */
#ifndef LOADLAB_SCHEDULE_H
#define LOADLAB_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>

#define SCHEDULE_MAX_REPEAT 100
#define SCHEDULE_MAX_RUNS 1000
#define SCHEDULE_MAX_ENV 16

struct schedule_entry {
    size_t scenario;       /* index into the call's scenarios */
    unsigned round;        /* repetition, from 0 */
    bool baseline;         /* a run of the baseline build */
};

/* The order of runs for nscenarios scenarios, repeat rounds, with or without
 * baseline runs. Returns a new array of *n entries (free it), or NULL with err filled
 * (more than SCHEDULE_MAX_RUNS runs, repeat out of 1..SCHEDULE_MAX_REPEAT, out of
 * memory). */
struct schedule_entry *schedule_build(size_t nscenarios, unsigned repeat, bool with_baseline,
                                      size_t *n, char *err, size_t errlen);

/* Checks one NAME=VALUE assignment (NAME a shell variable name; VALUE may be empty).
 * Returns 0, or -1 with err filled. */
int schedule_env_check(const char *assignment, char *err, size_t errlen);

struct schedule_env;

/* Sets the n assignments (already checked) in this process's environment, which the
 * scenario's command line and every child see, and remembers what they replaced.
 * Returns the saved state (give it to schedule_env_restore), or NULL with err filled
 * (out of memory, setenv failed; then nothing is changed). */
struct schedule_env *schedule_env_apply(char *const *assignments, size_t n, char *err, size_t errlen);

/* Puts back what schedule_env_apply replaced and frees saved. NULL is a no-op. */
void schedule_env_restore(struct schedule_env *saved);

#endif
