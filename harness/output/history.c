/* history: list and show. See history.h. */
#include "output/history.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static int query_fail(sqlite3 *db, char *err, size_t errlen)
{
    snprintf(err, errlen, "results database: %s", sqlite3_errmsg(db));
    return -1;
}

static const char *text_or(sqlite3_stmt *st, int col, const char *dflt)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : dflt;
}

int history_list(struct resultdb *rdb, FILE *out, int limit, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *st;
    int step, rows = 0;

    if (sqlite3_prepare_v2(db,
            "SELECT * FROM (SELECT id, started_at, scenario, label, status, coalesce(verdict, '-'), "
            "throughput, p99_ms, gates, gates_failed FROM run_overview ORDER BY id DESC LIMIT ?) "
            "ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return query_fail(db, err, errlen);
    sqlite3_bind_int(st, 1, limit);
    fprintf(out, "%5s  %-24s  %-20s  %-16s  %-9s  %-7s  %10s  %9s  %s\n", "RUN", "STARTED (UTC)", "SCENARIO",
            "LABEL", "STATUS", "VERDICT", "REQ/S", "P99", "GATES FAILED");
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        char rps[32] = "-", p99[32] = "-";
        if (sqlite3_column_type(st, 6) != SQLITE_NULL)
            snprintf(rps, sizeof rps, "%.0f", sqlite3_column_double(st, 6));
        if (sqlite3_column_type(st, 7) != SQLITE_NULL)
            snprintf(p99, sizeof p99, "%.2fms", sqlite3_column_double(st, 7));
        fprintf(out, "%5lld  %-24s  %-20.20s  %-16.16s  %-9s  %-7s  %10s  %9s  %d/%d\n",
                (long long)sqlite3_column_int64(st, 0), text_or(st, 1, "-"), text_or(st, 2, "-"),
                text_or(st, 3, "-"), text_or(st, 4, "-"), text_or(st, 5, "-"), rps, p99,
                sqlite3_column_int(st, 9), sqlite3_column_int(st, 8));
        rows++;
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return query_fail(db, err, errlen);
    if (rows == 0)
        fprintf(out, "(no runs yet)\n");
    return 0;
}

/* Runs a query with the run id bound as ?1 and prints each row with fn. */
typedef void (*row_fn)(FILE *out, sqlite3_stmt *st);

static int each_row(sqlite3 *db, const char *sql, int64_t run_id, FILE *out, const char *title,
                    row_fn fn, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step, rows = 0;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return query_fail(db, err, errlen);
    sqlite3_bind_int64(st, 1, run_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (rows++ == 0 && title)
            fprintf(out, "%s\n", title);
        fn(out, st);
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return query_fail(db, err, errlen);
    return 0;
}

static void print_phase(FILE *out, sqlite3_stmt *st)
{
    char off[32] = "end";
    if (sqlite3_column_type(st, 4) != SQLITE_NULL)
        snprintf(off, sizeof off, "%.2fs", sqlite3_column_double(st, 4));
    fprintf(out, "  %-12s %-14s %-18s on %6.2fs  off %s\n", text_or(st, 0, "-"), text_or(st, 1, "-"),
            text_or(st, 2, "-"), sqlite3_column_double(st, 3), off);
}

static void print_load(FILE *out, sqlite3_stmt *st)
{
    fprintf(out, "  %-8s at %5.2fs  %.1fs  %lld requests  %.0f req/s  errors %lld (connect %lld read %lld "
                 "write %lld timeout %lld status %lld)\n"
                 "           latency p50 %.3fms  p75 %.3fms  p90 %.3fms  p99 %.3fms  p99.9 %.3fms  max %.3fms\n",
            text_or(st, 0, "-"), sqlite3_column_double(st, 1), sqlite3_column_double(st, 2),
            (long long)sqlite3_column_int64(st, 3), sqlite3_column_double(st, 4),
            (long long)(sqlite3_column_int64(st, 5) + sqlite3_column_int64(st, 6) + sqlite3_column_int64(st, 7) +
                        sqlite3_column_int64(st, 8) + sqlite3_column_int64(st, 9)),
            (long long)sqlite3_column_int64(st, 5), (long long)sqlite3_column_int64(st, 6),
            (long long)sqlite3_column_int64(st, 7), (long long)sqlite3_column_int64(st, 8),
            (long long)sqlite3_column_int64(st, 9), sqlite3_column_double(st, 10) * 1e3,
            sqlite3_column_double(st, 11) * 1e3, sqlite3_column_double(st, 12) * 1e3,
            sqlite3_column_double(st, 13) * 1e3, sqlite3_column_double(st, 14) * 1e3,
            sqlite3_column_double(st, 15) * 1e3);
}

static void print_windows(FILE *out, sqlite3_stmt *st)
{
    if (sqlite3_column_int(st, 0) == 0)
        return;
    fprintf(out, "throughput windows (%s, 1s): %d, min %.0f  mean %.0f  max %.0f req/s\n",
            text_or(st, 4, "-"), sqlite3_column_int(st, 0), sqlite3_column_double(st, 1),
            sqlite3_column_double(st, 2), sqlite3_column_double(st, 3));
}

static void print_gate(FILE *out, sqlite3_stmt *st)
{
    char observed[48] = "-";
    if (sqlite3_column_type(st, 2) != SQLITE_NULL)
        snprintf(observed, sizeof observed, "%.6g %s", sqlite3_column_double(st, 2), text_or(st, 3, ""));
    fprintf(out, "  %-36s %-14s %-22s %s%s%s\n", text_or(st, 0, "-"), text_or(st, 1, "-"), observed,
            text_or(st, 4, "-"), sqlite3_column_type(st, 5) != SQLITE_NULL ? ": " : "", text_or(st, 5, ""));
}

static void print_samples(FILE *out, sqlite3_stmt *st)
{
    fprintf(out, "samples: %lld values of %d series (%d metrics), t = %.2fs .. %.2fs\n",
            (long long)sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1), sqlite3_column_int(st, 2),
            sqlite3_column_double(st, 3), sqlite3_column_double(st, 4));
}

static void print_params(FILE *out, const char *params)
{
    json_t *root = json_loads(params, 0, NULL);
    char *pretty = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    fprintf(out, "settings:\n%s\n", pretty ? pretty : params);
    free(pretty);
    json_decref(root);
}

int history_show(struct resultdb *rdb, int64_t run_id, FILE *out, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *st;
    int step;

    if (sqlite3_prepare_v2(db,
            "SELECT id, scenario, scenario_file, label, coalesce(git_rev, '-'), host, started_at, "
            "coalesce(ended_at, '-'), status, coalesce(verdict, '-'), coalesce(exit_reason, ''), params, "
            "coalesce(log_dir, '-'), service_pid, steady_from, steady_to FROM runs WHERE id = ?",
            -1, &st, NULL) != SQLITE_OK)
        return query_fail(db, err, errlen);
    sqlite3_bind_int64(st, 1, run_id);
    step = sqlite3_step(st);
    if (step != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (step != SQLITE_DONE)
            return query_fail(db, err, errlen);
        snprintf(err, errlen, "no run %lld in the results database", (long long)run_id);
        return 1;
    }
    fprintf(out, "run %lld: %s (%s)\nlabel %s, git %s, host %s\nstarted %s, ended %s\nstatus %s, verdict %s\n",
            (long long)sqlite3_column_int64(st, 0), text_or(st, 1, "-"), text_or(st, 2, "-"), text_or(st, 3, "-"),
            text_or(st, 4, "-"), text_or(st, 5, "-"), text_or(st, 6, "-"), text_or(st, 7, "-"),
            text_or(st, 8, "-"), text_or(st, 9, "-"));
    if (*text_or(st, 10, ""))
        fprintf(out, "reason: %s\n", text_or(st, 10, ""));
    fprintf(out, "logs: %s\n", text_or(st, 12, "-"));
    if (sqlite3_column_type(st, 13) != SQLITE_NULL)
        fprintf(out, "service pid: %lld\n", (long long)sqlite3_column_int64(st, 13));
    if (sqlite3_column_type(st, 14) != SQLITE_NULL)
        fprintf(out, "steady state: t = %.2fs .. %.2fs\n", sqlite3_column_double(st, 14),
                sqlite3_column_double(st, 15));
    print_params(out, text_or(st, 11, "{}"));
    sqlite3_finalize(st);

    if (each_row(db, "SELECT phase, fault, term, on_at, off_at FROM phases WHERE run_id = ?1 ORDER BY on_at",
                 run_id, out, "faults:", print_phase, err, errlen) < 0 ||
        each_row(db, "SELECT stage, started_at, duration_s, requests, throughput, errors_connect, errors_read, "
                     "errors_write, errors_timeout, errors_status, p50_s, p75_s, p90_s, p99_s, p999_s, "
                     "latency_max_s FROM load_results WHERE run_id = ?1 ORDER BY started_at",
                 run_id, out, "load:", print_load, err, errlen) < 0 ||
        each_row(db, "SELECT count(*), min(throughput), avg(throughput), max(throughput), max(metric) "
                     "FROM windows WHERE run_id = ?1", run_id, out, NULL, print_windows, err, errlen) < 0 ||
        each_row(db, "SELECT name, threshold_text, observed, unit, "
                     "(SELECT outcome FROM gate_verdicts v WHERE v.run_id = g.run_id AND v.name = g.name), error "
                     "FROM gates g WHERE run_id = ?1 ORDER BY rowid", run_id, out, "gates:", print_gate,
                 err, errlen) < 0 ||
        each_row(db, "SELECT count(*), count(DISTINCT metric || labels), count(DISTINCT metric), "
                     "coalesce(min(t), 0), coalesce(max(t), 0) FROM samples WHERE run_id = ?1",
                 run_id, out, NULL, print_samples, err, errlen) < 0)
        return -1;
    return 0;
}
