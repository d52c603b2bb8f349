/* Unit tests for baselinefile: a written baseline reads back the same; what makes a
 * comparison meaningless is refused with both sides named; malformed files get an
 * error naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "judge/baselinefile.h"

static char err[1024], path[64];

static int setup(void **state)
{
    int fd;
    (void)state;
    snprintf(path, sizeof path, "/tmp/loadlab-baseline-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void write_text(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static struct baselinefile *sample(void)
{
    struct baselinefile *bf = baselinefile_new();
    double tp[] = {41000.5, 40500, 42000.25}, ipr[] = {22561.75}, slow[] = {0.1 + 0.2};
    assert_non_null(bf);
    snprintf(bf->label, sizeof bf->label, "main");
    snprintf(bf->revision, sizeof bf->revision, "0123abc");
    snprintf(bf->loadlab_version, sizeof bf->loadlab_version, "0.2");
    assert_int_equal(baselinefile_add(bf, "baseline", "00ff", "throughput", "", tp, 3, err, sizeof err), 0);
    assert_int_equal(baselinefile_add(bf, "baseline", "00ff", "instructions_per_request", "callgrind", ipr, 1,
                                      err, sizeof err), 0);
    assert_int_equal(baselinefile_add(bf, "slowdown", "abcd", "p99_latency", "", slow, 1, err, sizeof err), 0);
    return bf;
}

static void test_baselinefile_round_trip(void **state)
{
    struct baselinefile *bf = sample(), *back;
    FILE *f = fopen(path, "w");
    const double *v;
    size_t n;
    char model[256], warning[256];
    unsigned cpus;
    (void)state;
    assert_non_null(f);
    assert_int_equal(baselinefile_write(bf, f, err, sizeof err), 0);
    fclose(f);
    back = baselinefile_read(path, err, sizeof err);
    if (!back)
        fail_msg("%s", err);
    assert_string_equal(back->label, "main");
    assert_string_equal(back->revision, "0123abc");
    assert_string_equal(back->created, bf->created);
    assert_int_equal(back->nscenarios, 2);
    baselinefile_this_machine(model, sizeof model, &cpus);
    assert_string_equal(back->cpu_model, model);
    assert_int_equal(back->cpus, cpus);
    assert_int_equal(baselinefile_lookup(back, "baseline", "00ff", "throughput", "", model, cpus, &v, &n,
                                         warning, sizeof warning, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_true(v[0] == 41000.5 && v[2] == 42000.25);
    assert_int_equal(baselinefile_lookup(back, "slowdown", "abcd", "p99_latency", NULL, model, cpus, &v, &n,
                                         warning, sizeof warning, err, sizeof err), 0);
    assert_true(v[0] == 0.1 + 0.2); /* every bit of a double survives */
    baselinefile_free(bf);
    baselinefile_free(back);
}

static void test_baselinefile_refuses_what_is_not_comparable(void **state)
{
    struct baselinefile *bf = sample();
    const double *v;
    size_t n;
    char warning[256];
    (void)state;
    assert_int_equal(baselinefile_lookup(bf, "baseline", "0000", "throughput", "", bf->cpu_model, bf->cpus, &v,
                                         &n, warning, sizeof warning, err, sizeof err), -1);
    assert_non_null(strstr(err, "defined differently"));
    assert_non_null(strstr(err, "00ff"));
    assert_int_equal(baselinefile_lookup(bf, "baseline", "00ff", "instructions_per_request", "hw-instructions",
                                         bf->cpu_model, bf->cpus, &v, &n, warning, sizeof warning, err,
                                         sizeof err), -1);
    assert_non_null(strstr(err, "callgrind"));
    assert_non_null(strstr(err, "hw-instructions"));
    assert_int_equal(baselinefile_lookup(bf, "nosuch", "00ff", "throughput", "", bf->cpu_model, bf->cpus, &v,
                                         &n, warning, sizeof warning, err, sizeof err), -1);
    assert_non_null(strstr(err, "no scenario nosuch"));
    assert_int_equal(baselinefile_lookup(bf, "baseline", "00ff", "p50_latency", "", bf->cpu_model, bf->cpus, &v,
                                         &n, warning, sizeof warning, err, sizeof err), -1);
    assert_non_null(strstr(err, "no p50_latency"));
    /* another machine: a warning for wall-clock figures, nothing for instruction counts */
    assert_int_equal(baselinefile_lookup(bf, "baseline", "00ff", "throughput", "", "Other CPU", 64, &v, &n,
                                         warning, sizeof warning, err, sizeof err), 1);
    assert_non_null(strstr(warning, "another machine"));
    assert_int_equal(baselinefile_lookup(bf, "baseline", "00ff", "instructions_per_request", "callgrind",
                                         "Other CPU", 64, &v, &n, warning, sizeof warning, err, sizeof err), 0);
    assert_string_equal(warning, "");
    baselinefile_free(bf);
}

