/* Unit tests for pprofproto: a CPU profile written by orderd's own profile.proto
 * encoder (service/pprof.c, a separate implementation) read back as text that
 * proftext parses, and what a truncated, foreign or non-CPU profile gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pprofproto.h"
#include "diagnose/proftext.h"
#include "pprof.h"

static char err[256];

/* Names pcs by range: 0x1xxx request_burn_cpu, 0x2xxx api_handle, 0x3xxx __write in
 * libc (no file: not the service's own), anything else unknown. */
static int fake_symbolize(uintptr_t pc, char *function, size_t function_len, char *file, size_t file_len,
                          int *line, void *user)
{
    (void)user;
    switch (pc >> 12) {
    case 1:
        snprintf(function, function_len, "request_burn_cpu");
        snprintf(file, file_len, "service/api.c");
        *line = 37;
        return 0;
    case 2:
        snprintf(function, function_len, "api_handle");
        snprintf(file, file_len, "service/api.c");
        *line = 352;
        return 0;
    case 3:
        snprintf(function, function_len, "__write");
        return 0;
    default:
        return -1;
    }
}

/* A CPU profile as orderd's cpuprof writes one: 7 samples burning in
 * request_burn_cpu, 2 in write() under api_handle, 1 on an unknown pc. Returns the
 * gzipped bytes (caller frees). */
static unsigned char *cpu_profile(int gzip, size_t *len, const char *type)
{
    const struct pprof_value_type types[] = {{"samples", "count"}, {type, "nanoseconds"}};
    pprof_profile *p = pprof_new(types, 2, (struct pprof_value_type){"cpu", "nanoseconds"}, 10000000);
    const uintptr_t burn[] = {0x1010, 0x2020}, write_stack[] = {0x3030, 0x2040}, unknown[] = {0x9000};
    const int64_t seven[] = {7, 70000000}, two[] = {2, 20000000}, one[] = {1, 10000000};
    unsigned char *out = NULL;

    assert_non_null(p);
    pprof_set_time(p, 1, 3000000000LL);
    assert_int_equal(pprof_add_sample(p, burn, 2, seven), 0);
    assert_int_equal(pprof_add_sample(p, write_stack, 2, two), 0);
    assert_int_equal(pprof_add_sample(p, unknown, 1, one), 0);
    assert_int_equal(pprof_encode(p, fake_symbolize, NULL, gzip, &out, len), 0);
    pprof_free(p);
    return out;
}

static void test_pprofproto_cpu_profile_reads_as_text(void **state)
{
    size_t len, text_len;
    unsigned char *data = cpu_profile(1, &len, "cpu");
    char *text = NULL;
    struct proftext *p;
    const struct proftext_entry *e;
    (void)state;

    if (pprofproto_cpu_text(data, len, &text, &text_len, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(strlen(text), text_len);
    assert_non_null(strstr(text, "--- cpu profile: 3 samples, period 10000000 ns, duration 3.000 s\n"));
    if (!(p = proftext_parse(PROFTEXT_CPU, text, text_len, err, sizeof err)))
        fail_msg("%s\n%s", err, text);
    assert_int_equal(proftext_count(p), 3);
    e = proftext_entry(p, 0);
    assert_int_equal(e->nvalues, 2);
    assert_int_equal(e->values[0], 7);
    assert_int_equal(e->values[1], 70000000);
    assert_int_equal(e->nframes, 2);
    assert_string_equal(e->frames[0].function, "request_burn_cpu");
    assert_string_equal(e->frames[0].file, "service/api.c");
    assert_int_equal(e->frames[0].line, 37);
    assert_true(proftext_frame_is_own(&e->frames[0]));
    assert_string_equal(e->frames[1].function, "api_handle");
    e = proftext_entry(p, 1);
    assert_string_equal(e->frames[0].function, "__write");
    assert_false(proftext_frame_is_own(&e->frames[0]));  /* no file: not the service's code */
    e = proftext_entry(p, 2);
    assert_int_equal(e->values[0], 1);
    assert_int_equal(e->nframes, 1);
    assert_false(proftext_frame_is_own(&e->frames[0]));
    proftext_free(p);
    free(text);
    free(data);
}

static void test_pprofproto_reads_plain_protobuf_too(void **state)
{
    size_t len, text_len;
    unsigned char *data = cpu_profile(0, &len, "cpu");
    char *text = NULL;
    (void)state;

    assert_int_equal(pprofproto_cpu_text(data, len, &text, &text_len, err, sizeof err), 0);
    assert_non_null(strstr(text, "request_burn_cpu+0x0\tservice/api.c:37\n"));
    free(text);
    free(data);
}

static void test_pprofproto_refuses_what_is_no_cpu_profile(void **state)
{
    size_t len, text_len;
    unsigned char *data = cpu_profile(0, &len, "delay"), junk[] = {0x1f, 0x8b, 8, 0, 1, 2, 3};
    char *text = (char *)"untouched";
    (void)state;

    assert_int_equal(pprofproto_cpu_text(data, len, &text, &text_len, err, sizeof err), -1);
    assert_null(text);
    assert_non_null(strstr(err, "not a CPU profile"));
    /* Cut short anywhere inside a field: an error, never a read past the end. */
    for (size_t cut = 1; cut < len; cut += 7) {
        int rc = pprofproto_cpu_text(data, cut, &text, &text_len, err, sizeof err);
        if (rc == 0)
            free(text);  /* a cut between fields is a shorter, valid message */
        else
            assert_null(text);
    }
    assert_int_equal(pprofproto_cpu_text(data, len - 1, &text, &text_len, err, sizeof err), -1);
    assert_int_equal(pprofproto_cpu_text(junk, sizeof junk, &text, &text_len, err, sizeof err), -1);
    assert_non_null(strstr(err, "gzip"));
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pprofproto_cpu_profile_reads_as_text),
        cmocka_unit_test(test_pprofproto_reads_plain_protobuf_too),
        cmocka_unit_test(test_pprofproto_refuses_what_is_no_cpu_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
