/* Unit tests for httptoken: HTTP token syntax, as the load generators check a method or
 * a header name from a scenario. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/httptoken.h"

static void test_httptoken_methods_and_names_are_tokens(void **state)
{
    (void)state;
    assert_true(httptoken_valid("GET", 32));
    assert_true(httptoken_valid("X-Request-Id", 64));
    assert_true(httptoken_valid("!#$%&'*+-.^_`|~", 32));
}

static void test_httptoken_refuses_what_would_break_a_request(void **state)
{
    (void)state;
    assert_false(httptoken_valid("", 32));
    assert_false(httptoken_valid("GET /", 32));          /* a space ends the method */
    assert_false(httptoken_valid("X:Y", 32));            /* a colon ends a header name */
    assert_false(httptoken_valid("A\r\nB", 32));
    assert_false(httptoken_valid("caf\xc3\xa9", 32));    /* not ASCII */
    assert_false(httptoken_valid("GETGET", 5));          /* over the limit */
    assert_true(httptoken_valid("GETGE", 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_httptoken_methods_and_names_are_tokens),
        cmocka_unit_test(test_httptoken_refuses_what_would_break_a_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
