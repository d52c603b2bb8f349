/* pprofproto: profile.proto to the legacy text layout. See pprofproto.h.
 *
 * Two passes: the first walks the Profile message once, keeping where each string,
 * function, location and sample sits in the buffer (fields may come in any order);
 * the second writes the samples, resolving ids through the sorted tables. */
#include "base/pprofproto.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gzip.h"

#define NAME_MAX_LEN 256
#define MAX_SAMPLE_TYPES 16

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_BYTES = 2, WIRE_FIXED32 = 5 };
/* Field numbers of perftools.profiles.Profile and the messages inside it. */
enum { PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5,
       PROFILE_STRING = 6, PROFILE_DURATION = 10, PROFILE_PERIOD = 12 };

struct reader {
    const unsigned char *p, *end;
    bool bad;
};

struct span {
    const unsigned char *p;
    size_t len;
};

struct function { uint64_t id; int64_t name, file; };
struct location { uint64_t id, address; struct span lines; };

struct profile {
    struct span *strings;
    size_t nstrings, strings_cap;
    struct function *functions;
    size_t nfunctions, functions_cap;
    struct location *locations;
    size_t nlocations, locations_cap;
    struct span *samples;
    size_t nsamples, samples_cap;
    int64_t types[MAX_SAMPLE_TYPES][2];
    size_t ntypes;
    int64_t duration_ns, period;
};

struct out {
    char *buf;
    size_t len, cap;
    bool too_large, oom;
};

static uint64_t read_varint(struct reader *r)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            break;
        x |= (uint64_t)(*r->p & 0x7f) << shift;
        if ((*r->p++ & 0x80) == 0)
            return x;
    }
    r->bad = true;
    return 0;
}

/* The next field's number and wire type; false at the end of the message or on error. */
static bool read_key(struct reader *r, int *field, int *wire)
{
    uint64_t key;
    if (r->bad || r->p >= r->end)
        return false;
    key = read_varint(r);
    *field = (int)(key >> 3);
    *wire = (int)(key & 7);
    return !r->bad;
}

static struct span read_bytes(struct reader *r)
{
    struct span s = {0};
    uint64_t len = read_varint(r);
    if (r->bad || len > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        return s;
    }
    s.p = r->p;
    s.len = (size_t)len;
    r->p += len;
    return s;
}

static void skip_field(struct reader *r, int wire)
{
    size_t n;
    switch (wire) {
    case WIRE_VARINT: read_varint(r); return;
    case WIRE_BYTES: read_bytes(r); return;
    case WIRE_FIXED64:
    case WIRE_FIXED32:
        n = wire == WIRE_FIXED64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            r->bad = true;
        else
            r->p += n;
        return;
    default:
        r->bad = true;
    }
}

static struct reader reader_of(struct span s)
{
    /* A failed read_bytes gives no span: an empty reader, with no arithmetic on NULL. */
    return s.p ? (struct reader){.p = s.p, .end = s.p + s.len} : (struct reader){0};
}

/* Reads a repeated varint field's next value(s) into values (packed or one at a time).
 * Returns how many were added, with *n updated; values past cap are dropped. */
static void read_repeated(struct reader *r, int wire, uint64_t *values, size_t cap, size_t *n)
{
    if (wire == WIRE_VARINT) {
        uint64_t v = read_varint(r);
        if (*n < cap)
            values[(*n)++] = v;
        return;
    }
    if (wire != WIRE_BYTES) {
        r->bad = true;
        return;
    }
    struct reader packed = reader_of(read_bytes(r));
    while (!r->bad && !packed.bad && packed.p < packed.end) {
        uint64_t v = read_varint(&packed);
        if (*n < cap)
            values[(*n)++] = v;
    }
    r->bad = r->bad || packed.bad;
}

static int grow(void **items, size_t *cap, size_t need, size_t size)
{
    size_t bigger;
    void *p;
    if (need <= *cap)
        return 0;
    bigger = *cap ? *cap * 2 : 64;
    if ((p = realloc(*items, bigger * size)) == NULL)
        return -1;
    *items = p;
    *cap = bigger;
    return 0;
}

