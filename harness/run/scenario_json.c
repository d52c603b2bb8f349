/* scenario, JSON: a scenario's settings as the JSON object recorded with each run.
 * Part of the scenario module (scenario.h). */
#include "run/scenario.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge/baselinefile.h"

static json_t *fault_json(const struct scenario_fault *f)
{
    return json_pack("{s:s, s:s}", "name", f->name, "term", f->term);
}

/* The open model's load ([load] rate): rate, arrival, max_in_flight and the mix, as
 * written. Only present for such a scenario, so a wrk scenario's digest is unchanged. */
static json_t *open_json(const struct scenario *sc)
{
    json_t *mix = json_array();

    for (size_t i = 0; mix && i < sc->nmix; i++)
        json_array_append_new(mix, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", sc->mix[i].name, "method",
                                             sc->mix[i].method, "path", sc->mix[i].path, "body", sc->mix[i].body,
                                             "weight", (int)sc->mix[i].weight));
    return json_pack("{s:s, s:s, s:s, s:s, s:o*}", "rate", sc->rate, "arrival",
                     sc->arrival[0] ? sc->arrival : "constant", "max_in_flight", sc->max_in_flight, "lag_limit",
                     sc->lag_limit, "mix", mix);
}

/* Adds the open model's load under load.open, and marks the gates with abort_on_fail. */
static void add_open(const struct scenario *sc, json_t *load, json_t *gates)
{
    if (sc->open_model && load)
        json_object_set_new(load, "open", open_json(sc));
    for (size_t i = 0; i < sc->ngates && gates; i++)
        if (sc->gates[i].abort_on_fail)
            json_object_set_new(json_array_get(gates, i), "abort_on_fail", json_true());
}

char *scenario_params_json(const struct scenario *sc)
{
    json_t *root, *faults, *phases, *gates;
    char *text = NULL;

    root = json_pack("{s:s, s:s, s:s, s:f, s:f, s:f}",
                     "file", sc->file, "name", sc->name, "description", sc->description,
                     "duration_s", sc->duration_ns / 1e9, "warmup_s", sc->warmup_ns / 1e9,
                     "sample_interval_s", sc->sample_interval_ns / 1e9);
    faults = json_array();
    phases = json_array();
    gates = json_array();
    if (!root || !faults || !phases || !gates)
        goto done;
    for (size_t i = 0; i < sc->nfaults; i++)
        json_array_append_new(faults, fault_json(&sc->faults[i]));
    for (size_t i = 0; i < sc->nphases; i++) {
        const struct scenario_phase *ph = &sc->phases[i];
        json_t *p = json_pack("{s:s, s:f, s:o}", "name", ph->name, "at_s", ph->at_ns / 1e9,
                              "fault", fault_json(&ph->fault));
        if (p && ph->until_ns >= 0)
            json_object_set_new(p, "until_s", json_real(ph->until_ns / 1e9));
        json_array_append_new(phases, p);
    }
    for (size_t i = 0; i < sc->ngates; i++)
        json_array_append_new(gates, json_pack("{s:s, s:s, s:f, s:b}", "name", sc->gates[i].name,
                                               "threshold", sc->gates[i].threshold_text,
                                               "threshold_base", sc->gates[i].threshold,
                                               "expected_to_fail", sc->expected_to_fail[i]));
    /* regression gates are listed with the rest: `loadlab compare` reads them back */
    for (size_t i = 0; i < sc->nregressions; i++)
        json_array_append_new(gates, json_pack("{s:s, s:s, s:f, s:b}", "name", sc->regressions[i].name,
                                               "threshold", sc->regressions[i].threshold_text,
                                               "threshold_base", sc->regressions[i].threshold,
                                               "expected_to_fail", 0));
    json_object_set_new(root, "service",
                        json_pack("{s:s, s:s, s:s, s:s, s:i, s:O, s:s}", "command", sc->command,
                                  "url", sc->url, "metrics", sc->metrics, "ready", sc->ready,
                                  "pid", (int)sc->pid, "faults", faults, "cpu", sc->service_cpu_list));
    /* a fleet: the replicas the load is spread over, and where its samples come from */
    json_t *service = json_object_get(root, "service");
    if (service && sc->ntargets) {
        json_t *targets = json_array();
        for (size_t i = 0; i < sc->ntargets; i++)
            json_array_append_new(targets, json_string(sc->targets[i]));
        json_object_set_new(service, "targets", targets);
    }
    if (service && sc->prometheus[0]) {
        json_object_set_new(service, "prometheus", json_string(sc->prometheus));
        json_object_set_new(service, "selector", json_string(sc->prometheus_selector));
    }
    json_object_set_new(root, "load",
                        json_pack("{s:i, s:i, s:s, s:s, s:s, s:s, s:f, s:s}",
                                  "connections", (int)sc->connections, "threads", (int)sc->threads,
                                  "script", sc->script, "path", sc->path, "method", sc->method,
                                  "body", sc->body, "timeout_s", sc->timeout_ns / 1e9,
                                  "cpu", sc->load_cpu_list));
    if (sc->requests)
        json_object_set_new(json_object_get(root, "load"), "cost",
                            json_pack("{s:i, s:i, s:s}", "requests", (int)sc->requests, "warmup_requests",
                                      (int)sc->warmup_requests, "counter",
                                      sc->counter_auto ? "auto" : costmeter_kind_name(sc->counter)));
    add_open(sc, json_object_get(root, "load"), gates);
    json_object_set(root, "phases", phases);
    json_object_set(root, "gates", gates);
    {
        char digest[17], cpu_model[BASELINEFILE_MAX_TEXT];
        unsigned cpus;
        baselinefile_this_machine(cpu_model, sizeof cpu_model, &cpus);
        if (scenario_definition_digest(sc, digest) == 0)
            json_object_set_new(root, "definition", json_string(digest));
        json_object_set_new(root, "machine", json_pack("{s:s, s:i}", "cpu_model", cpu_model, "cpus", (int)cpus));
    }
    text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
done:
    json_decref(root);
    json_decref(faults);
    json_decref(phases);
    json_decref(gates);
    return text;
}

