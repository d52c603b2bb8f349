/* Tests for runevidence: the items of a run written beside its page and the excerpts
 * the page shows, from a real database (resultdb, evidence_store_text) — what is
 * shown inline when snapshots differ or are missing, where excerpts are cut, and
 * items that cannot be read (corrupt, or larger than the cap once decompressed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "store/evidence.h"
#include "report_fixture.h"
#include "store/resultdb.h"
#include "report/runevidence.h"
#include "testdb.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static char page_dir[128], err[1024];
static struct resultdb *db;
static int64_t run_id;

/* A fresh database with one run, and a fresh folder for its page. */
static int setup(void **state)
{
    (void)state;
    if (tmpdb_make(&tmp, "runevidence-test") < 0)
        return -1;
    snprintf(page_dir, sizeof page_dir, "%s/run", tmp.dir);
    if (mkdir(page_dir, 0755) < 0 || !(db = resultdb_open(tmp.path, false, err, sizeof err)))
        return -1;
    return report_fixture_add_run(db, &report_fixture_runs[0], &run_id, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    resultdb_close(db);
    return tmpdb_remove(&tmp);
}

static void store(double t, const char *kind, const char *reason, const char *text)
{
    if (evidence_store_text(db, run_id, t, kind, reason, text, strlen(text), err, sizeof err) < 0)
        fail_msg("%s", err);
}

static struct runevidence *write_evidence(void)
{
    struct runevidence *ev = runevidence_write(db, run_id, page_dir, err, sizeof err);
    if (!ev)
        fail_msg("runevidence_write: %s", err);
    return ev;
}

static void test_runevidence_shows_only_the_latest_snapshot(void **state)
{
    struct runevidence *ev;
    char path[256];
    (void)state;
    store(1.0, EVIDENCE_THREADS, EVIDENCE_PERIODIC, "periodic dump\n");
    store(2.0, EVIDENCE_THREADS, "mid-run", "mid-run dump\n");
    store(2.0, EVIDENCE_HEAP, "mid-run", "mid-run heap\n");
    store(2.0, EVIDENCE_VARS, "mid-run", "{}\n");
    /* A later snapshot at the same moment for another reason, without a heap
     * profile: the page must not pair its dump with the earlier heap. */
    store(2.0, EVIDENCE_THREADS, "trigger: threads high at t=1.50s", "trigger dump\n");
    store(2.0, EVIDENCE_MUTEX, "trigger: threads high at t=1.50s", "trigger mutex\n");
    store(3.0, EVIDENCE_THREADS, EVIDENCE_PERIODIC, "later periodic dump\n");
    ev = write_evidence();
    assert_true(ev->have_table);
    assert_int_equal(ev->n, 7);
    assert_int_equal(ev->periodic, 2);
    assert_true(ev->have_inline);
    assert_string_equal(ev->inline_reason, "trigger: threads high at t=1.50s");
    assert_string_equal(ev->excerpts[RUNEVIDENCE_THREADS].text, "trigger dump\n");
    assert_string_equal(ev->excerpts[RUNEVIDENCE_MUTEX].text, "trigger mutex\n");
    assert_null(ev->excerpts[RUNEVIDENCE_HEAP].text);
    assert_null(ev->excerpts[RUNEVIDENCE_BLOCK].text);
    /* Every item has its file, named by id and kind. */
    for (size_t i = 0; i < ev->n; i++) {
        snprintf(path, sizeof path, "%s/evidence/%lld-%s.txt", page_dir, (long long)ev->items[i].id,
                 ev->items[i].kind);
        assert_string_equal(ev->items[i].file, path + strlen(page_dir) + 1);
        assert_int_equal(access(path, R_OK), 0);
    }
    runevidence_free(ev);
}

static void test_runevidence_without_a_snapshot_shows_the_last_dump(void **state)
{
    struct runevidence *ev;
    (void)state;
    store(1.0, EVIDENCE_THREADS, EVIDENCE_PERIODIC, "first dump\n");
    store(1.5, EVIDENCE_NOTE, "trigger", "instrument metrics -> profile\n");
    store(2.0, EVIDENCE_THREADS, EVIDENCE_PERIODIC, "last dump\n");
    ev = write_evidence();
    assert_true(ev->have_inline);
    assert_string_equal(ev->inline_reason, EVIDENCE_PERIODIC);
    assert_true(ev->inline_t == 2.0);
    assert_string_equal(ev->excerpts[RUNEVIDENCE_THREADS].text, "last dump\n");
    assert_int_equal(ev->excerpts[RUNEVIDENCE_THREADS].item, 2);
    assert_null(ev->excerpts[RUNEVIDENCE_MUTEX].text);
    runevidence_free(ev);
}

/* On a fleet each item names the instance it came from; periodic dumps of an instance
 * are still periodic dumps. */
static void test_runevidence_names_a_fleet_items_instance(void **state)
{
    struct runevidence *ev;
    unsigned char *gz;
    size_t gzlen;
    const char *text = "dump of b\n";
    (void)state;
    assert_int_equal(evidence_gzip(text, strlen(text), &gz, &gzlen, err, sizeof err), 0);
    assert_int_equal(evidence_store_of(db, run_id, 1.0, EVIDENCE_THREADS, EVIDENCE_PERIODIC, "b:6060", gz, gzlen,
                                       strlen(text), err, sizeof err), 0);
    free(gz);
    ev = write_evidence();
    assert_int_equal(ev->n, 1);
    assert_string_equal(ev->items[0].reason, "periodic on b:6060");
    assert_int_equal(ev->periodic, 1);
    assert_string_equal(ev->excerpts[RUNEVIDENCE_THREADS].text, "dump of b\n");
    runevidence_free(ev);
}

static void test_runevidence_excerpts_stop_at_their_lines_and_bytes(void **state)
{
    struct runevidence *ev;
    char *many = test_malloc(100 * 12 + 1), *wide = test_malloc(1000 * 1000 + 1), *long_line = test_malloc(40000 + 1);
    size_t used = 0;
    const struct runevidence_excerpt *ex;
    (void)state;
    assert_non_null(many);
    assert_non_null(wide);
    assert_non_null(long_line);
    for (int i = 0; i < 100; i++)
        used += (size_t)snprintf(many + used, 13, "line %6d\n", i);
    /* 1000 lines of 1000 bytes: the byte limit cuts first, at a line's end. */
    for (size_t i = 0; i < 1000; i++) {
        memset(wide + i * 1000, 'w', 999);
        wide[i * 1000 + 999] = '\n';
    }
    wide[1000 * 1000] = '\0';
    memset(long_line, 'x', 40000);
    long_line[40000] = '\0';
    store(5.0, EVIDENCE_THREADS, "end of steady state", many);
    store(5.0, EVIDENCE_HEAP, "end of steady state", wide);
    store(5.0, EVIDENCE_MUTEX, "end of steady state", long_line);
    ev = write_evidence();

    ex = &ev->excerpts[RUNEVIDENCE_THREADS];
    assert_int_equal(ex->lines, RUNEVIDENCE_EXCERPT_LINES);
    assert_int_equal(ex->total_lines, 100);
    assert_int_equal(ex->len, RUNEVIDENCE_EXCERPT_LINES * 12);
    assert_memory_equal(ex->text, many, ex->len);

    ex = &ev->excerpts[RUNEVIDENCE_HEAP];
    assert_int_equal(ex->lines, RUNEVIDENCE_EXCERPT_BYTES / 1000);
    assert_int_equal(ex->len, ex->lines * 1000);
    assert_int_equal(ex->total_lines, 1000);

    /* One line longer than the limit is cut mid-line rather than shown empty. */
    ex = &ev->excerpts[RUNEVIDENCE_MUTEX];
    assert_int_equal(ex->len, RUNEVIDENCE_EXCERPT_BYTES);
    assert_int_equal(ex->lines, 1);
    assert_int_equal(ex->total_lines, 1);
    runevidence_free(ev);
    test_free(many);
    test_free(wide);
    test_free(long_line);
}

/* gzip of len zero bytes, larger than anything capture stores once decompressed. */
static unsigned char *gzip_zeros(size_t len, size_t *gzlen)
{
    z_stream z = {0};
    unsigned char *zeros = test_calloc(1, len), *out = malloc(len / 100 + 1024);
    assert_non_null(zeros);
    assert_non_null(out);
    assert_int_equal(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = zeros;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)(len / 100 + 1024);
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *gzlen = z.total_out;
    deflateEnd(&z);
    test_free(zeros);
    return out;
}

static void test_runevidence_lists_unreadable_items_without_a_file(void **state)
{
    struct runevidence *ev;
    unsigned char *bomb;
    size_t bomblen;
    char path[256];
    (void)state;
    store(1.0, EVIDENCE_THREADS, EVIDENCE_PERIODIC, "a good dump\n");
    store(2.0, EVIDENCE_HEAP, "mid-run", "to be broken\n");
    testdb_exec(tmp.path, "UPDATE evidence SET content_gz = x'1f8b0800deadbeef' WHERE kind = 'heap'");
    bomb = gzip_zeros(RUNEVIDENCE_MAX_FILE + 1, &bomblen);
    if (evidence_store(db, run_id, 3.0, EVIDENCE_THREADS, "end of steady state", bomb, bomblen, 12, err,
                       sizeof err) < 0)
        fail_msg("%s", err);
    free(bomb);

    ev = write_evidence();
    assert_int_equal(ev->n, 3);
    assert_string_equal(ev->items[0].file, "evidence/1-threads.txt");
    assert_string_equal(ev->items[0].problem, "");
    assert_string_equal(ev->items[1].file, "");
    assert_non_null(strstr(ev->items[1].problem, "corrupt evidence"));
    assert_string_equal(ev->items[2].file, "");
    assert_non_null(strstr(ev->items[2].problem, "larger than"));
    snprintf(path, sizeof path, "%s/evidence/2-heap.txt", page_dir);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof path, "%s/evidence/3-threads.txt", page_dir);
    assert_int_equal(access(path, F_OK), -1);
    /* The latest snapshot could not be read: nothing of it is shown, and no older
     * dump stands in for it. */
    assert_true(ev->have_inline);
    assert_string_equal(ev->inline_reason, "end of steady state");
    assert_null(ev->excerpts[RUNEVIDENCE_THREADS].text);
    runevidence_free(ev);
}

static void test_runevidence_database_without_the_table(void **state)
{
    struct runevidence *ev;
    char path[256];
    (void)state;
    testdb_exec(tmp.path, "DROP TABLE evidence");
    ev = write_evidence();
    assert_false(ev->have_table);
    assert_int_equal(ev->n, 0);
    assert_false(ev->have_inline);
    snprintf(path, sizeof path, "%s/evidence", page_dir);
    assert_int_equal(access(path, F_OK), -1);
    runevidence_free(ev);
    runevidence_free(NULL);
}

static void test_runevidence_unwritable_folder_is_an_error(void **state)
{
    (void)state;
    store(1.0, EVIDENCE_THREADS, EVIDENCE_PERIODIC, "a dump\n");
    assert_null(runevidence_write(db, run_id, "/nonexistent/run-1", err, sizeof err));
    assert_non_null(strstr(err, "cannot create /nonexistent/run-1/evidence"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_runevidence_shows_only_the_latest_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runevidence_without_a_snapshot_shows_the_last_dump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runevidence_names_a_fleet_items_instance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runevidence_excerpts_stop_at_their_lines_and_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runevidence_lists_unreadable_items_without_a_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runevidence_database_without_the_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runevidence_unwritable_folder_is_an_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
