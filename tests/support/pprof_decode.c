/* pprof_decode (tests only): a small profile.proto reader and a `go tool pprof`
 * runner. See pprof_decode.h. */
#include "pprof_decode.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gzip.h"

#define DECODE_MAX_INFLATED ((size_t)256 << 20)
#define DECODE_MAX_OUTPUT ((size_t)1 << 20)

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_BYTES = 2, WIRE_FIXED32 = 5 };

struct reader {
    const unsigned char *p, *end;
    int bad;
};

static uint64_t read_varint(struct reader *r)
{
    uint64_t x = 0;

    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = 1;
            return 0;
        }
        x |= (uint64_t)(*r->p & 0x7f) << shift;
        if ((*r->p++ & 0x80) == 0)
            return x;
    }
    r->bad = 1;
    return 0;
}

/* Reads the next field's key. Returns 0 at the end of the message or on error. */
static int read_key(struct reader *r, int *field, int *wire)
{
    uint64_t key;

    if (r->bad || r->p >= r->end)
        return 0;
    key = read_varint(r);
    *field = (int)(key >> 3);
    *wire = (int)(key & 7);
    return !r->bad;
}

/* The length-delimited payload that follows, as its own reader. */
static struct reader read_bytes(struct reader *r)
{
    struct reader sub = {0};
    uint64_t len = read_varint(r);

    if (r->bad || len > (uint64_t)(r->end - r->p)) {
        r->bad = 1;
        sub.bad = 1;
        return sub;
    }
    sub.p = r->p;
    sub.end = r->p + len;
    r->p += len;
    return sub;
}

static void skip_field(struct reader *r, int wire)
{
    switch (wire) {
    case WIRE_VARINT: read_varint(r); break;
    case WIRE_BYTES: read_bytes(r); break;
    case WIRE_FIXED64:
    case WIRE_FIXED32: {
        size_t n = wire == WIRE_FIXED64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            r->bad = 1;
        else
            r->p += n;
        break;
    }
    default: r->bad = 1;
    }
}

static int append(void **array, size_t *n, size_t elem)
{
    void *grown = realloc(*array, (*n + 1) * elem);

    if (!grown)
        return -1;
    memset((char *)grown + *n * elem, 0, elem);
    *array = grown;
    (*n)++;
    return 0;
}

/* A repeated varint field, packed (one length-delimited run) or one at a time. */
static void read_repeated(struct reader *r, int wire, uint64_t **values, size_t *n)
{
    if (wire == WIRE_VARINT) {
        uint64_t x = read_varint(r);
        if (append((void **)values, n, sizeof **values) < 0)
            r->bad = 1;
        else
            (*values)[*n - 1] = x;
    } else if (wire == WIRE_BYTES) {
        struct reader packed = read_bytes(r);
        while (!packed.bad && packed.p < packed.end) {
            uint64_t x = read_varint(&packed);
            if (append((void **)values, n, sizeof **values) < 0)
                packed.bad = 1;
            else
                (*values)[*n - 1] = x;
        }
        r->bad |= packed.bad;
    } else {
        r->bad = 1;
    }
}

static uint64_t read_scalar(struct reader *r, int wire)
{
    if (wire != WIRE_VARINT) {
        r->bad = 1;
        return 0;
    }
    return read_varint(r);
}

static void read_value_type(struct reader *r, struct pprof_decoded_value_type *vt)
{
    int field, wire;

    while (read_key(r, &field, &wire)) {
        if (field == 1)
            vt->type = (int64_t)read_scalar(r, wire);
        else if (field == 2)
            vt->unit = (int64_t)read_scalar(r, wire);
        else
            skip_field(r, wire);
    }
}

static void read_sample(struct reader *r, struct pprof_decoded_sample *s)
{
    int field, wire;

    while (read_key(r, &field, &wire)) {
        if (field == 1)
            read_repeated(r, wire, &s->location_ids, &s->nlocation_ids);
        else if (field == 2) {
            /* int64 values travel as their two's complement varint. */
            uint64_t *values = (uint64_t *)s->values;
            read_repeated(r, wire, &values, &s->nvalues);
            s->values = (int64_t *)values;
        }
        else
            skip_field(r, wire);
    }
}

