/* Unit tests for scenario: INI parsing, every error naming file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/scenario.h"

#define HEAD "[scenario]\nduration = 3s\n[service]\ncommand = /bin/true\n"

static char err[1024];

static struct scenario *parse(const char *text)
{
    err[0] = '\0';
    return scenario_parse(text, strlen(text), "t.ini", err, sizeof err);
}

/* Parses text that must fail, and checks the error names the line and says what. */
static void expect_error(const char *text, const char *where, const char *what)
{
    struct scenario *sc = parse(text);
    if (sc)
        fail_msg("parsed, but expected an error at %s containing '%s'", where, what);
    if (strncmp(err, where, strlen(where)) != 0 || !strstr(err, what))
        fail_msg("error '%s' does not start with '%s' and contain '%s'", err, where, what);
}

static void test_scenario_parses_full_file(void **state)
{
    const char *text =
        "; a comment\n"
        "[scenario]\n"
        "name = lock-bottleneck\n"
        "description = Reads serialize.\n"
        "duration = 8s\n"
        "warmup = 2s\n"
        "sample_interval = 200ms\n"
        "[service]\n"
        "command = ${NO_SUCH_VAR_X:-/bin/true} --workers 4\n"
        "fault = lock.cache=on(200us), slow=50%on(1ms)\n"
        "[load]\n"
        "connections = 16\n"
        "threads = 1\n"
        "path = /api/products/1\n"
        "[phase.leak]\n"
        "at = 3s\n"
        "until = 6s\n"
        "fault = leak.threads=20%on\n"
        "[gate]\n"
        "p99_latency = < 20ms\n"
        "throughput = > 1000/s\n"
        "metric.orderd_threads{role=\"worker\",state=\"idle\"}.max = <= 8\n"
        "[expect]\n"
        "fail = p99_latency, metric.orderd_threads{state=\"idle\", role=\"worker\"}.max\n";
    struct scenario *sc = parse(text);
    (void)state;

    if (!sc)
        fail_msg("%s", err);
    assert_string_equal(sc->name, "lock-bottleneck");
    assert_int_equal(sc->duration_ns, 8000000000LL);
    assert_int_equal(sc->warmup_ns, 2000000000LL);
    assert_int_equal(sc->sample_interval_ns, 200000000LL);
    assert_int_equal(scenario_load_ns(sc), 10000000000LL);
    assert_int_equal(sc->nfaults, 2);
    assert_string_equal(sc->faults[0].name, "lock.cache");
    assert_string_equal(sc->faults[0].term, "on(200us)");
    assert_string_equal(sc->faults[1].term, "50%on(1ms)");
    assert_int_equal(sc->connections, 16);
    assert_string_equal(sc->path, "/api/products/1");
    assert_int_equal(sc->nphases, 1);
    assert_int_equal(sc->phases[0].at_ns, 3000000000LL);
    assert_int_equal(sc->phases[0].until_ns, 6000000000LL);
    assert_string_equal(sc->phases[0].fault.name, "leak.threads");
    assert_int_equal(sc->ngates, 3);
    assert_string_equal(sc->gates[2].name, "metric.orderd_threads{role=\"worker\",state=\"idle\"}.max");
    assert_true(sc->expected_to_fail[0]);
    assert_false(sc->expected_to_fail[1]);
    assert_true(sc->expected_to_fail[2]);
    scenario_free(sc);
}

static void test_scenario_defaults_name_from_file(void **state)
{
    struct scenario *sc;
    (void)state;
    err[0] = '\0';
    sc = scenario_parse(HEAD, strlen(HEAD), "scenarios/queue-stall.ini", err, sizeof err);
    if (!sc)
        fail_msg("%s", err);
    assert_string_equal(sc->name, "queue-stall");
    assert_int_equal(sc->sample_interval_ns, 250000000);
    assert_int_equal(sc->threads, 1);
    assert_string_equal(sc->method, "GET");
    scenario_free(sc);
}

static void test_scenario_unknown_section_names_line(void **state)
{
    (void)state;
    expect_error(HEAD "[gates]\np99_latency = < 1ms\n", "t.ini:5:", "unknown section [gates]");
}

