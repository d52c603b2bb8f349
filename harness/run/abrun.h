/* abrun: a paired, interleaved A/B comparison of one scenario (`loadlab run
 * --baseline-env ... --interleave`): both builds run at once, and the load switches
 * between them in short slices, so both see the same machine.
 *
 * The candidate is the scenario's command as it is; the baseline the same command
 * under the --baseline-env assignments (as whole-run ABBA starts it). Each gets its own
 * ports and log folder, is pinned to [service] cpu like the other when the scenario
 * pins, gets the scenario's [service] faults alike, and is warmed up (for [load]
 * warmup, at least one slice) before the first measured slice. Then the load drives
 * one side at a time for one slice; the order within each pair is random
 * (judge/interleave.h), and every regression gate whose figure a slice gives
 * (throughput, a latency percentile, cpu_per_request: the service's process CPU
 * clock over the slice, per request) gets its own group-sequential verdict
 * (judge/sequential.h) from the shared pairs, until each has one or the budget of
 * load is spent (then "inconclusive"); a pair in which a side answered nothing is set
 * aside (judge/interleave.h), and the verdict says so. error_rate is judged on the pooled slices: no
 * error on either side holds; otherwise its ratio of slices means little and the
 * verdict is inconclusive with both rates. A gate that a slice does not measure
 * (metric.*, growth figures) is inconclusive, saying to judge it with whole runs.
 *
 * The load: by default duetload (run/duetload.h), closed-loop connections to both
 * services opened once and kept, of which only the loaded side's send; a slice is
 * 0.5 s by default. One wrk process per side and slice is the other way (whole-second
 * slices; a scenario with a wrk script, or --wrk-slices): it pays wrk's start-up and
 * new connections every slice, which on a busy 2-core machine made two slices of the
 * same build differ several times more than duetload's do.
 *
 * With duet (Bulej et al.'s duet benchmarking), each pair is one slice in which both
 * sides are loaded at once (wrk: two processes started in the pair's random order):
 * whatever the machine does in that slice it does to both.
 *
 * Timed fault phases are refused: a phase is a time on one run's clock, and two
 * interleaved services have no one such clock to share. A service given by URL is
 * refused too: there is no second build to start.
 *
 * Each side is one row in runs (its label, status, log folder); every slice is a row
 * in ab_slices, every verdict a row in regressions with method 'interleaved'.
 * Absolute gates are not judged in this mode (the candidate's run says so). */
#ifndef LOADLAB_ABRUN_H
#define LOADLAB_ABRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "judge/regression.h"
#include "run/runner.h"
#include "run/scenario.h"
#include "store/resultdb.h"

#define ABRUN_MIN_SLICE_NS 100000000LL         /* 100 ms; wrk slices: whole seconds */
#define ABRUN_MAX_SLICE_NS 10000000000LL
#define ABRUN_DEFAULT_SLICE_NS 0                /* by the load: ABRUN_DUET_SLICE_NS or ABRUN_WRK_SLICE_NS */
#define ABRUN_DUET_SLICE_NS 500000000LL
#define ABRUN_WRK_SLICE_NS 1000000000LL
#define ABRUN_DEFAULT_BUDGET_NS 60000000000LL
#define ABRUN_MAX_BUDGET_NS 3600000000000LL

struct abrun_options {
    const char *baseline_label, *candidate_label, *git_rev;
    char *const *baseline_env;       /* NAME=VALUE for the baseline build (checked) */
    size_t nenv;
    const char *wrk_path, *log_root;
    int64_t slice_ns;                /* ABRUN_MIN_SLICE_NS..; 0: by the load (abrun_slice_of) */
    int64_t budget_ns;               /* load of both sides together, at most */
    struct regression_options regression;  /* alpha over the whole comparison, per gate */
    int signal_fd;                   /* from runner_signals_open */
    bool quiet;
    uint64_t seed;                   /* of the order within pairs; 0: from the clock */
    bool duet;                       /* both sides loaded at once in each slice (see above) */
    bool wrk_slices;                 /* one wrk per side and slice, even where duetload could load */
    /* pairs per block (judge/interleave.h): both builds are started afresh every this many
     * pairs and the verdict is on the blocks; 0 or 1: never, every pair a unit;
     * ABRUN_RESTART_DEFAULT: ABRUN_DEFAULT_BLOCK_PAIRS */
    size_t restart_every;
};

#define ABRUN_RESTART_DEFAULT ((size_t)-1)
#define ABRUN_DEFAULT_BLOCK_PAIRS 3
#define ABRUN_MAX_BLOCK_PAIRS 1000

/* The pairs per block opt asks for (1: no blocks). */
size_t abrun_block_pairs(const struct abrun_options *opt);

/* The slice length a comparison of sc uses: opt's, or by default 0.5 s with duetload
 * and 1 s with wrk (sc NULL: as if duetload). */
int64_t abrun_slice_of(const struct scenario *sc, const struct abrun_options *opt);

/* Checks an options' slice and budget (and that the budget's pairs can reach
 * regression.alpha at all); abrun_run checks again with the scenario's load (wrk
 * slices must be whole seconds). Returns 0, or -1 with err filled. */
int abrun_check(const struct abrun_options *opt, char *err, size_t errlen);

/* Whether sc can be compared interleaved under opt (a command, no timed phases, a
 * closed-loop load the slices' load can carry, a slice and budget that fit it).
 * Returns 0, or -1 with err saying why not. */
int abrun_check_scenario(const struct scenario *sc, const struct abrun_options *opt, char *err, size_t errlen);

/* Runs the comparison of sc. out is the candidate's run as the suite reports it
 * (completed and judged with no absolute gate, or aborted/crashed with the reason);
 * each regression verdict is stored and written to results[*n] (advanced; cap its
 * size). Returns 0 (the comparison ran, or stopped with out saying why), or -1 with
 * err filled when not even the run rows could be written. */
int abrun_run(const struct scenario *sc, struct resultdb *db, const struct abrun_options *opt,
              struct runner_outcome *out, struct regression_result *results, size_t *n, size_t cap, char *err,
              size_t errlen);

#endif
