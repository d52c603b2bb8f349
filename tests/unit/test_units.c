/* Tests for common/units.c: the one parser for durations and sizes that flags, fault
 * terms and scenario files share, so its edge cases (units, fractions, overflow,
 * junk) are pinned down here once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "units.h"

#define SENTINEL_NS ((int64_t)-12345)
#define SENTINEL_BYTES ((uint64_t)0xdeadbeef)

struct good_duration {
    const char *text;
    int64_t ns;
};

struct bad_input {
    const char *text;
    const char *err_part; /* must appear in the error */
};

static void test_units_duration_each_unit(void **state)
{
    static const struct good_duration cases[] = {
        {"0", 0},
        {"0ns", 0},
        {"0.0", 0},
        {"7ns", 7},
        {"200us", 200000},
        {"200µs", 200000},
        {"50ms", 50000000},
        {"3s", 3000000000},
        {"2m", 120000000000},
        {"1h", 3600000000000},
        {"1.5ms", 1500000},
        {"1.5s", 1500000000},
        {".5s", 500000000},
        {"0.25us", 250},
        {"1.234567891s", 1234567891},
        {"1.5ns", 2}, /* sub-nanosecond parts round to nearest */
        {"9000000000s", 9000000000000000000},
        {"inf", UNITS_DURATION_INF},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ns = SENTINEL_NS;
        char err[256] = "";
        int rc = units_parse_duration(cases[i].text, &ns, err, sizeof err);
        if (rc != 0)
            fail_msg("'%s' rejected: %s", cases[i].text, err);
        if (ns != cases[i].ns)
            fail_msg("'%s' gave %lld, want %lld", cases[i].text, (long long)ns,
                     (long long)cases[i].ns);
    }
}

static void test_units_duration_errors(void **state)
{
    static const struct bad_input cases[] = {
        {"", "bad duration ''"},
        {"5", "a unit is needed"},
        {"1.5", "a unit is needed"},
        {"5x", "unknown unit"},
        {"5 ms", "unknown unit"},
        {"5msx", "unknown unit"},
        {"5ms ", "unknown unit"},
        {" 5ms", "bad duration ' 5ms'"},
        {"-5ms", "negative"},
        {"+5ms", "bad duration '+5ms'"},
        {"abc", "bad duration 'abc'"},
        {".", "bad duration '.'"},
        {"5.ms", "bad duration '5.ms'"},
        {"1e3ms", "bad duration '1e3ms'"},
        {"0x10ms", "bad duration '0x10ms'"},
        {"nan", "bad duration 'nan'"},
        {"infinity", "bad duration 'infinity'"},
        {"INF", "bad duration 'INF'"},
        {"10000000000s", "too large"},
        {"3000000h", "too large"},
        {"99999999999999999999999ns", "too large"},
        {"9223372036854775807ns", "too large"}, /* would collide with inf */
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ns = SENTINEL_NS;
        char err[256] = "";
        if (units_parse_duration(cases[i].text, &ns, err, sizeof err) != -1)
            fail_msg("'%s' accepted as %lld", cases[i].text, (long long)ns);
        assert_int_equal(ns, SENTINEL_NS);
        if (!strstr(err, cases[i].err_part))
            fail_msg("'%s': error '%s' lacks '%s'", cases[i].text, err, cases[i].err_part);
    }
}

