/* stacks (temporary stand-in): just enough of stacks.h for the profilers to link and
 * be tested before the real module lands — the calling thread's stack from libunwind's
 * unw_step() loop, names from dladdr() (exported symbols only, no file:line), and no
 * capture of other threads. Replaced by the real stacks module.
 *
 * Not backtrace(): with -lunwind it binds to libunwind's unw_backtrace(), whose
 * per-thread cache destructor crashes ThreadSanitizer when a thread exits. */
#include "stacks.h"

#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <stdio.h>
#include <string.h>

int stacks_init(char *err, size_t errlen)
{
    return 0;
}

int stacks_capture_self(uintptr_t *pcs, int max, int skip)
{
    uintptr_t caller = (uintptr_t)__builtin_return_address(0);
    unw_context_t context;
    unw_cursor_t cursor;
    unw_word_t ip;
    int found = 0, count = 0;

    if (max <= 0 || skip < 0)
        return 0;
    if (max > STACKS_MAX_DEPTH)
        max = STACKS_MAX_DEPTH;
    if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0)
        return 0;
    /* Start at the frame that returns into our caller, then skip `skip` more. */
    do {
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0)
            break;
        if (!found && (uintptr_t)ip == caller)
            found = 1;
        if (!found)
            continue;
        if (skip > 0)
            skip--;
        else
            pcs[count++] = (uintptr_t)ip;
    } while (count < max && unw_step(&cursor) > 0);
    return count;
}

int stacks_capture_thread(pid_t tid, uintptr_t *pcs, int max, int timeout_ms)
{
    return -1;
}

int stacks_symbolize(uintptr_t pc, struct stacks_frame *out)
{
    Dl_info info;

    memset(out, 0, sizeof *out);
    out->pc = pc;
    snprintf(out->function, sizeof out->function, "?");
    if (dladdr((void *)pc, &info) == 0 || info.dli_sname == NULL)
        return -1;
    snprintf(out->function, sizeof out->function, "%s", info.dli_sname);
    out->offset = pc - (uintptr_t)info.dli_saddr;
    return 0;
}
