/* preview_http.c — see preview_http.h. */
#include "preview/preview_http.h"

#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "preview/preview_hub.h"
#include "preview/preview_input.h"
#include "preview/preview_pump.h"
#include "sq/clock.h"
#include "sq/codec.h"
#include "sq/ids.h"
#include "sq/log.h"

#define INPUT_MAX 16384      /* one input's JSON */
#define KEEPALIVE_MS 5000    /* a stream re-sends its frame after this long without a new one */
#define BOUNDARY "sqframe"

static unsigned char key[SQ_PREVIEW_KEY_LEN];
static char base_url[512];
static bool ready;
static atomic_bool stopping; /* the daemon is stopping: streams end at their next wait slice */

void sq_preview_http_stopping(void)
{
    atomic_store(&stopping, true);
}

int sq_preview_http_init(sq_worker *w, int port, sq_err *err)
{
    const char *k = getenv("SANDQ_PREVIEW_KEY");
    if (k && *k) {
        unsigned char buf[64];
        size_t n = strlen(k);
        if (n > 88 || sq_b64_decode(k, n, buf) != SQ_PREVIEW_KEY_LEN) {
            OPENSSL_cleanse(buf, sizeof buf);
            return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_PREVIEW_KEY",
                                "SANDQ_PREVIEW_KEY must be base64 of 32 bytes (openssl rand -base64 32)");
        }
        memcpy(key, buf, SQ_PREVIEW_KEY_LEN);
        OPENSSL_cleanse(buf, sizeof buf);
    } else if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key) {
        return sq_err_errno(err, "getrandom for the preview key");
    }
    const char *pub = getenv("SANDQ_PUBLIC_URL");
    if (pub && *pub) {
        if (strncmp(pub, "http://", 7) != 0 && strncmp(pub, "https://", 8) != 0)
            return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_PUBLIC_URL", "SANDQ_PUBLIC_URL must be an http(s) URL");
        snprintf(base_url, sizeof base_url, "%s", pub);
    } else {
        snprintf(base_url, sizeof base_url, "http://%s:%d", w->cfg.http_addr, port);
    }
    size_t n = strlen(base_url);
    while (n > 0 && base_url[n - 1] == '/')
        base_url[--n] = '\0';
    ready = true;
    sq_info(NULL, "previews at %s/preview/", base_url);
    return 0;
}

int sq_preview_url_for(const char *sandbox_id, sq_preview_mode mode, int64_t expires_at, char *out, size_t size)
{
    if (!ready)
        return -1;
    sq_preview_url(key, base_url, sandbox_id, mode, expires_at, out, size);
    return 0;
}

bool sq_preview_http_match(const char *url)
{
    return strncmp(url, "/preview/", 9) == 0;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- the MJPEG stream ---------------------------------------------------- */

typedef struct viewer {
    sq_preview_hub *hub;
    sq_preview_frame *f;     /* the frame being sent */
    char head[160];
    size_t head_len, off;    /* off: within head + jpeg + "\r\n" */
    uint64_t seq;            /* the last frame sent */
} viewer;

/* Thread-per-connection: this may block, on the hub's condition variable
 * only (never on the sandbox): the next frame, a keep-alive, or the end. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    viewer *v = cls;
    if (!v->f) {
        bool closed = false;
        sq_preview_frame *f = NULL;
        /* In slices, so that a stopping daemon (which joins this thread) is not held up. */
        for (int waited = 0; !f && !closed && waited < KEEPALIVE_MS; waited += 500) {
            if (atomic_load(&stopping))
                return MHD_CONTENT_READER_END_OF_STREAM;
            f = sq_preview_hub_next(v->hub, v->seq, 500, &closed);
        }
        if (!f && !closed) /* nothing new: send the newest again, so a viewer that left is noticed */
            f = sq_preview_hub_next(v->hub, 0, 0, &closed);
        if (closed) {
            sq_preview_frame_unref(f);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (!f) { /* no frame at all yet: keep the connection alive with an empty chunk of nothing */
            if (max < 2)
                return 0;
            memcpy(buf, "\r\n", 2);
            return 2;
        }
        v->f = f;
        v->seq = f->seq;
        v->off = 0;
        v->head_len = (size_t)snprintf(v->head, sizeof v->head,
                                       "--" BOUNDARY "\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n"
                                       "X-Frame-Seq: %llu\r\n\r\n",
                                       f->len, (unsigned long long)f->seq);
    }
    size_t total = v->head_len + v->f->len + 2, done = 0;
    while (done < max && v->off < total) {
        const char *src;
        size_t avail;
        if (v->off < v->head_len) {
            src = v->head + v->off;
            avail = v->head_len - v->off;
        } else if (v->off < v->head_len + v->f->len) {
            src = (const char *)v->f->jpeg + (v->off - v->head_len);
            avail = v->head_len + v->f->len - v->off;
        } else {
            src = "\r\n" + (v->off - v->head_len - v->f->len);
            avail = total - v->off;
        }
        size_t n = avail < max - done ? avail : max - done;
        memcpy(buf + done, src, n);
        done += n;
        v->off += n;
    }
    if (v->off >= total) {
        sq_preview_frame_unref(v->f);
        v->f = NULL;
    }
    return (ssize_t)done;
}

