/* scenario: INI scenario files through libinih, with line numbers. See scenario.h.
 *
 * This file reads the file line by line, checks what spans keys (duplicates, required
 * keys, the phases, [expect]) and owns the public API; what each key may hold is in
 * scenario_keys.c, the settings' JSON in scenario_json.c. */
#include "run/scenario.h"
#include "metric_names.h"
#include "run/scenario_open.h"
#include "run/scenario_parse.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cmdline.h"
#include "units.h"

/* Characters that would end an INI key early, swapped out inside a metric gate's
 * {labels} before inih sees the line and swapped back in the handler. */
static const char encode_from[] = "=:;";
static const char encode_to[] = "\x01\x02\x03";

int scenario_fail_at(struct scenario_parse *st, int line, const char *fmt, ...)
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

bool scenario_valid_word(const char *s, const char *extra)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
            return false;
    return true;
}

/* Checks a section header line ("[name]" plus an optional comment) and notes it. */
static void reader_section(struct scenario_parse *st, const char *line, size_t len)
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
            scenario_fail_at(st, st->lineno, "unexpected text after section header");
            return;
        }
    }
    n = (size_t)(close - line - 1);
    if (n >= sizeof name) {
        scenario_fail_at(st, st->lineno, "section name too long");
        return;
    }
    memcpy(name, line + 1, n);
    name[n] = '\0';
    if (strcmp(name, "scenario") != 0 && strcmp(name, "service") != 0 && strcmp(name, "load") != 0 &&
        strcmp(name, "gate") != 0 && strcmp(name, "expect") != 0 &&
        !(strncmp(name, "phase.", 6) == 0 && scenario_valid_word(name + 6, "_-"))) {
        scenario_fail_at(st, st->lineno,
                "unknown section [%s] (known: scenario, service, load, phase.NAME, gate, expect)", name);
        return;
    }
    for (size_t i = 0; i < st->nsections; i++)
        if (strcmp(st->sections[i].name, name) == 0) {
            scenario_fail_at(st, st->lineno, "section [%s] given twice (first at line %d)", name,
                    st->sections[i].line);
            return;
        }
    if (st->nsections >= SCENARIO_MAX_SECTIONS) {
        scenario_fail_at(st, st->lineno, "more than %d sections", SCENARIO_MAX_SECTIONS);
        return;
    }
    snprintf(st->sections[st->nsections].name, sizeof st->sections[0].name, "%s", name);
    st->sections[st->nsections].line = st->lineno;
    st->nsections++;
    snprintf(st->section, sizeof st->section, "%s", name);
}

/* Encodes '=', ':' and ';' between the braces of a "metric.NAME{...}" key. */
static void reader_encode_selector(struct scenario_parse *st, char *line)
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
    scenario_fail_at(st, st->lineno, "unterminated '{' in gate name");
}

