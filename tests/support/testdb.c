/* testdb: raw SQL on a results database file. See testdb.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <sqlite3.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>

#include "testdb.h"

static sqlite3 *open_raw(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        const char *msg = db ? sqlite3_errmsg(db) : "cannot open";
        sqlite3_close(db);
        fail_msg("%s: %s", path, msg);
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

void testdb_exec(const char *path, const char *sql)
{
    sqlite3 *db = open_raw(path);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        char copy[512];
        snprintf(copy, sizeof copy, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        sqlite3_close(db);
        fail_msg("%s: %s", sql, copy);
    }
    sqlite3_close(db);
}

/* The first column of the first row; false when there is none (see testdb_int). */
static bool first_value(const char *path, const char *sql, const int64_t *run_id, double *real, long long *integer)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    bool found = false;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            (!run_id || sqlite3_bind_int64(st, 1, *run_id) == SQLITE_OK) && sqlite3_step(st) == SQLITE_ROW &&
            sqlite3_column_type(st, 0) != SQLITE_NULL) {
            *real = sqlite3_column_double(st, 0);
            *integer = sqlite3_column_int64(st, 0);
            found = true;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return found;
}

long long testdb_int(const char *path, const char *sql)
{
    double real;
    long long integer;
    return first_value(path, sql, NULL, &real, &integer) ? integer : -1;
}

long long testdb_int_of_run(const char *path, const char *sql, int64_t run_id)
{
    double real;
    long long integer;
    return first_value(path, sql, &run_id, &real, &integer) ? integer : -1;
}

double testdb_real(const char *path, const char *sql)
{
    double real;
    long long integer;
    return first_value(path, sql, NULL, &real, &integer) ? real : NAN;
}
