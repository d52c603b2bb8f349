/* drillscore: the answer key, answers, truth, scores and progress. See drillscore.h.
 *
 * The answer key is the one place that knows which fault is which class and culprit
 * (the README's fault table), kept away from the diagnosis. */
#include "diagnose/drillscore.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diagnose/diagnose.h"
#include "store/drills.h"
#include "store/runs.h"

const struct drillscore_fault drillscore_faults[] = {
    {"leak.threads", "5%on", "thread-leak", "leak_notifier_wait"},
    {"leak.memory", "on(4096)", "memory-leak", "leak_memory_retain"},
    {"lock.cache", "on(200us)", "lock-contention", "cache_get_global"},
    {"queue.stall", "on(50ms)", "queue-full", "worker_process_stalled"},
    {"queue.block", "on", "blocked-producer", "queue_push_blocking"},
    {"slow", "on(3ms)", "cpu-slowdown", "request_burn_cpu"},
};
const size_t drillscore_nfaults = sizeof drillscore_faults / sizeof drillscore_faults[0];

int drillscore_fault_index(const char *name)
{
    for (size_t i = 0; i < drillscore_nfaults; i++)
        if (strcmp(drillscore_faults[i].fault, name) == 0)
            return (int)i;
    return -1;
}

/* ---- answers ------------------------------------------------------------------ */

bool drillscore_culprit_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof ((struct drillscore_problem *)0)->culprit || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != ':')
            return false;
    return true;
}

bool drillscore_healthy_word(const char *s)
{
    return strcasecmp(s, "healthy") == 0 || strcasecmp(s, "none") == 0 || strcasecmp(s, "nothing") == 0;
}

/* Cuts the next token out of *cursor at any of delims (the strtok family is banned:
 * this one keeps its place in the caller's variable). NULL when none is left. */
static char *next_token(char **cursor, const char *delims)
{
    char *start = *cursor + strspn(*cursor, delims), *end;
    if (!*start)
        return NULL;
    end = start + strcspn(start, delims);
    *cursor = *end ? end + 1 : end;
    *end = '\0';
    return start;
}

/* One problem: "class=C culprit=F" in any order, words separated by blanks. */
static int parse_problem(char *text, struct drillscore_problem *p, char *err, size_t errlen)
{
    char *cursor = text;
    memset(p, 0, sizeof *p);
    for (char *word; (word = next_token(&cursor, " \t"));) {
        char *eq = strchr(word, '=');
        if (!eq) {
            snprintf(err, errlen, "'%.60s' is not key=value (class=CLASS culprit=FUNCTION)", word);
            return -1;
        }
        *eq++ = '\0';
        if (strcmp(word, "class") == 0) {
            if (!diagnose_class_valid(eq)) {
                snprintf(err, errlen, "'%.40s' is not a class (thread-leak, memory-leak, lock-contention, "
                                      "queue-full, blocked-producer, cpu-slowdown)", eq);
                return -1;
            }
            snprintf(p->class_name, sizeof p->class_name, "%s", eq);
        } else if (strcmp(word, "culprit") == 0) {
            if (!drillscore_culprit_valid(eq)) {
                snprintf(err, errlen, "'%.60s' is not a function name", eq);
                return -1;
            }
            snprintf(p->culprit, sizeof p->culprit, "%s", eq);
        } else {
            snprintf(err, errlen, "unknown key '%.30s' (class, culprit)", word);
            return -1;
        }
    }
    if (!p->class_name[0]) {
        snprintf(err, errlen, "each problem needs class=CLASS");
        return -1;
    }
    return 0;
}

