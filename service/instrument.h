/* instrument: the service-wide instrumentation settings, readable from any thread
 * without a lock and changeable at runtime (/debug/config).
 *
 *   off      counts nothing the debug port does not itself need
 *   metrics  counters, gauges and histograms for /metrics
 *   profile  metrics plus mutex/block sampling and stack capture
 *
 * Mutex sampling follows Go's SetMutexProfileFraction: on average 1 in `fraction`
 * contention events is recorded (0 turns it off). Block sampling follows
 * SetBlockProfileRate: an event blocked for `rate` ns or more is always recorded,
 * a shorter one with probability duration/rate (0 turns it off). */
#ifndef ORDERD_INSTRUMENT_H
#define ORDERD_INSTRUMENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum instrument_level { INSTRUMENT_OFF = 0, INSTRUMENT_METRICS = 1, INSTRUMENT_PROFILE = 2 };

struct instrument_settings {
    _Atomic int level;               /* enum instrument_level */
    _Atomic int64_t mutex_fraction;  /* 1 in N contention events sampled; 0 = none */
    _Atomic int64_t block_rate_ns;   /* see above; 0 = none */
};

extern struct instrument_settings instrument;

static inline bool instrument_metrics_on(void)
{
    return atomic_load_explicit(&instrument.level, memory_order_relaxed) >= INSTRUMENT_METRICS;
}

static inline bool instrument_profile_on(void)
{
    return atomic_load_explicit(&instrument.level, memory_order_relaxed) >= INSTRUMENT_PROFILE;
}

/* "off", "metrics", "profile" <-> level. Parse returns -1 on an unknown name. */
int instrument_level_parse(const char *name);
const char *instrument_level_name(int level);

#endif
