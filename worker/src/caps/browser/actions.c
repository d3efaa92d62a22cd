/* actions.c — see actions.h. Each op is a small function over the page's
 * flattened CDP session; what needs the DOM (finding an element, reading the
 * page) is one Runtime.evaluate of a short function whose selector is passed
 * as a JSON string literal, never spliced in as code. */
#include "caps/browser/actions.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "caps/browser/keys.h"
#include "handlers/ws_fs.h"
#include "sq/clock.h"
#include "sq/codec.h"
#include "sq/workspace_path.h"

#define WAIT_POLL_MS 100
#define CONTENT_MAX (512 * 1024) /* html and text each, so the completed event stays well under Kafka's limit */

typedef struct act {
    sq_browser_run *r;
    const json_t *a;
    size_t index;
    const char *op;
    json_t *result;
    const char *reason;
} act;

static const char *session(act *x)
{
    return x->r->b->session;
}

static int call(act *x, const char *method, json_t *params, int64_t deadline, json_t **res, sq_err *err)
{
    int rc = sq_cdp_call(&x->r->b->cdp, method, params, session(x), deadline, res, err);
    json_decref(params);
    if (rc < 0 && err->code == SQ_TIMED_OUT)
        x->reason = "action_timeout";
    return rc;
}

/* A JSON string literal of s, for a page function's argument. */
static char *js_string(const char *s)
{
    json_t *j = json_string(s);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    return t;
}

/* Runtime.evaluate with the value returned by value and promises awaited.
 * A thrown exception fails with evaluate_threw and its description. */
static int evaluate(act *x, const char *expr, int64_t deadline, json_t **value, sq_err *err)
{
    json_t *res = NULL;
    json_t *p = json_pack("{s:s, s:b, s:b, s:b}", "expression", expr, "returnByValue", 1, "awaitPromise", 1,
                          "userGesture", 1);
    if (call(x, "Runtime.evaluate", p, deadline, &res, err) < 0)
        return -1;
    const json_t *ex = json_object_get(res, "exceptionDetails");
    if (ex) {
        const char *d = json_string_value(json_object_get(json_object_get(ex, "exception"), "description"));
        const char *t = json_string_value(json_object_get(ex, "text"));
        sq_err_set(err, SQ_INVALID_REQUEST, "the page threw: %s", d ? d : t ? t : "an exception");
        x->reason = "evaluate_threw";
        json_decref(res);
        return -1;
    }
    const json_t *ro = json_object_get(res, "result");
    const json_t *v = json_object_get(ro, "value");
    const json_t *u = json_object_get(ro, "unserializableValue");
    *value = v ? json_incref((json_t *)v) : u ? json_incref((json_t *)u) : json_null();
    json_decref(res);
    return 0;
}

/* Evaluate a page function `(sel) => …` applied to the action's selector. */
static int on_selector(act *x, const char *fn, int64_t deadline, json_t **value, sq_err *err)
{
    char *sel = js_string(json_string_value(json_object_get(x->a, "selector")));
    if (!sel)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    size_t n = strlen(fn) + strlen(sel) + 8;
    char *expr = malloc(n);
    if (!expr) {
        free(sel);
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    }
    snprintf(expr, n, "(%s)(%s)", fn, sel);
    int rc = evaluate(x, expr, deadline, value, err);
    free(expr);
    free(sel);
    return rc;
}

static int no_element(act *x, sq_err *err)
{
    x->reason = "selector_not_found";
    return sq_err_set(err, SQ_NOT_FOUND, "no element matches the selector %s",
                      json_string_value(json_object_get(x->a, "selector")));
}

/* Whether the collected lifecycle events hold `load` for this loader. */
static bool loaded(const json_t *events, const char *loader)
{
    size_t i;
    const json_t *e;
    json_array_foreach(events, i, e)
    {
        const json_t *p = json_object_get(e, "params");
        if (strcmp(json_string_value(json_object_get(p, "name")) ?: "", "load") == 0 &&
            strcmp(json_string_value(json_object_get(p, "loaderId")) ?: "", loader) == 0)
            return true;
    }
    return false;
}

/* Through a proxy, whether the document the navigation loaded (its loader's
 * Document response) is the proxy's refusal: a 407, or any answer carrying
 * a Proxy-Authenticate challenge (tinyproxy refuses with a 401 and one).
 * found: that response is among the events yet. */
