/* answer_again.h — publishing a request's recorded answer once more.
 *
 * A worker that died after publishing a request's answer but before
 * committing its offset leaves the answer's envelope on the request's dedupe
 * key (request_answer.h). The next owner of the partition consumes the
 * request again; instead of redoing it (a second, different outcome), it
 * publishes that envelope again — same eventId, same seq — and records its
 * history row if the dead worker's writer had not (the insert is idempotent
 * on eventId, so no second webhook delivery either). */
#ifndef SQ_ANSWER_AGAIN_H
#define SQ_ANSWER_AGAIN_H

#include "job.h"

/* Publish `envelope` (an event's JSON) to the events topic and its sandbox's
 * replyTo, keyed by its sandboxId, and queue its history row; counted on the
 * calling thread's current job. */
int sq_answer_again(sq_worker *w, const char *envelope, sq_err *err);

#endif
