/* pprof: building profiles and encoding them as profile.proto. See pprof.h.
 *
 * A profile is kept as raw samples (pcs and values) until pprof_encode(), which gives
 * each distinct pc one Location, each distinct function name one Function and each
 * distinct string one string-table slot, then writes the message the way Go's
 * runtime/pprof does: a nested message is written body first and its tag and length
 * are then inserted in front of it, so no size is computed twice.
 *
 * Mappings: one per executable segment of every loaded object (dl_iterate_phdr: the
 * program first, as pprof expects, then the libraries and the vdso), with its file
 * name, file offset and GNU build ID, so pprof can find the very file. A mapping claims
 * has_functions, has_filenames and has_line_numbers only when every location in it got
 * them from our symbolizer; otherwise pprof may symbolize the rest itself (from the
 * file, or from /debug/pprof/symbol). A pc in no loaded object (a pseudo-frame of
 * ours) has no mapping.
 *
 * The wire format is in pprof_wire.c, the mappings in pprof_mappings.c and the legacy
 * text helpers in pprof_text.c; pprof_internal.h is what they share. */
#include "pprof_internal.h"

#include "gzip.h"
#include "stacks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pprof_sample {
    size_t first_pc;   /* index into pprof_profile.pcs */
    int npcs;
};

struct pprof_profile {
    char *type[PPROF_MAX_TYPES];
    char *unit[PPROF_MAX_TYPES];
    int ntypes;
    char *period_type, *period_unit;
    char *default_sample_type;   /* NULL: pprof's default (the last type) */
    int64_t period, time_nanos, duration_nanos;
    struct pprof_sample *samples;
    size_t nsamples, samples_cap;
    uintptr_t *pcs;
    size_t npcs, pcs_cap;
    int64_t *values;   /* ntypes per sample */
    size_t values_cap;
};

int pprof_grow(void **array, size_t *cap, size_t need, size_t elem)
{
    size_t ncap = *cap ? *cap : 16;
    void *n;

    if (need <= *cap)
        return 0;
    while (ncap < need)
        ncap *= 2;
    n = realloc(*array, ncap * elem);
    if (!n)
        return -1;
    *array = n;
    *cap = ncap;
    return 0;
}

pprof_profile *pprof_new(const struct pprof_value_type *types, int ntypes,
                         struct pprof_value_type period_type, int64_t period)
{
    pprof_profile *p = NULL;

    if (!types || ntypes < 1 || ntypes > PPROF_MAX_TYPES || !period_type.type || !period_type.unit)
        return NULL;
    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->ntypes = ntypes;
    for (int i = 0; i < ntypes; i++) {
        if (!types[i].type || !types[i].unit)
            goto fail;
        p->type[i] = strdup(types[i].type);
        p->unit[i] = strdup(types[i].unit);
        if (!p->type[i] || !p->unit[i])
            goto fail;
    }
    p->period_type = strdup(period_type.type);
    p->period_unit = strdup(period_type.unit);
    if (!p->period_type || !p->period_unit)
        goto fail;
    p->period = period;
    return p;
fail:
    pprof_free(p);
    return NULL;
}

void pprof_free(pprof_profile *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->ntypes; i++) {
        free(p->type[i]);
        free(p->unit[i]);
    }
    free(p->period_type);
    free(p->period_unit);
    free(p->default_sample_type);
    free(p->samples);
    free(p->pcs);
    free(p->values);
    free(p);
}

void pprof_set_time(pprof_profile *p, int64_t time_nanos, int64_t duration_nanos)
{
    p->time_nanos = time_nanos;
    p->duration_nanos = duration_nanos;
}

int pprof_set_default_sample_type(pprof_profile *p, const char *type)
{
    char *copy = type ? strdup(type) : NULL;

    if (!p || (type && !copy)) {
        free(copy);
        return -1;
    }
    free(p->default_sample_type);
    p->default_sample_type = copy;
    return 0;
}

