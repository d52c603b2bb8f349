/* fault_fixture: orderd's faults switched on and off by their term text in unit tests,
 * as ORDERD_FAULTS or the debug API would, without a running service. */
#ifndef TESTS_FAULT_FIXTURE_H
#define TESTS_FAULT_FIXTURE_H

#include "fault.h"

/* Sets fault id to the term text ("on", "50%on(2ms)"); fails the test when the term is
 * rejected. */
void fault_fixture_set(enum fault_id id, const char *text);

/* Clears every fault (their heal hooks run as fault_clear runs them). */
void fault_fixture_clear_all(void);

#endif