static void test_scenario_unknown_key_names_line(void **state)
{
    (void)state;
    expect_error(HEAD "[load]\nconnections = 4\nconections = 4\n", "t.ini:7:", "unknown key 'conections'");
}

static void test_scenario_misspelled_gate_is_error(void **state)
{
    (void)state;
    expect_error(HEAD "[gate]\np99_latncy = < 20ms\n", "t.ini:6:", "unknown gate 'p99_latncy'");
}

static void test_scenario_bad_duration_names_line(void **state)
{
    (void)state;
    expect_error("[scenario]\nduration = 10 seconds\n", "t.ini:2:", "duration");
    expect_error("[scenario]\nduration = 1500ms\n", "t.ini:2:", "whole seconds");
    expect_error("[scenario]\nduration = 3s\nsample_interval = -5ms\n", "t.ini:3:", "sample_interval");
}

static void test_scenario_malformed_gate_names_line(void **state)
{
    (void)state;
    expect_error(HEAD "[gate]\np99_latency = 20ms\n", "t.ini:6:", "must start with <");
    expect_error(HEAD "[gate]\np99_latency = < 20\n", "t.ini:6:", "needs a time unit");
    expect_error(HEAD "[gate]\nerror_rate = < 5\n", "t.ini:6:", "share");
    expect_error(HEAD "[gate]\nthroughput = > 10 req\n", "t.ini:6:", "one operator and one threshold");
    expect_error(HEAD "[gate]\nmetric.x{a=\"b\".max = < 1\n", "t.ini:6:", "");
}

static void test_scenario_regression_gates_kept_apart(void **state)
{
    struct scenario *sc = parse(HEAD "[gate]\nthroughput = > 10\nregression.throughput = 5%\n"
                                     "regression.p99_latency = 10%\n");
    (void)state;
    if (!sc)
        fail_msg("%s", err);
    /* regression gates never enter a run's own verdict */
    assert_int_equal(sc->ngates, 1);
    assert_int_equal(sc->nregressions, 2);
    assert_string_equal(sc->regressions[1].name, "regression.p99_latency");
    scenario_free(sc);
    expect_error(HEAD "[gate]\nregression.throughput = 5%\nregression.throughput = 6%\n", "t.ini:7:",
                 "given twice");
    expect_error(HEAD "[gate]\nregression.throughput = > 5%\n", "t.ini:6:", "relative change");
    expect_error(HEAD "[gate]\nregression.throughput = 5%\n[expect]\nfail = regression.throughput\n",
                 "t.ini:8:", "change between two builds");
}

static void test_scenario_cpu_pinning(void **state)
{
    struct scenario *sc = parse(HEAD "cpu = 0\n[load]\ncpu = 1-2,5\n");
    (void)state;
    if (!sc)
        fail_msg("%s", err);
    assert_string_equal(sc->service_cpu_list, "0");
    assert_true(CPU_ISSET(0, &sc->service_cpus));
    assert_int_equal(CPU_COUNT(&sc->service_cpus), 1);
    assert_int_equal(CPU_COUNT(&sc->load_cpus), 3);
    assert_true(CPU_ISSET(5, &sc->load_cpus) && CPU_ISSET(1, &sc->load_cpus) && !CPU_ISSET(3, &sc->load_cpus));
    scenario_free(sc);
    expect_error(HEAD "cpu = 2-1\n", "t.ini:5:", "backwards");
    expect_error(HEAD "cpu = 0,\n", "t.ini:5:", "malformed");
    expect_error(HEAD "cpu = 99999\n", "t.ini:5:", "too large");
    expect_error("[scenario]\nduration = 3s\n[service]\nurl = http://127.0.0.1:1\ncpu = 0\n", "t.ini:5:",
                 "given by url");
}

static void test_scenario_duplicate_key_and_section(void **state)
{
    (void)state;
    expect_error(HEAD "[load]\nthreads = 1\nthreads = 2\n", "t.ini:7:", "given twice");
    expect_error(HEAD "[load]\n[load]\n", "t.ini:6:", "given twice");
    expect_error(HEAD "[gate]\np99_latency = < 1s\np99_latency = < 2s\n", "t.ini:7:", "given twice");
}

