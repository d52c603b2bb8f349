/* Tests for service/log.c: JSON lines parsed back with jansson (ts, level, msg,
 * thread, the correlation ids, typed fields), escaping of quotes, backslashes and
 * control characters, NaN/Inf as null, the text format staying one line, truncation
 * that always leaves valid JSON marked "truncated":true and never writes past the
 * buffer, level filtering and drop counting in log_write (read back from a pipe), and
 * the correlation context being per thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define WALL_NS 1700000000123456789LL   /* 2023-11-14T22:13:20.123456789Z */
#define TS "2023-11-14T22:13:20.123456Z"
#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"

static struct log_context full_context(void)
{
    struct log_context ctx = {.order_id = 77, .user_id = 42};
    snprintf(ctx.request_id, sizeof ctx.request_id, "req-1");
    snprintf(ctx.trace_id, sizeof ctx.trace_id, TRACE);
    return ctx;
}

/* Parses one line, buf[0..len): it must be exactly one JSON object and one '\n'. */
static json_t *parse_line(const char *buf, size_t len)
{
    json_error_t jerr;

    assert_true(len > 0);
    assert_null(memchr(buf, '\0', len));
    assert_int_equal(buf[len - 1], '\n');
    assert_ptr_equal(memchr(buf, '\n', len), buf + len - 1);
    json_t *root = json_loadb(buf, len, 0, &jerr);
    if (!root)
        fail_msg("not JSON (%s): %s", jerr.text, buf);
    assert_true(json_is_object(root));
    return root;
}

static const char *str_of(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        fail_msg("%s is not a string", key);
    return json_string_value(v);
}

static json_int_t int_of(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", key);
    return json_integer_value(v);
}

static void test_log_json_line_fields(void **state)
{
    struct log_context ctx = full_context();
    struct log_field fields[] = {
        LOG_F_STR("route", "order_create"), LOG_F_INT("delta", -12), LOG_F_UINT("bytes", 4096),
        LOG_F_DOUBLE("ratio", 1.5), LOG_F_STR("empty", ""), LOG_F_STR("none", NULL),
    };
    char buf[1024];
    (void)state;

    size_t n = log_format_line(buf, sizeof buf, LOG_FORMAT_JSON, WALL_NS, LOG_WARN, "order accepted", "io-0",
                               &ctx, fields, 6);
    assert_int_equal(strlen(buf), n);
    json_t *root = parse_line(buf, n);
    assert_string_equal(str_of(root, "ts"), TS);
    assert_string_equal(str_of(root, "level"), "warn");
    assert_string_equal(str_of(root, "msg"), "order accepted");
    assert_string_equal(str_of(root, "thread"), "io-0");
    assert_string_equal(str_of(root, "request_id"), "req-1");
    assert_string_equal(str_of(root, "trace_id"), TRACE);
    assert_int_equal(int_of(root, "order_id"), 77);
    assert_int_equal(int_of(root, "user_id"), 42);
    assert_string_equal(str_of(root, "route"), "order_create");
    assert_int_equal(int_of(root, "delta"), -12);
    assert_int_equal(int_of(root, "bytes"), 4096);
    assert_true(json_is_real(json_object_get(root, "ratio")));
    assert_true(json_real_value(json_object_get(root, "ratio")) == 1.5);
    assert_string_equal(str_of(root, "empty"), "");
    assert_string_equal(str_of(root, "none"), "");
    assert_int_equal(json_object_size(root), 14);
    assert_null(json_object_get(root, "truncated"));
    json_decref(root);

    /* The line starts with ts, level, msg in that order, for people reading it raw. */
    static const char start[] = "{\"ts\":\"" TS "\",\"level\":\"warn\",\"msg\":\"order accepted\",";
    assert_memory_equal(buf, start, strlen(start));
}

