/* testdb: a second, raw SQLite connection to a results database file, for tests to
 * build what loadlab never writes (a dropped table, a corrupt blob, a run left by a
 * dead driver) and to check the schema's views that people query by hand — without
 * reaching through loadlab's own connection, which only store/ may use. */
#ifndef TESTS_TESTDB_H
#define TESTS_TESTDB_H

/* Runs sql (one or more statements) on the database at path; fails the test on any
 * error. */
void testdb_exec(const char *path, const char *sql);

/* The first column of the first row of sql on the database at path, or -1 when there
 * is no row; fails the test on a database error. */
long long testdb_int(const char *path, const char *sql);

#endif
