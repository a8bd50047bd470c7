/*  tests/unit/test_html.c - master/html.c: the self-contained HTML report.
 *
 *  Also writes the reports of the fixtures in tests/webui/fixtures/ to
 *  build/test-report.html (the summary with every section) and
 *  build/test-report-today.html (what `hornet run --json` gives today),
 *  which tests/webui/report.test.mjs opens in headless Chromium. Run from
 *  the repository root, as tests/run.sh does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "html.h"
#include "webui.h"

#define FIXTURES "tests/webui/fixtures/"
#define DATA_OPEN "<script type=\"application/json\" id=\"hornet-data\">"

/*  The report of json, in memory; the caller frees it. */
static char *s_report(const char *json, size_t len, hn_err_t want, char *err,
                      size_t *out_len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    err[0] = 0;
    hn_err_t rc = html_write_report(json, len, f, err);
    if (rc != want)
        fail_msg("html_write_report: %d (%s), wanted %d", rc, err, want);
    assert_int_equal(fclose(f), 0);
    if (out_len)
        *out_len = n;
    return buf;
}

static char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: cannot open it (run the tests from the repository root)",
                 path);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

/*  The text of the data element in a report. */
static char *s_data(const char *html)
{
    const char *p = strstr(html, DATA_OPEN);
    assert_non_null(p);
    p += strlen(DATA_OPEN);
    const char *end = strstr(p, "</script>");
    assert_non_null(end);
    return strndup(p, (size_t)(end - p));
}

static size_t s_count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/*  Writes the fixture's report to build/NAME and checks it. */
static void s_fixture(const char *fixture, const char *name)
{
    size_t len, n;
    char *json = s_slurp(fixture, &len);
    char err[HN_ERRLEN];
    char *html = s_report(json, len, HN_OK, err, &n);
    assert_int_equal(strlen(html), n);

    /* Nothing is loaded from anywhere: no src or href attribute is left. */
    assert_null(strstr(html, "<script src"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, " src=\""));
    assert_null(strstr(html, " href=\""));
    assert_non_null(strstr(html, "Content-Security-Policy"));
    /* Each embedded file is inside, byte for byte. */
    const char *assets[] = {"/uPlot.iife.min.js", "/uPlot.min.css",
                            "/charts.js",         "/report.js",
                            "/style.css",         "/report.css"};
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++) {
        const webui_file_t *f = webui_find(assets[i]);
        assert_non_null(f);
        assert_non_null(memmem(html, n, f->data, f->len));
    }
    assert_int_equal(s_count(html, "<script>\n"), 3);
    assert_int_equal(s_count(html, "<style>\n"), 3);
    assert_int_equal(s_count(html, DATA_OPEN), 1);

    /* The data is the summary, unchanged as JSON. */
    char *data = s_data(html);
    json_error_t je;
    json_t *a = json_loadb(json, len, 0, &je);
    json_t *b = json_loads(data, 0, &je);
    if (!b)
        fail_msg("the embedded summary does not parse: %s", je.text);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    free(data);

    char path[256];
    snprintf(path, sizeof path, "build/%s", name);
    FILE *out = fopen(path, "w");
    if (!out)
        fail_msg("%s: cannot write it", path);
    assert_int_equal(html_write_report(json, len, out, err), HN_OK);
    assert_int_equal(fclose(out), 0);
    free(html);
    free(json);
}

static void full_summary_makes_a_self_contained_page(void **state)
{
    (void)state;
    s_fixture(FIXTURES "summary-full.json", "test-report.html");
}

static void todays_summary_makes_a_page_too(void **state)
{
    (void)state;
    s_fixture(FIXTURES "summary-today.json", "test-report-today.html");
}

static void summary_cannot_close_the_script(void **state)
{
    (void)state;
    const char *json = "{\"name\": \"</script><script>alert(1)</script>\","
                       " \"c\": \"<!-- <script> -->\", \"ok\": \"a<b\"}";
    char err[HN_ERRLEN];
    char *html = s_report(json, strlen(json), HN_OK, err, NULL);
    char *data = s_data(html);
    /* The element ends at its own </script>, and the text has neither
     * "</" nor "<!--" left. */
    assert_null(strstr(data, "</"));
    assert_null(strstr(data, "<!--"));
    assert_non_null(strstr(data, "<\\/script><script>alert(1)<\\/script>"));
    assert_non_null(strstr(data, "<\\u0021-- <script> -->"));
    assert_non_null(strstr(data, "a<b"));
    json_error_t je;
    json_t *a = json_loads(json, 0, &je);
    json_t *b = json_loads(data, 0, &je);
    assert_non_null(b);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    free(data);
    free(html);
}

static void length_is_used_not_the_nul(void **state)
{
    (void)state;
    const char buf[] = "{\"requests\": 5}garbage";
    char err[HN_ERRLEN];
    char *html = s_report(buf, strlen("{\"requests\": 5}"), HN_OK, err, NULL);
    char *data = s_data(html);
    assert_string_equal(data, "\n{\"requests\": 5}\n");
    free(data);
    free(html);
}

static void bad_summaries_are_refused_with_a_place(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    free(s_report("{\"a\": ", 6, HN_ERR_INVALID, err, NULL));
    assert_non_null(strstr(err, "run summary: line 1"));
    free(s_report("[1, 2]", 6, HN_ERR_INVALID, err, NULL));
    assert_string_equal(err, "run summary: not a JSON object");
    free(s_report("", 0, HN_ERR_INVALID, err, NULL));
    assert_non_null(strstr(err, "run summary"));
    free(s_report(NULL, 0, HN_ERR_INVALID, err, NULL));
    assert_string_equal(err, "run summary: not a JSON object");
}

static void write_errors_are_io_errors(void **state)
{
    (void)state;
    const char *json = "{\"requests\": 1}";
    char err[HN_ERRLEN] = "";
    /* A full disk: the writes are buffered, the flush fails. */
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        assert_int_equal(html_write_report(json, strlen(json), full, err),
                         HN_ERR_IO);
        assert_non_null(strstr(err, "writing the HTML report: "));
        assert_non_null(strstr(err, "No space left on device"));
        fclose(full);
    }
    /* A stream that is not open for writing. */
    FILE *ro = fopen("/dev/null", "r");
    assert_non_null(ro);
    err[0] = 0;
    assert_int_equal(html_write_report(json, strlen(json), ro, err), HN_ERR_IO);
    assert_non_null(strstr(err, "writing the HTML report: "));
    fclose(ro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_summary_makes_a_self_contained_page),
        cmocka_unit_test(todays_summary_makes_a_page_too),
        cmocka_unit_test(summary_cannot_close_the_script),
        cmocka_unit_test(length_is_used_not_the_nul),
        cmocka_unit_test(bad_summaries_are_refused_with_a_place),
        cmocka_unit_test(write_errors_are_io_errors),
    };
    return cmocka_run_group_tests_name("html", tests, NULL, NULL);
}
