/* test_doc_formats.c — the documents capability's pure rules
 * (worker/src/caps/documents/formats.c: the conversion matrix, forced import
 * filters, output paths, the create check and memory floor; output_log.c: the
 * converter's last meaningful line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "caps/documents/formats.h"
#include "caps/documents/output_log.h"

static void test_supported_pairs(void **state)
{
    (void)state;
    static const char *const ok[][2] = {
        {"a.docx", "pdf"}, {"a.docx", "odt"}, {"a.odt", "pdf"}, {"a.odt", "docx"},   {"a.html", "pdf"},
        {"a.htm", "pdf"},  {"a.md", "pdf"},   {"a.xlsx", "ods"}, {"a.xlsx", "pdf"}, {"a.csv", "ods"},
        {"a.csv", "pdf"},  {"a.ods", "xlsx"}, {"a.ods", "csv"}, {"a.pptx", "pdf"},  {"dir/x.y/A.DOCX", "pdf"},
        {"a.pdf", "txt"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        sq_doc_plan p;
        sq_err err;
        if (sq_doc_plan_for(ok[i][0], ok[i][1], &p, &err) != 0)
            fail_msg("%s → %s refused: %s", ok[i][0], ok[i][1], err.msg);
        assert_string_equal(p.to, ok[i][1]);
    }
}

static void test_plans_force_the_import_filter(void **state)
{
    (void)state;
    sq_doc_plan p;
    sq_err err;
    assert_int_equal(sq_doc_plan_for("r.docx", "pdf", &p, &err), 0);
    assert_int_equal(p.tool, SQ_DOC_SOFFICE);
    assert_string_equal(p.from, "docx");
    assert_string_equal(p.infilter, "MS Word 2007 XML");
    assert_string_equal(p.convert_to, "pdf");
    assert_int_equal(sq_doc_plan_for("page.HTM", "odt", &p, &err), 0);
    assert_string_equal(p.from, "html"); /* htm is html */
    assert_string_equal(p.infilter, "HTML (StarWriter)");
    assert_int_equal(sq_doc_plan_for("t.ods", "csv", &p, &err), 0);
    assert_non_null(strstr(p.convert_to, "csv:Text - txt - csv (StarCalc):44,34,76")); /* UTF-8 out */
    assert_int_equal(sq_doc_plan_for("n.md", "pdf", &p, &err), 0);
    assert_string_equal(p.infilter, "Text (encoded):UTF8");
    assert_int_equal(sq_doc_plan_for("x.pdf", "txt", &p, &err), 0);
    assert_int_equal(p.tool, SQ_DOC_PDFTOTEXT);
    assert_null(p.infilter);
}

static void test_unsupported_pairs_name_the_field(void **state)
{
    (void)state;
    sq_doc_plan p;
    sq_err err;
    assert_int_equal(sq_doc_plan_for("a.docx", "xlsx", &p, &err), -1);
    assert_int_equal(err.code, SQ_INVALID_REQUEST);
    assert_string_equal(err.field, "body.to");
    assert_non_null(strstr(err.msg, "docx cannot be converted to xlsx; it converts to pdf, odt"));
    assert_int_equal(sq_doc_plan_for("a.pdf", "docx", &p, &err), -1);
    assert_string_equal(err.field, "body.to");
    static const char *const bad_inputs[] = {"a.xyz", "noext", ".docx", "dir.docx/file", "a."};
    for (size_t i = 0; i < sizeof bad_inputs / sizeof bad_inputs[0]; i++) {
        assert_int_equal(sq_doc_plan_for(bad_inputs[i], "pdf", &p, &err), -1);
        assert_string_equal(err.field, "body.input");
        assert_non_null(strstr(err.msg, ".docx, .odt"));
    }
}

