/* outcome_fixture: hand-built suite outcomes. See outcome_fixture.h. */
#include "outcome_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#define HEAD(name)                                                                      \
    "[scenario]\nname = " name "\nduration = 2s\nsample_interval = 250ms\n"             \
    "[service]\ncommand = build/orderd\n[load]\nconnections = 1\npath = /api/products/1\n"

static struct scenario *parse(const char *text)
{
    char err[512];
    struct scenario *sc = scenario_parse(text, strlen(text), OUTCOME_FIXTURE_FILE, err, sizeof err);
    if (!sc)
        fail_msg("scenario: %s", err);
    return sc;
}

static void judge(struct runner_outcome *o, size_t i, double observed, enum gate_verdict verdict)
{
    o->gates[i].spec = &o->scenario->gates[i];
    o->gates[i].observed = observed;
    o->gates[i].verdict = verdict;
    o->gates[i].expected_to_fail = o->scenario->expected_to_fail[i];
    if (i + 1 > o->ngates)
        o->ngates = i + 1;
}

void outcome_fixture_build(struct outcome_fixture *f)
{
    struct runner_outcome *o;

    f->scenarios[0] = parse(HEAD("shop") "[gate]\nthroughput = > 100/s\np99_latency = < 20ms\nerror_rate = < 1%\n"
                                         "[expect]\nfail = error_rate\n");
    f->scenarios[1] = parse(HEAD("crashy") "[gate]\nthroughput = > 100/s\nerror_rate = < 1%\n");
    f->scenarios[2] = parse(HEAD("nogates"));
    f->scenarios[3] = parse(HEAD("broken-gate") "[gate]\nerror_rate = < 1%\n");
    f->outcomes = test_calloc(OUTCOME_FIXTURE_N, sizeof *f->outcomes);
    for (size_t i = 0; i < OUTCOME_FIXTURE_N; i++) {
        f->outcomes[i].scenario = f->scenarios[i];
        f->outcomes[i].run_id = 11 + (int64_t)i;
        f->outcomes[i].wall_s = 2.5;
    }

    o = &f->outcomes[0];
    o->status = RUNNER_COMPLETED;
    o->judged = true;
    o->have_load = true;
    o->load = (struct wrkres){.duration_s = 2, .requests = 1000, .latency_p50 = 0.001, .latency_p99 = 0.05,
                              .latency_mean = NAN};
    judge(o, 0, 500, GATE_PASS);
    judge(o, 1, 0.05, GATE_FAIL);
    judge(o, 2, 0.2, GATE_FAIL);

    o = &f->outcomes[1];
    o->status = RUNNER_CRASHED;
    snprintf(o->reason, sizeof o->reason, "%s", OUTCOME_FIXTURE_HOSTILE);

    o = &f->outcomes[2];
    o->status = RUNNER_COMPLETED;
    o->judged = o->met = true;

    o = &f->outcomes[3];
    o->status = RUNNER_COMPLETED;
    o->judged = true;
    judge(o, 0, NAN, GATE_ERROR);
    snprintf(o->gates[0].detail, sizeof o->gates[0].detail, "%s", OUTCOME_FIXTURE_HOSTILE);
}

void outcome_fixture_free(struct outcome_fixture *f)
{
    for (size_t i = 0; i < OUTCOME_FIXTURE_N; i++)
        scenario_free(f->scenarios[i]);
    test_free(f->outcomes);
    f->outcomes = NULL;
}
