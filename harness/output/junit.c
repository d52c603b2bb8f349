/* junit: JUnit XML writer. See junit.h. */
#include "output/junit.h"
#include "judge/verdict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* Writes text escaped for an XML attribute or element; control characters that XML
 * 1.0 cannot carry become spaces. */
static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            fputc(c < 0x20 && c != '\t' && c != '\n' && c != '\r' ? ' ' : c, f);
        }
    }
}

static void put_attr(FILE *f, const char *name, const char *value)
{
    fprintf(f, " %s=\"", name);
    put_escaped(f, value);
    fputc('"', f);
}

static const char *run_problem(const struct runner_outcome *o)
{
    if (o->status == RUNNER_CRASHED)
        return "run crashed";
    if (o->status == RUNNER_ABORTED)
        return o->interrupted ? "run interrupted" : "run aborted";
    return NULL;
}

/* One testcase: spec is the gate (NULL for a scenario without gates), g its result
 * (NULL when the run was not judged). */
static void write_testcase(FILE *f, const struct runner_outcome *o, const struct gate_spec *spec,
                           const struct gate_result *g)
{
    char observed[64], msg[1200], classname[200];
    const char *problem = run_problem(o);

    snprintf(classname, sizeof classname, "loadlab.%s", o->scenario->name);
    fputs("    <testcase", f);
    put_attr(f, "classname", classname);
    put_attr(f, "name", spec ? spec->name : "run");
    fputs(" time=\"0\">\n", f);
    if (!g && !problem && o->judged) {
        /* judged without this gate (an interleaved comparison judges regression gates only) */
        fputs("      <skipped", f);
        put_attr(f, "message", o->reason);
        fputs("/>\n", f);
    } else if (!g || problem) {
        snprintf(msg, sizeof msg, "%s: %s", problem ? problem : "not judged", o->reason);
        fputs("      <error", f);
        put_attr(f, "message", msg);
        put_attr(f, "type", "run");
        fputs("/>\n", f);
    } else {
        char threshold[GATE_MAX_THRESHOLD_TEXT + 32];
        gate_format_observed(g->spec, g->observed, observed, sizeof observed);
        snprintf(msg, sizeof msg, "%s: observed %s, threshold %s: %s", g->spec->name, observed,
                 gate_format_threshold(g->spec, threshold, sizeof threshold),
                 verdict_word_loud(verdict_of_gate(g->verdict, g->expected_to_fail)));
        if (g->instances) {
            size_t used = strlen(msg);
            snprintf(msg + used, sizeof msg - used, " (worst of %u instances: %s)", g->instances, g->instance);
        }
        if (g->verdict == GATE_ERROR) {
            size_t used = strlen(msg);
            snprintf(msg + used, sizeof msg - used, " (%s)", g->detail);
            fputs("      <error", f);
            put_attr(f, "message", msg);
            put_attr(f, "type", "gate");
            fputs("/>\n", f);
        } else if (!verdict_met(verdict_of_gate(g->verdict, g->expected_to_fail))) {
            fputs("      <failure", f);
            put_attr(f, "message", msg);
            put_attr(f, "type", g->expected_to_fail ? "expected-to-fail" : "gate");
            fputs("/>\n", f);
        } else {
            fputs("      <system-out>", f);
            put_escaped(f, msg);
            fputs("</system-out>\n", f);
        }
    }
    fputs("    </testcase>\n", f);
}

static void count(const struct runner_outcome *o, size_t *tests, size_t *failures, size_t *errors, size_t *skipped)
{
    bool broken = run_problem(o) || !o->judged;
    size_t ngates = o->scenario->ngates;
    *tests = ngates ? ngates : (broken ? 1 : 0);
    *failures = *errors = 0;
    *skipped = broken || o->ngates >= ngates ? 0 : ngates - o->ngates;
    if (broken) {
        *errors = *tests;
        return;
    }
    for (size_t i = 0; i < o->ngates; i++) {
        const struct gate_result *g = &o->gates[i];
        if (g->verdict == GATE_ERROR)
            (*errors)++;
        else if (!verdict_met(verdict_of_gate(g->verdict, g->expected_to_fail)))
            (*failures)++;
    }
}