static void read_mapping(struct reader *r, struct pprof_decoded_mapping *m)
{
    int field, wire;

    while (read_key(r, &field, &wire)) {
        switch (field) {
        case 1: m->id = read_scalar(r, wire); break;
        case 2: m->memory_start = read_scalar(r, wire); break;
        case 3: m->memory_limit = read_scalar(r, wire); break;
        case 4: m->file_offset = read_scalar(r, wire); break;
        case 6: m->build_id = (int64_t)read_scalar(r, wire); break;
        case 5: m->filename = (int64_t)read_scalar(r, wire); break;
        case 7: m->has_functions = read_scalar(r, wire) != 0; break;
        case 8: m->has_filenames = read_scalar(r, wire) != 0; break;
        case 9: m->has_line_numbers = read_scalar(r, wire) != 0; break;
        default: skip_field(r, wire);
        }
    }
}

static void read_location(struct reader *r, struct pprof_decoded_location *l)
{
    int field, wire;

    while (read_key(r, &field, &wire)) {
        if (field == 1) {
            l->id = read_scalar(r, wire);
        } else if (field == 2) {
            l->mapping_id = read_scalar(r, wire);
        } else if (field == 3) {
            l->address = read_scalar(r, wire);
        } else if (field == 4 && wire == WIRE_BYTES) {
            struct reader line = read_bytes(r);
            int lf, lw;
            if (append((void **)&l->lines, &l->nlines, sizeof *l->lines) < 0) {
                r->bad = 1;
                return;
            }
            while (read_key(&line, &lf, &lw)) {
                if (lf == 1)
                    l->lines[l->nlines - 1].function_id = read_scalar(&line, lw);
                else if (lf == 2)
                    l->lines[l->nlines - 1].line = (int64_t)read_scalar(&line, lw);
                else
                    skip_field(&line, lw);
            }
            r->bad |= line.bad;
        } else {
            skip_field(r, wire);
        }
    }
}

static void read_function(struct reader *r, struct pprof_decoded_function *f)
{
    int field, wire;

    while (read_key(r, &field, &wire)) {
        switch (field) {
        case 1: f->id = read_scalar(r, wire); break;
        case 2: f->name = (int64_t)read_scalar(r, wire); break;
        case 3: f->system_name = (int64_t)read_scalar(r, wire); break;
        case 4: f->filename = (int64_t)read_scalar(r, wire); break;
        default: skip_field(r, wire);
        }
    }
}

static void read_string(struct reader *r, int wire, struct pprof_decoded *d)
{
    struct reader s;
    char *copy;

    if (wire != WIRE_BYTES) {
        r->bad = 1;
        return;
    }
    s = read_bytes(r);
    if (s.bad)
        return;
    copy = malloc((size_t)(s.end - s.p) + 1);
    if (!copy || append((void **)&d->strings, &d->nstrings, sizeof *d->strings) < 0) {
        free(copy);
        r->bad = 1;
        return;
    }
    memcpy(copy, s.p, (size_t)(s.end - s.p));
    copy[s.end - s.p] = '\0';
    d->strings[d->nstrings - 1] = copy;
}

/* Reads one length-delimited submessage of the profile into a new array element. */
#define READ_MESSAGE(r, wire, array, n, reader_fn)                                      \
    do {                                                                                 \
        struct reader sub_;                                                              \
        if ((wire) != WIRE_BYTES || append((void **)&(array), &(n), sizeof *(array)) < 0) { \
            (r)->bad = 1;                                                                \
            break;                                                                       \
        }                                                                                \
        sub_ = read_bytes(r);                                                            \
        reader_fn(&sub_, &(array)[(n) - 1]);                                             \
        (r)->bad |= sub_.bad;                                                            \
    } while (0)

