/* progress: a run's live terminal line. See progress.h. */
#include "run/progress.h"

#include <math.h>

char *progress_format(char *buf, size_t buflen, const char *name, bool warmup, double elapsed, double total,
                      const struct scrape_headline *now, const struct scrape_headline *before)
{
    double rate = NAN;
    char queue[64] = "-", threads[32] = "-", rps[32] = "-";

    if (now->t > before->t && now->requests >= before->requests)
        rate = (now->requests - before->requests) / (now->t - before->t);
    if (!isnan(rate))
        snprintf(rps, sizeof rps, "%.0f req/s", rate);
    if (!isnan(now->threads))
        snprintf(threads, sizeof threads, "%.0f", now->threads);
    if (!isnan(now->queue_depth))
        snprintf(queue, sizeof queue, isnan(now->queue_capacity) ? "%.0f" : "%.0f/%.0f", now->queue_depth,
                 now->queue_capacity);
    snprintf(buf, buflen, "%s  %s %4.1fs/%.0fs  remaining %4.1fs  %s  threads %s  queue %s", name,
             warmup ? "warmup" : "load", elapsed, total, elapsed < total ? total - elapsed : 0, rps, threads,
             queue);
    return buf;
}

void progress_draw(FILE *out, const char *line)
{
    fprintf(out, "\r\033[K%s", line);
    fflush(out);
}

void progress_clear(FILE *out, bool drawn)
{
    if (drawn)
        fputs("\r\033[K", out);
}
