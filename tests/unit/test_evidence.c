/* Unit tests for evidence: gzip both ways with its limits, storing and reading items
 * back, and what `show --evidence` prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "store/evidence.h"
#include "testdb.h"
#include "store/resultdb.h"
#include "tmpdb.h"

static char err[512];
static struct tmpdb tmp;
static struct resultdb *db;
static int64_t run_id;

static int setup(void **state)
{
    struct resultdb_run run = {.scenario = "ev", .scenario_file = "ev.ini", .label = "test", .params = "{}"};
    (void)state;
    if (tmpdb_make(&tmp, "evidence-test") < 0)
        return -1;
    db = resultdb_open(tmp.path, false, err, sizeof err);
    return db && resultdb_run_begin(db, &run, &run_id, err, sizeof err) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    resultdb_close(db);
    return tmpdb_remove(&tmp);
}

static void test_evidence_gzip_round_trip_is_real_gzip(void **state)
{
    const char text[] = "threads profile: total 3\n3 @ 0x1\n#\t0x1\tleak_notifier_wait+0x1\tservice/leak.c:40\n";
    unsigned char *gz, plain[256];
    size_t gzlen, outlen;
    char *out;
    z_stream z = {0};
    (void)state;

    assert_int_equal(evidence_gzip(text, strlen(text), &gz, &gzlen, err, sizeof err), 0);
    assert_int_equal(gz[0], 0x1f);  /* a gzip member, so gunzip reads a row written out */
    assert_int_equal(gz[1], 0x8b);
    assert_int_equal(evidence_gunzip(gz, gzlen, 1024, &out, &outlen, err, sizeof err), 0);
    assert_int_equal(outlen, strlen(text));
    assert_string_equal(out, text);
    free(out);
    /* zlib's own gzip reader agrees */
    assert_int_equal(inflateInit2(&z, 31), Z_OK);
    z.next_in = gz;
    z.avail_in = (uInt)gzlen;
    z.next_out = plain;
    z.avail_out = sizeof plain;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, strlen(text));
    inflateEnd(&z);
    free(gz);
}

static void test_evidence_gunzip_stops_at_its_limit_and_on_corruption(void **state)
{
    char *big = test_malloc(100000), *out = NULL;
    unsigned char *gz;
    size_t gzlen, outlen;
    (void)state;

    assert_non_null(big);
    memset(big, 'a', 100000);
    assert_int_equal(evidence_gzip(big, 100000, &gz, &gzlen, err, sizeof err), 0);
    assert_true(gzlen < 1000);  /* a zip bomb in miniature */
    assert_int_equal(evidence_gunzip(gz, gzlen, 99999, &out, &outlen, err, sizeof err), -1);
    assert_null(out);
    assert_non_null(strstr(err, "larger than 99999 bytes"));
    assert_int_equal(evidence_gunzip(gz, gzlen, 100000, &out, &outlen, err, sizeof err), 0);
    assert_int_equal(outlen, 100000);
    free(out);
    assert_int_equal(evidence_gunzip(gz, gzlen / 2, 100000, &out, &outlen, err, sizeof err), -1);
    assert_non_null(strstr(err, "corrupt"));
    gz[gzlen / 2] ^= 0xff;
    gz[gzlen / 2 + 1] ^= 0xff;
    assert_int_equal(evidence_gunzip(gz, gzlen, 100000, &out, &outlen, err, sizeof err), -1);
    assert_non_null(strstr(err, "corrupt"));
    free(gz);
    test_free(big);
    assert_int_equal(evidence_gzip("x", EVIDENCE_MAX_ITEM + 1, &gz, &gzlen, err, sizeof err), -1);
    assert_non_null(strstr(err, "larger than"));
}

static int put(double t, const char *kind, const char *reason, const char *text)
{
    return evidence_store_text(db, run_id, t, kind, reason, text, strlen(text), err, sizeof err);
}

struct seen {
    int n;
    char kinds[8][16];
    double t[8];
};

static int remember(void *user, const struct evidence_item *item, char *e, size_t elen)
{
    struct seen *s = user;
    snprintf(s->kinds[s->n], sizeof s->kinds[s->n], "%s", item->kind);
    s->t[s->n++] = item->t;
    assert_int_equal(item->len, strlen(item->text));
    return 0;
}

