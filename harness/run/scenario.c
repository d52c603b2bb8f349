/* scenario: INI scenario files through libinih, with line numbers. See scenario.h. */
#include "run/scenario.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cmdline.h"
#include "units.h"

#define MAX_SECTIONS (SCENARIO_MAX_PHASES + 8)
#define MAX_KEYS 256

/* Characters that would end an INI key early, swapped out inside a metric gate's
 * {labels} before inih sees the line and swapped back in the handler. */
static const char encode_from[] = "=:;";
static const char encode_to[] = "\x01\x02\x03";

struct parse_state {
    struct scenario *sc;
    const char *file;
    const char *text;
    size_t len, pos;
    int lineno;
    char section[80];          /* the section the reader is in */
    struct {
        char name[80];
        int line;
    } sections[MAX_SECTIONS];
    size_t nsections;
    struct {
        char section[80];
        char key[GATE_MAX_NAME];
        int line;
    } keys[MAX_KEYS];
    size_t nkeys;
    bool failed;
    char *err;
    size_t errlen;
    int duration_line, sample_interval_line, connections_line, expect_line, url_line;
    int fault_line;
    int service_cpu_line;
    char expect[SCENARIO_MAX_TEXT];
    int phase_fault_line[SCENARIO_MAX_PHASES];
    int phase_at_line[SCENARIO_MAX_PHASES];
    int phase_until_line[SCENARIO_MAX_PHASES];
};

static int fail_at(struct parse_state *st, int line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    if (st->failed)
        return -1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(st->err, st->errlen, "%s:%d: %s", st->file, line, msg);
    else
        snprintf(st->err, st->errlen, "%s: %s", st->file, msg);
    st->failed = true;
    return -1;
}

static bool valid_word(const char *s, const char *extra)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
            return false;
    return true;
}

/* Checks a section header line ("[name]" plus an optional comment) and notes it. */
static void reader_section(struct parse_state *st, const char *line, size_t len)
{
    const char *close = memchr(line, ']', len);
    char name[80];
    size_t n;

    if (!close)
        return;  /* inih reports the missing ']' as a syntax error */
    for (const char *p = close + 1; p < line + len; p++) {
        if (*p == ';' || *p == '#')
            break;
        if (!isspace((unsigned char)*p)) {
            fail_at(st, st->lineno, "unexpected text after section header");
            return;
        }
    }
    n = (size_t)(close - line - 1);
    if (n >= sizeof name) {
        fail_at(st, st->lineno, "section name too long");
        return;
    }
    memcpy(name, line + 1, n);
    name[n] = '\0';
    if (strcmp(name, "scenario") != 0 && strcmp(name, "service") != 0 && strcmp(name, "load") != 0 &&
        strcmp(name, "gate") != 0 && strcmp(name, "expect") != 0 &&
        !(strncmp(name, "phase.", 6) == 0 && valid_word(name + 6, "_-"))) {
        fail_at(st, st->lineno,
                "unknown section [%s] (known: scenario, service, load, phase.NAME, gate, expect)", name);
        return;
    }
    for (size_t i = 0; i < st->nsections; i++)
        if (strcmp(st->sections[i].name, name) == 0) {
            fail_at(st, st->lineno, "section [%s] given twice (first at line %d)", name,
                    st->sections[i].line);
            return;
        }
    if (st->nsections >= MAX_SECTIONS) {
        fail_at(st, st->lineno, "more than %d sections", MAX_SECTIONS);
        return;
    }
    snprintf(st->sections[st->nsections].name, sizeof st->sections[0].name, "%s", name);
    st->sections[st->nsections].line = st->lineno;
    st->nsections++;
    snprintf(st->section, sizeof st->section, "%s", name);
}

/* Encodes '=', ':' and ';' between the braces of a "metric.NAME{...}" key. */
static void reader_encode_selector(struct parse_state *st, char *line)
{
    char *p = strchr(line, '{'), *eq = strpbrk(line, "=:");
    bool quoted = false;

    if (!p || (eq && eq < p))
        return;
    for (p++; *p; p++) {
        if (quoted && *p == '\\' && p[1]) {
            p++;
        } else if (*p == '"') {
            quoted = !quoted;
        } else if (!quoted && *p == '}') {
            return;
        }
        if (strchr(encode_from, *p))
            *p = encode_to[strchr(encode_from, *p) - encode_from];
    }
    fail_at(st, st->lineno, "unterminated '{' in gate name");
}

