/* units: durations and sizes as people write them. See units.h.
 * Hand-written because no Debian library parses "200us"; kept strict (no trailing junk,
 * no negative values, overflow detected) since these strings come from users. */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void set_err(char *err, size_t errlen, const char *fmt, const char *text)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, text);
}

/* A number as people write it in a duration or size: "12", "12.5", ".5". */
struct decimal {
    uint64_t whole;
    double fraction;   /* in [0, 1) */
    bool has_fraction;
    bool too_large;    /* whole part beyond uint64_t */
    const char *unit;  /* what follows the number */
};

/* Scans a plain decimal at text: digits, then optionally '.' and at least one digit.
 * Signs, exponents, hex and "inf"/"nan" are refused (strtod alone would take them).
 * Returns 0, or -1 when text does not start with such a number. */
static int scan_decimal(const char *text, struct decimal *d)
{
    const char *p = text;
    bool any_digit = false;

    memset(d, 0, sizeof *d);
    if (!text)
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned digit = (unsigned)(*p - '0');
        any_digit = true;
        if (d->whole > (UINT64_MAX - digit) / 10)
            d->too_large = true;
        else
            d->whole = d->whole * 10 + digit;
    }
    if (*p == '.') {
        /* "0." plus up to 30 digits: more cannot change a double. */
        char buf[33] = "0.";
        size_t n = 2;
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        for (; isdigit((unsigned char)*p); p++)
            if (n < sizeof buf - 1)
                buf[n++] = *p;
        buf[n] = '\0';
        d->fraction = strtod(buf, NULL);
        d->has_fraction = true;
        any_digit = true;
    }
    if (!any_digit)
        return -1;
    d->unit = p;
    return 0;
}

/* whole * mult + round(fraction * mult) into *out, or -1 when it exceeds max.
 * The whole part is multiplied in integers so that large values stay exact. */
static int scale_decimal(const struct decimal *d, uint64_t mult, uint64_t max, uint64_t *out)
{
    uint64_t part;

    if (d->too_large || (mult && d->whole > max / mult))
        return -1;
    part = (uint64_t)llround(d->fraction * (double)mult);
    if (d->whole * mult > max - part)
        return -1;
    *out = d->whole * mult + part;
    return 0;
}

int units_parse_duration(const char *text, int64_t *out_ns, char *err, size_t errlen)
{
    static const struct { const char *name; uint64_t ns; } units[] = {
        {"ns", 1}, {"us", 1000}, {"µs", 1000}, {"ms", 1000000}, {"s", 1000000000},
        {"m", 60000000000}, {"h", 3600000000000},
    };
    struct decimal d;
    uint64_t ns;

    if (text && strcmp(text, "inf") == 0) {
        *out_ns = UNITS_DURATION_INF;
        return 0;
    }
    if (text && text[0] == '-') {
        set_err(err, errlen, "bad duration '%s': must not be negative", text);
        return -1;
    }
    if (scan_decimal(text, &d) < 0) {
        set_err(err, errlen, "bad duration '%s': expected a number and a unit (ns, us, ms, s, m, h) or inf", text ? text : "");
        return -1;
    }
    if (*d.unit == '\0') {
        if (d.whole == 0 && d.fraction == 0 && !d.too_large) {
            *out_ns = 0;
            return 0;
        }
        set_err(err, errlen, "bad duration '%s': a unit is needed (ns, us, ms, s, m, h)", text);
        return -1;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(d.unit, units[i].name) == 0) {
            /* INT64_MAX itself means inf, so a finite duration stays below it. */
            if (scale_decimal(&d, units[i].ns, INT64_MAX - 1, &ns) < 0) {
                set_err(err, errlen, "bad duration '%s': too large", text);
                return -1;
            }
            *out_ns = (int64_t)ns;
            return 0;
        }
    }
    set_err(err, errlen, "bad duration '%s': unknown unit (use ns, us, ms, s, m, h)", text);
    return -1;
}

