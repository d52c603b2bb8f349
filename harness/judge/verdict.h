/* verdict: the one vocabulary for what a gate's verdict means against its scenario's
 * expectation. The terminal summary, JUnit, the report and the `gate_verdicts` SQL
 * view all take their words and their "met the expectation" rule from here, so a run
 * reads the same wherever it is looked at. */
#ifndef LOADLAB_VERDICT_H
#define LOADLAB_VERDICT_H

#include <stdbool.h>

#include "judge/gate.h"

enum verdict_outcome {
    VERDICT_HELD,                 /* held, and was expected to hold */
    VERDICT_TRIPPED_AS_EXPECTED,  /* tripped, and was expected to trip */
    VERDICT_FAILED,               /* tripped, but was expected to hold */
    VERDICT_HELD_UNEXPECTEDLY,    /* held, but was expected to trip */
    VERDICT_ERROR,                /* could not be judged */
};

/* The words, as string literals so that the SQL view can be built from them. */
#define VERDICT_WORD_HELD "held"
#define VERDICT_WORD_TRIPPED_AS_EXPECTED "tripped as expected"
#define VERDICT_WORD_FAILED "failed"
#define VERDICT_WORD_HELD_UNEXPECTEDLY "held but was expected to trip"
#define VERDICT_WORD_ERROR "error"

/* A SQL CASE expression giving the word for a row whose `passed` column is 1 (held),
 * 0 (tripped) or NULL (error) and whose `expected` column is 0 or 1. */
#define VERDICT_SQL_CASE(passed, expected)                                              \
    "CASE WHEN " passed " IS NULL THEN '" VERDICT_WORD_ERROR "'"                        \
    " WHEN " passed " = 1 AND " expected " = 0 THEN '" VERDICT_WORD_HELD "'"            \
    " WHEN " passed " = 0 AND " expected " = 1 THEN '" VERDICT_WORD_TRIPPED_AS_EXPECTED "'" \
    " WHEN " passed " = 0 THEN '" VERDICT_WORD_FAILED "'"                               \
    " ELSE '" VERDICT_WORD_HELD_UNEXPECTEDLY "' END"

/* passed: 1 the gate held, 0 it tripped, -1 it could not be judged. */
enum verdict_outcome verdict_outcome(int passed, bool expected_to_fail);

/* The same, from a gate verdict as the judge gives it. */
enum verdict_outcome verdict_of_gate(enum gate_verdict verdict, bool expected_to_fail);

/* True for the outcomes a scenario meant: held or tripped as expected. */
bool verdict_met(enum verdict_outcome outcome);

/* The outcome's word ("held", "tripped as expected", ...); never NULL. */
const char *verdict_word(enum verdict_outcome outcome);

/* The word for a CI log: upper case where the expectation was not met ("FAILED"),
 * so it stands out without colour; never NULL. */
const char *verdict_word_loud(enum verdict_outcome outcome);

#endif