/* The ini_reader: hands inih one line at a time, checking it first. */
static char *reader(char *str, int num, void *stream)
{
    struct parse_state *st = stream;
    const char *line, *nl;
    size_t len, lead = 0;

    if (st->pos >= st->len)
        return NULL;
    line = st->text + st->pos;
    nl = memchr(line, '\n', st->len - st->pos);
    len = nl ? (size_t)(nl - line) : st->len - st->pos;
    st->pos += len + (nl ? 1 : 0);
    st->lineno++;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > SCENARIO_MAX_LINE || len + 2 > (size_t)num) {
        fail_at(st, st->lineno, "line longer than %d characters", SCENARIO_MAX_LINE);
        snprintf(str, (size_t)num, "\n");
        return str;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 && line[i] != '\t') {
            fail_at(st, st->lineno, "control character in line");
            snprintf(str, (size_t)num, "\n");
            return str;
        }
    memcpy(str, line, len);
    str[len] = '\n';
    str[len + 1] = '\0';
    while (lead < len && isspace((unsigned char)line[lead]))
        lead++;
    if (lead == len || line[lead] == ';' || line[lead] == '#')
        return str;
    if (lead > 0) {
        fail_at(st, st->lineno, "line starts with blanks (continuation lines are not supported)");
        snprintf(str, (size_t)num, "\n");
        return str;
    }
    if (line[0] == '[')
        reader_section(st, line, len);
    else if (strcmp(st->section, "gate") == 0 && len >= 7 && memcmp(line, "metric.", 7) == 0)
        reader_encode_selector(st, str);  /* line is not NUL-terminated; str is */
    return str;
}

static void decode_key(const char *key, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *key && n + 1 < outlen; key++) {
        const char *enc = *key ? strchr(encode_to, *key) : NULL;
        out[n++] = enc ? encode_from[enc - encode_to] : *key;
    }
    out[n] = '\0';
}

static int copy_text(struct parse_state *st, char *dst, size_t dstlen, const char *value,
                     const char *key)
{
    if (strlen(value) >= dstlen)
        return fail_at(st, st->lineno, "%s longer than %zu characters", key, dstlen - 1);
    memcpy(dst, value, strlen(value) + 1);
    return 0;
}

static int parse_duration(struct parse_state *st, const char *value, int64_t *out,
                          bool whole_seconds, const char *key)
{
    char err[200];
    if (units_parse_duration(value, out, err, sizeof err) < 0)
        return fail_at(st, st->lineno, "%s: %s", key, err);
    if (*out == UNITS_DURATION_INF)
        return fail_at(st, st->lineno, "%s cannot be inf", key);
    if (*out > SCENARIO_MAX_DURATION_NS)
        return fail_at(st, st->lineno, "%s = %s is longer than %s, the longest a scenario may run", key, value,
                       SCENARIO_MAX_DURATION_TEXT);
    if (whole_seconds && *out % 1000000000 != 0)
        return fail_at(st, st->lineno, "%s must be whole seconds (wrk runs in seconds), not '%s'", key, value);
    return 0;
}

static int parse_count(struct parse_state *st, const char *value, uint64_t min, uint64_t max,
                       unsigned *out, const char *key)
{
    char err[200];
    uint64_t v;
    if (units_parse_uint(value, max, &v, err, sizeof err) < 0)
        return fail_at(st, st->lineno, "%s: %s", key, err);
    if (v < min)
        return fail_at(st, st->lineno, "%s must be at least %llu", key, (unsigned long long)min);
    *out = (unsigned)v;
    return 0;
}

