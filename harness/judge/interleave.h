/* interleave: a paired, interleaved A/B comparison of two running builds.
 *
 * Whole runs of a baseline and a candidate, one after the other, see different
 * machines: a neighbour's compile during one and not the other moves throughput by
 * 6-12% here, more than the regressions worth catching. Both builds run at once
 * instead (pinned alike), and the load switches between them in short slices, two
 * slices a pair, the order within each pair drawn at random (Abedi and Brecht's
 * randomized multiple interleaved trials; duet benchmarking, Bulej et al., runs them
 * truly at once). Whatever disturbed a pair disturbed both of its slices, so the
 * per-pair log ratio cancels it, and a random order keeps a drift within the pair
 * from favouring one side.
 *
 * This module is the schedule and the verdict, not the load: the caller's slice
 * function drives one side for one slice and returns its figure. Pairs are added until
 * the sequential verdict (judge/sequential.h) is clear either way or the budget of
 * pairs is spent. */
#ifndef LOADLAB_INTERLEAVE_H
#define LOADLAB_INTERLEAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "judge/sequential.h"

enum interleave_side { INTERLEAVE_BASELINE, INTERLEAVE_CANDIDATE };

/* Drives side for one slice; stores the slice's figure (e.g. requests per second, or
 * a p99 in seconds) in *figure. pair numbers the pairs run, set-aside ones included
 * (so it names each slice once). Returns 0, or -1 with err filled (the comparison then
 * stops with that error). */
typedef int (*interleave_slice_fn)(void *ctx, enum interleave_side side, size_t pair, double *figure,
                                   char *err, size_t errlen);

struct interleave_options {
    double threshold;        /* the regression to detect, as a ratio (0.05 = 5% worse) */
    bool higher_is_better;   /* throughput: true; latency or cost: false */
    double alpha;            /* false-alarm rate over the whole comparison */
    size_t max_pairs;        /* the budget */
    uint64_t seed;           /* of the order within pairs */
};

struct interleave_result {
    struct sequential_verdict verdict;   /* on the log ratios, positive = candidate worse */
    size_t pairs;
    double ratio, ratio_low, ratio_high; /* candidate/baseline, from the verdict's interval */
    double baseline_median, candidate_median;
    size_t baseline_first;               /* pairs in which the baseline went first */
    size_t voided;                       /* pairs set aside while this figure was judged */
    double confidence;                   /* two-sided level of the interval: 1 - 2 alpha/looks */
    size_t nlooks;                       /* looks planned (the verdict came at one of them) */
    double *log_ratios;                  /* per pair, malloc'd (free with interleave_result_free) */
    size_t units;                        /* what the verdict counted: pairs, or blocks */
};

/* A pair in which a figure still judged is not positive and finite on either side (a
 * slice in which a starved service answered nothing: a ratio of it means nothing) is
 * set aside and another run in its place, at most this many times a comparison; the
 * rule looks at both sides alike, so under no change the pairs kept still favour
 * neither. The set-aside pairs are load beyond the budget. */
#define INTERLEAVE_MAX_VOID_PAIRS 3

/* Runs pairs until a verdict. Returns 0 with *out filled, or -1 with err filled (bad
 * options, a slice that failed, more than INTERLEAVE_MAX_VOID_PAIRS pairs without a
 * usable figure). */
int interleave_run(const struct interleave_options *opt, interleave_slice_fn slice, void *ctx,
                   struct interleave_result *out, char *err, size_t errlen);

void interleave_result_free(struct interleave_result *r);

/* Several figures from the same slices (throughput and p99 of one wrk slice): one
 * schedule of pairs shared by all of them, each figure judged by its own sequential
 * verdict; pairs are added until every figure has a verdict or the budget is spent.
 * A figure that already has its verdict keeps it (later pairs do not reopen it). */
#define INTERLEAVE_MAX_FIGURES 8

typedef int (*interleave_slice_many_fn)(void *ctx, enum interleave_side side, size_t pair, double *figures,
                                        char *err, size_t errlen);

struct interleave_figure {
    double threshold;        /* as interleave_options.threshold */
    bool higher_is_better;
};

/* Called before the first pair of every block but the first (see block_pairs):
 * e.g. starts both builds afresh. Returns 0, or -1 with err filled (the comparison
 * then stops with that error). */
typedef int (*interleave_block_fn)(void *ctx, size_t block, char *err, size_t errlen);

struct interleave_many_options {
    struct interleave_figure figures[INTERLEAVE_MAX_FIGURES];
    size_t nfigures;         /* 1..INTERLEAVE_MAX_FIGURES */
    double alpha;            /* for each figure */
    size_t max_pairs;
    uint64_t seed;
    /* Blocks: two processes of one build differ by a few per cent for as long as they
     * live (where their memory landed, which CPU caches their hot data shares), an
     * offset no pair of slices of the same two processes cancels: judged pair by pair,
     * it reads as a regression as soon as the pairs are precise enough. With
     * block_pairs > 1 the pairs come in blocks of that many, new_block starts a new
     * pair of processes before each block after the first, and the verdict is on the
     * blocks' median log ratios: the processes' luck becomes part of the noise the
     * interval accounts for (Kalibera and Jones's executions over iterations). The
     * budget then holds max_pairs / block_pairs blocks. 0 or 1: every pair its own
     * unit, no new_block. */
    size_t block_pairs;
    interleave_block_fn new_block;
};

/* Runs pairs until every figure has a verdict; slice fills figures[0..nfigures). Fills
 * out[0..nfigures) (free each with interleave_result_free; log_ratios of figure i is
 * allocated for every pair run, its pairs the pairs up to its verdict). Returns 0, or
 * -1 with err filled (as interleave_run; then nothing is left to free). */
int interleave_run_many(const struct interleave_many_options *opt, interleave_slice_many_fn slice, void *ctx,
                        struct interleave_result *out, char *err, size_t errlen);

#endif
