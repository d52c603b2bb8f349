/* Tests for common/gzip.c: real gzip streams (zlib's own inflate reads what
 * gzip_compress writes, and gzip_decompress reads what gzip(1) writes), the bound on
 * what a decompression may grow to, and truncated or corrupt input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gzip.h"

static char err[256];

static void test_gzip_round_trip_both_levels(void **state)
{
    (void)state;
    static const int levels[] = {GZIP_FASTEST, GZIP_SMALLEST};
    size_t n = 200000;
    char *text = test_malloc(n);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        text[i] = (char)('a' + (i * 7 + i / 13) % 26);
    for (size_t k = 0; k < 2; k++) {
        unsigned char *gz = NULL, *back = NULL;
        size_t gzlen = 0, backlen = 0;
        assert_int_equal(gzip_compress(text, n, levels[k], &gz, &gzlen, err, sizeof err), 0);
        assert_true(gzlen > 18 && gzlen < n);
        assert_int_equal(gz[0], 0x1f); /* the gzip magic, not zlib's wrapper */
        assert_int_equal(gz[1], 0x8b);
        assert_int_equal(gzip_decompress(gz, gzlen, n, &back, &backlen, err, sizeof err), 0);
        assert_int_equal(backlen, n);
        assert_memory_equal(back, text, n);
        assert_int_equal(back[n], '\0');
        free(gz);
        free(back);
    }
    test_free(text);
}

static void test_gzip_empty_input(void **state)
{
    (void)state;
    unsigned char *gz = NULL, *back = NULL;
    size_t gzlen = 0, backlen = 99;
    assert_int_equal(gzip_compress("", 0, GZIP_FASTEST, &gz, &gzlen, err, sizeof err), 0);
    assert_int_equal(gzip_decompress(gz, gzlen, 0, &back, &backlen, err, sizeof err), 0);
    assert_int_equal(backlen, 0);
    assert_int_equal(back[0], '\0');
    free(gz);
    free(back);
}

/* What the gzip command writes, so the reader is not only tested against itself:
 * `printf 'hello, gzip\n' | gzip -9n | xxd -i`. */
static void test_gzip_reads_gzip_command_output(void **state)
{
    (void)state;
    static const unsigned char from_gzip[] = {
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9,
        0xd7, 0x51, 0x48, 0xaf, 0xca, 0x2c, 0xe0, 0x02, 0x00, 0x86, 0x1f, 0x82, 0xa4, 0x0c, 0x00,
        0x00, 0x00};
    unsigned char *back = NULL;
    size_t backlen = 0;
    assert_int_equal(gzip_decompress(from_gzip, sizeof from_gzip, 100, &back, &backlen, err, sizeof err), 0);
    assert_string_equal((char *)back, "hello, gzip\n");
    free(back);
}

static void test_gzip_decompress_limit_truncation_corruption(void **state)
{
    (void)state;
    size_t n = 50000;
    char *text = test_calloc(1, n);
    unsigned char *gz = NULL, *back = NULL;
    size_t gzlen = 0, backlen = 0;
    assert_non_null(text);
    assert_int_equal(gzip_compress(text, n, GZIP_SMALLEST, &gz, &gzlen, err, sizeof err), 0);

    assert_int_equal(gzip_decompress(gz, gzlen, n - 1, &back, &backlen, err, sizeof err), -1);
    assert_null(back);
    assert_non_null(strstr(err, "larger than 49999 bytes"));
    assert_int_equal(gzip_decompress(gz, gzlen, n, &back, &backlen, err, sizeof err), 0);
    free(back);
    back = NULL;

    assert_int_equal(gzip_decompress(gz, gzlen / 2, n, &back, &backlen, err, sizeof err), -1);
    assert_null(back);
    assert_non_null(strstr(err, "truncated"));

    gz[gzlen / 2] ^= 0xff;
    gz[gzlen / 2 + 1] ^= 0x5a;
    assert_int_equal(gzip_decompress(gz, gzlen, n, &back, &backlen, err, sizeof err), -1);
    assert_null(back);
    assert_non_null(strstr(err, "corrupt"));

    assert_int_equal(gzip_decompress("not gzip at all", 15, n, &back, &backlen, err, sizeof err), -1);
    assert_non_null(strstr(err, "corrupt"));
    free(gz);
    test_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip_round_trip_both_levels),
        cmocka_unit_test(test_gzip_empty_input),
        cmocka_unit_test(test_gzip_reads_gzip_command_output),
        cmocka_unit_test(test_gzip_decompress_limit_truncation_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
