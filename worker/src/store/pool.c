/* pool.c — see pool.h. */
#include "pool.h"

#include <stdlib.h>

#include "sq/redis_connect.h"

void sq_pool_init(sq_store_pool *p, int max, const char *redis_url, const char *database_url)
{
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->idle = NULL;
    p->total = 0;
    p->max = max > 0 ? max : 1;
    p->redis_url = redis_url;
    p->database_url = database_url;
}

sq_store_conn *sq_pool_acquire(sq_store_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (!p->idle && p->total >= p->max)
        pthread_cond_wait(&p->cv, &p->mu);
    sq_store_conn *c = p->idle;
    if (c) {
        p->idle = c->next;
    } else {
        c = calloc(1, sizeof *c);
        if (c)
            p->total++;
    }
    pthread_mutex_unlock(&p->mu);
    if (!c)
        abort(); /* out of memory for a 24-byte struct: nothing sensible is left to do */
    c->next = NULL;
    return c;
}

void sq_pool_release(sq_store_pool *p, sq_store_conn *c)
{
    pthread_mutex_lock(&p->mu);
    c->next = p->idle;
    p->idle = c;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void sq_pool_drop_redis(sq_store_conn *c)
{
    if (c->redis)
        redisFree(c->redis);
    c->redis = NULL;
}

void sq_pool_drop_pg(sq_store_conn *c)
{
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
    c->pg_prepared = false; /* a new connection has none */
}

void sq_pool_close(sq_store_pool *p)
{
    pthread_mutex_lock(&p->mu);
    for (sq_store_conn *c = p->idle, *n; c; c = n) {
        n = c->next;
        sq_pool_drop_redis(c);
        sq_pool_drop_pg(c);
        free(c);
        p->total--;
    }
    p->idle = NULL;
    pthread_mutex_unlock(&p->mu);
}

int sq_pool_redis(sq_store_pool *p, sq_store_conn *c, sq_err *err)
{
    if (c->redis)
        return 0;
    return sq_redis_connect(p->redis_url, 5000, &c->redis, err) == SQ_REDIS_OK ? 0 : -1;
}

int sq_pool_pg(sq_store_pool *p, sq_store_conn *c, sq_err *err)
{
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK)
        return 0;
    sq_pool_drop_pg(c);
    PGconn *pg = PQconnectdb(p->database_url);
    if (PQstatus(pg) != CONNECTION_OK) {
        sq_err_set(err, SQ_INTERNAL, "postgres: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return -1;
    }
    c->pg = pg;
    return 0;
}
