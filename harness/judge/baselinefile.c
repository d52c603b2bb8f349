/* baselinefile: baselines as JSON files; see baselinefile.h. */
#include "judge/baselinefile.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct baselinefile *baselinefile_new(void)
{
    struct baselinefile *bf = calloc(1, sizeof *bf);
    time_t now = time(NULL);
    struct tm tm;
    if (!bf)
        return NULL;
    gmtime_r(&now, &tm);
    strftime(bf->created, sizeof bf->created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    baselinefile_this_machine(bf->cpu_model, sizeof bf->cpu_model, &bf->cpus);
    return bf;
}

void baselinefile_free(struct baselinefile *bf)
{
    if (!bf)
        return;
    for (size_t s = 0; s < bf->nscenarios; s++) {
        for (size_t f = 0; f < bf->scenarios[s].nfigures; f++)
            free(bf->scenarios[s].figures[f].values);
        free(bf->scenarios[s].figures);
    }
    free(bf->scenarios);
    free(bf);
}

void baselinefile_this_machine(char *cpu_model, size_t len, unsigned *cpus)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(cpu_model, len, "unknown");
    *cpus = online > 0 ? (unsigned)online : 0;
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v) {
                v += 1 + strspn(v + 1, " \t");
                v[strcspn(v, "\n")] = '\0';
                snprintf(cpu_model, len, "%s", v);
            }
            break;
        }
    }
    fclose(f);
}

