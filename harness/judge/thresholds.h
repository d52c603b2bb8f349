/* thresholds: the levels at which a diagnosis calls a series a problem, per
 * one-second window, and how many windows in a row make an episode.
 *
 * In one header because two modules act on them: the rules (diagnose/rules.c) name a
 * problem when a level holds for an episode, and the capture (run/capture.c) takes a
 * snapshot of the evidence the first time a reading crosses the same level, so the
 * evidence a diagnosis needs is taken before the episode it will report is over. The
 * healthy suite stays far below each; docs/diagnosis.md has the figures and why each
 * sits where it does. */
#ifndef LOADLAB_THRESHOLDS_H
#define LOADLAB_THRESHOLDS_H

#define DIAGNOSE_WINDOW_S 1.0             /* the windows rates are taken over */
#define DIAGNOSE_STARTUP_S 1.0            /* memory and CPU in a process's first second are its start-up */

#define DIAGNOSE_THREADS_RATE 0.5         /* threads/s */
#define DIAGNOSE_THREADS_MIN_GROWTH 10.0  /* threads over the episode */
#define DIAGNOSE_THREADS_WINDOWS 3
#define DIAGNOSE_THREADS_LEVEL_GROWTH 100.0 /* threads held above the run's lowest count: a leak at its cap */
#define DIAGNOSE_THREADS_BASELINE_MARGIN 20.0 /* threads held above the most a baseline's runs reached */
/* Of the threads held above the run's lowest count (or a baseline's most) that one
 * stack must hold to be a leak at its cap's culprit when no group grew between dumps
 * (leak.threads=100%on: 2,000 of 2,000 in leak_notifier_wait from the first dump). */
#define DIAGNOSE_THREADS_LEVEL_SHARE 0.8

#define DIAGNOSE_RSS_RATE 1e6             /* bytes/s */
#define DIAGNOSE_RSS_WINDOWS 3
/* A faint leak: a slower climb, held longer, counts only when a heap site that gained
 * most of it (DIAGNOSE_HEAP_SHARE_OF_GROWTH, DIAGNOSE_HEAP_MIN_GROWTH) is behind it.
 * leak.memory=10%on(4096) under 8 connections of product reads climbs 0.6-1.6 MB/s in
 * every window; healthy runs of the matrices grew 0.1-0.4 MB/s once their clients were
 * connected, with single windows up to 1.5 MB/s (a capture's buffers), never 5 in a
 * row at 0.5 MB/s. */
#define DIAGNOSE_RSS_RATE_FAINT 0.5e6
#define DIAGNOSE_RSS_WINDOWS_FAINT 5
#define DIAGNOSE_HEAP_MIN_GROWTH 1e6      /* bytes a culprit site must have gained */
/* Share of resident memory's growth between the first and last heap profiles that a
 * climbing culprit site must have gained. orderd's heap profile samples every
 * allocation of the process, so ordinary growth (connection buffers as 128 clients
 * connect, orders queued behind a stall, the bookkeeping of leaked threads) shows as
 * sites that gained a megabyte or two while memory climbed for other reasons: 24% of
 * the climb on a healthy 128-connection run, 3% beside a thread leak's stacks. A
 * leaking site is most of the climb (the leak.memory fault: 80-100%). */
#define DIAGNOSE_HEAP_SHARE_OF_GROWTH 0.4
#define DIAGNOSE_HEAP_LEVEL 64e6          /* bytes one site holds (or gained) that no steady state explains */
#define DIAGNOSE_RSS_LEVEL_GROWTH 128e6   /* resident bytes above the run's lowest, held to the end */
#define DIAGNOSE_RSS_BASELINE_MARGIN 32e6 /* resident bytes held above the most a baseline's runs held */
/* A leak too faint for the resident set, climbing through the capture's periodic heap
 * profiles (one about every second, from the end of start-up): leak.memory=10%on(4096)
 * under 2-4 connections leaks 150-300 KB/s beside an order store whose pages fill
 * 0.3-0.9 MB/s on healthy runs too. At orderd's 64 KiB a sample its site rose 1.0-1.5 MB
 * in most steps, never falling (a leaked block's sample stays) and still rising at the
 * end; healthy runs' sites moved under 0.15 MB, and transient ones (the CPU profiler's
 * buffer, orders queued, connections opening) rose in a step or two and stayed, or fell
 * again. The gain is counted in samples too: at 512 KiB a sample it must be 3 MB. */
