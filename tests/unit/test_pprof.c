/* Tests for pprof: what the encoder writes is decoded back (tests/support/pprof_decode)
 * and checked field by field, and `go tool pprof` must read it and name our functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pprof.h"
#include "pprof_decode.h"

/* A fixed symbol table, so the test knows exactly what each location must say.
 * The encoder names return addresses at pc-1. */
struct fake_symbol { uintptr_t at; const char *function, *file; int line; };

static const struct fake_symbol fake_symbols[] = {
    { 0x1000, "alpha_function", "alpha.c", 10 },
    { 0x2000, "beta_function", "beta.c", 20 },
    { 0x3000, "alpha_function", "alpha.c", 12 },   /* same function, another line */
};

static int fake_symbolize(uintptr_t pc, char *function, size_t function_len, char *file,
                          size_t file_len, int *line, void *user)
{
    int *calls = user;

    (*calls)++;
    for (size_t i = 0; i < sizeof fake_symbols / sizeof fake_symbols[0]; i++) {
        if (fake_symbols[i].at == pc) {
            snprintf(function, function_len, "%s", fake_symbols[i].function);
            snprintf(file, file_len, "%s", fake_symbols[i].file);
            *line = fake_symbols[i].line;
            return 0;
        }
    }
    return -1;
}

static const struct pprof_value_type two_types[] = {
    { "contentions", "count" }, { "delay", "nanoseconds" },
};

/* Three samples over four distinct pcs; 0x4001 is unknown to the symbolizer. */
static pprof_profile *three_sample_profile(void)
{
    static const uintptr_t s1[] = { 0x1001, 0x2001 };
    static const uintptr_t s2[] = { 0x3001, 0x2001 };
    static const uintptr_t s3[] = { 0x4001 };
    static const int64_t v1[] = { 1, 100 }, v2[] = { 2, 200 }, v3[] = { 3, 300 };
    pprof_profile *p = pprof_new(two_types, 2, (struct pprof_value_type){ "contentions", "count" }, 7);

    assert_non_null(p);
    assert_int_equal(pprof_add_sample(p, s1, 2, v1), 0);
    assert_int_equal(pprof_add_sample(p, s2, 2, v2), 0);
    assert_int_equal(pprof_add_sample(p, s3, 1, v3), 0);
    pprof_set_time(p, 1700000000000000000LL, 5000000000LL);
    return p;
}

static struct pprof_decoded *encode_and_decode(pprof_profile *p, int gzip, int *calls)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    struct pprof_decoded *d;

    assert_int_equal(pprof_encode(p, fake_symbolize, calls, gzip, &buf, &len), 0);
    assert_non_null(buf);
    if (gzip) {
        assert_true(len > 2);
        assert_int_equal(buf[0], 0x1f);
        assert_int_equal(buf[1], 0x8b);
    }
    d = pprof_decode(buf, len);
    free(buf);
    assert_non_null(d);
    return d;
}

static const char *location_function(const struct pprof_decoded *d, const struct pprof_decoded_location *l)
{
    const struct pprof_decoded_function *f;

    assert_int_equal(l->nlines, 1);
    f = pprof_decoded_function(d, l->lines[0].function_id);
    assert_non_null(f);
    return pprof_decoded_string(d, f->name);
}

