/* html: the pieces every report page shares — escaping, one inline style sheet, the
 * words and colours for outcomes — so the index and the run pages read alike.
 *
 * Pages are plain HTML5 with the CSS inline and no script, fonts or images from
 * elsewhere: a report copied out of a CI job opens from the file system, offline. */
#ifndef LOADLAB_HTML_H
#define LOADLAB_HTML_H

#include <stdio.h>

/* Writes text with &, <, >, " and ' escaped; control characters become spaces. */
void html_escape(FILE *f, const char *text);

/* Writes len bytes of text for a <pre>: escaped as html_escape, but tabs are kept
 * (thread dumps and profiles align their columns with them). */
void html_escape_pre(FILE *f, const char *text, size_t len);

/* Writes the document head (title escaped, style sheet inline) and opens <main>. */
void html_begin(FILE *f, const char *title);

/* Closes <main> with a footer line (escaped; may be NULL) and the document. */
void html_end(FILE *f, const char *footer);

/* The CSS class for a gate outcome word as gate_verdicts gives it ("held" -> "ok",
 * "tripped as expected" -> "expected", "failed" -> "bad", ...). */
const char *html_outcome_class(const char *outcome);

/* A pill: <span class="pill CLASS">text</span>, text escaped. */
void html_pill(FILE *f, const char *css_class, const char *text);

#endif
