/* fuzz_pprofproto: a CPU profile as /debug/pprof/profile answers it (profile.proto,
 * gzipped or not), turned into text by the harness and parsed back by the diagnosis.
 * The bytes come from a service: whatever they are, the text handed back must be
 * NUL-terminated, within its bound, and read by proftext as a CPU profile. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pprofproto.h"
#include "diagnose/proftext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], *text = NULL;
    size_t len = 0;
    struct proftext *p;

    if (pprofproto_cpu_text(data, size, &text, &len, err, sizeof err) < 0) {
        if (text)
            abort();  /* nothing is handed back on failure */
        return 0;
    }
    if (len > PPROFPROTO_MAX_TEXT || strlen(text) != len)
        abort();
    /* What the harness writes, the diagnosis reads, unless it is too large for it. */
    if (!(p = proftext_parse(PROFTEXT_CPU, text, len, err, sizeof err)) && len <= PROFTEXT_MAX_TEXT &&
        !strstr(err, "more than")) {
        fprintf(stderr, "written text not read back: %s\n", err);
        abort();
    }
    proftext_free(p);
    free(text);
    return 0;
}
