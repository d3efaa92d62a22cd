/* test_ids.c — ULID encoding and id validation (sq/ids.h).
 *
 * Expected strings come from the ULID spec (github.com/ulid/spec: timestamp
 * 1469918176385 encodes as "01ARYZ6S41") and from the spec's canonical example
 * 01ARZ3NDEKTSV4RRFFQ69G5FAV, whose 16 bytes are 01563E3A-B5D3-D676-4C61-
 * EFB99302BD5B (symfony/uid's UlidTest uses the same pair). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sq/ids.h"

static const unsigned char zeros[10] = {0};

static void test_spec_timestamp_example(void **state)
{
    (void)state;
    char out[SQ_ULID_LEN + 1];
    sq_ulid_encode(1469918176385ull, zeros, out);
    assert_int_equal(strlen(out), SQ_ULID_LEN);
    assert_memory_equal(out, "01ARYZ6S41", 10);
    assert_string_equal(out + 10, "0000000000000000");
}

static void test_spec_canonical_example_bytes(void **state)
{
    (void)state;
    /* 01563E3AB5D3 | D6764C61EFB99302BD5B */
    const unsigned char rnd[10] = {0xD6, 0x76, 0x4C, 0x61, 0xEF, 0xB9, 0x93, 0x02, 0xBD, 0x5B};
    char out[SQ_ULID_LEN + 1];
    sq_ulid_encode(0x01563E3AB5D3ull, rnd, out);
    assert_string_equal(out, "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert_int_equal(0x01563E3AB5D3ull, 1469922850259ull); /* 2016-07-30T23:54:10.259Z */

    /* A second published pair: 01BX5ZZKBKACTAV9WEVGEMMVRZ = 015F4BFF-CD73-5334-ADA7-8EDC1D4A6F1F. */
    const unsigned char rnd2[10] = {0x53, 0x34, 0xAD, 0xA7, 0x8E, 0xDC, 0x1D, 0x4A, 0x6F, 0x1F};
    sq_ulid_encode(0x015F4BFFCD73ull, rnd2, out);
    assert_string_equal(out, "01BX5ZZKBKACTAV9WEVGEMMVRZ");
}