static void test_log_json_context_omitted_when_unset(void **state)
{
    struct log_context unset = {.user_id = -1};
    struct log_context zero_user = {.user_id = 0};
    char buf[512];
    (void)state;

    size_t n = log_format_line(buf, sizeof buf, LOG_FORMAT_JSON, WALL_NS, LOG_INFO, "m", "t", NULL, NULL, 0);
    json_t *root = parse_line(buf, n);
    assert_int_equal(json_object_size(root), 4);   /* ts, level, msg, thread */
    json_decref(root);

    n = log_format_line(buf, sizeof buf, LOG_FORMAT_JSON, WALL_NS, LOG_INFO, "m", "t", &unset, NULL, 0);
    root = parse_line(buf, n);
    assert_int_equal(json_object_size(root), 4);
    json_decref(root);

    /* user 0 is a user; order 0 is none. */
    n = log_format_line(buf, sizeof buf, LOG_FORMAT_JSON, WALL_NS, LOG_DEBUG, "m", "t", &zero_user, NULL, 0);
    root = parse_line(buf, n);
    assert_int_equal(int_of(root, "user_id"), 0);
    assert_null(json_object_get(root, "order_id"));
    assert_string_equal(str_of(root, "level"), "debug");
    json_decref(root);

    /* The largest unsigned value is written in full. */
    struct log_field big = LOG_F_UINT("big", UINT64_MAX);
    n = log_format_line(buf, sizeof buf, LOG_FORMAT_JSON, WALL_NS, LOG_ERROR, "m", "t", NULL, &big, 1);
    assert_non_null(strstr(buf, ",\"big\":18446744073709551615}"));
    struct log_field small = LOG_F_INT("small", INT64_MIN);
    n = log_format_line(buf, sizeof buf, LOG_FORMAT_JSON, WALL_NS, LOG_ERROR, "m", "t", NULL, &small, 1);
    root = parse_line(buf, n);
    assert_int_equal(int_of(root, "small"), INT64_MIN);
    json_decref(root);
}

static void test_log_json_escaping(void **state)
{
    static const char nasty[] = "say \"hi\" \\ C:\\dir\nnext\tline\r\x01\x1f end";
    static const char key[] = "k\"e\\y";
    struct log_context ctx = full_context();
    struct log_field fields[] = {LOG_F_STR("value", nasty), LOG_F_STR(key, "v")};
    char buf[1024];
    (void)state;

    size_t n = log_format_line(buf, sizeof buf, LOG_FORMAT_JSON, WALL_NS, LOG_INFO, nasty, "th\"read", &ctx,
                               fields, 2);
    json_t *root = parse_line(buf, n);   /* also: no raw newline inside */
    assert_string_equal(str_of(root, "msg"), nasty);
    assert_string_equal(str_of(root, "value"), nasty);
    assert_string_equal(str_of(root, "thread"), "th\"read");
    assert_string_equal(str_of(root, key), "v");
    json_decref(root);
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)buf[i] < 0x20)
            fail_msg("raw control character 0x%02x at %zu: %s", buf[i], i, buf);

    /* Non-ASCII text passes through as it is. */
    struct log_field utf8 = LOG_F_STR("name", "caf\xc3\xa9 \xe2\x9c\x93");
    n = log_format_line(buf, sizeof buf, LOG_FORMAT_JSON, WALL_NS, LOG_INFO, "m", "t", NULL, &utf8, 1);
    root = parse_line(buf, n);
    assert_string_equal(str_of(root, "name"), "caf\xc3\xa9 \xe2\x9c\x93");
    json_decref(root);
}

