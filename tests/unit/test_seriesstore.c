/* Unit tests for seriesstore: selectors and per-tick sums over kept series. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/seriesstore.h"

static char err[256];

static void add(struct series_store *st, const char *name, const char *role, const char *state,
                double v)
{
    struct promtext_label l[2] = {{"role", role}, {"state", state}};
    struct promtext_sample s = {.name = name, .labels = l, .nlabels = role ? 2 : 0, .value = v};
    assert_int_equal(series_store_add(st, &s, err, sizeof err), 0);
}

static void test_seriesstore_selector_parse_and_format(void **state)
{
    struct series_selector sel;
    char out[256];
    const char *text = "orderd_threads{state=\"idle\", role=\"wor\\\"ker\"}";
    (void)state;
    assert_int_equal(series_selector_parse(text, strlen(text), &sel, err, sizeof err), 0);
    assert_string_equal(sel.metric, "orderd_threads");
    assert_int_equal(sel.nmatchers, 2);
    assert_string_equal(sel.matchers[1].value, "wor\"ker");
    assert_int_equal(series_selector_format(&sel, out, sizeof out), 0);
    assert_string_equal(out, "orderd_threads{role=\"wor\\\"ker\",state=\"idle\"}");
    assert_int_equal(series_selector_parse("x", 1, &sel, err, sizeof err), 0);
    assert_int_equal(sel.nmatchers, 0);
}

static void test_seriesstore_selector_rejects_bad_text(void **state)
{
    struct series_selector sel;
    static const char *const bad[] = {
        "", "1x", "x{a}", "x{a!=\"b\"}", "x{a=~\"b\"}", "x{a=\"b\"", "x{a=\"b\"} y", "x{a=\"1\",a=\"2\"}",
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (series_selector_parse(bad[i], strlen(bad[i]), &sel, err, sizeof err) == 0)
            fail_msg("selector '%s' was accepted", bad[i]);
}

static void test_seriesstore_keeps_only_wanted_and_sums_matches(void **state)
{
    struct series_store *st = series_store_new();
    struct series_selector sel;
    struct series pts;
    const char *workers = "orderd_threads{role=\"worker\"}";
    (void)state;
    assert_non_null(st);
    assert_int_equal(series_store_want(st, "orderd_threads"), 0);
    for (int tick = 0; tick < 4; tick++) {
        assert_int_equal(series_store_begin_tick(st, tick * 0.5, err, sizeof err), 0);
        add(st, "orderd_threads", "worker", "idle", 4 - tick);
        add(st, "orderd_threads", "worker", "running", tick);
        add(st, "orderd_threads", "io", "running", 2);
        add(st, "unwanted_metric", NULL, NULL, 99);
    }
    assert_false(series_store_has_metric(st, "unwanted_metric"));
    assert_true(series_store_has_metric(st, "orderd_threads"));
    assert_int_equal(series_selector_parse(workers, strlen(workers), &sel, err, sizeof err), 0);
    assert_int_equal(series_store_select(st, &sel, 0.4, 1.5, &pts), 0);
    assert_int_equal(pts.n, 3);  /* ticks at 0.5, 1.0, 1.5 */
    assert_float_equal(pts.t[0], 0.5, 0);
    for (size_t i = 0; i < pts.n; i++)
        assert_float_equal(pts.v[i], 4, 0);
    series_release(&pts);
    assert_int_equal(series_selector_parse("orderd_threads", 14, &sel, err, sizeof err), 0);
    assert_int_equal(series_store_select(st, &sel, 0, 10, &pts), 0);
    assert_int_equal(pts.n, 4);
    assert_float_equal(pts.v[3], 6, 0);
    series_release(&pts);
    assert_int_equal(series_selector_parse("orderd_threads{role=\"none\"}", 27, &sel, err, sizeof err), 0);
    assert_int_equal(series_store_select(st, &sel, 0, 10, &pts), 0);
    assert_int_equal(pts.n, 0);
    series_store_free(st);
    series_store_free(NULL);
}

static void test_seriesstore_add_before_tick_fails(void **state)
{
    struct series_store *st = series_store_new();
    (void)state;
    assert_int_equal(series_store_want(st, "m"), 0);
    assert_int_equal(series_store_add_plain(st, "m", 1, err, sizeof err), -1);
    assert_int_equal(series_store_begin_tick(st, 0, err, sizeof err), 0);
    assert_int_equal(series_store_add_plain(st, "m", 1, err, sizeof err), 0);
    assert_int_equal(series_store_add_plain(st, "m", 2, err, sizeof err), 0);
    {
        struct series_selector sel = {.metric = "m"};
        struct series pts;
        assert_int_equal(series_store_select(st, &sel, 0, 0, &pts), 0);
        assert_int_equal(pts.n, 1);
        assert_float_equal(pts.v[0], 2, 0);  /* a repeated sample replaces, not adds */
        series_release(&pts);
    }
    series_store_free(st);
}

