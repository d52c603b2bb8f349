/* promtext: Prometheus text format 0.0.4 parser. See promtext.h.
 * A line at a time, into a scratch buffer, so the caller's text is never modified and
 * nothing is allocated per sample; only # TYPE lines are remembered (in a small hash
 * table) so samples can carry their family's type. */
#include "base/promtext.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FAMILY_BUCKETS 1024

struct family {
    struct family *next;
    enum promtext_type type;
    char name[];
};

struct parser {
    const char *line;    /* current line, not NUL-terminated */
    size_t len, pos;
    long lineno;
    char *scratch;       /* names and unescaped values, NUL-terminated */
    size_t scratch_used, scratch_cap;
    struct family *families[FAMILY_BUCKETS];
    size_t nfamilies;
    char *err;
    size_t errlen;
};

static int fail(struct parser *p, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "metrics line %ld: %s", p->lineno, msg);
    return -1;
}

static unsigned hash_name(const char *s, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h % FAMILY_BUCKETS;
}

static struct family *family_find(struct parser *p, const char *name, size_t n)
{
    for (struct family *f = p->families[hash_name(name, n)]; f; f = f->next)
        if (strlen(f->name) == n && memcmp(f->name, name, n) == 0)
            return f;
    return NULL;
}

static int family_set_type(struct parser *p, const char *name, enum promtext_type type)
{
    size_t n = strlen(name);
    struct family *f = family_find(p, name, n);
    unsigned h;

    if (f) {
        f->type = type;
        return 0;
    }
    if (p->nfamilies >= PROMTEXT_MAX_SAMPLES)
        return fail(p, "more than %d metric families", PROMTEXT_MAX_SAMPLES);
    f = malloc(sizeof *f + n + 1);
    if (!f)
        return fail(p, "out of memory");
    memcpy(f->name, name, n + 1);
    f->type = type;
    h = hash_name(name, n);
    f->next = p->families[h];
    p->families[h] = f;
    p->nfamilies++;
    return 0;
}

static void families_free(struct parser *p)
{
    for (size_t i = 0; i < FAMILY_BUCKETS; i++) {
        struct family *f = p->families[i], *next;
        for (; f; f = next) {
            next = f->next;
            free(f);
        }
    }
}

/* A histogram's samples are name_bucket/_sum/_count; a summary's name/_sum/_count. */
static enum promtext_type sample_type(struct parser *p, const char *name)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    size_t n = strlen(name);
    struct family *f = family_find(p, name, n);

    if (f)
        return f->type;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t sl = strlen(suffixes[i]);
        if (n > sl && strcmp(name + n - sl, suffixes[i]) == 0) {
            f = family_find(p, name, n - sl);
            if (f && (f->type == PROMTEXT_HISTOGRAM || (f->type == PROMTEXT_SUMMARY && i > 0)))
                return f->type;
        }
    }
    return PROMTEXT_UNTYPED;
}

static bool at_end(const struct parser *p)
{
    return p->pos >= p->len;
}

static char peek(const struct parser *p)
{
    return at_end(p) ? '\0' : p->line[p->pos];
}

static void skip_blanks(struct parser *p)
{
    while (!at_end(p) && (p->line[p->pos] == ' ' || p->line[p->pos] == '\t'))
        p->pos++;
}

static char *scratch_alloc(struct parser *p, size_t n)
{
    char *s;
    if (p->scratch_used + n > p->scratch_cap)
        return NULL;
    s = p->scratch + p->scratch_used;
    p->scratch_used += n;
    return s;
}

static bool name_start(char c, bool colon_ok)
{
    return isalpha((unsigned char)c) || c == '_' || (colon_ok && c == ':');
}

static bool name_char(char c, bool colon_ok)
{
    return isalnum((unsigned char)c) || c == '_' || (colon_ok && c == ':');
}