/* "name=term" for one fault. */
static int parse_fault(struct parse_state *st, const char *text, size_t len, struct scenario_fault *out)
{
    const char *eq;
    size_t namelen, termlen;

    while (len > 0 && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    eq = memchr(text, '=', len);
    if (!eq)
        return fail_at(st, st->lineno, "fault '%.*s' must read NAME=TERM (e.g. lock.cache=on(200us))", (int)len, text);
    namelen = (size_t)(eq - text);
    termlen = len - namelen - 1;
    if (namelen == 0 || namelen >= sizeof out->name || termlen == 0 || termlen >= sizeof out->term)
        return fail_at(st, st->lineno, "fault '%.*s' must read NAME=TERM", (int)len, text);
    memcpy(out->name, text, namelen);
    out->name[namelen] = '\0';
    memcpy(out->term, eq + 1, termlen);
    out->term[termlen] = '\0';
    if (!valid_word(out->name, "._-"))
        return fail_at(st, st->lineno, "bad fault name '%s'", out->name);
    for (const char *c = out->term; *c; c++)
        if (isspace((unsigned char)*c) || *c == '/' || *c == '?' || *c == '#')
            return fail_at(st, st->lineno, "bad fault term '%s'", out->term);
    return 0;
}

static int check_url(struct parse_state *st, const char *value, const char *key)
{
    if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
        return fail_at(st, st->lineno, "%s must be an http:// or https:// URL", key);
    return 0;
}

/* `cpu = LIST`: pins a spawned process, as taskset -c LIST would. */
static int parse_cpus(struct parse_state *st, const char *value, char *text, size_t textlen, cpu_set_t *set)
{
    char err[300];
    if (childproc_parse_cpus(value, set, err, sizeof err) < 0)
        return fail_at(st, st->lineno, "cpu: %s", err);
    return copy_text(st, text, textlen, value, "cpu");
}

static int unknown_key(struct parse_state *st, const char *section, const char *key, const char *known)
{
    return fail_at(st, st->lineno, "unknown key '%s' in [%s] (known: %s)", key, section, known);
}

static int on_scenario(struct parse_state *st, const char *key, const char *value)
{
    struct scenario *sc = st->sc;
    if (strcmp(key, "name") == 0) {
        if (!valid_word(value, "._-") || strlen(value) >= sizeof sc->name)
            return fail_at(st, st->lineno, "name must be letters, digits, '.', '_' or '-' (at most %zu)", sizeof sc->name - 1);
        return copy_text(st, sc->name, sizeof sc->name, value, key);
    }
    if (strcmp(key, "description") == 0)
        return copy_text(st, sc->description, sizeof sc->description, value, key);
    if (strcmp(key, "duration") == 0) {
        st->duration_line = st->lineno;
        if (parse_duration(st, value, &sc->duration_ns, true, key) < 0)
            return -1;
        if (sc->duration_ns < 1000000000)
            return fail_at(st, st->lineno, "duration must be at least 1s");
        return 0;
    }
    if (strcmp(key, "warmup") == 0)
        return parse_duration(st, value, &sc->warmup_ns, true, key);
    if (strcmp(key, "sample_interval") == 0) {
        st->sample_interval_line = st->lineno;
        if (parse_duration(st, value, &sc->sample_interval_ns, false, key) < 0)
            return -1;
        if (sc->sample_interval_ns < 10000000)
            return fail_at(st, st->lineno, "sample_interval must be at least 10ms");
        return 0;
    }
    return unknown_key(st, "scenario", key, "name, description, duration, warmup, sample_interval");
}

static int on_service(struct parse_state *st, const char *key, const char *value)
{
    struct scenario *sc = st->sc;
    char err[300];

    if (strcmp(key, "command") == 0) {
        struct cmdline *cl = cmdline_parse(value, err, sizeof err);
        if (!cl)
            return fail_at(st, st->lineno, "%s", err);
        cmdline_free(cl);
        sc->command_line = st->lineno;
        return copy_text(st, sc->command, sizeof sc->command, value, key);
    }
    if (strcmp(key, "url") == 0) {
        st->url_line = st->lineno;
        if (check_url(st, value, key) < 0)
            return -1;
        return copy_text(st, sc->url, sizeof sc->url, value, key);
    }
    if (strcmp(key, "metrics") == 0 || strcmp(key, "ready") == 0) {
        if (check_url(st, value, key) < 0)
            return -1;
        return key[0] == 'm' ? copy_text(st, sc->metrics, sizeof sc->metrics, value, key)
                             : copy_text(st, sc->ready, sizeof sc->ready, value, key);
    }
    if (strcmp(key, "token_file") == 0)
        return copy_text(st, sc->token_file, sizeof sc->token_file, value, key);
    if (strcmp(key, "pid") == 0) {
        unsigned pid;
        if (parse_count(st, value, 1, INT32_MAX, &pid, key) < 0)
            return -1;
        sc->pid = (pid_t)pid;
        return 0;
    }
    if (strcmp(key, "ready_timeout") == 0)
        return parse_duration(st, value, &sc->ready_timeout_ns, false, key);
    if (strcmp(key, "requests_metric") == 0) {
        if (!promtext_valid_metric_name(value))
            return fail_at(st, st->lineno, "requests_metric '%s' is not a metric name", value);
        return copy_text(st, sc->requests_metric, sizeof sc->requests_metric, value, key);
    }
    if (strcmp(key, "fault") == 0) {
        const char *p = value;
        st->fault_line = st->lineno;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (sc->nfaults >= SCENARIO_MAX_FAULTS)
                return fail_at(st, st->lineno, "more than %d faults", SCENARIO_MAX_FAULTS);
            if (parse_fault(st, p, len, &sc->faults[sc->nfaults]) < 0)
                return -1;
            for (size_t i = 0; i < sc->nfaults; i++)
                if (strcmp(sc->faults[i].name, sc->faults[sc->nfaults].name) == 0)
                    return fail_at(st, st->lineno, "fault %s given twice", sc->faults[i].name);
            sc->nfaults++;
            if (!comma)
                return 0;
            p = comma + 1;
        }
    }
    if (strcmp(key, "cpu") == 0) {
        st->service_cpu_line = st->lineno;
        return parse_cpus(st, value, sc->service_cpu_list, sizeof sc->service_cpu_list, &sc->service_cpus);
    }
    return unknown_key(st, "service", key,
                       "command, url, metrics, ready, token_file, pid, ready_timeout, requests_metric, fault, cpu");
}

