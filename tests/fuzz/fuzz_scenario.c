/* fuzz_scenario: scenario files. The text is handed to scenario_parse exactly as
 * scenario_load hands over a file it read: a buffer of the file's length with no NUL
 * after it, so a read past the end is caught. An accepted scenario must also turn
 * into the JSON recorded with each run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "run/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024];
    struct scenario *sc;
    char *text, *json;

    if (size > SCENARIO_MAX_FILE)
        return 0;
    if (!(text = malloc(size ? size : 1)))
        return 0;
    memcpy(text, data, size);
    sc = scenario_parse(text, size, "fuzz.ini", err, sizeof err);
    if (sc) {
        (void)scenario_load_ns(sc);
        json = scenario_params_json(sc);
        free(json);
        scenario_free(sc);
    }
    free(text);
    return 0;
}