static bool proxy_challenge(const json_t *events, const char *loader, bool *found)
{
    size_t i;
    const json_t *e;
    json_array_foreach(events, i, e)
    {
        const json_t *p = json_object_get(e, "params");
        if (strcmp(json_string_value(json_object_get(p, "loaderId")) ?: "", loader) != 0 ||
            strcmp(json_string_value(json_object_get(p, "type")) ?: "", "Document") != 0)
            continue;
        *found = true;
        const json_t *resp = json_object_get(p, "response");
        if (json_integer_value(json_object_get(resp, "status")) == 407)
            return true;
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)json_object_get(resp, "headers"), k, v)
        if (strcasecmp(k, "Proxy-Authenticate") == 0)
            return true;
        return false;
    }
    return false;
}

static int op_goto(act *x, sq_err *err)
{
    const char *url = json_string_value(json_object_get(x->a, "url"));
    sq_cdp *c = &x->r->b->cdp;
    /* The load that counts is the one of the document this navigation makes,
     * named by the loaderId Page.navigate returns: an earlier page (an error
     * page still loading, say) can fire its own load in between. So every
     * lifecycle event is collected from before the call. */
    int slot = sq_cdp_collect(c, "Page.lifecycleEvent", session(x), err);
    if (slot < 0)
        return -1;
    /* Through a proxy, Chromium shows the proxy's refusal of its credentials
     * as the page: the document's response tells. Collected only until that
     * response is seen (a bounded handful of events), then not at all. */
    int nslot = -1;
    bool proxied = x->r->b->opts.proxy_server[0] != '\0', found = false, refused = false;
    if (proxied && (call(x, "Network.enable", NULL, x->r->deadline, NULL, err) < 0 ||
                    (nslot = sq_cdp_collect(c, "Network.responseReceived", session(x), err)) < 0)) {
        sq_cdp_forget(c, slot);
        return -1;
    }
    json_t *res = NULL;
    int rc = call(x, "Page.navigate", json_pack("{s:s}", "url", url), x->r->deadline, &res, err);
    const char *etext = rc == 0 ? json_string_value(json_object_get(res, "errorText")) : NULL;
    char loader[SQ_CDP_NAME_MAX];
    snprintf(loader, sizeof loader, "%s", json_string_value(json_object_get(res, "loaderId")) ?: "");
    if (rc == 0 && etext && etext[0]) {
        rc = sq_err_set(err, SQ_INVALID_REQUEST, "navigation to %s failed: %s", url, etext);
        x->reason = "navigation_failed";
    }
    json_decref(res);
    /* A same-document navigation (#fragment) makes no new loader and fires no load. */
    while (rc == 0 && loader[0]) {
        if (nslot >= 0) {
            refused = proxy_challenge(sq_cdp_collected(&c->ws, nslot), loader, &found);
            if (found) {
                sq_cdp_forget(c, nslot);
                nslot = -1;
            }
        }
        if (loaded(sq_cdp_collected(&c->ws, slot), loader))
            break;
        if (sq_cdp_pump(c, x->r->deadline, "the page's load", err) < 0) {
            if (err->code == SQ_TIMED_OUT) {
                x->reason = "action_timeout";
                sq_err_set(err, SQ_TIMED_OUT, "%s did not finish loading before the task's timeoutMs", url);
            }
            rc = -1;
        }
    }
    sq_cdp_forget(c, slot);
    if (nslot >= 0)
        sq_cdp_forget(c, nslot);
    if (proxied) {
        sq_err ignore; /* it only stops events nobody reads */
        (void)call(x, "Network.disable", NULL, x->r->deadline, NULL, &ignore);
    }
    if (rc == 0 && refused) {
        x->reason = "navigation_failed";
        rc = sq_err_set(err, SQ_INVALID_REQUEST,
                        "navigation to %s failed: the proxy refused the sandbox's proxy credentials "
                        "(it answered with an authentication challenge)",
                        url);
    }
    if (rc == 0)
        json_object_set_new(x->result, "url", json_string(url));
    return rc;
}

static int mouse(act *x, const char *type, double px, double py, sq_err *err)
{
    json_t *p = json_pack("{s:s, s:f, s:f, s:s, s:i, s:i}", "type", type, "x", px, "y", py, "button", "left",
                          "buttons", strcmp(type, "mousePressed") == 0 ? 1 : 0, "clickCount",
                          strcmp(type, "mouseMoved") == 0 ? 0 : 1);
    return call(x, "Input.dispatchMouseEvent", p, x->r->deadline, NULL, err);
}