static void test_baselinefile_add_limits(void **state)
{
    struct baselinefile *bf = baselinefile_new();
    double nan[] = {NAN}, one[] = {1}, *many;
    (void)state;
    assert_int_equal(baselinefile_add(bf, "s", "d", "f", "", nan, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a finite number"));
    assert_int_equal(baselinefile_add(bf, "s", "d", "f", "", one, 1, err, sizeof err), 0);
    assert_int_equal(baselinefile_add(bf, "s", "d", "f", "", one, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "twice"));
    assert_int_equal(baselinefile_add(bf, "s", "other", "g", "", one, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "two definitions"));
    many = calloc(BASELINEFILE_MAX_VALUES + 1, sizeof *many);
    assert_int_equal(baselinefile_add(bf, "s", "d", "h", "", many, BASELINEFILE_MAX_VALUES + 1, err, sizeof err), -1);
    free(many);
    baselinefile_free(bf);
}

/* Each malformed file, and the words its error must hold. */
static void test_baselinefile_malformed_files_name_the_field(void **state)
{
    static const struct {
        const char *text, *expect;
    } cases[] = {
        {"{", "not JSON"},
        {"[]", "(top): not an object"},
        {"{\"format\":\"other\"}", "format: not a loadlab baseline"},
        {"{\"format\":\"loadlab-baseline\"}", "version: missing"},
        {"{\"format\":\"loadlab-baseline\",\"version\":99}", "newer loadlab"},
        {"{\"format\":\"loadlab-baseline\",\"version\":1}", "machine: missing"},
        {"{\"format\":\"loadlab-baseline\",\"version\":1,\"machine\":{\"cpu_model\":\"x\",\"cpus\":-1}}",
         "machine.cpus"},
        {"{\"format\":\"loadlab-baseline\",\"version\":1,\"machine\":{\"cpu_model\":\"x\",\"cpus\":2}}",
         "scenarios: missing"},
        {"{\"format\":\"loadlab-baseline\",\"version\":1,\"machine\":{\"cpu_model\":\"x\",\"cpus\":2},"
         "\"scenarios\":[{\"name\":\"a\"}]}", "scenarios[0].definition: missing"},
        {"{\"format\":\"loadlab-baseline\",\"version\":1,\"machine\":{\"cpu_model\":\"x\",\"cpus\":2},"
         "\"scenarios\":[{\"name\":\"a\",\"definition\":\"d\",\"figures\":[{\"figure\":\"throughput\","
         "\"values\":[1,2,\"3\"]}]}]}", "scenarios[0].figures[0].values[2]: not a number"},
        {"{\"format\":\"loadlab-baseline\",\"version\":1,\"machine\":{\"cpu_model\":\"x\",\"cpus\":2},"
         "\"scenarios\":[{\"name\":\"a\",\"definition\":\"d\",\"figures\":[{\"figure\":7,\"values\":[]}]}]}",
         "scenarios[0].figures[0].figure: not a string"},
        {"{\"format\":\"loadlab-baseline\",\"version\":1,\"machine\":{\"cpu_model\":\"x\",\"cpus\":2},"
         "\"scenarios\":[{\"name\":\"a\",\"definition\":\"d\",\"figures\":[]},"
         "{\"name\":\"a\",\"definition\":\"d\",\"figures\":[]}]}", "scenarios[1]: a scenario named twice"},
        {"{\"format\":\"loadlab-baseline\",\"format\":\"loadlab-baseline\"}", "not JSON"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text(cases[i].text);
        struct baselinefile *bf = baselinefile_read(path, err, sizeof err);
        if (bf || !strstr(err, cases[i].expect) || !strstr(err, path))
            fail_msg("case %zu: expected '%s', got '%s'", i, cases[i].expect, bf ? "(accepted)" : err);
    }
    assert_null(baselinefile_read("/nonexistent/base.json", err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
}

static void test_baselinefile_digest(void **state)
{
    char a[17], b[17], c[17];
    (void)state;
    baselinefile_digest("duration=10s", a);
    baselinefile_digest("duration=10s", b);
    baselinefile_digest("duration=11s", c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), 16);
    baselinefile_digest("", a);
    assert_string_equal(a, "cbf29ce484222325"); /* FNV-1a 64 offset basis */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_baselinefile_round_trip, setup, teardown),
        cmocka_unit_test(test_baselinefile_refuses_what_is_not_comparable),
        cmocka_unit_test(test_baselinefile_add_limits),
        cmocka_unit_test_setup_teardown(test_baselinefile_malformed_files_name_the_field, setup, teardown),
        cmocka_unit_test(test_baselinefile_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