/* The ini_reader: hands inih one line at a time, checking it first. */
static char *reader(char *str, int num, void *stream)
{
    struct scenario_parse *st = stream;
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
        scenario_fail_at(st, st->lineno, "line longer than %d characters", SCENARIO_MAX_LINE);
        snprintf(str, (size_t)num, "\n");
        return str;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 && line[i] != '\t') {
            scenario_fail_at(st, st->lineno, "control character in line");
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
        scenario_fail_at(st, st->lineno, "line starts with blanks (continuation lines are not supported)");
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

static int handler(void *user, const char *section, const char *rawkey, const char *value)
{
    struct scenario_parse *st = user;
    char key[GATE_MAX_NAME];

    if (st->failed)
        return 1;  /* the first error is the one reported; let inih finish quietly */
    decode_key(rawkey, key, sizeof key);
    if (!*section) {
        scenario_fail_at(st, st->lineno, "key '%s' before any [section]", key);
        return 1;
    }
    for (size_t i = 0; i < st->nkeys; i++)
        if (strcmp(st->keys[i].section, section) == 0 && strcmp(st->keys[i].key, key) == 0) {
            scenario_fail_at(st, st->lineno, "'%s' given twice in [%s] (first at line %d)", key, section,
                    st->keys[i].line);
            return 1;
        }
    if (st->nkeys >= SCENARIO_MAX_KEYS) {
        scenario_fail_at(st, st->lineno, "more than %d keys", SCENARIO_MAX_KEYS);
        return 1;
    }
    snprintf(st->keys[st->nkeys].section, sizeof st->keys[0].section, "%s", section);
    snprintf(st->keys[st->nkeys].key, sizeof st->keys[0].key, "%s", key);
    st->keys[st->nkeys].line = st->lineno;
    st->nkeys++;
    if (!*value && strcmp(section, "expect") != 0) {
        scenario_fail_at(st, st->lineno, "'%s' has no value", key);
        return 1;
    }
    scenario_on_key(st, section, key, value);
    return 1;
}

/* Splits the [expect] list on commas outside {...} and marks each gate. */
static int resolve_expect(struct scenario_parse *st)
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
            return scenario_fail_at(st, st->expect_line, "empty gate name in fail list");
        if (gate_canonical_name(raw, name, sizeof name, err, sizeof err) < 0)
            return scenario_fail_at(st, st->expect_line, "[expect] fail: %s", err);
        if (strncmp(name, "regression.", 11) == 0)
            return scenario_fail_at(st, st->expect_line, "[expect] fail names %s: a regression is a change between "
                           "two builds, not something a scenario can expect of one", name);
        for (i = 0; i < sc->ngates; i++)
            if (strcmp(sc->gates[i].name, name) == 0)
                break;
        if (i == sc->ngates)
            return scenario_fail_at(st, st->expect_line, "[expect] fail names gate %s, which [gate] does not define", name);
        if (sc->expected_to_fail[i])
            return scenario_fail_at(st, st->expect_line, "[expect] fail names gate %s twice", name);
        sc->expected_to_fail[i] = true;
    }
    return 0;
}

/* [load] requests: the cost measurement replaces wrk, so what only wrk gives is refused,
 * and instructions_per_request is only measured with it. */
static int check_cost(struct scenario_parse *st)
{
    struct scenario *sc = st->sc;
    bool wants = false;

    for (size_t i = 0; i < sc->ngates; i++)
        wants |= sc->gates[i].kind == GATE_INSTRUCTIONS_PER_REQUEST;
    for (size_t i = 0; i < sc->nregressions; i++)
        wants |= sc->regressions[i].kind == GATE_INSTRUCTIONS_PER_REQUEST;
    if (!sc->requests) {
        if (wants)
            return scenario_fail_at(st, 0, "gate instructions_per_request needs [load] requests = N (the "
                                    "measured requests whose instructions are counted)");
        return 0;
    }
    if (!sc->command[0])
        return scenario_fail_at(st, sc->requests_line, "requests counts the instructions of a service loadlab "
                                "spawns: [service] command is needed");
    if (sc->script[0])
        return scenario_fail_at(st, sc->requests_line, "requests sends [load] path itself; a wrk script is not used");
    if (sc->nphases)
        return scenario_fail_at(st, sc->phases[0].line, "phases switch faults during wrk's load; with [load] "
                                "requests set faults with [service] fault");
    if (sc->warmup_ns)
        return scenario_fail_at(st, sc->requests_line, "with requests the warmup is [load] warmup_requests, "
                                "not [scenario] warmup");
    for (size_t i = 0; i < sc->ngates; i++)
        if (sc->gates[i].kind <= GATE_P999_LATENCY || sc->gates[i].kind == GATE_CPU_PER_REQUEST)
            return scenario_fail_at(st, sc->requests_line, "gate %s needs wrk's load, which requests replaces",
                                    sc->gates[i].name);
    return 0;
}