/* A script path as written, else relative to the scenario file's folder; made absolute
 * because wrk loads it from its own working directory. */
static int resolve_script(struct parse_state *st, const char *value)
{
    char candidate[PATH_MAX], dir[PATH_MAX], resolved[PATH_MAX];

    snprintf(candidate, sizeof candidate, "%s", value);
    if (value[0] != '/' && access(candidate, R_OK) != 0) {
        snprintf(dir, sizeof dir, "%s", st->file);
        if ((size_t)snprintf(candidate, sizeof candidate, "%s/%s", dirname(dir), value) >= sizeof candidate)
            return fail_at(st, st->lineno, "script path too long");
    }
    if (access(candidate, R_OK) != 0 || !realpath(candidate, resolved))
        return fail_at(st, st->lineno, "script '%s' not found (looked in the current folder and beside the scenario)", value);
    return copy_text(st, st->sc->script, sizeof st->sc->script, resolved, "script");
}

static int on_load(struct parse_state *st, const char *key, const char *value)
{
    struct scenario *sc = st->sc;

    if (strcmp(key, "connections") == 0) {
        st->connections_line = st->lineno;
        return parse_count(st, value, 1, 10000, &sc->connections, key);
    }
    if (strcmp(key, "threads") == 0)
        return parse_count(st, value, 1, 64, &sc->threads, key);
    if (strcmp(key, "script") == 0)
        return resolve_script(st, value);
    if (strcmp(key, "path") == 0) {
        if (value[0] != '/')
            return fail_at(st, st->lineno, "path must start with '/'");
        for (const char *c = value; *c; c++)
            if (isspace((unsigned char)*c))
                return fail_at(st, st->lineno, "path must not contain blanks");
        return copy_text(st, sc->path, sizeof sc->path, value, key);
    }
    if (strcmp(key, "method") == 0) {
        static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"};
        for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
            if (strcmp(value, methods[i]) == 0)
                return copy_text(st, sc->method, sizeof sc->method, value, key);
        return fail_at(st, st->lineno, "method must be GET, POST, PUT, DELETE, PATCH or HEAD");
    }
    if (strcmp(key, "body") == 0)
        return copy_text(st, sc->body, sizeof sc->body, value, key);
    if (strcmp(key, "content_type") == 0)
        return copy_text(st, sc->content_type, sizeof sc->content_type, value, key);
    if (strcmp(key, "timeout") == 0) {
        if (parse_duration(st, value, &sc->timeout_ns, true, key) < 0)
            return -1;
        if (sc->timeout_ns < 1000000000)
            return fail_at(st, st->lineno, "timeout must be at least 1s");
        return 0;
    }
    if (strcmp(key, "cpu") == 0)
        return parse_cpus(st, value, sc->load_cpu_list, sizeof sc->load_cpu_list, &sc->load_cpus);
    return unknown_key(st, "load", key, "connections, threads, script, path, method, body, content_type, timeout, cpu");
}

