/* drill: training drills. See drill.h.
 *
 * Which fault is which class and culprit is drillscore's answer key, kept away from
 * the diagnosis; the drill only draws from it. The run itself is an ordinary runner run with a hook that prints the
 * intro once the service is up, reads answers between scrapes without blocking (the
 * questions and their parsing are drill_prompt.c), and ends the load once the trainee
 * has answered. With a mitigation level the hook then runs the mitigation: whether the
 * service healed is drill_heal.c's, a restart as the mitigation drill_restart.c's. */
#include "diagnose/drill.h"

#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diagnose/drill_heal.h"
#include "diagnose/drill_prompt.h"
#include "diagnose/drill_restart.h"
#include "judge/thresholds.h"
#include "run/capture.h"
#include "output/history.h"
#include "run/runner.h"
#include "run/scenario.h"
#include "store/drills.h"
#include "units.h"

/* Every drill runs the same service, so its command line (in /debug/vars) says
 * nothing about the fault: four workers keep up with the shop mix, and orders alone
 * fill the queue (which queue.block needs to show). Profiling is on from the start,
 * healthy drills too: were the capture to switch it on at the first symptom,
 * orderd_instrument_level would tell sick from healthy, and since when. */
#define DRILL_SERVICE "${ORDERD_BIN:-build/orderd} --workers 4 --queue-capacity 64 --payment-latency 10ms " \
                      "--io-threads 2 --instrument profile --log-level warn"
#define WARMUP_S 2
/* A fault that starts late does so between these, and is given this long to show. */
#define LATE_FROM_S 5
#define LATE_SPAN_S 11
#define SHOW_S 6
/* The drill's CPU profile (5 s) starts this long before the earliest answer is taken. */
#define CPU_PROFILE_LEAD_S 5.5
#define SCENARIO_TEXT_MAX 4096

#define QUEUE_BLOCK 4  /* queue.block's place in drillscore_faults */

/* splitmix64: small, and the same sequence for a seed on every machine. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void plan_add(struct drill_plan *p, int fault, int64_t at_ns)
{
    struct drill_fault *f = &p->faults[p->nfaults++];
    snprintf(f->name, sizeof f->name, "%s", drillscore_faults[fault].fault);
    snprintf(f->term, sizeof f->term, "%s", drillscore_faults[fault].term);
    f->at_ns = at_ns;
}

int drill_plan_make(const char *fault, int level, uint64_t seed, struct drill_plan *out, char *err, size_t errlen)
{
    uint64_t rng = seed;
    int first = -1, second;
    int64_t late;

    memset(out, 0, sizeof *out);
    out->level = level;
    out->seed = seed;
    if (level != 1 && level != 2) {
        snprintf(err, errlen, "level must be 1 or 2");
        return -1;
    }
    if (fault && strcmp(fault, "random") != 0 && strcmp(fault, "none") != 0 && (first = drillscore_fault_index(fault)) < 0) {
        snprintf(err, errlen, "unknown fault '%s' (leak.threads, leak.memory, lock.cache, queue.stall, queue.block, "
                              "slow, random or none)", fault);
        return -1;
    }
    if (fault && strcmp(fault, "none") == 0)
        return 0;
    late = (int64_t)(LATE_FROM_S + next_random(&rng) % LATE_SPAN_S) * 1000000000LL;
    if (first < 0) {
        /* Level 1 draws "nothing wrong" as often as any one fault: detection is a skill. */
        uint64_t pick = next_random(&rng) % (level == 1 ? drillscore_nfaults + 1 : drillscore_nfaults);
        if (pick == drillscore_nfaults)
            return 0;
        first = (int)pick;
    }
    if (level == 1) {
        plan_add(out, first, 0);
        return 0;
    }
    if (next_random(&rng) % 3 == 0) {
        /* One fault, starting late — unless it is queue.block, which the queue must be
         * full to show: the orders load fills it from the start, so it starts then. */
        plan_add(out, first, first == QUEUE_BLOCK ? 0 : late);
        return 0;
    }
    second = (int)(next_random(&rng) % (drillscore_nfaults - 1));
    if (second >= first)
        second++;
    if (second == QUEUE_BLOCK) {
        second = first;
        first = QUEUE_BLOCK;
    }
    plan_add(out, first, 0);
    plan_add(out, second, next_random(&rng) % 2 ? late : 0);
    return 0;
}