static void test_pprof_encode_decodes_to_same_structure(void **state)
{
    pprof_profile *p = three_sample_profile();
    int calls = 0;
    struct pprof_decoded *d = encode_and_decode(p, 0, &calls);

    /* header fields */
    assert_string_equal(pprof_decoded_string(d, 0), "");
    assert_int_equal(d->nsample_types, 2);
    assert_int_equal(pprof_decoded_sample_type(d, "contentions", "count"), 0);
    assert_int_equal(pprof_decoded_sample_type(d, "delay", "nanoseconds"), 1);
    assert_string_equal(pprof_decoded_string(d, d->period_type.type), "contentions");
    assert_string_equal(pprof_decoded_string(d, d->period_type.unit), "count");
    assert_int_equal(d->period, 7);
    assert_int_equal(d->time_nanos, 1700000000000000000LL);
    assert_int_equal(d->duration_nanos, 5000000000LL);

    /* samples keep order, values and stack order (innermost first) */
    assert_int_equal(d->nsamples, 3);
    assert_int_equal(d->samples[0].nvalues, 2);
    assert_int_equal(d->samples[1].values[0], 2);
    assert_int_equal(d->samples[2].values[1], 300);
    assert_int_equal(d->samples[0].nlocation_ids, 2);
    assert_string_equal(pprof_decoded_frame_name(d, &d->samples[0], 0), "alpha_function");
    assert_string_equal(pprof_decoded_frame_name(d, &d->samples[0], 1), "beta_function");
    assert_string_equal(pprof_decoded_frame_name(d, &d->samples[2], 0), "0x4000");
    /* beta's pc is shared by two samples: one Location */
    assert_int_equal(d->samples[0].location_ids[1], d->samples[1].location_ids[1]);

    /* one Location per distinct pc, each named once; written at pc-1 */
    assert_int_equal(d->nlocations, 4);
    assert_int_equal(calls, 4);
    for (size_t i = 0; i < d->nlocations; i++) {
        const struct pprof_decoded_location *l = &d->locations[i];
        const char *name = location_function(d, l);
        /* These made-up pcs lie in no loaded object: no mapping. */
        assert_int_equal(l->mapping_id, 0);
        if (l->address == 0x1000) {
            assert_string_equal(name, "alpha_function");
            assert_int_equal(l->lines[0].line, 10);
        } else if (l->address == 0x3000) {
            assert_string_equal(name, "alpha_function");
            assert_int_equal(l->lines[0].line, 12);
        } else if (l->address == 0x2000) {
            assert_string_equal(name, "beta_function");
            assert_int_equal(l->lines[0].line, 20);
        } else {
            assert_int_equal(l->address, 0x4000);
            assert_string_equal(name, "0x4000");
            assert_int_equal(l->lines[0].line, 0);
        }
    }

    /* one Function per distinct name, with its file */
    assert_int_equal(d->nfunctions, 3);
    for (size_t i = 0; i < d->nfunctions; i++) {
        const char *name = pprof_decoded_string(d, d->functions[i].name);
        const char *file = pprof_decoded_string(d, d->functions[i].filename);
        assert_int_equal(d->functions[i].name, d->functions[i].system_name);
        if (strcmp(name, "alpha_function") == 0)
            assert_string_equal(file, "alpha.c");
        else if (strcmp(name, "beta_function") == 0)
            assert_string_equal(file, "beta.c");
        else
            assert_string_equal(name, "0x4000");
    }

    /* One mapping per executable segment of each loaded object, the program first;
     * none holds a location here, so none claims symbols. */
    assert_true(d->nmappings >= 2);
    assert_int_equal(d->mappings[0].id, 1);
    assert_non_null(strstr(pprof_decoded_string(d, d->mappings[0].filename), "test_pprof"));
    for (size_t i = 0; i < d->nmappings; i++) {
        assert_false(d->mappings[i].has_functions);
        assert_true(d->mappings[i].memory_limit > d->mappings[i].memory_start);
    }

    pprof_decoded_free(d);
    pprof_free(p);
}

static void test_pprof_string_table_has_no_duplicates(void **state)
{
    pprof_profile *p = three_sample_profile();
    int calls = 0;
    struct pprof_decoded *d = encode_and_decode(p, 0, &calls);

    for (size_t i = 0; i < d->nstrings; i++)
        for (size_t j = i + 1; j < d->nstrings; j++)
            assert_string_not_equal(d->strings[i], d->strings[j]);
    pprof_decoded_free(d);
    pprof_free(p);
}

static void test_pprof_gzip_decodes_to_same_profile(void **state)
{
    pprof_profile *p = three_sample_profile();
    int calls = 0;
    struct pprof_decoded *plain = encode_and_decode(p, 0, &calls);
    struct pprof_decoded *zipped = encode_and_decode(p, 1, &calls);

    assert_int_equal(zipped->nsamples, plain->nsamples);
    assert_int_equal(zipped->nlocations, plain->nlocations);
    assert_int_equal(zipped->nfunctions, plain->nfunctions);
    assert_int_equal(zipped->nstrings, plain->nstrings);
    for (size_t i = 0; i < plain->nstrings; i++)
        assert_string_equal(zipped->strings[i], plain->strings[i]);
    assert_int_equal(pprof_decoded_sum(zipped, 1), 600);
    pprof_decoded_free(plain);
    pprof_decoded_free(zipped);
    pprof_free(p);
}