static void test_scenario_syntax_errors_name_line(void **state)
{
    (void)state;
    expect_error(HEAD "[load\n", "t.ini:5:", "syntax error");
    expect_error(HEAD "[load]\njust words\n", "t.ini:6:", "syntax error");
    expect_error(HEAD "[load] junk\n", "t.ini:5:", "after section header");
    expect_error(HEAD "[load]\nthreads = 1\n  2\n", "t.ini:7:", "continuation");
    expect_error("x = 1\n" HEAD, "t.ini:1:", "before any [section]");
}

static void test_scenario_long_line_is_error(void **state)
{
    char text[1024];
    char pad[300];
    (void)state;
    memset(pad, 'a', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    snprintf(text, sizeof text, HEAD "[scenario2]\ndescription = %s\n", pad);
    expect_error(text, "t.ini:5:", "unknown section");
    snprintf(text, sizeof text, "[scenario]\nduration = 3s\ndescription = %s\n", pad);
    expect_error(text, "t.ini:3:", "longer than 198");
}

static void test_scenario_expect_must_name_defined_gate(void **state)
{
    (void)state;
    expect_error(HEAD "[expect]\nfail = thread_growth\n[gate]\np99_latency = < 1s\n", "t.ini:6:",
                 "does not define");
    expect_error(HEAD "[expect]\nculprit = cache_get_global\n", "t.ini:6:", "not supported yet");
}

static void test_scenario_phase_checks(void **state)
{
    (void)state;
    expect_error(HEAD "[phase.a]\nfault = slow=on\n", "t.ini:5:", "needs at");
    expect_error(HEAD "[phase.a]\nat = 5s\nfault = slow=on\n", "t.ini:6:", "before the end");
    expect_error(HEAD "[phase.a]\nat = 2s\nuntil = 1s\nfault = slow=on\n", "t.ini:7:", "later than at");
    expect_error(HEAD "[phase.a]\nat = 1s\nfault = slow\n", "t.ini:7:", "NAME=TERM");
    expect_error(HEAD "[phase.b]\n", "t.ini:5:", "needs at and fault");
}

static void test_scenario_service_checks(void **state)
{
    (void)state;
    expect_error("[scenario]\nduration = 3s\n", "t.ini:", "needs command");
    expect_error("[scenario]\nduration = 3s\n[service]\ncommand = 'unbalanced\n", "t.ini:4:", "unbalanced");
    expect_error("[scenario]\nduration = 3s\n[service]\nurl = ftp://x\n", "t.ini:4:", "http");
    expect_error("[scenario]\nduration = 3s\n[service]\nurl = http://127.0.0.1:1\nfault = slow=on\n",
                 "t.ini:5:", "metrics is needed");
    expect_error(HEAD "[load]\nscript = no/such/script.lua\n", "t.ini:6:", "not found");
    expect_error(HEAD "[load]\nthreads = 4\nconnections = 2\n", "t.ini:7:", "at least threads");
}

/* [service] prometheus: a fleet read through Prometheus, every misuse named by line. */
static void test_scenario_prometheus_keys(void **state)
{
    const char *fleet = "[scenario]\nduration = 3s\n[service]\nurl = http://127.0.0.1:1\n";
    char text[512];
    struct scenario *sc;
    (void)state;
    snprintf(text, sizeof text, "%sprometheus = http://127.0.0.1:9090\nselector = {job=\"orderd\", env=\"ci\"}\n"
             "prometheus_token_file = /run/secrets/prom\n", fleet);
    sc = parse(text);
    assert_string_equal(sc->prometheus, "http://127.0.0.1:9090");
    assert_string_equal(sc->prometheus_selector, "{job=\"orderd\", env=\"ci\"}");
    assert_string_equal(sc->prometheus_token_file, "/run/secrets/prom");
    scenario_free(sc);
    snprintf(text, sizeof text, "%sprometheus = localhost:9090\n", fleet);
    expect_error(text, "t.ini:5:", "http");
    snprintf(text, sizeof text, "%sprometheus = http://p:9090\n", fleet);
    expect_error(text, "t.ini:5:", "needs selector");
    snprintf(text, sizeof text, "%sprometheus = http://p:9090\nselector = job=\"orderd\"\n", fleet);
    expect_error(text, "t.ini:6:", "in braces");
    snprintf(text, sizeof text, "%sprometheus = http://p:9090\nselector = {}\n", fleet);
    expect_error(text, "t.ini:6:", "at least one label matcher");
    snprintf(text, sizeof text, "%sselector = {job=\"orderd\"}\n", fleet);
    expect_error(text, "t.ini:5:", "need prometheus");
    snprintf(text, sizeof text, "%sprometheus = http://p:9090\nselector = {job=\"o\"}\nmetrics = http://x/metrics\n",
             fleet);
    expect_error(text, "t.ini:5:", "not both");
    expect_error("[scenario]\nduration = 3s\n[service]\ncommand = orderd\nprometheus = http://p:9090\n"
                 "selector = {job=\"o\"}\n", "t.ini:5:", "use url, not command");
}

/* [service] url as a list: the replicas the load is spread over. */
static void test_scenario_url_list(void **state)
{
    struct scenario *sc;
    (void)state;
    sc = parse("[scenario]\nduration = 3s\n[service]\nurl = http://a:1 , http://b:2,http://c:3\n"
               "[load]\nconnections = 6\n");
    assert_int_equal(sc->ntargets, 3);
    assert_string_equal(sc->targets[1], "http://b:2");
    assert_string_equal(sc->url, "http://a:1");
    scenario_free(sc);
    expect_error("[scenario]\nduration = 3s\n[service]\nurl = http://a:1,\n", "t.ini:4:", "empty");
    expect_error("[scenario]\nduration = 3s\n[service]\nurl = http://a:1, a:2\n", "t.ini:4:", "http");
    expect_error("[scenario]\nduration = 3s\n[service]\nurl = http://a:1, http://a:1\n", "t.ini:4:", "twice");
    expect_error("[scenario]\nduration = 3s\n[service]\nurl = http://a:1, http://b:1\n[load]\nconnections = 1\n"
                 "threads = 1\n", "t.ini:6:", "number of urls");
}

/* A file that ends inside a [gate] line: the reader must not read past the text (an
 * ASan build caught strncmp running off the end of this exact 8-byte buffer). */
static void test_scenario_gate_line_at_end_of_text_stays_in_bounds(void **state)
{
    static const char text[] = "[gate]\nm";
    char *exact = malloc(sizeof text - 1);
    struct scenario *sc;
    (void)state;
    assert_non_null(exact);
    memcpy(exact, text, sizeof text - 1);
    err[0] = '\0';
    sc = scenario_parse(exact, sizeof text - 1, "t.ini", err, sizeof err);
    free(exact);
    assert_null(sc);
    assert_non_null(strstr(err, "t.ini:2:"));
    assert_non_null(strstr(err, "syntax error"));
}

/* Durations have a ceiling: 2562047h would overflow the runner's time sums. */
static void test_scenario_durations_have_an_upper_bound(void **state)
{
    struct scenario *sc;
    (void)state;
    expect_error("[scenario]\nduration = 2562047h\n", "t.ini:2:", "duration = 2562047h is longer than 7 days");
    expect_error("[scenario]\nduration = 3s\nwarmup = 169h\n", "t.ini:3:", "warmup");
    expect_error("[scenario]\nduration = 3s\nwarmup = 169h\n", "t.ini:3:", "longer than 7 days");
    expect_error(HEAD "[load]\ntimeout = 100000h\n", "t.ini:6:", "timeout = 100000h is longer");
    expect_error("[scenario]\nduration = 3s\n[service]\ncommand = /bin/true\nready_timeout = 200h\n", "t.ini:5:",
                 "ready_timeout = 200h is longer");
    expect_error(HEAD "[phase.a]\nat = 1s\nuntil = 9999999h\nfault = slow=on\n", "t.ini:7:", "until");
    /* the bound itself is allowed */
    sc = parse("[scenario]\nduration = 168h\nwarmup = 168h\n[service]\ncommand = /bin/true\n");
    if (!sc)
        fail_msg("%s", err);
    assert_int_equal(scenario_load_ns(sc), 2 * SCENARIO_MAX_DURATION_NS);
    scenario_free(sc);
}

/* A phase's fault is checked when the file is read, as orderd will check it, instead
 * of being refused by the service a second into the run. */
static void test_scenario_fault_names_and_terms_checked_on_read(void **state)
{
    (void)state;
    expect_error(HEAD "[phase.a]\nat = 1s\nfault = lock.cahce=on(200us)\n", "t.ini:7:",
                 "unknown fault 'lock.cahce' (known: leak.threads");
    expect_error(HEAD "[phase.a]\nat = 1s\nfault = slow=onn\n", "t.ini:7:", "fault slow: bad term 'onn'");
    expect_error(HEAD "[phase.a]\nat = 1s\nfault = queue.block=on(5ms)\n", "t.ini:7:", "takes no argument");
    expect_error(HEAD "[phase.a]\nat = 1s\nfault = lock.cache=on(inf)\n", "t.ini:7:", "finite duration");
    expect_error(HEAD "[phase.a]\nat = 1s\nfault = slow=150%on\n", "t.ini:7:", "fault slow:");
    expect_error("[scenario]\nduration = 3s\n[service]\ncommand = /bin/true\nfault = slow=on, nope=on\n",
                 "t.ini:5:", "unknown fault 'nope'");
}

static void test_scenario_params_json_has_settings(void **state)
{
    struct scenario *sc = parse(HEAD "[gate]\np99_latency = < 20ms\n[expect]\nfail = p99_latency\n");
    char *json;
    (void)state;
    assert_non_null(sc);
    json = scenario_params_json(sc);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"duration_s\":3"));
    assert_non_null(strstr(json, "\"command\":\"/bin/true\""));
    assert_non_null(strstr(json, "\"threshold\":\"< 20ms\""));
    assert_non_null(strstr(json, "\"expected_to_fail\":true"));
    free(json);
    scenario_free(sc);
}

