/* migrations.h — the sql/ migrations embedded at build time, and the runner
 * behind `sandq-worker migrate`. */
#ifndef SQ_MIGRATIONS_H
#define SQ_MIGRATIONS_H

#include "sq/err.h"

typedef struct sq_migration {
    int version;
    const char *name;
    const char *sql;
} sq_migration;

extern const sq_migration sq_migrations[];
extern const int sq_migrations_count;

/* Apply every pending migration, each in its own transaction, under an advisory
 * lock so concurrent runs (two workers starting) serialize. Idempotent.
 * *applied gets how many were applied now. */
int sq_migrate(const char *database_url, int *applied, sq_err *err);

#endif
