/* units: durations and sizes as people write them. See units.h.
 * Hand-written because no Debian library parses "200us"; kept strict (no trailing junk,
 * no negative values, overflow detected) since these strings come from users. */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
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

/* Splits "12.5ms" into the number 12.5 and the unit "ms". Returns 0 or -1. */
static int split_number(const char *text, double *number, const char **unit)
{
    char *end;
    if (!text || !*text || isspace((unsigned char)text[0]) || text[0] == '-' || text[0] == '+')
        return -1;
    if (!isdigit((unsigned char)text[0]) && text[0] != '.')
        return -1;
    errno = 0;
    *number = strtod(text, &end);
    if (errno || end == text || !isfinite(*number) || *number < 0)
        return -1;
    *unit = end;
    return 0;
}

int units_parse_duration(const char *text, int64_t *out_ns, char *err, size_t errlen)
{
    static const struct { const char *name; double ns; } units[] = {
        {"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
    };
    double number;
    const char *unit;

    if (text && strcmp(text, "inf") == 0) {
        *out_ns = UNITS_DURATION_INF;
        return 0;
    }
    if (split_number(text, &number, &unit) < 0) {
        set_err(err, errlen, "bad duration '%s': expected a number and a unit (ns, us, ms, s, m, h) or inf", text ? text : "");
        return -1;
    }
    if (*unit == '\0') {
        if (number == 0) {
            *out_ns = 0;
            return 0;
        }
        set_err(err, errlen, "bad duration '%s': a unit is needed (ns, us, ms, s, m, h)", text);
        return -1;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(unit, units[i].name) == 0) {
            double ns = number * units[i].ns;
            if (ns >= 9.2e18) {
                set_err(err, errlen, "bad duration '%s': too large", text);
                return -1;
            }
            *out_ns = (int64_t)llround(ns);
            return 0;
        }
    }
    set_err(err, errlen, "bad duration '%s': unknown unit (use ns, us, ms, s, m, h)", text);
    return -1;
}

int units_parse_size(const char *text, uint64_t *out, char *err, size_t errlen)
{
    static const struct { const char *name; double mult; } units[] = {
        {"", 1}, {"B", 1},
        {"k", 1024.0}, {"K", 1024.0}, {"KB", 1024.0}, {"KiB", 1024.0}, {"kB", 1024.0},
        {"M", 1048576.0}, {"MB", 1048576.0}, {"MiB", 1048576.0},
        {"G", 1073741824.0}, {"GB", 1073741824.0}, {"GiB", 1073741824.0},
    };
    double number;
    const char *unit;

    if (split_number(text, &number, &unit) < 0) {
        set_err(err, errlen, "bad size '%s': expected a number with an optional unit (B, KB, MB, GB)", text ? text : "");
        return -1;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(unit, units[i].name) == 0) {
            double bytes = number * units[i].mult;
            if (bytes >= 1.8e19) {
                set_err(err, errlen, "bad size '%s': too large", text);
                return -1;
            }
            *out = (uint64_t)llround(bytes);
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
    if (errno || *end != '\0') {
        set_err(err, errlen, "bad number '%s': expected a whole number", text);
        return -1;
    }
    if (v > max) {
        if (err && errlen)
            snprintf(err, errlen, "bad number '%s': at most %llu", text, (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

char *units_format_duration(int64_t ns, char *buf, size_t buflen)
{
    if (ns == UNITS_DURATION_INF)
        snprintf(buf, buflen, "inf");
    else if (ns % 1000000000 == 0 && ns != 0)
        snprintf(buf, buflen, "%llds", (long long)(ns / 1000000000));
    else if (ns >= 1000000000)
        snprintf(buf, buflen, "%gs", ns / 1e9);
    else if (ns % 1000000 == 0 && ns != 0)
        snprintf(buf, buflen, "%lldms", (long long)(ns / 1000000));
    else if (ns >= 1000000)
        snprintf(buf, buflen, "%gms", ns / 1e6);
    else if (ns % 1000 == 0 && ns != 0)
        snprintf(buf, buflen, "%lldus", (long long)(ns / 1000));
    else if (ns >= 1000)
        snprintf(buf, buflen, "%gus", ns / 1e3);
    else
        snprintf(buf, buflen, "%lldns", (long long)ns);
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