static int finish(struct scenario_parse *st)
{
    struct scenario *sc = st->sc;
    int64_t load_ns = scenario_load_ns(sc);

    if (!sc->duration_ns)
        return scenario_fail_at(st, 0, "[scenario] duration is required");
    if (sc->sample_interval_ns > sc->duration_ns)
        return scenario_fail_at(st, st->sample_interval_line, "sample_interval is longer than duration");
    if (!sc->command[0] && !sc->url[0])
        return scenario_fail_at(st, 0, "[service] needs command (to spawn the service) or url (to use a running one)");
    if (sc->command[0] && sc->pid)
        return scenario_fail_at(st, sc->command_line, "pid is for a service given by url; a spawned service's pid is known");
    if (!sc->command[0] && sc->service_cpu_list[0])
        return scenario_fail_at(st, st->service_cpu_line, "cpu pins a service loadlab spawns; this one is given by url");
    if (sc->url[0] && !sc->command[0] && (strstr(sc->url, "{port}") || strstr(sc->metrics, "{debug_port}")))
        return scenario_fail_at(st, st->url_line, "{port} and {debug_port} only make sense with a command");
    if (sc->ntargets && sc->command[0])
        return scenario_fail_at(st, st->url_line, "a list of urls names running replicas; it cannot go with command");
    if (sc->ntargets && sc->connections < sc->ntargets)
        return scenario_fail_at(st, st->connections_line ? st->connections_line : st->url_line,
                       "connections (%u) must be at least the number of urls (%zu): each gets its own wrk",
                       sc->connections, sc->ntargets);
    if (sc->prometheus[0] && sc->command[0])
        return scenario_fail_at(st, st->prometheus_line,
                       "prometheus reads a fleet that is already running and scraped: use url, not command");
    if (sc->prometheus[0] && !sc->prometheus_selector[0])
        return scenario_fail_at(st, st->prometheus_line, "prometheus needs selector (e.g. {job=\"orderd\"})");
    if (!sc->prometheus[0] && (sc->prometheus_selector[0] || sc->prometheus_token_file[0]))
        return scenario_fail_at(st, st->selector_line, "selector and prometheus_token_file need prometheus");
    if (sc->prometheus[0] && sc->metrics[0])
        return scenario_fail_at(st, st->prometheus_line, "give metrics (scraped directly) or prometheus, not both");
    for (size_t s = 0; s < st->nsections; s++) {
        bool found = false;
        if (strncmp(st->sections[s].name, "phase.", 6) != 0)
            continue;
        for (size_t i = 0; i < sc->nphases && !found; i++)
            found = strcmp(sc->phases[i].name, st->sections[s].name + 6) == 0;
        if (!found)
            return scenario_fail_at(st, st->sections[s].line, "[%s] needs at and fault", st->sections[s].name);
    }
    if (sc->connections < sc->threads)
        return scenario_fail_at(st, st->connections_line, "connections (%u) must be at least threads (%u)",
                       sc->connections, sc->threads);
    if (sc->body[0] && strcmp(sc->method, "GET") == 0 && !sc->script[0])
        return scenario_fail_at(st, 0, "[load] body needs a method such as POST");
    if (sc->url[0] && !sc->metrics[0] && !strstr(sc->command, "{debug_port}") && (sc->nfaults || sc->nphases))
        return scenario_fail_at(st, st->fault_line ? st->fault_line : sc->phases[0].line,
                       "faults are set through the debug API beside /metrics: [service] metrics is needed");
    for (size_t i = 0; i < sc->nphases; i++) {
        struct scenario_phase *ph = &sc->phases[i];
        if (ph->at_ns < 0)
            return scenario_fail_at(st, ph->line, "[phase.%s] needs at", ph->name);
        if (!ph->fault.name[0])
            return scenario_fail_at(st, ph->line, "[phase.%s] needs fault", ph->name);
        if (ph->at_ns >= load_ns)
            return scenario_fail_at(st, st->phase_at_line[i], "at is not before the end of the load (warmup + duration)");
        if (ph->until_ns >= 0 && ph->until_ns <= ph->at_ns)
            return scenario_fail_at(st, st->phase_until_line[i], "until must be later than at");
        if (ph->until_ns > load_ns)
            return scenario_fail_at(st, st->phase_until_line[i], "until is after the end of the load (warmup + duration)");
        if (ph->until_ns >= 0 && strcmp(ph->fault.term, "off") == 0)
            return scenario_fail_at(st, st->phase_until_line[i], "a phase that turns a fault off has no until");
    }
    if (check_cost(st) < 0 || scenario_open_check(st) < 0)
        return -1;
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
    sc->warmup_requests = 10;
    sc->counter_auto = true;
    snprintf(sc->requests_metric, sizeof sc->requests_metric, METRIC_ORDERD_HTTP_REQUESTS);
}

struct scenario *scenario_parse(const char *text, size_t len, const char *file,
                                char *err, size_t errlen)
{
    struct scenario_parse *st = calloc(1, sizeof *st);
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
        scenario_fail_at(st, 0, "contains a NUL byte; not a scenario file");
        goto fail;
    }
    rc = ini_parse_stream(reader, st, handler, st);
    if (st->failed)
        goto fail;
    if (rc != 0) {
        scenario_fail_at(st, rc, "syntax error: expected 'key = value' or '[section]'");
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
