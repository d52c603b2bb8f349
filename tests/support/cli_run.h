/* cli_run: runs the loadlab binary as a CI job would, for the integration tests of
 * its command line — arguments, environment additions, its output captured in a file,
 * a time limit — and reads back what it wrote. */
#ifndef TESTS_CLI_RUN_H
#define TESTS_CLI_RUN_H

/* Runs $LOADLAB_BIN (else build/loadlab) with args (NULL-terminated, at most 38) and
 * env additions ("NAME=value", NULL-terminated; may be NULL), stdout and stderr to
 * out_path. Returns its exit code (128 + signal when killed); fails the test when it
 * cannot start or runs over timeout_s (it is then killed). */
int cli_run_loadlab(const char *const *args, char *const *env, const char *out_path, int timeout_s);

/* The first MiB of a file as a string (empty when missing); free it. Fails the test
 * when out of memory. */
char *cli_read_file(const char *path);

#endif
