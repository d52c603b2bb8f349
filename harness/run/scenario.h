/* scenario: a load-test scenario, read from an INI file with libinih.
 *
 * Sections: [scenario] [service] [load] [phase.NAME]... [gate] [expect]; the keys are
 * listed in docs/scenarios.md. Every mistake is an error naming file:line: an unknown
 * section or key, a key given twice, a bad duration, a malformed gate, an [expect]
 * naming a gate that does not exist. Nothing is silently ignored, because a scenario
 * whose misspelled threshold is skipped passes CI while testing nothing.
 *
 * libinih hands over key/value pairs but no line numbers (Debian builds it without
 * INI_HANDLER_LINENO), so the file is fed to it line by line through a reader that
 * counts lines, and that also catches what inih would accept quietly: section headers
 * with trailing junk, indented continuation lines, over-long lines (Debian's inih
 * cuts lines at 198 characters, which would split one line into two). */
#ifndef LOADLAB_SCENARIO_H
#define LOADLAB_SCENARIO_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/childproc.h"
#include "judge/gate.h"
#include "run/costmeter.h"

#define SCENARIO_MAX_FILE (1024 * 1024)
#define SCENARIO_MAX_LINE 198
#define SCENARIO_MAX_PHASES 32
#define SCENARIO_MAX_GATES 64
#define SCENARIO_MAX_FAULTS 16
#define SCENARIO_MAX_TEXT 1024
#define SCENARIO_MAX_TARGETS 16
/* The longest duration, warmup, phase time or timeout a file may give: long enough for
 * any soak test, short enough that warmup + duration and every sum the runner makes
 * of them stay far from int64 overflow. */
#define SCENARIO_MAX_DURATION_NS (7 * 24 * 3600 * 1000000000LL)
/* [load] requests: the most measured requests one cost run sends. Under callgrind a
 * request costs the service tens of times its normal time; 100000 is minutes. */
#define SCENARIO_MAX_COST_REQUESTS 100000
#define SCENARIO_MAX_WARMUP_REQUESTS 10000
#define SCENARIO_MAX_DURATION_TEXT "7 days (168h)"
/* [load] request.NAME lines of an open-model mix */
#define SCENARIO_MAX_REQUESTS 16

/* One request shape of an open-model mix: `request.NAME = METHOD PATH [weight=N]
 * [body=TEXT]` (the body runs to the end of the line). */
struct scenario_request {
    char name[64];
    char method[16];
    char path[256];
    char body[SCENARIO_MAX_TEXT];
    unsigned weight;
    int line;
};

struct scenario_fault {
    char name[64];      /* "lock.cache" */
    char term[128];     /* "on(200us)", "off" */
};

struct scenario_phase {
    char name[64];
    int64_t at_ns;            /* from the start of the load (warmup included) */
    int64_t until_ns;         /* -1: stays until the end */
    struct scenario_fault fault;
    int line;
};

struct scenario {
    char file[SCENARIO_MAX_TEXT];
    char name[128];
    char description[SCENARIO_MAX_TEXT];
    int64_t duration_ns, warmup_ns, sample_interval_ns;

    /* [service]: command (spawned), or url (already running) */
    char command[SCENARIO_MAX_TEXT];
    int command_line;
    char url[SCENARIO_MAX_TEXT];        /* may hold {port} with a command; of a list, the first */
    /* `url = A, B, C`: the replicas the load is spread over, one wrk each (loadwrk.h);
     * ntargets is 0 for a single url */
    char targets[SCENARIO_MAX_TARGETS][SCENARIO_MAX_TEXT];
    size_t ntargets;
    char metrics[SCENARIO_MAX_TEXT];    /* may hold {debug_port} with a command */
    char ready[SCENARIO_MAX_TEXT];      /* readiness URL; default: debug base + /readyz */
    char token_file[SCENARIO_MAX_TEXT];
    pid_t pid;                          /* url mode: a local pid to sample in /proc, or 0 */
    int64_t ready_timeout_ns;
    char requests_metric[PROMTEXT_MAX_NAME + 1];
    /* a fleet read through Prometheus instead of scraped: the server's base URL, the
     * label matchers that pick the service's targets ("{job=\"orderd\"}"), and a
     * bearer token file for the server ("" for none); see run/promsource.h */
    char prometheus[SCENARIO_MAX_TEXT];
    char prometheus_selector[SCENARIO_MAX_TEXT];
    char prometheus_token_file[SCENARIO_MAX_TEXT];
    struct scenario_fault faults[SCENARIO_MAX_FAULTS];
    size_t nfaults;

