/* stacks (temporary stand-in): just enough of stacks.h for the profilers to link and
 * be tested before the real module lands — the calling thread's stack from glibc's
 * backtrace(), names from dladdr() (exported symbols only, no file:line), and no
 * capture of other threads. Replaced by the real stacks module. */
#include "stacks.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <stdio.h>
#include <string.h>

int stacks_init(char *err, size_t errlen)
{
    return 0;
}

int stacks_capture_self(uintptr_t *pcs, int max, int skip)
{
    void *frames[STACKS_MAX_DEPTH + 16];
    int first, n, count = 0;

    if (max <= 0 || skip < 0 || skip > 16)
        return 0;
    if (max > STACKS_MAX_DEPTH)
        max = STACKS_MAX_DEPTH;
    /* frames[0] is this function's own return into backtrace()'s caller: skip it. */
    first = 1 + skip;
    n = backtrace(frames, first + max);
    for (int i = first; i < n && count < max; i++)
        pcs[count++] = (uintptr_t)frames[i];
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