int drillscore_answer_parse(const char *text, struct drillscore_answer *out, char *err, size_t errlen)
{
    char buf[DRILLSCORE_MAX_ANSWER_TEXT + 1], *cursor, *trimmed, *part;
    size_t len = strlen(text);

    memset(out, 0, sizeof *out);
    if (len > DRILLSCORE_MAX_ANSWER_TEXT) {
        snprintf(err, errlen, "answer longer than %d characters", DRILLSCORE_MAX_ANSWER_TEXT);
        return -1;
    }
    memcpy(buf, text, len + 1);
    trimmed = buf + strspn(buf, " \t\r\n");
    for (size_t n = strlen(trimmed); n && isspace((unsigned char)trimmed[n - 1]); n--)
        trimmed[n - 1] = '\0';
    if (drillscore_healthy_word(trimmed))
        return 0;
    if (!*trimmed) {
        snprintf(err, errlen, "empty answer (\"healthy\", or class=CLASS culprit=FUNCTION)");
        return -1;
    }
    for (cursor = trimmed; (part = next_token(&cursor, ";"));) {
        if (strspn(part, " \t") == strlen(part))
            continue;
        if (out->n == DRILLSCORE_MAX_ANSWERS) {
            snprintf(err, errlen, "at most %d problems in one answer", DRILLSCORE_MAX_ANSWERS);
            return -1;
        }
        if (parse_problem(part, &out->problems[out->n], err, errlen) < 0)
            return -1;
        out->n++;
    }
    return 0;
}

