/* murmur2.h — the Java Kafka client's default partitioner, bit for bit.
 * Every client (Java, librdkafka's "murmur2_random", libsandq) must map a sandbox id
 * to the same partition, so a waiter can read just that one partition. */
#ifndef SQ_MURMUR2_H
#define SQ_MURMUR2_H

#include <stddef.h>
#include <stdint.h>

/* Kafka's Utils.murmur2(): seed 0x9747b28c, signed-byte tail handling as in Java. */
uint32_t sq_murmur2(const void *key, size_t len);
/* (murmur2(key) & 0x7fffffff) % partitions — Utils.toPositive(...) % numPartitions. */
int32_t sq_partition_for_key(const void *key, size_t len, int32_t partitions);

#endif
