/* pool.h — a bounded pool of store connections (one Redis and one PostgreSQL
 * connection per entry) shared by the worker's threads.
 *
 * hiredis contexts and PGconns are not thread-safe, and one connection per
 * sandbox would not scale, so every store call borrows an entry for the length
 * of one command and gives it back. Connections are opened lazily and
 * re-opened after a failure. */
#ifndef SQ_POOL_H
#define SQ_POOL_H

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>

#include "sq/err.h"
#include "sq/redis_url.h"

typedef struct sq_store_conn {
    redisContext *redis;
    PGconn *pg;
    bool pg_prepared;          /* pg has the prepared statements (pg_store.c) */
    struct sq_store_conn *next;
} sq_store_conn;

typedef struct sq_store_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sq_store_conn *idle;
    int total, max;
    const char *redis_url;
    const char *database_url;
} sq_store_pool;

void sq_pool_init(sq_store_pool *p, int max, const char *redis_url, const char *database_url);
/* Blocks until an entry is free (at most p->max exist). Never NULL. */
sq_store_conn *sq_pool_acquire(sq_store_pool *p);
void sq_pool_release(sq_store_pool *p, sq_store_conn *c);
void sq_pool_close(sq_store_pool *p);

/* (Re)open the entry's connections if they are missing. */
int sq_pool_redis(sq_store_pool *p, sq_store_conn *c, sq_err *err);
int sq_pool_pg(sq_store_pool *p, sq_store_conn *c, sq_err *err);
void sq_pool_drop_redis(sq_store_conn *c);
void sq_pool_drop_pg(sq_store_conn *c);

#endif