void baselinefile_digest(const char *text, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static struct baselinefile_scenario *find_scenario(const struct baselinefile *bf, const char *name)
{
    for (size_t s = 0; s < bf->nscenarios; s++)
        if (strcmp(bf->scenarios[s].name, name) == 0)
            return &bf->scenarios[s];
    return NULL;
}

static struct baselinefile_figure *find_figure(const struct baselinefile_scenario *sc, const char *name)
{
    for (size_t f = 0; f < sc->nfigures; f++)
        if (strcmp(sc->figures[f].name, name) == 0)
            return &sc->figures[f];
    return NULL;
}

/* Copies text into dst[size] or fails naming what. */
static int copy_text(char *dst, size_t size, const char *text, const char *what, char *err, size_t errlen)
{
    if (strlen(text) >= size) {
        snprintf(err, errlen, "%s longer than %zu bytes", what, size - 1);
        return -1;
    }
    memcpy(dst, text, strlen(text) + 1);
    return 0;
}

int baselinefile_add(struct baselinefile *bf, const char *scenario, const char *definition,
                     const char *figure, const char *counter, const double *values, size_t n,
                     char *err, size_t errlen)
{
    struct baselinefile_scenario *sc = find_scenario(bf, scenario);
    struct baselinefile_figure fig = {0};

    if (n > BASELINEFILE_MAX_VALUES) {
        snprintf(err, errlen, "at most %d values a figure, not %zu", BASELINEFILE_MAX_VALUES, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i])) {
            snprintf(err, errlen, "%s of %s: value %zu is not a finite number", figure, scenario, i);
            return -1;
        }
    }
    if (copy_text(fig.name, sizeof fig.name, figure, "figure name", err, errlen) < 0 ||
        copy_text(fig.counter, sizeof fig.counter, counter ? counter : "", "counter name", err, errlen) < 0)
        return -1;
    if (!sc) {
        struct baselinefile_scenario fresh = {0}, *grown;
        if (bf->nscenarios == BASELINEFILE_MAX_SCENARIOS) {
            snprintf(err, errlen, "at most %d scenarios", BASELINEFILE_MAX_SCENARIOS);
            return -1;
        }
        if (copy_text(fresh.name, sizeof fresh.name, scenario, "scenario name", err, errlen) < 0 ||
            copy_text(fresh.definition, sizeof fresh.definition, definition, "definition", err, errlen) < 0)
            return -1;
        if (!(grown = realloc(bf->scenarios, (bf->nscenarios + 1) * sizeof *grown))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        bf->scenarios = grown;
        bf->scenarios[bf->nscenarios] = fresh;
        sc = &bf->scenarios[bf->nscenarios++];
    } else if (strcmp(sc->definition, definition) != 0) {
        snprintf(err, errlen, "scenario %s given with two definitions (%s, %s)", scenario, sc->definition,
                 definition);
        return -1;
    }
    if (find_figure(sc, figure)) {
        snprintf(err, errlen, "%s of %s given twice", figure, scenario);
        return -1;
    }
    if (sc->nfigures == BASELINEFILE_MAX_FIGURES) {
        snprintf(err, errlen, "at most %d figures a scenario", BASELINEFILE_MAX_FIGURES);
        return -1;
    }
    struct baselinefile_figure *grown = realloc(sc->figures, (sc->nfigures + 1) * sizeof *grown);
    if (!grown || !(fig.values = malloc((n ? n : 1) * sizeof *fig.values))) {
        if (grown)
            sc->figures = grown;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sc->figures = grown;
    if (n)
        memcpy(fig.values, values, n * sizeof *values);
    fig.nvalues = n;
    sc->figures[sc->nfigures++] = fig;
    return 0;
}

static json_t *figure_json(const struct baselinefile_figure *f)
{
    json_t *values = json_array();
    for (size_t i = 0; values && i < f->nvalues; i++)
        json_array_append_new(values, json_real(f->values[i]));
    return json_pack("{s:s, s:s, s:o}", "figure", f->name, "counter", f->counter, "values", values);
}

int baselinefile_write(const struct baselinefile *bf, FILE *out, char *err, size_t errlen)
{
    json_t *scenarios = json_array(), *root;
    int rc = -1;
    for (size_t s = 0; scenarios && s < bf->nscenarios; s++) {
        json_t *figures = json_array();
        for (size_t f = 0; figures && f < bf->scenarios[s].nfigures; f++)
            json_array_append_new(figures, figure_json(&bf->scenarios[s].figures[f]));
        json_array_append_new(scenarios, json_pack("{s:s, s:s, s:o}", "name", bf->scenarios[s].name,
                                                   "definition", bf->scenarios[s].definition,
                                                   "figures", figures));
    }
    root = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:{s:s, s:i}, s:o}", "format", BASELINEFILE_FORMAT,
                     "version", BASELINEFILE_VERSION, "label", bf->label, "revision", bf->revision,
                     "loadlab_version", bf->loadlab_version, "created", bf->created, "machine",
                     "cpu_model", bf->cpu_model, "cpus", (json_int_t)bf->cpus, "scenarios", scenarios);
    if (!root) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) < 0 ||
        fputc('\n', out) == EOF || fflush(out) == EOF)
        snprintf(err, errlen, "cannot write the baseline: %s", strerror(errno));
    else
        rc = 0;
    json_decref(root);
    return rc;
}

/* Reading: every error names the file and the field. */
#define BASELINEFILE_STR(x) #x
#define BASELINEFILE_LIMIT(x) BASELINEFILE_STR(x)
struct reader {
    const char *path;
    char *err;
    size_t errlen;
};

static int bad(struct reader *r, const char *field, const char *what)
{
    snprintf(r->err, r->errlen, "%s: %s: %s", r->path, field, what);
    return -1;
}