static bool plan_has(const struct drill_plan *p, const char *fault)
{
    for (size_t i = 0; i < p->nfaults; i++)
        if (strcmp(p->faults[i].name, fault) == 0)
            return true;
    return false;
}

/* The scenario a plan runs as. Returns 0, or -1 when buf is too small. */
static int scenario_text(const struct drill_plan *p, const char *scripts_dir, int64_t time_limit_ns, char *buf,
                         size_t len)
{
    size_t used = 0;
    int n;
    bool orders = plan_has(p, "queue.block");

#define EMIT(...)                                                                          \
    do {                                                                                   \
        n = snprintf(buf + used, len - used, __VA_ARGS__);                                 \
        if (n < 0 || (size_t)n >= len - used)                                              \
            return -1;                                                                     \
        used += (size_t)n;                                                                 \
    } while (0)

    EMIT("[scenario]\nname = drill\ndescription = A training drill: what is wrong is for the trainee to find.\n"
         "duration = %llds\nwarmup = %ds\nsample_interval = 250ms\n\n[service]\ncommand = %s\n",
         (long long)(time_limit_ns / 1000000000 - WARMUP_S), WARMUP_S, DRILL_SERVICE);
    for (size_t i = 0, k = 0; i < p->nfaults; i++)
        if (p->faults[i].at_ns == 0)
            EMIT("%s%s=%s", k++ ? ", " : "fault = ", p->faults[i].name, p->faults[i].term);
    EMIT("\n\n[load]\nconnections = %d\nscript = %s/%s\ntimeout = 5s\n", orders ? 8 : 6, scripts_dir,
         orders ? "orders.lua" : "mix.lua");
    for (size_t i = 0; i < p->nfaults; i++)
        if (p->faults[i].at_ns > 0)
            EMIT("\n[phase.late%zu]\nat = %llds\nfault = %s=%s\n", i, (long long)(p->faults[i].at_ns / 1000000000),
                 p->faults[i].name, p->faults[i].term);
#undef EMIT
    return 0;
}

/* ---- the run ------------------------------------------------------------------ */

struct drill_state {
    struct resultdb *db;
    const struct drill_options *opt;
    const struct drill_plan *plan;
    struct capture *capture;
    struct drill_prompt prompt;
    bool interactive, answered, snapshot_taken, mitigating;
    int64_t started_ns, answered_ns;
    double min_time;
    struct drill_mitigation mitigation;
    struct drill_restart_run restart;  /* a restart as the mitigation */
};

static void print_intro(struct drill_state *d, const struct runner_view *v)
{
    FILE *out = d->opt->out;
    const char *dbg = v->debug_base;
    char limit[32];

    units_format_duration(d->opt->time_limit_ns, limit, sizeof limit);
    fprintf(out,
            "\nDrill (level %d). orderd serves a shop at %s under steady load; its debug port is %s.\n"
            "Something may have gone wrong with it, now or later on - or nothing has.\n"
            "Is something wrong? If so, what class of problem is it, and which function is the culprit?\n\n"
            "Where to look:\n"
            "  curl -s %s/metrics | grep -E '^(orderd_(threads|queue|mutex|block|http_requests)|process_)'\n"
            "  curl -s '%s/debug/pprof/threads?debug=1'     (take a few: what changes, what stays?)\n"
            "  curl -s '%s/debug/pprof/mutex?debug=1'       (and block, heap)\n"
            "  (profiling is on from the start: %s/debug/config says instrument=profile)\n"
            "  curl -s %s/debug/vars\n"
            "Off limits, being the answer key: /debug/faults, the orderd_fault_active and orderd_leaked_*\n"
            "metrics, and this drill's run in the results database until you have answered.\n",
            d->plan->level, v->public_base, dbg, dbg, dbg, dbg, dbg, dbg);
    drill_heal_print_normal(out, d->db);
    if (d->interactive)
        fprintf(out, "The load runs until you answer (at most %s).\n\n", limit);
    fflush(out);
}

