/* testdb: raw SQL on a results database file. See testdb.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
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

long long testdb_int(const char *path, const char *sql)
{
    sqlite3 *db = open_raw(path);
    sqlite3_stmt *st = NULL;
    long long v = -1;
    int step;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        char copy[512];
        snprintf(copy, sizeof copy, "%s", sqlite3_errmsg(db));
        sqlite3_close(db);
        fail_msg("%s: %s", sql, copy);
    }
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        fail_msg("%s: step failed", sql);
    return v;
}
