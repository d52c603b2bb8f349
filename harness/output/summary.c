/* summary: the end-of-suite table. See summary.h. */
#include "output/summary.h"
#include "judge/verdict.h"
#include "output/colour.h"

#include <math.h>
#include <string.h>

#include "units.h"

#define NAME_WIDTH_MAX 40

const char *summary_gate_result(const struct gate_result *g)
{
    return verdict_word_loud(verdict_of_gate(g->verdict, g->expected_to_fail));
}

static const char *scenario_result(const struct runner_outcome *o)
{
    if (o->interrupted)
        return "INTERRUPTED";
    if (!o->judged || o->status != RUNNER_COMPLETED)
        return "ERROR";
    for (size_t i = 0; i < o->ngates; i++)
        if (o->gates[i].verdict == GATE_ERROR)
            return "ERROR";
    return o->met ? "met expectations" : "DID NOT MEET EXPECTATIONS";
}

static void print_load(FILE *out, const struct wrkres *w)
{
    double rate = wrkres_error_rate(w);
    char requests[32], throughput[48], p50[32], p99[32], errors[32];
    fprintf(out, "  load: %s requests in %.1fs, %s, p50 %s, p99 %s, errors %s",
            units_format_count((double)w->requests, requests, sizeof requests), w->duration_s,
            units_format_rate(wrkres_throughput(w), "req", throughput, sizeof throughput),
            units_format_seconds(w->latency_p50, p50, sizeof p50), units_format_seconds(w->latency_p99, p99, sizeof p99),
            units_format_share(isnan(rate) ? 0 : rate, errors, sizeof errors));
    if (wrkres_errors(w))
        fprintf(out, " (connect %llu, read %llu, write %llu, timeout %llu, status %llu)",
                (unsigned long long)w->errors_connect, (unsigned long long)w->errors_read,
                (unsigned long long)w->errors_write, (unsigned long long)w->errors_timeout,
                (unsigned long long)w->errors_status);
    fputc('\n', out);
}

void summary_print(FILE *out, const struct runner_outcome *outcomes, size_t n,
                   const char *db_path, double wall_s)
{
    static const char *const status_names[] = {"completed", "aborted", "crashed"};
    int width = 12;
    size_t met = 0, errors = 0;
    int64_t first = 0, last = 0;
    bool colour = colour_wanted(out);

    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < outcomes[k].ngates; i++) {
            int len = (int)strlen(outcomes[k].gates[i].spec->name);
            if (len > width && len <= NAME_WIDTH_MAX)
                width = len;
        }
    fputc('\n', out);
    for (size_t k = 0; k < n; k++) {
        const struct runner_outcome *o = &outcomes[k];
        const char *result = scenario_result(o);

        if (o->run_id && (!first || o->run_id < first))
            first = o->run_id;
        if (o->run_id > last)
            last = o->run_id;
        if (strcmp(result, "met expectations") == 0)
            met++;
        else if (strcmp(result, "DID NOT MEET EXPECTATIONS") != 0)
            errors++;
        enum colour rc = strcmp(result, "met expectations") == 0            ? COLOUR_GREEN
                         : strcmp(result, "DID NOT MEET EXPECTATIONS") == 0 ? COLOUR_RED
                                                                              : COLOUR_YELLOW;
        fprintf(out, "%s  (run %lld, %s, %.1fs): %s%s%s\n", o->scenario->name, (long long)o->run_id,
                status_names[o->status], o->wall_s, colour_start(colour, rc), result, colour_end(colour, rc));
        if (o->have_load)
            print_load(out, &o->load);
        if (o->have_cost)
            fprintf(out, "  cost: %.1f instructions per request (%llu over %u requests in %.1fs, counted with %s)\n",
                    o->cost.instructions_per_request, (unsigned long long)o->cost.count, o->cost.requests,
                    o->cost.seconds, costmeter_kind_name(o->cost.kind));
        for (size_t i = 0; i < o->ngates; i++) {
            const struct gate_result *g = &o->gates[i];
            char observed[64], threshold[GATE_MAX_THRESHOLD_TEXT + 32];
            if ((int)strlen(g->spec->name) > width)  /* a long metric gate gets a line of its own */
                fprintf(out, "  %s\n  %-*s", g->spec->name, width, "");
            else
                fprintf(out, "  %-*s", width, g->spec->name);
            enum colour gc = colour_of_verdict(verdict_of_gate(g->verdict, g->expected_to_fail));
            fprintf(out, "  %-18s %-14s %s%s%s", gate_format_threshold(g->spec, threshold, sizeof threshold),
                    gate_format_observed(g->spec, g->observed, observed, sizeof observed), colour_start(colour, gc),
                    summary_gate_result(g), colour_end(colour, gc));
            if (g->verdict == GATE_ERROR || g->detail[0])
                fprintf(out, "%s%s", g->verdict == GATE_ERROR ? ": " : "  ", g->detail);
            fputc('\n', out);
        }
        if (o->reason[0])
            fprintf(out, "  %s: %s\n", o->status == RUNNER_COMPLETED ? "note" : "reason", o->reason);
    }
    fprintf(out, "\n%zu scenario%s: %zu met expectations, %zu did not, %zu could not be judged. ",
            n, n == 1 ? "" : "s", met, n - met - errors, errors);
    if (first)
        fprintf(out, "Runs %lld-%lld in %s. ", (long long)first, (long long)last, db_path);
    fprintf(out, "Wall time %.1fs.\n", wall_s);
}
