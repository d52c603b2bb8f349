/* runpage: one run's HTML page — the diagnosis first (what is wrong, since when,
 * where: the stored verdict of `loadlab diagnose`, or "no problem found", and the
 * gates that tripped), then the expectation check CI acts on, the run's facts (label,
 * git revision, host, times, status and why), the incident evidence, the gates
 * against their thresholds, the fault timeline, the charts, wrk's figures and the
 * scenario's settings — and the words for a run's outcome that the index and the
 * Markdown summary share.
 *
 * Written for someone on call opening a run in the middle of the night: what is
 * wrong comes first, in words; whether the run met its scenario's expectations (a
 * fault scenario that trips its gate "meets" them) is for the CI author and comes
 * after. Every figure is written by the formatter of its quantity (units.h). */
#ifndef LOADLAB_RUNPAGE_H
#define LOADLAB_RUNPAGE_H

#include <stddef.h>
#include <stdio.h>

#include "report/runcharts.h"
#include "report/runevidence.h"
#include "report/runinfo.h"

/* The run's outcome in words ("met expectations", "did not meet expectations",
 * "crashed", "aborted", "running", "not judged") and its CSS class (html.h). */
const char *runpage_outcome(const struct runinfo *run, const char **css_class);

/* A gate's observed value for people ("12.3ms", "4.1%"), or "-" when not judged.
 * Returns buf. */
char *runpage_format_observed(const struct runinfo_gate *g, char *buf, size_t buflen);

/* A gate's threshold in the unit its observed value is written in ("< 0.05s/s"),
 * or the threshold as stored when the gate does not parse. Returns buf. */
char *runpage_format_threshold(const struct runinfo_gate *g, char *buf, size_t buflen);

/* An ISO 8601 timestamp as the database keeps it ("2026-11-28T02:04:47.343Z") for
 * people: "2026-11-28 02:04:47". Returns buf. */
char *runpage_time(const char *iso, char *buf, size_t buflen);

/* What the scenario expected of the gate: "trip" or "hold". */
const char *runpage_expected(const struct runinfo_gate *g);

/* The run's regression verdicts as an HTML table (gate, change, both sides, ratio and
 * interval in words, method, verdict, why); nothing when it has none. */
void runpage_write_regressions(FILE *f, const struct runinfo *run);

/* Writes the page to path. charts may be NULL (nothing drawn); chart_problem, when
 * not empty, says why charts are missing. evidence is what runevidence_write wrote
 * beside the page (NULL: none). index_href links back to the index. Returns 0, or -1
 * with err filled when the file cannot be written. */
int runpage_write(const char *path, const struct runinfo *run, const struct runcharts *charts,
                  const char *chart_problem, const struct runevidence *evidence, const char *index_href,
                  const char *footer, char *err, size_t errlen);

#endif