#define DIAGNOSE_HEAP_CLIMB_PROFILES 4      /* periodic heap profiles at least */
#define DIAGNOSE_HEAP_CLIMB_MIN 256e3       /* bytes gained, first to last profile */
#define DIAGNOSE_HEAP_CLIMB_SAMPLES 6.0     /* ... and at least this many samples' worth */
#define DIAGNOSE_HEAP_CLIMB_RISES 3         /* steps in which it rose */
#define DIAGNOSE_HEAP_CLIMB_FALLS 0.2       /* what it fell in all, at most, as a share of the gain */
#define DIAGNOSE_HEAP_CLIMB_QUEUE 0.1       /* share of its capacity the queue may fill meanwhile, less */

#define DIAGNOSE_LOCK_RATE 0.05           /* lock-wait seconds per second */
#define DIAGNOSE_LOCK_WINDOWS 2
#define DIAGNOSE_LOCK_MIN_CONTENTIONS 20.0 /* times a second the lock was found taken, for its wait to be contention */
#define DIAGNOSE_LOCK_IDLE_SHARE 0.5     /* of threads caught waiting for a mutex that are idle workers: waiting for work */
/* Of threads (other than idle workers) caught waiting for a mutex that wait at the job
 * queue (where idle workers wait for work, or in the same source file: the producers'
 * push), and below the share of the mutex profile a holder elsewhere has, for the wait
 * to be the queue's handoff rather than contention. At a queue that filled or turned
 * work away, the mutex profile must also charge DIAGNOSE_LOCK_QUEUE_SHARE of its
 * contention to the queue's own code (its push and pop). */
#define DIAGNOSE_LOCK_QUEUE_SHARE 0.8
#define DIAGNOSE_LOCK_HOLDER_SHARE 0.5
/* A fainter level, held longer, for a lock only a few threads contend for (two
 * connections: 0.02-0.05 s/s under lock.cache=on(200us)); it counts only when the mutex
 * profile (DIAGNOSE_LOCK_HOLDER_SHARE of it) or DIAGNOSE_LOCK_FAINT_DUMPS thread dumps
 * name a function outside the job queue's handoff. Locks other than the job queue's
 * wait at most 0.017 s/s in a window without the fault. */
#define DIAGNOSE_LOCK_FAINT_RATE 0.015
#define DIAGNOSE_LOCK_FAINT_WINDOWS 3
#define DIAGNOSE_LOCK_FAINT_DUMPS 2
/* A lock held long each time it is taken, whatever the total wait: a holder keeping it
 * DIAGNOSE_LOCK_HELD_WAIT or more per contention in each of DIAGNOSE_LOCK_HELD_WINDOWS
 * one-second windows (found taken DIAGNOSE_LOCK_HELD_CONTENTIONS times a second in
 * each), DIAGNOSE_LOCK_HELD_RATE of wait a second in all, and DIAGNOSE_LOCK_HELD_FACTOR
 * times the job queue's wait per contention over the same windows when that lock was
 * found taken DIAGNOSE_LOCK_MIN_CONTENTIONS times a second (its holders hold it for
 * microseconds: what its waiters wait is the scheduler's delay, which every lock's
 * waiters share). Measured on 77 runs: lock.cache waits 146-5,256 us per contention
 * (two connections, or a first fault that cut the rate to a few hundred requests a
 * second, leave it 0.007-0.02 s/s in all); other locks 2-62 us, and 191-213 us only on
 * a healthy run of 64 workers under 128 connections, whose queue lock waited 334 us. */
#define DIAGNOSE_LOCK_HELD_WAIT 0.0001
#define DIAGNOSE_LOCK_HELD_CONTENTIONS 5.0
#define DIAGNOSE_LOCK_HELD_WINDOWS 3
#define DIAGNOSE_LOCK_HELD_RATE 0.002
#define DIAGNOSE_LOCK_HELD_FACTOR 2.0

