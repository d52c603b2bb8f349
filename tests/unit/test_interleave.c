/* Unit tests for interleave on a simulated machine: interference shared by both slices
 * of a pair (a noisy neighbour, a drift), a penalty for going first, and a candidate of
 * known true ratio. The schedule must cancel what both sides saw, keep the false-alarm
 * rate, and find a real loss within the budget. The slice function is a simulation:
 * the real one drives a service with wrk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/significance.h"
#include "judge/interleave.h"

static char err[256];

struct machine {
    uint64_t rng;
    double true_ratio;       /* candidate / baseline throughput */
    double shared_noise;     /* per-pair interference, both slices */
    double own_noise;        /* per-slice */
    double first_penalty;    /* the first slice of a pair runs this much slower */
    double drift;            /* per pair */
    size_t pair;
    double pair_factor;
    int slices_in_pair;
    int fail_at_slice;       /* 0: never */
    int slices;
    double force_figure;     /* non-zero: every figure is this */
    double process_sd;       /* each process's own lasting offset (log sd), drawn at its start */
    double offset[2];        /* the current processes' offsets, baseline and candidate */
    int blocks_started;
};

/* interleave's new_block: both sides' processes started afresh, new offsets. */
static int new_processes(void *ctx, size_t block, char *e, size_t elen)
{
    struct machine *m = ctx;
    (void)e;
    (void)elen;
    assert_int_equal(block, (size_t)m->blocks_started + 1);
    m->blocks_started++;
    for (int k = 0; k < 2; k++)
        m->offset[k] = m->process_sd * significance_rng_normal(&m->rng);
    return 0;
}

static int slice(void *ctx, enum interleave_side side, size_t pair, double *figure, char *e, size_t elen)
{
    struct machine *m = ctx;
    if (++m->slices == m->fail_at_slice) {
        snprintf(e, elen, "wrk exited with status 1");
        return -1;
    }
    if (m->force_figure != 0) {
        *figure = m->force_figure;
        return 0;
    }
    if (pair != m->pair || m->slices_in_pair == 0) {
        m->pair = pair;
        m->slices_in_pair = 0;
        m->pair_factor = exp(m->shared_noise * significance_rng_normal(&m->rng)) * (1 - m->drift * (double)pair);
    }
    double f = 40000 * m->pair_factor * exp(m->own_noise * significance_rng_normal(&m->rng));
    if (m->slices_in_pair == 0)
        f *= 1 - m->first_penalty;
    if (side == INTERLEAVE_CANDIDATE)
        f *= m->true_ratio;
    f *= exp(m->offset[side == INTERLEAVE_CANDIDATE]);
    m->slices_in_pair = (m->slices_in_pair + 1) % 2;
    *figure = f;
    return 0;
}

static struct interleave_options options(uint64_t seed)
{
    return (struct interleave_options){.threshold = 0.05, .higher_is_better = true, .alpha = 0.05,
                                       .max_pairs = 30, .seed = seed};
}

static void test_interleave_holds_alpha_under_heavy_shared_noise(void **state)
{
    int alarms = 0, cleared = 0;
    (void)state;
    for (int trial = 0; trial < 100; trial++) {
        /* 15% per-pair interference, drift, a first-slice penalty: none of it is a regression */
        struct machine m = {.rng = 1000 + (uint64_t)trial, .true_ratio = 1, .shared_noise = 0.15,
                            .own_noise = 0.01, .first_penalty = 0.05, .drift = 0.005};
        struct interleave_options o = options((uint64_t)trial + 1);
        struct interleave_result r;
        assert_int_equal(interleave_run(&o, slice, &m, &r, err, sizeof err), 0);
        alarms += r.verdict.decision == SEQUENTIAL_REGRESSION;
        cleared += r.verdict.decision == SEQUENTIAL_NO_REGRESSION;
        assert_true(r.baseline_first <= r.pairs);
        interleave_result_free(&r);
    }
    assert_true(alarms <= 5);
    assert_true(cleared >= 50); /* and most comparisons say so before the budget */
}

static void test_interleave_finds_a_loss_hidden_in_shared_noise(void **state)
{
    int found = 0;
    size_t pairs = 0, first = 0;
    (void)state;
    for (int trial = 0; trial < 100; trial++) {
        struct machine m = {.rng = 5000 + (uint64_t)trial, .true_ratio = 0.90, .shared_noise = 0.15,
                            .own_noise = 0.01, .first_penalty = 0.05, .drift = 0.005};
        struct interleave_options o = options((uint64_t)trial + 77);
        struct interleave_result r;
        assert_int_equal(interleave_run(&o, slice, &m, &r, err, sizeof err), 0);
        if (r.verdict.decision == SEQUENTIAL_REGRESSION) {
            found++;
            assert_true(r.ratio < 0.95 && r.ratio > 0.85);
            assert_true(r.ratio_low <= r.ratio && r.ratio <= r.ratio_high);
        }
        pairs += r.pairs;
        first += r.baseline_first;
        interleave_result_free(&r);
    }
    assert_true(found >= 95);
    /* the order within pairs is drawn, not fixed */
    assert_true(first * 10 > pairs * 3 && first * 10 < pairs * 7);
}

