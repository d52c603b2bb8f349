/* verdict: gate outcomes against expectations. See verdict.h. */
#include "judge/verdict.h"

enum verdict_outcome verdict_outcome(int passed, bool expected_to_fail)
{
    if (passed < 0)
        return VERDICT_ERROR;
    if (passed == 0)
        return expected_to_fail ? VERDICT_TRIPPED_AS_EXPECTED : VERDICT_FAILED;
    return expected_to_fail ? VERDICT_HELD_UNEXPECTEDLY : VERDICT_HELD;
}

enum verdict_outcome verdict_of_gate(enum gate_verdict verdict, bool expected_to_fail)
{
    int passed = verdict == GATE_PASS ? 1 : verdict == GATE_FAIL ? 0 : -1;
    return verdict_outcome(passed, expected_to_fail);
}

bool verdict_met(enum verdict_outcome outcome)
{
    return outcome == VERDICT_HELD || outcome == VERDICT_TRIPPED_AS_EXPECTED;
}

const char *verdict_word(enum verdict_outcome outcome)
{
    switch (outcome) {
    case VERDICT_HELD: return VERDICT_WORD_HELD;
    case VERDICT_TRIPPED_AS_EXPECTED: return VERDICT_WORD_TRIPPED_AS_EXPECTED;
    case VERDICT_FAILED: return VERDICT_WORD_FAILED;
    case VERDICT_HELD_UNEXPECTEDLY: return VERDICT_WORD_HELD_UNEXPECTEDLY;
    case VERDICT_ERROR: break;
    }
    return VERDICT_WORD_ERROR;
}

const char *verdict_word_loud(enum verdict_outcome outcome)
{
    switch (outcome) {
    case VERDICT_FAILED: return "FAILED";
    case VERDICT_HELD_UNEXPECTEDLY: return "HELD BUT WAS EXPECTED TO TRIP";
    case VERDICT_ERROR: return "ERROR";
    default: return verdict_word(outcome);
    }
}
