/* proftext: the legacy text profile layouts. See proftext.h.
 *
 * The text is copied once and cut in place: frames point into the copy, so a profile
 * of thousands of frames costs three allocations that grow, not one per string. */
#include "diagnose/proftext.h"
#include "heapscale.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry_slot {
    struct proftext_entry e;
    size_t first_frame;
};

struct proftext {
    enum proftext_kind kind;
    char *text;
    struct entry_slot *entries;
    size_t n, cap;
    struct proftext_frame *frames;
    size_t nframes, frames_cap;
    int64_t total;
    int64_t sample_rate;  /* heap: bytes per sample on average (1: every allocation) */
};

static const size_t expected_values[] = {
    [PROFTEXT_THREADS] = 1, [PROFTEXT_MUTEX] = 2, [PROFTEXT_BLOCK] = 2, [PROFTEXT_HEAP] = 4, [PROFTEXT_CPU] = 2,
};

void proftext_free(struct proftext *p)
{
    if (!p)
        return;
    free(p->text);
    free(p->entries);
    free(p->frames);
    free(p);
}

size_t proftext_count(const struct proftext *p)
{
    return p->n;
}

const struct proftext_entry *proftext_entry(const struct proftext *p, size_t i)
{
    return i < p->n ? &p->entries[i].e : NULL;
}

int64_t proftext_total(const struct proftext *p)
{
    return p->total;
}

int64_t proftext_sample_rate(const struct proftext *p)
{
    return p->sample_rate;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool proftext_frame_is_own(const struct proftext_frame *f)
{
    const char *file = f->file;
    if (!f->function[0] || !file[0] || file[0] == '?' || file[0] == '.')
        return false;
    return !(starts_with(file, "/usr/") || starts_with(file, "/lib") || starts_with(file, "/build/"));
}

bool proftext_entry_has(const struct proftext_entry *e, const char *function)
{
    for (size_t i = 0; i < e->nframes; i++)
        if (strcmp(e->frames[i].function, function) == 0)
            return true;
    return false;
}

/* "12: 3456 [78: 9012] @ 0x1 0x2" or "12 @ ..." or "3456 12 @ ...": the numbers
 * before '@'. Returns how many, or -1 when a token is not a number. */
static int parse_values(char *line, int64_t *values, size_t cap)
{
    size_t n = 0;
    char *at = strstr(line, " @");
    char *s = line;

    if (at)
        *at = '\0';
    while (*s) {
        char *end;
        long long v;
        while (*s == ' ' || *s == ':' || *s == '[' || *s == ']')
            s++;
        if (!*s)
            break;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (end == s || errno || v < 0 || n == cap)
            return -1;
        values[n++] = v;
        s = end;
        if (*s && *s != ' ' && *s != ':' && *s != ']')
            return -1;
    }
    return (int)n;
}

static int add_entry(struct proftext *p)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct entry_slot *e = realloc(p->entries, cap * sizeof *e);
        if (!e)
            return -1;
        p->entries = e;
        p->cap = cap;
    }
    memset(&p->entries[p->n], 0, sizeof p->entries[p->n]);
    p->entries[p->n].first_frame = p->nframes;
    p->n++;
    return 0;
}

static int add_frame(struct proftext *p, const char *function, const char *file, int line)
{
    if (p->nframes == p->frames_cap) {
        size_t cap = p->frames_cap ? p->frames_cap * 2 : 256;
        struct proftext_frame *f = realloc(p->frames, cap * sizeof *f);
        if (!f)
            return -1;
        p->frames = f;
        p->frames_cap = cap;
    }
    p->frames[p->nframes++] = (struct proftext_frame){.function = function, .file = file, .line = line};
    p->entries[p->n - 1].e.nframes++;
    return 0;
}

/* "#\t0x55d0\tcache_get_global+0x23\tservice/catalog.c:111" (tabs or spaces). With
 * tabs between the fields only tabs separate them: a C++ name has spaces in it
 * ("cond_wait<__interceptor_pthread_cond_wait(void*, void*)::<lambda()> >", a
 * sanitizer's frame), and split at one its tail would read as a file of the service's.
 * Returns 1 for a frame, 0 for another comment line, -1 when out of memory. */
static int parse_frame(struct proftext *p, char *line)
{
    char *s = line + 1, *function = "", *file = "", *plus, *colon;
    const char *separators;
    int lineno = 0;

    while (*s == ' ' || *s == '\t')
        s++;
    if (!starts_with(s, "0x"))
        return 0;
    s += strcspn(s, " \t");
    separators = *s == '\t' ? "\t" : " \t";
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s) {
        function = s;
        s += strcspn(s, separators);
        if (*s) {
            *s++ = '\0';
            while (*s == ' ' || *s == '\t')
                s++;
            file = s;
            s[strcspn(s, separators)] = '\0';
        }
        plus = strstr(function, "+0x");
        if (plus)
            *plus = '\0';
        colon = strrchr(file, ':');
        if (colon) {
            *colon = '\0';
            lineno = atoi(colon + 1);
        }
    }
    return add_frame(p, function, file, lineno) < 0 ? -1 : 1;
}

