/* drill: incident-response training — `loadlab drill`.
 *
 * A drill starts orderd under load with hidden faults (level 1: one fault from the
 * start, or none; level 2: two faults, or one that starts mid-run), tells the trainee
 * where to look and asks: is something wrong, what class of problem, which function.
 * When the answer comes (at the prompt, piped on stdin, or given with --answer) it is
 * scored as AIOpsLab scores an agent — detection (right or wrong), localization (the
 * culprits named), root cause (the classes named), time taken — and the truth is
 * revealed with the run's report and what the automatic diagnosis made of it. Every
 * drill is a row of the `drills` table, so a trainee can follow their progress.
 *
 * The faults are set through the debug API after start-up, never on orderd's command
 * line (which /debug/vars shows), and the drill prints nothing about them before the
 * answer. What still gives them away is the answer key itself — /debug/faults, the
 * orderd_fault_active and orderd_leaked_* metrics, the drill's run in the results
 * database — and the intro tells the trainee so: an instructor's rule, as in any
 * exercise, rather than a service changed to lie about its own state. */
#ifndef LOADLAB_DRILL_H
#define LOADLAB_DRILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "diagnose/diagnose.h"
#include "store/resultdb.h"

#define DRILL_MAX_FAULTS 2
#define DRILL_MAX_ANSWERS 4
#define DRILL_MAX_ANSWER_TEXT 1024
#define DRILL_MAX_TRUTH 8

struct drill_fault {
    char name[32];       /* "queue.stall" */
    char term[32];       /* "on(50ms)" */
    int64_t at_ns;       /* when it is switched on; 0: from the start */
};

struct drill_plan {
    int level;
    uint64_t seed;
    struct drill_fault faults[DRILL_MAX_FAULTS];
    size_t nfaults;      /* 0: a healthy service */
};

/* Picks the hidden faults. fault is NULL or "random" (any fault, or none), "none",
 * or a fault name (at level 2, with a second fault or a late start). The same seed,
 * fault and level always give the same plan. Returns 0, or -1 with err filled
 * (unknown fault, level not 1 or 2). */
int drill_plan_make(const char *fault, int level, uint64_t seed, struct drill_plan *out,
                    char *err, size_t errlen);

struct drill_problem {
    char class_name[24];
    char culprit[128];   /* "" when not named */
};

struct drill_answer {
    struct drill_problem problems[DRILL_MAX_ANSWERS];
    size_t n;            /* 0: "nothing is wrong" */
};

/* Parses "healthy" (or "none") or "class=C culprit=F; class=C2 culprit=F2" (culprit
 * optional, class one of diagnose_classes). Returns 0, or -1 with err saying what is
 * wrong (unknown class, a bad function name, too many problems, too long). */
int drill_answer_parse(const char *text, struct drill_answer *out, char *err, size_t errlen);

/* Writes an answer back in the same form. Returns buf. */
char *drill_answer_format(const struct drill_answer *a, char *buf, size_t buflen);

/* What was really wrong: the faults the run switched on, from its phases table. */
struct drill_truth {
    struct {
        char fault[32], term[64];
        double at;
        const char *class_name, *culprit;
    } items[DRILL_MAX_TRUTH];
    size_t n;
};

/* Reads the truth of a run. Returns 0, or -1 with err filled. */
int drill_truth_load(struct resultdb *db, int64_t run_id, struct drill_truth *out, char *err, size_t errlen);

struct drill_score {
    int problems;        /* distinct problems in the truth */
    bool detected;       /* "something is wrong" was right */
    int classes_right;   /* truth problems whose class the answer names (root cause) */
    int culprits_right;  /* truth problems whose culprit the answer names (localization) */
    int extra;           /* classes named that were not there */
    double score;        /* 0..100 */
};

/* Scores an answer: a healthy run scores 100 when called healthy, else 0; a sick one
 * scores a third for detection, a third for the classes (an extra class costs half a
 * right one) and a third for the culprits, each as a share of its problems. */
void drill_score_answer(const struct drill_truth *truth, const struct drill_answer *answer,
                        struct drill_score *out);

struct drill_options {
    const char *fault;          /* see drill_plan_make */
    int level;                  /* 1 or 2 */
    uint64_t seed;
    const char *trainee;        /* whose progress this drill counts in */
    const char *answer;         /* NULL: ask at a prompt on in_fd */
    int64_t time_limit_ns;      /* the load stops then, answered or not */
    int64_t min_time_ns;        /* the load runs at least this long (and until every
                                   hidden fault has been on a few seconds) */
    const char *scripts_dir;    /* where mix.lua and orders.lua are */
    const char *wrk_path, *log_root, *git_rev;
    int signal_fd;              /* from runner_signals_open */
    int in_fd;                  /* answers (stdin) */
    FILE *out;                  /* the conversation */
    bool report;                /* print the run's report after the reveal */
};

/* Runs a drill to the end and stores it. Returns 0 when the drill was recorded
 * (answered or not), 1 when it was interrupted (recorded as aborted), or -1 with err
 * filled (the service could not be run, the database could not be written). */
int drill_run(struct resultdb *db, const struct drill_options *opt, char *err, size_t errlen);

/* `loadlab drill --history`: a trainee's drills, oldest first, and their progress
 * (NULL trainee: everyone's). Returns 0, or -1 with err filled. */
int drill_history(struct resultdb *db, const char *trainee, FILE *out, char *err, size_t errlen);

#endif
