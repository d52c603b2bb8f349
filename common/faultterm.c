/* faultterm: orderd's fault vocabulary and the fail(9) term grammar. See faultterm.h. */
#include "faultterm.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

#define FAULT_COUNT_MAX UINT64_C(1000000000000)
/* Enough to write 0.0001%; more digits would not survive formatting unchanged. */
#define FAULT_PERCENT_DECIMALS 4

struct fault_info {
    const char *name;
    enum fault_arg_kind kind;
    int64_t default_arg;
    bool allows_inf;
    const char *culprit;
};

static const struct fault_info fault_table[FAULT_COUNT] = {
    [FAULT_LEAK_THREADS] = {"leak.threads", FAULT_ARG_NONE, 0, false, "leak_notifier_wait"},
    [FAULT_LEAK_MEMORY] = {"leak.memory", FAULT_ARG_SIZE, 4096, false, "leak_memory_retain"},
    [FAULT_LOCK_CACHE] = {"lock.cache", FAULT_ARG_DURATION, 200000, false, "cache_get_global"},
    [FAULT_QUEUE_STALL] = {"queue.stall", FAULT_ARG_DURATION, 50000000, true,
                           "worker_process_stalled"},
    [FAULT_QUEUE_BLOCK] = {"queue.block", FAULT_ARG_NONE, 0, false, "queue_push_blocking"},
    [FAULT_SLOW] = {"slow", FAULT_ARG_DURATION, 100000, false, "request_burn_cpu"},
    /* the same burn counted in iterations, not time: the same instructions every time,
     * so an instruction-count gate sees an exact, known regression */
    [FAULT_SLOW_WORK] = {"slow.work", FAULT_ARG_COUNT, 1000, false, "request_burn_cpu"},
};

static bool id_valid(enum fault_id id)
{
    return (unsigned)id < FAULT_COUNT;
}

__attribute__((format(printf, 3, 4)))
static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

const char *fault_name(enum fault_id id)
{
    return id_valid(id) ? fault_table[id].name : NULL;
}

enum fault_arg_kind fault_arg_kind(enum fault_id id)
{
    return id_valid(id) ? fault_table[id].kind : FAULT_ARG_NONE;
}

int64_t fault_default_arg(enum fault_id id)
{
    return id_valid(id) ? fault_table[id].default_arg : 0;
}

const char *fault_culprit(enum fault_id id)
{
    return id_valid(id) ? fault_table[id].culprit : NULL;
}

int fault_lookup(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < FAULT_COUNT; i++)
        if (strcmp(name, fault_table[i].name) == 0)
            return i;
    return -1;
}

static void term_error(char *err, size_t errlen, const char *term, size_t index, const char *what)
{
    set_error(err, errlen, "bad term '%s': %s at character %zu", term, what, index + 1);
}

/* Checks "P" in term[0..n): digits, optionally '.' and 1 to 4 digits, 0 < P <= 100.
 * Returns 0, or -1 with err filled. */
static int parse_percent(const char *term, size_t n, double *out, char *err, size_t errlen)
{
    char number[FAULT_TERM_MAX + 1];
    size_t i = 0, decimals = 0;

    while (i < n && isdigit((unsigned char)term[i]))
        i++;
    if (i == 0) {
        term_error(err, errlen, term, 0, "expected a percentage before '%'");
        return -1;
    }
    if (i < n && term[i] == '.') {
        for (i++; i < n && isdigit((unsigned char)term[i]); i++)
            if (++decimals > FAULT_PERCENT_DECIMALS) {
                term_error(err, errlen, term, i, "at most 4 decimal places in a percentage");
                return -1;
            }
        if (decimals == 0) {
            term_error(err, errlen, term, i, "expected a digit after '.' in the percentage");
            return -1;
        }
    }
    if (i < n) {
        term_error(err, errlen, term, i, "expected a percentage before '%'");
        return -1;
    }
    memcpy(number, term, n);
    number[n] = '\0';
    *out = strtod(number, NULL);
    if (!(*out > 0 && *out <= 100)) {
        term_error(err, errlen, term, 0, "the percentage must be above 0 and at most 100");
        return -1;
    }
    return 0;
}

/* Checks "N" in term[start..end): a whole number from 1 to FAULT_COUNT_MAX.
 * Returns 0, or -1 with err filled. */