/* After an answer that something is wrong: the trainee clears it while the load runs. */
static void start_mitigation(struct drill_state *d, const struct runner_view *v)
{
    struct drill_heal_reference ref;
    double seconds = fmin((double)d->opt->mitigation_ns / 1e9, v->load_end - v->t), first = INFINITY;
    char limit[32];

    for (size_t i = 0; i < d->plan->nfaults; i++)
        first = fmin(first, (double)d->plan->faults[i].at_ns / 1e9);
    /* this run before its first fault is the healthy reference when that fault came late */
    drill_heal_reference_find(d->db, v->run_id, isfinite(first) && first >= LATE_FROM_S ? first : NAN, &ref);
    drill_mitigation_start(&d->mitigation, v->t, seconds, &ref);
    d->mitigating = true;
    units_format_duration((int64_t)(seconds * 1e9), limit, sizeof limit);
    fprintf(d->opt->out,
            "\nYour answer is in. Now mitigate: clear what you found through the debug API while the load runs,\n"
            "  curl -X DELETE %s/debug/faults/NAME     (GET %s/debug/faults lists them: yours to read now)\n"
            "or type 'restart' to have the drill restart orderd (it started it: the same command, the\n"
            "same ports; a restart fixes no bug in the code).\n"
            "The drill checks that threads, memory, the queue and request times are back to healthy (%s)\n"
            "and holds there for %.0fs. You have %s.\n",
            v->debug_base, v->debug_base, ref.have ? ref.source : "no healthy run recorded: the run's lowest threads",
            DRILL_HEAL_WINDOW_S, limit);
    if (d->opt->mitigate_by_restart) {
        fprintf(d->opt->out, "restart   (--mitigate-by restart)\n");
        d->restart.wanted = true;
    }
    fflush(d->opt->out);
}

/* One tick of the mitigation: a 'restart' typed, the restart under way, or the heal
 * check of faults cleared through the debug API. Returns true once decided. */
static bool mitigation_step(struct drill_state *d, const struct runner_view *v, enum runner_hook_answer *answer)
{
    char line[64];

    *answer = RUNNER_HOOK_CONTINUE;
    if (!d->restart.wanted && d->interactive && drill_prompt_line(&d->prompt, d->opt->in_fd, line, sizeof line)) {
        char *word = line + strspn(line, " \t");
        if (d->prompt.echo)
            fprintf(d->opt->out, "%s\n", line);
        word[strcspn(word, " \t\r")] = '\0';
        if (strcasecmp(word, "restart") == 0)
            d->restart.wanted = true;
        else if (*word)
            fprintf(d->opt->out, "  (type 'restart' to have the drill restart orderd; or clear the faults through "
                                 "the debug API)\n");
    }
    if (d->restart.wanted && !drill_restart_asked(&d->restart)) {
        *answer = drill_restart_ask(&d->restart, d->db, d->plan, v, d->opt->out);
        return false;
    }
    if (drill_restart_asked(&d->restart))
        return drill_restart_watch(&d->restart, &d->mitigation, d->db, v, d->opt->out);
    return drill_mitigation_tick(&d->mitigation, d->db, v->run_id, v->http, v->debug_base, v->t);
}

static enum runner_hook_answer drill_hook(void *user, enum runner_moment moment, const struct runner_view *v)
{
    struct drill_state *d = user;