static int op_click(act *x, sq_err *err)
{
    static const char fn[] = "(s) => { const e = document.querySelector(s); if (!e) return null;"
                             " e.scrollIntoView({block: 'center', inline: 'center'});"
                             " const r = e.getBoundingClientRect();"
                             " return {x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, h: r.height}; }";
    json_t *v = NULL;
    if (on_selector(x, fn, x->r->deadline, &v, err) < 0)
        return -1;
    if (!json_is_object(v)) {
        json_decref(v);
        return no_element(x, err);
    }
    double px = json_number_value(json_object_get(v, "x")), py = json_number_value(json_object_get(v, "y"));
    bool empty = json_number_value(json_object_get(v, "w")) <= 0 || json_number_value(json_object_get(v, "h")) <= 0;
    json_decref(v);
    if (empty) {
        x->reason = "action_failed";
        return sq_err_set(err, SQ_INVALID_REQUEST, "the element %s has no size on the page (hidden?)",
                          json_string_value(json_object_get(x->a, "selector")));
    }
    /* Moved, pressed, released: what a person's click sends, so hover,
     * mousedown and mouseup handlers run as they would. */
    if (mouse(x, "mouseMoved", px, py, err) < 0 || mouse(x, "mousePressed", px, py, err) < 0 ||
        mouse(x, "mouseReleased", px, py, err) < 0) {
        /* The click's own handler closed the page (window.close()): the page
         * can detach before the browser answers the release. That click
         * worked; the next action follows the page that becomes current. */
        if (!sq_cdp_page_closed(&x->r->b->cdp, x->r->b->session))
            return -1;
        json_object_set_new(x->result, "closedPage", json_true());
    }
    return 0;
}

static int key_event(act *x, const char *type, const sq_key *k, sq_err *err)
{
    json_t *p = json_pack("{s:s, s:s, s:s, s:i}", "type", type, "key", k->key, "code", k->code,
                          "windowsVirtualKeyCode", k->key_code);
    if (strcmp(type, "keyDown") == 0 && k->text[0]) {
        json_object_set_new(p, "text", json_string(k->text));
        json_object_set_new(p, "unmodifiedText", json_string(k->text));
    }
    return call(x, "Input.dispatchKeyEvent", p, x->r->deadline, NULL, err);
}

static int press_key(act *x, const sq_key *k, sq_err *err)
{
    return key_event(x, "keyDown", k, err) < 0 || key_event(x, "keyUp", k, err) < 0 ? -1 : 0;
}

static int op_type(act *x, sq_err *err)
{
    static const char fn[] = "(s) => { const e = document.querySelector(s); if (!e) return false;"
                             " e.focus(); return true; }";
    json_t *v = NULL;
    if (on_selector(x, fn, x->r->deadline, &v, err) < 0)
        return -1;
    bool found = json_is_true(v);
    json_decref(v);
    if (!found)
        return no_element(x, err);
    /* Plain ASCII goes as key events (key handlers see each key); anything
     * else as Input.insertText, the way an input method commits text. */
    const char *text = json_string_value(json_object_get(x->a, "text"));
    size_t n = strlen(text);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c <= 0x7e) {
            char name[2] = {(char)c, '\0'}, buf[16];
            sq_key k;
            sq_key_lookup(name, &k, buf);
            if (press_key(x, &k, err) < 0)
                return -1;
            i++;
            continue;
        }
        if (c == '\n') {
            sq_key k;
            char buf[16];
            sq_key_lookup("Enter", &k, buf);
            if (press_key(x, &k, err) < 0)
                return -1;
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && !((unsigned char)text[j] >= 0x20 && (unsigned char)text[j] <= 0x7e) && text[j] != '\n')
            j++;
        json_t *p = json_object();
        json_object_set_new(p, "text", json_stringn(text + i, j - i));
        if (call(x, "Input.insertText", p, x->r->deadline, NULL, err) < 0)
            return -1;
        i = j;
    }
    return 0;
}

static int op_press(act *x, sq_err *err)
{
    const char *name = json_string_value(json_object_get(x->a, "key"));
    sq_key k;
    char buf[16];
    if (!sq_key_lookup(name, &k, buf)) {
        x->reason = "action_failed";
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.actions.key",
                            "unknown key %s (a single character, or Enter, Tab, Escape, Backspace, Delete, Arrow…, "
                            "Home, End, PageUp, PageDown, Space)",
                            name);
    }
    return press_key(x, &k, err);
}

