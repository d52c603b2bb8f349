/* testdb: a second, raw SQLite connection to a results database file, for tests to
 * build what loadlab never writes (a dropped table, a corrupt blob, a run left by a
 * dead driver) and to check what a `loadlab` process wrote the way a person querying
 * the file by hand sees it — without reaching through loadlab's own connection,
 * which only store/ may use. */
#ifndef TESTS_TESTDB_H
#define TESTS_TESTDB_H

#include <stddef.h>
#include <stdint.h>

/* Runs sql (one or more statements) on the database at path; fails the test on any
 * error. */
void testdb_exec(const char *path, const char *sql);

/* The first column of the first row of sql on the database at path (opened
 * read-only), or -1 when there is no such file, the query fails, gives no row or
 * gives NULL: what a test that loadlab wrote nothing expects. */
long long testdb_int(const char *path, const char *sql);

/* testdb_int with run_id bound to ?1. */
long long testdb_int_of_run(const char *path, const char *sql, int64_t run_id);

/* The same as a double; NaN where testdb_int gives -1. */
double testdb_real(const char *path, const char *sql);

#endif
