/* faultctl: switching a service's faults over its debug API (PUT and DELETE on
 * /debug/faults/NAME), with each fault that is on recorded as an open phase row.
 *
 * It remembers which faults it turned on, so that a run can clear every one of them at
 * its end (also after a failure) and a service given by URL is left as it was found. */
#ifndef LOADLAB_FAULTCTL_H
#define LOADLAB_FAULTCTL_H

#include <stddef.h>
#include <stdint.h>

#include "base/httpclient.h"
#include "run/scenario.h"
#include "store/resultdb.h"

/* The caller fills the first block (borrowed); the rest starts zeroed. */
struct faultctl {
    struct httpclient *http;
    const char *debug_base;   /* "http://host:port" of the debug API */
    struct resultdb *db;
    int64_t run_id;

    struct {
        char name[64];
        int64_t phase_id;
    } active[SCENARIO_MAX_FAULTS + SCENARIO_MAX_PHASES];
    size_t nactive;
};

/* PUT (term given) or DELETE (term NULL) one fault. Returns 0, or -1 with err filled
 * (the service's answer quoted when it refused). */
int faultctl_call(struct httpclient *http, const char *debug_base, const char *method, const char *fault,
                  const char *term, char *err, size_t errlen);

/* Sets f at time t on behalf of phase ("service" for [service] fault); a term "off"
 * clears it. A fault already on is closed first. Returns 0, or -1 with err filled. */
int faultctl_set(struct faultctl *fc, const char *phase, const struct scenario_fault *f, double t, char *err,
                 size_t errlen);

/* Clears one fault at time t. Returns 0, or -1 with err filled. */
int faultctl_clear(struct faultctl *fc, const char *fault, double t, char *err, size_t errlen);

/* Clears the fault turned on last and forgets it, whatever happens. Returns 0, or -1
 * with err filled (the fault could not be cleared, or its row not closed). */
int faultctl_clear_last(struct faultctl *fc, double t, char *err, size_t errlen);

#endif
