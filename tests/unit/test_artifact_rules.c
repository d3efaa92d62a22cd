/* test_artifact_rules.c — the pure parts of artifact export: outputs globs
 * (artifacts/outputs_glob.h), content types (content_type.h) and HTTP ranges
 * (http_range.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "artifacts/content_type.h"
#include "artifacts/http_range.h"
#include "artifacts/outputs_glob.h"

static void test_normalize(void **state)
{
    (void)state;
    sq_err e;
    assert_string_equal(sq_glob_normalize("/workspace/out/*.csv", &e), "out/*.csv");
    assert_string_equal(sq_glob_normalize("./a.txt", &e), "a.txt");
    assert_null(sq_glob_normalize("/etc/*", &e));
    assert_int_equal(e.code, SQ_PATH_OUTSIDE_WORKSPACE);
    assert_null(sq_glob_normalize("out/../../x", &e));
    assert_null(sq_glob_normalize("..", &e));
    assert_null(sq_glob_normalize("", &e));
    assert_string_equal(sq_glob_normalize("a..b", &e), "a..b"); /* a name, not a parent */
}

static void test_match(void **state)
{
    (void)state;
    assert_true(sq_glob_match("out/*.csv", "out/a.csv"));
    assert_false(sq_glob_match("out/*.csv", "out/sub/a.csv")); /* * does not cross '/' */
    assert_false(sq_glob_match("*.csv", "out/a.csv"));
    assert_true(sq_glob_match("*.csv", "a.csv"));
    assert_false(sq_glob_match("*.csv", ".hidden.csv"));     /* a leading dot is matched explicitly */
    assert_true(sq_glob_match(".*.csv", ".hidden.csv"));
    assert_true(sq_glob_match("**/*.png", "a.png"));          /* ** is zero directories too */
    assert_true(sq_glob_match("**/*.png", "x/y/z/a.png"));
    assert_false(sq_glob_match("**/*.png", ".cache/a.png"));  /* ** does not enter hidden directories */
    assert_true(sq_glob_match("out/**", "out/a/b"));
    assert_true(sq_glob_match("report.pdf", "report.pdf"));
    assert_false(sq_glob_match("report.pdf", "report.pdf.bak"));
    assert_true(sq_glob_match("data/[ab]?.txt", "data/b1.txt"));
}

static void test_dir_may_match(void **state)
{
    (void)state;
    assert_true(sq_glob_dir_may_match("out/*.csv", ""));
    assert_true(sq_glob_dir_may_match("out/*.csv", "out"));
    assert_false(sq_glob_dir_may_match("out/*.csv", "src"));
    assert_false(sq_glob_dir_may_match("out/*.csv", "out/sub"));
    assert_false(sq_glob_dir_may_match("*.csv", "out"));
    assert_true(sq_glob_dir_may_match("**/*.csv", "a/b/c"));
    assert_true(sq_glob_dir_may_match("*/x.txt", "anything"));
    assert_false(sq_glob_dir_may_match("a/b", "a/b"));         /* the dir itself, nothing below */
}

static void test_content_type(void **state)
{
    (void)state;
    assert_string_equal(sq_content_type_of("out/report.PDF"), "application/pdf");
    assert_string_equal(sq_content_type_of("a.csv"), "text/csv; charset=utf-8");
    assert_string_equal(sq_content_type_of("shot.png"), "image/png");
    assert_string_equal(sq_content_type_of("noext"), "application/octet-stream");
    assert_string_equal(sq_content_type_of(".bashrc"), "application/octet-stream");
    assert_string_equal(sq_content_type_of("dir.png/file"), "application/octet-stream");
}

static void test_range(void **state)
{
    (void)state;
    uint64_t f, l;
    assert_int_equal(sq_range_parse(NULL, 100, &f, &l), SQ_RANGE_NONE);
    assert_int_equal(sq_range_parse("bytes=0-9", 100, &f, &l), SQ_RANGE_OK);
    assert_true(f == 0 && l == 10);
    assert_int_equal(sq_range_parse("bytes=90-", 100, &f, &l), SQ_RANGE_OK);
    assert_true(f == 90 && l == 10);
    assert_int_equal(sq_range_parse("bytes=90-500", 100, &f, &l), SQ_RANGE_OK);
    assert_true(f == 90 && l == 10);
    assert_int_equal(sq_range_parse("bytes=-5", 100, &f, &l), SQ_RANGE_OK);
    assert_true(f == 95 && l == 5);
    assert_int_equal(sq_range_parse("bytes=-500", 100, &f, &l), SQ_RANGE_OK);
    assert_true(f == 0 && l == 100);
    assert_int_equal(sq_range_parse("bytes=100-", 100, &f, &l), SQ_RANGE_UNSATISFIABLE);
    assert_int_equal(sq_range_parse("bytes=-0", 100, &f, &l), SQ_RANGE_UNSATISFIABLE);
    assert_int_equal(sq_range_parse("bytes=5-2", 100, &f, &l), SQ_RANGE_NONE);
    assert_int_equal(sq_range_parse("bytes=0-1,5-6", 100, &f, &l), SQ_RANGE_NONE);
    assert_int_equal(sq_range_parse("items=0-1", 100, &f, &l), SQ_RANGE_NONE);
    assert_int_equal(sq_range_parse("bytes=99999999999999999999999-", 100, &f, &l), SQ_RANGE_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),    cmocka_unit_test(test_match), cmocka_unit_test(test_dir_may_match),
        cmocka_unit_test(test_content_type), cmocka_unit_test(test_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
