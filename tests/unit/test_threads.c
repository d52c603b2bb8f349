/* Tests for threads: registration and counts, unregistering however a thread ends,
 * a full registry, and the dumps — grouped text (debug=1), per-thread text with
 * state, wait reason and creator (debug=2), threads that do not answer, thousands of
 * threads, and the gzipped profile.proto. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "stacks.h"
#include "threads.h"

#define NOT_INLINED __attribute__((noipa))
#define WORKERS 6
#define OTHERS 2
#define SETTLE_TRIES 100

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int count_occurrences(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* ---- a pool of parked threads --------------------------------------------------- */

struct park {
    pthread_mutex_t mutex;
    pthread_cond_t cond;                 /* parked threads wait here for release */
    pthread_cond_t arrived;              /* the test waits here for them to park */
    int parked;
    int release;
};

static struct park park = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                           PTHREAD_COND_INITIALIZER, 0, 0};

NOT_INLINED static void park_here(struct park *p)
{
    pthread_mutex_lock(&p->mutex);
    p->parked++;
    pthread_cond_signal(&p->arrived);
    while (!p->release)
        pthread_cond_wait(&p->cond, &p->mutex);
    p->parked--;
    pthread_mutex_unlock(&p->mutex);
}

NOT_INLINED static void threads_test_worker_parked(struct park *p)
{
    threads_set_state(THREADS_STATE_IDLE, "test_queue_pop");
    park_here(p);
    threads_set_state(THREADS_STATE_RUNNING, NULL);
}

NOT_INLINED static void threads_test_other_parked(struct park *p)
{
    threads_set_state(THREADS_STATE_WAITING, "test_other_wait");
    park_here(p);
    threads_set_state(THREADS_STATE_RUNNING, NULL);   /* and no tail call above */
}

NOT_INLINED static void threads_test_deaf_parked(struct park *p)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, stacks_signal());
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    park_here(p);
}

static void *worker_main(void *arg)
{
    threads_test_worker_parked(arg);
    return NULL;
}

static void *other_main(void *arg)
{
    threads_test_other_parked(arg);
    return NULL;
}

static void *deaf_main(void *arg)
{
    threads_test_deaf_parked(arg);
    return NULL;
}

static void park_wait_for(struct park *p, int n)
{
    pthread_mutex_lock(&p->mutex);
    while (p->parked < n)
        pthread_cond_wait(&p->arrived, &p->mutex);
    pthread_mutex_unlock(&p->mutex);
}

#if defined(__SANITIZE_THREAD__)
#define MANY 100     /* ThreadSanitizer takes milliseconds to create each thread */
#elif defined(__SANITIZE_ADDRESS__)
#define MANY 500
#else
#define MANY 2000
#endif

/* Every parked thread a test spawns, so the teardown can release them even when an
 * assertion ended the test early. */
static pthread_t parked_threads[MANY + 64];
static int nparked_threads;

NOT_INLINED static int threads_test_spawn_parked(const char *name, enum threads_role role, void *(*fn)(void *))
{
    int rc = threads_spawn(&parked_threads[nparked_threads], name, role, fn, &park);
    if (rc == 0)
        nparked_threads++;
    return rc;
}

static void release_parked(void)
{
    pthread_mutex_lock(&park.mutex);
    park.release = 1;
    pthread_cond_broadcast(&park.cond);
    pthread_mutex_unlock(&park.mutex);
    for (int i = 0; i < nparked_threads; i++)
        pthread_join(parked_threads[i], NULL);
    nparked_threads = 0;
    park.release = 0;
}

static int teardown_parked(void **state)
{
    (void)state;
    release_parked();
    return 0;
}

NOT_INLINED static int threads_test_spawn_workers(int n, enum threads_role role, void *(*fn)(void *))
{
    char name[32];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s-%d", threads_role_name(role), i);
        if (threads_test_spawn_parked(name, role, fn) != 0)
            return -1;
    }
    return 0;
}

