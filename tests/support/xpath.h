/* xpath: a written file read back the way its reader would read it — by libxml2's
 * parsers, through xmllint (libxml2-utils) — so tests of JUnit files, SVG charts and
 * report pages assert on the parsed document, not on its text. XML files are parsed
 * strictly; HTML files with libxml2's HTML parser, whose complaints about HTML5
 * elements it does not know (main, nav, figure) are ignored. */
#ifndef TESTS_XPATH_H
#define TESTS_XPATH_H

#include <stdbool.h>

/* The answer of XPath expr on the file (a string, a number or the matching nodes as
 * xmllint prints them), without its trailing newline. Caller frees with free. Fails
 * the test when xmllint cannot parse the file or the expression. An empty node set
 * gives "". */
char *xpath_eval(const char *path, bool html, const char *expr);

/* expr's answer as a number; fails the test when it is not one. */
long xpath_number(const char *path, bool html, const char *expr);

/* Fails the test, with xmllint's complaint, unless the file is well-formed XML. */
void xpath_assert_well_formed(const char *path);

/* Fails the test unless expr's answer is exactly expected. */
void xpath_assert_string(const char *path, bool html, const char *expr, const char *expected);

#endif
