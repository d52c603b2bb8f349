/* colour: verdicts in colour on a terminal — green for what met its expectation, red
 * for what did not, yellow for what could not be judged — and plain text everywhere
 * else: when the stream is not a terminal (a CI log, a pipe, a file) or when NO_COLOR
 * is set to anything but "" (no-color.org). The words carry the meaning on their own;
 * the colour only makes them quicker to find. */
#ifndef LOADLAB_COLOUR_H
#define LOADLAB_COLOUR_H

#include <stdbool.h>
#include <stdio.h>

#include "judge/verdict.h"

enum colour { COLOUR_PLAIN, COLOUR_GREEN, COLOUR_RED, COLOUR_YELLOW };

/* True when text written to out should be coloured: out is a terminal and NO_COLOR
 * is unset or empty. */
bool colour_wanted(FILE *out);

/* The colour of a verdict: green held or tripped as expected, red failed or held
 * unexpectedly, yellow error. */
enum colour colour_of_verdict(enum verdict_outcome outcome);

/* The escape sequence that starts c, and the one that ends it; "" when on is false or
 * c is COLOUR_PLAIN. Static strings. */
const char *colour_start(bool on, enum colour c);
const char *colour_end(bool on, enum colour c);

#endif