static void test_scenario_load_missing_file(void **state)
{
    (void)state;
    assert_null(scenario_load("/no/such/file.ini", err, sizeof err));
    assert_non_null(strstr(err, "/no/such/file.ini"));
}

/* The overhead study's files parse, are named overhead-<setting> after their file (the
 * report groups them by that name) and carry the regression gates make overhead
 * judges; the regression scenario parses too. */
static void test_scenario_shipped_study_files_parse(void **state)
{
    glob_t g;
    (void)state;
    assert_int_equal(glob("scenarios/overhead/*.ini", 0, NULL, &g), 0);
    assert_int_equal(glob("scenarios/regression/*.ini", GLOB_APPEND, NULL, &g), 0);
    assert_true(g.gl_pathc >= 10);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        struct scenario *sc = scenario_load(g.gl_pathv[i], err, sizeof err);
        char copy[512], *base;
        if (!sc)
            fail_msg("%s", err);
        assert_true(sc->nregressions >= 2);
        if (strstr(g.gl_pathv[i], "/overhead/")) {
            snprintf(copy, sizeof copy, "%s", g.gl_pathv[i]);
            base = basename(copy);
            base[strlen(base) - 4] = '\0';
            assert_string_equal(sc->name, base);
            assert_int_equal(strncmp(sc->name, "overhead-", 9), 0);
            assert_true(sc->service_cpu_list[0] && sc->load_cpu_list[0]);
        }
        scenario_free(sc);
    }
    globfree(&g);
}