#define DIAGNOSE_QUEUE_FILL 0.9           /* of capacity, as the queue_saturation gate */
#define DIAGNOSE_QUEUE_MIN_S 1.0          /* seconds at capacity */
#define DIAGNOSE_REJECT_RATE 5.0          /* jobs turned away per second: the queue was full, however briefly */
#define DIAGNOSE_REJECT_WINDOWS 2
#define DIAGNOSE_QUEUE_LEAVE 0.7          /* an episode at capacity lasts until the depth falls below this share */
#define DIAGNOSE_QUEUE_BLOCKED_SHARE 0.5  /* of busy worker samples waiting on a condition */
#define DIAGNOSE_QUEUE_SLOWER 0.5         /* served under this share of the rate before the queue filled: workers slowed */
#define DIAGNOSE_STALL_MIN_SAMPLES 3      /* dumps that caught busy workers waiting on a condition in one function, with room in the queue */
/* Of busy-worker samples waiting on a condition in that function, with room in the
 * queue: a stall of 2 ms beside a 2 ms payment call gives 32-64%; busy workers of
 * runs without a stall are never caught waiting on a condition (none of the 255
 * runs without one in six stored matrices). */
#define DIAGNOSE_STALL_SHARE 0.25
#define DIAGNOSE_QUEUE_STALL_SHARE 0.2    /* below it, a full queue that turns work away is overload, not a stall */
/* A queue full from before its workers stalled: overload first, then the stall, when
 * this long and this many thread dumps of busy workers doing only their work came
 * between (dumps every 0.5 s: four of them in the two seconds). */
#define DIAGNOSE_OVERLOAD_FIRST_S 2.0
#define DIAGNOSE_OVERLOAD_FIRST_DUMPS 3

#define DIAGNOSE_BLOCK_RATE 0.1           /* blocked seconds per second at one site */
#define DIAGNOSE_PRODUCER_SHARE 0.3       /* of io-thread samples waiting in one function */
#define DIAGNOSE_PRODUCER_MIN_SAMPLES 3
#define DIAGNOSE_PRODUCER_BLOCK_WINDOWS 2 /* of DIAGNOSE_BLOCK_RATE at the site the io threads wait in */

#define DIAGNOSE_CPU_PER_REQUEST 0.0005   /* CPU seconds per request */
#define DIAGNOSE_CPU_PER_REQUEST_NAMED 0.00025 /* a lower level, held 3 s, when the dumps name a function for it */
#define DIAGNOSE_CPU_MIN_RATE 5.0         /* requests/s for a window to count */
#define DIAGNOSE_CPU_WINDOWS 2
/* Relative to the run's own healthy start, for a slowdown too faint for the absolute
 * level: windows at DIAGNOSE_CPU_REL_FACTOR times the lowest of the first
 * DIAGNOSE_CPU_BASELINE_WINDOWS, and DIAGNOSE_CPU_REL_MIN above it, for
 * DIAGNOSE_CPU_REL_WINDOWS in a row. */
#define DIAGNOSE_CPU_BASELINE_WINDOWS 3
#define DIAGNOSE_CPU_REL_FACTOR 1.6
#define DIAGNOSE_CPU_REL_MIN 0.000025
#define DIAGNOSE_CPU_REL_WINDOWS 3
#define DIAGNOSE_CPU_REL_MIN_CORE 0.025 /* CPU seconds per second the rise must add, for a relative finding */
/* The process CPU counter's step: /proc counts clock ticks of 10 ms, so a one-second
 * window of a light load reads 0.01, 0.02 or 0.03 s for the same work, and the lowest
 * of the first windows (the base) can be a step low. A relative rise must add
 * DIAGNOSE_CPU_REL_MIN_CORE beyond it: a healthy mix of 4 connections, 750 requests a
 * second, went from a base of 13 us (0.01 s in a window) to 55 us for 3 s (0.04 s),
 * 2.9% of a core. */
#define DIAGNOSE_CPU_TICK_S 0.01
#define DIAGNOSE_CPU_SHARE 0.3            /* of on-CPU io-thread samples in one function */
/* A CPU profile counts for an episode when it started at most this long before it
 * (the capture starts one at the first reading past a level, the episode is dated
 * from the windows that held), and names a culprit with this many samples in it. */
#define DIAGNOSE_CPU_PROFILE_LEAD_S 4.0
#define DIAGNOSE_CPU_PROFILE_MIN_SAMPLES 5
#define DIAGNOSE_CPU_MIN_SAMPLES 2

#endif