char *drillscore_answer_format(const struct drillscore_answer *a, char *buf, size_t buflen)
{
    size_t used = 0;
    if (!a->n) {
        snprintf(buf, buflen, "healthy");
        return buf;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < a->n && used < buflen; i++) {
        int n = snprintf(buf + used, buflen - used, "%sclass=%s%s%s", i ? "; " : "", a->problems[i].class_name,
                         a->problems[i].culprit[0] ? " culprit=" : "", a->problems[i].culprit);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

double drillscore_truth_first(const struct drillscore_truth *t)
{
    double first = t->n ? INFINITY : 0;
    for (size_t i = 0; i < t->n; i++)
        first = fmin(first, t->items[i].at);
    return first;
}

int drillscore_truth_load(struct resultdb *db, int64_t run_id, struct drillscore_truth *out, char *err,
                          size_t errlen)
{
    struct runs_phase *phases;
    size_t nphases;

    memset(out, 0, sizeof *out);
    if (runs_phases(db, run_id, &phases, &nphases, err, errlen) < 0)
        return -1;
    /* Each fault once, at the time it first went on (phases come in that order), then
     * by time and name. */
    for (size_t i = 0; i < nphases && out->n < DRILLSCORE_MAX_TRUTH; i++) {
        int k = drillscore_fault_index(phases[i].fault);
        size_t at;
        bool seen = false;

        if (k < 0 || strcmp(phases[i].term, "off") == 0)
            continue;
        for (size_t j = 0; j < out->n && !seen; j++)
            seen = strcmp(out->items[j].fault, drillscore_faults[k].fault) == 0;
        if (seen)
            continue;
        for (at = out->n; at > 0 && out->items[at - 1].at == phases[i].on_at &&
                          strcmp(out->items[at - 1].fault, drillscore_faults[k].fault) > 0; at--)
            out->items[at] = out->items[at - 1];
        snprintf(out->items[at].fault, sizeof out->items[at].fault, "%s", drillscore_faults[k].fault);
        snprintf(out->items[at].term, sizeof out->items[at].term, "%.63s", phases[i].term);
        out->items[at].at = phases[i].on_at;
        out->items[at].class_name = drillscore_faults[k].class_name;
        out->items[at].culprit = drillscore_faults[k].culprit;
        out->n++;
    }
    free(phases);
    return 0;
}

void drillscore_mark(const struct drillscore_truth *truth, const struct drillscore_answer *answer,
                     struct drillscore_result *out)
{
    double classes, culprits;

    memset(out, 0, sizeof *out);
    out->problems = (int)truth->n;
    out->detected = (answer->n > 0) == (truth->n > 0);
    for (size_t i = 0; i < truth->n; i++) {
        bool cls = false, cul = false;
        for (size_t j = 0; j < answer->n; j++) {
            cls = cls || strcmp(answer->problems[j].class_name, truth->items[i].class_name) == 0;
            cul = cul || strcmp(answer->problems[j].culprit, truth->items[i].culprit) == 0;
        }
        out->classes_right += cls;
        out->culprits_right += cul;
    }
    for (size_t j = 0; j < answer->n; j++) {
        bool there = false;
        for (size_t i = 0; i < truth->n; i++)
            there = there || strcmp(answer->problems[j].class_name, truth->items[i].class_name) == 0;
        out->extra += !there;
    }
    if (!truth->n) {
        out->score = out->detected ? 100 : 0;
        return;
    }
    if (!out->detected)
        return;
    classes = fmax(0, out->classes_right - 0.5 * out->extra) / truth->n;
    culprits = (double)out->culprits_right / truth->n;
    out->score = 100.0 * (1 + classes + culprits) / 3;
}

/* ---- history ------------------------------------------------------------------ */

/* Per class: how often it was there, and how often the answer named it. */
struct class_tally {
    int there[DIAGNOSE_CLASS_COUNT], named[DIAGNOSE_CLASS_COUNT];
};

/* "queue-full + thread-leak" from the truth JSON, counting each class in tally. */
static void truth_summary(const char *json, const char *answer_text, struct class_tally *tally, char *out,
                          size_t outlen)
{
    json_t *arr = json_loads(json ? json : "[]", 0, NULL);
    struct drillscore_answer answer = {0};
    size_t i, used = 0;
    json_t *item;
    char err[128];

    out[0] = '\0';
    if (answer_text && drillscore_answer_parse(answer_text, &answer, err, sizeof err) < 0)
        answer.n = 0;
    json_array_foreach(arr, i, item)
    {
        const char *cls = json_string_value(json_object_get(item, "class"));
        int n;
        if (!cls)
            continue;
        for (size_t c = 0; c < DIAGNOSE_CLASS_COUNT; c++) {
            if (strcmp(cls, diagnose_classes[c]) != 0)
                continue;
            tally->there[c]++;
            for (size_t j = 0; j < answer.n; j++)
                if (strcmp(answer.problems[j].class_name, cls) == 0) {
                    tally->named[c]++;
                    break;
                }
        }
        n = snprintf(out + used, outlen - used, "%s%s", used ? " + " : "", cls);
        if (n < 0 || (size_t)n >= outlen - used)
            break;
        used += (size_t)n;
    }
    if (!used)
        snprintf(out, outlen, "healthy");
    json_decref(arr);
}

/* The pass of drillscore_history over the drills. */
struct history_pass {
    FILE *out;
    const char *trainee;
    struct class_tally tally;
    int rows, answered, detected, problems, classes, culprits, timed, mitigations, healed, restarts, bought;
    double score_sum, time_sum, recent[3];
};

static void history_row(void *user, const struct drills_record *d)
{
    struct history_pass *h = user;
    char truth[160], who[16] = "", t[16] = "-", sc[8] = "-", healed[48] = "-";
    bool restart = d->mitigation_method && strcmp(d->mitigation_method, DRILLS_METHOD_RESTART) == 0;
    double score = isnan(d->score) ? 0 : d->score;

    if (h->rows++ == 0)
        fprintf(h->out, "%4s  %s%-16s  %-3s  %-30s  %-44s  %-6s  %-5s  %-7s  %7s  %5s  %s\n", "ID",
                h->trainee ? "" : "TRAINEE       ", "WHEN (UTC)", "LVL", "TRUTH", "ANSWER", "DETECT", "CLASS",
                "CULPRIT", "TIME", "SCORE", "HEALED");
    if (!h->trainee)
        snprintf(who, sizeof who, "%-12.12s  ", d->trainee);
    if (strcmp(d->status, "aborted") == 0) {
        fprintf(h->out, "%4lld  %s%-16.16s  %-3d  %-30s  aborted\n", (long long)d->id, who, d->started_at, d->level,
                "(not revealed)");
        return;
    }
    truth_summary(d->truth, d->answer, &h->tally, truth, sizeof truth);
    if (!isnan(d->time_s))
        snprintf(t, sizeof t, "%.1fs", d->time_s);
    if (!isnan(d->score))
        snprintf(sc, sizeof sc, "%.0f", d->score);
    if (d->mitigated != DRILLS_MITIGATION_NONE && restart && !isnan(d->time_bought_s))
        snprintf(healed, sizeof healed, "%s (restart: bought %.1fs)", d->mitigated == DRILLS_MITIGATION_HEALED ? "yes" : "no",
                 d->time_bought_s);
    else if (d->mitigated != DRILLS_MITIGATION_NONE)
        snprintf(healed, sizeof healed, "%s%s", d->mitigated == DRILLS_MITIGATION_HEALED ? "yes" : "no",
                 restart ? " (restart)" : "");
    fprintf(h->out, "%4lld  %s%-16.16s  %-3d  %-30.30s  %-44.44s  %-6s  %d/%-3d  %d/%-5d  %7s  %5s  %s\n",
            (long long)d->id, who, d->started_at, d->level, truth, d->answer ? d->answer : "(none)",
            d->detected ? "right" : "wrong", d->classes_right, d->problems, d->culprits_right, d->problems, t, sc,
            healed);
    if (d->mitigated != DRILLS_MITIGATION_NONE) {
        h->mitigations++;
        h->healed += d->mitigated == DRILLS_MITIGATION_HEALED;
        h->restarts += restart;
        h->bought += restart && !isnan(d->time_bought_s);
    }
    h->answered++;
    h->detected += d->detected;
    h->problems += d->problems;
    h->classes += d->classes_right;
    h->culprits += d->culprits_right;
    h->score_sum += score;
    h->recent[0] = h->recent[1];
    h->recent[1] = h->recent[2];
    h->recent[2] = score;
    if (!isnan(d->time_s)) {
        h->time_sum += d->time_s;
        h->timed++;
    }
}

int drillscore_history(struct resultdb *db, const char *trainee, FILE *out, char *err, size_t errlen)
{
    struct history_pass h = {.out = out, .trainee = trainee};
    int rc = drills_foreach(db, trainee, history_row, &h, err, errlen);

    if (rc < 0)
        return -1;
    if (rc == 1) {
        fprintf(out, "(no drills yet)\n");
        return 0;
    }
    if (!h.rows) {
        fprintf(out, "(no drills yet%s%s)\n", trainee ? " for " : "", trainee ? trainee : "");
        return 0;
    }
    if (!h.answered)
        return 0;
    fprintf(out, "\nProgress: %d drill%s scored, mean score %.0f", h.answered, h.answered == 1 ? "" : "s",
            h.score_sum / h.answered);
    if (h.answered >= 3)
        fprintf(out, " (last three: %.0f)", (h.recent[0] + h.recent[1] + h.recent[2]) / 3);
    fprintf(out, "; detection right %d/%d; classes right %d/%d; culprits named %d/%d", h.detected, h.answered,
            h.classes, h.problems, h.culprits, h.problems);
    if (h.timed)
        fprintf(out, "; mean time to answer %.0fs", h.time_sum / h.timed);
    if (h.mitigations)
        fprintf(out, "; healed %d/%d", h.healed, h.mitigations);
    if (h.restarts)
        fprintf(out, " (%d by restart, which bought time against a leak %d time%s)", h.restarts, h.bought,
                h.bought == 1 ? "" : "s");
    fprintf(out, ".\nBy class (named / there):");
    for (size_t c = 0; c < DIAGNOSE_CLASS_COUNT; c++)
        if (h.tally.there[c])
            fprintf(out, " %s %d/%d", diagnose_classes[c], h.tally.named[c], h.tally.there[c]);
    fprintf(out, "\n");
    return 0;
}
