/* preview_hub.h — one sandbox's live preview, between its browser and its
 * viewers (docs/handoff.md).
 *
 * Frames: the browser side puts each screencast frame here; only the newest
 * is kept. Each viewer (an HTTP connection thread) takes the newest frame
 * when it is ready to send one, so a viewer that reads slowly simply skips
 * frames: it never queues them and never holds up the browser or the other
 * viewers. Frames are reference-counted: a viewer still sending an older one
 * keeps only that one alive.
 *
 * Input goes the other way: a viewer queues CDP calls (bounded) and pokes the
 * hub's eventfd; whichever thread drives the browser's pipe at that moment
 * sends them (preview_pump.h).
 *
 * The hub is reference-counted too: the sandbox holds one reference, each
 * HTTP connection one; when the sandbox ends the hub is closed and viewers
 * end their streams. Thread-safe. */
#ifndef SQ_PREVIEW_HUB_H
#define SQ_PREVIEW_HUB_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "preview/preview_input.h"

#define SQ_PREVIEW_INPUT_MAX 256 /* queued calls; more is 429 for the viewer */

typedef struct sq_preview_frame {
    atomic_int refs;
    uint64_t seq;              /* 1, 2, 3 … per hub */
    int64_t at_mono;           /* sq_mono_ms when it arrived */
    sq_preview_geom geom;      /* the page viewport it shows (CSS px) */
    size_t len;
    unsigned char jpeg[];
} sq_preview_frame;

typedef struct sq_preview_hub {
    atomic_int refs;
    char sandbox_id[64];
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* a new frame, a viewer change, closing */
    sq_preview_frame *frame;   /* the newest, or NULL */
    uint64_t seq;
    int viewers;               /* open streams */
    bool want_shot;            /* a viewer came: the pump takes a screenshot as its first frame */
    bool closed;
    json_t *input;             /* queued {method, params} */
    int wake_fd;               /* eventfd: the pipe's driver has work (input, viewers) */
    atomic_bool human_may_act; /* mirrored from the sandbox's hand-offs by its actor */
    atomic_llong frames_in;    /* frames the browser sent (metrics, tests) */
    /* Who drives the browser's pipe: the actor during its browser work, the
     * pump thread between (preview_pump.h). actor_wants tells the pump to
     * let go at once. */
    pthread_mutex_t use_mu;
    atomic_bool actor_wants;
} sq_preview_hub;

sq_preview_hub *sq_preview_hub_new(const char *sandbox_id);
sq_preview_hub *sq_preview_hub_ref(sq_preview_hub *h);
void sq_preview_hub_unref(sq_preview_hub *h);
/* The sandbox is going: streams end, input is refused. */
void sq_preview_hub_close(sq_preview_hub *h);

/* A frame (copied) becomes the newest. */
void sq_preview_hub_put(sq_preview_hub *h, const unsigned char *jpeg, size_t len, sq_preview_geom geom);
/* Wait up to wait_ms for a frame newer than after_seq: a new reference, or
 * NULL (timeout, or closed: *closed). */
sq_preview_frame *sq_preview_hub_next(sq_preview_hub *h, uint64_t after_seq, int wait_ms, bool *closed);
void sq_preview_frame_unref(sq_preview_frame *f);
/* The geometry of the newest frame (zero when none). */
sq_preview_geom sq_preview_hub_geom(sq_preview_hub *h);

void sq_preview_hub_join(sq_preview_hub *h);
void sq_preview_hub_leave(sq_preview_hub *h);
int sq_preview_hub_viewers(sq_preview_hub *h);

/* Queue calls (an array of {method, params}, borrowed). Returns 0, or -1 when
 * the queue is full or the hub closed. */
int sq_preview_hub_queue(sq_preview_hub *h, const json_t *calls);
/* Take everything queued (a new array, maybe empty). */
json_t *sq_preview_hub_take_input(sq_preview_hub *h);
/* Poke the pipe's driver (wake_fd). */
void sq_preview_hub_poke(sq_preview_hub *h);

#endif
