/* fuzz_wrkres: the JSON summary wrk's done() hook writes, which loadlab reads back.
 * A summary that is accepted must give figures the gates can use: counts that are not
 * wrapped negatives, and derived rates without a crash. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/wrkres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wrkres r;
    char err[512];

    if (wrkres_parse((const char *)data, size, &r, err, sizeof err) < 0)
        return 0;
    if (!(r.duration_s >= 0)) {
        fprintf(stderr, "accepted a duration of %g s\n", r.duration_s);
        abort();
    }
    (void)wrkres_throughput(&r);
    (void)wrkres_error_rate(&r);
    (void)wrkres_errors(&r);
    return 0;
}