static int read_text(struct reader *r, json_t *obj, const char *key, const char *field, char *dst,
                     size_t size, bool required)
{
    char name[160];
    json_t *v = json_object_get(obj, key);
    snprintf(name, sizeof name, "%s%s%s", field, *field ? "." : "", key);
    if (!v) {
        if (!required) {
            dst[0] = '\0';
            return 0;
        }
        return bad(r, name, "missing");
    }
    if (!json_is_string(v))
        return bad(r, name, "not a string");
    if (json_string_length(v) >= size || strlen(json_string_value(v)) != json_string_length(v)) {
        char why[64];
        snprintf(why, sizeof why, "longer than %zu bytes or holds a NUL", size - 1);
        return bad(r, name, why);
    }
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int read_figure(struct reader *r, struct baselinefile *bf, const char *scenario,
                       const char *definition, json_t *fj, const char *field)
{
    char name[64], counter[32], vfield[200];
    double *values = NULL;
    json_t *vs, *v;
    size_t i;
    int rc;

    if (!json_is_object(fj))
        return bad(r, field, "not an object");
    if (read_text(r, fj, "figure", field, name, sizeof name, true) < 0 ||
        read_text(r, fj, "counter", field, counter, sizeof counter, false) < 0)
        return -1;
    snprintf(vfield, sizeof vfield, "%s.values", field);
    vs = json_object_get(fj, "values");
    if (!json_is_array(vs))
        return bad(r, vfield, vs ? "not an array" : "missing");
    if (json_array_size(vs) > BASELINEFILE_MAX_VALUES) {
        char why[64];
        snprintf(why, sizeof why, "more than %d values", BASELINEFILE_MAX_VALUES);
        return bad(r, vfield, why);
    }
    if (!(values = malloc((json_array_size(vs) + 1) * sizeof *values)))
        return bad(r, vfield, "out of memory");
    json_array_foreach(vs, i, v) {
        if (!json_is_number(v) || !isfinite(json_number_value(v))) {
            snprintf(vfield, sizeof vfield, "%s.values[%zu]", field, i);
            free(values);
            return bad(r, vfield, "not a number");
        }
        values[i] = json_number_value(v);
    }
    char why[256];
    rc = baselinefile_add(bf, scenario, definition, name, counter, values, json_array_size(vs), why, sizeof why);
    free(values);
    return rc < 0 ? bad(r, field, why) : 0;
}

static int read_scenarios(struct reader *r, struct baselinefile *bf, json_t *list)
{
    size_t s, f;
    json_t *sj, *fj;
    if (!json_is_array(list))
        return bad(r, "scenarios", list ? "not an array" : "missing");
    if (json_array_size(list) > BASELINEFILE_MAX_SCENARIOS)
        return bad(r, "scenarios", "more scenarios than " BASELINEFILE_LIMIT(BASELINEFILE_MAX_SCENARIOS));
    json_array_foreach(list, s, sj) {
        char field[64], name[128], definition[32], ffield[128];
        json_t *figures;
        snprintf(field, sizeof field, "scenarios[%zu]", s);
        if (!json_is_object(sj))
            return bad(r, field, "not an object");
        if (read_text(r, sj, "name", field, name, sizeof name, true) < 0 ||
            read_text(r, sj, "definition", field, definition, sizeof definition, true) < 0)
            return -1;
        for (size_t before = 0; before < s; before++) {
            json_t *other = json_object_get(json_array_get(list, before), "name");
            if (json_is_string(other) && strcmp(json_string_value(other), name) == 0)
                return bad(r, field, "a scenario named twice");
        }
        figures = json_object_get(sj, "figures");
        snprintf(ffield, sizeof ffield, "%s.figures", field);
        if (!json_is_array(figures))
            return bad(r, ffield, figures ? "not an array" : "missing");
        if (json_array_size(figures) > BASELINEFILE_MAX_FIGURES)
            return bad(r, ffield, "more figures than " BASELINEFILE_LIMIT(BASELINEFILE_MAX_FIGURES));
        json_array_foreach(figures, f, fj) {
            snprintf(ffield, sizeof ffield, "%s.figures[%zu]", field, f);
            if (read_figure(r, bf, name, definition, fj, ffield) < 0)
                return -1;
        }
    }
    return 0;
}

struct baselinefile *baselinefile_read(const char *path, char *err, size_t errlen)
{
    struct reader r = {path, err, errlen};
    struct baselinefile *bf = NULL;
    json_t *root = NULL, *machine, *v;
    json_error_t jerr;
    struct stat st;

    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (st.st_size > BASELINEFILE_MAX_BYTES) {
        snprintf(err, errlen, "%s: larger than %d bytes", path, BASELINEFILE_MAX_BYTES);
        return NULL;
    }
    if (!(root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr))) {
        snprintf(err, errlen, "%s:%d: not JSON: %s", path, jerr.line, jerr.text);
        return NULL;
    }
    if (!(bf = calloc(1, sizeof *bf))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!json_is_object(root)) {
        bad(&r, "(top)", "not an object");
        goto fail;
    }
    v = json_object_get(root, "format");
    if (!json_is_string(v) || strcmp(json_string_value(v), BASELINEFILE_FORMAT) != 0) {
        bad(&r, "format", "not a loadlab baseline (format must be \"" BASELINEFILE_FORMAT "\")");
        goto fail;
    }
    v = json_object_get(root, "version");
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        bad(&r, "version", "missing or not a positive integer");
        goto fail;
    }
    if (json_integer_value(v) > BASELINEFILE_VERSION) {
        bad(&r, "version", "written by a newer loadlab");
        goto fail;
    }
    if (read_text(&r, root, "label", "", bf->label, sizeof bf->label, false) < 0 ||
        read_text(&r, root, "revision", "", bf->revision, sizeof bf->revision, false) < 0 ||
        read_text(&r, root, "loadlab_version", "", bf->loadlab_version, sizeof bf->loadlab_version, false) < 0 ||
        read_text(&r, root, "created", "", bf->created, sizeof bf->created, false) < 0)
        goto fail;
    machine = json_object_get(root, "machine");
    if (!json_is_object(machine)) {
        bad(&r, "machine", machine ? "not an object" : "missing");
        goto fail;
    }
    if (read_text(&r, machine, "cpu_model", "machine", bf->cpu_model, sizeof bf->cpu_model, true) < 0)
        goto fail;
    v = json_object_get(machine, "cpus");
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65536) {
        bad(&r, "machine.cpus", "missing or not a CPU count");
        goto fail;
    }
    bf->cpus = (unsigned)json_integer_value(v);
    if (read_scenarios(&r, bf, json_object_get(root, "scenarios")) < 0)
        goto fail;
    json_decref(root);
    return bf;
