/* abrun's private state and the functions its files call across each other; included
 * only by run/abrun*.c. The public API is run/abrun.h.
 *
 * The files: abrun.c starts both sides, runs the pairs (judge/interleave.h) and turns
 * their results into verdicts; abrun_load.c loads a side (or both) for one slice,
 * either with duetload (connections kept open to both sides, sub-second slices) or
 * with one wrk process per side and slice (whole seconds; for scenarios with a wrk
 * script, or when asked for), and reads the services' CPU time. */
#ifndef LOADLAB_ABRUN_INTERNAL_H
#define LOADLAB_ABRUN_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/httpclient.h"
#include "base/wrkres.h"
#include "judge/interleave.h"
#include "run/abrun.h"
#include "run/duetload.h"
#include "run/faultctl.h"
#include "run/service.h"

#define ABRUN_POLL_MS 50

enum { BASE, CAND };

/* What a slice-judged gate reads from a slice. */
enum figure_source { FROM_THROUGHPUT, FROM_P50, FROM_P75, FROM_P90, FROM_P99, FROM_P999, FROM_CPU };

struct side {
    const char *label;
    int64_t run_id;
    char log_dir[PATH_MAX];
    struct service svc;
    struct faultctl faults;
    uint64_t requests, errors;
};

struct ab {
    const struct scenario *sc;
    const struct abrun_options *opt;
    struct resultdb *db;
    struct httpclient *http;
    struct side side[2];
    struct runner_outcome *out;
    struct duetload *dl;           /* NULL: wrk per slice */
    int64_t slice_ns;              /* the slice length in use */
    int64_t t0_ns;
    size_t nslices;
    double partner[INTERLEAVE_MAX_FIGURES];   /* duet: the second side's figures of the pair */
    bool failed;
    /* the gates judged per slice: index into sc->regressions and what they read */
    size_t gate_of[INTERLEAVE_MAX_FIGURES];
    enum figure_source source[INTERLEAVE_MAX_FIGURES];
    size_t nfigures;
};

/* Marks the comparison failed with status and reason (the first failure wins). */
void abrun_fail(struct ab *ab, enum runner_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Seconds since the first measured slice (0 before it). */
double abrun_since_t0(const struct ab *ab);

/* Waits up to timeout_ms for a signal or service output; watches both services.
 * Returns -1 when the comparison must stop (ab->out says why), else 0. */
int abrun_wait_step(struct ab *ab, int timeout_ms);

/* Whether the comparison of sc loads its slices with wrk: the scenario has a wrk
 * script, or opt asks for wrk slices. */
bool abrun_uses_wrk(const struct scenario *sc, const struct abrun_options *opt);

/* Whether duetload can carry sc's [load] (threads, connections within its limits),
 * before anything starts; wrk slices: always. Returns 0, or -1 with err naming the key
 * and the way out (--wrk-slices). */
int abrun_load_check(const struct scenario *sc, const struct abrun_options *opt, char *err, size_t errlen);

/* Opens duetload to both (started, ready) sides unless wrk loads the slices. Returns 0,
 * or -1 (ab->out says why). */
int abrun_load_open(struct ab *ab);
void abrun_load_close(struct ab *ab);

/* Loads the n sides ks[] at once (wrk: started in that order) for load_ns; res[i] is
 * what was measured against ks[i]. Returns 0, or -1 (the comparison failed, ab->out
 * says why; no wrk is left running). */
int abrun_load(struct ab *ab, const int *ks, size_t n, const char *stage, int64_t load_ns, struct wrkres *res);

#endif
