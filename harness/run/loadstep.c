/* loadstep: a stage of load by wrk or by the open-model generator. See loadstep.h. */
#include "run/loadstep.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int loadstep_start(struct loadstep *l, const struct scenario *sc, const char *wrk_path, const char *public_base,
                   const char *log_dir, const char *stage, int64_t load_ns, int64_t t0_ns, double *started_at,
                   char *err, size_t errlen)
{
    l->sc = sc;
    if (sc->open_model)
        return openstep_start(&l->open, sc, public_base, load_ns, t0_ns, started_at, err, errlen);
    return loadwrk_group_spawn(sc, wrk_path, public_base, log_dir, stage, load_ns, &l->wrk, err, errlen);
}

bool loadstep_running(const struct loadstep *l)
{
    return l->wrk.running || l->open.running;
}

bool loadstep_poll(struct loadstep *l)
{
    return (l->wrk.running && loadwrk_group_poll(&l->wrk)) || openstep_poll(&l->open);
}

int loadstep_collect(struct loadstep *l, struct resultdb *db, int64_t run_id, const char *log_dir, const char *stage,
                     double started_at, struct wrkres *res, char *note, size_t notelen, char *err, size_t errlen)
{
    note[0] = '\0';
    if ((l->sc->open_model ? openstep_finish(&l->open, db, run_id, stage, started_at, res, note, notelen, err, errlen)
                           : loadwrk_group_collect(&l->wrk, log_dir, stage, res, err, errlen)) < 0)
        return -1;
    return resultdb_load_result(db, run_id, stage, started_at, l->sc->connections, l->sc->threads, res, err,
                                errlen);
}

bool loadstep_lost_gate(struct loadstep *l, char *why, size_t whylen)
{
    struct gate_result lost;
    const struct gate_spec *g = l->sc ? openstep_lost_gate(&l->open, l->sc, &lost) : NULL;
    char shown[64];

    if (!g)
        return false;
    snprintf(why, whylen, "gate %s already lost (%s)", g->name,
             gate_format_observed(g, lost.observed, shown, sizeof shown));
    return true;
}

void loadstep_interrupt(struct loadstep *l)
{
    loadwrk_group_signal(&l->wrk, SIGINT);
    openstep_stop(&l->open);
}

void loadstep_stop(struct loadstep *l, int grace_ms)
{
    loadwrk_group_stop(&l->wrk, grace_ms);
    if (l->open.running)
        openstep_close(&l->open);
}

void loadstep_gate_inputs(const struct loadstep *l, struct gate_inputs *in)
{
    openstep_gate_inputs(&l->open, in);
}

void loadstep_close(struct loadstep *l)
{
    openstep_close(&l->open);
}