fail:
    json_decref(root);
    baselinefile_free(bf);
    return NULL;
}

int baselinefile_lookup(const struct baselinefile *bf, const char *scenario, const char *definition,
                        const char *figure, const char *counter, const char *cpu_model, unsigned cpus,
                        const double **values, size_t *n, char *warning, size_t warnlen,
                        char *err, size_t errlen)
{
    const struct baselinefile_scenario *sc = find_scenario(bf, scenario);
    const struct baselinefile_figure *f;

    if (!sc) {
        snprintf(err, errlen, "the baseline has no scenario %s", scenario);
        return -1;
    }
    if (strcmp(sc->definition, definition) != 0) {
        snprintf(err, errlen, "scenario %s was defined differently when the baseline was made "
                 "(definition %s, now %s): its figures are not comparable; make a new baseline",
                 scenario, sc->definition, definition);
        return -1;
    }
    if (!(f = find_figure(sc, figure))) {
        snprintf(err, errlen, "the baseline has no %s for scenario %s", figure, scenario);
        return -1;
    }
    if (!counter)
        counter = "";
    if (strcmp(f->counter, counter) != 0) {
        snprintf(err, errlen, "the baseline's %s of %s was counted with %s, this run's with %s: "
                 "counts of two counters are never compared", figure, scenario,
                 *f->counter ? f->counter : "no counter", *counter ? counter : "no counter");
        return -1;
    }
    *values = f->values;
    *n = f->nvalues;
    if (warning && warnlen)
        warning[0] = '\0';
    if (!*counter && (strcmp(bf->cpu_model, cpu_model) != 0 || bf->cpus != cpus)) {
        if (warning && warnlen)
            snprintf(warning, warnlen, "the baseline's %s of %s was measured on another machine "
                     "(%u x %s, now %u x %s)", figure, scenario, bf->cpus, bf->cpu_model, cpus, cpu_model);
        return 1;
    }
    return 0;
}
