/* costrun: the measured part of a cost run ([load] requests = N) — a few unmeasured
 * requests to warm the service up, then the instruction counter begun, exactly N
 * requests sent one after another over one keep-alive connection, and the counter
 * ended, giving instructions_per_request = count / N.
 *
 * One request at a time because under callgrind the service runs tens of times slower
 * and concurrency would only add scheduling (and lock-contention) instructions that
 * differ from run to run; a fixed number of requests because an instruction count is
 * a sum, and the same requests must be summed on both sides of a comparison. A
 * request answered with a status of 400 or more makes the figure an error: the
 * instructions of an error path are not the cost of the request under test. */
#ifndef LOADLAB_COSTRUN_H
#define LOADLAB_COSTRUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "run/costmeter.h"
#include "run/scenario.h"

/* Called between requests; returns -1 to stop (an interrupt, the service gone), else 0. */
typedef int (*costrun_check_fn)(void *user);

struct costrun_result {
    enum costmeter_kind kind;
    uint64_t count;                     /* instructions over the measured requests */
    unsigned requests;                  /* measured requests sent */
    unsigned threads;                   /* hardware counter: threads counted */
    double instructions_per_request;
    double seconds;                     /* wall time of the measured requests */
};

/* Sends sc's warmup_requests and then its requests to public_base + sc's path, counting
 * the instructions of process pid with counter kind (for callgrind the service must run
 * under costmeter_command_prefix with out_dir). check (may be NULL) is called between
 * requests with user. Returns 0 with *res filled, -1 with err filled (a request failed
 * or was answered >= 400, the counter failed), or -2 when check said stop. */
int costrun_measure(const struct scenario *sc, enum costmeter_kind kind, pid_t pid, const char *out_dir,
                    const char *public_base, costrun_check_fn check, void *user, struct costrun_result *res,
                    char *err, size_t errlen);

#endif
