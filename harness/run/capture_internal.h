/* capture_internal: the capture's state, shared by the two halves of the capture
 * module and by nothing else (callers see only run/capture.h).
 *
 * capture.c finds the targets, takes the dumps and snapshots, watches the symptoms
 * and keeps the evidence; capture_cpu.c decides when a CPU profile is taken (on a
 * symptom, at a drill's fixed time, or the routine one) and switches the service's
 * instrument level for it and back. The CPU half keeps its own state in struct
 * capture_cpu and reaches the rest only through capture_add_item and
 * capture_note_problem, so that the scheduling can be read apart from the evidence. */
#ifndef LOADLAB_CAPTURE_INTERNAL_H
#define LOADLAB_CAPTURE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "run/capture.h"
#include "run/cpucapture.h"
#include "run/runner.h"
#include "run/symptoms.h"

#define CAPTURE_REQUEST_TIMEOUT_MS 3000
#define CAPTURE_URL_MAX 1200
#define CAPTURE_REASON_MAX 96

/* The debug endpoints evidence may come from: orderd's, and a Go service's
 * net/http/pprof and expvar. Which of them a service has is found out once per run
 * (discover), and only those are asked for. A Go service's goroutine profile stands
 * for orderd's thread dump (proftext reads both). */
enum capture_endpoint {
    CAPTURE_EP_THREADS, CAPTURE_EP_GOROUTINE, CAPTURE_EP_MUTEX, CAPTURE_EP_BLOCK, CAPTURE_EP_HEAP, CAPTURE_EP_VARS,
    CAPTURE_EP_FAULTS, CAPTURE_EP_COUNT
};

/* One service the evidence is taken from: the run's service, or on a fleet (samples
 * from Prometheus) each instance, whose debug port is its instance label (Prometheus
 * scrapes /metrics on the debug port, and names the target host:port). Symptoms are
 * watched, profiling switched on and snapshots triggered per target: the evidence of
 * a sick replica comes from that replica. */
struct capture_target {
    char instance[CAPTURE_MAX_INSTANCE];  /* "" for the run's one service */
    char base[CAPTURE_URL_MAX];           /* "http://host:port" of its debug API */
    bool discovered;
    bool has[CAPTURE_EP_COUNT];
    double trigger_at;
    char trigger_reason[CAPTURE_REASON_MAX];
    bool symptom_seen[SYMPTOM_COUNT];
    bool profiling_switched;
    bool routine_switch;               /* switched on only for the routine CPU profile */
    char restore_level[32];
    bool has_cpu_profile;              /* its pprof index lists "profile" */
    struct symptoms_state symptoms;    /* what the symptom checks remember of it */
};

/* The CPU profile of a run: at most one under way, one symptom's (or a drill's) and
 * the routine one a run. */
struct capture_cpu {
    double blind_at;       /* when to take it whatever the service shows (drills); NaN: on a symptom */
    struct cpucapture *taking;
    struct capture_target *target;  /* whose CPU profile it is */
    double at;                      /* when the CPU profile started */
    char reason[CAPTURE_REASON_MAX];
    bool routine;                   /* the one under way is the routine one */
    bool symptom_taken;             /* a symptom started one (or a drill's was scheduled) */
    struct capture_target *pending; /* a symptom came while the routine one ran: its target */
    char pending_reason[CAPTURE_REASON_MAX];
};

struct capture_item;

struct capture {
    bool keep_always;
    struct capture_item *items;
    size_t n, cap, held_bytes, periodic;
    double dump_interval, next_dump;
    size_t dumps_taken;    /* periodic dumps taken this run: every other one with a heap profile */
    bool mid_taken, final_taken, dropped;
    struct capture_target targets[CAPTURE_MAX_TARGETS];
    size_t ntargets;
    bool kept;
    size_t kept_items;
    char problems[512];
    char found[160];       /* what discover found, as said to the user */
    bool found_new;        /* found differs from the last run's */
    struct capture_cpu cpu;
};

/* Keeps text (len bytes, copied and compressed) as one item of target tg (NULL: of
 * the run's service, no instance) at run time t. Returns 0, or -1 (noted in the
 * capture's problems: out of memory, past CAPTURE_MAX_BYTES). */
int capture_add_item(struct capture *c, const struct capture_target *tg, double t, const char *kind,
                     const char *reason, bool periodic, const char *text, size_t len);

/* Adds a problem to capture_problems, once, never cut mid-message. */
__attribute__((format(printf, 2, 3)))
void capture_note_problem(struct capture *c, const char *fmt, ...);

/* capture_cpu.c. Forgets the last run's CPU profile (waiting for one still under way);
 * leaves blind_at. */
void capture_cpu_reset(struct capture *c);

/* Switches tg to instrument=profile, remembering the level to restore: until the load
 * ends for a symptom (why names it), or only until the routine CPU profile is in
 * (routine). A failure is noted; the run goes on. */
void capture_cpu_switch_profiling_on(struct capture *c, struct capture_target *tg, const struct runner_view *v,
                                     const char *why, bool routine);

/* Puts back the level capture_cpu_switch_profiling_on changed, if any; why says when
 * ("load over"). A failure is noted. */
void capture_cpu_restore_profiling(struct capture *c, struct capture_target *tg, const struct runner_view *v,
                                   const char *why);

/* CPU per request showed on tg at v->t: starts its CPU profile unless a drill has
 * fixed the time in advance. */
void capture_cpu_on_symptom(struct capture *c, struct capture_target *tg, const struct runner_view *v,
                            const char *symptom);

/* Keeps the CPU profile once it is in (wait: blocks until it is); after the load
 * (wait) starts no other. */
void capture_cpu_collect(struct capture *c, const struct runner_view *v, bool wait);

/* One tick's scheduled profiles: a drill's at its fixed time, else the routine one,
 * ending before final_at (the last snapshot's time). */
void capture_cpu_schedule(struct capture *c, const struct runner_view *v, double final_at);

#endif
