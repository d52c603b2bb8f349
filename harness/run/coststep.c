/* coststep: the counter, callgrind's prefix and the bounded counted requests. See coststep.h. */
#include "run/coststep.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "units.h"

int coststep_prepare(struct coststep *c, const struct scenario *sc, const char *log_dir, char *err,
                     size_t errlen)
{
    char why[300];

    memset(c, 0, sizeof *c);
    c->kind = sc->counter;
    if (sc->counter_auto && costmeter_detect(&c->kind, why, sizeof why, err, errlen) < 0)
        return -1;
    if (c->kind != COSTMETER_CALLGRIND)
        return 0;
    if ((size_t)snprintf(c->dir, sizeof c->dir, "%s/callgrind", log_dir) >= sizeof c->dir) {
        snprintf(err, errlen, "callgrind folder path too long");
        return -1;
    }
    if (mkdir(c->dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", c->dir, strerror(errno));
        return -1;
    }
    return costmeter_command_prefix(c->kind, c->dir, c->prefix, &c->nprefix, c->buf, sizeof c->buf, err,
                                    errlen);
}

/* The caller's check, then the deadline. */
struct bounded_check {
    int64_t deadline_ns;
    costrun_check_fn check;
    void *user;
    bool late;
};

static int check_in_time(void *user)
{
    struct bounded_check *b = user;
    if (b->check && b->check(b->user) < 0)
        return -1;
    if (units_now_ns() > b->deadline_ns) {
        b->late = true;
        return -1;
    }
    return 0;
}

int coststep_measure(const struct coststep *c, const struct scenario *sc, pid_t pid, const char *public_base,
                     int64_t deadline_ns, costrun_check_fn check, void *user, struct costrun_result *res,
                     char *err, size_t errlen)
{
    struct bounded_check b = {.deadline_ns = deadline_ns, .check = check, .user = user};
    int rc = costrun_measure(sc, c->kind, pid, c->dir, public_base, check_in_time, &b, res, err, errlen);

    if (rc == -2 && b.late) {
        snprintf(err, errlen, "the %u measured requests took longer than duration (%.0fs)", sc->requests,
                 sc->duration_ns / 1e9);
        return -1;
    }
    return rc;
}
