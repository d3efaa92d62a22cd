/* test_murmur2.c — sq_murmur2 and sq_partition_for_key against published vectors.
 *
 * Every client that talks to sandq must put a sandbox id on the same partition,
 * so the expected values here are not ours: they are copied from the projects
 * that define the Java client's behaviour.
 *
 *  - Apache Kafka, clients/src/test/java/org/apache/kafka/common/utils/
 *    UtilsTest.java, testMurmur2(): Utils.murmur2() as a Java int.
 *  - librdkafka, src/rdmurmur2.c, unittest_murmur2(): rd_murmur2(), including
 *    the empty key and keys whose length is 1, 2, 3 mod 4.
 *  - librdkafka, tests/0048-partitioner.c: the "murmur2" partitioner's
 *    toPositive(murmur2(key)) values ("acquired using tests/java/Murmur2Cli"),
 *    which BuiltInPartitioner.partitionForKey() reduces mod the partition count.
 *
 * Finally the library we link, librdkafka, is asked directly: its
 * rd_kafka_msg_partitioner_murmur2() is what the worker's producers use, so
 * sq_partition_for_key must agree with it key for key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "sq/murmur2.h"

static int32_t java_int(uint32_t h) { return (int32_t)h; }

static void test_kafka_utils_test_vectors(void **state)
{
    (void)state;
    /* UtilsTest.testMurmur2 */
    static const struct {
        const char *key;
        int32_t want;
    } cases[] = {
        {"21", -973932308},
        {"foobar", -790332482},
        {"a-little-bit-long-string", -985981536},
        {"a-little-bit-longer-string", -1486304829},
        {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
        {"abc", 479470107},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t got = java_int(sq_murmur2(cases[i].key, strlen(cases[i].key)));
        if (got != cases[i].want)
            fail_msg("murmur2(\"%s\") = %d, Kafka says %d", cases[i].key, got, cases[i].want);
    }
}

static void test_librdkafka_unittest_vectors(void **state)
{
    (void)state;
    /* rdmurmur2.c unittest_murmur2: the keys are suffixes of two strings so every
     * tail length (0..3) and both aligned and unaligned reads are covered. */
    const char *short_unaligned = "1234";
    const char *unaligned = "PreAmbleWillBeRemoved,ThePrePartThatIs";
    const struct {
        const char *key;
        uint32_t want;
    } cases[] = {
        {"kafka", 0xd067cf64u},
        {"giberish123456789", 0x8f552b0cu},
        {short_unaligned, 0x9fc97b14u},
        {short_unaligned + 1, 0xe7c009cau},
        {short_unaligned + 2, 0x873930dau},
        {short_unaligned + 3, 0x5a4b5ca1u},
        {unaligned, 0x78424f1cu},
        {unaligned + 1, 0x4a62b377u},
        {unaligned + 2, 0xe0e4e09eu},
        {unaligned + 3, 0x62b8b43fu},
        {"", 0x106e08d9u},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t got = sq_murmur2(cases[i].key, strlen(cases[i].key));
        if (got != cases[i].want)
            fail_msg("murmur2(\"%s\") = 0x%08x, librdkafka says 0x%08x", cases[i].key, got, cases[i].want);
    }
    /* NULL with length 0 is the empty key, as in librdkafka's test. */
    assert_int_equal(sq_murmur2(NULL, 0), 0x106e08d9u);
}

static void test_high_bytes_in_tail(void **state)
{
    (void)state;
    /* Java bytes are signed; Utils.murmur2 masks them (& 0xff) both in the body
     * and in the tail. librdkafka reads unsigned bytes. Both must agree on keys
     * with bytes >= 0x80 in every tail position — that is what non-ASCII UTF-8
     * keys look like. */
    unsigned char key[11];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (unsigned char)(0x80 + 13 * i);
    for (size_t len = 0; len <= sizeof key; len++) {
        int32_t want = rd_kafka_msg_partitioner_murmur2(NULL, key, len, 0x7fffffff, NULL, NULL);
        assert_int_equal(sq_partition_for_key(key, len, 0x7fffffff), want);
    }
}

static void test_partition_for_key_0048_vectors(void **state)
{
    (void)state;
    /* tests/0048-partitioner.c: toPositive(murmur2(key)) for its keys; the test
     * runs with 7 partitions (quick) or 17. */
    const char *unaligned = "123456";
    static const int32_t counts[] = {1, 2, 3, 7, 17, 64, 100};
    const struct {
        const char *key;
        uint32_t positive;
    } cases[] = {
        {"", 0x106e08d9u},
        {unaligned + 1, 0x058d780fu},
        {"this is another string with more length to it perhaps", 0x4f7703dau},
        {"hejsan", 0x5ec19395u},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(sq_murmur2(cases[i].key, strlen(cases[i].key)) & 0x7fffffffu, cases[i].positive);
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            int32_t want = (int32_t)(cases[i].positive % (uint32_t)counts[c]);
            int32_t got = sq_partition_for_key(cases[i].key, strlen(cases[i].key), counts[c]);
            if (got != want)
                fail_msg("partition(\"%s\", %d) = %d, want %d", cases[i].key, counts[c], got, want);
        }
    }
}

static void test_partition_uses_to_positive_not_abs(void **state)
{
    (void)state;
    /* "21" hashes to a negative Java int (-973932308). Kafka uses
     * Utils.toPositive (h & 0x7fffffff), not Math.abs: toPositive gives
     * 1173551340, abs would give 973932308 — different partitions for 7. */
    assert_int_equal(sq_partition_for_key("21", 2, 7), 1173551340 % 7);
    assert_int_not_equal(1173551340 % 7, 973932308 % 7);
}

static void test_partition_invalid_count(void **state)
{
    (void)state;
    assert_int_equal(sq_partition_for_key("abc", 3, 0), -1);
    assert_int_equal(sq_partition_for_key("abc", 3, -3), -1);
    assert_int_equal(sq_partition_for_key("abc", 3, 1), 0);
}

static void test_agrees_with_linked_librdkafka(void **state)
{
    (void)state;
    /* Sandbox-id-shaped keys and arbitrary bytes, every length 0..64, against the
     * partitioner librdkafka uses when configured with partitioner=murmur2. */
    unsigned char key[64];
    uint32_t x = 0x12345678u;
    static const int32_t counts[] = {1, 3, 6, 12, 50, 0x7fffffff};
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)round % (sizeof key + 1);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            key[i] = (unsigned char)x;
        }
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            int32_t want = rd_kafka_msg_partitioner_murmur2(NULL, key, len, counts[c], NULL, NULL);
            int32_t got = sq_partition_for_key(key, len, counts[c]);
            if (got != want)
                fail_msg("round %d len %zu partitions %d: sq %d, librdkafka %d", round, len, counts[c], got, want);
        }
    }
    char id[40];
    for (int i = 0; i < 500; i++) {
        snprintf(id, sizeof id, "sbx_01JD%018dZ", i * 7919);
        int32_t want = rd_kafka_msg_partitioner_murmur2(NULL, id, strlen(id), 12, NULL, NULL);
        assert_int_equal(sq_partition_for_key(id, strlen(id), 12), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kafka_utils_test_vectors),
        cmocka_unit_test(test_librdkafka_unittest_vectors),
        cmocka_unit_test(test_high_bytes_in_tail),
        cmocka_unit_test(test_partition_for_key_0048_vectors),
        cmocka_unit_test(test_partition_uses_to_positive_not_abs),
        cmocka_unit_test(test_partition_invalid_count),
        cmocka_unit_test(test_agrees_with_linked_librdkafka),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