static int parse_count(const char *term, size_t start, size_t end, int64_t *out, char *err,
                       size_t errlen)
{
    char number[FAULT_TERM_MAX + 1];
    uint64_t count;

    for (size_t i = start; i < end; i++)
        if (!isdigit((unsigned char)term[i])) {
            term_error(err, errlen, term, i, "expected a count before '*'");
            return -1;
        }
    if (start == end) {
        term_error(err, errlen, term, end, "expected a count before '*'");
        return -1;
    }
    memcpy(number, term + start, end - start);
    number[end - start] = '\0';
    if (units_parse_uint(number, FAULT_COUNT_MAX, &count, NULL, 0) < 0) {
        term_error(err, errlen, term, start, "the count is at most 1000000000000");
        return -1;
    }
    if (count == 0) {
        term_error(err, errlen, term, start, "the count must be at least 1");
        return -1;
    }
    *out = (int64_t)count;
    return 0;
}

/* Checks ARG (the text between the parentheses; '(' at index paren of term) against
 * the fault's kind. Returns 0, or -1 with err filled. */
static int parse_argument(enum fault_id id, const char *term, size_t paren, const char *arg,
                          int64_t *out, char *err, size_t errlen)
{
    const struct fault_info *info = &fault_table[id];
    const char *kind = info->kind == FAULT_ARG_SIZE ? "size" : info->kind == FAULT_ARG_COUNT ? "count" : "duration";
    char why[FAULT_TERM_MAX + 160];
    uint64_t bytes;

    if (info->kind == FAULT_ARG_NONE) {
        set_error(err, errlen, "%s takes no argument, found '(%s)' at character %zu of '%s'",
                  info->name, arg, paren + 1, term);
        return -1;
    }
    if (*arg == '\0') {
        set_error(err, errlen, "%s takes a %s argument: empty '()' at character %zu of '%s'",
                  info->name, kind, paren + 1, term);
        return -1;
    }
    if (info->kind == FAULT_ARG_DURATION) {
        if (units_parse_duration(arg, out, why, sizeof why) < 0)
            goto bad;
        if (*out == UNITS_DURATION_INF && !info->allows_inf) {
            set_error(err, errlen, "%s takes a finite duration, only queue.stall may be 'inf'"
                      " (at character %zu of '%s')", info->name, paren + 2, term);
            return -1;
        }
        return 0;
    }
    if (info->kind == FAULT_ARG_COUNT) {
        if (units_parse_uint(arg, FAULT_MAX_WORK, &bytes, why, sizeof why) < 0)
            goto bad;
        *out = (int64_t)bytes;
        return 0;
    }
    if (units_parse_size(arg, &bytes, why, sizeof why) < 0)
        goto bad;
    if (bytes > INT64_MAX) {
        snprintf(why, sizeof why, "bad size '%s': too large", arg);
        goto bad;
    }
    *out = (int64_t)bytes;
    return 0;
bad:
    set_error(err, errlen, "%s takes a %s argument: %s (at character %zu of '%s')", info->name,
              kind, why, paren + 2, term);
    return -1;
}