static void test_pprof_extreme_values_round_trip(void **state)
{
    static const struct pprof_value_type types[] = {
        { "a", "count" }, { "b", "count" }, { "c", "count" }, { "d", "count" },
    };
    const int64_t values[] = { INT64_MIN, -1, INT64_MAX, (int64_t)1 << 35 };
    const uintptr_t pcs[] = { UINTPTR_MAX, 0x80, 0x7f, 1 };
    pprof_profile *p = pprof_new(types, 4, (struct pprof_value_type){ "a", "count" }, 0);
    int calls = 0;
    struct pprof_decoded *d;

    assert_int_equal(pprof_add_sample(p, pcs, 4, values), 0);
    assert_int_equal(pprof_add_sample(p, NULL, 0, values), 0);
    d = encode_and_decode(p, 1, &calls);
    assert_int_equal(d->nsamples, 2);
    assert_int_equal(d->samples[0].nvalues, 4);
    for (int i = 0; i < 4; i++)
        assert_true(d->samples[0].values[i] == values[i]);
    assert_int_equal(pprof_decoded_location(d, d->samples[0].location_ids[0])->address, UINTPTR_MAX - 1);
    assert_int_equal(pprof_decoded_location(d, d->samples[0].location_ids[2])->address, 0x7e);
    assert_int_equal(d->samples[1].nlocation_ids, 0);
    assert_int_equal(d->period, 0);
    pprof_decoded_free(d);
    pprof_free(p);
}

static void test_pprof_rejects_bad_arguments(void **state)
{
    uintptr_t pcs[300] = { 0 };
    const int64_t values[2] = { 1, 1 };
    struct pprof_value_type none = { NULL, "count" };
    pprof_profile *p;
    unsigned char *buf = NULL;
    size_t len = 0;

    assert_null(pprof_new(two_types, 0, two_types[0], 1));
    assert_null(pprof_new(two_types, 9, two_types[0], 1));
    assert_null(pprof_new(&none, 1, two_types[0], 1));
    p = pprof_new(two_types, 2, two_types[0], 1);
    assert_non_null(p);
    assert_int_equal(pprof_add_sample(p, pcs, 300, values), -1);
    assert_int_equal(pprof_add_sample(p, pcs, -1, values), -1);
    assert_int_equal(pprof_add_sample(p, pcs, 1, NULL), -1);
    assert_int_equal(pprof_encode(NULL, NULL, NULL, 0, &buf, &len), -1);
    assert_null(buf);
    pprof_free(p);
    pprof_free(NULL);
}

/* Distinctive, exported (a stand-in symbolizer may only see exported names) and
 * never inlined, so its address names it. */
void pprof_test_named_function(void);
__attribute__((noinline)) void pprof_test_named_function(void)
{
    __asm__ volatile("" ::: "memory");
}

static void test_pprof_symbolize_with_stacks_names_function(void **state)
{
    char function[256], file[256];
    int line = -1;
    uintptr_t pc = (uintptr_t)pprof_test_named_function;

    assert_int_equal(pprof_symbolize_with_stacks(pc, function, sizeof function, file, sizeof file,
                                                 &line, NULL), 0);
    assert_string_equal(function, "pprof_test_named_function");
    assert_true(line >= 0);
}

/* The mapping of a location, or NULL. */
static const struct pprof_decoded_mapping *mapping_of(const struct pprof_decoded *d, uint64_t id)
{
    for (size_t i = 0; i < d->nmappings; i++)
        if (d->mappings[i].id == id)
            return &d->mappings[i];
    return NULL;
}

static void test_pprof_mappings_name_each_loaded_object(void **state)
{
    static const int64_t one[] = {1};
    static const struct pprof_value_type count = {"samples", "count"};
    /* A pc of this program and one of libc, as return addresses. */
    uintptr_t pcs[2] = {(uintptr_t)pprof_test_named_function + 1, (uintptr_t)getpid + 1};
    pprof_profile *p = pprof_new(&count, 1, count, 1);
    unsigned char *buf = NULL;
    size_t len = 0;
    int saw_program = 0, saw_libc = 0;

    assert_non_null(p);
    assert_int_equal(pprof_add_sample(p, pcs, 2, one), 0);
    assert_int_equal(pprof_encode(p, pprof_symbolize_with_stacks, NULL, 0, &buf, &len), 0);
    struct pprof_decoded *d = pprof_decode(buf, len);
    assert_non_null(d);
    assert_int_equal(d->nlocations, 2);
    for (size_t i = 0; i < d->nlocations; i++) {
        const struct pprof_decoded_location *l = &d->locations[i];
        const struct pprof_decoded_mapping *m = mapping_of(d, l->mapping_id);
        assert_non_null(m);
        assert_true(l->address >= m->memory_start && l->address < m->memory_limit);
        const char *file = pprof_decoded_string(d, m->filename);
        const char *build_id = pprof_decoded_string(d, m->build_id);
        assert_non_null(build_id);
        assert_int_equal(strlen(build_id), 40);   /* a GNU build ID: 20 bytes in hex */
        if (l->address == pcs[0] - 1) {
            /* Named with file and line from our debug info: pprof needs nothing more. */
            assert_non_null(strstr(file, "/test_pprof"));
            assert_true(m->has_functions);
            assert_true(m->has_filenames);
            assert_true(m->has_line_numbers);
            saw_program = 1;
        } else {
            assert_non_null(strstr(file, "/libc.so"));
            assert_int_equal(file[0], '/');
            /* libc has no line table here: it must not claim one. */
            if (m->has_line_numbers)
                assert_true(l->nlines == 1 && l->lines[0].line > 0);
            saw_libc = 1;
        }
    }
    assert_true(saw_program && saw_libc);
    pprof_decoded_free(d);

    char *out = NULL;
    int rc = pprof_decode_go_tool(buf, len, "-raw", &out);
    if (rc < 0)
        fail_msg("go tool pprof -raw failed: %s", out ? out : "(no output)");
    if (rc == 0)
        assert_non_null(strstr(out, "/libc.so"));
    free(out);
    free(buf);
    pprof_free(p);
}

