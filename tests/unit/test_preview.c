/* test_preview.c — the live preview's pure parts: signed, expiring viewer
 * URLs (worker/src/preview/preview_sign.c) and what a viewer's input becomes
 * (preview_input.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "preview/preview_input.h"
#include "preview/preview_sign.h"

#define SBX "sbx_01M8E51QDZ0SKHS01HFYHV2YCX"

static const unsigned char KEY[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char KEY2[32] = "X123456789abcdef0123456789abcdef";

static void test_sign_and_verify(void **state)
{
    (void)state;
    char sig[SQ_PREVIEW_SIG_HEX + 1], other[SQ_PREVIEW_SIG_HEX + 1];
    sq_preview_sign(KEY, SBX, SQ_PREVIEW_CONTROL, 5000, sig);
    assert_int_equal(strlen(sig), 64);
    sq_preview_mode m = SQ_PREVIEW_VIEW;
    assert_int_equal(sq_preview_verify(KEY, SBX, "control", "5000", sig, 4999, &m), SQ_PREVIEW_OK);
    assert_int_equal(m, SQ_PREVIEW_CONTROL);
    /* expired at its expiry */
    assert_int_equal(sq_preview_verify(KEY, SBX, "control", "5000", sig, 5000, &m), SQ_PREVIEW_EXPIRED);
    /* any part changed: forged */
    assert_int_equal(sq_preview_verify(KEY, SBX, "view", "5000", sig, 0, &m), SQ_PREVIEW_BAD);
    assert_int_equal(sq_preview_verify(KEY, SBX, "control", "5001", sig, 0, &m), SQ_PREVIEW_BAD);
    assert_int_equal(sq_preview_verify(KEY, "sbx_01M8E51QDZ0SKHS01HFYHV2YCY", "control", "5000", sig, 0, &m),
                     SQ_PREVIEW_BAD);
    assert_int_equal(sq_preview_verify(KEY2, SBX, "control", "5000", sig, 0, &m), SQ_PREVIEW_BAD);
    /* malformed */
    assert_int_equal(sq_preview_verify(KEY, SBX, "control", "5000x", sig, 0, &m), SQ_PREVIEW_BAD);
    assert_int_equal(sq_preview_verify(KEY, SBX, "control", "", sig, 0, &m), SQ_PREVIEW_BAD);
    assert_int_equal(sq_preview_verify(KEY, SBX, "control", " 5000", sig, 0, &m), SQ_PREVIEW_BAD);
    assert_int_equal(sq_preview_verify(KEY, SBX, "control", "+5000", sig, 0, &m), SQ_PREVIEW_BAD);
    assert_int_equal(sq_preview_verify(KEY, SBX, "admin", "5000", sig, 0, &m), SQ_PREVIEW_BAD);
    assert_int_equal(sq_preview_verify(KEY, SBX, NULL, "5000", sig, 0, &m), SQ_PREVIEW_BAD);
    assert_int_equal(sq_preview_verify(KEY, SBX, "control", "5000", "abc", 0, &m), SQ_PREVIEW_BAD);
    assert_int_equal(sq_preview_verify(KEY, SBX, "control", "5000", NULL, 0, &m), SQ_PREVIEW_BAD);
    /* the mode is part of what is signed */
    sq_preview_sign(KEY, SBX, SQ_PREVIEW_VIEW, 5000, other);
    assert_string_not_equal(sig, other);
    assert_int_equal(sq_preview_verify(KEY, SBX, "view", "5000", other, 0, &m), SQ_PREVIEW_OK);
    assert_int_equal(m, SQ_PREVIEW_VIEW);
}

static void test_url(void **state)
{
    (void)state;
    char url[512], sig[SQ_PREVIEW_SIG_HEX + 1];
    sq_preview_url(KEY, "https://w1.example", SBX, SQ_PREVIEW_VIEW, 1795771994323LL, url, sizeof url);
    sq_preview_sign(KEY, SBX, SQ_PREVIEW_VIEW, 1795771994323LL, sig);
    char want[512];
    snprintf(want, sizeof want, "https://w1.example/preview/%s?m=view&e=1795771994323&s=%s", SBX, sig);
    assert_string_equal(url, want);
}

static const sq_preview_geom G = {800, 600};

static json_t *calls(const char *in_text, sq_err *why)
{
    json_t *in = json_loads(in_text, 0, NULL);
    assert_non_null(in);
    json_t *c = sq_preview_input_calls(in, &G, why);
    json_decref(in);
    return c;
}