/* Spawns WORKERS workers and OTHERS other threads, parked. */
static void spawn_pool(void)
{
    assert_int_equal(threads_test_spawn_workers(WORKERS, THREADS_ROLE_WORKER, worker_main), 0);
    assert_int_equal(threads_test_spawn_workers(OTHERS, THREADS_ROLE_OTHER, other_main), 0);
    park_wait_for(&park, WORKERS + OTHERS);
}

/* The first group line ("N @ ...") of a debug=1 dump and the frame lines under it. */
static int first_group_count(const char *dump, const char **frames)
{
    const char *line = strchr(dump, '\n');
    if (!line)
        return -1;
    if (frames)
        *frames = line + 1;
    return atoi(line + 1);
}

/* A parked thread may still be inside pthread_cond_wait's own code, with a stack of
 * its own, right after it reported itself parked: dump until the stacks settle into
 * a first group of `expected` and, when `also` is set, a group starting with it. */
static char *dump_until_grouped(int expected, const char *also)
{
    for (int i = 0; i < SETTLE_TRIES; i++) {
        char *text = threads_dump_text(1, NULL);
        assert_non_null(text);
        if (first_group_count(text, NULL) == expected && (!also || strstr(text, also)))
            return text;
        free(text);
        usleep(20 * 1000);
    }
    return threads_dump_text(1, NULL);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_threads_dump_debug1_groups_identical_stacks(void **state)
{
    const char *frames = NULL;
    char *text, *group_end;
    unsigned total;

    (void)state;
    spawn_pool();
    total = threads_total();
    text = dump_until_grouped(WORKERS, "\n\n2 @ 0x");

    {
        char header[64];
        snprintf(header, sizeof header, "threads profile: total %u\n", total);
        assert_true(strncmp(text, header, strlen(header)) == 0);
    }
    assert_int_equal(first_group_count(text, &frames), WORKERS);
    assert_true(strncmp(strchr(frames, '@'), "@ 0x", 4) == 0);
    group_end = strstr(frames, "\n\n");
    assert_non_null(group_end);
    *group_end = '\0';
    assert_non_null(strstr(frames, "# labels: {\"role\":\"worker\", \"state\":\"idle\"}\n"));
    assert_non_null(strstr(frames, "\tthreads_test_worker_parked+0x"));
    assert_non_null(strstr(frames, "tests/unit/test_threads.c:"));
    assert_null(strstr(frames, "threads_test_other_parked"));
    /* The other threads form their own, smaller group further down. */
    assert_non_null(strstr(group_end + 1, "\n2 @ 0x"));
    assert_non_null(strstr(group_end + 1, "\tthreads_test_other_parked+0x"));
    free(text);
    release_parked();
}

static void test_threads_dump_debug2_shows_state_and_creator(void **state)
{
    char *text, *p;
    char expect[128];

    (void)state;
    spawn_pool();
    text = threads_dump_text(2, NULL);
    assert_non_null(text);

    assert_int_equal(count_occurrences(text, "[idle: test_queue_pop, "), WORKERS);
    assert_int_equal(count_occurrences(text, "[waiting: test_other_wait, "), OTHERS);
    assert_int_equal(count_occurrences(text, "\nthreads_test_worker_parked(...)\n\t"), WORKERS);
    assert_int_equal(count_occurrences(text, "created by threads_test_spawn_parked in thread 1\n\t"),
                     WORKERS + OTHERS);
    /* One block, in order: header, the stack, then where it was created. */
    p = strstr(text, "]: name=worker-3 role=worker tid=");
    assert_non_null(p);
    {
        const char *line = p;
        unsigned long long id;
        double waited, age;
        int tid = 0;
        while (line > text && line[-1] != '\n')
            line--;
        assert_int_equal(sscanf(line, "thread %llu [idle: test_queue_pop, %lfs]: name=worker-3 "
                                      "role=worker tid=%d age=%lfs\n", &id, &waited, &tid, &age), 4);
        assert_true(id > 1 && tid > 0);
        assert_true(waited >= 0 && waited < 60 && age >= waited - 0.1 && age < 60);
    }
    p = strstr(p, "threads_test_worker_parked(...)\n\t");
    assert_non_null(p);
    assert_non_null(strstr(p, "tests/unit/test_threads.c:"));
    p = strstr(p, "created by threads_test_spawn_parked");
    assert_non_null(p);
    /* The main thread registered itself: no "created by", and it is thread 1. */
    snprintf(expect, sizeof expect, "thread 1 [running, ");
    assert_true(strncmp(text, expect, strlen(expect)) == 0);
    assert_non_null(strstr(text, "]: name=main role=main tid="));
    p = strstr(text, "\n\n");
    assert_non_null(p);
    *p = '\0';
    assert_null(strstr(text, "created by"));
    assert_non_null(strstr(text, "\ntest_threads_dump_debug2_shows_state_and_creator(...)\n\t"));
    free(text);
    release_parked();
}

static void test_threads_count_by_role_and_state(void **state)
{
    unsigned counts[THREADS_ROLE_COUNT][THREADS_STATE_COUNT];
    unsigned before = threads_total();

    (void)state;
    spawn_pool();
    assert_int_equal(threads_total(), before + WORKERS + OTHERS);
    threads_count(counts);
    assert_int_equal(counts[THREADS_ROLE_WORKER][THREADS_STATE_IDLE], WORKERS);
    assert_int_equal(counts[THREADS_ROLE_WORKER][THREADS_STATE_RUNNING], 0);
    assert_int_equal(counts[THREADS_ROLE_OTHER][THREADS_STATE_WAITING], OTHERS);
    assert_int_equal(counts[THREADS_ROLE_MAIN][THREADS_STATE_RUNNING], 1);
    assert_int_equal(counts[THREADS_ROLE_IO][THREADS_STATE_RUNNING], 0);
    assert_string_equal(threads_role_name(THREADS_ROLE_WORKER), "worker");
    assert_string_equal(threads_state_name(THREADS_STATE_WAITING), "waiting");
    assert_string_equal(threads_role_name((enum threads_role)99), "unknown");
    release_parked();
    threads_count(counts);
    assert_int_equal(counts[THREADS_ROLE_WORKER][THREADS_STATE_IDLE], 0);
    assert_int_equal(threads_total(), before);
}

static void *name_then_return(void *arg)
{
    snprintf(arg, 32, "%s", threads_current_name());
    return NULL;
}

static void *name_then_exit(void *arg)
{
    snprintf(arg, 32, "%s", threads_current_name());
    pthread_exit(NULL);
}

static void *unregistered_name(void *arg)
{
    snprintf(arg, 32, "%s", threads_current_name());
    return NULL;
}

static void test_threads_unregister_when_thread_ends(void **state)
{
    unsigned before = threads_total();
    char names[3][32];
    pthread_t t[3];

    (void)state;
    assert_int_equal(threads_spawn(&t[0], "returns", THREADS_ROLE_OTHER, name_then_return, names[0]), 0);
    assert_int_equal(threads_spawn(&t[1], "exits", THREADS_ROLE_OTHER, name_then_exit, names[1]), 0);
    assert_int_equal(pthread_create(&t[2], NULL, unregistered_name, names[2]), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_string_equal(names[0], "returns");
    assert_string_equal(names[1], "exits");
    assert_string_equal(names[2], "unregistered");
    assert_int_equal(threads_total(), before);
    assert_string_equal(threads_current_name(), "main");
    assert_int_equal(threads_spawn(NULL, "bad", THREADS_ROLE_COUNT, name_then_return, names[0]), EINVAL);
    assert_int_equal(threads_spawn(NULL, "bad", THREADS_ROLE_OTHER, NULL, NULL), EINVAL);
}

static void *try_register(void *arg)
{
    *(int *)arg = threads_register_self("late", THREADS_ROLE_OTHER);
    threads_unregister_self();
    return NULL;
}

static void test_threads_registry_full(void **state)
{
    unsigned before = threads_total();
    pthread_t extra, untouched, helper;
    int registered = 0;

    (void)state;
    assert_int_equal(threads_set_capacity(0), -1);
    assert_int_equal(threads_set_capacity(8193), -1);
    assert_int_equal(threads_set_capacity(before + 2), 0);
    assert_int_equal(threads_test_spawn_parked("a", THREADS_ROLE_WORKER, worker_main), 0);
    assert_int_equal(threads_test_spawn_parked("b", THREADS_ROLE_WORKER, worker_main), 0);
    memset(&untouched, 0xab, sizeof untouched);
    extra = untouched;
    assert_int_equal(threads_spawn(&extra, "c", THREADS_ROLE_WORKER, worker_main, &park), EAGAIN);
    assert_memory_equal(&extra, &untouched, sizeof untouched);
    assert_int_equal(threads_total(), before + 2);

    assert_int_equal(pthread_create(&helper, NULL, try_register, &registered), 0);
    pthread_join(helper, NULL);
    assert_int_equal(registered, -1);

    park_wait_for(&park, 2);
    release_parked();
    assert_int_equal(threads_total(), before);
    /* Slots come back. */
    assert_int_equal(pthread_create(&helper, NULL, try_register, &registered), 0);
    pthread_join(helper, NULL);
    assert_int_equal(registered, 0);
    assert_int_equal(threads_set_capacity(8192), 0);
}

static void test_threads_dump_shows_threads_that_do_not_answer(void **state)
{
    int64_t start;
    char *text;

    (void)state;
    assert_int_equal(threads_test_spawn_parked("deaf", THREADS_ROLE_FAULT, deaf_main), 0);
    park_wait_for(&park, 1);
    /* Parked means counted, not yet asleep: wait until the kernel has it blocked. */
    start = now_ms();
    for (;;) {
        unsigned counts[THREADS_ROLE_COUNT][THREADS_STATE_COUNT];
        threads_count(counts);
        if (counts[THREADS_ROLE_FAULT][THREADS_STATE_WAITING] >= 1 || now_ms() - start > 5000)
            break;
        usleep(1000);
    }

    start = now_ms();
    text = threads_dump_text(1, NULL);
    assert_non_null(text);
    assert_true(now_ms() - start < 10000);   /* a hang guard, not a speed check */
    /* It declared nothing, but sits in a futex: the kernel's state says waiting. */
    assert_non_null(strstr(text, "1 @\n# labels: {\"role\":\"fault\", \"state\":\"waiting\"}\n#\t(no answer)\n\n"));
    free(text);

    text = threads_dump_text(2, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "]: name=deaf role=fault tid="));
    assert_non_null(strstr(strstr(text, "name=deaf"), "\n(no answer)\ncreated by "));
    free(text);
    release_parked();
}

static void test_threads_dump_of_thousands_answers_every_thread(void **state)
{
    int64_t start, took;
    char *text;
    size_t len = 0;

    (void)state;
    for (int i = 0; i < MANY; i++)
        assert_int_equal(threads_test_spawn_parked("many", THREADS_ROLE_FAULT, worker_main), 0);
    park_wait_for(&park, MANY);

    start = now_ms();
    text = threads_dump_text(1, &len);
    took = now_ms() - start;
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    /* How long it took is a figure, not a verdict: this machine is shared. */
    print_message("dump of %d threads took %lld ms\n", MANY, (long long)took);
    assert_int_equal(count_occurrences(text, "#\t(no answer)"), 0);
    free(text);

    text = dump_until_grouped(MANY, NULL);
    assert_int_equal(first_group_count(text, NULL), MANY);
    free(text);
    release_parked();
}

/* ---- profile.proto, decoded just enough to check it ----------------------------- */

#define PB_MAX 4096

struct decoded {
    char *strings[PB_MAX];
    int nstrings;
    int64_t sample_type, sample_unit;
    int nsamples;
    int64_t sample_value[PB_MAX];
    uint64_t sample_locations[PB_MAX][STACKS_MAX_DEPTH];
    int sample_nlocations[PB_MAX];
    uint64_t location_function[PB_MAX];  /* by location id: first line's function */
    int64_t function_name[PB_MAX];       /* by function id: string index */
};

static int pb_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        unsigned char b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* Calls visit for each field of the message [p, end). Returns 0 or -1. */
static int pb_walk(const unsigned char *p, const unsigned char *end,
                   int (*visit)(int field, uint64_t value, const unsigned char *data,
                                size_t len, void *user), void *user)
{
    while (p < end) {
        uint64_t key, value = 0;
        const unsigned char *data = NULL;
        if (pb_varint(&p, end, &key) != 0)
            return -1;
        if ((key & 7) == 0) {
            if (pb_varint(&p, end, &value) != 0)
                return -1;
        } else if ((key & 7) == 2) {
            if (pb_varint(&p, end, &value) != 0 || value > (uint64_t)(end - p))
                return -1;
            data = p;
            p += value;
        } else {
            return -1;
        }
        if (visit((int)(key >> 3), value, data, data ? (size_t)value : 0, user) != 0)
            return -1;
    }
    return 0;
}

/* A repeated integer field, packed or not: calls add per value. */
static int pb_ints(uint64_t value, const unsigned char *data, size_t len,
                   void (*add)(uint64_t v, void *user), void *user)
{
    const unsigned char *end = data + len;
    if (!data) {
        add(value, user);
        return 0;
    }
    while (data < end) {
        if (pb_varint(&data, end, &value) != 0)
            return -1;
        add(value, user);
    }
    return 0;
}

struct current { struct decoded *d; uint64_t id; };

static void add_location(uint64_t v, void *user)
{
    struct decoded *d = user;
    if (d->sample_nlocations[d->nsamples] < STACKS_MAX_DEPTH)
        d->sample_locations[d->nsamples][d->sample_nlocations[d->nsamples]++] = v;
}

static void add_value(uint64_t v, void *user)
{
    struct decoded *d = user;
    d->sample_value[d->nsamples] = (int64_t)v;
}

static int visit_sample(int field, uint64_t value, const unsigned char *data, size_t len, void *user)
{
    if (field == 1)
        return pb_ints(value, data, len, add_location, user);
    if (field == 2)
        return pb_ints(value, data, len, add_value, user);
    return 0;
}

static int visit_value_type(int field, uint64_t value, const unsigned char *data, size_t len, void *user)
{
    struct decoded *d = user;
    (void)data;
    (void)len;
    if (field == 1)
        d->sample_type = (int64_t)value;
    if (field == 2)
        d->sample_unit = (int64_t)value;
    return 0;
}

static int visit_line(int field, uint64_t value, const unsigned char *data, size_t len, void *user)
{
    struct current *c = user;
    (void)data;
    (void)len;
    if (field == 1 && c->id < PB_MAX && c->d->location_function[c->id] == 0)
        c->d->location_function[c->id] = value;
    return 0;
}

static int visit_location(int field, uint64_t value, const unsigned char *data, size_t len, void *user)
{
    struct current *c = user;
    if (field == 1)
        c->id = value;
    if (field == 4)
        return pb_walk(data, data + len, visit_line, c);
    return 0;
}

static int visit_function(int field, uint64_t value, const unsigned char *data, size_t len, void *user)
{
    struct current *c = user;
    (void)data;
    (void)len;
    if (field == 1)
        c->id = value;
    if (field == 2 && c->id < PB_MAX)
        c->d->function_name[c->id] = (int64_t)value;
    return 0;
}

static int visit_profile(int field, uint64_t value, const unsigned char *data, size_t len, void *user)
{
    struct decoded *d = user;
    struct current c = {d, 0};
    (void)value;
    switch (field) {
    case 1:
        return pb_walk(data, data + len, visit_value_type, d);
    case 2:
        if (d->nsamples >= PB_MAX || pb_walk(data, data + len, visit_sample, d) != 0)
            return -1;
        d->nsamples++;
        return 0;
    case 4:
        return pb_walk(data, data + len, visit_location, &c);
    case 5:
        return pb_walk(data, data + len, visit_function, &c);
    case 6:
        if (d->nstrings >= PB_MAX)
            return -1;
        d->strings[d->nstrings] = strndup((const char *)data, len);
        return d->strings[d->nstrings++] ? 0 : -1;
    default:
        return 0;
    }
}

static unsigned char *gunzip(const unsigned char *in, size_t len, size_t *out_len)
{
    z_stream zs;
    size_t cap = 1 << 20;
    unsigned char *out = malloc(cap);
    int rc;

    memset(&zs, 0, sizeof zs);
    if (!out || inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        free(out);
        return NULL;
    }
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    rc = inflate(&zs, Z_FINISH);
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    *out_len = zs.total_out;
    return out;
}

/* The value of the sample whose stack names `function`, or -1. */
static int64_t sample_naming(const struct decoded *d, const char *function)
{
    for (int s = 0; s < d->nsamples; s++) {
        for (int i = 0; i < d->sample_nlocations[s]; i++) {
            uint64_t loc = d->sample_locations[s][i];
            uint64_t fn = loc < PB_MAX ? d->location_function[loc] : 0;
            int64_t name = fn < PB_MAX ? d->function_name[fn] : -1;
            if (name > 0 && name < d->nstrings && strcmp(d->strings[name], function) == 0)
                return d->sample_value[s];
        }
    }
    return -1;
}

static void test_threads_dump_proto_decodes(void **state)
{
    static struct decoded d;
    unsigned char *gz = NULL, *raw = NULL;
    size_t gz_len = 0, raw_len = 0;
    int64_t total = 0;

    (void)state;
    spawn_pool();
    for (int i = 0; i < SETTLE_TRIES; i++) {
        for (int k = 0; k < d.nstrings; k++)
            free(d.strings[k]);
        memset(&d, 0, sizeof d);
        free(gz);
        free(raw);
        assert_int_equal(threads_dump_proto(&gz, &gz_len), 0);
        assert_true(gz_len > 2 && gz[0] == 0x1f && gz[1] == 0x8b);
        raw = gunzip(gz, gz_len, &raw_len);
        assert_non_null(raw);
        assert_int_equal(pb_walk(raw, raw + raw_len, visit_profile, &d), 0);
        if (sample_naming(&d, "threads_test_worker_parked") == WORKERS)
            break;
        usleep(20 * 1000);
    }
    assert_true(d.sample_type > 0 && d.sample_type < d.nstrings);
    assert_string_equal(d.strings[d.sample_type], "threads");
    assert_string_equal(d.strings[d.sample_unit], "count");
    assert_int_equal(sample_naming(&d, "threads_test_worker_parked"), WORKERS);
    assert_int_equal(sample_naming(&d, "threads_test_other_parked"), OTHERS);
    for (int s = 0; s < d.nsamples; s++)
        total += d.sample_value[s];
    assert_int_equal(total, threads_total());

    for (int k = 0; k < d.nstrings; k++)
        free(d.strings[k]);
    free(gz);
    free(raw);
    release_parked();
}

static int group_setup(void **state)
{
    char err[128];
    (void)state;
    if (stacks_init(err, sizeof err) != 0)
        return -1;
    return threads_register_self("main", THREADS_ROLE_MAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_threads_dump_debug1_groups_identical_stacks, teardown_parked),
        cmocka_unit_test_teardown(test_threads_dump_debug2_shows_state_and_creator, teardown_parked),
        cmocka_unit_test_teardown(test_threads_count_by_role_and_state, teardown_parked),
        cmocka_unit_test_teardown(test_threads_unregister_when_thread_ends, teardown_parked),
        cmocka_unit_test_teardown(test_threads_registry_full, teardown_parked),
        cmocka_unit_test_teardown(test_threads_dump_shows_threads_that_do_not_answer, teardown_parked),
        cmocka_unit_test_teardown(test_threads_dump_of_thousands_answers_every_thread, teardown_parked),
        cmocka_unit_test_teardown(test_threads_dump_proto_decodes, teardown_parked),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