    capture_hook(d->capture, moment, v);
    if (moment == RUNNER_AT_START) {
        d->started_ns = units_now_ns();
        print_intro(d, v);
        if (d->interactive)
            drill_prompt_ask(d->opt->out, DRILL_ASK_WRONG);
        return RUNNER_HOOK_CONTINUE;
    }
    if (moment != RUNNER_AT_TICK)
        return RUNNER_HOOK_CONTINUE;
    if (d->interactive && !d->answered && drill_prompt_feed(&d->prompt, d->opt->in_fd, 0, d->opt->out)) {
        d->answered = true;
        d->answered_ns = units_now_ns();
    }
    if (!d->answered || v->t < d->min_time)
        return RUNNER_HOOK_CONTINUE;
    if (!d->snapshot_taken) {
        /* The evidence as it stood when the trainee answered, before the load stops. */
        capture_snapshot(d->capture, v, "answer given");
        d->snapshot_taken = true;
        if (!d->answered_ns)
            d->answered_ns = units_now_ns();  /* --answer: given when the drill takes it */
        if (d->opt->mitigation_ns > 0 && d->plan->nfaults && d->prompt.answer.n)
            start_mitigation(d, v);
    }
    if (d->mitigating) {
        enum runner_hook_answer answer;
        if (!mitigation_step(d, v, &answer))
            return answer;
    }
    return RUNNER_HOOK_END_LOAD;
}

/* After the load ended with no answer yet: waits for one (or for an interrupt). */
static int finish_answer(struct drill_state *d)
{
    struct pollfd pfd = {.fd = d->opt->signal_fd, .events = POLLIN};

    fprintf(d->opt->out, "\nThe load has stopped (time is up). Your answer still counts.\n");
    drill_prompt_ask(d->opt->out, d->prompt.state);
    while (!drill_prompt_feed(&d->prompt, d->opt->in_fd, 200, d->opt->out)) {
        if (poll(&pfd, 1, 0) > 0 && runner_signals_take(d->opt->signal_fd))
            return 1;
    }
    d->answered_ns = units_now_ns();
    return 0;
}

static int store_drill(struct resultdb *db, const struct drill_options *opt, int64_t run_id, const char *truth_json,
                       const char *answer, const char *status, const struct drillscore_result *s, double time_s,
                       const struct drill_state *st, int64_t *drill_id, char *err, size_t errlen)
{
    struct drills_record d = {
        .run_id = run_id, .trainee = opt->trainee, .level = opt->level, .seed = opt->seed, .truth = truth_json,
        .answer = answer, .status = status, .scored = s != NULL, .time_s = time_s, .mitigation_s = NAN,
        .time_bought_s = NAN,
    };
    if (st && st->mitigating) {
        bool restarted = drill_restart_asked(&st->restart);
        d.mitigated = isnan(st->mitigation.healed_s) ? DRILLS_MITIGATION_NOT_HEALED : DRILLS_MITIGATION_HEALED;
        d.mitigation_s = st->mitigation.healed_s;
        d.mitigation_method = restarted ? DRILLS_METHOD_RESTART : DRILLS_METHOD_API;
        if (restarted && isfinite(st->restart.result.bought_s))
            d.time_bought_s = st->restart.result.bought_s;
    } else if (st && opt->mitigation_ns > 0 && st->plan->nfaults && st->answered) {
        d.mitigated = DRILLS_MITIGATION_NOT_HEALED;  /* nothing found, nothing cleared */
    }
    if (s) {
        d.problems = s->problems;
        d.detected = s->detected;
        d.classes_right = s->classes_right;
        d.culprits_right = s->culprits_right;
        d.extra = s->extra;
        d.score = s->score;
    }
    return drills_record(db, &d, drill_id, err, errlen);
}

static char *truth_to_json(const struct drillscore_truth *t)
{
    json_t *arr = json_array();
    char *text;
    for (size_t i = 0; arr && i < t->n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:f, s:s, s:s}", "fault", t->items[i].fault, "term",
                                             t->items[i].term, "at", t->items[i].at, "class", t->items[i].class_name,
                                             "culprit", t->items[i].culprit));
    text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return text;
}

