/* scenario, internal: what the file reader (scenario.c) and the key handlers
 * (scenario_keys.c) share while one file is parsed. Not for use outside run/scenario*. */
#ifndef LOADLAB_SCENARIO_PARSE_H
#define LOADLAB_SCENARIO_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "run/scenario.h"

#define SCENARIO_MAX_SECTIONS (SCENARIO_MAX_PHASES + 8)
#define SCENARIO_MAX_KEYS 256

/* One file's parse: where the reader is, what it has seen, the first error. */
struct scenario_parse {
    struct scenario *sc;
    const char *file;
    const char *text;
    size_t len, pos;
    int lineno;
    char section[80];          /* the section the reader is in */
    struct {
        char name[80];
        int line;
    } sections[SCENARIO_MAX_SECTIONS];
    size_t nsections;
    struct {
        char section[80];
        char key[GATE_MAX_NAME];
        int line;
    } keys[SCENARIO_MAX_KEYS];
    size_t nkeys;
    bool failed;
    char *err;
    size_t errlen;
    int duration_line, sample_interval_line, connections_line, expect_line, url_line;
    int fault_line;
    int prometheus_line, selector_line;
    int service_cpu_line;
    int model_line, arrival_line, max_in_flight_line, lag_limit_line;  /* [load], open model */
    bool model_open;                                   /* model = open */
    char expect[SCENARIO_MAX_TEXT];
    int phase_fault_line[SCENARIO_MAX_PHASES];
    int phase_at_line[SCENARIO_MAX_PHASES];
    int phase_until_line[SCENARIO_MAX_PHASES];
};

/* Records the first error as "file:line: message" ("file: message" for line 0); later
 * ones are dropped. Returns -1. */
__attribute__((format(printf, 3, 4)))
int scenario_fail_at(struct scenario_parse *st, int line, const char *fmt, ...);

/* Whether s is non-empty letters, digits and characters of extra. */
bool scenario_valid_word(const char *s, const char *extra);

/* Handles one key of a section (its value non-empty but in [expect]). Returns 0, or
 * -1 with the error recorded. */
int scenario_on_key(struct scenario_parse *st, const char *section, const char *key, const char *value);

#endif
