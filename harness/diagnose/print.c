/* print: diagnoses for people. See print.h. */
#include "diagnose/print.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/diagnose.h"
#include "store/diagnoses.h"

static void print_lines(FILE *out, const char *text, const char *indent)
{
    while (*text) {
        size_t len = strcspn(text, "\n");
        if (len)
            fprintf(out, "%s%.*s\n", indent, (int)len, text);
        text += len;
        if (*text)
            text++;
    }
}

/* " on instance X" (" on instances X, Y") for a finding on a fleet, "" otherwise. */
static const char *on_instance(const struct diagnose_finding *f, char *buf, size_t len)
{
    if (!f->instance[0])
        return "";
    snprintf(buf, len, " on instance%s %s", strchr(f->instance, ',') ? "s" : "", f->instance);
    return buf;
}

void diagnose_print(FILE *out, const struct diagnose_result *r)
{
    fprintf(out, "Diagnosis of run %lld (%.1fs looked at, %zu thread dumps, %zu profiles):\n", (long long)r->run_id,
            r->span, r->dumps, r->profiles);
    if (!r->n)
        fprintf(out, "  no problem found\n");
    for (size_t i = 0; i < r->n; i++) {
        const struct diagnose_finding *f = &r->findings[i];
        char started[32] = "?", where[300];
        if (!isnan(f->started_at))
            snprintf(started, sizeof started, "t=%.1fs", f->started_at);
        /* Overload has no culprit to find: the workers are healthy, just too few. */
        if (strcmp(f->class_name, "overload") == 0 && !f->culprit[0])
            fprintf(out, "  %zu. %s (no faulty function)%s, from %s (confidence %.1f)\n", i + 1, f->class_name,
                    on_instance(f, where, sizeof where), started, f->confidence);
        else
            fprintf(out, "  %zu. %s in %s%s, from %s (confidence %.1f)\n", i + 1, f->class_name,
                    f->culprit[0] ? f->culprit : "(culprit not found)", on_instance(f, where, sizeof where), started,
                    f->confidence);
        fprintf(out, "     %s\n", f->summary);
        print_lines(out, f->evidence, "       - ");
    }
    if (r->notes[0])
        fprintf(out, "  note: %s\n", r->notes);
}

int diagnose_print_stored(struct resultdb *db, int64_t run_id, FILE *out, char *err, size_t errlen)
{
    struct diagnose_finding *rows = malloc(DIAGNOSE_MAX_FINDINGS * sizeof *rows);
    char diagnosed_at[40] = "";
    size_t n = 0;

    if (!rows) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (diagnoses_load(db, run_id, rows, DIAGNOSE_MAX_FINDINGS, &n, diagnosed_at, sizeof diagnosed_at, err,
                       errlen) < 0) {
        free(rows);
        return -1;
    }
    if (n)
        fprintf(out, "Diagnosis (%s):\n", diagnosed_at);
    for (size_t i = 0; i < n; i++) {
        const struct diagnose_finding *f = &rows[i];
        char where[300];
        if (strcmp(f->class_name, "none") == 0) {
            fprintf(out, "  no problem found\n");
            continue;
        }
        fprintf(out, "  %s in %s%s", f->class_name, f->culprit[0] ? f->culprit : "-",
                on_instance(f, where, sizeof where));
        if (!isnan(f->started_at))
            fprintf(out, ", from t=%.1fs", f->started_at);
        fprintf(out, " (confidence %.1f)\n     %s\n", f->confidence, f->summary);
        print_lines(out, f->evidence, "       - ");
    }
    free(rows);
    return 0;
}
