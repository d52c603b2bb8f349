/* log: JSON or text lines with correlation context. See log.h. */
#include "log.h"

#include "threads.h"
#include "units.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static int log_fd = 2;
static enum log_format log_fmt = LOG_FORMAT_JSON;
static _Atomic int log_level = LOG_INFO;
static _Atomic uint64_t dropped;

static _Thread_local struct log_context thread_ctx = {.user_id = -1};
static _Thread_local bool thread_ctx_set;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_configure(int fd, enum log_format format, enum log_level level)
{
    log_fd = fd;
    log_fmt = format;
    atomic_store(&log_level, level);
}

void log_set_level(enum log_level level) { atomic_store(&log_level, level); }
enum log_level log_get_level(void) { return (enum log_level)atomic_load(&log_level); }

int log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

const char *log_level_name(enum log_level level)
{
    return level >= LOG_DEBUG && level <= LOG_ERROR ? level_names[level] : "unknown";
}

void log_context_set(const struct log_context *ctx)
{
    thread_ctx = *ctx;
    thread_ctx_set = true;
}

void log_context_clear(void)
{
    memset(&thread_ctx, 0, sizeof thread_ctx);
    thread_ctx.user_id = -1;
    thread_ctx_set = false;
}

const struct log_context *log_context_get(void)
{
    return &thread_ctx;
}

uint64_t log_dropped_lines(void) { return atomic_load(&dropped); }

/* A bounded writer: appends stop at the end of the buffer and mark truncation. */
struct line {
    char *buf;
    size_t cap, len;
    size_t whole;      /* length up to the end of the last complete field */
    bool truncated;
};

