/* storedb: what the files of store/ share about SQLite, and nothing outside store/
 * includes: the raw connection, and the few habits every reader and writer keeps —
 * an error names what was being done and carries sqlite3_errmsg, NULL columns read
 * as NaN or "", NaN is written as NULL.
 *
 * Kept apart from resultdb.h so that a module outside store/ cannot reach SQLite by
 * including the store's public headers. */
#ifndef LOADLAB_STOREDB_H
#define LOADLAB_STOREDB_H

#include <sqlite3.h>
#include <stddef.h>

#include "store/resultdb.h"

/* The connection of db. Owned by db. */
sqlite3 *storedb_sqlite(struct resultdb *db);

/* Fills err with "results database: WHAT: <sqlite's message>". Returns -1. */
int storedb_fail(struct resultdb *db, const char *what, char *err, size_t errlen);

/* Runs sql (one or more statements that return no rows). Returns 0, or -1 with err
 * filled with "results database: <sqlite's message>". */
int storedb_exec(struct resultdb *db, const char *sql, char *err, size_t errlen);

/* Prepares sql into *st. Returns 0, or -1 with err filled (storedb_fail with what). */
int storedb_prepare(struct resultdb *db, const char *sql, sqlite3_stmt **st, const char *what,
                    char *err, size_t errlen);

/* Column col as text copied into out (truncated to outlen; "" for NULL). */
void storedb_text(sqlite3_stmt *st, int col, char *out, size_t outlen);

/* Column col as a number; NaN for NULL. */
double storedb_real(sqlite3_stmt *st, int col);

/* Binds v at i, NULL for NaN. */
void storedb_bind_real(sqlite3_stmt *st, int i, double v);

#endif
