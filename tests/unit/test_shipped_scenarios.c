/* Every scenario file the project ships parses: a broken shipped scenario would only
 * show when someone runs it, in CI or in a container. */
#include "run/scenario.h"

#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

static int load_all(const char *pattern)
{
    glob_t g;
    int n = 0;
    char err[512];

    if (glob(pattern, 0, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        struct scenario *sc = scenario_load(g.gl_pathv[i], err, sizeof err);
        if (!sc)
            fail_msg("%s does not parse: %s", g.gl_pathv[i], err);
        scenario_free(sc);
        n++;
    }
    globfree(&g);
    return n;
}

static void test_shipped_scenarios_parse(void **state)
{
    (void)state;
    /* The default suite: baseline and one scenario per fault, at least. */
    assert_true(load_all("scenarios/*.ini") >= 8);
    assert_true(load_all("scenarios/compose/*.ini") >= 1);
    load_all("scenarios/*/*.ini");
    /* the overhead study's paired pass: two cost scenarios and the interleaved one */
    assert_true(load_all("scenarios/overhead/instrument/*.ini") >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_scenarios_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