static void stream_free(void *cls)
{
    viewer *v = cls;
    sq_preview_frame_unref(v->f);
    sq_preview_hub_leave(v->hub);
    sq_preview_hub_unref(v->hub);
    free(v);
}

static enum MHD_Result stream(struct MHD_Connection *c, sq_preview_hub *hub)
{
    viewer *v = calloc(1, sizeof *v);
    if (!v) {
        sq_preview_hub_unref(hub);
        return text(c, 500, "out of memory\n");
    }
    v->hub = hub;
    sq_preview_hub_join(hub);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, v, stream_free);
    if (!r) {
        stream_free(v);
        return text(c, 500, "out of memory\n");
    }
    MHD_add_response_header(r, "Content-Type", "multipart/x-mixed-replace; boundary=" BOUNDARY);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- the viewer page ----------------------------------------------------- */

static const char page_fmt[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>sandq preview %s</title>\n"
    "<style>body{margin:0;background:#1e1e1e;color:#ddd;font:14px sans-serif}#bar{padding:6px;display:flex;gap:6px;"
    "align-items:center}#bar input{flex:1}#screen{display:block;max-width:100%%;outline:none;cursor:%s}"
    "#st{color:#f88}</style></head><body>\n"
    "<div id=\"bar\"><b>%s</b><span>%s</span>%s<span id=\"st\"></span></div>\n"
    "<img id=\"screen\" tabindex=\"0\" alt=\"the sandbox's browser\" src=\"%s/stream?%s\">\n"
    "<script>\n"
    "const Q = '%s', CONTROL = %s, img = document.getElementById('screen'), st = document.getElementById('st');\n"
    "let chain = Promise.resolve();\n"
    "function send(o) { if (!CONTROL) return; chain = chain.then(() => fetch('%s/input?' + Q, {method: 'POST',\n"
    "  headers: {'Content-Type': 'application/json'}, body: JSON.stringify(o)})).then(r => {\n"
    "  st.textContent = r.ok ? '' : 'input refused (' + r.status + ')'; }).catch(() => { st.textContent = 'offline'; }); }\n"
    "function pos(e) { const r = img.getBoundingClientRect(); const c = v => Math.min(1, Math.max(0, v));\n"
    "  return {x: c((e.clientX - r.left) / r.width), y: c((e.clientY - r.top) / r.height)}; }\n"
    "const btn = b => ['left', 'middle', 'right'][b] || 'left';\n"
    "let lastMove = 0;\n"
    "img.addEventListener('mousemove', e => { const n = performance.now(); if (n - lastMove < 40) return;\n"
    "  lastMove = n; send({t: 'mouse', a: 'move', ...pos(e)}); });\n"
    "img.addEventListener('mousedown', e => { e.preventDefault(); img.focus();\n"
    "  send({t: 'mouse', a: 'down', b: btn(e.button), n: e.detail || 1, ...pos(e)}); });\n"
    "img.addEventListener('mouseup', e => send({t: 'mouse', a: 'up', b: btn(e.button), n: e.detail || 1, ...pos(e)}));\n"
    "img.addEventListener('wheel', e => { e.preventDefault(); send({t: 'wheel', dx: e.deltaX, dy: e.deltaY, ...pos(e)}); },\n"
    "  {passive: false});\n"
    "img.addEventListener('dragstart', e => e.preventDefault());\n"
    "img.addEventListener('keydown', e => { e.preventDefault(); const t = e.key.length === 1 ? e.key : e.key === 'Enter' ? '\\r' : '';\n"
    "  send({t: 'key', a: 'down', key: e.key, code: e.code, kc: e.keyCode, text: t}); });\n"
    "img.addEventListener('keyup', e => { e.preventDefault(); send({t: 'key', a: 'up', key: e.key, code: e.code, kc: e.keyCode}); });\n"
    "img.addEventListener('paste', e => send({t: 'text', text: e.clipboardData.getData('text')}));\n"
    "for (const [id, o] of [['back', {t: 'back'}], ['reload', {t: 'reload'}]]) {\n"
    "  const b = document.getElementById(id); if (b) b.onclick = () => send(o); }\n"
    "const go = document.getElementById('go'); if (go) go.onsubmit = e => { e.preventDefault();\n"
    "  send({t: 'nav', url: document.getElementById('url').value}); };\n"
    "</script></body></html>\n";

static const char controls[] =
    "<button id=\"back\">&larr;</button><button id=\"reload\">&#x21bb;</button>"
    "<form id=\"go\" style=\"display:flex;flex:1\"><input id=\"url\" placeholder=\"https://\"></form>";

static enum MHD_Result page(struct MHD_Connection *c, const char *sbx, sq_preview_mode mode, const char *qs)
{
    bool control = mode == SQ_PREVIEW_CONTROL;
    char self[96];
    snprintf(self, sizeof self, "/preview/%s", sbx);
    size_t cap = sizeof page_fmt + sizeof controls + 1024;
    char *body = malloc(cap);
    if (!body)
        return text(c, 500, "out of memory\n");
    snprintf(body, cap, page_fmt, sbx, control ? "crosshair" : "default", sbx,
             control ? "control" : "view only", control ? controls : "", self, qs, qs, control ? "true" : "false",
             self);
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer"); /* the URL is the credential */
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- input --------------------------------------------------------------- */

typedef struct upload {
    size_t len;
    bool too_big;
    char buf[INPUT_MAX + 1];
} upload;

static enum MHD_Result input(struct MHD_Connection *c, sq_preview_hub *hub, sq_preview_mode mode, const upload *u)
{
    if (mode != SQ_PREVIEW_CONTROL)
        return text(c, 403, "forbidden: this is a view-only URL\n");
    if (!atomic_load(&hub->human_may_act))
        return text(c, 403, "forbidden: the control mode does not let a person act (no accepted hand-off)\n");
    if (u->too_big)
        return text(c, 413, "an input is at most 16 KiB\n");
    json_t *in = json_loadb(u->buf, u->len, 0, NULL);
    sq_err why;
    sq_preview_geom g = sq_preview_hub_geom(hub);
    json_t *calls = in ? sq_preview_input_calls(in, &g, &why) : NULL;
    json_decref(in);
    if (!calls) {
        char msg[600];
        snprintf(msg, sizeof msg, "bad input: %s\n", in ? why.msg : "not JSON");
        return text(c, why.code == SQ_INVALID_STATE ? 409 : 400, msg);
    }
    int rc = sq_preview_hub_queue(hub, calls);
    json_decref(calls);
    if (rc < 0)
        return text(c, 429, "too much input queued; try again\n");
    return text(c, 204, "");
}

/* ---- routing ------------------------------------------------------------- */

enum MHD_Result sq_preview_http(sq_worker *w, struct MHD_Connection *c, const char *url, const char *method,
                                const char *upload_data, size_t *upload_size, void **state)
{
    bool post = strcmp(method, "POST") == 0;
    if (post) {
        upload *u = *state;
        if (!u) {
            if (!(u = calloc(1, sizeof *u)))
                return MHD_NO;
            *state = u;
            return MHD_YES;
        }
        if (*upload_size) {
            if (u->len + *upload_size > INPUT_MAX)
                u->too_big = true;
            else {
                memcpy(u->buf + u->len, upload_data, *upload_size);
                u->len += *upload_size;
            }
            *upload_size = 0;
            return MHD_YES;
        }
    } else if (strcmp(method, "GET") != 0) {
        return text(c, 405, "method not allowed\n");
    }
    /* /preview/<sbx>[/stream|/input] */
    char sbx[64];
    const char *rest = url + 9, *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n >= sizeof sbx)
        return text(c, 404, "not found\n");
    memcpy(sbx, rest, n);
    sbx[n] = '\0';
    const char *what = slash ? slash + 1 : "";
    if (!sq_id_valid(sbx, "sbx"))
        return text(c, 404, "not found\n");
    const char *m = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "m");
    const char *e = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "e");
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "s");
    sq_preview_mode mode;
    sq_preview_check chk = ready ? sq_preview_verify(key, sbx, m, e, s, sq_now_ms(), &mode) : SQ_PREVIEW_BAD;
    if (chk == SQ_PREVIEW_EXPIRED)
        return text(c, 403, "forbidden: this preview URL has expired\n");
    if (chk != SQ_PREVIEW_OK)
        return text(c, 403, "forbidden: not a valid preview URL\n");
    bool is_page = !*what, is_stream = strcmp(what, "stream") == 0, is_input = strcmp(what, "input") == 0;
    if (!(is_page || is_stream || is_input) || post != is_input)
        return text(c, is_input || post ? 405 : 404, is_input || post ? "method not allowed\n" : "not found\n");
    sq_preview_hub *hub = sq_preview_find(w, sbx);
    if (!hub)
        return text(c, 404, "no live preview of this sandbox here (ended, no browser, or another worker's)\n");
    char qs[160];
    /* Rebuilt from what was verified (never echoed as it came): e as the number it
     * parsed to, s the 64 hex digits that matched. */
    snprintf(qs, sizeof qs, "m=%s&e=%lld&s=%.64s", sq_preview_mode_name(mode), strtoll(e, NULL, 10), s);
    enum MHD_Result ret;
    if (is_stream)
        return stream(c, hub); /* takes the reference */
    if (is_input)
        ret = input(c, hub, mode, *state);
    else
        ret = page(c, sbx, mode, qs);
    sq_preview_hub_unref(hub);
    return ret;
}

void sq_preview_http_done(void **state)
{
    free(*state);
    *state = NULL;
}
