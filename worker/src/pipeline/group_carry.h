/* group_carry.h — taking over committed offsets from the consumer group
 * workers used before per-topic groups (consumer.h).
 *
 * Until then every worker consumed both requests topics in one group,
 * SANDQ_GROUP_ID; now each topic has its group, <SANDQ_GROUP_ID>.<topic>. A
 * new group would start at the earliest offset (auto.offset.reset) and run
 * every request still in the topic again — dedupe would stop most effects,
 * but every finished request would be answered again. So, once, before it
 * subscribes: when the topic's group has no committed offset for any
 * partition, it commits the offsets the old group has for that topic. Once
 * it has any, nothing is carried again. */
#ifndef SQ_GROUP_CARRY_H
#define SQ_GROUP_CARRY_H

#include <librdkafka/rdkafka.h>

/* rk: a consumer handle of the new group, not yet subscribed. brokers and
 * old_group: where to read the old group's offsets. Returns how many
 * partitions' offsets were carried (0: nothing to carry, or the group had
 * some already), -1 when it could not tell (logged; the caller may try again). */
int sq_group_carry_offsets(rd_kafka_t *rk, const char *brokers, const char *topic, const char *old_group);

/* Members the group has now (Kafka's DescribeConsumerGroups); -1 unknown.
 * Members in the old group are workers of an older version, consuming the
 * same partitions as this one: an upgrade must stop them first. */
int sq_group_members(rd_kafka_t *rk, const char *group);

#endif