static int add_function(struct profile *pr, struct span body)
{
    struct reader r = reader_of(body);
    struct function f = {0};
    int field, wire;
    while (read_key(&r, &field, &wire)) {
        if (wire == WIRE_VARINT && field == 1)
            f.id = read_varint(&r);
        else if (wire == WIRE_VARINT && field == 2)
            f.name = (int64_t)read_varint(&r);
        else if (wire == WIRE_VARINT && field == 4)
            f.file = (int64_t)read_varint(&r);
        else
            skip_field(&r, wire);
    }
    if (r.bad || grow((void **)&pr->functions, &pr->functions_cap, pr->nfunctions + 1, sizeof f) < 0)
        return -1;
    pr->functions[pr->nfunctions++] = f;
    return 0;
}

static int add_location(struct profile *pr, struct span body)
{
    struct reader r = reader_of(body);
    struct location l = {.lines = {body.p, 0}};
    int field, wire;
    while (read_key(&r, &field, &wire)) {
        if (wire == WIRE_VARINT && field == 1)
            l.id = read_varint(&r);
        else if (wire == WIRE_VARINT && field == 3)
            l.address = read_varint(&r);
        else
            skip_field(&r, wire);  /* lines are read again when written */
    }
    l.lines.len = body.len;
    if (r.bad || grow((void **)&pr->locations, &pr->locations_cap, pr->nlocations + 1, sizeof l) < 0)
        return -1;
    pr->locations[pr->nlocations++] = l;
    return 0;
}

static void add_sample_type(struct profile *pr, struct span body)
{
    struct reader r = reader_of(body);
    int64_t vt[2] = {0, 0};
    int field, wire;
    while (read_key(&r, &field, &wire)) {
        if (wire == WIRE_VARINT && (field == 1 || field == 2))
            vt[field - 1] = (int64_t)read_varint(&r);
        else
            skip_field(&r, wire);
    }
    if (pr->ntypes < MAX_SAMPLE_TYPES) {
        pr->types[pr->ntypes][0] = vt[0];
        pr->types[pr->ntypes][1] = vt[1];
        pr->ntypes++;
    }
}

/* Pass one. Returns 0, or -1: malformed (*oom false) or out of memory (*oom true). */
static int scan_profile(struct profile *pr, struct span all, bool *oom)
{
    struct reader r = reader_of(all);
    int field, wire;
    *oom = false;
    while (read_key(&r, &field, &wire)) {
        struct span s;
        int rc = 0;
        if (wire == WIRE_VARINT && field == PROFILE_DURATION) {
            pr->duration_ns = (int64_t)read_varint(&r);
            continue;
        }
        if (wire == WIRE_VARINT && field == PROFILE_PERIOD) {
            pr->period = (int64_t)read_varint(&r);
            continue;
        }
        if (wire != WIRE_BYTES || (field != PROFILE_SAMPLE_TYPE && field != PROFILE_SAMPLE &&
                                   field != PROFILE_LOCATION && field != PROFILE_FUNCTION && field != PROFILE_STRING)) {
            skip_field(&r, wire);
            continue;
        }
        s = read_bytes(&r);
        if (r.bad)
            break;
        if (field == PROFILE_SAMPLE_TYPE) {
            add_sample_type(pr, s);
        } else if (field == PROFILE_STRING) {
            if ((rc = grow((void **)&pr->strings, &pr->strings_cap, pr->nstrings + 1, sizeof s)) == 0)
                pr->strings[pr->nstrings++] = s;
            *oom = rc < 0;
        } else if (field == PROFILE_SAMPLE) {
            if ((rc = grow((void **)&pr->samples, &pr->samples_cap, pr->nsamples + 1, sizeof s)) == 0)
                pr->samples[pr->nsamples++] = s;
            *oom = rc < 0;
        } else if (field == PROFILE_LOCATION) {
            rc = add_location(pr, s);
        } else {
            rc = add_function(pr, s);
        }
        if (rc < 0)
            return -1;
    }
    return r.bad ? -1 : 0;
}

static bool string_is(const struct profile *pr, int64_t i, const char *want)
{
    return i >= 0 && (size_t)i < pr->nstrings && pr->strings[i].len == strlen(want) &&
           memcmp(pr->strings[i].p, want, pr->strings[i].len) == 0;
}

