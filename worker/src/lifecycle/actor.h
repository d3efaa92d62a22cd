/* actor.h — a live sandbox's thread: it takes the jobs of its mailbox
 * (mailbox.h) one at a time, in Kafka order, and routes each (route.h);
 * different sandboxes run in parallel. Between jobs it enforces the sandbox's
 * deadlines (lifetime_tick.h) and gives the sandbox up when its partition was
 * handed over. */
#ifndef SQ_ACTOR_H
#define SQ_ACTOR_H

#include "worker.h"

/* A new, not yet created sandbox record for `id` (state NONE). */
sq_live_sandbox *sq_actor_new(sq_worker *w, const char *id);
/* Free a record whose actor never started. */
void sq_actor_discard(sq_live_sandbox *sb);
/* Starts the actor thread. Call with registry_mu held, after registry put. */
int sq_actor_start(sq_worker *w, sq_live_sandbox *sb);
/* Wake every actor (shutdown). */
void sq_actor_wake_all(sq_worker *w);

#endif
