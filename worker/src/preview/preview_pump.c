/* preview_pump.c — see preview_pump.h. */
#include "preview/preview_pump.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps/browser/browser.h"
#include "caps/browser/recording.h"
#include "lifecycle/registry.h"
#include "preview/preview_hub.h"
#include "sq/clock.h"
#include "sq/codec.h"
#include "sq/log.h"

#define SLICE_MS 200        /* the pump holds the pipe at most this long at a time */
#define SEND_DEADLINE_MS 1000
#define SHOT_DEADLINE_MS 3000

typedef struct sq_preview {
    sq_preview_hub *hub;
    sq_browser *b;
    sq_cdp_tap tap;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    /* under use_mu (whoever drives the pipe) */
    atomic_bool casting;     /* written by the pipe's driver; the pump reads it as a hint */
    char cast_session[SQ_CDP_NAME_MAX];
    json_t *acks;            /* [{session, sessionId}] to ack at the next flush */
    sq_brec *rec;            /* a browser task's recording, fed every frame (set by the actor) */
} sq_preview;

static void on_event(void *user, const char *method, const json_t *msg)
{
    sq_preview *p = user;
    if (strcmp(method, "Page.screencastFrame") != 0)
        return;
    const json_t *params = json_object_get(msg, "params");
    const char *data = json_string_value(json_object_get(params, "data"));
    const json_t *meta = json_object_get(params, "metadata");
    const char *session = json_string_value(json_object_get(msg, "sessionId"));
    /* Every frame is acked, shown or not: the browser sends the next only then. */
    json_array_append_new(p->acks, json_pack("{s:s, s:O}", "session", session ? session : "", "sessionId",
                                             json_object_get(params, "sessionId")));
    if (!data)
        return;
    size_t n = strlen(data);
    unsigned char *jpeg = malloc(n / 4 * 3 + 4);
    long len = jpeg ? sq_b64_decode(data, n, jpeg) : -1;
    if (len > 0 && p->rec)
        sq_brec_frame(p->rec, jpeg, (size_t)len); /* never waits: frames drop if ffmpeg lags */
    if (len > 0) {
        sq_preview_geom g = {json_number_value(json_object_get(meta, "deviceWidth")),
                             json_number_value(json_object_get(meta, "deviceHeight"))};
        if (g.width <= 0 || g.height <= 0)
            g = (sq_preview_geom){p->b->width, p->b->height};
        sq_preview_hub_put(p->hub, jpeg, (size_t)len, g);
    }
    free(jpeg);
}

static void flush(void *user, sq_cdp *c)
{
    sq_preview *p = user;
    sq_preview_hub *hub = p->hub;
    sq_browser *b = p->b;
    sq_err e;
    int64_t dl = sq_cdp_clock(c) + SEND_DEADLINE_MS;
    size_t i;
    json_t *a;
    json_array_foreach(p->acks, i, a)
    {
        json_t *params = json_pack("{s:O}", "sessionId", json_object_get(a, "sessionId"));
        (void)sq_cdp_send(c, "Page.screencastFrameAck", params, json_string_value(json_object_get(a, "session")), dl,
                          &e);
        json_decref(params);
    }
    json_array_clear(p->acks);
    int viewers = sq_preview_hub_viewers(hub);
    bool want = viewers > 0 || p->rec; /* one screencast for the viewers and the recording */
    if (want && b->session[0] && (!p->casting || strcmp(p->cast_session, b->session) != 0)) {
        if (p->casting)
            (void)sq_cdp_send(c, "Page.stopScreencast", NULL, p->cast_session, dl, &e);
        json_t *params = json_pack("{s:s, s:i, s:i}", "format", "jpeg", "quality", 60, "everyNthFrame", 1);
        if (sq_cdp_send(c, "Page.startScreencast", params, b->session, dl, &e) == 0) {
            p->casting = true;
            snprintf(p->cast_session, sizeof p->cast_session, "%s", b->session);
        }
        json_decref(params);
    } else if (!want && p->casting) {
        (void)sq_cdp_send(c, "Page.stopScreencast", NULL, p->cast_session, dl, &e);
        p->casting = false;
    }
    json_t *in = sq_preview_hub_take_input(hub);
    json_array_foreach(in, i, a)
    {
        (void)sq_cdp_send(c, json_string_value(json_object_get(a, "method")), json_object_get(a, "params"),
                          b->session, dl, &e);
    }
    json_decref(in);
}

