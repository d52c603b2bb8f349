/* runlead: the section a run's page opens with, for the person on call — what is
 * wrong, since when and where: a run that did not complete says so first, then the
 * stored verdict of `loadlab diagnose` (one box per finding: class, culprit, start,
 * confidence, summary and the facts behind it; or "No problem found"; or how to get
 * one), then the gates that tripped (crossed their threshold whatever the scenario
 * expected), each with its observed value and threshold in one unit and a link to its
 * chart. Whether the run met its scenario's expectations comes after, on runpage. */
#ifndef LOADLAB_RUNLEAD_H
#define LOADLAB_RUNLEAD_H

#include <stdio.h>

#include "report/runcharts.h"
#include "report/runinfo.h"

/* Writes the Diagnosis section (h2 id "diagnosis") for run; charts (may be NULL)
 * decides which tripped gates link to a chart. */
void runlead_write(FILE *f, const struct runinfo *run, const struct runcharts *charts);

#endif
