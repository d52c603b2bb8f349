/* coststep: the runner's step for a [load] requests run — choosing the instruction
 * counter once for the run, for callgrind the folder for its dumps and the words that
 * start the service under it, and then the counted requests (costrun.h) held to the
 * scenario's duration.
 *
 * Kept apart from the runner because none of it needs the run's loop: the runner
 * passes in what the step reads (the scenario, the log folder, the service's pid and
 * URL, the clock's deadline) and a check that keeps its loop turning between requests. */
#ifndef LOADLAB_COSTSTEP_H
#define LOADLAB_COSTSTEP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "run/costmeter.h"
#include "run/costrun.h"
#include "run/scenario.h"

/* What coststep_prepare chose; owned by the caller, the prefix points into buf. */
struct coststep {
    enum costmeter_kind kind;
    char dir[PATH_MAX];                 /* callgrind's dumps: LOG_DIR/callgrind */
    char buf[PATH_MAX + 128];
    char *prefix[COSTMETER_MAX_ARGS];   /* words before the service's command, or none */
    size_t nprefix;
};

/* Fills *c for scenario sc (which must have requests set): the counter (detected when
 * the scenario says auto) and, for callgrind, creates log_dir/callgrind and the prefix.
 * Returns 0, or -1 with err filled; *c is then not to be used. */
int coststep_prepare(struct coststep *c, const struct scenario *sc, const char *log_dir, char *err,
                     size_t errlen);

/* Counts sc's requests to public_base on process pid with the counter c chose; check
 * (may be NULL) is called with user between requests, and the requests must end
 * before deadline_ns (units_now_ns clock). Returns 0 with *res filled, -1 with err
 * filled (a request or the counter failed, or the deadline passed), or -2 when check
 * said stop. */
int coststep_measure(const struct coststep *c, const struct scenario *sc, pid_t pid, const char *public_base,
                     int64_t deadline_ns, costrun_check_fn check, void *user, struct costrun_result *res,
                     char *err, size_t errlen);

#endif
