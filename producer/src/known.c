/* known.c — the sandboxes this client created: which requests topic their create went
 * to (every later request must follow it, PROTOCOL.md) and the events offset from
 * before the create (so sandq_wait_ready can replay their events exactly).
 * A fixed ring: the oldest entries are forgotten first. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static sqp_known *find(sandq_client_t *c, const char *id)
{
    /* Ids made close together share their leading (time) characters: compare the
     * random tail first, so a miss costs one byte per entry. */
    size_t n = strlen(id);
    if (n == 0 || n >= SQ_ID_MAX)
        return NULL;
    for (size_t i = 0; i < SQP_KNOWN_MAX; i++) {
        const char *k = c->known[i].id;
        if (k[0] && k[n - 1] == id[n - 1] && k[n] == '\0' && memcmp(k, id, n) == 0)
            return &c->known[i];
    }
    return NULL;
}

void sqp_known_put(sandq_client_t *c, const char *id, const char *region, int32_t partition, int64_t start)
{
    pthread_mutex_lock(&c->lock);
    sqp_known *k = find(c, id);
    if (!k) {
        k = &c->known[c->known_next];
        c->known_next = (c->known_next + 1) % SQP_KNOWN_MAX;
    }
    snprintf(k->id, sizeof k->id, "%s", id);
    snprintf(k->region, sizeof k->region, "%s", region ? region : "");
    k->partition = partition;
    k->start = start;
    pthread_mutex_unlock(&c->lock);
}

bool sqp_known_get(sandq_client_t *c, const char *id, sqp_known *out)
{
    pthread_mutex_lock(&c->lock);
    sqp_known *k = find(c, id);
    if (k)
        *out = *k;
    pthread_mutex_unlock(&c->lock);
    return k != NULL;
}

void sqp_request_topic(sandq_client_t *c, const char *sandbox_id, char out[SQ_TOPIC_MAX])
{
    sqp_known k;
    if (sqp_known_get(c, sandbox_id, &k))
        sq_topic_requests(c->prefix, k.region, out);
    else
        sq_topic_requests(c->prefix, c->region, out);
}

sandq_code sandq_client_set_sandbox_region(sandq_client_t *c, const char *sandbox_id, const char *region,
                                           sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !sandbox_id || !sq_id_valid(sandbox_id, "sbx"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a sandbox id", sandbox_id ? sandbox_id : "(null)");
    if (region && *region && !sq_region_valid(region))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "region \"%s\" is not three lowercase letters", region);
    sqp_known k;
    int32_t partition = -1;
    int64_t start = -1;
    if (sqp_known_get(c, sandbox_id, &k)) {
        partition = k.partition;
        start = k.start;
    }
    sqp_known_put(c, sandbox_id, region, partition, start);
    return SANDQ_OK;
}