int pprof_add_sample(pprof_profile *p, const uintptr_t *pcs, int npcs, const int64_t *values)
{
    struct pprof_sample *s;

    if (!p || npcs < 0 || npcs > PPROF_MAX_DEPTH || (npcs > 0 && !pcs) || !values ||
        p->nsamples >= PPROF_MAX_SAMPLES || (size_t)npcs > PPROF_MAX_PCS - p->npcs)
        return -1;
    if (pprof_grow((void **)&p->samples, &p->samples_cap, p->nsamples + 1, sizeof *p->samples) < 0 ||
        pprof_grow((void **)&p->pcs, &p->pcs_cap, p->npcs + (size_t)npcs, sizeof *p->pcs) < 0 ||
        pprof_grow((void **)&p->values, &p->values_cap, (p->nsamples + 1) * (size_t)p->ntypes,
             sizeof *p->values) < 0)
        return -1;
    s = &p->samples[p->nsamples];
    s->first_pc = p->npcs;
    s->npcs = npcs;
    if (npcs > 0)
        memcpy(&p->pcs[p->npcs], pcs, (size_t)npcs * sizeof *pcs);
    memcpy(&p->values[p->nsamples * (size_t)p->ntypes], values, (size_t)p->ntypes * sizeof *values);
    p->npcs += (size_t)npcs;
    p->nsamples++;
    return 0;
}

/* ---- the string table: index 0 is "" as profile.proto requires ---- */

struct strtab_entry {
    char *s;
    size_t len;
    uint64_t hash;
    uint64_t function_id;   /* the Function named by this string, 0 if none yet */
};

struct strtab {
    struct strtab_entry *entries;
    size_t n, cap;
    uint32_t *slots;   /* entry index + 1; 0 is empty */
    size_t nslots;
};

static uint64_t hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int strtab_rehash(struct strtab *t, size_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);

    if (!slots)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = t->entries[i].hash & (nslots - 1);
        while (slots[j])
            j = (j + 1) & (nslots - 1);
        slots[j] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

/* Returns the index of s in the table, adding a copy when new; -1 on allocation failure. */
static int64_t strtab_intern(struct strtab *t, const char *s)
{
    size_t len = strlen(s);
    uint64_t hash = hash_bytes(s, len);
    size_t i;
    struct strtab_entry *e;

    if ((t->n + 1) * 2 > t->nslots && strtab_rehash(t, t->nslots ? t->nslots * 2 : 64) < 0)
        return -1;
    for (i = hash & (t->nslots - 1); t->slots[i]; i = (i + 1) & (t->nslots - 1)) {
        e = &t->entries[t->slots[i] - 1];
        if (e->hash == hash && e->len == len && memcmp(e->s, s, len) == 0)
            return (int64_t)(t->slots[i] - 1);
    }
    if (pprof_grow((void **)&t->entries, &t->cap, t->n + 1, sizeof *t->entries) < 0)
        return -1;
    e = &t->entries[t->n];
    e->s = malloc(len + 1);
    if (!e->s)
        return -1;
    memcpy(e->s, s, len + 1);
    e->len = len;
    e->hash = hash;
    e->function_id = 0;
    t->slots[i] = (uint32_t)(t->n + 1);
    return (int64_t)t->n++;
}

static void strtab_free(struct strtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->entries[i].s);
    free(t->entries);
    free(t->slots);
}

/* ---- locations and functions ---- */

struct location {
    uintptr_t pc;          /* as sampled: a return address */
    uint64_t function_id;
    int64_t line;
    uint64_t mapping_id;   /* 0: in no loaded object */
    int named, has_file;   /* what the symbolizer gave */
};

struct function {
    int64_t name, file;    /* string table indices */
};

struct pc_slot {
    uintptr_t pc;
    uint32_t location;     /* location id (index + 1); 0 is empty */
};

struct encoder {
    struct strtab strings;
    struct mapping *mappings;
    size_t nmappings;
    struct location *locations;
    size_t nlocations;
    struct function *functions;
    size_t nfunctions, functions_cap;
    struct pc_slot *pc_slots;
    size_t npc_slots;
};

/* Location id of pc, adding a Location when new. Returns 0 on allocation failure. */
static uint32_t location_for_pc(struct encoder *e, uintptr_t pc)
{
    size_t mask = e->npc_slots - 1;
    size_t i;

    for (i = (uint64_t)pc * 0x9e3779b97f4a7c15ull >> 20 & mask; e->pc_slots[i].location;
         i = (i + 1) & mask)
        if (e->pc_slots[i].pc == pc)
            return e->pc_slots[i].location;
    /* Sized for every pc of every sample, so there is always room. */
    e->locations[e->nlocations].pc = pc;
    e->pc_slots[i].pc = pc;
    e->pc_slots[i].location = (uint32_t)++e->nlocations;
    return e->pc_slots[i].location;
}

