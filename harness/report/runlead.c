/* runlead: what a run's page opens with. See runlead.h. */
#include "report/runlead.h"

#include <math.h>
#include <string.h>

#include "report/html.h"
#include "report/runpage.h"

/* The gates whose threshold was crossed, whatever the scenario expected: with the
 * diagnosis, what is wrong. Each links to the chart that shows it. */
static void write_tripped(FILE *f, const struct runinfo *run, const struct runcharts *charts)
{
    char observed[64], threshold[GATE_MAX_THRESHOLD_TEXT + 32];
    size_t tripped = 0;

    for (size_t i = 0; i < run->ngates; i++)
        tripped += run->gates_judged && run->gates[i].passed == 0;
    if (!run->gates_judged) {
        fputs("<p class=\"muted\" id=\"tripped\">The gates were not judged in this run.</p>\n", f);
        return;
    }
    if (tripped == 0) {
        fprintf(f, "<p id=\"tripped\">No gate tripped: all %zu held%s.</p>\n", run->ngates,
                run->ngates ? "" : " (the scenario has none)");
        return;
    }
    fprintf(f, "<div class=\"tripped\" id=\"tripped\"><b>%zu of %zu gates tripped:</b><ul>", tripped, run->ngates);
    for (size_t i = 0; i < run->ngates; i++) {
        const struct runinfo_gate *g = &run->gates[i];
        char stem[32];
        bool linked;
        if (g->passed != 0)
            continue;
        linked = runcharts_chart_for_gate(run, i, stem, sizeof stem) && runcharts_has(charts, stem);
        fputs("<li><b>", f);
        if (linked)
            fprintf(f, "<a href=\"#%s\">", stem);
        html_escape(f, g->name);
        fputs(linked ? "</a></b> " : "</b> ", f);
        html_escape(f, runpage_format_observed(g, observed, sizeof observed));
        fputs(" against a threshold of ", f);
        html_escape(f, runpage_format_threshold(g, threshold, sizeof threshold));
        fputs(g->expected_to_fail ? " <span class=\"muted small\">(the scenario expects it to trip)</span>" : "", f);
        fputs("</li>", f);
    }
    fputs("</ul></div>\n", f);
}

void runlead_write(FILE *f, const struct runinfo *run, const struct runcharts *charts)
{
    char when[40];

    fputs("<h2 id=\"diagnosis\">Diagnosis</h2>\n", f);
    if (strcmp(run->status, "completed") != 0) {
        fputs("<div class=\"banner bad\">", f);
        fputs(strcmp(run->status, "running") == 0 ? "Still running, or loadlab was killed before closing it"
              : strcmp(run->status, "crashed") == 0 ? "The service crashed" : "The run was aborted", f);
        if (run->exit_reason[0]) {
            fputs(": ", f);
            html_escape(f, run->exit_reason);
        }
        fputs("</div>\n", f);
    }
    if (run->ndiagnoses == 0) {
        fprintf(f, "<p class=\"muted\">Not diagnosed. <code>loadlab diagnose %lld</code> names each problem, the "
                   "function behind it and when it started, from the run's metrics and evidence; render the report "
                   "again to see the verdict here.</p>\n", (long long)run->id);
    }
    for (size_t i = 0; i < run->ndiagnoses; i++) {
        const struct diagnose_finding *d = &run->diagnoses[i];
        if (strcmp(d->class_name, "none") == 0) {
            fputs("<div class=\"finding ok\"><span class=\"pill ok\">No problem found</span>", f);
            /* For a healthy verdict the evidence column says what limited the look. */
            if (d->evidence[0]) {
                fputs("<p class=\"muted small\">", f);
                html_escape(f, d->evidence);
                fputs("</p>", f);
            }
            fputs("</div>\n", f);
            continue;
        }
        fputs("<div class=\"finding\"><div class=\"finding-head\">", f);
        html_pill(f, "bad", d->class_name);
        if (d->culprit[0]) {
            fputs(" in <code>", f);
            html_escape(f, d->culprit);
            fputs("</code>", f);
        } else {
            fputs(" <span class=\"muted\">(the evidence names no function)</span>", f);
        }
        if (d->instance[0]) {
            fputs(" on <code>", f);
            html_escape(f, d->instance);
            fputs("</code>", f);
        }
        if (isnan(d->started_at))
            fputs(" &middot; start unknown", f);
        else
            fprintf(f, " &middot; from t=%.1fs", d->started_at);
        if (!isnan(d->confidence))
            fprintf(f, " &middot; confidence %.1f", d->confidence);
        fputs("</div><p>", f);
        html_escape(f, d->summary);
        fputs("</p>", f);
        if (d->evidence[0]) {
            fputs("<pre>", f);
            html_escape_pre(f, d->evidence, strlen(d->evidence));
            fputs("</pre>", f);
        }
        fputs("</div>\n", f);
    }
    write_tripped(f, run, charts);
    if (run->ndiagnoses) {
        fputs("<p class=\"muted small\">By <code>loadlab diagnose</code>, ", f);
        html_escape(f, runpage_time(run->diagnosed_at, when, sizeof when));
        fputs(" UTC, from the metrics, thread dumps and profiles alone (never the fault timeline). "
              "t is seconds since the service was ready, as on the charts.</p>\n", f);
    }
}