static void test_scenario_cost_requests_and_counter(void **state)
{
    struct scenario *sc;
    char digest[17], other[17];
    (void)state;
    sc = parse(HEAD "[load]\nrequests = 300\nwarmup_requests = 5\ncounter = callgrind\n"
               "[gate]\ninstructions_per_request = < 50000\nregression.instructions_per_request = 1%\n");
    if (!sc)
        fail_msg("%s", err);
    assert_int_equal(sc->requests, 300);
    assert_int_equal(sc->warmup_requests, 5);
    assert_false(sc->counter_auto);
    assert_int_equal(sc->counter, COSTMETER_CALLGRIND);
    assert_int_equal(sc->gates[0].kind, GATE_INSTRUCTIONS_PER_REQUEST);
    assert_int_equal(scenario_definition_digest(sc, digest), 0);
    /* the command is not part of the definition; the number of requests is */
    snprintf(sc->command, sizeof sc->command, "/other/orderd");
    assert_int_equal(scenario_definition_digest(sc, other), 0);
    assert_string_equal(digest, other);
    sc->requests = 301;
    assert_int_equal(scenario_definition_digest(sc, other), 0);
    assert_string_not_equal(digest, other);
    scenario_free(sc);
    sc = parse(HEAD "[load]\nrequests = 3\n");
    assert_non_null(sc);
    assert_true(sc->counter_auto);
    assert_int_equal(sc->warmup_requests, 10);
    scenario_free(sc);

    expect_error(HEAD "[load]\nrequests = 100001\n", "t.ini:6:", "requests");
    expect_error(HEAD "[load]\nrequests = 0\n", "t.ini:6:", "at least 1");
    expect_error(HEAD "[load]\ncounter = cycles\n", "t.ini:6:", "counter must be auto, hw-instructions or callgrind");
    expect_error(HEAD "[load]\ncounter = task-clock\n", "t.ini:6:", "counter must be");
    expect_error(HEAD "[gate]\ninstructions_per_request = < 5000\n", "t.ini:", "needs [load] requests");
    expect_error(HEAD "[gate]\ninstructions_per_request = < 5ms\n", "t.ini:6:", "plain number");
    expect_error(HEAD "[load]\nrequests = 3\n[gate]\np99_latency = < 1s\n", "t.ini:6:", "needs wrk's load");
    expect_error("[scenario]\nduration = 3s\n[service]\nurl = http://127.0.0.1:1/\n[load]\nrequests = 3\n",
                 "t.ini:6:", "[service] command is needed");
    expect_error("[scenario]\nduration = 3s\nwarmup = 1s\n[service]\ncommand = /bin/true\n[load]\nrequests = 3\n",
                 "t.ini:7:", "warmup_requests");
}

