/* group_carry.c — see group_carry.h. */
#include "pipeline/group_carry.h"

#include <stdio.h>

#include "sq/log.h"

#define CARRY_TIMEOUT_MS 15000

/* Every partition of the topic, offsets unset, into *out: 0 (*out NULL when
 * the topic does not exist yet), -1 when Kafka did not say. */
static int partitions_of(rd_kafka_t *rk, const char *topic, rd_kafka_topic_partition_list_t **out)
{
    *out = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt)
        return -1;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, CARRY_TIMEOUT_MS);
    int rc = 0;
    if (e) {
        sq_warn(NULL, "partitions of %s: %s", topic, rd_kafka_err2str(e));
        rc = -1;
    } else if (md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0) {
        *out = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
        for (int i = 0; i < md->topics[0].partition_cnt; i++)
            rd_kafka_topic_partition_list_add(*out, topic, md->topics[0].partitions[i].id);
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

static int committed_count(const rd_kafka_topic_partition_list_t *l)
{
    int n = 0;
    for (int i = 0; i < l->cnt; i++)
        n += l->elems[i].offset >= 0;
    return n;
}

/* The old group's committed offsets for l's partitions, read by a handle of
 * that group that never joins it (an OffsetFetch, nothing else). */
static int old_offsets(const char *brokers, const char *old_group, rd_kafka_topic_partition_list_t *l)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char e[256];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, e, sizeof e) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "group.id", old_group, e, sizeof e) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", e, sizeof e) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        sq_warn(NULL, "offsets of group %s: %s", old_group, e);
        return -1;
    }
    rd_kafka_t *old = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (!old) {
        sq_warn(NULL, "offsets of group %s: %s", old_group, e);
        return -1;
    }
    rd_kafka_resp_err_t rc = rd_kafka_committed(old, l, CARRY_TIMEOUT_MS);
    rd_kafka_consumer_close(old);
    rd_kafka_destroy(old);
    if (rc) {
        sq_warn(NULL, "offsets of group %s: %s", old_group, rd_kafka_err2str(rc));
        return -1;
    }
    return 0;
}

int sq_group_carry_offsets(rd_kafka_t *rk, const char *brokers, const char *topic, const char *old_group)
{
    rd_kafka_topic_partition_list_t *l;
    if (partitions_of(rk, topic, &l) < 0)
        return -1;
    if (!l)
        return 0; /* no such topic (yet): nothing was ever committed on it */
    int carried = -1;
    rd_kafka_resp_err_t rc = rd_kafka_committed(rk, l, CARRY_TIMEOUT_MS);
    if (rc) {
        sq_warn(NULL, "committed offsets of %s: %s; not carrying any from group %s", topic, rd_kafka_err2str(rc),
                old_group);
        goto out;
    }
    if (committed_count(l) > 0) {
        carried = 0; /* the group is under way: its own offsets stand */
        goto out;
    }
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    if (old_offsets(brokers, old_group, l) < 0)
        goto out;
    /* Only the partitions the old group has an offset for. */
    rd_kafka_topic_partition_list_t *have = rd_kafka_topic_partition_list_new(l->cnt);
    for (int i = 0; i < l->cnt; i++)
        if (l->elems[i].offset >= 0)
            rd_kafka_topic_partition_list_add(have, topic, l->elems[i].partition)->offset = l->elems[i].offset;
    carried = have->cnt;
    if (have->cnt > 0) {
        /* A commit from a handle that has not joined (generation -1): the
         * broker takes it while the group has no members. If another worker
         * joined meanwhile, it carried the same offsets first. */
        rc = rd_kafka_commit(rk, have, 0);
        if (rc) {
            sq_warn(NULL, "carrying %d committed offsets of %s from group %s: %s", have->cnt, topic, old_group,
                    rd_kafka_err2str(rc));
            carried = -1;
        } else {
            sq_info(NULL, "carried the committed offsets of %d partitions of %s over from group %s (the group "
                          "workers used before one group per requests topic)",
                    have->cnt, topic, old_group);
        }
    }
    rd_kafka_topic_partition_list_destroy(have);
out:
    rd_kafka_topic_partition_list_destroy(l);
    return carried;
}

int sq_group_members(rd_kafka_t *rk, const char *group)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    char e[256];
    rd_kafka_AdminOptions_set_request_timeout(o, CARRY_TIMEOUT_MS, e, sizeof e);
    const char *groups[1] = {group};
    rd_kafka_DescribeConsumerGroups(rk, groups, 1, o, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, CARRY_TIMEOUT_MS + 1000);
    int n = -1;
    const rd_kafka_DescribeConsumerGroups_result_t *res = ev ? rd_kafka_event_DescribeConsumerGroups_result(ev) : NULL;
    if (res && !rd_kafka_event_error(ev)) {
        size_t cnt = 0;
        const rd_kafka_ConsumerGroupDescription_t **d = rd_kafka_DescribeConsumerGroups_result_groups(res, &cnt);
        if (cnt == 1 && !rd_kafka_ConsumerGroupDescription_error(d[0]))
            n = (int)rd_kafka_ConsumerGroupDescription_member_count(d[0]);
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return n;
}
