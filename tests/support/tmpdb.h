/* tmpdb: a scratch folder for one test's results database and the files around it
 * (outputs, logs, a rendered report), removed with everything in it afterwards, so
 * no test leaves a database, its -wal/-shm side files or a report behind in /tmp.
 *
 * The database itself is not created here: resultdb_open (or the loadlab binary) makes
 * it on first use, the way a real run does. Raw SQL on it is testdb.h's. */
#ifndef TESTS_TMPDB_H
#define TESTS_TMPDB_H

#include <stddef.h>

struct tmpdb {
    char dir[64];     /* /tmp/NAME-XXXXXX */
    char path[128];   /* dir/results.db */
};

/* Makes a fresh folder /tmp/NAME-XXXXXX (name at most 40 bytes) and fills t. Returns 0,
 * or -1 (t->dir empty) when the folder cannot be made. */
int tmpdb_make(struct tmpdb *t, const char *name);

/* Removes t's folder and everything under it. A t never made (dir empty) is a no-op.
 * Returns 0, or -1 when something could not be removed. */
int tmpdb_remove(struct tmpdb *t);

/* Writes "DIR/name" into buf and returns buf; fails the test when it does not fit. */
const char *tmpdb_file(const struct tmpdb *t, const char *name, char *buf, size_t len);

#endif
