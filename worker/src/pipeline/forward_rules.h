/* forward_rules.h — when a request is forwarded to the worker that hosts its
 * sandbox, and the names that go with it (pure).
 *
 * A sandbox runs on the worker that created it for its whole life. When its
 * requests partition moves to another worker (a worker joins, a rolling
 * deploy), the partition's new owner forwards the sandbox's requests to the
 * hosting worker's own topic, <prefix>.worker.<workerId>, instead of failing
 * the sandbox (pipeline/forward.h does the I/O). */
#ifndef SQ_FORWARD_RULES_H
#define SQ_FORWARD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Headers a forwarded copy carries (docs/protocol.md, "Forwarded requests").
 * The key and the value are the original message's, byte for byte. */
#define SQ_FWD_HDR_FROM "sandq-forwarded-by"          /* the worker id that forwarded it */
#define SQ_FWD_HDR_TOPIC "sandq-origin-topic"         /* the requests topic it was consumed from */
#define SQ_FWD_HDR_PARTITION "sandq-origin-partition" /* decimal */
#define SQ_FWD_HDR_OFFSET "sandq-origin-offset"       /* decimal */

/* What the dispatcher knows about a request when it decides. */
typedef struct {
    bool forwarded;     /* it came from this worker's forward topic */
    bool is_create;     /* sandbox.create: always served by the partition's owner */
    bool hosted_here;   /* this worker's registry runs the sandbox */
    bool record_live;   /* Redis records the sandbox in a live state */
    bool owner_is_self; /* ... with this worker's id as its owner lease */
    bool owner_alive;   /* ... and that owner's heartbeat key exists */
} sq_forward_facts;

typedef enum {
    SQ_FORWARD_HERE,    /* serve (or answer) it here, as without forwarding */
    SQ_FORWARD_TO_OWNER /* produce it to the owner's forward topic */
} sq_forward_verdict;

/* Forward only a request for a live sandbox another live worker hosts. A
 * forwarded copy is never forwarded again (no loops: if the host no longer
 * runs it, the host answers as any worker would). A dead owner's sandbox is
 * answered here: worker_lost, as before forwarding existed. */
sq_forward_verdict sq_forward_decide(const sq_forward_facts *f);

/* <prefix>.worker.<workerId>; -1 when it does not fit in n (or an argument
 * is empty). */
int sq_forward_topic(const char *prefix, const char *worker_id, char *out, size_t n);

/* Whether a topic name is some worker's forward topic under prefix (a
 * message from it is a forwarded copy). */
bool sq_forward_is_topic(const char *prefix, const char *topic);

#endif