/* The first frame a new viewer sees comes from a screenshot: a page that
 * does not change sends no screencast frames. */
static void first_frame(sq_preview *p)
{
    sq_browser *b = p->b;
    json_t *params = json_pack("{s:s, s:i}", "format", "jpeg", "quality", 60), *res = NULL;
    sq_err e;
    if (sq_cdp_call(&b->cdp, "Page.captureScreenshot", params, b->session, sq_cdp_clock(&b->cdp) + SHOT_DEADLINE_MS,
                    &res, &e) == 0) {
        const char *data = json_string_value(json_object_get(res, "data"));
        size_t n = data ? strlen(data) : 0;
        unsigned char *jpeg = n ? malloc(n / 4 * 3 + 4) : NULL;
        long len = jpeg ? sq_b64_decode(data, n, jpeg) : -1;
        if (len > 0)
            sq_preview_hub_put(p->hub, jpeg, (size_t)len, (sq_preview_geom){b->width, b->height});
        free(jpeg);
    }
    json_decref(params);
    json_decref(res);
}

/* One slice of driving the pipe (use_mu held). */
static void drive(sq_preview *p)
{
    sq_browser *b = p->b;
    if (!b->running || b->cdp.gone || !b->session[0])
        return;
    sq_preview_hub *hub = p->hub;
    pthread_mutex_lock(&hub->mu);
    bool shot = hub->want_shot;
    hub->want_shot = false;
    pthread_mutex_unlock(&hub->mu);
    sq_preview_hub_poke(hub); /* the first wait flushes: start or stop the screencast, send input */
    if (shot)
        first_frame(p);
    int64_t until = sq_mono_ms() + SLICE_MS;
    sq_err e;
    while (!atomic_load(&hub->actor_wants) && !atomic_load(&p->stop) && !b->cdp.gone && sq_mono_ms() < until)
        if (sq_cdp_pump(&b->cdp, sq_cdp_clock(&b->cdp) + 50, "the preview", &e) < 0 && e.code != SQ_TIMED_OUT)
            break;
}

static void *pump_main(void *arg)
{
    sq_preview *p = arg;
    sq_preview_hub *hub = p->hub;
    sq_log_ctx lc = {.sandbox_id = hub->sandbox_id};
    sq_debug(&lc, "preview pump started");
    while (!atomic_load(&p->stop)) {
        pthread_mutex_lock(&hub->mu);
        /* Nothing to do while nobody watches and the screencast is off
         * (p->casting is only ever read here as a hint). */
        if (hub->viewers == 0 && !p->casting && json_array_size(hub->input) == 0 && !atomic_load(&p->stop)) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            t.tv_sec += 1;
            pthread_cond_timedwait(&hub->cv, &hub->mu, &t);
        }
        pthread_mutex_unlock(&hub->mu);
        if (atomic_load(&p->stop))
            break;
        pthread_mutex_lock(&hub->mu);
        bool work = hub->viewers > 0 || json_array_size(hub->input) > 0;
        pthread_mutex_unlock(&hub->mu);
        if (!work && !p->casting)
            continue;
        if (atomic_load(&hub->actor_wants) || pthread_mutex_trylock(&hub->use_mu) != 0) {
            usleep(20 * 1000); /* the actor drives: its waits carry the frames */
            continue;
        }
        drive(p);
        pthread_mutex_unlock(&hub->use_mu);
        if (atomic_load(&hub->actor_wants))
            usleep(5 * 1000); /* let the actor take it */
    }
    return NULL;
}

