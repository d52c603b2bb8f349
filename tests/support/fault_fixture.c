/* fault_fixture: faults by term text for unit tests. See fault_fixture.h. */
#include "fault_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

void fault_fixture_set(enum fault_id id, const char *text)
{
    struct fault_term t;
    char err[256];
    if (fault_term_parse(id, text, &t, err, sizeof err) != 0)
        fail_msg("'%s' rejected: %s", text, err);
    fault_set(id, &t);
}

void fault_fixture_clear_all(void)
{
    for (int i = 0; i < FAULT_COUNT; i++)
        fault_clear((enum fault_id)i);
}