static void test_log_json_doubles(void **state)
{
    struct log_field fields[] = {
        LOG_F_DOUBLE("nan", NAN), LOG_F_DOUBLE("inf", INFINITY), LOG_F_DOUBLE("ninf", -INFINITY),
        LOG_F_DOUBLE("zero", 0.0), LOG_F_DOUBLE("neg", -2.25), LOG_F_DOUBLE("tiny", 1e-300),
        LOG_F_DOUBLE("huge", 1e301), LOG_F_DOUBLE("max", DBL_MAX), LOG_F_DOUBLE("nmax", -DBL_MAX),
        LOG_F_DOUBLE("third", 1.0 / 3),
    };
    char buf[1024];
    (void)state;

    size_t n = log_format_line(buf, sizeof buf, LOG_FORMAT_JSON, WALL_NS, LOG_INFO, "m", "t", NULL, fields, 10);
    json_t *root = parse_line(buf, n);
    /* JSON has no NaN or infinity: those are null. */
    assert_true(json_is_null(json_object_get(root, "nan")));
    assert_true(json_is_null(json_object_get(root, "inf")));
    assert_true(json_is_null(json_object_get(root, "ninf")));
    /* Every finite value is a number, however large. */
    static const struct { const char *key; double want; } finite[] = {
        {"zero", 0.0}, {"neg", -2.25}, {"tiny", 1e-300}, {"huge", 1e301}, {"max", DBL_MAX},
        {"nmax", -DBL_MAX}, {"third", 1.0 / 3},
    };
    for (size_t i = 0; i < sizeof finite / sizeof finite[0]; i++) {
        json_t *v = json_object_get(root, finite[i].key);
        if (!json_is_number(v))
            fail_msg("%s is not a number in %s", finite[i].key, buf);
        double got = json_number_value(v), want = finite[i].want;
        if (fabs(got - want) > fabs(want) * 1e-5)
            fail_msg("%s: %.17g, expected %.17g", finite[i].key, got, want);
    }
    json_decref(root);
}

static void test_log_text_format(void **state)
{
    struct log_context ctx = full_context();
    struct log_field fields[] = {
        LOG_F_STR("route", "order_create"), LOG_F_STR("note", "two words"), LOG_F_STR("eq", "a=b"),
        LOG_F_INT("amount", 12), LOG_F_STR("empty", ""),
    };
    char buf[1024];
    (void)state;

    size_t n = log_format_line(buf, sizeof buf, LOG_FORMAT_TEXT, WALL_NS, LOG_ERROR, "charge failed", "worker-2",
                               &ctx, fields, 5);
    assert_int_equal(strlen(buf), n);
    assert_string_equal(buf, TS " error [worker-2] charge failed request_id=req-1 trace_id=" TRACE
                             " order_id=77 user_id=42 route=order_create note=\"two words\" eq=\"a=b\" amount=12"
                             " empty=\"\"\n");
}

/* A text line is still one line whatever the values hold. */
static void test_log_text_format_stays_one_line(void **state)
{
    struct log_field fields[] = {
        LOG_F_STR("nl", "a\nb"), LOG_F_STR("cr", "a\rb"), LOG_F_STR("ctl", "a\x01" "b"), LOG_F_STR("tab", "a\tb"),
    };
    char buf[1024];
    (void)state;

    size_t n = log_format_line(buf, sizeof buf, LOG_FORMAT_TEXT, WALL_NS, LOG_INFO, "msg\r\nforged line", "t",
                               NULL, fields, 4);
    assert_int_equal(buf[n - 1], '\n');
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)buf[i] < 0x20)
            fail_msg("raw control character 0x%02x at %zu: %s", buf[i], i, buf);
    assert_non_null(strstr(buf, "nl=\"a\\nb\""));
    assert_non_null(strstr(buf, "cr=\"a\\rb\""));
    assert_non_null(strstr(buf, "ctl=\"a\\u0001b\""));
    assert_non_null(strstr(buf, "tab=\"a\\tb\""));
    assert_non_null(strstr(buf, "msg\\r\\nforged line"));
}

#define CANARY 0x5a

/* Formats into exactly buflen bytes of a larger array and checks nothing after them
 * was written. */
static size_t format_bounded(char *area, size_t area_len, size_t buflen, enum log_format format,
                             const char *msg, const struct log_context *ctx, const struct log_field *fields,
                             int nfields)
{
    memset(area, CANARY, area_len);
    size_t n = log_format_line(area, buflen, format, WALL_NS, LOG_INFO, msg, "io-1", ctx, fields, nfields);
    for (size_t i = buflen; i < area_len; i++)
        if ((unsigned char)area[i] != CANARY)
            fail_msg("byte %zu written past a %zu-byte buffer", i, buflen);
    if (n > 0) {
        assert_true(n < buflen);
        assert_int_equal(strlen(area), n);
    }
    return n;
}