/* Reads a metric name (colon_ok) or label name into scratch. */
static const char *read_name(struct parser *p, bool colon_ok, const char *what)
{
    size_t start = p->pos, n;
    char *out;

    if (!name_start(peek(p), colon_ok)) {
        fail(p, "expected a %s", what);
        return NULL;
    }
    while (!at_end(p) && name_char(p->line[p->pos], colon_ok))
        p->pos++;
    n = p->pos - start;
    if (n > PROMTEXT_MAX_NAME) {
        fail(p, "%s longer than %d characters", what, PROMTEXT_MAX_NAME);
        return NULL;
    }
    out = scratch_alloc(p, n + 1);
    if (!out) {
        fail(p, "line too complex");
        return NULL;
    }
    memcpy(out, p->line + start, n);
    out[n] = '\0';
    return out;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2;
        cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3;
        cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Reads a quoted label value (p->pos at the opening quote), unescaping into scratch. */
static const char *read_label_value(struct parser *p)
{
    char *out = scratch_alloc(p, 0), *w;
    size_t room = p->scratch_cap - p->scratch_used;

    if (peek(p) != '"') {
        fail(p, "expected '\"' to open a label value");
        return NULL;
    }
    p->pos++;
    w = out;
    for (;;) {
        char c;
        size_t seq;
        if (at_end(p)) {
            fail(p, "unterminated label value");
            return NULL;
        }
        if ((size_t)(w - out) + 5 > room) {
            fail(p, "line too complex");
            return NULL;
        }
        c = p->line[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c == '\\') {
            char e = p->pos + 1 < p->len ? p->line[p->pos + 1] : '\0';
            if (e == '\\' || e == '"')
                *w++ = e;
            else if (e == 'n')
                *w++ = '\n';
            else {
                fail(p, "invalid escape sequence in label value");
                return NULL;
            }
            p->pos += 2;
            continue;
        }
        seq = utf8_sequence((const unsigned char *)p->line + p->pos, p->len - p->pos);
        if (seq == 0) {
            fail(p, "label value is not valid UTF-8");
            return NULL;
        }
        memcpy(w, p->line + p->pos, seq);
        w += seq;
        p->pos += seq;
    }
    *w++ = '\0';
    p->scratch_used += (size_t)(w - out);
    return out;
}

static int read_labels(struct parser *p, struct promtext_label *labels, size_t *nlabels)
{
    *nlabels = 0;
    p->pos++;  /* '{' */
    for (;;) {
        const char *name, *value;
        skip_blanks(p);
        if (peek(p) == '}') {
            p->pos++;
            return 0;
        }
        if (*nlabels >= PROMTEXT_MAX_LABELS)
            return fail(p, "more than %d labels", PROMTEXT_MAX_LABELS);
        name = read_name(p, false, "label name");
        if (!name)
            return -1;
        skip_blanks(p);
        if (peek(p) != '=')
            return fail(p, "expected '=' after label name '%s'", name);
        p->pos++;
        skip_blanks(p);
        value = read_label_value(p);
        if (!value)
            return -1;
        for (size_t i = 0; i < *nlabels; i++)
            if (strcmp(labels[i].name, name) == 0)
                return fail(p, "label '%s' given twice", name);
        labels[*nlabels].name = name;
        labels[*nlabels].value = value;
        (*nlabels)++;
        skip_blanks(p);
        if (peek(p) == ',') {
            p->pos++;
        } else if (peek(p) != '}') {
            return fail(p, "expected ',' or '}' after a label");
        }
    }
}

/* Copies the next blank-delimited token into buf. Returns its length (0: none). */
static size_t read_token(struct parser *p, char *buf, size_t buflen)
{
    size_t start = p->pos, n;
    while (!at_end(p) && p->line[p->pos] != ' ' && p->line[p->pos] != '\t')
        p->pos++;
    n = p->pos - start;
    if (n >= buflen)
        return buflen;  /* caller reports "too long" */
    memcpy(buf, p->line + start, n);
    buf[n] = '\0';
    return n;
}

/* Go's ParseFloat, which Prometheus uses, but without hex floats or "nan(...)". */
static int parse_value(const char *s, double *out)
{
    const char *t = s;
    char *end;

    if (*t == '+' || *t == '-')
        t++;
    if (strcasecmp(t, "inf") == 0 || strcasecmp(t, "infinity") == 0) {
        *out = s[0] == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    if (strcasecmp(s, "nan") == 0) {
        *out = NAN;
        return 0;
    }
    if (!*t)
        return -1;
    for (const char *c = t; *c; c++)
        if (!isdigit((unsigned char)*c) && *c != '.' && *c != 'e' && *c != 'E' && *c != '+' && *c != '-')
            return -1;
    errno = 0;
    *out = strtod(s, &end);
    if (*end || end == s || (errno == ERANGE && isinf(*out)))
        return -1;
    return 0;
}

static int parse_timestamp(const char *s, int64_t *out)
{
    char *end;
    long long v;
    if (!*s || !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_comment(struct parser *p)
{
    char word[16], name[PROMTEXT_MAX_NAME + 2], type[16];
    size_t n;

    p->pos++;  /* '#' */
    skip_blanks(p);
    n = read_token(p, word, sizeof word);
    if (n == 0 || n >= sizeof word || (strcmp(word, "HELP") != 0 && strcmp(word, "TYPE") != 0))
        return 0;  /* any other comment */
    skip_blanks(p);
    n = read_token(p, name, sizeof name);
    if (n >= sizeof name)
        return fail(p, "metric name longer than %d characters", PROMTEXT_MAX_NAME);
    if (!promtext_valid_metric_name(name))
        return fail(p, "bad metric name in # %s", word);
    if (strcmp(word, "HELP") == 0)
        return 0;  /* the text may hold anything, escapes included */
    skip_blanks(p);
    n = read_token(p, type, sizeof type);
    skip_blanks(p);
    if (n == 0 || n >= sizeof type || !at_end(p))
        return fail(p, "bad # TYPE line");
    if (strcmp(type, "counter") == 0)
        return family_set_type(p, name, PROMTEXT_COUNTER);
    if (strcmp(type, "gauge") == 0)
        return family_set_type(p, name, PROMTEXT_GAUGE);
    if (strcmp(type, "histogram") == 0)
        return family_set_type(p, name, PROMTEXT_HISTOGRAM);
    if (strcmp(type, "summary") == 0)
        return family_set_type(p, name, PROMTEXT_SUMMARY);
    if (strcmp(type, "untyped") == 0)
        return family_set_type(p, name, PROMTEXT_UNTYPED);
    return fail(p, "unknown metric type '%s'", type);
}

static int parse_sample(struct parser *p, promtext_sample_fn fn, void *ctx)
{
    struct promtext_label labels[PROMTEXT_MAX_LABELS];
    struct promtext_sample s = {0};
    char token[128];
    size_t n;

    s.name = read_name(p, true, "metric name");
    if (!s.name)
        return -1;
    {
        size_t after_name = p->pos;
        skip_blanks(p);  /* expfmt allows blanks between the name and '{' */
        if (peek(p) == '{') {
            if (read_labels(p, labels, &s.nlabels) < 0)
                return -1;
            after_name = p->pos;
            skip_blanks(p);
        }
        if (p->pos == after_name)
            return fail(p, "expected a blank before the value");
    }
    s.labels = labels;
    n = read_token(p, token, sizeof token);
    if (n == 0)
        return fail(p, "missing value");
    if (n >= sizeof token || parse_value(token, &s.value) < 0)
        return fail(p, "bad value");
    skip_blanks(p);
    if (!at_end(p)) {
        n = read_token(p, token, sizeof token);
        if (n >= sizeof token || parse_timestamp(token, &s.timestamp_ms) < 0)
            return fail(p, "bad timestamp");
        s.has_timestamp = true;
        skip_blanks(p);
        if (!at_end(p))
            return fail(p, "unexpected text after the timestamp");
    }
    s.type = sample_type(p, s.name);
    return fn(ctx, &s, p->err, p->errlen);
}

long promtext_parse(const char *text, size_t len, promtext_sample_fn fn, void *ctx,
                    char *err, size_t errlen)
{
    struct parser p = {0};
    size_t off = 0;
    long count = 0;

    p.err = err;
    p.errlen = errlen;
    /* Sized for the longest line this body can hold, not the longest any body can:
     * a small scrape then costs a small allocation. */
    p.scratch_cap = 2 * (len < PROMTEXT_MAX_LINE ? len : PROMTEXT_MAX_LINE) + 2 * PROMTEXT_MAX_LABELS + 16;
    p.scratch = malloc(p.scratch_cap);
    if (!p.scratch) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (memchr(text, '\0', len)) {
        snprintf(err, errlen, "metrics body contains a NUL byte");
        count = -1;
        goto done;
    }
    while (off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t linelen = nl ? (size_t)(nl - (text + off)) : len - off;

        p.lineno++;
        p.line = text + off;
        p.len = linelen;
        p.pos = 0;
        p.scratch_used = 0;
        off += linelen + (nl ? 1 : 0);
        if (p.len > 0 && p.line[p.len - 1] == '\r')
            p.len--;
        if (p.len > PROMTEXT_MAX_LINE) {
            count = fail(&p, "line longer than %d bytes", PROMTEXT_MAX_LINE);
            goto done;
        }
        skip_blanks(&p);
        if (at_end(&p))
            continue;
        if (peek(&p) == '#') {
            if (parse_comment(&p) < 0) {
                count = -1;
                goto done;
            }
            continue;
        }
        if (count >= PROMTEXT_MAX_SAMPLES) {
            count = fail(&p, "more than %d samples", PROMTEXT_MAX_SAMPLES);
            goto done;
        }
        if (parse_sample(&p, fn, ctx) < 0) {
            count = -1;
            goto done;
        }
        count++;
    }
done:
    families_free(&p);
    free(p.scratch);
    return count;
}

static int append(char *out, size_t outlen, size_t *used, const char *s, size_t n)
{
    if (*used + n >= outlen)
        return -1;
    memcpy(out + *used, s, n);
    *used += n;
    out[*used] = '\0';
    return 0;
}

int promtext_labels_format(const struct promtext_label *labels, size_t n, char *out, size_t outlen)
{
    size_t order[PROMTEXT_MAX_LABELS], used = 0;

    if (outlen == 0 || n > PROMTEXT_MAX_LABELS)
        return -1;
    out[0] = '\0';
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && strcmp(labels[order[j - 1]].name, labels[i].name) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    if (append(out, outlen, &used, "{", 1) < 0)
        return -1;
    for (size_t k = 0; k < n; k++) {
        const struct promtext_label *l = &labels[order[k]];
        if ((k > 0 && append(out, outlen, &used, ",", 1) < 0) ||
            append(out, outlen, &used, l->name, strlen(l->name)) < 0 ||
            append(out, outlen, &used, "=\"", 2) < 0)
            return -1;
        for (const char *c = l->value; *c; c++) {
            int rc;
            if (*c == '\\')
                rc = append(out, outlen, &used, "\\\\", 2);
            else if (*c == '"')
                rc = append(out, outlen, &used, "\\\"", 2);
            else if (*c == '\n')
                rc = append(out, outlen, &used, "\\n", 2);
            else
                rc = append(out, outlen, &used, c, 1);
            if (rc < 0)
                return -1;
        }
        if (append(out, outlen, &used, "\"", 1) < 0)
            return -1;
    }
    return append(out, outlen, &used, "}", 1);
}

static bool valid_name(const char *name, bool colon_ok)
{
    if (!name_start(name[0], colon_ok) || strlen(name) > PROMTEXT_MAX_NAME)
        return false;
    for (const char *c = name + 1; *c; c++)
        if (!name_char(*c, colon_ok))
            return false;
    return true;
}

bool promtext_valid_metric_name(const char *name)
{
    return valid_name(name, true);
}

bool promtext_valid_label_name(const char *name)
{
    return valid_name(name, false);
}