static void test_pprof_text_stack_uses_go_layout(void **state)
{
    struct pprof_text t = { 0 };
    uintptr_t pcs[2];
    char *text = NULL, expect_header[64], expect_frame[128];
    size_t len = 0;

    /* As return addresses: named at pc-1, i.e. exactly at the function's entry. */
    pcs[0] = (uintptr_t)pprof_test_named_function + 1;
    pcs[1] = 0x11;
    pprof_text_printf(&t, "%d %d @", 5, 2);
    pprof_text_stack(&t, pcs, 2);
    assert_int_equal(pprof_text_finish(&t, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    snprintf(expect_header, sizeof expect_header, "5 2 @ 0x%lx 0x11\n", (unsigned long)pcs[0]);
    assert_memory_equal(text, expect_header, strlen(expect_header));
    snprintf(expect_frame, sizeof expect_frame, "#\t0x%lx\tpprof_test_named_function+0x0\t",
             (unsigned long)(pcs[0] - 1));
    assert_non_null(strstr(text, expect_frame));
    assert_non_null(strstr(text, "\n#\t0x10\n\n"));
    assert_int_equal(text[len - 1], '\n');
    assert_int_equal(text[len - 2], '\n');
    free(text);
}

static void test_pprof_text_grows_past_first_buffer(void **state)
{
    struct pprof_text t = { 0 };
    char *text = NULL;
    size_t len = 0;

    for (int i = 0; i < 2000; i++)
        pprof_text_printf(&t, "line %04d\n", i);
    assert_int_equal(pprof_text_finish(&t, &text, &len), 0);
    assert_int_equal(len, 2000 * 10);
    assert_memory_equal(text + 1999 * 10, "line 1999\n", 10);
    free(text);
    assert_null(t.data);
}

static void test_pprof_go_tool_names_functions(void **state)
{
    pprof_profile *p = three_sample_profile();
    unsigned char *buf = NULL;
    size_t len = 0;
    char *out = NULL;
    int calls = 0, rc;

    assert_int_equal(pprof_encode(p, fake_symbolize, &calls, 1, &buf, &len), 0);
    rc = pprof_decode_go_top(buf, len, &out);
    free(buf);
    pprof_free(p);
    if (rc == 1)
        skip();
    if (rc != 0)
        fail_msg("go tool pprof failed: %s", out ? out : "(no output)");
    /* The default sample type is the last one (delay): the unknown pc carries the
     * most flat delay, alpha next, and beta appears in cumulative rows. */
    assert_non_null(strstr(out, "alpha_function"));
    assert_non_null(strstr(out, "beta_function"));
    assert_non_null(strstr(out, "0x4000"));
    assert_non_null(strstr(out, "Type: delay"));
    assert_null(strstr(out, "failed"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pprof_encode_decodes_to_same_structure),
        cmocka_unit_test(test_pprof_string_table_has_no_duplicates),
        cmocka_unit_test(test_pprof_gzip_decodes_to_same_profile),
        cmocka_unit_test(test_pprof_extreme_values_round_trip),
        cmocka_unit_test(test_pprof_rejects_bad_arguments),
        cmocka_unit_test(test_pprof_symbolize_with_stacks_names_function),
        cmocka_unit_test(test_pprof_mappings_name_each_loaded_object),
        cmocka_unit_test(test_pprof_text_stack_uses_go_layout),
        cmocka_unit_test(test_pprof_text_grows_past_first_buffer),
        cmocka_unit_test(test_pprof_go_tool_names_functions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