static void test_log_truncation_keeps_json_valid(void **state)
{
    enum { BUF = 4096 };
    struct log_context ctx = full_context();
    static char area[BUF + 64], value[BUF * 2];
    (void)state;

    /* A long value, of plain letters, then of characters escaped to 2 and 6 bytes,
     * with lengths that put the cut at every position of an escape. */
    static const char fill[] = {'x', '"', '\x01'};
    for (size_t kind = 0; kind < 3; kind++) {
        for (size_t len = 3900; len < 4100; len += kind == 0 ? 7 : 1) {
            size_t vlen = kind == 0 ? len : len / (kind == 1 ? 2 : 6);
            memset(value, fill[kind], vlen);
            value[vlen] = '\0';
            struct log_field fields[] = {LOG_F_STR("before", "kept"), LOG_F_INT("n", 5), LOG_F_STR("big", value),
                                         LOG_F_STR("after", "lost")};
            size_t n = format_bounded(area, sizeof area, BUF, LOG_FORMAT_JSON, "long one", &ctx, fields, 4);
            json_t *root = parse_line(area, n);
            assert_string_equal(str_of(root, "before"), "kept");
            assert_int_equal(int_of(root, "n"), 5);
            assert_string_equal(str_of(root, "request_id"), "req-1");
            json_t *big = json_object_get(root, "big");
            if (big) {   /* it fitted whole */
                assert_string_equal(json_string_value(big), value);
                assert_null(json_object_get(root, "truncated"));
            } else {
                assert_true(json_is_true(json_object_get(root, "truncated")));
                assert_null(json_object_get(root, "after"));
            }
            json_decref(root);
        }
    }

    /* Much too long: cut, marked, and the text format the same way. */
    memset(value, 'y', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    struct log_field fields[] = {LOG_F_STR("before", "kept"), LOG_F_STR("big", value)};
    size_t n = format_bounded(area, sizeof area, BUF, LOG_FORMAT_JSON, "m", NULL, fields, 2);
    json_t *root = parse_line(area, n);
    assert_true(json_is_true(json_object_get(root, "truncated")));
    assert_null(json_object_get(root, "big"));
    json_decref(root);
    n = format_bounded(area, sizeof area, BUF, LOG_FORMAT_TEXT, "m", NULL, fields, 2);
    assert_int_equal(strlen(area), n);
    assert_non_null(strstr(area, " before=kept truncated=true\n"));
    assert_null(strstr(area, "yyy"));
}

static void test_log_small_buffers_never_overflow(void **state)
{
    struct log_context ctx = full_context();
    struct log_field fields[] = {LOG_F_STR("a", "one \"two\" three"), LOG_F_UINT("b", 123456789),
                                 LOG_F_DOUBLE("c", 2.5), LOG_F_STR("d", "\x02\x03\x04")};
    char area[600];
    int whole = 0;
    (void)state;

    for (enum log_format format = LOG_FORMAT_JSON; format <= LOG_FORMAT_TEXT; format++) {
        for (size_t buflen = 0; buflen < 500; buflen++) {
            size_t n = format_bounded(area, sizeof area, buflen, format, "a message", &ctx, fields, 4);
            if (n == 0)
                continue;   /* not even the first fields fit: nothing */
            if (format == LOG_FORMAT_JSON) {
                json_t *root = parse_line(area, n);
                assert_string_equal(str_of(root, "msg"), "a message");
                whole += json_object_get(root, "truncated") == NULL;
                json_decref(root);
            } else {
                assert_int_equal(strlen(area), n);
                assert_ptr_equal(strchr(area, '\n'), area + n - 1);
            }
        }
    }
    assert_true(whole > 0);   /* the larger sizes fit the whole line */
}

/* ---- log_write, read back from a pipe ---- */

static int pipe_fds[2] = {-1, -1};

static int open_pipe(void **state)
{
    (void)state;
    if (pipe(pipe_fds) != 0)
        return -1;
    fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    log_context_clear();
    return 0;
}

static int close_pipe(void **state)
{
    (void)state;
    log_configure(2, LOG_FORMAT_JSON, LOG_INFO);
    log_context_clear();
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return 0;
}

/* Everything written to the pipe so far, as one string (caller frees). */
static char *drain_pipe(void)
{
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    ssize_t r;

    while ((r = read(pipe_fds[0], text + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    assert_true(r == 0 || errno == EAGAIN);
    text[len] = '\0';
    return text;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        n++;
    return n;
}

static void test_log_write_filters_by_level(void **state)
{
    (void)state;

    log_configure(pipe_fds[1], LOG_FORMAT_JSON, LOG_WARN);
    assert_int_equal(log_get_level(), LOG_WARN);
    log_write(LOG_DEBUG, "debug line", NULL, 0);
    log_info("info line", LOG_F_INT("n", 1));
    log_warn("warn line", LOG_F_INT("n", 2));
    log_error("error line", LOG_F_INT("n", 3));

    char *text = drain_pipe();
    assert_int_equal(count_lines(text), 2);
    assert_null(strstr(text, "debug line"));
    assert_null(strstr(text, "info line"));
    char *second = strchr(text, '\n') + 1;
    json_t *w = parse_line(text, (size_t)(second - text));
    json_t *e = parse_line(second, strlen(second));
    assert_string_equal(str_of(w, "level"), "warn");
    assert_string_equal(str_of(w, "msg"), "warn line");
    assert_int_equal(int_of(w, "n"), 2);
    assert_string_equal(str_of(e, "level"), "error");
    assert_int_equal(int_of(e, "n"), 3);
    json_decref(w);
    json_decref(e);
    free(text);

    /* Lowered at runtime, debug lines come through. */
    log_set_level(LOG_DEBUG);
    log_debug("now visible", LOG_F_STR("k", "v"));
    text = drain_pipe();
    assert_int_equal(count_lines(text), 1);
    json_t *d = parse_line(text, strlen(text));
    assert_string_equal(str_of(d, "level"), "debug");
    json_decref(d);
    free(text);

    /* Raised to error: warn is filtered. */
    log_set_level(LOG_ERROR);
    log_warn("hidden", LOG_F_INT("n", 4));
    text = drain_pipe();
    assert_string_equal(text, "");
    free(text);
}

static void test_log_write_text_format(void **state)
{
    (void)state;
    log_configure(pipe_fds[1], LOG_FORMAT_TEXT, LOG_INFO);
    log_info("started", LOG_F_STR("public", "127.0.0.1:8080"));
    char *text = drain_pipe();
    assert_int_equal(count_lines(text), 1);
    assert_non_null(strstr(text, " info ["));
    assert_non_null(strstr(text, "] started public=127.0.0.1:8080\n"));
    free(text);
}

static void test_log_write_counts_lines_it_drops(void **state)
{
    static char msg[6000];
    (void)state;

    /* A write that fails. */
    log_configure(-1, LOG_FORMAT_JSON, LOG_INFO);
    uint64_t before = log_dropped_lines();
    log_info("lost", LOG_F_INT("n", 1));
    assert_int_equal(log_dropped_lines(), before + 1);

    /* A line that cannot be formatted at all: its message alone is over the limit. */
    log_configure(pipe_fds[1], LOG_FORMAT_JSON, LOG_INFO);
    memset(msg, 'm', sizeof msg - 1);
    before = log_dropped_lines();
    log_write(LOG_INFO, msg, NULL, 0);
    char *text = drain_pipe();
    if (text[0]) {
        /* Written after all: then it must be a valid, marked line. */
        json_t *root = parse_line(text, strlen(text));
        assert_true(json_is_true(json_object_get(root, "truncated")));
        json_decref(root);
    } else {
        assert_int_equal(log_dropped_lines(), before + 1);
    }
    free(text);

    /* A filtered line is not a dropped one. */
    before = log_dropped_lines();
    log_debug("filtered", LOG_F_INT("n", 1));
    assert_int_equal(log_dropped_lines(), before);
}

static void test_log_level_names(void **state)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    (void)state;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(log_level_parse(names[i]), i);
        assert_string_equal(log_level_name((enum log_level)i), names[i]);
    }
    assert_int_equal(log_level_parse("warning"), -1);
    assert_int_equal(log_level_parse("INFO"), -1);
    assert_int_equal(log_level_parse(""), -1);
    assert_int_equal(log_level_parse(NULL), -1);
    assert_string_equal(log_level_name((enum log_level)9), "unknown");
}

/* ---- context per thread ---- */

struct other_thread {
    struct log_context seen;
    char line[1024];
};

static void *log_from_other_thread(void *arg)
{
    struct other_thread *o = arg;
    struct log_context mine = {.order_id = 9, .user_id = 3};

    o->seen = *log_context_get();
    log_info("from the other thread", LOG_F_INT("n", 1));
    /* Setting here must not reach the main thread. */
    snprintf(mine.request_id, sizeof mine.request_id, "other-thread");
    log_context_set(&mine);
    return NULL;
}

static void test_log_context_is_per_thread(void **state)
{
    struct log_context ctx = full_context();
    struct other_thread o;
    pthread_t t;
    (void)state;

    log_configure(pipe_fds[1], LOG_FORMAT_JSON, LOG_INFO);
    log_context_set(&ctx);
    assert_string_equal(log_context_get()->request_id, "req-1");

    assert_int_equal(pthread_create(&t, NULL, log_from_other_thread, &o), 0);
    pthread_join(t, NULL);
    assert_string_equal(o.seen.request_id, "");
    assert_string_equal(o.seen.trace_id, "");
    assert_int_equal(o.seen.order_id, 0);
    assert_int_equal(o.seen.user_id, -1);

    /* Main's own context is as it set it. */
    assert_string_equal(log_context_get()->request_id, "req-1");
    assert_int_equal(log_context_get()->order_id, 77);
    log_info("from main", LOG_F_INT("n", 2));

    char *text = drain_pipe();
    assert_int_equal(count_lines(text), 2);
    char *second = strchr(text, '\n') + 1;
    json_t *other = parse_line(text, (size_t)(second - text));
    json_t *main_line = parse_line(second, strlen(second));
    assert_string_equal(str_of(other, "msg"), "from the other thread");
    assert_null(json_object_get(other, "request_id"));
    assert_null(json_object_get(other, "order_id"));
    assert_string_equal(str_of(main_line, "request_id"), "req-1");
    assert_string_equal(str_of(main_line, "trace_id"), TRACE);
    assert_int_equal(int_of(main_line, "order_id"), 77);
    json_decref(other);
    json_decref(main_line);
    free(text);

    /* Cleared, the ids are gone from the next line. */
    log_context_clear();
    assert_string_equal(log_context_get()->request_id, "");
    assert_int_equal(log_context_get()->user_id, -1);
    log_info("cleared", LOG_F_INT("n", 3));
    text = drain_pipe();
    json_t *cleared = parse_line(text, strlen(text));
    assert_null(json_object_get(cleared, "request_id"));
    assert_null(json_object_get(cleared, "user_id"));
    json_decref(cleared);
    free(text);
}

#define PIPE_TEST(name) cmocka_unit_test_setup_teardown(name, open_pipe, close_pipe)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_json_line_fields),
        cmocka_unit_test(test_log_json_context_omitted_when_unset),
        cmocka_unit_test(test_log_json_escaping),
        cmocka_unit_test(test_log_json_doubles),
        cmocka_unit_test(test_log_text_format),
        cmocka_unit_test(test_log_text_format_stays_one_line),
        cmocka_unit_test(test_log_truncation_keeps_json_valid),
        cmocka_unit_test(test_log_small_buffers_never_overflow),
        PIPE_TEST(test_log_write_filters_by_level),
        PIPE_TEST(test_log_write_text_format),
        PIPE_TEST(test_log_write_counts_lines_it_drops),
        cmocka_unit_test(test_log_level_names),
        PIPE_TEST(test_log_context_is_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
