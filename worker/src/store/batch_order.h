/* batch_order.h — the pure half of how the history writer (writer.c) orders
 * one batch before sending it: statements of the same kind are brought
 * together, so consecutive rows of one INSERT become one multi-row statement
 * (multirow.h) and fire the events' statement trigger once.
 *
 * Under load the queue interleaves kinds — an exec task queues a task row, a
 * request row, five events and four UPDATEs, and fifty tasks do so in turn —
 * so in queue order a run of one INSERT is rarely longer than one row.
 *
 * Moving a statement is only allowed where the result cannot change. Each
 * known statement has a rank, and a batch is sorted by rank, stably (equal
 * ranks keep their queue order):
 *
 *   0 INSERT sandboxes          every other row of a sandbox refers to it
 *   1 INSERT webhook_endpoints  before the events whose trigger looks it up
 *   2 INSERT tasks
 *   3 INSERT requests
 *   4 INSERT events             the outbox trigger reads only endpoints
 *   5 UPDATE sandboxes          after the INSERT of the row they update;
 *   6 UPDATE tasks              among themselves in queue order
 *
 * All of a batch runs in one transaction, where now() is one instant, so
 * timestamps do not change either. A statement of any other kind is a
 * barrier: nothing moves across it. */
#ifndef SQ_BATCH_ORDER_H
#define SQ_BATCH_ORDER_H

/* The statement's rank (above), or -1 when it is a barrier. */
int sq_batch_rank(const char *sql);

/* order[0..count) := the indices of a batch in sending order, given the
 * rank of each of its statements. */
void sq_batch_order(const int *ranks, int count, int *order);

#endif
