/* heapscale: see heapscale.h. */
#include "heapscale.h"

#include <math.h>

void heapscale_unsample(uint64_t count, uint64_t bytes, int64_t rate, uint64_t *scaled_count,
                        uint64_t *scaled_bytes)
{
    double avg, scale;

    if (count == 0 || bytes == 0 || rate <= 1) {
        *scaled_count = count;
        *scaled_bytes = bytes;
        return;
    }
    avg = (double)bytes / (double)count;
    /* -expm1(-x) is 1-exp(-x) without the cancellation for small x. */
    scale = 1.0 / -expm1(-avg / (double)rate);
    *scaled_count = (uint64_t)((double)count * scale + 0.5);
    *scaled_bytes = (uint64_t)((double)bytes * scale + 0.5);
}
