/* colour: verdict colours on a terminal. See colour.h. */
#include "output/colour.h"

#include <stdlib.h>
#include <unistd.h>

bool colour_wanted(FILE *out)
{
    const char *no_color = getenv("NO_COLOR");
    if (no_color && no_color[0])
        return false;
    return isatty(fileno(out)) == 1;
}

enum colour colour_of_verdict(enum verdict_outcome outcome)
{
    switch (outcome) {
    case VERDICT_HELD:
    case VERDICT_TRIPPED_AS_EXPECTED:
        return COLOUR_GREEN;
    case VERDICT_FAILED:
    case VERDICT_HELD_UNEXPECTEDLY:
        return COLOUR_RED;
    case VERDICT_ERROR:
        break;
    }
    return COLOUR_YELLOW;
}

const char *colour_start(bool on, enum colour c)
{
    static const char *const codes[] = {"", "\033[32m", "\033[31m", "\033[33m"};
    return on && c > COLOUR_PLAIN && c <= COLOUR_YELLOW ? codes[c] : "";
}

const char *colour_end(bool on, enum colour c)
{
    return on && c > COLOUR_PLAIN && c <= COLOUR_YELLOW ? "\033[0m" : "";
}