static void reveal(FILE *out, const struct drillscore_truth *truth, const struct drillscore_answer *answer,
                   const struct drillscore_result *s, double time_s, bool answered, uint64_t seed, int level,
                   const char *fault)
{
    char text[DRILLSCORE_MAX_ANSWER_TEXT + 64];

    fprintf(out, "\n=== The truth\n");
    if (!truth->n)
        fprintf(out, "  nothing was wrong: no fault was switched on\n");
    for (size_t i = 0; i < truth->n; i++)
        fprintf(out, "  %s=%s from t=%.1fs: class %s, culprit %s\n", truth->items[i].fault, truth->items[i].term,
                truth->items[i].at, truth->items[i].class_name, truth->items[i].culprit);
    fprintf(out, "=== Your answer: %s\n", answered ? drillscore_answer_format(answer, text, sizeof text) : "(none)");
    fprintf(out, "  detection     %s\n", s->detected ? "right" : "wrong");
    if (truth->n) {
        fprintf(out, "  root cause    %d of %d classes right%s\n", s->classes_right, s->problems,
                s->extra ? " (and a class that was not there)" : "");
        fprintf(out, "  localization  %d of %d culprits named\n", s->culprits_right, s->problems);
    }
    if (!isnan(time_s))
        fprintf(out, "  time          %.1fs to answer\n", time_s);
    if (!isnan(time_s) && truth->n && s->detected)
        fprintf(out, "  time to detect %.1fs after the first fault went on\n", time_s - drillscore_truth_first(truth));
    fprintf(out, "  score         %.0f/100   (replay: loadlab drill --level %d --seed %llu%s%s)\n", s->score, level,
            (unsigned long long)seed, fault ? " --fault " : "", fault ? fault : "");
}

static void print_mitigation(FILE *out, const struct drill_mitigation *m, const struct drill_restart *r)
{
    if (drill_restart_print(out, m, r))
        return;
    if (!isnan(m->healed_s))
        fprintf(out, "  mitigation    healed %.1fs after the answer: faults off, threads, memory, queue and request "
                     "times back to %s for %.0fs\n", m->healed_s,
                m->ref.have ? m->ref.source : "the run's lowest threads", DRILL_HEAL_WINDOW_S);
    else
        fprintf(out, "  mitigation    not healed in time: %s\n", m->problem);
}