static void test_extremes(void **state)
{
    (void)state;
    char out[SQ_ULID_LEN + 1];
    sq_ulid_encode(0, zeros, out);
    assert_string_equal(out, "00000000000000000000000000");

    const unsigned char ones[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    sq_ulid_encode((1ull << 48) - 1, ones, out);
    assert_string_equal(out, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");

    /* Bits above 48 of the timestamp are not part of a ULID. */
    sq_ulid_encode(1ull << 48, zeros, out);
    assert_string_equal(out, "00000000000000000000000000");
}

static void test_single_random_bits(void **state)
{
    (void)state;
    /* The 80 random bits are exactly the last 16 digits: the top bit of the first
     * random byte is the top bit (value 16 = 'G') of digit 10, the bottom bit of
     * the last byte is digit 25. */
    char out[SQ_ULID_LEN + 1];
    unsigned char r[10] = {0};
    r[0] = 0x80;
    sq_ulid_encode(0, r, out);
    assert_string_equal(out, "0000000000G000000000000000");
    memset(r, 0, sizeof r);
    r[9] = 0x01;
    sq_ulid_encode(0, r, out);
    assert_string_equal(out, "00000000000000000000000001");
    /* Digit 9 is the bottom five bits of the timestamp. */
    sq_ulid_encode(31, zeros, out);
    assert_string_equal(out, "000000000Z0000000000000000");
}

static void test_ulids_sort_by_time(void **state)
{
    (void)state;
    char a[SQ_ULID_LEN + 1], b[SQ_ULID_LEN + 1];
    const unsigned char ones[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    sq_ulid_encode(1795771391423ull, ones, a);
    sq_ulid_encode(1795771391424ull, zeros, b);
    assert_true(strcmp(a, b) < 0);
}

static void test_new_ids_are_valid_and_distinct(void **state)
{
    (void)state;
    static const char *const prefixes[] = {"sbx", "tsk", "req", "evt", "art", "chk", "hnd"};
    char prev[SQ_ID_MAX] = "";
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        char id[SQ_ID_MAX];
        sq_id_new(prefixes[i], id);
        assert_int_equal(strlen(id), strlen(prefixes[i]) + 1 + SQ_ULID_LEN);
        assert_true(sq_id_valid(id, prefixes[i]));
        assert_string_not_equal(id, prev);
        memcpy(prev, id, sizeof prev);
    }
    /* Two ids made back to back differ (80 random bits). */
    char a[SQ_ID_MAX], b[SQ_ID_MAX];
    sq_id_new("req", a);
    sq_id_new("req", b);
    assert_string_not_equal(a, b);
}

static void test_valid_accepts(void **state)
{
    (void)state;
    assert_true(sq_id_valid("sbx_01ARZ3NDEKTSV4RRFFQ69G5FAV", "sbx"));
    assert_true(sq_id_valid("req_00000000000000000000000000", "req"));
    assert_true(sq_id_valid("tsk_7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "tsk"));
    /* Every Crockford digit is accepted. */
    assert_true(sq_id_valid("evt_0123456789ABCDEFGHJKMNPQRS", "evt"));
    assert_true(sq_id_valid("evt_0TVWXYZ0000000000000000000", "evt"));
}

static void test_valid_rejects(void **state)
{
    (void)state;
    const char *ok = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    assert_true(sq_id_valid("sbx_01ARZ3NDEKTSV4RRFFQ69G5FAV", "sbx"));
    /* wrong or missing prefix, separator */
    assert_false(sq_id_valid("tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV", "sbx"));
    assert_false(sq_id_valid("sbx01ARZ3NDEKTSV4RRFFQ69G5FAV", "sbx"));
    assert_false(sq_id_valid("sbx-01ARZ3NDEKTSV4RRFFQ69G5FAV", "sbx"));
    assert_false(sq_id_valid(ok, "sbx"));
    assert_false(sq_id_valid("SBX_01ARZ3NDEKTSV4RRFFQ69G5FAV", "sbx"));
    assert_false(sq_id_valid("sbxx_01ARZ3NDEKTSV4RRFFQ69G5FA", "sbx"));
    /* lowercase ULID */
    assert_false(sq_id_valid("sbx_01arz3ndektsv4rrffq69g5fav", "sbx"));
    assert_false(sq_id_valid("sbx_01ARZ3NDEKTSV4RRFFQ69G5FAv", "sbx"));
    /* letters Crockford excludes */
    assert_false(sq_id_valid("sbx_01ARZ3NDEKTSV4RRFFQ69G5FAI", "sbx"));
    assert_false(sq_id_valid("sbx_01ARZ3NDEKTSV4RRFFQ69G5FAL", "sbx"));
    assert_false(sq_id_valid("sbx_01ARZ3NDEKTSV4RRFFQ69G5FAO", "sbx"));
    assert_false(sq_id_valid("sbx_01ARZ3NDEKTSV4RRFFQ69G5FAU", "sbx"));
    /* other characters */
    assert_false(sq_id_valid("sbx_01ARZ3NDEKTSV4RRFFQ69G5FA-", "sbx"));
    assert_false(sq_id_valid("sbx_01ARZ3NDEKTSV4RRFFQ69G5FA ", "sbx"));
    assert_false(sq_id_valid("sbx_01ARZ3NDEKTSV4RRFF\xc3\x89" "69G5FA", "sbx"));
    /* length */
    assert_false(sq_id_valid("sbx_01ARZ3NDEKTSV4RRFFQ69G5FA", "sbx"));
    assert_false(sq_id_valid("sbx_01ARZ3NDEKTSV4RRFFQ69G5FAVV", "sbx"));
    assert_false(sq_id_valid("sbx_", "sbx"));
    assert_false(sq_id_valid("", "sbx"));
    /* first digit above '7' would need more than 128 bits */
    assert_false(sq_id_valid("sbx_81ARZ3NDEKTSV4RRFFQ69G5FAV", "sbx"));
    assert_false(sq_id_valid("sbx_Z1ARZ3NDEKTSV4RRFFQ69G5FAV", "sbx"));
    assert_false(sq_id_valid("sbx_A1ARZ3NDEKTSV4RRFFQ69G5FAV", "sbx"));
    assert_true(sq_id_valid("sbx_71ARZ3NDEKTSV4RRFFQ69G5FAV", "sbx"));
    /* NULLs */
    assert_false(sq_id_valid(NULL, "sbx"));
    assert_false(sq_id_valid("sbx_01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_timestamp_example),
        cmocka_unit_test(test_spec_canonical_example_bytes),
        cmocka_unit_test(test_extremes),
        cmocka_unit_test(test_single_random_bits),
        cmocka_unit_test(test_ulids_sort_by_time),
        cmocka_unit_test(test_new_ids_are_valid_and_distinct),
        cmocka_unit_test(test_valid_accepts),
        cmocka_unit_test(test_valid_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
