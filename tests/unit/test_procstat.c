/* Tests for common/procstat.c, checked against what this test process can count for
 * itself: threads it starts, descriptors it opens, memory it touches, CPU it burns,
 * the soft limit getrlimit gives, when it started — and a child whose name holds
 * ") (" (the name field of /proc/PID/stat is read from its last ')'), and a pid that
 * no longer exists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "procstat.h"
#include "tmpdb.h"

#define EXTRA_THREADS 3
#define EXTRA_FDS 5
#define TOUCHED_BYTES (32u << 20)

static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cond = PTHREAD_COND_INITIALIZER;
static int released;

static void *held_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&hold_lock);
    while (!released)
        pthread_cond_wait(&hold_cond, &hold_lock);
    pthread_mutex_unlock(&hold_lock);
    return NULL;
}

static struct tmpdb tmp;

static int make_tmp(void **state)
{
    (void)state;
    return tmpdb_make(&tmp, "procstat-test");
}

static int remove_tmp(void **state)
{
    (void)state;
    return tmpdb_remove(&tmp);
}

static struct procstat self(void)
{
    struct procstat st;
    assert_int_equal(procstat_read(0, &st), 0);
    return st;
}

/* The thread count once it holds `want`, or the last one read after 2 s. A joined
 * thread has run its last instruction (the kernel cleared its tid), but the kernel
 * may list it in /proc a moment longer while it releases the task. */
static uint64_t threads_settled_at(uint64_t want)
{
    struct timespec pause = {.tv_nsec = 1000000};
    uint64_t n = self().threads;
    for (int i = 0; i < 2000 && n != want; i++) {
        nanosleep(&pause, NULL);
        n = self().threads;
    }
    return n;
}

/* The thread count once two reads 20 ms apart agree (at most 2 s). */
static uint64_t threads_steady(void)
{
    struct timespec pause = {.tv_nsec = 20000000};
    uint64_t n = self().threads, prev;
    for (int i = 0; i < 100; i++) {
        prev = n;
        nanosleep(&pause, NULL);
        if ((n = self().threads) == prev)
            break;
    }
    return n;
}

static void test_procstat_counts_the_threads_this_process_starts(void **state)
{
    pthread_t t[EXTRA_THREADS], first;
    uint64_t before;
    (void)state;
    /* A runtime may start a helper thread with the first thread (ThreadSanitizer
     * does): one thread started and joined first, so the count compared is ours. */
    assert_int_equal(pthread_create(&first, NULL, held_thread, NULL), 0);
    pthread_mutex_lock(&hold_lock);
    released = 1;
    pthread_cond_broadcast(&hold_cond);
    pthread_mutex_unlock(&hold_lock);
    pthread_join(first, NULL);
    released = 0;
    before = threads_steady();
    assert_true(before >= 1);
    for (int i = 0; i < EXTRA_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, held_thread, NULL), 0);
    assert_int_equal(self().threads, before + EXTRA_THREADS);
    pthread_mutex_lock(&hold_lock);
    released = 1;
    pthread_cond_broadcast(&hold_cond);
    pthread_mutex_unlock(&hold_lock);
    for (int i = 0; i < EXTRA_THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(threads_settled_at(before), before);
}

