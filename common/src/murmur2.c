/* murmur2.c — Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2).
 * The Java code reads the tail with `data[i] & 0xff`, so bytes are unsigned in the
 * tail too; the 4-byte body is little-endian. */
#include "sq/murmur2.h"

uint32_t sq_murmur2(const void *key, size_t len)
{
    const unsigned char *data = key;
    const uint32_t seed = 0x9747b28cu;
    const uint32_t m = 0x5bd1e995u;
    const int r = 24;
    uint32_t h = seed ^ (uint32_t)len;
    size_t len4 = len / 4;

    for (size_t i = 0; i < len4; i++) {
        size_t i4 = i * 4;
        uint32_t k = (uint32_t)data[i4] | ((uint32_t)data[i4 + 1] << 8) | ((uint32_t)data[i4 + 2] << 16) |
                     ((uint32_t)data[i4 + 3] << 24);
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    size_t tail = len & ~(size_t)3;
    switch (len % 4) {
    case 3:
        h ^= (uint32_t)data[tail + 2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)data[tail + 1] << 8;
        /* fall through */
    case 1:
        h ^= (uint32_t)data[tail];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

int32_t sq_partition_for_key(const void *key, size_t len, int32_t partitions)
{
    if (partitions <= 0)
        return -1;
    return (int32_t)((sq_murmur2(key, len) & 0x7fffffffu) % (uint32_t)partitions);
}
