/* Unit tests for timeline: phase events in order, taken when due. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "run/timeline.h"

#define S 1000000000LL

static struct scenario *two_phases(void)
{
    struct scenario *sc = calloc(1, sizeof *sc);
    assert_non_null(sc);
    sc->nphases = 2;
    sc->phases[0] = (struct scenario_phase){.name = "late", .at_ns = 3 * S, .until_ns = -1};
    sc->phases[1] = (struct scenario_phase){.name = "early", .at_ns = 1 * S, .until_ns = 3 * S};
    return sc;
}

static void test_timeline_orders_events_by_time_then_phase(void **state)
{
    struct scenario *sc = two_phases();
    struct timeline tl;
    (void)state;
    timeline_plan(&tl, sc);
    assert_int_equal(tl.n, 3);
    assert_int_equal(tl.events[0].at_ns, 1 * S);
    assert_int_equal(tl.events[0].phase, 1);
    assert_false(tl.events[0].off);
    /* both at 3s: the file's first phase comes first */
    assert_int_equal(tl.events[1].phase, 0);
    assert_false(tl.events[1].off);
    assert_int_equal(tl.events[2].phase, 1);
    assert_true(tl.events[2].off);
    free(sc);
}

static void test_timeline_takes_only_due_events(void **state)
{
    struct scenario *sc = two_phases();
    struct timeline tl;
    (void)state;
    timeline_plan(&tl, sc);
    assert_int_equal(timeline_next_at(&tl), 1 * S);
    assert_null(timeline_take_due(&tl, S - 1));
    assert_non_null(timeline_take_due(&tl, S));
    assert_null(timeline_take_due(&tl, 2 * S));
    assert_int_equal(timeline_next_at(&tl), 3 * S);
    assert_non_null(timeline_take_due(&tl, 5 * S));
    assert_non_null(timeline_take_due(&tl, 5 * S));
    assert_null(timeline_take_due(&tl, 5 * S));
    assert_int_equal(timeline_next_at(&tl), INT64_MAX);
    free(sc);
}

static void test_timeline_no_phases_no_events(void **state)
{
    struct scenario *sc = calloc(1, sizeof *sc);
    struct timeline tl;
    (void)state;
    assert_non_null(sc);
    timeline_plan(&tl, sc);
    assert_int_equal(tl.n, 0);
    assert_null(timeline_take_due(&tl, INT64_MAX));
    free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeline_orders_events_by_time_then_phase),
        cmocka_unit_test(test_timeline_takes_only_due_events),
        cmocka_unit_test(test_timeline_no_phases_no_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
