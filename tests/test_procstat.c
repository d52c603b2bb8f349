/* Unit tests for procstat, on this test process itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procstat.h"

static char err[256];
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;

static void *hold(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&gate_lock);
    pthread_mutex_unlock(&gate_lock);
    return NULL;
}

static void test_procstat_counts_threads_and_fds(void **state)
{
    struct procstat before, during;
    pthread_t t[3];
    int fds[4];
    (void)state;
    assert_int_equal(procstat_read(getpid(), &before, err, sizeof err), 0);
    pthread_mutex_lock(&gate_lock);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hold, NULL), 0);
    for (int i = 0; i < 4; i++)
        assert_true((fds[i] = open("/dev/null", O_RDONLY)) >= 0);
    assert_int_equal(procstat_read(getpid(), &during, err, sizeof err), 0);
    pthread_mutex_unlock(&gate_lock);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    assert_int_equal(during.threads, before.threads + 3);
    assert_int_equal(during.open_fds, before.open_fds + 4);
    assert_true(during.rss_bytes > 0);
    assert_true(during.cpu_seconds >= 0);
}

static void test_procstat_rss_follows_touched_memory(void **state)
{
    struct procstat before, after;
    size_t size = 32 * 1024 * 1024;
    char *block;
    (void)state;
    assert_int_equal(procstat_read(getpid(), &before, err, sizeof err), 0);
    block = malloc(size);
    assert_non_null(block);
    memset(block, 1, size);
    assert_int_equal(procstat_read(getpid(), &after, err, sizeof err), 0);
    assert_true(after.rss_bytes >= before.rss_bytes + size / 2);
    free(block);
}

static void test_procstat_missing_process(void **state)
{
    struct procstat s = {.threads = 7};
    (void)state;
    assert_int_equal(procstat_read(999999999, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "/proc/999999999"));
    assert_int_equal(s.threads, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_procstat_counts_threads_and_fds),
        cmocka_unit_test(test_procstat_rss_follows_touched_memory),
        cmocka_unit_test(test_procstat_missing_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
