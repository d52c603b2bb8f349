/* runinfo: what the results database says about one run, gathered in one struct for
 * the report — the run row, its gates (with their parsed specs, for formatting and
 * drawing thresholds), its fault phases, its wrk results and its stored diagnosis —
 * plus the run ids a report selection (`RUN|SCENARIO...`) names.
 *
 * Read-only; every string is copied (truncated at the field's size), so a runinfo
 * outlives the statements it came from. */
#ifndef LOADLAB_RUNINFO_H
#define LOADLAB_RUNINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diagnose/diagnose.h"
#include "judge/gate.h"
#include "judge/regression.h"
#include "store/resultdb.h"

#define RUNINFO_MAX_GATES 256
#define RUNINFO_MAX_PHASES 256
#define RUNINFO_MAX_RUNS 100000
#define RUNINFO_MAX_TEXT 1024

struct runinfo_gate {
    char name[GATE_MAX_NAME];
    char threshold_text[GATE_MAX_THRESHOLD_TEXT];
    char unit[16];
    double threshold;            /* base units */
    double observed;             /* NaN when not judged */
    int passed;                  /* 1, 0, or -1 for an error */
    bool expected_to_fail;
    char outcome[40];            /* gate_verdicts' words: held, failed, tripped as expected, ... */
    char error[256];
    char instance[256];          /* a fleet's worst instance, "" when not per instance */
    int instances;               /* of how many it was the worst; 0 when not per instance */
    bool have_spec;              /* spec parsed from name and threshold_text */
    struct gate_spec spec;
};

struct runinfo_phase {
    char phase[64], fault[64], term[128];
    double on_at, off_at;        /* off_at: the end of the steady state when it never went off */
    bool still_on;
};

struct runinfo_load {
    bool present;
    double started_at, duration_s, throughput, error_rate;
    double p50, p75, p90, p99, p999, latency_max;   /* seconds; NaN when none */
    long long requests, errors;
    unsigned connections, threads;
};

struct runinfo {
    int64_t id;
    char scenario[128], scenario_file[RUNINFO_MAX_TEXT], label[256], git_rev[64], host[256];
    char started_at[40], ended_at[40], status[16], verdict[8];
    char exit_reason[RUNINFO_MAX_TEXT], log_dir[RUNINFO_MAX_TEXT], description[RUNINFO_MAX_TEXT];
    char requests_metric[256];   /* the counter its windows came from, or orderd's default */
    char *params;                /* the scenario's settings, JSON; owned */
    double steady_from, steady_to, last_t;       /* NaN when unknown */
    double warmup_s, duration_s, sample_interval_s;  /* from params; NaN when unknown */
    long long service_pid;
    struct runinfo_gate *gates;  /* judged gates, or the scenario's when none were judged */
    size_t ngates;
    bool gates_judged;
    struct runinfo_phase *phases;
    size_t nphases;
    struct runinfo_load warmup, measure;
    /* An open-model load whose generator fell behind its schedule: its latency
     * figures are unreliable (false for wrk's load). */
    bool behind_schedule;
    bool open_model;      /* driven by the open-model generator (it recorded windows), not wrk */
    /* The `diagnoses` rows in the order stored (class "none" for a healthy verdict),
     * at most DIAGNOSE_MAX_FINDINGS; none when the run was never diagnosed or the
     * database predates diagnoses. */
    struct diagnose_finding diagnoses[DIAGNOSE_MAX_FINDINGS];
    size_t ndiagnoses;
    char diagnosed_at[40];
    /* The latest regression verdict of each gate judged with this run on the candidate
     * side (whole runs or interleaved), at most RUNINFO_MAX_REGRESSIONS; owned. */
    struct regression_result *regressions;
    size_t nregressions;
};

/* Loads run id. Returns a new runinfo (free with runinfo_free), or NULL with *missing
 * set when there is no such run (err says so), or NULL with err filled on a database
 * error or out of memory. */
#define RUNINFO_MAX_REGRESSIONS 64

struct runinfo *runinfo_load(struct resultdb *db, int64_t id, bool *missing, char *err, size_t errlen);
void runinfo_free(struct runinfo *run);

/* Counts of the gate outcomes that make a run not meet its expectations. */
size_t runinfo_gates_against_expectation(const struct runinfo *run);

/* True when a run completed and met its expectations. */
bool runinfo_met(const struct runinfo *run);

/* Run ids for a selection, oldest first: each word is a run id (digits) or a scenario
 * name (all its runs); no words selects every run. *ids is a new array the caller
 * frees. Returns 0; 1 when a word matches nothing or the database holds no run (err
 * says which); -1 with err filled on a database error or out of memory. */
int runinfo_select(struct resultdb *db, char *const *words, size_t nwords, int64_t **ids, size_t *n,
                   char *err, size_t errlen);

#endif