int drill_run(struct resultdb *db, const struct drill_options *opt, char *err, size_t errlen)
{
    struct drill_plan plan;
    struct drill_state d = {.db = db, .opt = opt, .plan = &plan};
    struct runner_options ropt = {0};
    struct runner_outcome *outcome = calloc(1, sizeof *outcome);
    struct diagnose_result *dr = calloc(1, sizeof *dr);
    struct scenario *sc = NULL;
    struct drillscore_truth truth;
    struct drillscore_result score = {0};
    char text[SCENARIO_TEXT_MAX], answer_text[DRILLSCORE_MAX_ANSWER_TEXT + 64], *truth_json = NULL;
    double time_s = NAN, last_on = 0;
    int64_t drill_id = 0;
    int rc = -1;

    drill_restart_run_init(&d.restart);
    if (!outcome || !dr || !(d.capture = capture_new(true))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (drill_plan_make(opt->fault, opt->level, opt->seed, &plan, err, errlen) < 0)
        goto done;
    for (size_t i = 0; i < plan.nfaults; i++)
        last_on = fmax(last_on, (double)plan.faults[i].at_ns / 1e9);
    d.min_time = fmax((double)opt->min_time_ns / 1e9, plan.nfaults ? last_on + SHOW_S : 0);
    /* The CPU profile ends before the earliest answer is taken, sick or healthy alike. */
    capture_cpu_profile_at(d.capture, fmax(WARMUP_S, d.min_time - CPU_PROFILE_LEAD_S));
    if ((double)opt->time_limit_ns / 1e9 < d.min_time + 2) {
        snprintf(err, errlen, "the time limit must leave at least %.0fs of load", d.min_time + 2);
        goto done;
    }
    if (opt->answer) {
        if (drillscore_answer_parse(opt->answer, &d.prompt.answer, err, errlen) < 0)
            goto done;
        d.answered = true;
    } else {
        d.interactive = true;
        d.prompt.echo = !isatty(opt->in_fd);
    }
    if (scenario_text(&plan, opt->scripts_dir, opt->time_limit_ns, text, sizeof text) < 0) {
        snprintf(err, errlen, "scripts folder path too long");
        goto done;
    }
    if (!(sc = scenario_parse(text, strlen(text), "drill", err, errlen)) ||
        runner_check_service_binary(sc, err, errlen) < 0)
        goto done;
    ropt.label = "drill";
    ropt.git_rev = opt->git_rev;
    ropt.wrk_path = opt->wrk_path;
    ropt.log_root = opt->log_root;
    ropt.signal_fd = opt->signal_fd;
    ropt.hook = drill_hook;
    ropt.hook_user = &d;
    if (runner_run(sc, db, &ropt, outcome, err, errlen) < 0)
        goto done;
    if (outcome->status != RUNNER_COMPLETED && !outcome->interrupted) {
        snprintf(err, errlen, "the drill's run %lld did not complete: %s", (long long)outcome->run_id, outcome->reason);
        goto done;
    }
    if (!outcome->interrupted && d.interactive && !d.answered && finish_answer(&d) == 0)
        d.answered = d.prompt.state == DRILL_ASK_DONE;
    else if (d.interactive && d.answered)
        d.answered = d.prompt.state == DRILL_ASK_DONE;
    if (drillscore_truth_load(db, outcome->run_id, &truth, err, errlen) < 0 || !(truth_json = truth_to_json(&truth)))
        goto done;
    if (outcome->interrupted || runner_signals_take(opt->signal_fd)) {
        if (store_drill(db, opt, outcome->run_id, truth_json, NULL, "aborted", NULL, NAN, NULL, &drill_id, err,
                        errlen) < 0)
            goto done;
        fprintf(opt->out, "\nDrill interrupted: recorded as aborted, the truth stays hidden.\n");
        rc = 1;
        goto done;
    }
    drillscore_mark(&truth, d.answered ? &d.prompt.answer : &(struct drillscore_answer){0}, &score);
    if (d.answered && d.answered_ns)
        time_s = (double)(d.answered_ns - d.started_ns) / 1e9;
    if (store_drill(db, opt, outcome->run_id, truth_json,
                    d.answered ? drillscore_answer_format(&d.prompt.answer, answer_text, sizeof answer_text) : NULL,
                    d.answered ? "answered" : "unanswered", &score, time_s, &d, &drill_id, err, errlen) < 0)
        goto done;
    reveal(opt->out, &truth, &d.prompt.answer, &score, time_s, d.answered, plan.seed, plan.level,
           opt->fault && strcmp(opt->fault, "random") != 0 ? opt->fault : NULL);
    if (d.mitigating)
        print_mitigation(opt->out, &d.mitigation, &d.restart.result);
    else if (opt->mitigation_ns > 0 && plan.nfaults && d.answered)
        fprintf(opt->out, "  mitigation    not attempted: the answer found nothing wrong, or came after the load\n");
    if (diagnose_run(db, outcome->run_id, dr, err, errlen) == 0 && diagnose_store(db, dr, err, errlen) == 0) {
        fprintf(opt->out, "\n=== What the automatic diagnosis made of it\n");
        diagnose_print(opt->out, dr);
    }
    if (opt->report) {
        fprintf(opt->out, "\n=== The run's report (loadlab show %lld; evidence: loadlab show --evidence %lld)\n",
                (long long)outcome->run_id, (long long)outcome->run_id);
        history_show(db, outcome->run_id, opt->out, err, errlen);
    }
    fprintf(opt->out, "\nDrill %lld recorded for %s (loadlab drill --history).\n", (long long)drill_id, opt->trainee);
    rc = 0;
done:
    fflush(opt->out);
    scenario_free(sc);
    capture_free(d.capture);
    free(truth_json);
    free(outcome);
    free(dr);
    return rc;
}