static void test_procstat_counts_open_descriptors_and_the_soft_limit(void **state)
{
    int fds[EXTRA_FDS];
    struct rlimit lim;
    struct procstat st = self();
    uint64_t before = st.open_fds;
    (void)state;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
    assert_int_equal(st.max_fds, lim.rlim_cur);
    for (int i = 0; i < EXTRA_FDS; i++)
        assert_true((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
    /* The directory procstat reads to count them is not one of ours. */
    assert_int_equal(self().open_fds, before + EXTRA_FDS);
    for (int i = 0; i < EXTRA_FDS; i++)
        close(fds[i]);
    assert_int_equal(self().open_fds, before);
}

static void test_procstat_resident_memory_grows_with_touched_pages(void **state)
{
    struct procstat before = self(), after;
    unsigned char *block = test_malloc(TOUCHED_BYTES);
    (void)state;
    memset(block, 0x5a, TOUCHED_BYTES);
    after = self();
    assert_true(after.rss_bytes >= before.rss_bytes + TOUCHED_BYTES - (1u << 20));
    assert_true(after.vsize_bytes >= after.rss_bytes);
    /* A read keeps the pages from being optimized away before the figure is taken. */
    assert_int_equal(block[TOUCHED_BYTES - 1], 0x5a);
    test_free(block);
}

static void test_procstat_cpu_time_rises_when_this_process_burns_cpu(void **state)
{
    struct procstat before = self();
    struct timespec start, now;
    volatile uint64_t sink = 0;
    (void)state;
    /* About 300 ms of CPU: well over a clock tick, bounded in time. */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
    do {
        for (int i = 0; i < 100000; i++)
            sink += (uint64_t)i * 2654435761u;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < 300000000L);
    assert_true(self().cpu_seconds >= before.cpu_seconds + 0.2);
}

/* Burns ms milliseconds of this thread's CPU. */
static void *burn_ms(void *arg)
{
    long ns = (long)(intptr_t)arg * 1000000L;
    struct timespec start, now;
    volatile uint64_t sink = 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
    do {
        for (int i = 0; i < 10000; i++)
            sink += (uint64_t)i * 2654435761u;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < ns);
    return NULL;
}

static void test_procstat_cpu_time_counts_exited_threads_finer_than_a_tick(void **state)
{
    double before, after;
    pthread_t thread;
    (void)state;
    /* 3 ms of CPU on a thread that is gone by the second reading: counted, to well
     * under /proc's 10 ms tick (which would read 0 or 0.01). */
    assert_int_equal(procstat_cpu_seconds(0, &before), 0);
    assert_int_equal(pthread_create(&thread, NULL, burn_ms, (void *)(intptr_t)3), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(procstat_cpu_seconds(0, &after), 0);
    assert_true(after - before >= 0.003);
    assert_true(after - before < 0.009);
}

static void test_procstat_start_time_is_when_this_process_began(void **state)
{
    struct procstat st = self();
    double now = (double)time(NULL);
    (void)state;
    /* Started before now, and not before the test binary could have been run. */
    assert_true(st.start_time_seconds <= now + 1);
    assert_true(st.start_time_seconds > now - 300);
}

static void test_procstat_reads_a_child_with_parentheses_in_its_name(void **state)
{
    static const char name[] = "a) b (c) 1 2";
    char link[256], status_path[64], want_name[64];
    bool ready = false;
    char *argv[] = {link, "30", NULL};
    struct procstat st;
    pid_t pid;
    int status;
    (void)state;
    /* The process's name is its program's file name: a link to sleep named to
     * confuse a reader that takes the first ')' for the end of the name. */
    tmpdb_file(&tmp, name, link, sizeof link);
    assert_int_equal(symlink("/bin/sleep", link), 0);
    assert_int_equal(posix_spawn(&pid, link, NULL, NULL, argv, environ), 0);
    /* Ready once the new program sleeps under its name (exec names the process
     * before the program has run, or has any page in memory). */
    snprintf(status_path, sizeof status_path, "/proc/%d/status", (int)pid);
    snprintf(want_name, sizeof want_name, "Name:\t%s\n", name);
    for (int i = 0; i < 500 && !ready; i++) {
        char *text = files_read(status_path);
        ready = text && strstr(text, want_name) && strstr(text, "\nState:\tS");
        free(text);
        if (!ready)
            usleep(10000);
    }
    assert_true(ready);
    assert_int_equal(procstat_read(pid, &st), 0);
    assert_true(st.cpu_seconds >= 0 && st.cpu_seconds < 1);
    assert_int_equal(st.threads, 1);
    assert_true(st.rss_bytes > 0);
    assert_true(st.open_fds >= 3);
    assert_true(st.start_time_seconds <= (double)time(NULL) + 1);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* Reaped: there is nothing left to read. */
    assert_int_equal(procstat_read(pid, &st), -1);
    assert_int_equal(procstat_cpu_seconds(pid, &st.cpu_seconds), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_procstat_counts_the_threads_this_process_starts),
        cmocka_unit_test(test_procstat_counts_open_descriptors_and_the_soft_limit),
        cmocka_unit_test(test_procstat_resident_memory_grows_with_touched_pages),
        cmocka_unit_test(test_procstat_cpu_time_rises_when_this_process_burns_cpu),
        cmocka_unit_test(test_procstat_cpu_time_counts_exited_threads_finer_than_a_tick),
        cmocka_unit_test(test_procstat_start_time_is_when_this_process_began),
        cmocka_unit_test_setup_teardown(test_procstat_reads_a_child_with_parentheses_in_its_name, make_tmp, remove_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