/* Names a location's pc and links it to the Function of that name. */
static int location_symbolize(struct encoder *e, struct location *loc, pprof_symbolizer symbolize,
                              void *user)
{
    char function[PPROF_NAME_MAX], file[PPROF_FILE_MAX];
    /* A return address: the call is the instruction before it. */
    uintptr_t at = loc->pc ? loc->pc - 1 : 0;
    int line = 0;
    int64_t name, file_index;

    function[0] = '\0';
    file[0] = '\0';
    if (!symbolize || symbolize(at, function, sizeof function, file, sizeof file, &line, user) != 0 ||
        function[0] == '\0') {
        snprintf(function, sizeof function, "0x%" PRIxPTR, at);
        file[0] = '\0';
        line = 0;
    } else {
        loc->named = 1;
        loc->has_file = file[0] != '\0';
    }
    name = strtab_intern(&e->strings, function);
    if (name < 0)
        return -1;
    if (e->strings.entries[name].function_id == 0) {
        file_index = strtab_intern(&e->strings, file);
        if (file_index < 0 ||
            pprof_grow((void **)&e->functions, &e->functions_cap, e->nfunctions + 1, sizeof *e->functions) < 0)
            return -1;
        e->functions[e->nfunctions].name = name;
        e->functions[e->nfunctions].file = file_index;
        e->strings.entries[name].function_id = ++e->nfunctions;
    }
    loc->function_id = e->strings.entries[name].function_id;
    loc->line = line;
    return 0;
}

static void write_value_type(struct pbuf *b, int field, int64_t type, int64_t unit)
{
    size_t start = pprof_pb_start(b);

    pprof_pb_int64_opt(b, VALUE_TYPE_TYPE, type);
    pprof_pb_int64_opt(b, VALUE_TYPE_UNIT, unit);
    pprof_pb_end(b, field, start);
}

static void write_samples(struct pbuf *b, const pprof_profile *p, struct encoder *e)
{
    uint64_t ids[PPROF_MAX_DEPTH];
    uint64_t values[PPROF_MAX_TYPES];

    for (size_t s = 0; s < p->nsamples; s++) {
        const struct pprof_sample *sample = &p->samples[s];
        size_t start = pprof_pb_start(b);

        for (int i = 0; i < sample->npcs; i++)
            ids[i] = location_for_pc(e, p->pcs[sample->first_pc + (size_t)i]);
        for (int i = 0; i < p->ntypes; i++)
            values[i] = (uint64_t)p->values[s * (size_t)p->ntypes + (size_t)i];
        pprof_pb_packed(b, SAMPLE_LOCATION_ID, ids, (size_t)sample->npcs);
        pprof_pb_packed(b, SAMPLE_VALUE, values, (size_t)p->ntypes);
        pprof_pb_end(b, PROFILE_SAMPLE, start);
    }
}

static void write_locations(struct pbuf *b, const struct encoder *e)
{
    for (size_t i = 0; i < e->nlocations; i++) {
        const struct location *loc = &e->locations[i];
        size_t start = pprof_pb_start(b);
        size_t line_start;

        pprof_pb_uint64(b, LOCATION_ID, i + 1);
        pprof_pb_uint64_opt(b, LOCATION_MAPPING_ID, loc->mapping_id);
        pprof_pb_uint64_opt(b, LOCATION_ADDRESS, loc->pc ? loc->pc - 1 : 0);
        line_start = pprof_pb_start(b);
        pprof_pb_uint64(b, LINE_FUNCTION_ID, loc->function_id);
        pprof_pb_int64_opt(b, LINE_LINE, loc->line);
        pprof_pb_end(b, LOCATION_LINE, line_start);
        pprof_pb_end(b, PROFILE_LOCATION, start);
    }
}

static void write_functions(struct pbuf *b, const struct encoder *e)
{
    for (size_t i = 0; i < e->nfunctions; i++) {
        size_t start = pprof_pb_start(b);

        pprof_pb_uint64(b, FUNCTION_ID, i + 1);
        pprof_pb_int64_opt(b, FUNCTION_NAME, e->functions[i].name);
        pprof_pb_int64_opt(b, FUNCTION_SYSTEM_NAME, e->functions[i].name);
        pprof_pb_int64_opt(b, FUNCTION_FILENAME, e->functions[i].file);
        pprof_pb_end(b, PROFILE_FUNCTION, start);
    }
}

