/* test_workspace_path.c — lexical resolution of user paths against /workspace
 * (sq/workspace_path.h): what a files.* request may touch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sq/workspace_path.h"

#define OUT_SIZE 4096

static void expect_ok(const char *in, const char *want)
{
    char out[OUT_SIZE];
    sq_err err;
    sq_err_clear(&err);
    memset(out, '#', sizeof out);
    int rc = sq_workspace_path(in, "body.path", out, sizeof out, &err);
    if (rc != 0)
        fail_msg("\"%s\": rejected (%s: %s), want \"%s\"", in, sq_code_name(err.code), err.msg, want);
    if (strcmp(out, want) != 0)
        fail_msg("\"%s\" -> \"%s\", want \"%s\"", in, out, want);
}

static void expect_err(const char *in, sq_code code)
{
    char out[OUT_SIZE];
    sq_err err;
    sq_err_clear(&err);
    int rc = sq_workspace_path(in, "body.path", out, sizeof out, &err);
    if (rc != -1)
        fail_msg("\"%.100s\" accepted as \"%.100s\", want %s", in ? in : "(null)", out, sq_code_name(code));
    if (err.code != code)
        fail_msg("\"%.100s\": %s, want %s", in ? in : "(null)", sq_code_name(err.code), sq_code_name(code));
    assert_string_equal(err.field, "body.path");
    assert_true(err.msg[0] != '\0');
}

static void test_relative(void **state)
{
    (void)state;
    expect_ok("a", "a");
    expect_ok("a/b", "a/b");
    expect_ok("notes/a.txt", "notes/a.txt");
    expect_ok("./a/../b", "b");
    expect_ok("./notes/../notes/a.txt", "notes/a.txt");
    expect_ok("a//b/./c/", "a/b/c");
    expect_ok("a/b/..", "a");
    expect_ok("a/..", ".");
    expect_ok(".", ".");
    expect_ok("./", ".");
    expect_ok("a/b/../../c/d/../e", "c/e");
    /* Names that merely start with dots are names. */
    expect_ok("...", "...");
    expect_ok(".hidden/..x", ".hidden/..x");
    expect_ok("a/.../b", "a/.../b");
}

static void test_absolute_inside(void **state)
{
    (void)state;
    expect_ok("/workspace", ".");
    expect_ok("/workspace/", ".");
    expect_ok("/workspace/a", "a");
    expect_ok("/workspace//a///b/", "a/b");
    expect_ok("/workspace/a/../b", "b");
    expect_ok("/workspace/./notes/a.txt", "notes/a.txt");
}

static void test_outside(void **state)
{
    (void)state;
    expect_err("..", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("../x", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("a/../../b", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("./..", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("a/b/../../..", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("/etc/passwd", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("/", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("//workspace/a", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("/workspacex/a", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("/workspace-other", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("/Workspace/a", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("/workspace/..", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("/workspace/../etc/passwd", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("/workspace/a/../../workspace/b", SQ_PATH_OUTSIDE_WORKSPACE);
    expect_err("/tmp/../workspace/a", SQ_PATH_OUTSIDE_WORKSPACE);
}

static void test_empty_and_null(void **state)
{
    (void)state;
    expect_err("", SQ_INVALID_REQUEST);
    expect_err(NULL, SQ_INVALID_REQUEST);
}

static void test_deep_paths(void **state)
{
    (void)state;
    /* 2000 one-letter components: 3999 bytes, close to the 4096-byte bound. */
    size_t n = 2000;
    char *in = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        in[2 * i] = 'a';
        in[2 * i + 1] = '/';
    }
    in[2 * n - 1] = '\0';
    expect_ok(in, in);

    /* 800 levels down and climbed back out to exactly the workspace (4000
     * bytes), then one level more. */
    size_t m = 800;
    char *up = malloc(5 * m + 8);
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        up[o++] = 'a';
        up[o++] = '/';
    }
    for (size_t i = 0; i < m; i++) {
        memcpy(up + o, "../", 3);
        o += 3;
    }
    up[o] = '\0';
    char out[OUT_SIZE];
    sq_err err;
    assert_int_equal(sq_workspace_path(up, "body.path", out, sizeof out, &err), 0);
    assert_string_equal(out, ".");
    memcpy(up + o, "..", 3);
    assert_int_equal(sq_workspace_path(up, "body.path", out, sizeof out, &err), -1);
    assert_int_equal(err.code, SQ_PATH_OUTSIDE_WORKSPACE);

    /* Many separators and "." components cost nothing in the output. */
    char *dots = malloc(3 * m + 2);
    for (size_t i = 0; i < m; i++)
        memcpy(dots + 3 * i, ".//", 3);
    memcpy(dots + 3 * m, "z", 2);
    expect_ok(dots, "z");

    free(in);
    free(up);
    free(dots);
}

static void test_too_long_for_output(void **state)
{
    (void)state;
    char out[8];
    sq_err err;
    assert_int_equal(sq_workspace_path("abcdef", "body.path", out, sizeof out, &err), 0);
    assert_string_equal(out, "abcdef");
    assert_int_equal(sq_workspace_path("abcdefg", "body.path", out, sizeof out, &err), -1);
    assert_int_equal(err.code, SQ_INVALID_REQUEST);
    assert_string_equal(err.field, "body.path");
    /* The "/workspace" prefix does not count against the output. */
    assert_int_equal(sq_workspace_path("/workspace/abcde", "body.path", out, sizeof out, &err), 0);
    assert_string_equal(out, "abcde");

    /* More components than the resolver tracks: rejected, not overflowed. */
    size_t n = 5000;
    char *in = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        in[2 * i] = 'a';
        in[2 * i + 1] = '/';
    }
    in[2 * n] = '\0';
    char *big = malloc(4 * n);
    assert_int_equal(sq_workspace_path(in, "body.path", big, 4 * n, &err), -1);
    assert_int_equal(err.code, SQ_INVALID_REQUEST);
    free(in);
    free(big);
}

static void test_output_is_a_fixed_point(void **state)
{
    (void)state;
    /* Resolving a resolved path gives it back unchanged, and /workspace/<out>
     * resolves to the same thing. */
    static const char *const inputs[] = {"a/b", "./a/../b", "/workspace", "a//b/./c/", "/workspace/x/./y/../z"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char once[OUT_SIZE], twice[OUT_SIZE], abs[OUT_SIZE + 16], again[OUT_SIZE];
        sq_err err;
        assert_int_equal(sq_workspace_path(inputs[i], "p", once, sizeof once, &err), 0);
        assert_int_equal(sq_workspace_path(once, "p", twice, sizeof twice, &err), 0);
        assert_string_equal(once, twice);
        snprintf(abs, sizeof abs, "/workspace/%s", once);
        assert_int_equal(sq_workspace_path(abs, "p", again, sizeof again, &err), 0);
        assert_string_equal(once, again);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relative),
        cmocka_unit_test(test_absolute_inside),
        cmocka_unit_test(test_outside),
        cmocka_unit_test(test_empty_and_null),
        cmocka_unit_test(test_deep_paths),
        cmocka_unit_test(test_too_long_for_output),
        cmocka_unit_test(test_output_is_a_fixed_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