static int on_phase(struct parse_state *st, const char *section, const char *key, const char *value)
{
    struct scenario *sc = st->sc;
    size_t i;

    for (i = 0; i < sc->nphases; i++)
        if (strcmp(sc->phases[i].name, section + 6) == 0)
            break;
    if (i == sc->nphases) {
        if (sc->nphases >= SCENARIO_MAX_PHASES)
            return fail_at(st, st->lineno, "more than %d phases", SCENARIO_MAX_PHASES);
        if (copy_text(st, sc->phases[i].name, sizeof sc->phases[i].name, section + 6, "phase name") < 0)
            return -1;
        sc->phases[i].at_ns = -1;
        sc->phases[i].until_ns = -1;
        for (size_t s = 0; s < st->nsections; s++)
            if (strcmp(st->sections[s].name, section) == 0)
                sc->phases[i].line = st->sections[s].line;
        sc->nphases++;
    }
    if (strcmp(key, "at") == 0) {
        st->phase_at_line[i] = st->lineno;
        return parse_duration(st, value, &sc->phases[i].at_ns, false, key);
    }
    if (strcmp(key, "until") == 0) {
        st->phase_until_line[i] = st->lineno;
        return parse_duration(st, value, &sc->phases[i].until_ns, false, key);
    }
    if (strcmp(key, "fault") == 0) {
        st->phase_fault_line[i] = st->lineno;
        if (strchr(value, ','))
            return fail_at(st, st->lineno, "a phase sets one fault; use one [phase.NAME] per fault");
        return parse_fault(st, value, strlen(value), &sc->phases[i].fault);
    }
    return unknown_key(st, section, key, "at, until, fault");
}

static int on_gate(struct parse_state *st, const char *key, const char *value)
{
    struct scenario *sc = st->sc;
    bool regression = strncmp(key, "regression.", 11) == 0;
    struct gate_spec *gates = regression ? sc->regressions : sc->gates;
    size_t *n = regression ? &sc->nregressions : &sc->ngates;
    char err[600];

    if (*n >= SCENARIO_MAX_GATES)
        return fail_at(st, st->lineno, "more than %d gates", SCENARIO_MAX_GATES);
    if (gate_parse(key, value, &gates[*n], err, sizeof err) < 0)
        return fail_at(st, st->lineno, "%s", err);
    for (size_t i = 0; i < *n; i++)
        if (strcmp(gates[i].name, gates[*n].name) == 0)
            return fail_at(st, st->lineno, "gate %s given twice", gates[i].name);
    (*n)++;
    return 0;
}

static int on_expect(struct parse_state *st, const char *key, const char *value)
{
    if (strcmp(key, "fail") == 0) {
        st->expect_line = st->lineno;
        return copy_text(st, st->expect, sizeof st->expect, value, key);
    }
    if (strcmp(key, "fault") == 0 || strcmp(key, "culprit") == 0)
        return fail_at(st, st->lineno, "[expect] %s is not supported yet (only fail = GATE, ...)", key);
    return unknown_key(st, "expect", key, "fail");
}

