/* capture_cpu: when the capture takes a CPU profile, and the instrument level it needs.
 * See capture.h for why a profile is taken at all, capture_internal.h for the state.
 *
 * A run takes at most one symptom-triggered (or, in a drill, scheduled) profile and,
 * when none came, one routine profile late in the load; only one is under way at a
 * time (run/cpucapture.h takes it on a thread of its own). orderd serves profiles only
 * at instrument=profile, so the level is switched through /debug/config and put back:
 * for a symptom when the load ends, for the routine profile as soon as it is in. Kept
 * apart from capture.c because this is a small state machine of its own (a symptom
 * that comes while the routine profile runs waits for it, and keeps the level up),
 * which reads best without the snapshot and storage code around it. */
#include "run/capture_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/httpclient.h"
#include "store/evidence.h"

/* A CPU profile this long (at most until the load's planned end) is taken when CPU
 * per request is the symptom: at orderd's 100 Hz a faint slowdown (+40 us a request at
 * 1,500 requests a second, 6% of a core) leaves about 30 samples in its function in
 * 5 s; in 3 s, 15 at best, and under 5 on a loaded machine now and then. */
#define CPU_PROFILE_S 5
/* The routine CPU profile (a run with no symptom-triggered one) ends this long before
 * the last snapshot, so that snapshot sees the service at its own level again. */
#define ROUTINE_GAP_S 0.5

void capture_cpu_profile_at(struct capture *c, double t)
{
    c->cpu.blind_at = t;
}

void capture_cpu_reset(struct capture *c)
{
    cpucapture_free(c->cpu.taking);
    c->cpu.taking = NULL;
    c->cpu.target = NULL;
    c->cpu.at = NAN;
    c->cpu.routine = c->cpu.symptom_taken = false;
    c->cpu.pending = NULL;
}

/* A symptom that comes while the routine profile holds the level keeps it there to
 * the end; routine does nothing when a symptom has switched it already. */
void capture_cpu_switch_profiling_on(struct capture *c, struct capture_target *tg, const struct runner_view *v,
                                     const char *why, bool routine)
{
    char url[CAPTURE_URL_MAX + 64], err[600], note[256];
    struct httpclient_response resp;
    json_t *cfg;
    const char *level;

    if (routine && (tg->profiling_switched || tg->routine_switch))
        return;
    if (!routine) {
        tg->profiling_switched = true;  /* tried once, whatever comes of it */
        if (tg->routine_switch) {
            tg->routine_switch = false;  /* restored at the load's end now */
            snprintf(note, sizeof note, "instrument stays at profile from t=%.2fs (%s)", v->t, why);
            capture_add_item(c, tg, v->t, EVIDENCE_NOTE, "trigger", false, note, strlen(note));
            return;
        }
    }
    snprintf(url, sizeof url, "%s/debug/config", tg->base);
    if (httpclient_request(v->http, "GET", url, NULL, CAPTURE_REQUEST_TIMEOUT_MS, 65536, &resp, err, sizeof err) < 0 ||
        resp.status != 200)
        return;  /* a service without orderd's config API: its profiles are what they are */
    cfg = json_loadb(resp.body, resp.len, 0, NULL);
    level = json_string_value(json_object_get(cfg, "instrument"));
    if (!level || strcmp(level, "profile") == 0) {
        json_decref(cfg);
        return;
    }
    snprintf(tg->restore_level, sizeof tg->restore_level, "%s", level);
    json_decref(cfg);
    if (httpclient_request(v->http, "PUT", url, "{\"instrument\":\"profile\"}", CAPTURE_REQUEST_TIMEOUT_MS, 65536,
                           &resp, err, sizeof err) < 0 || resp.status != 200) {
        capture_note_problem(c, "could not switch profiling on: %s", resp.status ? "refused" : err);
        tg->restore_level[0] = '\0';
        return;
    }
    tg->routine_switch = routine;
    snprintf(note, sizeof note, "instrument %s -> profile at t=%.2fs (%s)", tg->restore_level, v->t, why);
    capture_add_item(c, tg, v->t, EVIDENCE_NOTE, routine ? EVIDENCE_ROUTINE_CPU : "trigger", false, note,
                     strlen(note));
}

void capture_cpu_restore_profiling(struct capture *c, struct capture_target *tg, const struct runner_view *v,
                                   const char *why)
{
    char url[CAPTURE_URL_MAX + 64], body[96], err[600], note[160];
    struct httpclient_response resp;
    bool routine = tg->routine_switch;

    if (!tg->restore_level[0])
        return;
    snprintf(url, sizeof url, "%s/debug/config", tg->base);
    snprintf(body, sizeof body, "{\"instrument\":\"%s\"}", tg->restore_level);
    if (httpclient_request(v->http, "PUT", url, body, CAPTURE_REQUEST_TIMEOUT_MS, 65536, &resp, err, sizeof err) < 0 ||
        resp.status != 200)
        capture_note_problem(c, "could not restore instrument=%s", tg->restore_level);
    snprintf(note, sizeof note, "instrument profile -> %s at t=%.2fs (%s)", tg->restore_level, v->t, why);
    capture_add_item(c, tg, v->t, EVIDENCE_NOTE, routine ? EVIDENCE_ROUTINE_CPU : "load end", false, note,
                     strlen(note));
    tg->restore_level[0] = '\0';
    tg->routine_switch = false;
}

