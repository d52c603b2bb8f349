/* gnuplot: one gnuplot process fed commands and inline data through its stdin.
 *
 * Charts are drawn by writing a script with `$name << EOD` data blocks straight into
 * gnuplot, so a report leaves no data files behind. popen() would give us stdin only:
 * gnuplot's stderr (the only place it says what went wrong) would go to the terminal.
 * So the process gets two pipes — commands in, stderr out — and writing is paced by
 * poll() on both, so gnuplot can never stall on a full stderr pipe while we stall on a
 * full stdin pipe. Commands go through a socket pair rather than a pipe so that a
 * gnuplot that died mid-script is an error here (EPIPE), not a SIGPIPE to loadlab.
 *
 * A piped gnuplot stops at its first error and exits 1; gnuplot_close reports the
 * exit status with what gnuplot printed ("line 42: undefined variable: x"). */
#ifndef LOADLAB_GNUPLOT_H
#define LOADLAB_GNUPLOT_H

#include <stdbool.h>
#include <stddef.h>

/* How much of gnuplot's stderr is kept for the error message. */
#define GNUPLOT_MAX_STDERR 2048
/* Commands are sent in chunks of about this size. */
#define GNUPLOT_CHUNK 65536
/* A script that takes longer than this is taken for a hung gnuplot. */
#define GNUPLOT_TIMEOUT_MS 60000

struct gnuplot;

/* Finds the gnuplot to run: $LOADLAB_GNUPLOT, else "gnuplot" in PATH. Writes its path
 * into out. Returns 0, or -1 with err saying it is missing and how to install it. */
int gnuplot_find(char *out, size_t outlen, char *err, size_t errlen);

/* Starts program (a path, as gnuplot_find gives) reading commands from us.
 * Returns a handle (end it with gnuplot_close), or NULL with err. */
struct gnuplot *gnuplot_open(const char *program, char *err, size_t errlen);

/* Queues text for gnuplot, printf-style; sends a chunk whenever enough is queued.
 * Returns 0, or -1 once gnuplot has failed (the reason comes from gnuplot_close). */
int gnuplot_printf(struct gnuplot *gp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Queues a string as a gnuplot single-quoted string literal ('it''s'); control
 * characters become spaces. Returns 0 or -1 as gnuplot_printf. */
int gnuplot_quote(struct gnuplot *gp, const char *text);

/* True once gnuplot has stopped taking commands (its reason comes from
 * gnuplot_close): a caller whose queueing failed learns whether gnuplot or it is to
 * blame. */
bool gnuplot_failed(const struct gnuplot *gp);

/* Sends what is queued, closes gnuplot's stdin and waits for it to exit. Frees gp.
 * Returns 0 when gnuplot exited 0 and said nothing; 1 when it exited 0 but printed
 * warnings (err holds them); -1 when it failed, was killed or timed out (err holds
 * its exit status and the start of its stderr). */
int gnuplot_close(struct gnuplot *gp, char *err, size_t errlen);

#endif