void sq_preview_attach(sq_live_sandbox *sb)
{
    sq_log_ctx lc = {.sandbox_id = sb->id};
    if (!sb->browser || sb->preview)
        return;
    sq_preview *p = calloc(1, sizeof *p);
    if (!p || !(p->hub = sq_preview_hub_new(sb->id)) || !(p->acks = json_array())) {
        sq_warn(&lc, "no preview: out of memory");
        if (p)
            sq_preview_hub_unref(p->hub);
        free(p);
        return;
    }
    p->b = sb->browser;
    p->tap = (sq_cdp_tap){.fd = p->hub->wake_fd, .on_event = on_event, .flush = flush, .user = p};
    p->b->cdp.tap = &p->tap;
    atomic_init(&p->stop, false);
    if (pthread_create(&p->thread, NULL, pump_main, p) != 0) {
        sq_warn(&lc, "no preview: cannot start its thread");
        p->b->cdp.tap = NULL;
        sq_preview_hub_unref(p->hub);
        json_decref(p->acks);
        free(p);
        return;
    }
    p->thread_started = true;
    pthread_mutex_lock(&sb->worker->registry_mu); /* the HTTP side finds it under this lock */
    sb->preview = p;
    pthread_mutex_unlock(&sb->worker->registry_mu);
}

void sq_preview_detach(sq_live_sandbox *sb)
{
    sq_preview *p = sb->preview;
    if (!p)
        return;
    pthread_mutex_lock(&sb->worker->registry_mu);
    sb->preview = NULL;
    pthread_mutex_unlock(&sb->worker->registry_mu);
    atomic_store(&p->stop, true);
    sq_preview_hub_close(p->hub); /* wakes the pump and every viewer */
    if (p->thread_started)
        pthread_join(p->thread, NULL);
    p->b->cdp.tap = NULL;
    sq_preview_hub_unref(p->hub);
    json_decref(p->acks);
    free(p);
}

sq_preview_hub *sq_preview_actor_enter(sq_live_sandbox *sb)
{
    sq_preview *p = sb->preview;
    if (!p)
        return NULL;
    sq_preview_hub *h = sq_preview_hub_ref(p->hub);
    atomic_store(&h->actor_wants, true);
    sq_preview_hub_poke(h); /* wakes the pump's wait on the pipe: it lets go at once */
    pthread_mutex_lock(&h->use_mu);
    atomic_store(&h->actor_wants, false);
    return h;
}

void sq_preview_actor_leave(sq_preview_hub *held)
{
    if (!held)
        return;
    pthread_mutex_unlock(&held->use_mu);
    sq_preview_hub_unref(held);
}

bool sq_preview_record(sq_live_sandbox *sb, sq_brec *rec)
{
    sq_preview *p = sb->preview;
    if (!p)
        return false;
    p->rec = rec;
    if (rec) {
        sq_browser *b = p->b;
        json_t *params = json_pack("{s:s, s:i}", "format", "jpeg", "quality", 60), *res = NULL;
        sq_err e;
        if (b->running && b->session[0] &&
            sq_cdp_call(&b->cdp, "Page.captureScreenshot", params, b->session,
                        sq_cdp_clock(&b->cdp) + SHOT_DEADLINE_MS, &res, &e) == 0) {
            const char *data = json_string_value(json_object_get(res, "data"));
            size_t n = data ? strlen(data) : 0;
            unsigned char *jpeg = n ? malloc(n / 4 * 3 + 4) : NULL;
            long len = jpeg ? sq_b64_decode(data, n, jpeg) : -1;
            if (len > 0)
                sq_brec_frame(rec, jpeg, (size_t)len);
            free(jpeg);
        }
        json_decref(params);
        json_decref(res);
    }
    sq_preview_hub_poke(p->hub); /* the next wait on the pipe starts (or stops) the screencast */
    return true;
}

void sq_preview_set_human(sq_live_sandbox *sb, bool may_act)
{
    if (sb->preview)
        atomic_store(&((sq_preview *)sb->preview)->hub->human_may_act, may_act);
}

sq_preview_hub *sq_preview_find(sq_worker *w, const char *sandbox_id)
{
    sq_preview_hub *h = NULL;
    pthread_mutex_lock(&w->registry_mu);
    sq_live_sandbox *sb = sq_registry_get(w, sandbox_id);
    if (sb && sb->preview)
        h = sq_preview_hub_ref(((sq_preview *)sb->preview)->hub);
    pthread_mutex_unlock(&w->registry_mu);
    return h;
}
