/* baselinefile: a baseline as a file, for CI runners that are gone after the job.
 *
 * A regression gate needs the baseline's figures. On a runner that keeps nothing
 * between jobs, the results database of the main branch's last build is not there;
 * a small JSON file kept as a build artifact, in a cache or on a branch is. It holds,
 * per scenario, every figure a regression gate compares (one value per run), with
 * what makes a comparison meaningful or not:
 *  - the scenario's definition digest: a candidate run of a scenario whose load,
 *    phases or gates changed is not comparable to the old figures (an error);
 *  - the counter of each cost figure (hw-instructions or callgrind): counts of two
 *    counters are never compared (an error);
 *  - the machine (CPU model and count): wall-clock figures from another kind of
 *    machine are compared only when the caller allows it (a warning otherwise
 *    refused); instruction counts do not depend on it;
 *  - the build revision, label, loadlab version and time, for the record.
 * Read with hard limits and errors that name the field ("scenarios[2].figures[0].values[3]:
 * not a number"), since the file comes from another job. */
#ifndef LOADLAB_BASELINEFILE_H
#define LOADLAB_BASELINEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define BASELINEFILE_FORMAT "loadlab-baseline"
#define BASELINEFILE_VERSION 1
#define BASELINEFILE_MAX_BYTES (16 * 1024 * 1024)
#define BASELINEFILE_MAX_SCENARIOS 256
#define BASELINEFILE_MAX_FIGURES 64
#define BASELINEFILE_MAX_VALUES 1000
#define BASELINEFILE_MAX_TEXT 256

struct baselinefile_figure {
    char name[64];                 /* a gate figure: "throughput", "instructions_per_request" */
    char counter[32];              /* the cost counter for cost figures, else "" */
    double *values;                /* one per run, oldest first */
    size_t nvalues;
};

struct baselinefile_scenario {
    char name[128];
    char definition[32];           /* digest of the scenario's definition (hex) */
    struct baselinefile_figure *figures;
    size_t nfigures;
};

struct baselinefile {
    char label[BASELINEFILE_MAX_TEXT];
    char revision[BASELINEFILE_MAX_TEXT];
    char loadlab_version[64];
    char created[32];              /* UTC, ISO 8601 */
    char cpu_model[BASELINEFILE_MAX_TEXT];
    unsigned cpus;
    struct baselinefile_scenario *scenarios;
    size_t nscenarios;
};

/* A new, empty baseline with the machine filled in from this machine (CPU model from
 * /proc/cpuinfo, online CPUs) and created set to now. NULL when out of memory. */
struct baselinefile *baselinefile_new(void);
void baselinefile_free(struct baselinefile *bf);

/* Adds one figure's values for a scenario (created on first use with definition;
 * a second call for the same scenario must give the same definition). Values are
 * copied. Returns 0, or -1 with err filled: a limit reached, a name too long, a
 * non-finite value, the figure already present, a conflicting definition. */
int baselinefile_add(struct baselinefile *bf, const char *scenario, const char *definition,
                     const char *figure, const char *counter, const double *values, size_t n,
                     char *err, size_t errlen);

/* Writes bf as indented JSON. Returns 0, or -1 with err filled on a write error. */
int baselinefile_write(const struct baselinefile *bf, FILE *out, char *err, size_t errlen);

/* Reads a baseline file. Returns a new baseline (free with baselinefile_free), or NULL
 * with err filled: "PATH: ..." naming the field for anything malformed, missing, of
 * another format or of a newer version, or over a limit. */
struct baselinefile *baselinefile_read(const char *path, char *err, size_t errlen);

/* The values of figure for scenario, checked for comparability with a candidate whose
 * scenario definition, counter ("" for a non-cost figure) and machine are given:
 * returns 0 with *values (owned by bf) and *n; 1 with the same and warning filled when
 * only the machine differs and the figure is a wall-clock one (the caller decides);
 * -1 with err filled when the scenario or figure is absent or a definition or counter
 * differs (the words name both sides). */
int baselinefile_lookup(const struct baselinefile *bf, const char *scenario, const char *definition,
                        const char *figure, const char *counter, const char *cpu_model, unsigned cpus,
                        const double **values, size_t *n, char *warning, size_t warnlen,
                        char *err, size_t errlen);

/* A digest of a scenario's definition text (16 hex digits of FNV-1a 64) into out. */
void baselinefile_digest(const char *text, char out[17]);

/* This machine's CPU model ("unknown" when /proc/cpuinfo does not say) and online CPUs. */
void baselinefile_this_machine(char *cpu_model, size_t len, unsigned *cpus);

#endif