/* The suites of the extra cases: one per run of adjacent cases with the same suite. */
static void write_cases(FILE *f, const struct junit_case *cases, size_t ncases)
{
    static const char *const elements[] = {NULL, "failure", "skipped", "error"};

    for (size_t i = 0; i < ncases;) {
        size_t end = i, counts[4] = {0};
        while (end < ncases && strcmp(cases[end].suite, cases[i].suite) == 0)
            counts[cases[end++].outcome]++;
        fputs("  <testsuite", f);
        put_attr(f, "name", cases[i].suite);
        fprintf(f, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"0\">\n",
                end - i, counts[JUNIT_CASE_FAILED], counts[JUNIT_CASE_ERROR], counts[JUNIT_CASE_SKIPPED]);
        for (; i < end; i++) {
            char classname[200];
            snprintf(classname, sizeof classname, "loadlab.%s", cases[i].suite);
            fputs("    <testcase", f);
            put_attr(f, "classname", classname);
            put_attr(f, "name", cases[i].name);
            fputs(" time=\"0\">\n", f);
            if (elements[cases[i].outcome]) {
                fprintf(f, "      <%s", elements[cases[i].outcome]);
                put_attr(f, "message", cases[i].message);
                fputs("/>\n", f);
            } else {
                fputs("      <system-out>", f);
                put_escaped(f, cases[i].message);
                fputs("</system-out>\n", f);
            }
            fputs("    </testcase>\n", f);
        }
        fputs("  </testsuite>\n", f);
    }
}

int junit_write(const char *path, const struct runner_outcome *outcomes, size_t n,
                char *err, size_t errlen)
{
    return junit_write_with_cases(path, outcomes, n, NULL, 0, err, errlen);
}

int junit_write_with_cases(const char *path, const struct runner_outcome *outcomes, size_t n,
                           const struct junit_case *cases, size_t ncases, char *err, size_t errlen)
{
    char tmp[4096];
    size_t tests = 0, failures = 0, errors = 0;
    double time = 0;
    FILE *f;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        size_t t, fl, e, sk;
        count(&outcomes[k], &t, &fl, &e, &sk);
        tests += t;
        failures += fl;
        errors += e;
        time += outcomes[k].wall_s;
    }
    for (size_t i = 0; i < ncases; i++) {
        tests++;
        failures += cases[i].outcome == JUNIT_CASE_FAILED;
        errors += cases[i].outcome == JUNIT_CASE_ERROR;
    }
    /* the common JUnit schema has no skipped count on testsuites; each testsuite has its own */
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites name=\"loadlab\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n",
            tests, failures, errors, time);
    for (size_t k = 0; k < n; k++) {
        const struct runner_outcome *o = &outcomes[k];
        char run[32];
        size_t t, fl, e, sk;
        count(o, &t, &fl, &e, &sk);
        fputs("  <testsuite", f);
        put_attr(f, "name", o->scenario->name);
        fprintf(f, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n", t, fl, e,
                sk, o->wall_s);
        snprintf(run, sizeof run, "%lld", (long long)o->run_id);
        fputs("    <properties>\n      <property name=\"run_id\"", f);
        put_attr(f, "value", run);
        fputs("/>\n      <property name=\"scenario_file\"", f);
        put_attr(f, "value", o->scenario->file);
        fputs("/>\n    </properties>\n", f);
        for (size_t i = 0; i < o->scenario->ngates; i++)
            write_testcase(f, o, &o->scenario->gates[i], o->judged && i < o->ngates ? &o->gates[i] : NULL);
        if (!o->scenario->ngates && t)
            write_testcase(f, o, NULL, NULL);
        fputs("  </testsuite>\n", f);
    }
    write_cases(f, cases, ncases);
    fputs("</testsuites>\n", f);
    if (ferror(f) | (fclose(f) != 0)) {
        snprintf(err, errlen, "%s: write failed", tmp);
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

void junit_regression_cases(const struct regression_result *results, size_t n, struct junit_case *cases)
{
    for (size_t i = 0; i < n; i++) {
        const struct regression_result *r = &results[i];
        struct junit_case *c = &cases[i];
        char base[48], cand[48];

        memset(c, 0, sizeof *c);
        snprintf(c->suite, sizeof c->suite, "regression.%s", r->scenario);
        snprintf(c->name, sizeof c->name, "%s", r->spec.name);
        const char *what = r->method == REGRESSION_METHOD_INTERLEAVED ? "run" : "runs";
        char numbers[200];

        gate_format_observed(&r->spec, r->baseline_median, base, sizeof base);
        gate_format_observed(&r->spec, r->candidate_median, cand, sizeof cand);
        char change[GATE_MAX_THRESHOLD_TEXT + 32];
        snprintf(c->message, sizeof c->message, "%s %s: baseline %s %s (%s %s), candidate %s %s (%s %s), %s: %s: %s",
                 r->spec.name, gate_format_threshold(&r->spec, change, sizeof change), r->baseline_label, base, what, r->baseline_runs,
                 r->candidate_label, cand, what, r->candidate_runs,
                 regression_format_numbers(r, numbers, sizeof numbers),
                 regression_verdict_word(r->verdict), r->detail);
        c->outcome = r->verdict == REGRESSION_FAIL ? JUNIT_CASE_FAILED
                     : r->verdict == REGRESSION_ERROR ? JUNIT_CASE_ERROR
                     : r->verdict == REGRESSION_INCONCLUSIVE ? JUNIT_CASE_SKIPPED
                                                             : JUNIT_CASE_PASSED;
    }
}