static int op_wait_for(act *x, sq_err *err)
{
    /* Without its own timeoutMs a wait may take the rest of the task's time. */
    const json_t *t = json_object_get(x->a, "timeoutMs");
    sq_cdp *c = &x->r->b->cdp;
    int64_t deadline = t ? sq_cdp_clock(c) + json_integer_value(t) : x->r->deadline;
    if (deadline > x->r->deadline)
        deadline = x->r->deadline;
    /* Polled rather than a MutationObserver in the page: a navigation in
     * between would drop the observer's promise, and a poll survives it. */
    for (;;) {
        json_t *v = NULL;
        sq_err why;
        if (on_selector(x, "(s) => !!document.querySelector(s)", deadline, &v, &why) == 0) {
            bool found = json_is_true(v);
            json_decref(v);
            if (found)
                return 0;
        } else if (why.code != SQ_INVALID_REQUEST || strstr(why.msg, "SyntaxError")) {
            *err = why; /* the browser is gone, or the selector is not one */
            return -1;
        }
        x->reason = NULL; /* a page that is mid-navigation throws; that is not the answer */
        if (sq_cdp_clock(c) + WAIT_POLL_MS >= deadline) {
            x->reason = "wait_timeout";
            return sq_err_set(err, SQ_TIMED_OUT, "no element matched %s within %s",
                              json_string_value(json_object_get(x->a, "selector")),
                              deadline == x->r->deadline ? "the task's timeoutMs" : "the action's timeoutMs");
        }
        /* A pause that reads the pipe and that a kill or cancel cuts short. */
        if (sq_cdp_sleep(c, sq_cdp_clock(c) + WAIT_POLL_MS, err) < 0)
            return -1;
    }
}

static int op_evaluate(act *x, sq_err *err)
{
    json_t *v = NULL;
    if (evaluate(x, json_string_value(json_object_get(x->a, "expression")), x->r->deadline, &v, err) < 0)
        return -1;
    json_object_set_new(x->result, "value", v);
    return 0;
}

static void set_bounded(json_t *o, const char *key, const json_t *v, bool *truncated)
{
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    if (n > CONTENT_MAX) {
        n = CONTENT_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) /* never cut a UTF-8 sequence */
            n--;
        *truncated = true;
    }
    json_object_set_new(o, key, json_stringn(s ? s : "", n));
}

static int op_content(act *x, sq_err *err)
{
    json_t *v = NULL;
    if (evaluate(x,
                 "({html: document.documentElement ? document.documentElement.outerHTML : '',"
                 " text: document.body ? document.body.innerText : '', url: location.href, title: document.title})",
                 x->r->deadline, &v, err) < 0)
        return -1;
    bool truncated = false;
    set_bounded(x->result, "html", json_object_get(v, "html"), &truncated);
    set_bounded(x->result, "text", json_object_get(v, "text"), &truncated);
    json_object_set_new(x->result, "url", json_string(json_string_value(json_object_get(v, "url")) ?: ""));
    json_object_set_new(x->result, "title", json_string(json_string_value(json_object_get(v, "title")) ?: ""));
    if (truncated)
        json_object_set_new(x->result, "truncated", json_true());
    json_decref(v);
    return 0;
}

/* Write base64 data from the browser to a workspace file, as the sandbox's
 * root, through the confined open (a symlink planted there cannot redirect
 * it). Sets path and sizeBytes in the result. */
static int write_output(act *x, const char *rel, const char *b64, sq_err *err)
{
    size_t blen = strlen(b64);
    unsigned char *data = malloc(blen / 4 * 3 + 3);
    long n = data ? sq_b64_decode(b64, blen, data) : -1;
    if (n < 0) {
        free(data);
        return sq_err_set(err, SQ_INTERNAL, "the browser sent data that is not base64");
    }
    struct stat st;
    int fd = -1;
    if (sq_ws_mkdir_parents(x->r->workspace_fd, rel, x->r->uid, x->r->gid, err) < 0 ||
        (fd = sq_ws_open_regular(x->r->workspace_fd, rel, O_WRONLY | O_CREAT | O_TRUNC, 0644, &st, err)) < 0) {
        free(data);
        return -1;
    }
    if (st.st_uid == 0 && fchown(fd, x->r->uid, x->r->gid) < 0) {
        sq_err_errno(err, "chown %s", rel);
        close(fd);
        free(data);
        return -1;
    }
    size_t off = 0;
    while (off < (size_t)n) {
        ssize_t w = write(fd, data + off, (size_t)n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            sq_err_errno(err, "writing /workspace/%s", rel);
            if (errno == ENOSPC || errno == EDQUOT)
                err->code = SQ_LIMIT_EXCEEDED;
            close(fd);
            free(data);
            return -1;
        }
        off += (size_t)w;
    }
    close(fd);
    free(data);
    char path[4200];
    snprintf(path, sizeof path, "/workspace/%s", rel);
    json_object_set_new(x->result, "path", json_string(path));
    json_object_set_new(x->result, "sizeBytes", json_integer(n));
    return 0;
}