static void parse_labels(struct proftext_entry *e, const char *json)
{
    json_t *o = json_loads(json, 0, NULL);
    const char *role = json_string_value(json_object_get(o, "role"));
    const char *state = json_string_value(json_object_get(o, "state"));
    snprintf(e->role, sizeof e->role, "%s", role ? role : "");
    snprintf(e->state, sizeof e->state, "%s", state ? state : "");
    json_decref(o);
}

static bool is_header(enum proftext_kind kind, const char *line)
{
    if (kind == PROFTEXT_THREADS)
        return starts_with(line, "threads profile:") || starts_with(line, "goroutine profile:");
    if (kind == PROFTEXT_HEAP)
        return starts_with(line, "heap profile:");
    if (kind == PROFTEXT_CPU)
        return starts_with(line, "--- cpu profile");
    return starts_with(line, "--- ") || strchr(line, '=') != NULL;
}

/* The text of a sampled heap has raw sample counts and "heap/2*rate" in its header
 * (Go's MemProfileRate, orderd's --mem-profile-rate): scaled here as pprof scales it,
 * the inuse pair and the alloc pair each by its average size. A negative count is left
 * as it is. */
static void unsample(int64_t *values, int64_t rate)
{
    uint64_t count, bytes;

    for (int pair = 0; pair < 4; pair += 2) {
        if (values[pair] < 0 || values[pair + 1] < 0)
            continue;
        heapscale_unsample((uint64_t)values[pair], (uint64_t)values[pair + 1], rate, &count, &bytes);
        values[pair] = count > INT64_MAX ? INT64_MAX : (int64_t)count;
        values[pair + 1] = bytes > INT64_MAX ? INT64_MAX : (int64_t)bytes;
    }
}

struct proftext *proftext_parse(enum proftext_kind kind, const char *text, size_t len,
                                char *err, size_t errlen)
{
    struct proftext *p = NULL;
    int64_t sample_rate = 1;
    char *line, *next;
    int lineno = 0;

    if (len > PROFTEXT_MAX_TEXT) {
        snprintf(err, errlen, "profile larger than %d bytes", PROFTEXT_MAX_TEXT);
        return NULL;
    }
    if (!(p = calloc(1, sizeof *p)) || !(p->text = malloc(len + 1)))
        goto oom;
    p->kind = kind;
    p->total = -1;
    memcpy(p->text, text, len);
    p->text[len] = '\0';
    if (memchr(p->text, '\0', len)) {
        snprintf(err, errlen, "profile holds a NUL byte");
        goto fail;
    }
    for (line = p->text; line && *line; line = next) {
        size_t l;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        l = strlen(line);
        if (l && line[l - 1] == '\r')
            line[--l] = '\0';
        if (!l)
            continue;
        if (isdigit((unsigned char)line[0])) {
            int64_t values[PROFTEXT_MAX_VALUES];
            int nv = parse_values(line, values, PROFTEXT_MAX_VALUES);
            if (nv != (int)expected_values[kind]) {
                snprintf(err, errlen, "line %d: expected %zu number%s before '@'", lineno,
                         expected_values[kind], expected_values[kind] == 1 ? "" : "s");
                goto fail;
            }
            if (p->n == PROFTEXT_MAX_ENTRIES) {
                snprintf(err, errlen, "more than %d profile entries", PROFTEXT_MAX_ENTRIES);
                goto fail;
            }
            if (add_entry(p) < 0)
                goto oom;
            memcpy(p->entries[p->n - 1].e.values, values, sizeof values);
            p->entries[p->n - 1].e.nvalues = (size_t)nv;
        } else if (line[0] == '#') {
            int rc;
            if (starts_with(line, "# labels:")) {
                if (p->n)
                    parse_labels(&p->entries[p->n - 1].e, line + 9);
                continue;
            }
            if (!p->n)
                continue;
            if (p->entries[p->n - 1].e.nframes == PROFTEXT_MAX_FRAMES) {
                snprintf(err, errlen, "line %d: more than %d frames in one stack", lineno, PROFTEXT_MAX_FRAMES);
                goto fail;
            }
            rc = parse_frame(p, line);
            if (rc < 0)
                goto oom;
        } else if (is_header(kind, line)) {
            const char *total = strstr(line, "total ");
            const char *heap_rate = strstr(line, "@ heap/");
            if (kind == PROFTEXT_THREADS && total)
                p->total = strtoll(total + 6, NULL, 10);
            if (kind == PROFTEXT_HEAP && heap_rate)
                sample_rate = strtoll(heap_rate + 7, NULL, 10) / 2;
        } else {
            snprintf(err, errlen, "line %d: not a %s profile line: %.60s", lineno,
                     kind == PROFTEXT_THREADS ? "thread" : kind == PROFTEXT_HEAP ? "heap" : kind == PROFTEXT_CPU ? "cpu" : "contention",
                     line);
            goto fail;
        }
    }
    p->sample_rate = sample_rate > 1 ? sample_rate : 1;
    for (size_t i = 0; i < p->n; i++) {
        p->entries[i].e.frames = p->entries[i].e.nframes ? &p->frames[p->entries[i].first_frame] : NULL;
        if (kind == PROFTEXT_HEAP)
            unsample(p->entries[i].e.values, sample_rate);
    }
    return p;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    proftext_free(p);
    return NULL;
}
