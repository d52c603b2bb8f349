/* heapscale: the unsampling of a sampled heap profile, shared by orderd's heap profile
 * (which writes scaled values into profile.proto) and loadlab's reader of the legacy
 * text (which, as pprof does, scales the raw counts by the rate in its header).
 *
 * Go's runtime and pprof scale a heap bucket the same way (runtime/pprof's
 * scaleHeapSample): an allocation of s bytes is sampled with probability
 * 1-exp(-s/rate) when one sample is taken per `rate` bytes with exponential gaps, so
 * each sample of a bucket of average size s stands for 1/(1-exp(-s/rate)) of them. */
#ifndef LOADLAB_HEAPSCALE_H
#define LOADLAB_HEAPSCALE_H

#include <stdint.h>

/* `count` samples totalling `bytes`, taken at one sample per `rate` bytes, scaled to
 * the allocations they stand for (rounded). rate <= 1 (every allocation), count == 0
 * or bytes == 0 leave the values as they are. */
void heapscale_unsample(uint64_t count, uint64_t bytes, int64_t rate, uint64_t *scaled_count,
                        uint64_t *scaled_bytes);

#endif
