/* preview_hub.c — see preview_hub.h. */
#include "preview/preview_hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "sq/clock.h"

sq_preview_hub *sq_preview_hub_new(const char *sandbox_id)
{
    sq_preview_hub *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    h->input = json_array();
    if (h->wake_fd < 0 || !h->input) {
        if (h->wake_fd >= 0)
            close(h->wake_fd);
        json_decref(h->input);
        free(h);
        return NULL;
    }
    atomic_init(&h->refs, 1);
    snprintf(h->sandbox_id, sizeof h->sandbox_id, "%s", sandbox_id);
    pthread_mutex_init(&h->mu, NULL);
    pthread_mutex_init(&h->use_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    return h;
}

sq_preview_hub *sq_preview_hub_ref(sq_preview_hub *h)
{
    if (h)
        atomic_fetch_add(&h->refs, 1);
    return h;
}

void sq_preview_hub_unref(sq_preview_hub *h)
{
    if (!h || atomic_fetch_sub(&h->refs, 1) != 1)
        return;
    sq_preview_frame_unref(h->frame);
    json_decref(h->input);
    close(h->wake_fd);
    pthread_mutex_destroy(&h->mu);
    pthread_mutex_destroy(&h->use_mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

void sq_preview_hub_close(sq_preview_hub *h)
{
    pthread_mutex_lock(&h->mu);
    h->closed = true;
    json_array_clear(h->input);
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

void sq_preview_frame_unref(sq_preview_frame *f)
{
    if (f && atomic_fetch_sub(&f->refs, 1) == 1)
        free(f);
}

void sq_preview_hub_put(sq_preview_hub *h, const unsigned char *jpeg, size_t len, sq_preview_geom geom)
{
    sq_preview_frame *f = malloc(sizeof *f + len);
    if (!f)
        return;
    atomic_init(&f->refs, 1);
    f->len = len;
    f->geom = geom;
    f->at_mono = sq_mono_ms();
    memcpy(f->jpeg, jpeg, len);
    atomic_fetch_add(&h->frames_in, 1);
    pthread_mutex_lock(&h->mu);
    f->seq = ++h->seq;
    sq_preview_frame *old = h->frame;
    h->frame = f;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    sq_preview_frame_unref(old); /* outside the lock: maybe a free */
}

sq_preview_frame *sq_preview_hub_next(sq_preview_hub *h, uint64_t after_seq, int wait_ms, bool *closed)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    sq_preview_frame *f = NULL;
    pthread_mutex_lock(&h->mu);
    while (!h->closed && (!h->frame || h->frame->seq <= after_seq))
        if (pthread_cond_timedwait(&h->cv, &h->mu, &until) != 0)
            break;
    *closed = h->closed;
    if (!h->closed && h->frame && h->frame->seq > after_seq) {
        f = h->frame;
        atomic_fetch_add(&f->refs, 1);
    }
    pthread_mutex_unlock(&h->mu);
    return f;
}

sq_preview_geom sq_preview_hub_geom(sq_preview_hub *h)
{
    sq_preview_geom g = {0, 0};
    pthread_mutex_lock(&h->mu);
    if (h->frame)
        g = h->frame->geom;
    pthread_mutex_unlock(&h->mu);
    return g;
}

void sq_preview_hub_poke(sq_preview_hub *h)
{
    uint64_t one = 1;
    ssize_t n = write(h->wake_fd, &one, sizeof one); /* EAGAIN: already poked enough */
    (void)n;
}

void sq_preview_hub_join(sq_preview_hub *h)
{
    pthread_mutex_lock(&h->mu);
    h->viewers++;
    h->want_shot = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    sq_preview_hub_poke(h);
}

void sq_preview_hub_leave(sq_preview_hub *h)
{
    pthread_mutex_lock(&h->mu);
    h->viewers--;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    sq_preview_hub_poke(h);
}

int sq_preview_hub_viewers(sq_preview_hub *h)
{
    pthread_mutex_lock(&h->mu);
    int n = h->viewers;
    pthread_mutex_unlock(&h->mu);
    return n;
}

int sq_preview_hub_queue(sq_preview_hub *h, const json_t *calls)
{
    int rc = -1;
    pthread_mutex_lock(&h->mu);
    if (!h->closed && json_array_size(h->input) + json_array_size(calls) <= SQ_PREVIEW_INPUT_MAX) {
        json_array_extend(h->input, (json_t *)calls);
        rc = 0;
        pthread_cond_broadcast(&h->cv); /* the pump drives the pipe for input even with nobody watching */
    }
    pthread_mutex_unlock(&h->mu);
    if (rc == 0)
        sq_preview_hub_poke(h);
    return rc;
}

json_t *sq_preview_hub_take_input(sq_preview_hub *h)
{
    pthread_mutex_lock(&h->mu);
    json_t *a = h->input;
    h->input = json_array();
    pthread_mutex_unlock(&h->mu);
    return a;
}
