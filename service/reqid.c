/* reqid: request and trace ids. See reqid.h.
 * Ids are random per thread (xorshift seeded from the clock and thread), which is
 * enough for correlation: they are not secrets. */
#include "reqid.h"

#include "units.h"
#include "xorshift.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

static _Thread_local uint64_t rng_state;

static uint64_t next_random(void)
{
    if (rng_state == 0) {
        rng_state = (uint64_t)units_wall_ns() ^ ((uint64_t)(uintptr_t)&rng_state << 17) ^
                    0x9e3779b97f4a7c15ULL;
        if (rng_state == 0)
            rng_state = 1;
    }
    return xorshift64star_next(&rng_state);
}

static void write_hex(char *out, uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = hex[v & 0xf];
        v >>= 4;
    }
}

bool reqid_is_valid(const char *text, size_t len)
{
    if (!text || len == 0 || len > REQID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-' || c == ':';
        if (!ok)
            return false;
    }
    return true;
}

void reqid_generate(char out[17])
{
    write_hex(out, next_random(), 16);
    out[16] = '\0';
}

void reqid_generate_trace_id(char out[33])
{
    write_hex(out, next_random(), 16);
    write_hex(out + 16, next_random(), 16);
    out[32] = '\0';
}

/* True when s[0..n) is lowercase hex and, when nonzero_required, not all zeros. */
static bool is_hex(const char *s, size_t n, bool nonzero_required)
{
    bool nonzero = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        if (c != '0')
            nonzero = true;
    }
    return nonzero || !nonzero_required;
}

int reqid_parse_traceparent(const char *text, size_t len, char trace_id[33])
{
    /* version(2) - trace-id(32) - parent-id(16) - flags(2) = 55 characters */
    if (!text || len < 55)
        return -1;
    if (!is_hex(text, 2, false) || memcmp(text, "ff", 2) == 0)
        return -1;
    if (memcmp(text, "00", 2) == 0 && len != 55)
        return -1;
    if (len > 55 && text[55] != '-')
        return -1;
    if (text[2] != '-' || text[35] != '-' || text[52] != '-')
        return -1;
    if (!is_hex(text + 3, 32, true) || !is_hex(text + 36, 16, true) || !is_hex(text + 53, 2, false))
        return -1;
    memcpy(trace_id, text + 3, 32);
    trace_id[32] = '\0';
    return 0;
}