/* String i with blanks and control bytes made '_' (the text splits on blanks), cut to
 * fit out; "" when out of range. */
static void string_copy(const struct profile *pr, int64_t i, char *out, size_t outlen)
{
    size_t n = 0;
    if (i > 0 && (size_t)i < pr->nstrings)
        for (; n < pr->strings[i].len && n + 1 < outlen; n++) {
            unsigned char c = pr->strings[i].p[n];
            out[n] = c <= ' ' || c == 0x7f ? '_' : (char)c;
        }
    out[n] = '\0';
}

static int by_function_id(const void *a, const void *b)
{
    uint64_t x = ((const struct function *)a)->id, y = ((const struct function *)b)->id;
    return x < y ? -1 : x > y;
}

static int by_location_id(const void *a, const void *b)
{
    uint64_t x = ((const struct location *)a)->id, y = ((const struct location *)b)->id;
    return x < y ? -1 : x > y;
}

/* The function or location of that id, or NULL (bsearch must not see an empty table's NULL). */
static const struct function *function_of(const struct profile *pr, uint64_t id)
{
    struct function key = {.id = id};
    return pr->nfunctions ? bsearch(&key, pr->functions, pr->nfunctions, sizeof key, by_function_id) : NULL;
}

static const struct location *location_of(const struct profile *pr, uint64_t id)
{
    struct location key = {.id = id};
    return pr->nlocations ? bsearch(&key, pr->locations, pr->nlocations, sizeof key, by_location_id) : NULL;
}

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (o->too_large || o->oom)
        return;
    for (;;) {
        size_t room = o->cap - o->len;
        va_start(ap, fmt);
        n = vsnprintf(o->buf ? o->buf + o->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = true;
            return;
        }
        if ((size_t)n < room) {
            o->len += (size_t)n;
            return;
        }
        if (o->len + (size_t)n + 1 > PPROFPROTO_MAX_TEXT) {
            o->too_large = true;
            return;
        }
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + (size_t)n + 1)
            cap *= 2;
        char *bigger = realloc(o->buf, cap);
        if (!bigger) {
            o->oom = true;
            return;
        }
        o->buf = bigger;
        o->cap = cap;
    }
}

/* Writes one location's frames (one per line of it, innermost first). */
static void put_location(struct out *o, const struct profile *pr, const struct location *l, size_t *frames)
{
    struct reader r = reader_of(l->lines);
    int field, wire;
    bool any = false;
    while (read_key(&r, &field, &wire) && *frames < PPROFPROTO_MAX_FRAMES) {
        if (wire != WIRE_BYTES || field != 4) {
            skip_field(&r, wire);
            continue;
        }
        struct reader line = reader_of(read_bytes(&r));
        const struct function *f;
        uint64_t function_id = 0;
        int64_t lineno = 0;
        int lf, lw;
        char name[NAME_MAX_LEN], file[NAME_MAX_LEN];
        while (read_key(&line, &lf, &lw)) {
            if (lw == WIRE_VARINT && lf == 1)
                function_id = read_varint(&line);
            else if (lw == WIRE_VARINT && lf == 2)
                lineno = (int64_t)read_varint(&line);
            else
                skip_field(&line, lw);
        }
        f = function_of(pr, function_id);
        string_copy(pr, f ? f->name : 0, name, sizeof name);
        string_copy(pr, f ? f->file : 0, file, sizeof file);
        if (name[0] && lineno > 0)
            put(o, "#\t0x%" PRIx64 "\t%s+0x0\t%s:%" PRId64 "\n", l->address, name, file[0] ? file : "?", lineno);
        else if (name[0])
            put(o, "#\t0x%" PRIx64 "\t%s+0x0\t%s\n", l->address, name, file[0] ? file : "?");
        else
            put(o, "#\t0x%" PRIx64 "\n", l->address);
        (*frames)++;
        any = true;
    }
    if (!any && *frames < PPROFPROTO_MAX_FRAMES) {
        put(o, "#\t0x%" PRIx64 "\n", l->address);
        (*frames)++;
    }
}

