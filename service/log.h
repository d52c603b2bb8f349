/* log: structured log lines (JSON lines by default, or text for people at a terminal)
 * carrying the correlation context of the request or order being handled.
 *
 * The context lives in thread-local storage: the I/O thread sets it from the request's
 * X-Request-ID and traceparent, the queue carries a copy with the order, and the
 * worker installs that copy before it logs — so every line about one order shares
 * its request_id and trace_id. Each line is formatted in a thread-local buffer and
 * written with one write(2), so lines from different threads never interleave.
 * Log context, not data: no function here takes a request body. */
#ifndef ORDERD_LOG_H
#define ORDERD_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };
enum log_format { LOG_FORMAT_JSON, LOG_FORMAT_TEXT };

#define LOG_ID_MAX 64   /* request ids are at most this many characters */

struct log_context {
    char request_id[LOG_ID_MAX + 1];
    char trace_id[33];
    uint64_t order_id;   /* 0: none */
    int64_t user_id;     /* -1: none */
};

/* Where lines go (a file descriptor, stderr by default), their format and level. */
void log_configure(int fd, enum log_format format, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "debug", "info", "warn", "error" <-> level; parse returns -1 when unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);

/* The calling thread's correlation context: set (copied), cleared, read. */
void log_context_set(const struct log_context *ctx);
void log_context_clear(void);
const struct log_context *log_context_get(void);

/* One field of a line. Strings are escaped for JSON. */
enum log_field_type { LOG_STR, LOG_INT, LOG_UINT, LOG_DOUBLE };
struct log_field {
    const char *key;
    enum log_field_type type;
    union { const char *s; int64_t i; uint64_t u; double d; } v;
};
#define LOG_F_STR(k, x)    ((struct log_field){.key = (k), .type = LOG_STR, .v.s = (x)})
#define LOG_F_INT(k, x)    ((struct log_field){.key = (k), .type = LOG_INT, .v.i = (x)})
#define LOG_F_UINT(k, x)   ((struct log_field){.key = (k), .type = LOG_UINT, .v.u = (x)})
#define LOG_F_DOUBLE(k, x) ((struct log_field){.key = (k), .type = LOG_DOUBLE, .v.d = (x)})

/* Writes one line when level is enabled: ts, level, msg, thread, the context's ids,
 * then fields. Lines longer than the line buffer (4 KiB) are cut and marked
 * "truncated":true. Never fails loudly: a failed write, or a line whose first fields
 * (ts, level, msg, thread) alone do not fit, is counted and dropped. */
void log_write(enum log_level level, const char *msg, const struct log_field *fields, int nfields);

/* Formats one line into buf (no trailing newline written when it does not fit).
 * Returns the length written. Exposed for tests. */
size_t log_format_line(char *buf, size_t buflen, enum log_format format, int64_t wall_ns,
                       enum log_level level, const char *msg, const char *thread,
                       const struct log_context *ctx, const struct log_field *fields, int nfields);

/* log_info("msg", LOG_F_STR(...), ...): at least one field; for none, call log_write
 * with NULL, 0. */
#define LOG_FIELDS(...) (struct log_field[]){__VA_ARGS__}, \
    (int)(sizeof((struct log_field[]){__VA_ARGS__}) / sizeof(struct log_field))
#define log_debug(msg, ...) log_write(LOG_DEBUG, (msg), LOG_FIELDS(__VA_ARGS__))
#define log_info(msg, ...)  log_write(LOG_INFO, (msg), LOG_FIELDS(__VA_ARGS__))
#define log_warn(msg, ...)  log_write(LOG_WARN, (msg), LOG_FIELDS(__VA_ARGS__))
#define log_error(msg, ...) log_write(LOG_ERROR, (msg), LOG_FIELDS(__VA_ARGS__))

uint64_t log_dropped_lines(void);

#endif