/* The action's `path`, or a default under /workspace/<dir>/. */
static int output_path(act *x, const char *dir, const char *ext, char *rel, size_t size, sq_err *err)
{
    const char *p = json_string_value(json_object_get(x->a, "path"));
    char field[64];
    snprintf(field, sizeof field, "body.actions[%zu].path", x->index);
    if (p)
        return sq_workspace_path(p, field, rel, size, err);
    snprintf(rel, size, "%s/%s-%zu.%s", dir, x->r->task_id, x->index, ext);
    return 0;
}

static int op_screenshot(act *x, sq_err *err)
{
    char rel[4200];
    if (output_path(x, "screenshots", "png", rel, sizeof rel, err) < 0)
        return -1;
    json_t *p = json_pack("{s:s}", "format", "png");
    if (json_is_true(json_object_get(x->a, "fullPage"))) {
        json_t *m = NULL;
        if (call(x, "Page.getLayoutMetrics", NULL, x->r->deadline, &m, err) < 0) {
            json_decref(p);
            return -1;
        }
        const json_t *cs = json_object_get(m, "cssContentSize");
        json_object_set_new(p, "captureBeyondViewport", json_true());
        json_object_set_new(p, "clip", json_pack("{s:i, s:i, s:f, s:f, s:i}", "x", 0, "y", 0, "width",
                                                 json_number_value(json_object_get(cs, "width")), "height",
                                                 json_number_value(json_object_get(cs, "height")), "scale", 1));
        json_decref(m);
    }
    json_t *res = NULL;
    if (call(x, "Page.captureScreenshot", p, x->r->deadline, &res, err) < 0)
        return -1;
    int rc = write_output(x, rel, json_string_value(json_object_get(res, "data")) ?: "", err);
    json_decref(res);
    return rc;
}

static int op_pdf(act *x, sq_err *err)
{
    char rel[4200];
    if (output_path(x, "pdfs", "pdf", rel, sizeof rel, err) < 0)
        return -1;
    json_t *res = NULL;
    if (call(x, "Page.printToPDF", json_pack("{s:b}", "printBackground", 1), x->r->deadline, &res, err) < 0)
        return -1;
    int rc = write_output(x, rel, json_string_value(json_object_get(res, "data")) ?: "", err);
    json_decref(res);
    return rc;
}

static int op_set_viewport(act *x, sq_err *err)
{
    int w = (int)json_integer_value(json_object_get(x->a, "width"));
    int h = (int)json_integer_value(json_object_get(x->a, "height"));
    json_t *p = json_pack("{s:i, s:i, s:i, s:b}", "width", w, "height", h, "deviceScaleFactor", 1, "mobile", 0);
    if (call(x, "Emulation.setDeviceMetricsOverride", p, x->r->deadline, NULL, err) < 0)
        return -1;
    x->r->b->width = w;
    x->r->b->height = h;
    json_object_set_new(x->result, "viewport", json_pack("{s:i, s:i}", "width", w, "height", h));
    return 0;
}

int sq_browser_action(sq_browser_run *r, size_t index, const json_t *action, json_t **result, const char **reason,
                      sq_err *err)
{
    static const struct {
        const char *op;
        int (*fn)(act *, sq_err *);
    } ops[] = {{"goto", op_goto},         {"click", op_click},     {"type", op_type},
               {"press", op_press},       {"waitFor", op_wait_for}, {"evaluate", op_evaluate},
               {"content", op_content},   {"screenshot", op_screenshot}, {"pdf", op_pdf},
               {"setViewport", op_set_viewport}};
    act x = {.r = r, .a = action, .index = index, .op = json_string_value(json_object_get(action, "op"))};
    *result = NULL;
    *reason = NULL;
    x.result = json_pack("{s:I, s:s}", "index", (json_int_t)index, "op", x.op ? x.op : "?");
    /* A tab or popup opened since the last action, or the current page
     * closed: the action is for the page the rule picks (pages.h). */
    int rc = sq_browser_follow(r->b, r->deadline, err);
    if (rc < 0 && err->code == SQ_TIMED_OUT)
        x.reason = "action_timeout";
    if (rc == 0) {
        rc = sq_err_set(err, SQ_INVALID_REQUEST, "unknown op %s", x.op ? x.op : "(none)");
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (x.op && strcmp(ops[i].op, x.op) == 0)
                rc = ops[i].fn(&x, err);
    }
    if (rc < 0) {
        json_decref(x.result);
        /* Whatever the call said, a browser that is gone is the cause. */
        if (!sq_browser_alive(r->b)) {
            x.reason = "browser_exited";
            err->code = SQ_INTERNAL;
        }
        *reason = x.reason ? x.reason : "action_failed";
        return -1;
    }
    *result = x.result;
    return 0;
}
