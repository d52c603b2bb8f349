/* storedb: SQLite habits shared inside store/. See storedb.h. */
#include "store/storedb.h"

#include <math.h>
#include <stdio.h>

int storedb_fail(struct resultdb *db, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "results database: %s: %s", what, sqlite3_errmsg(storedb_sqlite(db)));
    return -1;
}

int storedb_exec(struct resultdb *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(storedb_sqlite(db), sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "results database: %s", msg ? msg : sqlite3_errmsg(storedb_sqlite(db)));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int storedb_prepare(struct resultdb *db, const char *sql, sqlite3_stmt **st, const char *what,
                    char *err, size_t errlen)
{
    if (sqlite3_prepare_v2(storedb_sqlite(db), sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return storedb_fail(db, what, err, errlen);
    }
    return 0;
}

void storedb_text(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, outlen, "%s", t ? (const char *)t : "");
}

double storedb_real(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

void storedb_bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}
