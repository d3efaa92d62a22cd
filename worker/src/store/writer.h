/* writer.h — the history writer: every PostgreSQL write of the worker goes
 * through one bounded FIFO to one thread, which applies it in batches —
 * one transaction, pipelined (libpq pipeline mode), one commit and so one
 * fsync per batch instead of one per row. Within a batch, rows of the same
 * INSERT go as one multi-row INSERT (multirow.h).
 *
 * - Order is kept where it can matter: statements run in the order they were
 *   queued, except that a batch brings known kinds together where the result
 *   cannot change (batch_order.h).
 * - One bad row (SQLSTATE class 22/23) sinks nothing else: its batch is
 *   redone one row per transaction and only that row is set aside, into the
 *   history_quarantine table with its error (quarantine.h).
 * - Nothing is dropped: when PostgreSQL is down the batch is retried with
 *   back-off; when the queue is full, writers block (back-pressure).
 * - A job is durable only once its rows are committed: each queued statement
 *   counts against the calling thread's current job (job.h), like a Kafka
 *   delivery does. */
#ifndef SQ_WRITER_H
#define SQ_WRITER_H

#include <stddef.h>

#include "worker.h"

typedef struct sq_writer sq_writer;

sq_writer *sq_writer_start(sq_worker *w, size_t queue_max, sq_err *err);
/* Drains what is queued (waiting for PostgreSQL up to deadline_ms), then stops. */
void sq_writer_stop(sq_writer *wr, int64_t deadline_ms);

/* Queue one statement; params are copied (NULL = SQL NULL). `sql` must be a
 * string that lives forever (a literal). Blocks while the queue is full. */
void sq_writer_exec(sq_writer *wr, const char *sql, int nparams, const char *const *params);

/* Statements queued and not yet committed (for /metrics). */
size_t sq_writer_depth(sq_writer *wr);

#endif