/* Starts a CPU profile of target tg, when it serves them, ending by run time until;
 * reason is kept with it. A symptom's (or a drill's) is one a run; the routine one
 * only when no other was taken. A symptom that comes while the routine one runs
 * starts its own once that is in. */
static void start_cpu_profile(struct capture *c, struct capture_target *tg, const struct runner_view *v,
                              const char *reason, bool routine, double until)
{
    char err[600];
    int seconds;

    if (c->cpu.taking) {
        if (!routine && c->cpu.routine && !c->cpu.pending) {
            c->cpu.pending = tg;
            snprintf(c->cpu.pending_reason, sizeof c->cpu.pending_reason, "%s", reason);
        }
        return;
    }
    if ((routine ? !isnan(c->cpu.at) : c->cpu.symptom_taken) || !tg->has_cpu_profile)
        return;
    seconds = (int)fmin(CPU_PROFILE_S, floor(until - v->t));  /* within the load */
    if (seconds < 1)
        return;
    if (routine)
        capture_cpu_switch_profiling_on(c, tg, v, "routine CPU profile", true);
    c->cpu.at = v->t;
    c->cpu.target = tg;
    c->cpu.routine = routine;
    c->cpu.symptom_taken |= !routine;
    snprintf(c->cpu.reason, sizeof c->cpu.reason, "%s", reason);
    if (!(c->cpu.taking = cpucapture_start(tg->base, v->sc->token_file, seconds, err, sizeof err))) {
        capture_note_problem(c, "CPU profile: %s", err);
        if (tg->routine_switch)
            capture_cpu_restore_profiling(c, tg, v, "no routine CPU profile");
    }
}

void capture_cpu_on_symptom(struct capture *c, struct capture_target *tg, const struct runner_view *v,
                            const char *symptom)
{
    char reason[CAPTURE_REASON_MAX];

    if (!isnan(c->cpu.blind_at))
        return;
    snprintf(reason, sizeof reason, "trigger: %s at t=%.2fs", symptom, v->t);
    start_cpu_profile(c, tg, v, reason, false, v->load_end);
}

/* Puts back a level switched for the routine profile, and starts a symptom's that
 * waited for it (not once the load is over: wait). */
void capture_cpu_collect(struct capture *c, const struct runner_view *v, bool wait)
{
    struct capture_target *pending = c->cpu.pending;
    char *text = NULL, err[300];
    size_t len = 0;
    if (!c->cpu.taking || !cpucapture_done(c->cpu.taking, wait, &text, &len, err, sizeof err))
        return;
    if (text)
        capture_add_item(c, c->cpu.target, c->cpu.at, EVIDENCE_CPU, c->cpu.reason, false, text, len);
    else
        capture_note_problem(c, "CPU profile: %s", err);
    free(text);
    cpucapture_free(c->cpu.taking);
    c->cpu.taking = NULL;
    if (c->cpu.routine && c->cpu.target->routine_switch)
        capture_cpu_restore_profiling(c, c->cpu.target, v, "routine CPU profile taken");
    c->cpu.pending = NULL;
    if (pending && !wait)
        start_cpu_profile(c, pending, v, c->cpu.pending_reason, false, v->load_end);
}

void capture_cpu_schedule(struct capture *c, const struct runner_view *v, double final_at)
{
    char reason[CAPTURE_REASON_MAX];
    double routine_at;

    if (v->t >= c->cpu.blind_at) {
        snprintf(reason, sizeof reason, "scheduled at t=%.1fs", c->cpu.blind_at);
        start_cpu_profile(c, &c->targets[0], v, reason, false, v->load_end);  /* once (drills: one service) */
    }
    /* The routine profile, late in the measured load so that a symptom has had the
     * run until then to take its own, and over before the last snapshot; never in a
     * cost run ([load] requests), whose instruction count the profiler's timer and
     * handler would add to. */
    routine_at = fmax((double)v->sc->warmup_ns / 1e9, final_at - ROUTINE_GAP_S - CPU_PROFILE_S);
    if (isnan(c->cpu.blind_at) && !v->sc->requests && v->t >= routine_at) {
        snprintf(reason, sizeof reason, "%s at t=%.1fs (no symptom-triggered profile)", EVIDENCE_ROUTINE_CPU, v->t);
        start_cpu_profile(c, &c->targets[0], v, reason, true, final_at - ROUTINE_GAP_S);
    }
}
