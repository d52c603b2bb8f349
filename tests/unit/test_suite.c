/* Unit tests for suite: the exit status a suite's runs add up to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cmd/cmd.h"
#include "cmd/suite.h"

static struct runner_outcome outcomes[3];

static void met_runs(void)
{
    memset(outcomes, 0, sizeof outcomes);
    for (size_t i = 0; i < 3; i++) {
        outcomes[i].status = RUNNER_COMPLETED;
        outcomes[i].judged = true;
        outcomes[i].met = true;
        outcomes[i].ngates = 1;
        outcomes[i].gates[0].verdict = GATE_PASS;
    }
}

static void test_suite_all_met_is_zero(void **state)
{
    (void)state;
    met_runs();
    assert_int_equal(suite_exit_code(outcomes, 3, false), 0);
    assert_int_equal(suite_exit_code(outcomes, 0, false), 0);
}

static void test_suite_unmet_is_99(void **state)
{
    (void)state;
    met_runs();
    outcomes[1].met = false;
    assert_int_equal(suite_exit_code(outcomes, 3, false), CMD_EXIT_GATES);
}

/* A run that could not be judged outweighs one that missed its expectations. */
static void test_suite_error_outweighs_unmet(void **state)
{
    (void)state;
    met_runs();
    outcomes[0].met = false;
    outcomes[2].gates[0].verdict = GATE_ERROR;
    assert_int_equal(suite_exit_code(outcomes, 3, false), 1);
    met_runs();
    outcomes[1].status = RUNNER_CRASHED;
    assert_int_equal(suite_exit_code(outcomes, 3, false), 1);
    met_runs();
    outcomes[1].judged = false;
    assert_int_equal(suite_exit_code(outcomes, 3, false), 1);
}

static void test_suite_interrupt_outweighs_all(void **state)
{
    (void)state;
    met_runs();
    outcomes[0].status = RUNNER_ABORTED;
    assert_int_equal(suite_exit_code(outcomes, 3, true), CMD_EXIT_INTERRUPTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_all_met_is_zero),
        cmocka_unit_test(test_suite_unmet_is_99),
        cmocka_unit_test(test_suite_error_outweighs_unmet),
        cmocka_unit_test(test_suite_interrupt_outweighs_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