static int read_profile(const unsigned char *data, size_t len, struct pprof_decoded *d)
{
    struct reader r = { data, data + len, 0 };
    int field, wire;

    while (read_key(&r, &field, &wire)) {
        switch (field) {
        case 1: READ_MESSAGE(&r, wire, d->sample_types, d->nsample_types, read_value_type); break;
        case 2: READ_MESSAGE(&r, wire, d->samples, d->nsamples, read_sample); break;
        case 3: READ_MESSAGE(&r, wire, d->mappings, d->nmappings, read_mapping); break;
        case 4: READ_MESSAGE(&r, wire, d->locations, d->nlocations, read_location); break;
        case 5: READ_MESSAGE(&r, wire, d->functions, d->nfunctions, read_function); break;
        case 6: read_string(&r, wire, d); break;
        case 9: d->time_nanos = (int64_t)read_scalar(&r, wire); break;
        case 10: d->duration_nanos = (int64_t)read_scalar(&r, wire); break;
        case 11: {
            struct reader sub = read_bytes(&r);
            read_value_type(&sub, &d->period_type);
            r.bad |= sub.bad;
            break;
        }
        case 12: d->period = (int64_t)read_scalar(&r, wire); break;
        default: skip_field(&r, wire);
        }
    }
    return r.bad ? -1 : 0;
}

struct pprof_decoded *pprof_decode(const void *data, size_t len)
{
    const unsigned char *bytes = data;
    unsigned char *plain = NULL;
    size_t plain_len = 0;
    struct pprof_decoded *d = calloc(1, sizeof *d);

    if (!d)
        return NULL;
    if (len >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) {
        if (gzip_decompress(bytes, len, DECODE_MAX_INFLATED, &plain, &plain_len, NULL, 0) < 0)
            goto fail;
        bytes = plain;
        len = plain_len;
    }
    if (read_profile(bytes, len, d) < 0)
        goto fail;
    free(plain);
    return d;
fail:
    free(plain);
    pprof_decoded_free(d);
    return NULL;
}

void pprof_decoded_free(struct pprof_decoded *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nstrings; i++)
        free(d->strings[i]);
    for (size_t i = 0; i < d->nsamples; i++) {
        free(d->samples[i].location_ids);
        free(d->samples[i].values);
    }
    for (size_t i = 0; i < d->nlocations; i++)
        free(d->locations[i].lines);
    free(d->strings);
    free(d->sample_types);
    free(d->samples);
    free(d->mappings);
    free(d->locations);
    free(d->functions);
    free(d);
}

const char *pprof_decoded_string(const struct pprof_decoded *d, int64_t index)
{
    if (index < 0 || (uint64_t)index >= d->nstrings)
        return NULL;
    return d->strings[index];
}

const struct pprof_decoded_location *pprof_decoded_location(const struct pprof_decoded *d, uint64_t id)
{
    for (size_t i = 0; i < d->nlocations; i++)
        if (d->locations[i].id == id)
            return &d->locations[i];
    return NULL;
}

const struct pprof_decoded_function *pprof_decoded_function(const struct pprof_decoded *d, uint64_t id)
{
    for (size_t i = 0; i < d->nfunctions; i++)
        if (d->functions[i].id == id)
            return &d->functions[i];
    return NULL;
}

const char *pprof_decoded_frame_name(const struct pprof_decoded *d,
                                     const struct pprof_decoded_sample *s, size_t i)
{
    const struct pprof_decoded_location *loc;
    const struct pprof_decoded_function *fn;

    if (i >= s->nlocation_ids)
        return NULL;
    loc = pprof_decoded_location(d, s->location_ids[i]);
    if (!loc || loc->nlines == 0)
        return NULL;
    fn = pprof_decoded_function(d, loc->lines[0].function_id);
    return fn ? pprof_decoded_string(d, fn->name) : NULL;
}

int pprof_decoded_sample_type(const struct pprof_decoded *d, const char *type, const char *unit)
{
    for (size_t i = 0; i < d->nsample_types; i++) {
        const char *t = pprof_decoded_string(d, d->sample_types[i].type);
        const char *u = pprof_decoded_string(d, d->sample_types[i].unit);
        if (t && u && strcmp(t, type) == 0 && strcmp(u, unit) == 0)
            return (int)i;
    }
    return -1;
}