    /* [load] */
    unsigned connections, threads;
    char script[SCENARIO_MAX_TEXT];     /* resolved path, or empty */
    char path[SCENARIO_MAX_TEXT];
    char method[16];
    char body[SCENARIO_MAX_TEXT];
    char content_type[128];
    int64_t timeout_ns;
    /* [load] requests = N: instead of wrk, N measured requests sent one after another
     * over one keep-alive connection, after warmup_requests unmeasured ones, with the
     * service's instructions counted around them (instructions_per_request); 0: wrk */
    unsigned requests, warmup_requests;
    int requests_line;
    bool counter_auto;                  /* [load] counter = auto (the default) */
    enum costmeter_kind counter;        /* else the counter asked for */
    /* [load] rate = R (model = open): the open-model generator (run/openstep.h) at a
     * constant arrival rate instead of wrk; the options as written, checked by
     * openload_config_set ("" for its default), and the request mix (none: the one
     * request of method, path, body) */
    bool open_model;
    char rate[32], arrival[16], max_in_flight[16], lag_limit[16];
    struct scenario_request mix[SCENARIO_MAX_REQUESTS];
    size_t nmix;
    int rate_line;

    struct scenario_phase phases[SCENARIO_MAX_PHASES];
    size_t nphases;

    struct gate_spec gates[SCENARIO_MAX_GATES];
    size_t ngates;

    /* [gate] regression.*: measured on every run, judged across runs against a
     * baseline label (regression module); never part of the run's own verdict */
    struct gate_spec regressions[SCENARIO_MAX_GATES];
    size_t nregressions;

    /* [service] cpu, [load] cpu: the CPUs the spawned service and wrk are pinned to,
     * as written ("" for no pinning) and parsed */
    char service_cpu_list[CHILDPROC_MAX_CPU_LIST + 1], load_cpu_list[CHILDPROC_MAX_CPU_LIST + 1];
    cpu_set_t service_cpus, load_cpus;

    /* [expect] fail = ...: indexes into gates */
    bool expected_to_fail[SCENARIO_MAX_GATES];
};

/* Reads and checks a scenario file. Returns a new scenario (free with scenario_free),
 * or NULL with err holding "file:line: message" (or "file: message" for what has no
 * line, such as a missing required key or an unreadable file). */
struct scenario *scenario_load(const char *path, char *err, size_t errlen);

/* The same, from text in memory; file is the name errors carry. */
struct scenario *scenario_parse(const char *text, size_t len, const char *file,
                                char *err, size_t errlen);

void scenario_free(struct scenario *sc);

/* The open model's generator configuration for one stage of duration_ns against
 * target ("127.0.0.1:PORT"): rate, arrival, max_in_flight, connections, threads, cpu,
 * timeout and the request mix of [load]. Returns a new configuration (free with
 * openload_config_free), or NULL with err filled (naming the key at fault). */
struct openload_config *scenario_open_config(const struct scenario *sc, const char *target, int64_t duration_ns,
                                             char *err, size_t errlen);

/* "http://HOST:PORT[/...]" -> "HOST:PORT" in out, the open model's target.
 * Returns 0, or -1 when url is not of that form or too long. */
int scenario_open_target(const char *url, char *out, size_t outlen);

/* The whole load time: warmup + duration. */
int64_t scenario_load_ns(const struct scenario *sc);

/* The scenario's settings as a JSON object (recorded with each run). Returns a new
 * string the caller frees, or NULL when out of memory. */
char *scenario_params_json(const struct scenario *sc);

/* The digest of what makes two runs of a scenario comparable, into out (16 hex
 * digits, judge/baselinefile): durations and sample interval; the load (connections,
 * threads, the wrk script's text, path, method, body, content type, timeout, requests,
 * warmup requests, counter); the faults of [service] and the phases; every gate with
 * its threshold and expectation. Not the name, description, service command or its
 * CPUs, label or machine: a baseline file names those separately, and a build under
 * test is a different command by design. Returns 0, or -1 when out of memory. */
int scenario_definition_digest(const struct scenario *sc, char out[17]);

#endif