static void test_evidence_stores_and_reads_back_in_time_order(void **state)
{
    struct seen all = {0}, heaps = {0};
    (void)state;
    assert_int_equal(put(5, EVIDENCE_HEAP, "mid-run", "heap profile: 0: 0 [0: 0] @ heap/2\n"), 0);
    assert_int_equal(put(1, EVIDENCE_THREADS, "periodic", "threads profile: total 0\n"), 0);
    assert_int_equal(put(9, EVIDENCE_LOG, "end of steady state", "{\"request_id\":\"a\"}\n"), 0);
    assert_int_equal(put(2, "coredump", "x", "x"), -1);
    assert_non_null(strstr(err, "unknown evidence kind"));

    assert_int_equal(evidence_foreach(db, run_id, NULL, remember, &all, err, sizeof err), 0);
    assert_int_equal(all.n, 3);
    assert_string_equal(all.kinds[0], "threads");
    assert_string_equal(all.kinds[1], "heap");
    assert_string_equal(all.kinds[2], "log");
    assert_int_equal(evidence_foreach(db, run_id, EVIDENCE_HEAP, remember, &heaps, err, sizeof err), 0);
    assert_int_equal(heaps.n, 1);
    assert_int_equal(evidence_foreach(db, run_id + 1, NULL, remember, &heaps, err, sizeof err), 0);
    assert_int_equal(heaps.n, 1);
}

static void test_evidence_print_lists_and_shows_snapshots(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out;
    (void)state;

    assert_int_equal(put(1, EVIDENCE_THREADS, "periodic", "PERIODIC-DUMP\n"), 0);
    assert_int_equal(put(8, EVIDENCE_MUTEX, "end of steady state", "MUTEX-TEXT\n"), 0);
    out = open_memstream(&text, &len);
    assert_int_equal(evidence_print(db, run_id, out, false, err, sizeof err), 0);
    fclose(out);
    assert_non_null(strstr(text, "run 1: ev (running)"));
    assert_non_null(strstr(text, "MUTEX-TEXT"));
    assert_null(strstr(text, "PERIODIC-DUMP"));
    assert_non_null(strstr(text, "1 periodic thread dumps"));
    free(text);

    out = open_memstream(&text, &len);
    assert_int_equal(evidence_print(db, run_id, out, true, err, sizeof err), 0);
    fclose(out);
    assert_non_null(strstr(text, "PERIODIC-DUMP"));
    free(text);

    out = open_memstream(&text, &len);
    assert_int_equal(evidence_print(db, run_id + 7, out, false, err, sizeof err), 1);
    fclose(out);
    free(text);
    assert_non_null(strstr(err, "no run"));
}

struct stored_seen {
    int n;
    long long bytes[4];
    size_t gzlen[4];
};

static int remember_stored(void *user, const struct evidence_stored *item, char *e, size_t elen)
{
    struct stored_seen *s = user;
    (void)e;
    (void)elen;
    s->bytes[s->n] = item->bytes;
    s->gzlen[s->n++] = item->gzlen;
    return 0;
}

static void test_evidence_stored_items_come_as_stored_even_when_corrupt(void **state)
{
    struct stored_seen stored = {0};
    struct seen items = {0};
    (void)state;
    assert_int_equal(put(1, EVIDENCE_THREADS, "periodic", "threads profile: total 0\n"), 0);
    assert_int_equal(put(2, EVIDENCE_HEAP, "mid-run", "to be broken\n"), 0);
    testdb_exec(tmp.path, "UPDATE evidence SET content_gz = x'1f8b0800deadbeef' WHERE kind = 'heap'");

    /* The raw reader hands the broken item over for its caller to judge... */
    assert_int_equal(evidence_foreach_stored(db, run_id, NULL, remember_stored, &stored, err, sizeof err), 0);
    assert_int_equal(stored.n, 2);
    assert_int_equal(stored.bytes[0], (long long)strlen("threads profile: total 0\n"));
    assert_int_equal(stored.bytes[1], (long long)strlen("to be broken\n"));
    assert_int_equal(stored.gzlen[1], 8);
    /* ...while the decompressing one fails on it, naming the item. */
    assert_int_equal(evidence_foreach(db, run_id, NULL, remember, &items, err, sizeof err), -1);
    assert_non_null(strstr(err, "evidence 2: corrupt"));
    assert_int_equal(items.n, 1);
}

static void test_evidence_database_without_the_table_has_none(void **state)
{
    struct seen s = {0};
    (void)state;
    testdb_exec(tmp.path, "DROP TABLE evidence");
    assert_int_equal(evidence_foreach(db, run_id, NULL, remember, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evidence_gzip_round_trip_is_real_gzip),
        cmocka_unit_test(test_evidence_gunzip_stops_at_its_limit_and_on_corruption),
        cmocka_unit_test_setup_teardown(test_evidence_stores_and_reads_back_in_time_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_print_lists_and_shows_snapshots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_stored_items_come_as_stored_even_when_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_database_without_the_table_has_none, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