int fault_term_parse(enum fault_id id, const char *text, struct fault_term *out, char *err,
                     size_t errlen)
{
    char term[FAULT_TERM_MAX + 1];
    struct fault_term t = {.on = true, .percent = 100, .max_count = -1};
    size_t len, prefix_len, pos = 0;
    const char *start, *end, *mark;
    int rc = -1;

    if (!id_valid(id)) {
        set_error(err, errlen, "unknown fault id %d", (int)id);
        goto done;
    }
    if (!text || strnlen(text, FAULT_TERM_MAX + 1) > FAULT_TERM_MAX) {
        set_error(err, errlen, text ? "term too long (at most %d bytes)" : "no term given",
                  FAULT_TERM_MAX);
        goto done;
    }
    for (start = text; isspace((unsigned char)*start); start++)
        ;
    for (end = start + strlen(start); end > start && isspace((unsigned char)end[-1]); end--)
        ;
    len = (size_t)(end - start);
    memcpy(term, start, len);
    term[len] = '\0';
    if (len == 0) {
        set_error(err, errlen, "empty term: expected 'off' or [P%%][N*]on[(ARG)], e.g. '5%%100*on'");
        goto done;
    }
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)term[i])) {
            term_error(err, errlen, term, i, "no spaces allowed inside a term");
            goto done;
        }
    if (strcmp(term, "off") == 0) {
        t = (struct fault_term){.on = false, .percent = 100, .max_count = -1};
        rc = 0;
        goto done;
    }

    /* '%' and '*' count only before the argument, where "(...)" may hold anything. */
    mark = memchr(term, '(', len);
    prefix_len = mark ? (size_t)(mark - term) : len;
    mark = memchr(term, '%', prefix_len);
    if (mark) {
        if (parse_percent(term, (size_t)(mark - term), &t.percent, err, errlen) < 0)
            goto done;
        pos = (size_t)(mark - term) + 1;
    }
    mark = memchr(term + pos, '*', prefix_len - pos);
    if (mark) {
        if (parse_count(term, pos, (size_t)(mark - term), &t.max_count, err, errlen) < 0)
            goto done;
        pos = (size_t)(mark - term) + 1;
    }

    if (strncmp(term + pos, "on", 2) != 0) {
        size_t digits = pos;
        while (isdigit((unsigned char)term[digits]))
            digits++;
        if (digits > pos)
            term_error(err, errlen, term, digits, "expected '%' or '*' after a number");
        else if (strcmp(term + pos, "off") == 0)
            term_error(err, errlen, term, pos, "'off' takes no percentage or count");
        else
            term_error(err, errlen, term, pos, "expected 'on'");
        goto done;
    }
    pos += 2;

    t.arg = fault_table[id].default_arg;
    if (term[pos] != '\0') {
        char arg[FAULT_TERM_MAX + 1];
        const char *close;
        size_t arg_len;
        if (term[pos] != '(') {
            term_error(err, errlen, term, pos, "expected '(' or the end of the term after 'on'");
            goto done;
        }
        close = strchr(term + pos, ')');
        if (!close) {
            term_error(err, errlen, term, len, "missing ')'");
            goto done;
        }
        if (close[1] != '\0') {
            term_error(err, errlen, term, (size_t)(close - term) + 1, "unexpected text after ')'");
            goto done;
        }
        arg_len = (size_t)(close - term) - pos - 1;
        memcpy(arg, term + pos + 1, arg_len);
        arg[arg_len] = '\0';
        if (parse_argument(id, term, pos, arg, &t.arg, err, errlen) < 0)
            goto done;
        t.has_arg = true;
    }
    rc = 0;
done:
    if (rc == 0)
        *out = t;
    return rc;
}

/* "4096" -> "4KiB": the largest binary unit that divides exactly. */
static void format_size(uint64_t bytes, char *buf, size_t buflen)
{
    static const struct { uint64_t mult; const char *name; } units[] = {
        {UINT64_C(1) << 30, "GiB"}, {UINT64_C(1) << 20, "MiB"}, {UINT64_C(1) << 10, "KiB"},
    };

    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (bytes != 0 && bytes % units[i].mult == 0) {
            snprintf(buf, buflen, "%" PRIu64 "%s", bytes / units[i].mult, units[i].name);
            return;
        }
    snprintf(buf, buflen, "%" PRIu64, bytes);
}

char *fault_term_format(enum fault_id id, const struct fault_term *t, char *buf, size_t buflen)
{
    char percent[32] = "", count[32] = "", arg[48] = "";

    if (!buf || buflen == 0)
        return buf;
    if (!t || !t->on) {
        snprintf(buf, buflen, "off");
        return buf;
    }
    if (t->percent < 100) {
        int n = snprintf(percent, sizeof percent, "%.*f", FAULT_PERCENT_DECIMALS, t->percent);
        while (n > 0 && percent[n - 1] == '0')
            percent[--n] = '\0';
        if (n > 0 && percent[n - 1] == '.')
            percent[--n] = '\0';
        snprintf(percent + n, sizeof percent - (size_t)n, "%%");
    }
    if (t->max_count >= 0)
        snprintf(count, sizeof count, "%" PRId64 "*", t->max_count);
    if (t->has_arg) {
        char value[40];
        if (fault_arg_kind(id) == FAULT_ARG_SIZE)
            format_size((uint64_t)t->arg, value, sizeof value);
        else if (fault_arg_kind(id) == FAULT_ARG_COUNT)
            snprintf(value, sizeof value, "%" PRId64, t->arg);
        else
            units_format_duration(t->arg, value, sizeof value);
        snprintf(arg, sizeof arg, "(%s)", value);
    }
    snprintf(buf, buflen, "%s%son%s", percent, count, arg);
    return buf;
}

void fault_unknown_error(const char *name, char *err, size_t errlen)
{
    char known[128];
    size_t used = 0;

    known[0] = '\0';
    for (int i = 0; i < FAULT_COUNT; i++) {
        int n = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                         fault_table[i].name);
        if (n < 0 || (size_t)n >= sizeof known - used)
            break;
        used += (size_t)n;
    }
    set_error(err, errlen, "unknown fault '%s' (known: %s)", name, known);
}
