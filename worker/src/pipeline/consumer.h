/* consumer.h — the request consumers: one per requests topic
 * (<prefix>.requests and <prefix>.requests.<region>), each with its own
 * librdkafka handle in its own consumer group, <SANDQ_GROUP_ID>.<topic>, and
 * its own polling thread (poll, dispatch, store offsets, back-pressure).
 *
 * Why a group per topic: an assignor (cooperative-sticky, and range or
 * roundrobin across topics) balances the number of partitions per group
 * member, not per topic. With both topics in one group, two workers can end
 * up one with every partition of one topic and the other with every
 * partition of the other — one worker then does all the work of the busy
 * topic. In a group of its own, a topic is spread over every worker.
 *
 * Everything else is shared: the offsets tracker (keyed by topic and
 * partition; each consumer stores only its own topic's offsets), the in-flight
 * bound SANDQ_MAX_INFLIGHT (counted over both topics, each consumer pauses its
 * own partitions), the registry of sandboxes, the actors. */
#ifndef SQ_CONSUMER_H
#define SQ_CONSUMER_H

#include "worker.h"

/* Create both consumers and subscribe each to its topic. A group that has no
 * committed offset yet first takes over those committed under SANDQ_GROUP_ID
 * itself, where workers before per-topic groups committed them
 * (group_carry.h). */
int sq_consumers_new(sq_worker *w, sq_err *err);
/* Start each consumer's polling thread. */
int sq_consumers_start(sq_worker *w, sq_err *err);
/* After `stopping`: each thread pauses its partitions and stays in its group
 * while the actors drain (SANDQ_SHUTDOWN_GRACE_MS), storing what completes;
 * this waits for them. */
void sq_consumers_join(sq_worker *w);
/* Commit what is stored and leave the groups. */
void sq_consumers_close(sq_worker *w);

#endif
