/* multirow.h — the pure half of the history writer's batching (writer.c):
 * recognising an `INSERT … VALUES (…) [ON CONFLICT … DO NOTHING]` written for
 * one row, and writing the same statement for n rows,
 * `VALUES (…),(…),…`, each copy of the tuple with its parameters renumbered
 * ($1..$k, then $k+1..$2k, …). No I/O.
 *
 * Why multi-row VALUES and not COPY: COPY cannot run in libpq's pipeline mode
 * (the writer sends a whole batch — BEGIN, statements, COMMIT — as one
 * pipeline), COPY has no ON CONFLICT (dedupe relies on it: a replayed request
 * re-inserts the same ids), and staging through a temp table + INSERT … SELECT
 * would need one temp table per statement kind and per-kind SQL. A multi-row
 * VALUES is the same statement the caller wrote, so its casts, expressions,
 * conflict clause and row triggers (the webhook outbox on `events`) apply to
 * every row exactly as before.
 *
 * Only statements whose meaning cannot change are accepted: an INSERT with a
 * single top-level VALUES tuple, every parameter inside it, and no
 * `DO UPDATE` (two rows with one key in one statement make DO UPDATE fail
 * with "cannot affect row a second time", where two statements would each
 * succeed; DO NOTHING skips the second row either way). Anything the scanner
 * does not fully understand — comments, dollar quotes, backslashes, several
 * statements — is refused and simply runs one row per statement. */
#ifndef SQ_MULTIROW_H
#define SQ_MULTIROW_H

#include <stdbool.h>
#include <stddef.h>

/* PostgreSQL's Bind message counts parameters in 16 bits. */
#define SQ_MULTIROW_MAX_PARAMS 65535

typedef struct sq_multirow {
    size_t tuple_start;  /* offset of the VALUES tuple's '(' */
    size_t tuple_end;    /* offset just past its ')' */
    int nparams;         /* parameters per row */
    int placeholders;    /* $n occurrences in the tuple */
    int max_rows;        /* rows one statement may carry (parameter limit) */
} sq_multirow;

/* Whether `sql`, taking `nparams` parameters, can be written for several rows;
 * fills *shape when it can. */
bool sq_multirow_shape(const char *sql, int nparams, sq_multirow *shape);

/* How many statements from the start of sqls[0..count) go into one statement
 * together: the run of the same text with the same parameter count as sqls[0],
 * at most `limit` long and within the parameter limit. 1 when sqls[0] cannot
 * be written for several rows (*shape is then left untouched), 0 when count
 * is 0. */
int sq_multirow_run(const char *const *sqls, const int *nparams, int count, int limit, sq_multirow *shape);

/* The statement for `rows` rows (rows >= 1, <= shape->max_rows), malloc'd;
 * NULL when out of memory. Its parameters are the rows' parameters one row
 * after the other. */
char *sq_multirow_build(const char *sql, const sq_multirow *shape, int rows);

#endif