static void test_mouse_maps_through_the_frame(void **state)
{
    (void)state;
    sq_err why;
    json_t *c = calls("{\"t\":\"mouse\",\"a\":\"down\",\"x\":0.25,\"y\":0.5,\"b\":\"left\",\"n\":2}", &why);
    assert_non_null(c);
    assert_int_equal(json_array_size(c), 1);
    json_t *p = json_object_get(json_array_get(c, 0), "params");
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "method")), "Input.dispatchMouseEvent");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "mousePressed");
    assert_true(json_real_value(json_object_get(p, "x")) == 200.0);
    assert_true(json_real_value(json_object_get(p, "y")) == 300.0);
    assert_int_equal(json_integer_value(json_object_get(p, "clickCount")), 2);
    json_decref(c);
    c = calls("{\"t\":\"mouse\",\"a\":\"move\",\"x\":1,\"y\":0}", &why);
    p = json_object_get(json_array_get(c, 0), "params");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "mouseMoved");
    assert_string_equal(json_string_value(json_object_get(p, "button")), "none");
    json_decref(c);
    c = calls("{\"t\":\"wheel\",\"x\":0.5,\"y\":0.5,\"dy\":120}", &why);
    p = json_object_get(json_array_get(c, 0), "params");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "mouseWheel");
    assert_true(json_real_value(json_object_get(p, "deltaY")) == 120.0);
    json_decref(c);
    /* outside the picture, or no frame yet */
    assert_null(calls("{\"t\":\"mouse\",\"a\":\"down\",\"x\":1.5,\"y\":0.5}", &why));
    assert_int_equal(why.code, SQ_INVALID_REQUEST);
    assert_null(calls("{\"t\":\"mouse\",\"a\":\"drag\",\"x\":0.5,\"y\":0.5}", &why));
    json_t *in = json_loads("{\"t\":\"mouse\",\"a\":\"down\",\"x\":0.5,\"y\":0.5}", 0, NULL);
    sq_preview_geom none = {0, 0};
    assert_null(sq_preview_input_calls(in, &none, &why));
    assert_int_equal(why.code, SQ_INVALID_STATE);
    json_decref(in);
}

static void test_keys_text_and_navigation(void **state)
{
    (void)state;
    sq_err why;
    json_t *c = calls("{\"t\":\"key\",\"a\":\"down\",\"key\":\"a\",\"code\":\"KeyA\",\"kc\":65,\"text\":\"a\"}", &why);
    json_t *p = json_object_get(json_array_get(c, 0), "params");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "keyDown");
    assert_string_equal(json_string_value(json_object_get(p, "text")), "a");
    assert_int_equal(json_integer_value(json_object_get(p, "windowsVirtualKeyCode")), 65);
    json_decref(c);
    c = calls("{\"t\":\"key\",\"a\":\"down\",\"key\":\"ArrowLeft\",\"code\":\"ArrowLeft\",\"kc\":37}", &why);
    p = json_object_get(json_array_get(c, 0), "params");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "rawKeyDown"); /* no text */
    json_decref(c);
    c = calls("{\"t\":\"key\",\"a\":\"up\",\"key\":\"a\",\"text\":\"a\"}", &why);
    p = json_object_get(json_array_get(c, 0), "params");
    assert_string_equal(json_string_value(json_object_get(p, "type")), "keyUp");
    assert_null(json_object_get(p, "text"));
    json_decref(c);
    c = calls("{\"t\":\"text\",\"text\":\"héllo\"}", &why);
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "method")), "Input.insertText");
    json_decref(c);
    c = calls("{\"t\":\"nav\",\"url\":\"https://example.com/\"}", &why);
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "method")), "Page.navigate");
    json_decref(c);
    /* a viewer may not open file:// or javascript: URLs */
    assert_null(calls("{\"t\":\"nav\",\"url\":\"file:///etc/passwd\"}", &why));
    assert_string_equal(why.field, "url");
    assert_null(calls("{\"t\":\"nav\",\"url\":\"javascript:alert(1)\"}", &why));
    c = calls("{\"t\":\"back\"}", &why);
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "method")), "Runtime.evaluate");
    json_decref(c);
    c = calls("{\"t\":\"reload\"}", &why);
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "method")), "Page.reload");
    json_decref(c);
    assert_null(calls("{\"t\":\"exec\"}", &why));
    assert_null(calls("{\"x\":1}", &why));
    assert_null(calls("{\"t\":\"key\",\"a\":\"down\"}", &why));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sign_and_verify), cmocka_unit_test(test_url),
                                       cmocka_unit_test(test_mouse_maps_through_the_frame),
                                       cmocka_unit_test(test_keys_text_and_navigation)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