int pprof_encode(pprof_profile *p, pprof_symbolizer symbolize, void *user, int gzip,
                 unsigned char **out, size_t *out_len)
{
    struct encoder e;
    struct pbuf b = {0};
    int64_t type[PPROF_MAX_TYPES], unit[PPROF_MAX_TYPES], period_type, period_unit;
    int64_t default_type = 0;
    int rc = -1;

    memset(&e, 0, sizeof e);
    if (!p || !out || !out_len)
        return -1;

    /* Intern every string before writing: the table goes out whole. */
    if (strtab_intern(&e.strings, "") < 0)
        goto done;
    for (int i = 0; i < p->ntypes; i++) {
        type[i] = strtab_intern(&e.strings, p->type[i]);
        unit[i] = strtab_intern(&e.strings, p->unit[i]);
        if (type[i] < 0 || unit[i] < 0)
            goto done;
    }
    period_type = strtab_intern(&e.strings, p->period_type);
    period_unit = strtab_intern(&e.strings, p->period_unit);
    if (period_type < 0 || period_unit < 0)
        goto done;
    if (p->default_sample_type && (default_type = strtab_intern(&e.strings, p->default_sample_type)) < 0)
        goto done;
    if (pprof_mappings_collect(&e.mappings, &e.nmappings) < 0)
        goto done;
    for (size_t i = 0; i < e.nmappings; i++) {
        struct mapping *m = &e.mappings[i];
        m->file_index = strtab_intern(&e.strings, m->file);
        m->build_id_index = strtab_intern(&e.strings, m->build_id);
        if (m->file_index < 0 || m->build_id_index < 0)
            goto done;
    }

    /* Two slots per pc keep the open-addressed pc table at most half full. */
    e.npc_slots = 16;
    while (e.npc_slots < 2 * p->npcs + 2)
        e.npc_slots *= 2;
    e.pc_slots = calloc(e.npc_slots, sizeof *e.pc_slots);
    e.locations = calloc(p->npcs + 1, sizeof *e.locations);
    if (!e.pc_slots || !e.locations)
        goto done;
    for (size_t i = 0; i < p->npcs; i++)
        location_for_pc(&e, p->pcs[i]);
    for (size_t i = 0; i < e.nlocations; i++) {
        struct location *loc = &e.locations[i];
        if (location_symbolize(&e, loc, symbolize, user) < 0)
            goto done;
        loc->mapping_id = pprof_mapping_for(e.mappings, e.nmappings, loc->pc ? loc->pc - 1 : 0);
        if (loc->mapping_id) {
            struct mapping *m = &e.mappings[loc->mapping_id - 1];
            m->locations++;
            m->named += loc->named;
            m->with_files += loc->has_file;
            m->with_lines += loc->line > 0;
        }
    }

    for (int i = 0; i < p->ntypes; i++)
        write_value_type(&b, PROFILE_SAMPLE_TYPE, type[i], unit[i]);
    write_samples(&b, p, &e);
    for (size_t i = 0; i < e.nmappings; i++)
        pprof_mapping_write(&b, &e.mappings[i], i + 1);
    write_locations(&b, &e);
    write_functions(&b, &e);
    for (size_t i = 0; i < e.strings.n; i++)
        pprof_pb_bytes(&b, PROFILE_STRING_TABLE, e.strings.entries[i].s, e.strings.entries[i].len);
    pprof_pb_int64_opt(&b, PROFILE_TIME_NANOS, p->time_nanos);
    pprof_pb_int64_opt(&b, PROFILE_DURATION_NANOS, p->duration_nanos);
    write_value_type(&b, PROFILE_PERIOD_TYPE, period_type, period_unit);
    pprof_pb_int64_opt(&b, PROFILE_PERIOD, p->period);
    pprof_pb_int64_opt(&b, PROFILE_DEFAULT_SAMPLE_TYPE, default_type);
    if (b.failed)
        goto done;

    if (gzip) {
        if (gzip_compress(b.data, b.len, GZIP_FASTEST, out, out_len, NULL, 0) < 0)
            goto done;
    } else {
        *out = b.data;
        *out_len = b.len;
        b.data = NULL;
    }
    rc = 0;
done:
    free(b.data);
    strtab_free(&e.strings);
    free(e.locations);
    free(e.functions);
    free(e.pc_slots);
    free(e.mappings);
    return rc;
}

int pprof_symbolize_with_stacks(uintptr_t pc, char *function, size_t function_len,
                                char *file, size_t file_len, int *line, void *user)
{
    struct stacks_frame frame;
    int rc = stacks_symbolize(pc, &frame);

    if (function_len > 0)
        snprintf(function, function_len, "%s", frame.function);
    if (file_len > 0)
        snprintf(file, file_len, "%s", frame.file);
    if (line)
        *line = frame.line;
    return rc == 0 ? 0 : -1;
}
