/* promsource: a fleet's samples read from Prometheus instead of scraped directly.
 *
 * With `[service] prometheus = URL` and `selector = {job="orderd"}` the run does not
 * scrape the service: at every sample_interval it asks Prometheus (query_range over
 * the one step ending now) for every series the selector picks, on all replicas, and
 * records each with its labels, `instance` included, into the database and the series
 * store, in place of a scrape. The gates, the throughput windows, the progress line and
 * evidence capture thus see data as recent as Prometheus' last scrape of each target;
 * one query over the whole run at its end would leave them blind during it.
 *
 * Prometheus' own failures are never a healthy zero: a failed query (unreachable, an
 * error answer) records no sample and is counted like a failed scrape, and answers
 * missing for PROMSOURCE_UNREACHABLE_NS abort the run; an answer with warnings (partial
 * data) is recorded and named; a target whose `up` is 0 for PROMSOURCE_DOWN_NS (a
 * replica gone) ends the run as a crashed service does, naming the instance.
 * Beside the service's series, per tick: loadlab_prometheus_sample_age_seconds per
 * instance (how old Prometheus' newest sample of that target is: time() minus the
 * timestamp of its `up`), loadlab_prometheus_query_seconds,
 * loadlab_prometheus_partial (1 when the answer had warnings), and
 * loadlab_prometheus_query_failed (1 at a sample whose query failed, the failure's
 * words in the run's note). */
#ifndef LOADLAB_PROMSOURCE_H
#define LOADLAB_PROMSOURCE_H

#include <stddef.h>

#include "run/scenario.h"
#include "run/scrape.h"

#define PROMSOURCE_UNREACHABLE_NS 3000000000LL
#define PROMSOURCE_DOWN_NS 3000000000LL
#define PROMSOURCE_MAX_TARGETS 256

#define PROMSOURCE_AGE_METRIC "loadlab_prometheus_sample_age_seconds"
#define PROMSOURCE_QUERY_METRIC "loadlab_prometheus_query_seconds"
#define PROMSOURCE_PARTIAL_METRIC "loadlab_prometheus_partial"
#define PROMSOURCE_FAILED_METRIC "loadlab_prometheus_query_failed"
#define PROMSOURCE_FLEET_LATENCY_METRIC "loadlab_fleet_latency_seconds"

struct promsource;

/* Returns a source for sc's prometheus and selector (reading its token file, if
 * any), or NULL with err filled. Free with promsource_free. */
struct promsource *promsource_new(const struct scenario *sc, char *err, size_t errlen);
void promsource_free(struct promsource *p);

/* Takes one sample at run time t, Prometheus evaluating at unix time now_unix, into
 * s (its db, run_id, series and requests_metric; its headline and counts updated as
 * scrape_take does). Returns SCRAPE_OK (a failed query counted in s->failures and
 * s->last_err), SCRAPE_FAILED (recording failed, or Prometheus unanswered too long),
 * or SCRAPE_GONE (a target down too long), with err filled. */
enum scrape_status promsource_take(struct promsource *p, struct scraper *s, double t, double now_unix,
                                   char *err, size_t errlen);

/* The fleet's latency over the steady state [from_unix, to_unix], from the service's
 * request-duration histogram summed over every instance (PromQL's
 * histogram_quantile(q, sum by (le) (rate(..._bucket[window])))), for q = 0.5, 0.9,
 * 0.99, 0.999: recorded at run time t as FLEET_LATENCY_METRIC{quantile="q"} in the
 * database and, for metric.* gates, in the series store's current tick. A service
 * without that histogram records nothing. Returns 0 (a failed query is counted in
 * s->failures), or -1 with err filled when recording failed. */
int promsource_fleet_latency(struct promsource *p, struct scraper *s, double t, double from_unix, double to_unix,
                             char *err, size_t errlen);

/* A note for the run's reason on what Prometheus got wrong that did not stop the run
 * (partial answers, targets down for a while), or "" when nothing did. */
void promsource_note(const struct promsource *p, char *out, size_t outlen);

#endif