static int handler(void *user, const char *section, const char *rawkey, const char *value)
{
    struct parse_state *st = user;
    char key[GATE_MAX_NAME];

    if (st->failed)
        return 1;  /* the first error is the one reported; let inih finish quietly */
    decode_key(rawkey, key, sizeof key);
    if (!*section) {
        fail_at(st, st->lineno, "key '%s' before any [section]", key);
        return 1;
    }
    for (size_t i = 0; i < st->nkeys; i++)
        if (strcmp(st->keys[i].section, section) == 0 && strcmp(st->keys[i].key, key) == 0) {
            fail_at(st, st->lineno, "'%s' given twice in [%s] (first at line %d)", key, section,
                    st->keys[i].line);
            return 1;
        }
    if (st->nkeys >= MAX_KEYS) {
        fail_at(st, st->lineno, "more than %d keys", MAX_KEYS);
        return 1;
    }
    snprintf(st->keys[st->nkeys].section, sizeof st->keys[0].section, "%s", section);
    snprintf(st->keys[st->nkeys].key, sizeof st->keys[0].key, "%s", key);
    st->keys[st->nkeys].line = st->lineno;
    st->nkeys++;
    if (!*value && strcmp(section, "expect") != 0) {
        fail_at(st, st->lineno, "'%s' has no value", key);
        return 1;
    }
    if (strcmp(section, "scenario") == 0)
        on_scenario(st, key, value);
    else if (strcmp(section, "service") == 0)
        on_service(st, key, value);
    else if (strcmp(section, "load") == 0)
        on_load(st, key, value);
    else if (strncmp(section, "phase.", 6) == 0)
        on_phase(st, section, key, value);
    else if (strcmp(section, "gate") == 0)
        on_gate(st, key, value);
    else if (strcmp(section, "expect") == 0)
        on_expect(st, key, value);
    return 1;
}

/* Splits the [expect] list on commas outside {...} and marks each gate. */
static int resolve_expect(struct parse_state *st)
{
    struct scenario *sc = st->sc;
    const char *p = st->expect;
    char err[600], raw[GATE_MAX_NAME], name[GATE_MAX_NAME];

    while (*p) {
        size_t n = 0;
        int depth = 0;
        bool quoted = false;
        size_t i;

        while (isspace((unsigned char)*p))
            p++;
        for (; *p && (depth > 0 || quoted || *p != ','); p++) {
            if (quoted && *p == '\\' && p[1]) {
                if (n + 2 < sizeof raw) {
                    raw[n++] = *p;
                    raw[n++] = p[1];
                }
                p++;
                continue;
            }
            if (*p == '"')
                quoted = !quoted;
            else if (!quoted && *p == '{')
                depth++;
            else if (!quoted && *p == '}')
                depth--;
            if (n + 1 < sizeof raw)
                raw[n++] = *p;
        }
        while (n > 0 && isspace((unsigned char)raw[n - 1]))
            n--;
        raw[n] = '\0';
        if (*p == ',')
            p++;
        if (n == 0)
            return fail_at(st, st->expect_line, "empty gate name in fail list");
        if (gate_canonical_name(raw, name, sizeof name, err, sizeof err) < 0)
            return fail_at(st, st->expect_line, "[expect] fail: %s", err);
        if (strncmp(name, "regression.", 11) == 0)
            return fail_at(st, st->expect_line, "[expect] fail names %s: a regression is a change between "
                           "two builds, not something a scenario can expect of one", name);
        for (i = 0; i < sc->ngates; i++)
            if (strcmp(sc->gates[i].name, name) == 0)
                break;
        if (i == sc->ngates)
            return fail_at(st, st->expect_line, "[expect] fail names gate %s, which [gate] does not define", name);
        if (sc->expected_to_fail[i])
            return fail_at(st, st->expect_line, "[expect] fail names gate %s twice", name);
        sc->expected_to_fail[i] = true;
    }
    return 0;
}