int units_parse_size(const char *text, uint64_t *out, char *err, size_t errlen)
{
    static const struct { const char *name; uint64_t mult; } units[] = {
        {"", 1}, {"B", 1},
        {"k", 1ull << 10}, {"K", 1ull << 10}, {"KB", 1ull << 10}, {"KiB", 1ull << 10}, {"kB", 1ull << 10},
        {"M", 1ull << 20}, {"MB", 1ull << 20}, {"MiB", 1ull << 20},
        {"G", 1ull << 30}, {"GB", 1ull << 30}, {"GiB", 1ull << 30},
    };
    struct decimal d;

    if (text && text[0] == '-') {
        set_err(err, errlen, "bad size '%s': must not be negative", text);
        return -1;
    }
    if (scan_decimal(text, &d) < 0) {
        set_err(err, errlen, "bad size '%s': expected a number with an optional unit (B, KB, MB, GB)", text ? text : "");
        return -1;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(d.unit, units[i].name) == 0) {
            if (d.has_fraction && units[i].mult == 1) {
                set_err(err, errlen, "bad size '%s': a byte count must be whole", text);
                return -1;
            }
            if (scale_decimal(&d, units[i].mult, UINT64_MAX, out) < 0) {
                set_err(err, errlen, "bad size '%s': too large", text);
                return -1;
            }
            return 0;
        }
    }
    set_err(err, errlen, "bad size '%s': unknown unit (use B, KB, MB, GB)", text);
    return -1;
}

