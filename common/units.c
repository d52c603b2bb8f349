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

char *units_format_bytes(char *buf, size_t buflen, double bytes)
{
    static const struct { double size; const char *name; } units[] = {
        {1024.0 * 1024 * 1024, "GB"}, {1024.0 * 1024, "MB"}, {1024.0, "KB"},
    };
    double a = fabs(bytes);

    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (a >= units[i].size) {
            snprintf(buf, buflen, "%.3g%s", bytes / units[i].size, units[i].name);
            return buf;
        }
    snprintf(buf, buflen, "%.3gB", bytes);
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