static void test_seriesstore_label_values_lists_each_instance_once(void **state)
{
    struct series_store *st = series_store_new();
    char values[4][SERIES_MAX_VALUE];
    (void)state;
    assert_int_equal(series_store_want(st, "up"), 0);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(series_store_begin_tick(st, k, err, sizeof err), 0);
        add(st, "up", "a", "x", 1);
        add(st, "up", "b", "x", 1);
        add(st, "up", "b", "y", 1);
    }
    assert_int_equal(series_store_label_values(st, "up", "role", values, 4), 2);
    assert_true((strcmp(values[0], "a") == 0 && strcmp(values[1], "b") == 0) ||
                (strcmp(values[0], "b") == 0 && strcmp(values[1], "a") == 0));
    assert_int_equal(series_store_label_values(st, "up", "role", values, 1), 1);  /* at most max */
    assert_int_equal(series_store_label_values(st, "up", "instance", values, 4), 0);
    assert_int_equal(series_store_label_values(st, "down", "role", values, 4), 0);
    series_store_free(st);
}

static void add_instance(struct series_store *st, const char *instance, double v)
{
    struct promtext_label l[1] = {{"instance", instance}};
    struct promtext_sample s = {.name = "orderd_http_requests_total", .labels = l, .nlabels = 1, .value = v};
    assert_int_equal(series_store_add(st, &s, err, sizeof err), 0);
}

/* A fleet's request counter summed over three replicas: b restarts between ticks 2
 * and 3 (its count drops to 5), c misses the scrape at tick 4, and d appears at tick
 * 2 at 7. The plain sum drops at the restart and at the missed scrape; the counter
 * sum rises by exactly what the replicas served (a, b, c 10 a tick, b 5 in the tick
 * it restarted, c's two ticks counted when it is back, d 1 a tick once it is there),
 * never falling. */
static void test_seriesstore_counter_sum_treats_a_drop_as_a_reset(void **state)
{
    struct series_store *st = series_store_new();
    struct series_selector sel;
    struct series plain, pts;
    static const double want[] = {180, 210, 247, 273, 294, 335};
    (void)state;
    assert_non_null(st);
    assert_int_equal(series_store_want(st, "orderd_http_requests_total"), 0);
    for (int tick = 0; tick < 6; tick++) {
        assert_int_equal(series_store_begin_tick(st, tick, err, sizeof err), 0);
        add_instance(st, "a", 100 + 10 * tick);
        add_instance(st, "b", tick < 3 ? 50 + 10 * tick : 5 + 10 * (tick - 3));
        if (tick != 4)
            add_instance(st, "c", 30 + 10 * tick);
        if (tick >= 2)
            add_instance(st, "d", 5 + tick);
    }
    assert_int_equal(series_selector_parse("orderd_http_requests_total", 26, &sel, err, sizeof err), 0);
    assert_int_equal(series_store_select(st, &sel, 0, 10, &plain), 0);
    assert_true(plain.v[3] < plain.v[2]);  /* what a plain sum makes of a restart */
    assert_int_equal(series_store_select_counter(st, &sel, 0, 10, &pts), 0);
    assert_int_equal(pts.n, 6);
    for (size_t i = 0; i < pts.n; i++)
        if (pts.v[i] != want[i])
            fail_msg("tick %zu: %g, want %g", i, pts.v[i], want[i]);
    series_release(&pts);
    /* one series without a reset: the same as the plain selection */
    sel.nmatchers = 1;
    snprintf(sel.matchers[0].name, sizeof sel.matchers[0].name, "instance");
    snprintf(sel.matchers[0].value, sizeof sel.matchers[0].value, "a");
    series_release(&plain);
    assert_int_equal(series_store_select(st, &sel, 1, 4, &plain), 0);
    assert_int_equal(series_store_select_counter(st, &sel, 1, 4, &pts), 0);
    assert_int_equal(pts.n, plain.n);
    for (size_t i = 0; i < pts.n; i++)
        assert_float_equal(pts.v[i], plain.v[i], 0);
    series_release(&pts);
    series_release(&plain);
    series_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seriesstore_selector_parse_and_format),
        cmocka_unit_test(test_seriesstore_selector_rejects_bad_text),
        cmocka_unit_test(test_seriesstore_keeps_only_wanted_and_sums_matches),
        cmocka_unit_test(test_seriesstore_label_values_lists_each_instance_once),
        cmocka_unit_test(test_seriesstore_add_before_tick_fails),
        cmocka_unit_test(test_seriesstore_counter_sum_treats_a_drop_as_a_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