static void test_scenario_open_model_keys(void **state)
{
    struct scenario *sc;
    char *params, digest[2][17];
    (void)state;

    sc = parse(HEAD "[load]\nrate = 2000/s\narrival = poisson\nmax_in_flight = 50\nconnections = 8\nthreads = 2\n"
               "request.read = GET /api/products/1 weight=3\n"
               "request.order = POST /api/orders weight=1 body={\"user_id\":1, \"items\":[]}\n"
               "[gate]\np99_latency.window(10s) = < 20ms abort_on_fail\ndropped_share = < 0.1%\n");
    if (!sc)
        fail_msg("%s", err);
    assert_true(sc->open_model);
    assert_string_equal(sc->rate, "2000/s");
    assert_string_equal(sc->arrival, "poisson");
    assert_int_equal(sc->nmix, 2);
    assert_string_equal(sc->mix[0].method, "GET");
    assert_string_equal(sc->mix[0].path, "/api/products/1");
    assert_int_equal(sc->mix[0].weight, 3);
    assert_string_equal(sc->mix[1].body, "{\"user_id\":1, \"items\":[]}");
    assert_string_equal(sc->gates[0].name, "p99_latency.window(10s)");
    assert_true(sc->gates[0].abort_on_fail);
    assert_true(sc->gates[0].window_ns == 10000000000LL);
    assert_int_equal(sc->gates[1].kind, GATE_DROPPED_SHARE);
    scenario_free(sc);
    /* model = open is implied by rate, and may be said */
    sc = parse(HEAD "[load]\nmodel = open\nrate = 100\n");
    assert_non_null(sc);
    assert_true(sc->open_model);
    params = scenario_params_json(sc);
    assert_non_null(params);
    assert_non_null(strstr(params, "\"open\":{\"arrival\":\"constant\""));
    assert_int_equal(scenario_definition_digest(sc, digest[0]), 0);
    free(params);
    scenario_free(sc);
    /* the rate is part of what makes two runs comparable */
    sc = parse(HEAD "[load]\nrate = 200\n");
    assert_non_null(sc);
    assert_int_equal(scenario_definition_digest(sc, digest[1]), 0);
    assert_string_not_equal(digest[0], digest[1]);
    scenario_free(sc);
}

