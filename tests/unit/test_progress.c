/* Unit tests for progress: the live line's text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "run/progress.h"

static void test_progress_shows_rate_threads_and_queue(void **state)
{
    struct scrape_headline before = {.requests = 1000, .t = 1.0};
    struct scrape_headline now = {.requests = 3000, .t = 1.5, .threads = 12, .queue_depth = 3,
                                  .queue_capacity = 64};
    char line[256];
    (void)state;
    progress_format(line, sizeof line, "smoke", false, 2.5, 10, &now, &before);
    assert_string_equal(line, "smoke  load  2.5s/10s  remaining  7.5s  4000 req/s  threads 12  queue 3/64");
}

static void test_progress_unknown_figures_are_dashes(void **state)
{
    struct scrape_headline before = {.requests = 10, .t = 1.0};
    struct scrape_headline now = {.requests = 5, .t = 2.0, .threads = NAN, .queue_depth = NAN,
                                  .queue_capacity = NAN};
    char line[256];
    (void)state;
    /* a counter that went down (a restart) gives no rate */
    progress_format(line, sizeof line, "w", true, 12, 10, &now, &before);
    assert_string_equal(line, "w  warmup 12.0s/10s  remaining  0.0s  -  threads -  queue -");
    now.queue_depth = 7;
    progress_format(line, sizeof line, "w", true, 1, 10, &now, &before);
    assert_non_null(strstr(line, "queue 7"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_shows_rate_threads_and_queue),
        cmocka_unit_test(test_progress_unknown_figures_are_dashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
