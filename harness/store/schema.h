/* schema: the results database's tables and the migrations from older schemas; only
 * resultdb.c (which opens the database) includes this. See schema.c.
 *
 * Takes the store's handle, not a bare sqlite3, so that it shares storedb's habits
 * (storedb.h) for running and preparing SQL and reporting errors. */
#ifndef LOADLAB_SCHEMA_H
#define LOADLAB_SCHEMA_H

#include <stddef.h>

#include "store/resultdb.h"

/* Reads the schema version the database was written with (0: a new, empty file) into
 * *version. Returns 0, or -1 with err filled. */
int schema_version(struct resultdb *db, int *version, char *err, size_t errlen);

/* Creates what is missing and brings a database written at schema version up to
 * RESULTDB_SCHEMA_VERSION, then records that version. Runs in the caller's transaction
 * and leaves committing (or rolling back on failure) to it. Returns 0, or -1 with err
 * filled. */
int schema_upgrade(struct resultdb *db, int version, char *err, size_t errlen);

#endif
