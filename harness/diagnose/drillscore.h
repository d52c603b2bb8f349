/* drillscore: marking an incident-response drill (diagnose/drill) — the answer key
 * (each fault a drill can hide, how it is switched on, and the class and culprit it
 * is), what a run really had (its truth, from its fault phases), a trainee's answer,
 * what the answer scores, and a trainee's progress over the stored drills.
 *
 * Apart from the drill's conversation so that the rules of marking read in one place
 * and can be tested without running a service. */
#ifndef LOADLAB_DRILLSCORE_H
#define LOADLAB_DRILLSCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/resultdb.h"

#define DRILLSCORE_MAX_ANSWERS 4
#define DRILLSCORE_MAX_ANSWER_TEXT 1024
#define DRILLSCORE_MAX_TRUTH 8

/* The answer key: a fault, the term a drill switches it on with, and what it is. */
struct drillscore_fault {
    const char *fault, *term, *class_name, *culprit;
};
extern const struct drillscore_fault drillscore_faults[];
extern const size_t drillscore_nfaults;

/* The index of fault name in drillscore_faults, or -1. */
int drillscore_fault_index(const char *name);

struct drillscore_problem {
    char class_name[24];
    char culprit[128];   /* "" when not named */
};

struct drillscore_answer {
    struct drillscore_problem problems[DRILLSCORE_MAX_ANSWERS];
    size_t n;            /* 0: "nothing is wrong" */
};

/* True for a word that answers "nothing is wrong": healthy, none, nothing. */
bool drillscore_healthy_word(const char *s);

/* True for a function name an answer may give as a culprit. */
bool drillscore_culprit_valid(const char *s);

/* Parses "healthy" (or "none") or "class=C culprit=F; class=C2 culprit=F2" (culprit
 * optional, class one of diagnose_classes). Returns 0, or -1 with err saying what is
 * wrong (unknown class, a bad function name, too many problems, too long). */
int drillscore_answer_parse(const char *text, struct drillscore_answer *out, char *err, size_t errlen);

/* Writes an answer back in the same form. Returns buf. */
char *drillscore_answer_format(const struct drillscore_answer *a, char *buf, size_t buflen);

/* What was really wrong: the faults the run switched on, from its phases table. */
struct drillscore_truth {
    struct {
        char fault[32], term[64];
        double at;
        const char *class_name, *culprit;
    } items[DRILLSCORE_MAX_TRUTH];
    size_t n;
};

/* When the first of the truth's faults went on, seconds on the run's clock; 0 for an
 * empty truth. */
double drillscore_truth_first(const struct drillscore_truth *t);

/* Reads the truth of a run. Returns 0, or -1 with err filled. */
int drillscore_truth_load(struct resultdb *db, int64_t run_id, struct drillscore_truth *out, char *err,
                          size_t errlen);

struct drillscore_result {
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
void drillscore_mark(const struct drillscore_truth *truth, const struct drillscore_answer *answer,
                     struct drillscore_result *out);

/* `loadlab drill --history`: a trainee's drills, oldest first, and their progress
 * (NULL trainee: everyone's). Returns 0, or -1 with err filled. */
int drillscore_history(struct resultdb *db, const char *trainee, FILE *out, char *err, size_t errlen);

#endif