/* Latency: lower is better, a doubling is found and the ratio reads as 2. */
static void test_interleave_lower_is_better(void **state)
{
    struct machine m = {.rng = 3, .true_ratio = 2, .shared_noise = 0.2, .own_noise = 0.05};
    struct interleave_options o = options(9);
    struct interleave_result r;
    (void)state;
    o.higher_is_better = false;
    assert_int_equal(interleave_run(&o, slice, &m, &r, err, sizeof err), 0);
    assert_int_equal(r.verdict.decision, SEQUENTIAL_REGRESSION);
    assert_true(r.ratio > 1.8 && r.ratio < 2.2);
    assert_true(r.candidate_median > r.baseline_median);
    interleave_result_free(&r);
}

static void test_interleave_stops_on_a_failed_or_meaningless_slice(void **state)
{
    struct machine m = {.rng = 3, .true_ratio = 1, .fail_at_slice = 5};
    struct interleave_options o = options(1);
    struct interleave_result r;
    (void)state;
    assert_int_equal(interleave_run(&o, slice, &m, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "wrk exited"));
    assert_null(r.log_ratios);
    m = (struct machine){.rng = 3, .true_ratio = 1, .force_figure = -0.0};
    m.force_figure = NAN;
    assert_int_equal(interleave_run(&o, slice, &m, &r, err, sizeof err), -1);
    /* every pair without a ratio: set aside up to the limit, then the comparison stops */
    assert_int_equal(m.slices, 2 * (INTERLEAVE_MAX_VOID_PAIRS + 1));
    assert_non_null(strstr(err, "positive figure"));
    o.threshold = 0;
    assert_int_equal(interleave_run(&o, slice, &m, &r, err, sizeof err), -1);
    o = options(1);
    o.max_pairs = 2;
    assert_int_equal(interleave_run(&o, slice, &m, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "pairs"));
}

/* The machine of slice, but the slices numbered in zero_slices give 0 (a starved side
 * that answered nothing in its slice). */
struct starving {
    struct machine m;
    int zero_slices[4];
    size_t last_pair;
};

static int starving_slice(void *ctx, enum interleave_side side, size_t pair, double *figure, char *e, size_t elen)
{
    struct starving *s = ctx;
    if (slice(&s->m, side, pair, figure, e, elen) < 0)
        return -1;
    for (size_t i = 0; i < 4; i++)
        if (s->zero_slices[i] == s->m.slices)
            *figure = 0;
    s->last_pair = pair;
    return 0;
}

static void test_interleave_sets_aside_a_pair_without_a_ratio(void **state)
{
    /* slice 3 (pair 2) and slice 8 (pair 4) answered nothing; the true loss is 20% */
    struct starving s = {.m = {.rng = 11, .true_ratio = 0.8, .shared_noise = 0.05, .own_noise = 0.01},
                         .zero_slices = {3, 8}};
    struct interleave_options o = options(9);
    struct interleave_result r;
    (void)state;
    assert_int_equal(interleave_run(&o, starving_slice, &s, &r, err, sizeof err), 0);
    assert_int_equal(r.voided, 2);
    assert_int_equal(r.verdict.decision, SEQUENTIAL_REGRESSION);
    /* the slices are numbered by the pairs run, the set-aside ones included */
    assert_int_equal(s.last_pair + 1, r.pairs + 2);
    for (size_t i = 0; i < r.pairs; i++)
        assert_true(isfinite(r.log_ratios[i]));
    interleave_result_free(&r);
}

/* Two figures from the same slices: throughput unchanged, latency doubled. Each gets
 * its own verdict from the shared pairs; the latency verdict comes first and stays. */
static int two_figures(void *ctx, enum interleave_side side, size_t pair, double *figures, char *e, size_t elen)
{
    struct machine *m = ctx;
    if (slice(ctx, side, pair, &figures[0], e, elen) < 0)
        return -1;
    figures[1] = 0.01 * m->pair_factor * (side == INTERLEAVE_CANDIDATE ? 2 : 1);
    return 0;
}

