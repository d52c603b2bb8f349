/* instrument: service-wide instrumentation settings. See instrument.h. */
#include "instrument.h"

#include <string.h>

struct instrument_settings instrument = {
    .level = INSTRUMENT_METRICS,
    .mutex_fraction = 10,
    .block_rate_ns = 1000000,
};

static const char *const level_names[] = {"off", "metrics", "profile"};

int instrument_level_parse(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

const char *instrument_level_name(int level)
{
    return level >= 0 && level < 3 ? level_names[level] : "unknown";
}