static int finish(struct parse_state *st)
{
    struct scenario *sc = st->sc;
    int64_t load_ns = scenario_load_ns(sc);

    if (!sc->duration_ns)
        return fail_at(st, 0, "[scenario] duration is required");
    if (sc->sample_interval_ns > sc->duration_ns)
        return fail_at(st, st->sample_interval_line, "sample_interval is longer than duration");
    if (!sc->command[0] && !sc->url[0])
        return fail_at(st, 0, "[service] needs command (to spawn the service) or url (to use a running one)");
    if (sc->command[0] && sc->pid)
        return fail_at(st, sc->command_line, "pid is for a service given by url; a spawned service's pid is known");
    if (!sc->command[0] && sc->service_cpu_list[0])
        return fail_at(st, st->service_cpu_line, "cpu pins a service loadlab spawns; this one is given by url");
    if (sc->url[0] && !sc->command[0] && (strstr(sc->url, "{port}") || strstr(sc->metrics, "{debug_port}")))
        return fail_at(st, st->url_line, "{port} and {debug_port} only make sense with a command");
    for (size_t s = 0; s < st->nsections; s++) {
        bool found = false;
        if (strncmp(st->sections[s].name, "phase.", 6) != 0)
            continue;
        for (size_t i = 0; i < sc->nphases && !found; i++)
            found = strcmp(sc->phases[i].name, st->sections[s].name + 6) == 0;
        if (!found)
            return fail_at(st, st->sections[s].line, "[%s] needs at and fault", st->sections[s].name);
    }
    if (sc->connections < sc->threads)
        return fail_at(st, st->connections_line, "connections (%u) must be at least threads (%u)",
                       sc->connections, sc->threads);
    if (sc->body[0] && strcmp(sc->method, "GET") == 0 && !sc->script[0])
        return fail_at(st, 0, "[load] body needs a method such as POST");
    if (sc->url[0] && !sc->metrics[0] && !strstr(sc->command, "{debug_port}") && (sc->nfaults || sc->nphases))
        return fail_at(st, st->fault_line ? st->fault_line : sc->phases[0].line,
                       "faults are set through the debug API beside /metrics: [service] metrics is needed");
    for (size_t i = 0; i < sc->nphases; i++) {
        struct scenario_phase *ph = &sc->phases[i];
        if (ph->at_ns < 0)
            return fail_at(st, ph->line, "[phase.%s] needs at", ph->name);
        if (!ph->fault.name[0])
            return fail_at(st, ph->line, "[phase.%s] needs fault", ph->name);
        if (ph->at_ns >= load_ns)
            return fail_at(st, st->phase_at_line[i], "at is not before the end of the load (warmup + duration)");
        if (ph->until_ns >= 0 && ph->until_ns <= ph->at_ns)
            return fail_at(st, st->phase_until_line[i], "until must be later than at");
        if (ph->until_ns > load_ns)
            return fail_at(st, st->phase_until_line[i], "until is after the end of the load (warmup + duration)");
        if (ph->until_ns >= 0 && strcmp(ph->fault.term, "off") == 0)
            return fail_at(st, st->phase_until_line[i], "a phase that turns a fault off has no until");
    }
    return resolve_expect(st);
}

static void set_defaults(struct scenario *sc, const char *file)
{
    char copy[SCENARIO_MAX_TEXT], *base, *dot;

    snprintf(sc->file, sizeof sc->file, "%s", file);
    snprintf(copy, sizeof copy, "%s", file);
    base = basename(copy);
    dot = strrchr(base, '.');
    if (dot && strcmp(dot, ".ini") == 0)
        *dot = '\0';
    snprintf(sc->name, sizeof sc->name, "%s", base);
    sc->sample_interval_ns = 250000000;
    sc->ready_timeout_ns = 10000000000LL;
    sc->connections = 8;
    sc->threads = 1;
    snprintf(sc->path, sizeof sc->path, "/");
    snprintf(sc->method, sizeof sc->method, "GET");
    sc->timeout_ns = 2000000000LL;
    snprintf(sc->requests_metric, sizeof sc->requests_metric, "orderd_http_requests_total");
}

struct scenario *scenario_parse(const char *text, size_t len, const char *file,
                                char *err, size_t errlen)
{
    struct parse_state *st = calloc(1, sizeof *st);
    struct scenario *sc = calloc(1, sizeof *sc);
    int rc;

    if (!st || !sc) {
        snprintf(err, errlen, "%s: out of memory", file);
        goto fail;
    }
    set_defaults(sc, file);
    st->sc = sc;
    st->file = file;
    st->text = text;
    st->len = len;
    st->err = err;
    st->errlen = errlen;
    if (memchr(text, '\0', len)) {
        fail_at(st, 0, "contains a NUL byte; not a scenario file");
        goto fail;
    }
    rc = ini_parse_stream(reader, st, handler, st);
    if (st->failed)
        goto fail;
    if (rc != 0) {
        fail_at(st, rc, "syntax error: expected 'key = value' or '[section]'");
        goto fail;
    }
    if (finish(st) < 0)
        goto fail;
    if (sc->body[0] && !sc->content_type[0])
        snprintf(sc->content_type, sizeof sc->content_type, "application/json");
    free(st);
    return sc;
fail:
    free(st);
    scenario_free(sc);
    return NULL;
}

