/* stacks: capture a thread's call stack and turn program counters into names.
 *
 * A thread's own stack is walked in place. Another thread's stack is captured by
 * that thread itself: stacks_capture_thread() sends it a real-time signal whose
 * handler walks the stack with an async-signal-safe unwinder (libunwind's local-only
 * mode) into a slot the caller then reads. Symbolization (function, file:line) uses
 * libdw on the running process and is cached; it must not run in a signal handler.
 *
 * The pcs stored are return addresses, as in Go and pprof: the address after the
 * instruction each frame was executing (the interrupted frame's pc + 1). Symbolizing
 * names the exact pc given: pass a captured pc - 1 to name the call, as Go's
 * runtime.CallersFrames and pprof do.
 *
 * Another thread's stack is taken with the signal stacks_signal(); a thread that
 * blocks it shows as not answering. The handler is installed with SA_RESTART, but
 * nanosleep, epoll_wait, poll and sem_timedwait fail with EINTR when it runs, as
 * with any signal: their callers must retry. */
#ifndef ORDERD_STACKS_H
#define ORDERD_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STACKS_MAX_DEPTH 64

struct stacks_frame {
    uintptr_t pc;
    char function[160];   /* "?" when unknown */
    uintptr_t offset;     /* pc - function start */
    char file[256];       /* "" when unknown */
    int line;             /* 0 when unknown */
};

/* Installs the capture signal handler and prepares the symbolizer.
 * Returns 0, or -1 with err filled. Call once, before threads are spawned. */
int stacks_init(char *err, size_t errlen);

/* The real-time signal used to capture other threads (SIGRTMIN + 5). */
int stacks_signal(void);

/* Walks the calling thread's stack, skipping `skip` innermost frames (the capture
 * itself is never included). Returns the number of pcs stored (0..max). */
int stacks_capture_self(uintptr_t *pcs, int max, int skip);

/* The same walk at a small, fixed cost, by frame pointers (stacks_fp.c), for the heap
 * sampler inside malloc: no lock, no allocation, no system call, and only words of the
 * calling thread's own stack are read. The stack ends at the first frame not built with
 * a frame pointer (a library's), or at the thread's outermost frame recorded by
 * stacks_fp_thread_bounds. Returns the number of pcs stored (0..max): 0 on a thread
 * that recorded no bounds, and always 0 where the walk is not built (other than x86-64). */
int stacks_capture_self_fp(uintptr_t *pcs, int max, int skip);

/* Records the calling thread's stack bounds for stacks_capture_self_fp, with
 * outermost_frame (the caller's __builtin_frame_address(0): the thread's start function,
 * or main) as the last frame a walk may read. Call once per thread, outside malloc (it
 * calls pthread_getattr_np, which may allocate, and for the main thread reads
 * /proc/self/maps). Returns 0, or -1 (nothing recorded: the thread's walks return 0). */
int stacks_fp_thread_bounds(const void *outermost_frame);

/* Captures the stack of thread `tid` (a kernel thread id of this process).
 * Returns the number of pcs stored, or -1 when the thread did not answer within
 * timeout_ms (gone, or signals blocked). Serialized internally: safe from any thread. */
int stacks_capture_thread(pid_t tid, uintptr_t *pcs, int max, int timeout_ms);

/* Captures n threads at once: thread i's stack goes to pcs[i*max ..], its depth to
 * depths[i] (-1: no answer). Threads are signalled in batches of 256, each batch
 * waiting at most timeout_ms, so stragglers cost one timeout per batch, not per
 * thread. Returns the number of threads that answered. */
int stacks_capture_threads(const pid_t *tids, int n, uintptr_t *pcs, int max, int *depths,
                           int timeout_ms);

/* For a signal handler of the caller's own (the CPU profiler's): walks the stack the
 * signal interrupted, from the handler's ucontext, into pcs (the interrupted pc + 1
 * first, then return addresses). Async-signal-safe: no lock, no allocation, once
 * stacks_init has warmed the unwinder up. Returns the number of pcs (0..max, at most
 * STACKS_MAX_DEPTH). */
int stacks_unwind_signal(void *ucontext, uintptr_t *pcs, int max);

/* Names the code at pc: the innermost function there, which may be one inlined into
 * the function that owns the machine code. Always fills *out (function "?" when unknown).
 * Returns 0 when the function is known, -1 otherwise. Thread-safe. */
int stacks_symbolize(uintptr_t pc, struct stacks_frame *out);

/* Names the code at pc and the functions it is inlined into, innermost first (the
 * function stacks_symbolize names comes first, the function that owns the machine
 * code last). Fills up to max frames (at most 4) and returns how many, or -1 when the
 * function is unknown (frames[0] is then "?"). Thread-safe. */
int stacks_symbolize_inline(uintptr_t pc, struct stacks_frame *frames, int max);

/* True while the calling thread is inside stacks_symbolize*: the heap sampler leaves
 * those allocations out. libdwfl's debug-information caches are the profiler's own
 * bookkeeping, as Go's symbol tables are (they are not on Go's heap), and charging them
 * to the heap would show the first profile request as a leak. */
bool stacks_symbolizing(void);

/* A hash of a stack, for the profilers' tables keyed by stack (FNV-1a over the pcs
 * with an extra shift so nearby return addresses spread). */
static inline uint64_t stacks_hash(const uintptr_t *pcs, int npcs)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (int i = 0; i < npcs; i++) {
        h ^= (uint64_t)pcs[i];
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h;
}

#endif
