/* fuzz_reqid: X-Request-ID and traceparent as they arrive in a request's headers.
 *
 * The input is split at its first NUL byte (or used whole for both). An accepted id
 * is echoed into headers and logs, so it must hold only the safe alphabet and fit; an
 * accepted traceparent must yield 32 lowercase hex digits, not all zero. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int safe_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == ':' || ch == '-';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const uint8_t *nul = memchr(data, '\0', size);
    size_t id_len = nul ? (size_t)(nul - data) : size;
    const char *tp = nul ? (const char *)nul + 1 : text;
    size_t tp_len = nul ? size - id_len - 1 : size;
    char trace_id[33], *copy;
    bool nonzero = false;

    if (reqid_is_valid(text, id_len)) {
        if (id_len < 1 || id_len > REQID_MAX)
            abort();
        for (size_t i = 0; i < id_len; i++)
            if (!safe_char(text[i]))
                abort();
    }
    /* The server hands over its own copy: exactly the header's bytes, unterminated. */
    if (!(copy = malloc(tp_len ? tp_len : 1)))
        return 0;
    memcpy(copy, tp, tp_len);
    memset(trace_id, 'X', sizeof trace_id);
    if (reqid_parse_traceparent(copy, tp_len, trace_id) == 0) {
        if (strnlen(trace_id, sizeof trace_id) != 32) {
            fprintf(stderr, "trace id not 32 characters\n");
            abort();
        }
        for (int i = 0; i < 32; i++) {
            if (!((trace_id[i] >= '0' && trace_id[i] <= '9') || (trace_id[i] >= 'a' && trace_id[i] <= 'f')))
                abort();
            nonzero |= trace_id[i] != '0';
        }
        if (!nonzero)
            abort();
    } else if (trace_id[0] != 'X') {
        fprintf(stderr, "a refused traceparent changed the trace id\n");
        abort();
    }
    free(copy);
    return 0;
}