static void put(struct line *l, const char *s, size_t n)
{
    if (l->len + n > l->cap) {
        n = l->cap - l->len;
        l->truncated = true;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_(struct line *l, const char *s) { put(l, s, strlen(s)); }

static void putf(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct line *l, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(l, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* JSON string escaping (RFC 8259): quotes, backslash and control characters. */
static void put_json_string(struct line *l, const char *s)
{
    put(l, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': put(l, "\\\"", 2); break;
        case '\\': put(l, "\\\\", 2); break;
        case '\n': put(l, "\\n", 2); break;
        case '\r': put(l, "\\r", 2); break;
        case '\t': put(l, "\\t", 2); break;
        default:
            if (*p < 0x20)
                putf(l, "\\u%04x", *p);
            else
                put(l, (const char *)p, 1);
        }
    }
    put(l, "\"", 1);
}

/* Text values are quoted only when they contain a space, quote, '=' or a control
 * character: a raw CR or LF would split one entry into two lines. */
static void put_text_value(struct line *l, const char *s)
{
    bool plain = s && *s;

    for (const unsigned char *p = (const unsigned char *)s; plain && *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=')
            plain = false;
    if (plain)
        puts_(l, s);
    else
        put_json_string(l, s);
}

/* The unquoted parts of a text line (msg, thread): control characters escaped as in
 * JSON, everything else as it is. */
static void put_text_plain(struct line *l, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '\n': put(l, "\\n", 2); break;
        case '\r': put(l, "\\r", 2); break;
        case '\t': put(l, "\\t", 2); break;
        default:
            if (*p < 0x20)
                putf(l, "\\u%04x", *p);
            else
                put(l, (const char *)p, 1);
        }
    }
}

static void put_field(struct line *l, enum log_format format, const char *key,
                      const struct log_field *f, const char *s)
{
    if (format == LOG_FORMAT_JSON) {
        put(l, ",", 1);
        put_json_string(l, key);
        put(l, ":", 1);
    } else {
        put(l, " ", 1);
        puts_(l, key);
        put(l, "=", 1);
    }
    if (!f) {
        if (format == LOG_FORMAT_JSON)
            put_json_string(l, s);
        else
            put_text_value(l, s);
        goto done;
    }
    switch (f->type) {
    case LOG_STR:
        if (format == LOG_FORMAT_JSON)
            put_json_string(l, f->v.s);
        else
            put_text_value(l, f->v.s);
        break;
    case LOG_INT: putf(l, "%lld", (long long)f->v.i); break;
    case LOG_UINT: putf(l, "%llu", (unsigned long long)f->v.u); break;
    case LOG_DOUBLE:
        /* JSON has no NaN or infinity; every finite double is a valid number. */
        if (!isfinite(f->v.d))
            puts_(l, "null");
        else
            putf(l, "%.6g", f->v.d);
        break;
    }
done:
    if (!l->truncated)
        l->whole = l->len;
}

size_t log_format_line(char *buf, size_t buflen, enum log_format format, int64_t wall_ns,
                       enum log_level level, const char *msg, const char *thread,
                       const struct log_context *ctx, const struct log_field *fields, int nfields)
{
    static const char json_cut[] = ",\"truncated\":true}\n", text_cut[] = " truncated=true\n";
    /* Room for the longest ending is kept back so a cut line still parses. */
    const size_t reserve = sizeof json_cut;
    struct line l = {.buf = buf, .cap = buflen > reserve ? buflen - reserve : 0};
    char ts[40];
    time_t secs = (time_t)(wall_ns / 1000000000);
    struct tm tm;

    if (l.cap == 0)
        return 0;
    gmtime_r(&secs, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%06dZ", (int)((wall_ns / 1000) % 1000000));

    if (format == LOG_FORMAT_JSON) {
        puts_(&l, "{\"ts\":\"");
        puts_(&l, ts);
        puts_(&l, "\",\"level\":");
        put_json_string(&l, log_level_name(level));
        puts_(&l, ",\"msg\":");
        put_json_string(&l, msg);
        put_field(&l, format, "thread", NULL, thread);
    } else {
        puts_(&l, ts);
        put(&l, " ", 1);
        puts_(&l, log_level_name(level));
        put(&l, " [", 2);
        put_text_plain(&l, thread);
        put(&l, "] ", 2);
        put_text_plain(&l, msg);
        if (!l.truncated)
            l.whole = l.len;
    }
    if (ctx) {
        if (ctx->request_id[0])
            put_field(&l, format, "request_id", NULL, ctx->request_id);
        if (ctx->trace_id[0])
            put_field(&l, format, "trace_id", NULL, ctx->trace_id);
        if (ctx->order_id) {
            struct log_field f = LOG_F_UINT("order_id", ctx->order_id);
            put_field(&l, format, f.key, &f, NULL);
        }
        if (ctx->user_id >= 0) {
            struct log_field f = LOG_F_INT("user_id", ctx->user_id);
            put_field(&l, format, f.key, &f, NULL);
        }
    }
    for (int i = 0; i < nfields; i++)
        put_field(&l, format, fields[i].key, &fields[i], NULL);

    const char *tail = format == LOG_FORMAT_JSON ? "}\n" : "\n";
    if (l.truncated) {
        /* Cut back to the last complete field: never inside a string. A line whose
         * first fields do not fit is dropped. */
        if (l.whole == 0)
            return 0;
        l.len = l.whole;
        tail = format == LOG_FORMAT_JSON ? json_cut : text_cut;
    }
    size_t tail_len = strlen(tail);
    memcpy(buf + l.len, tail, tail_len);
    l.len += tail_len;
    buf[l.len] = '\0';
    return l.len;
}

void log_write(enum log_level level, const char *msg, const struct log_field *fields, int nfields)
{
    static _Thread_local char buf[LOG_LINE_MAX];

    if ((int)level < atomic_load_explicit(&log_level, memory_order_relaxed))
        return;
    size_t n = log_format_line(buf, sizeof buf, log_fmt, units_wall_ns(), level, msg,
                               threads_current_name(), thread_ctx_set ? &thread_ctx : NULL,
                               fields, nfields);
    if (n == 0) {
        /* Not even ts, level, msg and thread fit: lost, but not silently. */
        atomic_fetch_add(&dropped, 1);
        return;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(log_fd, buf + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            atomic_fetch_add(&dropped, 1);
            return;
        }
        off += (size_t)w;
    }
}