static void test_scenario_open_model_bad_values_name_key_and_line(void **state)
{
    (void)state;
    expect_error(HEAD "[load]\nrate = 0\n", "t.ini:6:", "rate");
    expect_error(HEAD "[load]\nrate = -5/s\n", "t.ini:6:", "rate: \"-5/s\"");
    expect_error(HEAD "[load]\nrate = 2000/week\n", "t.ini:6:", "rate");
    /* no pool of one connection carries 900000/s */
    expect_error(HEAD "[load]\nconnections = 1\nrate = 900000/s\n", "t.ini:7:", "more than 1 connections could carry");
    expect_error(HEAD "[load]\nrate = 10/s\narrival = bursty\n", "t.ini:7:", "arrival");
    expect_error(HEAD "[load]\nrate = 10/s\nconnections = 8\nmax_in_flight = 2\n", "t.ini:8:", "max_in_flight");
    expect_error(HEAD "[load]\nmodel = open\n", "t.ini:6:", "model = open needs rate");
    expect_error(HEAD "[load]\nmodel = semi\n", "t.ini:6:", "model must be open");
    expect_error(HEAD "[load]\narrival = poisson\n", "t.ini:6:", "for the open model");
    expect_error(HEAD "[load]\nlag_limit = 5ms\n", "t.ini:6:", "for the open model");
    expect_error(HEAD "[load]\nrate = 10/s\nlag_limit = fast\n", "t.ini:7:", "lag_limit");
    expect_error(HEAD "[load]\nrequest.a = GET /x\n", "t.ini:6:", "for the open model");
    expect_error(HEAD "[load]\nrate = 10/s\nrequest.a = GET x\n", "t.ini:7:", "request.a: the path");
    expect_error(HEAD "[load]\nrate = 10/s\nrequest.a = GET /x weight=0\n", "t.ini:7:", "weight");
    expect_error(HEAD "[load]\nrate = 10/s\nrequest.a = GET /x junk\n", "t.ini:7:", "unexpected 'junk'");
    expect_error(HEAD "[load]\nrate = 10/s\nscript = /dev/null\n", "t.ini:6:", "runs no wrk script");
    expect_error(HEAD "[gate]\ndropped_share = < 1%\n", "t.ini:", "needs the open model");
    expect_error(HEAD "[gate]\np99_latency.window(10s) = < 1ms\n", "t.ini:", "needs the open model");
    expect_error(HEAD "[load]\nrate = 10/s\n[gate]\np99_latency.window(1500ms) = < 1ms\n", "t.ini:8:",
                 "whole seconds");
    expect_error(HEAD "[load]\nrate = 10/s\n[gate]\nerror_rate = < 1% abort_on_fail\n", "t.ini:8:",
                 "abort_on_fail is for the gates judged as the run goes");
    expect_error(HEAD "[load]\nrate = 10/s\n[gate]\nthroughput.window(2s) = > 1/s\n", "t.ini:8:",
                 "only p50, p75, p90, p99 and p999_latency");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario_parses_full_file),
        cmocka_unit_test(test_scenario_gate_line_at_end_of_text_stays_in_bounds),
        cmocka_unit_test(test_scenario_durations_have_an_upper_bound),
        cmocka_unit_test(test_scenario_fault_names_and_terms_checked_on_read),
        cmocka_unit_test(test_scenario_defaults_name_from_file),
        cmocka_unit_test(test_scenario_unknown_section_names_line),
        cmocka_unit_test(test_scenario_unknown_key_names_line),
        cmocka_unit_test(test_scenario_misspelled_gate_is_error),
        cmocka_unit_test(test_scenario_bad_duration_names_line),
        cmocka_unit_test(test_scenario_malformed_gate_names_line),
        cmocka_unit_test(test_scenario_regression_gates_kept_apart),
        cmocka_unit_test(test_scenario_cpu_pinning),
        cmocka_unit_test(test_scenario_shipped_study_files_parse),
        cmocka_unit_test(test_scenario_duplicate_key_and_section),
        cmocka_unit_test(test_scenario_syntax_errors_name_line),
        cmocka_unit_test(test_scenario_long_line_is_error),
        cmocka_unit_test(test_scenario_expect_must_name_defined_gate),
        cmocka_unit_test(test_scenario_phase_checks),
        cmocka_unit_test(test_scenario_prometheus_keys),
        cmocka_unit_test(test_scenario_url_list),
        cmocka_unit_test(test_scenario_service_checks),
        cmocka_unit_test(test_scenario_params_json_has_settings),
        cmocka_unit_test(test_scenario_load_missing_file),
        cmocka_unit_test(test_scenario_cost_requests_and_counter),
        cmocka_unit_test(test_scenario_open_model_keys),
        cmocka_unit_test(test_scenario_open_model_bad_values_name_key_and_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