/* The digest of a wrk script's text ("" when none, "unreadable" when it cannot be read):
 * the script decides the load, its path on one machine does not. */
static void script_digest(const char *path, char out[17])
{
    FILE *f;
    char *text;
    size_t n;

    if (!path[0]) {
        out[0] = '\0';
        return;
    }
    snprintf(out, 17, "unreadable");
    if (!(f = fopen(path, "rb")))
        return;
    if ((text = malloc(SCENARIO_MAX_FILE + 1))) {
        n = fread(text, 1, SCENARIO_MAX_FILE, f);
        text[n] = '\0';
        baselinefile_digest(text, out);
        free(text);
    }
    fclose(f);
}

int scenario_definition_digest(const struct scenario *sc, char out[17])
{
    json_t *root, *faults = json_array(), *phases = json_array(), *gates = json_array();
    char script[17];
    char *text = NULL;
    int rc = -1;

    script_digest(sc->script, script);
    root = json_pack("{s:I, s:I, s:I, s:{s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:i, s:s}}",
                     "duration_ns", (json_int_t)sc->duration_ns, "warmup_ns", (json_int_t)sc->warmup_ns,
                     "sample_interval_ns", (json_int_t)sc->sample_interval_ns, "load",
                     "connections", (int)sc->connections, "threads", (int)sc->threads, "script", script,
                     "path", sc->path, "method", sc->method, "body", sc->body, "content_type", sc->content_type,
                     "timeout_ns", (json_int_t)sc->timeout_ns, "requests", (int)sc->requests,
                     "warmup_requests", (int)sc->warmup_requests, "counter",
                     sc->counter_auto ? "auto" : costmeter_kind_name(sc->counter));
    if (!root || !faults || !phases || !gates)
        goto done;
    for (size_t i = 0; i < sc->nfaults; i++)
        json_array_append_new(faults, fault_json(&sc->faults[i]));
    for (size_t i = 0; i < sc->nphases; i++)
        json_array_append_new(phases, json_pack("{s:s, s:I, s:I, s:o}", "name", sc->phases[i].name, "at_ns",
                                                (json_int_t)sc->phases[i].at_ns, "until_ns",
                                                (json_int_t)sc->phases[i].until_ns, "fault",
                                                fault_json(&sc->phases[i].fault)));
    for (size_t i = 0; i < sc->ngates; i++)
        json_array_append_new(gates, json_pack("{s:s, s:s, s:b}", "name", sc->gates[i].name, "threshold",
                                               sc->gates[i].threshold_text, "expected_to_fail",
                                               sc->expected_to_fail[i]));
    for (size_t i = 0; i < sc->nregressions; i++)
        json_array_append_new(gates, json_pack("{s:s, s:s}", "name", sc->regressions[i].name, "threshold",
                                               sc->regressions[i].threshold_text));
    add_open(sc, json_object_get(root, "load"), gates);
    json_object_set(root, "faults", faults);
    json_object_set(root, "phases", phases);
    json_object_set(root, "gates", gates);
    if ((text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS))) {
        baselinefile_digest(text, out);
        rc = 0;
    }
done:
    free(text);
    json_decref(root);
    json_decref(faults);
    json_decref(phases);
    json_decref(gates);
    return rc;
}
