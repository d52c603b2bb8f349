/* Tests for report/html.c: the escaping every report page relies on, fed hostile
 * strings (markup, both quotes, ampersands, control characters, a NUL inside a <pre>
 * text), and a whole page read back by libxml2's HTML parser (xmllint --html): the
 * title comes back exactly as given and the markup in it never becomes an element. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge/verdict.h"
#include "report/html.h"
#include "tmpdb.h"
#include "xpath.h"

#define HOSTILE "<script>alert(\"x\")</script> & 'y' <!-- --> ]]>"

/* What writer made of text (malloc'd by open_memstream; caller frees). */
typedef void (*writer_fn)(FILE *f, const char *text);
static char *written(writer_fn writer, const char *text)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    writer(f, text);
    assert_int_equal(fclose(f), 0);
    return out;
}

static void write_pill(FILE *f, const char *text) { html_pill(f, "bad", text); }

static void test_html_escape_turns_markup_into_text(void **state)
{
    char *out = written(html_escape, HOSTILE);
    (void)state;
    assert_string_equal(out, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; "
                             "&lt;!-- --&gt; ]]&gt;");
    free(out);

    /* Control characters become spaces; newlines stay; tabs do not (outside <pre>). */
    out = written(html_escape, "a\x01" "b\x1b[31mc\td\ne");
    assert_string_equal(out, "a b [31mc d\ne");
    free(out);

    /* Already-escaped text is escaped again, not trusted. */
    out = written(html_escape, "&amp;&lt;");
    assert_string_equal(out, "&amp;amp;&amp;lt;");
    free(out);

    out = written(html_escape, NULL);
    assert_string_equal(out, "");
    free(out);
}

static void test_html_escape_pre_keeps_tabs_and_length(void **state)
{
    static const char dump[] = "#\t0x1\tleak_notifier_wait+0x1\t<service/leak.c>:40\n\0tail";
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    (void)state;
    assert_non_null(f);
    html_escape_pre(f, dump, sizeof dump - 1);  /* the NUL is inside the text, not its end */
    assert_int_equal(fclose(f), 0);
    assert_string_equal(out, "#\t0x1\tleak_notifier_wait+0x1\t&lt;service/leak.c&gt;:40\n tail");
    free(out);
}

static void test_html_pill_and_outcome_classes(void **state)
{
    char *out = written(write_pill, HOSTILE);
    (void)state;
    assert_string_equal(out, "<span class=\"pill bad\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; "
                             "&#39;y&#39; &lt;!-- --&gt; ]]&gt;</span>");
    free(out);
    assert_string_equal(html_outcome_class(VERDICT_WORD_HELD), "ok");
    assert_string_equal(html_outcome_class(VERDICT_WORD_TRIPPED_AS_EXPECTED), "expected");
    assert_string_equal(html_outcome_class("not judged"), "warn");
    assert_string_equal(html_outcome_class(VERDICT_WORD_FAILED), "bad");
    assert_string_equal(html_outcome_class(VERDICT_WORD_HELD_UNEXPECTEDLY), "bad");
    assert_string_equal(html_outcome_class(VERDICT_WORD_ERROR), "bad");
}

static void test_html_page_keeps_hostile_title_and_footer_as_text(void **state)
{
    struct tmpdb tmp;
    char page[256];
    FILE *f;
    (void)state;
    assert_int_equal(tmpdb_make(&tmp, "html-test"), 0);
    tmpdb_file(&tmp, "page.html", page, sizeof page);
    f = fopen(page, "w");
    assert_non_null(f);
    html_begin(f, HOSTILE);
    fputs("<p>body</p>\n", f);
    html_end(f, "footer " HOSTILE);
    assert_int_equal(fclose(f), 0);

    xpath_assert_string(page, true, "string(/html/head/title)", HOSTILE);
    xpath_assert_string(page, true, "string(//footer)", "footer " HOSTILE);
    /* No element came out of the hostile text; the style sheet is inline, and nothing
     * is fetched from elsewhere. */
    xpath_assert_string(page, true, "count(//script) + count(//link) + count(//img)", "0");
    xpath_assert_string(page, true, "count(/html/head/style)", "1");
    xpath_assert_string(page, true, "string(/html/@lang)", "en");

    /* Without a footer line, no footer element. */
    f = fopen(page, "w");
    assert_non_null(f);
    html_begin(f, "t");
    html_end(f, NULL);
    assert_int_equal(fclose(f), 0);
    xpath_assert_string(page, true, "count(//footer)", "0");
    assert_int_equal(tmpdb_remove(&tmp), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_escape_turns_markup_into_text),
        cmocka_unit_test(test_html_escape_pre_keeps_tabs_and_length),
        cmocka_unit_test(test_html_pill_and_outcome_classes),
        cmocka_unit_test(test_html_page_keeps_hostile_title_and_footer_as_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