struct scenario *scenario_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len;
    struct scenario *sc = NULL;

    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(SCENARIO_MAX_FILE + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    len = fread(buf, 1, SCENARIO_MAX_FILE + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        goto done;
    }
    if (len > SCENARIO_MAX_FILE) {
        snprintf(err, errlen, "%s: larger than %d bytes; not a scenario file", path, SCENARIO_MAX_FILE);
        goto done;
    }
    buf[len] = '\0';  /* the parser never needs it, but a reader past the end finds it */
    sc = scenario_parse(buf, len, path, err, errlen);
done:
    free(buf);
    fclose(f);
    return sc;
}

void scenario_free(struct scenario *sc)
{
    free(sc);
}

int64_t scenario_load_ns(const struct scenario *sc)
{
    return sc->warmup_ns + sc->duration_ns;
}

static json_t *fault_json(const struct scenario_fault *f)
{
    return json_pack("{s:s, s:s}", "name", f->name, "term", f->term);
}

char *scenario_params_json(const struct scenario *sc)
{
    json_t *root, *faults, *phases, *gates;
    char *text = NULL;

    root = json_pack("{s:s, s:s, s:s, s:f, s:f, s:f}",
                     "file", sc->file, "name", sc->name, "description", sc->description,
                     "duration_s", sc->duration_ns / 1e9, "warmup_s", sc->warmup_ns / 1e9,
                     "sample_interval_s", sc->sample_interval_ns / 1e9);
    faults = json_array();
    phases = json_array();
    gates = json_array();
    if (!root || !faults || !phases || !gates)
        goto done;
    for (size_t i = 0; i < sc->nfaults; i++)
        json_array_append_new(faults, fault_json(&sc->faults[i]));
    for (size_t i = 0; i < sc->nphases; i++) {
        const struct scenario_phase *ph = &sc->phases[i];
        json_t *p = json_pack("{s:s, s:f, s:o}", "name", ph->name, "at_s", ph->at_ns / 1e9,
                              "fault", fault_json(&ph->fault));
        if (p && ph->until_ns >= 0)
            json_object_set_new(p, "until_s", json_real(ph->until_ns / 1e9));
        json_array_append_new(phases, p);
    }
    for (size_t i = 0; i < sc->ngates; i++)
        json_array_append_new(gates, json_pack("{s:s, s:s, s:f, s:b}", "name", sc->gates[i].name,
                                               "threshold", sc->gates[i].threshold_text,
                                               "threshold_base", sc->gates[i].threshold,
                                               "expected_to_fail", sc->expected_to_fail[i]));
    /* regression gates are listed with the rest: `loadlab compare` reads them back */
    for (size_t i = 0; i < sc->nregressions; i++)
        json_array_append_new(gates, json_pack("{s:s, s:s, s:f, s:b}", "name", sc->regressions[i].name,
                                               "threshold", sc->regressions[i].threshold_text,
                                               "threshold_base", sc->regressions[i].threshold,
                                               "expected_to_fail", 0));
    json_object_set_new(root, "service",
                        json_pack("{s:s, s:s, s:s, s:s, s:i, s:O, s:s}", "command", sc->command,
                                  "url", sc->url, "metrics", sc->metrics, "ready", sc->ready,
                                  "pid", (int)sc->pid, "faults", faults, "cpu", sc->service_cpu_list));
    json_object_set_new(root, "load",
                        json_pack("{s:i, s:i, s:s, s:s, s:s, s:s, s:f, s:s}",
                                  "connections", (int)sc->connections, "threads", (int)sc->threads,
                                  "script", sc->script, "path", sc->path, "method", sc->method,
                                  "body", sc->body, "timeout_s", sc->timeout_ns / 1e9,
                                  "cpu", sc->load_cpu_list));
    json_object_set(root, "phases", phases);
    json_object_set(root, "gates", gates);
    text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
done:
    json_decref(root);
    json_decref(faults);
    json_decref(phases);
    json_decref(gates);
    return text;
}
