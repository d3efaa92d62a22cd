/* artifact_sql.h — the artifacts table's statements (sql/006, sql/012). */
#ifndef SQ_ARTIFACT_SQL_H
#define SQ_ARTIFACT_SQL_H

/* Queued on the history writer; ON CONFLICT so that a re-published outcome
 * never fails on its own row. */
#define SQ_SQL_ARTIFACT_INSERT                                                                                  \
    "INSERT INTO artifacts (id, sandbox_id, task_id, path, size_bytes, sha256, content_type, storage_key, "     \
    "tenant, store_url) VALUES ($1, $2, $3, $4, $5::bigint, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING"
#define SQ_SQL_ARTIFACT_INSERT_PARAMS 10

/* The download handler (artifacts/serve.c): what it serves for an id. */
#define SQ_SQL_ARTIFACT_GET                                                                                     \
    "SELECT storage_key, size_bytes, content_type, store_url, path FROM artifacts WHERE id = $1"

#endif
