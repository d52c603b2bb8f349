/* cmdline: turns a scenario's `command = ...` string into an argv, without a shell.
 *
 * A scenario names the service to spawn as one line. Running it through /bin/sh would
 * put a shell between loadlab and the service (signals, exit status and /proc sampling
 * would all see the shell), so the line is split here with the few shell rules people
 * rely on: words split on blanks, '...' and "..." quoting, backslash escapes, and
 * ${NAME} / ${NAME:-default} taken from the environment (so a suite can point at
 * $ORDERD_BIN). Two placeholders, {port} and {debug_port}, stand for ports loadlab
 * picks; see docs/scenarios.md. */
#ifndef LOADLAB_CMDLINE_H
#define LOADLAB_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* Hard limits: the line comes from a user's file. */
#define CMDLINE_MAX_ARGS 128
#define CMDLINE_MAX_LEN 8192

struct cmdline;

/* Splits and expands text. Returns a new cmdline (free with cmdline_free), or NULL
 * with err filled on unbalanced quotes, a bad ${...}, an empty command or a limit. */
struct cmdline *cmdline_parse(const char *text, char *err, size_t errlen);
void cmdline_free(struct cmdline *cl);

/* The words, NULL-terminated; owned by cl. */
char *const *cmdline_argv(const struct cmdline *cl);

/* Appends one word. Returns 0, or -1 with err filled at the argument limit. */
int cmdline_append(struct cmdline *cl, const char *word, char *err, size_t errlen);

/* True when any word contains the placeholder (e.g. "{port}"). */
bool cmdline_has_placeholder(const struct cmdline *cl, const char *placeholder);

/* Replaces every occurrence of placeholder in every word with value.
 * Returns 0, or -1 with err filled when a word would exceed CMDLINE_MAX_LEN. */
int cmdline_substitute(struct cmdline *cl, const char *placeholder, const char *value,
                       char *err, size_t errlen);

/* Replaces placeholder in one string (for URLs in a scenario). Writes into out.
 * Returns 0, or -1 when out is too small. */
int cmdline_substitute_text(const char *text, const char *placeholder, const char *value,
                            char *out, size_t outlen);

/* Finds an executable: a word with a '/' is checked as is, else searched in $PATH.
 * Writes the path found into out. Returns 0, or -1 with err saying why not. */
int cmdline_find_executable(const char *word, char *out, size_t outlen, char *err, size_t errlen);

#endif
