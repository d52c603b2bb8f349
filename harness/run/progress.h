/* progress: the live line a run draws on a terminal's stderr while its load runs —
 * scenario, stage, time done and left, the request rate between the last two scrapes,
 * the service's threads and its queue.
 *
 * Formatting is kept apart from drawing so that the line can be checked in a test
 * without a terminal; a figure the service does not expose shows as "-". */
#ifndef LOADLAB_PROGRESS_H
#define LOADLAB_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "run/scrape.h"

/* Writes the line (no escape codes, no newline) into buf: name, "warmup" or "load",
 * elapsed/total seconds, what remains, and the figures of now against before.
 * Returns buf. */
char *progress_format(char *buf, size_t buflen, const char *name, bool warmup, double elapsed, double total,
                      const struct scrape_headline *now, const struct scrape_headline *before);

/* Draws line over the current terminal line of out. */
void progress_draw(FILE *out, const char *line);

/* Clears the line drawn last, if drawn. */
void progress_clear(FILE *out, bool drawn);

#endif