static void test_units_duration_null_and_no_err_buffer(void **state)
{
    int64_t ns = SENTINEL_NS;
    char err[64] = "";
    (void)state;
    assert_int_equal(units_parse_duration(NULL, &ns, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad duration"));
    assert_int_equal(units_parse_duration("x", &ns, NULL, 0), -1);
    assert_int_equal(ns, SENTINEL_NS);
}

static void test_units_duration_error_truncated_safely(void **state)
{
    int64_t ns = SENTINEL_NS;
    char err[8];
    (void)state;
    memset(err, 'Z', sizeof err);
    assert_int_equal(units_parse_duration("5x", &ns, err, sizeof err), -1);
    assert_int_equal(strlen(err), sizeof err - 1);
}

static void test_units_size_each_unit(void **state)
{
    static const struct {
        const char *text;
        uint64_t bytes;
    } cases[] = {
        {"0", 0},
        {"4096", 4096},
        {"10B", 10},
        {"4k", 4096},
        {"4K", 4096},
        {"4kB", 4096},
        {"4KB", 4096},
        {"4KiB", 4096},
        {"256M", 268435456},
        {"256MB", 268435456},
        {"256MiB", 268435456},
        {"1G", 1073741824},
        {"1GB", 1073741824},
        {"1GiB", 1073741824},
        {"1.5k", 1536},
        {"0.5MiB", 524288},
        {"0.1k", 102}, /* 102.4 rounds to nearest */
        {"10000000000G", 10737418240000000000u},
        {"17179869183G", 18446744072635809792u},
        {"18446744073709551615", UINT64_MAX},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t bytes = SENTINEL_BYTES;
        char err[256] = "";
        if (units_parse_size(cases[i].text, &bytes, err, sizeof err) != 0)
            fail_msg("'%s' rejected: %s", cases[i].text, err);
        if (bytes != cases[i].bytes)
            fail_msg("'%s' gave %llu, want %llu", cases[i].text, (unsigned long long)bytes,
                     (unsigned long long)cases[i].bytes);
    }
}

static void test_units_size_errors(void **state)
{
    static const struct bad_input cases[] = {
        {"", "bad size ''"},
        {"4x", "unknown unit"},
        {"4kb", "unknown unit"},
        {"4 KB", "unknown unit"},
        {"-4k", "negative"},
        {"k", "bad size 'k'"},
        {"1.5", "whole"},
        {"1.5B", "whole"},
        {"1e3", "bad size '1e3'"},
        {"0x10", "bad size '0x10'"},
        {"inf", "bad size 'inf'"},
        {"18446744073709551616", "too large"},
        {"17179869184G", "too large"},
        {"99999999999999999999999", "too large"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t bytes = SENTINEL_BYTES;
        char err[256] = "";
        if (units_parse_size(cases[i].text, &bytes, err, sizeof err) != -1)
            fail_msg("'%s' accepted as %llu", cases[i].text, (unsigned long long)bytes);
        assert_int_equal(bytes, SENTINEL_BYTES);
        if (!strstr(err, cases[i].err_part))
            fail_msg("'%s': error '%s' lacks '%s'", cases[i].text, err, cases[i].err_part);
    }
}

static void test_units_uint_limits(void **state)
{
    uint64_t v = SENTINEL_BYTES;
    char err[256] = "";
    (void)state;

    assert_int_equal(units_parse_uint("0", 10, &v, err, sizeof err), 0);
    assert_int_equal(v, 0);
    assert_int_equal(units_parse_uint("10", 10, &v, err, sizeof err), 0);
    assert_int_equal(v, 10);
    assert_int_equal(units_parse_uint("18446744073709551615", UINT64_MAX, &v, err, sizeof err), 0);
    assert_int_equal(v, UINT64_MAX);

    v = SENTINEL_BYTES;
    assert_int_equal(units_parse_uint("11", 10, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most 10"));
    assert_int_equal(v, SENTINEL_BYTES);

    assert_int_equal(units_parse_uint("18446744073709551616", UINT64_MAX, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most 18446744073709551615"));
    assert_int_equal(units_parse_uint("99999999999999999999999", 5, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most 5"));

    static const char *const junk[] = {"", "-1", "+1", " 1", "1 ", "1.0", "0x10", "1k", "abc"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        err[0] = '\0';
        if (units_parse_uint(junk[i], UINT64_MAX, &v, err, sizeof err) != -1)
            fail_msg("'%s' accepted", junk[i]);
        assert_non_null(strstr(err, "whole number"));
    }
    assert_int_equal(units_parse_uint(NULL, 5, &v, err, sizeof err), -1);
    assert_int_equal(v, SENTINEL_BYTES);
}

static void test_units_format_duration_exact(void **state)
{
    static const struct {
        int64_t ns;
        const char *text;
    } formats[] = {
        {0, "0ns"},
        {7, "7ns"},
        {999, "999ns"},
        {1000, "1us"},
        {1500, "1.5us"},
        {200000, "200us"},
        {1500000, "1.5ms"},
        {50000000, "50ms"},
        {1000000000, "1s"},
        {1500000000, "1.5s"},
        {1234567891, "1.234567891s"},
        {1000000001, "1.000000001s"},
        {3600000000000, "3600s"},
        {UNITS_DURATION_INF, "inf"},
    };
    char buf[64];
    (void)state;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        assert_string_equal(units_format_duration(formats[i].ns, buf, sizeof buf), formats[i].text);
}

static void test_units_format_duration_round_trips(void **state)
{
    static const int64_t values[] = {
        0, 1, 999, 1001, 123456, 1000000, 1999999, 20000000, 999999999, 1000000000,
        1234567891, 86400000000000, 9199999999999999999, UNITS_DURATION_INF,
    };
    char buf[64];
    (void)state;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        int64_t back = SENTINEL_NS;
        char err[256] = "";
        units_format_duration(values[i], buf, sizeof buf);
        if (units_parse_duration(buf, &back, err, sizeof err) != 0)
            fail_msg("%lld formatted as '%s' does not parse: %s", (long long)values[i], buf, err);
        if (back != values[i])
            fail_msg("%lld -> '%s' -> %lld", (long long)values[i], buf, (long long)back);
    }
}

static void test_units_format_duration_truncates_safely(void **state)
{
    char buf[4];
    (void)state;
    memset(buf, 'Z', sizeof buf);
    units_format_duration(1234567891, buf, sizeof buf);
    assert_string_equal(buf, "1.2");
}

static void test_units_format_size_binary_units(void **state)
{
    static const struct {
        double bytes;
        const char *text;
    } sizes[] = {
        {0, "0B"}, {512, "512B"}, {1023, "1023B"}, {1023.6, "1KB"}, {1024, "1KB"}, {1536, "1.5KB"},
        {1048575, "1MB"}, {1e6, "976.6KB"}, {69.4e6, "66.2MB"}, {3.5 * 1073741824.0, "3.5GB"},
        {2.0 * 1099511627776.0 * 1024, "2048TB"}, {-1536, "-1.5KB"},
    };
    char buf[32];
    (void)state;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        assert_string_equal(units_format_size(sizes[i].bytes, buf, sizeof buf), sizes[i].text);
}

static void test_units_format_size_reads_back(void **state)
{
    static const double values[] = {700, 1536, 5.55 * 1048576, 12.25 * 1073741824.0};
    static const double units[] = {1, 1024, 1048576, 1073741824.0};
    char buf[32], err[128];
    uint64_t back;
    (void)state;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        units_format_size(values[i], buf, sizeof buf);
        if (units_parse_size(buf, &back, err, sizeof err) < 0)
            fail_msg("%g formatted as '%s' does not parse: %s", values[i], buf, err);
        /* One decimal: within half a tenth of the unit printed (a byte count is whole). */
        assert_true(fabs((double)back - values[i]) <= 0.05 * units[i] + 0.5);
    }
}

static void test_units_format_size_truncates_safely(void **state)
{
    char buf[4];
    (void)state;
    units_format_size(69.4e6, buf, sizeof buf);
    assert_string_equal(buf, "66.");
}

static void test_units_clocks_advance(void **state)
{
    (void)state;
    int64_t a = units_now_ns();
    int64_t b = units_now_ns();
    assert_true(a > 0);
    assert_true(b >= a);
    /* After 2020-01-01: catches a seconds/nanoseconds mix-up. */
    assert_true(units_wall_ns() > 1577836800LL * 1000000000LL);
}

/* Measured seconds: the unit keeps the number under 1000, three digits, no exponent;
 * one latency is written one way (0.385ms and 385us are the same figure). */
static void test_units_format_seconds_picks_unit(void **state)
{
    char buf[32];
    (void)state;
    assert_string_equal(units_format_seconds(0.385e-3, buf, sizeof buf), "385us");
    assert_string_equal(units_format_seconds(0.0123, buf, sizeof buf), "12.3ms");
    assert_string_equal(units_format_seconds(1.2, buf, sizeof buf), "1.2s");
    assert_string_equal(units_format_seconds(48e-9, buf, sizeof buf), "48ns");
    assert_string_equal(units_format_seconds(0.99996e-3, buf, sizeof buf), "1ms");
    assert_string_equal(units_format_seconds(1250, buf, sizeof buf), "1250s");
    assert_string_equal(units_format_seconds(0, buf, sizeof buf), "0s");
    assert_string_equal(units_format_seconds(NAN, buf, sizeof buf), "-");
    assert_null(strchr(units_format_seconds(3e-12, buf, sizeof buf), 'e'));
}

/* Counts and rates: engineering units from 10000 on, never an exponent; the unit
 * word is always written. */
static void test_units_format_count_and_rate(void **state)
{
    char buf[48];
    (void)state;
    assert_string_equal(units_format_count(7, buf, sizeof buf), "7");
    assert_string_equal(units_format_count(9687.5, buf, sizeof buf), "9688");
    assert_string_equal(units_format_count(12345, buf, sizeof buf), "12.3k");
    assert_string_equal(units_format_count(1.5e8, buf, sizeof buf), "150M");
    assert_string_equal(units_format_count(2.5e9, buf, sizeof buf), "2.5G");
    assert_string_equal(units_format_count(999999, buf, sizeof buf), "1M");
    assert_string_equal(units_format_count(1e-7, buf, sizeof buf), "0");
    assert_string_equal(units_format_rate(1.97764, NULL, buf, sizeof buf), "1.98/s");
    assert_string_equal(units_format_rate(0.5, "threads", buf, sizeof buf), "0.5 threads/s");
    assert_string_equal(units_format_rate(23456, "req", buf, sizeof buf), "23.5k req/s");
    assert_string_equal(units_format_quantity(50000, "instructions", buf, sizeof buf), "50k instructions");
    assert_string_equal(units_format_size_rate(1.5 * 1048576, buf, sizeof buf), "1.5MB/s");
    assert_string_equal(units_format_size_rate(NAN, buf, sizeof buf), "-");
}

/* Shares as percentages and seconds per second: a tiny figure is bounded, never
 * written with an exponent nor rounded to a zero it is not. */
static void test_units_format_ratio_to_a_tenth_of_a_percent(void **state)
{
    char buf[32];
    (void)state;
    assert_string_equal(units_format_ratio(1.01234, buf, sizeof buf), "1.0123");
    assert_string_equal(units_format_ratio(0.9871, buf, sizeof buf), "0.9871");
    assert_string_equal(units_format_ratio(1, buf, sizeof buf), "1.0000");
    assert_string_equal(units_format_ratio(NAN, buf, sizeof buf), "-");
    assert_string_equal(units_format_ratio(250, buf, sizeof buf), "250");
}

static void test_units_format_share_and_load(void **state)
{
    char buf[32];
    (void)state;
    assert_string_equal(units_format_share(0.041, buf, sizeof buf), "4.1%");
    assert_string_equal(units_format_share(0.0005, buf, sizeof buf), "0.05%");
    assert_string_equal(units_format_share(1, buf, sizeof buf), "100%");
    assert_string_equal(units_format_share(0, buf, sizeof buf), "0%");
    assert_string_equal(units_format_share(1e-9, buf, sizeof buf), "<0.001%");
    assert_string_equal(units_format_seconds_per_second(0.428, buf, sizeof buf), "0.428s/s");
    assert_string_equal(units_format_seconds_per_second(0.05, buf, sizeof buf), "0.05s/s");
    assert_string_equal(units_format_seconds_per_second(7.48e-9, buf, sizeof buf), "<0.0001s/s");
    assert_string_equal(units_format_seconds_per_second(0, buf, sizeof buf), "0s/s");
    assert_string_equal(units_format_seconds_per_second(2.7, buf, sizeof buf), "2.7s/s");
}

/* Byte sizes in binary units, three significant digits, read back by units_parse_size. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_units_duration_each_unit),
        cmocka_unit_test(test_units_duration_errors),
        cmocka_unit_test(test_units_duration_null_and_no_err_buffer),
        cmocka_unit_test(test_units_duration_error_truncated_safely),
        cmocka_unit_test(test_units_size_each_unit),
        cmocka_unit_test(test_units_size_errors),
        cmocka_unit_test(test_units_uint_limits),
        cmocka_unit_test(test_units_format_duration_exact),
        cmocka_unit_test(test_units_format_duration_round_trips),
        cmocka_unit_test(test_units_format_duration_truncates_safely),
        cmocka_unit_test(test_units_format_size_binary_units),
        cmocka_unit_test(test_units_format_size_reads_back),
        cmocka_unit_test(test_units_format_size_truncates_safely),
        cmocka_unit_test(test_units_clocks_advance),
        cmocka_unit_test(test_units_format_seconds_picks_unit),
        cmocka_unit_test(test_units_format_count_and_rate),
        cmocka_unit_test(test_units_format_share_and_load),
        cmocka_unit_test(test_units_format_ratio_to_a_tenth_of_a_percent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
