/* preview_input.c — see preview_input.h. */
#include "preview/preview_input.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

static json_t *call(const char *method, json_t *params)
{
    return json_pack("{s:s, s:o}", "method", method, "params", params);
}

static json_t *one(const char *method, json_t *params)
{
    json_t *a = json_array();
    json_array_append_new(a, call(method, params));
    return a;
}

static bool fraction(const json_t *in, const char *k, double *out)
{
    const json_t *v = json_object_get(in, k);
    if (!json_is_number(v))
        return false;
    double f = json_number_value(v);
    if (!isfinite(f) || f < 0 || f > 1)
        return false;
    *out = f;
    return true;
}

static const char *str(const json_t *in, const char *k)
{
    return json_string_value(json_object_get(in, k));
}

static bool one_of(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

json_t *sq_preview_input_calls(const json_t *in, const sq_preview_geom *g, sq_err *why)
{
    const char *t = str(in, "t");
    if (!json_is_object(in) || !t)
        return sq_err_field(why, SQ_INVALID_REQUEST, "t", "an input is an object with \"t\""), NULL;
    if (strcmp(t, "mouse") == 0 || strcmp(t, "wheel") == 0) {
        double fx, fy;
        if (!fraction(in, "x", &fx) || !fraction(in, "y", &fy))
            return sq_err_field(why, SQ_INVALID_REQUEST, "x", "x and y are fractions of the picture (0..1)"), NULL;
        if (g->width <= 0 || g->height <= 0)
            return sq_err_set(why, SQ_INVALID_STATE, "no frame has been shown yet"), NULL;
        double x = fx * g->width, y = fy * g->height;
        if (strcmp(t, "wheel") == 0) {
            const json_t *dx = json_object_get(in, "dx"), *dy = json_object_get(in, "dy");
            double ddx = json_is_number(dx) ? json_number_value(dx) : 0, ddy = json_is_number(dy) ? json_number_value(dy) : 0;
            if (!isfinite(ddx) || !isfinite(ddy) || fabs(ddx) > 1e5 || fabs(ddy) > 1e5)
                return sq_err_field(why, SQ_INVALID_REQUEST, "dy", "wheel deltas out of range"), NULL;
            return one("Input.dispatchMouseEvent", json_pack("{s:s, s:f, s:f, s:f, s:f}", "type", "mouseWheel", "x",
                                                             x, "y", y, "deltaX", ddx, "deltaY", ddy));
        }
        static const char *const actions[] = {"move", "down", "up", NULL};
        static const char *const buttons[] = {"left", "middle", "right", "none", NULL};
        const char *a = str(in, "a"), *b = str(in, "b");
        if (!one_of(a, actions))
            return sq_err_field(why, SQ_INVALID_REQUEST, "a", "a mouse input's \"a\" is move, down or up"), NULL;
        if (!b)
            b = strcmp(a, "move") == 0 ? "none" : "left";
        if (!one_of(b, buttons))
            return sq_err_field(why, SQ_INVALID_REQUEST, "b", "\"b\" is left, middle, right or none"), NULL;
        const char *type = strcmp(a, "move") == 0 ? "mouseMoved" : strcmp(a, "down") == 0 ? "mousePressed" : "mouseReleased";
        json_int_t n = json_integer_value(json_object_get(in, "n"));
        if (n < 1 || n > 3)
            n = 1;
        return one("Input.dispatchMouseEvent", json_pack("{s:s, s:f, s:f, s:s, s:I}", "type", type, "x", x, "y", y,
                                                         "button", b, "clickCount", strcmp(a, "move") == 0 ? 0 : n));
    }
    if (strcmp(t, "key") == 0) {
        static const char *const actions[] = {"down", "up", NULL};
        const char *a = str(in, "a"), *key = str(in, "key"), *code = str(in, "code"), *text = str(in, "text");
        if (!one_of(a, actions))
            return sq_err_field(why, SQ_INVALID_REQUEST, "a", "a key input's \"a\" is down or up"), NULL;
        if (!key || !*key || strlen(key) > 32 || (code && strlen(code) > 32) || (text && strlen(text) > 8))
            return sq_err_field(why, SQ_INVALID_REQUEST, "key", "a key input names its key (at most 32 bytes)"), NULL;
        json_t *p = json_pack("{s:s, s:s, s:s, s:I}", "type", strcmp(a, "down") == 0 ? (text && *text ? "keyDown" : "rawKeyDown") : "keyUp",
                              "key", key, "code", code ? code : "", "windowsVirtualKeyCode",
                              json_integer_value(json_object_get(in, "kc")));
        if (text && *text && strcmp(a, "down") == 0)
            json_object_set_new(p, "text", json_string(text));
        return one("Input.dispatchKeyEvent", p);
    }
    if (strcmp(t, "text") == 0) {
        const char *text = str(in, "text");
        if (!text || strlen(text) > 4096)
            return sq_err_field(why, SQ_INVALID_REQUEST, "text", "\"text\" is a string of at most 4096 bytes"), NULL;
        return one("Input.insertText", json_pack("{s:s}", "text", text));
    }
    if (strcmp(t, "nav") == 0) {
        const char *url = str(in, "url");
        if (!url || strlen(url) > 4096 ||
            (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0 && strcmp(url, "about:blank") != 0))
            return sq_err_field(why, SQ_INVALID_REQUEST, "url", "a viewer may open http(s) URLs and about:blank"), NULL;
        return one("Page.navigate", json_pack("{s:s}", "url", url));
    }
    if (strcmp(t, "back") == 0)
        return one("Runtime.evaluate", json_pack("{s:s}", "expression", "history.back()"));
    if (strcmp(t, "reload") == 0)
        return one("Page.reload", json_object());
    return sq_err_field(why, SQ_INVALID_REQUEST, "t", "unknown input \"%s\"", t), NULL;
}