static void test_interleave_many_judges_each_figure_on_shared_pairs(void **state)
{
    struct machine m = {.rng = 5, .true_ratio = 1, .shared_noise = 0.2, .own_noise = 0.01};
    struct interleave_many_options o = {
        .figures = {{.threshold = 0.05, .higher_is_better = true}, {.threshold = 0.10, .higher_is_better = false}},
        .nfigures = 2, .alpha = 0.05, .max_pairs = 60, .seed = 4,
    };
    struct interleave_result r[2];
    (void)state;
    assert_int_equal(interleave_run_many(&o, two_figures, &m, r, err, sizeof err), 0);
    assert_int_equal(r[0].verdict.decision, SEQUENTIAL_NO_REGRESSION);
    assert_int_equal(r[1].verdict.decision, SEQUENTIAL_REGRESSION);
    assert_true(r[1].pairs <= r[0].pairs);
    assert_true(r[1].ratio > 1.9 && r[1].ratio < 2.1);
    assert_true(r[0].ratio > 0.97 && r[0].ratio < 1.03);
    /* the slices stopped once both had a verdict, before the budget */
    assert_int_equal((size_t)m.slices, 2 * r[0].pairs);
    assert_true(r[0].pairs < 60);
    interleave_result_free(&r[0]);
    interleave_result_free(&r[1]);
    o.nfigures = 0;
    assert_int_equal(interleave_run_many(&o, two_figures, &m, r, err, sizeof err), -1);
}

static int many_from_one(void *ctx, enum interleave_side side, size_t pair, double *figures, char *e, size_t elen)
{
    return slice(ctx, side, pair, &figures[0], e, elen);
}

/* Two processes of one build differ by a few per cent for as long as they live. Judged
 * pair by pair, precise slices turn that offset into false alarms; in blocks, each
 * with new processes, the verdict is on the blocks and the offsets are noise it
 * accounts for: the false-alarm rate holds, and a 10% loss is still found. */
static void test_interleave_blocks_of_new_processes_hold_alpha_against_process_offsets(void **state)
{
    int pairwise_alarms = 0, block_alarms = 0, found = 0;
    const int trials = 200;
    (void)state;
    for (int t = 0; t < trials; t++) {
        for (int blocks = 0; blocks < 2; blocks++) {
            struct machine m = {.rng = 1000 + (uint64_t)t, .true_ratio = 1, .own_noise = 0.01, .process_sd = 0.03};
            struct interleave_many_options o = {
                .figures = {{.threshold = 0.05, .higher_is_better = true}}, .nfigures = 1, .alpha = 0.05,
                .max_pairs = 30, .seed = 77 + (uint64_t)t, .block_pairs = blocks ? 3 : 0,
                .new_block = blocks ? new_processes : NULL};
            struct interleave_result r;
            new_processes(&m, 1, err, sizeof err);   /* the first processes' offsets */
            m.blocks_started = 0;
            assert_int_equal(interleave_run_many(&o, many_from_one, &m, &r, err, sizeof err), 0);
            if (r.verdict.decision == SEQUENTIAL_REGRESSION)
                *(blocks ? &block_alarms : &pairwise_alarms) += 1;
            if (blocks) {
                /* a new pair of processes before every block after the first */
                assert_int_equal(m.blocks_started, (int)((r.pairs + 2) / 3) - 1);
                assert_int_equal(r.units, r.pairs / 3);
            }
            interleave_result_free(&r);
        }
        struct machine m = {.rng = 5000 + (uint64_t)t, .true_ratio = 0.90, .own_noise = 0.01, .process_sd = 0.03};
        struct interleave_many_options o = {
            .figures = {{.threshold = 0.05, .higher_is_better = true}}, .nfigures = 1, .alpha = 0.05,
            .max_pairs = 30, .seed = 99 + (uint64_t)t, .block_pairs = 3, .new_block = new_processes};
        struct interleave_result r;
        new_processes(&m, 1, err, sizeof err);
        m.blocks_started = 0;
        assert_int_equal(interleave_run_many(&o, many_from_one, &m, &r, err, sizeof err), 0);
        found += r.verdict.decision == SEQUENTIAL_REGRESSION;
        interleave_result_free(&r);
    }
    print_message("process offsets (sd 3%%): false alarms pair by pair %d/%d, in blocks %d/%d; "
                  "a 10%% loss found in blocks %d/%d\n", pairwise_alarms, trials, block_alarms, trials, found, trials);
    assert_true(pairwise_alarms > trials / 10);          /* the problem blocks solve */
    assert_true(block_alarms <= trials * 5 / 100 + 4);   /* alpha, with room for chance */
    assert_true(found >= trials * 8 / 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interleave_blocks_of_new_processes_hold_alpha_against_process_offsets),
        cmocka_unit_test(test_interleave_holds_alpha_under_heavy_shared_noise),
        cmocka_unit_test(test_interleave_finds_a_loss_hidden_in_shared_noise),
        cmocka_unit_test(test_interleave_lower_is_better),
        cmocka_unit_test(test_interleave_stops_on_a_failed_or_meaningless_slice),
        cmocka_unit_test(test_interleave_sets_aside_a_pair_without_a_ratio),
        cmocka_unit_test(test_interleave_many_judges_each_figure_on_shared_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
