/* stacks_fp: the frame-pointer walk of the calling thread's own stack. See stacks.h.
 *
 * Why a second walker beside libunwind: the heap sampler takes a stack inside the
 * malloc interposer, at the metrics level, once per 512 KiB allocated on average.
 * unw_backtrace costs about 100,000 instructions on a walk through code it has not
 * seen yet (it reads the unwind tables), so one walk more or less in a round moved a
 * 60-request instruction count by 8% and the cost figure at metrics was no longer
 * exact. Following the rbp chain costs a few instructions a frame, the same every
 * time, and touches nothing but the stack.
 *
 * orderd is built with -fno-omit-frame-pointer, so its own frames chain through rbp:
 * a frame's [rbp] holds the caller's rbp, [rbp + 8] the return address into the
 * caller. Libraries built without frame pointers (libc, libevent) break the chain:
 * their rbp may hold any value. So a frame is read only at an address inside the
 * calling thread's stack, 16-byte aligned (the x86-64 ABI aligns every frame that
 * pushes rbp so), and above the frame before it; the walk stops at the first frame
 * that is not, or at the caller's max. And since a library's frame cannot be trusted
 * to link on (its rbp, pushed by the next callee, may point into the stack and yet
 * not at a frame: the words read there would be kept as pcs that are no calls), the
 * walk ends after the first return address outside the executable's own code (into
 * jansson, libevent, libc): that library function is the stack's last frame. So the
 * stack of an allocation made by a library stops at the library (where libunwind
 * would go on to its orderd callers), and that of an allocation orderd makes itself
 * (a leak's) reads up to the first library frame on its way out (libevent's, which
 * calls the request handlers). Nothing outside the thread's stack is ever read.
 *
 * The bounds: recorded once per thread by stacks_fp_thread_bounds, outside malloc
 * (pthread_getattr_np may allocate, and for the main thread reads /proc/self/maps),
 * into thread-locals the walk reads. The upper bound is the thread's outermost frame
 * of orderd's own (the thread registry's start function, main), not the top of the
 * stack, so the walk ends where libunwind would show libc's thread start and never
 * follows libc's rbp. A thread that never recorded its bounds gets no stack. */
#include "stacks.h"

#include <pthread.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define STACKS_FP_WALK 1
#define FRAME_ALIGN 16u
#endif

#ifdef STACKS_FP_WALK

/* The calling thread's stack: its low end, and just past the outermost frame the
 * walk may read (0 when not recorded). */
static __thread uintptr_t bound_low, bound_high;

/* The executable's own code lies between its ELF header and etext (both ld.bfd and
 * lld define them; weak, so a linker without them only loses the library stop). */
extern const char __ehdr_start[] __attribute__((weak));
extern const char etext[] __attribute__((weak));


int stacks_fp_thread_bounds(const void *outermost_frame)
{
    uintptr_t frame = (uintptr_t)outermost_frame, low;
    pthread_attr_t attr;
    void *addr;
    size_t size;
    int rc;

    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return -1;
    rc = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -1;
    low = (uintptr_t)addr;
    if (frame < low || frame % FRAME_ALIGN != 0 || size < 2 * sizeof(uintptr_t) ||
        frame > low + size - 2 * sizeof(uintptr_t))
        return -1;
    bound_low = low;
    bound_high = frame + 2 * sizeof(uintptr_t);
    return 0;
}

/* AddressSanitizer builds walk it too (the recorded heap): the words read are saved
 * registers and return addresses, never a poisoned local, but say so explicitly. */
__attribute__((noinline, no_sanitize_address)) int stacks_capture_self_fp(uintptr_t *pcs, int max, int skip)
{
    uintptr_t low = bound_low, high = bound_high;
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
    /* Without the symbols every pc counts as the executable's. */
    uintptr_t code_low = __ehdr_start && etext ? (uintptr_t)__ehdr_start : 0;
    uintptr_t code_high = __ehdr_start && etext ? (uintptr_t)etext : UINTPTR_MAX;
    int n = 0;

    if (!pcs || max <= 0 || high == 0)
        return 0;
    if (skip < 0)
        skip = 0;
    /* This function's own frame is the first; its return address is into the caller. */
    while (frame >= low && frame <= high - 2 * sizeof(uintptr_t) && frame % FRAME_ALIGN == 0) {
        const uintptr_t *words = (const uintptr_t *)frame;
        uintptr_t next = words[0], pc = words[1];

        if (pc == 0)
            break;
        if (skip > 0)
            skip--;
        else
            pcs[n++] = pc;
        if (n == max || next <= frame || pc < code_low || pc >= code_high)
            break;
        frame = next;
    }
    return n;
}

#else

int stacks_fp_thread_bounds(const void *outermost_frame)
{
    (void)outermost_frame;
    return -1;
}

int stacks_capture_self_fp(uintptr_t *pcs, int max, int skip)
{
    (void)pcs;
    (void)max;
    (void)skip;
    return 0;
}

#endif
