/* schedule: run order and baseline environment. See schedule.h. */
#include "run/schedule.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 128

struct schedule_entry *schedule_build(size_t nscenarios, unsigned repeat, bool with_baseline,
                                      size_t *n, char *err, size_t errlen)
{
    size_t per_round = nscenarios * (with_baseline ? 2 : 1), k = 0;
    struct schedule_entry *order;

    if (repeat < 1 || repeat > SCHEDULE_MAX_REPEAT) {
        snprintf(err, errlen, "--repeat must be 1..%d", SCHEDULE_MAX_REPEAT);
        return NULL;
    }
    if (nscenarios == 0 || per_round > SCHEDULE_MAX_RUNS / repeat) {
        snprintf(err, errlen, "%zu scenarios x %u rounds%s is more than %d runs", nscenarios, repeat,
                 with_baseline ? " x 2 builds" : "", SCHEDULE_MAX_RUNS);
        return NULL;
    }
    order = calloc(per_round * repeat, sizeof *order);
    if (!order) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (unsigned round = 0; round < repeat; round++)
        for (size_t i = 0; i < nscenarios; i++) {
            size_t sc = (i + round) % nscenarios;
            if (!with_baseline) {
                order[k++] = (struct schedule_entry){sc, round, false};
                continue;
            }
            /* ABBA: rounds 0, 2, ... baseline first; rounds 1, 3, ... candidate first */
            order[k++] = (struct schedule_entry){sc, round, round % 2 == 0};
            order[k++] = (struct schedule_entry){sc, round, round % 2 != 0};
        }
    *n = k;
    return order;
}

int schedule_env_check(const char *assignment, char *err, size_t errlen)
{
    const char *eq = strchr(assignment, '=');
    size_t len = eq ? (size_t)(eq - assignment) : 0;

    if (!eq || len == 0 || len >= MAX_NAME || isdigit((unsigned char)assignment[0])) {
        snprintf(err, errlen, "'%s' must read NAME=VALUE", assignment);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)assignment[i]) && assignment[i] != '_') {
            snprintf(err, errlen, "'%.*s' is not a variable name", (int)len, assignment);
            return -1;
        }
    return 0;
}

struct schedule_env {
    size_t n;
    struct {
        char name[MAX_NAME];
        char *old_value;   /* NULL: was unset */
    } saved[SCHEDULE_MAX_ENV];
};

static void restore_first(struct schedule_env *s, size_t count)
{
    for (size_t i = count; i-- > 0;) {
        if (s->saved[i].old_value)
            setenv(s->saved[i].name, s->saved[i].old_value, 1);
        else
            unsetenv(s->saved[i].name);
        free(s->saved[i].old_value);
    }
}

struct schedule_env *schedule_env_apply(char *const *assignments, size_t n, char *err, size_t errlen)
{
    struct schedule_env *s = calloc(1, sizeof *s);

    if (!s || n > SCHEDULE_MAX_ENV) {
        snprintf(err, errlen, s ? "more than %d variables" : "out of memory", SCHEDULE_MAX_ENV);
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(assignments[i], '=');
        const char *old;

        snprintf(s->saved[i].name, MAX_NAME, "%.*s", (int)(eq - assignments[i]), assignments[i]);
        old = getenv(s->saved[i].name);
        s->saved[i].old_value = old ? strdup(old) : NULL;
        if ((old && !s->saved[i].old_value) || setenv(s->saved[i].name, eq + 1, 1) < 0) {
            snprintf(err, errlen, "cannot set %s", s->saved[i].name);
            free(s->saved[i].old_value);
            restore_first(s, i);
            free(s);
            return NULL;
        }
        s->n = i + 1;
    }
    return s;
}

void schedule_env_restore(struct schedule_env *saved)
{
    if (!saved)
        return;
    restore_first(saved, saved->n);
    free(saved);
}