/* Pass two: one entry per sample. Returns -1 on a malformed sample. */
static int write_samples(struct out *o, const struct profile *pr, long ns_index, long count_index)
{
    static uint64_t ids[PPROFPROTO_MAX_FRAMES], values[MAX_SAMPLE_TYPES];
    for (size_t s = 0; s < pr->nsamples; s++) {
        struct reader r = reader_of(pr->samples[s]);
        size_t nids = 0, nvalues = 0, frames = 0;
        int field, wire;
        while (read_key(&r, &field, &wire)) {
            if (field == 1)
                read_repeated(&r, wire, ids, PPROFPROTO_MAX_FRAMES, &nids);
            else if (field == 2)
                read_repeated(&r, wire, values, MAX_SAMPLE_TYPES, &nvalues);
            else
                skip_field(&r, wire);
        }
        if (r.bad || (size_t)ns_index >= nvalues)
            return -1;
        put(o, "%" PRIu64 " %" PRIu64 " @", count_index >= 0 && (size_t)count_index < nvalues ? values[count_index] : 1,
            values[ns_index]);
        for (size_t i = 0; i < nids; i++) {
            const struct location *l = location_of(pr, ids[i]);
            put(o, " 0x%" PRIx64, l ? l->address : 0);
        }
        put(o, "\n");
        for (size_t i = 0; i < nids; i++) {
            const struct location *l = location_of(pr, ids[i]);
            if (l)
                put_location(o, pr, l, &frames);
        }
        put(o, "\n");
    }
    return 0;
}

int pprofproto_cpu_text(const void *data, size_t len, char **text, size_t *text_len, char *err, size_t errlen)
{
    unsigned char *inflated = NULL;
    size_t inflated_len = len;
    struct profile pr = {0};
    struct out o = {0};
    long ns_index = -1, count_index = -1;
    bool oom = false;
    int rc = -1;
    char msg[200];

    *text = NULL;
    if (len >= 2 && ((const unsigned char *)data)[0] == 0x1f && ((const unsigned char *)data)[1] == 0x8b) {
        if (gzip_decompress(data, len, PPROFPROTO_MAX_INFLATED, &inflated, &inflated_len, msg, sizeof msg) < 0) {
            snprintf(err, errlen, "%s", msg);
            return -1;
        }
        data = inflated;
    } else if (len > PPROFPROTO_MAX_INFLATED) {
        snprintf(err, errlen, "profile larger than %zu bytes", PPROFPROTO_MAX_INFLATED);
        return -1;
    }
    if (scan_profile(&pr, (struct span){data, inflated_len}, &oom) < 0) {
        snprintf(err, errlen, oom ? "out of memory" : "malformed profile.proto");
        goto done;
    }
    for (size_t i = 0; i < pr.ntypes; i++) {
        if (string_is(&pr, pr.types[i][0], "cpu") && string_is(&pr, pr.types[i][1], "nanoseconds"))
            ns_index = (long)i;
        if (string_is(&pr, pr.types[i][0], "samples") && string_is(&pr, pr.types[i][1], "count"))
            count_index = (long)i;
    }
    if (ns_index < 0) {
        snprintf(err, errlen, "not a CPU profile (no cpu/nanoseconds sample type)");
        goto done;
    }
    if (pr.nfunctions)
        qsort(pr.functions, pr.nfunctions, sizeof *pr.functions, by_function_id);
    if (pr.nlocations)
        qsort(pr.locations, pr.nlocations, sizeof *pr.locations, by_location_id);
    put(&o, "--- cpu profile: %zu samples, period %" PRId64 " ns, duration %.3f s\n", pr.nsamples, pr.period,
        (double)pr.duration_ns / 1e9);
    if (write_samples(&o, &pr, ns_index, count_index) < 0) {
        snprintf(err, errlen, "malformed profile.proto (a sample without its CPU value)");
        goto done;
    }
    if (o.oom || o.too_large) {
        if (o.too_large)
            snprintf(err, errlen, "CPU profile text larger than %zu bytes", PPROFPROTO_MAX_TEXT);
        else
            snprintf(err, errlen, "out of memory");
        goto done;
    }
    *text = o.buf;
    *text_len = o.len;
    o.buf = NULL;
    rc = 0;
done:
    free(o.buf);
    free(pr.strings);
    free(pr.functions);
    free(pr.locations);
    free(pr.samples);
    free(inflated);
    return rc;
}