int64_t pprof_decoded_sum_for_function(const struct pprof_decoded *d, const char *function,
                                       size_t value_index, size_t *nsamples)
{
    int64_t sum = 0;
    size_t count = 0;

    for (size_t s = 0; s < d->nsamples; s++) {
        const struct pprof_decoded_sample *sample = &d->samples[s];
        for (size_t i = 0; i < sample->nlocation_ids; i++) {
            const char *name = pprof_decoded_frame_name(d, sample, i);
            if (name && strcmp(name, function) == 0) {
                if (value_index < sample->nvalues)
                    sum += sample->values[value_index];
                count++;
                break;
            }
        }
    }
    if (nsamples)
        *nsamples = count;
    return sum;
}

int64_t pprof_decoded_sum(const struct pprof_decoded *d, size_t value_index)
{
    int64_t sum = 0;

    for (size_t s = 0; s < d->nsamples; s++)
        if (value_index < d->samples[s].nvalues)
            sum += d->samples[s].values[value_index];
    return sum;
}

/* ---- go tool pprof ---- */

static int go_on_path(void)
{
    const char *path = getenv("PATH");
    char candidate[4096];

    while (path && *path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        if (n > 0 && n < sizeof candidate - 4) {
            snprintf(candidate, sizeof candidate, "%.*s/go", (int)n, path);
            if (access(candidate, X_OK) == 0)
                return 1;
        }
        path = colon ? colon + 1 : NULL;
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

/* Runs "go tool pprof ARGS" with HOME, PPROF_TMPDIR and GOCACHE in dir. */
static int run_go_pprof(const char *dir, const char *args, char **text)
{
    char command[1024];
    char *buf = NULL;
    size_t used = 0;
    FILE *pipe = NULL;
    int status, n, rc = -1;

    n = snprintf(command, sizeof command,
                 "HOME=%s PPROF_TMPDIR=%s GOCACHE=%s/cache go tool pprof %s 2>&1", dir, dir, dir, args);
    if (n < 0 || (size_t)n >= sizeof command)
        return -1;
    pipe = popen(command, "r");
    if (!pipe)
        return -1;
    buf = malloc(DECODE_MAX_OUTPUT);
    if (!buf)
        goto done;
    used = fread(buf, 1, DECODE_MAX_OUTPUT - 1, pipe);
    buf[used] = '\0';
    status = pclose(pipe);
    pipe = NULL;
    *text = buf;
    buf = NULL;
    if (status == 0)
        rc = 0;
done:
    if (pipe)
        pclose(pipe);
    free(buf);
    return rc;
}

int pprof_decode_go_tool(const void *data, size_t len, const char *flags, char **text)
{
    char dir[] = "/tmp/pprof_decode.XXXXXX";
    char file[64], args[512];
    FILE *f = NULL;
    int rc = -1;

    *text = NULL;
    if (!go_on_path())
        return 1;
    if (!mkdtemp(dir))
        return -1;
    snprintf(file, sizeof file, "%s/profile.pb.gz", dir);
    f = fopen(file, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        if (f)
            fclose(f);
        goto done;
    }
    snprintf(args, sizeof args, "%s %s", flags, file);
    rc = run_go_pprof(dir, args, text);
done:
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return rc;
}

int pprof_decode_go_url(const char *flags, const char *url, char **text)
{
    char dir[] = "/tmp/pprof_decode.XXXXXX";
    char args[1024];
    int rc;

    *text = NULL;
    if (!go_on_path())
        return 1;
    if (!mkdtemp(dir))
        return -1;
    snprintf(args, sizeof args, "%s '%s'", flags, url);
    rc = run_go_pprof(dir, args, text);
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return rc;
}

int pprof_decode_go_top(const void *data, size_t len, char **text)
{
    return pprof_decode_go_tool(data, len, "-top -nodecount=10", text);
}