int units_parse_uint(const char *text, uint64_t max, uint64_t *out, char *err, size_t errlen)
{
    char *end;
    unsigned long long v;

    if (!text || !isdigit((unsigned char)text[0])) {
        set_err(err, errlen, "bad number '%s': expected a whole number", text ? text : "");
        return -1;
    }
    errno = 0;
    v = strtoull(text, &end, 10);
    if (*end != '\0') {
        set_err(err, errlen, "bad number '%s': expected a whole number", text);
        return -1;
    }
    if (errno == ERANGE || v > max) {
        if (err && errlen)
            snprintf(err, errlen, "bad number '%s': at most %llu", text, (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

/* Prints exactly, never through a double: "1.234567891s" must read back as the same
 * nanoseconds, so the fraction is printed digit for digit and trailing zeros dropped. */
char *units_format_duration(int64_t ns, char *buf, size_t buflen)
{
    static const struct { int64_t ns; int digits; const char *name; } units[] = {
        {1000000000, 9, "s"}, {1000000, 6, "ms"}, {1000, 3, "us"},
    };
    char fraction[16];

    if (ns == UNITS_DURATION_INF) {
        snprintf(buf, buflen, "inf");
        return buf;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ns < units[i].ns)
            continue;
        if (ns % units[i].ns == 0) {
            snprintf(buf, buflen, "%lld%s", (long long)(ns / units[i].ns), units[i].name);
        } else {
            int len = snprintf(fraction, sizeof fraction, "%0*lld", units[i].digits,
                               (long long)(ns % units[i].ns));
            while (len > 0 && fraction[len - 1] == '0')
                fraction[--len] = '\0';
            snprintf(buf, buflen, "%lld.%s%s", (long long)(ns / units[i].ns), fraction,
                     units[i].name);
        }
        return buf;
    }
    snprintf(buf, buflen, "%lldns", (long long)ns);
    return buf;
}

char *units_format_size(double bytes, char *buf, size_t buflen)
{
    static const char *const names[] = {"KB", "MB", "GB", "TB"};
    double scaled = bytes;
    size_t unit = 0;

    if (isnan(bytes)) {
        snprintf(buf, buflen, "-");
        return buf;
    }
    /* Thresholds just under 1024 so that rounding never prints "1024.0KB". */
    if (!(fabs(bytes) >= 1023.5)) {
        snprintf(buf, buflen, "%.0fB", bytes);
        return buf;
    }
    scaled /= 1024.0;
    while (fabs(scaled) >= 1023.95 && unit + 1 < sizeof names / sizeof names[0]) {
        scaled /= 1024.0;
        unit++;
    }
    /* One decimal, but "1MB" rather than "1.0MB": a threshold written 1MB/s reads back as written. */
    if (fabs(scaled - round(scaled)) < 0.05)
        snprintf(buf, buflen, "%.0f%s", round(scaled), names[unit]);
    else
        snprintf(buf, buflen, "%.1f%s", scaled, names[unit]);
    return buf;
}

/* Three significant digits for 1 <= |v| < 1000 and below, without an exponent:
 * "%.3g" writes 0.000123 as "0.000123" but 1234 as "1.23e+03", so callers keep
 * |v| under 1000 and at or above 0.0001. */
static void three_digits(double v, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "%.3g", v);
}

char *units_format_seconds(double seconds, char *buf, size_t buflen)
{
    static const struct { double scale; const char *name; } units[] = {
        {1, "s"}, {1e-3, "ms"}, {1e-6, "us"}, {1e-9, "ns"},
    };
    char number[32];
    double mag = fabs(seconds);

    if (isnan(seconds)) {
        snprintf(buf, buflen, "-");
        return buf;
    }
    if (mag >= 999.5) {
        snprintf(buf, buflen, "%.0fs", seconds);
        return buf;
    }
    if (mag == 0) {
        snprintf(buf, buflen, "0s");
        return buf;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        /* 0.9995ms rounds to "1ms", not "1e+03us": switch units just below 1. */
        if (mag >= units[i].scale * 0.9995 || i + 1 == sizeof units / sizeof units[0]) {
            double scaled = seconds / units[i].scale;
            if (fabs(scaled) >= 999.5)
                snprintf(number, sizeof number, "%.0f", scaled);
            else
                three_digits(scaled, number, sizeof number);
            snprintf(buf, buflen, "%s%s", number, units[i].name);
            return buf;
        }
    }
    return buf;
}

char *units_format_count(double value, char *buf, size_t buflen)
{
    static const struct { double scale; const char *name; } units[] = {
        {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"},
    };
    double mag = fabs(value);

    if (isnan(value)) {
        snprintf(buf, buflen, "-");
        return buf;
    }
    if (mag < 1e-4) {
        snprintf(buf, buflen, "0");
        return buf;
    }
    if (mag < 999.5) {
        three_digits(value, buf, buflen);
        return buf;
    }
    if (mag < 9999.5) {
        snprintf(buf, buflen, "%.0f", value);
        return buf;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (mag >= units[i].scale * 0.9995 || i + 1 == sizeof units / sizeof units[0]) {
            double scaled = value / units[i].scale;
            if (fabs(scaled) >= 999.5)
                snprintf(buf, buflen, "%.0f%s", scaled, units[i].name);
            else
                snprintf(buf, buflen, "%.3g%s", scaled, units[i].name);
            return buf;
        }
    }
    return buf;
}

char *units_format_quantity(double value, const char *unit, char *buf, size_t buflen)
{
    char number[32];

    units_format_count(value, number, sizeof number);
    if (isnan(value) || !unit || !*unit)
        snprintf(buf, buflen, "%s", number);
    else
        snprintf(buf, buflen, "%s %s", number, unit);
    return buf;
}

char *units_format_rate(double per_second, const char *unit, char *buf, size_t buflen)
{
    char number[32];

    units_format_count(per_second, number, sizeof number);
    if (isnan(per_second))
        snprintf(buf, buflen, "-");
    else if (!unit || !*unit)
        snprintf(buf, buflen, "%s/s", number);
    else
        snprintf(buf, buflen, "%s %s/s", number, unit);
    return buf;
}

char *units_format_size_rate(double bytes_per_second, char *buf, size_t buflen)
{
    char size[32];

    if (isnan(bytes_per_second)) {
        snprintf(buf, buflen, "-");
        return buf;
    }
    units_format_size(bytes_per_second, size, sizeof size);
    snprintf(buf, buflen, "%s/s", size);
    return buf;
}

/* A figure that may be tiny but is never rounded to a zero it is not: "0" and unit
 * for zero, "<floor_text" and unit under floor, else the count and unit. */
static char *format_bounded(double v, double floor, const char *floor_text, const char *unit, char *buf,
                            size_t buflen)
{
    char number[32];

    if (isnan(v))
        snprintf(buf, buflen, "-");
    else if (v == 0)
        snprintf(buf, buflen, "0%s", unit);
    else if (fabs(v) < floor)
        snprintf(buf, buflen, "%s%s%s", v < 0 ? ">-" : "<", floor_text, unit);
    else
        snprintf(buf, buflen, "%s%s", units_format_count(v, number, sizeof number), unit);
    return buf;
}

char *units_format_share(double ratio, char *buf, size_t buflen)
{
    return format_bounded(ratio * 100, 0.001, "0.001", "%", buf, buflen);
}

char *units_format_seconds_per_second(double value, char *buf, size_t buflen)
{
    return format_bounded(value, 1e-4, "0.0001", "s/s", buf, buflen);
}

char *units_format_ratio(double ratio, char *buf, size_t buflen)
{
    if (isnan(ratio) || isinf(ratio) || fabs(ratio) >= 100 || fabs(ratio) < 0.01)
        return units_format_count(ratio, buf, buflen);
    snprintf(buf, buflen, "%.4f", ratio);
    return buf;
}

int64_t units_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t units_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