static void test_output_paths(void **state)
{
    (void)state;
    char out[64], dir[64];
    sq_err err;
    assert_int_equal(sq_doc_output_path(".", "report.docx", "pdf", out, sizeof out, &err), 0);
    assert_string_equal(out, "report.pdf");
    assert_int_equal(sq_doc_output_path("out/pdf", "in/my.report.v2.docx", "pdf", out, sizeof out, &err), 0);
    assert_string_equal(out, "out/pdf/my.report.v2.pdf");
    assert_int_equal(sq_doc_output_path("a", "b", "txt", out, sizeof out, &err), 0);
    assert_string_equal(out, "a/b.txt");
    char longdir[80];
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[sizeof longdir - 1] = '\0';
    assert_int_equal(sq_doc_output_path(longdir, "x.docx", "pdf", out, sizeof out, &err), -1);
    assert_int_equal(err.code, SQ_INVALID_REQUEST);
    sq_doc_dirname("in/sub/a.docx", dir, sizeof dir);
    assert_string_equal(dir, "in/sub");
    sq_doc_dirname("a.docx", dir, sizeof dir);
    assert_string_equal(dir, ".");
}

static void test_create_check(void **state)
{
    (void)state;
    sq_err err;
    json_error_t je;
    json_t *b = json_loads("{\"capabilities\": {\"documents\": {\"libreofficeHeadless\": true}}}", 0, &je);
    assert_true(sq_doc_wanted(b));
    json_decref(b);
    b = json_loads("{\"capabilities\": {\"documents\": {\"libreofficeHeadless\": false}}}", 0, &je);
    assert_false(sq_doc_wanted(b));
    json_decref(b);
    b = json_loads("{}", 0, &je);
    assert_false(sq_doc_wanted(b));
    json_decref(b);

    assert_int_equal(sq_doc_create_check(false, false, 16, &err), 0); /* not asked: nothing to check */
    assert_int_equal(sq_doc_create_check(true, false, 0, &err), -1);
    assert_int_equal(err.code, SQ_CAPABILITY_UNAVAILABLE);
    assert_string_equal(err.field, "body.capabilities.documents");
    assert_int_equal(sq_doc_create_check(true, true, SQ_DOC_MIN_MEMORY_MB - 1, &err), -1);
    assert_int_equal(err.code, SQ_LIMIT_EXCEEDED);
    assert_string_equal(err.field, "body.limits.memoryMb");
    assert_int_equal(sq_doc_create_check(true, true, SQ_DOC_MIN_MEMORY_MB, &err), 0);
    assert_int_equal(sq_doc_create_check(true, true, 0, &err), 0); /* no limit */
}

static void test_output_log_keeps_the_last_meaningful_line(void **state)
{
    (void)state;
    sq_doc_log l = {0};
    char last[128];
    sq_doc_log_last(&l, last, sizeof last);
    assert_string_equal(last, "");
    const char *a = "Warning: failed to launch javaldx - java may not function correctly\n";
    const char *b = "Error: source file could not be loaded\r\n";
    sq_doc_log_add(&l, a, strlen(a));
    sq_doc_log_last(&l, last, sizeof last);
    assert_string_equal(last, ""); /* the harmless warning alone */
    sq_doc_log_add(&l, b, strlen(b));
    sq_doc_log_add(&l, a, strlen(a));
    sq_doc_log_last(&l, last, sizeof last);
    assert_string_equal(last, "Error: source file could not be loaded");
    /* Bounded: 10 KiB of output keeps its tail. */
    char big[10240];
    memset(big, 'x', sizeof big);
    sq_doc_log_add(&l, big, sizeof big);
    sq_doc_log_add(&l, "\nSyntax Error: Couldn't find trailer dictionary\n", 48);
    assert_true(l.len < sizeof l.buf);
    sq_doc_log_last(&l, last, sizeof last);
    assert_string_equal(last, "Syntax Error: Couldn't find trailer dictionary");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_supported_pairs),
        cmocka_unit_test(test_plans_force_the_import_filter),
        cmocka_unit_test(test_unsupported_pairs_name_the_field),
        cmocka_unit_test(test_output_paths),
        cmocka_unit_test(test_create_check),
        cmocka_unit_test(test_output_log_keeps_the_last_meaningful_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
